/**
 * Routes as `ip route show` / `ip route get` print them, text and JSON from one description
 * (ip/iproute.c's print_route, iproute2 6.x): types, tables, multipath next hops, RTA_VIA,
 * metrics with `lock` and time units, realms, IPv6 pref and expires, the routing cache.
 *
 * @module
 */
import { AF, RT_SCOPE, RT_TABLE, RTAX, RTM_F, RTN, RTNH_F, RTPROT } from "../route/constants.ts";
import { parsePrefix } from "../route/ip.ts";
import { routeTypeName } from "../route/names.ts";
import { METRIC_NAMES, type Nexthop, type Route, type RouteMetrics } from "../route/route.ts";
import { type RouteFilter, routeFilterTable } from "../spec/route.ts";
import { familyName, ifName, type IpViewContext, namesOf } from "./context.ts";
import { hex0x, IpPrinter, type Json } from "./printer.ts";

// familyName lives in ./context.ts (the address view needs it without this module).
export { familyName };

/** What a route listing's selectors make ip leave out (it prints only what can vary). */
interface Omit {
  table: boolean;
  gateway: boolean;
  dev: boolean;
  protocol: boolean;
  scope: boolean;
  tos: boolean;
  prefsrc: boolean;
  metric: boolean;
  realms: boolean;
  iif: boolean;
}

const NONE: Omit = { table: false, gateway: false, dev: false, protocol: false, scope: false, tos: false, prefsrc: false, metric: false, realms: false, iif: false };

function hostLen(family: number): number {
  return family === AF.INET6 ? 128 : family === AF.INET ? 32 : -1;
}

/** omitted() per filter, context and family: a listing of a million routes shares one filter. */
const omitCache = new WeakMap<RouteFilter, { ctx: RouteViewContext; byFamily: Map<number, Omit> }>();

function omitted(f: RouteFilter | undefined, ctx: RouteViewContext, family: number): Omit {
  if (!f) return NONE;
  let c = omitCache.get(f);
  if (!c || c.ctx !== ctx) omitCache.set(f, (c = { ctx, byFamily: new Map() }));
  let o = c.byFamily.get(family);
  if (!o) c.byFamily.set(family, (o = computeOmitted(f, ctx, family)));
  return o;
}

function computeOmitted(f: RouteFilter, ctx: RouteViewContext, family: number): Omit {
  const full = (s: string | undefined) => {
    if (s === undefined) return false;
    try {
      return parsePrefix(s.replace(/^(inet6?)\s+/, "")).len === hostLen(family);
    } catch {
      return false;
    }
  };
  return {
    table: routeFilterTable(f, namesOf(ctx)) !== 0,
    gateway: full(f.via),
    dev: f.dev !== undefined,
    protocol: f.protocol !== undefined && f.protocol !== "all",
    scope: f.scope !== undefined && f.scope !== "all",
    tos: f.tos !== undefined,
    prefsrc: full(f.src),
    metric: f.metric !== undefined,
    realms: typeof f.realms === "number" || (typeof f.realms === "string" && !f.realms.endsWith("/") && f.realms.includes("/") && !f.realms.startsWith("/")),
    iif: f.iif !== undefined,
  };
}

function printFlags(p: IpPrinter, flags: number): void {
  p.openArray("flags");
  if (flags & RTNH_F.DEAD) p.any(null, "dead", "%s ");
  if (flags & RTNH_F.ONLINK) p.any(null, "onlink", "%s ");
  if (flags & RTNH_F.PERVASIVE) p.any(null, "pervasive", "%s ");
  if (flags & RTNH_F.OFFLOAD) p.any(null, "offload", "%s ");
  if (flags & RTNH_F.TRAP) p.any(null, "trap", "%s ");
  if (flags & RTM_F.NOTIFY) p.any(null, "notify", "%s ");
  if (flags & RTNH_F.LINKDOWN) p.any(null, "linkdown", "%s ");
  if (flags & RTNH_F.UNRESOLVED) p.any(null, "unresolved", "%s ");
  if (flags & RTM_F.OFFLOAD) p.any(null, "rt_offload", "%s ");
  if (flags & RTM_F.TRAP) p.any(null, "rt_trap", "%s ");
  if (flags & RTM_F.OFFLOAD_FAILED) p.any(null, "rt_offload_failed", "%s ");
  p.closeArray();
}

