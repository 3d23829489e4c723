import { describe, expect, test } from "bun:test";
import { EAGER_SYMBOLS, SYMBOL_GROUPS, symbolNames, symbolSpec, type SymbolName, type SymbolSpec } from "../../ffi/symbols.ts";

describe("ffi/symbols.ts", () => {
  // The table as it was written before it became strings (session 14): every spec read back the same.
  const golden: Record<string, SymbolSpec> = {
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
  };
  test("symbolSpec reads every entry back as the object table had it, symbolNames lists them in order", () => {
    expect(symbolNames()).toEqual(Object.keys(golden) as SymbolName[]);
    for (const [k, v] of Object.entries(golden)) expect([k, symbolSpec(k)]).toEqual([k, v]);
  });
  test("a prefix, a C name that is no key, or anything else is no symbol", () => {
    for (const k of ["rea", "readl", "sendmmsg", "", "open(", "getdents64?", "nope"]) expect([k, symbolSpec(k)]).toEqual([k, undefined]);
  });
  test("the eager set and the groups name symbols of the table", () => {
    for (const k of [...EAGER_SYMBOLS, ...SYMBOL_GROUPS.flat()]) expect(symbolSpec(k)).toBeDefined();
    const typed: SymbolName[] = ["readp", "getdents64", "__errno_location"];
    // @ts-expect-error not a symbol tunkit binds
    const notOne: SymbolName = "sendmmsg";
    expect([typed.length, notOne as string]).toEqual([3, "sendmmsg"]);
  });
});
