/**
 * pcapng (draft-ietf-opsawg-pcapng) reader — Section Header, Interface Description, Enhanced
 * Packet, Simple Packet (and the obsolete Packet) blocks, both byte orders, several sections —
 * and a minimal writer (one section, one interface, Enhanced Packet Blocks).
 *
 * The reader is streaming like {@link PcapReader}: `push()` bytes, `next()` records, `end()`.
 * Absurd block or packet lengths throw {@link MalformedError}; a block cut at the end of the
 * input is reported by `end()`.
 *
 * @module
 */
import { MalformedError, TruncatedError, UsageError } from "../common/errors.ts";
import { DEFAULT_SNAPLEN, linkTypeNumber, MAX_CAPLEN, toTimestamp } from "./pcap.ts";
import type { Timestamp } from "./pcap.ts";
import type { LinkType } from "./types.ts";

const SHB = 0x0a0d0d0a;
const IDB = 0x00000001;
const PB = 0x00000002;
const SPB = 0x00000003;
const EPB = 0x00000006;
const BOM = 0x1a2b3c4d;

/** Largest block the reader accepts: a maximal packet plus generous room for options. */
export const MAX_BLOCK_LENGTH = MAX_CAPLEN + 65536;
/** At most this many interfaces per section. */
export const MAX_INTERFACES = 4096;

/** One interface (IDB). */
export interface PcapngInterface {
  /** LINKTYPE number of the interface. */
  linkType: number;
  /** Largest record length for the interface (0: no limit). */
  snaplen: number;
  /** Timestamp units per second as [base, exponent]: 10^6 by default. */
  tsResolution: { base: 2 | 10; exponent: number };
  /** if_tsoffset, seconds. */
  tsOffset: number;
  /** if_name option, if any (escaped to printable ASCII). */
  name?: string;
}

/** One packet record from an EPB, SPB or PB. */
export interface PcapngRecord {
  /** Position of the record in the file, from 0. */
  index: number;
  /** File offset of the block. */
  offset: number;
  /** Interface id (index into the file's interfaces). */
  interfaceId: number;
  /** LINKTYPE number of the record's interface. */
  linkType: number;
  /** Timestamp: seconds since the epoch. */
  tsSec: number;
  /** Timestamp: nanoseconds within the second. */
  tsNsec: number;
  /** Bytes captured (the length of `data`). */
  captureLength: number;
  /** Length of the packet on the wire (may be more than captured). */
  originalLength: number;
  /** The captured bytes. */
  data: Uint8Array;
}

/** What was left at the end of the input. */
export interface PcapngEnd {
  /** Records read in all. */
  records: number;
  /** Set when the input ended inside a block: where, bytes there, bytes the block needed. */
  truncated?: { offset: number; have: number; need: number };
}

/**
 * Streaming pcapng reader.
 *
 * @example
 * ```ts
 * import { PcapngReader } from "./pcapng.ts";
 * const r = new PcapngReader();
 * // r.push(bytes); for (let rec; (rec = r.next()); ) use(rec.data, rec.linkType);
 * // if (r.end().truncated) warn();
 * ```
 */
export class PcapngReader {
  private buf: Uint8Array = new Uint8Array(0);
  private pos = 0;
  private base = 0;
  private le = true;
  private inSection = false;
  private count = 0;
  /** Interfaces of the current section. */
  interfaces: PcapngInterface[] = [];

