// dump's tcpdump command line (issue 13): the flags a tcpdump user types, parsed by dump's own
// parser (words after `dump` are dump's), the -t timestamp forms, -A, rotation names, pcapng.
import { expect, test } from "bun:test";
import { planDump, parseFileSize, deviceListLines, dumpCaptureBytes } from "../../cli/dump.ts";
import { run } from "../../cli/run.ts";
import { PacketPrinter, PcapWriter, buildUdp, readPcapng, asciiText } from "../../packet/mod.ts";
import { rotatedName, strftime, PcapSink, CaptureWriter } from "../../tun/mod.ts";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const g = { json: false, quiet: false };

test("planDump: -i IFACE makes every word the filter; -n/-nn are accepted no-ops; -v/-S/-t/-A/-l/-U counted", () => {
  const p = planDump(["icmp", "and", "host", "192.0.2.1"], { interface: "tun0", n: 2, v: 2, S: true, t: 3, A: 1, l: true, U: true }, g);
  expect(p.iface).toBe("tun0");
  expect(p.filter?.expression).toBe("icmp and host 192.0.2.1");
  expect(p.print).toMatchObject({ verbose: 2, absoluteSeq: true, tsMode: 3, ascii: 1, hex: 0 });
  expect(p.lineBuffered).toBe(true);
  expect(p.packetBuffered).toBe(true);
  expect(planDump(["tun0"], { v: 9, t: 9 }, g).print).toMatchObject({ verbose: 3, tsMode: 5 });
  expect(() => planDump(["icmp"], {}, g)).toThrow(/Missing interface: "icmp" starts a filter/);
  expect(() => planDump([], { read: "x", interface: "tun0" }, g)).toThrow(/-i and -r exclude/);
  expect(planDump([], { D: true }, g).list).toBe(true);
  expect(() => planDump(["tun0"], { D: true }, g)).toThrow(/-D lists the devices/);
  // -q: no hex, but -X still wins; -A turns the default hex off
  expect(planDump(["tun0"], { q: true }, g).print.hex).toBe(0);
  expect(planDump(["tun0"], { q: true, X: 1 }, g).print.hex).toBe(1);
  expect(planDump(["tun0"], { A: 1, X: 2 }, g).print.hex).toBe(2);
});

test("planDump: -w format and rotation options", () => {
  expect(planDump(["tun0"], { write: "x.pcapng" }, g).format).toBe("pcapng");
  expect(planDump(["tun0"], { write: "x.pcap", pcapng: true }, g).format).toBe("pcapng");
  expect(planDump(["tun0"], { write: "x.pcap" }, g).format).toBe("pcap");
  expect(planDump(["tun0"], { write: "x", C: "2", W: "5" }, g).rotate).toEqual({ bytes: 2_000_000, files: 5 });
  expect(planDump(["tun0"], { write: "x-%H", G: "60" }, g).rotate).toEqual({ seconds: 60 });
  expect(() => planDump(["tun0"], { C: "1" }, g)).toThrow(/give -w FILE/);
  expect(() => planDump(["tun0"], { write: "-", C: "1" }, g)).toThrow(/not - \(stdout\)/);
  expect(() => planDump(["tun0"], { write: "x", W: "3" }, g)).toThrow(/-W needs -C or -G/);
  expect(() => planDump(["tun0"], { pcapng: true }, g)).toThrow(/--pcapng/);
  expect(parseFileSize("3")).toBe(3_000_000);
  expect(parseFileSize("500k")).toBe(512_000);
  expect(parseFileSize("2M")).toBe(2 << 20);
  expect(() => parseFileSize("0")).toThrow(/Invalid file size/);
  expect(() => parseFileSize("1.5")).toThrow(/Invalid file size/);
});

