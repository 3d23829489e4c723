/**
 * The internet checksum (RFC 1071) over byte ranges without allocation, the IPv4 header
 * checksum, TCP/UDP/ICMPv6 pseudo-header sums for IPv4 and IPv6, RFC 1624 incremental updates
 * and the verification helpers the decoder uses.
 *
 * All functions take the bytes plus offsets; none allocates. Callers bound-check offsets (the
 * functions read `undefined` past the end as 0, they never throw).
 *
 * @module
 */

/** IP protocol numbers the checksum helpers care about. */
export const PROTO_ICMP = 1;
/** TCP. */
export const PROTO_TCP = 6;
/** UDP. */
export const PROTO_UDP = 17;
/** ICMPv6. */
export const PROTO_ICMPV6 = 58;

/**
 * Adds the 16-bit big-endian words of `b[start..end)` to `acc` (an odd last byte is padded
 * with zero, as RFC 1071 says). The result is unfolded; pass it to {@link foldSum}.
 * `start` must be even relative to the start of the checksummed data.
 *
 * @example
 * ```ts
 * import { onesSum, foldSum } from "./checksum.ts";
 * foldSum(onesSum(new Uint8Array([0x00, 0x01, 0xf2, 0x03]), 0, 4)); // 0xf204
 * ```
 */
export function onesSum(b: Uint8Array, start: number, end: number, acc = 0): number {
  let sum = acc;
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i === last) sum += (b[i] ?? 0) << 8;
  return sum;
}

/**
 * Folds an unfolded sum into 16 bits with end-around carry.
 *
 * @example
 * ```ts
 * import { foldSum } from "./checksum.ts";
 * foldSum(0x1fffe); // 0xffff
 * ```
 */
export function foldSum(sum: number): number {
  while (sum > 0xffff) sum = (sum % 0x10000) + Math.floor(sum / 0x10000);
  return sum;
}

/**
 * The internet checksum of `b[start..end)`: the one's complement of the folded sum.
 * Over data that already holds a correct checksum it returns 0.
 *
 * @example
 * ```ts
 * import { internetChecksum } from "./checksum.ts";
 * internetChecksum(new Uint8Array([0x45, 0x00, 0x00, 0x1c])); // 0xbae3
 * ```
 */
export function internetChecksum(b: Uint8Array, start = 0, end = b.length, acc = 0): number {
  return ~foldSum(onesSum(b, start, end, acc)) & 0xffff;
}

/**
 * Sum of the IPv4 pseudo-header (source, destination, zero, protocol, L4 length), unfolded.
 * `ipOff` is the start of the IPv4 header (addresses at +12 and +16).
 *
 * @example
 * ```ts
 * import { pseudoSum4, PROTO_UDP } from "./checksum.ts";
 * const ip = new Uint8Array(20); ip[12] = 192; ip[16] = 192;
 * pseudoSum4(ip, 0, PROTO_UDP, 8); // 0xc000 + 0xc000 + 17 + 8
 * ```
 */
export function pseudoSum4(b: Uint8Array, ipOff: number, proto: number, l4Len: number): number {
  return onesSum(b, ipOff + 12, ipOff + 20, proto + (l4Len & 0xffff) + Math.floor(l4Len / 0x10000));
}

/**
 * Sum of the IPv6 pseudo-header (source, destination, 32-bit upper-layer length, next header),
 * unfolded. `ipOff` is the start of the IPv6 header (addresses at +8 and +24).
 *
 * @example
 * ```ts
 * import { pseudoSum6, PROTO_ICMPV6 } from "./checksum.ts";
 * pseudoSum6(new Uint8Array(40), 0, PROTO_ICMPV6, 64); // 58 + 64
 * ```
 */
export function pseudoSum6(b: Uint8Array, ipOff: number, proto: number, l4Len: number): number {
  return onesSum(b, ipOff + 8, ipOff + 40, proto + (l4Len & 0xffff) + Math.floor(l4Len / 0x10000));
}

