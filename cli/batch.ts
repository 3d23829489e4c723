/**
 * `tunkit batch FILE|-`: one command per line (the words after `tunkit`), like `ip -batch`,
 * streamed: the input is read in chunks and every line goes through the one grammar of ip's
 * words (cli/grammar.ts and the object modules), never through commander; lines run as they
 * are read (a live feed on stdin works), route/address additions pipelined many per system
 * call with an ACK each. Memory stays bounded whatever the input's size; a line longer than
 * {@link MAX_LINE} is refused with its number.
 *
 * What happens on errors (the help says the same), as `ip -batch` does: the first bad line
 * (exit 2) or the first line the system refuses (exit 1) stops the batch. Every line before it
 * is applied, none after it: lines already sent behind a refused one in the same datagram are
 * undone (an added route or address is deleted again), and a line without an exact undo (a
 * delete, a replace, a rule) always goes first in its datagram, so nothing after a failure
 * ever needs an undo that cannot be exact.
 * - `--check-first`: every line is checked before any runs (a pipe is kept in a temporary file
 *   meanwhile), so a bad line changes nothing.
 * - `--check`: every line is checked, nothing runs.
 * - `--force`: every bad or refused line is reported with its number and skipped; exit 1 at the end.
 *
 * @module
 */
import { nodeFs, nodePath } from "../common/builtins.ts";
import { TunkitError, UsageError } from "../common/errors.ts";
import { O, sys } from "../ffi/libc.ts";
import type { BatchItem, BatchResult } from "../netlink/conn.ts";
import { linkIndex } from "../netlink/ifindex.ts";
import { loadRtnl, type Ctx, type GlobalOptions, type Op, type PipelineRequest } from "./context.ts";
import { takeAnywhere } from "./globals.ts";
import { internWords, q, safeLine, splitLine } from "./grammar.ts";
import { keepOutOfFtl, keepOutOfFtlNow } from "./jit.ts";
import { findObject, IP_OBJECTS, type WordsFn } from "./objects.ts";

/** The longest line a batch accepts, in characters (a multipath route with 256 next hops fits). */
export const MAX_LINE = 64 * 1024;

/** Bytes read from the input at a time. */
const CHUNK = 1 << 20;

/** Requests per netlink datagram (each ACK costs ~1 KiB of receive buffer until read). */
const GROUP = 1024;

/** Commands a batch line may not hold. */
const REFUSED = new Set(["batch", "monitor", "completions", "dump", "echo", "inject", "socks", "http", "doctor", "cleanup", "help"]);

/** Commands parsed by commander, allowed in a batch. */
const COMMANDER_LINES = new Set(["up", "down"]);

/** A line the system refused; carries the line number. */
export class BatchLineError extends TunkitError {
  readonly line: number;
  override readonly cause: unknown;
  constructor(line: number, cause: unknown) {
    const e = cause as { message?: string; hint?: string };
    super(`line ${line}: ${safeLine(e?.message ?? String(cause))}`, e?.hint);
    this.line = line;
    this.cause = cause;
  }
}

/** A bad line: a usage error naming the line. */
function lineUsage(line: number, e: unknown): UsageError {
  const m = (e as { message?: string })?.message ?? String(e);
  return new UsageError(`line ${line}: ${safeLine(m)}`);
}

/** Options of {@link runBatch}. */
export interface BatchOptions {
  /** Keep going after a bad or refused line (report each, exit 1 at the end). */
  force: boolean;
  /** Check every line, apply nothing. */
  check: boolean;
  /** Check every line before running any (needs `reopen` to read the input twice). */
  checkFirst?: boolean;
  /** The batch's own global options, which its lines inherit. */
  opts: GlobalOptions;
  /** A file the first pass copies the input into (a pipe is read once; the second pass reads the copy). */
  tee?: number;
}

