/**
 * Auto-route: a dedicated routing table with a default route into the tun, and policy rules
 * that send traffic there — except to the proxy itself (no routing loop) and to `--exclude`d
 * prefixes, and except where the main table has a more specific route than its default
 * (`suppress_prefixlength 0`: the LAN and the proxy's own link stay reachable). Every rule and
 * route carries tunkit's protocol number ({@link RTPROT_TUNKIT}) so {@link cleanupTunkit}
 * finds exactly tunkit's leftovers after a crash.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { Rtnl, RuleSpec, RouteSpec } from "../netlink/rtnl.ts";
import { isNetlinkErrno } from "../netlink/rtnl.ts";
import { AF, RTM, RTPROT_TUNKIT, RT_TABLE } from "../netlink/route/constants.ts";
import { encodeRule } from "../netlink/route/rule.ts";
import { parsePrefix, formatAddr } from "../netlink/route/ip.ts";
import type { Rule } from "../netlink/route/rule.ts";
import type { Route } from "../netlink/route/route.ts";

/** Default table id of auto-route. */
export const AUTO_ROUTE_TABLE = 8484;
/** Default priority of the first auto-route rule (the others follow: +1, +2). */
export const AUTO_ROUTE_PRIORITY = 8484;

/** Options of {@link planAutoRoute}. */
export interface AutoRouteOptions {
  /** The tun device. */
  dev: string;
  /** Families to route (those the tun has an address of). */
  families: readonly (4 | 6)[];
  table?: number;
  priority?: number;
  /** Addresses of the proxy server (each becomes a host exclusion). */
  proxy: readonly string[];
  /** More prefixes that must not enter the tun. */
  exclude?: readonly string[];
}

/** The rules and routes auto-route installs, in order. */
export interface AutoRoutePlan {
  rules: RuleSpec[];
  routes: RouteSpec[];
}

function canonicalPrefix(text: string): { family: 4 | 6; cidr: string } {
  const p = parsePrefix(text);
  const b = p.bytes.slice();
  for (let bit = p.len; bit < b.length * 8; bit++) b[bit >> 3] = b[bit >> 3]! & ~(0x80 >> (bit & 7));
  return { family: p.family === AF.INET6 ? 6 : 4, cidr: `${formatAddr(b)}/${p.len}` };
}

/**
 * Plans the rules and routes (validates, no syscall). Per family: one `to PREFIX lookup main`
 * rule per exclusion (the proxy first), then `lookup main suppress_prefixlength 0`, then
 * `lookup TABLE`; and `default dev DEV table TABLE`.
 *
 * @example
 * ```ts
 * import { planAutoRoute } from "./autoroute.ts";
 * const p = planAutoRoute({ dev: "tun0", families: [4], proxy: ["192.0.2.2"] });
 * p.rules.map((r) => r.priority); // [8484, 8485, 8486]
 * p.routes[0]; // { dst: "default", family: 2, dev: "tun0", table: 8484, protocol: 84, scope: "link" }
 * ```
 */
export function planAutoRoute(o: AutoRouteOptions): AutoRoutePlan {
  const table = o.table ?? AUTO_ROUTE_TABLE;
  const prio = o.priority ?? AUTO_ROUTE_PRIORITY;
  if (!Number.isInteger(table) || table < 1 || table > 0xffffffff || table === RT_TABLE.MAIN || table === RT_TABLE.LOCAL || table === RT_TABLE.DEFAULT) {
    throw new UsageError(`Invalid table "${table}": expected 1..4294967295, not main, local or default`);
  }
  if (!Number.isInteger(prio) || prio < 1 || prio > 32000) throw new UsageError(`Invalid rule priority "${prio}": expected 1..32000`);
  const excl = [...o.proxy.map((a) => (a.includes("/") ? a : `${a}/${a.includes(":") ? 128 : 32}`)), ...(o.exclude ?? [])].map(canonicalPrefix);
  const rules: RuleSpec[] = [];
  const routes: RouteSpec[] = [];
  for (const fam of o.families) {
    const family = fam === 4 ? AF.INET : AF.INET6;
    const seen = new Set<string>();
    for (const e of excl) {
      if (e.family !== fam || seen.has(e.cidr)) continue;
      seen.add(e.cidr);
      rules.push({ family, priority: prio, to: e.cidr, table: RT_TABLE.MAIN, protocol: RTPROT_TUNKIT });
    }
    rules.push({ family, priority: prio + 1, table: RT_TABLE.MAIN, suppressPrefixlen: 0, protocol: RTPROT_TUNKIT });
    rules.push({ family, priority: prio + 2, table, protocol: RTPROT_TUNKIT });
    routes.push({ dst: "default", family, dev: o.dev, table, protocol: RTPROT_TUNKIT, scope: "link" });
  }
  return { rules, routes };
}

