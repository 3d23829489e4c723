/**
 * Readiness of many sockets on the JS thread without a helper thread: one epoll set of our own,
 * edge-triggered, asked without waiting (`epoll_wait(0)`) once per event-loop turn in which
 * something may have become ready, and every fd registered once (no epoll_ctl per arm).
 *
 * What makes a turn look:
 * - a signal: a "loud" socket (the proxy side: bytes from the network) raises SIGURG (O_ASYNC,
 *   F_SETOWN to this process, F_SETSIG) when it becomes readable, writable after a full send
 *   buffer, connected, reset or closed. The signal's listener only schedules the turn's look
 *   (a microtask): signals that land in one turn make one look.
 * - {@link SigPoll.poke}: a "quiet" socket raises no signal (no fcntl either). It is for a socket
 *   whose every readiness comes from a write this process makes, as the relay's accepted
 *   connections, whose peer is behind the tun the tunnel writes: the tunnel pokes after it
 *   writes, the kernel having delivered the packet within that write.
 * - an arm() that finds readiness an earlier look saw while the fd was not armed.
 * - a new watch: the fd's state when it was registered.
 * - a look every second while anything is armed: the backstop ({@link SigPoll.lost} counts what
 *   it found after a second in which nothing else looked; 0 in the tests).
 *
 * Edge-triggered: epoll reports an fd when its state changes (bytes arrive, send space opens
 * after EAGAIN, an error), with its state at the look. An armed watch gets the events it was
 * armed for (and errors, hang-ups); a look that finds readable (or an error) on an fd not armed
 * for it keeps that in the watch for its next arm(), so nothing is lost between a look and an arm.
 * Writable is not kept: an owner arms for it only after a write saw EAGAIN, and the space that
 * opens after that is a new edge. An owner arms after it saw EAGAIN (or has nothing to try yet).
 *
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
const EPOLLPRI = 0x002;
/**
 * What every fd is registered for, once. EPOLLRDHUP and EPOLLPRI come with EPOLLIN to a watch
 * armed for it: an owner that sees neither may take a short read as "drained" (see
 * {@link SigPoll.watch}).
 */
const REGISTERED = EPOLL.IN | EPOLLPRI | EPOLL.OUT | EPOLL.RDHUP | EPOLL.ET;
/** Always delivered to an armed watch, whatever it was armed for. */
const ALWAYS = EPOLL.ERR | EPOLL.HUP;
/** Delivered with EPOLLIN to a watch armed for it. */
const WITH_IN = EPOLL.IN | EPOLLPRI | EPOLL.RDHUP;
/** Kept for the next arm() when seen on a watch not armed for them. */
const KEPT = EPOLL.IN | EPOLLPRI | EPOLL.RDHUP | EPOLL.ERR | EPOLL.HUP;
/**
 * The epoll data word: a watch's slot (low bits) and the slot's generation (high bits), so that
 * an event of a closed fd whose registration outlived it (the fd held by a child for a moment)
 * never reaches the slot's next watch. The fd's close ends its registration: no EPOLL_CTL_DEL.
 */
const SLOT_BITS = 20;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
const GEN_MASK = (1 << (32 - SLOT_BITS)) - 1;

/**
 * One watched fd: the entry of the epoll set and its {@link Watch} at once, methods on the
 * prototype (no closures per fd: 5,000 held flows are 10,000 of these).
 */
class SigWatch implements Watch {
  fd: number;
  cb: (events: number) => void;
  /** `this` of `cb` (an owner's object: no closure per fd). */
  ctx: unknown;
  armed = false;
  /** What the current arm waits for. */
  want = 0;
  /** Events a look saw while this watch was not armed for them ({@link KEPT}). */
  kept = 0;
  /** The backstop's tick when this arm was made. */
  tick = 0;
  readonly slot: number;
  readonly key: number;
  closed = false;
  readonly poll: SigPoll;

  constructor(poll: SigPoll, fd: number, cb: (events: number) => void, ctx: unknown, slot: number, key: number) {
    this.poll = poll;
    this.fd = fd;
    this.cb = cb;
    this.ctx = ctx;
    this.slot = slot;
    this.key = key;
  }