  /** Appends bytes. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const rest = this.buf.length - this.pos;
    const b = new Uint8Array(rest + chunk.length);
    b.set(this.buf.subarray(this.pos));
    b.set(chunk, rest);
    this.base += this.pos;
    this.buf = b;
    this.pos = 0;
  }

  /** Reads a u32 at `p` in the section's byte order. */
  private u32(p: number): number {
    const b = this.buf;
    return this.le
      ? (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0
      : ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }
  /** Reads a u16 at `p` in the section's byte order. */
  private u16(p: number): number {
    const b = this.buf;
    return this.le ? b[p]! | (b[p + 1]! << 8) : (b[p]! << 8) | b[p + 1]!;
  }

  /** The next packet record, or undefined if more bytes are needed. */
  next(): PcapngRecord | undefined {
    for (;;) {
      const avail = this.buf.length - this.pos;
      if (avail < 12) return undefined;
      const p = this.pos;
      const fileOff = this.base + p;
      const rawType = this.u32(p);
      if (rawType === SHB) {
        const b = this.buf;
        const bomLe = (b[p + 8]! | (b[p + 9]! << 8) | (b[p + 10]! << 16) | (b[p + 11]! << 24)) >>> 0;
        const bomBe = ((b[p + 8]! << 24) | (b[p + 9]! << 16) | (b[p + 10]! << 8) | b[p + 11]!) >>> 0;
        if (bomLe === BOM) this.le = true;
        else if (bomBe === BOM) this.le = false;
        else throw new MalformedError(`Invalid pcapng byte-order magic "0x${bomBe.toString(16)}" at offset ${fileOff + 8}`, fileOff + 8);
      } else if (!this.inSection) {
        throw new MalformedError(
          `Invalid pcapng file: block type "0x${rawType.toString(16)}" at offset ${fileOff} before any section header (a pcapng file starts with 0a0d0d0a)`,
          fileOff,
        );
      }
      const type = this.u32(p);
      const len = this.u32(p + 4);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK_LENGTH) {
        throw new MalformedError(`Invalid pcapng block length "${len}" at offset ${fileOff}: expected a multiple of 4, 12..${MAX_BLOCK_LENGTH}`, fileOff + 4);
      }
      if (avail < len) return undefined;
      const trailer = this.u32(p + len - 4);
      if (trailer !== len) {
        throw new MalformedError(`Invalid pcapng block at offset ${fileOff}: trailing length ${trailer} differs from ${len}`, fileOff + len - 4);
      }
      this.pos += len;
      const body = p + 8;
      const bodyEnd = p + len - 4;
      switch (type) {
        case SHB: {
          if (bodyEnd - body < 16) throw new MalformedError(`Invalid pcapng section header at offset ${fileOff}: too short`, fileOff);
          const major = this.u16(body + 4);
          if (major !== 1) throw new MalformedError(`Unsupported pcapng version "${major}" at offset ${fileOff}: expected 1`, fileOff + 12);
          this.inSection = true;
          this.interfaces = [];
          continue;
        }
        case IDB: {
          if (bodyEnd - body < 8) throw new MalformedError(`Invalid pcapng interface block at offset ${fileOff}: too short`, fileOff);
          if (this.interfaces.length >= MAX_INTERFACES) throw new MalformedError(`Too many pcapng interfaces: more than ${MAX_INTERFACES}`, fileOff);
          let snaplen = this.u32(body + 4);
          if (snaplen === 0 || snaplen > MAX_CAPLEN) snaplen = MAX_CAPLEN;
          const itf: PcapngInterface = { linkType: this.u16(body), snaplen, tsResolution: { base: 10, exponent: 6 }, tsOffset: 0 };
          this.options(body + 8, bodyEnd, (code, at, olen) => {
            if (code === 9 && olen >= 1) {
              const v = this.buf[at]!;
              itf.tsResolution = v & 0x80 ? { base: 2, exponent: v & 0x7f } : { base: 10, exponent: v };
            } else if (code === 14 && olen >= 8) {
              const hi = this.u32(this.le ? at + 4 : at) | 0;
              const lo = this.u32(this.le ? at : at + 4);
              itf.tsOffset = hi * 4294967296 + lo;
            } else if (code === 2) {
              let n = "";
              for (let i = 0; i < olen && i < 256; i++) {
                const c = this.buf[at + i]!;
                if (c === 0) break;
                n += c >= 0x20 && c <= 0x7e ? String.fromCharCode(c) : "?";
              }
              itf.name = n;
            }
          });
          this.interfaces.push(itf);
          continue;
        }
        case EPB:
        case PB: {
          if (bodyEnd - body < 20) throw new MalformedError(`Invalid pcapng packet block at offset ${fileOff}: too short`, fileOff);
          const ifId = type === EPB ? this.u32(body) : this.u16(body);
          const itf = this.interfaces[ifId];
          if (!itf) throw new MalformedError(`Invalid pcapng packet block at offset ${fileOff}: unknown interface "${ifId}"`, fileOff + 8);
          const hi = this.u32(body + 4);
          const lo = this.u32(body + 8);
          const cap = this.u32(body + 12);
          const orig = this.u32(body + 16);
          if (cap > MAX_CAPLEN || cap > itf.snaplen) {
            throw new MalformedError(`Invalid pcapng packet length "${cap}" at offset ${fileOff}: larger than ${cap > MAX_CAPLEN ? MAX_CAPLEN : `the snaplen ${itf.snaplen}`}`, fileOff + 20);
          }
          if (body + 20 + cap > bodyEnd) {
            throw new MalformedError(`Invalid pcapng packet block at offset ${fileOff}: packet length ${cap} overruns the block`, fileOff + 20);
          }
          const ts = convertTs(hi, lo, itf);
          return this.record(fileOff, ifId, itf, ts, cap, orig, body + 20);
        }
        case SPB: {
          if (bodyEnd - body < 4) throw new MalformedError(`Invalid pcapng simple packet block at offset ${fileOff}: too short`, fileOff);
          const itf = this.interfaces[0];
          if (!itf) throw new MalformedError(`Invalid pcapng simple packet block at offset ${fileOff}: no interface`, fileOff);
          const orig = this.u32(body);
          const cap = Math.min(orig, itf.snaplen, bodyEnd - body - 4);
          return this.record(fileOff, 0, itf, { sec: 0, nsec: 0 }, cap, orig, body + 4);
        }
        default:
          continue; // NRB, ISB, DSB, custom...: skipped
      }
    }
  }

