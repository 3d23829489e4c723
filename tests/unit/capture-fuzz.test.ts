// Fuzz of the `dump -r` path (capture file reader + decode + format + hex dump + JSON), seeded:
// 120,000 random, truncated and mutated pcap/pcapng files. No throw, no hang, every line
// printable ASCII, JSON lines valid.
import { expect, test } from "bun:test";
import { mulberry32, mutate, randomBytes } from "./_fuzz.ts";
import { corpus } from "../fixtures/packet/corpus.ts";
import { PcapWriter, PcapngWriter } from "../../packet/mod.ts";
import { dumpCaptureBytes, planDump, type DumpPlan } from "../../cli/dump.ts";

const PRINTABLE = /^[\t\x20-\x7e]*$/;

const packets = corpus();

function plans(): DumpPlan[] {
  const g = { json: false, quiet: false };
  return [
    planDump([], { read: "-" }, g),
    planDump([], { read: "-", X: 2, e: true, nano: true }, g),
    planDump([], { read: "-" }, { json: true, quiet: false }),
    planDump(["tcp", "or", "udp", "port", "53", "or", "icmp"], { read: "-", count: "3" }, { json: false, quiet: true }),
  ];
}

/** A well-formed file of 1..4 records from the corpus (sometimes random bytes), in a random format. */
function validFile(rnd: () => number): Uint8Array {
  const n = 1 + Math.floor(rnd() * 4);
  const linkType = [1, 101, 228, 229, 113, 0][Math.floor(rnd() * 6)]!;
  const nano = rnd() < 0.5;
  const ng = rnd() < 0.3;
  const w = ng ? new PcapngWriter({ linkType, nanosecond: nano }) : new PcapWriter({ linkType, nanosecond: nano, snaplen: rnd() < 0.2 ? 64 : 262144 });
  const parts: Uint8Array[] = [w.header()];
  for (let i = 0; i < n; i++) {
    const e = packets[Math.floor(rnd() * packets.length)]!;
    const data = rnd() < 0.15 ? randomBytes(rnd, 200) : e.bytes;
    parts.push(w.record(data, { sec: Math.floor(rnd() * 2 ** 32), nsec: Math.floor(rnd() * 1e9) }, data.length + (rnd() < 0.1 ? 100 : 0)));
  }
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  if (!ng && rnd() < 0.3) {
    // big-endian file: swap the header and record header fields
    const v = new DataView(out.buffer);
    const swap32 = (at: number) => v.setUint32(at, v.getUint32(at, true), false);
    const swap16 = (at: number) => v.setUint16(at, v.getUint16(at, true), false);
    swap32(0); swap16(4); swap16(6); swap32(8); swap32(12); swap32(16); swap32(20);
    let p = 24;
    while (p + 16 <= out.length) {
      const cap = v.getUint32(p + 8, true);
      swap32(p); swap32(p + 4); swap32(p + 8); swap32(p + 12);
      p += 16 + cap;
    }
  }
  return out;
}

test("dump -r survives 120,000 random, truncated and mutated capture files", () => {
  const rnd = mulberry32(0x7c0ffee5);
  const ps = plans();
  const counts = { files: 0, packets: 0, errors: 0, lines: 0 };
  const t0 = performance.now();
  for (let i = 0; i < 120_000; i++) {
    const kind = i % 6;
    let bytes: Uint8Array;
    if (kind === 0) bytes = validFile(rnd);
    else if (kind === 1) {
      const f = validFile(rnd);
      bytes = f.subarray(0, Math.floor(rnd() * f.length));
    } else if (kind <= 3) bytes = mutate(rnd, validFile(rnd));
    else if (kind === 4) {
      // random bytes behind a valid magic (pcap LE/BE/ns, pcapng)
      const magic = [[0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0], [0xa1, 0xb2, 0xc3, 0xd4, 0, 2, 0, 4], [0x4d, 0x3c, 0xb2, 0xa1, 2, 0, 4, 0], [0x0a, 0x0d, 0x0d, 0x0a]][Math.floor(rnd() * 4)]!;
      const body = randomBytes(rnd, 300);
      bytes = new Uint8Array(magic.length + body.length);
      bytes.set(magic);
      bytes.set(body, magic.length);
    } else bytes = randomBytes(rnd, 120);
    const plan = ps[i % ps.length]!;
    let out = "";
    const r = dumpCaptureBytes(bytes, plan, (s) => (out += s));
    counts.files++;
    counts.packets += r.packets;
    if (r.error !== undefined) {
      counts.errors++;
      if (!PRINTABLE.test(r.error)) throw new Error(`file ${i}: unprintable error ${JSON.stringify(r.error)}`);
    }
    if (out === "") continue;
    expect(out.endsWith("\n")).toBe(true);
    const lines = out.slice(0, -1).split("\n");
    counts.lines += lines.length;
    for (const l of lines) {
      if (!PRINTABLE.test(l)) throw new Error(`file ${i} (seeded): unprintable line ${JSON.stringify(l)}`);
      if (plan.print.json) JSON.parse(l);
    }
  }
  const secs = (performance.now() - t0) / 1000;
  console.log(`fuzz: ${counts.files} files, ${counts.packets} packets printed, ${counts.lines} lines, ${counts.errors} files with a reported problem, ${secs.toFixed(1)} s`);
  // the mix must exercise both paths: many packets printed, many damaged files reported
  expect(counts.packets).toBeGreaterThan(50_000);
  expect(counts.errors).toBeGreaterThan(20_000);
}, 300_000);
