/**
 * Why tunkit reads the way it does: the candidate designs for "read a tun without blocking the
 * event loop", measured on the same device under the same flood (C generator on CPU 0, the
 * reader's main thread on CPU 1), then idle. Three numbers each: read pps (vs a C blocking read
 * loop run in the same round), p99 lag of a 5 ms timer under load, CPU while idle.
 *
 *   tunkit   non-blocking drain on the JS thread, setImmediate every 256 packets, and only when
 *            the fd is empty a one-shot epoll watch served by a helper thread (ffi/poller.ts)
 *   spin     the same drain, but setImmediate on EAGAIN instead of the poller: no wake-up
 *            latency, 100% CPU while idle
 *   fs       node:fs async read(), 4 in flight, on the runtime's thread pool
 *
 * The Worker + SharedArrayBuffer ring and epoll_wait(timeout) polling designs are in
 * ../shared/notes/bun-ffi-tun-io.md (measured on this kind of machine: ring .38x C on one core,
 * 1 ms polling ~50% CPU at low rates); they lose on one of the three counts by construction.
 *
 *   bun bench/tun-designs.ts [--json] [--secs S]
 */
import { spawnSync } from "node:child_process";
import { compileC, median, pin, print, reexecInNetns, root, sh, type Row } from "./lib.ts";

const IF = "tkdes0";

function runJson(cmd: string[]): Record<string, number> {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8", cwd: root, timeout: 60_000, env: { ...process.env, TUNKIT_BENCH_CPU: pin(1).length ? "1" : "" } });
  if (r.status !== 0) throw new Error(`${cmd.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!);
}

export default async function tunDesigns(opts: { secs?: number; reps?: number } = {}): Promise<Row[]> {
  const secs = opts.secs ?? 2;
  const reps = opts.reps ?? 3;
  const c = compileC("tunio");
  sh("ip", "tuntap", "add", IF, "mode", "tun");
  sh("ip", "addr", "add", "203.0.113.1/24", "dev", IF);
  sh("ip", "link", "set", IF, "up");
  const designs = [["tunkit", "read", "idle"], ["spin", "spin-read", "spin-idle"], ["fs", "fs-read", "fs-idle"]] as const;
  const res = new Map<string, { pps: number[]; lag: number[]; cref: number[] }>();
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const [name, readMode] of designs) {
        const flood = () => Bun.spawn([...pin(0), c, "gen", "203.0.113.2", "9", "64", String(secs + 1.5)], { stdout: "ignore" });
        let g = flood();
        Bun.sleepSync(200);
        const cpps = Number(spawnSync(pin(1)[0] ? "taskset" : c, pin(1)[0] ? ["-c", "1", c, "read", IF, String(secs)] : ["read", IF, String(secs)], { encoding: "utf8" }).stdout.trim());
        g.kill();
        await g.exited;
        g = flood();
        Bun.sleepSync(200);
        const r = runJson([process.execPath, "bench/tun-io-child.ts", readMode, IF, String(secs)]);
        g.kill();
        await g.exited;
        const e = res.get(name) ?? { pps: [], lag: [], cref: [] };
        e.pps.push(r.pps!);
        e.lag.push(r.p99LagMs!);
        e.cref.push(cpps);
        res.set(name, e);
      }
    }
    const rows: Row[] = [];
    for (const [name, , idleMode] of designs) {
      const e = res.get(name)!;
      const idle = runJson([process.execPath, "bench/tun-io-child.ts", idleMode, IF, "3"]);
      const pps = median(e.pps) / 1000;
      const cref = median(e.cref) / 1000;
      rows.push({
        name: `design ${name}: read 64B`,
        tunkit: Math.round(pps),
        reference: Math.round(cref),
        ratio: Math.round((pps / cref) * 100) / 100,
        unit: "kpps",
        note: `p99 timer lag ${median(e.lag).toFixed(2)} ms, idle CPU ${idle.cpuPct!.toFixed(2)}%`,
      });
    }
    return rows;
  } finally {
    spawnSync("ip", ["link", "del", IF]);
  }
}

if (import.meta.main) {
  const i = process.argv.indexOf("--secs");
  if (!reexecInNetns()) print(await tunDesigns({ secs: i >= 0 ? Number(process.argv[i + 1]) : 2 }), process.argv.includes("--json"));
}
