// The @example checker (scripts/examples.ts): which blocks it finds, which value comments it
// checks, and that a drifted example fails.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { extractExamples, valueChecks } from "../../scripts/examples.ts";

const doc = (body: string[], after = "export function f(x: number) { return x + 1; }") =>
  ["/**", " * Adds one.", " *", ...body.map((l) => ` * ${l}`.trimEnd()), " */", after, ""].join("\n");

describe("extractExamples", () => {
  test("the ```ts blocks under @example, with the documented export and the first code line", () => {
    const src = doc(["@example", "```ts", 'import { f } from "./a.ts";', "f(1); // 2", "```", "@returns x"]);
    expect(extractExamples("a.ts", src)).toEqual([{ file: "a.ts", line: 6, name: "f", code: ['import { f } from "./a.ts";', "f(1); // 2"] }]);
  });
  test("fences outside @example, and other tags' fences, are not examples; several blocks are", () => {
    const src = doc(["```ts", "nope();", "```", "@example", "```ts", "one();", "```", "```", "two();", "```", "@see", "```ts", "no();", "```"]);
    expect(extractExamples("a.ts", src).map((b) => b.code)).toEqual([["one();"], ["two();"]]);
  });
});

describe("valueChecks", () => {
  test("EXPR; // VALUE, console.log(EXPR); // VALUE, and a value on the next line are checked", () => {
    const { checks, bad } = valueChecks(["f(1); // 2", "console.log(g()); // \"x\"", "h();", "// { a: [1, 2] }", "k(); // -1"]);
    expect(checks.map((c) => [c.expr, c.value, c.index, c.commentIndex])).toEqual([["f(1)", "2", 0, 0], ["g()", '"x"', 1, 1], ["h()", "{ a: [1, 2] }", 2, 3], ["k()", "-1", 4, 4]]);
    expect(bad).toEqual([]);
  });
  test("prose, sketches with ..., declarations and imports are not checked", () => {
    const { checks, bad } = valueChecks(["f(); // throws UsageError", "g(); // [1, 2, ...]", "const x = h(); // 3", 'import { a } from "./a.ts"; // 1', "w.arm(); // MSG_DONTWAIT"]);
    expect({ checks, bad }).toEqual({ checks: [], bad: [] });
  });
  test("a note after the literal is left out; symbolic values (constants) are not checked", () => {
    const { checks, bad } = valueChecks(["f(); // 42: the answer", "g(); // 80 (1/8 ms)", 'h(); // "x" where y', "k(); // [RTM_NEWLINK, 1]"]);
    expect(checks.map((c) => [c.expr, c.value])).toEqual([["f()", "42"], ["g()", "80"], ["h()", '"x"']]);
    expect(bad).toEqual([]);
  });
  test("a statement over several lines is checked whole", () => {
    const { checks } = valueChecks(["f({ a: 1,", "  b: 2 });", "// 3"]);
    expect(checks.map((c) => [c.start, c.index, c.expr, c.value])).toEqual([[0, 1, "f({ a: 1,\nb: 2 })", "3"]]);
  });
  test("a literal-looking value no part of which parses, or after several statements, is an error", () => {
    const { bad } = valueChecks(["f(); // [1, 2 the list", "a; b; // 1, 2"]);
    expect(bad.map((b) => [b.index, b.value])).toEqual([[0, "[1, 2 the list"], [1, "1, 2"]]);
  });
});

test("the checker fails a drifted example and a broken one, naming file and line (run on a scratch tree)", () => {
  // A scratch copy of the layout: scripts/examples.ts scans SOURCES under its own root.
  const dir = mkdtempSync(join(tmpdir(), "tk-examples-"));
  try {
    const root = resolve(import.meta.dir, "../..");
    spawnSync("mkdir", ["-p", join(dir, "scripts"), join(dir, "common")]);
    spawnSync("cp", [join(root, "scripts/examples.ts"), join(dir, "scripts/")]);
    spawnSync("cp", [join(root, "tsconfig.json"), dir]);
    spawnSync("ln", ["-s", join(root, "node_modules"), join(dir, "node_modules")]);
    writeFileSync(join(dir, "common/m.ts"), [
      doc(["@example", "```ts", 'import { f } from "./m.ts";', "f(1); // 3", "```"]),
      doc(["@example", "```ts", 'import { g } from "./m.ts";', "g(undefinedThing);", "```"], "export function g(x: number) { return x; }"),
      doc(["@example", "```ts", 'import { h } from "./m.ts";', "h(2); // 4", "```"], "export function h(x: number) { return x * 2; }"),
    ].join("\n"));
    const r = spawnSync(process.execPath, [join(dir, "scripts/examples.ts")], { cwd: dir, encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("(fail) common/m.ts:6 @example of f\n  ran and failed: common/m.ts:7: expected 3, got 2");
    expect(r.stdout).toMatch(/\(fail\) common\/m\.ts:\d+ @example of g\n  common\/m\.ts:\d+:\d+: error TS2304: Cannot find name 'undefinedThing'/);
    expect(r.stdout).toContain(" 1 pass\n 2 fail");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 120_000);
