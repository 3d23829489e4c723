/**
 * Routes as `ip route` speaks them: {@link RouteSpec} (every word of `ip route
 * add|del|change|replace|append|prepend`: multipath, metrics with locks, RTA_VIA, pref,
 * expires, realms, tos…) to the wire object with iproute2's defaults ({@link routeFromSpec});
 * {@link RouteGetOptions} for `ip route get`; {@link RouteFilter} (the selectors of
 * `ip route list|flush`) to a predicate ({@link routeFilter}). Pure.
 *
 * @module
 */
import { UsageError } from "../../common/errors.ts";
import type { BatchItem } from "../conn.ts";
import { NLM_F } from "../core/message.ts";
import { AF, RT_SCOPE, RT_TABLE, RTAX, RTM, RTM_F, RTN, RTNH_F, RTPROT } from "../route/constants.ts";
import { bitsEqual, formatAddr, parseAddr, parsePrefix, type Prefix } from "../route/ip.ts";
import { defaultIpNames, type IpNames, parseCNumber, parseRouteType } from "../route/names.ts";
import { encodeRoute, METRIC_NAMES, type Nexthop, type Route, type RouteMetrics, type RouteVia, type RouteWire } from "../route/route.ts";
import { checkU32, type Dev, num } from "./common.ts";

/** A route metric by ip's name (`mtu`, `rtt`, `congctl`, …). */
export type MetricName = Exclude<(typeof METRIC_NAMES)[number], "" | "lock">;

/**
 * Metric values: numbers are the kernel's values as they are (rtt in 1/8 ms, rttvar in
 * 1/4 ms, like ip with a bare number); text is parsed as ip does ("10ms", "1.5s" for
 * rtt/rttvar/rto_min, "ecn" for features, a name for congctl).
 */
export type RouteMetricsSpec = { [K in MetricName]?: K extends "congctl" ? string : number | string };

/** One next hop of a multipath route: `nexthop via G dev D weight W onlink`. */
export interface NexthopSpec {
  /** `via [FAMILY] ADDR`: a gateway; another family than the route's becomes RTA_VIA. */
  gateway?: string;
  /** `dev` of this hop. */
  dev?: Dev;
  /** 1..256 (default 1). */
  weight?: number;
  /** `onlink` for this hop. */
  onlink?: boolean;
  /** `realms [SRC/]DST`. */
  realms?: number | string;
}

/** A route to add, change, replace, append, prepend or delete: the words of `ip route add …`. */
export interface RouteSpec {
  /** "default", "203.0.113.0/24", "2001:db8::/32", "198.51.100.7" (host route). */
  dst: string;
  /** Needed only to say which "default": AF_INET (2, default) or AF_INET6 (10). */
  family?: number;
  /** `via [inet|inet6] ADDR`: a gateway; another family than dst's becomes RTA_VIA. */
  gateway?: string;
  /** `dev`: the output device (name or ifindex). */
  dev?: Dev;
  /** `onlink`: the gateway is on the link even if no prefix says so. */
  onlink?: boolean;
  /** `metric N` (also priority, preference). */
  metric?: number;
  /** `table`: a number or a name (main, local, /etc/iproute2/rt_tables). */
  table?: number | string;
  /** `proto`: a number or a name (boot, static, kernel…). */
  protocol?: number | string;
  /** `scope`: host, link, global or a number. */
  scope?: number | string;
  /** unicast (default), local, broadcast, blackhole, unreachable, prohibit, throw, nat, … */
  type?: number | string;
  /** `src ADDR`: the preferred source address. */
  prefsrc?: string;
  /** `from PREFIX`: source prefix (IPv6 source routing), ip's word. */
  from?: string;
  /** @deprecated Use {@link RouteSpec.from} (the same `from PREFIX`; `src` is ip's {@link RouteSpec.prefsrc}). Removed after 0.2. */
  src?: string;
  /** `tos TOS`: a number, an rt_dsfield name or hexadecimal text ("10" = 0x10). */
  tos?: number | string;
  /** `mtu N` (same as metrics.mtu). */
  mtu?: number;
  /** `mtu`, `advmss`, `rtt`, `initcwnd`, `congctl`, `features ecn`, … */
  metrics?: RouteMetricsSpec | RouteMetrics;
  /** Metrics marked `lock` (`mtu lock 1400`); rto_min is always locked, as ip does. */
  lock?: readonly MetricName[];
  /** IPv6 router preference: "low" | "medium" | "high" or a number. */
  pref?: "low" | "medium" | "high" | number;
  /** `expires N`: seconds (IPv6 routes only). */
  expires?: number;
  /** `realms [SRC/]DST`. */
  realms?: number | string;
  /** `ttl-propagate enabled|disabled` (MPLS). */
  ttlPropagate?: boolean;
  /** `nhid N`: use a nexthop object. */
  nhid?: number;
  /** `nexthop …` repeated: a multipath route. */
  nexthops?: readonly NexthopSpec[];
  /** `mark` (route get). */
  mark?: number;
}

