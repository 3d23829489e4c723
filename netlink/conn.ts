/**
 * The netlink connection: the only socket I/O of netlink/. An AF_NETLINK/NETLINK_ROUTE socket
 * opened through ffi/ (optionally inside another network namespace), strict mode on
 * (NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK, NETLINK_CAP_ACK), sequence numbers checked,
 * datagrams accepted only from the kernel (port 0). Requests, dumps (assembled in one pass,
 * NLM_F_DUMP_INTR surfaced), pipelined batches with per-item results, and a monitor that never
 * blocks the event loop. {@link fakeConn} swaps the socket for a function, for unit tests.
 *
 * @module
 */
import { TunkitError } from "../common/errors.ts";
import { SOCK, SOCKADDR_NL_SIZE, packSockaddrNl, unpackSockaddrNl } from "../ffi/abi.ts";
import { ERRNO, SysError } from "../ffi/errors.ts";
import { sys } from "../ffi/libc.ts";
import { MultiRecv } from "../ffi/mmsg.ts";
import { enterNetns } from "../ffi/netns.ts";
import type { Watch } from "../ffi/poller.ts";
import { beginMessage, endMessage, type NetlinkMessage, NLM_F, NLMSG, parseAck, parseDone, parseMessages } from "./core/message.ts";
import { ByteWriter } from "./core/writer.ts";
import { DumpInterruptedError, NetlinkError, NetlinkProtocolError } from "./errors.ts";
import { NETLINK_ROUTE } from "./route/constants.ts";

/** SOL_NETLINK socket options. */
export const NETLINK_OPT = {
  ADD_MEMBERSHIP: 1, DROP_MEMBERSHIP: 2, PKTINFO: 3, BROADCAST_ERROR: 4, NO_ENOBUFS: 5,
  LISTEN_ALL_NSID: 8, CAP_ACK: 10, EXT_ACK: 11, GET_STRICT_CHK: 12,
} as const;

/**
 * Moves datagrams. The real one wraps a socket; {@link fakeTransport} wraps a function.
 * `recv` never blocks: it returns null when nothing is queued, and `wait` resolves when
 * something may be.
 */
export interface Transport {
  /** Our netlink port id. */
  readonly pid: number;
  /** Sends one datagram to the kernel. */
  send(buf: Uint8Array): void;
  /** Next datagram from the kernel, or null when none is queued. Throws SysError (ENOBUFS…). */
  recv(): Uint8Array | null;
  /** Resolves when a datagram can be read. */
  wait(): Promise<void>;
  /** Closes the socket. */
  close(): void;
}

/** Options for opening a socket. */
export interface OpenOptions {
  /** Open the socket inside this network namespace: a name under /run/netns, an nsfs path, or an fd. */
  netns?: string | number;
  /** Multicast groups (RTNLGRP_*) to join, for monitors. */
  groups?: readonly number[];
  /** Receive buffer to ask for (SO_RCVBUFFORCE, falling back to SO_RCVBUF). Default 8 MiB. */
  rcvbuf?: number;
}

/**
 * Receive slots. The kernel caps a dump datagram at 32 KiB (netlink_dump's max_recvmsg_len) and
 * ACKs carry no copy of the request (NETLINK_CAP_ACK), so 64 KiB slots always suffice; a bigger
 * datagram is reported, never silently cut.
 */
const RECV_SLOTS = 64;
const RECV_SLOT_SIZE = 64 << 10;
/**
 * Slots of a new socket. A one-shot command reads one ACK or a short dump; 64 slots are 4 MiB
 * of zeroed memory and 64 iovecs to set up, about a millisecond of a CLI start (more under load,
 * in page faults). The first receive that fills every slot switches to {@link RECV_SLOTS}.
 */
const FIRST_RECV_SLOTS = 4;

/**
 * How long a dump runs between two turns of the event loop, in ms. The CLI's start-up JIT policy
 * is lifted by a 20 ms timer (cli/run.ts), which fires only on a turn of the loop: a dump that
 * was entered before the timer was due never gave the loop a turn, and ran its million routes
 * with tier-up thresholds 100 times higher (issue 11's slow mode, ~2.3 s instead of ~1.5 s).
 *
 * @example
 * ```ts
 * import { DUMP_TURN_MS } from "./conn.ts";
 * DUMP_TURN_MS; // 5
 * ```
 */
