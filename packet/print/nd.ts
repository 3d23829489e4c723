/**
 * The printing context of tunkit's tcpdump-style printers (packet/print/*): the packet's bytes,
 * how far they were captured (`snapend`, narrowed while a layer's own length is shorter), the
 * text printed so far, and tcpdump's flags. Every read of a packet byte goes through a checked
 * getter that throws {@link Truncated} past `snapend`; the top level catches it and prints
 * ` [|proto]` with the protocol being printed, as tcpdump does. So no printer ever reads past
 * what was captured, whatever the lengths inside the packet claim.
 *
 * @module
 */

/** Thrown by a getter reading past the captured bytes: the packet is printed ` [|proto]`. */
export class Truncated extends Error {
  constructor() {
    super("truncated");
  }
}

const TRUNC = new Truncated();

/** tcpdump's flags that change what is printed. */
export interface NdFlags {
  /** -v count. */
  v: number;
  /** -e: link-level headers. */
  e: boolean;
  /** -S: absolute TCP sequence numbers. */
  S: boolean;
  /** -x/-X/-A given: no hex dump of undecoded data inside the line (the dump follows anyway). */
  suppressDefault?: boolean;
  /** Names an interface index (LINUX_SLL2 records); tcpdump prints "?" for one it does not know. */
  ifName?: (index: number) => string | undefined;
}

/** Relative TCP sequence numbers across packets (see packet/print/tcp.ts). */
export interface SeqState {
  /** Base of the first sender's sequence numbers: relative numbers count from it. */
  seq: number;
  /** Base of the other side's sequence numbers. */
  ack: number;
}

/**
 * What tcpdump remembers from one packet to the next: TCP conversations (relative sequence
 * numbers, unless -S) and IKEv1 initiator cookies. One per stream of packets printed.
 */
export interface PrintState {
  /** Last sequence and acknowledgment numbers per TCP conversation (for relative numbers). */
  tcpSeq?: Map<string, SeqState>;
  /** IKEv1 initiator cookies seen, oldest replaced first. */
  ike?: { entries: { cookie: string; ver: 4 | 6; iaddr: string; raddr: string }[]; next: number };
}

/**
 * A packet being printed.
 *
 * @example
 * ```ts
 * import { Nd } from "./nd.ts";
 * const nd = new Nd(new Uint8Array([0x45, 0]), { v: 0, e: false, S: false });
 * nd.u8(0); // 0x45
 * nd.ttest(0, 4); // false: only 2 bytes were captured
 * ```
 */
export class Nd {
  /** Text printed so far. */
  out = "";
  /** The protocol being printed (what ` [|...]` names). */
  protocol = "";
  /** Captured bytes end here (exclusive): reads at or past it throw {@link Truncated}. */
  snapend: number;
  private readonly snapStack: number[] = [];
  /** Bytes of link-level header (what -X leaves out). */
  llHdrLen = 0;
  /**
   * Set when the packet holds a protocol tcpdump decodes and tunkit does not (printed as
   * payload or raw data instead): its name, e.g. "babel". Lets a caller know the line cannot be
   * tcpdump's.
   */
  notDecoded: string | undefined;

  constructor(
    readonly b: Uint8Array,
    readonly flags: NdFlags,
    /** State kept across packets (a fresh one when printing a single packet). */
    readonly state: PrintState = {},
  ) {
    this.snapend = b.length;
  }

  get v(): number {
    return this.flags.v;
  }

  get suppressDefault(): boolean {
    return !!this.flags.suppressDefault;
  }

  /** Appends text. */
  print(s: string): void {
    this.out += s;
  }

  /** Throws {@link Truncated}. */
  trunc(): never {
    throw TRUNC;
  }

  /** True when `n` bytes at `off` were captured. */
  ttest(off: number, n: number): boolean {
    return off >= 0 && n >= 0 && off + n <= this.snapend;
  }

  /** Throws {@link Truncated} unless `n` bytes at `off` were captured. */
  check(off: number, n: number): void {
    if (!(off >= 0 && n >= 0 && off + n <= this.snapend)) throw TRUNC;
  }

  /** Bytes captured from `off` (0 when past the end). */
  avail(off: number): number {
    return off < this.snapend ? this.snapend - off : 0;
  }

  u8(off: number): number {
    if (off < 0 || off >= this.snapend) throw TRUNC;
    return this.b[off]!;
  }

  be16(off: number): number {
    if (off < 0 || off + 2 > this.snapend) throw TRUNC;
    return (this.b[off]! << 8) | this.b[off + 1]!;
  }

  be24(off: number): number {
    if (off < 0 || off + 3 > this.snapend) throw TRUNC;
    return (this.b[off]! << 16) | (this.b[off + 1]! << 8) | this.b[off + 2]!;
  }

  be32(off: number): number {
    if (off < 0 || off + 4 > this.snapend) throw TRUNC;
    return ((this.b[off]! << 24) | (this.b[off + 1]! << 16) | (this.b[off + 2]! << 8) | this.b[off + 3]!) >>> 0;
  }

  le16(off: number): number {
    if (off < 0 || off + 2 > this.snapend) throw TRUNC;
    return this.b[off]! | (this.b[off + 1]! << 8);
  }

  le32(off: number): number {
    if (off < 0 || off + 4 > this.snapend) throw TRUNC;
    return (this.b[off]! | (this.b[off + 1]! << 8) | (this.b[off + 2]! << 16) | (this.b[off + 3]! << 24)) >>> 0;
  }

