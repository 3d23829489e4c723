/**
 * Which processes hold a tun/tap device open, read from /proc: a tun fd's fdinfo carries an
 * `iff:` line with the interface name (drivers/net/tun.c, tun_chr_show_fdinfo). The line does
 * not name the network namespace, so by default only processes in the caller's network
 * namespace (/proc/PID/ns/net) count: a `tun0` elsewhere is another device.
 *
 * @module
 */
import { sys } from "../ffi/libc.ts";

// /proc through libc (ffi/libc.ts), not node:fs: `tunkit list` would load node:fs for it alone
// (issue 11's start-up). A link that cannot be read (a process gone, not ours) is undefined, not
// an exception: a process's first Error costs ~0.5 ms and ~70 page faults of a listing.
const readdirSync = (path: string): string[] => sys.readDir(path);
const utf8 = new TextDecoder();
const readFileSync = (path: string, _enc: "utf8"): string => utf8.decode(sys.readFile(path));

/** A process that holds a tun/tap device open. */
export interface TunHolder {
  /** Process id. */
  pid: number;
  /** Command name from /proc/PID/comm. */
  comm: string;
  /** The fds (one per attached queue). */
  fds: number[];
}

/** Options of {@link tunHolders}. */
export interface TunHoldersOptions {
  /** Count holders in every network namespace, not only the caller's. */
  allNamespaces?: boolean;
  /** procfs mount point (tests). */
  proc?: string;
}

/**
 * Whether `s` is one or more ASCII digits (a /proc entry that is a process): what /^\d+$/
 * answered, by a loop (a process's first RegExp costs ~0.5 ms of `tunkit list`'s start-up, and
 * this ran on every /proc entry; issue 11).
 */
function isDecimal(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

function nsOf(path: string): string | undefined {
  return sys.readLinkIfAny(path);
}

/**
 * Lists the processes of this network namespace that have `ifname` attached (all tun/tap
 * devices when `ifname` is undefined, keyed by interface). Processes whose /proc entries cannot
 * be read are skipped.
 *
 * @example
 * ```ts
 * import { tunHolders } from "./holders.ts";
 * tunHolders().get("tun0"); // for example [{ pid: 1234, comm: "tunkit", fds: [5] }], undefined when free
 * ```
 */
export function tunHolders(ifname?: string, opts: TunHoldersOptions = {}): Map<string, TunHolder[]> {
  const proc = opts.proc ?? "/proc";
  const here = opts.allNamespaces ? undefined : (nsOf(`${proc}/thread-self/ns/net`) ?? nsOf(`${proc}/self/ns/net`));
  const out = new Map<string, TunHolder[]>();
  let pids: string[];
  try {
    pids = [];
    for (const p of readdirSync(proc)) if (isDecimal(p)) pids.push(p);
  } catch {
    return out;
  }
  for (const pid of pids) {
    if (here !== undefined && nsOf(`${proc}/${pid}/ns/net`) !== here) continue;
    let fds: string[];
    try {
      fds = readdirSync(`${proc}/${pid}/fd`);
    } catch {
      continue;
    }
    const found = new Map<string, number[]>();
    for (const fd of fds) {
      try {
        if (sys.readLinkIfAny(`${proc}/${pid}/fd/${fd}`) !== "/dev/net/tun") continue;
        const info = readFileSync(`${proc}/${pid}/fdinfo/${fd}`, "utf8");
        const m = /^iff:\s*(\S+)/m.exec(info);
        if (!m) continue;
        const name = m[1]!;
        if (ifname !== undefined && name !== ifname) continue;
        const list = found.get(name) ?? [];
        list.push(Number(fd));
        found.set(name, list);
      } catch {
        continue;
      }
    }
    if (found.size === 0) continue;
    let comm = "?";
    try {
      comm = readFileSync(`${proc}/${pid}/comm`, "utf8").trim();
    } catch {
      /* gone */
    }
    for (const [name, list] of found) {
      const arr = out.get(name) ?? [];
      arr.push({ pid: Number(pid), comm, fds: list });
      out.set(name, arr);
    }
  }
  return out;
}
