// The grammar of ip's words (cli/grammar.ts), global options (cli/globals.ts) and the batch's
// progress line: pure code, no system.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../common/errors.ts";
import { mulberry32 } from "../../common/prng.ts";
import { internWords, matches, parseTail, pickWord, q, safeLine, splitLine, WordTable } from "../../cli/grammar.ts";
import { parseGlobals, takeAnywhere } from "../../cli/globals.ts";
import { Progress } from "../../cli/batch.ts";
import { routeWords } from "../../cli/route.ts";
import { Ctx, type GlobalOptions } from "../../cli/context.ts";
import ipaddr from "ipaddr.js";
import { routeFromSpec, type RouteSpec } from "../../netlink/spec/route.ts";

const usage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("expected a UsageError");
};

describe("quoting input in error lines", () => {
  test("q escapes control characters, ANSI, NUL, bidi, quotes; cuts long words", () => {
    expect(q("tun0")).toBe('"tun0"');
    expect(q("a\x1b[31mb\x00c\x07")).toBe('"a\\x1b[31mb\\x00c\\x07"');
    expect(q('say "hi"\\')).toBe('"say \\"hi\\"\\\\"');
    expect(q("x\u202ey\n")).toBe('"x\\u202ey\\n"');
    const long = q("a".repeat(1 << 20));
    expect(long).toBe(`"${"a".repeat(56)}…" (1048576 characters)`);
  });
  test("safeLine keeps a message on one line and short", () => {
    expect(safeLine("bad\nname\x1b]0;pwned\x07")).toBe("bad name\\x1b]0;pwned\\x07");
    const m = safeLine(`Invalid IP address "${"1".repeat(100_000)}": expected IPv4`);
    expect(m).toBe(`Invalid IP address "${"1".repeat(56)}…" (100000 characters): expected IPv4`);
    expect(safeLine("z".repeat(10_000)).length).toBeLessThan(300);
  });
});

describe("splitLine", () => {
  test("plain lines and the shell-like forms", () => {
    expect(splitLine("  route add 10.0.0.0/8\tdev tun0  ")).toEqual(["route", "add", "10.0.0.0/8", "dev", "tun0"]);
    expect(splitLine("route add 10.0.0.0/8 dev tun0 # vpn")).toEqual(["route", "add", "10.0.0.0/8", "dev", "tun0"]);
    expect(splitLine("link set tk0 alias a#b")).toEqual(["link", "set", "tk0", "alias", "a#b"]);
    expect(splitLine(`a "b c" 'd#e' f\\ g`)).toEqual(["a", "b c", "d#e", "f g"]);
    expect(splitLine("")).toEqual([]);
    expect(splitLine("# x")).toEqual([]);
    expect(usage(() => splitLine("a 'b"))).toBe("Unterminated ' quote");
  });
  test("the fast path and the general one agree on 20,000 random lines", () => {
    const rnd = mulberry32(7);
    const alphabet = "ab1 \t.#/\"'\\";
    // The general path, spelled out: what splitLine did before its fast path.
    const slow = (line: string): string[] | "error" => {
      const out: string[] = [];
      let cur = "";
      let have = false;
      let quote: string | null = null;
      for (let i = 0; i < line.length; i++) {
        const c = line[i]!;
        if (quote) {
          if (c === quote) quote = null;
          else if (c === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i]!;
          else cur += c;
          continue;
        }
        if (c === '"' || c === "'") (quote = c), (have = true);
        else if (c === "#" && !have) break;
        else if (c === " " || c === "\t") {
          if (have) out.push(cur);
          cur = "";
          have = false;
        } else if (c === "\\" && i + 1 < line.length) (cur += line[++i]!), (have = true);
        else (cur += c), (have = true);
      }
      if (quote) return "error";
      if (have) out.push(cur);
      return out;
    };
    for (let k = 0; k < 20_000; k++) {
      let line = "";
      const n = Math.floor(rnd() * 20);
      for (let i = 0; i < n; i++) line += alphabet[Math.floor(rnd() * alphabet.length)];
      let got: string[] | "error";
      try {
        got = splitLine(line);
      } catch {
        got = "error";
      }
      expect([line, got]).toEqual([line, slow(line)]);
    }
  });
  test("known and recently seen words come back right: near-misses of one character, more values than a bucket keeps", () => {
    // splitLine hands out remembered strings for keywords and repeated values (bucketed by
    // first character and length): any slip in its character comparison returns a wrong word.
    internWords(["dev", "via", "metric", "table", "route", "add"]);
    const rnd = mulberry32(11);
    const vocab = ["dev", "deb", "dew", "vev", "via", "vib", "metric", "metrix", "table", "tablf", "route", "add", "adc"];
    for (let i = 0; i < 12; i++) vocab.push(`tun${i}`, `tu${i}n`, `192.0.2.${i}`, `192.0.3.${i}`, `${i}${i}0`, `10.${i}.0.0/16`);
    // Words of equal hash (h * 31 + c: "Aa" and "BB" collide), known and recent: told apart by their characters.
    internWords(["AaAa", "Aa"]);
    vocab.push("Aa", "BB", "AaAa", "BBBB", "AaBB", "BBAa", "C#", "Db");
    for (let k = 0; k < 20_000; k++) {
      const n = 1 + Math.floor(rnd() * 9);
      const words: string[] = [];
      for (let i = 0; i < n; i++) words.push(vocab[Math.floor(rnd() * vocab.length)]!);
      const line = words.join(rnd() < 0.5 ? " " : "\t");
      expect([line, splitLine(line)]).toEqual([line, words]);
    }
  });
});