  /** 64-bit big-endian as a decimal string (exact). */
  be64s(off: number): string {
    const hi = this.be32(off);
    const lo = this.be32(off + 4);
    return (BigInt(hi) * 4294967296n + BigInt(lo)).toString();
  }

  /** Dotted-quad IPv4 at `off`. */
  ip4(off: number): string {
    this.check(off, 4);
    const b = this.b;
    return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
  }

  /** IPv6 at `off`, as tcpdump writes it (see {@link ip6String}). */
  ip6(off: number): string {
    this.check(off, 16);
    return ip6String(this.b, off);
  }

  /** A MAC address at `off` (6 bytes, lower-case hex with colons). */
  mac(off: number): string {
    this.check(off, 6);
    return hexColons(this.b, off, 6);
  }

  /** `n` bytes at `off` as lower-case hex, no separator. */
  hex(off: number, n: number): string {
    this.check(off, n);
    let s = "";
    for (let i = 0; i < n; i++) s += HEX2[this.b[off + i]!];
    return s;
  }

  /**
   * Narrows `snapend` to `off + len` when that is shorter (a layer's own length ends before
   * the capture does, as tcpdump's nd_push_snaplen); {@link popSnap} restores it.
   */
  pushSnap(off: number, len: number): void {
    this.snapStack.push(this.snapend);
    const end = off + len;
    if (end >= off && end < this.snapend) this.snapend = end;
  }

  /** Sets `snapend` to `off + len` if that is inside what was captured (nd_change_snaplen). */
  changeSnap(off: number, len: number): void {
    const end = off + len;
    const cap = this.snapStack.length ? this.snapStack[this.snapStack.length - 1]! : this.b.length;
    this.snapend = end < cap ? end : cap;
  }

  /** Undoes the last {@link pushSnap}. */
  popSnap(): void {
    const s = this.snapStack.pop();
    if (s !== undefined) this.snapend = s;
  }

  /** Restores the full capture (after a printer stopped early). */
  resetSnap(): void {
    this.snapStack.length = 0;
    this.snapend = this.b.length;
  }
}

/** "00".."ff". */
export const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** `n` bytes at `off` as hex with colons ("02:00:5e:00:01:01"). Unchecked: callers check. */
export function hexColons(b: Uint8Array, off: number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += (i ? ":" : "") + HEX2[b[off + i] ?? 0];
  return s;
}

/**
 * IPv6 text as tcpdump's addrtostr6: the first longest run of two or more zero words as "::",
 * an IPv4 tail for ::a.b.c.d and ::ffff:a.b.c.d. Unchecked: callers check the 16 bytes.
 *
 * @example
 * ```ts
 * import { ip6String } from "./nd.ts";
 * ip6String(new Uint8Array([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), 0); // "2001:db8::1"
 * ```
 */
export function ip6String(b: Uint8Array, off: number): string {
  const w: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 8; i++) w[i] = ((b[off + 2 * i] ?? 0) << 8) | (b[off + 2 * i + 1] ?? 0);
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i < 8; i++) {
    if (w[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase !== -1 && (bestBase === -1 || curLen > bestLen)) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let s = "";
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ":";
      continue;
    }
    if (i !== 0) s += ":";
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 5 && w[5] === 0xffff))) {
      s += `${b[off + 12] ?? 0}.${b[off + 13] ?? 0}.${b[off + 14] ?? 0}.${b[off + 15] ?? 0}`;
      return s;
    }
    s += w[i]!.toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) s += ":";
  return s;
}

/** tcpdump's tok2str: the name of `v` in `table`, or `fmt` with %u / %x / %02x / %04x filled. */
export function tok(table: Readonly<Record<number, string>>, fmt: string, v: number): string {
  const name = table[v];
  if (name !== undefined) return name;
  return fmt
    .replace("%u", String(v >>> 0))
    .replace("%d", String(v | 0))
    .replace("%02x", v.toString(16).padStart(2, "0"))
    .replace("%04x", v.toString(16).padStart(4, "0"))
    .replace("%08x", v.toString(16).padStart(8, "0"))
    .replace("%x", v.toString(16));
}

/**
 * tcpdump's bittok2str: the names of the table entries whose bits are all set in `v`, joined by
 * `sep` (", "; bittok2str_nosep joins with ""); when none is, `none` (a tok() format, so "#%u"
 * prints the value). Bits no entry names are not printed.
 */
export function bits(table: ReadonlyArray<readonly [number, string]>, none: string, v: number, sep = ", "): string {
  let s = "";
  let n = 0;
  for (const [mask, name] of table) {
    if (mask && (v & mask) >>> 0 === mask >>> 0) {
      s += (n++ ? sep : "") + name;
    }
  }
  return n ? s : tok({}, none, v);
}

/** tcpdump's unsigned_relts_print: seconds as "1w2d3h4m5s" ("0s" for 0). */
export function relts(secs: number): string {
  if (secs === 0) return "0s";
  let s = "";
  let left = secs >>> 0;
  for (const [n, u] of RELTS_UNITS) {
    if (left >= n) {
      s += `${Math.floor(left / n)}${u}`;
      left %= n;
    }
  }
  return s;
}

const RELTS_UNITS: ReadonlyArray<readonly [number, string]> = [[31536000, "y"], [604800, "w"], [86400, "d"], [3600, "h"], [60, "m"], [1, "s"]];

/** tcpdump's signed_relts_print. */
export function signedRelts(secs: number): string {
  if (secs < 0) return "-" + relts(-secs);
  return relts(secs);
}
