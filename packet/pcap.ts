/**
 * Classic pcap files: a writer producing `Uint8Array` chunks (the caller writes them) and a
 * streaming reader (push bytes as they arrive, pull records) that accepts both byte orders and
 * both the microsecond (a1b2c3d4) and nanosecond (a1b23c4d) magics.
 *
 * The reader refuses absurd record lengths (over 256 KiB, or over the file's snaplen) with a
 * {@link MalformedError}; a record cut short at the end of the file is reported by `end()`,
 * never thrown.
 *
 * @module
 */
import { MalformedError, TruncatedError, UsageError } from "../common/errors.ts";
import type { LinkType } from "./types.ts";

/** LINKTYPE_ETHERNET (tap). */
export const LINKTYPE_ETHERNET = 1;
/** LINKTYPE_RAW: raw IPv4/IPv6 (tun). */
export const LINKTYPE_RAW = 101;
/** LINKTYPE_IPV4 and LINKTYPE_IPV6: also raw IP. */
export const LINKTYPE_IPV4 = 228;
/** LINKTYPE_IPV6. */
export const LINKTYPE_IPV6 = 229;
/** Largest record (captured length) the readers accept: 256 KiB, as libpcap. */
export const MAX_CAPLEN = 262144;
/** tcpdump's default snapshot length. */
export const DEFAULT_SNAPLEN = 262144;

const MAGIC_USEC = 0xa1b2c3d4;
const MAGIC_NSEC = 0xa1b23c4d;

/**
 * Maps a LINKTYPE number to the link type `decode()` takes, or undefined if tunkit cannot
 * decode it. DLT_RAW's platform values 12 and 14 count as raw.
 *
 * @example
 * ```ts
 * import { linkTypeOf } from "./pcap.ts";
 * linkTypeOf(101); // "raw"
 * linkTypeOf(1); // "ethernet"
 * linkTypeOf(105); // undefined
 * ```
 */
export function linkTypeOf(n: number): LinkType | undefined {
  if (n === LINKTYPE_ETHERNET) return "ethernet";
  if (n === LINKTYPE_RAW || n === 12 || n === 14 || n === LINKTYPE_IPV4 || n === LINKTYPE_IPV6) return "raw";
  return undefined;
}

/**
 * Maps `decode()`'s link type (or a number) to a LINKTYPE number.
 *
 * @example
 * ```ts
 * import { linkTypeNumber } from "./pcap.ts";
 * linkTypeNumber("raw"); // 101
 * ```
 */
export function linkTypeNumber(t: LinkType | number): number {
  if (typeof t === "number") return t;
  return t === "ethernet" ? LINKTYPE_ETHERNET : LINKTYPE_RAW;
}

/** A timestamp: whole seconds since the epoch and nanoseconds. */
export interface Timestamp {
  /** Whole seconds since the epoch. */
  sec: number;
  /** Nanoseconds within the second (0..999999999). */
  nsec: number;
}

/**
 * Converts milliseconds since the epoch (`Date.now()`) or a {@link Timestamp} to a Timestamp.
 *
 * @example
 * ```ts
 * import { toTimestamp } from "./pcap.ts";
 * toTimestamp(1500); // { sec: 1, nsec: 500000000 }
 * ```
 */
export function toTimestamp(ts: number | Timestamp): Timestamp {
  if (typeof ts === "number") {
    const sec = Math.floor(ts / 1000);
    return { sec, nsec: Math.round((ts - sec * 1000) * 1e6) };
  }
  return ts;
}

/** Options of {@link PcapWriter}. */
export interface PcapWriterOptions {
  /** "raw" (tun, LINKTYPE_RAW 101), "ethernet" (tap, 1) or a LINKTYPE number. */
  linkType: LinkType | number;
  /** Snapshot length; longer packets are cut (the record keeps the original length). */
  snaplen?: number;
  /** Nanosecond timestamps (magic a1b23c4d) instead of microseconds. */
  nanosecond?: boolean;
}

/**
 * Writes pcap: `header()` once, then `record()` per packet; each returns bytes to append to
 * the file. Little-endian, version 2.4.
 *
 * @example
 * ```ts
 * import { PcapWriter } from "./pcap.ts";
 * const w = new PcapWriter({ linkType: "raw" });
 * const chunks = [w.header(), w.record(new Uint8Array([0x45, 0, 0, 20]), { sec: 1, nsec: 0 })];
 * ```
 */
export class PcapWriter {
  /** LINKTYPE number written in the header. */
  readonly linkType: number;
  /** Snapshot length. */
  readonly snaplen: number;
  /** Whether timestamps are in nanoseconds. */
  readonly nanosecond: boolean;

  /** Checks the options (snaplen 1..262144, link type 0..65535); throws UsageError. */
  constructor(opts: PcapWriterOptions) {
    this.linkType = linkTypeNumber(opts.linkType);
    this.snaplen = opts.snaplen ?? DEFAULT_SNAPLEN;
    this.nanosecond = opts.nanosecond ?? false;
    if (!Number.isInteger(this.snaplen) || this.snaplen < 1 || this.snaplen > MAX_CAPLEN) {
      throw new UsageError(`Invalid snaplen "${opts.snaplen}": expected 1..${MAX_CAPLEN}`);
    }
    if (!Number.isInteger(this.linkType) || this.linkType < 0 || this.linkType > 0xffff) {
      throw new UsageError(`Invalid link type "${opts.linkType}": expected 0..65535`);
    }
  }

