/**
 * The system's crypto libraries through the runtime's FFI, for the WireGuard data path:
 * ChaCha20-Poly1305 (RFC 8439) and X25519 (RFC 7748) from libsodium or libcrypto (OpenSSL 3).
 * Like ffi/bun.ts and ffi/deno.ts, this is one of the few files that touch a runtime's FFI;
 * nothing outside ffi/ sees bun:ffi or Deno.dlopen.
 *
 * Which library serves the data path is decided by measurement (numbers in
 * wg/crypto/provider.ts): both are bound here behind one {@link NativeCrypto} shape;
 * wg/crypto/provider.ts picks one.
 *
 * Hot-path shape: an {@link AeadKey} holds the key (libsodium) or an initialised
 * EVP_CIPHER_CTX (libcrypto) so a packet costs one FFI call (libsodium) or four (libcrypto:
 * set IV, update, final, tag), with pointers taken from the caller's buffers: no allocation.
 *
 * @module
 */

/** Library names to try, most specific first. */
export const SODIUM_NAMES = ["libsodium.so.23", "libsodium.so.26", "libsodium.so"] as const;
/** OpenSSL 3's libcrypto. */
export const LIBCRYPTO_NAMES = ["libcrypto.so.3", "libcrypto.so"] as const;

/** A ChaCha20-Poly1305 key ready for the library (copied: later changes to the bytes do not count). */
export interface AeadKey {
  /** Zeroes the key material and releases native state. Idempotent. */
  free(): void;
}

/** ChaCha20-Poly1305 and X25519 from one native library. */
export interface NativeCrypto {
  /** Which library backs it. */
  readonly name: "libsodium" | "libcrypto";
  /** The shared object that was loaded. */
  readonly path: string;
  /** Prepares a 32-byte key. */
  key(key: Uint8Array): AeadKey;
  /**
   * Seals `src[sOff, sOff+len)` into `dst[dOff, dOff+len+16)` (ciphertext then tag) with the
   * 96-bit nonce `0^32 || le64(counter)` (WireGuard's and Noise's) and optional additional data.
   * `dst` may be `src` at the same offset (in place). `nonce` (12 bytes), when given, replaces
   * the counter form (test vectors use arbitrary nonces).
   */
  seal(k: AeadKey, counter: number, dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, len: number, ad?: Uint8Array | null, nonce?: Uint8Array): void;
  /**
   * Opens `src[sOff, sOff+clen)` (ciphertext with its 16-byte tag) into `dst[dOff, dOff+clen-16)`.
   * Returns false (and leaves no trusted plaintext) when the tag does not verify.
   */
  open(k: AeadKey, counter: number, dst: Uint8Array, dOff: number, src: Uint8Array, sOff: number, clen: number, ad?: Uint8Array | null, nonce?: Uint8Array): boolean;
  /** X25519(scalar, point) into `out` (32 bytes). False when the result is all zeros (a low-order point). */
  x25519(out: Uint8Array, scalar: Uint8Array, point: Uint8Array): boolean;
  /** X25519(scalar, 9): the public key of a private key. */
  x25519Base(out: Uint8Array, scalar: Uint8Array): void;
}

// --- runtime binding ----------------------------------------------------------------------------

/** Argument/return types of the crypto symbols. "p" = pointer (buffer or handle), "n" = size_t/u64, "i" = int. */
type T = "p" | "n" | "i" | "h";
interface Decl {
  args: T[];
  ret: T | "v";
}
type Fn = (...a: unknown[]) => unknown;
interface Bound {
  path: string;
  fn: Record<string, Fn>;
  /** Pointer to `buf[off]` in the form the bound functions take. */
  at(buf: Uint8Array, off: number): unknown;
  /** Null pointer for this runtime. */
  nul: unknown;
}

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

async function bindBun(names: readonly string[], decl: Record<string, Decl>): Promise<Bound> {
  const { dlopen, ptr, FFIType } = await import("bun:ffi");
  const map = (t: T | "v") => (t === "i" ? FFIType.i32 : t === "v" ? FFIType.void : FFIType.ptr);
  const d: Record<string, { args: number[]; returns: number }> = {};
  for (const [k, v] of Object.entries(decl)) d[k] = { args: v.args.map(map), returns: map(v.ret) };
  let err: unknown;
  for (const path of names) {
    try {
      const lib = dlopen(path, d as never);
      return {
        path,
        fn: lib.symbols as unknown as Record<string, Fn>,
        at: (buf, off) => {
          void buf.buffer; // shared/notes pitfall 1: materialise before taking an address
          return ptr(buf, off);
        },
        nul: null,
      };
    } catch (e) {
      err = e;
    }
  }
  throw new Error(`cannot load ${names[0]} (${String((err as Error)?.message ?? err)})`);
}

