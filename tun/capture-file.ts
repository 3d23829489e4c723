/**
 * Capture files: {@link PcapSink}, a buffered pcap writer onto a file descriptor that copies each
 * packet once into a reused buffer (no allocation per packet), written in the foreground or, for
 * a live capture, off the JS thread ({@link PcapSink.background}), and {@link CaptureFileReader},
 * which reads pcap or pcapng (told apart by the magic) as a stream.
 *
 * @module
 */
import { closeSync, fstatSync, ftruncateSync, openSync, write as writeAsync, writeSync } from "node:fs";
import { MalformedError, TunkitError, UsageError } from "../common/errors.ts";
import { SysError, ERRNO, errnoName } from "../ffi/errors.ts";
import { copyBytes, errno, raw } from "../ffi/libc.ts";
import { PcapReader, PcapWriter, MAX_CAPLEN, linkTypeNumber, type PcapHeader } from "../packet/pcap.ts";
import { PcapngReader, PcapngWriter } from "../packet/pcapng.ts";
import type { LinkType } from "../packet/types.ts";

/** Options of {@link PcapSink}. */
export interface PcapSinkOptions {
  /** "raw" (tun), "ethernet" (tap) or a LINKTYPE number. */
  linkType: LinkType | number;
  /** Snapshot length written in the header and applied to records. Default 262144. */
  snaplen?: number;
  /** Nanosecond timestamps (pcap magic a1b23c4d; pcapng if_tsresol 9). */
  nanosecond?: boolean;
  /** Buffer size before a write(2); default 1 MiB. */
  bufferBytes?: number;
  /** "pcap" (default) or "pcapng" (a section header, one interface, enhanced packet blocks). */
  format?: "pcap" | "pcapng";
  /** What to call the file in messages (default: the path given to open(), or "stdout"). */
  name?: string;
}

const EAGAIN_WAIT = new Int32Array(new SharedArrayBuffer(4));

/** A buffer of whole records handed to the background writer ({@link PcapSink.background}). */
interface Pending {
  buf: Uint8Array;
  view: DataView;
  /** End offsets of its records in buf. */
  ends: Int32Array;
  /** Records in it. */
  n: number;
  /** Bytes in it. */
  used: number;
  /** Bytes of the file header at its start (0 but in the first). */
  header: number;
  /** Bytes of it written so far. */
  done: number;
}

/** The state of a {@link PcapSink} that writes in the background. */
interface Background {
  /** Buffers waiting to be written, oldest first (the first may be in flight). */
  queue: Pending[];
  /** Written buffers, for reuse. */
  free: Pending[];
  /** Buffers that exist (queued, free, and the one being filled). */
  count: number;
  /** Bytes waiting (queued and being filled) beyond which {@link PcapSink.hasRoom} says no. */
  max: number;
  /** Bytes of the queue not yet written. */
  queued: number;
  inFlight: boolean;
  /** Called at every write's end (and at a failure). */
  waiters: Array<() => void>;
  /** close() came while writes were in flight: the last one closes the file. */
  closeAfter: boolean;
  /**
   * What a {@link PcapSink.kick} that came while a write was in flight asked for: the bytes
   * that must be buffered for the end of that write to hand them over (0: whatever is there;
   * Infinity: no kick waits, what is buffered waits for the next kick or flush).
   */
  wanted: number;
}

/**
 * Where a batch of pcap records is written in place into a {@link PcapSink}'s buffer
 * ({@link PcapSink.span}, {@link PcapSink.commit}).
 */
export interface RecordSpan {
  /** The sink's buffer. */
  buf: Uint8Array;
  /** A view of {@link buf}. */
  view: DataView;
  /** End offsets of the buffered records: the end of each record appended goes at `ends[n++]`. */
  ends: Int32Array;
  /** Where the next record goes in {@link buf}. */
  at: number;
  /** Records in the buffer (the ones appended included). */
  n: number;
  /** Records in the buffer before this span. */
  first: number;
}

/** The most entries {@link PcapSink.writeIov} takes at once (IOV_MAX on Linux). */
export const IOV_MAX = 1024;

/**
 * The message and hint for a failed write to a capture file: true for the errno at hand.
 *
 * @example
 * ```ts
 * import { writeFailure } from "./capture-file.ts";
 * writeFailure("ENOSPC", "out.pcap", 52).hint; // 'the file system holding "out.pcap" is full: ...'
 * ```
 */
