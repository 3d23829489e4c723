// Every byte a listing writes reaches its reader: a slow pipe reader gets exactly what a file
// gets (4,000 routes, 1,500 addresses, 3,000 rules: far more than a 64 KiB pipe buffer), under
// Bun, Deno and the compiled binary; so does `dump -r` of a 4,000-packet capture (text, -X,
// --json); a reader that goes away (`| head`) ends tunkit quietly with status 141.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { itest, sh } from "./_ns.ts";

const root = join(import.meta.dir, "../..");
const deno = join(root, "node_modules/.bin/deno");
const tmp = mkdtempSync(join(tmpdir(), "tk-out-"));

const binary = join(tmp, "tunkit");
const RUNTIMES: Array<[string, string]> = [
  ["bun", `${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, "cli/main.ts"))}`],
  ["deno", `${JSON.stringify(deno)} run -A ${JSON.stringify(join(root, "cli/main.ts"))}`],
  ["binary", JSON.stringify(binary)],
];

const LISTINGS = [
  "route list",
  "-j route list",
  "route list table all",
  "addr list",
  "addr list dev tk1 --json",
  "rule list",
  "-j rule list",
  "link show",
  "list",
];

/** A classic pcap (raw IPv4, LINKTYPE 101) of `n` UDP packets, written without tunkit. */
function capture(n: number): Uint8Array {
  const recs: Buffer[] = [];
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(101, 20);
  recs.push(head);
  for (let i = 0; i < n; i++) {
    const ip = Buffer.alloc(20 + 8 + 64, i & 255);
    ip.set([0x45, 0, 0, 92, (i >> 8) & 255, i & 255, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 198, 51, 100, 2], 0);
    ip.writeUInt16BE(1000 + (i % 100), 20);
    ip.writeUInt16BE(53, 22);
    ip.writeUInt16BE(72, 24);
    ip.writeUInt16BE(0, 26);
    const rh = Buffer.alloc(16);
    rh.writeUInt32LE(1_700_000_000 + i, 0);
    rh.writeUInt32LE(i, 4);
    rh.writeUInt32LE(ip.length, 8);
    rh.writeUInt32LE(ip.length, 12);
    recs.push(rh, ip);
  }
  return Buffer.concat(recs);
}
const pcap = join(tmp, "big.pcap");
const DUMPS = [`dump -r ${pcap}`, `dump -r ${pcap} -X`, `dump -r ${pcap} --json`];

beforeAll(() => {
  writeFileSync(pcap, capture(4000));
  const b = spawnSync(process.execPath, [join(root, "scripts/build.ts"), "--outfile", binary], { encoding: "utf8", timeout: 300_000 });
  if (b.status !== 0) throw new Error(`build: ${b.stdout}${b.stderr}`);
  // No IPv6 link-local addresses (addrgenmode none): they arrive after DAD, asynchronously, and
  // would make two listings taken a moment apart differ for a reason that is not the pipe.
  const lines: string[] = [
    "link add tk1 type veth peer name tk2",
    "link set tk1 addrgenmode none",
    "link set tk2 addrgenmode none",
    "link set tk1 up",
    "link set tk2 up",
  ];
  for (let i = 0; i < 4000; i++) lines.push(`route add 198.18.${i >> 8}.${i & 255}/32 dev tk1 metric ${i}`);
  for (let i = 0; i < 1500; i++) lines.push(`addr add 10.${40 + (i >> 8)}.${i & 255}.1/32 dev tk1`);
  for (let i = 0; i < 3000; i++) lines.push(`rule add from 192.0.2.${i & 255} lookup ${100 + i} pref ${1000 + i}`);
  const r = spawnSync("ip", ["-batch", "-"], { input: lines.join("\n") + "\n", encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip -batch: ${r.stderr}`);
  sh("ip", "tuntap", "add", "tk0", "mode", "tun", "user", "0"); // an owner: list warns about ownerless devices
  sh("ip", "addr", "add", "192.0.2.1/24", "dev", "tk0");
  settle();
});

/** Waits until the veth pair's carrier is up (linkwatch reports it asynchronously: routes lose
 * `linkdown` and IPv6 adds its ff00::/8 routes then) and the tables no longer change. */
function settle(): void {
  const snap = () => sh("ip", "-d", "link", "show") + sh("ip", "route", "show", "table", "all") + sh("ip", "addr", "show");
  const deadline = Date.now() + 15_000;
  let last = "";
  for (;;) {
    const now = snap();
    const up = /tk1@tk2:.*LOWER_UP.*state UP/.test(now) && /tk2@tk1:.*LOWER_UP.*state UP/.test(now);
    const mcast = sh("ip", "-6", "route", "show", "table", "local", "ff00::/8");
    if (up && mcast.includes("dev tk1") && mcast.includes("dev tk2") && now === last) return;
    if (Date.now() > deadline) throw new Error(`the test devices did not settle in 15 s:\n${now}`);
    last = now;
    Bun.sleepSync(200);
  }
}
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("output reaches a slow pipe reader whole", () => {
  for (const [rt, cmd] of RUNTIMES) {
    for (const l of [...LISTINGS, ...DUMPS]) {
      itest(`${rt}: tunkit ${l}`, () => {
        const direct = join(tmp, "direct");
        const piped = join(tmp, "piped");
        const a = spawnSync("bash", ["-c", `${cmd} ${l} > ${direct}`], { encoding: "utf8", timeout: 60_000 });
        expect(a.stderr).toBe("");
        expect(a.status).toBe(0);
        const b = spawnSync("bash", ["-c", `set -o pipefail; ${cmd} ${l} | (sleep 0.5; cat > ${piped})`], { encoding: "utf8", timeout: 60_000 });
        expect(b.stderr).toBe("");
        expect(b.status).toBe(0);
        const want = readFileSync(direct, "utf8");
        if (l.includes("route") || l.includes("addr") || l.includes("rule") || l.includes("dump")) expect(want.length).toBeGreaterThan(64 * 1024);
        expect(readFileSync(piped, "utf8")).toBe(want);
      });
    }
  }
});

describe("a reader that goes away", () => {
  for (const [rt, cmd] of RUNTIMES) {
    for (const l of ["route list", "-j route list", "addr list", "rule list", ...DUMPS]) {
      itest(`${rt}: tunkit ${l} | head: status 141, nothing on stderr`, () => {
        const r = spawnSync("bash", ["-c", `${cmd} ${l} | head -c 100 > /dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: "utf8", timeout: 60_000 });
        expect(r.stderr).toBe("");
        expect(r.stdout.trim()).toBe("141");
      });
    }
  }
});
