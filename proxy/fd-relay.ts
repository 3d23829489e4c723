/**
 * The tunnel's TCP relay in the kernel: the accepted connection and the proxy connection are
 * tunkit's own non-blocking fds (accept4, a connect by FFI, the proxy handshake with read/write).
 * A direction's first {@link COPY_BYTES} go by read/write through one shared buffer (a short
 * connection's request and answer: no page per small segment, no pipe); after that its bytes go
 * socket -> pipe -> socket with `splice(2)` (SPLICE_F_NONBLOCK | SPLICE_F_MOVE): no byte of a
 * bulk flow passes through JS, no buffer is made per read.
 *
 * Readiness (ffi/sigpoll.ts): every fd is registered once, edge-triggered, in an epoll set of
 * the relay's own, which is asked without waiting once per event-loop turn that may have
 * something: the proxy sockets raise SIGURG, and the accepted sockets and the listener raise
 * nothing: every readiness of theirs comes from a packet the tunnel writes into the tun, and the
 * tunnel calls {@link FdRelay.tunWritten} after its writes ({@link RelayHost.writesTun}). With
 * `TUNKIT_RELAY_WAKE=epoll` the poller's epoll helper thread serves every fd instead.
 *
 * Measured (bench/proxy-profile.ts and bench/proxy.ts, dist/tunkit): a short connection took 91
 * system calls and 6.1 signals on the relay that took a signal per readiness, one epoll_ctl per
 * arm and a splice per chunk; 75.6 and 3.6 now (Bun's sockets: 82). Bun's sockets, for what
 * they cost and this does not: a fresh JS buffer per read (60-80 MB piled up during a download,
 * a forced collection per 4 MiB to bound it), two TCPSocket objects and a SocketHandlers per
 * flow, and per connection 7 setsockopt, ~11 epoll_ctl and 2 getpeername.
 *
 * Same surface and events as {@link NativeRelay} (proxy/tcp-relay.ts), which hands a flow here
 * when the splice relay is chosen (`--relay splice`): the tunnel does not know which relay runs.
 *
 * - A pipe per direction is taken from a small pool when bytes first wait in it and given back
 *   when it is empty again: an idle flow holds no pipe, so a flow costs 2 fds as before.
 * - What a held flow costs (5,000 held, bench/proxy-memory.ts --relay splice --detail with
 *   TUNKIT_HEAP_REPORT=1 and a full collection before the report): no pipe, no buffer; the JS
 *   heap 14.5 -> 19.4 MB (~1 KB a flow: ~5 objects, its two FdSockets, their watches, the
 *   tunnel's record), anonymous memory 10.5-12 -> 20-22 MB. The row's peak is made by the
 *   start-up (37-38 MB) or by the burst that opens them (binary pages its code faults in,
 *   given back by proxy/memory.ts's trim; garbage: a proxy connect's sockaddr was 1 KiB of it,
 *   now none, ffi/tcp.ts).
 * - Half-close: EOF from one side is a shutdown(SHUT_WR) of the other once the pipe is empty;
 *   the other direction goes on. Both directions done: both fds closed, the flow is over.
 * - An error (RST) on either side closes both, the other with a RST (SO_LINGER 0), as before.
 * - accept4 hitting EMFILE/ENFILE backs off {@link ACCEPT_BACKOFF_MS} instead of spinning; the
 *   connection waits in the backlog. One error line per run of back-offs (again every
 *   {@link ACCEPT_LOG_MS} while it lasts), with the hint.
 *
 * @module
 */
import type { DialSocketOptions, HandshakeMachine } from "./dial.ts";
import { concatBytes as concat, connectFailure, ProxyError } from "./dial.ts";
import type { NativeSocket, RelayFlow, RelayHost } from "./tcp-relay.ts";
import { watch, type Watch } from "../ffi/poller.ts";
import { EPOLL } from "../ffi/abi.ts";
import { ERRNO, errnoName, SysError } from "../ffi/errors.ts";
import { errno, raw } from "../ffi/libc.ts";
import { acceptTcp, closeReset, listenTcp, makePipe, type Peer, rawSplice, SHUT, SPLICE_F } from "../ffi/splice.ts";
import { connectResult, startConnect } from "../ffi/tcp.ts";
import { type SigPoll, sigPoll, sigPollAvailable } from "../ffi/sigpoll.ts";
import { HandshakeDeadlines } from "./deadlines.ts";

