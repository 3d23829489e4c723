/**
 * libc through the runtime's FFI: one symbol table (ffi/symbols.ts), two backends (bun:ffi and
 * Deno.dlopen), and checked wrappers that throw {@link SysError} with errno read right after
 * the failing call. Nothing outside ffi/ imports a runtime FFI.
 *
 * Hot paths use {@link raw} (returns -1, errno left for {@link errno}) with pointers cached via
 * {@link addr}; everything else uses {@link sys}.
 *
 * @module
 */
import type { Backend, Ptr } from "./backend.ts";
import { checkArch, EPOLL, F, O, POLL, SOCK, epollEventSize, packEpollEvent, type Arch } from "./abi.ts";
import { ERRNO, SysError } from "./errors.ts";
import { nodeFs } from "../common/builtins.ts";
import { bunBackend } from "./bun.ts";
import { denoBackend } from "./deno.ts";

const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";
/**
 * The runtime's backend, chosen without a top-level await: both are imported, and only the
 * runtime's own is made (each module's top level touches no runtime FFI). An `await import()`
 * of the one needed (until session 14) made this module, and every module that imports it, an
 * asynchronous module: see ffi/bun.ts's `ffi` for what that cost a command's start-up.
 */
const backend: Backend = isBun ? bunBackend() : denoBackend();

/** Which runtime tunkit runs on. */
export const runtime: "bun" | "deno" = backend.runtime;
/** The machine's architecture (refused at load time unless x86_64 or aarch64). */
export const arch: Arch = checkArch(backend.arch);
/** The bound libc functions: -1 and errno on failure, no checks. For hot paths. */
export const raw = backend.fn as unknown as RawLibc;
/** errno of the calling thread. Read it immediately after the failing call. */
export const errno: () => number = backend.errno;
/** Raw address of `buf[offset]`, for {@link raw} calls taking "ptr"; keep `buf` alive meanwhile. */
export const addr: (buf: Uint8Array, offset?: number) => Ptr = backend.addr;
/** Numeric address of `buf[offset]`, for pointers stored inside structs (iovec, msghdr). */
export const addrValue: (buf: Uint8Array, offset?: number) => bigint = backend.addrValue;
/**
 * Maps `length` bytes of `fd` shared, read-write (a packet socket's ring): the bytes (no copy)
 * and their unmap, or throws SysError. Never touch `bytes` after `unmap()`.
 */
export function mapShared(fd: number, length: number, what = "mmap"): { bytes: Uint8Array; unmap(): void } {
  const r = backend.mapShared(fd, length);
  if (typeof r === "number") throw new SysError(what, r);
  return r;
}
/**
 * Copies `src[srcOff..srcOff+n)` to `dst[dstOff..)`, both ranges checked by the caller, with
 * libc's memcpy where the runtime makes that cheaper than a copy in JS (Bun); undefined
 * elsewhere (copy in JS then).
 */
export const copyBytes: ((dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number) => void) | undefined = backend.copy;
/** @internal used by ffi/poller.ts */
export const epollWaiter = backend.epollWaiter;
export type { Ptr };

