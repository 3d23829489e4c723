/**
 * `tunkit dump IFACE [filter...]`: the packets crossing a tun/tap, tcpdump style: one summary
 * line per packet and its hex + ASCII dump (`-X` layout), or summaries only (`-q`/`--no-hex`),
 * NDJSON (`--json`), or a pcap file (`-w`). `-r FILE` reads a pcap/pcapng instead of a device.
 *
 * Two capture modes (tun/capture.ts): attach (become the tun's reader: packets are consumed) when
 * the device is free, sniff (AF_PACKET beside its owner, In and Out) when another process holds it;
 * `--attach` / `--sniff` force one. Ctrl-C, SIGTERM or `-c N` end it with tcpdump's summary.
 *
 * @module
 */
import { Command, Argument, Option } from "@commander-js/extra-typings";
import { openSync, readSync, closeSync, unlinkSync, existsSync } from "node:fs";
import { UsageError, TunkitError, MalformedError } from "../common/mod.ts";
import { compileFilter, linkTypeOf, MAX_CAPLEN, PacketPrinter, printable, pcapLinkTypeName, isWrappedLink, innerIp, compileBpf, bpfText, type PacketFilter, type LinkType, type PrintOptions } from "../packet/mod.ts";
import { openCapture, describeTarget, chooseMode, CaptureFileReader, CaptureWriter, fileIdOfFd, refuseSameFile, openHint, captureProblem, endProblem, type CaptureMode, type Capture, type CaptureStats, type CaptureTarget, type RotateOptions, type FileId } from "../tun/mod.ts";
import { ifName, intInRange } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx } from "./context.ts";
import { BrokenPipeError } from "./output.ts";
import { RingPcapWriter, warmUpRingWriter } from "../tun/sniff-pcap.ts";
import { ringGeometry } from "../tun/sniff-ring.ts";
import { DEFAULT_BUFFER } from "../tun/sniff.ts";

/** Everything `dump` needs, validated (no syscall made yet). */
export interface DumpPlan {
  iface?: string;
  read?: string;
  write?: string;
  filter?: PacketFilter;
  count: number;
  snaplen: number;
  mode: CaptureMode | "auto";
  bufferBytes?: number;
  print: PrintOptions;
  /** -D: list the devices one can capture on, and exit. */
  list?: boolean;
  /** -l: write each line out at once. */
  lineBuffered?: boolean;
  /** -U: write each packet to the -w file at once. */
  packetBuffered?: boolean;
  /** -w format: pcap, or pcapng (--pcapng, or a .pcapng name). */
  format: "pcap" | "pcapng";
  /** -C/-G/-W rotation of the -w file. */
  rotate: RotateOptions;
  /** -q: no banner, no hex (warnings still print). */
  quiet: boolean;
  /** false (--no-kernel-filter): filter in user space only, even when sniffing. */
  kernelFilter?: boolean;
  /** -d: print the kernel filter program (tcpdump -d's notation) and exit. */
  dumpProgram?: boolean;
}

/** Flags of `dump` as commander hands them over. */
export interface DumpFlags {
  count?: string;
  snaplen?: string;
  write?: string;
  read?: string;
  hex?: boolean;
  X?: number;
  e?: boolean;
  nano?: boolean;
  attach?: boolean;
  sniff?: boolean;
  bufferSize?: string;
  /** -i IFACE (tcpdump's way; then every word is the filter). */
  interface?: string;
  /** -n / -nn: tcpdump's "don't resolve" (tunkit never resolves): accepted, no effect. */
  n?: number;
  v?: number;
  S?: boolean;
  t?: number;
  A?: number;
  l?: boolean;
  U?: boolean;
  D?: boolean;
  pcapng?: boolean;
  G?: string;
  C?: string;
  W?: string;
  q?: boolean;
  timeStampPrecision?: string;
  /** commander's --no-kernel-filter. */
  kernelFilter?: boolean;
  d?: boolean;
}

/** Filter words that cannot be an interface name: `dump icmp` is a missing interface, not a device "icmp". */
const FILTER_WORDS: ReadonlySet<string> = new Set(["icmp", "icmp6", "tcp", "udp", "arp", "ip", "ip6", "host", "net", "port", "src", "dst", "and", "or", "not", "!", "(", "&&", "||"]);

/**
 * Parses `-C SIZE` as tcpdump does: millions of bytes, or with a k/m/g suffix KiB/MiB/GiB.
 *
 * @example
 * ```ts
 * import { parseFileSize } from "./dump.ts";
 * parseFileSize("2"); // 2000000
 * parseFileSize("500k"); // 512000
 * ```
 */
export function parseFileSize(v: string): number {
  const m = /^(\d{1,9})([kKmMgG]?)$/.exec(v);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !(n > 0)) throw new UsageError(`Invalid file size "${v}": expected millions of bytes (-C 10), or with k, m or g (-C 500k)`);
  const unit = { "": 1_000_000, k: 1024, m: 1 << 20, g: 1 << 30 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"];
  return n * unit;
}

/**
 * Validates `dump` arguments (words = `[IFACE] [filter words...]`, or only the filter with
 * `-i IFACE` or `-r FILE`). Throws UsageError.
 *
 * @example
 * ```ts
 * import { planDump } from "./dump.ts";
 * const p = planDump(["tun0", "icmp", "and", "host", "10.1.1.2"], { count: "6" }, { json: false, quiet: false });
 * p.iface; // "tun0"
 * p.count; // 6
 * p.filter?.expression; // "icmp and host 10.1.1.2"
 * planDump(["icmp"], { interface: "tun0", n: 2, v: 1 }, { json: false, quiet: false }).print.verbose; // 1
 * ```
 */
