/**
 * {@link RingPcapWriter}: a TPACKET_V3 ring block (tun/sniff-ring.ts) written to a pcap file
 * straight from the ring, the cheapest way a sniffer can save a flood.
 *
 * Each packet in a block the kernel has handed over sits behind its own headers
 * (`struct tpacket3_hdr`, `struct sockaddr_ll`, padding: at least 68 bytes, see the layout in
 * tun/sniff-ring.ts). Once those are read, that room is ours until the block is given back, so
 * the 16-byte pcap record header is written into it, right before the packet's bytes: every
 * record is then one contiguous range of the ring, and a whole block goes to the file with one
 * writev(2) per {@link IOV_MAX} records, pointing into the ring (the ring is mapped once; its
 * address is taken once per mapping). Per packet: a few loads and stores in one loop over the
 * block; no call, no copy, no allocation, no decoding.
 *
 * What the per-packet path does too: cooked sockets keep only IPv4/IPv6, a VLAN tag the kernel
 * took off is put back after the MAC addresses (in place: the addresses move 4 bytes back),
 * records are cut to the snaplen, the on-wire length is kept. The records are byte for byte
 * what {@link PcapSink.write} makes of the same packets.
 *
 * Copy mode (what `tunkit dump -w` uses): the records are copied out of the block into the
 * file's buffer, so the block is given back at once and the file is written where the file
 * says, off the JS thread ({@link PcapSink.background}) or not; a disk that stalls then never
 * keeps the ring from being walked. Into a pcap file that does not rotate, with no user-space
 * filter, the loop writes each record in place into the file's buffer ({@link PcapSink.span}:
 * four stores for its header, one memcpy for its bytes; no other call per record: 16 ns a
 * 92-byte packet against 25 through `write`, in a warm loop on the benchmark machine); else
 * each packet goes to the file's own `write` (pcapng, -C/-G rotation, a filter).
 *
 * @module
 */
import { addrValue, copyBytes } from "../ffi/libc.ts";
import { PACKET } from "../ffi/abi.ts";
import { IOV_MAX, type PcapSink, type RecordSpan } from "./capture-file.ts";
import { RxRing, TPACKET, type RingBlockConsumer } from "./sniff-ring.ts";

/**
 * What a {@link RingPcapWriter} writes into: a capture file ({@link PcapSink} or a
 * CaptureWriter). By default a pcap file without rotation, written with writev from the ring; in
 * copy mode each packet goes to its `write` (pcap or pcapng, rotated or not, in the background
 * or not).
 */
export type IovTarget = Pick<PcapSink, "writeIov" | "snaplen" | "nanosecond" | "error"> & Partial<Pick<PcapSink, "write" | "hasRoom" | "whenRoom">> & {
  /** Copy mode: records written in place into the file's buffer ({@link PcapSink.span}); undefined: each goes to `write`. */
  span?(bytes: number): RecordSpan | undefined;
  /** Takes what was written into the span ({@link PcapSink.commit}). */
  commit?(span: RecordSpan): void;
} & {
  /** Background: start a write once `minBytes` wait ({@link PcapSink.kick}). */
  kick?(minBytes?: number): void;
} & {
  /** Set once the target takes no more records (CaptureWriter: `-G` with `-W` filled its last file). */
  readonly finished?: string;
};

/**
 * A user-space filter for {@link RingPcapWriter} (copy mode): true to keep the packet whose
 * bytes are `bytes[offset..offset+caplen)` (cut to the capture's snaplen, VLAN tag put back).
 */
export type RecordFilter = (bytes: Uint8Array, offset: number, caplen: number) => boolean;

const TWO32 = 4294967296;

/**
 * Copy mode: bytes buffered before a block hands them to the background writer (see
 * {@link RingPcapWriter.kickBytes}). A flood of small packets fills a 256 KiB ring block in
 * about 10 ms; a write per block woke the runtime's I/O threads about 150 times a second at
 * 150k packets/s (bench/capture.ts), one per MiB about 12 times. What is below it waits for
 * the capture's flush timer (250 ms in `tunkit dump`) or the stop. A sink whose buffer is
 * smaller writes when the buffer fills.
 */
