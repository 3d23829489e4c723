/**
 * DNS message summary (RFC 1035): header, first question, and the answer records of common
 * types. Compression pointers are followed with a bound; names are escaped to printable ASCII
 * the way tcpdump prints them (`M-` for bytes >= 0x80, `^X` for control characters).
 *
 * @module
 */
import { MalformedError, TruncatedError, isDecodeError } from "../common/errors.ts";
import { formatIpv4, formatIpv6 } from "../common/addr.ts";
import type { DnsRecord, DnsSummary } from "./types.ts";

/** At most this many compression pointers are followed in one name. */
export const MAX_DNS_POINTERS = 32;
/** At most this many answer records are decoded. */
export const MAX_DNS_ANSWERS = 16;
/** Longest rendered name, in characters, before the decoder calls it malformed. */
export const MAX_DNS_NAME = 1024;

/** DNS record type names (tcpdump's spelling) for the common types. */
export const DNS_TYPE_NAMES: Readonly<Record<number, string>> = {
  1: "A",
  2: "NS",
  5: "CNAME",
  6: "SOA",
  12: "PTR",
  13: "HINFO",
  15: "MX",
  16: "TXT",
  28: "AAAA",
  33: "SRV",
  35: "NAPTR",
  39: "DNAME",
  41: "OPT",
  43: "DS",
  46: "RRSIG",
  47: "NSEC",
  48: "DNSKEY",
  64: "SVCB",
  65: "HTTPS",
  99: "SPF",
  252: "AXFR",
  255: "ANY",
  257: "CAA",
};

/**
 * Escapes one byte the way tcpdump prints untrusted characters: printable ASCII as is,
 * `M-` prefix for bytes >= 0x80, `^` + (c ^ 0x40) for control characters.
 *
 * @example
 * ```ts
 * import { escapeByte } from "./dns.ts";
 * escapeByte(0x41); // "A"
 * escapeByte(0x0a); // "^J"
 * escapeByte(0xe9); // "M-i"
 * ```
 */
export function escapeByte(c: number): string {
  let s = "";
  if (c >= 0x80) {
    s = "M-";
    c &= 0x7f;
  }
  if (c < 0x20 || c === 0x7f) return s + "^" + String.fromCharCode(c ^ 0x40);
  return s + String.fromCharCode(c);
}

/**
 * Reads a (possibly compressed) domain name at `pos` of the message `msg`. Returns the escaped
 * name with a trailing dot (`"."` for the root) and the position after it. Throws
 * TruncatedError / MalformedError (pointer loops, bad label types, names that are too long).
 *
 * @example
 * ```ts
 * import { readDnsName } from "./dns.ts";
 * import { fromHex } from "../common/hex.ts";
 * readDnsName(fromHex("076578616d706c6503636f6d00"), 0); // { name: "example.com.", next: 13 }
 * ```
 */
export function readDnsName(msg: Uint8Array, pos: number): { name: string; next: number } {
  let name = "";
  let next = -1;
  let jumps = 0;
  let p = pos;
  for (;;) {
    if (p >= msg.length) throw new TruncatedError("DNS name", p, 1, msg.length);
    const len = msg[p]!;
    if (len === 0) {
      p++;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (p + 1 >= msg.length) throw new TruncatedError("DNS name", p, 2, msg.length);
      if (++jumps > MAX_DNS_POINTERS) throw new MalformedError("Invalid DNS name: compression pointer loop", p);
      const target = ((len & 0x3f) << 8) | msg[p + 1]!;
      if (next < 0) next = p + 2;
      if (target >= msg.length) throw new MalformedError(`Invalid DNS compression pointer "${target}"`, p);
      p = target;
      continue;
    }
    if (kind !== 0) throw new MalformedError(`Invalid DNS label type "0x${len.toString(16)}"`, p);
    if (p + 1 + len > msg.length) throw new TruncatedError("DNS label", p + 1, len, msg.length);
    for (let i = 0; i < len; i++) name += escapeByte(msg[p + 1 + i]!);
    name += ".";
    if (name.length > MAX_DNS_NAME) throw new MalformedError("Invalid DNS name: too long", p);
    p += 1 + len;
  }
  return { name: name === "" ? "." : name, next: next < 0 ? p : next };
}

