// Checksums against known-good packets, and RFC 1624 incremental updates against full
// recomputation over random rewrites.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fromHex } from "../../common/hex.ts";
import { buildIcmpEcho, buildTcp, buildUdp } from "../../packet/build.ts";
import {
  checksumAdjust16,
  checksumAdjust32,
  checksumAdjustBytes,
  foldSum,
  internetChecksum,
  ipv4HeaderChecksum,
  onesSum,
  PROTO_ICMPV6,
  PROTO_TCP,
  PROTO_UDP,
  readChecksum,
  transportChecksum,
  verifyIpv4Header,
  verifyTransport,
  writeChecksum,
} from "../../packet/checksum.ts";
import { decode } from "../../packet/decode.ts";
import { mulberry32 } from "./_fuzz.ts";

const golden = JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/packet/golden.json"), "utf8")).packets as Array<{ name: string; hex: string }>;
const real = (name: string) => fromHex(golden.find((g) => g.name === name)!.hex).subarray(14);

test("RFC 1071 example sum", () => {
  // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2
  expect(foldSum(onesSum(fromHex("0001f203f4f5f6f7"), 0, 8))).toBe(0xddf2);
  expect(internetChecksum(fromHex("0001f203f4f5f6f7"))).toBe(0x220d);
  // odd length pads with zero
  expect(foldSum(onesSum(fromHex("0102 03"), 0, 3))).toBe(0x0402);
});

test("known-good captured packets verify; header checksum recomputes to the captured value", () => {
  const ping = real("real-icmp-echo-request");
  expect(verifyIpv4Header(ping, 0)).toBe(true);
  expect(ipv4HeaderChecksum(ping, 0)).toBe(readChecksum(ping, 10));
  expect(verifyTransport(ping, 4, 0, 20, 64, 1)).toBe(true);
  const ns = real("real-neighbor-solicit");
  expect(verifyTransport(ns, 6, 0, 40, 32, PROTO_ICMPV6)).toBe(true);
  expect(transportChecksum(ns, 6, 0, 40, 32, PROTO_ICMPV6)).toBe(readChecksum(ns, 42));
  const un6 = real("real-icmp6-port-unreach");
  expect(verifyTransport(un6, 6, 0, 40, 60, PROTO_ICMPV6)).toBe(true);
  // UDP sent by the capturing host carries a partial (offloaded) checksum
  expect(verifyTransport(real("real-udp6"), 6, 0, 40, 12, PROTO_UDP)).toBe(false);
  const rst = real("real-tcp-rst"); // sent by the peer's kernel: full checksum
  expect(verifyTransport(rst, 4, 0, 20, 20, PROTO_TCP)).toBe(true);
  expect(transportChecksum(rst, 4, 0, 20, 20, PROTO_TCP)).toBe(readChecksum(rst, 36));
});

test("transport checksum of UDP never yields 0 (sent as 0xffff)", () => {
  // find a payload whose checksum would be 0
  for (let v = 0; v < 65536; v++) {
    const u = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, payload: Uint8Array.of(v >> 8, v & 0xff) });
    if (readChecksum(u, 26) === 0xffff) {
      expect(verifyTransport(u, 4, 0, 20, 10, PROTO_UDP)).toBe(true);
      return;
    }
  }
  throw new Error("no 0xffff case found");
}, 60_000);

test("incremental update (RFC 1624) equals full recomputation over random address/port rewrites", () => {
  const rnd = mulberry32(1624);
  const r = (n: number) => Math.floor(rnd() * n);
  let checked = 0;
  for (let i = 0; i < 3000; i++) {
    const v6 = i % 2 === 1;
    const src = v6 ? `2001:db8::${r(65536).toString(16)}` : `192.0.2.${r(256)}`;
    const dst = v6 ? `2001:db8:1::${r(65536).toString(16)}` : `198.51.100.${r(256)}`;
    const tcp = r(2) === 0;
    const spec = { src, dst, srcPort: r(65536), dstPort: r(65536), payload: r(40) };
    const pkt = tcp ? buildTcp({ ...spec, seq: r(2 ** 32) }) : buildUdp(spec);
    const l4 = v6 ? 40 : 20;
    const csOff = l4 + (tcp ? 16 : 6);
    const proto = tcp ? PROTO_TCP : PROTO_UDP;
    // rewrite: a new source address (in place), a new destination port
    const addrOff = v6 ? 8 : 12;
    const alen = v6 ? 16 : 4;
    const newAddr = new Uint8Array(alen).map(() => r(256));
    let cs = checksumAdjustBytes(readChecksum(pkt, csOff), pkt, addrOff, newAddr, 0, alen);
    let ipcs = v6 ? 0 : checksumAdjustBytes(readChecksum(pkt, 10), pkt, addrOff, newAddr, 0, alen);
    pkt.set(newAddr, addrOff);
    const oldPort = (pkt[l4 + 2]! << 8) | pkt[l4 + 3]!;
    const newPort = r(65536);
    cs = checksumAdjust16(cs, oldPort, newPort);
    pkt[l4 + 2] = newPort >> 8;
    pkt[l4 + 3] = newPort & 0xff;
    if (!tcp && cs === 0) cs = 0xffff;
    writeChecksum(pkt, csOff, cs);
    const len = pkt.length - l4;
    const full = transportChecksum(pkt, v6 ? 6 : 4, 0, l4, len, proto);
    // one's complement has two zeros: 0x0000 and 0xffff are the same checksum
    expect(cs === full || (cs ^ full) === 0xffff && (cs === 0 || full === 0)).toBe(true);
    expect(verifyTransport(pkt, v6 ? 6 : 4, 0, l4, len, proto)).toBe(true);
    if (!v6) {
      writeChecksum(pkt, 10, ipcs);
      expect(ipcs).toBe(ipv4HeaderChecksum(pkt, 0));
      ipcs = 0;
    }
    const d = decode(pkt, "raw");
    expect((d.tcp ?? d.udp)!.checksumValid).toBe(true);
    checked++;
  }
  expect(checked).toBe(3000);
}, 60_000);

test("checksumAdjust32 matches byte-wise adjust", () => {
  const rnd = mulberry32(32);
  for (let i = 0; i < 1000; i++) {
    const cs = Math.floor(rnd() * 65536), o = Math.floor(rnd() * 2 ** 32) >>> 0, n = Math.floor(rnd() * 2 ** 32) >>> 0;
    const ob = Uint8Array.of(o >>> 24, (o >>> 16) & 255, (o >>> 8) & 255, o & 255);
    const nb = Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255);
    expect(checksumAdjust32(cs, o, n)).toBe(checksumAdjustBytes(cs, ob, 0, nb, 0, 4));
  }
});

test("echo request -> reply type change, incrementally", () => {
  const p = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", id: 9, seq: 3, payload: 56 });
  const cs = checksumAdjust16(readChecksum(p, 22), 0x0800, 0x0000);
  p[20] = 0;
  writeChecksum(p, 22, cs);
  expect(verifyTransport(p, 4, 0, 20, 64, 1)).toBe(true);
});
