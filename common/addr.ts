/**
 * Addresses as text and bytes, for every part of tunkit: IPv4/IPv6 text read through ipaddr.js,
 * bytes printed here the way inet_ntop prints them, as tcpdump and iproute2 do (RFC 5952, and
 * `::ffff:192.0.2.1`, `::192.0.2.1`), prefixes with their length checked, and link-layer (MAC)
 * addresses.
 *
 * ipaddr.js is the parser of record (DESIGN §2). One exception, measured: a strict dotted quad
 * (no leading zero, decimal parts <= 255) is read by {@link quadAt} on the character codes,
 * because ipaddr.js's IPv4.parser was the largest single cost of a batch line (27% of the
 * samples of `route add P/32 dev D via G metric M table T`, bun --cpu-prof); it accepts and
 * yields exactly what ipaddr.js does for those texts (a differential fuzz against
 * ipaddr.IPv4.isValidFourPartDecimal/parse in tests/unit/common-addr.test.ts), and everything
 * else, refusals and their messages included, still goes through ipaddr.js. Pure grammar,
 * `route add P dev D`: ~1.0M -> ~1.9M lines/s (bench/cli-parse.ts, A/B in one process).
 *
 * @module
 */
import type Ipaddr from "ipaddr.js";
import { UsageError } from "./errors.ts";

let ipaddrLib: typeof Ipaddr | undefined;

/**
 * ipaddr.js, evaluated on the first IPv6 text (IPv6 bytes are printed by {@link formatGroups}
 * without it): an IPv4-only command (`route add
 * 10.1.0.0/16 dev tun0`, `addr add 192.0.2.1/24 …`) never runs its module body, whose 24
 * RegExps, prototypes and objects were 13 of a compiled `addr add`'s ~90 JavaScriptCore heap
 * blocks (a hello-world importing it: 41 blocks against 28; required on first use: 29). Past 64
 * blocks a run starts the JSCWarmUp thread (bench/cli-startup.ts --blocks; issue 11).
 *
 * `require` is the one synchronous import both ways this module runs: Bun (from source, and the
 * bundler, which bundles ipaddr.js and turns the call into its lazy module wrapper); Deno has no
 * `require` in a module, so it goes through node:module's createRequire.
 */
function ip(): typeof Ipaddr {
  if (ipaddrLib) return ipaddrLib;
  if (typeof require === "function") return (ipaddrLib = require("ipaddr.js") as typeof Ipaddr);
  const mod = (globalThis as unknown as { process: { getBuiltinModule(id: string): typeof import("node:module") } }).process.getBuiltinModule("node:module");
  return (ipaddrLib = mod.createRequire(import.meta.url)("ipaddr.js") as typeof Ipaddr);
}

const HEX = "0123456789abcdef";
/** Dotted quad without leading zeros, as ipaddr.js's isValidFourPartDecimal wants it. */
const FOUR_PART = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
/** The only characters of IPv6 text: hex groups, colons, and the dots of a trailing dotted quad. */
const V6_TEXT = /^[0-9A-Fa-f:.]{2,45}$/;

/**
 * Formats `len` bytes at `off` (default: the rest of `b`) as lowercase colon-separated hex, the
 * way MAC and other link-layer addresses are written. Missing bytes read as 0.
 *
 * @example
 * ```ts
 * import { formatMac } from "./addr.ts";
 * formatMac(new Uint8Array([0x02, 0, 0, 0, 0, 1])); // "02:00:00:00:00:01"
 * ```
 */
export function formatMac(b: Uint8Array, off = 0, len = b.length - off): string {
  let s = "";
  for (let i = 0; i < len; i++) {
    const v = b[off + i] ?? 0;
    if (i > 0) s += ":";
    s += HEX[v >> 4]! + HEX[v & 15]!;
  }
  return s;
}

/**
 * Parses a link-layer address: hex bytes separated by `:` or `-`. With `len`, exactly that many
 * bytes (6 for a MAC).
 *
 * @example
 * ```ts
 * import { parseMac } from "./addr.ts";
 * parseMac("02:00:00:00:00:01", 6); // Uint8Array [2, 0, 0, 0, 0, 1]
 * ```
 */
export function parseMac(text: string, len?: number): Uint8Array {
  const parts = text.split(/[:-]/);
  if (!parts.every((p) => /^[0-9a-fA-F]{1,2}$/.test(p)) || (len !== undefined && parts.length !== len)) {
    const what = len === 6 ? "MAC address" : "link-layer address";
    throw new UsageError(`Invalid ${what} "${text}": expected ${len ?? "some"} hex bytes like 02:00:00:00:00:01`);
  }
  return Uint8Array.from(parts.map((p) => parseInt(p, 16)));
}

