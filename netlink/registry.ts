/**
 * The registry of rtnetlink message types: for each kind of object, its nlmsg types, codec,
 * multicast groups and ip views. decodeRtnl, the monitor, and the golden and fuzz tests all
 * read it, so a new type is one codec file (route/), one view file (view/), its fixtures, its
 * wire line in codecs.ts and one line here.
 *
 * @module
 */
import type { ByteWriter } from "./core/writer.ts";
import { RTNL_CODECS } from "./codecs.ts";
import type { Address } from "./route/addr.ts";
import { linkToIpJson, linkToIpText } from "./view/link.ts";
import { addressToIpJson, addressToIpText } from "./view/addr.ts";
import { routeToIpJson, routeToIpText } from "./view/route.ts";
import type { Link } from "./route/link.ts";
import type { Neighbour } from "./route/neigh.ts";
import type { Route } from "./route/route.ts";
import type { Rule } from "./route/rule.ts";
import type { IpViewContext } from "./view/context.ts";
import { neighToIpJson, neighToIpText } from "./view/neigh.ts";
import { ruleToIpJson, ruleToIpText } from "./view/rule.ts";

// The wire half of each kind (messages, codec, groups) lives in codecs.ts, which the monitor
// loads without the views; the kinds' lookups are defined there once and re-exported here.
export { RTNL_KINDS, rtnlKindOf, groupsOf, type RtnlKind, type RtnlMessageKind, type RtnlObject } from "./codecs.ts";

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
  link: rtnlType<Link>({ ...RTNL_CODECS.link, json: linkToIpJson, text: linkToIpText }),
  address: rtnlType<Address>({ ...RTNL_CODECS.address, json: addressToIpJson, text: addressToIpText }),
  route: rtnlType<Route>({ ...RTNL_CODECS.route, json: routeToIpJson, text: routeToIpText }),
  rule: rtnlType<Rule>({ ...RTNL_CODECS.rule, json: ruleToIpJson, text: ruleToIpText }),
  neighbour: rtnlType<Neighbour>({ ...RTNL_CODECS.neighbour, json: neighToIpJson, text: neighToIpText }),
} as const;
