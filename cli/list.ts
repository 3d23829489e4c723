/**
 * `tunkit list` and `tunkit show NAME`: tun/tap devices (made by tunkit or by any other tool,
 * found through IFLA_LINKINFO) with mode, flags, owner, group, queues, the processes that have
 * them attached (from /proc), MTU, state and addresses.
 *
 * @module
 */
import { TunkitError, UsageError } from "../common/errors.ts";
import { dumpAddresses, dumpLinks, getLink } from "../netlink/dump.ts";
import { IF_OPER } from "../netlink/route/constants.ts";
import type { Address } from "../netlink/route/addr.ts";
import type { Link, TunInfo } from "../netlink/route/link.ts";
import { linkFlagNames, operstateName } from "../netlink/route/flags.ts";
import { tunHolders, type TunHolder } from "../tun/holders.ts";
import { groupName, userName } from "../tun/owner.ts";
import { ifName } from "./args.ts";
import type { Ctx, GlobalOptions, Op } from "./context.ts";
import { q } from "./grammar.ts";
import { formatTable, printJson } from "./output.ts";

/** A tun/tap device as `tunkit list --json` prints it. */
export interface TunView {
  ifindex: number;
  ifname: string;
  mode: "tun" | "tap";
  /** Link flags as ip prints them (["NO-CARRIER", "POINTOPOINT", …, "UP"]). */
  flags: string[];
  mtu: number | null;
  operstate: string;
  txqlen: number | null;
  persist: boolean;
  pi: boolean;
  vnet_hdr: boolean;
  multi_queue: boolean;
  /** Who may attach: uid and name, or null for no restriction. */
  owner: { uid: number; name: string | null } | null;
  owner_group: { gid: number; name: string | null } | null;
  /** Neither owner nor group: any local user who can open /dev/net/tun may attach it. */
  any_user: boolean;
  /** Attached queues (fds): the kernel's count for multi-queue, /proc's for single-queue. */
  queues: number;
  attached: Array<{ pid: number; comm: string; fds: number[] }>;
  /** ip -d -j's linkinfo, as ip prints it. */
  linkinfo: Record<string, unknown>;
  addr_info: Array<Record<string, unknown>>;
}

/**
 * A tun/tap device as read from the kernel and /proc: what `tunkit list`'s table and `dump -D`
 * print, without the ip -j views {@link TunView} adds (start-up, issue 11: the kind printers and
 * the address view are loaded only for `--json` and `show`; bench/cli-startup.ts's header).
 */
export interface TunDevice extends Omit<TunView, "linkinfo" | "addr_info"> {
  /** The link as decoded. */
  link: Link;
  /** Its tun info data. */
  tun: TunInfo;
  /** Its addresses as decoded. */
  addrs: Address[];
}

/** Tun info data of a link, or undefined when it is not a tun/tap device. */
export function tunInfoOf(l: Link): TunInfo | undefined {
  const d = l.linkInfo?.data;
  return l.linkInfo?.kind === "tun" && d && !(d instanceof Uint8Array) && !("peer" in d) ? (d as TunInfo) : undefined;
}

const realId = (v: number | undefined): number | undefined => (v === undefined || v === 0xffffffff ? undefined : v);

/**
 * Reads one tun/tap device: its link, tun info, addresses (of every device: this one's are
 * kept) and holders.
 *
 * @example
 * ```ts
 * import { tunDevice } from "./list.ts";
 * // tunDevice(link, tunInfo, addresses, holders).mode === "tun"
 * ```
 */
export function tunDevice(l: Link, t: TunInfo, addrs: readonly Address[], holders: readonly TunHolder[]): TunDevice {
  const uid = realId(t.owner);
  const gid = realId(t.group);
  const fds = holders.reduce((n, h) => n + h.fds.length, 0);
  return {
    ifindex: l.ifindex,
    ifname: l.name ?? `if${l.ifindex}`,
    mode: t.type === "tap" ? "tap" : "tun",
    flags: linkFlagNames(l.flags),
    mtu: l.mtu ?? null,
    operstate: operstateName(l.operstate ?? IF_OPER.UNKNOWN),
    txqlen: l.txqlen ?? null,
    persist: !!t.persist,
    pi: !!t.pi,
    vnet_hdr: !!t.vnetHdr,
    multi_queue: !!t.multiQueue,
    owner: uid === undefined ? null : { uid, name: userName(uid) ?? null },
    owner_group: gid === undefined ? null : { gid, name: groupName(gid) ?? null },
    any_user: uid === undefined && gid === undefined,
    queues: t.multiQueue && t.numQueues !== undefined ? t.numQueues : fds,
    attached: holders.map((h) => ({ pid: h.pid, comm: h.comm, fds: h.fds })),
    link: l,
    tun: t,
    addrs: addrs.filter((a) => a.ifindex === l.ifindex),
  };
}

/**
 * The ip -j views of devices: each with its kind block (`linkinfo`, ip -d -j's) and its
 * `addr_info`, the way `--json` and `show` print them. Loads the views' modules.
 *
 * @example
 * ```ts
 * import { collectTuns, tunViews } from "./list.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * (await tunViews(await collectTuns(ctx)))[0]?.linkinfo; // { info_kind: "tun", info_data: { type: "tun", … } }
 * ```
 */
