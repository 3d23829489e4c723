/**
 * One tcpdump-style summary line per packet (the `tcpdump -nn` text for the common cases),
 * optionally with the `-e` link-level prefix, and a stable JSON form (`toJSON`).
 *
 * Everything printed that came from the packet is numbers, addresses or escaped text, so every
 * line is printable ASCII whatever the bytes were.
 *
 * @module
 */
import { DNS_TYPE_NAMES } from "./dns.ts";
import { ETHERTYPE_NAMES } from "./ethernet.ts";
import type { Timestamp } from "./pcap.ts";
import type {
  DecodedPacket,
  DnsSummary,
  IcmpMessage,
  Icmpv6Message,
  Ipv6Header,
  TcpHeader,
} from "./types.ts";
import { decode } from "./decode.ts";
import { hexdumpLines } from "./hexdump.ts";
import { formatTcpOptions } from "./tcp-options.ts";
import { espText, ntpText, vrrpText } from "./protocols.ts";
import type { LinkType } from "./types.ts";

/** Options of {@link format} and {@link Formatter}. */
export interface FormatOptions {
  /** Timestamp to print first (`HH:MM:SS.ffffff`); none when absent. */
  ts?: Timestamp | number;
  /** Print nanoseconds (9 digits) instead of microseconds. */
  nano?: boolean;
  /** Print the timestamp in local time instead of UTC. */
  localTime?: boolean;
  /** `-e`: print the Ethernet header (MACs, ethertype, frame length). */
  link?: boolean;
  /** Original (on-wire) length, if more than was captured (pcap `orig_len`). */
  originalLength?: number;
  /** tcpdump's -v count (0..3): the extra fields each level prints. */
  verbose?: number;
  /** The packet's bytes (what `pkt` was decoded from): printers that need more than the model use them. */
  bytes?: Uint8Array;
  /** Leave out the protocol words "IP ", "IP6 ", "ARP, " (tcpdump does under -e, after a link header). */
  bare?: boolean;
}

/**
 * Formats a timestamp as tcpdump does: `HH:MM:SS.uuuuuu` (UTC unless `local`).
 *
 * @example
 * ```ts
 * import { formatTimestamp } from "./format.ts";
 * formatTimestamp({ sec: 43200, nsec: 1000 }); // "12:00:00.000001"
 * ```
 */
export function formatTimestamp(ts: Timestamp | number, nano = false, local = false): string {
  const t = typeof ts === "number" ? { sec: Math.floor(ts / 1000), nsec: Math.round((ts % 1000) * 1e6) } : ts;
  const sec = Number.isFinite(t.sec) ? Math.floor(t.sec) : 0;
  const nsec = Number.isFinite(t.nsec) ? Math.min(Math.max(Math.floor(t.nsec), 0), 999_999_999) : 0;
  let h: number, m: number, s: number;
  const d = new Date(sec * 1000);
  if (local && !Number.isNaN(d.getTime())) {
    h = d.getHours();
    m = d.getMinutes();
    s = d.getSeconds();
  } else {
    const day = ((sec % 86400) + 86400) % 86400;
    h = Math.floor(day / 3600);
    m = Math.floor((day % 3600) / 60);
    s = day % 60;
  }
  const p2 = (n: number) => String(n).padStart(2, "0");
  const frac = nano ? String(nsec).padStart(9, "0") : String(Math.floor(nsec / 1000)).padStart(6, "0");
  return `${p2(h)}:${p2(m)}:${p2(s)}.${frac}`;
}

/**
 * Tracks TCP conversations to print relative sequence numbers, as tcpdump does without `-S`.
 * Bounded: forgets the oldest conversations past `max`.
 *
 * @example
 * ```ts
 * import { TcpSeqTracker } from "./format.ts";
 * const t = new TcpSeqTracker();
 * // new Formatter({ tracker: t }) prints "seq 1:7, ack 1" after the handshake
 * ```
 */
export class TcpSeqTracker {
  private map = new Map<string, { seq: number; ack: number }>();
  constructor(readonly max = 65536) {}

