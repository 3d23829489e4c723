/**
 * What the SOCKS5 and HTTP CONNECT clients share: a TCP connect with a deadline, a reader for
 * the handshake bytes, and {@link ProxyError}, whose `reason` says how a flow failed.
 *
 * @module
 */
import type net from "node:net";
import { Buffer } from "node:buffer";
import { TunkitError } from "../common/errors.ts";
import type { ProxyUrl, Target } from "./url.ts";
import { connectMarked } from "../ffi/tcp.ts";

/** Why a proxied flow failed. */
export type ProxyFailure = "unreachable" | "timeout" | "auth" | "refused" | "protocol" | "resources";

/**
 * A proxy failed one flow: could not be reached, refused the credentials, refused the
 * destination, or spoke nonsense.
 *
 * @example
 * ```ts
 * import { ProxyError } from "./dial.ts";
 * new ProxyError("auth", "Proxy 192.0.2.2:1080 refused the user name and password").reason; // "auth"
 * ```
 */
export class ProxyError extends TunkitError {
  /** Why the proxy failed: unreachable, refused, auth, protocol... */
  readonly reason: ProxyFailure;
  /**
   * A proxy failure of kind `reason`.
   *
   * @param reason Why the proxy failed.
   * @param message One line saying what happened.
   * @param hint What to do about it.
   */
  constructor(reason: ProxyFailure, message: string, hint?: string) {
    super(message, hint);
    this.name = "ProxyError";
    this.reason = reason;
  }
}

/**
 * What the tunnel needs of a socket to the proxy: node:net's stream surface (a `net.Socket`, or
 * a {@link MarkedConn} when SO_MARK / SO_BINDTODEVICE had to be set before connecting).
 */
export interface StreamSocket {
  /** Writes bytes; false when the write buffer is full (wait for "drain"). */
  write(d: Uint8Array | string): boolean;
  /** Ends the write side after an optional last write. */
  end(d?: Uint8Array | string): unknown;
  /** Closes both directions now. */
  destroy(err?: Error): unknown;
  /** Closes with a TCP RST. */
  resetAndDestroy(): unknown;
  /** Stops "data" events. */
  pause(): unknown;
  /** Resumes "data" events. */
  resume(): unknown;
  /** Adds a listener ("data", "end", "close", "error", "drain"). */
  on(ev: string, fn: (...a: any[]) => void): unknown;
  /** Adds a listener called once. */
  once(ev: string, fn: (...a: any[]) => void): unknown;
  /** Removes a listener. */
  off(ev: string, fn: (...a: any[]) => void): unknown;
  /** Removes every listener of `ev` (all events when omitted). */
  removeAllListeners(ev?: string): unknown;
  /** Whether end() was called. */
  readonly writableEnded: boolean;
  /** The peer's address, when connected. */
  readonly remoteAddress?: string;
  /** The local address, when connected. */
  readonly localAddress?: string;
}

/** Socket options for the tunnel's own connections (see ffi/tcp.ts). */
export interface DialSocketOptions {
  /** SO_MARK: auto-route sends marked traffic by the main table, around the tun. */
  mark?: number;
  /** SO_BINDTODEVICE. */
  device?: string;
  /** The proxy's address to connect to (a resolved IP) when its URL names a host. */
  address?: string;
}

/** A proxied TCP stream, handshake done: `head` holds bytes that arrived after the handshake. */
export interface ProxyStream {
  /** The socket, after the proxy's handshake. */
  socket: StreamSocket;
  /** Bytes that arrived after the handshake (the destination's first bytes). */
  head: Uint8Array;
}

/**
 * One step of a {@link HandshakeMachine}: bytes to send now (if any), and whether the
 * handshake is over; `rest` holds what arrived beyond it (the stream's first bytes).
 */
export interface HandshakeStep {
  /** Bytes to send to the proxy now. */
  send?: Uint8Array;
  /** True once the stream is open (the proxy said yes). */
  done: boolean;
  /** With `done`: bytes that came after the handshake (the stream's first bytes). */
  rest?: Uint8Array;
}