export async function tunViews(devices: readonly TunDevice[]): Promise<TunView[]> {
  const [{ linkInfoToIpJson }, { addressToIpJson }] = await Promise.all([import("../netlink/view/linkinfo.ts"), import("../netlink/view/addr.ts")]);
  return devices.map((d) => {
    const uid = realId(d.tun.owner);
    const gid = realId(d.tun.group);
    // The kind block alone (not the whole link view: start-up, issue 11).
    const info = (linkInfoToIpJson(d.link) ?? { info_kind: "tun" }) as Record<string, unknown>;
    const data = info.info_data as Record<string, unknown> | undefined;
    // ip prints user and group by name when it can.
    if (data && uid !== undefined) data.user = d.owner?.name ?? uid;
    if (data && gid !== undefined) data.group = d.owner_group?.name ?? gid;
    return {
      ifindex: d.ifindex, ifname: d.ifname, mode: d.mode, flags: d.flags, mtu: d.mtu, operstate: d.operstate, txqlen: d.txqlen,
      persist: d.persist, pi: d.pi, vnet_hdr: d.vnet_hdr, multi_queue: d.multi_queue, owner: d.owner, owner_group: d.owner_group,
      any_user: d.any_user, queues: d.queues, attached: d.attached,
      linkinfo: info,
      addr_info: d.addrs.map(addressToIpJson),
    };
  });
}

/** Every tun/tap device of the current namespace. */
export async function collectTuns(ctx: Ctx, only?: string): Promise<TunDevice[]> {
  // The bare socket, not the rtnetlink client (start-up): a link read and an address dump.
  const conn = ctx.conn();
  const links = only !== undefined ? [await getLink(conn, only)] : await dumpLinks(conn);
  const tuns = links.filter((l) => tunInfoOf(l));
  if (only !== undefined && !tuns.length) {
    const l = links[0]!;
    throw new TunkitError(
      `Device "${only}" is not a tun/tap device (kind ${l.linkInfo?.kind ?? "none"})`,
      `see it with: tunkit link show ${only}`,
    );
  }
  // The tuns' addresses only: no other device's is decoded (lo's ::1 would load ipaddr.js).
  const addrs = tuns.length ? await dumpAddresses(conn, 0, new Set(tuns.map((l) => l.ifindex))) : [];
  const holders = tuns.length ? tunHolders() : new Map<string, TunHolder[]>();
  return tuns.map((l) => tunDevice(l, tunInfoOf(l)!, addrs, holders.get(l.name ?? "") ?? []));
}

function state(v: Pick<TunView, "flags">): string {
  if (!v.flags.includes("UP")) return "DOWN";
  return v.flags.includes("NO-CARRIER") ? "NO-CARRIER" : "UP";
}

function flagWords(v: Pick<TunView, "persist" | "pi" | "vnet_hdr" | "multi_queue">): string {
  return [v.persist ? "persist" : "", v.pi ? "pi" : "", v.vnet_hdr ? "vnet_hdr" : "", v.multi_queue ? "multi_queue" : ""].filter(Boolean).join(",");
}

function who(v: Pick<TunView, "attached">): string {
  return v.attached.map((h) => `${h.comm}(${h.pid})`).join(",");
}

/** An address as ip prints it: "LOCAL/LEN", or "LOCAL peer PEER/LEN" (netlink/view/addr.ts's rule). */
function addrWord(a: Address): string {
  const local = a.local ?? a.address;
  const peer = a.address ?? a.local;
  return peer !== local ? `${String(local)} peer ${String(peer)}/${a.prefixLen}` : `${String(local)}/${local === undefined ? "undefined" : a.prefixLen}`;
}

/**
 * The table `tunkit list` prints.
 *
 * @example
 * ```ts
 * import { listText } from "./list.ts";
 * listText([]); // "NAME  MODE  STATE  MTU  FLAGS  OWNER  GROUP  QUEUES  ATTACHED  ADDRESSES"
 * ```
 */
export function listText(views: readonly TunDevice[]): string {
  return formatTable(
    ["NAME", "MODE", "STATE", "MTU", "FLAGS", "OWNER", "GROUP", "QUEUES", "ATTACHED", "ADDRESSES"],
    views.map((v) => [
      v.ifname, v.mode, state(v), String(v.mtu ?? ""), flagWords(v),
      v.any_user ? "ANY-USER!" : v.owner ? (v.owner.name ?? String(v.owner.uid)) : "", v.owner_group ? (v.owner_group.name ?? String(v.owner_group.gid)) : "",
      String(v.queues), who(v), v.addrs.map(addrWord).join(","),
    ]),
  );
}

/**
 * The block `tunkit show NAME` prints.
 *
 * @example
 * ```ts
 * import { showText } from "./list.ts";
 * // showText(view) starts with "tun0: tun, persistent, UP"
 * ```
 */
