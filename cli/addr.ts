/**
 * `tunkit addr add|del CIDR dev NAME [peer ADDR] …`, `tunkit addr list [dev NAME]`,
 * `tunkit addr flush dev NAME`: the words of `ip addr`, IPv4 and IPv6.
 *
 * @module
 */
import { Command, Argument } from "@commander-js/extra-typings";
import {
  UsageError, linkAddressesToIpJson, linkMap, addressFromSpec, type AddressSpec,
} from "../mod.ts";
import { cidr, defaultSubcommand, ifName, intInRange, ipAddress, parseWords, wordValue, type WordSpec } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx, Op } from "./context.ts";
import { addressText, linkHeadText, printJson } from "./output.ts";

/** Keywords of `addr add` / `addr del`. */
export const ADDR_WORDS: Readonly<Record<string, WordSpec>> = {
  dev: { value: true },
  peer: { value: true, aliases: ["remote"] },
  broadcast: { value: true, aliases: ["brd"] },
  label: { value: true },
  scope: { value: true },
  metric: { value: true, aliases: ["priority", "preference"] },
  valid_lft: { value: true },
  preferred_lft: { value: true },
  nodad: { value: false },
  noprefixroute: { value: false },
};

/** Keywords of `addr list` / `addr flush`. */
const DEV_WORDS: Readonly<Record<string, WordSpec>> = { dev: { value: true } };

function lifetime(s: string | undefined, what: string): number | "forever" | undefined {
  if (s === undefined) return undefined;
  if (s === "forever") return "forever";
  return intInRange(s.replace(/sec$/, ""), what, 0, 0xfffffffe);
}

/**
 * Parses the words after `addr add` / `addr del` into an address spec (validated, no syscall).
 *
 * @example
 * ```ts
 * import { planAddress } from "./addr.ts";
 * planAddress(["192.0.2.1/24", "dev", "tun0"], "addr add"); // { dev: "tun0", address: "192.0.2.1/24" }
 * ```
 */
export function planAddress(words: readonly string[], context: string): AddressSpec {
  const p = parseWords(words, ADDR_WORDS, context, 1);
  const address = p.positional[0];
  if (address === undefined) throw new UsageError(`Missing address in "${context}": expected ${context} CIDR dev NAME`);
  const local = cidr(address);
  const dev = wordValue(p, "dev");
  if (dev === undefined) throw new UsageError(`Missing "dev NAME" in "${context}"`);
  ifName(dev);
  const spec: AddressSpec = { dev, address };
  const peer = wordValue(p, "peer");
  if (peer !== undefined) {
    const pf = peer.includes("/") ? cidr(peer).family : ipAddress(peer, undefined, "peer address").family;
    if (pf !== local.family) throw new UsageError(`Invalid peer "${peer}": not the same family as "${address}"`);
    spec.peer = peer;
  }
  const brd = wordValue(p, "broadcast");
  if (brd !== undefined) {
    if (local.family !== 2) throw new UsageError(`Invalid broadcast "${brd}": only IPv4 addresses have one`);
    spec.broadcast = brd === "+" ? "+" : ipAddress(brd, 2, "broadcast address").address;
  }
  const label = wordValue(p, "label");
  if (label !== undefined) {
    if (!label.startsWith(dev) || new TextEncoder().encode(label).length > 15) {
      throw new UsageError(`Invalid label "${label}": must start with the device name "${dev}" and fit 15 bytes`);
    }
    spec.label = label;
  }
  const scope = wordValue(p, "scope");
  if (scope !== undefined) spec.scope = scope; // parsed (and checked) by addressFromSpec below
  const metric = wordValue(p, "metric");
  if (metric !== undefined) spec.metric = intInRange(metric, "metric", 0, 0xffffffff);
  const valid = lifetime(wordValue(p, "valid_lft"), "valid_lft");
  const preferred = lifetime(wordValue(p, "preferred_lft"), "preferred_lft");
  if (valid !== undefined) spec.validLft = valid;
  if (preferred !== undefined) spec.preferredLft = preferred;
  const flags = ["nodad", "noprefixroute"].filter((f) => p.keys.has(f));
  if (flags.length) spec.flags = flags;
  addressFromSpec(spec, 0, context.includes("del")); // the library's own checks (scope name, lifetimes), still no syscall
  return spec;
}

/**
 * Validates `addr add|del` words and returns the op that does it (used by the command and by
 * the start-up fast path in main.ts).
 *
 * @example
 * ```ts
 * import { addressOp } from "./addr.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await ctx.perform(addressOp(ctx, "add", ["192.0.2.1/24", "dev", "tun0"]));
 * ```
 */