/**
 * How a relay learns of readiness: the signal-driven poller (Bun) or the epoll helper thread.
 * `quiet`: an fd whose readiness only the host's tun writes make (no signal for it; see
 * {@link RelayHost.writesTun}); ignored on the helper thread, which sees every fd.
 */
type WatchFn = <T>(fd: number, cb: (this: T, events: number) => void, quiet: boolean, ctx: T) => Watch;
/** A watch source that takes plain callbacks (the helper thread's, a test's). */
type PlainWatchFn = (fd: number, cb: (events: number) => void, quiet: boolean) => Watch;

/** `plain` with `ctx` bound by a closure (the signal-driven poller binds it without one). */
function bound(plain: PlainWatchFn): WatchFn {
  return <T>(fd: number, cb: (this: T, events: number) => void, quiet: boolean, ctx: T) => plain(fd, (ev) => cb.call(ctx, ev), quiet);
}

/**
 * `rdhup`: the watches report EPOLLRDHUP and EPOLLPRI with EPOLLIN (ffi/sigpoll.ts), so a short
 * read without them means the socket is empty (see {@link SigPoll.watch}).
 */
function defaultWatch(): { watch: WatchFn; poke?: () => void; rdhup: boolean } {
  if (sigPollAvailable()) {
    const p = sigPoll();
    return { watch: <T>(fd: number, cb: (this: T, events: number) => void, quiet: boolean, ctx: T) => p.watch(fd, cb, quiet, ctx), poke: () => p.poke(), rdhup: true };
  }
  return { watch: bound((fd, cb) => watch(fd, cb)), rdhup: false };
}

const EPOLLPRI = 0x002;
/** With these at a look, a short read proves nothing (a FIN already queued, urgent data). */
const READ_ON = EPOLL.RDHUP | EPOLLPRI;

/** Bytes asked of one splice into a pipe (the pipe's default capacity). */
const CHUNK = 1 << 16;
const SPLICE_FLAGS = SPLICE_F.NONBLOCK | SPLICE_F.MOVE;
/** Empty pipes kept for the next flow (2 fds each). */
const POOL_MAX = 16;
/** How long accepting pauses after EMFILE/ENFILE. */
export const ACCEPT_BACKOFF_MS = 100;
/** While accept4 keeps failing for lack of fds, one log line per this many ms. */
export const ACCEPT_LOG_MS = 10_000;

/** The accept back-off's log line for errno `e`. */
function acceptStarved(e: number, backoffs: number): string {
  const what =
    e === ERRNO.EMFILE ? "this process's open-files limit is reached (EMFILE)"
    : e === ERRNO.ENFILE ? "the system's open-files limit is reached (ENFILE)"
    : `the kernel has no memory for the socket (${errnoName(e)})`;
  const hint = e === ERRNO.EMFILE || e === ERRNO.ENFILE ? " (raise LimitNOFILE= / ulimit -n, or set --max-sessions)" : "";
  return `accept: ${what}: new connections wait in the listen backlog, retried every ${ACCEPT_BACKOFF_MS} ms${backoffs > 1 ? ` (${backoffs} back-offs in a row)` : ""}${hint}`;
}
/** Handshake reads: a proxy's reply plus what came right after it. */
const HS_READ = 4096;
/**
 * Bytes of each direction copied with read/write before it moves to splice: a small segment
 * spliced costs a page allocated and filled (its bytes sit in the skb's head), a pipe, and the
 * page freed later, where a copy of a few hundred bytes costs nothing. A short connection's
 * request and answer go by copy; a bulk flow splices after its first 16 KiB.
 */