export const DUMP_TURN_MS = 5;

/** Resolves on the event loop's next turn (after timers and I/O that are due). */
const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A real AF_NETLINK socket as a {@link Transport}.
 *
 * @example
 * ```ts
 * import { NetlinkConn, SocketTransport } from "./conn.ts";
 * const conn = new NetlinkConn(new SocketTransport());
 * conn.close();
 * ```
 */
export class SocketTransport implements Transport {
  /** The NETLINK_ROUTE socket. */
  readonly fd: number;
  /** Our port id: set by the kernel at the socket's bind or first send, read on first use (getsockname). */
  private port: number | undefined;
  /** The socket has a port (explicit bind, or the kernel's autobind at the first sendto). */
  private bound = false;
  /** SO_RCVBUF as the kernel granted it, read on first use. */
  private granted: number | undefined;
  private multi = new MultiRecv(FIRST_RECV_SLOTS, RECV_SLOT_SIZE, SOCKADDR_NL_SIZE);
  /** The last receive filled every slot: the next one uses {@link RECV_SLOTS}. */
  private full = false;
  /** Every receive slot in one view: slot i starts at byte i * RECV_SLOT_SIZE (replaced when the slots grow). */
  slotBytes: Uint8Array;
  /** The same bytes as a DataView (ACKs read in place; replaced when the slots grow). */
  slotsView: DataView;
  /** Length of the datagram {@link recvSlot} returned last. */
  lastLength = 0;
  private next = 0;
  private have = 0;
  private readonly kernel = packSockaddrNl(0, 0);
  private w: Watch | undefined;
  private watching: Promise<void> | undefined;
  private waiters: Array<() => void> = [];
  private alive: { ref?(): void; unref?(): void } | undefined;
  private closed = false;

