/**
 * `tunkit rule add|del|list`: routing policy rules with the words of `ip rule`
 * (`from`, `to`, `table`/`lookup`, `pref`, `fwmark`, `iif`, `oif`, `suppress_prefixlength`,
 * `proto`, `not`, and the actions blackhole / unreachable / prohibit / nop).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { AF } from "../netlink/route/constants.ts";
import { ruleToIpJson } from "../netlink/route/json.ts";
import { parseProtocol, parseTable } from "../netlink/route/names.ts";
import { ruleFromSpec, type RuleSpec } from "../netlink/rtnl.ts";
import { ifName, intInRange, routePrefix } from "./args.ts";
import { parseTail, pickWord, q, wordValue, WordTable, type WordSpec } from "./grammar.ts";
import type { Ctx, GlobalOptions, Op } from "./context.ts";
import { printJson } from "./output.ts";

/** Keywords of `rule add|del`. */
export const RULE_WORDS: Readonly<Record<string, WordSpec>> = {
  from: { value: true },
  to: { value: true },
  table: { value: true, aliases: ["lookup"] },
  pref: { value: true, aliases: ["priority", "preference", "order"] },
  fwmark: { value: true },
  iif: { value: true, aliases: ["dev"] },
  oif: { value: true },
  suppress_prefixlength: { value: true, aliases: ["sup_pl"] },
  proto: { value: true, aliases: ["protocol"] },
  not: { value: false },
  type: { value: true },
};

const RULE_TABLE = new WordTable(RULE_WORDS);

/** Rule actions that may lead the words (`ip rule add blackhole from …`). */
export const RULE_ACTIONS = ["blackhole", "unreachable", "prohibit", "nop"] as const;

/**
 * Parses the words after `rule add|del` into a rule spec (validated, no syscall).
 *
 * @example
 * ```ts
 * import { planRule } from "./rule.ts";
 * planRule(["from", "192.0.2.0/24", "lookup", "100", "pref", "1000"], "rule add");
 * // { family: 2, from: "192.0.2.0/24", table: 100, priority: 1000 }
 * ```
 */
export function planRule(words: readonly string[], context: string, fam: { v4?: boolean; v6?: boolean } = {}, del = false, from = 0): RuleSpec {
  let at = from;
  let action: RuleSpec["action"];
  if (at < words.length && (RULE_ACTIONS as readonly string[]).includes(words[at]!)) action = words[at++] as RuleSpec["action"];
  const p = parseTail(words, at, RULE_TABLE, context);
  const typeWord = wordValue(p, "type");
  if (typeWord !== undefined) {
    if (action !== undefined) throw new UsageError(`Rule action given twice in "${context}": ${q(String(action))} and ${q(typeWord)}`);
    if (!(RULE_ACTIONS as readonly string[]).includes(typeWord) && typeWord !== "unicast") {
      throw new UsageError(`Invalid rule type ${q(typeWord)}: expected unicast, ${RULE_ACTIONS.join(", ")}`);
    }
    if (typeWord !== "unicast") action = typeWord as RuleSpec["action"];
  }
  let family: number = fam.v6 && !fam.v4 ? AF.INET6 : fam.v4 && !fam.v6 ? AF.INET : AF.UNSPEC;
  const spec: RuleSpec = {};
  for (const k of ["from", "to"] as const) {
    const v = wordValue(p, k);
    if (v === undefined || v === "all") continue;
    const c = routePrefix(v, family);
    if (family !== AF.UNSPEC && c.family !== family) throw new UsageError(`Invalid ${k} ${q(v)}: the rule is ${family === AF.INET ? "IPv4" : "IPv6"}`);
    family = c.family;
    spec[k] = `${c.address}/${c.prefixLen}`;
  }
  spec.family = family === AF.UNSPEC ? AF.INET : family;
  const table = wordValue(p, "table");
  if (table !== undefined) {
    spec.table = parseTable(table);
    if (spec.table === 0) throw new UsageError(`Invalid table ${q(table)}: expected 1..4294967295 or a name`);
  }
  const pref = wordValue(p, "pref");
  if (pref !== undefined) spec.priority = intInRange(pref, "priority", 0, 0xffffffff);
  const mark = wordValue(p, "fwmark");
  if (mark !== undefined) {
    const [m, mask] = mark.split("/");
    spec.fwmark = intInRange(m!, "fwmark", 0, 0xffffffff);
    if (mask !== undefined) spec.fwmask = intInRange(mask, "fwmask", 0, 0xffffffff);
  }
  const iif = wordValue(p, "iif");
  if (iif !== undefined) spec.iif = ifName(iif);
  const oif = wordValue(p, "oif");
  if (oif !== undefined) spec.oif = ifName(oif);
  const sup = wordValue(p, "suppress_prefixlength");
  if (sup !== undefined) spec.suppressPrefixlen = intInRange(sup, "suppress_prefixlength", 0, family === AF.INET6 ? 128 : 32);
  const proto = wordValue(p, "proto");
  if (proto !== undefined) spec.protocol = parseProtocol(proto);
  if (p.has("not")) spec.not = true;
  if (action !== undefined) spec.action = action;
  if (!del && action === undefined && spec.table === undefined) {
    throw new UsageError(`Missing table in "${context}": expected lookup TABLE or an action (${RULE_ACTIONS.join(", ")})`);
  }
  ruleFromSpec(spec, del); // the library's own checks, still no syscall
  return spec;
}

