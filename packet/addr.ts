/**
 * Address helpers for packet bytes: MAC, IPv4 and IPv6 to text (via ipaddr.js, with the
 * embedded-IPv4 forms tcpdump prints), and text to bytes for the builder and the filter.
 *
 * @module
 */
import ipaddr from "ipaddr.js";
import { UsageError } from "../common/errors.ts";

const HEX = "0123456789abcdef";

/**
 * Formats 6 bytes at `off` as a lowercase colon-separated MAC address. Caller checks bounds.
 *
 * @example
 * ```ts
 * import { formatMac } from "./addr.ts";
 * formatMac(new Uint8Array([0x02, 0, 0, 0, 0, 1]), 0); // "02:00:00:00:00:01"
 * ```
 */
export function formatMac(b: Uint8Array, off: number, len = 6): string {
  let s = "";
  for (let i = 0; i < len; i++) {
    const v = b[off + i] ?? 0;
    if (i > 0) s += ":";
    s += HEX[v >> 4]! + HEX[v & 15]!;
  }
  return s;
}

/**
 * Formats 4 bytes at `off` as a dotted-quad IPv4 address. Caller checks bounds.
 *
 * @example
 * ```ts
 * import { formatIpv4 } from "./addr.ts";
 * formatIpv4(new Uint8Array([192, 0, 2, 1]), 0); // "192.0.2.1"
 * ```
 */
export function formatIpv4(b: Uint8Array, off: number): string {
  return new ipaddr.IPv4([b[off] ?? 0, b[off + 1] ?? 0, b[off + 2] ?? 0, b[off + 3] ?? 0]).toString();
}

/**
 * Formats 16 bytes at `off` as an IPv6 address the way tcpdump (inet_ntop) does: RFC 5952
 * compression, and the IPv4-mapped `::ffff:a.b.c.d` and IPv4-compatible `::a.b.c.d` forms.
 *
 * @example
 * ```ts
 * import { formatIpv6 } from "./addr.ts";
 * const a = new Uint8Array(16); a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8; a[15] = 1;
 * formatIpv6(a, 0); // "2001:db8::1"
 * ```
 */
export function formatIpv6(b: Uint8Array, off: number): string {
  const bytes: number[] = new Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = b[off + i] ?? 0;
  let zeros10 = true;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) zeros10 = false;
  if (zeros10) {
    const w5 = (bytes[10]! << 8) | bytes[11]!;
    const w6 = (bytes[12]! << 8) | bytes[13]!;
    const v4 = new ipaddr.IPv4([bytes[12]!, bytes[13]!, bytes[14]!, bytes[15]!]).toString();
    if (w5 === 0xffff) return "::ffff:" + v4;
    if (w5 === 0 && w6 !== 0) return "::" + v4;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

/**
 * Parses an IPv4 or IPv6 address (text) into 4 or 16 bytes. Throws {@link UsageError}.
 *
 * @example
 * ```ts
 * import { parseIp } from "./addr.ts";
 * parseIp("192.0.2.1"); // Uint8Array [192, 0, 2, 1]
 * parseIp("2001:db8::1").length; // 16
 * ```
 */
export function parseIp(text: string): Uint8Array {
  if (ipaddr.IPv4.isValidFourPartDecimal(text)) return Uint8Array.from(ipaddr.IPv4.parse(text).toByteArray());
  if (ipaddr.IPv6.isValid(text)) {
    return Uint8Array.from(ipaddr.IPv6.parse(text).toByteArray());
  }
  throw new UsageError(`Invalid IP address "${text}": expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1)`);
}

/**
 * Parses a CIDR (`192.0.2.0/24`, `2001:db8::/32`) or a bare address (a host prefix) into the
 * network bytes and prefix length. Throws {@link UsageError}.
 *
 * @example
 * ```ts
 * import { parseCidr } from "./addr.ts";
 * parseCidr("192.0.2.0/24"); // { bytes: Uint8Array [192, 0, 2, 0], prefix: 24 }
 * ```
 */
export function parseCidr(text: string): { bytes: Uint8Array; prefix: number } {
  const slash = text.indexOf("/");
  if (slash < 0) {
    const bytes = parseIp(text);
    return { bytes, prefix: bytes.length * 8 };
  }
  const bytes = parseIp(text.slice(0, slash));
  const ptext = text.slice(slash + 1);
  const max = bytes.length * 8;
  if (!/^\d{1,3}$/.test(ptext) || Number(ptext) > max) {
    throw new UsageError(`Invalid prefix length "${ptext}" for IPv${bytes.length === 4 ? 4 : 6}: expected 0..${max}`);
  }
  return { bytes, prefix: Number(ptext) };
}

/**
 * Parses a MAC address `aa:bb:cc:dd:ee:ff` (or with `-`) into 6 bytes. Throws {@link UsageError}.
 *
 * @example
 * ```ts
 * import { parseMac } from "./addr.ts";
 * parseMac("02:00:00:00:00:01"); // Uint8Array [2, 0, 0, 0, 0, 1]
 * ```
 */
export function parseMac(text: string): Uint8Array {
  const m = /^([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})[:-]([0-9a-f]{1,2})$/i
    .exec(text);
  if (!m) throw new UsageError(`Invalid MAC address "${text}": expected six hex bytes like 02:00:00:00:00:01`);
  return Uint8Array.from(m.slice(1).map((h) => parseInt(h, 16)));
}