export function planDump(words: readonly string[], f: DumpFlags, g: { json: boolean; quiet: boolean }): DumpPlan {
  let iface: string | undefined;
  let rest = words;
  const quiet = g.quiet || !!f.q;
  if (f.D) {
    if (words.length || f.read !== undefined || f.interface !== undefined || f.write !== undefined) {
      throw new UsageError("Option -D lists the devices and takes no interface, filter, -r or -w");
    }
  } else if (f.read === undefined) {
    if (f.interface !== undefined) iface = ifName(f.interface);
    else {
      if (words.length === 0) throw new UsageError("Missing interface: tunkit dump IFACE [filter...], dump -i IFACE [filter...] (or -r FILE [filter...]); -D lists them");
      if (FILTER_WORDS.has(words[0]!)) throw new UsageError(`Missing interface: "${printable(words[0]!.slice(0, 40))}" starts a filter; give the device first or with -i IFACE (-D lists them)`);
      iface = ifName(words[0]!);
      rest = words.slice(1);
    }
  } else {
    if (f.read === "") throw new UsageError('Invalid file "": expected a pcap/pcapng path or - for stdin');
    if (f.interface !== undefined) throw new UsageError("Options -i and -r exclude each other: capture a device or read a file");
    if (f.attach || f.sniff) throw new UsageError("Options --attach and --sniff apply to a device, not to -r FILE");
    if (f.bufferSize !== undefined) throw new UsageError("Option -B applies to a device, not to -r FILE");
  }
  if (f.attach && f.sniff) throw new UsageError("Options --attach and --sniff exclude each other");
  if (f.write === "") throw new UsageError('Invalid file "": expected a path or - for stdout');
  const expr = rest.join(" ").trim();
  const filter = expr ? compileFilter(expr) : undefined;
  const count = f.count !== undefined ? intInRange(f.count, "count", 1, Number.MAX_SAFE_INTEGER) : Infinity;
  let snaplen = f.snaplen !== undefined ? intInRange(f.snaplen, "snaplen", 0, MAX_CAPLEN) : MAX_CAPLEN;
  if (snaplen === 0) snaplen = MAX_CAPLEN; // tcpdump: -s 0 means the default
  const bufferBytes = f.bufferSize !== undefined ? intInRange(f.bufferSize, "buffer size (KiB)", 4, 1 << 20) * 1024 : undefined;
  let nano = !!f.nano;
  if (f.timeStampPrecision !== undefined) {
    if (f.timeStampPrecision !== "micro" && f.timeStampPrecision !== "nano") throw new UsageError(`Invalid time stamp precision "${printable(f.timeStampPrecision.slice(0, 40))}": expected micro or nano`);
    nano = f.timeStampPrecision === "nano";
  }
  const rotate: RotateOptions = {};
  if (f.C !== undefined) rotate.bytes = parseFileSize(f.C);
  if (f.G !== undefined) rotate.seconds = intInRange(f.G, "rotate seconds (-G)", 1, 100_000_000);
  if (f.W !== undefined) rotate.files = intInRange(f.W, "file count (-W)", 1, 100_000_000);
  if ((rotate.bytes || rotate.seconds || rotate.files) && f.write === undefined) throw new UsageError("Options -C, -G and -W rotate the -w file: give -w FILE");
  if ((rotate.bytes || rotate.seconds) && f.write === "-") throw new UsageError("Options -C and -G need a file name with -w, not - (stdout)");
  if (rotate.files && !rotate.bytes && !rotate.seconds) throw new UsageError("Option -W needs -C or -G (it counts rotated files)");
  const format = f.pcapng || (f.write !== undefined && /\.pcapng$/i.test(f.write)) ? "pcapng" : "pcap";
  if (f.pcapng && f.write === undefined) throw new UsageError("Option --pcapng sets the format of the -w file: give -w FILE");
  const xs = f.X ?? 0;
  const ascii = Math.min(f.A ?? 0, 2) as 0 | 1 | 2;
  const hex: 0 | 1 | 2 = f.hex === false || ((quiet || ascii > 0) && xs === 0) ? 0 : xs >= 2 ? 2 : 1;
  const plan: DumpPlan = {
    iface,
    read: f.read,
    write: f.write,
    filter,
    count,
    snaplen,
    mode: f.attach ? "attach" : f.sniff ? "sniff" : "auto",
    bufferBytes,
    print: {
      hex, link: !!f.e, nano, json: g.json, localTime: true,
      tsMode: Math.min(f.t ?? 0, 5) as 0 | 1 | 2 | 3 | 4 | 5,
      verbose: Math.min(f.v ?? 0, 3),
      absoluteSeq: !!f.S,
      ascii,
    },
    format,
    rotate,
    quiet,
  };
  if (f.D) plan.list = true;
  if (f.kernelFilter === false) plan.kernelFilter = false;
  if (f.d) {
    if (!filter) throw new UsageError("Option -d prints the kernel filter program: give a filter expression");
    plan.dumpProgram = true;
  }
  if (f.l) plan.lineBuffered = true;
  if (f.U) plan.packetBuffered = true;
  return plan;
}

/** Result of {@link FileDumper}. */
export interface FileDumpResult {
  /** Packets printed or written (after the filter). */
  packets: number;
  /** Set when the file could not be read to its end: what went wrong, one line. */
  error?: string;
  /** What to do about {@link error}. */
  hint?: string;
  /** Records longer than the file's snaplen, cut to it (as libpcap does). */
  cut?: number;
}

