/**
 * Links (RTM_NEWLINK / DELLINK / GETLINK): struct ifinfomsg + IFLA_* attributes: names,
 * addresses, stats64, operstate, carrier, alias, and IFLA_LINKINFO (the kinds' data: see
 * linkinfo.ts).
 *
 * @module
 */
import type { ByteWriter } from "../core/writer.ts";
import { IFLA } from "./constants.ts";
import { type LinkInfo, linkInfoCodec } from "./linkinfo.ts";

export type { BridgeInfo, BridgePortInfo, LinkInfo, TunInfo, VethInfo, VlanFlags, VlanInfo, VxlanInfo } from "./linkinfo.ts";
import { type AttrCodec, decodeMessage, encodeMessage, messageSpec } from "./table.ts";

/** Counters of struct rtnl_link_stats64, by the kernel's field names. */
export interface LinkStats64 {
  /** Packets received. */
  rx_packets: number;
  /** Packets sent. */
  tx_packets: number;
  /** Bytes received. */
  rx_bytes: number;
  /** Bytes sent. */
  tx_bytes: number;
  /** Receive errors. */
  rx_errors: number;
  /** Transmit errors. */
  tx_errors: number;
  /** Received packets dropped (no buffer, filtered...). */
  rx_dropped: number;
  /** Packets dropped on transmit. */
  tx_dropped: number;
  /** Multicast packets received. */
  multicast: number;
  /** Collisions (half-duplex media). */
  collisions: number;
  /** The other counters of struct rtnl_link_stats64 the kernel sent (rx_crc_errors, rx_nohandler…). */
  [counter: string]: number;
}

const STATS64_FIELDS = [
  "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors", "rx_dropped",
  "tx_dropped", "multicast", "collisions", "rx_length_errors", "rx_over_errors", "rx_crc_errors",
  "rx_frame_errors", "rx_fifo_errors", "rx_missed_errors", "tx_aborted_errors",
  "tx_carrier_errors", "tx_fifo_errors", "tx_heartbeat_errors", "tx_window_errors",
  "rx_compressed", "tx_compressed", "rx_nohandler", "rx_otherhost_dropped",
] as const;