export function writeFailure(code: string, name: string, written: number): TunkitError {
  const kept = `it holds the ${written} complete packet${written === 1 ? "" : "s"} written before`;
  const hints: Record<string, string> = {
    ENOSPC: `the file system holding "${name}" is full: free some space or write elsewhere (-w), or rotate with -C/-W; ${kept}`,
    EDQUOT: `your disk quota on the file system holding "${name}" is used up: free some space or write elsewhere; ${kept}`,
    EFBIG: `"${name}" reached the largest file this file system or the process limit (ulimit -f) allows: rotate with -C SIZE; ${kept}`,
    EPIPE: "the program reading the capture went away (a closed pipe)",
    EIO: `the device holding "${name}" reported an I/O error: check dmesg; ${kept}`,
    EROFS: `the file system holding "${name}" is read-only: write elsewhere`,
    EBADF: `"${name}" is not open for writing`,
  };
  return new TunkitError(`Writing "${name}" failed: ${code}`, hints[code] ?? `${kept}`);
}

/**
 * A capture file being written (pcap, or pcapng with `format: "pcapng"`): the header at once,
 * then each record copied into one reused buffer, written out when the buffer fills and on
 * {@link flush} (call it from a timer, and before exit). Nothing is allocated per packet.
 *
 * The file stays valid whatever happens: the buffer only ever holds whole records, and when a
 * write fails part-way (a full disk) the file is cut back to the end of the last complete
 * record (ftruncate), so a reader sees every packet counted in {@link written} and no partial
 * one. The first failure is kept in {@link error} (with a hint for its errno); later writes are
 * dropped.
 *
 * @example
 * ```ts
 * import { PcapSink } from "./capture-file.ts";
 * import { buildIcmpEcho } from "../mod.ts";
 * const packet = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2" });
 * const sink = PcapSink.open("out.pcap", { linkType: "raw" });
 * sink.write(packet, packet.length, packet.length, 1700000000, 0);
 * sink.close(); // flushes
 * sink.written; // 1
 * ```
 */
export class PcapSink {
  /** Records accepted (written or buffered). */
  packets = 0;
  /** Records that reached the file whole. */
  written = 0;
  /** Bytes of the file that hold whole records (and the header). */
  fileBytes = 0;
  /** What messages call the file. */
  readonly name: string;
  private buf: Uint8Array;
  private view: DataView;
  private used = 0;
  /** End offsets in buf of the records buffered since the last flush (the header counts as -1 records). */
  private ends: Int32Array;
  /** Background writing ({@link background}), once switched on. */
  private bg: Background | undefined;
  private nEnds = 0;
  private headerPending: boolean;
  /** Snapshot length of the file (records are cut to it). */
  readonly snaplen: number;
  private readonly nano: boolean;
  private readonly ng: boolean;
  private fd: number;
  private readonly ownsFd: boolean;
  private regular: boolean | undefined;
  /** Set when a write failed (EPIPE on a closed stdout, disk full): later writes are dropped. */
  error: TunkitError | undefined;

  /**
   * A sink writing to the open file descriptor `fd`; the file header is written first.
   *
   * @param fd Where to write.
   * @param opts Format, link type, snapshot length, name for messages.
   * @param ownsFd Close `fd` on close().
   */
  constructor(fd: number, opts: PcapSinkOptions, ownsFd = false) {
    this.ng = opts.format === "pcapng";
    const w = this.ng
      ? new PcapngWriter({ linkType: opts.linkType, snaplen: opts.snaplen, nanosecond: opts.nanosecond })
      : new PcapWriter({ linkType: opts.linkType, snaplen: opts.snaplen, nanosecond: opts.nanosecond });
    this.snaplen = w.snaplen;
    this.nano = w.nanosecond;
    this.fd = fd;
    this.ownsFd = ownsFd;
    this.name = opts.name ?? (fd === 1 ? "stdout" : `fd ${fd}`);
    const size = Math.max(opts.bufferBytes ?? 1 << 20, MAX_CAPLEN + 64);
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
    this.ends = new Int32Array(Math.ceil(size / 16) + 2);
    const h = w.header();
    this.buf.set(h, 0);
    this.used = h.length;
    this.headerPending = true;
  }

