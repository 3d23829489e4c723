/**
 * IPv4 header decoder (RFC 791), with options.
 *
 * @module
 */
import { Cursor } from "../common/cursor.ts";
import { MalformedError } from "../common/errors.ts";
import { formatIpv4 } from "../common/addr.ts";
import { verifyIpv4Header } from "./checksum.ts";
import type { DecodeNotes, Ipv4Header, Ipv4Option } from "./types.ts";

const OPTION_NAMES: Readonly<Record<number, string>> = {
  0: "eol",
  1: "nop",
  7: "rr",
  68: "ts",
  131: "lsrr",
  137: "ssrr",
  148: "ra",
  130: "sec",
};

/**
 * Decodes the IPv4 header at `off`. Throws TruncatedError when the header is not all there and
 * MalformedError for a wrong version. A header length under 20, a total length under the header
 * length and bad options are reported in `notes` (the header is still returned; see
 * {@link ipv4LengthsOk}).
 *
 * @example
 * ```ts
 * import { decodeIpv4 } from "./ipv4.ts";
 * import { fromHex } from "../common/hex.ts";
 * const ip = decodeIpv4(fromHex("45000054 0c53 4000 4001 3054 7f000001 7f000001"), 0);
 * ip.src; // "127.0.0.1"
 * ip.checksumValid; // true
 * ```
 */
export function decodeIpv4(bytes: Uint8Array, off: number, notes: DecodeNotes = {}): Ipv4Header {
  const c = new Cursor(bytes.subarray(off), "IPv4 header");
  const vihl = c.u8();
  const version = vihl >> 4;
  if (version !== 4) throw new MalformedError(`Invalid IPv4 version "${version}": expected 4`, off);
  const headerLength = (vihl & 0x0f) * 4;
  c.need(19);
  let bad = false;
  if (headerLength < 20) {
    notes.malformed ??= `Invalid IPv4 header length "${headerLength}": expected 20..60`;
    bad = true;
  } else {
    c.need(headerLength - 1);
  }
  const tos = c.u8();
  const totalLength = c.u16be();
  if (!bad && totalLength < headerLength) {
    notes.malformed ??= `Invalid IPv4 total length "${totalLength}": shorter than its ${headerLength}-byte header`;
    bad = true;
  }
  const id = c.u16be();
  const ff = c.u16be();
  const ttl = c.u8();
  const protocol = c.u8();
  const checksum = c.u16be();
  const src = formatIpv4(bytes, off + 12);
  const dst = formatIpv4(bytes, off + 16);
  c.skip(8);
  const options = headerLength > 20 ? decodeIpv4Options(c.bytesN(headerLength - 20), off + 20, notes) : [];
  const hdr: Ipv4Header = {
    offset: off,
    version: 4,
    headerLength,
    tos,
    totalLength,
    id,
    flags: { reserved: (ff & 0x8000) !== 0, df: (ff & 0x4000) !== 0, mf: (ff & 0x2000) !== 0 },
    fragmentOffset: (ff & 0x1fff) * 8,
    ttl,
    protocol,
    checksum,
    src,
    dst,
    options,
  };
  if (!bad) hdr.checksumValid = verifyIpv4Header(bytes, off);
  return hdr;
}

/**
 * True when the header's lengths are sane (IHL >= 5 and total length >= header length). A
 * header failing this was returned by {@link decodeIpv4} with a note; nothing behind it is
 * decoded.
 *
 * @example
 * ```ts
 * import { ipv4LengthsOk } from "./ipv4.ts";
 * // if (!ipv4LengthsOk(ip)) stop();
 * ```
 */
export function ipv4LengthsOk(ip: Ipv4Header): boolean {
  return ip.headerLength >= 20 && ip.totalLength >= ip.headerLength;
}

function decodeIpv4Options(b: Uint8Array, base: number, notes: DecodeNotes): Ipv4Option[] {
  const out: Ipv4Option[] = [];
  let i = 0;
  while (i < b.length) {
    const type = b[i]!;
    const name = OPTION_NAMES[type] ?? "unknown";
    if (type === 0) {
      out.push({ type, name, length: 1 });
      break;
    }
    if (type === 1) {
      out.push({ type, name, length: 1 });
      i++;
      continue;
    }
    const len = b[i + 1];
    if (len === undefined || len < 2 || i + len > b.length) {
      notes.malformed ??= `Invalid IPv4 option ${type} length "${len ?? "missing"}" at offset ${base + i}`;
      break;
    }
    const opt: Ipv4Option = { type, name, length: len };
    if ((type === 7 || type === 131 || type === 137) && len >= 3) {
      opt.pointer = b[i + 2]!;
      opt.addresses = [];
      for (let a = i + 3; a + 4 <= i + len; a += 4) opt.addresses.push(formatIpv4(b, a));
    } else if (type === 68 && len >= 3) {
      opt.pointer = b[i + 2]!;
    } else if (type === 148 && len === 4) {
      opt.value = (b[i + 2]! << 8) | b[i + 3]!;
    }
    out.push(opt);
    i += len;
  }
  return out;
}
