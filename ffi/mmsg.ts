/**
 * {@link MultiRecv}: receive many datagrams with one `recvmmsg()` call into preallocated slots.
 * For sockets where each message is its own datagram (a netlink batch's ACKs, packet sockets):
 * one syscall per batch instead of one per datagram, and no allocation per datagram.
 * {@link MultiSend}: the other way, many datagrams (runs of them as UDP GSO messages) with one
 * `sendmmsg()`, straight out of the caller's buffer, on a connected socket (tun2socks' UDP relay)
 * or with a destination per message (WireGuard's outer sockets, wg/udp.ts).
 *
 * @module
 */
import { raw, errno, addr, addrValue, sys, ERRNO, POLL, SOCK, SysError } from "./libc.ts";
import { IOVEC_SIZE, MMSGHDR_LEN, MMSGHDR_SIZE, MSGHDR, packMmsghdrs } from "./abi.ts";

const MSG_TRUNC = 0x20;

/**
 * Slots for `recvmmsg`. After `recv()` returns n, slot i holds `length(i)` bytes in
 * `slot(i)`, from the sender address in `name(i)`.
 *
 * @example
 * ```ts
 * import { MultiRecv } from "./mmsg.ts";
 * declare const fd: number; // a datagram socket
 * declare function handle(datagram: Uint8Array): void;
 * const m = new MultiRecv(64, 65536, 12);
 * const n = m.recv(fd, 0x40); // MSG_DONTWAIT
 * for (let i = 0; i < n; i++) handle(m.slot(i).subarray(0, m.length(i)));
 * ```
 */
export class MultiRecv {
  private readonly vec: Uint8Array;
  private readonly vecView: DataView;
  private readonly iov: Uint8Array;
  private readonly data: Uint8Array;
  private readonly names: Uint8Array;
  private readonly slots: Uint8Array[];
  private readonly nameSlots: Uint8Array[];
  /** Number of message slots (the most one call moves). */
  readonly count: number;
  /** Bytes per slot (the largest datagram a slot holds). */
  readonly slotSize: number;
  private readonly nameLen: number;
  private readonly ctrl: Uint8Array | undefined;
  /** DataView over every slot's control buffer (undefined without one); see {@link controlOffset}. */
  readonly control: DataView | undefined;
  private readonly ctrlLen: number;

  /**
   * `count` slots of `slotSize` bytes, each with room for a `nameLen`-byte sender address and
   * (when `controlLen` > 0) a control-message buffer of that size (SO_TIMESTAMPNS and the like).
   * Every buffer is over 1000 bytes so its address stays put (shared/notes pitfall 1).
   */
  constructor(count: number, slotSize: number, nameLen: number, controlLen = 0) {
    this.count = count;
    this.slotSize = slotSize;
    this.nameLen = nameLen;
    this.ctrlLen = controlLen;
    this.vec = new Uint8Array(new ArrayBuffer(Math.max(count * MMSGHDR_SIZE, 1024)));
    this.vecView = new DataView(this.vec.buffer);
    this.iov = new Uint8Array(new ArrayBuffer(Math.max(count * IOVEC_SIZE, 1024)));
    this.data = new Uint8Array(new ArrayBuffer(count * slotSize));
    const nameStride = (nameLen + 15) & ~15;
    this.names = new Uint8Array(new ArrayBuffer(Math.max(count * nameStride, 1024)));
    // Plain loops, one BigInt per buffer: Array.from, map and a BigInt per slot were ~1.5 ms of
    // a CPU-profiled `route add` (each builtin's first use in a process costs its own set-up;
    // issue 11). Slot i's address is base + i * slotSize, written by packMmsghdrs.
    const slots: Uint8Array[] = [];
    const nameSlots: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      slots.push(this.data.subarray(i * slotSize, (i + 1) * slotSize));
      nameSlots.push(this.names.subarray(i * nameStride, i * nameStride + nameLen));
    }
    this.slots = slots;
    this.nameSlots = nameSlots;
    packMmsghdrs(this.vec, this.iov, addrValue(this.iov), count, addrValue(this.data), slotSize, nameLen ? addrValue(this.names) : null, nameStride, nameLen);
    if (controlLen > 0) {
      this.ctrl = new Uint8Array(new ArrayBuffer(Math.max(count * controlLen, 1024)));
      this.control = new DataView(this.ctrl.buffer);
      const cbase = addrValue(this.ctrl);
      for (let i = 0; i < count; i++) this.vecView.setBigUint64(i * MMSGHDR_SIZE + MSGHDR.control, cbase + BigInt(i * controlLen), true);
    }
  }

  /**
   * One `recvmmsg(fd, slots, count, flags)`. Returns the number of datagrams received, or -1 when
   * none was queued (EAGAIN). Throws SysError otherwise.
   */
  recv(fd: number, flags: number, what = "recvmmsg"): number {
    // The kernel overwrites the in/out lengths of each slot it fills: reset them all.
    if (this.nameLen || this.ctrlLen) {
      for (let i = 0; i < this.count; i++) {
        const m = i * MMSGHDR_SIZE;
        if (this.nameLen) this.vecView.setUint32(m + MSGHDR.namelen, this.nameLen, true);
        if (this.ctrlLen) this.vecView.setUint32(m + MSGHDR.controllen, this.ctrlLen, true); // size_t: high half stays 0
      }
    }
    for (;;) {
      const n = raw.recvmmsg(fd, this.vec, this.count, flags, null);
      if (n >= 0) return n;
      const e = errno();
      if (e === ERRNO.EAGAIN) return -1;
      if (e === ERRNO.EINTR) continue;
      throw new SysError(what, e);
    }
  }

  /** Bytes of datagram i (the full length with MSG_TRUNC, even when larger than the slot). */
  length(i: number): number {
    return this.vecView.getUint32(i * MMSGHDR_SIZE + MMSGHDR_LEN, true);
  }

  /** True when datagram i did not fit its slot. */
  truncated(i: number): boolean {
    return (this.vecView.getInt32(i * MMSGHDR_SIZE + MSGHDR.flags, true) & MSG_TRUNC) !== 0;
  }

  /** The buffer of slot i (slotSize bytes). */
  slot(i: number): Uint8Array {
    return this.slots[i]!;
  }

  /** The sender address of datagram i. */
  name(i: number): Uint8Array {
    return this.nameSlots[i]!;
  }

  /** Bytes of control messages the kernel wrote for datagram i (0 without a control buffer). */
  controlLength(i: number): number {
    return this.ctrlLen ? this.vecView.getUint32(i * MMSGHDR_SIZE + MSGHDR.controllen, true) : 0;
  }

  /** Offset of datagram i's control buffer in {@link control}. */
  controlOffset(i: number): number {
    return i * this.ctrlLen;
  }
}