  /** Opens and binds the socket (strict checking and extended acks on). */
  constructor(opts: OpenOptions = {}) {
    const first = this.multi.slot(0);
    this.slotBytes = new Uint8Array(first.buffer, first.byteOffset, FIRST_RECV_SLOTS * RECV_SLOT_SIZE);
    this.slotsView = new DataView(first.buffer, first.byteOffset, FIRST_RECV_SLOTS * RECV_SLOT_SIZE);
    const back = opts.netns === undefined ? undefined : enterNetns(typeof opts.netns === "number" ? `/proc/self/fd/${opts.netns}` : opts.netns);
    let fd: number;
    try {
      fd = sys.socket(SOCK.AF_NETLINK, SOCK.SOCK_RAW | SOCK.SOCK_NONBLOCK, NETLINK_ROUTE);
    } finally {
      back?.();
    }
    this.fd = fd;
    try {
      const want = opts.rcvbuf ?? 8 << 20;
      try {
        sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUFFORCE, want, "setsockopt(SO_RCVBUFFORCE)");
      } catch {
        sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUF, want, "setsockopt(SO_RCVBUF)");
      }
      try {
        sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_SNDBUFFORCE, 1 << 20, "setsockopt(SO_SNDBUFFORCE)");
      } catch {
        sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_SNDBUF, 1 << 20, "setsockopt(SO_SNDBUF)");
      }
      // Strict mode. Old kernels lack some of these: each is best effort except EXT_ACK's absence is harmless too.
      for (const opt of [NETLINK_OPT.EXT_ACK, NETLINK_OPT.GET_STRICT_CHK, NETLINK_OPT.CAP_ACK]) {
        try {
          sys.setsockoptInt(fd, SOCK.SOL_NETLINK, opt, 1);
        } catch (e) {
          if (!(e instanceof SysError && e.errno === ERRNO.ENOPROTOOPT)) throw e;
        }
      }
      // A socket that only sends requests needs no bind: the kernel binds it to a port of its
      // own at the first sendto (netlink_autobind), as bind() with port 0 does. A monitor binds
      // before it joins its groups. Start-up (issue 11): bind, getsockname and the SO_RCVBUF read
      // (now on first use of pid / rcvbuf) were 3 of a one-shot command's 9 eagerly bound libc
      // symbols (~0.6 JavaScriptCore heap block each) and 3 of its system calls.
      if (opts.groups?.length) this.bind();
      for (const g of opts.groups ?? []) sys.setsockoptInt(fd, SOCK.SOL_NETLINK, NETLINK_OPT.ADD_MEMBERSHIP, g, `setsockopt(NETLINK_ADD_MEMBERSHIP ${g})`);
    } catch (e) {
      sys.close(fd);
      throw e;
    }
  }

  /** Binds the socket to a port of the kernel's choosing (port 0 asked). */
  private bind(): void {
    sys.bind(this.fd, packSockaddrNl(0, 0));
    this.bound = true;
  }

  /** Our netlink port id (binds the socket first if nothing has been sent on it yet). */
  get pid(): number {
    if (this.port === undefined) {
      if (!this.bound) this.bind();
      const sa = new Uint8Array(SOCKADDR_NL_SIZE);
      sys.getsockname(this.fd, sa);
      this.port = unpackSockaddrNl(sa).pid;
    }
    return this.port;
  }

  /** Receive buffer size the kernel granted (getsockopt SO_RCVBUF). */
  get rcvbuf(): number {
    return (this.granted ??= sys.getsockoptInt(this.fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUF));
  }

  /** Sends one datagram to the kernel (port 0). */
  send(buf: Uint8Array): void {
    const n = sys.sendto(this.fd, buf, buf.length, 0, this.kernel);
    if (n >= 0) this.bound = true;
    if (n !== buf.length) throw new SysError("sendto(netlink)", n < 0 ? ERRNO.EAGAIN : ERRNO.EMSGSIZE);
  }

  recv(): Uint8Array | null {
    const o = this.recvSlot();
    return o < 0 ? null : this.slotBytes.subarray(o, o + this.lastLength);
  }

  /**
   * {@link recv} without a view per datagram, for a batch's ACKs (one datagram each): the next
   * datagram from the kernel as the byte offset of its slot in {@link slotsView} and
   * {@link slotBytes}, its length in {@link lastLength}; -1 when none is queued.
   */
  recvSlot(): number {
    // One recvmmsg() fills up to RECV_SLOTS datagrams (a batch's ACKs arrive one per datagram),
    // then they are served from the slots: one syscall per batch, no allocation per datagram.
    let multi = this.multi;
    for (;;) {
      while (this.next < this.have) {
        const i = this.next++;
        const n = multi.length(i);
        if (n > RECV_SLOT_SIZE || multi.truncated(i)) {
          throw new NetlinkProtocolError(`Netlink datagram of ${n} bytes truncated to ${RECV_SLOT_SIZE}`);
        }
        // Only the kernel (port 0) may answer; anything else is dropped.
        const name = multi.name(i);
        if (name[4]! | name[5]! | name[6]! | name[7]!) continue;
        this.lastLength = n;
        return i * RECV_SLOT_SIZE;
      }
      this.next = 0;
      this.have = 0;
      if (this.full) multi = this.grow();
      const got = multi.recv(this.fd, SOCK.MSG_TRUNC | SOCK.MSG_DONTWAIT, "recvmmsg(netlink)");
      if (got < 0) return -1;
      this.have = got;
      this.full = got === multi.count && multi.count < RECV_SLOTS;
    }
  }

  /** Switches to {@link RECV_SLOTS} slots (no datagram is pending in the old ones). */
  private grow(): MultiRecv {
    this.full = false;
    const multi = (this.multi = new MultiRecv(RECV_SLOTS, RECV_SLOT_SIZE, SOCKADDR_NL_SIZE));
    const first = multi.slot(0);
    this.slotBytes = new Uint8Array(first.buffer, first.byteOffset, RECV_SLOTS * RECV_SLOT_SIZE);
    this.slotsView = new DataView(first.buffer, first.byteOffset, RECV_SLOTS * RECV_SLOT_SIZE);
    return multi;
  }

  /** Resolves when the socket is readable. */
  wait(): Promise<void> {
    if (this.closed) return Promise.reject(new TunkitError("Netlink connection closed"));
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.keep(true);
      if (this.w) this.w.arm();
      else void this.watchFd().then(() => this.w?.arm());
    });
  }

  /**
   * The socket's watch, made on the first wait: the poller is loaded then, not with this module,
   * so a command that never waits (one request and its ACK, ready when sendto returns) does
   * not load it. Under Bun it is the signal-driven socket poller (ffi/sigpoll.ts: SIGURG and one
   * `epoll_wait(0)` of its own set on the JS thread), neither the epoll helper thread nor the
   * tun's SIGIO:
   * - the helper thread is a Worker, a second JavaScript VM: a tunnel daemon's first netlink wait
   *   (its rule monitor, waiting for ever) started one during start-up, ~2.7 MB of its peak;
   * - on the tun's SIGIO (session 10, reverted), the tun's listener visited the monitor's
   *   for-ever-armed watch at each of the tun's signals: one UDP round trip 11.8 system calls
   *   against 10.8 and 5-10% fewer answers/s. SIGURG is raised only by this socket's own
   *   datagrams (and the splice relay's sockets, whose look is the same one epoll_wait).
   * The epoll helper elsewhere (Deno) or with `TUNKIT_POLLER=epoll`.
   */
  private watchFd(): Promise<void> {
    return (this.watching ??= import("../ffi/sigpoll.ts").then(async ({ sigPoll, sigPollAvailable }) => {
      const wake = () => {
        const ws = this.waiters;
        this.waiters = [];
        this.keep(false);
        for (const r of ws) r();
      };
      const w = sigPollAvailable() ? sigPoll().watch(this.fd, wake) : (await import("../ffi/poller.ts")).watch(this.fd, wake);
      if (this.closed || this.w) w.close();
      else this.w = w;
    }));
  }

  /**
   * A pending wait keeps the process alive, as the helper thread's did (sigpoll's own timer does
   * not): a ref'd timer that never fires while anyone waits, unref'd when no one does.
   */
  private keep(on: boolean): void {
    if (on) {
      if (this.alive) this.alive.ref?.();
      else this.alive = setInterval(() => {}, 1 << 30) as unknown as { ref?(): void; unref?(): void };
    } else this.alive?.unref?.();
  }

  /** Closes the socket (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.w?.close();
    if (this.alive) clearInterval(this.alive as unknown as ReturnType<typeof setInterval>);
    this.alive = undefined;
    sys.close(this.fd);
    const ws = this.waiters;
    this.waiters = [];
    for (const r of ws) r();
  }
}

/**
 * A transport backed by a function from request bytes to reply bytes (mdlayher's nltest.Dial
 * shape). The function may return one buffer, several datagrams, or throw a SysError.
 *
 * @example
 * ```ts
 * import { fakeTransport, NetlinkConn } from "./conn.ts";
 * const conn = new NetlinkConn(fakeTransport((req) => new Uint8Array(0)));
 * ```
 */
