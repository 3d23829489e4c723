// Golden tests against the installed tcpdump (4.99.3), run live, for every protocol tunkit's
// printers claim: captures built here (one per protocol, with its corners), printed by
// `tcpdump -n` and by tunkit's dump -r engine at default verbosity, -v and -vv, line for line.
// The -v corpus leaves out what tunkit claims at default verbosity only (BGP, OSPF, PIM, DHCP,
// DHCPv6, IKE: tcpdump decodes their bodies with -v). tcpdump is a test peer (Debian: tcpdump);
// without it these are skipped, loudly.
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PcapWriter, buildUdp, buildTcp, buildIp, buildIcmp, buildIcmpEcho, buildEthernet, buildArp } from "../../mod.ts";
import { planDump, dumpCaptureBytes } from "../../cli/dump.ts";
import { printRecord } from "../../packet/print/index.ts";
import { mulberry32, mutate, randomBytes } from "./_fuzz.ts";

const haveTcpdump = spawnSync("sh", ["-c", "command -v tcpdump"], { stdio: "ignore" }).status === 0;
if (!haveTcpdump) console.log("!!! tcpdump protocol golden tests SKIPPED: tcpdump missing (Debian: apt-get install -y tcpdump)");
const ttest = haveTcpdump ? test : test.skip;

function pcap(linkType: number, recs: Uint8Array[]): Uint8Array {
  const w = new PcapWriter({ linkType });
  return new Uint8Array(Buffer.concat([w.header(), ...recs.map((r, i) => w.record(r, { sec: 1700000000 + i, nsec: 1000 * i }))]));
}

