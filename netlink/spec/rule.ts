/**
 * Routing policy rules as `ip rule` speaks them: {@link RuleSpec} (every selector and action of
 * `ip rule add|del`) to the wire object with iproute2's defaults ({@link ruleFromSpec}), and
 * {@link RuleFilter} (the selectors of `ip rule list|flush`) to a predicate ({@link ruleFilter}).
 * Pure: no I/O.
 *
 * @module
 */
import { UsageError } from "../../common/errors.ts";
import { checkIfName } from "../../common/ifname.ts";
import { AF, FIB_RULE, FR_ACT, RT_TABLE } from "../route/constants.ts";
import { bitsEqual, formatAddr, parsePrefix, type Prefix } from "../route/ip.ts";
import { defaultIpNames, type IpNames, routeTypeOf } from "../route/names.ts";
import type { Range, Rule } from "../route/rule.ts";
import { checkU32, num } from "./common.ts";

/** A rule action by name (or an FR_ACT_* number). */
export type RuleAction = "to_tbl" | "lookup" | "goto" | "nop" | "blackhole" | "unreachable" | "prohibit";

/** A start-end range as a number (start = end), `{start, end}`, or text "N" / "N-M". */
export type RangeInput = number | Range | string;

/**
 * A rule to add or delete: the words of `ip rule add|del` (SELECTOR ACTION).
 *
 * Names (tables, protocols, realms, DS fields, groups, IP protocols) are resolved through
 * iproute2's databases (see route/names.ts); numbers are taken as they are.
 */
export interface RuleSpec {
  /** AF_INET (the default, like ip) or AF_INET6; inferred from `from`/`to` when not given. */
  family?: number;
  /** `pref N` (also priority/order). */
  priority?: number;
  /** `not`: invert the selector. */
  not?: boolean;
  /** `from PREFIX` ("all" = any). */
  from?: string;
  /** `to PREFIX` ("all" = any). */
  to?: string;
  /** `tos TOS`: a number, or a name from rt_dsfield / hexadecimal text ("0x10", "10" = 0x10). */
  tos?: number | string;
  /** `fwmark MARK[/MASK]`. */
  fwmark?: number;
  /** The mask of `fwmark M/MASK`. */
  fwmask?: number;
  /** `iif NAME` (also `dev`). */
  iif?: string;
  /** `oif NAME`. */
  oif?: string;
  /** `l3mdev`: look up the table of the L3 master device (no table may be given). */
  l3mdev?: boolean;
  /** `uidrange START-END`. */
  uidRange?: Range | string;
  /** `ipproto PROTO`: a number or a name from /etc/protocols ("tcp"). */
  ipProto?: number | string;
  /** `sport N|N-M`. */
  sport?: RangeInput;
  /** `dport N|N-M`. */
  dport?: RangeInput;
  /** `tun_id N`. */
  tunId?: bigint | number;
  /** `lookup|table TABLE`: id or name. Without a table or an action, `ip rule add` looks up main. */
  table?: number | string;
  /** `protocol PROTO`: who installed the rule. */
  protocol?: number | string;
  /** `realms [SRC/]DST` (names from rt_realms or numbers), or FRA_FLOW's raw value. */
  realms?: number | string;
  /** `suppress_prefixlength N`. */
  suppressPrefixlen?: number;
  /** `suppress_ifgroup GROUP` (name from /etc/iproute2/group or number). */
  suppressIfgroup?: number | string;
  /**
   * The action: "to_tbl"/"lookup" (the default), "goto" (with `goto`), "nop", "blackhole",
   * "unreachable", "prohibit", any other route type name ip accepts, or an FR_ACT_* number.
   */
  action?: RuleAction | string | number;
  /** `goto PREF`: jump to the rule with that priority (sets the action to goto). */
  goto?: number;
}

/**
 * The selectors of `ip rule list|flush`: the fields of {@link RuleSpec} a listing can select
 * by (every field optional; a rule must match all given). `family` defaults to AF_INET in
 * {@link Rtnl.listRules} (AF_UNSPEC: both); a `from`/`to` prefix selects rules whose prefix
 * lies inside it; `protocol` ("all" = any) is what `ip rule flush protocol P` selects by —
 * ip's own `list` ignores it, this filter does not.
 */
