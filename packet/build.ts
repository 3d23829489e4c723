/**
 * Packet builder: IPv4/IPv6 with ICMP echo, ICMPv6 (echo and any type), UDP and TCP, plus
 * Ethernet/VLAN and ARP framing — all with correct checksums. Used by tests, `tunkit inject`
 * and the responder tests. Bad arguments throw {@link UsageError}.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { parseIp, parseMac } from "../common/addr.ts";
import {
  ipv4HeaderChecksum,
  PROTO_ICMP,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  transportChecksum,
  writeChecksum,
} from "./checksum.ts";
import { TCP_ACK, TCP_CWR, TCP_ECE, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, TCP_URG } from "./tcp.ts";

/** An IPv6 extension header to put between the fixed header and the payload. */
export type Ipv6ExtensionSpec =
  | { type: 0 | 43 | 60; body: Uint8Array }
  | { type: 44; offset?: number; more?: boolean; id?: number };

/** IP-level options shared by the builders. The address family picks IPv4 or IPv6. */
export interface IpSpec {
  /** Source address, IPv4 or IPv6. */
  src: string;
  /** Destination address, of the same family as `src`. */
  dst: string;
  /** TTL / hop limit (default 64). */
  ttl?: number;
  /** IPv4 identification (default 0). */
  ipId?: number;
  /** IPv4 TOS / IPv6 traffic class. */
  tos?: number;
  /** IPv4 don't-fragment flag (default false). */
  df?: boolean;
  /** IPv4 more-fragments flag. */
  mf?: boolean;
  /** IPv4 fragment offset in bytes (multiple of 8). */
  fragmentOffset?: number;
  /** IPv4 options, raw (padded with zeros to a multiple of 4). */
  ipv4Options?: Uint8Array;
  /** IPv6 flow label. */
  flowLabel?: number;
  /** IPv6 extension headers, in order. */
  ipv6Extensions?: Ipv6ExtensionSpec[];
}

function checkInt(name: string, v: number, max: number): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new UsageError(`Invalid ${name} "${v}": expected 0..${max}`);
  return v;
}

function addrs(spec: IpSpec): { src: Uint8Array; dst: Uint8Array; v: 4 | 6 } {
  const src = parseIp(spec.src);
  const dst = parseIp(spec.dst);
  if (src.length !== dst.length) {
    throw new UsageError(`Invalid addresses "${spec.src}" and "${spec.dst}": both must be IPv4 or both IPv6`);
  }
  return { src, dst, v: src.length === 4 ? 4 : 6 };
}

/**
 * Wraps an already-built transport segment in an IPv4 or IPv6 header (protocol `proto`) and
 * fills the IPv4 header checksum and the transport checksum (TCP, UDP, ICMP, ICMPv6) unless
 * `fill` is false.
 *
 * @example
 * ```ts
 * import { buildIp } from "./build.ts";
 * const pkt = buildIp(17, new Uint8Array([0x30, 0x39, 0, 9, 0, 8, 0, 0]), { src: "192.0.2.1", dst: "192.0.2.2" });
 * pkt.length; // 28
 * ```
 */
