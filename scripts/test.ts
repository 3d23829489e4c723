/**
 * `npm test`: sets up the test peers (tests/peers.txt), then runs the unit tests (no privilege),
 * every integration test file inside a network namespace of its own (`unshare -n`, or
 * `unshare -rn` when not root but user namespaces are allowed), then the Deno smoke test.
 *
 * Peers: on a Debian-family machine as root, the missing peers are installed first (one
 * `apt-get update` + `apt-get install -y --no-install-recommends`, with a policy-rc.d that keeps
 * the proxies' services from starting, removed afterwards). TUNKIT_TEST_NO_INSTALL=1 opts out;
 * then, as when not root or not on Debian, a test needing a missing peer FAILS (never skips).
 *
 * Honesty: without the privilege for a namespace the integration files are reported as skipped,
 * loudly, and the run fails (nothing of it was checked). Under CI=true a skipped test is a
 * failure too.
 *
 * Phases: typecheck (tsc), examples (scripts/examples.ts: every JSDoc @example type-checked,
 * the ones with checked value comments run), unit, integration, deno.
 *
 * Usage: bun scripts/test.ts [--unit] [--integration] [--update-snapshots] [filter...]
 *   --update-snapshots  rewrite the snapshots (UPDATE_SNAPSHOTS=1), e.g. tests/fixtures/cli/help.txt
 */
import { spawnSync } from "node:child_process";
import { readdirSync, existsSync, writeFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadPeers, missingPeers, planPeerSetup, present } from "../tests/peers.ts";

const root = resolve(import.meta.dir, "..");
const bun = process.execPath;
const deno = join(root, "node_modules/.bin/deno");
const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith("--"));
const wantUnit = !args.includes("--integration");
const wantIntegration = !args.includes("--unit");
const ci = process.env.CI === "true" || process.env.CI === "1";
const childEnv: Record<string, string | undefined> = { ...process.env, TUNKIT_TEST: "1" };
if (args.includes("--update-snapshots")) childEnv.UPDATE_SNAPSHOTS = "1";

type Tally = { pass: number; fail: number; skip: number; failedFiles: string[] };
const total: Tally = { pass: 0, fail: 0, skip: 0, failedFiles: [] };

function count(out: string, label: string, code: number | null): void {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const pass = num(/^\s*(\d+) pass\s*$/m);
  const fail = num(/^\s*(\d+) fail\s*$/m);
  const skip = num(/^\s*(\d+) skip\s*$/m);
  total.pass += pass;
  total.skip += skip;
  // A runner that crashed or timed out without a summary counts as one failure.
  const failed = fail > 0 || code !== 0 ? Math.max(fail, 1) : 0;
  total.fail += failed;
  if (failed) total.failedFiles.push(label);
}

function run(label: string, cmd: string[], timeoutSec: number): void {
  console.log(`\n=== ${label}`);
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    cwd: root,
    encoding: "utf8",
    timeout: timeoutSec * 1000,
    killSignal: "SIGKILL",
    maxBuffer: 64 * 1024 * 1024,
    env: childEnv,
  });
  const out = (r.stdout ?? "") + (r.stderr ?? "");
  process.stdout.write(out);
  if (r.error) console.log(`!!! ${label}: ${r.error.message}`);
  if (r.signal) console.log(`!!! ${label}: killed by ${r.signal} (timeout ${timeoutSec}s?)`);
  count(out, label, r.status);
}

function nsPrefix(): string[] | null {
  const probe = (cmd: string[]) => spawnSync(cmd[0]!, cmd.slice(1), { stdio: "ignore" }).status === 0;
  if (probe(["unshare", "-n", "true"])) return ["unshare", "-n"];
  if (probe(["unshare", "-rn", "true"])) return ["unshare", "-rn"];
  return null;
}

const match = (f: string) => only.length === 0 || only.some((o) => f.includes(o));

/** Installs the missing test peers when allowed (see the header), or says why not. */
function setUpPeers(): void {
  const peers = loadPeers();
  const missing = missingPeers(peers);
  const plan = planPeerSetup(missing, {
    root: process.getuid?.() === 0,
    debian: existsSync("/etc/debian_version") && present("apt-get") && present("dpkg"),
    optOut: process.env.TUNKIT_TEST_NO_INSTALL === "1",
  });
  if (plan.action === "none") {
    console.log(`test peers: all ${peers.length} present (tests/peers.txt)`);
    return;
  }
  console.log(plan.lines.join("\n"));
  if (plan.action === "report") return;
  // dante's and tinyproxy's postinst would start them as services: policy-rc.d exit 101 = "don't"
  // (as on any container without an init system). Ours only, removed afterwards.
  const policy = "/usr/sbin/policy-rc.d";
  const ours = !existsSync(policy);
  const cleanup = () => {
    if (ours) rmSync(policy, { force: true });
  };
  if (ours) writeFileSync(policy, "#!/bin/sh\n# written by tunkit's scripts/test.ts while it installs test peers\nexit 101\n", { mode: 0o755 });
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    process.kill(process.pid, sig);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    const step = (argv: string[]) => {
      const r = spawnSync(argv[0]!, argv.slice(1), { stdio: ["ignore", "inherit", "inherit"], env, timeout: 30 * 60_000 });
      if (r.status !== 0) {
        console.log(`!!! "${argv.join(" ")}" failed (${r.error?.message ?? (r.signal ? `killed by ${r.signal}` : `exit ${r.status}`)}): the tests that need ${plan.packages.join(", ")} will fail`);
        return false;
      }
      return true;
    };
    if (step(["apt-get", "-o", "DPkg::Lock::Timeout=600", "update", "-qq"])) step(["apt-get", "-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq", "--no-install-recommends", ...plan.packages]);
  } finally {
    cleanup();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
  const still = missingPeers(peers);
  if (still.length) console.log(`!!! still missing after the install: ${still.map((p) => `${p.probe} (${p.pkg})`).join(", ")}; the tests that need them will FAIL`);
  else console.log(`test peers: installed ${plan.packages.join(" ")}`);
}

