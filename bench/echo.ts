/**
 * Echo round trips per second through a tun: `ping -f` (one in flight) and `ping -f -l 64`
 * (64 in flight) answered by `tunkit echo` (the CLI, -q) or by the C responder of
 * bench/c/tunio.c (`tunio echo`: blocking read, ICMP reply in place, write). Same device,
 * interleaved, median of 3; ping pinned to CPU 0, the responder to CPU 1.
 *
 * tunkit echo busy-polls 50 µs after traffic by default (the next request of a ping-pong
 * arrives sooner than any wake-up); the `--busy-poll 0` rows show it waking through the
 * poller alone, against the same C runs.
 *
 *   bun bench/echo.ts [--json] [--count N] [--reps R]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { tunHolders } from "../tun/mod.ts";
import { compileC, median, pin, print, reexecInNetns, row, root, sh, type Row } from "./lib.ts";

const IF = "tkbecho0";
const LOCAL = "198.51.100.1";
const REMOTE = "198.51.100.2";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/** Processes holding the tun (the namespace is ours: the name is unique here). */
function attached(): number {
  return tunHolders(IF).get(IF)?.length ?? 0;
}

async function startResponder(cmd: string[]): Promise<ChildProcess> {
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: root, stdio: ["ignore", "ignore", "inherit"] });
  const t0 = Date.now();
  while (attached() === 0) {
    if (Date.now() - t0 > 10_000) {
      child.kill("SIGKILL");
      throw new Error(`${cmd.join(" ")} did not attach`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once("exit", r));
  child.kill("SIGINT");
  const t = setTimeout(() => child.kill("SIGKILL"), 3000);
  await done;
  clearTimeout(t);
}

/** ping -f -c N [-l preload]: round trips per second (received / elapsed). */
function flood(count: number, preload: number): number {
  const args = [...pin(0), "ping", "-q", "-f", "-c", String(count), "-W", "1", ...(preload > 1 ? ["-l", String(preload)] : []), REMOTE];
  const r = spawnSync(args[0]!, args.slice(1), { encoding: "utf8", timeout: 60_000 });
  const m = /(\d+) packets transmitted, (\d+) received.*time (\d+)ms/s.exec(r.stdout);
  if (!m) throw new Error(`ping: ${r.stdout}${r.stderr}`);
  const received = Number(m[2]);
  if (received < count * 0.99) throw new Error(`ping: only ${received} of ${count} answered`);
  return received / (Number(m[3]) / 1000);
}

export default async function echoBench(opts: { count?: number; reps?: number } = {}): Promise<Row[]> {
  const count = opts.count ?? arg("--count", 20000);
  const reps = opts.reps ?? arg("--reps", 3);
  const c = compileC("tunio");
  sh("ip", "tuntap", "add", IF, "mode", "tun");
  sh("ip", "addr", "add", `${LOCAL}/24`, "dev", IF);
  sh("ip", "link", "set", IF, "up");
  const responders: Record<"c" | "t" | "n", string[]> = {
    c: [...pin(1), c, "echo", IF, "120"],
    t: [...pin(1), process.execPath, "cli/main.ts", "-q", "echo", IF],
    n: [...pin(1), process.execPath, "cli/main.ts", "-q", "echo", IF, "--busy-poll", "0"],
  };
  const res = { c1: [] as number[], t1: [] as number[], n1: [] as number[], c64: [] as number[], t64: [] as number[], n64: [] as number[] };
  try {
    for (let rep = 0; rep < reps; rep++) {
      for (const who of rep % 2 === 0 ? (["c", "t", "n"] as const) : (["n", "t", "c"] as const)) {
        const child = await startResponder(responders[who]);
        try {
          flood(500, 1); // warm-up (JIT, caches)
          res[`${who}1`].push(flood(count, 1));
          res[`${who}64`].push(flood(count * 3, 64));
        } finally {
          await stop(child);
        }
      }
    }
  } finally {
    spawnSync("ip", ["link", "del", IF]);
  }
  return [
    row("echo round trips, ping -f (1 in flight)", median(res.t1), median(res.c1), "RT/s", true, "tunkit echo vs C tunio echo (blocking read)"),
    row("echo round trips, ping -f -l 64", median(res.t64), median(res.c64), "RT/s", true, "tunkit echo vs C tunio echo"),
    row("echo RT, ping -f, --busy-poll 0", median(res.n1), median(res.c1), "RT/s", true, "tunkit waking through the poller only"),
    row("echo RT, ping -f -l 64, --busy-poll 0", median(res.n64), median(res.c64), "RT/s", true, "tunkit waking through the poller only"),
  ];
}

if (import.meta.main) {
  if (!reexecInNetns()) print(await echoBench(), process.argv.includes("--json"));
}
