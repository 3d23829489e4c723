/**
 * Network-namespace switching for the calling thread (`ip -n NAME` semantics): open
 * /run/netns/NAME (or any nsfs path / fd) and setns(CLONE_NEWNET). Sockets and tun devices
 * opened afterwards belong to that namespace.
 *
 * @module
 */
import { sys, raw, O } from "./libc.ts";
import { CLONE_NEWNET } from "./abi.ts";
import { UsageError } from "../common/errors.ts";
import { SysError } from "./errors.ts";

/** Where `ip netns add` puts named namespaces. */
export const NETNS_RUN_DIR = "/run/netns";

/** Path of a named namespace; refuses names that could escape /run/netns. */
export function netnsPath(name: string): string {
  if (name.startsWith("/")) return name;
  if (!name || name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    throw new UsageError(`Invalid network namespace name "${name}"`);
  }
  return `${NETNS_RUN_DIR}/${name}`;
}

/**
 * Moves the calling thread into the network namespace `nameOrPath` (a name under /run/netns or
 * an absolute nsfs path such as /proc/PID/ns/net). Returns a function that moves it back.
 *
 * @example
 * ```ts
 * import { enterNetns } from "./netns.ts";
 * const back = enterNetns("blue");
 * // ... open sockets / tun devices inside "blue" ...
 * back();
 * ```
 */
export function enterNetns(nameOrPath: string): () => void {
  const path = netnsPath(nameOrPath);
  const self = sys.open("/proc/thread-self/ns/net", O.RDONLY);
  let target: number;
  try {
    target = sys.open(path, O.RDONLY);
  } catch (e) {
    raw.close(self);
    if (e instanceof SysError && e.code === "ENOENT") {
      throw new SysError("open", e.errno, path, `there is no network namespace "${nameOrPath}" (ip netns list shows the named ones)`);
    }
    throw e;
  }
  try {
    sys.setns(target, CLONE_NEWNET, path);
  } catch (e) {
    raw.close(self);
    throw e;
  } finally {
    raw.close(target);
  }
  return () => {
    try {
      sys.setns(self, CLONE_NEWNET, "(original namespace)");
    } finally {
      raw.close(self);
    }
  };
}
