/**
 * CLI cold start, as users run it: the compiled binary (built like `npm run build` into
 * bench/.build/tunkit) against the runtime's own floor, a hello-world compiled on the spot with
 * the same `bun build` flags (scripts/build.ts compileArgs), and against iproute2. Every command
 * runs as a process through a small C timer (bench/c/spawntime.c: fork+exec+wait only),
 * interleaved with the floor in every round, median of ROUNDS, unpinned:
 *   - `tunkit --version`                       (target: <= 1.3x the floor)
 *   - `tunkit addr add ADDR/32 dev tkb0`       (<= 1.6x; a new address each run)   vs `ip addr add`
 *   - `tunkit route add PREFIX dev tkb0`       (<= 1.6x; a new route each run)     vs `ip route add`
 *   - `tunkit route list` of 100 routes        (<= 2x)                             vs `ip route show`
 *   - `tunkit list` (3 tun devices)            (<= 2x)
 * Plus peak RSS and size on disk.
 *
 *   bun bench/cli-startup.ts [--json] [--variants]
 *
 * `--variants` also builds tunkit without minify / bytecode / splitting / the start-up JIT policy
 * and times --version and route add for each (the experiment behind the build flags).
 */
import { spawnSync } from "node:child_process";
import { statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileC, inOwnNetns, median, print, reexecInNetns, root, row, type Row } from "./lib.ts";
import { compile, type BuildVariant } from "../scripts/build.ts";

const ROUNDS = 31;

interface Sample {
  wall: number;
  rss: number;
}

let timer = "";

