/**
 * The rtnetlink client: typed objects in and out for links, addresses, routes, rules and
 * neighbours, over one {@link NetlinkConn}. What the objects mean (iproute2's defaults) is in
 * spec/*.ts, the wire formats in route/*.ts, the monitor in monitor.ts; this file does the I/O.
 * The spec types are re-exported here for existing importers.
 *
 * @module
 */
import { checkIfName } from "../common/ifname.ts";
import { ERRNO } from "../ffi/errors.ts";
import { type BatchItem, type BatchOptions, type BatchResult, NetlinkConn, type OpenOptions } from "./conn.ts";
import { NLM_F } from "./core/message.ts";
import type { ByteWriter } from "./core/writer.ts";
import { NetlinkError } from "./errors.ts";
import { dumpAddresses, dumpLinks, getLink } from "./dump.ts";
import { linkIndex } from "./ifindex.ts";
import { monitor, type MonitorEvent } from "./monitor.ts";
import type { RtnlKind } from "./registry.ts";
import { useSystemIpNames } from "./names.ts";
import { type Address, encodeAddress } from "./route/addr.ts";
import { AF, IFA_F, IFF, NDA, NETNSA, NTF, NUD, RT_TABLE, RTM, RTM_F, RTN } from "./route/constants.ts";
import { AttributeDecoder, AttributeEncoder } from "./core/attribute.ts";
import { nodeFs } from "../common/builtins.ts";
import { decodeNeighbour, encodeNeighbour, type Neighbour } from "./route/neigh.ts";
import { NEIGH_MODE_FLAGS, type NeighFilter, neighFilter, type NeighMode, type NeighSpec, neighFromSpec, neighStateMask } from "./spec/neigh.ts";
import { formatAddr, parsePrefix } from "./route/ip.ts";
import { encodeLink, type Link } from "./route/link.ts";
import { isDefaultIpNamesSet, parseProtocol, parseTable } from "./route/names.ts";
import { decodeRoute, encodeRoute, type Route } from "./route/route.ts";
import { decodeRule, encodeRule, type Rule } from "./route/rule.ts";
import { type AddressFilter, addressFilter, addressFlagFilter, type AddressMode, type AddressSpec, addressFromSpec } from "./spec/addr.ts";
import { checkU32, type Dev, num } from "./spec/common.ts";
import { type LinkAddSpec, type LinkChanges, linkFromChanges, linkFromSpec } from "./spec/link.ts";
import { O, sys } from "../ffi/libc.ts";
import { NETNS_RUN_DIR, netnsPath } from "../ffi/netns.ts";
import { type RouteFilter, routeFilter, routeFilterFamily, routeFilterTable, type RouteGetOptions, routeGetRequest, type RouteMode, type RouteSpec, routeBatchItem, routeSubject } from "./spec/route.ts";
import { type RuleFilter, ruleFilter, ruleFromSpec, type RuleSpec } from "./spec/rule.ts";

