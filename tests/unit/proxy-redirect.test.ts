import { describe, expect, test } from "bun:test";
import { SEEN, TcpRedirect, VERDICT, tcpResetFor, icmpUnreachableFor, viewPacket, rewriteInPlace, type PacketView } from "../../proxy/tcp-redirect.ts";
import { FLOW } from "../../proxy/nat.ts";
import { buildTcp, buildUdp } from "../../packet/build.ts";
import { verifyIpv4Header, verifyTransport, transportChecksum, foldSum, onesSum, pseudoSum4, pseudoSum6 } from "../../packet/checksum.ts";
import { parseIp } from "../../common/addr.ts";
import { mulberry32, mutate, randomBytes } from "./_fuzz.ts";

const T4 = parseIp("198.18.0.1");
const F4 = parseIp("198.18.0.2");
const T6 = parseIp("fd54:4b::1");
const F6 = parseIp("fd54:4b::2");
const L = 4321;

function valid(p: Uint8Array): boolean {
  const v = {} as PacketView;
  if (!viewPacket(p, p.length, v)) return false;
  if (v.version === 4 && !verifyIpv4Header(p, 0)) return false;
  return verifyTransport(p, v.version, 0, v.l4, v.end - v.l4, v.proto);
}

function fields(p: Uint8Array) {
  const v = {} as PacketView;
  viewPacket(p, p.length, v);
  const n = v.version === 4 ? 4 : 16;
  const hex = (o: number) => Array.from(p.subarray(o, o + n));
  return { src: hex(v.srcOff), dst: hex(v.dstOff), sport: (p[v.l4]! << 8) | p[v.l4 + 1]!, dport: (p[v.l4 + 2]! << 8) | p[v.l4 + 3]! };
}

