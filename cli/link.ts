/**
 * `tunkit link …`: the words of `ip link` (iproute2 6.1's iplink.c): `add [link DEV] [name] NAME
 * … type dummy|veth|bridge|vlan|vxlan [ARGS]` (veth `peer [name] NAME …`, vlan `id N [protocol
 * P] [reorder_hdr|gvrp|mvrp|loose_binding|bridge_binding on|off]`, vxlan `id N [remote|group A]
 * [local A] [dstport N] [dev D] [ttl N] [[no]learning]`), `set [dev] NAME up|down|name|mtu|
 * txqueuelen|address|broadcast|promisc|arp|multicast|allmulticast|dynamic|trailers|carrier|
 * protodown on|off|master M|nomaster|alias A|group G|mode M|state S|netns NS`, `delete [dev]
 * NAME`, and `show` with the selectors of `ip link show`. Output through the library's ip views.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { IFF } from "../netlink/route/constants.ts";
import type { Link } from "../netlink/route/link.ts";
import type { LinkAddSpec, LinkChanges, VethPeerSpec, VlanSpec, VxlanSpec } from "../netlink/spec/link.ts";
import { linkMap } from "../netlink/view/context.ts";
import { linkToIpJson, linkToIpText } from "../netlink/view/link.ts";
import { ifName, intInRange, mtu, txqueuelen } from "./args.ts";
import { ipVerb, Keywords, q, unknownWord, Words, type Keyword } from "./grammar.ts";
import type { Ctx, GlobalOptions, Op } from "./context.ts";
import { ListingWriter } from "./output.ts";
import { groupName, userName } from "../tun/owner.ts";

interface LinkState {
  context: string;
  add: boolean;
  dev?: string;
  name?: string;
  link?: string;
  kind?: string;
  ch: LinkChanges & { txqlen?: number; numTxQueues?: number; numRxQueues?: number };
  /** Words after `type KIND`. */
  rest?: Words;
}

function onOff(word: string, w: Words): boolean {
  const v = w.take(word);
  if (v === "on") return true;
  if (v === "off") return false;
  throw new UsageError(`Invalid ${word} ${q(v)}: expected on or off`);
}

function flag(name: "multicast" | "allmulticast" | "promisc" | "trailers" | "arp" | "carrier" | "protodown" | "dynamic", abbrev = false): Keyword<LinkState> {
  return { name, abbrev, take: (s, w, k) => void (s.ch[name] = onOff(k, w)) };
}

/** The keywords of `link add|set` in iproute2's order (iplink_parse). */
export const LINK_KEYWORDS = new Keywords<LinkState>([
  { name: "up", take: (s) => void (s.ch.up = true) },
  { name: "down", take: (s) => void (s.ch.up = false) },
  { name: "name", once: true, take: (s, w, k) => void (s.name = ifName(w.take(k))) },
  { name: "index", once: true, take: () => {
    throw new UsageError('"index" is not supported by tunkit: the kernel picks the index');
  } },
  { name: "link", abbrev: true, take: (s, w, k) => void (s.link = ifName(w.take(k))) },
  { name: "address", abbrev: true, take: (s, w, k) => void (s.ch.address = w.take(k)) },
  { name: "broadcast", abbrev: true, also: ["brd"], take: (s, w, k) => void (s.ch.broadcast = w.take(k)) },
  { name: "txqueuelen", once: true, abbrev: true, also: ["qlen", { word: "txqlen", abbrev: true }], take: (s, w, k) => void (s.ch.txqlen = txqueuelen(w.take(k))) },
  { name: "mtu", once: true, take: (s, w, k) => void (s.ch.mtu = mtu(w.take(k))) },
  { name: "netns", once: true, take: (s, w, k) => {
    const v = w.take(k);
    s.ch.netns = /^\d+$/.test(v) ? Number(v) : v;
  } },
  flag("multicast"),
  flag("allmulticast"),
  flag("promisc"),
  flag("trailers"),
  flag("arp"),
  flag("carrier"),
  { name: "master", abbrev: true, take: (s, w, k) => void (s.ch.master = ifName(w.take(k))) },
  { name: "vrf", take: () => {
    throw new UsageError('"vrf" is not supported by tunkit: use master NAME');
  } },
  { name: "nomaster", abbrev: true, take: (s) => void (s.ch.master = null) },
  flag("dynamic", true),
  { name: "type", abbrev: true, take: (s, w, k) => {
    s.kind = w.take(k);
    s.rest = w;
  } },
  { name: "alias", abbrev: true, take: (s, w, k) => void (s.ch.alias = w.take(k)) },
  { name: "group", once: true, take: (s, w, k) => void (s.ch.group = w.take(k)) },
  { name: "mode", take: (s, w, k) => {
    const v = w.take(k);
    if (v !== "default" && v !== "dormant") throw new UsageError(`Invalid mode ${q(v)}: expected default or dormant`);
    s.ch.mode = v;
  } },
  { name: "state", take: (s, w, k) => void (s.ch.state = w.take(k)) },
  { name: "numtxqueues", once: true, abbrev: true, take: (s, w, k) => void (s.ch.numTxQueues = intInRange(w.take(k), "numtxqueues", 1, 4096)) },
  { name: "numrxqueues", once: true, abbrev: true, take: (s, w, k) => void (s.ch.numRxQueues = intInRange(w.take(k), "numrxqueues", 1, 4096)) },
  { name: "protodown", take: (s, w, k) => void (s.ch.protodown = onOff(k, w)) },
]);

