/**
 * The `-d` kind block of a link as ip prints it (ip/ipaddress.c's print_linkinfo: IFLA_LINKINFO,
 * `linkinfo` in `ip -j -d`): the kind and its data for tun, vxlan, vlan and bridge, and a bridge
 * port's slave data. The link view (./link.ts) prints it inside a link; `tunkit list` prints it
 * alone ({@link linkInfoToIpJson}), without loading the rest of the link view (start-up, issue 11:
 * `tunkit list` of three tun devices, 15 interleaved runs at load 4: 1614 -> 1536 minor page
 * faults; JSC heap blocks unchanged at ~101; a build with no linkinfo at all read 1483).
 *
 * @module
 */
import type { Link, LinkInfo } from "../route/link.ts";
import type { TunInfo, VlanInfo, VxlanInfo } from "../route/linkinfo.ts";
import { printBridge, printBridgePort } from "./bridge.ts";
import { ifName, type IpViewContext } from "./context.ts";
import { hex0x, IpPrinter, type Json, withValue } from "./printer.ts";

/** What a link view needs besides {@link IpViewContext}. */
export interface LinkViewContext extends IpViewContext {
  /** uid -> user name (ip prints a tun's owner by name when it has one). */
  userName?: (uid: number) => string | undefined;
  /** gid -> group name. */
  groupName?: (gid: number) => string | undefined;
  /** Network namespace id -> name (ip prints "link-netns NAME"; see Rtnl.nsidNames). */
  nsidNames?: ReadonlyMap<number, string>;
}

function onOff(p: IpPrinter, key: string, v: boolean | undefined, fmt: string): void {
  if (v === undefined) return;
  if (p.json) p.jsonOnly(key, v);
  else p.fp(withValue(fmt, v ? "on" : "off"));
}

function printTun(p: IpPrinter, t: TunInfo, ctx: LinkViewContext): void {
  if (t.type !== undefined) p.any("type", t.type === "tun" || t.type === "tap" ? t.type : `UNKNOWN:${t.type}`, "type %s ");
  onOff(p, "pi", t.pi, "pi %s ");
  onOff(p, "vnet_hdr", t.vnetHdr, "vnet_hdr %s ");
  if (!t.multiQueue) p.jsonOnly("multi_queue", false);
  else {
    p.any("multi_queue", true, "multi_queue ");
    if (t.numQueues !== undefined) p.any("numqueues", t.numQueues, "numqueues %s ");
    if (t.numDisabledQueues !== undefined) p.any("numdisabled", t.numDisabledQueues, "numdisabled %s ");
  }
  onOff(p, "persist", t.persist, "persist %s ");
  if (t.owner !== undefined) p.any("user", ctx.userName?.(t.owner) ?? t.owner, "user %s ");
  if (t.group !== undefined) p.any("group", ctx.groupName?.(t.group) ?? t.group, "group %s ");
}

function isMulticast(a: string): boolean {
  return a.includes(":") ? a.toLowerCase().startsWith("ff") : Number(a.split(".")[0]) >= 224 && Number(a.split(".")[0]) < 240;
}

