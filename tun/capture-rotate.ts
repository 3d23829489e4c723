/**
 * {@link CaptureWriter}: where `dump -w` writes, with tcpdump's rotation: `-C SIZE` starts a new
 * file once the current one holds more than SIZE bytes (FILE, FILE1, FILE2, ...; with `-W N`
 * FILE0..FILE{N-1} as a ring), `-G SECS` starts a new one every SECS seconds (the name goes
 * through strftime, so `-w 'tun0-%H%M%S.pcap'`), and `-G` with `-W N` stops after N files.
 * Names and sizes follow tcpdump 4.99: the size check happens before a packet is written, `-C`
 * counts millions of bytes.
 *
 * Every file is a {@link PcapSink} (pcap or pcapng): valid up to its last complete record
 * whatever happens, written off the JS thread after {@link CaptureWriter.background} (a rotated
 * file finishes its writes while the next one fills). A file that would be the capture's own
 * input is refused.
 *
 * @module
 */
import { fstatSync, statSync, unlinkSync } from "node:fs";
import { TunkitError, UsageError } from "../common/errors.ts";
import { PcapSink, openOutputFile, type PcapSinkOptions, type RecordSpan } from "./capture-file.ts";
import { DEFAULT_SNAPLEN } from "../packet/pcap.ts";

/** Rotation settings (all optional). */
export interface RotateOptions {
  /** `-C`: rotate when the file holds more than this many bytes. */
  bytes?: number;
  /** `-G`: rotate every this many seconds. */
  seconds?: number;
  /** `-W`: with -C, a ring of this many files; with -G, stop after this many files. */
  files?: number;
}

/** A file identity (st_dev, st_ino): two paths with the same are one file (hard links, symlinks). */
export interface FileId {
  /** st_dev: the device the file lives on. */
  dev: number;
  /** st_ino: the inode number. */
  ino: number;
}

/**
 * The identity of an open file descriptor, or undefined when it has none worth comparing
 * (a pipe or a terminal).
 *
 * @example
 * ```ts
 * import { fileIdOfFd } from "./capture-rotate.ts";
 * fileIdOfFd(0); // for a pipe undefined, for a file on stdin { dev, ino }
 * ```
 */