/** Outcome of a batch. */
export interface BatchReport {
  /** Lines read (commands, not blank or comment lines). */
  lines: number;
  /** Lines that ran without error. */
  ok: number;
  /** Bad or refused lines (with --force every one; without, the one that stopped the batch). */
  failed: number;
  /** Lines sent behind the failing one and undone. */
  undone: number;
  /** The line that stopped the batch (without --force). */
  stoppedAt?: number;
  /** The batch stopped at a bad line (a usage error, thrown), not a refused one. */
  badLine?: boolean;
}

/**
 * Reads `fd` in chunks and calls `onLine(number, text)` for every line (without its newline;
 * a trailing "\r" removed). Synchronous reads: a non-blocking fd that is empty (EAGAIN) is
 * waited on in 1 ms naps; `onChunkEnd` runs after the lines of every chunk, before the next
 * read; `onFirstRead(bytes, whole)` once, after the first read (`whole`: `fd` is a regular file
 * and the read did not fill the chunk, so it held no more; a pipe's short read says nothing). Throws a usage error for a line longer than {@link MAX_LINE}. The reads are libc's
 * own (the netlink socket loads the FFI anyway), not node:fs: loading node:fs cost a compiled
 * batch's start 8-11 ms of CPU (measured under load), about what a thousand of its lines take.
 */
export async function forEachLine(fd: number, onLine: (n: number, line: string) => void | Promise<void>, tee?: number, onChunkEnd?: () => Promise<void>, onFirstRead?: (bytes: number, whole: boolean) => void): Promise<number> {
  const buf = new Uint8Array(CHUNK);
  const dec = new TextDecoder();
  let carry = "";
  let n = 0;
  let nap: Int32Array | undefined;
  for (;;) {
    let got: number;
    try {
      got = sys.read(fd, buf, CHUNK, "read(batch input)");
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === "EINTR") continue;
      if (code === "EISDIR") throw new UsageError("Cannot read the batch input: it is a directory");
      throw e;
    }
    if (got < 0) {
      // EAGAIN: a non-blocking input with nothing yet.
      nap ??= new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(nap, 0, 0, 1);
      continue;
    }
    if (onFirstRead) {
      onFirstRead(got, got < CHUNK && isRegularFile(fd));
      onFirstRead = undefined;
    }
    if (tee !== undefined && got > 0) writeFully(tee, buf.subarray(0, got));
    const text = got > 0 ? dec.decode(buf.subarray(0, got), { stream: true }) : dec.decode();
    let start = 0;
    for (;;) {
      const nl = text.indexOf("\n", start);
      if (nl < 0) break;
      let line = carry ? carry + text.slice(start, nl) : text.slice(start, nl);
      carry = "";
      start = nl + 1;
      n++;
      if (line.length > MAX_LINE) throw new UsageError(`line ${n}: longer than ${MAX_LINE} characters (${line.length})`);
      if (line.charCodeAt(line.length - 1) === 13) line = line.slice(0, -1);
      const r = onLine(n, line);
      if (r) await r;
    }
    if (start < text.length) carry += text.slice(start);
    // Before the next read (which may wait for a live feed), finish what this chunk started.
    if (onChunkEnd) await onChunkEnd();
    if (carry.length > MAX_LINE) throw new UsageError(`line ${n + 1}: longer than ${MAX_LINE} characters (and no end of line after ${carry.length})`);
    if (got === 0) break;
  }
  if (carry) {
    n++;
    const line = carry.endsWith("\r") ? carry.slice(0, -1) : carry;
    const r = onLine(n, line);
    if (r) await r;
  }
  return n;
}

function writeFully(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += nodeFs().writeSync(fd, b, off, b.length - off);
}

/**
 * The progress line on stderr: shown only when there is a terminal to show it on (`write` is
 * undefined otherwise, or `shows()` says no: asked once, at the first redraw, so a batch done
 * within a second never asks) and after the batch has run for a second; redrawn at most 5
 * times a second; {@link clear} erases it before an error line or at the end.
 *
 * @example
 * ```ts
 * import { Progress } from "./batch.ts";
 * let t = 0;
 * const p = new Progress((s) => process.stderr.write(s), () => t);
 * t = 1500;
 * p.tick("applied", 150000, 0); // writes an erase-line escape, then: tunkit batch: applied 150,000 lines, 100,000 lines/s, 0 errors
 * p.clear();
 * ```
 */
