/**
 * `npm run build`: compiles the CLI (cli/main.ts) into ONE standalone executable, dist/tunkit,
 * with `bun build --compile` (minified, bytecode, code splitting: see {@link BUILD_FLAGS}). The
 * version comes from package.json, inlined by the bundler. The binary needs no node_modules,
 * bun or deno.
 *
 * Usage: bun scripts/build.ts [--outfile PATH] [--entry FILE] [--no-bytecode] [--no-minify] [--no-splitting] [--jit-policy N]
 *
 * bench/cli-startup.ts compiles a hello-world with the same {@link compileArgs} to measure the
 * runtime's own start-up floor beside tunkit's.
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };

const root = resolve(import.meta.dir, "..");

/** What can be switched off (for start-up experiments); everything is on by default. */
export interface BuildVariant {
  bytecode?: boolean;
  minify?: boolean;
  splitting?: boolean;
  /** `--compile-jit-policy`: JavaScriptCore's tier-up thresholds times this at start (1 = normal). */
  jitPolicy?: number;
}

/**
 * The JIT policy the binary starts with: tier-up thresholds {@link JIT_POLICY} times higher, so the
 * run-once start-up code stays in the interpreter instead of waking JIT worker threads on a
 * machine whose cores are busy. cli/main.ts sets the normal policy back (`Bun.unsafe.setJITPolicy(1)`)
 * once a command's words are read, before the work that runs long (a batch, a dump, a capture).
 */
export const JIT_POLICY = 100;

/**
 * The `bun build` arguments for `entry` -> `outfile`. Measured on this machine (bench/cli-startup.ts):
 * bytecode saves parsing at every start; splitting keeps lazily imported command modules (and
 * commander) out of the start-up path; minify shrinks what is parsed.
 *
 * @example
 * ```ts
 * import { compileArgs } from "./build.ts";
 * compileArgs("cli/main.ts", "dist/tunkit"); // ["build", "--compile", "--minify", …]
 * ```
 */
export function compileArgs(entry: string, outfile: string, v: BuildVariant = {}): string[] {
  const bytecode = v.bytecode !== false;
  return [
    "build", "--compile", "--sourcemap=none",
    // A tool run as root must not pick up a .env or bunfig.toml from whatever directory it runs in
    // (and looking for them costs start-up time).
    "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
    ...(v.minify !== false ? ["--minify"] : []),
    ...(bytecode ? ["--bytecode"] : []),
    "--format=esm",
    ...(v.splitting !== false ? ["--splitting"] : []),
    ...((v.jitPolicy ?? JIT_POLICY) !== 1 ? [`--compile-jit-policy=${v.jitPolicy ?? JIT_POLICY}`] : []),
    entry, "--outfile", outfile,
  ];
}

/**
 * Compiles `entry` into `outfile` with {@link compileArgs}; throws with bun's output on failure.
 *
 * @example
 * ```ts
 * import { compile } from "./build.ts";
 * compile("cli/main.ts", "/tmp/tunkit");
 * ```
 */
export function compile(entry: string, outfile: string, v: BuildVariant = {}): void {
  mkdirSync(dirname(outfile), { recursive: true });
  const r = spawnSync(process.execPath, compileArgs(entry, outfile, v), { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bun build failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const val = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 && args[i + 1] ? args[i + 1]! : undefined;
  };
  const outfile = resolve(root, val("--outfile") ?? "dist/tunkit");
  const entry = resolve(root, val("--entry") ?? "cli/main.ts");
  const v: BuildVariant = { bytecode: !args.includes("--no-bytecode"), minify: !args.includes("--no-minify"), splitting: !args.includes("--no-splitting"), jitPolicy: Number(val("--jit-policy") ?? JIT_POLICY) };
  const t0 = performance.now();
  try {
    compile(entry, outfile, v);
  } catch (e) {
    console.error(`build: ${(e as Error).message}`);
    process.exit(1);
  }
  if (entry === join(root, "cli/main.ts")) {
    // Smoke check: the binary runs and reports the version it was built from.
    const r = spawnSync(outfile, ["--version"], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
    const want = `tunkit ${pkg.version}`;
    if (r.status !== 0 || r.stdout.trim() !== want) {
      console.error(`build: ${outfile} --version printed ${JSON.stringify(r.stdout + r.stderr)}, expected "${want}"`);
      process.exit(1);
    }
  }
  const mb = (statSync(outfile).size / 1048576).toFixed(1);
  const flags = Object.entries(v).filter(([, on]) => on).map(([k, on]) => (typeof on === "number" ? `${k} ${on}` : k)).join(", ");
  console.log(`built ${outfile} (${mb} MiB; ${flags}) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
}
