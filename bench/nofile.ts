/**
 * The open-files limit a bench needs, raised before it opens thousands of sockets (bench/proxy.ts:
 * 5,000 held connections are 5,000 fds in the bench and 10,000 in the daemon, which inherits the
 * limit). It fails loudly when the hard limit is too low: `prlimit --nofile=65535` used to fail
 * silently where the hard limit is 20,000, and a limit too low to hold shows up as connections
 * that did not open, not as an error.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";

/**
 * The "Max open files" soft and hard limits from /proc/PID/limits text (Infinity for
 * "unlimited"); undefined when the line is missing.
 *
 * @example
 * ```ts
 * import { openFilesLimit } from "./nofile.ts";
 * openFilesLimit("Max open files            1024                 20000                files     \n"); // { soft: 1024, hard: 20000 }
 * ```
 */
export function openFilesLimit(limits: string): { soft: number; hard: number } | undefined {
  const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)\s+files/m.exec(limits);
  if (!m) return undefined;
  const n = (v: string) => (v === "unlimited" ? Infinity : Number(v));
  return { soft: n(m[1]!), hard: n(m[2]!) };
}

/**
 * The soft and hard limit to set for `need` open files, asking for `want` where the hard limit
 * allows (an unprivileged process cannot raise its hard limit, nor can root in a container whose
 * limit is lower), or an error message when even `need` is over the hard limit. Pure.
 *
 * @example
 * ```ts
 * import { openFilesPlan } from "./nofile.ts";
 * openFilesPlan({ soft: 1024, hard: 20000 }, 10500, 65535); // { set: 20000 }
 * openFilesPlan({ soft: 1024, hard: 4096 }, 10500, 65535); // { error: "... needs 10500 open files ..." }
 * ```
 */
export function openFilesPlan(cur: { soft: number; hard: number }, need: number, want: number, what = "this bench"): { set: number } | { error: string } {
  if (cur.hard < need) {
    return { error: `${what} needs ${need} open files and the hard limit here is ${cur.hard}: raise it first (as root: ulimit -Hn ${want}, or prlimit --pid $$ --nofile=${want}:${want}; a container's own limit may cap it)` };
  }
  return { set: Math.max(cur.soft, Math.min(want, cur.hard)) };
}

/**
 * Raises this process's open-files limit (soft and hard) to `want`, or to the hard limit when that
 * is lower but still at least `need`; throws when it cannot (the hard limit is below `need`, or
 * prlimit fails). Children started later inherit it. Returns the limit set.
 *
 * @example
 * ```ts
 * import { raiseOpenFiles } from "./nofile.ts";
 * raiseOpenFiles(10_500, 65_535, "5,000 held connections"); // e.g. 20000
 * ```
 */
export function raiseOpenFiles(need: number, want: number, what?: string): number {
  const cur = openFilesLimit(readFileSync("/proc/self/limits", "utf8"));
  if (!cur) throw new Error("Cannot read the open-files limit from /proc/self/limits");
  const plan = openFilesPlan(cur, need, want, what);
  if ("error" in plan) throw new Error(plan.error);
  if (plan.set === cur.soft && plan.set === cur.hard) return plan.set;
  const r = spawnSync("prlimit", ["--pid", String(process.pid), `--nofile=${plan.set}:${plan.set}`], { encoding: "utf8" });
  const now = openFilesLimit(readFileSync("/proc/self/limits", "utf8"));
  if (r.status !== 0 || !now || now.soft < need) {
    throw new Error(`prlimit --nofile=${plan.set}:${plan.set} failed (${(r.stderr ?? r.error?.message ?? "").trim() || `exit ${r.status}`}): the open-files limit is ${now?.soft ?? "unknown"}, ${what ?? "this bench"} needs ${need}`);
  }
  return now.soft;
}