export type RuleFilter = Pick<
  RuleSpec,
  "family" | "priority" | "not" | "from" | "to" | "tos" | "fwmark" | "fwmask" | "iif" | "oif" | "l3mdev" | "uidRange" | "ipProto" | "sport" | "dport" | "tunId" | "table" | "protocol"
>;

/**
 * Parses "N" or "N-M" (decimal) into a range; `single` allows the one-number form.
 *
 * @example
 * ```ts
 * import { parseRange } from "./rule.ts";
 * parseRange("1000-2000", "UID range", 0xffffffff); // { start: 1000, end: 2000 }
 * parseRange("53", "port", 65535, true);            // { start: 53, end: 53 }
 * ```
 */
export function parseRange(s: string, what: string, max: number, single = false): Range {
  const m = /^(\d+)(?:-(\d+))?$/.exec(s);
  const start = m ? Number(m[1]) : NaN;
  const end = m?.[2] !== undefined ? Number(m[2]) : single ? start : NaN;
  if (!(start <= max && end <= max)) {
    throw new UsageError(`Invalid ${what} "${s}": expected ${single ? "N or " : ""}START-END, numbers 0..${max}`);
  }
  if (start > end) throw new UsageError(`Invalid ${what} "${s}": the start is above the end`);
  return { start, end };
}

function range(v: RangeInput | undefined, what: string, max: number, single: boolean): Range | undefined {
  if (v === undefined) return undefined;
  const r = typeof v === "string" ? parseRange(v, what, max, single) : typeof v === "number" ? { start: v, end: v } : v;
  checkU32(r.start, what, 0, max);
  checkU32(r.end, what, 0, max);
  return { start: r.start, end: r.end };
}

const NAMED_ACTIONS: Readonly<Record<string, number>> = {
  to_tbl: FR_ACT.TO_TBL, lookup: FR_ACT.TO_TBL, goto: FR_ACT.GOTO, nop: FR_ACT.NOP,
  blackhole: FR_ACT.BLACKHOLE, unreachable: FR_ACT.UNREACHABLE, prohibit: FR_ACT.PROHIBIT,
};

/**
 * An action name or number to FR_ACT_* (ip also takes route type names and their
 * abbreviations: "unicast" is to_tbl, "prohibit" 8, …).
 *
 * @example
 * ```ts
 * import { parseRuleAction } from "./rule.ts";
 * parseRuleAction("blackhole"); // 6
 * parseRuleAction("nop");       // 3
 * ```
 */
export function parseRuleAction(a: string | number): number {
  if (typeof a === "number") {
    checkU32(a, "rule action", 0, 255);
    return a;
  }
  const n = NAMED_ACTIONS[a] ?? routeTypeOf(a);
  if (n === undefined) throw new UsageError(`Invalid rule action "${a}": expected lookup TABLE, goto PREF, nop, blackhole, unreachable or prohibit`);
  return n;
}

/** The rule's family: the given one, else the prefixes', else AF_INET (like ip). */
function ruleFamily(spec: { family?: number; from?: string; to?: string }): { family: number; from?: Prefix; to?: Prefix } {
  let family = spec.family ?? AF.UNSPEC;
  const out: { family: number; from?: Prefix; to?: Prefix } = { family };
  for (const k of ["from", "to"] as const) {
    const v = spec[k];
    if (v === undefined || v === "all" || v === "any" || v === "default") continue;
    const p = parsePrefix(v);
    if (family !== AF.UNSPEC && p.family !== family) {
      throw new UsageError(`Invalid ${k} "${v}": the rule is ${family === AF.INET ? "IPv4" : "IPv6"}`);
    }
    family = p.family;
    out[k] = p;
  }
  out.family = family === AF.UNSPEC ? AF.INET : family;
  return out;
}

