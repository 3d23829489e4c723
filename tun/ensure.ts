/**
 * "Make sure this tun/tap device exists, persistent, owned by these people, with these
 * addresses, and up" — idempotently: run twice, the second run changes nothing. What
 * `tunkit up` does, for library users too. Also {@link removeTun}, its inverse.
 *
 * @module
 */
import { TunkitError, UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import { Rtnl } from "../netlink/rtnl.ts";
import { NetlinkError } from "../netlink/errors.ts";
import type { Link, TunInfo } from "../netlink/route/link.ts";
import { formatAddr, parsePrefix } from "../netlink/route/ip.ts";
import { AF, IFF } from "../netlink/route/constants.ts";
import { checkId, openTun } from "./device.ts";
import { tunHolders } from "./holders.ts";
// The any-user warning lives in its own module (`tunkit list` words it without loading this one).
export { anyUserWarning } from "./any-user.ts";

/** An address to have on the device: "192.0.2.1/24", or with a point-to-point peer. */
export type EnsureAddress = string | { address: string; peer?: string };

/** The desired state of a device. */
export interface EnsureTunOptions {
  /** The device name (ensured to exist). */
  name: string;
  /** "tun" (default) or "tap". */
  mode?: "tun" | "tap";
  /** Packet information header (default false). */
  packetInfo?: boolean;
  /** virtio_net_hdr before each packet (default false). */
  vnetHdr?: boolean;
  /** Multi-queue device (default false). */
  multiQueue?: boolean;
  /**
   * uid allowed to attach; `null`: no owner restriction. `undefined`: unset on a new device,
   * left as it is on an existing one. A persistent device with neither owner nor group can be
   * attached by ANY local user.
   */
  owner?: number | null;
  /** gid allowed to attach; same conventions as `owner`. */
  group?: number | null;
  /**
   * Owner to give a NEW device when neither `owner` nor `group` is given (tunkit up passes the
   * invoking user). An existing device keeps its owner.
   */
  defaultOwner?: number;
  /** Addresses to have (missing ones are added; others are left alone). */
  addresses?: readonly EnsureAddress[];
  /** MTU to set. */
  mtu?: number;
  /** Transmit queue length to set. */
  txqlen?: number;
  /** Bring the link up (default true); false leaves the admin state alone. */
  up?: boolean;
  /** Connection to use (opened and closed here when absent). */
  rtnl?: Rtnl;
}

/** What {@link ensureTun} found and did. */
export interface EnsureTunResult {
  /** The device name (ensured to exist). */
  name: string;
  /** The device's ifindex. */
  ifindex: number;
  /** True when the device did not exist. */
  created: boolean;
  /** What changed, in order, as short phrases ("created", "owner 1000", "mtu 1400", "add 192.0.2.1/24", "up"); empty when nothing did. */
  changes: string[];
  /** uid allowed to attach now, or null: no owner restriction. */
  owner: number | null;
  /** gid allowed to attach now, or null: no group restriction. */
  group: number | null;
}

/** An address `up` will make sure the device has, parsed and checked. */
export interface PlannedAddress {
  /** AF_INET or AF_INET6. */
  family: number;
  /** The address, canonical text. */
  local: string;
  /** Prefix length. */
  prefixLen: number;
  /** The peer address of a point-to-point address. */
  peer?: string;
  /** As given, for the request and for messages. */
  spec: { address: string; peer?: string };
}

function planAddresses(list: readonly EnsureAddress[]): PlannedAddress[] {
  return list.map((a) => {
    const spec = typeof a === "string" ? { address: a } : a;
    const l = parsePrefix(spec.address);
    if (spec.peer === undefined) return { family: l.family, local: formatAddr(l.bytes), prefixLen: l.len, spec };
    const p = parsePrefix(spec.peer, l.family);
    return { family: l.family, local: formatAddr(l.bytes), prefixLen: p.len, peer: formatAddr(p.bytes), spec };
  });
}

function checkRange(v: number | undefined, what: string, min: number, max: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
    throw new UsageError(`Invalid ${what} "${v}": expected ${min}..${max}`);
  }
}

/**
 * Validates everything about `opts` without touching the system.
 *
 * @example
 * ```ts
 * import { validateEnsureTun } from "./ensure.ts";
 * validateEnsureTun({ name: "tk0", addresses: ["192.0.2.1/24", "2001:db8::1/64"] }).map((a) => a.local); // ["192.0.2.1", "2001:db8::1"]
 * ```
 */