interface DenoLike {
  dlopen(path: string, s: Record<string, unknown>): { symbols: Record<string, Fn> };
}

function bindDeno(names: readonly string[], decl: Record<string, Decl>): Bound {
  const Deno = (globalThis as unknown as { Deno: DenoLike }).Deno;
  const map = (t: T | "v") => (t === "i" ? "i32" : t === "v" ? "void" : t === "n" ? "u64" : t === "h" ? "pointer" : "buffer");
  const d: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(decl)) d[k] = { parameters: v.args.map(map), result: map(v.ret) };
  let err: unknown;
  for (const path of names) {
    try {
      const lib = Deno.dlopen(path, d);
      const fn: Record<string, Fn> = {};
      for (const [k, v] of Object.entries(decl)) {
        const f = lib.symbols[k]!;
        const wide = v.args.map((t) => t === "n");
        fn[k] = wide.some(Boolean) ? (...a: unknown[]) => f(...a.map((x, i) => (wide[i] ? BigInt(x as number) : x))) : f;
      }
      return { path, fn, at: (buf, off) => (off ? buf.subarray(off) : buf), nul: null };
    } catch (e) {
      err = e;
    }
  }
  throw new Error(`cannot load ${names[0]} (${String((err as Error)?.message ?? err)})`);
}

function bind(names: readonly string[], decl: Record<string, Decl>): Promise<Bound> {
  return isBun ? bindBun(names, decl) : Promise.resolve(bindDeno(names, decl));
}

/** A reusable scratch area over 1000 bytes, so its address never moves (shared/notes pitfall 1). */
function scratch(): { buf: Uint8Array; view: DataView } {
  const buf = new Uint8Array(new ArrayBuffer(1024));
  return { buf, view: new DataView(buf.buffer) };
}

// --- libsodium ------------------------------------------------------------------------------------

const SODIUM_DECL: Record<string, Decl> = {
  sodium_init: { args: [], ret: "i" },
  // (c, clen_p, m, mlen, ad, adlen, nsec, npub, k)
  crypto_aead_chacha20poly1305_ietf_encrypt: { args: ["p", "p", "p", "n", "p", "n", "p", "p", "p"], ret: "i" },
  // (m, mlen_p, nsec, c, clen, ad, adlen, npub, k)
  crypto_aead_chacha20poly1305_ietf_decrypt: { args: ["p", "p", "p", "p", "n", "p", "n", "p", "p"], ret: "i" },
  crypto_scalarmult_curve25519: { args: ["p", "p", "p"], ret: "i" },
  crypto_scalarmult_curve25519_base: { args: ["p", "p"], ret: "i" },
};

class SodiumKey implements AeadKey {
  /** Key bytes live in a private >1000-byte buffer: a stable address for every call. */
  readonly mem = new Uint8Array(new ArrayBuffer(1024));
  constructor(key: Uint8Array) {
    if (key.length !== 32) throw new RangeError(`ChaCha20-Poly1305 key must be 32 bytes, got ${key.length}`);
    this.mem.set(key);
  }
  free(): void {
    this.mem.fill(0);
  }
}

/**
 * Loads libsodium. Rejects with an Error naming the library when it is not installed.
 *
 * @example
 * ```ts
 * import { loadSodium } from "./crypto.ts";
 * const na = await loadSodium();
 * const k = na.key(new Uint8Array(32));
 * const pkt = new Uint8Array(64 + 16);
 * na.seal(k, 0, pkt, 0, pkt, 0, 64);
 * na.open(k, 0, pkt, 0, pkt, 0, 80); // true
 * ```
 */
