/**
 * {@link TunQueue}: packet I/O on one tun/tap file descriptor (one queue of a device).
 *
 * The fd is non-blocking. Reads drain it until EAGAIN on the JS thread and, only when it is
 * empty, ask the process-wide poller (ffi/poller.ts) for one wake-up: no read ever blocks the
 * event loop, a busy queue never touches the poller, an idle one costs no CPU. Batches yield to
 * the event loop (setImmediate) every `yieldEvery` packets so timers stay served under load;
 * listen() also reads once more after one turn before it waits (`recheck`), and a caller that
 * knows its next write brings a packet back wakes the reader itself ({@link TunQueue.kick}); one
 * that expects a packet within a fraction of a millisecond (a UDP client's next query after its
 * answer) has the reader wait for it in a short blocking epoll_wait ({@link TunQueue.expect}).
 *
 * Not `Bun.file(fd).stream()` (the fd in Bun's own epoll): it read a UDP round trip's query for
 * 5-15% less CPU than the signal, but Bun reads until EAGAIN into one buffer, each read given the
 * room left, and the tun driver cuts a packet to the room it is given (bench/udp-rt.ts, twelfth
 * session). A loop blocking in its own epoll_wait on a thread of its own is what beat
 * hev-socks5-tunnel there.
 *
 * @module
 */
import { raw, errno, addr, sys, ERRNO, type Ptr } from "../ffi/libc.ts";
import { DeviceClosedError, SysError } from "../ffi/errors.ts";
import { watchReadable, Linger, LINGER, type Watch } from "../ffi/poller.ts";
import { UsageError } from "../common/errors.ts";

/** Largest packet a tun/tap read can return (64 KiB IP packet + headers). */
export const MAX_PACKET: number = 65536 + 64;

/** Options of {@link TunQueue.listen} and {@link TunQueue.packets}. */
export interface ListenOptions {
  /** Stops the loop when aborted. */
  signal?: AbortSignal;
  /** Packets handled before yielding to the event loop. Default 256. */
  yieldEvery?: number;
  /**
   * listen() only: after traffic, keep reading (non-blocking) this many microseconds before
   * waiting through the poller, like NAPI busy polling. Default 0 (off). Cuts the wake-up latency
   * a ping-pong pays per round trip; costs CPU only while packets keep coming. 0..10000.
   */
  busyPollUs?: number;
  /**
   * listen() only: when a batch read packets and then found the queue empty, give the event
   * loop one turn (setImmediate) and read again before waiting through the poller; wait only
   * when a batch finds nothing at all. Default true (`TUNKIT_TUN_RECHECK=0` turns the default
   * off, for side-by-side measurement). A flow that keeps the queue busy (bulk TCP: the loop's
   * turn writes to the relay's sockets, whose segments come straight back through the tun) then
   * never arms the wake-up: no signal, no fcntl, no poll per burst; an idle queue pays one empty
   * read per burst. A batch of one packet after four rechecks in a row that found nothing waits
   * at once (request/answer traffic: a UDP query's answer comes a proxy's round trip later),
   * until a recheck finds packets again (a batch of more than one, or every 16th lone packet,
   * still rechecks).
   */
  recheck?: boolean;
  /**
   * listen() only: after {@link TunQueue.expect}, the next wait blocks in a {@link Linger} for up
   * to this many microseconds (the tun and the event loop's own epoll fd in one set) instead of
   * waiting for the signal: the expected packet then wakes the thread as an epoll wake-up. Timers
   * wait at most this long; nothing else does (the loop's events end the wait). Default
   * {@link DEFAULT_LINGER_US} (off), `TUNKIT_TUN_LINGER_US` (0..10000; 0: off).
   */
  lingerUs?: number;
}

/** Lingers in a row that the event loop's events end, with no packet between, before the reader waits for the signal. */
const LINGER_LOOPS = 8;
/**
 * Default {@link ListenOptions.lingerUs}: off. On (1000) it cut a UDP round trip's calls from 10.7
 * to 9.1-10.0 and its signal, but the A/B showed no gain in answers/s at load 7-20 (paired with
 * main 1.05-1.10x, then 0.83x) and idle CPU after the flow 1.3-1.8% against 0.7-0.8%: opt in
 * with `TUNKIT_TUN_LINGER_US=1000` (or the option) to measure it again. Eleventh session, same
 * run as main and hev, load 13-24 (bench/udp-rt.ts, 7 rounds): paired with the default 0.68x,
 * 10.4 calls per round trip against 11.1: still off.
 */