export class Progress {
  private readonly t0: number;
  private last = 0;
  private shown = false;
  constructor(
    private write: ((s: string) => void) | undefined,
    private readonly clock: () => number = () => performance.now(),
    private shows?: () => boolean,
  ) {
    this.t0 = clock();
  }
  tick(what: string, lines: number, errors: number): void {
    if (!this.write) return;
    const now = this.clock();
    if (now - this.t0 < 1000 || now - this.last < 200) return;
    if (this.shows) {
      const yes = this.shows();
      this.shows = undefined;
      if (!yes) {
        this.write = undefined;
        return;
      }
    }
    this.last = now;
    const rate = Math.round(lines / ((now - this.t0) / 1000));
    this.write(`\r\x1b[Ktunkit batch: ${what} ${lines.toLocaleString("en-US")} lines, ${rate.toLocaleString("en-US")} lines/s, ${errors} error${errors === 1 ? "" : "s"}`);
    this.shown = true;
  }
  clear(): void {
    if (this.shown) this.write?.("\r\x1b[K");
    this.shown = false;
  }
}

/**
 * Turns one batch line into an op (validated, no syscall): ip objects through their grammar,
 * `up`/`down` through commander. Returns undefined for blank and comment lines.
 */
class LineParser {
  private readonly fns = new Map<string, WordsFn>();
  /** The object word of the previous line and its function (batch files repeat one object). */
  private last: string | undefined;
  private lastFn: WordsFn | undefined;
  private program: import("@commander-js/extra-typings").Command | undefined;
  /**
   * Keep the line path out of the FTL (cli/jit.ts): set when the input's first read held all of
   * it (under {@link CHUNK}, ~28,000 route lines), where the FTL's compiles cannot pay back. A
   * bigger file keeps the FTL: at 1M lines it saves ~20% of the user CPU. Piped lines keep it too
   * (as before): a pipe's first read (at most its 64 KiB buffer) cannot tell 20,000 lines from
   * a million.
   */
  small = false;

  constructor(private readonly ctx: Ctx, private readonly base: GlobalOptions) {
    // Every line starts with one of these: splitLine hands out these strings for them.
    internWords(IP_OBJECTS.flatMap((o) => [o.name, ...o.aliases]));
  }

  /** Loads what the line needs (an object's module, commander); then {@link parse} is synchronous. */
  async prepare(words: readonly string[]): Promise<void> {
    const w = words[0];
    if (w === undefined) return;
    const obj = findObject(w);
    if (obj && !this.fns.has(obj.name)) {
      this.fns.set(obj.name, await obj.load());
      if (this.small) await keepLinesOutOfFtl(await obj.module());
    }
    if (!obj && COMMANDER_LINES.has(w) && !this.program) {
      await loadRtnl();
      const { buildProgram } = await import("./program.ts");
      const up = await buildProgram(this.ctx, "up");
      const down = await buildProgram(this.ctx, "down");
      up.addCommand(down.commands[0]! as never);
      this.program = up;
    }
  }

  needsPrepare(words: readonly string[]): boolean {
    const w = words[0];
    if (w === undefined || w === this.last) return false;
    const obj = findObject(w);
    return obj ? !this.fns.has(obj.name) : COMMANDER_LINES.has(w) && !this.program;
  }

