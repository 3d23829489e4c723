/**
 * The full CLI: global options before the command word (like ip), then ip's words (`link`,
 * `addr`, `route`, `rule`, `list`, `show`, `batch`) parsed by tunkit's own grammar, without
 * commander; every other command through commander (cli/program.ts). Errors map to exit codes
 * (cli/exit.ts): 0 done, 1 the system refused (`tunkit: <message>` + `hint: <hint>`), 2 bad usage
 * (one line on stderr, nothing changed). `TUNKIT_DEBUG=1` adds stack traces.
 *
 * cli/main.ts, the binary's entry, loads this module for every command but `--version` and the
 * one-shot `addr`/`route` modify commands (cli/oneshot.ts); the rest is imported on demand, one
 * command's modules at a time.
 *
 * Output is written synchronously (cli/output.ts): when a command returns, every byte is in
 * the kernel, so the process exits only after stdout and stderr have drained; a closed pipe
 * (`tunkit route list | head`) ends quietly with status 141, like a program killed by SIGPIPE.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { Ctx, loadRtnl, processSinks, type GlobalOptions, type Sinks } from "./context.ts";
import { EXIT, invoke } from "./exit.ts";
import { parseGlobals, takeAnywhere, distance } from "./globals.ts";
import { q, safeLine } from "./grammar.ts";
import { findObject, ipObjectOf, IP_OBJECTS } from "./objects.ts";
import { versionLine } from "./version.ts";

/**
 * Back to JavaScriptCore's normal JIT policy. The binary starts with tier-up thresholds raised
 * (scripts/build.ts JIT_POLICY) so start-up code stays in the interpreter; once a command's
 * words are read, the work that follows (a batch of a million lines, a dump, a capture) gets
 * the JIT as usual. Nothing outside Bun, or when run from source.
 */
function normalJit(): void {
  (globalThis as { Bun?: { unsafe?: { setJITPolicy?: (scale: number) => void } } }).Bun?.unsafe?.setJITPolicy?.(1);
}

/** How long an ip-words command runs with the start-up JIT policy before the normal one is back. */
const JIT_AFTER_MS = 20;

/** Commands commander parses (their own options, help). */
const COMMANDER_COMMANDS = ["version", "up", "down", "monitor", "doctor", "completions", "dump", "echo", "inject", "socks", "http", "cleanup", "ping", "wg"];

/** The usage line bare `tunkit` prints on stderr (exit 2), like `ip` alone. */
export const USAGE = `Usage: tunkit [-4|-6] [-j] [-q] [-n NAME] COMMAND [WORDS...]
Commands: version up down list show link addr route rule neigh batch monitor dump echo inject ping socks http wg doctor completions cleanup
See: tunkit --help, tunkit COMMAND --help`;

function unknownCommand(word: string): UsageError {
  const ip = ipObjectOf(word);
  if (ip !== undefined) return new UsageError(`Unknown command ${q(word)}: ip reads it as "${ip}", which tunkit does not do (see tunkit --help)`);
  const names = [...IP_OBJECTS.flatMap((o) => [o.name, ...o.aliases]), "batch", ...COMMANDER_COMMANDS];
  let best = "";
  let bestD = 3;
  for (const n of names) {
    const d = distance(word, n);
    if (d < bestD) {
      best = n;
      bestD = d;
    }
  }
  return new UsageError(`Unknown command ${q(word)}${best ? ` (did you mean ${best}?)` : ""}: see tunkit --help`);
}

/** Prints the help page of `path` (["route", "add"]; [] for the root) through commander. */
async function showHelp(ctx: Ctx, path: readonly string[]): Promise<number> {
  const { buildProgram } = await import("./program.ts");
  const program = await buildProgram(ctx, path[0]);
  let cmd = program as import("@commander-js/extra-typings").Command;
  for (const w of path) {
    const sub = cmd.commands.find((c) => c.name() === w || c.aliases().includes(w));
    if (!sub) {
      const where = cmd === program ? "" : ` ${cmd.name()}`;
      throw new UsageError(`No help for ${q(path.join(" "))}: unknown${where} command ${q(w)} (see: tunkit${where} --help)`);
    }
    cmd = sub as typeof cmd;
  }
  cmd.outputHelp();
  return EXIT.OK;
}

