/**
 * Addresses as text and bytes, for every part of tunkit: IPv4/IPv6 parsed by inet_pton(3)'s rules
 * and printed the way inet_ntop prints them, as tcpdump and iproute2 do (`::ffff:192.0.2.1`,
 * `::192.0.2.1`), prefixes with their length checked, and link-layer (MAC) addresses. No
 * ipaddr.js at run time: tests/unit/common-addr.test.ts holds these to glibc's verdicts and to
 * ipaddr.js.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

const HEX = "0123456789abcdef";

/**
 * Formats `len` bytes at `off` (default: the rest of `b`) as lowercase colon-separated hex, the
 * way MAC and other link-layer addresses are written. Missing bytes read as 0.
 *
 * @example
 * ```ts
 * import { formatMac } from "./addr.ts";
 * formatMac(new Uint8Array([0x02, 0, 0, 0, 0, 1])); // "02:00:00:00:00:01"
 * ```
 */
export function formatMac(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = "";
  for (let i = 0; i < len; i++) {
    const v = b[off + i] ?? 0;
    if (i > 0) s += ":";
    s += HEX[v >> 4]! + HEX[v & 15]!;
  }
  return s;
}

/**
 * Parses a link-layer address: hex bytes separated by `:` or `-`. With `len`, exactly that many
 * bytes (6 for a MAC).
 *
 * @example
 * ```ts
 * import { parseMac } from "./addr.ts";
 * parseMac("02:00:00:00:00:01", 6); // Uint8Array [2, 0, 0, 0, 0, 1]
 * ```
 */
export function parseMac(text: string, len?: number): Uint8Array {
  const parts = text.split(/[:-]/);
  if (!parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p)) || (len !== undefined && parts.length !== len)) {
    const what = len === 6 ? "MAC address" : "link-layer address";
    throw new UsageError(`Invalid ${what} "${text}": expected ${len ?? "some"} hex bytes like 02:00:00:00:00:01`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/**
 * Formats the 4 bytes at `off` as dotted-quad IPv4. Missing bytes read as 0 (callers check bounds).
 *
 * @example
 * ```ts
 * import { formatIpv4 } from "./addr.ts";
 * formatIpv4(new Uint8Array([192, 0, 2, 1]), 0); // "192.0.2.1"
 * ```
 */
export function formatIpv4(b: Uint8Array, off = 0): string {
  return `${b[off] ?? 0}.${b[off + 1] ?? 0}.${b[off + 2] ?? 0}.${b[off + 3] ?? 0}`;
}

/**
 * Formats the 16 bytes at `off` as IPv6, RFC 5952 style, with inet_ntop's embedded IPv4 forms
 * (`::ffff:192.0.2.1` mapped, `::192.0.2.1` compatible).
 *
 * @example
 * ```ts
 * import { formatIpv6 } from "./addr.ts";
 * formatIpv6(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]), 0); // "2001:db8::1"
 * ```
 */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const bytes: number[] = new Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = b[off + i] ?? 0;
  let zeros10 = true;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) zeros10 = false;
  if (zeros10) {
    const w5 = (bytes[10]! << 8) | bytes[11]!;
    const w6 = (bytes[12]! << 8) | bytes[13]!;
    const v4 = formatIpv4(Uint8Array.from(bytes), 12);
    if (w5 === 0xffff) return "::ffff:" + v4;
    if (w5 === 0 && w6 !== 0) return "::" + v4;
  }
  // RFC 5952 (what inet_ntop and ipaddr.js print): lowercase hex without leading zeros, the
  // longest run of two or more zero groups (the first of equal runs) as "::".
  const g: number[] = new Array(8);
  for (let i = 0; i < 8; i++) g[i] = (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) => g.slice(from, to).map((w) => w.toString(16)).join(":");
  return best < 0 ? hex(0, 8) : `${hex(0, best)}::${hex(best + bestLen, 8)}`;
}

