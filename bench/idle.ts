/**
 * The "idle tunnel" row of issue 14 (< 1% of a core), thread by thread: tun2socks daemons side by
 * side in bench/udp-rt.ts's topology (dante, the UDP echo server), each measured
 * - fresh: from `--wait` s (1) after "ready" for `--secs` s (10), a tunnel that carried nothing;
 * - after: from 1 s after a UDP query/answer flow of `--flow` s (3) through it, for `--secs` s
 *   (udp-rt --idle's window, read to the ns instead of in 10 ms ticks).
 * Per daemon and window: CPU as % of a core (schedstat, every thread), and per thread its CPU and
 * how many times it ran (schedstat's third field: each is one wake-up), and its threads at the
 * start (a "Worker" is a second JavaScript VM). `--strace`: one more
 * window per daemon under `strace -f -tt` (/tmp/idle-strace-NAME-WINDOW.txt): what woke it.
 *
 *   bun bench/idle.ts [--bin NAME=PATH ...] [--env NAME:K=V,...] [--hev] [--secs S] [--wait S] [--flow S] [--strace]
 *
 * `--bin` (repeatable, default dist/tunkit); `--env NAME:K=V,...`: extra environment of daemon
 * NAME; `--hev`: hev-socks5-tunnel (HEV_SOCKS5_TUNNEL) too.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { Topology, Proc, sh } from "../tests/fixtures/proxy/topology.ts";
import { reexecInNetns } from "./lib.ts";
import { args, qa, startDaemons, type Daemon } from "./udp-rt.ts";

/** Per thread id: [name, ns run, times run] (/proc/PID/task/TID/schedstat). */
function threads(pid: number): Map<string, [string, number, number]> {
  const m = new Map<string, [string, number, number]>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "latin1").split(" ");
      m.set(tid, [readFileSync(`/proc/${pid}/task/${tid}/comm`, "latin1").trim(), Number(s[0]), Number(s[2])]);
    } catch {
      /* exited */
    }
  }
  return m;
}

/** One window: % of a core, and per thread name "name ms/wake-ups". */
async function window(pid: number, secs: number): Promise<string> {
  const a = threads(pid);
  await Bun.sleep(secs * 1000);
  const b = threads(pid);
  let ns = 0;
  const by = new Map<string, [number, number]>();
  for (const [tid, [name, t, n]] of b) {
    const [, t0, n0] = a.get(tid) ?? [name, 0, 0];
    ns += t - t0;
    const e = by.get(name) ?? [0, 0];
    by.set(name, [e[0] + t - t0, e[1] + n - n0]);
  }
  const parts = [...by].filter(([, [t, n]]) => t > 0 || n > 0).sort((x, y) => y[1][0] - x[1][0]).map(([name, [t, n]]) => `${name} ${(t / 1e6).toFixed(1)} ms/${n}`);
  return `${((ns / 1e9 / secs) * 100).toFixed(2)}% of a core  (by thread, ms/runs: ${parts.join(", ") || "none"})`;
}

if (import.meta.main && !reexecInNetns()) {
  const secs = Number(args("--secs")[0] ?? 10);
  const flow = Number(args("--flow")[0] ?? 3);
  const wait = Number(args("--wait")[0] ?? 1);
  const t = new Topology("idle");
  let ds: Daemon[] = [];
  try {
    ds = await startDaemons(t, "tki");
    const strace = process.argv.includes("--strace");
    const measure = async (label: string, after = 1) => {
      await Bun.sleep(after * 1000);
      // all daemons in the same window (the machine's load moves them alike)
      const rows = await Promise.all(ds.map((d) => window(d.proc.child.pid!, secs)));
      ds.forEach((d, i) => console.log(`${d.name.padEnd(8)} ${label.padEnd(6)} ${rows[i]}`));
      if (!strace) return;
      for (const d of ds) {
        const out = `/tmp/idle-strace-${d.name}-${label}.txt`;
        const s = new Proc(["strace", "-f", "-tt", "-qq", "-o", out, "-p", String(d.proc.child.pid!)]);
        await Bun.sleep(secs * 1000);
        s.kill("SIGINT");
        await s.exited;
        const lines = readFileSync(out, "utf8").split("\n").filter((l) => l.trim());
        const by = new Map<string, number>();
        for (const l of lines) {
          const m = /^\d+\s+\S+\s+(\w+)\(/.exec(l);
          if (m) by.set(m[1]!, (by.get(m[1]!) ?? 0) + 1);
        }
        console.log(`${d.name.padEnd(8)} ${label.padEnd(6)} strace ${secs} s: ${[...by].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(", ")} (${out})`);
      }
    };
    for (const d of ds) console.log(`${d.name.padEnd(8)} threads: ${[...threads(d.proc.child.pid!).values()].map(([n]) => n).join(", ")}`);
    await measure("fresh", wait);
    for (const d of ds) {
      sh("ip", "route", "replace", "198.51.100.0/24", "dev", d.dev);
      const v = await qa(flow * 1000);
      console.log(`${d.name.padEnd(8)} flow   ${v.toFixed(0)} q/s for ${flow} s`);
    }
    await measure("after");
    console.log(`load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
  } finally {
    await t.down();
  }
}
