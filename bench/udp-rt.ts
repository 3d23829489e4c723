/**
 * One UDP flow's query/answer round trip through tun2socks daemons side by side (bench/proxy.ts's
 * "UDP query/answer, 1 flow" row, its topology: dante in the proxy namespace, the UDP echo server
 * behind it): answers/s and the daemon's CPU per round trip (user, sys), interleaved rounds,
 * medians, and the daemon's system calls per round trip (perf stat). `--sched`: one more run per
 * daemon under `perf sched record` (wake-up delay per task). `--trace`: one more 300 ms run per
 * daemon under `perf record -a` with the syscall, signal, scheduler and net tracepoints, kept in
 * /tmp/udp-rt-trace-NAME.data for `perf script` (the hop-by-hop latency of a round trip: client
 * send -> daemon woken -> its send to the proxy -> the proxy's answer -> daemon woken -> its tun
 * write -> client woken).
 *
 *   bun bench/udp-rt.ts [--bin NAME=PATH ...] [--env NAME:K=V,...] [--hev] [--floor] [--reps N] [--secs S] [--sched] [--trace] [--strace] [--perf] [--faults] [--idle]
 *
 * `--strace`: every thread's system calls over ~100 round trips per daemon (/tmp/udp-rt-strace-NAME.txt);
 * `--perf`: a call-graph profile over 2 s (/tmp/udp-rt-perf-NAME.data); `--idle`: CPU over 10 s after the flow.
 *
 * `--bin` (repeatable): tunkit binaries (default dist/tunkit); `--hev`: hev-socks5-tunnel
 * (HEV_SOCKS5_TUNNEL) too; `--floor`: bench/udp-floor-child.ts's lab daemons too (floor-sig,
 * floor-stream, floor-own, floor-block, floor-worker: the runtime's floor under each wake-up design). `--env NAME:K=V,...`: extra environment of daemon NAME.
 *
 * What it showed (eighth/ninth session, load 4-8): a round trip's daemon share is two wake-ups and
 * two hops of work. Traced, tunkit's hops were: client send -> daemon woken 35-66 us (hev 16),
 * woken -> send to the proxy 33-47 (hev 12), proxy answer -> woken 9-32 (hev 6), woken -> tun
 * write 10-19 (hev 8). A wake-up across the two vCPUs costs ~30 us in the waker's own system call
 * (the tun write that wakes the client took 34-38 us, 4 us when both ran on one vCPU) and ~30 us
 * before the woken task runs: where the scheduler puts the daemon moves the row as much as the
 * daemon's own work. A bounded busy poll of the tun after each answer (TunQueue, prototype) caught
 * the next query in 3 us but slowed dante, the server and the client (they share the other vCPU,
 * and the spinning sibling): 2,142 against main's 2,733 q/s.
 *
 * Tenth session (`--strace`, `--perf`, CPU by thread): tunkit's round trip was epoll_pwait2 (the
 * answer) -> recvmmsg -> tun write -> SIGIO (handler: eventfd write, rt_sigreturn) -> recvmmsg
 * EAGAIN -> read -> read EAGAIN -> sendmmsg -> epoll_pwait2 (the eventfd), 10.7 calls, all on the
 * main thread; the helper threads took <= 10 us per round trip of the daemon's 170-220 (load
 * 7-18), so no GC or JIT thread to cut. With TunQueue.expect's linger (the next query awaited in
 * a blocking epoll_wait on the tun and Bun's loop fd, no signal): 9.1-10.0 calls, no signal per
 * query; answers/s paired with main in the same rounds 1.05x, 1.08x, 1.10x (reps 5, 9, 9, load
 * 7-18), within this machine's swing, and against hev 0.32-0.77x at those loads. `--idle`: the
 * daemon's CPU over 10 s after the flow (new 1.3%, main 0.8%, the same binary with the linger off
 * 3.2% at load 18: ticks of 10 ms, noise at that load).
 *
 * Eleventh session (`--trace`, 1,085 round trips, the daemon's main thread, load 5-8): every
 * SIGIO went to the main thread (signal_deliver by tid), so directing it (F_SETOWN_EX) saves
 * nothing. The user time between one system call's exit and the next's entry, per round trip,
 * was ~51 us (the trace slows it), spread over ten transitions of 3-8 us each: recvmmsg -> tun
 * write 8.0 (Bun's datagram callback, the reply built, the write), epoll -> tun read 6.6 (Bun's
 * signal dispatch to the listener, the reader's promise), epoll -> eventfd write 6.5 (the
 * signal's frame), tun read -> read 5.9 (the query handled), read EAGAIN -> sendmmsg 6.3 (the
 * batch's end, the flush microtask), epoll -> recvmmsg 5.0, sendmmsg -> epoll 4.4, the rest
 * 2-3 each; tunkit's own JavaScript is a few us of it (the JS sampler: udp.ts, nat.ts,
 * tunnel.ts, poller.ts together ~5% of the samples), the rest Bun's per-wake-up machinery, so
 * only fewer wake-ups (the linger) cut it. `perf record` of the daemon (2 s, 1,302 q/s): 7.1%
 * of its CPU in page faults (filemap_map_pages: the binary's pages) and 3.0% in madvise: the
 * image trim (proxy/memory.ts) drops the flow's working set each tick it is 2 MB over the
 * floor, and 250 ms later again, and the flow faults it back: `faults/rt` shows it. Same run,
 * 7 rounds, load 13-24 (rates are noise at that load; the counts are not): faults/rt new 1.37,
 * main 1.38, with TUNKIT_MEM_TRIM=0 0.17, hev 0.00; the main thread's CPU/rt 172 us against
 * 145 with the trim off (main 205, hev 78); idle after the flow 1.7% against 0.2%. The linger
 * (TUNKIT_TUN_LINGER_US=1000) in that run: 10.4 calls/rt against 11.1, answers/s paired with
 * new 0.68x, CPU/rt 244 us: it stays off by default (no quiet window this session).
 *
 * Twelfth session (`--floor`: bench/udp-floor-child.ts's lab daemons, which do only the echo's
 * header swap, no NAT, flows or timers, in each wake-up design, same rounds as tunkit, main's
 * build and hev; 7 rounds each, medians, CPU/rt in us, q/s):
 *
 *   daemon        run 2 (load 4-6)       run 3 (load 3-5)       syscalls/rt
 *   new (tunkit)  134 us  2579 q/s       118 us  2187 q/s       10.7
 *   main          138     2546           121     2747           10.7
 *   floor-sig     121     2488           91      3533           10.7  tunkit's design, nothing else
 *   floor-stream  106     3135           86      3504           11.1  tun in Bun's epoll
 *   floor-own     111     2977           97      3674           20.5  own recvmmsg on SIGIO
 *   floor-block   57      4151           58      4244           7.0   no event loop
 *   floor-worker  -       -              53      4587           7.0   that loop in a Worker
 *   hev           75      3265           64      4116           16.9
 *
 * (run 1, load 6, 5 rounds, the same order: 115, 129, 108, 92, 132, 79, -, 81 us.) What it says:
 * - tunkit sits 10-30% above its own design's floor (paired q/s new/floor-sig 1.04x, 0.83x): all
 *   of tunkit's NAT, flows, timers and checksums are at most that; the floor itself is 1.4-1.6x
 *   hev's CPU per round trip and 0.76-0.86x its q/s. No cut in tunkit's JS reaches 1.0x.
 * - Reading the relay socket ourselves (the lead from the eleventh session) doubles the calls:
 *   the tun and the socket share SIGIO, so each signal reads both, plus the signal's own
 *   eventfd write and rt_sigreturn; CPU/rt 97-132 against floor-sig's 91-121: dropped.
 * - The tun in Bun's own epoll (Bun.file(fd).stream()): 5-15% less CPU/rt than by SIGIO at the
 *   same 11 calls (epoll_ctl x2 and an empty preadv2 instead of the signal), but not buildable:
 *   Bun reads until EAGAIN into one 256 KiB buffer, each read given the room left, and the tun
 *   driver cuts a packet to the room it is given (a 64 KiB TSO segment would lose its tail and
 *   the framing).
 * - A loop that blocks in its own epoll_wait on the tun and its own socket (read, sendto,
 *   recvmmsg, write: 7.0 calls, no signal, no Bun turn) is below hev: 53-58 us and 4244-4587 q/s
 *   against 64-75 us and 3265-4116, also in a Worker with the main thread idle in Bun's loop.
 *   That is the way to >= 1.0x: a data path on a thread of its own. The tunnel's TCP needs Bun's
 *   loop on the main thread, so the tun has to be split: a multi-queue tun whose steering eBPF
 *   program (TUNSETSTEERINGEBPF) sends UDP to the Worker's queue (replies can be written to any
 *   queue), the Worker owning the relay sockets (the associations' control connections can stay
 *   on the main thread and hand it the relay address). Checked on this kernel (as root, in a
 *   namespace): a 2-queue tun with a 12-instruction socket-filter program (LD_ABS version and
 *   protocol, return 1 for IPv4 UDP) put 5 of 5 UDP datagrams on queue 1 and 7 of 7 other
 *   packets (TCP SYNs, pings) on queue 0.
 *
 * Thirteenth session: that design, built (proxy/udp-fast.ts, proxy/udp-worker.ts): the tunnel's
 * tun gets a second queue, tun/steer.ts's program sends UDP there (port 53 stays on queue 0 when
 * DNS is answered by the tunnel), a Worker reads it, blocking in its own epoll_wait, and owns the
 * relay sockets; an unknown flow's datagrams go to the main thread until its association is open.
 * 5 rounds, load 4.7-5.3, medians (CPU/rt in us):
 *
 *   daemon   q/s    CPU/rt (by thread)            syscalls/rt
 *   new      3399   81 (Worker 81, main 7)        7.0
 *   main     2664   121 (main 123)                10.8
 *   hev      3928   75                            16.9
 *
 * paired new/main 1.10x, new/hev 0.75x (ratio of medians 0.87x); an earlier 3-round run (load
 * 3.8) 80 us against hev's 79, paired new/main 1.36x, new/hev 0.79x. bench/proxy.ts's rows in
 * the same session (5 rounds, load 2.8-5.8): 1 flow 1.04x hev and 1.16x main, 200 flows 1.20x
 * hev and 1.77x main, iperf3 UDP 200 Mbit/s 1.02x hev and 1.03x main at half main's CPU per
 * datagram (0.82 against 1.54 s per 100,000; the worker batches a read of its queue into one
 * sendmmsg with UDP GSO runs, as udp.ts does). What is left between the worker's 81 us and
 * floor-worker's 53: the flow lookup (a 12-byte string key and a Map per datagram, the relay's
 * address the same way for each answer), the reply's checksums (the floor echoes the query's
 * header unchanged), sendmmsg's message set-up where the floor called sendto.
 *
 * Thirteenth session, round 2: the worker's flow tables keyed by a numeric hash with the bytes
 * compared (FastFlows; no 12-byte string per datagram, the relay's address the same way), the
 * last flow tried first, the reply built in place (no subarrays), a read that yields one datagram
 * sent by one sendto. Same rounds, base = the merged tree's binary before it (_tk_uw13), medians:
 *
 *   run (reps, load)          new q/s  CPU/rt  base q/s  CPU/rt  hev q/s  CPU/rt  paired new/base  new/hev
 *   1 (9, 3.0-5.5)            4110     57      3599      71      3406     69      1.17x            1.05x
 *   2 (7, 4.9-6.0, --floor)   2054     97      1655      128     2574     90      0.87x            0.64x
 *   3 (9, 6.1-8.5)            2579     79      2458      82      2846     85      1.04x            0.92x
 *
 * (run 2's floor-worker: 94 us, 2428 q/s, paired new/floor-worker 0.80x: the worker's CPU/rt is
 * at its design's floor; what is left in q/s at load is where the scheduler puts the threads.)
 * bench/proxy.ts --only udp, same binaries (3 reps, load 5.8-6.6): 1 flow 1.28x hev, 1.08x base;
 * 200 flows 1.57x hev, 1.06x base; iperf3 UDP 50 / 200 Mbit/s 1.00x / 1.20x hev.
 *
 * Twelfth session, the faults: `madvise/round` and faults/rt by round (perf stat), and
 * `--faults`: every page fault of a 2 s flow with its address (/tmp/udp-rt-faults-NAME.data; by thread and by mapping:
 * `perf script -F comm,addr`). Of 1,866 faults (trim on) 1,076 were JSCWarmUp's (JSC pre-touching
 * the GC blocks it hands out, one per 16 KB block), 473 the main thread's in the binary (the
 * trim's drops faulted back), 271 the main thread's anonymous pages; with TUNKIT_MEM_TRIM=0 1,060,
 * 1 and 279. faults/rt 0.16-0.23 trim on, 0.14-0.17 off (load 3-5): what is left is the JS
 * heap's churn. BUN_JSC_useWarmUpMarkedBlocks=0 moved the faults to the main thread (0.14-0.27)
 * and MIMALLOC_PURGE_DELAY=2000 did not lower them (0.11-0.33) (5 rounds, load 5-6).
 */
