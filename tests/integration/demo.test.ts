// `npm run demo` needs nothing but `npm ci`: run it with ping, tcpdump and ip hidden (empty files
// bind-mounted over them in a private mount namespace, so nothing on the machine changes) and it
// still proves the round trip through tun0 with tunkit's own ping.
import { expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { needing } from "./_ns.ts";

const { ptest } = needing("demo", ["unshare", "mount"]);
const root = resolve(import.meta.dir, "../..");

ptest("the demo passes on a machine without ping, tcpdump or iproute2, and says the system's ping was not used", () => {
  const dir = mkdtempSync(join(tmpdir(), "tk-demo-"));
  const empty = join(dir, "empty");
  writeFileSync(empty, "", { mode: 0o644 });
  try {
    const hide = ["ping", "tcpdump", "ip", "tshark"]
      .map((b) => spawnSync("sh", ["-c", `command -v ${b}`], { encoding: "utf8" }).stdout.trim())
      .filter((p) => p.startsWith("/"))
      .map((p) => `mount --bind ${empty} ${p}`)
      .join(" && ");
    const script = `${hide || "true"} && for b in ping tcpdump ip; do if command -v $b >/dev/null; then echo "still there: $b"; exit 9; fi; done; exec "$0" scripts/demo.ts`;
    const r = spawnSync("unshare", ["-m", "sh", "-c", script, process.execPath], { cwd: root, encoding: "utf8", timeout: 240_000 });
    const out = r.stdout + r.stderr;
    if (r.status !== 0) console.log(`--- the demo's output:\n${out}---`);
    expect(r.status).toBe(0);
    expect(out).toContain("3 packets transmitted, 3 received, 0% packet loss");
    expect(out).toMatch(/^64 bytes from 10\.1\.1\.2: icmp_seq=3 ttl=64 time=[\d.]+ ms$/m);
    expect(out.match(/ In IP 10\.1\.1\.2 > 192\.168\.1\.1: ICMP echo reply/g)?.length).toBe(3); // the replies came back through tun0
    expect(out).toContain("6 packets captured");
    expect(out).toContain("The system's ping is not installed here");
    expect(out).toContain("3 requests answered");
    expect(out).not.toContain("demo failed");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 300_000);
