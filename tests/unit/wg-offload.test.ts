// wg/offload.ts: the fast one's-complement sum against packet/checksum.ts (RFC 1071, byte-wise),
// TSO super-packets cut into segments that packet/checksum.ts verifies, partial checksums
// completed as the kernel leaves them (NEEDS_CSUM), and TCP GRO: trains coalesced only when the
// kernel's rules allow, flows kept in order, the super-packet re-cut equal to what went in.
import { describe, expect, test } from "bun:test";
import { buildTcp, buildUdp } from "../../packet/build.ts";
import { foldSum, onesSum, pseudoSum4, pseudoSum6, verifyIpv4Header, verifyTransport, PROTO_TCP, PROTO_UDP } from "../../packet/checksum.ts";
import { Summer, TcpGro, VNET, VNET_HDR_LEN, finishNonGso, readVnetHdr, tsoSplit, writeVnetHdr, type VnetHdr } from "../../wg/offload.ts";

const rng = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 2 ** 24;

const hdr = (): VnetHdr => ({ flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 });

/** A TSO super-packet as the kernel hands it: checksum field = folded pseudo-header sum. */
function superPacket(v6: boolean, payload: number, opts: { seq?: number; flags?: string; ts?: boolean } = {}) {
  const data = new Uint8Array(payload);
  const r = rng(payload);
  for (let i = 0; i < payload; i++) data[i] = (r() * 256) | 0;
  const pkt = buildTcp({
    src: v6 ? "2001:db8::1" : "192.0.2.1",
    dst: v6 ? "2001:db8::2" : "192.0.2.2",
    srcPort: 40000,
    dstPort: 5201,
    seq: opts.seq ?? 0xfffff000, // wraps mid-burst
    ack: 77,
    flags: opts.flags ?? "P.",
    ipId: 0xfffe,
    df: true,
    options: opts.ts === false ? [] : [{ name: "nop" }, { name: "nop" }, { name: "timestamp", tsval: 1234, tsecr: 5678 }],
    payload: data,
  });
  const ipLen = v6 ? 40 : 20;
  const l4 = pkt.length - ipLen;
  const ps = foldSum(v6 ? pseudoSum6(pkt, 0, PROTO_TCP, l4) : pseudoSum4(pkt, 0, PROTO_TCP, l4));
  pkt[ipLen + 16] = ps >> 8;
  pkt[ipLen + 17] = ps & 0xff;
  return { pkt, data, ipLen };
}

describe("Summer: the fast sum equals RFC 1071's byte-wise sum", () => {
  test("any offset parity, any length, up to 64 KiB, with a seed", () => {
    const buf = new Uint8Array(70_000);
    const r = rng(7);
    for (let i = 0; i < buf.length; i++) buf[i] = (r() * 256) | 0;
    for (const view of [buf, buf.subarray(1), buf.subarray(3)]) {
      const sm = new Summer(view);
      for (const off of [0, 1, 2, 6, 51]) {
        for (const len of [0, 1, 2, 3, 15, 16, 17, 1368, 1369, 8191 * 2 + 1, 65535, 65536]) {
          if (off + len > view.length) continue;
          const seed = 0x1234 + len;
          expect(sm.sum(off, len, seed)).toBe(foldSum(onesSum(view, off, off + len, seed)));
        }
      }
    }
  });

  test("all-ones data folds to 0xffff, never 0", () => {
    const sm = new Summer(new Uint8Array(4096).fill(0xff));
    expect(sm.sum(0, 4096, 0)).toBe(0xffff);
  });
});

describe("virtio_net_hdr", () => {
  test("little-endian fields round-trip", () => {
    const b = new Uint8Array(10);
    writeVnetHdr(b, 0, VNET.F_NEEDS_CSUM, VNET.GSO_TCPV6, 72, 1348, 40, 16);
    expect([...b]).toEqual([1, 4, 72, 0, 0x44, 5, 40, 0, 16, 0]);
    expect(readVnetHdr(b, 0, hdr())).toEqual({ flags: 1, gsoType: 4, hdrLen: 72, gsoSize: 1348, csumStart: 40, csumOffset: 16 });
  });
});

