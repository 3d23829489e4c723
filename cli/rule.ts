/**
 * `tunkit rule …`: the words of `ip rule` (iproute2 6.1's iprule.c): every selector (`not`,
 * `from`, `to`, `tos`, `fwmark N[/M]`, `iif`/`dev`, `oif`, `l3mdev`, `uidrange`, `ipproto`,
 * `sport`, `dport`, `tun_id`, `priority`…), every action in any position (`lookup T`, `goto N`,
 * `nop`, `blackhole`, `unreachable`, `prohibit`, `type T`), `suppress_prefixlength`,
 * `suppress_ifgroup`, `realms`, `protocol`; a rule without an action looks up main; list and
 * flush with the same selectors, IPv4 unless told (like ip). Output through the library's ip views.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { AF } from "../netlink/route/constants.ts";
import { parsePrefix } from "../netlink/route/ip.ts";
import { routeTypeOf } from "../netlink/route/names.ts";
import { ruleFromSpec, type RuleFilter, type RuleSpec } from "../netlink/spec/rule.ts";
import { ruleToIpJson, ruleToIpText } from "../netlink/view/rule.ts";
import { ifName, intInRange } from "./args.ts";
import { ipVerb, Keywords, q, Words, type Keyword } from "./grammar.ts";
import type { Ctx, GlobalOptions, Op } from "./context.ts";
import { ListingWriter } from "./output.ts";

interface RuleState {
  spec: RuleSpec;
  context: string;
}

function prefixWord(k: "from" | "to"): Keyword<RuleState> {
  return {
    name: k,
    take(s, w, word) {
      const v = w.take(word);
      if (v !== "all" && v !== "any" && v !== "default") {
        // ip reads a rule as IPv4 unless -6 says otherwise: the prefix does not choose the family.
        const family = s.spec.family ?? AF.INET;
        // Parsed once, either family: the address's own faults (a zone, a leading zero) are named
        // first, then a family that is not the rule's.
        if (parsePrefix(v, AF.UNSPEC).family !== family) {
          throw new UsageError(`Invalid ${k} ${q(v)}: the rule is ${family === AF.INET6 ? "IPv6" : "IPv4"} (ip rule reads rules as IPv4 unless told: ${family === AF.INET6 ? "drop -6" : "tunkit -6 rule …"})`);
        }
      }
      s.spec[k] = v;
    },
  };
}

function fwmark(s: { fwmark?: number; fwmask?: number }, v: string): void {
  const [m, mask] = v.split("/");
  s.fwmark = intInRange(m!, "fwmark", 0, 0xffffffff);
  if (mask !== undefined) s.fwmask = intInRange(mask, "fwmask", 0, 0xffffffff);
}

/** The keywords of `rule add|delete` in iproute2's order. */
export const RULE_KEYWORDS = new Keywords<RuleState>([
  { name: "not", take: (s) => void (s.spec.not = true) },
  prefixWord("from"),
  prefixWord("to"),
  { name: "preference", abbrev: true, also: [{ word: "order", abbrev: true }, { word: "priority", abbrev: true }], take: (s, w, k) => void (s.spec.priority = intInRange(w.take(k), "priority", 0, 0xffffffff)) },
  { name: "tos", also: [{ word: "dsfield", abbrev: true }], take: (s, w, k) => void (s.spec.tos = w.take(k)) },
  { name: "fwmark", take: (s, w, k) => fwmark(s.spec, w.take(k)) },
  { name: "realms", abbrev: true, take: (s, w, k) => void (s.spec.realms = w.take(k)) },
  { name: "protocol", abbrev: true, take: (s, w, k) => void (s.spec.protocol = w.take(k)) },
  { name: "tun_id", abbrev: true, take: (s, w, k) => {
    const v = w.take(k);
    if (!/^(\d+|0x[0-9a-f]+)$/i.test(v)) throw new UsageError(`Invalid tun_id ${q(v)}: expected a number`);
    s.spec.tunId = BigInt(v);
  } },
  { name: "table", abbrev: true, also: ["lookup"], take: (s, w, k) => {
    s.spec.table = w.take(k);
    if (s.spec.action === undefined) s.spec.action = "lookup";
  } },
  { name: "suppress_prefixlength", abbrev: true, also: ["sup_pl"], take: (s, w, k) => void (s.spec.suppressPrefixlen = intInRange(w.take(k), "suppress_prefixlength", 0, 0xffffffff)) },
  { name: "suppress_ifgroup", abbrev: true, also: ["sup_group"], take: (s, w, k) => void (s.spec.suppressIfgroup = w.take(k)) },
  { name: "dev", also: ["iif"], take: (s, w, k) => void (s.spec.iif = ifName(w.take(k))) },
  { name: "oif", take: (s, w, k) => void (s.spec.oif = ifName(w.take(k))) },
  { name: "l3mdev", take: (s) => void (s.spec.l3mdev = true) },
  { name: "uidrange", take: (s, w, k) => void (s.spec.uidRange = w.take(k)) },
  { name: "nat", also: [{ word: "map-to", abbrev: true }], take: () => {
    throw new UsageError('"nat"/"map-to" rules are gone from Linux (since 2.6): not supported');
  } },
  { name: "ipproto", take: (s, w, k) => void (s.spec.ipProto = w.take(k)) },
  { name: "sport", take: (s, w, k) => void (s.spec.sport = w.take(k)) },
  { name: "dport", take: (s, w, k) => void (s.spec.dport = w.take(k)) },
]);

