/**
 * The rtnetlink library API: typed objects in and out for links, addresses, routes and rules,
 * with iproute2's defaults (protocol boot, scope link for gateway-less routes, table local for
 * local/broadcast routes, IFA_ADDRESS = peer or local, `brd +`), batches and a monitor.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import { ERRNO, SysError } from "../ffi/errors.ts";
import { type BatchItem, type BatchOptions, type BatchResult, NetlinkConn, type OpenOptions, SocketTransport } from "./conn.ts";
import { NLM_F, NLMSG, parseMessages, type NetlinkMessage } from "./core/message.ts";
import type { ByteWriter } from "./core/writer.ts";
import { NetlinkError } from "./errors.ts";
import { type Address, decodeAddress, encodeAddress } from "./route/addr.ts";
import { AF, FR_ACT, IFF, INFINITY_LIFE_TIME, RT_SCOPE, RT_TABLE, RTEXT_FILTER, RTM, RTM_F, RTN, RTNH_F, RTNLGRP, RTPROT } from "./route/constants.ts";
import { decodeRtnl } from "./route/decode.ts";
import { formatAddr, parseAddr, parsePrefix } from "./route/ip.ts";
import { decodeLink, encodeLink, type Link } from "./route/link.ts";
import { parseAddressFlags, parseProtocol, parseRouteType, parseScope, parseTable } from "./route/names.ts";
import { decodeRoute, encodeRoute, type Route, type RouteMetrics, type RouteWire } from "./route/route.ts";
import { decodeRule, encodeRule, type Rule } from "./route/rule.ts";

/** A device by name or index. */
export type Dev = string | number;

/** A new link: `ip link add NAME type KIND [peer name PEER]`. */
export interface LinkAddSpec {
  name: string;
  /** "veth", "bridge", "dummy", … (tun/tap devices are made with tun/, not netlink). */
  kind: string;
  /** veth: the peer's name. */
  peer?: string;
  mtu?: number;
  txqlen?: number;
  address?: string;
  up?: boolean;
}

/** Changes to a link: `ip link set DEV up|down mtu N name X txqueuelen N address MAC master M`. */
export interface LinkChanges {
  up?: boolean;
  mtu?: number;
  name?: string;
  txqlen?: number;
  address?: string;
  /** Enslave to this master; null to release. */
  master?: Dev | null;
  alias?: string;
}

/** An address to add or delete: `ip addr add LOCAL/LEN [peer PEER/LEN] [brd X|+] dev DEV …`. */
export interface AddressSpec {
  dev: Dev;
  /** "192.0.2.1/24", "2001:db8::1/64" (a bare address is a full-length prefix). */
  address: string;
  /** Point-to-point peer, "198.51.100.1/32": becomes IFA_ADDRESS and gives the prefix length. */
  peer?: string;
  /** Broadcast address, or "+" to compute it from the prefix (IPv4). */
  broadcast?: string;
  label?: string;
  scope?: number | string;
  /** IFA_F_* bits, or names: "nodad", "noprefixroute", "mngtmpaddr", "home", "optimistic", "autojoin". */
  flags?: number | readonly string[];
  /** Seconds, or "forever" (the default). */
  validLft?: number | "forever";
  preferredLft?: number | "forever";
  /** Metric of the prefix route (IFA_RT_PRIORITY). */
  metric?: number;
}

/** A route to add, replace, append, delete: the fields of `ip route add …`. */
export interface RouteSpec {
  /** "default", "203.0.113.0/24", "2001:db8::/32", "198.51.100.7" (host route). */
  dst: string;
  /** Needed only to say which "default": AF_INET (2, default) or AF_INET6 (10). */
  family?: number;
  /** `via`: a gateway; another family than dst's becomes RTA_VIA. */
  gateway?: string;
  dev?: Dev;
  onlink?: boolean;
  metric?: number;
  table?: number | string;
  protocol?: number | string;
  scope?: number | string;
  /** unicast (default), local, broadcast, blackhole, unreachable, prohibit, throw, … */
  type?: number | string;
  /** `src`: the preferred source address. */
  prefsrc?: string;
  /** `from`: source prefix (IPv6 source routing). */
  src?: string;
  tos?: number;
  mtu?: number;
  /** Other RTAX metrics (advmss, hoplimit, initcwnd, …). */
  metrics?: RouteMetrics;
  /** IPv6 router preference: "low" | "medium" | "high". */
  pref?: "low" | "medium" | "high";
  mark?: number;
}

