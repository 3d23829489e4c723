/**
 * The registry of rtnetlink message types: for each kind of object, its nlmsg types, codec,
 * multicast groups and ip views. decodeRtnl, the monitor, and the golden and fuzz tests all
 * read it, so a new type is one codec file (route/), one view file (view/), its fixtures, and
 * one line here.
 *
 * @module
 */
import type { ByteWriter } from "./core/writer.ts";
import { type Address, decodeAddress, encodeAddress } from "./route/addr.ts";
import { RTM, RTNLGRP } from "./route/constants.ts";
import { linkToIpJson, linkToIpText } from "./view/link.ts";
import { addressToIpJson, addressToIpText } from "./view/addr.ts";
import { routeToIpJson, routeToIpText } from "./view/route.ts";
import { decodeLink, encodeLink, type Link } from "./route/link.ts";
import { decodeNeighbour, encodeNeighbour, type Neighbour } from "./route/neigh.ts";
import { decodeRoute, encodeRoute, type Route } from "./route/route.ts";
import { decodeRule, encodeRule, type Rule } from "./route/rule.ts";
import type { IpViewContext } from "./view/context.ts";
import { neighToIpJson, neighToIpText } from "./view/neigh.ts";
import { ruleToIpJson, ruleToIpText } from "./view/rule.ts";

/** One kind of rtnetlink object. */
export interface RtnlType<T> {
  /** Its nlmsg types: RTM_NEW*, RTM_DEL*, RTM_GET* (and RTM_SET* for links). */
  readonly messages: { readonly new: number; readonly del: number; readonly get: number; readonly set?: number };
  /** Decodes a message payload (the struct and its attributes) into an object. */
  decode(body: Uint8Array): T;
  /** Encodes an object into a message payload, writing into `w`. */
  encode(w: ByteWriter, v: Readonly<Partial<T>>): void;
  /** Multicast groups (RTNLGRP_*) that carry its notifications. */
  readonly groups: readonly number[];
  /** As `ip -j` prints it. */
  json(v: T, ctx?: IpViewContext): Record<string, unknown>;
  /** As ip prints it (one object, no trailing newline), where the text view exists. */
  text?(v: T, ctx?: IpViewContext): string;
}

function rtnlType<T>(t: RtnlType<T>): RtnlType<T> {
  return t;
}

/**
 * Every message type tunkit speaks, by kind.
 *
 * @example
 * ```ts
 * import { RTNL_TYPES } from "./registry.ts";
 * RTNL_TYPES.neighbour.messages.new; // 28 (RTM_NEWNEIGH)
 * Object.keys(RTNL_TYPES);           // ["link", "address", "route", "rule", "neighbour"]
 * ```
 */
export const RTNL_TYPES = {
  link: rtnlType<Link>({ messages: { new: RTM.NEWLINK, del: RTM.DELLINK, get: RTM.GETLINK, set: RTM.SETLINK }, decode: decodeLink, encode: encodeLink, groups: [RTNLGRP.LINK], json: linkToIpJson, text: linkToIpText }),
  address: rtnlType<Address>({ messages: { new: RTM.NEWADDR, del: RTM.DELADDR, get: RTM.GETADDR }, decode: decodeAddress, encode: encodeAddress, groups: [RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR], json: addressToIpJson, text: addressToIpText }),
  route: rtnlType<Route>({ messages: { new: RTM.NEWROUTE, del: RTM.DELROUTE, get: RTM.GETROUTE }, decode: decodeRoute, encode: encodeRoute, groups: [RTNLGRP.IPV4_ROUTE, RTNLGRP.IPV6_ROUTE], json: routeToIpJson, text: routeToIpText }),
  rule: rtnlType<Rule>({ messages: { new: RTM.NEWRULE, del: RTM.DELRULE, get: RTM.GETRULE }, decode: decodeRule, encode: encodeRule, groups: [RTNLGRP.IPV4_RULE, RTNLGRP.IPV6_RULE], json: ruleToIpJson, text: ruleToIpText }),
  neighbour: rtnlType<Neighbour>({ messages: { new: RTM.NEWNEIGH, del: RTM.DELNEIGH, get: RTM.GETNEIGH }, decode: decodeNeighbour, encode: encodeNeighbour, groups: [RTNLGRP.NEIGH], json: neighToIpJson, text: neighToIpText }),
} as const;

/** A kind of object: "link", "address", "route", "rule", "neighbour". */
export type RtnlKind = keyof typeof RTNL_TYPES;

/** The decoded object of a kind. */
export type RtnlObject<K extends RtnlKind> = (typeof RTNL_TYPES)[K] extends RtnlType<infer T> ? T : never;

/**
 * Every kind, in registry order.
 *
 * @example
 * ```ts
 * import { RTNL_KINDS } from "./registry.ts";
 * RTNL_KINDS.includes("neighbour"); // true
 * ```
 */
export const RTNL_KINDS = Object.keys(RTNL_TYPES) as RtnlKind[];

/** What an nlmsg type means: the kind and whether it is a new/del/get/set message. */
export interface RtnlMessageKind {
  /** Which kind of object the message carries. */
  kind: RtnlKind;
  /** What the message does with it. */
  action: "new" | "del" | "get" | "set";
}

const BY_TYPE = new Map<number, RtnlMessageKind>();
for (const kind of RTNL_KINDS) {
  const m = RTNL_TYPES[kind].messages;
  for (const action of ["new", "del", "get", "set"] as const) {
    const t = m[action];
    if (t !== undefined) BY_TYPE.set(t, { kind, action });
  }
}

/**
 * The kind and action of an nlmsg type, or undefined for types tunkit does not speak.
 *
 * @example
 * ```ts
 * import { rtnlKindOf } from "./registry.ts";
 * rtnlKindOf(29); // { kind: "neighbour", action: "del" }
 * ```
 */
export function rtnlKindOf(nlmsgType: number): RtnlMessageKind | undefined {
  return BY_TYPE.get(nlmsgType);
}

/**
 * The multicast groups that carry the given kinds' notifications (all kinds by default).
 *
 * @example
 * ```ts
 * import { groupsOf } from "./registry.ts";
 * groupsOf(["rule"]); // [8, 19] (RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE)
 * ```
 */
export function groupsOf(kinds: readonly RtnlKind[] = RTNL_KINDS): number[] {
  const out = new Set<number>();
  for (const k of kinds) for (const g of RTNL_TYPES[k].groups) out.add(g);
  return [...out];
}