describe("TSO: super-packets cut into segments", () => {
  for (const v6 of [false, true]) {
    test(`TCP over IPv${v6 ? 6 : 4}: each segment valid, payload and sequence continuous, PSH only at the end`, () => {
      const mss = 1000;
      const { pkt, data, ipLen } = superPacket(v6, 4 * mss + 321);
      const h: VnetHdr = { flags: VNET.F_NEEDS_CSUM, gsoType: v6 ? VNET.GSO_TCPV6 : VNET.GSO_TCPV4, hdrLen: ipLen + 32, gsoSize: mss, csumStart: ipLen, csumOffset: 16 };
      const out = new Uint8Array(32_768);
      out.set(pkt, 16_384);
      const lens = new Int32Array(64);
      const stride = 1100;
      const n = tsoSplit(out, 16_384, pkt.length, h, new Summer(out), 8, stride, lens);
      expect(n).toBe(5);
      const got: number[] = [];
      for (let k = 0; k < 5; k++) {
        const o = 8 + k * stride;
        const len = lens[k]!;
        expect(len).toBe(ipLen + 32 + (k < 4 ? mss : 321));
        if (v6) expect((out[o + 4]! << 8) | out[o + 5]!).toBe(len - 40);
        else {
          expect((out[o + 2]! << 8) | out[o + 3]!).toBe(len);
          expect((out[o + 4]! << 8) | out[o + 5]!).toBe((0xfffe + k) & 0xffff); // ids follow on, wrapping
          expect(verifyIpv4Header(out, o)).toBe(true);
        }
        expect(verifyTransport(out, v6 ? 6 : 4, o, o + ipLen, len - ipLen, PROTO_TCP)).toBe(true);
        const t = o + ipLen;
        const seq = ((out[t + 4]! << 24) | (out[t + 5]! << 16) | (out[t + 6]! << 8) | out[t + 7]!) >>> 0;
        expect(seq).toBe((0xfffff000 + k * mss) >>> 0);
        expect(out[t + 13]! & 0x08).toBe(k === 4 ? 0x08 : 0);
        expect([...out.subarray(t + 20, t + 32)]).toEqual([...pkt.subarray(ipLen + 20, ipLen + 32)]); // options kept
        got.push(...out.subarray(t + 32, o + len));
      }
      expect(Uint8Array.from(got)).toEqual(data);
    });
  }

  test("malformed headers are refused, never thrown", () => {
    const { pkt } = superPacket(false, 3000);
    const out = new Uint8Array(8192 + 4096);
    const S = 8192;
    out.set(pkt, S);
    const lens = new Int32Array(64);
    const base: VnetHdr = { flags: 1, gsoType: VNET.GSO_TCPV4, hdrLen: 52, gsoSize: 1000, csumStart: 20, csumOffset: 16 };
    const sm = new Summer(out);
    expect(tsoSplit(out, S, pkt.length, { ...base, gsoType: VNET.GSO_UDP_L4 }, sm, 0, 1100, lens)).toBe("unsupported");
    expect(tsoSplit(out, S, pkt.length, { ...base, gsoType: VNET.GSO_TCPV6 }, sm, 0, 1100, lens)).toBe("badHeader");
    expect(tsoSplit(out, S, pkt.length, { ...base, csumStart: 60000 }, sm, 0, 1100, lens)).toBe("badHeader");
    expect(tsoSplit(out, S, pkt.length, { ...base, gsoSize: 0 }, sm, 0, 1100, lens)).toBe("badHeader");
    expect(tsoSplit(out, S, pkt.length, { ...base, csumOffset: 6 }, sm, 0, 1100, lens)).toBe("badHeader");
    expect(tsoSplit(out, S, pkt.length, { ...base, gsoSize: 10 }, sm, 0, 1100, lens)).toBe("badHeader"); // 300 segments
    expect(tsoSplit(out, S, pkt.length, base, sm, 0, 4000, lens)).toBe("badHeader"); // runs into the source
    expect(tsoSplit(out, S, pkt.length, base, sm, S + 100, 1100, lens)).toBe("badHeader"); // does not fit
    expect(tsoSplit(out, S, 30, base, sm, 0, 1100, lens)).toBe("badHeader");
  });

  test("a partial checksum (NEEDS_CSUM without GSO) is completed, TCP and UDP, both families", () => {
    for (const v6 of [false, true]) {
      for (const udp of [false, true]) {
        const spec = { src: v6 ? "2001:db8::1" : "192.0.2.1", dst: v6 ? "2001:db8::2" : "192.0.2.2", srcPort: 5353, dstPort: 53 };
        const pkt = udp ? buildUdp({ ...spec, payload: 101 }) : buildTcp({ ...spec, flags: "P.", payload: 101 });
        const ipLen = v6 ? 40 : 20;
        const field = ipLen + (udp ? 6 : 16);
        const proto = udp ? PROTO_UDP : PROTO_TCP;
        const l4 = pkt.length - ipLen;
        const ps = foldSum(v6 ? pseudoSum6(pkt, 0, proto, l4) : pseudoSum4(pkt, 0, proto, l4));
        pkt[field] = ps >> 8;
        pkt[field + 1] = ps & 0xff;
        expect(verifyTransport(pkt, v6 ? 6 : 4, 0, ipLen, l4, proto)).toBe(false);
        const h: VnetHdr = { flags: VNET.F_NEEDS_CSUM, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: ipLen, csumOffset: udp ? 6 : 16 };
        expect(finishNonGso(pkt, 0, pkt.length, h, new Summer(pkt))).toBe(true);
        expect(verifyTransport(pkt, v6 ? 6 : 4, 0, ipLen, l4, proto)).toBe(true);
      }
    }
    const p = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, payload: 4 });
    expect(finishNonGso(p, 0, p.length, { flags: 1, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 30, csumOffset: 6 }, new Summer(p))).toBe(false);
  });
});

