/**
 * tunkit's rtnetlink stack: pure codecs (core/, route/), the socket (conn.ts) and the library
 * API (rtnl.ts). Re-exports only.
 *
 * @example
 * ```ts
 * import { Rtnl, routeToIpJson, linkMap } from "./mod.ts";
 * const nl = Rtnl.open();
 * const ctx = { links: linkMap(await nl.listLinks()) };
 * console.log((await nl.listRoutes()).map((r) => routeToIpJson(r, ctx)));
 * nl.close();
 * ```
 * @module
 */
export { Rtnl, isNetlinkErrno } from "./rtnl.ts";
export { monitor, monitorEvent, DEFAULT_MONITOR_GROUPS } from "./monitor.ts";
export { RTNL_TYPES, RTNL_KINDS, rtnlKindOf, groupsOf } from "./registry.ts";
export type { RtnlType, RtnlKind, RtnlObject, RtnlMessageKind } from "./registry.ts";
export { neighFromSpec, neighFilter, parseNudState, nudStateNames, NEIGH_MODE_FLAGS } from "./spec/neigh.ts";
export type { NeighSpec, NeighFilter, NeighMode } from "./spec/neigh.ts";
export type { Neighbour, NeighCacheInfo } from "./route/neigh.ts";
export { decodeNeighbour, encodeNeighbour } from "./route/neigh.ts";
export { IpPrinter, hex0x } from "./view/printer.ts";
export type { Json, JsonValue } from "./view/printer.ts";
export type { IpViewContext } from "./view/context.ts";
export { printRule, ruleToIpText } from "./view/rule.ts";
export { printNeigh, neighToIpJson, neighToIpText } from "./view/neigh.ts";
export type { MonitorEvent } from "./monitor.ts";
export type { Dev } from "./spec/common.ts";
export { linkFromSpec, linkFromChanges } from "./spec/link.ts";
export type { LinkAddSpec, LinkChanges, VethPeerSpec, VlanSpec, VxlanSpec, LinkDevIndex } from "./spec/link.ts";
export { printLink, linkToIpText, linkAddressesToIpText } from "./view/link.ts";
export { monitorEventToIpText } from "./view/monitor.ts";
export {
  routesToIpText, routesToIpJson, rulesToIpText, rulesToIpJson, neighboursToIpText, neighboursToIpJson,
  linksToIpText, linksToIpJson, addressesToIpText, addressesToIpJson,
} from "./view/text.ts";
export type { LinkViewContext, PrintLinkOptions } from "./view/link.ts";
export { KIND_DATA, SLAVE_KIND_DATA, linkInfoCodec } from "./route/linkinfo.ts";
export { printBridge, printBridgePort } from "./view/bridge.ts";
export { addressFromSpec, addressFilter, addressFlagFilter, addressSpecWarnings, parseLifetime, globRegExp, ADDRESS_FLAG_WORDS } from "./spec/addr.ts";
export type { AddressSpec, AddressFilter, AddressMode } from "./spec/addr.ts";
export { printAddress, addressToIpText } from "./view/addr.ts";
export {
  routeFromSpec, routeBatchItem, routeGetRequest, routeFilter, routeFilterFamily, routeFilterTable, metricValue, parseRttTime, ROUTE_MODE_FLAGS,
} from "./spec/route.ts";
export type { RouteSpec, RouteMode, RouteGetOptions, RouteFilter, NexthopSpec, MetricName, RouteMetricsSpec, DevIndex } from "./spec/route.ts";
export { printRoute, routeToIpText, familyName } from "./view/route.ts";
export type { RouteViewContext } from "./view/route.ts";
export { ruleFromSpec, ruleFilter, parseRange, parseRuleAction } from "./spec/rule.ts";
export type { RuleSpec, RuleFilter, RuleAction, RangeInput } from "./spec/rule.ts";
export { NetlinkConn, SocketTransport, fakeConn, fakeTransport, NETLINK_OPT } from "./conn.ts";
export type { Transport, OpenOptions, BatchItem, BatchResult, BatchOptions } from "./conn.ts";
export { NetlinkError, DumpInterruptedError, NetlinkProtocolError } from "./errors.ts";
export { linkToIpJson, linkAddressesToIpJson, addressToIpJson, routeToIpJson, ruleToIpJson, linkMap } from "./route/json.ts";
export type { IpJsonContext } from "./route/json.ts";
export type { Link, LinkInfo, LinkStats64, TunInfo, VethInfo, VlanInfo, VlanFlags, VxlanInfo, BridgeInfo, BridgePortInfo } from "./route/link.ts";
export type { Address, AddressCacheInfo } from "./route/addr.ts";
export type { Route, RouteWire, RouteVia, Nexthop, RouteMetrics, RouteCacheInfo } from "./route/route.ts";
export type { Rule, Range } from "./route/rule.ts";
export { decodeLink, encodeLink } from "./route/link.ts";
export { decodeAddress, encodeAddress } from "./route/addr.ts";
export { decodeRoute, encodeRoute } from "./route/route.ts";
export { decodeRule, encodeRule } from "./route/rule.ts";
export { decodeRtnl } from "./route/decode.ts";
export type { RtnlMessage } from "./route/decode.ts";
export * from "./route/constants.ts";
export {
  protocolName, parseProtocol, scopeName, parseScope, tableName, parseTable, routeTypeName, parseRouteType, routeTypeOf,
  ruleActionName, parseCNumber, IpNames, BUILTIN_IP_NAMES, defaultIpNames, setDefaultIpNames, isDefaultIpNamesSet,
} from "./route/names.ts";
export type { NameDb, NameSource, IpNamesOptions } from "./route/names.ts";
export { operstateName, linkTypeName, linkFlagNames, addressFlagNames, parseAddressFlags } from "./route/flags.ts";
export { loadIpNames, useSystemIpNames } from "./names.ts";
export type { IpNamesPaths } from "./names.ts";
export { formatAddr, parseAddr, parsePrefix } from "./route/ip.ts";
export { formatMac, parseMac } from "../common/addr.ts";
export type { Prefix } from "./route/ip.ts";
export { AttributeEncoder, AttributeDecoder } from "./core/attribute.ts";
export { ByteWriter } from "./core/writer.ts";
export { parseMessages, parseAck, parseDone, beginMessage, endMessage, NLM_F, NLMSG } from "./core/message.ts";
export type { NetlinkMessage, NetlinkAck } from "./core/message.ts";
export { addrFamily } from "./route/ip.ts";
export { type BatchItem as NetlinkBatchItem } from "./conn.ts";

// Types the API above refers to (so documentation can link them).
export type { MalformedError, TruncatedError, TunkitError } from "../common/errors.ts";
export type { KindCodec } from "./route/linkinfo.ts";
export type { AddrKey, METRIC_NAMES } from "./route/route.ts";
export type { AttrCodec } from "./route/table.ts";
