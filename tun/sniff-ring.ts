/**
 * {@link RxRing}: a packet socket's TPACKET_V3 receive ring (PACKET_RX_RING), the way libpcap
 * captures on Linux. The kernel writes packets straight into memory shared with us, grouped in
 * blocks; a block is handed over when it is full or when its timeout runs out, and only then is
 * the socket readable. So a flood costs no system call per packet (no recvmmsg copy-out), and a
 * trickle costs one wake-up per block timeout, not one per packet.
 *
 * Layout (linux/if_packet.h): each block starts with `struct tpacket_block_desc` (status at 8,
 * packet count at 12, first packet's offset at 16); each packet with `struct tpacket3_hdr`
 * (next offset 0, sec 4, nsec 8, snaplen 12, len 16, status 20, mac offset 24, vlan tci 32,
 * vlan tpid 36) followed by a `struct sockaddr_ll` at 48 (protocol at +2, pkttype at +10).
 *
 * @module
 */
import { SOCK, mapShared, sys } from "../ffi/libc.ts";

/** setsockopt(SOL_PACKET, ...) options and TPACKET_V3 values (linux/if_packet.h). */
export const TPACKET = {
  PACKET_RX_RING: 5,
  PACKET_VERSION: 10,
  V3: 2,
  STATUS_KERNEL: 0,
  STATUS_USER: 1,
  STATUS_VLAN_VALID: 1 << 4,
  STATUS_VLAN_TPID_VALID: 1 << 6,
} as const;

/** Geometry of a ring. */
export interface RingGeometry {
  /** Bytes per block (a power of two, at least a page). */
  blockSize: number;
  /** Blocks in the ring (at least 2). */
  blockCount: number;
}

/**
 * Picks block size and count for a ring of about `bytes`: 256 KiB blocks, as libpcap's (room
 * for a 64 KiB packet many times over; the kernel cuts a packet longer than a block, which only
 * BIG TCP could send), smaller for a small snaplen (fewer bytes between hand-overs), at least 2.
 *
 * @example
 * ```ts
 * import { ringGeometry } from "./sniff-ring.ts";
 * ringGeometry(8 << 20, 262144); // { blockSize: 262144, blockCount: 32 }
 * ```
 */
export function ringGeometry(bytes: number, snaplen: number): RingGeometry {
  let blockSize = 1 << 16;
  // 48-byte block header, 48-byte packet header, sockaddr_ll, alignment and a link header
  while (blockSize < 1 << 18 && blockSize < snaplen + 512) blockSize *= 2;
  const blockCount = Math.max(2, Math.floor(bytes / blockSize));
  return { blockSize, blockCount };
}

/** One packet as {@link RxRing.forEach} hands it over: the fields of its header. */
export interface RingPacket {
  /** Where the packet's bytes start in {@link RxRing.bytes}. */
  offset: number;
  /** Bytes captured (tp_snaplen). */
  caplen: number;
  /** Length on the wire (tp_len). */
  wireLen: number;
  /** Receive time: seconds since the epoch. */
  sec: number;
  /** Receive time: nanoseconds within the second. */
  nsec: number;
  /** tp_status bits (VLAN valid...). */
  status: number;
  /** sll_pkttype (4 = outgoing). */
  pkttype: number;
  /** sll_protocol (host order). */
  protocol: number;
  /** The stripped VLAN tag, when status says it is valid. */
  vlanTci: number;
  /** The stripped tag's protocol id (0x8100, 0x88a8), when status says it is valid (else 0). */
  vlanTpid: number;
}

/**
 * Takes a ring's blocks whole (instead of a call per packet): see
 * {@link PacketSniffer.listen}'s `blocks` and tun/sniff-pcap.ts.
 */
