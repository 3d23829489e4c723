/**
 * Auto-route: a dedicated routing table with a default route into the tun, and policy rules
 * that send traffic there — except to the proxy itself (no routing loop) and to `--exclude`d
 * prefixes, and except where the main table has a more specific route than its default
 * (`suppress_prefixlength 0`: the LAN and the proxy's own link stay reachable). DNS (port 53,
 * any destination) is sent into the tun ahead of all that, so no query reaches a resolver
 * around the proxy, the LAN's own included (sing-box's strict_route does the same). A family
 * the tun has no address of is blocked (`unreachable`), never left to go around the tunnel.
 * Every rule and route carries tunkit's protocol number ({@link RTPROT_TUNKIT}) so
 * {@link cleanupTunkit} finds exactly tunkit's leftovers after a crash, and leaves those of a
 * tunnel that still runs alone.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { Rtnl, RuleSpec, RouteSpec } from "../netlink/rtnl.ts";
import { isNetlinkErrno } from "../netlink/rtnl.ts";
import { AF, FR_ACT, RTM, RTPROT_TUNKIT, RT_TABLE } from "../netlink/route/constants.ts";
import { encodeRule } from "../netlink/route/rule.ts";
import { encodeRoute } from "../netlink/route/route.ts";
import { ruleFromSpec } from "../netlink/rtnl.ts";
import { rmSync } from "node:fs";
import { listTunnelRecords, ruleKey } from "./registry.ts";
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
  /** Families routed into the tun (those the tun has an address of). */
  families: readonly (4 | 6)[];
  /**
   * Families blocked while the tunnel runs (`unreachable`, except the proxy and `exclude`): a
   * family the tun cannot carry must not go around it. Default: none.
   */
  block?: readonly (4 | 6)[];
  /** Routing table for the tunnel's routes (default {@link AUTO_ROUTE_TABLE}, 8484). */
  table?: number;
  /** Priority of the first policy rule; the others follow it (default {@link AUTO_ROUTE_PRIORITY}, 8484). */
  priority?: number;
  /** Addresses of the proxy server (each becomes a host exclusion). */
  proxy: readonly string[];
  /** The proxy's port: when it is 53, its exclusion goes before the DNS hijack (no loop). */
  proxyPort?: number;
  /** More prefixes that must not enter the tun. */
  exclude?: readonly string[];
  /**
   * The mark tunkit puts on its own sockets (SO_MARK): a first rule `fwmark MARK/MARK lookup main`
   * keeps them out of the tun (the proxy connection, the UDP relay) whatever they reach.
   */
  fwmark?: number;
  /** Only these users' traffic enters the tun (uidrange rules); others go by main. */
  includeUids?: readonly UidRange[];
  /** These users' traffic never enters the tun. */
  excludeUids?: readonly UidRange[];
  /**
   * Send every query to port 53 (UDP and TCP, any destination, the LAN's resolvers included)
   * into the tun, ahead of the exclusions and of the LAN's own routes. Default true.
   */
  hijackDns?: boolean;
}

/** An inclusive range of user ids. */
export interface UidRange {
  /** First user id of the range. */
  start: number;
  /** Last user id of the range (inclusive). */
  end: number;
}

/**
 * Parses "1000" or "1000-1999" into a range (UsageError otherwise).
 *
 * @example
 * ```ts
 * import { parseUidRange } from "./autoroute.ts";
 * parseUidRange("1000-1999"); // { start: 1000, end: 1999 }
 * ```
 */
export function parseUidRange(text: string): UidRange {
  const m = /^(\d{1,10})(?:-(\d{1,10}))?$/.exec(text);
  const start = Number(m?.[1]);
  const end = m?.[2] !== undefined ? Number(m[2]) : start;
  if (!m || start > 0xfffffffe || end > 0xfffffffe || end < start) throw new UsageError(`Invalid uid range "${text}": expected UID or FIRST-LAST (0..4294967294)`);
  return { start, end };
}

