/**
 * Readiness without blocking the JS event loop and without polling.
 *
 * One epoll set per process; a helper thread (a Worker in Bun, a `nonblocking` FFI call in
 * Deno) sits in `epoll_wait(-1)` and wakes the JS thread when a watched fd is readable. Watches
 * are one-shot (EPOLLONESHOT): the owner drains the fd non-blocking until EAGAIN and then calls
 * `arm()` again. Under load the fd never goes back to the poller (the drain loop keeps reading),
 * so the per-packet cost is zero; when idle, nothing runs at all (0% CPU).
 *
 * @module
 */
import { EPOLL, EPOLL_EVENT_SIZE, epollWaiter, sys, raw, arch } from "./libc.ts";
import { EFD } from "./abi.ts";
import { unpackEpollEvent } from "./abi.ts";
import type { EpollWaiter } from "./backend.ts";

/** A registered fd. */
export interface Watch {
  /** Asks for one callback when the fd is next readable (or has an error/hang-up). */
  arm(): void;
  /** True while armed and not yet delivered. */
  readonly armed: boolean;
  /** Stops watching (the fd itself is not closed). Idempotent. */
  close(): void;
}

const MAX_EVENTS = 64;
const WAKE_TOKEN = 0;

class Poller {
  private epfd = -1;
  private wakeFd = -1;
  private waiter: EpollWaiter | undefined;
  private nextToken = 1;
  private readonly handlers = new Map<number, { fd: number; cb: (events: number) => void; armed: boolean }>();
  private armedCount = 0;
  private running = false;
  private readonly wakeBuf = new Uint8Array(8);

  private ensure(): void {
    if (this.epfd >= 0) return;
    this.epfd = sys.epollCreate();
    this.wakeFd = sys.eventfd(0, EFD.CLOEXEC | EFD.NONBLOCK);
    sys.epollCtl(this.epfd, EPOLL.CTL_ADD, this.wakeFd, EPOLL.IN, WAKE_TOKEN);
    this.waiter = epollWaiter(this.epfd, MAX_EVENTS, EPOLL_EVENT_SIZE);
  }

  watch(fd: number, cb: (events: number) => void, events: number = EPOLL.IN): Watch {
    this.ensure();
    const token = this.nextToken++;
    const h = { fd, cb, armed: false };
    // Registered disarmed: EPOLLONESHOT with no events until arm().
    sys.epollCtl(this.epfd, EPOLL.CTL_ADD, fd, EPOLL.ONESHOT, token);
    this.handlers.set(token, h);
    let closed = false;
    const self = this;
    return {
      get armed() {
        return h.armed;
      },
      arm() {
        if (closed || h.armed) return;
        h.armed = true;
        self.armedCount++;
        sys.epollCtl(self.epfd, EPOLL.CTL_MOD, fd, events | EPOLL.ONESHOT, token);
        self.run();
      },
      close() {
        if (closed) return;
        closed = true;
        self.handlers.delete(token);
        // The fd may already be closed (and the kernel dropped it from the set): ignore errors.
        raw.epoll_ctl(self.epfd, EPOLL.CTL_DEL, fd, null);
        if (h.armed) {
          h.armed = false;
          self.armedCount--;
          if (self.armedCount === 0 && self.running) self.wake();
        }
      },
    };
  }

  private wake(): void {
    const one = this.wakeBuf;
    new DataView(one.buffer).setBigUint64(0, 1n, true);
    raw.write(this.wakeFd, one, 8);
  }

  private run(): void {
    if (this.running) return;
    this.running = true;
    void this.loop();
  }

  private async loop(): Promise<void> {
    const waiter = this.waiter!;
    try {
      while (this.armedCount > 0) {
        const n = await waiter.wait();
        if (n < 0) continue; // EINTR
        for (let i = 0; i < n; i++) {
          const { events, token } = unpackEpollEvent(arch, waiter.events, i);
          if (token === WAKE_TOKEN) {
            raw.read(this.wakeFd, this.wakeBuf, 8);
            continue;
          }
          const h = this.handlers.get(token);
          if (!h || !h.armed) continue;
          h.armed = false;
          this.armedCount--;
          try {
            h.cb(events);
          } catch (e) {
            queueMicrotask(() => {
              throw e;
            });
          }
        }
      }
    } finally {
      this.running = false;
      if (this.armedCount > 0) this.run();
    }
  }
}

const poller = new Poller();

/**
 * Watches `fd` for readability (or `events`, e.g. EPOLL.OUT for a connect in progress); `cb`
 * runs on the JS thread once per `arm()`.
 *
 * @example
 * ```ts
 * import { watch } from "./poller.ts";
 * declare const fd: number; // non-blocking
 * declare function drainUntilEagain(): void;
 * const w = watch(fd, () => { drainUntilEagain(); w.arm(); });
 * w.arm();
 * ```
 */
export function watch(fd: number, cb: (events: number) => void, events?: number): Watch {
  return poller.watch(fd, cb, events);
}