/** How an added route meets an existing one (NLM_F_* of RTM_NEWROUTE). */
export type RouteMode = "create" | "replace" | "append" | "prepend" | "change" | "exclusive" | "test";

/**
 * NLM_F_* per mode, as ip sends them.
 *
 * @example
 * ```ts
 * import { ROUTE_MODE_FLAGS } from "./route.ts";
 * ROUTE_MODE_FLAGS.prepend; // 0x400 (NLM_F_CREATE)
 * ```
 */
export const ROUTE_MODE_FLAGS: Readonly<Record<RouteMode, number>> = {
  create: NLM_F.CREATE | NLM_F.EXCL, // `ip route add`
  exclusive: NLM_F.CREATE | NLM_F.EXCL,
  replace: NLM_F.CREATE | NLM_F.REPLACE, // `ip route replace`
  append: NLM_F.CREATE | NLM_F.APPEND, // `ip route append`
  prepend: NLM_F.CREATE, // `ip route prepend`
  change: NLM_F.REPLACE, // `ip route change`
  test: NLM_F.EXCL, // `ip route test`
};

/** Options of `ip route get`. */
export interface RouteGetOptions {
  /** `from ADDR`. */
  from?: string;
  /** `iif`: pretend the packet came in on this device. */
  iif?: Dev;
  /** `oif DEV` (also dev). */
  oif?: Dev;
  /** `mark`: the packet's fwmark. */
  mark?: number;
  /** `tos TOS`. */
  tos?: number | string;
  /** `uid N`: look up as this user (uidrange rules). */
  uid?: number;
  /** `ipproto PROTO`, `sport N`, `dport N`: for rules that select on them. */
  ipProto?: number | string;
  /** `sport`: the source port (with `ipproto`). */
  sport?: number;
  /** `dport`: the destination port (with `ipproto`). */
  dport?: number;
  /** Return the matching FIB entry (`ip route get fibmatch`) instead of the resolved route. */
  fibMatch?: boolean;
  /**
   * `connected`: look up again from the first answer's preferred source, as the man page
   * describes (ip 6.1 re-sends the same request and prints the first answer twice).
   */
  connected?: boolean;
}

/**
 * The selectors of `ip route list|flush`. A plain prefix (`exact`) selects routes with exactly
 * that prefix, `root P` those inside P, `match P` those that cover P.
 */
export interface RouteFilter {
  /** AF_INET, AF_INET6; default like ip: IPv4, or both with `table: "all"`. */
  family?: number;
  /** A table id or name (default main), "all", or "cache" (cloned routes). */
  table?: number | string;
  /** `cached` / `cloned`: routing-cache entries (exceptions). */
  cloned?: boolean;
  /** `proto`: only routes of this protocol. */
  protocol?: number | string;
  /** `scope`: only routes of this scope. */
  scope?: number | string;
  /** `type`: only routes of this type. */
  type?: number | string;
  /** `tos`: only routes with this tos. */
  tos?: number | string;
  /** `exact PREFIX` (or a bare PREFIX): only that prefix. */
  exact?: string;
  /** `root PREFIX`: prefixes inside it. */
  root?: string;
  /** `match PREFIX`: prefixes that contain it. */
  match?: string;
  /** `from exact PREFIX`. */
  fromExact?: string;
  /** `from root PREFIX`. */
  fromRoot?: string;
  /** `from match PREFIX`. */
  fromMatch?: string;
  /** `via [FAMILY] PREFIX`: the gateway lies inside. */
  via?: string;
  /** `src PREFIX`: the preferred source lies inside. */
  src?: string;
  /** `realms [SRC/]DST` (a side left out is not compared). */
  realms?: number | string;
  /** `dev`: only routes through this device. */
  dev?: Dev;
  /** `iif`: only routes for this input device. */
  iif?: Dev;
  /** `mark`. */
  mark?: number;
  /** `metric`: only routes with this priority. */
  metric?: number;
}

const PREFS: Readonly<Record<string, number>> = { low: 3, medium: 0, high: 1 };

