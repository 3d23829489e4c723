/**
 * Addresses (RTM_NEWADDR / DELADDR / GETADDR): struct ifaddrmsg + IFA_* attributes, IPv4 and
 * IPv6. IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer on point-to-point
 * links and equals IFA_LOCAL otherwise (iproute2's semantics).
 *
 * @module
 */
import type { ByteWriter } from "../core/writer.ts";
import { IFA } from "./constants.ts";
import { type AttrCodec, decodeMessage, encodeMessage, messageSpec, u32Struct } from "./table.ts";

/** IFA_CACHEINFO: lifetimes in seconds (0xffffffff = forever) and timestamps in 1/100 s. */
export interface AddressCacheInfo {
  /** Preferred lifetime left, in seconds (0xffffffff forever). */
  preferred: number;
  /** Valid lifetime left, in seconds (0xffffffff forever). */
  valid: number;
  /** When the address was created, in 1/100 s since boot. */
  created: number;
  /** When the address was last updated, in 1/100 s since boot. */
  updated: number;
}

/** An address as rtnetlink describes it. */
export interface Address {
  /** AF_INET (2) or AF_INET6 (10). */
  family: number;
  /** Prefix length (ifa_prefixlen). */
  prefixLen: number;
  /** IFA_F_* flags, all 32 bits (from IFA_FLAGS when present). */
  flags: number;
  /** RT_SCOPE_* scope. */
  scope: number;
  /** The interface index (ifa_index). */
  ifindex: number;
  /**
   * The interface index, under its old name: always set on addresses tunkit decodes (a getter
   * that reads `ifindex`, not enumerable, so it does not show in `JSON.stringify`); an
   * encoder takes it when `ifindex` is missing.
   *
   * @deprecated Use {@link Address.ifindex}. `index` is kept for one release: removed after 0.2.
   */
  readonly index?: number;
  /** The interface's own address (IFA_LOCAL). */
  local?: string;
  /** Peer on point-to-point links, else the same as `local` (IFA_ADDRESS). */
  address?: string;
  /** IFA_LABEL: the address label (`tun0:1`). */
  label?: string;
  /** IFA_BROADCAST. */
  broadcast?: string;
  /** IFA_ANYCAST. */
  anycast?: string;
  /** IFA_MULTICAST. */
  multicast?: string;
  /** IFA_CACHEINFO: lifetimes and timestamps. */
  cacheInfo?: AddressCacheInfo;
  /** Metric of the prefix route the kernel adds (IFA_RT_PRIORITY). */
  rtPriority?: number;
  /** IFA_PROTO: who added it. */
  proto?: number;
}

const cacheInfo = u32Struct("IFA_CACHEINFO", ["preferred", "valid", "created", "updated"]);

/** IFA_FLAGS: 32-bit flags; written only when they do not fit the header's 8 bits, like ip. */
const flags32: AttrCodec<number> = {
  decode: (ad) => ad.u32(),
  encode(ae, type, v) {
    if (v > 0xff) ae.u32(type, v);
  },
};

/** The ifaddrmsg table. */
export const ADDRESS_SPEC = messageSpec(
  "ifaddrmsg",
  [["family", "u8"], ["prefixLen", "u8"], ["flags", "u8"], ["scope", "u8"], ["ifindex", "u32", "index"]],
  [
    [IFA.LOCAL, "local", "addr"],
    [IFA.ADDRESS, "address", "addr"],
    [IFA.BROADCAST, "broadcast", "addr"],
    [IFA.ANYCAST, "anycast", "addr"],
    [IFA.MULTICAST, "multicast", "addr"],
    [IFA.LABEL, "label", "str"],
    [IFA.CACHEINFO, "cacheInfo", cacheInfo],
    [IFA.RT_PRIORITY, "rtPriority", "u32"],
    [IFA.PROTO, "proto", "u8"],
    [IFA.FLAGS, "flags", flags32],
  ],
);

/**
 * Decodes an RTM_NEWADDR / DELADDR payload.
 *
 * @example
 * ```ts
 * import { decodeAddress, encodeAddress } from "./addr.ts";
 * import { ByteWriter } from "../core/writer.ts";
 * const w = new ByteWriter();
 * encodeAddress(w, { family: 2, prefixLen: 24, flags: 0, scope: 0, ifindex: 2, local: "192.0.2.1", address: "192.0.2.1" });
 * decodeAddress(w.finish()).local; // "192.0.2.1"
 * ```
 */
export function decodeAddress(body: Uint8Array): Address {
  return decodeMessage<Address>(ADDRESS_SPEC, body);
}

/** Encodes an address message payload into `w`. */
export function encodeAddress(w: ByteWriter, a: Readonly<Partial<Address>>): void {
  encodeMessage(ADDRESS_SPEC, w, a as Record<string, unknown>);
}
