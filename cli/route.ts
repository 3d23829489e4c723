/**
 * `tunkit route add|del|replace|append …`, `route list`, `route get`, `route flush`: the words
 * of `ip route`, IPv4 and IPv6 alike, so muscle memory works. The grammar here is pure and
 * shared by the command line and `tunkit batch`; commander only renders `--help`.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { AF, RTM, RTM_F } from "../netlink/route/constants.ts";
import { formatAddr } from "../netlink/route/ip.ts";
import { NLM_F } from "../netlink/core/message.ts";
import { linkMap, routeToIpJson } from "../netlink/route/json.ts";
import { parseRouteType, parseTable } from "../netlink/route/names.ts";
import { decodeRoute, encodeRoute, type Route, type RouteWire } from "../netlink/route/route.ts";
import { routeFromSpec, type RouteGetOptions, type RouteMode, type RouteSpec } from "../netlink/rtnl.ts";
import type { BatchItem } from "../netlink/conn.ts";
import { ifName, intInRange, ipAddress, mtu } from "./args.ts";
import { parseTail, pickWord, q, wordValue, WordTable, type WordSpec } from "./grammar.ts";
import type { Ctx, GlobalOptions, Op, PipelineRequest } from "./context.ts";
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
const ROUTE_TABLE = new WordTable(ROUTE_WORDS);
const R = {
  to: ROUTE_TABLE.slot("to"), dev: ROUTE_TABLE.slot("dev"), via: ROUTE_TABLE.slot("via"), metric: ROUTE_TABLE.slot("metric"),
  table: ROUTE_TABLE.slot("table"), proto: ROUTE_TABLE.slot("proto"), scope: ROUTE_TABLE.slot("scope"), type: ROUTE_TABLE.slot("type"),
  onlink: ROUTE_TABLE.slot("onlink"), src: ROUTE_TABLE.slot("src"), mtu: ROUTE_TABLE.slot("mtu"),
} as const;

/** Route types that may lead the words, as in `ip route add blackhole 203.0.113.0/24`. */
export const ROUTE_TYPES = ["unicast", "local", "broadcast", "multicast", "anycast", "blackhole", "unreachable", "prohibit", "throw", "nat"];
const LEAD_TYPES = new Set(ROUTE_TYPES);

/** Gateways already validated (batch files repeat a handful of them): text -> family. */
const gatewayCache = new Map<string, number>();

let lastGateway = "";
let lastGatewayFamily = 0;

function gatewayFamily(via: string): number {
  if (via === lastGateway) return lastGatewayFamily;
  let f = gatewayCache.get(via);
  if (f === undefined) {
    f = ipAddress(via, undefined, "gateway").family;
    if (gatewayCache.size > 1024) gatewayCache.clear();
    gatewayCache.set(via, f);
  }
  lastGateway = via;
  lastGatewayFamily = f;
  return f;
}

/** Table names and numbers already parsed (a batch names one or two tables). */
const tableCache = new Map<string, number>();

let lastTable = "";
let lastTableId = 0;

function tableId(text: string): number {
  if (text === lastTable) return lastTableId;
  let t = tableCache.get(text);
  if (t === undefined) {
    t = parseTable(text);
    if (tableCache.size > 1024) tableCache.clear();
    tableCache.set(text, t);
  }
  lastTable = text;
  lastTableId = t;
  return t;
}

/** True when `bytes` has bits set beyond the first `len`. */
function hostBits(bytes: Uint8Array, len: number): boolean {
  const full = len >> 3;
  for (let i = full + 1; i < bytes.length; i++) if (bytes[i]) return true;
  if (full < bytes.length && bytes[full]! & (0xff >> (len & 7))) return true;
  return false;
}

function networkText(bytes: Uint8Array, len: number): string {
  const b = bytes.slice();
  for (let bit = len; bit < b.length * 8; bit++) b[bit >> 3] = b[bit >> 3]! & ~(0x80 >> (bit & 7));
  return formatAddr(b);
}

/** A validated route line: the spec (for the library calls) and its wire form (for batches). */
export interface RoutePlan {
  spec: RouteSpec;
  /** The request body, devices unresolved (`oif` filled in when the request is built). */
  wire: RouteWire;
}

/**
 * Parses the words after `route add|del|replace` (from `words[from]`) into a validated plan:
 * no syscall. Same messages as everywhere in tunkit (`Invalid gateway "x": …`).
 */
