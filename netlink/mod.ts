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
export { Rtnl, monitor, routeFromSpec, routeBatchItem, addressFromSpec, ruleFromSpec, isNetlinkErrno, DEFAULT_MONITOR_GROUPS } from "./rtnl.ts";
export type { Dev, LinkAddSpec, LinkChanges, AddressSpec, RouteSpec, RouteMode, RouteGetOptions, RuleSpec, MonitorEvent } from "./rtnl.ts";
export { NetlinkConn, SocketTransport, fakeConn, fakeTransport, NETLINK_OPT } from "./conn.ts";
export type { Transport, OpenOptions, BatchItem, BatchResult, BatchOptions } from "./conn.ts";
export { NetlinkError, DumpInterruptedError, NetlinkProtocolError } from "./errors.ts";
export { linkToIpJson, linkAddressesToIpJson, addressToIpJson, routeToIpJson, ruleToIpJson, linkMap } from "./route/json.ts";
export type { IpJsonContext } from "./route/json.ts";
export type { Link, LinkInfo, LinkStats64, TunInfo } from "./route/link.ts";
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
  protocolName, parseProtocol, scopeName, parseScope, tableName, parseTable, routeTypeName, parseRouteType,
  operstateName, linkTypeName, linkFlagNames, addressFlagNames, parseAddressFlags, ruleActionName,
} from "./route/names.ts";
export { formatAddr, parseAddr, parsePrefix } from "./route/ip.ts";
export { formatMac, parseMac } from "../common/addr.ts";
export type { Prefix } from "./route/ip.ts";
export { AttributeEncoder, AttributeDecoder } from "./core/attribute.ts";
export { ByteWriter } from "./core/writer.ts";
export { parseMessages, parseAck, parseDone, beginMessage, endMessage, NLM_F, NLMSG } from "./core/message.ts";
export type { NetlinkMessage, NetlinkAck } from "./core/message.ts";
