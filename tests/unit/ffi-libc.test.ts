// ffi/libc.ts's checked calls over its shared small buffers (one ArrayBuffer: int option values,
// socklen_t lengths, a timespec) and the buffers it makes on first use (pollfd, the file scratch).
import { describe, expect, test } from "bun:test";
import { cstr, sys, SOCK, POLL, O } from "../../ffi/libc.ts";

describe("ffi/libc.ts", () => {
  test("cstr: UTF-8 bytes and a NUL, ASCII or not", () => {
    const utf8z = (s: string) => [...new TextEncoder().encode(s), 0];
    for (const s of ["", "/proc/self/ns/net", "tun0", "é", "a\u{1F600}b", "\ud800x", "x".repeat(300)]) expect([s, [...cstr(s)]]).toEqual([s, utf8z(s)]);
  });
  test("an int option set, read back; getsockname's length; the two share one buffer without clobbering", () => {
    const fd = sys.socket(SOCK.AF_INET, SOCK.SOCK_DGRAM, 0);
    try {
      sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUF, 65536);
      expect(sys.getsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUF)).toBe(131072); // the kernel doubles it
      const big = new Uint8Array(64);
      expect(sys.getsockopt(fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUF, big)).toBe(4);
      const sa = new Uint8Array(16);
      sa[0] = SOCK.AF_INET;
      sa.set([127, 0, 0, 1], 4);
      sys.bind(fd, sa);
      const out = new Uint8Array(32);
      expect(sys.getsockname(fd, out)).toBe(16);
      expect([out[0], (out[2]! << 8) | out[3]!].every((x) => x! > 0)).toBe(true);
      expect(sys.getsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUF)).toBe(131072);
    } finally {
      sys.close(fd);
    }
  });
  test("pollOne, the clock, files and links (buffers made on first use)", () => {
    const fd = sys.open("/proc/self/stat", O.RDONLY);
    try {
      expect(sys.pollOne(fd, POLL.IN, 0) & POLL.IN).toBe(POLL.IN);
    } finally {
      sys.close(fd);
    }
    const ns = sys.realtimeNs();
    expect(Number(ns / 1_000_000n)).toBeGreaterThan(Date.now() - 5000);
    expect(new TextDecoder().decode(sys.readFile("/proc/self/comm")).length).toBeGreaterThan(1);
    expect(sys.readFileIfAny("/no/such/file")).toBeUndefined();
    expect(sys.readLink("/proc/self")).toBe(String(process.pid));
    expect(sys.readDir("/proc/self/fd").length).toBeGreaterThan(2);
  });
});
