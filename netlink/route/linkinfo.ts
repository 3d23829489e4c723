/**
 * IFLA_LINKINFO: the driver kind of a link and its kind-specific data — tun/tap, veth (the
 * peer, on creation), vlan, vxlan, bridge — as one table of codecs by kind. Unknown kinds keep
 * their data as raw bytes. A new kind is one entry of {@link KIND_DATA}.
 *
 * @module
 */
import { AttributeDecoder, type AttributeEncoder } from "../core/attribute.ts";
import { IFLA_INFO, IFLA_TUN, VETH_INFO_PEER } from "./constants.ts";
import { decodeLink, encodeLink, type Link } from "./link.ts";
import { type AttrCodec, attrTable, decodeAttrs, encodeAttrs, u32Struct } from "./table.ts";

/** Info data of a tun/tap device (IFLA_INFO_DATA when kind is "tun"). */
export interface TunInfo {
  /** "tun" (IFF_TUN) or "tap" (IFF_TAP), or the raw number. */
  type?: "tun" | "tap" | number;
  /** IFLA_TUN_PI. */
  pi?: boolean;
  /** IFLA_TUN_VNET_HDR. */
  vnetHdr?: boolean;
  /** IFLA_TUN_PERSIST. */
  persist?: boolean;
  /** IFLA_TUN_MULTI_QUEUE. */
  multiQueue?: boolean;
  /** IFLA_TUN_NUM_QUEUES. */
  numQueues?: number;
  /** IFLA_TUN_NUM_DISABLED_QUEUES. */
  numDisabledQueues?: number;
  /** Owner uid, when set. */
  owner?: number;
  /** Group gid, when set. */
  group?: number;
}

/** A veth's peer, sent when creating the pair (VETH_INFO_PEER: an ifinfomsg + attributes). */
export interface VethInfo {
  /** The peer end: its name and settings (an ifinfomsg with attributes). */
  peer: Partial<Link>;
}

/** struct ifla_vlan_flags. */
export interface VlanFlags {
  /** VLAN_FLAG_* bits (reorder_hdr, gvrp, loose_binding, mvrp, bridge_binding). */
  flags: number;
  /** Which bits of `flags` the request sets. */
  mask: number;
}

/** A vlan device's data (IFLA_VLAN_*). */
export interface VlanInfo {
  /** IFLA_VLAN_ID: the VLAN id (0..4095). */
  id?: number;
  /** Ethertype: 0x8100 (802.1Q) or 0x88a8 (802.1ad). */
  protocol?: number;
  /** IFLA_VLAN_FLAGS. */
  flags?: VlanFlags;
  /** IFLA_VLAN_EGRESS_QOS. */
  egressQos?: Array<{ from: number; to: number }>;
  /** IFLA_VLAN_INGRESS_QOS. */
  ingressQos?: Array<{ from: number; to: number }>;
}

