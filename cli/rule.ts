/**
 * `tunkit rule add|del|list`: routing policy rules with the words of `ip rule`
 * (`from`, `to`, `table`/`lookup`, `pref`, `fwmark`, `iif`, `oif`, `suppress_prefixlength`,
 * `proto`, `not`, and the actions blackhole / unreachable / prohibit / nop).
 *
 * @module
 */
import { Command, Argument, Option } from "@commander-js/extra-typings";
import { UsageError, AF, parseTable, parseProtocol, ruleFromSpec, ruleToIpJson, type RuleSpec } from "../mod.ts";
import { defaultSubcommand, ifName, intInRange, parseWords, routePrefix, wordValue, type WordSpec } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx } from "./context.ts";
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
export function planRule(words: readonly string[], context: string, fam: { v4?: boolean; v6?: boolean } = {}, del = false): RuleSpec {
  const rest = [...words];
  let action: RuleSpec["action"];
  if (rest.length && (RULE_ACTIONS as readonly string[]).includes(rest[0]!)) action = rest.shift() as RuleSpec["action"];
  const p = parseWords(rest, RULE_WORDS, context);
  const typeWord = wordValue(p, "type");
  if (typeWord !== undefined) {
    if (action !== undefined) throw new UsageError(`Rule action given twice in "${context}": "${action}" and "${typeWord}"`);
    if (!(RULE_ACTIONS as readonly string[]).includes(typeWord) && typeWord !== "unicast") {
      throw new UsageError(`Invalid rule type "${typeWord}": expected unicast, ${RULE_ACTIONS.join(", ")}`);
    }
    if (typeWord !== "unicast") action = typeWord as RuleSpec["action"];
  }
  let family: number = fam.v6 && !fam.v4 ? AF.INET6 : fam.v4 && !fam.v6 ? AF.INET : AF.UNSPEC;
  const spec: RuleSpec = {};
  for (const k of ["from", "to"] as const) {
    const v = wordValue(p, k);
    if (v === undefined || v === "all") continue;
    const c = routePrefix(v, family);
    if (family !== AF.UNSPEC && c.family !== family) throw new UsageError(`Invalid ${k} "${v}": the rule is ${family === AF.INET ? "IPv4" : "IPv6"}`);
    family = c.family;
    spec[k] = `${c.address}/${c.prefixLen}`;
  }
  spec.family = family === AF.UNSPEC ? AF.INET : family;
  const table = wordValue(p, "table");
  if (table !== undefined) {
    spec.table = parseTable(table);
    if (spec.table === 0) throw new UsageError(`Invalid table "${table}": expected 1..4294967295 or a name`);
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
  if (p.keys.has("not")) spec.not = true;
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

async function listRules(ctx: Ctx, words: readonly string[], fam: { v4?: boolean; v6?: boolean }): Promise<void> {
  const p = parseWords(words, { table: { value: true, aliases: ["lookup"] }, proto: { value: true, aliases: ["protocol"] } }, "rule list");
  const t = wordValue(p, "table");
  const table = t === undefined ? undefined : parseTable(t);
  const pr = wordValue(p, "proto");
  const proto = pr === undefined ? undefined : parseProtocol(pr);
  const families = fam.v4 && !fam.v6 ? [AF.INET] : fam.v6 && !fam.v4 ? [AF.INET6] : [AF.INET, AF.INET6];
  await ctx.perform({
    run: async () => {
      const nl = ctx.rtnl();
      const views: Record<string, unknown>[] = [];
      for (const family of families) {
        for (const r of await nl.listRules(family)) {
          if (table !== undefined && r.table !== table) continue;
          if (proto !== undefined && r.protocol !== proto) continue;
          views.push({ ...(families.length > 1 ? { family: family === AF.INET ? "inet" : "inet6" } : {}), ...ruleToIpJson(r) });
        }
      }
      const out = ctx.out;
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
    },
  });
}

/**
 * The `rule` command group.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { ruleCommand } from "./rule.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(ruleCommand(ctx));
 * ```
 */
export function ruleCommand(ctx: Ctx) {
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
      .addHelpText("after", `${WORDS_HELP}\n\nExamples:\n${examples}`)
      .action(async (words, o) => {
        const spec = planRule(words, `rule ${verb}`, { v4: !!o["4"], v6: !!o["6"] }, verb === "del");
        const del = verb === "del";
        await ctx.perform({
          run: () => (del ? ctx.rtnl().deleteRule(spec) : ctx.rtnl().addRule(spec)),
          pipeline: async (nl) => nl.ruleItem(spec, del),
        });
      });
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
    .addHelpText("after", "\nExamples:\n  tunkit rule list\n  tunkit rule list -4 proto 84 --json")
    .action((words, o) => listRules(ctx, words, { v4: !!o["4"], v6: !!o["6"] }));
  for (const c of [add, del, list]) group.addCommand(c);
  defaultSubcommand(group, () => listRules(ctx, [], {}));
  return group;
}
