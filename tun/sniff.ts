/**
 * {@link PacketSniffer}: watch the packets crossing an interface without taking them, through
 * an AF_PACKET socket bound to it (ETH_P_ALL, both directions), the way tcpdump does on Linux.
 * The process that owns a tun keeps receiving every packet; the sniffer gets copies.
 *
 * Packets arrive through a TPACKET_V3 ring (tun/sniff-ring.ts) as libpcap's do: the kernel
 * writes them into memory shared with us and hands over a block when it is full or when the
 * block timeout ({@link SniffOptions.blockTimeoutMs}) runs out, so a flood costs no system call
 * per packet and a trickle one wake-up per timeout. Where the kernel refuses a ring (or
 * `ring: false`), the socket is drained with `recvmmsg` instead (64 per call, into preallocated
 * slots, MSG_TRUNC so the on-wire length is known, SO_TIMESTAMPNS for the kernel's receive
 * time). Either way the socket is non-blocking and waited on through the process-wide poller
 * (ffi/poller.ts): the event loop is never blocked, an idle sniffer costs no CPU, nothing is
 * allocated per packet. (One exception, asked for with `pollWaitMs` by a process that does
 * nothing else: during a flood the ring's next block is waited for in poll(2) on the JS thread,
 * as libpcap does.)
 *
 * Stopping (the signal aborts) with `drainOnStop`, the socket is closed to new packets first (a
 * filter that takes none) and every packet the kernel had already accepted is still delivered:
 * a capture file ends with all of them (captured + dropped = received).
 *
 * Link types: Ethernet-like devices (tap, veth, loopback) give whole frames (`"ethernet"`, VLAN
 * tags the kernel took off put back); a tun (ARPHRD_NONE) gives raw IP (`"raw"`); any other
 * device type is read "cooked" (SOCK_DGRAM: the network-layer packet, non-IP dropped) as raw IP.
 *
 * @module
 */
