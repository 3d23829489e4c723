// The UDP worker's flow tables (proxy/udp-worker.ts FastFlows): a flow is found by a tun packet's
// key bytes and by its relay's sockaddr, IPv4 and IPv6, also when every flow shares one bucket
// (mask 0), and a deleted flow is found by neither, whether it was the last one found or not.
import { describe, expect, test } from "bun:test";
import { FastFlows, flowKey } from "../../proxy/udp-worker.ts";
import { buildUdp } from "../../packet/build.ts";

/** sockaddr_in for 127.0.0.1:port, as recvmmsg writes it. */
function sa4(port: number): Uint8Array {
  return new Uint8Array([2, 0, port >> 8, port & 255, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
}

/** sockaddr_in6 for ::1:port. */
function sa6(port: number): Uint8Array {
  const b = new Uint8Array(28);
  b[0] = 10;
  b[2] = port >> 8;
  b[3] = port & 255;
  b[23] = 1;
  return b;
}

/** A packet of flow src:srcPort -> dst:dstPort and its flow key. */
function pkt(src: string, srcPort: number, dst: string, dstPort: number) {
  const p = buildUdp({ src, dst, srcPort, dstPort, payload: new TextEncoder().encode("q") });
  const v6 = p[0]! >> 4 === 6;
  const args: [number, number, number, number] = v6 ? [8, 24, 16, 40] : [12, 16, 4, 20];
  return { p, args, key: flowKey(p, ...args) };
}

for (const mask of [-1, 0]) {
  describe(`FastFlows (mask ${mask})`, () => {
    test("finds each flow by its tun key and by its relay, and forgets a deleted one", () => {
      const t = new FastFlows(mask);
      const a = pkt("10.0.0.2", 5000, "192.0.2.1", 53);
      const b = pkt("10.0.0.2", 5001, "192.0.2.1", 53);
      const c = pkt("fd00::2", 5000, "2001:db8::1", 53);
      const none = pkt("10.0.0.2", 5002, "192.0.2.1", 53);
      const none6 = pkt("fd00::2", 5000, "2001:db8::1", 54);
      const otherDst = pkt("10.0.0.2", 5000, "192.0.2.9", 53);
      const h = new Uint8Array(0);
      const fa = t.add(1, a.key, sa4(40000), h, h);
      const fb = t.add(2, b.key, sa4(40001), h, h);
      const fc = t.add(3, c.key, sa6(40000), h, h);
      expect(t.size).toBe(3);
      for (let round = 0; round < 2; round++) {
        expect(t.findTun(a.p, ...a.args)).toBe(fa);
        expect(t.findTun(b.p, ...b.args)).toBe(fb);
        expect(t.findTun(c.p, ...c.args)).toBe(fc);
        expect(t.findTun(none.p, ...none.args)).toBeUndefined();
        expect(t.findTun(none6.p, ...none6.args)).toBeUndefined();
        expect(t.findTun(otherDst.p, ...otherDst.args)).toBeUndefined();
        expect(t.findRelay(sa4(40001))).toBe(fb);
        expect(t.findRelay(sa4(40000))).toBe(fa);
        expect(t.findRelay(sa6(40000))).toBe(fc);
        expect(t.findRelay(sa4(40002))).toBeUndefined();
        expect(t.findRelay(sa6(40001))).toBeUndefined();
      }
      // b is the last found by neither table now; a is the last found by its tun key
      expect(t.findTun(a.p, ...a.args)).toBe(fa);
      t.del(2);
      t.del(1);
      expect(t.findTun(a.p, ...a.args)).toBeUndefined();
      expect(t.findTun(b.p, ...b.args)).toBeUndefined();
      expect(t.findRelay(sa4(40000))).toBeUndefined();
      expect(t.findRelay(sa4(40001))).toBeUndefined();
      expect(t.findTun(c.p, ...c.args)).toBe(fc);
      expect(t.findRelay(sa6(40000))).toBe(fc);
      // an id added again replaces its flow
      const fc2 = t.add(3, c.key, sa6(40005), h, h);
      expect(t.size).toBe(1);
      expect(t.findTun(c.p, ...c.args)).toBe(fc2);
      expect(t.findRelay(sa6(40000))).toBeUndefined();
      expect(t.findRelay(sa6(40005))).toBe(fc2);
    });
  });
}