/** Reads `link add|set` words up to `type KIND` (its words are the kind's). */
function readLinkWords(words: readonly string[], from: number, context: string, add: boolean): LinkState {
  const s: LinkState = { context, add, ch: {} };
  const w = new Words(words, from, context);
  while (!w.done && s.kind === undefined) {
    const word = w.next();
    if (LINK_KEYWORDS.take(s, w, word)) continue;
    const v = word === "dev" ? w.take("dev") : word;
    if (word !== "dev" && v.length && "help".startsWith(v)) throw new UsageError(`Usage asked for with ${q(v)}: see tunkit ${context} --help`);
    if (s.dev !== undefined) throw unknownWord(v, context, LINK_KEYWORDS.names());
    s.dev = ifName(v);
  }
  return s;
}

const VLAN_KEYWORDS = new Keywords<VlanSpec & { id: number }>([
  { name: "protocol", abbrev: true, take: (s, w, k) => {
    const v = w.take(k);
    if (v !== "802.1Q" && v !== "802.1q" && v !== "802.1ad") throw new UsageError(`Invalid vlan protocol ${q(v)}: expected 802.1Q or 802.1ad`);
    s.protocol = v;
  } },
  { name: "id", abbrev: true, take: (s, w, k) => void (s.id = intInRange(w.take(k), "vlan id", 0, 4095)) },
  { name: "reorder_hdr", abbrev: true, take: (s, w, k) => void (s.reorderHdr = onOff(k, w)) },
  { name: "gvrp", abbrev: true, take: (s, w, k) => void (s.gvrp = onOff(k, w)) },
  { name: "mvrp", abbrev: true, take: (s, w, k) => void (s.mvrp = onOff(k, w)) },
  { name: "loose_binding", abbrev: true, take: (s, w, k) => void (s.looseBinding = onOff(k, w)) },
  { name: "bridge_binding", abbrev: true, take: (s, w, k) => void (s.bridgeBinding = onOff(k, w)) },
]);

const VXLAN_KEYWORDS = new Keywords<VxlanSpec & { id: number }>([
  { name: "id", abbrev: true, also: [{ word: "vni", abbrev: true }], take: (s, w, k) => void (s.id = intInRange(w.take(k), "vxlan id", 0, 0xffffff)) },
  { name: "group", abbrev: true, take: (s, w, k) => void (s.group = w.take(k)) },
  { name: "remote", abbrev: true, take: (s, w, k) => void (s.remote = w.take(k)) },
  { name: "local", abbrev: true, take: (s, w, k) => void (s.local = w.take(k)) },
  { name: "dev", abbrev: true, take: (s, w, k) => void (s.dev = ifName(w.take(k))) },
  { name: "ttl", abbrev: true, also: [{ word: "hoplimit", abbrev: true }], take: (s, w, k) => {
    const v = w.take(k);
    s.ttl = v === "inherit" || v === "auto" ? v : intInRange(v, "ttl", 0, 255);
  } },
  { name: "dstport", abbrev: true, take: (s, w, k) => void (s.dstport = intInRange(w.take(k), "dstport", 0, 65535)) },
  { name: "nolearning", abbrev: true, take: (s) => void (s.learning = false) },
  { name: "learning", abbrev: true, take: (s) => void (s.learning = true) },
]);

function kindWords<S>(t: Keywords<S>, s: S, w: Words, kind: string): void {
  while (!w.done) {
    const word = w.next();
    const k = t.find(word);
    if (!k) throw new UsageError(`Unknown word ${q(word)} for a ${kind} link: expected ${t.names().join(", ")}`);
    k.take(s, w, word);
  }
}

/** The kinds `link add` makes (tun/tap devices come from `tunkit up`). */
export const LINK_KINDS = ["dummy", "veth", "bridge", "vlan", "vxlan"] as const;

