/**
 * Sniffing a packet flood to pcap: `dist/tunkit dump --sniff -w` against `tcpdump -w` on the
 * same flood. The flood: the C generator of bench/c/tunio.c sends 64-byte UDP into a tun whose
 * reader is the C read loop; the capturer sniffs beside it (AF_PACKET). Each capturer's own
 * report gives packets captured and dropped by the kernel; the generator reports what it sent.
 *
 * What the rows say: the flood rate the generator reaches beside each capturer (a capturer that
 * takes more CPU leaves it less; the ratio is tunkit's rate over tcpdump's), the share of the
 * sent packets each capturer wrote, and the kernel's drops. Two settings: unpinned (what a user
 * gets: generator, the tun's reader and the capturer wherever the scheduler puts them) and
 * pinned (generator and the tun's reader on CPU 0, capturer on CPU 1: the generator's rate then
 * moves only with what the capturer costs in the generator's own context, the kernel's copy into
 * its ring, and not with where the scheduler happens to put the reader; with the reader left
 * free, it settled either beside the generator or beside the capturer for a whole run, and the
 * generator's rate jumped between two levels about 1.5x apart whichever tool sniffed).
 * Interleaved, median of R runs. Each run also has a second tcpdump (the A/A row): tcpdump
 * against itself in the same rotation, so the spread of the bench itself is on the table next
 * to tunkit's ratio.
 * Each capturer first sees a 4 s warm-up flood (`--warmup S`; not timed: tunkit's JIT compiles
 * its packet path once per process, 1-2 s of a JIT thread's CPU on this machine; tcpdump is compiled ahead),
 * then the measured flood. Captured share counts both floods.
 * Both tools run with their defaults: tcpdump's libpcap ring (TPACKET_V3, 2 MiB, 1 s block
 * timeout writing a file), tunkit's (TPACKET_V3, 8 MiB in 32 blocks of 256 KiB, 100 ms block
 * timeout writing a file; each block's records copied into the file's buffer, written off the
 * JS thread 1 MiB at a time, tun/sniff-pcap.ts). The CPU row's note splits user and system
 * time; the load average at the start and the end goes to stderr (the machine is shared: read
 * the ratios with it).
 *
 * Where tunkit's time beside the flood goes, thread by thread (/proc/PID/task/N/schedstat and
 * the context-switch counts of /proc/PID/task/N/status over a 5 s flood at 115-130k packets/s,
 * session 10): the JS thread ~60 ms and ~280 wake-ups (the ring's timer steps, the flush tick,
 * the ends of writes); with 1 MiB writes Bun's two I/O threads ~200 wake-ups and 40 ms (each
 * write wakes both), mimalloc's scavenger ~70 and 9 ms, GC/JIT helpers ~35. tcpdump: one
 * thread, ~150 ms and ~450 wake-ups (one per ring block, in poll). dump -w now runs with no
 * scavenger (MIMALLOC_PURGE_DELAY=-1). 4 MiB writes halved the I/O threads' wake-ups (~90 per
 * 5 s) but were left out: in the one A/B run that had them (load 15-18) tunkit's ring dropped
 * in 3 of 18 runs against 1 of 18 for the 1 MiB build, unexplained in the time there was.
 *
 * Which threads run on the generator's CPU, and when (session 11: `perf sched record -a` over
 * a 5 s flood after the 4 s warm-up, each context switch attributed: what ran on the CPU the
 * generator had left while it was runnable). tcpdump: its one thread ran 127-152 ms, 4-76 ms
 * of it on the generator's CPU while the generator waited; most of that wait was the tun's
 * reader (50-1250 ms, placement). tunkit (3ff9883): the JS thread 48 ms, but Bun's two I/O
 * pool threads 77 + 86 ms (72 wake-ups each, ~1.1 ms a wake-up for a 1 MiB write that costs
 * 0.25 ms synchronously): 134 ms on the generator's CPU while it waited. node:fs's asynchronous
 * write costs 2-4x the write itself (80 MiB in 1 MiB writes: 20 ms of CPU with writeSync,
 * 46-86 ms through the pool). Writing a regular file on the JS thread while its writes stayed
 * fast (< 20 ms, else back to the pool) took that away in the same window (tunkit's threads ran
 * 54 + 3 + 1 ms, 4 ms of it beside a waiting generator), but was reverted: the quiet A/B
 * (9 unpinned pairs, 18 pinned, load 1.9-2.7) moved nothing (generator 188 vs 186 kpps beside
 * main's build unpinned, 149 vs 150 pinned; capturer CPU 0.08 vs 0.086 s per 1M packets), and
 * at load 15-22 the ring dropped in 2 of 9 runs (main's build 0 of 25): a JS thread that writes
 * does not walk the ring meanwhile.
 *
 * A third setting, loaded: unpinned, with `stress-ng --cpu 2N` running through the whole
 * capture (N CPUs): the capturer gets a share of a busy machine, and the rows that matter are
 * the share each tool wrote and the kernel's drops (a capturer that is not run for a while
 * loses what its ring cannot hold).
 *
 * Each setting also gets a row of the paired ratios' median against the A/A pairs' median (the
 * bench's own spread beside tunkit's) and a verdict by a stated rule (bench/capture-decide.ts:
 * ">= 1.0x" only when the sign-test interval of tunkit's pair median lies at or above 1.0,
 * "parity" when it holds 1.0, no verdict when the A/A pairs' own interval misses 1.0), also on
 * stderr; the pinned setting runs twice as many reps (see there).
 *
 *   bun bench/capture.ts [--json] [--secs S] [--reps R] [--pinned-reps P] [--warmup S] [--only unpinned,pinned,loaded]
 *       [--stress "STRESS-NG ARGS"] [--baseline OLD-TUNKIT] [--tunkit BIN] [--no-build]
 *
 * Builds dist/tunkit first (scripts/build.ts) unless --no-build or --tunkit BIN (that binary
 * as it is): the binary users run.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { compileC, median, percentile, pin, print, reexecInNetns, row, root, sh, type Row } from "./lib.ts";
import { decide } from "./capture-decide.ts";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const IF = "tkbcap0";
const LOCAL = "198.51.100.1";
const REMOTE = "198.51.100.2";
/**
 * Seconds of warm-up flood before the measured one (`--warmup S`). 4: tunkit's optimizing JIT
 * tier takes 1-2 s of a JIT thread's CPU; 6 before, which cost a third of each run for nothing
 * the pairs could use (more pairs in the same time narrow the decision's interval more).
 */