  /**
   * The op of a line's words (throws a UsageError without the line number). Synchronous for
   * ip-word lines once {@link prepare} has loaded their module; a promise for `up`/`down`.
   */
  parse(words0: readonly string[], dashes = true): Op | Promise<Op> {
    let words = words0;
    let opts = this.base;
    const first = words[0]!;
    if (first.startsWith("-") && first !== "-") {
      throw new UsageError(`Option ${q(first)} cannot lead a batch line: give options to batch itself (tunkit -j batch FILE)`);
    }
    if (dashes) for (const w of words) {
      if (w.length > 1 && w.charCodeAt(0) === 45) {
        opts = { ...this.base };
        const t = takeAnywhere(words, opts, { ipWords: true });
        if (t.help) throw new UsageError(`"--help" cannot be used inside a batch: see tunkit ${first} --help`);
        if (opts.netns !== this.base.netns) throw new UsageError("-n/--netns cannot be given inside a batch: give it to batch itself");
        if (words.includes("--version") || words.includes("-V")) throw new UsageError(`"--version" cannot be used inside a batch`);
        words = t.words;
        break;
      }
    }
    const fn = this.last === first ? this.lastFn : undefined;
    if (fn) return fn(this.ctx, words, 1, opts);
    const obj = findObject(first);
    if (obj) {
      const f = this.fns.get(obj.name)!;
      this.last = first;
      this.lastFn = f;
      const op = f(this.ctx, words, 1, opts);
      // The op's class (a route line's, made once per line) is the module's own, not exported.
      if (this.small) keepOutOfFtlNow([op.constructor]);
      return op;
    }
    if (REFUSED.has(first)) throw new UsageError(`${q(first)} cannot run inside a batch`);
    if (COMMANDER_LINES.has(first)) return this.parseCommander(words, opts);
    throw new UsageError(`Unknown command ${q(first)} in a batch: expected link, addr, route, rule, list, show, up or down`);
  }

  private async parseCommander(words: readonly string[], opts: GlobalOptions): Promise<Op> {
    const got: Op[] = [];
    const ctx = this.ctx;
    const saved = ctx.opts;
    ctx.opts = opts;
    ctx.collect = { push: (op) => got.push(op) };
    try {
      await this.program!.parseAsync([...words], { from: "user" });
    } catch (e) {
      const err = e as { code?: string; message?: string };
      if (typeof err.code === "string" && err.code.startsWith("commander.")) {
        throw new UsageError((err.message ?? "bad usage").replace(/^error:\s*/i, "").replace(/\s*\n\s*/g, " "));
      }
      throw e;
    } finally {
      ctx.collect = undefined;
      ctx.opts = saved;
    }
    if (got.length !== 1) throw new UsageError(`${q(words.join(" "))} does nothing in a batch`);
    const op = got[0]!;
    return { run: () => ((ctx.opts = opts), op.run()) };
  }
}

/** The batch's own per-line functions (set by runBatch once it has made them). */
let batchLineFunctions: unknown[] = [];

/**
 * Keeps the functions a batch line runs out of the FTL (see cli/jit.ts): the object module's,
 * and those of the modules every line goes through (loaded by then: no module is loaded here
 * that the line did not load).
 */
async function keepLinesOutOfFtl(objectModule: object): Promise<void> {
  const [grammar, args, ip, addr, specCommon, specRoute, wire, message, writer, conn, mmsg] = await Promise.all([
    import("./grammar.ts"), import("./args.ts"), import("../netlink/route/ip.ts"), import("../common/addr.ts"),
    import("../netlink/spec/common.ts"), import("../netlink/spec/route.ts"), import("../netlink/route/route.ts"),
    import("../netlink/core/message.ts"), import("../netlink/core/writer.ts"), import("../netlink/conn.ts"), import("../ffi/mmsg.ts"),
  ]);
  await keepOutOfFtl([
    objectModule, grammar, grammar.LINE_FUNCTIONS, args, ip, addr, addr.lineFunctions(), specCommon, specRoute, wire, wire.LINE_FUNCTIONS,
    message, writer, conn, mmsg, batchLineFunctions, LineParser, forEachLine,
  ]);
}