/**
 * A time of `rtt`/`rttvar`/`rto_min` as ip parses it: "10ms", "1.5s", "20msecs" in
 * milliseconds (rounded up), or a bare number taken raw (`raw: true`).
 *
 * @example
 * ```ts
 * import { parseRttTime } from "./route.ts";
 * parseRttTime("10ms");  // { ms: 10, raw: false }
 * parseRttTime("1.5s");  // { ms: 1500, raw: false }
 * parseRttTime("80");    // { ms: 80, raw: true }
 * ```
 */
export function parseRttTime(s: string): { ms: number; raw: boolean } {
  const m = /^(\d+(?:\.\d*)?|\.\d+|0x[0-9a-f]+)(s|sec|secs|ms|msec|msecs)?$/i.exec(s);
  const v = m ? (m[1]!.includes(".") ? Number(m[1]) : parseCNumber(m[1]!)) : undefined;
  if (v === undefined || !Number.isFinite(v)) throw new UsageError(`Invalid time "${s}": expected N, Nms or Ns`);
  const unit = m![2]?.toLowerCase();
  const ms = unit === undefined ? v : unit.startsWith("s") ? v * 1000 : v;
  const out = Math.ceil(ms);
  if (out > 0xffffffff) throw new UsageError(`Invalid time "${s}": too large`);
  return { ms: out, raw: unit === undefined };
}

function metricNumber(name: string, v: number | string, max = 0xffffffff): number {
  const n = typeof v === "number" ? v : parseCNumber(v);
  if (n === undefined || !Number.isInteger(n) || n < 0 || n > max) throw new UsageError(`Invalid ${name} "${v}": expected 0..${max}`);
  return n;
}

/**
 * One metric's kernel value from a number or ip's text (see {@link RouteMetricsSpec}).
 *
 * @example
 * ```ts
 * import { metricValue } from "./route.ts";
 * metricValue("rtt", "10ms");      // 80 (1/8 ms)
 * metricValue("rttvar", "10ms");   // 40 (1/4 ms)
 * metricValue("features", "ecn");  // 1
 * metricValue("mtu", 1400);        // 1400
 * ```
 */
export function metricValue(name: MetricName, v: number | string): number | string {
  switch (name) {
    case "congctl":
      if (typeof v !== "string" || !v || v.length > 15) throw new UsageError(`Invalid congctl "${v}": expected an algorithm name (cubic, reno, …)`);
      return v;
    case "rtt":
    case "rttvar": {
      if (typeof v === "number") return metricNumber(name, v);
      const t = parseRttTime(v);
      return t.raw ? t.ms : t.ms * (name === "rtt" ? 8 : 4);
    }
    case "rto_min":
      return typeof v === "number" ? metricNumber(name, v) : parseRttTime(v).ms;
    case "features":
      if (v === "ecn") return 1;
      return metricNumber(name, v);
    case "hoplimit":
      return metricNumber(name, v, 255);
    case "quickack":
    case "fastopen_no_cookie":
      return metricNumber(name, v, 1);
    default:
      return metricNumber(name, v);
  }
}

/** RTA_METRICS content of a spec, or undefined when there is none. */
function metricsOf(spec: RouteSpec): RouteMetrics | undefined {
  if (spec.mtu === undefined && spec.metrics === undefined && !spec.lock?.length) return undefined;
  const out: Record<string, number | string> = {};
  let lock = 0;
  const given = spec.metrics as Record<string, number | string | undefined> | undefined;
  if (given) {
    for (let i = 2; i < METRIC_NAMES.length; i++) {
      const name = METRIC_NAMES[i] as MetricName;
      const v = given[name];
      if (v !== undefined) out[name] = metricValue(name, v);
    }
    if (typeof given.lock === "number") lock |= given.lock;
  }
  if (spec.mtu !== undefined) out.mtu = metricValue("mtu", spec.mtu);
  if (out.rto_min !== undefined) lock |= 1 << RTAX.RTO_MIN;
  for (const name of spec.lock ?? []) {
    const i = METRIC_NAMES.indexOf(name);
    if (i < 2) throw new UsageError(`Invalid metric to lock "${name}": expected ${METRIC_NAMES.slice(2).join(", ")}`);
    lock |= 1 << i;
  }
  if (lock) out.lock = lock >>> 0;
  return out as RouteMetrics;
}

/** Resolves a device to its index (names must have been looked up: see Rtnl.routeItem). */
export type DevIndex = (dev: Dev) => number;

