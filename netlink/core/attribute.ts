/**
 * Netlink attributes (struct nlattr / rtattr): an encoder that writes TLVs straight into a
 * {@link ByteWriter} (nested attributes, 4-byte alignment), and an iterator-style decoder whose
 * typed getters record the first error instead of throwing mid-loop (the shape of
 * mdlayher/netlink's AttributeDecoder).
 *
 * @module
 */
import { MalformedError, TruncatedError } from "../../common/errors.ts";
import { ByteWriter } from "./writer.ts";

/** NLA_F_NESTED: set on nested attributes by newer kernels and tools. */
export const NLA_F_NESTED = 0x8000;
/** NLA_F_NET_BYTEORDER: payload is big-endian. */
export const NLA_F_NET_BYTEORDER = 0x4000;
/** Mask for the attribute type without the two flag bits. */
export const NLA_TYPE_MASK = 0x3fff;
/** Size of struct nlattr. */
export const NLA_HDRLEN = 4;

// Made on first use: a process's first TextEncoder/TextDecoder costs 0.2-0.5 ms, and a one-shot
// command may never encode or decode a string attribute here (issue 11).
let utf8: TextEncoder | undefined;
let utf8d: TextDecoder | undefined;

/**
 * Writes netlink attributes into a {@link ByteWriter}.
 *
 * @example
 * ```ts
 * import { AttributeEncoder } from "./attribute.ts";
 * import { ByteWriter } from "./writer.ts";
 * const w = new ByteWriter();
 * const ae = new AttributeEncoder(w);
 * ae.u32(4, 1500);                                 // IFLA_MTU
 * ae.nested(18, () => ae.string(1, "veth"));       // IFLA_LINKINFO { IFLA_INFO_KIND }
 * w.finish().length; // 8 + 16
 * ```
 */
export class AttributeEncoder {
  /** The buffer the attributes go to. */
  readonly w: ByteWriter;
  /** Encodes into `w` (a new writer by default). */
  constructor(w: ByteWriter = new ByteWriter()) {
    this.w = w;
  }

  /** Writes an nlattr header for a payload of `payload` bytes. */
  private header(type: number, payload: number): void {
    this.w.u16(NLA_HDRLEN + payload);
    this.w.u16(type);
  }

  /** Appends attribute `type` holding a u8. */
  u8(type: number, v: number): void {
    this.header(type, 1);
    this.w.u8(v);
    this.w.zero(3);
  }
  /** Appends attribute `type` holding a host-order u16. */
  u16(type: number, v: number): void {
    this.header(type, 2);
    this.w.u16(v);
    this.w.zero(2);
  }
  /** Appends attribute `type` holding a big-endian u16. */
  u16be(type: number, v: number): void {
    this.header(type, 2);
    this.w.u16be(v);
    this.w.zero(2);
  }
  /** Appends attribute `type` holding a host-order u32. */
  u32(type: number, v: number): void {
    this.header(type, 4);
    this.w.u32(v);
  }
  /** Appends attribute `type` holding a host-order i32. */
  i32(type: number, v: number): void {
    this.header(type, 4);
    this.w.i32(v);
  }
  /** Appends attribute `type` holding a host-order u64. */
  u64(type: number, v: bigint): void {
    this.header(type, 8);
    this.w.u64(v);
  }
  /** A zero-length attribute (NLA_FLAG). */
  flag(type: number): void {
    this.header(type, 0);
  }
  /** A NUL-terminated string (NLA_NUL_STRING / NLA_STRING as iproute2 sends it). */
  string(type: number, s: string): void {
    const b = (utf8 ??= new TextEncoder()).encode(s);
    this.header(type, b.length + 1);
    this.w.bytes(b);
    this.w.u8(0);
    this.w.align4();
  }
  /** Appends attribute `type` holding `b`, padded to 4 bytes. */
  bytes(type: number, b: Uint8Array): void {
    this.header(type, b.length);
    this.w.bytes(b);
    this.w.align4();
  }
  /** Opens a nested attribute; returns the offset to hand to {@link end}. */
  begin(type: number): number {
    const at = this.w.len;
    this.header(type, 0);
    return at;
  }
  /** Closes a nested attribute opened by {@link begin}. */
  end(at: number): void {
    this.w.setU16(at, this.w.len - at);
  }
  /** Writes a nested attribute whose children `fill` writes. */
  nested(type: number, fill: () => void): void {
    const at = this.begin(type);
    fill();
    this.end(at);
  }
}