function printFlow(p: IpPrinter, flow: number, ctx: RouteViewContext): void {
  const names = namesOf(ctx);
  const from = flow >>> 16;
  const to = flow & 0xffff;
  if (p.json) {
    p.openObject("flow");
    if (from) p.jsonOnly("from", names.realmName(from));
    p.jsonOnly("to", names.realmName(to));
    p.closeObject();
  } else {
    p.fp(`realm${from ? "s" : ""} `);
    if (from) p.fp(`${names.realmName(from)}/`);
    p.fp(`${names.realmName(to)} `);
  }
}

function printVia(p: IpPrinter, via: { family: number; address: string }): void {
  if (p.json) {
    p.openObject("via");
    p.jsonOnly("family", familyName(via.family));
    p.jsonOnly("host", via.address);
    p.closeObject();
  } else {
    p.fp(`via ${familyName(via.family)} ${via.address} `);
  }
}

/** Routing-cache flags (RTCF_*) in the order ip prints them. */
const RTCF: ReadonlyArray<readonly [number, string]> = [
  [0x80000000, "local"], [0x40000000, "reject"], [0x20000000, "mc"], [0x10000000, "brd"],
  [0x08000000, "dst-nat"], [0x00800000, "src-nat"], [0x00400000, "masq"], [0x00020000, "dst-direct"],
  [0x04000000, "src-direct"], [0x00040000, "redirected"], [0x01000000, "redirect"], [0x00200000, "fastroute"],
  [0x00010000, "notify"], [0x00080000, "proxy"],
];

function printCacheFlags(p: IpPrinter, flags: number): void {
  let rest = (flags & ~0xffff) >>> 0;
  if (p.json) p.openArray("cache");
  else {
    p.fp(`${p.sl}    cache `);
    if (rest === 0) return;
    p.fp("<");
  }
  for (const [bit, name] of RTCF) {
    if (!(rest & bit)) continue;
    rest = (rest & ~bit) >>> 0;
    if (p.json) p.jsonOnly(null, name);
    else p.fp(`${name}${rest ? "," : "> "}`);
  }
  if (rest) p.any("flags", rest.toString(16), "%s>");
  if (p.json) p.closeArray();
}

function printCacheInfo(p: IpPrinter, r: Route, ctx: RouteViewContext): void {
  const ci = r.cacheInfo;
  if (!ci) return;
  const hz = ctx.hz ?? 100;
  if (ci.expires !== 0) p.any("expires", Math.trunc(ci.expires / hz), "expires %ssec ");
  if (ci.error !== 0) p.any("error", ci.error, "error %s ");
  if (ctx.stats) {
    if (ci.clntref) p.any("users", ci.clntref, "users %s ");
    if (ci.used !== 0) p.any("used", ci.used, "used %s ");
    if (ci.lastuse !== 0) p.any("age", Math.trunc(ci.lastuse / hz), "age %ssec ");
  }
  if (ci.id) p.any("ipid", hex0x(ci.id), p.json ? "" : `ipid 0x${ci.id.toString(16).padStart(4, "0")} `);
  if (ci.ts || ci.tsage) {
    p.any("ts", hex0x(ci.ts), p.json ? "" : `ts 0x${ci.ts.toString(16)}`);
    p.any("tsage", ci.tsage, "tsage %ssec ");
  }
}

/** `%g` of C for the times ip prints in seconds. */
function cG(v: number): string {
  return String(Number(v.toPrecision(6)));
}

function printMetrics(p: IpPrinter, m: RouteMetrics): void {
  p.openArray("metrics");
  p.openObject(null);
  const rec = m as Record<string, number | string | undefined>;
  const lock = m.lock ?? 0;
  for (let i = 2; i < METRIC_NAMES.length; i++) {
    const name = METRIC_NAMES[i]!;
    const v = rec[name];
    if (v === undefined && !(lock & (1 << i))) continue;
    let val = typeof v === "number" ? v >>> 0 : 0;
    if (i === RTAX.HOPLIMIT && (val | 0) === -1) continue;
    p.fp(`${name} `);
    if (lock & (1 << i)) p.fp("lock ");
    switch (i) {
      case RTAX.FEATURES:
        if (val & 1) p.flag("ecn", "ecn ");
        if (val & ~1) p.any("features", hex0x(val), "%s ");
        break;
      case RTAX.RTT:
      case RTAX.RTTVAR:
      case RTAX.RTO_MIN:
        if (i === RTAX.RTT) val = Math.floor(val / 8);
        else if (i === RTAX.RTTVAR) val = Math.floor(val / 4);
        if (p.json) p.jsonOnly(name, val);
        else p.fp(val >= 1000 ? `${cG(val / 1e3)}s ` : `${val}ms `);
        break;
      case RTAX.CC_ALGO:
        p.any("congestion", typeof v === "string" ? v : "", "%s ");
        break;
      default:
        p.any(name, val, "%s ");
    }
  }
  p.closeObject();
  p.closeArray();
}

