/**
 * Shared benchmark plumbing: result rows, medians, interleaving, C references compiled on the
 * spot, a throwaway network namespace for the run, CPU pinning.
 */
import { spawnSync, execFileSync } from "node:child_process";
import { mkdirSync, existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

/** One line of the benchmark table. */
export interface Row {
  name: string;
  tunkit: number;
  reference: number;
  /** tunkit / reference, oriented so that > 1 means tunkit is better (see `higherIsBetter`). */
  ratio: number;
  unit: string;
  note?: string;
}

export const root = resolve(import.meta.dir, "..");

/** Row with the ratio computed: for "higher is better" units tunkit/ref, else ref/tunkit. */
export function row(name: string, tunkit: number, reference: number, unit: string, higherIsBetter = true, note?: string): Row {
  const ratio = higherIsBetter ? tunkit / reference : reference / tunkit;
  return { name, tunkit: round(tunkit), reference: round(reference), ratio: Math.round(ratio * 100) / 100, unit, ...(note ? { note } : {}) };
}

export function round(x: number): number {
  return Math.abs(x) >= 100 ? Math.round(x) : Math.round(x * 100) / 100;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Compiles bench/c/NAME.c with -O2 (once per source change) and returns the binary path. */
export function compileC(name: string): string {
  const src = join(root, "bench/c", `${name}.c`);
  const dir = join(root, "bench/.build");
  mkdirSync(dir, { recursive: true });
  const out = join(dir, name);
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    execFileSync("gcc", ["-O2", "-Wall", "-o", out, src], { stdio: "inherit" });
  }
  return out;
}

/** True when this process runs in a network namespace with no real interfaces (made by us). */
export function inOwnNetns(): boolean {
  const r = spawnSync("ip", ["-j", "link", "show"], { encoding: "utf8" });
  if (r.status !== 0) return false;
  const links = JSON.parse(r.stdout) as Array<{ link_type: string; ifname: string }>;
  return links.every((l) => l.link_type === "loopback" || l.ifname.startsWith("tk"));
}

/**
 * Re-executes the current script inside a fresh network namespace unless already in one.
 * Returns true in the parent (which should exit with the child's status).
 */
export function reexecInNetns(): boolean {
  if (process.env.TUNKIT_BENCH_NS === "1") return false;
  const r = spawnSync("unshare", ["-n", "sh", "-c", 'ip link set lo up; exec "$@"', "sh", process.execPath, ...process.argv.slice(1)], {
    stdio: "inherit",
    env: { ...process.env, TUNKIT_BENCH_NS: "1" },
  });
  process.exitCode = r.status ?? 1;
  return true;
}

/** `taskset -c CPU` prefix when taskset exists and the CPU is there. */
export function pin(cpu: number): string[] {
  const n = navigator.hardwareConcurrency ?? 1;
  if (n < 2) return [];
  return spawnSync("taskset", ["-c", "0", "true"]).status === 0 ? ["taskset", "-c", String(cpu % n)] : [];
}

export function sh(cmd: string, ...args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8" });
}

/** Prints rows as a table or, with --json, one JSON object per line. */
export function print(rows: Row[], json: boolean): void {
  if (json) {
    for (const r of rows) console.log(JSON.stringify(r));
    return;
  }
  const head = ["name", "tunkit", "reference", "ratio", "unit"];
  const cells = rows.map((r) => [r.name, String(r.tunkit), String(r.reference), `${r.ratio.toFixed(2)}x`, r.unit + (r.note ? `  (${r.note})` : "")]);
  const w = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 || i === 4 ? x.padEnd(w[i]!) : x.padStart(w[i]!))).join("  ");
  console.log(line(head));
  console.log(w.map((n) => "-".repeat(n)).join("  "));
  for (const c of cells) console.log(line(c));
}