/** Runs an ip-word command (`route add …`) without commander. */
async function runWords(ctx: Ctx, words: readonly string[], opts: GlobalOptions): Promise<number> {
  const obj = findObject(words[0]!)!;
  const fn = await obj.load();
  const op = fn(ctx, words, 1, opts);
  // A lean op (route add, addr add) sends its request over the bare socket: the rtnetlink
  // client and the modules behind it are loaded only for the others.
  if (!op.lean) await loadRtnl();
  // A one-shot command (`route add`) ends before any of its code is worth compiling, and
  // waking the JIT's worker threads then costs more than it saves; a long one (a dump of a
  // million routes) gets the JIT back after a few milliseconds. A command that is one request
  // and its ACK (op.request: route add, addr add) cannot run long: it sets no timer at all (the
  // first timer of a process costs about 0.2 ms).
  const jit = op.request ? undefined : setTimeout(normalJit, JIT_AFTER_MS);
  (jit as { unref?: () => void } | undefined)?.unref?.();
  try {
    await op.run();
  } finally {
    if (jit !== undefined) clearTimeout(jit);
  }
  return ctx.exitCode;
}

/**
 * Runs the CLI on `argv` (the words after `tunkit`) and resolves with the exit code. Never
 * calls process.exit; output is flushed before it resolves.
 *
 * @example
 * ```ts
 * import { run } from "./run.ts";
 * const code = await run(["route", "list", "--json"]);
 * ```
 */
export async function run(argv: readonly string[], sinks: Partial<Sinks> = {}): Promise<number> {
  const ctx = new Ctx({ ...processSinks(), ...sinks });
  return invoke(ctx, argv, (seen) => dispatch(ctx, argv, seen));
}

async function dispatch(ctx: Ctx, argv: readonly string[], seen: (command: readonly string[]) => void): Promise<number> {
  const g = parseGlobals(argv);
  if (g.version) {
    ctx.sinks.stdout(`${versionLine()}\n`);
    return EXIT.OK;
  }
  ctx.opts = g.opts;
  if (g.opts.batch !== undefined) {
    // ip -batch FILE (-force): the rest of the line must be empty.
    if (g.at < argv.length) throw new UsageError(`Unexpected word ${q(argv[g.at]!)} after -batch ${q(g.opts.batch)}`);
    ctx.checkNetns();
    normalJit();
    (await import("../netlink/names.ts")).useSystemIpNames();
    // batch loads the rtnetlink client itself, for the first line that needs it.
    return (await import("./batch.ts")).batchMain(ctx, g.opts.force ? ["--force", g.opts.batch] : [g.opts.batch]);
  }
  if (g.at >= argv.length) {
    if (g.help) return showHelp(ctx, []);
    // Like ip alone: the usage on stderr, and a failure status (bad usage).
    ctx.sinks.stderr(USAGE + "\n");
    return EXIT.USAGE;
  }
  let word = argv[g.at]!;
  const rest = argv.slice(g.at);
  // ip's abbreviation of "monitor" (`ip mon`) reaches tunkit's monitor.
  if (!COMMANDER_COMMANDS.includes(word) && !findObject(word) && ipObjectOf(word) === "monitor") rest[0] = word = "monitor";
  seen(rest);
  if (word === "help") {
    if (g.help) return showHelp(ctx, []);
    return showHelp(ctx, rest.slice(1));
  }
  const obj = findObject(word);
  if (obj || word === "batch") {
    const { words, help } = takeAnywhere(rest, g.opts, { ipWords: true });
    ctx.checkNetns();
    if (help || g.help || words[1] === "help") return showHelp(ctx, helpPath(words));
    (await import("../netlink/names.ts")).useSystemIpNames();
    if (word === "batch") {
      normalJit();
      // batch loads the rtnetlink client itself, for the first line that needs it.
      return (await import("./batch.ts")).batchMain(ctx, g.opts.force ? ["--force", ...words.slice(1)] : words.slice(1));
    }
    return runWords(ctx, words, g.opts);
  }
  if (!COMMANDER_COMMANDS.includes(word)) throw unknownCommand(word);
  // dump's words are tcpdump's (`dump -n tun0 -q`): only --json/--netns are taken out of them.
  const { words, help } = takeAnywhere(rest, g.opts, { ipWords: false, quiet: word !== "dump" });
  ctx.checkNetns();
  await loadRtnl();
  const { buildProgram } = await import("./program.ts");
  const program = await buildProgram(ctx, word);
  normalJit();
  await program.parseAsync(help || g.help ? [...words, "--help"] : words, { from: "user" });
  return ctx.exitCode;
}

/** The help page a command line asks for: the object and its command word when known. */
function helpPath(words: readonly string[]): string[] {
  const obj = findObject(words[0]!);
  const name = obj ? (obj.name === "address" ? "addr" : obj.name === "neighbour" ? "neigh" : obj.name) : words[0]!;
  const verb = words[1];
  return verb !== undefined && verb !== "help" && /^[a-z]+$/.test(verb) ? [name, verb] : [name];
}