  /** Returns the relative [seq, ack, base used for SACK] for this segment (updates state). */
  relative(
    src: string,
    dst: string,
    t: TcpHeader,
  ): { seq: number; ack: number; sackBase: number } {
    let rev = false;
    if (t.srcPort > t.dstPort) rev = true;
    else if (t.srcPort === t.dstPort && compareAddr(src, dst) > 0) rev = true;
    const key = rev ? `${dst}|${src}|${t.dstPort}|${t.srcPort}` : `${src}|${dst}|${t.srcPort}|${t.dstPort}`;
    let th = this.map.get(key);
    let seq = t.seq;
    let ack = t.ack;
    if (!th || t.syn) {
      th = rev ? { ack: t.seq, seq: (t.ack - 1) >>> 0 } : { seq: t.seq, ack: (t.ack - 1) >>> 0 };
      this.map.delete(key);
      this.map.set(key, th);
      if (this.map.size > this.max) {
        const first = this.map.keys().next().value;
        if (first !== undefined) this.map.delete(first);
      }
    } else if (rev) {
      seq = (seq - th.ack) >>> 0;
      ack = (ack - th.seq) >>> 0;
    } else {
      seq = (seq - th.seq) >>> 0;
      ack = (ack - th.ack) >>> 0;
    }
    return { seq, ack, sackBase: rev ? th.seq : th.ack };
  }
}

function compareAddr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * A stateful formatter: holds the TCP tracker for relative sequence numbers (tcpdump's
 * default); with `absoluteSeq` it prints raw numbers (`-S`).
 *
 * @example
 * ```ts
 * import { Formatter } from "./format.ts";
 * import { decode } from "./decode.ts";
import { hexdumpLines } from "./hexdump.ts";
import { formatTcpOptions } from "./tcp-options.ts";
import { espText, ntpText, vrrpText } from "./protocols.ts";
 * const f = new Formatter();
 * // for (const rec of records) console.log(f.format(decode(rec.data, "raw"), { ts: { sec: rec.tsSec, nsec: rec.tsNsec } }));
 * ```
 */
export class Formatter {
  private tracker: TcpSeqTracker | undefined;
  constructor(readonly defaults: FormatOptions & { absoluteSeq?: boolean } = {}) {
    this.tracker = defaults.absoluteSeq ? undefined : new TcpSeqTracker();
  }
  /** One line for `pkt`. */
  format(pkt: DecodedPacket, opts: FormatOptions = {}): string {
    return formatWith(pkt, { ...this.defaults, ...opts }, this.tracker);
  }
}

/**
 * One tcpdump-style line for a decoded packet (stateless: absolute TCP sequence numbers, as
 * `tcpdump -S`). Use {@link Formatter} for tcpdump's relative numbers.
 *
 * @example
 * ```ts
 * import { format } from "./format.ts";
 * import { decode } from "./decode.ts";
import { hexdumpLines } from "./hexdump.ts";
import { formatTcpOptions } from "./tcp-options.ts";
import { espText, ntpText, vrrpText } from "./protocols.ts";
 * import { buildUdp } from "./build.ts";
 * const p = decode(buildUdp({ src: "10.1.1.1", dst: "10.1.1.2", srcPort: 53124, dstPort: 9, payload: 14 }), "raw");
 * format(p); // "IP 10.1.1.1.53124 > 10.1.1.2.9: UDP, length 14"
 * ```
 */
export function format(pkt: DecodedPacket, opts: FormatOptions = {}): string {
  return formatWith(pkt, opts, undefined);
}

/**
 * Decodes and formats in one call.
 *
 * @example
 * ```ts
 * import { formatPacket } from "./format.ts";
 * // formatPacket(bytes, "raw", { ts: Date.now() })
 * ```
 */
export function formatPacket(bytes: Uint8Array, linkType: LinkType, opts: FormatOptions = {}): string {
  return format(decode(bytes, linkType), opts);
}

