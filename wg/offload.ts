/**
 * Segmentation offloads of the tun, as pure code: the `struct virtio_net_hdr` that IFF_VNET_HDR
 * puts before every packet, TSO super-packets cut into MTU-sized segments before they are
 * encrypted (the kernel hands a 64 KiB TCP burst over in one read instead of ~45), and the
 * reverse on the way in: consecutive decrypted TCP segments of one flow coalesced into one
 * super-packet (GRO) so the kernel takes ~45 segments in one write.
 *
 * The shapes follow the kernel's rules (include/linux/virtio_net.h, net/ipv4/tcp_offload.c's
 * tcp_gro_receive): only ACK or ACK|PSH segments with payload coalesce, with identical TCP
 * options, acknowledgement and IP header fields, in sequence; PSH ends a train.
 *
 * Checksums: a segment cut from a TSO packet gets a full TCP checksum (the peer's kernel checks
 * it). A coalesced super-packet is written with VIRTIO_NET_HDR_F_NEEDS_CSUM and the pseudo-header
 * sum in its checksum field (CHECKSUM_PARTIAL, which the local stack takes as verified): the
 * segments were authenticated by ChaCha20-Poly1305, so, like the kernel's WireGuard (receive.c
 * marks decrypted packets CHECKSUM_UNNECESSARY), their checksums are not recomputed.
 *
 * All functions work in place on caller-owned buffers; none allocates per packet.
 *
 * @module
 */

/** Size of `struct virtio_net_hdr` (no num_buffers). */
export const VNET_HDR_LEN = 10;

/** virtio_net_hdr flags and GSO types. */
export const VNET = {
  F_NEEDS_CSUM: 1,
  F_DATA_VALID: 2,
  GSO_NONE: 0,
  GSO_TCPV4: 1,
  GSO_UDP: 3,
  GSO_TCPV6: 4,
  GSO_UDP_L4: 5,
  GSO_ECN: 0x80,
} as const;

const PROTO_TCP = 6;
const PROTO_UDP = 17;
const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;

/** A decoded `struct virtio_net_hdr` (little-endian fields, as a tun uses them). */
export interface VnetHdr {
  /** VIRTIO_NET_HDR_F_* flags (1: NEEDS_CSUM). */
  flags: number;
  /** VIRTIO_NET_HDR_GSO_* type (0 none, 1 TCPv4, 4 TCPv6, 5 UDP_L4). */
  gsoType: number;
  /** Length of the headers (IP and transport), in bytes. */
  hdrLen: number;
  /** Segment size: payload bytes per segment. */
  gsoSize: number;
  /** Where checksumming starts (the transport header's offset). */
  csumStart: number;
  /** Offset of the checksum field from `csumStart`. */
  csumOffset: number;
}

/**
 * Decodes the virtio_net_hdr at `b[off..off+10)` into `out` (reused: no allocation).
 *
 * @example
 * ```ts
 * import { readVnetHdr, type VnetHdr } from "./offload.ts";
 * const h: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
 * readVnetHdr(Uint8Array.of(1, 1, 52, 0, 0x58, 5, 20, 0, 16, 0), 0, h); // h.gsoSize === 1368
 * ```
 */
export function readVnetHdr(b: Uint8Array, off: number, out: VnetHdr): VnetHdr {
  out.flags = b[off]!;
  out.gsoType = b[off + 1]!;
  out.hdrLen = b[off + 2]! | (b[off + 3]! << 8);
  out.gsoSize = b[off + 4]! | (b[off + 5]! << 8);
  out.csumStart = b[off + 6]! | (b[off + 7]! << 8);
  out.csumOffset = b[off + 8]! | (b[off + 9]! << 8);
  return out;
}

/**
 * Writes a virtio_net_hdr at `b[off..off+10)`.
 *
 * @example
 * ```ts
 * import { writeVnetHdr, VNET } from "./offload.ts";
 * const b = new Uint8Array(10);
 * writeVnetHdr(b, 0, VNET.F_NEEDS_CSUM, VNET.GSO_TCPV4, 52, 1368, 20, 16);
 * b; // [1, 1, 52, 0, 88, 5, 20, 0, 16, 0]
 * ```
 */
