/**
 * `tunkit route …`: the words of `ip route` (iproute2 6.1's iproute.c), read the way ip reads
 * them: command words and keywords abbreviated where ip abbreviates (`r a`, `pri 5`, `ta 100`),
 * the route type anywhere before the prefix, metrics with `lock`, multipath `nexthop` groups,
 * `via inet6 ADDR`, IPv6 `pref`/`expires`; list/flush selectors (`root`, `match`, `exact`,
 * `proto`, `scope`, `type`, `via`, `src`, `realms`, `metric`…) with ip's families (IPv4 unless
 * told); `route get` with every option. The grammar is pure and shared by the command line and
 * `tunkit batch`; output goes through the library's ip views (text identical to ip's, JSON to
 * `ip -j`). commander only renders `--help`.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { AF, RT_TABLE, RTM, RTM_F } from "../netlink/route/constants.ts";
import { formatAddr, parsePrefix } from "../netlink/route/ip.ts";
import { defaultIpNames } from "../netlink/route/names.ts";
import { decodeRoute, encodeRoute, type Route } from "../netlink/route/route.ts";
import { routeFilter, routeFilterFamily, routeFilterTable, type RouteFilter, type RouteGetOptions } from "../netlink/spec/route.ts";
import { linkIndex, linkNames } from "../netlink/ifindex.ts";
import { linkMap } from "../netlink/view/context.ts";
import type { RouteViewContext } from "../netlink/view/route.ts";
import { ifName, intInRange } from "./args.ts";
import { ipVerb, Keywords, notAWord, q, Words } from "./grammar.ts";
import { lazy, type Ctx, type GlobalOptions, type Op } from "./context.ts";
import { ListingWriter } from "./output.ts";
import { ROUTE_VERBS, FAMILY_WORDS, famOfText, routeOp, ROUTE_KEYWORDS, tableId } from "./route-add.ts";
export { ROUTE_VERBS, planRoute, planRouteWire, routeOp, ROUTE_KEYWORDS, type RoutePlan } from "./route-add.ts";

// ---------------------------------------------------------------- list, flush

interface FilterState {
  f: RouteFilter;
  context: string;
  family?: number;
}

const prefixFilter = (s: FilterState, w: Words, first: string, root: "root" | "fromRoot", match: "match" | "fromMatch", exact: "exact" | "fromExact") => {
  let v = first;
  let kind: "root" | "match" | "exact" = "exact";
  if (v.length && "root".startsWith(v)) (kind = "root"), (v = w.take(v));
  else if (v.length && "match".startsWith(v)) (kind = "match"), (v = w.take(v));
  else if (v.length && "exact".startsWith(v)) v = w.take(v);
  parsePrefix(v, s.family ?? AF.UNSPEC);
  if (kind === "root") s.f[root] = v;
  else if (kind === "match") s.f[match] = v;
  else s.f[exact] = v;
};

/** The keywords of `route list|flush` in iproute2's order. */
const listKeywords = lazy(() =>
  new Keywords<FilterState>([
  { name: "table", abbrev: true, take: (s, w, k) => {
    const v = w.take(k);
    s.f.table = v === "all" || v === "cache" ? v : tableId(v);
  } },
  { name: "vrf", abbrev: true, take: () => {
    throw new UsageError('"vrf" is not supported by tunkit: give the VRF\'s table with "table N"');
  } },
  { name: "cached", abbrev: true, also: [{ word: "cloned", abbrev: true }], take: (s) => void (s.f.cloned = true) },
  { name: "tos", also: [{ word: "dsfield", abbrev: true }], take: (s, w, k) => void (s.f.tos = w.take(k)) },
  { name: "protocol", abbrev: true, take: (s, w, k) => void (s.f.protocol = w.take(k)) },
  { name: "scope", abbrev: true, take: (s, w, k) => void (s.f.scope = w.take(k)) },
  { name: "type", abbrev: true, take: (s, w, k) => void (s.f.type = w.take(k)) },
  { name: "dev", also: ["oif"], take: (s, w, k) => void (s.f.dev = ifName(w.take(k))) },
  { name: "iif", take: (s, w, k) => void (s.f.iif = ifName(w.take(k))) },
  { name: "mark", take: (s, w, k) => void (s.f.mark = intInRange(w.take(k), "mark", 0, 0xffffffff)) },
  { name: "metric", abbrev: true, also: [{ word: "priority", abbrev: true }, "preference"], take: (s, w, k) => void (s.f.metric = intInRange(w.take(k), "metric", 0, 0xffffffff)) },
  { name: "via", take: (s, w, k) => {
    let v = w.take(k);
    if (FAMILY_WORDS[v] !== undefined) v = w.take(`via ${v}`);
    s.f.via = v;
  } },
  { name: "src", take: (s, w, k) => void (s.f.src = w.take(k)) },
  { name: "realms", abbrev: true, take: (s, w, k) => void (s.f.realms = w.take(k)) },
  { name: "from", abbrev: true, take: (s, w, k) => prefixFilter(s, w, w.take(k), "fromRoot", "fromMatch", "fromExact") },
  ]),
);

