/**
 * {@link tunHolders} limited to this network namespace. /proc lists every process of the pid
 * namespace, and a tun fd's `iff:` line names the interface but not its namespace, so a
 * `tun0` in another network namespace would be reported too. A holder counts as local when
 * its network namespace (/proc/PID/ns/net) is the calling thread's.
 *
 * @module
 */
import { readlinkSync } from "node:fs";
import { tunHolders, type TunHolder } from "./holders.ts";

function nsOf(path: string): string | undefined {
  try {
    return readlinkSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Processes of this network namespace that hold tun/tap devices open, by interface name.
 *
 * @example
 * ```ts
 * import { localTunHolders } from "./local-holders.ts";
 * localTunHolders("tun0").get("tun0"); // [{ pid, comm, fds }] or undefined
 * ```
 */
export function localTunHolders(ifname?: string, proc = "/proc"): Map<string, TunHolder[]> {
  const all = tunHolders(ifname, proc);
  const here = nsOf(`${proc}/thread-self/ns/net`) ?? nsOf(`${proc}/self/ns/net`);
  if (here === undefined) return all;
  const out = new Map<string, TunHolder[]>();
  for (const [name, list] of all) {
    const mine = list.filter((h) => nsOf(`${proc}/${h.pid}/ns/net`) === here);
    if (mine.length) out.set(name, mine);
  }
  return out;
}
