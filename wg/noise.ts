/**
 * Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, the handshake of WireGuard (whitepaper §5.4), as pure
 * functions over explicit state: no clocks, no randomness, no I/O (the caller passes ephemeral
 * keys and timestamps), so every step has a known answer.
 *
 *   <- s
 *   ...
 *   -> e, es, s, ss, {timestamp}
 *   <- e, ee, se, psk, {}
 *
 * The WireGuard message framing (type, indices, mac1/mac2) lives in wg/handshake.ts.
 *
 * @module
 */
import { hash, kdf } from "./crypto/blake2s.ts";
import type { WgCrypto } from "./crypto/provider.ts";

const enc = new TextEncoder();
/** The Noise protocol name WireGuard uses. */
export const CONSTRUCTION: Uint8Array = enc.encode("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s");
/** WireGuard's prologue. */
export const IDENTIFIER: Uint8Array = enc.encode("WireGuard v1 zx2c4 Jason@zx2c4.com");
const EMPTY = new Uint8Array(0);

/** Chaining key and transcript hash. */
export interface SymmetricState {
  /** Chaining key (32 bytes). */
  ck: Uint8Array;
  /** Transcript hash (32 bytes). */
  h: Uint8Array;
}

/**
 * The state both sides start from: ck = HASH(name), h = HASH(ck || prologue), then the
 * responder's static key mixed in (the "<- s" pre-message).
 *
 * @example
 * ```ts
 * import { initialState, IDENTIFIER } from "./noise.ts";
 * const st = initialState(IDENTIFIER, new Uint8Array(32));
 * st.h.length; // 32
 * ```
 */
export function initialState(prologue: Uint8Array, responderStatic: Uint8Array): SymmetricState {
  const ck = hash(CONSTRUCTION);
  const h = hash(hash(ck, prologue), responderStatic);
  return { ck, h };
}

function aeadSeal(c: WgCrypto, key: Uint8Array, plain: Uint8Array, ad: Uint8Array): Uint8Array {
  const k = c.aead.key(key);
  try {
    const out = new Uint8Array(plain.length + 16);
    c.aead.seal(k, 0, out, 0, plain, 0, plain.length, ad);
    return out;
  } finally {
    k.free();
  }
}

function aeadOpen(c: WgCrypto, key: Uint8Array, sealed: Uint8Array, ad: Uint8Array): Uint8Array | null {
  if (sealed.length < 16) return null;
  const k = c.aead.key(key);
  try {
    const out = new Uint8Array(sealed.length - 16);
    return c.aead.open(k, 0, out, 0, sealed, 0, sealed.length, ad) ? out : null;
  } finally {
    k.free();
  }
}

function dh(c: WgCrypto, priv: Uint8Array, pub: Uint8Array): Uint8Array | null {
  const out = new Uint8Array(32);
  return c.dh.x25519(out, priv, pub) ? out : null;
}

/** Everything message 1 carries and what the initiator keeps. */
export interface Message1 {
  /** e.pub (32) || AEAD(s.pub) (48) || AEAD(payload) (payload + 16). */
  body: Uint8Array;
  /** The initiator's state after message 1. */
  state: SymmetricState;
  /** The initiator's ephemeral private key (32 bytes). */
  ephemeralPrivate: Uint8Array;
}

/**
 * Initiator, message 1: `e, es, s, ss, {payload}`. Returns null only when a DH yields zero
 * (a low-order responder key).
 *
 * @example
 * ```ts
 * import { writeMessage1, initialState, IDENTIFIER } from "./noise.ts";
 * import { loadWgCrypto } from "./crypto/provider.ts";
 * import { generatePrivateKey, publicKey } from "./keys.ts";
 * import { tai64n } from "./tai64n.ts";
 * const c = await loadWgCrypto();
 * const sPriv = generatePrivateKey(), rs = publicKey(c, generatePrivateKey());
 * const m1 = writeMessage1(c, initialState(IDENTIFIER, rs), sPriv, publicKey(c, sPriv), rs, generatePrivateKey(), tai64n(Date.now()));
 * m1!.body.length; // 108
 * ```
 */
export function writeMessage1(
  c: WgCrypto,
  st: SymmetricState,
  staticPrivate: Uint8Array,
  staticPublic: Uint8Array,
  remoteStatic: Uint8Array,
  ephemeralPrivate: Uint8Array,
  payload: Uint8Array,
  precomputedSS?: Uint8Array,
): Message1 | null {
  const epub = new Uint8Array(32);
  c.dh.x25519Base(epub, ephemeralPrivate);
  let h = hash(st.h, epub);
  let [ck] = kdf(1, st.ck, epub) as [Uint8Array];
  const es = dh(c, ephemeralPrivate, remoteStatic);
  if (!es) return null;
  let k: Uint8Array;
  [ck, k] = kdf(2, ck, es) as [Uint8Array, Uint8Array];
  const encS = aeadSeal(c, k, staticPublic, h);
  h = hash(h, encS);
  const ss = precomputedSS ?? dh(c, staticPrivate, remoteStatic);
  if (!ss) return null;
  [ck, k] = kdf(2, ck, ss) as [Uint8Array, Uint8Array];
  const encP = aeadSeal(c, k, payload, h);
  h = hash(h, encP);
  const body = new Uint8Array(32 + encS.length + encP.length);
  body.set(epub, 0);
  body.set(encS, 32);
  body.set(encP, 32 + encS.length);
  return { body, state: { ck, h }, ephemeralPrivate };
}

