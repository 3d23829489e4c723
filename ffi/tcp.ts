/**
 * TCP connections whose socket options must be set before the SYN leaves: SO_MARK (fwmark,
 * so policy routing keeps a tunnel's own traffic out of its tun) and SO_BINDTODEVICE. Neither
 * node:net nor Bun's sockets can set them, nor adopt a socket made elsewhere through node:net;
 * so the socket is made here (socket, setsockopt, non-blocking connect, EPOLLOUT through the
 * poller, SO_ERROR) and handed to Bun's own sockets (`Bun.connect({ fd })`), wrapped in a
 * small stream with node:net's events and backpressure ({@link MarkedConn}). Bun only: under
 * Deno {@link connectMarked} refuses with a clear error.
 *
 * @module
 */
import { EventEmitter } from "node:events";
import { parseIp } from "../common/addr.ts";
import { TunkitError } from "../common/errors.ts";
import { EPOLL, INET, SOCK } from "./abi.ts";
import { ERRNO, SysError } from "./errors.ts";
import { errno, raw, runtime, sys } from "./libc.ts";
import { watch } from "./poller.ts";

const SO_BINDTODEVICE = 25;
const SO_MARK = 36;
const SO_ERROR = 4;
const TCP_NODELAY = 1;

/** Socket options for {@link connectMarked}. */
export interface MarkOptions {
  /** SO_MARK (needs CAP_NET_ADMIN). */
  mark?: number;
  /** SO_BINDTODEVICE: leave through this interface only. */
  device?: string;
}

/**
 * The sockaddr every connect is made from (connect(2) copies it): one buffer for the process,
 * its address kept while the host stays the same (a tunnel dials one proxy), so a connection
 * allocates nothing here (it was a 1 KiB ArrayBuffer, two views, a DataView and the parsed
 * address per connect: garbage of a 5,000-connection burst in the splice relay).
 */
const saBuf = new Uint8Array(new ArrayBuffer(1024));
const sa4 = saBuf.subarray(0, 16);
const sa6 = saBuf.subarray(0, 28);
let saHost: string | undefined;
let saV4 = true;

function sockaddr(host: string, port: number): Uint8Array {
  if (host !== saHost) {
    const ip = parseIp(host);
    saBuf.fill(0, 0, 28);
    saV4 = ip.length === 4;
    new DataView(saBuf.buffer).setUint16(0, saV4 ? SOCK.AF_INET : SOCK.AF_INET6, true);
    saBuf.set(ip, saV4 ? 4 : 8);
    saHost = host;
  }
  saBuf[2] = port >> 8;
  saBuf[3] = port & 0xff;
  return saV4 ? sa4 : sa6;
}

/**
 * Makes a socket with `opts` set on it and starts a non-blocking connect to `host:port` (an IP
 * address). Resolves with the connected fd; rejects with a {@link SysError} (ECONNREFUSED…,
 * ETIMEDOUT after `timeoutMs`; EPERM for SO_MARK without CAP_NET_ADMIN).
 *
 * @example
 * ```ts
 * import { connectFd } from "./tcp.ts";
 * const fd = await connectFd("192.0.2.2", 1080, { mark: 0x54 }, 5000);
 * ```
 */
