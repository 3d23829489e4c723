/**
 * The "system stack" packet rewrite (sing-tun style). A client's TCP segment read from the tun,
 * `S:sp -> D:dp`, is rewritten in place to `F:id -> T:L` (F a fake peer address routed into the
 * tun, `id` the flow's NAT port, T the tun's own address, L tunkit's local listener) and written
 * back: the kernel's own TCP terminates the connection on tunkit's listener. The listener's
 * segments `T:L -> F:id` come out of the tun and are rewritten back to `D:dp -> S:sp`. Only
 * addresses and ports change, checksums are updated incrementally (RFC 1624): no allocation,
 * and kernel TCP keeps windows, retransmission and congestion control.
 *
 * Pure: bytes in, verdicts out. Also builds the TCP RST and ICMP unreachable replies.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { checksumAdjust16, checksumAdjustBytes, readChecksum, writeChecksum } from "../packet/checksum.ts";
import { buildIcmp, buildTcp } from "../packet/build.ts";
import { formatIpv4, formatIpv6 } from "../common/addr.ts";
import { FLOW, FlowTable } from "./nat.ts";

/** What {@link TcpRedirect.process} decided about a packet. */
export const VERDICT = {
  /** Drop it (malformed, a fragment, a retransmitted SYN while the proxy is dialled, a stray reply). */
  DROP: 0,
  /** Rewritten in place: write it back into the tun. */
  WRITE: 1,
  /** A new flow's SYN, rewritten in place; the flow is `lastId` in state CONNECTING: dial, then write it. */
  NEW: 2,
  /** A segment of no known flow (or the table is full): answer with {@link tcpResetFor}. */
  RESET: 3,
  /** A UDP datagram (not handled here). */
  UDP: 4,
  /** Another protocol (ICMP, …), not handled here. */
  OTHER: 5,
} as const;

/** The addresses of the rewrite, per family present. */
export interface RedirectAddresses {
  /** The tun's own IPv4 address (T), where the listener is bound. */
  tun4?: Uint8Array;
  /** Fake IPv4 peer (F), routed into the tun, not local. */
  fake4?: Uint8Array;
  /** The tun's own IPv6 address, where the listener is bound. */
  tun6?: Uint8Array;
  /** Fake IPv6 peer, routed into the tun, not local. */
  fake6?: Uint8Array;
}

/** Bits of {@link TcpRedirect.seen}: what of a flow's connection crossed the tun. */
export const SEEN = {
  /** The listener's SYN-ACK: {@link TcpRedirect.sndNxt} is valid. */
  SYN: 1,
  /**
   * Its end, as far as the client is told: the listener's FIN (retransmitted until acknowledged)
   * or the client's RST. Not the listener's RST: that is sent once, and it may still be lost
   * after it crossed (the tun's write lands in a full backlog).
   */
  END: 2,
} as const;

const TCP_FIN = 0x01;
const TCP_SYN = 0x02;
const TCP_RST = 0x04;
const TCP_ACK = 0x10;

/**
 * Where a packet's parts are, for the IP versions and transports tunkit handles. Returns false
 * (and leaves `out` alone) for what it does not handle.
 */
export interface PacketView {
  /** IP version. */
  version: 4 | 6;
  /** Transport protocol number (6 TCP, 17 UDP). */
  proto: number;
  /** Offset of the transport header. */
  l4: number;
  /** End of the IP packet (from its own length field, never past `len`). */
  end: number;
  /** Offset of the source address. */
  srcOff: number;
  /** Offset of the destination address. */
  dstOff: number;
  /** A fragment (not handled: dropped). */
  fragment: boolean;
}

/**
 * Parses the IP header at the start of `b` (`len` bytes) into `out`. Returns false when the
 * packet is malformed or truncated. IPv6 extension headers are not walked: `proto` is then the
 * first next-header value.
 *
 * @example
 * ```ts
 * import { viewPacket, type PacketView } from "./tcp-redirect.ts";
 * import { buildUdp } from "../packet/build.ts";
 * const v = {} as PacketView;
 * const p = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 53 });
 * viewPacket(p, p.length, v); // true
 * v.proto; // 17
 * v.l4; // 20
 * ```
 */
