/**
 * Routes (RTM_NEWROUTE / DELROUTE / GETROUTE): struct rtmsg + RTA_* attributes, IPv4 and IPv6,
 * tables above 255 (RTA_TABLE), cross-family gateways (RTA_VIA), metrics (RTA_METRICS) and
 * multipath next hops (RTA_MULTIPATH).
 *
 * @module
 */
import { AttributeDecoder } from "../core/attribute.ts";
import type { ByteWriter } from "../core/writer.ts";
import { RTA, RTAX } from "./constants.ts";
import { formatAddr, parseAddr } from "./ip.ts";
import { type AttrCodec, decodeAttrs, encodeAttrs, decodeMessage, messageSpec, attrTable, tableIdAttr } from "./table.ts";
import { AttributeEncoder } from "../core/attribute.ts";

/** RTA_VIA: a gateway of another family (e.g. an IPv4 route via an IPv6 next hop). */
export interface RouteVia {
  /** The gateway's address family (AF_INET6 for an IPv4 route via IPv6). */
  family: number;
  /** The gateway address. */
  address: string;
}

/** One next hop of a multipath route (struct rtnexthop + attributes). */
export interface Nexthop {
  /** RTNH_F_* flags (onlink, dead, linkdown…). */
  flags: number;
  /** Weight minus one. */
  hops: number;
  /** The output device of this hop. */
  ifindex: number;
  /** RTA_GATEWAY of this hop. */
  gateway?: string;
  /** RTA_VIA of this hop. */
  via?: RouteVia;
  /** RTA_FLOW (realms) of this hop. */
  flow?: number;
  /** RTA_NEWDST of this hop (MPLS). */
  newdst?: string;
}

/** RTA_CACHEINFO (struct rta_cacheinfo): the kernel's cached state of the route, by its names. */
export interface RouteCacheInfo {
  /** rta_clntref: references held on the cached route. */
  clntref: number;
  /** rta_lastuse: jiffies since the route was last used. */
  lastuse: number;
  /** rta_expires: time left before the route expires, in jiffies (0: does not). */
  expires: number;
  /** rta_error: the error of the cached route (a negative errno), 0 when none. */
  error: number;
  /** rta_used: times the route was used. */
  used: number;
  /** rta_id: the IP id of the cached route (IPv4). */
  id: number;
  /** rta_ts: TCP timestamp of the last packet (obsolete, 0). */
  ts: number;
  /** rta_tsage: seconds since that timestamp (obsolete, 0). */
  tsage: number;
}

/** Route metrics by iproute2's names (mtu, advmss, hoplimit, …; congctl is text), the kernel's values as they are. */
export interface RouteMetrics {
  /** RTAX_LOCK: bit mask of the metrics locked (`lock mtu`). */
  lock?: number;
  /** RTAX_MTU: path MTU, in bytes. */
  mtu?: number;
  /** RTAX_WINDOW: largest TCP window to advertise, in bytes. */
  window?: number;
  /** RTAX_RTT: round-trip time estimate, in 1/8 ms (ip prints it in ms). */
  rtt?: number;
  /** RTAX_RTTVAR: RTT variance, in 1/4 ms (ip prints it in ms). */
  rttvar?: number;
  /** RTAX_SSTHRESH: slow-start threshold estimate, in segments. */
  ssthresh?: number;
  /** RTAX_CWND: congestion window clamp, in segments. */
  cwnd?: number;
  /** RTAX_ADVMSS: MSS to advertise, in bytes. */
  advmss?: number;
  /** RTAX_REORDERING: the reordering degree. */
  reordering?: number;
  /** RTAX_HOPLIMIT: TTL / hop limit of packets sent by this route. */
  hoplimit?: number;
  /** RTAX_INITCWND: initial congestion window, in segments. */
  initcwnd?: number;
  /** RTAX_FEATURES (ecn…). */
  features?: number;
  /** RTAX_RTO_MIN: smallest retransmission timeout, in ms. */
  rto_min?: number;
  /** RTAX_INITRWND: initial receive window, in segments. */
  initrwnd?: number;
  /** RTAX_QUICKACK: 1 disables delayed ACKs. */
  quickack?: number;
  /** RTAX_CC_ALGO: congestion control algorithm name ("cubic", "bbr"). */
  congctl?: string;
  /** RTAX_FASTOPEN_NO_COOKIE. */
  fastopen_no_cookie?: number;
}