/** A vxlan device's data (IFLA_VXLAN_*). */
export interface VxlanInfo {
  /** IFLA_VXLAN_ID: the VNI. */
  id?: number;
  /** IFLA_VXLAN_GROUP. */
  group?: string;
  /** IFLA_VXLAN_GROUP6. */
  group6?: string;
  /** IFLA_VXLAN_LOCAL. */
  local?: string;
  /** IFLA_VXLAN_LOCAL6. */
  local6?: string;
  /** The underlying device's index (`dev`). */
  link?: number;
  /** IFLA_VXLAN_TTL. */
  ttl?: number;
  /** Non-zero: the TTL is inherited from the inner packet. */
  ttlInherit?: number;
  /** IFLA_VXLAN_TOS. */
  tos?: number;
  /** IFLA_VXLAN_DF. */
  df?: number;
  /** IFLA_VXLAN_LABEL. */
  label?: number;
  /** IFLA_VXLAN_LEARNING. */
  learning?: number;
  /** IFLA_VXLAN_AGEING. */
  ageing?: number;
  /** IFLA_VXLAN_LIMIT. */
  limit?: number;
  /** IFLA_VXLAN_PORT_RANGE. */
  portRange?: { low: number; high: number };
  /** IFLA_VXLAN_PROXY. */
  proxy?: number;
  /** IFLA_VXLAN_RSC. */
  rsc?: number;
  /** IFLA_VXLAN_L2MISS. */
  l2miss?: number;
  /** IFLA_VXLAN_L3MISS. */
  l3miss?: number;
  /** Destination UDP port (`dstport`). */
  port?: number;
  /** IFLA_VXLAN_UDP_CSUM. */
  udpCsum?: number;
  /** IFLA_VXLAN_UDP_ZERO_CSUM6_TX. */
  udpZeroCsum6Tx?: number;
  /** IFLA_VXLAN_UDP_ZERO_CSUM6_RX. */
  udpZeroCsum6Rx?: number;
  /** IFLA_VXLAN_REMCSUM_TX. */
  remcsumTx?: number;
  /** IFLA_VXLAN_REMCSUM_RX. */
  remcsumRx?: number;
  /** IFLA_VXLAN_GBP. */
  gbp?: boolean;
  /** IFLA_VXLAN_REMCSUM_NOPARTIAL. */
  remcsumNopartial?: boolean;
  /** IFLA_VXLAN_COLLECT_METADATA. */
  collectMetadata?: number;
  /** IFLA_VXLAN_GPE. */
  gpe?: boolean;
  /** IFLA_VXLAN_VNIFILTER. */
  vnifilter?: number;
  /** IFLA_VXLAN_LOCALBYPASS. */
  localbypass?: number;
}

/** A bridge's data (IFLA_BR_*), by iproute2's names where the kernel's are long. */
export type BridgeInfo = Record<string, number | bigint | string | boolean | { prio: number; addr: string } | { optval: number; optmask: number }>;

/** A bridge port's data (IFLA_INFO_SLAVE_DATA when the master is a bridge: IFLA_BRPORT_*). */
export interface BridgePortInfo {
  /** IFLA_BRPORT_STATE: STP state (0 disabled … 4 blocking). */
  state?: number;
  /** IFLA_BRPORT_PRIORITY: STP port priority. */
  priority?: number;
  /** IFLA_BRPORT_COST: STP path cost. */
  cost?: number;
  /** IFLA_BRPORT_MODE: `hairpin`. */
  mode?: number;
  /** IFLA_BRPORT_GUARD: `guard` (BPDU guard). */
  guard?: number;
  /** IFLA_BRPORT_PROTECT: `root_block`. */
  protect?: number;
  /** IFLA_BRPORT_FAST_LEAVE. */
  fastLeave?: number;
  /** IFLA_BRPORT_LEARNING. */
  learning?: number;
  /** IFLA_BRPORT_UNICAST_FLOOD. */
  unicastFlood?: number;
  /** IFLA_BRPORT_PROXYARP: `proxy_arp`. */
  proxyArp?: number;
  /** IFLA_BRPORT_LEARNING_SYNC. */
  learningSync?: number;
  /** IFLA_BRPORT_PROXYARP_WIFI: `proxy_arp_wifi`. */
  proxyArpWifi?: number;
  /** IFLA_BRPORT_ROOT_ID. */
  rootId?: { prio: number; addr: string };
  /** IFLA_BRPORT_BRIDGE_ID. */
  bridgeId?: { prio: number; addr: string };
  /** IFLA_BRPORT_DESIGNATED_PORT. */
  designatedPort?: number;
  /** IFLA_BRPORT_DESIGNATED_COST. */
  designatedCost?: number;
  /** IFLA_BRPORT_ID: the port id. */
  id?: number;
  /** IFLA_BRPORT_NO: the port number. */
  no?: number;
  /** IFLA_BRPORT_TOPOLOGY_CHANGE_ACK. */
  topologyChangeAck?: number;
  /** IFLA_BRPORT_CONFIG_PENDING. */
  configPending?: number;
  /** IFLA_BRPORT_MESSAGE_AGE_TIMER. */
  messageAgeTimer?: bigint;
  /** IFLA_BRPORT_FORWARD_DELAY_TIMER. */
  forwardDelayTimer?: bigint;
  /** IFLA_BRPORT_HOLD_TIMER. */
  holdTimer?: bigint;
  /** IFLA_BRPORT_MULTICAST_ROUTER. */
  multicastRouter?: number;
  /** IFLA_BRPORT_MCAST_FLOOD. */
  mcastFlood?: number;
  /** IFLA_BRPORT_MCAST_TO_UCAST. */
  mcastToUcast?: number;
  /** IFLA_BRPORT_VLAN_TUNNEL. */
  vlanTunnel?: number;
  /** IFLA_BRPORT_BCAST_FLOOD. */
  bcastFlood?: number;
  /** IFLA_BRPORT_GROUP_FWD_MASK. */
  groupFwdMask?: number;
  /** IFLA_BRPORT_NEIGH_SUPPRESS. */
  neighSuppress?: number;
  /** IFLA_BRPORT_ISOLATED. */
  isolated?: number;
  /** IFLA_BRPORT_BACKUP_PORT. */
  backupPort?: number;
  /** IFLA_BRPORT_LOCKED. */
  locked?: number;
}