import { raw, errno, sys, ERRNO, POLL, SOCK, SysError, addrValue } from "../ffi/libc.ts";
import { encodeBpf, type BpfInsn } from "../packet/bpf.ts";
import {
  PACKET, packSockaddrLl, unpackSockaddrLl, SOCKADDR_LL_SIZE, TPACKET_STATS_SIZE,
} from "../ffi/abi.ts";
import { watch, type Watch } from "../ffi/poller.ts";
import { MultiRecv } from "../ffi/mmsg.ts";
import { RxRing, ringGeometry, TPACKET, type RingBlockConsumer, type RingPacket } from "./sniff-ring.ts";
import { UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import type { LinkType } from "../packet/types.ts";
import { CaptureClock } from "./clock.ts";


/** ARPHRD_* values the sniffer cares about (linux/if_arp.h). */
export const ARPHRD = { ETHER: 1, LOOPBACK: 772, NONE: 65534 } as const;

/** Direction of a captured packet: into the host ("in"), out of it ("out"), or unknown. */
export type { Direction } from "../packet/printer.ts";
import type { Direction } from "../packet/printer.ts";

/**
 * Called once per packet. `buf[offset..offset+caplen)` holds the captured bytes (reused after
 * the call: copy what you keep); `offset` is 0 unless the listener asked for `zeroCopy`;
 * `wireLen` is the packet's full length (>= caplen when cut by the snaplen); `sec` + `nsec` its
 * timestamp (sniffing: when the kernel received it).
 */
export type PacketHandler = (buf: Uint8Array, caplen: number, wireLen: number, dir: Direction, sec: number, nsec: number, offset: number) => void;

/** Options of {@link PacketSniffer.open}. */
export interface SniffOptions {
  /** Bytes kept per packet (1..262144). Default 262144. */
  snaplen?: number;
  /** The ring's size, or without a ring the socket's receive buffer, in bytes. Default 8 MiB. */
  bufferBytes?: number;
  /** A classic BPF program attached before any packet flows (see {@link PacketSniffer.attachFilter}). */
  filter?: readonly BpfInsn[];
  /** Packets per recvmmsg call (without a ring). Default 64. */
  batch?: number;
  /**
   * Capture through a TPACKET_V3 ring (default true); false, or a kernel that refuses it, drains
   * the socket with recvmmsg. The ring's size is `bufferBytes`.
   */
  ring?: boolean;
  /**
   * Ring: the longest a packet waits in a part-filled block before it is handed over, in ms
   * (1..60000, default 10). Longer means fewer wake-ups (writing files); shorter, quicker lines.
   */
  blockTimeoutMs?: number;
}

/** Options of {@link PacketSniffer.listen}. */
export interface SniffListenOptions {
  /** Stops the loop when aborted. */
  signal?: AbortSignal;
  /** Packets handled before yielding to the event loop. Default 256. */
  yieldEvery?: number;
  /**
   * After the socket ran dry, wait this many milliseconds once it is readable again before
   * draining, so packets are taken in bigger batches with fewer wake-ups (what TPACKET_V3's
   * block timeout does for tcpdump). For writing files, 0 for interactive output. With a ring,
   * any value above 0 means: while the blocks come in full (a flood), wait for the next one on
   * a timer ({@link RING_BUSY_WAIT_MS}, up to one block timeout) instead of the poller
   * (with {@link pollWaitMs}: in poll(2) instead of the timer).
   */
  coalesceMs?: number;
  /**
   * When the signal aborts: close the socket to new packets, then deliver every packet the kernel had already
   * accepted (in the ring's part-filled block or the socket's queue) before resolving "stopped".
   */
  drainOnStop?: boolean | (() => boolean);
  /**
   * Ring: hand over the ring's memory itself with the packet's `offset` in it, instead of a view
   * starting at the packet (which costs an object per packet). For handlers that honour `offset`.
   */
  zeroCopy?: boolean;
  /**
   * Ring: hand each block over whole to this consumer (tun/sniff-pcap.ts writes it to a file
   * straight from the ring) instead of calling the handler per packet. Without a ring
   * (recvmmsg), the handler is called as usual.
   */
  blocks?: RingBlockConsumer;
  /**
   * Ring: while the blocks come in full (a flood), wait for the next one in poll(2) on the
   * ring's socket, ON THE JS THREAD, for at most this many ms (1..1000), as libpcap does: the
   * kernel wakes the thread the moment it hands a block over (no timer step to guess, no helper
   * thread), so a small ring (libpcap's 2 MiB, 8 blocks, where a timer step would be a single
   * block anyway) is walked as soon as a block is ready. The event loop does not run while the
   * thread waits (at most this long; a flood hands a block over every few ms): for a process
   * that does nothing else, like `tunkit dump -w`. Absent or 0: the timer step
   * ({@link RING_BUSY_WAIT_MS}), which never blocks the event loop.
   */
  pollWaitMs?: number;
}

/** Kernel counters of a sniffer since it was opened (PACKET_STATISTICS, accumulated). */
export interface SniffStats {
  /** Packets the socket's filter accepted (captured + dropped). */
  received: number;
  /** Packets the kernel dropped because the socket's buffer was full. */
  dropped: number;
}

/** How {@link PacketSniffer.listen} ended. */
export type SniffEnd = "stopped" | "closed" | "down";

/** SO_ATTACH_FILTER, SO_ERROR (asm-generic/socket.h). */
const SO_ATTACH_FILTER = 26;
const SO_ERROR = 4;

/** SO_TIMESTAMPNS (= SCM_TIMESTAMPNS): a struct timespec control message with each packet. */
const SO_TIMESTAMPNS = 35;
/** PACKET_AUXDATA: a struct tpacket_auxdata control message (status, VLAN tag) with each packet. */
const PACKET_AUXDATA = 8;
/** Control buffer per slot: the timestamp (16 + 16) and the auxdata (16 + 20, aligned) messages. */
const CTRL_STRIDE = 128;

/** What the control messages of one datagram said. */
interface Ancillary {
  sec: number;
  nsec: number;
  /** false when no timestamp came. */
  hasTime: boolean;
  /** tp_status of the auxdata (TPACKET.STATUS_VLAN_VALID...), 0 without. */
  status: number;
  vlanTci: number;
  vlanTpid: number;
}

/** Walks datagram i's control messages (struct cmsghdr: 8-byte length, level, type, data, 8-aligned). */
function readAncillary(mm: MultiRecv, i: number, out: Ancillary): void {
  out.hasTime = false;
  out.status = 0;
  const cv = mm.control!;
  const start = mm.controlOffset(i);
  const end = start + Math.min(mm.controlLength(i), CTRL_STRIDE);
  let c = start;
  while (c + 16 <= end) {
    const len = cv.getUint32(c, true);
    if (len < 16 || c + len > end) break;
    const level = cv.getInt32(c + 8, true);
    const type = cv.getInt32(c + 12, true);
    if (level === SOCK.SOL_SOCKET && type === SO_TIMESTAMPNS && len >= 32) {
      out.sec = cv.getUint32(c + 16, true) + cv.getUint32(c + 20, true) * 4294967296;
      out.nsec = cv.getUint32(c + 24, true);
      out.hasTime = true;
    } else if (level === SOCK.SOL_PACKET && type === PACKET_AUXDATA && len >= 36) {
      out.status = cv.getUint32(c + 16, true);
      out.vlanTci = cv.getUint16(c + 32, true);
      out.vlanTpid = cv.getUint16(c + 34, true);
    }
    c += (len + 7) & ~7;
  }
}

/**
 * A frame whose 802.1Q tag the kernel (or the NIC) took off, with the tag put back after the
 * MAC addresses, as libpcap does: written into `out`; returns the bytes captured there.
 */
function reinsertVlan(src: Uint8Array, off: number, caplen: number, tci: number, tpid: number, out: Uint8Array): number {
  const room = out.length - 16;
  const rest = Math.min(caplen - 12, room);
  out.set(src.subarray(off, off + 12), 0);
  out[12] = tpid >> 8;
  out[13] = tpid & 0xff;
  out[14] = (tci >> 8) & 0xff;
  out[15] = tci & 0xff;
  out.set(src.subarray(off + 12, off + 12 + rest), 16);
  return rest + 16;
}

/** Ring: the most bytes of one packet delivered (the snaplen's bound). */
const MAX_CAPLEN_RING = 262144;

/** Largest slot: a 64 KiB packet plus link headers. Longer packets are cut (wireLen says so). */
const MAX_SLOT = 65536 + 256;
/** The ring's size when no `bufferBytes` (dump's `-B`) is given: 32 blocks of 256 KiB. */
export const DEFAULT_BUFFER = 8 << 20;

const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));
/**
 * Ring, writing a file without {@link SniffListenOptions.pollWaitMs}: the longest timer step
 * while blocks come in full (see {@link SniffListenOptions.coalesceMs}); shorter when blocks
 * fill faster (a step spans an eighth of the ring at the rate the last block filled). A 256 KiB
 * block of 64-byte packets fills in about 10 ms at 150k packets/s, so the default ring (32
 * blocks) holds 300 ms of such a flood, and 30 ms at 1.5M packets/s; libpcap's 2 MiB (8 blocks)
 * a quarter of that, where a step is one block and poll(2) does better (it wakes as soon as a
 * block is ready, never late by a timer's overshoot). 40 ms: four blocks per wake-up at 100k
 * packets/s (20 ms woke the JS thread about 95 times a second in bench/capture.ts's flood,
 * tcpdump about 60).
 */
