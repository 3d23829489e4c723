// The ring-to-pcap fast path (tun/sniff-pcap.ts) against the per-packet writer (PcapSink.write)
// on the same packets: TPACKET_V3 blocks laid out in memory as the kernel lays them out (raw IP
// at tp_mac 96, Ethernet at 82, an odd offset), stripped VLAN tags, cooked sockets' non-IP
// packets, snaplen cuts, more records in a block than one writev takes, -c limits. Both files
// must be byte for byte the same. And PcapSink.writeIov: records after buffered ones, EBADF.
import { expect, test } from "bun:test";
import { mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PcapSink, IOV_MAX } from "../../tun/capture-file.ts";
import { RingPcapWriter, warmUpRingWriter } from "../../tun/sniff-pcap.ts";
import { CaptureWriter } from "../../tun/capture-rotate.ts";
import { RxRing } from "../../tun/sniff-ring.ts";
import { numberOfDFGCompiles } from "bun:jsc";
import { addrValue } from "../../ffi/libc.ts";
import { readPcap } from "../../packet/pcap.ts";

const dir = mkdtempSync(join(tmpdir(), "tk-sniffpcap-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

interface FakePacket {
  data: Uint8Array;
  /** tp_len (defaults to data.length) */
  wire?: number;
  sec: number;
  nsec: number;
  /** tp_mac: where the bytes start after the packet's header */
  mac: number;
  /** sll_protocol */
  proto?: number;
  vlan?: { tci: number; tpid?: number };
}

const BLOCK = 1 << 20;

/** A ring of `blocks` laid out as the kernel does (linux/if_packet.h, TPACKET_V3). */
function fakeRing(blocks: FakePacket[][]): RxRing {
  const bytes = new Uint8Array(new ArrayBuffer(BLOCK * blocks.length));
  const u32 = new Uint32Array(bytes.buffer);
  const u16 = new Uint16Array(bytes.buffer);
  blocks.forEach((pkts, bi) => {
    const base = bi * BLOCK;
    u32[(base >>> 2) + 2] = 1; // TP_STATUS_USER
    u32[(base >>> 2) + 3] = pkts.length;
    u32[(base >>> 2) + 4] = 48;
    let off = base + 48;
    pkts.forEach((p, i) => {
      const q = off >>> 2;
      const next = (p.mac + p.data.length + 15) & ~15;
      u32[q] = i === pkts.length - 1 ? 0 : next;
      u32[q + 1] = p.sec;
      u32[q + 2] = p.nsec;
      u32[q + 3] = p.data.length;
      u32[q + 4] = p.wire ?? p.data.length;
      u32[q + 5] = 1 | (p.vlan ? 1 << 4 : 0) | (p.vlan?.tpid ? 1 << 6 : 0);
      u16[(off >>> 1) + 12] = p.mac;
      u32[q + 8] = p.vlan?.tci ?? 0;
      u16[(off >>> 1) + 18] = p.vlan?.tpid ?? 0;
      bytes[off + 50] = (p.proto ?? 0x0800) >> 8;
      bytes[off + 51] = (p.proto ?? 0x0800) & 0xff;
      bytes.set(p.data, off + p.mac);
      off += next;
    });
  });
  const ring = {
    bytes, u32, u16,
    geometry: { blockSize: BLOCK, blockCount: blocks.length },
    blockPackets: (base: number) => u32[(base >>> 2) + 3]!,
    blockFirst: (base: number) => base + u32[(base >>> 2) + 4]!,
  };
  return ring as unknown as RxRing;
}

/** What the per-packet path makes of a packet: the VLAN tag put back, the on-wire length. */
function expected(p: FakePacket): { data: Uint8Array; wire: number } {
  const wire = p.wire ?? p.data.length;
  if (!p.vlan || p.data.length < 12) return { data: p.data, wire };
  const tpid = p.vlan.tpid || 0x8100;
  const out = new Uint8Array(p.data.length + 4);
  out.set(p.data.subarray(0, 12), 0);
  out.set([tpid >> 8, tpid & 0xff, (p.vlan.tci >> 8) & 0xff, p.vlan.tci & 0xff], 12);
  out.set(p.data.subarray(12), 16);
  return { data: out, wire: wire + 4 };
}

let seq = 0;
function packet(size: number, mac: number, extra: Partial<FakePacket> = {}): FakePacket {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (seq * 7 + i * 13) & 0xff;
  seq++;
  return { data, sec: 1_700_000_000 + seq, nsec: (seq * 987_654_321) % 1e9, mac, ...extra };
}

/**
 * Writes the ring's blocks with the fast path (writev from the ring), copied into a sink that
 * writes in the background, and the same packets per packet; the three files must be the same.
 */
async function both(blocks: FakePacket[][], opts: { cooked?: boolean; ethernet?: boolean; snaplen?: number; fileSnaplen?: number; nano?: boolean; limit?: number } = {}) {
  const ring = fakeRing(blocks);
  const name = `f${seq}`;
  const sinkOpts = { linkType: opts.ethernet ? ("ethernet" as const) : ("raw" as const), snaplen: opts.fileSnaplen, nanosecond: opts.nano };
  const fast = PcapSink.open(join(dir, `${name}-fast.pcap`), sinkOpts);
  const w = new RingPcapWriter(fast);
  if (opts.limit !== undefined) w.remaining = opts.limit;
  const snap = opts.snaplen ?? 262144;
  let taken = 0;
  blocks.forEach((_, bi) => (taken += w.block(ring, bi * BLOCK, !!opts.cooked, !!opts.ethernet, snap)));
  fast.close();
  // the same blocks copied out of the ring into a sink that writes in the background
  const bg = PcapSink.open(join(dir, `${name}-bg.pcap`), sinkOpts);
  bg.background(1 << 20);
  const wb = new RingPcapWriter(bg, { copy: true });
  if (opts.limit !== undefined) wb.remaining = opts.limit;
  let takenBg = 0;
  blocks.forEach((_, bi) => (takenBg += wb.block(fakeRing(blocks), bi * BLOCK, !!opts.cooked, !!opts.ethernet, snap)));
  await bg.settle();
  bg.close();
  expect(bg.error).toBeUndefined();
  expect(takenBg).toBe(taken);
  expect(bg.written).toBe(taken);
  const slow = PcapSink.open(join(dir, `${name}-slow.pcap`), sinkOpts);
  let n = 0;
  for (const p of blocks.flat()) {
    if (opts.limit !== undefined && n >= opts.limit) break;
    if (opts.cooked && (p.proto ?? 0x0800) !== 0x0800 && p.proto !== 0x86dd) continue;
    const e = expected(p);
    const cap = Math.min(e.data.length, snap);
    slow.write(e.data, cap, e.wire, p.sec, p.nsec);
    n++;
  }
  slow.close();
  expect(fast.error).toBeUndefined();
  expect(new Uint8Array(readFileSync(join(dir, `${name}-bg.pcap`)))).toEqual(new Uint8Array(readFileSync(join(dir, `${name}-slow.pcap`))));
  return { taken, n, fast: new Uint8Array(readFileSync(join(dir, `${name}-fast.pcap`))), slow: new Uint8Array(readFileSync(join(dir, `${name}-slow.pcap`))), sink: fast, writer: w };
}

test("raw IP blocks (tp_mac 96): the file is byte for byte the per-packet writer's, micro- and nanosecond", async () => {
  for (const nano of [false, true]) {
    const blocks = [[0, 1, 20, 64, 1500, 9000].map((s) => packet(s, 96)), [packet(40, 96)], []];
    const r = await both(blocks, { nano });
    expect(r.taken).toBe(7);
    expect(r.fast).toEqual(r.slow);
    const f = readPcap(r.fast);
    expect(f.records.length).toBe(7);
    expect(f.truncated).toBeUndefined();
    expect(r.sink.written).toBe(7);
    expect(r.sink.fileBytes).toBe(r.fast.length);
  }
});

test("Ethernet blocks (tp_mac 82, and an odd offset): stripped VLAN tags put back (0x8100 and an 802.1ad TPID), the on-wire length grows by 4", async () => {
  const blocks = [[
    packet(60, 82),
    packet(60, 82, { vlan: { tci: 0x2005 } }),
    packet(1514, 82, { vlan: { tci: 0xe00a, tpid: 0x88a8 } }),
    packet(11, 82, { vlan: { tci: 7 } }), // shorter than the MAC addresses: left as it is
    packet(77, 83),
    packet(77, 83, { vlan: { tci: 0x0102 } }),
  ]];
  const r = await both(blocks, { ethernet: true });
  expect(r.taken).toBe(6);
  expect(r.fast).toEqual(r.slow);
  const recs = readPcap(r.fast).records;
  expect(recs[1]!.data.subarray(12, 16)).toEqual(Uint8Array.of(0x81, 0x00, 0x20, 0x05));
  expect(recs[2]!.data.subarray(12, 16)).toEqual(Uint8Array.of(0x88, 0xa8, 0xe0, 0x0a));
  expect(recs[2]!.originalLength).toBe(1518);
});

test("snaplen: the capture's and the file's cut records (the on-wire length kept); cooked sockets keep only IPv4/IPv6", async () => {
  const mk = () => [[packet(300, 96, { wire: 400 }), packet(100, 96, { proto: 0x86dd }), packet(100, 96, { proto: 0x0806 }), packet(50, 96)]];
  const a = await both(mk(), { snaplen: 96 });
  expect(a.fast).toEqual(a.slow);
  expect(readPcap(a.fast).records[0]!.captureLength).toBe(96);
  expect(readPcap(a.fast).records[0]!.originalLength).toBe(400);
  const b = await both(mk(), { fileSnaplen: 64 });
  expect(b.fast).toEqual(b.slow);
  expect(readPcap(b.fast).records.every((r) => r.captureLength <= 64)).toBe(true);
  const c = await both(mk(), { cooked: true });
  expect(c.taken).toBe(3);
  expect(c.fast).toEqual(c.slow);
});

test("a block of more records than one writev takes (IOV_MAX), over several blocks, and a -c limit inside a block", async () => {
  const big = Array.from({ length: IOV_MAX * 2 + 300 }, (_, i) => packet(20 + (i % 50), 96));
  const r = await both([big, [packet(30, 96), packet(31, 96)]]);
  expect(r.taken).toBe(IOV_MAX * 2 + 302);
  expect(r.fast).toEqual(r.slow);
  const lim = await both([Array.from({ length: 10 }, () => packet(40, 96)), [packet(40, 96)]], { limit: 7 });
  expect(lim.taken).toBe(7);
  expect(lim.writer.remaining).toBe(0);
  expect(readPcap(lim.fast).records.length).toBe(7);
  expect(lim.fast).toEqual(lim.slow);
});

test("writeIov: records after buffered ones keep their order; a closed descriptor fails with a hint, nothing counted as written", async () => {
  const path = join(dir, "iov.pcap");
  const sink = PcapSink.open(path, { linkType: "raw" });
  const rec = (n: number) => {
    const b = new Uint8Array(new ArrayBuffer(4096));
    new DataView(b.buffer).setUint32(8, n, true);
    new DataView(b.buffer).setUint32(12, n, true);
    b.fill(n, 16, 16 + n);
    return b;
  };
  sink.write(new Uint8Array(5).fill(5), 5, 5, 0, 0);
  const r1 = rec(9);
  const r2 = rec(3);
  const iov = new Uint8Array(32);
  const v = new DataView(iov.buffer);
  v.setBigUint64(0, addrValue(r1), true);
  v.setBigUint64(8, 25n, true);
  v.setBigUint64(16, addrValue(r2), true);
  v.setBigUint64(24, 19n, true);
  expect(sink.writeIov(iov, 2)).toBe(true);
  sink.close();
  const recs = readPcap(new Uint8Array(readFileSync(path))).records;
  expect(recs.map((r) => r.captureLength)).toEqual([5, 9, 3]);
  expect(recs[1]!.data).toEqual(new Uint8Array(9).fill(9));
  expect(sink.written).toBe(3);

  const bad = new PcapSink(987654, { linkType: "raw", name: "bad.pcap" });
  expect(bad.writeIov(iov, 1)).toBe(false);
  expect(bad.error?.message).toContain("EBADF");
  expect(bad.written).toBe(0);
});

test("copy mode: into a pcapng file, and with a user-space filter, the records are the per-packet writer's", async () => {
  const pkts = [[packet(60, 96), packet(1500, 96), packet(20, 96, { wire: 70 })], [packet(99, 96), packet(33, 96)]];
  const keep = (data: Uint8Array) => data.length % 3 === 0; // 60, 1500, 99, 33: kept; 20: not
  for (const filtered of [false, true]) {
    const name = `ng${filtered ? "f" : ""}${seq}`;
    const sinkOpts = { linkType: "raw" as const, format: "pcapng" as const, nanosecond: true };
    const ring = fakeRing(pkts);
    const fast = PcapSink.open(join(dir, `${name}-copy.pcapng`), sinkOpts);
    const w = new RingPcapWriter(fast, { copy: true, ...(filtered ? { filter: (b: Uint8Array, off: number, len: number) => keep(b.subarray(off, off + len)) } : {}) });
    let taken = 0;
    pkts.forEach((_, bi) => (taken += w.block(ring, bi * BLOCK, false, false, 262144)));
    fast.close();
    const slow = PcapSink.open(join(dir, `${name}-slow.pcapng`), sinkOpts);
    let n = 0;
    for (const p of pkts.flat()) {
      if (filtered && !keep(p.data)) continue;
      slow.write(p.data, p.data.length, p.wire ?? p.data.length, p.sec, p.nsec);
      n++;
    }
    slow.close();
    expect(taken).toBe(filtered ? 4 : 5);
    expect(taken).toBe(n);
    expect(new Uint8Array(readFileSync(join(dir, `${name}-copy.pcapng`)))).toEqual(new Uint8Array(readFileSync(join(dir, `${name}-slow.pcapng`))));
  }
});

test("copy mode into a capture writer: without rotation the records go in place into the file's buffer (no write call per record), across buffer hand-overs in the background; with -C each record goes to write; both byte for byte the per-packet writer's", async () => {
  const blocks = [0, 1, 2].map((b) => Array.from({ length: 900 + b }, (_, i) => packet(20 + ((i * 37) % 1400), 96, i % 97 === 5 ? { wire: 9000 } : {})));
  const slowPath = join(dir, `cw-slow${seq}.pcap`);
  const slow = PcapSink.open(slowPath, { linkType: "raw", snaplen: 1000 });
  for (const p of blocks.flat()) slow.write(p.data, p.data.length, p.wire ?? p.data.length, p.sec, p.nsec);
  slow.close();
  for (const rotate of [false, true]) {
    const path = join(dir, `cw-${rotate ? "rot" : "one"}${seq}.pcap`);
    const cw = new CaptureWriter({ path, ...(rotate ? { bytes: 1 << 30 } : {}), sink: { linkType: "raw", snaplen: 1000, bufferBytes: 1 << 20 } });
    cw.start();
    cw.background(4 << 20);
    let calls = 0;
    const write = cw.write.bind(cw);
    cw.write = (...a: Parameters<typeof write>) => {
      calls++;
      write(...a);
    };
    const w = new RingPcapWriter(cw, { copy: true });
    const ring = fakeRing(blocks);
    let taken = 0;
    blocks.forEach((_, bi) => (taken += w.block(ring, bi * BLOCK, false, false, 262144)));
    await cw.settle();
    cw.close();
    expect(cw.error).toBeUndefined();
    expect(taken).toBe(2703);
    expect(cw.written).toBe(2703);
    expect(calls).toBe(rotate ? 2703 : 0);
    expect(new Uint8Array(readFileSync(path))).toEqual(new Uint8Array(readFileSync(slowPath)));
  }
});

test("RxRing.madeUp: one handed-over block laid out as the kernel lays it out (raw IP at tp_mac 96, Ethernet at 82), as many packets as fit; the ring-to-pcap writer makes of it the records the per-packet writer makes", () => {
  for (const [link, mac] of [[0, 96], [14, 82]] as const) {
    const r = RxRing.madeUp(1 << 16, 10_000, 92, link);
    const slot = (96 + 92 + 15) & ~15;
    const n = Math.floor(((1 << 16) - 48) / slot);
    expect(r.ready()).toBe(true);
    expect(r.blockPackets(0)).toBe(n);
    const seen: Array<{ off: number; caplen: number; wire: number; protocol: number; sec: number; nsec: number }> = [];
    const fresh = RxRing.madeUp(1 << 16, 10_000, 92, link);
    fresh.forEach((p) => void seen.push({ off: p.offset, caplen: p.caplen, wire: p.wireLen, protocol: p.protocol, sec: p.sec, nsec: p.nsec }));
    expect(seen.length).toBe(n);
    expect(seen[0]!.off).toBe(48 + mac);
    expect(seen[1]!.off - seen[0]!.off).toBe(slot);
    expect(seen.every((p) => p.caplen === 92 + link && p.wire === 92 + link && p.protocol === 0x0800)).toBe(true);
    expect(fresh.ready()).toBe(false); // given back
    // a capped count: only that many
    expect(RxRing.madeUp(1 << 16, 3, 92, link).blockPackets(0)).toBe(3);
    // the fast path (writev from the ring) against the per-packet writer
    const name = `madeup-${link}`;
    const sinkOpts = { linkType: link ? ("ethernet" as const) : ("raw" as const) };
    const fast = PcapSink.open(join(dir, `${name}-fast.pcap`), sinkOpts);
    expect(new RingPcapWriter(fast).block(r, 0, link === 0, link !== 0, 262144)).toBe(n);
    fast.close();
    const slow = PcapSink.open(join(dir, `${name}-slow.pcap`), sinkOpts);
    const z = new Uint8Array(92 + link);
    for (const p of seen) slow.write(z, p.caplen, p.wire, p.sec, p.nsec);
    slow.close();
    expect(new Uint8Array(readFileSync(join(dir, `${name}-fast.pcap`)))).toEqual(new Uint8Array(readFileSync(join(dir, `${name}-slow.pcap`))));
  }
});

test("warmUpRingWriter: walks made-up blocks into the throwaway target only, until the engine has compiled the walk with its optimizing tier (bun:jsc), then stops; a budget of 0 walks nothing", async () => {
  // /dev/null, as tunkit dump's throwaway: tens of MB of made-up records go there
  const target = new PcapSink(openSync("/dev/null", "w"), { linkType: "raw" }, true);
  target.background();
  const none = await warmUpRingWriter(target, { blockSize: 1 << 18, snaplen: 262144, cooked: true, ethernet: false, copy: true, budgetMs: 0 });
  expect(none.walks).toBe(0);
  expect(none.packets).toBe(0);
  // a generous budget: the end is the engine's answer, not the clock
  const r = await warmUpRingWriter(target, { blockSize: 1 << 18, snaplen: 262144, cooked: true, ethernet: false, copy: true, budgetMs: 120_000 });
  expect(r.optimized).toBe(true);
  expect(numberOfDFGCompiles(RingPcapWriter.prototype.block)).toBeGreaterThan(0);
  expect(r.walks).toBeGreaterThan(300);
  const perBlock = RxRing.madeUp(1 << 18, 1 << 18, 92).blockPackets(0);
  expect(r.packets).toBe(r.walks * perBlock);
  await target.settle();
  target.close();
  // every record went to the target given, whole
  expect(target.error).toBeUndefined();
  expect(target.written).toBe(r.packets);
});