/** IFLA_LINKINFO: the driver kind and its data. */
export interface LinkInfo {
  /** "tun", "veth", "bridge", "dummy", "vlan", "vxlan", … */
  kind?: string;
  /** Decoded for tun, vlan, vxlan and bridge; `{ peer }` when creating a veth; raw bytes for other kinds. */
  data?: TunInfo | VethInfo | VlanInfo | VxlanInfo | BridgeInfo | Uint8Array;
  /** Kind of the master this link is enslaved to ("bridge", "bond"). */
  slaveKind?: string;
  /** IFLA_INFO_SLAVE_DATA: decoded for bridge ports, raw bytes otherwise. */
  slaveData?: BridgePortInfo | Uint8Array;
}

/** How one kind's IFLA_INFO_DATA is read and written. */
export interface KindCodec {
  /** Reads IFLA_INFO_DATA's attributes into the kind's object. */
  decode(ad: AttributeDecoder): unknown;
  /** Writes the kind's object as IFLA_INFO_DATA attributes. */
  encode(ae: AttributeEncoder, data: unknown): void;
}

const TUN_TYPES: Record<number, "tun" | "tap"> = { 1: "tun", 2: "tap" };

const tun: KindCodec = {
  decode(ad) {
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
  },
  encode(ae, data) {
    const t = data as TunInfo;
    if (t.type !== undefined) ae.u8(IFLA_TUN.TYPE, t.type === "tun" ? 1 : t.type === "tap" ? 2 : t.type);
    if (t.pi !== undefined) ae.u8(IFLA_TUN.PI, t.pi ? 1 : 0);
    if (t.vnetHdr !== undefined) ae.u8(IFLA_TUN.VNET_HDR, t.vnetHdr ? 1 : 0);
    if (t.persist !== undefined) ae.u8(IFLA_TUN.PERSIST, t.persist ? 1 : 0);
    if (t.multiQueue !== undefined) ae.u8(IFLA_TUN.MULTI_QUEUE, t.multiQueue ? 1 : 0);
    if (t.owner !== undefined) ae.u32(IFLA_TUN.OWNER, t.owner);
    if (t.group !== undefined) ae.u32(IFLA_TUN.GROUP, t.group);
  },
};

const veth: KindCodec = {
  decode(ad) {
    // Only requests carry it (the kernel's dumps have no veth data): the peer's ifinfomsg + attributes.
    let peer: Partial<Link> | undefined;
    while (ad.next()) {
      if (ad.type !== VETH_INFO_PEER) continue;
      try {
        peer = decodeLink(ad.payload());
      } catch (e) {
        ad.error(`Invalid VETH_INFO_PEER: ${(e as Error).message}`);
      }
    }
    return peer ? { peer } : {};
  },
  encode(ae, data) {
    if (data instanceof Uint8Array || !(data as VethInfo).peer) return;
    const p = ae.begin(VETH_INFO_PEER);
    encodeLink(ae.w, { family: 0, type: 0, ifindex: 0, flags: 0, change: 0, ...(data as VethInfo).peer });
    ae.end(p);
  },
};


