/**
 * tunkit: TUN/TAP devices, rtnetlink and packet tools for Bun and Deno.
 *
 * @example
 * ```ts
 * import { openTun } from "./mod.ts";
 * const dev = openTun({ name: "tun%d" });
 * const pkt = await dev.read(); // never blocks the event loop
 * dev.close();
 * ```
 *
 * @module
 */

// Errors
export { TunkitError, UsageError, TruncatedError, MalformedError, isDecodeError } from "./common/errors.ts";
export { SysError, DeviceClosedError, ERRNO, errnoName } from "./ffi/errors.ts";
export { checkIfName, IFNAME_MAX } from "./common/ifname.ts";
export { fromHex, toHex } from "./common/hex.ts";
export { Cursor } from "./common/cursor.ts";

// Devices and packet I/O
export {
  openTun, deleteTun, tunFeatures, decodeTunFlags, TunDevice, TUN_PATH,
  type TunOptions, type TunFlags, type TunFeatures,
} from "./tun/device.ts";
export { TunQueue, MAX_PACKET, type ListenOptions } from "./tun/queue.ts";
export { tunHolders, type TunHolder, type TunHoldersOptions } from "./tun/holders.ts";
export { ping, resolvePingTarget, buildEchoRequest, parseEchoReply, rttStats, type PingOptions, type PingStart, type PingReply, type PingResult, type PingRtt, type EchoReplyView } from "./tun/ping.ts";
export { IFF, TUN_F, featureNames } from "./ffi/abi.ts";
export { enterNetns, netnsPath, NETNS_RUN_DIR } from "./ffi/netns.ts";

// --- netlink (rtnetlink): exports added as netlink/ lands -------------------------------------
export { parseAddr, parsePrefix, formatAddr, addrFamily, type Prefix } from "./netlink/route/ip.ts";
export { formatIp, formatIpv4, formatIpv6, parseIp, parseCidr, formatMac, parseMac, type Cidr } from "./common/addr.ts";
export { AF, RTN, RT_SCOPE, RT_TABLE, RTPROT, IF_OPER, IFA_F } from "./netlink/route/constants.ts";
export {
  protocolName, parseProtocol, scopeName, parseScope, tableName, parseTable, routeTypeName, parseRouteType,
  IpNames, setDefaultIpNames, defaultIpNames, type NameSource,
} from "./netlink/route/names.ts";
export { operstateName, linkTypeName, linkFlagNames, addressFlagNames } from "./netlink/route/flags.ts";
export { loadIpNames, useSystemIpNames } from "./netlink/names.ts";
export {
  Rtnl, monitor, routeFromSpec, addressFromSpec, ruleFromSpec, isNetlinkErrno, DEFAULT_MONITOR_GROUPS,
  type Dev, type LinkAddSpec, type LinkChanges, type AddressSpec, type RouteSpec, type RouteMode,
  type RouteGetOptions, type RuleSpec, type MonitorEvent,
} from "./netlink/rtnl.ts";
export { NetlinkConn, type BatchItem as NetlinkBatchItem, type BatchResult, type BatchOptions } from "./netlink/conn.ts";
export { RTM, RTNLGRP } from "./netlink/route/constants.ts";
export { NLM_F } from "./netlink/core/message.ts";
export { encodeAddress } from "./netlink/route/addr.ts";
export { NetlinkError, DumpInterruptedError, NetlinkProtocolError } from "./netlink/errors.ts";
export {
  linkToIpJson, addressToIpJson, linkAddressesToIpJson, routeToIpJson, ruleToIpJson, linkMap, type IpJsonContext,
} from "./netlink/route/json.ts";
export type { Link, LinkInfo, TunInfo } from "./netlink/route/link.ts";
export type { Address } from "./netlink/route/addr.ts";
export type { Route, RouteMetrics } from "./netlink/route/route.ts";
export type { Neighbour } from "./netlink/route/neigh.ts";
export { NUD, NTF } from "./netlink/route/constants.ts";
export { ruleFilter, parseRange, type RuleFilter } from "./netlink/spec/rule.ts";
export { neighFromSpec, neighFilter, parseNudState, type NeighSpec, type NeighFilter, type NeighMode } from "./netlink/spec/neigh.ts";
export { ruleToIpText } from "./netlink/view/rule.ts";
export { addressToIpText } from "./netlink/view/addr.ts";
export { linkToIpText, linkAddressesToIpText, type LinkViewContext } from "./netlink/view/link.ts";
export { monitorEventToIpText } from "./netlink/view/monitor.ts";
export {
  routesToIpText, routesToIpJson, rulesToIpText, rulesToIpJson, neighboursToIpText, neighboursToIpJson,
  linksToIpText, linksToIpJson, addressesToIpText, addressesToIpJson,
} from "./netlink/view/text.ts";
export { linkFromSpec, linkFromChanges, type VethPeerSpec, type VlanSpec, type VxlanSpec } from "./netlink/spec/link.ts";
export { addressFilter, addressSpecWarnings, parseLifetime, type AddressFilter, type AddressMode } from "./netlink/spec/addr.ts";
export { routeToIpText, type RouteViewContext } from "./netlink/view/route.ts";
export { routeFilter, routeGetRequest, metricValue, parseRttTime, type RouteFilter, type NexthopSpec, type MetricName } from "./netlink/spec/route.ts";
export { neighToIpJson, neighToIpText } from "./netlink/view/neigh.ts";
export type { IpViewContext } from "./netlink/view/context.ts";
export { RTNL_TYPES, type RtnlKind } from "./netlink/registry.ts";

