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

/**
 * Every libc function tunkit uses, by key ({@link symbolSpec} gives each one's types). A constant
 * array of names, and the specs in a switch that builds only the one asked for: the table as 43
 * objects with their argument arrays was built at every start-up though a netlink command binds 6
 * (issue 11). (Strings parsed on demand were tried: more instructions than the table.)
 */
export const SYMBOL_NAMES = [
  "open", "close", "dup2", "read", "write", "readp", "writep", "writev", "ioctl", "ioctlv", "fcntl",
  "socket", "bind", "connect", "setsockopt", "getsockopt", "getsockname", "sendto", "recvfrom", "recvfromp",
  "recvmmsg", "sendmmsgp", "poll", "epoll_create1", "epoll_ctl", "epoll_wait", "eventfd", "setns", "unshare",
  "if_nametoindex", "getpid", "getuid", "geteuid", "getgid", "getegid", "mmap", "munmap", "memcpy",
  "clock_gettime", "getdents64", "readlink", "stat", "__errno_location",
] as const;

/** Names of the bound functions. */
export type SymbolName = (typeof SYMBOL_NAMES)[number];

/**
 * The spec of symbol `key` (an alias's `name` is its C symbol), or undefined when tunkit binds no
 * such symbol. A new object each call: bind-time only.
 *
 * @example
 * ```ts
 * import { symbolSpec } from "./symbols.ts";
 * symbolSpec("readp"); // { name: "read", args: ["i32", "ptr", "u32"], ret: "i32" }
 * ```
 */
export function symbolSpec(key: string): SymbolSpec | undefined {
  switch (key) {
    case "open": return { args: ["buf", "i32", "i32"], ret: "i32" };
    case "close": return { args: ["i32"], ret: "i32" };
    case "dup2": return { args: ["i32", "i32"], ret: "i32" };
    case "read": return { args: ["i32", "buf", "u32"], ret: "i32" };
    case "write": return { args: ["i32", "buf", "u32"], ret: "i32" };
    case "readp": return { name: "read", args: ["i32", "ptr", "u32"], ret: "i32" };
    case "writep": return { name: "write", args: ["i32", "ptr", "u32"], ret: "i32" };
    case "writev": return { args: ["i32", "buf", "i32"], ret: "i32" };
    case "ioctl": return { args: ["i32", "u32", "buf"], ret: "i32" };
    case "ioctlv": return { name: "ioctl", args: ["i32", "u32", "u64"], ret: "i32" };
    case "fcntl": return { args: ["i32", "i32", "i32"], ret: "i32" };
    case "socket": return { args: ["i32", "i32", "i32"], ret: "i32" };
    case "bind": return { args: ["i32", "buf", "u32"], ret: "i32" };
    case "connect": return { args: ["i32", "buf", "u32"], ret: "i32" };
    case "setsockopt": return { args: ["i32", "i32", "i32", "buf", "u32"], ret: "i32" };
    case "getsockopt": return { args: ["i32", "i32", "i32", "buf", "buf"], ret: "i32" };
    case "getsockname": return { args: ["i32", "buf", "buf"], ret: "i32" };
    case "sendto": return { args: ["i32", "buf", "u32", "i32", "buf", "u32"], ret: "i32" };
    case "recvfrom": return { args: ["i32", "buf", "u32", "i32", "buf", "buf"], ret: "i32" };
    case "recvfromp": return { name: "recvfrom", args: ["i32", "ptr", "u32", "i32", "buf", "buf"], ret: "i32" };
    case "recvmmsg": return { args: ["i32", "buf", "u32", "i32", "buf"], ret: "i32" };
    case "sendmmsgp": return { name: "sendmmsg", args: ["i32", "ptr", "u32", "i32"], ret: "i32" };
    case "poll": return { args: ["buf", "u32", "i32"], ret: "i32" };
    case "epoll_create1": return { args: ["i32"], ret: "i32" };
    case "epoll_ctl": return { args: ["i32", "i32", "i32", "buf"], ret: "i32" };
    case "epoll_wait": return { args: ["i32", "buf", "i32", "i32"], ret: "i32" };
    case "eventfd": return { args: ["u32", "i32"], ret: "i32" };
    case "setns": return { args: ["i32", "i32"], ret: "i32" };
    case "unshare": return { args: ["i32"], ret: "i32" };
    case "if_nametoindex": return { args: ["buf"], ret: "u32" };
    case "getpid": return { args: [], ret: "i32" };
    case "getuid": return { args: [], ret: "u32" };
    case "geteuid": return { args: [], ret: "u32" };
    case "getgid": return { args: [], ret: "u32" };
    case "getegid": return { args: [], ret: "u32" };
    case "mmap": return { args: ["ptr", "u64", "i32", "i32", "i32", "u64"], ret: "ptr" };
    case "munmap": return { args: ["ptr", "u64"], ret: "i32" };
    case "memcpy": return { args: ["ptr", "ptr", "u64"], ret: "ptr" };
    case "clock_gettime": return { args: ["i32", "buf"], ret: "i32" };
    case "getdents64": return { args: ["i32", "buf", "u32"], ret: "i32", optional: true };
    case "readlink": return { args: ["buf", "buf", "u32"], ret: "i32" };
    case "stat": return { args: ["buf", "buf"], ret: "i32", optional: true };
    case "__errno_location": return { args: [], ret: "ptr" };
    default: return undefined;
  }
}

/** Every symbol's key, in {@link SYMBOL_NAMES}'s order. */
export function symbolNames(): SymbolName[] {
  return [...SYMBOL_NAMES];
}

/**
 * The symbols bun:ffi binds at start, in ONE dlopen (one TinyCC compile unit): errno, and what a
 * netlink one-shot command (`route add`, `addr add`, a listing) calls (netlink/conn.ts binds its
 * socket only when asked for its port). Every other symbol is bound on its first use, each
 * symbol in a dlopen costing about 0.6 JavaScriptCore heap block of a start-up (a hello-world
 * binding 1 symbol: 29-30 blocks, 6: 33, 9: 34-35). Deno binds the whole table at once.
 */
export const EAGER_SYMBOLS = ["__errno_location", "socket", "setsockopt", "sendto", "recvmmsg", "close"] as const satisfies readonly SymbolName[];

/**
 * Symbols bun:ffi binds together, in one dlopen, when the first of a group is called (each
 * dlopen is one TinyCC compile, about 0.1 ms of a start-up): a listing's output and the name
 * files it reads (and `list` its /proc links) take open, read, write and readlink at once. A symbol in no group is bound alone.
 */
export const SYMBOL_GROUPS: ReadonlyArray<readonly SymbolName[]> = [["open", "read", "write", "readlink"]];


/** Shared-library names to try, glibc first, then musl. */
export const LIBC_NAMES = ["libc.so.6", "libc.musl-x86_64.so.1", "libc.musl-aarch64.so.1", "libc.so"] as const;
