/**
 * `tunkit route add|change|replace|prepend|append|test|delete`: the words of ip route's
 * modify commands (iproute2 6.1's iproute.c iproute_modify), read the way ip reads them: command
 * words and keywords abbreviated where ip abbreviates (`pri 5`, `ta 100`), the route type
 * anywhere before the prefix, metrics with `lock`, multipath `nexthop` groups, `via inet6 ADDR`,
 * IPv6 `pref`/`expires`. The grammar is pure and shared by the command line, cli/route.ts (the
 * object) and `tunkit batch`.
 *
 * Its own module so that a one-shot `route add` (cli/oneshot.ts) evaluates the words of the
 * modify commands and nothing of the listings, `route get` or the help pages (start-up, issue 11).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { NLM_F } from "../netlink/core/message.ts";
import type { ByteWriter } from "../netlink/core/writer.ts";
import type { BatchItem } from "../netlink/conn.ts";
import { AF, RTM } from "../netlink/route/constants.ts";
import { formatAddr, parsePrefix, type Prefix } from "../netlink/route/ip.ts";
import { defaultIpNames, routeTypeOf } from "../netlink/route/names.ts";
import { encodeRoute, type Route, type RouteWire } from "../netlink/route/route.ts";
import { routeFromPrefix, routeFromSpec, type MetricName, type NexthopSpec, type RouteMode, type RouteSpec } from "../netlink/spec/route.ts";
import { ifName, intInRange, ipAddress } from "./args.ts";
import { Keywords, parsedWord, q, Words, type Keyword } from "./grammar.ts";
import { lazy, type Ctx, type Op, type PipelineRequest } from "./context.ts";

/** ip's families by name (`via inet6 ADDR`, `-f inet`). */
export const FAMILY_WORDS: Readonly<Record<string, number>> = { inet: AF.INET, inet6: AF.INET6, ipv4: AF.INET, ipv6: AF.INET6 };

export const famOfText = (s: string): number => (s.includes(":") ? AF.INET6 : AF.INET);
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

export function tableId(text: string): number {
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
 * import { planRouteWire } from "./route-add.ts";
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
    const fam = s.family ?? AF.UNSPEC;
    const p = parsedWord(v, context, () => ROUTE_KEYWORDS.names(), (x) => parsePrefix(x, fam));
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
 * import { planRoute } from "./route-add.ts";
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
/** Whether `verb` (a canonical command word, as ipVerb returns it) is one of the modify commands {@link routeOp} takes. */
export function isRouteModify(verb: string): boolean {
  return Object.hasOwn(MODE_OF, verb);
}

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
 * import { routeOp } from "./route-add.ts";
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

/** ip's command words of `route`, in do_iproute's order: [spelling, abbreviable, command]. */
export const ROUTE_VERBS: ReadonlyArray<readonly [string, boolean, string]> = [
  ["add", true, "add"], ["change", true, "change"], ["chg", false, "change"], ["replace", true, "replace"],
  ["prepend", true, "prepend"], ["append", true, "append"], ["test", true, "test"], ["delete", true, "delete"],
  ["list", true, "list"], ["show", true, "list"], ["lst", true, "list"], ["get", true, "get"], ["flush", true, "flush"],
  ["save", true, "save"], ["restore", true, "restore"], ["showdump", true, "showdump"], ["help", true, "help"],
];
