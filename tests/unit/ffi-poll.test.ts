import { describe, expect, test } from "bun:test";
import { EFD } from "../../ffi/abi.ts";
import { POLL, sys } from "../../ffi/libc.ts";

describe("sys.pollOne", () => {
  test("revents of one fd: 0 while nothing is there (waiting up to ms), POLL.IN once it is; POLL.OUT for a writable fd", () => {
    const fd = sys.eventfd(0, EFD.CLOEXEC | EFD.NONBLOCK);
    try {
      expect(sys.pollOne(fd, POLL.IN, 0)).toBe(0);
      expect(sys.pollOne(fd, POLL.IN, 20)).toBe(0);
      expect(sys.pollOne(fd, POLL.OUT, 0) & POLL.OUT).toBe(POLL.OUT);
      const one = new Uint8Array(8);
      one[0] = 1;
      expect(sys.write(fd, one)).toBe(8);
      expect(sys.pollOne(fd, POLL.IN, 0) & POLL.IN).toBe(POLL.IN);
      expect(sys.pollOne(fd, POLL.IN, 1000) & POLL.IN).toBe(POLL.IN);
    } finally {
      sys.close(fd);
    }
  });
});
