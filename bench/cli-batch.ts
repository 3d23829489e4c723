/**
 * `tunkit batch FILE` against `ip -batch FILE`, end to end as operators run them: the compiled
 * binary (built like `npm run build`) as a process, unpinned, each run in a FRESH network
 * namespace (`unshare -n`, a veth pair, nothing else), interleaved, median of ROUNDS, with user
 * and system CPU and peak RSS of both (bench/c/spawntime.c: fork+exec+wait4). Sizes: 20,000,
 * 100,000 and 1,000,000 `route add 10.x.y.z/32 dev tkb0` (an Internet-sized IPv4 table), an
 * ACK for every request on both sides. Then the dump of the 1,000,000 routes: `tunkit route
 * list --json` vs `ip -j route show`, output to a pipe that counts bytes.
 *
 * Targets (issue 11): batch >= 2.5x ip -batch at every size; peak RSS at 1M <= 2x RSS at 100k;
 * dump of 1M >= 2x ip.
 *
 *   bun bench/cli-batch.ts [--json] [--quick] [--only 20k,100k,1m,dump,dump1m] [--rounds N] [--base BIN] [--tk BIN]
 *
 * --quick: 20k and 100k only, 3 rounds. --only: those sizes (and/or the dump: of the largest
 * size run, or of 100k when only the dump is asked for; `dump1m`: the dump of 1M, alone). --rounds: rounds per size. --base BIN:
 * an A/B run: another tunkit binary (say main's) runs interleaved with ip and this build, and
 * gets rows of its own ("base"), so before and after are measured at the same load. --tk BIN:
 * bench that binary instead of building cli/main.ts.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileC, median, print, root, row, type Row } from "./lib.ts";
import { compile } from "../scripts/build.ts";

interface Run {
  wall: number;
  user: number;
  sys: number;
  rss: number;
}

const dst = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

/**
 * Runs `cmd` through the timer inside a fresh namespace prepared with a veth pair; `setup` is
 * a shell snippet run first (outside the timed part), `after` after it (checks).
 */
