// The single compiled binary: built once (npm run build's script, to a temp path), copied into
// an empty folder, run with PATH=/usr/bin:/bin (no bun, no deno, no node_modules).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { spawnSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { monitorReady } from "./_cli.ts";
import { join } from "node:path";
import { until, netlinkSubscribed } from "./dump-cli.ts";

const root = join(import.meta.dir, "../..");
const buildDir = mkdtempSync(join(tmpdir(), "tk-build-"));
const runDir = mkdtempSync(join(tmpdir(), "tk-bin-"));
const bin = join(runDir, "tunkit");
const env = { PATH: "/usr/bin:/bin", LANG: "C" };
const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;

beforeAll(() => {
  const b = spawnSync(process.execPath, [join(root, "scripts/build.ts"), "--outfile", join(buildDir, "tunkit")], { encoding: "utf8", timeout: 180_000 });
  if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
  copyFileSync(join(buildDir, "tunkit"), bin);
  spawnSync("chmod", ["755", bin]);
}, 200_000);
afterAll(() => {
  rmSync(buildDir, { recursive: true, force: true });
  rmSync(runDir, { recursive: true, force: true });
});

const run = (args: string[], input?: string) => {
  const r = spawnSync(bin, args, { encoding: "utf8", env, cwd: runDir, input, timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};
const ipj = (...a: string[]) => JSON.parse(spawnSync("ip", ["-j", ...a], { encoding: "utf8" }).stdout || "[]");

test("the folder holds only the binary, and neither bun nor deno is on PATH", () => {
  expect(readdirSync(runDir)).toEqual(["tunkit"]);
  for (const rt of ["bun", "deno"]) expect(spawnSync("sh", ["-c", `command -v ${rt}`], { env }).status).not.toBe(0);
});

test("--version is the package.json version baked in", () => {
  expect(run(["--version"])).toEqual({ code: 0, out: `tunkit ${version}\n`, err: "" });
});

test("up, route add, list from the binary; ip -j agrees", () => {
  expect(run(["up", "tkb0", "192.0.2.1/24", "2001:db8::1/64"]).code).toBe(0);
  expect(run(["route", "add", "198.51.100.0/24", "dev", "tkb0", "metric", "3"]).code).toBe(0);
  expect(run(["route", "add", "2001:db8:7::/48", "dev", "tkb0"]).code).toBe(0);
  const [v] = JSON.parse(run(["list", "--json"]).out);
  expect(v.ifname).toBe("tkb0");
  expect(v.addr_info).toEqual(ipj("addr", "show", "dev", "tkb0")[0].addr_info);
  expect(ipj("route", "show", "198.51.100.0/24")[0]).toMatchObject({ dev: "tkb0", metric: 3 });
  expect(JSON.parse(run(["route", "list", "-6", "--json"]).out)).toEqual(ipj("-6", "route", "show"));
});

test("batch from stdin and exit codes 0 / 1 / 2", () => {
  expect(run(["batch", "-"], "route add 203.0.113.0/24 dev tkb0\naddr add 192.0.2.2/24 dev tkb0\n").code).toBe(0);
  expect(ipj("route", "show", "203.0.113.0/24").length).toBe(1);
  const refused = run(["route", "add", "203.0.113.0/24", "dev", "tkb0"]);
  expect(refused.code).toBe(1);
  expect(refused.err).toMatch(/^tunkit: add route: already exists "203\.0\.113\.0\/24" \(EEXIST\)\nhint: /);
  const usage = run(["addr", "add", "192.0.2.1/33", "dev", "tkb0"]);
  expect(usage).toEqual({ code: 2, out: "", err: 'tunkit: Invalid prefix length "33" for IPv4: expected 0..32\n' });
  expect(run(["--bogus"]).code).toBe(2);
});

test("monitor works in the binary (the poller's worker) and ends after --count", async () => {
  const child = spawn(bin, ["monitor", "link", "--count", "1"], { env, cwd: runDir, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  await monitorReady(1 << 0); // RTNLGRP_LINK
  spawnSync("ip", ["link", "set", "tkb0", "mtu", "1280"]);
  const code = await new Promise<number | null>((res) => child.on("exit", res));
  expect(code).toBe(0);
  expect(out).toMatch(/^\[LINK\] \d+: tkb0: <.*> mtu 1280 state /);
});

test("help, completions and doctor from the binary", () => {
  const h = run(["route", "add", "--help"]);
  expect(h.code).toBe(0);
  expect(h.out).toContain("Examples:");
  const c = run(["completions", "bash"]);
  expect(spawnSync("bash", ["-n"], { input: c.out }).status).toBe(0);
  expect(JSON.parse(run(["doctor", "--json"]).out).length).toBe(5); // + wg-crypto
  expect(run(["down", "tkb0"]).code).toBe(0);
  expect(ipj("link", "show").map((l: { ifname: string }) => l.ifname)).toEqual(["lo"]);
});

test("the binary reads no bunfig.toml or .env from the directory it runs in (a root tool must not)", () => {
  const dir = mkdtempSync(join(tmpdir(), "tk-cwd-"));
  try {
    const marker = join(dir, "preloaded");
    writeFileSync(join(dir, "evil.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "x");\n`);
    writeFileSync(join(dir, "bunfig.toml"), 'preload = ["./evil.ts"]\n');
    writeFileSync(join(dir, ".env"), "TUNKIT_DEBUG=1\n");
    const r = spawnSync(bin, ["route", "add", "203.0.113.0/33", "dev", "lo"], { encoding: "utf8", env, cwd: dir });
    expect(r.status).toBe(2);
    expect(r.stderr).toBe('tunkit: Invalid prefix length "33" for IPv4: expected 0..32\n'); // no TUNKIT_DEBUG stack trace
    expect(existsSync(marker)).toBe(false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
