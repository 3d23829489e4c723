/**
 * {@link MultiRecv}: receive many datagrams with one `recvmmsg()` call into preallocated slots.
 * For sockets where each message is its own datagram (a netlink batch's ACKs, packet sockets):
 * one syscall per batch instead of one per datagram, and no allocation per datagram.
 *
 * @module
 */
import { raw, errno, addrValue, ERRNO, SysError } from "./libc.ts";
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
    this.slots = Array.from({ length: count }, (_, i) => this.data.subarray(i * slotSize, (i + 1) * slotSize));
    this.nameSlots = Array.from({ length: count }, (_, i) => this.names.subarray(i * nameStride, i * nameStride + nameLen));
    const base = addrValue(this.data);
    const nbase = addrValue(this.names);
    packMmsghdrs(
      this.vec,
      this.iov,
      addrValue(this.iov),
      this.slots.map((_, i) => base + BigInt(i * slotSize)),
      slotSize,
      nameLen ? this.nameSlots.map((_, i) => nbase + BigInt(i * nameStride)) : null,
      nameLen,
    );
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