function inFreshNs(timer: string, cmd: string[], setup = "", after = ""): Run & { out: string } {
  const script = `set -e
ip link set lo up
ip link add tkb0 type veth peer name tkb1
ip link set tkb0 up; ip link set tkb1 up
${setup}
"$@"
${after}`;
  const r = spawnSync("unshare", ["-n", "sh", "-c", script, "sh", timer, ...cmd], { encoding: "utf8", maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")}: exit ${r.status}: ${r.stderr}`);
  const lines = r.stdout.trim().split("\n");
  const f = lines[0]!.split(" ").map(Number);
  if (f[4] !== 0) throw new Error(`${cmd.join(" ")} exited ${f[4]}: ${r.stderr}`);
  return { wall: f[0]! / 1000, user: f[1]! / 1000, sys: f[2]! / 1000, rss: f[3]! / 1024, out: lines.slice(1).join("\n") };
}

/**
 * Runs the benchmark (needs root for `unshare -n`).
 *
 * @example
 * ```ts
 * import bench from "./cli-batch.ts";
 * for (const r of await bench()) console.log(r.name, r.ratio);
 * ```
 */
export default async function cliBatch(quick = process.argv.includes("--quick"), args: readonly string[] = process.argv.slice(2)): Promise<Row[]> {
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const only = opt("--only")?.toLowerCase().split(",");
  const SIZES: Record<string, number> = { "20k": 20_000, "100k": 100_000, "1m": 1_000_000 };
  const base = opt("--base");
  const timer = compileC("spawntime");
  let tk = opt("--tk");
  if (!tk) {
    tk = join(root, "bench/.build/tunkit");
    compile(join(root, "cli/main.ts"), tk);
  }
  const dir = mkdtempSync(join(tmpdir(), "tk-bench-batch-"));
  const rows: Row[] = [];
  const sizes = only ? only.filter((w) => SIZES[w]).map((w) => SIZES[w]!) : quick ? [20_000, 100_000] : [20_000, 100_000, 1_000_000];
  const dump = !only || only.includes("dump") || only.includes("dump1m");
  const rssAt = new Map<number, number>();
  const routesFile = (n: number) => {
    const file = join(dir, `routes-${n}.txt`);
    const parts: string[] = [];
    for (let i = 0; i < n; i++) parts.push(`route add ${dst(i)}/32 dev tkb0\n`);
    writeFileSync(file, parts.join(""));
    return file;
  };
  try {
    for (const n of sizes) {
      const file = routesFile(n);
      const rounds = Number(opt("--rounds") ?? 0) || (quick ? 3 : n >= 1_000_000 ? 3 : 5);
      const check = `test "$(ip route show | wc -l)" -eq ${n}`;
      const t: Run[] = [];
      const p: Run[] = [];
      const o: Run[] = [];
      for (let r = 0; r < rounds; r++) {
        const a = () => t.push(inFreshNs(timer, [tk, "batch", file], "", check));
        const b = () => p.push(inFreshNs(timer, ["ip", "-batch", file], "", check));
        const c = () => base && o.push(inFreshNs(timer, [base, "batch", file], "", check));
        // Each takes every place in the order in turn.
        const order = [[b, a, c], [a, c, b], [c, b, a], [b, c, a], [a, b, c], [c, a, b]][r % (base ? 6 : 2)]!;
        for (const f of order) f();
      }
      const med = (xs: Run[], k: keyof Run) => median(xs.map((x) => x[k]));
      const size = n.toLocaleString("en-US");
      const walls = (xs: Run[]) => xs.map((x) => Math.round(x.wall)).join("/");
      for (const [who, xs] of base ? [["tunkit", t], ["base", o]] as const : [["tunkit", t]] as const) {
        const tag = who === "base" ? ` [base ${base}]` : "";
        rows.push(row(`cli: tunkit batch ${size} route add (vs ip -batch), wall${tag}`, med(xs, "wall"), med(p, "wall"), "ms", false, `target >= 2.5x; runs ${walls(xs)} vs ${walls(p)}`));
        rows.push(row(`cli: tunkit batch ${size} route add (vs ip -batch), user+sys CPU${tag}`, med(xs, "user") + med(xs, "sys"), med(p, "user") + med(p, "sys"), "ms", false, `tunkit user ${Math.round(med(xs, "user"))} sys ${Math.round(med(xs, "sys"))}; ip user ${Math.round(med(p, "user"))} sys ${Math.round(med(p, "sys"))}`));
        rows.push(row(`cli: tunkit batch ${size} peak RSS (vs ip -batch)${tag}`, med(xs, "rss"), med(p, "rss"), "MiB", false));
      }
      rssAt.set(n, med(t, "rss"));
    }
    if (rssAt.has(1_000_000) && rssAt.has(100_000)) {
      const a = rssAt.get(1_000_000)!;
      const b = rssAt.get(100_000)!;
      rows.push(row("cli: tunkit batch peak RSS at 1M vs at 100k", a, b, "MiB", false, `${(a / b).toFixed(2)}x, target <= 2x`));
    }
    if (!dump) return rows;
    // The dump: 1M routes (100k with --quick) loaded outside the clock, by this tunkit's batch
    // (5 s for 1M where ip -batch takes 40 s: the dump row fits in a short bench run), then
    // counted, so both dumps list the same table.
    const n = only?.includes("dump1m") ? 1_000_000 : sizes[sizes.length - 1] ?? 100_000;
    if (!sizes.includes(n)) routesFile(n);
    const load = `${tk} batch ${join(dir, `routes-${n}.txt`)}\ntest "$(ip -o route show | wc -l)" -eq ${n}`;
    const t: Run[] = [];
    const p: Run[] = [];
    const o: Run[] = [];
    const bytes: string[] = [];
    const rounds = Number(opt("--rounds") ?? 0) || (base ? 3 : 5);
    for (let r = 0; r < rounds; r++) {
      const a = () => t.push(inFreshNs(timer, ["sh", "-c", `${tk} route list --json | wc -c`], load));
      const b = () => p.push(inFreshNs(timer, ["sh", "-c", "ip -j route show | wc -c"], load));
      const c = () => base && o.push(inFreshNs(timer, ["sh", "-c", `${base} route list --json | wc -c`], load));
      const order = [[b, a, c], [a, c, b], [c, b, a], [b, c, a], [a, b, c], [c, a, b]][r % (base ? 6 : 2)]!;
      for (const f of order) f();
    }
    if (base) {
      rows.push(row(`cli: tunkit route list --json, ${n.toLocaleString("en-US")} routes (vs ip -j route show), wall [base ${base}]`, median(o.map((x) => x.wall)), median(p.map((x) => x.wall)), "ms", false, `runs ${o.map((x) => Math.round(x.wall)).join("/")}; user CPU ${o.map((x) => Math.round(x.user)).join("/")}`));
    }
    // Byte counts of both outputs (tunkit's JSON must not be shorter than ip's: same routes).
    const tkBytes = inFreshNs(timer, ["true"], load, `${tk} route list --json | wc -c; ip -j route show | wc -c`).out.split("\n").map(Number);
    bytes.push(`${tkBytes[0]} vs ${tkBytes[1]} bytes`);
    rows.push(row(`cli: tunkit route list --json, ${n.toLocaleString("en-US")} routes (vs ip -j route show), wall`, median(t.map((x) => x.wall)), median(p.map((x) => x.wall)), "ms", false, `target >= 2x; ${bytes[0]}; runs ${t.map((x) => Math.round(x.wall)).join("/")} vs ${p.map((x) => Math.round(x.wall)).join("/")}; user CPU ${t.map((x) => Math.round(x.user)).join("/")}`));
    rows.push(row(`cli: tunkit route list --json, ${n.toLocaleString("en-US")} routes, peak RSS (vs ip)`, median(t.map((x) => x.rss)), median(p.map((x) => x.rss)), "MiB", false, "peak of the pipeline's processes (the timer waits for sh)"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) print(await cliBatch(), process.argv.includes("--json"));
