/**
 * `tunkit up` (create or reuse a persistent tun/tap, add addresses, set it up; idempotent)
 * and `tunkit down` (delete it, with its addresses and routes).
 *
 * @module
 */
import { Command, Argument } from "@commander-js/extra-typings";
import { UsageError } from "../common/mod.ts";
import { ensureTun, anyUserWarning, removeTun, resolveUser, resolveGroup, invokingUid, type EnsureAddress } from "../tun/mod.ts";
import { cidr, ifName, ipAddress, mtu, txqueuelen } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx } from "./context.ts";
import { printJson } from "./output.ts";

/** Options of `tunkit up` as commander hands them over. */
export interface UpFlags {
  tap?: boolean;
  mtu?: string;
  txqueuelen?: string;
  peer?: string;
  user?: string;
  group?: string;
  anyUser?: boolean;
  multiQueue?: boolean;
  vnetHdr?: boolean;
  pi?: boolean;
}

/**
 * Validates `tunkit up` arguments into ensureTun options. Pure apart from reading
 * /etc/passwd and /etc/group for names; throws UsageError.
 *
 * @example
 * ```ts
 * import { planUp } from "./up.ts";
 * planUp("tun0", ["192.0.2.1/24"], { mtu: "1400" }, 1000).defaultOwner; // 1000
 * ```
 */
export function planUp(name: string, cidrs: readonly string[], f: UpFlags, invoker: number | undefined) {
  ifName(name);
  const parsed = cidrs.map((c) => ({ text: c, ...cidr(c) }));
  const addresses: EnsureAddress[] = parsed.map((p) => p.text);
  if (f.peer !== undefined) {
    const peerFamily = f.peer.includes("/") ? cidr(f.peer).family : ipAddress(f.peer, undefined, "peer address").family;
    const same = parsed.filter((p) => p.family === peerFamily);
    if (same.length !== 1) {
      throw new UsageError(
        `Invalid peer "${f.peer}": it needs exactly one ${peerFamily === 10 ? "IPv6" : "IPv4"} address to pair with, ${same.length} given`,
      );
    }
    const i = parsed.indexOf(same[0]!);
    addresses[i] = { address: same[0]!.text, peer: f.peer };
  }
  if (f.anyUser && (f.user !== undefined || f.group !== undefined)) {
    throw new UsageError("Option --any-user cannot be combined with --user or --group");
  }
  const user = f.user !== undefined ? resolveUser(f.user) : undefined;
  const group = f.group !== undefined ? resolveGroup(f.group) : undefined;
  // No access option: a new device is owned by the invoking user, an existing one keeps its
  // access. --group alone: group members may attach (an owner would narrow it to one user).
  const explicit = !!f.anyUser || user !== undefined || group !== undefined;
  let owner: number | null | undefined;
  if (!explicit) owner = undefined;
  else if (f.anyUser) owner = null;
  else if (user !== undefined) owner = user;
  else owner = null;
  return {
    name,
    mode: f.tap ? ("tap" as const) : ("tun" as const),
    packetInfo: !!f.pi,
    vnetHdr: !!f.vnetHdr,
    multiQueue: !!f.multiQueue,
    owner,
    group: !explicit ? undefined : f.anyUser ? null : (group ?? null),
    defaultOwner: invoker,
    addresses,
    mtu: f.mtu !== undefined ? mtu(f.mtu) : undefined,
    txqlen: f.txqueuelen !== undefined ? txqueuelen(f.txqueuelen) : undefined,
  };
}

/**
 * The `up` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { upCommand } from "./up.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(upCommand(ctx));
 * ```
 */
export function upCommand(ctx: Ctx) {
  const cmd = new Command("up")
    .description("create a persistent tun/tap device (or reuse it), add addresses, bring it up")
    .addArgument(new Argument("<name>", "interface name, 1..15 bytes"))
    .addArgument(new Argument("[cidr...]", "addresses to add: 192.0.2.1/24, 2001:db8::1/64"))
    .option("--tap", "make a tap device (Ethernet frames) instead of tun (IP packets)")
    .option("--mtu <n>", "MTU, 68..65535")
    .option("--txqueuelen <n>", "transmit queue length")
    .option("--peer <addr>", "point-to-point peer of the address of its family")
    .option("--user <user>", "user allowed to attach (name or uid); default: you (SUDO_UID under sudo)")
    .option("--group <group>", "group allowed to attach (name or gid)")
    .option("--any-user", "let ANY local user attach (no owner, no group)")
    .option("--multi-queue", "multi-queue device (IFF_MULTI_QUEUE)")
    .option("--vnet-hdr", "virtio-net header before each packet (IFF_VNET_HDR)")
    .option("--pi", "keep the 4-byte packet information header (no IFF_NO_PI)")
    .addHelpText(
      "after",
      `
Idempotent: running the same up again succeeds and changes nothing. Addresses already on the
device are kept; missing ones are added. An existing device of another mode is refused.
A persistent device with neither owner nor group can be attached by any local user, so the
owner defaults to you; --group alone lets that group attach; --any-user lifts the restriction.

Examples:
  sudo tunkit up tun0 192.0.2.1/24
  sudo tunkit up tun0 10.8.0.1/32 --peer 10.8.0.2 --mtu 1400
  sudo tunkit up tap0 --tap --group netdev 2001:db8::1/64
  tunkit -n blue up tun1 198.51.100.1/24 --any-user`,
    )
    .action(async (name, cidrs, flags) => {
      const plan = planUp(name, cidrs, flags, invokingUid());
      await ctx.perform({
        run: async () => {
          const out = ctx.out;
          const r = await ensureTun({ ...plan, rtnl: ctx.rtnl() });
          // An existing device made without owner (ip tuntap add) is as open as --any-user.
          const anyUser = r.owner === null && r.group === null;
          if (anyUser) out.warn(anyUserWarning(r.name, undefined, !!flags.anyUser));
          if (out.json) printJson(out, { ifname: r.name, ifindex: r.ifindex, created: r.created, changes: r.changes, owner: r.owner, group: r.group, any_user: anyUser });
          else out.info(`${r.name}: ${r.changes.length ? r.changes.join(", ") : "unchanged"}`);
        },
      });
    });
  setCompletionWords(cmd, [], "tun");
  return cmd;
}

/**
 * The `down` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { downCommand } from "./up.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(downCommand(ctx));
 * ```
 */
export function downCommand(ctx: Ctx) {
  const cmd = new Command("down")
    .description("delete a tun/tap device, with its addresses and routes")
    .addArgument(new Argument("<name>", "the tun/tap device"))
    .addHelpText(
      "after",
      `
Only tun/tap devices are deleted (use ip link del for others). A process that still has the
device attached gets an error on its next read or write; tunkit names it.

Examples:
  sudo tunkit down tun0
  tunkit -n blue down tun1`,
    )
    .action(async (name) => {
      ifName(name);
      await ctx.perform({
        run: async () => {
          const out = ctx.out;
          const { holders } = await removeTun(name, ctx.rtnl());
          const who = holders.map((h) => `${h.comm} (pid ${h.pid})`).join(", ");
          if (who) out.warn(`${name} was attached by ${who}: its next read or write fails`);
          if (out.json) printJson(out, { ifname: name, deleted: true, attached: holders });
          else out.info(`${name}: deleted`);
        },
      });
    });
  setCompletionWords(cmd, [], "tun");
  return cmd;
}