export function buildIp(proto: number, segment: Uint8Array, spec: IpSpec, fill = true): Uint8Array {
  checkInt("protocol", proto, 255);
  const { src, dst, v } = addrs(spec);
  const ttl = checkInt("TTL", spec.ttl ?? 64, 255);
  const tos = checkInt("TOS", spec.tos ?? 0, 255);
  if (v === 4) {
    const opts = spec.ipv4Options ?? new Uint8Array(0);
    const olen = Math.ceil(opts.length / 4) * 4;
    if (olen > 40) throw new UsageError(`Invalid IPv4 options length "${opts.length}": at most 40 bytes`);
    const hl = 20 + olen;
    const total = hl + segment.length;
    if (total > 0xffff) throw new UsageError(`Invalid packet length "${total}": IPv4 allows at most 65535`);
    const fo = checkInt("fragment offset", spec.fragmentOffset ?? 0, 65528);
    if (fo % 8 !== 0) throw new UsageError(`Invalid fragment offset "${fo}": expected a multiple of 8`);
    const b = new Uint8Array(total);
    b[0] = 0x40 | (hl / 4);
    b[1] = tos;
    b[2] = total >> 8;
    b[3] = total & 0xff;
    const id = checkInt("IP id", spec.ipId ?? 0, 0xffff);
    b[4] = id >> 8;
    b[5] = id & 0xff;
    const ff = (spec.df ? 0x4000 : 0) | (spec.mf ? 0x2000 : 0) | (fo / 8);
    b[6] = ff >> 8;
    b[7] = ff & 0xff;
    b[8] = ttl;
    b[9] = proto;
    b.set(src, 12);
    b.set(dst, 16);
    b.set(opts, 20);
    b.set(segment, hl);
    writeChecksum(b, 10, ipv4HeaderChecksum(b, 0));
    if (fill && fo === 0 && !spec.mf) fillTransport(b, 4, 0, hl, segment.length, proto);
    return b;
  }
  // IPv6
  const exts: Uint8Array[] = [];
  const specs = spec.ipv6Extensions ?? [];
  for (let i = 0; i < specs.length; i++) {
    const e = specs[i]!;
    const next = i + 1 < specs.length ? specs[i + 1]!.type : proto;
    if (e.type === 44) {
      const h = new Uint8Array(8);
      h[0] = next;
      const off = checkInt("fragment offset", e.offset ?? 0, 65528);
      const w = (off & 0xfff8) | (e.more ? 1 : 0);
      h[2] = w >> 8;
      h[3] = w & 0xff;
      new DataView(h.buffer).setUint32(4, (e.id ?? 0) >>> 0);
      exts.push(h);
    } else {
      const len = Math.ceil((e.body.length + 2) / 8) * 8;
      if (len > 2048) throw new UsageError(`Invalid IPv6 extension header length "${len}": at most 2048`);
      const h = new Uint8Array(len);
      h[0] = next;
      h[1] = len / 8 - 1;
      h.set(e.body, 2);
      // pad with PadN so the options area stays well-formed
      const pad = len - 2 - e.body.length;
      if (e.type !== 43 && pad === 1) h[2 + e.body.length] = 0;
      else if (e.type !== 43 && pad >= 2) h[2 + e.body.length] = 1, h[3 + e.body.length] = pad - 2;
      exts.push(h);
    }
  }
  const extLen = exts.reduce((n, e) => n + e.length, 0);
  const plen = extLen + segment.length;
  if (plen > 0xffff) throw new UsageError(`Invalid payload length "${plen}": IPv6 allows at most 65535`);
  const b = new Uint8Array(40 + plen);
  const fl = checkInt("flow label", spec.flowLabel ?? 0, 0xfffff);
  new DataView(b.buffer).setUint32(0, ((6 << 28) | (tos << 20) | fl) >>> 0);
  b[4] = plen >> 8;
  b[5] = plen & 0xff;
  b[6] = specs.length > 0 ? specs[0]!.type : proto;
  b[7] = ttl;
  b.set(src, 8);
  b.set(dst, 24);
  let p = 40;
  for (const e of exts) {
    b.set(e, p);
    p += e.length;
  }
  b.set(segment, p);
  const frag = specs.find((e) => e.type === 44) as { offset?: number; more?: boolean } | undefined;
  if (fill && !(frag && ((frag.offset ?? 0) !== 0 || frag.more))) fillTransport(b, 6, 0, p, segment.length, proto);
  return b;
}