export function viewPacket(b: Uint8Array, len: number, out: PacketView): boolean {
  if (len < 1) return false;
  const v = b[0]! >> 4;
  if (v === 4) {
    if (len < 20) return false;
    const ihl = (b[0]! & 15) * 4;
    const total = (b[2]! << 8) | b[3]!;
    if (ihl < 20 || total < ihl || total > len) return false;
    out.version = 4;
    out.proto = b[9]!;
    out.l4 = ihl;
    out.end = total;
    out.srcOff = 12;
    out.dstOff = 16;
    out.fragment = (((b[6]! & 0x3f) << 8) | b[7]!) !== 0;
    return true;
  }
  if (v === 6) {
    if (len < 40) return false;
    const plen = (b[4]! << 8) | b[5]!;
    if (40 + plen > len) return false;
    out.version = 6;
    out.proto = b[6]!;
    out.l4 = 40;
    out.end = 40 + plen;
    out.srcOff = 8;
    out.dstOff = 24;
    out.fragment = out.proto === 44;
    return true;
  }
  return false;
}

/**
 * Formats the address at `off` (4 or 16 bytes as `version` says).
 *
 * @example
 * ```ts
 * import { formatAddrAt } from "./tcp-redirect.ts";
 * formatAddrAt(new Uint8Array([192, 0, 2, 1]), 0, 4); // "192.0.2.1"
 * ```
 */
export function formatAddrAt(b: Uint8Array, off: number, version: 4 | 6): string {
  return version === 4 ? formatIpv4(b, off) : formatIpv6(b, off);
}

function equalAt(a: Uint8Array, aOff: number, b: Uint8Array, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[aOff + i] !== b[i]) return false;
  return true;
}

/**
 * Rewrites addresses and ports of the TCP or UDP packet described by `v` in place, with
 * incremental checksum updates (IPv4 header, transport). `newSrc`/`newDst` hold 4 or 16 bytes
 * from `srcOff`/`dstOff`. `scratch` is a caller-owned 32-byte buffer.
 *
 * @example
 * ```ts
 * import { rewriteInPlace, viewPacket, type PacketView } from "./tcp-redirect.ts";
 * import { buildTcp } from "../packet/build.ts";
 * const p = buildTcp({ src: "192.0.2.1", dst: "198.51.100.7", srcPort: 40000, dstPort: 80 });
 * const v = {} as PacketView; viewPacket(p, p.length, v);
 * rewriteInPlace(p, v, new Uint8Array([198, 18, 0, 2]), 0, 10000, new Uint8Array([198, 18, 0, 1]), 0, 1234, new Uint8Array(32));
 * ```
 *
 * `partial`: the transport checksum is a partial one (vnet_hdr VIRTIO_NET_HDR_F_NEEDS_CSUM),
 * i.e. the uncomplemented pseudo-header sum: only the address change is folded into it.
 */
export function rewriteInPlace(
  b: Uint8Array,
  v: PacketView,
  newSrc: Uint8Array,
  newSrcOff: number,
  newSport: number,
  newDst: Uint8Array,
  newDstOff: number,
  newDport: number,
  scratch: Uint8Array,
  partial = false,
): void {
  const n = v.version === 4 ? 4 : 16;
  for (let i = 0; i < n; i++) {
    scratch[i] = newSrc[newSrcOff + i]!;
    scratch[n + i] = newDst[newDstOff + i]!;
  }
  const a = v.srcOff; // src and dst are contiguous in both versions
  const l4 = v.l4;
  const oldSport = (b[l4]! << 8) | b[l4 + 1]!;
  const oldDport = (b[l4 + 2]! << 8) | b[l4 + 3]!;
  if (v.version === 4) writeChecksum(b, 10, checksumAdjustBytes(readChecksum(b, 10), b, a, scratch, 0, 8));
  const csOff = v.proto === 6 ? l4 + 16 : l4 + 6;
  let cs = readChecksum(b, csOff);
  if (partial) {
    // CHECKSUM_PARTIAL (vnet_hdr NEEDS_CSUM): the field holds the folded pseudo-header sum, not
    // yet complemented; whoever completes it sums the header (ports included) and the data.
    // Only the addresses of the pseudo header change it.
    writeChecksum(b, csOff, ~checksumAdjustBytes(~cs & 0xffff, b, a, scratch, 0, 2 * n) & 0xffff);
  } else if (!(v.proto === 17 && v.version === 4 && cs === 0)) {
    // A UDP-over-IPv4 checksum of 0 means "none": keep it that way.
    cs = checksumAdjustBytes(cs, b, a, scratch, 0, 2 * n);
    cs = checksumAdjust16(cs, oldSport, newSport);
    cs = checksumAdjust16(cs, oldDport, newDport);
    if (v.proto === 17 && cs === 0) cs = 0xffff;
    writeChecksum(b, csOff, cs);
  }
  for (let i = 0; i < 2 * n; i++) b[a + i] = scratch[i]!;
  b[l4] = newSport >> 8;
  b[l4 + 1] = newSport & 0xff;
  b[l4 + 2] = newDport >> 8;
  b[l4 + 3] = newDport & 0xff;
}

