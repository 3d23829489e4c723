import { describe, expect, test } from "bun:test";
import {
  checkArch, ioc, TUN_IOCTL, IFF, packIfreq, unpackIfreq, packSockaddrNl, unpackSockaddrNl,
  epollEventSize, packEpollEvent, unpackEpollEvent, featureNames, IFREQ_SIZE,
} from "../../ffi/abi.ts";
import { toHex } from "../../common/hex.ts";
import { UsageError } from "../../common/errors.ts";

describe("ioctl numbers", () => {
  // Values from <linux/if_tun.h> as compiled by gcc on x86_64 and aarch64 (asm-generic encoding).
  const golden: Record<string, number> = {
    TUNSETIFF: 0x400454ca, TUNSETPERSIST: 0x400454cb, TUNSETOWNER: 0x400454cc, TUNSETLINK: 0x400454cd,
    TUNSETGROUP: 0x400454ce, TUNGETFEATURES: 0x800454cf, TUNSETOFFLOAD: 0x400454d0, TUNGETIFF: 0x800454d2,
    TUNGETSNDBUF: 0x800454d3, TUNSETSNDBUF: 0x400454d4, TUNGETVNETHDRSZ: 0x800454d7, TUNSETVNETHDRSZ: 0x400454d8,
    TUNSETQUEUE: 0x400454d9,
  };
  for (const [k, v] of Object.entries(golden)) {
    test(k, () => expect((TUN_IOCTL as Record<string, number>)[k]).toBe(v));
  }
  test("every TUN_IOCTL number is its _IOC(dir, 'T', nr, sizeof(int))", () => {
    // The numbers are written out in abi.ts (no ioc() calls at load): each one checked against ioc.
    const W = 1, R = 2;
    const spec: Record<string, [number, number]> = {
      TUNSETNOCSUM: [W, 200], TUNSETDEBUG: [W, 201], TUNSETIFF: [W, 202], TUNSETPERSIST: [W, 203], TUNSETOWNER: [W, 204],
      TUNSETLINK: [W, 205], TUNSETGROUP: [W, 206], TUNGETFEATURES: [R, 207], TUNSETOFFLOAD: [W, 208], TUNSETTXFILTER: [W, 209],
      TUNGETIFF: [R, 210], TUNGETSNDBUF: [R, 211], TUNSETSNDBUF: [W, 212], TUNGETVNETHDRSZ: [R, 215], TUNSETVNETHDRSZ: [W, 216],
      TUNSETQUEUE: [W, 217], TUNSETIFINDEX: [W, 218], TUNSETSTEERINGEBPF: [R, 224],
    };
    expect(Object.keys(TUN_IOCTL).sort()).toEqual(Object.keys(spec).sort());
    for (const [k, [dir, nr]] of Object.entries(spec)) expect([k, (TUN_IOCTL as Record<string, number>)[k]]).toEqual([k, ioc(dir, 0x54, nr, 4)]);
  });
  test("ioc refuses sizes over 14 bits", () => expect(() => ioc(1, 0x54, 1, 1 << 14)).toThrow(RangeError));
});

describe("architectures", () => {
  test("x64 and arm64 known", () => {
    expect(checkArch("x64")).toBe("x64");
    expect(checkArch("arm64")).toBe("arm64");
  });
  test("others refused with a clear message", () => {
    expect(() => checkArch("ia32")).toThrow(/Unsupported architecture "ia32"/);
    expect(() => checkArch("riscv64")).toThrow(UsageError);
  });
});

describe("struct ifreq", () => {
  test("packs name and flags little-endian at offset 16", () => {
    const b = packIfreq("tun%d", IFF.TUN | IFF.NO_PI);
    expect(b.length).toBe(IFREQ_SIZE);
    expect(toHex(b.subarray(0, 18))).toBe("74756e2564000000000000000000000001 10".replace(" ", ""));
    expect(b.subarray(18).every((x) => x === 0)).toBe(true);
  });
  test("round trip", () => expect(unpackIfreq(packIfreq("tap7", 0x1102))).toEqual({ name: "tap7", flags: 0x1102 }));
  test("15-byte name fills without terminator overflow", () => {
    expect(unpackIfreq(packIfreq("abcdefghijklmno", 1)).name).toBe("abcdefghijklmno");
  });
  test("invalid names refused before packing", () => {
    for (const n of ["", ".", "..", "a/b", "a b", "a:b", "abcdefghijklmnop", "x\ty"]) {
      expect(() => packIfreq(n, 1)).toThrow(UsageError);
    }
  });
  test("short buffer refused", () => expect(() => unpackIfreq(new Uint8Array(10))).toThrow(RangeError));
});

