/**
 * Full tunnel: `AllowedIPs = 0.0.0.0/0` (or `::/0`) with `Table = auto`, routed as wg-quick does
 * it, with tunkit's own netlink. The interface's UDP sockets carry a firewall mark (the table
 * number, 51820 or the first free one after it, or the configured FwMark); per family:
 *
 *     ip rule add pref P-1 table main suppress_prefixlength 0   (more specific main routes win: the LAN)
 *     ip rule add pref P   not fwmark T table T                  (everything else into the tunnel)
 *     ip route add default dev IFACE table T
 *
 * where P is just below the first existing rule (32765 on a fresh system, where wg-quick's land
 * too). The tunnel's own datagrams carry mark T, skip the second rule and leave by the main
 * table: no routing loop.
 *
 * Beyond wg-quick, table T also gets `unreachable default metric 4294967295`: while the tunnel
 * runs its device route wins; if the process dies without cleaning up (SIGKILL, a crash), the
 * device route goes with the tun and traffic meets "unreachable" instead of leaking around the
 * tunnel through the main table. `tunkit wg down IFACE` (or the interface closing normally)
 * removes all of it, helped by a record of what was installed (`/run/tunkit/wg-IFACE.json`).
 *
 * @module
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Rtnl, RouteSpec, RuleSpec } from "../netlink/rtnl.ts";
import { AF, RT_TABLE } from "../netlink/route/constants.ts";
import { isNetlinkErrno } from "../netlink/rtnl.ts";
import type { WgConfig } from "./config.ts";

/** First table (and mark) tried, as wg-quick does. */
export const FULL_TUNNEL_TABLE = 51820;
/** Metric of the fail-closed route: behind any other default in the table. */
const LAST_METRIC = 0xffffffff;

/** What was installed for one interface; enough to remove it again. */
export interface FullTunnelRecord {
  /** The interface. */
  iface: string;
  /** The routing table of its routes. */
  table: number;
  /** Policy rules added. */
  rules: RuleSpec[];
  /** Routes added. */
  routes: RouteSpec[];
}

/**
 * The families that need a full tunnel: those with a /0 AllowedIPs under `Table = auto`.
 *
 * @example
 * ```ts
 * import { fullTunnelFamilies } from "./fulltunnel.ts";
 * import { parseConfig } from "./config.ts";
 * fullTunnelFamilies(parseConfig("[Interface]\n[Peer]\nPublicKey = xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=\nAllowedIPs = 0.0.0.0/0\n")); // [4]
 * ```
 */
export function fullTunnelFamilies(cfg: WgConfig): (4 | 6)[] {
  if (cfg.table !== "auto") return [];
  const out = new Set<4 | 6>();
  for (const p of cfg.peers) for (const a of p.allowedIps) if (a.len === 0) out.add(a.bytes.length === 4 ? 4 : 6);
  return [...out].sort();
}

/**
 * The table (= firewall mark) to use: the configured FwMark, else the first free one from 51820.
 *
 * @example
 * ```ts
 * import { chooseTable } from "./fulltunnel.ts";
 * import { Rtnl } from "../netlink/rtnl.ts";
 * await chooseTable(Rtnl.open(), 0x1234); // 4660
 * ```
 */
export async function chooseTable(nl: Rtnl, fwmark?: number): Promise<number> {
  if (fwmark) return fwmark;
  // A table that never held a route does not exist: the kernel answers ENOENT to its dump.
  const count = async (family: number, table: number) => {
    try {
      return (await nl.listRoutes({ family, table })).length;
    } catch (e) {
      if (isNetlinkErrno(e, "ENOENT")) return 0;
      throw e;
    }
  };
  for (let t = FULL_TUNNEL_TABLE; ; t++) {
    if ((await count(AF.INET, t)) + (await count(AF.INET6, t)) === 0) return t;
  }
}

/**
 * Plans the rules and routes (no syscall). `firstPref` per family is the lowest non-zero
 * priority among the rules that exist now.
 *
 * @example
 * ```ts
 * import { planFullTunnel } from "./fulltunnel.ts";
 * const r = planFullTunnel("wg0", 51820, [4], { 4: 32766, 6: 32766 });
 * r.rules.map((x) => x.priority); // [32764, 32765]
 * ```
 */
export function planFullTunnel(iface: string, table: number, families: readonly (4 | 6)[], firstPref: Record<4 | 6, number>): FullTunnelRecord {
  const rules: RuleSpec[] = [];
  const routes: RouteSpec[] = [];
  for (const f of families) {
    const family = f === 4 ? AF.INET : AF.INET6;
    const p = firstPref[f];
    routes.push({ dst: "default", family, dev: iface, table, protocol: "static" });
    routes.push({ dst: "default", family, type: "unreachable", table, metric: LAST_METRIC, protocol: "static" });
    rules.push({ family, priority: p - 2, table: RT_TABLE.MAIN, suppressPrefixlen: 0 });
    rules.push({ family, priority: p - 1, not: true, fwmark: table, table });
  }
  return { iface, table, rules, routes };
}