const COPY_BYTES = 16 << 10;
const copyBuf = new Uint8Array(COPY_BYTES);

const pool: Array<[number, number]> = [];
/** Pipes made and pool hits, for tests. */
export const pipeStats = { made: 0, reused: 0, inUse: 0 };

function takePipe(): [number, number] {
  pipeStats.inUse++;
  const p = pool.pop();
  if (p) {
    pipeStats.reused++;
    return p;
  }
  pipeStats.made++;
  return makePipe();
}

function givePipe(p: [number, number], empty: boolean): void {
  pipeStats.inUse--;
  if (empty && pool.length < POOL_MAX) pool.push(p);
  else {
    raw.close(p[0]);
    raw.close(p[1]);
  }
}

const hsBuf = new Uint8Array(HS_READ);

/**
 * One of a flow's two sockets, and the direction that reads from it (its bytes go to `peer`).
 * Also what the tunnel sees as the flow's `cs` / `us` ({@link NativeSocket}).
 */
class FdSocket implements NativeSocket {
  fd: number;
  w: Watch | undefined = undefined;
  data: RelayFlow | undefined = undefined;
  peer: FdSocket | undefined = undefined;
  remotePort: number;
  remoteAddress: string;
  /** This direction's pipe (while bytes wait in it) and how many bytes it holds. */
  pipe: [number, number] | undefined = undefined;
  inPipe = 0;
  /** Bytes read from this socket by copy (below {@link COPY_BYTES}: the next read copies too). */
  copied = 0;
  /** Read EOF on this socket; the FIN passed on (peer shut for writing). */
  eof = false;
  finSent = false;
  /** Waiting for this socket to be readable / writable. */
  waitIn = false;
  waitOut = false;
  /**
   * The last read returned less than it asked, with no FIN or urgent data at the look: the
   * socket is empty until its next EPOLLIN (no read that would only say EAGAIN).
   */
  drained = false;
  /** A look saw EPOLLRDHUP or EPOLLPRI: read on to EAGAIN (or EOF) from now on. */
  readOn = false;
  /** Bytes of ours to write to this socket before any spliced ones (handshake, head, DNS). */
  pend: Uint8Array | undefined = undefined;
  /** Shut for writing once `pend` is written (a local flow's end). */
  endAfterPend = false;
  closed = false;
  readonly relay: FdRelay;

  constructor(relay: FdRelay, fd: number, address: string, port: number) {
    this.relay = relay;
    this.fd = fd;
    this.remoteAddress = address;
    this.remotePort = port;
  }

  /** Writes what the kernel takes now; the rest waits in `pend`. -1 when the socket failed. */
  write(d: Uint8Array, off = 0, len = d.length - off): number {
    if (this.closed) return -1;
    const b = off || len !== d.length ? d.subarray(off, off + len) : d;
    if (this.pend) {
      this.pend = concat(this.pend, b);
      return 0;
    }
    const n = raw.write(this.fd, b, b.length);
    if (n < 0) {
      if (errno() !== ERRNO.EAGAIN) return -1;
      this.pend = b.slice();
      return 0;
    }
    if (n < b.length) this.pend = b.slice(n);
    return n;
  }

  shutdown(): void {
    if (!this.closed) rawSplice().shutdown(this.fd, SHUT.WR);
  }

  /** FIN, then closes (the relay's own bookkeeping is the caller's). */
  end(): void {
    if (this.closed) return;
    rawSplice().shutdown(this.fd, SHUT.WR);
    this.release(false);
  }

  /** Closes with a RST. */
  terminate(): void {
    if (this.closed) return;
    this.release(true);
    const f = this.data;
    if (f) this.relay.socketGone(f, this);
  }

  pause(): void {}
  resume(): void {}