const qosMap: AttrCodec<Array<{ from: number; to: number }>> = {
  decode(ad) {
    const out: Array<{ from: number; to: number }> = [];
    const m = u32Struct("IFLA_VLAN_QOS_MAPPING", ["from", "to"]);
    ad.nested((c) => {
      while (c.next()) if (c.type === 1) out.push(m.decode(c));
    });
    return out;
  },
  encode(ae, type, v) {
    const m = u32Struct("IFLA_VLAN_QOS_MAPPING", ["from", "to"]);
    ae.nested(type, () => {
      for (const x of v) m.encode(ae, 1, x);
    });
  },
};

const VLAN = attrTable([
  [5, "protocol", "u16be"],
  [1, "id", "u16"],
  [2, "flags", u32Struct("IFLA_VLAN_FLAGS", ["flags", "mask"])],
  [3, "egressQos", qosMap],
  [4, "ingressQos", qosMap],
]);

const portRange: AttrCodec<{ low: number; high: number }> = {
  decode(ad) {
    const p = ad.payload();
    if (p.length < 4) {
      ad.error(`Invalid IFLA_VXLAN_PORT_RANGE: ${p.length} bytes, expected 4`);
      return { low: 0, high: 0 };
    }
    return { low: (p[0]! << 8) | p[1]!, high: (p[2]! << 8) | p[3]! };
  },
  encode(ae, type, v) {
    ae.bytes(type, Uint8Array.of(v.low >> 8, v.low & 255, v.high >> 8, v.high & 255));
  },
};

const be32: AttrCodec<number> = {
  decode: (ad) => {
    const p = ad.payload();
    if (p.length !== 4) {
      ad.error(`Invalid 32-bit attribute ${ad.type}: ${p.length} bytes`);
      return 0;
    }
    return new DataView(p.buffer, p.byteOffset, 4).getUint32(0, false);
  },
  encode: (ae, type, v) => ae.bytes(type, Uint8Array.of(v >>> 24, (v >> 16) & 255, (v >> 8) & 255, v & 255)),
};

/** Sent as a flag (NLA_FLAG), reported as a u8 by the kernel; 0 reads as absent. */
const flagU8: AttrCodec<number | undefined> = {
  decode: (ad) => (ad.length === 0 ? 1 : ad.u8() || undefined),
  encode(ae, type, v) {
    if (v) ae.flag(type);
  },
};

/** IFLA_VXLAN_* in the order ip writes them on creation (id, addresses, then the rest). */
const VXLAN = attrTable([
  [3, "link", "u32"],
  [5, "ttl", "u8"],
  [28, "ttlInherit", flagU8],
  [6, "tos", "u8"],
  [29, "df", "u8"],
  [26, "label", be32],
  [8, "ageing", "u32"],
  [9, "limit", "u32"],
  [10, "portRange", portRange],
  [11, "proxy", "u8"],
  [12, "rsc", "u8"],
  [13, "l2miss", "u8"],
  [14, "l3miss", "u8"],
  [18, "udpCsum", "u8"],
  [19, "udpZeroCsum6Tx", "u8"],
  [20, "udpZeroCsum6Rx", "u8"],
  [21, "remcsumTx", "u8"],
  [22, "remcsumRx", "u8"],
  [23, "gbp", "flag"],
  [24, "remcsumNopartial", "flag"],
  [25, "collectMetadata", "u8"],
  [27, "gpe", "flag"],
  [30, "vnifilter", "u8"],
  [31, "localbypass", "u8"],
  [1, "id", "u32"],
  [4, "local", "addr"],
  [17, "local6", "addr"],
  [2, "group", "addr"],
  [16, "group6", "addr"],
  [7, "learning", "u8"],
  [15, "port", "u16be"],
]);

const bridgeId: AttrCodec<{ prio: number; addr: string }> = {
  decode(ad) {
    const p = ad.payload();
    if (p.length < 8) {
      ad.error(`Invalid struct ifla_bridge_id: ${p.length} bytes, expected 8`);
      return { prio: 0, addr: "" };
    }
    const hex = (b: number) => b.toString(16).padStart(2, "0");
    return { prio: (p[0]! << 8) | p[1]!, addr: Array.from(p.subarray(2, 8), hex).join(":") };
  },
  encode(ae, type, v) {
    const b = new Uint8Array(8);
    b[0] = v.prio >> 8;
    b[1] = v.prio & 255;
    v.addr.split(":").forEach((x, i) => (b[2 + i] = parseInt(x, 16)));
    ae.bytes(type, b);
  },
};