/** A link (network interface) as rtnetlink describes it. */
export interface Link {
  /** ifi_family (AF_UNSPEC for links). */
  family: number;
  /** ARPHRD_* link type (1 ether, 772 loopback, 65534 none). */
  type: number;
  /** The interface index (ifi_index). */
  ifindex: number;
  /**
   * The interface index, under its old name: always set on links tunkit decodes (a getter
   * that reads `ifindex`, not enumerable, so it does not show in `JSON.stringify`); an
   * encoder takes it when `ifindex` is missing.
   *
   * @deprecated Use {@link Link.ifindex}. `index` is kept for one release: removed after 0.2.
   */
  readonly index?: number;
  /** IFF_* flags. */
  flags: number;
  /** Which flags a request changes (ifi_change). */
  change: number;
  /** IFLA_IFNAME. */
  name?: string;
  /** IFLA_MTU. */
  mtu?: number;
  /** IFLA_TXQLEN: transmit queue length. */
  txqlen?: number;
  /** Link-layer address, "aa:bb:cc:dd:ee:ff". */
  address?: string;
  /** IFLA_BROADCAST: the link-layer broadcast address. */
  broadcast?: string;
  /** IFLA_PERM_ADDRESS: the hardware's permanent address. */
  permAddress?: string;
  /** IFLA_QDISC: the root queueing discipline. */
  qdisc?: string;
  /** Index of the master (bridge, bond). */
  master?: number;
  /** Index of the underlying or peer link (IFLA_LINK). */
  link?: number;
  /** IFLA_LINK_NETNSID: the namespace id of the peer/lower device. */
  linkNetnsId?: number;
  /** IF_OPER_* state. */
  operstate?: number;
  /** IFLA_LINKMODE (0 default, 1 dormant). */
  linkmode?: number;
  /** IFLA_GROUP: the device group. */
  group?: number;
  /** IFLA_PROMISCUITY: promiscuous mode users. */
  promiscuity?: number;
  /** IFLA_ALLMULTI: all-multicast users. */
  allmulti?: number;
  /** IFLA_CARRIER. */
  carrier?: boolean;
  /** IFLA_CARRIER_CHANGES. */
  carrierChanges?: number;
  /** IFLA_CARRIER_UP_COUNT. */
  carrierUpCount?: number;
  /** IFLA_CARRIER_DOWN_COUNT. */
  carrierDownCount?: number;
  /** IFLA_PROTO_DOWN. */
  protoDown?: boolean;
  /** IFLA_NUM_TX_QUEUES. */
  numTxQueues?: number;
  /** IFLA_NUM_RX_QUEUES. */
  numRxQueues?: number;
  /** IFLA_MIN_MTU. */
  minMtu?: number;
  /** IFLA_MAX_MTU. */
  maxMtu?: number;
  /** IFLA_GSO_MAX_SIZE. */
  gsoMaxSize?: number;
  /** IFLA_GSO_MAX_SEGS. */
  gsoMaxSegs?: number;
  /** IFLA_GRO_MAX_SIZE. */
  groMaxSize?: number;
  /** IFLA_TSO_MAX_SIZE. */
  tsoMaxSize?: number;
  /** IFLA_TSO_MAX_SEGS. */
  tsoMaxSegs?: number;
  /** IFLA_IFALIAS: the alias (`ip link set … alias`). */
  ifalias?: string;
  /** IFLA_PROP_LIST/IFLA_ALT_IFNAME: alternative names. */
  altNames?: string[];
  /** IFLA_STATS64: packet and byte counters. */
  stats64?: LinkStats64;
  /** IFLA_LINKINFO: the kind (tun, veth, vlan, vxlan, bridge…) and its data. */
  linkInfo?: LinkInfo;
  /** IPv6 address generation mode (IFLA_AF_SPEC > AF_INET6 > IFLA_INET6_ADDR_GEN_MODE): 0 eui64, 1 none, 2 stable_secret, 3 random. */
  inet6AddrGenMode?: number;
  /** IFLA_PARENT_DEV_NAME. */
  parentDevName?: string;
  /** IFLA_PARENT_DEV_BUS_NAME. */
  parentDevBusName?: string;
  /** Request-only: RTEXT_FILTER_* mask for GETLINK. */
  extMask?: number;
  /** Request-only: move the link into the namespace of this fd / pid. */
  netnsFd?: number;
  /** IFLA_NET_NS_PID (requests only: move the link to that process's namespace). */
  netnsPid?: number;
}

const stats64: AttrCodec<LinkStats64> = {
  decode(ad) {
    const p = ad.payload();
    const view = new DataView(p.buffer, p.byteOffset, p.byteLength);
    const out: Record<string, number> = {};
    const n = Math.min(STATS64_FIELDS.length, p.length >> 3);
    for (let i = 0; i < n; i++) {
      out[STATS64_FIELDS[i]!] = view.getUint32(i * 8, true) + view.getUint32(i * 8 + 4, true) * 0x100000000;
    }
    if (n < 10) ad.error(`Invalid IFLA_STATS64: ${p.length} bytes, expected at least 80`);
    return out as LinkStats64;
  },
  encode(ae, type, v) {
    const at = ae.begin(type);
    for (const f of STATS64_FIELDS) ae.w.u64(BigInt(v[f] ?? 0));
    ae.end(at);
  },
};

/** IFLA_IFALIAS: written without a NUL like ip, so that "" clears the alias. */
const alias: AttrCodec<string> = {
  decode: (ad) => ad.string(),
  encode: (ae, type, v) => ae.bytes(type, new TextEncoder().encode(v)),
};

/** IFLA_AF_SPEC: per-family link data; tunkit reads IPv6's address generation mode. */
const afSpec: AttrCodec<number | undefined> = {
  decode(ad) {
    let mode: number | undefined;
    ad.nested((c) => {
      while (c.next()) {
        if (c.type !== 10) continue;
        c.nested((i6) => {
          while (i6.next()) if (i6.type === 8) mode = i6.u8();
        });
      }
    });
    return mode;
  },
  encode(ae, type, v) {
    if (v === undefined) return;
    ae.nested(type, () => ae.nested(10, () => ae.u8(8, v)));
  },
};

