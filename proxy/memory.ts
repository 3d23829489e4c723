/**
 * Keeps a long-running tunnel daemon's resident set near what it uses: the binary's clean pages
 * that work faults back in (accepting thousands of connections runs code start-up never ran:
 * 5,000 held connections brought 8-9 MB of the binary back) are given back once they have
 * grown {@link TRIM_GROWTH_MB} over the lowest level seen (see {@link TrimState}).
 *
 * Twelfth session (bench/udp-rt.ts --faults: each page fault with its address, over a 2 s UDP
 * flow): with the trim on, 473 of 1,866 faults were the main thread faulting the binary back
 * after a drop, with it off 1 of 1,487; in both ~1,070 were JSC's JSCWarmUp thread pre-touching
 * the GC blocks it hands the allocator (one fault per 16 KB block: WarmUpBlockProvider) and ~270
 * the main thread's anonymous pages. So since the quiet-tick probe the trim is a small share of
 * faults/rt (new 0.16-0.23 against 0.14-0.17 with TUNKIT_MEM_TRIM=0, 3-5 rounds each, load
 * 3-5), and the rest is the JS heap's churn, not the trim's. What the trim still did in a flow
 * depended on where its floor was: a floor probed while idle, then a flow ~5 MB over it, was
 * dropped each tick and faulted back (seen once in a fault trace). Keeping such a drop's level
 * as the flow's working set while the work goes on was built and tested, and left out: against
 * main's build in the same runs it moved neither faults/rt (0.23 vs 0.23, 5 rounds, load 4-6)
 * nor the held-connections peak beyond noise (41.7 vs 40.2 MB).
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** File-backed growth (MB) over the settled level that makes the next tick drop the binary's clean pages. */
export const TRIM_GROWTH_MB = 2;
/** How often the daemon looks (one read of /proc/self/statm). */
export const TRIM_INTERVAL_MS = 1000;

/**
 * CPU share (of one core, the whole process) below which the time since the last look counts as
 * quiet: no traffic worth the name, only the idle daemon's own timers, collections and JIT.
 * Growth over the floor seen on a quiet tick is given back once, as a probe: the level a tick
 * later is the floor ({@link TrimState.step}). A daemon 1-11 s after a UDP flow ran 2-3% of a
 * core where it was 0.4% with the trim off, nearly all of it the trim's drops: the pages its
 * collections and JIT fault back within the second were dropped each tick (and again 250 ms
 * later, {@link TRIM_FAST_MS}), 1-2 drops a second for the first 16+ seconds, each paid again
 * in page faults (bench/idle.ts). A burst of connections runs at 30-100% of a core.
 */
export const TRIM_QUIET_CPU = 0.05;

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
 * Quiet ticks after which the FIRST probe comes. The daemon drops the binary's pages once it is
 * ready and the trim's first look comes a tick later; what start-up still runs meanwhile (and, in
 * a daemon started from a binary just evicted from the page cache, faults that read whole folios
 * back) can put that look 10-15 MB over what the idle daemon needs (bench: 26.5 MB at the first
 * tick after a drop to 16): with it as the floor a burst of 5,000 connections was never dropped
 * (file pages 24-27 MB through the whole burst, peak 50-55 MB against 44-48 for a daemon whose
 * first look was low: the "first daemon to hold reads 5-10 MB higher" of the eighth session).
 */
