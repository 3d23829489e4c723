/**
 * Links as `ip link add|set|del` speak them: {@link LinkAddSpec} (dummy, veth with its peer,
 * bridge, vlan, vxlan, any other kind by name) and {@link LinkChanges} (up/down, name, mtu,
 * address, broadcast, txqueuelen, promisc, arp, multicast, allmulticast, dynamic, trailers,
 * carrier, alias, group, master/nomaster, netns) to wire objects ({@link linkFromSpec},
 * {@link linkFromChanges}). Pure: devices come as indexes or through a resolver.
 *
 * @module
 */
import { formatMac, parseMac } from "../../common/addr.ts";
import { UsageError } from "../../common/errors.ts";
import { checkIfName } from "../../common/ifname.ts";
import { AF, IFF } from "../route/constants.ts";
import { formatAddr, parseAddr } from "../route/ip.ts";
import type { Link } from "../route/link.ts";
import type { VlanInfo, VxlanInfo } from "../route/linkinfo.ts";
import { defaultIpNames, type IpNames } from "../route/names.ts";
import { checkU32, type Dev, num } from "./common.ts";

/** `type vlan id N [protocol 802.1Q|802.1ad] [reorder_hdr on|off] …`. */
export interface VlanSpec {
  /** `id`: the VLAN id (0..4095). */
  id: number;
  /** "802.1Q" (default), "802.1ad", or the ethertype. */
  protocol?: "802.1Q" | "802.1q" | "802.1ad" | number;
  /** `reorder_hdr on|off`. */
  reorderHdr?: boolean;
  /** `gvrp on|off`. */
  gvrp?: boolean;
  /** `mvrp on|off`. */
  mvrp?: boolean;
  /** `loose_binding on|off`. */
  looseBinding?: boolean;
  /** `bridge_binding on|off`. */
  bridgeBinding?: boolean;
}

/** `type vxlan id VNI [remote|group ADDR] [local ADDR] [dstport PORT] [dev DEV] …`. */
export interface VxlanSpec {
  /** `id`: the VNI. */
  id: number;
  /** A unicast peer. */
  remote?: string;
  /** A multicast group (needs `dev`). */
  group?: string;
  /** `local`: the source address of the tunnel. */
  local?: string;
  /** Destination UDP port (ip warns without one; the kernel's default is 8472). */
  dstport?: number;
  /** The underlying device. */
  dev?: Dev;
  /** 1..255, "inherit", or "auto" (0). */
  ttl?: number | "inherit" | "auto";
  /** Learning of remote MACs (on by default, as ip sends). */
  learning?: boolean;
}

/** A veth's peer: its name and, optionally, its own attributes. */
export interface VethPeerSpec {
  /** The peer's name. */
  name: string;
  /** The peer's link-layer address. */
  address?: string;
  /** The peer's MTU. */
  mtu?: number;
  /** The peer's transmit queue length. */
  txqlen?: number;
  /** Create the peer directly in another network namespace: an nsfs fd or a pid. */
  netnsFd?: number;
  /** Create the peer in the network namespace of this process. */
  netnsPid?: number;
}

/** A new link: `ip link add NAME [link DEV] [options] type KIND [kind options]`. */
export interface LinkAddSpec {
  /** The device name. */
  name: string;
  /** "dummy", "veth", "bridge", "vlan", "vxlan", or any kind the kernel has (tun/tap: use tun/). */
  kind: string;
  /** veth: the peer's name, or its spec. */
  peer?: string | VethPeerSpec;
  /** `link DEV`: the parent (vlan, macvlan, …). */
  link?: Dev;
  /** `type vlan` settings. */
  vlan?: VlanSpec;
  /** `type vxlan` settings. */
  vxlan?: VxlanSpec;
  /** `mtu`. */
  mtu?: number;
  /** `txqueuelen`. */
  txqlen?: number;
  /** `address`: the link-layer address. */
  address?: string;
  /** `broadcast`: the link-layer broadcast address. */
  broadcast?: string;
  /** `up` (true) or `down` (false). */
  up?: boolean;
  /** Enslave at creation (`master DEV`). */
  master?: Dev;
  /** `alias`. */
  alias?: string;
  /** `group`: a number or a name from /etc/iproute2/group. */
  group?: number | string;
  /** `numtxqueues`. */
  numTxQueues?: number;
  /** `numrxqueues`. */
  numRxQueues?: number;
}

/**
 * Changes to a link: `ip link set DEV …`. Booleans set a flag on (true) or off (false);
 * `arp: false` is ip's `arp off` (IFF_NOARP set).
 */
