/**
 * `decode()`: chains the layer decoders over one packet and returns a layered plain object.
 * It never throws: a short packet is marked `truncated`, a wrong one `malformed`, and every
 * layer decoded before the problem is kept.
 *
 * @module
 */
import { MalformedError, TruncatedError, isDecodeError } from "../common/errors.ts";
import { detectAppText } from "./app.ts";
import { decodeArp } from "./arp.ts";
import { PROTO_ICMP, PROTO_ICMPV6, PROTO_TCP, PROTO_UDP, verifyTransport } from "./checksum.ts";
import { decodeDns } from "./dns.ts";
import { decodeEthernet, ETHERTYPE_ARP, ETHERTYPE_IPV4, ETHERTYPE_IPV6 } from "./ethernet.ts";
import { decodeIcmp } from "./icmp.ts";
import { decodeIcmpv6 } from "./icmpv6.ts";
import { decodeIpv4, ipv4LengthsOk } from "./ipv4.ts";
import { decodeIpv6, walkIpv6Extensions } from "./ipv6.ts";
import { decodeTcp } from "./tcp.ts";
import type { DecodedPacket, DecodeNotes, LinkType } from "./types.ts";
import { decodeUdp } from "./udp.ts";

/** Ports whose payload is summarised as DNS. */
export const DNS_PORTS: ReadonlySet<number> = new Set([53, 5353]);

/**
 * Decodes one packet. `linkType` "raw" (tun: the IP version nibble picks IPv4/IPv6) or
 * "ethernet" (tap). Never throws.
 *
 * @example
 * ```ts
 * import { decode } from "./decode.ts";
 * import { fromHex } from "../common/hex.ts";
 * const p = decode(fromHex("45000054 0c53 4000 4001 3054 7f000001 7f000001 0800 5810 0cab 0001"), "raw");
 * p.ipv4?.src; // "127.0.0.1"
 * p.icmp?.type; // 8
 * p.truncated; // true
 * ```
 */