/** Whether `fd` is a regular file (false when it cannot be told: /proc missing). */
function isRegularFile(fd: number): boolean {
  try {
    return (sys.statMode(`/proc/self/fd/${fd}`) & 0o170000) === 0o100000;
  } catch {
    return false;
  }
}

/** Thrown from a line callback to stop reading once the batch has stopped. */
const STOP = Symbol("stop");

/**
 * Runs a batch read from `fd` (a regular file or a pipe). With `checkFirst`, checks every line
 * first and needs a second pass over the input: `reopen()` gives the input again (a regular
 * file is read twice; the caller spools a pipe). Reports through `ctx.sinks.stderr`.
 */
export async function runBatch(ctx: Ctx, fd: number, reopen: () => number, o: BatchOptions): Promise<BatchReport> {
  const report: BatchReport = { lines: 0, ok: 0, failed: 0, undone: 0 };
  const parser = new LineParser(ctx, o.opts);
  const err = (s: string) => ctx.sinks.stderr(s);
  // Whether stderr is a terminal is asked only when there is something to show (see Progress):
  // the check loads node:fs, which a batch that ends within a second never needs.
  const tty = ctx.sinks.stderrIsTty;
  const progress = new Progress(!o.opts.quiet && tty ? err : undefined, undefined, tty && (() => tty.call(ctx.sinks)));
  /** A line's op (undefined for blank and comment lines); a promise only when a module must load first. */
  const parseLine = (n: number, text: string): Op | undefined | Promise<Op | undefined> => {
    let words: string[];
    try {
      words = splitLine(text);
    } catch (e) {
      throw lineUsage(n, e);
    }
    if (!words.length) return undefined;
    const named = (e: unknown): never => {
      throw e instanceof UsageError ? lineUsage(n, e) : e;
    };
    if (parser.needsPrepare(words)) {
      return parser.prepare(words).then(() => parser.parse(words)).catch(named);
    }
    try {
      // Options in a line are rare: look for them only when the text has " -".
      const op = parser.parse(words, text.indexOf("-") >= 0 && (text.charCodeAt(0) === 45 || text.includes(" -") || text.includes("\t-")));
      return op instanceof Promise ? op.catch(named) : op;
    } catch (e) {
      return named(e);
    }
  };

  if (o.check || o.checkFirst) {
    // Pass 1: every line checked, nothing applied.
    let checked = 0;
    const checkLine = (n: number, text: string) => {
      if ((n & 4095) === 0) progress.tick("checked", n, 0);
      const op = parseLine(n, text);
      if (op instanceof Promise) return op.then((x) => void (x && checked++));
      if (op) checked++;
    };
    batchLineFunctions = [parseLine, checkLine];
    await forEachLine(fd, checkLine, o.tee, undefined, (_, whole) => void (parser.small = whole));
    report.lines = checked;
    if (o.check) {
      progress.clear();
      return report;
    }
    fd = reopen();
  }

  // Run in order, pipelining what can be. The bare socket: the rtnetlink client (a dozen
  // modules) is loaded only for a line that needs it (a listing, link set, up/down).
  const nl = ctx.conn();
  const devs = new Map<string, number>();
  const index = (name: string) => devs.get(name)!;
  // The group of pipelined requests waiting for their datagram, as parallel arrays (no object
  // per line): line numbers, the requests' items, and the requests with an exact undo.
  let gLines: number[] = [];
  let gItems: BatchItem[] = [];
  let gReqs: Array<PipelineRequest | undefined> = [];
  let stopped = false;
  let lines = 0;

  const fail = (line: number, e: unknown) => {
    report.failed++;
    progress.clear();
    if (e instanceof UsageError && e.message.startsWith(`line ${line}: `)) err(`tunkit: ${e.message}\n`);
    else {
      const f = e instanceof BatchLineError ? e : new BatchLineError(line, e);
      err(`tunkit: ${f.message}\n`);
      if (f.hint) err(`hint: ${safeLine(f.hint)}\n`);
    }
    if (!o.force) {
      stopped = true;
      report.stoppedAt = line;
    }
  };
  const flush = async () => {
    if (!gItems.length) return;
    const lineOf = gLines;
    const reqs = gReqs;
    const items = gItems;
    gLines = [];
    gItems = [];
    gReqs = [];
    const results: BatchResult[] = await nl.batch(items, { stopOnError: !o.force, chunkBytes: 256 * 1024 });
    let firstBad = -1;
    for (let k = 0; k < results.length; k++) {
      const r = results[k]!;
      if (r.ok) {
        if (firstBad < 0) report.ok++;
        continue;
      }
      if (!o.force && firstBad >= 0) continue;
      if (firstBad < 0) firstBad = k;
      fail(lineOf[k]!, r.error);
    }
    if (o.force || firstBad < 0) {
      if (o.force) report.ok += results.filter((r, k) => r.ok && k > firstBad && firstBad >= 0).length;
      return;
    }
    // Undo what ran behind the failing line, last first.
    const undo: number[] = [];
    for (let k = results.length - 1; k > firstBad; k--) if (results[k]!.ok) undo.push(k);
    if (!undo.length) return;
    const ur = await nl.batch(undo.map((k) => reqs[k]!.undo!()));
    ur.forEach((r, j) => {
      if (r.ok) report.undone++;
      else err(`tunkit: line ${lineOf[undo[j]!]}: was applied behind line ${lineOf[firstBad]} and could not be undone: ${safeLine(r.error.message)}\n`);
    });
  };

  /** Runs an op that is not pipelined, after the group before it. */
  const runAlone = async (n: number, op: Op) => {
    await flush();
    if (stopped) return;
    devs.clear(); // a listing is harmless, but up/down/link set may rename or remove devices
    try {
      if (!op.lean) await loadRtnl();
      await op.run();
      report.ok++;
    } catch (e) {
      if (e instanceof UsageError) return bad(n, lineUsage(n, e));
      fail(n, e);
    }
  };

  /** Resolves the devices a request names (a line still in the group may create one: send it first). */
  const resolve = async (n: number, names: readonly string[]): Promise<boolean> => {
    for (const d of names) {
      if (devs.has(d)) continue;
      try {
        devs.set(d, await linkIndex(nl, d));
      } catch {
        await flush();
        if (stopped) return false;
        try {
          devs.set(d, await linkIndex(nl, d));
        } catch (e) {
          fail(n, e);
          return false;
        }
      }
    }
    return true;
  };

  const pend = (n: number, item: BatchItem, req: PipelineRequest | undefined) => {
    gLines.push(n);
    gItems.push(item);
    gReqs.push(req);
  };

  /** Adds a pipelinable op to the group; a promise only when something must be awaited. */
  const queue = (n: number, op: Op): void | Promise<void> => {
    const req = op.request!;
    const names = req.devs;
    for (let k = 0; k < names.length; k++) {
      if (!devs.has(names[k]!)) return resolve(n, names).then((ok) => (ok ? queue(n, op) : undefined));
    }
    let item: BatchItem;
    try {
      item = req.build(index);
    } catch (e) {
      fail(n, e);
      return;
    }
    // Without --force a request with no exact undo goes first in its datagram.
    if (!o.force && !req.undo && gItems.length) {
      return flush().then(() => {
        if (!stopped) pend(n, item, undefined);
      });
    }
    pend(n, item, req.undo ? req : undefined);
    if (gItems.length >= GROUP) return flush();
  };

  const handle = (n: number, op: Op | undefined): void | Promise<void> => {
    if (!op || stopped) return;
    lines++;
    // Applied: the lines the kernel acknowledged (not those read, nor the bad ones).
    if ((lines & 4095) === 0) progress.tick("applied", report.ok, report.failed);
    return op.request ? queue(n, op) : runAlone(n, op);
  };

  /** A bad line: reported after the lines before it have run (their group goes first). */
  const bad = async (n: number, e: unknown) => {
    lines++;
    await flush();
    if (stopped) return; // one of those was refused: that is where the batch stopped
    if (!o.force) {
      report.badLine = true;
      report.stoppedAt = n;
      stopped = true;
      throw e;
    }
    fail(n, e);
  };

  const onLine = (n: number, text: string): void | Promise<void> => {
    if (stopped) throw STOP; // nothing more to read
    let op: Op | undefined | Promise<Op | undefined>;
    try {
      op = parseLine(n, text);
    } catch (e) {
      return bad(n, e);
    }
    if (op instanceof Promise) return op.then((x) => handle(n, x), (e) => bad(n, e));
    return handle(n, op);
  };

  batchLineFunctions = [onLine, handle, queue, pend, flush, parseLine, bad, resolve, index];
  if (parser.small) keepOutOfFtlNow(batchLineFunctions); // a --check-first's second pass: its object is loaded
  try {
    try {
      await forEachLine(fd, onLine, undefined, flush, o.check || o.checkFirst ? undefined : (_, whole) => void (parser.small = whole));
    } catch (e) {
      if (e === STOP) {
        /* stopped at a refused line */
      } else if (e instanceof UsageError) {
        // A bad line (or one too long): the lines before it run first, unless one of them is refused.
        if (!report.badLine && !stopped) await flush();
        if (report.badLine || !stopped) {
          const before = report.ok ? `${report.ok} line${report.ok === 1 ? "" : "s"} before it applied` : "nothing applied";
          throw new UsageError(`${e.message} (batch stopped there: ${before}, none after)`);
        }
      } else throw e;
    }
    if (!stopped) await flush();
  } finally {
    progress.clear();
  }
  report.lines = lines;
  return report;
}