export interface LinkChanges {
  /** `up` (true) or `down` (false). */
  up?: boolean;
  /** `mtu`. */
  mtu?: number;
  /** The device name. */
  name?: string;
  /** `txqueuelen`. */
  txqlen?: number;
  /** `address`: the link-layer address. */
  address?: string;
  /** `broadcast`: the link-layer broadcast address. */
  broadcast?: string;
  /** Enslave to this master; null to release (`nomaster`). */
  master?: Dev | null;
  /** `alias TEXT`; "" clears it. */
  alias?: string;
  /** `promisc on|off`. */
  promisc?: boolean;
  /** `arp on|off`. */
  arp?: boolean;
  /** `multicast on|off`. */
  multicast?: boolean;
  /** `allmulticast on|off`. */
  allmulticast?: boolean;
  /** `dynamic on|off`. */
  dynamic?: boolean;
  /** `trailers on|off`. */
  trailers?: boolean;
  /** `carrier on|off`. */
  carrier?: boolean;
  /** `protodown on|off`. */
  protodown?: boolean;
  /** `group N|NAME` (names from /etc/iproute2/group). */
  group?: number | string;
  /** `mode default|dormant`. */
  mode?: "default" | "dormant";
  /** `state up|down|…` (operstate). */
  state?: string;
  /** `netns NAME|PID`: a name (opened by Rtnl), a pid, or `{ fd }` of an nsfs file. */
  netns?: string | number | { fd: number };
}

/** Resolves a device to its index (see Rtnl.addLink/setLink, which look names up first). */
export type LinkDevIndex = (dev: Dev) => number;

function devIndex(resolve: LinkDevIndex | undefined, dev: Dev, what: string): number {
  if (typeof dev === "number") return dev;
  if (!resolve) throw new UsageError(`Device "${dev}" (${what}) must be resolved to an index first`);
  return resolve(dev);
}

function macOf(s: string, what: string): string {
  const b = parseMac(s);
  if (b.length < 1 || b.length > 32) throw new UsageError(`Invalid ${what} "${s}": expected hex bytes like 02:00:00:00:00:01`);
  return formatMac(b);
}

const OPERSTATES = ["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"];

function setFlag(l: { flags: number; change: number }, bit: number, on: boolean | undefined): void {
  if (on === undefined) return;
  l.change |= bit;
  if (on) l.flags |= bit;
  else l.flags &= ~bit;
}

function vlanInfo(v: VlanSpec): VlanInfo {
  checkU32(v.id, "vlan id", 0, 4095);
  const proto = v.protocol === undefined ? undefined : typeof v.protocol === "number" ? v.protocol : v.protocol.toLowerCase() === "802.1q" ? 0x8100 : 0x88a8;
  if (proto !== undefined && proto !== 0x8100 && proto !== 0x88a8) throw new UsageError(`Invalid vlan protocol "${v.protocol}": expected 802.1Q or 802.1ad`);
  const out: VlanInfo = { id: v.id };
  if (proto !== undefined) out.protocol = proto;
  const flags = { flags: 0, mask: 0 };
  for (const [bit, on] of [[1, v.reorderHdr], [2, v.gvrp], [8, v.mvrp], [4, v.looseBinding], [16, v.bridgeBinding]] as const) {
    if (on === undefined) continue;
    flags.mask |= bit;
    if (on) flags.flags |= bit;
  }
  if (flags.mask) out.flags = flags;
  return out;
}

function vxlanInfo(v: VxlanSpec, resolve: LinkDevIndex | undefined): VxlanInfo {
  checkU32(v.id, "vxlan id", 0, 0xffffff);
  if (v.remote !== undefined && v.group !== undefined) throw new UsageError(`Invalid vxlan: "remote" and "group" exclude each other`);
  const out: VxlanInfo = {};
  if (v.dev !== undefined) out.link = devIndex(resolve, v.dev, "vxlan dev");
  if (v.ttl === "inherit") out.ttlInherit = 1;
  else if (v.ttl !== undefined) {
    const ttl = v.ttl === "auto" ? 0 : v.ttl;
    checkU32(ttl, "ttl", 0, 255);
    out.ttl = ttl;
  }
  out.id = v.id;
  if (v.local !== undefined) {
    const b = parseAddr(v.local);
    if (b.length === 4) out.local = formatAddr(b);
    else out.local6 = formatAddr(b);
  }
  const peer = v.remote ?? v.group;
  if (peer !== undefined) {
    const b = parseAddr(peer);
    const mc = b.length === 4 ? (b[0]! & 0xf0) === 0xe0 : b[0] === 0xff;
    if (v.group !== undefined && !mc) throw new UsageError(`Invalid vxlan group "${peer}": expected a multicast address`);
    if (v.remote !== undefined && mc) throw new UsageError(`Invalid vxlan remote "${peer}": expected a unicast address (use group for multicast)`);
    if (v.group !== undefined && v.dev === undefined) throw new UsageError(`Invalid vxlan: "group" needs "dev" (the device to join the group on)`);
    if (b.length === 4) out.group = formatAddr(b);
    else out.group6 = formatAddr(b);
  }
  out.learning = v.learning === false ? 0 : 1;
  if (v.dstport !== undefined) {
    checkU32(v.dstport, "dstport", 0, 65535);
    if (v.dstport) out.port = v.dstport;
  }
  return out;
}

