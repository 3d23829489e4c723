/**
 * Names for rtnetlink numbers as iproute2 prints and parses them (its /etc/iproute2/rt_*
 * defaults): protocols, scopes, tables, route types, rule actions, operstates, link types,
 * link and address flags. Unknown numbers print as numbers, like `ip` does.
 *
 * @module
 */
import { UsageError } from "../../common/errors.ts";
import { ARPHRD, FR_ACT, IF_OPER, IFA_F, IFF, RT_SCOPE, RT_TABLE, RTN } from "./constants.ts";

type NameTable = ReadonlyMap<number, string>;

function table(entries: Array<[number, string]>): NameTable {
  return new Map(entries);
}

/** Route protocol names (rt_protos). */
export const PROTOCOL_NAMES: NameTable = table([
  [0, "unspec"], [1, "redirect"], [2, "kernel"], [3, "boot"], [4, "static"], [8, "gated"],
  [9, "ra"], [10, "mrt"], [11, "zebra"], [12, "bird"], [13, "dnrouted"], [14, "xorp"],
  [15, "ntk"], [16, "dhcp"], [18, "keepalived"], [42, "babel"], [99, "openr"], [186, "bgp"],
  [187, "isis"], [188, "ospf"], [189, "rip"], [192, "eigrp"],
]);
/** Scope names (rt_scopes). */
export const SCOPE_NAMES: NameTable = table([
  [RT_SCOPE.UNIVERSE, "global"], [RT_SCOPE.NOWHERE, "nowhere"], [RT_SCOPE.HOST, "host"],
  [RT_SCOPE.LINK, "link"], [RT_SCOPE.SITE, "site"],
]);
/** Routing table names (rt_tables). */
export const TABLE_NAMES: NameTable = table([
  [RT_TABLE.LOCAL, "local"], [RT_TABLE.MAIN, "main"], [RT_TABLE.DEFAULT, "default"], [RT_TABLE.UNSPEC, "unspec"],
]);
/** Route type names (rtnl_rtntype_n2a). */
export const ROUTE_TYPE_NAMES: NameTable = table([
  [RTN.UNSPEC, "none"], [RTN.UNICAST, "unicast"], [RTN.LOCAL, "local"], [RTN.BROADCAST, "broadcast"],
  [RTN.ANYCAST, "anycast"], [RTN.MULTICAST, "multicast"], [RTN.BLACKHOLE, "blackhole"],
  [RTN.UNREACHABLE, "unreachable"], [RTN.PROHIBIT, "prohibit"], [RTN.THROW, "throw"],
  [RTN.NAT, "nat"], [RTN.XRESOLVE, "xresolve"],
]);
/** FIB rule action names as `ip rule` prints them. */
export const RULE_ACTION_NAMES: NameTable = table([
  [FR_ACT.TO_TBL, "to_tbl"], [FR_ACT.GOTO, "goto"], [FR_ACT.NOP, "nop"], [FR_ACT.BLACKHOLE, "blackhole"],
  [FR_ACT.UNREACHABLE, "unreachable"], [FR_ACT.PROHIBIT, "prohibit"],
]);
/** Operational state names (IFLA_OPERSTATE). */
export const OPERSTATE_NAMES: NameTable = table(Object.entries(IF_OPER).map(([k, v]) => [v, k]));
/** Link-layer type names as `ip link` prints them (`link/ether`). */
export const LINK_TYPE_NAMES: NameTable = table([
  [ARPHRD.ETHER, "ether"], [ARPHRD.LOOPBACK, "loopback"], [ARPHRD.NONE, "none"], [ARPHRD.VOID, "void"],
  [ARPHRD.TUNNEL, "ipip"], [ARPHRD.SIT, "sit"], [ARPHRD.IPGRE, "gre"], [769, "tunnel6"], [823, "gre6"],
  [32, "infiniband"], [512, "ppp"], [65534, "none"],
]);

function n2a(t: NameTable, n: number): string {
  return t.get(n) ?? String(n);
}