export const KICK_BYTES = 1 << 20;

/**
 * Writes the packets of ring blocks to a pcap {@link IovTarget}, straight from the ring. Give
 * it to {@link PacketSniffer.listen} as `blocks` (the ring then calls {@link block} once per
 * block instead of a handler per packet).
 *
 * @example
 * ```ts
 * import { PacketSniffer } from "./sniff.ts";
 * import { PcapSink } from "./capture-file.ts";
 * import { RingPcapWriter } from "./sniff-pcap.ts";
 * const s = PacketSniffer.open("tun0");
 * const sink = PcapSink.open("tun0.pcap", { linkType: s.linkType });
 * const w = new RingPcapWriter(sink);
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 1000);
 * await s.listen(() => {}, { signal: ac.signal, blocks: w, drainOnStop: true });
 * sink.close();
 * s.close();
 * w.taken; // the records written, for example 1200
 * ```
 */
export class RingPcapWriter implements RingBlockConsumer {
  /** Records taken so far. */
  taken = 0;
  /** Records still to take: packets after that are left out (`-c N`). Default: no limit. */
  remaining: number = Infinity;
  private readonly iov = new Uint8Array(new ArrayBuffer(IOV_MAX * 16));
  private readonly iv = new Uint32Array(this.iov.buffer);
  private ring: RxRing | undefined;
  private ringBytes: Uint8Array | undefined;
  /** The ring's address, split in 32-bit halves. */
  private lo = 0;
  private hi = 0;

  /** The pcap file the records go to (its snaplen and timestamp resolution apply). */
  readonly target: IovTarget;
  /** Packets go to `target.write` (copied into its buffer), not written from the ring. */
  readonly copy: boolean;

  /**
   * A writer into `target`.
   * @param target The capture file the records go to.
   * @param opts `copy`: each packet goes to the target's own `write` (its buffer: pcap or
   *   pcapng, rotation, a background writer: {@link PcapSink.background}), so the block goes
   *   back to the kernel at once whatever the disk does; else (default) a pcap file written with
   *   one writev(2) from the ring. `filter` (copy mode): only the packets it keeps are written.
   */
  constructor(target: IovTarget, opts: { copy?: boolean; filter?: RecordFilter; kickBytes?: number } = {}) {
    this.target = target;
    this.copy = !!opts.copy;
    this.kickBytes = opts.kickBytes ?? KICK_BYTES;
    this.filter = opts.filter;
    if (this.copy && !target.write) throw new Error("RingPcapWriter: copy needs a target that writes records");
    if (this.filter && !this.copy) throw new Error("RingPcapWriter: a filter needs copy mode");
  }

  /**
   * Copy mode: after a block, the target's background writer is started only once this many
   * bytes wait ({@link PcapSink.kick}); 0 = after every block (`-U`).
   */
  readonly kickBytes: number;

  /** Copy mode: the user-space filter, if any. */
  readonly filter: RecordFilter | undefined;

  /** False while the target's background writer is too far behind to take `bytes` more. */
  room(bytes: number): boolean {
    return !this.copy || !this.target.hasRoom || this.target.hasRoom(bytes);
  }

  /** Resolves when {@link room} may say yes again. */
  whenRoom(): Promise<void> {
    return this.target.whenRoom ? this.target.whenRoom() : Promise.resolve();
  }