export function fileIdOfFd(fd: number): FileId | undefined {
  try {
    const st = fstatSync(fd);
    return st.isFile() || st.isBlockDevice() ? { dev: st.dev, ino: st.ino } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Throws UsageError when `path` names the file `input` (compared by device and inode, so a
 * symlink or a hard link to it is caught too). A path that does not exist yet is fine.
 *
 * @example
 * ```ts
 * import { refuseSameFile } from "./capture-rotate.ts";
 * refuseSameFile("copy.pcap", { dev: 2049, ino: 1234 }, "in.pcap");
 * ```
 */
export function refuseSameFile(path: string, input: FileId | undefined, inputName: string): void {
  if (!input || path === "-") return;
  let st;
  try {
    st = statSync(path);
  } catch {
    return;
  }
  if (st.dev === input.dev && st.ino === input.ino) {
    throw new UsageError(`Refusing to write "${path}": it is the file being read (${inputName}); writing would truncate it`);
  }
}

const pad2 = (n: number) => String(n).padStart(2, "0");
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * strftime(3) for file names (local time): %Y %y %m %d %e %H %I %M %S %p %j %s %a %b %h %F %T %%.
 * Unknown conversions are kept as they are.
 *
 * @example
 * ```ts
 * import { strftime } from "./capture-rotate.ts";
 * strftime("cap-%Y%m%d-%H%M%S.pcap", new Date(2024, 0, 2, 3, 4, 5)); // "cap-20240102-030405.pcap"
 * ```
 */
export function strftime(fmt: string, d: Date): string {
  return fmt.replace(/%(.)/g, (all, c: string) => {
    switch (c) {
      case "Y": return String(d.getFullYear());
      case "y": return pad2(d.getFullYear() % 100);
      case "m": return pad2(d.getMonth() + 1);
      case "d": return pad2(d.getDate());
      case "e": return String(d.getDate()).padStart(2, " ");
      case "H": return pad2(d.getHours());
      case "I": return pad2(((d.getHours() + 11) % 12) + 1);
      case "M": return pad2(d.getMinutes());
      case "S": return pad2(d.getSeconds());
      case "p": return d.getHours() < 12 ? "AM" : "PM";
      case "j": {
        const start = new Date(d.getFullYear(), 0, 1);
        return String(Math.floor((d.getTime() - start.getTime()) / 86400000) + 1).padStart(3, "0");
      }
      case "s": return String(Math.floor(d.getTime() / 1000));
      case "a": return DAYS[d.getDay()]!;
      case "b":
      case "h": return MONTHS[d.getMonth()]!;
      case "F": return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
      case "T": return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
      case "%": return "%";
      default: return all;
    }
  });
}

/**
 * The name of file number `n` as tcpdump makes it: the base (through strftime with -G), then
 * the number, zero-padded to the digits of `-W N`'s largest number, left off for the first file
 * when there is no -W.
 *
 * @example
 * ```ts
 * import { rotatedName } from "./capture-rotate.ts";
 * rotatedName("out", 0, { bytes: 1e6 }); // "out"
 * rotatedName("out", 2, { bytes: 1e6 }); // "out2"
 * rotatedName("out", 1, { bytes: 1e6, files: 10 }); // "out1"
 * rotatedName("out", 2, {}); // "out"
 * ```
 */
export function rotatedName(base: string, n: number, r: RotateOptions, when: Date = new Date()): string {
  const name = r.seconds ? strftime(base, when) : base;
  const width = r.files ? String(r.files - 1).length : 0;
  // tcpdump appends a number only when rotating by size (-C)
  if (!r.bytes) return name;
  if (n === 0 && width === 0) return name;
  return name + String(n).padStart(width, "0");
}

/** Options of {@link CaptureWriter}. */
export interface CaptureWriterOptions extends RotateOptions {
  /** The -w path ("-" = stdout; no rotation then). */
  path: string;
  /** How each file is written (link type, snaplen, format...). */
  sink: Omit<PcapSinkOptions, "name">;
  /** The input's identity: a file to write that is the input is refused. */
  input?: FileId;
  /** What to call the input in that message. */
  inputName?: string;
  /** An fd already opened on the first file (open it before attaching to anything). */
  firstFd?: number;
  /** The clock, in ms (tests). */
  now?: () => number;
  /** Called with each finished file's name (tests; `-z` one day). */
  onFileDone?: (name: string) => void;
}

/**
 * Writes a capture to one file or a rotation of files; same interface as {@link PcapSink}
 * (write, flush, close, error, written, packets), plus {@link finished} once `-G` with `-W`
 * has filled its last file.
 *
 * @example
 * ```ts
 * import { CaptureWriter } from "./capture-rotate.ts";
 * import { buildIcmpEcho } from "../mod.ts";
 * const pkt = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2" });
 * const w = new CaptureWriter({ path: "tun0.pcap", bytes: 1_000_000, files: 5, sink: { linkType: "raw" } });
 * w.write(pkt, pkt.length, pkt.length, 1700000000, 0);
 * w.close();
 * ```
 */
export class CaptureWriter {
  private cur: PcapSink | undefined;
  private index = 0;
  private opened = 0;
  private started = 0;
  private writtenBefore = 0;
  private packetsBefore = 0;
  /** Set when -G with -W has written its last file: the capture should end. */
  finished: string | undefined;
  /** Name of the file being written. */
  currentName: string;
  private readonly now: () => number;
  private firstFd: number | undefined;

  /**
   * A writer to `opts.path`, rotated as `opts` says.
   *
   * @param opts The path, rotation limits (size, seconds, files) and the sink's options.
   */
  constructor(readonly opts: CaptureWriterOptions) {
    this.now = opts.now ?? Date.now;
    if (opts.path === "-" && (opts.bytes || opts.seconds)) throw new UsageError("Options -C and -G need a file name with -w, not - (stdout)");
    if (opts.files && !opts.bytes && !opts.seconds) throw new UsageError("Option -W needs -C or -G (it counts rotated files)");
    this.firstFd = opts.firstFd;
    this.currentName = opts.path === "-" ? "-" : rotatedName(opts.path, 0, opts, new Date(this.now()));
  }

  /** The name of the first file (what `-w` becomes through strftime and numbering). */
  static firstName(opts: Omit<CaptureWriterOptions, "sink" | "firstFd">): string {
    return opts.path === "-" ? "-" : rotatedName(opts.path, 0, opts, new Date((opts.now ?? Date.now)()));
  }

  /**
   * Opens the first file now, before any capture starts, so a bad path fails before anything
   * else happens. Returns its fd.
   */
  static openFirst(opts: Omit<CaptureWriterOptions, "sink" | "firstFd">): number | undefined {
    if (opts.path === "-") return undefined;
    const name = rotatedName(opts.path, 0, opts, new Date((opts.now ?? Date.now)()));
    refuseSameFile(name, opts.input, opts.inputName ?? "the input");
    return openOutputFile(name);
  }

  /** Opens the next file in the rotation. */
  private openNext(): PcapSink {
    const s = this.openFile();
    if (this.bgMax !== undefined) s.background(this.bgMax);
    return s;
  }

  /** Opens the next file in the rotation (as it comes: in the foreground). */
  private openFile(): PcapSink {
    const first = this.opened === 0;
    this.opened++;
    this.started = this.now();
    if (this.opts.path === "-") return new PcapSink(1, { ...this.opts.sink, name: "stdout" });
    const name = first ? this.currentName : rotatedName(this.opts.path, this.index, this.opts, new Date(this.started));
    this.currentName = name;
    if (first && this.firstFd !== undefined) {
      const fd = this.firstFd;
      this.firstFd = undefined;
      return new PcapSink(fd, { ...this.opts.sink, name }, true);
    }
    refuseSameFile(name, this.opts.input, this.opts.inputName ?? "the input");
    if (this.closing.some((c) => c.name === name)) {
      // a -W ring came round to a file whose last writes are still in flight: a new file
      // takes the name (truncating the old one under its writer would leave holes and stale
      // records); the old one's writes end in the unlinked file, as tcpdump's ring overwrites it
      try {
        unlinkSync(name);
      } catch {
        /* gone already: open() creates it */
      }
    }
    return PcapSink.open(name, { ...this.opts.sink, name });
  }

  /** Closes the current file and opens the next. */
  private rotate(): void {
    const old = this.cur!;
    this.cur = undefined;
    old.close();
    if (old.inBackground && !old.closed) {
      // its last writes are still in flight: it closes itself after them (counts, errors and
      // onFileDone follow then; see settle)
      this.closing.push(old);
      this.reap();
      return;
    }
    this.retire(old);
  }

  /** Files rotated away whose background writes are not done yet, oldest first. */
  private closing: PcapSink[] = [];

  /** Folds a file that is done into the totals. */
  private retire(old: PcapSink): void {
    this.writtenBefore += old.written;
    this.packetsBefore += old.packets;
    if (old.error) this.failed ??= old.error;
    else this.opts.onFileDone?.(old.name);
  }

  /** Retires the rotated files whose writes have ended. */
  private reap(): void {
    while (this.closing.length && this.closing[0]!.closed) this.retire(this.closing.shift()!);
  }

  private failed: TunkitError | undefined;

  /** The first error (a failed write or open, in any file of the rotation); later packets are dropped. */
  get error(): TunkitError | undefined {
    if (this.failed) return this.failed;
    for (const c of this.closing) if (c.error) return c.error;
    return this.cur?.error;
  }

  /** Records that reached the files whole. */
  get written(): number {
    let n = this.writtenBefore + (this.cur?.written ?? 0);
    for (const c of this.closing) n += c.written;
    return n;
  }

  /** Records accepted. */
  get packets(): number {
    let n = this.packetsBefore + (this.cur?.packets ?? 0);
    for (const c of this.closing) n += c.packets;
    return n;
  }

  /** Opens the first file (writes its header) if not yet open. */
  start(): void {
    if (!this.cur && !this.failed) this.tryOpen();
  }

  /** Opens a file after a failure, when it is time to retry. */
  private tryOpen(): void {
    try {
      this.cur = this.openNext();
    } catch (e) {
      this.failed = e instanceof TunkitError ? e : new TunkitError(String(e));
    }
  }

  /** Appends one record, rotating first when -G/-C say so. */
  write(buf: Uint8Array, caplen: number, wireLen: number, sec: number, nsec: number, offset = 0): void {
    if (this.failed || this.finished) return;
    if (this.closing.length) {
      this.reap();
      if (this.error) return;
    }
    if (!this.cur) {
      this.tryOpen();
      if (!this.cur) return;
    }
    const o = this.opts;
    if (o.seconds && this.now() - this.started >= o.seconds * 1000) {
      this.rotate();
      if (this.failed) return;
      if (o.files && this.opened >= o.files) {
        this.finished = `Maximum file limit reached: ${o.files}`;
        return;
      }
      this.index = 0;
      this.tryOpen();
      if (!this.cur) return;
    }
    if (o.bytes && this.cur.fileBytes + this.cur.bufferedBytes > o.bytes) {
      this.rotate();
      if (this.failed) return;
      this.index++;
      if (o.files && this.index >= o.files) this.index = 0;
      this.tryOpen();
      if (!this.cur) return;
    }
    this.cur.write(buf, caplen, wireLen, sec, nsec, offset);
  }

  /**
   * {@link PcapSink.span} on the file (pcap, no rotation: see {@link rotates}; else undefined,
   * and each record goes through {@link write}). Undefined once failed.
   */
  span(bytes: number): RecordSpan | undefined {
    if (this.rotates || this.failed || this.finished) return undefined;
    if (!this.cur) {
      this.tryOpen();
      if (!this.cur) return undefined;
    }
    return this.cur.span(bytes);
  }

  /** {@link PcapSink.commit}. */
  commit(span: RecordSpan): void {
    this.cur!.commit(span);
  }

  /** True when files rotate (-C or -G): then every record goes through {@link write}. */
  get rotates(): boolean {
    return !!(this.opts.bytes || this.opts.seconds);
  }

  /** The snapshot length records are cut to. */
  get snaplen(): number {
    return this.cur?.snaplen ?? this.opts.sink.snaplen ?? DEFAULT_SNAPLEN;
  }

  /** True when timestamps are written in nanoseconds. */
  get nanosecond(): boolean {
    return !!this.opts.sink.nanosecond;
  }

  /**
   * {@link PcapSink.writeIov} onto the file (pcap, no rotation: see {@link rotates}); false
   * once failed.
   */
  writeIov(iov: Uint8Array, count: number): boolean {
    if (this.rotates) throw new Error("CaptureWriter.writeIov: files rotate; write each record");
    if (this.failed || this.finished) return false;
    if (!this.cur) {
      this.tryOpen();
      if (!this.cur) return false;
    }
    return this.cur.writeIov(iov, count);
  }

  /**
   * {@link PcapSink.background}: every file of the capture is written off the JS thread (a
   * rotated file's last writes go on while the next file fills; it closes itself after them).
   * The bound on what waits counts every file's queue. Await {@link settle} before {@link close}.
   */
  background(maxBytes = 64 << 20): void {
    this.bgMax = maxBytes;
    if (!this.cur) this.tryOpen();
    this.cur?.background(maxBytes);
  }

  /** The background writers' bound, once {@link background} was called. */
  private bgMax: number | undefined;

  /** {@link PcapSink.hasRoom}, counting what rotated files still have to write. */
  hasRoom(bytes: number): boolean {
    let other = 0;
    for (const c of this.closing) other += c.bufferedBytes;
    return this.cur ? this.cur.hasRoom(bytes + other) : other === 0 || other + bytes <= (this.bgMax ?? Infinity);
  }

  /** {@link PcapSink.whenRoom}: the oldest file still writing, else the current one. */
  whenRoom(): Promise<void> {
    this.reap();
    const c = this.closing[0] ?? this.cur;
    return c ? c.whenRoom() : Promise.resolve();
  }

  /** {@link PcapSink.kick}. */
  kick(minBytes = 0): void {
    this.cur?.kick(minBytes);
  }

  /** {@link PcapSink.settle}: resolves once every record taken has been written (or failed, or stalled `stallMs`). */
  async settle(stallMs?: number): Promise<void> {
    for (const c of [...this.closing]) await c.settle(stallMs);
    this.reap();
    if (this.cur) await this.cur.settle(stallMs);
  }

  /** {@link PcapSink.flushIdle}: for a flush timer; false once failed. */
  flushIdle(): boolean {
    if (this.failed) return false;
    return this.cur ? this.cur.flushIdle() : true;
  }

  /** Writes out what is buffered; false once failed. */
  flush(): boolean {
    if (this.failed) return false;
    return this.cur ? this.cur.flush() : true;
  }

  /**
   * Flushes and closes the current file. Idempotent. In the background, await {@link settle}
   * first: a file with writes in flight closes itself after them.
   */
  close(): void {
    this.reap();
    for (const c of this.closing) {
      // a file that stalled (settle gave up) or failed is folded in as it is
      if (c.error) this.failed ??= c.error;
    }
    if (!this.cur) return;
    const cur = this.cur;
    this.cur = undefined;
    cur.close();
    if (cur.inBackground && !cur.closed && !cur.error) {
      this.closing.push(cur); // counted when its last write ends
      return;
    }
    if (cur.error) this.failed ??= cur.error;
    this.writtenBefore += cur.written;
    this.packetsBefore += cur.packets;
  }
}
