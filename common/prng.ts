/**
 * A tiny seeded PRNG for reproducible randomness (fuzz tests, seeded impairment of a tunnel's
 * path): same seed, same sequence. Not for anything secret.
 *
 * @module
 */

/**
 * mulberry32: a 32-bit seeded generator returning floats in [0, 1).
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./prng.ts";
 * const rnd = mulberry32(42);
 * rnd(); // the same first value for seed 42, every run
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