  /** The 24-byte file header. */
  header(): Uint8Array {
    const b = new Uint8Array(24);
    const v = new DataView(b.buffer);
    v.setUint32(0, this.nanosecond ? MAGIC_NSEC : MAGIC_USEC, true);
    v.setUint16(4, 2, true);
    v.setUint16(6, 4, true);
    v.setUint32(16, this.snaplen, true);
    v.setUint32(20, this.linkType, true);
    return b;
  }

  /**
   * One record: 16-byte header plus the packet cut to the snaplen. `ts` is a Timestamp or
   * milliseconds since the epoch; `originalLength` defaults to `data.length`.
   */
  record(data: Uint8Array, ts: Timestamp | number, originalLength = data.length): Uint8Array {
    const t = toTimestamp(ts);
    const cap = Math.min(data.length, this.snaplen);
    const b = new Uint8Array(16 + cap);
    const v = new DataView(b.buffer);
    v.setUint32(0, t.sec >>> 0, true);
    v.setUint32(4, this.nanosecond ? t.nsec : Math.floor(t.nsec / 1000), true);
    v.setUint32(8, cap, true);
    v.setUint32(12, Math.max(originalLength, cap) >>> 0, true);
    b.set(data.subarray(0, cap), 16);
    return b;
  }
}

/** The pcap file header, as read. */
export interface PcapHeader {
  /** Byte order of the file. */
  byteOrder: "le" | "be";
  /** Nanosecond timestamps (magic 0xa1b23c4d) rather than microseconds. */
  nanosecond: boolean;
  /** Major version (2). */
  versionMajor: number;
  /** Minor version (4). */
  versionMinor: number;
  /** Largest record length the writer kept. */
  snaplen: number;
  /** LINKTYPE number (FCS bits masked off). */
  linkType: number;
}

/** One packet record. `data` is a view valid for as long as the caller keeps it. */
export interface PcapRecord {
  /** 0-based record number. */
  index: number;
  /** File offset of the record header. */
  offset: number;
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
export interface PcapEnd {
  /** Records read. */
  records: number;
  /** Set when the input ended inside a record (or the header). */
  truncated?: { offset: number; have: number; need: number };
}

/**
 * A byte buffer to which chunks are appended and from which a prefix is consumed. Never
 * mutates a buffer it handed out views of.
 */
class Feed {
  buf: Uint8Array = new Uint8Array(0);
  pos = 0;
  /** File offset of buf[0]. */
  base = 0;
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const rest = this.buf.length - this.pos;
    if (rest === 0) {
      this.base += this.buf.length;
      this.buf = chunk.slice();
      this.pos = 0;
      return;
    }
    const b = new Uint8Array(rest + chunk.length);
    b.set(this.buf.subarray(this.pos));
    b.set(chunk, rest);
    this.base += this.pos;
    this.buf = b;
    this.pos = 0;
  }
  get available(): number {
    return this.buf.length - this.pos;
  }
  get offset(): number {
    return this.base + this.pos;
  }
}

/**
 * Streaming pcap reader: `push()` bytes as they arrive, call `next()` until it returns
 * undefined (needs more bytes), and `end()` at EOF to learn whether the last record was cut.
 * `next()` throws {@link MalformedError} on a bad magic or an absurd record length.
 *
 * @example
 * ```ts
 * import { PcapReader } from "./pcap.ts";
 * const r = new PcapReader();
 * // r.push(chunk); for (let rec; (rec = r.next()); ) use(rec.data);
 * // const tail = r.end(); if (tail.truncated) warn();
 * ```
 */
export class PcapReader {
  private feed = new Feed();
  private hdr: PcapHeader | undefined;
  private le = true;
  private count = 0;
  private cut = 0;
  private readonly maxCaplen: number;

  /** Records longer than the file's snaplen, cut to it (libpcap does the same). */
  get cutRecords(): number {
    return this.cut;
  }

  /**
   * A reader with nothing pushed yet.
   *
   * @param opts `maxCaplen`: the largest record length accepted (default and cap: 256 KiB).
   */
  constructor(opts: { maxCaplen?: number } = {}) {
    this.maxCaplen = Math.min(opts.maxCaplen ?? MAX_CAPLEN, MAX_CAPLEN);
  }

  /** Appends bytes. */
  push(chunk: Uint8Array): void {
    this.feed.push(chunk);
  }

