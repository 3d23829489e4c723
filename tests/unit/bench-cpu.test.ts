// bench/cpu.ts: a daemon's CPU to the ns, every thread (bench/proxy.ts's CPU rows used
// /proc/PID/stat's 10 ms ticks: ±2-7% of a short-connection round).
import { expect, test } from "bun:test";
import { cpuBetween, cpuByThread, readCpu, type CpuReading } from "../../bench/cpu.ts";

const reading = (ns: Record<string, number>, ticks: number, comm: Record<string, string> = {}): CpuReading => ({
  ns: new Map(Object.entries(ns)),
  comm: new Map(Object.entries(comm)),
  ticks,
});

test("cpuBetween sums every thread's run time in ns; a thread born since counts from 0", () => {
  const a = reading({ "10": 1_000_000_000, "11": 5_000 }, 100);
  const b = reading({ "10": 1_250_000_123, "11": 1_005_000, "12": 2_000_000 }, 103);
  const r = cpuBetween(a, b);
  expect(r.lost).toBe(false);
  expect(r.seconds).toBeCloseTo(0.253000123, 9); // not the ticks' 0.03
});

test("cpuBetween falls back on the ticks when a thread exited between the readings and they say more", () => {
  const a = reading({ "10": 0, "11": 0 }, 0);
  expect(cpuBetween(a, reading({ "10": 10_000_000 }, 5))).toEqual({ seconds: 0.05, lost: true });
  expect(cpuBetween(a, reading({ "10": 70_000_000 }, 5))).toEqual({ seconds: 0.07, lost: true });
});

test("cpuByThread sums threads of one name, largest first, idle ones left out", () => {
  const a = reading({ "1": 0, "2": 0, "3": 0, "4": 7 }, 0);
  const b = reading({ "1": 3e6, "2": 1e6, "3": 1e6, "4": 7 }, 0, { "1": "exe", "2": "JITWorker", "3": "JITWorker", "4": "idle" });
  expect(cpuByThread(a, b)).toEqual([["exe", 0.003], ["JITWorker", 0.002]]);
});

test("readCpu reads this process's threads: work shows to well under a tick", () => {
  const a = readCpu(process.pid, true);
  expect(a.ns.has(String(process.pid))).toBe(true);
  expect(a.comm.get(String(process.pid))).toBeString();
  // 3 ms of this process's CPU (getrusage, µs), however long the machine makes it take
  const u0 = process.cpuUsage();
  let x = 0;
  for (let used = 0; used < 3000; ) {
    for (let i = 0; i < 10_000; i++) x += Math.sqrt(x + 1);
    const u = process.cpuUsage(u0);
    used = u.user + u.system;
  }
  const { seconds } = cpuBetween(a, readCpu(process.pid));
  expect(x).toBeGreaterThan(0);
  expect(seconds).toBeGreaterThan(0.0025);
  expect(seconds).toBeLessThan(0.5);
  // not whole ticks, as /proc/PID/stat would say
  expect(Math.abs(seconds * 100 - Math.round(seconds * 100))).toBeGreaterThan(1e-6);
});
