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
import { NLM_F } from "../netlink/core/message.ts";
import type { ByteWriter } from "../netlink/core/writer.ts";
import type { BatchItem } from "../netlink/conn.ts";
import { AF, RT_TABLE, RTM, RTM_F } from "../netlink/route/constants.ts";
import { formatAddr, parsePrefix, type Prefix } from "../netlink/route/ip.ts";
import { defaultIpNames, routeTypeOf } from "../netlink/route/names.ts";
import { decodeRoute, encodeRoute, type Route, type RouteWire } from "../netlink/route/route.ts";
import { routeFilter, routeFilterFamily, routeFilterTable, routeFromPrefix, routeFromSpec, type MetricName, type NexthopSpec, type RouteFilter, type RouteGetOptions, type RouteMode, type RouteSpec } from "../netlink/spec/route.ts";
import { linkIndex, linkNames } from "../netlink/ifindex.ts";
import { linkMap } from "../netlink/view/context.ts";
import type { RouteViewContext } from "../netlink/view/route.ts";
import { ifName, intInRange, ipAddress } from "./args.ts";
import { ipVerb, Keywords, notAWord, q, Words, type Keyword } from "./grammar.ts";
import { lazy, type Ctx, type GlobalOptions, type Op, type PipelineRequest } from "./context.ts";
import { ListingWriter } from "./output.ts";

/** ip's families by name (`via inet6 ADDR`, `-f inet`). */
const FAMILY_WORDS: Readonly<Record<string, number>> = { inet: AF.INET, inet6: AF.INET6, ipv4: AF.INET, ipv6: AF.INET6 };

const famOfText = (s: string): number => (s.includes(":") ? AF.INET6 : AF.INET);
const familyText = (f: number): string => (f === AF.INET6 ? "IPv6" : "IPv4");

/** The last address read (a batch names one gateway or source on a million lines). */
let lastAddr = { text: "", family: -1, what: "", address: "" };

/** An address of the route's family: ip's get_addr, with its refusal when the family differs. */
function addressOf(text: string, family: number | undefined, what: string): string {
  const f = family ?? AF.UNSPEC;
  const l = lastAddr;
  if (text === l.text && f === l.family && what === l.what) return l.address;
  const address = ipAddress(text, f, what).address;
  lastAddr = { text, family: f, what, address };
  return address;
}

// ---------------------------------------------------------------- route add|change|replace|…

/** What the words of `route add` build up. */
interface RouteState {
  spec: RouteSpec;
  /** ip's rtm_family: from -4/-6, then the first address word. */
  family?: number;
  context: string;
  dstSet?: boolean;
  gwSet?: boolean;
  /** Made on the first metric (a batch line rarely has one). */
  metrics?: Record<string, number | string>;
  lock?: MetricName[];
}

const setFamily = (s: RouteState, f: number) => {
  if (s.family === undefined) s.family = f;
};

/** A metric keyword: `NAME [lock] VALUE` (`lock` only where ip takes it). */
function metric(name: MetricName, abbrev: boolean, lockable = true, value: (v: string, word: string) => number | string = (v, w) => intInRange(v, w, 0, 0xffffffff)): Keyword<RouteState> {
  return {
    name,
    abbrev,
    take(s, w, word) {
      let v = w.take(word);
      if (lockable && v === "lock") {
        (s.lock ??= []).push(name);
        v = w.take(`${word} lock`);
      }
      (s.metrics ??= {})[name] = value(v, name);
    },
  };
}

const rttValue = (v: string) => v; // the library reads ms/s units and ip's raw numbers

