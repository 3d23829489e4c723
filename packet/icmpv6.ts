/**
 * ICMPv6 (RFC 4443) and neighbour discovery (RFC 4861) decoder: echo, errors with the quoted
 * header, router solicitation/advertisement, neighbour solicitation/advertisement, redirect.
 *
 * @module
 */
import { Cursor } from "../common/cursor.ts";
import { TruncatedError } from "../common/errors.ts";
import { formatIpv6, formatMac } from "../common/addr.ts";
import { toHex } from "../common/hex.ts";
import { decodeQuoted } from "./quoted.ts";
import type { DecodeNotes, Icmpv6Message, NdOption } from "./types.ts";

/** ICMPv6 echo request. */
export const ICMPV6_ECHO_REQUEST = 128;
/** ICMPv6 echo reply. */
export const ICMPV6_ECHO_REPLY = 129;

/**
 * Decodes the ICMPv6 message at `off`; `len` is its length from the IPv6 header. Throws
 * TruncatedError when the fixed part is short; bad ND options are reported in `notes`.
 *
 * @example
 * ```ts
 * import { decodeIcmpv6 } from "./icmpv6.ts";
 * import { fromHex } from "../common/hex.ts";
 * const m = decodeIcmpv6(fromHex("80000000 0001 0002"), 0, 8);
 * m.type; // 128
 * m.seq; // 2
 * ```
 */
export function decodeIcmpv6(bytes: Uint8Array, off: number, len: number, notes: DecodeNotes = {}): Icmpv6Message {
  const end = Math.min(bytes.length, off + len);
  const view = bytes.subarray(0, end);
  const c = new Cursor(view.subarray(off), "ICMPv6 header");
  const type = c.u8();
  const code = c.u8();
  const checksum = c.u16be();
  const m: Icmpv6Message = { offset: off, type, code, checksum, length: len };
  try {
    switch (type) {
      case 1:
      case 2:
      case 3:
      case 4: {
        const v = c.u32be();
        if (type === 2) m.mtu = v;
        if (type === 4) m.pointer = v;
        const q = decodeQuoted(view, off + 8, end, 6);
        if (q) m.quoted = q;
        break;
      }
      case 128:
      case 129:
        m.id = c.u16be();
        m.seq = c.u16be();
        break;
      case 130:
      case 131:
      case 132: {
        const maxResponseDelay = c.u16be();
        c.skip(2);
        c.need(16);
        m.mld = { maxResponseDelay, address: formatIpv6(view, off + 8) };
        break;
      }
      case 143:
        c.skip(2);
        m.groupRecords = c.u16be();
        break;
      case 133:
        c.skip(4);
        m.options = ndOptions(view, off + 8, notes);
        break;
      case 134: {
        const curHopLimit = c.u8();
        const flags = c.u8();
        const routerLifetime = c.u16be();
        const reachableTime = c.u32be();
        const retransTimer = c.u32be();
        m.routerAdvert = {
          curHopLimit,
          managed: (flags & 0x80) !== 0,
          other: (flags & 0x40) !== 0,
          flags,
          routerLifetime,
          reachableTime,
          retransTimer,
        };
        m.options = ndOptions(view, off + 16, notes);
        break;
      }
      case 135:
      case 136:
      case 137: {
        const f = c.u8();
        c.skip(3);
        c.need(type === 137 ? 32 : 16);
        m.target = formatIpv6(view, off + 8);
        if (type === 136) m.naFlags = { router: (f & 0x80) !== 0, solicited: (f & 0x40) !== 0, override: (f & 0x20) !== 0 };
        if (type === 137) m.destination = formatIpv6(view, off + 24);
        m.options = ndOptions(view, off + (type === 137 ? 40 : 24), notes);
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

function ndOptions(b: Uint8Array, start: number, notes: DecodeNotes): NdOption[] {
  const out: NdOption[] = [];
  let i = start;
  while (i + 2 <= b.length) {
    const type = b[i]!;
    const length = b[i + 1]! * 8;
    if (length === 0) {
      notes.malformed ??= `Invalid ND option ${type} length "0" at offset ${i}`;
      break;
    }
    if (i + length > b.length) {
      // the option runs past the captured bytes: report what is there, stop
      out.push({ type, length });
      break;
    }
    const o: NdOption = { type, length };
    if ((type === 1 || type === 2) && length >= 8) {
      o.linkAddress = length === 8 ? formatMac(b, i + 2, 6) : toHex(b.subarray(i + 2, i + length), ":");
    } else if (type === 3 && length >= 32) {
      const fl = b[i + 3]!;
      const u32 = (p: number) => ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
      o.prefix = {
        prefixLength: b[i + 2]!,
        onLink: (fl & 0x80) !== 0,
        autonomous: (fl & 0x40) !== 0,
        validLifetime: u32(i + 4),
        preferredLifetime: u32(i + 8),
        prefix: formatIpv6(b, i + 16),
      };
    } else if (type === 5 && length >= 8) {
      o.mtu = ((b[i + 4]! << 24) | (b[i + 5]! << 16) | (b[i + 6]! << 8) | b[i + 7]!) >>> 0;
    }
    out.push(o);
    i += length;
  }
  return out;
}
