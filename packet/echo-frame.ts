/**
 * The responder core for tap devices: turns an Ethernet frame into its reply IN PLACE, with no
 * allocation, playing the remote host of the tap's link.
 *
 * On a tap the kernel speaks Ethernet: before it sends a ping it resolves the next hop with ARP
 * (IPv4) or a neighbour solicitation (IPv6). {@link echoReplyFrame} answers those for the
 * responder's MAC, then answers ICMP echo / ICMPv6 echo / UDP port 7 inside frames addressed to
 * that MAC (packet/echo.ts's checks and reply, at offset 14). Every read is a direct,
 * length-checked index into the buffer, as in packet/echo.ts.
 *
 * @module
 */
import { PROTO_ICMPV6, transportChecksum, verifyTransport } from "./checksum.ts";
import { echoReplyAt } from "./echo.ts";

/** The responder's MAC when none is given: locally administered, unicast. */
export const DEFAULT_ECHO_MAC = "02:00:00:00:00:01";

/** Length of an Ethernet/IPv4 ARP reply frame (no padding). */
export const ARP_FRAME_LEN = 42;
/** Length of the neighbour advertisement frame: 14 + IPv6 40 + NA 24 + target link-layer option 8. */
export const NA_FRAME_LEN = 86;

const ICMPV6_NS = 135;
const ICMPV6_NA = 136;

/** Who {@link echoReplyFrame} is on the link. */
export interface FrameResponder {
  /** The responder's MAC: 6 bytes, unicast (bit 0 of the first byte clear), not all zero. */
  mac: Uint8Array;
  /**
   * The tap's own addresses (4 or 16 bytes each). ARP requests and neighbour solicitations for
   * them, and echo requests to them, are never answered.
   */
  own?: readonly Uint8Array[];
}

/**
 * Turns the Ethernet frame in `buf[0..len)` into its reply in place and returns the reply
 * length, or 0 when it is not something to answer (and then `buf` is untouched). Answered:
 *
 * - ARP request (Ethernet/IPv4, to broadcast or to `mac`) for any IPv4 target that is not the
 *   sender's own address, not 0.0.0.0, loopback, multicast or broadcast, and not in `own`:
 *   an ARP reply from `mac` (42 bytes).
 * - IPv6 neighbour solicitation (hop limit 255, valid checksum, to the target's solicited-node
 *   group or to the target, from a unicast address) for a unicast target not in `own`: a
 *   neighbour advertisement with the solicited and override flags and a target link-layer
 *   address option (86 bytes; needs `buf.length >= 86`, the request may be shorter).
 * - ICMP echo, ICMPv6 echo and UDP port 7 in a frame addressed to `mac`, to a destination not in
 *   `own`: as packet/echo.ts's `echoReply`, with the MACs swapped (the reply comes from `mac`).
 *
 * Never answered: frames from a multicast/broadcast or all-zero source or from `mac` itself;
 * VLAN-tagged frames; DAD probes (ARP from 0.0.0.0, NS from ::) and gratuitous ARP; anything
 * short, truncated or with a bad checksum.
 *
 * @example
 * ```ts
 * import { echoReplyFrame } from "./echo-frame.ts";
 * import { buildArp, buildEthernet } from "./build.ts";
 * const f = new Uint8Array(2048);
 * f.set(buildEthernet({ src: "02:aa:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff", etherType: 0x0806 },
 *   buildArp({ operation: 1, senderMac: "02:aa:00:00:00:01", senderIp: "192.0.2.1", targetIp: "192.0.2.2" })));
 * // the reply's length; f now holds "192.0.2.2 is-at 02:00:00:00:00:01":
 * echoReplyFrame(f, 42, { mac: Uint8Array.of(2, 0, 0, 0, 0, 1) }); // 42
 * ```
 */