export function planRouteWire(words: readonly string[], context: string, del = false, from = 0): RoutePlan {
  let at = from;
  let leadType: string | undefined;
  if (at < words.length && LEAD_TYPES.has(words[at]!)) leadType = words[at++];
  const p = parseTail(words, at, ROUTE_TABLE, context, 1);
  const v = p.values as Array<string | undefined>;
  const to = v[R.to];
  if (to !== undefined && p.positional.length) throw new UsageError(`Unknown word ${q(p.positional[0]!)} in "${context}": the prefix was given with "to"`);
  const dstText = to ?? p.positional[0];
  if (dstText === undefined) throw new UsageError(`Missing prefix in "${context}": expected ${context} PREFIX [dev NAME] [via ADDR] …`);
  const typeWord = v[R.type];
  if (leadType !== undefined && typeWord !== undefined) throw new UsageError(`Route type given twice in "${context}": ${q(leadType)} and ${q(typeWord)}`);
  const type = leadType ?? typeWord;
  if (type !== undefined) parseRouteType(type);
  // The gateway's family decides which "default" is meant (ip -6 route add default via …).
  const via = v[R.via];
  const gwFamily = via !== undefined ? gatewayFamily(via) : undefined;
  const isDefault = dstText === "default" || dstText === "all" || dstText === "any";
  const family = isDefault ? (gwFamily === AF.INET6 ? AF.INET6 : AF.INET) : dstText.includes(":") ? AF.INET6 : AF.INET;
  const spec: RouteSpec = { dst: dstText, family };
  if (type !== undefined) spec.type = type;
  if (via !== undefined) spec.gateway = via;
  const dev = v[R.dev];
  if (dev !== undefined) spec.dev = ifName(dev);
  const metric = v[R.metric];
  if (metric !== undefined) spec.metric = intInRange(metric, "metric", 0, 0xffffffff);
  const table = v[R.table];
  if (table !== undefined) {
    if (table === "all") throw new UsageError(`Invalid table "all" in "${context}": only route list takes it`);
    spec.table = tableId(table);
    if (spec.table === 0) throw new UsageError(`Invalid table ${q(table)}: expected 1..4294967295 or a name`);
  }
  const proto = v[R.proto];
  if (proto !== undefined) spec.protocol = proto;
  const scope = v[R.scope];
  if (scope !== undefined) spec.scope = scope;
  if (p.values[R.onlink] !== undefined) spec.onlink = true;
  const src = v[R.src];
  if (src !== undefined) spec.prefsrc = ipAddress(src, family, "source address").address;
  const m = v[R.mtu];
  if (m !== undefined) spec.mtu = mtu(m);
  // The library's own checks (the prefix, names of proto/scope/type), still no syscall.
  const wire = routeFromSpec(spec, undefined, del, true);
  const dst = wire.dst as Uint8Array | undefined;
  if (dst && hostBits(dst, wire.dstLen ?? 0)) {
    const len = wire.dstLen ?? 0;
    throw new UsageError(`Invalid prefix ${q(dstText)}: host bits set beyond /${len} (did you mean ${networkText(dst, len)}/${len}?)`);
  }
  if (!del && dev === undefined && via === undefined && (type === undefined || type === "unicast")) {
    // The kernel would answer ENODEV, which reads as if the prefix were a device name.
    throw new UsageError(`Missing "dev NAME" or "via ADDR" in "${context}": a unicast route needs a device or a gateway`);
  }
  if (spec.family !== wire.family) spec.family = wire.family;
  return { spec, wire };
}

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
  return planRouteWire(words, context, del).spec;
}

const MODES: Readonly<Record<string, RouteMode | "delete">> = { add: "create", del: "delete", delete: "delete", replace: "replace", append: "append" };
const MODE_FLAGS: Readonly<Record<string, number>> = {
  create: NLM_F.CREATE | NLM_F.EXCL,
  replace: NLM_F.CREATE | NLM_F.REPLACE,
  append: NLM_F.CREATE | NLM_F.APPEND,
  delete: 0,
};
const OP_NAME: Readonly<Record<string, string>> = { create: "add route", replace: "replace route", append: "append route", delete: "delete route" };

/** IPv6's metric when none is given (IP6_RT_PRIO_USER): what an exact undo must name. */
const IP6_RT_PRIO_USER = 1024;

