/**
 * `tunkit`: the command-line entry. Global options (`--json`, `-n/--netns`, `-q`), one
 * commander command per group (cli/up.ts, cli/link.ts, …), and the mapping of errors to exit
 * codes: 0 done, 1 the system refused (`tunkit: <message>` + `hint: <hint>`), 2 bad usage (one
 * line on stderr, nothing changed). `TUNKIT_DEBUG=1` adds stack traces.
 *
 * Start-up matters (operators compare it with `ip`): `--version` answers before anything is
 * loaded, and the rest is imported on demand.
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import { commanderMessage } from "./output.ts";
import type { Ctx, Sinks } from "./context.ts";
import pkg from "../package.json" with { type: "json" };

/** tunkit's version (from package.json, inlined by the bundler at build time). */
export const VERSION: string = pkg.version;

/** Placeholder until run() loads the library; a never-matching class. */
class UsageErrorRef extends Error {}

/** Exit codes. */
export const EXIT = { OK: 0, REFUSED: 1, USAGE: 2 } as const;

/** Help text width: fixed, so help is the same on every terminal (and the snapshot holds). */
export const HELP_WIDTH = 100;

const GLOBAL_HELP = `
Global options (anywhere on the line):
  --json            print listings as JSON (field names follow ip -j)
  -n, --netns NAME  act inside the named network namespace, like ip -n
  -q, --quiet       print nothing but listings and errors`;

/**
 * Builds the whole command tree on `ctx`.
 *
 * @example
 * ```ts
 * import { buildProgram } from "./main.ts";
 * import { Ctx } from "./context.ts";
 * const program = await buildProgram(new Ctx({ stdout: console.log, stderr: console.error, stdin: async () => "" }));
 * program.commands.map((c) => c.name()); // ["up", "down", "list", ...]
 * ```
 */
export async function buildProgram(ctx: Ctx): Promise<Command> {
  const [{ Command, Option, Help }, up, list, link, addr, route, batch, monitor, doctor, completions, dump, echo, inject, socks, http, rule, cleanup, ping] = await Promise.all([
    import("@commander-js/extra-typings"),
    import("./up.ts"),
    import("./list.ts"),
    import("./link.ts"),
    import("./addr.ts"),
    import("./route.ts"),
    import("./batch.ts"),
    import("./monitor.ts"),
    import("./doctor.ts"),
    import("./completions.ts"),
    import("./dump.ts"),
    import("./echo.ts"),
    import("./inject.ts"),
    import("./socks.ts"),
    import("./http.ts"),
    import("./rule.ts"),
    import("./cleanup.ts"),
    import("./ping.ts"),
  ]);
  const wg = await import("./wg.ts");
  const program = new Command("tunkit")
    .description("Linux TUN/TAP devices, addresses and routes: one binary instead of ip tuntap/addr/route glue.")
    .version(`tunkit ${VERSION}`, "-V, --version", "print the version")
    .addOption(new Option("--json", "print listings as JSON (field names follow ip -j)"))
    .addOption(new Option("-n, --netns <name>", "act inside the named network namespace, like ip -n"))
    .addOption(new Option("-q, --quiet", "print nothing but listings and errors"))
    .helpOption("-h, --help", "show help")
    .addHelpText(
      "after",
      `
Examples:
  tunkit up tun0 192.0.2.1/24 2001:db8::1/64   create tun0 (owned by you), add addresses, set it up
  tunkit route add 198.51.100.0/24 dev tun0     route a prefix into the tunnel
  tunkit list                                   tun/tap devices, their flags, owners and readers
  tunkit -n blue addr list                      addresses inside namespace "blue"
  tunkit down tun0                              delete tun0 with its addresses and routes
Exit codes: 0 done, 1 the system refused (the message says why), 2 bad usage (nothing changed).`,
    );
  for (const make of [
    up.upCommand, up.downCommand, list.listCommand, list.showCommand, link.linkCommand, addr.addrCommand,
    route.routeCommand, batch.batchCommand, monitor.monitorCommand, doctor.doctorCommand, completions.completionsCommand,
    dump.dumpCommand, echo.echoCommand, inject.injectCommand,
    socks.socksCommand, http.httpCommand, rule.ruleCommand, cleanup.cleanupCommand, ping.pingCommand, wg.wgCommand,
  ]) {
    program.addCommand(make(ctx) as unknown as Command);
  }
  program.hook("preAction", (_self, action) => {
    const o = action.optsWithGlobals() as { json?: boolean; quiet?: boolean; netns?: string };
    const base = ctx.baseOpts;
    ctx.opts = { json: !!o.json || !!base?.json, quiet: !!o.quiet || !!base?.quiet, netns: o.netns ?? base?.netns };
    ctx.checkNetns();
  });
  configureTree(program, ctx.sinks, true, Help);
  return program;
}

/** Applies the shared settings to a command and all its subcommands. */
function configureTree(cmd: Command, sinks: Sinks, root: boolean, Help: typeof import("@commander-js/extra-typings").Help): void {
  cmd
    .exitOverride()
    .showSuggestionAfterError(true)
    .helpOption("-h, --help", "show help")
    .configureHelp({
      helpWidth: HELP_WIDTH,
      sortSubcommands: false,
      // A command group reads "route <command>", not "route [words...]".
      subcommandTerm: (c) =>
        c.commands.length
          ? [c.name(), ...c.aliases()].join("|") + " <command>"
          : new Help().subcommandTerm(c),
    })
    .configureOutput({
      writeOut: (s) => sinks.stdout(s),
      writeErr: (s) => sinks.stderr(s),
      outputError: () => {}, // errors are printed once, as one line, by run()
    });
  if (!root && cmd.commands.length === 0) cmd.addHelpText("afterAll", GLOBAL_HELP);
  for (const sub of cmd.commands) configureTree(sub as unknown as Command, sinks, false, Help);
}