describe("struct sockaddr_nl", () => {
  test("golden bytes", () => {
    expect(toHex(packSockaddrNl(0x1234, 0x11))).toBe("100000003412000011000000");
    expect(unpackSockaddrNl(packSockaddrNl(7, 3))).toEqual({ family: 16, pid: 7, groups: 3 });
  });
});

describe("struct epoll_event", () => {
  test("packed on x86_64, aligned on aarch64", () => {
    expect(epollEventSize("x64")).toBe(12);
    expect(epollEventSize("arm64")).toBe(16);
    const x = packEpollEvent("x64", 0x40000001, 9, new Uint8Array(12));
    expect(toHex(x)).toBe("010000400900000000000000");
    const a = packEpollEvent("arm64", 1, 9, new Uint8Array(16));
    expect(toHex(a)).toBe("01000000000000000900000000000000");
    expect(unpackEpollEvent("arm64", a)).toEqual({ events: 1, token: 9 });
    expect(unpackEpollEvent("x64", x)).toEqual({ events: 0x40000001, token: 9 });
  });
});

test("feature names", () => {
  expect(featureNames(0x7173)).toEqual(["tun", "tap", "napi", "napi_frags", "no_carrier", "no_pi", "one_queue", "vnet_hdr", "multi_queue"]);
  expect(featureNames(0)).toEqual([]);
});

describe("struct sockaddr_ll", () => {
  test("golden bytes: ETH_P_ALL big-endian, ifindex little-endian", async () => {
    const { packSockaddrLl, unpackSockaddrLl, PACKET } = await import("../../ffi/abi.ts");
    const b = packSockaddrLl(PACKET.ETH_P_ALL, 0x0102);
    expect(toHex(b)).toBe("1100000302010000" + "00".repeat(12));
    b[10] = PACKET.OUTGOING;
    expect(unpackSockaddrLl(b)).toEqual({ protocol: 3, ifindex: 0x102, hatype: 0, pkttype: 4 });
  });
});

describe("packMmsghdrs", () => {
  test("each slot's buffer, name and iovec addresses, above 2^32 too (written as two 32-bit halves)", () => {
    const { packMmsghdrs, MMSGHDR_SIZE, IOVEC_SIZE, MSGHDR } = require("../../ffi/abi.ts") as typeof import("../../ffi/abi.ts");
    const n = 3;
    const vec = new Uint8Array(n * MMSGHDR_SIZE).fill(0xee);
    const iov = new Uint8Array(n * IOVEC_SIZE);
    const iovAddr = 0x7f12_3456_0000n, buf = 0x7f12_ffff_f000n, names = 0x5555_0000_fff0n;
    packMmsghdrs(vec, iov, iovAddr, n, buf, 0x1000, names, 16, 12);
    const v = new DataView(vec.buffer), io = new DataView(iov.buffer);
    for (let i = 0; i < n; i++) {
      const m = i * MMSGHDR_SIZE;
      expect(io.getBigUint64(i * IOVEC_SIZE, true)).toBe(buf + BigInt(i * 0x1000));
      expect(io.getBigUint64(i * IOVEC_SIZE + 8, true)).toBe(0x1000n);
      expect(v.getBigUint64(m + MSGHDR.name, true)).toBe(names + BigInt(i * 16));
      expect(v.getUint32(m + MSGHDR.namelen, true)).toBe(12);
      expect(v.getBigUint64(m + MSGHDR.iov, true)).toBe(iovAddr + BigInt(i * IOVEC_SIZE));
      expect(v.getBigUint64(m + MSGHDR.iovlen, true)).toBe(1n);
      expect(v.getBigUint64(m + MSGHDR.control, true)).toBe(0n); // cleared
      expect(v.getUint32(m + 56, true)).toBe(0);
    }
    packMmsghdrs(vec, iov, iovAddr, n, buf, 0x1000, null, 16, 12);
    for (let i = 0; i < n; i++) expect([v.getBigUint64(i * MMSGHDR_SIZE + MSGHDR.name, true), v.getUint32(i * MMSGHDR_SIZE + MSGHDR.namelen, true)]).toEqual([0n, 0]);
    expect(() => packMmsghdrs(vec, iov, iovAddr, n + 1, buf, 0x1000, null, 16, 12)).toThrow(RangeError);
  });
});