/** CMSG_SPACE(sizeof(u16)): one UDP_SEGMENT control message. */
const SEGMENT_CMSG = 24;
/** Bytes of one message's destination slot (a sockaddr_in6 is 28). */
const NAME_STRIDE = 32;
/** Most segments of one UDP GSO message (UDP_MAX_SEGMENTS is 64 before Linux 6.6). */
export const GSO_SEGMENTS = 64;
/** Most bytes of one UDP GSO message (16-bit IP and UDP lengths, IPv6's 40-byte header). */
export const GSO_BYTES = 65535 - 8 - 40;

/** How a {@link MultiSend} treats its socket(s). */
export interface MultiSendOptions {
  /**
   * Messages carry their own destination ({@link MultiSend.addTo}; an unconnected socket, e.g.
   * WireGuard's): a refusal (unreachable, no route) drops that message only and the rest go on.
   * Without it (a connected socket) a refusal is the socket's (ECONNREFUSED: the peer's port
   * closed) and stops the send.
   */
  addressed?: boolean;
  /** A full socket buffer (EAGAIN, ENOBUFS) waits for room, up to 20 polls of 10 ms, instead of dropping the rest. */
  patient?: boolean;
}

/**
 * Messages for one `sendmmsg`, each `len` bytes of a caller's buffer at an offset (no copy): one
 * datagram, or with `seg` > 0 a run of `seg`-byte datagrams laid back to back (the last may be
 * shorter) that the kernel cuts apart (UDP GSO, UDP_SEGMENT): one trip through the stack for the
 * run. The one sendmmsg path of tunkit: tun2socks' UDP relay (a connected socket, drops when
 * full) and WireGuard's outer sockets (wg/udp.ts's SendBatch: addressed messages, waits when
 * full). Nothing is allocated per message, nor per datagram when a run goes one by one.
 *
 * @example
 * ```ts
 * import { MultiSend } from "./mmsg.ts";
 * declare const fd: number; // a connected UDP socket
 * const buf = new Uint8Array(new ArrayBuffer(1 << 16));
 * const m = new MultiSend(buf);
 * m.add(0, 3000, 1000); // three datagrams of 1000 bytes, one message
 * m.add(3000, 20, 0); // one more datagram
 * const sent = m.send(fd); // 4, or fewer with m.error set
 * ```
 */