/** The keywords of `route add` in iproute2's order (the first that accepts a word wins). */
export const ROUTE_KEYWORDS = new Keywords<RouteState>([
  { name: "src", take: (s, w, k) => {
    const v = w.take(k);
    s.spec.prefsrc = addressOf(v, s.family, "source address");
    setFamily(s, famOfText(v));
  } },
  { name: "as", take: () => {
    throw new UsageError('"as" (an MPLS destination) is not supported by tunkit');
  } },
  { name: "via", take: (s, w, k) => {
    if (s.gwSet) throw new UsageError(`Word "via" given twice in "${s.context}": use nexthop groups for several gateways`);
    s.gwSet = true;
    let v = w.take(k);
    // The line's gateway is the last one read (a batch names one on a million lines): skip the
    // family words and checks that gave it (issue 11, p11: ~8% of a parsed route line).
    const l = lastAddr;
    if (v === l.text && l.what === "gateway" && (s.family === undefined || s.family === l.family)) {
      s.spec.gateway = l.address;
      setFamily(s, l.family);
      return;
    }
    let fam = FAMILY_WORDS[v];
    if (fam !== undefined) v = w.take(`via ${v}`);
    else fam = s.family;
    const got = famOfText(v);
    if (fam !== undefined && got !== fam) {
      throw new UsageError(`Invalid gateway ${q(v)}: an ${familyText(fam)} address is expected (a gateway of the other family is written "via ${got === AF.INET6 ? "inet6" : "inet"} ${v}")`);
    }
    s.spec.gateway = addressOf(v, got, "gateway");
    setFamily(s, got);
  } },
  { name: "from", take: (s, w, k) => {
    const v = w.take(k);
    const p = parsePrefix(v, s.family ?? AF.UNSPEC);
    s.spec.src = v;
    setFamily(s, p.family);
  } },
  { name: "tos", also: [{ word: "dsfield", abbrev: true }], take: (s, w, k) => void (s.spec.tos = w.take(k)) },
  { name: "expires", take: (s, w, k) => void (s.spec.expires = intInRange(w.take(k), "expires", 0, 0xffffffff)) },
  { name: "metric", abbrev: true, also: [{ word: "priority", abbrev: true }, "preference"], take: (s, w, k) => void (s.spec.metric = intInRange(w.take(k), "metric", 0, 0xffffffff)) },
  { name: "scope", take: (s, w, k) => void (s.spec.scope = w.take(k)) },
  metric("mtu", false),
  metric("hoplimit", false, true, (v) => intInRange(v, "hoplimit", 0, 255)),
  metric("advmss", false),
  metric("reordering", true),
  metric("rtt", false, true, rttValue),
  { name: "rto_min", take: (s, w, k) => void ((s.metrics ??= {}).rto_min = w.take(k)) },
  metric("window", true),
  metric("cwnd", true),
  metric("initcwnd", true),
  metric("initrwnd", true),
  { name: "features", abbrev: true, take: (s, w, k) => {
    const v = w.take(k);
    if (v !== "ecn") throw new UsageError(`Invalid features ${q(v)}: expected ecn`);
    (s.metrics ??= {}).features = "ecn";
  } },
  metric("quickack", true, false, (v) => intInRange(v, "quickack", 0, 1)),
  metric("congctl", true, true, (v) => v),
  metric("rttvar", true, true, rttValue),
  metric("ssthresh", true),
  { name: "realms", abbrev: true, take: (s, w, k) => void (s.spec.realms = w.take(k)) },
  { name: "onlink", take: (s) => void (s.spec.onlink = true) },
  { name: "nexthop", take: (s, w) => {
    w.at--; // the groups start at this word
    s.spec.nexthops = nexthops(s, w);
  } },
  { name: "nhid", take: (s, w, k) => void (s.spec.nhid = intInRange(w.take(k), "nhid", 0, 0xffffffff)) },
  { name: "protocol", abbrev: true, take: (s, w, k) => void (s.spec.protocol = w.take(k)) },
  { name: "table", abbrev: true, take: (s, w, k) => {
    const v = w.take(k);
    if (v === "all") throw new UsageError(`Invalid table "all" in "${s.context}": only route list takes it`);
    s.spec.table = tableId(v);
  } },
  { name: "vrf", abbrev: true, take: () => {
    throw new UsageError('"vrf" is not supported by tunkit: give the VRF\'s table with "table N"');
  } },
  { name: "dev", also: ["oif"], take: (s, w, k) => void (s.spec.dev = ifName(w.take(k))) },
  { name: "pref", abbrev: true, take: (s, w, k) => {
    const v = w.take(k);
    s.spec.pref = v === "low" || v === "medium" || v === "high" ? v : intInRange(v, "pref", 0, 255);
  } },
  { name: "encap", take: () => {
    throw new UsageError('"encap" (lightweight tunnels) is not supported by tunkit');
  } },
  { name: "ttl-propagate", take: (s, w, k) => {
    const v = w.take(k);
    if (v.length && "enabled".startsWith(v)) s.spec.ttlPropagate = true;
    else if (v.length && "disabled".startsWith(v)) s.spec.ttlPropagate = false;
    else throw new UsageError(`Invalid ttl-propagate ${q(v)}: expected enabled or disabled`);
  } },
  metric("fastopen_no_cookie", true, false, (v) => intInRange(v, "fastopen_no_cookie", 0, 1)),
]);