export const RING_BUSY_WAIT_MS = 40;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** True for the errors of a device that went down or away. */
const isDown = (e: number): boolean => e === ERRNO.ENETDOWN || e === ERRNO.ENXIO || e === ERRNO.ENODEV;

/**
 * An AF_PACKET capture socket bound to one interface.
 *
 * @example
 * ```ts
 * import { PacketSniffer } from "./sniff.ts";
 * const s = PacketSniffer.open("tun0");
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 1000);
 * await s.listen((buf, caplen, wireLen, dir) => console.log(dir, caplen), { signal: ac.signal });
 * console.log(s.stats()); // for example { received: 12, dropped: 0 }
 * s.close();
 * ```
 */
export class PacketSniffer {
  /** The socket (non-blocking). -1 once closed. */
  fd: number;
  /** Interface name. */
  readonly name: string;
  /** Interface index. */
  readonly ifindex: number;
  /** ARPHRD_* type of the interface. */
  readonly hatype: number;
  /** What the captured bytes start with: an Ethernet header, or the IP header. */
  readonly linkType: LinkType;
  /** True when read cooked (SOCK_DGRAM): only IPv4/IPv6 packets are delivered. */
  readonly cooked: boolean;
  /** Bytes kept per packet. */
  readonly snaplen: number;
  /** The TPACKET_V3 ring, or undefined when packets come through recvmmsg. */
  private ring: RxRing | undefined;
  /** True while listen() walks the ring (close() then leaves the unmapping to it). */
  private walking = false;
  private mmBox: MultiRecv | undefined;
  private readonly batch: number;
  private readonly anc: Ancillary = { sec: 0, nsec: 0, hasTime: false, status: 0, vlanTci: 0, vlanTpid: 0 };
  // struct tpacket_stats_v3 is 12 bytes (the v1/v2 form is the first 8)
  private readonly statsBuf = new Uint8Array(Math.max(TPACKET_STATS_SIZE, 12));
  private acc: SniffStats = { received: 0, dropped: 0 };
  private watcher: Watch | undefined;
  private wake: (() => void) | undefined;
  private readonly clock = new CaptureClock();

  private constructor(fd: number, name: string, ifindex: number, hatype: number, cooked: boolean, snaplen: number, batch: number) {
    this.fd = fd;
    this.name = name;
    this.ifindex = ifindex;
    this.hatype = hatype;
    this.cooked = cooked;
    this.linkType = !cooked && (hatype === ARPHRD.ETHER || hatype === ARPHRD.LOOPBACK) ? "ethernet" : "raw";
    this.snaplen = snaplen;
    this.batch = batch;
  }

  /** The recvmmsg slots (made on first use: a ring needs none). */
  private get mm(): MultiRecv {
    return (this.mmBox ??= new MultiRecv(this.batch, Math.min(this.snaplen, MAX_SLOT), SOCKADDR_LL_SIZE, CTRL_STRIDE));
  }

  /** How packets come in: "ring" (TPACKET_V3) or "recvmmsg". */
  get method(): "ring" | "recvmmsg" {
    return this.ring ? "ring" : "recvmmsg";
  }