/**
 * Reads the words of `route list|flush` (from `words[from]`) into the library's filter, with
 * ip's defaults: table main, IPv4 unless told (`-6`, an IPv6 prefix, or `table all` for both).
 *
 * @example
 * ```ts
 * import { planRouteList } from "./route.ts";
 * planRouteList(["table", "all", "dev", "tun0"], {}).table; // "all"
 * planRouteList(["root", "10.0.0.0/8"], {}).root;             // "10.0.0.0/8"
 * ```
 */
export function planRouteList(words: readonly string[], opts: { family?: number }, context = "route list", from = 0): RouteFilter {
  const s: FilterState = { f: {}, context, family: opts.family };
  const w = new Words(words, from, context);
  while (!w.done) {
    const word = w.next();
    if (listKeywords().take(s, w, word)) continue;
    let v = word;
    if (v.length && "to".startsWith(v) && v.length <= 2 && !w.done) v = w.next();
    try {
      prefixFilter(s, w, v, "root", "match", "exact");
    } catch (e) {
      if (w.at === 0 || !(e instanceof UsageError) || /^(root|match|exact)/.test(v)) throw e;
      throw notAWord(v, context, listKeywords().names(), () => parsePrefix(v, s.family ?? AF.UNSPEC));
    }
  }
  const f = s.f;
  if (opts.family !== undefined) f.family = opts.family;
  else {
    const p = f.exact ?? f.root ?? f.match ?? f.fromExact ?? f.fromRoot ?? f.fromMatch;
    if (p !== undefined && p !== "default" && p !== "all" && p !== "any") f.family = famOfText(p);
  }
  // Validates names (proto/scope/type/tos/realms) before any syscall (devices are looked up later).
  routeFilter({ ...f, dev: undefined, iif: undefined });
  routeFilterTable(f);
  routeFilterFamily(f);
  return f;
}

function viewContext(opts: GlobalOptions): RouteViewContext {
  return { details: opts.details, stats: opts.stats, oneline: opts.oneline };
}

/** The route views, loaded by the commands that print routes (a `route add` never does). */
function routeViews(): Promise<typeof import("../netlink/view/route.ts")> {
  return import("../netlink/view/route.ts");
}

/**
 * Streams the routes `f` selects to stdout as ip prints them (text or `-j` JSON), one netlink
 * datagram at a time: a million routes never sit in memory as objects or as one string.
 */
