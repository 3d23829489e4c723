/**
 * Neighbours (RTM_NEWNEIGH / DELNEIGH / GETNEIGH): struct ndmsg + NDA_* attributes — the ARP
 * and NDISC caches, proxy entries (NTF_PROXY) and bridge FDB entries (AF_BRIDGE).
 *
 * @module
 */
import type { ByteWriter } from "../core/writer.ts";
import { NDA } from "./constants.ts";
import { decodeMessage, encodeMessage, messageSpec, u32Struct } from "./table.ts";

/** NDA_CACHEINFO (struct nda_cacheinfo): ages in clock ticks (1/100 s), reference count. */
export interface NeighCacheInfo {
  /** ndm_confirmed: ms since the entry was last confirmed. */
  confirmed: number;
  /** ndm_used: ms since the entry was last used. */
  used: number;
  /** ndm_updated: ms since the entry was last updated. */
  updated: number;
  /** ndm_refcnt: references held. */
  refcnt: number;
}

/** A neighbour entry as rtnetlink describes it. */
export interface Neighbour {
  /** AF_INET (ARP), AF_INET6 (NDISC), AF_BRIDGE (FDB). */
  family: number;
  /** Interface index (0 for a proxy entry on every device). */
  ifindex: number;
  /** NUD_* state bits (permanent 0x80, reachable 0x02, stale 0x04, …). */
  state: number;
  /** NTF_* flags (router 0x80, proxy 0x08, extern_learn 0x10, use 0x01, …). */
  flags: number;
  /** The neighbour's link-layer address type (ndm_type, an RTN_* value). */
  type: number;
  /** The protocol address (NDA_DST). */
  dst?: string;
  /** The link-layer address (NDA_LLADDR), colon-separated hex. */
  lladdr?: string;
  /** NDA_CACHEINFO: timers and reference count. */
  cacheInfo?: NeighCacheInfo;
  /** NDA_PROBES: probes sent. */
  probes?: number;
  /** NDA_VLAN (bridge fdb). */
  vlan?: number;
  /** NDA_PORT (vxlan fdb). */
  port?: number;
  /** NDA_VNI (vxlan fdb). */
  vni?: number;
  /** NDA_IFINDEX: also a dump filter in requests. */
  ifindexAttr?: number;
  /** NDA_MASTER: also a dump filter in requests. */
  master?: number;
  /** NDA_LINK_NETNSID. */
  linkNetnsId?: number;
  /** NDA_SRC_VNI. */
  srcVni?: number;
  /** Who added it (RTPROT_*). */
  protocol?: number;
  /** NDA_NH_ID: a nexthop object. */
  nhId?: number;
  /** NTF_EXT_* flags (managed 1, locked 2). */
  flagsExt?: number;
}

const cacheInfo = u32Struct("NDA_CACHEINFO", ["confirmed", "used", "updated", "refcnt"]);

/** The ndmsg table. Row order is the order iproute2 writes a request's attributes in. */
export const NEIGH_SPEC = messageSpec(
  "ndmsg",
  [["family", "u8"], ["", "pad8"], ["", "pad16"], ["ifindex", "s32"], ["state", "u16"], ["flags", "u8"], ["type", "u8"]],
  [
    [NDA.PROTOCOL, "protocol", "u8"],
    [NDA.DST, "dst", "addr"],
    [NDA.FLAGS_EXT, "flagsExt", "u32"],
    [NDA.LLADDR, "lladdr", "mac"],
    [NDA.CACHEINFO, "cacheInfo", cacheInfo],
    [NDA.PROBES, "probes", "u32"],
    [NDA.VLAN, "vlan", "u16"],
    [NDA.PORT, "port", "u16be"],
    [NDA.VNI, "vni", "u32"],
    [NDA.IFINDEX, "ifindexAttr", "u32"],
    [NDA.MASTER, "master", "u32"],
    [NDA.LINK_NETNSID, "linkNetnsId", "s32"],
    [NDA.SRC_VNI, "srcVni", "u32"],
    [NDA.NH_ID, "nhId", "u32"],
  ],
);

/**
 * Decodes an RTM_NEWNEIGH / DELNEIGH / GETNEIGH payload.
 *
 * @example
 * ```ts
 * import { decodeNeighbour, encodeNeighbour } from "./neigh.ts";
 * import { ByteWriter } from "../core/writer.ts";
 * const w = new ByteWriter();
 * encodeNeighbour(w, { family: 2, ifindex: 3, state: 0x80, flags: 0, type: 0, dst: "192.0.2.7", lladdr: "02:00:00:00:00:07" });
 * decodeNeighbour(w.finish()).lladdr; // "02:00:00:00:00:07"
 * ```
 */
export function decodeNeighbour(body: Uint8Array): Neighbour {
  return decodeMessage<Neighbour>(NEIGH_SPEC, body);
}

/**
 * Encodes a neighbour message payload (ndmsg + attributes) into `w`.
 *
 * @example
 * ```ts
 * import { ByteWriter } from "../core/writer.ts";
 * import { encodeNeighbour } from "./neigh.ts";
 * const w = new ByteWriter();
 * encodeNeighbour(w, { family: 2, ifindex: 3, state: 0x80, dst: "192.0.2.7" });
 * w.len; // 20: 12 bytes of ndmsg + an 8-byte NDA_DST
 * ```
 */
export function encodeNeighbour(w: ByteWriter, n: Readonly<Partial<Neighbour>>): void {
  encodeMessage(NEIGH_SPEC, w, n as Record<string, unknown>);
}