/** A device's index; without a resolver a name stays unresolved (validation only): undefined. */
function devIndex(devs: number | undefined | DevIndex, dev: Dev): number | undefined {
  if (typeof dev === "number") return dev;
  if (typeof devs === "function") return devs(dev);
  return undefined;
}

/** Address bytes as they are (the wire form with `raw`). */
const rawAddr = (b: Uint8Array): Uint8Array => b;

/** The last gateway parsed (a batch of a million routes names one or two gateways). */
let lastGateway = "";
let lastGatewayBytes: Uint8Array | undefined;

function setGateway(to: { gateway?: string | Uint8Array; via?: RouteVia }, gateway: string, family: number, addr: (b: Uint8Array) => string | Uint8Array): void {
  let g: Uint8Array;
  if (gateway === lastGateway && lastGatewayBytes) {
    // A copy (the caller owns its route's bytes), made by hand: TypedArray slice() looks up the
    // species constructor, 6% of a batch line's samples (bun --cpu-prof, issue 11).
    const n = lastGatewayBytes.length;
    g = new Uint8Array(n);
    for (let i = 0; i < n; i++) g[i] = lastGatewayBytes[i]!;
  } else {
    // ip's `via inet6 ADDR` / `via inet ADDR`: the family word is redundant with the address.
    const text = gateway.charCodeAt(0) === 105 ? gateway.replace(/^(inet6?|ipv[46])\s+/, "") : gateway;
    g = parseAddr(text);
    lastGateway = gateway;
    lastGatewayBytes = g.slice();
  }
  const gf = g.length === 4 ? AF.INET : AF.INET6;
  // Set on the object itself (an Object.assign of a new object per route cost more than the rest).
  if (gf === family) to.gateway = addr(g);
  else to.via = { family: gf, address: formatAddr(g) };
}

/**
 * Builds the wire object for a route, with iproute2's defaults: protocol boot, type unicast,
 * table main (local for local/broadcast/nat/anycast), scope link for a unicast route without
 * a gateway, host for local, universe otherwise; delete leaves protocol and type unspecified
 * and scope nowhere for unicast. `devs` is the oif's index, or a resolver for `dev` and the
 * next hops' devices (without one, device names are left unresolved: for validation only).
 * With `raw`, address fields stay the bytes they were parsed into.
 *
 * @example
 * ```ts
 * import { routeFromSpec } from "./route.ts";
 * routeFromSpec({ dst: "203.0.113.0/24", gateway: "192.0.2.254", table: 1000 }, 3);
 * // { family: 2, dstLen: 24, table: 1000, protocol: 3, scope: 0, type: 1, dst: "203.0.113.0", gateway: "192.0.2.254", oif: 3, … }
 * const idx = (d: string | number) => (d === "tk0" ? 3 : 4);
 * routeFromSpec({ dst: "10.7.0.0/16", nexthops: [{ gateway: "192.0.2.2", dev: "tk0", weight: 2 }, { gateway: "198.51.100.2", dev: "tk1", onlink: true }] }, idx).multipath;
 * // [{ flags: 0, hops: 1, ifindex: 3, gateway: "192.0.2.2" }, { flags: 4, hops: 0, ifindex: 4, gateway: "198.51.100.2" }]
 * routeFromSpec({ dst: "2001:db8::/32", dev: 3, metrics: { mtu: 1400, rtt: "10ms" }, lock: ["mtu"] }, 3).metrics;
 * // { mtu: 1400, rtt: 80, lock: 4 }
 * ```
 */
export function routeFromSpec(spec: RouteSpec, devs: number | undefined | DevIndex, del?: boolean, raw?: false, names?: IpNames): Partial<Route>;
/**
 * With `raw` true: the wire form ({@link RouteWire}), gateways and addresses as bytes.
 *
 * @example
 * ```ts
 * import { routeFromSpec } from "./route.ts";
 * routeFromSpec({ dst: "198.51.100.0/24", gateway: "192.0.2.254" }, 3, false, true).gateway; // Uint8Array.of(192, 0, 2, 254)
 * ```
 */
export function routeFromSpec(spec: RouteSpec, devs: number | undefined | DevIndex, del: boolean, raw: true, names?: IpNames): RouteWire;
export function routeFromSpec(spec: RouteSpec, devs: number | undefined | DevIndex, del = false, raw = false, names: IpNames = defaultIpNames()): RouteWire {
  return routeFromPrefix(spec, parsePrefix(spec.dst, spec.family), devs, del, raw as true, names);
}