/**
 * A proxy handshake as a state machine over raw bytes, for a caller that owns the socket and
 * its events (the tunnel's relay on Bun's own sockets): no promise, no reader, no timer per
 * flow. `start()` gives the first bytes to send; `feed(d)` takes what arrived and says what to
 * send next and whether the stream is open. Throws a {@link ProxyError} when the proxy refuses
 * or speaks nonsense.
 *
 * @example
 * ```ts
 * import { Socks5Dialer } from "./socks5.ts";
 * import { parseProxyUrl } from "./url.ts";
 * const m = new Socks5Dialer(parseProxyUrl("socks5://192.0.2.2:1080", "socks5")).handshake({ host: "198.51.100.2", port: 80 });
 * m.start(); // [5, 1, 0]
 * m.feed(new Uint8Array([5, 0])).send; // [5, 1, 0, 1, 198, 51, 100, 2, 0, 80]
 * m.feed(new Uint8Array([5, 0, 0, 1, 0, 0, 0, 0, 0, 0])).done; // true
 * ```
 */
export interface HandshakeMachine {
  /** The first bytes to send, once connected. */
  start(): Uint8Array;
  /** Takes bytes from the proxy; throws a {@link ProxyError} on a refusal or nonsense. */
  feed(d: Uint8Array): HandshakeStep;
}

/** How to reach a destination through a proxy. */
export interface Dialer {
  /** The proxy this dialer goes through. */
  readonly url: ProxyUrl;
  /** Socket options of every connection to the proxy (SO_MARK, SO_BINDTODEVICE, the resolved address). */
  readonly so?: DialSocketOptions | undefined;
  /**
   * The CONNECT handshake to `target` as a {@link HandshakeMachine}, for callers that open the
   * TCP connection to `url` themselves. Optional: a Dialer without it is used through
   * {@link Dialer.connect}.
   */
  handshake?(target: Target): HandshakeMachine;
  /** Opens a TCP stream to `target` through the proxy. */
  connect(target: Target, opts?: { timeoutMs?: number }): Promise<ProxyStream>;
  /**
   * Checks that the proxy answers its protocol (and takes the credentials), without opening a
   * stream anywhere; resolves with the round trip in ms. Rejects with a {@link ProxyError}:
   * "auth" when the credentials are refused, "unreachable"/"timeout"/"protocol" otherwise.
   */
  probe(opts?: { timeoutMs?: number }): Promise<number>;
}

/**
 * node:net, loaded when first used: only the Deno / TUNKIT_TCP_SOCKETS=node path and connectTcp
 * need it, and under Bun importing it put ~0.5 MB into the daemon's JS heap.
 *
 * @example
 * ```ts
 * import { nodeNet } from "./dial.ts";
 * const srv = nodeNet().createServer();
 * srv.close();
 * ```
 */
export function nodeNet(): typeof net {
  return process.getBuiltinModule("node:net") as typeof net;
}

/**
 * Connects to `host:port` with a deadline. Rejects with a {@link ProxyError} ("unreachable" or
 * "timeout") naming the proxy.
 *
 * @example
 * ```ts
 * import { connectTcp } from "./dial.ts";
 * const s = await connectTcp("192.0.2.2", 1080, 5000);
 * s.destroy();
 * ```
 */