/**
 * Formats the 4 bytes at `off` as dotted-quad IPv4. Missing bytes read as 0 (callers check bounds).
 *
 * @example
 * ```ts
 * import { formatIpv4 } from "./addr.ts";
 * formatIpv4(new Uint8Array([192, 0, 2, 1]), 0); // "192.0.2.1"
 * ```
 */
export function formatIpv4(b: Uint8Array, off = 0): string {
  return `${b[off] ?? 0}.${b[off + 1] ?? 0}.${b[off + 2] ?? 0}.${b[off + 3] ?? 0}`;
}

/**
 * Formats the 16 bytes at `off` as IPv6, RFC 5952 style, with inet_ntop's embedded IPv4 forms
 * (`::ffff:192.0.2.1` mapped, `::192.0.2.1` compatible).
 *
 * @example
 * ```ts
 * import { formatIpv6 } from "./addr.ts";
 * formatIpv6(new Uint8Array([0x20, 0x01, 0x0d, 0xb8, ...new Array(11).fill(0), 1]), 0); // "2001:db8::1"
 * ```
 */
export function formatIpv6(b: Uint8Array, off = 0): string {
  const bytes: number[] = new Array(16);
  for (let i = 0; i < 16; i++) bytes[i] = b[off + i] ?? 0;
  let zeros10 = true;
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) zeros10 = false;
  if (zeros10) {
    const w5 = (bytes[10]! << 8) | bytes[11]!;
    const w6 = (bytes[12]! << 8) | bytes[13]!;
    if (w5 === 0xffff) return "::ffff:" + formatIpv4(b, off + 12);
    if (w5 === 0 && w6 !== 0) return "::" + formatIpv4(b, off + 12);
  }
  return formatGroups(bytes);
}

/**
 * RFC 5952 text of 16 bytes without an embedded IPv4: eight groups in lowercase hex without
 * leading zeros, the longest run of two or more zero groups written `::` (the first of equal
 * runs; a single zero group stays `0`). What ipaddr.js's toString prints for these bytes (a
 * differential fuzz in tests/unit/common-addr.test.ts), without loading it. Session 13, JSC heap
 * blocks (bench/cli-startup.ts's heapBlocks method, 4 runs each, load 6-8, same namespace: 3 tun
 * devices, one with fd00::1/64, 100 IPv6 and 100 IPv4 routes), against the same tree with
 * ipaddr.js's toString: `list` 99 -> 93-94, `route list -6` 102-105 -> 101; IPv4-only listings
 * unchanged (they never printed IPv6 bytes).
 */
function formatGroups(bytes: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (bytes[2 * i] !== 0 || bytes[2 * i + 1] !== 0) {
      i++;
      continue;
    }
    let j = i + 1;
    while (j < 8 && bytes[2 * j] === 0 && bytes[2 * j + 1] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      s += "::";
      i += bestLen - 1;
      continue;
    }
    if (i > 0 && i !== best + bestLen) s += ":";
    s += ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16);
  }
  return s;
}

/**
 * Formats 4 or 16 bytes as IPv4 or IPv6.
 *
 * @example
 * ```ts
 * import { formatIp } from "./addr.ts";
 * formatIp(new Uint8Array([198, 51, 100, 7])); // "198.51.100.7"
 * ```
 */
export function formatIp(b: Uint8Array): string {
  if (b.length === 4) return formatIpv4(b, 0);
  if (b.length === 16) return formatIpv6(b, 0);
  throw new RangeError(`An IP address has 4 or 16 bytes, not ${b.length}`);
}

/**
 * `p` from index `from` to its end: 1 to 3 decimal digits without a leading zero (what
 * /^(0|[1-9]\d{0,2})$/ accepts) as a number, or NaN. Read in place (no slice of the text).
 */
