/**
 * The `-d` details of bridges and bridge ports as `ip -d link show` prints them (iproute2 6.1's
 * bridge_print_opt and bridge_slave_print_opt): timers in seconds with two decimals, bridge
 * ids as "8000.aa:bb:…", on/off words, the group forward mask with its names.
 *
 * @module
 */
import type { BridgeInfo, BridgePortInfo } from "../route/linkinfo.ts";
import { ifName, type IpViewContext } from "./context.ts";
import { hex0x, type IpPrinter } from "./printer.ts";

type Id = { prio: number; addr: string };

/** ip's br_dump_bridge_id: "%.2x%.2x." then ether_ntoa (no zero padding). */
function bridgeId(id: Id): string {
  const prio = id.prio.toString(16).padStart(4, "0");
  return `${prio}.${id.addr.split(":").map((b) => parseInt(b, 16).toString(16)).join(":")}`;
}

/** A timer in jiffies (USER_HZ 100) as ip prints it: "%4i.%.2i" in text, a number in JSON. */
function timer(p: IpPrinter, key: string, v: number | bigint): void {
  const cs = Number(v);
  const sec = Math.floor(cs / 100);
  const frac = String(cs % 100).padStart(2, "0");
  if (p.json) p.jsonOnly(key, Number(`${sec}.${frac}`));
  else p.fp(`${key} ${String(sec).padStart(4)}.${frac} `);
}

function onOff(p: IpPrinter, key: string, v: number | undefined, word = key): void {
  if (v === undefined) return;
  if (p.json) p.jsonOnly(key, v !== 0);
  else p.fp(`${word} ${v ? "on" : "off"} `);
}

const uint = (p: IpPrinter, key: string, v: unknown, word = key) => {
  if (v !== undefined) p.any(key, Number(v), `${word} %s `);
};

const ETH_PROTOS: Readonly<Record<number, string>> = { 0x8100: "802.1Q", 0x88a8: "802.1ad" };

/**
 * Prints a bridge's IFLA_INFO_DATA.
 *
 * @example
 * ```ts
 * import { IpPrinter } from "./printer.ts";
 * import { printBridge } from "./bridge.ts";
 * const p = new IpPrinter(false);
 * printBridge(p, { forwardDelay: 1500, stpState: 0 });
 * p.text(); // "forward_delay 1500 stp_state 0 "
 * ```
 */
export function printBridge(p: IpPrinter, b: BridgeInfo): void {
  uint(p, "forward_delay", b.forwardDelay);
  uint(p, "hello_time", b.helloTime);
  uint(p, "max_age", b.maxAge);
  uint(p, "ageing_time", b.ageingTime);
  uint(p, "stp_state", b.stpState);
  uint(p, "priority", b.priority);
  uint(p, "vlan_filtering", b.vlanFiltering);
  if (b.vlanProtocol !== undefined) p.any("vlan_protocol", ETH_PROTOS[b.vlanProtocol as number] ?? hex0x(b.vlanProtocol as number), "vlan_protocol %s ");
  if (b.bridgeId) p.any("bridge_id", bridgeId(b.bridgeId as Id), "bridge_id %s ");
  // ip 6.1 prints the bridge's own id as the designated root (its code reads IFLA_BR_BRIDGE_ID twice).
  if (b.rootId && b.bridgeId) p.any("root_id", bridgeId(b.bridgeId as Id), "designated_root %s ");
  uint(p, "root_port", b.rootPort);
  uint(p, "root_path_cost", b.rootPathCost);
  uint(p, "topology_change", b.topologyChange);
  uint(p, "topology_change_detected", b.topologyChangeDetected);
  for (const [key, v] of [["hello_timer", b.helloTimer], ["tcn_timer", b.tcnTimer], ["topology_change_timer", b.topologyChangeTimer], ["gc_timer", b.gcTimer]] as const) {
    if (v !== undefined) timer(p, key, v as bigint);
  }
  uint(p, "vlan_default_pvid", b.vlanDefaultPvid);
  uint(p, "vlan_stats_enabled", b.vlanStatsEnabled);
  uint(p, "vlan_stats_per_port", b.vlanStatsPerPort);
  if (b.groupFwdMask !== undefined) p.any("group_fwd_mask", hex0x(b.groupFwdMask as number), "group_fwd_mask %s ");
  if (b.groupAddr !== undefined) p.any("group_addr", b.groupAddr as string, "group_address %s ");
  uint(p, "mcast_snooping", b.mcastSnooping);
  const bo = b.multiBoolopt as { optval: number; optmask: number } | undefined;
  if (bo) {
    if (bo.optmask & 1) p.any("no_linklocal_learn", bo.optval & 1 ? 1 : 0, "no_linklocal_learn %s ");
    if (bo.optmask & 2) p.any("mcast_vlan_snooping", bo.optval & 2 ? 1 : 0, "mcast_vlan_snooping %s ");
  }
  uint(p, "mcast_router", b.mcastRouter);
  uint(p, "mcast_query_use_ifaddr", b.mcastQueryUseIfaddr);
  uint(p, "mcast_querier", b.mcastQuerier);
  uint(p, "mcast_hash_elasticity", b.mcastHashElasticity);
  uint(p, "mcast_hash_max", b.mcastHashMax);
  uint(p, "mcast_last_member_cnt", b.mcastLastMemberCnt, "mcast_last_member_count");
  uint(p, "mcast_startup_query_cnt", b.mcastStartupQueryCnt, "mcast_startup_query_count");
  uint(p, "mcast_last_member_intvl", b.mcastLastMemberIntvl, "mcast_last_member_interval");
  uint(p, "mcast_membership_intvl", b.mcastMembershipIntvl, "mcast_membership_interval");
  uint(p, "mcast_querier_intvl", b.mcastQuerierIntvl, "mcast_querier_interval");
  uint(p, "mcast_query_intvl", b.mcastQueryIntvl, "mcast_query_interval");
  uint(p, "mcast_query_response_intvl", b.mcastQueryResponseIntvl, "mcast_query_response_interval");
  uint(p, "mcast_startup_query_intvl", b.mcastStartupQueryIntvl, "mcast_startup_query_interval");
  uint(p, "mcast_stats_enabled", b.mcastStatsEnabled);
  uint(p, "mcast_igmp_version", b.mcastIgmpVersion);
  uint(p, "mcast_mld_version", b.mcastMldVersion);
  uint(p, "nf_call_iptables", b.nfCallIptables);
  uint(p, "nf_call_ip6tables", b.nfCallIp6tables);
  uint(p, "nf_call_arptables", b.nfCallArptables);
}