export function addressOp(ctx: Ctx, verb: "add" | "del", words: readonly string[]): Op {
  const del = verb === "del";
  const spec = planAddress(words, `addr ${verb}`);
  return {
    run: () => (del ? ctx.rtnl().deleteAddress(spec) : ctx.rtnl().addAddress(spec)),
    pipeline: (nl, cache) => nl.addressItem(spec, del ? "delete" : "create", cache),
  };
}

function devFrom(words: readonly string[], context: string, required: boolean): string | undefined {
  const p = parseWords(words, DEV_WORDS, context, 1);
  const a = wordValue(p, "dev");
  const b = p.positional[0];
  if (a !== undefined && b !== undefined) throw new UsageError(`Unknown word "${b}" in "${context}": expected dev NAME`);
  const dev = a ?? b;
  if (dev === undefined && required) throw new UsageError(`Missing "dev NAME" in "${context}"`);
  if (dev !== undefined) ifName(dev);
  return dev;
}

async function listAddresses(ctx: Ctx, words: readonly string[]): Promise<void> {
  const dev = devFrom(words, "addr list", false);
  await ctx.perform({
    run: async () => {
      const nl = ctx.rtnl();
      const links = await nl.listLinks();
      const shown = dev === undefined ? links : [await nl.getLink(dev)];
      const addrs = await nl.listAddresses(dev === undefined ? {} : { dev: shown[0]!.index });
      const m = linkMap(links);
      const views = shown.map((l) => linkAddressesToIpJson(l, addrs, { links: m }));
      const out = ctx.out;
      if (out.json) return printJson(out, views);
      for (const v of views) {
        out.line(linkHeadText(v, false));
        for (const a of v.addr_info as Array<Record<string, unknown>>) out.line(addressText(a, String(v.ifname)));
      }
    },
  });
}

/**
 * The `addr` command group.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { addrCommand } from "./addr.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(addrCommand(ctx));
 * ```
 */
export function addrCommand(ctx: Ctx) {
  const group = new Command("addr").alias("address").description("add, delete, list and flush IPv4/IPv6 addresses");
  const WORDS_HELP = `
Words (like ip addr):
  dev NAME               the device (required)
  peer ADDR[/N]          point-to-point peer (also: remote)
  broadcast ADDR|+       IPv4 broadcast (also: brd; + computes it)
  label NAME             IPv4 label, starting with the device name
  scope global|link|host|N
  metric N               metric of the prefix route
  valid_lft N|forever, preferred_lft N|forever
  nodad, noprefixroute`;
  const mk = (verb: "add" | "del", description: string, examples: string) => {
    const c = new Command(verb)
      .description(description)
      .addArgument(new Argument("<words...>", "CIDR dev NAME [peer ADDR] …"))
      .addHelpText("after", `${WORDS_HELP}\n\nExamples:\n${examples}`)
      .action((words) => ctx.perform(addressOp(ctx, verb, words)));
    setCompletionWords(c, Object.keys(ADDR_WORDS));
    return c;
  };
  const add = mk("add", "add an address to a device", "  tunkit addr add 192.0.2.1/24 dev tun0\n  tunkit addr add 10.8.0.1 peer 10.8.0.2 dev tun0\n  tunkit addr add 2001:db8::1/64 dev tun0 nodad");
  const del = mk("del", "delete an address from a device", "  tunkit addr del 192.0.2.1/24 dev tun0\n  tunkit addr del 2001:db8::1/64 dev tun0").alias("delete");
  const list = new Command("list")
    .alias("show")
    .alias("ls")
    .description("list addresses, as ip addr does")
    .addArgument(new Argument("[words...]", "[dev] NAME"))
    .addHelpText("after", "\nExamples:\n  tunkit addr list\n  tunkit addr list dev tun0 --json\n  tunkit -n blue addr show tun1")
    .action((words) => listAddresses(ctx, words));
  setCompletionWords(list, ["dev"], "iface");
  const flush = new Command("flush")
    .description("delete every address of a device")
    .addArgument(new Argument("<words...>", "[dev] NAME"))
    .addHelpText("after", "\nExamples:\n  tunkit addr flush dev tun0")
    .action(async (words) => {
      const dev = devFrom(words, "addr flush", true)!;
      await ctx.perform({
        run: async () => {
          const n = await ctx.rtnl().flushAddresses({ dev });
          ctx.out.info(`${dev}: ${n} address${n === 1 ? "" : "es"} deleted`);
        },
      });
    });
  setCompletionWords(flush, ["dev"], "iface");
  for (const c of [add, del, list, flush]) group.addCommand(c);
  defaultSubcommand(group, () => listAddresses(ctx, []));
  return group;
}
