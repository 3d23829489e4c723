/**
 * `tunkit neigh …`: the words of `ip neighbour` (iproute2 6.1's ipneigh.c): `add|change|replace|
 * delete [to] ADDR dev NAME [lladdr LLADDR] [nud STATE] [proxy] [router] [use] [managed]
 * [extern_learn] [protocol P]`, `get ADDR dev NAME [proxy]`, and `show|flush [to PREFIX] [dev
 * NAME] [nud STATE|all] [proxy] [unused] [master M|nomaster] [protocol P]`. Output through the
 * library's ip views (text identical to ip's, JSON to `ip -j`).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { AF } from "../netlink/route/constants.ts";
import { parsePrefix } from "../netlink/route/ip.ts";
import { neighFromSpec, parseNudState, type NeighFilter, type NeighMode, type NeighSpec } from "../netlink/spec/neigh.ts";
import { linkMap } from "../netlink/view/context.ts";
import { neighToIpJson, neighToIpText } from "../netlink/view/neigh.ts";
import { ifName } from "./args.ts";
import { ipVerb, Keywords, notAWord, q, Words } from "./grammar.ts";
import type { Ctx, GlobalOptions, Op } from "./context.ts";
import { ListingWriter } from "./output.ts";

interface NeighState {
  spec: Partial<NeighSpec>;
  context: string;
}

/** The keywords of `neigh add|change|replace|delete` in iproute2's order. */
export const NEIGH_KEYWORDS = new Keywords<NeighState>([
  { name: "lladdr", abbrev: true, take: (s, w, k) => {
    if (s.spec.lladdr !== undefined) throw new UsageError(`Word "lladdr" given twice in "${s.context}"`);
    s.spec.lladdr = w.take(k);
  } },
  { name: "nud", take: (s, w, k) => {
    const v = w.take(k);
    parseNudState(v);
    s.spec.state = v;
  } },
  { name: "proxy", abbrev: true, take: (s, w, k) => {
    // ip: `proxy ADDR` names the proxied address.
    const v = w.take(k);
    if (s.spec.dst !== undefined) throw new UsageError(`Two addresses in "${s.context}": ${q(s.spec.dst)} and ${q(v)}`);
    parsePrefix(v);
    s.spec.dst = v;
    s.spec.proxy = true;
  } },
  { name: "router", take: (s) => void (s.spec.router = true) },
  { name: "use", take: (s) => void (s.spec.use = true) },
  { name: "managed", take: (s) => void (s.spec.managed = true) },
  { name: "extern_learn", abbrev: true, take: (s) => void (s.spec.externLearn = true) },
  { name: "dev", take: (s, w, k) => void (s.spec.dev = ifName(w.take(k))) },
  { name: "protocol", abbrev: true, take: (s, w, k) => void (s.spec.protocol = w.take(k)) },
]);

/**
 * Reads the words of `neigh add|change|replace|delete` (from `words[from]`) into a spec,
 * validated by the library (no syscall).
 *
 * @example
 * ```ts
 * import { planNeigh } from "./neigh.ts";
 * planNeigh(["192.0.2.7", "lladdr", "02:00:00:00:00:07", "dev", "tap0", "nud", "permanent"], "neigh add");
 * // { dst: "192.0.2.7", lladdr: "02:00:00:00:00:07", dev: "tap0", state: "permanent" }
 * ```
 */
export function planNeigh(words: readonly string[], context: string, from = 0, family?: number, del = false): NeighSpec {
  const s: NeighState = { spec: {}, context };
  const w = new Words(words, from, context);
  while (!w.done) {
    const word = w.next();
    if (NEIGH_KEYWORDS.take(s, w, word)) continue;
    const v = word === "to" ? w.take("to") : word;
    if (word !== "to" && v.length && "help".startsWith(v)) throw new UsageError(`Usage asked for with ${q(v)}: see tunkit ${context} --help`);
    try {
      parsePrefix(v, family ?? AF.UNSPEC);
    } catch {
      throw notAWord(v, context, NEIGH_KEYWORDS.names(), () => parsePrefix(v, family ?? AF.UNSPEC));
    }
    if (s.spec.dst !== undefined) throw new UsageError(`Two addresses in "${context}": ${q(s.spec.dst)} and ${q(v)}`);
    s.spec.dst = v;
  }
  if (s.spec.dst === undefined || s.spec.dev === undefined) throw new UsageError(`Missing ${s.spec.dst === undefined ? "address" : '"dev NAME"'} in "${context}": the device and the destination are required`);
  const spec = s.spec as NeighSpec;
  void del;
  neighFromSpec(spec, 1); // the library (the device's index comes later)'s own checks, still no syscall
  return spec;
}

const NUD_ALL = "all";