/** Signatures of {@link raw}. */
export interface RawLibc {
  open(path: Uint8Array, flags: number, mode: number): number;
  close(fd: number): number;
  dup2(oldfd: number, newfd: number): number;
  read(fd: number, buf: Uint8Array, len: number): number;
  write(fd: number, buf: Uint8Array, len: number): number;
  readp(fd: number, p: Ptr, len: number): number;
  writep(fd: number, p: Ptr, len: number): number;
  /** writev(2): `iov` holds `iovcnt` struct iovec (16 bytes each: base address, length). */
  writev(fd: number, iov: Uint8Array, iovcnt: number): number;
  ioctl(fd: number, req: number, arg: Uint8Array | null): number;
  ioctlv(fd: number, req: number, arg: number): number;
  fcntl(fd: number, cmd: number, arg: number): number;
  socket(domain: number, type: number, proto: number): number;
  bind(fd: number, addr: Uint8Array, len: number): number;
  connect(fd: number, addr: Uint8Array, len: number): number;
  setsockopt(fd: number, level: number, opt: number, val: Uint8Array, len: number): number;
  getsockopt(fd: number, level: number, opt: number, val: Uint8Array, lenp: Uint8Array): number;
  getsockname(fd: number, addr: Uint8Array, lenp: Uint8Array): number;
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array | null, alen: number): number;
  recvfrom(fd: number, buf: Uint8Array, len: number, flags: number, addr: Uint8Array | null, alenp: Uint8Array | null): number;
  recvfromp(fd: number, p: Ptr, len: number, flags: number, addr: Uint8Array | null, alenp: Uint8Array | null): number;
  recvmmsg(fd: number, msgvec: Uint8Array, vlen: number, flags: number, timeout: Uint8Array | null): number;
  sendmmsgp(fd: number, msgvec: Ptr, vlen: number, flags: number): number;
  poll(fds: Uint8Array, n: number, timeout: number): number;
  epoll_create1(flags: number): number;
  epoll_ctl(epfd: number, op: number, fd: number, ev: Uint8Array | null): number;
  epoll_wait(epfd: number, evs: Uint8Array, max: number, timeout: number): number;
  eventfd(init: number, flags: number): number;
  setns(fd: number, nstype: number): number;
  unshare(flags: number): number;
  if_nametoindex(name: Uint8Array): number;
  getpid(): number;
  getuid(): number;
  geteuid(): number;
  getgid(): number;
  getegid(): number;
  clock_gettime(clock: number, ts: Uint8Array): number;
  /** getdents64(2): `struct linux_dirent64` records into `buf` (the same layout on every Linux). */
  getdents64(fd: number, buf: Uint8Array, len: number): number;
  readlink(path: Uint8Array, buf: Uint8Array, len: number): number;
  /** stat(2) into `st` (struct stat: the layout of the architecture, see {@link sys.statMode}). */
  stat(path: Uint8Array, st: Uint8Array): number;
}

/** The decoder of file names and link targets, made on first use (issue 11: not at every start-up). */
let dec: TextDecoder | undefined;
/** NUL-terminated bytes of a string, for C. */
export function cstr(s: string): Uint8Array {
  // ASCII (every path tunkit opens on a start-up) byte by byte; TextEncoder for the rest. A
  // process's first TextEncoder costs 0.2-0.5 ms (issue 11), and a short loop is no slower.
  const n = s.length;
  const out = new Uint8Array(n + 1);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x80) return utf8z(s);
    out[i] = c;
  }
  return out;
}

