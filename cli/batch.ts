/**
 * `tunkit batch FILE|-`: one command per line (the words after `tunkit`), like `ip -batch`.
 * Every line is parsed and validated first, so a usage error anywhere changes nothing; then the
 * lines run in order, consecutive route/addr add/del lines pipelined through one netlink batch
 * (many requests per sendmsg). The first error stops it (`line 17: …`) unless `--force`.
 *
 * @module
 */
import { Command, Argument } from "@commander-js/extra-typings";
import { readFileSync } from "node:fs";
import { TunkitError, UsageError, type NetlinkBatchItem } from "../mod.ts";
import { splitLine } from "./args.ts";
import { commanderMessage } from "./output.ts";
import type { Ctx, Op } from "./context.ts";

/** A parsed line: its number and what it asks for. */
export interface BatchLine {
  line: number;
  op: Op;
}

/** Commands a batch file may not contain. */
const REFUSED = new Set(["batch", "monitor", "completions"]);

/** A line the system refused; carries the line number. */
export class BatchLineError extends TunkitError {
  readonly line: number;
  override readonly cause: unknown;
  constructor(line: number, cause: unknown) {
    const e = cause as { message?: string; hint?: string };
    super(`line ${line}: ${(e?.message ?? String(cause)).replace(/\s*\n\s*/g, " ")}`, e?.hint);
    this.line = line;
    this.cause = cause;
  }
}

/** A bad line: a usage error naming the line (nothing has run). */
function lineUsage(line: number, e: unknown): UsageError {
  const m = (e as { message?: string })?.message ?? String(e);
  return new UsageError(`line ${line}: ${m.replace(/\s*\n\s*/g, " ")}`);
}

/**
 * Parses and validates every line of `text` into ops, without touching the system. Throws
 * {@link BatchLineError} (a usage error) naming the first bad line.
 */
export async function parseBatch(ctx: Ctx, text: string): Promise<BatchLine[]> {
  const lines: BatchLine[] = [];
  let current = 0;
  const base = { ...ctx.opts };
  ctx.collect = { push: (op) => lines.push({ line: current, op }) };
  ctx.baseOpts = base;
  try {
    if (!ctx.makeProgram) throw new Error("batch needs ctx.makeProgram");
    const program = await ctx.makeProgram();
    const src = text.split(/\r?\n/);
    for (let i = 0; i < src.length; i++) {
      current = i + 1;
      let words: string[];
      try {
        words = splitLine(src[i]!);
      } catch (e) {
        throw lineUsage(current, e);
      }
      if (!words.length) continue;
      if (REFUSED.has(words[0]!)) throw lineUsage(current, `"${words[0]}" cannot run inside a batch`);
      const before = lines.length;
      try {
        await program.parseAsync(words, { from: "user" });
      } catch (e) {
        const err = e as { code?: string; message?: string };
        if (typeof err.code === "string" && err.code.startsWith("commander.")) {
          throw lineUsage(current, commanderMessage(e as { code: string; message: string }, words));
        }
        if (e instanceof UsageError) throw lineUsage(current, e);
        throw e;
      }
      if (ctx.opts.netns !== base.netns) {
        throw lineUsage(current, "-n/--netns cannot be given inside a batch: give it to batch itself");
      }
      if (lines.length === before) throw lineUsage(current, `"${words.join(" ")}" does nothing in a batch`);
    }
  } finally {
    ctx.collect = undefined;
    ctx.baseOpts = undefined;
    ctx.opts = base;
  }
  return lines;
}

/** Outcome of running a batch. */
export interface BatchReport {
  /** Lines that ran without error. */
  ok: number;
  /** Failed lines, in order. */
  failed: BatchLineError[];
  /** Lines not run because an earlier one failed (without --force). */
  skipped: number;
}

/**
 * Runs parsed lines in order; consecutive pipelinable ops go through one netlink batch.
 * Without `force`, stops at the first failure (lines already sent in the same pipeline have
 * been applied; the report counts them as ok or failed).
 */
