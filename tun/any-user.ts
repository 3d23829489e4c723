/**
 * The warning for a tun/tap device with neither owner nor group, in a module of its own: `tunkit
 * list` words it for every such device, and loading it must not load device creation
 * (tun/ensure.ts, which re-exports it, pulls in the rtnetlink client and the device layer).
 *
 * @module
 */
import { sys } from "../ffi/libc.ts";

/** The tun/tap clone device (tun/device.ts `TUN_PATH`). */
const TUN_NODE = "/dev/net/tun";

/**
 * The warning for a device with neither owner nor group: any local user who can open
 * /dev/net/tun may attach it (read its traffic, inject packets). Says how open the node is here.
 *
 * @example
 * ```ts
 * import { anyUserWarning } from "./any-user.ts";
 * anyUserWarning("tun0", { mode: 0o20666 });
 * // "tun0 has no owner and no group: any local user can attach it (/dev/net/tun is mode 0666), …"
 * ```
 */
export function anyUserWarning(name: string, node: { mode: number } | undefined = statTunNode(), asked = false): string {
  const perm = node ? node.mode & 0o777 : undefined;
  const who = perm === undefined
    ? "any local user who can open /dev/net/tun can attach it"
    : perm & 0o006
      ? `any local user can attach it (/dev/net/tun is mode ${perm.toString(8).padStart(4, "0")})`
      : `any local user who can open /dev/net/tun (mode ${perm.toString(8).padStart(4, "0")} here, so not every user today) can attach it`;
  return asked
    ? `${name} has no owner and no group, as --any-user asks: ${who}, to read its traffic and inject packets`
    : `${name} has no owner and no group: ${who}, to read its traffic and inject packets; limit it with tunkit up ${name} --user USER (or --group GROUP)`;
}

function statTunNode(): { mode: number } | undefined {
  try {
    return { mode: sys.statMode(TUN_NODE) }; // libc, not node:fs: `tunkit list`'s start-up
  } catch {
    return undefined;
  }
}