/** Where `dump -w` writes: a {@link CaptureWriter} (or anything shaped like it). */
export interface RecordSink {
  write(buf: Uint8Array, caplen: number, wireLen: number, sec: number, nsec: number, offset?: number): void;
  flush(): boolean;
  close(): void;
  readonly error: TunkitError | undefined;
  readonly written: number;
  readonly packets: number;
  readonly finished?: string | undefined;
}

/**
 * The `dump -r` engine: fed chunks of a pcap/pcapng file, prints (or writes to a sink) the
 * records that pass the filter, up to the count. Never throws on bad file content: problems end
 * the dump and are reported in the result.
 *
 * @example
 * ```ts
 * import { FileDumper, planDump } from "./dump.ts";
 * import { PcapWriter, buildIcmpEcho } from "../mod.ts";
 * const w = new PcapWriter({ linkType: "raw" });
 * const ping = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2" });
 * const fileBytes = Uint8Array.from([...w.header(), ...w.record(ping, { sec: 0, nsec: 0 }), ...w.record(ping, { sec: 1, nsec: 0 })]);
 * const lines: string[] = [];
 * const d = new FileDumper(planDump([], { read: "x.pcap" }, { json: false, quiet: false }), (s) => lines.push(s));
 * d.push(fileBytes);
 * d.end().packets; // 2
 * ```
 */
export class FileDumper {
  private readonly reader = new CaptureFileReader();
  /** The printer of the text lines (its lastNotDecoded tells about the line just written). */
  readonly printer: PacketPrinter;
  private packets = 0;
  private error: { message: string; hint: string } | undefined;
  private sinkLinkType: number | undefined;
  private skippedLinkTypes = 0;
  private readonly ts = { sec: 0, nsec: 0 };

  constructor(
    readonly plan: DumpPlan,
    private readonly write: (text: string) => void,
    private readonly openSink?: (linkType: number, nanosecond: boolean) => RecordSink,
    private sink?: RecordSink,
  ) {
    this.printer = new PacketPrinter(plan.print);
  }

  /** True once the count is reached, the sink failed or finished, or an error ended the dump. */
  get done(): boolean {
    return this.packets >= this.plan.count || this.error !== undefined || !!this.sink?.error || !!this.sink?.finished;
  }

  /** Feeds bytes; returns false once done. */
  push(chunk: Uint8Array): boolean {
    if (this.done) return false;
    try {
      this.reader.push(chunk);
      for (let rec = this.reader.next(); rec; rec = this.reader.next()) {
        this.record(rec.data, rec.linkType, rec.tsSec, rec.tsNsec, rec.originalLength);
        if (this.done) return false;
      }
    } catch (e) {
      if (e instanceof BrokenPipeError) throw e; // the reader went away (| head): status 141, quietly
      if (e instanceof TunkitError && !(e instanceof MalformedError) && this.sink?.error === e) return false;
      const p = captureProblem(e instanceof MalformedError || e instanceof TunkitError ? e : new Error(`Unreadable capture file: ${e instanceof Error ? e.message : String(e)}`));
      this.error = { message: printable(p.message), hint: p.hint };
      return false;
    }
    return true;
  }

  private record(data: Uint8Array, linkType: number, sec: number, nsec: number, orig: number): void {
    if (this.plan.filter) {
      const lt = linkTypeOf(linkType);
      if (lt !== undefined ? !this.plan.filter.match(data, lt) : !matchWrapped(this.plan.filter, data, linkType)) return;
    }
    this.packets++;
    if (this.openSink) {
      if (!this.sink) {
        this.sinkLinkType = linkType;
        this.sink = this.openSink(linkType, this.reader.pcapHeader?.nanosecond ?? this.plan.print.nano);
      }
      if (linkType !== this.sinkLinkType) {
        this.packets--;
        this.skippedLinkTypes++;
        return;
      }
      this.sink.write(data, data.length, orig, sec, nsec);
      if (this.plan.packetBuffered) this.sink.flush();
      return;
    }
    this.ts.sec = sec;
    this.ts.nsec = nsec;
    this.write(this.printer.format(data, linkType, this.ts, orig, undefined) + "\n");
  }

  /** Call at end of input. */
  end(): FileDumpResult & { skippedLinkTypes: number; sink?: RecordSink } {
    const out: FileDumpResult & { skippedLinkTypes: number; sink?: RecordSink } = { packets: this.packets, skippedLinkTypes: this.skippedLinkTypes };
    if (this.sink) out.sink = this.sink;
    const cut = this.reader.cutRecords;
    if (cut) out.cut = cut;
    let p = this.error;
    if (p === undefined && !this.done) p = endProblem(this.reader);
    if (p !== undefined) {
      out.error = p.message;
      out.hint = p.hint;
    }
    return out;
  }
}

/** A filter over a wrapped link type (SLL, NULL, PPP...): applied to the IP packet inside. */
function matchWrapped(f: PacketFilter, data: Uint8Array, linkType: number): boolean {
  const inner = isWrappedLink(linkType) ? innerIp(data, linkType) : undefined;
  return inner !== undefined && f.match(inner, "raw");
}

/**
 * Runs the `dump -r` engine over a whole capture held in memory: what the CLI does with a
 * file, minus the file. For tests and for library users.
 *
 * @example
 * ```ts
 * import { dumpCaptureBytes, planDump } from "./dump.ts";
 * import { readFileSync } from "node:fs";
 * const out: string[] = [];
 * dumpCaptureBytes(readFileSync("capture.pcap"), planDump([], { read: "-" }, { json: false, quiet: true }), (s) => out.push(s));
 * ```
 */