/** How an added route meets an existing one (NLM_F_* of RTM_NEWROUTE). */
export type RouteMode = "create" | "replace" | "append" | "prepend" | "change" | "exclusive";

const MODE_FLAGS: Record<RouteMode, number> = {
  create: NLM_F.CREATE | NLM_F.EXCL, // `ip route add`
  exclusive: NLM_F.CREATE | NLM_F.EXCL,
  replace: NLM_F.CREATE | NLM_F.REPLACE, // `ip route replace`
  append: NLM_F.CREATE | NLM_F.APPEND, // `ip route append`
  prepend: NLM_F.CREATE, // `ip route prepend`
  change: NLM_F.REPLACE, // `ip route change`
};

/** Options of `route get`. */
export interface RouteGetOptions {
  from?: string;
  iif?: Dev;
  oif?: Dev;
  mark?: number;
  /** Return the matching FIB entry (`ip route get fibmatch`) instead of the resolved route. */
  fibMatch?: boolean;
}

/** A rule to add or delete: the fields of `ip rule add …`. */
export interface RuleSpec {
  family?: number;
  priority?: number;
  /** "192.0.2.0/24", or "all" (the default). */
  from?: string;
  to?: string;
  table?: number | string;
  /** "to_tbl" (default when a table is given), "blackhole", "unreachable", "prohibit", "nop", or a number. */
  action?: number | "to_tbl" | "blackhole" | "unreachable" | "prohibit" | "nop";
  fwmark?: number;
  fwmask?: number;
  iif?: string;
  oif?: string;
  suppressPrefixlen?: number;
  protocol?: number | string;
  not?: boolean;
  tos?: number;
  uidRange?: { start: number; end: number };
}

/** What a monitor yields. */
export type MonitorEvent =
  | { kind: "link"; action: "new" | "del"; value: Link }
  | { kind: "address"; action: "new" | "del"; value: Address }
  | { kind: "route"; action: "new" | "del"; value: Route }
  | { kind: "rule"; action: "new" | "del"; value: Rule }
  /** The kernel dropped events: the socket's receive buffer overflowed (ENOBUFS). Re-dump to resync. */
  | { kind: "overrun" };

/** Groups a monitor joins by default. */
export const DEFAULT_MONITOR_GROUPS: readonly number[] = [
  RTNLGRP.LINK, RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR, RTNLGRP.IPV4_ROUTE, RTNLGRP.IPV6_ROUTE,
  RTNLGRP.IPV4_RULE, RTNLGRP.IPV6_RULE,
];

function num(v: number | string | undefined, parse: (s: string) => number): number | undefined {
  if (v === undefined) return undefined;
  return typeof v === "number" ? v : parse(v);
}

function checkU32(v: number | undefined, what: string, min = 0, max = 0xffffffff): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
    throw new UsageError(`Invalid ${what} "${v}": expected ${min}..${max}`);
  }
}

function lifetime(v: number | "forever" | undefined): number {
  if (v === undefined || v === "forever") return INFINITY_LIFE_TIME;
  checkU32(v, "lifetime");
  return v;
}

/** IPv4 broadcast of a prefix: the address with all host bits set. */
function broadcastOf(bytes: Uint8Array, len: number): string {
  const b = bytes.slice();
  for (let i = 0; i < 32; i++) if (i >= len) b[i >> 3]! |= 0x80 >> (i & 7);
  return formatAddr(b);
}

/**
 * Builds the wire object for a route, with iproute2's defaults. `del` gives delete semantics
 * (scope nowhere, protocol/type unspecified unless given). Devices must already be indexes.
 * With `raw`, address fields stay the bytes they were parsed into (for the encoder).
 *
 * @example
 * ```ts
 * import { routeFromSpec } from "./rtnl.ts";
 * routeFromSpec({ dst: "203.0.113.0/24", gateway: "192.0.2.254", table: 1000 }, 3);
 * // { family: 2, dstLen: 24, table: 1000, protocol: 3, scope: 0, type: 1, dst: "203.0.113.0", gateway: "192.0.2.254", oif: 3, ... }
 * ```
 */
