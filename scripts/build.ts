/**
 * `npm run build`: compiles the CLI (cli/main.ts) into ONE standalone executable, dist/tunkit,
 * with `bun build --compile` (minified, bytecode, code splitting: see {@link BUILD_FLAGS}). The
 * version comes from package.json, inlined by the bundler; the commit, the build date, the Bun
 * version and the target are baked in with `--define` ({@link buildDefines}), so `tunkit
 * --version` names exactly what was built. The binary needs no node_modules, bun or deno.
 *
 * `--target T` (repeatable; `all` = every one) cross-compiles to dist/tunkit-T, T one of
 * {@link TARGETS}. Bun fetches the target's runtime (the npm package @oven/bun-linux-aarch64,
 * …-musl, about 50 MB) from the npm registry the first time and caches it: a machine without
 * the registry can build only its own target until then. A binary this machine can run gets the
 * `--version` smoke check; another architecture or libc gets an ELF check (machine and
 * interpreter). Every build rewrites dist/SHA256SUMS over the binaries in dist/ (and tunkit.1).
 *
 * Usage: bun scripts/build.ts [--target T]... [--outfile PATH] [--entry FILE] [--no-bytecode] [--no-minify] [--no-splitting] [--no-bytecode-order] [--jit-policy N]
 *
 * bench/cli-startup.ts compiles a hello-world with the same {@link compileArgs} to measure the
 * runtime's own start-up floor beside tunkit's.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import pkg from "../package.json" with { type: "json" };

const root = resolve(import.meta.dir, "..");

/** What can be switched off (for start-up experiments); everything is on by default. */
export interface BuildVariant {
  bytecode?: boolean;
  minify?: boolean;
  splitting?: boolean;
  /** A cross-compile target ({@link TARGETS}); the host's when absent. */
  target?: Target;
  /** `--define NAME=JSON` pairs ({@link buildDefines}). */
  define?: Record<string, string>;
  /** `--compile-jit-policy`: JavaScriptCore's tier-up thresholds times this at start (1 = normal). */
  jitPolicy?: number;
  /** `--bytecode-order FILE`: the bytecode the profiled start-ups used laid out first ({@link STARTUP_ORDER}). */
  bytecodeOrder?: string;
}

/** The targets `--target` takes, with what the ELF check expects of each. */
export const TARGETS = {
  "linux-x64": { bun: "bun-linux-x64", npm: "@oven/bun-linux-x64", machine: 62, interp: "/lib64/ld-linux-x86-64.so.2" },
  "linux-arm64": { bun: "bun-linux-arm64", npm: "@oven/bun-linux-aarch64", machine: 183, interp: "/lib/ld-linux-aarch64.so.1" },
  "linux-x64-musl": { bun: "bun-linux-x64-musl", npm: "@oven/bun-linux-x64-musl", machine: 62, interp: "/lib/ld-musl-x86_64.so.1" },
  "linux-arm64-musl": { bun: "bun-linux-arm64-musl", npm: "@oven/bun-linux-aarch64-musl", machine: 183, interp: "/lib/ld-musl-aarch64.so.1" },
} as const;
/** A `--target` name. */
export type Target = keyof typeof TARGETS;

/** The target this machine runs (glibc assumed: the Debian machines tunkit is built on). */
export function hostTarget(): Target {
  return process.arch === "arm64" ? "linux-arm64" : "linux-x64";
}

/** What `tunkit version` reports of a build. */
export interface BuildStamp {
  commit: string;
  date: string;
  bun: string;
  target: string;
}

/**
 * The `--define` pairs that bake a {@link BuildStamp} into cli/version.ts.
 *
 * @example
 * ```ts
 * import { buildDefines } from "./build.ts";
 * buildDefines({ commit: "0123456789ab", date: "2026-11-29T11:00:00Z", bun: "1.4.5", target: "bun-linux-x64" }).TUNKIT_COMMIT;
 * // '"0123456789ab"'
 * ```
 */
export function buildDefines(s: BuildStamp): Record<string, string> {
  return {
    TUNKIT_COMMIT: JSON.stringify(s.commit),
    TUNKIT_BUILD_DATE: JSON.stringify(s.date),
    TUNKIT_BUN_VERSION: JSON.stringify(s.bun),
    TUNKIT_TARGET: JSON.stringify(s.target),
    // cli/version.ts: the bundler inlines it and drops package.json from the binary's start-up.
    TUNKIT_VERSION: JSON.stringify(pkg.version),
  };
}

