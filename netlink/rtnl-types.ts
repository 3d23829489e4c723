/**
 * The types {@link Rtnl}'s public signatures refer to, in one list. An entry that exposes Rtnl
 * (directly, or through a signature of its own: `tunkit/tun`, `tunkit/proxy`, `tunkit/wg`, `tunkit`)
 * re-exports this module with `export type *`, so its documentation is complete (deno doc
 * --lint: no private-type-ref) and a program can name every type it is handed. Type-only: it adds
 * no runtime name.
 *
 * @module
 */
export type { BatchItem, BatchOptions, BatchResult, NetlinkConn, Transport } from "./conn.ts";
export type { NetlinkMessage } from "./core/message.ts";
export type { ByteWriter } from "./core/writer.ts";
export type { NetlinkError } from "./errors.ts";
export type { MonitorEvent } from "./monitor.ts";
export type { RTNL_TYPES, RtnlKind, RtnlObject, RtnlType } from "./registry.ts";
export type { Address, AddressCacheInfo } from "./route/addr.ts";
export type { Link, LinkStats64 } from "./route/link.ts";
export type { BridgeInfo, BridgePortInfo, LinkInfo, TunInfo, VethInfo, VlanFlags, VlanInfo, VxlanInfo } from "./route/linkinfo.ts";
export type { IpNames } from "./route/names.ts";
export type { Neighbour, NeighCacheInfo } from "./route/neigh.ts";
export type { METRIC_NAMES, Nexthop, Route, RouteCacheInfo, RouteMetrics, RouteVia } from "./route/route.ts";
export type { Range, Rule } from "./route/rule.ts";
export type { Rtnl } from "./rtnl.ts";
export type { AddressFilter, AddressMode, AddressSpec } from "./spec/addr.ts";
export type { Dev } from "./spec/common.ts";
export type { LinkAddSpec, LinkChanges, VethPeerSpec, VlanSpec, VxlanSpec } from "./spec/link.ts";
export type { NeighFilter, NeighMode, NeighSpec } from "./spec/neigh.ts";
export type { MetricName, NexthopSpec, RouteFilter, RouteGetOptions, RouteMetricsSpec, RouteMode, RouteSpec } from "./spec/route.ts";
export type { RangeInput, RuleAction, RuleFilter, RuleSpec } from "./spec/rule.ts";
export type { IpViewContext } from "./view/context.ts";
export type { TunkitError } from "../common/errors.ts";
