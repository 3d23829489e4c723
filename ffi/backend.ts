/**
 * What a runtime backend (ffi/bun.ts, ffi/deno.ts) provides. Nothing outside ffi/ sees it.
 *
 * @module
 */
import type { SymbolName } from "./symbols.ts";

/** An opaque raw pointer from {@link Backend.addr}: a number in Bun, a PointerObject in Deno. */
export type Ptr = number | bigint | object | null;

/** A thread that waits on an epoll fd off the JS thread. */
export interface EpollWaiter {
  /** `struct epoll_event` array the waiter fills (shared memory). */
  readonly events: Uint8Array;
  /** One blocking `epoll_wait(epfd, events, max, -1)` off the JS thread: resolves with n, or -errno. */
  wait(): Promise<number>;
  /** Ends the thread; call after waking any pending wait (write to an eventfd in the set). */
  close(): void;
}

/** A runtime's FFI, bound to libc. */
export interface Backend {
  readonly runtime: "bun" | "deno";
  /** process.arch-style name. */
  readonly arch: string;
  /** The bound functions, untouched: they return -1 and leave errno set on failure. */
  readonly fn: { readonly [K in SymbolName]: (...args: never[]) => number };
  /** errno of the calling thread; read it right after the failing call. */
  errno(): number;
  /** Raw address of `buf[offset]`; the caller keeps `buf` alive while it uses the pointer. */
  addr(buf: Uint8Array, offset?: number): Ptr;
  /** Numeric address of `buf[offset]`, to store inside structs; keep `buf` alive meanwhile. */
  addrValue(buf: Uint8Array, offset?: number): bigint;
  /**
   * mmap(NULL, length, PROT_READ|PROT_WRITE, MAP_SHARED, fd, 0) (a packet socket's ring): the
   * mapping as bytes (no copy) and its unmap, or the errno of the failure. Touching `bytes`
   * after `unmap()` crashes the process: the caller drops every view first.
   */
  mapShared(fd: number, length: number): { bytes: Uint8Array; unmap(): void } | number;
  /**
   * memcpy(dst + dstOff, src + srcOff, n) where the runtime makes that cheaper than a copy in JS
   * (Bun: one FFI call, pointers cached per array); undefined where it does not. No bounds checks:
   * the caller checks both ranges.
   */
  copy?: (dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, n: number) => void;
  /** Starts a thread that runs epoll_wait on `epfd`. */
  epollWaiter(epfd: number, maxEvents: number, eventSize: number): EpollWaiter;
}
