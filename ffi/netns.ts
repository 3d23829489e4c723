/**
 * Network-namespace switching for the calling thread (`ip -n NAME` semantics): open
 * /run/netns/NAME (or any nsfs path / fd) and setns(CLONE_NEWNET). Sockets and tun devices
 * opened afterwards belong to that namespace.
 *
 * @module
 */
import { nodeFs } from "../common/builtins.ts";
import { sys, raw, O } from "./libc.ts";
import { CLONE_NEWNET } from "./abi.ts";
import { UsageError } from "../common/errors.ts";
import { ERRNO, SysError } from "./errors.ts";

/** Where `ip netns add` puts named namespaces. */
export const NETNS_RUN_DIR = "/run/netns";

/** NAME_MAX: the longest file name (one path component) Linux takes, in bytes. */
const NAME_MAX = 255;
/** PATH_MAX - 1: the longest path open(2) takes, in bytes. */
const PATH_MAX = 4095;

const byteLength = (s: string) => new TextEncoder().encode(s).length;

/**
 * Path of a named namespace, or an absolute path as given. Refuses, before any syscall, what
 * cannot name a namespace: names that could escape /run/netns (`/`, `.`, `..`), NUL and other
 * control characters, names over 255 bytes (NAME_MAX, as `ip netns add` checks) and paths over
 * 4095 bytes or with a component over 255.
 *
 * @example
 * ```ts
 * import { netnsPath } from "./netns.ts";
 * netnsPath("blue");              // "/run/netns/blue"
 * netnsPath("/proc/1234/ns/net"); // "/proc/1234/ns/net"
 * // netnsPath("../etc"): UsageError 'Invalid network namespace name "../etc"'
 * ```
 */
export function netnsPath(name: string): string {
  if (/[\x00-\x1f\x7f]/.test(name)) {
    throw new UsageError(`Invalid network namespace name ${JSON.stringify(name)}: control characters not allowed`);
  }
  if (name.startsWith("/")) {
    const len = byteLength(name);
    if (len > PATH_MAX) throw new UsageError(`Invalid network namespace path: ${len} bytes, at most ${PATH_MAX}`);
    const long = name.split("/").find((c) => byteLength(c) > NAME_MAX);
    if (long !== undefined) {
      throw new UsageError(`Invalid network namespace path: a component of ${byteLength(long)} bytes, at most ${NAME_MAX}`);
    }
    return name;
  }
  if (!name || name === "." || name === ".." || name.includes("/")) {
    throw new UsageError(`Invalid network namespace name "${name}"`);
  }
  const len = byteLength(name);
  if (len > NAME_MAX) throw new UsageError(`Invalid network namespace name: ${len} bytes, at most ${NAME_MAX}`);
  return `${NETNS_RUN_DIR}/${name}`;
}

const WHERE = "a name from ip netns list, or a path such as /proc/PID/ns/net";

/** The hint for a failed open() of a namespace path: true for that errno and that path. */
function openHint(e: SysError, nameOrPath: string, path: string): string | undefined {
  const named = !nameOrPath.startsWith("/");
  switch (e.errno) {
    case ERRNO.ENOENT:
      return named
        ? `there is no network namespace "${nameOrPath}" (ip netns list shows the named ones)`
        : `${path} does not exist: give ${WHERE}`;
    case ERRNO.EACCES:
      return `this user may not read ${path}; entering a network namespace needs root anyway (CAP_SYS_ADMIN, as for ip -n): run with sudo`;
    case ERRNO.ENOTDIR:
      return `a component of ${path} is not a directory: give ${WHERE}`;
    case ERRNO.ELOOP:
      return `${path} has a loop of symbolic links: give ${WHERE}`;
    case ERRNO.ENAMETOOLONG:
      return `the path is too long for the kernel: give ${WHERE}`;
    default:
      return e.hint;
  }
}

/** What an fd that setns() refused with EINVAL is: "a mnt namespace", "a regular file"… */
function whatIsFd(fd: number): string {
  try {
    const ns = /^([a-z_]+):\[\d+\]$/.exec(nodeFs().readlinkSync(`/proc/self/fd/${fd}`));
    if (ns) return `a ${ns[1]} namespace`;
    const st = nodeFs().statSync(`/proc/self/fd/${fd}`); // not fstatSync: Deno's takes its own resource ids
    if (st.isFile()) return "a regular file";
    if (st.isDirectory()) return "a directory";
    return st.isCharacterDevice() || st.isBlockDevice() ? "a device node" : "another kind of file";
  } catch {
    return "a file of unknown kind";
  }
}

/** The error for a failed setns(), with a hint true for that errno. */
function setnsError(e: SysError, nameOrPath: string, path: string, fd: number): SysError {
  if (e.errno === ERRNO.EPERM) {
    return new SysError(
      "setns",
      e.errno,
      path,
      "entering a network namespace needs CAP_SYS_ADMIN over it (CAP_NET_ADMIN is not enough): run as root (sudo), as for ip -n",
    );
  }
  if (e.errno === ERRNO.EINVAL) {
    const what = whatIsFd(fd);
    const stale = !nameOrPath.startsWith("/") && what === "a regular file";
    return new SysError(
      "setns",
      e.errno,
      path,
      stale
        ? `${path} is a leftover file, not a mounted namespace (the namespace is gone): remove it with ip netns del ${nameOrPath}`
        : `${path} is ${what}, not a network namespace: give ${WHERE}`,
    );
  }
  return e;
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
  let self: number;
  try {
    self = sys.open("/proc/thread-self/ns/net", O.RDONLY);
  } catch (e) {
    if (e instanceof SysError && e.errno === ERRNO.ENOENT) {
      throw new SysError("open", e.errno, "/proc/thread-self/ns/net", "/proc is not mounted (or older than Linux 3.17): switching namespaces needs it");
    }
    throw e;
  }
  let target: number;
  try {
    target = sys.open(path, O.RDONLY);
  } catch (e) {
    raw.close(self);
    if (e instanceof SysError) throw new SysError("open", e.errno, path, openHint(e, nameOrPath, path));
    throw e;
  }
  try {
    sys.setns(target, CLONE_NEWNET, path);
  } catch (e) {
    raw.close(self);
    throw e instanceof SysError ? setnsError(e, nameOrPath, path, target) : e;
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
