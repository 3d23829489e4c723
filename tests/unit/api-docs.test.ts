/**
 * Docs that cannot rot (issue 15): `deno doc --lint` reports nothing on any entry the package
 * exports. Each entry is linted on its own, as a user of that entry sees it: a type a public
 * signature uses must be exported from that same entry (private-type-ref), and every exported
 * symbol, member, constructor and overload has JSDoc (missing-jsdoc).
 *
 * Deno comes from npm (node_modules/.bin/deno); the lint reads local files only, so it runs
 * offline with an empty DENO_DIR.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");
const deno = join(root, "node_modules/.bin/deno");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { exports: Record<string, string | { bun?: string }> };
const entries = Object.values(pkg.exports)
  .map((v) => (typeof v === "string" ? v : v.bun))
  .filter((v): v is string => typeof v === "string" && v.endsWith(".ts"))
  .map((v) => v.replace(/^\.\//, ""));

/** Runs `deno doc --lint` on one entry; returns the exit status and its problems, one line each. */
function lint(entry: string, denoDir: string): { status: number | null; problems: string[]; out: string } {
  const r = spawnSync(deno, ["doc", "--lint", entry], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
    env: { ...process.env, NO_COLOR: "1", DENO_DIR: denoDir, DENO_NO_UPDATE_CHECK: "1" },
  });
  const out = (r.stdout ?? "") + (r.stderr ?? "");
  const lines = out.split("\n");
  const problems: string[] = [];
  lines.forEach((l, i) => {
    if (!/^error\[[\w-]+\]/.test(l)) return;
    const at = lines[i + 1]?.match(/-->\s*(\S+)/)?.[1]?.replace(`${root}/`, "") ?? "?";
    problems.push(`${at}: ${l}`);
  });
  return { status: r.status, problems, out };
}

describe("deno doc --lint on the package's entries", () => {
  test("the entries are the package.json exports (mod.ts and one per area)", () => {
    expect(entries).toEqual(["mod.ts", "tun/mod.ts", "netlink/mod.ts", "packet/mod.ts", "proxy/mod.ts", "wg/mod.ts", "common/mod.ts"]);
  });

  const denoDir = mkdtempSync(join(tmpdir(), "tk-denodir-"));
  afterAll(() => rmSync(denoDir, { recursive: true, force: true }));
  for (const entry of entries) {
    test(`${entry}: 0 problems`, () => {
      const r = lint(entry, denoDir);
      // A crash or a missing deno must not pass as "no problems": the run ends with "Checked N files".
      expect(r.out).toMatch(/Checked \d+ files?/);
      expect(r.problems.slice(0, 20)).toEqual([]);
      expect(r.problems.length).toBe(0);
      expect(r.status).toBe(0);
    }, 120_000);
  }

  test("the lint does find a problem when there is one (a control: an undocumented export)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tk-doclint-"));
    try {
      const f = join(dir, "bad.ts");
      writeFileSync(f, "/** @module */\nexport interface Hidden { a: number }\n/** Documented, but its type is private. */\nexport function f(): Hidden2 { return { b: 1 }; }\ninterface Hidden2 { b: number }\n");
      const r = lint(f, denoDir);
      expect(r.problems.some((p) => p.includes("missing-jsdoc"))).toBe(true);
      expect(r.problems.some((p) => p.includes("private-type-ref"))).toBe(true);
      expect(r.status).not.toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
