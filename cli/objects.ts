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
}

/**
 * Every object, in lookup order.
 *
 * @example
 * ```ts
 * import { IP_OBJECTS } from "./objects.ts";
 * IP_OBJECTS.map((o) => o.name); // ["address", "route", "rule", "link", "list", "show"]
 * ```
 */
export const IP_OBJECTS: readonly IpObject[] = [
  { name: "address", aliases: ["addr"], load: async () => (await import("./addr.ts")).addrWords },
  { name: "route", aliases: [], load: async () => (await import("./route.ts")).routeWords },
  { name: "rule", aliases: [], load: async () => (await import("./rule.ts")).ruleWords },
  { name: "link", aliases: [], load: async () => (await import("./link.ts")).linkWords },
  { name: "list", aliases: ["ls"], load: async () => (await import("./list.ts")).listWords },
  { name: "show", aliases: [], load: async () => (await import("./list.ts")).showWords },
];

/**
 * The object a word names (exactly, or by an alias), or undefined.
 *
 * @example
 * ```ts
 * import { findObject } from "./objects.ts";
 * findObject("addr")?.name; // "address"
 * findObject("up");         // undefined (a commander command)
 * ```
 */
export function findObject(word: string): IpObject | undefined {
  for (const o of IP_OBJECTS) if (o.name === word || o.aliases.includes(word)) return o;
  return undefined;
}
