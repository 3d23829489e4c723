/**
 * `tunkit route add|del|replace …`, `route list`, `route get`, `route flush`: the words of
 * `ip route`, IPv4 and IPv6 alike, so muscle memory works.
 *
 * @module
 */
import { Command, Argument, Option } from "@commander-js/extra-typings";
import {
  UsageError, AF, routeFromSpec, routeToIpJson, linkMap, parseRouteType, parseTable,
  type RouteSpec, type RouteMode, type RouteGetOptions, type Route,
} from "../mod.ts";
import { defaultSubcommand, ifName, intInRange, ipAddress, mtu, parseWords, routePrefix, wordValue, type WordSpec } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx, Op } from "./context.ts";
import { printJson, routeText } from "./output.ts";

/** Keywords of `route add|del|replace`. */
export const ROUTE_WORDS: Readonly<Record<string, WordSpec>> = {
  to: { value: true },
  dev: { value: true, aliases: ["oif"] },
  via: { value: true },
  metric: { value: true, aliases: ["priority", "preference"] },
  table: { value: true },
  proto: { value: true, aliases: ["protocol"] },
  scope: { value: true },
  type: { value: true },
  onlink: { value: false },
  src: { value: true },
  mtu: { value: true },
};

/** Route types that may lead the words, as in `ip route add blackhole 203.0.113.0/24`. */
export const ROUTE_TYPES = ["unicast", "local", "broadcast", "multicast", "anycast", "blackhole", "unreachable", "prohibit", "throw", "nat"];

/**
 * Parses the words after `route add|del|replace` into a route spec (validated, no syscall).
 *
 * @example
 * ```ts
 * import { planRoute } from "./route.ts";
 * planRoute(["198.51.100.0/24", "dev", "tun0", "metric", "10"], "route add");
 * // { dst: "198.51.100.0/24", family: 2, dev: "tun0", metric: 10 }
 * planRoute(["blackhole", "203.0.113.0/24"], "route add").type; // "blackhole"
 * ```
 */
export function planRoute(words: readonly string[], context: string, del = false): RouteSpec {
  let rest = [...words];
  let leadType: string | undefined;
  if (rest.length && ROUTE_TYPES.includes(rest[0]!)) leadType = rest.shift();
  const p = parseWords(rest, ROUTE_WORDS, context, 1);
  const to = wordValue(p, "to");
  if (to !== undefined && p.positional.length) throw new UsageError(`Unknown word "${p.positional[0]}" in "${context}": the prefix was given with "to"`);
  const dstText = to ?? p.positional[0];
  if (dstText === undefined) throw new UsageError(`Missing prefix in "${context}": expected ${context} PREFIX [dev NAME] [via ADDR] …`);
  const typeWord = wordValue(p, "type");
  if (leadType !== undefined && typeWord !== undefined) throw new UsageError(`Route type given twice in "${context}": "${leadType}" and "${typeWord}"`);
  const type = leadType ?? typeWord;
  if (type !== undefined) parseRouteType(type);
  // The gateway's family decides which "default" is meant (ip -6 route add default via …).
  const via = wordValue(p, "via");
  const gw = via !== undefined ? ipAddress(via, undefined, "gateway") : undefined;
  const dst = routePrefix(dstText, dstText === "default" && gw ? gw.family : AF.UNSPEC);
  const spec: RouteSpec = { dst: dstText, family: dst.family };
  if (type !== undefined) spec.type = type;
  if (gw) spec.gateway = gw.address;
  const dev = wordValue(p, "dev");
  if (dev !== undefined) spec.dev = ifName(dev);
  const metric = wordValue(p, "metric");
  if (metric !== undefined) spec.metric = intInRange(metric, "metric", 0, 0xffffffff);
  const table = wordValue(p, "table");
  if (table !== undefined) {
    if (table === "all") throw new UsageError(`Invalid table "all" in "${context}": only route list takes it`);
    spec.table = parseTable(table);
    if (spec.table === 0) throw new UsageError(`Invalid table "${table}": expected 1..4294967295 or a name`);
  }
  const proto = wordValue(p, "proto");
  if (proto !== undefined) spec.protocol = proto;
  const scope = wordValue(p, "scope");
  if (scope !== undefined) spec.scope = scope;
  if (p.keys.has("onlink")) spec.onlink = true;
  const src = wordValue(p, "src");
  if (src !== undefined) spec.prefsrc = ipAddress(src, dst.family, "source address").address;
  const m = wordValue(p, "mtu");
  if (m !== undefined) spec.mtu = mtu(m);
  routeFromSpec(spec, undefined, del); // the library's own checks (names of proto/scope/type), still no syscall
  return spec;
}