  /** Opens `path` for writing (truncating it), or stdout for "-". Throws TunkitError with a hint. */
  static open(path: string, opts: PcapSinkOptions): PcapSink {
    if (path === "-") return new PcapSink(1, { ...opts, name: opts.name ?? "stdout" }, false);
    return new PcapSink(openOutputFile(path), { ...opts, name: opts.name ?? path }, true);
  }

  /** Bytes buffered, not yet written. */
  get bufferedBytes(): number {
    return this.used + (this.bg ? this.bg.queued : 0);
  }

  /** True when the sink's records are pcapng blocks. */
  get pcapng(): boolean {
    return this.ng;
  }

  /** True when timestamps are written in nanoseconds. */
  get nanosecond(): boolean {
    return this.nano;
  }

  /**
   * Appends `count` (1..{@link IOV_MAX}) records that are already laid out in the file's form
   * somewhere in memory, one `struct iovec` each in `iov` (16 bytes: address, length), with one
   * writev(2): no copy on our side. What is buffered is written first. The guarantee of
   * {@link flush} holds: a write that fails part-way leaves the file cut back to its last whole
   * record, and {@link written} counts the records that reached it. A short write changes the
   * entries of `iov` (which must start at a multiple of 4 bytes in its buffer). Returns false
   * once the file has failed (see {@link error}).
   *
   * The ring path (tun/sniff-pcap.ts) writes a block's records straight from the ring this way.
   */
  writeIov(iov: Uint8Array, count: number): boolean {
    if (this.bg) throw new Error("PcapSink.writeIov: the sink writes in the background; write each record");
    if (this.error) return false;
    if (this.used > 0 && !this.flush()) return false;
    if (count <= 0) return true;
    if (this.fd < 0) return false;
    if (count > IOV_MAX || iov.length < count * 16) throw new RangeError(`writeIov: ${count} entries in ${iov.length} bytes (at most ${IOV_MAX})`);
    const w = new Uint32Array(iov.buffer, iov.byteOffset, count * 4);
    this.packets += count;
    let first = 0; // the first entry not yet written whole
    let partial = 0; // bytes of entry `first` written already (its entry was advanced by that much)
    let boundary = 0; // bytes of the entries written whole
    let code: string | undefined;
    while (first < count) {
      const r = raw.writev(this.fd, first === 0 ? iov : iov.subarray(first * 16), count - first);
      if (r < 0) {
        const e = errno();
        if (e === ERRNO.EINTR) continue;
        if (e === ERRNO.EAGAIN) {
          Atomics.wait(EAGAIN_WAIT, 0, 0, 2); // a non-blocking stdout is full: wait for the reader
          continue;
        }
        code = errnoName(e);
        break;
      }
      if (r === 0) {
        code = "EIO"; // nothing written and no error: never loop on it
        break;
      }
      let left = r;
      while (left > 0 && first < count) {
        const e = first * 4;
        const len = w[e + 2]!;
        if (left >= len) {
          left -= len;
          boundary += partial + len;
          partial = 0;
          first++;
        } else {
          // a short write inside this record: the rest of it next time
          const lo = w[e]! + left;
          w[e] = lo >>> 0;
          if (lo >= 4294967296) w[e + 1] = w[e + 1]! + 1;
          w[e + 2] = len - left;
          partial += left;
          left = 0;
        }
      }
    }
    if (code !== undefined) {
      if (partial > 0 && this.isRegular()) {
        try {
          ftruncateSync(this.fd, this.fileBytes + boundary);
        } catch {
          /* best effort: the error below is what matters */
        }
      }
      this.written += first;
      this.fileBytes += boundary;
      this.error = writeFailure(code, this.name, this.written);
      return false;
    }
    this.written += count;
    this.fileBytes += boundary;
    return true;
  }

  /**
   * Switches to writing in the background: from now on a flush hands the buffer over to a write
   * done off the JS thread (node:fs's asynchronous write, run on the runtime's I/O threads) and
   * goes on filling a fresh buffer. A slow disk, a file system's journal or the kernel throttling
   * dirty pages then never stops the caller from taking packets (a capture from a ring that is
   * not walked while a write(2) waits loses what the ring cannot hold). About `maxBytes`
   * (default 64 MiB) may wait to be written before {@link hasRoom} says no (nothing is refused
   * past it: {@link write} still takes every record). The guarantees stay: records reach the
   * file whole and in order, a write that fails part-way cuts the file back to its last whole
   * record, {@link written} counts what reached it. A write is started whenever none is in
   * flight, so records wait at most one write. Await {@link settle} before {@link close}.
   */
  background(maxBytes = 64 << 20): void {
    if (this.bg) return;
    this.bg = { queue: [], free: [], count: 1, max: Math.max(maxBytes, 2 * this.buf.length), queued: 0, inFlight: false, waiters: [], closeAfter: false, wanted: Infinity };
  }