function printVxlan(p: IpPrinter, v: VxlanInfo, ctx: LinkViewContext): void {
  if (v.collectMetadata) p.any("external", true, "external ");
  if (v.vnifilter) p.any("vnifilter", true, "vnifilter");
  if (v.id !== undefined) p.any("id", v.id, "id %s ");
  if (v.group !== undefined) {
    if (v.group !== "0.0.0.0") p.any(isMulticast(v.group) ? "group" : "remote", v.group, isMulticast(v.group) ? "group %s " : "remote %s ");
  } else if (v.group6 !== undefined && v.group6 !== "::") {
    p.any(isMulticast(v.group6) ? "group6" : "remote6", v.group6, isMulticast(v.group6) ? "group %s " : "remote %s ");
  }
  if (v.local !== undefined) {
    if (v.local !== "0.0.0.0") p.any("local", v.local, "local %s ");
  } else if (v.local6 !== undefined && v.local6 !== "::") p.any("local6", v.local6, "local %s ");
  if (v.link) p.any("link", ifName(ctx, v.link), "dev %s ");
  if (v.portRange) {
    if (p.json) {
      p.openObject("port_range");
      p.jsonOnly("low", v.portRange.low);
      p.jsonOnly("high", v.portRange.high);
      p.closeObject();
    } else p.fp(`srcport ${v.portRange.low} ${v.portRange.high} `);
  }
  if (v.port !== undefined) p.any("port", v.port, "dstport %s ");
  if (v.learning !== undefined) {
    p.jsonOnly("learning", v.learning !== 0);
    if (!v.learning) p.fp("nolearning ");
  }
  if (v.proxy) p.any("proxy", true, "proxy ");
  if (v.rsc) p.any("rsc", true, "rsc ");
  if (v.l2miss) p.any("l2miss", true, "l2miss ");
  if (v.l3miss) p.any("l3miss", true, "l3miss ");
  const tos = v.tos ?? 0;
  if (tos) {
    if (p.json || tos !== 1) p.any("tos", hex0x(tos), "tos %s ");
    else p.fp("tos inherit ");
  }
  if (v.ttlInherit) p.fp("ttl inherit ");
  else if (v.ttl !== undefined) {
    if (p.json || v.ttl) p.any("ttl", v.ttl, "ttl %s ");
    else p.fp("ttl auto ");
  }
  if (v.df !== undefined) {
    if (v.df === 0) p.jsonOnly("df", "unset");
    else if (v.df === 1) p.any("df", "set", "df %s ");
    else if (v.df === 2) p.any("df", "inherit", "df %s ");
  }
  if (v.label) p.any("label", hex0x(v.label), "flowlabel %s ");
  if (v.ageing !== undefined) p.any("ageing", v.ageing, v.ageing === 0 ? "ageing none " : "ageing %s ");
  if (v.limit) p.any("limit", v.limit, "maxaddr %s ");
  for (const [key, val, word] of [
    ["udp_csum", v.udpCsum, "udpcsum"], ["udp_zero_csum6_tx", v.udpZeroCsum6Tx, "udp6zerocsumtx"], ["udp_zero_csum6_rx", v.udpZeroCsum6Rx, "udp6zerocsumrx"],
  ] as const) {
    if (val === undefined) continue;
    if (p.json) p.jsonOnly(key, val !== 0);
    else p.fp(`${val ? "" : "no"}${word} `);
  }
  if (v.remcsumTx) p.any("remcsum_tx", true, "remcsumtx ");
  if (v.remcsumRx) p.any("remcsum_rx", true, "remcsumrx ");
  if (v.gbp) p.any("gbp", true, "gbp ");
  if (v.gpe) p.any("gpe", true, "gpe ");
}

const VLAN_FLAGS: ReadonlyArray<readonly [number, string]> = [[1, "REORDER_HDR"], [2, "GVRP"], [4, "LOOSE_BINDING"], [8, "MVRP"], [16, "BRIDGE_BINDING"]];

function printVlan(p: IpPrinter, v: VlanInfo): void {
  if (v.id === undefined) return;
  const proto = v.protocol === undefined ? "802.1q" : v.protocol === 0x8100 ? "802.1Q" : v.protocol === 0x88a8 ? "802.1ad" : hex0x(v.protocol);
  p.any("protocol", proto, "protocol %s ");
  p.any("id", v.id, "id %s ");
  if (v.flags) {
    let f = v.flags.flags;
    p.openArray("flags", "<");
    for (const [bit, name] of VLAN_FLAGS) {
      if (!(f & bit)) continue;
      f &= ~bit;
      p.any(null, name, f ? "%s," : "%s");
    }
    if (f) p.any(null, f.toString(16), "%s");
    p.closeArray("> ");
  }
  for (const [key, word, map] of [["ingress_qos", "ingress-qos-map", v.ingressQos], ["egress_qos", "egress-qos-map", v.egressQos]] as const) {
    if (!map) continue;
    p.openArray(key);
    p.fp(`${p.sl}      ${word} { `);
    for (const m of map) {
      if (p.json) {
        p.openObject(null);
        p.jsonOnly("from", m.from);
        p.jsonOnly("to", m.to);
        p.closeObject();
      } else p.fp(`${m.from}:${m.to} `);
    }
    p.closeArray();
    p.fp("} ");
  }
}

