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
// The ones Rtnl's signatures bring, shared with the other entries: netlink/rtnl-types.ts.
export type * from "../netlink/rtnl-types.ts";
// A tun device's types, shared with the other entries: tun/device-types.ts.
export type * from "../tun/device-types.ts";
export type { UidRange } from "./autoroute.ts";
export type { DialSocketOptions, HandshakeMachine, HandshakeStep, StreamSocket } from "./dial.ts";
export type { LOG_LEVELS, LogLevel, TunnelLog } from "./log.ts";
