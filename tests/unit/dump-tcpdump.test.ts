// Golden tests against the installed tcpdump (4.99.3), run live: captures built here for each
// protocol and corner issue 13 lists, printed by `tcpdump -n` and by tunkit's dump -r engine,
// line for line. tcpdump is a test peer (Debian: tcpdump); without it these are skipped, loudly.
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PcapWriter, buildUdp, buildTcp, buildIp } from "../../packet/mod.ts";
import { fromHex } from "../../common/mod.ts";
import { planDump, dumpCaptureBytes } from "../../cli/dump.ts";

const haveTcpdump = spawnSync("sh", ["-c", "command -v tcpdump"], { stdio: "ignore" }).status === 0;
if (!haveTcpdump) console.log("!!! tcpdump golden tests SKIPPED: tcpdump missing (Debian: apt-get install -y tcpdump)");
const ttest = haveTcpdump ? test : test.skip;

type Rec = Uint8Array | { data: Uint8Array; orig: number };

function pcap(linkType: number, recs: Rec[]): Uint8Array {
  const w = new PcapWriter({ linkType });
  const parts: Uint8Array[] = [w.header()];
  recs.forEach((r, i) => {
    const data = r instanceof Uint8Array ? r : r.data;
    const orig = r instanceof Uint8Array ? r.length : r.orig;
    const rec = w.record(data, { sec: 1700000000 + i, nsec: 1000 * i }, orig);
    new DataView(rec.buffer).setUint32(12, orig, true); // as given, even 0
    parts.push(rec);
  });
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Both tools' lines for a capture (timestamps kept: -tt on both). */
function both(bytes: Uint8Array, extra: string[] = []): { tcpdump: string[]; tunkit: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "tkgold-"));
  try {
    const f = join(dir, "x.pcap");
    writeFileSync(f, bytes);
    const r = spawnSync("tcpdump", ["-n", "-tt", ...extra, "-r", f], { encoding: "latin1" });
    let out = "";
    const plan = planDump([], { read: f, n: 1, t: 2, q: true, e: extra.includes("-e") }, { json: false, quiet: true });
    dumpCaptureBytes(bytes, plan, (s) => (out += s));
    const lines = (s: string) => s.split("\n").filter(Boolean);
    return { tcpdump: lines(r.stdout), tunkit: lines(out) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A TCP/IPv4 segment with raw option bytes spliced in (no -v: checksums are not printed). */
function tcpWith(opts: number[], flags: string, payload = 0, dstPort = 5000): Uint8Array {
  const base = buildTcp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 40000, dstPort, flags, seq: 1000, ack: flags.includes(".") ? 2000 : 0, payload });
  const o = new Uint8Array(opts);
  const out = new Uint8Array(base.length + o.length);
  out.set(base.subarray(0, 40));
  out.set(o, 40);
  out.set(base.subarray(40), 40 + o.length);
  out[32] = ((5 + o.length / 4) << 4) | (out[32]! & 15);
  new DataView(out.buffer).setUint16(2, out.length);
  return out;
}

const ip4 = (proto: number, body: number[] | Uint8Array, ttl = 64) => buildIp(proto, new Uint8Array(body), { src: "192.0.2.1", dst: "192.0.2.2", ttl });

ttest("TCP options: MPTCP (capable, join, dss, add-addr, rem-addr, prio, fast-close), TFO, exp-tfo, exp-acc0, TCP-AO, UTO, bad and cut options", () => {
  const key = [1, 2, 3, 4, 5, 6, 7, 8];
  const recs = [
    tcpWith([30, 12, 0x01, 0x81, ...key, 1, 1, 1, 1], "S"),
    tcpWith([30, 20, 0x01, 0x01, ...key, ...key.reverse(), 1, 1, 1, 1], "."),
    tcpWith([30, 12, 0x10, 0x02, 0, 0, 0, 9, 0, 0, 0, 7], "S"),
    tcpWith([30, 8, 0x20, 0x01, 0, 0, 0, 5], ".", 10),
    tcpWith([30, 20, 0x20, 0x05, 0, 0, 0, 5, 0, 0, 0, 6, 0, 0, 0, 7, 0, 10, 0, 0], "."),
    tcpWith([30, 8, 0x30, 0x02, 192, 0, 2, 9], "."),
    tcpWith([30, 4, 0x40, 0x03], "."),
    tcpWith([30, 4, 0x50, 0x01], "."),
    tcpWith([30, 12, 0x70, 0, ...key], "."),
    tcpWith([34, 10, 1, 2, 3, 4, 5, 6, 7, 8, 1, 1], "S"),
    tcpWith([34, 2, 1, 1], "S"),
    tcpWith([254, 8, 0xf9, 0x89, 0xaa, 0xbb, 0xcc, 0xdd], "S"),
    tcpWith([254, 4, 0xac, 0xc0], "S."),
    tcpWith([29, 8, 1, 2, 3, 4, 5, 6], "."),
    tcpWith([28, 4, 0x80, 0x02], "."),
    tcpWith([2, 4, 5, 0xb4, 30, 40, 0, 0], "S"),
    tcpWith([8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 1, 1, 99, 2], "."),
  ];
  const r = both(pcap(101, recs));
  expect(r.tunkit).toEqual(r.tcpdump);
});

