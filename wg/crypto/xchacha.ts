/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) on top of a native ChaCha20-Poly1305: HChaCha20
 * in pure TypeScript derives the subkey from the first 16 nonce bytes; the last 8 become the
 * IETF nonce `0^32 || n[16..24]`. WireGuard uses it for cookie replies only.
 *
 * @module
 */
import type { NativeCrypto } from "../../ffi/crypto.ts";

const s = new Uint32Array(16);

function rotl(x: number, n: number): number {
  return (x << n) | (x >>> (32 - n));
}

function qr(a: number, b: number, c: number, d: number): void {
  s[a] = (s[a]! + s[b]!) | 0; s[d] = rotl(s[d]! ^ s[a]!, 16);
  s[c] = (s[c]! + s[d]!) | 0; s[b] = rotl(s[b]! ^ s[c]!, 12);
  s[a] = (s[a]! + s[b]!) | 0; s[d] = rotl(s[d]! ^ s[a]!, 8);
  s[c] = (s[c]! + s[d]!) | 0; s[b] = rotl(s[b]! ^ s[c]!, 7);
}

const le32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

/**
 * HChaCha20(key, nonce16) -> 32-byte subkey.
 *
 * @example
 * ```ts
 * import { hchacha20 } from "./xchacha.ts";
 * hchacha20(new Uint8Array(32), new Uint8Array(16)).length; // 32
 * ```
 */
export function hchacha20(key: Uint8Array, nonce: Uint8Array): Uint8Array {
  s[0] = 0x61707865; s[1] = 0x3320646e; s[2] = 0x79622d32; s[3] = 0x6b206574;
  for (let i = 0; i < 8; i++) s[4 + i] = le32(key, i * 4);
  for (let i = 0; i < 4; i++) s[12 + i] = le32(nonce, i * 4);
  for (let i = 0; i < 10; i++) {
    qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15);
    qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14);
  }
  const out = new Uint8Array(32);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) dv.setUint32(i * 4, s[i]!, true);
  for (let i = 0; i < 4; i++) dv.setUint32(16 + i * 4, s[12 + i]!, true);
  return out;
}

function subNonce(nonce: Uint8Array): Uint8Array {
  const n = new Uint8Array(12);
  n.set(nonce.subarray(16, 24), 4);
  return n;
}

/**
 * XChaCha20-Poly1305 seal: returns ciphertext || tag.
 *
 * @example
 * ```ts
 * import { xseal, xopen } from "./xchacha.ts";
 * import { loadSodium } from "../../ffi/crypto.ts";
 * const na = await loadSodium();
 * const key = new Uint8Array(32), nonce24 = new Uint8Array(24), ad = new Uint8Array(16);
 * const c = xseal(na, key, nonce24, Uint8Array.of(1, 2, 3), ad);
 * xopen(na, key, nonce24, c, ad); // [1, 2, 3]
 * ```
 */
export function xseal(na: NativeCrypto, key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, ad: Uint8Array): Uint8Array {
  const k = na.key(hchacha20(key, nonce));
  try {
    const out = new Uint8Array(plain.length + 16);
    na.seal(k, 0, out, 0, plain, 0, plain.length, ad, subNonce(nonce));
    return out;
  } finally {
    k.free();
  }
}

/** XChaCha20-Poly1305 open: the plaintext, or null when the tag does not verify. */
export function xopen(na: NativeCrypto, key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array | null {
  if (sealed.length < 16) return null;
  const k = na.key(hchacha20(key, nonce));
  try {
    const out = new Uint8Array(sealed.length - 16);
    return na.open(k, 0, out, 0, sealed, 0, sealed.length, ad, subNonce(nonce)) ? out : null;
  } finally {
    k.free();
  }
}
