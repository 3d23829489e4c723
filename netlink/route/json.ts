/**
 * `ip -j` views of the decoded objects: the same field names, order, omissions and number /
 * string choices as iproute2 6.x prints, so `tunkit … --json` can stand in for `ip -j`.
 *
 * @module
 */
import type { Address } from "./addr.ts";
import { AF, IFF, INFINITY_LIFE_TIME, RTAX, RT_SCOPE, RT_TABLE, RTN, RTPROT, RTM_F, RTNH_F, FIB_RULE, FR_ACT } from "./constants.ts";
import type { Link, TunInfo } from "./link.ts";
import { addressFlagNames, linkFlagNames, linkTypeName, operstateName } from "./flags.ts";
import { protocolName, routeTypeName, scopeName, tableName } from "./names.ts";
import type { Route, Nexthop } from "./route.ts";
import { type IpJsonContext, ifName } from "../view/context.ts";

export { type IpJsonContext, linkMap } from "../view/context.ts";
export { ruleToIpJson } from "../view/rule.ts";

type Json = Record<string, unknown>;

function familyName(f: number): string {
  switch (f) {
    case AF.INET: return "inet";
    case AF.INET6: return "inet6";
    case AF.BRIDGE: return "bridge";
    case AF.MPLS: return "mpls";
    case AF.PACKET: return "link";
    default: return "???";
  }
}

const LINK_MODES = ["DEFAULT", "DORMANT", "TESTING"];

function tunInfoJson(t: TunInfo): Json {
  const j: Json = {};
  if (t.type !== undefined) j.type = typeof t.type === "number" ? "UNKNOWN" : t.type;
  if (t.pi !== undefined) j.pi = t.pi;
  if (t.vnetHdr !== undefined) j.vnet_hdr = t.vnetHdr;
  if (t.multiQueue !== undefined) j.multi_queue = t.multiQueue;
  if (t.persist !== undefined) j.persist = t.persist;
  if (t.owner !== undefined) j.user = t.owner;
  if (t.group !== undefined) j.group = t.group;
  if (t.multiQueue && t.numQueues !== undefined) j.numqueues = t.numQueues;
  if (t.multiQueue && t.numDisabledQueues !== undefined) j.numdisabled = t.numDisabledQueues;
  return j;
}

function linkCommon(l: Link, ctx: IpJsonContext, withLinkmode: boolean): Json {
  const j: Json = { ifindex: l.index };
  let mdown = false;
  if (l.link !== undefined) {
    if (l.link === 0) j.link = null;
    else if (l.linkNetnsId !== undefined) j.link_index = l.link;
    else {
      j.link = ifName(ctx, l.link);
      const peer = ctx.links?.get(l.link);
      mdown = !((peer?.flags ?? 0) & IFF.UP);
    }
  }
  j.ifname = l.name ?? null;
  j.flags = linkFlagNames(l.flags, mdown);
  if (l.mtu !== undefined) j.mtu = l.mtu;
  if (l.qdisc !== undefined) j.qdisc = l.qdisc;
  if (l.master !== undefined) j.master = ifName(ctx, l.master);
  if (l.operstate !== undefined) j.operstate = operstateName(l.operstate);
  if (withLinkmode && l.linkmode !== undefined) j.linkmode = LINK_MODES[l.linkmode] ?? String(l.linkmode);
  if (l.group !== undefined) j.group = l.group === 0 ? "default" : String(l.group);
  if (l.txqlen !== undefined) j.txqlen = l.txqlen;
  j.link_type = linkTypeName(l.type);
  if (l.address !== undefined) j.address = l.address;
  if (l.broadcast !== undefined) {
    if (l.flags & IFF.POINTOPOINT) j.link_pointtopoint = true;
    j.broadcast = l.broadcast;
  }
  if (l.linkNetnsId !== undefined) j.link_netnsid = l.linkNetnsId;
  if (l.protoDown) j.proto_down = true;
  if (ctx.details) {
    if (l.promiscuity !== undefined) j.promiscuity = l.promiscuity;
    if (l.allmulti !== undefined) j.allmulti = l.allmulti;
    if (l.minMtu !== undefined) j.min_mtu = l.minMtu;
    if (l.maxMtu !== undefined) j.max_mtu = l.maxMtu;
    if (l.linkInfo) {
      const li: Json = {};
      if (l.linkInfo.kind !== undefined) li.info_kind = l.linkInfo.kind;
      const d = l.linkInfo.data;
      if (d && !(d instanceof Uint8Array) && !("peer" in d) && l.linkInfo.kind === "tun") li.info_data = tunInfoJson(d);
      if (l.linkInfo.slaveKind !== undefined) li.info_slave_kind = l.linkInfo.slaveKind;
      j.linkinfo = li;
    }
    if (l.numTxQueues !== undefined) j.num_tx_queues = l.numTxQueues;
    if (l.numRxQueues !== undefined) j.num_rx_queues = l.numRxQueues;
    if (l.gsoMaxSize !== undefined) j.gso_max_size = l.gsoMaxSize;
    if (l.gsoMaxSegs !== undefined) j.gso_max_segs = l.gsoMaxSegs;
    if (l.tsoMaxSize !== undefined) j.tso_max_size = l.tsoMaxSize;
    if (l.tsoMaxSegs !== undefined) j.tso_max_segs = l.tsoMaxSegs;
    if (l.groMaxSize !== undefined) j.gro_max_size = l.groMaxSize;
  }
  if (l.ifalias !== undefined) j.ifalias = l.ifalias;
  if (l.altNames?.length) j.altnames = l.altNames;
  return j;
}