function subjectOf(spec: RouteSpec): string {
  let s = spec.type && spec.type !== "unicast" ? `${spec.type} ${spec.dst}` : spec.dst;
  if (spec.gateway) s += ` via ${spec.gateway}`;
  if (spec.table !== undefined) s += ` table ${spec.table}`;
  return s;
}

/**
 * Validates `route add|del|replace|append` words (from `words[from]`) and returns the op: run
 * alone, or pipelined by `tunkit batch` (an added route has an exact undo: the same route
 * deleted).
 *
 * @example
 * ```ts
 * import { routeOp } from "./route.ts";
 * await routeOp(ctx, "add", ["198.51.100.0/24", "dev", "tun0"]).run();
 * ```
 */
export function routeOp(ctx: Ctx, verb: string, words: readonly string[], from = 0): Op {
  const mode = MODES[verb];
  if (mode === undefined) throw new UsageError(`Unknown route command ${q(verb)}`);
  const { spec, wire } = planRouteWire(words, `route ${verb}`, mode === "delete", from);
  return new RouteLine(ctx, mode, spec, wire);
}

/** A validated route add/del/replace/append: an {@link Op} and its pipelined request in one object (a batch makes a million). */
class RouteLine implements Op, PipelineRequest, BatchItem {
  readonly request: PipelineRequest = this;
  readonly devs: readonly string[];
  readonly type: number;
  readonly flags: number;
  readonly op: string;
  /** Only route additions have an exact undo (see {@link undoAdd}). */
  readonly undo: (() => BatchItem) | undefined;
  constructor(
    private readonly ctx: Ctx,
    private readonly mode: RouteMode | "delete",
    readonly spec: RouteSpec,
    private readonly wire: RouteWire,
  ) {
    this.devs = typeof spec.dev === "string" ? [spec.dev] : NO_DEVS;
    this.type = mode === "delete" ? RTM.DELROUTE : RTM.NEWROUTE;
    this.flags = MODE_FLAGS[mode]!;
    this.op = OP_NAME[mode]!;
    this.undo = mode === "create" ? RouteLine.prototype.undoAdd : undefined; // called as this.undo()
  }

  run(): Promise<void> {
    const nl = this.ctx.rtnl();
    const m = this.mode;
    return m === "delete" ? nl.deleteRoute(this.spec) : m === "replace" ? nl.replaceRoute(this.spec) : m === "append" ? nl.appendRoute(this.spec) : nl.addRoute(this.spec);
  }

  /** The request is this object itself: its device resolved into the wire form it encodes. */
  build(index: (name: string) => number): BatchItem {
    const dev = this.devs[0];
    if (dev !== undefined) (this.wire as { oif?: number }).oif = index(dev);
    return this;
  }

  body(w: import("../netlink/core/writer.ts").ByteWriter): void {
    encodeRoute(w, this.wire);
  }

  get subject(): string {
    return subjectOf(this.spec);
  }

  /** An added route did not exist before (NLM_F_EXCL): deleting it with the same key undoes it. */
  undoAdd(): BatchItem {
    const w = this.wire;
    const u: RouteWire = w.family === AF.INET6 && !w.priority ? { ...w, priority: IP6_RT_PRIO_USER } : w;
    return { type: RTM.DELROUTE, flags: 0, body: (bw) => encodeRoute(bw, u), op: "undo add route", subject: this.subject };
  }
}

