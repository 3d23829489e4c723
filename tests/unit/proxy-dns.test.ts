import { describe, expect, test } from "bun:test";
import { decodeDnsQuery, encodeDnsResponse, answerFakeIp, dnsErrorResponse, FakeIpPool, DNS_RCODE } from "../../proxy/dns.ts";
import { decodeDns } from "../../packet/dns.ts";
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
      const a = answerFakeIp(b, new FakeIpPool()); // never throws
      expect(a.response).toBeInstanceOf(Uint8Array);
    }
  });
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
    for (const c of ["198.18.0.0", "2001:db8::/64", "10.0.0.0/31", "x/8"]) expect(() => new FakeIpPool(c)).toThrow(UsageError);
  });
});
