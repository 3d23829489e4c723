/**
 * Decoder for the packet an ICMP or ICMPv6 error message quotes: the offending IP header and
 * the first bytes of its transport header (enough for the ports). Never throws.
 *
 * @module
 */
import { isDecodeError } from "../common/errors.ts";
import { decodeIpv4, ipv4LengthsOk } from "./ipv4.ts";
import { decodeIpv6, walkIpv6Extensions } from "./ipv6.ts";
import type { QuotedPacket } from "./types.ts";

/**
 * Decodes the quoted packet in `bytes[start..end)` as IPv4 (`version` 4) or IPv6 (6). Returns
 * undefined when not even the IP header is there or it is not an IP header of that version.
 *
 * @example
 * ```ts
 * import { decodeQuoted } from "./quoted.ts";
 * // const q = decodeQuoted(pkt, 28, pkt.length, 4); q?.dstPort === 53
 * ```
 */
export function decodeQuoted(bytes: Uint8Array, start: number, end: number, version: 4 | 6): QuotedPacket | undefined {
  const view = bytes.subarray(0, Math.max(start, Math.min(end, bytes.length)));
  try {
    let l4: number;
    let protocol: number;
    const q: QuotedPacket = { protocol: 0 };
    if (version === 4) {
      const ip = decodeIpv4(view, start);
      q.ipv4 = ip;
      protocol = ip.protocol;
      q.protocol = protocol;
      if (ip.fragmentOffset !== 0 || !ipv4LengthsOk(ip)) return q;
      l4 = start + ip.headerLength;
    } else {
      const ip6 = decodeIpv6(view, start);
      q.ipv6 = ip6;
      q.protocol = ip6.nextHeader;
      try {
        walkIpv6Extensions(view, ip6, view.length);
      } catch (e) {
        if (!isDecodeError(e)) throw e;
        q.truncated = true;
        return q;
      }
      protocol = ip6.protocol;
      q.protocol = protocol;
      if (ip6.fragment && ip6.fragment.offset !== 0) return q;
      l4 = start + ip6.headerLength;
    }
    if (protocol === 6 || protocol === 17 || protocol === 132 || protocol === 33) {
      if (l4 + 4 <= view.length) {
        q.srcPort = (view[l4]! << 8) | view[l4 + 1]!;
        q.dstPort = (view[l4 + 2]! << 8) | view[l4 + 3]!;
      } else {
        q.truncated = true;
      }
    }
    return q;
  } catch (e) {
    if (!isDecodeError(e)) throw e;
    return undefined;
  }
}