  /**
   * Writes the records of the taken block at `base` of `ring` (the ring gives it back after);
   * returns how many. `cooked`: keep only IPv4/IPv6 (sll_protocol); `ethernet`: put stripped
   * VLAN tags back; `snaplen`: the capture's (the file's may be smaller). Stops early when
   * {@link remaining} runs out or the file fails (see the target's `error`).
   */
  block(ring: RxRing, base: number, cooked: boolean, ethernet: boolean, snaplen: number): number {
    if (ring !== this.ring || ring.bytes !== this.ringBytes) this.bindRing(ring);
    const target = this.target;
    if (target.error) return 0;
    const w = ring.u32;
    const h = ring.u16;
    const b = ring.bytes;
    const iv = this.iv;
    const lo = this.lo;
    const hi = this.hi;
    const nano = target.nanosecond;
    const snap = snaplen < target.snaplen ? snaplen : target.snaplen;
    const n = ring.blockPackets(base);
    const end = base + ring.geometry.blockSize;
    const limit = this.remaining;
    const copy = this.copy;
    const filter = this.filter;
    // copy mode into a pcap file (no rotation, no filter): the records go straight into the
    // file's buffer, header and bytes, with no call per record but the memcpy
    const span = copy && filter === undefined && target.span ? target.span(ring.geometry.blockSize) : undefined;
    if (copy && span === undefined && target.error) return 0;
    const sbuf = span ? span.buf : b;
    const sview = span?.view;
    const ends = span?.ends;
    let at = span ? span.at : 0;
    let ne = span ? span.n : 0;
    let off = ring.blockFirst(base);
    let k = 0; // entries in iov
    let taken = 0;
    for (let i = 0; i < n && taken < limit; i++) {
      if (off < base || off + 68 > end || off & 3) break; // never read outside the block
      const q = off >>> 2;
      const next = w[q]!;
      // struct sockaddr_ll at 48: protocol (network order) at +2
      if (!cooked || ((b[off + 50]! << 8) | b[off + 51]!) === PACKET.ETH_P_IP || ((b[off + 50]! << 8) | b[off + 51]!) === PACKET.ETH_P_IPV6) {
        const sec = w[q + 1]!;
        const nsec = w[q + 2]!;
        let cap = w[q + 3]!;
        let wire = w[q + 4]!;
        let data = off + h[(off >>> 1) + 12]!; // tp_mac
        if (data + cap > end) cap = data < end ? end - data : 0;
        if (ethernet && w[q + 5]! & TPACKET.STATUS_VLAN_VALID && cap >= 12) {
          // the kernel (or the NIC) took the 802.1Q tag off: the MAC addresses move 4 bytes back, the tag goes after them
          const status = w[q + 5]!;
          const tpidRaw = h[(off >>> 1) + 18]!;
          const tpid = status & TPACKET.STATUS_VLAN_TPID_VALID && tpidRaw ? tpidRaw : 0x8100;
          const tci = w[q + 8]!;
          b.copyWithin(data - 4, data, data + 12);
          data -= 4;
          b[data + 12] = tpid >> 8;
          b[data + 13] = tpid & 0xff;
          b[data + 14] = (tci >> 8) & 0xff;
          b[data + 15] = tci & 0xff;
          cap += 4;
          wire += 4;
        }
        if (sview !== undefined) {
          // the record PcapSink.write makes of it, written in place into the file's buffer
          const c = cap > snap ? snap : cap;
          sview.setUint32(at, sec, true);
          sview.setUint32(at + 4, nano ? nsec : (nsec / 1000) | 0, true);
          sview.setUint32(at + 8, c, true);
          sview.setUint32(at + 12, wire > c ? wire : c, true);
          if (c > 0) {
            if (copyBytes) copyBytes(sbuf, at + 16, b, data, c);
            else sbuf.set(b.subarray(data, data + c), at + 16);
          }
          at += 16 + c;
          ends![ne++] = at;
          taken++;
          if (next === 0) break;
          off += next;
          continue;
        }
        if (copy) {
          // what the per-packet path hands over (cut to the capture's snaplen), to the target's
          // own writer: the same records, pcap or pcapng, rotated or not
          const c = cap > snaplen ? snaplen : cap;
          if (filter === undefined || filter(b, data, c)) {
            target.write!(b, c, wire, sec, nsec, data);
            if (target.error || target.finished) break; // that one was not written
            taken++;
          }
          if (next === 0) break;
          off += next;
          continue;
        }
        if (cap > snap) cap = snap;
        const orig = wire > cap ? wire : cap;
        const sub = nano ? nsec : (nsec / 1000) | 0;
        const hdr = data - 16;
        // the record header goes over this packet's own tpacket3_hdr tail / sockaddr_ll, read already
        if (hdr < off + 48) break; // (the kernel always leaves more room: never taken)
        if ((hdr & 3) === 0) {
          const hq = hdr >>> 2;
          w[hq] = sec;
          w[hq + 1] = sub;
          w[hq + 2] = cap;
          w[hq + 3] = orig;
        } else if ((hdr & 1) === 0) {
          // an Ethernet frame starts 2 bytes off a 4-byte boundary (14-byte header, IP aligned)
          const hh = hdr >>> 1;
          h[hh] = sec & 0xffff;
          h[hh + 1] = sec >>> 16;
          h[hh + 2] = sub & 0xffff;
          h[hh + 3] = sub >>> 16;
          h[hh + 4] = cap & 0xffff;
          h[hh + 5] = cap >>> 16;
          h[hh + 6] = orig & 0xffff;
          h[hh + 7] = orig >>> 16;
        } else {
          for (let j = 0; j < 4; j++) {
            const v = j === 0 ? sec : j === 1 ? sub : j === 2 ? cap : orig;
            b[hdr + 4 * j] = v & 0xff;
            b[hdr + 4 * j + 1] = (v >>> 8) & 0xff;
            b[hdr + 4 * j + 2] = (v >>> 16) & 0xff;
            b[hdr + 4 * j + 3] = v >>> 24;
          }
        }
        const a = lo + hdr;
        const e = k << 2;
        iv[e] = a >>> 0;
        iv[e + 1] = a >= TWO32 ? hi + 1 : hi;
        iv[e + 2] = cap + 16;
        iv[e + 3] = 0;
        taken++;
        if (++k === IOV_MAX) {
          if (!target.writeIov(this.iov, k)) {
            k = 0;
            break;
          }
          k = 0;
        }
      }
      if (next === 0) break;
      off += next;
    }
    if (k > 0) target.writeIov(this.iov, k);
    if (span) {
      span.at = at;
      span.n = ne;
      target.commit!(span);
    }
    if (copy) target.kick?.(this.kickBytes);
    this.taken += taken;
    this.remaining -= taken;
    return taken;
  }