export class MultiSend {
  /** Process-wide: whether UDP_SEGMENT is tried (cleared when the kernel refuses it with EIO). */
  static gso = true;
  /** This sender's own switch (the caller's probe may clear it); cleared with {@link MultiSend.gso} on EIO. */
  gso = MultiSend.gso;
  private readonly vec: Uint8Array;
  private readonly vecView: DataView;
  private readonly iovView: DataView;
  private readonly ctrlView: DataView;
  private readonly names: Uint8Array | undefined;
  private readonly base: number;
  private readonly at: Int32Array;
  private readonly len: Int32Array;
  private readonly seg: Int32Array;
  private readonly addressed: boolean;
  private readonly patient: boolean;
  /** Messages added since the last {@link send} (or {@link clear}). */
  count = 0;
  /** errno of the last refused send (EAGAIN: the socket buffer was full), 0 when all went. */
  error = 0;
  /** Counters: sendmmsg calls, messages sent, of them UDP GSO runs, datagrams sent, runs sent one by one, waits for room. */
  readonly stats = { calls: 0, messages: 0, gsoMessages: 0, datagrams: 0, gsoFallbacks: 0, waits: 0 };

  /**
   * Messages out of `buf` (its address must not move: a buffer over 1000 bytes, see
   * shared/notes pitfall 1), at most `max` per sendmmsg.
   */
  constructor(
    readonly buf: Uint8Array,
    readonly max = 64,
    opts: MultiSendOptions = {},
  ) {
    this.addressed = opts.addressed === true;
    this.patient = opts.patient === true;
    this.vec = new Uint8Array(new ArrayBuffer(Math.max(max * MMSGHDR_SIZE, 1024)));
    this.vecView = new DataView(this.vec.buffer);
    const iov = new Uint8Array(new ArrayBuffer(Math.max(max * IOVEC_SIZE, 1024)));
    this.iovView = new DataView(iov.buffer);
    const ctrl = new Uint8Array(new ArrayBuffer(Math.max(max * SEGMENT_CMSG, 1024)));
    this.ctrlView = new DataView(ctrl.buffer);
    this.base = Number(addrValue(buf));
    this.at = new Int32Array(max);
    this.len = new Int32Array(max);
    this.seg = new Int32Array(max);
    const iovBase = addrValue(iov);
    const ctrlBase = addrValue(ctrl);
    if (this.addressed) this.names = new Uint8Array(new ArrayBuffer(Math.max(max * NAME_STRIDE, 1024)));
    const nameBase = this.names ? addrValue(this.names) : 0n;
    for (let i = 0; i < max; i++) {
      const m = i * MMSGHDR_SIZE;
      if (this.names) this.vecView.setBigUint64(m + MSGHDR.name, nameBase + BigInt(i * NAME_STRIDE), true);
      this.vecView.setBigUint64(m + MSGHDR.iov, iovBase + BigInt(i * IOVEC_SIZE), true);
      this.vecView.setBigUint64(m + MSGHDR.iovlen, 1n, true);
      this.vecView.setBigUint64(m + MSGHDR.control, ctrlBase + BigInt(i * SEGMENT_CMSG), true);
      // struct cmsghdr { size_t len = CMSG_LEN(2); int level = SOL_UDP; int type = UDP_SEGMENT; } + u16
      this.ctrlView.setBigUint64(i * SEGMENT_CMSG, 18n, true);
      this.ctrlView.setInt32(i * SEGMENT_CMSG + 8, SOCK.SOL_UDP, true);
      this.ctrlView.setInt32(i * SEGMENT_CMSG + 12, SOCK.UDP_SEGMENT, true);
    }
  }

  /** True when no message fits before a {@link send}. */
  get full(): boolean {
    return this.count >= this.max;
  }

  /** Adds `len` bytes at `at` of the buffer: one datagram, or with `seg` > 0 datagrams of `seg` bytes (only while {@link gso}). */
  add(at: number, len: number, seg: number): void {
    const i = this.count++;
    this.at[i] = at;
    this.len[i] = len;
    const s = seg > 0 && len > seg ? seg : 0;
    this.seg[i] = s;
    this.setIov(i, at, len);
    this.vecView.setUint32(i * MMSGHDR_SIZE + MSGHDR.controllen, s ? SEGMENT_CMSG : 0, true);
    if (s) this.ctrlView.setUint16(i * SEGMENT_CMSG + 16, s, true);
  }

  /** {@link add} to the destination `sa` (a sockaddr_in or sockaddr_in6; copied): only with `addressed`. */
  addTo(at: number, len: number, seg: number, sa: Uint8Array): void {
    const i = this.count;
    this.names!.set(sa, i * NAME_STRIDE);
    this.vecView.setUint32(i * MMSGHDR_SIZE + MSGHDR.namelen, sa.length, true);
    this.add(at, len, seg);
  }