/** A rule of the plan (a {@link RuleSpec}: dport and goto are among its selectors and actions). */
export type AutoRule = RuleSpec;

/** The rules and routes auto-route installs, in order. */
export interface AutoRoutePlan {
  /** Policy rules, in the order they are added. */
  rules: AutoRule[];
  /** Routes, in the order they are added. */
  routes: RouteSpec[];
}

/**
 * How many priorities a plan uses, from the first: P own sockets and users, P+1 DNS, P+2
 * exclusions, P+3 LAN, P+4 the table, P+5 the way out (a `nop` rule the bypasses jump to).
 */
export const AUTO_ROUTE_SPAN = 6;

function canonicalPrefix(text: string): { family: 4 | 6; cidr: string } {
  const p = parsePrefix(text);
  const b = p.bytes.slice();
  for (let bit = p.len; bit < b.length * 8; bit++) b[bit >> 3] = b[bit >> 3]! & ~(0x80 >> (bit & 7));
  return { family: p.family === AF.INET6 ? 6 : 4, cidr: `${formatAddr(b)}/${p.len}` };
}

/**
 * Plans the rules and routes (validates, no syscall). Per routed family:
 *
 * | priority | rule | why |
 * |---|---|---|
 * | P | `fwmark M/M goto P+5`, `uidrange U goto P+5` | tunkit's own sockets, excluded users (`--include-uid`: the others) |
 * | P+1 | `dport 53 lookup TABLE` | DNS to any resolver, the LAN's too, goes into the tun |
 * | P+2 | `to PREFIX goto P+5` | the proxy (no loop) and each `exclude` |
 * | P+3 | `lookup main suppress_prefixlength 0` | the LAN and other specific routes stay direct |
 * | P+4 | `lookup TABLE` | everything else into the tun (`default dev DEV table TABLE`) |
 * | P+5 | `nop` | where the bypasses land: on to main and default as without tunkit |
 *
 * A blocked family gets only the exclusions (P+2) and `unreachable` (P+4): nothing of it
 * leaves, the LAN and DNS included. P holds the marked sockets and the user selections.
 *
 * @example
 * ```ts
 * import { planAutoRoute } from "./autoroute.ts";
 * const p = planAutoRoute({ dev: "tun0", families: [4], block: [6], proxy: ["192.0.2.2"] });
 * p.rules.map((r) => r.priority); // [8485, 8486, 8487, 8488, 8489, 8488, 8489]
 * p.routes[0]; // { dst: "default", family: 2, dev: "tun0", table: 8484, protocol: 84, scope: "link" }
 * ```
 */
