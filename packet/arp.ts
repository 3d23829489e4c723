/**
 * ARP (RFC 826) decoder.
 *
 * @module
 */
import { Cursor } from "../common/cursor.ts";
import { toHex } from "../common/hex.ts";
import { formatIpv4, formatMac } from "../common/addr.ts";
import type { ArpPacket } from "./types.ts";

/**
 * Decodes an ARP packet at `off`. Ethernet/IPv4 addresses become MAC / dotted-quad text, other
 * address kinds colon-separated hex. Throws TruncatedError when short.
 *
 * @example
 * ```ts
 * import { decodeArp } from "./arp.ts";
 * import { fromHex } from "../common/hex.ts";
 * const a = decodeArp(fromHex("0001 0800 06 04 0001 020000000001 c0000201 000000000000 c0000202"), 0);
 * a.targetProtocol; // "192.0.2.2"
 * ```
 */
export function decodeArp(bytes: Uint8Array, off: number): ArpPacket {
  const c = new Cursor(bytes.subarray(off), "ARP packet");
  const hardwareType = c.u16be();
  const protocolType = c.u16be();
  const hardwareLength = c.u8();
  const protocolLength = c.u8();
  const operation = c.u16be();
  const addr = (len: number, kind: "hw" | "proto"): string => {
    const at = off + c.pos;
    c.skip(len);
    if (kind === "hw" && len === 6) return formatMac(bytes, at, 6);
    if (kind === "proto" && len === 4 && (protocolType === 0x0800 || protocolType === 0x1000)) return formatIpv4(bytes, at);
    return toHex(bytes.subarray(at, at + len), ":");
  };
  const senderHardware = addr(hardwareLength, "hw");
  const senderProtocol = addr(protocolLength, "proto");
  const targetHardware = addr(hardwareLength, "hw");
  const targetProtocol = addr(protocolLength, "proto");
  return {
    offset: off,
    hardwareType,
    protocolType,
    hardwareLength,
    protocolLength,
    operation,
    senderHardware,
    senderProtocol,
    targetHardware,
    targetProtocol,
  };
}
