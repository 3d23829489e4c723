/**
 * `npm run build`: compiles the CLI (cli/main.ts) into ONE standalone executable, dist/tunkit,
 * with `bun build --compile --minify` (bytecode included, for start-up time). The version comes
 * from package.json, inlined by the bundler. The binary needs no node_modules, bun or deno.
 *
 * Usage: bun scripts/build.ts [--outfile PATH] [--no-bytecode]
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };

const root = resolve(import.meta.dir, "..");
const args = process.argv.slice(2);
const outIdx = args.indexOf("--outfile");
const outfile = resolve(root, outIdx >= 0 && args[outIdx + 1] ? args[outIdx + 1]! : "dist/tunkit");
const bytecode = !args.includes("--no-bytecode");

mkdirSync(dirname(outfile), { recursive: true });
const cmd = [
  process.execPath, "build", "--compile", "--minify", "--sourcemap=none",
  // Code splitting keeps lazily imported command modules out of the start-up path.
  ...(bytecode ? ["--bytecode", "--format=esm", "--splitting"] : []),
  join(root, "cli/main.ts"), "--outfile", outfile,
];
const t0 = performance.now();
const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
if (r.status !== 0) {
  process.stderr.write(r.stdout + r.stderr);
  console.error(`build: bun build failed (exit ${r.status})`);
  process.exit(1);
}
// Smoke check: the binary runs and reports the version it was built from.
const v = spawnSync(outfile, ["--version"], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
const want = `tunkit ${pkg.version}`;
if (v.status !== 0 || v.stdout.trim() !== want) {
  console.error(`build: ${outfile} --version printed ${JSON.stringify(v.stdout + v.stderr)}, expected "${want}"`);
  process.exit(1);
}
const mb = (statSync(outfile).size / 1048576).toFixed(1);
console.log(`built ${outfile} (${want}, ${mb} MiB, ${bytecode ? "bytecode" : "no bytecode"}) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