/**
 * The system-stack TCP rewrite with its NAT table.
 *
 * @example
 * ```ts
 * import { TcpRedirect, VERDICT } from "./tcp-redirect.ts";
 * const r = new TcpRedirect({ tun4: new Uint8Array([198, 18, 0, 1]), fake4: new Uint8Array([198, 18, 0, 2]) }, { port4: 4321 });
 * // const verdict = r.process(buf, len, Date.now());
 * // if (verdict === VERDICT.WRITE) tun.write(buf, 0, r.view.end);
 * ```
 */
export class TcpRedirect {
  /** The NAT: one id per flow. */
  readonly table: FlowTable;
  /** The tun and fake addresses per family. */
  readonly addrs: RedirectAddresses;
  /**
   * Listener ports for IPv4 / IPv6 (empty: family not redirected). A flow's NAT identity is its
   * id (the fake peer's port) and one of these listeners ({@link listener}): an id whose
   * connection ended in TIME_WAIT on one listener ({@link coolDown}) is reused with another at
   * once, so the NAT does not cap sustained new connections at ids / TIME_WAIT.
   */
  ports4: number[] = [];
  /** Listener ports for IPv6. */
  ports6: number[] = [];
  /** Per id: the index of its listener. */
  readonly listener = new Uint8Array(65536);
  /** Per (id, listener): until when (ms) that pair must not be reused (TIME_WAIT on our side). */
  private cool = new Float64Array(0);
  /** Port -> 1 + listener index, for the listener side's check. */
  private readonly byPort = new Uint8Array(65536);
  /**
   * Per id: the listener's next sequence number toward the client (the end of the furthest
   * segment that crossed, SYN and FIN counted), valid once {@link seen} has SEEN.SYN. A RST
   * with it is one the client takes (RFC 5961: exactly its next expected byte resets; one
   * inside its window draws a challenge ACK, which the kernel answers with the exact RST).
   */
  readonly sndNxt = new Uint32Array(65536);
  /** Per id: {@link SEEN} bits, cleared when the id is given to a new flow. */
  readonly seen = new Uint8Array(65536);
  /** The last packet's layout (valid after {@link process} returned anything but DROP). */
  readonly view: PacketView = { version: 4, proto: 0, l4: 0, end: 0, srcOff: 0, dstOff: 0, fragment: false };
  /** The flow of the last WRITE/NEW verdict. */
  lastId: number = -1;
  /** Counters: fragments and malformed packets dropped. */
  dropped = 0;
  private readonly scratch = new Uint8Array(32);

  /**
   * A redirect for the families `addrs` gives.
   *
   * @param addrs Tun and fake addresses, in pairs per family.
   * @param opts Listener ports per family and the flow table.
   * @throws {UsageError} When a family has one address of the pair only.
   */
  constructor(addrs: RedirectAddresses, opts: { port4?: number | number[]; port6?: number | number[]; table?: FlowTable } = {}) {
    if (!!addrs.tun4 !== !!addrs.fake4 || !!addrs.tun6 !== !!addrs.fake6) {
      throw new UsageError("Invalid redirect addresses: tun and fake address go in pairs per family");
    }
    this.addrs = addrs;
    const list = (p: number | number[] | undefined) => (p === undefined ? [] : Array.isArray(p) ? p : p ? [p] : []);
    this.setPorts(list(opts.port4), list(opts.port6));
    // Ports below 10000 stay free for whatever the kernel may want on the fake peer.
    this.table = opts.table ?? new FlowTable(10000, 65535);
  }

  /** The first listener port per family (0: none). */
  get port4(): number {
    return this.ports4[0] ?? 0;
  }
  /** The first IPv6 listener port (0: none). */
  get port6(): number {
    return this.ports6[0] ?? 0;
  }

  /** Sets the listener ports (at most 255 per family; the same count for both when both are set). */
  setPorts(v4: number[], v6: number[]): void {
    if (v4.length > 255 || v6.length > 255) throw new UsageError("Invalid listener count: at most 255 per family");
    this.byPort.fill(0);
    v4.forEach((p, i) => (this.byPort[p] = i + 1));
    v6.forEach((p, i) => (this.byPort[p] = i + 1));
    this.ports4 = v4;
    this.ports6 = v6;
    const m = Math.max(v4.length, v6.length, 1);
    if (this.cool.length !== 65536 * m) this.cool = new Float64Array(65536 * m);
  }