function printNexthops(p: IpPrinter, r: Route, hops: readonly Nexthop[], ctx: RouteViewContext): void {
  p.openArray("nexthops");
  const mcast = (r.flags & RTM_F.CLONED) !== 0 && r.type === RTN.MULTICAST;
  let first = true;
  for (const nh of hops) {
    p.openObject(null);
    if (mcast) {
      p.fp(first ? "Oifs: " : " ");
      first = false;
    } else p.fp(`${p.sl}\tnexthop `);
    if (nh.newdst !== undefined) {
      p.fp("as to ");
      p.any("to", nh.newdst, "%s ");
    }
    if (nh.gateway !== undefined) {
      p.fp("via ");
      p.any("gateway", nh.gateway, "%s ");
    }
    if (nh.via) printVia(p, nh.via);
    if (nh.flow !== undefined) printFlow(p, nh.flow, ctx);
    if (mcast) {
      p.any("dev", ifName(ctx, nh.ifindex), "%s");
      if (nh.hops !== 1) p.any("ttl", nh.hops, "(ttl>%s)");
      p.fp(" ");
    } else {
      p.any("dev", ifName(ctx, nh.ifindex), "dev %s ");
      if (r.family !== AF.MPLS) p.any("weight", nh.hops + 1, "weight %s ");
    }
    printFlags(p, nh.flags);
    p.closeObject();
  }
  p.closeArray();
}

/** The view context of a route listing: the selectors it was made with (ip omits what they fix). */
export interface RouteViewContext extends Pick<IpViewContext, Exclude<keyof IpViewContext, "links">> {
  /** Device names by index (`dev NAME`): a route listing needs no more of a link (netlink/ifindex.ts linkNames). */
  links?: ReadonlyMap<number, { readonly name?: string }>;
  /** The `ip route list` selectors the routes were listed with (see Rtnl.listRoutes). */
  routeFilter?: RouteFilter;
}

/**
 * Prints one route into `p` (see {@link routeToIpJson} / {@link routeToIpText}).
 *
 * @example
 * ```ts
 * import { IpPrinter } from "./printer.ts";
 * import { printRoute } from "./route.ts";
 * const p = new IpPrinter(false);
 * printRoute(p, { family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 0, gateway: "192.0.2.1", oif: 2 });
 * p.text(); // "default via 192.0.2.1 dev if2 "
 * ```
 */