/**
 * A link as `ip -j link show` prints it (`ip -j -d` with `details`).
 *
 * @example
 * ```ts
 * import { linkToIpJson } from "./json.ts";
 * linkToIpJson({ family: 0, type: 65534, index: 4, flags: 0x1091, change: 0, name: "tun7", mtu: 1500 });
 * // { ifindex: 4, ifname: "tun7", flags: ["NO-CARRIER", "POINTOPOINT", "MULTICAST", "NOARP", "UP"], mtu: 1500, link_type: "none" }
 * ```
 */
export function linkToIpJson(l: Link, ctx: IpJsonContext = {}): Json {
  return linkCommon(l, ctx, true);
}

/**
 * One `addr_info` entry as `ip -j addr` prints it: local, address (the peer, only when it
 * differs from local), prefixlen, broadcast, scope, flags, label, lifetimes.
 *
 * @example
 * ```ts
 * import { addressToIpJson } from "./json.ts";
 * addressToIpJson({ family: 2, prefixLen: 32, flags: 0x80, scope: 0, index: 4, local: "192.0.2.9", address: "198.51.100.1" });
 * // { family: "inet", local: "192.0.2.9", address: "198.51.100.1", prefixlen: 32, scope: "global" }
 * ```
 */
export function addressToIpJson(a: Address): Json {
  const j: Json = { family: familyName(a.family) };
  const local = a.local ?? a.address;
  const peer = a.address ?? a.local;
  if (local !== undefined) {
    j.local = local;
    if (peer !== undefined && peer !== local) j.address = peer;
    j.prefixlen = a.prefixLen;
    if (a.rtPriority !== undefined) j.metric = a.rtPriority;
  }
  if (a.broadcast !== undefined) j.broadcast = a.broadcast;
  if (a.anycast !== undefined) j.anycast = a.anycast;
  j.scope = scopeName(a.scope);
  const f = addressFlagNames(a.flags, a.family);
  for (const n of f.names) j[n] = true;
  if (f.rest) j.ifa_flags = f.rest.toString(16).padStart(2, "0");
  if (a.label !== undefined) j.label = a.label;
  if (a.cacheInfo) {
    j.valid_life_time = a.cacheInfo.valid;
    const p = a.cacheInfo.preferred;
    j.preferred_life_time = p !== INFINITY_LIFE_TIME && a.flags & 0x20 ? p | 0 : p;
  }
  return j;
}