/** {@link cstr} of a string with a non-ASCII character. */
function utf8z(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Throws SysError(syscall) with the current errno when `ret < 0`; returns `ret` otherwise. */
export function check(ret: number, syscall: string, subject?: string): number {
  if (ret < 0) throw new SysError(syscall, errno(), subject);
  return ret;
}

// The small in/out buffers of sys's calls, in one ArrayBuffer with one DataView: a Uint8Array
// made with its own small storage and then asked for .buffer (for a DataView) is copied out of
// the GC heap ("get buffer": up to 2 ms of a CPU-profiled `route list`, issue 11).
const small = new ArrayBuffer(32);
const smallView = new DataView(small);
/** An int option's value (4 bytes used; setsockoptInt, getsockoptInt). */
const intBuf = new Uint8Array(small, 0, 4);
/** A socklen_t in/out length (getsockopt, getsockname). */
const lenBuf = new Uint8Array(small, 8, 4);
/** A struct timespec (clock_gettime). */
const tsBuf = new Uint8Array(small, 16, 16);
/** One struct pollfd for {@link sys.pollOne} (over 1000 bytes: a pointer taken from a smaller array may go stale); made on first use. */
let pfd: Uint8Array | undefined;
let pfdView: DataView | undefined;
/** sys.readFile/readDir/readLink's buffer (they never call each other while they use it); made on first use. */
let scratchBuf: Uint8Array | undefined;
const scratch = (): Uint8Array => (scratchBuf ??= new Uint8Array(new ArrayBuffer(8192)));

/**
 * Checked libc calls: each throws {@link SysError} on failure. `read`, `write`, `recvfrom`
 * return -1 for EAGAIN instead of throwing (non-blocking fds).
 *
 * @example
 * ```ts
 * import { sys, O } from "./libc.ts";
 * const fd = sys.open("/dev/null", O.RDWR);
 * sys.write(fd, new Uint8Array(3)); // 3
 * sys.close(fd);
 * ```
 */
export const sys = {
  open(path: string, flags: number, mode = 0): number {
    return check(raw.open(cstr(path), flags | O.CLOEXEC, mode), "open", path);
  },
  close(fd: number): void {
    // EINTR on close: the fd is gone anyway on Linux; never retry.
    const r = raw.close(fd);
    if (r < 0) {
      const e = errno();
      if (e !== ERRNO.EINTR) throw new SysError("close", e);
    }
  },
  read(fd: number, buf: Uint8Array, len = buf.length, what = "read"): number {
    const n = raw.read(fd, buf, len);
    if (n >= 0) return n;
    const e = errno();
    if (e === ERRNO.EAGAIN) return -1;
    throw new SysError(what, e);
  },
  write(fd: number, buf: Uint8Array, len = buf.length, what = "write"): number {
    const n = raw.write(fd, buf, len);
    if (n >= 0) return n;
    const e = errno();
    if (e === ERRNO.EAGAIN) return -1;
    throw new SysError(what, e);
  },
  /** ioctl with a pointer argument. `name` appears in errors: "ioctl(TUNSETIFF)". */
  ioctl(fd: number, req: number, arg: Uint8Array | null, name: string, subject?: string): number {
    return check(raw.ioctl(fd, req >>> 0, arg), `ioctl(${name})`, subject);
  },
  /** ioctl with an integer argument passed by value (TUNSETPERSIST, TUNSETOWNER…). */
  ioctlValue(fd: number, req: number, value: number, name: string, subject?: string): number {
    return check(raw.ioctlv(fd, req >>> 0, value), `ioctl(${name})`, subject);
  },
  fcntl(fd: number, cmd: number, arg = 0): number {
    return check(raw.fcntl(fd, cmd, arg), "fcntl");
  },
  setNonBlocking(fd: number, on = true): void {
    const fl = sys.fcntl(fd, F.GETFL);
    sys.fcntl(fd, F.SETFL, on ? fl | O.NONBLOCK : fl & ~O.NONBLOCK);
  },
  socket(domain: number, type: number, proto: number): number {
    return check(raw.socket(domain, type | SOCK.SOCK_CLOEXEC, proto), "socket");
  },
  bind(fd: number, sockaddr: Uint8Array): void {
    check(raw.bind(fd, sockaddr, sockaddr.length), "bind");
  },
  connect(fd: number, sockaddr: Uint8Array): void {
    check(raw.connect(fd, sockaddr, sockaddr.length), "connect");
  },
  setsockopt(fd: number, level: number, opt: number, val: Uint8Array, what = `setsockopt(${level},${opt})`): void {
    check(raw.setsockopt(fd, level, opt, val, val.length), what);
  },
  setsockoptInt(fd: number, level: number, opt: number, value: number, what?: string): void {
    smallView.setInt32(0, value, true);
    sys.setsockopt(fd, level, opt, intBuf, what);
  },
  /** getsockopt into `val`; returns the length the kernel wrote. */
  getsockopt(fd: number, level: number, opt: number, val: Uint8Array): number {
    smallView.setUint32(8, val.length, true);
    check(raw.getsockopt(fd, level, opt, val, lenBuf), `getsockopt(${level},${opt})`);
    return smallView.getUint32(8, true);
  },
  getsockoptInt(fd: number, level: number, opt: number): number {
    sys.getsockopt(fd, level, opt, intBuf);
    return smallView.getInt32(0, true);
  },
  /** getsockname into `out`; returns the address length. */
  getsockname(fd: number, out: Uint8Array): number {
    smallView.setUint32(8, out.length, true);
    check(raw.getsockname(fd, out, lenBuf), "getsockname");
    return smallView.getUint32(8, true);
  },
  sendto(fd: number, buf: Uint8Array, len: number, flags: number, to: Uint8Array | null): number {
    const n = raw.sendto(fd, buf, len, flags, to, to ? to.length : 0);
    if (n >= 0) return n;
    const e = errno();
    if (e === ERRNO.EAGAIN) return -1;
    throw new SysError("sendto", e);
  },
  /** recvfrom; -1 on EAGAIN. `from` (optional) receives the sender address; its length is in `fromLen`. */
  recvfrom(fd: number, buf: Uint8Array, len: number, flags: number, from: Uint8Array | null, fromLen: Uint8Array | null = null): number {
    if (from && fromLen) {
      const l = from.length;
      fromLen[0] = l & 0xff;
      fromLen[1] = (l >> 8) & 0xff;
      fromLen[2] = (l >> 16) & 0xff;
      fromLen[3] = l >>> 24;
    }
    const n = raw.recvfrom(fd, buf, len, flags, from, from ? fromLen : null);
    if (n >= 0) return n;
    const e = errno();
    if (e === ERRNO.EAGAIN) return -1;
    throw new SysError("recvfrom", e);
  },
  /**
   * poll(2) on one fd for `events` ({@link POLL}), up to `ms` (0: just look): its revents, 0
   * when the time ran out, -1 when poll failed (EINTR included; {@link errno} says which).
   */
  pollOne(fd: number, events: number, ms: number): number {
    if (!pfd) {
      pfd = new Uint8Array(new ArrayBuffer(1024));
      pfdView = new DataView(pfd.buffer);
    }
    const v = pfdView!;
    v.setInt32(0, fd, true);
    v.setInt16(4, events, true);
    v.setInt16(6, 0, true);
    const r = raw.poll(pfd, 1, ms);
    return r > 0 ? v.getInt16(6, true) : r;
  },
  epollCreate(): number {
    return check(raw.epoll_create1(EPOLL.CLOEXEC), "epoll_create1");
  },
  epollCtl(epfd: number, op: number, fd: number, events: number, token: number): void {
    const ev = new Uint8Array(16);
    packEpollEvent(arch, events, token, ev);
    check(raw.epoll_ctl(epfd, op, fd, ev), "epoll_ctl");
  },
  eventfd(init: number, flags: number): number {
    return check(raw.eventfd(init, flags), "eventfd");
  },
  setns(fd: number, nstype: number, subject?: string): void {
    check(raw.setns(fd, nstype), "setns", subject);
  },
  unshare(flags: number): void {
    check(raw.unshare(flags), "unshare");
  },
  /** Interface index of `name`, or 0 when there is no such interface. */
  ifNameToIndex(name: string): number {
    return raw.if_nametoindex(cstr(name)) >>> 0;
  },
  getpid: (): number => raw.getpid(),
  getuid: (): number => raw.getuid() >>> 0,
  geteuid: (): number => raw.geteuid() >>> 0,
  getgid: (): number => raw.getgid() >>> 0,
  getegid: (): number => raw.getegid() >>> 0,
  /**
   * The whole file at `path`: open, read to its end, close. No node:fs: loading it costs a CLI
   * start-up about 20 JavaScriptCore heap blocks (issue 11), and the name files a listing reads
   * are a few hundred bytes. Throws SysError (ENOENT, EISDIR…).
   */
  readFile(path: string): Uint8Array {
    return fileBytes(sys.open(path, O.RDONLY), path);
  },
  /**
   * {@link sys.readFile}, or undefined when `path` does not exist (ENOENT, ENOTDIR on the way),
   * without an exception: a process's first Error costs about 0.5 ms (its stack machinery; issue
   * 11), and a listing looks for iproute2 files that many machines lack.
   */
  readFileIfAny(path: string): Uint8Array | undefined {
    const fd = openIfAny(path);
    return fd === undefined ? undefined : fileBytes(fd, path);
  },
  /**
   * The names in directory `path` (without "." and ".."), in the directory's order, like
   * node:fs's readdirSync but without loading node:fs (see {@link sys.readFile}); through
   * node:fs where the libc has no getdents64 (glibc < 2.30). Throws SysError (ENOENT, ENOTDIR…).
   */
  readDir(path: string): string[] {
    if (!optionalSymbol("getdents64")) return nodeFs().readdirSync(path);
    return dirNames(sys.open(path, O.RDONLY), path);
  },
  /**
   * {@link sys.readDir}, or undefined when `path` does not exist (ENOENT, ENOTDIR), without an
   * exception (see {@link sys.readFileIfAny}): iproute2's `*.d` directories, which most machines lack.
   */
  readDirIfAny(path: string): string[] | undefined {
    if (!optionalSymbol("getdents64")) {
      try {
        return nodeFs().readdirSync(path);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "ENOENT" || code === "ENOTDIR") return undefined;
        throw e;
      }
    }
    const fd = openIfAny(path);
    return fd === undefined ? undefined : dirNames(fd, path);
  },
  /**
   * {@link sys.readLink}, or undefined when readlink(2) fails for any reason (no such path, not
   * a link, not allowed), without an exception (see {@link sys.readFileIfAny}): `tunkit list`
   * reads /proc/PID/ns/net of every process, some gone or not its own.
   */
  readLinkIfAny(path: string): string | undefined {
    const buf = scratch();
    const n = raw.readlink(cstr(path), buf, buf.length);
    return n < 0 ? undefined : (dec ??= new TextDecoder()).decode(buf.subarray(0, n));
  },
  /** The target of symbolic link `path` (node:fs's readlinkSync without node:fs). Throws SysError. */
  readLink(path: string): string {
    const buf = scratch();
    const n = raw.readlink(cstr(path), buf, buf.length);
    if (n < 0) throw new SysError("readlink", errno(), path);
    return (dec ??= new TextDecoder()).decode(buf.subarray(0, n));
  },
  /**
   * st_mode of `path` (stat(2), following links), without node:fs. struct stat's st_mode is at
   * byte 24 on x86_64 and 16 on aarch64 (asm-generic). Through node:fs where the libc exports
   * no `stat` (glibc < 2.33). Throws SysError (ENOENT…), or node:fs's error there.
   */
  statMode(path: string): number {
    const stat = optionalSymbol("stat");
    if (!stat) return nodeFs().statSync(path).mode;
    const st = new Uint8Array(256);
    if (stat(cstr(path), st) < 0) throw new SysError("stat", errno(), path);
    return new DataView(st.buffer).getUint32(arch === "arm64" ? 16 : 24, true);
  },
  /** CLOCK_REALTIME in nanoseconds (a bigint: the clock of SO_TIMESTAMPNS receive stamps). */
  realtimeNs(): bigint {
    check(raw.clock_gettime(0, tsBuf), "clock_gettime");
    return smallView.getBigInt64(16, true) * 1_000_000_000n + smallView.getBigInt64(24, true);
  },
};

