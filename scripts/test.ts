/**
 * `npm test`: unit tests (no privilege), then every integration test file inside a network
 * namespace of its own (`unshare -n`, or `unshare -rn` when not root but user namespaces are
 * allowed), then the Deno smoke test. Without the privilege for a namespace, integration tests
 * are reported as SKIPPED, loudly, and never counted as passed.
 *
 * Usage: bun scripts/test.ts [--unit] [--integration] [filter...]
 */
import { spawnSync } from "node:child_process";
import { readdirSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const bun = process.execPath;
const deno = join(root, "node_modules/.bin/deno");
const args = process.argv.slice(2);
const only = args.filter((a) => !a.startsWith("--"));
const wantUnit = !args.includes("--integration");
const wantIntegration = !args.includes("--unit");

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
    env: { ...process.env, TUNKIT_TEST: "1" },
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

if (wantUnit) {
  const files = readdirSync(join(root, "tests/unit")).filter((f) => f.endsWith(".test.ts") && match(f));
  if (files.length) run(`unit (${files.length} files)`, [bun, "test", ...files.map((f) => `tests/unit/${f}`)], 900);
}

if (wantIntegration) {
  const files = readdirSync(join(root, "tests/integration")).filter((f) => f.endsWith(".test.ts") && match(f)).sort();
  const ns = nsPrefix();
  if (!ns) {
    const bar = "!".repeat(78);
    console.log(`\n${bar}\n!!! SKIPPED: ${files.length} integration test files. They need a network namespace:\n!!! run as root, or allow user namespaces (sysctl kernel.unprivileged_userns_clone=1).\n${bar}`);
    total.skip += files.length;
  } else {
    for (const f of files) {
      // Each file gets a fresh network namespace with loopback up, and nothing else.
      run(`integration ${f} (${ns.join(" ")})`, [...ns, "sh", "-c", `ip link set lo up 2>/dev/null; exec "$0" test --timeout 60000 "$1"`, bun, `tests/integration/${f}`], 600);
    }
    // Deno: every tests/deno/*.ts is a plain script printing bun-test-style " N pass / N fail".
    const denoDir = join(root, "tests/deno");
    const denoFiles = existsSync(denoDir) ? readdirSync(denoDir).filter((f) => f.endsWith(".ts") && match(`deno ${f}`)).sort() : [];
    for (const f of denoFiles) {
      run(`deno ${f} (${ns.join(" ")})`, [...ns, "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$0" run -A "$1"', deno, `tests/deno/${f}`], 300);
    }
  }
}

console.log("");
if (total.failedFiles.length) console.log(`Failed: ${total.failedFiles.join(", ")}`);
console.log(`${total.pass} passed, ${total.fail} failed${total.skip ? `, ${total.skip} skipped` : ""}`);
process.exit(total.fail > 0 ? 1 : 0);