const MODES: Readonly<Record<string, RouteMode | "delete">> = { add: "create", del: "delete", delete: "delete", replace: "replace", append: "append" };

/**
 * Validates `route add|del|replace|append` words and returns the op that does it (used by the
 * command and by the start-up fast path in main.ts).
 *
 * @example
 * ```ts
 * import { routeOp } from "./route.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await ctx.perform(routeOp(ctx, "add", ["198.51.100.0/24", "dev", "tun0"]));
 * ```
 */
export function routeOp(ctx: Ctx, verb: string, words: readonly string[]): Op {
  const mode = MODES[verb];
  if (mode === undefined) throw new UsageError(`Unknown route command "${verb}"`);
  const spec = planRoute(words, `route ${verb}`, mode === "delete");
  const nl = () => ctx.rtnl();
  return {
    run: () =>
      mode === "delete" ? nl().deleteRoute(spec) : mode === "replace" ? nl().replaceRoute(spec) : mode === "append" ? nl().appendRoute(spec) : nl().addRoute(spec),
    pipeline: (rt, cache) => rt.routeItem(spec, mode, cache),
  };
}

/** Keywords of `route list`. */
const LIST_WORDS: Readonly<Record<string, WordSpec>> = {
  table: { value: true },
  dev: { value: true, aliases: ["oif"] },
  proto: { value: true, aliases: ["protocol"] },
  type: { value: true },
};

/** What `route list` selects. */
export interface RouteFilter {
  table: number | "all";
  dev?: string;
  protocol?: string;
  type?: string;
  families: number[];
}

/**
 * Parses the words after `route list`.
 *
 * @example
 * ```ts
 * import { planRouteList } from "./route.ts";
 * planRouteList(["table", "all", "dev", "tun0"], {}).table; // "all"
 * ```
 */
export function planRouteList(words: readonly string[], fam: { v4?: boolean; v6?: boolean }, context = "route list"): RouteFilter {
  const p = parseWords(words, LIST_WORDS, context);
  const t = wordValue(p, "table");
  const dev = wordValue(p, "dev");
  if (dev !== undefined) ifName(dev);
  const f: RouteFilter = {
    table: t === undefined ? 254 : t === "all" ? "all" : parseTable(t),
    families: fam.v4 && !fam.v6 ? [AF.INET] : fam.v6 && !fam.v4 ? [AF.INET6] : [AF.INET, AF.INET6],
  };
  if (dev !== undefined) f.dev = dev;
  const proto = wordValue(p, "proto");
  if (proto !== undefined) {
    routeFromSpec({ dst: "default", protocol: proto }, undefined);
    f.protocol = proto;
  }
  const type = wordValue(p, "type");
  if (type !== undefined) {
    parseRouteType(type);
    f.type = type;
  }
  return f;
}

async function selectRoutes(ctx: Ctx, f: RouteFilter): Promise<{ routes: Route[]; links: Map<number, import("../mod.ts").Link> }> {
  const nl = ctx.rtnl();
  const links = linkMap(await nl.listLinks());
  const oif = f.dev === undefined ? undefined : await nl.index(f.dev);
  const proto = f.protocol === undefined ? undefined : routeFromSpec({ dst: "default", protocol: f.protocol }, undefined).protocol;
  const type = f.type === undefined ? undefined : parseRouteType(f.type);
  const routes: Route[] = [];
  for (const family of f.families) {
    for (const r of await nl.listRoutes({ family, table: f.table })) {
      if (oif !== undefined && r.oif !== oif && !r.multipath?.some((n) => n.ifindex === oif)) continue;
      if (proto !== undefined && r.protocol !== proto) continue;
      if (type !== undefined && r.type !== type) continue;
      routes.push(r);
    }
  }
  return { routes, links };
}

