/**
 * Readiness without blocking the JS event loop and without polling.
 *
 * One epoll set per process; a helper thread (a Worker in Bun, a `nonblocking` FFI call in
 * Deno) sits in `epoll_wait(-1)` and wakes the JS thread when a watched fd is readable. Watches
 * are one-shot (EPOLLONESHOT): the owner drains the fd non-blocking until EAGAIN and then calls
 * `arm()` again. Under load the fd never goes back to the poller (the drain loop keeps reading),
 * so the per-packet cost is zero; when idle, nothing runs at all (0% CPU).
 *
 * Under Bun, {@link watchReadable} (the tun queues' wake-up) needs no helper thread at all: the
 * fd raises SIGIO when data arrives (O_ASYNC) and Bun runs our `process.on("SIGIO")` listener
 * on the JS thread — see {@link SignalPoller}.
 *
 * @module
 */
import { EPOLL, EPOLL_EVENT_SIZE, F, POLL, epollWaiter, sys, raw, arch, runtime, errno } from "./libc.ts";
import { EFD, epollDataOffset, epollEventSize, packEpollEvent } from "./abi.ts";
import { unpackEpollEvent } from "./abi.ts";
import { ERRNO } from "./errors.ts";
import type { EpollWaiter } from "./backend.ts";

/** A registered fd. */
export interface Watch {
  /**
   * Asks for one callback when the fd is next readable (or has an error/hang-up); `events`
   * (epoll paths only) asks for those instead of the watch's own this time, e.g. EPOLL.OUT while
   * a write waits. Called while armed with other events, it changes what the wait is for.
   */
  arm(events?: number): void;
  /** True while armed and not yet delivered. */
  readonly armed: boolean;
  /**
   * Cancels a pending arm() without a callback (a no-op when not armed): for an owner that is
   * about to read anyway (it knows its own next action queues data on the fd), so that data
   * raises no wake-up.
   */
  disarm(): void;
  /** Stops watching (the fd itself is not closed). Idempotent. */
  close(): void;
  /**
   * The owner waits for the fd by itself for a while (a {@link Linger}): the signal-driven path
   * switches the fd's signal off now (one fcntl, when it is on), so that a packet arriving then
   * raises none; the next arm() switches it on again and looks once. Call it while not armed.
   */
  quiet?(): void;
  /**
   * The owner's reads after the last callback found nothing: that wake-up was wasted (a signal
   * for data the owner had already read). The signal-driven path then switches the fd's signal
   * off while the owner reads, for a while ({@link SignalPoller}); the others ignore it.
   */
  wasted?(): void;
}

const MAX_EVENTS = 64;
const WAKE_TOKEN = 0;

class Poller {
  private epfd = -1;
  private wakeFd = -1;
  private waiter: EpollWaiter | undefined;
  private nextToken = 1;
  private readonly handlers = new Map<number, { fd: number; cb: (events: number) => void; armed: boolean; ev: number }>();
  private armedCount = 0;
  private running = false;
  private readonly wakeBuf = new Uint8Array(8);

  private ensure(): void {
    if (this.epfd >= 0) return;
    this.epfd = sys.epollCreate();
    this.wakeFd = sys.eventfd(0, EFD.CLOEXEC | EFD.NONBLOCK);
    // Edge-triggered: one event per write. The helper thread goes straight back to epoll_wait
    // after each batch (ffi/bun.ts), so a level-triggered eventfd would report itself again and
    // again until the JS thread got round to reading it.
    sys.epollCtl(this.epfd, EPOLL.CTL_ADD, this.wakeFd, EPOLL.IN | EPOLL.ET, WAKE_TOKEN);
    this.waiter = epollWaiter(this.epfd, MAX_EVENTS, EPOLL_EVENT_SIZE);
  }