/**
 * Builds the wire object for a rule, with iproute2's defaults: family AF_INET unless a prefix
 * or `family` says otherwise; `ip rule add` without a table or an action looks up main;
 * `del` leaves the action and table unspecified unless given (the kernel then deletes the
 * first rule that matches every field given). Throws UsageError on bad input.
 *
 * @example
 * ```ts
 * import { ruleFromSpec } from "./rule.ts";
 * ruleFromSpec({ from: "192.0.2.0/24", priority: 100 });
 * // { family: 2, srcLen: 24, dstLen: 0, tos: 0, table: 254, action: 1, flags: 0, src: "192.0.2.0", priority: 100 }
 * ruleFromSpec({ uidRange: "1000-1999", ipProto: 6, dport: "80-443", action: "prohibit", priority: 5 }).action; // 8
 * ```
 */
export function ruleFromSpec(spec: RuleSpec, del = false, names: IpNames = defaultIpNames()): Partial<Rule> {
  const { family, from, to } = ruleFamily(spec);
  const table = num(spec.table, (s) => names.parseTable(s));
  checkU32(table, "table");
  if (spec.l3mdev && table) throw new UsageError(`Invalid rule: a table ("${spec.table}") cannot be given for an l3mdev rule`);
  let action = spec.action === undefined ? undefined : parseRuleAction(spec.action);
  if (spec.goto !== undefined) {
    checkU32(spec.goto, "goto target");
    if (action !== undefined && action !== FR_ACT.GOTO) throw new UsageError(`Invalid rule: "goto ${spec.goto}" and the action "${spec.action}" exclude each other`);
    action = FR_ACT.GOTO;
  } else if (action === FR_ACT.GOTO) {
    throw new UsageError(`Invalid rule: the action "goto" needs a target priority (goto PREF)`);
  }
  // ip: an explicit action or l3mdev means "no table"; otherwise add looks up main.
  const tableOk = table !== undefined || action !== undefined || !!spec.l3mdev;
  if (action === undefined) action = del ? FR_ACT.UNSPEC : FR_ACT.TO_TBL;
  const tos = num(spec.tos, (s) => names.parseDsfield(s));
  checkU32(tos, "TOS", 0, 255);
  const r: Partial<Rule> = {
    family,
    srcLen: from?.len ?? 0,
    dstLen: to?.len ?? 0,
    tos: tos ?? 0,
    table: table ?? (!tableOk && !del ? RT_TABLE.MAIN : RT_TABLE.UNSPEC),
    action,
    flags: spec.not ? FIB_RULE.INVERT : 0,
  };
  if (from?.len) r.src = formatAddr(from.bytes);
  if (to?.len) r.dst = formatAddr(to.bytes);
  checkU32(spec.priority, "priority");
  if (spec.priority !== undefined) r.priority = spec.priority;
  checkU32(spec.fwmark, "fwmark");
  checkU32(spec.fwmask, "fwmask");
  if (spec.fwmark !== undefined) r.fwmark = spec.fwmark;
  if (spec.fwmask !== undefined) r.fwmask = spec.fwmask;
  if (spec.iif !== undefined) r.iifname = checkIfName(spec.iif);
  if (spec.oif !== undefined) r.oifname = checkIfName(spec.oif);
  if (spec.l3mdev) r.l3mdev = 1;
  const uid = range(spec.uidRange, "UID range", 0xffffffff, false);
  if (uid) r.uidRange = uid;
  const ipProto = num(spec.ipProto, (s) => names.parseIpProto(s));
  checkU32(ipProto, "IP protocol", 0, 255);
  if (ipProto !== undefined) r.ipProto = ipProto;
  const sport = range(spec.sport, "sport range", 65535, true);
  if (sport) r.sportRange = sport;
  const dport = range(spec.dport, "dport range", 65535, true);
  if (dport) r.dportRange = dport;
  if (spec.tunId !== undefined) r.tunId = BigInt(spec.tunId);
  const proto = num(spec.protocol, (s) => names.parseProtocol(s));
  checkU32(proto, "protocol", 0, 255);
  if (proto !== undefined) r.protocol = proto;
  const flow = num(spec.realms, (s) => names.parseRealms(s));
  checkU32(flow, "realms");
  if (flow !== undefined) r.flow = flow;
  checkU32(spec.suppressPrefixlen, "suppress_prefixlength", 0, 0x7fffffff);
  if (spec.suppressPrefixlen !== undefined) r.suppressPrefixlen = spec.suppressPrefixlen;
  const group = num(spec.suppressIfgroup, (s) => names.parseGroup(s));
  checkU32(group, "suppress_ifgroup", 0, 0x7fffffff);
  if (group !== undefined) r.suppressIfgroup = group;
  if (spec.goto !== undefined) r.goto = spec.goto;
  // A table above 255 travels in FRA_TABLE; encodeRule does that. Keep `table` complete here.
  return r;
}