export function connectTcp(host: string, port: number, timeoutMs: number, so?: DialSocketOptions): Promise<StreamSocket> {
  const where = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  if (so && (so.mark || so.device)) {
    const ip = so.address ?? host;
    return connectMarked(ip, port, so, timeoutMs).catch((e: Error & { code?: string }) => {
      throw connectFailure(where, e, timeoutMs);
    });
  }
  return new Promise((resolve, reject) => {
    const s = nodeNet().connect({ host, port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new ProxyError("timeout", `Proxy ${where} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      s.removeAllListeners("error");
      resolve(s);
    });
    s.once("error", (e: Error & { code?: string }) => {
      clearTimeout(timer);
      s.destroy();
      if (e.code === "EMFILE" || e.code === "ENFILE") reject(emfile(where, e.code));
      else reject(new ProxyError("unreachable", `Proxy ${where} is unreachable: ${e.code ?? e.message}`));
    });
  });
}

/**
 * The {@link ProxyError} for a failed TCP connect to the proxy at `where` ("192.0.2.2:1080"):
 * "resources" for EMFILE/ENFILE (with a hint) and socket-option refusals, "timeout" for
 * ETIMEDOUT, "unreachable" otherwise.
 *
 * @example
 * ```ts
 * import { connectFailure } from "./dial.ts";
 * connectFailure("192.0.2.2:1080", Object.assign(new Error("x"), { code: "ECONNREFUSED" }), 5000).message; // "Proxy 192.0.2.2:1080 is unreachable: ECONNREFUSED"
 * ```
 */
export function connectFailure(where: string, e: Error & { code?: string }, timeoutMs: number): ProxyError {
  if (e.code === "EMFILE" || e.code === "ENFILE") return emfile(where, e.code);
  if (e.code === "ETIMEDOUT") return new ProxyError("timeout", `Proxy ${where} did not answer within ${timeoutMs} ms`);
  if (e.code === "EPERM" || e.code === "ENODEV" || e.code === "EINVAL") return new ProxyError("resources", `Cannot set up a socket to proxy ${where}: ${e.message}`, (e as { hint?: string }).hint);
  return new ProxyError("unreachable", `Proxy ${where} is unreachable: ${e.code ?? e.message}`);
}

function emfile(where: string, code: string): ProxyError {
  const which = code === "EMFILE" ? "this process's open-files limit" : "the system's open-files limit";
  return new ProxyError("resources", `Cannot open a socket to proxy ${where}: ${which} is reached (${code})`, "raise LimitNOFILE= (ulimit -n) or lower --max-sessions");
}

/**
 * Reads handshake bytes from a socket: `read(n)` exactly n bytes, `readUntil(delim)`; then
 * `detach()` hands back what arrived beyond the handshake and stops listening.
 *
 * @example
 * ```ts
 * import { HandshakeReader } from "./dial.ts";
 * // const r = new HandshakeReader(socket, "proxy 192.0.2.2:1080");
 * // const [ver, method] = await r.read(2);
 * // const rest = r.detach();
 * ```
 */
export class HandshakeReader {
  private buf: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private ended: Error | undefined;
  private readonly sock: StreamSocket;
  private readonly who: string;
  private readonly onData = (d: Buffer) => {
    this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
    this.wake();
  };
  private readonly onEnd = () => {
    this.ended ??= new ProxyError("protocol", `${this.who} closed the connection during the handshake`);
    this.wake();
  };
  private readonly onError = (e: Error & { code?: string }) => {
    this.ended ??= new ProxyError("unreachable", `${this.who}: ${e.code ?? e.message} during the handshake`);
    this.wake();
  };

  /** `initial`: bytes already read from the socket (a proxy handshake's leftovers). */
  constructor(sock: StreamSocket, who: string, initial?: Uint8Array) {
    this.sock = sock;
    this.who = who;
    if (initial?.length) this.buf = Buffer.from(initial);
    sock.on("data", this.onData);
    sock.on("end", this.onEnd);
    sock.on("close", this.onEnd);
    sock.on("error", this.onError);
    sock.resume();
  }

  /** Resolves a pending read, if any. */
  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  /** Waits until `test()` returns a length >= 0, then takes that many bytes. */
  private async need(test: () => number): Promise<Buffer> {
    for (;;) {
      const n = test();
      if (n >= 0) {
        const out = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        return out;
      }
      if (this.ended) throw this.ended;
      await new Promise<void>((r) => (this.waiter = r));
    }
  }

  /** Exactly `n` bytes. */
  read(n: number): Promise<Buffer> {
    return this.need(() => (this.buf.length >= n ? n : -1));
  }

  /** Whatever has arrived (at least one byte). */
  some(): Promise<Buffer> {
    return this.need(() => (this.buf.length > 0 ? this.buf.length : -1));
  }

  /** Puts `b` back in front of what is still to be read (bytes a reader took too many of). */
  unread(b: Uint8Array): void {
    if (b.length) this.buf = this.buf.length ? Buffer.concat([b, this.buf]) : Buffer.from(b);
  }

  /** Bytes up to and including `delim`; fails past `max` bytes. */
  readUntil(delim: string, max: number): Promise<Buffer> {
    const d = Buffer.from(delim);
    return this.need(() => {
      const i = this.buf.indexOf(d);
      if (i >= 0) return i + d.length;
      if (this.buf.length > max) {
        this.ended = new ProxyError("protocol", `${this.who} sent more than ${max} bytes without "${JSON.stringify(delim).slice(1, -1)}"`);
      }
      return -1;
    });
  }

  /** Stops reading (the socket is paused) and returns the bytes beyond the handshake. */
  detach(): Uint8Array {
    this.sock.pause();
    this.sock.off("data", this.onData);
    this.sock.off("end", this.onEnd);
    this.sock.off("close", this.onEnd);
    this.sock.off("error", this.onError);
    const rest = this.buf;
    this.buf = Buffer.alloc(0);
    return rest;
  }
}

/**
 * Runs the handshake machine `m` over a socket read through `r`: sends `m.start()`, feeds it what
 * arrives and sends what it answers, until it says the stream is open; the bytes that came after
 * the handshake stay in `r` (its `detach()` returns them). The one driver of the machines for
 * sockets with node:net's events; the tunnel's Bun sockets feed them from their data handler.
 *
 * @example
 * ```ts
 * import { runMachine, HandshakeReader, type StreamSocket, type HandshakeMachine } from "./dial.ts";
 * declare const sock: StreamSocket;
 * declare const m: HandshakeMachine;
 * await runMachine(new HandshakeReader(sock, "proxy 192.0.2.2:1080"), sock, m);
 * ```
 */
export async function runMachine(r: HandshakeReader, sock: StreamSocket, m: HandshakeMachine): Promise<void> {
  sock.write(m.start());
  for (;;) {
    const step = m.feed(await r.some());
    if (step.send) sock.write(step.send);
    if (step.done) {
      if (step.rest) r.unread(step.rest);
      return;
    }
  }
}

/**
 * Runs `fn` with a deadline; on timeout destroys `sock` and rejects with a "timeout" error.
 *
 * @example
 * ```ts
 * import { withDeadline } from "./dial.ts";
 * // await withDeadline(sock, 5000, "proxy 192.0.2.2:1080", () => handshake(sock));
 * ```
 */
export async function withDeadline<T>(sock: StreamSocket, ms: number, who: string, fn: () => Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      sock.destroy();
      reject(new ProxyError("timeout", `${who} did not finish the handshake within ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([fn(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Connects to the proxy at `url` and runs `handshake` on the connection under a deadline.
 * Resolves with the socket, the bytes that arrived past the handshake and the handshake's
 * result; on any failure the socket is destroyed and the error passed on.
 *
 * @example
 * ```ts
 * import { dialHandshake } from "./dial.ts";
 * // const { sock, head } = await dialHandshake(url, "SOCKS5 proxy 192.0.2.2:1080", 5000, (r, s) => negotiate(r, s));
 * ```
 */
export async function dialHandshake<T>(
  url: ProxyUrl,
  who: string,
  timeoutMs: number,
  handshake: (r: HandshakeReader, sock: StreamSocket) => Promise<T>,
  so?: DialSocketOptions,
): Promise<{ sock: StreamSocket; head: Uint8Array; result: T }> {
  const sock = await connectTcp(url.host, url.port, timeoutMs, so);
  const r = new HandshakeReader(sock, who);
  try {
    const result = await withDeadline(sock, timeoutMs, who, () => handshake(r, sock));
    return { sock, head: r.detach(), result };
  } catch (e) {
    r.detach();
    sock.destroy();
    throw e;
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Bytes of a handshake that arrive in pieces: `add(d)` appends, `take(n)` removes the first n.
 * No copy while everything comes in one piece (the usual case).
 *
 * @example
 * ```ts
 * import { ByteQueue } from "./dial.ts";
 * const q = new ByteQueue();
 * q.add(new Uint8Array([1, 2])); q.add(new Uint8Array([3]));
 * q.bytes.length; // 3
 * q.take(2); // [1, 2]
 * ```
 */
export class ByteQueue {
  /** What is queued (a shared empty array until something comes: never written to). */
  bytes: Uint8Array = EMPTY;
  add(d: Uint8Array): void {
    if (this.bytes.length === 0) {
      this.bytes = d;
      return;
    }
    const b = new Uint8Array(this.bytes.length + d.length);
    b.set(this.bytes);
    b.set(d, this.bytes.length);
    this.bytes = b;
  }
  take(n: number): Uint8Array {
    const out = this.bytes.subarray(0, n);
    this.bytes = this.bytes.subarray(n);
    return out;
  }
}

/**
 * `a` then `b` in one new array (a handshake's leftover bytes joined with what came next); used
 * by both TCP relays.
 *
 * @example
 * ```ts
 * import { concatBytes } from "./dial.ts";
 * concatBytes(new Uint8Array([1]), new Uint8Array([2, 3])); // [1, 2, 3]
 * ```
 */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const o = new Uint8Array(a.length + b.length);
  o.set(a);
  o.set(b, a.length);
  return o;
}