  /** Marks flow `id` as having closed actively on our side: its (id, listener) pair sits out TIME_WAIT (`ms`). */
  coolDown(id: number, now: number, ms = 60_000): void {
    const m = this.cool.length >>> 16;
    this.cool[id * m + this.listener[id]!] = now + ms;
  }

  /** A listener of `count` for `id` whose TIME_WAIT is over, or -1. */
  private pickListener(id: number, count: number, now: number): number {
    const m = this.cool.length >>> 16;
    const start = id % count; // spread ids over the listeners
    for (let k = 0; k < count; k++) {
      const j = (start + k) % count;
      if (this.cool[id * m + j]! <= now) return j;
    }
    return -1;
  }

  /**
   * Classifies and, for TCP, rewrites the packet in `b[0..len)` in place. See {@link VERDICT}.
   * `now` stamps new flows. `partial`: its transport checksum is partial (vnet_hdr NEEDS_CSUM).
   */
  process(b: Uint8Array, len: number, now: number, partial = false): number {
    const v = this.view;
    if (!viewPacket(b, len, v)) {
      this.dropped++;
      return VERDICT.DROP;
    }
    if (v.proto === 17) return v.fragment ? (this.dropped++, VERDICT.DROP) : VERDICT.UDP;
    if (v.proto !== 6) return VERDICT.OTHER;
    if (v.fragment || v.end - v.l4 < 20) {
      this.dropped++;
      return VERDICT.DROP;
    }
    const four = v.version === 4;
    const tun = four ? this.addrs.tun4 : this.addrs.tun6;
    const fake = four ? this.addrs.fake4 : this.addrs.fake6;
    const ports = four ? this.ports4 : this.ports6;
    if (!tun || !fake || ports.length === 0) return VERDICT.OTHER;
    const n = four ? 4 : 16;
    const l4 = v.l4;
    const sport = (b[l4]! << 8) | b[l4 + 1]!;
    const dport = (b[l4 + 2]! << 8) | b[l4 + 3]!;
    const flags = b[l4 + 13]!;
    const t = this.table;
    // The listener's side: T:L -> F:id goes back to the client as D:dp -> S:sp.
    const li = this.byPort[sport]!;
    if (li !== 0 && ports[li - 1] === sport && equalAt(b, v.dstOff, fake, n) && equalAt(b, v.srcOff, tun, n)) {
      const id = dport;
      const st = t.state[id]!;
      if (t.family[id] !== v.version || st === FLOW.FREE || st === FLOW.CONNECTING || this.listener[id] !== li - 1) return VERDICT.DROP;
      // Where the listener's side is: a RST of ours (Tunnel's sweep) needs its sequence number.
      const seq = ((b[l4 + 4]! << 24) | (b[l4 + 5]! << 16) | (b[l4 + 6]! << 8) | b[l4 + 7]!) >>> 0;
      const nxt = (seq + v.end - l4 - (b[l4 + 12]! >> 4) * 4 + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0)) >>> 0;
      if (flags & TCP_SYN) {
        this.sndNxt[id] = nxt;
        this.seen[id] = this.seen[id]! | SEEN.SYN;
      } else if (((nxt - this.sndNxt[id]!) | 0) > 0) this.sndNxt[id] = nxt; // not a retransmission of older bytes
      if (flags & TCP_FIN) this.seen[id] = this.seen[id]! | SEEN.END;
      rewriteInPlace(b, v, t.dst, id * 16, t.dport[id]!, t.src, id * 16, t.sport[id]!, this.scratch, partial);
      this.lastId = id;
      return VERDICT.WRITE;
    }
    // The client's side.
    const syn = (flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN;
    let id = t.lookup(v.version, b, v.srcOff, v.dstOff, sport, dport);
    let verdict: number = VERDICT.WRITE;
    if (id >= 0) {
      const st = t.state[id]!;
      if (st === FLOW.CONNECTING) return VERDICT.DROP; // a retransmitted SYN while the proxy is dialled
      if (flags & TCP_RST) this.seen[id] = this.seen[id]! | SEEN.END;
      if (st === FLOW.CLOSED && syn) {
        // The client reuses a finished 4-tuple: a new flow under a new NAT port, so the new SYN
        // never meets the old connection's TIME_WAIT.
        t.remove(id);
        id = -1;
      }
    }
    if (id < 0) {
      if (!syn) return flags & TCP_RST ? VERDICT.DROP : VERDICT.RESET;
      // A free id, with a listener whose (id, listener) pair is out of TIME_WAIT; ids come round
      // robin, so a few tries find one unless every pair is cooling.
      for (let tries = 0; tries < 8; tries++) {
        id = t.insert(v.version, b, v.srcOff, v.dstOff, sport, dport, now);
        if (id < 0) return VERDICT.RESET;
        const j = this.pickListener(id, ports.length, now);
        if (j >= 0) {
          this.listener[id] = j;
          break;
        }
        t.remove(id);
        id = -1;
      }
      if (id < 0) return VERDICT.RESET;
      this.seen[id] = 0;
      verdict = VERDICT.NEW;
    }
    rewriteInPlace(b, v, fake, 0, id, tun, 0, ports[this.listener[id]!]!, this.scratch, partial);
    this.lastId = id;
    return verdict;
  }
}