/**
 * {@link routeFromSpec} for a caller that has already parsed `spec.dst` (the CLI's grammar reads
 * the prefix to learn the route's family): `p` must be `parsePrefix(spec.dst, spec.family)`, and
 * the text is not parsed again. `raw` as in routeFromSpec (true: addresses stay bytes).
 *
 * @example
 * ```ts
 * import { routeFromPrefix } from "./route.ts";
 * import { parsePrefix } from "../route/ip.ts";
 * const spec = { dst: "198.51.100.0/24", dev: 3 };
 * routeFromPrefix(spec, parsePrefix(spec.dst), undefined, false, true).dstLen; // 24
 * ```
 */
export function routeFromPrefix(spec: RouteSpec, p: Prefix, devs: number | undefined | DevIndex, del: boolean, raw: true, names?: IpNames): RouteWire;
/**
 * With `raw` false: addresses as text.
 *
 * @example
 * ```ts
 * import { routeFromPrefix } from "./route.ts";
 * import { parsePrefix } from "../route/ip.ts";
 * routeFromPrefix({ dst: "198.51.100.0/24" }, parsePrefix("198.51.100.0/24"), 3, false, false).dst; // "198.51.100.0"
 * ```
 */
export function routeFromPrefix(spec: RouteSpec, p: Prefix, devs: number | undefined | DevIndex, del: boolean, raw: false, names?: IpNames): Partial<Route>;
export function routeFromPrefix(spec: RouteSpec, p: Prefix, devs: number | undefined | DevIndex, del: boolean, raw: boolean, names: IpNames = defaultIpNames()): RouteWire {
  // A batch builds a million of these: no closure per call, names looked up only when given.
  const addr = raw ? rawAddr : formatAddr;
  const type = spec.type === undefined ? (del ? RTN.UNSPEC : RTN.UNICAST) : num(spec.type, parseRouteType)!;
  checkU32(type, "route type", 0, 255);
  const tos = typeof spec.tos === "string" ? names.parseDsfield(spec.tos) : spec.tos;
  checkU32(tos, "TOS", 0, 255);
  const protocol = spec.protocol === undefined ? (del ? RTPROT.UNSPEC : RTPROT.BOOT) : typeof spec.protocol === "string" ? names.parseProtocol(spec.protocol) : spec.protocol;
  checkU32(protocol, "protocol", 0, 255);
  const r: { -readonly [K in keyof RouteWire]: RouteWire[K] } = {
    family: p.family,
    dstLen: p.len,
    srcLen: 0,
    tos: tos ?? 0,
    type,
    flags: spec.onlink ? RTNH_F.ONLINK : 0,
    protocol,
  };
  if (p.len) r.dst = addr(p.bytes);
  const from = spec.from ?? spec.src;
  if (from !== undefined) {
    const s = parsePrefix(from, p.family);
    r.srcLen = s.len;
    if (s.len) r.src = addr(s.bytes);
  }
  if (spec.gateway !== undefined) setGateway(r, spec.gateway, p.family, addr);
  if (spec.prefsrc !== undefined) r.prefsrc = addr(parseAddr(spec.prefsrc, p.family));
  if (spec.metric !== undefined) {
    checkU32(spec.metric, "metric");
    r.priority = spec.metric;
  }
  const table = typeof spec.table === "string" ? names.parseTable(spec.table) : spec.table;
  checkU32(table, "table");
  const local = type === RTN.LOCAL || type === RTN.BROADCAST || type === RTN.NAT || type === RTN.ANYCAST;
  r.table = table ?? (local ? RT_TABLE.LOCAL : RT_TABLE.MAIN);
  const scope = typeof spec.scope === "string" ? names.parseScope(spec.scope) : spec.scope;
  checkU32(scope, "scope", 0, 255);
  const multipath = spec.nexthops !== undefined && spec.nexthops.length > 0;
  if (scope !== undefined) r.scope = scope;
  else if (p.family === AF.INET6) r.scope = RT_SCOPE.UNIVERSE;
  else if (type === RTN.LOCAL || type === RTN.NAT) r.scope = RT_SCOPE.HOST;
  else if (type === RTN.BROADCAST || type === RTN.MULTICAST || type === RTN.ANYCAST) r.scope = RT_SCOPE.LINK;
  else if (type === RTN.UNICAST || type === RTN.UNSPEC) {
    if (del) r.scope = RT_SCOPE.NOWHERE;
    else r.scope = spec.gateway === undefined && !multipath && spec.nhid === undefined ? RT_SCOPE.LINK : RT_SCOPE.UNIVERSE;
  } else r.scope = del ? RT_SCOPE.NOWHERE : RT_SCOPE.UNIVERSE;
  const oif = typeof spec.dev === "number" ? spec.dev : typeof devs === "number" ? devs : spec.dev !== undefined ? devIndex(devs, spec.dev) : undefined;
  if (oif !== undefined) r.oif = oif;
  if (spec.mtu !== undefined || spec.metrics !== undefined || spec.lock !== undefined) {
    const metrics = metricsOf(spec);
    if (metrics) r.metrics = metrics;
  }
  if (spec.pref !== undefined) {
    const pref = typeof spec.pref === "number" ? spec.pref : PREFS[spec.pref];
    if (pref === undefined) throw new UsageError(`Invalid pref "${spec.pref}": expected low, medium or high`);
    checkU32(pref, "pref", 0, 255);
    r.pref = pref;
  }
  if (spec.expires !== undefined) {
    checkU32(spec.expires, "expires");
    r.expires = spec.expires;
  }
  const flow = typeof spec.realms === "string" ? names.parseRealms(spec.realms) : spec.realms;
  checkU32(flow, "realms");
  if (flow !== undefined) r.flow = flow;
  if (spec.ttlPropagate !== undefined) r.ttlPropagate = spec.ttlPropagate ? 1 : 0;
  if (spec.nhid !== undefined) {
    checkU32(spec.nhid, "nhid");
    r.nhId = spec.nhid;
  }
  if (spec.mark !== undefined) {
    checkU32(spec.mark, "mark");
    r.mark = spec.mark;
  }
  if (multipath) {
    r.multipath = spec.nexthops!.map((nh, i): Nexthop => {
      const weight = nh.weight ?? 1;
      if (!Number.isInteger(weight) || weight < 1 || weight > 256) throw new UsageError(`Invalid weight "${weight}" of nexthop ${i + 1}: expected 1..256`);
      const hop: Nexthop = { flags: nh.onlink ? RTNH_F.ONLINK : 0, hops: weight - 1, ifindex: nh.dev === undefined ? 0 : (devIndex(devs, nh.dev) ?? 0) };
      if (nh.gateway !== undefined) setGateway(hop, nh.gateway, p.family, addr);
      const f = num(nh.realms, (s) => names.parseRealms(s));
      checkU32(f, "realms");
      if (f !== undefined) hop.flow = f;
      return hop;
    });
  }
  return r;
}