/**
 * A rule as `ip rule` prints it, from an `ip -j` rule object.
 *
 * @example
 * ```ts
 * import { ruleText } from "./rule.ts";
 * ruleText({ priority: 5, src: "all", dst: "192.0.2.0", dstlen: 24, table: "100", protocol: "84" });
 * // "5:\tfrom all to 192.0.2.0/24 lookup 100 proto 84"
 * ```
 */
export function ruleText(j: Record<string, unknown>): string {
  const s = (v: unknown) => String(v);
  const parts: string[] = [];
  if ("not" in j) parts.push("not");
  parts.push("from", j.srclen !== undefined ? `${s(j.src)}/${s(j.srclen)}` : s(j.src));
  if (j.dst !== undefined) parts.push("to", j.dstlen !== undefined ? `${s(j.dst)}/${s(j.dstlen)}` : s(j.dst));
  if (j.tos !== undefined) parts.push("tos", s(j.tos));
  if (j.fwmark !== undefined) parts.push("fwmark", j.fwmask !== undefined ? `${s(j.fwmark)}/${s(j.fwmask)}` : s(j.fwmark));
  if (j.iif !== undefined) parts.push("iif", s(j.iif));
  if (j.oif !== undefined) parts.push("oif", s(j.oif));
  if (j.uid_start !== undefined) parts.push("uidrange", `${s(j.uid_start)}-${s(j.uid_end)}`);
  if (j.table !== undefined) parts.push("lookup", s(j.table));
  if (j.suppress_prefixlen !== undefined) parts.push("suppress_prefixlength", s(j.suppress_prefixlen));
  if (j.goto !== undefined) parts.push("goto", s(j.goto));
  if (j.action !== undefined) parts.push(s(j.action));
  if (j.protocol !== undefined) parts.push("proto", s(j.protocol));
  return `${s(j.priority)}:\t${parts.join(" ")}`;
}

const RULE_LIST_WORDS = new WordTable({ table: { value: true, aliases: ["lookup"] }, proto: { value: true, aliases: ["protocol"] } });

function planRuleList(words: readonly string[], from: number): { table?: number; proto?: number } {
  const p = parseTail(words, from, RULE_LIST_WORDS, "rule list");
  const t = wordValue(p, "table");
  const pr = wordValue(p, "proto");
  return { table: t === undefined ? undefined : parseTable(t), proto: pr === undefined ? undefined : parseProtocol(pr) };
}

async function listRules(ctx: Ctx, f: { table?: number; proto?: number }, opts: GlobalOptions): Promise<void> {
  const families = opts.family === AF.INET ? [AF.INET] : opts.family === AF.INET6 ? [AF.INET6] : [AF.INET, AF.INET6];
  const nl = ctx.rtnl();
  const views: Record<string, unknown>[] = [];
  for (const family of families) {
    for (const r of await nl.listRules(family)) {
      if (f.table !== undefined && r.table !== f.table) continue;
      if (f.proto !== undefined && r.protocol !== f.proto) continue;
      views.push({ ...(families.length > 1 ? { family: family === AF.INET ? "inet" : "inet6" } : {}), ...ruleToIpJson(r) });
    }
  }
  const out = ctx.outFor(opts);
  if (out.json) printJson(out, views);
  else {
    let last: unknown;
    for (const v of views) {
      if (families.length > 1 && v.family !== last) {
        if (last !== undefined) out.line("");
        last = v.family;
      }
      const { family: _f, ...rest } = v;
      out.line(ruleText(rest));
    }
  }
}