export function routeFromSpec(spec: RouteSpec, oif: number | undefined, del?: boolean): Partial<Route>;
export function routeFromSpec(spec: RouteSpec, oif: number | undefined, del: boolean, raw: true): RouteWire;
export function routeFromSpec(spec: RouteSpec, oif: number | undefined, del = false, raw = false): RouteWire {
  const p = parsePrefix(spec.dst, spec.family);
  const addr = (b: Uint8Array): string | Uint8Array => (raw ? b : formatAddr(b));
  const type = spec.type === undefined ? (del ? RTN.UNSPEC : RTN.UNICAST) : num(spec.type, parseRouteType)!;
  const r: { -readonly [K in keyof RouteWire]: RouteWire[K] } = {
    family: p.family,
    dstLen: p.len,
    srcLen: 0,
    tos: spec.tos ?? 0,
    type,
    flags: spec.onlink ? RTNH_F.ONLINK : 0,
    protocol: spec.protocol === undefined ? (del ? RTPROT.UNSPEC : RTPROT.BOOT) : num(spec.protocol, parseProtocol)!,
  };
  if (p.len) r.dst = addr(p.bytes);
  if (spec.src !== undefined) {
    const s = parsePrefix(spec.src, p.family);
    r.srcLen = s.len;
    if (s.len) r.src = addr(s.bytes);
  }
  if (spec.gateway !== undefined) {
    const g = parseAddr(spec.gateway);
    const gf = g.length === 4 ? AF.INET : AF.INET6;
    if (gf === p.family) r.gateway = addr(g);
    else r.via = { family: gf, address: spec.gateway };
  }
  if (spec.prefsrc !== undefined) r.prefsrc = addr(parseAddr(spec.prefsrc, p.family));
  if (spec.metric !== undefined) {
    checkU32(spec.metric, "metric");
    r.priority = spec.metric;
  }
  const table = spec.table === undefined ? undefined : num(spec.table, parseTable);
  checkU32(table, "table");
  const local = type === RTN.LOCAL || type === RTN.BROADCAST || type === RTN.NAT || type === RTN.ANYCAST;
  r.table = table ?? (local ? RT_TABLE.LOCAL : RT_TABLE.MAIN);
  const scope = spec.scope === undefined ? undefined : num(spec.scope, parseScope);
  if (scope !== undefined) r.scope = scope;
  else if (del) r.scope = RT_SCOPE.NOWHERE;
  else if (p.family === AF.INET6) r.scope = RT_SCOPE.UNIVERSE;
  else if (type === RTN.LOCAL || type === RTN.NAT) r.scope = RT_SCOPE.HOST;
  else if (type === RTN.BROADCAST || type === RTN.MULTICAST || type === RTN.ANYCAST) r.scope = RT_SCOPE.LINK;
  else if ((type === RTN.UNICAST || type === RTN.UNSPEC) && spec.gateway === undefined) r.scope = RT_SCOPE.LINK;
  else r.scope = RT_SCOPE.UNIVERSE;
  if (oif !== undefined) r.oif = oif;
  if (spec.mtu !== undefined || spec.metrics !== undefined) r.metrics = spec.mtu === undefined ? { ...spec.metrics } : { ...spec.metrics, mtu: spec.mtu };
  if (spec.pref !== undefined) r.pref = { low: 3, medium: 0, high: 1 }[spec.pref];
  if (spec.mark !== undefined) r.mark = spec.mark;
  return r;
}

/**
 * A batch item for one route, built without I/O (the device must be given as an index, or
 * not at all). {@link Rtnl.routeItem} resolves names first.
 *
 * @example
 * ```ts
 * import { routeBatchItem } from "./rtnl.ts";
 * const item = routeBatchItem({ dst: "198.51.100.1/32", table: 100 }, "create", 3);
 * item.op; // "add route"
 * ```
 */
export function routeBatchItem(spec: RouteSpec, mode: RouteMode | "delete" = "create", oif?: number): BatchItem {
  const del = mode === "delete";
  const r = routeFromSpec(spec, oif, del, true);
  return {
    type: del ? RTM.DELROUTE : RTM.NEWROUTE,
    flags: del ? 0 : MODE_FLAGS[mode],
    body: (w) => encodeRoute(w, r),
    op: del ? "delete route" : mode === "create" || mode === "exclusive" ? "add route" : `${mode} route`,
    subject: spec.dst,
  };
}