  watch(fd: number, cb: (events: number) => void, events: number = EPOLL.IN): Watch {
    this.ensure();
    const token = this.nextToken++;
    const h = { fd, cb, armed: false, ev: 0 };
    // Registered disarmed: EPOLLONESHOT with no events until arm().
    sys.epollCtl(this.epfd, EPOLL.CTL_ADD, fd, EPOLL.ONESHOT, token);
    this.handlers.set(token, h);
    let closed = false;
    const self = this;
    return {
      get armed() {
        return h.armed;
      },
      arm(ev?: number) {
        const want = ev ?? events;
        if (closed || (h.armed && h.ev === want)) return;
        if (!h.armed) {
          h.armed = true;
          self.armedCount++;
        }
        h.ev = want;
        sys.epollCtl(self.epfd, EPOLL.CTL_MOD, fd, want | EPOLL.ONESHOT, token);
        self.run();
      },
      disarm() {
        if (closed || !h.armed) return;
        h.armed = false;
        self.armedCount--;
        sys.epollCtl(self.epfd, EPOLL.CTL_MOD, fd, EPOLL.ONESHOT, token);
        if (self.armedCount === 0 && self.running) self.wake();
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

const F_SETOWN = 8;
const O_ASYNC = 0o20000;
/** Signals seen with nothing armed (the owner busy draining) before O_ASYNC is switched off (sticky mode). */
const QUIET_AFTER = 4;
/**
 * Auto mode: wake-ups an fd spends with O_ASYNC switched off while its owner reads, after a
 * wasted signal, before it tries leaving it on again.
 */
export const TOGGLE_FOR = 64;
/**
 * The backstop's period (ms): a deleted device (no SIGIO is raised for it), and a lost signal.
 * `TUNKIT_POLL_CHECK_MS` (10..600000) changes it: the tests stretch it to show that a deletion
 * is found by its RTM_DELLINK ({@link recheckReadable}), not by the backstop.
 */
const CHECK_MS = (() => {
  const v = Number(globalThis.process?.env?.TUNKIT_POLL_CHECK_MS);
  return Number.isInteger(v) && v >= 10 && v <= 600_000 ? v : 1000;
})();

interface SigHandle {
  fd: number;
  cb: (events: number) => void;
  flags: number;
  armed: boolean;
  /** O_ASYNC is set on the fd now. */
  async: boolean;
  /** Auto mode: wake-ups left with O_ASYNC off while the owner reads (0: left on). */
  toggle: number;
  /** The backstop found the fd readable while armed once; a second time is a lost signal. */
  suspect: boolean;
  closed: boolean;
}

/**
 * Readability by signal-driven I/O, for the JS thread itself (Bun). The fd is set to raise
 * SIGIO (F_SETOWN to this process, O_ASYNC); Bun's `process.on("SIGIO")` runs the listener on
 * the JS thread through its own event loop, which the signal interrupts. A wake-up costs no
 * helper thread and no message, only two fcntl and one poll() (below). A round trip through a
 * tun (a datagram in, read, the next one sent; 3,000 each, same run) took 35–44 µs of CPU
 * through listen() against 52–73 µs through the epoll helper thread; CPU per short TCP
 * connection through the tunnel, 500 sequential: 1100–1380 µs against 1520 (load 9–12).
 *
 * - The kernel raises SIGIO after the packet is queued (tun_net_xmit: ptr_ring_produce, then
 *   kill_fasync), so a read after the signal finds it. Signals coalesce: every delivery drains
 *   until EAGAIN, and an armed owner is delivered whatever fd raised it (one EAGAIN read each).
 * - O_ASYNC stays on across wake-ups while signals are not wasted: a query/answer flow (one UDP
 *   datagram per wake-up) then pays no fcntl and no poll() per wake-up. A signal is wasted when
 *   it finds nothing armed (raised while the owner was reading anyway) or its owner finds nothing
 *   to read ({@link Watch.wasted}): each packet the owner's own writes bring back (the kernel's
 *   TCP answers in the same softirq) raised one when it was left on for good: 9 signals and 96
 *   syscalls per short TCP connection against 3.4 and 87.5 (strace -c, 300 connections). After
 *   a wasted one, a wake-up switches O_ASYNC off (one fcntl) before the owner reads, and arm()
 *   switches it on (one fcntl) and looks once with poll(), since a packet that came in between
 *   raised nothing: for the next {@link TOGGLE_FOR} wake-ups, then it tries leaving it on again.
 *   `TUNKIT_SIGIO=toggle` always switches it (the behaviour before), `TUNKIT_SIGIO=sticky` never
 *   does ({@link QUIET_AFTER} signals in a row with nothing armed switch it off until the next
 *   arm()).
 * - Deleting a tun raises no SIGIO, and nothing must ever sleep forever on a lost wake-up: while
 *   anything is armed, a check every {@link CHECK_MS} ms polls the armed fds. An error (deleted
 *   device) is delivered at once; data seen on two checks in a row of the same arm is a lost
 *   signal, delivered and counted in {@link SignalPoller.lost} (the stress test asserts 0).
 * - That interval is ref'd only while something is armed: a pending read keeps the process
 *   alive, an idle device does not.
 */
class SignalPoller {
  private installed = false;
  private armed: SigHandle[] = [];
  /** Every open handle. */
  private readonly all: SigHandle[] = [];
  private idle = 0;
  private timer: ReturnType<typeof setInterval> | undefined;
  /** Wake-ups the backstop had to make because a signal never came (should stay 0). */
  lost = 0;
  /** Signals delivered to the JS thread. */
  signals = 0;
  /**
   * Whether O_ASYNC stays on while the owner reads: "auto" (the default) leaves it on until a
   * signal is wasted, then switches it off while the owner reads for {@link TOGGLE_FOR} wake-ups;
   * `TUNKIT_SIGIO=sticky` always on, `TUNKIT_SIGIO=toggle` always off (see deliver()).
   */
  private readonly mode: "auto" | "sticky" | "toggle" = (() => {
    const m = globalThis.process?.env?.TUNKIT_SIGIO;
    return m === "sticky" || m === "toggle" ? m : "auto";
  })();
  /** Signals that found nothing armed, and wake-ups whose owner found nothing to read. */
  wasted = 0;
  /** fcntl calls that switched O_ASYNC on or off. */
  switches = 0;

  static available(): boolean {
    const p = globalThis.process as { on?: unknown; env?: Record<string, string | undefined> } | undefined;
    return runtime === "bun" && typeof p?.on === "function" && p.env?.TUNKIT_POLLER !== "epoll";
  }

  watch(fd: number, cb: (events: number) => void): Watch {
    if (!this.installed) {
      this.installed = true;
      // Installed once and never removed: SIGIO's default action ends the process.
      process.on("SIGIO", () => this.onSignal());
    }
    const flags = sys.fcntl(fd, F.GETFL) & ~O_ASYNC;
    sys.fcntl(fd, F_SETOWN, process.pid);
    const h: SigHandle = { fd, cb, flags, armed: false, async: false, toggle: 0, suspect: false, closed: false };
    this.all.push(h);
    return {
      get armed() {
        return h.armed;
      },
      arm: () => this.arm(h),
      disarm: () => {
        if (!this.disarm(h) || !h.async) return;
        h.async = false;
        raw.fcntl(h.fd, F.SETFL, h.flags);
        this.switches++;
      },
      close: () => this.close(h),
      wasted: () => this.onWasted(h),
      quiet: () => {
        if (h.armed || !h.async) return;
        h.async = false;
        raw.fcntl(h.fd, F.SETFL, h.flags);
        this.switches++;
      },
    };
  }

  /** The owner found nothing after a wake-up: its signals come for packets it reads anyway. */
  private onWasted(h: SigHandle): void {
    this.wasted++;
    if (this.mode === "auto") h.toggle = TOGGLE_FOR;
  }

  private arm(h: SigHandle): void {
    if (h.closed || h.armed) return;
    h.armed = true;
    h.suspect = false;
    this.armed.push(h);
    if (this.armed.length === 1) this.keep(true);
    if (!h.async) {
      h.async = true;
      raw.fcntl(h.fd, F.SETFL, h.flags | O_ASYNC);
      this.switches++;
      // Data that came while O_ASYNC was off raised no signal: look once.
      if (this.poll(h.fd) !== 0) queueMicrotask(() => this.deliver(h));
    }
  }

  private close(h: SigHandle): void {
    if (h.closed) return;
    h.closed = true;
    this.disarm(h);
    const i = this.all.indexOf(h);
    if (i >= 0) this.all.splice(i, 1);
    // The fd may be closed already: errors ignored.
    if (h.async) raw.fcntl(h.fd, F.SETFL, h.flags);
    h.async = false;
  }

  private disarm(h: SigHandle): boolean {
    if (!h.armed) return false;
    h.armed = false;
    const i = this.armed.indexOf(h);
    if (i >= 0) this.armed.splice(i, 1);
    if (this.armed.length === 0) this.keep(false);
    return true;
  }

  private deliver(h: SigHandle): void {
    if (!this.disarm(h)) return;
    let off = this.mode === "toggle";
    if (this.mode === "auto" && h.toggle > 0) {
      h.toggle--;
      off = true;
    }
    if (off && h.async) {
      // Off while the owner reads: the packets its own writes bring back (a TCP reply made in the
      // same softirq) would each raise a signal that finds nothing left to read.
      h.async = false;
      raw.fcntl(h.fd, F.SETFL, h.flags);
      this.switches++;
    }
    try {
      h.cb(EPOLL.IN);
    } catch (e) {
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  private onSignal(): void {
    this.signals++;
    const list = this.armed;
    if (list.length === 0) {
      // Raised while every owner was busy reading: the packet is theirs already.
      this.wasted++;
      if (this.mode === "auto") {
        for (const h of this.all) if (h.async) h.toggle = TOGGLE_FOR;
        this.quiet();
      } else if (++this.idle >= QUIET_AFTER) this.quiet();
      return;
    }
    this.idle = 0;
    for (const h of list.slice()) this.deliver(h);
  }

  /** O_ASYNC off on every fd nobody waits for (their owners are busy reading). */
  private quiet(): void {
    this.idle = 0;
    for (const h of this.all) {
      if (h.armed || !h.async) continue;
      h.async = false;
      raw.fcntl(h.fd, F.SETFL, h.flags);
      this.switches++;
    }
  }

  /** revents of poll(fd, POLLIN, 0): 0 when nothing is there. */
  private poll(fd: number): number {
    return Math.max(0, sys.pollOne(fd, POLL.IN, 0));
  }

  private keep(on: boolean): void {
    if (!on) {
      (this.timer as { unref?: () => void } | undefined)?.unref?.();
      return;
    }
    if (this.timer) (this.timer as { ref?: () => void }).ref?.();
    else this.timer = setInterval(() => this.check(), CHECK_MS);
  }

  /** Delivers now every armed fd in error (a deleted device), without waiting for the backstop. */
  recheck(): void {
    for (const h of this.armed.slice()) if (this.poll(h.fd) & (POLL.ERR | POLL.HUP)) this.deliver(h);
  }

  /** The backstop: a deleted device, or data no signal announced. */
  private check(): void {
    for (const h of this.armed.slice()) {
      const r = this.poll(h.fd);
      if (r === 0) continue;
      if (r & (POLL.ERR | POLL.HUP)) this.deliver(h);
      else if (h.suspect) {
        this.lost++;
        this.deliver(h);
      } else h.suspect = true;
    }
  }
}

const signalPoller = SignalPoller.available() ? new SignalPoller() : undefined;

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

/**
 * Like {@link watch} for readability, by the cheapest wake-up the runtime offers: signal-driven
 * I/O under Bun (SIGIO on the JS thread, no helper thread; see the module notes), the epoll
 * helper thread elsewhere or with `TUNKIT_POLLER=epoll`. For fds whose driver raises SIGIO on
 * data (tun/tap, sockets, pipes); one owner per fd, and nothing else may set O_ASYNC on it.
 *
 * @example
 * ```ts
 * import { watchReadable } from "./poller.ts";
 * declare const fd: number; // non-blocking
 * declare function drainUntilEagain(): void;
 * const w = watchReadable(fd, () => { drainUntilEagain(); w.arm(); });
 * w.arm();
 * ```
 */
export function watchReadable(fd: number, cb: (events: number) => void): Watch {
  if (signalPoller && globalThis.process?.env?.TUNKIT_POLLER !== "epoll") return signalPoller.watch(fd, cb);
  return poller.watch(fd, cb);
}

/**
 * Counters of the signal-driven wake-ups (undefined where they are not used): `signals`
 * delivered, `lost`, the wake-ups the 1 s backstop had to make because no signal came, and
 * `wasted`, signals that found nothing armed or whose owner found nothing to read, and
 * `switches`, the fcntl calls that turned O_ASYNC on or off.
 *
 * @example
 * ```ts
 * import { signalWakeStats } from "./poller.ts";
 * console.log(signalWakeStats()?.lost ?? 0); // 0
 * ```
 */
export function signalWakeStats(): { signals: number; lost: number; wasted: number; switches: number } | undefined {
  const p = signalPoller;
  return p && { signals: p.signals, lost: p.lost, wasted: p.wasted, switches: p.switches };
}

/**
 * Looks now at every fd waiting for a signal-driven wake-up and delivers those in error: a
 * deleted tun raises no SIGIO, so a caller that learns of the deletion (an RTM_DELLINK) calls
 * this instead of waiting up to a second for the backstop. A no-op on the epoll path, where the
 * helper thread sees the error itself.
 *
 * @example
 * ```ts
 * import { recheckReadable } from "./poller.ts";
 * recheckReadable(); // after a monitor reported the device deleted
 * ```
 */
export function recheckReadable(): void {
  signalPoller?.recheck();
}

/** {@link Linger.wait}'s answers. */
export const LINGER = { TIMEOUT: 0, READY: 1, LOOP: 2 } as const;

/**
 * A short blocking wait for one fd on the JS thread that still ends at once when the runtime's
 * own event loop has something to do: an epoll set of the fd (level-triggered) and of Bun's
 * event-loop epoll fd (nested: readable while Bun's set has ready events). For an owner that
 * expects its next packet within a fraction of a millisecond (a UDP query after its answer was
 * written): the packet wakes the thread as an epoll wake-up (as hev-socks5-tunnel's epoll loop
 * is woken), not as a signal whose handler wakes Bun's loop that then runs the listener (the
 * signal's frame, an eventfd write, rt_sigreturn and a second epoll_pwait2 per wake-up). Timers
 * are the only work it delays, by at most the wait's timeout. Bun only (Bun's loop fd is found
 * in /proc/self/fd: the process's first epoll fd, made before any script runs).
 */
export class Linger {
  private epfd: number;
  private readonly events = new Uint8Array(new ArrayBuffer(1024)).subarray(0, 64);
  private readonly view = new DataView(this.events.buffer, 0, 64);
  private readonly size = epollEventSize(arch);
  private readonly dataOff = epollDataOffset(arch);
  /** Waits that ended by the fd, by the loop (or a signal), by the timeout. */
  ready = 0;
  loop = 0;
  timeouts = 0;

  private constructor(epfd: number) {
    this.epfd = epfd;
  }

  /** A linger for `fd`, or undefined where it cannot work (not Bun, Bun's loop fd not found, `TUNKIT_LINGER=0`). */
  static on(fd: number): Linger | undefined {
    if (runtime !== "bun" || globalThis.process?.env?.TUNKIT_LINGER === "0") return undefined;
    const loopFd = bunLoopFd();
    if (loopFd < 0) return undefined;
    const epfd = raw.epoll_create1(EPOLL.CLOEXEC);
    if (epfd < 0) return undefined;
    const ev = new Uint8Array(new ArrayBuffer(1024)).subarray(0, 16);
    if (raw.epoll_ctl(epfd, EPOLL.CTL_ADD, fd, packEpollEvent(arch, EPOLL.IN, LINGER.READY, ev)) < 0 || raw.epoll_ctl(epfd, EPOLL.CTL_ADD, loopFd, packEpollEvent(arch, EPOLL.IN, LINGER.LOOP, ev)) < 0) {
      raw.close(epfd);
      return undefined;
    }
    return new Linger(epfd);
  }

  /**
   * Blocks up to `ms` (1..10) until the fd is readable ({@link LINGER}.READY), the event loop has
   * events or a signal came (LOOP: give it a turn), or the time is up (TIMEOUT).
   */
  wait(ms: number): number {
    if (this.epfd < 0) return LINGER.TIMEOUT;
    const n = raw.epoll_wait(this.epfd, this.events, 4, ms);
    if (n === 0) {
      this.timeouts++;
      return LINGER.TIMEOUT;
    }
    if (n < 0) {
      if (errno() !== ERRNO.EINTR) this.timeouts++;
      this.loop++;
      return LINGER.LOOP;
    }
    for (let i = 0; i < n; i++) {
      if (this.view.getUint32(i * this.size + this.dataOff, true) === LINGER.READY) {
        this.ready++;
        return LINGER.READY;
      }
    }
    this.loop++;
    return LINGER.LOOP;
  }

  /** Closes the epoll set (the fd itself stays open). Idempotent. */
  close(): void {
    if (this.epfd >= 0) raw.close(this.epfd);
    this.epfd = -1;
  }
}

let loopFdCache: number | undefined;

/** Bun's event-loop epoll fd: the lowest-numbered epoll fd of the process (made at start-up, before any script), or -1. */
function bunLoopFd(): number {
  if (loopFdCache !== undefined) return loopFdCache;
  let best = -1;
  try {
    for (const name of sys.readDir("/proc/self/fd")) {
      const fd = Number(name);
      if (!Number.isInteger(fd) || (best >= 0 && fd >= best)) continue;
      try {
        if (sys.readLink(`/proc/self/fd/${name}`) === "anon_inode:[eventpoll]") best = fd;
      } catch {
        /* closed meanwhile (the listing's own fd) */
      }
    }
  } catch {
    best = -1;
  }
  return (loopFdCache = best);
}