/** Prints one kind's info_data. */
type KindPrinter = (p: IpPrinter, data: never, ctx: LinkViewContext) => void;

const KIND_PRINTERS: Readonly<Record<string, KindPrinter>> = {
  tun: printTun,
  vxlan: printVxlan,
  vlan: printVlan,
  bridge: printBridge,
};

/** Printers of IFLA_INFO_SLAVE_DATA by the master's kind. */
const SLAVE_PRINTERS: Readonly<Record<string, KindPrinter>> = {
  bridge: printBridgePort,
};

/**
 * Prints a link's IFLA_LINKINFO into `p` (inside a link's details: ip's `-d`).
 *
 * @example
 * ```ts
 * import { IpPrinter } from "./printer.ts";
 * import { printLinkInfo } from "./linkinfo.ts";
 * const p = new IpPrinter(false);
 * printLinkInfo(p, { kind: "tun", data: { type: "tun", pi: false, vnetHdr: false, persist: true } });
 * p.text(); // "\n    tun type tun pi off vnet_hdr off persist on "
 * ```
 */
export function printLinkInfo(p: IpPrinter, li: LinkInfo, ctx: LinkViewContext = {}): void {
  p.openObject("linkinfo");
  if (li.kind !== undefined) printKind(p, "info", "    %s ", li.kind, li.data, KIND_PRINTERS, ctx);
  if (li.slaveKind !== undefined) printKind(p, "info_slave", "    %s_slave ", li.slaveKind, li.slaveData, SLAVE_PRINTERS, ctx);
  p.closeObject();
}

/** One kind of a linkinfo (the link's own, or its port's as a slave): `KEY_kind` and, where a printer knows the kind, `KEY_data`. */
function printKind(p: IpPrinter, key: string, fmt: string, kind: string, data: unknown, printers: Readonly<Record<string, KindPrinter>>, ctx: LinkViewContext): void {
  p.fp(p.sl);
  p.any(`${key}_kind`, kind, fmt);
  const printer = printers[kind];
  if (!printer) return;
  p.openObject(`${key}_data`);
  if (data && !(data instanceof Uint8Array)) printer(p, data as never, ctx);
  p.closeObject();
}

/**
 * A link's `linkinfo` as `ip -j -d link show` prints it (the same object as
 * `linkToIpJson(l, { details: true }).linkinfo`), or undefined when the link has none.
 *
 * @example
 * ```ts
 * import { linkInfoToIpJson } from "./linkinfo.ts";
 * linkInfoToIpJson({ family: 0, type: 65534, ifindex: 4, flags: 0x1090, change: 0, name: "tun7",
 *   linkInfo: { kind: "tun", data: { type: "tun", pi: false, vnetHdr: false, multiQueue: false, persist: true } } });
 * // { info_kind: "tun", info_data: { type: "tun", pi: false, vnet_hdr: false, multi_queue: false, persist: true } }
 * ```
 */
export function linkInfoToIpJson(l: Link, ctx: LinkViewContext = {}): Json | undefined {
  if (!l.linkInfo) return undefined;
  const p = new IpPrinter(true);
  printLinkInfo(p, l.linkInfo, ctx);
  return p.object().linkinfo as Json;
}