const NO_DEVS: readonly string[] = [];

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
export function planRouteList(words: readonly string[], fam: { v4?: boolean; v6?: boolean }, context = "route list", from = 0): RouteFilter {
  const p = parseTail(words, from, LIST_WORDS, context);
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

/**
 * Streams the routes `f` selects to stdout as `ip route` text or `ip -j` JSON, one netlink
 * datagram at a time: a million routes never sit in memory as objects or as one string.
 */
async function listRoutes(ctx: Ctx, f: RouteFilter, opts: GlobalOptions): Promise<void> {
  const nl = ctx.rtnl();
  const links = linkMap(await nl.listLinks());
  const oif = f.dev === undefined ? undefined : await nl.index(f.dev);
  const proto = f.protocol === undefined ? undefined : routeFromSpec({ dst: "default", protocol: f.protocol }, undefined).protocol;
  const type = f.type === undefined ? undefined : parseRouteType(f.type);
  const table = f.table === "all" ? 0 : f.table;
  const out = ctx.outFor(opts);
  const jctx = { links };
  const json = out.json;
  // Text goes out in pieces of a few hundred routes: no per-route write, no whole-listing string.
  let piece: string[] = [];
  let first = true;
  const emit = () => {
    if (!piece.length) return;
    out.write(json ? piece.join(",") : piece.join("\n") + "\n");
    piece = [];
  };
  if (json) out.write("[");
  for (const family of f.families) {
    await nl.conn.dump(
      RTM.GETROUTE,
      (w) => encodeRoute(w, { family }),
      (m) => {
        if (m.type !== RTM.NEWROUTE) return undefined;
        const r: Route = decodeRoute(m.body);
        if (table && r.table !== table) return undefined;
        if (r.flags & RTM_F.CLONED) return undefined;
        if (oif !== undefined && r.oif !== oif && !r.multipath?.some((n) => n.ifindex === oif)) return undefined;
        if (proto !== undefined && r.protocol !== proto) return undefined;
        if (type !== undefined && r.type !== type) return undefined;
        const v = routeToIpJson(r, jctx);
        // Like ip, a listing filtered by one table does not repeat the table on each route.
        if (table) delete v.table;
        if (json) {
          if (first) first = false;
          else if (!piece.length) piece.push("");
          piece.push(JSON.stringify(v));
        } else piece.push(routeText(v));
        if (piece.length >= 512) emit();
        return undefined;
      },
      "list routes",
    );
  }
  emit();
  if (json) out.write("]\n");
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
export function planRouteGet(words: readonly string[], from = 0): { dst: string; opts: RouteGetOptions } {
  const p = parseTail(words, from, GET_WORDS, "route get", 1);
  const dstText = wordValue(p, "to") ?? p.positional[0];
  if (dstText === undefined) throw new UsageError('Missing address in "route get": expected route get ADDR');
  const dst = ipAddress(dstText);
  const opts: RouteGetOptions = {};
  const src = wordValue(p, "from");
  if (src !== undefined) opts.from = ipAddress(src, dst.family, "source address").address;
  const iif = wordValue(p, "iif");
  if (iif !== undefined) opts.iif = ifName(iif);
  const oif = wordValue(p, "oif");
  if (oif !== undefined) opts.oif = ifName(oif);
  const mark = wordValue(p, "mark");
  if (mark !== undefined) opts.mark = intInRange(mark, "mark", 0, 0xffffffff);
  if (p.has("fibmatch")) opts.fibMatch = true;
  return { dst: dst.address, opts };
}

/** The command words of `route`, in help order. */
export const ROUTE_VERBS = [
  { name: "add" }, { name: "del", aliases: ["delete"] }, { name: "replace" }, { name: "append" },
  { name: "list", aliases: ["show", "ls", "lst"] }, { name: "get" }, { name: "flush" },
] as const;

function familyOf(opts: GlobalOptions): { v4?: boolean; v6?: boolean } {
  return { v4: opts.family === AF.INET, v6: opts.family === AF.INET6 };
}

/**
 * `route …` words (`words[at]` is the command word; none means `list`): validates them and
 * returns the op. Used by the command line and by every `tunkit batch` line.
 *
 * @example
 * ```ts
 * import { routeWords } from "./route.ts";
 * const op = routeWords(ctx, ["route", "add", "198.51.100.0/24", "dev", "tun0"], 1, ctx.opts);
 * await op.run();
 * ```
 */
export function routeWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  if (at >= words.length) {
    const f = planRouteList(words, familyOf(opts), "route list", at);
    return { run: () => listRoutes(ctx, f, opts) };
  }
  const verb = pickWord(words[at]!, ROUTE_VERBS, "route");
  switch (verb.name) {
    case "add":
    case "del":
    case "replace":
    case "append":
      return routeOp(ctx, verb.name, words, at + 1);
    case "list": {
      const f = planRouteList(words, familyOf(opts), "route list", at + 1);
      return { run: () => listRoutes(ctx, f, opts) };
    }
    case "get": {
      const { dst, opts: g } = planRouteGet(words, at + 1);
      return {
        run: async () => {
          const nl = ctx.rtnl();
          const r = await nl.getRoute(dst, g);
          const links = linkMap(await nl.listLinks());
          const v = routeToIpJson(r, { links });
          const out = ctx.outFor(opts);
          if (out.json) printJson(out, [v]);
          else out.line(routeText(v));
        },
      };
    }
    default: {
      if (at + 1 >= words.length) throw new UsageError('Missing selector in "route flush": expected dev NAME, table N, proto P or type T');
      const f = planRouteList(words, familyOf(opts), "route flush", at + 1);
      return {
        run: async () => {
          const nl = ctx.rtnl();
          const type = f.type === undefined ? undefined : parseRouteType(f.type);
          let n = 0;
          for (const family of f.families) {
            n += await nl.flushRoutes({ family, table: f.table, dev: f.dev, protocol: f.protocol }, (r) => type === undefined || r.type === type);
          }
          ctx.outFor(opts).info(`${n} route${n === 1 ? "" : "s"} deleted`);
        },
      };
    }
  }
}

/**
 * The `route` command group as commander sees it: only for `--help` pages and completion
 * scripts (the words themselves are parsed by {@link routeWords}).
 *
 * @example
 * ```ts
 * import { routeCommand } from "./route.ts";
 * program.addCommand(await routeCommand());
 * ```
 */
export async function routeCommand() {
  const [{ Command, Argument, Option }, { setCompletionWords }] = await Promise.all([import("@commander-js/extra-typings"), import("./completions.ts")]);
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
  const mk = (verb: "add" | "del" | "replace" | "append", description: string, examples: string) => {
    const c = new Command(verb)
      .description(description)
      .addArgument(new Argument("<words...>", "[TYPE] PREFIX [dev NAME] [via ADDR] …"))
      .addHelpText("after", `${WORDS_HELP}\n\nExamples:\n${examples}`);
    setCompletionWords(c, [...Object.keys(ROUTE_WORDS), ...ROUTE_TYPES, "default"]);
    return c;
  };
  const add = mk("add", "add a route (fails if it exists)",
    "  tunkit route add 198.51.100.0/24 dev tun0\n  tunkit route add default via 192.0.2.254 metric 100 table 100\n  tunkit route add 2001:db8:1::/48 via 2001:db8::2 dev tun0\n  tunkit route add blackhole 203.0.113.0/24");
  const del = mk("del", "delete a route", "  tunkit route del 198.51.100.0/24 dev tun0\n  tunkit route del blackhole 203.0.113.0/24").alias("delete");
  const replace = mk("replace", "add a route, or replace the one with the same key",
    "  tunkit route replace 198.51.100.0/24 dev tun0 mtu 1400");
  const append = mk("append", "add a route after existing ones with the same prefix", "  tunkit route append default via 192.0.2.253 metric 100");
  const list = new Command("list")
    .alias("show")
    .alias("ls")
    .description("list routes (IPv4 and IPv6; main table unless told), as ip route does")
    .addArgument(new Argument("[words...]", "[table N|all] [dev NAME] [proto P] [type T]"))
    .addOption(new Option("-4", "IPv4 only"))
    .addOption(new Option("-6", "IPv6 only"))
    .addHelpText("after", "\nExamples:\n  tunkit route list\n  tunkit route list table all dev tun0\n  tunkit route list -6 --json");
  setCompletionWords(list, Object.keys(LIST_WORDS));
  const get = new Command("get")
    .description("show the route the kernel would use for an address")
    .addArgument(new Argument("<words...>", "ADDR [from ADDR] [iif NAME] [oif NAME] [mark N] [fibmatch]"))
    .addHelpText("after", "\nExamples:\n  tunkit route get 198.51.100.7\n  tunkit route get 2001:db8:1::1 from 2001:db8::1 --json");
  setCompletionWords(get, Object.keys(GET_WORDS));
  const flush = new Command("flush")
    .description("delete every route that matches (a selector is required)")
    .addArgument(new Argument("<words...>", "dev NAME | table N | proto P | type T"))
    .addOption(new Option("-4", "IPv4 only"))
    .addOption(new Option("-6", "IPv6 only"))
    .addHelpText("after", "\nExamples:\n  tunkit route flush dev tun0\n  tunkit route flush table 100\n  tunkit route flush proto static -6");
  setCompletionWords(flush, Object.keys(LIST_WORDS));
  for (const c of [add, del, replace, append, list, get, flush]) group.addCommand(c);
  group.argument("[words...]").usage("[command] [words...]").helpCommand(false);
  return group;
}