export function validateEnsureTun(opts: EnsureTunOptions): PlannedAddress[] {
  checkIfName(opts.name);
  if (opts.mode !== undefined && opts.mode !== "tun" && opts.mode !== "tap") {
    throw new UsageError(`Invalid mode "${String(opts.mode)}": expected tun or tap`);
  }
  if (opts.owner !== undefined && opts.owner !== null) checkId("owner", opts.owner);
  if (opts.group !== undefined && opts.group !== null) checkId("group", opts.group);
  if (opts.defaultOwner !== undefined) checkId("owner", opts.defaultOwner);
  checkRange(opts.mtu, "MTU", 68, 65535);
  checkRange(opts.txqlen, "txqueuelen", 0, 0xffffffff);
  const planned = planAddresses(opts.addresses ?? []);
  const seen = new Set<string>();
  for (const p of planned) {
    const k = `${p.local}/${p.prefixLen}`;
    if (seen.has(k)) throw new UsageError(`Address "${p.spec.address}" given twice`);
    seen.add(k);
  }
  return planned;
}

function tunInfo(l: Link): TunInfo | undefined {
  const d = l.linkInfo?.data;
  return l.linkInfo?.kind === "tun" && d && !(d instanceof Uint8Array) && !("peer" in d) ? (d as TunInfo) : undefined;
}

const idOrNull = (v: number | undefined): number | null => (v === undefined || v === 0xffffffff ? null : v);

/**
 * A race with another process doing the same thing at the same time: two creators of one name
 * (EEXIST from register_netdevice), a device that another creator still holds for the instant
 * between TUNSETIFF and close (EBUSY), an address added by the other one first (EEXIST).
 */
class Raced extends Error {
  override readonly cause: unknown;
  /** The device is attached by someone (EBUSY): a racing `up` lets go at once, a reader does not. */
  readonly busy: boolean;
  constructor(cause: unknown, busy = false) {
    super("raced");
    this.cause = cause;
    this.busy = busy;
  }
}

const codeOf = (e: unknown): string | undefined => (e instanceof TunkitError ? (e as { code?: string }).code : undefined);

/** Longest time {@link ensureTun} keeps starting over after lost races. */
const RACE_DEADLINE_MS = 10_000;
/** How long the same processes may hold a device we need to change before it is not a race. */
const HOLDER_PATIENCE_MS = 1_000;
const RACE_BACKOFF_MS = 40;

/**
 * Makes the device exist with the given settings, idempotently. Creates a persistent tun/tap
 * (or reuses the existing one, refusing one of another mode), sets owner/group/persist when they
 * differ, sets MTU/txqueuelen, adds missing addresses, and brings it up. Everything is validated
 * before the first syscall. Safe to run concurrently for one name: a step that loses a race to
 * another process making the same device (EEXIST, or EBUSY while the other one holds it for an
 * instant) starts over from the device's new state, so every run ends with the same device.
 *
 * @example
 * ```ts
 * import { ensureTun } from "./ensure.ts";
 * const r = await ensureTun({ name: "tun0", owner: 1000, addresses: ["192.0.2.1/24", "2001:db8::1/64"] });
 * r.changes; // the first time: ["created", "add 192.0.2.1/24", "add 2001:db8::1/64", "up"]; the second: []
 * ```
 */
export async function ensureTun(opts: EnsureTunOptions): Promise<EnsureTunResult> {
  const planned = validateEnsureTun(opts);
  const nl = opts.rtnl ?? Rtnl.open();
  const changes: string[] = [];
  try {
    const start = Date.now();
    let holders = "";
    let holdersSince = 0;
    for (let attempt = 0; ; attempt++) {
      try {
        return await ensureOnce(opts, planned, nl, changes);
      } catch (e) {
        if (!(e instanceof Raced)) throw e;
        const now = Date.now();
        if (now - start > RACE_DEADLINE_MS) throw e.cause;
        if (e.busy) {
          // Another `up` holds the device for an instant; a reader (echo, a VPN) holds it for
          // good: the same processes still holding it after a second are not a race.
          const pids = (tunHolders(opts.name).get(opts.name) ?? []).map((h) => h.pid).sort().join(",");
          if (pids !== holders) [holders, holdersSince] = [pids, now];
          else if (pids && now - holdersSince > HOLDER_PATIENCE_MS) throw e.cause;
        }
        await new Promise((r) => setTimeout(r, 1 + Math.random() * Math.min(RACE_BACKOFF_MS, 5 * (attempt + 1))));
      }
    }
  } finally {
    if (!opts.rtnl) nl.close();
  }
}

