// decode(): layered values of real and built packets, truncation/malformed marking, bounds.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fromHex } from "../../common/hex.ts";
import { buildIcmpEcho, buildIp, buildTcp, buildUdp } from "../../packet/build.ts";
import { decode } from "../../packet/decode.ts";
import { toJSON } from "../../packet/format.ts";

const golden = JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/packet/golden.json"), "utf8")).packets as Array<{
  name: string;
  linkType: "raw" | "ethernet";
  hex: string;
}>;
const G = (name: string) => {
  const p = golden.find((g) => g.name === name);
  if (!p) throw new Error(`no golden packet ${name}`);
  return decode(fromHex(p.hex), p.linkType);
};

test("real ping on a veth: Ethernet, IPv4, ICMP echo with verified checksums", () => {
  const p = G("real-icmp-echo-request");
  expect(p.ethernet).toEqual({ offset: 0, dst: "42:5e:d0:0e:68:c6", src: "5e:e5:1b:7f:05:b7", vlans: [], etherType: 0x0800, headerLength: 14 });
  expect(p.ipv4).toMatchObject({ offset: 14, headerLength: 20, totalLength: 84, ttl: 64, protocol: 1, src: "192.0.2.1", dst: "192.0.2.2", checksumValid: true, flags: { df: true, mf: false, reserved: false } });
  expect(p.icmp).toMatchObject({ offset: 34, type: 8, code: 0, id: 3378, seq: 1, length: 64, checksumValid: true });
  expect(p.truncated).toBeUndefined();
  expect(p.malformed).toBeUndefined();
});

test("TCP SYN options: mss, sackOK, timestamps, nop, wscale", () => {
  const p = G("real-tcp-syn");
  expect(p.tcp).toMatchObject({ srcPort: 38616, dstPort: 22, seq: 2917788039, ack: 0, syn: true, ackFlag: false, window: 64240, headerLength: 40, payloadLength: 0 });
  // captured on the sending side of a veth: checksum offload leaves a partial sum
  expect(p.tcp!.checksumValid).toBe(false);
  expect(p.tcp!.options).toEqual([
    { type: 2, name: "mss", length: 4, value: 1460 },
    { type: 4, name: "sackOK", length: 2 },
    { type: 8, name: "timestamp", length: 10, tsval: 1590368437, tsecr: 0 },
    { type: 1, name: "nop", length: 1 },
    { type: 3, name: "wscale", length: 3, value: 10 },
  ]);
});

test("SACK blocks", () => {
  expect(G("tcp-sack").tcp!.options[2]).toEqual({ type: 5, name: "sack", length: 10, blocks: [[2917788046, 2917788050]] });
});

test("loopback TCP carries partial checksums (offload): decoded as checksumValid false", () => {
  expect(G("real-lo-tcp-syn").tcp!.checksumValid).toBe(false);
});

test("ARP request and reply", () => {
  expect(G("real-arp-request").arp).toEqual({
    offset: 14, hardwareType: 1, protocolType: 0x800, hardwareLength: 6, protocolLength: 4, operation: 1,
    senderHardware: "5e:e5:1b:7f:05:b7", senderProtocol: "192.0.2.1", targetHardware: "00:00:00:00:00:00", targetProtocol: "192.0.2.2",
  });
  expect(G("real-arp-reply").arp!.operation).toBe(2);
});

test("802.1Q and QinQ tags", () => {
  expect(G("eth-vlan-icmp").ethernet!.vlans).toEqual([{ tpid: 0x8100, pcp: 0, dei: false, id: 10 }]);
  const q = G("eth-qinq-udp");
  expect(q.ethernet!.vlans.map((v) => [v.tpid, v.id, v.pcp])).toEqual([[0x88a8, 100, 3], [0x8100, 10, 0]]);
  expect(q.ethernet!.headerLength).toBe(22);
  expect(q.udp!.dstPort).toBe(2000);
});

