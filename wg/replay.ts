/**
 * The sliding replay window of a receiving key (RFC 6479's bitmap ring): a counter is accepted
 * once, and only while it is within {@link REPLAY_WINDOW} of the highest one seen. Counters may
 * arrive out of order (UDP reorders). Constant time, no allocation.
 *
 * @module
 */

const BLOCK_BITS = 32;
const RING_BLOCKS = 256; // power of two
/** Counters this far behind the highest one seen are still accepted (out-of-order arrivals). */
export const REPLAY_WINDOW = (RING_BLOCKS - 1) * BLOCK_BITS; // 8160

/**
 * Replay window.
 *
 * @example
 * ```ts
 * import { ReplayWindow } from "./replay.ts";
 * const w = new ReplayWindow();
 * w.accept(5, 1e15); // true
 * w.accept(5, 1e15); // false: replayed
 * w.accept(3, 1e15); // true: late but new
 * ```
 */
export class ReplayWindow {
  private readonly ring = new Uint32Array(RING_BLOCKS);
  /** Highest counter accepted so far (-1 before the first). */
  last = -1;

  /** Whether `c` would be accepted, without recording it (a cheap pre-check before decrypting). */
  check(c: number, limit: number): boolean {
    if (c >= limit || c < 0) return false;
    if (c > this.last) return true;
    if (this.last - c >= REPLAY_WINDOW) return false;
    return (this.ring[Math.floor(c / BLOCK_BITS) & (RING_BLOCKS - 1)]! & (1 << (c & 31))) === 0;
  }

  /** Records `c`; false when it is a replay, too old or at/over `limit` (then nothing changes). */
  accept(c: number, limit: number): boolean {
    if (c >= limit || c < 0) return false;
    const block = Math.floor(c / BLOCK_BITS);
    if (c > this.last) {
      const cur = this.last < 0 ? -1 : Math.floor(this.last / BLOCK_BITS);
      const advance = Math.min(block - cur, RING_BLOCKS);
      for (let i = 1; i <= advance; i++) this.ring[(cur + i) & (RING_BLOCKS - 1)] = 0;
      this.last = c;
    } else if (this.last - c >= REPLAY_WINDOW) {
      return false;
    }
    const slot = block & (RING_BLOCKS - 1);
    const bit = 1 << (c & 31);
    if (this.ring[slot]! & bit) return false;
    this.ring[slot] = this.ring[slot]! | bit;
    return true;
  }

  /** Forgets everything. */
  reset(): void {
    this.ring.fill(0);
    this.last = -1;
  }
}