/**
 * Installs a plan; on any failure removes what it added and rethrows. Returns an undo function
 * (idempotent) that removes everything again.
 *
 * @example
 * ```ts
 * import { installAutoRoute, planAutoRoute } from "./autoroute.ts";
 * import { Rtnl } from "../netlink/rtnl.ts";
 * const nl = Rtnl.open();
 * const undo = await installAutoRoute(nl, planAutoRoute({ dev: "tun0", families: [4], proxy: ["192.0.2.2"] }));
 * await undo();
 * ```
 */
export async function installAutoRoute(nl: Rtnl, plan: AutoRoutePlan): Promise<() => Promise<void>> {
  const doneRoutes: RouteSpec[] = [];
  const doneRules: RuleSpec[] = [];
  let undone = false;
  const undo = async () => {
    if (undone) return;
    undone = true;
    for (const r of doneRules.reverse()) {
      try {
        await nl.deleteRule(r);
      } catch (e) {
        if (!isNetlinkErrno(e, "ENOENT")) throw e;
      }
    }
    for (const r of doneRoutes.reverse()) {
      try {
        await nl.deleteRoute(r);
      } catch (e) {
        // The route goes with its device: a tun that is already gone took it along.
        if (!isNetlinkErrno(e, "ESRCH") && !isNetlinkErrno(e, "ENODEV")) throw e;
      }
    }
  };
  try {
    for (const r of plan.routes) {
      await nl.addRoute(r);
      doneRoutes.push(r);
    }
    for (const r of plan.rules) {
      await nl.addRule(r);
      doneRules.push(r);
    }
  } catch (e) {
    await undo().catch(() => {});
    throw e;
  }
  return undo;
}

/** What {@link cleanupTunkit} found (and removed unless dry). */
export interface CleanupResult {
  rules: Rule[];
  routes: Route[];
}

/**
 * Removes every rule and route that carries tunkit's protocol number, in both families and all
 * tables: the leftovers of a tunkit that was killed. With `dryRun`, only lists them.
 *
 * @example
 * ```ts
 * import { cleanupTunkit } from "./autoroute.ts";
 * import { Rtnl } from "../netlink/rtnl.ts";
 * const nl = Rtnl.open();
 * const { rules, routes } = await cleanupTunkit(nl);
 * console.log(`${rules.length} rules, ${routes.length} routes removed`);
 * ```
 */
export async function cleanupTunkit(nl: Rtnl, dryRun = false): Promise<CleanupResult> {
  const out: CleanupResult = { rules: [], routes: [] };
  for (const family of [AF.INET, AF.INET6]) {
    for (const r of await nl.listRules(family)) if (r.protocol === RTPROT_TUNKIT) out.rules.push(r);
    for (const r of await nl.listRoutes({ family, table: "all" })) if (r.protocol === RTPROT_TUNKIT) out.routes.push(r);
  }
  if (dryRun) return out;
  for (const r of out.rules) {
    try {
      await nl.conn.exec(RTM.DELRULE, 0, (w) => encodeRule(w, r), "delete rule", r.priority !== undefined ? `pref ${r.priority}` : undefined);
    } catch (e) {
      if (!isNetlinkErrno(e, "ENOENT")) throw e;
    }
  }
  if (out.routes.length) {
    for (const family of [AF.INET, AF.INET6]) {
      await nl.flushRoutes({ family, table: "all", protocol: RTPROT_TUNKIT });
    }
  }
  return out;
}
