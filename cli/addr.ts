/**
 * `tunkit addr …`: the words of `ip address` (iproute2 6.1's ipaddress.c), read the way ip reads
 * them: `add|change|replace|delete [local] PREFIX [peer P] [broadcast A|+|-] [anycast A]
 * [label L] [scope S] [metric N] [valid_lft T] [preferred_lft T] [FLAGS] dev NAME`, and
 * `list|flush [dev] NAME [to PREFIX] [scope S] [label GLOB] [up] [master M|nomaster] [type KIND]
 * [FLAGS]` with ip's choice of which links to print. Output through the library's ip views.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { AF, IFF } from "../netlink/route/constants.ts";
import type { Address } from "../netlink/route/addr.ts";
import { parsePrefix } from "../netlink/route/ip.ts";
import type { Link } from "../netlink/route/link.ts";
import { addressFilter, type AddressFilter } from "../netlink/spec/addr.ts";
import { linkMap } from "../netlink/view/context.ts";
import { ifName } from "./args.ts";
import { ipVerb, Keywords, q, unknownWord, Words } from "./grammar.ts";
import { lazy, type Ctx, type GlobalOptions, type Op } from "./context.ts";
import { ListingWriter } from "./output.ts";
import { ADDR_VERBS, ADDR_FLAG_WORDS as FLAG_WORDS, addressOp, ADDR_KEYWORDS } from "./addr-add.ts";
export { ADDR_VERBS, addressOp, ADDR_KEYWORDS, planAddress } from "./addr-add.ts";

// ---------------------------------------------------------------- list, flush

/** `addr list|flush` selectors: the library's address filter, and the link selectors ip adds. */
export interface AddrListPlan {
  filter: AddressFilter;
  dev?: string;
  up?: boolean;
  master?: string | null;
  kind?: string;
  slaveKind?: string;
  group?: string;
}

interface ListState {
  p: AddrListPlan;
  flags: string[];
  family?: number;
}

const listKeywords = lazy(() =>
  new Keywords<ListState>([
  { name: "to", take: (s, w, k) => {
    const v = w.take(k);
    const pr = parsePrefix(v, s.family ?? AF.UNSPEC);
    s.p.filter.to = v;
    s.family ??= pr.family;
  } },
  { name: "scope", take: (s, w, k) => void (s.p.filter.scope = w.take(k)) },
  { name: "up", take: (s) => void (s.p.up = true) },
  { name: "label", take: (s, w, k) => void (s.p.filter.label = w.take(k)) },
  { name: "group", take: (s, w, k) => void (s.p.group = w.take(k)) },
  { name: "master", take: (s, w, k) => void (s.p.master = ifName(w.take(k))) },
  { name: "vrf", take: () => {
    throw new UsageError('"vrf" is not supported by tunkit: use master NAME');
  } },
  { name: "nomaster", take: (s) => void (s.p.master = null) },
  { name: "type", take: (s, w, k) => {
    const v = w.take(k);
    if (v.endsWith("_slave")) s.p.slaveKind = v.slice(0, -6);
    else s.p.kind = v;
  } },
  ]),
);

const FILTER_FLAGS = new Set([...FLAG_WORDS, "primary", "dynamic", "permanent", ...[...FLAG_WORDS].map((f) => `-${f}`), "-primary", "-dynamic", "-permanent"]);

/**
 * Reads the words of `addr list|flush` (from `words[from]`).
 *
 * @example
 * ```ts
 * import { planAddrList } from "./addr.ts";
 * planAddrList(["dev", "tun0", "scope", "global"], {}).filter.scope; // "global"
 * ```
 */
export function planAddrList(words: readonly string[], opts: { family?: number }, context = "addr list", from = 0): AddrListPlan {
  const s: ListState = { p: { filter: {} }, flags: [], family: opts.family };
  const w = new Words(words, from, context);
  while (!w.done) {
    const word = w.next();
    if (listKeywords().take(s, w, word)) continue;
    if (FILTER_FLAGS.has(word)) {
      s.flags.push(word);
      continue;
    }
    const v = word === "dev" ? w.take("dev") : word;
    if (word !== "dev" && v.length && "help".startsWith(v)) throw new UsageError(`Usage asked for with ${q(v)}: see tunkit ${context} --help`);
    if (s.p.dev !== undefined) throw unknownWord(v, context, ["dev", ...listKeywords().names()]);
    s.p.dev = ifName(v);
  }
  if (s.flags.length) s.p.filter.flags = s.flags;
  const family = opts.family ?? s.family;
  if (family !== undefined) s.p.filter.family = family;
  addressFilter(s.p.filter); // validates scope names, flag words, the prefix
  return s.p;
}