ttest("ARP corners: odd hardware/protocol kinds, who-has with a target MAC, Reverse, Inverse, unknown ops, cut", () => {
  const arp = (hrd: number, pro: number, hln: number, pln: number, op: number, tail: number[]): Uint8Array =>
    new Uint8Array([...fromHex("ffffffffffff0200000000010806"), hrd >> 8, hrd & 255, pro >> 8, pro & 255, hln, pln, op >> 8, op & 255, ...tail]);
  const std = [2, 0, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 0, 0, 9, 192, 0, 2, 2];
  const recs = [
    arp(1, 0x0800, 6, 4, 1, std),
    arp(1, 0x0800, 6, 4, 2, std),
    arp(1, 0x0800, 6, 4, 3, std),
    arp(1, 0x0800, 6, 4, 4, std),
    arp(15, 0x0800, 6, 4, 8, std),
    arp(15, 0x0800, 6, 4, 9, std),
    arp(1, 0x0800, 6, 4, 29953, std),
    arp(6, 0x86dd, 6, 16, 1, [...std, ...new Array(24).fill(0)]),
    arp(1, 0x0800, 0, 4, 1, [192, 0, 2, 1, 192, 0, 2, 2]),
    arp(1, 0x0800, 8, 4, 1, [1, 2, 3, 4, 5, 6, 7, 8, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 192, 0, 2, 2]),
    arp(1, 0x0800, 6, 4, 1, std.slice(0, 10)),
  ];
  const r = both(pcap(1, recs));
  expect(r.tunkit).toEqual(r.tcpdump);
  const e = both(pcap(1, recs.slice(0, 6)), ["-e"]);
  expect(e.tunkit).toEqual(e.tcpdump);
});

ttest("link types LINUX_SLL, LINUX_SLL2, NULL, LOOP, PPP (default and -e), -e on raw IP, caplen-0 and len==0 records", () => {
  const udp = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 4000, dstPort: 9, payload: 12 });
  const udp6 = buildUdp({ src: "2001:db8::1", dst: "2001:db8::2", srcPort: 4000, dstPort: 9, payload: 12 });
  const sll = (pkttype: number, proto: number, p: Uint8Array) => new Uint8Array([0, pkttype, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, proto >> 8, proto & 255, ...p]);
  const sll2 = (pkttype: number, proto: number, p: Uint8Array) => new Uint8Array([proto >> 8, proto & 255, 0, 0, 0, 0, 0x3b, 0x9a, 0, 1, pkttype, 6, 2, 0, 0, 0, 0, 1, 0, 0, ...p]);
  const arp = fromHex("0001 0800 06 04 0001 020000000001 c0000201 000000000000 c0000202");
  for (const eflag of [[], ["-e"]]) {
    for (const [lt, recs] of [
      [113, [sll(0, 0x0800, udp), sll(4, 0x86dd, udp6), sll(1, 0x0806, arp), sll(2, 0x0800, udp), sll(3, 0x0800, udp.subarray(0, 10))]],
      [276, [sll2(0, 0x0800, udp), sll2(4, 0x86dd, udp6)]],
      [0, [new Uint8Array([2, 0, 0, 0, ...udp]), new Uint8Array([30, 0, 0, 0, ...udp6]), new Uint8Array([0, 0, 0, 2, ...udp])]],
      [108, [new Uint8Array([0, 0, 0, 2, ...udp]), new Uint8Array([0, 0, 0, 24, ...udp6])]],
      [9, [new Uint8Array([0xff, 0x03, 0, 0x21, ...udp]), new Uint8Array([0, 0x57, ...udp6]), new Uint8Array([0x21, ...udp])]],
      [101, [udp, udp6, { data: new Uint8Array(0), orig: 0 }, { data: new Uint8Array(0), orig: 60 }, { data: udp.subarray(0, 20), orig: 10 }]],
    ] as Array<[number, Rec[]]>) {
      const r = both(pcap(lt, recs), eflag);
      expect({ lt, eflag, lines: r.tunkit }).toEqual({ lt, eflag, lines: r.tcpdump });
    }
  }
});

ttest("ESP, VRRP v2/v3 (and a TTL that is not 255), NTP modes, BGP on TCP 179, records longer than the snaplen", () => {
  const recs: Rec[] = [
    ip4(50, [0, 0, 0x10, 0, 0, 0, 0, 1, ...new Array(40).fill(7)]),
    ip4(112, [0x21, 7, 100, 1, 0, 1, 0, 0, 192, 0, 2, 9, 0, 0, 0, 0, 0, 0, 0, 0], 255),
    ip4(112, [0x21, 7, 100, 1, 1, 3, 0, 0, 192, 0, 2, 9, 0, 0, 0, 0, 0, 0, 0, 0], 64),
    ip4(112, [0x31, 9, 200, 1, 0, 100, 0, 0, 192, 0, 2, 9], 255),
    buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 123, dstPort: 123, payload: new Uint8Array([0x23, ...new Array(47).fill(0)]) }),
    buildUdp({ src: "192.0.2.2", dst: "192.0.2.1", srcPort: 123, dstPort: 40000, payload: new Uint8Array([0x24, ...new Array(47).fill(0)]) }),
    buildUdp({ src: "192.0.2.2", dst: "192.0.2.1", srcPort: 123, dstPort: 40000, payload: new Uint8Array([0x16, ...new Array(11).fill(0)]) }),
    tcpWith([], "P.", 19, 179),
    tcpWith([], "S", 0, 179),
  ];
  const r = both(pcap(101, recs));
  expect(r.tunkit).toEqual(r.tcpdump);
  // a file whose snaplen is smaller than its records: libpcap cuts them and reads on
  const w = new PcapWriter({ linkType: 101, snaplen: 30 });
  const big = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 4000, dstPort: 9, payload: 100 });
  const head = w.header();
  const rec = new Uint8Array(16 + big.length);
  new DataView(rec.buffer).setUint32(8, big.length, true);
  new DataView(rec.buffer).setUint32(12, big.length, true);
  rec.set(big, 16);
  const c = both(new Uint8Array([...head, ...rec, ...rec]));
  expect(c.tunkit).toEqual(c.tcpdump);
  expect(c.tunkit.length).toBe(2);
});
