/**
 * The proxy's health: a tunnel is "ready" only once the proxy has answered a handshake
 * ({@link Dialer.probe}: SOCKS5 greeting and authentication, or an HTTP answer that is not 407).
 *
 * Why a retry loop and not an exit: a service usually starts before (or beside) its proxy, and
 * a proxy restarts now and then. So until the first answer the tunnel is already in place
 * (with `--auto-route` traffic is caught and refused, never leaked around the proxy) and
 * {@link ProxyHealth.waitUp} retries with a growing delay (1 s doubling up to 10 s), reporting
 * each failure; readiness (the "ready" line, sd_notify READY=1) waits for the answer. Refused
 * credentials are a configuration error and end the wait at once. While running, the proxy is
 * probed every `intervalMs`; {@link ProxyHealth.downSinceMs} lets a service give up after a
 * configured time.
 *
 * @module
 */
import type { Dialer } from "./dial.ts";
import { ProxyError } from "./dial.ts";

/** Options of {@link ProxyHealth}. */
export interface ProxyHealthOptions {
  /** Deadline of one probe (ms). Default 5000. */
  timeoutMs?: number;
  /** Probe period while running (ms); 0 turns the periodic check off. Default 30000. */
  intervalMs?: number;
  /** Called when the state changes (up <-> down; the first probe counts as a change). */
  onChange?: (up: boolean, error: ProxyError | undefined) => void;
  /** Called with each probe's round trip (ms), for the latency histogram. */
  onLatency?: (ms: number) => void;
}

/**
 * Probes a proxy: the first answer, then periodically.
 *
 * @example
 * ```ts
 * import { ProxyHealth, Socks5Dialer, parseProxyUrl } from "../proxy/mod.ts";
 * const h = new ProxyHealth(new Socks5Dialer(parseProxyUrl("socks5://192.0.2.2:1080", "socks5")));
 * await h.waitUp({ onRetry: (e, ms) => console.error(`${e.message}; retrying in ${ms} ms`) });
 * h.start(); // periodic checks
 * h.stop();
 * ```
 */
export class ProxyHealth {
  private readonly dialer: Dialer;
  /** Options; `onChange` may be set later (e.g. once the tunnel is ready). */
  readonly opts: ProxyHealthOptions;
  /** Undefined before the first probe. */
  up: boolean | undefined;
  /** The last failure (while down). */
  lastError: ProxyError | undefined;
  private downSince = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private wake: (() => void) | undefined;

  /**
   * A health check of `dialer` (started by start()).
   *
   * @param dialer The proxy to probe.
   * @param opts Probe interval, timeout and callbacks.
   */
  constructor(dialer: Dialer, opts: ProxyHealthOptions = {}) {
    this.dialer = dialer;
    this.opts = opts;
  }

  /** How long the proxy has been failing (ms), 0 while it answers. */
  downSinceMs(now = Date.now()): number {
    return this.up === false ? now - this.downSince : 0;
  }

  /** One probe; updates the state. Resolves true when the proxy answered. */
  async check(): Promise<boolean> {
    try {
      const ms = await this.dialer.probe({ timeoutMs: this.opts.timeoutMs ?? 5000 });
      this.opts.onLatency?.(ms);
      const changed = this.up !== true;
      this.up = true;
      this.lastError = undefined;
      if (changed) this.opts.onChange?.(true, undefined);
      return true;
    } catch (e) {
      const err = e instanceof ProxyError ? e : new ProxyError("protocol", (e as Error).message);
      const changed = this.up !== false;
      if (changed) this.downSince = Date.now();
      this.up = false;
      this.lastError = err;
      if (changed) this.opts.onChange?.(false, err);
      return false;
    }
  }

  /**
   * Resolves once the proxy answers. Each failure calls `onRetry(error, delayMs)` before the next
   * try; refused credentials (reason "auth") reject at once; `signal` or {@link stop} rejects
   * with the last error. `giveUpMs`: reject once the proxy has been failing this long.
   */
  async waitUp(o: { onRetry?: (e: ProxyError, delayMs: number) => void; signal?: AbortSignal; giveUpMs?: number } = {}): Promise<void> {
    let delay = 1000;
    for (;;) {
      if (await this.check()) return;
      const err = this.lastError!;
      if (err.reason === "auth" || this.stopped || o.signal?.aborted) throw err;
      if (o.giveUpMs !== undefined && this.downSinceMs() >= o.giveUpMs) throw err;
      o.onRetry?.(err, delay);
      await this.sleep(delay, o.signal);
      delay = Math.min(delay * 2, 10_000);
    }
  }

  /** Sleeps `ms`, ending early when `signal` aborts or the check stops. */
  private sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        this.wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.wake = done;
      signal?.addEventListener("abort", done, { once: true });
    });
  }

  /** Starts the periodic probes (every `intervalMs`; faster, every 1-10 s, while down). */
  start(): void {
    const every = this.opts.intervalMs ?? 30_000;
    if (every <= 0 || this.stopped) return;
    const next = () => {
      const ms = this.up === false ? Math.min(every, 5000) : every;
      this.timer = setTimeout(() => void this.check().then(() => !this.stopped && next()), ms);
      (this.timer as { unref?: () => void }).unref?.();
    };
    next();
  }

  /** Stops the periodic probes and any wait. Idempotent. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wake?.();
  }
}