  /** Builds a record from a packet block's fields. */
  private record(off: number, ifId: number, itf: PcapngInterface, ts: Timestamp, cap: number, orig: number, dataAt: number): PcapngRecord {
    return {
      index: this.count++,
      offset: off,
      interfaceId: ifId,
      linkType: itf.linkType,
      tsSec: ts.sec,
      tsNsec: ts.nsec,
      captureLength: cap,
      originalLength: orig,
      data: this.buf.subarray(dataAt, dataAt + cap),
    };
  }

  /** Walks the options from `p` to `end`, calling `f` for each (at most 1024). */
  private options(p: number, end: number, f: (code: number, at: number, len: number) => void): void {
    for (let i = 0; i < 1024 && p + 4 <= end; i++) {
      const code = this.u16(p);
      const olen = this.u16(p + 2);
      if (code === 0) return;
      if (p + 4 + olen > end) return;
      f(code, p + 4, olen);
      p += 4 + ((olen + 3) & ~3);
    }
  }

  /** Call at end of input: reports a block cut short. */
  end(): PcapngEnd {
    const avail = this.buf.length - this.pos;
    const out: PcapngEnd = { records: this.count };
    if (avail === 0 && this.inSection) return out;
    if (!this.inSection && avail === 0) {
      out.truncated = { offset: 0, have: 0, need: 28 };
      return out;
    }
    const need = avail >= 8 ? this.u32(this.pos + 4) : 12;
    out.truncated = { offset: this.base + this.pos, have: avail, need };
    return out;
  }
}

function convertTs(hi: number, lo: number, itf: PcapngInterface): Timestamp {
  const t = (BigInt(hi) << 32n) | BigInt(lo);
  const { base, exponent } = itf.tsResolution;
  let sec: bigint;
  let nsec: bigint;
  if (base === 10) {
    const unit = 10n ** BigInt(Math.min(exponent, 30));
    sec = t / unit;
    nsec = ((t % unit) * 1_000_000_000n) / unit;
  } else {
    const e = BigInt(Math.min(exponent, 64));
    sec = t >> e;
    nsec = ((t & ((1n << e) - 1n)) * 1_000_000_000n) >> e;
  }
  return { sec: Number(sec) + itf.tsOffset, nsec: Number(nsec) };
}

/** A whole pcapng file, read at once. */
export interface PcapngFile {
  /** Every packet record, in file order. */
  records: PcapngRecord[];
  /** Every interface (IDB), by interface id. */
  interfaces: PcapngInterface[];
  /** Set when the input ended inside a block: where, bytes there, bytes the block needed. */
  truncated?: { offset: number; have: number; need: number };
}

/**
 * Reads a whole pcapng file held in memory (MalformedError on bad structure; TruncatedError
 * if not even a section header is there; a cut last block is reported in `truncated`).
 *
 * @example
 * ```ts
 * import { readPcapng, PcapngWriter } from "./pcapng.ts";
 * const w = new PcapngWriter({ linkType: "raw" });
 * const f = readPcapng(new Uint8Array([...w.header(), ...w.record(new Uint8Array(20), 0)]));
 * f.records.length; // 1
 * ```
 */