export const DEFAULT_LINGER_US = 0;
const LINGER_US = (() => {
  const v = Number(globalThis.process?.env?.TUNKIT_TUN_LINGER_US);
  return Number.isInteger(v) && v >= 0 && v <= 10_000 ? v : DEFAULT_LINGER_US;
})();

const RECHECK = globalThis.process?.env?.TUNKIT_TUN_RECHECK !== "0";
/** Rechecks in a row that found nothing before a lone packet's batch stops rechecking. */
const RECHECK_MISSES = 4;
/** While stopped, every this many lone packets' batches recheck anyway (a flow that turned busy). */
const RECHECK_PROBE = 16;

type Waiter = { resolve: () => void; reject: (e: unknown) => void };

const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Packet I/O on one queue of a tun/tap device. Obtained from {@link TunDevice} (`dev.queues`);
 * a TunDevice is itself its first queue.
 *
 * @example
 * ```ts
 * import { openTun } from "../mod.ts";
 * const dev = openTun({ name: "tun%d" });
 * const buf = new Uint8Array(2048);
 * const n = await dev.readInto(buf); // next packet, without blocking the event loop
 * dev.write(buf.subarray(0, n));     // and back in
 * dev.close();
 * ```
 */
export class TunQueue {
  /** The file descriptor (non-blocking). -1 once closed. */
  fd: number;
  /** Interface name (kept up to date by TunDevice.rename). */
  name: string;
  private watcher: Watch | undefined;
  /** listen()'s reads that found the queue empty (EAGAIN). */
  emptyReads = 0;
  /** The watcher woke the readers (not kick()): listen() reports a wake-up that found nothing. */
  private woken = false;
  private waiters: Waiter[] = [];
  private closedBy: DeviceClosedError | undefined;
  private readonly scratch = new Uint8Array(MAX_PACKET);
  private scratchPtr: Ptr;
  /** listen()'s next wait lingers ({@link expect}). */
  private expecting = false;
  /** The linger's epoll set (made on first use; null where it cannot work). */
  private lingerer: Linger | null | undefined;

  /** @internal use openTun()/TunDevice.fromFd() */
  constructor(fd: number, name: string) {
    this.fd = fd;
    this.name = name;
    this.scratchPtr = addr(this.scratch);
    sys.setNonBlocking(fd, true);
  }

  /** True once close() ran or the device was deleted. */
  get closed(): boolean {
    return this.closedBy !== undefined;
  }

  // --- synchronous, non-blocking primitives -------------------------------------------------

  /**
   * Reads one packet into `buf` at `offset` if one is queued. Returns its length, or -1 when the
   * queue is empty. Never blocks, never allocates.
   */
  tryRead(buf: Uint8Array, offset = 0): number {
    this.ensureOpen();
    for (;;) {
      const n = raw.readp(this.fd, addr(buf, offset), buf.length - offset);
      if (n >= 0) return n;
      const e = errno();
      if (e === ERRNO.EAGAIN) return -1;
      if (e === ERRNO.EINTR) continue;
      throw this.ioError("read", e);
    }
  }

  /**
   * Writes one packet (bytes `offset..offset+length` of `buf`). Returns the bytes written.
   * A tun write never waits: the kernel takes the packet or drops it.
   */
  write(buf: Uint8Array, offset = 0, length = buf.length - offset): number {
    this.ensureOpen();
    for (;;) {
      const n = offset === 0 ? raw.write(this.fd, buf, length) : raw.writep(this.fd, addr(buf, offset), length);
      if (n >= 0) return n;
      const e = errno();
      if (e === ERRNO.EINTR) continue;
      throw this.ioError("write", e);
    }
  }

