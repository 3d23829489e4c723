/**
 * `tunkit link set NAME up|down|mtu N|name NEW|txqueuelen N …` (several at once, like ip) and
 * `tunkit link show [NAME]` (every link, as ip link prints them).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { linkMap, linkToIpJson } from "../netlink/route/json.ts";
import type { LinkChanges } from "../netlink/rtnl.ts";
import { ifName, mtu, txqueuelen } from "./args.ts";
import { parseTail, pickWord, q, wordValue, WordTable, type WordSpec } from "./grammar.ts";
import type { Ctx, GlobalOptions, Op } from "./context.ts";
import { linkHeadText, printJson } from "./output.ts";

/** Keywords of `link set`. */
export const LINK_SET_WORDS: Readonly<Record<string, WordSpec>> = {
  up: { value: false },
  down: { value: false },
  mtu: { value: true },
  name: { value: true },
  txqueuelen: { value: true, aliases: ["txqlen", "qlen"] },
};

const LINK_SET_TABLE = new WordTable(LINK_SET_WORDS);

/**
 * Parses the words after `link set` into a device and its changes.
 *
 * @example
 * ```ts
 * import { planLinkSet } from "./link.ts";
 * planLinkSet(["tun0", "mtu", "1400", "up"]); // { dev: "tun0", changes: { up: true, mtu: 1400 } }
 * ```
 */
export function planLinkSet(words: readonly string[], from = 0): { dev: string; changes: LinkChanges } {
  let at = from;
  if (words[at] === "dev") at++;
  const dev = words[at++];
  if (dev === undefined) throw new UsageError('Missing device in "link set": expected link set NAME up|down|mtu N|name NEW|txqueuelen N');
  ifName(dev);
  const p = parseTail(words, at, LINK_SET_TABLE, "link set");
  if (p.has("up") && p.has("down")) throw new UsageError('Words "up" and "down" given together in "link set"');
  const changes: LinkChanges = {};
  if (p.has("up")) changes.up = true;
  if (p.has("down")) changes.up = false;
  const m = wordValue(p, "mtu");
  if (m !== undefined) changes.mtu = mtu(m);
  const n = wordValue(p, "name");
  if (n !== undefined) changes.name = ifName(n);
  const qlen = wordValue(p, "txqueuelen");
  if (qlen !== undefined) changes.txqlen = txqueuelen(qlen);
  if (!Object.keys(changes).length) {
    throw new UsageError(`Nothing to change in "link set ${q(dev).slice(1, -1)}": expected up, down, mtu N, name NEW or txqueuelen N`);
  }
  return { dev, changes };
}

/**
 * Validates `link set` words and returns the op (used by the command and the fast path).
 *
 * @example
 * ```ts
 * import { linkSetOp } from "./link.ts";
 * await linkSetOp(ctx, ["tun0", "up"]).run();
 * ```
 */
export function linkSetOp(ctx: Ctx, words: readonly string[], from = 0): Op {
  const { dev, changes } = planLinkSet(words, from);
  return { run: () => ctx.rtnl().setLink(dev, changes) };
}

/** The command words of `link`, in help order. */
export const LINK_VERBS = [{ name: "set" }, { name: "show", aliases: ["list", "ls", "lst"] }] as const;

/**
 * `link …` words (`words[at]` is the command word; none means `show`): validates them and
 * returns the op. Used by the command line and by every `tunkit batch` line.
 *
 * @example
 * ```ts
 * import { linkWords } from "./link.ts";
 * await linkWords(ctx, ["link", "set", "tun0", "up"], 1, ctx.opts).run();
 * ```
 */
export function linkWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  const verb = at < words.length ? pickWord(words[at]!, LINK_VERBS, "link").name : "show";
  if (verb === "set") return linkSetOp(ctx, words, at + 1);
  let i = at + 1;
  if (words[i] === "dev") i++;
  const name = words[i];
  if (name !== undefined) {
    ifName(name);
    if (i + 1 < words.length) throw new UsageError(`Unknown word ${q(words[i + 1]!)} in "link show": expected link show [NAME]`);
  }
  return { run: () => showLinks(ctx, name, opts) };
}

/**
 * The `link` command group as commander sees it: only for `--help` pages and completion scripts
 * (the words themselves are parsed by {@link linkWords}).
 *
 * @example
 * ```ts
 * import { linkCommand } from "./link.ts";
 * program.addCommand(await linkCommand());
 * ```
 */
export async function linkCommand() {
  const [{ Command, Argument }, { setCompletionWords }] = await Promise.all([import("@commander-js/extra-typings"), import("./completions.ts")]);
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
    );
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
    );
  setCompletionWords(show, [], "iface");
  link.addCommand(set);
  link.addCommand(show);
  link.argument("[words...]").usage("[command] [words...]").helpCommand(false);
  return link;
}

async function showLinks(ctx: Ctx, name: string | undefined, opts: GlobalOptions): Promise<void> {
  const nl = ctx.rtnl();
  const all = await nl.listLinks();
  const links = name === undefined ? all : [await nl.getLink(name)];
  const m = linkMap(all);
  const views = links.map((l) => linkToIpJson(l, { links: m }));
  const out = ctx.outFor(opts);
  if (out.json) printJson(out, views);
  else for (const v of views) out.line(linkHeadText(v, true));
}
