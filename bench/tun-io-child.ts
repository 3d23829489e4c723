/**
 * tunkit's side of bench/tun-io.ts, run as its own process (pinned to a CPU):
 *   bun bench/tun-io-child.ts read  IFNAME SECONDS
 *   bun bench/tun-io-child.ts write IFNAME SECONDS HEXPACKET
 *   bun bench/tun-io-child.ts idle  IFNAME SECONDS
 *   bun bench/tun-io-child.ts echo  IFNAME SECONDS
 *   bun bench/tun-io-child.ts timers - SECONDS      (only the timer: the reference lag)
 * With TUNKIT_BENCH_CPU=N only the main JS thread is pinned to CPU N (as a C reader's one
 * thread is); the runtime's JIT and GC threads stay free, as they would in production.
 * Prints one JSON object: {pps, p99LagMs, maxLagMs, cpuPct}.
 * A 5 ms setInterval runs throughout; its lag (how late each tick fires) is the proof that the
 * event loop stays served under load.
 */
import { openTun, fromHex } from "../mod.ts";
import { echoReply } from "../packet/echo.ts";
import { percentile } from "./lib.ts";
import { spawnSync } from "node:child_process";

const [mode, name, secsArg, hex] = process.argv.slice(2);
const secs = Number(secsArg);
if (process.env.TUNKIT_BENCH_CPU) spawnSync("taskset", ["-p", "-c", process.env.TUNKIT_BENCH_CPU, String(process.pid)], { stdio: "ignore" });
const dev = mode === "timers" ? undefined : openTun({ name: name! });

const lags: number[] = [];
let last = performance.now();
const iv = setInterval(() => {
  const t = performance.now();
  lags.push(Math.max(0, t - last - 5));
  last = t;
}, 5);

const ac = new AbortController();
const cpu0 = process.cpuUsage();
const t0 = performance.now();
setTimeout(() => ac.abort(), secs * 1000);
let count = 0;

if (mode === "timers") {
  await new Promise((r) => setTimeout(r, secs * 1000));
} else if (!dev) {
  throw new Error("no device");
} else if (mode === "read" || mode === "idle") {
  if (mode === "idle") clearInterval(iv); // measure the reader alone
  await dev.listen(() => {
    count++;
  }, { signal: ac.signal });
} else if (mode === "echo") {
  await dev.listen((buf, n) => {
    const r = echoReply(buf, n);
    if (r > 0) {
      dev.write(buf, 0, r);
      count++;
    }
  }, { signal: ac.signal });
} else if (mode === "write") {
  const pkt = fromHex(hex!);
  const len = pkt.length;
  const imm = () => new Promise((r) => setImmediate(r));
  while (!ac.signal.aborted) {
    for (let i = 0; i < 256; i++) dev.write(pkt, 0, len);
    count += 256;
    await imm();
  }
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(2);
}
const elapsed = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
clearInterval(iv);
dev?.close();
console.log(JSON.stringify({
  pps: count / elapsed,
  count,
  p99LagMs: percentile(lags, 99),
  maxLagMs: Math.max(0, ...lags),
  cpuPct: ((cpu.user + cpu.system) / 1e6 / elapsed) * 100,
}));