  /** Takes the address of `ring`'s mapping (once per mapping). */
  private bindRing(ring: RxRing): void {
    // once per mapping: the address of the ring's first byte
    const a = Number(addrValue(ring.bytes));
    this.ring = ring;
    this.ringBytes = ring.bytes;
    this.hi = Math.floor(a / TWO32);
    this.lo = a - this.hi * TWO32;
  }
}

/** What {@link warmUpRingWriter} did. */
export interface RingWarmUp {
  /** Walks of the made-up block. */
  walks: number;
  /** Packets those walks wrote (into the throwaway target). */
  packets: number;
  /** Milliseconds it took, waits included. */
  ms: number;
  /**
   * Whether the engine had compiled the walk with an optimizing tier by the end (Bun, through
   * `bun:jsc`); undefined where the runtime cannot say (then a fixed number of walks is done).
   */
  optimized?: boolean;
}

/** Options of {@link warmUpRingWriter}. */
export interface RingWarmUpOptions {
  /** The capture ring's block size (ringGeometry). */
  blockSize: number;
  /** The capture's snaplen. */
  snaplen: number;
  /** The socket reads cooked (tun: keep IPv4/IPv6 only). */
  cooked: boolean;
  /** Frames with an Ethernet header (tap, veth). */
  ethernet: boolean;
  /** {@link RingPcapWriter}'s `copy` and `kickBytes`, as the capture's writer will have them. */
  copy?: boolean;
  kickBytes?: number;
  /** Bytes of each made-up packet (default 92: a 64-byte UDP datagram, a flood's packet). */
  packetBytes?: number;
  /** The most milliseconds to spend (default 500): a start-up is never held up longer. */
  budgetMs?: number;
}

/**
 * Walks of the made-up block once the optimizing JIT has compiled the walk (JSC's DFG: after
 * 75-155 walks of a 256 KiB block of 92-byte packets on the benchmark machine, 40-170 ms of a
 * compiler thread): its speculations then rest on more than the first few blocks.
 */
