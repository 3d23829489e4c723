/**
 * Where an iperf3 UDP flood through a tun2socks daemon loses its datagrams, and what each
 * delivered datagram costs the daemon: bench/proxy.ts's "iperf3 UDP" row taken apart. One
 * iperf3 -u round per daemon (tunkit, hev-socks5-tunnel, or another tunkit build), interleaved,
 * in the proxy bench's topology (client namespace with the tuns, dante in the proxy namespace,
 * iperf3's server behind it), with every counter on the path read before and after the round:
 *
 * - client: iperf3's own sent count; the tun's queue towards the daemon (`/proc/net/dev` of the
 *   tun: tx packets, tx drops = the daemon did not read fast enough, txqueuelen overflowed);
 *   UDP SndbufErrors (the daemon's proxy socket refused a send) and the veth's tx drops;
 * - proxy namespace: UDP InDatagrams, RcvbufErrors (dante's receive buffer overflowed), InErrors,
 *   SndbufErrors (dante's outbound socket);
 * - server namespace: UDP InDatagrams and RcvbufErrors (iperf3's server);
 * - the daemon: CPU (user / sys) per datagram read from the tun, and dante's CPU per datagram it
 *   received; with `--count` the daemon's system calls per 1,000 datagrams (perf stat on syscall
 *   tracepoints: no slow-down to speak of); `--trace` (perf trace -s) and `--strace` (strace -c)
 *   list every call but slow the daemon, so such a round's loss is not the bench's.
 *
 * "delivered %" is what iperf3's server took (its namespace's UDP InDatagrams less RcvbufErrors)
 * of what the client sent.
 *
 *   bun bench/proxy-udp-drops.ts [--rate 200M] [--secs 3] [--reps 3] [--bin PATH] [--ref PATH]
 *        [--env K=V,...] [--ref-env K=V,...] [--strace | --trace | --count] [--perf FILE]
 *        [--rcvbuf BYTES] [--flows N [--steady]]
 *
 * `--rcvbuf BYTES`: dante's UDP sockets get that receive buffer (`internal.udp.so_rcvbuf` and
 * `external.udp.so_rcvbuf` in its config; the kernel doubles it, capped by the host's
 * net.core.rmem_max, which a network namespace can only read on this kernel) instead of
 * net.core.rmem_default (212,992). The buffers dante's sockets got are printed (ss -m).
 * `--flows N`: bench/proxy.ts's query/answer workload on N flows instead of iperf3 (answers/s,
 * resends after 1 s, each flow's time to its first answer, dante's listen-queue overflows, CPU
 * per answer of the daemon, dante, the echo server and this client); every round's flows are
 * new sockets, as in bench/proxy.ts, so a round includes N association set-ups; `--steady` runs
 * the same sockets 1.5 s first (associations open), then measures.
 *
 * `--bin source` runs cli/main.ts under bun (`--cpu-prof DIR`: a markdown CPU profile written
 * there when the daemon exits; it killed the daemon at start under Bun 1.4.5 in this topology).
 * `--env`/`--ref-env`: environment of the daemon under test / of the reference tunkit.
 * `--ref PATH`: a second tunkit build in the reference slot instead of hev (HEV_SOCKS5_TUNNEL,
 * default the project's build at /work/wt/_hevbuild_p14). `--perf FILE`: perf record -g of the
 * first tunkit round's daemon into FILE.
 *
 * What it showed (07:00-07:30 UTC, load 4-10 on 2 vCPUs, so rough): at 200 Mbit/s the datagrams
 * are lost in dante's receive buffer (proxy RcvbufErrors 4,000-38,000 of 62,500 per 3 s round,
 * for hev as for tunkit), not on tunkit's side (the tun's tx drops 0 but for a few load spikes,
 * no SndbufErrors); dante spends 30-45 us of CPU per datagram, so the row measures how much CPU
 * dante gets beside the daemon, iperf3 and the rest of the machine: the daemon's lever is its
 * own CPU per datagram (tunkit 12-15 us, user 5-7 + sys 6-8, against hev's 8-10, user 2-3).
 * System calls per 1,000 datagrams: tunkit read 1,040, sendmmsg 31-44 (bursts of 32), 12-100
 * wake-ups (fcntl, a signal, epoll_pwait2, poll, write each); hev read 1,056, sendmmsg 138,
 * recvmmsg + recvfrom 192 each, epoll_wait 249. TUNKIT_UDP_BURST 8 against 32: better in one
 * run (92 vs 73% delivered), worse in the next (35 vs 45): noise at that load, not changed.
 * Sending a flood's runs as UDP GSO messages (proxy/udp.ts) took tunkit's CPU per datagram
 * from 14.0 to 12.3 us in an A/B (sys 7.4 -> 6.4).
 *
 * Session 10 (10:00-10:40 UTC, load 5-11): with `--rcvbuf 4194304` (8 MiB per socket) dante
 * still dropped 4,900-29,000 of 62,500 per 200 Mbit/s round (tunkit 12,400-18,800, hev
 * 4,900-29,000) and iperf3's server 1,200-9,300 more: delivered 36-65% (tunkit) and 42-63% (hev),
 * 73-130 vs 85-126 Mbit/s. The loss is CPU (dante's 31-41 us per datagram at 20,800 datagrams/s
 * is most of a core), not a buffer a burst overflows: a bigger buffer does not make the row a
 * tunnel comparison. tunkit lost none on its side (tun tx drops 0; hev's tun dropped 700-950
 * its daemon did not read), CPU per datagram 12.5-16 us (user 5-7.7, sys 7-8.6) vs hev 8.8-9.6.
 * `--flows 200`: a round of 200 new flows spends most of its 2 s on the associations' set-up
 * (first answer median 0.4-1.4 s for tunkit, 0.24-1.8 s for hev; resends when over 1 s), so it
 * measures dante's set-up under load more than either tunnel; `TUNKIT_UDP_SPARES=256` did not
 * help (0.3-1.8 s: more spares opened at once is more set-up work for dante in the same
 * second). With `--steady` (associations open): tunkit 4,500-7,400 answers/s vs hev 5,900-11,300
 * (0.75x), daemon CPU per answer 62 vs 39 us (user 31 vs 14, sys 31 vs 25), system calls per
 * datagram read from the tun about 6.8 vs 13 (hev's recvmmsg + recvfrom + epoll_wait 3.5-4.2
 * each): the gap is user CPU per datagram (the tun read, dispatch, one Bun socket callback per
 * reply), not the flow table (one hash probe per datagram) or per-flow timers (none: one sweep a
 * second).
 */
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { Topology, Proc, sh, BUN, ROOT, SERVER_V4, PROXY_V4 } from "../tests/fixtures/proxy/topology.ts";
import { median, percentile, reexecInNetns, root } from "./lib.ts";

