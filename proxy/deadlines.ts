/**
 * {@link HandshakeDeadlines}: one timer for every proxy handshake of a relay. All handshakes
 * share one timeout, so they expire in the order they started: a queue and the timer of its
 * head, instead of a timer per flow. Used by both TCP relays (tcp-relay.ts, fd-relay.ts).
 *
 * @module
 */
import { ProxyError } from "./dial.ts";
import type { RelayFlow } from "./tcp-relay.ts";

/**
 * The deadlines of flows in phase 0 (dialling) or 1 (handshake); a flow still there at its
 * deadline is handed to `expire` with a timeout {@link ProxyError}.
 *
 * @example
 * ```ts
 * import { HandshakeDeadlines } from "./deadlines.ts";
 * import type { RelayFlow } from "./tcp-relay.ts";
 * declare const f: RelayFlow;
 * const d = new HandshakeDeadlines(10_000, (flow, e) => console.log(flow.who, e.message));
 * d.add(f); // f.deadline set; expire(f, …) in 10 s unless f.phase >= 2 by then
 * d.close();
 * ```
 */
export class HandshakeDeadlines {
  private readonly timeoutMs: number;
  private readonly expireFn: (f: RelayFlow, e: ProxyError) => void;
  /** Flows in handshake, oldest first. */
  private readonly waiting: RelayFlow[] = [];
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;

  /**
   * @param timeoutMs The time a flow has to connect to the proxy and finish its handshake.
   * @param expire Called once per flow that is still in phase 0 or 1 at its deadline.
   */
  constructor(timeoutMs: number, expire: (f: RelayFlow, e: ProxyError) => void) {
    this.timeoutMs = timeoutMs;
    this.expireFn = expire;
  }

  /** Sets `f.deadline` to now + the timeout and queues it. */
  add(f: RelayFlow): void {
    f.deadline = performance.now() + this.timeoutMs;
    this.waiting.push(f);
    this.arm();
  }

  private arm(): void {
    if (this.timer || this.head >= this.waiting.length) return;
    const ms = Math.max(0, this.waiting[this.head]!.deadline - performance.now());
    this.timer = setTimeout(() => this.expire(), ms + 1);
    (this.timer as { unref?: () => void }).unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    const w = this.waiting;
    while (this.head < w.length) {
      const f = w[this.head]!;
      if (f.phase < 2 && f.deadline > now) break;
      w[this.head++] = undefined as unknown as RelayFlow;
      if (f.phase < 2) {
        this.expireFn(f, f.phase === 0
          ? new ProxyError("timeout", `Proxy ${f.where} did not answer within ${this.timeoutMs} ms`)
          : new ProxyError("timeout", `${f.who} did not finish the handshake within ${this.timeoutMs} ms`));
      }
    }
    if (this.head > 1024 && this.head * 2 > w.length) {
      w.splice(0, this.head);
      this.head = 0;
    }
    this.arm();
  }

  /** Stops the timer and forgets every flow. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.waiting.length = 0;
    this.head = 0;
  }
}
