/**
 * TCP header decoder (RFC 9293) with options: MSS, window scale, SACK-permitted, SACK,
 * timestamps.
 *
 * @module
 */
import { Cursor } from "../common/cursor.ts";
import { toHex } from "../common/hex.ts";
import type { DecodeNotes, TcpHeader, TcpOption } from "./types.ts";

/** TCP flag bits. */
export const TCP_FIN = 0x01;
/** SYN. */
export const TCP_SYN = 0x02;
/** RST. */
export const TCP_RST = 0x04;
/** PSH. */
export const TCP_PSH = 0x08;
/** ACK. */
export const TCP_ACK = 0x10;
/** URG. */
export const TCP_URG = 0x20;
/** ECE. */
export const TCP_ECE = 0x40;
/** CWR. */
export const TCP_CWR = 0x80;

const OPTION_NAMES: Readonly<Record<number, string>> = {
  0: "eol",
  1: "nop",
  2: "mss",
  3: "wscale",
  4: "sackOK",
  5: "sack",
  8: "timestamp",
};

/**
 * Decodes the TCP header at `off`; `len` is the segment length from the IP header. Throws
 * TruncatedError when the fixed 20 bytes are short. A data offset under 5 or beyond the
 * segment and bad options are reported in `notes` (the header is still returned).
 *
 * @example
 * ```ts
 * import { decodeTcp } from "./tcp.ts";
 * import { fromHex } from "../common/hex.ts";
 * const t = decodeTcp(fromHex("b48e 0016 00000001 00000000 6002 faf0 0000 0000 020405b4"), 0, 24);
 * t.syn; // true
 * t.options[0]; // { type: 2, name: "mss", length: 4, value: 1460 }
 * ```
 */
export function decodeTcp(bytes: Uint8Array, off: number, len: number, notes: DecodeNotes = {}): TcpHeader {
  const c = new Cursor(bytes.subarray(off, Math.min(bytes.length, off + len)), "TCP header");
  c.need(20);
  const srcPort = c.u16be();
  const dstPort = c.u16be();
  const seq = c.u32be();
  const ack = c.u32be();
  const doff = c.u8();
  const headerLength = (doff >> 4) * 4;
  const flags = c.u8();
  const window = c.u16be();
  const checksum = c.u16be();
  const urgentPointer = c.u16be();
  let options: TcpOption[] = [];
  let optionsTruncated = false;
  if (headerLength < 20) {
    notes.malformed ??= `Invalid TCP header length "${headerLength}": expected 20..60`;
  } else if (headerLength > len) {
    notes.malformed ??= `Invalid TCP header length "${headerLength}": segment has only ${len} bytes`;
  } else if (headerLength > 20) {
    const want = headerLength - 20;
    if (c.remaining < want) notes.truncated = optionsTruncated = true;
    options = decodeTcpOptions(c.bytesN(Math.min(want, c.remaining)), off + 20, notes, notes.truncated === true);
  }
  return {
    offset: off,
    srcPort,
    dstPort,
    seq,
    ack,
    headerLength,
    flags,
    fin: (flags & TCP_FIN) !== 0,
    syn: (flags & TCP_SYN) !== 0,
    rst: (flags & TCP_RST) !== 0,
    psh: (flags & TCP_PSH) !== 0,
    ackFlag: (flags & TCP_ACK) !== 0,
    urg: (flags & TCP_URG) !== 0,
    ece: (flags & TCP_ECE) !== 0,
    cwr: (flags & TCP_CWR) !== 0,
    window,
    checksum,
    urgentPointer,
    options,
    payloadLength: Math.max(0, len - headerLength),
    ...(optionsTruncated ? { optionsTruncated } : {}),
  };
}

function u32(b: Uint8Array, p: number): number {
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

function decodeTcpOptions(b: Uint8Array, base: number, notes: DecodeNotes, cut: boolean): TcpOption[] {
  const out: TcpOption[] = [];
  let i = 0;
  while (i < b.length) {
    const type = b[i]!;
    const name = OPTION_NAMES[type] ?? "unknown";
    if (type === 0 || type === 1) {
      out.push({ type, name, length: 1 });
      i++;
      if (type === 0) break;
      continue;
    }
    const len = b[i + 1];
    if (cut && (len === undefined || i + len > b.length)) {
      if (len !== undefined && len >= 2) out.push({ type, name, length: len, truncated: true });
      break;
    }
    if (len === undefined || len < 2 || i + len > b.length) {
      notes.malformed ??= `Invalid TCP option ${type} length "${len ?? "missing"}" at offset ${base + i}`;
      out.push({ type, name: "bad", length: len ?? 0 });
      break;
    }
    const o: TcpOption = { type, name, length: len };
    const d = i + 2;
    if (type === 2 && len === 4) o.value = (b[d]! << 8) | b[d + 1]!;
    else if (type === 3 && len === 3) o.value = b[d]!;
    else if (type === 8 && len === 10) {
      o.tsval = u32(b, d);
      o.tsecr = u32(b, d + 4);
    } else if (type === 5 && (len - 2) % 8 === 0) {
      o.blocks = [];
      for (let p = d; p + 8 <= i + len; p += 8) o.blocks.push([u32(b, p), u32(b, p + 4)]);
    } else if (type === 4 && len === 2) {
      // sackOK: no data
    } else {
      o.data = toHex(b.subarray(d, i + len));
      if (name !== "unknown") notes.malformed ??= `Invalid TCP ${name} option length "${len}" at offset ${base + i}`;
    }
    out.push(o);
    i += len;
  }
  return out;
}
