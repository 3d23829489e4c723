/**
 * The one-shot path: `tunkit [OPTIONS] addr|address|route add|del|change|replace|… WORDS` run from
 * a handful of modules. cli/main.ts sends a command line here when it looks like one;
 * {@link runOneShot} reads the global options with the CLI's own reader (cli/globals.ts) and hands
 * the words to the same grammar and op as the full CLI (cli/addr-add.ts addressOp,
 * cli/route-add.ts routeOp: one grammar, one encoder), ended by the same {@link invoke}: same
 * messages, exit codes, `--json` and `-n NETNS`. A line that is not a modify command of those
 * objects (help, a listing, `-batch`, a bad option) it declines before running anything, and
 * main.ts runs the full CLI (cli/run.ts), which answers it as always.
 *
 * Why (start-up, issue 11): the full CLI's dispatch (cli/run.ts: the object table, commander's
 * command list, the help path) and the objects' list/get/flush grammars are not needed to add an
 * address; bench/cli-startup.ts's header has the numbers.
 *
 * @module
 */
import { Ctx, processSinks } from "./context.ts";
import { invoke } from "./exit.ts";
import { parseGlobals, takeAnywhere } from "./globals.ts";
import { ipVerb } from "./grammar.ts";
import { useSystemIpNames } from "../netlink/names.ts";
import type { Op, Sinks } from "./context.ts";

/**
 * Runs `argv` when it is a modify command of `addr`/`address`/`route` and resolves with its exit
 * code; resolves undefined, having changed and printed nothing, when it is not (the full CLI then
 * runs it). `sinks` replace stdout/stderr, as with cli/run.ts run().
 *
 * @example
 * ```ts
 * import { runOneShot } from "./oneshot.ts";
 * await runOneShot(["route", "list"]); // undefined: not a one-shot command
 * ```
 */
export async function runOneShot(argv: readonly string[], sinks: Partial<Sinks> = {}): Promise<number | undefined> {
  let g;
  let words: string[];
  let makeOp: (ctx: Ctx) => Op;
  try {
    g = parseGlobals(argv);
    if (g.version || g.help || g.opts.batch !== undefined || g.at + 1 >= argv.length) return undefined;
    const t = takeAnywhere(argv.slice(g.at), g.opts, { ipWords: true });
    if (t.help || t.words.length < 2) return undefined;
    words = t.words;
    const family = g.opts.family;
    // The op cli/route.ts routeWords and cli/addr.ts addrWords return for a modify verb.
    if (words[0] === "route") {
      const m = await import("./route-add.ts");
      const verb = ipVerb(words[1]!, m.ROUTE_VERBS, "route");
      if (!m.isRouteModify(verb)) return undefined;
      makeOp = (ctx) => m.routeOp(ctx, verb, words, 2, family);
    } else if (words[0] === "addr" || words[0] === "address") {
      const m = await import("./addr-add.ts");
      const verb = ipVerb(words[1]!, m.ADDR_VERBS, "addr");
      if (!m.isAddressModify(verb)) return undefined;
      makeOp = (ctx) => m.addressOp(ctx, verb, words, 2, family);
    } else return undefined;
  } catch {
    return undefined; // bad options or command word: the full CLI says so, in its words
  }
  const ctx = new Ctx({ ...processSinks(), ...sinks });
  ctx.opts = g.opts;
  return invoke(ctx, argv, async (seen) => {
    seen(argv.slice(g.at));
    ctx.checkNetns();
    useSystemIpNames();
    // A lean op with a request (one request and its ack): no rtnetlink client, no JIT timer (cli/run.ts runWords).
    await makeOp(ctx).run();
    return ctx.exitCode;
  });
}