/** The action words (ip's else branch): `[type] goto N | nop | TYPE`. */
function action(s: RuleState, w: Words, first: string): void {
  let v = first;
  if (v === "type") v = w.take("type");
  if (v.length && "help".startsWith(v)) throw new UsageError(`Usage asked for with ${q(v)}: see tunkit ${s.context} --help`);
  if (v.length && "goto".startsWith(v)) {
    s.spec.action = "goto";
    s.spec.goto = intInRange(w.take(v), "goto target", 0, 0xffffffff);
    return;
  }
  if (v.length && "nop".startsWith(v)) {
    s.spec.action = "nop";
    return;
  }
  const t = routeTypeOf(v);
  if (t === undefined) throw new UsageError(`Unknown word ${q(v)} in "${s.context}": expected a selector (from, to, fwmark, iif, …) or an action (lookup TABLE, goto PREF, nop, blackhole, unreachable, prohibit)`);
  s.spec.action = t;
}

/**
 * Reads the words of `rule add|delete` (from `words[from]`) into a rule spec, validated by the
 * library (no syscall). Without an action a new rule looks up main, as with ip.
 *
 * @example
 * ```ts
 * import { planRule } from "./rule.ts";
 * planRule(["from", "192.0.2.0/24", "lookup", "100", "pref", "1000"], "rule add");
 * // { family: 2, from: "192.0.2.0/24", table: "100", action: "lookup", priority: 1000 }
 * ```
 */
export function planRule(words: readonly string[], context: string, family?: number, del = false, from = 0): RuleSpec {
  // ip reads a rule as IPv4 unless -6 says otherwise.
  const s: RuleState = { spec: { family: family ?? AF.INET }, context };
  const w = new Words(words, from, context);
  while (!w.done) {
    const word = w.next();
    if (!RULE_KEYWORDS.take(s, w, word)) action(s, w, word);
  }
  if (s.spec.l3mdev && s.spec.table !== undefined) throw new UsageError(`"table" cannot be given with "l3mdev" in "${context}"`);
  ruleFromSpec(s.spec, del); // the library's own checks and iproute2's defaults, still no syscall
  return s.spec;
}