  /**
   * Writes several packets (wireguard-go's `Write(bufs, offset)`): packet i is
   * `bufs[i].subarray(offset)`, or `offset..offset+sizes[i]` when `sizes` is given. Returns the
   * number of packets written.
   */
  writeBatch(bufs: readonly Uint8Array[], offset = 0, sizes?: ArrayLike<number>): number {
    for (let i = 0; i < bufs.length; i++) {
      const b = bufs[i]!;
      this.write(b, offset, sizes ? sizes[i]! : b.length - offset);
    }
    return bufs.length;
  }

  // --- asynchronous reads -------------------------------------------------------------------

  /** Resolves when the queue is readable (or rejects once it is closed/deleted or `signal` aborts). */
  waitReadable(signal?: AbortSignal): Promise<void> {
    this.ensureOpen();
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const w: Waiter = { resolve, reject };
      if (signal) {
        const onAbort = () => {
          const i = this.waiters.indexOf(w);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        w.resolve = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        w.reject = (e) => {
          signal.removeEventListener("abort", onAbort);
          reject(e);
        };
      }
      this.waiters.push(w);
      this.arm();
    });
  }

  /**
   * Wakes the readers waiting for this queue now, as if it had become readable, and cancels
   * their wake-up: for a caller whose next action makes the kernel queue a packet here at once
   * (a write into the tun, or to a socket whose segments are routed into it, as tun2socks' relay
   * does). The reader then finds that packet right after the caller's callback returns, and its
   * arrival raises no signal. A no-op when nobody waits (a reader busy draining); a kick that
   * brings no packet costs one empty read and the re-arm.
   *
   * @example
   * ```ts
   * import { openTun } from "../mod.ts";
   * const dev = openTun({ name: "tun%d" });
   * dev.kick(); // then write the packet whose answer comes straight back: listen() reads it without a wake-up
   * dev.close();
   * ```
   */
  kick(): void {
    if (this.waiters.length === 0) return;
    this.watcher?.disarm();
    this.onReadable();
  }

  /**
   * Says that a packet is expected on this queue within a fraction of a millisecond (tun2socks
   * wrote a UDP answer: a query/answer client sends its next query on it; or it forwarded a query
   * whose answer comes back through the event loop): listen()'s next wait lingers
   * ({@link ListenOptions.lingerUs}) instead of waiting for a signal. A waiting reader is woken
   * to linger. A no-op where lingering cannot work.
   *
   * @example
   * ```ts
   * import { openTun } from "../mod.ts";
   * const dev = openTun({ name: "tun%d" });
   * dev.expect(); // after writing an answer whose client asks again at once
   * dev.close();
   * ```
   */
  expect(): void {
    if (this.lingerer === null || this.expecting) return;
    this.expecting = true;
    if (this.waiters.length === 0) return;
    this.watcher?.disarm();
    this.onReadable();
  }

  /** Arms the one-shot readability watch (created on first use). */
  private arm(): void {
    this.watcher ??= watchReadable(this.fd, () => {
      this.woken = true;
      this.onReadable();
    });
    this.watcher.arm();
  }

  /** Wakes every pending reader; each retries its read. */
  private onReadable(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.resolve();
  }

  /**
   * Reads the next packet into `buf` at `offset`, waiting (without blocking the event loop) until
   * one arrives. Resolves with its length.
   */
  async readInto(buf: Uint8Array, offset = 0, signal?: AbortSignal): Promise<number> {
    for (;;) {
      const n = this.tryRead(buf, offset);
      if (n >= 0) return n;
      await this.waitReadable(signal);
    }
  }

  /** Reads the next packet into a new Uint8Array of its exact size. */
  async read(signal?: AbortSignal): Promise<Uint8Array> {
    const n = await this.readInto(this.scratch, 0, signal);
    return this.scratch.slice(0, n);
  }

  /**
   * wireguard-go's `Read(bufs, sizes, offset)`: waits for at least one packet, then reads up to
   * `bufs.length` packets that are already queued, packet i into `bufs[i]` at `offset`, its
   * length into `sizes[i]`. Resolves with the number of packets read.
   */
  async readBatch(bufs: readonly Uint8Array[], sizes: number[] | Int32Array | Uint32Array, offset = 0, signal?: AbortSignal): Promise<number> {
    for (;;) {
      let count = 0;
      while (count < bufs.length) {
        const n = this.tryRead(bufs[count]!, offset);
        if (n < 0) break;
        sizes[count++] = n;
      }
      if (count > 0) return count;
      await this.waitReadable(signal);
    }
  }

  /**
   * Calls `onPacket(buf, length)` for every packet until `signal` aborts or the queue closes.
   * `buf` is a reused buffer, valid only during the call (copy what you keep). The fastest way
   * to consume a queue: no allocation per packet, a yield to the event loop every `yieldEvery`
   * packets, no CPU while idle. Resolves when stopped by `signal` or close(); rejects with
   * {@link DeviceClosedError} when the device is deleted.
   *
   * `onPacket` returning `true` asks for one turn of the event loop before the next packet is
   * read: for a packet that started something the loop must finish soon (the tunnel's proxy
   * dial, whose connect completes while the packets behind it would otherwise be read first).
   */
  async listen(onPacket: (buf: Uint8Array, length: number) => void | boolean, opts: ListenOptions = {}): Promise<void> {
    const { signal } = opts;
    const yieldEvery = opts.yieldEvery ?? 256;
    if (!Number.isInteger(yieldEvery) || yieldEvery < 1) throw new UsageError(`Invalid yieldEvery "${yieldEvery}": expected a positive integer`);
    const spinMs = (opts.busyPollUs ?? 0) / 1000;
    if (!(spinMs >= 0 && spinMs <= 10)) throw new UsageError(`Invalid busyPollUs "${opts.busyPollUs}": expected 0..10000`);
    const recheck = opts.recheck ?? RECHECK;
    const lingerUs = opts.lingerUs ?? LINGER_US;
    if (!(Number.isInteger(lingerUs) && lingerUs >= 0 && lingerUs <= 10_000)) throw new UsageError(`Invalid lingerUs "${opts.lingerUs}": expected 0..10000`);
    const lingerMs = Math.max(1, Math.round(lingerUs / 1000));
    if (lingerUs === 0) this.lingerer = null;
    /** When the event loop last had a turn (a linger that keeps catching packets still gives it one per linger time). */
    let turnAt = 0;
    /** Lingers in a row that ended by the loop's events, not by a packet. */
    let loops = 0;
    const buf = this.scratch;
    const p = this.scratchPtr;
    const cap = buf.length;
    /** The batch that follows is a recheck's; rechecks in a row that found nothing; rechecks skipped since. */
    let rechecking = false;
    let emptyRechecks = 0;
    let skipped = 0;
    // One abort listener for the whole loop (not one added and removed per wait): an abort wakes
    // the waiting readers, and the loop sees it.
    const onAbort = () => this.onReadable();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal?.aborted) {
        this.ensureOpen();
        let k = 0;
        let turn = false;
        for (; k < yieldEvery; k++) {
          let n = raw.readp(this.fd, p, cap);
          if (n < 0) {
            const e = errno();
            if (e === ERRNO.EINTR) continue;
            if (e !== ERRNO.EAGAIN) throw this.ioError("read", e);
            this.emptyReads++;
            if (k === 0 || spinMs === 0) break;
            // Busy poll: the next packet of a ping-pong usually lands within microseconds.
            const until = performance.now() + spinMs;
            while ((n = raw.readp(this.fd, p, cap)) < 0 && errno() === ERRNO.EAGAIN && performance.now() < until);
            if (n < 0) {
              const e2 = errno();
              if (e2 === ERRNO.EAGAIN || e2 === ERRNO.EINTR) break;
              throw this.ioError("read", e2);
            }
          }
          turn = onPacket(buf, n) === true;
          if (this.fd < 0 || signal?.aborted) return;
          if (turn) break;
        }
        if (this.woken) {
          this.woken = false;
          if (k === 0) this.watcher?.wasted?.();
        }
        if (k > 0) loops = 0;
        if (rechecking) emptyRechecks = k > 0 ? 0 : emptyRechecks + 1;
        rechecking = false;
        // A turn: Bun runs an immediate queued from a task (a signal's listener, a timer) before
        // it polls its sockets, one queued from an immediate after: two make sure of one poll.
        if (turn) await immediate().then(immediate);
        else if (k === yieldEvery) await immediate();
        else if (this.expecting && this.lingerer !== null) {
          // A packet is expected at once: wait for it (and for the event loop's own events) in a
          // blocking epoll_wait, the tun's signal off meanwhile; the batch's microtasks (the
          // relay's send) run first, and the loop gets a turn at least once per linger time.
          this.expecting = false;
          const now = performance.now();
          if (now - turnAt >= lingerMs) {
            await immediate();
            turnAt = performance.now();
          } else await null;
          if (this.fd < 0 || signal?.aborted) return;
          const l = (this.lingerer ??= Linger.on(this.fd) ?? null);
          if (!l) continue;
          this.watcher?.quiet?.();
          const r = l.wait(lingerMs);
          if (r === LINGER.LOOP) {
            // The loop's events (the answer on the relay's socket) first; the loop reads after,
            // and lingers again, at most LINGER_LOOPS times in a row without a packet (an event
            // the loop leaves ready must not keep the reader turning).
            if (++loops <= LINGER_LOOPS) this.expecting = true;
            await immediate();
            turnAt = performance.now();
          }
          // READY: read it now. TIMEOUT: the loop reads once (empty) and waits for the signal.
        } else if (k > 0 && recheck && (k > 1 || emptyRechecks < RECHECK_MISSES || ++skipped % RECHECK_PROBE === 0)) {
          // A lone packet after rechecks that kept finding nothing (request/answer traffic: the
          // answer comes a proxy's round trip later) waits at once, but every RECHECK_PROBE-th
          // still looks; a burst, or rechecks that pay (bulk), read again first.
          rechecking = true;
          await immediate();
        } else {
          await this.waitReadable();
          turnAt = performance.now();
        }
      }
    } catch (e) {
      if (signal?.aborted && e === signal.reason) return;
      if (e instanceof DeviceClosedError && e.reason === "closed") return;
      throw e;
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  /**
   * Async iterator of packets (each a new Uint8Array). Ends when `signal` aborts or the queue is
   * closed; throws {@link DeviceClosedError} if the device is deleted.
   */
  async *packets(opts: ListenOptions = {}): AsyncGenerator<Uint8Array> {
    const { signal } = opts;
    const yieldEvery = opts.yieldEvery ?? 256;
    let k = 0;
    try {
      while (!signal?.aborted) {
        const n = this.tryRead(this.scratch);
        if (n >= 0) {
          yield this.scratch.slice(0, n);
          if (++k >= yieldEvery) {
            k = 0;
            await immediate();
          }
          continue;
        }
        k = 0;
        await this.waitReadable(signal);
      }
    } catch (e) {
      if (signal?.aborted && e === signal.reason) return;
      if (e instanceof DeviceClosedError && e.reason === "closed") return;
      throw e;
    }
  }

  // --- lifecycle ----------------------------------------------------------------------------

  /** Closes the fd; pending reads reject with DeviceClosedError("closed"). Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    this.shut(new DeviceClosedError(this.name, "closed"));
  }

  /** Closes the fd once and rejects pending readers with `err` (idempotent). */
  private shut(err: DeviceClosedError): void {
    this.closedBy ??= err;
    this.watcher?.close();
    this.watcher = undefined;
    this.lingerer?.close();
    this.lingerer = null;
    const fd = this.fd;
    this.fd = -1;
    if (fd >= 0) raw.close(fd);
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w.reject(this.closedBy);
  }

  /** Throws the closing error when the queue is closed. */
  private ensureOpen(): void {
    if (this.closedBy) throw this.closedBy;
  }

  /** Maps a failed read/write errno to DeviceClosedError (EBADFD: device deleted) or SysError. */
  private ioError(op: "read" | "write", e: number): Error {
    if (e === ERRNO.EBADFD) {
      // The interface was deleted under us: the fd is dead, release it.
      const err = new DeviceClosedError(this.name, "deleted");
      this.shut(err);
      return err;
    }
    if (op === "write" && e === ERRNO.EIO) {
      return new SysError("write", e, this.name, `bring the device up first: tunkit link set ${this.name} up`);
    }
    if (op === "write" && e === ERRNO.EINVAL) {
      return new SysError("write", e, this.name, "the packet is malformed or too short for this device's mode (tun: IP packet; tap: Ethernet frame; pi/vnet_hdr prefix if enabled)");
    }
    return new SysError(op, e, this.name);
  }
}