function fillTransport(b: Uint8Array, v: 4 | 6, ipOff: number, l4Off: number, l4Len: number, proto: number): void {
  if (proto === PROTO_TCP && l4Len >= 20) writeChecksum(b, l4Off + 16, transportChecksum(b, v, ipOff, l4Off, l4Len, proto));
  else if (proto === PROTO_UDP && l4Len >= 8) writeChecksum(b, l4Off + 6, transportChecksum(b, v, ipOff, l4Off, l4Len, proto));
  else if (proto === PROTO_ICMPV6 && l4Len >= 4) writeChecksum(b, l4Off + 2, transportChecksum(b, v, ipOff, l4Off, l4Len, proto));
  else if (proto === PROTO_ICMP && l4Len >= 4) {
    writeChecksum(b, l4Off + 2, transportChecksum(b, v, ipOff, l4Off, l4Len, proto, false));
  }
}

function payloadOf(p: Uint8Array | number | undefined, fill: (i: number) => number = (i) => i & 0xff): Uint8Array {
  if (p === undefined) return new Uint8Array(0);
  if (typeof p === "number") {
    checkInt("payload size", p, 65000);
    const b = new Uint8Array(p);
    for (let i = 0; i < p; i++) b[i] = fill(i);
    return b;
  }
  return p;
}

/**
 * An ICMP echo request/reply (IPv4) or ICMPv6 echo (IPv6), chosen by the address family.
 * `payload` is bytes or a size (filled with 0x00, 0x01, …).
 *
 * @example
 * ```ts
 * import { buildIcmpEcho } from "./build.ts";
 * const ping = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", id: 1, seq: 1, payload: 56 });
 * ping.length; // 84
 * ```
 */
export function buildIcmpEcho(
  spec: IpSpec & { type?: "request" | "reply"; id?: number; seq?: number; payload?: Uint8Array | number },
): Uint8Array {
  const v6 = parseIp(spec.src).length === 16;
  const req = (spec.type ?? "request") === "request";
  const data = payloadOf(spec.payload);
  const seg = new Uint8Array(8 + data.length);
  seg[0] = v6 ? (req ? 128 : 129) : (req ? 8 : 0);
  const id = checkInt("echo id", spec.id ?? 0, 0xffff);
  const seq = checkInt("echo sequence", spec.seq ?? 0, 0xffff);
  seg[4] = id >> 8;
  seg[5] = id & 0xff;
  seg[6] = seq >> 8;
  seg[7] = seq & 0xff;
  seg.set(data, 8);
  return buildIp(v6 ? PROTO_ICMPV6 : PROTO_ICMP, seg, spec);
}

/**
 * Any ICMP (IPv4) or ICMPv6 (IPv6) message: type, code, the 4-byte field after the checksum
 * (`rest`) and a body (for errors: the quoted packet).
 *
 * @example
 * ```ts
 * import { buildIcmp, buildUdp } from "./build.ts";
 * const udp = buildUdp({ src: "192.0.2.2", dst: "192.0.2.1", srcPort: 1234, dstPort: 9 });
 * const unreach = buildIcmp({ src: "192.0.2.1", dst: "192.0.2.2", type: 3, code: 3, body: udp.subarray(0, 28) });
 * ```
 */
export function buildIcmp(spec: IpSpec & { type: number; code?: number; rest?: number; body?: Uint8Array }): Uint8Array {
  const v6 = parseIp(spec.src).length === 16;
  const body = spec.body ?? new Uint8Array(0);
  const seg = new Uint8Array(8 + body.length);
  seg[0] = checkInt("ICMP type", spec.type, 255);
  seg[1] = checkInt("ICMP code", spec.code ?? 0, 255);
  new DataView(seg.buffer).setUint32(4, (spec.rest ?? 0) >>> 0);
  seg.set(body, 8);
  return buildIp(v6 ? PROTO_ICMPV6 : PROTO_ICMP, seg, spec);
}

/**
 * A UDP datagram over IPv4 or IPv6 with a correct checksum.
 *
 * @example
 * ```ts
 * import { buildUdp } from "./build.ts";
 * const d = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 53124, dstPort: 9, payload: new TextEncoder().encode("hello") });
 * d.length; // 33
 * ```
 */