export function connectFd(host: string, port: number, opts: MarkOptions, timeoutMs: number): Promise<number> {
  let fd: number;
  try {
    const c = startConnect(host, port, opts);
    if (c.connected) return Promise.resolve(c.fd);
    fd = c.fd;
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise<number>((resolve, reject) => {
    const w = watch(fd, () => {
      clearTimeout(timer);
      w.close();
      const err = connectResult(fd);
      if (err === 0) resolve(fd);
      else {
        sys.close(fd);
        reject(new SysError("connect", err, `${host}:${port}`));
      }
    }, EPOLL.OUT);
    const timer = setTimeout(() => {
      w.close();
      sys.close(fd);
      reject(new SysError("connect", ERRNO.ETIMEDOUT, `${host}:${port}`));
    }, timeoutMs);
    w.arm();
  });
}

/**
 * The first half of {@link connectFd}, for a caller with its own readiness and deadline: a
 * non-blocking TCP socket with `opts` and TCP_NODELAY set, its connect to `host:port` (an IP)
 * started. `connected`: already done (loopback may be); otherwise wait for EPOLL.OUT, then
 * {@link connectResult}. Throws {@link SysError} (EMFILE, EPERM for SO_MARK, ECONNREFUSED…);
 * the socket is closed then.
 *
 * @example
 * ```ts
 * import { connectResult, startConnect } from "./tcp.ts";
 * const c = startConnect("192.0.2.2", 1080, { mark: 0x54 });
 * // once c.fd is writable: connectResult(c.fd) === 0 means connected
 * ```
 */
export function startConnect(host: string, port: number, opts: MarkOptions): { fd: number; connected: boolean } {
  const sa = sockaddr(host, port);
  const fd = sys.socket(sa.length === 16 ? SOCK.AF_INET : SOCK.AF_INET6, SOCK.SOCK_STREAM | SOCK.SOCK_NONBLOCK, 0);
  try {
    if (opts.mark) sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SO_MARK, opts.mark, "setsockopt(SO_MARK)");
    if (opts.device) {
      const name = new Uint8Array(new ArrayBuffer(1024)).subarray(0, 16);
      name.set(new TextEncoder().encode(opts.device).subarray(0, 15));
      sys.setsockopt(fd, SOCK.SOL_SOCKET, SO_BINDTODEVICE, name, "setsockopt(SO_BINDTODEVICE)");
    }
    sys.setsockoptInt(fd, INET.IPPROTO_TCP, TCP_NODELAY, 1, "setsockopt(TCP_NODELAY)");
  } catch (e) {
    sys.close(fd);
    throw e;
  }
  const r = raw.connect(fd, sa, sa.length);
  if (r === 0) return { fd, connected: true };
  const e = errno();
  if (e !== ERRNO.EINPROGRESS) {
    sys.close(fd);
    throw new SysError("connect", e, `${host}:${port}`);
  }
  return { fd, connected: false };
}

/**
 * The outcome of a connect started by {@link startConnect}, once its fd is writable: 0, or the
 * errno it failed with (SO_ERROR).
 *
 * @example
 * ```ts
 * import { connectResult } from "./tcp.ts";
 * declare const fd: number;
 * connectResult(fd); // 0, or 111 (ECONNREFUSED)…
 * ```
 */
export function connectResult(fd: number): number {
  return sys.getsockoptInt(fd, SOCK.SOL_SOCKET, SO_ERROR);
}

/**
 * Closes a descriptor from {@link connectFd} that is no longer wanted.
 *
 * @example
 * ```ts
 * import { closeFd, connectFd } from "./tcp.ts";
 * closeFd(await connectFd("192.0.2.2", 1080, { mark: 0x54 }, 5000));
 * ```
 */
export function closeFd(fd: number): void {
  sys.close(fd);
}

interface BunSocketLike {
  write(d: Uint8Array): number;
  /** shutdown(2): no argument shuts the write side (a FIN); `true` would shut the read side. */
  shutdown(halfClose?: boolean): void;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  readonly remoteAddress: string;
}

/**
 * A connected TCP socket with node:net's stream surface as far as a relay needs it: `write`
 * returns false when data had to be queued (then "drain"), `end()` half-closes after the
 * queue, `pause()`/`resume()`, events "data", "drain", "end", "close" (hadError), "error".
 */
export class MarkedConn extends EventEmitter {
  private sock: BunSocketLike | undefined;
  private queue: Uint8Array[] = [];
  private ending = false;
  private closed = false;
  private peerEnded = false;
  private destroyed = false;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  localAddress: string | undefined;

  /** @internal */
  attach(s: BunSocketLike, host: string, port: number): void {
    this.sock = s;
    this.remoteAddress = host;
    this.remotePort = port;
    this.localAddress = host.includes(":") ? "::" : "0.0.0.0";
  }