/** IFLA_BR_*. */
const BRIDGE = attrTable([
  [1, "forwardDelay", "u32"], [2, "helloTime", "u32"], [3, "maxAge", "u32"], [4, "ageingTime", "u32"],
  [5, "stpState", "u32"], [6, "priority", "u16"], [7, "vlanFiltering", "u8"], [8, "vlanProtocol", "u16be"],
  [9, "groupFwdMask", "u16"], [10, "rootId", bridgeId], [11, "bridgeId", bridgeId], [12, "rootPort", "u16"],
  [13, "rootPathCost", "u32"], [14, "topologyChange", "u8"], [15, "topologyChangeDetected", "u8"],
  [16, "helloTimer", "u64"], [17, "tcnTimer", "u64"], [18, "topologyChangeTimer", "u64"], [19, "gcTimer", "u64"],
  [20, "groupAddr", "mac"], [21, "fdbFlush", "flag"], [22, "mcastRouter", "u8"], [23, "mcastSnooping", "u8"],
  [24, "mcastQueryUseIfaddr", "u8"], [25, "mcastQuerier", "u8"], [26, "mcastHashElasticity", "u32"],
  [27, "mcastHashMax", "u32"], [28, "mcastLastMemberCnt", "u32"], [29, "mcastStartupQueryCnt", "u32"],
  [30, "mcastLastMemberIntvl", "u64"], [31, "mcastMembershipIntvl", "u64"], [32, "mcastQuerierIntvl", "u64"],
  [33, "mcastQueryIntvl", "u64"], [34, "mcastQueryResponseIntvl", "u64"], [35, "mcastStartupQueryIntvl", "u64"],
  [36, "nfCallIptables", "u8"], [37, "nfCallIp6tables", "u8"], [38, "nfCallArptables", "u8"],
  [39, "vlanDefaultPvid", "u16"], [41, "vlanStatsEnabled", "u8"], [42, "mcastStatsEnabled", "u8"],
  [43, "mcastIgmpVersion", "u8"], [44, "mcastMldVersion", "u8"], [45, "vlanStatsPerPort", "u8"],
  [46, "multiBoolopt", u32Struct("IFLA_BR_MULTI_BOOLOPT", ["optval", "optmask"])],
  [48, "fdbNLearned", "u32"], [49, "fdbMaxLearned", "u32"],
]);

function tableKind(t: ReturnType<typeof attrTable>): KindCodec {
  return {
    decode(ad) {
      const out: Record<string, unknown> = {};
      decodeAttrs(ad, t, out);
      return out;
    },
    encode(ae, data) {
      encodeAttrs(ae, t, data as Record<string, unknown>);
    },
  };
}

/** IFLA_BRPORT_*. */
const BRIDGE_PORT = attrTable([
  [1, "state", "u8"], [2, "priority", "u16"], [3, "cost", "u32"], [4, "mode", "u8"], [5, "guard", "u8"],
  [6, "protect", "u8"], [7, "fastLeave", "u8"], [8, "learning", "u8"], [9, "unicastFlood", "u8"], [10, "proxyArp", "u8"],
  [11, "learningSync", "u8"], [12, "proxyArpWifi", "u8"], [13, "rootId", bridgeId], [14, "bridgeId", bridgeId],
  [15, "designatedPort", "u16"], [16, "designatedCost", "u16"], [17, "id", "u16"], [18, "no", "u16"],
  [19, "topologyChangeAck", "u8"], [20, "configPending", "u8"], [21, "messageAgeTimer", "u64"],
  [22, "forwardDelayTimer", "u64"], [23, "holdTimer", "u64"], [25, "multicastRouter", "u8"], [27, "mcastFlood", "u8"],
  [28, "mcastToUcast", "u8"], [29, "vlanTunnel", "u8"], [30, "bcastFlood", "u8"], [31, "groupFwdMask", "u16"],
  [32, "neighSuppress", "u8"], [33, "isolated", "u8"], [34, "backupPort", "u32"], [39, "locked", "u8"],
]);

