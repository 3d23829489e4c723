/**
 * Links (RTM_NEWLINK / DELLINK / GETLINK): struct ifinfomsg + IFLA_* attributes, including
 * IFLA_LINKINFO with the tun/tap driver's info data, stats64, operstate and carrier.
 *
 * @module
 */
import { AttributeDecoder } from "../core/attribute.ts";
import type { ByteWriter } from "../core/writer.ts";
import { IFLA, IFLA_INFO, IFLA_TUN, VETH_INFO_PEER } from "./constants.ts";
import { type AttrCodec, decodeMessage, encodeMessage, messageSpec } from "./table.ts";

/** Counters of struct rtnl_link_stats64, by the kernel's field names. */
export interface LinkStats64 {
  rx_packets: number; tx_packets: number; rx_bytes: number; tx_bytes: number;
  rx_errors: number; tx_errors: number; rx_dropped: number; tx_dropped: number;
  multicast: number; collisions: number;
  [counter: string]: number;
}

const STATS64_FIELDS = [
  "rx_packets", "tx_packets", "rx_bytes", "tx_bytes", "rx_errors", "tx_errors", "rx_dropped",
  "tx_dropped", "multicast", "collisions", "rx_length_errors", "rx_over_errors", "rx_crc_errors",
  "rx_frame_errors", "rx_fifo_errors", "rx_missed_errors", "tx_aborted_errors",
  "tx_carrier_errors", "tx_fifo_errors", "tx_heartbeat_errors", "tx_window_errors",
  "rx_compressed", "tx_compressed", "rx_nohandler", "rx_otherhost_dropped",
] as const;

/** Info data of a tun/tap device (IFLA_INFO_DATA when kind is "tun"). */
export interface TunInfo {
  /** "tun" (IFF_TUN) or "tap" (IFF_TAP), or the raw number. */
  type?: "tun" | "tap" | number;
  pi?: boolean;
  vnetHdr?: boolean;
  persist?: boolean;
  multiQueue?: boolean;
  numQueues?: number;
  numDisabledQueues?: number;
  /** Owner uid, when set. */
  owner?: number;
  /** Group gid, when set. */
  group?: number;
}

/** IFLA_LINKINFO: the driver kind and its data. */
export interface LinkInfo {
  /** "tun", "veth", "bridge", "dummy", … */
  kind?: string;
  /** Decoded for tun; `{ peer }` when creating a veth; raw bytes for other kinds. */
  data?: TunInfo | { peer: Partial<Link> } | Uint8Array;
  /** Kind of the master this link is enslaved to ("bridge", "bond"). */
  slaveKind?: string;
}

