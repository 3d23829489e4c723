/**
 * IP and link-layer addresses as rtnetlink carries them (raw bytes, AF_* families) and as people
 * write them. The text forms are common/addr.ts's; this file adds the AF numbers, `default`, and
 * the "IP or link-layer" formatting of attributes that may hold either.
 *
 * @module
 */
import { formatIp, formatMac, parseCidr, parseIp, quadPrefix } from "../../common/addr.ts";
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
  return b.length === 4 || b.length === 16 ? formatIp(b) : formatMac(b);
}

/**
 * Address family (AF_INET / AF_INET6) of an address text.
 *
 * @example
 * ```ts
 * import { addrFamily } from "./ip.ts";
 * addrFamily("192.0.2.1"); // 2
 * addrFamily("2001:db8::1"); // 10
 * ```
 */
export function addrFamily(s: string): number {
  return s.includes(":") ? AF.INET6 : AF.INET;
}

const versionOf = (family?: number): 4 | 6 | undefined =>
  family === AF.INET ? 4 : family === AF.INET6 ? 6 : undefined;

/**
 * Parses an IPv4 or IPv6 address into bytes (4 or 16). With `family` (AF_INET/AF_INET6), insists on it.
 *
 * @deprecated Use `parseIp(text, family)` (common/addr.ts), which takes AF_* numbers too. Removed after 0.2.
 *
 * @example
 * ```ts
 * import { parseAddr } from "./ip.ts";
 * parseAddr("2001:db8::1").length; // 16
 * ```
 */
export function parseAddr(s: string, family?: number): Uint8Array {
  return parseIp(s, versionOf(family));
}

/** A prefix: family (AF_INET/AF_INET6), address bytes, length. tunkit's one prefix type. */
export interface Prefix {
  /** AF_INET (2) or AF_INET6 (10). */
  family: number;
  /** The address, 4 or 16 bytes. */
  bytes: Uint8Array;
  /** Prefix length in bits. */
  len: number;
}

/**
 * Parses `ADDR[/LEN]` or `default` (also `all`, `any`: 0.0.0.0/0, or ::/0 with AF_INET6).
 *
 * @example
 * ```ts
 * import { parsePrefix } from "./ip.ts";
 * parsePrefix("198.51.100.0/24"); // { family: 2, bytes: [198, 51, 100, 0], len: 24 }
 * ```
 */
export function parsePrefix(s: string, family: number = AF.UNSPEC): Prefix {
  if (s === "default" || s === "all" || s === "any") {
    const f = family === AF.INET6 ? AF.INET6 : AF.INET;
    return { family: f, bytes: new Uint8Array(f === AF.INET ? 4 : 16), len: 0 };
  }
  // A dotted quad with a length (a batch's every line) without parseCidr's intermediate object.
  if (family !== AF.INET6) {
    const p = quadPrefix(s);
    if (p !== undefined) return p;
  }
  const { bytes, prefix } = parseCidr(s, versionOf(family));
  return { family: bytes.length === 4 ? AF.INET : AF.INET6, bytes, len: prefix };
}

/**
 * Whether the first `bits` bits of `a` and `b` agree (missing bytes of `a` read as zero):
 * iproute2's inet_addr_match, shared by the list/flush selectors.
 *
 * @example
 * ```ts
 * import { bitsEqual } from "./ip.ts";
 * bitsEqual(new Uint8Array([192, 0, 2, 7]), new Uint8Array([192, 0, 2, 0]), 24); // true
 * ```
 */
export function bitsEqual(a: Uint8Array | undefined, b: Uint8Array, bits: number): boolean {
  for (let i = 0; i < bits; i++) if (((a?.[i >> 3] ?? 0) ^ (b[i >> 3] ?? 0)) & (0x80 >> (i & 7))) return false;
  return true;
}

/**
 * Whether `addr` (4 or 16 bytes) lies inside prefix `p`.
 *
 * @example
 * ```ts
 * import { parseAddr, parsePrefix, prefixContains } from "./ip.ts";
 * prefixContains(parsePrefix("192.0.2.0/24"), parseAddr("192.0.2.9")); // true
 * ```
 */
export function prefixContains(p: Prefix, addr: Uint8Array): boolean {
  return addr.length === p.bytes.length && bitsEqual(addr, p.bytes, p.len);
}