export function buildUdp(spec: IpSpec & { srcPort: number; dstPort: number; payload?: Uint8Array | number }): Uint8Array {
  const data = payloadOf(spec.payload);
  const seg = new Uint8Array(8 + data.length);
  const sp = checkInt("source port", spec.srcPort, 0xffff);
  const dp = checkInt("destination port", spec.dstPort, 0xffff);
  seg[0] = sp >> 8;
  seg[1] = sp & 0xff;
  seg[2] = dp >> 8;
  seg[3] = dp & 0xff;
  const len = seg.length;
  if (len > 0xffff) throw new UsageError(`Invalid UDP length "${len}": at most 65535`);
  seg[4] = len >> 8;
  seg[5] = len & 0xff;
  seg.set(data, 8);
  return buildIp(PROTO_UDP, seg, spec);
}

/** A TCP option for {@link buildTcp}. */
export type TcpOptionSpec =
  | { name: "mss"; value: number }
  | { name: "wscale"; value: number }
  | { name: "sackOK" }
  | { name: "sack"; blocks: [number, number][] }
  | { name: "timestamp"; tsval: number; tsecr: number }
  | { name: "nop" }
  | { name: "eol" };

/**
 * Parses TCP flags in tcpdump's letters: S F R P U E W, and `.` or `A` for ACK.
 *
 * @example
 * ```ts
 * import { parseTcpFlags } from "./build.ts";
 * parseTcpFlags("S."); // 0x12
 * ```
 */
export function parseTcpFlags(text: string): number {
  let f = 0;
  for (const ch of text) {
    const bit = ({ S: TCP_SYN, F: TCP_FIN, R: TCP_RST, P: TCP_PSH, ".": TCP_ACK, A: TCP_ACK, U: TCP_URG, E: TCP_ECE, W: TCP_CWR } as Record<string, number>)[ch.toUpperCase()];
    if (bit === undefined) throw new UsageError(`Invalid TCP flags "${text}": use S F R P U E W and . (ACK)`);
    f |= bit;
  }
  return f;
}

function encodeTcpOptions(opts: TcpOptionSpec[]): Uint8Array {
  const out: number[] = [];
  const u32 = (v: number) => out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  for (const o of opts) {
    switch (o.name) {
      case "eol":
        out.push(0);
        break;
      case "nop":
        out.push(1);
        break;
      case "mss":
        checkInt("MSS", o.value, 0xffff);
        out.push(2, 4, o.value >> 8, o.value & 0xff);
        break;
      case "wscale":
        out.push(3, 3, checkInt("window scale", o.value, 255));
        break;
      case "sackOK":
        out.push(4, 2);
        break;
      case "sack":
        if (o.blocks.length > 4) throw new UsageError(`Invalid SACK block count "${o.blocks.length}": at most 4`);
        out.push(5, 2 + 8 * o.blocks.length);
        for (const [l, r] of o.blocks) u32(l), u32(r);
        break;
      case "timestamp":
        out.push(8, 10);
        u32(o.tsval);
        u32(o.tsecr);
        break;
    }
  }
  while (out.length % 4 !== 0) out.push(0);
  if (out.length > 40) throw new UsageError(`Invalid TCP options length "${out.length}": at most 40 bytes`);
  return Uint8Array.from(out);
}

/**
 * A TCP segment over IPv4 or IPv6 with a correct checksum. `flags` is a number or tcpdump's
 * letters ("S", "S.", "R.", "P.", "F."). Options are padded with EOL to a multiple of 4.
 *
 * @example
 * ```ts
 * import { buildTcp } from "./build.ts";
 * const syn = buildTcp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 40000, dstPort: 22, seq: 1, flags: "S", window: 64240, options: [{ name: "mss", value: 1460 }] });
 * ```
 */