/**
 * Compiles `ip rule list|flush` selectors into a predicate (names resolved once). Semantics of
 * ip's filter: a `from`/`to` prefix selects rules of that family whose prefix is at least as
 * long and agrees on its bits; zero `fwmark`/`ipproto`/`tun_id` select nothing; a port or UID
 * range must be the same range.
 *
 * @example
 * ```ts
 * import { ruleFilter } from "./rule.ts";
 * const keep = ruleFilter({ table: "main" });
 * keep({ family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 254, action: 1, flags: 0, priority: 32766 }); // true
 * ```
 */
export function ruleFilter(f: RuleFilter, names: IpNames = defaultIpNames()): (r: Rule) => boolean {
  const { family, from, to } = ruleFamily({ family: f.family === AF.UNSPEC ? undefined : f.family, from: f.from, to: f.to });
  const anyFamily = (f.family === undefined || f.family === AF.UNSPEC) && !from && !to;
  const tos = num(f.tos, (s) => names.parseDsfield(s));
  const table = num(f.table, (s) => names.parseTable(s));
  const proto = f.protocol === "all" ? undefined : num(f.protocol, (s) => names.parseProtocol(s));
  const ipProto = num(f.ipProto, (s) => names.parseIpProto(s));
  const uid = range(f.uidRange, "UID range", 0xffffffff, false);
  const sport = range(f.sport, "sport range", 65535, true);
  const dport = range(f.dport, "dport range", 65535, true);
  const tunId = f.tunId === undefined ? undefined : BigInt(f.tunId);
  if (f.iif !== undefined) checkIfName(f.iif);
  if (f.oif !== undefined) checkIfName(f.oif);
  const addrOk = (p: Prefix | undefined, addr: string | undefined, len: number): boolean => {
    if (!p) return true;
    if (p.len > len) return false;
    if (addr === undefined || p.len === 0) return true;
    const b = parsePrefix(addr, family).bytes;
    return b.length === p.bytes.length && bitsEqual(b, p.bytes, p.len);
  };
  return (r) => {
    if (!anyFamily && r.family !== family) return false;
    if (f.priority !== undefined && (r.priority ?? 0) !== f.priority) return false;
    if (f.not && !(r.flags & FIB_RULE.INVERT)) return false;
    if (!addrOk(from, r.src, r.srcLen) || !addrOk(to, r.dst, r.dstLen)) return false;
    if (tos !== undefined && r.tos !== tos) return false;
    if (f.fwmark && (r.fwmark ?? 0) !== f.fwmark) return false;
    if (f.fwmask && (r.fwmask ?? 0) !== f.fwmask) return false;
    if (f.iif !== undefined && r.iifname !== f.iif) return false;
    if (f.oif !== undefined && r.oifname !== f.oif) return false;
    if (f.l3mdev && !r.l3mdev) return false;
    if (uid && !(r.uidRange && r.uidRange.start === uid.start && r.uidRange.end === uid.end)) return false;
    if (ipProto && (r.ipProto ?? 0) !== ipProto) return false;
    if (sport?.start && !(r.sportRange && r.sportRange.start === sport.start && r.sportRange.end === sport.end)) return false;
    if (dport?.start && !(r.dportRange && r.dportRange.start === dport.start && r.dportRange.end === dport.end)) return false;
    if (tunId && r.tunId !== tunId) return false;
    if (table && r.table !== table) return false;
    if (proto !== undefined && r.protocol !== undefined && r.protocol !== proto) return false;
    return true;
  };
}