const WARMUP = arg("--warmup", 4);


/** dist/tunkit, built now (unless --no-build and it exists). */
export function tunkitBinary(): string {
  // --tunkit BIN: a given binary (a build kept aside while the tree changes), never rebuilt
  const ti = process.argv.indexOf("--tunkit");
  if (ti >= 0) return process.argv[ti + 1]!;
  const bin = join(root, "dist/tunkit");
  if (process.argv.includes("--no-build") && existsSync(bin)) return bin;
  const r = spawnSync(process.execPath, [join(root, "scripts/build.ts")], { cwd: root, encoding: "utf8" });
  if (r.status !== 0 || !existsSync(bin)) throw new Error(`build failed: ${r.stdout}${r.stderr}`);
  return bin;
}

interface Report {
  captured: number;
  dropped: number;
  /** Packets the measured flood sent. */
  sent: number;
  /** Packets the warm-up and the measured flood sent: what the capturer could write. */
  sentTotal: number;
  /** The capturer's CPU (user + system) during the measured flood, in seconds. */
  cpu: number;
  /** Its user part. */
  user: number;
  /** The generator's own CPU (user + system) during the measured flood, in seconds. */
  genCpu: number;
  fileBytes: number;
}

/** utime + stime of a process, and utime, in seconds (USER_HZ = 100). */
function cpuOf(pid: number): { cpu: number; user: number } {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return { cpu: (Number(rest[11]) + Number(rest[12])) / 100, user: Number(rest[11]) / 100 };
}

function collect(child: ChildProcess): { text: () => string; exited: Promise<void> } {
  let text = "";
  child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  child.stdout?.on("data", () => {});
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return { text: () => text, exited };
}