export const TRIM_FIRST_PROBE_TICKS = 3;

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
 * again); after {@link TRIM_FIRST_PROBE_TICKS} (the first time) or {@link TRIM_PROBE_TICKS} ticks
 * in a row near the floor, one drop probes it and the level one tick later is the floor from then
 * on. {@link TrimState.soon} tells the timer to look again early (see {@link TRIM_FAST_MS}).
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
  private quiet = TRIM_PROBE_TICKS - TRIM_FIRST_PROBE_TICKS;
  private settle = false;
  /** Whether the last step dropped pages work faulted in (not a probe): the next look should come soon. */
  soon = false;
  constructor(readonly growthMB = TRIM_GROWTH_MB) {}

  /**
   * One look at `fileMB`. An early look (`early`, after a drop during work) drops on the same
   * rule but neither counts toward nor waits out the streak: the streak stays a count of ticks, so
   * work that keeps faulting pages back is looked at early only in its first {@link TRIM_STREAK}
   * seconds, and a burst of a few seconds is not taken for such work. `idle`: the time since
   * the last look had no work ({@link TRIM_QUIET_CPU}): growth over the floor is then dropped
   * once as a probe (the level a tick later is the floor), not chased each tick.
   */
  step(fileMB: number, early = false, idle = false): TrimStep {
    if (this.settle || this.floor === undefined || fileMB < this.floor) this.floor = fileMB;
    this.settle = false;
    this.soon = false;
    if (fileMB - this.floor < this.growthMB || (idle && !early)) {
      this.streak = 0;
      this.skip = 0;
      // Growth with no work (`idle`) is dropped once as a probe, not each tick: what comes back
      // within a tick (the idle daemon's own collections and JIT) is what it needs now.
      if (fileMB - this.floor < this.growthMB && ++this.quiet < TRIM_PROBE_TICKS) return "none";
      this.quiet = 0;
      this.settle = true;
      this.drops++;
      return "drop";
    }
    this.quiet = 0;
    if (early) {
      this.soon = this.skip === 0;
      this.drops++;
      return "drop";
    }
    if (this.skip > 0) {
      this.skip--;
      return "none";
    }
    this.streak++;
    if (this.streak >= TRIM_STREAK) this.skip = Math.min(2 ** (this.streak - TRIM_STREAK + 1), TRIM_MAX_SKIP);
    this.soon = this.skip === 0;
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
 * Between a drop during work and the next look, ms (a quarter of {@link TRIM_INTERVAL_MS}). A burst
 * of 5,000 connections lasts 2-3 s here: with one look a second the binary's pages its connect path
 * faulted in were dropped once or twice in it and stood at 17-21 MB when it ended, the moment the
 * peak is made. The next look comes this soon only after a drop that was not a probe, so an idle
 * daemon still looks once a second and work that keeps faulting pages back soon skips ticks.
 */
export const TRIM_FAST_MS = 250;

/** CPU time of this process so far (every thread), ms: one getrusage. */
function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Starts the periodic look: every `intervalMs` it reads the file-backed resident set and calls
 * `drop` when {@link TrimState} says so (the timer does not keep the process alive); after a drop
 * during work (not a probe, not while work keeps faulting the same pages back) it looks again
 * `fastMs` later. A look after a quiet time (`cpuMs`, the process's CPU time, rose less than
 * {@link TRIM_QUIET_CPU} of the time since the last look) drops growth once, as a probe. Returns
 * the state (for its counters), `look` (one look now) and a stop function.
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
  opts: { intervalMs?: number; fastMs?: number; growthMB?: number; read?: () => number; cpuMs?: () => number; onDrop?: (mb: number) => void } = {},
): { state: TrimState; look(early?: boolean): void; stop(): void } {
  const state = new TrimState(opts.growthMB);
  const read = opts.read ?? fileResidentMB;
  const cpuMs = opts.cpuMs ?? processCpuMs;
  let lastCpu = NaN;
  let lastAt = 0;
  const intervalMs = opts.intervalMs ?? TRIM_INTERVAL_MS;
  const fastMs = opts.fastMs ?? Math.min(TRIM_FAST_MS, intervalMs);
  let busy = false;
  let stopped = false;
  let fast: ReturnType<typeof setTimeout> | undefined;
  const look = (early = false) => {
    if (busy || stopped) return;
    const mb = read();
    const cpu = cpuMs();
    const now = performance.now();
    const idle = now > lastAt && (cpu - lastCpu) / (now - lastAt) < TRIM_QUIET_CPU;
    lastCpu = cpu;
    lastAt = now;
    if (Number.isNaN(mb) || state.step(mb, early, idle) !== "drop") return;
    const again = state.soon && fastMs < intervalMs;
    busy = true;
    void drop().then(
      (n) => {
        busy = false;
        opts.onDrop?.(n);
        if (!again || stopped || fast) return;
        fast = setTimeout(() => {
          fast = undefined;
          look(true);
        }, fastMs);
        (fast as { unref?: () => void }).unref?.();
      },
      () => (busy = false),
    );
  };
  const timer = setInterval(() => look(), intervalMs);
  (timer as { unref?: () => void }).unref?.();
  return {
    state,
    look,
    stop: () => {
      stopped = true;
      clearInterval(timer);
      if (fast) clearTimeout(fast);
    },
  };
}
