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