async function listRoutes(ctx: Ctx, words: readonly string[], fam: { v4?: boolean; v6?: boolean }): Promise<void> {
  const f = planRouteList(words, fam);
  await ctx.perform({
    run: async () => {
      const { routes, links } = await selectRoutes(ctx, f);
      // Like ip, a listing filtered by one table does not repeat the table on each route.
      const views = routes.map((r) => routeToIpJson(r, { links })).map((v) => {
        if (typeof f.table === "number") delete v.table;
        return v;
      });
      const out = ctx.out;
      if (out.json) printJson(out, views);
      else for (const v of views) out.line(routeText(v));
    },
  });
}

const GET_WORDS: Readonly<Record<string, WordSpec>> = {
  to: { value: true },
  from: { value: true },
  iif: { value: true },
  oif: { value: true, aliases: ["dev"] },
  mark: { value: true },
  fibmatch: { value: false },
};

/**
 * Parses the words after `route get`.
 *
 * @example
 * ```ts
 * import { planRouteGet } from "./route.ts";
 * planRouteGet(["198.51.100.7"]).dst; // "198.51.100.7"
 * ```
 */
export function planRouteGet(words: readonly string[]): { dst: string; opts: RouteGetOptions } {
  const p = parseWords(words, GET_WORDS, "route get", 1);
  const dstText = wordValue(p, "to") ?? p.positional[0];
  if (dstText === undefined) throw new UsageError('Missing address in "route get": expected route get ADDR');
  const dst = ipAddress(dstText);
  const opts: RouteGetOptions = {};
  const from = wordValue(p, "from");
  if (from !== undefined) opts.from = ipAddress(from, dst.family, "source address").address;
  const iif = wordValue(p, "iif");
  if (iif !== undefined) opts.iif = ifName(iif);
  const oif = wordValue(p, "oif");
  if (oif !== undefined) opts.oif = ifName(oif);
  const mark = wordValue(p, "mark");
  if (mark !== undefined) opts.mark = intInRange(mark, "mark", 0, 0xffffffff);
  if (p.keys.has("fibmatch")) opts.fibMatch = true;
  return { dst: dst.address, opts };
}

/**
 * The `route` command group.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { routeCommand } from "./route.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(routeCommand(ctx));
 * ```
 */