/** A route as rtnetlink describes it. */
export interface Route {
  /** rtm_family: AF_INET or AF_INET6. */
  family: number;
  /** rtm_dst_len: destination prefix length. */
  dstLen: number;
  /** rtm_src_len: source prefix length (ip's `from`). */
  srcLen: number;
  /** rtm_tos. */
  tos: number;
  /** Table id, full 32 bits (RTA_TABLE when present). */
  table: number;
  /** RTPROT_* (kernel 2, boot 3, static 4, …). */
  protocol: number;
  /** RT_SCOPE_* (global 0, link 253, host 254). */
  scope: number;
  /** RTN_* (unicast 1, local 2, blackhole 6, unreachable 7, prohibit 8, …). */
  type: number;
  /** RTM_F_* and RTNH_F_* flags (onlink 4, linkdown 16). */
  flags: number;
  /** RTA_DST: the destination prefix's address (absent for default). */
  dst?: string;
  /** RTA_SRC: the source prefix's address (ip's `from`). */
  src?: string;
  /** RTA_IIF: input interface index. */
  iif?: number;
  /** Output interface index ("dev"). */
  oif?: number;
  /** RTA_GATEWAY: the next hop. */
  gateway?: string;
  /** RTA_VIA: a next hop of another family. */
  via?: RouteVia;
  /** Metric ("metric" / "priority" in ip). */
  priority?: number;
  /** RTA_PREFSRC: preferred source address (ip's `src`). */
  prefsrc?: string;
  /** RTA_METRICS: mtu, window, rtt, congctl… */
  metrics?: RouteMetrics;
  /** RTA_MULTIPATH: the next hops of a multipath route. */
  multipath?: Nexthop[];
  /** RTA_FLOW: realms. */
  flow?: number;
  /** RTA_CACHEINFO. */
  cacheInfo?: RouteCacheInfo;
  /** RTA_MARK (route get). */
  mark?: number;
  /** IPv6 router preference (ICMPV6_ROUTER_PREF_*). */
  pref?: number;
  /** RTA_UID (route get). */
  uid?: number;
  /** RTA_EXPIRES: seconds until the route expires. */
  expires?: number;
  /** RTA_ENCAP_TYPE. */
  encapType?: number;
  /** RTA_ENCAP (raw). */
  encap?: Uint8Array;
  /** RTA_TTL_PROPAGATE. */
  ttlPropagate?: number;
  /** RTA_IP_PROTO (route get). */
  ipProto?: number;
  /** RTA_SPORT (route get). */
  sport?: number;
  /** RTA_DPORT (route get). */
  dport?: number;
  /** RTA_NH_ID: a nexthop object. */
  nhId?: number;
  /** RTA_NEWDST: MPLS label stack. */
  newdst?: string;
}

/** Address fields an encoder also accepts as raw bytes (4 or 16). */
export type AddrKey = "dst" | "src" | "gateway" | "prefsrc" | "newdst";

/** What {@link encodeRoute} takes: a partial {@link Route} whose address fields may be raw bytes. */
export type RouteWire = { readonly [K in keyof Route]?: K extends AddrKey ? string | Uint8Array : Route[K] };