export function echoReplyFrame(buf: Uint8Array, len: number, responder: FrameResponder): number {
  const mac = responder.mac;
  if (!(len >= 14) || len > buf.length || !macOk(mac)) return 0;
  const b = buf;
  // source: not multicast/broadcast, not all zero, not ourselves
  if ((b[6]! & 1) !== 0 || isZero(b, 6, 12) || equalAt(b, 6, mac, 0, 6)) return 0;
  const et = (b[12]! << 8) | b[13]!;
  if (et === 0x0806) return arpReply(b, len, mac, responder.own);
  if (et === 0x86dd) {
    if (len >= 54 + 24 && b[20]! === PROTO_ICMPV6 && b[54]! === ICMPV6_NS) return naReply(b, len, mac, responder.own);
    if (len < 54 || b[14]! >> 4 !== 6) return 0;
    if (!equalAt(b, 0, mac, 0, 6) || isOwn(b, 38, 16, responder.own)) return 0;
  } else if (et === 0x0800) {
    if (len < 34 || b[14]! >> 4 !== 4) return 0;
    if (!equalAt(b, 0, mac, 0, 6) || isOwn(b, 30, 4, responder.own)) return 0;
  } else {
    return 0;
  }
  const n = echoReplyAt(b, 14, len - 14);
  if (n === 0) return 0;
  swapMacs(b, mac);
  return 14 + n;
}

/**
 * Whether the reply {@link echoReplyFrame} left in `buf` answers a neighbour lookup (ARP reply
 * or neighbour advertisement) rather than an echo request.
 *
 * @example
 * ```ts
 * import { isNeighbourReply } from "./echo-frame.ts";
 * // const n = echoReplyFrame(buf, len, r); if (n && isNeighbourReply(buf, n)) resolved++;
 * ```
 */
export function isNeighbourReply(buf: Uint8Array, len: number): boolean {
  if (len < 14) return false;
  const et = ((buf[12] ?? 0) << 8) | (buf[13] ?? 0);
  if (et === 0x0806) return true;
  return et === 0x86dd && len >= 55 && buf[20] === PROTO_ICMPV6 && buf[54] === ICMPV6_NA;
}

function arpReply(b: Uint8Array, len: number, mac: Uint8Array, own: readonly Uint8Array[] | undefined): number {
  if (len < ARP_FRAME_LEN) return 0;
  // to broadcast or to us
  if (!isBroadcast(b, 0) && !equalAt(b, 0, mac, 0, 6)) return 0;
  // htype Ethernet, ptype IPv4, hlen 6, plen 4, operation request
  if (b[14]! !== 0 || b[15]! !== 1 || b[16]! !== 0x08 || b[17]! !== 0 || b[18]! !== 6 || b[19]! !== 4) return 0;
  if (b[20]! !== 0 || b[21]! !== 1) return 0;
  // the sender hardware address is the frame's source
  if (!equalAt(b, 22, b, 6, 6)) return 0;
  // sender: a unicast address (0.0.0.0 is a DAD probe)
  if (!unicast4(b, 28)) return 0;
  // target: unicast, not the sender (gratuitous ARP), not the tap's own
  if (!unicast4(b, 38) || equalAt(b, 28, b, 38, 4) || isOwn(b, 38, 4, own)) return 0;
  // reply: tha = sha, sha = mac, swap spa and tpa
  for (let i = 0; i < 6; i++) b[32 + i] = b[22 + i]!;
  for (let i = 0; i < 6; i++) b[22 + i] = mac[i]!;
  for (let i = 0; i < 4; i++) {
    const t = b[28 + i]!;
    b[28 + i] = b[38 + i]!;
    b[38 + i] = t;
  }
  b[21] = 2;
  swapMacs(b, mac);
  return ARP_FRAME_LEN;
}