export function routeCommand(ctx: Ctx) {
  const group = new Command("route").description("add, delete, replace, list, look up and flush IPv4/IPv6 routes");
  const WORDS_HELP = `
Words (like ip route; any order after the prefix):
  [TYPE] PREFIX          192.0.2.0/24, 2001:db8::/32, a host address, or default;
                         TYPE: unicast (default), blackhole, unreachable, prohibit, throw, local
  dev NAME               output device
  via ADDR               gateway (of the other family: RTA_VIA)
  metric N               0..4294967295 (also: priority, preference)
  table N|NAME           main (default), local, default, or 1..4294967295
  proto N|NAME           boot (default), static, kernel, dhcp, … or 0..255
  scope S                global, link, host, or 0..255 (default: link without via)
  type TYPE              same as the leading TYPE
  onlink                 the gateway is on the link even without a covering route
  src ADDR               preferred source address
  mtu N                  path MTU of the route`;
  const mk = (verb: "add" | "del" | "replace" | "append", mode: RouteMode | "delete", description: string, examples: string) => {
    const c = new Command(verb)
      .description(description)
      .addArgument(new Argument("<words...>", "[TYPE] PREFIX [dev NAME] [via ADDR] …"))
      .addHelpText("after", `${WORDS_HELP}\n\nExamples:\n${examples}`)
      .action((words) => ctx.perform(routeOp(ctx, verb, words)));
    setCompletionWords(c, [...Object.keys(ROUTE_WORDS), ...ROUTE_TYPES, "default"]);
    return c;
  };
  const add = mk("add", "create", "add a route (fails if it exists)",
    "  tunkit route add 198.51.100.0/24 dev tun0\n  tunkit route add default via 192.0.2.254 metric 100 table 100\n  tunkit route add 2001:db8:1::/48 via 2001:db8::2 dev tun0\n  tunkit route add blackhole 203.0.113.0/24");
  const del = mk("del", "delete", "delete a route", "  tunkit route del 198.51.100.0/24 dev tun0\n  tunkit route del blackhole 203.0.113.0/24").alias("delete");
  const replace = mk("replace", "replace", "add a route, or replace the one with the same key",
    "  tunkit route replace 198.51.100.0/24 dev tun0 mtu 1400");
  const append = mk("append", "append", "add a route after existing ones with the same prefix", "  tunkit route append default via 192.0.2.253 metric 100");
  const list = new Command("list")
    .alias("show")
    .alias("ls")
    .description("list routes (IPv4 and IPv6; main table unless told), as ip route does")
    .addArgument(new Argument("[words...]", "[table N|all] [dev NAME] [proto P] [type T]"))
    .addOption(new Option("-4", "IPv4 only"))
    .addOption(new Option("-6", "IPv6 only"))
    .addHelpText("after", "\nExamples:\n  tunkit route list\n  tunkit route list table all dev tun0\n  tunkit route list -6 --json")
    .action((words, o) => listRoutes(ctx, words, { v4: !!o["4"], v6: !!o["6"] }));
  setCompletionWords(list, Object.keys(LIST_WORDS));
  const get = new Command("get")
    .description("show the route the kernel would use for an address")
    .addArgument(new Argument("<words...>", "ADDR [from ADDR] [iif NAME] [oif NAME] [mark N] [fibmatch]"))
    .addHelpText("after", "\nExamples:\n  tunkit route get 198.51.100.7\n  tunkit route get 2001:db8:1::1 from 2001:db8::1 --json")
    .action(async (words) => {
      const { dst, opts } = planRouteGet(words);
      await ctx.perform({
        run: async () => {
          const nl = ctx.rtnl();
          const r = await nl.getRoute(dst, opts);
          const links = linkMap(await nl.listLinks());
          const v = routeToIpJson(r, { links });
          const out = ctx.out;
          if (out.json) printJson(out, [v]);
          else out.line(routeText(v));
        },
      });
    });
  setCompletionWords(get, Object.keys(GET_WORDS));
  const flush = new Command("flush")
    .description("delete every route that matches (a selector is required)")
    .addArgument(new Argument("<words...>", "dev NAME | table N | proto P | type T"))
    .addOption(new Option("-4", "IPv4 only"))
    .addOption(new Option("-6", "IPv6 only"))
    .addHelpText("after", "\nExamples:\n  tunkit route flush dev tun0\n  tunkit route flush table 100\n  tunkit route flush proto static -6")
    .action(async (words, o) => {
      const f = planRouteList(words, { v4: !!o["4"], v6: !!o["6"] }, "route flush");
      if (words.length === 0) throw new UsageError('Missing selector in "route flush": expected dev NAME, table N, proto P or type T');
      await ctx.perform({
        run: async () => {
          const nl = ctx.rtnl();
          const type = f.type === undefined ? undefined : parseRouteType(f.type);
          let n = 0;
          for (const family of f.families) {
            n += await nl.flushRoutes({ family, table: f.table, dev: f.dev, protocol: f.protocol }, (r) => type === undefined || r.type === type);
          }
          ctx.out.info(`${n} route${n === 1 ? "" : "s"} deleted`);
        },
      });
    });
  setCompletionWords(flush, Object.keys(LIST_WORDS));
  for (const c of [add, del, replace, append, list, get, flush]) group.addCommand(c);
  defaultSubcommand(group, () => listRoutes(ctx, [], {}));
  return group;
}