const WARM_WALKS_AFTER_OPTIMIZED = 300;
/** Walks without a way to ask the engine (Deno): about what Bun takes to its DFG tier and past it. */
const WARM_WALKS_BLIND = 500;

/**
 * Warms the JIT up on {@link RingPcapWriter.block} before a capture starts: walks a made-up
 * TPACKET_V3 block ({@link RxRing.madeUp}) into `target`, a throwaway of the same kind as the
 * capture's file (a CaptureWriter on /dev/null in `tunkit dump -w`), until the engine has
 * compiled the walk with its optimizing tiers. Without it, the first second of a flood is
 * walked by the baseline tier (~100 ns a packet against ~20) while the compiler threads take
 * CPU from everything else on the machine: the ring's drops at a flood's start (0.9-1.1 s in,
 * bench/capture.ts) and under load (dump-capture's stalled-writer test). The same writer class
 * and ring class as the capture's, so the compiled code fits the real ring's blocks.
 *
 * Bun: walks until `bun:jsc` says the walk is optimized, then {@link WARM_WALKS_AFTER_OPTIMIZED}
 * more; a short sleep every 25 walks lets the compiler threads run on a busy machine.
 * Elsewhere, a fixed {@link WARM_WALKS_BLIND}. Never more than `budgetMs`.
 *
 * @example
 * ```ts
 * import { warmUpRingWriter } from "./sniff-pcap.ts";
 * import { PcapSink } from "./capture-file.ts";
 * import { openSync } from "node:fs";
 * const sink = new PcapSink(openSync("/dev/null", "w"), { linkType: "raw" }, true);
 * const r = await warmUpRingWriter(sink, { blockSize: 1 << 18, snaplen: 262144, cooked: true, ethernet: false, copy: true });
 * sink.close();
 * r.packets; // for example 1_000_000
 * ```
 */
export async function warmUpRingWriter(target: IovTarget, opts: RingWarmUpOptions): Promise<RingWarmUp> {
  const t0 = performance.now();
  const budget = opts.budgetMs ?? 500;
  const jsc = await engine();
  // two rings, eight walks each in turn: both ways of the writer's "a ring it has not seen" test
  // are taken in the warm-up too, so the compiled walk does not leave for the baseline tier at
  // the capture's first block (with one ring, or a new one every walk, it did)
  const rings = [0, 1].map(() => RxRing.madeUp(opts.blockSize, opts.blockSize, opts.packetBytes ?? 92, opts.ethernet ? 14 : 0));
  const w = new RingPcapWriter(target, { copy: opts.copy ?? false, ...(opts.kickBytes !== undefined ? { kickBytes: opts.kickBytes } : {}) });
  const fn = RingPcapWriter.prototype.block;
  let walks = 0;
  let optimizedAt = -1;
  const optimized = () => jsc !== undefined && jsc.numberOfDFGCompiles(fn) > 0;
  while (performance.now() - t0 < budget && !target.error) {
    w.block(rings[(walks >> 3) & 1]!, 0, opts.cooked, opts.ethernet, opts.snaplen);
    walks++;
    if (optimizedAt < 0 && optimized()) optimizedAt = walks;
    if (jsc ? optimizedAt >= 0 && walks - optimizedAt >= WARM_WALKS_AFTER_OPTIMIZED : walks >= WARM_WALKS_BLIND) break;
    if (walks % 25 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  return { walks, packets: w.taken, ms: performance.now() - t0, ...(jsc ? { optimized: optimized() } : {}) };
}

/** `bun:jsc`'s tier query, where the runtime has it. */
async function engine(): Promise<{ numberOfDFGCompiles(f: unknown): number } | undefined> {
  if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return undefined;
  try {
    const m = (await import("bun:jsc")) as { numberOfDFGCompiles?: (f: unknown) => number };
    return typeof m.numberOfDFGCompiles === "function" ? (m as { numberOfDFGCompiles(f: unknown): number }) : undefined;
  } catch {
    return undefined;
  }
}