export interface RingBlockConsumer {
  /**
   * Handles the packets of the block at `base` of `ring`, taken for it ({@link RxRing.takeBlock};
   * given back after the call): returns how many it took. `cooked`: the socket reads cooked
   * (keep only IPv4/IPv6); `ethernet`: frames (VLAN tags to put back); `snaplen`: the capture's.
   */
  block(ring: RxRing, base: number, cooked: boolean, ethernet: boolean, snaplen: number): number;
  /**
   * False when the consumer cannot take a block of `bytes` now (its writer is behind): the
   * block then stays in the ring, where the kernel keeps filling the others, until
   * {@link whenRoom} resolves. Absent: always true.
   */
  room?(bytes: number): boolean;
  /** Resolves when {@link room} may say yes again. */
  whenRoom?(): Promise<void>;
}

/**
 * A TPACKET_V3 receive ring on an AF_PACKET socket. Throws SysError where the kernel refuses it
 * (then capture with recvmmsg instead).
 *
 * @example
 * ```ts
 * import { RxRing } from "./sniff-ring.ts";
 * declare const fd: number; // an AF_PACKET socket set to TPACKET_V3
 * const ring = RxRing.open(fd, { blockSize: 1 << 20, blockCount: 8 }, 100);
 * ring.forEach((p) => console.log(p.caplen)); // packets of every block the kernel handed over
 * ring.close();
 * ```
 */
export class RxRing {
  /** The whole mapping. Invalid after {@link close}. */
  bytes: Uint8Array;
  // The headers are read through 32- and 16-bit views of the mapping (native order, which is
  // little-endian on every architecture tunkit runs on): a DataView over memory that is not
  // the engine's own costs several times more per read, and this runs once per packet.
  /** The mapping as 32-bit words (native order), for consumers that walk a block themselves. */
  u32: Uint32Array;
  /** The mapping as 16-bit words (native order). */
  u16: Uint16Array;
  private unmap: () => void;
  private cur = 0;
  /** Bytes the kernel had filled in the last block walked (blk_len; 0 before any). */
  lastBlockBytes = 0;
  /** Nanoseconds between the first and the last packet of the last block walked. */
  lastBlockSpanNs = 0;
  private readonly pkt: RingPacket = { offset: 0, caplen: 0, wireLen: 0, sec: 0, nsec: 0, status: 0, pkttype: 0, protocol: 0, vlanTci: 0, vlanTpid: 0 };

  private constructor(map: { bytes: Uint8Array; unmap(): void }, readonly geometry: RingGeometry, readonly blockTimeoutMs: number) {
    this.bytes = map.bytes;
    this.u32 = new Uint32Array(map.bytes.buffer, map.bytes.byteOffset, map.bytes.byteLength >>> 2);
    this.u16 = new Uint16Array(map.bytes.buffer, map.bytes.byteOffset, map.bytes.byteLength >>> 1);
    this.unmap = () => map.unmap();
  }

  /**
   * Switches socket `fd` to TPACKET_V3 and maps a ring of `geometry` whose blocks are handed
   * over after `blockTimeoutMs` (1..60000) even when not full. Call before the socket sees
   * traffic you care about (it may be bound already).
   */
  static open(fd: number, geometry: RingGeometry, blockTimeoutMs: number): RxRing {
    const { blockSize, blockCount } = geometry;
    sys.setsockoptInt(fd, SOCK.SOL_PACKET, TPACKET.PACKET_VERSION, TPACKET.V3, "setsockopt(PACKET_VERSION)");
    const req = new Uint8Array(28);
    const dv = new DataView(req.buffer);
    const frameSize = 2048; // V3 frames are variable; the kernel only checks the arithmetic
    dv.setUint32(0, blockSize, true);
    dv.setUint32(4, blockCount, true);
    dv.setUint32(8, frameSize, true);
    dv.setUint32(12, (blockSize / frameSize) * blockCount, true);
    dv.setUint32(16, blockTimeoutMs, true);
    dv.setUint32(20, 0, true); // sizeof_priv
    dv.setUint32(24, 0, true); // feature_req_word
    sys.setsockopt(fd, SOCK.SOL_PACKET, TPACKET.PACKET_RX_RING, req, "setsockopt(PACKET_RX_RING)");
    const map = mapShared(fd, blockSize * blockCount, "mmap(PACKET_RX_RING)");
    return new RxRing(map, geometry, blockTimeoutMs);
  }

