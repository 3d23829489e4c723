// Fuzz: 100,000+ seeded random, truncated and mutated packets (mutations of the golden corpus)
// through decode(), format(), Formatter, toJSON(), hexdump(), echoReply() and the filter; plus
// mutated pcap/pcapng files and random filter expressions. Only typed errors where throwing is
// allowed; never a crash or a hang; every output line printable ASCII.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isDecodeError, MalformedError, TruncatedError, UsageError } from "../../common/errors.ts";
import { fromHex } from "../../common/hex.ts";
import { decode } from "../../packet/decode.ts";
import { echoReply } from "../../packet/echo.ts";
import { compileFilter, parseFilter } from "../../packet/filter.ts";
import { Formatter, toJSON } from "../../packet/format.ts";
import { printRecord } from "../../packet/print/index.ts";
import { hexdump } from "../../packet/hexdump.ts";
import { PacketPrinter } from "../../packet/printer.ts";
import { PcapReader, PcapWriter } from "../../packet/pcap.ts";
import { PcapngReader, PcapngWriter } from "../../packet/pcapng.ts";
import type { LinkType } from "../../packet/types.ts";
import { mulberry32, mutate, randomBytes } from "./_fuzz.ts";

const golden = JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/packet/golden.json"), "utf8")).packets as Array<{ hex: string; linkType: LinkType }>;
const seeds = golden.map((g) => ({ b: fromHex(g.hex), lt: g.linkType }));
const PRINTABLE = /^[\x20-\x7e]*$/;
/** A line of tcpdump text: printable ASCII, tabs allowed (its -v lines start with one). */
const TEXTLINE = /^[\t\x20-\x7e]*$/;
const HEXLINE = /^\t0x[0-9a-f]{4}: [ 0-9a-f]{40}  [\x21-\x7e.]{1,16}$/;

function fail(seed: number, i: number, what: string, input: Uint8Array, e: unknown): never {
  throw new Error(`fuzz seed ${seed} #${i} ${what} on ${Buffer.from(input).toString("hex")}: ${e instanceof Error ? e.stack : String(e)}`);
}

const WRAPPED = [0, 9, 108, 113, 276];
const wrapPrinter = new PacketPrinter({ hex: 1, link: true, nano: false, json: false });

test("packets: decode/format/hexdump/echoReply/filter on 100,000+ inputs", () => {
  const seed = 0x7a11;
  const rnd = mulberry32(seed);
  const fmt = new Formatter();
  const filters = [compileFilter("tcp port 80 or udp or icmp6"), compileFilter("not arp and (host 192.0.2.1 or net 2001:db8::/32)")];
  const echoBuf = new Uint8Array(70000);
  let n = 0, answered = 0, truncated = 0, malformed = 0;
  const N = 110_000;
  for (let i = 0; i < N; i++) {
    const s = seeds[Math.floor(rnd() * seeds.length)]!;
    const kind = rnd();
    let input: Uint8Array;
    let lt: LinkType = s.lt;
    if (kind < 0.1) {
      input = randomBytes(rnd, 120);
      lt = rnd() < 0.5 ? "raw" : "ethernet";
      if (lt === "raw" && input.length) input[0] = (rnd() < 0.5 ? 0x45 : 0x60) | (input[0]! & 0x0f);
    } else if (kind < 0.25) input = s.b.subarray(0, Math.floor(rnd() * (s.b.length + 1)));
    else input = mutate(rnd, s.b);
    let d;
    try {
      d = decode(input, lt);
    } catch (e) {
      fail(seed, i, "decode threw", input, e);
    }
    if (d.truncated) truncated++;
    if (d.malformed) malformed++;
    try {
      // every verbosity, with and without -e; a printer bug would show as internalError
      const v = Math.floor(rnd() * 4);
      const r1 = printRecord(input, lt === "ethernet" ? 1 : 101, input.length + (rnd() < 0.2 ? Math.floor(rnd() * 100) : 0), { v, e: rnd() < 0.3, S: rnd() < 0.5, suppressDefault: rnd() < 0.5 });
      if (r1.internalError) fail(seed, i, `printer bug (-v x${v}): ${r1.internalError}`, input, null);
      const line2 = fmt.format(input, lt, { ts: { sec: i, nsec: 0 } });
      if (!r1.text.split("\n").every((l) => TEXTLINE.test(l)) || !line2.split("\n").every((l) => TEXTLINE.test(l))) fail(seed, i, `non-printable line ${JSON.stringify(r1.text + line2)}`, input, null);
      if (i % 3 === 0) {
        // the same bytes behind the wrapped link types (SLL, SLL2, NULL, LOOP, PPP), raw and after a random header
        const wl = WRAPPED[i % WRAPPED.length]!;
        const t = wrapPrinter.text(rnd() < 0.5 ? input : randomBytes(rnd, 40), wl, { sec: i, nsec: 0 }, input.length + 20, undefined);
        if (!t.split("\n").every((l) => TEXTLINE.test(l))) fail(seed, i, `non-printable ${wl} text ${JSON.stringify(t)}`, input, null);
      }
      JSON.stringify(toJSON(d));
      if (i % 4 === 0) {
        const hx = hexdump(input, lt, rnd() < 0.5);
        for (const l of hx ? hx.split("\n") : []) if (!HEXLINE.test(l)) fail(seed, i, `bad hexdump line ${JSON.stringify(l)}`, input, null);
      }
      for (const f of filters) f.match(input, lt);
    } catch (e) {
      fail(seed, i, "format/hexdump/filter threw", input, e);
    }
    if (lt === "raw") {
      echoBuf.set(input);
      let r: number;
      try {
        r = echoReply(echoBuf, input.length);
      } catch (e) {
        fail(seed, i, "echoReply threw", input, e);
      }
      if (r !== 0) {
        answered++;
        // anything answered must come out as a well-formed reply with good checksums
        const reply = decode(echoBuf.subarray(0, r), "raw");
        const ok = (reply.ipv4 ? reply.ipv4.checksumValid : true) &&
          ((reply.icmp && reply.icmp.type === 0 && reply.icmp.checksumValid) ||
            (reply.icmpv6 && reply.icmpv6.type === 129 && reply.icmpv6.checksumValid) ||
            (reply.udp && reply.udp.srcPort === 7 && reply.udp.checksumValid));
        if (!ok || r > input.length) fail(seed, i, `bad reply ${JSON.stringify(toJSON(reply))}`, input, null);
      }
    }
    n++;
  }
  expect(n).toBe(N);
  // the mix exercised every path
  expect(answered).toBeGreaterThan(100);
  expect(truncated).toBeGreaterThan(10000);
  expect(malformed).toBeGreaterThan(1000);
}, 180_000);

