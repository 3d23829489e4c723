/**
 * The per-datagram pieces of the UDP relay that both of its threads use (udp.ts on the main
 * thread, udp-worker.ts on the UDP data path's): where a relay's datagram carries its data, and
 * the reply packet's lengths and checksums.
 *
 * @module
 */
import { ipv4HeaderChecksum, transportChecksum, writeChecksum } from "../packet/checksum.ts";

/**
 * Bytes of a send arena: datagrams read from the tun wait there for one sendmmsg (per association
 * on the main thread, per read of the queue in the worker; {@link BURST}).
 */
export const ARENA = 1 << 19;

/**
 * Most datagrams put together before an arena is sent: a tun batch (up to 256 packets) sent in
 * one go lands in the proxy's receive buffer at once, and what does not fit is dropped there
 * (dante's UdpRcvbufErrors under iperf3 at 200 Mbit/s); sent every BURST, the proxy reads the
 * first datagrams while the next ones are read from the tun. `TUNKIT_UDP_BURST` (1..1024)
 * changes it, for both threads.
 */
export const BURST: number = (() => {
  const v = Number(globalThis.process?.env?.TUNKIT_UDP_BURST);
  return Number.isInteger(v) && v >= 1 && v <= 1024 ? v : 32;
})();

/**
 * Where the data starts in a SOCKS5 UDP datagram from the relay (RSV RSV FRAG ATYP ADDR PORT
 * DATA), or -1 when it is short, fragmented or of an unknown address type. No allocation: the
 * source address in it is not needed (the relay socket is connected to the relay).
 *
 * @example
 * ```ts
 * import { socksUdpDataOffset } from "./udp-packet.ts";
 * socksUdpDataOffset(new Uint8Array([0, 0, 0, 1, 198, 51, 100, 2, 0, 7, 42])); // 10
 * socksUdpDataOffset(new Uint8Array([0, 0, 1, 1, 198, 51, 100, 2, 0, 7, 42])); // -1 (a fragment)
 * ```
 */
export function socksUdpDataOffset(b: Uint8Array, len = b.length): number {
  if (len < 4 || b[2] !== 0) return -1;
  const atyp = b[3];
  const off = atyp === 1 ? 10 : atyp === 4 ? 22 : atyp === 3 && len > 4 ? 7 + b[4]! : -1;
  return off > 0 && off <= len ? off : -1;
}

/**
 * Fills in the UDP packet in `out`, whose first `hl` bytes hold an IP + UDP header (made once
 * per flow, e.g. by buildUdp with no payload) and whose `dataLen` bytes of payload follow it:
 * the lengths, the IPv4 header checksum and the UDP checksum. Returns the packet's length.
 *
 * @example
 * ```ts
 * import { finishUdpReply } from "./udp-packet.ts";
 * import { buildUdp } from "../packet/build.ts";
 * const head = buildUdp({ src: "198.51.100.2", dst: "192.0.2.1", srcPort: 7, dstPort: 5000 });
 * const out = new Uint8Array(2048);
 * out.set(head);
 * out.set([104, 105], head.length);
 * finishUdpReply(out, head.length, 2); // 30, as buildUdp({ ..., payload: "hi" })
 * ```
 */
export function finishUdpReply(out: Uint8Array, hl: number, dataLen: number): number {
  const v6 = out[0]! >> 4 === 6;
  const ipHl = v6 ? 40 : 20;
  const total = hl + dataLen;
  const udpLen = total - ipHl;
  if (v6) {
    out[4] = udpLen >> 8;
    out[5] = udpLen & 0xff;
  } else {
    out[2] = total >> 8;
    out[3] = total & 0xff;
    out[10] = 0;
    out[11] = 0;
    writeChecksum(out, 10, ipv4HeaderChecksum(out, 0));
  }
  out[ipHl + 4] = udpLen >> 8;
  out[ipHl + 5] = udpLen & 0xff;
  writeChecksum(out, ipHl + 6, transportChecksum(out, v6 ? 6 : 4, 0, ipHl, udpLen, 17));
  return total;
}