/**
 * Where the record of `iface` lives: $TUNKIT_RUN_DIR, else /run/tunkit.
 *
 * @example
 * ```ts
 * import { recordPath } from "./fulltunnel.ts";
 * recordPath("wg0", {}); // "/run/tunkit/wg-wg0.json"
 * ```
 */
export function recordPath(iface: string, env: Record<string, string | undefined> = process.env): string {
  return join(env.TUNKIT_RUN_DIR || "/run/tunkit", `wg-${iface}.json`);
}

async function firstPrefs(nl: Rtnl): Promise<Record<4 | 6, number>> {
  const lowest = async (family: number) => {
    let min = 32766;
    for (const r of await nl.listRules(family)) if (r.priority && r.priority < min) min = r.priority;
    return Math.max(min, 3);
  };
  return { 4: await lowest(AF.INET), 6: await lowest(AF.INET6) };
}

/**
 * Installs the full-tunnel routing for `iface` (its sockets must already carry mark `table`).
 * Routes first, then the suppress rule, then the catch-all: traffic never meets an empty table.
 * Writes the record before the first change; on failure removes what it added and rethrows.
 *
 * @example
 * ```ts
 * import { installFullTunnel, removeFullTunnel } from "./fulltunnel.ts";
 * import { Rtnl } from "../netlink/rtnl.ts";
 * const nl = Rtnl.open();
 * const rec = await installFullTunnel(nl, "wg0", 51820, [4, 6]); // wg0's sockets carry mark 51820
 * await removeFullTunnel(nl, rec);
 * ```
 */
export async function installFullTunnel(nl: Rtnl, iface: string, table: number, families: readonly (4 | 6)[]): Promise<FullTunnelRecord> {
  const rec = planFullTunnel(iface, table, families, await firstPrefs(nl));
  const path = recordPath(iface);
  mkdirSync(join(path, ".."), { recursive: true, mode: 0o755 });
  writeFileSync(path, JSON.stringify(rec) + "\n", { mode: 0o600 });
  const done: FullTunnelRecord = { iface, table, rules: [], routes: [] };
  try {
    for (const r of rec.routes) {
      await nl.addRoute(r);
      done.routes.push(r);
    }
    for (const r of rec.rules) {
      await nl.addRule(r);
      done.rules.push(r);
    }
    // Reverse-path filtering must see the mark (wg-quick does the same).
    if (families.includes(4)) {
      try {
        writeFileSync("/proc/sys/net/ipv4/conf/all/src_valid_mark", "1\n");
      } catch {
        /* no /proc/sys: rp_filter then cannot be on either */
      }
    }
  } catch (e) {
    await removeFullTunnel(nl, done);
    rmSync(path, { force: true });
    throw e;
  }
  return rec;
}

/**
 * Removes what {@link installFullTunnel} added: the catch-all rule first (traffic falls back to
 * the main table only once the tunnel is out of the way), then the suppress rule, then the
 * routes. What is already gone is skipped. Removes the record.
 *
 * @example
 * ```ts
 * import { readRecord, removeFullTunnel } from "./fulltunnel.ts";
 * import { Rtnl } from "../netlink/rtnl.ts";
 * const left = readRecord("wg0"); // what a killed wg0 left behind, if anything
 * if (left) await removeFullTunnel(Rtnl.open(), left);
 * ```
 */
export async function removeFullTunnel(nl: Rtnl, rec: FullTunnelRecord): Promise<void> {
  const gone = (e: unknown) => isNetlinkErrno(e, "ENOENT") || isNetlinkErrno(e, "ESRCH");
  for (const r of [...rec.rules].reverse()) {
    try {
      await nl.deleteRule(r);
    } catch (e) {
      if (!gone(e)) throw e;
    }
  }
  for (const r of [...rec.routes].reverse()) {
    try {
      await nl.deleteRoute(r.dev ? { ...r, dev: undefined } : r);
    } catch (e) {
      if (!gone(e)) throw e;
    }
  }
  rmSync(recordPath(rec.iface), { force: true });
}

/**
 * The record of `iface` left by an interface that did not remove it, if any.
 *
 * @example
 * ```ts
 * import { readRecord } from "./fulltunnel.ts";
 * readRecord("no-such-wg"); // undefined
 * ```
 */
export function readRecord(iface: string): FullTunnelRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(recordPath(iface), "utf8")) as FullTunnelRecord;
    return r && r.iface === iface && Array.isArray(r.rules) && Array.isArray(r.routes) ? r : undefined;
  } catch {
    return undefined;
  }
}