  /** @internal */
  onDrain(): void {
    const s = this.sock;
    if (!s) return;
    while (this.queue.length) {
      const b = this.queue[0]!;
      const n = s.write(b);
      if (n < b.length) {
        this.queue[0] = b.subarray(Math.max(0, n));
        return;
      }
      this.queue.shift();
    }
    if (this.ending) s.shutdown();
    else this.emit("drain");
  }

  write(d: Uint8Array | string): boolean {
    const b = typeof d === "string" ? new TextEncoder().encode(d) : d;
    const s = this.sock;
    if (!s || this.closed) return false;
    if (this.queue.length) {
      this.queue.push(b.slice());
      return false;
    }
    const n = s.write(b);
    if (n >= b.length) return true;
    this.queue.push(b.slice(Math.max(0, n)));
    return false;
  }

  /** Half-closes (FIN) once everything queued is written. */
  end(d?: Uint8Array | string): this {
    if (d !== undefined) this.write(d);
    this.ending = true;
    if (!this.queue.length) this.sock?.shutdown();
    return this;
  }

  destroy(err?: Error): this {
    if (this.closed) return this;
    if (err) this.emit("error", err);
    this.destroyed = true;
    this.sock?.terminate();
    return this;
  }

  resetAndDestroy(): this {
    return this.destroy();
  }

  pause(): this {
    this.sock?.pause();
    return this;
  }

  resume(): this {
    this.sock?.resume();
    return this;
  }

  setNoDelay(): this {
    return this;
  }

  get writableEnded(): boolean {
    return this.ending;
  }

  /** @internal */
  markClosed(hadError: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    // Bun reports a peer's FIN that comes after our own as a close, without "end": node:net's
    // order is "end" then "close", and a relay waits for "end" to finish its other side.
    if (!hadError && !this.destroyed && !this.peerEnded) this.markEnded();
    this.emit("close", hadError);
  }

  /** @internal The peer half-closed (FIN). */
  markEnded(): void {
    if (this.peerEnded) return;
    this.peerEnded = true;
    this.emit("end");
  }
}

/**
 * Connects to `host:port` (an IP address) with SO_MARK / SO_BINDTODEVICE set before the SYN.
 * Rejects with a {@link SysError} naming the failure; under Deno with a {@link TunkitError}.
 *
 * @example
 * ```ts
 * import { connectMarked } from "./tcp.ts";
 * const c = await connectMarked("192.0.2.2", 1080, { mark: 0x54 }, 5000);
 * c.on("data", (d) => console.log(d.length));
 * c.write(new Uint8Array([5, 1, 0]));
 * ```
 */
export async function connectMarked(host: string, port: number, opts: MarkOptions, timeoutMs: number): Promise<MarkedConn> {
  if (runtime !== "bun") throw new TunkitError("SO_MARK / SO_BINDTODEVICE on proxy sockets need the Bun runtime (the tunkit binary)", "leave --fwmark/--bind-interface out under Deno");
  const fd = await connectFd(host, port, opts, timeoutMs);
  const conn = new MarkedConn();
  const bun = (globalThis as unknown as { Bun: { connect(o: unknown): Promise<BunSocketLike> } }).Bun;
  let hadError = false;
  let s: BunSocketLike;
  try {
    s = await adopt();
  } catch (e) {
    sys.close(fd);
    throw e;
  }
  conn.attach(s, host, port);
  return conn;

  function adopt(): Promise<BunSocketLike> {
    return bun.connect({
      fd,
      allowHalfOpen: true,
      socket: {
        data: (_s: unknown, d: Uint8Array) => conn.emit("data", d),
        drain: () => conn.onDrain(),
        end: () => conn.markEnded(),
        close: () => conn.markClosed(hadError),
        error: (_s: unknown, e: Error) => {
          hadError = true;
          conn.emit("error", e);
        },
      },
    });
  }
}
