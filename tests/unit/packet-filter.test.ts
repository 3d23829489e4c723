// Filter language: parse errors with positions, tcpdump precedence, matching over raw bytes.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { UsageError } from "../../common/errors.ts";
import { fromHex } from "../../common/hex.ts";
import { buildArp, buildEthernet, buildIcmpEcho, buildIp, buildTcp, buildUdp } from "../../packet/build.ts";
import { compileFilter, parseFilter } from "../../packet/filter.ts";
import type { LinkType } from "../../packet/types.ts";

const errs: [string, string][] = [
  ["tcp and", 'Invalid filter "tcp and": expected a primitive after "and" at column 8'],
  ["", 'Invalid filter "": empty expression at column 1'],
  ["host 1.2.3", 'Invalid filter "host 1.2.3": "1.2.3" is not an IP address (host names are not resolved) at column 6'],
  ["(tcp", 'Invalid filter "(tcp": expected ")" for the "(" opened at column 1, at column 5'],
  ["tcp)", 'Invalid filter "tcp)": unmatched ")" at column 4'],
  ["port 70000", 'Invalid filter "port 70000": "70000" is not a port number (0..65535) at column 6'],
  ["net 10.0.0.1/8", 'Invalid filter "net 10.0.0.1/8": "10.0.0.1/8" has host bits set beyond /8 at column 5'],
  ["icmp port 5", 'Invalid filter "icmp port 5": "port" applies to tcp or udp, not "icmp" at column 6'],
  ["src", 'Invalid filter "src": expected "host", "net" or "port" after "src" at column 4'],
  ["not", 'Invalid filter "not": expected a primitive after "not" at column 4'],
  ["tcp or or udp", 'Invalid filter "tcp or or udp": expected a primitive after "or" at column 8'],
  ["tcp $", 'Invalid filter "tcp $": unexpected character "$" at column 5'],
  ["ip host 2001:db8::1", 'Invalid filter "ip host 2001:db8::1": "2001:db8::1" is not an IPv4 address at column 9'],
  ["tcp udp", 'Invalid filter "tcp udp": unexpected "udp" at column 5'],
];

test("parse errors are UsageError with the column", () => {
  for (const [expr, msg] of errs) {
    let err: unknown;
    try {
      parseFilter(expr);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe(msg);
  }
});

test("precedence: not > and > or; && || ! spellings", () => {
  const s = (e: string) => JSON.stringify(parseFilter(e), (_k, v) => (v instanceof Uint8Array ? [...v].join(".") : v));
  expect(s("tcp or udp and icmp")).toBe(s("tcp or (udp and icmp)"));
  expect(s("not tcp and udp")).toBe(s("(not tcp) and udp"));
  expect(s("!tcp && udp || icmp")).toBe(s("((not tcp) and udp) or icmp"));
  expect(s("port 53 or 80")).toBe(s("port 53 or port 80"));
  expect(s("src host 192.0.2.1 or 192.0.2.2")).toBe(s("src host 192.0.2.1 or src host 192.0.2.2"));
});

const A = "192.0.2.1", B = "192.0.2.2", A6 = "2001:db8::1", B6 = "2001:db8::2";
const P: Record<string, [Uint8Array, LinkType]> = {
  ping: [buildIcmpEcho({ src: A, dst: B }), "raw"],
  ping6: [buildIcmpEcho({ src: A6, dst: B6 }), "raw"],
  dns: [buildUdp({ src: A, dst: B, srcPort: 5353, dstPort: 53 }), "raw"],
  ssh6: [buildTcp({ src: A6, dst: B6, srcPort: 40000, dstPort: 22, ipv6Extensions: [{ type: 0, body: new Uint8Array(4) }] }), "raw"],
  http: [buildEthernet({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", etherType: 0x0800, vlans: [{ id: 5 }] }, buildTcp({ src: "198.51.100.9", dst: A, srcPort: 80, dstPort: 50000 })), "ethernet"],
  arp: [buildEthernet({ src: "02:00:00:00:00:01", dst: "ff:ff:ff:ff:ff:ff", etherType: 0x0806 }, buildArp({ operation: 1, senderMac: "02:00:00:00:00:01", senderIp: A, targetIp: B })), "ethernet"],
  frag2: [buildIp(17, new Uint8Array(16), { src: A, dst: B, fragmentOffset: 8 }, false), "raw"],
};

function matching(expr: string): string[] {
  const f = compileFilter(expr);
  return Object.entries(P).filter(([, [b, lt]]) => f.match(b, lt)).map(([n]) => n).sort();
}

test("matches over raw bytes", () => {
  expect(matching("icmp")).toEqual(["ping"]);
  expect(matching("icmp6")).toEqual(["ping6"]);
  expect(matching("ip")).toEqual(["dns", "frag2", "http", "ping"]);
  expect(matching("ip6")).toEqual(["ping6", "ssh6"]);
  expect(matching("arp")).toEqual(["arp"]);
  expect(matching("tcp")).toEqual(["http", "ssh6"]);
  expect(matching("udp")).toEqual(["dns", "frag2"]);
  expect(matching("port 53")).toEqual(["dns"]);
  expect(matching("udp dst port 53")).toEqual(["dns"]);
  expect(matching("src port 53")).toEqual([]);
  expect(matching("tcp port 22 or port 80")).toEqual(["http", "ssh6"]);
  expect(matching(`host ${A}`)).toEqual(["arp", "dns", "frag2", "http", "ping"]);
  expect(matching(`src host ${A}`)).toEqual(["arp", "dns", "frag2", "ping"]);
  expect(matching(`dst host ${A}`)).toEqual(["http"]);
  expect(matching(`ip host ${A} and not arp`)).toEqual(["dns", "frag2", "http", "ping"]);
  expect(matching("net 198.51.100.0/24")).toEqual(["http"]);
  expect(matching("net 2001:db8::/32 and tcp")).toEqual(["ssh6"]);
  expect(matching("src and dst net 192.0.2.0/24")).toEqual(["arp", "dns", "frag2", "ping"]);
  expect(matching("not (tcp or udp)")).toEqual(["arp", "ping", "ping6"]);
  expect(matching(`host ${A6} && !icmp6`)).toEqual(["ssh6"]);
});

test("filters never throw on hostile bytes (golden corpus, every prefix)", () => {
  const golden = JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/packet/golden.json"), "utf8")).packets as Array<{ hex: string; linkType: LinkType }>;
  const f = compileFilter("(tcp or udp or icmp or icmp6 or arp) and (port 53 or host 192.0.2.1 or net 2001:db8::/32)");
  let n = 0;
  for (const g of golden) {
    const b = fromHex(g.hex);
    for (let i = 0; i <= b.length; i += 3) {
      f.match(b.subarray(0, i), g.linkType);
      n++;
    }
  }
  expect(n).toBeGreaterThan(1000);
});
