/**
 * tun2socks memory, two tunkit binaries A/B (no hev: bench/proxy.ts `--only rss` has that row):
 * fresh `tunkit socks` daemons through microsocks, in the topology of tests/fixtures/proxy, one
 * fresh pair per round, the order alternating. Per daemon, from /proc/PID/status:
 * - start-up: VmRSS and VmHWM 1 s after it printed "ready" (the peak so far is the start-up's);
 * - held: 20 short connections, then `--held` connections (5,000) opened 100 at a time and held,
 *   VmRSS and VmHWM 0.5 s after the last opened (bench/proxy.ts's hold row, without its bulk rows).
 * Medians of the rounds, every round printed. `--relay splice` runs both with TUNKIT_RELAY=splice.
 * `--detail`: per daemon and step, /proc/PID/smaps_rollup's anonymous and file-backed MB, and
 * (with TUNKIT_HEAP_REPORT=1 passed to the daemons) the JS heap report SIGUSR2 makes, on stderr.
 *
 * Session 10 (load 3-5): splice relay, start-up peak 37.7 MB (36.9-38.6) with the netlink wait
 * off the epoll helper thread (no Worker) against 40-42 before; held 5,000: RSS 30.8, peak
 * 40.8 (38.6-44.8). A daemon started right after another released 5,000 connections now and
 * then peaks at 46-47 MB already at start-up (2 of 8 starts here; not seen in starts alone).
 *
 * Session 11 (load 5-8, 5 pairs, `--held 500`): the netlink wait on ffi/sigpoll.ts (no Worker, not
 * the tun's SIGIO): start-up peak 37.6 MB (37.5-37.7) against main's 40.5 (40.2-41.4), RSS 1 s
 * after ready 25.4 against 26.5.
 *
 *   bun bench/proxy-memory.ts [--bin new=dist/tunkit] [--bin main=/work/wt/_tk_main10] [--reps N] [--held N] [--relay splice] [--detail] [--json]
 *
 * @module
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Topology, Proc, sh, PROXY_V4 } from "../tests/fixtures/proxy/topology.ts";
import { median, print, reexecInNetns, root, round, row, type Row } from "./lib.ts";
import { raiseOpenFiles } from "./nofile.ts";
import { hold, request } from "./server-conns.ts";

const PORT = 1080;
const SERVER_NET = "198.51.100.0/24";

function status(pid: number, key: "VmRSS" | "VmHWM"): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Anonymous and file-backed resident MB (smaps_rollup). */
function rollup(pid: number): string {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(t)?.[1] ?? NaN);
  const rss = kb("Rss"), anon = kb("Anonymous");
  return `rss ${(rss / 1024).toFixed(1)} anon ${(anon / 1024).toFixed(1)} file ${((rss - anon) / 1024).toFixed(1)} MB`;
}

/** The daemon's heap report (TUNKIT_HEAP_REPORT=1, SIGUSR2): its JSON line from stderr. */
async function heap(p: Proc): Promise<string> {
  const before = p.err.length;
  p.kill("SIGUSR2");
  for (let i = 0; i < 100 && !p.err.slice(before).includes("\n"); i++) await Bun.sleep(20);
  return p.err.slice(before).trim();
}

export default async function memoryBench(opts: { bins: [string, string][]; reps: number; held: number; relay?: string; detail?: boolean }): Promise<Row[]> {
  raiseOpenFiles(2 * opts.held + 500, 65535, `${opts.held} held connections`);
  const env: Record<string, string> = opts.relay ? { TUNKIT_RELAY: opts.relay } : {};
  const t = new Topology("mem");
  const keys = ["ready RSS", "ready peak", "held RSS", "held peak"] as const;
  const v = opts.bins.map(() => Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<(typeof keys)[number], number[]>);
  try {
    t.up();
    await t.startServer(1 << 20);
    await t.startMicrosocks(PORT);
    for (let r = 0; r < opts.reps; r++) {
      const order = r % 2 ? [1, 0] : [0, 1];
      for (const k of order) {
        const [, bin] = opts.bins[k]!;
        const dev = `tkm${k}r${r}`;
        const p = new Proc([bin, "socks", dev, "--proxy", `socks5://${PROXY_V4}:${PORT}`, "--address", `198.18.${4 + k}.1/30`], env);
        t.procs.push(p);
        try {
          await p.waitFor(/ready/, 15_000);
          const pid = p.child.pid!;
          await Bun.sleep(1000);
          v[k]!["ready RSS"].push(status(pid, "VmRSS"));
          v[k]!["ready peak"].push(status(pid, "VmHWM"));
          const tag = `${opts.bins[k]![0]} round ${r}`;
          if (opts.detail) console.error(`${tag} ready: ${rollup(pid)}${process.env.TUNKIT_HEAP_REPORT ? ` ${await heap(p)}` : ""}`);
          sh("ip", "route", "replace", SERVER_NET, "dev", dev);
          for (let i = 0; i < 20; i++) await request();
          const close = await hold(opts.held);
          await Bun.sleep(500);
          v[k]!["held RSS"].push(status(pid, "VmRSS"));
          v[k]!["held peak"].push(status(pid, "VmHWM"));
          if (opts.detail) console.error(`${tag} held: ${rollup(pid)} peak ${status(pid, "VmHWM")} MB${process.env.TUNKIT_HEAP_REPORT ? ` ${await heap(p)}; then ${rollup(pid)}` : ""}`);
          close();
          await Bun.sleep(300);
        } finally {
          p.kill("SIGTERM");
          await Promise.race([p.exited, Bun.sleep(3000)]);
        }
      }
    }
  } finally {
    await t.down();
  }
  const [a, b] = opts.bins;
  const rows: Row[] = [];
  for (const key of keys) {
    const note = `${opts.reps} fresh pairs${opts.relay ? `, TUNKIT_RELAY=${opts.relay}` : ""}; rounds ${v[0]![key].map(round).join(" ")} vs ${v[1]![key].map(round).join(" ")}; ${a![0]} vs ${b![0]}`;
    rows.push(row(`tun2socks ${key}${key.startsWith("held") ? ` (${opts.held} connections)` : " (1 s after ready)"}`, median(v[0]![key]), median(v[1]![key]), "MB", false, note));
  }
  return rows;
}

if (import.meta.main && !reexecInNetns()) {
  const args = process.argv.slice(2);
  const val = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const bins: [string, string][] = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] !== "--bin") continue;
    const s = args[i + 1]!;
    const eq = s.indexOf("=");
    bins.push(eq > 0 ? [s.slice(0, eq), s.slice(eq + 1)] : [s, s]);
  }
  if (bins.length === 0) bins.push(["new", join(root, "dist/tunkit")]);
  if (bins.length === 1) bins.push(["main", "/work/wt/_tk_main10"]);
  for (const [, b] of bins) if (!existsSync(b)) throw new Error(`${b}: no such binary`);
  const rows = await memoryBench({ bins, reps: Number(val("--reps") ?? 3), held: Number(val("--held") ?? 5000), relay: val("--relay"), detail: args.includes("--detail") });
  print(rows, args.includes("--json"));
}