export function buildTcp(
  spec: IpSpec & {
    srcPort: number;
    dstPort: number;
    seq?: number;
    ack?: number;
    flags?: string | number;
    window?: number;
    urgent?: number;
    options?: TcpOptionSpec[];
    payload?: Uint8Array | number;
  },
): Uint8Array {
  const opts = encodeTcpOptions(spec.options ?? []);
  const data = payloadOf(spec.payload);
  const hl = 20 + opts.length;
  const seg = new Uint8Array(hl + data.length);
  const v = new DataView(seg.buffer);
  v.setUint16(0, checkInt("source port", spec.srcPort, 0xffff));
  v.setUint16(2, checkInt("destination port", spec.dstPort, 0xffff));
  v.setUint32(4, checkInt("sequence number", spec.seq ?? 0, 0xffffffff));
  v.setUint32(8, checkInt("acknowledgment number", spec.ack ?? 0, 0xffffffff));
  seg[12] = (hl / 4) << 4;
  const flags = typeof spec.flags === "string" ? parseTcpFlags(spec.flags) : checkInt("TCP flags", spec.flags ?? TCP_SYN, 255);
  seg[13] = flags;
  v.setUint16(14, checkInt("window", spec.window ?? 64240, 0xffff));
  v.setUint16(18, checkInt("urgent pointer", spec.urgent ?? 0, 0xffff));
  seg.set(opts, 20);
  seg.set(data, hl);
  return buildIp(PROTO_TCP, seg, spec);
}

/**
 * An Ethernet frame around `payload`, with optional 802.1Q tags (outermost first).
 *
 * @example
 * ```ts
 * import { buildEthernet, buildIcmpEcho } from "./build.ts";
 * const f = buildEthernet({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", etherType: 0x0800, vlans: [{ id: 10 }] },
 *   buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2" }));
 * ```
 */
export function buildEthernet(
  spec: { src: string; dst: string; etherType: number; vlans?: { id: number; pcp?: number; dei?: boolean; tpid?: number }[] },
  payload: Uint8Array,
): Uint8Array {
  const vlans = spec.vlans ?? [];
  const b = new Uint8Array(14 + 4 * vlans.length + payload.length);
  b.set(parseMac(spec.dst, 6), 0);
  b.set(parseMac(spec.src, 6), 6);
  const v = new DataView(b.buffer);
  let p = 12;
  for (const t of vlans) {
    v.setUint16(p, checkInt("TPID", t.tpid ?? 0x8100, 0xffff));
    v.setUint16(p + 2, (checkInt("VLAN priority", t.pcp ?? 0, 7) << 13) | (t.dei ? 0x1000 : 0) | checkInt("VLAN id", t.id, 4095));
    p += 4;
  }
  v.setUint16(p, checkInt("EtherType", spec.etherType, 0xffff));
  b.set(payload, p + 2);
  return b;
}

/**
 * An Ethernet/IPv4 ARP packet body (28 bytes; wrap it with {@link buildEthernet}, EtherType
 * 0x0806).
 *
 * @example
 * ```ts
 * import { buildArp } from "./build.ts";
 * const a = buildArp({ operation: 1, senderMac: "02:00:00:00:00:01", senderIp: "192.0.2.1", targetIp: "192.0.2.2" });
 * a.length; // 28
 * ```
 */
export function buildArp(spec: {
  operation: number;
  senderMac: string;
  senderIp: string;
  targetMac?: string;
  targetIp: string;
}): Uint8Array {
  const b = new Uint8Array(28);
  const v = new DataView(b.buffer);
  v.setUint16(0, 1);
  v.setUint16(2, 0x0800);
  b[4] = 6;
  b[5] = 4;
  v.setUint16(6, checkInt("ARP operation", spec.operation, 0xffff));
  b.set(parseMac(spec.senderMac, 6), 8);
  const sip = parseIp(spec.senderIp);
  const tip = parseIp(spec.targetIp);
  if (sip.length !== 4 || tip.length !== 4) throw new UsageError(`Invalid ARP addresses "${spec.senderIp}", "${spec.targetIp}": expected IPv4`);
  b.set(sip, 14);
  b.set(parseMac(spec.targetMac ?? "00:00:00:00:00:00", 6), 18);
  b.set(tip, 24);
  return b;
}