/** IFLA_PROP_LIST: a nest of IFLA_ALT_IFNAME strings. */
const propList: AttrCodec<string[]> = {
  decode(ad) {
    const names: string[] = [];
    ad.nested((c) => {
      while (c.next()) if (c.type === IFLA.ALT_IFNAME) names.push(c.string());
    });
    return names;
  },
  encode(ae, type, v) {
    ae.nested(type, () => {
      for (const n of v) ae.string(IFLA.ALT_IFNAME, n);
    });
  },
};

/** The ifinfomsg table. Row order is the order a request's attributes are written in. */
export const LINK_SPEC = messageSpec(
  "ifinfomsg",
  [["family", "u8"], ["", "pad8"], ["type", "u16"], ["ifindex", "s32", "index"], ["flags", "u32"], ["change", "u32"]],
  [
    [IFLA.IFNAME, "name", "str"],
    [IFLA.TXQLEN, "txqlen", "u32"],
    [IFLA.OPERSTATE, "operstate", "u8"],
    [IFLA.LINKMODE, "linkmode", "u8"],
    [IFLA.MTU, "mtu", "u32"],
    [IFLA.MIN_MTU, "minMtu", "u32"],
    [IFLA.MAX_MTU, "maxMtu", "u32"],
    [IFLA.GROUP, "group", "u32"],
    [IFLA.PROMISCUITY, "promiscuity", "u32"],
    [IFLA.ALLMULTI, "allmulti", "u32"],
    [IFLA.NUM_TX_QUEUES, "numTxQueues", "u32"],
    [IFLA.GSO_MAX_SEGS, "gsoMaxSegs", "u32"],
    [IFLA.GSO_MAX_SIZE, "gsoMaxSize", "u32"],
    [IFLA.GRO_MAX_SIZE, "groMaxSize", "u32"],
    [IFLA.TSO_MAX_SIZE, "tsoMaxSize", "u32"],
    [IFLA.TSO_MAX_SEGS, "tsoMaxSegs", "u32"],
    [IFLA.NUM_RX_QUEUES, "numRxQueues", "u32"],
    [IFLA.CARRIER, "carrier", "bool8"],
    [IFLA.QDISC, "qdisc", "str"],
    [IFLA.CARRIER_CHANGES, "carrierChanges", "u32"],
    [IFLA.CARRIER_UP_COUNT, "carrierUpCount", "u32"],
    [IFLA.CARRIER_DOWN_COUNT, "carrierDownCount", "u32"],
    [IFLA.PROTO_DOWN, "protoDown", "bool8"],
    [IFLA.MASTER, "master", "u32"],
    [IFLA.LINK, "link", "u32"],
    [IFLA.LINK_NETNSID, "linkNetnsId", "s32"],
    [IFLA.ADDRESS, "address", "mac"],
    [IFLA.BROADCAST, "broadcast", "mac"],
    [IFLA.PERM_ADDRESS, "permAddress", "mac"],
    [IFLA.IFALIAS, "ifalias", alias],
    [IFLA.STATS64, "stats64", stats64],
    [IFLA.LINKINFO, "linkInfo", linkInfoCodec],
    [IFLA.PROP_LIST, "altNames", propList],
    [IFLA.AF_SPEC, "inet6AddrGenMode", afSpec],
    [IFLA.PARENT_DEV_NAME, "parentDevName", "str"],
    [IFLA.PARENT_DEV_BUS_NAME, "parentDevBusName", "str"],
    [IFLA.EXT_MASK, "extMask", "u32"],
    [IFLA.NET_NS_FD, "netnsFd", "u32"],
    [IFLA.NET_NS_PID, "netnsPid", "u32"],
  ],
);

/**
 * Decodes an RTM_NEWLINK / DELLINK payload.
 *
 * @example
 * ```ts
 * import { decodeLink, encodeLink } from "./link.ts";
 * import { ByteWriter } from "../core/writer.ts";
 * const w = new ByteWriter();
 * encodeLink(w, { family: 0, type: 1, ifindex: 3, flags: 1, change: 1, name: "tk0", mtu: 1400 });
 * decodeLink(w.finish()).mtu; // 1400
 * ```
 */
export function decodeLink(body: Uint8Array): Link {
  return decodeMessage<Link>(LINK_SPEC, body);
}

/** Encodes a link message payload (ifinfomsg + attributes) into `w`. */
export function encodeLink(w: ByteWriter, link: Readonly<Partial<Link>>): void {
  encodeMessage(LINK_SPEC, w, link as Record<string, unknown>);
}