function formatWith(pkt: DecodedPacket, o: FormatOptions, tracker: TcpSeqTracker | undefined): string {
  let s = o.ts !== undefined ? formatTimestamp(o.ts, o.nano, o.localTime) + " " : "";
  const wire = Math.max(o.originalLength ?? pkt.length, pkt.length);
  let l3Len = wire;
  let etherType = 0;
  const eth = pkt.ethernet;
  const link = o.link === true;
  let bare = link || o.bare === true;
  if (pkt.linkType === "raw" && link) {
    s += "ip: "; // tcpdump's raw_if_print under -e
    bare = true;
  }
  if (pkt.linkType === "ethernet") {
    if (!eth) return s + "[|ether]";
    l3Len = wire - eth.headerLength;
    etherType = eth.etherType;
    const known = etherType === 0x0800 || etherType === 0x86dd || etherType === 0x0806;
    if (link || !known) {
      s += `${eth.src} > ${eth.dst}, `;
      if (eth.vlans.length > 0) {
        const first = eth.vlans[0]!;
        s += `ethertype ${etherTypeName(first.tpid)} (0x${hex4(first.tpid)}), length ${wire}: `;
        for (let i = 0; i < eth.vlans.length; i++) {
          const t = eth.vlans[i]!;
          const inner = i + 1 < eth.vlans.length ? eth.vlans[i + 1]!.tpid : eth.etherType;
          s += `vlan ${t.id}, p ${t.pcp}${t.dei ? ", DEI" : ""}, ethertype ${etherTypeName(inner)} (0x${hex4(inner)}), `;
        }
      } else if (etherType < 0x0600) {
        s += `802.3, length ${wire}: `;
      } else {
        s += `ethertype ${etherTypeName(etherType)} (0x${hex4(etherType)}), length ${wire}: `;
      }
    }
    if (!known) return etherType < 0x0600 ? s + `LLC, length ${l3Len}` : s;
    if (etherType === 0x0806) {
      if (pkt.arp) return s + formatArp(pkt, bare, l3Len, o.verbose ?? 0, o.bytes);
      return s + " [|arp]";
    }
  } else {
    if (pkt.ipVersion === undefined) return s + "[|ip]";
    etherType = pkt.ipVersion === 4 ? 0x0800 : pkt.ipVersion === 6 ? 0x86dd : 0;
    if (etherType === 0) return s + `unknown ip ${pkt.ipVersion}`;
  }
  if (pkt.ipv4) {
    const ip = pkt.ipv4;
    const pre = bare ? "" : "IP ";
    if (ip.headerLength < 20) return s + pre + `bad-hlen ${ip.headerLength}`;
    if (ip.totalLength < ip.headerLength) return s + pre + `bad-len ${ip.totalLength}`;
    return s + pre + formatIpv4(pkt, tracker, o);
  }
  if (pkt.ipv6) return s + (bare ? "" : "IP6 ") + formatIpv6(pkt, tracker, o);
  if (etherType === 0x0800) return s + (bare ? "" : "IP ") + " [|ip]";
  return s + " [|ip6]";
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, "0");
}

function etherTypeName(t: number): string {
  return ETHERTYPE_NAMES[t] ?? "Unknown";
}

/** A Frame Relay (Q.922) address as tcpdump's q922_string: "DLCI n", or why not. */
function q922(text: string, len: number): string {
  const b = text.split(":").map((x) => parseInt(x, 16));
  if (len < 1 || b.length < 1) return "<Truncated>";
  if (b[0]! & 1) return "<Invalid DLCI>";
  if (len < 2) return "<Truncated>";
  let dlci = ((b[0]! & 0xfc) << 2) | ((b[1]! & 0xf0) >> 4);
  if (b[1]! & 1) return `DLCI ${dlci}`;
  let p = 2;
  if (len < 3) return "<Truncated>";
  if ((b[p]! & 1) === 0) {
    dlci = (dlci << 7) | (b[p]! >> 1);
    p++;
    if (len < 4) return "<Truncated>";
  }
  if ((b[p]! & 1) === 0) return "<Invalid DLCI>";
  return `DLCI ${((dlci << 6) | (b[p]! >> 2)) >>> 0}`;
}