/**
 * The TCP RST that answers segment `b` (RFC 9293 section 3.10.7.1): with ACK, sequence =
 * its ACK; without, ACK = its sequence + length. Undefined for a RST or what is not TCP.
 *
 * @example
 * ```ts
 * import { tcpResetFor } from "./tcp-redirect.ts";
 * import { buildTcp } from "../packet/build.ts";
 * const syn = buildTcp({ src: "192.0.2.1", dst: "198.51.100.7", srcPort: 40000, dstPort: 80, seq: 99, flags: "S" });
 * tcpResetFor(syn, syn.length); // RST+ACK 198.51.100.7:80 -> 192.0.2.1:40000, ack 100
 * ```
 */
export function tcpResetFor(b: Uint8Array, len: number): Uint8Array | undefined {
  const v = {} as PacketView;
  if (!viewPacket(b, len, v) || v.proto !== 6 || v.end - v.l4 < 20) return undefined;
  const l4 = v.l4;
  const flags = b[l4 + 13]!;
  if (flags & TCP_RST) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, len);
  const seq = dv.getUint32(l4 + 4);
  const ack = dv.getUint32(l4 + 8);
  const hl = (b[l4 + 12]! >> 4) * 4;
  const segLen = v.end - l4 - hl + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
  const src = formatAddrAt(b, v.dstOff, v.version);
  const dst = formatAddrAt(b, v.srcOff, v.version);
  const srcPort = (b[l4 + 2]! << 8) | b[l4 + 3]!;
  const dstPort = (b[l4]! << 8) | b[l4 + 1]!;
  if (flags & TCP_ACK) return buildTcp({ src, dst, srcPort, dstPort, seq: ack, flags: "R", window: 0 });
  return buildTcp({ src, dst, srcPort, dstPort, seq: 0, ack: (seq + segLen) >>> 0, flags: "R.", window: 0 });
}

/**
 * An ICMP / ICMPv6 destination-unreachable error about packet `b`, from its destination to its
 * source, quoting as much of it as fits in 576 (IPv4) / 1280 (IPv6) bytes. `reason`:
 * "prohibited" (IPv4 code 13, IPv6 code 1: the HTTP proxy carries no UDP), "host" (IPv4 code 1,
 * IPv6 code 3: the proxy failed), "port" (IPv4 code 3, IPv6 code 4).
 *
 * @example
 * ```ts
 * import { icmpUnreachableFor } from "./tcp-redirect.ts";
 * import { buildUdp } from "../packet/build.ts";
 * const d = buildUdp({ src: "192.0.2.1", dst: "198.51.100.7", srcPort: 5000, dstPort: 7 });
 * const u = icmpUnreachableFor(d, d.length, "prohibited")!;
 * u[20]; // 3
 * u[21]; // 13
 * ```
 */
export function icmpUnreachableFor(b: Uint8Array, len: number, reason: "prohibited" | "host" | "port"): Uint8Array | undefined {
  const v = {} as PacketView;
  if (!viewPacket(b, len, v)) return undefined;
  const src = formatAddrAt(b, v.dstOff, v.version);
  const dst = formatAddrAt(b, v.srcOff, v.version);
  if (v.version === 4) {
    const code = reason === "prohibited" ? 13 : reason === "host" ? 1 : 3;
    return buildIcmp({ src, dst, type: 3, code, body: b.slice(0, Math.min(v.end, 576 - 28)) });
  }
  const code = reason === "prohibited" ? 1 : reason === "host" ? 3 : 4;
  return buildIcmp({ src, dst, type: 1, code, body: b.slice(0, Math.min(v.end, 1280 - 48)) });
}
