/**
 * IP and link-layer addresses as rtnetlink carries them (raw bytes) and as people write them.
 * IP parsing/formatting goes through ipaddr.js; this file only adapts it.
 *
 * @module
 */
import ipaddr from "ipaddr.js";
import { UsageError } from "../../common/errors.ts";
import { AF } from "./constants.ts";

/**
 * Formats 4 or 16 address bytes the way `ip` (inet_ntop) does; other lengths come back as hex
 * with colons (what `ip` prints for an address it cannot interpret).
 *
 * @example
 * ```ts
 * import { formatAddr } from "./ip.ts";
 * formatAddr(new Uint8Array([192, 0, 2, 1])); // "192.0.2.1"
 * ```
 */
export function formatAddr(b: Uint8Array): string {
  if (b.length === 4) return new ipaddr.IPv4([b[0]!, b[1]!, b[2]!, b[3]!]).toString();
  if (b.length === 16) {
    const a = ipaddr.fromByteArray(Array.from(b)) as ipaddr.IPv6;
    if (a.isIPv4MappedAddress()) return "::ffff:" + a.toIPv4Address().toString();
    return a.toString();
  }
  return formatMac(b);
}

/** Address family (AF_INET / AF_INET6) of an address text. */
export function addrFamily(s: string): number {
  return s.includes(":") ? AF.INET6 : AF.INET;
}

/**
 * Parses an IPv4 or IPv6 address into bytes (4 or 16). With `family`, insists on it.
 *
 * @example
 * ```ts
 * import { parseAddr } from "./ip.ts";
 * parseAddr("2001:db8::1").length; // 16
 * // parseAddr("10.1");            // throws UsageError: not four-part decimal
 * ```
 */
export function parseAddr(s: string, family?: number): Uint8Array {
  let bytes: number[];
  if (ipaddr.IPv4.isValidFourPartDecimal(s)) bytes = ipaddr.IPv4.parse(s).toByteArray();
  else if (ipaddr.IPv6.isValid(s)) bytes = ipaddr.IPv6.parse(s).toByteArray();
  else throw new UsageError(`Invalid IP address "${s}"`);
  const f = bytes.length === 4 ? AF.INET : AF.INET6;
  if (family !== undefined && family !== AF.UNSPEC && family !== f) {
    throw new UsageError(`Invalid IP address "${s}": expected ${family === AF.INET ? "IPv4" : "IPv6"}`);
  }
  return Uint8Array.from(bytes);
}

/** A parsed prefix: family, address bytes, prefix length. */
export interface Prefix {
  family: number;
  bytes: Uint8Array;
  len: number;
}

/**
 * Parses "a.b.c.d/nn", "x::/nn", or a bare address (full-length prefix). "default" is the
 * zero-length prefix of `family` (IPv4 unless told).
 *
 * @example
 * ```ts
 * import { parsePrefix } from "./ip.ts";
 * parsePrefix("198.51.100.0/24").len; // 24
 * parsePrefix("2001:db8::1").len;     // 128
 * // parsePrefix("192.0.2.0/33");     // throws: prefix length out of range
 * ```
 */
export function parsePrefix(s: string, family: number = AF.UNSPEC): Prefix {
  if (s === "default" || s === "all" || s === "any") {
    const f = family === AF.INET6 ? AF.INET6 : AF.INET;
    return { family: f, bytes: new Uint8Array(f === AF.INET ? 4 : 16), len: 0 };
  }
  const slash = s.indexOf("/");
  const addr = slash < 0 ? s : s.slice(0, slash);
  const bytes = parseAddr(addr, family);
  const max = bytes.length * 8;
  let len = max;
  if (slash >= 0) {
    const p = s.slice(slash + 1);
    len = /^\d{1,3}$/.test(p) ? Number(p) : NaN;
    if (!(len >= 0 && len <= max)) {
      throw new UsageError(`Invalid prefix length "${p}" for ${max === 32 ? "IPv4" : "IPv6"}: expected 0..${max}`);
    }
  }
  return { family: bytes.length === 4 ? AF.INET : AF.INET6, bytes, len };
}

/**
 * Formats link-layer address bytes as lowercase hex pairs joined by ":".
 *
 * @example
 * ```ts
 * import { formatMac } from "./ip.ts";
 * formatMac(new Uint8Array([2, 0, 0, 0, 0, 1])); // "02:00:00:00:00:01"
 * ```
 */
export function formatMac(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) {
    if (i) s += ":";
    s += b[i]!.toString(16).padStart(2, "0");
  }
  return s;
}

/**
 * Parses "aa:bb:cc:dd:ee:ff" (or any length of ':'-separated hex pairs) into bytes.
 *
 * @example
 * ```ts
 * import { parseMac } from "./ip.ts";
 * parseMac("02:00:00:00:00:01").length; // 6
 * ```
 */
export function parseMac(s: string): Uint8Array {
  const parts = s.split(":");
  if (parts.length < 1 || parts.some((p) => !/^[0-9a-fA-F]{1,2}$/.test(p))) {
    throw new UsageError(`Invalid link-layer address "${s}": expected hex pairs like 02:00:00:00:00:01`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}