  /** True once the file is closed (in the background: once the last write after close() ended). */
  get closed(): boolean {
    return this.fd < 0;
  }

  /** True when the sink writes in the background ({@link background}). */
  get inBackground(): boolean {
    return this.bg !== undefined;
  }

  /**
   * True when `bytes` more of records can be taken without going past the background writer's
   * bound ({@link background}); always true when writing in the foreground or once failed.
   */
  hasRoom(bytes: number): boolean {
    const bg = this.bg;
    return !bg || !!this.error || bg.queued + this.used + bytes <= bg.max;
  }

  /** Resolves when the background writer has finished a write (or failed); at once without one. */
  whenRoom(): Promise<void> {
    const bg = this.bg;
    if (!bg || this.error) return Promise.resolve();
    return new Promise((r) => {
      bg.waiters.push(r);
      if (!bg.inFlight) setTimeout(r, 2); // between writes (a full pipe's retry): look again soon
    });
  }

  /**
   * Background: starts writing what is buffered unless a write is in flight (then it goes next)
   * or less than `minBytes` is buffered (a timer's {@link flush} or {@link settle} takes the
   * rest): a capture kicked after every ring block with a threshold hands the I/O threads a few
   * large writes, not one small write (and two thread wake-ups) per block.
   */
  kick(minBytes = 0): void {
    const bg = this.bg;
    if (!bg) return;
    if (bg.inFlight) {
      // the end of the write in flight hands over what is buffered by then if it is this much
      if (minBytes < bg.wanted) bg.wanted = minBytes;
      return;
    }
    if (this.used > 0 && this.used >= minBytes) this.flush();
  }