import dgram from "node:dgram";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Topology, Proc, sh, SERVER_V4, PROXY_V4 } from "../tests/fixtures/proxy/topology.ts";
import { median, reexecInNetns, root } from "./lib.ts";
import { compile } from "../scripts/build.ts";

const DANTE = 1082;

/** Every value of a repeatable flag (`--bin A --bin B`). */
export function args(name: string): string[] {
  const out: string[] = [];
  process.argv.forEach((a, i) => a === name && process.argv[i + 1] && out.push(process.argv[i + 1]!));
  return out;
}

/** A tun2socks daemon under test: its name (`--bin NAME=...`, or "hev"), tun and process. */
export interface Daemon {
  name: string;
  dev: string;
  proc: Proc;
}

/**
 * Brings up this bench's topology in `t` (the UDP echo server, dante on {@link DANTE}) and one
 * daemon per `--bin NAME=PATH` (default dist/tunkit), each with its `--env NAME:K=V,...`, on tun
 * `${prefix}0`, `${prefix}1`...; with `--hev`, hev-socks5-tunnel (HEV_SOCKS5_TUNNEL) last, on
 * `${prefix}h`. bench/idle.ts shares it.
 */
export async function startDaemons(t: Topology, prefix: string): Promise<Daemon[]> {
  const bins = args("--bin").map((b) => b.split("=") as [string, string]);
  if (!bins.length) bins.push(["tunkit", join(root, "dist/tunkit")]);
  const envs = new Map(args("--env").map((e) => {
    const i = e.indexOf(":");
    return [e.slice(0, i), Object.fromEntries(e.slice(i + 1).split(",").map((kv) => [kv.slice(0, kv.indexOf("=")), kv.slice(kv.indexOf("=") + 1)]))];
  }));
  if (process.argv.includes("--floor")) {
    // bench/udp-floor-child.ts's lab daemons: what a design costs before tunkit is built on it
    const floor = join(root, "bench/.build/udp-floor");
    compile(join(root, "bench/udp-floor-child.ts"), floor, { jitPolicy: 1 });
    for (const m of ["sig", "stream", "own", "block", "worker"]) {
      bins.push([`floor-${m}`, floor]);
      envs.set(`floor-${m}`, { UDP_FLOOR: m });
    }
  }
  t.up();
  await t.startServer(1 << 20);
  await t.startDante(DANTE);
  const ds: Daemon[] = [];
  let k = 0;
  for (const [name, bin] of bins) {
    const dev = `${prefix}${k}`;
    const p = new Proc([bin, "socks", dev, "--proxy", `socks5://${PROXY_V4}:${DANTE}`, "--address", `198.18.${k * 4}.1/30`], envs.get(name));
    t.procs.push(p);
    await p.waitFor(/ready/, 15_000);
    ds.push({ name, dev, proc: p });
    k++;
  }
  if (process.argv.includes("--hev")) {
    const hev = process.env.HEV_SOCKS5_TUNNEL ?? "/work/wt/_hevbuild_p14/hev/bin/hev-socks5-tunnel";
    if (!existsSync(hev)) throw new Error("set HEV_SOCKS5_TUNNEL");
    const dev = `${prefix}h`;
    const conf = join(t.dir, "hev.yml");
    writeFileSync(conf, `tunnel:\n  name: ${dev}\n  mtu: 8500\n  ipv4: 198.18.100.1\nsocks5:\n  port: ${DANTE}\n  address: ${PROXY_V4}\n  udp: 'udp'\nmisc:\n  log-level: error\n  limit-nofile: 65535\n`);
    const p = new Proc([hev, conf]);
    t.procs.push(p);
    for (let i = 0; i < 100 && spawnSync("ip", ["link", "show", dev]).status !== 0; i++) await Bun.sleep(50);
    sh("ip", "link", "set", dev, "up");
    ds.push({ name: "hev", dev, proc: p });
  }
  return ds;
}

