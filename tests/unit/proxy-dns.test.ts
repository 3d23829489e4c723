import { describe, expect, test } from "bun:test";
import { decodeDnsQuery, encodeDnsResponse, answerFakeIp, dnsErrorResponse, FakeIpPool, FakeIp6Pool, DNS_RCODE } from "../../proxy/dns.ts";
import { decodeDns } from "../../packet/dns.ts";
import ipaddr from "ipaddr.js";
import { fromHex } from "../../common/hex.ts";
import { UsageError, TruncatedError, MalformedError } from "../../common/errors.ts";
import { mulberry32, mutate, randomBytes } from "./_fuzz.ts";

// dig web.example.test A (id 0x1234, RD), as bytes
const Q = fromHex("1234 0100 0001 0000 0000 0000 03776562076578616d706c650474657374 00 0001 0001");
const qOf = (name: string, type: number) => {
  const labels = name.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]);
  return Uint8Array.from([0xab, 0xcd, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, type >> 8, type & 0xff, 0, 1]);
};

describe("DNS query codec", () => {
  test("decodes the question, lower-cases the name", () => {
    expect(decodeDnsQuery(Q)).toEqual({ id: 0x1234, flags: 0x0100, opcode: 0, name: "web.example.test", type: 1, class: 1, questionEnd: 34 });
    expect(decodeDnsQuery(qOf("WeB.Example.TEST", 28)).name).toBe("web.example.test");
  });
  test("responses decode with packet/dns.ts (an independent decoder)", () => {
    const q = decodeDnsQuery(Q);
    const r = encodeDnsResponse(Q, q, 0, [{ type: 1, ttl: 1, data: new Uint8Array([198, 18, 1, 0]) }]);
    const d = decodeDns(r, 0, r.length)!;
    expect(d).toMatchObject({ id: 0x1234, response: true, rcode: 0, flags: { rd: true, ra: true }, question: { name: "web.example.test.", type: 1 } });
    expect(d.answers).toEqual([{ name: "web.example.test.", type: 1, class: 1, ttl: 1, data: "198.18.1.0" }]);
    expect(decodeDns(dnsErrorResponse(Q, DNS_RCODE.SERVFAIL)!, 0, 34)!.rcode).toBe(2);
    expect(dnsErrorResponse(new Uint8Array(5), 2)).toBeUndefined();
  });
  test("bad queries: typed errors (responses, no question, pointers, truncation, fuzz)", () => {
    const resp = Q.slice();
    resp[2] = resp[2]! | 0x80;
    expect(() => decodeDnsQuery(resp)).toThrow(MalformedError);
    const none = Q.slice();
    none[5] = 0;
    expect(() => decodeDnsQuery(none)).toThrow(MalformedError);
    const ptr = fromHex("1234 0100 0001 0000 0000 0000 c00c 0001 0001");
    expect(() => decodeDnsQuery(ptr)).toThrow(MalformedError);
    expect(() => decodeDnsQuery(Q.subarray(0, 20))).toThrow(TruncatedError);
    const rnd = mulberry32(9);
    for (let i = 0; i < 30_000; i++) {
      const b = rnd() < 0.5 ? mutate(rnd, Q) : randomBytes(rnd, 64);
      try {
        decodeDnsQuery(b);
      } catch (e) {
        expect(e instanceof TruncatedError || e instanceof MalformedError).toBe(true);
      }
      const a = answerFakeIp(b, new FakeIpPool(), new FakeIp6Pool()); // never throws
      expect(a.response).toBeInstanceOf(Uint8Array);
    }
  }, 60_000); // the fuzz runs ~50k inputs: seconds on a loaded 2-core machine
});

