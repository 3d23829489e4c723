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
import { IFF } from "../netlink/route/constants.ts";
import { openTun } from "./device.ts";
import { tunHolders } from "./holders.ts";

/** An address to have on the device: "192.0.2.1/24", or with a point-to-point peer. */
export type EnsureAddress = string | { address: string; peer?: string };

/** The desired state of a device. */
export interface EnsureTunOptions {
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
  mtu?: number;
  txqlen?: number;
  /** Bring the link up (default true); false leaves the admin state alone. */
  up?: boolean;
  /** Connection to use (opened and closed here when absent). */
  rtnl?: Rtnl;
}

/** What {@link ensureTun} found and did. */
export interface EnsureTunResult {
  name: string;
  ifindex: number;
  /** True when the device did not exist. */
  created: boolean;
  /** What changed, in order, as short phrases ("created", "owner 1000", "mtu 1400", "add 192.0.2.1/24", "up"); empty when nothing did. */
  changes: string[];
}

interface PlannedAddress {
  family: number;
  local: string;
  prefixLen: number;
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

function checkId(v: number | null | undefined, what: string): void {
  if (v !== undefined && v !== null && !(Number.isInteger(v) && v >= 0 && v <= 0xfffffffe)) {
    throw new UsageError(`Invalid ${what} "${v}": expected a numeric id 0..4294967294`);
  }
}

function checkRange(v: number | undefined, what: string, min: number, max: number): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
    throw new UsageError(`Invalid ${what} "${v}": expected ${min}..${max}`);
  }
}

/** Validates everything about `opts` without touching the system. */
export function validateEnsureTun(opts: EnsureTunOptions): PlannedAddress[] {
  checkIfName(opts.name);
  if (opts.mode !== undefined && opts.mode !== "tun" && opts.mode !== "tap") {
    throw new UsageError(`Invalid mode "${String(opts.mode)}": expected tun or tap`);
  }
  checkId(opts.owner, "owner");
  checkId(opts.group, "group");
  checkId(opts.defaultOwner, "owner");
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
 * Makes the device exist with the given settings, idempotently. Creates a persistent tun/tap
 * (or reuses the existing one, refusing one of another mode), sets owner/group/persist when they
 * differ, sets MTU/txqueuelen, adds missing addresses, and brings it up. Everything is validated
 * before the first syscall.
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
  const mode = opts.mode ?? "tun";
  const pi = opts.packetInfo ?? false;
  const vnet = opts.vnetHdr ?? false;
  const mq = opts.multiQueue ?? false;
  const nl = opts.rtnl ?? Rtnl.open();
  const changes: string[] = [];
  try {
    let link = await findLink(nl, opts.name);
    let created = false;
    if (!link) {
      const dev = openTun({
        name: opts.name, mode, packetInfo: pi, vnetHdr: vnet, multiQueue: mq, persist: true,
        owner: opts.owner ?? (opts.owner === undefined && opts.group === undefined ? opts.defaultOwner : undefined),
        group: opts.group ?? undefined,
      });
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
          if (e instanceof TunkitError && (e as { code?: string }).code === "EBUSY") {
            throw new TunkitError(
              `Device "${opts.name}" needs ${diff.join(", ")}, but it is attached and cannot be changed now`,
              (e.hint ? e.hint + "; " : "") + "stop the reader, or run up with the settings it has",
            );
          }
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
    const ifindex = link.index;
    const set: { mtu?: number; txqlen?: number } = {};
    if (opts.mtu !== undefined && link.mtu !== opts.mtu) set.mtu = opts.mtu;
    if (opts.txqlen !== undefined && link.txqlen !== opts.txqlen) set.txqlen = opts.txqlen;
    if (set.mtu !== undefined || set.txqlen !== undefined) {
      await nl.setLink(ifindex, set);
      if (set.mtu !== undefined) changes.push(`mtu ${set.mtu}`);
      if (set.txqlen !== undefined) changes.push(`txqueuelen ${set.txqlen}`);
    }
    if (planned.length) {
      const have = await nl.listAddresses({ dev: ifindex });
      for (const p of planned) {
        // IPv6 addresses carry only IFA_ADDRESS; IPv4 ones IFA_LOCAL (+ IFA_ADDRESS = peer or local).
        const exists = have.some((a) => {
          const local = a.local ?? a.address;
          const peer = a.address ?? a.local;
          return a.family === p.family && local === p.local && a.prefixLen === p.prefixLen &&
            (p.peer === undefined ? peer === local : peer === p.peer);
        });
        if (exists) continue;
        await nl.addAddress({ dev: ifindex, address: p.spec.address, peer: p.spec.peer });
        changes.push(`add ${p.spec.address}${p.spec.peer ? ` peer ${p.spec.peer}` : ""}`);
      }
    }
    if ((opts.up ?? true) && !(link.flags & IFF.UP)) {
      await nl.setLink(ifindex, { up: true });
      changes.push("up");
    }
    return { name: opts.name, ifindex, created, changes };
  } finally {
    if (!opts.rtnl) nl.close();
  }
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
    await nl.deleteLink(link.index);
    return { holders };
  } finally {
    if (!rtnl) nl.close();
  }
}