async function ensureOnce(opts: EnsureTunOptions, planned: PlannedAddress[], nl: Rtnl, changes: string[]): Promise<EnsureTunResult> {
  const mode = opts.mode ?? "tun";
  const pi = opts.packetInfo ?? false;
  const vnet = opts.vnetHdr ?? false;
  const mq = opts.multiQueue ?? false;
  let link = await findLink(nl, opts.name);
  let created = changes.includes("created");
  let owner: number | null;
  let group: number | null;
  if (!link) {
    owner = opts.owner ?? (opts.owner === undefined && opts.group === undefined ? opts.defaultOwner ?? null : null);
    group = opts.group ?? null;
    let dev;
    try {
      // Exclusive: when another process made the name meanwhile, start over and reuse it
      // instead of attaching to it half-made.
      dev = openTun({
        name: opts.name, mode, packetInfo: pi, vnetHdr: vnet, multiQueue: mq, persist: true, exclusive: true,
        owner: owner ?? undefined, group: group ?? undefined,
      });
    } catch (e) {
      if (codeOf(e) === "EEXIST" || codeOf(e) === "EBUSY") throw new Raced(e);
      throw e;
    }
    dev.close();
    created = true;
    changes.push("created");
    link = await nl.getLink(opts.name);
  } else {
    const t = tunInfo(link);
    if (!t) {
      throw new TunkitError(
        `Device "${opts.name}" exists and is not a tun/tap device (kind ${link.linkInfo?.kind ?? "none"})`,
        "pick another name, or delete it with: ip link del " + opts.name,
      );
    }
    const hasMode = t.type === "tap" ? "tap" : "tun";
    if (hasMode !== mode || !!t.multiQueue !== mq) {
      const has = `${hasMode}${t.multiQueue ? " multi_queue" : ""}`;
      const want = `${mode}${mq ? " multi_queue" : ""}`;
      throw new TunkitError(
        `Device "${opts.name}" exists as ${has}, not ${want}`,
        `delete it first (tunkit down ${opts.name}), or ask for what it is`,
      );
    }
    const wantOwner = opts.owner === undefined ? idOrNull(t.owner) : opts.owner;
    const wantGroup = opts.group === undefined ? idOrNull(t.group) : opts.group;
    owner = wantOwner;
    group = wantGroup;
    const diff: string[] = [];
    if (!t.persist) diff.push("persist");
    if (!!t.pi !== pi) diff.push(pi ? "pi" : "no pi");
    if (!!t.vnetHdr !== vnet) diff.push(vnet ? "vnet_hdr" : "no vnet_hdr");
    if (idOrNull(t.owner) !== wantOwner) diff.push(wantOwner === null ? "no owner" : `owner ${wantOwner}`);
    if (idOrNull(t.group) !== wantGroup) diff.push(wantGroup === null ? "no group" : `group ${wantGroup}`);
    // TUNSETOWNER/TUNSETGROUP take only valid ids: an owner or group, once set, stays.
    const clear = [wantOwner === null && idOrNull(t.owner) !== null ? `owner ${t.owner}` : "", wantGroup === null && idOrNull(t.group) !== null ? `group ${t.group}` : ""].filter(Boolean);
    if (clear.length) {
      throw new TunkitError(
        `Device "${opts.name}" has ${clear.join(" and ")}, which the kernel cannot remove from an existing device`,
        `re-create it (tunkit down ${opts.name}, then up with the access you want), or keep its current access`,
      );
    }
    if (diff.length) {
      let dev;
      try {
        dev = openTun({ name: opts.name, mode, packetInfo: pi, vnetHdr: vnet, multiQueue: mq, persist: true });
      } catch (e) {
        if (codeOf(e) === "EBUSY") {
          const busy = new TunkitError(
            `Device "${opts.name}" needs ${diff.join(", ")}, but it is attached and cannot be changed now`,
            ((e as TunkitError).hint ? (e as TunkitError).hint + "; " : "") + "stop the reader, or run up with the settings it has",
          );
          // Another `up` may hold it for an instant: look again before giving up.
          throw new Raced(busy, true);
        }
        // Deleted between the look and the attach (ENODEV/EINVAL on a vanished name): start over.
        if (codeOf(e) === "EEXIST") throw new Raced(e);
        throw e;
      }
      try {
        if (wantOwner !== null && idOrNull(t.owner) !== wantOwner) dev.setOwner(wantOwner);
        if (wantGroup !== null && idOrNull(t.group) !== wantGroup) dev.setGroup(wantGroup);
      } finally {
        dev.close();
      }
      changes.push(...diff);
    }
  }
  const ifindex = link.ifindex;
  const set: { mtu?: number; txqlen?: number } = {};
  if (opts.mtu !== undefined && link.mtu !== opts.mtu) set.mtu = opts.mtu;
  if (opts.txqlen !== undefined && link.txqlen !== opts.txqlen) set.txqlen = opts.txqlen;
  if (set.mtu !== undefined || set.txqlen !== undefined) {
    try {
      await nl.setLink(ifindex, set);
    } catch (e) {
      // ENOMEM: the qdisc's ring is resized to txqueuelen packets at once.
      if (codeOf(e) === "ENOMEM" && set.txqlen !== undefined) {
        throw (e as TunkitError).withHint(`the kernel could not allocate a queue of ${set.txqlen} packets for ${opts.name}: give a smaller --txqueuelen (a tun's default is 500)`);
      }
      throw e;
    }
    if (set.mtu !== undefined) changes.push(`mtu ${set.mtu}`);
    if (set.txqlen !== undefined) changes.push(`txqueuelen ${set.txqlen}`);
  }
  if (planned.length) {
    const have = await nl.listAddresses({ dev: ifindex });
    for (const p of planned) {
      if (have.some((a) => sameAddress(a, p))) continue;
      try {
        await nl.addAddress({ dev: ifindex, address: p.spec.address, peer: p.spec.peer });
      } catch (e) {
        // Added by a concurrent run between our look and our add: start over and see.
        if (codeOf(e) === "EEXIST") throw new Raced(e);
        // The kernel answers EACCES, not a capability problem, when IPv6 is off on the device.
        if (codeOf(e) === "EACCES" && p.family === AF.INET6) {
          throw (e as TunkitError).withHint(
            `IPv6 is disabled on ${opts.name}: sysctl -w net.ipv6.conf.${opts.name}.disable_ipv6=0 (net.ipv6.conf.default.disable_ipv6 decides for new devices)`,
          );
        }
        throw e;
      }
      changes.push(`add ${p.spec.address}${p.spec.peer ? ` peer ${p.spec.peer}` : ""}`);
    }
  }
  if ((opts.up ?? true) && !(link.flags & IFF.UP)) {
    await nl.setLink(ifindex, { up: true });
    changes.push("up");
  }
  return { name: opts.name, ifindex, created, changes, owner, group };
}