for (const fam of [4, 6] as const) {
  const client = fam === 4 ? "198.18.0.1" : "fd54:4b::1";
  const server = fam === 4 ? "198.51.100.7" : "2001:db8:2::7";
  const tun = fam === 4 ? T4 : T6;
  const fake = fam === 4 ? F4 : F6;
  describe(`system-stack rewrite, IPv${fam}`, () => {
    const mk = () => new TcpRedirect({ tun4: T4, fake4: F4, tun6: T6, fake6: F6 }, { port4: L, port6: L });

    test("SYN -> NEW, rewritten to F:id -> T:L with valid checksums; reply maps back to D:dp -> S:sp", () => {
      const r = mk();
      const syn = buildTcp({ src: client, dst: server, srcPort: 40000, dstPort: 80, seq: 1000, flags: "S", options: [{ name: "mss", value: 1460 }] });
      expect(r.process(syn, syn.length, 0)).toBe(VERDICT.NEW);
      const id = r.lastId;
      expect(fields(syn)).toEqual({ src: Array.from(fake), dst: Array.from(tun), sport: id, dport: L });
      expect(valid(syn)).toBe(true);
      // the SYN retransmitted while the proxy is dialled is dropped
      const again = buildTcp({ src: client, dst: server, srcPort: 40000, dstPort: 80, seq: 1000, flags: "S" });
      expect(r.process(again, again.length, 0)).toBe(VERDICT.DROP);
      // the listener's SYN-ACK is dropped until the flow is READY, then mapped back
      const synack = buildTcp({ src: fam === 4 ? "198.18.0.1" : "fd54:4b::1", dst: fam === 4 ? "198.18.0.2" : "fd54:4b::2", srcPort: L, dstPort: id, seq: 5, ack: 1001, flags: "S.", payload: 3 });
      expect(r.process(synack.slice(), synack.length, 0)).toBe(VERDICT.DROP);
      r.table.state[id] = FLOW.READY;
      const back = synack.slice();
      expect(r.process(back, back.length, 0)).toBe(VERDICT.WRITE);
      expect(fields(back)).toEqual({ src: Array.from(parseIp(server)), dst: Array.from(parseIp(client)), sport: 80, dport: 40000 });
      expect(valid(back)).toBe(true);
      // data from the client follows the flow
      const data = buildTcp({ src: client, dst: server, srcPort: 40000, dstPort: 80, seq: 1001, ack: 6, flags: "P.", payload: 1000 });
      expect(r.process(data, data.length, 0)).toBe(VERDICT.WRITE);
      expect(fields(data).sport).toBe(id);
      expect(valid(data)).toBe(true);
    });

    test("a finished flow lingers; a new SYN on the same 4-tuple gets a new NAT port", () => {
      const r = mk();
      const syn = () => buildTcp({ src: client, dst: server, srcPort: 40000, dstPort: 80, flags: "S" });
      const a = syn();
      r.process(a, a.length, 0);
      const id1 = r.lastId;
      r.table.state[id1] = FLOW.CLOSED;
      const ack = buildTcp({ src: client, dst: server, srcPort: 40000, dstPort: 80, flags: ".", seq: 9, ack: 9 });
      expect(r.process(ack, ack.length, 0)).toBe(VERDICT.WRITE); // late segment still reaches the kernel
      const b = syn();
      expect(r.process(b, b.length, 0)).toBe(VERDICT.NEW);
      expect(r.lastId).not.toBe(id1);
    });

    test("the listener's next sequence number and the flow's end are tracked: SYN-ACK, data, a retransmission of older bytes, a RST (not an end: lost ones are not resent), the FIN", () => {
      const r = mk();
      const tunText = fam === 4 ? "198.18.0.1" : "fd54:4b::1";
      const fakeText = fam === 4 ? "198.18.0.2" : "fd54:4b::2";
      const syn = buildTcp({ src: client, dst: server, srcPort: 40001, dstPort: 80, seq: 1000, flags: "S" });
      expect(r.process(syn, syn.length, 0)).toBe(VERDICT.NEW);
      const id = r.lastId;
      expect(r.seen[id]).toBe(0);
      r.table.state[id] = FLOW.OPEN;
      const fromListener = (seq: number, flags: string, payload = 0) => {
        const p = buildTcp({ src: tunText, dst: fakeText, srcPort: L, dstPort: id, seq, ack: 1001, flags, payload });
        expect(r.process(p, p.length, 0)).toBe(VERDICT.WRITE);
      };
      fromListener(0xfffffff0, "S.");
      expect(r.sndNxt[id]).toBe(0xfffffff1);
      expect(r.seen[id]).toBe(SEEN.SYN);
      fromListener(0xfffffff1, "P.", 100); // across the wrap
      expect(r.sndNxt[id]).toBe(0x55);
      fromListener(0xfffffff1, "P.", 50); // older bytes again: no step back
      expect(r.sndNxt[id]).toBe(0x55);
      fromListener(0x55, "R");
      expect(r.seen[id]).toBe(SEEN.SYN);
      fromListener(0x55, "F.");
      expect(r.sndNxt[id]).toBe(0x56);
      expect(r.seen[id]).toBe(SEEN.SYN | SEEN.END);
      // the client's RST is an end too; a new flow on the id starts with nothing seen
      r.table.state[id] = FLOW.CLOSED;
      const again = buildTcp({ src: client, dst: server, srcPort: 40001, dstPort: 80, seq: 5000, flags: "S" });
      expect(r.process(again, again.length, 0)).toBe(VERDICT.NEW);
      const id2 = r.lastId;
      expect(r.seen[id2]).toBe(0);
      r.table.state[id2] = FLOW.OPEN;
      const rst = buildTcp({ src: client, dst: server, srcPort: 40001, dstPort: 80, seq: 5001, flags: "R" });
      expect(r.process(rst, rst.length, 0)).toBe(VERDICT.WRITE);
      expect(r.seen[id2]).toBe(SEEN.END);
    });

    test("a segment of no flow -> RESET; the RST answers it per RFC 9293", () => {
      const r = mk();
      const ack = buildTcp({ src: client, dst: server, srcPort: 40001, dstPort: 80, seq: 7, ack: 12345, flags: "P.", payload: 10 });
      expect(r.process(ack.slice(), ack.length, 0)).toBe(VERDICT.RESET);
      const rst = tcpResetFor(ack, ack.length)!;
      expect(valid(rst)).toBe(true);
      expect(fields(rst)).toEqual({ src: Array.from(parseIp(server)), dst: Array.from(parseIp(client)), sport: 80, dport: 40001 });
      const v = {} as PacketView;
      viewPacket(rst, rst.length, v);
      expect(new DataView(rst.buffer).getUint32(v.l4 + 4)).toBe(12345); // seq = their ack
      expect(rst[v.l4 + 13]).toBe(0x04);
      const syn = buildTcp({ src: client, dst: server, srcPort: 40001, dstPort: 80, seq: 99, flags: "S" });
      const r2 = tcpResetFor(syn, syn.length)!;
      expect(new DataView(r2.buffer).getUint32(v.l4 + 8)).toBe(100); // ack = seq + 1
      expect(r2[v.l4 + 13]).toBe(0x14);
      const rstIn = buildTcp({ src: client, dst: server, srcPort: 40001, dstPort: 80, flags: "R" });
      expect(r.process(rstIn, rstIn.length, 0)).toBe(VERDICT.DROP);
      expect(tcpResetFor(rstIn, rstIn.length)).toBeUndefined();
    });

    test("UDP and other protocols are classified, not rewritten", () => {
      const r = mk();
      const u = buildUdp({ src: client, dst: server, srcPort: 5, dstPort: 53, payload: 4 });
      const copy = u.slice();
      expect(r.process(u, u.length, 0)).toBe(VERDICT.UDP);
      expect(u).toEqual(copy);
      const icmp = icmpUnreachableFor(u, u.length, "prohibited")!;
      expect(valid(icmp)).toBe(true);
      expect(icmp[fam === 4 ? 20 : 40]).toBe(fam === 4 ? 3 : 1);
      expect(icmp[fam === 4 ? 21 : 41]).toBe(fam === 4 ? 13 : 1);
    });
  });
}