const via: AttrCodec<RouteVia> = {
  decode(ad) {
    const p = ad.payload();
    if (p.length !== 6 && p.length !== 18) {
      ad.error(`Invalid RTA_VIA: ${p.length} bytes, expected 6 or 18`);
      return { family: 0, address: "" };
    }
    return { family: p[0]! | (p[1]! << 8), address: formatAddr(p.subarray(2)) };
  },
  encode(ae, type, v) {
    // struct rtvia: family, then the address; the attribute length excludes the padding.
    const b = parseAddr(v.address);
    const p = new Uint8Array(2 + b.length);
    p[0] = v.family & 0xff;
    p[1] = v.family >> 8;
    p.set(b, 2);
    ae.bytes(type, p);
  },
};

/** Metric names in RTAX order (index = RTAX number). */
export const METRIC_NAMES = [
  "", "lock", "mtu", "window", "rtt", "rttvar", "ssthresh", "cwnd", "advmss", "reordering",
  "hoplimit", "initcwnd", "features", "rto_min", "initrwnd", "quickack", "congctl", "fastopen_no_cookie",
] as const;

const metrics: AttrCodec<RouteMetrics> = {
  decode(ad) {
    const m: Record<string, number | string> = {};
    ad.nested((c) => {
      while (c.next()) {
        const name = METRIC_NAMES[c.type];
        if (!name) continue;
        m[name] = c.type === RTAX.CC_ALGO ? c.string() : c.u32();
      }
    });
    return m as RouteMetrics;
  },
  encode(ae, type, m) {
    ae.nested(type, () => {
      for (let i = 1; i < METRIC_NAMES.length; i++) {
        const v = (m as Record<string, number | string | undefined>)[METRIC_NAMES[i]!];
        if (v === undefined || i === RTAX.LOCK) continue;
        if (typeof v === "string") ae.string(i, v);
        else ae.u32(i, v);
      }
      if (m.lock !== undefined) ae.u32(RTAX.LOCK, m.lock);
    });
  },
};

const NEXTHOP_ATTRS = attrTable([
  [RTA.GATEWAY, "gateway", "addr"],
  [RTA.VIA, "via", via],
  [RTA.FLOW, "flow", "u32"],
  [RTA.NEWDST, "newdst", "addr"],
]);

const multipath: AttrCodec<Nexthop[]> = {
  decode(ad) {
    const p = ad.payload();
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const hops: Nexthop[] = [];
    let pos = 0;
    while (p.length - pos >= 8) {
      const len = view.getUint16(pos, true);
      if (len < 8 || len > p.length - pos) {
        ad.error(`Invalid rtnexthop length "${len}" in RTA_MULTIPATH`);
        break;
      }
      const nh: Nexthop = { flags: p[pos + 2]!, hops: p[pos + 3]!, ifindex: view.getInt32(pos + 4, true) };
      const c = new AttributeDecoder(p.subarray(pos + 8, pos + len), ad.offset + pos + 8);
      decodeAttrs(c, NEXTHOP_ATTRS, nh as unknown as Record<string, unknown>);
      if (c.err) {
        ad.error(c.err.message);
        break;
      }
      hops.push(nh);
      pos += (len + 3) & ~3;
    }
    return hops;
  },
  encode(ae, type, hops) {
    const at = ae.begin(type);
    for (const nh of hops) {
      const h = ae.w.len;
      ae.w.u16(0);
      ae.w.u8(nh.flags);
      ae.w.u8(nh.hops);
      ae.w.i32(nh.ifindex);
      encodeAttrs(ae, NEXTHOP_ATTRS, nh as unknown as Record<string, unknown>);
      ae.w.setU16(h, ae.w.len - h);
    }
    ae.end(at);
  },
};