/** Builds the wire object for an address, with iproute2's semantics. */
export function addressFromSpec(spec: AddressSpec, index: number, del = false): Partial<Address> {
  const l = parsePrefix(spec.address);
  const a: Partial<Address> = { family: l.family, prefixLen: l.len, index, local: formatAddr(l.bytes) };
  if (spec.peer !== undefined) {
    const p = parsePrefix(spec.peer, l.family);
    a.address = formatAddr(p.bytes);
    a.prefixLen = p.len;
  } else {
    a.address = a.local;
  }
  if (spec.broadcast !== undefined) {
    if (l.family !== AF.INET) throw new UsageError(`Invalid broadcast "${spec.broadcast}": only IPv4 addresses have one`);
    a.broadcast = spec.broadcast === "+" ? broadcastOf(l.bytes, l.len) : formatAddr(parseAddr(spec.broadcast, AF.INET));
  }
  if (spec.label !== undefined) {
    if (!spec.label.startsWith(typeof spec.dev === "string" ? spec.dev : "")) {
      throw new UsageError(`Invalid label "${spec.label}": must start with the device name "${spec.dev}"`);
    }
    a.label = spec.label;
  }
  const scope = num(spec.scope, parseScope);
  a.scope = scope ?? (!del && l.family === AF.INET && l.bytes[0] === 127 ? RT_SCOPE.HOST : 0);
  a.flags = typeof spec.flags === "number" ? spec.flags : parseAddressFlags(spec.flags ?? []);
  if (spec.validLft !== undefined || spec.preferredLft !== undefined) {
    const valid = lifetime(spec.validLft);
    const preferred = lifetime(spec.preferredLft);
    if (preferred > valid) throw new UsageError(`Invalid lifetimes: preferred_lft "${preferred}" is greater than valid_lft "${valid}"`);
    a.cacheInfo = { preferred, valid, created: 0, updated: 0 };
  }
  if (spec.metric !== undefined) a.rtPriority = spec.metric;
  return a;
}

/** Builds the wire object for a rule, with iproute2's defaults. */
export function ruleFromSpec(spec: RuleSpec, del = false): Partial<Rule> {
  let family = spec.family ?? AF.UNSPEC;
  const from = spec.from && spec.from !== "all" ? parsePrefix(spec.from, family) : undefined;
  if (from) family = from.family;
  const to = spec.to && spec.to !== "all" ? parsePrefix(spec.to, family) : undefined;
  if (to) family = to.family;
  if (family === AF.UNSPEC) family = AF.INET;
  const table = num(spec.table, parseTable);
  checkU32(table, "table");
  const actions: Record<string, number> = { to_tbl: FR_ACT.TO_TBL, blackhole: FR_ACT.BLACKHOLE, unreachable: FR_ACT.UNREACHABLE, prohibit: FR_ACT.PROHIBIT, nop: FR_ACT.NOP };
  let action = typeof spec.action === "number" ? spec.action : spec.action !== undefined ? actions[spec.action] : undefined;
  if (action === undefined) action = table !== undefined || !del ? FR_ACT.TO_TBL : FR_ACT.UNSPEC;
  const r: Partial<Rule> = {
    family,
    srcLen: from?.len ?? 0,
    dstLen: to?.len ?? 0,
    tos: spec.tos ?? 0,
    table: table ?? (del ? RT_TABLE.UNSPEC : action === FR_ACT.TO_TBL ? RT_TABLE.MAIN : RT_TABLE.UNSPEC),
    action,
    flags: spec.not ? 2 : 0,
  };
  if (from && from.len) r.src = formatAddr(from.bytes);
  if (to && to.len) r.dst = formatAddr(to.bytes);
  checkU32(spec.priority, "priority");
  if (spec.priority !== undefined) r.priority = spec.priority;
  if (spec.fwmark !== undefined) r.fwmark = spec.fwmark;
  if (spec.fwmask !== undefined) r.fwmask = spec.fwmask;
  if (spec.iif !== undefined) r.iifname = checkIfName(spec.iif);
  if (spec.oif !== undefined) r.oifname = checkIfName(spec.oif);
  if (spec.suppressPrefixlen !== undefined) r.suppressPrefixlen = spec.suppressPrefixlen;
  const proto = num(spec.protocol, parseProtocol);
  if (proto !== undefined) r.protocol = proto;
  if (spec.uidRange) r.uidRange = spec.uidRange;
  // A table above 255 travels in FRA_TABLE; encodeRule does that. Keep `table` complete here.
  return r;
}

function routeSubject(spec: RouteSpec): string {
  return [spec.type && spec.type !== "unicast" ? String(spec.type) : "", spec.dst, spec.gateway ? `via ${spec.gateway}` : "", spec.table !== undefined ? `table ${spec.table}` : ""]
    .filter(Boolean)
    .join(" ");
}