/** A link (network interface) as rtnetlink describes it. */
export interface Link {
  family: number;
  /** ARPHRD_* link type (1 ether, 772 loopback, 65534 none). */
  type: number;
  index: number;
  /** IFF_* flags. */
  flags: number;
  /** Which flags a request changes (ifi_change). */
  change: number;
  name?: string;
  mtu?: number;
  txqlen?: number;
  /** Link-layer address, "aa:bb:cc:dd:ee:ff". */
  address?: string;
  broadcast?: string;
  permAddress?: string;
  qdisc?: string;
  /** Index of the master (bridge, bond). */
  master?: number;
  /** Index of the underlying or peer link (IFLA_LINK). */
  link?: number;
  linkNetnsId?: number;
  /** IF_OPER_* state. */
  operstate?: number;
  linkmode?: number;
  group?: number;
  promiscuity?: number;
  allmulti?: number;
  carrier?: boolean;
  carrierChanges?: number;
  carrierUpCount?: number;
  carrierDownCount?: number;
  protoDown?: boolean;
  numTxQueues?: number;
  numRxQueues?: number;
  minMtu?: number;
  maxMtu?: number;
  gsoMaxSize?: number;
  gsoMaxSegs?: number;
  groMaxSize?: number;
  tsoMaxSize?: number;
  tsoMaxSegs?: number;
  ifalias?: string;
  altNames?: string[];
  stats64?: LinkStats64;
  linkInfo?: LinkInfo;
  /** Request-only: RTEXT_FILTER_* mask for GETLINK. */
  extMask?: number;
  /** Request-only: move the link into the namespace of this fd / pid. */
  netnsFd?: number;
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

const TUN_TYPES: Record<number, "tun" | "tap"> = { 1: "tun", 2: "tap" };

function decodeTunInfo(ad: AttributeDecoder): TunInfo {
  const t: TunInfo = {};
  while (ad.next()) {
    switch (ad.type) {
      case IFLA_TUN.TYPE: {
        const n = ad.u8();
        t.type = TUN_TYPES[n] ?? n;
        break;
      }
      case IFLA_TUN.PI: t.pi = ad.u8() !== 0; break;
      case IFLA_TUN.VNET_HDR: t.vnetHdr = ad.u8() !== 0; break;
      case IFLA_TUN.PERSIST: t.persist = ad.u8() !== 0; break;
      case IFLA_TUN.MULTI_QUEUE: t.multiQueue = ad.u8() !== 0; break;
      case IFLA_TUN.NUM_QUEUES: t.numQueues = ad.u32(); break;
      case IFLA_TUN.NUM_DISABLED_QUEUES: t.numDisabledQueues = ad.u32(); break;
      case IFLA_TUN.OWNER: t.owner = ad.u32(); break;
      case IFLA_TUN.GROUP: t.group = ad.u32(); break;
    }
  }
  return t;
}

const linkInfo: AttrCodec<LinkInfo> = {
  decode(ad) {
    const info: LinkInfo = {};
    let data: Uint8Array | undefined;
    let dataBase = 0;
    ad.nested((c) => {
      while (c.next()) {
        if (c.type === IFLA_INFO.KIND) info.kind = c.string();
        else if (c.type === IFLA_INFO.SLAVE_KIND) info.slaveKind = c.string();
        else if (c.type === IFLA_INFO.DATA) {
          data = c.payload();
          dataBase = c.offset;
        }
      }
    });
    if (data) {
      if (info.kind === "tun") {
        const c = new AttributeDecoder(data, dataBase);
        info.data = decodeTunInfo(c);
        if (c.err) ad.error(c.err.message);
      } else {
        info.data = data.slice();
      }
    }
    return info;
  },
  encode(ae, type, v) {
    const at = ae.begin(type);
    if (v.kind !== undefined) ae.string(IFLA_INFO.KIND, v.kind);
    if (v.data instanceof Uint8Array) ae.bytes(IFLA_INFO.DATA, v.data);
    else if (v.data && "peer" in v.data) {
      const d = ae.begin(IFLA_INFO.DATA);
      const p = ae.begin(VETH_INFO_PEER);
      encodeLink(ae.w, { family: 0, type: 0, index: 0, flags: 0, change: 0, ...v.data.peer });
      ae.end(p);
      ae.end(d);
    } else if (v.data) {
      const t = v.data as TunInfo;
      const d = ae.begin(IFLA_INFO.DATA);
      if (t.type !== undefined) ae.u8(IFLA_TUN.TYPE, t.type === "tun" ? 1 : t.type === "tap" ? 2 : t.type);
      if (t.pi !== undefined) ae.u8(IFLA_TUN.PI, t.pi ? 1 : 0);
      if (t.vnetHdr !== undefined) ae.u8(IFLA_TUN.VNET_HDR, t.vnetHdr ? 1 : 0);
      if (t.persist !== undefined) ae.u8(IFLA_TUN.PERSIST, t.persist ? 1 : 0);
      if (t.multiQueue !== undefined) ae.u8(IFLA_TUN.MULTI_QUEUE, t.multiQueue ? 1 : 0);
      if (t.owner !== undefined) ae.u32(IFLA_TUN.OWNER, t.owner);
      if (t.group !== undefined) ae.u32(IFLA_TUN.GROUP, t.group);
      ae.end(d);
    }
    if (v.slaveKind !== undefined) ae.string(IFLA_INFO.SLAVE_KIND, v.slaveKind);
    ae.end(at);
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
  [["family", "u8"], ["", "pad8"], ["type", "u16"], ["index", "s32"], ["flags", "u32"], ["change", "u32"]],
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
    [IFLA.IFALIAS, "ifalias", "str"],
    [IFLA.STATS64, "stats64", stats64],
    [IFLA.LINKINFO, "linkInfo", linkInfo],
    [IFLA.PROP_LIST, "altNames", propList],
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
 * encodeLink(w, { family: 0, type: 1, index: 3, flags: 1, change: 1, name: "tk0", mtu: 1400 });
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