/**
 * A link with its addresses as `ip -j addr show` prints it (no linkmode; `addr_info` always).
 *
 * @example
 * ```ts
 * import { linkAddressesToIpJson } from "./json.ts";
 * const j = linkAddressesToIpJson({ family: 0, type: 772, index: 1, flags: 0x10049, change: 0, name: "lo" }, []);
 * j.addr_info; // []
 * ```
 */
export function linkAddressesToIpJson(l: Link, addrs: readonly Address[], ctx: IpJsonContext = {}): Json {
  const j = linkCommon(l, ctx, false);
  j.addr_info = addrs.filter((a) => a.index === l.index).map(addressToIpJson);
  return j;
}

function prefixText(family: number, addr: string | undefined, len: number): string {
  const host = family === AF.INET6 ? 128 : family === AF.INET ? 32 : -1;
  if (addr !== undefined) return len !== host ? `${addr}/${len}` : addr;
  return len ? `0/${len}` : "default";
}

function rtFlags(flags: number): string[] {
  const out: string[] = [];
  if (flags & RTNH_F.DEAD) out.push("dead");
  if (flags & RTNH_F.ONLINK) out.push("onlink");
  if (flags & RTNH_F.PERVASIVE) out.push("pervasive");
  if (flags & RTNH_F.OFFLOAD) out.push("offload");
  if (flags & RTNH_F.TRAP) out.push("trap");
  if (flags & RTM_F.NOTIFY) out.push("notify");
  if (flags & RTNH_F.LINKDOWN) out.push("linkdown");
  if (flags & RTNH_F.UNRESOLVED) out.push("unresolved");
  if (flags & RTM_F.OFFLOAD) out.push("rt_offload");
  if (flags & RTM_F.TRAP) out.push("rt_trap");
  if (flags & RTM_F.OFFLOAD_FAILED) out.push("rt_offload_failed");
  return out;
}

/** Routing-cache flags (RTCF_*) in the order ip prints them. */
const RTCF: Array<[number, string]> = [
  [0x80000000, "local"], [0x40000000, "reject"], [0x20000000, "mc"], [0x10000000, "brd"],
  [0x08000000, "dst-nat"], [0x00800000, "src-nat"], [0x00400000, "masq"], [0x00020000, "dst-direct"],
  [0x04000000, "src-direct"], [0x00040000, "redirected"], [0x01000000, "redirect"], [0x00200000, "fastroute"],
  [0x00010000, "notify"], [0x00080000, "proxy"],
];

const PREF_NAMES: Record<number, string> = { 3: "low", 0: "medium", 1: "high" };

function metricsJson(m: Route["metrics"] & object): Json[] {
  const j: Json = {};
  const lock = m.lock ?? 0;
  const rec = m as Record<string, number | string | undefined>;
  const names = ["", "lock", "mtu", "window", "rtt", "rttvar", "ssthresh", "cwnd", "advmss", "reordering", "hoplimit", "initcwnd", "features", "rto_min", "initrwnd", "quickack", "congctl", "fastopen_no_cookie"];
  for (let i = 2; i < names.length; i++) {
    const name = names[i]!;
    const v = rec[name];
    if (v === undefined && !(lock & (1 << i))) continue;
    if (i === RTAX.CC_ALGO) {
      j.congestion = v ?? "";
      continue;
    }
    let n = typeof v === "number" ? v : 0;
    if (i === RTAX.HOPLIMIT && (n | 0) === -1) continue;
    if (i === RTAX.RTT) n = Math.floor(n / 8);
    else if (i === RTAX.RTTVAR) n = Math.floor(n / 4);
    if (i === RTAX.FEATURES) {
      if (n & 1) j.ecn = null;
      if (n & ~1) j.features = "0x" + (n & ~1).toString(16);
      continue;
    }
    j[name] = n;
  }
  return [j];
}

