// pcap and pcapng: writer/reader round trips, both byte orders, both magics, streaming,
// absurd lengths refused with typed errors, truncated tails reported.
import { expect, test } from "bun:test";
import { MalformedError, TruncatedError, UsageError } from "../../common/errors.ts";
import { fromHex } from "../../common/hex.ts";
import { buildIcmpEcho, buildUdp } from "../../packet/build.ts";
import { LINKTYPE_ETHERNET, LINKTYPE_RAW, linkTypeOf, MAX_CAPLEN, PcapReader, PcapWriter, readPcap } from "../../packet/pcap.ts";
import { PcapngReader, PcapngWriter, readPcapng } from "../../packet/pcapng.ts";
import { needingPeers } from "../peers.ts";

const cat = (chunks: Uint8Array[]) => {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let p = 0;
  for (const c of chunks) out.set(c, p), (p += c.length);
  return out;
};
const pkts = [
  buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", id: 1, seq: 1, payload: 56 }),
  buildUdp({ src: "2001:db8::1", dst: "2001:db8::2", srcPort: 1, dstPort: 2, payload: 3 }),
  new Uint8Array(0),
];

test("pcap writer: header fields (LINKTYPE_RAW, both magics, snaplen)", () => {
  expect(new PcapWriter({ linkType: "raw" }).header()).toEqual(fromHex("d4c3b2a1 0200 0400 00000000 00000000 00000400 65000000"));
  expect(new PcapWriter({ linkType: "ethernet", nanosecond: true, snaplen: 1500 }).header()).toEqual(fromHex("4d3cb2a1 0200 0400 00000000 00000000 dc050000 01000000"));
  expect(() => new PcapWriter({ linkType: "raw", snaplen: 0 })).toThrow(UsageError);
});

test("pcap round trip, micro and nano, with snaplen cut", () => {
  for (const nanosecond of [false, true]) {
    const w = new PcapWriter({ linkType: "raw", nanosecond, snaplen: 60 });
    const bytes = cat([w.header(), ...pkts.map((p, i) => w.record(p, { sec: 1700000000 + i, nsec: 123456789 }))]);
    const f = readPcap(bytes);
    expect(f.header).toMatchObject({ byteOrder: "le", nanosecond, snaplen: 60, linkType: LINKTYPE_RAW });
    expect(f.records.map((r) => [r.captureLength, r.originalLength])).toEqual([[60, 84], [51, 51], [0, 0]]);
    expect(f.records[0]!.data).toEqual(pkts[0]!.subarray(0, 60));
    expect(f.records[1]!.tsSec).toBe(1700000001);
    expect(f.records[1]!.tsNsec).toBe(nanosecond ? 123456789 : 123456000);
    expect(f.truncated).toBeUndefined();
  }
});

test("pcap big-endian files read the same", () => {
  const be = fromHex("a1b2c3d4 0002 0004 00000000 00000000 00010000 00000001" + "00000005 00000007 00000004 00000010 deadbeef");
  const f = readPcap(be);
  expect(f.header).toMatchObject({ byteOrder: "be", nanosecond: false, snaplen: 65536, linkType: LINKTYPE_ETHERNET });
  expect(f.records[0]).toMatchObject({ tsSec: 5, tsNsec: 7000, captureLength: 4, originalLength: 16 });
  expect(f.records[0]!.data).toEqual(fromHex("deadbeef"));
  expect(readPcap(fromHex("a1b23c4d 0002 0004 00000000 00000000 00010000 00000065")).header.nanosecond).toBe(true);
});

test("pcap: absurd record lengths are refused with MalformedError; over-snaplen ones are cut to the snaplen, as libpcap does", () => {
  const hdr = new PcapWriter({ linkType: "raw", snaplen: 100 }).header();
  const rec = (caplen: number) => {
    const b = new Uint8Array(16);
    new DataView(b.buffer).setUint32(8, caplen, true);
    return b;
  };
  // libpcap cuts a record longer than the snaplen (but sane) to the snaplen and reads on
  const over = readPcap(cat([hdr, rec(101), new Uint8Array(101), rec(4), new Uint8Array(4)]));
  expect(over.records.map((r) => r.captureLength)).toEqual([100, 4]);
  const rd = new PcapReader();
  rd.push(cat([hdr, rec(101), new Uint8Array(101)]));
  rd.next();
  expect(rd.cutRecords).toBe(1);
  const big = new PcapWriter({ linkType: "raw" }).header();
  expect(() => readPcap(cat([big, rec(MAX_CAPLEN + 1)]))).toThrow(/larger than 262144 bytes/);
  expect(() => readPcap(fromHex("0a0d0d0a 00000000 00000000 00000000 00000000 00000000"))).toThrow(/pcapng files start with 0a0d0d0a/);
  expect(() => readPcap(new Uint8Array(10))).toThrow(TruncatedError);
});