/** Opens the batch input: a path, or "-" for stdin. */
function openInput(file: string): number {
  if (file === "-") return 0;
  try {
    return sys.open(file, O.RDONLY);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(`Cannot read batch file ${q(file)}: ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code ?? (e as Error).message}`);
  }
}

/**
 * `tunkit batch [--force] [--check] FILE|-` (words after "batch").
 *
 * @example
 * ```ts
 * import { batchMain } from "./batch.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * const code = await batchMain(ctx, ["routes.txt"]);
 * ```
 */
export async function batchMain(ctx: Ctx, words: readonly string[]): Promise<number> {
  let force = false;
  let check = false;
  let checkFirst = false;
  let file: string | undefined;
  for (const w of words) {
    if (w === "--force" || w === "-force" || w === "-f") force = true;
    else if (w === "--check" || w === "-c") check = true;
    else if (w === "--check-first") checkFirst = true;
    else if (w.startsWith("-") && w !== "-") throw new UsageError(`Unknown option ${q(w)} for batch: expected --force, --check-first or --check (see tunkit batch --help)`);
    else if (file !== undefined) throw new UsageError(`Unexpected word ${q(w)} after the batch file ${q(file)}`);
    else file = w;
  }
  if (file === undefined) throw new UsageError("Missing batch file: expected tunkit batch FILE (or - for stdin)");
  if (force && check) throw new UsageError("--force and --check cannot be combined: --check applies nothing");
  if (checkFirst && (force || check)) throw new UsageError(`--check-first cannot be combined with ${force ? "--force" : "--check"}`);
  const opts = ctx.opts;
  let fd = openInput(file);
  let spool: { dir: string; fd: number } | undefined;
  // node:fs only for --check-first (a second pass over the input); the plain batch reads with libc's read.
  const fs = checkFirst ? nodeFs() : undefined;
  try {
    let reopen: () => number = () => fd;
    let tee: number | undefined;
    if (fs) {
      let isFile = false;
      try {
        isFile = fs.fstatSync(fd).isFile();
      } catch {
        /* not a file */
      }
      const { closeSync, openSync } = fs;
      if (isFile) {
        // Read it again from the start (stdin redirected from a file: through /proc).
        reopen = () => {
          if (fd !== 0) closeSync(fd);
          fd = openSync(file === "-" ? "/proc/self/fd/0" : file, "r");
          return fd;
        };
        if (file === "-") fd = openSync("/proc/self/fd/0", "r");
      } else {
        // A pipe is read once: the checking pass keeps a copy, the running pass reads it.
        const { join } = nodePath();
        const dir = fs.mkdtempSync(join((await import("node:os")).tmpdir(), "tunkit-batch-"));
        const path = join(dir, "input");
        spool = { dir, fd: openSync(path, "w", 0o600) };
        tee = spool.fd;
        reopen = () => {
          closeSync(spool!.fd);
          spool!.fd = -1;
          if (fd !== 0) closeSync(fd);
          fd = openSync(path, "r");
          return fd;
        };
      }
    }
    return finish(ctx, await runBatch(ctx, fd, reopen, { force, check, checkFirst, opts, tee }), { force, check });
  } finally {
    if (fd > 0) {
      try {
        sys.close(fd);
      } catch {
        /* already closed */
      }
    }
    if (spool) {
      if (spool.fd >= 0) sys.close(spool.fd);
      nodeFs().rmSync(spool.dir, { recursive: true, force: true });
    }
  }
}

