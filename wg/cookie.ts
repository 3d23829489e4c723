/**
 * MAC1, MAC2 and cookie replies (whitepaper §5.4.4, §5.4.7): every handshake message carries
 * mac1 = MAC(HASH("mac1----" || receiver's public key), msg[0..mac1)), so a responder drops
 * messages not meant for it after one BLAKE2s. Under load, a responder also requires mac2 =
 * MAC(cookie, msg[0..mac2)), where the cookie is MAC(secret, source address) and reaches the
 * initiator only inside an XChaCha20-Poly1305 cookie reply sent to that address.
 *
 * @module
 */
import { hash, mac } from "./crypto/blake2s.ts";
import { xopen, xseal } from "./crypto/xchacha.ts";
import type { WgCrypto } from "./crypto/provider.ts";
import { MSG, SIZE } from "./constants.ts";

const enc = new TextEncoder();
const LABEL_MAC1 = enc.encode("mac1----");
const LABEL_COOKIE = enc.encode("cookie--");

/** mac1 sits 32 bytes before the end of a handshake message, mac2 16 bytes before. */
export function macOffsets(len: number): { mac1: number; mac2: number } {
  return { mac1: len - 32, mac2: len - 16 };
}

function equal16(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  let d = 0;
  for (let i = 0; i < 16; i++) d |= a[aOff + i]! ^ b[bOff + i]!;
  return d === 0;
}

/**
 * The responder's side: checks mac1/mac2 of incoming handshake messages and makes cookie replies.
 *
 * @example
 * ```ts
 * import { CookieChecker, CookieGenerator } from "./cookie.ts";
 * import { loadWgCrypto } from "./crypto/provider.ts";
 * const c = await loadWgCrypto();
 * const local = new Uint8Array(32).fill(7);
 * const cc = new CookieChecker(c, local);
 * const msg = new Uint8Array(148);
 * new CookieGenerator(c, local).addMacs(msg, 0);
 * cc.checkMac1(msg); // true
 * cc.checkMac1(new Uint8Array(148)); // false
 * ```
 */
export class CookieChecker {
  private mac1Key: Uint8Array;
  private cookieKey: Uint8Array;
  private secret = new Uint8Array(32);
  private secretAt = -Infinity;

  /**
   * A checker for the interface whose public key is `localPublic`.
   *
   * @param c The crypto provider.
   * @param localPublic The interface's public key (32 bytes).
   * @param refreshMs How often the cookie secret changes, in ms.
   */
  constructor(private readonly c: WgCrypto, localPublic: Uint8Array, private readonly refreshMs = 120_000) {
    this.mac1Key = hash(LABEL_MAC1, localPublic);
    this.cookieKey = hash(LABEL_COOKIE, localPublic);
  }

  /** Re-keys after the local private key changed. */
  setLocalPublic(localPublic: Uint8Array): void {
    this.mac1Key = hash(LABEL_MAC1, localPublic);
    this.cookieKey = hash(LABEL_COOKIE, localPublic);
  }

  /** mac1 of `msg` (a whole handshake message) is right. */
  checkMac1(msg: Uint8Array): boolean {
    const { mac1 } = macOffsets(msg.length);
    const m = mac(this.mac1Key, msg.subarray(0, mac1));
    return equal16(m, 0, msg, mac1);
  }

  /** The cookie for source address `src`, renewing the secret when it is older than `refreshMs`. */
  private cookieFor(src: Uint8Array, now: number): Uint8Array {
    if (now - this.secretAt > this.refreshMs) {
      crypto.getRandomValues(this.secret);
      this.secretAt = now;
    }
    return mac(this.secret, src);
  }

  /** mac2 of `msg` is right for a cookie of `src` (address || port bytes). */
  checkMac2(msg: Uint8Array, src: Uint8Array, now: number): boolean {
    if (now - this.secretAt > this.refreshMs) return false;
    const { mac2 } = macOffsets(msg.length);
    const m = mac(this.cookieFor(src, now), msg.subarray(0, mac2));
    return equal16(m, 0, msg, mac2);
  }

  /** A cookie reply to `msg` (whose sender index is at bytes 4..8) for source `src`. */
  createReply(msg: Uint8Array, src: Uint8Array, now: number): Uint8Array {
    const out = new Uint8Array(SIZE.COOKIE);
    out[0] = MSG.COOKIE;
    out.set(msg.subarray(4, 8), 4); // receiver = the initiator's sender index
    const nonce = crypto.getRandomValues(new Uint8Array(24));
    out.set(nonce, 8);
    const { mac1 } = macOffsets(msg.length);
    const sealed = xseal(this.c.aead, this.cookieKey, nonce, this.cookieFor(src, now), msg.subarray(mac1, mac1 + 16));
    out.set(sealed, 32);
    return out;
  }
}

/**
 * The initiator's side, per peer: adds mac1 (and mac2 while it holds a fresh cookie) to outgoing
 * handshake messages and takes cookie replies.
 */
export class CookieGenerator {
  private readonly mac1Key: Uint8Array;
  private readonly cookieKey: Uint8Array;
  private cookie: Uint8Array | undefined;
  private cookieAt = -Infinity;
  private lastMac1: Uint8Array | undefined;

  /**
   * A generator for messages to the peer whose public key is `peerPublic`.
   *
   * @param c The crypto provider.
   * @param peerPublic The peer's public key (32 bytes).
   * @param refreshMs How long a received cookie stays usable, in ms.
   */
  constructor(private readonly c: WgCrypto, peerPublic: Uint8Array, private readonly refreshMs = 120_000) {
    this.mac1Key = hash(LABEL_MAC1, peerPublic);
    this.cookieKey = hash(LABEL_COOKIE, peerPublic);
  }

  /** Fills mac1 and mac2 of `msg` in place. */
  addMacs(msg: Uint8Array, now: number): void {
    const { mac1, mac2 } = macOffsets(msg.length);
    mac(this.mac1Key, msg.subarray(0, mac1), msg, mac1);
    this.lastMac1 = msg.slice(mac1, mac1 + 16);
    if (this.cookie && now - this.cookieAt < this.refreshMs) mac(this.cookie, msg.subarray(0, mac2), msg, mac2);
    else msg.fill(0, mac2, mac2 + 16);
  }

  /** Takes a cookie reply; false when it does not decrypt for the last message sent. */
  consumeReply(msg: Uint8Array, now: number): boolean {
    if (msg.length !== SIZE.COOKIE || !this.lastMac1) return false;
    const cookie = xopen(this.c.aead, this.cookieKey, msg.subarray(8, 32), msg.subarray(32, 64), this.lastMac1);
    if (!cookie) return false;
    this.cookie = cookie;
    this.cookieAt = now;
    return true;
  }

  /** Whether a cookie is held (for tests and `show`). */
  get hasCookie(): boolean {
    return this.cookie !== undefined;
  }
}