export type { Dev } from "./spec/common.ts";
export { type LinkAddSpec, type LinkChanges, type VethPeerSpec, type VlanSpec, type VxlanSpec, linkFromChanges, linkFromSpec } from "./spec/link.ts";
export { type AddressFilter, type AddressMode, type AddressSpec, addressFilter, addressFromSpec, addressSpecWarnings, parseLifetime } from "./spec/addr.ts";
export {
  type MetricName, type NexthopSpec, type RouteFilter, type RouteGetOptions, type RouteMetricsSpec, type RouteMode, type RouteSpec,
  metricValue, parseRttTime, routeBatchItem, routeFilter, routeFromSpec, routeGetRequest, ROUTE_MODE_FLAGS,
} from "./spec/route.ts";
export { type RuleAction, type RuleFilter, type RuleSpec, parseRange, parseRuleAction, ruleFilter, ruleFromSpec } from "./spec/rule.ts";
export { type NeighFilter, type NeighMode, type NeighSpec, neighFilter, neighFromSpec, parseNudState } from "./spec/neigh.ts";
export { DEFAULT_MONITOR_GROUPS, monitor, type MonitorEvent } from "./monitor.ts";

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
  /** The netlink socket (for raw requests and batches). */
  readonly conn: NetlinkConn;
  private readonly openOpts: OpenOptions;

  /** Wraps an open connection; {@link Rtnl.open} is the usual way. */
  constructor(conn: NetlinkConn, openOpts: OpenOptions = {}) {
    this.conn = conn;
    this.openOpts = openOpts;
  }

  /** Opens a connection (inside `opts.netns` when given: a name under /run/netns, a path, or an fd). */
  static open(opts: Pick<OpenOptions, "netns" | "rcvbuf"> = {}): Rtnl {
    // Speak this machine's names (rt_tables, rt_protos, …) unless the program chose others.
    if (!isDefaultIpNamesSet()) useSystemIpNames();
    return new Rtnl(NetlinkConn.open(opts), opts);
  }

  /** Closes the connection. Idempotent. */
  close(): void {
    this.conn.close();
  }

  // ---------------------------------------------------------------- links

  /**
   * Every link (`ip link show`). With `family` (AF_INET, AF_INET6), the kernel answers from that
   * family's view of the links, as it does for `ip -4|-6 addr show` (fewer attributes; IPv6's
   * has no txqlen, which ip then asks SIOCGIFTXQLEN for: take it from an AF_UNSPEC dump).
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const links = await Rtnl.open().listLinks();
   * links.map((l) => l.name); // ["lo", "tk0", …]
   * ```
   */
  listLinks(family: number = AF.UNSPEC): Promise<Link[]> {
    return dumpLinks(this.conn, family);
  }


  /** One link by name or index; throws NetlinkError ENODEV when there is none. */
  getLink(dev: Dev): Promise<Link> {
    return getLink(this.conn, dev);
  }

  /** The ifindex of a device (a number is returned as is). */
  async ifindex(dev: Dev): Promise<number> {
    // Only the header of the kernel's answer is read (netlink/ifindex.ts), not the whole link.
    return linkIndex(this.conn, dev);
  }

  /** @deprecated Use {@link Rtnl.ifindex} (one name for the concept across tunkit). Removed after 0.2. */
  index(dev: Dev): Promise<number> {
    return this.ifindex(dev);
  }

  /** Looks up every device name among `devs` (numbers pass through). */
  private async resolver(devs: ReadonlyArray<Dev | null | undefined>): Promise<(d: Dev) => number> {
    const m = new Map<string, number>();
    for (const d of devs) if (typeof d === "string" && !m.has(d)) m.set(d, await this.ifindex(d));
    return (d) => (typeof d === "number" ? d : m.get(d)!);
  }

  /**
   * Creates a link (`ip link add NAME type KIND …`): dummy, veth (peer), bridge, vlan (id,
   * protocol; needs `link`), vxlan (id, remote/group, local, dstport, dev), any other kind by
   * name. EEXIST when the name is taken; EOPNOTSUPP when the kernel lacks the kind.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.addLink({ name: "tkv0", kind: "veth", peer: "tkv1", up: true });
   * await nl.addLink({ name: "tkbr0", kind: "bridge" });
   * await nl.addLink({ name: "tkvx0", kind: "vxlan", vxlan: { id: 42, remote: "198.51.100.2", dstport: 4789, dev: "tkv0" } });
   * await nl.addLink({ name: "tkv0.5", kind: "vlan", link: "tkv0", vlan: { id: 5 } });
   * ```
   */
  async addLink(spec: LinkAddSpec): Promise<void> {
    const resolve = await this.resolver([spec.link, spec.master, spec.vxlan?.dev]);
    const l = linkFromSpec(spec, resolve);
    await this.conn.exec(RTM.NEWLINK, NLM_F.CREATE | NLM_F.EXCL, (w) => encodeLink(w, l), "add link", spec.name);
  }

  /**
   * Changes a link (`ip link set DEV …`): up/down, name, mtu, address, broadcast, txqueuelen,
   * promisc, arp, multicast, allmulticast, alias, group, master/nomaster, netns NAME|PID, …
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.setLink("tkv0", { up: true, mtu: 1400, promisc: true, alias: "uplink" });
   * await nl.setLink("tkv1", { master: "tkbr0" });
   * await nl.setLink("tkv1", { master: null });               // nomaster
   * await nl.setLink("tkv1", { netns: "blue" });              // into /run/netns/blue
   * ```
   */
  async setLink(dev: Dev, ch: LinkChanges): Promise<void> {
    const index = await this.ifindex(dev);
    const resolve = await this.resolver([ch.master]);
    let fd: number | undefined;
    let changes = ch;
    if (typeof ch.netns === "string") {
      fd = sys.open(ch.netns.includes("/") ? ch.netns : netnsPath(ch.netns), O.RDONLY);
      changes = { ...ch, netns: { fd } };
    }
    try {
      const l = linkFromChanges(changes, index, resolve);
      await this.conn.exec(RTM.NEWLINK, 0, (w) => encodeLink(w, l), "set link", String(dev));
    } finally {
      if (fd !== undefined) sys.close(fd);
    }
  }

  /**
   * Deletes a link (`ip link del DEV`); deleting one end of a veth deletes both.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * await Rtnl.open().deleteLink("tkv0");
   * ```
   */
  async deleteLink(dev: Dev): Promise<void> {
    const l: Partial<Link> = typeof dev === "number" ? { ifindex: dev } : { name: checkIfName(dev) };
    await this.conn.exec(RTM.DELLINK, 0, (w) => encodeLink(w, l), "delete link", String(dev));
  }

  /**
   * The names (under /run/netns) of the namespaces this one knows by an id (what `ip link`
   * prints as "link-netns NAME" instead of "link-netnsid N"): RTM_GETNSID for each name.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const names = await Rtnl.open().nsidNames();
   * names.get(0); // for example "blue"
   * ```
   */
  async nsidNames(): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    let entries: string[] = [];
    try {
      entries = nodeFs().readdirSync(NETNS_RUN_DIR);
    } catch {
      return out;
    }
    for (const name of entries) {
      let fd: number;
      try {
        fd = sys.open(netnsPath(name), O.RDONLY);
      } catch {
        continue;
      }
      try {
        const id = await this.conn.get(
          RTM.GETNSID,
          0,
          (w) => {
            w.u8(AF.UNSPEC);
            w.align4();
            new AttributeEncoder(w).u32(NETNSA.FD, fd);
          },
          (m) => {
            const ad = new AttributeDecoder(m.body.subarray(4), 4);
            let nsid = -1;
            while (ad.next()) if (ad.type === NETNSA.NSID) nsid = ad.i32();
            return nsid;
          },
          "get nsid",
          name,
        );
        if (id >= 0 && !out.has(id)) out.set(id, name);
      } catch {
        // not a namespace file, or no id assigned: skip it
      } finally {
        sys.close(fd);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- addresses

  /**
   * Addresses (`ip addr show`): both families unless told; the selectors of `ip addr show`
   * that apply to addresses (see {@link AddressFilter}); the kernel filters by device already.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.listAddresses({ dev: "tk0" });
   * await nl.listAddresses({ family: 2, scope: "global", flags: ["-secondary"] });
   * await nl.listAddresses({ label: "tk0:*" });
   * ```
   */
  async listAddresses(filter: AddressFilter = {}): Promise<Address[]> {
    const index = filter.dev === undefined ? 0 : await this.ifindex(filter.dev);
    const keep = addressFilter({ ...filter, dev: index || undefined }, filter.label === undefined ? undefined : this.linkNames(await this.listLinks()));
    return dumpAddresses(this.conn, filter.family ?? AF.UNSPEC, index, keep);
  }

  /** ifindex -> name, from a link listing. */
  private linkNames(links: readonly Link[]): (index: number) => string | undefined {
    const m = new Map(links.map((l) => [l.ifindex, l.name]));
    return (i) => m.get(i);
  }

  /**
   * Builds a batch item for an address (`mode` "create" = ip addr add, "replace", "change",
   * "delete"), resolving `spec.dev` through `cache` when given (see {@link batch}).
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.batch([await nl.addressItem({ dev: "tk0", address: "192.0.2.1/24", broadcast: "+" })]);
   * ```
   */
  async addressItem(spec: AddressSpec, mode: AddressMode = "create", cache?: Map<string, number>): Promise<BatchItem> {
    let index: number | undefined;
    if (typeof spec.dev === "number") index = spec.dev;
    else {
      index = cache?.get(String(spec.dev));
      if (index === undefined) {
        index = await this.ifindex(spec.dev);
        cache?.set(String(spec.dev), index);
      }
    }
    const del = mode === "delete";
    const a = addressFromSpec(spec, index, del);
    return {
      type: del ? RTM.DELADDR : RTM.NEWADDR,
      flags: mode === "create" ? NLM_F.CREATE | NLM_F.EXCL : mode === "replace" ? NLM_F.CREATE | NLM_F.REPLACE : mode === "change" ? NLM_F.REPLACE : 0,
      body: (w) => encodeAddress(w, a),
      op: del ? "delete address" : mode === "create" ? "add address" : `${mode} address`,
      subject: spec.address,
    };
  }

  /** Sends one address request and waits for the kernel's ack. */
  private async addressOp(spec: AddressSpec, mode: AddressMode): Promise<void> {
    const it = await this.addressItem(spec, mode);
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  /**
   * Adds an address (`ip addr add`); EEXIST when it is there already.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.addAddress({ dev: "tk0", address: "192.0.2.1/24", broadcast: "+", label: "tk0:a" });
   * await nl.addAddress({ dev: "tk0", address: "192.0.2.9", peer: "198.51.100.1/32" });
   * await nl.addAddress({ dev: "tk0", address: "2001:db8::1/64", flags: ["nodad", "noprefixroute"], validLft: 3600, preferredLft: 1800 });
   * ```
   */
  addAddress(spec: AddressSpec): Promise<void> {
    return this.addressOp(spec, "create");
  }
  /** Adds or updates an address (`ip addr replace`). @example `await nl.replaceAddress({ dev: "tk0", address: "192.0.2.1/24", validLft: 600, preferredLft: 300 })` */
  replaceAddress(spec: AddressSpec): Promise<void> {
    return this.addressOp(spec, "replace");
  }
  /** Updates an address (`ip addr change`, NLM_F_REPLACE only; the kernel creates a missing one all the same, as with ip). @example `await nl.changeAddress({ dev: "tk0", address: "192.0.2.1/24", metric: 50 })` */
  changeAddress(spec: AddressSpec): Promise<void> {
    return this.addressOp(spec, "change");
  }
  /**
   * Deletes an address (`ip addr del`). A bare IPv4 address ("10.30.151.99") deletes it whatever
   * its prefix length, as ip does (see addressSpecWarnings for ip's warning).
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * await Rtnl.open().deleteAddress({ dev: "tk0", address: "192.0.2.1" });
   * ```
   */
  deleteAddress(spec: AddressSpec): Promise<void> {
    return this.addressOp(spec, "delete");
  }

  /**
   * `ip addr flush`: deletes the addresses `filter` selects (both families unless told), in
   * rounds like ip (a primary's deletion can promote or remove its secondaries); with the
   * `primary` flag selector, one round only. Returns how many were deleted.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.flushAddresses({ dev: "tk0" });
   * await nl.flushAddresses({ dev: "tk0", family: 10, scope: "global" });
   * await nl.flushAddresses({ label: "tk0:*" });
   * ```
   */
  async flushAddresses(filter: AddressFilter = {}): Promise<number> {
    const fl = addressFlagFilter(filter.flags ?? []);
    const once = (fl.mask & IFA_F.SECONDARY) !== 0 && !(fl.flags & IFA_F.SECONDARY);
    let total = 0;
    for (let round = 0; round < 10; round++) {
      const addrs = await this.listAddresses(filter);
      if (!addrs.length) break;
      // Secondaries first, so that deleting a primary does not pull them away under us.
      addrs.sort((a, b) => (b.flags & IFA_F.SECONDARY) - (a.flags & IFA_F.SECONDARY));
      const res = await this.conn.batch(
        addrs.map((a) => ({ type: RTM.DELADDR, flags: 0, body: (w: ByteWriter) => encodeAddress(w, { ...a, cacheInfo: undefined }), op: "flush address", subject: a.local ?? a.address })),
      );
      const bad = res.find((r) => !r.ok && r.error.errno !== ERRNO.EADDRNOTAVAIL && r.error.errno !== ERRNO.ENOENT);
      if (bad && !bad.ok) throw bad.error;
      total += res.filter((r) => r.ok).length;
      if (once) break;
    }
    return total;
  }

  // ---------------------------------------------------------------- routes

  /**
   * Routes (`ip route show`): table main and IPv4 unless told, like ip; `table: "all"` dumps
   * every table of both families (unless `family` says one). Every selector of
   * `ip route list` (see {@link RouteFilter}); the kernel filters by table, protocol and
   * device already. A table that does not exist is ENOENT (main excepted), as with ip.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.listRoutes();                                  // ip route show
   * await nl.listRoutes({ table: "all", family: 10 });      // ip -6 route show table all
   * await nl.listRoutes({ root: "10.0.0.0/8", protocol: "static", dev: "tk0" });
   * ```
   */
  async listRoutes(filter: RouteFilter = {}): Promise<Route[]> {
    const f = await this.resolveRouteFilter(filter);
    const keep = routeFilter(f);
    const family = routeFilterFamily(f);
    const table = routeFilterTable(f);
    const proto = f.protocol === undefined || f.protocol === "all" ? 0 : num(f.protocol, parseProtocol)!;
    const cloned = f.cloned || f.table === "cache";
    const dump = () =>
      this.conn.dump(
        RTM.GETROUTE,
        (w) => encodeRoute(w, { family, protocol: proto, flags: cloned ? RTM_F.CLONED : 0, table: table || undefined, oif: typeof f.dev === "number" ? f.dev : undefined }),
        (m) => {
          if (m.type !== RTM.NEWROUTE) return undefined;
          const r = decodeRoute(m.body);
          return keep(r) ? r : undefined;
        },
        "list routes",
      );
    try {
      return await dump();
    } catch (e) {
      // Like ip: a main table that was never created is simply empty.
      if (e instanceof NetlinkError && e.errno === ERRNO.ENOENT && table === RT_TABLE.MAIN) return [];
      throw e;
    }
  }

  /** Resolves a filter's device names to ifindexes. */
  private async resolveRouteFilter(f: RouteFilter): Promise<RouteFilter> {
    if (typeof f.dev !== "string" && typeof f.iif !== "string") return f;
    return { ...f, dev: f.dev === undefined ? undefined : await this.ifindex(f.dev), iif: f.iif === undefined ? undefined : await this.ifindex(f.iif) };
  }

  /**
   * Resolves the devices of `spec` (`dev` and the next hops', through `cache` when given) and
   * builds a batch item for a route (see {@link batch}).
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * const it = await nl.routeItem({ dst: "10.7.0.0/16", nexthops: [{ gateway: "192.0.2.2", dev: "tk0", weight: 2 }, { gateway: "192.0.2.3", dev: "tk0" }] });
   * await nl.batch([it]);
   * ```
   */
  async routeItem(spec: RouteSpec, mode: RouteMode | "delete" = "create", cache?: Map<string, number>): Promise<BatchItem> {
    const names = [spec.dev, ...(spec.nexthops ?? []).map((n) => n.dev)].filter((d): d is string => typeof d === "string");
    const map = cache ?? new Map<string, number>();
    for (const d of names) {
      if (!map.has(d)) map.set(d, await this.ifindex(d));
    }
    const it = routeBatchItem(spec, mode, (d) => (typeof d === "number" ? d : map.get(d)!));
    it.subject = routeSubject(spec);
    return it;
  }

  /** Sends one route request and waits for the kernel's ack. */
  private async routeOp(spec: RouteSpec, mode: RouteMode | "delete"): Promise<void> {
    const it = await this.routeItem(spec, mode);
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  /**
   * Adds a route (`ip route add`, NLM_F_CREATE|NLM_F_EXCL); EEXIST when it exists.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.addRoute({ dst: "203.0.113.0/24", gateway: "192.0.2.254", dev: "tk0", metric: 10, table: 100 });
   * await nl.addRoute({ dst: "198.51.100.0/24", dev: "tk0", metrics: { mtu: 1400, rtt: "10ms", initcwnd: 10, congctl: "cubic" }, lock: ["mtu"] });
   * await nl.addRoute({ dst: "10.0.0.0/8", gateway: "inet6 fe80::1", dev: "tk0" });          // RTA_VIA
   * await nl.addRoute({ dst: "2001:db8:5::/48", dev: "tk0", pref: "high", expires: 600 });
   * ```
   */
  addRoute(spec: RouteSpec): Promise<void> {
    return this.routeOp(spec, "create");
  }
  /** Adds or replaces a route (`ip route replace`). @example `await nl.replaceRoute({ dst: "default", gateway: "192.0.2.1" })` */
  replaceRoute(spec: RouteSpec): Promise<void> {
    return this.routeOp(spec, "replace");
  }
  /** Changes an existing route (`ip route change`, NLM_F_REPLACE without CREATE): ENOENT when there is none. @example `await nl.changeRoute({ dst: "10.0.0.0/8", gateway: "192.0.2.2" })` */
  changeRoute(spec: RouteSpec): Promise<void> {
    return this.routeOp(spec, "change");
  }
  /** Appends a route after existing ones with the same key (`ip route append`). @example `await nl.appendRoute({ dst: "10.0.0.0/8", gateway: "192.0.2.3" })` */
  appendRoute(spec: RouteSpec): Promise<void> {
    return this.routeOp(spec, "append");
  }
  /** Adds a route before existing ones with the same key (`ip route prepend`, NLM_F_CREATE only). @example `await nl.prependRoute({ dst: "10.0.0.0/8", gateway: "192.0.2.4" })` */
  prependRoute(spec: RouteSpec): Promise<void> {
    return this.routeOp(spec, "prepend");
  }
  /** Deletes a route (`ip route del`); ESRCH when there is none. @example `await nl.deleteRoute({ dst: "10.0.0.0/8", table: 100 })` */
  deleteRoute(spec: RouteSpec): Promise<void> {
    return this.routeOp(spec, "delete");
  }

  /**
   * The route the kernel would use for one destination (`ip route get`): from, iif, oif, mark,
   * tos, uid, ipproto/sport/dport, fibmatch, connected (see {@link RouteGetOptions}).
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.getRoute("192.0.2.77");
   * await nl.getRoute("198.51.100.9", { uid: 1000, ipProto: "tcp", dport: 443 });
   * await nl.getRoute("203.0.113.9", { fibMatch: true });
   * ```
   */
  async getRoute(dst: string, opts: RouteGetOptions = {}): Promise<Route> {
    const iif = opts.iif === undefined ? undefined : await this.ifindex(opts.iif);
    const oif = opts.oif === undefined ? undefined : await this.ifindex(opts.oif);
    const req = routeGetRequest(dst, opts, iif, oif);
    const get = (r: Partial<Route>) => this.conn.get(RTM.GETROUTE, 0, (w) => encodeRoute(w, r), (m) => decodeRoute(m.body), "get route", dst);
    const first = await get(req);
    if (!opts.connected || opts.from !== undefined) return first;
    const from = first.prefsrc ?? first.src;
    if (from === undefined) throw new NetlinkError("get route", ERRNO.EADDRNOTAVAIL, { subject: dst, extackMessage: "the route has no source address to connect from" });
    return get({ ...req, src: from, srcLen: req.family === AF.INET ? 32 : 128 });
  }

  /**
   * `ip route flush`: deletes the routes `filter` selects (ip's selectors; IPv4 unless a
   * family is given or the table is "all") and `match` keeps, in rounds until none is left.
   * Returns how many were deleted. Pass the family explicitly to flush IPv6 (the CLI does).
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.flushRoutes({ table: 100 });                          // IPv4 routes of table 100
   * await nl.flushRoutes({ family: 10, table: "all", protocol: 84 });
   * await nl.flushRoutes({ dev: "tk0" });
   * ```
   */
  async flushRoutes(filter: RouteFilter = {}, match: (r: Route) => boolean = () => true): Promise<number> {
    let total = 0;
    for (let round = 0; round < 64; round++) {
      const routes = (await this.listRoutes(filter)).filter((r) => match(r) && !isIpv6NullEntry(r));
      if (!routes.length) break;
      const res = await this.conn.batch(
        routes.map((r) => ({ type: RTM.DELROUTE, flags: 0, body: (w: ByteWriter) => encodeRoute(w, { ...r, cacheInfo: undefined }), op: "flush route", subject: r.dst ?? "default" })),
      );
      const bad = res.find((x) => !x.ok && x.error.errno !== ERRNO.ESRCH && x.error.errno !== ERRNO.ENOENT);
      if (bad && !bad.ok) throw bad.error;
      total += routes.length;
    }
    return total;
  }

  // ---------------------------------------------------------------- rules

  /**
   * Routing policy rules (`ip rule show`): IPv4 unless told, like ip (`family: AF.UNSPEC` for
   * both), optionally only those matching the `ip rule list` selectors of `filter`.
   * A number is taken as the family (the older signature).
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.listRules();                               // IPv4 rules
   * await nl.listRules({ family: 10, table: "main" });  // IPv6 rules that look up main
   * await nl.listRules({ uidRange: "1000-1999" });
   * ```
   */
  async listRules(filter: RuleFilter | number = {}): Promise<Rule[]> {
    const f: RuleFilter = typeof filter === "number" ? { family: filter } : filter;
    const keep = ruleFilter(f);
    const family = f.family ?? AF.INET;
    return this.conn.dump(
      RTM.GETRULE,
      (w) => encodeRule(w, { family }),
      (m) => {
        if (m.type !== RTM.NEWRULE) return undefined;
        const r = decodeRule(m.body);
        return keep(r) ? r : undefined;
      },
      "list rules",
    );
  }

  /**
   * A batch item for a rule (`ip rule add`, or `ip rule del` with `del`). Throws UsageError on
   * bad input, before any I/O.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.batch([nl.ruleItem({ uidRange: "1000-1999", table: 100, priority: 900 })]);
   * ```
   */
  ruleItem(spec: RuleSpec, del = false): BatchItem {
    const r = ruleFromSpec(spec, del);
    return {
      type: del ? RTM.DELRULE : RTM.NEWRULE,
      flags: del ? 0 : NLM_F.CREATE | NLM_F.EXCL,
      body: (w) => encodeRule(w, r),
      op: del ? "delete rule" : "add rule",
      subject: ruleSubject(spec),
    };
  }

  /**
   * Adds a rule (`ip rule add`): every selector and action of ip (see {@link RuleSpec});
   * without a table or an action it looks up main. EEXIST when the same rule exists.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.addRule({ from: "192.0.2.0/24", table: 100, priority: 1000 });
   * await nl.addRule({ uidRange: "1000-1999", table: "main", priority: 1001 });
   * await nl.addRule({ ipProto: "tcp", dport: "80-443", action: "prohibit", priority: 1002 });
   * await nl.addRule({ fwmark: 0x54, fwmask: 0xff, goto: 1100, priority: 1003 });
   * ```
   */
  async addRule(spec: RuleSpec): Promise<void> {
    const it = this.ruleItem(spec);
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  /**
   * Deletes a rule (`ip rule del`): the kernel deletes the first rule that matches every field
   * given (ENOENT when none does).
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * await Rtnl.open().deleteRule({ priority: 1000 });
   * ```
   */
  async deleteRule(spec: RuleSpec): Promise<void> {
    const it = this.ruleItem(spec, true);
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  /**
   * `ip rule flush`: deletes every rule of the family (IPv4 unless told) that matches `filter`
   * and has a priority other than 0 (the kernel's local rule stays). Like ip, this removes the
   * main and default rules too unless the filter spares them. Returns how many were deleted.
   *
   * @example
   * ```ts
   * import { Rtnl, RTPROT_TUNKIT } from "./mod.ts";
   * const nl = Rtnl.open();
   * await nl.flushRules({ protocol: RTPROT_TUNKIT });   // tunkit's own rules, IPv4
   * await nl.flushRules({ family: 10, table: 100 });
   * ```
   */
  async flushRules(filter: RuleFilter = {}): Promise<number> {
    const rules = (await this.listRules(filter)).filter((r) => r.priority !== undefined && r.priority !== 0);
    const res = await this.conn.batch(
      rules.map((r) => ({ type: RTM.DELRULE, flags: 0, body: (w: ByteWriter) => encodeRule(w, r), op: "flush rule", subject: `pref ${r.priority}` })),
    );
    const bad = res.find((x) => !x.ok && x.error.errno !== ERRNO.ENOENT);
    if (bad && !bad.ok) throw bad.error;
    return rules.length;
  }

  // ---------------------------------------------------------------- neighbours

  /**
   * Neighbour entries (`ip neigh show`): both families unless told, every state but noarp
   * (see {@link NeighFilter}); `proxy: true` lists the proxy entries instead.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.listNeighbours({ dev: "tk0" });
   * await nl.listNeighbours({ family: 2, nud: ["permanent", "stale"] });
   * await nl.listNeighbours({ proxy: true });
   * ```
   */
  async listNeighbours(filter: NeighFilter = {}, flush = false): Promise<Neighbour[]> {
    const index = filter.dev === undefined ? undefined : await this.ifindex(filter.dev);
    const master = filter.master === undefined ? undefined : filter.master === null ? -1 : await this.ifindex(filter.master);
    const keep = neighFilter({ ...filter, dev: index }, flush);
    return this.conn.dump(
      RTM.GETNEIGH,
      (w) => {
        encodeNeighbour(w, { family: filter.family ?? AF.UNSPEC, flags: filter.proxy ? NTF.PROXY : 0, ifindexAttr: index });
        if (master !== undefined) new AttributeEncoder(w).i32(NDA.MASTER, master);
      },
      (m) => {
        if (m.type !== RTM.NEWNEIGH) return undefined;
        const n = decodeNeighbour(m.body);
        return keep(n) ? n : undefined;
      },
      "list neighbours",
    );
  }

  /**
   * A batch item for a neighbour entry (`ip neigh add|replace|change|del`), resolving `dev`
   * (through `cache` when given).
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.batch([await nl.neighItem({ dst: "192.0.2.7", lladdr: "02:00:00:00:00:07", dev: "tk0" }, "replace")]);
   * ```
   */
  async neighItem(spec: NeighSpec, mode: NeighMode = "create", cache?: Map<string, number>): Promise<BatchItem> {
    let ifindex = 0;
    if (typeof spec.dev === "number") ifindex = spec.dev;
    else if (spec.dev !== undefined) {
      ifindex = cache?.get(spec.dev) ?? (await this.ifindex(spec.dev));
      cache?.set(spec.dev, ifindex);
    }
    const n = neighFromSpec(spec, ifindex);
    const del = mode === "delete";
    return {
      type: del ? RTM.DELNEIGH : RTM.NEWNEIGH,
      flags: del ? 0 : NEIGH_MODE_FLAGS[mode],
      body: (w) => encodeNeighbour(w, n),
      op: del ? "delete neighbour" : mode === "create" ? "add neighbour" : `${mode} neighbour`,
      subject: `${spec.proxy ? "proxy " : ""}${spec.dst}${spec.dev !== undefined ? ` dev ${spec.dev}` : ""}`,
    };
  }

  /** Sends one neighbour request and waits for the kernel's ack. */
  private async neighOp(spec: NeighSpec, mode: NeighMode): Promise<void> {
    const it = await this.neighItem(spec, mode);
    await this.conn.exec(it.type, it.flags, it.body, it.op, it.subject);
  }

  /**
   * Adds a neighbour entry (`ip neigh add`; state permanent unless told); EEXIST when there is one.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.addNeighbour({ dst: "192.0.2.7", lladdr: "02:00:00:00:00:07", dev: "tk0" });
   * await nl.addNeighbour({ dst: "2001:db8::7", lladdr: "02:00:00:00:00:07", dev: "tk0", state: "stale", router: true });
   * await nl.addNeighbour({ dst: "192.0.2.99", proxy: true, dev: "tk0" });
   * ```
   */
  addNeighbour(spec: NeighSpec): Promise<void> {
    return this.neighOp(spec, "create");
  }
  /** Adds or replaces a neighbour entry (`ip neigh replace`). @example `await nl.replaceNeighbour({ dst: "192.0.2.7", lladdr: "02:00:00:00:00:08", dev: "tk0" })` */
  replaceNeighbour(spec: NeighSpec): Promise<void> {
    return this.neighOp(spec, "replace");
  }
  /** Changes an existing neighbour entry (`ip neigh change`); ENOENT when there is none. @example `await nl.changeNeighbour({ dst: "192.0.2.7", state: "stale", dev: "tk0" })` */
  changeNeighbour(spec: NeighSpec): Promise<void> {
    return this.neighOp(spec, "change");
  }
  /** Deletes a neighbour entry (`ip neigh del`, `proxy` for a proxy entry). @example `await nl.deleteNeighbour({ dst: "192.0.2.7", dev: "tk0" })` */
  deleteNeighbour(spec: NeighSpec): Promise<void> {
    return this.neighOp(spec, "delete");
  }

  /**
   * One entry (`ip neigh get ADDR dev DEV`, or `proxy ADDR`); ENOENT when there is none.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const n = await Rtnl.open().getNeighbour("192.0.2.7", "tk0");
   * n.lladdr; // for example "02:00:00:00:00:07"
   * ```
   */
  async getNeighbour(dst: string, dev: Dev, proxy = false): Promise<Neighbour> {
    const n = neighFromSpec({ dst, proxy }, await this.ifindex(dev));
    return this.conn.get(
      RTM.GETNEIGH,
      0,
      (w) => encodeNeighbour(w, { family: n.family, ifindex: n.ifindex, flags: proxy ? NTF.PROXY : 0, dst: n.dst }),
      (m) => decodeNeighbour(m.body),
      "get neighbour",
      `${dst} dev ${dev}`,
    );
  }

  /**
   * `ip neigh flush`: deletes the entries `filter` selects (by default every state but
   * permanent and noarp), in rounds like ip (up to 10, failed entries spared after the first)
   * until none is left. Returns how many were deleted.
   *
   * @example
   * ```ts
   * import { Rtnl } from "./rtnl.ts";
   * const nl = Rtnl.open();
   * await nl.flushNeighbours({ dev: "tk0" });
   * await nl.flushNeighbours({ dev: "tk0", nud: ["all"] });     // permanent ones too
   * await nl.flushNeighbours({ proxy: true, to: "192.0.2.0/24" });
   * ```
   */
  async flushNeighbours(filter: NeighFilter = {}): Promise<number> {
    let total = 0;
    let nud: ReadonlyArray<string | number> | undefined = filter.nud;
    for (let round = 0; round < 10; round++) {
      const entries = await this.listNeighbours({ ...filter, nud }, true);
      if (!entries.length) return total;
      const res = await this.conn.batch(
        entries.map((n) => ({ type: RTM.DELNEIGH, flags: 0, body: (w: ByteWriter) => encodeNeighbour(w, { ...n, cacheInfo: undefined, probes: undefined }), op: "flush neighbour", subject: n.dst })),
      );
      const bad = res.find((x) => !x.ok && x.error.errno !== ERRNO.ENOENT);
      if (bad && !bad.ok) throw bad.error;
      total += entries.length;
      // Like ip: after the first round, failed entries (which the kernel keeps re-creating) are spared.
      const mask = neighStateMask({ nud }, true) & ~NUD.FAILED;
      nud = [mask === 0 ? 0x100 : mask];
    }
    return total;
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
   * Watches link, address, route, rule and neighbour changes (or only `kinds`, like
   * `ip monitor rule neigh`) as an async iterator on a socket of its own (in the same
   * namespace). Never blocks the event loop; ENOBUFS becomes an `overrun` event. Break out of
   * the loop (or call `return()`) to close it.
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
  monitor(opts: { kinds?: readonly RtnlKind[]; groups?: readonly number[]; rcvbuf?: number } = {}): AsyncIterableIterator<MonitorEvent> {
    return monitor({ ...this.openOpts, kinds: opts.kinds, groups: opts.groups, rcvbuf: opts.rcvbuf ?? this.openOpts.rcvbuf });
  }
}

/** The IPv6 null entry (default unreachable, metric 0xffffffff) that ip's flush leaves alone. */
function isIpv6NullEntry(r: Route): boolean {
  return r.family === AF.INET6 && r.dstLen === 0 && r.type === RTN.UNREACHABLE && r.priority === 0xffffffff;
}

/** What a rule is about, for messages: "pref 100 from 192.0.2.0/24 lookup 100". */
function ruleSubject(spec: RuleSpec): string | undefined {
  const parts: string[] = [];
  if (spec.priority !== undefined) parts.push(`pref ${spec.priority}`);
  if (spec.from !== undefined) parts.push(`from ${spec.from}`);
  if (spec.to !== undefined) parts.push(`to ${spec.to}`);
  if (spec.table !== undefined) parts.push(`lookup ${spec.table}`);
  return parts.length ? parts.join(" ") : undefined;
}

/**
 * True when `e` is a {@link NetlinkError} with that errno name.
 *
 * @example
 * ```ts
 * import { isNetlinkErrno, Rtnl } from "./rtnl.ts";
 * const nl = Rtnl.open();
 * try { await nl.addRoute({ dst: "198.51.100.0/24", dev: "tk0" }); } catch (e) { if (!isNetlinkErrno(e, "EEXIST")) throw e; }
 * ```
 */
export function isNetlinkErrno(e: unknown, code: string): e is NetlinkError {
  return e instanceof NetlinkError && e.code === code;
}
