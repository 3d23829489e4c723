/**
 * bun:ffi backend. The only file besides ffi/deno.ts that touches a runtime's FFI.
 *
 * @module
 */
import type { Pointer } from "bun:ffi";
import { EAGER_SYMBOLS, LIBC_NAMES, SYMBOL_GROUPS, symbolSpec, type AbiType, type SymbolSpec } from "./symbols.ts";
import type { Backend, EpollWaiter, Ptr } from "./backend.ts";

/** bun:ffi's FFIType numbers (the natives take them as they are; ffi/splice.ts declares with them too). */
type FFIType = number;
export const FFIType = { i32: 5, u32: 6, u64: 8, ptr: 12, void: 13 } as const;

/** The natives bun:ffi wraps, as this backend calls them. */
interface Natives {
  dlopen(path: string, decls: Record<string, { args: FFIType[]; returns: FFIType }>): { symbols: Record<string, unknown> };
  ptr(view: Uint8Array, offset?: number): number;
  read: { i32(p: Pointer | number, offset?: number): number };
  toArrayBuffer(p: Pointer | number, offset: number, length: number): ArrayBuffer;
}

/**
 * The runtime's FFI natives themselves (`Bun.FFI`: dlopen, ptr, read, toArrayBuffer), which the
 * bun:ffi module only wraps (its dlopen adds a path normalisation for URLs and binds close; its
 * ptr passes the offset on): a start-up that binds libc does not evaluate bun:ffi's module, its
 * type tables and wrappers (issue 11: 4 JSC heap blocks and ~30 page faults of every netlink
 * command's start-up).
 *
 * Read synchronously, never with a top-level `await import("bun:ffi")` (the fallback until
 * session 14): a top-level await makes this module an asynchronous one, and with it ffi/libc.ts
 * and every module that imports them, i.e. every netlink command's whole module graph: the same
 * build without it, settled, in the same rounds (bench/cli-startup.ts's header, session 14), read
 * `route add` 1.75x the floor instead of 1.83x and `addr add` 1.82x instead of 1.89x, with 111
 * and 58 fewer page faults. Empty outside Bun: ffi/libc.ts imports this
 * module under Deno too and makes the backend of the runtime it runs on ({@link bunBackend}).
 */
const ffi = ((globalThis as { Bun?: { FFI?: Natives } }).Bun?.FFI ?? {}) as Natives;
const { dlopen, ptr, toArrayBuffer } = ffi;
const peek = ffi.read;

/** `Bun.FFI`'s own dlopen (undefined outside Bun), for a module that binds a library of its own (ffi/splice.ts). */
export const nativeDlopen: Natives["dlopen"] | undefined = dlopen;

let dlopenCalls = 0;

/** How many times this backend has called bun:ffi's dlopen (each call is one TinyCC compile). */
export function dlopenCount(): number {
  return dlopenCalls;
}

/** The bun:ffi declaration of a symbol table entry (`u64` travels as a pointer-sized integer). */
function declOf(spec: SymbolSpec): { args: FFIType[]; returns: FFIType } {
  const args: FFIType[] = [];
  for (const t of spec.args) args.push(ffiType(t));
  return { args, returns: ffiType(spec.ret) };
}

/** bun:ffi's type of an {@link AbiType} (a buffer is a pointer; `u64` a pointer-sized integer). */
function ffiType(t: AbiType): FFIType {
  switch (t) {
    case "i32": return FFIType.i32;
    case "u32": return FFIType.u32;
    case "void": return FFIType.void;
    default: return FFIType.ptr; // buf, ptr, u64
  }
}

/**
 * Binds libc: the eager symbols in one dlopen, every other symbol (or its group) on first use.
 * The backend holds one such table; tests may make a fresh one to watch the binding happen.
 */