  /** The file header, once 24 bytes have arrived (throws MalformedError on a bad magic). */
  header(): PcapHeader | undefined {
    if (this.hdr) return this.hdr;
    const f = this.feed;
    if (f.available < 24) return undefined;
    const b = f.buf;
    const p = f.pos;
    const v = new DataView(b.buffer, b.byteOffset + p, 24);
    const mle = v.getUint32(0, true);
    const mbe = v.getUint32(0, false);
    let le: boolean;
    let nano: boolean;
    if (mle === MAGIC_USEC || mle === MAGIC_NSEC) {
      le = true;
      nano = mle === MAGIC_NSEC;
    } else if (mbe === MAGIC_USEC || mbe === MAGIC_NSEC) {
      le = false;
      nano = mbe === MAGIC_NSEC;
    } else {
      throw new MalformedError(
        `Invalid pcap magic "0x${mbe.toString(16).padStart(8, "0")}": expected a1b2c3d4 or a1b23c4d (pcapng files start with 0a0d0d0a)`,
        0,
      );
    }
    const versionMajor = v.getUint16(4, le);
    const versionMinor = v.getUint16(6, le);
    if (versionMajor !== 2) throw new MalformedError(`Unsupported pcap version "${versionMajor}.${versionMinor}": expected 2.x`, 4);
    let snaplen = v.getUint32(16, le);
    if (snaplen === 0 || snaplen > MAX_CAPLEN) snaplen = MAX_CAPLEN;
    this.le = le;
    this.hdr = {
      byteOrder: le ? "le" : "be",
      nanosecond: nano,
      versionMajor,
      versionMinor,
      snaplen,
      // libpcap's LT_LINKTYPE: the upper bits carry FCS information, not the link type
      linkType: v.getUint32(20, le) & 0x03ffffff,
    };
    f.pos += 24;
    return this.hdr;
  }

  /** The next complete record, or undefined if more bytes are needed. */
  next(): PcapRecord | undefined {
    const h = this.header();
    if (!h) return undefined;
    const f = this.feed;
    if (f.available < 16) return undefined;
    const b = f.buf;
    const v = new DataView(b.buffer, b.byteOffset + f.pos, 16);
    const caplen = v.getUint32(8, this.le);
    if (caplen > this.maxCaplen) {
      throw new MalformedError(
        `Invalid pcap record length "${caplen}" at offset ${f.offset}: larger than ${this.maxCaplen} bytes${caplen > h.snaplen ? ` (and the snaplen ${h.snaplen})` : ""}`,
        f.offset + 8,
      );
    }
    if (f.available < 16 + caplen) return undefined;
    // libpcap: a record longer than the file's snaplen (but sane) is cut to the snaplen, and read on
    const kept = caplen > h.snaplen ? h.snaplen : caplen;
    if (kept < caplen) this.cut++;
    const tsSec = v.getUint32(0, this.le);
    // libpcap reads the fraction as a signed 32-bit field and scales it without checking it (a
    // microsecond file's 1000000 prints as .1000000); tsNsec keeps that value, unnormalized
    const frac = v.getInt32(4, this.le);
    const rec: PcapRecord = {
      index: this.count++,
      offset: f.offset,
      tsSec,
      tsNsec: h.nanosecond ? frac : frac * 1000,
      captureLength: kept,
      originalLength: v.getUint32(12, this.le),
      data: b.subarray(f.pos + 16, f.pos + 16 + kept),
    };
    f.pos += 16 + caplen;
    return rec;
  }

  /** Call at end of input: reports a record (or header) cut short. */
  end(): PcapEnd {
    const f = this.feed;
    const out: PcapEnd = { records: this.count };
    if (!this.hdr) {
      out.truncated = { offset: 0, have: f.available, need: 24 };
      return out;
    }
    if (f.available === 0) return out;
    let need = 16;
    if (f.available >= 16) {
      const v = new DataView(f.buf.buffer, f.buf.byteOffset + f.pos, 16);
      need = 16 + v.getUint32(8, this.le);
    }
    out.truncated = { offset: f.offset, have: f.available, need };
    return out;
  }
}

/** A whole pcap file, read at once. */
export interface PcapFile {
  /** The file header. */
  header: PcapHeader;
  /** Every record, in file order. */
  records: PcapRecord[];
  /** Set when the file ends inside a record. */
  truncated?: { offset: number; have: number; need: number };
}

/**
 * Reads a whole pcap file held in memory. Throws {@link TruncatedError} if even the file header
 * is incomplete and {@link MalformedError} on a bad magic or absurd record length; a last
 * record cut short is reported in `truncated`.
 *
 * @example
 * ```ts
 * import { readPcap, PcapWriter } from "./pcap.ts";
 * const w = new PcapWriter({ linkType: "raw" });
 * const f = readPcap(new Uint8Array([...w.header(), ...w.record(new Uint8Array(20), 0)]));
 * f.records.length; // 1
 * ```
 */
export function readPcap(bytes: Uint8Array, opts: { maxRecords?: number } = {}): PcapFile {
  const r = new PcapReader();
  r.push(bytes);
  const header = r.header();
  if (!header) throw new TruncatedError("pcap file header", 0, 24, bytes.length);
  const records: PcapRecord[] = [];
  const max = opts.maxRecords ?? Infinity;
  for (let rec = r.next(); rec && records.length < max; rec = r.next()) records.push(rec);
  const tail = r.end();
  const out: PcapFile = { header, records };
  if (tail.truncated && records.length < max) out.truncated = tail.truncated;
  return out;
}
