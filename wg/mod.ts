/**
 * tunkit/wg: a WireGuard-compatible VPN for Bun and Deno programs. {@link startWireGuard} runs
 * an interface in this process (tun, UDP, handshakes, timers, the UAPI socket `wg` talks to);
 * the protocol state ({@link WgDevice}) is pure and can be driven by hand.
 *
 * @example
 * ```ts
 * import { startWireGuard, generatePrivateKey, formatKey } from "./mod.ts";
 * const wg = await startWireGuard({
 *   iface: "wg0",
 *   privateKey: formatKey(generatePrivateKey()),
 *   peers: [{ publicKey: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", endpoint: "192.0.2.2:51820", allowedIps: ["10.0.0.2/32"] }],
 * });
 * wg.on("handshake", (e) => console.log("handshake", e.peer.name));
 * wg.on("roam", (e) => console.log("peer moved", e.peer.name));
 * ```
 *
 * @module
 */
export { startWireGuard, WireGuard, applyPeer, type WireGuardOptions, type WireGuardPeer, type WireGuardEvents, type EngineStats } from "./engine.ts";
export { WgDevice, Peer, Keypair, MAX_DATAGRAM, type WgDeviceOptions, type PeerConfig, type PeerStats, type WgEvent, type DropReason, type SendUdp } from "./device.ts";
export { upFromConfig, checkConfigForUp, type UpOptions } from "./up.ts";
export {
  fullTunnelFamilies, chooseTable, planFullTunnel, installFullTunnel, removeFullTunnel, readRecord, recordPath, FULL_TUNNEL_TABLE,
  type FullTunnelRecord,
} from "./fulltunnel.ts";
export { Summer, TcpGro, tsoSplit, finishNonGso, readVnetHdr, writeVnetHdr, VNET, VNET_HDR_LEN, GRO_FLOWS, type VnetHdr, type GsoError, type TunWrite } from "./offload.ts";
export { SendBatch, WgSockets, groSegmentSize, BATCH, GSO_MAX_SEGMENTS, GSO_MAX_BYTES, type UdpOffload } from "./udp.ts";
export { parseConfig, worldAccessible, type WgConfig, type PeerSection } from "./config.ts";
export { parseKey, parseHexKey, formatKey, hexKey, generatePrivateKey, generatePresharedKey, publicKey, clamp, KEY_LEN } from "./keys.ts";
export { AllowedIps, allowedIp, parseAllowedIp, formatAllowedIp, type AllowedIp, type AllowedIpInput } from "./allowedips.ts";
export type { Prefix } from "../netlink/route/ip.ts";
export { parseEndpoint, formatEndpoint, endpointOf, type Endpoint } from "./endpoint.ts";
export { ReplayWindow, REPLAY_WINDOW } from "./replay.ts";
export { CookieChecker, CookieGenerator } from "./cookie.ts";
export { initialState, writeMessage1, readMessage1, writeMessage2, readMessage2, split, CONSTRUCTION, IDENTIFIER, type SymmetricState } from "./noise.ts";
export { Blake2s, hash, mac, hmac, kdf } from "./crypto/blake2s.ts";
export { loadWgCrypto, CryptoUnavailableError, type WgCrypto, type CryptoChoice } from "./crypto/provider.ts";
export { uapiGet, uapiSet, uapiHandle, UapiError, type UapiTarget } from "./uapi.ts";
export { UapiServer, uapiSocketPath, UAPI_DIR } from "./uapi-server.ts";
export { showInterface, parseUapiGet, formatShow, uapiRequest, listUapiInterfaces, type ShownInterface, type ShownPeer } from "./show.ts";
export { DEFAULT_TIMERS, MSG, SIZE, type TimerConfig } from "./constants.ts";
export { checkWgCrypto } from "./doctor.ts";

// Types the API above refers to (so documentation can link them).
export type { TunkitError } from "../common/errors.ts";
export type { AeadKey, NativeCrypto } from "../ffi/crypto.ts";
export type { MultiRecv } from "../ffi/mmsg.ts";
export type { Rtnl } from "../netlink/rtnl.ts";
export type { RouteSpec } from "../netlink/spec/route.ts";
export type { RuleSpec } from "../netlink/spec/rule.ts";
export type { TunDevice } from "../tun/device.ts";
export type { Check } from "../tun/doctor.ts";
export type { Message1, Message2, ReadMessage1 } from "./noise.ts";
export type { BatchItem, BatchOptions, BatchResult, NetlinkConn } from "../netlink/conn.ts";
export type { MonitorEvent } from "../netlink/monitor.ts";
export type { RtnlKind } from "../netlink/registry.ts";
export type { Address } from "../netlink/route/addr.ts";
export type { Link } from "../netlink/route/link.ts";
export type { Neighbour } from "../netlink/route/neigh.ts";
export type { Route, RouteMetrics } from "../netlink/route/route.ts";
export type { Range, Rule } from "../netlink/route/rule.ts";
export type { AddressFilter, AddressMode, AddressSpec } from "../netlink/spec/addr.ts";
export type { Dev } from "../netlink/spec/common.ts";
export type { LinkAddSpec, LinkChanges } from "../netlink/spec/link.ts";
export type { NeighFilter, NeighMode, NeighSpec } from "../netlink/spec/neigh.ts";
export type { MetricName, NexthopSpec, RouteFilter, RouteGetOptions, RouteMetricsSpec, RouteMode } from "../netlink/spec/route.ts";
export type { RangeInput, RuleAction, RuleFilter } from "../netlink/spec/rule.ts";
export type { TunFlags } from "../tun/device.ts";
export type { TunQueue } from "../tun/queue.ts";
export type { Transport } from "../netlink/conn.ts";
export type { NetlinkMessage } from "../netlink/core/message.ts";
export type { ByteWriter } from "../netlink/core/writer.ts";
export type { NetlinkError } from "../netlink/errors.ts";
export type { RTNL_TYPES, RtnlObject } from "../netlink/registry.ts";
export type { AddressCacheInfo } from "../netlink/route/addr.ts";
export type { LinkStats64 } from "../netlink/route/link.ts";
export type { LinkInfo } from "../netlink/route/linkinfo.ts";
export type { NeighCacheInfo } from "../netlink/route/neigh.ts";
export type { METRIC_NAMES, Nexthop, RouteCacheInfo, RouteVia } from "../netlink/route/route.ts";
export type { VethPeerSpec, VlanSpec, VxlanSpec } from "../netlink/spec/link.ts";
export type { ListenOptions } from "../tun/queue.ts";
export type { RtnlType } from "../netlink/registry.ts";
export type { BridgeInfo, BridgePortInfo, TunInfo, VethInfo, VlanInfo, VxlanInfo } from "../netlink/route/linkinfo.ts";
export type { VlanFlags } from "../netlink/route/linkinfo.ts";
export type { IpViewContext } from "../netlink/view/context.ts";
export type { IpNames } from "../netlink/route/names.ts";