export function showText(v: TunView & Pick<TunDevice, "addrs">): string {
  const onoff = (b: boolean) => (b ? "on" : "off");
  const lines = [
    `${v.ifname}: ${v.mode}, ${v.persist ? "persistent" : "not persistent"}, ${state(v)}`,
    `    index ${v.ifindex}  mtu ${v.mtu ?? "?"}  txqueuelen ${v.txqlen ?? "?"}  operstate ${v.operstate}  <${v.flags.join(",")}>`,
    `    pi ${onoff(v.pi)}  vnet_hdr ${onoff(v.vnet_hdr)}  multi_queue ${onoff(v.multi_queue)}  persist ${onoff(v.persist)}`,
    `    owner ${v.owner ? `${v.owner.name ?? "?"} (uid ${v.owner.uid})` : "none"}  group ${v.owner_group ? `${v.owner_group.name ?? "?"} (gid ${v.owner_group.gid})` : "none"}${!v.owner && !v.owner_group ? "  (any local user may attach)" : ""}`,
    `    queues ${v.queues}  attached ${v.attached.length ? v.attached.map((h) => `${h.comm} (pid ${h.pid}, fd ${h.fds.join(",")})`).join(", ") : "none"}`,
  ];
  // addr_info is addrs through the address view, in the same order: its family and scope names.
  v.addrs.forEach((a, i) => lines.push(`    ${String(v.addr_info[i]!.family)} ${addrWord(a)} scope ${String(v.addr_info[i]!.scope)}`));
  return lines.join("\n");
}

/**
 * `list` words (none besides the global options): the op that prints every tun/tap device.
 *
 * @example
 * ```ts
 * import { listWords } from "./list.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await listWords(ctx, ["list"], 1, ctx.opts).run();
 * ```
 */
export function listWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  if (at < words.length) throw new UsageError(`Unknown word ${q(words[at]!)} in "list": expected no words (tunkit list [--json])`);
  return {
    run: async () => {
      const views = await collectTuns(ctx);
      const out = ctx.outFor(opts);
      // The ip -j views only for --json: the table is made from the devices as read.
      if (out.json) printJson(out, await tunViews(views));
      else if (views.length) out.line(listText(views));
      else out.info("no tun/tap devices");
      // The warning's own module: not device creation (tun/ensure.ts) and the client behind it.
      if (views.some((v) => v.any_user)) {
        const { anyUserWarning } = await import("../tun/any-user.ts");
        for (const v of views) if (v.any_user) out.warn(anyUserWarning(v.ifname));
      }
    },
    // Over the bare socket (collectTuns): main.ts does not load the rtnetlink client.
    lean: true,
  };
}

/**
 * `show NAME` words: the op that prints one tun/tap device in detail.
 *
 * @example
 * ```ts
 * import { showWords } from "./list.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await showWords(ctx, ["show", "tun0"], 1, ctx.opts).run();
 * ```
 */
export function showWords(ctx: Ctx, words: readonly string[], at: number, opts: GlobalOptions): Op {
  const name = words[at];
  if (name === undefined) throw new UsageError('Missing device in "show": expected show NAME');
  if (at + 1 < words.length) throw new UsageError(`Unknown word ${q(words[at + 1]!)} in "show": expected show NAME`);
  ifName(name);
  return {
    run: async () => {
      const [d] = await collectTuns(ctx, name);
      const [v] = await tunViews([d!]);
      const out = ctx.outFor(opts);
      if (out.json) printJson(out, [v]);
      else out.line(showText({ ...v!, addrs: d!.addrs }));
    },
    lean: true,
  };
}

/**
 * The `list` command as commander sees it: only for `--help` pages and completion scripts.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { listCommand } from "./list.ts";
 * new Command("tunkit").addCommand(await listCommand());
 * ```
 */
export async function listCommand() {
  const { Command } = await import("@commander-js/extra-typings");
  return new Command("list")
    .alias("ls")
    .description("list tun/tap devices: mode, flags, owner, queues, attached processes, addresses")
    .addHelpText(
      "after",
      `
Devices made by any tool (ip tuntap, openvpn, wireguard-go, …) are listed, from the kernel's
link info. STATE is DOWN (admin down), NO-CARRIER (up, nobody attached) or UP. OWNER
ANY-USER! (JSON: "any_user": true) marks a device with neither owner nor group, which any
local user who can open /dev/net/tun may attach; a warning on stderr says how to limit it.

Examples:
  tunkit list
  tunkit list --json | jq '.[] | select(.attached == [])'
  tunkit -n blue list`,
    );
}

/**
 * The `show` command as commander sees it: only for `--help` pages and completion scripts.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { showCommand } from "./list.ts";
 * new Command("tunkit").addCommand(await showCommand());
 * ```
 */
export async function showCommand() {
  const [{ Command, Argument }, { setCompletionWords }] = await Promise.all([import("@commander-js/extra-typings"), import("./completions.ts")]);
  const cmd = new Command("show")
    .description("show one tun/tap device in detail")
    .addArgument(new Argument("<name>", "the tun/tap device"))
    .addHelpText(
      "after",
      `
Examples:
  tunkit show tun0
  tunkit show tun0 --json`,
    );
  setCompletionWords(cmd, [], "tun");
  return cmd;
}
