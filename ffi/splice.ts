/**
 * The system calls of the kernel-side TCP relay (proxy/fd-relay.ts): `splice(2)` between a
 * socket and a pipe, `pipe2`, a listening socket with `accept4`, `shutdown`, and a close that
 * sends a RST. Fixed signatures (no variadic call), every call returns -1 and leaves errno for
 * {@link errno}, read right after the failing call.
 *
 * Bound by this module in its own `dlopen` on first use (Bun only: the relay it serves is
 * Bun's; under Deno {@link spliceAvailable} is false and every call throws).
 *
 * @module
 */
import { formatIpv4, formatIpv6, parseIp } from "../common/addr.ts";
import { TunkitError } from "../common/errors.ts";
import { SOCK } from "./abi.ts";
import { ERRNO, SysError } from "./errors.ts";
import { errno, raw, runtime, sys } from "./libc.ts";
import { FFIType as T, nativeDlopen } from "./bun.ts";

/** splice(2) flags. */
export const SPLICE_F = { MOVE: 1, NONBLOCK: 2, MORE: 4 } as const;
/** shutdown(2) how. */
export const SHUT = { RD: 0, WR: 1, RDWR: 2 } as const;
/** fcntl(F_SETPIPE_SZ), fcntl(F_GETPIPE_SZ). */
const F_SETPIPE_SZ = 1031;
const F_GETPIPE_SZ = 1032;
const O_NONBLOCK = 0o4000;
const O_CLOEXEC = 0o2000000;
const SO_REUSEADDR = 2;
const SO_LINGER = 13;

interface SpliceLib {
  splice(fdIn: number, offIn: null, fdOut: number, offOut: null, len: number, flags: number): number;
  pipe2(fds: Uint8Array, flags: number): number;
  accept4(fd: number, addr: Uint8Array | null, lenp: Uint8Array | null, flags: number): number;
  shutdown(fd: number, how: number): number;
  listen(fd: number, backlog: number): number;
  getpeername(fd: number, addr: Uint8Array, lenp: Uint8Array): number;
}

let lib: SpliceLib | undefined;

/**
 * The runtime's dlopen as ffi/bun.ts binds libc with it (`Bun.FFI`'s native: no top-level
 * `await import("bun:ffi")`, which would make this module and its importers asynchronous
 * modules); undefined under Deno.
 */
const dlopen = runtime === "bun" ? nativeDlopen : undefined;

/** Whether this runtime has the relay's system calls (Bun). */
export function spliceAvailable(): boolean {
  return dlopen !== undefined;
}

function bind(): SpliceLib {
  if (lib) return lib;
  if (!dlopen) throw new TunkitError("The splice relay needs the Bun runtime (the tunkit binary)", "unset TUNKIT_RELAY under Deno");
  let last: unknown;
  for (const path of ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"]) {
    try {
      // size_t/ssize_t as 32-bit: lengths stay far below 2^31 (as read/write in ffi/symbols.ts).
      const s = dlopen(path, {
        splice: { args: [T.i32, T.ptr, T.i32, T.ptr, T.u32, T.u32], returns: T.i32 },
        pipe2: { args: [T.ptr, T.i32], returns: T.i32 },
        accept4: { args: [T.i32, T.ptr, T.ptr, T.i32], returns: T.i32 },
        shutdown: { args: [T.i32, T.i32], returns: T.i32 },
        listen: { args: [T.i32, T.i32], returns: T.i32 },
        getpeername: { args: [T.i32, T.ptr, T.ptr], returns: T.i32 },
      }).symbols;
      return (lib = s as unknown as SpliceLib);
    } catch (e) {
      last = e;
    }
  }
  throw new TunkitError(`Cannot load libc for splice: ${String(last)}`);
}

/**
 * The raw calls (-1 and errno on failure). `splice` moves up to `len` bytes from `fdIn` to
 * `fdOut` (one of them a pipe), `SPLICE_F.NONBLOCK | SPLICE_F.MOVE` on the relay's path.
 *
 * @example
 * ```ts
 * import { rawSplice, SPLICE_F } from "./splice.ts";
 * declare const sock: number, pipeWrite: number;
 * const n = rawSplice().splice(sock, null, pipeWrite, null, 65536, SPLICE_F.NONBLOCK | SPLICE_F.MOVE);
 * ```
 */
export function rawSplice(): SpliceLib {
  return lib ?? bind();
}

const pipeBuf = new Uint8Array(new ArrayBuffer(1024)).subarray(0, 8);
const pipeView = new DataView(pipeBuf.buffer);

/**
 * A non-blocking, close-on-exec pipe: [read end, write end]. With `size`, asks for that
 * capacity (F_SETPIPE_SZ; the kernel rounds up to pages, a refusal keeps the default).
 *
 * @example
 * ```ts
 * import { makePipe } from "./splice.ts";
 * const [r, w] = makePipe(1 << 18);
 * ```
 */
export function makePipe(size = 0): [number, number] {
  if (rawSplice().pipe2(pipeBuf, O_NONBLOCK | O_CLOEXEC) < 0) throw new SysError("pipe2", errno());
  const r = pipeView.getInt32(0, true);
  const w = pipeView.getInt32(4, true);
  if (size > 0) raw.fcntl(w, F_SETPIPE_SZ, size); // EPERM past pipe-max-size: the default stays
  return [r, w];
}

/**
 * The capacity of a pipe (bytes).
 *
 * @example
 * ```ts
 * import { makePipe, pipeSize } from "./splice.ts";
 * pipeSize(makePipe()[1]); // 65536
 * ```
 */
export function pipeSize(fd: number): number {
  return raw.fcntl(fd, F_GETPIPE_SZ, 0);
}