/** Default sinks: process stdout/stderr, stdin read to the end. */
export function processSinks(): Sinks {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    stdin: async () => {
      const chunks: Uint8Array[] = [];
      for await (const c of process.stdin as AsyncIterable<Uint8Array>) chunks.push(c);
      return new TextDecoder().decode(Buffer.concat(chunks));
    },
  };
}

/**
 * Maps an error to its exit code and the lines to print on stderr.
 *
 * @example
 * ```ts
 * import { describeError } from "./main.ts";
 * import { UsageError } from "../mod.ts";
 * describeError(new UsageError('Invalid MTU "0": expected 68..65535'), [], false, UsageError);
 * // { code: 2, lines: ['tunkit: Invalid MTU "0": expected 68..65535'] }
 * ```
 */
export function describeError(
  e: unknown,
  argv: readonly string[],
  debug = false,
  usage: abstract new (...a: never[]) => Error = UsageErrorRef,
): { code: number; lines: string[] } {
  const err = e as { name?: string; code?: string; exitCode?: number; message?: string; hint?: string; stack?: string };
  const trace = debug && err?.stack ? [err.stack] : [];
  if (err && typeof err === "object" && typeof err.code === "string" && err.code.startsWith("commander.")) {
    if (err.code === "commander.helpDisplayed" || err.code === "commander.version") return { code: EXIT.OK, lines: [] };
    if (err.code === "commander.help") return { code: EXIT.USAGE, lines: [] };
    return { code: EXIT.USAGE, lines: [`tunkit: ${commanderMessage(e as { code: string; message: string }, argv)}`] };
  }
  // instanceof, not the class name: minification renames classes.
  if (e instanceof usage) {
    return { code: EXIT.USAGE, lines: [`tunkit: ${oneLine(err.message ?? "bad usage")}`, ...trace] };
  }
  if (e instanceof Error && "hint" in e) {
    const lines = [`tunkit: ${oneLine(e.message)}`];
    if (err.hint) lines.push(`hint: ${err.hint}`);
    return { code: EXIT.REFUSED, lines: [...lines, ...trace] };
  }
  const msg = e instanceof Error ? e.message : String(e);
  return {
    code: EXIT.REFUSED,
    lines: [`tunkit: internal error: ${oneLine(msg)}`, ...(trace.length ? trace : ["hint: run again with TUNKIT_DEBUG=1 for a stack trace, and report it"])],
  };
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, " ").trim();
}

/**
 * Start-up fast path: the commands scripts run by the hundred (`addr add|del`, `route
 * add|del|replace|append`, `link set`) skip building the whole command tree when the line has
 * no option (nothing starting with "-", so no --help either). Same validation, same op, same
 * errors as through commander.
 */
async function fastPath(argv: readonly string[], ctx: Ctx): Promise<import("./context.ts").Op | undefined> {
  if (argv.length < 3 || argv.some((a) => a.startsWith("-"))) return undefined;
  const [group, verb, ...words] = argv as [string, string, ...string[]];
  if ((group === "addr" || group === "address") && (verb === "add" || verb === "del" || verb === "delete")) {
    return (await import("./addr.ts")).addressOp(ctx, verb === "add" ? "add" : "del", words);
  }
  if (group === "route" && ["add", "del", "delete", "replace", "append"].includes(verb)) {
    return (await import("./route.ts")).routeOp(ctx, verb, words);
  }
  if (group === "link" && verb === "set") return (await import("./link.ts")).linkSetOp(ctx, words);
  return undefined;
}

/** The command word: the first word after the leading global options. */
function commandWord(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-n" || a === "--netns") i++;
    else if (!a.startsWith("-")) return a;
  }
  return undefined;
}

/**
 * Runs the CLI on `argv` (the words after `tunkit`) and resolves with the exit code. Never
 * calls process.exit.
 *
 * @example
 * ```ts
 * import { run } from "./main.ts";
 * const code = await run(["route", "list", "--json"]);
 * ```
 */
export async function run(argv: readonly string[], sinks: Partial<Sinks> = {}): Promise<number> {
  const { Ctx } = await import("./context.ts");
  const ctx = new Ctx({ ...processSinks(), ...sinks });
  ctx.makeProgram = () => buildProgram(ctx);
  const debug = (typeof process !== "undefined" ? process.env.TUNKIT_DEBUG : undefined) === "1";
  const { UsageError } = await import("../mod.ts");
  try {
    const fast = await fastPath(argv, ctx);
    if (fast) {
      await ctx.perform(fast);
      return ctx.exitCode;
    }
    const program = await buildProgram(ctx);
    if (argv.length === 0) {
      program.outputHelp();
      return EXIT.OK;
    }
    // dump's words are tcpdump's (`dump -n tun0`, `dump -nn -q`): global options only before it.
    if (commandWord(argv) === "dump") program.enablePositionalOptions();
    await program.parseAsync([...argv], { from: "user" });
    return ctx.exitCode;
  } catch (e) {
    const { code, lines } = describeError(e, argv, debug, UsageError);
    for (const l of lines) ctx.sinks.stderr(l + "\n");
    return code;
  } finally {
    await ctx.close();
  }
}

if ((import.meta as { main?: boolean }).main) {
  const argv = process.argv.slice(2);
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    process.stdout.write(`tunkit ${VERSION}\n`);
  } else {
    const code = await run(argv);
    process.exit(code);
  }
}