  /** Closes the fd (RST when `reset`), its watch, and gives its pipe back. */
  release(reset: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.w?.close();
    this.w = undefined;
    if (this.pipe) {
      givePipe(this.pipe, this.inPipe === 0);
      this.pipe = undefined;
      this.inPipe = 0;
    }
    if (reset) closeReset(this.fd);
    else raw.close(this.fd);
    this.fd = -1;
  }
}

/** A flow socket's readiness, `this` its socket: one function for every fd (no closure per fd). */
function sockEvent(this: FdSocket, ev: number): void {
  this.relay.onEvent(this, ev);
}

/**
 * TCP flows relayed in the kernel with splice(2), on tunkit's own fds. Bun only (the binary's
 * relay, like {@link NativeRelay}); chosen with `--relay splice` (or `TUNKIT_RELAY=splice`).
 *
 * @example
 * ```ts
 * import { FdRelay } from "./fd-relay.ts";
 * import type { RelayHost } from "./tcp-relay.ts";
 * declare const host: RelayHost;
 * const relay = new FdRelay(host, 10_000);
 * const l = relay.listen("127.0.0.1", 0); // l.port: where the rewritten SYNs go
 * l.stop();
 * ```
 */
export class FdRelay {
  private readonly host: RelayHost;
  private readonly timeoutMs: number;
  /** Flows in handshake: one timer for all deadlines. */
  private readonly deadlines: HandshakeDeadlines;
  private readonly peer: Peer = { address: "", port: 0 };
  /** accept4 refusals for lack of fds (EMFILE/ENFILE), each followed by a pause. */
  acceptBackoffs = 0;
  /** When the current run of back-offs was last logged (0: accepting). */
  private starvedLog = 0;
  /** Back-offs in the current run. */
  private starvedRun = 0;
  private readonly watch: WatchFn;
  /** Asks the poller for a look this turn (signal-driven poller only). */
  private readonly poke: (() => void) | undefined;
  /** The accepted sockets and listeners are quiet (the host pokes after its tun writes). */
  private readonly quiet: boolean;
  /** Short reads may end a read loop ({@link FdSocket.drained}): the watches report EPOLLRDHUP. */
  private readonly trustShort: boolean;

  /**
   * A relay for `host`'s flows, with `timeoutMs` for a proxy's connect and handshake. `watchFd`:
   * how readiness comes (default: ffi/sigpoll.ts under Bun unless `TUNKIT_POLLER=epoll` or
   * `TUNKIT_RELAY_WAKE=epoll`, the poller's epoll helper thread otherwise; a `watchFd` given here
   * makes no fd quiet).
   */
  constructor(host: RelayHost, timeoutMs: number, watchFd?: PlainWatchFn) {
    this.host = host;
    this.timeoutMs = timeoutMs;
    const d = watchFd ? { watch: bound(watchFd), poke: undefined, rdhup: false } : defaultWatch();
    this.watch = d.watch;
    this.poke = d.poke;
    this.trustShort = d.rdhup;
    this.quiet = host.writesTun === true && d.poke !== undefined;
    this.deadlines = new HandshakeDeadlines(timeoutMs, (f, e) => this.fail(f, e));
  }