export function decode(bytes: Uint8Array, linkType: LinkType = "raw"): DecodedPacket {
  const pkt: DecodedPacket = { linkType, length: bytes.length };
  const notes: DecodeNotes = {};
  const st = { layer: "ethernet", captureShort: false };
  try {
    decodeInto(pkt, bytes, linkType, notes, st);
  } catch (e) {
    if (e instanceof TruncatedError) {
      if (st.captureShort || !(st.layer === "tcp" || st.layer === "udp" || st.layer === "icmp" || st.layer === "icmpv6")) {
        pkt.truncated = true;
        pkt.truncatedLayer = st.layer;
      } else {
        // the bytes were all captured but the IP length leaves too little for the header
        pkt.malformed = `Invalid ${st.layer.toUpperCase()} header: the IP payload is too short (${e.message})`;
      }
    } else if (e instanceof MalformedError) {
      pkt.malformed = e.message;
    } else if (isDecodeError(e)) {
      pkt.malformed = String(e);
    } else {
      // a bug, not bad input: still never throw out of decode()
      pkt.malformed = `Internal decoder error: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  if (notes.malformed !== undefined && pkt.malformed === undefined) pkt.malformed = notes.malformed;
  if (notes.truncated && !pkt.truncated) {
    pkt.truncated = true;
    pkt.truncatedLayer ??= st.layer;
  }
  return pkt;
}

interface State {
  layer: string;
  captureShort: boolean;
}

function decodeInto(pkt: DecodedPacket, bytes: Uint8Array, linkType: LinkType, notes: DecodeNotes, st: State): void {
  let off = 0;
  let etherType: number;
  if (linkType === "ethernet") {
    const eth = decodeEthernet(bytes);
    pkt.ethernet = eth;
    off = eth.headerLength;
    etherType = eth.etherType;
  } else {
    st.layer = "ip";
    if (bytes.length < 1) throw new TruncatedError("IP header", 0, 1, 0);
    const v = bytes[0]! >> 4;
    pkt.ipVersion = v;
    if (v === 4) etherType = ETHERTYPE_IPV4;
    else if (v === 6) etherType = ETHERTYPE_IPV6;
    else throw new MalformedError(`Invalid IP version "${v}": expected 4 or 6`, 0);
  }
  if (etherType === ETHERTYPE_ARP) {
    st.layer = "arp";
    pkt.arp = decodeArp(bytes, off);
    return;
  }
  if (etherType === ETHERTYPE_IPV4) {
    st.layer = "ipv4";
    const ip = decodeIpv4(bytes, off, notes);
    pkt.ipv4 = ip;
    if (!ipv4LengthsOk(ip)) return;
    const l4Off = off + ip.headerLength;
    const declared = ip.totalLength - ip.headerLength;
    const avail = bytes.length - l4Off;
    const l4Len = Math.min(declared, avail);
    if (avail < declared) {
      st.captureShort = true;
      pkt.truncated = true;
      pkt.truncatedLayer = "ipv4";
    }
    if (ip.fragmentOffset !== 0) {
      pkt.payload = { offset: l4Off, length: l4Len };
      return;
    }
    const complete = !st.captureShort && !ip.flags.mf;
    transport(pkt, bytes, 4, off, l4Off, declared, ip.protocol, complete, notes, st);
    return;
  }
  if (etherType === ETHERTYPE_IPV6) {
    st.layer = "ipv6";
    const ip6 = decodeIpv6(bytes, off);
    pkt.ipv6 = ip6;
    let payloadLength = ip6.payloadLength;
    const avail0 = bytes.length - off - 40;
    const end = off + 40 + Math.min(payloadLength === 0 ? avail0 : payloadLength, avail0);
    if (avail0 < payloadLength) {
      st.captureShort = true;
      pkt.truncated = true;
      pkt.truncatedLayer = "ipv6";
    }
    walkIpv6Extensions(bytes, ip6, end, notes);
    if (payloadLength === 0 && ip6.jumboLength !== undefined) {
      payloadLength = ip6.jumboLength;
      if (avail0 < payloadLength) {
        st.captureShort = true;
        pkt.truncated = true;
        pkt.truncatedLayer = "ipv6";
      }
    }
    const l4Off = off + ip6.headerLength;
    const declared = payloadLength - (ip6.headerLength - 40);
    if (declared < 0) {
      throw new MalformedError(
        `Invalid IPv6 payload length "${ip6.payloadLength}": shorter than its extension headers`,
        off + 4,
      );
    }
    if (ip6.fragment && ip6.fragment.offset !== 0) {
      pkt.payload = { offset: l4Off, length: Math.max(0, Math.min(declared, bytes.length - l4Off)) };
      return;
    }
    const complete = !st.captureShort && !(ip6.fragment?.more ?? false);
    transport(pkt, bytes, 6, off, l4Off, declared, ip6.protocol, complete, notes, st);
    return;
  }
}

function transport(
  pkt: DecodedPacket,
  bytes: Uint8Array,
  version: 4 | 6,
  ipOff: number,
  l4Off: number,
  declared: number,
  proto: number,
  complete: boolean,
  notes: DecodeNotes,
  st: State,
): void {
  const captured = Math.max(0, Math.min(declared, bytes.length - l4Off));
  const check = (): boolean | undefined =>
    complete ? verifyTransport(bytes, version, ipOff, l4Off, declared, proto) : undefined;
  if (proto === PROTO_ICMP && version === 4) {
    st.layer = "icmp";
    const m = decodeIcmp(bytes, l4Off, declared);
    if (m.truncated) shortMessage(st, notes, "ICMP");
    const v = check();
    if (v !== undefined) m.checksumValid = v;
    pkt.icmp = m;
    return;
  }
  if (proto === PROTO_ICMPV6 && version === 6) {
    st.layer = "icmpv6";
    const m = decodeIcmpv6(bytes, l4Off, declared, notes);
    if (m.truncated) shortMessage(st, notes, "ICMPv6");
    const v = check();
    if (v !== undefined) m.checksumValid = v;
    pkt.icmpv6 = m;
    return;
  }
  if ((proto === PROTO_TCP && captured < 20) || (proto === PROTO_UDP && captured < 8)) {
    if (captured >= 4 && declared >= 4) {
      pkt.ports = { srcPort: (bytes[l4Off]! << 8) | bytes[l4Off + 1]!, dstPort: (bytes[l4Off + 2]! << 8) | bytes[l4Off + 3]! };
    }
  }
  if (proto === PROTO_TCP) {
    st.layer = "tcp";
    const t = decodeTcp(bytes, l4Off, declared, notes);
    const v = check();
    if (v !== undefined) t.checksumValid = v;
    pkt.tcp = t;
    if (t.headerLength < 20 || t.headerLength > declared) return;
    const hl = t.headerLength;
    const pOff = l4Off + hl;
    const pLen = Math.max(0, captured - hl);
    pkt.payload = { offset: pOff, length: pLen };
    if (!t.rst && t.payloadLength > 0) {
      const app = detectAppText(bytes, pOff, Math.min(pLen, t.payloadLength), t.srcPort, t.dstPort);
      if (app) pkt.app = app;
    }
    if ((DNS_PORTS.has(t.srcPort) || DNS_PORTS.has(t.dstPort)) && t.payloadLength > 2 && pLen >= 2) {
      const dlen = (bytes[pOff]! << 8) | bytes[pOff + 1]!;
      st.layer = "dns";
      const d = decodeDns(bytes, pOff + 2, Math.min(dlen, t.payloadLength - 2));
      if (d) attachDns(pkt, d, notes);
    }
    return;
  }
  if (proto === PROTO_UDP) {
    st.layer = "udp";
    const u = decodeUdp(bytes, l4Off, declared, notes);
    const v = check();
    if (v !== undefined) u.checksumValid = v;
    pkt.udp = u;
    const pOff = l4Off + 8;
    const pLen = Math.max(0, Math.min(u.payloadLength, captured - 8));
    pkt.payload = { offset: pOff, length: pLen };
    if (DNS_PORTS.has(u.srcPort) || DNS_PORTS.has(u.dstPort)) {
      st.layer = "dns";
      const d = decodeDns(bytes, pOff, u.payloadLength);
      if (d) attachDns(pkt, d, notes);
    }
    return;
  }
  pkt.payload = { offset: l4Off, length: captured };
}

function shortMessage(st: State, notes: DecodeNotes, what: string): void {
  if (st.captureShort) notes.truncated = true;
  else notes.malformed ??= `Invalid ${what} message: shorter than its type needs`;
}

function attachDns(pkt: DecodedPacket, d: NonNullable<DecodedPacket["dns"]>, notes: DecodeNotes): void {
  pkt.dns = d;
  if (d.malformed) notes.malformed ??= d.malformed;
  if (d.truncated) notes.truncated = true;
}