/** The keywords of `neigh show|flush` in iproute2's order. */
const LIST_KEYWORDS = new Keywords<{ f: NeighFilter; nud: string[]; family?: number }>([
  { name: "dev", take: (s, w, k) => {
    if (s.f.dev !== undefined) throw new UsageError('Word "dev" given twice in "neigh show"');
    s.f.dev = ifName(w.take(k));
  } },
  { name: "master", take: (s, w, k) => void (s.f.master = ifName(w.take(k))) },
  { name: "vrf", take: () => {
    throw new UsageError('"vrf" is not supported by tunkit: use master NAME');
  } },
  { name: "nomaster", take: (s) => void (s.f.master = null) },
  { name: "unused", take: (s) => void (s.f.unused = true) },
  { name: "nud", take: (s, w, k) => {
    const v = w.take(k);
    if (v !== NUD_ALL) parseNudState(v);
    s.nud.push(v);
  } },
  { name: "proxy", take: (s) => void (s.f.proxy = true) },
  { name: "protocol", abbrev: true, take: (s, w, k) => void (s.f.protocol = w.take(k)) },
]);

/**
 * Reads the words of `neigh show|flush` (from `words[from]`) into the library's filter.
 *
 * @example
 * ```ts
 * import { planNeighList } from "./neigh.ts";
 * planNeighList(["dev", "tap0", "nud", "reachable"], {}); // { dev: "tap0", nud: ["reachable"] }
 * ```
 */
export function planNeighList(words: readonly string[], opts: { family?: number }, context = "neigh show", from = 0): NeighFilter {
  const s: { f: NeighFilter; nud: string[]; family?: number } = { f: {}, nud: [], family: opts.family };
  const w = new Words(words, from, context);
  while (!w.done) {
    const word = w.next();
    if (LIST_KEYWORDS.take(s, w, word)) continue;
    const v = word === "to" ? w.take("to") : word;
    if (word !== "to" && v.length && "help".startsWith(v)) throw new UsageError(`Usage asked for with ${q(v)}: see tunkit ${context} --help`);
    const p = parsePrefix(v, s.family ?? AF.UNSPEC);
    s.f.to = v;
    s.family ??= p.family;
  }
  if (s.nud.length) s.f.nud = s.nud;
  const family = opts.family ?? s.family;
  if (family !== undefined) s.f.family = family;
  return s.f;
}

async function listNeigh(ctx: Ctx, f: NeighFilter, opts: GlobalOptions): Promise<void> {
  const nl = ctx.rtnl();
  const links = linkMap(await nl.listLinks());
  const entries = await nl.listNeighbours(f);
  const out = ctx.outFor(opts);
  const w = new ListingWriter(out, opts.pretty);
  const vctx = { links, details: opts.details, stats: opts.stats, brief: opts.brief, devFiltered: f.dev !== undefined };
  for (const n of entries) {
    if (out.json) w.json(neighToIpJson(n, vctx));
    else w.text(neighToIpText(n, vctx) + "\n");
  }
  w.end();
}

/** ip's command words of `neighbour`, in do_ipneigh's order. */
export const NEIGH_VERBS: ReadonlyArray<readonly [string, boolean, string]> = [
  ["add", true, "add"], ["change", true, "change"], ["chg", false, "change"], ["replace", true, "replace"], ["delete", true, "delete"],
  ["get", true, "get"], ["show", true, "show"], ["lst", true, "show"], ["list", true, "show"], ["flush", true, "flush"], ["help", true, "help"],
];

const MODE_OF: Readonly<Record<string, NeighMode>> = { add: "create", change: "change", replace: "replace", delete: "delete" };

/**
 * `neigh …` words (`words[at]` is the command word; none means `show`): validates them and
 * returns the op. Used by the command line and by every `tunkit batch` line.
 *
 * @example
 * ```ts
 * import { neighWords } from "./neigh.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await neighWords(ctx, ["neigh", "add", "192.0.2.7", "lladdr", "02:00:00:00:00:07", "dev", "tap0"], 1, ctx.opts).run();
 * ```
 */
