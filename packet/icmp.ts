/**
 * ICMP (RFC 792) decoder: echo, unreachable / time exceeded / parameter problem / redirect /
 * source quench with the quoted header, timestamp and address mask.
 *
 * @module
 */
import { Cursor } from "../common/cursor.ts";
import { TruncatedError } from "../common/errors.ts";
import { formatIpv4 } from "../common/addr.ts";
import { decodeQuoted } from "./quoted.ts";
import type { IcmpMessage } from "./types.ts";

/** ICMP types. */
export const ICMP_ECHO_REPLY = 0;
/** Destination unreachable. */
export const ICMP_UNREACH = 3;
/** Echo request. */
export const ICMP_ECHO_REQUEST = 8;
/** Time exceeded. */
export const ICMP_TIME_EXCEEDED = 11;

/**
 * Decodes the ICMP message at `off`; `len` is its length from the IP header (the captured
 * bytes may be fewer). Throws TruncatedError when the fixed part is short.
 *
 * @example
 * ```ts
 * import { decodeIcmp } from "./icmp.ts";
 * import { fromHex } from "../common/hex.ts";
 * const m = decodeIcmp(fromHex("0800f7fc 0001 0002"), 0, 8);
 * m.type; // 8
 * m.id; // 1
 * m.seq; // 2
 * ```
 */
export function decodeIcmp(bytes: Uint8Array, off: number, len: number): IcmpMessage {
  const end = Math.min(bytes.length, off + len);
  const c = new Cursor(bytes.subarray(off, end), "ICMP header");
  const type = c.u8();
  const code = c.u8();
  const checksum = c.u16be();
  const m: IcmpMessage = { offset: off, type, code, checksum, length: len };
  try {
    switch (type) {
      case 0:
      case 8:
      case 13:
      case 14:
      case 15:
      case 16:
      case 17:
      case 18:
        m.id = c.u16be();
        m.seq = c.u16be();
        if (type === 13 || type === 14) m.timestamps = [c.u32be(), c.u32be(), c.u32be()];
        else if (type === 17 || type === 18) m.mask = c.u32be();
        break;
      case 3:
      case 4:
      case 5:
      case 11:
      case 12: {
        c.need(4);
        if (type === 5) m.gateway = formatIpv4(bytes, off + 4);
        else if (type === 3 && code === 4) m.mtu = (bytes[off + 6]! << 8) | bytes[off + 7]!;
        else if (type === 12) m.pointer = bytes[off + 4]!;
        c.skip(4);
        const q = decodeQuoted(bytes, off + 8, end, 4);
        if (q) m.quoted = q;
        break;
      }
      default:
        break;
    }
  } catch (e) {
    if (!(e instanceof TruncatedError)) throw e;
    m.truncated = true;
  }
  return m;
}
