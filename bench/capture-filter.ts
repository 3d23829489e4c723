/**
 * A kernel-side filter that matches 1% of a flood: the CPU `dist/tunkit dump --sniff -w` takes per
 * second with the filter compiled to BPF and attached to the socket (the default) against the
 * same dump with `--no-kernel-filter` (every packet copied to user space and filtered there).
 * Same flood, same output; interleaved, median of R runs; CPU from /proc/PID/stat (user+system).
 *
 * The flood: the C generator (bench/c/tunio.c) sends 64-byte UDP to port 9 into a tun whose
 * reader is the C read loop; a second, paced sender adds ~1% to port 10, which the filter
 * (`udp port 10`) keeps.
 *
 * Each dump first sees a 6 s warm-up flood (not timed), as in bench/capture.ts.
 *
 *   bun bench/capture-filter.ts [--json] [--secs S] [--reps R] [--no-build]
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dgram from "node:dgram";
import { compileC, median, print, reexecInNetns, row, root, sh, type Row } from "./lib.ts";
import { tunkitBinary } from "./capture.ts";

const IF = "tkbflt0";
const LOCAL = "198.51.100.1";
const REMOTE = "198.51.100.2";
const TICK = 100; // USER_HZ

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]); // utime, stime
}

/** ~`pps` datagrams a second to port 10 for `secs` seconds (paced in 10 ms slices). */
async function trickle(pps: number, secs: number): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, LOCAL, () => r()));
  const msg = Buffer.alloc(36, 0x61);
  let sent = 0;
  const t0 = Date.now();
  while (Date.now() - t0 < secs * 1000) {
    const due = Math.floor(((Date.now() - t0) * pps) / 1000);
    while (sent < due) {
      s.send(msg, 10, REMOTE);
      sent++;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  s.close();
  return sent;
}

interface Run {
  cpuPerSec: number;
  /** Packets the dump kept, warm-up included. */
  captured: number;
  /** Packets sent during the measured flood, and of those the ones the filter keeps. */
  sent: number;
  matching: number;
}

/** Seconds of warm-up flood before the measured one (tunkit's JIT compiles its packet path once per process). */
const WARMUP = 6;

async function runOne(tk: string, kernel: boolean, secs: number, gen: string, file: string, pps: number): Promise<Run> {
  const args = ["dump", IF, "--sniff", "-w", file, ...(kernel ? [] : ["--no-kernel-filter"]), "udp", "port", "10"];
  const child = spawn(tk, args, { cwd: root, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  try {
    for (let i = 0; i < 1000 && !/listening on/.test(err); i++) await new Promise((r) => setTimeout(r, 20));
    const w = spawn(gen, ["gen", REMOTE, "9", "64", String(WARMUP)], { stdio: ["ignore", "pipe", "ignore"] });
    let wout = "";
    w.stdout!.on("data", (d: Buffer) => (wout += d));
    await trickle(pps, WARMUP);
    await new Promise<void>((r) => (w.exitCode !== null ? r() : w.once("exit", () => r())));
    await new Promise((r) => setTimeout(r, 300));
    // the measured flood: 1% of the rate the generator reached beside this dump just now (the
    // calibration without a capture runs alone, and the machine's load moves between runs)
    const warm = Number(wout.trim());
    if (warm > 0) pps = Math.max(50, Math.round(warm / WARMUP / 100));
    const c0 = cpuTicks(child.pid!);
    const t0 = performance.now();
    const g = spawn(gen, ["gen", REMOTE, "9", "64", String(secs)], { stdio: ["ignore", "pipe", "ignore"] });
    let gout = "";
    g.stdout!.on("data", (d: Buffer) => (gout += d));
    const gdone = new Promise<void>((r) => g.once("exit", () => r()));
    const small = await trickle(pps, secs);
    await gdone;
    await new Promise((r) => setTimeout(r, 200));
    const c1 = cpuTicks(child.pid!);
    const dt = (performance.now() - t0) / 1000;
    child.kill("SIGINT");
    await exited;
    const captured = Number(/(\d+) packets? captured/.exec(err)?.[1] ?? NaN);
    return { cpuPerSec: (c1 - c0) / TICK / dt, captured, sent: Number(gout.trim()) + small, matching: small };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(file, { force: true });
  }
}

export default async function captureFilterBench(opts: { secs?: number; reps?: number } = {}): Promise<Row[]> {
  const secs = opts.secs ?? arg("--secs", 2);
  const reps = opts.reps ?? arg("--reps", 3);
  const c = compileC("tunio");
  const tk = tunkitBinary();
  const dir = mkdtempSync(join(tmpdir(), "tkbflt-"));
  sh("ip", "tuntap", "add", IF, "mode", "tun");
  sh("ip", "addr", "add", `${LOCAL}/24`, "dev", IF);
  sh("ip", "link", "set", IF, "up");
  const reader = spawn(c, ["read", IF, "3600"], { stdio: "ignore" });
  const k: Run[] = [];
  const u: Run[] = [];
  let pps = 0;
  try {
    await new Promise((r) => setTimeout(r, 200));
    // first guess for the warm-up: 1% of what the generator reaches here right now, without a capture
    const cal = spawnSync(c, ["gen", REMOTE, "9", "64", "1"], { encoding: "utf8", timeout: 20_000 });
    pps = Math.max(100, Math.round(Number(cal.stdout.trim()) / 100));
    for (let rep = 0; rep < reps; rep++) {
      for (const kernel of rep % 2 === 0 ? [true, false] : [false, true]) {
        (kernel ? k : u).push(await runOne(tk, kernel, secs, c, join(dir, "f.pcap"), pps));
      }
    }
  } finally {
    reader.kill("SIGKILL");
    spawnSync("ip", ["link", "del", IF]);
    rmSync(dir, { recursive: true, force: true });
  }
  const m = (xs: Run[], f: (r: Run) => number) => median(xs.map(f));
  return [
    row("kernel filter, 1% of a flood kept: dump CPU", m(k, (r) => r.cpuPerSec * 100), m(u, (r) => r.cpuPerSec * 100), "% of a core", false,
      `reference: the same dump with --no-kernel-filter; the filter matches ${m(k, (r) => (100 * r.matching) / Math.max(1, r.sent)).toFixed(2)}% / ${m(u, (r) => (100 * r.matching) / Math.max(1, r.sent)).toFixed(2)}% of ~${Math.round(m(k, (r) => r.sent) / 1000)}k / ${Math.round(m(u, (r) => r.sent) / 1000)}k packets of the measured flood; kept (warm-up included) ${Math.round(m(k, (r) => r.captured))} / ${Math.round(m(u, (r) => r.captured))}`),
  ];
}

if (import.meta.main) {
  if (!reexecInNetns()) print(await captureFilterBench(), process.argv.includes("--json"));
}
