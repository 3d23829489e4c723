/**
 * The responder core: turns an echo request into its reply IN PLACE, with no allocation.
 *
 * Handles ICMP echo request (IPv4), ICMPv6 echo request, and UDP to port 7 (echo, RFC 862)
 * over IPv4 and IPv6. Every read is a direct, length-checked index into the buffer (no Cursor,
 * no views) because this runs once per packet against a C baseline.
 *
 * @module
 */
import {
  checksumAdjust16,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_UDP,
  transportChecksum,
  verifyIpv4Header,
  verifyTransport,
} from "./checksum.ts";

/** TTL / hop limit of replies. */
export const ECHO_REPLY_TTL = 64;
/** UDP echo port (RFC 862). */
export const ECHO_PORT = 7;

/**
 * Turns the packet in `buf[0..len)` into its reply in place and returns the reply length, or
 * 0 when it is not something to answer. Answered: ICMP echo request (code 0), ICMPv6 echo
 * request (code 0), UDP to port 7 — over IPv4 and IPv6 without extension headers. The reply
 * swaps addresses (and ports), changes the type, resets TTL / hop limit to 64 and updates the
 * checksums incrementally (RFC 1624).
 *
 * Returns 0 (and leaves `buf` untouched) for: anything short, malformed or truncated; bad IP /
 * ICMP / UDP checksums; IPv4 fragments; IPv4 source-route options; IPv6 extension headers;
 * multicast, broadcast, unspecified or class-E sources and multicast/broadcast destinations;
 * UDP from port 0 or 7 (echo loops).
 *
 * @example
 * ```ts
 * import { echoReply } from "./echo.ts";
 * import { buildIcmpEcho } from "./build.ts";
 * const buf = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", id: 1, seq: 1, payload: 56 });
 * const n = echoReply(buf, buf.length); // 84; buf is now the echo reply from 192.0.2.2
 * ```
 */
export function echoReply(buf: Uint8Array, len: number): number {
  return echoReplyAt(buf, 0, len);
}

/**
 * {@link echoReply} for the IP packet at `buf[off..off+len)` (inside an Ethernet frame, say):
 * the same checks and in-place reply, returning the reply's IP length or 0. Bytes outside the
 * packet are never read or written.
 *
 * @example
 * ```ts
 * import { echoReplyAt } from "./echo.ts";
 * import { buildEthernet, buildIcmpEcho } from "./build.ts";
 * const f = buildEthernet({ src: "02:00:00:00:00:02", dst: "02:00:00:00:00:01", etherType: 0x0800 },
 *   buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2" }));
 * // the reply's IP length; the IP part of f is now the reply:
 * echoReplyAt(f, 14, f.length - 14); // 28
 * ```
 */
export function echoReplyAt(buf: Uint8Array, off: number, len: number): number {
  if (!(off >= 0) || !(len >= 1) || off + len > buf.length) return 0;
  const v = buf[off]! >> 4;
  if (v === 4) return reply4(buf, off, len);
  if (v === 6) return reply6(buf, off, len);
  return 0;
}

function reply4(b: Uint8Array, o: number, len: number): number {
  if (len < 20) return 0;
  const ihl = (b[o]! & 0x0f) << 2;
  if (ihl < 20) return 0;
  const total = (b[o + 2]! << 8) | b[o + 3]!;
  if (total < ihl + 8 || total > len) return 0;
  // fragments: MF set or offset != 0
  if ((b[o + 6]! & 0x3f) !== 0 || b[o + 7]! !== 0) return 0;
  const s0 = b[o + 12]!;
  const d0 = b[o + 16]!;
  // 0.0.0.0/8, multicast 224/4, class E and broadcast 240/4
  if (s0 === 0 || s0 >= 224) return 0;
  if (d0 >= 224) return 0;
  if (!verifyIpv4Header(b, o)) return 0;
  if (ihl > 20 && !optionsOk(b, o, ihl)) return 0;
  const proto = b[o + 9]!;
  const l4 = o + ihl;
  const l4Len = total - ihl;
  if (proto === PROTO_ICMP) {
    if (b[l4]! !== 8 || b[l4 + 1]! !== 0) return 0;
    if (!verifyTransport(b, 4, o, l4, l4Len, PROTO_ICMP)) return 0;
    b[l4] = 0;
    let cs = checksumAdjust16((b[l4 + 2]! << 8) | b[l4 + 3]!, 0x0800, 0x0000);
    // RFC 1624's one corner: over all-zero data the result must be 0xffff, not 0x0000
    if (cs === 0) cs = transportChecksum(b, 4, o, l4, l4Len, PROTO_ICMP, false);
    b[l4 + 2] = cs >> 8;
    b[l4 + 3] = cs & 0xff;
  } else if (proto === PROTO_UDP) {
    if (!udpOk(b, 4, o, l4, l4Len)) return 0;
    swapPorts(b, l4);
    // swapping ports and addresses leaves the UDP checksum unchanged
  } else {
    return 0;
  }
  for (let i = o + 12; i < o + 16; i++) {
    const t = b[i]!;
    b[i] = b[i + 4]!;
    b[i + 4] = t;
  }
  const oldWord = (b[o + 8]! << 8) | proto;
  b[o + 8] = ECHO_REPLY_TTL;
  const hc = checksumAdjust16((b[o + 10]! << 8) | b[o + 11]!, oldWord, (ECHO_REPLY_TTL << 8) | proto);
  b[o + 10] = hc >> 8;
  b[o + 11] = hc & 0xff;
  return total;
}

