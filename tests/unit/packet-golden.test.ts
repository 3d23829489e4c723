// Golden packets: hex beside tcpdump 4.99.3's own text for the same pcap (tests/fixtures/packet/
// golden.json, made by generate.ts). decode/format/hexdump must reproduce tcpdump's lines.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fromHex, toHex } from "../../common/hex.ts";
import { decode } from "../../packet/decode.ts";
import { Formatter } from "../../packet/format.ts";
import { hexdump } from "../../packet/hexdump.ts";
import { PcapWriter } from "../../packet/pcap.ts";
import type { LinkType } from "../../packet/types.ts";
import { corpus } from "../fixtures/packet/corpus.ts";
import { needingPeers } from "../peers.ts";

interface Golden {
  name: string;
  linkType: LinkType;
  hex: string;
  originalLength?: number;
  ts: { sec: number; nsec: number };
  tcpdump: string;
  tcpdumpS: string;
  tcpdumpE?: string;
  hexX: string[];
  hexXX?: string[];
}

const file = join(import.meta.dir, "../fixtures/packet/golden.json");
/** golden.json holds tcpdump's lines without the hex lines (starting "\t0x") some printers add: drop ours too. */
const noHex = (s: string) => s.split("\n").filter((l) => !l.startsWith("\t0x")).join("\n");
const golden = JSON.parse(readFileSync(file, "utf8")) as { tcpdump: string; packets: Golden[] };

/**
 * Where tunkit deliberately differs from tcpdump, and why: each case asserts exactly that
 * difference (tcpdump's text as golden.json has it, tunkit's text), and everything else as usual.
 */
const KNOWN_DIFFERENCES: Record<string, { tcpdump: string; tunkit: string; why: string }> = {
  "raw-empty": {
    tcpdump: "[Invalid header: caplen==0, len==0]",
    tunkit: "12:01:27.000088 truncated-ip 0",
    why: "tcpdump refuses an empty record before its printers, without a timestamp (so does `tunkit dump -r`: dump-tcpdump.test.ts, caplen-0 and len==0 records); the library's Formatter runs the printer, and prints ipN_print's words for 0 bytes",
  },
};

describe("golden packets vs tcpdump " + golden.tcpdump, () => {
  test("the corpus has both link types and enough cases", () => {
    expect(golden.packets.length).toBeGreaterThan(100);
    expect(golden.packets.some((p) => p.linkType === "ethernet")).toBe(true);
  });

  test("every known difference names a golden case (none left over)", () => {
    for (const name of Object.keys(KNOWN_DIFFERENCES)) expect({ name, found: golden.packets.some((p) => p.name === name) }).toEqual({ name, found: true });
  });

  test("the builder still produces the golden bytes", () => {
    const built = new Map(corpus().map((e) => [e.name, toHex(e.bytes)]));
    for (const p of golden.packets) expect({ name: p.name, hex: built.get(p.name) }).toEqual({ name: p.name, hex: p.hex });
  });

  // golden.json keeps tcpdump's first line; the hex tcpdump prints inside the line for data it
  // cannot decode comes as its own lines (compared below with the -X dump), so leave it out here
  const rel: Record<LinkType, Formatter> = { raw: new Formatter({ dumpFollows: true }), ethernet: new Formatter({ dumpFollows: true }) };
  for (const p of golden.packets) {
    test(`${p.name}`, () => {
      const bytes = fromHex(p.hex);
      const o = { ts: p.ts, ...(p.originalLength !== undefined ? { originalLength: p.originalLength } : {}) };
      const relative = rel[p.linkType].format(bytes, p.linkType, o);
      const absolute = new Formatter({ absoluteSeq: true, dumpFollows: true }).format(bytes, p.linkType, o);
      const known = KNOWN_DIFFERENCES[p.name];
      if (known) {
        expect([p.tcpdump, p.tcpdumpS]).toEqual([known.tcpdump, known.tcpdump]);
        expect([noHex(relative), noHex(absolute)]).toEqual([known.tunkit, known.tunkit]);
      } else {
        expect(noHex(relative)).toBe(p.tcpdump);
        expect(noHex(absolute)).toBe(p.tcpdumpS);
      }
      if (p.tcpdumpE) expect(noHex(new Formatter({ absoluteSeq: true, dumpFollows: true }).format(bytes, p.linkType, { ...o, link: true }))).toBe(p.tcpdumpE);
      // tcpdump prints unknown ICMPv6 data lines before the -X dump: compare the dump's tail
      const x = hexdump(bytes, p.linkType).split("\n").filter((l) => l !== "");
      expect(x).toEqual(p.hexX.slice(p.hexX.length - x.length));
      if (p.hexXX) expect(hexdump(bytes, p.linkType, true).split("\n")).toEqual(p.hexXX);
    });
  }
});

const tcpdump = Bun.which("tcpdump");
needingPeers("packet-golden live", ["tcpdump"])("live: tcpdump -nn -r reads our pcap and prints what golden.json says", () => {
  const dir = `/tmp/tunkit-packet-test-${process.pid}`;
  Bun.spawnSync(["mkdir", "-p", dir]);
  try {
    for (const lt of ["raw", "ethernet"] as const) {
      const list = golden.packets.filter((p) => p.linkType === lt && p.name !== "raw-empty");
      const w = new PcapWriter({ linkType: lt, nanosecond: lt === "ethernet" });
      const chunks = [w.header()];
      for (const p of list) chunks.push(w.record(fromHex(p.hex), p.ts, p.originalLength));
      const path = `${dir}/${lt}.pcap`;
      Bun.spawnSync(["sh", "-c", `cat > ${path}`], { stdin: new Blob(chunks) });
      const out = Bun.spawnSync([tcpdump!, "-nn", "-S", "-r", path], { env: { ...process.env, TZ: "UTC" } });
      const lines = new TextDecoder().decode(out.stdout).split("\n").filter((l) => l && !l.startsWith("\t"));
      const f = new Formatter({ absoluteSeq: true, dumpFollows: true });
      expect(lines.length).toBe(list.length);
      list.forEach((p, i) => {
        expect(lines[i]).toBe(p.tcpdumpS);
        expect(noHex(f.format(fromHex(p.hex), lt, { ts: p.ts, ...(p.originalLength !== undefined ? { originalLength: p.originalLength } : {}) }))).toBe(lines[i]!);
      });
    }
  } finally {
    Bun.spawnSync(["rm", "-rf", dir]);
  }
});
