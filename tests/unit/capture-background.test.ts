// PcapSink.background(): the capture file written off the JS thread, so a write(2) that waits
// (a slow disk, a full pipe) never stops the caller from taking packets. Records reach the file
// whole and in order, the bound on what waits is kept (hasRoom), settle() waits for the last
// write, and a failed write leaves the file at its last whole record with the count true.
import { expect, test } from "bun:test";
import { closeSync, constants, mkdtempSync, openSync, readFileSync, readSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { PcapSink } from "../../tun/capture-file.ts";
import { readPcap } from "../../packet/pcap.ts";

const dir = mkdtempSync(join(tmpdir(), "tk-capbg-"));
process.on("exit", () => rmSync(dir, { recursive: true, force: true }));

/** A packet of `n` bytes of `n & 0xff`. */
function record(n: number): Uint8Array {
  return new Uint8Array(n).fill(n & 0xff);
}

test("a write that waits (a pipe nobody reads yet) does not stop the caller: records are taken, timers run, the bound is kept; once read, every record arrives in order", async () => {
  const fifo = join(dir, "fifo");
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const wr = openSync(fifo, "w");
  const sink = new PcapSink(wr, { linkType: "raw", bufferBytes: 1 << 18 }, true);
  sink.background(1 << 20); // 4 buffers of 256 KiB
  expect(sink.inBackground).toBe(true);
  // 3 MiB of records: far more than the pipe holds (64 KiB) and than the bound
  const sizes: number[] = [];
  let taken = 0;
  for (let i = 0; taken < 3 << 20; i++) {
    const n = 100 + ((i * 37) % 1400);
    const r = record(n);
    sink.write(r, n, n, i, 0);
    expect(sink.error).toBeUndefined();
    sizes.push(n);
    taken += 16 + n;
    sink.kick();
  }
  // the caller was never held: it is here with the pipe full, and the event loop still runs
  let ticked = false;
  await new Promise<void>((r) =>
    setTimeout(() => {
      ticked = true;
      r();
    }, 20),
  );
  expect(ticked).toBe(true);
  expect(sink.written).toBeLessThan(sizes.length / 10); // a write is waiting for a reader
  expect(sink.hasRoom(1 << 18)).toBe(false); // past the bound: a ring walker would wait
  expect(sink.bufferedBytes).toBeGreaterThan(2 << 20);
  // now read: the writes complete, settle() resolves, everything arrives
  const chunks: Uint8Array[] = [];
  const settled = sink.settle().then(() => "settled");
  const buf = new Uint8Array(1 << 16);
  let got = 0;
  for (let spins = 0; spins < 20_000; spins++) {
    let n = 0;
    try {
      n = readSync(rd, buf, 0, buf.length, null);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
    }
    if (n > 0) {
      chunks.push(buf.slice(0, n));
      got += n;
      continue;
    }
    if (got === 24 + taken) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  expect(await settled).toBe("settled");
  expect(sink.hasRoom(1 << 18)).toBe(true);
  sink.close();
  closeSync(rd);
  const all = new Uint8Array(got);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  const recs = readPcap(all).records;
  expect(recs.map((r) => r.captureLength)).toEqual(sizes);
  expect(recs.every((r, i) => r.data.every((b) => b === (sizes[i]! & 0xff)))).toBe(true);
  expect(sink.written).toBe(sizes.length);
  expect(sink.error).toBeUndefined();
});

test("a failed write (ENOSPC on /dev/full): the error with its hint, nothing counted as written, later records refused, settle() resolves", async () => {
  const fd = openSync("/dev/full", "w");
  const sink = new PcapSink(fd, { linkType: "raw", name: "full.pcap" }, true);
  sink.background();
  const r = record(64);
  for (let i = 0; i < 100; i++) sink.write(r, 64, 64, 1, 0);
  await sink.settle();
  expect(sink.error?.message).toBe('Writing "full.pcap" failed: ENOSPC');
  expect(sink.error?.hint).toContain("is full");
  expect(sink.written).toBe(0);
  sink.write(r, 64, 64, 2, 0);
  expect(sink.packets).toBe(100); // refused
  expect(sink.hasRoom(1 << 20)).toBe(true); // a failed sink holds nothing back
  sink.close();
});

test("background writing to a file: the header written before, then every record; close() after settle()", async () => {
  const path = join(dir, "bg.pcap");
  const sink = PcapSink.open(path, { linkType: "raw", bufferBytes: 1 << 18 });
  sink.flush(); // the header, in the foreground
  sink.background(1 << 20);
  const sizes: number[] = [];
  for (let i = 0; i < 5000; i++) {
    const n = 20 + (i % 200);
    sink.write(record(n), n, n, i, 0);
    sizes.push(n);
    if (i % 100 === 0) sink.kick();
  }
  await sink.settle();
  sink.close();
  const f = readPcap(new Uint8Array(readFileSync(path)));
  expect(f.records.map((r) => r.captureLength)).toEqual(sizes);
  expect(sink.written).toBe(5000);
  expect(sink.fileBytes).toBe(readFileSync(path).length);
});

test("kick(minBytes) starts a background write only once that much waits; settle() writes the rest", async () => {
  const file = join(dir, "kick.pcap");
  const sink = PcapSink.open(file, { linkType: "raw", bufferBytes: 1 << 20 });
  sink.background();
  const r = record(1000);
  for (let i = 0; i < 100; i++) sink.write(r, 1000, 1000, i, 0); // ~100 KB buffered
  sink.kick(512 << 10);
  await new Promise((res) => setTimeout(res, 50));
  expect(sink.written).toBe(0); // below the threshold: nothing handed to the writer
  for (let i = 100; i < 700; i++) sink.write(r, 1000, 1000, i, 0); // ~700 KB
  sink.kick(512 << 10);
  await sink.settle();
  expect(sink.written).toBe(700);
  sink.close();
  expect(readPcap(new Uint8Array(readFileSync(file))).records.length).toBe(700);
});

test("the end of a write hands over what came in meanwhile only when a kick asked for that much; flushIdle() skips a tick after a hand-over", async () => {
  const file = join(dir, "kickwait.pcap");
  const sink = PcapSink.open(file, { linkType: "raw", bufferBytes: 1 << 20 });
  sink.background();
  const r = record(1000);
  for (let i = 0; i < 600; i++) sink.write(r, 1000, 1000, i, 0); // ~600 KB
  sink.kick(512 << 10); // a write starts
  for (let i = 600; i < 610; i++) sink.write(r, 1000, 1000, i, 0); // 10 KB while it is in flight
  sink.kick(512 << 10); // below the threshold: waits for more
  await new Promise((res) => setTimeout(res, 100));
  expect(sink.written).toBe(600); // the 10 records were not written on their own
  expect(sink.flushIdle()).toBe(true); // a hand-over since the last tick: this tick writes nothing
  await new Promise((res) => setTimeout(res, 50));
  expect(sink.written).toBe(600);
  expect(sink.flushIdle()).toBe(true); // none since: the tick writes what waits
  await new Promise((res) => setTimeout(res, 100));
  expect(sink.written).toBe(610);
  for (let i = 610; i < 1200; i++) sink.write(r, 1000, 1000, i, 0);
  sink.kick(512 << 10);
  for (let i = 1200; i < 1210; i++) sink.write(r, 1000, 1000, i, 0);
  sink.kick(); // a kick for whatever is there (-U, settle): the end of the write in flight takes it
  await new Promise((res) => setTimeout(res, 100));
  expect(sink.written).toBe(1210);
  await sink.settle();
  sink.close();
  expect(readPcap(new Uint8Array(readFileSync(file))).records.length).toBe(1210);
});

test("settle(stallMs) gives up on a pipe whose reader never reads: the error says it stalled and how many records were not delivered", async () => {
  const fifo = join(dir, "stallfifo");
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // held open, never read
  const wr = openSync(fifo, "w");
  try {
    const sink = new PcapSink(wr, { linkType: "raw", bufferBytes: 1 << 18, name: "stdout" }, false);
    sink.background();
    const r = record(1000);
    for (let i = 0; i < 2000; i++) sink.write(r, 1000, 1000, i, 0); // ~2 MB: the pipe holds 64 KiB
    await sink.settle(300);
    expect(sink.error?.message).toMatch(/^Writing "stdout" stalled: nothing written for 0\.3 s, \d+ packets not delivered$/);
    const lost = Number(/(\d+) packets not delivered/.exec(sink.error!.message)![1]);
    expect(lost).toBeGreaterThan(0);
    expect(sink.written + lost).toBe(2000);
    expect(sink.error?.hint).toMatch(/stopped reading/);
    sink.close(); // does not wait for the write that never ends
  } finally {
    closeSync(rd);
  }
});

test("a -C rotation in the background: every file whole, records in order across the files, counts true, a -W ring's reused name gets a fresh file", async () => {
  const { CaptureWriter } = await import("../../tun/capture-rotate.ts");
  const { readdirSync } = await import("node:fs");
  const sub = mkdtempSync(join(dir, "rot-"));
  const w = new CaptureWriter({ path: join(sub, "r"), bytes: 300_000, sink: { linkType: "raw", bufferBytes: 1 << 18 } });
  w.background();
  const done: string[] = [];
  for (let i = 0; i < 4000; i++) {
    const n = 100 + ((i * 37) % 900);
    const r = record(n);
    r[0] = i & 0xff; // the order shows in the first byte
    r[1] = i >> 8;
    w.write(r, n, n, i, 0);
    if (i % 500 === 0) await new Promise((res) => setTimeout(res, 1)); // writes complete meanwhile
  }
  await w.settle();
  w.close();
  expect(w.error).toBeUndefined();
  expect(w.written).toBe(4000);
  const files = readdirSync(sub).sort((a, b) => Number(a.slice(1) || 0) - Number(b.slice(1) || 0));
  expect(files.length).toBeGreaterThan(5);
  let next = 0;
  for (const f of files) {
    const p = readPcap(new Uint8Array(readFileSync(join(sub, f))));
    expect(p.truncated).toBeUndefined();
    for (const rec of p.records) {
      expect(rec.data[0]! | (rec.data[1]! << 8)).toBe(next & 0xffff);
      next++;
    }
  }
  expect(next).toBe(4000);
  // -W 2: the ring comes back to r0 while r0's writes may still be in flight
  const ring = mkdtempSync(join(dir, "ring-"));
  const wr = new CaptureWriter({ path: join(ring, "r"), bytes: 100_000, files: 2, sink: { linkType: "raw", bufferBytes: 1 << 18 } });
  wr.background();
  for (let i = 0; i < 3000; i++) wr.write(record(500), 500, 500, i, 0);
  await wr.settle();
  wr.close();
  expect(wr.error).toBeUndefined();
  for (const f of readdirSync(ring)) {
    const p = readPcap(new Uint8Array(readFileSync(join(ring, f))));
    expect(p.truncated).toBeUndefined();
    expect(p.records.length).toBeGreaterThan(0);
  }
});