/**
 * This checkout's stamp: `git rev-parse` (12 digits, `-dirty` when tracked files differ from
 * HEAD; "unknown" outside git), the date (UTC, seconds): SOURCE_DATE_EPOCH, else the commit's
 * time when the tree is clean, else now; the running Bun. So two builds of one clean commit to
 * the same output name are the same bytes (the date was the only other difference; the output's
 * name is in the bundle's module paths).
 *
 * @example
 * ```ts
 * import { currentStamp } from "./build.ts";
 * currentStamp(undefined).date; // e.g. "2026-11-30T00:41:12Z" (HEAD's commit time, tree clean)
 * ```
 */
export function currentStamp(target: Target | undefined): BuildStamp {
  const git = (...a: string[]) => spawnSync("git", a, { cwd: root, encoding: "utf8" });
  const head = git("rev-parse", "--short=12", "HEAD");
  let commit = head.status === 0 ? head.stdout.trim() : "unknown";
  if (head.status === 0 && git("diff", "--quiet", "HEAD", "--").status === 1) commit += "-dirty";
  let epoch = Number(process.env.SOURCE_DATE_EPOCH);
  if (!(Number.isFinite(epoch) && epoch > 0) && head.status === 0 && !commit.endsWith("-dirty")) epoch = Number(git("log", "-1", "--format=%ct", "HEAD").stdout.trim());
  const date = new Date(Number.isFinite(epoch) && epoch > 0 ? epoch * 1000 : Date.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
  return { commit, date, bun: process.versions.bun ?? "unknown", target: TARGETS[target ?? hostTarget()].bun };
}

/**
 * Checks an ELF file's machine (e_machine) and program interpreter against a target's; returns
 * what differs, or undefined.
 */
export function checkElf(bytes: Uint8Array, t: Target): string | undefined {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 64 || v.getUint32(0) !== 0x7f454c46 || bytes[4] !== 2) return "not a 64-bit ELF file";
  const machine = v.getUint16(18, true);
  if (machine !== TARGETS[t].machine) return `e_machine ${machine}, expected ${TARGETS[t].machine}`;
  const phoff = Number(v.getBigUint64(32, true));
  const phentsize = v.getUint16(54, true);
  const phnum = v.getUint16(56, true);
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph, true) !== 3) continue; // PT_INTERP
    const off = Number(v.getBigUint64(ph + 8, true));
    const size = Number(v.getBigUint64(ph + 32, true));
    const interp = new TextDecoder().decode(bytes.subarray(off, off + size)).replace(/\0+$/, "");
    return interp === TARGETS[t].interp ? undefined : `interpreter ${interp}, expected ${TARGETS[t].interp}`;
  }
  return "no PT_INTERP";
}

/** Writes `dir`/SHA256SUMS (sha256sum's format) over the tunkit binaries and tunkit.1 in `dir`. */
export function writeSums(dir: string): string[] {
  const names = readdirSync(dir).filter((f) => /^tunkit(-linux-[a-z0-9-]+)?$/.test(f) || f === "tunkit.1").sort();
  const lines = names.map((f) => `${createHash("sha256").update(readFileSync(join(dir, f))).digest("hex")}  ${f}`);
  writeFileSync(join(dir, "SHA256SUMS"), lines.map((l) => `${l}\n`).join(""));
  return names;
}

/**
 * The JIT policy the binary starts with: tier-up thresholds {@link JIT_POLICY} times higher, so the
 * run-once start-up code stays in the interpreter instead of waking JIT worker threads on a
 * machine whose cores are busy. cli/main.ts sets the normal policy back (`Bun.unsafe.setJITPolicy(1)`)
 * once a command's words are read, before the work that runs long (a batch, a dump, a capture).
 */
export const JIT_POLICY = 100;

/**
 * The CLI's start-up profile for `--bytecode-order` (Bun's profile-guided bytecode layout): which
 * functions, module heads and constants the benchmarked commands use (`--version`, `addr add`,
 * `route add`, `route list`, `list`), recorded by `bun bench/cli-startup.ts --record-order` with
 * `BUN_BYTECODE_ORDER_OUT` and merged in that order of priority. Bun lays that bytecode out first,
 * so a start-up faults in fewer of the binary's pages: 23-37 fewer minor page faults per command
 * (of ~1,350-1,600; bench/cli-startup.ts A/B, 15 rounds, load 13). An entry a later build no
 * longer has is ignored, so a stale profile costs nothing but its benefit; re-record it after
 * large changes to the start-up path.
 */