export function dumpCaptureBytes(bytes: Uint8Array, plan: DumpPlan, write: (text: string) => void): FileDumpResult {
  const d = new FileDumper(plan, write);
  d.push(bytes);
  const r = d.end();
  const out: FileDumpResult = { packets: r.packets };
  if (r.error !== undefined) out.error = r.error;
  if (r.hint !== undefined) out.hint = r.hint;
  if (r.cut) out.cut = r.cut;
  return out;
}

/**
 * A stop waits this long for the capture file's writer to make progress before it gives up
 * (exit 1, `Writing "stdout" stalled: ... N packets not delivered`): a pipe whose reader stays
 * alive and never reads would otherwise hold the stop for ever (tcpdump hangs in write(2)).
 */
export const SETTLE_STALL_MS = 5000;

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** Installs SIGINT/SIGTERM handlers that abort `ac`; returns the function that removes them. */
export function abortOnSignals(ac: AbortController): () => void {
  const on = () => ac.abort();
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  return () => {
    process.off("SIGINT", on);
    process.off("SIGTERM", on);
  };
}

/** `-B` at or below this (bytes): a ring small enough to wait for each block in poll(2). */
const SMALL_RING = 4 << 20;

/** A live capture's file buffer: 2 MiB, so the background writer gets 1 MiB writes (KICK_BYTES). */
const LIVE_BUFFER = 2 << 20;