/** The command words of `rule`, in help order. */
export const RULE_VERBS = [{ name: "add" }, { name: "del", aliases: ["delete"] }, { name: "list", aliases: ["show", "ls", "lst"] }] as const;

/**
 * `rule …` words (`words[at]` is the command word; none means `list`): validates them and
 * returns the op. Used by the command line and by every `tunkit batch` line.
 *
 * @example
 * ```ts
 * import { ruleWords } from "./rule.ts";
 * await ruleWords(ctx, ["rule", "add", "from", "192.0.2.0/24", "lookup", "100"], 1, ctx.opts).run();
 * ```
 */
export function ruleWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  const verb = at < words.length ? pickWord(words[at]!, RULE_VERBS, "rule").name : "list";
  if (verb === "list") {
    const f = planRuleList(words, at + 1);
    return { run: () => listRules(ctx, f, opts) };
  }
  const del = verb === "del";
  const fam = { v4: opts.family === AF.INET, v6: opts.family === AF.INET6 };
  const spec = planRule(words, `rule ${verb}`, fam, del, at + 1);
  return {
    run: () => (del ? ctx.rtnl().deleteRule(spec) : ctx.rtnl().addRule(spec)),
    // No exact undo (the kernel picks a priority when none is given): batch sends it first in its datagram.
    request: { devs: [], build: () => ctx.rtnl().ruleItem(spec, del) },
  };
}

/**
 * The `rule` command group as commander sees it: only for `--help` pages and completion
 * scripts (the words themselves are parsed by {@link ruleWords}).
 *
 * @example
 * ```ts
 * import { ruleCommand } from "./rule.ts";
 * program.addCommand(await ruleCommand());
 * ```
 */
export async function ruleCommand() {
  const [{ Command, Argument, Option }, { setCompletionWords }] = await Promise.all([import("@commander-js/extra-typings"), import("./completions.ts")]);
  const group = new Command("rule").description("add, delete and list routing policy rules (ip rule)");
  const WORDS_HELP = `
Words (like ip rule; any order):
  [ACTION]               blackhole, unreachable, prohibit, nop (default: lookup a table)
  from PREFIX|all        source prefix
  to PREFIX|all          destination prefix
  lookup|table N|NAME    the routing table to use
  pref N                 priority 0..4294967295 (also: priority, preference, order)
  fwmark N[/MASK]        firewall mark
  iif NAME, oif NAME     input / output interface
  suppress_prefixlength N  ignore matches with a prefix this short or shorter
  proto N|NAME           who added it (tunkit's own rules: 84)
  not                    invert the selector`;
  const mk = (verb: "add" | "del", description: string, examples: string) => {
    const c = new Command(verb)
      .description(description)
      .addArgument(new Argument("<words...>", "[ACTION] [from P] [to P] lookup T [pref N] …"))
      .addOption(new Option("-4", "IPv4 (the default when no prefix says)"))
      .addOption(new Option("-6", "IPv6"))
      .addHelpText("after", `${WORDS_HELP}\n\nExamples:\n${examples}`);
    setCompletionWords(c, [...Object.keys(RULE_WORDS), ...RULE_ACTIONS]);
    return c;
  };
  const add = mk("add", "add a rule", "  tunkit rule add from 192.0.2.0/24 lookup 100 pref 1000\n  tunkit rule add -6 to 2001:db8::/32 lookup main\n  tunkit rule add fwmark 0x54 lookup 8484");
  const del = mk("del", "delete the first rule that matches every given word", "  tunkit rule del pref 1000\n  tunkit rule del from 192.0.2.0/24 lookup 100").alias("delete");
  const list = new Command("list")
    .alias("show")
    .alias("ls")
    .description("list rules (IPv4 and IPv6 unless told)")
    .addArgument(new Argument("[words...]", "[table N] [proto P]"))
    .addOption(new Option("-4", "IPv4 only"))
    .addOption(new Option("-6", "IPv6 only"))
    .addHelpText("after", "\nExamples:\n  tunkit rule list\n  tunkit rule list -4 proto 84 --json");
  for (const c of [add, del, list]) group.addCommand(c);
  group.argument("[words...]").usage("[command] [words...]").helpCommand(false);
  return group;
}
