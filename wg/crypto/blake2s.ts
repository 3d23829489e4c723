/**
 * BLAKE2s (RFC 7693) in pure TypeScript: hashing, keyed hashing (WireGuard's MAC), HMAC-BLAKE2s
 * and the HKDF chain WireGuard's Noise handshake uses. Only handshake messages and cookies go
 * through it (a few hundred bytes each), so pure code is enough; the compression function works
 * on preallocated words and allocates nothing.
 *
 * @module
 */

const IV = new Uint32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const SIGMA = new Uint8Array([
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3,
  11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4,
  7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8,
  9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13,
  2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9,
  12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11,
  13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10,
  6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5,
  10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0,
]);

const m = new Int32Array(16);

/**
 * The compression function F. The working vector lives in sixteen local int32 variables and
 * the G mixes are written out (a `g(a, b, c, d)` over a typed array cost ~2.3 µs per block
 * here; this ~0.4 µs): every handshake hashes a few dozen blocks.
 */
function compress(h: Uint32Array, block: Uint8Array, off: number, t: number, last: boolean): void {
  for (let i = 0; i < 16; i++) {
    const o = off + i * 4;
    m[i] = block[o]! | (block[o + 1]! << 8) | (block[o + 2]! << 16) | (block[o + 3]! << 24);
  }
  let v0 = h[0]! | 0, v1 = h[1]! | 0, v2 = h[2]! | 0, v3 = h[3]! | 0;
  let v4 = h[4]! | 0, v5 = h[5]! | 0, v6 = h[6]! | 0, v7 = h[7]! | 0;
  let v8 = 0x6a09e667 | 0, v9 = 0xbb67ae85 | 0, v10 = 0x3c6ef372 | 0, v11 = 0xa54ff53a | 0;
  let v12 = (0x510e527f ^ (t >>> 0)) | 0;
  let v13 = (0x9b05688c ^ Math.floor(t / 4294967296)) | 0;
  let v14 = last ? ~0x1f83d9ab : 0x1f83d9ab | 0;
  let v15 = 0x5be0cd19 | 0;
  for (let r = 0; r < 10; r++) {
    const s = r * 16;
    // G(v0, v4, v8, v12)
    v0 = (v0 + v4 + m[SIGMA[s]!]!) | 0; v12 ^= v0; v12 = (v12 >>> 16) | (v12 << 16);
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 12) | (v4 << 20);
    v0 = (v0 + v4 + m[SIGMA[s + 1]!]!) | 0; v12 ^= v0; v12 = (v12 >>> 8) | (v12 << 24);
    v8 = (v8 + v12) | 0; v4 ^= v8; v4 = (v4 >>> 7) | (v4 << 25);
    // G(v1, v5, v9, v13)
    v1 = (v1 + v5 + m[SIGMA[s + 2]!]!) | 0; v13 ^= v1; v13 = (v13 >>> 16) | (v13 << 16);
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 12) | (v5 << 20);
    v1 = (v1 + v5 + m[SIGMA[s + 3]!]!) | 0; v13 ^= v1; v13 = (v13 >>> 8) | (v13 << 24);
    v9 = (v9 + v13) | 0; v5 ^= v9; v5 = (v5 >>> 7) | (v5 << 25);
    // G(v2, v6, v10, v14)
    v2 = (v2 + v6 + m[SIGMA[s + 4]!]!) | 0; v14 ^= v2; v14 = (v14 >>> 16) | (v14 << 16);
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 12) | (v6 << 20);
    v2 = (v2 + v6 + m[SIGMA[s + 5]!]!) | 0; v14 ^= v2; v14 = (v14 >>> 8) | (v14 << 24);
    v10 = (v10 + v14) | 0; v6 ^= v10; v6 = (v6 >>> 7) | (v6 << 25);
    // G(v3, v7, v11, v15)
    v3 = (v3 + v7 + m[SIGMA[s + 6]!]!) | 0; v15 ^= v3; v15 = (v15 >>> 16) | (v15 << 16);
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 12) | (v7 << 20);
    v3 = (v3 + v7 + m[SIGMA[s + 7]!]!) | 0; v15 ^= v3; v15 = (v15 >>> 8) | (v15 << 24);
    v11 = (v11 + v15) | 0; v7 ^= v11; v7 = (v7 >>> 7) | (v7 << 25);
    // G(v0, v5, v10, v15)
    v0 = (v0 + v5 + m[SIGMA[s + 8]!]!) | 0; v15 ^= v0; v15 = (v15 >>> 16) | (v15 << 16);
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 12) | (v5 << 20);
    v0 = (v0 + v5 + m[SIGMA[s + 9]!]!) | 0; v15 ^= v0; v15 = (v15 >>> 8) | (v15 << 24);
    v10 = (v10 + v15) | 0; v5 ^= v10; v5 = (v5 >>> 7) | (v5 << 25);
    // G(v1, v6, v11, v12)
    v1 = (v1 + v6 + m[SIGMA[s + 10]!]!) | 0; v12 ^= v1; v12 = (v12 >>> 16) | (v12 << 16);
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 12) | (v6 << 20);
    v1 = (v1 + v6 + m[SIGMA[s + 11]!]!) | 0; v12 ^= v1; v12 = (v12 >>> 8) | (v12 << 24);
    v11 = (v11 + v12) | 0; v6 ^= v11; v6 = (v6 >>> 7) | (v6 << 25);
    // G(v2, v7, v8, v13)
    v2 = (v2 + v7 + m[SIGMA[s + 12]!]!) | 0; v13 ^= v2; v13 = (v13 >>> 16) | (v13 << 16);
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 12) | (v7 << 20);
    v2 = (v2 + v7 + m[SIGMA[s + 13]!]!) | 0; v13 ^= v2; v13 = (v13 >>> 8) | (v13 << 24);
    v8 = (v8 + v13) | 0; v7 ^= v8; v7 = (v7 >>> 7) | (v7 << 25);
    // G(v3, v4, v9, v14)
    v3 = (v3 + v4 + m[SIGMA[s + 14]!]!) | 0; v14 ^= v3; v14 = (v14 >>> 16) | (v14 << 16);
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 12) | (v4 << 20);
    v3 = (v3 + v4 + m[SIGMA[s + 15]!]!) | 0; v14 ^= v3; v14 = (v14 >>> 8) | (v14 << 24);
    v9 = (v9 + v14) | 0; v4 ^= v9; v4 = (v4 >>> 7) | (v4 << 25);
  }
  h[0] = h[0]! ^ v0 ^ v8;
  h[1] = h[1]! ^ v1 ^ v9;
  h[2] = h[2]! ^ v2 ^ v10;
  h[3] = h[3]! ^ v3 ^ v11;
  h[4] = h[4]! ^ v4 ^ v12;
  h[5] = h[5]! ^ v5 ^ v13;
  h[6] = h[6]! ^ v6 ^ v14;
  h[7] = h[7]! ^ v7 ^ v15;
}