describe("word tables", () => {
  const t = new WordTable({ dev: { value: true, aliases: ["oif"] }, onlink: { value: false }, metric: { value: true } });
  test("slots, aliases, flags, positional", () => {
    const p = parseTail(["route", "add", "10.0.0.0/8", "oif", "tun0", "onlink"], 2, t, "route add", 1);
    expect(p.positional).toEqual(["10.0.0.0/8"]);
    expect(p.get("dev")).toBe("tun0");
    expect(p.has("onlink")).toBe(true);
    expect(p.has("metric")).toBe(false);
    expect(p.values[t.slot("dev")]).toBe("tun0");
  });
  test("errors name the word", () => {
    expect(usage(() => parseTail(["x", "bogus"], 0, t, "route add", 1))).toBe('Unknown word "bogus" in "route add": expected dev, onlink, metric');
    expect(usage(() => parseTail(["dev", "a", "oif", "b"], 0, t, "route add"))).toBe('Word "oif" given twice in "route add"');
    expect(usage(() => parseTail(["metric"], 0, t, "route add"))).toBe('Missing value after "metric" in "route add"');
    expect(usage(() => pickWord("frob", [{ name: "add" }, { name: "del" }], "route"))).toBe('Unknown route command "frob": expected add, del');
  });
  test("ip's abbreviation rule", () => {
    expect(matches("r", "route")).toBe(true);
    expect(matches("rout", "route")).toBe(true);
    expect(matches("", "route")).toBe(false);
    expect(matches("router", "route")).toBe(false);
  });
});

describe("global options", () => {
  test("before the command word, like ip", () => {
    expect(parseGlobals(["-n", "blue", "-j", "-6", "route", "show"])).toEqual({ opts: { json: true, quiet: false, netns: "blue", family: 10 }, at: 4, help: false, version: false });
    expect(parseGlobals(["--netns=red", "-q", "list"]).opts).toEqual({ json: false, quiet: true, netns: "red" });
    expect(parseGlobals(["dump", "-n", "tun0"]).at).toBe(0); // -n after the command is the command's
    expect(parseGlobals(["-V"]).version).toBe(true);
    expect(usage(() => parseGlobals(["--jsn", "list"]))).toBe('Unknown option "--jsn" (did you mean --json?): see tunkit --help');
    expect(usage(() => parseGlobals(["-n"]))).toBe('Missing value after "-n": expected -n NAME (a network namespace)');
  });
  test("--json and --netns anywhere; -4/-6/-q/-h only for ip words", () => {
    const o: GlobalOptions = { json: false, quiet: false };
    expect(takeAnywhere(["route", "list", "--json", "--netns", "x", "-6"], o, { ipWords: true })).toEqual({ words: ["route", "list"], help: false });
    expect(o).toEqual({ json: true, quiet: false, netns: "x", family: 10 });
    const d = { json: false, quiet: false };
    expect(takeAnywhere(["dump", "-n", "tun0", "-q", "--json"], d, { ipWords: false })).toEqual({ words: ["dump", "-n", "tun0", "-q"], help: false });
  });
});