  /** Binds a listener on `address` (port 0: any); its connections go to {@link RelayHost.accept} as listener `j`. */
  listen(address: string, j: number): { port: number; stop(): void } {
    const l = listenTcp(address, 0);
    // TCP_NODELAY on the listener: accepted sockets inherit it (no setsockopt per connection).
    raw.setsockopt(l.fd, 6, 1, new Uint8Array([1, 0, 0, 0]), 4);
    let stopped = false;
    let backoff: ReturnType<typeof setTimeout> | undefined;
    const onReady = (): void => {
      if (stopped) return;
      for (;;) {
        const fd = acceptTcp(l.fd, this.peer);
        if (fd === -1) break;
        if (fd < 0) {
          const e = -fd;
          if (e === ERRNO.EMFILE || e === ERRNO.ENFILE || e === ERRNO.ENOBUFS || e === ERRNO.ENOMEM) {
            // The connection stays in the backlog; no busy loop on a full fd table.
            this.acceptBackoffs++;
            this.starvedRun++;
            const now = performance.now();
            if (this.starvedLog === 0 || now - this.starvedLog >= ACCEPT_LOG_MS) {
              this.starvedLog = now;
              this.host.error?.(acceptStarved(e, this.starvedRun), "emfile");
            }
            // Retried by hand: the connections that wait raise no new readiness.
            backoff = setTimeout(() => {
              backoff = undefined;
              onReady();
            }, ACCEPT_BACKOFF_MS);
            return;
          }
          continue; // ECONNABORTED, EPROTO…: that connection is gone, take the next
        }
        this.starvedLog = 0;
        this.starvedRun = 0;
        this.accepted(new FdSocket(this, fd, this.peer.address, this.peer.port), j);
      }
      w.arm();
    };
    const w = this.watch(l.fd, onReady, this.quiet, undefined);
    w.arm();
    return {
      port: l.port,
      stop: () => {
        if (stopped) return;
        stopped = true;
        if (backoff) clearTimeout(backoff);
        w.close();
        raw.close(l.fd);
      },
    };
  }

  private accepted(s: FdSocket, j: number): void {
    const host = this.host;
    const f = host.accept(s, j);
    if (!f) {
      s.release(true);
      return;
    }
    s.data = f;
    f.cs = s;
    // Accepted before the proxy answered (the tunnel lets the SYN through at once): not watched
    // yet, so the client's bytes wait in the kernel's socket buffer (bounded by its window).
    if (!f.local && f.phase < 2) return;
    this.attach(f, s);
  }

  /** Starts serving `f` on its accepted connection `s` (its proxy stream, if any, is open). */
  private attach(f: RelayFlow, s: FdSocket): void {
    const host = this.host;
    f.phase = 3;
    s.w = this.watch(s.fd, sockEvent, this.quiet, s);
    // Read now: what came with the connection raises no readiness of its own.
    if (f.local) return this.localEvent(f, s);
    const u = f.us as FdSocket;
    s.peer = u;
    u.peer = s;
    if (f.head?.length) {
      host.bytes(f, false, f.head.length);
      s.pend = f.head;
    }
    f.head = undefined;
    this.pumpBoth(f, s, u);
  }

  /**
   * Connects to the proxy (`host`:`port`, with `so`'s socket options) and runs `hs` on it; the
   * outcome comes as {@link RelayHost.ready} or {@link RelayHost.failed}.
   */
  dial(f: RelayFlow, host: string, port: number, hs: HandshakeMachine, so?: DialSocketOptions): void {
    f.hs = hs;
    f.phase = 0;
    this.deadlines.add(f);
    let c;
    try {
      c = startConnect(so?.address ?? host, port, so ?? {});
    } catch (e) {
      // Reported from a microtask, like a failed connect: the caller has not finished its own set-up.
      queueMicrotask(() => this.fail(f, connectFailure(f.where, e as SysError, this.timeoutMs)));
      return;
    }
    const u = new FdSocket(this, c.fd, host, port);
    u.data = f;
    f.us = u;
    u.w = this.watch(c.fd, sockEvent, false, u);
    if (c.connected) this.begin(f, u);
    else u.w.arm(EPOLL.OUT);
  }

  /** Connected: sends the handshake's first bytes. */
  private begin(f: RelayFlow, u: FdSocket): void {
    f.phase = 1;
    if (u.write(f.hs!.start()) < 0) return this.fail(f, this.sockFailure(f, errno()));
    this.arm(u, u.pend ? EPOLL.OUT : EPOLL.IN);
  }

  private sockFailure(f: RelayFlow, e: number): ProxyError {
    return connectFailure(f.where, new SysError("connect", e, f.where), this.timeoutMs);
  }

