/**
 * What the SOCKS5 and HTTP CONNECT clients share: a TCP connect with a deadline, a reader for
 * the handshake bytes, and {@link ProxyError}, whose `reason` says how a flow failed.
 *
 * @module
 */
import net from "node:net";
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

/** How to reach a destination through a proxy. */
export interface Dialer {
  /** The proxy this dialer goes through. */
  readonly url: ProxyUrl;
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
      if (e.code === "EMFILE" || e.code === "ENFILE") throw emfile(where, e.code);
      if (e.code === "ETIMEDOUT") throw new ProxyError("timeout", `Proxy ${where} did not answer within ${timeoutMs} ms`);
      if (e.code === "EPERM" || e.code === "ENODEV" || e.code === "EINVAL") throw new ProxyError("resources", `Cannot set up a socket to proxy ${where}: ${e.message}`, (e as { hint?: string }).hint);
      throw new ProxyError("unreachable", `Proxy ${where} is unreachable: ${e.code ?? e.message}`);
    });
  }
  return new Promise((resolve, reject) => {
    const s = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
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