const DANTE = 1082;
const LEN = 1200;

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** UDP counters of /proc/net/snmp (text of that file). */
function udpSnmp(text: string): Record<string, number> {
  const lines = text.split("\n").filter((l) => l.startsWith("Udp:"));
  const keys = lines[0]!.split(/\s+/).slice(1);
  const vals = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, vals[i]!]));
}

/** TcpExt counters of /proc/net/netstat (text of that file). */
function tcpExt(text: string): Record<string, number> {
  const lines = text.split("\n").filter((l) => l.startsWith("TcpExt:"));
  const keys = lines[0]!.split(/\s+/).slice(1);
  const vals = lines[1]!.split(/\s+/).slice(1).map(Number);
  return Object.fromEntries(keys.map((k, i) => [k, vals[i]!]));
}

/** /proc/net/dev: per device rx/tx packets and drops. */
function netDev(text: string): Record<string, { rxp: number; rxd: number; txp: number; txd: number }> {
  const out: Record<string, { rxp: number; rxd: number; txp: number; txd: number }> = {};
  for (const l of text.split("\n").slice(2)) {
    const m = /^\s*([^:]+):\s*(.*)$/.exec(l);
    if (!m) continue;
    const f = m[2]!.trim().split(/\s+/).map(Number);
    out[m[1]!] = { rxp: f[1]!, rxd: f[3]!, txp: f[9]!, txd: f[11]! };
  }
  return out;
}

/** Sum of /proc/net/softnet_stat's second column (hex): packets dropped because a CPU's input backlog was full. */
function softnetDropped(): number {
  return readFileSync("/proc/net/softnet_stat", "utf8").trim().split("\n").reduce((n, l) => n + Number.parseInt(l.split(" ")[1]!, 16), 0);
}

function inNs(ns: string | undefined, file: string): string {
  return ns ? sh("ip", "netns", "exec", ns, "cat", file) : readFileSync(file, "utf8");
}