/**
 * Builds the RTM_NEWLINK object of `ip link add` (devices of `link`, `master` and vxlan's
 * `dev` through `resolve`). Throws UsageError on bad input.
 *
 * @example
 * ```ts
 * import { linkFromSpec } from "./link.ts";
 * linkFromSpec({ name: "tkv0", kind: "veth", peer: "tkv1" }).linkInfo;
 * // { kind: "veth", data: { peer: { name: "tkv1" } } }
 * linkFromSpec({ name: "tkvx0", kind: "vxlan", vxlan: { id: 42, remote: "198.51.100.2", dstport: 4789 } }).linkInfo?.data;
 * // { id: 42, group: "198.51.100.2", learning: 1, port: 4789 }
 * ```
 */
export function linkFromSpec(spec: LinkAddSpec, resolve?: LinkDevIndex, names: IpNames = defaultIpNames()): Partial<Link> {
  checkIfName(spec.name);
  if (!/^[a-z0-9_.-]+$/i.test(spec.kind)) throw new UsageError(`Invalid link type "${spec.kind}": expected a kind like dummy, veth, bridge, vlan, vxlan`);
  checkU32(spec.mtu, "MTU", 68, 0xffffffff);
  checkU32(spec.txqlen, "txqueuelen", 0, 0xffffffff);
  const l: Partial<Link> & { flags: number; change: number } = { family: AF.UNSPEC, ifindex: 0, flags: 0, change: 0, name: spec.name };
  setFlag(l, IFF.UP, spec.up ? true : undefined);
  if (spec.mtu !== undefined) l.mtu = spec.mtu;
  if (spec.txqlen !== undefined) l.txqlen = spec.txqlen;
  if (spec.address !== undefined) l.address = macOf(spec.address, "address");
  if (spec.broadcast !== undefined) l.broadcast = macOf(spec.broadcast, "broadcast");
  if (spec.link !== undefined) l.link = devIndex(resolve, spec.link, "link");
  if (spec.master !== undefined) l.master = devIndex(resolve, spec.master, "master");
  if (spec.alias !== undefined) l.ifalias = aliasOf(spec.alias);
  const group = num(spec.group, (s) => names.parseGroup(s));
  checkU32(group, "group", 0, 0xffffffff);
  if (group !== undefined) l.group = group;
  checkU32(spec.numTxQueues, "numtxqueues", 1, 4096);
  checkU32(spec.numRxQueues, "numrxqueues", 1, 4096);
  if (spec.numTxQueues !== undefined) l.numTxQueues = spec.numTxQueues;
  if (spec.numRxQueues !== undefined) l.numRxQueues = spec.numRxQueues;
  switch (spec.kind) {
    case "veth": {
      if (spec.peer === undefined) {
        l.linkInfo = { kind: "veth" };
        break;
      }
      const p: VethPeerSpec = typeof spec.peer === "string" ? { name: spec.peer } : spec.peer;
      checkIfName(p.name);
      checkU32(p.mtu, "peer MTU", 68, 0x7fffffff);
      const peer: Partial<Link> = { name: p.name };
      if (p.address !== undefined) peer.address = macOf(p.address, "peer address");
      if (p.mtu !== undefined) peer.mtu = p.mtu;
      if (p.txqlen !== undefined) peer.txqlen = p.txqlen;
      if (p.netnsFd !== undefined) peer.netnsFd = p.netnsFd;
      if (p.netnsPid !== undefined) peer.netnsPid = p.netnsPid;
      l.linkInfo = { kind: "veth", data: { peer } };
      break;
    }
    case "vlan":
      if (!spec.vlan) throw new UsageError(`Missing "id" for vlan "${spec.name}": type vlan id N`);
      if (spec.link === undefined) throw new UsageError(`Missing "link DEV" for vlan "${spec.name}": the device the vlan rides on`);
      l.linkInfo = { kind: "vlan", data: vlanInfo(spec.vlan) };
      break;
    case "vxlan":
      if (!spec.vxlan) throw new UsageError(`Missing "id" for vxlan "${spec.name}": type vxlan id VNI`);
      l.linkInfo = { kind: "vxlan", data: vxlanInfo(spec.vxlan, resolve) };
      break;
    default:
      if (spec.peer !== undefined || spec.vlan || spec.vxlan) throw new UsageError(`Invalid options for link type "${spec.kind}": peer/vlan/vxlan belong to those kinds`);
      l.linkInfo = { kind: spec.kind };
  }
  return l;
}