export function fakeTransport(fn: (request: Uint8Array) => Uint8Array | Uint8Array[] | undefined, pid = 4242): Transport {
  const queue: Uint8Array[] = [];
  return {
    pid,
    send(buf) {
      const r = fn(buf.slice());
      if (r === undefined) return;
      for (const d of Array.isArray(r) ? r : [r]) if (d.length) queue.push(d);
    },
    recv: () => queue.shift() ?? null,
    wait: () => (queue.length ? Promise.resolve() : Promise.reject(new TunkitError("Fake netlink: no reply queued (the handler returned nothing)"))),
    close() {},
  };
}

/** One request of a batch. */
export interface BatchItem {
  /** Message type (RTM_*). */
  type: number;
  /** NLM_F_* flags besides REQUEST and ACK (CREATE, EXCL, REPLACE, APPEND). */
  flags: number;
  /** Writes the payload (header struct + attributes). */
  body: (w: ByteWriter) => void;
  /** For error messages: "add route". */
  op: string;
  /** For error messages: "203.0.113.0/24". */
  subject?: string;
}

/** Per-item outcome of a batch, in order. */
export type BatchResult = { ok: true } | { ok: false; error: NetlinkError };

const OK: BatchResult = Object.freeze({ ok: true as const });

/** Options of a batch. */
export interface BatchOptions {
  /** Bytes of requests per sendto. Default 64 KiB. */
  chunkBytes?: number;
  /**
   * Send no further datagram once one of them had a failure. The kernel runs every request of
   * a datagram (inside sendto, in order), so requests after the failing one in the same
   * datagram have run; the results then cover exactly the requests sent (fewer than the items).
   */
  stopOnError?: boolean;
}