/**
 * A batch item for one route, built without I/O (devices given as indexes, or a resolver).
 * {@link Rtnl.routeItem} resolves names first.
 *
 * @example
 * ```ts
 * import { routeBatchItem } from "./route.ts";
 * const item = routeBatchItem({ dst: "198.51.100.1/32", table: 100 }, "create", 3);
 * item.op; // "add route"
 * ```
 */
export function routeBatchItem(spec: RouteSpec, mode: RouteMode | "delete" = "create", devs?: number | DevIndex): BatchItem {
  const del = mode === "delete";
  const r = routeFromSpec(spec, devs, del, true);
  return {
    type: del ? RTM.DELROUTE : RTM.NEWROUTE,
    flags: del ? 0 : ROUTE_MODE_FLAGS[mode],
    body: (w) => encodeRoute(w, r),
    op: del ? "delete route" : mode === "create" || mode === "exclusive" ? "add route" : `${mode} route`,
    subject: spec.dst,
  };
}

/**
 * What a route is about, for messages: "blackhole 198.51.100.0/24 table 7".
 *
 * @example
 * ```ts
 * import { routeSubject } from "./route.ts";
 * routeSubject({ dst: "10.0.0.0/8", gateway: "192.0.2.1", table: 100 }); // "10.0.0.0/8 via 192.0.2.1 table 100"
 * ```
 */
export function routeSubject(spec: RouteSpec): string {
  return [spec.type && spec.type !== "unicast" ? String(spec.type) : "", spec.dst, spec.gateway ? `via ${spec.gateway}` : "", spec.table !== undefined ? `table ${spec.table}` : ""]
    .filter(Boolean)
    .join(" ");
}

/**
 * The wire object of an `ip route get` request (devices resolved to indexes).
 *
 * @example
 * ```ts
 * import { routeGetRequest } from "./route.ts";
 * routeGetRequest("192.0.2.77", { uid: 1000, ipProto: 6, dport: 443 });
 * // { family: 2, dstLen: 32, dst: "192.0.2.77", flags: 0x1000 (RTM_F_LOOKUP_TABLE), uid: 1000, ipProto: 6, dport: 443, tos: 0 }
 * ```
 */