/**
 * Incremental BLAKE2s: `new Blake2s(outLen, key?)`, `update()` any number of times, `digest()`.
 *
 * @example
 * ```ts
 * import { Blake2s } from "./blake2s.ts";
 * const h = new Blake2s(32).update(new TextEncoder().encode("abc")).digest();
 * // h = 508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982 (RFC 7693 Appendix B)
 * ```
 */
export class Blake2s {
  private readonly h = new Uint32Array(8);
  private readonly buf = new Uint8Array(64);
  private n = 0;
  private t = 0;
  /** Digest length in bytes (1..32). */
  readonly outLen: number;

  /**
   * A hash of `outLen` bytes, keyed when `key` (up to 32 bytes) is given.
   *
   * @param outLen Digest length in bytes (1..32).
   * @param key Optional key for the keyed mode.
   */
  constructor(outLen = 32, key?: Uint8Array) {
    const kl = key ? key.length : 0;
    if (!(outLen >= 1 && outLen <= 32)) throw new RangeError(`BLAKE2s output length ${outLen} not in 1..32`);
    if (kl > 32) throw new RangeError(`BLAKE2s key length ${kl} not in 0..32`);
    this.outLen = outLen;
    this.h.set(IV);
    this.h[0] = this.h[0]! ^ 0x01010000 ^ (kl << 8) ^ outLen;
    if (key && kl) {
      this.buf.set(key);
      this.n = 64;
    }
  }