  /** Events `ev` of the proxy socket before the stream is open. */
  private opening(f: RelayFlow, u: FdSocket, ev: number): void {
    if (f.phase === 0) {
      // Writable with no error or hang-up: connected (SO_ERROR asked only when it may say why not).
      if (!(ev & EPOLL.OUT) || ev & (EPOLL.ERR | EPOLL.HUP)) {
        const e = connectResult(u.fd);
        if (e !== 0) return this.fail(f, this.sockFailure(f, e));
      }
      return this.begin(f, u);
    }
    if (u.pend) {
      const r = this.writePend(u);
      if (r < 0) return this.fail(f, this.sockFailure(f, -r));
      if (r === 0) return this.arm(u, EPOLL.OUT);
    }
    for (;;) {
      if (u.drained) return this.arm(u, EPOLL.IN);
      const n = raw.read(u.fd, hsBuf, HS_READ);
      if (n === 0) return this.fail(f, new ProxyError("protocol", `${f.who} closed the connection during the handshake`));
      if (n < 0) {
        const e = errno();
        if (e === ERRNO.EAGAIN) return this.arm(u, EPOLL.IN);
        return this.fail(f, connectFailure(f.where, new SysError("read", e, f.where), this.timeoutMs));
      }
      if (n < HS_READ && this.trustShort && !u.readOn) u.drained = true;
      let step;
      try {
        step = f.hs!.feed(hsBuf.slice(0, n));
      } catch (x) {
        return this.fail(f, x instanceof ProxyError ? x : new ProxyError("protocol", `${f.who}: ${(x as Error).message}`));
      }
      if (step.send && u.write(step.send) < 0) return this.fail(f, this.sockFailure(f, errno()));
      if (step.done) {
        f.hs = undefined;
        f.phase = 2;
        if (step.rest?.length) f.head = step.rest;
        // Not watched until the accept: what the destination sends waits in the kernel.
        this.host.ready(f);
        // The client's connection was accepted while the proxy was dialled: relay now.
        const c = f.cs as FdSocket | undefined;
        if (f.phase === 2 && c && !c.closed) this.attach(f, c);
        return;
      }
      if (u.pend) return this.arm(u, EPOLL.OUT);
    }
  }

  /** @internal Events `ev` of socket `s` ({@link sockEvent}). */
  onEvent(s: FdSocket, ev: number): void {
    const f = s.data;
    if (!f || s.closed) return;
    if (ev & (EPOLL.IN | EPOLL.ERR | EPOLL.HUP)) {
      s.drained = false;
      if (ev & READ_ON) s.readOn = true;
    }
    if (f.phase < 2) return this.opening(f, s, ev);
    if (f.phase !== 3) return;
    if (f.local) return this.localEvent(f, s);
    const p = s.peer!;
    const bad = (ev & (EPOLL.ERR | EPOLL.HUP)) !== 0;
    if (ev & EPOLL.IN || bad) {
      s.waitIn = false;
      if (!this.pump(f, s)) return;
    }
    if (ev & EPOLL.OUT || bad) {
      s.waitOut = false;
      if (!this.pump(f, p)) return;
    }
    this.settle(f, s, p);
  }

  private pumpBoth(f: RelayFlow, c: FdSocket, u: FdSocket): void {
    if (!this.pump(f, c) || !this.pump(f, u)) return;
    this.settle(f, c, u);
  }

  /** After a pump: over when both directions are, else each socket armed for what it waits on. */
  private settle(f: RelayFlow, a: FdSocket, b: FdSocket): void {
    if (a.finSent && b.finSent) return this.finish(f, false);
    this.arm(a);
    this.arm(b);
  }

  /** Arms `s` for what it waits on (0: errors and hang-ups only), or `ev`. */
  private arm(s: FdSocket, ev?: number): void {
    if (s.closed) return;
    s.w!.arm(ev ?? ((s.waitIn ? EPOLL.IN : 0) | (s.waitOut ? EPOLL.OUT : 0)));
  }

