/**
 * tunkit: TUN/TAP devices, rtnetlink and packet tools for Bun and Deno.
 *
 * @example
 * ```ts
 * import { openTun } from "./mod.ts";
 * const dev = openTun({ name: "tun%d" });
 * const pkt = await dev.read(); // never blocks the event loop
 * dev.close();
 * ```
 *
 * @module
 */

// Errors
export { TunkitError, UsageError, TruncatedError, MalformedError, isDecodeError } from "./common/errors.ts";
export { SysError, DeviceClosedError, ERRNO, errnoName } from "./ffi/errors.ts";
export { checkIfName, IFNAME_MAX } from "./common/ifname.ts";
export { fromHex, toHex } from "./common/hex.ts";
export { Cursor } from "./common/cursor.ts";

// Devices and packet I/O
export {
  openTun, deleteTun, tunFeatures, decodeTunFlags, TunDevice, TUN_PATH,
  type TunOptions, type TunFlags, type TunFeatures,
} from "./tun/device.ts";
export { TunQueue, MAX_PACKET, type ListenOptions } from "./tun/queue.ts";
export { tunHolders, type TunHolder } from "./tun/holders.ts";
export { IFF, TUN_F, featureNames } from "./ffi/abi.ts";
export { enterNetns, netnsPath, NETNS_RUN_DIR } from "./ffi/netns.ts";

// --- netlink (rtnetlink): exports added as netlink/ lands -------------------------------------