setUpPeers();

if (wantUnit && match("typecheck")) {
  // The whole project through tsc (strict): a type error anywhere fails the run.
  console.log("\n=== typecheck (tsc --noEmit -p .)");
  const r = spawnSync(join(root, "node_modules/.bin/tsc"), ["--noEmit", "-p", "."], { cwd: root, encoding: "utf8", timeout: 600_000 });
  process.stdout.write((r.stdout ?? "") + (r.stderr ?? ""));
  if (r.status === 0) {
    console.log(" 1 pass\n 0 fail");
    total.pass += 1;
  } else {
    console.log(`!!! typecheck: ${r.error?.message ?? `tsc exited ${r.status ?? r.signal}`}\n 0 pass\n 1 fail`);
    total.fail += 1;
    total.failedFiles.push("typecheck");
  }
}

if (wantUnit && match("examples")) {
  // Every @example of the public API type-checked; those with checked value comments run.
  run("examples (JSDoc @example blocks)", [bun, join(root, "scripts/examples.ts")], 900);
}

if (wantUnit) {
  const files = readdirSync(join(root, "tests/unit")).filter((f) => f.endsWith(".test.ts") && match(f));
  // --timeout: a backstop sized for a loaded 2-core machine (bun's default 5 s is not); heavy
  // tests set their own.
  if (files.length) run(`unit (${files.length} files)`, [bun, "test", "--timeout", "30000", ...files.map((f) => `tests/unit/${f}`)], 900);
}

if (wantIntegration) {
  const files = readdirSync(join(root, "tests/integration")).filter((f) => f.endsWith(".test.ts") && match(f)).sort();
  const ns = nsPrefix();
  if (!ns) {
    const bar = "!".repeat(78);
    console.log(`\n${bar}\n!!! SKIPPED: ${files.length} integration test files. They need a network namespace:\n!!! run as root, or allow user namespaces (sysctl kernel.unprivileged_userns_clone=1).\n!!! Nothing of them was checked, so this run FAILS (npm test -- --unit runs the unit tests alone).\n${bar}`);
    total.skip += files.length;
    total.fail += 1;
    total.failedFiles.push("integration (no network namespace)");
  } else {
    for (const f of files) {
      // Each file gets a fresh network namespace with loopback up, and nothing else. The default
      // per-test timeout is a backstop sized for a loaded 2-core machine; heavy tests set their own.
      run(`integration ${f} (${ns.join(" ")})`, [...ns, "sh", "-c", `ip link set lo up 2>/dev/null; exec "$0" test --timeout 120000 "$1"`, bun, `tests/integration/${f}`], 600);
    }
    // Deno: every tests/deno/*.ts (but _harness.ts) is a plain script printing bun-test-style " N pass / N fail".
    const denoDir = join(root, "tests/deno");
    const denoFiles = existsSync(denoDir) ? readdirSync(denoDir).filter((f) => f.endsWith(".ts") && !f.startsWith("_") && match(`deno ${f}`)).sort() : [];
    for (const f of denoFiles) {
      run(`deno ${f} (${ns.join(" ")})`, [...ns, "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$0" run -A "$1"', deno, `tests/deno/${f}`], 300);
    }
  }
}

if (ci && total.skip > 0) {
  console.log(`\n!!! CI=true: ${total.skip} skipped test(s) count as a failure (a skip checks nothing)`);
  total.fail += 1;
  total.failedFiles.push("skipped tests under CI");
}
if (total.pass === 0 && total.fail === 0) {
  console.log("\n!!! no test ran");
  total.fail += 1;
  total.failedFiles.push("no test ran");
}

console.log("");
if (total.failedFiles.length) console.log(`Failed: ${total.failedFiles.join(", ")}`);
console.log(`${total.pass} passed, ${total.fail} failed${total.skip ? `, ${total.skip} skipped` : ""}`);
process.exit(total.fail > 0 ? 1 : 0);