export function routeGetRequest(dst: string, opts: RouteGetOptions = {}, iif?: number, oif?: number, names: IpNames = defaultIpNames()): Partial<Route> {
  const p = parsePrefix(dst);
  const tos = num(opts.tos, (s) => names.parseDsfield(s));
  checkU32(tos, "TOS", 0, 255);
  const r: Partial<Route> = {
    family: p.family,
    dstLen: p.bytes.length * 8,
    dst: formatAddr(p.bytes),
    tos: tos ?? 0,
    // IPv6's strict check refuses RTM_F_LOOKUP_TABLE (it always reports the table): IPv4 only, like ip.
    flags: (p.family === AF.INET ? RTM_F.LOOKUP_TABLE : 0) | (opts.fibMatch ? RTM_F.FIB_MATCH : 0),
  };
  if (opts.from !== undefined) {
    const s = parsePrefix(opts.from, p.family);
    if (s.len) r.src = formatAddr(s.bytes);
    r.srcLen = s.len;
  }
  if (iif !== undefined) r.iif = iif;
  if (oif !== undefined) r.oif = oif;
  checkU32(opts.mark, "mark");
  if (opts.mark) r.mark = opts.mark;
  checkU32(opts.uid, "uid");
  if (opts.uid !== undefined) r.uid = opts.uid;
  const ipProto = num(opts.ipProto, (s) => names.parseIpProto(s));
  checkU32(ipProto, "IP protocol", 0, 255);
  if (ipProto !== undefined) r.ipProto = ipProto;
  checkU32(opts.sport, "sport", 0, 65535);
  checkU32(opts.dport, "dport", 0, 65535);
  if (opts.sport !== undefined) r.sport = opts.sport;
  if (opts.dport !== undefined) r.dport = opts.dport;
  return r;
}

/** A prefix selector, or undefined; "all"/"any"/"default" mean 0/0 (of any family when none is given). */
function selector(s: string | undefined, family: number): (Prefix & { anyFamily: boolean }) | undefined {
  if (s === undefined) return undefined;
  const word = s === "default" || s === "all" || s === "any";
  return { ...parsePrefix(s, family), anyFamily: word && family === AF.UNSPEC };
}


/**
 * The family `ip route list|flush` dumps: the given one, else IPv4 unless the table is "all"
 * (then both) — except that an IPv6 prefix selector means IPv6.
 *
 * @example
 * ```ts
 * import { routeFilterFamily } from "./route.ts";
 * routeFilterFamily({ table: 100 });    // 2
 * routeFilterFamily({ table: "all" });  // 0 (both)
 * ```
 */
export function routeFilterFamily(f: RouteFilter): number {
  if (f.family !== undefined && f.family !== AF.UNSPEC) return f.family;
  // ip itself dumps IPv4 here and finds nothing for an IPv6 prefix: pass the family to be ip.
  for (const s of [f.exact, f.root, f.match, f.fromExact, f.fromRoot, f.fromMatch, f.src]) {
    if (s !== undefined && s.includes(":")) return AF.INET6;
  }
  return f.table === "all" || f.table === "cache" ? AF.UNSPEC : AF.INET;
}

/**
 * The table a filter selects: 0 for all (and for the cache).
 *
 * @example
 * ```ts
 * import { routeFilterTable } from "./route.ts";
 * routeFilterTable({});                 // 254 (main)
 * routeFilterTable({ table: "all" });   // 0
 * ```
 */
export function routeFilterTable(f: RouteFilter, names: IpNames = defaultIpNames()): number {
  if (f.table === undefined) return RT_TABLE.MAIN;
  if (f.table === "all" || f.table === "cache") return 0;
  const t = num(f.table, (s) => names.parseTable(s))!;
  checkU32(t, "table");
  return t;
}

function realmsMask(v: number | string | undefined, names: IpNames): { realm: number; mask: number } | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number") return { realm: v >>> 0, mask: 0xffffffff };
  const realm = names.parseRealms(v);
  let mask = 0xffffffff;
  // ip: "SRC/" compares only the source, "DST" or "/DST" only the destination.
  if ((realm & 0xffff) === 0 && v.endsWith("/")) mask &= ~0xffff;
  if ((realm & 0xffff0000) === 0 && (!v.includes("/") || v.startsWith("/"))) mask &= 0xffff;
  return { realm, mask: mask >>> 0 };
}

