/**
 * The tunnel's log: levels (error < warn < info < debug), one line per message, and error
 * lines rate-limited per kind so a broken proxy or a flood of refused flows cannot fill a
 * journal: each kind gets a burst of 10 lines, then one line per second, and the next line
 * that gets through says how many were suppressed.
 *
 * @module
 */

/** Log levels, least verbose first. */
export const LOG_LEVELS = ["error", "warn", "info", "debug"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * A leveled, rate-limited line logger.
 *
 * @example
 * ```ts
 * import { TunnelLog } from "./log.ts";
 * const log = new TunnelLog("info", (line) => process.stderr.write(line + "\n"));
 * log.error("proxy", "tcp 198.18.0.1:40000 -> 198.51.100.2:80: failed: ...");
 * if (log.debugOn) log.debug("tcp 198.18.0.1:40000 -> 198.51.100.2:80 open");
 * ```
 */
export class TunnelLog {
  /** The most verbose level written. */
  readonly level: LogLevel;
  private readonly rank: number;
  private readonly write: (line: string) => void;
  private readonly buckets = new Map<string, { tokens: number; at: number; suppressed: number }>();
  /** Lines suppressed by the rate limit so far. */
  suppressed = 0;
  /** Burst per kind, and lines per second after it. */
  private readonly burst: number;
  private readonly perSec: number;
  private readonly now: () => number;

  /**
   * A logger writing lines up to `level`.
   *
   * @param level The most verbose level written.
   * @param write Writes one line (no newline).
   * @param opts Rate limit per kind: `burst` lines, then `perSec` lines per second; `now`, the clock in ms.
   */
  constructor(level: LogLevel, write: (line: string) => void, opts: { burst?: number; perSec?: number; now?: () => number } = {}) {
    this.level = level;
    this.rank = LOG_LEVELS.indexOf(level);
    this.write = write;
    this.burst = opts.burst ?? 10;
    this.perSec = opts.perSec ?? 1;
    this.now = opts.now ?? Date.now;
  }

  /** True when debug lines are written (build per-flow lines only then). */
  get debugOn(): boolean {
    return this.rank >= 3;
  }

  /** True when lines of `level` are written. */
  enabled(level: LogLevel): boolean {
    return LOG_LEVELS.indexOf(level) <= this.rank;
  }

  /** An error line of `kind`, rate-limited per kind. */
  error(kind: string, line: string): void {
    this.limited("error", kind, line);
  }

  /** A warning of `kind`, rate-limited per kind like errors. */
  warn(kind: string, line: string): void {
    this.limited("warn", kind, line);
  }

  /** Writes an information line (levels info and debug). */
  info(line: string): void {
    if (this.rank >= 2) this.write(line);
  }

  /** Writes a debug line (level debug). */
  debug(line: string): void {
    if (this.rank >= 3) this.write(line);
  }

  /** Writes `line` at `level`, rate-limited per `kind`. */
  private limited(level: LogLevel, kind: string, line: string): void {
    if (!this.enabled(level)) return;
    const now = this.now();
    let b = this.buckets.get(kind);
    if (!b) {
      if (this.buckets.size > 256) this.buckets.clear();
      b = { tokens: this.burst, at: now, suppressed: 0 };
      this.buckets.set(kind, b);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSec);
    b.at = now;
    if (b.tokens < 1) {
      b.suppressed++;
      this.suppressed++;
      return;
    }
    b.tokens -= 1;
    if (b.suppressed) {
      line += ` (${b.suppressed} more "${kind}" line${b.suppressed === 1 ? "" : "s"} suppressed)`;
      b.suppressed = 0;
    }
    this.write(level === "warn" && !line.startsWith("warning:") ? `warning: ${line}` : line);
  }
}