/**
 * A netlink connection over a {@link Transport}.
 *
 * @example
 * ```ts
 * import { NetlinkConn } from "./conn.ts";
 * const conn = NetlinkConn.open();            // the current namespace
 * const inBlue = NetlinkConn.open({ netns: "blue" });
 * conn.close(); inBlue.close();
 * ```
 */
export class NetlinkConn {
  /** Where requests go and replies come from. */
  readonly transport: Transport;
  private seq: number;
  private readonly w = new ByteWriter(64 * 1024 + 4096);
  private busy: Promise<unknown> = Promise.resolve();

  /** A connection over `transport` (a socket, or a fake in tests). */
  constructor(transport: Transport) {
    this.transport = transport;
    this.seq = (Math.floor(Date.now() / 1000) & 0x3fffffff) || 1;
  }

  /** Opens a NETLINK_ROUTE socket (inside `opts.netns` when given). */
  static open(opts: OpenOptions = {}): NetlinkConn {
    return new NetlinkConn(new SocketTransport(opts));
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    this.transport.close();
  }

  /** The next sequence number. */
  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0 || 1;
    return this.seq;
  }

  /** Runs one exchange at a time: replies of two requests never interleave. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.busy.then(fn, fn);
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** The next datagram from the transport. */
  private async nextDatagram(): Promise<Uint8Array> {
    for (;;) {
      const d = this.transport.recv();
      if (d) return d;
      await this.transport.wait();
    }
  }

  /** One request message with a fresh sequence number. */
  private build(type: number, flags: number, body: (w: ByteWriter) => void): { buf: Uint8Array; seq: number } {
    const w = this.w;
    w.reset();
    const seq = this.nextSeq();
    const at = beginMessage(w, type, flags, seq, 0);
    body(w);
    endMessage(w, at);
    return { buf: w.finish(), seq };
  }

  /** Whether `m` answers request `seq` (and comes from the kernel). */
  private checkSeq(m: NetlinkMessage, seq: number): boolean {
    if (m.seq === seq) return true;
    if (m.seq === 0 && m.pid === 0) return false; // a notification: not ours to judge here
    throw new NetlinkProtocolError(`Netlink reply with sequence number ${m.seq}, expected ${seq}`);
  }

  /**
   * Sends one request with NLM_F_ACK and waits for the ack. Throws {@link NetlinkError} with
   * the kernel's errno and extended-ACK text.
   */
  exec(type: number, flags: number, body: (w: ByteWriter) => void, op: string, subject?: string): Promise<void> {
    return this.serial(async () => {
      const { buf, seq } = this.build(type, NLM_F.REQUEST | NLM_F.ACK | flags, body);
      this.transport.send(buf);
      for (;;) {
        for (const m of parseMessages(await this.nextDatagram())) {
          if (!this.checkSeq(m, seq)) continue;
          if (m.type === NLMSG.ERROR) {
            const ack = parseAck(m.body, m.flags);
            if (ack.errno) throw new NetlinkError(op, ack.errno, { extackMessage: ack.message, extackOffset: ack.offset, subject });
            return;
          }
        }
      }
    });
  }

  /**
   * Sends a request without NLM_F_ACK that the kernel answers with exactly one message
   * (GETLINK by name, GETROUTE for one destination) and decodes it.
   */
  get<T>(type: number, flags: number, body: (w: ByteWriter) => void, decode: (m: NetlinkMessage) => T, op: string, subject?: string): Promise<T> {
    return this.serial(async () => {
      const { buf, seq } = this.build(type, NLM_F.REQUEST | flags, body);
      this.transport.send(buf);
      for (;;) {
        for (const m of parseMessages(await this.nextDatagram())) {
          if (!this.checkSeq(m, seq)) continue;
          if (m.type === NLMSG.ERROR) {
            const ack = parseAck(m.body, m.flags);
            throw new NetlinkError(op, ack.errno || ERRNO.EIO, { extackMessage: ack.message, extackOffset: ack.offset, subject });
          }
          return decode(m);
        }
      }
    });
  }

  /**
   * Sends a dump request (NLM_F_DUMP) and assembles the multipart answer until NLMSG_DONE.
   * Messages `keep` rejects are skipped. If the kernel flagged NLM_F_DUMP_INTR anywhere,
   * throws {@link DumpInterruptedError} with everything received.
   */
  dump<T>(type: number, body: (w: ByteWriter) => void, decode: (m: NetlinkMessage) => T | undefined, op: string): Promise<T[]> {
    return this.serial(async () => {
      const { buf, seq } = this.build(type, NLM_F.REQUEST | NLM_F.DUMP, body);
      this.transport.send(buf);
      const out: T[] = [];
      let intr = false;
      let failure: NetlinkError | undefined;
      let turn = performance.now();
      for (;;) {
        // The kernel refills the socket inside every receive, so a big dump (a million routes,
        // 1.5 s) never has to wait and would hold the event loop the whole time: no timer, no
        // other I/O. It yields to the event loop every DUMP_TURN_MS instead.
        const now = performance.now();
        if (now - turn >= DUMP_TURN_MS) {
          await nextTurn();
          turn = performance.now();
        }
        for (const m of parseMessages(await this.nextDatagram())) {
          if (!this.checkSeq(m, seq)) continue;
          if (m.flags & NLM_F.DUMP_INTR) intr = true;
          if (m.type === NLMSG.DONE) {
            const d = parseDone(m.body, m.flags);
            if (d.errno) failure = new NetlinkError(op, d.errno, { extackMessage: d.message, extackOffset: d.offset });
            if (failure) throw failure;
            if (intr) throw new DumpInterruptedError(op, out);
            return out;
          }
          if (m.type === NLMSG.ERROR) {
            const ack = parseAck(m.body, m.flags);
            if (ack.errno) throw new NetlinkError(op, ack.errno, { extackMessage: ack.message, extackOffset: ack.offset });
            continue;
          }
          if (m.type === NLMSG.NOOP || m.type === NLMSG.OVERRUN) continue;
          if (failure) continue;
          try {
            const v = decode(m);
            if (v !== undefined) out.push(v);
          } catch (e) {
            // Keep draining to NLMSG_DONE so the socket stays in step, then throw.
            if (!failure) failure = e as NetlinkError;
          }
        }
      }
    });
  }

  /**
   * Pipelines many requests: as many messages as fit in `chunkBytes` per sendto, each with
   * NLM_F_ACK, and reports every item's outcome in order. One item failing (a duplicate route)
   * does not stop the others, unless `opts.stopOnError` (then no later datagram is sent).
   *
   * @example
   * ```ts
   * import { NetlinkConn } from "./conn.ts";
   * // const results = await conn.batch(items);
   * // results.filter((r) => !r.ok).length
   * ```
   */
  batch(items: readonly BatchItem[], opts: BatchOptions = {}): Promise<BatchResult[]> {
    return this.serial(async () => {
      const results: BatchResult[] = new Array(items.length);
      const chunkBytes = opts.chunkBytes ?? 64 * 1024;
      let failed = false;
      // Every ack occupies ~1 KiB of receive buffer (skb truesize): never have more in flight
      // than the buffer holds, or the kernel drops acks (ENOBUFS).
      const socket = this.transport instanceof SocketTransport ? this.transport : undefined;
      const rcvbuf = socket ? socket.rcvbuf : 1 << 30;
      const maxInFlight = Math.max(16, Math.floor(rcvbuf / 1280));
      const w = this.w;
      let i = 0;
      while (i < items.length) {
        if (failed && opts.stopOnError) {
          results.length = i;
          break;
        }
        w.reset();
        const first = i;
        const seq0 = (this.seq + 1) >>> 0;
        while (i < items.length && w.len < chunkBytes && i - first < maxInFlight) {
          const it = items[i]!;
          const at = beginMessage(w, it.type, NLM_F.REQUEST | NLM_F.ACK | it.flags, this.nextSeq(), 0);
          it.body(w);
          endMessage(w, at);
          i++;
        }
        this.transport.send(w.finish());
        let pending = i - first;
        let view: DataView | undefined;
        while (pending > 0) {
          // Drain synchronously while acks are queued; await only when the socket is empty.
          // Fast path: a datagram holding exactly one positive ack (the common case) is read in
          // place, in its receive slot (no view made per ack); anything else goes through the
          // full parser below.
          let d: Uint8Array | null;
          if (socket) {
            const o = socket.recvSlot();
            if (o < 0) {
              await socket.wait();
              continue;
            }
            const n = socket.lastLength;
            const v = socket.slotsView;
            if (n >= 20 && v.getUint32(o, true) === n && v.getUint16(o + 4, true) === NLMSG.ERROR && v.getInt32(o + 16, true) === 0) {
              const idx = first + ((v.getUint32(o + 8, true) - seq0) >>> 0);
              if (idx < i && results[idx] === undefined) {
                results[idx] = OK;
                pending--;
                continue;
              }
            }
            d = socket.slotBytes.subarray(o, o + n);
          } else {
            d = this.transport.recv();
            if (d === null) {
              await this.transport.wait();
              continue;
            }
            if (!view || view.buffer !== d.buffer) view = new DataView(d.buffer);
            const o = d.byteOffset;
            if (d.length >= 20 && view.getUint32(o, true) === d.length && view.getUint16(o + 4, true) === NLMSG.ERROR && view.getInt32(o + 16, true) === 0) {
              const idx = first + ((view.getUint32(o + 8, true) - seq0) >>> 0);
              if (idx < i && results[idx] === undefined) {
                results[idx] = OK;
                pending--;
                continue;
              }
            }
          }
          for (const m of parseMessages(d)) {
            if (m.type !== NLMSG.ERROR) {
              if (m.seq === 0 && m.pid === 0) continue;
              throw new NetlinkProtocolError(`Netlink batch: unexpected message type ${m.type} (sequence ${m.seq})`);
            }
            const idx = first + ((m.seq - seq0) >>> 0);
            if (idx < first || idx >= i || results[idx] !== undefined) {
              throw new NetlinkProtocolError(`Netlink batch: ack with sequence number ${m.seq} outside ${seq0}..${(seq0 + i - first - 1) >>> 0}`);
            }
            const ack = parseAck(m.body, m.flags);
            const it = items[idx]!;
            results[idx] = ack.errno
              ? { ok: false, error: new NetlinkError(it.op, ack.errno, { extackMessage: ack.message, extackOffset: ack.offset, subject: it.subject }) }
              : OK;
            if (ack.errno) failed = true;
            pending--;
          }
        }
      }
      return results;
    });
  }
}

/**
 * A connection whose "kernel" is `fn`: request bytes in, reply bytes out.
 *
 * @example
 * ```ts
 * import { fakeConn } from "./conn.ts";
 * import { parseMessages } from "./core/message.ts";
 * const conn = fakeConn((req) => {
 *   const m = parseMessages(req)[0]!;
 *   // answer with an ACK: NLMSG_ERROR, error 0, the request header echoed
 *   const ack = new Uint8Array(36);
 *   const v = new DataView(ack.buffer);
 *   v.setUint32(0, 36, true); v.setUint16(4, 2, true); v.setUint32(8, m.seq, true);
 *   ack.set(req.subarray(0, 16), 20);
 *   return ack;
 * });
 * ```
 */
export function fakeConn(fn: (request: Uint8Array) => Uint8Array | Uint8Array[] | undefined): NetlinkConn {
  return new NetlinkConn(fakeTransport(fn));
}
