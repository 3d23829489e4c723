/**
 * UDP header decoder (RFC 768).
 *
 * @module
 */
import { Cursor } from "../common/cursor.ts";
import type { DecodeNotes, UdpHeader } from "./types.ts";

/**
 * Decodes the UDP header at `off`; `len` is the datagram length from the IP header. Throws
 * TruncatedError when the 8-byte header is short; a UDP length under 8 or larger than the IP
 * payload is reported in `notes` (the header is still returned, `payloadLength` from the IP).
 *
 * @example
 * ```ts
 * import { decodeUdp } from "./udp.ts";
 * import { fromHex } from "../common/hex.ts";
 * const u = decodeUdp(fromHex("d2040035 000c 0000 68656c6f"), 0, 12);
 * u.dstPort; // 53
 * u.payloadLength; // 4
 * ```
 */
export function decodeUdp(bytes: Uint8Array, off: number, len: number, notes: DecodeNotes = {}): UdpHeader {
  const c = new Cursor(bytes.subarray(off, Math.min(bytes.length, off + len)), "UDP header");
  c.need(8);
  const srcPort = c.u16be();
  const dstPort = c.u16be();
  const length = c.u16be();
  const checksum = c.u16be();
  let payloadLength = length - 8;
  if (length < 8) {
    notes.malformed ??= `Invalid UDP length "${length}": expected at least 8`;
    payloadLength = len - 8;
  } else if (length > len) {
    notes.malformed ??= `Invalid UDP length "${length}": IP payload has only ${len} bytes`;
    payloadLength = len - 8;
  }
  return { offset: off, srcPort, dstPort, length, checksum, payloadLength };
}