describe("batch progress line", () => {
  test("silent for the first second, then redrawn at most every 200 ms, erased by clear()", () => {
    let t = 0;
    let out = "";
    const p = new Progress((s) => void (out += s), () => t);
    t = 900;
    p.tick("applied", 1000, 0);
    expect(out).toBe("");
    t = 2000;
    p.tick("applied", 200_000, 1);
    expect(out).toBe("\r\x1b[Ktunkit batch: applied 200,000 lines, 100,000 lines/s, 1 error");
    t = 2100;
    p.tick("applied", 210_000, 1);
    expect(out.split("\r").length).toBe(2);
    p.clear();
    expect(out.endsWith("\r\x1b[K")).toBe(true);
  });
  test("no terminal, no line", () => {
    let t = 0;
    const p = new Progress(undefined, () => t);
    t = 5000;
    p.tick("applied", 1, 0);
    p.clear();
  });
  test("the terminal is asked about once, at the first redraw: a batch done within a second never asks", () => {
    let t = 0;
    let out = "";
    let asked = 0;
    const p = new Progress((s) => void (out += s), () => t, () => (asked++, false));
    for (t = 0; t < 1000; t += 100) p.tick("applied", t, 0);
    expect(asked).toBe(0);
    t = 1500;
    p.tick("applied", 1500, 0);
    t = 3000;
    p.tick("applied", 3000, 0);
    p.clear();
    expect([asked, out]).toEqual([1, ""]);
    const q = new Progress((s) => void (out += s), () => t, () => (asked++, true));
    t = 4500;
    q.tick("applied", 1500, 0);
    expect(asked).toBe(2);
    expect(out).toContain("tunkit batch: applied 1,500 lines");
  });
});

describe("route words", () => {
  const ctx = new Ctx({ stdout() {}, stderr() {} });
  test("the request of a route add and its exact undo", () => {
    const req = routeWords(ctx, ["route", "add", "2001:db8::/64", "dev", "tk0"], 1, ctx.opts).request!;
    expect(req.build(() => 7).op).toBe("add route");
    expect(req.undo!().op).toBe("undo add route");
    expect(req.undo!().subject).toBe("2001:db8::/64");
    expect(routeWords(ctx, ["route", "del", "2001:db8::/64", "dev", "tk0"], 1, ctx.opts).request!.undo).toBeUndefined();
    expect(routeWords(ctx, ["route", "replace", "10.0.0.0/8", "dev", "tk0"], 1, ctx.opts).request!.undo).toBeUndefined();
  });
  test("a unicast route needs a device or a gateway; the bad word is named first", () => {
    expect(usage(() => routeWords(ctx, ["route", "replace", "203.0.113.0/24"], 1, ctx.opts))).toBe('Missing "dev NAME" or "via ADDR" in "route replace": a unicast route needs a device or a gateway');
    expect(usage(() => routeWords(ctx, ["route", "add", "203.0.113.0/24", "proto", "bogus"], 1, ctx.opts))).toContain('Invalid protocol "bogus"');
    expect(routeWords(ctx, ["route", "add", "blackhole", "203.0.113.0/24"], 1, ctx.opts).request).toBeDefined();
  });
  test("the last-gateway memos: same bytes as a fresh parse, never shared, family checked, errors not kept", () => {
    const plan = (line: string) => (routeWords(ctx, splitLine(line), 1, ctx.opts) as unknown as { wire: { gateway?: Uint8Array; via?: unknown } }).wire;
    const a = plan("route add 10.0.0.1/32 dev tk0 via 192.0.2.1");
    const b = plan("route add 10.0.0.2/32 dev tk0 via 192.0.2.1");
    expect([...a.gateway!]).toEqual([192, 0, 2, 1]);
    expect(b.gateway).not.toBe(a.gateway); // a request never shares its bytes with another
    a.gateway![3] = 99;
    expect([...plan("route add 10.0.0.3/32 dev tk0 via 192.0.2.1").gateway!]).toEqual([192, 0, 2, 1]);
    expect([...plan("route add 10.0.0.4/32 dev tk0 via 198.51.100.7").gateway!]).toEqual([198, 51, 100, 7]);
    // The same text as the last gateway, in a line of the other family: still refused.
    expect(usage(() => plan("route add 2001:db8::/64 dev tk0 via 198.51.100.7"))).toContain('Invalid gateway "198.51.100.7": an IPv6 address is expected');
    expect(plan("route add 2001:db8::/64 dev tk0 via inet 198.51.100.7").via).toEqual({ family: 2, address: "198.51.100.7" });
    expect(usage(() => plan("route add 10.0.0.5/32 dev tk0 via 192.0.2.300"))).toContain('"192.0.2.300"');
    expect(usage(() => plan("route add 10.0.0.5/32 dev tk0 via 192.0.2.300"))).toContain('"192.0.2.300"');
    expect(usage(() => plan("route add 10.0.0.5/32 dev tk0 src 192.0.2.300"))).toContain("source address");
  });
  test("a line's prefix is parsed once (IPv6 by ipaddr.js; a dotted quad by common/addr.ts's strict fast path, never by ipaddr.js), and gives the same wire as the library's own parse", () => {
    const v4 = ipaddr.IPv4 as unknown as { parser(s: string): unknown };
    const v6 = ipaddr.IPv6 as unknown as { parser(s: string): unknown };
    const real4 = v4.parser;
    const real6 = v6.parser;
    const seen: string[] = [];
    v4.parser = function (s: string) {
      seen.push(s);
      return real4.call(this, s);
    };
    v6.parser = function (s: string) {
      seen.push(s);
      return real6.call(this, s);
    };
    const wire = (line: string) => (routeWords(ctx, splitLine(line), 1, ctx.opts) as unknown as { spec: RouteSpec; wire: unknown });
    try {
      for (const [line, texts] of [
        ["route add 10.1.2.3/32 dev tk0", []],
        ["route add 198.51.100.0/24 dev tk0 metric 7 table 100", []],
        ["route add 2001:db8:1::/48 dev tk0", ["2001:db8:1::"]],
      ] as const) {
        seen.length = 0;
        const w = wire(line);
        expect(seen).toEqual([...texts]);
        expect(w.wire).toEqual(routeFromSpec(w.spec, undefined, false, true));
      }
    } finally {
      v4.parser = real4;
      v6.parser = real6;
    }
    // `default` takes the family the line settles on later (a gateway of IPv6: ::/0).
    const d = wire("route add default via 2001:db8::1");
    expect(d.wire).toEqual(routeFromSpec(d.spec, undefined, false, true));
    expect((d.wire as { family: number }).family).toBe(10);
    expect(wire("route add default dev tk0").wire).toMatchObject({ family: 2, dstLen: 0 });
  });
});

