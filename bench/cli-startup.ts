/**
 * CLI cold start: the compiled binary (`dist/tunkit`, rebuilt into bench/.build/tunkit) against
 * iproute2, interleaved, median of ROUNDS runs each:
 *   - `tunkit --version`                       vs `ip -V`
 *   - `tunkit addr add ADDR/32 dev tkb0`       vs `ip addr add ADDR/32 dev tkb0` (a new address each run)
 *   - `tunkit route list`                      vs `ip route show`
 * plus peak RSS of the addr add (GNU time's %M) and the size on disk of each program.
 * Ratios follow bench/lib.ts (reference / tunkit for times: above 1 means tunkit is faster).
 * The target is "at most 3x ip", i.e. a ratio of at least 0.33.
 *
 *   node_modules/.bin/bun bench/cli-startup.ts [--json]    # alone: makes its own namespace
 *
 * The default export is what bench/run.ts calls (already inside a namespace it made).
 */
import { spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { inOwnNetns, median, print, reexecInNetns, root, row, type Row } from "./lib.ts";

const ROUNDS = 41;

function time(cmd: string, args: string[]): number {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"] });
  const t = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.stderr}`);
  return t;
}

/** Peak RSS in KiB of one run, from GNU time. */
function peakRss(cmd: string, args: string[]): number {
  const r = spawnSync("/usr/bin/time", ["-f", "%M", cmd, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`/usr/bin/time ${cmd}: ${r.stderr}`);
  return Number(r.stderr.trim().split("\n").pop());
}

function which(cmd: string): string {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();
}

/** Builds the binary the way `npm run build` does, into bench/.build/tunkit. */
function build(): string {
  const out = join(root, "bench/.build/tunkit");
  const r = spawnSync(process.execPath, [join(root, "scripts/build.ts"), "--outfile", out], { encoding: "utf8" });
  if (r.status !== 0 || !existsSync(out)) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
  return out;
}

/**
 * Runs the start-up benchmark (inside a namespace made for it: refuses to run elsewhere).
 *
 * @example
 * ```ts
 * import bench from "./cli-startup.ts";
 * for (const r of await bench()) console.log(r.name, r.ratio);
 * ```
 */
export default async function cliStartup(): Promise<Row[]> {
  if (!inOwnNetns()) throw new Error("cli-startup: run me through bench/run.ts or alone (I make my own network namespace)");
  const tk = build();
  const ip = which("ip");
  spawnSync("ip", ["tuntap", "add", "tkb0", "mode", "tun"]);
  spawnSync("ip", ["link", "set", "tkb0", "up"]);
  const rows: Row[] = [];
  try {
    // Warm the page cache for both programs.
    for (let i = 0; i < 3; i++) {
      time(tk, ["--version"]);
      time(ip, ["-V"]);
    }
    const v = { tk: [] as number[], ip: [] as number[] };
    const a = { tk: [] as number[], ip: [] as number[] };
    const l = { tk: [] as number[], ip: [] as number[] };
    for (let i = 0; i < ROUNDS; i++) {
      // Interleaved, alternating who goes first.
      const pairs: Array<[() => number, () => number]> = [
        [() => time(tk, ["--version"]), () => time(ip, ["-V"])],
        [() => time(tk, ["addr", "add", `198.18.${i >> 8}.${i & 255}/32`, "dev", "tkb0"]), () => time(ip, ["addr", "add", `198.19.${i >> 8}.${i & 255}/32`, "dev", "tkb0"])],
        [() => time(tk, ["route", "list"]), () => time(ip, ["route", "show"])],
      ];
      const sinks = [v, a, l];
      pairs.forEach(([t, r], k) => {
        if (i % 2) {
          sinks[k]!.tk.push(t());
          sinks[k]!.ip.push(r());
        } else {
          sinks[k]!.ip.push(r());
          sinks[k]!.tk.push(t());
        }
      });
    }
    const note = "target: ratio >= 0.33 (at most 3x ip)";
    rows.push(row("cli: --version cold start (vs ip -V)", median(v.tk), median(v.ip), "ms", false, note));
    rows.push(row("cli: addr add cold start (vs ip addr add)", median(a.tk), median(a.ip), "ms", false, note));
    rows.push(row("cli: route list cold start (vs ip route show)", median(l.tk), median(l.ip), "ms", false));
    const rssTk = median([0, 1, 2].map((i) => peakRss(tk, ["addr", "add", `198.20.0.${i}/32`, "dev", "tkb0"])));
    const rssIp = median([0, 1, 2].map((i) => peakRss(ip, ["addr", "add", `198.21.0.${i}/32`, "dev", "tkb0"])));
    rows.push(row("cli: addr add peak RSS", rssTk / 1024, rssIp / 1024, "MiB", false));
    rows.push(row("cli: size on disk (ip is dynamically linked)", statSync(tk).size / 1048576, statSync(ip).size / 1048576, "MiB", false));
  } finally {
    spawnSync("ip", ["link", "del", "tkb0"]);
  }
  return rows;
}

if (import.meta.main && !reexecInNetns()) {
  print(await cliStartup(), process.argv.includes("--json"));
}