// --- CLI support (issue #4): library logic the CLI is a thin shell over ----------------------
export { resolveUser, resolveGroup, userName, groupName, invokingUid } from "./tun/owner.ts";
export { diagnose, capEff, probeNetAdmin, CAP_NET_ADMIN, type Check, type DoctorSources, type NetAdminProbe } from "./tun/doctor.ts";
export { ensureTun, removeTun, validateEnsureTun, anyUserWarning, type EnsureTunOptions, type EnsureTunResult, type EnsureAddress } from "./tun/ensure.ts";

// --- packets (pure): decode, format, checksums, build, pcap, filter ---------------------------
export { decode } from "./packet/decode.ts";
export type * from "./packet/types.ts";
export { formatPacket, Formatter, formatTimestamp, toJSON, type FormatOptions, type FormattedPacket } from "./packet/format.ts";
export { printRecord, type PrintResult, type NdFlags, type PrintState } from "./packet/print/index.ts";
export { hexdump, hexdumpLines } from "./packet/hexdump.ts";
export { isWrappedLink, unwrapLink, innerIp, type Unwrapped } from "./packet/linklayer.ts";
export { compileBpf, runBpf, encodeBpf, bpfText, type BpfInsn, type BpfOptions } from "./packet/bpf.ts";
export { PacketPrinter, printable, asciiJson, asciiText, linkTypeName as pcapLinkTypeName, type PrintOptions } from "./packet/printer.ts";
export { echoReply, echoReplyAt } from "./packet/echo.ts";
export { echoReplyFrame, isNeighbourReply, DEFAULT_ECHO_MAC, ARP_FRAME_LEN, NA_FRAME_LEN, type FrameResponder } from "./packet/echo-frame.ts";
export {
  buildIp, buildIcmpEcho, buildIcmp, buildUdp, buildTcp, buildEthernet, buildArp, parseTcpFlags,
  type IpSpec, type TcpOptionSpec,
} from "./packet/build.ts";
export {
  internetChecksum, onesSum, foldSum, pseudoSum4, pseudoSum6, ipv4HeaderChecksum, verifyIpv4Header,
  transportChecksum, verifyTransport, checksumAdjust16, checksumAdjust32, checksumAdjustBytes, readChecksum, writeChecksum,
} from "./packet/checksum.ts";
export {
  PcapWriter, PcapReader, readPcap, linkTypeOf, linkTypeNumber, LINKTYPE_RAW, LINKTYPE_ETHERNET, MAX_CAPLEN,
  type PcapWriterOptions, type PcapHeader, type PcapRecord, type PcapFile, type Timestamp,
} from "./packet/pcap.ts";
export { PcapngReader, PcapngWriter, readPcapng, type PcapngFile, type PcapngRecord } from "./packet/pcapng.ts";
export { compileFilter, parseFilter, peekPacket, type PacketFilter, type FilterNode, type PacketPeek } from "./packet/filter.ts";