describe("fake-ip", () => {
  test("A gets a pool address that maps back to the name; other types get NOERROR, no answer", () => {
    const pool = new FakeIpPool();
    const a = answerFakeIp(Q, pool);
    expect(a.address).toBe("198.18.1.0");
    expect(pool.nameFor("198.18.1.0")).toBe("web.example.test");
    expect(decodeDns(a.response, 0, a.response.length)!.answers[0]!.data).toBe("198.18.1.0");
    expect(answerFakeIp(qOf("other.example", 1), pool).address).toBe("198.18.1.1");
    expect(answerFakeIp(Q, pool).address).toBe("198.18.1.0"); // stable
    const aaaa = answerFakeIp(qOf("web.example.test", 28), pool);
    expect(decodeDns(aaaa.response, 0, aaaa.response.length)).toMatchObject({ rcode: 0, answerCount: 0 });
    const bad = answerFakeIp(qOf("a b", 1), pool);
    expect(decodeDns(bad.response, 0, bad.response.length)!.rcode).toBe(DNS_RCODE.REFUSED);
    expect(pool.containsAt(new Uint8Array([198, 19, 255, 1]), 0)).toBe(true);
    expect(pool.containsAt(new Uint8Array([198, 20, 0, 1]), 0)).toBe(false);
  });
  test("a full pool recycles the least recently used name", () => {
    const p = new FakeIpPool("192.0.2.0/29"); // first 4 reserved, .4 .5 .6 usable (.7 broadcast)
    expect([p.addressFor("a"), p.addressFor("b"), p.addressFor("c")]).toEqual(["192.0.2.4", "192.0.2.5", "192.0.2.6"]);
    expect(p.nameFor("192.0.2.4")).toBe("a"); // touch a: b is now the oldest
    expect(p.addressFor("d")).toBe("192.0.2.5");
    expect(p.nameFor("192.0.2.5")).toBe("d");
    expect(p.addressFor("b")).toBe("192.0.2.6"); // c was the oldest then
    expect(p.size).toBe(3);
  });
  test("bad pools are usage errors", () => {
    for (const c of ["198.18.0.0", "2001:db8::/64", "10.0.0.0/31", "10.0.0.0/30", "x/8", "010.0.0.0/8", "198.18.0.0/015"]) expect(() => new FakeIpPool(c)).toThrow(UsageError);
    expect(() => new FakeIpPool("010.0.0.0/8")).toThrow('leading zero in "010"');
    for (const c of ["fe80::%eth0/64", "::ffff:010.0.0.0/104", "198.18.0.0/15", "fd00::"]) expect(() => new FakeIp6Pool(c)).toThrow(UsageError);
    expect(() => new FakeIp6Pool("fe80::%eth0/64")).toThrow('zone index "%eth0"');
    // names are looked up by strict address text only
    expect(new FakeIpPool("192.0.2.0/29").nameFor("192.0.2.04")).toBeUndefined();
    expect(new FakeIp6Pool("2001:db8::/125").nameFor("2001:db8::4%eth0")).toBeUndefined();
  });
});

