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

describe("one list per set of shared types (issue 15)", () => {
  /**
   * Names a file exports type-only by an explicit list (`export type { A, B } from …`); in an
   * entry, only in its closing "Types the … refer to" section (the curated names above it may
   * name a shared type on purpose: `tunkit` lists `Link`, `Route`… for a first program).
   */
  const explicitTypeNames = (file: string) =>
    [...readFileSync(join(root, file), "utf8").split(/^\/\/ Types the /m).at(-1)!.matchAll(/export type \{([^}]*)\} from "[^"]+";/g)]
      .flatMap((m) => m[1]!.split(","))
      .map((n) => n.trim())
      .filter(Boolean);
  const shared = {
    "netlink/rtnl-types.ts": explicitTypeNames("netlink/rtnl-types.ts"),
    "tun/device-types.ts": explicitTypeNames("tun/device-types.ts"),
  };
  const users: Record<string, (keyof typeof shared)[]> = {
    "mod.ts": ["netlink/rtnl-types.ts", "tun/device-types.ts"],
    "tun/mod.ts": ["netlink/rtnl-types.ts"],
    "proxy/mod.ts": ["netlink/rtnl-types.ts", "tun/device-types.ts"],
    "wg/mod.ts": ["netlink/rtnl-types.ts", "tun/device-types.ts"],
  };

  test("the shared modules hold the lists (Rtnl's types; a tun device's types)", () => {
    expect(shared["netlink/rtnl-types.ts"]).toContain("Rtnl");
    expect(shared["netlink/rtnl-types.ts"].length).toBeGreaterThan(50);
    expect(shared["tun/device-types.ts"].sort()).toEqual(["ListenOptions", "TunDevice", "TunFlags", "TunQueue"]);
  });

  for (const [entry, mods] of Object.entries(users)) {
    test(`${entry} re-exports the shared lists with export type * and repeats none of their names`, () => {
      const text = readFileSync(join(root, entry), "utf8");
      const own = explicitTypeNames(entry);
      for (const m of mods) {
        expect(text).toContain(`export type * from "${entry.includes("/") ? "../" : "./"}${m}";`);
        expect(own.filter((n) => shared[m].includes(n))).toEqual([]);
      }
    });
  }
});