/** What the responder learns from message 1. */
export interface ReadMessage1 {
  /** The initiator's ephemeral public key (32 bytes). */
  remoteEphemeral: Uint8Array;
  /** The initiator's static public key (32 bytes). */
  remoteStatic: Uint8Array;
  /** The decrypted payload (the TAI64N timestamp). */
  payload: Uint8Array;
  /** The responder's state after message 1. */
  state: SymmetricState;
}

/**
 * Responder, message 1. `payloadLen` is the plaintext payload size (12 for WireGuard's TAI64N).
 * `precomputedSS(remoteStatic)` may return the cached static-static DH of a known peer, or null
 * for an unknown one (the message is then refused before the last DH).
 */
export function readMessage1(
  c: WgCrypto,
  st: SymmetricState,
  staticPrivate: Uint8Array,
  body: Uint8Array,
  payloadLen: number,
  precomputedSS?: (remoteStatic: Uint8Array) => Uint8Array | null,
): ReadMessage1 | null {
  if (body.length !== 32 + 48 + payloadLen + 16) return null;
  const re = body.slice(0, 32);
  let h = hash(st.h, re);
  let [ck] = kdf(1, st.ck, re) as [Uint8Array];
  const es = dh(c, staticPrivate, re);
  if (!es) return null;
  let k: Uint8Array;
  [ck, k] = kdf(2, ck, es) as [Uint8Array, Uint8Array];
  const encS = body.subarray(32, 80);
  const rs = aeadOpen(c, k, encS, h);
  if (!rs) return null;
  h = hash(h, encS);
  const ss = precomputedSS ? precomputedSS(rs) : dh(c, staticPrivate, rs);
  if (!ss) return null;
  [ck, k] = kdf(2, ck, ss) as [Uint8Array, Uint8Array];
  const encP = body.subarray(80);
  const payload = aeadOpen(c, k, encP, h);
  if (!payload) return null;
  h = hash(h, encP);
  return { remoteEphemeral: re, remoteStatic: rs, payload, state: { ck, h } };
}

/** Message 2 and the responder's final state. */
export interface Message2 {
  /** e.pub (32) || AEAD(payload) (payload + 16). */
  body: Uint8Array;
  /** The responder's state after message 2 (split into the session keys). */
  state: SymmetricState;
}

/** Responder, message 2: `e, ee, se, psk, {payload}`. */
export function writeMessage2(
  c: WgCrypto,
  st: SymmetricState,
  remoteEphemeral: Uint8Array,
  remoteStatic: Uint8Array,
  ephemeralPrivate: Uint8Array,
  psk: Uint8Array,
  payload: Uint8Array = EMPTY,
): Message2 | null {
  const epub = new Uint8Array(32);
  c.dh.x25519Base(epub, ephemeralPrivate);
  let h = hash(st.h, epub);
  let [ck] = kdf(1, st.ck, epub) as [Uint8Array];
  const ee = dh(c, ephemeralPrivate, remoteEphemeral);
  const se = dh(c, ephemeralPrivate, remoteStatic);
  if (!ee || !se) return null;
  [ck] = kdf(1, ck, ee) as [Uint8Array];
  [ck] = kdf(1, ck, se) as [Uint8Array];
  const [ck2, t, k] = kdf(3, ck, psk) as [Uint8Array, Uint8Array, Uint8Array];
  h = hash(h, t);
  const encP = aeadSeal(c, k, payload, h);
  h = hash(h, encP);
  const body = new Uint8Array(32 + encP.length);
  body.set(epub, 0);
  body.set(encP, 32);
  return { body, state: { ck: ck2, h } };
}

/** Initiator, message 2: verifies it and returns the final state and the payload. */
export function readMessage2(
  c: WgCrypto,
  st: SymmetricState,
  staticPrivate: Uint8Array,
  ephemeralPrivate: Uint8Array,
  psk: Uint8Array,
  body: Uint8Array,
  payloadLen = 0,
): { state: SymmetricState; payload: Uint8Array; remoteEphemeral: Uint8Array } | null {
  if (body.length !== 32 + payloadLen + 16) return null;
  const re = body.slice(0, 32);
  let h = hash(st.h, re);
  let [ck] = kdf(1, st.ck, re) as [Uint8Array];
  const ee = dh(c, ephemeralPrivate, re);
  const se = dh(c, staticPrivate, re);
  if (!ee || !se) return null;
  [ck] = kdf(1, ck, ee) as [Uint8Array];
  [ck] = kdf(1, ck, se) as [Uint8Array];
  const [ck2, t, k] = kdf(3, ck, psk) as [Uint8Array, Uint8Array, Uint8Array];
  h = hash(h, t);
  const encP = body.subarray(32);
  const payload = aeadOpen(c, k, encP, h);
  if (!payload) return null;
  h = hash(h, encP);
  return { state: { ck: ck2, h }, payload, remoteEphemeral: re };
}

/**
 * Split: the two transport keys. The initiator sends with the first and receives with the
 * second; the responder the other way round.
 */
export function split(st: SymmetricState): [Uint8Array, Uint8Array] {
  return kdf(2, st.ck, EMPTY) as [Uint8Array, Uint8Array];
}