/**
 * An rtnetlink client: links, addresses, routes, rules, batches, monitors.
 *
 * @example
 * ```ts
 * import { Rtnl } from "./rtnl.ts";
 * const nl = Rtnl.open();                 // or Rtnl.open({ netns: "blue" }), like ip -n blue
 * await nl.setLink("tun0", { up: true, mtu: 1400 });
 * await nl.addAddress({ dev: "tun0", address: "192.168.1.1/24" });
 * await nl.addRoute({ dst: "10.1.1.0/24", dev: "tun0" });
 * console.log(await nl.listRoutes());
 * nl.close();
 * ```
 */
export class Rtnl {
  readonly conn: NetlinkConn;
  private readonly openOpts: OpenOptions;

  constructor(conn: NetlinkConn, openOpts: OpenOptions = {}) {
    this.conn = conn;
    this.openOpts = openOpts;
  }

  /** Opens a connection (inside `opts.netns` when given: a name under /run/netns, a path, or an fd). */
  static open(opts: Pick<OpenOptions, "netns" | "rcvbuf"> = {}): Rtnl {
    return new Rtnl(NetlinkConn.open(opts), opts);
  }

  /** Closes the connection. Idempotent. */
  close(): void {
    this.conn.close();
  }

  // ---------------------------------------------------------------- links

  /** Every link (`ip link show`). */
  listLinks(): Promise<Link[]> {
    return this.conn.dump(RTM.GETLINK, (w) => encodeLink(w, { family: AF.UNSPEC, extMask: RTEXT_FILTER.VF }), (m) => (m.type === RTM.NEWLINK ? decodeLink(m.body) : undefined), "list links");
  }

  /** One link by name or index; throws NetlinkError ENODEV when there is none. */
  getLink(dev: Dev): Promise<Link> {
    const byName = typeof dev === "string";
    if (byName) checkIfName(dev);
    return this.conn.get(
      RTM.GETLINK,
      0,
      (w) => encodeLink(w, { family: AF.UNSPEC, index: byName ? 0 : dev, extMask: RTEXT_FILTER.VF | RTEXT_FILTER.SKIP_STATS, name: byName ? dev : undefined }),
      (m) => decodeLink(m.body),
      "get link",
      String(dev),
    );
  }

  /** Index of a device (a number is returned as is). */
  async index(dev: Dev): Promise<number> {
    if (typeof dev === "number") return dev;
    return (await this.getLink(dev)).index;
  }

  /** Creates a link (`ip link add NAME type KIND`). */
  async addLink(spec: LinkAddSpec): Promise<void> {
    checkIfName(spec.name);
    if (spec.peer !== undefined) checkIfName(spec.peer);
    checkU32(spec.mtu, "MTU", 68, 0xffffffff);
    const l: Partial<Link> = {
      family: AF.UNSPEC,
      name: spec.name,
      mtu: spec.mtu,
      txqlen: spec.txqlen,
      address: spec.address,
      flags: spec.up ? IFF.UP : 0,
      change: spec.up ? IFF.UP : 0,
      linkInfo: { kind: spec.kind, data: spec.peer !== undefined ? { peer: { name: spec.peer } } : undefined },
    };
    await this.conn.exec(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, (w) => encodeLink(w, l), "add link", spec.name);
  }

  /** Changes a link (`ip link set DEV …`). */
  async setLink(dev: Dev, ch: LinkChanges): Promise<void> {
    checkU32(ch.mtu, "MTU", 0, 0xffffffff);
    checkU32(ch.txqlen, "txqueuelen");
    if (ch.name !== undefined) checkIfName(ch.name);
    const index = await this.index(dev);
    const l: Partial<Link> = { family: AF.UNSPEC, index, mtu: ch.mtu, txqlen: ch.txqlen, address: ch.address, ifalias: ch.alias };
    if (ch.name !== undefined) l.name = ch.name;
    if (ch.up !== undefined) {
      l.flags = ch.up ? IFF.UP : 0;
      l.change = IFF.UP;
    }
    if (ch.master !== undefined) l.master = ch.master === null ? 0 : await this.index(ch.master);
    await this.conn.exec(RTM.NEWLINK, 0, (w) => encodeLink(w, l), "set link", String(dev));
  }

