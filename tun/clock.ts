/**
 * {@link CaptureClock}: wall-clock timestamps for packets that come without one (a tun read has
 * none), cheap enough to take per packet.
 *
 * @module
 */

/**
 * Per-packet timestamps from the monotonic clock anchored to the epoch once (no allocation,
 * nanosecond arithmetic kept exact by splitting whole seconds from the fraction).
 *
 * @example
 * ```ts
 * import { CaptureClock } from "./clock.ts";
 * const c = new CaptureClock();
 * c.now(); // then c.sec, c.nsec
 * ```
 */
export class CaptureClock {
  /** Seconds since the epoch of the last {@link now}. */
  sec = 0;
  /** Nanoseconds of the last {@link now}. */
  nsec = 0;
  private readonly baseSec: number;
  private readonly baseFracMs: number;
  constructor() {
    const origin = performance.timeOrigin;
    this.baseSec = Math.floor(origin / 1000);
    this.baseFracMs = origin - this.baseSec * 1000;
  }
  /** Reads the clock into `sec` / `nsec`. */
  now(): void {
    const ms = this.baseFracMs + performance.now();
    const whole = Math.floor(ms / 1000);
    this.sec = this.baseSec + whole;
    const ns = Math.floor((ms - whole * 1000) * 1e6);
    this.nsec = ns > 999_999_999 ? 999_999_999 : ns;
  }
}