/** open(path, O_RDONLY|O_CLOEXEC), or undefined for ENOENT/ENOTDIR (no exception); throws SysError otherwise. */
function openIfAny(path: string): number | undefined {
  const fd = raw.open(cstr(path), O.RDONLY | O.CLOEXEC, 0);
  if (fd >= 0) return fd;
  const e = errno();
  if (e === ERRNO.ENOENT || e === ERRNO.ENOTDIR) return undefined;
  throw new SysError("open", e, path);
}

/** Everything left to read from `fd` (then closed): {@link sys.readFile}'s body. */
function fileBytes(fd: number, path: string): Uint8Array {
  try {
    // Into the scratch buffer (most files fit), copied out at the end: no 4 KiB array per file
    // (`tunkit list` reads a few hundred /proc files).
    let buf = scratch();
    let len = 0;
    for (;;) {
      if (len === buf.length) {
        const grown = new Uint8Array(buf.length * 2);
        grown.set(buf);
        buf = grown;
      }
      const n = raw.read(fd, buf.subarray(len), buf.length - len);
      if (n === 0) return buf.slice(0, len);
      if (n > 0) len += n;
      else {
        const e = errno();
        if (e !== ERRNO.EINTR) throw new SysError("read", e, path);
      }
    }
  } finally {
    sys.close(fd);
  }
}

