/**
 * Cryptokey routing: which peer owns an inner address (whitepaper §2). Longest-prefix match over
 * the peers' AllowedIPs, IPv4 and IPv6. A prefix belongs to one peer at a time: adding it for
 * another moves it.
 *
 * Shape for speed: one hash table per prefix length present, keyed by the masked address (IPv4:
 * the 32-bit number; IPv6: a hash of the four masked words, verified on hit), tried from the
 * longest length down. A lookup reads the address straight from the packet buffer and
 * allocates nothing; it costs one probe per distinct prefix length in use (usually 1–3).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { formatIp, parseCidr } from "../common/addr.ts";
import type { Prefix } from "../netlink/route/ip.ts";

/**
 * One allowed prefix: tunkit's one prefix type, {@link Prefix} (`family`, `bytes` with the host
 * bits zero, `len`), as {@link parseAllowedIp} and {@link AllowedIps.entriesOf} return it.
 *
 * @deprecated Use {@link Prefix}. Until 0.3 the prefixes tunkit returns here also answer to the
 * old names `addr` (= `bytes`) and `prefix` (= `len`), not enumerable (absent from JSON).
 */
export interface AllowedIp extends Prefix {
  /** @deprecated Use {@link Prefix.bytes}. */
  readonly addr: Uint8Array;
  /** @deprecated Use {@link Prefix.len}. */
  readonly prefix: number;
}

/**
 * What {@link AllowedIps} and a peer's `allowedIps` take: a {@link Prefix} or, until 0.3, the old
 * `{ addr, prefix }` shape.
 */
export type AllowedIpInput = Prefix | { readonly addr: Uint8Array; readonly prefix: number };

const LEGACY = Object.create(Object.prototype, {
  addr: {
    get(this: Prefix) {
      return this.bytes;
    },
  },
  prefix: {
    get(this: Prefix) {
      return this.len;
    },
  },
}) as object;

/**
 * The prefix of `c` with its host bits cleared (a copy), old shape accepted.
 *
 * @example
 * ```ts
 * import { allowedIp } from "./allowedips.ts";
 * allowedIp({ family: 2, bytes: Uint8Array.of(192, 0, 2, 7), len: 24 }).bytes; // Uint8Array.of(192, 0, 2, 0)
 * ```
 */
export function allowedIp(c: AllowedIpInput): AllowedIp {
  const src = "bytes" in c ? c.bytes : c.addr;
  const len = "bytes" in c ? c.len : c.prefix;
  const bytes = Uint8Array.from(src);
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, len - i * 8));
    bytes[i] = bytes[i]! & ((0xff << (8 - keep)) & 0xff);
  }
  const out = Object.create(LEGACY) as { family: number; bytes: Uint8Array; len: number };
  out.family = bytes.length === 4 ? 2 : 10;
  out.bytes = bytes;
  out.len = len;
  return out as AllowedIp;
}

interface Entry6<P> {
  w: [number, number, number, number];
  peer: P;
  cidr: AllowedIp;
}