/** The keywords of `rule list|flush` in iproute2's order. */
const LIST_KEYWORDS = new Keywords<{ f: RuleFilter & { action?: number }; family?: number }>([
  { name: "preference", abbrev: true, also: [{ word: "order", abbrev: true }, { word: "priority", abbrev: true }], take: (s, w, k) => void (s.f.priority = intInRange(w.take(k), "priority", 0, 0xffffffff)) },
  { name: "not", take: (s) => void (s.f.not = true) },
  { name: "tos", also: ["dsfield"], take: (s, w, k) => void (s.f.tos = w.take(k)) },
  { name: "fwmark", take: (s, w, k) => fwmark(s.f, w.take(k)) },
  { name: "dev", also: ["iif"], take: (s, w, k) => void (s.f.iif = ifName(w.take(k))) },
  { name: "oif", take: (s, w, k) => void (s.f.oif = ifName(w.take(k))) },
  { name: "l3mdev", take: (s) => void (s.f.l3mdev = true) },
  { name: "uidrange", take: (s, w, k) => void (s.f.uidRange = w.take(k)) },
  { name: "tun_id", abbrev: true, take: (s, w, k) => void (s.f.tunId = BigInt(intInRange(w.take(k), "tun_id", 0, Number.MAX_SAFE_INTEGER))) },
  { name: "lookup", abbrev: true, also: [{ word: "table", abbrev: true }], take: (s, w, k) => void (s.f.table = w.take(k)) },
  { name: "from", abbrev: true, also: [{ word: "src", abbrev: true }], take: (s, w, k) => {
    const v = w.take(k);
    if (v !== "all") s.family ??= parsePrefix(v, s.family ?? AF.UNSPEC).family;
    s.f.from = v;
  } },
  { name: "protocol", abbrev: true, take: (s, w, k) => void (s.f.protocol = w.take(k)) },
  { name: "ipproto", take: (s, w, k) => void (s.f.ipProto = w.take(k)) },
  { name: "sport", take: (s, w, k) => void (s.f.sport = w.take(k)) },
  { name: "dport", take: (s, w, k) => void (s.f.dport = w.take(k)) },
]);

/**
 * Reads the words of `rule list|flush` (from `words[from]`): the selectors, `to PREFIX`.
 *
 * @example
 * ```ts
 * import { planRuleList } from "./rule.ts";
 * planRuleList(["table", "main"], {}).table; // "main"
 * ```
 */
export function planRuleList(words: readonly string[], opts: { family?: number }, context = "rule list", from = 0): RuleFilter {
  const s: { f: RuleFilter; family?: number } = { f: {}, family: opts.family };
  const w = new Words(words, from, context);
  while (!w.done) {
    const word = w.next();
    if (LIST_KEYWORDS.take(s, w, word)) continue;
    let v = word;
    if (v.length && ("dst".startsWith(v) || "to".startsWith(v))) v = w.take(word);
    else throw new UsageError(`Unknown word ${q(word)} in "${context}": expected a selector (from, to, fwmark, iif, table, pref, …)`);
    if (v !== "all") s.family ??= parsePrefix(v, s.family ?? AF.UNSPEC).family;
    s.f.to = v;
  }
  if (opts.family !== undefined) s.f.family = opts.family;
  else if (s.family !== undefined) s.f.family = s.family;
  return s.f;
}

async function listRules(ctx: Ctx, f: RuleFilter, opts: GlobalOptions): Promise<void> {
  const nl = ctx.rtnl();
  const rules = await nl.listRules(f);
  const out = ctx.outFor(opts);
  const w = new ListingWriter(out, opts.pretty);
  const vctx = { details: opts.details, stats: opts.stats };
  for (const r of rules) {
    if (out.json) w.json(ruleToIpJson(r, vctx));
    else w.text(ruleToIpText(r, vctx) + "\n");
  }
  w.end();
}

/** ip's command words of `rule`, in do_iprule's order. */
export const RULE_VERBS: ReadonlyArray<readonly [string, boolean, string]> = [
  ["list", true, "list"], ["lst", true, "list"], ["show", true, "list"], ["save", true, "save"], ["restore", true, "restore"],
  ["add", true, "add"], ["delete", true, "delete"], ["flush", true, "flush"], ["help", true, "help"],
];

/**
 * `rule …` words (`words[at]` is the command word; none means `list`): validates them and
 * returns the op. Used by the command line and by every `tunkit batch` line.
 *
 * @example
 * ```ts
 * import { ruleWords } from "./rule.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await ruleWords(ctx, ["rule", "add", "from", "192.0.2.0/24", "lookup", "100"], 1, ctx.opts).run();
 * ```
 */