/** The names in the directory open as `fd` (then closed): {@link sys.readDir}'s body (getdents64 bound). */
function dirNames(fd: number, path: string): string[] {
  const getdents = optionalSymbol("getdents64")!;
  try {
    const buf = scratch();
    const v = new DataView(buf.buffer);
    const d = (dec ??= new TextDecoder());
    const names: string[] = [];
    for (;;) {
      const n = getdents(fd, buf, buf.length);
      if (n < 0) throw new SysError("getdents64", errno(), path);
      if (n === 0) return names;
      // struct linux_dirent64: d_ino u64, d_off s64, d_reclen u16 (at 16), d_type u8, d_name (at 19, NUL-ended).
      for (let off = 0; off + 19 <= n; ) {
        const reclen = v.getUint16(off + 16, true);
        if (reclen < 20) break;
        let end = off + 19;
        while (end < off + reclen && buf[end] !== 0) end++;
        const name = d.decode(buf.subarray(off + 19, end));
        if (name !== "." && name !== "..") names.push(name);
        off += reclen;
      }
    }
  } finally {
    sys.close(fd);
  }
}

/** A symbol a libc may lack (symbols.ts `optional`): its function, or undefined when it cannot be bound. */
function optionalSymbol<K extends "getdents64" | "stat">(name: K): RawLibc[K] | undefined {
  try {
    const f = raw[name];
    return typeof f === "function" ? f : undefined;
  } catch {
    return undefined; // bun:ffi: the dlopen that binds it failed
  }
}

/** Size of one `struct epoll_event` on this machine. */
export const EPOLL_EVENT_SIZE = epollEventSize(arch);

export { ERRNO, SysError, O, F, SOCK, EPOLL, POLL };