const CACHEINFO_FIELDS = ["clntref", "lastuse", "expires", "error", "used", "id", "ts", "tsage"] as const;
const cacheInfo: AttrCodec<RouteCacheInfo> = {
  decode(ad) {
    const p = ad.payload();
    const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const out: Record<string, number> = {};
    const n = Math.min(8, p.length >> 2);
    if (n < 8) ad.error(`Invalid RTA_CACHEINFO: ${p.length} bytes, expected 32`);
    for (let i = 0; i < n; i++) out[CACHEINFO_FIELDS[i]!] = i === 2 ? v.getInt32(i * 4, true) : v.getUint32(i * 4, true);
    return out as unknown as RouteCacheInfo;
  },
  encode(ae, type, c) {
    const at = ae.begin(type);
    for (const f of CACHEINFO_FIELDS) ae.w.u32(c[f]);
    ae.end(at);
  },
};

/** The rtmsg table. */
export const ROUTE_SPEC = messageSpec(
  "rtmsg",
  [
    ["family", "u8"], ["dstLen", "u8"], ["srcLen", "u8"], ["tos", "u8"], ["table", "u8"],
    ["protocol", "u8"], ["scope", "u8"], ["type", "u8"], ["flags", "u32"],
  ],
  [
    [RTA.DST, "dst", "addr"],
    [RTA.SRC, "src", "addr"],
    [RTA.NEWDST, "newdst", "addr"],
    [RTA.GATEWAY, "gateway", "addr"],
    [RTA.VIA, "via", via],
    [RTA.PRIORITY, "priority", "u32"],
    [RTA.PREFSRC, "prefsrc", "addr"],
    [RTA.TABLE, "table", tableIdAttr],
    [RTA.IIF, "iif", "u32"],
    [RTA.OIF, "oif", "u32"],
    [RTA.FLOW, "flow", "u32"],
    [RTA.MARK, "mark", "u32"],
    [RTA.UID, "uid", "u32"],
    [RTA.PREF, "pref", "u8"],
    [RTA.EXPIRES, "expires", "u32"],
    [RTA.ENCAP_TYPE, "encapType", "u16"],
    [RTA.ENCAP, "encap", "bytes"],
    [RTA.TTL_PROPAGATE, "ttlPropagate", "u8"],
    [RTA.IP_PROTO, "ipProto", "u8"],
    [RTA.SPORT, "sport", "u16be"],
    [RTA.DPORT, "dport", "u16be"],
    [RTA.NH_ID, "nhId", "u32"],
    [RTA.CACHEINFO, "cacheInfo", cacheInfo],
    [RTA.METRICS, "metrics", metrics],
    [RTA.MULTIPATH, "multipath", multipath],
  ],
);

/**
 * Decodes an RTM_NEWROUTE / DELROUTE payload.
 *
 * @example
 * ```ts
 * import { decodeRoute, encodeRoute } from "./route.ts";
 * import { ByteWriter } from "../core/writer.ts";
 * const w = new ByteWriter();
 * encodeRoute(w, { family: 2, dstLen: 24, srcLen: 0, tos: 0, table: 1000, protocol: 3, scope: 0,
 *   type: 1, flags: 0, dst: "203.0.113.0", gateway: "192.0.2.254" });
 * decodeRoute(w.finish()).table; // 1000
 * ```
 */
export function decodeRoute(body: Uint8Array): Route {
  return decodeMessage<Route>(ROUTE_SPEC, body);
}

/**
 * Encodes a route message payload into `w` (rtm_table 0 + RTA_TABLE for ids above 255).
 *
 * @example
 * ```ts
 * import { decodeRoute, encodeRoute } from "./route.ts";
 * import { ByteWriter } from "../core/writer.ts";
 * const w = new ByteWriter();
 * encodeRoute(w, { family: 2, dstLen: 24, table: 1000, protocol: 4, scope: 0, type: 1, dst: "198.51.100.0" });
 * decodeRoute(w.finish()).table; // 1000
 * ```
 */