/** Buffers text for stdout and writes it once per event-loop turn (or at 64 KiB); `lines`: at once (-l). */
function batchedWriter(write: (s: string) => void, lines = false): { add(s: string): void; flush(): void } {
  if (lines) return { add: write, flush() {} };
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending) {
      const s = pending;
      pending = "";
      write(s);
    }
  };
  return {
    add(s: string) {
      pending += s;
      if (pending.length > 65536) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

/** The writer options of a plan (format, snaplen, rotation), for one link type. */
function writerFor(plan: DumpPlan, linkType: LinkType | number, nanosecond: boolean, extra: { path?: string; input?: FileId; inputName?: string; firstFd?: number; bufferBytes?: number } = {}): CaptureWriter {
  const { bufferBytes, path, ...rest } = extra;
  return new CaptureWriter({
    path: path ?? plan.write!,
    ...plan.rotate,
    ...rest,
    sink: { linkType, snaplen: plan.snaplen, nanosecond, format: plan.format, ...(bufferBytes ? { bufferBytes } : {}) },
  });
}

/** Prints the "N packets written" line when it differs from what was taken, and throws the sink's error. */
function finishSink(ctx: Ctx, sink: RecordSink | undefined, taken: number, showCounts: boolean): void {
  if (!sink) return;
  sink.close();
  if (sink.finished) ctx.sinks.stderr(`tunkit: ${sink.finished}\n`);
  if (sink.error) {
    if (showCounts || sink.written !== taken) ctx.sinks.stderr(`${plural(sink.written, "packet")} written to the file (${taken} taken)\n`);
    throw sink.error;
  }
}

function readFailure(path: string, e: unknown): TunkitError {
  const code = (e as { code?: string }).code ?? "EIO";
  return new TunkitError(`Cannot read "${path}": ${code}`, openHint(code, path, "read"));
}

async function dumpFromFile(ctx: Ctx, plan: DumpPlan): Promise<void> {
  const out = batchedWriter(ctx.sinks.stdout, plan.lineBuffered);
  const path = plan.read!;
  let fd = 0;
  if (path !== "-") {
    try {
      fd = openSync(path, "r");
    } catch (e) {
      throw readFailure(path, e);
    }
  }
  const input = fileIdOfFd(fd);
  const inputName = path === "-" ? "stdin" : `-r ${path}`;
  try {
    // Never open for writing the file being read (same path, a symlink or a hard link to it).
    if (plan.write !== undefined) refuseSameFile(plan.write, input, inputName);
    const openSink = plan.write !== undefined
      ? (linkType: number, nanosecond: boolean) => {
        const w = writerFor(plan, linkType, plan.print.nano || nanosecond, { input, inputName });
        w.start();
        return w;
      }
      : undefined;
    const d = new FileDumper(plan, (s) => out.add(s), openSink);
    if (path === "-") {
      for await (const c of process.stdin as AsyncIterable<Uint8Array>) if (!d.push(c)) break;
    } else {
      const chunk = new Uint8Array(1 << 20);
      for (;;) {
        let n: number;
        try {
          n = readSync(fd, chunk, 0, chunk.length, null);
        } catch (e) {
          throw readFailure(path, e);
        }
        if (n <= 0) break;
        if (!d.push(chunk.subarray(0, n))) break;
      }
    }
    const r = d.end();
    out.flush();
    if (r.skippedLinkTypes) ctx.out.warn(`${plural(r.skippedLinkTypes, "packet")} of another link type than the first left out of the file`);
    if (r.cut) ctx.sinks.stderr(`tunkit: warning: ${plural(r.cut, "record")} longer than the file's snapshot length cut to it (as libpcap does)\n`);
    if (r.error !== undefined) {
      r.sink?.close();
      ctx.sinks.stderr(`tunkit: ${path === "-" ? "stdin" : printable(path)}: ${r.error}\n`);
      if (r.hint) ctx.sinks.stderr(`hint: ${r.hint}\n`);
      ctx.exitCode = 1;
      return;
    }
    finishSink(ctx, r.sink, r.packets, false);
  } finally {
    if (path !== "-") closeSync(fd);
  }
}


/**
 * Sniffing into a file: before the socket is opened, the ring-to-file walk (tun/sniff-pcap.ts)
 * is run over a made-up block into a throwaway writer of the same kind on /dev/null, so the
 * JIT compiles it now and not during the first second of a flood (the ring's drops at a flood's
 * start, and its compiler threads' CPU taken from the flood). At most half a second, once.
 */
async function warmRingFile(plan: DumpPlan, linkType: LinkType): Promise<void> {
  // Made where the capture's file is made (writerFor), with the same options (an fd opened
  // first, or not for stdout): objects of the same shapes, so the compiled walk fits the real
  // file (a writer whose options were an object literal here left the compiled walk at every
  // block of the flood: a shape check on the options). No /dev/null (a bare chroot): the
  // writer fails at once and the walk starts cold.
  let fd: number | undefined;
  if (plan.write !== "-") {
    try {
      fd = openSync("/dev/null", "w");
    } catch {
      return;
    }
  }
  const w = writerFor(plan, linkType, plan.print.nano, { path: "/dev/null", bufferBytes: LIVE_BUFFER, ...(fd !== undefined ? { firstFd: fd } : {}) });
  try {
    w.start();
    // in the background, as the capture's file: the file's own code the JIT inlines into the
    // walk (span, commit, kick) takes the same paths (warmed in the foreground, the compiled
    // walk left for the baseline tier at the flood's first block, then was compiled again)
    w.background();
    await warmUpRingWriter(w, {
      blockSize: ringGeometry(plan.bufferBytes ?? DEFAULT_BUFFER, plan.snaplen).blockSize,
      snaplen: plan.snaplen, cooked: linkType !== "ethernet", ethernet: linkType === "ethernet", copy: true,
      ...(plan.packetBuffered ? { kickBytes: 0 } : {}),
    });
    await w.settle();
  } finally {
    w.close();
  }
}

function describeCapture(cap: Capture): string {
  const lt = `link-type ${pcapLinkTypeName(cap.linkType === "ethernet" ? 1 : 101)}, snapshot length ${cap.snaplen} bytes`;
  if (cap.mode === "attach") return `attached to ${cap.name} as its reader; packets are consumed, not forwarded (${lt})`;
  return `listening on ${cap.name} beside its owner (sniffing, In and Out), ${lt}`;
}

async function dumpLive(ctx: Ctx, plan: DumpPlan): Promise<void> {
  // The output file first: a bad -w path must fail before the device is touched (attaching
  // flaps its carrier and makes the kernel add routes).
  let sink: CaptureWriter | undefined;
  let warmTarget: CaptureTarget | undefined;
  let created = false;
  const removeCreated = () => {
    if (created) {
      try {
        unlinkSync(CaptureWriter.firstName({ path: plan.write!, ...plan.rotate }));
      } catch {
        /* it was ours and empty; nothing more to do */
      }
    }
  };
  if (plan.write !== undefined) {
    // the device's link type without touching it (a lookup), so the header is written now too
    const target = await describeTarget(plan.iface!, ctx.rtnl());
    warmTarget = target;
    let firstFd: number | undefined;
    if (plan.write !== "-") {
      created = !existsSync(CaptureWriter.firstName({ path: plan.write, ...plan.rotate }));
      firstFd = CaptureWriter.openFirst({ path: plan.write, ...plan.rotate });
    }
    // a live capture's buffer: 2 MiB, so the background writer gets 1 MiB writes (KICK_BYTES)
    sink = writerFor(plan, target.linkType, plan.print.nano, { bufferBytes: LIVE_BUFFER, ...(firstFd !== undefined ? { firstFd } : {}) });
    sink.start();
    if (!sink.flush()) {
      // a file that takes no header takes no packet: fail before attaching
      sink.close();
      removeCreated();
      throw sink.error!;
    }
  }
  if (sink && warmTarget && chooseMode(warmTarget, plan.mode) === "sniff" && !(plan.filter && plan.kernelFilter === false) && !plan.rotate.bytes && !plan.rotate.seconds) await warmRingFile(plan, warmTarget.linkType);
  let cap: Capture;
  try {
    cap = await openCapture(plan.iface!, {
      mode: plan.mode, snaplen: plan.snaplen, bufferBytes: plan.bufferBytes, rtnl: ctx.rtnl(),
      // Writing a file, packets may wait in the kernel's ring 100 ms (few wake-ups, as
      // tcpdump's 1 s timeout does); printing or -U, 10 ms, so lines appear at once.
      blockTimeoutMs: plan.write !== undefined && !plan.packetBuffered ? 100 : 10,
      ...(plan.filter && plan.kernelFilter !== false ? { kernelFilter: plan.filter.ast } : {}),
    });
  } catch (e) {
    if (sink) {
      sink.close();
      if (created) {
        try {
          unlinkSync(CaptureWriter.firstName({ path: plan.write!, ...plan.rotate }));
        } catch {
          /* it was ours and empty; nothing more to do */
        }
      }
    }
    throw e;
  }
  const linkType: LinkType = cap.linkType;
  const ltNum = linkType === "ethernet" ? 1 : 101;
  let flushTimer: ReturnType<typeof setInterval> | undefined;
  const ac = new AbortController();
  const unhook = abortOnSignals(ac);
  const out = batchedWriter(ctx.sinks.stdout, plan.lineBuffered);
  let captured = 0;
  let end: string;
  let stats: CaptureStats = { received: 0 };
  try {
    if (sink) {
      flushTimer = setInterval(() => {
        // what waits is written (unless a flood's kicks keep writing); a full disk is reported
        // at once, not at the next packet
        if (!sink!.flushIdle()) ac.abort();
      }, 250);
    }
    if (cap.mode === "attach") {
      // a warning, not chatter: -q keeps it
      if (plan.quiet) ctx.sinks.stderr(`tunkit: warning: attached to ${cap.name} as its reader; packets are consumed, not forwarded\n`);
      else ctx.sinks.stderr(describeCapture(cap) + "\n");
    } else if (!plan.quiet) ctx.sinks.stderr(describeCapture(cap) + "\n");
    const filter = plan.filter;
    const count = plan.count;
    const printer = sink ? undefined : new PacketPrinter(plan.print);
    const ts = { sec: 0, nsec: 0 };
    const perPacket = !!plan.packetBuffered;
    // Sniffing through the ring into a file: each block is taken whole (tun/sniff-pcap.ts,
    // copy mode: no call per packet through the capture, the filter and the file's own writer
    // per packet), then given back. Every file (rotated or not) is written in the background (off
    // the JS thread): a write(2) that waits on a busy disk never keeps the ring from being
    // walked (a ring left alone that long drops). -U: what a block brought is written at once.
    const ringFile = sink && cap.mode === "sniff"
      ? new RingPcapWriter(sink, { copy: true, ...(perPacket ? { kickBytes: 0 } : {}), ...(filter ? { filter: (b: Uint8Array, off: number, len: number) => filter.match(b.subarray(off, off + len), linkType) } : {}) })
      : undefined;
    if (ringFile) ringFile.remaining = count;
    // Every file (rotated or not, sniffed or attached) is written in the background: a write
    // that waits (a pipe nobody reads, a busy disk) never holds the JS thread, so a stop always
    // runs (attached, a write(2) blocked on such a pipe held it for ever).
    if (sink) sink.background();
    const blocks = ringFile && {
      block(ring: Parameters<RingPcapWriter["block"]>[0], base: number, cooked: boolean, eth: boolean, snap: number): number {
        const n = ringFile.block(ring, base, cooked, eth, snap);
        captured += n;
        if (captured >= count || sink!.error || sink!.finished) ac.abort();
        return n;
      },
      room: (bytes: number) => ringFile.room(bytes),
      whenRoom: () => ringFile.whenRoom(),
    };
    end = await cap.listen(
      (buf, caplen, wireLen, dir, sec, nsec, off) => {
        if (captured >= count) return; // what the kernel still hands over after -c N was reached
        const pkt = filter || !sink ? (off === 0 && caplen === buf.length ? buf : buf.subarray(off, off + caplen)) : buf;
        if (filter && !filter.match(pkt, linkType)) return;
        if (sink) {
          sink.write(buf, caplen, wireLen, sec, nsec, off);
          if (perPacket) sink.kick(); // -U: now, or right after the write in flight
          if (sink.error || sink.finished) {
            ac.abort();
            return;
          }
        } else {
          ts.sec = sec;
          ts.nsec = nsec;
          out.add(printer!.format(pkt, ltNum, ts, wireLen, dir) + "\n");
        }
        if (++captured >= count) ac.abort();
      },
      // Without a ring, writing a file: take packets in batches (2 ms); printing: at once.
      // Stopped by Ctrl-C/SIGTERM (or -c), what the kernel had accepted still comes through.
      {
        signal: ac.signal, coalesceMs: sink && !perPacket ? 2 : 0, drainOnStop: () => captured < count && !sink?.error && !sink?.finished, zeroCopy: true, ...(blocks ? { blocks } : {}),
        // Sniffing a flood into a file through a small ring (-B 4096 or less: 16 blocks or
        // fewer, where the timer's step, an eighth of the ring, is a block or two): wait for
        // the ring's next block in poll(2), as tcpdump does (this process has nothing else to
        // do; a stop's signal ends the wait, or the next block within a few ms), 50 ms at most
        // between turns of the event loop. The default ring (8 MiB) keeps the timer: several
        // blocks a wake-up. (tcpdump's 2 MiB as the default, waking in poll, dropped 3.8k-23k
        // packets in 6 of 12 bench/capture.ts flood runs at load 9-14; 8 MiB in none. At load
        // ~20, -B 2048 dropped in 4 of 6 runs waking in poll, 3 of 6 on the timer, tcpdump 1 of
        // 6: poll is not what a small ring lacks under load.)
        ...(blocks && !perPacket && plan.bufferBytes !== undefined && plan.bufferBytes <= SMALL_RING ? { pollWaitMs: 50 } : {}),
        // attached, writing a file: the device is not read while the background writer is behind
        ...(sink ? { room: { room: (bytes: number) => sink!.hasRoom(bytes), whenRoom: () => sink!.whenRoom() } } : {}),
      },
    );
  } finally {
    unhook();
    if (flushTimer) clearInterval(flushTimer);
    out.flush();
    stats = cap.stats();
    cap.close();
    // every record taken reaches the file (or the file's error says how many did); a reader
    // that stays alive and never reads gets SETTLE_STALL_MS, then the error says what it missed
    if (sink) await sink.settle(SETTLE_STALL_MS);
  }
  ctx.sinks.stderr(`${plural(captured, "packet")} captured\n`);
  if (cap.mode === "sniff") {
    ctx.sinks.stderr(`${plural(stats.received, "packet")} received by filter${stats.kernelFilter ? "" : " (all: the filter runs in user space)"}\n`);
    ctx.sinks.stderr(`${plural(stats.dropped ?? 0, "packet")} dropped by kernel\n`);
  }
  finishSink(ctx, sink, captured, true);
  if (end === "down") {
    ctx.sinks.stderr(`tunkit: ${plan.iface} went down or was deleted; capture ended\n`);
    ctx.exitCode = 1;
  }
}

/**
 * The lines of `dump -D`: the tun/tap devices of the namespace, numbered, with their state and
 * who holds them, in tcpdump -D's shape (`1.tun0 (tun, held by echo (pid 12)) [Up, Running]`).
 *
 * @example
 * ```ts
 * import { deviceListLines } from "./dump.ts";
 * deviceListLines([{ ifname: "tun0", mode: "tun", flags: ["UP", "LOWER_UP"], attached: [] }]); // ["1.tun0 (tun, free: dump attaches) [Up, Running]"]
 * ```
 */
export function deviceListLines(views: ReadonlyArray<{ ifname: string; mode: string; flags: readonly string[]; attached: ReadonlyArray<{ pid: number; comm: string }> }>): string[] {
  return views.map((v, i) => {
    const st = [v.flags.includes("UP") ? "Up" : "", v.flags.includes("LOWER_UP") ? "Running" : ""].filter(Boolean);
    const who = v.attached.length ? `held by ${v.attached.map((h) => `${printable(h.comm)} (pid ${h.pid})`).join(", ")}: dump sniffs` : "free: dump attaches";
    return `${i + 1}.${v.ifname} (${v.mode}, ${who}) [${st.length ? st.join(", ") : "none"}]`;
  });
}

/**
 * Runs `dump` with a validated plan.
 *
 * @example
 * ```ts
 * import { runDump, planDump } from "./dump.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await runDump(ctx, planDump(["tun0"], { count: "6" }, ctx.opts));
 * ```
 */
export async function runDump(ctx: Ctx, plan: DumpPlan): Promise<void> {
  if (plan.list) {
    ctx.enter();
    const { collectTuns } = await import("./list.ts");
    const views = await collectTuns(ctx);
    if (ctx.opts.json) ctx.sinks.stdout(JSON.stringify(views.map((v, i) => ({ index: i + 1, ifname: v.ifname, mode: v.mode, flags: v.flags, attached: v.attached }))) + "\n");
    else {
      const lines = deviceListLines(views);
      if (lines.length) ctx.sinks.stdout(lines.join("\n") + "\n");
      else ctx.sinks.stderr("tunkit: no tun/tap device in this network namespace (create one with: tunkit up tun0 ADDRESS/PREFIX)\n");
    }
    return;
  }
  if (plan.dumpProgram) {
    // tcpdump -d: the program the kernel runs (for a tun's raw IP, or a tap's Ethernet with -e)
    const prog = compileBpf(plan.filter!.ast, plan.print.link ? "ethernet" : "raw", { snaplen: plan.snaplen });
    if (!prog) throw new TunkitError(`The filter is too large for a kernel program: it runs in user space only`, "split it, or leave it to user space (nothing to do: dump does that by itself)");
    ctx.sinks.stdout(bpfText(prog) + "\n");
    return;
  }
  if (plan.read !== undefined) return dumpFromFile(ctx, plan);
  if (plan.write !== undefined) await quietAllocator();
  ctx.enter();
  return dumpLive(ctx, plan);
}

/**
 * A live capture into a file runs without Bun's allocator scavenger (mimalloc's `mi-scavenger`
 * thread, which it starts only with a purge delay above 0): during a flood it woke 14-15 times
 * a second to give back pages the capture reuses at once (its buffers are recycled), each time
 * a thread landing on a CPU the traffic's sender wants (per-thread /proc schedstat beside
 * bench/capture.ts's flood, 120-130k packets/s: ~70 wake-ups per 5 s, 9 ms). The variable is
 * read only at start-up: hence the exec of ourselves (same pid, same arguments; ffi/exec.ts),
 * before anything is opened. A value the user set wins. reexecWithEnv puts the new image's name
 * back (exec of /proc/self/exe names it "exe" in ps and top).
 */
async function quietAllocator(): Promise<void> {
  const { reexecWithEnv } = await import("../ffi/exec.ts");
  await reexecWithEnv({ MIMALLOC_PURGE_DELAY: "-1" });
}

const count = (_v: unknown, prev: number) => prev + 1;

/**
 * The `dump` command. Its words are its own: `tunkit dump -n tun0` is tcpdump's -n (no
 * resolving), not the global `-n NETNS` (which goes before the command word, or use --netns).
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { dumpCommand } from "./dump.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(dumpCommand(ctx));
 * ```
 */
export function dumpCommand(ctx: Ctx) {
  const cmd = new Command("dump")
    .description("print (or save as pcap) the packets crossing a tun/tap, tcpdump style")
    .addArgument(new Argument("[iface-and-filter...]", "the interface (omitted with -i or -r), then an optional filter expression"))
    .addOption(new Option("-i, --interface <iface>", "the device to capture (tcpdump's way; then every word is the filter)"))
    .addOption(new Option("-c, --count <n>", "exit after N packets"))
    .addOption(new Option("-s, --snaplen <bytes>", "bytes kept per packet, 1..262144 (0 = 262144)"))
    .addOption(new Option("-w, --write <file>", "write a capture file instead of printing (- = stdout); pcapng with --pcapng or a .pcapng name"))
    .addOption(new Option("--pcapng", "write pcapng instead of pcap"))
    .addOption(new Option("-C <size>", "-w: start a new file when this one holds more than SIZE million bytes (k/m/g: KiB/MiB/GiB)"))
    .addOption(new Option("-G <seconds>", "-w: start a new file every SECONDS (strftime %-escapes in the name)"))
    .addOption(new Option("-W <n>", "-w: with -C, a ring of N files; with -G, stop after N files"))
    .addOption(new Option("-U, --packet-buffered", "-w: write each packet out at once"))
    .addOption(new Option("-r, --read <file>", "read a pcap/pcapng file instead of a device (- = stdin)"))
    .addOption(new Option("-D, --list-interfaces", "list the tun/tap devices one can capture on"))
    .addOption(new Option("-n", "do not resolve names (tunkit never does; accepted as tcpdump's -n/-nn)").argParser(count).default(0))
    .addOption(new Option("-v", "more detail: -v, -vv, -vvv (tcpdump's fields: IP ttl/id/length, checksums...)").argParser(count).default(0))
    .addOption(new Option("-S", "absolute TCP sequence numbers"))
    .addOption(new Option("-t", "-t: no timestamp; -tt: epoch seconds; -ttt: delta to previous; -tttt: date; -ttttt: delta to first").argParser(count).default(0))
    .addOption(new Option("-A", "print each packet (minus its link header) in ASCII; -AA: whole frame").argParser(count).default(0))
    .addOption(new Option("-l", "line-buffered output (each line written at once)"))
    .addOption(new Option("-q", "summaries only, no banner (warnings still print)"))
    .addOption(new Option("--no-hex", "summary lines only, no hex dump"))
    .addOption(new Option("-X", "hex + ASCII from the network layer (the default); -XX: the whole frame").argParser(count).default(0))
    .addOption(new Option("-e", "print the link-level header (tap: MAC addresses, ethertype)"))
    .addOption(new Option("--nano", "nanosecond timestamps (and a nanosecond capture file with -w)"))
    .addOption(new Option("--time-stamp-precision <p>", "micro or nano (tcpdump's spelling of --nano)"))
    .addOption(new Option("-d", "print the filter compiled to classic BPF (the kernel program; -e: for a tap) and exit"))
    .addOption(new Option("--no-kernel-filter", "sniffing: filter in user space only (by default the kernel drops non-matching packets first)"))
    .addOption(new Option("--attach", "become the device's reader (packets are consumed, not forwarded)"))
    .addOption(new Option("--sniff", "watch beside the device's owner (AF_PACKET), both directions"))
    .addOption(new Option("-B, --buffer-size <KiB>", "sniff: kernel buffer size in KiB (default 8192)"))
    .addOption(new Option("--json", "NDJSON, one object per packet"))
    .addOption(new Option("--netns <name>", "capture inside the named network namespace (the global -n NAME goes before `dump`)"))
    .addHelpText(
      "after",
      `
Modes: a tun with no reader carries no traffic, so when the device is free dump ATTACHES as its
reader (it sees what the kernel sends into the tun; those packets are consumed). When another
process holds the device (tunkit echo, a VPN), dump SNIFFS beside it with an AF_PACKET socket and
sees both directions, marked In and Out. Works on tap devices too (Ethernet; -e shows MACs).

tcpdump's words work after \`dump\`: -i IFACE, -n/-nn (no-ops), -v, -S, -t..-ttttt, -A, -l, -U,
-D, -w with -C/-G/-W. The global -n NETNS goes BEFORE the command (tunkit -n blue dump tun0), or
use --netns NAME anywhere.

Filter words (tcpdump-like): icmp icmp6 tcp udp arp ip ip6, [src|dst] host ADDR, [src|dst] net
CIDR, [src|dst] port N, and/or/not, parentheses (quote them for the shell).

Examples:
  tunkit dump tun0                                  summaries + hex of the packets crossing tun0
  tunkit dump -nn -i tun0 -c 6 icmp                 six ICMP packets, then exit (tcpdump's words)
  tunkit dump tun0 --sniff -w tun0.pcapng           save as pcapng beside the device's owner
  tunkit dump tun0 -w 'tun0-%H%M.pcap' -G 3600 -W 24  one file an hour, a day of them
  tunkit dump tap0 -e -q 'arp or port 67'           tap: ARP and DHCP, with MAC addresses
  tunkit dump -r tun0.pcap -v 'tcp and port 80'     read a capture file (pcap or pcapng)
  tunkit dump tun0 --json | jq -c .ipv4             NDJSON, one object per packet
Ctrl-C prints the number of packets captured (and, sniffing, dropped by the kernel).`,
    )
    .action(async (words, flags) => {
      const fl = flags as DumpFlags & { json?: boolean; netns?: string; listInterfaces?: boolean; packetBuffered?: boolean };
      if (fl.listInterfaces) fl.D = true;
      if (fl.packetBuffered) fl.U = true;
      if (fl.json) ctx.opts.json = true;
      if (fl.netns !== undefined) {
        ctx.opts.netns = fl.netns;
        ctx.checkNetns();
      }
      const plan = planDump(words, fl, ctx.opts);
      await ctx.perform({ run: () => runDump(ctx, plan) });
    });
  setCompletionWords(cmd, ["icmp", "icmp6", "tcp", "udp", "arp", "ip", "ip6", "host", "net", "port", "src", "dst", "and", "or", "not"], "tun");
  return cmd;
}