export async function runBatch(ctx: Ctx, lines: readonly BatchLine[], force: boolean): Promise<BatchReport> {
  const report: BatchReport = { ok: 0, failed: [], skipped: 0 };
  let i = 0;
  const stop = () => {
    report.skipped = lines.length - i;
  };
  while (i < lines.length) {
    const first = lines[i]!;
    if (!first.op.pipeline) {
      try {
        await first.op.run();
        report.ok++;
      } catch (e) {
        report.failed.push(new BatchLineError(first.line, e));
        i++;
        if (!force) return (stop(), report);
        continue;
      }
      i++;
      continue;
    }
    // A run of pipelinable lines: build their requests (device names resolved once), send
    // them together, and map each ack back to its line.
    const nl = ctx.rtnl();
    const cache = new Map<string, number>();
    const items: NetlinkBatchItem[] = [];
    const itemLines: number[] = [];
    let buildError: BatchLineError | undefined;
    while (i < lines.length && lines[i]!.op.pipeline) {
      const l = lines[i]!;
      i++;
      try {
        items.push(await l.op.pipeline!(nl, cache));
        itemLines.push(l.line);
      } catch (e) {
        buildError = new BatchLineError(l.line, e);
        if (!force) break;
        report.failed.push(buildError);
        buildError = undefined;
      }
    }
    const results = items.length ? await nl.batch(items) : [];
    results.forEach((r, k) => {
      if (r.ok) report.ok++;
      else report.failed.push(new BatchLineError(itemLines[k]!, r.error));
    });
    if (buildError) report.failed.push(buildError);
    report.failed.sort((a, b) => a.line - b.line);
    if (!force && report.failed.length) return (stop(), report);
  }
  return report;
}

/**
 * The `batch` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { batchCommand } from "./batch.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(batchCommand(ctx));
 * ```
 */
export function batchCommand(ctx: Ctx) {
  return new Command("batch")
    .description("run commands from a file (or - for stdin), one per line, like ip -batch")
    .addArgument(new Argument("<file>", "file of commands, or - for stdin"))
    .option("--force", "keep going after errors; report each and exit 1 at the end")
    .addHelpText(
      "after",
      `
Each line holds the words after "tunkit"; "#" starts a comment, blank lines are skipped.
Every line is validated before anything runs: a bad line changes nothing (exit 2).
Consecutive route/addr add/del lines are sent pipelined, many per system call.
Without --force the first failure stops the batch: "line 17: <what the kernel said>".

Examples:
  tunkit batch routes.txt
  printf 'route add 198.51.100.0/24 dev tun0\\nroute add 203.0.113.0/24 dev tun0\\n' | tunkit batch -
  tunkit -n blue batch --force setup.txt`,
    )
    .action(async (file, o) => {
      let text: string;
      if (file === "-") text = await ctx.sinks.stdin();
      else {
        try {
          text = readFileSync(file, "utf8");
        } catch (e) {
          const code = (e as { code?: string }).code;
          throw new UsageError(`Cannot read batch file "${file}": ${code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
        }
      }
      const lines = await parseBatch(ctx, text);
      const report = await runBatch(ctx, lines, !!o.force);
      if (!report.failed.length) return;
      for (const f of report.failed) {
        ctx.sinks.stderr(`tunkit: ${f.message}\n`);
        if (f.hint) ctx.sinks.stderr(`hint: ${f.hint}\n`);
      }
      if (!o.force) {
        const first = report.failed[0]!;
        const sentAfter = report.ok + report.failed.length - lines.filter((l) => l.line < first.line).length - 1;
        ctx.sinks.stderr(
          `tunkit: stopped at line ${first.line}` +
            (sentAfter > 0 ? `; ${sentAfter} later line${sentAfter === 1 ? " was" : "s were"} already sent in the same pipeline` : "") +
            (report.skipped ? `; ${report.skipped} line${report.skipped === 1 ? "" : "s"} not run` : "") + "\n",
        );
      } else {
        ctx.out.info(`batch: ${report.failed.length} of ${report.ok + report.failed.length} lines failed`);
      }
      ctx.exitCode = 1;
    });
}