interface Snap {
  c: Record<string, number>;
  p: Record<string, number>;
  /** The proxy namespace's TcpExt counters. */
  pt: Record<string, number>;
  s: Record<string, number>;
  dev: ReturnType<typeof netDev>;
  /** The proxy namespace's devices. */
  pdev: ReturnType<typeof netDev>;
  /** Packets the CPUs' input backlogs dropped (net.core.netdev_max_backlog full), all CPUs. */
  backlog: number;
  cpu: [number, number];
  /** dante's processes, ticks. */
  proxy: number;
  /** The echo server's processes, ticks. */
  server: number;
  /** This process (the query/answer client), us. */
  self: NodeJS.CpuUsage;
}

function cpuTicks(pid: number): [number, number] {
  const st = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return [Number(f[11]), Number(f[12])];
}

/** utime+stime of `pid` and all its descendants, in ticks. */
function treeTicks(pid: number): number {
  let sum = 0;
  try {
    const [u, st] = cpuTicks(pid);
    sum = u + st;
  } catch {
    return 0;
  }
  const kids = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" }).stdout.trim().split("\n").filter(Boolean);
  for (const k of kids) sum += treeTicks(Number(k));
  return sum;
}

/**
 * bench/proxy.ts's query/answer workload: `flows` sockets, each sends 64 bytes to the echo port
 * and the next once the answer is back (again after 1 s when none came). `run(ms)` returns the
 * answers, the resends (a lost query or answer stalls its flow for 1 s) and each flow's time to
 * its first answer (its association's set-up, when the flow is new); runs may follow each other
 * on the same sockets (the flows and their associations stay open).
 */
async function queryAnswer(flows: number): Promise<{ run(ms: number): Promise<{ answers: number; resends: number; first: number[] }>; close(): void }> {
  const socks = Array.from({ length: flows }, () => dgram.createSocket("udp4"));
  await Promise.all(socks.map((s) => new Promise<void>((r) => s.bind(0, r))));
  for (const s of socks) s.on("error", () => {});
  const payload = Buffer.alloc(64, 7);
  const run = async (ms: number) => {
    let answers = 0;
    let resends = 0;
    const t0 = performance.now();
    const end = t0 + ms;
    const first: number[] = [];
    await Promise.all(
      socks.map(
        (s) =>
          new Promise<void>((resolve) => {
            let timer: ReturnType<typeof setTimeout> | undefined;
            let got = false;
            let done = false;
            const send = (again: boolean) => {
              if (performance.now() >= end) {
                if (!done) (done = true), s.removeAllListeners("message"), resolve();
                return;
              }
              if (again) resends++;
              s.send(payload, 7, SERVER_V4);
              timer = setTimeout(() => send(true), 1000);
            };
            s.on("message", () => {
              if (!got) {
                got = true;
                first.push(performance.now() - t0);
              }
              answers++;
              clearTimeout(timer);
              send(false);
            });
            send(false);
          }),
      ),
    );
    await Bun.sleep(50); // answers still on their way land before the next run
    return { answers, resends, first };
  };
  return { run, close: () => socks.forEach((s) => s.close()) };
}

interface Daemon {
  label: string;
  dev: string;
  proc: Proc;
}