describe("TCP GRO", () => {
  /** Segments of a super-packet, each in its own buffer with 10 bytes of room before it. */
  function segments(v6: boolean, n: number, mss: number, opts: { seq?: number; flags?: string; short?: number } = {}) {
    const { pkt, ipLen } = superPacket(v6, n * mss - (opts.short ?? 17), opts);
    const h: VnetHdr = { flags: 1, gsoType: v6 ? VNET.GSO_TCPV6 : VNET.GSO_TCPV4, hdrLen: ipLen + 32, gsoSize: mss, csumStart: ipLen, csumOffset: 16 };
    const stride = mss + 200;
    const S = n * stride + 64;
    const out = new Uint8Array(S + pkt.length);
    out.set(pkt, S);
    const lens = new Int32Array(64);
    expect(tsoSplit(out, S, pkt.length, h, new Summer(out), VNET_HDR_LEN, stride, lens)).toBe(n);
    return Array.from({ length: n }, (_, k) => {
      const b = new Uint8Array(lens[k]! + VNET_HDR_LEN);
      b.set(out.subarray(k * stride + VNET_HDR_LEN, k * stride + VNET_HDR_LEN + lens[k]!), VNET_HDR_LEN);
      return b;
    });
  }
  const capture = () => {
    const writes: Uint8Array[] = [];
    const gro = new TcpGro((buf, off, len) => writes.push(buf.slice(off, off + len)));
    return { gro, writes };
  };

  for (const v6 of [false, true]) {
    test(`IPv${v6 ? 6 : 4}: a train becomes one super-packet that re-cuts into the same segments`, () => {
      const segs = segments(v6, 6, 1000);
      const { gro, writes } = capture();
      for (const s of segs) gro.push(s, 0, s.length - VNET_HDR_LEN);
      expect(writes.length).toBe(0);
      gro.flush();
      expect(writes.length).toBe(1);
      const w = writes[0]!;
      const h = readVnetHdr(w, 0, hdr());
      const ipLen = v6 ? 40 : 20;
      expect(h).toEqual({ flags: VNET.F_NEEDS_CSUM, gsoType: v6 ? VNET.GSO_TCPV6 : VNET.GSO_TCPV4, hdrLen: ipLen + 32, gsoSize: 1000, csumStart: ipLen, csumOffset: 16 });
      const pkt = w.subarray(VNET_HDR_LEN);
      if (!v6) expect(verifyIpv4Header(pkt, 0)).toBe(true);
      // What the kernel does with it: cut it again; the segments must equal the originals.
      const out = new Uint8Array(16_384 + pkt.length);
      out.set(pkt, 16_384);
      const lens = new Int32Array(64);
      expect(tsoSplit(out, 16_384, pkt.length, h, new Summer(out), 0, 1500, lens)).toBe(6);
      for (let k = 0; k < 6; k++) {
        const mine = out.subarray(k * 1500, k * 1500 + lens[k]!);
        const orig = segs[k]!.subarray(VNET_HDR_LEN);
        if (!v6) {
          // The IPv4 id of the re-cut segments follows the first; the originals did the same.
          expect([...mine.subarray(0, 20)]).toEqual([...orig.subarray(0, 20)]);
        }
        expect([...mine]).toEqual([...orig]);
      }
      expect(gro.stats).toEqual({ writes: 1, coalesced: 1, segments: 6 });
    });
  }

  test("flows are kept apart, and each flow's order holds", () => {
    const a = segments(false, 3, 1000);
    const b = segments(false, 3, 1000, { seq: 5 });
    for (const s of b) s[VNET_HDR_LEN + 20 + 1] = 0x99; // another source port
    const { gro, writes } = capture();
    for (let i = 0; i < 3; i++) {
      gro.push(a[i]!, 0, a[i]!.length - VNET_HDR_LEN);
      gro.push(b[i]!, 0, b[i]!.length - VNET_HDR_LEN);
    }
    gro.flush();
    expect(writes.length).toBe(2);
    expect(writes.map((w) => w[1])).toEqual([VNET.GSO_TCPV4, VNET.GSO_TCPV4]);
  });

  test("what must not coalesce is written alone: out of order, SYN/FIN, other options, no payload, non-TCP", () => {
    const segs = segments(false, 4, 1000);
    const { gro, writes } = capture();
    // 0, 2 (a gap), 1: nothing joins, and the flow's order is the arrival order.
    for (const i of [0, 2, 1]) gro.push(segs[i]!, 0, segs[i]!.length - VNET_HDR_LEN);
    gro.flush();
    expect(writes.length).toBe(3);
    expect(writes.every((w) => w[0] === 0 && w[1] === 0)).toBe(true);
    const seqOf = (w: Uint8Array) => new DataView(w.buffer, w.byteOffset).getUint32(VNET_HDR_LEN + 24);
    expect(writes.map(seqOf)).toEqual([0, 2, 1].map((k) => (0xfffff000 + k * 1000) >>> 0));

    writes.length = 0;
    const fin = segments(false, 2, 1000, { flags: "F." });
    gro.push(fin[0]!, 0, fin[0]!.length - VNET_HDR_LEN);
    gro.push(fin[1]!, 0, fin[1]!.length - VNET_HDR_LEN); // carries FIN: not coalesced, written after the first
    gro.flush();
    expect(writes.length).toBe(2);
    expect(writes[1]![VNET_HDR_LEN + 33]! & 1).toBe(1);

    writes.length = 0;
    const ts = segments(false, 2, 1000);
    ts[1]![VNET_HDR_LEN + 20 + 27] = ts[1]![VNET_HDR_LEN + 20 + 27]! ^ 1; // a different timestamp
    for (const s of ts) gro.push(s, 0, s.length - VNET_HDR_LEN);
    gro.flush();
    expect(writes.length).toBe(2);

    writes.length = 0;
    const ack = buildTcp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, flags: ".", seq: 1, ack: 1 });
    const udp = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 1, dstPort: 2, payload: 10 });
    for (const p of [ack, udp, ack]) {
      const b = new Uint8Array(p.length + VNET_HDR_LEN).fill(0xee);
      b.set(p, VNET_HDR_LEN);
      gro.push(b, 0, p.length);
    }
    gro.flush();
    expect(writes.length).toBe(3);
    expect(writes.every((w) => w.subarray(0, VNET_HDR_LEN).every((x) => x === 0))).toBe(true);
  });

  test("a PSH segment ends the train; a shorter segment can only be the last", () => {
    const segs = segments(false, 5, 1000);
    segs[1]![VNET_HDR_LEN + 33] = 0x18; // PSH on the second
    const { gro, writes } = capture();
    for (const s of segs) gro.push(s, 0, s.length - VNET_HDR_LEN);
    gro.flush();
    // [0,1] coalesced (PSH kept), [2,3,4] coalesced (4 is the short last one).
    expect(writes.length).toBe(2);
    expect(writes[0]![VNET_HDR_LEN + 33]! & 0x08).toBe(0x08);
    expect(writes.map((w) => w.length - VNET_HDR_LEN)).toEqual([20 + 32 + 2000, 20 + 32 + 2983]);
  });

  test("never past 64 KiB", () => {
    const segs = [...segments(false, 40, 1400, { short: 0 }), ...segments(false, 20, 1400, { seq: (0xfffff000 + 40 * 1400) >>> 0 })];
    const { gro, writes } = capture();
    for (const s of segs) gro.push(s, 0, s.length - VNET_HDR_LEN);
    gro.flush();
    expect(writes.length).toBe(2);
    expect(writes.every((w) => w.length - VNET_HDR_LEN <= 65535)).toBe(true);
    expect(gro.stats.segments).toBe(60);
  });
});