/** Runs one command through the C timer: wall ms and peak RSS KiB. */
function time(cmd: string, args: string[]): Sample {
  const r = spawnSync(timer, [cmd, ...args], { encoding: "utf8" });
  const f = r.stdout.trim().split(" ").map(Number);
  if (r.status !== 0 || f.length !== 5) throw new Error(`spawntime ${cmd}: ${r.stdout}${r.stderr}`);
  if (f[4] !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${f[4]}`);
  return { wall: f[0]! / 1000, rss: f[3]! };
}

function which(cmd: string): string {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();
}

/** Builds tunkit (or the hello-world) with the flags of scripts/build.ts into bench/.build. */
function build(name: string, entry: string, v: BuildVariant = {}): string {
  const out = join(root, "bench/.build", name);
  compile(entry, out, v);
  return out;
}

/** The floor: a hello-world compiled with the same flags. */
function buildFloor(v: BuildVariant = {}, name = "hello"): string {
  const src = join(root, "bench/.build/hello.ts");
  writeFileSync(src, 'console.log("hello");\n');
  return build(name, src, v);
}

type Case = { name: string; note: string; tk: () => string[]; ip?: () => [string, string[]] };

/**
 * Runs the start-up benchmark (inside a namespace made for it: refuses to run elsewhere).
 *
 * @example
 * ```ts
 * import bench from "./cli-startup.ts";
 * for (const r of await bench()) console.log(r.name, r.ratio);
 * ```
 */
export default async function cliStartup(variants = process.argv.includes("--variants")): Promise<Row[]> {
  if (!inOwnNetns()) throw new Error("cli-startup: run me through bench/run.ts or alone (I make my own network namespace)");
  timer = compileC("spawntime");
  const tk = build("tunkit", join(root, "cli/main.ts"));
  const hello = buildFloor();
  const ip = which("ip");
  const sh = (...a: string[]) => spawnSync(a[0]!, a.slice(1), { stdio: "ignore" });
  for (const n of ["tkb0", "tkb1", "tkb2"]) {
    sh("ip", "tuntap", "add", n, "mode", "tun");
    sh("ip", "link", "set", n, "up");
  }
  sh("ip", "addr", "add", "192.0.2.1/24", "dev", "tkb0");
  for (let i = 0; i < 100; i++) sh("ip", "route", "add", `198.51.100.${i}/32`, "dev", "tkb0");
  const rows: Row[] = [];
  try {
    let n = 0;
    const cases: Case[] = [
      { name: "--version", note: "target <= 1.3x floor", tk: () => ["--version"], ip: () => [ip, ["-V"]] },
      { name: "addr add", note: "target <= 1.6x floor", tk: () => ["addr", "add", `10.1.${n >> 8}.${n & 255}/32`, "dev", "tkb0"], ip: () => [ip, ["addr", "add", `10.2.${n >> 8}.${n & 255}/32`, "dev", "tkb0"]] },
      { name: "route add", note: "target <= 1.6x floor", tk: () => ["route", "add", `10.3.${n >> 8}.${n & 255}/32`, "dev", "tkb0"], ip: () => [ip, ["route", "add", `10.4.${n >> 8}.${n & 255}/32`, "dev", "tkb0"]] },
      { name: "route list (100 routes)", note: "target <= 2x floor", tk: () => ["route", "list"], ip: () => [ip, ["route", "show"]] },
      { name: "list (3 tun devices)", note: "target <= 2x floor", tk: () => ["list"] },
    ];
    // Warm the page cache for every program.
    for (let i = 0; i < 3; i++) {
      time(hello, []);
      time(tk, ["--version"]);
      time(ip, ["-V"]);
    }
    const floor: number[] = [];
    const got = cases.map(() => ({ tk: [] as number[], ip: [] as number[], rss: [] as number[] }));
    for (let round = 0; round < ROUNDS; round++) {
      n = round;
      floor.push(time(hello, []).wall);
      cases.forEach((c, k) => {
        // Alternate who goes first.
        const a = () => {
          const s = time(tk, c.tk());
          got[k]!.tk.push(s.wall);
          got[k]!.rss.push(s.rss);
        };
        const b = () => {
          if (!c.ip) return;
          const [cmd, args] = c.ip();
          got[k]!.ip.push(time(cmd, args).wall);
        };
        if (round % 2) (a(), b());
        else (b(), a());
      });
      floor.push(time(hello, []).wall);
    }
    const f = median(floor);
    rows.push(row("cli start-up floor: hello-world, same bun build flags (vs ip -V)", f, median(got[0]!.ip), "ms", false));
    cases.forEach((c, k) => {
      const t = median(got[k]!.tk);
      rows.push(row(`cli start-up: tunkit ${c.name} (vs the floor; x floor = 1/ratio)`, t, f, "ms", false, `${(t / f).toFixed(2)}x floor, ${c.note}`));
      if (c.ip) rows.push(row(`cli start-up: tunkit ${c.name} (vs ip)`, t, median(got[k]!.ip), "ms", false));
    });
    rows.push(row("cli: route add peak RSS (vs ip route add)", median(got[2]!.rss) / 1024, time(ip, ["route", "add", "10.9.9.9/32", "dev", "tkb0"]).rss / 1024, "MiB", false));
    rows.push(row("cli: size on disk (vs the hello-world floor)", statSync(tk).size / 1048576, statSync(hello).size / 1048576, "MiB", false));
    if (variants) rows.push(...variantRows(hello));
  } finally {
    for (const n of ["tkb0", "tkb1", "tkb2"]) sh("ip", "link", "del", n);
  }
  return rows;
}

/** --version and route add of tunkit built without one of the flags, each against its own floor. */
function variantRows(defaultFloor: string): Row[] {
  const rows: Row[] = [];
  const variants: Array<[string, BuildVariant]> = [
    ["default (minify, bytecode, splitting, jit policy)", {}],
    ["no minify", { minify: false }],
    ["no bytecode", { bytecode: false }],
    ["no splitting", { splitting: false }],
    ["jit policy 1 (normal tier-up from the start)", { jitPolicy: 1 }],
  ];
  const bins = variants.map(([label, v], i) => ({ label, tk: build(`tunkit-v${i}`, join(root, "cli/main.ts"), v), floor: i === 0 ? defaultFloor : buildFloor(v, `hello-v${i}`) }));
  let n = 0;
  for (const b of bins) {
    const ver: number[] = [];
    const add: number[] = [];
    const fl: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      n++;
      fl.push(time(b.floor, []).wall);
      ver.push(time(b.tk, ["--version"]).wall);
      add.push(time(b.tk, ["route", "add", `10.5.${n >> 8}.${n & 255}/32`, "dev", "tkb0"]).wall);
    }
    const f = median(fl);
    rows.push(row(`cli build variant ${b.label}: --version (vs its floor)`, median(ver), f, "ms", false, `${statSync(b.tk).size >> 20} MiB`));
    rows.push(row(`cli build variant ${b.label}: route add (vs its floor)`, median(add), f, "ms", false));
  }
  return rows;
}

if (import.meta.main && !reexecInNetns()) {
  print(await cliStartup(), process.argv.includes("--json"));
}
