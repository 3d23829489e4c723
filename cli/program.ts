/**
 * The commander command tree: `--help` pages, completion scripts, and the commands that are not
 * ip words (up, down, dump, echo, inject, socks, http, monitor, doctor, completions, cleanup).
 * Loaded only when one of those is needed: ip-word commands (link, addr, route, rule, list,
 * show, batch) never load commander (see objects.ts).
 *
 * @module
 */
import type { Command } from "@commander-js/extra-typings";
import type { Ctx, Sinks } from "./context.ts";
import { VERSION } from "./version.ts";

/** Help text width: fixed, so help is the same on every terminal (and the snapshot holds). */
export const HELP_WIDTH = 100;

const GLOBAL_HELP = `
Global options (before the command; --json and --netns anywhere):
  -j, --json        print listings as JSON (field names follow ip -j)
  -n, --netns NAME  act inside the named network namespace, like ip -n
  -4, -6            IPv4 or IPv6 only
  -q, --quiet       print nothing but listings and errors`;

type Factory = (ctx: Ctx) => object | Promise<object>;

/** Commands in help order: name -> how to make it. */
const COMMANDS: ReadonlyArray<[string, () => Promise<Factory>]> = [
  ["up", async () => (await import("./up.ts")).upCommand],
  ["down", async () => (await import("./up.ts")).downCommand],
  ["list", async () => (await import("./list.ts")).listCommand],
  ["show", async () => (await import("./list.ts")).showCommand],
  ["link", async () => (await import("./link.ts")).linkCommand],
  ["addr", async () => (await import("./addr.ts")).addrCommand],
  ["route", async () => (await import("./route.ts")).routeCommand],
  ["batch", async () => (await import("./batch.ts")).batchCommand],
  ["monitor", async () => (await import("./monitor.ts")).monitorCommand],
  ["doctor", async () => (await import("./doctor.ts")).doctorCommand],
  ["completions", async () => (await import("./completions.ts")).completionsCommand],
  ["dump", async () => (await import("./dump.ts")).dumpCommand],
  ["echo", async () => (await import("./echo.ts")).echoCommand],
  ["inject", async () => (await import("./inject.ts")).injectCommand],
  ["socks", async () => (await import("./socks.ts")).socksCommand],
  ["http", async () => (await import("./http.ts")).httpCommand],
  ["rule", async () => (await import("./rule.ts")).ruleCommand],
  ["neigh", async () => (await import("./neigh.ts")).neighCommand],
  ["cleanup", async () => (await import("./cleanup.ts")).cleanupCommand],
  ["ping", async () => (await import("./ping.ts")).pingCommand],
  ["wg", async () => (await import("./wg.ts")).wgCommand],
];

/** Names of the commands commander knows (for "unknown command" suggestions). */
export const COMMAND_NAMES: readonly string[] = COMMANDS.map(([n]) => n);

/**
 * Builds the command tree on `ctx`: every command, or only `only` (plus the root's options)
 * when the others are not needed.
 *
 * @example
 * ```ts
 * import { buildProgram } from "./program.ts";
 * import { Ctx } from "./context.ts";
 * const program = await buildProgram(new Ctx({ stdout: console.log, stderr: console.error }));
 * program.commands.map((c) => c.name()); // ["up", "down", "list", ...]
 * ```
 */
export async function buildProgram(ctx: Ctx, only?: string): Promise<Command> {
  const wanted = COMMANDS.filter(([n]) => only === undefined || n === only || only === "completions");
  const [{ Command, Option, Help }, ...factories] = await Promise.all([
    import("@commander-js/extra-typings"),
    ...wanted.map(([, load]) => load()),
  ]);
  const program = new Command("tunkit")
    .description("Linux TUN/TAP devices, addresses and routes: one binary instead of ip tuntap/addr/route glue.")
    .version(`tunkit ${VERSION}`, "-V, --version", "print the version")
    .addOption(new Option("-j, --json", "print listings as JSON (field names follow ip -j)"))
    .addOption(new Option("-n, --netns <name>", "act inside the named network namespace, like ip -n"))
    .addOption(new Option("-4", "IPv4 only"))
    .addOption(new Option("-6", "IPv6 only"))
    .addOption(new Option("-q, --quiet", "print nothing but listings and errors"))
    .helpOption("-h, --help", "show help")
    .enablePositionalOptions()
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
  for (const make of factories) program.addCommand((await make(ctx)) as unknown as Command);
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