  /**
   * A ring over ordinary memory, no socket: one block of `blockSize` bytes, handed over, holding
   * `packets` made-up packets of `bytes` bytes each (as many as fit), laid out as the kernel lays
   * out a TPACKET_V3 block (a link header of `linkHeader` bytes: 0 for a tun, 14 for Ethernet;
   * sll_protocol IPv4; their bytes zero). For warming a block consumer up before a capture
   * starts ({@link warmUp}): the JIT compiles its walk then, not while a flood waits in the real
   * ring. {@link close} is a no-op for it.
   *
   * @example
   * ```ts
   * import { RxRing } from "./sniff-ring.ts";
   * const r = RxRing.madeUp(1 << 18, 1000, 92);
   * r.blockPackets(0); // 1000
   * r.forEach((p) => {}); // 1000
   * ```
   */
  static madeUp(blockSize: number, packets: number, bytes: number, linkHeader = 0): RxRing {
    const mem = new Uint8Array(new ArrayBuffer(blockSize));
    const ring = new RxRing({ bytes: mem, unmap() {} }, { blockSize, blockCount: 1 }, 1);
    const w = ring.u32;
    const h = ring.u16;
    // the kernel's offsets: tpacket3_hdr (48) + sockaddr_ll (20), then the network header at a
    // 16-byte boundary at least 16 bytes on, the link header right before it
    const net = (68 + 16 + 15) & ~15;
    const mac = net - linkHeader;
    const slot = (net + bytes + 15) & ~15;
    const first = 48;
    const n = Math.max(0, Math.min(packets, Math.floor((blockSize - first) / slot)));
    for (let i = 0, off = first; i < n; i++, off += slot) {
      const q = off >>> 2;
      w[q] = i + 1 < n ? slot : 0; // tp_next_offset
      w[q + 1] = 1_700_000_000 + (i >>> 10); // tp_sec
      w[q + 2] = (i & 1023) * 1000; // tp_nsec
      w[q + 3] = linkHeader + bytes; // tp_snaplen
      w[q + 4] = linkHeader + bytes; // tp_len
      w[q + 5] = TPACKET.STATUS_USER;
      h[(off >>> 1) + 12] = mac; // tp_mac
      h[(off >>> 1) + 13] = net; // tp_net
      mem[off + 48] = 17; // sll_family AF_PACKET
      mem[off + 50] = 0x08; // sll_protocol ETH_P_IP, network order
      mem[off + 58] = i & 1 ? 0 : 4; // sll_pkttype: out and in in turn
    }
    w[0] = 1; // version
    w[2] = TPACKET.STATUS_USER; // block_status: handed over
    w[3] = n; // num_pkts
    w[4] = first; // offset_to_first_pkt
    w[5] = first + n * slot; // blk_len
    return ring;
  }

  /** True when the kernel has handed over the next block. */
  ready(): boolean {
    const q = (this.cur * this.geometry.blockSize + 8) >>> 2;
    return q < this.u32.length && (this.u32[q]! & TPACKET.STATUS_USER) !== 0;
  }