export function readPcapng(bytes: Uint8Array): PcapngFile {
  if (bytes.length < 12) throw new TruncatedError("pcapng section header", 0, 28, bytes.length);
  const r = new PcapngReader();
  r.push(bytes);
  const records: PcapngRecord[] = [];
  const interfaces: PcapngInterface[] = [];
  for (let rec = r.next(); rec; rec = r.next()) records.push(rec);
  interfaces.push(...r.interfaces);
  const tail = r.end();
  const out: PcapngFile = { records, interfaces };
  if (tail.truncated) out.truncated = tail.truncated;
  return out;
}

/**
 * Minimal pcapng writer: `header()` (SHB + one IDB), then `record()` per packet (EPB), each
 * returning bytes to append. Little-endian; nanosecond resolution when asked (if_tsresol 9).
 *
 * @example
 * ```ts
 * import { PcapngWriter } from "./pcapng.ts";
 * const w = new PcapngWriter({ linkType: "ethernet", nanosecond: true });
 * const chunks = [w.header(), w.record(new Uint8Array(60), Date.now())];
 * ```
 */
export class PcapngWriter {
  /** LINKTYPE number written in the interface block. */
  readonly linkType: number;
  /** Snapshot length written in the interface block. */
  readonly snaplen: number;
  /** Nanosecond timestamps (if_tsresol 9) rather than microseconds. */
  readonly nanosecond: boolean;
  /**
   * A writer for one interface; {@link PcapngWriter.header} gives the SHB and IDB to write first.
   *
   * @param opts The link type (name or LINKTYPE number), the snapshot length and the timestamp resolution.
   */
  constructor(opts: { linkType: LinkType | number; snaplen?: number; nanosecond?: boolean }) {
    this.linkType = linkTypeNumber(opts.linkType);
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    this.nanosecond = opts.nanosecond ?? false;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > MAX_CAPLEN) {
      throw new UsageError(`Invalid snaplen "${opts.snaplen}": expected 1..${MAX_CAPLEN}`);
    }
  }

  /** Section header block plus interface description block. */
  header(): Uint8Array {
    const idbOpts = this.nanosecond ? 8 + 4 : 4; // if_tsresol option + opt_endofopt
    const shbLen = 28;
    const idbLen = 20 + idbOpts;
    const b = new Uint8Array(shbLen + idbLen);
    const v = new DataView(b.buffer);
    v.setUint32(0, SHB, true);
    v.setUint32(4, shbLen, true);
    v.setUint32(8, BOM, true);
    v.setUint16(12, 1, true);
    v.setUint16(14, 0, true);
    v.setInt32(16, -1, true);
    v.setInt32(20, -1, true);
    v.setUint32(24, shbLen, true);
    const o = shbLen;
    v.setUint32(o, IDB, true);
    v.setUint32(o + 4, idbLen, true);
    v.setUint16(o + 8, this.linkType, true);
    v.setUint32(o + 12, this.snaplen, true);
    let p = o + 16;
    if (this.nanosecond) {
      v.setUint16(p, 9, true);
      v.setUint16(p + 2, 1, true);
      b[p + 4] = 9;
      p += 8;
    }
    p += 4; // opt_endofopt (zeros)
    v.setUint32(p, idbLen, true);
    return b;
  }

  /** One Enhanced Packet Block (packet cut to the snaplen). */
  record(data: Uint8Array, ts: Timestamp | number, originalLength = data.length): Uint8Array {
    const t = toTimestamp(ts);
    const cap = Math.min(data.length, this.snaplen);
    const padded = (cap + 3) & ~3;
    const len = 32 + padded;
    const b = new Uint8Array(len);
    const v = new DataView(b.buffer);
    v.setUint32(0, EPB, true);
    v.setUint32(4, len, true);
    const units = this.nanosecond
      ? BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec)
      : BigInt(t.sec) * 1_000_000n + BigInt(Math.floor(t.nsec / 1000));
    v.setUint32(12, Number(units >> 32n), true);
    v.setUint32(16, Number(units & 0xffffffffn), true);
    v.setUint32(20, cap, true);
    v.setUint32(24, Math.max(originalLength, cap) >>> 0, true);
    b.set(data.subarray(0, cap), 28);
    v.setUint32(len - 4, len, true);
    return b;
  }
}