let lastBuffer: ArrayBufferLike | undefined;
let lastView: DataView | undefined;

/**
 * A DataView over the whole buffer of `bytes` (read at `bytes.byteOffset + i`), shared by every
 * decoder over the same buffer: a dump's messages all sit in one receive buffer, and a DataView
 * per message and per nest was a measurable part of decoding a large dump.
 *
 * @example
 * ```ts
 * import { viewOf } from "./attribute.ts";
 * const b = new Uint8Array(16).subarray(8);
 * viewOf(b).byteLength; // 16 (the whole buffer)
 * ```
 */
export function viewOf(bytes: Uint8Array): DataView {
  const buf = bytes.buffer;
  if (buf === lastBuffer && lastView!.byteLength === buf.byteLength) return lastView!;
  lastBuffer = buf;
  lastView = new DataView(buf);
  return lastView;
}

/**
 * Iterates over the attributes of a byte range. Getters read the current attribute; a wrong
 * length records the first error in {@link err} (and returns 0 / "" / empty) so a decode loop
 * stays flat. Nothing is trusted: each length is checked against what is left.
 *
 * @example
 * ```ts
 * import { AttributeDecoder } from "./attribute.ts";
 * const ad = new AttributeDecoder(new Uint8Array([8, 0, 4, 0, 0xdc, 5, 0, 0]));
 * let mtu = 0;
 * while (ad.next()) if (ad.type === 4) mtu = ad.u32();
 * ad.check(); // throws the first error, if any
 * mtu; // 1500
 * ```
 */
export class AttributeDecoder {
  /** The attributes being decoded. */
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  /** Where the range starts inside the whole message (for error offsets). */
  readonly base: number;
  private pos = 0;
  /** Payload start and length of the current attribute. */
  private start = 0;
  private size = 0;
  /** Type of the current attribute, without NLA_F_NESTED / NLA_F_NET_BYTEORDER. */
  type = 0;
  /** Raw type field including flag bits. */
  rawType = 0;
  /** First error met, or undefined. */
  err: MalformedError | TruncatedError | undefined;

  /** Where `bytes` starts in {@link view} (the view spans the whole buffer, shared per buffer). */
  private readonly at: number;

  /**
   * Decodes the attributes in `bytes` from index `from` (default 0: all of it); `base` is the
   * offset of `bytes` in the message (for error offsets). A message's attributes are read with
   * `from` at the end of its fixed header: no view of them is made.
   */
  constructor(bytes: Uint8Array, base = 0, from = 0) {
    this.bytes = bytes;
    this.view = viewOf(bytes);
    this.at = bytes.byteOffset;
    this.base = base;
    this.pos = Math.min(from, bytes.length);
  }

  /** Advances to the next attribute; false at the end or after an error. */
  next(): boolean {
    if (this.err) return false;
    const left = this.bytes.length - this.pos;
    if (left < NLA_HDRLEN) {
      // Trailing padding shorter than a header is tolerated only if it is zeros.
      if (left > 0 && this.bytes.subarray(this.pos).some((b) => b !== 0)) {
        this.fail(new TruncatedError("netlink attribute header", this.base + this.pos, NLA_HDRLEN, this.base + this.bytes.length));
      }
      return false;
    }
    const len = this.view.getUint16(this.at + this.pos, true);
    const raw = this.view.getUint16(this.at + this.pos + 2, true);
    if (len < NLA_HDRLEN) {
      this.fail(new MalformedError(`Invalid netlink attribute length "${len}": shorter than its 4-byte header`, this.base + this.pos));
      return false;
    }
    if (len > left) {
      this.fail(new TruncatedError(`netlink attribute type ${raw & NLA_TYPE_MASK}`, this.base + this.pos, len, this.base + this.bytes.length));
      return false;
    }
    this.rawType = raw;
    this.type = raw & NLA_TYPE_MASK;
    this.start = this.pos + NLA_HDRLEN;
    this.size = len - NLA_HDRLEN;
    this.pos += (len + 3) & ~3;
    if (this.pos > this.bytes.length) this.pos = this.bytes.length;
    return true;
  }