export function planAutoRoute(o: AutoRouteOptions): AutoRoutePlan {
  const table = o.table ?? AUTO_ROUTE_TABLE;
  const prio = o.priority ?? AUTO_ROUTE_PRIORITY;
  if (!Number.isInteger(table) || table < 1 || table > 0xffffffff || table === RT_TABLE.MAIN || table === RT_TABLE.LOCAL || table === RT_TABLE.DEFAULT) {
    throw new UsageError(`Invalid table "${table}": expected 1..4294967295, not main, local or default`);
  }
  const maxPrio = 32766 - AUTO_ROUTE_SPAN;
  if (!Number.isInteger(prio) || prio < 1 || prio > maxPrio) throw new UsageError(`Invalid rule priority "${prio}": expected 1..${maxPrio} (tunkit uses ${AUTO_ROUTE_SPAN} from it, before main's 32766)`);
  const proxies = o.proxy.map((a) => canonicalPrefix(a.includes("/") ? a : `${a}/${a.includes(":") ? 128 : 32}`));
  const excl = [...proxies, ...(o.exclude ?? []).map(canonicalPrefix)];
  const rules: AutoRule[] = [];
  const routes: RouteSpec[] = [];
  const hijack = o.hijackDns ?? true;
  const families: Array<[4 | 6, boolean]> = [
    ...o.families.map((f) => [f, false] as [4 | 6, boolean]),
    ...(o.block ?? []).filter((f) => !o.families.includes(f)).map((f) => [f, true] as [4 | 6, boolean]),
  ];
  if (o.fwmark !== undefined && !(Number.isInteger(o.fwmark) && o.fwmark >= 1 && o.fwmark <= 0xffffffff)) throw new UsageError(`Invalid fwmark "${o.fwmark}": expected 1..0xffffffff`);
  for (const [fam, blocked] of families) {
    const family = fam === 4 ? AF.INET : AF.INET6;
    const base = { family, protocol: RTPROT_TUNKIT };
    // Bypasses jump past all of tunkit's rules (to the nop at P+5), on to main and default as
    // if tunkit were not there: a `lookup main` would fall through into the tun whenever main
    // has no route for the destination.
    const bypass = { ...base, action: FR_ACT.GOTO, goto: prio + 5 };
    // P: tunkit's own marked sockets, then the users kept out (or the only ones let in).
    if (o.fwmark !== undefined) rules.push({ ...bypass, priority: prio, fwmark: o.fwmark, fwmask: o.fwmark });
    for (const u of o.excludeUids ?? []) rules.push({ ...bypass, priority: prio, uidRange: { ...u } });
    if (o.includeUids?.length) {
      for (const u of o.includeUids) rules.push({ ...base, priority: prio, uidRange: { ...u }, action: FR_ACT.GOTO, goto: prio + 1 });
      rules.push({ ...bypass, priority: prio });
    }
    const seen = new Set<string>();
    const exclusions: AutoRule[] = [];
    for (const e of excl) {
      if (e.family !== fam || seen.has(e.cidr)) continue;
      seen.add(e.cidr);
      // A proxy on port 53 must not be caught by the DNS hijack: its exclusion goes first.
      const early = hijack && !blocked && o.proxyPort === 53 && proxies.some((p) => p.cidr === e.cidr);
      exclusions.push({ ...bypass, priority: early ? prio : prio + 2, to: e.cidr });
    }
    rules.push(...exclusions.filter((r) => r.priority === prio));
    if (blocked) {
      rules.push(...exclusions);
      rules.push({ ...base, priority: prio + 4, action: "unreachable" });
      rules.push({ ...base, priority: prio + 5, action: "nop" });
      continue;
    }
    if (hijack) rules.push({ ...base, priority: prio + 1, dport: 53, table });
    rules.push(...exclusions.filter((r) => r.priority !== prio));
    rules.push({ ...base, priority: prio + 3, table: RT_TABLE.MAIN, suppressPrefixlen: 0 });
    rules.push({ ...base, priority: prio + 4, table });
    rules.push({ ...base, priority: prio + 5, action: "nop" });
    routes.push({ dst: "default", family, dev: o.dev, table, protocol: RTPROT_TUNKIT, scope: "link" });
  }
  return { rules, routes };
}

/**
 * The rule as rtnetlink carries it (`ruleFromSpec`), e.g. for {@link ruleKey}.
 *
 * @example
 * ```ts
 * import { autoRuleWire } from "./autoroute.ts";
 * autoRuleWire({ family: 2, priority: 8485, dport: 53, table: 8484 }).dportRange; // { start: 53, end: 53 }
 * ```
 */
export function autoRuleWire(r: AutoRule, del = false): Partial<Rule> {
  return ruleFromSpec(r, del);
}

