/**
 * The one table of libc symbols tunkit calls, in runtime-neutral types. `ffi/bun.ts` and
 * `ffi/deno.ts` turn it into their runtime's FFI declarations.
 *
 * Types: "i32"/"u32" integers, "buf" a Uint8Array (or null) passed as a pointer, "ptr" a raw
 * pointer value from `addr()` (hot paths cache it), "u64" a 64-bit integer.
 * `ioctl` and `fcntl` are variadic in C; they are bound with fixed signatures, which the
 * x86_64 and aarch64 calling conventions pass exactly as the variadic form (tested in
 * tests/integration/ffi.test.ts).
 *
 * @module
 */

/** Runtime-neutral argument/return type. */
export type AbiType = "i32" | "u32" | "u64" | "buf" | "ptr" | "void";

/** One symbol: `name` is the C symbol when the key is an alias. */
export interface SymbolSpec {
  readonly args: readonly AbiType[];
  readonly ret: AbiType;
  readonly name?: string;
  /**
   * A libc may lack it (getdents64 since glibc 2.30, stat 2.33): Deno declares it optional, Bun
   * binds it alone; either way a call fails (throws) instead of the whole table failing to load.
   */
  readonly optional?: boolean;
}

/** Every libc function tunkit uses. */
export const SYMBOLS = {
  open: { args: ["buf", "i32", "i32"], ret: "i32" },
  close: { args: ["i32"], ret: "i32" },
  dup2: { args: ["i32", "i32"], ret: "i32" },
  read: { args: ["i32", "buf", "u32"], ret: "i32" },
  write: { args: ["i32", "buf", "u32"], ret: "i32" },
  readp: { name: "read", args: ["i32", "ptr", "u32"], ret: "i32" },
  writep: { name: "write", args: ["i32", "ptr", "u32"], ret: "i32" },
  writev: { args: ["i32", "buf", "i32"], ret: "i32" },
  ioctl: { args: ["i32", "u32", "buf"], ret: "i32" },
  ioctlv: { name: "ioctl", args: ["i32", "u32", "u64"], ret: "i32" },
  fcntl: { args: ["i32", "i32", "i32"], ret: "i32" },
  socket: { args: ["i32", "i32", "i32"], ret: "i32" },
  bind: { args: ["i32", "buf", "u32"], ret: "i32" },
  connect: { args: ["i32", "buf", "u32"], ret: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "buf", "u32"], ret: "i32" },
  getsockopt: { args: ["i32", "i32", "i32", "buf", "buf"], ret: "i32" },
  getsockname: { args: ["i32", "buf", "buf"], ret: "i32" },
  sendto: { args: ["i32", "buf", "u32", "i32", "buf", "u32"], ret: "i32" },
  recvfrom: { args: ["i32", "buf", "u32", "i32", "buf", "buf"], ret: "i32" },
  recvfromp: { name: "recvfrom", args: ["i32", "ptr", "u32", "i32", "buf", "buf"], ret: "i32" },
  recvmmsg: { args: ["i32", "buf", "u32", "i32", "buf"], ret: "i32" },
  sendmmsgp: { name: "sendmmsg", args: ["i32", "ptr", "u32", "i32"], ret: "i32" },
  poll: { args: ["buf", "u32", "i32"], ret: "i32" },
  epoll_create1: { args: ["i32"], ret: "i32" },
  epoll_ctl: { args: ["i32", "i32", "i32", "buf"], ret: "i32" },
  epoll_wait: { args: ["i32", "buf", "i32", "i32"], ret: "i32" },
  eventfd: { args: ["u32", "i32"], ret: "i32" },
  setns: { args: ["i32", "i32"], ret: "i32" },
  unshare: { args: ["i32"], ret: "i32" },
  if_nametoindex: { args: ["buf"], ret: "u32" },
  getpid: { args: [], ret: "i32" },
  getuid: { args: [], ret: "u32" },
  geteuid: { args: [], ret: "u32" },
  getgid: { args: [], ret: "u32" },
  getegid: { args: [], ret: "u32" },
  mmap: { args: ["ptr", "u64", "i32", "i32", "i32", "u64"], ret: "ptr" },
  munmap: { args: ["ptr", "u64"], ret: "i32" },
  memcpy: { args: ["ptr", "ptr", "u64"], ret: "ptr" },
  clock_gettime: { args: ["i32", "buf"], ret: "i32" },
  getdents64: { args: ["i32", "buf", "u32"], ret: "i32", optional: true },
  readlink: { args: ["buf", "buf", "u32"], ret: "i32" },
  stat: { args: ["buf", "buf"], ret: "i32", optional: true },
  __errno_location: { args: [], ret: "ptr" },
} as const satisfies Record<string, SymbolSpec>;

/**
 * The symbols bun:ffi binds at start, in ONE dlopen (one TinyCC compile unit): errno, and what a
 * netlink one-shot command (`route add`, `addr add`, a listing) calls (netlink/conn.ts binds its
 * socket only when asked for its port). Every other symbol is bound on its first use, each
 * symbol in a dlopen costing about 0.6 JavaScriptCore heap block of a start-up (a hello-world
 * binding 1 symbol: 29-30 blocks, 6: 33, 9: 34-35). Deno binds the whole table at once.
 */
export const EAGER_SYMBOLS = ["__errno_location", "socket", "setsockopt", "sendto", "recvmmsg", "close"] as const satisfies readonly (keyof typeof SYMBOLS)[];

/**
 * Symbols bun:ffi binds together, in one dlopen, when the first of a group is called (each
 * dlopen is one TinyCC compile, about 0.1 ms of a start-up): a listing's output and the name
 * files it reads (and `list` its /proc links) take open, read, write and readlink at once. A symbol in no group is bound alone.
 */
export const SYMBOL_GROUPS: ReadonlyArray<readonly (keyof typeof SYMBOLS)[]> = [["open", "read", "write", "readlink"]];

/** Names of the bound functions. */
export type SymbolName = keyof typeof SYMBOLS;

/** Shared-library names to try, glibc first, then musl. */
export const LIBC_NAMES = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"] as const;
