// The test-peer list (tests/peers.txt) and what npm test does with it (tests/peers.ts).
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { checkPeers, installCommand, loadPeers, packagesOf, parsePeers, planPeerSetup, present } from "../peers.ts";

describe("tests/peers.txt", () => {
  test("lists the peers the suite and the upcoming tests need, each with a probe and a reason", () => {
    const peers = loadPeers();
    const pkgs = packagesOf(peers);
    for (const p of ["iproute2", "iputils-ping", "tcpdump", "strace", "gcc", "libc6-dev", "util-linux", "procps", "microsocks", "dante-server", "tinyproxy", "curl", "nftables", "socat", "iperf3", "wireguard-go", "wireguard-tools"]) {
      expect({ p, listed: pkgs.includes(p) }).toEqual({ p, listed: true });
    }
    for (const p of peers) expect(p.why.length).toBeGreaterThan(10);
    // one line per probe: needing() finds its package unambiguously
    expect(new Set(peers.map((p) => p.probe)).size).toBe(peers.length);
  });

  test("every package is one apt knows (apt-get -s: a simulation, nothing installed)", () => {
    const r = spawnSync("apt-get", ["-s", "-o", "Debug::NoLocking=1", "install", "--no-install-recommends", ...packagesOf(loadPeers())], { encoding: "utf8", env: { ...process.env, LANG: "C" } });
    expect(r.error?.message ?? "").toBe(""); // apt-get exists: this project's machines are Debian
    expect({ code: r.status, err: r.stderr.split("\n").filter((l) => l.startsWith("E:")) }).toEqual({ code: 0, err: [] });
  }, 180_000);
});

describe("needing() calls", () => {
  test("every probe a test file asks for is listed (a missing line would fail that file at load, as it once did in CI)", () => {
    const { readdirSync, readFileSync } = require("node:fs") as typeof import("node:fs");
    const { join } = require("node:path") as typeof import("node:path");
    const listed = new Set(loadPeers().map((p) => p.probe));
    const root = join(import.meta.dir, "..");
    const asked: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const f = join(dir, e.name);
        if (e.isDirectory()) { if (e.name !== "fixtures") walk(f); continue; }
        if (!/\.(ts|tsx)$/.test(e.name)) continue;
        for (const m of readFileSync(f, "utf8").matchAll(/needing\(\s*"[^"]*"\s*,\s*\[([^\]]*)\]/g)) {
          for (const q of m[1]!.matchAll(/"([^"]+)"/g)) asked.push(`${e.name}: ${q[1]}`);
        }
      }
    };
    walk(root);
    expect(asked.length).toBeGreaterThan(10);
    expect(asked.filter((a) => !listed.has(a.split(": ")[1]!))).toEqual([]);
  });
});

describe("parsePeers", () => {
  test("three columns, the reason is the rest of the line; comments and blanks ignored", () => {
    expect(parsePeers("# x\n\n  a  /usr/bin/a  b c  d \n")).toEqual([{ pkg: "a", probe: "/usr/bin/a", why: "b c  d" }]);
  });
  test("a line without a reason is refused with its line number", () => {
    expect(() => parsePeers("# x\npkg probe\n")).toThrow('tests/peers.txt line 2: expected "package probe why...", got "pkg probe"');
  });
});

describe("present / checkPeers", () => {
  test("a command on PATH, an absolute path, and missing ones", () => {
    expect(present("sh")).toBe(true);
    expect(present("/etc/passwd")).toBe(true);
    expect(present("tunkit-no-such-program")).toBe(false);
    expect(present("/nonexistent/tunkit")).toBe(false);
  });
  test("a probe that is not in the list is refused: the runner would never install it", () => {
    expect(() => checkPeers("x", ["tunkit-no-such-program"])).toThrow("x: tunkit-no-such-program not in tests/peers.txt");
  });
  test("nothing missing: no message", () => {
    const { missing, message } = checkPeers("x", ["unshare"]);
    expect({ missing, message }).toEqual({ missing: [], message: "" });
  });
});

describe("planPeerSetup", () => {
  const ping = { pkg: "iputils-ping", probe: "ping", why: "a real ping" };
  const dante = { pkg: "dante-server", probe: "danted", why: "SOCKS5 with UDP" };
  test("nothing missing: nothing to do", () => {
    expect(planPeerSetup([], { root: true, debian: true, optOut: false })).toEqual({ action: "none" });
  });
  test("Debian as root: installs, listing what and why, and the exact command", () => {
    const p = planPeerSetup([ping, dante], { root: true, debian: true, optOut: false });
    expect(p.action).toBe("install");
    if (p.action === "none") throw new Error("unreachable");
    expect(p.packages).toEqual(["iputils-ping", "dante-server"]);
    expect(p.lines).toEqual([
      "Installing 2 missing test peer package(s) (tests/peers.txt; TUNKIT_TEST_NO_INSTALL=1 opts out):",
      "  iputils-ping (ping): a real ping",
      "  dante-server (danted): SOCKS5 with UDP",
      "$ apt-get update && apt-get install -y --no-install-recommends iputils-ping dante-server",
    ]);
  });
  test("opted out: reports with the install command, installs nothing", () => {
    const p = planPeerSetup([ping], { root: true, debian: true, optOut: true });
    expect(p.action).toBe("report");
    if (p.action === "none") throw new Error("unreachable");
    expect(p.lines.at(-1)).toBe(`!!! install them with: ${installCommand(["iputils-ping"])}`);
  });
  test("not root, or not Debian: one line that says which", () => {
    const a = planPeerSetup([ping], { root: false, debian: true, optOut: false });
    const b = planPeerSetup([ping], { root: true, debian: false, optOut: false });
    if (a.action === "none" || b.action === "none") throw new Error("unreachable");
    expect([a.action, b.action]).toEqual(["report", "report"]);
    expect(a.lines).toEqual(["!!! test peers missing (iputils-ping), not installed because not running as root: the tests that need them will FAIL"]);
    expect(b.lines).toEqual(["!!! test peers missing (iputils-ping), not installed because this is not a Debian-family system: the tests that need them will FAIL"]);
  });
});