test("rotated names follow tcpdump 4.99 (-C: F F1 F2; -C -W 3: F0 F1 F2; -G: strftime; -G -C: strftime + count)", () => {
  expect([0, 1, 2].map((n) => rotatedName("out", n, { bytes: 1 }))).toEqual(["out", "out1", "out2"]);
  expect([0, 1, 2].map((n) => rotatedName("out", n, { bytes: 1, files: 3 }))).toEqual(["out0", "out1", "out2"]);
  expect(rotatedName("out", 3, { bytes: 1, files: 12 })).toBe("out03");
  const d = new Date(2024, 0, 2, 3, 4, 5);
  expect(rotatedName("c-%H", 0, { seconds: 10, files: 3 }, d)).toBe("c-03");
  expect(rotatedName("c-%H", 2, { seconds: 10, bytes: 1, files: 3 }, d)).toBe("c-032");
  expect(strftime("%Y-%m-%d %H:%M:%S %j %% %q", d)).toBe("2024-01-02 03:04:05 002 % %q");
});

test("CaptureWriter: -C rotates before the packet that would overflow, with the sizes tcpdump -C makes", () => {
  const dir = mkdtempSync(join(tmpdir(), "tkrot-"));
  try {
    const pkt = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 53, dstPort: 53, payload: 972 }); // 1000 bytes
    const w = new CaptureWriter({ path: join(dir, "out"), bytes: 1_000_000, files: 2, sink: { linkType: "raw", snaplen: 65535 } });
    for (let i = 0; i < 3000; i++) w.write(pkt, pkt.length, pkt.length, 1700000000 + i, 0);
    w.close();
    // tcpdump -r in.pcap -w out -C 1 -W 2 (3000 such records) gives out0 = 1000784 and out1 = 45744 bytes
    const sizes = Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).length]));
    expect(sizes).toEqual({ out0: 1000784, out1: 45744 });
    expect(w.written).toBe(3000);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("-G with -W stops after N files (the writer says it finished)", () => {
  const dir = mkdtempSync(join(tmpdir(), "tkrotg-"));
  try {
    let now = 1_700_000_000_000;
    const w = new CaptureWriter({ path: join(dir, "g-%s"), seconds: 10, files: 2, sink: { linkType: "raw" }, now: () => now });
    const pkt = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, payload: 4 });
    w.write(pkt, pkt.length, pkt.length, 1, 0);
    now += 10_000;
    w.write(pkt, pkt.length, pkt.length, 2, 0);
    now += 10_000;
    w.write(pkt, pkt.length, pkt.length, 3, 0);
    w.close();
    expect(w.finished).toBe("Maximum file limit reached: 2");
    expect(readdirSync(dir).sort()).toEqual(["g-1700000000", "g-1700000010"]);
    expect(w.written).toBe(2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("pcapng sink: SHB + IDB + EPBs our reader (and tcpdump, in the integration tests) reads back, ns timestamps exact", () => {
  const dir = mkdtempSync(join(tmpdir(), "tkng-"));
  try {
    const f = join(dir, "x.pcapng");
    const s = PcapSink.open(f, { linkType: "raw", nanosecond: true, format: "pcapng" });
    const pkt = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, payload: 5 }); // 33 bytes: padded
    s.write(pkt, pkt.length, pkt.length, 1700000000, 123456789);
    s.write(pkt, 20, pkt.length, 4294967296 + 5, 1);
    s.close();
    const r = readPcapng(new Uint8Array(readFileSync(f)));
    expect(r.records.length).toBe(2);
    expect(r.records[0]).toMatchObject({ tsSec: 1700000000, tsNsec: 123456789, captureLength: 33, originalLength: 33 });
    expect(r.records[1]).toMatchObject({ tsSec: 4294967301, tsNsec: 1, captureLength: 20, originalLength: 33 });
    expect(s.written).toBe(2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("-t forms: none, epoch, deltas, date", () => {
  const pkt = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, payload: 4 });
  const line = (tsMode: 0 | 1 | 2 | 3 | 4 | 5, ts: Array<[number, number]>) => {
    const p = new PacketPrinter({ hex: 0, link: false, nano: false, json: false, localTime: false, tsMode });
    return ts.map(([sec, nsec]) => p.summary(pkt, 101, { sec, nsec }, pkt.length, undefined).split("IP ")[0]!.replace(/ $/, ""));
  };
  const ts: Array<[number, number]> = [[1700000000, 500_000_000], [1700000001, 250_000_000], [1700000003, 0]];
  expect(line(1, ts)).toEqual(["", "", ""]);
  expect(line(2, ts)).toEqual(["1700000000.500000", "1700000001.250000", "1700000003.000000"]);
  // tcpdump 4.99 signs deltas: " 00:00:00.750000"
  expect(line(3, ts)).toEqual([" 00:00:00.000000", " 00:00:00.750000", " 00:00:01.750000"]);
  expect(line(4, ts)).toEqual(["2023-11-14 22:13:20.500000", "2023-11-14 22:13:21.250000", "2023-11-14 22:13:23.000000"]);
  expect(line(5, ts)).toEqual([" 00:00:00.000000", " 00:00:00.750000", " 00:00:02.500000"]);
  const p1 = new PacketPrinter({ hex: 0, link: false, nano: false, json: false, tsMode: 1 });
  expect(p1.summary(pkt, 101, { sec: 1, nsec: 0 }, pkt.length, undefined)).toBe("IP 192.0.2.1.1 > 192.0.2.2.2: UDP, length 4");
});

test("-A prints the packet as tcpdump's ascii_print does", () => {
  expect(asciiText(new TextEncoder().encode("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))).toBe("GET / HTTP/1.1\nHost: x\n\n");
  expect(asciiText(new Uint8Array([0x41, 0x00, 0x0d, 0x42, 0x7f, 0x09, 0x0d]))).toBe("A..B.\t");
  const w = new PcapWriter({ linkType: "raw" });
  const pkt = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, payload: new TextEncoder().encode("hi there") });
  const bytes = new Uint8Array([...w.header(), ...w.record(pkt, { sec: 0, nsec: 0 })]);
  let out = "";
  const plan = planDump([], { read: "f", A: 1, t: 1 }, g);
  dumpCaptureBytes(bytes, plan, (s) => (out += s));
  expect(out).toBe("IP 192.0.2.1.1 > 192.0.2.2.2: UDP, length 8\nE..$....@...................hi there\n");
});

test("-D lines: tcpdump -D's shape, with who holds each device", () => {
  expect(deviceListLines([
    { ifname: "tun0", mode: "tun", flags: ["POINTOPOINT", "UP", "LOWER_UP"], attached: [{ pid: 12, comm: "echo" }] },
    { ifname: "tap1", mode: "tap", flags: ["NO-CARRIER", "UP"], attached: [] },
    { ifname: "tun9", mode: "tun", flags: [], attached: [] },
  ])).toEqual([
    "1.tun0 (tun, held by echo (pid 12): dump sniffs) [Up, Running]",
    "2.tap1 (tap, free: dump attaches) [Up]",
    "3.tun9 (tun, free: dump attaches) [none]",
  ]);
});

test("the command line: words after `dump` are dump's (-n, -nn, -q), the global -n NETNS goes before it", async () => {
  const cli = async (argv: string[]) => {
    let out = "";
    let err = "";
    const code = await run(argv, { stdout: (s) => void (out += s), stderr: (s) => void (err += s) });
    return { code, out, err };
  };
  // -nn after dump is tcpdump's -n twice, not "no network namespace n"; -i names the device
  const a = await cli(["dump", "-nn", "-i", "bad/name", "icmp"]);
  expect(a.code).toBe(2);
  expect(a.err).toContain('Invalid interface name "bad/name"');
  expect(a.err).not.toContain("namespace");
  const b = await cli(["dump", "-n", "bad/name"]);
  expect(b.err).toContain('Invalid interface name "bad/name"');
  // the global -n before the command is still the namespace
  const c = await cli(["-n", "tk-no-such-ns-" + process.pid, "dump", "-nn", "-i", "tun0"]);
  expect(c.code).not.toBe(0);
  expect(c.err).toMatch(/namespace/);
  // --netns works after dump too
  const d = await cli(["dump", "-i", "tun0", "--netns", "tk-no-such-ns-" + process.pid]);
  expect(d.err).toMatch(/namespace/);
  // -q -v -S -tttt -A -l -U -X are all known to dump
  const e = await cli(["dump", "-q", "-vvv", "-S", "-tttt", "-A", "-l", "-U", "-XX", "-r", "/nonexistent.pcap"]);
  expect(e.code).toBe(1);
  expect(e.err).toContain("hint: there is no file");
});
