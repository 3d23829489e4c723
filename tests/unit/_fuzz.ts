// Seeded PRNG and byte mutators shared by the fuzz tests (reproducible: same seed, same inputs).

export { mulberry32 } from "../../common/prng.ts";
import { mulberry32 } from "../../common/prng.ts";

/** Random bytes of length 0..max-1. */
export function randomBytes(rnd: () => number, max: number): Uint8Array {
  const b = new Uint8Array(Math.floor(rnd() * max));
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

/** A copy of `src` with 1..4 mutations: flipped bits, random bytes, 16-bit length fields rewritten, truncation, extension. */
export function mutate(rnd: () => number, src: Uint8Array): Uint8Array {
  let b = src.slice();
  const n = 1 + Math.floor(rnd() * 4);
  for (let k = 0; k < n && b.length; k++) {
    const i = Math.floor(rnd() * b.length);
    switch (Math.floor(rnd() * 6)) {
      case 0: b[i]! ^= 1 << Math.floor(rnd() * 8); break;
      case 1: b[i] = Math.floor(rnd() * 256); break;
      case 2: { // a plausible-but-wrong length: small, large, or off by a little
        const v = [0, 1, 3, 4, 5, 0xffff, 0x8000, (b[i]! + 4) & 0xff][Math.floor(rnd() * 8)]!;
        b[i] = v & 0xff;
        if (i + 1 < b.length) b[i + 1] = v >> 8;
        break;
      }
      case 3: b = b.subarray(0, i).slice(); break;
      case 4: { const e = new Uint8Array(b.length + 1 + Math.floor(rnd() * 8)); e.set(b); b = e; break; }
      default: b[i] = 0; break;
    }
  }
  return b;
}