/** A listening socket and its port. */
export interface TcpListener {
  fd: number;
  port: number;
}

/**
 * A non-blocking TCP listener on `address` (an IP), port `port` (0: any), SO_REUSEADDR.
 * Throws {@link SysError} (EADDRINUSE, EADDRNOTAVAIL…).
 *
 * @example
 * ```ts
 * import { listenTcp } from "./splice.ts";
 * const l = listenTcp("127.0.0.1", 0); // l.port
 * ```
 */
export function listenTcp(address: string, port: number, backlog = 4096): TcpListener {
  const ip = parseIp(address);
  const v4 = ip.length === 4;
  const sa = new Uint8Array(new ArrayBuffer(1024)).subarray(0, v4 ? 16 : 28);
  new DataView(sa.buffer).setUint16(0, v4 ? SOCK.AF_INET : SOCK.AF_INET6, true);
  sa[2] = port >> 8;
  sa[3] = port & 0xff;
  sa.set(ip, v4 ? 4 : 8);
  const fd = sys.socket(v4 ? SOCK.AF_INET : SOCK.AF_INET6, SOCK.SOCK_STREAM | SOCK.SOCK_NONBLOCK, 0);
  try {
    sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SO_REUSEADDR, 1, "setsockopt(SO_REUSEADDR)");
    sys.bind(fd, sa);
    if (rawSplice().listen(fd, backlog) < 0) throw new SysError("listen", errno(), address);
    const out = new Uint8Array(new ArrayBuffer(1024)).subarray(0, 28);
    sys.getsockname(fd, out);
    return { fd, port: (out[2]! << 8) | out[3]! };
  } catch (e) {
    sys.close(fd);
    throw e;
  }
}

/** What {@link acceptTcp} returns besides the fd: the peer's address and port. */
export interface Peer {
  address: string;
  port: number;
}

const peerBuf = new Uint8Array(new ArrayBuffer(1024)).subarray(0, 28);
const peerLen = new Uint8Array(new ArrayBuffer(1024)).subarray(0, 4);
const peerLenView = new DataView(peerLen.buffer);
/**
 * The last IPv4 peer and its text: the tunnel's connections all come from one fake peer, so the
 * address is one shared string, not one per held connection.
 */
let lastV4 = -1;
let lastV4Text = "";
const peerView = new DataView(peerBuf.buffer, peerBuf.byteOffset, 28);

function v4Text(off: number): string {
  const a = peerView.getUint32(off);
  if (a !== lastV4) {
    lastV4 = a;
    lastV4Text = formatIpv4(peerBuf, off);
  }
  return lastV4Text;
}

/**
 * accept4(fd, non-blocking, close-on-exec): the new fd with its peer in `peer`, -1 when none is
 * waiting (EAGAIN), or -errno (EMFILE, ENFILE, ECONNABORTED…). No getpeername: accept4 fills it.
 *
 * @example
 * ```ts
 * import { acceptTcp, listenTcp, type Peer } from "./splice.ts";
 * const l = listenTcp("127.0.0.1", 0);
 * const peer: Peer = { address: "", port: 0 };
 * acceptTcp(l.fd, peer); // -1: nobody is waiting
 * ```
 */
export function acceptTcp(fd: number, peer: Peer): number {
  peerLenView.setUint32(0, 28, true);
  const c = rawSplice().accept4(fd, peerBuf, peerLen, SOCK.SOCK_NONBLOCK | SOCK.SOCK_CLOEXEC);
  if (c < 0) {
    const e = errno();
    return e === ERRNO.EAGAIN ? -1 : -e;
  }
  readPeer(peer);
  return c;
}

/** The sockaddr in peerBuf into `peer`. */
function readPeer(peer: Peer): void {
  const b = peerBuf;
  peer.port = (b[2]! << 8) | b[3]!;
  if (b[0]! + (b[1]! << 8) === SOCK.AF_INET) peer.address = v4Text(4);
  else {
    // An IPv4-mapped peer on a dual-stack listener reads as the IPv4 address.
    const mapped = b[8] === 0 && b[9] === 0 && b[10] === 0 && b[11] === 0 && b[12] === 0 && b[13] === 0 && b[14] === 0 && b[15] === 0 && b[16] === 0 && b[17] === 0 && b[18] === 0xff && b[19] === 0xff;
    peer.address = mapped ? v4Text(20) : formatIpv6(b, 8);
  }
}

/**
 * The peer of connected socket `fd` (address and port) in `peer` with one getpeername(2); false
 * when it has none. Bun's sockets read `remotePort` and `remoteAddress` with one getpeername
 * each: the tunnel asks this once per accepted connection instead.
 *
 * @example
 * ```ts
 * import { peerOf, type Peer } from "./splice.ts";
 * const peer: Peer = { address: "", port: 0 };
 * peerOf(-1, peer); // false: not a socket
 * ```
 */
export function peerOf(fd: number, peer: Peer): boolean {
  peerLenView.setUint32(0, 28, true);
  if (rawSplice().getpeername(fd, peerBuf, peerLen) < 0) return false;
  readPeer(peer);
  return true;
}

const lingerBuf = new Uint8Array(new ArrayBuffer(1024)).subarray(0, 8);
lingerBuf[0] = 1; // l_onoff = 1, l_linger = 0

/**
 * Closes a TCP socket with a RST (SO_LINGER 0), as Bun's `terminate()` does. Errors ignored:
 * the fd is gone either way.
 *
 * @example
 * ```ts
 * import { closeReset } from "./splice.ts";
 * declare const fd: number;
 * closeReset(fd);
 * ```
 */
export function closeReset(fd: number): void {
  raw.setsockopt(fd, SOCK.SOL_SOCKET, SO_LINGER, lingerBuf, 8);
  raw.close(fd);
}