/**
 * The kinds of master whose IFLA_INFO_SLAVE_DATA tunkit reads and writes (others stay raw).
 *
 * @example
 * ```ts
 * import { SLAVE_KIND_DATA } from "./linkinfo.ts";
 * Object.keys(SLAVE_KIND_DATA); // ["bridge"]
 * ```
 */
export const SLAVE_KIND_DATA: Readonly<Record<string, KindCodec>> = { bridge: tableKind(BRIDGE_PORT) };

/**
 * The kinds whose IFLA_INFO_DATA tunkit reads and writes (others stay raw bytes).
 *
 * @example
 * ```ts
 * import { KIND_DATA } from "./linkinfo.ts";
 * Object.keys(KIND_DATA); // ["tun", "veth", "vlan", "vxlan", "bridge"]
 * ```
 */
export const KIND_DATA: Readonly<Record<string, KindCodec>> = {
  tun,
  veth,
  vlan: tableKind(VLAN),
  vxlan: tableKind(VXLAN),
  bridge: tableKind(BRIDGE),
};

/**
 * The IFLA_LINKINFO codec (a row of the link table; see {@link KIND_DATA} for the kinds).
 *
 * @example
 * ```ts
 * import { AttributeEncoder } from "../core/attribute.ts";
 * import { linkInfoCodec } from "./linkinfo.ts";
 * const ae = new AttributeEncoder();
 * linkInfoCodec.encode(ae, 18, { kind: "vxlan", data: { id: 42, port: 4789 } });
 * ae.w.len > 0; // true
 * ```
 */
export const linkInfoCodec: AttrCodec<LinkInfo> = {
  decode(ad) {
    const info: LinkInfo = {};
    let data: Uint8Array | undefined;
    let dataBase = 0;
    let slave: Uint8Array | undefined;
    let slaveBase = 0;
    ad.nested((c) => {
      while (c.next()) {
        if (c.type === IFLA_INFO.KIND) info.kind = c.string();
        else if (c.type === IFLA_INFO.SLAVE_KIND) info.slaveKind = c.string();
        else if (c.type === IFLA_INFO.DATA) {
          data = c.payload();
          dataBase = c.offset;
        } else if (c.type === IFLA_INFO.SLAVE_DATA) {
          slave = c.payload();
          slaveBase = c.offset;
        }
      }
    });
    if (slave) {
      const k = info.slaveKind === undefined ? undefined : SLAVE_KIND_DATA[info.slaveKind];
      if (k) {
        const c = new AttributeDecoder(slave, slaveBase);
        info.slaveData = k.decode(c) as BridgePortInfo;
        if (c.err) ad.error(c.err.message);
      } else info.slaveData = slave.slice();
    }
    if (data) {
      const k = info.kind === undefined ? undefined : KIND_DATA[info.kind];
      if (k) {
        const c = new AttributeDecoder(data, dataBase);
        info.data = k.decode(c) as LinkInfo["data"];
        if (c.err) ad.error(c.err.message);
      } else {
        info.data = data.slice();
      }
    }
    return info;
  },
  encode(ae, type, v) {
    const at = ae.begin(type);
    // ip writes the kind without its NUL (strlen); the kernel takes both.
    if (v.kind !== undefined) ae.bytes(IFLA_INFO.KIND, new TextEncoder().encode(v.kind));
    if (v.data instanceof Uint8Array) ae.bytes(IFLA_INFO.DATA, v.data);
    else if (v.data) {
      const k = (v.kind !== undefined ? KIND_DATA[v.kind] : undefined) ?? ("peer" in v.data ? veth : tun);
      const d = ae.begin(IFLA_INFO.DATA);
      k.encode(ae, v.data);
      ae.end(d);
    }
    if (v.slaveKind !== undefined) ae.string(IFLA_INFO.SLAVE_KIND, v.slaveKind);
    if (v.slaveData instanceof Uint8Array) ae.bytes(IFLA_INFO.SLAVE_DATA, v.slaveData);
    else if (v.slaveData) {
      const k = v.slaveKind !== undefined ? SLAVE_KIND_DATA[v.slaveKind] : undefined;
      if (k) {
        const d = ae.begin(IFLA_INFO.SLAVE_DATA);
        k.encode(ae, v.slaveData);
        ae.end(d);
      }
    }
    ae.end(at);
  },
};