/**
 * Reads the words of `link add` (from `words[from]`) into the library's spec (no syscall).
 *
 * @example
 * ```ts
 * import { planLinkAdd } from "./link.ts";
 * planLinkAdd(["v0", "type", "veth", "peer", "name", "v1"], "link add");
 * // { name: "v0", kind: "veth", peer: { name: "v1" } }
 * ```
 */
export function planLinkAdd(words: readonly string[], context: string, from = 0): LinkAddSpec {
  const s = readLinkWords(words, from, context, true);
  if (s.name !== undefined && s.dev !== undefined && s.name !== s.dev) throw new UsageError(`Both "name" ${q(s.name)} and a device ${q(s.dev)} in "${context}": give one name`);
  const name = s.name ?? s.dev;
  if (name === undefined) throw new UsageError(`Missing name in "${context}": expected link add NAME type KIND`);
  if (s.kind === undefined) throw new UsageError(`Missing "type KIND" in "${context}": expected one of ${LINK_KINDS.join(", ")}`);
  const spec: LinkAddSpec = { name, kind: s.kind };
  const ch = s.ch;
  if (ch.mtu !== undefined) spec.mtu = ch.mtu;
  if (ch.txqlen !== undefined) spec.txqlen = ch.txqlen;
  if (ch.address !== undefined) spec.address = ch.address;
  if (ch.broadcast !== undefined) spec.broadcast = ch.broadcast;
  if (ch.up !== undefined) spec.up = ch.up;
  if (typeof ch.master === "string") spec.master = ch.master;
  if (ch.alias !== undefined) spec.alias = ch.alias;
  if (ch.group !== undefined) spec.group = ch.group;
  if (ch.numTxQueues !== undefined) spec.numTxQueues = ch.numTxQueues;
  if (ch.numRxQueues !== undefined) spec.numRxQueues = ch.numRxQueues;
  if (s.link !== undefined) spec.link = s.link;
  const rest = s.rest!;
  switch (s.kind) {
    case "dummy":
    case "bridge":
      if (!rest.done) throw new UsageError(`Unknown word ${q(rest.peek()!)} for a ${s.kind} link: tunkit takes no ${s.kind} options`);
      break;
    case "veth": {
      if (rest.done) break;
      const p = rest.next();
      if (p !== "peer") throw new UsageError(`Unknown word ${q(p)} for a veth link: expected peer [name] NAME …`);
      const ps = readLinkWords(rest.words, rest.at, `${context} … peer`, true);
      const peerName = ps.name ?? ps.dev;
      if (peerName === undefined) throw new UsageError(`Missing the peer's name in "${context}": expected peer [name] NAME`);
      const peer: VethPeerSpec = { name: peerName };
      if (ps.ch.address !== undefined) peer.address = ps.ch.address;
      if (ps.ch.mtu !== undefined) peer.mtu = ps.ch.mtu;
      if (ps.ch.txqlen !== undefined) peer.txqlen = ps.ch.txqlen;
      if (ps.kind !== undefined) throw new UsageError(`"type" cannot be given for a veth peer in "${context}"`);
      spec.peer = peer;
      break;
    }
    case "vlan": {
      const v = { id: -1 } as VlanSpec & { id: number };
      kindWords(VLAN_KEYWORDS, v, rest, "vlan");
      if (v.id < 0) throw new UsageError(`Missing "id N" for a vlan link in "${context}"`);
      if (spec.link === undefined) throw new UsageError(`Missing "link DEV" for a vlan link in "${context}"`);
      spec.vlan = v;
      break;
    }
    case "vxlan": {
      const v = { id: -1 } as VxlanSpec & { id: number };
      kindWords(VXLAN_KEYWORDS, v, rest, "vxlan");
      if (v.id < 0) throw new UsageError(`Missing "id N" for a vxlan link in "${context}"`);
      spec.vxlan = v;
      break;
    }
    default:
      throw new UsageError(`Link type ${q(s.kind)} is not supported by tunkit: expected ${LINK_KINDS.join(", ")} (tun/tap: tunkit up)`);
  }
  return spec;
}

/**
 * Reads the words after `link set` into a device and its changes.
 *
 * @example
 * ```ts
 * import { planLinkSet } from "./link.ts";
 * planLinkSet(["tun0", "mtu", "1400", "up"]); // { dev: "tun0", changes: { mtu: 1400, up: true } }
 * ```
 */