  /** Writes `s.pend`: 1 all written, 0 some left (then `s.waitOut`), or -errno. */
  private writePend(s: FdSocket): number {
    const b = s.pend!;
    const n = raw.write(s.fd, b, b.length);
    if (n < 0) {
      const e = errno();
      if (e !== ERRNO.EAGAIN) return -e;
      s.waitOut = true;
      return 0;
    }
    if (n < b.length) {
      s.pend = b.subarray(n);
      s.waitOut = true;
      return 0;
    }
    s.pend = undefined;
    return 1;
  }

  /** {@link writePend} on an open flow: false while some is left, or when the write failed (the flow is over then). */
  private flush(s: FdSocket): boolean {
    const r = this.writePend(s);
    if (r < 0) this.broken(s, -r);
    return r === 1;
  }

  /**
   * Moves what `s` has to its peer until something would block: false when the flow ended
   * (an error on either side).
   */
  private pump(f: RelayFlow, s: FdSocket): boolean {
    const d = s.peer!;
    if (d.pend && !this.flush(d)) return !d.closed && !s.closed;
    const sp = rawSplice();
    const up = s === f.cs;
    for (;;) {
      if (s.inPipe > 0) {
        const m = sp.splice(s.pipe![0], null, d.fd, null, s.inPipe, SPLICE_FLAGS);
        if (m > 0) {
          s.inPipe -= m;
          this.host.bytes(f, up, m);
        } else {
          const e = errno();
          if (e === ERRNO.EAGAIN) {
            d.waitOut = true;
            return true;
          }
          this.broken(d, e);
          return false;
        }
        if (s.inPipe > 0) continue;
      }
      if (s.eof) {
        if (!s.finSent) {
          s.finSent = true;
          if (s.pipe) {
            givePipe(s.pipe, true);
            s.pipe = undefined;
          }
          rawSplice().shutdown(d.fd, SHUT.WR);
        }
        return true;
      }
      if (s.drained) {
        // Emptied by the last read (short, no FIN or urgent data at the look): wait for EPOLLIN.
        if (s.pipe) {
          givePipe(s.pipe, true);
          s.pipe = undefined;
        }
        s.waitIn = true;
        return true;
      }
      // A direction's first bytes by copy (below COPY_BYTES, no pipe held), then by splice.
      const copy = s.copied < COPY_BYTES && !s.pipe;
      let p = s.pipe;
      if (!copy && !p) {
        try {
          p = s.pipe = takePipe();
        } catch (x) {
          // No fd for a pipe (EMFILE): this flow cannot go on.
          this.broken(s, (x as SysError).errno ?? ERRNO.EMFILE);
          return false;
        }
      }
      const ask = COPY_BYTES - s.copied;
      const n = copy ? raw.read(s.fd, copyBuf, ask) : sp.splice(s.fd, null, p![1], null, CHUNK, SPLICE_FLAGS);
      if (n > 0) {
        if (!copy) {
          s.inPipe += n;
          continue;
        }
        // (A short splice proves nothing: the pipe may have run out of slots.)
        if (n < ask && this.trustShort && !s.readOn) s.drained = true;
        s.copied += n;
        this.host.bytes(f, up, n);
        if (d.write(copyBuf, 0, n) < 0) {
          this.broken(d, errno() || ERRNO.EPIPE);
          return false;
        }
        if (d.pend) {
          d.waitOut = true;
          return true;
        }
        continue;
      }
      if (n === 0) {
        s.eof = true;
        this.host.fin(f, up);
        continue;
      }
      const e = errno();
      if (e !== ERRNO.EAGAIN) {
        this.broken(s, e);
        return false;
      }
      if (s.inPipe > 0) continue; // the pipe was full: drain it first
      // Nothing to read: the pipe goes back to the pool until bytes come again.
      if (p) {
        givePipe(p, true);
        s.pipe = undefined;
      }
      s.waitIn = true;
      return true;
    }
  }