function mask32(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

function maskWord(word: number, wordIndex: number, len: number): number {
  const bits = Math.max(0, Math.min(32, len - wordIndex * 32));
  return (word & mask32(bits)) >>> 0;
}

const rd32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

function hash6(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ w1 ^ (h >>> 13), 0xc2b2ae35);
  h = Math.imul(h ^ w2 ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ w3 ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * Parses "10.0.0.0/24" or "2001:db8::1" (a host route) into an {@link AllowedIp}, with host
 * bits cleared as wg does.
 *
 * @example
 * ```ts
 * import { parseAllowedIp } from "./allowedips.ts";
 * parseAllowedIp("192.0.2.7/24"); // { family: 2, bytes: [192, 0, 2, 0], len: 24 }
 * ```
 */
export function parseAllowedIp(text: string): AllowedIp {
  const t = text.trim();
  const c = parseCidr(t.includes("/") ? t : `${t}/${t.includes(":") ? 128 : 32}`);
  return allowedIp({ family: c.bytes.length === 4 ? 2 : 10, bytes: c.bytes, len: c.prefix });
}

/**
 * "192.0.2.0/24": the prefix as wg prints it.
 *
 * @example
 * ```ts
 * import { formatAllowedIp, parseAllowedIp } from "./allowedips.ts";
 * formatAllowedIp(parseAllowedIp("2001:db8::7/64")); // "2001:db8::/64"
 * ```
 */
export function formatAllowedIp(a: AllowedIpInput): string {
  return "bytes" in a ? `${formatIp(a.bytes)}/${a.len}` : `${formatIp(a.addr)}/${a.prefix}`;
}

/**
 * The table.
 *
 * @example
 * ```ts
 * import { AllowedIps, parseAllowedIp } from "./allowedips.ts";
 * const t = new AllowedIps<string>();
 * t.insert(parseAllowedIp("10.0.0.0/8"), "a");
 * t.insert(parseAllowedIp("10.1.0.0/16"), "b");
 * t.lookup(Uint8Array.of(10, 1, 2, 3), 0, 4); // "b"
 * ```
 */
export class AllowedIps<P> {
  private v4 = new Map<number, Map<number, { peer: P; cidr: AllowedIp }>>();
  private v4Lens: number[] = [];
  private v6 = new Map<number, Map<number, Entry6<P>[]>>();
  private v6Lens: number[] = [];

  /** Adds (or moves) a prefix to `peer`. */
  insert(prefix: AllowedIpInput, peer: P): void {
    const cidr = legacyView(prefix);
    if (cidr.addr.length === 4) {
      if (!(cidr.prefix >= 0 && cidr.prefix <= 32)) throw new UsageError(`Invalid IPv4 prefix length ${cidr.prefix}`);
      let t = this.v4.get(cidr.prefix);
      if (!t) {
        this.v4.set(cidr.prefix, (t = new Map()));
        this.v4Lens = [...this.v4.keys()].sort((a, b) => b - a);
      }
      t.set((rd32(cidr.addr, 0) & mask32(cidr.prefix)) >>> 0, { peer, cidr: normalise(cidr) });
      return;
    }
    if (cidr.addr.length !== 16 || !(cidr.prefix >= 0 && cidr.prefix <= 128)) throw new UsageError(`Invalid IPv6 prefix length ${cidr.prefix}`);
    let t = this.v6.get(cidr.prefix);
    if (!t) {
      this.v6.set(cidr.prefix, (t = new Map()));
      this.v6Lens = [...this.v6.keys()].sort((a, b) => b - a);
    }
    const w = [0, 1, 2, 3].map((i) => maskWord(rd32(cidr.addr, i * 4), i, cidr.prefix)) as Entry6<P>["w"];
    const h = hash6(...w);
    const bucket = t.get(h) ?? [];
    const i = bucket.findIndex((e) => e.w.every((x, j) => x === w[j]));
    const e = { w, peer, cidr: normalise(cidr) };
    if (i >= 0) bucket[i] = e;
    else bucket.push(e);
    t.set(h, bucket);
  }

  /** Removes one prefix (only when owned by `peer`, if given). Returns whether it was there. */
  remove(prefix: AllowedIpInput, peer?: P): boolean {
    const c = normalise(legacyView(prefix));
    if (c.addr.length === 4) {
      const t = this.v4.get(c.prefix);
      const key = rd32(c.addr, 0);
      const e = t?.get(key);
      if (!t || !e || (peer !== undefined && e.peer !== peer)) return false;
      t.delete(key);
      if (t.size === 0) {
        this.v4.delete(c.prefix);
        this.v4Lens = [...this.v4.keys()].sort((a, b) => b - a);
      }
      return true;
    }
    const t = this.v6.get(c.prefix);
    if (!t) return false;
    const w = [0, 1, 2, 3].map((i) => rd32(c.addr, i * 4));
    const h = hash6(w[0]!, w[1]!, w[2]!, w[3]!);
    const bucket = t.get(h);
    const i = bucket ? bucket.findIndex((e) => e.w.every((x, j) => x === w[j]) && (peer === undefined || e.peer === peer)) : -1;
    if (!bucket || i < 0) return false;
    bucket.splice(i, 1);
    if (!bucket.length) t.delete(h);
    if (t.size === 0) {
      this.v6.delete(c.prefix);
      this.v6Lens = [...this.v6.keys()].sort((a, b) => b - a);
    }
    return true;
  }

  /** Removes every prefix of `peer`. */
  removePeer(peer: P): void {
    for (const c of this.entriesOf(peer)) this.remove(c, peer);
  }

  /** The prefixes of `peer` (IPv4 first). */
  entriesOf(peer: P): AllowedIp[] {
    const out: AllowedIp[] = [];
    for (const t of this.v4.values()) for (const e of t.values()) if (e.peer === peer) out.push(e.cidr);
    for (const t of this.v6.values()) for (const b of t.values()) for (const e of b) if (e.peer === peer) out.push(e.cidr);
    return out;
  }

  /** Longest-prefix match of the 4- or 16-byte address at `buf[off]`. */
  lookup(buf: Uint8Array, off: number, len: 4 | 16): P | undefined {
    return len === 4 ? this.lookup4(rd32(buf, off)) : this.lookup6(buf, off);
  }

  /** IPv4 lookup of a 32-bit address. */
  lookup4(a: number): P | undefined {
    const lens = this.v4Lens;
    for (let i = 0; i < lens.length; i++) {
      const l = lens[i]!;
      const e = this.v4.get(l)!.get((a & mask32(l)) >>> 0);
      if (e) return e.peer;
    }
    return undefined;
  }

  /** IPv6 lookup of the 16 bytes at `buf[off]`. */
  lookup6(buf: Uint8Array, off: number): P | undefined {
    const a0 = rd32(buf, off), a1 = rd32(buf, off + 4), a2 = rd32(buf, off + 8), a3 = rd32(buf, off + 12);
    const lens = this.v6Lens;
    for (let i = 0; i < lens.length; i++) {
      const l = lens[i]!;
      const w0 = maskWord(a0, 0, l), w1 = maskWord(a1, 1, l), w2 = maskWord(a2, 2, l), w3 = maskWord(a3, 3, l);
      const b = this.v6.get(l)!.get(hash6(w0, w1, w2, w3));
      if (!b) continue;
      for (let j = 0; j < b.length; j++) {
        const w = b[j]!.w;
        if (w[0] === w0 && w[1] === w1 && w[2] === w2 && w[3] === w3) return b[j]!.peer;
      }
    }
    return undefined;
  }

  /** Number of prefixes. */
  get size(): number {
    let n = 0;
    for (const t of this.v4.values()) n += t.size;
    for (const t of this.v6.values()) for (const b of t.values()) n += b.length;
    return n;
  }
}

/** Either shape, read through the old names (what the table's code uses). */
function legacyView(c: AllowedIpInput): { readonly addr: Uint8Array; readonly prefix: number } {
  return "bytes" in c ? { addr: c.bytes, prefix: c.len } : c;
}

/** A copy of `c` with its host bits cleared, as stored. */
function normalise(c: AllowedIpInput): AllowedIp {
  return allowedIp(c);
}

export { formatIp };