  /**
   * Resolves once every record taken so far has been written (or the file has failed: see
   * {@link error}). In the foreground, the same as {@link flush}. In the background, when no
   * write ends for `stallMs` (default: wait for ever), it gives up: {@link error} then says the
   * output stalled and how many records were not delivered.
   */
  async settle(stallMs = Infinity): Promise<void> {
    const bg = this.bg;
    if (!bg) {
      this.flush();
      return;
    }
    this.kick();
    while (!this.error && this.fd >= 0 && (bg.inFlight || bg.queue.length > 0 || this.used > 0)) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let moved = false;
      await new Promise<void>((r) => {
        bg.waiters.push(() => {
          moved = true;
          r();
        });
        if (stallMs !== Infinity) timer = setTimeout(r, stallMs);
      });
      clearTimeout(timer);
      if (!moved) {
        // nothing written for stallMs: a reader that stays alive and never reads (a disk does
        // not stall that long); the write in flight may never end, so stop waiting for it
        this.stalled(stallMs);
        return;
      }
      this.kick();
    }
  }

  /**
   * Background: gives up on the writes still to do after `ms` without progress ({@link settle}):
   * {@link error} says how many records never reached the file, and later writes are dropped.
   */
  private stalled(ms: number): void {
    const bg = this.bg!;
    const lost = this.packets - this.written;
    const held = `it got the ${this.written} complete packet${this.written === 1 ? "" : "s"} written before`;
    const who = !this.isRegular() ? "the program reading the capture stopped reading (a pipe nobody reads)" : `the file system holding "${this.name}" stopped taking writes`;
    this.error = new TunkitError(`Writing "${this.name}" stalled: nothing written for ${Math.round(ms / 100) / 10} s, ${lost} packet${lost === 1 ? "" : "s"} not delivered`, `${who}; ${held}`);
    bg.queue.length = 0;
    bg.queued = 0;
    this.used = 0;
    this.nEnds = 0;
    // the write in flight, if it ever ends, closes nothing: the fd is left to the process's exit
    bg.closeAfter = false;
  }

  /** Background: hands the buffer over to the writer and goes on with a fresh one. */
  private handOver(): boolean {
    const bg = this.bg!;
    if (this.error) {
      this.used = 0;
      this.nEnds = 0;
      return false;
    }
    if (this.used === 0 || this.fd < 0) return true;
    let next = bg.free.pop();
    if (!next) {
      // past the bound too (hasRoom said so): never refuse a record
      const buf = new Uint8Array(this.buf.length);
      next = { buf, view: new DataView(buf.buffer), ends: new Int32Array(this.ends.length), n: 0, used: 0, header: 0, done: 0 };
      bg.count++;
    }
    bg.queue.push({ buf: this.buf, view: this.view, ends: this.ends, n: this.nEnds, used: this.used, header: this.headerPending ? this.headerLength() : 0, done: 0 });
    bg.queued += this.used;
    bg.wanted = Infinity;
    this.handedSinceIdle = true;
    this.headerPending = false;
    this.buf = next.buf;
    this.view = next.view;
    this.ends = next.ends;
    this.used = 0;
    this.nEnds = 0;
    this.pump();
    return true;
  }

  /** Background: starts the next write unless one is in flight. */
  private pump(): void {
    const bg = this.bg!;
    if (bg.inFlight || this.error || this.fd < 0) return;
    const p = bg.queue[0];
    if (!p) {
      // What came in meanwhile goes next (handOver calls pump) when a kick asked for it: a
      // capture that kicks at KICK_BYTES (tun/sniff-pcap.ts) then writes that much at a time,
      // not also a small write (two I/O threads and the JS thread woken) for whatever a block
      // or two left when a write ended; the rest waits for the next kick or flush (`tunkit
      // dump`: 250 ms timer). A kick for any size (-U, settle, close) still takes it.
      if (this.used > 0 && (this.used >= bg.wanted || bg.closeAfter)) this.handOver();
      else if (this.used === 0 && bg.closeAfter) this.close();
      return;
    }
    bg.inFlight = true;
    writeAsync(this.fd, p.buf, p.done, p.used - p.done, null, (err, n) => this.wrote(p, err, n));
  }

  /** Background: the end of a write of `p`. */
  private wrote(p: Pending, err: NodeJS.ErrnoException | null, n: number): void {
    const bg = this.bg!;
    bg.inFlight = false;
    if (this.error) return; // given up on (a stall): the counts stay what the error says
    if (err || !(n > 0)) {
      const c = err ? err.code ?? "EIO" : "EIO"; // nothing written and no error: never loop on it
      if (c === "EAGAIN") setTimeout(() => this.pump(), 2); // a non-blocking stdout is full: wait for the reader
      else if (c === "EINTR") this.pump();
      else this.failBackground(p, c);
      if (c === "EAGAIN" || c === "EINTR") return;
    } else {
      p.done += n;
      bg.queued -= n;
      if (p.done >= p.used) {
        bg.queue.shift();
        this.written += p.n;
        this.fileBytes += p.used;
        p.n = p.used = p.header = p.done = 0;
        bg.free.push(p);
      }
      this.pump();
    }
    const ws = bg.waiters.splice(0);
    for (const w of ws) w();
  }

  /** Background: a write of `p` failed with `code`: cut the file back to its last whole record. */
  private failBackground(p: Pending, code: string): void {
    const bg = this.bg!;
    let whole = 0;
    let boundary = 0;
    if (p.done >= p.header) {
      boundary = p.header;
      while (whole < p.n && p.ends[whole]! <= p.done) boundary = p.ends[whole++]!;
    }
    if (boundary < p.done && this.isRegular()) {
      try {
        ftruncateSync(this.fd, this.fileBytes + boundary);
      } catch {
        /* best effort: the error below is what matters */
      }
    }
    this.written += whole;
    this.fileBytes += boundary;
    this.error = writeFailure(code, this.name, this.written);
    bg.queue.length = 0;
    bg.queued = 0;
    this.used = 0;
    this.nEnds = 0;
    if (bg.closeAfter) this.close();
  }

  /**
   * Room for up to `bytes` of pcap records appended in place (the ring's copy path,
   * tun/sniff-pcap.ts: a whole ring block's records with no call per record): what is buffered
   * is written out first when they would not fit. Returns the sink's reused {@link RecordSpan}
   * (the buffer, where the next record goes, its record ends), or undefined once the file has
   * failed, for pcapng (its blocks are not laid out this way) and for more than the buffer holds.
   * Write each record at `span.at` (16-byte header, then the bytes cut to {@link snaplen}),
   * advance `at`, put the new `at` in `span.ends[span.n++]`; then {@link commit}. Nothing else
   * may write to the sink in between.
   */
  span(bytes: number): RecordSpan | undefined {
    if (this.error || this.ng || bytes > this.buf.length) return undefined;
    if (this.used + bytes > this.buf.length) {
      this.flush();
      if (this.error) return undefined;
    }
    const s = this.spanObj;
    s.buf = this.buf;
    s.view = this.view;
    s.ends = this.ends;
    s.at = this.used;
    s.n = this.nEnds;
    s.first = this.nEnds;
    return s;
  }

  /** Takes the records written into `span` since {@link span} (see there). */
  commit(span: RecordSpan): void {
    if (span.buf !== this.buf || span.at > this.buf.length || span.n < this.nEnds) throw new Error("PcapSink.commit: not this sink's current span");
    this.packets += span.n - span.first;
    this.used = span.at;
    this.nEnds = span.n;
  }

  private readonly spanObj: RecordSpan = { buf: new Uint8Array(0), view: new DataView(new ArrayBuffer(0)), ends: new Int32Array(0), at: 0, n: 0, first: 0 };

  /** Appends one record: `buf[offset..offset+caplen)`, on-wire length `wireLen`, timestamp sec + nsec. */
  write(buf: Uint8Array, caplen: number, wireLen: number, sec: number, nsec: number, offset = 0): void {
    if (this.error) return;
    const cap = caplen < this.snaplen ? caplen : this.snaplen;
    const padded = this.ng ? (cap + 3) & ~3 : cap;
    const size = (this.ng ? 32 : 16) + padded;
    if (this.used + size > this.buf.length) {
      this.flush();
      if (this.error) return;
    }
    const v = this.view;
    const o = this.used;
    const orig = (wireLen > cap ? wireLen : cap) >>> 0;
    if (this.ng) {
      v.setUint32(o, 6, true); // EPB
      v.setUint32(o + 4, size, true);
      v.setUint32(o + 8, 0, true); // interface 0
      // 64-bit timestamp in units of the resolution, split without BigInt
      const sub = this.nano ? nsec : Math.floor(nsec / 1000);
      const mul = this.nano ? 1e9 : 1e6;
      // sec * mul + sub as two 32-bit halves, exactly (the product exceeds 2^53)
      const sh = Math.floor(sec / 65536);
      const a = sh * mul;
      const alo = a % 65536;
      const low = alo * 65536 + (sec - sh * 65536) * mul + sub;
      v.setUint32(o + 12, (Math.floor(a / 65536) + Math.floor(low / 4294967296)) >>> 0, true);
      v.setUint32(o + 16, low % 4294967296 >>> 0, true);
      v.setUint32(o + 20, cap, true);
      v.setUint32(o + 24, orig, true);
      this.copy(buf, offset, cap, o + 28);
      for (let i = o + 28 + cap; i < o + 28 + padded; i++) this.buf[i] = 0;
      v.setUint32(o + size - 4, size, true);
    } else {
      v.setUint32(o, sec >>> 0, true);
      v.setUint32(o + 4, this.nano ? nsec : Math.floor(nsec / 1000), true);
      v.setUint32(o + 8, cap, true);
      v.setUint32(o + 12, orig, true);
      this.copy(buf, offset, cap, o + 16);
    }
    this.used = o + size;
    this.ends[this.nEnds++] = this.used;
    this.packets++;
  }

  /**
   * Copies `src[from..from+n)` to the buffer at `to`, without making a view per packet: libc's
   * memcpy where the runtime offers it, else byte by byte (small) or through one view (large).
   */
  private copy(src: Uint8Array, from: number, n: number, to: number): void {
    if (n <= 0) return;
    if (from < 0 || from + n > src.length) throw new RangeError(`record bytes ${from}..${from + n} outside a buffer of ${src.length}`);
    if (copyBytes) copyBytes(this.buf, to, src, from, n);
    else if (from === 0 && n === src.length) this.buf.set(src, to);
    else if (n > 256) this.buf.set(src.subarray(from, from + n), to);
    else {
      const d = this.buf;
      for (let i = 0; i < n; i++) d[to + i] = src[from + i]!;
    }
  }

  /**
   * For a flush timer: {@link flush}, unless in the background something was handed over to the
   * writer since the last call (a flood's kicks keep writing; a tick then adds no small write of
   * its own, and no wake-up of the I/O threads). Records wait at most two ticks. Returns false
   * when the file has failed (see {@link error}).
   */
  flushIdle(): boolean {
    if (this.bg && this.handedSinceIdle) {
      this.handedSinceIdle = false;
      return !this.error;
    }
    const ok = this.flush();
    this.handedSinceIdle = false;
    return ok;
  }

  /** Background: a buffer was handed over since the last {@link flushIdle}. */
  private handedSinceIdle = false;

  /**
   * Writes out what is buffered; returns false when the file has failed (see {@link error}).
   * A write that fails part-way leaves the file cut back to the last whole record.
   */
  flush(): boolean {
    if (this.bg) return this.handOver();
    if (this.error) {
      this.used = 0;
      this.nEnds = 0;
      return false;
    }
    if (this.used === 0 || this.fd < 0) return true;
    let off = 0;
    let code: string | undefined;
    while (off < this.used) {
      try {
        off += writeSync(this.fd, this.buf, off, this.used - off);
      } catch (e) {
        const c = (e as { code?: string }).code;
        if (c === "EAGAIN") {
          Atomics.wait(EAGAIN_WAIT, 0, 0, 2); // a non-blocking stdout is full: wait for the reader
          continue;
        }
        if (c === "EINTR") continue;
        code = c ?? ((e as Error).message || "EIO");
        break;
      }
    }
    // Which records made it whole.
    const header = this.headerPending ? this.headerLength() : 0;
    let whole = 0;
    let boundary = 0;
    if (off >= header) {
      boundary = header;
      while (whole < this.nEnds && this.ends[whole]! <= off) boundary = this.ends[whole++]!;
    }
    if (code !== undefined) {
      // Cut the file back to the last complete record: no partial record for a reader to trip on.
      if (boundary < off && this.isRegular()) {
        try {
          ftruncateSync(this.fd, this.fileBytes + boundary);
        } catch {
          /* best effort: the error below is what matters */
        }
      }
      if (off >= header) this.headerPending = false;
      this.written += whole;
      this.fileBytes += boundary;
      this.error = writeFailure(code, this.name, this.written);
      this.used = 0;
      this.nEnds = 0;
      return false;
    }
    this.headerPending = false;
    this.written += this.nEnds;
    this.fileBytes += this.used;
    this.used = 0;
    this.nEnds = 0;
    return true;
  }

  /** Bytes of the file header (pcap: 24; pcapng: SHB and IDB). */
  private headerLength(): number {
    // pcap: 24; pcapng: SHB (28) + IDB (24, or 32 with if_tsresol)
    return this.ng ? 28 + (this.nano ? 32 : 24) : 24;
  }

  /** Whether the output is a regular file (asked of fstat once). */
  private isRegular(): boolean {
    if (this.regular === undefined) {
      try {
        this.regular = fstatSync(this.fd).isFile();
      } catch {
        this.regular = false;
      }
    }
    return this.regular;
  }

  /** Flushes and closes the file (not stdout). Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    const bg = this.bg;
    if (bg && !this.error && (bg.inFlight || bg.queue.length > 0 || this.used > 0)) {
      // writes still to do: the last one closes the file (await settle() first to see them end)
      bg.closeAfter = true;
      this.kick();
      return;
    }
    this.flush();
    if (this.ownsFd) {
      try {
        closeSync(this.fd);
      } catch (e) {
        // NFS and friends report a failed write-back at close
        this.error ??= writeFailure((e as { code?: string }).code ?? "EIO", this.name, this.written);
      }
    }
    this.fd = -1;
  }
}

/**
 * Opens (creating or truncating) a file to write a capture to; throws TunkitError with a hint
 * true for the errno (a missing directory, a read-only file system, permissions...).
 *
 * @example
 * ```ts
 * import { openOutputFile } from "./capture-file.ts";
 * const fd = openOutputFile("/tmp/x.pcap");
 * ```
 */
