/**
 * Capture files: {@link PcapSink}, a buffered pcap writer onto a file descriptor that copies each
 * packet once into a reused buffer (no allocation per packet), and {@link CaptureFileReader},
 * which reads pcap or pcapng (told apart by the magic) as a stream.
 *
 * @module
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { MalformedError, TunkitError, UsageError } from "../common/errors.ts";
import { SysError, ERRNO } from "../ffi/errors.ts";
import { PcapReader, PcapWriter, MAX_CAPLEN, linkTypeNumber, type PcapHeader } from "../packet/pcap.ts";
import { PcapngReader } from "../packet/pcapng.ts";
import type { LinkType } from "../packet/types.ts";

/** Options of {@link PcapSink}. */
export interface PcapSinkOptions {
  /** "raw" (tun), "ethernet" (tap) or a LINKTYPE number. */
  linkType: LinkType | number;
  /** Snapshot length written in the header and applied to records. Default 262144. */
  snaplen?: number;
  /** Nanosecond timestamps (magic a1b23c4d). */
  nanosecond?: boolean;
  /** Buffer size before a write(2); default 1 MiB. */
  bufferBytes?: number;
}

const EAGAIN_WAIT = new Int32Array(new SharedArrayBuffer(4));

/**
 * A pcap file being written to a file descriptor: the header at once, then each record copied
 * into one reused buffer, written out when the buffer fills and on {@link flush} (call it from a
 * timer, and before exit). Nothing is allocated per packet.
 *
 * @example
 * ```ts
 * import { PcapSink } from "./capture-file.ts";
 * import { buildIcmpEcho } from "../mod.ts";
 * const packet = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2" });
 * const sink = PcapSink.open("out.pcap", { linkType: "raw" });
 * sink.write(packet, packet.length, packet.length, 1700000000, 0);
 * sink.close(); // flushes
 * ```
 */
export class PcapSink {
  /** Records written (or buffered). */
  packets = 0;
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  private used = 0;
  private readonly snaplen: number;
  private readonly nano: boolean;
  private fd: number;
  private readonly ownsFd: boolean;
  /** Set when a write failed (EPIPE on a closed stdout, disk full): later writes are dropped. */
  error: Error | undefined;

  constructor(fd: number, opts: PcapSinkOptions, ownsFd = false) {
    const w = new PcapWriter({ linkType: opts.linkType, snaplen: opts.snaplen, nanosecond: opts.nanosecond });
    this.snaplen = w.snaplen;
    this.nano = w.nanosecond;
    this.fd = fd;
    this.ownsFd = ownsFd;
    const size = Math.max(opts.bufferBytes ?? 1 << 20, MAX_CAPLEN + 64);
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    const h = w.header();
    this.buf.set(h, 0);
    this.used = h.length;
  }

  /** Opens `path` for writing (truncating it), or stdout for "-". */
  static open(path: string, opts: PcapSinkOptions): PcapSink {
    if (path === "-") return new PcapSink(1, opts, false);
    let fd: number;
    try {
      fd = openSync(path, "w", 0o644);
    } catch (e) {
      const err = e as { code?: string; errno?: number; message?: string };
      throw new TunkitError(`Cannot write "${path}": ${err.code ?? err.message ?? String(e)}`, "check the directory exists and is writable");
    }
    return new PcapSink(fd, opts, true);
  }

  /** Appends one record: `buf[0..caplen)`, on-wire length `wireLen`, timestamp sec + nsec. */
  write(buf: Uint8Array, caplen: number, wireLen: number, sec: number, nsec: number): void {
    const cap = caplen < this.snaplen ? caplen : this.snaplen;
    if (this.used + 16 + cap > this.buf.length) this.flush();
    const v = this.view;
    const o = this.used;
    v.setUint32(o, sec >>> 0, true);
    v.setUint32(o + 4, this.nano ? nsec : Math.floor(nsec / 1000), true);
    v.setUint32(o + 8, cap, true);
    v.setUint32(o + 12, (wireLen > cap ? wireLen : cap) >>> 0, true);
    this.buf.set(cap === buf.length ? buf : buf.subarray(0, cap), o + 16);
    this.used = o + 16 + cap;
    this.packets++;
  }

  /** Writes out what is buffered. Errors are kept in {@link error}, not thrown twice. */
  flush(): void {
    if (this.used === 0 || this.fd < 0) return;
    if (this.error) {
      this.used = 0;
      return;
    }
    let off = 0;
    try {
      while (off < this.used) {
        try {
          off += writeSync(this.fd, this.buf, off, this.used - off);
        } catch (e) {
          if ((e as { code?: string }).code !== "EAGAIN") throw e;
          Atomics.wait(EAGAIN_WAIT, 0, 0, 2); // a non-blocking stdout is full: wait for the reader
        }
      }
    } catch (e) {
      const err = e as { code?: string; message?: string };
      this.error = new TunkitError(`Writing the pcap failed: ${err.code ?? err.message ?? String(e)}`);
    }
    this.used = 0;
  }

