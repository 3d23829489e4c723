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
export { routeToIpJson } from "../view/route.ts";
export { addressToIpJson } from "../view/addr.ts";
import { addressToIpJson } from "../view/addr.ts";

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
  j.addr_info = addrs.filter((a) => a.index === l.index).map((a) => addressToIpJson(a, ctx));
  return j;
}