function cpuTicks(pid: number): [number, number] {
  const st = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return [Number(f[11]), Number(f[12])];
}

/** CPU ticks (user + system) of each thread of `pid`, by thread name. */
function threadTicks(pid: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const st = readFileSync(`/proc/${pid}/task/${t}/stat`, "latin1");
      const name = st.slice(st.indexOf("(") + 1, st.lastIndexOf(")"));
      const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
      m.set(name, (m.get(name) ?? 0) + Number(f[11]) + Number(f[12]));
    } catch {
      /* gone */
    }
  }
  return m;
}

/** Round trips on one flow for `ms`: answers/s. */
export async function qa(ms: number): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, r));
  const payload = Buffer.alloc(64, 7);
  let answers = 0;
  const end = performance.now() + ms;
  await new Promise<void>((resolve) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const send = () => {
      if (performance.now() >= end) return resolve();
      s.send(payload, 7, SERVER_V4);
      timer = setTimeout(send, 1000);
    };
    s.on("error", () => {});
    s.on("message", () => {
      answers++;
      clearTimeout(timer);
      send();
    });
    send();
  });
  s.close();
  return answers / (ms / 1000);
}

interface D extends Daemon {
  rate: number[];
  calls: number[];
  /** Page faults per round trip (perf stat): binary pages a trim gave back and the flow faults in again. */
  faults: number[];
  /** madvise calls per timed round (perf stat): the image trim's drops (one call per run of pages) and mimalloc's purges. */
  madvise: number[];
  user: number[];
  sys: number[];
  /** CPU ticks by thread name over the timed rounds, and the round trips they served. */
  threads: Map<string, number>;
  trips: number;
}

