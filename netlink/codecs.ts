/**
 * The registry's wire half: for each kind of rtnetlink object, its nlmsg types, codec and
 * multicast groups, without the ip views. The monitor needs only this (a `route add` that
 * loads the monitor's module then loads no text or JSON view); registry.ts adds the views to
 * each kind and re-exports what is here, so `RTNL_TYPES` stays the one table a new type is
 * added to (with its codec here).
 *
 * @module
 */
import type { ByteWriter } from "./core/writer.ts";
import { type Address, decodeAddress, encodeAddress } from "./route/addr.ts";
import { RTM, RTNLGRP } from "./route/constants.ts";
import { decodeLink, encodeLink, type Link } from "./route/link.ts";
import { decodeNeighbour, encodeNeighbour, type Neighbour } from "./route/neigh.ts";
import { decodeRoute, encodeRoute, type Route } from "./route/route.ts";
import { decodeRule, encodeRule, type Rule } from "./route/rule.ts";

/** One kind of rtnetlink object on the wire: its messages, codec and groups. */
export interface RtnlCodec<T> {
  /** Its nlmsg types: RTM_NEW*, RTM_DEL*, RTM_GET* (and RTM_SET* for links). */
  readonly messages: { readonly new: number; readonly del: number; readonly get: number; readonly set?: number };
  /** Decodes a message payload (the struct and its attributes) into an object. */
  decode(body: Uint8Array): T;
  /** Encodes an object into a message payload, writing into `w`. */
  encode(w: ByteWriter, v: Readonly<Partial<T>>): void;
  /** Multicast groups (RTNLGRP_*) that carry its notifications. */
  readonly groups: readonly number[];
}

/** A kind of object: "link", "address", "route", "rule", "neighbour". */
export type RtnlKind = "link" | "address" | "route" | "rule" | "neighbour";

/** The decoded object of a kind. */
export type RtnlObject<K extends RtnlKind> = { link: Link; address: Address; route: Route; rule: Rule; neighbour: Neighbour }[K];

function codec<T>(c: RtnlCodec<T>): RtnlCodec<T> {
  return c;
}

/**
 * The wire side of every kind tunkit speaks (registry.ts's `RTNL_TYPES` without the views).
 *
 * @example
 * ```ts
 * import { RTNL_CODECS } from "./codecs.ts";
 * RTNL_CODECS.neighbour.messages.new; // 28
 * ```
 */
export const RTNL_CODECS: { readonly [K in RtnlKind]: RtnlCodec<RtnlObject<K>> } = {
  link: codec<Link>({ messages: { new: RTM.NEWLINK, del: RTM.DELLINK, get: RTM.GETLINK, set: RTM.SETLINK }, decode: decodeLink, encode: encodeLink, groups: [RTNLGRP.LINK] }),
  address: codec<Address>({ messages: { new: RTM.NEWADDR, del: RTM.DELADDR, get: RTM.GETADDR }, decode: decodeAddress, encode: encodeAddress, groups: [RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR] }),
  route: codec<Route>({ messages: { new: RTM.NEWROUTE, del: RTM.DELROUTE, get: RTM.GETROUTE }, decode: decodeRoute, encode: encodeRoute, groups: [RTNLGRP.IPV4_ROUTE, RTNLGRP.IPV6_ROUTE] }),
  rule: codec<Rule>({ messages: { new: RTM.NEWRULE, del: RTM.DELRULE, get: RTM.GETRULE }, decode: decodeRule, encode: encodeRule, groups: [RTNLGRP.IPV4_RULE, RTNLGRP.IPV6_RULE] }),
  neighbour: codec<Neighbour>({ messages: { new: RTM.NEWNEIGH, del: RTM.DELNEIGH, get: RTM.GETNEIGH }, decode: decodeNeighbour, encode: encodeNeighbour, groups: [RTNLGRP.NEIGH] }),
};


/**
 * Every kind, in registry order.
 *
 * @example
 * ```ts
 * import { RTNL_KINDS } from "./codecs.ts";
 * RTNL_KINDS.includes("neighbour"); // true
 * ```
 */
export const RTNL_KINDS = Object.keys(RTNL_CODECS) as RtnlKind[];

/** What an nlmsg type means: the kind and whether it is a new/del/get/set message. */
export interface RtnlMessageKind {
  /** Which kind of object the message carries. */
  kind: RtnlKind;
  /** What the message does with it. */
  action: "new" | "del" | "get" | "set";
}

const BY_TYPE = new Map<number, RtnlMessageKind>();
for (const kind of RTNL_KINDS) {
  const m = RTNL_CODECS[kind].messages;
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
 * import { rtnlKindOf } from "./codecs.ts";
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
 * import { groupsOf } from "./codecs.ts";
 * groupsOf(["rule"]); // [8, 19] (RTNLGRP_IPV4_RULE, RTNLGRP_IPV6_RULE)
 * ```
 */
export function groupsOf(kinds: readonly RtnlKind[] = RTNL_KINDS): number[] {
  const out = new Set<number>();
  for (const k of kinds) for (const g of RTNL_CODECS[k].groups) out.add(g);
  return [...out];
}