async function waitFor(get: () => string, re: RegExp, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!re.test(get())) {
    if (Date.now() - t0 > ms) throw new Error(`timeout waiting for ${re}: ${get()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Pins process `pid` (all its threads) to `cpu`, or lets it run anywhere (undefined). */
function setAffinity(pid: number, cpu: number | undefined): void {
  if (pin(0).length === 0) return;
  const cpus = cpu === undefined ? `0-${navigator.hardwareConcurrency - 1}` : String(cpu);
  spawnSync("taskset", ["-a", "-p", "-c", cpus, String(pid)], { stdio: "ignore" });
}

/**
 * The loaded setting's stressor: `stress-ng --cpu N` (N = 2 per CPU), bounded by its own
 * timeout, started before the capturer and stopped after it: the capturer then gets a share of a
 * busy machine, as when other work runs beside it.
 */
function startStress(secs: number): ChildProcess {
  return spawn("stress-ng", [...stressArgs(), "--timeout", `${secs}s`, "--quiet"], { stdio: "ignore", cwd: tmpdir() });
}

/** The stressor's load: `--stress "ARGS"` (stress-ng's own words), default `--cpu 2N`. */
function stressArgs(): string[] {
  const i = process.argv.indexOf("--stress");
  if (i >= 0) return process.argv[i + 1]!.split(/\s+/).filter(Boolean);
  return ["--cpu", String(2 * (navigator.hardwareConcurrency ?? 2)), "--cpu-method", "int64"];
}

/** Runs one capturer through one flood and returns its own report. */
async function runOne(cmd: string[], file: string, secs: number, gen: string[], loaded = false): Promise<Report> {
  const stress = loaded ? startStress(WARMUP + secs + 30) : undefined;
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const out = collect(child);
  try {
    await waitFor(out.text, /listening on/, 20_000);
    // Warm-up flood, the same for both: tunkit's JIT compiles its packet path once per process
    // (its optimizing tier takes 1-2 s of a JIT thread's CPU here, measured with
    // BUN_JSC_reportCompileTimes), tcpdump is compiled ahead; the measured flood then compares
    // steady states.
    const w = spawnSync(gen[0]!, [...gen.slice(1), "gen", REMOTE, "9", "64", String(WARMUP)], { encoding: "utf8", timeout: 30_000 });
    await new Promise((r) => setTimeout(r, 200));
    const c0 = cpuOf(child.pid!);
    // through sh, whose children's CPU (cutime + cstime) it prints once the generator is done
    const g = spawnSync("sh", ["-c", '"$@"; read -r l < /proc/$$/stat; echo "${l##*)}"', "sh", gen[0]!, ...gen.slice(1), "gen", REMOTE, "9", "64", String(secs)], { encoding: "utf8", timeout: (secs + 10) * 1000 });
    const c1 = cpuOf(child.pid!);
    const cpu = c1.cpu - c0.cpu;
    const user = c1.user - c0.user;
    const [sentLine, statLine] = g.stdout.trim().split("\n");
    const sent = Number(sentLine);
    const st = (statLine ?? "").trim().split(" ");
    const genCpu = (Number(st[13]) + Number(st[14])) / 100; // cutime + cstime (fields 16, 17)
    if (!(sent > 0)) throw new Error(`generator: ${g.stdout}${g.stderr}`);
    await new Promise((r) => setTimeout(r, 200)); // the same pause for both before the stop
    child.kill("SIGINT");
    const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await out.exited;
    clearTimeout(t);
    const text = out.text();
    const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    const captured = num(/(\d+) packets? captured/);
    const dropped = num(/(\d+) packets? dropped by kernel/);
    if (!Number.isFinite(captured) || !Number.isFinite(dropped)) throw new Error(`${cmd.join(" ")}: no report in: ${text}`);
    return { captured, dropped, sent, sentTotal: sent + Number(w.stdout.trim()), cpu, user, genCpu, fileBytes: statSync(file).size };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    if (stress && stress.exitCode === null && stress.signalCode === null) {
      const gone = new Promise((r) => stress.once("exit", r));
      stress.kill("SIGTERM");
      await gone;
    }
    rmSync(file, { force: true });
  }
}

export default async function captureBench(opts: { secs?: number; reps?: number } = {}): Promise<Row[]> {
  const secs = opts.secs ?? arg("--secs", 3);
  const reps = opts.reps ?? arg("--reps", 5);
  const c = compileC("tunio");
  const tk = tunkitBinary();
  // --baseline BIN: a second tunkit binary (an older build) takes the A/A slot, for an A/B
  const bi = process.argv.indexOf("--baseline");
  const baseline = bi >= 0 ? process.argv[bi + 1] : undefined;
  const dir = mkdtempSync(join(tmpdir(), "tkbcap-"));
  sh("ip", "tuntap", "add", IF, "mode", "tun");
  sh("ip", "addr", "add", `${LOCAL}/24`, "dev", IF);
  sh("ip", "link", "set", IF, "up");
  // The device's owner: the C read loop drains the tun while both tools sniff beside it.
  const reader = spawn(c, ["read", IF, "3600"], { stdio: "ignore" });
  const rows: Row[] = [];
  const load0 = loadavg();
  try {
    await new Promise((r) => setTimeout(r, 200));
    const settings = (process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1]! : "unpinned,pinned,loaded").split(",");
    for (const setting of settings) {
      if (!["unpinned", "pinned", "loaded"].includes(setting)) throw new Error(`--only: unknown setting "${setting}" (unpinned, pinned, loaded)`);
      if (setting === "loaded" && spawnSync("stress-ng", ["--version"], { stdio: "ignore" }).status !== 0) {
        console.error("loaded setting skipped: no stress-ng (Debian package stress-ng)");
        continue;
      }
      const pinned = setting === "pinned";
      const loaded = setting === "loaded";
      const capPin = pinned ? pin(1) : [];
      const gen = pinned && pin(0).length ? [...pin(0), c] : [c];
      // the tun's reader: beside the generator when pinned (see the module comment)
      setAffinity(reader.pid!, pinned ? 0 : undefined);
      const res = { t: [] as Report[], d: [] as Report[], a: [] as Report[] };
      const order = ["t", "d", "a"] as const;
      // The pinned row's true difference is near zero (the capture costs the generator the same
      // kernel copy whoever reads the ring), so it takes more pairs to say which side of 1.0 it
      // is on: --pinned-reps, twice --reps by default.
      const n = pinned ? arg("--pinned-reps", 2 * reps) : reps;
      for (let rep = 0; rep < n; rep++) {
        // each capturer first, second and third in turn
        for (let i = 0; i < order.length; i++) {
          const who = order[(i + rep) % order.length]!;
          const file = join(dir, `${who}.pcap`);
          if (who === "t") res.t.push(await runOne([...capPin, tk, "dump", IF, "--sniff", "-w", file], file, secs, gen, loaded));
          else if (who === "a" && baseline) res.a.push(await runOne([...capPin, baseline, "dump", IF, "--sniff", "-w", file], file, secs, gen, loaded));
          else res[who].push(await runOne([...capPin, "tcpdump", "-i", IF, "-nn", "-w", file], file, secs, gen, loaded));
        }
      }
      const m = (xs: Report[], f: (r: Report) => number) => median(xs.map(f));
      const perM = (xs: Report[], k: "user" | "cpu") => m(xs, (r) => (1e6 * r[k]) / Math.max(1, r.sent)).toFixed(3);
      const share = (r: Report) => (100 * r.captured) / Math.max(1, r.sentTotal);
      const how = pinned ? "pinned: generator and the tun's reader CPU 0, capturer CPU 1" : loaded ? `unpinned, beside stress-ng ${stressArgs().join(" ")}` : "unpinned";
      const rate = (r: Report) => r.sent / secs / 1000;
      const own = (r: Report) => r.sent / Math.max(0.01, r.genCpu) / 1000;
      const pairs = (xs: Report[], f: (r: Report) => number) => xs.map((r, i) => (f(r) / Math.max(1e-9, f(res.d[i]!))).toFixed(2));
      const spread = (xs: Report[], f: (r: Report) => number) => {
        const p = pairs(xs, f).map(Number);
        return `pairs ${p.map((x) => x.toFixed(2)).join(" ")} (median ${median(p).toFixed(2)}, ${Math.min(...p).toFixed(2)}..${Math.max(...p).toFixed(2)})`;
      };
      const pairMedian = (xs: Report[], f: (r: Report) => number) => Number(median(pairs(xs, f).map(Number)).toFixed(3));
      const rawPairs = (xs: Report[], f: (r: Report) => number) => xs.map((r, i) => f(r) / Math.max(1e-9, f(res.d[i]!)));
      // the verdict: tunkit's pairs against 1.0, the A/A pairs as the bench's own calibration
      // (bench/capture-decide.ts); in an A/B run the baseline's pairs get a verdict of their own
      const decision = decide(rawPairs(res.t, rate), baseline ? undefined : rawPairs(res.a, rate));
      const baseDecision = baseline ? decide(rawPairs(res.a, rate), undefined, 0.9, "baseline") : undefined;
      console.error(`${setting}: ${decision.text}`);
      if (baseDecision) console.error(`${setting}: baseline ${baseline}: ${baseDecision.text}`);
      const iqr = (xs: Report[], f: (r: Report) => number) => {
        const p = pairs(xs, f).map(Number);
        return `${percentile(p, 25).toFixed(2)}..${percentile(p, 75).toFixed(2)}`;
      };
      const drops = (xs: Report[]) => xs.map((r) => r.dropped).join(" ");
      const tag = setting;
      const dropRow = row(`sniff flood to pcap (${tag}): captured of sent`, m(res.t, share), m(res.d, share), "%", true,
        `packets each wrote / packets sent; dropped by kernel (each tool's own report, run by run): tunkit ${drops(res.t)}; tcpdump ${drops(res.d)}, again ${drops(res.a)}`);
      if (loaded) {
        // what matters beside other work: the share written and the kernel's drops
        rows.push(
          dropRow,
          row(`sniff flood to pcap (${tag}): generator's rate beside the capturer`, m(res.t, rate), m(res.d, rate), "kpps", true,
            `reference: beside tcpdump -w; ${secs} s of 64-byte UDP, ${how}; ${spread(res.t, rate)}; ${baseline ? "baseline tunkit" : "A/A"} ${spread(res.a, rate)}`),
        );
        continue;
      }
      rows.push(
        row(`sniff flood to pcap (${tag}): generator's rate beside the capturer`, m(res.t, rate), m(res.d, rate), "kpps", true,
          `reference: beside tcpdump -w; ${secs} s of 64-byte UDP, ${how}; lower = the capturer took more CPU; each run's pair (tunkit/tcpdump, interleaved): ${spread(res.t, rate)}`),
        row(baseline ? `sniff flood to pcap (${tag}): baseline tunkit (${baseline}) beside tcpdump` : `sniff flood to pcap (${tag}): A/A, tcpdump's rate beside a second tcpdump`, m(res.a, rate), m(res.d, rate), "kpps", true,
          baseline ? `the baseline binary in the A/A slot; ${spread(res.a, rate)}` : `the bench's own spread: the same tcpdump -w run again in the same rotation; ${spread(res.a, rate)}`),
        row(`sniff flood to pcap (${tag}): generator's packets per second of its own CPU`, m(res.t, own), m(res.d, own), "kpps", true,
          `what the capturer costs the generator (the kernel copies each packet into the capturer's ring in the generator's context, and wakes a capturer waiting in poll), without the share of the CPU the machine's other load left it; tunkit ${spread(res.t, own)}; A/A ${spread(res.a, own)}`),
        row(`sniff flood to pcap (${pinned ? "pinned" : "unpinned"}): capturer CPU per 1M packets`, m(res.t, (r) => (1e6 * r.cpu) / Math.max(1, r.sent)), m(res.d, (r) => (1e6 * r.cpu) / Math.max(1, r.sent)), "s", false,
          `user + system time of the capturer during the measured flood (/proc, 10 ms ticks) / packets sent; user part: tunkit ${perM(res.t, "user")}, tcpdump ${perM(res.d, "user")} s; ${baseline ? "the baseline tunkit" : "tcpdump again (A/A)"}: ${perM(res.a, "cpu")} s, user part ${perM(res.a, "user")} s`),
        dropRow,
        row(`sniff flood to pcap (${tag}): generator's rate, median of the paired ratios, tunkit's pairs against the A/A pairs`, pairMedian(res.t, rate), pairMedian(res.a, rate), "x", true,
          `each run's tunkit/tcpdump ratio (interleaved), their median, beside the median of ${baseline ? "the baseline's" : "tcpdump's own (A/A)"} pairs; ${decision.text}${baseDecision ? `; baseline's ${baseDecision.text.replace(/; rule: .*/, "")}` : ""}; tunkit ${spread(res.t, rate)}; ${baseline ? "baseline" : "A/A"} ${spread(res.a, rate)}; spread as the pairs' interquartile range: tunkit ${iqr(res.t, rate)}, ${baseline ? "baseline" : "A/A"} ${iqr(res.a, rate)}`),
      );
    }
    const load1 = loadavg();
    console.error(`load average (1, 5, 15 min): at the start ${load0.map((x) => x.toFixed(2)).join(" ")}, at the end ${load1.map((x) => x.toFixed(2)).join(" ")} (${navigator.hardwareConcurrency} CPUs)`);
  } finally {
    reader.kill("SIGKILL");
    spawnSync("ip", ["link", "del", IF]);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) {
  if (!reexecInNetns()) print(await captureBench(), process.argv.includes("--json"));
}