function drain(read: () => unknown): void {
  for (let k = 0; k < 100000 && read(); k++);
}

test("pcap and pcapng readers: mutated files give records or typed errors only", () => {
  const seed = 0xcab;
  const rnd = mulberry32(seed);
  const pw = new PcapWriter({ linkType: "raw", snaplen: 4096 });
  const nw = new PcapngWriter({ linkType: "ethernet" });
  const some = seeds.slice(0, 12).map((s) => s.b);
  const pcap = Buffer.concat([pw.header(), ...some.map((b, i) => pw.record(b, i * 1000))]);
  const pcapng = Buffer.concat([nw.header(), ...some.map((b, i) => nw.record(b, i * 1000))]);
  let errors = 0;
  for (let i = 0; i < 6000; i++) {
    const base = i % 2 === 0 ? pcap : pcapng;
    const input = i % 10 === 0 ? randomBytes(rnd, 400) : mutate(rnd, new Uint8Array(base));
    const r = i % 2 === 0 ? new PcapReader() : new PcapngReader();
    try {
      // feed in random chunks, as a stream would
      for (let p = 0; p < input.length;) {
        const k = 1 + Math.floor(rnd() * 64);
        r.push(input.subarray(p, p + k));
        p += k;
        drain(() => r.next());
      }
      r.end();
    } catch (e) {
      if (!(e instanceof MalformedError || e instanceof TruncatedError)) fail(seed, i, "reader threw an untyped error", input, e);
      errors++;
    }
  }
  expect(errors).toBeGreaterThan(100);
}, 60_000);

test("filter parser: random expressions give a filter or a UsageError", () => {
  const seed = 0xf117;
  const rnd = mulberry32(seed);
  const words = ["tcp", "udp", "icmp", "icmp6", "arp", "ip", "ip6", "host", "net", "port", "src", "dst", "and", "or", "not", "&&", "||", "!", "(", ")", "192.0.2.1", "2001:db8::1", "10.0.0.0/8", "53", "70000", "x", "::", "/", "1.2.3", "fe80::/10", "$", ""];
  let ok = 0, bad = 0;
  for (let i = 0; i < 20000; i++) {
    const n = Math.floor(rnd() * 8);
    let e = "";
    for (let k = 0; k < n; k++) e += words[Math.floor(rnd() * words.length)]! + (rnd() < 0.8 ? " " : "");
    if (rnd() < 0.05) e += String.fromCharCode(Math.floor(rnd() * 256));
    try {
      parseFilter(e);
      ok++;
    } catch (err) {
      if (!(err instanceof UsageError)) fail(seed, i, `parseFilter(${JSON.stringify(e)}) threw an untyped error`, new Uint8Array(0), err);
      if (!PRINTABLE.test(err.message)) fail(seed, i, "non-printable message", new Uint8Array(0), err);
      bad++;
    }
  }
  expect(ok).toBeGreaterThan(500);
  expect(bad).toBeGreaterThan(500);
}, 60_000);

test("isDecodeError is what the readers throw", () => {
  expect(isDecodeError(new MalformedError("x", 0))).toBe(true);
});
