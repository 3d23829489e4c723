/**
 * `tunkit link set NAME up|down|mtu N|name NEW|txqueuelen N …` (several at once, like ip) and
 * `tunkit link show [NAME]` (every link, as ip link prints them).
 *
 * @module
 */
import { Command, Argument } from "@commander-js/extra-typings";
import { UsageError, linkToIpJson, linkMap, type LinkChanges } from "../mod.ts";
import { defaultSubcommand, ifName, mtu, parseWords, txqueuelen, wordValue, type WordSpec } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx, Op } from "./context.ts";
import { linkHeadText, printJson } from "./output.ts";

/** Keywords of `link set`. */
export const LINK_SET_WORDS: Readonly<Record<string, WordSpec>> = {
  up: { value: false },
  down: { value: false },
  mtu: { value: true },
  name: { value: true },
  txqueuelen: { value: true, aliases: ["txqlen", "qlen"] },
};

/**
 * Parses the words after `link set` into a device and its changes.
 *
 * @example
 * ```ts
 * import { planLinkSet } from "./link.ts";
 * planLinkSet(["tun0", "mtu", "1400", "up"]); // { dev: "tun0", changes: { up: true, mtu: 1400 } }
 * ```
 */
export function planLinkSet(words: readonly string[]): { dev: string; changes: LinkChanges } {
  let rest = [...words];
  if (rest[0] === "dev") rest = rest.slice(1);
  const dev = rest.shift();
  if (dev === undefined) throw new UsageError('Missing device in "link set": expected link set NAME up|down|mtu N|name NEW|txqueuelen N');
  ifName(dev);
  const p = parseWords(rest, LINK_SET_WORDS, "link set");
  if (p.keys.has("up") && p.keys.has("down")) throw new UsageError('Words "up" and "down" given together in "link set"');
  const changes: LinkChanges = {};
  if (p.keys.has("up")) changes.up = true;
  if (p.keys.has("down")) changes.up = false;
  const m = wordValue(p, "mtu");
  if (m !== undefined) changes.mtu = mtu(m);
  const n = wordValue(p, "name");
  if (n !== undefined) changes.name = ifName(n);
  const q = wordValue(p, "txqueuelen");
  if (q !== undefined) changes.txqlen = txqueuelen(q);
  if (!Object.keys(changes).length) {
    throw new UsageError(`Nothing to change in "link set ${dev}": expected up, down, mtu N, name NEW or txqueuelen N`);
  }
  return { dev, changes };
}

/**
 * Validates `link set` words and returns the op (used by the command and the fast path).
 *
 * @example
 * ```ts
 * import { linkSetOp } from "./link.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await ctx.perform(linkSetOp(ctx, ["tun0", "up"]));
 * ```
 */
export function linkSetOp(ctx: Ctx, words: readonly string[]): Op {
  const { dev, changes } = planLinkSet(words);
  return { run: () => ctx.rtnl().setLink(dev, changes) };
}

/**
 * The `link` command group.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { linkCommand } from "./link.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(linkCommand(ctx));
 * ```
 */
export function linkCommand(ctx: Ctx) {
  const link = new Command("link").description("change or show network links (any kind, not only tun/tap)");
  const set = new Command("set")
    .description("change a link: up, down, mtu N, name NEW, txqueuelen N (several at once)")
    .addArgument(new Argument("<words...>", "[dev] NAME followed by changes"))
    .addHelpText(
      "after",
      `
Words (like ip link set):
  up | down          administrative state
  mtu N              68..65535 (the device may allow less)
  name NEW           rename (the kernel refuses while the link is up)
  txqueuelen N       transmit queue length (also: txqlen, qlen)

Examples:
  tunkit link set tun0 up
  tunkit link set tun0 mtu 1400 txqueuelen 1000 up
  tunkit link set dev tun0 down name vpn0`,
    )
    .action(async (words) => {
      await ctx.perform(linkSetOp(ctx, words));
    });
  setCompletionWords(set, Object.keys(LINK_SET_WORDS), "iface");
  const show = new Command("show")
    .alias("list")
    .description("show links as ip link does")
    .addArgument(new Argument("[name]", "only this link"))
    .addHelpText(
      "after",
      `
Examples:
  tunkit link show
  tunkit link show tun0 --json`,
    )
    .action((name) => showLinks(ctx, name));
  setCompletionWords(show, [], "iface");
  link.addCommand(set);
  link.addCommand(show);
  defaultSubcommand(link, () => showLinks(ctx, undefined));
  return link;
}

async function showLinks(ctx: Ctx, name: string | undefined): Promise<void> {
  if (name !== undefined) ifName(name);
  await ctx.perform({
    run: async () => {
      const nl = ctx.rtnl();
      const all = await nl.listLinks();
      const links = name === undefined ? all : [await nl.getLink(name)];
      const m = linkMap(all);
      const views = links.map((l) => linkToIpJson(l, { links: m }));
      const out = ctx.out;
      if (out.json) printJson(out, views);
      else for (const v of views) out.line(linkHeadText(v, true));
    },
  });
}