function u16(b: Uint8Array, p: number): number {
  if (p + 2 > b.length) throw new TruncatedError("DNS message", p, 2, b.length);
  return (b[p]! << 8) | b[p + 1]!;
}

function u32(b: Uint8Array, p: number): number {
  if (p + 4 > b.length) throw new TruncatedError("DNS message", p, 4, b.length);
  return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
}

/**
 * Summarises the DNS message at `off` of `bytes`. `len` is its length per the transport (the
 * captured bytes may be fewer). Never throws: problems are reported in `malformed` /
 * `truncated`. Returns undefined when even the 12-byte header is missing.
 *
 * @example
 * ```ts
 * import { decodeDns } from "./dns.ts";
 * import { fromHex } from "../common/hex.ts";
 * const q = fromHex("1234 0100 0001 0000 0000 0000 076578616d706c6503636f6d00 0001 0001");
 * decodeDns(q, 0, q.length)?.question; // { name: "example.com.", type: 1, class: 1 }
 * ```
 */
export function decodeDns(bytes: Uint8Array, off: number, len: number): DnsSummary | undefined {
  const msg = bytes.subarray(off, Math.min(bytes.length, off + len));
  if (msg.length < 12) return undefined;
  const flags = u16(msg, 2);
  const d: DnsSummary = {
    offset: off,
    id: u16(msg, 0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    flags: {
      aa: (flags & 0x0400) !== 0,
      tc: (flags & 0x0200) !== 0,
      rd: (flags & 0x0100) !== 0,
      ra: (flags & 0x0080) !== 0,
      z: (flags & 0x0040) !== 0,
      ad: (flags & 0x0020) !== 0,
      cd: (flags & 0x0010) !== 0,
    },
    questionCount: u16(msg, 4),
    answerCount: u16(msg, 6),
    authorityCount: u16(msg, 8),
    additionalCount: u16(msg, 10),
    answers: [],
    length: len,
  };
  let p = 12;
  try {
    for (let i = 0; i < d.questionCount; i++) {
      const n = readDnsName(msg, p);
      const type = u16(msg, n.next);
      const cls = u16(msg, n.next + 2);
      if (i === 0) d.question = { name: n.name, type, class: cls };
      p = n.next + 4;
    }
    for (let i = 0; i < d.answerCount && i < MAX_DNS_ANSWERS; i++) {
      const n = readDnsName(msg, p);
      const type = u16(msg, n.next);
      const cls = u16(msg, n.next + 2);
      const ttl = u32(msg, n.next + 4);
      const rdlen = u16(msg, n.next + 8);
      const rd = n.next + 10;
      const rec: DnsRecord = { name: n.name, type, class: cls, ttl };
      d.answers.push(rec);
      if (rd + rdlen > msg.length) throw new TruncatedError("DNS record data", rd, rdlen, msg.length);
      rec.data = recordData(msg, type, rd, rdlen);
      p = rd + rdlen;
    }
  } catch (e) {
    if (!isDecodeError(e)) throw e;
    if (e instanceof TruncatedError && msg.length < len) d.truncated = true;
    else d.malformed = e.message;
  }
  return d;
}

function recordData(msg: Uint8Array, type: number, rd: number, rdlen: number): string | undefined {
  switch (type) {
    case 1:
      return rdlen === 4 ? formatIpv4(msg, rd) : undefined;
    case 28:
      return rdlen === 16 ? formatIpv6(msg, rd) : undefined;
    case 2:
    case 5:
    case 12:
    case 39: {
      const n = readDnsName(msg.subarray(0, rd + rdlen), rd);
      return n.name;
    }
    case 15: {
      const pref = u16(msg, rd);
      const n = readDnsName(msg.subarray(0, rd + rdlen), rd + 2);
      return `${n.name} ${pref}`;
    }
    case 16: {
      let s = "";
      let i = rd;
      while (i < rd + rdlen) {
        const l = msg[i]!;
        if (i + 1 + l > rd + rdlen) throw new MalformedError("Invalid DNS TXT string length", i);
        s += (s ? " " : "") + '"';
        for (let k = 0; k < l; k++) {
          const ch = msg[i + 1 + k]!;
          s += ch === 0x22 || ch === 0x5c ? "\\" + String.fromCharCode(ch) : escapeByte(ch);
        }
        s += '"';
        i += 1 + l;
      }
      return s;
    }
    default:
      return undefined;
  }
}