function smallDecimal(p: string, from = 0): number {
  const n = p.length - from;
  if (n < 1 || n > 3 || (n > 1 && p.charCodeAt(from) === 48)) return NaN;
  let v = 0;
  for (let i = from; i < p.length; i++) {
    const c = p.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parses IPv4 (four-part dotted decimal only) or IPv6 text into 4 or 16 bytes; with `version`,
 * only that family (`family`: 4 or 6, or AF_INET/AF_INET6 as netlink numbers them; 0 = either).
 * tunkit's one address parser. Strict where tools disagree: IPv4 without leading zeros (`010.0.0.1` is
 * 8.0.0.1 to ip, 10.0.0.1 to others), IPv6 exactly as inet_pton(3) takes it (no `%zone`, the
 * same dotted-quad rules in `::ffff:192.0.2.1`).
 *
 * @example
 * ```ts
 * import { parseIp } from "./addr.ts";
 * parseIp("2001:db8::1").length; // 16
 * // IPv4-compatible (::c000:201, not ::ffff:c000:201):
 * parseIp("::192.0.2.1")[12];    // 192
 * // parseIp("fe80::1%eth0"), parseIp("010.0.0.1"), parseIp("::ffff:010.1.1.1"): UsageError
 * ```
 */
export function parseIp(text: string, family?: IpFamily): Uint8Array {
  const version = family === 2 ? 4 : family === 10 ? 6 : family === 0 ? undefined : family;
  let out = quadAt(text, 0, text.length);
  if (out === undefined && text.includes(":")) {
    const bytes = parseIpv6(text);
    if (bytes) out = Uint8Array.from(bytes);
  }
  if (out === undefined) {
    const why = whyNotIp(text);
    throw new UsageError(`Invalid IP address "${text}": ${why ?? "expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1)"}`);
  }
  const v = out.length === 4 ? 4 : 6;
  if (version !== undefined && version !== v) throw new UsageError(`Invalid IP address "${text}": expected IPv${version}`);
  return out;
}

/**
 * The strict dotted quad text[from, to) as 4 bytes, or undefined: what {@link FOUR_PART} accepts
 * (four parts of 1 to 3 decimal digits, no leading zero but a lone "0") with every part at most
 * 255, read on the character codes in place (no slice of a prefix's address part).
 *
 * Why not ipaddr.js here (DESIGN §2 makes it the parser of record): a batch of a million routes
 * reads a dotted quad per line, and ipaddr.js's IPv4.parser (its four-part RegExp, then
 * parseIntAuto and a RegExp per part) was the largest single cost of a line: 27% of the samples
 * of `route add P/32 dev D via G metric M table T` (bun --cpu-prof, 200k lines x 15), parseCidr
 * with it 34%. Only the dotted quads FOUR_PART accepts come here; for them ipaddr.js reads each
 * part as a plain decimal (no octal, no hex: a leading zero or "0x" fails the check first), and
 * the old path refused a part over 255 after it: the same accept/reject and the same bytes,
 * which tests/unit/common-addr.test.ts's differential fuzz checks against ipaddr.js itself
 * (random and edge-case strings). Everything else (IPv6, refusals and their messages) still goes
 * through ipaddr.js.
 */
function quadAt(text: string, from: number, to: number): Uint8Array | undefined {
  const n = to - from;
  if (n < 7 || n > 15) return undefined;
  let parts = 0;
  let digits = 0;
  let lead = 0;
  let v = 0;
  let a = 0;
  let b = 0;
  let c = 0;
  for (let i = from; i < to; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 46) {
      if (digits === 0 || v > 255) return undefined;
      if (parts === 0) a = v;
      else if (parts === 1) b = v;
      else if (parts === 2) c = v;
      else return undefined;
      parts++;
      digits = 0;
      v = 0;
    } else if (ch >= 48 && ch <= 57) {
      if (digits === 0) lead = ch;
      else if (lead === 48 || digits === 3) return undefined;
      digits++;
      v = v * 10 + (ch - 48);
    } else return undefined;
  }
  if (parts !== 3 || digits === 0 || v > 255) return undefined;
  const out = new Uint8Array(4);
  out[0] = a;
  out[1] = b;
  out[2] = c;
  out[3] = v;
  return out;
}

/** Why an address text was refused, when there is more to say than "expected IPv4 or IPv6". */
function whyNotIp(text: string): string | undefined {
  const pct = text.indexOf("%");
  if (pct >= 0 && text.includes(":")) {
    return `zone index "${text.slice(pct)}" not allowed (as ip refuses it; name the interface with dev instead)`;
  }
  const quad = /(?:^|:)([^:]*\.[^:]*)$/.exec(text)?.[1];
  if (quad !== undefined) {
    for (const part of quad.split(".")) {
      if (/^0\d+$/.test(part)) return `leading zero in "${part}" (octal to some tools, decimal to others): write it without`;
      if (/^0x/i.test(part)) return `hexadecimal "${part}" in a dotted quad: write it in decimal`;
    }
  }
  return undefined;
}

/**
 * IPv6 text as inet_pton(3) takes it, into 16 bytes, or undefined. ipaddr.js does the hex
 * groups; the checks around it close the gaps where it is more lenient than inet_pton (and so
 * than ip): it accepts a `%zone` suffix and drops it, reads the dotted quad of `::ffff:010.1.1.1`
 * with leading zeros or hex, and turns `::1.2.3.4` into `::ffff:1.2.3.4`.
 */