const PORT_STATES = ["disabled", "listening", "learning", "forwarding", "blocking"];
const FWD_MASK_NAMES: Readonly<Record<number, string>> = { 0: "stp", 2: "lacp", 14: "lldp" };

/** ip's _bitmask2str over the group forward mask: "stp,lacp,0x4" or "0x0". */
function fwdMaskText(mask: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 16; i++) if (mask & (1 << i)) parts.push(FWD_MASK_NAMES[i] ?? `0x${(1 << i).toString(16)}`);
  return parts.length ? parts.join(",") : "0x0";
}

/**
 * Prints a bridge port's IFLA_INFO_SLAVE_DATA.
 *
 * @example
 * ```ts
 * import { IpPrinter } from "./printer.ts";
 * import { printBridgePort } from "./bridge.ts";
 * const p = new IpPrinter(false);
 * printBridgePort(p, { state: 3, priority: 32, cost: 2 });
 * p.text(); // "state forwarding priority 32 cost 2 "
 * ```
 */
export function printBridgePort(p: IpPrinter, b: BridgePortInfo, ctx: IpViewContext = {}): void {
  if (b.state !== undefined) {
    if (b.state < PORT_STATES.length) p.any("state", PORT_STATES[b.state]!, "state %s ");
    else p.any("state_index", b.state, "state (%s) ");
  }
  uint(p, "priority", b.priority);
  uint(p, "cost", b.cost);
  onOff(p, "hairpin", b.mode);
  onOff(p, "guard", b.guard);
  onOff(p, "root_block", b.protect);
  onOff(p, "fastleave", b.fastLeave);
  onOff(p, "learning", b.learning);
  onOff(p, "flood", b.unicastFlood);
  if (b.id !== undefined) p.any("id", hex0x(b.id), "port_id %s ");
  if (b.no !== undefined) p.any("no", hex0x(b.no), "port_no %s ");
  uint(p, "designated_port", b.designatedPort);
  uint(p, "designated_cost", b.designatedCost);
  if (b.bridgeId) p.any("bridge_id", bridgeId(b.bridgeId), "designated_bridge %s ");
  if (b.rootId) p.any("root_id", bridgeId(b.rootId), "designated_root %s ");
  if (b.holdTimer !== undefined) timer(p, "hold_timer", b.holdTimer);
  if (b.messageAgeTimer !== undefined) timer(p, "message_age_timer", b.messageAgeTimer);
  if (b.forwardDelayTimer !== undefined) timer(p, "forward_delay_timer", b.forwardDelayTimer);
  uint(p, "topology_change_ack", b.topologyChangeAck);
  uint(p, "config_pending", b.configPending);
  onOff(p, "proxy_arp", b.proxyArp);
  onOff(p, "proxy_arp_wifi", b.proxyArpWifi);
  uint(p, "multicast_router", b.multicastRouter, "mcast_router");
  if (b.fastLeave !== undefined) p.fp(`mcast_fast_leave ${b.fastLeave ? "on" : "off"} `);
  onOff(p, "mcast_flood", b.mcastFlood);
  onOff(p, "bcast_flood", b.bcastFlood);
  onOff(p, "mcast_to_unicast", b.mcastToUcast);
  onOff(p, "neigh_suppress", b.neighSuppress);
  if (b.groupFwdMask !== undefined) {
    p.any("group_fwd_mask", hex0x(b.groupFwdMask), "group_fwd_mask %s ");
    p.any("group_fwd_mask_str", fwdMaskText(b.groupFwdMask), "group_fwd_mask_str %s ");
  }
  onOff(p, "vlan_tunnel", b.vlanTunnel);
  onOff(p, "isolated", b.isolated);
  onOff(p, "locked", b.locked);
  if (b.backupPort !== undefined) p.any("backup_port", ifName(ctx, b.backupPort), "backup_port %s ");
}