function nexthopJson(nh: Nexthop, r: Route, ctx: IpJsonContext): Json {
  const j: Json = {};
  if (nh.newdst !== undefined) j.to = nh.newdst;
  if (nh.gateway !== undefined) j.gateway = nh.gateway;
  if (nh.via) j.via = { family: familyName(nh.via.family), host: nh.via.address };
  j.dev = ifName(ctx, nh.ifindex);
  if (r.family !== AF.MPLS) j.weight = nh.hops + 1;
  j.flags = rtFlags(nh.flags);
  return j;
}

/**
 * A route as `ip -j route show` prints it: "default" or "a.b.c.d/nn" (host routes without
 * the length), type only when not unicast, table only when not main, protocol only when not
 * boot, scope only when not global, flags always.
 *
 * @example
 * ```ts
 * import { routeToIpJson } from "./json.ts";
 * routeToIpJson({ family: 2, dstLen: 24, srcLen: 0, tos: 0, table: 1000, protocol: 3, scope: 0,
 *   type: 1, flags: 0, dst: "203.0.113.0", gateway: "192.0.2.254", priority: 10 });
 * // { dst: "203.0.113.0/24", gateway: "192.0.2.254", table: "1000", metric: 10, flags: [] }
 * ```
 */
export function routeToIpJson(r: Route, ctx: IpJsonContext = {}): Json {
  const j: Json = {};
  const d = ctx.details ?? false;
  if (r.type !== RTN.UNICAST || d) j.type = routeTypeName(r.type);
  j.dst = prefixText(r.family, r.dst, r.dstLen);
  if (r.src !== undefined) j.from = prefixText(r.family, r.src, r.srcLen);
  else if (r.srcLen) j.src = `0/${r.srcLen}`;
  if (r.nhId !== undefined) j.nhid = r.nhId;
  if (r.newdst !== undefined) j.to = r.newdst;
  if (r.tos) j.tos = "0x" + r.tos.toString(16).padStart(2, "0");
  if (r.gateway !== undefined) j.gateway = r.gateway;
  if (r.via) j.via = { family: familyName(r.via.family), host: r.via.address };
  if (r.oif !== undefined) j.dev = ifName(ctx, r.oif);
  if (r.table && (r.table !== RT_TABLE.MAIN || d)) j.table = tableName(r.table);
  if (!(r.flags & RTM_F.CLONED)) {
    if (r.protocol !== RTPROT.BOOT || d) j.protocol = protocolName(r.protocol);
    if (r.scope !== RT_SCOPE.UNIVERSE || d) j.scope = scopeName(r.scope);
  }
  if (r.prefsrc !== undefined) j.prefsrc = r.prefsrc;
  if (r.priority !== undefined) j.metric = r.priority;
  j.flags = rtFlags(r.flags);
  if (r.mark) j.mark = r.mark;
  if (r.flow !== undefined) {
    const to = r.flow & 0xffff;
    const from = r.flow >>> 16;
    j.flow = from ? { from: String(from), to: String(to) } : { to: String(to) };
  }
  if (r.uid !== undefined) j.uid = r.uid;
  if (r.family === AF.INET && r.flags & RTM_F.CLONED) {
    const rest = r.flags & ~0xffff;
    j.cache = RTCF.filter(([bit]) => rest & bit).map(([, name]) => name);
  }
  if (r.cacheInfo) {
    if (r.cacheInfo.expires) j.expires = Math.trunc(r.cacheInfo.expires / 100);
    if (r.cacheInfo.error) j.error = r.cacheInfo.error;
  }
  if (r.metrics) j.metrics = metricsJson(r.metrics);
  if (r.iif !== undefined) j.iif = ifName(ctx, r.iif);
  if (r.pref !== undefined) j.pref = PREF_NAMES[r.pref] ?? r.pref;
  if (r.ttlPropagate !== undefined) j["ttl-propogate"] = r.ttlPropagate !== 0;
  if (r.multipath) j.nexthops = r.multipath.map((nh) => nexthopJson(nh, r, ctx));
  return j;
}