  /** Deletes a link (`ip link del DEV`). */
  async deleteLink(dev: Dev): Promise<void> {
    const l: Partial<Link> = typeof dev === "number" ? { index: dev } : { name: checkIfName(dev) };
    await this.conn.exec(RTM.DELLINK, 0, (w) => encodeLink(w, l), "delete link", String(dev));
  }

  // ---------------------------------------------------------------- addresses

  /** Addresses (`ip addr show`), optionally of one family / device. */
  async listAddresses(filter: { family?: number; dev?: Dev } = {}): Promise<Address[]> {
    const index = filter.dev === undefined ? 0 : await this.index(filter.dev);
    return this.conn.dump(
      RTM.GETADDR,
      (w) => encodeAddress(w, { family: filter.family ?? AF.UNSPEC, index }),
      (m) => {
        if (m.type !== RTM.NEWADDR) return undefined;
        const a = decodeAddress(m.body);
        return index && a.index !== index ? undefined : a;
      },
      "list addresses",
    );
  }

  /**
   * Builds a batch item for an address (`mode` "create" = ip addr add, "replace", "delete"),
   * resolving `spec.dev` through `cache` when given (see {@link batch}).
   */
  async addressItem(spec: AddressSpec, mode: "create" | "replace" | "delete" = "create", cache?: Map<string, number>): Promise<BatchItem> {
    let index: number | undefined;
    if (typeof spec.dev === "number") index = spec.dev;
    else {
      index = cache?.get(String(spec.dev));
      if (index === undefined) {
        index = await this.index(spec.dev);
        cache?.set(String(spec.dev), index);
      }
    }
    const del = mode === "delete";
    const a = addressFromSpec(spec, index, del);
    return {
      type: del ? RTM.DELADDR : RTM.NEWADDR,
      flags: mode === "create" ? NLM_F.CREATE | NLM_F.EXCL : mode === "replace" ? NLM_F.CREATE | NLM_F.REPLACE : 0,
      body: (w) => encodeAddress(w, a),
      op: del ? "delete address" : mode === "replace" ? "replace address" : "add address",
      subject: spec.address,
    };
  }