/** The words of one `nexthop` group (iproute2's parse_one_nh). */
const nexthopKeywords = lazy(() =>
  new Keywords<{ nh: NexthopSpec; s: RouteState }>([
  { name: "via", take: ({ nh, s }, w, k) => {
    let v = w.take(k);
    let fam = FAMILY_WORDS[v];
    if (fam !== undefined) v = w.take(`via ${v}`);
    else fam = s.family;
    const got = famOfText(v);
    if (fam !== undefined && got !== fam) throw new UsageError(`Invalid gateway ${q(v)}: an ${familyText(fam)} address is expected`);
    nh.gateway = addressOf(v, got, "gateway");
    setFamily(s, got);
  } },
  { name: "dev", take: ({ nh }, w, k) => void (nh.dev = ifName(w.take(k))) },
  { name: "weight", take: ({ nh }, w, k) => void (nh.weight = intInRange(w.take(k), "weight", 1, 256)) },
  { name: "onlink", take: ({ nh }) => void (nh.onlink = true) },
  { name: "realms", abbrev: true, take: ({ nh }, w, k) => void (nh.realms = w.take(k)) },
  { name: "encap", take: () => {
    throw new UsageError('"encap" (lightweight tunnels) is not supported by tunkit');
  } },
  { name: "as", take: () => {
    throw new UsageError('"as" (an MPLS destination) is not supported by tunkit');
  } },
  ]),
);

function nexthops(s: RouteState, w: Words): NexthopSpec[] {
  const out: NexthopSpec[] = [];
  while (!w.done) {
    const word = w.next();
    if (word !== "nexthop") throw new UsageError(`Unknown word ${q(word)} in "${s.context}": "nexthop" or the end of the line is expected after a nexthop group`);
    if (w.done) throw new UsageError(`Missing words after "nexthop" in "${s.context}": expected via ADDR, dev NAME, weight N, onlink`);
    const nh: NexthopSpec = {};
    while (!w.done) {
      const k = nexthopKeywords().find(w.peek()!);
      if (!k) break;
      const kw = w.next();
      k.take({ nh, s }, w, kw);
    }
    out.push(nh);
  }
  return out;
}

/** Table names and numbers already parsed (a batch names one or two tables). */
const tableCache = new Map<string, number>();
let lastTable = "";
let lastTableId = 0;

