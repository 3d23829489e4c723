/**
 * TUN/TAP devices and what runs on them: open/create/delete, packet I/O that never blocks the event loop, queue steering (eBPF), ensure/remove (tunkit up/down), capture, echo responder, injector, ping, doctor, network namespaces. Re-exports only.
 *
 * @example
 * ```ts
 * import { openTun } from "./mod.ts";
 * const dev = openTun({ name: "tun%d" });
 * console.log(dev.name);
 * dev.close();
 * ```
 * @module
 */
export { SysError, DeviceClosedError, ERRNO, errnoName } from "../ffi/errors.ts";
export { openTun, deleteTun, tunFeatures, decodeTunFlags, TunDevice, TUN_PATH, type TunOptions, type TunFlags, type TunFeatures } from "./device.ts";
export { TunQueue, MAX_PACKET, type ListenOptions } from "./queue.ts";
export { udpSteeringProgram, loadSteering, attachSteering, attachHint, MAX_KEEP_PORTS, type SteeringProgram, type UdpSteeringOptions } from "./steer.ts";
export { BpfLoadError, bpfLoadHint } from "../ffi/bpf.ts";
export { tunHolders, type TunHolder, type TunHoldersOptions } from "./holders.ts";
export { ping, resolvePingTarget, buildEchoRequest, parseEchoReply, rttStats, type PingOptions, type PingStart, type PingReply, type PingResult, type PingRtt, type EchoReplyView } from "./ping.ts";
export { IFF, TUN_F, featureNames } from "../ffi/abi.ts";
export { enterNetns, netnsPath, NETNS_RUN_DIR } from "../ffi/netns.ts";
export { resolveUser, resolveGroup, userName, groupName, invokingUid } from "./owner.ts";
export { diagnose, capEff, probeNetAdmin, CAP_NET_ADMIN, type Check, type DoctorSources, type NetAdminProbe } from "./doctor.ts";
export { ensureTun, removeTun, validateEnsureTun, anyUserWarning, type EnsureTunOptions, type EnsureTunResult, type EnsureAddress } from "./ensure.ts";
export { openCapture, describeTarget, chooseMode, CaptureClock, type Capture, type CaptureMode, type CaptureOptions, type CaptureListenOptions, type CaptureStats, type CaptureEnd, type CaptureTarget } from "./capture.ts";
export { PcapSink, CaptureFileReader, linkTypeForDevice, openOutputFile, openHint, writeFailure, captureProblem, endProblem, type PcapSinkOptions, type RecordSpan, type CaptureFileRecord, type CaptureProblem } from "./capture-file.ts";
export { CaptureWriter, fileIdOfFd, refuseSameFile, rotatedName, strftime, type CaptureWriterOptions, type RotateOptions, type FileId } from "./capture-rotate.ts";
export { PacketSniffer, ARPHRD, type PacketHandler, type Direction, type SniffOptions, type SniffListenOptions, type SniffStats, type SniffEnd } from "./sniff.ts";
export { RxRing, ringGeometry, TPACKET, type RingBlockConsumer, type RingGeometry, type RingPacket } from "./sniff-ring.ts";
export { RingPcapWriter, type IovTarget, type RecordFilter } from "./sniff-pcap.ts";
export { serveEcho, type EchoOptions, type EchoResult } from "./echo.ts";
export { injectPackets, checkPacket, type InjectOptions } from "./inject.ts";

// Types the API above refers to (so documentation can link them).
// The ones Rtnl's signatures bring, shared with the other entries: netlink/rtnl-types.ts.
export type * from "../netlink/rtnl-types.ts";
export type { PlannedAddress } from "./ensure.ts";
export type { BpfInsn } from "../packet/bpf.ts";
export type { Dir, FilterNode, Proto } from "../packet/filter.ts";
export type { PcapHeader } from "../packet/pcap.ts";
export type { LinkType } from "../packet/types.ts";