export const STARTUP_ORDER = join(root, "scripts/startup.order");

/** {@link STARTUP_ORDER} when it exists (the CLI's builds pass it as {@link BuildVariant.bytecodeOrder}). */
export function startupOrder(): string | undefined {
  return existsSync(STARTUP_ORDER) ? STARTUP_ORDER : undefined;
}

/**
 * The `bun build` arguments for `entry` -> `outfile`. Measured on this machine (bench/cli-startup.ts):
 * bytecode saves parsing at every start; splitting keeps lazily imported command modules (and
 * commander) out of the start-up path; minify shrinks what is parsed; the start-up profile
 * ({@link STARTUP_ORDER}) puts the bytecode a start-up reads together.
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
    ...(bytecode && v.bytecodeOrder ? [`--bytecode-order=${v.bytecodeOrder}`] : []),
    "--format=esm",
    ...(v.splitting !== false ? ["--splitting"] : []),
    ...(v.target ? [`--target=${TARGETS[v.target].bun}`] : []),
    ...Object.entries(v.define ?? {}).flatMap(([k, val]) => ["--define", `${k}=${val}`]),
    ...((v.jitPolicy ?? JIT_POLICY) !== 1 ? [`--compile-jit-policy=${v.jitPolicy ?? JIT_POLICY}`] : []),
    entry, ...workerEntries(entry), "--outfile", outfile,
  ];
}

/** cli/oneshot.ts and everything it loads, bundled into one module by {@link bundleOneShot} (generated; not in git). */
export const ONESHOT_BUNDLE = join(root, "cli/oneshot.bundle.js");

/**
 * Bundles the CLI's one-shot path (cli/oneshot.ts: `addr|route add|del|…`) into ONE module,
 * {@link ONESHOT_BUNDLE}, which cli/main.ts's loadOneShot imports in a CLI build (`--define
 * TUNKIT_ONESHOT_BUNDLE=true`). With `--splitting` alone every module the one-shot path evaluates
 * is its own chunk (~33 for a `route add`: they are shared with the full CLI); each chunk costs
 * a start-up its own module record, bytecode and heap objects. One module instead (its dynamic
 * imports inlined behind lazy wrappers): route add 81 -> 75 JavaScriptCore heap blocks, addr add
 * 80 -> 72-75, fewer page faults (-17, -38) and a few hundredths of the floor in time
 * (bench/cli-startup.ts's header, session 13).
 * The same source, laid out twice in the binary (+118 KB minified); the full CLI keeps its split
 * chunks. Written to a temporary name and renamed, so a concurrent build never reads half of it.
 */
