// tunkit(1) is generated from the commander tree (scripts/man.ts): it must be current, hold one
// section per command, each exactly what `tunkit COMMAND --help` prints when run as a process,
// and render with man(1) without warnings.
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { commandPaths, manPage, sectionTitle, sections } from "../../scripts/man.ts";
import { needingPeers } from "../peers.ts";

const root = join(import.meta.dir, "../..");
const page = readFileSync(join(root, "tunkit.1"), "utf8");

test("tunkit.1 is current (regenerate: bun scripts/man.ts)", async () => {
  expect(page).toBe(await manPage());
}, 120_000);

test("tunkit.1 matches --help command for command (tunkit run as a process)", async () => {
  const paths = [[], ...(await commandPaths())];
  const secs = sections(page);
  // One section per command of the tree, nothing else.
  expect([...secs.keys()].sort()).toEqual(paths.map(sectionTitle).sort());
  expect(paths.length).toBeGreaterThan(40);
  for (const p of paths) {
    const r = spawnSync(process.execPath, [join(root, "cli/main.ts"), ...p, "--help"], { encoding: "utf8", timeout: 30_000 });
    expect(r.status).toBe(0);
    expect({ command: sectionTitle(p), help: secs.get(sectionTitle(p)) }).toEqual({ command: sectionTitle(p), help: r.stdout });
  }
}, 300_000);

needingPeers("man page rendering", ["man"])("man -l tunkit.1 renders without warnings and shows every command's usage", () => {
  const r = spawnSync("man", ["--warnings", "-l", join(root, "tunkit.1")], { encoding: "utf8", env: { ...process.env, MANWIDTH: "120", MANPAGER: "cat", PAGER: "cat" } });
  expect(r.status).toBe(0);
  expect(r.stderr).toBe("");
  expect(r.stdout).toContain("TUNKIT(1)");
  for (const [title, help] of sections(page)) {
    const usage = help.split("\n")[0]!;
    expect({ title, found: r.stdout.includes(usage.trim()) }).toEqual({ title, found: true });
  }
});