function finish(ctx: Ctx, r: BatchReport, o: { force: boolean; check: boolean }): number {
  if (o.check) {
    if (!ctx.opts.quiet) ctx.sinks.stdout(`batch: ${r.lines} line${r.lines === 1 ? "" : "s"} checked, nothing applied\n`);
    return 0;
  }
  if (!r.failed) return 0;
  if (o.force) {
    ctx.sinks.stderr(`tunkit: batch: ${r.failed} of ${r.lines} lines failed\n`);
    return 1;
  }
  ctx.sinks.stderr(
    `tunkit: batch stopped at line ${r.stoppedAt}: ${r.ok} line${r.ok === 1 ? "" : "s"} applied before it, none after` +
      (r.undone ? ` (${r.undone} line${r.undone === 1 ? "" : "s"} sent behind it undone)` : "") + "\n",
  );
  return 1;
}

/**
 * The `batch` command as commander sees it: only for `--help` pages and completion scripts
 * (the command itself is {@link batchMain}).
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { batchCommand } from "./batch.ts";
 * new Command("tunkit").addCommand(await batchCommand());
 * ```
 */
export async function batchCommand() {
  const { Command, Argument } = await import("@commander-js/extra-typings");
  return new Command("batch")
    .description("run commands from a file (or - for stdin), one per line, like ip -batch")
    .addArgument(new Argument("<file>", "file of commands, or - for stdin"))
    .option("--force", "keep going: report every bad or refused line with its number, skip it, exit 1 at the end")
    .option("--check-first", "check every line before running any: a bad line changes nothing")
    .option("--check", "check every line, run none")
    .addHelpText(
      "after",
      `
Each line holds the words after "tunkit" (link, addr, route, rule, list, show, up, down);
"#" starts a comment, blank lines are skipped. The input is streamed (any size, bounded
memory) and lines run as they are read, so stdin may be a live feed; route and address
additions are sent pipelined, many per system call, each acknowledged.

Like ip -batch, the first bad line (exit 2) or the first line the system refuses (exit 1)
stops the batch: the lines before it are applied, none after it (additions already sent
behind a refused line are undone). The error names the line: "line 17: …".
With --check-first nothing runs unless every line is good (a pipe is kept in a temporary
file meanwhile). With --force every bad or refused line is reported and skipped.
A progress line shows on stderr when it is a terminal and the batch takes more than a second
(-q turns it off).

Examples:
  tunkit batch routes.txt
  printf 'route add 198.51.100.0/24 dev tun0\\nroute add 203.0.113.0/24 dev tun0\\n' | tunkit batch -
  tunkit batch --check-first routes.txt
  tunkit -n blue batch --force setup.txt`,
    );
}