export function openOutputFile(path: string): number {
  try {
    return openSync(path, "w", 0o644);
  } catch (e) {
    const code = (e as { code?: string }).code ?? "EIO";
    throw new TunkitError(`Cannot write "${path}": ${code}`, openHint(code, path, "write"));
  }
}

/**
 * The hint for a failed open of a capture file (read or write), true for its errno.
 *
 * @example
 * ```ts
 * import { openHint } from "./capture-file.ts";
 * openHint("ENOENT", "x.pcap", "read"); // "there is no file \"x.pcap\": check the path"
 * ```
 */
export function openHint(code: string, path: string, how: "read" | "write"): string {
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  switch (code) {
    case "ENOENT":
      return how === "read" ? `there is no file "${path}": check the path` : `the directory "${dir}" does not exist: create it first, or check the path`;
    case "ENOTDIR":
      return `a part of "${path}" is not a directory: check the path`;
    case "EACCES":
    case "EPERM":
      return how === "read"
        ? `you may not read "${path}" (or search a directory above it): check its mode and owner (ls -l)`
        : `you may not write in "${dir}" (or "${path}" is read-only): check the modes and owners (ls -ld), or write elsewhere`;
    case "EISDIR":
      return `"${path}" is a directory: give a file name`;
    case "ELOOP":
      return `"${path}" is a symbolic link loop: check where the links point (ls -l)`;
    case "ENAMETOOLONG":
      return "the path or one of its names is too long (names are at most 255 bytes, paths 4095)";
    case "EROFS":
      return `the file system holding "${path}" is read-only: write elsewhere`;
    case "ENOSPC":
      return `the file system holding "${path}" is full: free some space or write elsewhere`;
    case "EDQUOT":
      return `your disk quota is used up on the file system holding "${path}"`;
    case "EMFILE":
    case "ENFILE":
      return "too many open files: raise the limit (ulimit -n) or close some";
    case "ETXTBSY":
      return `"${path}" is a program being run: write elsewhere`;
    case "ENXIO":
      return `"${path}" is a FIFO with no reader, or a device that is not there`;
    case "EFBIG":
    case "EOVERFLOW":
      return `"${path}" is too large to open here`;
    case "EIO":
      return "the device holding the file reported an I/O error: check dmesg";
    default:
      return `the system refused with ${code}`;
  }
}