describe("rewriteInPlace", () => {
  test("incremental checksums equal a full recomputation (seeded, 20k packets, TCP and UDP)", () => {
    const rnd = mulberry32(11);
    const scratch = new Uint8Array(32);
    for (let i = 0; i < 20_000; i++) {
      const v6 = rnd() < 0.5;
      const addr = () => (v6 ? `2001:db8::${Math.floor(rnd() * 0xffff).toString(16)}` : `192.0.2.${Math.floor(rnd() * 256)}`);
      const spec = { src: addr(), dst: addr(), srcPort: Math.floor(rnd() * 65536), dstPort: Math.floor(rnd() * 65536), payload: randomBytes(rnd, 64) };
      const p = rnd() < 0.5 ? buildTcp({ ...spec, flags: "P.", seq: Math.floor(rnd() * 2 ** 32) }) : buildUdp(spec);
      const v = {} as PacketView;
      expect(viewPacket(p, p.length, v)).toBe(true);
      const ns = parseIp(addr());
      const nd = parseIp(addr());
      rewriteInPlace(p, v, ns, 0, Math.floor(rnd() * 65536), nd, 0, Math.floor(rnd() * 65536), scratch);
      expect(valid(p)).toBe(true);
      const csOff = v.proto === 6 ? v.l4 + 16 : v.l4 + 6;
      const full = transportChecksum(p, v.version, 0, v.l4, v.end - v.l4, v.proto);
      expect(((p[csOff]! << 8) | p[csOff + 1]!) === full || (full === 0xffff && p[csOff] === 0 && p[csOff + 1] === 0)).toBe(true);
    }
  }, 60_000); // seconds of work: a loaded 2-core machine needs more than the default 5 s
});