export function writeVnetHdr(b: Uint8Array, off: number, flags: number, gsoType: number, hdrLen: number, gsoSize: number, csumStart: number, csumOffset: number): void {
  b[off] = flags;
  b[off + 1] = gsoType;
  b[off + 2] = hdrLen & 0xff;
  b[off + 3] = hdrLen >>> 8;
  b[off + 4] = gsoSize & 0xff;
  b[off + 5] = gsoSize >>> 8;
  b[off + 6] = csumStart & 0xff;
  b[off + 7] = csumStart >>> 8;
  b[off + 8] = csumOffset & 0xff;
  b[off + 9] = csumOffset >>> 8;
}

// --- checksums -----------------------------------------------------------------------------------

/**
 * Fast one's-complement sums over one buffer. The hot loop reads 16-bit words through a
 * Uint16Array in four independent int32 accumulators (measured ~0.2–0.5 µs per 1368 bytes here,
 * 3–6x faster than byte-wise or DataView reads). Words are read in the machine's order (little
 * endian on every target tunkit runs on); one's-complement sums do not depend on byte order
 * (RFC 1071 §2(B)), so the folded result is byte-swapped once at the end. Unaligned or odd
 * starts fall back to byte reads.
 */
export class Summer {
  private readonly u8: Uint8Array;
  private readonly u16: Uint16Array;
  private readonly base: number;

  /** Sums over `buf` (any view; its byteOffset is taken into account). */
  constructor(buf: Uint8Array) {
    this.u8 = buf;
    this.base = buf.byteOffset;
    this.u16 = new Uint16Array(buf.buffer, buf.byteOffset & ~1, (buf.byteLength - (buf.byteOffset & 1)) >>> 1);
  }

  /**
   * The big-endian 16-bit word sum of `[off, off+len)` plus `acc`, folded to 16 bits (not
   * complemented). `off` must be at an even distance from the start of the checksummed data.
   *
   * @example
   * ```ts
   * import { Summer } from "./offload.ts";
   * new Summer(new Uint8Array([0x00, 0x01, 0xf2, 0x03])).sum(0, 4, 0); // 0xf204
   * ```
   */
  sum(off: number, len: number, acc: number): number {
    const u8 = this.u8;
    let s = acc;
    if (((this.base + off) & 1) === 0 && len >= 16) {
      // Little-endian word sums; swapped back below.
      const u16 = this.u16;
      let i = (this.base + off - (this.base & ~1)) >>> 1;
      const words = len >>> 1;
      const end = i + words;
      const end4 = i + (words & ~3);
      let a = 0, b = 0, c = 0, d = 0;
      for (; i < end4; i += 4) {
        a = (a + u16[i]!) | 0;
        b = (b + u16[i + 1]!) | 0;
        c = (c + u16[i + 2]!) | 0;
        d = (d + u16[i + 3]!) | 0;
        // Four int32 accumulators take 8192 words each before they could overflow.
        if ((i & 0x1ffc) === 0x1ffc) {
          a = (a & 0xffff) + (a >>> 16) + (b & 0xffff) + (b >>> 16);
          c = (c & 0xffff) + (c >>> 16) + (d & 0xffff) + (d >>> 16);
          b = d = 0;
        }
      }
      for (; i < end; i++) a = (a + u16[i]!) | 0;
      let le = fold(a + b + c + d);
      if (len & 1) le += u8[off + len - 1]!; // the odd byte is the high byte of a BE word: low in LE
      le = fold(le);
      s += ((le & 0xff) << 8) | (le >>> 8);
    } else {
      let i = off;
      const last = off + len - 1;
      for (; i < last; i += 2) s += (u8[i]! << 8) | u8[i + 1]!;
      if (i === last) s += u8[i]! << 8;
    }
    return fold(s);
  }
}

/**
 * Folds an unfolded one's-complement sum (< 2^53) to 16 bits.
 *
 * @example
 * ```ts
 * import { fold } from "./offload.ts";
 * fold(0x1fffe); // 65535
 * ```
 */
export function fold(s: number): number {
  if (s <= 0xffff) return s;
  const f = s % 0xffff;
  return f === 0 ? 0xffff : f;
}