describe("IPv6 fake-ip", () => {
  const AAAA = 28;
  test("AAAA gets an address of the v6 pool, encoded so packet/dns.ts reads it back; A still v4", () => {
    const pool = new FakeIpPool();
    const pool6 = new FakeIp6Pool();
    expect(pool6.cidr).toBe("fdfe:dcba:9876::/48");
    const r = answerFakeIp(qOf("web.example.test", AAAA), pool, pool6);
    expect(r.address).toBe("fdfe:dcba:9876::100"); // the first 256 stay free for the tun
    const d = decodeDns(r.response, 0, r.response.length)!;
    expect(d).toMatchObject({ id: 0xabcd, response: true, rcode: 0, answerCount: 1, question: { name: "web.example.test.", type: AAAA } });
    expect(d.answers).toEqual([{ name: "web.example.test.", type: AAAA, class: 1, ttl: 1, data: "fdfe:dcba:9876::100" }]);
    // the answer's RDATA: 16 bytes, RDLENGTH 16
    const rd = r.response.subarray(r.response.length - 18);
    expect([...rd]).toEqual([0, 16, 0xfd, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
    expect(pool6.nameFor("fdfe:dcba:9876::100")).toBe("web.example.test");
    expect(answerFakeIp(qOf("web.example.test", 1), pool, pool6).address).toBe("198.18.1.0"); // A: the v4 pool
    expect(answerFakeIp(qOf("other.example", AAAA), pool, pool6).address).toBe("fdfe:dcba:9876::101");
    expect(answerFakeIp(qOf("WEB.example.test", AAAA), pool, pool6).address).toBe("fdfe:dcba:9876::100"); // stable
    expect(pool6.size).toBe(2);
    // other types still get no answer; without a v6 pool AAAA gets none either
    const mx = answerFakeIp(qOf("web.example.test", 15), pool, pool6);
    expect([mx.address, decodeDns(mx.response, 0, mx.response.length)!.answerCount]).toEqual([undefined, 0]);
    const none = answerFakeIp(qOf("web.example.test", AAAA), pool);
    expect([none.address, decodeDns(none.response, 0, none.response.length)!.answerCount]).toEqual([undefined, 0]);
  });
  test("name <-> address both ways, from text and from packet bytes", () => {
    const p = new FakeIp6Pool("fd00:1:2:3::/64");
    const names = Array.from({ length: 300 }, (_, i) => `h${i}.example`);
    const addrs = names.map((n) => p.addressFor(n));
    expect(addrs[0]).toBe("fd00:1:2:3::100");
    expect(addrs[299]).toBe("fd00:1:2:3::22b");
    expect(new Set(addrs).size).toBe(300);
    for (let i = 0; i < 300; i++) {
      expect(p.nameFor(addrs[i]!)).toBe(names[i]);
      const pkt = new Uint8Array(40);
      pkt.set(ipaddr.IPv6.parse(addrs[i]!).toByteArray(), 24); // an IPv6 header's destination
      expect(p.containsAt(pkt, 24)).toBe(true);
      expect(p.nameFor(pkt, 24)).toBe(names[i]);
    }
    expect(p.nameFor("fd00:1:2:3:0:0:0:100")).toBe("h0.example"); // any spelling
    expect(p.nameFor("fd00:1:2:3::ff")).toBeUndefined(); // reserved, never handed out
    expect(p.nameFor("fd00:1:2:3::1:100")).toBeUndefined(); // in the prefix, not allocated
    expect(p.nameFor("fd00:1:2:4::100")).toBeUndefined(); // outside
    expect(p.nameFor("198.18.1.0")).toBeUndefined();
    expect(p.nameFor("not an address")).toBeUndefined();
    expect(p.nameFor(new Uint8Array(10))).toBeUndefined(); // too short
    const b = Uint8Array.from(ipaddr.IPv6.parse("fd00:1:2:3:ffff::").toByteArray());
    expect(p.containsAt(b, 0)).toBe(true);
    b[7] = 4;
    expect(p.containsAt(b, 0)).toBe(false);
  });
  test("prefixes that end inside a byte", () => {
    const p = new FakeIp6Pool("fd00:abcd:ef80::/41");
    expect(p.cidr).toBe("fd00:abcd:ef80::/41");
    const at = (t: string) => p.containsAt(Uint8Array.from(ipaddr.IPv6.parse(t).toByteArray()), 0);
    expect([at("fd00:abcd:ef80::1"), at("fd00:abcd:efff:ffff::1"), at("fd00:abcd:ef7f::1"), at("fd00:abcd:ee80::1")]).toEqual([true, true, false, false]);
    expect(new FakeIp6Pool("fd00::1234/112").cidr).toBe("fd00::/112"); // host bits dropped
  });
  test("a full pool recycles the least recently used name (small prefix, and the name limit)", () => {
    const p = new FakeIp6Pool("2001:db8::/125"); // 8 addresses, first 4 reserved: ::4 .. ::7
    expect(["a", "b", "c", "d"].map((n) => p.addressFor(n))).toEqual(["2001:db8::4", "2001:db8::5", "2001:db8::6", "2001:db8::7"]);
    expect(p.nameFor("2001:db8::4")).toBe("a"); // touch a: b is now the oldest
    expect(p.addressFor("e")).toBe("2001:db8::5");
    expect(p.nameFor("2001:db8::5")).toBe("e");
    expect(p.addressFor("b")).toBe("2001:db8::6"); // c was the oldest then
    expect(p.nameFor("2001:db8::6")).toBe("b");
    expect(p.size).toBe(4);
    // a huge prefix holds at most `limit` names, then wraps onto the oldest
    const q = new FakeIp6Pool("fdfe:dcba:9876::/48", { limit: 3 });
    expect(["x", "y", "z", "w"].map((n) => q.addressFor(n))).toEqual(["fdfe:dcba:9876::100", "fdfe:dcba:9876::101", "fdfe:dcba:9876::102", "fdfe:dcba:9876::100"]);
    expect([q.nameFor("fdfe:dcba:9876::100"), q.size]).toEqual(["w", 3]);
    // seeded churn: the mapping stays a bijection over the live names
    const rnd = mulberry32(21);
    const r = new FakeIp6Pool("fd00::/120", { reserve: 0 });
    for (let i = 0; i < 5000; i++) {
      const n = `n${Math.floor(rnd() * 400)}`;
      const a = r.addressFor(n);
      expect(r.nameFor(a)).toBe(n);
    }
    expect(r.size).toBe(256);
  });
  test("bad v6 pools are usage errors", () => {
    for (const c of ["fdfe::", "198.18.0.0/15", "fdfe::/126", "fdfe::/7", "x/48", "fdfe::/129"]) expect(() => new FakeIp6Pool(c)).toThrow(UsageError);
    expect(() => new FakeIp6Pool("fdfe::/48", { limit: 0 })).toThrow('Invalid IPv6 fake-ip pool limit "0"');
    expect(() => new FakeIp6Pool("fdfe::/125", { reserve: 8 })).toThrow("no address left");
  });
});

describe("DNS over TCP framing", () => {
  test("messages split and joined anyhow come out whole, in order; the length prefix is big-endian", async () => {
    const { DnsTcpFramer, frameDnsTcp } = await import("../../proxy/dns.ts");
    const msgs = [new Uint8Array(0), new Uint8Array(300).fill(7), new Uint8Array([1, 2, 3])];
    const wire = new Uint8Array(msgs.reduce((n, m) => n + 2 + m.length, 0));
    let p = 0;
    for (const m of msgs) {
      wire.set(frameDnsTcp(m), p);
      p += 2 + m.length;
    }
    expect(Array.from(frameDnsTcp(new Uint8Array(300)).subarray(0, 2))).toEqual([1, 44]);
    for (const cut of [1, 2, 3, 7, 301, wire.length]) {
      const f = new DnsTcpFramer();
      const got: Uint8Array[] = [];
      for (let i = 0; i < wire.length; i += cut) got.push(...f.push(wire.subarray(i, i + cut)));
      expect(got).toEqual(msgs);
    }
  });
});