function a2n(t: NameTable, what: string, s: string, max: number): number {
  for (const [n, name] of t) if (name === s) return n;
  if (/^(0x[0-9a-f]+|\d+)$/i.test(s)) {
    const n = Number(s);
    if (n <= max) return n;
  }
  throw new UsageError(`Invalid ${what} "${s}": expected a name (${[...new Set(t.values())].join(", ")}) or a number 0..${max}`);
}

/**
 * Route protocol number to name ("kernel", "static", …), or the number as text.
 *
 * @example
 * ```ts
 * import { protocolName, parseProtocol } from "./names.ts";
 * protocolName(4);         // "static"
 * protocolName(77);        // "77"
 * parseProtocol("dhcp");   // 16
 * ```
 */
export function protocolName(n: number): string {
  return n2a(PROTOCOL_NAMES, n);
}
/** Parses a protocol name or number (0..255). */
export function parseProtocol(s: string): number {
  return a2n(PROTOCOL_NAMES, "protocol", s, 255);
}
/**
 * Scope number to name ("global", "link", "host", …).
 *
 * @example
 * ```ts
 * import { scopeName, parseScope } from "./names.ts";
 * scopeName(253);       // "link"
 * parseScope("host");   // 254
 * ```
 */
export function scopeName(n: number): string {
  return n2a(SCOPE_NAMES, n);
}
/** Parses a scope name or number (0..255). */
export function parseScope(s: string): number {
  return a2n(SCOPE_NAMES, "scope", s, 255);
}
/**
 * Table id to name ("main", "local", "default"), or the id as text.
 *
 * @example
 * ```ts
 * import { tableName, parseTable } from "./names.ts";
 * tableName(254);        // "main"
 * tableName(1000);       // "1000"
 * parseTable("local");   // 255
 * ```
 */
export function tableName(n: number): string {
  return n2a(TABLE_NAMES, n);
}
/** Parses a table name or id (0..2^32-1). */
export function parseTable(s: string): number {
  return a2n(TABLE_NAMES, "table", s, 0xffffffff);
}
/**
 * Route type to name ("unicast", "blackhole", …).
 *
 * @example
 * ```ts
 * import { routeTypeName, parseRouteType } from "./names.ts";
 * routeTypeName(6);             // "blackhole"
 * parseRouteType("prohibit");   // 8
 * ```
 */
export function routeTypeName(n: number): string {
  return n2a(ROUTE_TYPE_NAMES, n);
}
/** Parses a route type name or number. */
export function parseRouteType(s: string): number {
  return a2n(ROUTE_TYPE_NAMES, "route type", s, 255);
}
/** Rule action to name. @example `ruleActionName(1) // "to_tbl"` */
export function ruleActionName(n: number): string {
  return n2a(RULE_ACTION_NAMES, n);
}
/** Operstate to name. @example `operstateName(6) // "UP"` */
export function operstateName(n: number): string {
  return n2a(OPERSTATE_NAMES, n);
}
/** Link type to name. @example `linkTypeName(1) // "ether"` */
export function linkTypeName(n: number): string {
  return LINK_TYPE_NAMES.get(n) ?? `[${n}]`;
}

const LINK_FLAG_ORDER: Array<[number, string]> = [
  [IFF.LOOPBACK, "LOOPBACK"], [IFF.BROADCAST, "BROADCAST"], [IFF.POINTOPOINT, "POINTOPOINT"],
  [IFF.MULTICAST, "MULTICAST"], [IFF.NOARP, "NOARP"], [IFF.ALLMULTI, "ALLMULTI"], [IFF.PROMISC, "PROMISC"],
  [IFF.MASTER, "MASTER"], [IFF.SLAVE, "SLAVE"], [IFF.DEBUG, "DEBUG"], [IFF.DYNAMIC, "DYNAMIC"],
  [IFF.AUTOMEDIA, "AUTOMEDIA"], [IFF.PORTSEL, "PORTSEL"], [IFF.NOTRAILERS, "NOTRAILERS"], [IFF.UP, "UP"],
  [IFF.LOWER_UP, "LOWER_UP"], [IFF.DORMANT, "DORMANT"], [IFF.ECHO, "ECHO"],
];