function tableId(text: string): number {
  if (text === lastTable) return lastTableId;
  let t = tableCache.get(text);
  if (t === undefined) {
    t = defaultIpNames().parseTable(text);
    if (t === 0) throw new UsageError(`Invalid table ${q(text)}: expected 1..4294967295 or a name`);
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
 * Reads the words of `route add|change|replace|prepend|append|test|delete` (from `words[from]`)
 * into a validated plan, the way ip's iproute_modify reads them. No syscall.
 *
 * @example
 * ```ts
 * import { planRouteWire } from "./route.ts";
 * planRouteWire(["10.0.0.0/8", "via", "192.0.2.1", "mtu", "lock", "1400"], "route add").spec;
 * // { dst: "10.0.0.0/8", family: 2, gateway: "192.0.2.1", metrics: { mtu: 1400 }, lock: ["mtu"] }
 * ```
 */
export function planRouteWire(words: readonly string[], context: string, del = false, from = 0, family?: number): RoutePlan {
  const s: RouteState = { spec: { dst: "" }, context, metrics: undefined, lock: undefined, family };
  const w = new Words(words, from, context);
  let dstText: string | undefined;
  let dstPrefix: Prefix | undefined;
  while (!w.done) {
    const word = w.next();
    if (ROUTE_KEYWORDS.take(s, w, word)) continue;
    // [to] [TYPE] PREFIX
    let v = word;
    if (v === "to") v = w.take("to");
    const c = v.charCodeAt(0);
    if ((c < 48 || c > 57) && routeTypeOf(v) !== undefined) {
      if (s.spec.type !== undefined) throw new UsageError(`Route type given twice in "${context}": ${q(String(s.spec.type))} and ${q(v)}`);
      s.spec.type = v;
      v = w.take(v);
    }
    if (v.length && "help".startsWith(v)) throw new UsageError(`Usage asked for with ${q(v)}: see tunkit ${context} --help`);
    const fam = s.family ?? AF.UNSPEC;
    let p;
    try {
      p = parsePrefix(v, fam);
    } catch {
      throw notAWord(v, context, ROUTE_KEYWORDS.names(), () => parsePrefix(v, fam));
    }
    if (dstText !== undefined) throw new UsageError(`Two prefixes in "${context}": ${q(dstText)} and ${q(v)}`);
    dstText = v;
    if (v !== "default" && v !== "all" && v !== "any") {
      setFamily(s, p.family);
      dstPrefix = p;
    }
  }
  if (dstText === undefined) throw new UsageError(`Missing prefix in "${context}": expected ${context} PREFIX [dev NAME] [via ADDR] …`);
  const spec = s.spec;
  spec.dst = dstText;
  spec.family = s.family ?? AF.INET;
  if (s.metrics !== undefined) spec.metrics = s.metrics as RouteSpec["metrics"];
  if (s.lock !== undefined) spec.lock = s.lock;
  // The library's own checks (names of proto/scope/type/table, metrics), still no syscall.
  // The prefix is parsed once: its family is the route's (a `default` waits for the family).
  const wire = dstPrefix !== undefined && dstPrefix.family === spec.family ? routeFromPrefix(spec, dstPrefix, undefined, del, true) : routeFromSpec(spec, undefined, del, true);
  const dst = wire.dst as Uint8Array | undefined;
  if (dst && hostBits(dst, wire.dstLen ?? 0)) {
    const len = wire.dstLen ?? 0;
    throw new UsageError(`Invalid prefix ${q(dstText)}: host bits set beyond /${len} (did you mean ${networkText(dst, len)}/${len}?)`);
  }
  const type = spec.type;
  if (!del && spec.dev === undefined && spec.gateway === undefined && !spec.nexthops?.length && spec.nhid === undefined && (type === undefined || type === "unicast")) {
    // The kernel would answer ENODEV, which reads as if the prefix were a device name.
    throw new UsageError(`Missing "dev NAME" or "via ADDR" in "${context}": a unicast route needs a device or a gateway`);
  }
  return { spec, wire };
}

/**
 * Reads the words of `route add|del|…` into a route spec (validated, no syscall).
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

const MODE_OF: Readonly<Record<string, RouteMode | "delete">> = {
  add: "create", change: "change", replace: "replace", prepend: "prepend", append: "append", test: "test", delete: "delete",
};
const MODE_FLAGS: Readonly<Record<string, number>> = {
  create: NLM_F.CREATE | NLM_F.EXCL,
  change: NLM_F.REPLACE,
  replace: NLM_F.CREATE | NLM_F.REPLACE,
  prepend: NLM_F.CREATE,
  append: NLM_F.CREATE | NLM_F.APPEND,
  test: NLM_F.EXCL,
  delete: 0,
};
const OP_NAME: Readonly<Record<string, string>> = {
  create: "add route", change: "change route", replace: "replace route", prepend: "prepend route", append: "append route", test: "test route", delete: "delete route",
};

/** IPv6's metric when none is given (IP6_RT_PRIO_USER): what an exact undo must name. */
const IP6_RT_PRIO_USER = 1024;

function subjectOf(spec: RouteSpec): string {
  let s = spec.type && spec.type !== "unicast" ? `${spec.type} ${spec.dst}` : spec.dst;
  if (spec.gateway) s += ` via ${spec.gateway}`;
  if (spec.table !== undefined) s += ` table ${spec.table}`;
  return s;
}

const NO_DEVS: readonly string[] = [];

/** A validated route add/del/…: an {@link Op} and its pipelined request in one object (a batch makes a million). */
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
    private wire: RouteWire,
  ) {
    const nh = spec.nexthops;
    this.devs = nh?.length
      ? [...new Set([spec.dev, ...nh.map((n) => n.dev)].filter((d): d is string => typeof d === "string"))]
      : typeof spec.dev === "string" ? [spec.dev] : NO_DEVS;
    this.type = mode === "delete" ? RTM.DELROUTE : RTM.NEWROUTE;
    this.flags = MODE_FLAGS[mode]!;
    this.op = OP_NAME[mode]!;
    this.undo = mode === "create" ? RouteLine.prototype.undoAdd : undefined; // called as this.undo()
  }

  /** Runs without the rtnetlink client: the request itself, over the bare socket. */
  readonly lean = true;

  /** Alone: the same request a batch sends (devices looked up, then one request and its ack). */
  run(): Promise<void> {
    return this.ctx.runRequest(this);
  }

  /** The request is this object itself: its devices resolved into the wire form it encodes. */
  build(index: (name: string) => number): BatchItem {
    if (this.spec.nexthops?.length) this.wire = routeFromSpec(this.spec, (d) => (typeof d === "number" ? d : index(d)), this.mode === "delete", true);
    else if (this.devs.length) (this.wire as { oif?: number }).oif = index(this.devs[0]!);
    return this;
  }

  body(w: ByteWriter): void {
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

/**
 * Validates `route add|del|…` words (from `words[from]`) and returns the op: run alone, or
 * pipelined by `tunkit batch` (an added route has an exact undo: the same route deleted).
 *
 * @example
 * ```ts
 * import { routeOp } from "./route.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await ctx.perform(routeOp(ctx, "add", ["198.51.100.0/24", "dev", "tun0"]));
 * ```
 */
export function routeOp(ctx: Ctx, verb: string, words: readonly string[], from = 0, family?: number): Op {
  const mode = MODE_OF[verb === "del" ? "delete" : verb];
  if (mode === undefined) throw new UsageError(`Unknown route command ${q(verb)}`);
  const { spec, wire } = planRouteWire(words, `route ${verb}`, mode === "delete", from, family);
  return new RouteLine(ctx, mode, spec, wire);
}

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

/** ip's command words of `route`, in do_iproute's order: [spelling, abbreviable, command]. */
export const ROUTE_VERBS: ReadonlyArray<readonly [string, boolean, string]> = [
  ["add", true, "add"], ["change", true, "change"], ["chg", false, "change"], ["replace", true, "replace"],
  ["prepend", true, "prepend"], ["append", true, "append"], ["test", true, "test"], ["delete", true, "delete"],
  ["list", true, "list"], ["show", true, "list"], ["lst", true, "list"], ["get", true, "get"], ["flush", true, "flush"],
  ["save", true, "save"], ["restore", true, "restore"], ["showdump", true, "showdump"], ["help", true, "help"],
];

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