// --- capture, echo, inject (issue #5): live capture (attach or sniff), pcap sink, responder, injector
export {
  openCapture, describeTarget, chooseMode, CaptureClock,
  type Capture, type CaptureMode, type CaptureOptions, type CaptureListenOptions, type CaptureStats, type CaptureEnd, type CaptureTarget,
} from "./tun/capture.ts";
export {
  PcapSink, CaptureFileReader, linkTypeForDevice, openOutputFile, openHint, writeFailure, captureProblem, endProblem,
  type PcapSinkOptions, type CaptureFileRecord, type CaptureProblem,
} from "./tun/capture-file.ts";
export {
  CaptureWriter, fileIdOfFd, refuseSameFile, rotatedName, strftime, type CaptureWriterOptions, type RotateOptions, type FileId,
} from "./tun/capture-rotate.ts";
export {
  PacketSniffer, ARPHRD, type PacketHandler, type Direction, type SniffOptions, type SniffListenOptions, type SniffStats, type SniffEnd,
} from "./tun/sniff.ts";
export { serveEcho, type EchoOptions, type EchoResult } from "./tun/echo.ts";
export { injectPackets, checkPacket, type InjectOptions } from "./tun/inject.ts";

// --- proxy (tun2socks / tun2http) -------------------------------------------------------------
export { RTPROT_TUNKIT } from "./netlink/route/constants.ts";
export { Tunnel, type TunnelOptions, type TunnelFamily } from "./proxy/tunnel.ts";
export { ProxyHealth, type ProxyHealthOptions } from "./proxy/health.ts";
export { TunnelRegistration, listTunnelRecords, registryDir, ruleKey, processStart, netnsInode, type TunnelRecord, type FoundRecord } from "./proxy/registry.ts";
export { TunnelStats, type TunnelStatsJson } from "./proxy/stats.ts";
export { FlowTable, FLOW } from "./proxy/nat.ts";
export {
  TcpRedirect, VERDICT, viewPacket, rewriteInPlace, tcpResetFor, icmpUnreachableFor, formatAddrAt,
  type PacketView, type RedirectAddresses,
} from "./proxy/tcp-redirect.ts";
export { parseProxyUrl, redactProxyUrl, formatTarget, ipVersion, isHostName, type ProxyUrl, type Target } from "./proxy/url.ts";
export { ProxyError, connectTcp, HandshakeReader, type Dialer, type ProxyStream, type ProxyFailure } from "./proxy/dial.ts";
export {
  Socks5Dialer, encodeSocksAddress, decodeSocksAddress, encodeSocksUdp, decodeSocksUdp, SOCKS_CMD, SOCKS_REPLY,
  type SocksAssociation,
} from "./proxy/socks5.ts";
export { HttpConnectDialer, connectRequest, parseStatusLine } from "./proxy/http-connect.ts";
export { UdpRelay, type UdpOptions, type UdpHost } from "./proxy/udp.ts";
export {
  FakeIpPool, FakeIp6Pool, DEFAULT_FAKE_IP6_POOL, decodeDnsQuery, encodeDnsResponse, dnsErrorResponse, answerFakeIp, DNS_TYPE, DNS_RCODE, DnsTcpFramer, frameDnsTcp,
  type DnsQuery, type DnsAnswer,
} from "./proxy/dns.ts";
export {
  planAutoRoute, installAutoRoute, cleanupTunkit, autoRuleWire, AUTO_ROUTE_TABLE, AUTO_ROUTE_PRIORITY, AUTO_ROUTE_SPAN,
  type AutoRouteOptions, type AutoRoutePlan, type AutoRule, type CleanupResult, type SkippedTunnel,
} from "./proxy/autoroute.ts";
export { startProxyTunnel, planProxyTunnel, fakePeerFor, type ProxyTunnelPlan, type ProxyTunnelFlags, type RunningTunnel, type FamilyPolicy } from "./proxy/setup.ts";
export type { Rule } from "./netlink/route/rule.ts";

// --- wg: the WireGuard-compatible VPN, as one namespace (its names overlap the others') -------
export * as wg from "./wg/mod.ts";