/** One packet read from a capture file. */
export interface CaptureFileRecord {
  /** Position of the record in the file, from 0. */
  index: number;
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

  /** Records longer than the file's snaplen, cut to it (pcap only; libpcap does the same). */
  get cutRecords(): number {
    return this.pcap?.cutRecords ?? 0;
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


/** What went wrong reading a capture file: one line, and a hint true for it. */
export interface CaptureProblem {
  /** The problem, one line. */
  message: string;
  /** What to do about it. */
  hint: string;
}

/**
 * The message and hint for an error a {@link CaptureFileReader} threw (bad magic, a damaged
 * record, an unsupported version), as `dump -r` and `inject -r` report it.
 *
 * @example
 * ```ts
 * import { captureProblem } from "./capture-file.ts";
 * captureProblem(new Error("x")).hint; // "the file is damaged ..."
 * ```
 */
export function captureProblem(e: unknown): CaptureProblem {
  const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, " ");
  if (/magic|version/i.test(message)) {
    return { message, hint: "tunkit reads pcap and pcapng files (what tcpdump -w and Wireshark write); convert other formats with editcap -F pcap" };
  }
  const at = e instanceof MalformedError ? ` at offset ${e.offset}` : "";
  return { message, hint: `the file is damaged${at} (or was not written as a capture): the records before it were read` };
}

/**
 * At the end of the input: the problem of a file cut short (inside its header or a record), or
 * undefined when it ended cleanly.
 *
 * @example
 * ```ts
 * import { CaptureFileReader, endProblem } from "./capture-file.ts";
 * const r = new CaptureFileReader();
 * r.push(Uint8Array.of(0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0)); // a pcap magic, then the file ends
 * endProblem(r)?.message; // "Not a capture file: 10 bytes, too short for a pcap or pcapng header"
 * ```
 */
export function endProblem(r: CaptureFileReader): CaptureProblem | undefined {
  const t = r.end().truncated;
  if (!t) return undefined;
  if (r.format === undefined || (r.format === "pcap" && !r.pcapHeader)) {
    return {
      message: `Not a capture file: ${t.offset + t.have} bytes, too short for a pcap or pcapng header`,
      hint: t.offset + t.have === 0 ? "the file is empty: was anything captured into it?" : "the file holds less than a capture file's header: was it written to the end?",
    };
  }
  return {
    message: `The file ends inside a record at offset ${t.offset} (${t.have} of ${t.need} bytes)`,
    hint: "the file was cut short (a capture still being written, a full disk or an interrupted copy); the complete records before it were read",
  };
}