/** ip's choice of links for `addr show`: one with a matching address, or with none at all when no family is asked. */
function selectLinks(links: readonly Link[], addrs: readonly Address[], keep: (a: Address) => boolean, family: number | undefined, p: AddrListPlan, all: ReadonlyMap<number, Link>): Link[] {
  const filtered = !!(family || p.filter.to || p.filter.scope !== undefined || p.filter.label || p.filter.flags?.length);
  return links.filter((l) => {
    if (p.up && !(l.flags & IFF.UP)) return false;
    if (p.master !== undefined && (p.master === null ? !!l.master : all.get(l.master ?? 0)?.name !== p.master)) return false;
    if (p.kind !== undefined && l.linkInfo?.kind !== p.kind) return false;
    if (p.slaveKind !== undefined && l.linkInfo?.slaveKind !== p.slaveKind) return false;
    const mine = addrs.filter((a) => a.ifindex === l.ifindex);
    if (!filtered) return true;
    if (mine.some(keep)) return true;
    return !mine.length && (family === undefined || family === 17);
  });
}

async function listAddresses(ctx: Ctx, p: AddrListPlan, opts: GlobalOptions): Promise<void> {
  // The views and the user/group names are loaded by the listing only (an `addr add` never prints).
  const [{ linkAddressesToIpJson, linkAddressesToIpText }, { addressToIpText }, { groupName, userName }] = await Promise.all([
    import("../netlink/view/link.ts"),
    import("../netlink/view/addr.ts"),
    import("../tun/owner.ts"),
  ]);
  const nl = ctx.rtnl();
  const all = await nl.listLinks();
  const byIndex = linkMap(all);
  let links = all;
  let dev: number | undefined;
  if (p.dev !== undefined) {
    const l = all.find((x) => x.name === p.dev) ?? (await nl.getLink(p.dev));
    dev = l.ifindex;
    links = [l];
  }
  const family = p.filter.family;
  const addrs = family === 17 ? [] : await nl.listAddresses({ family: family === 17 ? undefined : family, dev });
  const keep = addressFilter({ ...p.filter, dev }, (i) => byIndex.get(i)?.name);
  const shown = selectLinks(links, addrs, keep, family, p, byIndex);
  const kept = addrs.filter(keep);
  const out = ctx.outFor(opts);
  const w = new ListingWriter(out, opts.pretty);
  const vctx = { links: byIndex, details: opts.details, stats: opts.stats, brief: opts.brief, oneline: opts.oneline, userName, groupName };
  for (const l of shown) {
    if (out.json) w.json(linkAddressesToIpJson(l, kept, vctx, family === 17 ? undefined : family));
    else if (opts.oneline && !opts.brief && family !== 17) {
      // ip -o: one line per address, "INDEX: DEV    inet …", no link lines.
      for (const a of kept) if (a.ifindex === l.ifindex) w.text(addressToIpText(a, vctx) + "\n");
    } else w.text(linkAddressesToIpText(l, kept, vctx, family === 17 ? undefined : family));
  }
  w.end();
}

// ---------------------------------------------------------------- the object


/**
 * `addr …` words (`words[at]` is the command word; none means `list`): validates them and
 * returns the op. Used by the command line and by every `tunkit batch` line.
 *
 * @example
 * ```ts
 * import { addrWords } from "./addr.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await addrWords(ctx, ["addr", "add", "192.0.2.1/24", "dev", "tun0"], 1, ctx.opts).run();
 * ```
 */
