/**
 * The objects whose words tunkit parses itself, without commander: ip's (`link`, `address`,
 * `route`, `rule`) and tunkit's own listings (`list`, `show`). The command line and every
 * `tunkit batch` line go through {@link findObject} and the object's words function; each
 * object's module is loaded only when a line names it.
 *
 * @module
 */
import type { Ctx, GlobalOptions, Op } from "./context.ts";

/** Validates an object's words (`words[at]` is its command word) and returns the op. */
export type WordsFn = (ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions) => Op;

/** An object of the grammar. */
export interface IpObject {
  /** Canonical name ("address"). */
  name: string;
  /** Other exact spellings ("addr"). */
  aliases: readonly string[];
  /** Loads the object's module and returns its words function. */
  load(): Promise<WordsFn>;
  /** The object's module itself (loaded once: the same module {@link load} reads). */
  module(): Promise<object>;
}

/** An object of the grammar whose words function is `fn` of the module `mod` loads. */
function obj(name: string, aliases: readonly string[], mod: () => Promise<object>, fn: string): IpObject {
  return { name, aliases, module: mod, load: async () => (await mod() as Record<string, WordsFn>)[fn]! };
}

/**
 * Every object, in lookup order.
 *
 * @example
 * ```ts
 * import { IP_OBJECTS } from "./objects.ts";
 * IP_OBJECTS.map((o) => o.name); // ["address", "route", "rule", "neighbour", "link", "list", "show"]
 * ```
 */
export const IP_OBJECTS: readonly IpObject[] = [
  obj("address", ["addr"], () => import("./addr.ts"), "addrWords"),
  obj("route", [], () => import("./route.ts"), "routeWords"),
  obj("rule", [], () => import("./rule.ts"), "ruleWords"),
  obj("neighbour", ["neighbor", "neigh"], () => import("./neigh.ts"), "neighWords"),
  obj("link", [], () => import("./link.ts"), "linkWords"),
  obj("list", ["ls"], () => import("./list.ts"), "listWords"),
  obj("show", [], () => import("./list.ts"), "showWords"),
];

/**
 * ip's object table (ip/ip.c), in its order: an abbreviation means the first object it is a
 * prefix of (`a` address, `r` route, `ru` rule, `n` neighbor, `l` link), even one tunkit does
 * not do (`m` is maddress).
 */
const IP_TABLE = [
  "address", "addrlabel", "maddress", "route", "rule", "neighbor", "neighbour", "ntable", "ntbl", "link", "l2tp", "fou", "ila",
  "macsec", "tunnel", "tunl", "tuntap", "tap", "token", "tcpmetrics", "tcp_metrics", "monitor", "xfrm", "mroute", "mrule",
  "netns", "netconf", "vrf", "sr", "nexthop", "mptcp", "ioam", "help", "stats",
];

/**
 * What ip reads `word` as when it is an abbreviation (`ro` -> route), or undefined.
 *
 * @example
 * ```ts
 * import { ipObjectOf } from "./objects.ts";
 * ipObjectOf("ro"); // "route"
 * ipObjectOf("m");  // "maddress"
 * ```
 */
export function ipObjectOf(word: string): string | undefined {
  if (!word.length) return undefined;
  return IP_TABLE.find((o) => o.startsWith(word));
}

/**
 * The object a word names (exactly, or by an alias), or undefined.
 *
 * @example
 * ```ts
 * import { findObject } from "./objects.ts";
 * findObject("addr")?.name; // "address"
 * findObject("ro")?.name;   // "route" (ip's abbreviation)
 * findObject("up");         // undefined (a commander command)
 * ```
 */
export function findObject(word: string): IpObject | undefined {
  for (const o of IP_OBJECTS) if (o.name === word || o.aliases.includes(word)) return o;
  const ip = ipObjectOf(word);
  if (ip === undefined) return undefined;
  for (const o of IP_OBJECTS) if (o.name === ip || o.aliases.includes(ip)) return o;
  return undefined;
}