export function bundleOneShot(v: BuildVariant = {}, out = ONESHOT_BUNDLE): void {
  const tmp = `${out}.${process.pid}.tmp`;
  const args = [
    "build", "--target=bun", "--format=esm", "--sourcemap=none",
    ...(v.minify !== false ? ["--minify"] : []),
    ...Object.entries(v.define ?? {}).flatMap(([k, val]) => ["--define", `${k}=${val}`]),
    join(root, "cli/oneshot.ts"), "--outfile", tmp,
  ];
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`bun build (the one-shot bundle) failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
  }
  renameSync(tmp, out);
}

/**
 * `v` as {@link compile} builds `entry` with it: for the CLI's entry (cli/main.ts) with splitting,
 * `TUNKIT_ONESHOT_BUNDLE` defined, so main.ts loads {@link ONESHOT_BUNDLE} (which compile writes
 * first); every other build as given.
 */
export function buildVariantFor(entry: string, v: BuildVariant = {}): BuildVariant {
  if (resolve(root, entry) !== join(root, "cli/main.ts") || v.splitting === false) return v;
  return { ...v, define: { ...v.define, TUNKIT_ONESHOT_BUNDLE: "true" } };
}

/**
 * The Worker entrypoints the CLI's binary carries besides its entry (a Worker's module must be an
 * entrypoint of `bun build --compile`): proxy/udp-worker.ts, the UDP data path's thread.
 */
export function workerEntries(entry: string): string[] {
  return resolve(root, entry) === join(root, "cli/main.ts") ? [join(root, "proxy/udp-worker.ts")] : [];
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
  const built = buildVariantFor(entry, v);
  if (built !== v) bundleOneShot(v);
  v = built;
  const r = spawnSync(process.execPath, compileArgs(entry, outfile, v), { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bun build failed (exit ${r.status}): ${r.stdout}${r.stderr}`);
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const val = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 && args[i + 1] ? args[i + 1]! : undefined;
  };
  const targets: Array<Target | undefined> = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== "--target") continue;
    const t = args[i + 1];
    if (t === "all") targets.push(...(Object.keys(TARGETS) as Target[]));
    else if (t && t in TARGETS) targets.push(t as Target);
    else {
      console.error(`build: unknown target ${JSON.stringify(t ?? "")}: expected all or one of ${Object.keys(TARGETS).join(", ")}`);
      process.exit(2);
    }
  }
  if (!targets.length) targets.push(undefined);
  const entry = resolve(root, val("--entry") ?? "cli/main.ts");
  const isCli = entry === join(root, "cli/main.ts");
  if (val("--outfile") && targets.length > 1) {
    console.error("build: --outfile names one file: give one --target with it");
    process.exit(2);
  }
  const outDirs = new Set<string>();
  for (const target of targets) {
    const outfile = resolve(root, val("--outfile") ?? (target ? `dist/tunkit-${target}` : "dist/tunkit"));
    const stamp = currentStamp(target);
    const v: BuildVariant = {
      bytecode: !args.includes("--no-bytecode"), minify: !args.includes("--no-minify"), splitting: !args.includes("--no-splitting"), jitPolicy: Number(val("--jit-policy") ?? JIT_POLICY),
      ...(target ? { target } : {}),
      ...(isCli ? { define: buildDefines(stamp), bytecodeOrder: args.includes("--no-bytecode-order") ? undefined : startupOrder() } : {}),
    };
    const t0 = performance.now();
    try {
      compile(entry, outfile, v);
    } catch (e) {
      const m = (e as Error).message;
      const offline = target && /download|fetch|connect|network|ENOTFOUND|ECONNREFUSED/i.test(m);
      console.error(`build: ${m}${offline ? `\nhint: bun fetches the ${target} runtime (npm package ${TARGETS[target].npm}@${stamp.bun}) from the npm registry once, then caches it; this machine could not reach it` : ""}`);
      process.exit(1);
    }
    const t = target ?? hostTarget();
    const elf = checkElf(readFileSync(outfile), t);
    if (elf) {
      console.error(`build: ${outfile}: ${elf}`);
      process.exit(1);
    }
    let smoke = "ELF checked (not runnable here)";
    if (isCli && t === hostTarget()) {
      // Smoke check: the binary runs and reports the version and build it was made from.
      const r = spawnSync(outfile, ["--version"], { encoding: "utf8", env: { PATH: "/usr/bin:/bin" } });
      const want = `tunkit ${pkg.version} (commit ${stamp.commit}, built ${stamp.date}, bun ${stamp.bun}, ${stamp.target})`;
      if (r.status !== 0 || r.stdout.trim() !== want) {
        console.error(`build: ${outfile} --version printed ${JSON.stringify(r.stdout + r.stderr)}, expected "${want}"`);
        process.exit(1);
      }
      smoke = "--version checked";
    }
    const mb = (statSync(outfile).size / 1048576).toFixed(1);
    const flags = [...Object.entries(v).filter(([k, on]) => on === true && k !== "define").map(([k]) => k), ...(v.bytecodeOrder && v.bytecode ? ["start-up order"] : [])].join(", ");
    console.log(`built ${outfile} (${t}, ${mb} MiB; ${flags}; ${smoke}) in ${((performance.now() - t0) / 1000).toFixed(1)}s`);
    outDirs.add(dirname(outfile));
  }
  const dist = join(root, "dist");
  if (outDirs.has(dist)) {
    if (existsSync(join(root, "tunkit.1"))) writeFileSync(join(dist, "tunkit.1"), readFileSync(join(root, "tunkit.1")));
    console.log(`dist/SHA256SUMS: ${writeSums(dist).join(", ")}`);
  }
}