describe("fuzz: process never throws and never writes a broken packet", () => {
  test("random and mutated packets (seeded, 50k)", () => {
    const rnd = mulberry32(12);
    const r = new TcpRedirect({ tun4: T4, fake4: F4, tun6: T6, fake6: F6 }, { port4: L, port6: L });
    const seeds = [
      buildTcp({ src: "198.18.0.1", dst: "198.51.100.7", srcPort: 1, dstPort: 80, flags: "S" }),
      buildTcp({ src: "198.18.0.1", dst: "198.18.0.2", srcPort: L, dstPort: 10000, flags: "S.", payload: 20 }),
      buildTcp({ src: "fd54:4b::1", dst: "2001:db8::1", srcPort: 1, dstPort: 80, flags: "P.", payload: 30 }),
      buildUdp({ src: "198.18.0.1", dst: "198.51.100.7", srcPort: 1, dstPort: 53, payload: 12 }),
    ];
    let written = 0;
    for (let i = 0; i < 50_000; i++) {
      const p = rnd() < 0.2 ? randomBytes(rnd, 120) : mutate(rnd, seeds[Math.floor(rnd() * seeds.length)]!);
      const before = p.slice();
      const wasValid = valid(before);
      const verdict = r.process(p, p.length, 0);
      if (verdict === VERDICT.WRITE || verdict === VERDICT.NEW) {
        written++;
        // a packet that was valid stays valid; an invalid one stays invalid (the kernel drops it)
        expect(valid(p.subarray(0, r.view.end))).toBe(wasValid && valid(before.subarray(0, r.view.end)));
      } else if (verdict !== VERDICT.RESET) {
        expect(p).toEqual(before);
      }
      if (rnd() < 0.01) r.table.forEach((id) => (r.table.state[id] = FLOW.OPEN));
    }
    expect(written).toBeGreaterThan(1000);
  });

  test("a partial checksum (vnet_hdr NEEDS_CSUM) gets the new pseudo header and completes to a valid packet (seeded, 5k)", () => {
    const rnd = mulberry32(12);
    const scratch = new Uint8Array(32);
    const pseudo = (p: Uint8Array, v: PacketView) =>
      foldSum(v.version === 4 ? pseudoSum4(p, 0, 6, v.end - v.l4) : pseudoSum6(p, 0, 6, v.end - v.l4));
    for (let i = 0; i < 5_000; i++) {
      const v6 = rnd() < 0.5;
      const addr = () => (v6 ? `2001:db8::${Math.floor(rnd() * 0xffff).toString(16)}` : `192.0.2.${Math.floor(rnd() * 256)}`);
      const p = buildTcp({ src: addr(), dst: addr(), srcPort: Math.floor(rnd() * 65536), dstPort: Math.floor(rnd() * 65536), payload: randomBytes(rnd, 64), flags: "P." });
      const v = {} as PacketView;
      expect(viewPacket(p, p.length, v)).toBe(true);
      const cs = v.l4 + 16;
      // What the kernel hands over with CHECKSUM_PARTIAL: the folded pseudo-header sum, uncomplemented.
      const before = pseudo(p, v);
      p[cs] = before >> 8;
      p[cs + 1] = before & 0xff;
      rewriteInPlace(p, v, parseIp(addr()), 0, Math.floor(rnd() * 65536), parseIp(addr()), 0, Math.floor(rnd() * 65536), scratch, true);
      const field = (p[cs]! << 8) | p[cs + 1]!;
      const want = pseudo(p, v);
      // 0 and 0xffff are the same number in ones' complement.
      expect(field === want || field + want === 0xffff).toBe(true);
      // Complete it as the kernel or a NIC would: sum from the transport header on, complement.
      const done = ~foldSum(onesSum(p, v.l4, v.end)) & 0xffff;
      p[cs] = done >> 8;
      p[cs + 1] = done & 0xff;
      expect(valid(p)).toBe(true);
      if (v.version === 4) expect(verifyIpv4Header(p, 0)).toBe(true);
    }
  });
});

describe("NAT port reuse: sustained new connections", () => {
  /** `rate` new flows a second for `secs` (simulated), each closed at once by our side (TIME_WAIT 60 s); how many got a RST. */
  function sustain(listeners: number, rate: number, secs: number): number {
    const r = new TcpRedirect({ tun4: T4, fake4: F4 }, { port4: Array.from({ length: listeners }, (_, i) => 5000 + i) });
    let resets = 0;
    const n = rate * secs;
    for (let k = 0; k < n; k++) {
      const now = (k / rate) * 1000;
      // distinct 4-tuples: client port and server address vary
      const syn = buildTcp({ src: "198.18.0.1", dst: `198.51.100.${1 + (k % 200)}`, srcPort: 1024 + ((k >> 3) % 60000), dstPort: 80, flags: "S" });
      const v = r.process(syn, syn.length, now);
      if (v === VERDICT.RESET) {
        resets++;
        continue;
      }
      expect(v).toBe(VERDICT.NEW);
      const id = r.lastId;
      // the listener port written into the SYN is the flow's listener
      expect(fields(syn).dport).toBe(5000 + r.listener[id]!);
      r.coolDown(id, now, 60_000); // our side closed first: this (id, listener) pair sits out TIME_WAIT
      r.table.remove(id); // the entry itself goes (after a short linger in the tunnel)
    }
    return resets;
  }
  test("one listener caps near ids / TIME_WAIT (55,536 / 60 s = 925/s): 2,000/s gets RSTs", () => {
    expect(sustain(1, 2000, 65)).toBeGreaterThan(10_000);
  }, 60_000);
  test("four listeners: 3,000 new connections/s for 65 s (past the first TIME_WAIT), every one accepted", () => {
    expect(sustain(4, 3000, 65)).toBe(0);
  }, 60_000);
});