async function main(): Promise<void> {
  const rate = arg("--rate") ?? "200M";
  const secs = Number(arg("--secs") ?? 3);
  const reps = Number(arg("--reps") ?? 3);
  const flows = Number(arg("--flows") ?? 0);
  const bin = arg("--bin") ?? join(root, "dist/tunkit");
  const ref = arg("--ref");
  const hev = process.env.HEV_SOCKS5_TUNNEL ?? "/work/wt/_hevbuild_p14/hev/bin/hev-socks5-tunnel";
  const envOf = (a: string) => Object.fromEntries((arg(a) ?? "").split(",").filter(Boolean).map((kv) => kv.split("=") as [string, string]));
  const env = envOf("--env");
  const refEnv = envOf("--ref-env");
  const t = new Topology("udpdrops");
  try {
    t.up();
    await t.startServer(1 << 20);
    const server = t.procs[t.procs.length - 1]!.child.pid!;
    t.spawnIn(t.sv, ["iperf3", "-s", "-B", SERVER_V4]);
    const rcvbuf = arg("--rcvbuf") ? Number(arg("--rcvbuf")) : undefined;
    await t.startDante(DANTE, rcvbuf);
    const dante = t.procs[t.procs.length - 1]!.child.pid!;
    const startTunkit = async (label: string, dev: string, addr: string, b: string): Promise<Daemon> => {
      const prof = arg("--cpu-prof");
      const cmd = b === "source" ? [BUN, ...(prof ? ["--cpu-prof-md", `--cpu-prof-dir=${prof}`] : []), join(ROOT, "cli/main.ts")] : [b];
      const p = new Proc([...cmd, "socks", dev, "--proxy", `socks5://${PROXY_V4}:${DANTE}`, "--address", addr], label === "tunkit" ? env : refEnv);
      t.procs.push(p);
      await p.waitFor(/ready/, 15_000).catch(async (e: Error) => {
        throw new Error(`${cmd.join(" ")}: ${e.message} (exit ${await p.exited})`);
      });
      return { label, dev, proc: p };
    };
    const daemons: Daemon[] = [await startTunkit("tunkit", "tka0", "198.18.0.1/30", bin)];
    if (ref) daemons.push(await startTunkit("ref", "tkb0", "198.18.1.1/30", ref));
    else {
      if (!existsSync(hev)) throw new Error(`no hev at ${hev} (HEV_SOCKS5_TUNNEL)`);
      const conf = join(t.dir, "hev.yml");
      writeFileSync(conf, `tunnel:\n  name: tkb0\n  mtu: 8500\n  ipv4: 198.18.1.1\nsocks5:\n  port: ${DANTE}\n  address: ${PROXY_V4}\n  udp: 'udp'\nmisc:\n  log-level: error\n  limit-nofile: 65535\n`);
      const p = new Proc([hev, conf]);
      t.procs.push(p);
      for (let i = 0; i < 100 && spawnSync("ip", ["link", "show", "tkb0"]).status !== 0; i++) await Bun.sleep(50);
      sh("ip", "link", "set", "tkb0", "up");
      daemons.push({ label: "hev", dev: "tkb0", proc: p });
    }
    const snap = (d: Daemon): Snap => ({
      c: udpSnmp(inNs(undefined, "/proc/net/snmp")),
      p: udpSnmp(inNs(t.px, "/proc/net/snmp")),
      pt: tcpExt(inNs(t.px, "/proc/net/netstat")),
      s: udpSnmp(inNs(t.sv, "/proc/net/snmp")),
      dev: netDev(inNs(undefined, "/proc/net/dev")),
      pdev: netDev(inNs(t.px, "/proc/net/dev")),
      backlog: softnetDropped(),
      cpu: cpuTicks(d.proc.child.pid!),
      proxy: treeTicks(dante),
      server: treeTicks(server),
      self: process.cpuUsage(),
    });
    const iperf = async (r: string, s: number) => {
      const p = new Proc(["iperf3", "-c", SERVER_V4, "-t", String(s), "-J", "-u", "-b", r, "-l", String(LEN)]);
      await p.exited;
      const j = JSON.parse(p.out) as { end?: { sum?: { packets?: number; lost_percent?: number }; sum_sent?: { packets?: number } }; error?: string };
      if (j.error || !j.end) throw new Error(`iperf3: ${j.error ?? p.err}`);
      return { sent: j.end.sum_sent?.packets ?? j.end.sum?.packets ?? NaN, lost: j.end.sum?.lost_percent ?? NaN };
    };
    // warm-up: one short round through each (the association opens)
    for (const d of daemons) {
      sh("ip", "route", "replace", "198.51.100.0/24", "dev", d.dev);
      if (flows > 0) {
        const q = await queryAnswer(flows);
        await q.run(1000);
        q.close();
      }
      else await iperf("10M", 1);
      await Bun.sleep(300);
    }
    // the receive buffers dante's UDP sockets got (skmem rb), as the kernel reports them
    const rb = [...sh("ip", "netns", "exec", t.px, "ss", "-uanmp").matchAll(/skmem:\(r\d+,rb(\d+)/g)].map((m) => Number(m[1]));
    console.log(`dante's UDP sockets: receive buffer ${[...new Set(rb)].join(", ") || "?"} bytes (${rcvbuf ? `internal/external.udp.so_rcvbuf ${rcvbuf}` : "net.core.rmem_default"})`);
    const rows: Record<string, Record<string, number[]>> = {};
    const perfOut = arg("--perf");
    let perfDone = false;
    for (let i = 0; i < reps; i++) {
      for (const d of i % 2 ? [...daemons].reverse() : daemons) {
        sh("ip", "route", "replace", "198.51.100.0/24", "dev", d.dev);
        await Bun.sleep(500);
        let tracer: Proc | undefined;
        if (process.argv.includes("--strace")) {
          tracer = new Proc(["strace", "-c", "-f", "-p", String(d.proc.child.pid)]);
          await Bun.sleep(500);
        } else if (process.argv.includes("--count")) {
          // tracepoint counters: no slow-down worth the name (strace and perf trace stop the daemon per call)
          const ev = ["read", "sendmmsg", "sendmsg", "sendto", "fcntl", "rt_sigreturn", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_ctl", "futex", "poll", "recvmmsg", "recvfrom", "write", "madvise"];
          tracer = new Proc(["perf", "stat", "-x", ",", ...ev.flatMap((e) => ["-e", `syscalls:sys_enter_${e}`]), "-p", String(d.proc.child.pid)]);
          await Bun.sleep(500);
        } else if (process.argv.includes("--trace")) {
          tracer = new Proc(["perf", "trace", "-s", "-p", String(d.proc.child.pid)]);
          await Bun.sleep(500);
        } else if (perfOut && !perfDone && d.label === "tunkit") {
          perfDone = true;
          tracer = new Proc(["perf", "record", "-F", "2999", "-g", "-p", String(d.proc.child.pid), "-o", perfOut]);
          await Bun.sleep(500);
        }
        // --steady: the flows' associations opened (a 1.5 s run) before the measured one
        const q = flows > 0 ? await queryAnswer(flows) : undefined;
        if (q && process.argv.includes("--steady")) await q.run(1500);
        const a = snap(d);
        const r = q ? await q.run(secs * 1000) : await iperf(rate, secs);
        q?.close();
        await Bun.sleep(300);
        const b = snap(d);
        if (tracer) {
          tracer.kill("SIGINT");
          await tracer.exited;
        }
        const dv = (k: "rxp" | "rxd" | "txp" | "txd") => b.dev[d.dev]![k] - a.dev[d.dev]![k];
        const delta = (x: "c" | "p" | "s", k: string) => b[x][k]! - a[x][k]!;
        const perQ = (ticks: number) => (ticks * 1e4) / Math.max(1, "answers" in r ? r.answers : 1);
        const m: Record<string, number> = "answers" in r ? {
          "answers / s": r.answers / secs,
          resends: r.resends,
          "first answer ms (median)": median(r.first),
          "first answer ms (90%)": percentile(r.first, 90),
          "first answer ms (max)": Math.max(...r.first),
          "flows answered": r.first.length,
          "tun: to daemon": dv("txp"),
          "tun: dropped (not read)": dv("txd"),
          "tun: from daemon": dv("rxp"),
          "client: RcvbufErrors": delta("c", "RcvbufErrors"),
          "proxy: ListenOverflows": b.pt.ListenOverflows! - a.pt.ListenOverflows!,
          "proxy: ListenDrops": b.pt.ListenDrops! - a.pt.ListenDrops!,
          "proxy: InDatagrams": delta("p", "InDatagrams"),
          "proxy: RcvbufErrors": delta("p", "RcvbufErrors"),
          "server: RcvbufErrors": delta("s", "RcvbufErrors"),
          "daemon cpu us / answer (user)": perQ(b.cpu[0] - a.cpu[0]),
          "daemon cpu us / answer (sys)": perQ(b.cpu[1] - a.cpu[1]),
          "dante cpu us / answer": perQ(b.proxy - a.proxy),
          "echo server cpu us / answer": perQ(b.server - a.server),
          "client cpu us / answer": (b.self.user + b.self.system - a.self.user - a.self.system) / Math.max(1, r.answers),
        } : {
          sent: r.sent,
          "delivered %": ((b.s.InDatagrams! - a.s.InDatagrams! - (b.s.RcvbufErrors! - a.s.RcvbufErrors!)) * 100) / r.sent,
          "delivered Mbit/s": ((b.s.InDatagrams! - a.s.InDatagrams! - (b.s.RcvbufErrors! - a.s.RcvbufErrors!)) * LEN * 8) / secs / 1e6,
          "iperf3: lost %": r.lost,
          "tun: to daemon": dv("txp"),
          "tun: dropped (not read)": dv("txd"),
          "tun: from daemon": dv("rxp"),
          "client: SndbufErrors": delta("c", "SndbufErrors"),
          "client veth tx drops": b.dev.tkc0!.txd - a.dev.tkc0!.txd,
          "proxy veth rx drops": b.pdev.tkp0!.rxd - a.pdev.tkp0!.rxd,
          "input backlog drops (all)": b.backlog - a.backlog,
          "proxy: InDatagrams": delta("p", "InDatagrams"),
          "proxy: RcvbufErrors": delta("p", "RcvbufErrors"),
          "proxy: InErrors": delta("p", "InErrors"),
          "proxy: SndbufErrors": delta("p", "SndbufErrors"),
          "server: InDatagrams": delta("s", "InDatagrams"),
          "server: RcvbufErrors": delta("s", "RcvbufErrors"),
          "cpu us / datagram (user)": ((b.cpu[0] - a.cpu[0]) * 1e4) / dv("txp"),
          "cpu us / datagram (sys)": ((b.cpu[1] - a.cpu[1]) * 1e4) / dv("txp"),
          "dante cpu us / datagram in": ((b.proxy - a.proxy) * 1e4) / Math.max(1, delta("p", "InDatagrams")),
        };
        const row = (rows[d.label] ??= {});
        for (const [k, v] of Object.entries(m)) (row[k] ??= []).push(v);
        if (tracer && process.argv.includes("--count")) {
          const per = (n: number) => ((n * 1000) / Math.max(1, dv("txp"))).toFixed(1);
          const lines = tracer.err.split("\n").map((l) => l.split(",")).filter((f) => f.length > 3 && /sys_enter_/.test(f[2]!));
          console.log(`${d.label} round ${i}: system calls per 1,000 datagrams read from the tun (${dv("txp")}): ${lines.map((f) => `${f[2]!.replace(/.*sys_enter_/, "")} ${per(Number(f[0]))}`).join(", ")}`);
        }
        if (tracer && process.argv.includes("--trace")) {
          const calls = new Map<string, number>();
          for (const l of tracer.err.split("\n")) {
            const f = /^\s+(\w+)\s+(\d+)\s+(\d+)\s+[\d.]+/.exec(l);
            if (f) calls.set(f[1]!, (calls.get(f[1]!) ?? 0) + Number(f[2]));
          }
          const total = [...calls.values()].reduce((x, y) => x + y, 0);
          console.log(`${d.label} round ${i}: system calls per 1,000 datagrams read from the tun (${dv("txp")}), all threads: ${((total * 1000) / Math.max(1, dv("txp"))).toFixed(0)}`);
          for (const [k, v] of [...calls].sort((x, y) => y[1] - x[1]).slice(0, 14)) console.log(`  ${k.padEnd(18)} ${((v * 1000) / Math.max(1, dv("txp"))).toFixed(1).padStart(8)}`);
        }
        if (tracer && process.argv.includes("--strace")) {
          const lines = tracer.err.split("\n").filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l));
          console.log(`${d.label} round ${i}: system calls per 1,000 datagrams read from the tun (${dv("txp")})`);
          for (const l of lines) {
            const f = l.trim().split(/\s+/);
            const hasErr = f.length === 6;
            console.log(`  ${f[hasErr ? 5 : 4]!.padEnd(18)} ${((Number(f[3]) * 1000) / Math.max(1, dv("txp"))).toFixed(1).padStart(8)}${hasErr ? `  (${f[4]} errors)` : ""}`);
          }
        }
      }
    }
    const labels = Object.keys(rows);
    console.log(`${flows > 0 ? `query/answer, ${flows} flows, ${secs} s` : `iperf3 -u -b ${rate} -l ${LEN} -t ${secs}`}, ${reps} rounds each, medians (every round in brackets); load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
    const keys = Object.keys(rows[labels[0]!]!);
    console.log(`${"".padEnd(28)} ${labels.map((l) => l.padStart(30)).join(" ")}`);
    for (const k of keys) {
      const cell = (l: string) => {
        const v = rows[l]![k]!;
        const f = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toString() : x.toFixed(1));
        return `${f(median(v))} [${v.map(f).join(" ")}]`.padStart(30);
      };
      console.log(`${k.padEnd(28)} ${labels.map(cell).join(" ")}`);
    }
    if (process.argv.includes("--stats")) {
      for (const d of daemons) if (d.label !== "hev") d.proc.kill("SIGUSR1");
      await Bun.sleep(300);
      for (const d of daemons) if (d.label !== "hev") console.log(`${d.label}: ${d.proc.out.trim().split("\n").pop()}`);
    }
  } finally {
    // a clean stop (a CPU profile is written on exit), then down() kills what is left
    for (const p of t.procs) p.kill("SIGTERM");
    await Promise.race([Promise.all(t.procs.map((p) => p.exited)), Bun.sleep(5000)]);
    await t.down();
  }
}

if (import.meta.main && !reexecInNetns()) await main();