test("pcap: a record cut at the end is reported, not thrown; streaming byte by byte gives the same", () => {
  const w = new PcapWriter({ linkType: "raw" });
  const whole = cat([w.header(), ...pkts.map((p) => w.record(p, 0))]);
  const cut = whole.subarray(0, whole.length - 16 - 10);
  const f = readPcap(cut);
  expect(f.records.length).toBe(1);
  expect(f.truncated).toEqual({ offset: 24 + 16 + 84, have: 16 + 41, need: 16 + 51 });
  const r = new PcapReader();
  const got: number[] = [];
  for (let i = 0; i < whole.length; i++) {
    r.push(whole.subarray(i, i + 1));
    for (let rec = r.next(); rec; rec = r.next()) got.push(rec.captureLength);
  }
  expect(got).toEqual([84, 51, 0]);
  expect(r.end()).toEqual({ records: 3 });
});

test("linkTypeOf maps the raw variants", () => {
  expect([101, 12, 14, 228, 229, 1, 113].map(linkTypeOf)).toEqual(["raw", "raw", "raw", "raw", "raw", "ethernet", undefined]);
});

test("pcapng round trip (micro and nano resolution)", () => {
  for (const nanosecond of [false, true]) {
    const w = new PcapngWriter({ linkType: "ethernet", nanosecond });
    const bytes = cat([w.header(), ...pkts.map((p, i) => w.record(p, { sec: 1700000000 + i, nsec: 987654321 }))]);
    const f = readPcapng(bytes);
    expect(f.interfaces[0]).toMatchObject({ linkType: 1, snaplen: 262144, tsResolution: { base: 10, exponent: nanosecond ? 9 : 6 } });
    expect(f.records.map((r) => r.captureLength)).toEqual([84, 51, 0]);
    expect(f.records[1]!.data).toEqual(pkts[1]!);
    expect(f.records[2]!.tsSec).toBe(1700000002);
    expect(f.records[2]!.tsNsec).toBe(nanosecond ? 987654321 : 987654000);
  }
});

// A big-endian section by hand: SHB, IDB (linktype 101, tsresol 2^-10 via option), an
// unknown block (skipped), an EPB, an SPB, then a second little-endian section.
const BE_SECTION =
  "0a0d0d0a 0000001c 1a2b3c4d 00010000 ffffffffffffffff 0000001c" +
  "00000001 00000020 0065 0000 00000000 0009 0001 8a000000 00000000 00000020" +
  "00000bad 00000010 00000000 00000010" +
  "00000006 00000024 00000000 00000000 00000c00 00000004 00000008 45000008 00000024" +
  "00000003 00000014 00000002 4560 0000 00000014";
const LE_SECTION =
  "0a0d0d0a 1c000000 4d3c2b1a 01000000 ffffffffffffffff 1c000000" +
  "01000000 14000000 0100 0000 00000000 14000000" +
  "06000000 24000000 00000000 00000000 40420f00 04000000 04000000 aabbccdd 24000000";

test("pcapng: big-endian section, unknown blocks skipped, SPB, second section", () => {
  const f = readPcapng(fromHex(BE_SECTION + LE_SECTION));
  expect(f.records.map((r) => [r.linkType, r.captureLength, r.originalLength, r.tsSec, r.tsNsec])).toEqual([
    [101, 4, 8, 3, 0], // 0xc00 units of 2^-10 s = 3 s
    [101, 2, 2, 0, 0],
    [1, 4, 4, 1, 0], // 1,000,000 us
  ]);
  expect(f.records[0]!.data).toEqual(fromHex("45000008"));
  expect(f.records[2]!.data).toEqual(fromHex("aabbccdd"));
});

test("pcapng: bad structure is a MalformedError, a cut block is reported", () => {
  expect(() => readPcapng(fromHex("00000006 00000024 00000000"))).toThrow(/before any section header/);
  expect(() => readPcapng(fromHex("0a0d0d0a 0000001c 11223344 00010000 0000000000000000 0000001c"))).toThrow(MalformedError);
  expect(() => readPcapng(fromHex(LE_SECTION.replace("06000000 24000000", "06000000 25000000")))).toThrow(/block length "37"/);
  expect(() => readPcapng(fromHex(LE_SECTION.replace("06000000 24000000 00000000", "06000000 24000000 07000000")))).toThrow(/unknown interface "7"/);
  expect(() => readPcapng(fromHex(LE_SECTION.replace("04000000 04000000 aabbccdd", "00000100 04000000 aabbccdd")))).toThrow(MalformedError);
  const whole = fromHex(LE_SECTION);
  const r = new PcapngReader();
  r.push(whole.subarray(0, whole.length - 5));
  expect(r.next()).toBeUndefined();
  expect(r.end().truncated).toEqual({ offset: 48, have: 31, need: 36 });
});

const tcpdump = Bun.which("tcpdump");
needingPeers("packet-pcap live", ["tcpdump"])("live: tcpdump reads the pcapng we write", () => {
  const w = new PcapngWriter({ linkType: "raw", nanosecond: true });
  const path = `/tmp/tunkit-pcapng-${process.pid}.pcapng`;
  Bun.spawnSync(["sh", "-c", `cat > ${path}`], { stdin: cat([w.header(), w.record(pkts[0]!, { sec: 43200, nsec: 5 })]) });
  const out = Bun.spawnSync([tcpdump!, "-nn", "-r", path], { env: { ...process.env, TZ: "UTC" } });
  Bun.spawnSync(["rm", "-f", path]);
  expect(new TextDecoder().decode(out.stdout)).toBe("12:00:00.000000 IP 192.0.2.1 > 192.0.2.2: ICMP echo request, id 1, seq 1, length 64\n");
});
