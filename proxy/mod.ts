/**
 * tun2socks / tun2http: the tunnel, SOCKS5 and HTTP CONNECT dialers, UDP relay, fake-IP DNS, auto-route and cleanup. Re-exports only.
 *
 * @example
 * ```ts
 * import { parseProxyUrl, redactProxyUrl } from "./mod.ts";
 * redactProxyUrl(parseProxyUrl("socks5://alice:secret@192.0.2.2:1080", "socks5")); // "socks5://alice@192.0.2.2:1080"
 * ```
 * @module
 */
export { Tunnel, type TunnelOptions, type TunnelFamily } from "./tunnel.ts";
export { ProxyHealth, type ProxyHealthOptions } from "./health.ts";
export { TunnelRegistration, listTunnelRecords, registryDir, ruleKey, processStart, netnsInode, type TunnelRecord, type FoundRecord } from "./registry.ts";
export { TunnelStats, type TunnelStatsJson } from "./stats.ts";
export { FlowTable, FLOW } from "./nat.ts";
export { TcpRedirect, VERDICT, viewPacket, rewriteInPlace, tcpResetFor, icmpUnreachableFor, formatAddrAt, type PacketView, type RedirectAddresses } from "./tcp-redirect.ts";
export { parseProxyUrl, redactProxyUrl, formatTarget, ipVersion, isHostName, type ProxyUrl, type Target } from "./url.ts";
export { ProxyError, connectTcp, HandshakeReader, type Dialer, type ProxyStream, type ProxyFailure } from "./dial.ts";
export { Socks5Dialer, encodeSocksAddress, decodeSocksAddress, encodeSocksUdp, decodeSocksUdp, SOCKS_CMD, SOCKS_REPLY, type SocksAssociation } from "./socks5.ts";
export { HttpConnectDialer, connectRequest, parseStatusLine } from "./http-connect.ts";
export { UdpRelay, type UdpOptions, type UdpHost } from "./udp.ts";
export { FakeIpPool, FakeIp6Pool, DEFAULT_FAKE_IP6_POOL, decodeDnsQuery, encodeDnsResponse, dnsErrorResponse, answerFakeIp, DNS_TYPE, DNS_RCODE, DnsTcpFramer, frameDnsTcp, type DnsQuery, type DnsAnswer } from "./dns.ts";
export { planAutoRoute, installAutoRoute, cleanupTunkit, autoRuleWire, AUTO_ROUTE_TABLE, AUTO_ROUTE_PRIORITY, AUTO_ROUTE_SPAN, type AutoRouteOptions, type AutoRoutePlan, type AutoRule, type CleanupResult, type SkippedTunnel } from "./autoroute.ts";
export { startProxyTunnel, planProxyTunnel, fakePeerFor, type ProxyTunnelPlan, type ProxyTunnelFlags, type RunningTunnel, type FamilyPolicy } from "./setup.ts";

// Types the API above refers to (so documentation can link them).
export type { TunkitError } from "../common/errors.ts";
export type { Route } from "../netlink/route/route.ts";
export type { Rule } from "../netlink/route/rule.ts";
export type { Rtnl } from "../netlink/rtnl.ts";
export type { RouteSpec } from "../netlink/spec/route.ts";
export type { TunDevice } from "../tun/device.ts";
export type { TunQueue } from "../tun/queue.ts";
export type { UidRange } from "./autoroute.ts";
export type { DialSocketOptions, HandshakeMachine, HandshakeStep, StreamSocket } from "./dial.ts";
export type { TunnelLog } from "./log.ts";
export type { BatchItem, BatchOptions, BatchResult, NetlinkConn } from "../netlink/conn.ts";
export type { MonitorEvent } from "../netlink/monitor.ts";
export type { RtnlKind } from "../netlink/registry.ts";
export type { Address } from "../netlink/route/addr.ts";
export type { Link } from "../netlink/route/link.ts";
export type { Neighbour } from "../netlink/route/neigh.ts";
export type { Nexthop, RouteCacheInfo, RouteMetrics, RouteVia } from "../netlink/route/route.ts";
export type { Range } from "../netlink/route/rule.ts";
export type { AddressFilter, AddressMode, AddressSpec } from "../netlink/spec/addr.ts";
export type { Dev } from "../netlink/spec/common.ts";
export type { LinkAddSpec, LinkChanges } from "../netlink/spec/link.ts";
export type { NeighFilter, NeighMode, NeighSpec } from "../netlink/spec/neigh.ts";
export type { MetricName, NexthopSpec, RouteFilter, RouteGetOptions, RouteMetricsSpec, RouteMode } from "../netlink/spec/route.ts";
export type { RuleFilter, RuleSpec } from "../netlink/spec/rule.ts";
export type { TunFlags } from "../tun/device.ts";
export type { ListenOptions } from "../tun/queue.ts";
export type { LogLevel } from "./log.ts";
export type { Transport } from "../netlink/conn.ts";
export type { NetlinkMessage } from "../netlink/core/message.ts";
export type { ByteWriter } from "../netlink/core/writer.ts";
export type { NetlinkError } from "../netlink/errors.ts";
export type { RTNL_TYPES, RtnlObject } from "../netlink/registry.ts";
export type { AddressCacheInfo } from "../netlink/route/addr.ts";
export type { LinkStats64 } from "../netlink/route/link.ts";
export type { LinkInfo } from "../netlink/route/linkinfo.ts";
export type { NeighCacheInfo } from "../netlink/route/neigh.ts";
export type { METRIC_NAMES } from "../netlink/route/route.ts";
export type { VethPeerSpec, VlanSpec, VxlanSpec } from "../netlink/spec/link.ts";
export type { RangeInput, RuleAction } from "../netlink/spec/rule.ts";
export type { LOG_LEVELS } from "./log.ts";
export type { RtnlType } from "../netlink/registry.ts";
export type { BridgeInfo, BridgePortInfo, TunInfo, VethInfo, VlanInfo, VxlanInfo } from "../netlink/route/linkinfo.ts";
export type { VlanFlags } from "../netlink/route/linkinfo.ts";
export type { IpViewContext } from "../netlink/view/context.ts";
export type { IpNames } from "../netlink/route/names.ts";