async function execRule(nl: Rtnl, r: AutoRule, del: boolean): Promise<void> {
  if (del) await nl.deleteRule(r);
  else await nl.addRule(r);
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
  const doneRules: AutoRule[] = [];
  let undone = false;
  const undo = async () => {
    if (undone) return;
    undone = true;
    // In the order they were added, not reversed: the kernel deletes the first rule that has
    // every field the request gives, so a catch-all (no selector) deleted before its more
    // specific neighbours of the same priority would take one of them instead of itself.
    for (const r of doneRules.splice(0)) {
      try {
        await execRule(nl, r, true);
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
      await execRule(nl, r, false);
      doneRules.push(r);
    }
  } catch (e) {
    await undo().catch(() => {});
    throw e;
  }
  return undo;
}

/** A live tunnel whose rules and routes {@link cleanupTunkit} left alone. */
export interface SkippedTunnel {
  /** Process id of the tunnel. */
  pid: number;
  /** "socks" or "http". */
  kind: string;
  /** Its tun device. */
  name: string;
  /** Its rules, left in place. */
  rules: Rule[];
  /** Its routes, left in place. */
  routes: Route[];
}

/** What {@link cleanupTunkit} found (and removed unless dry), and what it left to live tunnels. */
export interface CleanupResult {
  /** Rules tunkit installed (removed unless dry). */
  rules: Rule[];
  /** Routes tunkit installed (removed unless dry). */
  routes: Route[];
  /** Live tunnels whose rules and routes were left alone. */
  skipped: SkippedTunnel[];
  /** Records of dead tunnels that were removed (their rules and routes are in `rules`/`routes`). */
  staleRecords: number;
}

/**
 * Removes every rule and route that carries tunkit's protocol number, in both families and all
 * tables — the leftovers of a tunkit that was killed — except those of a tunnel that still
 * runs: a running tunnel records its rules and device (see registry.ts), and its rules and the
 * routes through its device are skipped and reported. With `dryRun`, only lists.
 *
 * @example
 * ```ts
 * import { cleanupTunkit } from "./autoroute.ts";
 * import { Rtnl } from "../netlink/rtnl.ts";
 * const nl = Rtnl.open();
 * const { rules, routes, skipped } = await cleanupTunkit(nl);
 * console.log(`${rules.length} rules, ${routes.length} routes removed, ${skipped.length} live tunnels left alone`);
 * ```
 */
export async function cleanupTunkit(nl: Rtnl, dryRun = false, env: Record<string, string | undefined> = process.env): Promise<CleanupResult> {
  const out: CleanupResult = { rules: [], routes: [], skipped: [], staleRecords: 0 };
  const records = listTunnelRecords(env);
  const live = records.filter((r) => r.live);
  const byRule = new Map<string, SkippedTunnel>();
  const byIfindex = new Map<number, SkippedTunnel>();
  for (const { record: rec } of live) {
    const s: SkippedTunnel = { pid: rec.pid, kind: rec.kind, name: rec.name, rules: [], routes: [] };
    out.skipped.push(s);
    for (const k of rec.rules) byRule.set(k, s);
    byIfindex.set(rec.ifindex, s);
  }
  for (const family of [AF.INET, AF.INET6]) {
    for (const r of await nl.listRules(family)) {
      if (r.protocol !== RTPROT_TUNKIT) continue;
      const owner = byRule.get(ruleKey(r));
      if (owner) owner.rules.push(r);
      else out.rules.push(r);
    }
    for (const r of await nl.listRoutes({ family, table: "all" })) {
      if (r.protocol !== RTPROT_TUNKIT) continue;
      const owner = r.oif !== undefined ? byIfindex.get(r.oif) : undefined;
      if (owner) owner.routes.push(r);
      else out.routes.push(r);
    }
  }
  out.skipped = out.skipped.filter((s) => s.rules.length || s.routes.length);
  if (dryRun) return out;
  for (const r of out.rules) {
    try {
      await nl.conn.exec(RTM.DELRULE, 0, (w) => encodeRule(w, r), "delete rule", r.priority !== undefined ? `pref ${r.priority}` : undefined);
    } catch (e) {
      if (!isNetlinkErrno(e, "ENOENT")) throw e;
    }
  }
  for (const r of out.routes) {
    try {
      await nl.conn.exec(RTM.DELROUTE, 0, (w) => encodeRoute(w, { ...r, cacheInfo: undefined }), "delete route", r.dst ?? "default");
    } catch (e) {
      if (!isNetlinkErrno(e, "ESRCH") && !isNetlinkErrno(e, "ENODEV")) throw e;
    }
  }
  for (const r of records) {
    if (r.live) continue;
    rmSync(r.path, { force: true });
    out.staleRecords++;
  }
  return out;
}
