// cli/jit.ts: a batch line's functions kept out of JavaScriptCore's FTL tier.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keepOutOfFtl, keepOutOfFtlNow } from "../../cli/jit.ts";
import { LINE_FUNCTIONS as GRAMMAR_LINE } from "../../cli/grammar.ts";
import { lineFunctions } from "../../common/addr.ts";
import { LINE_FUNCTIONS as WIRE_LINE } from "../../netlink/route/route.ts";

const root = join(import.meta.dir, "../..");

describe("keepOutOfFtl", () => {
  test("marks functions, prototype methods and accessors, statics and nested values, each once", async () => {
    class Line {
      static parse(): number {
        return 1;
      }
      body(): number {
        return 2;
      }
      get subject(): string {
        return "s";
      }
    }
    const f = () => 3;
    const table = { list: [{ name: "dev", take: () => 4 }], line: Line, n: 5, bytes: new Uint8Array(4) };
    // f, Line, Line.prototype.body, the subject getter, Line.parse, the keyword's take
    expect(await keepOutOfFtl([f, table])).toBe(6);
    expect(keepOutOfFtlNow([f, table, Line])).toBe(0);
    expect(keepOutOfFtlNow([() => 7])).toBe(1);
  });

  test("the modules' LINE_FUNCTIONS lists hold functions (or ipaddr.js's object)", () => {
    for (const list of [GRAMMAR_LINE, lineFunctions(), WIRE_LINE]) {
      expect(list.length).toBeGreaterThan(0);
      for (const f of list) expect(["function", "object"]).toContain(typeof f);
    }
  });
});

describe("a batch's line path stays out of the FTL when the input is small", () => {
  // Without the marking, a 20,000-line batch FTL-compiles ~40 of these (wordAt, parsePrefix,
  // parseIp, splitPlain, checkU32, beginMessage, …): BUN_JSC_reportFTLCompileTimes names each.
  const ours = ["splitLine", "splitPlain", "wordAt", "spells", "parsePrefix", "parseIp", "parseCidr", "fourPart", "parseIpv4", "smallDecimal", "routeOp", "routeWords", "planRouteWire", "routeFromPrefix", "checkU32", "ifName", "intInRange", "find", "take", "next", "onLine", "parseLine", "checkLine", "handle"];
  const ftlOfCheck = (n: number, piped = false): string[] => {
    const dir = mkdtempSync(join(tmpdir(), "tk-jit-"));
    try {
      const file = join(dir, "routes.txt");
      const lines: string[] = [];
      for (let i = 0; i < n; i++) lines.push(`route add 10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/32 dev tun0 via 192.0.2.1\n`);
      writeFileSync(file, lines.join(""));
      // Piped through cat: spawnSync's `input` may hand the child a memfd, a regular file.
      const cmd = [process.execPath, join(root, "cli/main.ts"), "batch", "--check", piped ? "-" : file];
      const r = spawnSync(piped ? "sh" : cmd[0]!, piped ? ["-c", `cat "$0" | "$@"`, file, ...cmd] : cmd.slice(1), {
        encoding: "utf8",
        env: { ...process.env, BUN_JSC_reportFTLCompileTimes: "1" },
      });
      expect(r.status).toBe(0);
      expect(r.stdout).toContain(`${n} lines checked`);
      return [...r.stderr.matchAll(/^Optimized ([\w$]+)#\w+:.* using FTL/gm)].map((m) => m[1]!).filter((f) => ours.includes(f));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  test("tunkit batch --check of 20,000 route lines (under 1 MiB): none of the line's own functions is FTL-compiled", () => {
    expect(ftlOfCheck(20_000)).toEqual([]);
  });

  test("a file over 1 MiB (80,000 lines) keeps the FTL: some of them are FTL-compiled", () => {
    expect(ftlOfCheck(80_000).length).toBeGreaterThan(0);
  });

  test("piped lines keep the FTL (a pipe's first read cannot tell 20,000 lines from a million)", () => {
    expect(ftlOfCheck(20_000, true).length).toBeGreaterThan(0);
  });
});
