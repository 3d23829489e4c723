/**
 * Pure packet tools: decode, tcpdump-style format, build, checksums, pcap/pcapng, filters compiled to classic BPF. Re-exports only.
 *
 * @example
 * ```ts
 * import { buildIcmpEcho, decode } from "./mod.ts";
 * const pkt = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", id: 1, seq: 1, payload: 56 });
 * decode(pkt).ipv4?.dst; // "192.0.2.2"
 * ```
 * @module
 */
export { decode } from "./decode.ts";
export type * from "./types.ts";
export { formatPacket, Formatter, formatTimestamp, toJSON, type FormatOptions, type FormattedPacket } from "./format.ts";
export { printRecord, type PrintResult, type NdFlags, type PrintState } from "./print/index.ts";
export { hexdump, hexdumpLines } from "./hexdump.ts";
export { isWrappedLink, unwrapLink, innerIp, type Unwrapped } from "./linklayer.ts";
export { compileBpf, runBpf, encodeBpf, bpfText, type BpfInsn, type BpfOptions } from "./bpf.ts";
export { PacketPrinter, printable, asciiJson, asciiText, linkTypeName as pcapLinkTypeName, type PrintOptions } from "./printer.ts";
export { echoReply, echoReplyAt } from "./echo.ts";
export { echoReplyFrame, isNeighbourReply, DEFAULT_ECHO_MAC, ARP_FRAME_LEN, NA_FRAME_LEN, type FrameResponder } from "./echo-frame.ts";
export { buildIp, buildIcmpEcho, buildIcmp, buildUdp, buildTcp, buildEthernet, buildArp, parseTcpFlags, type IpSpec, type TcpOptionSpec } from "./build.ts";
export { internetChecksum, onesSum, foldSum, pseudoSum4, pseudoSum6, ipv4HeaderChecksum, verifyIpv4Header, transportChecksum, verifyTransport, checksumAdjust16, checksumAdjust32, checksumAdjustBytes, readChecksum, writeChecksum } from "./checksum.ts";
export { PcapWriter, PcapReader, readPcap, linkTypeOf, linkTypeNumber, LINKTYPE_RAW, LINKTYPE_ETHERNET, MAX_CAPLEN, type PcapWriterOptions, type PcapHeader, type PcapRecord, type PcapFile, type Timestamp } from "./pcap.ts";
export { PcapngReader, PcapngWriter, readPcapng, type PcapngFile, type PcapngRecord } from "./pcapng.ts";
export { compileFilter, parseFilter, peekPacket, type PacketFilter, type FilterNode, type PacketPeek } from "./filter.ts";

// Types the API above refers to (so documentation can link them).
export type { Ipv6ExtensionSpec } from "./build.ts";
export type { Dir, Proto } from "./filter.ts";
export type { PcapEnd } from "./pcap.ts";
export type { PcapngEnd, PcapngInterface } from "./pcapng.ts";
export type { Direction } from "./printer.ts";
export type { SeqState } from "./print/nd.ts";