export function encodeRoute(w: ByteWriter, r: RouteWire): void {
  const table = r.table ?? 0;
  // A batch line's route has a destination, a device, maybe a gateway, a metric and a table:
  // those are written here with plain property reads, in the table's order (the same bytes),
  // straight into the buffer (one bounds check per message). The table's loop reads 25
  // properties by computed name per message, a lookup cache miss each; it stays for every
  // route that has anything else.
  if (
    r.src === undefined && r.newdst === undefined && r.via === undefined && r.prefsrc === undefined && r.iif === undefined &&
    r.flow === undefined && r.mark === undefined && r.uid === undefined && r.pref === undefined && r.expires === undefined &&
    r.encapType === undefined && r.encap === undefined && r.ttlPropagate === undefined && r.ipProto === undefined &&
    r.sport === undefined && r.dport === undefined && r.nhId === undefined && r.cacheInfo === undefined &&
    r.metrics === undefined && r.multipath === undefined
  ) {
    encodeShort(w, r, table);
    return;
  }
  w.u8(r.family ?? 0);
  w.u8(r.dstLen ?? 0);
  w.u8(r.srcLen ?? 0);
  w.u8(r.tos ?? 0);
  w.u8(table > 255 ? 0 : table);
  w.u8(r.protocol ?? 0);
  w.u8(r.scope ?? 0);
  w.u8(r.type ?? 0);
  w.u32(r.flags ?? 0);
  encodeAttrs(new AttributeEncoder(w), ROUTE_SPEC.attrs, r as Record<string, unknown>);
}

/** {@link encodeRoute} of a route with only dst, gateway, priority, table and oif among its attributes. */
function encodeShort(w: ByteWriter, r: RouteWire, table: number): void {
  const d = r.dst;
  const dst = d === undefined || typeof d !== "string" ? d : parseAddr(d);
  const g = r.gateway;
  const gw = g === undefined || typeof g !== "string" ? g : parseAddr(g);
  w.ensure(12 + 24 + (dst === undefined ? 0 : dst.length + 4) + (gw === undefined ? 0 : gw.length + 4));
  const b = w.buf;
  const v = w.view;
  let o = w.len;
  b[o] = r.family ?? 0;
  b[o + 1] = r.dstLen ?? 0;
  b[o + 2] = r.srcLen ?? 0;
  b[o + 3] = r.tos ?? 0;
  b[o + 4] = table > 255 ? 0 : table;
  b[o + 5] = r.protocol ?? 0;
  b[o + 6] = r.scope ?? 0;
  b[o + 7] = r.type ?? 0;
  v.setUint32(o + 8, (r.flags ?? 0) >>> 0, true);
  o += 12;
  if (dst !== undefined) o = attrBytes(b, v, o, RTA.DST, dst);
  if (gw !== undefined) o = attrBytes(b, v, o, RTA.GATEWAY, gw);
  if (r.priority !== undefined) o = attrU32(v, o, RTA.PRIORITY, r.priority);
  if (table > 255) o = attrU32(v, o, RTA.TABLE, table);
  if (r.oif !== undefined) o = attrU32(v, o, RTA.OIF, r.oif);
  w.len = o;
}

/** An attribute holding `x` at `o` (padding zeroed: the writer's buffer is reused); returns the end. */
function attrBytes(b: Uint8Array, v: DataView, o: number, type: number, x: Uint8Array): number {
  const n = x.length;
  v.setUint16(o, 4 + n, true);
  v.setUint16(o + 2, type, true);
  for (let i = 0; i < n; i++) b[o + 4 + i] = x[i]!;
  const end = o + ((4 + n + 3) & ~3);
  for (let i = o + 4 + n; i < end; i++) b[i] = 0;
  return end;
}

/** An attribute holding a host-order u32 at `o`; returns the end. */
function attrU32(v: DataView, o: number, type: number, x: number): number {
  v.setUint32(o, 8 | (type << 16), true);
  v.setUint32(o + 4, x >>> 0, true);
  return o + 8;
}

/** The module's internal functions a batch line runs (cli/jit.ts keeps them out of the FTL). */
export const LINE_FUNCTIONS: readonly unknown[] = [encodeShort, attrBytes, attrU32];