/**
 * Compiles `ip route list|flush` selectors into a predicate over decoded routes (devices by
 * index: resolve names first, as Rtnl.listRoutes does). Semantics of ip's filter_nlmsg.
 *
 * @example
 * ```ts
 * import { routeFilter } from "./route.ts";
 * const keep = routeFilter({ root: "10.0.0.0/8", protocol: "static" });
 * keep({ family: 2, dstLen: 16, srcLen: 0, tos: 0, table: 254, protocol: 4, scope: 0, type: 1, flags: 0, dst: "10.7.0.0" }); // true
 * ```
 */
export function routeFilter(f: RouteFilter, names: IpNames = defaultIpNames()): (r: Route) => boolean {
  const family = routeFilterFamily(f);
  const table = routeFilterTable(f, names);
  const cloned = f.cloned || f.table === "cache";
  const proto = f.protocol === undefined || f.protocol === "all" ? undefined : num(f.protocol, (s) => names.parseProtocol(s));
  const scope = f.scope === undefined || f.scope === "all" ? undefined : num(f.scope, (s) => names.parseScope(s));
  const type = f.type === undefined ? undefined : num(f.type, parseRouteType);
  const tos = num(f.tos, (s) => names.parseDsfield(s));
  const fam = family === AF.UNSPEC ? AF.UNSPEC : family;
  const exact = selector(f.exact, fam);
  const rdst = selector(f.root, fam) ?? exact;
  const mdst = selector(f.match, fam) ?? exact;
  const fexact = selector(f.fromExact, fam);
  const rsrc = selector(f.fromRoot, fam) ?? fexact;
  const msrc = selector(f.fromMatch, fam) ?? fexact;
  const via = f.via === undefined ? undefined : parsePrefix(f.via.replace(/^(inet6?)\s+/, ""));
  const prefsrc = selector(f.src, fam);
  const realms = realmsMask(f.realms, names);
  const dev = typeof f.dev === "number" ? f.dev : undefined;
  const iif = typeof f.iif === "number" ? f.iif : undefined;
  if (f.dev !== undefined && dev === undefined) throw new UsageError(`Device "${f.dev}" must be resolved to an index first`);
  if (f.iif !== undefined && iif === undefined) throw new UsageError(`Device "${f.iif}" must be resolved to an index first`);
  const bytes = (a: string | undefined) => (a === undefined ? undefined : parseAddr(a));
  // Most listings have no prefix selector: skip that loop (and its allocations) for every route.
  const prefixSelectors = !!(rdst || mdst || rsrc || msrc);
  return (r) => {
    if (family !== AF.UNSPEC && r.family !== family) return false;
    if (!!cloned !== !!(r.flags & RTM_F.CLONED)) return false;
    if (table && r.table !== table) return false;
    if (proto !== undefined && r.protocol !== proto) return false;
    if (scope !== undefined && r.scope !== scope) return false;
    if (type !== undefined && r.type !== type) return false;
    if (tos !== undefined && r.tos !== tos) return false;
    if (prefixSelectors) {
      for (const [sel, len, a, root] of [[rdst, r.dstLen, r.dst, true], [mdst, r.dstLen, r.dst, false], [rsrc, r.srcLen, r.src, true], [msrc, r.srcLen, r.src, false]] as const) {
        if (!sel) continue;
        if (!sel.anyFamily && sel.family !== r.family) return false;
        if (root ? sel.len > len : sel.len < len) return false;
        if (!bitsEqual(bytes(a), sel.bytes, root ? sel.len : len)) return false;
      }
    }
    if (via) {
      const g = r.via ? { family: r.via.family, a: r.via.address } : { family: r.family, a: r.gateway };
      if (g.family !== via.family) return false;
      if (via.len > 0 && !bitsEqual(bytes(g.a), via.bytes, via.len)) return false;
    }
    if (prefsrc) {
      if (prefsrc.family !== r.family) return false;
      if (prefsrc.len > 0 && !bitsEqual(bytes(r.prefsrc), prefsrc.bytes, prefsrc.len)) return false;
    }
    if (realms && (((r.flow ?? 0) ^ realms.realm) & realms.mask) !== 0) return false;
    if (iif !== undefined && (r.iif ?? 0) !== iif) return false;
    if (dev !== undefined && (r.oif ?? 0) !== dev) return false;
    if (f.mark !== undefined && (r.mark ?? 0) !== f.mark) return false;
    if (f.metric !== undefined && (r.priority ?? 0) !== f.metric) return false;
    return true;
  };
}
