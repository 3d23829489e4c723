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
 * How the floods are paired (session 12): the three capturers (tunkit, tcpdump, and a second
 * tcpdump, the A/A row, or `--baseline`'s tunkit) run at once, each on a tun of its own; one C
 * reader drains the three tuns and one generator process floods them in turn (`tunio gens`):
 * each round floods each tun once, in an order shuffled each round (`--secs S`, default 0.3,
 * `--gap MS` apart, default 100), so only one capturer's ring sees a flood while the other two
 * wait in poll (an idle ring costs nothing per packet). The per-round ratios (tunkit over
 * tcpdump, tcpdump over tcpdump) are the pairs, R rounds (`--reps R`, default 150, three sub-runs of
 * 50, about 4 minutes a setting). Why so: unpinned, the generator's rate moves 2x from one second to the
 * next (where the scheduler puts generator, reader and capturer, and the other load; one
 * generator's floods went 120-312 kpps a second apart), and each placement sticks for a second
 * or more, so floods a few hundred ms apart in one process share it and their ratio cancels it.
 * What did not do it, A/A pairs (tcpdump over tcpdump) of one unpinned run each, load 3-12:
 * session 11's design (one capturer alone per process, a 3 s flood after its warm-up, pairs
 * 10-30 s apart: 9 pairs in 4 min, A/A interval 0.96..1.21 of 9, pairs 0.63..1.43); K floods of
 * 1 s per process (24 pairs in 3 min, A/A interval 0.98..1.13); three warm capturers with a
 * reader per tun (A/A off centre, 0.87..0.97 of 30: each reader's placement stuck to its slot for
 * the whole run); one reader, a generator process per 1 s flood (A/A 0.89..1.13 of 30, pairs
 * 0.43..2.70); one generator, 1 s floods 400 ms apart (A/A 0.95..1.09 of 30); 0.3 s floods 100 ms
 * apart (150 rounds, A/A median 1.02, 0.99..1.04; tunkit 1.06, 1.02..1.09: ">= 1.0x", load 4-5.5).
 * Slots (session 12, second round): those A/A medians sat above 1.0 (1.02, 1.04), and each
 * capturer had had the same tun slot for the whole setting (its /26, its place in the reader's
 * poll list and in the generator's), so a slot bias of a few percent could not be told from
 * tunkit's own. A setting now runs as three sub-runs, a Latin square: in sub-run s capturer r
 * sniffs slot (r + s) mod 3, each capturer on each slot for a third of the rounds, new capturer
 * processes (each with its warm-up) per sub-run, pairs within a round. The ratio row's note gives
 * each slot's median (every capturer's floods on it, rate over its round's geometric mean) and each
 * capturer's pairs by the slot it had, so the slot effect itself shows. Three unpinned runs of
 * 150 rounds (session 12, 17:01-17:14 UTC): tunkit 1.02 (0.99..1.04, parity), 1.05 (1.02..1.08,
 * ">= 1.0x"), 1.00 (0.98..1.03, parity); A/A 0.96 (0.93..1.01), 0.99 (0.97..1.01), 0.99
 * (0.97..1.02); load 9.2 -> 7.6, 6.0 -> 3.9, 2.3 -> 5.0. Slots, rate over the round's geometric
 * mean (the last two runs): slot 0 0.984 then 1.016, slot 1 1.008, 1.001, slot 2 1.009, 1.002:
 * under 2% and changing sign from run to run, so no fixed slot bias; the A/A median moves
 * 0.96..0.99 from run to run with the slots balanced, which is the bench's own run-to-run spread,
 * and tunkit's row over it is parity to +5% (the session's earlier ">= 1.0x" was one such run).
 * Each capturer first sees a 4 s warm-up flood on its tun (`--warmup S`; not timed: tunkit's
 * JIT compiles its packet path once per process, 1-2 s of a JIT thread's CPU on this machine;
 * tcpdump is compiled ahead). Captured share counts the warm-up and every measured flood.
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
 * stderr. `--verbose` prints each round's three rates.
 *
 *   bun bench/capture.ts [--json] [--secs S] [--reps R] [--pinned-reps P] [--warmup S] [--gap MS] [--only unpinned,pinned,loaded]
 *       [--stress "STRESS-NG ARGS"] [--baseline OLD-TUNKIT] [--tunkit BIN] [--no-build] [--verbose]
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

/**
 * One tun per capturer (t: tunkit, d: tcpdump, a: the A/A tcpdump or the baseline tunkit), each
 * with its own /26 of 198.51.100.0/24: a flood goes to one of them, so only
 * that capturer's ring sees it while the other two wait idle.
 */
const WHO = ["t", "d", "a"] as const;
type Who = (typeof WHO)[number];
const dev = (k: number) => ({ name: `tkbcap${k}`, local: `198.51.100.${64 * k + 1}`, remote: `198.51.100.${64 * k + 2}` });
/**
 * Seconds of warm-up flood before the measured one (`--warmup S`). 4: tunkit's optimizing JIT
 * tier takes 1-2 s of a JIT thread's CPU; 6 before, which cost a third of each run for nothing
 * the pairs could use (more pairs in the same time narrow the decision's interval more).
 */
const WARMUP = arg("--warmup", 4);
/**
 * Pause between two floods, in ms (`--gap MS`, default 100). What a capturer still does for a
 * flood after it ends (its last ring block: tunkit's 100 ms block timeout, tcpdump's 1 s; tunkit's
 * last write at its 250 ms flush tick) may land in the next flood, one write of under 1 MiB
 * (< 1 ms of CPU against a 300 ms flood). It lands on another capturer's flood (tunkit's own next
 * flood is at least a round away but for a third of round ends), so it would slow tcpdump's floods
 * and flatter tunkit's pairs; measured instead of paying a 250+ ms gap (1.5x the time a setting
 * takes): the ratio row's note gives tcpdump's floods right after a tunkit flood against those
 * right after a tcpdump flood, each over its round's geometric mean: 0.987 against 0.988, and
 * 1.013 against 1.001 (two runs of 150 rounds, load 2-6): no spill-over to see, so the gap stays.
 * 400 ms gaps gave wider A/A intervals for the time (fewer rounds).
 */
const GAP = arg("--gap", 100);


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

/** One measured flood beside a capturer (the generator's own count and clocks). */
interface Flood {
  /** Packets the flood sent. */
  sent: number;
  /** Its length, in seconds (the generator's monotonic clock). */
  wall: number;
  /** The generator's own CPU (user + system, getrusage) during the flood, in seconds. */
  genCpu: number;
  /** The tun slot (0-2: its /26, its place in the reader's poll list and the generator's) it went to. */
  slot: number;
  /** Whose flood ran just before it (undefined for a sub-run's first). */
  prev?: Who;
  /** Its rate over the geometric mean of its round's three floods' rates. */
  rel: number;
}

/** One capturer through a setting: its floods, its CPU, and its own report once stopped. */
interface Run {
  floods: Flood[];
  /** The capturer's CPU (user + system) from the first measured flood to the last, in seconds. */
  cpu: number;
  /** Its user part. */
  user: number;
  captured: number;
  dropped: number;
  /** Packets the warm-up and every measured flood sent to its tun: what the capturer could write. */
  sentTotal: number;
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

/**
 * One setting: the three capturers started at once, each on its own tun (`cmds[who]`), each
 * warmed by a flood of its own, then `rounds` rounds of one flood per capturer, in an order
 * shuffled each round; then each is stopped and its own report read. The floods of one round
 * run a second or so apart, so the machine's other load moves each round's pair alike.
 */
async function runSetting(cmdOf: (who: Who, slot: number) => string[], slotOf: Record<Who, number>, files: Record<Who, string>, secs: number, gen: string[], rounds: number, loaded: boolean, verbose?: string): Promise<Record<Who, Run>> {
  const cmds = Object.fromEntries(WHO.map((w) => [w, cmdOf(w, slotOf[w])])) as Record<Who, string[]>;
  const whoAt = (slot: number) => WHO.find((w) => slotOf[w] === slot)!;
  const stress = loaded ? startStress(3 * (WARMUP + 1) + rounds * 3 * (secs + GAP / 1000 + 0.1) + 60) : undefined;
  const kids = WHO.map((who) => {
    const child = spawn(cmds[who][0]!, cmds[who].slice(1), { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
    return { who, child, out: collect(child) };
  });
  // One generator process floods the tuns in turn (`tunio gens`): where the scheduler put it is
  // then the same for each capturer's flood of a round. Each line: index, sent, seconds, CPU.
  const floods = (secsEach: number, schedule: number[]) => {
    const dsts = WHO.map((_, k) => dev(k).remote).join(",");
    const g = spawnSync(gen[0]!, [...gen.slice(1), "gens", dsts, "9", "64", String(secsEach), String(GAP / 1000), schedule.join(",")], {
      encoding: "utf8",
      timeout: (schedule.length * (secsEach + GAP / 1000 + 0.5) + 20) * 1000,
    });
    const lines = g.stdout.trim().split("\n").filter(Boolean).map((l) => l.split(" ").map(Number));
    if (g.status !== 0 || lines.length !== schedule.length) throw new Error(`generator: ${g.status} ${g.stdout}${g.stderr}`);
    return lines.map(([k, sent, wall, genCpu], i) => ({
      who: whoAt(k!),
      flood: { sent: sent!, wall: wall!, genCpu: genCpu!, slot: k!, prev: i > 0 ? whoAt(lines[i - 1]![0]!) : undefined, rel: 0 } as Flood,
    }));
  };
  try {
    for (const k of kids) await waitFor(k.out.text, /listening on/, 20_000);
    const sentTotal = { t: 0, d: 0, a: 0 };
    const measured = { t: [] as Flood[], d: [] as Flood[], a: [] as Flood[] };
    // Warm-up floods, the same for each: tunkit's JIT compiles its packet path once per process
    // (its optimizing tier takes 1-2 s of a JIT thread's CPU here, measured with
    // BUN_JSC_reportCompileTimes), tcpdump is compiled ahead; the measured floods then compare
    // steady states.
    for (const { who, flood } of floods(WARMUP, [0, 1, 2])) sentTotal[who] += flood.sent;
    const schedule: number[] = [];
    for (let round = 0; round < rounds; round++) {
      const order = [0, 1, 2];
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      schedule.push(...order);
    }
    const c0 = kids.map((k) => cpuOf(k.child.pid!));
    for (const { who, flood } of floods(secs, schedule)) {
      measured[who].push(flood);
      sentTotal[who] += flood.sent;
    }
    const c1 = kids.map((k) => cpuOf(k.child.pid!));
    for (let round = 0; round < rounds; round++) {
      // over the round's geometric mean (not its median: one flood of each round would then be 1.0 exactly)
      const gm = Math.exp(WHO.reduce((a, w) => a + Math.log(measured[w][round]!.sent / measured[w][round]!.wall), 0) / 3);
      for (const w of WHO) measured[w][round]!.rel = measured[w][round]!.sent / measured[w][round]!.wall / gm;
    }
    if (verbose) {
      for (let round = 0; round < rounds; round++) {
        console.error(`${verbose} round ${round}: kpps ${WHO.map((w) => `${w} ${(measured[w][round]!.sent / measured[w][round]!.wall / 1000).toFixed(0)}`).join(", ")}`);
      }
    }
    const runs = {} as Record<Who, Run>;
    for (const k of kids) k.child.kill("SIGINT");
    for (const { who, child, out } of kids) {
      const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
      await out.exited;
      clearTimeout(t);
      const text = out.text();
      const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
      const captured = num(/(\d+) packets? captured/);
      const dropped = num(/(\d+) packets? dropped by kernel/);
      if (!Number.isFinite(captured) || !Number.isFinite(dropped)) throw new Error(`${cmds[who].join(" ")}: no report in: ${text}`);
      const k = WHO.indexOf(who);
      const cpu = c1[k]!.cpu - c0[k]!.cpu;
      const user = c1[k]!.user - c0[k]!.user;
      runs[who] = { floods: measured[who], cpu, user, captured, dropped, sentTotal: sentTotal[who], fileBytes: statSync(files[who]).size };
    }
    return runs;
  } finally {
    for (const { child } of kids) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    if (stress && stress.exitCode === null && stress.signalCode === null) {
      const gone = new Promise((r) => stress.once("exit", r));
      stress.kill("SIGTERM");
      await gone;
    }
    for (const f of Object.values(files)) rmSync(f, { force: true });
  }
}

export default async function captureBench(opts: { secs?: number; reps?: number } = {}): Promise<Row[]> {
  const secs = opts.secs ?? arg("--secs", 0.3);
  const reps = opts.reps ?? arg("--reps", 150);
  const c = compileC("tunio");
  const tk = tunkitBinary();
  // --baseline BIN: a second tunkit binary (an older build) takes the A/A slot, for an A/B
  const bi = process.argv.indexOf("--baseline");
  const baseline = bi >= 0 ? process.argv[bi + 1] : undefined;
  const dir = mkdtempSync(join(tmpdir(), "tkbcap-"));
  // The devices' owner: one C reader drains the three tuns (poll, then read each ready one dry)
  // while each capturer sniffs beside its own. One reader for all: where the scheduler puts it
  // (beside the generator or not: the rate's two levels about 1.5x apart) is then the same for
  // each capturer's flood of a round; with a reader per tun each one's placement stuck for the
  // whole setting, and the A/A pairs came out off centre (median 0.92, interval 0.87..0.97 of 30).
  for (let k = 0; k < WHO.length; k++) {
    const d = dev(k);
    sh("ip", "tuntap", "add", d.name, "mode", "tun");
    sh("ip", "addr", "add", `${d.local}/26`, "dev", d.name);
    sh("ip", "link", "set", d.name, "up");
  }
  const reader = spawn(c, ["read", WHO.map((_, k) => dev(k).name).join(","), "3600"], { stdio: "ignore" });
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
      // the tuns' reader: beside the generator when pinned (see the module comment)
      setAffinity(reader.pid!, pinned ? 0 : undefined);
      // --pinned-reps: the pinned row's rounds (its true difference is near zero: the capture
      // costs the generator the same kernel copy whoever reads the ring)
      const n = pinned ? arg("--pinned-reps", reps) : reps;
      const files = { t: join(dir, "t.pcap"), d: join(dir, "d.pcap"), a: join(dir, "a.pcap") };
      const cmdOf = (who: Who, slot: number): string[] =>
        who === "t" || (who === "a" && baseline)
          ? [...capPin, who === "t" ? tk : baseline!, "dump", dev(slot).name, "--sniff", "-w", files[who]]
          : [...capPin, "tcpdump", "-i", dev(slot).name, "-nn", "-w", files[who]];
      // Three sub-runs, a Latin square of capturers over tun slots: in sub-run s capturer r sniffs
      // slot (r + s) mod 3, so each one has each slot (its /26, its place in the reader's poll list
      // and in the generator's) for a third of the rounds; new capturer processes per sub-run, each
      // warmed again. Pairs stay within a round of one sub-run.
      const subRuns: Record<Who, Run>[] = [];
      for (let sub = 0; sub < 3; sub++) {
        const slotOf = Object.fromEntries(WHO.map((w, r) => [w, (r + sub) % 3])) as Record<Who, number>;
        subRuns.push(await runSetting(cmdOf, slotOf, files, secs, gen, Math.ceil(n / 3), loaded, process.argv.includes("--verbose") ? `${setting}/${sub}` : undefined));
      }
      const runs = { t: subRuns.map((r) => r.t), d: subRuns.map((r) => r.d), a: subRuns.map((r) => r.a) };
      const sum = (xs: Run[]): Run => ({
        floods: xs.flatMap((r) => r.floods),
        cpu: xs.reduce((a, r) => a + r.cpu, 0),
        user: xs.reduce((a, r) => a + r.user, 0),
        captured: xs.reduce((a, r) => a + r.captured, 0),
        dropped: xs.reduce((a, r) => a + r.dropped, 0),
        sentTotal: xs.reduce((a, r) => a + r.sentTotal, 0),
        fileBytes: xs.reduce((a, r) => a + r.fileBytes, 0),
      });
      const run = { t: sum(runs.t), d: sum(runs.d), a: sum(runs.a) };
      // round i's flood of each capturer pairs with the others' round i
      const res = { t: run.t.floods, d: run.d.floods, a: run.a.floods };
      const m = <T,>(xs: T[], f: (r: T) => number) => median(xs.map(f));
      const perM = (r: Run, k: "user" | "cpu") => (1e6 * r[k]) / Math.max(1, r.floods.reduce((a, f) => a + f.sent, 0));
      const share = (r: Run) => (100 * r.captured) / Math.max(1, r.sentTotal);
      const how = pinned ? "pinned: generator and the tun's reader CPU 0, capturer CPU 1" : loaded ? `unpinned, beside stress-ng ${stressArgs().join(" ")}` : "unpinned";
      const rate = (r: Flood) => r.sent / r.wall / 1000;
      const own = (r: Flood) => r.sent / Math.max(1e-3, r.genCpu) / 1000;
      const rawPairs = (xs: Flood[], f: (r: Flood) => number) => xs.map((r, i) => f(r) / Math.max(1e-9, f(res.d[i]!)));
      const pairs = (xs: Flood[], f: (r: Flood) => number) => rawPairs(xs, f).map((x) => x.toFixed(2));
      const spread = (xs: Flood[], f: (r: Flood) => number) => {
        const p = pairs(xs, f).map(Number);
        return `pairs ${p.map((x) => x.toFixed(2)).join(" ")} (median ${median(p).toFixed(2)}, ${Math.min(...p).toFixed(2)}..${Math.max(...p).toFixed(2)})`;
      };
      const pairMedian = (xs: Flood[], f: (r: Flood) => number) => Number(median(pairs(xs, f).map(Number)).toFixed(3));
      // the verdict: tunkit's pairs against 1.0, the A/A pairs as the bench's own calibration
      // (bench/capture-decide.ts); in an A/B run the baseline's pairs get a verdict of their own
      const decision = decide(rawPairs(res.t, rate), baseline ? undefined : rawPairs(res.a, rate));
      const baseDecision = baseline ? decide(rawPairs(res.a, rate), undefined, 0.9, "baseline") : undefined;
      console.error(`${setting}: ${decision.text}`);
      // The slot effect itself: each slot's floods (every capturer's, a third of the rounds each),
      // their rate over their round's geometric mean; and each capturer's pairs by the slot it had.
      const all = [...res.t, ...res.d, ...res.a];
      const slotNote = [0, 1, 2].map((k) => `slot ${k} ${median(all.filter((f) => f.slot === k).map((f) => f.rel)).toFixed(3)}`).join(", ");
      const pairsBySlot = (xs: Flood[]) => [0, 1, 2].map((k) => median(rawPairs(xs, rate).filter((_, i) => xs[i]!.slot === k)).toFixed(3)).join(" ");
      // What a flood leaves for the next one (the last ring block, tunkit's flush tick): tcpdump's
      // floods (both) by whose flood ran just before, rate over the round's geometric mean.
      const after = (p: Who) => median([...res.d, ...res.a].filter((f) => f.prev === p).map((f) => f.rel));
      const prevNote = `tcpdump's floods right after a tunkit flood ${after("t").toFixed(3)}, after a tcpdump flood ${median([...res.d, ...res.a].filter((f) => f.prev === "d" || f.prev === "a").map((f) => f.rel)).toFixed(3)} (rate over its round's geometric mean)`;
      const slotText = `per slot, every capturer's floods, rate over the round's geometric mean: ${slotNote}; tunkit's pairs by tunkit's slot ${pairsBySlot(res.t)}, ${baseline ? "baseline" : "A/A"}'s by its slot ${pairsBySlot(res.a)}; ${prevNote}`;
      console.error(`${setting}: ${slotText}`);
      if (baseDecision) console.error(`${setting}: baseline ${baseline}: ${baseDecision.text}`);
      const iqr = (xs: Flood[], f: (r: Flood) => number) => {
        const p = pairs(xs, f).map(Number);
        return `${percentile(p, 25).toFixed(2)}..${percentile(p, 75).toFixed(2)}`;
      };
      const drops = (xs: Run[]) => xs.map((r) => r.dropped).join(" ");
      const tag = setting;
      const dropRow = row(`sniff flood to pcap (${tag}): captured of sent`, m(runs.t, share), m(runs.d, share), "%", true,
        `packets each wrote / packets sent; dropped by kernel (each tool's own report, run by run): tunkit ${drops(runs.t)}; tcpdump ${drops(runs.d)}, again ${drops(runs.a)}`);
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
          `reference: beside tcpdump -w; ${secs} s of 64-byte UDP, ${how}; lower = the capturer took more CPU; each round's pair (tunkit/tcpdump, floods seconds apart): ${spread(res.t, rate)}`),
        row(baseline ? `sniff flood to pcap (${tag}): baseline tunkit (${baseline}) beside tcpdump` : `sniff flood to pcap (${tag}): A/A, tcpdump's rate beside a second tcpdump`, m(res.a, rate), m(res.d, rate), "kpps", true,
          baseline ? `the baseline binary in the A/A slot; ${spread(res.a, rate)}` : `the bench's own spread: the same tcpdump -w again, on its own tun, in the same rounds; ${spread(res.a, rate)}`),
        row(`sniff flood to pcap (${tag}): generator's packets per second of its own CPU`, m(res.t, own), m(res.d, own), "kpps", true,
          `what the capturer costs the generator (the kernel copies each packet into the capturer's ring in the generator's context, and wakes a capturer waiting in poll), without the share of the CPU the machine's other load left it; tunkit ${spread(res.t, own)}; A/A ${spread(res.a, own)}`),
        row(`sniff flood to pcap (${pinned ? "pinned" : "unpinned"}): capturer CPU per 1M packets`, perM(run.t, "cpu"), perM(run.d, "cpu"), "s", false,
          `user + system time of the capturer from the first measured flood to the last (/proc, 10 ms ticks; the idle gaps and the other capturers' floods included) / packets sent to its tun; user part: tunkit ${perM(run.t, "user").toFixed(3)}, tcpdump ${perM(run.d, "user").toFixed(3)} s; ${baseline ? "the baseline tunkit" : "tcpdump again (A/A)"}: ${perM(run.a, "cpu").toFixed(3)} s, user part ${perM(run.a, "user").toFixed(3)} s`),
        dropRow,
        row(`sniff flood to pcap (${tag}): generator's rate, median of the paired ratios, tunkit's pairs against the A/A pairs`, pairMedian(res.t, rate), pairMedian(res.a, rate), "x", true,
          `each round's tunkit/tcpdump ratio, their median, beside the median of ${baseline ? "the baseline's" : "tcpdump's own (A/A)"} pairs; ${decision.text}${baseDecision ? `; baseline's ${baseDecision.text.replace(/; rule: .*/, "")}` : ""}; ${slotText}; tunkit ${spread(res.t, rate)}; ${baseline ? "baseline" : "A/A"} ${spread(res.a, rate)}; spread as the pairs' interquartile range: tunkit ${iqr(res.t, rate)}, ${baseline ? "baseline" : "A/A"} ${iqr(res.a, rate)}`),
      );
    }
    const load1 = loadavg();
    console.error(`load average (1, 5, 15 min): at the start ${load0.map((x) => x.toFixed(2)).join(" ")}, at the end ${load1.map((x) => x.toFixed(2)).join(" ")} (${navigator.hardwareConcurrency} CPUs)`);
  } finally {
    reader.kill("SIGKILL");
    for (let k = 0; k < WHO.length; k++) spawnSync("ip", ["link", "del", dev(k).name]);
    rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.main) {
  if (!reexecInNetns()) print(await captureBench(), process.argv.includes("--json"));
}
