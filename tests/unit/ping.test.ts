// The pure parts of `tunkit ping`: echo messages, reply parsing, statistics, ping's text, the
// plan (bad input refused before any socket).
import { describe, expect, test } from "bun:test";
import { buildEchoRequest, parseEchoReply, rttStats, resolvePingTarget } from "../../tun/mod.ts";
import { buildIcmpEcho, internetChecksum } from "../../packet/mod.ts";
import { UsageError } from "../../common/mod.ts";
import { packSockaddrIn, sockaddrInAddress } from "../../ffi/abi.ts";
import { formatRtt, pingHeader, planPing, replyLine, summaryLines } from "../../cli/ping.ts";
import { mulberry32, randomBytes } from "./_fuzz.ts";

describe("echo messages", () => {
  test("an IPv4 request is the ICMP part of the builder's packet, checksum included", () => {
    const payload = Uint8Array.from({ length: 56 }, (_, i) => i);
    const ours = buildEchoRequest(4, 0xbeef, 7, payload);
    const full = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", id: 0xbeef, seq: 7, payload });
    expect(ours).toEqual(full.subarray(20));
    expect(internetChecksum(ours)).toBe(0);
  });
  test("an IPv6 request: type 128, checksum left to the kernel", () => {
    const m = buildEchoRequest(6, 1, 0x0102, new Uint8Array(0));
    expect([...m]).toEqual([128, 0, 0, 0, 0, 1, 1, 2]);
  });
  test("replies: raw IPv4 with its header (TTL, source), ping sockets and ICMPv6 without", () => {
    const pkt = buildIcmpEcho({ src: "198.51.100.7", dst: "192.0.2.1", type: "reply", id: 0x1234, seq: 9, payload: 8, ttl: 61 });
    const raw = parseEchoReply(pkt, 4, true)!;
    expect({ id: raw.id, seq: raw.seq, ttl: raw.ttl, src: [...raw.src!], len: raw.icmp.length }).toEqual({ id: 0x1234, seq: 9, ttl: 61, src: [198, 51, 100, 7], len: 16 });
    const dgram = parseEchoReply(pkt.subarray(20), 4, false)!;
    expect({ seq: dgram.seq, ttl: dgram.ttl, src: dgram.src }).toEqual({ seq: 9, ttl: undefined, src: undefined });
    const v6 = buildIcmpEcho({ src: "2001:db8::2", dst: "2001:db8::1", type: "reply", id: 5, seq: 6 });
    expect(parseEchoReply(v6.subarray(40), 6, false)?.seq).toBe(6);
  });
  test("anything else is not a reply: requests, other families' types, short or damaged input; never throws", () => {
    const req = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", id: 1, seq: 1 });
    expect(parseEchoReply(req, 4, true)).toBeUndefined();
    expect(parseEchoReply(new Uint8Array([0, 0, 0, 0, 0, 1, 0]), 4, false)).toBeUndefined();
    expect(parseEchoReply(new Uint8Array([129, 0, 0, 0, 0, 1, 0, 1]), 4, false)).toBeUndefined();
    expect(parseEchoReply(new Uint8Array([0x4f, 0, 0, 0]), 4, true)).toBeUndefined();
    const rnd = mulberry32(9);
    for (let i = 0; i < 5000; i++) {
      const b = randomBytes(rnd, 80);
      for (const [fam, hdr] of [[4, true], [4, false], [6, false]] as const) parseEchoReply(b, fam, hdr);
    }
  });
});

test("sockaddr_in / sockaddr_in6: family, big-endian port, address, scope id", () => {
  const a = packSockaddrIn(new Uint8Array([192, 0, 2, 1]), 0x1234);
  expect([...a.subarray(0, 8)]).toEqual([2, 0, 0x12, 0x34, 192, 0, 2, 1]);
  const b = packSockaddrIn(Uint8Array.from({ length: 16 }, (_, i) => i), 7, 3);
  expect([b[0], b[1], b[2], b[3], b[8], b[23], b[24]]).toEqual([10, 0, 0, 7, 0, 15, 3]);
  expect([...sockaddrInAddress(a)!]).toEqual([192, 0, 2, 1]);
  expect(sockaddrInAddress(b)!.length).toBe(16);
  expect(sockaddrInAddress(new Uint8Array(16))).toBeUndefined();
});

