/**
 * Keeps a long-running tunnel daemon's resident set near what it uses: the binary's clean pages
 * that work faults back in (accepting thousands of connections runs code start-up never ran:
 * 5,000 held connections brought 8-9 MB of the binary back) are given back once they have
 * grown {@link TRIM_GROWTH_MB} over the lowest level seen (see {@link TrimState}).
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** File-backed growth (MB) over the settled level that makes the next tick drop the binary's clean pages. */
export const TRIM_GROWTH_MB = 2;
/** How often the daemon looks (one read of /proc/self/statm). */
export const TRIM_INTERVAL_MS = 1000;

/** What one tick decided: drop now, or nothing. */
export type TrimStep = "drop" | "none";

/** Consecutive drops (one per tick) after which the ticks between drops double, up to {@link TRIM_MAX_SKIP}. */
export const TRIM_STREAK = 16;
/** The most ticks skipped between two drops while work keeps faulting the same pages back. */
export const TRIM_MAX_SKIP = 64;
/**
 * Ticks in a row near the floor after which one drop probes it: the level one tick later becomes
 * the floor (a floor first seen while work ran stays above what the daemon needs when idle).
 */
export const TRIM_PROBE_TICKS = 30;

/**
 * The decision of one tick, pure; `fileMB` is the file-backed resident set now. The floor is the
 * lowest level a tick has seen (a tick after a drop sees what the daemon's own idle work, its
 * event loop and timers, brought back meanwhile). A tick drops when the level is `growthMB`
 * over the floor: while a burst (thousands of connections accepted) runs code nothing ran
 * before, every tick, so those pages never pile up; once it is over, until the level is back
 * near the floor. Work that keeps faulting the same pages back (a long bulk transfer) would pay
 * those faults every tick: after {@link TRIM_STREAK} drops in a row the ticks between drops
 * double, up to {@link TRIM_MAX_SKIP}; a tick near the floor ends the streak. The first look
 * can come while work runs (a daemon that carries traffic from its first second: 5,000
 * connections opened right after "ready" set the floor at 24 MB, and no tick ever dropped
 * again); after {@link TRIM_PROBE_TICKS} ticks in a row near the floor, one drop probes it and
 * the level one tick later is the floor from then on.
 *
 * @example
 * ```ts
 * import { TrimState } from "./memory.ts";
 * const s = new TrimState(2);
 * s.step(14); // "none" (the first look sets the floor)
 * s.step(25); // "drop" (a burst)
 * s.step(19); // "drop" (still 2 MB over)
 * s.step(15); // "none"
 * ```
 */
export class TrimState {
  /** The lowest level seen (MB); undefined before the first look. */
  floor: number | undefined = undefined;
  /** Drops so far. */
  drops = 0;
  private streak = 0;
  private skip = 0;
  /** Ticks in a row near the floor; whether this tick follows a probe (its level is the floor). */
  private quiet = 0;
  private settle = false;
  constructor(readonly growthMB = TRIM_GROWTH_MB) {}

  step(fileMB: number): TrimStep {
    if (this.settle || this.floor === undefined || fileMB < this.floor) this.floor = fileMB;
    this.settle = false;
    if (fileMB - this.floor < this.growthMB) {
      this.streak = 0;
      this.skip = 0;
      if (++this.quiet < TRIM_PROBE_TICKS) return "none";
      this.quiet = 0;
      this.settle = true;
      this.drops++;
      return "drop";
    }
    this.quiet = 0;
    if (this.skip > 0) {
      this.skip--;
      return "none";
    }
    this.streak++;
    if (this.streak >= TRIM_STREAK) this.skip = Math.min(2 ** (this.streak - TRIM_STREAK + 1), TRIM_MAX_SKIP);
    this.drops++;
    return "drop";
  }
}

/**
 * The trim's settings from the environment: `TUNKIT_MEM_TRIM` (0: off; MS: the interval) and
 * `TUNKIT_MEM_TRIM_MB` (the growth that makes a tick drop). A value that is not a positive
 * number keeps the default (a NaN growth would have dropped on every tick).
 *
 * @example
 * ```ts
 * import { trimSettings } from "./memory.ts";
 * trimSettings({}); // { intervalMs: 1000, growthMB: 2 }
 * trimSettings({ TUNKIT_MEM_TRIM: "0" }); // undefined (off)
 * ```
 */
export function trimSettings(env: Record<string, string | undefined>): { intervalMs: number; growthMB: number } | undefined {
  const num = (v: string | undefined, d: number) => {
    const n = v === undefined || v.trim() === "" ? NaN : Number(v);
    return Number.isFinite(n) && n >= 0 ? n : d;
  };
  const intervalMs = num(env.TUNKIT_MEM_TRIM, TRIM_INTERVAL_MS);
  if (intervalMs === 0) return undefined;
  const growthMB = num(env.TUNKIT_MEM_TRIM_MB, TRIM_GROWTH_MB);
  return { intervalMs, growthMB: growthMB > 0 ? growthMB : TRIM_GROWTH_MB };
}

const PAGE_MB = 4096 / 1048576;

/**
 * The file-backed (and shared) resident MB of this process: /proc/self/statm's third field.
 * NaN when /proc cannot be read.
 *
 * @example
 * ```ts
 * import { fileResidentMB } from "./memory.ts";
 * fileResidentMB(); // e.g. 21.4
 * ```
 */
export function fileResidentMB(): number {
  try {
    return Number(readFileSync("/proc/self/statm", "latin1").split(" ")[2]) * PAGE_MB;
  } catch {
    return NaN;
  }
}

/**
 * Starts the periodic look: every `intervalMs` it reads the file-backed resident set and calls
 * `drop` when {@link TrimState} says so (the timer does not keep the process alive). Returns
 * the state (for its counters) and a stop function.
 *
 * @example
 * ```ts
 * import { startImageTrim } from "./memory.ts";
 * const t = startImageTrim(async () => 0);
 * t.stop();
 * ```
 */
export function startImageTrim(
  drop: () => Promise<number>,
  opts: { intervalMs?: number; growthMB?: number; read?: () => number; onDrop?: (mb: number) => void } = {},
): { state: TrimState; stop(): void } {
  const state = new TrimState(opts.growthMB);
  const read = opts.read ?? fileResidentMB;
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    const mb = read();
    if (Number.isNaN(mb) || state.step(mb) !== "drop") return;
    busy = true;
    void drop().then(
      (n) => {
        busy = false;
        opts.onDrop?.(n);
      },
      () => (busy = false),
    );
  }, opts.intervalMs ?? TRIM_INTERVAL_MS);
  (timer as { unref?: () => void }).unref?.();
  return { state, stop: () => clearInterval(timer) };
}