export function neighWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  const verb = at < words.length ? ipVerb(words[at]!, NEIGH_VERBS, "neigh") : "show";
  switch (verb) {
    case "show": {
      const f = planNeighList(words, opts, "neigh show", at + 1);
      return { run: () => listNeigh(ctx, f, opts) };
    }
    case "flush": {
      if (at + 1 >= words.length) throw new UsageError('Missing selector in "neigh flush": expected dev NAME, to PREFIX, nud STATE, … (ip: "Flush requires arguments")');
      const f = planNeighList(words, opts, "neigh flush", at + 1);
      return { run: async () => void (await ctx.rtnl().flushNeighbours(f)) };
    }
    case "get": {
      const s: { dst?: string; dev?: string; proxy?: boolean } = {};
      const w = new Words(words, at + 1, "neigh get");
      while (!w.done) {
        const word = w.next();
        if (word === "dev") s.dev = ifName(w.take(word));
        else if (word.length && "proxy".startsWith(word)) s.proxy = true;
        else {
          const v = word === "to" ? w.take("to") : word;
          if (s.dst !== undefined) throw new UsageError(`Two addresses in "neigh get": ${q(s.dst)} and ${q(v)}`);
          parsePrefix(v, opts.family ?? AF.UNSPEC);
          s.dst = v;
        }
      }
      if (s.dst === undefined || s.dev === undefined) throw new UsageError('Missing address or "dev NAME" in "neigh get": the device and the address are required');
      const { dst, dev, proxy } = s;
      return {
        run: async () => {
          const nl = ctx.rtnl();
          const n = await nl.getNeighbour(dst, dev, !!proxy);
          const links = linkMap(await nl.listLinks());
          // ip 6.1 prints `neigh get` as text even with -j: so does tunkit.
          ctx.outFor(opts).write(neighToIpText(n, { links, stats: opts.stats, details: opts.details }) + "\n");
        },
      };
    }
    case "help":
      throw new UsageError("see: tunkit neigh --help");
    default: {
      const mode = MODE_OF[verb]!;
      const spec = planNeigh(words, `neigh ${words[at]}`, at + 1, opts.family, mode === "delete");
      const nl = () => ctx.rtnl();
      return {
        run: () => (mode === "delete" ? nl().deleteNeighbour(spec) : mode === "replace" ? nl().replaceNeighbour(spec) : mode === "change" ? nl().changeNeighbour(spec) : nl().addNeighbour(spec)),
      };
    }
  }
}

/**
 * The `neigh` command group as commander sees it: only for `--help` pages and completion
 * scripts (the words themselves are parsed by {@link neighWords}).
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { neighCommand } from "./neigh.ts";
 * new Command("tunkit").addCommand(await neighCommand());
 * ```
 */
export async function neighCommand() {
  const [{ Command, Argument }, { setCompletionWords }] = await Promise.all([import("@commander-js/extra-typings"), import("./completions.ts")]);
  const group = new Command("neigh").alias("neighbour").alias("neighbor").description("add, change, delete, list and flush neighbour (ARP/NDP) entries (ip neigh)");
  const WORDS_HELP = `
Words (ip neigh's):
  [to] ADDR dev NAME     the entry (both required)
  lladdr LLADDR          link-layer address
  nud STATE              permanent, noarp, reachable, stale, none, incomplete, delay, probe, failed
  proxy ADDR             a proxy entry for ADDR (instead of ADDR)
  router, use, managed, extern_learn, protocol P`;
  const mk = (verb: string, description: string, examples: string, alias?: string) => {
    const c = new Command(verb)
      .description(description)
      .addArgument(new Argument("<words...>", "ADDR dev NAME [lladdr LLADDR] [nud STATE] …"))
      .addHelpText("after", `${WORDS_HELP}\n\nExamples:\n${examples}`);
    if (alias) c.alias(alias);
    setCompletionWords(c, NEIGH_KEYWORDS.names());
    return c;
  };
  const add = mk("add", "add a neighbour entry", "  tunkit neigh add 192.0.2.7 lladdr 02:00:00:00:00:07 dev tap0 nud permanent\n  tunkit neigh add proxy 2001:db8::7 dev tap0");
  const change = mk("change", "change an existing entry", "  tunkit neigh change 192.0.2.7 lladdr 02:00:00:00:00:08 dev tap0", "chg");
  const replace = mk("replace", "add an entry or change the existing one", "  tunkit neigh replace 192.0.2.7 lladdr 02:00:00:00:00:08 dev tap0 nud reachable");
  const del = mk("del", "delete an entry", "  tunkit neigh del 192.0.2.7 dev tap0", "delete");
  const get = mk("get", "look an entry up", "  tunkit neigh get 192.0.2.7 dev tap0");
  const show = new Command("show")
    .alias("list")
    .description("list neighbour entries, as ip neigh does")
    .addArgument(new Argument("[words...]", "[to PREFIX] [dev NAME] [nud STATE|all] [proxy] [unused] [master M|nomaster]"))
    .addHelpText("after", "\nExamples:\n  tunkit neigh show\n  tunkit -6 -j neigh show dev tap0 nud all");
  const flush = new Command("flush")
    .description("delete every entry that matches (a selector is required)")
    .addArgument(new Argument("<words...>", "the selectors of neigh show"))
    .addHelpText("after", "\nExamples:\n  tunkit neigh flush dev tap0");
  for (const c of [add, change, replace, del, get, show, flush]) group.addCommand(c);
  group.argument("[words...]").usage("[command] [words...]").helpCommand(false);
  return group;
}
