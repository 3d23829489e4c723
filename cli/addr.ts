/**
 * `tunkit addr add|del CIDR dev NAME [peer ADDR] …`, `tunkit addr list [dev NAME]`,
 * `tunkit addr flush dev NAME`: the words of `ip addr`, IPv4 and IPv6.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { NLM_F } from "../netlink/core/message.ts";
import type { ByteWriter } from "../netlink/core/writer.ts";
import { RTM } from "../netlink/route/constants.ts";
import { encodeAddress } from "../netlink/route/addr.ts";
import { linkAddressesToIpJson, linkMap } from "../netlink/route/json.ts";
import { addressFromSpec, type AddressSpec } from "../netlink/rtnl.ts";
import { cidr, ifName, intInRange, ipAddress } from "./args.ts";
import { parseTail, pickWord, q, wordValue, WordTable, type WordSpec } from "./grammar.ts";
import type { Ctx, GlobalOptions, Op } from "./context.ts";
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

const ADDR_TABLE = new WordTable(ADDR_WORDS);

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
export function planAddress(words: readonly string[], context: string, from = 0): AddressSpec {
  const p = parseTail(words, from, ADDR_TABLE, context, 1);
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
    if (pf !== local.family) throw new UsageError(`Invalid peer ${q(peer)}: not the same family as ${q(address)}`);
    spec.peer = peer;
  }
  const brd = wordValue(p, "broadcast");
  if (brd !== undefined) {
    if (local.family !== 2) throw new UsageError(`Invalid broadcast ${q(brd)}: only IPv4 addresses have one`);
    spec.broadcast = brd === "+" ? "+" : ipAddress(brd, 2, "broadcast address").address;
  }
  const label = wordValue(p, "label");
  if (label !== undefined) {
    if (!label.startsWith(dev) || new TextEncoder().encode(label).length > 15) {
      throw new UsageError(`Invalid label ${q(label)}: must start with the device name ${q(dev)} and fit 15 bytes`);
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
  const flags = ["nodad", "noprefixroute"].filter((f) => p.has(f));
  if (flags.length) spec.flags = flags;
  addressFromSpec(spec, 0, context.includes("del")); // the library's own checks (scope name, lifetimes), still no syscall
  return spec;
}

/**
 * Validates `addr add|del` words (from `words[from]`) and returns the op: run alone, or
 * pipelined by `tunkit batch` (an added address has an exact undo: the same address deleted).
 *
 * @example
 * ```ts
 * import { addressOp } from "./addr.ts";
 * await addressOp(ctx, "add", ["192.0.2.1/24", "dev", "tun0"]).run();
 * ```
 */
export function addressOp(ctx: Ctx, verb: "add" | "del", words: readonly string[], from = 0): Op {
  const del = verb === "del";
  const spec = planAddress(words, `addr ${verb}`, from);
  const dev = spec.dev as string;
  let body: (w: ByteWriter) => void = () => {};
  return {
    run: () => (del ? ctx.rtnl().deleteAddress(spec) : ctx.rtnl().addAddress(spec)),
    request: {
      devs: [dev],
      build(index) {
        const a = addressFromSpec(spec, index(dev), del);
        body = (w) => encodeAddress(w, a);
        return del
          ? { type: RTM.DELADDR, flags: 0, body, op: "delete address", subject: spec.address }
          : { type: RTM.NEWADDR, flags: NLM_F.CREATE | NLM_F.EXCL, body, op: "add address", subject: spec.address };
      },
      // An added address did not exist before (NLM_F_EXCL): deleting it undoes it.
      undo: del ? undefined : () => ({ type: RTM.DELADDR, flags: 0, body, op: "undo add address", subject: spec.address }),
    },
  };
}

function devFrom(words: readonly string[], context: string, required: boolean, from = 0): string | undefined {
  const p = parseTail(words, from, DEV_WORDS, context, 1);
  const a = wordValue(p, "dev");
  const b = p.positional[0];
  if (a !== undefined && b !== undefined) throw new UsageError(`Unknown word ${q(b)} in "${context}": expected dev NAME`);
  const dev = a ?? b;
  if (dev === undefined && required) throw new UsageError(`Missing "dev NAME" in "${context}"`);
  if (dev !== undefined) ifName(dev);
  return dev;
}

async function listAddresses(ctx: Ctx, dev: string | undefined, opts: GlobalOptions): Promise<void> {
  const nl = ctx.rtnl();
  const links = await nl.listLinks();
  const shown = dev === undefined ? links : [await nl.getLink(dev)];
  const addrs = await nl.listAddresses(dev === undefined ? {} : { dev: shown[0]!.index });
  const m = linkMap(links);
  const views = shown.map((l) => linkAddressesToIpJson(l, addrs, { links: m }));
  const out = ctx.outFor(opts);
  if (out.json) return printJson(out, views);
  for (const v of views) {
    out.line(linkHeadText(v, false));
    for (const a of v.addr_info as Array<Record<string, unknown>>) out.line(addressText(a, String(v.ifname)));
  }
}

/** The command words of `addr`, in help order. */
export const ADDR_VERBS = [
  { name: "add" }, { name: "del", aliases: ["delete"] }, { name: "list", aliases: ["show", "ls", "lst"] }, { name: "flush" },
] as const;

/**
 * `addr …` words (`words[at]` is the command word; none means `list`): validates them and
 * returns the op. Used by the command line and by every `tunkit batch` line.
 *
 * @example
 * ```ts
 * import { addrWords } from "./addr.ts";
 * await addrWords(ctx, ["addr", "add", "192.0.2.1/24", "dev", "tun0"], 1, ctx.opts).run();
 * ```
 */
export function addrWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  const verb = at < words.length ? pickWord(words[at]!, ADDR_VERBS, "addr").name : "list";
  switch (verb) {
    case "add":
    case "del":
      return addressOp(ctx, verb, words, at + 1);
    case "list": {
      const dev = devFrom(words, "addr list", false, at + 1);
      return { run: () => listAddresses(ctx, dev, opts) };
    }
    default: {
      const dev = devFrom(words, "addr flush", true, at + 1)!;
      return {
        run: async () => {
          const n = await ctx.rtnl().flushAddresses({ dev });
          ctx.outFor(opts).info(`${dev}: ${n} address${n === 1 ? "" : "es"} deleted`);
        },
      };
    }
  }
}

/**
 * The `addr` command group as commander sees it: only for `--help` pages and completion scripts
 * (the words themselves are parsed by {@link addrWords}).
 *
 * @example
 * ```ts
 * import { addrCommand } from "./addr.ts";
 * program.addCommand(await addrCommand());
 * ```
 */
export async function addrCommand() {
  const [{ Command, Argument }, { setCompletionWords }] = await Promise.all([import("@commander-js/extra-typings"), import("./completions.ts")]);
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
      .addHelpText("after", `${WORDS_HELP}\n\nExamples:\n${examples}`);
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
    .addHelpText("after", "\nExamples:\n  tunkit addr list\n  tunkit addr list dev tun0 --json\n  tunkit -n blue addr show tun1");
  setCompletionWords(list, ["dev"], "iface");
  const flush = new Command("flush")
    .description("delete every address of a device")
    .addArgument(new Argument("<words...>", "[dev] NAME"))
    .addHelpText("after", "\nExamples:\n  tunkit addr flush dev tun0");
  setCompletionWords(flush, ["dev"], "iface");
  for (const c of [add, del, list, flush]) group.addCommand(c);
  group.argument("[words...]").usage("[command] [words...]").helpCommand(false);
  return group;
}