export function open(): { path: string; fn: Record<string, (...a: unknown[]) => number> } {
  // bun:ffi binds by C symbol name, once per name. Its "ptr" arguments take a TypedArray, a
  // raw pointer number or an integer alike, so an alias (readp -> read, ioctlv -> ioctl) is the
  // same binding: the first spec of each C name is declared, aliases share it.
  // dlopen compiles one wrapper unit per call (TinyCC): all 36 symbols at once cost ~4 ms of a
  // CLI start-up, one call per symbol ~0.1 ms each. So errno and the symbols of a netlink
  // one-shot command (EAGER_SYMBOLS) are bound together in the first call, and every other symbol
  // on its first use. bench/cli-startup.ts; tests/unit/cli-startup.test.ts counts the calls.
  //
  // `fn` holds each bound symbol as its own read-only data property (a call is a plain property
  // load). A symbol not bound yet is not on `fn`: the lookup falls through to fn's prototype, a
  // Proxy whose get binds it and defines it on `fn`. One Proxy instead of an accessor, a closure
  // and a descriptor per symbol: start-up allocates less of the JS heap (issue 11).
  let lastErr: unknown;
  for (const path of LIBC_NAMES) {
    try {
      const eager: Record<string, { args: FFIType[]; returns: FFIType }> = {};
      for (const c of EAGER_SYMBOLS) eager[c] = declOf(symbolSpec(c)!);
      dlopenCalls++;
      const first = dlopen(path, eager).symbols as unknown as Record<string, (...a: unknown[]) => number>;
      const bound: Record<string, (...a: unknown[]) => number> = Object.create(null);
      const bind = (cname: string, spec: SymbolSpec) => {
        if (bound[cname]) return bound[cname];
        // The symbol's group (SYMBOL_GROUPS), those of it not bound yet, in one compile unit.
        const decls: Record<string, { args: FFIType[]; returns: FFIType }> = { [cname]: declOf(spec) };
        for (const g of SYMBOL_GROUPS) {
          if (!(g as readonly string[]).includes(cname)) continue;
          for (const c of g) if (!bound[c]) decls[c] ??= declOf(symbolSpec(c)!);
        }
        dlopenCalls++;
        const got = dlopen(path, decls).symbols as unknown as Record<string, (...a: unknown[]) => number>;
        for (const c of Object.keys(decls)) bound[c] = got[c]!;
        return bound[cname]!;
      };
      const define = (fn: object, key: string, f: (...a: unknown[]) => number) => {
        Object.defineProperty(fn, key, { value: f, writable: false, enumerable: true, configurable: false });
        return f;
      };
      const binder = new Proxy(Object.create(null) as object, {
        get(_t, key, receiver: object) {
          const spec = typeof key === "string" ? symbolSpec(key) : undefined;
          if (!spec) return undefined;
          // The first spec of a C name declares it (an alias's own spec may differ: ioctlv's u64).
          const cname = spec.name ?? key as string;
          return define(receiver, key as string, bind(cname, symbolSpec(cname) ?? spec));
        },
      });
      const fn: Record<string, (...a: unknown[]) => number> = Object.create(binder);
      for (const c of EAGER_SYMBOLS) define(fn, c, (bound[c] = first[c]!));
      return { path, fn };
    } catch (e) {
      lastErr = e;
    }
  }
  throw new Error(`Cannot load libc (tried ${LIBC_NAMES.join(", ")}): ${String(lastErr)}`);
}

const WORKER_SOURCE = (libc: string) => `
import { dlopen, ptr, read } from "bun:ffi";
const lib = dlopen(${JSON.stringify(libc)}, {
  epoll_wait: { args: ["i32", "ptr", "i32", "i32"], returns: "i32" },
  __errno_location: { args: [], returns: "ptr" },
});
const { epoll_wait, __errno_location } = lib.symbols;
self.onmessage = (e) => {
  const { ctl: ctlBuf, epfd, max, size } = e.data;
  const ctl = new Int32Array(ctlBuf);
  const events = new Uint8Array(max * size);
  const evp = ptr(events);
  const errp = __errno_location();
  // Straight back into epoll_wait after each post: the JS thread re-arms a one-shot fd with
  // EPOLL_CTL_MOD alone, which wakes this wait in the kernel (no futex, no second hop).
  for (;;) {
    const n = epoll_wait(epfd, evp, max, -1);
    if (Atomics.load(ctl, 0) === 1) break; // STOP (close() then a write to an eventfd in the set)
    if (n < 0) {
      const err = read.i32(errp);
      if (err === 4) continue;           // EINTR
      postMessage(-err);
      break;
    }
    if (n === 0) continue;
    const out = events.slice(0, n * size);
    postMessage(out, [out.buffer]);     // wakes the JS thread through its own event loop
  }
  self.close();
};
`;

/** memcpy through the FFI with the last two arrays' addresses cached (a ptr() costs ~15 ns). */
function makeCopy(fn: Record<string, (...a: unknown[]) => number>): NonNullable<Backend["copy"]> {
  // memcpy is bound on the first copy, not when the backend is made: a CLI command that never
  // copies (route add) does not pay for its binding at start-up.
  let memcpy: ((...a: unknown[]) => number) | undefined;
  let a: Uint8Array | undefined;
  let aAddr = 0;
  let b: Uint8Array | undefined;
  let bAddr = 0;
  const addrOf = (x: Uint8Array): number => {
    if (x === a) return aAddr;
    if (x === b) return bAddr;
    void x.buffer; // pitfall 1: materialise a small array's data before taking its address
    const p = ptr(x);
    b = a;
    bAddr = aAddr;
    a = x;
    aAddr = p;
    return p;
  };
  return (dst, dstOff, src, srcOff, n) => {
    const d = addrOf(dst);
    (memcpy ??= fn.memcpy!)(d + dstOff, addrOf(src) + srcOff, n);
  };
}

