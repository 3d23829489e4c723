/**
 * tunkit's side of bench/tun-io.ts, run as its own process (pinned to a CPU):
 *   bun bench/tun-io-child.ts read  IFNAME SECONDS
 *   bun bench/tun-io-child.ts write IFNAME SECONDS HEXPACKET
 *   bun bench/tun-io-child.ts idle  IFNAME SECONDS
 *   bun bench/tun-io-child.ts echo  IFNAME SECONDS
 *   bun bench/tun-io-child.ts timers - SECONDS      (only the timer: the reference lag)
 * Alternative designs, for bench/tun-designs.ts (same device, same measurements):
 *   spin-read / spin-idle     non-blocking drain, setImmediate on EAGAIN (no poller thread)
 *   fs-read / fs-idle         node:fs async read(), 4 in flight (the runtime's thread pool)
 * With TUNKIT_BENCH_CPU=N only the main JS thread is pinned to CPU N (as a C reader's one
 * thread is); the runtime's JIT and GC threads stay free, as they would in production.
 * Prints one JSON object: {pps, p99LagMs, maxLagMs, cpuPct}.
 * A 5 ms setInterval runs throughout; its lag (how late each tick fires) is the proof that the
 * event loop stays served under load.
 */
import { openTun } from "../tun/mod.ts";
import { fromHex } from "../common/mod.ts";
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
} else if (mode === "spin-read" || mode === "spin-idle") {
  if (mode === "spin-idle") clearInterval(iv);
  const buf = new Uint8Array(65536);
  const imm = () => new Promise((r) => setImmediate(r));
  while (!ac.signal.aborted) {
    let k = 0;
    while (k < 256 && dev.tryRead(buf) >= 0) k++;
    count += k;
    await imm();
  }
} else if (mode === "fs-read" || mode === "fs-idle") {
  if (mode === "fs-idle") clearInterval(iv);
  const fs = await import("node:fs");
  const { raw } = await import("../ffi/libc.ts");
  const fd = dev.fd;
  (await import("../ffi/libc.ts")).sys.setNonBlocking(fd, false);
  void raw;
  const loop = async () => {
    const buf = new Uint8Array(65536);
    while (!ac.signal.aborted) {
      await new Promise<void>((res) => fs.read(fd, buf, 0, buf.length, null, () => { count++; res(); }));
    }
  };
  await Promise.race([Promise.all([loop(), loop(), loop(), loop()]), new Promise((r) => ac.signal.addEventListener("abort", r))]);
  // Blocked pool reads never return on an idle tun: report and exit without waiting for them.
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  console.log(JSON.stringify({ pps: count / elapsed, count, p99LagMs: percentile(lags, 99), maxLagMs: Math.max(0, ...lags), cpuPct: ((cpu.user + cpu.system) / 1e6 / elapsed) * 100 }));
  process.exit(0);
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