const ARPHRD_NAMES: Readonly<Record<number, string>> = { 1: "Ethernet", 6: "TokenRing", 7: "ArcNet", 15: "FrameRelay", 23: "Strip", 24: "IEEE 1394", 19: "ATM", 32: "InfiniBand" };
const ARPOP_NAMES: Readonly<Record<number, string>> = { 1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply", 8: "Inverse Request", 9: "Inverse Reply", 10: "NACK Reply" };

/** ARP as tcpdump's arp_print (4.99): odd hardware/protocol kinds, InARP, unknown ops with a hex dump. */
function formatArp(pkt: DecodedPacket, link: boolean, len: number, verbose: number, bytes: Uint8Array | undefined): string {
  const a = pkt.arp!;
  let s = link ? "" : "ARP, ";
  const ipLike = a.protocolType === 0x0800 || a.protocolType === 0x1000;
  if (!ipLike || a.protocolLength !== 4 || a.hardwareLength === 0 || verbose > 0) {
    s += `${ARPHRD_NAMES[a.hardwareType] ?? `Unknown Hardware (${a.hardwareType})`} (len ${a.hardwareLength}), ` +
      `${ETHERTYPE_NAMES[a.protocolType] ?? `Unknown Protocol (0x${hex4(a.protocolType)})`} (len ${a.protocolLength})`;
    if (!verbose) return s + `, length ${len}`;
  }
  s += `${verbose ? ", " : ""}${ARPOP_NAMES[a.operation] ?? `Unknown (${a.operation})`} `;
  const hw = (v: string, n: number) => (n === 0 ? "<empty>" : a.hardwareType === 15 ? q922(v, n) : v);
  const ip = (v: string) => (!ipLike ? "<wrong proto type>" : a.protocolLength !== 4 ? "<wrong len>" : v);
  switch (a.operation) {
    case 1:
      s += `who-has ${ip(a.targetProtocol)}`;
      if (/[1-9a-f]/.test(a.targetHardware)) s += ` (${hw(a.targetHardware, a.hardwareLength)})`;
      s += ` tell ${ip(a.senderProtocol)}`;
      break;
    case 2:
      s += `${ip(a.senderProtocol)} is-at ${hw(a.senderHardware, a.hardwareLength)}`;
      break;
    case 3:
    case 8:
      s += `who-is ${hw(a.targetHardware, a.hardwareLength)} tell ${hw(a.senderHardware, a.hardwareLength)}`;
      break;
    case 4:
      s += `${hw(a.targetHardware, a.hardwareLength)} at ${ip(a.targetProtocol)}`;
      break;
    case 9:
      s += `${hw(a.senderHardware, a.hardwareLength)} at ${ip(a.senderProtocol)}`;
      break;
    default:
      // tcpdump dumps the captured ARP bytes and prints no length
      return s + (bytes ? "\n" + hexdumpLines(bytes, a.offset).join("\n") : "");
  }
  return s + `, length ${len}`;
}

function formatIpv4(pkt: DecodedPacket, tracker: TcpSeqTracker | undefined, o: FormatOptions): string {
  const ip = pkt.ipv4!;
  const l4Len = ip.totalLength - ip.headerLength;
  if (ip.fragmentOffset !== 0) return `${ip.src} > ${ip.dst}: ip-proto-${ip.protocol}`;
  return transportText(pkt, ip.src, ip.dst, ip.protocol, l4Len, "", tracker, o);
}

function ipv6Prefix(ip6: Ipv6Header): string {
  let s = "";
  for (const e of ip6.extensions) {
    if (e.name === "hop-by-hop") s += "HBH ";
    else if (e.name === "destination") s += "DSTOPT ";
    else if (e.name === "routing") {
      s += `srcrt (len=${e.length / 8 - 1}, type=${e.routingType}, segleft=${e.segmentsLeft}${
        e.addresses && e.addresses.length ? ", " + e.addresses.map((a, i) => `[${i}]${a}`).join(", ") : ""
      }) `;
    } else if (e.name === "fragment") {
      const fragLen = ip6.payloadLength - (e.offset + 8 - ip6.offset - 40);
      s += `frag (${e.fragmentOffset}|${fragLen}) `;
    }
  }
  return s;
}

function formatIpv6(pkt: DecodedPacket, tracker: TcpSeqTracker | undefined, o: FormatOptions): string {
  const ip6 = pkt.ipv6!;
  const pre = ipv6Prefix(ip6);
  const l4Len = ip6.payloadLength - (ip6.headerLength - 40);
  if (ip6.fragment && ip6.fragment.offset !== 0) return `${ip6.src} > ${ip6.dst}: ${pre.trimEnd()}`;
  return transportText(pkt, ip6.src, ip6.dst, ip6.protocol, l4Len, pre, tracker, o);
}

const TRUNC_NAMES: Readonly<Record<number, string>> = { 1: "icmp", 6: "tcp", 17: "udp", 58: "icmp6" };

function transportText(
  pkt: DecodedPacket,
  src: string,
  dst: string,
  proto: number,
  l4Len: number,
  pre: string,
  tracker: TcpSeqTracker | undefined,
  o: FormatOptions,
): string {
  // With IPv6 extension headers tcpdump prints "a > b: HBH sport > dport: ..."
  const ports = (sp: number, dp: number) =>
    pre === "" ? `${src}.${sp} > ${dst}.${dp}: ` : `${src} > ${dst}: ${pre}${sp} > ${dp}: `;
  if (pkt.tcp) return ports(pkt.tcp.srcPort, pkt.tcp.dstPort) + formatTcp(pkt, src, dst, tracker, o.bytes);
  if (pkt.udp) {
    const u = pkt.udp;
    const head = ports(u.srcPort, u.dstPort);
    if (u.length < 8) return head + `truncated-udplength ${u.length}`;
    if (u.length > l4Len) return head + `UDP, bad length ${u.length - 8} > ${l4Len - 8}`;
    if (pkt.dns) return head + formatDns(pkt.dns);
    if ((u.srcPort === 123 || u.dstPort === 123) && o.bytes && u.length > 8) return head + ntpText(o.bytes, u.offset + 8, u.payloadLength);
    return head + `UDP, length ${u.payloadLength}`;
  }
  const base = `${src} > ${dst}: ${pre}`;
  if (pkt.icmp) return base + formatIcmp(pkt.icmp);
  if (pkt.icmpv6) return base + formatIcmpv6(pkt.icmpv6);
  const tn = TRUNC_NAMES[proto];
  if (tn !== undefined && (pkt.truncated || pkt.malformed)) {
    if (pkt.ports) return ports(pkt.ports.srcPort, pkt.ports.dstPort) + ` [|${tn}]`;
    return base + ` [|${tn}]`;
  }
  if (proto === 59) return base + "no next header";
  const payloadAt = pkt.payload?.offset;
  if (o.bytes && payloadAt !== undefined && !pkt.truncated) {
    if (proto === 50) return base + espText(o.bytes, payloadAt, l4Len);
    if (proto === 112) return base + vrrpText(o.bytes, payloadAt, l4Len, pkt.ipv4?.ttl ?? pkt.ipv6?.hopLimit ?? 255);
  }
  return base + ` ip-proto-${proto} ${l4Len}`;
}

function formatTcp(pkt: DecodedPacket, src: string, dst: string, tracker: TcpSeqTracker | undefined, bytes?: Uint8Array): string {
  const t = pkt.tcp!;
  if (t.headerLength < 20) return ` tcp ${t.payloadLength} [bad hdr length ${t.headerLength} - too short, < 20]`;
  let flags = "";
  if (t.fin) flags += "F";
  if (t.syn) flags += "S";
  if (t.rst) flags += "R";
  if (t.psh) flags += "P";
  if (t.ackFlag) flags += ".";
  if (t.urg) flags += "U";
  if (t.ece) flags += "E";
  if (t.cwr) flags += "W";
  if (flags === "") flags = "none";
  let s = `Flags [${flags}]`;
  let seq = t.seq;
  let ack = t.ack;
  let sackBase = 0;
  if (tracker && t.ackFlag) {
    const r = tracker.relative(src, dst, t);
    seq = r.seq;
    ack = r.ack;
    sackBase = r.sackBase;
  }
  const segLen = (pkt.ipv4 ? pkt.ipv4.totalLength - pkt.ipv4.headerLength : pkt.ipv6!.payloadLength - (pkt.ipv6!.headerLength - 40));
  if (t.headerLength > segLen) return s + `, [bad hdr length ${t.headerLength} - too long, > ${segLen}]`;
  const len = t.payloadLength;
  if (len > 0 || t.syn || t.fin || t.rst) {
    s += `, seq ${seq}`;
    if (len > 0) s += `:${(seq + len) >>> 0}`;
  }
  if (t.ackFlag) s += `, ack ${ack}`;
  s += `, win ${t.window}`;
  if (t.urg) s += `, urg ${t.urgentPointer}`;
  if (t.headerLength > 20 && bytes) {
    const r = formatTcpOptions(bytes, t.offset + 20, t.headerLength - 20, bytes.length, t.flags, sackBase);
    s += r.text;
    if (r.end !== "ok") return s;
  } else if (t.headerLength > 20) {
    const opts: string[] = [];
    let end = "]";
    for (const o of t.options) {
      if (o.truncated) {
        opts.push(`${TCP_OPT_NAMES[o.type] ?? `unknown-${o.type}`} [|tcp]>`);
        end = "";
        break;
      }
      switch (o.name) {
        case "mss":
        case "wscale":
          opts.push(o.value !== undefined ? `${o.name} ${o.value}` : `${o.name}[len ${o.length}]`);
          break;
        case "timestamp":
          opts.push(o.tsval !== undefined ? `TS val ${o.tsval} ecr ${o.tsecr}` : `TS[len ${o.length}]`);
          break;
        case "sack":
          if (o.blocks) {
            opts.push(`sack ${o.blocks.length} ` + o.blocks.map(([l, r]) => `{${(l - sackBase) >>> 0}:${(r - sackBase) >>> 0}}`).join(""));
          } else opts.push("sackmalformed sack");
          break;
        case "sackOK":
        case "nop":
        case "eol":
          opts.push(o.name + (o.length !== (o.name === "sackOK" ? 2 : 1) ? `[len ${o.length}]` : ""));
          break;
        case "bad":
          opts.push("[bad opt]");
          end = "";
          break;
        default:
          opts.push(`unknown-${o.type}${o.data ? " 0x" + o.data : ""}`);
      }
      if (end === "") break;
    }
    if (end !== "" && t.optionsTruncated) {
      opts.push(" [|tcp]>");
      end = "";
    }
    s += `, options [${opts.join(",")}${end}`;
    if (end === "") return s;
  }
  s += `, length ${len}`;
  if (pkt.dns && len > 2) s += ` ${formatDns(pkt.dns)}`;
  else if (pkt.app) s += `: ${pkt.app.protocol}${pkt.app.firstLine !== undefined ? `: ${pkt.app.firstLine}` : ""}`;
  else if (len > 0 && (t.srcPort === 179 || t.dstPort === 179)) s += ": BGP";
  return s;
}

const TCP_OPT_NAMES: Readonly<Record<number, string>> = {
  0: "eol",
  1: "nop",
  2: "mss",
  3: "wscale",
  4: "sackOK",
  5: "sack",
  6: "echo",
  7: "echoreply",
  8: "TS",
  19: "md5",
  28: "uto",
  29: "tcp-ao",
  30: "mptcp",
  34: "tfo",
  254: "exp",
};

function formatIcmp(m: IcmpMessage): string {
  if (m.truncated) return " [|icmp]";
  let body: string;
  const q = m.quoted;
  const qdst = q?.ipv4?.dst;
  switch (m.type) {
    case 0:
    case 8:
      body = m.seq !== undefined ? `echo ${m.type === 8 ? "request" : "reply"}, id ${m.id}, seq ${m.seq}` : "[|icmp]";
      break;
    case 3: {
      if (!qdst) {
        body = "[|icmp]";
        break;
      }
      switch (m.code) {
        case 2:
          body = `${qdst} protocol ${q!.protocol} unreachable`;
          break;
        case 3:
          if (q!.dstPort === undefined) body = `${qdst} [|icmp]`;
          else if (q!.protocol === 6) body = `${qdst} tcp port ${q!.dstPort} unreachable`;
          else if (q!.protocol === 17) body = `${qdst} udp port ${q!.dstPort} unreachable`;
          else body = `${qdst} protocol ${q!.protocol} port ${q!.dstPort} unreachable`;
          break;
        case 4:
          body = m.mtu ? `${qdst} unreachable - need to frag (mtu ${m.mtu})` : `${qdst} unreachable - need to frag`;
          break;
        default:
          body = (UNREACH[m.code] ?? `#${m.code} %s unreachable`).replace("%s", qdst);
      }
      break;
    }
    case 4:
      body = "source quench";
      break;
    case 5:
      body = qdst
        ? (REDIRECT[m.code] ?? `redirect-#${m.code} %s to %s`).replace("%s", qdst).replace("%s", m.gateway ?? "")
        : "[|icmp]";
      break;
    case 9:
      body = "router advertisement";
      break;
    case 10:
      body = "router solicitation";
      break;
    case 11:
      body = m.code === 0 ? "time exceeded in-transit" : m.code === 1 ? "ip reassembly time exceeded" : `time exceeded-#${m.code}`;
      break;
    case 12:
      body = m.code ? `parameter problem - code ${m.code}` : `parameter problem - octet ${m.pointer}`;
      break;
    case 13:
      body = m.seq !== undefined ? `time stamp query id ${m.id} seq ${m.seq}` : "[|icmp]";
      break;
    case 14:
      body = m.timestamps ? `time stamp reply id ${m.id} seq ${m.seq}` : "[|icmp]";
      break;
    case 15:
      body = "information request";
      break;
    case 16:
      body = "information reply";
      break;
    case 17:
      body = "address mask request";
      break;
    case 18:
      body = m.mask !== undefined ? `address mask is 0x${m.mask.toString(16).padStart(8, "0")}` : "[|icmp]";
      break;
    default:
      body = `type-#${m.type}`;
  }
  return `ICMP ${body}, length ${m.length}`;
}

const UNREACH: Readonly<Record<number, string>> = {
  0: "net %s unreachable",
  1: "host %s unreachable",
  5: "%s unreachable - source route failed",
  6: "net %s unreachable - unknown",
  7: "host %s unreachable - unknown",
  8: "%s unreachable - source host isolated",
  9: "net %s unreachable - admin prohibited",
  10: "host %s unreachable - admin prohibited",
  11: "net %s unreachable - tos prohibited",
  12: "host %s unreachable - tos prohibited",
  13: "host %s unreachable - admin prohibited filter",
  14: "host %s unreachable - host precedence violation",
  15: "host %s unreachable - precedence cutoff",
};

const REDIRECT: Readonly<Record<number, string>> = {
  0: "redirect %s to net %s",
  1: "redirect %s to host %s",
  2: "redirect-tos %s to net %s",
  3: "redirect-tos %s to host %s",
};

const ICMP6_TYPES: Readonly<Record<number, string>> = {
  1: "destination unreachable",
  2: "packet too big",
  200: "mtrace response",
  201: "mtrace message",
  3: "time exceeded in-transit",
  4: "parameter problem",
  128: "echo request",
  129: "echo reply",
  130: "multicast listener query",
  131: "multicast listener report",
  132: "multicast listener done",
  133: "router solicitation",
  134: "router advertisement",
  135: "neighbor solicitation",
  136: "neighbor advertisement",
  137: "redirect",
  138: "router renumbering",
  141: "inverse neighbor solicitation",
  142: "inverse neighbor advertisement",
  143: "multicast listener report v2",
  139: "node information query",
  140: "node information reply",
};

const ICMP6_UNREACH: Readonly<Record<number, string>> = {
  0: "unreachable route",
  1: " unreachable prohibited",
  2: "beyond scope",
  3: "unreachable address",
  4: "unreachable port",
};

function formatIcmpv6(m: Icmpv6Message): string {
  let s = `ICMP6, ${ICMP6_TYPES[m.type] ?? `unknown icmp6 type (${m.type})`}`;
  if (m.truncated) return s + " [|icmp6]";
  const q = m.quoted;
  const qdst = q?.ipv6?.dst;
  switch (m.type) {
    case 1:
      s += `, ${ICMP6_UNREACH[m.code] ?? `unknown unreach code (${m.code})`}`;
      if (!qdst) return s + " [|icmp6]";
      if (m.code === 0 || m.code === 1 || m.code === 3) s += ` ${qdst}`;
      else if (m.code === 2) s += ` ${qdst}, source address ${q!.ipv6!.src}`;
      else if (m.code === 4) {
        if (q!.dstPort === undefined) return s + " [|icmp6]";
        if (q!.protocol === 6) s += `, ${qdst} tcp port ${q!.dstPort}`;
        else if (q!.protocol === 17) s += `, ${qdst} udp port ${q!.dstPort}`;
        else s += `, ${qdst} protocol ${q!.protocol} port ${q!.dstPort} unreachable`;
      } else return s + `, length ${m.length}`;
      break;
    case 2:
      if (m.mtu === undefined) return s + " [|icmp6]";
      s += `, mtu ${m.mtu}`;
      break;
    case 3:
      if (!qdst) return s + " [|icmp6]";
      if (m.code === 0) s += ` for ${qdst}`;
      else if (m.code === 1) s += " (reassembly)";
      else s += `, unknown code (${m.code})`;
      break;
    case 4:
      if (!qdst) return s + " [|icmp6]";
      if (m.code === 0) s += `, erroneous - octet ${m.pointer}`;
      else if (m.code === 1) s += `, next header - octet ${m.pointer}`;
      else if (m.code === 2) s += `, option - octet ${m.pointer}`;
      else s += `, code-#${m.code}`;
      break;
    case 128:
    case 129:
      if (m.seq === undefined) return s + " [|icmp6]";
      s += `, id ${m.id}, seq ${m.seq}`;
      break;
    case 135:
      if (!m.target) return s + " [|icmp6]";
      s += `, who has ${m.target}`;
      break;
    case 136:
      if (!m.target) return s + " [|icmp6]";
      s += `, tgt is ${m.target}`;
      break;
    case 137:
      if (!m.target) return s + " [|icmp6]";
      s += `, ${m.destination} to ${m.target}`;
      break;
    case 130:
    case 131:
    case 132:
      if (!m.mld) return s + " [|icmp6]";
      s += `max resp delay: ${m.mld.maxResponseDelay} addr: ${m.mld.address}`;
      break;
    case 143:
      if (m.groupRecords === undefined) return s + " [|icmp6]";
      s += `, ${m.groupRecords} group record(s)`;
      break;
    case 133:
    case 134:
      break;
    default:
      if (ICMP6_TYPES[m.type] === undefined) return s + `, length ${m.length}`;
  }
  return s + `, length ${m.length}`;
}

const OPCODES = ["", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8", " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit", " zoneRef"];
const RCODES = ["", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain", " YXRRSet", " NXRRSet", " NotAuth", " NotZone", " Resp11", " Resp12", " Resp13", " Resp14", " NoChange"];

function typeName(t: number): string {
  return DNS_TYPE_NAMES[t] ?? `Type${t}`;
}

function formatDns(d: DnsSummary): string {
  let s: string;
  if (d.response) {
    s = `${d.id}${OPCODES[d.opcode]}${RCODES[d.rcode]}${d.flags.aa ? "*" : ""}${d.flags.ra ? "" : "-"}${d.flags.tc ? "|" : ""}${d.flags.ad ? "$" : ""}`;
    if (d.questionCount !== 1) s += ` [${d.questionCount}q]`;
    s += ` ${d.answerCount}/${d.authorityCount}/${d.additionalCount}`;
    const recs: string[] = [];
    for (const a of d.answers) {
      let r = ` ${typeName(a.type)}`;
      if (a.class !== 1) r = ` ${classText(a.class)}` + r;
      if (a.data !== undefined) r += ` ${a.data}`;
      recs.push(r);
    }
    s += recs.join(",");
  } else {
    s = `${d.id}${OPCODES[d.opcode]}${d.flags.rd ? "+" : ""}${d.flags.cd ? "%" : ""}`;
    const b2 = (d.flags.aa ? 0x400 : 0) | (d.flags.tc ? 0x200 : 0) | (d.flags.ra ? 0x80 : 0) | (d.flags.z ? 0x40 : 0) |
      (d.flags.ad ? 0x20 : 0) | d.rcode;
    if (b2 & 0x6cf) s += ` [b2&3=0x${b2.toString(16)}]`;
    if (d.questionCount !== 1) s += ` [${d.questionCount}q]`;
    if (d.answerCount) s += ` [${d.answerCount}a]`;
    if (d.authorityCount) s += ` [${d.authorityCount}n]`;
    if (d.additionalCount) s += ` [${d.additionalCount}au]`;
    if (d.question) {
      const cls = d.question.class === 1 ? "" : ` ${classText(d.question.class)}`;
      s += `${cls} ${typeName(d.question.type)}? ${d.question.name}`;
    }
  }
  if (d.truncated) return s + " [|domain]";
  return s + ` (${d.length})`;
}

function classText(c: number): string {
  if (c === 3) return "CHAOS";
  if (c === 4) return "HS";
  if (c === 255) return "ANY";
  if (c === 1) return "IN";
  return `CLASS${c}`;
}

/**
 * A stable JSON-ready object for a decoded packet (the decoded model is already plain data;
 * this fixes the key order and drops nothing). `JSON.stringify(toJSON(p))` is one line.
 *
 * @example
 * ```ts
 * import { toJSON } from "./format.ts";
 * import { decode } from "./decode.ts";
import { hexdumpLines } from "./hexdump.ts";
import { formatTcpOptions } from "./tcp-options.ts";
import { espText, ntpText, vrrpText } from "./protocols.ts";
 * // JSON.stringify(toJSON(decode(bytes, "raw")))
 * ```
 */
export function toJSON(pkt: DecodedPacket): Record<string, unknown> {
  const order = ["linkType", "length", "ipVersion", "ethernet", "arp", "ipv4", "ipv6", "icmp", "icmpv6", "tcp", "udp", "ports", "dns", "app", "payload", "truncated", "truncatedLayer", "malformed"] as const;
  const out: Record<string, unknown> = {};
  for (const k of order) {
    const v = pkt[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