  arm(ev: number = EPOLL.IN): void {
    if (this.closed) return;
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
 * Readiness for many sockets, one look per event-loop turn (see the module notes); one per
 * process, from {@link sigPoll}.
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
  private readonly gens: number[] = [0];
  private readonly free: number[] = [];
  /** Watches armed with kept events that match: delivered by the next flush, no look needed. */
  private readonly ready: SigWatch[] = [];
  private armedCount = 0;
  /** A flush is queued (microtask) / running; an epoll_wait is owed by it. */
  private scheduled = false;
  private looking = false;
  private owed = false;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly pid: number;
  /** Backstop ticks so far. */
  private tick = 0;
  /** Looks made other than the backstop's, and their number at the last tick. */
  private woken = 0;
  private wokenAtTick = 0;
  /**
   * Signals seen, looks made (epoll_wait calls), pokes taken, events delivered, and events the
   * backstop found after a second in which nothing else looked (readiness nothing told of).
   */
  signals = 0;
  looks = 0;
  pokes = 0;
  delivered = 0;
  lost = 0;

  constructor() {
    this.epfd = sys.epollCreate();
    this.pid = process.pid;
    process.on(SIGNAL, () => {
      this.signals++;
      this.owed = true;
      this.schedule();
    });
  }

  /**
   * Watches `fd` (a non-blocking socket this process owns); `cb` runs once per arm(). `quiet`:
   * no signal for this fd; its readiness is found by the look a {@link poke} asks for (or a
   * signal of another fd, or the backstop). `ctx`: `this` for `cb` (one shared function for
   * many fds, instead of a closure each).
   *
   * A watch armed for EPOLLIN also gets EPOLLRDHUP (the peer's FIN) and EPOLLPRI (urgent data)
   * as they were at the look. Without either, a TCP read that returns less than it asked has
   * emptied the socket: what arrives after it is a new edge, which a later look reports. So an
   * owner may skip the read that would only say EAGAIN; with either, it reads on (a FIN already
   * queued raises no edge of its own, and urgent data stops a read short).
   */
  watch<T>(fd: number, cb: (this: T, events: number) => void, quiet = false, ctx?: T): Watch {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.entries.length;
      if (slot > SLOT_MASK) throw new RangeError(`sigpoll: more than ${SLOT_MASK} fds watched at once`);
      this.gens.push(0);
    }
    const gen = (this.gens[slot] = (this.gens[slot]! + 1) & GEN_MASK);
    const key = ((gen << SLOT_BITS) | slot) >>> 0;
    const e = new SigWatch(this, fd, cb as (events: number) => void, ctx, slot, key);
    this.entries[slot] = e;
    if (raw.epoll_ctl(this.epfd, EPOLL.CTL_ADD, fd, packEpollEvent(arch, REGISTERED, key, this.ev)) < 0) {
      // EEXIST: an fd whose old registration is still there (closed watch, fd kept open)
      raw.epoll_ctl(this.epfd, EPOLL.CTL_MOD, fd, this.ev);
    }
    if (!quiet) {
      raw.fcntl(fd, F_SETOWN, this.pid);
      raw.fcntl(fd, F_SETSIG, SIGNAL_NO);
      raw.fcntl(fd, F_SETFL, O_NONBLOCK | O_ASYNC);
    }
    // What the fd became before it raised signals (a loopback connect done within connect())
    // sits in the set with no signal to tell: the turn's look takes it.
    this.owed = true;
    this.schedule();
    return e;
  }

  /**
   * Asks for one look at the end of this turn (a microtask): the caller has just written
   * something that may have made quiet fds ready. Pokes in one turn make one look. (A look
   * even when nothing is armed: an edge it finds is kept for the fd's next arm.)
   */
  poke(): void {
    this.pokes++;
    this.owed = true;
    this.schedule();
  }

  /** @internal SigWatch.arm: no system call. */
  arm(e: SigWatch, ev: number): void {
    if (!e.armed) {
      e.armed = true;
      e.tick = this.tick;
      if (this.armedCount++ === 0) this.keep(true);
    }
    e.want = ev;
    if (e.kept & (ev & EPOLL.IN ? ev | WITH_IN | ALWAYS : ev | ALWAYS)) {
      this.ready.push(e);
      this.schedule();
    }
  }

  /** @internal SigWatch.disarm */
  disarm(e: SigWatch): void {
    e.armed = false;
    this.armedCount--;
  }

  /** @internal SigWatch.close: the fd's close ends its registration. */
  drop(e: SigWatch): void {
    if (e.armed) {
      e.armed = false;
      this.armedCount--;
    }
    this.entries[e.slot] = undefined;
    this.free.push(e.slot);
  }

  private schedule(): void {
    if (this.scheduled || this.looking) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.flush(false);
    });
  }

  /** Hands `e` what it waits for among `ev` and what it kept, or keeps `ev` for its next arm. */
  private offer(e: SigWatch, ev: number, backstop: boolean): void {
    const all = ev | e.kept;
    const got = e.armed ? all & (e.want & EPOLL.IN ? e.want | WITH_IN | ALWAYS : e.want | ALWAYS) : 0;
    if (got === 0) {
      e.kept = all & KEPT;
      return;
    }
    e.kept = all & KEPT & ~got;
    // Found by the backstop's look after a second without any other, armed before that second.
    if (backstop && e.tick < this.tick - 1) this.lost++;
    e.armed = false;
    if (--this.armedCount === 0) this.keep(false);
    this.delivered++;
    try {
      e.cb.call(e.ctx, got);
    } catch (x) {
      queueMicrotask(() => {
        throw x;
      });
    }
  }

  /**
   * Delivers the ready watches, then looks while a look is owed (callbacks may owe another).
   * `backstop`: the backstop's look after a second without any other (what it finds is lost).
   */
  private flush(backstop: boolean): void {
    if (this.looking) return;
    this.looking = true;
    try {
      for (;;) {
        while (this.ready.length) {
          const e = this.ready.pop()!;
          if (!e.closed) this.offer(e, 0, false);
        }
        if (!this.owed) break;
        this.owed = false;
        this.looks++;
        if (!backstop) this.woken++;
        const n = raw.epoll_wait(this.epfd, this.events, MAX_EVENTS, 0);
        if (n <= 0) continue;
        if (n === MAX_EVENTS) this.owed = true;
        const v = this.view;
        for (let i = 0; i < n; i++) {
          const o = i * this.size;
          const key = v.getUint32(o + this.dataOff, true);
          const e = this.entries[key & SLOT_MASK];
          if (!e || e.key !== key) continue;
          this.offer(e, v.getUint32(o, true), backstop);
        }
      }
    } finally {
      this.looking = false;
    }
  }

  private keep(on: boolean): void {
    if (on && !this.timer) {
      this.timer = setInterval(() => {
        this.tick++;
        // Only a second in which nothing else looked can have left readiness behind: any look
        // takes every ready fd of the set. (A look owed to a signal not yet run is no loss.)
        const quiet = this.woken === this.wokenAtTick;
        this.wokenAtTick = this.woken;
        if (this.armedCount === 0) return;
        this.owed = true;
        this.flush(quiet);
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