function makeBackend(): Backend {
  const { path, fn } = open();
  const errp = fn.__errno_location!() as unknown as Pointer;
  return {
    runtime: "bun",
    arch: process.arch,
    fn: fn as unknown as Backend["fn"],
    errno: () => peek.i32(errp),
    addr(buf: Uint8Array, offset = 0): Ptr {
      // Pitfall: ptr() of a small, not-yet-materialised typed array goes stale once .buffer is
      // touched (JSC moves the data out of the GC heap). Touch it first.
      void buf.buffer;
      return ptr(buf, offset);
    },
    addrValue(buf: Uint8Array, offset = 0): bigint {
      void buf.buffer;
      return BigInt(ptr(buf, offset));
    },
    copy: makeCopy(fn),
    mapShared(fd: number, length: number): { bytes: Uint8Array; unmap(): void } | number {
      // PROT_READ|PROT_WRITE, MAP_SHARED. A pointer past 2^53 (MAP_FAILED is -1) comes back as a BigInt.
      const p = fn.mmap!(null, length, 3, 1, fd, 0) as unknown as number | bigint | null;
      if (p === null || typeof p === "bigint" || p <= 0) return peek.i32(errp);
      let mapped = true;
      return {
        bytes: new Uint8Array(toArrayBuffer(p as Pointer, 0, length)),
        unmap() {
          if (!mapped) return;
          mapped = false;
          fn.munmap!(p, length);
        },
      };
    },
    epollWaiter(epfd: number, maxEvents: number, eventSize: number): EpollWaiter {
      // The helper thread blocks in epoll_wait and posts each batch of events (a copy) to the
      // JS thread, which Bun delivers through its own event loop: no polling, the loop sleeps in
      // epoll. The thread does not wait for the batch to be handled: it is back in epoll_wait at
      // once, so a wake-up is one cross-thread hop and re-arming a one-shot fd is one
      // epoll_ctl (the kernel wakes the wait). An earlier design parked the thread on a futex
      // between waits (Atomics.notify per re-arm: ~10 futex calls and two hops per short TCP
      // connection). Atomics.waitAsync was tried before that: with only it pending Bun's loop
      // spun at 100% CPU, and under bulk load a wake-up was occasionally never delivered.
      // The worker is ref'd only while a wait() is outstanding: a pending read keeps the process
      // alive, an idle device does not (the thread sleeps in epoll_wait, unref'd).
      const ctlBuf = new SharedArrayBuffer(16);
      const ctl = new Int32Array(ctlBuf);
      const events = new Uint8Array(Math.max(maxEvents * eventSize, 1024));
      const url = URL.createObjectURL(new Blob([WORKER_SOURCE(path)], { type: "application/typescript" }));
      const worker = new Worker(url);
      worker.postMessage({ ctl: ctlBuf, epfd, max: maxEvents, size: eventSize });
      worker.unref();
      // Batches that came while no wait() was outstanding, oldest first.
      const queued: Array<Uint8Array | number> = [];
      let pending: ((n: number) => void) | undefined;
      const deliver = (m: Uint8Array | number): number => {
        if (typeof m === "number") return m;
        events.set(m);
        return m.length / eventSize;
      };
      worker.onmessage = (e: MessageEvent<Uint8Array | number>) => {
        const r = pending;
        if (!r) {
          queued.push(e.data);
          return;
        }
        pending = undefined;
        worker.unref();
        r(deliver(e.data));
      };
      let closed = false;
      return {
        events,
        wait(): Promise<number> {
          if (pending) return Promise.reject(new Error("epoll waiter: one wait at a time"));
          const m = queued.shift();
          if (m !== undefined) return Promise.resolve(deliver(m));
          return new Promise<number>((resolve) => {
            pending = resolve;
            worker.ref();
          });
        },
        close(): void {
          if (closed) return;
          closed = true;
          Atomics.store(ctl, 0, 1);
          worker.unref();
          URL.revokeObjectURL(url);
        },
      };
    },
  };
}

let made: Backend | undefined;

/** The Bun backend, bound to libc on the first call (ffi/libc.ts makes it once, under Bun only). */
export function bunBackend(): Backend {
  return (made ??= makeBackend());
}
