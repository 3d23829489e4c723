/**
 * A bounds-checked reader over bytes. Every read checks the remaining length first and throws
 * {@link TruncatedError}; nothing here trusts a length that came from the kernel or the wire.
 *
 * @module
 */
import { TruncatedError } from "./errors.ts";

/**
 * Sequential, bounds-checked reader over a byte view.
 *
 * @example
 * ```ts
 * import { Cursor } from "./cursor.ts";
 * const c = new Cursor(new Uint8Array([0x45, 0x00, 0x00, 0x54]), "IPv4 header");
 * c.u8();      // 0x45
 * c.skip(1);
 * c.u16be();   // 84
 * c.remaining; // 0
 * ```
 */
export class Cursor {
  /** View over the bytes being read. */
  readonly bytes: Uint8Array;
  /** DataView over the same bytes. */
  readonly view: DataView;
  /** Read position, relative to `bytes`. */
  pos = 0;
  /** Name of what is being decoded, used in error messages. */
  readonly what: string;

  /** A reader at offset 0 of `bytes`; `what` names the input in errors. */
  constructor(bytes: Uint8Array, what = "input") {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.what = what;
  }

  /** Bytes left after the read position. */
  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  /** Throws {@link TruncatedError} unless `n` bytes are left. */
  need(n: number): void {
    if (n < 0 || this.pos + n > this.bytes.length) {
      throw new TruncatedError(this.what, this.pos, n, this.bytes.length);
    }
  }

  /** Reads one byte; throws TruncatedError past the end. */
  u8(): number {
    this.need(1);
    return this.bytes[this.pos++]!;
  }
  /** Reads a big-endian u16. */
  u16be(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, false);
    this.pos += 2;
    return v;
  }
  /** Reads a little-endian u16. */
  u16le(): number {
    this.need(2);
    const v = this.view.getUint16(this.pos, true);
    this.pos += 2;
    return v;
  }
  /** Reads a big-endian u32. */
  u32be(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, false);
    this.pos += 4;
    return v;
  }
  /** Reads a little-endian u32. */
  u32le(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** Reads a little-endian i32. */
  i32le(): number {
    this.need(4);
    const v = this.view.getInt32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** Reads a little-endian u64. */
  u64le(): bigint {
    this.need(8);
    const v = this.view.getBigUint64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** Host-order (little-endian on every architecture tunkit supports) u16/u32. */
  u16(): number {
    return this.u16le();
  }
  /** Reads a host-order (little-endian) u32. */
  u32(): number {
    return this.u32le();
  }
  /** A sub-view of `n` bytes (no copy), advancing past it. */
  bytesN(n: number): Uint8Array {
    this.need(n);
    const v = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return v;
  }
  /** A nested cursor over the next `n` bytes, advancing past them. */
  sub(n: number, what = this.what): Cursor {
    return new Cursor(this.bytesN(n), what);
  }
  /** Skips `n` bytes. */
  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }
  /** Everything left, advancing to the end. */
  rest(): Uint8Array {
    return this.bytesN(this.remaining);
  }
}