/** True when `a` is the planned address (IPv6 carries only IFA_ADDRESS; IPv4 IFA_LOCAL + IFA_ADDRESS = peer or local). */
function sameAddress(a: { family: number; local?: string; address?: string; prefixLen: number }, p: PlannedAddress): boolean {
  const local = a.local ?? a.address;
  const peer = a.address ?? a.local;
  return a.family === p.family && local === p.local && a.prefixLen === p.prefixLen && (p.peer === undefined ? peer === local : peer === p.peer);
}

async function findLink(nl: Rtnl, name: string): Promise<Link | undefined> {
  try {
    return await nl.getLink(name);
  } catch (e) {
    if (e instanceof NetlinkError && e.code === "ENODEV") return undefined;
    throw e;
  }
}

/**
 * Deletes a tun/tap device (its addresses and routes go with it). Refuses devices that are not
 * tun/tap. Returns the processes that still had it attached (their next read fails).
 *
 * @example
 * ```ts
 * import { removeTun } from "./ensure.ts";
 * await removeTun("tun0");
 * ```
 */
export async function removeTun(name: string, rtnl?: Rtnl): Promise<{ holders: Array<{ pid: number; comm: string }> }> {
  checkIfName(name);
  const nl = rtnl ?? Rtnl.open();
  try {
    let link: Link;
    try {
      link = await nl.getLink(name);
    } catch (e) {
      if (e instanceof NetlinkError && e.code === "ENODEV") {
        throw new TunkitError(`Device "${name}" does not exist`, "tunkit list shows the tun/tap devices");
      }
      throw e;
    }
    if (!tunInfo(link)) {
      throw new TunkitError(
        `Device "${name}" is not a tun/tap device (kind ${link.linkInfo?.kind ?? "none"})`,
        `tunkit down only deletes tun/tap devices; use ip link del ${name} for others`,
      );
    }
    const holders = (tunHolders(name).get(name) ?? []).map((h) => ({ pid: h.pid, comm: h.comm }));
    await nl.deleteLink(link.ifindex);
    return { holders };
  } finally {
    if (!rtnl) nl.close();
  }
}