export function addrWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  const verb = at < words.length ? ipVerb(words[at]!, ADDR_VERBS, "addr") : "list";
  switch (verb) {
    case "list": {
      const p = planAddrList(words, opts, "addr list", at + 1);
      return { run: () => listAddresses(ctx, p, opts) };
    }
    case "flush": {
      if (at + 1 >= words.length) throw new UsageError('Missing selector in "addr flush": expected dev NAME, to PREFIX, scope S, label GLOB, … (ip: "Flush requires arguments")');
      if (opts.family === 17) throw new UsageError("Cannot flush link addresses (-0)");
      const p = planAddrList(words, opts, "addr flush", at + 1);
      return {
        run: async () => {
          const nl = ctx.rtnl();
          const dev = p.dev === undefined ? undefined : await nl.ifindex(p.dev);
          const n = await nl.flushAddresses({ ...p.filter, dev });
          if (opts.stats) ctx.outFor(opts).info(`*** Round 1, deleting ${n} addresses ***\n*** Flush is complete after 1 round ***`);
        },
      };
    }
    case "save":
    case "showdump":
    case "restore":
      throw new UsageError(`"addr ${verb}" is not supported by tunkit: use addr list --json`);
    case "help":
      throw new UsageError("see: tunkit addr --help");
    default:
      return addressOp(ctx, verb, words, at + 1, opts.family);
  }
}

/**
 * The `addr` command group as commander sees it: only for `--help` pages and completion scripts
 * (the words themselves are parsed by {@link addrWords}).
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { addrCommand } from "./addr.ts";
 * new Command("tunkit").addCommand(await addrCommand());
 * ```
 */
export async function addrCommand() {
  const [{ Command, Argument }, { setCompletionWords }] = await Promise.all([import("@commander-js/extra-typings"), import("./completions.ts")]);
  const group = new Command("addr").alias("address").description("add, change, delete, list and flush IPv4/IPv6 addresses (ip address)");
  const WORDS_HELP = `
Words (ip address's, abbreviated where ip abbreviates; any order):
  [local] PREFIX         the address, 192.0.2.1/24 or 2001:db8::1/64
  dev NAME               the device (required)
  peer ADDR[/N]          point-to-point peer (also: remote)
  broadcast ADDR|+|-     IPv4 broadcast (also: brd; + computes it up to /30, - clears it)
  anycast ADDR, label NAME, scope global|site|link|host|N, metric N
  valid_lft N|forever, preferred_lft N|forever
  nodad, optimistic, home, mngtmpaddr, noprefixroute, autojoin`;
  const mk = (verb: string, description: string, examples: string, alias?: string) => {
    const c = new Command(verb)
      .description(description)
      .addArgument(new Argument("<words...>", "PREFIX dev NAME [peer ADDR] …"))
      .addHelpText("after", `${WORDS_HELP}\n\nExamples:\n${examples}`);
    if (alias) c.alias(alias);
    setCompletionWords(c, [...ADDR_KEYWORDS.names(), ...FLAG_WORDS]);
    return c;
  };
  const add = mk("add", "add an address to a device", "  tunkit addr add 192.0.2.1/24 dev tun0\n  tunkit addr add 10.8.0.1 peer 10.8.0.2 dev tun0\n  tunkit addr add 2001:db8::1/64 dev tun0 nodad");
  const change = mk("change", "change the lifetimes, flags or metric of an address", "  tunkit addr change 2001:db8::1/64 dev tun0 preferred_lft 0", "chg");
  const replace = mk("replace", "add an address or change the existing one", "  tunkit addr replace 192.0.2.1/24 dev tun0 metric 5");
  const del = mk("del", "delete an address from a device", "  tunkit addr del 192.0.2.1/24 dev tun0\n  tunkit addr del 2001:db8::1/64 dev tun0", "delete");
  const list = new Command("list")
    .alias("show")
    .alias("ls")
    .description("list addresses, as ip addr does")
    .addArgument(new Argument("[words...]", "[dev] NAME [to PREFIX] [scope S] [label GLOB] [up] [FLAGS]"))
    .addHelpText("after", "\nExamples:\n  tunkit addr list\n  tunkit -j addr list dev tun0\n  tunkit -6 addr show scope global\n  tunkit -br addr");
  setCompletionWords(list, ["dev", ...listKeywords().names()], "iface");
  const flush = new Command("flush")
    .description("delete every address that matches (a selector is required)")
    .addArgument(new Argument("<words...>", "the selectors of addr list"))
    .addHelpText("after", "\nExamples:\n  tunkit addr flush dev tun0\n  tunkit -6 addr flush dev tun0 scope global");
  setCompletionWords(flush, ["dev", ...listKeywords().names()], "iface");
  for (const c of [add, change, replace, del, list, flush]) group.addCommand(c);
  group.argument("[words...]").usage("[command] [words...]").helpCommand(false);
  return group;
}
