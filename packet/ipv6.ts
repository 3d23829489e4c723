/**
 * IPv6 header decoder (RFC 8200) and a bounded walk over the extension headers: hop-by-hop,
 * routing, fragment and destination options.
 *
 * @module
 */
import { Cursor } from "../common/cursor.ts";
import { MalformedError, TruncatedError } from "../common/errors.ts";
import { formatIpv6 } from "../common/addr.ts";
import type { DecodeNotes, Ipv6Extension, Ipv6Header } from "./types.ts";

/** The walk gives up (malformed) after this many extension headers. */
export const MAX_IPV6_EXTENSIONS = 16;

/** Extension header protocol numbers the walk follows. */
export const IPV6_EXT_NAMES: Readonly<Record<number, Ipv6Extension["name"]>> = {
  0: "hop-by-hop",
  43: "routing",
  44: "fragment",
  60: "destination",
};

/**
 * Decodes the fixed 40-byte IPv6 header at `off` (no extension headers: see
 * {@link walkIpv6Extensions}). Throws TruncatedError when short, MalformedError for a wrong
 * version.
 *
 * @example
 * ```ts
 * import { decodeIpv6 } from "./ipv6.ts";
 * import { fromHex } from "../common/hex.ts";
 * const ip6 = decodeIpv6(fromHex("60000000 0008 11 40" + "20010db8000000000000000000000001" + "20010db8000000000000000000000002"), 0);
 * ip6.dst; // "2001:db8::2"
 * ```
 */
export function decodeIpv6(bytes: Uint8Array, off: number): Ipv6Header {
  const c = new Cursor(bytes.subarray(off), "IPv6 header");
  c.need(40);
  const w = c.u32be();
  const version = w >>> 28;
  if (version !== 6) throw new MalformedError(`Invalid IPv6 version "${version}": expected 6`, off);
  const payloadLength = c.u16be();
  const nextHeader = c.u8();
  const hopLimit = c.u8();
  return {
    offset: off,
    version: 6,
    trafficClass: (w >>> 20) & 0xff,
    flowLabel: w & 0xfffff,
    payloadLength,
    nextHeader,
    hopLimit,
    src: formatIpv6(bytes, off + 8),
    dst: formatIpv6(bytes, off + 24),
    extensions: [],
    protocol: nextHeader,
    headerLength: 40,
  };
}

/**
 * Walks the extension headers of `ip6` (bytes up to `end`), filling `extensions`, `protocol`,
 * `headerLength`, `fragment` and `jumboLength`. Stops at the first non-extension header, at a
 * non-first fragment, or after {@link MAX_IPV6_EXTENSIONS} headers (MalformedError). Throws
 * TruncatedError when an extension header runs past `end`.
 *
 * @example
 * ```ts
 * import { decodeIpv6, walkIpv6Extensions } from "./ipv6.ts";
 * // const ip6 = decodeIpv6(bytes, 0); walkIpv6Extensions(bytes, ip6, bytes.length);
 * // ip6.protocol === 58 for an ICMPv6 packet behind a hop-by-hop header
 * ```
 */
export function walkIpv6Extensions(bytes: Uint8Array, ip6: Ipv6Header, end: number, notes: DecodeNotes = {}): void {
  let next = ip6.nextHeader;
  let pos = ip6.offset + 40;
  const view = bytes.subarray(0, Math.min(end, bytes.length));
  while (IPV6_EXT_NAMES[next] !== undefined) {
    if (ip6.extensions.length >= MAX_IPV6_EXTENSIONS) {
      throw new MalformedError(`Too many IPv6 extension headers: more than ${MAX_IPV6_EXTENSIONS}`, pos);
    }
    const type = next;
    const name = IPV6_EXT_NAMES[type]!;
    const c = new Cursor(view.subarray(pos), `IPv6 ${name} header`);
    if (pos > view.length) throw new TruncatedError(`IPv6 ${name} header`, 0, 8, 0);
    c.need(8);
    const nh = c.u8();
    const len = type === 44 ? 8 : (c.u8() + 1) * 8;
    c.need(len - (type === 44 ? 1 : 2));
    const ext: Ipv6Extension = { type, name, offset: pos, length: len, nextHeader: nh };
    if (type === 44) {
      c.skip(1);
      const fo = c.u16be();
      ext.fragmentOffset = fo & 0xfff8;
      ext.more = (fo & 1) !== 0;
      ext.id = c.u32be();
      ip6.fragment = { offset: ext.fragmentOffset, more: ext.more, id: ext.id };
    } else if (type === 43) {
      ext.routingType = view[pos + 2]!;
      ext.segmentsLeft = view[pos + 3]!;
      if (ext.routingType === 0 || ext.routingType === 2 || ext.routingType === 4) {
        ext.addresses = [];
        for (let a = pos + 8; a + 16 <= pos + len; a += 16) ext.addresses.push(formatIpv6(view, a));
      }
    } else {
      ext.options = [];
      let i = pos + 2;
      const stop = pos + len;
      while (i < stop) {
        const ot = view[i]!;
        if (ot === 0) {
          i++;
          continue;
        }
        const ol = view[i + 1];
        if (ol === undefined || i + 2 + ol > stop) {
          notes.malformed ??= `Invalid IPv6 option ${ot} length "${ol ?? "missing"}" at offset ${i}`;
          break;
        }
        const o: { type: number; length: number; value?: number } = { type: ot, length: ol };
        if (ot === 0xc2 && ol === 4) {
          o.value = ((view[i + 2]! << 24) | (view[i + 3]! << 16) | (view[i + 4]! << 8) | view[i + 5]!) >>> 0;
          if (type === 0) ip6.jumboLength = o.value;
        }
        if (ot !== 1) ext.options.push(o);
        i += 2 + ol;
      }
    }
    ip6.extensions.push(ext);
    pos += len;
    next = nh;
    ip6.protocol = nh;
    ip6.headerLength = pos - ip6.offset;
    if (type === 44 && ext.fragmentOffset !== 0) break;
  }
}