  /** Adds bytes. */
  update(data: Uint8Array, off = 0, len = data.length - off): this {
    let i = off;
    const end = off + len;
    while (i < end) {
      if (this.n === 64) {
        this.t += 64;
        compress(this.h, this.buf, 0, this.t, false);
        this.n = 0;
      }
      // Whole blocks straight from the input when more data follows them.
      if (this.n === 0 && end - i > 64) {
        this.t += 64;
        compress(this.h, data, i, this.t, false);
        i += 64;
        continue;
      }
      const take = Math.min(64 - this.n, end - i);
      this.buf.set(data.subarray(i, i + take), this.n);
      this.n += take;
      i += take;
    }
    return this;
  }

  /** Finishes into `out` (a new array of outLen bytes when absent). The object is spent afterwards. */
  digest(out: Uint8Array = new Uint8Array(this.outLen), off = 0): Uint8Array {
    this.t += this.n;
    this.buf.fill(0, this.n);
    compress(this.h, this.buf, 0, this.t, true);
    for (let i = 0; i < this.outLen; i++) out[off + i] = (this.h[i >> 2]! >>> (8 * (i & 3))) & 0xff;
    return out;
  }
}

/**
 * BLAKE2s-256 of the concatenation of `parts` (WireGuard's HASH).
 *
 * @example
 * ```ts
 * import { hash } from "./blake2s.ts";
 * hash(new TextEncoder().encode("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s")).length; // 32
 * ```
 */
export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = new Blake2s(32);
  for (const p of parts) h.update(p);
  return h.digest();
}

/**
 * Keyed BLAKE2s with a 16-byte output (WireGuard's MAC: mac1, mac2, cookies).
 *
 * @example
 * ```ts
 * import { mac } from "./blake2s.ts";
 * mac(new Uint8Array(32), new Uint8Array(116)).length; // 16
 * ```
 */
export function mac(key: Uint8Array, data: Uint8Array, out?: Uint8Array, outOff = 0): Uint8Array {
  return new Blake2s(16, key).update(data).digest(out, outOff);
}

const ipad = new Uint8Array(64);
const opad = new Uint8Array(64);

/**
 * HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256, 64-byte blocks) of the concatenation of `parts`.
 *
 * @example
 * ```ts
 * import { hmac } from "./blake2s.ts";
 * hmac(new Uint8Array(32), new Uint8Array([1])).length; // 32
 * ```
 */
export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  let k = key;
  if (k.length > 64) k = hash(k);
  ipad.fill(0x36);
  opad.fill(0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i] = ipad[i]! ^ k[i]!;
    opad[i] = opad[i]! ^ k[i]!;
  }
  const inner = new Blake2s(32).update(ipad);
  for (const p of parts) inner.update(p);
  const ih = inner.digest();
  return new Blake2s(32).update(opad).update(ih).digest();
}

const ONE = new Uint8Array([1]);
const TWO = new Uint8Array([2]);
const THREE = new Uint8Array([3]);

/**
 * WireGuard's KDF_n (HKDF with HMAC-BLAKE2s): τ0 = HMAC(key, input), τ1 = HMAC(τ0, 0x1),
 * τi = HMAC(τ0, τ(i-1) || i). Returns [τ1 .. τn].
 *
 * @example
 * ```ts
 * import { kdf } from "./blake2s.ts";
 * const [ck, k] = kdf(2, new Uint8Array(32), new Uint8Array(32));
 * ```
 */
export function kdf(n: 1 | 2 | 3, key: Uint8Array, input: Uint8Array): Uint8Array[] {
  const prk = hmac(key, input);
  const t1 = hmac(prk, ONE);
  if (n === 1) return [t1];
  const t2 = hmac(prk, t1, TWO);
  if (n === 2) return [t1, t2];
  return [t1, t2, hmac(prk, t2, THREE)];
}