test("IPv4 fragments: only the first decodes L4, no L4 checksum verdict", () => {
  const first = G("real-ipv4-frag-first");
  expect(first.ipv4!.flags.mf).toBe(true);
  expect(first.icmp!.type).toBe(8);
  expect(first.icmp!.checksumValid).toBeUndefined();
  const middle = G("real-ipv4-frag-middle");
  expect(middle.ipv4!.fragmentOffset).toBe(1480);
  expect(middle.icmp).toBeUndefined();
  expect(middle.payload).toEqual({ offset: 34, length: 1480 });
});

test("IPv6 fragment header and extension walk", () => {
  const f = G("real-ipv6-frag-first");
  expect(f.ipv6!.extensions).toEqual([{ type: 44, name: "fragment", offset: 54, length: 8, nextHeader: 58, fragmentOffset: 0, more: true, id: 0x407283cd }]);
  expect(f.ipv6!.protocol).toBe(58);
  expect(f.icmpv6!.type).toBe(128);
  const m = G("ipv6-frag-middle");
  expect(m.ipv6!.fragment).toEqual({ offset: 1448, more: true, id: 0x1234 });
  expect(m.icmpv6).toBeUndefined();
  const hbh = G("real-mld-report-hbh");
  expect(hbh.ipv6!.extensions[0]).toMatchObject({ name: "hop-by-hop", length: 8, options: [{ type: 5, length: 2 }] });
  expect(hbh.icmpv6).toMatchObject({ type: 143, groupRecords: 2, checksumValid: true });
});

test("neighbour discovery: target and link-layer options", () => {
  const ns = G("real-neighbor-solicit");
  expect(ns.icmpv6).toMatchObject({ type: 135, target: "2001:db8::2", options: [{ type: 1, length: 8, linkAddress: "5e:e5:1b:7f:05:b7" }], checksumValid: true });
  const na = G("real-neighbor-advert");
  expect(na.icmpv6).toMatchObject({ type: 136, target: "2001:db8::2", naFlags: { router: false, solicited: true, override: true } });
  const ra = G("icmp6-router-advert");
  expect(ra.icmpv6!.routerAdvert).toMatchObject({ curHopLimit: 64, routerLifetime: 1800 });
  expect(ra.icmpv6!.options!.map((o) => o.type)).toEqual([3, 5]);
  expect(ra.icmpv6!.options![0]!.prefix).toMatchObject({ prefix: "2001:db8::", prefixLength: 64, onLink: true, autonomous: true });
  expect(ra.icmpv6!.options![1]!.mtu).toBe(1500);
});

test("ICMP errors quote the offending header and ports", () => {
  const u = G("real-lo-icmp-port-unreach");
  expect(u.icmp!.quoted).toMatchObject({ protocol: 17, dstPort: 9, ipv4: { dst: "127.0.0.1" } });
  const u6 = G("real-icmp6-port-unreach");
  expect(u6.icmpv6!.quoted).toMatchObject({ protocol: 17, dstPort: 9, ipv6: { dst: "2001:db8::2" } });
  expect(G("icmp-need-frag").icmp!.mtu).toBe(1400);
  expect(G("icmp-redirect").icmp!.gateway).toBe("198.51.100.2");
});

test("DNS summaries: query, answers, hostile names escaped, pointer loops bounded", () => {
  expect(G("real-lo-dns-query").dns).toMatchObject({ id: 4660, response: false, opcode: 0, questionCount: 1, question: { name: "example.com.", type: 1, class: 1 } });
  expect(G("real-lo-dns-response").dns).toMatchObject({ id: 4660, response: true, rcode: 0, answerCount: 1, answers: [{ name: "example.com.", type: 1, ttl: 3600, data: "93.184.216.34" }] });
  expect(G("dns-response-cname").dns!.answers.map((a) => a.data)).toEqual(["web.example.com.", "192.0.2.80"]);
  expect(G("dns-hostile-name").dns!.question!.name).toBe("a^J^[M-i^?.");
  const loop = G("dns-pointer-loop");
  expect(loop.dns!.malformed).toContain("loop");
  expect(loop.malformed).toContain("loop");
  expect(G("dns-tcp-query").dns!.question!.name).toBe("example.com.");
});

