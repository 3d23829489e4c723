/**
 * Routes as `ip route` speaks them: {@link RouteSpec} to the wire object with iproute2's
 * defaults ({@link routeFromSpec}), batch items, modes. Pure.
 *
 * @module
 */
import type { BatchItem } from "../conn.ts";
import { NLM_F } from "../core/message.ts";
import { AF, RT_SCOPE, RT_TABLE, RTM, RTN, RTNH_F, RTPROT } from "../route/constants.ts";
import { formatAddr, parseAddr, parsePrefix } from "../route/ip.ts";
import { parseProtocol, parseRouteType, parseScope, parseTable } from "../route/names.ts";
import { encodeRoute, type Route, type RouteMetrics, type RouteWire } from "../route/route.ts";
import { checkU32, type Dev, num } from "./common.ts";

/** A route to add, replace, append, delete: the fields of `ip route add …`. */
export interface RouteSpec {
  /** "default", "203.0.113.0/24", "2001:db8::/32", "198.51.100.7" (host route). */
  dst: string;
  /** Needed only to say which "default": AF_INET (2, default) or AF_INET6 (10). */
  family?: number;
  /** `via`: a gateway; another family than dst's becomes RTA_VIA. */
  gateway?: string;
  dev?: Dev;
  onlink?: boolean;
  metric?: number;
  table?: number | string;
  protocol?: number | string;
  scope?: number | string;
  /** unicast (default), local, broadcast, blackhole, unreachable, prohibit, throw, … */
  type?: number | string;
  /** `src`: the preferred source address. */
  prefsrc?: string;
  /** `from`: source prefix (IPv6 source routing). */
  src?: string;
  tos?: number;
  mtu?: number;
  /** Other RTAX metrics (advmss, hoplimit, initcwnd, …). */
  metrics?: RouteMetrics;
  /** IPv6 router preference: "low" | "medium" | "high". */
  pref?: "low" | "medium" | "high";
  mark?: number;
}

/** How an added route meets an existing one (NLM_F_* of RTM_NEWROUTE). */
export type RouteMode = "create" | "replace" | "append" | "prepend" | "change" | "exclusive";

const MODE_FLAGS: Record<RouteMode, number> = {
  create: NLM_F.CREATE | NLM_F.EXCL, // `ip route add`
  exclusive: NLM_F.CREATE | NLM_F.EXCL,
  replace: NLM_F.CREATE | NLM_F.REPLACE, // `ip route replace`
  append: NLM_F.CREATE | NLM_F.APPEND, // `ip route append`
  prepend: NLM_F.CREATE, // `ip route prepend`
  change: NLM_F.REPLACE, // `ip route change`
};

/** Options of `route get`. */
export interface RouteGetOptions {
  from?: string;
  iif?: Dev;
  oif?: Dev;
  mark?: number;
  /** Return the matching FIB entry (`ip route get fibmatch`) instead of the resolved route. */
  fibMatch?: boolean;
}

/**
 * Builds the wire object for a route, with iproute2's defaults. `del` gives delete semantics
 * (scope nowhere, protocol/type unspecified unless given). Devices must already be indexes.
 * With `raw`, address fields stay the bytes they were parsed into (for the encoder).
 *
 * @example
 * ```ts
 * import { routeFromSpec } from "./rtnl.ts";
 * routeFromSpec({ dst: "203.0.113.0/24", gateway: "192.0.2.254", table: 1000 }, 3);
 * // { family: 2, dstLen: 24, table: 1000, protocol: 3, scope: 0, type: 1, dst: "203.0.113.0", gateway: "192.0.2.254", oif: 3, … }
 * ```
 */