  /** Ring: its block timeout in ms (undefined without a ring). */
  get blockTimeoutMs(): number | undefined {
    return this.ring?.blockTimeoutMs;
  }

  /**
   * Opens a capture socket on interface `name` (needs CAP_NET_RAW). Throws SysError ENODEV when
   * there is no such interface, EPERM without the capability.
   */
  static open(name: string, opts: SniffOptions = {}): PacketSniffer {
    checkIfName(name);
    const snaplen = opts.snaplen ?? 262144;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 262144) throw new UsageError(`Invalid snaplen "${snaplen}": expected 1..262144`);
    const batch = opts.batch ?? 64;
    if (!Number.isInteger(batch) || batch < 1 || batch > 1024) throw new UsageError(`Invalid batch "${batch}": expected 1..1024`);
    const blockTimeout = opts.blockTimeoutMs ?? 10;
    if (!Number.isInteger(blockTimeout) || blockTimeout < 1 || blockTimeout > 60000) throw new UsageError(`Invalid block timeout "${blockTimeout}": expected 1..60000 ms`);
    const bufferBytes = opts.bufferBytes ?? DEFAULT_BUFFER;
    if (!Number.isInteger(bufferBytes) || bufferBytes < 4096 || bufferBytes > 1 << 30) {
      throw new UsageError(`Invalid buffer size "${bufferBytes}": expected 4096..1073741824 bytes`);
    }
    const ifindex = sys.ifNameToIndex(name);
    if (ifindex === 0) throw new SysError("if_nametoindex", ERRNO.ENODEV, name, `there is no interface "${name}" in this network namespace`);
    // Bound with protocol 0 (no packets yet) until the ring and the filter are in place.
    let fd = openBound(SOCK.SOCK_RAW, ifindex, name);
    let hatype: number;
    try {
      const sa = new Uint8Array(SOCKADDR_LL_SIZE);
      sys.getsockname(fd, sa);
      hatype = unpackSockaddrLl(sa).hatype;
    } catch (e) {
      raw.close(fd);
      throw e;
    }
    let cooked = false;
    if (hatype !== ARPHRD.ETHER && hatype !== ARPHRD.LOOPBACK && hatype !== ARPHRD.NONE) {
      raw.close(fd);
      fd = openBound(SOCK.SOCK_DGRAM, ifindex, name);
      cooked = true;
    }
    try {
      let ring: RxRing | undefined;
      if (opts.ring !== false) {
        try {
          ring = RxRing.open(fd, ringGeometry(bufferBytes, snaplen), blockTimeout);
        } catch (e) {
          // an old kernel, a memory limit: the socket is unchanged (PACKET_VERSION alone is
          // harmless for recvmmsg), capture the other way
          if (!(e instanceof SysError)) throw e;
        }
      }
      if (!ring) {
        // Root may exceed rmem_max (FORCE); others get what the sysctl allows.
        try {
          sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUFFORCE, bufferBytes);
        } catch {
          sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUF, bufferBytes);
        }
        sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SO_TIMESTAMPNS, 1);
        // VLAN tags the kernel took off come back as ancillary data (put back in the frame)
        sys.setsockoptInt(fd, SOCK.SOL_PACKET, PACKET_AUXDATA, 1);
      }
      const s = new PacketSniffer(fd, name, ifindex, hatype, cooked, snaplen, batch);
      s.ring = ring;
      if (opts.filter) s.attachFilter(opts.filter);
      // now every protocol: packets start to flow, through the ring and the filter
      if (raw.bind(fd, packSockaddrLl(PACKET.ETH_P_ALL, ifindex), SOCKADDR_LL_SIZE) < 0) throw new SysError("bind(AF_PACKET)", errno(), name);
      s.readKernelStats(); // start from zero
      s.acc = { received: 0, dropped: 0 };
      return s;
    } catch (e) {
      raw.close(fd);
      throw e;
    }
  }

  /**
   * Attaches a classic BPF program (SO_ATTACH_FILTER): the kernel then drops what it rejects
   * before copying it to us, and PACKET_STATISTICS counts only what it accepted. Replaces any
   * program attached before. Throws SysError when the kernel refuses the program.
   */
  attachFilter(prog: readonly BpfInsn[]): void {
    if (this.fd < 0) throw new UsageError("The sniffer is closed");
    if (prog.length < 1 || prog.length > 4096) throw new UsageError(`Invalid BPF program: ${prog.length} instructions, expected 1..4096`);
    // both buffers over 1000 bytes, in their own ArrayBuffers: a pointer taken from them stays valid
    const insns = encodeBpf(prog, new Uint8Array(new ArrayBuffer(Math.max(prog.length * 8, 1024))));
    const fprog = new Uint8Array(new ArrayBuffer(1024));
    const v = new DataView(fprog.buffer);
    v.setUint16(0, prog.length, true);
    v.setBigUint64(8, addrValue(insns), true);
    sys.setsockopt(this.fd, SOCK.SOL_SOCKET, SO_ATTACH_FILTER, fprog.subarray(0, 16), "setsockopt(SO_ATTACH_FILTER)");
    this.kernelFilter = true;
  }

  /**
   * Stops the socket taking packets: a filter that rejects every packet (`ret #0`) replaces any
   * other, so the kernel neither copies nor counts what comes after (a packet already past the
   * old filter on another CPU still lands, and is counted). Binding again with protocol 0 does
   * not do this: for AF_PACKET, protocol 0 in bind(2) means "keep the current one", so the
   * socket went on receiving during a stop's drain; a flood still running then never let the
   * drain catch up with PACKET_STATISTICS, and the packets accepted after its last walk were
   * counted as received but never delivered (dump-capture's SIGTERM test: 398 short once).
   */
  private refuseAll(): void {
    const userFilter = this.kernelFilter; // what the counts' report says stays as it was
    try {
      this.attachFilter([{ code: 0x06 /* BPF_RET | BPF_K */, jt: 0, jf: 0, k: 0 }]);
    } catch {
      // a kernel without socket filters: leave ETH_P_ALL for one protocol (0x88b5, IEEE's local
      // experimental EtherType: never on a tun, rare on a tap); bind(2) rehooks synchronously
      raw.bind(this.fd, packSockaddrLl(0x88b5, this.ifindex), SOCKADDR_LL_SIZE);
    } finally {
      this.kernelFilter = userFilter;
    }
  }

  /** True when a kernel filter is attached ({@link attachFilter}). */
  kernelFilter = false;

  /** True once close() ran. */
  get closed(): boolean {
    return this.fd < 0;
  }

  /** Reads PACKET_STATISTICS into the counters. */
  private readKernelStats(): void {
    if (this.fd < 0) return;
    sys.getsockopt(this.fd, SOCK.SOL_PACKET, PACKET.PACKET_STATISTICS, this.statsBuf);
    const b = this.statsBuf;
    // struct tpacket_stats { unsigned tp_packets, tp_drops } (native = little-endian here); reading resets them.
    // (struct tpacket_stats_v3 with a ring: the same two fields first)
    const packets = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    const drops = (b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0;
    this.acc.received += packets;
    this.acc.dropped += drops;
  }

  /** Counters since open (reads and accumulates the kernel's PACKET_STATISTICS). */
  stats(): SniffStats {
    this.readKernelStats();
    return { ...this.acc };
  }

  /**
   * Calls `onPacket` for every packet until `signal` aborts, close() runs, or the interface goes
   * down or away (resolves "stopped", "closed", "down"). Never blocks the event loop; yields every
   * `yieldEvery` packets under load.
   */
  async listen(onPacket: PacketHandler, opts: SniffListenOptions = {}): Promise<SniffEnd> {
    const yieldEvery = opts.yieldEvery ?? 256;
    if (!Number.isInteger(yieldEvery) || yieldEvery < 1) throw new UsageError(`Invalid yieldEvery "${yieldEvery}": expected a positive integer`);
    this.walking = true;
    try {
      const end = this.ring ? await this.walkRing(onPacket, opts, yieldEvery) : await this.drain(onPacket, opts);
      const drain = typeof opts.drainOnStop === "function" ? opts.drainOnStop() : opts.drainOnStop;
      if (end === "stopped" && drain && this.fd >= 0) await this.drainRest(onPacket, !!opts.zeroCopy, opts.blocks);
      return end;
    } finally {
      this.walking = false;
      if (this.fd < 0) this.unmapRing();
    }
  }

  /**
   * After a stop: closes the socket to new packets (a filter that takes none), then delivers
   * what the kernel had accepted. A ring's part-filled block is handed over by the kernel's
   * block timer, so this waits up to about one block timeout when it holds packets.
   */
  private async drainRest(onPacket: PacketHandler, zeroCopy: boolean, blocks: RingBlockConsumer | undefined): Promise<void> {
    this.refuseAll();
    if (!this.ring) {
      await this.drain(onPacket, {});
      return;
    }
    const ring = this.ring;
    // The block timer hands the part-filled block over about one block timeout after the last
    // packet; the deadline only guards against a kernel that never does. It is generous because a
    // loaded machine may run this loop, or the timer's softirq, late: leaving early loses packets
    // the kernel counted as received (captured + dropped would fall short of received).
    const deadline = Date.now() + ring.blockTimeoutMs * 4 + 3000;
    for (;;) {
      if (this.fd < 0) return;
      while (ring.ready()) {
        if (blocks?.room && !blocks.room(ring.geometry.blockSize)) {
          // the consumer's writer is behind; one that never catches up (a pipe nobody reads)
          // must not hold the stop past the deadline (its own settle says what was lost)
          if (Date.now() > deadline) return;
          await Promise.race([this.waitRoom(blocks), sleep(50)]);
          if (this.fd < 0) return;
          continue;
        }
        const how = this.walkBlock(onPacket, undefined, zeroCopy, blocks);
        if (how) return;
      }
      if (Date.now() > deadline) return;
      if (ring.pendingInKernel() === 0) {
        // Nothing seen pending in the block after ours: done once the ring has handed over as
        // many packets as the kernel accepted (PACKET_STATISTICS: received minus dropped). A
        // stop at load once left with 398 accepted packets never walked (dump-capture's SIGTERM
        // test: captured + dropped short of received), so the count, not only the block's
        // header, says when the drain is over.
        const s = this.stats();
        if (ring.handedOver >= s.received - s.dropped) return;
      }
      await sleep(Math.min(ring.blockTimeoutMs, 50));
    }
  }

  /** The recvmmsg path: until EAGAIN, then wait for the socket; resolves how it ended. */
  private async drain(onPacket: PacketHandler, opts: SniffListenOptions): Promise<SniffEnd> {
    const { signal } = opts;
    const yieldEvery = opts.yieldEvery ?? 256;
    const mm = this.mm;
    const anc = this.anc;
    const eth = this.linkType === "ethernet";
    const snap = Math.min(this.snaplen, mm.slotSize);
    const flags = SOCK.MSG_TRUNC | SOCK.MSG_DONTWAIT;
    const cooked = this.cooked;
    const coalesce = opts.coalesceMs ?? 0;
    const clock = this.clock;
    if (!(coalesce >= 0 && coalesce <= 1000)) throw new UsageError(`Invalid coalesceMs "${coalesce}": expected 0..1000`);
    while (!signal?.aborted) {
      if (this.fd < 0) return "closed";
      let handled = 0;
      let empty = false;
      while (handled < yieldEvery) {
        let n: number;
        try {
          n = mm.recv(this.fd, flags);
        } catch (e) {
          if (e instanceof SysError && isDown(e.errno)) return "down";
          throw e;
        }
        if (n < 0) {
          empty = true;
          break;
        }
        for (let i = 0; i < n; i++) {
          const name = mm.name(i);
          if (cooked) {
            const proto = (name[2]! << 8) | name[3]!;
            if (proto !== PACKET.ETH_P_IP && proto !== PACKET.ETH_P_IPV6) continue;
          }
          const wire = mm.length(i);
          readAncillary(mm, i, anc);
          if (!anc.hasTime) {
            clock.now();
            anc.sec = clock.sec;
            anc.nsec = clock.nsec;
          }
          const dir = name[10] === PACKET.OUTGOING ? "out" : "in";
          const cap = wire < snap ? wire : snap;
          if (eth && anc.status & TPACKET.STATUS_VLAN_VALID && cap >= 12) {
            const out = (this.vlanScratch ??= new Uint8Array(new ArrayBuffer(MAX_CAPLEN_RING + 4)));
            const tpid = anc.status & TPACKET.STATUS_VLAN_TPID_VALID && anc.vlanTpid ? anc.vlanTpid : 0x8100;
            const n = reinsertVlan(mm.slot(i), 0, cap, anc.vlanTci, tpid, out);
            onPacket(out, Math.min(n, this.snaplen), wire + 4, dir, anc.sec, anc.nsec, 0);
          } else onPacket(mm.slot(i), cap, wire, dir, anc.sec, anc.nsec, 0);
          if (signal?.aborted || this.fd < 0) break; // the rest of this batch is not delivered
        }
        handled += n;
        if (this.fd < 0) return "closed";
        if (signal?.aborted) return "stopped";
      }
      if (!empty) await immediate();
      else {
        if (!signal) return "stopped"; // drainRest: the queue is empty
        const how = await this.waitReadable(signal);
        if (how !== "ready") return how;
        if (coalesce > 0) await sleep(coalesce);
      }
    }
    return "stopped";
  }

  /** The ring path: every handed-over block, then wait for the next; resolves how it ended. */
  private async walkRing(onPacket: PacketHandler, opts: SniffListenOptions, yieldEvery: number): Promise<SniffEnd> {
    const { signal } = opts;
    const zeroCopy = !!opts.zeroCopy;
    const ring = this.ring!;
    const busyWait = (opts.coalesceMs ?? 0) > 0 ? Math.min(RING_BUSY_WAIT_MS, ring.blockTimeoutMs) : 0;
    const pollWait = opts.pollWaitMs ?? 0;
    if (!Number.isInteger(pollWait) || pollWait < 0 || pollWait > 1000) throw new UsageError(`Invalid pollWaitMs "${pollWait}": expected 0..1000`);
    let waited = 0;
    {
      while (!signal?.aborted) {
        if (this.fd < 0) return "closed";
        let handled = 0;
        let empty = false;
        // A block consumer does a bounded piece of work per block: it takes every block ready
        // (at most a ring's worth) before the event loop runs again; a handler per packet
        // yields every `yieldEvery` packets.
        const turn = opts.blocks ? Infinity : yieldEvery;
        let blocksLeft = ring.geometry.blockCount;
        let behind = false;
        const blocks = opts.blocks;
        while (handled < turn && blocksLeft-- > 0) {
          if (!ring.ready()) {
            empty = true;
            break;
          }
          if (blocks?.room && !blocks.room(ring.geometry.blockSize)) {
            behind = true;
            break;
          }
          const how = this.walkBlock(onPacket, signal, zeroCopy, blocks);
          if (how) return how;
          handled += this.lastBlock;
          waited = 0;
        }
        if (behind) {
          // the consumer's writer is behind: the blocks wait in the ring (the kernel counts
          // what it cannot hold as drops) until it has written something
          const how = await this.waitRoom(blocks!, signal);
          if (how) return how;
          continue;
        }
        if (!empty) {
          await immediate();
          continue;
        }
        // A flood: the last block came in at least half full, so the next one is due within a
        // block timeout. With pollWaitMs, wait for it in poll(2) on the ring's socket, as
        // libpcap does: the kernel wakes this thread when it hands the block over (one wake-up
        // per block, from the sender's context, and none while blocks are ready), so the ring
        // is walked as soon as there is something in it and a ring of libpcap's size holds.
        if (pollWait > 0 && ring.lastBlockBytes * 2 >= ring.geometry.blockSize && waited < ring.blockTimeoutMs) {
          const ms = Math.min(pollWait, ring.blockTimeoutMs - waited);
          const t0 = performance.now();
          const r = sys.pollOne(this.fd, POLL.IN, ms);
          if (ring.ready()) {
            this.pollWakes++;
            waited = 0;
            continue;
          }
          if (r > 0) {
            // woken with no block: an error on the socket, which the poller's wait below reads
            waited = ring.blockTimeoutMs;
          } else {
            // a timeout or a signal (EINTR): let the event loop run (a stop's handler, timers,
            // the file's writes) before waiting again
            waited += Math.max(1, Math.round(performance.now() - t0));
            await immediate();
            continue;
          }
        }
        // Without pollWaitMs, wait for it on a timer: cheaper than arming the poller, whose wake-up
        // crosses threads (bench/capture.ts: capturer CPU per packet). A wake-up costs more than
        // a block's work (a context switch: perf's top kernel symbol on the benchmark machine),
        // so a step lets an eighth of the ring fill (4 blocks of the default 32; at least one)
        // at the rate the last block filled, and at most RING_BUSY_WAIT_MS: a sleep spans a
        // small part of the ring however fast the flood.
        if (busyWait > 0 && ring.lastBlockBytes * 2 >= ring.geometry.blockSize && waited < ring.blockTimeoutMs) {
          const perWake = Math.max(1, Math.floor(ring.geometry.blockCount / 8));
          const step = Math.max(1, Math.min(busyWait, Math.floor((ring.lastBlockSpanNs * perWake) / 1e6)));
          await sleep(step);
          waited += step;
          continue;
        }
        const how = await this.waitReadable(signal);
        if (how !== "ready") return how;
        if (!ring.ready()) {
          // woken with no block: a socket error (the device went down or away), or nothing
          const err = sys.getsockoptInt(this.fd, SOCK.SOL_SOCKET, SO_ERROR);
          if (err !== 0 && isDown(err)) {
            // packets accepted before it went down are handed over by the block timer
            await sleep(ring.blockTimeoutMs + 20);
            while (this.fd >= 0 && ring.ready()) if (this.walkBlock(onPacket, undefined, zeroCopy, opts.blocks)) break;
            return this.fd < 0 ? "closed" : "down";
          }
          if (err !== 0) throw new SysError("recv(PACKET_RX_RING)", err, this.name);
        }
      }
      return "stopped";
    }
  }

  private lastBlock = 0;
  private vlanScratch: Uint8Array | undefined;

  /**
   * Ring: how many waits in poll(2) ({@link SniffListenOptions.pollWaitMs}) ended with a block
   * handed over.
   */
  pollWakes = 0;


  /**
   * Delivers the next handed-over block (sets lastBlock to its packet count). Returns "closed"
   * or "stopped" when the handler closed the sniffer or aborted `signal` (the rest of that block
   * is not delivered), undefined otherwise.
   */
  private walkBlock(onPacket: PacketHandler, signal: AbortSignal | undefined, zeroCopy: boolean, blocks?: RingBlockConsumer): "closed" | "stopped" | undefined {
    const ring = this.ring!;
    const cooked = this.cooked;
    const eth = this.linkType === "ethernet";
    const snap = this.snaplen;
    if (blocks) {
      const base = ring.takeBlock();
      if (base < 0) {
        this.lastBlock = 0;
        return undefined;
      }
      try {
        this.lastBlock = blocks.block(ring, base, cooked, eth, snap);
      } finally {
        ring.giveBack(base);
      }
      if (this.fd < 0) return "closed";
      return signal?.aborted ? "stopped" : undefined;
    }
    let how: "closed" | "stopped" | undefined;
    this.lastBlock = ring.nextBlock((p: RingPacket) => {
      if (cooked && p.protocol !== PACKET.ETH_P_IP && p.protocol !== PACKET.ETH_P_IPV6) return true;
      const dir = p.pkttype === PACKET.OUTGOING ? "out" : "in";
      let caplen = p.caplen < snap ? p.caplen : snap;
      let wire = p.wireLen;
      if (eth && p.status & TPACKET.STATUS_VLAN_VALID && p.caplen >= 12) {
        // the kernel (or the NIC) took the 802.1Q tag off: put it back after the MAC addresses
        const tpid = p.status & TPACKET.STATUS_VLAN_TPID_VALID && p.vlanTpid ? p.vlanTpid : 0x8100;
        const out = (this.vlanScratch ??= new Uint8Array(new ArrayBuffer(MAX_CAPLEN_RING + 4)));
        wire += 4;
        caplen = Math.min(reinsertVlan(ring.bytes, p.offset, p.caplen, p.vlanTci, tpid, out), snap);
        onPacket(out, caplen, wire, dir, p.sec, p.nsec, 0);
      } else if (zeroCopy) {
        onPacket(ring.bytes, caplen, wire, dir, p.sec, p.nsec, p.offset);
      } else {
        onPacket(ring.bytes.subarray(p.offset, p.offset + caplen), caplen, wire, dir, p.sec, p.nsec, 0);
      }
      if (this.fd < 0) {
        how = "closed";
        return false;
      }
      if (signal?.aborted) {
        how = "stopped";
        return false;
      }
      return true;
    });
    return how;
  }

  /**
   * Waits until a block consumer that was behind has room again ({@link RingBlockConsumer.room}),
   * `signal` aborts ("stopped") or the sniffer is closed ("closed").
   */
  private async waitRoom(blocks: RingBlockConsumer, signal?: AbortSignal): Promise<"stopped" | "closed" | undefined> {
    if (signal?.aborted) return "stopped";
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<void>((r) => {
      onAbort = () => r();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([blocks.whenRoom ? blocks.whenRoom() : sleep(1), aborted]);
    } finally {
      signal?.removeEventListener("abort", onAbort!);
    }
    if (this.fd < 0) return "closed";
    return signal?.aborted ? "stopped" : undefined;
  }

  /** Unmaps the PACKET_RX_RING, if any. */
  private unmapRing(): void {
    const r = this.ring;
    this.ring = undefined;
    r?.close();
  }

  /** Waits until the socket is readable, stop() is called, or the sniffer is closed. */
  private waitReadable(signal?: AbortSignal): Promise<"ready" | "stopped" | "closed"> {
    if (this.fd < 0) return Promise.resolve("closed");
    if (signal?.aborted) return Promise.resolve("stopped");
    return new Promise((resolve) => {
      const onAbort = () => done("stopped");
      const done = (how: "ready" | "stopped" | "closed") => {
        this.wake = undefined;
        signal?.removeEventListener("abort", onAbort);
        resolve(how);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.wake = () => done(this.fd < 0 ? "closed" : "ready");
      this.watcher ??= watch(this.fd, () => this.wake?.());
      this.watcher.arm();
    });
  }

  /** Closes the socket; a pending listen() resolves "closed". Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    try {
      this.readKernelStats();
    } catch {
      /* the counters are best effort at close */
    }
    this.watcher?.close();
    this.watcher = undefined;
    const fd = this.fd;
    this.fd = -1;
    // a listen() walking the ring right now (close() from inside a handler) unmaps it on its way out
    if (!this.walking) this.unmapRing();
    raw.close(fd);
    this.wake?.();
  }
}

/** socket(AF_PACKET, type, 0) bound to `ifindex` with protocol 0: no packet flows until it is bound again with ETH_P_ALL. */
function openBound(type: number, ifindex: number, name: string): number {
  const fd = raw.socket(SOCK.AF_PACKET, type | SOCK.SOCK_NONBLOCK | SOCK.SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const e = errno();
    throw new SysError(
      "socket(AF_PACKET)",
      e,
      name,
      e === ERRNO.EPERM ? "capturing needs CAP_NET_RAW: run as root, setcap cap_net_raw,cap_net_admin+ep, or inside a user namespace (unshare -rn)" : undefined,
    );
  }
  const r = raw.bind(fd, packSockaddrLl(0, ifindex), SOCKADDR_LL_SIZE);
  if (r < 0) {
    const e = errno();
    raw.close(fd);
    throw new SysError("bind(AF_PACKET)", e, name);
  }
  return fd;
}