  /** Bytes of message i's destination (16: IPv4, 28: IPv6; 0 on a connected socket). */
  nameLength(i: number): number {
    return this.names ? this.vecView.getUint32(i * MMSGHDR_SIZE + MSGHDR.namelen, true) : 0;
  }

  /** Points message i's iovec at `len` bytes of the buffer at `at` (number arithmetic: no BigInt per message). */
  private setIov(i: number, at: number, len: number): void {
    const a = this.base + at;
    const io = i * IOVEC_SIZE;
    this.iovView.setUint32(io, a % 0x100000000, true);
    this.iovView.setUint32(io + 4, Math.floor(a / 0x100000000), true);
    this.iovView.setUint32(io + 8, len, true);
    this.iovView.setUint32(io + 12, 0, true);
  }

  /** Datagrams messages [from, to) stand for. */
  datagrams(from: number, to = from + 1): number {
    let d = 0;
    for (let i = from; i < to; i++) {
      const s = this.seg[i]!;
      d += s > 0 ? Math.ceil(this.len[i]! / s) : 1;
    }
    return d;
  }

  /**
   * Sends what was added through `fd` and empties the list. Returns the datagrams the kernel
   * took; the rest are dropped (UDP may drop), with {@link error} set to why. See {@link sendRange}.
   */
  send(fd: number): number {
    this.error = 0;
    const sent = this.sendRange(fd, 0, this.count);
    this.count = 0;
    return sent;
  }

  /** Forgets what was added. */
  clear(): void {
    this.count = 0;
  }

  /**
   * Sends messages [from, to) through `fd` (non-blocking; the list stays as it is). Returns the
   * datagrams the kernel took. A run the kernel refuses as a GSO message (EIO: no checksum
   * offload on the route's device, which also turns GSO off; EINVAL/EMSGSIZE: longer than the
   * path takes) goes again one datagram at a time. A full buffer drops the rest, or with
   * `patient` waits; another refusal drops the rest, or with `addressed` that message only.
   */
  sendRange(fd: number, from: number, to: number): number {
    let i = from;
    let sent = 0;
    let tries = 0;
    while (i < to) {
      this.stats.calls++;
      const r = raw.sendmmsgp(fd, addr(this.vec, i * MMSGHDR_SIZE), to - i, SOCK.MSG_DONTWAIT);
      if (r > 0) {
        for (let k = i; k < i + r; k++) {
          const s = this.seg[k]!;
          if (s > 0) {
            sent += Math.ceil(this.len[k]! / s);
            this.stats.gsoMessages++;
          } else sent++;
        }
        this.stats.messages += r;
        i += r;
        continue;
      }
      const e = errno();
      if (e === ERRNO.EINTR) continue;
      if (this.seg[i]! > 0 && (e === ERRNO.EIO || e === ERRNO.EINVAL || e === ERRNO.EMSGSIZE)) {
        if (e === ERRNO.EIO) this.gso = MultiSend.gso = false;
        this.stats.gsoFallbacks++;
        sent += this.sendSplit(fd, i);
        i++;
        continue;
      }
      if (this.patient && (e === ERRNO.EAGAIN || e === ERRNO.ENOBUFS) && tries++ < 20) {
        this.stats.waits++;
        sys.pollOne(fd, POLL.OUT, 10);
        continue;
      }
      // full (EAGAIN, ENOBUFS), the socket's pending error (ECONNREFUSED), or this destination's
      this.error = e;
      if (!this.addressed) break;
      i++;
    }
    this.stats.datagrams += sent;
    return sent;
  }

  /**
   * Sends message i's datagrams one by one, each through message i's own header re-pointed at
   * it (no control message): no allocation per datagram. Returns those the kernel took.
   */
  private sendSplit(fd: number, i: number): number {
    const s = this.seg[i]!;
    const at = this.at[i]!;
    const len = this.len[i]!;
    const p = addr(this.vec, i * MMSGHDR_SIZE);
    this.vecView.setUint32(i * MMSGHDR_SIZE + MSGHDR.controllen, 0, true);
    let sent = 0;
    for (let o = 0; o < len; o += s) {
      this.setIov(i, at + o, Math.min(s, len - o));
      for (;;) {
        if (raw.sendmmsgp(fd, p, 1, SOCK.MSG_DONTWAIT) === 1) sent++;
        else {
          const e = errno();
          if (e === ERRNO.EINTR) continue;
          this.error = e;
        }
        break;
      }
    }
    return sent;
  }
}