/** IPv4 options are walked with bounds; source routes (LSRR 131, SSRR 137) are refused. */
function optionsOk(b: Uint8Array, o: number, ihl: number): boolean {
  let i = o + 20;
  const end = o + ihl;
  while (i < end) {
    const t = b[i]!;
    if (t === 0) return true;
    if (t === 1) {
      i++;
      continue;
    }
    if (i + 1 >= end) return false;
    const l = b[i + 1]!;
    if (l < 2 || i + l > end) return false;
    if (t === 131 || t === 137) return false;
    i += l;
  }
  return true;
}

function udpOk(b: Uint8Array, v: 4 | 6, o: number, l4: number, l4Len: number): boolean {
  if (l4Len < 8) return false;
  const sp = (b[l4]! << 8) | b[l4 + 1]!;
  const dp = (b[l4 + 2]! << 8) | b[l4 + 3]!;
  if (dp !== ECHO_PORT || sp === 0 || sp === ECHO_PORT) return false;
  const ulen = (b[l4 + 4]! << 8) | b[l4 + 5]!;
  if (ulen !== l4Len) return false;
  const cs = (b[l4 + 6]! << 8) | b[l4 + 7]!;
  if (cs === 0) return v === 4; // IPv4: no checksum; IPv6: a zero checksum is invalid
  return verifyTransport(b, v, o, l4, l4Len, PROTO_UDP);
}

function swapPorts(b: Uint8Array, l4: number): void {
  const a0 = b[l4]!;
  const a1 = b[l4 + 1]!;
  b[l4] = b[l4 + 2]!;
  b[l4 + 1] = b[l4 + 3]!;
  b[l4 + 2] = a0;
  b[l4 + 3] = a1;
}

function reply6(b: Uint8Array, o: number, len: number): number {
  if (len < 48) return 0;
  const plen = (b[o + 4]! << 8) | b[o + 5]!;
  if (plen < 8 || 40 + plen > len) return 0;
  // source: multicast ff00::/8 or unspecified ::; destination: multicast
  if (b[o + 8]! === 0xff || b[o + 24]! === 0xff) return 0;
  let zero = true;
  for (let i = o + 8; i < o + 24; i++) {
    if (b[i]! !== 0) {
      zero = false;
      break;
    }
  }
  if (zero) return 0;
  const nh = b[o + 6]!;
  const l4 = o + 40;
  if (nh === PROTO_ICMPV6) {
    if (b[l4]! !== 128 || b[l4 + 1]! !== 0) return 0;
    if (!verifyTransport(b, 6, o, l4, plen, PROTO_ICMPV6)) return 0;
    b[l4] = 129;
    const cs = checksumAdjust16((b[l4 + 2]! << 8) | b[l4 + 3]!, 0x8000, 0x8100);
    b[l4 + 2] = cs >> 8;
    b[l4 + 3] = cs & 0xff;
  } else if (nh === PROTO_UDP) {
    if (!udpOk(b, 6, o, l4, plen)) return 0;
    swapPorts(b, l4);
  } else {
    return 0;
  }
  for (let i = o + 8; i < o + 24; i++) {
    const t = b[i]!;
    b[i] = b[i + 16]!;
    b[i + 16] = t;
  }
  b[o + 7] = ECHO_REPLY_TTL;
  return 40 + plen;
}