test("rttStats: min/avg/max and ping's mdev", () => {
  expect(rttStats([])).toBeUndefined();
  const s = rttStats([1, 2, 3, 4])!;
  expect({ ...s, mdev: Number(s.mdev.toFixed(6)) }).toEqual({ min: 1, avg: 2.5, max: 4, mdev: 1.118034 });
});

describe("ping's text", () => {
  test("times with three significant digits, as iputils", () => {
    expect([0.0451, 1.234, 12.34, 123.4, 1234.5].map(formatRtt)).toEqual(["0.045", "1.23", "12.3", "123", "1235"]);
  });
  test("header, reply line (with DUP!), statistics with loss and duplicates", () => {
    expect(pingHeader("h", { address: "192.0.2.2", family: 4, socket: "dgram", size: 100 })).toBe("PING h (192.0.2.2) 100(128) bytes of data.");
    expect(replyLine({ seq: 3, from: "2001:db8::2", bytes: 16, ttl: undefined, rttMs: 2, duplicate: true })).toBe("16 bytes from 2001:db8::2: icmp_seq=3 time=2.00 ms (DUP!)");
    expect(summaryLines({ target: "x", transmitted: 3, received: 2, duplicates: 1, loss: 100 / 3, elapsedMs: 2001.6, rtt: undefined })).toEqual([
      "--- x ping statistics ---",
      "3 packets transmitted, 2 received, +1 duplicates, 33.3333% packet loss, time 2002ms",
    ]);
  });
});

describe("planPing", () => {
  test("seconds to milliseconds, defaults as ping", () => {
    expect(planPing("192.0.2.2", {})).toEqual({ target: "192.0.2.2", intervalMs: 1000, timeoutMs: 10_000, size: 56 });
    expect(planPing("h", { count: "2", interval: "0.01", timeout: "1.5", deadline: "3", size: "0", ttl: "255", interface: "tun0", ipv6: true })).toEqual({
      target: "h", count: 2, intervalMs: 10, timeoutMs: 1500, deadlineMs: 3000, size: 0, ttl: 255, interface: "tun0", family: 6,
    });
  });
  test("bad values: a UsageError naming the value", () => {
    const bad: Array<[Parameters<typeof planPing>[1], RegExp]> = [
      [{ count: "0" }, /Invalid count "0"/],
      [{ size: "65508" }, /Invalid packet size "65508"/],
      [{ ttl: "256" }, /Invalid TTL "256"/],
      [{ interval: "-1" }, /Invalid interval "-1"/],
      [{ interface: "a/b" }, /a\/b/],
      [{ ipv4: true, ipv6: true }, /-4 and -6/],
    ];
    for (const [f, re] of bad) expect(() => planPing("192.0.2.2", f)).toThrow(re);
    expect(() => planPing("-x", {})).toThrow(UsageError);
  });
  test("targets: literals decide the family; a zone only on IPv6; bad text refused", async () => {
    expect((await resolvePingTarget("2001:db8::1")).family).toBe(6);
    await expect(resolvePingTarget("192.0.2.1", 6)).rejects.toThrow('expected an IPv6 address');
    await expect(resolvePingTarget("192.0.2.1%lo")).rejects.toThrow("a zone (%lo) is for IPv6 link-local addresses");
    await expect(resolvePingTarget("192.0.2.300")).rejects.toThrow(UsageError);
    await expect(resolvePingTarget("a b")).rejects.toThrow(UsageError);
    expect((await resolvePingTarget("fe80::1%1")).scopeId).toBe(1);
  });
});