/** Both tools' text for a capture, one entry per packet (timestamps kept: -tt on both). */
function both(bytes: Uint8Array, v: number, e = false): { tcpdump: string[]; tunkit: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "tkproto-"));
  try {
    const f = join(dir, "x.pcap");
    writeFileSync(f, bytes);
    const flags = ["-n", "-tt", ...(v ? ["-" + "v".repeat(v)] : []), ...(e ? ["-e"] : [])];
    const r = spawnSync("tcpdump", [...flags, "-r", f], { encoding: "latin1", env: { ...process.env, TZ: "UTC" } });
    let out = "";
    const plan = planDump([], { read: f, n: 1, t: 2, q: true, v, e }, { json: false, quiet: true });
    dumpCaptureBytes(bytes, plan, (s) => (out += s));
    const split = (s: string) => s.split(/\n(?=\d{10}\.\d{6} )/).map((p) => p.replace(/\n$/, "")).filter(Boolean);
    return { tcpdump: split(r.stdout), tunkit: split(out) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Corpus {
  name: string;
  linkType: number;
  recs: Uint8Array[];
}

/** While set, check() only collects the corpus (for the fuzz test below). */
let collecting: Corpus[] | undefined;
const builders: (() => void)[] = [];

/** A golden test (skipped without tcpdump) whose corpus the fuzz test reuses. */
function protoTest(title: string, fn: () => void): void {
  builders.push(fn);
  ttest(title, fn);
}

function check(name: string, linkType: number, recs: Uint8Array[], levels: number[], e = false): void {
  if (collecting) {
    collecting.push({ name, linkType, recs });
    return;
  }
  for (const v of levels) {
    const r = both(pcap(linkType, recs), v, e);
    expect(r.tcpdump.length).toBe(recs.length);
    r.tcpdump.forEach((want, i) => expect({ name, v, i, line: r.tunkit[i] }).toEqual({ name, v, i, line: want }));
  }
}

const A = "192.0.2.1";
const B = "192.0.2.2";
const A6 = "2001:db8::1";
const B6 = "2001:db8::2";
const bytes = (...xs: (number | number[] | Uint8Array)[]) => new Uint8Array(xs.flatMap((x) => (typeof x === "number" ? [x] : [...x])));
const be16 = (v: number) => [v >> 8, v & 0xff];
const be32 = (v: number) => [(v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];
const ascii = (s: string) => [...new TextEncoder().encode(s)];
const udp = (sp: number, dp: number, payload: Uint8Array, v6 = false) => buildUdp({ src: v6 ? A6 : A, dst: v6 ? B6 : B, srcPort: sp, dstPort: dp, payload });
/** A DNS name in wire form. */
const name = (n: string) => [...n.split(".").filter(Boolean).flatMap((l) => [l.length, ...ascii(l)]), 0];
const rr = (nm: number[], type: number, cls: number, ttl: number, data: number[]) => [...nm, ...be16(type), ...be16(cls), ...be32(ttl), ...be16(data.length), ...data];
const dns = (id: number, flags: number, qd: number[][], an: number[][] = [], ns: number[][] = [], ar: number[][] = []) =>
  bytes(be16(id), be16(flags), be16(qd.length), be16(an.length), be16(ns.length), be16(ar.length), ...qd, ...an, ...ns, ...ar);
const q = (n: string, type: number, cls = 1) => [...name(n), ...be16(type), ...be16(cls)];

protoTest("IPv4, TCP, UDP, ICMP: -v fields (tos/ECN, ttl, id, flags, options, checksums good and bad)", () => {
  const recs = [
    buildTcp({ src: A, dst: B, srcPort: 40000, dstPort: 443, flags: "S", seq: 7, tos: 0x10, ttl: 61, ipId: 4242, df: true, options: [{ name: "mss", value: 1460 }] }),
    buildUdp({ src: A, dst: B, srcPort: 5000, dstPort: 9, payload: 12, tos: 0x03 }),
    buildUdp({ src: A, dst: B, srcPort: 5000, dstPort: 9, payload: 3, tos: 0x02, ipv4Options: bytes(148, 4, 0, 0) }),
    buildIcmpEcho({ src: A, dst: B, id: 9, seq: 3, payload: 16, tos: 0x01 }),
    buildIp(17, bytes(0x13, 0x88, 0, 9, 0, 8, 0, 0), { src: A, dst: B }, false), // UDP checksum 0: [no cksum] with -vv
  ];
  const bad = buildTcp({ src: A, dst: B, srcPort: 40000, dstPort: 80, flags: "P.", seq: 1, ack: 1, payload: new Uint8Array(ascii("GET / HTTP/1.1\r\nHost: x\r\n\r\n")) });
  bad[bad.length - 1]! ^= 0xff; // TCP checksum now wrong
  recs.push(bad);
  const ipbad = buildUdp({ src: A, dst: B, srcPort: 1, dstPort: 9, payload: 2 });
  ipbad[10]! ^= 1; // IP header checksum wrong
  recs.push(ipbad);
  recs.push(buildIcmp({ src: A, dst: B, type: 3, code: 3, body: buildUdp({ src: B, dst: A, srcPort: 33434, dstPort: 53, payload: 4 }).subarray(0, 28) }));
  recs.push(buildIcmp({ src: A, dst: B, type: 11, code: 0, body: buildTcp({ src: B, dst: A, srcPort: 22, dstPort: 4000, flags: "S" }).subarray(0, 28) }));
  recs.push(buildIcmp({ src: A, dst: B, type: 5, code: 1, rest: 0xc0000201, body: buildUdp({ src: B, dst: "198.51.100.7", srcPort: 1, dstPort: 2 }).subarray(0, 28) }));
  recs.push(buildIcmp({ src: A, dst: B, type: 9, rest: 0x01020708, body: bytes(192, 0, 2, 9, 0, 0, 0, 5) }));
  recs.push(buildIcmp({ src: A, dst: B, type: 14, rest: 0x00070001, body: bytes(be32(1000), be32(3723004), be32(86399999)) }));
  recs.push(buildIcmp({ src: A, dst: B, type: 18, rest: 0x00070001, body: bytes(255, 255, 255, 0) }));
  recs.push(buildIcmp({ src: A, dst: B, type: 4, body: buildUdp({ src: B, dst: A, srcPort: 1, dstPort: 2 }).subarray(0, 28) }));
  recs.push(buildIp(1, bytes(8, 0, 0, 0, 0, 1, 0, 1), { src: A, dst: B, mf: true, ipId: 77 }));
  recs.push(buildIp(1, bytes(0, 0, 0, 0), { src: A, dst: B, fragmentOffset: 1480, ipId: 77 }));
  check("ipv4", 101, recs, [0, 1, 2]);
});

protoTest("TCP: relative and absolute sequence numbers, SACK, RST data with -v, window scale, urgent, bad header lengths", () => {
  const s = (o: Parameters<typeof buildTcp>[0]) => buildTcp(o);
  const recs = [
    s({ src: A, dst: B, srcPort: 40000, dstPort: 5001, flags: "S", seq: 1000, options: [{ name: "mss", value: 1460 }, { name: "sackOK" }, { name: "wscale", value: 7 }] }),
    s({ src: B, dst: A, srcPort: 5001, dstPort: 40000, flags: "S.", seq: 9000, ack: 1001 }),
    s({ src: A, dst: B, srcPort: 40000, dstPort: 5001, flags: "P.", seq: 1001, ack: 9001, payload: 100 }),
    s({ src: B, dst: A, srcPort: 5001, dstPort: 40000, flags: ".", seq: 9001, ack: 1101, options: [{ name: "sack", blocks: [[1201, 1301]] }] }),
    s({ src: A, dst: B, srcPort: 40000, dstPort: 5001, flags: "U.", seq: 1101, ack: 9001, urgent: 3, payload: 4 }),
    s({ src: B, dst: A, srcPort: 5001, dstPort: 40000, flags: "R.", seq: 9001, ack: 1105, payload: new Uint8Array(ascii("connection refused by peer; try later please")) }),
    s({ src: A, dst: B, srcPort: 40000, dstPort: 5001, flags: "F.", seq: 1105, ack: 9001 }),
  ];
  check("tcp", 101, recs, [0, 1, 2]);
});

protoTest("DNS: queries and answers (A, AAAA, CNAME, MX, TXT, SRV, SOA, URI, SSHFP, OPT with EDNS options), BadVers/BadCookie, mDNS, TCP", () => {
  const www = name("www.example.com");
  const recs = [
    udp(40000, 53, dns(0x1234, 0x0100, [q("www.example.com", 1)], [], [], [rr([0], 41, 1232, 0x00008000, [...be16(10), ...be16(8), 1, 2, 3, 4, 5, 6, 7, 8])])),
    udp(53, 40000, dns(0x1234, 0x8180, [q("www.example.com", 1)], [rr(www, 5, 1, 300, name("web.example.com")), rr(name("web.example.com"), 1, 1, 60, [192, 0, 2, 80])])),
    udp(53, 40000, dns(7, 0x8180, [q("example.com", 28)], [rr(name("example.com"), 28, 1, 60, [0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 1])])),
    udp(53, 40000, dns(8, 0x8580, [q("example.com", 15)], [rr(name("example.com"), 15, 1, 60, [...be16(10), ...name("mx.example.com")]), rr(name("example.com"), 16, 1, 60, [5, ...ascii("hello"), 3, ...ascii("txt")])])),
    udp(53, 40000, dns(9, 0x8180, [q("_sip._udp.example.com", 33)], [rr(name("_sip._udp.example.com"), 33, 1, 60, [...be16(1), ...be16(5), ...be16(5060), ...name("sip.example.com")])])),
    udp(53, 40000, dns(10, 0x8183, [q("nope.example.com", 1)], [], [rr(name("example.com"), 6, 1, 900, [...name("ns.example.com"), ...name("admin.example.com"), ...be32(1), ...be32(2), ...be32(3), ...be32(4), ...be32(5)])])),
    udp(40000, 53, dns(11, 0x0100, [q("_http.example.com", 256)])),
    udp(53, 40000, dns(11, 0x8400, [q("_http.example.com", 256)], [rr(name("_http.example.com"), 256, 1, 60, [...be16(10), ...be16(1), ...ascii("http://www.example.com/")])])),
    udp(40000, 53, dns(12, 0x0100, [q("host.example.com", 44)])),
    udp(53, 40000, dns(12, 0x8180, [q("host.example.com", 44)], [rr(name("host.example.com"), 44, 1, 60, [1, 1, 1, 2, 3, 4])])),
    udp(53, 40000, dns(13, 0x8000, [], [], [], [rr([0], 41, 512, 0x01000000, [])])), // BadVers (16)
    udp(53, 40000, dns(14, 0x8007, [], [], [], [rr([0], 41, 512, 0x01000000, [])])), // BadCookie (23)
    udp(5353, 5353, dns(0, 0x0000, [q("printer.local", 12, 0x8001)])),
    udp(5353, 5353, dns(0, 0x8400, [], [rr(name("printer.local"), 1, 0x8001, 120, [192, 0, 2, 9])])),
    udp(40000, 53, dns(15, 0x2800, [q("example.com", 6)], [rr(name("example.com"), 255, 255, 0, [])])),
    buildTcp({ src: A, dst: B, srcPort: 40001, dstPort: 53, flags: "P.", seq: 1, ack: 1, payload: (() => { const m = dns(16, 0x0100, [q("example.org", 1)]); return bytes(be16(m.length), m); })() }),
    udp(40000, 53, dns(17, 0x0100, [q("example.com", 1)]).subarray(0, 20)), // cut inside the question
  ];
  check("dns", 101, recs, [0, 1, 2, 3]);
});

protoTest("HTTP, RTSP, FTP, SMTP first lines (all lines with -v), SSH versions, telnet/whois ports", () => {
  const t = (sp: number, dp: number, text: string) => buildTcp({ src: A, dst: B, srcPort: sp, dstPort: dp, flags: "P.", seq: 1, ack: 1, payload: new Uint8Array(ascii(text)) });
  const recs = [
    t(40000, 80, "GET /index.html HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n"),
    t(80, 40000, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
    t(40000, 8080, "POST /api HTTP/1.1\r\nContent-Type: text/plain"),
    t(40000, 80, "continued body text without a request line\r\n"),
    t(40000, 554, "OPTIONS rtsp://example.com/a RTSP/1.0\r\nCSeq: 1\r\n\r\n"),
    t(21, 40000, "220 FTP server ready\r\n"),
    t(40000, 25, "EHLO client.example.com\r\n"),
    t(40000, 22, "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n"),
    t(43, 40000, "Domain Name: EXAMPLE.COM\r\nRegistrar: x\r\n"),
  ];
  check("text protocols", 101, recs, [0, 1, 2]);
});

protoTest("ICMPv6: errors, echo, ND with options (-v), MLD, MLDv2, node information, who-are-you, RPL, router renumbering, mobile prefix", () => {
  const ic = (type: number, code: number, rest: number, body: number[] | Uint8Array, ttl = 255) => buildIcmp({ src: "fe80::1", dst: "ff02::1", type, code, rest, body: new Uint8Array(body), ttl });
  const target = [0xfe, 0x80, ...new Array(13).fill(0), 2];
  const lla = [1, 1, 2, 0, 0, 0, 0, 1];
  const pfx = [3, 4, 64, 0xc0, ...be32(2592000), ...be32(604800), 0, 0, 0, 0, 0x20, 1, 0x0d, 0xb8, ...new Array(12).fill(0)];
  const recs = [
    ic(133, 0, 0, lla),
    ic(134, 0, 0x40080708, [...be32(30000), ...be32(1000), ...lla, 5, 1, 0, 0, ...be32(1500), ...pfx, 25, 3, 0, 0, ...be32(600), 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 0x53]),
    ic(135, 0, 0, [...target, ...lla]),
    ic(136, 0, 0xe0000000, [...target, 2, 1, 2, 0, 0, 0, 0, 2]),
    ic(137, 0, 0, [...target, 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 9]),
    ic(130, 0, 0x27100000, new Array(16).fill(0), 1),
    ic(130, 0, 0x03e80000, [...new Array(16).fill(0), 0x02, 125, 0, 1, 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 5], 1),
    ic(143, 0, 2, [4, 0, 0, 1, 0xff, 0x02, ...new Array(13).fill(0), 0x16, 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 7, 2, 0, 0, 0, 0xff, 0x02, ...new Array(13).fill(0), 0xfb], 1),
    ic(131, 0, 0, [0xff, 0x02, ...new Array(13).fill(0), 0xfb], 1),
    ic(132, 0, 0, [0xff, 0x02, ...new Array(13).fill(0), 0xfb], 1),
    ic(139, 0, 0x00030002, [1, 2, 3, 4, 5, 6, 7, 8, 0xfe, 0x80, ...new Array(13).fill(0), 2]),
    ic(139, 0, 0, [1, 2, 3, 4]),
    ic(140, 0, 0x00030000, [1, 2, 3, 4, 5, 6, 7, 8, ...be32(60), 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 1]),
    ic(140, 1, 0x00000000, [1, 2, 3, 4, 5, 6, 7, 8]),
    ic(155, 1, 0x00010100, [0x88, 1, 0, 0, ...target, 4, 14, ...new Array(14).fill(0)]),
    ic(155, 2, 0x01400005, [...target]),
    ic(155, 3, 0x01800500, [...target]),
    ic(138, 0, 7, [0, 0x80, ...be16(60), ...be32(0), 1, 7, 1, 48, 2, 64, 0, 0, 0xfe, 0xc0, ...new Array(14).fill(0), 64, 16, 0xff, 0x80, ...be32(86400), ...be32(3600), 0x80, 0, 0, 0, 0x20, 1, 0x0d, 0xb8, ...new Array(12).fill(0)]),
    ic(146, 0, 0x12340000, []),
    ic(147, 0, 0x1234c000, pfx),
    ic(200, 0, 0, [1, 2, 3, 4]),
    ic(1, 4, 0, buildUdp({ src: B6, dst: A6, srcPort: 40000, dstPort: 53, payload: 4 }).subarray(0, 48)),
    ic(1, 2, 0, buildUdp({ src: B6, dst: A6, srcPort: 1, dstPort: 2 }).subarray(0, 48)),
    ic(2, 0, 1280, buildUdp({ src: B6, dst: A6, srcPort: 1, dstPort: 2 }).subarray(0, 48)),
    ic(3, 0, 0, buildUdp({ src: B6, dst: A6, srcPort: 1, dstPort: 2 }).subarray(0, 48)),
    ic(4, 3, 48, buildUdp({ src: B6, dst: A6, srcPort: 1, dstPort: 2 }).subarray(0, 48)),
    buildIcmpEcho({ src: A6, dst: B6, id: 5, seq: 6, payload: 10 }),
  ];
  check("icmp6", 101, recs, [0, 1, 2]);
});

protoTest("IPv6: extension headers (HBH, DSTOPT, RT6 type 0 and 4, fragments), jumbogram, class and flow label with -v, truncated-ip6", () => {
  const hbh = { type: 0 as const, body: new Uint8Array([5, 2, 0, 0, 1, 0]) };
  const rt0 = (() => {
    const b = new Uint8Array(40);
    b[0] = 0; // next header filled by the builder
    return { type: 43 as const, body: new Uint8Array([0, 1, ...new Array(4).fill(0), 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 3].slice(0, 22)) };
  })();
  void rt0;
  const recs = [
    buildUdp({ src: A6, dst: B6, srcPort: 1000, dstPort: 2000, payload: 4, flowLabel: 0x12345, tos: 0xb8, ipv6Extensions: [hbh] }),
    buildUdp({ src: A6, dst: B6, srcPort: 1000, dstPort: 2000, payload: 4, ipv6Extensions: [{ type: 60, body: new Uint8Array([1, 4, 0, 0, 0, 0]) }] }),
    buildUdp({ src: A6, dst: B6, srcPort: 1000, dstPort: 2000, payload: 64, ipv6Extensions: [{ type: 44, offset: 0, more: true, id: 0x11223344 }] }),
    buildIp(17, new Uint8Array(24), { src: A6, dst: B6, ipv6Extensions: [{ type: 44, offset: 1232, more: false, id: 0x11223344 }] }, false),
    buildUdp({ src: A6, dst: B6, srcPort: 1000, dstPort: 2000, payload: 4, ipv6Extensions: [{ type: 43, body: new Uint8Array([0, 1, 0, 0, 0, 0, 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 3]) }] }),
    buildUdp({ src: A6, dst: B6, srcPort: 1000, dstPort: 2000, payload: 4, ipv6Extensions: [{ type: 43, body: new Uint8Array([4, 0, 0, 0, 0, 0, 0x20, 1, 0x0d, 0xb8, ...new Array(11).fill(0), 3]) }] }),
  ];
  // a jumbogram: payload length 0, a jumbo option in HBH, the TCP segment longer than 65535 on the wire
  const j = buildTcp({ src: A6, dst: B6, srcPort: 1, dstPort: 2, flags: "P.", seq: 1, ack: 1, payload: 20, ipv6Extensions: [{ type: 0, body: new Uint8Array([0xc2, 4, ...be32(80060), 0, 0, 0, 0]).subarray(0, 6) }] });
  const jv = new DataView(j.buffer);
  jv.setUint16(4, 0);
  jv.setUint32(40 + 4, 80060);
  recs.push(j);
  const cut = buildUdp({ src: A6, dst: B6, srcPort: 1, dstPort: 2, payload: 100 });
  recs.push(cut.subarray(0, 60));
  check("ipv6", 101, recs, [0, 1, 2]);
});

protoTest("GRE v0 (key, seq, checksum; IPv4, IPv6, TEB inside) and v1 (PPTP), AH, ESP, IPIP, IPv6-in-IPv4", () => {
  const inner = buildIcmpEcho({ src: "10.0.0.1", dst: "10.0.0.2", id: 1, seq: 1 });
  const eth = buildEthernet({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", etherType: 0x0800 }, inner);
  const recs = [
    buildIp(47, bytes(0x00, 0x00, 0x08, 0x00, inner), { src: A, dst: B }),
    buildIp(47, bytes(0x30, 0x00, 0x08, 0x00, be32(0x1234), be32(77), inner), { src: A, dst: B }),
    buildIp(47, bytes(0x80, 0x00, 0x86, 0xdd, 0, 0, 0, 0, buildIcmpEcho({ src: A6, dst: B6, id: 2, seq: 2 })), { src: A, dst: B }),
    buildIp(47, bytes(0x20, 0x00, 0x65, 0x58, be32(5), eth), { src: A, dst: B }),
    buildIp(47, bytes(0x30, 0x81, 0x88, 0x0b, be16(4), be16(7), be32(3), be32(2), 0xff, 0x03, 0x00, 0x21, inner), { src: A, dst: B }),
    buildIp(47, bytes(0x20, 0x01, 0x88, 0x0b, be16(0), be16(7)), { src: A, dst: B }),
    buildIp(51, bytes(17, 4, 0, 0, be32(0x100), be32(5), new Array(12).fill(0xab), buildUdp({ src: A, dst: B, srcPort: 1, dstPort: 9, payload: 2 }).subarray(20)), { src: A, dst: B }),
    buildIp(50, bytes(be32(0x1000), be32(1), new Array(32).fill(9)), { src: A, dst: B }),
    buildIp(4, inner, { src: A, dst: B }),
    buildIp(41, buildIcmpEcho({ src: A6, dst: B6, id: 3, seq: 3 }), { src: A, dst: B }),
  ];
  check("gre/ipsec", 101, recs, [0, 1, 2]);
});

protoTest("VXLAN, Geneve (options with -v and -vv), OTV, BCM-LI, IKEv1/IKEv2 and NAT-T, BFD, VRRP, NTP, IGMP (default and -v)", () => {
  const inner = buildEthernet({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", etherType: 0x0800 }, buildIcmpEcho({ src: "10.0.0.1", dst: "10.0.0.2", id: 1, seq: 1 }));
  const ike = (ick: number, rck: number, ver: number, etype: number, flags: number, msgid: number) => bytes(be32(0), be32(ick), be32(0), be32(rck), 0, ver, etype, flags, be32(msgid), be32(28));
  const ntp = (b0: number) => bytes(b0, 2, 6, 0xec, be32(0x00010000), be32(0x00008000), 192, 0, 2, 1, be32(0xe8b13000), be32(0), be32(0xe8b13001), be32(0x80000000), be32(0xe8b13001), be32(0x80001000), be32(0xe8b13001), be32(0xc0000000));
  const bfd = (st: number) => bytes(0x20, st, 3, 24, be32(1), be32(2), be32(300000), be32(300000), be32(50000));
  const defaultOnly = [
    udp(500, 500, ike(1, 0, 0x10, 2, 0, 0)),
    udp(500, 500, ike(1, 2, 0x10, 2, 0, 0)),
    udp(500, 500, ike(3, 4, 0x20, 34, 0x08, 0)),
    udp(4500, 4500, bytes(0, 0, 0, 0, ike(5, 0, 0x10, 2, 0, 0))),
  ];
  const recs = [
    udp(4500, 4500, bytes(0xff)),
    udp(4500, 4500, bytes(be32(0x2000), be32(9), new Array(24).fill(1))),
    udp(40000, 4789, bytes(0x08, 0, 0, 0, 0, 0, 42, 0, inner)),
    udp(40000, 6081, bytes(0x02, 0, 0x65, 0x58, 0, 0, 42, 0, 0x01, 0x02, 0x80, 0x01, be32(0xdeadbeef), inner)),
    udp(40000, 6081, bytes(0x00, 0x40, 0x08, 0x00, 0, 0, 7, 0, buildIcmpEcho({ src: "10.0.0.1", dst: "10.0.0.2", id: 1, seq: 1 }))),
    udp(40000, 3784, bfd(0xc0)),
    udp(40000, 4784, bfd(0x40)),
    udp(40000, 3785, bytes(1, 2, 3, 4)),
    udp(40000, 8472, bytes(0x08, 0, 0, 0, 0, 0, 100, 0, inner)),
    udp(49152, 49153, bytes(be32((3 << 29) | (4 << 25) | (2 << 22) | 66666), buildIcmpEcho({ src: "10.0.0.1", dst: "10.0.0.2", id: 4, seq: 4 }))),
    udp(49152, 49153, bytes(be32((2 << 29) | (7 << 25) | (3 << 22) | 7), inner)),
    buildIp(112, bytes(0x21, 7, 100, 1, 0, 1, 0, 0, 192, 0, 2, 9, 0, 0, 0, 0, 0, 0, 0, 0), { src: A, dst: "224.0.0.18", ttl: 255 }),
    buildIp(112, bytes(0x31, 9, 200, 1, 0, 100, 0, 0, 192, 0, 2, 9), { src: A, dst: "224.0.0.18", ttl: 255 }),
    udp(123, 123, ntp(0x23)),
    udp(123, 40000, ntp(0x24)),
    udp(123, 40000, bytes(0x16, 0x02, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0)),
    buildIp(2, bytes(0x11, 100, 0, 0, 0, 0, 0, 0), { src: A, dst: "224.0.0.1", ttl: 1 }),
    buildIp(2, bytes(0x11, 50, 0, 0, 239, 1, 2, 3, 0x02, 125, 0, 1, 192, 0, 2, 9), { src: A, dst: "224.0.0.1", ttl: 1 }),
    buildIp(2, bytes(0x16, 0, 0, 0, 239, 1, 2, 3), { src: A, dst: "239.1.2.3", ttl: 1 }),
    buildIp(2, bytes(0x17, 0, 0, 0, 239, 1, 2, 3), { src: A, dst: "224.0.0.2", ttl: 1 }),
    buildIp(2, bytes(0x22, 0, 0, 0, 0, 0, 0, 2, 4, 0, 0, 1, 239, 1, 2, 3, 192, 0, 2, 9, 3, 0, 0, 0, 239, 1, 2, 4), { src: A, dst: "224.0.0.22", ttl: 1 }),
    buildIp(2, bytes(0x12, 0, 0, 0, 239, 1, 2, 3), { src: A, dst: "239.1.2.3", ttl: 1 }),
  ];
  // IGMP checksums: fill them (the builder fills only TCP/UDP/ICMP)
  check("udp/ip protocols", 101, recs, [0, 1, 2]);
  check("default-only protocols", 101, defaultOnly, [0]);
});

protoTest("DHCP with its options (-v, -vv, -vvv)", () => {
  const opt = (tag: number, data: number[]) => [tag, data.length, ...data];
  const dhcp = (op: number, opts: number[][]) =>
    bytes(op, 1, 6, 0, be32(0x3903f326), be16(3), be16(0x8000), 192, 0, 2, 5, 0, 0, 0, 0, 192, 0, 2, 1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 1, new Array(10).fill(0),
      ascii("server"), new Array(58).fill(0), new Array(128).fill(0), 0x63, 0x82, 0x53, 0x63, ...opts, 0, 0, 255);
  const recs = [
    udp(68, 67, dhcp(1, [opt(53, [1]), opt(55, [1, 3, 6, 15, 119, 252, 121]), opt(61, [1, 2, 0, 0, 0, 0, 1]), opt(12, ascii("laptop")), opt(81, [0x01, 0, 0, ...ascii("laptop.example")]), opt(57, be16(1500))])),
    udp(67, 68, dhcp(2, [opt(53, [5]), opt(54, [192, 0, 2, 1]), opt(51, be32(86400)), opt(1, [255, 255, 255, 0]), opt(3, [192, 0, 2, 1]), opt(6, [192, 0, 2, 53, 198, 51, 100, 53]),
      opt(15, ascii("example.com")), opt(121, [24, 198, 51, 100, 192, 0, 2, 1, 0, 192, 0, 2, 1]), opt(28, [192, 0, 2, 255]), opt(19, [0]), opt(46, [8]), opt(200, [1, 2, 3])])),
    udp(68, 67, dhcp(1, [opt(53, [3]), opt(50, [192, 0, 2, 5]), opt(77, [4, ...ascii("abcd")]), opt(82, [1, 3, ...ascii("eth"), 2, 2, 9, 9, 9, 1, 7]), opt(60, ascii("MSFT 5.0"))])),
    udp(68, 67, dhcp(1, [opt(53, [1])]).subarray(0, 260)),
  ];
  check("dhcp", 101, recs, [0, 1, 2, 3]);
});

protoTest("OSPF, PIM, DHCPv6, BGP at default verbosity; ARP, ATM ARP, PPPoE and Ethernet with -v and -e", () => {
  const dhcp = (op: number) => bytes(op, 1, 6, 0, be32(0x3903f326), be16(0), be16(0x8000), new Array(16).fill(0), 2, 0, 0, 0, 0, 1, new Array(10).fill(0), new Array(192).fill(0), 0x63, 0x82, 0x53, 0x63, 53, 1, 1, 255);
  const recs = [
    buildIp(89, bytes(2, 1, 0, 44, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, new Array(8).fill(0), 255, 255, 255, 0, 0, 10, 2, 1, 0, 0, 0, 40, new Array(8).fill(0)), { src: A, dst: "224.0.0.5", ttl: 1 }),
    buildIp(103, bytes(0x20, 0, 0, 0, 0, 1, 0, 2, 0, 105), { src: A, dst: "224.0.0.13", ttl: 1 }),
    udp(68, 67, dhcp(1)),
    udp(67, 68, dhcp(2)),
    udp(546, 547, bytes(1, 0x12, 0x34, 0x56, 0, 8, 0, 2, 0, 0), true),
    buildTcp({ src: A, dst: B, srcPort: 40000, dstPort: 179, flags: "P.", seq: 1, ack: 1, payload: bytes(new Array(16).fill(0xff), 0, 19, 4) }),
  ];
  check("default-only protocols 2", 101, recs, [0]);
  const mac = "02:00:00:00:00:01";
  const nsap = (k: number) => [0x47, ...new Array(18).fill(k), k + 0x10];
  const atmarp = (op: number, sha: number[], ssa: number[], spa: number[], tha: number[], tsa: number[], tpa: number[]) =>
    bytes(be16(19), be16(0x0800), sha.length, ssa.length, be16(op), spa.length, tha.length, tsa.length, tpa.length, sha, ssa, spa, tha, tsa, tpa);
  const eth = (t: number, p: Uint8Array, vlans?: { id: number; pcp?: number }[]) => buildEthernet({ src: mac, dst: "ff:ff:ff:ff:ff:ff", etherType: t, vlans }, p);
  const frames = [
    eth(0x0806, buildArp({ operation: 1, senderMac: mac, senderIp: A, targetIp: B })),
    eth(0x0806, buildArp({ operation: 2, senderMac: mac, senderIp: A, targetIp: B, targetMac: "02:00:00:00:00:02" })),
    eth(0x0800, buildUdp({ src: A, dst: B, srcPort: 1, dstPort: 9, payload: 4 }), [{ id: 10, pcp: 3 }]),
    eth(0x86dd, buildIcmpEcho({ src: A6, dst: B6, id: 1, seq: 1 })),
    eth(0x88b5, new Uint8Array(20)),
    eth(0x8863, bytes(0x11, 0x09, 0, 0, 0, 12, 0x01, 0x01, 0, 0, 0x01, 0x03, 0, 4, 1, 2, 3, 4)),
    eth(0x8863, bytes(0x11, 0x07, 0, 0, 0, 12, 0x01, 0x02, 0, 6, ...ascii("isp-ac"), 0, 0, 0, 0)),
    eth(0x8864, bytes(0x11, 0, 0, 0xc3, 0, 30, 0, 0x21, buildUdp({ src: A, dst: B, srcPort: 1, dstPort: 9, payload: 0 }))),
    // ATM ARP (hardware 19): request with a target number, reply with a subaddress, InATMARP, NAK,
    // an odd protocol length, a cut one
    eth(0x0806, atmarp(1, nsap(1), [], [192, 0, 2, 1], nsap(2), [], [192, 0, 2, 2])),
    eth(0x0806, atmarp(2, nsap(2), [9, 9, 9, 9], [192, 0, 2, 2], nsap(1), [], [192, 0, 2, 1])),
    eth(0x0806, atmarp(8, nsap(1), [], [192, 0, 2, 1], nsap(2), [], [0, 0, 0, 0])),
    eth(0x0806, atmarp(9, nsap(2), [], [192, 0, 2, 2], nsap(1), [], [192, 0, 2, 1])),
    eth(0x0806, atmarp(10, [], [], [192, 0, 2, 1], [], [], [192, 0, 2, 2])),
    eth(0x0806, atmarp(1, nsap(1), [], new Array(16).fill(1), [], [], [192, 0, 2, 2])),
    eth(0x0806, atmarp(1, nsap(1), [], [192, 0, 2, 1], nsap(2), [], [192, 0, 2, 2]).subarray(0, 30)),
  ];
  check("ethernet", 1, frames, [0, 1]);
  check("ethernet -e", 1, frames, [0, 1], true);
});

ttest("timestamps out of range in a file print as tcpdump prints them (the raw fraction, unnormalized; default, --nano, -tt)", () => {
  const dir = mkdtempSync(join(tmpdir(), "tkproto-"));
  try {
    const pkt = buildUdp({ src: A, dst: B, srcPort: 1, dstPort: 9, payload: 2 });
    for (const nano of [false, true]) {
      const fracs = nano ? [999_999_999, 1_000_000_000, 0x80000000, 0xffffffff] : [999_999, 1_000_000, 0x80000000, 0xffffffff];
      const w = new PcapWriter({ linkType: 101, nanosecond: nano });
      const file = new Uint8Array(Buffer.concat([w.header(), ...fracs.map((_, i) => w.record(pkt, { sec: 1418145369 + i, nsec: 0 }))]));
      // patch each record's fraction field to the raw value
      let at = 24;
      for (const f of fracs) {
        new DataView(file.buffer).setUint32(at + 4, f, true);
        at += 16 + new DataView(file.buffer).getUint32(at + 8, true);
      }
      const f = join(dir, nano ? "n.pcap" : "u.pcap");
      writeFileSync(f, file);
      for (const flags of [[], ["--nano"], ["-tt"]]) {
        const r = spawnSync("tcpdump", ["-n", ...flags, "-r", f], { encoding: "latin1" });
        let out = "";
        const plan = planDump([], { read: f, n: 1, q: true, nano: flags[0] === "--nano", t: flags[0] === "-tt" ? 2 : 0 }, { json: false, quiet: true });
        dumpCaptureBytes(file, plan, (s) => (out += s));
        expect({ nano, flags, out: out.split("\n") }).toEqual({ nano, flags, out: r.stdout.split("\n") });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("fuzz: the printers of every protocol above on truncated and mutated packets, -v 0..3, -e: no internal error, printable text", () => {
  collecting = [];
  let corpora: Corpus[] = [];
  try {
    for (const b of builders) b();
  } finally {
    corpora = collecting;
    collecting = undefined;
  }
  const seeds = corpora.flatMap((c) => c.recs.map((r) => ({ r, lt: c.linkType })));
  expect(seeds.length).toBeGreaterThan(100);
  const rnd = mulberry32(0xd13);
  let n = 0;
  for (let i = 0; i < 60_000; i++) {
    const s = seeds[Math.floor(rnd() * seeds.length)]!;
    const k = rnd();
    const input = k < 0.3 ? s.r.subarray(0, Math.floor(rnd() * (s.r.length + 1))) : k < 0.95 ? mutate(rnd, s.r) : randomBytes(rnd, 200);
    const wire = input.length + (rnd() < 0.2 ? Math.floor(rnd() * 3000) : 0);
    const r = printRecord(input, s.lt, wire, { v: Math.floor(rnd() * 4), e: rnd() < 0.3, S: rnd() < 0.5, suppressDefault: rnd() < 0.5 });
    if (r.internalError) throw new Error(`printer bug on ${Buffer.from(input).toString("hex")}: ${r.internalError}`);
    if (!/^[\t\n\x20-\x7e]*$/.test(r.text)) throw new Error(`non-printable text ${JSON.stringify(r.text)} on ${Buffer.from(input).toString("hex")}`);
    n++;
  }
  expect(n).toBe(60_000);
}, 120_000);