export function printRoute(p: IpPrinter, r: Route, ctx: RouteViewContext = {}): void {
  const names = namesOf(ctx);
  const d = ctx.details ?? false;
  const host = hostLen(r.family);
  const o = omitted(ctx.routeFilter, ctx, r.family);
  if (ctx.deleted) p.any("deleted", true, "Deleted ");
  if (r.type !== RTN.UNICAST || d) p.any("type", routeTypeName(r.type), "%s ");
  let dst: string;
  if (r.dst !== undefined) dst = r.dstLen !== host ? `${r.dst}/${r.dstLen}` : r.dst;
  else if (r.dstLen) dst = `0/${r.dstLen} `;
  else dst = "default";
  p.any("dst", dst, "%s ");
  if (r.src !== undefined) p.any("from", r.srcLen !== host ? `${r.src}/${r.srcLen}` : r.src, "from %s ");
  else if (r.srcLen) p.any("src", `0/${r.srcLen}`, "from %s ");
  if (r.nhId !== undefined) p.any("nhid", r.nhId, "nhid %s ");
  if (r.newdst !== undefined) {
    p.fp("as to ");
    p.any("to", r.newdst, "%s ");
  }
  if (r.tos && !o.tos) p.any("tos", names.dsfieldName(r.tos), "tos %s ");
  if (r.gateway !== undefined && !o.gateway) {
    p.fp("via ");
    p.any("gateway", r.gateway, "%s ");
  }
  if (r.via) printVia(p, r.via);
  if (r.oif !== undefined && !o.dev) {
    p.fp("dev ");
    p.any("dev", ifName(ctx, r.oif), "%s ");
  }
  if (r.table && (r.table !== RT_TABLE.MAIN || d) && !o.table) p.any("table", names.tableName(r.table), "table %s ");
  if (!(r.flags & RTM_F.CLONED)) {
    if ((r.protocol !== RTPROT.BOOT || d) && !o.protocol) p.any("protocol", names.protocolName(r.protocol), "proto %s ");
    if ((r.scope !== RT_SCOPE.UNIVERSE || d) && !o.scope) p.any("scope", names.scopeName(r.scope), "scope %s ");
  }
  if (r.prefsrc !== undefined && !o.prefsrc) {
    p.fp("src ");
    p.any("prefsrc", r.prefsrc, "%s ");
  }
  if (r.priority !== undefined && !o.metric) p.any("metric", r.priority, "metric %s ");
  printFlags(p, r.flags);
  if (r.mark) {
    if (p.json) p.jsonOnly("mark", r.mark);
    else p.fp(r.mark >= 16 ? `mark ${hex0x(r.mark)} ` : `mark ${r.mark} `);
  }
  if (r.flow !== undefined && !o.realms) printFlow(p, r.flow, ctx);
  if (r.uid !== undefined) p.any("uid", r.uid, "uid %s ");
  if (r.family === AF.INET) {
    if (r.flags & RTM_F.CLONED) printCacheFlags(p, r.flags);
    printCacheInfo(p, r, ctx);
  } else if (r.family === AF.INET6) {
    printCacheInfo(p, r, ctx);
  }
  if (r.metrics) printMetrics(p, r.metrics);
  if (r.iif !== undefined && !o.iif) {
    p.fp("iif ");
    p.any("iif", ifName(ctx, r.iif), "%s ");
  }
  if (r.pref !== undefined) {
    const pref = r.pref === 3 ? "low" : r.pref === 0 ? "medium" : r.pref === 1 ? "high" : undefined;
    if (pref) p.any("pref", pref, "pref %s");
    else p.any("pref", r.pref, "%s");
  }
  if (r.ttlPropagate !== undefined) {
    if (p.json) p.jsonOnly("ttl-propogate", r.ttlPropagate !== 0);
    else p.fp(`ttl-propogate ${r.ttlPropagate ? "enabled" : "disabled"}`);
  }
  if (r.multipath) printNexthops(p, r, r.multipath, ctx);
}

/**
 * A route as `ip -j route show` prints it: "default" or "a.b.c.d/nn" (host routes without the
 * length), type only when not unicast, table only when not main, protocol only when not boot,
 * scope only when not global, flags always (with `details`: everything, like `ip -d`).
 *
 * @example
 * ```ts
 * import { routeToIpJson } from "./route.ts";
 * routeToIpJson({ family: 2, dstLen: 24, srcLen: 0, tos: 0, table: 1000, protocol: 3, scope: 0,
 *   type: 1, flags: 0, dst: "203.0.113.0", gateway: "192.0.2.254", priority: 10 });
 * // { dst: "203.0.113.0/24", gateway: "192.0.2.254", table: "1000", metric: 10, flags: [] }
 * ```
 */
export function routeToIpJson(r: Route, ctx: RouteViewContext = {}): Json {
  const p = new IpPrinter(true);
  printRoute(p, r, ctx);
  return p.object();
}

/**
 * A route as `ip route show` prints it: ip's line (its trailing space kept; a multipath route
 * and the cache line continue on "\n\t…" / "\n    …" lines), no newline at the end.
 *
 * @example
 * ```ts
 * import { routeToIpText } from "./route.ts";
 * routeToIpText({ family: 2, dstLen: 24, srcLen: 0, tos: 0, table: 254, protocol: 4, scope: 0, type: 1, flags: 0,
 *   dst: "198.51.100.0", gateway: "192.0.2.1", metrics: { mtu: 1400, rtt: 80, lock: 4 } });
 * // "198.51.100.0/24 via 192.0.2.1 proto static mtu lock 1400 rtt 10ms "
 * ```
 */
export function routeToIpText(r: Route, ctx: RouteViewContext = {}): string {
  const p = new IpPrinter(false, ctx.oneline);
  printRoute(p, r, ctx);
  return p.text();
}
