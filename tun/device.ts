/**
 * TUN/TAP device lifecycle: create or attach (`TUNSETIFF`), name templates (`tun%d`), packet
 * info, vnet header, multi-queue, persist, owner and group, create-from-fd, delete a persistent
 * device, and the kernel's feature probe (`TUNGETFEATURES`).
 *
 * @module
 */
import { sys, raw, errno, ERRNO, O } from "../ffi/libc.ts";
import { IFF, IFREQ_SIZE, TUN_IOCTL, packIfreq, unpackIfreq, featureNames, VIRTIO_NET_HDR_SIZE } from "../ffi/abi.ts";
import { SysError, TUN_NODE_EACCES_HINT, TUN_NODE_FIX } from "../ffi/errors.ts";
import { UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import { TunQueue } from "./queue.ts";
import { tunHolders } from "./holders.ts";
import { groupName, userName } from "./owner.ts";
import { statSync } from "node:fs";

/** Path of the tun clone device. */
export const TUN_PATH = "/dev/net/tun";

/** How to create or attach a device. */
export interface TunOptions {
  /** Interface name or template with one `%d` (the kernel picks the number). Default "tun%d" / "tap%d". */
  name?: string;
  /** "tun" (IP packets, default) or "tap" (Ethernet frames). */
  mode?: "tun" | "tap";
  /** Keep the 4-byte packet-information header (flags + protocol) before each packet. Default false (IFF_NO_PI). */
  packetInfo?: boolean;
  /** Prefix each packet with a `struct virtio_net_hdr` (IFF_VNET_HDR), for GSO/GRO offloads. */
  vnetHdr?: boolean;
  /** Multi-queue device (IFF_MULTI_QUEUE) with `queues` queues (fds). Default 1 queue. */
  multiQueue?: boolean;
  /** Number of queues to open (multi-queue only), 1..256. */
  queues?: number;
  /** Set the device persistent (survives close; TUNSETPERSIST). Undefined leaves it as it is. */
  persist?: boolean;
  /** Owner uid allowed to attach (TUNSETOWNER). */
  owner?: number;
  /** Group gid allowed to attach (TUNSETGROUP). */
  group?: number;
  /** Fail with EBUSY/EEXIST instead of attaching when the device exists (IFF_TUN_EXCL). */
  exclusive?: boolean;
  /** Create without carrier (IFF_NO_CARRIER). */
  noCarrier?: boolean;
}

/** Flags of an attached device, decoded from TUNGETIFF. */
export interface TunFlags {
  /** IFF_TUN or IFF_TAP. */
  mode: "tun" | "tap";
  /** IFF_NO_PI is off: every packet starts with a 4-byte struct tun_pi. */
  packetInfo: boolean;
  /** IFF_VNET_HDR: every packet starts with a struct virtio_net_hdr. */
  vnetHdr: boolean;
  /** IFF_MULTI_QUEUE. */
  multiQueue: boolean;
  /** The device outlives its file descriptors (TUNSETPERSIST). */
  persist: boolean;
  /** The raw IFF_* bits. */
  raw: number;
}

/**
 * Decodes `ifr_flags` as TUNGETIFF returns them. TUNGETIFF reports IFF_NOFILTER (no socket
 * filter attached) in the same bit as IFF_NO_PI, so the packet-info setting cannot be read back:
 * it is taken from `packetInfo`, what the fd was opened with.
 */
export function decodeTunFlags(flags: number, packetInfo: boolean): TunFlags {
  return {
    mode: flags & IFF.TAP ? "tap" : "tun",
    packetInfo,
    vnetHdr: (flags & IFF.VNET_HDR) !== 0,
    multiQueue: (flags & IFF.MULTI_QUEUE) !== 0,
    persist: (flags & IFF.PERSIST) !== 0,
    raw: flags,
  };
}

/** Computes the TUNSETIFF flags for `opts`, validating them first. */
export function tunRequestFlags(opts: TunOptions): number {
  const mode = opts.mode ?? "tun";
  if (mode !== "tun" && mode !== "tap") throw new UsageError(`Invalid mode "${String(mode)}": expected tun or tap`);
  let f = mode === "tap" ? IFF.TAP : IFF.TUN;
  if (!opts.packetInfo) f |= IFF.NO_PI;
  if (opts.vnetHdr) f |= IFF.VNET_HDR;
  if (opts.multiQueue) f |= IFF.MULTI_QUEUE;
  if (opts.exclusive) f |= IFF.TUN_EXCL;
  if (opts.noCarrier) f |= IFF.NO_CARRIER;
  return f;
}

function validate(opts: TunOptions): { name: string; flags: number; queues: number } {
  const name = checkIfName(opts.name ?? `${opts.mode ?? "tun"}%d`, true);
  const flags = tunRequestFlags(opts);
  const queues = opts.queues ?? 1;
  if (!Number.isInteger(queues) || queues < 1 || queues > 256) {
    throw new UsageError(`Invalid queue count "${queues}": expected 1..256`);
  }
  if (queues > 1 && !opts.multiQueue) throw new UsageError(`Invalid queue count "${queues}": more than one queue needs multiQueue`);
  if (opts.owner !== undefined) checkId("owner", opts.owner);
  if (opts.group !== undefined) checkId("group", opts.group);
  return { name, flags, queues };
}

/**
 * Throws {@link UsageError} unless `v` is an id TUNSETOWNER/TUNSETGROUP take: 0..4294967294
 * (4294967295 is the kernel's "none").
 *
 * @example
 * ```ts
 * import { checkId } from "./device.ts";
 * checkId("owner", 1000); // ok
 * // checkId("group", -1): UsageError 'Invalid group "-1": expected a numeric id 0..4294967294'
 * ```
 */
export function checkId(what: "owner" | "group", v: number): void {
  if (!Number.isInteger(v) || v < 0 || v > 0xfffffffe) {
    throw new UsageError(`Invalid ${what} "${v}": expected a numeric id 0..4294967294`);
  }
}

function openClone(): number {
  try {
    return sys.open(TUN_PATH, O.RDWR);
  } catch (e) {
    if (e instanceof SysError && e.errno === ERRNO.EACCES) throw new SysError("open", e.errno, TUN_PATH, tunNodeAccessHint());
    throw e;
  }
}

/**
 * The hint for EACCES on /dev/net/tun, with the node's mode, owner and group and who we are:
 * a file permission, which neither CAP_NET_ADMIN nor `setcap` changes.
 *
 * @example
 * ```ts
 * import { tunNodeAccessHint } from "./device.ts";
 * tunNodeAccessHint({ mode: 0o20600, uid: 0, gid: 0 }, { uid: 65534, gid: 65534 });
 * // "/dev/net/tun is mode 0600, owner root, group root, and you are nobody (a file permission: …"
 * ```
 */
export function tunNodeAccessHint(st?: { mode: number; uid: number; gid: number }, me?: { uid: number; gid: number }): string {
  let node: { mode: number; uid: number; gid: number } | undefined = st;
  if (!node) {
    try {
      const s = statSync(TUN_PATH);
      node = { mode: s.mode, uid: s.uid, gid: s.gid };
    } catch {
      node = undefined;
    }
  }
  const who = me ?? { uid: sys.geteuid(), gid: sys.getegid() };
  if (!node) return TUN_NODE_EACCES_HINT;
  const perm = (node.mode & 0o777).toString(8).padStart(4, "0");
  const owner = userName(node.uid) ?? String(node.uid);
  const group = groupName(node.gid) ?? String(node.gid);
  const you = userName(who.uid) ?? `uid ${who.uid}`;
  return `${TUN_PATH} is mode ${perm}, owner ${owner}, group ${group}, and you are ${you} (a file permission: CAP_NET_ADMIN or setcap does not change it): ${TUN_NODE_FIX}`;
}

/** TUNSETIFF on a fresh fd; returns [fd, kernel-chosen name, flags]. Closes the fd on failure. */
function setIff(name: string, flags: number): { fd: number; name: string } {
  const fd = openClone();
  const req = packIfreq(name, flags);
  const r = raw.ioctl(fd, TUN_IOCTL.TUNSETIFF, req);
  if (r < 0) {
    const e = errno();
    raw.close(fd);
    throw setIffError(name, flags, e);
  }
  return { fd, name: unpackIfreq(req).name };
}

function setIffError(name: string, flags: number, e: number): SysError {
  if (e === ERRNO.EBUSY) {
    const holders = tunHolders(name).get(name) ?? [];
    const who = holders.map((h) => `${h.comm} (pid ${h.pid})`).join(", ");
    return new SysError(
      "ioctl(TUNSETIFF)",
      e,
      name,
      who
        ? `the device is attached by ${who}; a single-queue device has one reader (use multi-queue, or tunkit dump --sniff to watch it)`
        : "the device is attached by another process (a single-queue device has one reader)",
    );
  }
  if (e === ERRNO.EINVAL) {
    return new SysError(
      "ioctl(TUNSETIFF)",
      e,
      name,
      `"${name}" exists with another mode or queue setting, or is not a tun/tap device (asked: ${flags & IFF.TAP ? "tap" : "tun"}${flags & IFF.MULTI_QUEUE ? ", multi_queue" : ""})`,
    );
  }
  if (e === ERRNO.EEXIST) return new SysError("ioctl(TUNSETIFF)", e, name, "the device exists and exclusive creation was asked");
  if (e === ERRNO.EPERM) {
    // The kernel says EPERM for two different things: attaching to an existing device whose
    // owner/group is not us (tun_not_capable), and creating one without CAP_NET_ADMIN.
    const exists = !name.includes("%") && sys.ifNameToIndex(name) !== 0;
    return new SysError(
      "ioctl(TUNSETIFF)",
      e,
      name,
      exists
        ? `${name} belongs to another user or group (tunkit show ${name} names them): attach as that user or a member of that group, have root hand it over (sudo tunkit up ${name} --user ${userName(sys.geteuid()) ?? sys.geteuid()}), or run with CAP_NET_ADMIN`
        : "creating a tun/tap device needs CAP_NET_ADMIN: run as root, give the binary the capability (setcap cap_net_admin+ep), or work in a network namespace of your own (unshare -rn: a user namespace alone is not enough)",
    );
  }
  return new SysError("ioctl(TUNSETIFF)", e, name);
}

/**
 * An open tun/tap device. It is its own first queue ({@link TunQueue}: read/write/listen…);
 * `queues` holds every queue of a multi-queue device.
 *
 * @example
 * ```ts
 * import { openTun } from "../mod.ts";
 * const dev = openTun({ name: "tun%d", persist: false });
 * console.log(dev.name, dev.flags.mode); // tun0 tun (the first free tunN)
 * dev.close();
 * ```
 */
export class TunDevice extends TunQueue {
  /** Every queue, `queues[0] === this`. */
  readonly queues: TunQueue[];
  /** Flags as the kernel reports them (TUNGETIFF); refreshed by setPersist(). */
  flags: TunFlags;

  /** @internal use openTun() / TunDevice.fromFd() */
  constructor(fd: number, name: string, packetInfo: boolean) {
    super(fd, name);
    this.queues = [this];
    this.flags = this.readFlags(packetInfo);
  }

  /** Reads the device's flags back with TUNGETIFF (what the kernel actually set). */
  private readFlags(packetInfo: boolean): TunFlags {
    const req = new Uint8Array(IFREQ_SIZE);
    sys.ioctl(this.fd, TUN_IOCTL.TUNGETIFF, req, "TUNGETIFF", this.name);
    return decodeTunFlags(unpackIfreq(req).flags, packetInfo);
  }

  /**
   * Wraps an fd that is already attached to a tun/tap device (privilege separation: a
   * privileged parent opens it, this process only does I/O). Takes ownership of `fd`.
   */
  static fromFd(fd: number, opts: { packetInfo?: boolean } = {}): TunDevice {
    if (!Number.isInteger(fd) || fd < 0) throw new UsageError(`Invalid fd "${fd}": expected a non-negative integer`);
    const req = new Uint8Array(IFREQ_SIZE);
    sys.ioctl(fd, TUN_IOCTL.TUNGETIFF, req, "TUNGETIFF", `fd ${fd}`);
    return new TunDevice(fd, unpackIfreq(req).name, opts.packetInfo ?? false);
  }

  /** Adds one more queue to a multi-queue device. */
  addQueue(): TunQueue {
    if (!this.flags.multiQueue) throw new UsageError(`Device "${this.name}" is not multi-queue`);
    const { fd } = setIff(this.name, tunRequestFlags({ ...this.flags, multiQueue: true }));
    const q = new TunQueue(fd, this.name);
    this.queues.push(q);
    return q;
  }

  /** Makes the device persistent (it stays when the last fd closes) or not. */
  setPersist(on: boolean): void {
    sys.ioctlValue(this.fd, TUN_IOCTL.TUNSETPERSIST, on ? 1 : 0, "TUNSETPERSIST", this.name);
    this.flags = this.readFlags(this.flags.packetInfo);
  }

  /**
   * Sets the uid allowed to attach. An owner cannot be cleared once set (the kernel answers
   * EINVAL for -1): re-create the device to drop it.
   */
  setOwner(uid: number): void {
    checkId("owner", uid);
    sys.ioctlValue(this.fd, TUN_IOCTL.TUNSETOWNER, uid >>> 0, "TUNSETOWNER", this.name);
  }

  /** Sets the gid allowed to attach. Like the owner, it cannot be cleared once set. */
  setGroup(gid: number): void {
    checkId("group", gid);
    sys.ioctlValue(this.fd, TUN_IOCTL.TUNSETGROUP, gid >>> 0, "TUNSETGROUP", this.name);
  }

  /** Size of the vnet header before each packet (0 without IFF_VNET_HDR). */
  vnetHdrSize(): number {
    if (!this.flags.vnetHdr) return 0;
    const b = new Uint8Array(4);
    sys.ioctl(this.fd, TUN_IOCTL.TUNGETVNETHDRSZ, b, "TUNGETVNETHDRSZ", this.name);
    return new DataView(b.buffer).getInt32(0, true) || VIRTIO_NET_HDR_SIZE;
  }

  /** Sets the offloads the reader accepts (TUNSETOFFLOAD, TUN_F_* bits; needs vnet_hdr for any). */
  setOffload(flags: number): void {
    sys.ioctlValue(this.fd, TUN_IOCTL.TUNSETOFFLOAD, flags >>> 0, "TUNSETOFFLOAD", this.name);
  }

  /** Closes every queue. Idempotent. A non-persistent device disappears with its last fd. */
  override close(): void {
    for (let i = this.queues.length - 1; i >= 1; i--) this.queues[i]!.close();
    super.close();
  }
}

/**
 * Creates a tun/tap device, or attaches to the existing one of that name.
 *
 * @example
 * ```ts
 * import { openTun } from "../mod.ts";
 * const dev = openTun({ name: "tun0", persist: true, owner: 1000 });
 * dev.close(); // tun0 stays: persistent
 * ```
 */
export function openTun(opts: TunOptions = {}): TunDevice {
  const { name, flags, queues } = validate(opts);
  const first = setIff(name, flags);
  let dev: TunDevice;
  try {
    dev = new TunDevice(first.fd, first.name, opts.packetInfo ?? false);
  } catch (e) {
    raw.close(first.fd);
    throw e;
  }
  try {
    for (let i = 1; i < queues; i++) dev.addQueue();
    if (opts.owner !== undefined) dev.setOwner(opts.owner);
    if (opts.group !== undefined) dev.setGroup(opts.group);
    if (opts.persist !== undefined) dev.setPersist(opts.persist);
  } catch (e) {
    dev.close();
    throw e;
  }
  return dev;
}

/**
 * Deletes a persistent tun/tap device through /dev/net/tun: attaches (trying tun and tap,
 * single- and multi-queue, as the device was made), clears persist, closes. Throws SysError
 * ENODEV-like errors when there is no such tun/tap device.
 *
 * @example
 * ```ts
 * import { deleteTun } from "../mod.ts";
 * deleteTun("tun0");
 * ```
 */
export function deleteTun(name: string): void {
  checkIfName(name);
  if (sys.ifNameToIndex(name) === 0) {
    throw new SysError("delete", ERRNO.ENODEV, name, `there is no interface "${name}" in this network namespace`);
  }
  let last: unknown;
  for (const f of [IFF.TUN, IFF.TAP, IFF.TUN | IFF.MULTI_QUEUE, IFF.TAP | IFF.MULTI_QUEUE]) {
    let fd: number;
    try {
      ({ fd } = setIff(name, f | IFF.NO_PI));
    } catch (e) {
      last = e;
      if (e instanceof SysError && e.errno === ERRNO.EINVAL) continue;
      throw e;
    }
    try {
      sys.ioctlValue(fd, TUN_IOCTL.TUNSETPERSIST, 0, "TUNSETPERSIST", name);
    } finally {
      raw.close(fd);
    }
    return;
  }
  throw last instanceof SysError && last.errno === ERRNO.EINVAL
    ? new SysError("delete", ERRNO.EINVAL, name, `"${name}" is not a tun/tap device`)
    : (last as Error);
}

/** What the kernel's tun driver supports. */
export interface TunFeatures {
  /** The raw IFF_* bits TUNGETFEATURES returned. */
  raw: number;
  /** Names of the IFF_* bits set. */
  names: string[];
}

/**
 * Asks the kernel which TUNSETIFF flags it supports (TUNGETFEATURES).
 *
 * @example
 * ```ts
 * import { tunFeatures } from "../tun/mod.ts";
 * tunFeatures().names; // ["tun", "tap", "napi", ..., "multi_queue", "vnet_hdr", ...]
 * ```
 */
export function tunFeatures(): TunFeatures {
  const fd = openClone();
  try {
    const b = new Uint8Array(4);
    sys.ioctl(fd, TUN_IOCTL.TUNGETFEATURES, b, "TUNGETFEATURES");
    const v = new DataView(b.buffer).getUint32(0, true);
    return { raw: v, names: featureNames(v) };
  } finally {
    raw.close(fd);
  }
}