/**
 * Computes the IPv4 header checksum of the header at `off` (length from its IHL), treating the
 * checksum field as zero. Does not write it.
 *
 * @example
 * ```ts
 * import { ipv4HeaderChecksum } from "./checksum.ts";
 * import { fromHex } from "../common/hex.ts";
 * ipv4HeaderChecksum(fromHex("45000054 0c53 4000 4001 0000 7f000001 7f000001"), 0); // 0x3054
 * ```
 */
export function ipv4HeaderChecksum(b: Uint8Array, off: number): number {
  const hl = ((b[off] ?? 0) & 0x0f) * 4;
  const sum = onesSum(b, off, off + 10, onesSum(b, off + 12, off + hl));
  return ~foldSum(sum) & 0xffff;
}

/**
 * True when the IPv4 header at `off` carries a correct checksum.
 *
 * @example
 * ```ts
 * import { verifyIpv4Header } from "./checksum.ts";
 * import { fromHex } from "../common/hex.ts";
 * verifyIpv4Header(fromHex("45000054 0c53 4000 4001 3054 7f000001 7f000001"), 0); // true
 * ```
 */
export function verifyIpv4Header(b: Uint8Array, off: number): boolean {
  const hl = ((b[off] ?? 0) & 0x0f) * 4;
  return foldSum(onesSum(b, off, off + hl)) === 0xffff;
}

/**
 * Computes the transport checksum (TCP, UDP, ICMPv6 — and, with `pseudo` false, ICMPv4) of the
 * `l4Len` bytes at `l4Off`, treating the 16-bit checksum field at `l4Off + fieldOff` as zero.
 * `version` 4 or 6 picks the pseudo-header built from the IP header at `ipOff`. For UDP a
 * result of 0 is returned as 0xffff (RFC 768). Does not write it.
 *
 * @example
 * ```ts
 * import { transportChecksum, PROTO_UDP } from "./checksum.ts";
 * // const sum = transportChecksum(pkt, 4, 0, 20, udpLen, PROTO_UDP);
 * // pkt[26] = sum >> 8; pkt[27] = sum & 0xff;
 * ```
 */
export function transportChecksum(
  b: Uint8Array,
  version: 4 | 6,
  ipOff: number,
  l4Off: number,
  l4Len: number,
  proto: number,
  pseudo = true,
): number {
  const fieldOff = checksumFieldOffset(proto);
  let sum = pseudo ? (version === 4 ? pseudoSum4(b, ipOff, proto, l4Len) : pseudoSum6(b, ipOff, proto, l4Len)) : 0;
  const f = l4Off + fieldOff;
  sum = onesSum(b, l4Off, f, sum);
  sum = onesSum(b, f + 2, l4Off + l4Len, sum);
  let cs = ~foldSum(sum) & 0xffff;
  if (proto === PROTO_UDP && cs === 0) cs = 0xffff;
  return cs;
}

/**
 * True when the transport segment at `l4Off` (`l4Len` bytes) carries a correct checksum.
 * A UDP-over-IPv4 checksum of 0 means "no checksum" and counts as correct; over IPv6 it is
 * wrong (RFC 8200). ICMPv4 has no pseudo-header: pass `proto` = 1.
 *
 * @example
 * ```ts
 * import { verifyTransport, PROTO_ICMP } from "./checksum.ts";
 * // verifyTransport(pkt, 4, 0, 20, 64, PROTO_ICMP) === true for a well-formed ping
 * ```
 */
export function verifyTransport(
  b: Uint8Array,
  version: 4 | 6,
  ipOff: number,
  l4Off: number,
  l4Len: number,
  proto: number,
): boolean {
  if (proto === PROTO_UDP && version === 4 && (b[l4Off + 6] ?? 0) === 0 && (b[l4Off + 7] ?? 0) === 0) return true;
  let sum = 0;
  if (proto !== PROTO_ICMP) sum = version === 4 ? pseudoSum4(b, ipOff, proto, l4Len) : pseudoSum6(b, ipOff, proto, l4Len);
  return foldSum(onesSum(b, l4Off, l4Off + l4Len, sum)) === 0xffff;
}