export async function loadSodium(): Promise<NativeCrypto> {
  const b = await bind(SODIUM_NAMES, SODIUM_DECL);
  const f = b.fn;
  if ((f.sodium_init!() as number) < 0) throw new Error("sodium_init failed");
  const { buf: nonce, view } = scratch();
  const noncePtr = b.at(nonce, 0);
  const at = b.at;
  const nul = b.nul;
  const enc = f.crypto_aead_chacha20poly1305_ietf_encrypt!;
  const dec = f.crypto_aead_chacha20poly1305_ietf_decrypt!;
  const keyPtr = new WeakMap<SodiumKey, unknown>();
  const kp = (k: AeadKey): unknown => {
    let p = keyPtr.get(k as SodiumKey);
    if (p === undefined) {
      p = at((k as SodiumKey).mem, 0);
      keyPtr.set(k as SodiumKey, p);
    }
    return p;
  };
  const setNonce = (counter: number, n?: Uint8Array) => {
    if (n) return nonce.set(n.subarray(0, 12));
    view.setUint32(0, 0, true);
    view.setUint32(4, counter >>> 0, true);
    view.setUint32(8, Math.floor(counter / 4294967296), true);
  };
  return {
    name: "libsodium",
    path: b.path,
    key: (key) => new SodiumKey(key),
    seal(k, counter, dst, dOff, src, sOff, len, ad, n) {
      if (dOff + len + 16 > dst.length || sOff + len > src.length) throw new RangeError("seal: buffer too small");
      setNonce(counter, n);
      enc(at(dst, dOff), nul, at(src, sOff), len, ad ? at(ad, 0) : nul, ad ? ad.length : 0, nul, noncePtr, kp(k));
    },
    open(k, counter, dst, dOff, src, sOff, clen, ad, n) {
      if (clen < 16 || dOff + clen - 16 > dst.length || sOff + clen > src.length) return false;
      setNonce(counter, n);
      return dec(at(dst, dOff), nul, nul, at(src, sOff), clen, ad ? at(ad, 0) : nul, ad ? ad.length : 0, noncePtr, kp(k)) === 0;
    },
    x25519(out, scalar, point) {
      return (f.crypto_scalarmult_curve25519!(out, scalar, point) as number) === 0;
    },
    x25519Base(out, scalar) {
      f.crypto_scalarmult_curve25519_base!(out, scalar);
    },
  };
}

// --- libcrypto (OpenSSL 3) --------------------------------------------------------------------------

const LIBCRYPTO_DECL: Record<string, Decl> = {
  EVP_chacha20_poly1305: { args: [], ret: "h" },
  EVP_CIPHER_CTX_new: { args: [], ret: "h" },
  EVP_CIPHER_CTX_free: { args: ["h"], ret: "v" },
  // (ctx, cipher, engine, key, iv, enc)
  EVP_CipherInit_ex: { args: ["h", "h", "h", "p", "p", "i"], ret: "i" },
  // (ctx, out, outl*, in, inl)
  EVP_CipherUpdate: { args: ["h", "p", "p", "p", "i"], ret: "i" },
  EVP_CipherFinal_ex: { args: ["h", "p", "p"], ret: "i" },
  EVP_CIPHER_CTX_ctrl: { args: ["h", "i", "i", "p"], ret: "i" },
  // X25519 through EVP_PKEY
  EVP_PKEY_new_raw_private_key: { args: ["i", "h", "p", "n"], ret: "h" },
  EVP_PKEY_new_raw_public_key: { args: ["i", "h", "p", "n"], ret: "h" },
  EVP_PKEY_get_raw_public_key: { args: ["h", "p", "p"], ret: "i" },
  EVP_PKEY_free: { args: ["h"], ret: "v" },
  EVP_PKEY_CTX_new: { args: ["h", "h"], ret: "h" },
  EVP_PKEY_CTX_free: { args: ["h"], ret: "v" },
  EVP_PKEY_derive_init: { args: ["h"], ret: "i" },
  EVP_PKEY_derive_set_peer: { args: ["h", "h"], ret: "i" },
  EVP_PKEY_derive: { args: ["h", "p", "p"], ret: "i" },
};

const EVP_CTRL_AEAD_GET_TAG = 0x10;
const EVP_CTRL_AEAD_SET_TAG = 0x11;
const EVP_PKEY_X25519 = 1034;

/**
 * Loads OpenSSL 3's libcrypto. Rejects with an Error naming the library when it is missing.
 *
 * @example
 * ```ts
 * import { loadLibcrypto } from "./crypto.ts";
 * const na = await loadLibcrypto();
 * const pub = new Uint8Array(32);
 * na.x25519Base(pub, crypto.getRandomValues(new Uint8Array(32)));
 * ```
 */