/**
 * Interface flags as `ip link` prints them, in its order, with NO-CARRIER and M-DOWN.
 * `masterDown` is true when the device named by IFLA_LINK is not up.
 *
 * @example
 * ```ts
 * import { linkFlagNames } from "./names.ts";
 * // UP | BROADCAST | MULTICAST, not RUNNING: NO-CARRIER first
 * linkFlagNames(0x1003); // ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]
 * ```
 */
export function linkFlagNames(flags: number, masterDown = false): string[] {
  const out: string[] = [];
  if (flags & IFF.UP && !(flags & IFF.RUNNING)) out.push("NO-CARRIER");
  let rest = flags & ~IFF.RUNNING;
  for (const [bit, name] of LINK_FLAG_ORDER) {
    if (rest & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest) out.push(rest.toString(16));
  if (masterDown) out.push("M-DOWN");
  return out;
}

/** Address flags in `ip` order; `permanent` is special: its absence prints as "dynamic". */
const ADDR_FLAG_ORDER: Array<[number, string]> = [
  [IFA_F.SECONDARY, "secondary"], [IFA_F.NODAD, "nodad"], [IFA_F.OPTIMISTIC, "optimistic"],
  [IFA_F.DADFAILED, "dadfailed"], [IFA_F.HOMEADDRESS, "home"], [IFA_F.DEPRECATED, "deprecated"],
  [IFA_F.TENTATIVE, "tentative"], [IFA_F.PERMANENT, "permanent"], [IFA_F.MANAGETEMPADDR, "mngtmpaddr"],
  [IFA_F.NOPREFIXROUTE, "noprefixroute"], [IFA_F.MCAUTOJOIN, "autojoin"], [IFA_F.STABLE_PRIVACY, "stable-privacy"],
];

/**
 * Address flags as `ip -j addr` keys, in its order ("dynamic" when not permanent; IPv6
 * "secondary" is "temporary"). Leftover bits come back in `rest`.
 *
 * @example
 * ```ts
 * import { addressFlagNames } from "./names.ts";
 * addressFlagNames(0x82, 10).names; // ["nodad"]
 * ```
 */
export function addressFlagNames(flags: number, family: number): { names: string[]; rest: number } {
  const names: string[] = [];
  let rest = flags;
  for (const [bit, name] of ADDR_FLAG_ORDER) {
    if (bit === IFA_F.PERMANENT) {
      if (!(flags & bit)) names.push("dynamic");
    } else if (flags & bit) {
      names.push(bit === IFA_F.SECONDARY && family === 10 ? "temporary" : name);
    }
    rest &= ~bit;
  }
  return { names, rest };
}

/** Settable address flags by the names `ip addr add` accepts. */
export const ADDRESS_FLAG_BY_NAME: Readonly<Record<string, number>> = {
  nodad: IFA_F.NODAD, optimistic: IFA_F.OPTIMISTIC, home: IFA_F.HOMEADDRESS,
  mngtmpaddr: IFA_F.MANAGETEMPADDR, noprefixroute: IFA_F.NOPREFIXROUTE, autojoin: IFA_F.MCAUTOJOIN,
};

/**
 * Parses address flag names ("nodad", "noprefixroute", …) into a bit mask.
 *
 * @example
 * ```ts
 * import { parseAddressFlags } from "./names.ts";
 * parseAddressFlags(["nodad", "noprefixroute"]); // 0x202
 * ```
 */
export function parseAddressFlags(names: readonly string[]): number {
  let f = 0;
  for (const n of names) {
    const bit = ADDRESS_FLAG_BY_NAME[n];
    if (bit === undefined) {
      throw new UsageError(`Invalid address flag "${n}": expected one of ${Object.keys(ADDRESS_FLAG_BY_NAME).join(", ")}`);
    }
    f |= bit;
  }
  return f;
}
