/**
 * Deno.dlopen backend. The only file besides ffi/bun.ts that touches a runtime's FFI.
 *
 * @module
 */
import { LIBC_NAMES, symbolNames, symbolSpec, type AbiType } from "./symbols.ts";
import type { Backend, EpollWaiter, Ptr } from "./backend.ts";

// Minimal typing of the Deno FFI surface tunkit uses (the project type-checks under Bun's types).
interface DenoPointerView {
  getInt32(offset?: number): number;
}
interface DenoFfi {
  dlopen(path: string, symbols: Record<string, unknown>): { symbols: Record<string, (...a: unknown[]) => unknown>; close(): void };
  UnsafePointer: {
    of(buf: Uint8Array): object | null;
    offset(p: object, off: number): object | null;
    create(v: bigint): object | null;
    value(p: object | null): bigint | number;
  };
  UnsafePointerView: (new (p: object) => DenoPointerView) & { getArrayBuffer(p: object, length: number, offset?: number): ArrayBuffer };
}
const Deno = (globalThis as unknown as { Deno: DenoFfi }).Deno;

const TYPE: Record<AbiType, string> = {
  i32: "i32",
  u32: "u32",
  u64: "u64",
  buf: "buffer",
  ptr: "pointer",
  void: "void",
};

function makeBackend(): Backend {
  const decl: Record<string, unknown> = {};
  const names = symbolNames();
  for (const key of names) {
    const spec = symbolSpec(key)!;
    decl[key] = {
      ...(spec.name ? { name: spec.name } : {}),
      ...(spec.optional ? { optional: true } : {}),
      parameters: spec.args.map((t) => TYPE[t]),
      result: TYPE[spec.ret],
    };
  }
  decl["epoll_wait_nb"] = { name: "epoll_wait", parameters: ["i32", "buffer", "i32", "i32"], result: "i32", nonblocking: true };
  let lib: ReturnType<DenoFfi["dlopen"]> | undefined;
  let lastErr: unknown;
  for (const path of LIBC_NAMES) {
    try {
      lib = Deno.dlopen(path, decl);
      break;
    } catch (e) {
      lastErr = e;
    }
  }
  if (!lib) throw new Error(`Cannot load libc (tried ${LIBC_NAMES.join(", ")}): ${String(lastErr)}`);
  const s = lib.symbols;
  const errp = s.__errno_location!() as object;
  const errView = new Deno.UnsafePointerView(errp);
  const fn: Record<string, (...a: unknown[]) => number> = {};
  for (const key of names) {
    const f = s[key]!;
    const spec = symbolSpec(key)!;
    fn[key] = (spec.args as readonly string[]).includes("u64")
      ? (...a: unknown[]) => f(...a.map((v, i) => (spec.args[i] === "u64" ? BigInt(v as number) : v))) as number
      : (f as (...a: unknown[]) => number);
  }
  const epollWaitNb = s.epoll_wait_nb as (...a: unknown[]) => Promise<number>;
  return {
    runtime: "deno",
    arch: (globalThis as unknown as { Deno: { build: { arch: string } } }).Deno.build.arch === "aarch64" ? "arm64" : "x64",
    fn: fn as unknown as Backend["fn"],
    errno: () => errView.getInt32(0),
    addr(buf: Uint8Array, offset = 0): Ptr {
      const p = Deno.UnsafePointer.of(buf);
      return offset && p ? Deno.UnsafePointer.offset(p, offset) : p;
    },
    addrValue(buf: Uint8Array, offset = 0): bigint {
      return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf))) + BigInt(offset);
    },
    mapShared(fd: number, length: number): { bytes: Uint8Array; unmap(): void } | number {
      // PROT_READ|PROT_WRITE, MAP_SHARED; MAP_FAILED is (void *)-1.
      const p = s.mmap!(null, BigInt(length), 3, 1, fd, 0n) as object | null;
      const v = p === null ? 0n : BigInt(Deno.UnsafePointer.value(p));
      if (p === null || v === 0n || v === 0xffffffffffffffffn) return errView.getInt32(0);
      let mapped = true;
      return {
        bytes: new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, length)),
        unmap() {
          if (!mapped) return;
          mapped = false;
          s.munmap!(p, BigInt(length));
        },
      };
    },
    epollWaiter(epfd: number, maxEvents: number, eventSize: number): EpollWaiter {
      // Deno runs a `nonblocking` FFI call on its own thread and resolves a promise: no Worker.
      const events = new Uint8Array(maxEvents * eventSize);
      return {
        events,
        // errno of that thread is out of reach: a failure is reported as -EINTR, and the
        // poller simply waits again.
        wait: async () => {
          const n = await epollWaitNb(epfd, events, maxEvents, -1);
          return n < 0 ? -4 : n;
        },
        close() {},
      };
    },
  };
}

let made: Backend | undefined;

/** The Deno backend, bound to libc on the first call (ffi/libc.ts makes it once, under Deno only). */
export function denoBackend(): Backend {
  return (made ??= makeBackend());
}