function naReply(b: Uint8Array, len: number, mac: Uint8Array, own: readonly Uint8Array[] | undefined): number {
  if (b.length < NA_FRAME_LEN) return 0;
  if (b[14]! >> 4 !== 6) return 0;
  const plen = (b[18]! << 8) | b[19]!;
  if (plen < 24 || 54 + plen > len) return 0;
  if (b[21]! !== 255 || b[55]! !== 0) return 0;
  // source: unicast (:: is a DAD probe)
  if (b[22]! === 0xff || isZero(b, 22, 38)) return 0;
  // target: unicast, not the tap's own, not the source
  const t = 62;
  if (b[t]! === 0xff || isZero(b, t, t + 16) || isOwn(b, t, 16, own) || equalAt(b, 22, b, t, 16)) return 0;
  // destination: the target itself, or its solicited-node group ff02::1:ffXX:XXXX
  if (!equalAt(b, 38, b, t, 16)) {
    if (b[38]! !== 0xff || b[39]! !== 0x02 || !isZero(b, 40, 49) || b[49]! !== 1 || b[50]! !== 0xff) return 0;
    if (!equalAt(b, 51, b, t + 13, 3)) return 0;
  }
  // Ethernet destination: us, or the multicast MAC of the IPv6 destination (33:33 + last 4 bytes)
  if (!equalAt(b, 0, mac, 0, 6) && !(b[0]! === 0x33 && b[1]! === 0x33 && equalAt(b, 2, b, 50, 4))) return 0;
  // options: each at least 8 bytes and inside the message
  let o = 54 + 24;
  const end = 54 + plen;
  while (o < end) {
    if (o + 2 > end) return 0;
    const ol = b[o + 1]! * 8;
    if (ol === 0 || o + ol > end) return 0;
    o += ol;
  }
  if (!verifyTransport(b, 6, 14, 54, plen, PROTO_ICMPV6)) return 0;
  // IPv6 header: no traffic class or flow label, payload 32, ICMPv6, hop limit 255
  b[14] = 0x60;
  b[15] = 0;
  b[16] = 0;
  b[17] = 0;
  b[18] = 0;
  b[19] = 32;
  // destination = the solicitation's source, source = the target
  for (let i = 0; i < 16; i++) b[38 + i] = b[22 + i]!;
  for (let i = 0; i < 16; i++) b[22 + i] = b[t + i]!;
  // NA: type 136, code 0, flags solicited + override, target unchanged at 62
  b[54] = ICMPV6_NA;
  b[55] = 0;
  b[58] = 0x60;
  b[59] = 0;
  b[60] = 0;
  b[61] = 0;
  // target link-layer address option
  b[78] = 2;
  b[79] = 1;
  for (let i = 0; i < 6; i++) b[80 + i] = mac[i]!;
  const cs = transportChecksum(b, 6, 14, 54, 32, PROTO_ICMPV6);
  b[56] = cs >> 8;
  b[57] = cs & 0xff;
  swapMacs(b, mac);
  return NA_FRAME_LEN;
}

/** Ethernet destination = the request's source, source = `mac`. */
function swapMacs(b: Uint8Array, mac: Uint8Array): void {
  for (let i = 0; i < 6; i++) {
    b[i] = b[6 + i]!;
    b[6 + i] = mac[i]!;
  }
}

function macOk(mac: Uint8Array): boolean {
  return mac.length === 6 && (mac[0]! & 1) === 0 && !isZero(mac, 0, 6);
}

function isZero(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (b[i]! !== 0) return false;
  return true;
}

function isBroadcast(b: Uint8Array, off: number): boolean {
  for (let i = off; i < off + 6; i++) if (b[i]! !== 0xff) return false;
  return true;
}

function equalAt(a: Uint8Array, ao: number, b: Uint8Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/** Not 0/8, not loopback 127/8, not multicast, class E or broadcast (224 and up). */
function unicast4(b: Uint8Array, off: number): boolean {
  const a = b[off]!;
  return a !== 0 && a !== 127 && a < 224;
}

function isOwn(b: Uint8Array, off: number, n: number, own: readonly Uint8Array[] | undefined): boolean {
  if (!own) return false;
  for (let k = 0; k < own.length; k++) {
    const a = own[k]!;
    if (a.length === n && equalAt(b, off, a, 0, n)) return true;
  }
  return false;
}