  /**
   * Walks the next handed-over block: calls `onPacket` per packet (the object is reused: copy
   * what you keep), then gives the block back to the kernel. Returns the packets seen, or -1 when
   * no block was ready. When `onPacket` returns false, the walk stops there and the block is
   * still given back (the rest of its packets are not delivered).
   */
  nextBlock(onPacket: (p: RingPacket) => boolean | void): number {
    const base = this.takeBlock();
    if (base < 0) return -1;
    const w = this.u32;
    const h = this.u16;
    const b = this.bytes;
    const bq = base >>> 2;
    const n = w[bq + 3]!;
    let off = base + w[bq + 4]!;
    const end = base + this.geometry.blockSize;
    const p = this.pkt;
    let i = 0;
    for (; i < n; i++) {
      if (off < base || off + 68 > end || off & 3) break; // never read outside the block
      const q = off >>> 2;
      p.sec = w[q + 1]!;
      p.nsec = w[q + 2]!;
      const caplen = w[q + 3]!;
      p.wireLen = w[q + 4]!;
      p.status = w[q + 5]!;
      const mac = h[(off >>> 1) + 12]!;
      p.vlanTci = w[q + 8]!;
      p.vlanTpid = h[(off >>> 1) + 18]!;
      // struct sockaddr_ll at 48: protocol (network order) at +2, pkttype at +10
      p.protocol = (b[off + 50]! << 8) | b[off + 51]!;
      p.pkttype = b[off + 58]!;
      p.offset = off + mac;
      const room = end - p.offset;
      p.caplen = caplen <= room ? caplen : room > 0 ? room : 0;
      const next = w[q]!;
      if (onPacket(p) === false || next === 0) {
        i++;
        break;
      }
      off += next;
    }
    this.giveBack(base);
    return i;
  }

  /**
   * The offset in {@link bytes} of the next handed-over block, or -1 when none is ready. The
   * block is the caller's until {@link giveBack}: it may read it, and write into it (the kernel
   * rewrites every header when it fills the block again), but must give it back before taking
   * another. For consumers that walk a block themselves (tun/sniff-pcap.ts); {@link nextBlock}
   * is the per-packet form. Layout: the module comment; {@link blockPackets} and
   * {@link blockFirst} read the block's descriptor.
   */
  takeBlock(): number {
    return this.ready() ? this.cur * this.geometry.blockSize : -1;
  }

  /** Packets in the taken block at `base` (num_pkts of its descriptor). */
  blockPackets(base: number): number {
    return this.u32[(base >>> 2) + 3]!;
  }

  /** Offset in {@link bytes} of the first packet's header in the taken block at `base`. */
  blockFirst(base: number): number {
    return base + this.u32[(base >>> 2) + 4]!;
  }

  /** Gives the taken block at `base` back to the kernel and moves on to the next one. */
  giveBack(base: number): void {
    const w = this.u32;
    const bq = base >>> 2;
    const n = w[bq + 3]!;
    this.lastBlockBytes = w[bq + 5]!; // blk_len
    // ts_first_pkt at 32, ts_last_pkt at 40 (seconds, nanoseconds)
    this.lastBlockSpanNs = n > 0 ? (w[bq + 10]! - w[bq + 8]!) * 1e9 + (w[bq + 11]! - w[bq + 9]!) : 0;
    // Give the block back (the kernel writes into it again from now on). Its count is zeroed
    // first so that pendingInKernel() never reads a stale one before the kernel reopens it.
    w[bq + 3] = 0;
    w[bq + 2] = TPACKET.STATUS_KERNEL;
    this.cur = (this.cur + 1) % this.geometry.blockCount;
    this.handedOver += n;
  }

  /** Packets in every block handed over and given back so far (their num_pkts, summed). */
  handedOver = 0;

  /**
   * Packets in the block the kernel is filling (not handed over yet). Only meaningful once the
   * socket takes no more packets (no writer left): then a non-zero count is handed over by the block timer.
   */
  pendingInKernel(): number {
    const q = (this.cur * this.geometry.blockSize) >>> 2;
    if (this.u32.length < q + 4) return 0;
    return this.ready() ? 0 : this.u32[q + 3]!;
  }

  /** Calls {@link nextBlock} until no block is ready; returns the packets seen. */
  forEach(onPacket: (p: RingPacket) => boolean | void): number {
    let total = 0;
    for (let n = this.nextBlock(onPacket); n >= 0; n = this.nextBlock(onPacket)) total += n;
    return total;
  }

  /** Unmaps the ring (the socket stays open: close it after). Idempotent. */
  close(): void {
    this.bytes = new Uint8Array(0);
    this.u32 = new Uint32Array(0);
    this.u16 = new Uint16Array(0);
    this.unmap();
  }
}

