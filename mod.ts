/**
 * tunkit: TUN/TAP devices, rtnetlink and packet tools for Bun and Deno.
 *
 * This entry holds what a first program needs (open a tun, give it an address and a route,
 * read and decode packets, write a capture). Everything else lives in one entry per area:
 * `tunkit/tun` (devices, capture, echo, inject, ping, doctor), `tunkit/netlink` (rtnetlink:
 * codecs, views in ip's text/JSON), `tunkit/packet` (decode, format, build, pcap, filters),
 * `tunkit/proxy` (tun2socks/tun2http), `tunkit/wg` (the WireGuard-compatible VPN) and
 * `tunkit/common` (errors, addresses, names).
 *
 * @example
 * ```ts
 * import { openTun, Rtnl, decode } from "./mod.ts";
 * const dev = openTun({ name: "tun%d" });
 * const nl = Rtnl.open();
 * await nl.addAddress({ dev: dev.name, address: "192.0.2.1/24" });
 * await nl.setLink(dev.name, { up: true });
 * await nl.addRoute({ dst: "198.51.100.0/24", dev: dev.name });
 * nl.close();
 * dev.close();
 * ```
 *
 * @module
 */

// Errors
export { TunkitError, UsageError } from "./common/errors.ts";
export { SysError, DeviceClosedError } from "./ffi/errors.ts";
export { NetlinkError } from "./netlink/errors.ts";

// Addresses: one parser, one prefix type
export { parseIp, formatIp, parseMac, formatMac, type IpFamily } from "./common/addr.ts";
export { parsePrefix, type Prefix } from "./netlink/route/ip.ts";

// Devices and packet I/O
export { openTun, deleteTun, TunDevice, type TunOptions } from "./tun/device.ts";
export { TunQueue } from "./tun/queue.ts";
export { ensureTun, removeTun, type EnsureTunOptions, type EnsureTunResult } from "./tun/ensure.ts";
export { enterNetns } from "./ffi/netns.ts";

// rtnetlink
export {
  Rtnl, monitor,
  type Dev, type LinkAddSpec, type LinkChanges, type AddressSpec, type RouteSpec, type RuleSpec, type MonitorEvent,
} from "./netlink/rtnl.ts";
export type { Link } from "./netlink/route/link.ts";
export type { Address } from "./netlink/route/addr.ts";
export type { Route } from "./netlink/route/route.ts";
export type { Rule } from "./netlink/route/rule.ts";
export { AF } from "./netlink/route/constants.ts";

// Packets
export { decode } from "./packet/decode.ts";
export type { DecodedPacket } from "./packet/types.ts";
export { formatPacket } from "./packet/format.ts";
export { buildIp, buildIcmpEcho, buildUdp, buildTcp } from "./packet/build.ts";
export { PcapWriter, readPcap } from "./packet/pcap.ts";

// Programs on a tun
export { openCapture } from "./tun/capture.ts";
export { serveEcho } from "./tun/echo.ts";
export { ping } from "./tun/ping.ts";
export { planProxyTunnel, startProxyTunnel } from "./proxy/setup.ts";

// The WireGuard-compatible VPN, as one namespace (its names overlap the others')
export * as wg from "./wg/mod.ts";


// Types the signatures above refer to (so a program can name them, and the docs link them).
// Type-only: no runtime name is added to this entry. The ones Rtnl's signatures bring are one
// list shared with the area entries: netlink/rtnl-types.ts.
export type * from "./netlink/rtnl-types.ts";
export type { OpenOptions } from "./netlink/mod.ts";
export type * from "./tun/device-types.ts";
export type {
  Capture, CaptureEnd, CaptureListenOptions, CaptureMode, CaptureOptions, CaptureStats, EchoOptions, EchoResult,
  EnsureAddress, PacketHandler, PingOptions, PingReply, PingResult, PingRtt, PingStart,
  RingBlockConsumer, RingGeometry, RingPacket, RxRing,
} from "./tun/mod.ts";
export type {
  ArpPacket, Dir, Direction, DnsRecord, DnsSummary, EthernetHeader, FilterNode, FormatOptions, IcmpMessage,
  Icmpv6Message, IpSpec, Ipv4Header, Ipv4Option, Ipv6Extension, Ipv6ExtensionSpec, Ipv6Header, LinkType, NdOption,
  PcapFile, PcapHeader, PcapRecord, Proto, QuotedPacket, TcpHeader, TcpOption, TcpOptionSpec, Timestamp, UdpHeader,
  VlanTag,
} from "./packet/mod.ts";
export type {
  Dialer, DialSocketOptions, FakeIp6Pool, FakeIpPool, FamilyPolicy, FlowTable, HandshakeMachine, HandshakeStep, LOG_LEVELS, LogLevel, PacketView, ProxyStream,
  ProxyTunnelFlags, ProxyTunnelPlan, ProxyUrl, RedirectAddresses, RunningTunnel, StreamSocket, Target,
  TcpRedirect, Tunnel, TunnelFamily, TunnelLog, UidRange,
} from "./proxy/mod.ts";
