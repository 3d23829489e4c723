/**
 * TAI64N timestamps, the payload of handshake initiations: 8 bytes big-endian seconds (with
 * TAI64's 2^62 + 10 label) then 4 bytes of nanoseconds, rounded down to ~16 ms so the value does
 * not leak fine timing (as wireguard-go does). A responder accepts an initiation only when its
 * timestamp is newer than the last one it took from that peer.
 *
 * @module
 */

const WHITEN = 0x1000000 - 1;

/**
 * TAI64N of a Unix time in milliseconds (with extra nanoseconds).
 *
 * @example
 * ```ts
 * import { tai64n } from "./tai64n.ts";
 * tai64n(0).length; // 12
 * ```
 */
export function tai64n(unixMs: number, extraNs = 0): Uint8Array {
  const out = new Uint8Array(12);
  const dv = new DataView(out.buffer);
  const secs = Math.floor(unixMs / 1000);
  const ns = (((unixMs - secs * 1000) * 1e6 + extraNs) >>> 0) & ~WHITEN;
  dv.setBigUint64(0, 0x400000000000000an + BigInt(secs));
  dv.setUint32(8, ns >>> 0);
  return out;
}

/** True when timestamp `a` is strictly after `b` (byte-wise big-endian comparison). */
export function after(a: Uint8Array, b: Uint8Array): boolean {
  for (let i = 0; i < 12; i++) {
    if (a[i]! !== b[i]!) return a[i]! > b[i]!;
  }
  return false;
}