if (import.meta.main && !reexecInNetns()) {
  const reps = Number(args("--reps")[0] ?? 5);
  const secs = Number(args("--secs")[0] ?? 2);
  const t = new Topology("udprt");
  const ds: D[] = [];
  try {
    for (const d of await startDaemons(t, "tkr")) ds.push({ ...d, rate: [], calls: [], faults: [], madvise: [], user: [], sys: [], threads: new Map(), trips: 0 });
    for (const d of ds) {
      sh("ip", "route", "replace", "198.51.100.0/24", "dev", d.dev);
      await qa(500); // warm
    }
    for (let r = 0; r < reps; r++) {
      for (const d of r % 2 ? [...ds].reverse() : ds) {
        sh("ip", "route", "replace", "198.51.100.0/24", "dev", d.dev);
        const pid = d.proc.child.pid!;
        // system calls of the daemon's threads (perf counts them without slowing it down)
        const perf = new Proc(["perf", "stat", "-e", "raw_syscalls:sys_enter,page-faults,syscalls:sys_enter_madvise", "-p", String(pid)]);
        await Bun.sleep(200);
        const c0 = cpuTicks(pid);
        const t0 = threadTicks(pid);
        const v = await qa(secs * 1000);
        const c1 = cpuTicks(pid);
        for (const [name, n] of threadTicks(pid)) d.threads.set(name, (d.threads.get(name) ?? 0) + n - (t0.get(name) ?? 0));
        d.trips += v * secs;
        perf.kill("SIGINT");
        await perf.exited;
        const n = v * secs;
        const m = /([\d,]+)\s+raw_syscalls:sys_enter/.exec(perf.err);
        if (m) d.calls.push(Number(m[1]!.replace(/,/g, "")) / n);
        const pf = /([\d,]+)\s+page-faults/.exec(perf.err);
        if (pf) d.faults.push(Number(pf[1]!.replace(/,/g, "")) / n);
        const ma = /([\d,]+)\s+syscalls:sys_enter_madvise/.exec(perf.err);
        if (ma) d.madvise.push(Number(ma[1]!.replace(/,/g, "")));
        d.rate.push(v);
        d.user.push(((c1[0] - c0[0]) / 100 / n) * 1e6);
        d.sys.push(((c1[1] - c0[1]) / 100 / n) * 1e6);
      }
    }
    const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
    for (const d of ds) {
      const mu = median(d.user);
      const ms = median(d.sys);
      console.log(`${d.name.padEnd(10)} ${median(d.rate).toFixed(0).padStart(6)} q/s  CPU/rt ${(mu + ms).toFixed(0)} us (user ${mu.toFixed(0)}, sys ${ms.toFixed(0)})  syscalls/rt ${d.calls.length ? median(d.calls).toFixed(1) : "?"}  faults/rt ${d.faults.length ? median(d.faults).toFixed(2) : "?"}  madvise/round ${d.madvise.length ? median(d.madvise).toFixed(0) : "?"}  rounds ${d.rate.map((x) => x.toFixed(0)).join(" ")}`);
    }
    for (const d of ds) console.log(`${d.name.padEnd(10)} faults/rt by round ${d.faults.map((x) => x.toFixed(2)).join(" ")}; madvise by round ${d.madvise.join(" ")}`);
    for (const d of ds) {
      // where the CPU per round trip goes, by thread (all rounds together)
      const parts = [...d.threads].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([name, n]) => `${name} ${((n / 100 / d.trips) * 1e6).toFixed(0)}`);
      console.log(`${d.name.padEnd(10)} CPU/rt by thread (us): ${parts.join(", ")}`);
    }
    // paired: the first daemon's rate over each other's in the same round (the load moves both)
    for (const d of ds.slice(1)) console.log(`paired ${ds[0]!.name}/${d.name}: median ${median(ds[0]!.rate.map((x, i) => x / d.rate[i]!)).toFixed(2)}x over ${d.rate.length} rounds`);
    if (ds.length > 1) console.log(`ratio ${ds[0]!.name}/${ds[ds.length - 1]!.name}: ${(median(ds[0]!.rate) / median(ds[ds.length - 1]!.rate)).toFixed(2)}x  (load ${load})`);
    if (process.argv.includes("--idle")) {
      // the "Idle tunnel" row after the flow: CPU over 10 s without traffic (1 s after the last answer)
      await Bun.sleep(1000);
      const c0 = ds.map((d) => cpuTicks(d.proc.child.pid!));
      await Bun.sleep(10_000);
      ds.forEach((d, i) => {
        const c1 = cpuTicks(d.proc.child.pid!);
        console.log(`${d.name.padEnd(10)} idle CPU ${(c1[0] + c1[1] - c0[i]![0] - c0[i]![1]) / 10}% of a core (10 s without traffic, after the flow)`);
      });
    }
    if (process.argv.includes("--sched")) {
      // wake-up latency and CPU placement per task: perf sched (sched_switch/sched_wakeup only)
      for (const d of ds) {
        sh("ip", "route", "replace", "198.51.100.0/24", "dev", d.dev);
        const out = join("/tmp", `udp-rt-sched-${d.name}.data`);
        const perf = new Proc(["perf", "sched", "record", "-a", "-o", out]);
        await Bun.sleep(800);
        const v = await qa(1000);
        perf.kill("SIGINT");
        await perf.exited;
        const lat = spawnSync("perf", ["sched", "latency", "-i", out, "-s", "max"], { encoding: "utf8" }).stdout;
        console.log(`== ${d.name} (${v.toFixed(0)} q/s; daemon ${d.proc.child.pid}, client ${process.pid})`);
        for (const l of lat.split("\n")) if (/exe|tunkit|hev|danted|bun|Task/.test(l)) console.log(l);
      }
    }
    for (const what of ["--perf", "--faults"]) {
      if (!process.argv.includes(what)) continue;
      // where the daemon's CPU (--perf) or its page faults (--faults: each with its address) come from: a call-graph profile over a 2 s run
      for (const d of ds) {
        sh("ip", "route", "replace", "198.51.100.0/24", "dev", d.dev);
        const out = join("/tmp", `udp-rt-${what.slice(2)}-${d.name}.data`);
        const perf = new Proc(["perf", "record", "-g", ...(what === "--faults" ? ["-e", "page-faults,syscalls:sys_enter_madvise", "-c", "1", "-d"] : []), "-o", out, "-p", String(d.proc.child.pid)]);
        await Bun.sleep(800);
        const v = await qa(2000);
        perf.kill("SIGINT");
        await perf.exited;
        console.log(`${d.name}: ${v.toFixed(0)} q/s under perf record${what === "--faults" ? " -e page-faults" : ""}, ${out}`);
      }
    }
    if (process.argv.includes("--strace")) {
      // every thread's system calls over ~100 round trips, with times: the wake-up chain
      for (const d of ds) {
        sh("ip", "route", "replace", "198.51.100.0/24", "dev", d.dev);
        const out = join("/tmp", `udp-rt-strace-${d.name}.txt`);
        const st = new Proc(["strace", "-f", "-tt", "-T", "-o", out, "-p", String(d.proc.child.pid)]);
        await Bun.sleep(800);
        const v = await qa(100);
        st.kill("SIGINT");
        await st.exited;
        console.log(`${d.name}: ${v.toFixed(0)} q/s under strace, ${out}`);
      }
    }
    if (process.argv.includes("--trace")) {
      for (const d of ds) {
        sh("ip", "route", "replace", "198.51.100.0/24", "dev", d.dev);
        const out = join("/tmp", `udp-rt-trace-${d.name}.data`);
        const perf = new Proc(["perf", "record", "-a", "-o", out, "-e", "raw_syscalls:sys_enter,raw_syscalls:sys_exit,signal:signal_generate,signal:signal_deliver,sched:sched_wakeup,sched:sched_switch,net:net_dev_xmit,net:netif_receive_skb"]);
        await Bun.sleep(800);
        await qa(300);
        perf.kill("SIGINT");
        await perf.exited;
        console.log(`${d.name}: pid ${d.proc.child.pid} trace ${out}`);
      }
    }
  } finally {
    for (const d of ds) d.proc.kill("SIGTERM");
    await t.down();
  }
}