/**
 * Offset of the checksum field inside a transport header: TCP 16, UDP 6, ICMP/ICMPv6 2.
 *
 * @example
 * ```ts
 * import { checksumFieldOffset, PROTO_TCP } from "./checksum.ts";
 * checksumFieldOffset(PROTO_TCP); // 16
 * ```
 */
export function checksumFieldOffset(proto: number): number {
  return proto === PROTO_TCP ? 16 : proto === PROTO_UDP ? 6 : 2;
}

/**
 * RFC 1624 incremental update (eqn. 3: HC' = ~(~HC + ~m + m')) of checksum `cs` when one
 * 16-bit word changes from `oldWord` to `newWord`.
 *
 * @example
 * ```ts
 * import { checksumAdjust16 } from "./checksum.ts";
 * // ICMP echo request -> reply: type byte 8 -> 0 in the first word
 * checksumAdjust16(0x5810, 0x0800, 0x0000); // 0x6010
 * ```
 */
export function checksumAdjust16(cs: number, oldWord: number, newWord: number): number {
  const sum = (~cs & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/**
 * Incremental update for a 32-bit field (an IPv4 address) changing from `oldValue` to `newValue`.
 *
 * @example
 * ```ts
 * import { checksumAdjust32 } from "./checksum.ts";
 * checksumAdjust32(0x1234, 0xc0000201, 0xc0000202); // 0x1233
 * ```
 */
export function checksumAdjust32(cs: number, oldValue: number, newValue: number): number {
  const sum = (~cs & 0xffff) + (~(oldValue >>> 16) & 0xffff) + (~oldValue & 0xffff) + (newValue >>> 16) +
    (newValue & 0xffff);
  return ~foldSum(sum) & 0xffff;
}

/**
 * Incremental update when `len` bytes (even, at an even offset within the checksummed data)
 * change from `oldB[oldOff..]` to `newB[newOff..]` — for address and port rewrites in place.
 * Call it before overwriting, or keep a copy of the old bytes.
 *
 * @example
 * ```ts
 * import { checksumAdjustBytes } from "./checksum.ts";
 * const oldAddr = new Uint8Array([192, 0, 2, 1]), newAddr = new Uint8Array([192, 0, 2, 2]);
 * checksumAdjustBytes(0x1234, oldAddr, 0, newAddr, 0, 4); // 0x1233
 * ```
 */
export function checksumAdjustBytes(
  cs: number,
  oldB: Uint8Array,
  oldOff: number,
  newB: Uint8Array,
  newOff: number,
  len: number,
): number {
  let sum = ~cs & 0xffff;
  for (let i = 0; i < len; i += 2) {
    const o = ((oldB[oldOff + i] ?? 0) << 8) | (oldB[oldOff + i + 1] ?? 0);
    const n = ((newB[newOff + i] ?? 0) << 8) | (newB[newOff + i + 1] ?? 0);
    sum += (~o & 0xffff) + n;
  }
  return ~foldSum(sum) & 0xffff;
}

/**
 * Reads the big-endian 16-bit checksum at `off`.
 *
 * @example
 * ```ts
 * import { readChecksum } from "./checksum.ts";
 * readChecksum(new Uint8Array([0x12, 0x34]), 0); // 0x1234
 * ```
 */
export function readChecksum(b: Uint8Array, off: number): number {
  return ((b[off] ?? 0) << 8) | (b[off + 1] ?? 0);
}

/**
 * Writes a big-endian 16-bit checksum at `off`.
 *
 * @example
 * ```ts
 * import { writeChecksum } from "./checksum.ts";
 * const b = new Uint8Array(2); writeChecksum(b, 0, 0xbeef); // b = [0xbe, 0xef]
 * ```
 */
export function writeChecksum(b: Uint8Array, off: number, cs: number): void {
  b[off] = (cs >> 8) & 0xff;
  b[off + 1] = cs & 0xff;
}
