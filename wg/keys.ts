/**
 * WireGuard keys: 32 bytes, written as standard base64 (44 characters) like `wg genkey`.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { WgCrypto } from "./crypto/provider.ts";

/** Bytes of a key. */
export const KEY_LEN = 32;

/**
 * Parses a base64 key (as `wg` prints them), refusing anything but 32 bytes.
 *
 * @example
 * ```ts
 * import { parseKey } from "./keys.ts";
 * parseKey("YNqHbfBQKaGvzefSSHhWZ5PsQ0sYKBFfhL+9ZXlMtWs=").length; // 32
 * ```
 */
export function parseKey(text: string, what = "key"): Uint8Array {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/.test(t)) {
    throw new UsageError(`Invalid ${what} "${shorten(t)}": expected 44 characters of base64 (as wg genkey prints)`);
  }
  return Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
}

/**
 * Parses a 64-character hex key (the UAPI's form).
 *
 * @example
 * ```ts
 * import { parseHexKey, hexKey } from "./keys.ts";
 * const hex = "e0".repeat(32);
 * hexKey(parseHexKey(hex)) === hex; // true
 * ```
 */
export function parseHexKey(text: string, what = "key"): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) throw new UsageError(`Invalid ${what} "${shorten(text)}": expected 64 hex digits`);
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function shorten(s: string): string {
  return s.length > 12 ? s.slice(0, 6) + "…" : s;
}

/**
 * Base64 of a key.
 *
 * @example
 * ```ts
 * import { formatKey } from "./keys.ts";
 * formatKey(new Uint8Array(32)); // "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
 * ```
 */
export function formatKey(key: Uint8Array): string {
  let s = "";
  for (const b of key) s += String.fromCharCode(b);
  return btoa(s);
}

/**
 * Lower-case hex of a key (UAPI).
 *
 * @example
 * ```ts
 * import { hexKey } from "./keys.ts";
 * hexKey(new Uint8Array(32).fill(0xab)).slice(0, 8); // "abababab"
 * ```
 */
export function hexKey(key: Uint8Array): string {
  let s = "";
  for (const b of key) s += b.toString(16).padStart(2, "0");
  return s;
}

/** True when every byte is 0 (an unset key). */
export function isZeroKey(key: Uint8Array): boolean {
  let acc = 0;
  for (const b of key) acc |= b;
  return acc === 0;
}

/**
 * Clamps a Curve25519 private key in place (RFC 7748 §5), as `wg genkey` does.
 *
 * @example
 * ```ts
 * import { clamp } from "./keys.ts";
 * const k = clamp(new Uint8Array(32).fill(0xff));
 * [k[0], k[31]]; // [248, 127]
 * ```
 */
export function clamp(key: Uint8Array): Uint8Array {
  key[0] = key[0]! & 248;
  key[31] = (key[31]! & 127) | 64;
  return key;
}

/**
 * A new random private key, clamped (`wg genkey`).
 *
 * @example
 * ```ts
 * import { generatePrivateKey, formatKey } from "./keys.ts";
 * formatKey(generatePrivateKey()).length; // 44
 * ```
 */
export function generatePrivateKey(): Uint8Array {
  return clamp(crypto.getRandomValues(new Uint8Array(KEY_LEN)));
}

/**
 * A new random preshared key (`wg genpsk`).
 *
 * @example
 * ```ts
 * import { formatKey, generatePresharedKey } from "./keys.ts";
 * formatKey(generatePresharedKey()).length; // 44
 * ```
 */
export function generatePresharedKey(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(KEY_LEN));
}

/**
 * The public key of a private key (`wg pubkey`).
 *
 * @example
 * ```ts
 * import { publicKey } from "./keys.ts";
 * import { loadWgCrypto } from "./crypto/provider.ts";
 * const pub = publicKey(await loadWgCrypto(), new Uint8Array(32).fill(1));
 * ```
 */
export function publicKey(c: WgCrypto, priv: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  c.dh.x25519Base(out, priv);
  return out;
}