/**
 * The pseudo-header sum (folded) of the IP packet at `off` for `proto` and an L4 length.
 *
 * @example
 * ```ts
 * import { pseudoHeaderSum } from "./offload.ts";
 * const ip = new Uint8Array(20); ip[12] = 192; ip[16] = 192;
 * pseudoHeaderSum(ip, 0, false, 6, 20); // 32795
 * ```
 */
export function pseudoHeaderSum(b: Uint8Array, off: number, v6: boolean, proto: number, l4Len: number): number {
  let s = proto + l4Len;
  const a = v6 ? off + 8 : off + 12;
  const e = v6 ? off + 40 : off + 20;
  for (let i = a; i < e; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  return fold(s);
}

/**
 * Sets the IPv4 header checksum of the header at `off` (length from its IHL).
 *
 * @example
 * ```ts
 * import { setIpv4Checksum } from "./offload.ts";
 * import { fromHex } from "../common/hex.ts";
 * const h = fromHex("45000054 0c53 4000 4001 0000 7f000001 7f000001");
 * setIpv4Checksum(h, 0);
 * [h[10], h[11]]; // [48, 84]
 * ```
 */
export function setIpv4Checksum(b: Uint8Array, off: number): void {
  const hl = (b[off]! & 0x0f) * 4;
  b[off + 10] = 0;
  b[off + 11] = 0;
  let s = 0;
  for (let i = off; i < off + hl; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  const c = ~fold(s) & 0xffff;
  b[off + 10] = c >>> 8;
  b[off + 11] = c & 0xff;
}

/**
 * Completes a partial checksum as the kernel hands it with VIRTIO_NET_HDR_F_NEEDS_CSUM: the
 * field at `start + csumOffset` holds the pseudo-header sum; the sum over `[start, end)` is
 * folded in and the complement written back. (A UDP checksum of 0 is sent as 0xffff.)
 *
 * @example
 * ```ts
 * import { completeChecksum, Summer } from "./offload.ts";
 * declare const pkt: Uint8Array; // IPv4 + TCP, the checksum field holding the pseudo-header sum
 * completeChecksum(new Summer(pkt), pkt, 20, 16, pkt.length);
 * ```
 */
export function completeChecksum(sm: Summer, b: Uint8Array, start: number, csumOffset: number, end: number): void {
  const at = start + csumOffset;
  const seed = (b[at]! << 8) | b[at + 1]!;
  b[at] = 0;
  b[at + 1] = 0;
  let c = ~sm.sum(start, end - start, seed) & 0xffff;
  if (c === 0 && csumOffset === 6) c = 0xffff;
  b[at] = c >>> 8;
  b[at + 1] = c & 0xff;
}

// --- TSO: one super-packet into segments ------------------------------------------------------------

/** Why a packet from the tun could not be segmented (it is dropped and counted). */
export type GsoError = "badHeader" | "unsupported";

/**
 * Cuts the TSO super-packet at `b[sOff..sOff+len)` (its virtio_net_hdr decoded in `h`) into
 * segments: segment k is written to `b` at `dOff + k*stride` (IP header first) and gets its own
 * IP length, IPv4 id and header checksum, TCP sequence number, flags (FIN/PSH only on the last)
 * and full TCP checksum. `lens[k]` receives each segment's length. Returns the number of
 * segments, or a {@link GsoError}.
 *
 * Source and destinations share one buffer so the copies are `copyWithin` (a memmove, no
 * view allocated per segment); the segments must not overlap the source range. `sm` sums `b`.
 *
 * @example
 * ```ts
 * import { tsoSplit, Summer, VNET, type VnetHdr } from "./offload.ts";
 * import { buildTcp } from "../packet/build.ts";
 * const pkt = buildTcp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, flags: ".", payload: 3000 });
 * const hdr: VnetHdr = { flags: 1, gsoType: VNET.GSO_TCPV4, hdrLen: 40, gsoSize: 1000, csumStart: 20, csumOffset: 16 };
 * const buf = new Uint8Array(200_000), lens = new Int32Array(64);
 * buf.set(pkt, 100_000);
 * tsoSplit(buf, 100_000, pkt.length, hdr, new Summer(buf), 0, 1500, lens); // 3
 * ```
 */
export function tsoSplit(b: Uint8Array, sOff: number, len: number, h: VnetHdr, sm: Summer, dOff: number, stride: number, lens: Int32Array): number | GsoError {
  const src = b;
  const dst = b;
  const gso = h.gsoType & ~VNET.GSO_ECN;
  const v6 = gso === VNET.GSO_TCPV6;
  if (gso !== VNET.GSO_TCPV4 && !v6) return "unsupported";
  const ipLen = h.csumStart;
  const version = src[sOff]! >> 4;
  if (version !== (v6 ? 6 : 4) || ipLen < (v6 ? 40 : 20) || ipLen + 20 > len) return "badHeader";
  const tcpLen = (src[sOff + ipLen + 12]! >> 4) * 4;
  const hdrLen = ipLen + tcpLen;
  if (tcpLen < 20 || hdrLen > len || h.csumOffset !== 16 || h.gsoSize === 0) return "badHeader";
  const payload = len - hdrLen;
  const mss = h.gsoSize;
  const n = Math.ceil(payload / mss);
  const end = dOff + (n - 1) * stride + hdrLen + Math.min(mss, payload);
  if (n > lens.length || n === 0 || end > b.length || (dOff < sOff + len && end > sOff)) return "badHeader";
  const seq0 = ((src[sOff + ipLen + 4]! << 24) | (src[sOff + ipLen + 5]! << 16) | (src[sOff + ipLen + 6]! << 8) | src[sOff + ipLen + 7]!) >>> 0;
  const id0 = v6 ? 0 : (src[sOff + 4]! << 8) | src[sOff + 5]!;
  // The pseudo-header sum without the length: the addresses do not change between segments.
  const addrSum = pseudoHeaderSum(src, sOff, v6, PROTO_TCP, 0);
  for (let k = 0; k < n; k++) {
    const o = dOff + k * stride;
    const pStart = sOff + hdrLen + k * mss;
    const pLen = k === n - 1 ? payload - k * mss : mss;
    const segLen = hdrLen + pLen;
    b.copyWithin(o, sOff, sOff + hdrLen);
    b.copyWithin(o + hdrLen, pStart, pStart + pLen);
    if (v6) {
      const pl = segLen - 40;
      dst[o + 4] = pl >>> 8;
      dst[o + 5] = pl & 0xff;
    } else {
      dst[o + 2] = segLen >>> 8;
      dst[o + 3] = segLen & 0xff;
      const id = (id0 + k) & 0xffff;
      dst[o + 4] = id >>> 8;
      dst[o + 5] = id & 0xff;
      setIpv4Checksum(dst, o);
    }
    const t = o + ipLen;
    const seq = (seq0 + k * mss) >>> 0;
    dst[t + 4] = seq >>> 24;
    dst[t + 5] = (seq >>> 16) & 0xff;
    dst[t + 6] = (seq >>> 8) & 0xff;
    dst[t + 7] = seq & 0xff;
    if (k !== n - 1) dst[t + 13] = dst[t + 13]! & ~(TCP_FIN | TCP_PSH);
    dst[t + 16] = 0;
    dst[t + 17] = 0;
    const c = ~sm.sum(t, tcpLen + pLen, addrSum + tcpLen + pLen) & 0xffff;
    dst[t + 16] = c >>> 8;
    dst[t + 17] = c & 0xff;
    lens[k] = segLen;
  }
  return n;
}

/**
 * Finishes a packet read from the tun without GSO: completes its checksum when the kernel left
 * it partial (NEEDS_CSUM). Returns false when the header's offsets do not fit the packet.
 *
 * @example
 * ```ts
 * import { finishNonGso, readVnetHdr, Summer, VNET_HDR_LEN, type VnetHdr } from "./offload.ts";
 * declare const buf: Uint8Array; // what a read from a vnet_hdr tun returned
 * const h = readVnetHdr(buf, 0, { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });
 * finishNonGso(buf, VNET_HDR_LEN, buf.length - VNET_HDR_LEN, h, new Summer(buf)); // the packet is whole now
 * ```
 */
export function finishNonGso(b: Uint8Array, off: number, len: number, h: VnetHdr, sm: Summer): boolean {
  if (!(h.flags & VNET.F_NEEDS_CSUM)) return true;
  if (h.csumStart + h.csumOffset + 2 > len) return false;
  completeChecksum(sm, b, off + h.csumStart, h.csumOffset, off + len);
  return true;
}

// --- GRO: segments into one super-packet ---------------------------------------------------------

/** Writes `len` bytes at `buf[off..)` (a virtio_net_hdr, then the packet) to the tun. */
export type TunWrite = (buf: Uint8Array, off: number, len: number) => void;

/** Most flows held open at once in one batch. */
export const GRO_FLOWS = 8;
/** Largest coalesced packet (the IP length fields are 16 bits). */
const GRO_MAX = 65535;

/**
 * Coalesces decrypted TCP segments before they are written to a tun opened with IFF_VNET_HDR.
 * Feed every packet of a received batch to {@link push} (in arrival order), then call
 * {@link flush} before the batch's buffers are reused. Packets that cannot coalesce are written
 * at once (after anything held for the same flow, so a flow's order never changes).
 *
 * @example
 * ```ts
 * import { TcpGro } from "./offload.ts";
 * import type { TunDevice } from "../tun/device.ts";
 * declare const tun: TunDevice; // opened with vnetHdr: true
 * declare const decrypted: Array<[Uint8Array, number, number]>; // packet i at buf[off + 10], len bytes
 * const gro = new TcpGro((buf, off, len) => tun.write(buf, off, len));
 * for (const [buf, off, len] of decrypted) gro.push(buf, off, len);
 * gro.flush();
 * ```
 */
export class TcpGro {
  /** Packets written, and of them super-packets (more than one segment). */
  readonly stats = { writes: 0, coalesced: 0, segments: 0 };
  private readonly write: TunWrite;
  private readonly bufs: Uint8Array[];
  // Per open flow (index < count): where the head packet is and what it ends with.
  private count = 0;
  private readonly src: Uint8Array[] = [];
  /** Where flow i's head packet is now: its receive buffer, or its coalesce buffer once merged. */
  private readonly hb: Uint8Array[] = [];
  private readonly hp = new Int32Array(GRO_FLOWS);
  private readonly off = new Int32Array(GRO_FLOWS);
  private readonly len = new Int32Array(GRO_FLOWS);
  private readonly merged = new Int32Array(GRO_FLOWS);
  private readonly gsoSize = new Int32Array(GRO_FLOWS);
  private readonly lastPayload = new Int32Array(GRO_FLOWS);
  private readonly nextSeq = new Float64Array(GRO_FLOWS);
  private readonly hdrLen = new Int32Array(GRO_FLOWS);
  private readonly ipLen = new Int32Array(GRO_FLOWS);
  private readonly psh = new Uint8Array(GRO_FLOWS);

  /**
   * A coalescer writing through `write`.
   *
   * @param write Writes one packet (vnet header included) into the tun.
   */
  constructor(write: TunWrite) {
    this.write = write;
    this.bufs = Array.from({ length: GRO_FLOWS }, () => new Uint8Array(new ArrayBuffer(GRO_MAX + 64)));
  }

  /**
   * Takes the packet at `buf[off+10 .. off+10+len)`; `buf[off..off+10)` is room for its
   * virtio_net_hdr. The bytes must stay untouched until {@link flush}.
   */
  push(buf: Uint8Array, off: number, len: number): void {
    const p = off + VNET_HDR_LEN;
    const ver = buf[p]! >> 4;
    let ipLen = 0;
    if (ver === 4) {
      // No options, TCP, not a fragment.
      if (buf[p]! !== 0x45 || len < 40 || buf[p + 9] !== PROTO_TCP || (buf[p + 6]! & 0x3f) !== 0 || buf[p + 7] !== 0) return this.single(buf, off, len, -1);
      if (((buf[p + 2]! << 8) | buf[p + 3]!) !== len) return this.single(buf, off, len, -1);
      ipLen = 20;
    } else if (ver === 6) {
      if (len < 60 || buf[p + 6] !== PROTO_TCP || ((buf[p + 4]! << 8) | buf[p + 5]!) !== len - 40) return this.single(buf, off, len, -1);
      ipLen = 40;
    } else return this.single(buf, off, len, -1);
    const t = p + ipLen;
    const tcpLen = (buf[t + 12]! >> 4) * 4;
    const hdrLen = ipLen + tcpLen;
    const flow = this.find(buf, p, ver === 6, t);
    const flags = buf[t + 13]!;
    const payload = len - hdrLen;
    if (tcpLen < 20 || hdrLen > len || payload === 0 || (flags !== TCP_ACK && flags !== (TCP_ACK | TCP_PSH))) return this.single(buf, off, len, flow);
    const seq = ((buf[t + 4]! << 24) | (buf[t + 5]! << 16) | (buf[t + 6]! << 8) | buf[t + 7]!) >>> 0;
    if (flow >= 0) {
      if (this.canAppend(flow, buf, p, ipLen, tcpLen, seq, payload)) return this.append(flow, buf, p, hdrLen, payload, seq, (flags & TCP_PSH) !== 0);
      this.emit(flow);
    }
    this.open(buf, off, len, ipLen, hdrLen, payload, seq, (flags & TCP_PSH) !== 0);
  }

  /** Writes every held flow. */
  flush(): void {
    for (let i = 0; i < this.count; i++) this.writeFlow(i);
    this.count = 0;
    this.src.length = 0;
    this.hb.length = 0;
  }

  /** Writes one packet as is (flushing its flow first). */
  private single(buf: Uint8Array, off: number, len: number, flow: number): void {
    if (flow >= 0) this.emit(flow);
    buf.fill(0, off, off + VNET_HDR_LEN);
    this.write(buf, off, len + VNET_HDR_LEN);
    this.stats.writes++;
    this.stats.segments++;
  }

  /** The open flow with the packet's addresses and ports, or -1. */
  private find(buf: Uint8Array, p: number, v6: boolean, t: number): number {
    const a = v6 ? 8 : 12;
    const alen = v6 ? 32 : 8;
    outer: for (let i = 0; i < this.count; i++) {
      const hb = this.hb[i]!;
      const hp = this.hp[i]!;
      if (hb[hp]! >> 4 !== buf[p]! >> 4) continue;
      for (let k = 0; k < alen; k++) if (hb[hp + a + k] !== buf[p + a + k]) continue outer;
      const ht = hp + this.ipLen[i]!;
      if (hb[ht] !== buf[t] || hb[ht + 1] !== buf[t + 1] || hb[ht + 2] !== buf[t + 2] || hb[ht + 3] !== buf[t + 3]) continue;
      return i;
    }
    return -1;
  }

  /** Whether a segment continues flow `i` (same headers, next sequence, same size). */
  private canAppend(i: number, buf: Uint8Array, p: number, ipLen: number, tcpLen: number, seq: number, payload: number): boolean {
    if (this.psh[i] || this.ipLen[i] !== ipLen || this.hdrLen[i] !== ipLen + tcpLen) return false;
    if (seq !== this.nextSeq[i] || payload > this.gsoSize[i]! || this.lastPayload[i] !== this.gsoSize[i]) return false;
    if (this.len[i]! + payload > GRO_MAX) return false;
    const hb = this.hb[i]!;
    const hp = this.hp[i]!;
    if (ipLen === 20) {
      // TOS, DF/reserved bits, TTL.
      if (hb[hp + 1] !== buf[p + 1] || hb[hp + 6]! >> 5 !== buf[p + 6]! >> 5 || hb[hp + 8] !== buf[p + 8]) return false;
    } else if (hb[hp] !== buf[p] || hb[hp + 1]! >> 4 !== buf[p + 1]! >> 4 || hb[hp + 7] !== buf[p + 7]) return false;
    // Acknowledgement number and every option byte (timestamps included) must match.
    const ht = hp + ipLen;
    const t = p + ipLen;
    for (let k = 8; k < 12; k++) if (hb[ht + k] !== buf[t + k]) return false;
    for (let k = 20; k < tcpLen; k++) if (hb[ht + k] !== buf[t + k]) return false;
    return true;
  }

  /** Starts a flow with this segment. */
  private open(buf: Uint8Array, off: number, len: number, ipLen: number, hdrLen: number, payload: number, seq: number, psh: boolean): void {
    if (this.count === GRO_FLOWS) this.emit(0);
    const i = this.count++;
    this.src[i] = buf;
    this.hb[i] = buf;
    this.hp[i] = off + VNET_HDR_LEN;
    this.off[i] = off;
    this.len[i] = len;
    this.merged[i] = 0;
    this.gsoSize[i] = payload;
    this.lastPayload[i] = payload;
    this.nextSeq[i] = (seq + payload) >>> 0;
    this.hdrLen[i] = hdrLen;
    this.ipLen[i] = ipLen;
    this.psh[i] = psh ? 1 : 0;
  }

  /** Appends a segment's payload to flow `i`. */
  private append(i: number, buf: Uint8Array, p: number, hdrLen: number, payload: number, seq: number, psh: boolean): void {
    const dst = this.bufs[i]!;
    if (this.merged[i] === 0) {
      const s = this.src[i]!;
      const so = this.off[i]! + VNET_HDR_LEN;
      dst.set(s.subarray(so, so + this.len[i]!), VNET_HDR_LEN);
      this.hb[i] = dst;
      this.hp[i] = VNET_HDR_LEN;
    }
    dst.set(buf.subarray(p + hdrLen, p + hdrLen + payload), VNET_HDR_LEN + this.len[i]!);
    this.len[i] = this.len[i]! + payload;
    this.merged[i] = this.merged[i]! + 1;
    this.lastPayload[i] = payload;
    this.nextSeq[i] = (seq + payload) >>> 0;
    if (psh) {
      this.psh[i] = 1;
      dst[VNET_HDR_LEN + this.ipLen[i]! + 13] = dst[VNET_HDR_LEN + this.ipLen[i]! + 13]! | TCP_PSH;
    }
  }

  /** Writes flow i and closes it (keeping the others in order). */
  private emit(i: number): void {
    this.writeFlow(i);
    for (let k = i + 1; k < this.count; k++) {
      const j = k - 1;
      // Swap buffers rather than copy: flow k's coalesce buffer moves with it.
      const b = this.bufs[j]!;
      this.bufs[j] = this.bufs[k]!;
      this.bufs[k] = b;
      this.src[j] = this.src[k]!;
      this.hb[j] = this.hb[k]!;
      this.hp[j] = this.hp[k]!;
      this.off[j] = this.off[k]!;
      this.len[j] = this.len[k]!;
      this.merged[j] = this.merged[k]!;
      this.gsoSize[j] = this.gsoSize[k]!;
      this.lastPayload[j] = this.lastPayload[k]!;
      this.nextSeq[j] = this.nextSeq[k]!;
      this.hdrLen[j] = this.hdrLen[k]!;
      this.ipLen[j] = this.ipLen[k]!;
      this.psh[j] = this.psh[k]!;
    }
    this.count--;
    this.src.length = this.count;
    this.hb.length = this.count;
  }

  /** Writes flow `i` into the tun: one packet, or a GSO super-packet with its vnet header. */
  private writeFlow(i: number): void {
    const len = this.len[i]!;
    if (this.merged[i] === 0) {
      const buf = this.src[i]!;
      const off = this.off[i]!;
      buf.fill(0, off, off + VNET_HDR_LEN);
      this.write(buf, off, len + VNET_HDR_LEN);
      this.stats.writes++;
      this.stats.segments++;
      return;
    }
    const b = this.bufs[i]!;
    const p = VNET_HDR_LEN;
    const ipLen = this.ipLen[i]!;
    const v6 = ipLen === 40;
    if (v6) {
      b[p + 4] = (len - 40) >>> 8;
      b[p + 5] = (len - 40) & 0xff;
    } else {
      b[p + 2] = len >>> 8;
      b[p + 3] = len & 0xff;
      setIpv4Checksum(b, p);
    }
    const ps = pseudoHeaderSum(b, p, v6, PROTO_TCP, len - ipLen);
    b[p + ipLen + 16] = ps >>> 8;
    b[p + ipLen + 17] = ps & 0xff;
    writeVnetHdr(b, 0, VNET.F_NEEDS_CSUM, v6 ? VNET.GSO_TCPV6 : VNET.GSO_TCPV4, this.hdrLen[i]!, this.gsoSize[i]!, ipLen, 16);
    this.write(b, 0, len + VNET_HDR_LEN);
    this.stats.writes++;
    this.stats.coalesced++;
    this.stats.segments += this.merged[i]! + 1;
  }
}

/**
 * IP protocol numbers the offloads handle.
 *
 * @example
 * ```ts
 * import { PROTO } from "./offload.ts";
 * PROTO.TCP; // 6
 * ```
 */
export const PROTO = { TCP: PROTO_TCP, UDP: PROTO_UDP } as const;
