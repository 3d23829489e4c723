/**
 * Readiness of many sockets on the JS thread without a helper thread: each socket raises a signal
 * (O_ASYNC, F_SETOWN to this process, F_SETSIG SIGURG) when it becomes readable, writable after a full send
 * buffer, connected, reset or closed; the signal's listener (Bun runs it on the JS thread) asks an
 * epoll set of our own, `epoll_wait(0)`, which of them are ready. One signal and one
 * epoll_wait per wake-up whatever the number of sockets watched, against the epoll helper
 * thread's cross-thread hop per wake-up (ffi/poller.ts `watch`), which cost the splice relay
 * ~5.7 hops per short connection.
 *
 * - Watches are one-shot (EPOLLONESHOT), armed with the events wanted this time.
 * - A signal's listener runs after the JS that is running now: readiness that comes after an
 *   owner saw EAGAIN raises a signal whose look finds the fd armed by then, so a look is one
 *   epoll_wait (two only when it filled its event array), not one more to catch the fds its
 *   callbacks re-armed. Arms made outside a look (a connect started from a tun packet, an accept
 *   resumed after a back-off) schedule one look in a microtask, shared by the turn's arms, for
 *   a readiness whose signal an earlier look used up while the fd was not armed.
 * - Signals coalesce; a look that finds nothing costs one epoll_wait. Nothing may sleep on a lost signal: while
 *   anything is armed, a look every second is the backstop ({@link SigPoll.lost} counts what
 *   only it found).
 * Bun only (it needs `process.on(SIGNAL)` on the JS thread); {@link sigPollAvailable}.
 *
 * @module
 */
import { EPOLL } from "./abi.ts";
import { arch, raw, runtime, sys } from "./libc.ts";
import { epollDataOffset, epollEventSize, packEpollEvent } from "./abi.ts";
import type { Watch } from "./poller.ts";

const F_SETFL = 4;
const F_SETOWN = 8;
const F_SETSIG = 10;
/**
 * The signal our sockets raise instead of SIGIO (F_SETSIG): SIGIO is the tun queues' wake-up
 * (ffi/poller.ts), whose listener answers every SIGIO with a read and two fcntl per waiting
 * queue; on SIGIO our sockets cost 133 system calls per short connection against 82 on the
 * helper thread. SIGURG is ignored by default, and a socket raises it only for TCP urgent data
 * otherwise (then one look finds nothing: harmless).
 */
const SIGNAL = "SIGURG";
const SIGNAL_NO = 23;
const O_NONBLOCK = 0o4000;
const O_ASYNC = 0o20000;
const MAX_EVENTS = 128;

/**
 * One watched fd: the entry of the epoll set and its {@link Watch} at once, methods on the
 * prototype (no closures per fd: 5,000 held flows are 10,000 of these).
 */
class SigWatch implements Watch {
  fd: number;
  cb: (events: number) => void;
  armed = false;
  ev = 0;
  /** The backstop's tick when this arm was made. */
  tick = 0;
  token: number;
  closed = false;
  readonly poll: SigPoll;

  constructor(poll: SigPoll, fd: number, cb: (events: number) => void, token: number) {
    this.poll = poll;
    this.fd = fd;
    this.cb = cb;
    this.token = token;
  }

  arm(ev: number = EPOLL.IN): void {
    if (this.closed || (this.armed && this.ev === ev)) return;
    this.poll.arm(this, ev);
  }

  disarm(): void {
    if (this.closed || !this.armed) return;
    this.poll.disarm(this);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.poll.drop(this);
  }
}

/**
 * Signal-driven readiness for many sockets (see the module notes); one per process, from
 * {@link sigPoll}.
 *
 * @example
 * ```ts
 * import { sigPoll } from "./sigpoll.ts";
 * import { EPOLL } from "./abi.ts";
 * declare const fd: number; // a connecting non-blocking socket
 * const w = sigPoll().watch(fd, (ev) => { if (ev & EPOLL.OUT) w.close(); });
 * w.arm(EPOLL.OUT);
 * ```
 */
export class SigPoll {
  private readonly epfd: number;
  private readonly size = epollEventSize(arch);
  private readonly dataOff = epollDataOffset(arch);
  private readonly events = new Uint8Array(new ArrayBuffer(MAX_EVENTS * 16 + 1024)).subarray(0, MAX_EVENTS * 16);
  private readonly view = new DataView(this.events.buffer, this.events.byteOffset, this.events.length);
  private readonly ev = new Uint8Array(new ArrayBuffer(1024)).subarray(0, 16);
  private readonly entries: Array<SigWatch | undefined> = [undefined];
  private readonly free: number[] = [];
  private armedCount = 0;
  private scheduled = false;
  private looking = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly pid: number;
  /** Backstop ticks so far. */
  private tick = 0;
  /** Signals seen, looks made, events delivered, and events only the backstop found. */
  signals = 0;
  looks = 0;
  delivered = 0;
  lost = 0;