export function planLinkSet(words: readonly string[], from = 0, context = "link set"): { dev: string; changes: LinkChanges } {
  const s = readLinkWords(words, from, context, false);
  if (s.dev === undefined) throw new UsageError(`Missing device in "${context}": expected link set [dev] NAME up|down|mtu N|name NEW|…`);
  if (s.kind !== undefined) throw new UsageError(`"type ${s.kind}" options cannot be changed by tunkit link set`);
  if (s.link !== undefined) throw new UsageError(`"link" cannot be changed by link set`);
  const changes: LinkChanges = { ...s.ch };
  if (s.name !== undefined && s.name !== s.dev) changes.name = s.name;
  if (!Object.keys(changes).length) throw new UsageError(`Nothing to change in "${context} ${q(s.dev).slice(1, -1)}": expected up, down, mtu N, name NEW, txqueuelen N, …`);
  return { dev: s.dev, changes };
}

/**
 * Validates `link set` words and returns the op.
 *
 * @example
 * ```ts
 * import { linkSetOp } from "./link.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await ctx.perform(linkSetOp(ctx, ["tun0", "up"]));
 * ```
 */
export function linkSetOp(ctx: Ctx, words: readonly string[], from = 0): Op {
  const { dev, changes } = planLinkSet(words, from);
  return { run: () => ctx.rtnl().setLink(dev, changes) };
}

// ---------------------------------------------------------------- show

/** `link show` selectors (iproute2 reads them with `addr show`'s parser). */
interface LinkShowPlan {
  dev?: string;
  up?: boolean;
  master?: string | null;
  kind?: string;
  slaveKind?: string;
  group?: string;
}

function planLinkShow(words: readonly string[], from: number): LinkShowPlan {
  const p: LinkShowPlan = {};
  const w = new Words(words, from, "link show");
  while (!w.done) {
    const word = w.next();
    switch (word) {
      case "up":
        p.up = true;
        continue;
      case "master":
        p.master = ifName(w.take(word));
        continue;
      case "nomaster":
        p.master = null;
        continue;
      case "type": {
        const v = w.take(word);
        if (v.endsWith("_slave")) p.slaveKind = v.slice(0, -6);
        else p.kind = v;
        continue;
      }
      case "group":
        p.group = w.take(word);
        continue;
    }
    const v = word === "dev" ? w.take("dev") : word;
    if (word !== "dev" && v.length && "help".startsWith(v)) throw new UsageError(`Usage asked for with ${q(v)}: see tunkit link show --help`);
    if (p.dev !== undefined) throw unknownWord(v, "link show", ["dev", "up", "master", "nomaster", "type", "group"]);
    p.dev = ifName(v);
  }
  return p;
}

async function showLinks(ctx: Ctx, p: LinkShowPlan, opts: GlobalOptions): Promise<void> {
  const nl = ctx.rtnl();
  const all = await nl.listLinks();
  const m = linkMap(all);
  let links: Link[] = p.dev === undefined ? all : [all.find((l) => l.name === p.dev) ?? (await nl.getLink(p.dev))];
  links = links.filter((l) => {
    if (p.up && !(l.flags & IFF.UP)) return false;
    if (p.master !== undefined && (p.master === null ? !!l.master : m.get(l.master ?? 0)?.name !== p.master)) return false;
    if (p.kind !== undefined && l.linkInfo?.kind !== p.kind) return false;
    if (p.slaveKind !== undefined && l.linkInfo?.slaveKind !== p.slaveKind) return false;
    return true;
  });
  const out = ctx.outFor(opts);
  const w = new ListingWriter(out, opts.pretty);
  const vctx = { links: m, details: opts.details, stats: opts.stats, brief: opts.brief, oneline: opts.oneline, userName, groupName };
  for (const l of links) {
    if (out.json) w.json(linkToIpJson(l, vctx));
    else w.text(linkToIpText(l, vctx) + "\n");
  }
  w.end();
}

// ---------------------------------------------------------------- the object

/** ip's command words of `link`, in do_iplink's order. */
export const LINK_VERBS: ReadonlyArray<readonly [string, boolean, string]> = [
  ["add", true, "add"], ["set", true, "set"], ["change", true, "set"], ["replace", true, "replace"], ["delete", true, "delete"],
  ["show", true, "show"], ["lst", true, "show"], ["list", true, "show"], ["xstats", true, "xstats"], ["afstats", true, "afstats"],
  ["property", true, "property"], ["help", true, "help"],
];

/**
 * `link …` words (`words[at]` is the command word; none means `show`): validates them and
 * returns the op. Used by the command line and by every `tunkit batch` line.
 *
 * @example
 * ```ts
 * import { linkWords } from "./link.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await linkWords(ctx, ["link", "set", "tun0", "up"], 1, ctx.opts).run();
 * ```
 */