async function listRoutes(ctx: Ctx, f: RouteFilter, opts: GlobalOptions): Promise<void> {
  const { routeToIpJson, routeToIpText } = await routeViews();
  // The bare socket, not the rtnetlink client: a listing needs the devices' names only.
  const conn = ctx.conn();
  const links = await linkNames(conn);
  const rf: RouteFilter = { ...f };
  if (typeof rf.dev === "string") rf.dev = await linkIndex(conn, rf.dev);
  if (typeof rf.iif === "string") rf.iif = await linkIndex(conn, rf.iif);
  const out = ctx.outFor(opts);
  const vctx: RouteViewContext = { ...viewContext(opts), links, routeFilter: f };
  const w = new ListingWriter(out, opts.pretty);
  const json = out.json;
  const keep = routeFilter(rf);
  const family = routeFilterFamily(rf);
  const table = routeFilterTable(rf);
  const cloned = rf.cloned || rf.table === "cache";
  const proto = rf.protocol === undefined || rf.protocol === "all" ? 0 : defaultIpNames().parseProtocol(String(rf.protocol));
  try {
    await conn.dump(
      RTM.GETROUTE,
      (bw) => encodeRoute(bw, { family, protocol: proto, flags: cloned ? RTM_F.CLONED : 0, table: table || undefined, oif: typeof rf.dev === "number" ? rf.dev : undefined }),
      (m) => {
        if (m.type !== RTM.NEWROUTE) return undefined;
        const r: Route = decodeRoute(m.body);
        if (!keep(r)) return undefined;
        if (json) w.json(routeToIpJson(r, vctx));
        else w.text(routeToIpText(r, vctx) + "\n");
        return undefined;
      },
      "list routes",
    );
  } catch (e) {
    // Like ip: a main table that was never created is simply empty.
    if (!((e as { code?: string }).code === "ENOENT" && table === RT_TABLE.MAIN)) throw e;
  }
  w.end();
}

// ---------------------------------------------------------------- get

interface GetState {
  dst?: string;
  opts: RouteGetOptions;
  family?: number;
}

const getKeywords = lazy(() =>
  new Keywords<GetState>([
  { name: "tos", also: [{ word: "dsfield", abbrev: true }], take: (s, w, k) => void (s.opts.tos = w.take(k)) },
  { name: "from", abbrev: true, take: (s, w, k) => {
    const v = w.take(k);
    const p = parsePrefix(v, s.family ?? AF.UNSPEC);
    s.opts.from = v;
    if (s.family === undefined) s.family = p.family;
  } },
  { name: "iif", abbrev: true, take: (s, w, k) => void (s.opts.iif = ifName(w.take(k))) },
  { name: "mark", abbrev: true, take: (s, w, k) => void (s.opts.mark = intInRange(w.take(k), "mark", 0, 0xffffffff)) },
  { name: "oif", abbrev: true, also: ["dev"], take: (s, w, k) => void (s.opts.oif = ifName(w.take(k))) },
  { name: "notify", abbrev: true, take: () => {} },
  { name: "connected", abbrev: true, take: (s) => void (s.opts.connected = true) },
  { name: "vrf", abbrev: true, take: () => {
    throw new UsageError('"vrf" is not supported by tunkit');
  } },
  { name: "uid", abbrev: true, take: (s, w, k) => void (s.opts.uid = intInRange(w.take(k), "uid", 0, 0xffffffff)) },
  { name: "fibmatch", abbrev: true, take: (s) => void (s.opts.fibMatch = true) },
  { name: "as", take: () => {
    throw new UsageError('"as" (an MPLS destination) is not supported by tunkit');
  } },
  { name: "sport", abbrev: true, take: (s, w, k) => void (s.opts.sport = intInRange(w.take(k), "sport", 0, 65535)) },
  { name: "dport", abbrev: true, take: (s, w, k) => void (s.opts.dport = intInRange(w.take(k), "dport", 0, 65535)) },
  { name: "ipproto", abbrev: true, take: (s, w, k) => void (s.opts.ipProto = w.take(k)) },
  ]),
);

/**
 * Reads the words of `route get` (iproute2's iproute_get).
 *
 * @example
 * ```ts
 * import { planRouteGet } from "./route.ts";
 * planRouteGet(["198.51.100.7", "from", "192.0.2.1"]).opts.from; // "192.0.2.1"
 * ```
 */