describe("Keywords: a lookup before the index is built finds what the index finds", () => {
  test("every spelling's prefixes and some non-words, in every exported add table: the walk in ip's order and the built index agree", async () => {
    const { Keywords } = await import("../../cli/grammar.ts");
    const { ROUTE_KEYWORDS } = await import("../../cli/route.ts");
    const { ADDR_KEYWORDS } = await import("../../cli/addr.ts");
    const { LINK_KEYWORDS } = await import("../../cli/link.ts");
    const { RULE_KEYWORDS } = await import("../../cli/rule.ts");
    const { NEIGH_KEYWORDS } = await import("../../cli/neigh.ts");
    let checked = 0;
    for (const table of [ROUTE_KEYWORDS, ADDR_KEYWORDS, LINK_KEYWORDS, RULE_KEYWORDS, NEIGH_KEYWORDS] as Array<InstanceType<typeof Keywords<unknown>>>) {
      // A fresh table over the same list answers its first lookups by walking the list; `indexed` has built its index.
      const walking = new Keywords(table.list);
      const indexed = new Keywords(table.list);
      for (let i = 0; i < 20; i++) indexed.find("x");
      const words = new Set(["", "x".repeat(70), "DEV", "dev0", "métrique", "-4"]);
      for (const k of table.list) {
        for (const form of [k.name, ...(k.also ?? []).map((a) => (typeof a === "string" ? a : a.word))]) {
          for (let n = 1; n <= form.length + 1; n++) words.add((form + "z").slice(0, n));
        }
      }
      for (const w of words) {
        const fresh = new Keywords(table.list); // walks (its first lookup)
        expect(fresh.find(w)?.name).toBe(indexed.find(w)?.name);
        expect(walking.find(w)?.name).toBe(indexed.find(w)?.name); // past INDEX_AFTER lookups: indexed too
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(500);
    // ip's order decides: `d` is dsfield (tos's other spelling) in route add, `m` metric, `pri` priority (metric).
    const fresh = () => new Keywords(ROUTE_KEYWORDS.list);
    expect(fresh().find("d")?.name).toBe("tos");
    expect(fresh().find("m")?.name).toBe("metric");
    expect(fresh().find("pri")?.name).toBe("metric");
    expect(fresh().find("dev")?.name).toBe("dev");
    expect(fresh().find("oif")?.name).toBe("dev");
  });
});
