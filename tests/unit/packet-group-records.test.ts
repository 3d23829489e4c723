// IGMPv3 and MLDv2 report group records (packet/print/group-records.ts) at -v and -vv, including
// tcpdump's words for an unknown record type and for counts the report is too short for.
import { describe, expect, test } from "bun:test";
import { printRecord } from "../../packet/print/index.ts";

const h = (s: string) => Uint8Array.from(s.replace(/\s+/g, "").match(/../g)!.map((x) => parseInt(x, 16)));
/** IPv4 to 224.0.0.22, protocol IGMP, around `p`. */
function ip4(p: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + p.length);
  b.set([0x45, 0, b.length >> 8, b.length & 255, 0, 0, 0, 0, 1, 2, 0, 0, 192, 0, 2, 1, 224, 0, 0, 22]);
  b.set(p, 20);
  return b;
}
/** IPv6 fe80::1 > ff02::16, next header ICMPv6, around `p`. */
function ip6(p: Uint8Array): Uint8Array {
  const b = new Uint8Array(40 + p.length);
  b.set([0x60, 0, 0, 0, p.length >> 8, p.length & 255, 58, 1]);
  b.set(h("fe800000000000000000000000000001 ff020000000000000000000000000016"), 8);
  b.set(p, 40);
  return b;
}
// Three records announced, two present: is_in with sources, an unknown type (9 / 7) without.
const igmp = h("22000000 00000003 01000002 ef010101 c0000205 c0000206 09000000 ef020202");
const mld = h("8f000000 00000003 01000001 ff050000000000000000000000000001 20010db8000000000000000000000005 07000000 ff050000000000000000000000000002");
const text = (pkt: Uint8Array, v: number) => printRecord(pkt, 101, pkt.length, { v, e: false, S: false }).text;

describe("report group records", () => {
  test("IGMPv3: counts at -v, sources at -vv, tcpdump's words for the rest", () => {
    expect(text(ip4(igmp), 1)).toContain("igmp v3 report, 3 group record(s) [gaddr 239.1.1.1 is_in, 2 source(s)] [gaddr 239.2.2.2  [v3-report-#9], 0 source(s)] [invalid number of groups]");
    expect(text(ip4(igmp), 2)).toContain("[gaddr 239.1.1.1 is_in { 192.0.2.5 192.0.2.6 }] [gaddr 239.2.2.2  [v3-report-#9] { }] [invalid number of groups]");
    expect(text(ip4(igmp.subarray(0, 20)), 1)).toContain("[gaddr 239.1.1.1 is_in [invalid number of sources 2]");
    expect(text(ip4(igmp), 0)).toContain("igmp v3 report, 3 group record(s)");
    expect(text(ip4(igmp), 0)).not.toContain("gaddr");
  });
  test("MLDv2: the same records with IPv6 addresses", () => {
    expect(text(ip6(mld), 1)).toContain("multicast listener report v2, 3 group record(s) [gaddr ff05::1 is_in, 1 source(s)] [gaddr ff05::2  [v2-report-#7], 0 source(s)] [invalid number of groups]");
    expect(text(ip6(mld), 2)).toContain("[gaddr ff05::1 is_in { 2001:db8::5 }] [gaddr ff05::2  [v2-report-#7] { }]");
    expect(text(ip6(mld.subarray(0, 30)), 1)).toContain("[gaddr ff05::1 is_in [invalid number of sources 1]");
  });
});