export function routeFromSpec(spec: RouteSpec, oif: number | undefined, del?: boolean): Partial<Route>;
export function routeFromSpec(spec: RouteSpec, oif: number | undefined, del: boolean, raw: true): RouteWire;
export function routeFromSpec(spec: RouteSpec, oif: number | undefined, del = false, raw = false): RouteWire {
  const p = parsePrefix(spec.dst, spec.family);
  const addr = (b: Uint8Array): string | Uint8Array => (raw ? b : formatAddr(b));
  const type = spec.type === undefined ? (del ? RTN.UNSPEC : RTN.UNICAST) : num(spec.type, parseRouteType)!;
  const r: { -readonly [K in keyof RouteWire]: RouteWire[K] } = {
    family: p.family,
    dstLen: p.len,
    srcLen: 0,
    tos: spec.tos ?? 0,
    type,
    flags: spec.onlink ? RTNH_F.ONLINK : 0,
    protocol: spec.protocol === undefined ? (del ? RTPROT.UNSPEC : RTPROT.BOOT) : num(spec.protocol, parseProtocol)!,
  };
  if (p.len) r.dst = addr(p.bytes);
  if (spec.src !== undefined) {
    const s = parsePrefix(spec.src, p.family);
    r.srcLen = s.len;
    if (s.len) r.src = addr(s.bytes);
  }
  if (spec.gateway !== undefined) {
    const g = parseAddr(spec.gateway);
    const gf = g.length === 4 ? AF.INET : AF.INET6;
    if (gf === p.family) r.gateway = addr(g);
    else r.via = { family: gf, address: spec.gateway };
  }
  if (spec.prefsrc !== undefined) r.prefsrc = addr(parseAddr(spec.prefsrc, p.family));
  if (spec.metric !== undefined) {
    checkU32(spec.metric, "metric");
    r.priority = spec.metric;
  }
  const table = spec.table === undefined ? undefined : num(spec.table, parseTable);
  checkU32(table, "table");
  const local = type === RTN.LOCAL || type === RTN.BROADCAST || type === RTN.NAT || type === RTN.ANYCAST;
  r.table = table ?? (local ? RT_TABLE.LOCAL : RT_TABLE.MAIN);
  const scope = spec.scope === undefined ? undefined : num(spec.scope, parseScope);
  if (scope !== undefined) r.scope = scope;
  else if (del) r.scope = RT_SCOPE.NOWHERE;
  else if (p.family === AF.INET6) r.scope = RT_SCOPE.UNIVERSE;
  else if (type === RTN.LOCAL || type === RTN.NAT) r.scope = RT_SCOPE.HOST;
  else if (type === RTN.BROADCAST || type === RTN.MULTICAST || type === RTN.ANYCAST) r.scope = RT_SCOPE.LINK;
  else if ((type === RTN.UNICAST || type === RTN.UNSPEC) && spec.gateway === undefined) r.scope = RT_SCOPE.LINK;
  else r.scope = RT_SCOPE.UNIVERSE;
  if (oif !== undefined) r.oif = oif;
  if (spec.mtu !== undefined || spec.metrics !== undefined) r.metrics = spec.mtu === undefined ? { ...spec.metrics } : { ...spec.metrics, mtu: spec.mtu };
  if (spec.pref !== undefined) r.pref = { low: 3, medium: 0, high: 1 }[spec.pref];
  if (spec.mark !== undefined) r.mark = spec.mark;
  return r;
}

/**
 * A batch item for one route, built without I/O (the device must be given as an index, or
 * not at all). {@link Rtnl.routeItem} resolves names first.
 *
 * @example
 * ```ts
 * import { routeBatchItem } from "./rtnl.ts";
 * const item = routeBatchItem({ dst: "198.51.100.1/32", table: 100 }, "create", 3);
 * item.op; // "add route"
 * ```
 */
export function routeBatchItem(spec: RouteSpec, mode: RouteMode | "delete" = "create", oif?: number): BatchItem {
  const del = mode === "delete";
  const r = routeFromSpec(spec, oif, del, true);
  return {
    type: del ? RTM.DELROUTE : RTM.NEWROUTE,
    flags: del ? 0 : MODE_FLAGS[mode],
    body: (w) => encodeRoute(w, r),
    op: del ? "delete route" : mode === "create" || mode === "exclusive" ? "add route" : `${mode} route`,
    subject: spec.dst,
  };
}

export function routeSubject(spec: RouteSpec): string {
  return [spec.type && spec.type !== "unicast" ? String(spec.type) : "", spec.dst, spec.gateway ? `via ${spec.gateway}` : "", spec.table !== undefined ? `table ${spec.table}` : ""]
    .filter(Boolean)
    .join(" ");
}
