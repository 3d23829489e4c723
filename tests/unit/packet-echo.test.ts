// echoReply(): in-place replies to ICMP/ICMPv6 echo and UDP port 7, verified by the decoder.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fromHex } from "../../common/hex.ts";
import { buildIcmp, buildIcmpEcho, buildIp, buildTcp, buildUdp } from "../../packet/build.ts";
import { decode } from "../../packet/decode.ts";
import { echoReply } from "../../packet/echo.ts";

const golden = JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/packet/golden.json"), "utf8")).packets as Array<{ name: string; hex: string }>;

test("a real ping request (captured on a veth) becomes a valid reply", () => {
  const frame = fromHex(golden.find((g) => g.name === "real-icmp-echo-request")!.hex);
  const ip = frame.slice(14);
  const before = decode(ip, "raw");
  const buf = new Uint8Array(2048);
  buf.set(ip);
  const n = echoReply(buf, ip.length);
  expect(n).toBe(84);
  const r = decode(buf.subarray(0, n), "raw");
  expect(r.ipv4).toMatchObject({ src: before.ipv4!.dst, dst: before.ipv4!.src, ttl: 64, checksumValid: true, id: before.ipv4!.id });
  expect(r.icmp).toMatchObject({ type: 0, code: 0, id: 3378, seq: 1, checksumValid: true });
  expect(buf.subarray(28, n)).toEqual(ip.subarray(28)); // payload echoed unchanged
});

test("ICMPv6 echo request becomes a reply with hop limit 64", () => {
  const b = buildIcmpEcho({ src: "2001:db8::1", dst: "2001:db8::2", id: 7, seq: 9, payload: 100, ttl: 3 });
  expect(echoReply(b, b.length)).toBe(148);
  const r = decode(b, "raw");
  expect(r.ipv6).toMatchObject({ src: "2001:db8::2", dst: "2001:db8::1", hopLimit: 64 });
  expect(r.icmpv6).toMatchObject({ type: 129, id: 7, seq: 9, checksumValid: true });
});

test("UDP to port 7 over IPv4 and IPv6 is echoed with ports swapped", () => {
  for (const [src, dst] of [["192.0.2.1", "192.0.2.2"], ["2001:db8::1", "2001:db8::2"]] as const) {
    const b = buildUdp({ src, dst, srcPort: 40000, dstPort: 7, payload: 33, ttl: 9 });
    expect(echoReply(b, b.length)).toBe(b.length);
    const r = decode(b, "raw");
    expect(r.udp).toMatchObject({ srcPort: 7, dstPort: 40000, checksumValid: true });
    expect((r.ipv4 ?? r.ipv6)!.src).toBe(dst);
    if (r.ipv4) expect(r.ipv4.checksumValid).toBe(true);
  }
  const nocs = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 40000, dstPort: 7, payload: 4 });
  nocs[26] = nocs[27] = 0;
  expect(echoReply(nocs, nocs.length)).toBe(32);
  expect(decode(nocs, "raw").udp!.checksumValid).toBe(true);
});

test("random ping sizes and ids: the reply always verifies", () => {
  for (let i = 0; i < 500; i++) {
    const b = buildIcmpEcho({ src: `192.0.2.${i % 250 + 1}`, dst: "198.51.100.7", id: (i * 7919) & 0xffff, seq: i, payload: i % 200, ttl: 1 + (i % 254), ipId: i });
    expect(echoReply(b, b.length)).toBe(b.length);
    const r = decode(b, "raw");
    expect(r.icmp!.checksumValid && r.ipv4!.checksumValid).toBe(true);
  }
});

function refused(b: Uint8Array, len = b.length): void {
  const copy = b.slice();
  expect(echoReply(b, len)).toBe(0);
  expect(b).toEqual(copy); // untouched
}

test("not answered: other types, protocols, ports; replies; fragments; multicast/broadcast", () => {
  const A = "192.0.2.1", B = "192.0.2.2";
  refused(buildIcmpEcho({ src: A, dst: B, type: "reply" }));
  refused(buildIcmpEcho({ src: "2001:db8::1", dst: "2001:db8::2", type: "reply" }));
  refused(buildIcmp({ src: A, dst: B, type: 13 }));
  refused(buildTcp({ src: A, dst: B, srcPort: 1, dstPort: 7 }));
  refused(buildUdp({ src: A, dst: B, srcPort: 1000, dstPort: 9 }));
  refused(buildUdp({ src: A, dst: B, srcPort: 7, dstPort: 7 })); // echo loops
  refused(buildUdp({ src: A, dst: B, srcPort: 0, dstPort: 7 }));
  refused(buildIp(1, buildIcmpEcho({ src: A, dst: B, payload: 20 }).subarray(20), { src: A, dst: B, mf: true }, false));
  refused(buildIcmpEcho({ src: "224.0.0.1", dst: B }));
  refused(buildIcmpEcho({ src: A, dst: "255.255.255.255" }));
  refused(buildIcmpEcho({ src: A, dst: "239.1.2.3" }));
  refused(buildIcmpEcho({ src: "0.0.0.0", dst: B }));
  refused(buildIcmpEcho({ src: "ff02::1", dst: "2001:db8::2" }));
  refused(buildIcmpEcho({ src: "2001:db8::1", dst: "ff02::1" }));
  refused(buildIcmpEcho({ src: "::", dst: "2001:db8::2" }));
  refused(buildIcmpEcho({ src: "2001:db8::1", dst: "2001:db8::2", ipv6Extensions: [{ type: 0, body: new Uint8Array(4) }] }));
  refused(buildIcmpEcho({ src: A, dst: B, ipv4Options: Uint8Array.of(131, 7, 4, 192, 0, 2, 9) })); // LSRR
  const z = buildUdp({ src: "2001:db8::1", dst: "2001:db8::2", srcPort: 1000, dstPort: 7, payload: 2 });
  z[46] = z[47] = 0; // zero UDP checksum over IPv6 is invalid
  refused(z);
});

test("not answered: bad checksums, truncated, malformed, bad lengths", () => {
  const A = "192.0.2.1", B = "192.0.2.2";
  const good = buildIcmpEcho({ src: A, dst: B, payload: 56 });
  for (const [i, v] of [[10, 1], [22, 1], [40, 1], [0, 0x44], [0, 0x55], [3, 200], [3, 20]] as const) {
    const b = good.slice();
    b[i]! ^= v;
    refused(b);
  }
  refused(good.slice(), good.length - 1); // IP total length beyond len
  refused(good.slice(0, 10), 10);
  refused(good.slice(), 0);
  expect(echoReply(good.slice(0, 40), 84)).toBe(0); // len beyond the buffer
  const u6 = buildUdp({ src: "2001:db8::1", dst: "2001:db8::2", srcPort: 1000, dstPort: 7, payload: 2 });
  u6[48]! ^= 1; // payload byte: checksum now wrong
  refused(u6);
  refused(new Uint8Array(0), 0);
});

test("options other than source routes are kept", () => {
  const b = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", payload: 8, ipv4Options: Uint8Array.of(1, 7, 7, 4, 0, 0, 0, 0) });
  expect(echoReply(b, b.length)).toBe(b.length);
  const r = decode(b, "raw");
  expect(r.ipv4!.options.map((o) => o.name)).toEqual(["nop", "rr"]);
  expect(r.icmp!.checksumValid && r.ipv4!.checksumValid).toBe(true);
});