export function linkWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  const verb = at < words.length ? ipVerb(words[at]!, LINK_VERBS, "link") : "show";
  switch (verb) {
    case "add": {
      const spec = planLinkAdd(words, "link add", at + 1);
      return { run: () => ctx.rtnl().addLink(spec) };
    }
    case "set":
      return linkSetOp(ctx, words, at + 1);
    case "delete": {
      const s = readLinkWords(words, at + 1, "link delete", false);
      if (s.dev === undefined) throw new UsageError('Missing device in "link delete": expected link delete [dev] NAME');
      if (s.kind !== undefined || Object.keys(s.ch).length) throw new UsageError('Unknown words after the device in "link delete": expected link delete [dev] NAME');
      const dev = s.dev;
      return { run: () => ctx.rtnl().deleteLink(dev) };
    }
    case "show": {
      const p = planLinkShow(words, at + 1);
      return { run: () => showLinks(ctx, p, opts) };
    }
    case "replace":
    case "xstats":
    case "afstats":
    case "property":
      throw new UsageError(`"link ${verb}" is not supported by tunkit`);
    default:
      throw new UsageError("see: tunkit link --help");
  }
}

/**
 * The `link` command group as commander sees it: only for `--help` pages and completion scripts
 * (the words themselves are parsed by {@link linkWords}).
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { linkCommand } from "./link.ts";
 * new Command("tunkit").addCommand(await linkCommand());
 * ```
 */
export async function linkCommand() {
  const [{ Command, Argument }, { setCompletionWords }] = await Promise.all([import("@commander-js/extra-typings"), import("./completions.ts")]);
  const link = new Command("link").description("add, change, delete or show network links (ip link)");
  const add = new Command("add")
    .description("add a dummy, veth, bridge, vlan or vxlan link (tun/tap devices: tunkit up)")
    .addArgument(new Argument("<words...>", "[link DEV] [name] NAME [mtu N] [address MAC] [master M] type KIND [ARGS]"))
    .addHelpText(
      "after",
      `
Kinds and their words (ip link's):
  dummy, bridge
  veth                 peer [name] NAME [address MAC] [mtu N] [txqueuelen N]
  vlan                 (with link DEV) id N [protocol 802.1Q|802.1ad] [reorder_hdr|gvrp|mvrp|loose_binding|bridge_binding on|off]
  vxlan                id N [remote|group ADDR] [local ADDR] [dstport N] [dev DEV] [ttl N|auto|inherit] [[no]learning]

Examples:
  tunkit link add br0 type bridge
  tunkit link add v0 type veth peer name v1
  tunkit link add link eth0 name eth0.100 type vlan id 100
  tunkit link add vx0 type vxlan id 42 remote 192.0.2.2 dstport 4789`,
    );
  setCompletionWords(add, [...LINK_KEYWORDS.names(), ...LINK_KINDS]);
  const set = new Command("set")
    .alias("change")
    .description("change a link: up, down, mtu N, name NEW, master M, … (several at once)")
    .addArgument(new Argument("<words...>", "[dev] NAME followed by changes"))
    .addHelpText(
      "after",
      `
Words (like ip link set):
  up | down            administrative state
  mtu N, name NEW, txqueuelen N (also txqlen, qlen), address MAC, broadcast MAC, alias TEXT
  promisc|arp|multicast|allmulticast|dynamic|trailers|carrier|protodown on|off
  master NAME | nomaster, group G, mode default|dormant, state STATE, netns NS|PID

Examples:
  tunkit link set tun0 up
  tunkit link set tun0 mtu 1400 txqueuelen 1000 up
  tunkit link set dev v1 master br0`,
    );
  setCompletionWords(set, LINK_KEYWORDS.names(), "iface");
  const del = new Command("delete")
    .alias("del")
    .description("delete a link")
    .addArgument(new Argument("<words...>", "[dev] NAME"))
    .addHelpText("after", "\nExamples:\n  tunkit link delete br0");
  setCompletionWords(del, ["dev"], "iface");
  const show = new Command("show")
    .alias("list")
    .description("show links as ip link does")
    .addArgument(new Argument("[words...]", "[dev] NAME [up] [master M|nomaster] [type KIND]"))
    .addHelpText("after", "\nExamples:\n  tunkit link show\n  tunkit -d -j link show tun0\n  tunkit -br link show type veth");
  setCompletionWords(show, ["dev", "up", "master", "nomaster", "type"], "iface");
  for (const c of [add, set, del, show]) link.addCommand(c);
  link.argument("[words...]").usage("[command] [words...]").helpCommand(false);
  return link;
}