  /** `s` failed with errno `e`: the flow ends, the other side gets a RST. */
  private broken(s: FdSocket, e: number): void {
    const f = s.data!;
    if (f.local) return this.finish(f, true);
    if (s === f.us) this.host.upError(f, errnoName(e));
    const other = s.peer!;
    s.release(e !== ERRNO.EPIPE && e !== ERRNO.ECONNRESET);
    other.release(true);
    this.finish(f, true);
  }

  /** One socket of an open flow was terminated from outside: the flow ends (the other gets a RST). */
  socketGone(f: RelayFlow, s: FdSocket): void {
    if (f.phase !== 3) return;
    if (!s.peer) return this.finish(f, true);
    s.peer.release(true);
    this.finish(f, true);
  }

  /** Both directions done, or an error: every fd closed, the tunnel told once. */
  private finish(f: RelayFlow, reset: boolean): void {
    if (f.cclosed) return;
    f.cclosed = true;
    f.uclosed = true;
    (f.us as FdSocket | undefined)?.release(reset);
    (f.cs as FdSocket | undefined)?.release(reset);
    this.host.closed(f);
  }

  /** A flow answered here (DNS over TCP): its client's bytes go to the host, its answers back. */
  private localEvent(f: RelayFlow, s: FdSocket): void {
    if (s.pend && !this.flush(s)) {
      if (!s.closed) this.arm(s);
      return;
    }
    if (s.closed) return;
    s.waitOut = false;
    if (s.endAfterPend) return this.endLocal(f, s);
    while (!s.eof) {
      const n = raw.read(s.fd, hsBuf, HS_READ);
      if (n > 0) {
        this.host.localData(f, hsBuf.slice(0, n));
        if (s.closed) return;
        continue;
      }
      if (n === 0) {
        s.eof = true;
        this.host.fin(f, true);
        if (s.pend) s.endAfterPend = true;
        else return this.endLocal(f, s);
        break;
      }
      const e = errno();
      if (e !== ERRNO.EAGAIN) return this.finish(f, true);
      s.waitIn = true;
      break;
    }
    this.arm(s);
  }

  private endLocal(f: RelayFlow, s: FdSocket): void {
    rawSplice().shutdown(s.fd, SHUT.WR);
    s.finSent = true;
    this.finish(f, false);
  }

  /** Writes bytes of a local flow to its client. */
  writeClient(f: RelayFlow, d: Uint8Array): void {
    const c = f.cs as FdSocket | undefined;
    if (!c || c.closed) return;
    c.write(d);
    if (c.pend) {
      c.waitOut = true;
      this.arm(c);
    }
  }

  /** Ends a flow that never opened (once). */
  private fail(f: RelayFlow, e: ProxyError): void {
    if (f.phase >= 2) return;
    f.phase = 4;
    f.hs = undefined;
    const u = f.us as FdSocket | undefined;
    f.us = undefined;
    u?.release(true);
    this.host.failed(f, e);
    // An accepted client gets a RST: its connection opened, its destination could not.
    (f.cs as FdSocket | undefined)?.release(true);
  }

  /** Closes both connections of `f` at once (RST to the client when `reset`). */
  destroy(f: RelayFlow, reset = true): void {
    if (f.phase < 2) {
      // not open yet: dropped quietly (the caller accounts for the flow)
      f.phase = 4;
      f.hs = undefined;
      (f.us as FdSocket | undefined)?.release(true);
      (f.cs as FdSocket | undefined)?.release(true);
      return;
    }
    if (f.phase === 2) {
      (f.us as FdSocket | undefined)?.release(true);
      return;
    }
    const c = f.cs as FdSocket | undefined;
    (f.us as FdSocket | undefined)?.release(true);
    if (c && !c.closed && !reset) c.end();
    this.finish(f, true);
  }

  /**
   * The host wrote into the tun: the accepted sockets may be ready now (the kernel delivered the
   * packet within the write). One look at the end of the turn, whatever the number of writes.
   */
  tunWritten(): void {
    if (this.quiet) this.poke!();
  }

  /** Stops the deadline timer. */
  close(): void {
    this.deadlines.close();
  }
}