export function planRouteGet(words: readonly string[], from = 0, family?: number): { dst: string; opts: RouteGetOptions } {
  const s: GetState = { opts: {}, family };
  const w = new Words(words, from, "route get");
  while (!w.done) {
    const word = w.next();
    if (getKeywords().take(s, w, word)) continue;
    const v = word === "to" ? w.take("to") : word;
    if (s.dst !== undefined) throw new UsageError(`Two destinations in "route get": ${q(s.dst)} and ${q(v)} (or an unknown word)`);
    const p = parsePrefix(v, s.family ?? AF.UNSPEC);
    if (v.includes("/") && p.len !== p.bytes.length * 8) throw new UsageError(`Invalid address ${q(v)} in "route get": expected an address without a prefix length`);
    s.dst = formatAddr(p.bytes);
    if (s.family === undefined) s.family = p.family;
  }
  if (s.dst === undefined) throw new UsageError('Missing address in "route get": expected route get ADDR');
  return { dst: s.dst, opts: s.opts };
}

// ---------------------------------------------------------------- the object


/**
 * `route …` words (`words[at]` is the command word; none means `list`): validates them and
 * returns the op. Used by the command line and by every `tunkit batch` line.
 *
 * @example
 * ```ts
 * import { routeWords } from "./route.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * const op = routeWords(ctx, ["route", "add", "198.51.100.0/24", "dev", "tun0"], 1, ctx.opts);
 * await op.run();
 * ```
 */
export function routeWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  const verb = at < words.length ? ipVerb(words[at]!, ROUTE_VERBS, "route") : "list";
  switch (verb) {
    case "list": {
      const f = planRouteList(words, opts, "route list", at + 1);
      return { run: () => listRoutes(ctx, f, opts), lean: true };
    }
    case "get": {
      const { dst, opts: g } = planRouteGet(words, at + 1, opts.family);
      return {
        run: async () => {
          const { routeToIpJson, routeToIpText } = await routeViews();
          const nl = ctx.rtnl();
          const r = await nl.getRoute(dst, g);
          const links = linkMap(await nl.listLinks());
          const out = ctx.outFor(opts);
          const w = new ListingWriter(out, opts.pretty);
          const vctx = { ...viewContext(opts), links };
          if (out.json) w.json(routeToIpJson(r, vctx));
          else w.text(routeToIpText(r, vctx) + "\n");
          w.end();
        },
      };
    }
    case "flush": {
      if (at + 1 >= words.length) throw new UsageError('Missing selector in "route flush": expected dev NAME, table N, proto P, root PREFIX, … (ip: "Flush requires arguments")');
      const f = planRouteList(words, opts, "route flush", at + 1);
      return {
        run: async () => {
          const nl = ctx.rtnl();
          const rf: RouteFilter = { ...f };
          if (typeof rf.dev === "string") rf.dev = await nl.ifindex(rf.dev);
          if (typeof rf.iif === "string") rf.iif = await nl.ifindex(rf.iif);
          const n = await nl.flushRoutes(rf);
          if (opts.stats) ctx.outFor(opts).info(`*** Round 1, deleting ${n} entries ***\n*** Flush is complete after 1 round ***`);
        },
      };
    }
    case "save":
    case "restore":
    case "showdump":
      throw new UsageError(`"route ${verb}" is not supported by tunkit: use route list --json`);
    case "help":
      throw new UsageError("see: tunkit route --help");
    default:
      return routeOp(ctx, verb, words, at + 1, opts.family);
  }
}

/**
 * The `route` command group as commander sees it: only for `--help` pages and completion
 * scripts (the words themselves are parsed by {@link routeWords}).
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { routeCommand } from "./route.ts";
 * new Command("tunkit").addCommand(await routeCommand());
 * ```
 */