/**
 * Formats 4 or 16 bytes as IPv4 or IPv6.
 *
 * @example
 * ```ts
 * import { formatIp } from "./addr.ts";
 * formatIp(new Uint8Array([198, 51, 100, 7])); // "198.51.100.7"
 * ```
 */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return formatIpv4(b, 0);
  if (b.length === 16) return formatIpv6(b, 0);
  throw new RangeError(`An IP address has 4 or 16 bytes, not ${b.length}`);
}

/**
 * IPv4 text as inet_pton(3) takes it (a batch of a million routes parses a million of these),
 * in one pass: four decimal parts, no leading zeros, each 0..255; otherwise undefined.
 */
function quadFast(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n < 7 || n > 15) return undefined;
  const out = new Uint8Array(4);
  let part = 0;
  let v = 0;
  let digits = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return undefined;
      out[part++] = v;
      v = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && v === 0) return undefined; // leading zero
      v = v * 10 + (c - 48);
      if (v > 255) return undefined;
      digits++;
    } else return undefined;
  }
  if (part !== 3 || digits === 0) return undefined;
  out[3] = v;
  return out;
}

/** 1 to 3 decimal digits without a leading zero (what /^(0|[1-9]\d{0,2})$/ accepts) as a number, or NaN. */
function smallDecimal(p: string): number {
  const n = p.length;
  if (n < 1 || n > 3 || (n > 1 && p.charCodeAt(0) === 48)) return NaN;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = p.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

/** The value of a hex digit's char code, or -1. */
function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 32;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * IPv6 text into 16 bytes by inet_pton(3)'s own rules, in one pass without regexes or
 * ipaddr.js, or undefined when inet_pton refuses it: 1-4 hex digits per group, at most one
 * `::` standing for at least one zero group, no lone leading or trailing `:`, and a dotted quad
 * (no leading zeros, each part 0..255) only as the last 32 bits. No `%zone`.
 * tests/unit/common-addr.test.ts holds it to inet_pton's verdicts and to the ipaddr.js-based
 * parser it replaced, on edge and random strings. Written by hand (not ipaddr.js) for speed:
 * IPv6 route batches spent half their parse time in ipaddr.js, and loading ipaddr.js cost
 * every CLI start-up ~1 ms (bench/cli-startup.ts).
 *
 * @example
 * ```ts
 * import { ipv6FromText } from "./addr.ts";
 * ipv6FromText("2001:db8::1")?.[15]; // 1
 * ipv6FromText("::ffff:192.0.2.1")?.[12]; // 192
 * ipv6FromText("1::2::3"); // undefined
 * ```
 */
export function ipv6FromText(text: string): Uint8Array | undefined {
  const n = text.length;
  if (n < 2 || n > 45) return undefined;
  const out = new Uint8Array(16);
  let i = 0;
  if (text.charCodeAt(0) === 58) {
    if (text.charCodeAt(1) !== 58) return undefined;
    i = 1;
  }
  let tp = 0;
  let gap = -1;
  let group = i;
  let val = 0;
  let digits = 0;
  while (i < n) {
    const c = text.charCodeAt(i++);
    const d = hexDigit(c);
    if (d >= 0) {
      if (++digits > 4) return undefined;
      val = (val << 4) | d;
      continue;
    }
    if (c === 58) {
      group = i;
      if (digits === 0) {
        if (gap >= 0) return undefined;
        gap = tp;
        continue;
      }
      if (i === n || tp > 14) return undefined;
      out[tp++] = val >> 8;
      out[tp++] = val & 255;
      val = 0;
      digits = 0;
      continue;
    }
    if (c === 46 && tp <= 12) {
      const quad = quadFast(text.slice(group));
      if (!quad) return undefined;
      out.set(quad, tp);
      tp += 4;
      digits = 0;
      break;
    }
    return undefined;
  }
  if (digits > 0) {
    if (tp > 14) return undefined;
    out[tp++] = val >> 8;
    out[tp++] = val & 255;
  }
  if (gap >= 0) {
    if (tp === 16) return undefined;
    const tail = tp - gap;
    out.copyWithin(16 - tail, gap, tp);
    out.fill(0, gap, 16 - tail);
    tp = 16;
  }
  return tp === 16 ? out : undefined;
}

/**
 * Parses IPv4 (four-part dotted decimal only) or IPv6 text into 4 or 16 bytes; with `version`,
 * only that family. Strict where tools disagree: IPv4 without leading zeros (`010.0.0.1` is
 * 8.0.0.1 to ip, 10.0.0.1 to others), IPv6 exactly as inet_pton(3) takes it (no `%zone`, the
 * same dotted-quad rules in `::ffff:192.0.2.1`).
 *
 * @example
 * ```ts
 * import { parseIp } from "./addr.ts";
 * parseIp("2001:db8::1").length; // 16
 * // IPv4-compatible (::c000:201, not ::ffff:c000:201):
 * parseIp("::192.0.2.1")[12];    // 192
 * // parseIp("fe80::1%eth0"), parseIp("010.0.0.1"), parseIp("::ffff:010.1.1.1"): UsageError
 * ```
 */
export function parseIp(text: string, version?: 4 | 6): Uint8Array {
  if (version !== 6) {
    const v4 = quadFast(text);
    if (v4) return v4;
  }
  if (version !== 4) {
    const v6 = ipv6FromText(text);
    if (v6) return v6;
  }
  // Refused (or another family than asked for): say why.
  if (version === 4 && ipv6FromText(text)) throw new UsageError(`Invalid IP address "${text}": expected IPv4`);
  if (version === 6 && quadFast(text)) throw new UsageError(`Invalid IP address "${text}": expected IPv6`);
  const why = whyNotIp(text);
  throw new UsageError(`Invalid IP address "${text}": ${why ?? "expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1)"}`);
}

/** Why an address text was refused, when there is more to say than "expected IPv4 or IPv6". */
function whyNotIp(text: string): string | undefined {
  const pct = text.indexOf("%");
  if (pct >= 0 && text.includes(":")) {
    return `zone index "${text.slice(pct)}" not allowed (as ip refuses it; name the interface with dev instead)`;
  }
  const quad = /(?:^|:)([^:]*\.[^:]*)$/.exec(text)?.[1];
  if (quad !== undefined) {
    for (const part of quad.split(".")) {
      if (/^0\d+$/.test(part)) return `leading zero in "${part}" (octal to some tools, decimal to others): write it without`;
      if (/^0x/i.test(part)) return `hexadecimal "${part}" in a dotted quad: write it in decimal`;
    }
  }
  return undefined;
}

/** An address with a prefix length. */
export interface Cidr {
  bytes: Uint8Array;
  /** Prefix length; the full length (32/128) when the text had none. */
  prefix: number;
}

/**
 * Parses `ADDR[/LEN]`, checking LEN against the family: 0..32 for IPv4, 0..128 for IPv6.
 *
 * @example
 * ```ts
 * import { parseCidr } from "./addr.ts";
 * parseCidr("192.0.2.0/24").prefix; // 24
 * // parseCidr("192.0.2.1/33"): UsageError 'Invalid prefix length "33" for IPv4: expected 0..32'
 * ```
 */
export function parseCidr(text: string, version?: 4 | 6): Cidr {
  const slash = text.indexOf("/");
  const bytes = parseIp(slash < 0 ? text : text.slice(0, slash), version);
  const max = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: max };
  const p = text.slice(slash + 1);
  // No leading zeros: ip reads "/024" as octal (20), other tools as 24.
  const prefix = smallDecimal(p);
  if (!(prefix >= 0 && prefix <= max)) {
    const zeros = /^0\d+$/.test(p) ? " without leading zeros" : "";
    throw new UsageError(`Invalid prefix length "${p}" for IPv${max === 32 ? 4 : 6}: expected 0..${max}${zeros}`);
  }
  return { bytes, prefix };
}
