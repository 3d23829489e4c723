import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../../cli/run.ts";

const root = join(import.meta.dir, "../..");
const FIXTURE = join(root, "tests/fixtures/cli/help.txt");

/** Runs the CLI in-process and captures what it writes. */
async function cli(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(argv, { stdout: (s) => void (out += s), stderr: (s) => void (err += s) });
  return { code, out, err };
}

const PAGES = [
  [], ["up"], ["down"], ["list"], ["show"], ["link"], ["link", "set"], ["link", "show"], ["addr"], ["addr", "add"],
  ["addr", "del"], ["addr", "list"], ["addr", "flush"], ["route"], ["route", "add"], ["route", "del"], ["route", "replace"],
  ["route", "append"], ["route", "change"], ["route", "list"], ["route", "get"], ["route", "flush"], ["batch"], ["rule"], ["rule", "add"], ["neigh"], ["neigh", "add"], ["link", "add"], ["monitor"], ["doctor"], ["completions"], ["ping"], ["wg"],
];

test("help of every command matches the snapshot (tests/fixtures/cli/help.txt)", async () => {
  let all = "";
  for (const p of PAGES) {
    const r = await cli([...p, "--help"]);
    expect(r.code).toBe(0);
    expect(r.err).toBe("");
    all += `=== tunkit ${p.join(" ")} --help\n${r.out}\n`;
  }
  // Rewritten only on request (npm test -- --update-snapshots); a missing snapshot is a failure.
  if (process.env.UPDATE_SNAPSHOTS === "1") writeFileSync(FIXTURE, all);
  if (!existsSync(FIXTURE)) throw new Error(`snapshot ${FIXTURE} is missing: review the help, then write it with: npm test -- --update-snapshots cli-help`);
  expect(all).toBe(readFileSync(FIXTURE, "utf8"));
}, 60_000);

test("every command's help has examples", async () => {
  for (const p of PAGES) {
    const r = await cli([...p, "--help"]);
    if (["link", "addr", "route", "rule", "neigh"].includes(p.join(" "))) continue; // groups list their commands
    expect(r.out).toContain("Examples:");
  }
}, 60_000);

test("--version prints the package.json version", async () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
  const r = await cli(["--version"]);
  expect(r.out.trim()).toBe(`tunkit ${pkg.version} (source, bun ${process.versions.bun})`);
});

test("bash completion: passes bash -n and completes subcommands and words", async () => {
  const script = (await cli(["completions", "bash"])).out;
  expect(spawnSync("bash", ["-n"], { input: script }).status).toBe(0);
  const complete = (words: string[], cword: number): string => {
    const arr = words.map((w) => `'${w}'`).join(" ");
    const r = spawnSync("bash", ["-c", `source /dev/stdin; COMP_WORDS=(${arr}); COMP_CWORD=${cword}; _tunkit; echo "\${COMPREPLY[@]}"`], { input: script, encoding: "utf8" });
    return r.stdout.trim();
  };
  expect(complete(["tunkit", "ro"], 1)).toBe("route");
  expect(complete(["tunkit", "route", ""], 2).split(" ")).toEqual(["add", "change", "replace", "prepend", "append", "del", "list", "get", "flush"]);
  expect(complete(["tunkit", "route", "add", "10.0.0.0/8", "me"], 4)).toBe("metric");
  expect(complete(["tunkit", "-n", "x", "addr", "fl"], 4)).toBe("flush");
  expect(complete(["tunkit", "completions", ""], 2)).toBe("bash zsh fish");
  expect(complete(["tunkit", "up", "tun0", "--mu"], 3)).toBe("--multi-queue");
  expect(complete(["tunkit", "link", "set", "lo", "mt"], 4)).toBe("mtu");
}, 60_000);

test("zsh and fish scripts are generated from the same tree", async () => {
  const zsh = (await cli(["completions", "zsh"])).out;
  expect(zsh.startsWith("#compdef tunkit")).toBe(true);
  expect(zsh).toContain('"route add")');
  const fish = (await cli(["completions", "fish"])).out;
  expect(fish).toContain("complete -c tunkit");
  expect(fish).toContain("__fish_seen_subcommand_from route");
  const bad = await cli(["completions", "tcsh"]);
  expect(bad.code).toBe(2);
  expect(bad.err).toBe('tunkit: Unknown shell "tcsh": expected bash, zsh or fish\n');
});
