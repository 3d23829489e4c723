/**
 * How one invocation of the CLI ends: the exit codes, the lines an error prints on stderr, and
 * {@link invoke}, which runs a command's body, reports what it threw, releases the invocation's
 * resources and drains stdout and stderr. Shared by the full CLI (cli/run.ts) and the one-shot
 * path (cli/oneshot.ts), so both end a command the same way.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { Ctx } from "./context.ts";
import { safeLine } from "./grammar.ts";
import { BrokenPipeError, EXIT_BROKEN_PIPE } from "./output.ts";

/** Exit codes. */
export const EXIT = { OK: 0, REFUSED: 1, USAGE: 2, BROKEN_PIPE: EXIT_BROKEN_PIPE } as const;

/**
 * Maps an error to its exit code and the lines to print on stderr (control characters
 * escaped, over-long words cut).
 *
 * @example
 * ```ts
 * import { describeError } from "./exit.ts";
 * import { UsageError } from "../common/errors.ts";
 * describeError(new UsageError('Invalid MTU "0": expected 68..65535'), []);
 * // { code: 2, lines: ['tunkit: Invalid MTU "0": expected 68..65535'] }
 * ```
 */
export function describeError(
  e: unknown,
  argv: readonly string[],
  debug = false,
  usage: abstract new (...a: never[]) => Error = UsageError,
): { code: number; lines: string[] } {
  const err = e as { name?: string; code?: string; exitCode?: number; message?: string; hint?: string; stack?: string };
  const trace = debug && err?.stack ? [err.stack] : [];
  if (e instanceof BrokenPipeError) return { code: EXIT.BROKEN_PIPE, lines: [] };
  if (err && typeof err === "object" && typeof err.code === "string" && err.code.startsWith("commander.")) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return { code: EXIT.OK, lines: [] };
    if (err.code === "commander.help") return { code: EXIT.USAGE, lines: [] };
    let m = err.message?.replace(/^error:\s*/i, "").replace(/\s*\n\s*/g, " ").trim().replace(/\(Did you mean/g, "(did you mean") ?? "bad usage";
    if (err.code === "commander.unknownCommand" || err.code === "commander.excessArguments") {
      const cmd = argv.find((a) => !a.startsWith("-"));
      m += ` (see: tunkit ${cmd ? cmd + " " : ""}--help)`;
    }
    return { code: EXIT.USAGE, lines: [`tunkit: ${safeLine(m)}`] };
  }
  // instanceof, not the class name: minification renames classes.
  if (e instanceof usage || e instanceof UsageError) {
    return { code: EXIT.USAGE, lines: [`tunkit: ${safeLine(err.message ?? "bad usage")}`, ...trace] };
  }
  if (e instanceof Error && "hint" in e) {
    const lines = [`tunkit: ${safeLine(e.message)}`];
    if (err.hint) lines.push(`hint: ${safeLine(err.hint)}`);
    return { code: EXIT.REFUSED, lines: [...lines, ...trace] };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return {
    code: EXIT.REFUSED,
    lines: [`tunkit: internal error: ${safeLine(msg)}`, ...(trace.length ? trace : ["hint: run again with TUNKIT_DEBUG=1 for a stack trace, and report it"])],
  };
}

/**
 * Runs a command's `body` in `ctx` and resolves with the exit code: what it threw is printed on
 * stderr as {@link describeError} says (`TUNKIT_DEBUG=1` adds the stack), the invocation's
 * resources are released (ctx.close), then stdout and stderr are drained. `body` reports the
 * command words it settled on through `seen` (commander's messages name them). Never calls
 * process.exit.
 *
 * @example
 * ```ts
 * import { invoke } from "./exit.ts";
 * import { Ctx } from "./context.ts";
 * const ctx = new Ctx({ stdout: console.log, stderr: console.error });
 * await invoke(ctx, ["x"], async () => 0); // 0
 * ```
 */
export async function invoke(ctx: Ctx, argv: readonly string[], body: (seen: (command: readonly string[]) => void) => Promise<number>): Promise<number> {
  const debug = (typeof process !== "undefined" ? process.env.TUNKIT_DEBUG : undefined) === "1";
  let code: number;
  let command: readonly string[] = argv;
  try {
    code = await body((c) => (command = c));
  } catch (e) {
    const d = describeError(e, command, debug);
    code = d.code;
    try {
      for (const l of d.lines) ctx.sinks.stderr(l + "\n");
    } catch {
      /* stderr is gone too */
    }
  } finally {
    await ctx.close();
  }
  try {
    ctx.sinks.flush?.();
  } catch (e) {
    if (e instanceof BrokenPipeError) return EXIT.BROKEN_PIPE;
    throw e;
  }
  return code;
}