export function ruleWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  const verb = at < words.length ? ipVerb(words[at]!, RULE_VERBS, "rule") : "list";
  switch (verb) {
    case "list": {
      const f = planRuleList(words, opts, "rule list", at + 1);
      return { run: () => listRules(ctx, f, opts) };
    }
    case "flush": {
      const f = planRuleList(words, opts, "rule flush", at + 1);
      return { run: async () => void (await ctx.rtnl().flushRules(f)) };
    }
    case "save":
    case "restore":
      throw new UsageError(`"rule ${verb}" is not supported by tunkit: use rule list --json`);
    case "help":
      throw new UsageError("see: tunkit rule --help");
    default: {
      const del = verb === "delete";
      if (at + 1 >= words.length) throw new UsageError(`Missing words in "rule ${words[at]}": ip rule ${del ? "del" : "add"} requires arguments (selectors, an action)`);
      const spec = planRule(words, `rule ${words[at]}`, opts.family, del, at + 1);
      return {
        run: () => (del ? ctx.rtnl().deleteRule(spec) : ctx.rtnl().addRule(spec)),
        // No exact undo (the kernel picks a priority when none is given): batch sends it first in its datagram.
        request: { devs: [], build: () => ctx.rtnl().ruleItem(spec, del) },
      };
    }
  }
}

/**
 * The `rule` command group as commander sees it: only for `--help` pages and completion
 * scripts (the words themselves are parsed by {@link ruleWords}).
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { ruleCommand } from "./rule.ts";
 * new Command("tunkit").addCommand(await ruleCommand());
 * ```
 */
export async function ruleCommand() {
  const [{ Command, Argument }, { setCompletionWords }] = await Promise.all([import("@commander-js/extra-typings"), import("./completions.ts")]);
  const group = new Command("rule").description("add, delete, list and flush routing policy rules (ip rule)");
  const WORDS_HELP = `
Words (ip rule's, abbreviated where ip abbreviates; any order):
  ACTION                 lookup|table N|NAME (the default: main), goto PREF, nop, blackhole,
                         unreachable, prohibit (also as: type ACTION)
  not                    invert the selectors
  from PREFIX|all, to PREFIX|all, tos T, fwmark N[/MASK], iif|dev NAME, oif NAME, l3mdev
  uidrange A-B, ipproto P, sport N[-M], dport N[-M], tun_id N
  pref N                 priority (also: priority, order)
  suppress_prefixlength N, suppress_ifgroup G, realms [SRC/]DST, protocol P`;
  const mk = (verb: string, description: string, examples: string, alias?: string) => {
    const c = new Command(verb)
      .description(description)
      .addArgument(new Argument("<words...>", "[selectors] [ACTION] [pref N] …"))
      .addHelpText("after", `${WORDS_HELP}\n\nExamples:\n${examples}`);
    if (alias) c.alias(alias);
    setCompletionWords(c, [...RULE_KEYWORDS.names(), "lookup", "goto", "nop", "blackhole", "unreachable", "prohibit"]);
    return c;
  };
  const add = mk("add", "add a rule", "  tunkit rule add from 192.0.2.0/24 lookup 100 pref 1000\n  tunkit -6 rule add to 2001:db8::/32 lookup main\n  tunkit rule add fwmark 0x54 ipproto tcp dport 443 lookup 8484");
  const del = mk("del", "delete the first rule that matches every given word", "  tunkit rule del pref 1000\n  tunkit rule del from 192.0.2.0/24 lookup 100", "delete");
  const list = new Command("list")
    .alias("show")
    .alias("ls")
    .description("list rules (IPv4 unless told, like ip)")
    .addArgument(new Argument("[words...]", "the selectors of rule add"))
    .addHelpText("after", "\nExamples:\n  tunkit rule list\n  tunkit -6 -j rule list table main");
  const flush = new Command("flush")
    .description("delete every rule that matches (the default rules excepted)")
    .addArgument(new Argument("[words...]", "the selectors of rule add"))
    .addHelpText("after", "\nExamples:\n  tunkit rule flush protocol 84");
  for (const c of [add, del, list, flush]) group.addCommand(c);
  group.argument("[words...]").usage("[command] [words...]").helpCommand(false);
  return group;
}