function aliasOf(s: string): string {
  if (new TextEncoder().encode(s).length >= 256) throw new UsageError(`Invalid alias "${s.slice(0, 20)}…": at most 255 bytes`);
  return s;
}

/**
 * Builds the RTM_NEWLINK object of `ip link set DEV …` for the link with index `index`.
 * `netns` must be resolved already (a pid, or `{ fd }`): Rtnl.setLink opens a name.
 *
 * @example
 * ```ts
 * import { linkFromChanges } from "./link.ts";
 * linkFromChanges({ up: true, promisc: true, arp: false, alias: "uplink" }, 3);
 * // { family: 0, ifindex: 3, flags: 0x181 (UP|PROMISC|NOARP), change: 0x181, ifalias: "uplink" }
 * ```
 */
export function linkFromChanges(ch: LinkChanges, index: number, resolve?: LinkDevIndex, names: IpNames = defaultIpNames()): Partial<Link> {
  // u32 like the kernel's attributes: the kernel's own refusal (ENOMEM for a huge queue) is the truer message.
  checkU32(ch.mtu, "MTU", 0, 0xffffffff);
  checkU32(ch.txqlen, "txqueuelen", 0, 0xffffffff);
  const l: Partial<Link> & { flags: number; change: number } = { family: AF.UNSPEC, ifindex: index, flags: 0, change: 0 };
  setFlag(l, IFF.UP, ch.up);
  setFlag(l, IFF.PROMISC, ch.promisc);
  setFlag(l, IFF.NOARP, ch.arp === undefined ? undefined : !ch.arp);
  setFlag(l, IFF.MULTICAST, ch.multicast);
  setFlag(l, IFF.ALLMULTI, ch.allmulticast);
  setFlag(l, IFF.DYNAMIC, ch.dynamic);
  setFlag(l, IFF.NOTRAILERS, ch.trailers === undefined ? undefined : !ch.trailers);
  if (ch.name !== undefined) l.name = checkIfName(ch.name);
  if (ch.mtu !== undefined) l.mtu = ch.mtu;
  if (ch.txqlen !== undefined) l.txqlen = ch.txqlen;
  if (ch.address !== undefined) l.address = macOf(ch.address, "address");
  if (ch.broadcast !== undefined) l.broadcast = macOf(ch.broadcast, "broadcast");
  if (ch.master !== undefined) l.master = ch.master === null ? 0 : devIndex(resolve, ch.master, "master");
  if (ch.alias !== undefined) l.ifalias = aliasOf(ch.alias);
  if (ch.carrier !== undefined) l.carrier = ch.carrier;
  if (ch.protodown !== undefined) l.protoDown = ch.protodown;
  const group = num(ch.group, (s) => names.parseGroup(s));
  checkU32(group, "group", 0, 0xffffffff);
  if (group !== undefined) l.group = group;
  if (ch.mode !== undefined) {
    if (ch.mode !== "default" && ch.mode !== "dormant") throw new UsageError(`Invalid link mode "${ch.mode}": expected default or dormant`);
    l.linkmode = ch.mode === "default" ? 0 : 1;
  }
  if (ch.state !== undefined) {
    const s = OPERSTATES.indexOf(ch.state.toUpperCase());
    if (s < 0) throw new UsageError(`Invalid operstate "${ch.state}": expected ${OPERSTATES.join(", ").toLowerCase()}`);
    l.operstate = s;
  }
  if (ch.netns !== undefined) {
    if (typeof ch.netns === "number") {
      checkU32(ch.netns, "netns pid", 1, 0x7fffffff);
      l.netnsPid = ch.netns;
    } else if (typeof ch.netns === "object") l.netnsFd = ch.netns.fd;
    else throw new UsageError(`Namespace "${ch.netns}" must be opened first (Rtnl.setLink does)`);
  }
  return l;
}