  /** Payload length of the current attribute. */
  get length(): number {
    return this.size;
  }

  /** Offset of the current attribute's payload inside the whole message. */
  get offset(): number {
    return this.base + this.start;
  }

  /** Records the first error; later getters return zero values. */
  private fail(e: MalformedError | TruncatedError): void {
    if (!this.err) this.err = e;
  }

  /** Whether the current payload holds `n` bytes; records an error when not. */
  private want(n: number, what: string): boolean {
    if (this.size === n) return true;
    this.fail(new MalformedError(`Invalid ${what} attribute type ${this.type}: ${this.size} bytes, expected ${n}`, this.base + this.start));
    return false;
  }

  /** Records an error found by the caller (e.g. a value out of range). */
  error(message: string): void {
    this.fail(new MalformedError(message, this.base + this.start));
  }

  /** The current attribute's payload as a u8 (0 and a recorded error when too short). */
  u8(): number {
    return this.want(1, "u8") ? this.bytes[this.start]! : 0;
  }
  /** The payload as a host-order u16. */
  u16(): number {
    return this.want(2, "u16") ? this.view.getUint16(this.at + this.start, true) : 0;
  }
  /** The payload as a big-endian u16. */
  u16be(): number {
    return this.want(2, "u16") ? this.view.getUint16(this.at + this.start, false) : 0;
  }
  /** The payload as a host-order u32. */
  u32(): number {
    return this.want(4, "u32") ? this.view.getUint32(this.at + this.start, true) : 0;
  }
  /** The payload as a host-order i32. */
  i32(): number {
    return this.want(4, "s32") ? this.view.getInt32(this.at + this.start, true) : 0;
  }
  /** The payload as a host-order u64. */
  u64(): bigint {
    return this.want(8, "u64") ? this.view.getBigUint64(this.at + this.start, true) : 0n;
  }
  /** A u32 that some kernels send as u8 (e.g. IFLA_CARRIER is u8, IFA_FLAGS u32). */
  uint(): number {
    switch (this.size) {
      case 1:
        return this.bytes[this.start]!;
      case 2:
        return this.view.getUint16(this.at + this.start, true);
      case 4:
        return this.view.getUint32(this.at + this.start, true);
      default:
        this.want(4, "integer");
        return 0;
    }
  }
  /** String up to the first NUL (or the whole payload). */
  string(): string {
    const p = this.payload();
    const nul = p.indexOf(0);
    return (utf8d ??= new TextDecoder()).decode(nul < 0 ? p : p.subarray(0, nul));
  }
  /** Index of the current payload in {@link bytes} (to read it in place, without {@link payload}'s view). */
  get payloadStart(): number {
    return this.start;
  }
  /** Payload as a view (no copy). */
  payload(): Uint8Array {
    return this.bytes.subarray(this.start, this.start + this.size);
  }
  /** Payload copied out (for values kept beyond the receive buffer's life). */
  copy(): Uint8Array {
    return this.bytes.slice(this.start, this.start + this.size);
  }
  /** A decoder over the current attribute's payload; its errors flow into this one via {@link nested}. */
  child(): AttributeDecoder {
    return new AttributeDecoder(this.payload(), this.base + this.start);
  }
  /** Runs `fn` over the nested attributes of the current attribute; records its first error. */
  nested(fn: (ad: AttributeDecoder) => void): void {
    const c = this.child();
    fn(c);
    if (c.err) this.fail(c.err);
  }
  /** Throws the first recorded error, if any. */
  check(): void {
    if (this.err) throw this.err;
  }
}