  /** Flushes and closes the file (not stdout). Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    this.flush();
    if (this.ownsFd) closeSync(this.fd);
    this.fd = -1;
  }
}

/** One packet read from a capture file. */
export interface CaptureFileRecord {
  index: number;
  /** LINKTYPE number of the record's interface. */
  linkType: number;
  tsSec: number;
  tsNsec: number;
  captureLength: number;
  originalLength: number;
  data: Uint8Array;
}

const PCAPNG_MAGIC = 0x0a0d0d0a;
const PCAP_MAGICS: ReadonlySet<number> = new Set([0xa1b2c3d4, 0xa1b23c4d]);
const swap32 = (v: number): number => (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;

/**
 * Reads pcap (either byte order, µs or ns) or pcapng, told apart by the first four bytes, as a
 * stream: `push()` chunks, `next()` records until undefined, `end()` at EOF. `push()` and
 * `next()` throw {@link MalformedError} on a bad magic or an absurd length.
 *
 * @example
 * ```ts
 * import { CaptureFileReader } from "./capture-file.ts";
 * import { readFileSync } from "node:fs";
 * const r = new CaptureFileReader();
 * r.push(readFileSync("capture.pcap"));
 * for (let rec = r.next(); rec; rec = r.next()) console.log(rec.linkType, rec.captureLength);
 * r.end().truncated; // set when the file was cut inside a record
 * ```
 */
export class CaptureFileReader {
  /** "pcap" or "pcapng" once four bytes have arrived. */
  format: "pcap" | "pcapng" | undefined;
  private pending: Uint8Array[] = [];
  private pendingLen = 0;
  private pcap: PcapReader | undefined;
  private ng: PcapngReader | undefined;

  /** Appends bytes. */
  push(chunk: Uint8Array): void {
    if (this.pcap) return this.pcap.push(chunk);
    if (this.ng) return this.ng.push(chunk);
    if (chunk.length === 0) return;
    this.pending.push(chunk.slice());
    this.pendingLen += chunk.length;
    if (this.pendingLen < 4) return;
    const all = new Uint8Array(this.pendingLen);
    let o = 0;
    for (const c of this.pending) {
      all.set(c, o);
      o += c.length;
    }
    this.pending = [];
    const magic = ((all[0]! << 24) | (all[1]! << 16) | (all[2]! << 8) | all[3]!) >>> 0;
    if (magic === PCAPNG_MAGIC) {
      this.format = "pcapng";
      this.ng = new PcapngReader();
      this.ng.push(all);
    } else {
      this.format = "pcap";
      if (!PCAP_MAGICS.has(magic) && !PCAP_MAGICS.has(swap32(magic))) {
        throw new MalformedError(
          `Invalid pcap magic "0x${magic.toString(16).padStart(8, "0")}": expected a1b2c3d4 or a1b23c4d (pcapng files start with 0a0d0d0a)`,
          0,
        );
      }
      this.pcap = new PcapReader();
      this.pcap.push(all);
    }
  }

  /** The pcap file header (pcap only, once read). */
  get pcapHeader(): PcapHeader | undefined {
    return this.pcap?.header();
  }

  /** The next record, or undefined when more bytes are needed. */
  next(): CaptureFileRecord | undefined {
    if (this.pcap) {
      const h = this.pcap.header();
      if (!h) return undefined;
      const r = this.pcap.next();
      if (!r) return undefined;
      return { index: r.index, linkType: h.linkType, tsSec: r.tsSec, tsNsec: r.tsNsec, captureLength: r.captureLength, originalLength: r.originalLength, data: r.data };
    }
    if (this.ng) {
      const r = this.ng.next();
      if (!r) return undefined;
      return { index: r.index, linkType: r.linkType, tsSec: r.tsSec, tsNsec: r.tsNsec, captureLength: r.captureLength, originalLength: r.originalLength, data: r.data };
    }
    return undefined;
  }

  /** At end of input: records read, and where the input was cut if it was. */
  end(): { records: number; truncated?: { offset: number; have: number; need: number } } {
    if (this.pcap) return this.pcap.end();
    if (this.ng) return this.ng.end();
    return { records: 0, truncated: { offset: 0, have: this.pendingLen, need: 24 } };
  }
}

/**
 * The LINKTYPE a device of this kind needs in a replayed file: 101 (raw IP) for a tun, 1
 * (Ethernet) for a tap.
 *
 * @example
 * ```ts
 * import { linkTypeForDevice } from "./capture-file.ts";
 * linkTypeForDevice("tun"); // 101
 * ```
 */
export function linkTypeForDevice(kind: "tun" | "tap"): number {
  return linkTypeNumber(kind === "tap" ? "ethernet" : "raw");
}