function parseIpv6(text: string): number[] | undefined {
  if (!V6_TEXT.test(text)) return undefined;
  let hex = text;
  const dot = text.indexOf(".");
  if (dot >= 0) {
    const colon = text.lastIndexOf(":");
    if (colon > dot) return undefined;
    const quad = text.slice(colon + 1);
    if (!FOUR_PART.test(quad)) return undefined;
    const q = quad.split(".").map(Number);
    if (q.some((v) => v > 255)) return undefined;
    hex = `${text.slice(0, colon + 1)}${((q[0]! << 8) | q[1]!).toString(16)}:${((q[2]! << 8) | q[3]!).toString(16)}`;
  }
  try {
    return ip().IPv6.parse(hex).toByteArray();
  } catch {
    return undefined;
  }
}

/**
 * An address family as {@link parseIp} takes it: 4 or 6, or the AF_* number (AF_INET 2,
 * AF_INET6 10; AF_UNSPEC 0 = either).
 */
export type IpFamily = 4 | 6 | 2 | 10 | 0;

/**
 * An address with a prefix length, as {@link parseCidr} returns it.
 *
 * @deprecated The public prefix type is `Prefix` ({family, bytes, len}, from `parsePrefix`);
 * `Cidr` stays for one release.
 */
export interface Cidr {
  /** The prefix's address bytes (4 or 16). */
  bytes: Uint8Array;
  /** Prefix length; the full length (32/128) when the text had none. */
  prefix: number;
}

/**
 * Parses `ADDR[/LEN]`, checking LEN against the family: 0..32 for IPv4, 0..128 for IPv6.
 *
 * @example
 * ```ts
 * import { parseCidr } from "./addr.ts";
 * parseCidr("192.0.2.0/24").prefix; // 24
 * // parseCidr("192.0.2.1/33"): UsageError 'Invalid prefix length "33" for IPv4: expected 0..32'
 * ```
 */
export function parseCidr(text: string, version?: 4 | 6): Cidr {
  const slash = text.indexOf("/");
  // A dotted quad is read in place; anything else (IPv6, errors) through parseIp on the slice.
  const quad = version === 6 ? undefined : quadAt(text, 0, slash < 0 ? text.length : slash);
  const bytes = quad ?? parseIp(slash < 0 ? text : text.slice(0, slash), version);
  const max = bytes.length * 8;
  if (slash < 0) return { bytes, prefix: max };
  // No leading zeros: ip reads "/024" as octal (20), other tools as 24.
  const prefix = smallDecimal(text, slash + 1);
  if (!(prefix >= 0 && prefix <= max)) {
    const p = text.slice(slash + 1);
    const zeros = /^0\d+$/.test(p) ? " without leading zeros" : "";
    throw new UsageError(`Invalid prefix length "${p}" for IPv${max === 32 ? 4 : 6}: expected 0..${max}${zeros}`);
  }
  return { bytes, prefix };
}

/**
 * A strict dotted quad with an optional `/LEN` (0..32, no leading zero) in one pass, as the
 * netlink layer's prefix ({ family: 2 (AF_INET), bytes, len }), or undefined for any other text
 * ({@link parseCidr} then says what is wrong with it). The same accept and the same bytes as
 * parseCidr(text, 4) (see {@link quadAt}), without its intermediate object: a batch reads one
 * per line.
 *
 * @example
 * ```ts
 * import { quadPrefix } from "./addr.ts";
 * quadPrefix("198.51.100.0/24"); // { family: 2, bytes: [198, 51, 100, 0], len: 24 }
 * quadPrefix("198.51.100.0/024"); // undefined (parseCidr refuses it, saying why)
 * quadPrefix("2001:db8::/32");   // undefined
 * ```
 */
export function quadPrefix(text: string): { family: 2; bytes: Uint8Array; len: number } | undefined {
  const slash = text.indexOf("/");
  const bytes = quadAt(text, 0, slash < 0 ? text.length : slash);
  if (bytes === undefined) return undefined;
  const len = slash < 0 ? 32 : smallDecimal(text, slash + 1);
  return len >= 0 && len <= 32 ? { family: 2, bytes, len } : undefined;
}

/**
 * The module's internal functions a batch line runs (cli/jit.ts keeps them out of the FTL), and
 * ipaddr.js's when an IPv6 line has loaded it (see {@link ip}).
 */
export function lineFunctions(): unknown[] {
  return ipaddrLib ? [smallDecimal, quadAt, parseIpv6, ipaddrLib] : [smallDecimal, quadAt, parseIpv6];
}