  /** Adds an address (`ip addr add`); EEXIST when it is there already. */
  async addAddress(spec: AddressSpec): Promise<void> {
    const it = await this.addressItem(spec, "create");
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  /** Adds or updates an address (`ip addr replace`). */
  async replaceAddress(spec: AddressSpec): Promise<void> {
    const it = await this.addressItem(spec, "replace");
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  /** Deletes an address (`ip addr del`). */
  async deleteAddress(spec: AddressSpec): Promise<void> {
    const it = await this.addressItem(spec, "delete");
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  /** Deletes every address of a device (of one family if given); returns how many. */
  async flushAddresses(filter: { dev: Dev; family?: number }): Promise<number> {
    const addrs = await this.listAddresses(filter);
    // Secondaries go with their primary: delete secondaries first, then ignore EADDRNOTAVAIL.
    addrs.sort((a, b) => (b.flags & 1) - (a.flags & 1));
    const res = await this.conn.batch(
      addrs.map((a) => ({ type: RTM.DELADDR, flags: 0, body: (w: ByteWriter) => encodeAddress(w, { ...a, cacheInfo: undefined }), op: "flush address", subject: a.local ?? a.address })),
    );
    const bad = res.find((r) => !r.ok && r.error.errno !== ERRNO.EADDRNOTAVAIL);
    if (bad && !bad.ok) throw bad.error;
    return addrs.length;
  }

  // ---------------------------------------------------------------- routes

  /**
   * Routes (`ip route show`). `table` defaults to main like ip; "all" dumps every table.
   * `family` defaults to AF_INET unless `table` is "all" (then both).
   */
  listRoutes(filter: { family?: number; table?: number | string } = {}): Promise<Route[]> {
    const all = filter.table === "all";
    const table = all ? 0 : (num(filter.table, parseTable) ?? RT_TABLE.MAIN);
    const family = filter.family ?? (all ? AF.UNSPEC : AF.INET);
    return this.conn.dump(
      RTM.GETROUTE,
      (w) => encodeRoute(w, { family }),
      (m) => {
        if (m.type !== RTM.NEWROUTE) return undefined;
        const r = decodeRoute(m.body);
        if (table && r.table !== table) return undefined;
        if (r.flags & RTM_F.CLONED) return undefined;
        return r;
      },
      "list routes",
    );
  }

  /** Resolves `spec.dev` (through `cache` when given) and builds a batch item for a route (see {@link batch}). */
  async routeItem(spec: RouteSpec, mode: RouteMode | "delete" = "create", cache?: Map<string, number>): Promise<BatchItem> {
    let oif: number | undefined;
    if (typeof spec.dev === "number") oif = spec.dev;
    else if (spec.dev !== undefined) {
      oif = cache?.get(spec.dev);
      if (oif === undefined) {
        oif = await this.index(spec.dev);
        cache?.set(spec.dev, oif);
      }
    }
    const it = routeBatchItem(spec, mode, oif);
    it.subject = routeSubject(spec);
    return it;
  }

  private async routeOp(spec: RouteSpec, mode: RouteMode | "delete"): Promise<void> {
    const it = await this.routeItem(spec, mode);
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  /** Adds a route (`ip route add`, NLM_F_CREATE|NLM_F_EXCL); EEXIST when it exists. */
  addRoute(spec: RouteSpec): Promise<void> {
    return this.routeOp(spec, "create");
  }
  /** Adds or replaces a route (`ip route replace`). */
  replaceRoute(spec: RouteSpec): Promise<void> {
    return this.routeOp(spec, "replace");
  }
  /** Appends a route after existing ones with the same key (`ip route append`). */
  appendRoute(spec: RouteSpec): Promise<void> {
    return this.routeOp(spec, "append");
  }
  /** Deletes a route (`ip route del`); ESRCH when there is none. */
  deleteRoute(spec: RouteSpec): Promise<void> {
    return this.routeOp(spec, "delete");
  }

  /** The route the kernel would use for one destination (`ip route get`). */
  async getRoute(dst: string, opts: RouteGetOptions = {}): Promise<Route> {
    const p = parsePrefix(dst);
    const r: Partial<Route> = {
      family: p.family,
      dstLen: p.bytes.length * 8,
      dst: formatAddr(p.bytes),
      // IPv6's strict check refuses RTM_F_LOOKUP_TABLE (it always reports the table): IPv4 only, like ip.
      flags: (p.family === AF.INET ? RTM_F.LOOKUP_TABLE : 0) | (opts.fibMatch ? RTM_F.FIB_MATCH : 0),
    };
    if (opts.from !== undefined) {
      const s = parsePrefix(opts.from, p.family);
      r.src = formatAddr(s.bytes);
      r.srcLen = s.len;
    }
    if (opts.iif !== undefined) r.iif = await this.index(opts.iif);
    if (opts.oif !== undefined) r.oif = await this.index(opts.oif);
    if (opts.mark !== undefined) r.mark = opts.mark;
    return this.conn.get(RTM.GETROUTE, 0, (w) => encodeRoute(w, r), (m) => decodeRoute(m.body), "get route", dst);
  }

  /** Deletes the routes of a table that `match` selects (all of them by default); returns how many. */
  async flushRoutes(filter: { family?: number; table?: number | string; dev?: Dev; protocol?: number | string } = {}, match: (r: Route) => boolean = () => true): Promise<number> {
    const oif = filter.dev === undefined ? undefined : await this.index(filter.dev);
    const proto = num(filter.protocol, parseProtocol);
    const routes = (await this.listRoutes(filter)).filter((r) => (oif === undefined || r.oif === oif) && (proto === undefined || r.protocol === proto) && match(r));
    const res = await this.conn.batch(
      routes.map((r) => ({ type: RTM.DELROUTE, flags: 0, body: (w: ByteWriter) => encodeRoute(w, { ...r, cacheInfo: undefined }), op: "flush route", subject: r.dst ?? "default" })),
    );
    const bad = res.find((x) => !x.ok && x.error.errno !== ERRNO.ESRCH);
    if (bad && !bad.ok) throw bad.error;
    return routes.length;
  }

  // ---------------------------------------------------------------- rules

  /** Routing policy rules (`ip rule show`), IPv4 unless told. */
  listRules(family: number = AF.INET): Promise<Rule[]> {
    return this.conn.dump(RTM.GETRULE, (w) => encodeRule(w, { family }), (m) => (m.type === RTM.NEWRULE ? decodeRule(m.body) : undefined), "list rules");
  }

  /** Builds a batch item for a rule. */
  ruleItem(spec: RuleSpec, del = false): BatchItem {
    const r = ruleFromSpec(spec, del);
    return {
      type: del ? RTM.DELRULE : RTM.NEWRULE,
      flags: del ? 0 : NLM_F.CREATE | NLM_F.EXCL,
      body: (w) => encodeRule(w, r),
      op: del ? "delete rule" : "add rule",
      subject: spec.priority !== undefined ? `pref ${spec.priority}` : undefined,
    };
  }

  /** Adds a rule (`ip rule add`). */
  async addRule(spec: RuleSpec): Promise<void> {
    const it = this.ruleItem(spec);
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  /** Deletes a rule (`ip rule del`); the kernel deletes the first that matches every given field. */
  async deleteRule(spec: RuleSpec): Promise<void> {
    const it = this.ruleItem(spec, true);
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  // ---------------------------------------------------------------- batch, monitor

  /**
   * Runs many requests pipelined (see {@link NetlinkConn.batch}); items come from
   * {@link routeItem}, {@link ruleItem}, or hand-built {@link BatchItem}s.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * const cache = new Map<string, number>();
   * const items = await Promise.all(["198.51.100.1", "198.51.100.2"].map((d) => nl.routeItem({ dst: d, dev: "tk0" }, "create", cache)));
   * const results = await nl.batch(items); // [{ ok: true }, { ok: true }]
   * ```
   */
  batch(items: readonly BatchItem[], opts?: BatchOptions): Promise<BatchResult[]> {
    return this.conn.batch(items, opts);
  }

  /**
   * Watches link, address, route and rule changes as an async iterator on a socket of its own
   * (in the same namespace). Never blocks the event loop; ENOBUFS becomes an `overrun` event.
   * Break out of the loop (or call `return()`) to close it.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * for await (const ev of nl.monitor()) {
   *   if (ev.kind === "overrun") { console.log("lost events: re-dump"); continue; }
   *   console.log(ev.kind, ev.action, ev.value);
   * }
   * ```
   */
  monitor(opts: { groups?: readonly number[]; rcvbuf?: number } = {}): AsyncIterableIterator<MonitorEvent> {
    return monitor({ ...this.openOpts, groups: opts.groups ?? DEFAULT_MONITOR_GROUPS, rcvbuf: opts.rcvbuf ?? this.openOpts.rcvbuf });
  }
}

function toEvent(m: NetlinkMessage): MonitorEvent | undefined {
  if (m.type === NLMSG.DONE || m.type === NLMSG.ERROR || m.type === NLMSG.NOOP) return undefined;
  const d = decodeRtnl(m);
  const action = m.type === RTM.DELLINK || m.type === RTM.DELADDR || m.type === RTM.DELROUTE || m.type === RTM.DELRULE ? "del" : "new";
  switch (d.kind) {
    case "link":
    case "address":
    case "route":
    case "rule":
      return { kind: d.kind, action, value: d.value } as MonitorEvent;
    case "overrun":
      return { kind: "overrun" };
    default:
      return undefined;
  }
}

/**
 * A monitor on its own socket (see {@link Rtnl.monitor}). `transport` replaces the socket in tests.
 */
export function monitor(opts: OpenOptions & { transport?: import("./conn.ts").Transport } = {}): AsyncIterableIterator<MonitorEvent> {
  const t = opts.transport ?? new SocketTransport({ ...opts, groups: opts.groups ?? DEFAULT_MONITOR_GROUPS });
  const queue: MonitorEvent[] = [];
  let done = false;
  const finish = (): IteratorResult<MonitorEvent> => {
    if (!done) {
      done = true;
      t.close();
    }
    return { done: true, value: undefined };
  };
  const it: AsyncIterableIterator<MonitorEvent> = {
    [Symbol.asyncIterator]() {
      return it;
    },
    async next(): Promise<IteratorResult<MonitorEvent>> {
      while (!done) {
        const q = queue.shift();
        if (q) return { done: false, value: q };
        let d: Uint8Array | null;
        try {
          d = t.recv();
        } catch (e) {
          if (e instanceof SysError && e.errno === ERRNO.ENOBUFS) return { done: false, value: { kind: "overrun" } };
          finish();
          throw e;
        }
        if (d) {
          for (const m of parseMessages(d)) {
            const ev = toEvent(m);
            if (ev) queue.push(ev);
          }
          continue;
        }
        await t.wait();
      }
      return { done: true, value: undefined };
    },
    async return(): Promise<IteratorResult<MonitorEvent>> {
      return finish();
    },
  };
  return it;
}

/** Wraps NetlinkError codes people test for. */
export function isNetlinkErrno(e: unknown, code: string): e is NetlinkError {
  return e instanceof NetlinkError && e.code === code;
}