export async function loadLibcrypto(): Promise<NativeCrypto> {
  const b = await bind(LIBCRYPTO_NAMES, LIBCRYPTO_DECL);
  const f = b.fn;
  const at = b.at;
  const nul = b.nul;
  const cipher = f.EVP_chacha20_poly1305!();
  if (!cipher) throw new Error("libcrypto has no ChaCha20-Poly1305");
  const { buf: nonce, view } = scratch();
  const noncePtr = at(nonce, 0);
  const outl = at(nonce, 16); // int* scratch
  const lenp = at(nonce, 32); // size_t* scratch
  const init = f.EVP_CipherInit_ex!;
  const update = f.EVP_CipherUpdate!;
  const final = f.EVP_CipherFinal_ex!;
  const ctrl = f.EVP_CIPHER_CTX_ctrl!;
  class OsslKey implements AeadKey {
    enc: unknown;
    dec: unknown;
    constructor(key: Uint8Array) {
      if (key.length !== 32) throw new RangeError(`ChaCha20-Poly1305 key must be 32 bytes, got ${key.length}`);
      const kb = new Uint8Array(new ArrayBuffer(1024));
      kb.set(key);
      this.enc = f.EVP_CIPHER_CTX_new!();
      this.dec = f.EVP_CIPHER_CTX_new!();
      if (!this.enc || !this.dec) throw new Error("EVP_CIPHER_CTX_new failed");
      init(this.enc, cipher, nul, at(kb, 0), nul, 1);
      init(this.dec, cipher, nul, at(kb, 0), nul, 0);
      kb.fill(0);
    }
    free(): void {
      if (this.enc) f.EVP_CIPHER_CTX_free!(this.enc);
      if (this.dec) f.EVP_CIPHER_CTX_free!(this.dec);
      this.enc = this.dec = null;
    }
  }
  const setNonce = (counter: number, n?: Uint8Array) => {
    if (n) return nonce.set(n.subarray(0, 12));
    view.setUint32(0, 0, true);
    view.setUint32(4, counter >>> 0, true);
    view.setUint32(8, Math.floor(counter / 4294967296), true);
  };
  const derive = (out: Uint8Array, priv: Uint8Array, pubPoint: Uint8Array | null): boolean => {
    const sk = f.EVP_PKEY_new_raw_private_key!(EVP_PKEY_X25519, nul, priv, 32);
    if (!sk) return false;
    try {
      if (!pubPoint) {
        view.setBigUint64(32, 32n, true);
        return f.EVP_PKEY_get_raw_public_key!(sk, out, lenp) === 1;
      }
      const pk = f.EVP_PKEY_new_raw_public_key!(EVP_PKEY_X25519, nul, pubPoint, 32);
      if (!pk) return false;
      const ctx = f.EVP_PKEY_CTX_new!(sk, nul);
      try {
        view.setBigUint64(32, 32n, true);
        // OpenSSL refuses an all-zero shared secret (low-order point) in derive itself.
        return f.EVP_PKEY_derive_init!(ctx) === 1 && f.EVP_PKEY_derive_set_peer!(ctx, pk) === 1 && f.EVP_PKEY_derive!(ctx, out, lenp) === 1;
      } finally {
        f.EVP_PKEY_CTX_free!(ctx);
        f.EVP_PKEY_free!(pk);
      }
    } finally {
      f.EVP_PKEY_free!(sk);
    }
  };
  return {
    name: "libcrypto",
    path: b.path,
    key: (key) => new OsslKey(key),
    seal(k, counter, dst, dOff, src, sOff, len, ad, n) {
      if (dOff + len + 16 > dst.length || sOff + len > src.length) throw new RangeError("seal: buffer too small");
      const ctx = (k as OsslKey).enc;
      setNonce(counter, n);
      init(ctx, nul, nul, nul, noncePtr, 1);
      if (ad && ad.length) update(ctx, nul, outl, at(ad, 0), ad.length);
      if (len) update(ctx, at(dst, dOff), outl, at(src, sOff), len);
      final(ctx, at(dst, dOff + len), outl);
      ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, at(dst, dOff + len));
    },
    open(k, counter, dst, dOff, src, sOff, clen, ad, n) {
      if (clen < 16 || dOff + clen - 16 > dst.length || sOff + clen > src.length) return false;
      const ctx = (k as OsslKey).dec;
      const len = clen - 16;
      setNonce(counter, n);
      init(ctx, nul, nul, nul, noncePtr, 0);
      // The tag is read before the update: in place, the update overwrites nothing past len.
      ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, 16, at(src, sOff + len));
      if (ad && ad.length) update(ctx, nul, outl, at(ad, 0), ad.length);
      if (len) update(ctx, at(dst, dOff), outl, at(src, sOff), len);
      return final(ctx, at(nonce, 64), outl) === 1;
    },
    x25519(out, scalar, point) {
      return derive(out, scalar, point);
    },
    x25519Base(out, scalar) {
      if (!derive(out, scalar, null)) throw new Error("X25519 public key derivation failed");
    },
  };
}
