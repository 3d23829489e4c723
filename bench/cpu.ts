/**
 * A process's CPU time in ns, thread by thread, for the benches that charge a daemon with its
 * work (bench/proxy.ts, bench/proxy-profile.ts): the first field of
 * /proc/PID/task/TID/schedstat (the thread's sum_exec_runtime, ns). /proc/PID/stat's
 * utime+stime come in 10 ms ticks: a sequential round of 500 short connections costs a tun2socks
 * daemon 150-450 ms, so one tick at each end is ±2-7% of the row, too coarse to tell 1.4x from
 * 1.6x. /proc/PID/schedstat alone is the main thread's, and Bun's helpers (mi-scavenger,
 * HeapHelper, JIT workers) run beside it: every thread is read.
 *
 * A thread that exits between two readings takes its time with it (the task is gone): then the
 * ticks of /proc/PID/stat, which keep exited threads' time, decide when they say more.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";

/** USER_HZ: /proc/PID/stat's clock ticks per second. */
export const HZ = 100;

/** One reading: ns run per thread id, each thread's name, and /proc/PID/stat's utime+stime ticks. */
export interface CpuReading {
  ns: Map<string, number>;
  comm: Map<string, string>;
  ticks: number;
}

/** utime + stime of `pid` in clock ticks (every thread, exited ones included). */
export function cpuTicks(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]); // fields 14, 15
}

/** Reads every thread of `pid` (`names`: their comm too). */
export function readCpu(pid: number, names = false): CpuReading {
  const ns = new Map<string, number>();
  const comm = new Map<string, string>();
  const ticks = cpuTicks(pid);
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns.set(tid, Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "latin1").split(" ")[0]));
      if (names) comm.set(tid, readFileSync(`/proc/${pid}/task/${tid}/comm`, "latin1").trim());
    } catch {
      // the thread exited meanwhile
    }
  }
  return { ns, comm, ticks };
}

/**
 * CPU seconds from reading `a` to `b` of one process: the sum over `b`'s threads (one born since
 * counts from 0). `lost`: a thread of `a` is gone from `b`; its time since `a` is then unknown,
 * and `seconds` is the larger of the threads' sum and the ticks' difference.
 */
export function cpuBetween(a: CpuReading, b: CpuReading): { seconds: number; lost: boolean } {
  let ns = 0;
  for (const [tid, v] of b.ns) ns += v - (a.ns.get(tid) ?? 0);
  let lost = false;
  for (const tid of a.ns.keys()) if (!b.ns.has(tid)) lost = true;
  const seconds = ns / 1e9;
  return { seconds: lost ? Math.max(seconds, (b.ticks - a.ticks) / HZ) : seconds, lost };
}

/** Seconds per thread name from `a` to `b` (threads of one name summed), largest first. */
export function cpuByThread(a: CpuReading, b: CpuReading): Array<[string, number]> {
  const by = new Map<string, number>();
  for (const [tid, v] of b.ns) {
    const name = b.comm.get(tid) ?? tid;
    by.set(name, (by.get(name) ?? 0) + (v - (a.ns.get(tid) ?? 0)) / 1e9);
  }
  return [...by].filter(([, s]) => s > 0).sort((x, y) => y[1] - x[1]);
}