  constructor() {
    this.epfd = sys.epollCreate();
    this.pid = process.pid;
    process.on(SIGNAL, () => {
      this.signals++;
      this.look(false);
    });
  }

  /** Watches `fd` (a non-blocking socket this process owns); `cb` runs once per arm(). */
  watch(fd: number, cb: (events: number) => void): Watch {
    let token = this.free.pop();
    if (token === undefined) token = this.entries.length;
    const e = new SigWatch(this, fd, cb, token);
    this.entries[token] = e;
    this.ctl(EPOLL.CTL_ADD, fd, EPOLL.ONESHOT, token);
    raw.fcntl(fd, F_SETOWN, this.pid);
    raw.fcntl(fd, F_SETSIG, SIGNAL_NO);
    raw.fcntl(fd, F_SETFL, O_NONBLOCK | O_ASYNC);
    return e;
  }

  /** @internal SigWatch.arm */
  arm(e: SigWatch, ev: number): void {
    if (!e.armed) {
      e.armed = true;
      e.tick = this.tick;
      if (this.armedCount++ === 0) this.keep(true);
    }
    e.ev = ev;
    this.ctl(EPOLL.CTL_MOD, e.fd, ev | EPOLL.ONESHOT, e.token);
    this.schedule();
  }

  /** @internal SigWatch.disarm: registered with no events until the next arm(). */
  disarm(e: SigWatch): void {
    e.armed = false;
    this.armedCount--;
    this.ctl(EPOLL.CTL_MOD, e.fd, EPOLL.ONESHOT, e.token);
  }

  /** @internal SigWatch.close */
  drop(e: SigWatch): void {
    if (e.armed) {
      e.armed = false;
      this.armedCount--;
    }
    raw.epoll_ctl(this.epfd, EPOLL.CTL_DEL, e.fd, null); // the fd may be closed already
    this.entries[e.token] = undefined;
    this.free.push(e.token);
  }

  private ctl(op: number, fd: number, events: number, token: number): void {
    raw.epoll_ctl(this.epfd, op, fd, packEpollEvent(arch, events, token, this.ev));
  }

  private schedule(): void {
    if (this.scheduled || this.looking) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.look(false);
    });
  }

  /** Delivers every ready watch until none is left. */
  private look(backstop: boolean): void {
    if (this.looking) return;
    this.looking = true;
    try {
      for (;;) {
        this.looks++;
        const n = raw.epoll_wait(this.epfd, this.events, MAX_EVENTS, 0);
        if (n <= 0) break;
        const v = this.view;
        for (let i = 0; i < n; i++) {
          const o = i * this.size;
          const e = this.entries[v.getUint32(o + this.dataOff, true)];
          if (!e || !e.armed) continue;
          // Found by the backstop although armed before its previous tick: no signal came for
          // it in over a second (a signal merely not yet run is not counted).
          if (backstop && e.tick < this.tick - 1) this.lost++;
          e.armed = false;
          if (--this.armedCount === 0) this.keep(false);
          this.delivered++;
          try {
            e.cb(v.getUint32(o, true));
          } catch (x) {
            queueMicrotask(() => {
              throw x;
            });
          }
        }
        if (n < MAX_EVENTS) break;
      }
    } finally {
      this.looking = false;
    }
  }

  private keep(on: boolean): void {
    if (on && !this.timer) {
      this.timer = setInterval(() => {
        this.tick++;
        this.look(true);
      }, 1000);
      (this.timer as { unref?: () => void }).unref?.();
    }
  }
}

let shared: SigPoll | undefined;

/** Whether {@link sigPoll} can run here (Bun, not turned off with `TUNKIT_POLLER=epoll` or `TUNKIT_RELAY_WAKE=epoll`). */
export function sigPollAvailable(): boolean {
  const p = globalThis.process as { on?: unknown; env?: Record<string, string | undefined> } | undefined;
  return runtime === "bun" && typeof p?.on === "function" && p.env?.TUNKIT_POLLER !== "epoll" && p.env?.TUNKIT_RELAY_WAKE !== "epoll";
}

/**
 * The process's signal-driven socket poller (made on first use).
 *
 * @example
 * ```ts
 * import { sigPoll } from "./sigpoll.ts";
 * declare const fd: number; // a non-blocking socket
 * const w = sigPoll().watch(fd, (ev) => { w.arm(); });
 * w.arm();
 * ```
 */
export function sigPoll(): SigPoll {
  return (shared ??= new SigPoll());
}
