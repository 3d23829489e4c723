/**
 * A growable little-endian byte writer: the encoding side of netlink. Messages are written in
 * place into one buffer (which is reused between batches), lengths patched afterwards.
 *
 * @module
 */

/**
 * Appends host-order (little-endian) integers and bytes to a growable buffer.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "./writer.ts";
 * const w = new ByteWriter(16);
 * w.u16(1); w.u32(0xdeadbeef); w.align4();
 * w.finish(); // Uint8Array(8) [1, 0, 0xef, 0xbe, 0xad, 0xde, 0, 0]
 * ```
 */
export class ByteWriter {
  /** Backing buffer (replaced when it grows). */
  buf: Uint8Array;
  /** DataView over `buf`. */
  view: DataView;
  /** Bytes written so far. */
  len = 0;

  /** A writer with `size` bytes reserved (it grows as needed). */
  constructor(size = 4096) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  /** Forgets what was written, keeping the buffer. */
  reset(): void {
    this.len = 0;
  }

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    const need = this.len + n;
    if (need <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  /** Appends one byte. */
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  /** Appends a host-order (little-endian) u16. */
  u16(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.len, v, true);
    this.len += 2;
  }
  /** Appends a big-endian u16. */
  u16be(v: number): void {
    this.ensure(2);
    this.view.setUint16(this.len, v, false);
    this.len += 2;
  }
  /** Appends a host-order u32. */
  u32(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.len, v >>> 0, true);
    this.len += 4;
  }
  /** Appends a host-order i32. */
  i32(v: number): void {
    this.ensure(4);
    this.view.setInt32(this.len, v | 0, true);
    this.len += 4;
  }
  /** Appends a big-endian u32. */
  u32be(v: number): void {
    this.ensure(4);
    this.view.setUint32(this.len, v >>> 0, false);
    this.len += 4;
  }
  /** Appends a host-order u64. */
  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.len, v, true);
    this.len += 8;
  }
  /** Appends bytes as they are. */
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** Appends `n` zero bytes. */
  zero(n: number): void {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
  }
  /** Pads with zeros to a multiple of 4 (NLMSG_ALIGN / NLA_ALIGN). */
  align4(): void {
    const pad = (4 - (this.len & 3)) & 3;
    if (pad) this.zero(pad);
  }
  /** Overwrites a u16 at `off`. */
  setU16(off: number, v: number): void {
    this.view.setUint16(off, v, true);
  }
  /** Overwrites a u32 at `off`. */
  setU32(off: number, v: number): void {
    this.view.setUint32(off, v >>> 0, true);
  }
  /** View (no copy) over what was written; valid until the next write. */
  finish(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

/** Rounds `n` up to a multiple of 4 (NLMSG_ALIGN / NLA_ALIGN). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}