export async function routeCommand() {
  const [{ Command, Argument }, { setCompletionWords }] = await Promise.all([import("@commander-js/extra-typings"), import("./completions.ts")]);
  const group = new Command("route").description("add, change, delete, list, look up and flush IPv4/IPv6 routes (ip route)");
  const WORDS_HELP = `
Words (ip route's, abbreviated where ip abbreviates; any order):
  [to] [TYPE] PREFIX     192.0.2.0/24, 2001:db8::/32, a host address, or default; TYPE: unicast,
                         local, broadcast, multicast, throw, unreachable, prohibit, blackhole, nat
  dev NAME               output device (also oif)
  via [inet|inet6] ADDR  gateway (of the other family with its family word: RTA_VIA)
  src ADDR, from PREFIX  preferred source address; source prefix (IPv6)
  metric N               also priority, preference
  table N|NAME           main (default), local, default, names from /etc/iproute2/rt_tables
  protocol N|NAME        boot (default), static, kernel, dhcp, … (/etc/iproute2/rt_protos)
  scope S, tos T, realms [SRC/]DST, onlink, nhid N, pref low|medium|high, expires N
  mtu|hoplimit|advmss|reordering|window|cwnd|initcwnd|initrwnd|ssthresh [lock] N
  rtt|rttvar [lock] TIME, rto_min TIME, congctl [lock] NAME, features ecn, quickack 0|1
  nexthop via ADDR dev NAME weight N [onlink] …   a multipath route (repeat nexthop)`;
  const mk = (verb: string, description: string, examples: string, alias?: string) => {
    const c = new Command(verb)
      .description(description)
      .addArgument(new Argument("<words...>", "[TYPE] PREFIX [dev NAME] [via ADDR] …"))
      .addHelpText("after", `${WORDS_HELP}\n\nExamples:\n${examples}`);
    if (alias) c.alias(alias);
    setCompletionWords(c, [...ROUTE_KEYWORDS.names(), "default", "blackhole", "unreachable", "prohibit", "throw", "local"]);
    return c;
  };
  const add = mk("add", "add a route (fails if it exists)",
    "  tunkit route add 198.51.100.0/24 dev tun0\n  tunkit route add default via 192.0.2.254 metric 100 table 100\n  tunkit route add 2001:db8:1::/48 via 2001:db8::2 dev tun0\n  tunkit route add 10.7.0.0/16 nexthop via 192.0.2.2 dev tun0 weight 2 nexthop via 192.0.2.3 dev tun0\n  tunkit route add blackhole 203.0.113.0/24");
  const change = mk("change", "change an existing route", "  tunkit route change 198.51.100.0/24 dev tun0 mtu lock 1400", "chg");
  const replace = mk("replace", "add a route, or replace the one with the same key", "  tunkit route replace 198.51.100.0/24 dev tun0 mtu 1400");
  const prepend = mk("prepend", "add a route before existing ones with the same key", "  tunkit route prepend default via 192.0.2.253");
  const append = mk("append", "add a route after existing ones with the same key", "  tunkit route append default via 192.0.2.253 metric 100");
  const del = mk("del", "delete a route", "  tunkit route del 198.51.100.0/24 dev tun0\n  tunkit route del blackhole 203.0.113.0/24", "delete");
  const list = new Command("list")
    .alias("show")
    .alias("ls")
    .description("list routes as ip route does (IPv4, table main, unless told)")
    .addArgument(new Argument("[words...]", "[table N|all|cache] [dev NAME] [proto P] [type T] [scope S] [root|match|exact PREFIX] …"))
    .addHelpText("after", "\nExamples:\n  tunkit route list\n  tunkit -6 route list table all dev tun0\n  tunkit -j route list root 10.0.0.0/8 proto static");
  setCompletionWords(list, listKeywords().names());
  const get = new Command("get")
    .description("show the route the kernel would use for an address")
    .addArgument(new Argument("<words...>", "ADDR [from ADDR] [iif NAME] [oif NAME] [mark N] [uid N] [ipproto P] [sport N] [dport N] [fibmatch]"))
    .addHelpText("after", "\nExamples:\n  tunkit route get 198.51.100.7\n  tunkit -j route get 2001:db8:1::1 from 2001:db8::1");
  setCompletionWords(get, getKeywords().names());
  const flush = new Command("flush")
    .description("delete every route that matches (a selector is required; IPv4 unless told, like ip)")
    .addArgument(new Argument("<words...>", "the selectors of route list"))
    .addHelpText("after", "\nExamples:\n  tunkit route flush dev tun0\n  tunkit route flush table 100\n  tunkit -6 route flush proto static");
  setCompletionWords(flush, listKeywords().names());
  for (const c of [add, change, replace, prepend, append, del, list, get, flush]) group.addCommand(c);
  group.argument("[words...]").usage("[command] [words...]").helpCommand(false);
  return group;
}