test("truncated captures keep every layer decoded so far", () => {
  const t = G("trunc-tcp-in-options");
  expect(t.truncated).toBe(true);
  expect(t.tcp!.optionsTruncated).toBe(true);
  expect(t.tcp!.options.map((o) => o.name)).toEqual(["mss", "sackOK", "timestamp"]);
  const h = G("trunc-tcp-header");
  expect(h.truncated).toBe(true);
  expect(h.tcp).toBeUndefined();
  expect(h.ports).toEqual({ srcPort: 1, dstPort: 2 });
  expect(G("trunc-ipv4-header")).toEqual({ linkType: "raw", length: 12, ipVersion: 4, truncated: true, truncatedLayer: "ipv4" });
});

test("malformed packets are marked with a reason and decoded as far as possible", () => {
  expect(G("malformed-tcp-doff").malformed).toBe('Invalid TCP header length "12": expected 20..60');
  expect(G("malformed-udp-length").malformed).toContain('Invalid UDP length "200"');
  expect(G("malformed-ipv4-ihl").malformed).toBe('Invalid IPv4 header length "16": expected 20..60');
  expect(G("raw-bad-version").malformed).toBe('Invalid IP version "5": expected 4 or 6');
  expect(G("malformed-tcp-option").malformed).toContain("TCP option 2");
});

test("IPv6 extension headers are walked with a bound", () => {
  const exts = Array.from({ length: 20 }, () => ({ type: 60 as const, body: new Uint8Array(4) }));
  const p = decode(buildUdp({ src: "2001:db8::1", dst: "2001:db8::2", srcPort: 1, dstPort: 2, ipv6Extensions: exts }), "raw");
  expect(p.malformed).toBe("Too many IPv6 extension headers: more than 16");
  expect(p.ipv6!.extensions.length).toBe(16);
});

test("bad checksums are marked, good ones verified", () => {
  const b = buildTcp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, seq: 1 });
  expect(decode(b, "raw").tcp!.checksumValid).toBe(true);
  b[36]! ^= 0xff;
  expect(decode(b, "raw").tcp!.checksumValid).toBe(false);
  b[10]! ^= 1;
  expect(decode(b, "raw").ipv4!.checksumValid).toBe(false);
  const u = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, payload: 3 });
  u[26] = u[27] = 0; // no checksum over IPv4 is allowed
  expect(decode(u, "raw").udp!.checksumValid).toBe(true);
  const u6 = buildUdp({ src: "2001:db8::1", dst: "2001:db8::2", srcPort: 1, dstPort: 2, payload: 3 });
  u6[46] = u6[47] = 0; // ...over IPv6 it is not
  expect(decode(u6, "raw").udp!.checksumValid).toBe(false);
});

test("never throws on any prefix of a real packet, and the JSON form is stable", () => {
  const b = fromHex(golden.find((g) => g.name === "real-tcp-syn")!.hex);
  for (let n = 0; n <= b.length; n++) {
    const p = decode(b.subarray(0, n), "ethernet");
    expect(JSON.parse(JSON.stringify(toJSON(p)))).toEqual(toJSON(p));
    if (n < b.length) expect(p.truncated).toBe(true);
  }
  expect(Object.keys(toJSON(decode(buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2" }), "raw")))).toEqual(["linkType", "length", "ipVersion", "ipv4", "icmp"]);
});

test("unknown protocols keep their payload location", () => {
  const p = decode(buildIp(253, new Uint8Array(12), { src: "192.0.2.1", dst: "192.0.2.2" }), "raw");
  expect(p.payload).toEqual({ offset: 20, length: 12 });
  expect(p.ipv4!.protocol).toBe(253);
});
