/**
 * Where a tun2socks daemon spends its work, per unit: one workload through `dist/tunkit socks`
 * (or tunkit from source, or hev-socks5-tunnel) in the proxy bench's topology, with the daemon's
 * CPU per unit and, with --strace, its system calls per unit (strace -c -f on the running
 * daemon). The profile of bench/proxy.ts's rows, not a ratio of its own.
 *
 *   bun bench/proxy-profile.ts WORKLOAD [--daemon tunkit|hev|source] [--strace] [--cpu-prof DIR] [--n N]
 *
 * WORKLOAD: short (N sequential short GETs, microsocks), download (100 MiB through dante), udp
 * (N query/answer round trips on one flow, dante), udp-flows (N flows of one query/answer each),
 * hold (N connections held open at once: RSS idle / holding / after, split into anonymous and
 * mapped-file pages, the JS heap with TUNKIT_HEAP_REPORT=1, and a bare compiled Bun's as the floor).
 * `--daemon source` runs cli/main.ts under `bun` (with --cpu-prof DIR: a markdown CPU profile
 * written there when the daemon exits). hev needs HEV_SOCKS5_TUNNEL=/path/to/hev-socks5-tunnel.
 * `--perf syscalls` counts system calls (perf, no slow-down); `--perf FILE` records a profile.
 * `--short-first N` (hold): N short connections before the hold (a daemon with a history).
 * `--smaps-out FILE` (hold) keeps the daemon's /proc/PID/smaps while it holds the connections.
 * `--strace-log FILE` writes strace's trace of every call (-f -tt) there instead of counting.
 * `--bin PATH` runs another build of tunkit; `--env K=V,...` adds to the daemon's environment.
 *
 * What it showed (2 vCPUs, load 11-19, so rough): a 100 MiB download cost 8-10 ms of daemon CPU
 * per MiB against hev's 2 ms with FEWER system calls (75 vs 251 per MiB): perf put 22% in
 * user-space memmove and 13-19% in page faults — Bun's socket chunks landing in pages the
 * allocator had just given back (then fixed with MIMALLOC_PURGE_DELAY=-1: 3.8-4.5 ms/MiB; since
 * the relay frees each chunk once written, the daemon keeps freed pages 250 ms instead of for
 * ever: see cli/socks.ts). After the fix the tun's own read+write is ~12% of the daemon's CPU on that
 * download (tun_chr_read_iter 4.3%, tun_chr_write_iter 7.4%), the socket relay 23% (sendto
 * 14.7%, recvfrom 8.8%) and Bun's copies 25%: more tun queues served by workers could take at
 * most that 12% off the event loop, which keeps every socket.
 *
 * Short connections (session 10, Bun's own sockets, 300-1,000 sequential, load 8-12): 68 system
 * calls per connection under strace against hev's 40-45, 76-80 unslowed (`--perf syscalls`, which
 * now names them; bench/proxy-syscalls.ts has the breakdown), daemon CPU
 * 1.21 ms against hev's 0.89 in the same minute. The daemon's CPU is its main thread's (94%;
 * mi-scavenger 31 us, JSCWarmUp 27, HeapHelper 7, JIT workers 8 per connection). perf (cpu-clock)
 * puts 58% of it in the kernel, and the JS sampler puts the JS thread's samples mostly in
 * system calls: the tun's write 34% (each write runs the receiving socket's TCP input in our
 * context: the listener's for the client's segments, the client's for the listener's) and
 * Bun.connect 16% (connect() sends the SYN through the veth and takes the proxy's SYN-ACK in
 * the same softirq), the tun's read 4%; tunkit's own JavaScript (the rewrite, the NAT, the
 * SOCKS5 machine, the relay's handlers) a few % together. Every segment of the client's
 * connection crosses the tun twice (tunkit's kernel terminates it), where hev's lwIP takes it
 * in user space: ~10 tun writes per connection against hev's ~6.
 * The CPU figures are every thread's run time in ns (/proc/PID/task/TID/schedstat), printed by
 * thread; the user/sys split comes from /proc/PID/stat's 10 ms ticks.
 */
import dgram from "node:dgram";
import net from "node:net";
import { existsSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Topology, Proc, curl, sh, SERVER_V4, PROXY_V4, BUN, ROOT } from "../tests/fixtures/proxy/topology.ts";
import { reexecInNetns, root } from "./lib.ts";
import { cpuBetween, cpuByThread, readCpu } from "./cpu.ts";

const SOCKS = 1080;
const DANTE = 1082;
const REQUEST = Buffer.from(`GET /small HTTP/1.1\r\nHost: ${SERVER_V4}\r\nConnection: close\r\n\r\n`);

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** utime, stime of `pid` in clock ticks. */
function cpuTicks(pid: number): [number, number] {
  const st = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return [Number(f[11]), Number(f[12])];
}

function shortGet(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: SERVER_V4, port: 80 });
    let got = 0;
    s.on("connect", () => s.write(REQUEST));
    s.on("data", (d: Uint8Array) => (got += d.length));
    s.on("error", reject);
    s.on("end", () => s.end());
    s.on("close", () => (got > 0 ? resolve() : reject(new Error("empty response"))));
  });
}

async function udpRoundTrips(n: number, flows: number): Promise<void> {
  const payload = Buffer.alloc(64, 7);
  for (let f = 0; f < flows; f++) {
    const s = dgram.createSocket("udp4");
    await new Promise<void>((r) => s.bind(0, r));
    const per = Math.ceil(n / flows);
    await new Promise<void>((resolve) => {
      let left = per;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const send = () => {
        if (left-- <= 0) return resolve();
        s.send(payload, 7, SERVER_V4);
        timer = setTimeout(send, 1000);
      };
      s.on("error", () => {});
      s.on("message", () => {
        clearTimeout(timer);
        send();
      });
      send();
    });
    s.close();
  }
}

function rssMB(pid: number, key = "VmRSS"): number {
  const m = new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Math.round(Number(m[1]) / 102.4) / 10 : NaN;
}

/** Mapped code (file-backed RSS) and anonymous RSS of `pid`, MB. */
function rssSplit(pid: number): string {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(s)?.[1] ?? NaN) / 1024;
  return `anon ${kb("RssAnon").toFixed(1)} MB, file ${kb("RssFile").toFixed(1)} MB`;
}

/**
 * Where `pid`'s resident pages are, MB by mapping: the executable's pages by permission
 * (code r-x, read-only data r--, written data rw-), other files (libraries), the brk heap and
 * anonymous mappings (mimalloc's and JSC's arenas, thread stacks).
 */
function smapsSplit(pid: number): string {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/smaps`, "utf8");
  } catch {
    return "";
  }
  let exe = "";
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    /* gone */
  }
  const kb = new Map<string, number>();
  for (const b of text.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const head = /^[0-9a-f]+-[0-9a-f]+ (\S{4}) \S+ \S+ \d+[ \t]*(.*)$/m.exec(b);
    const rss = Number(/^Rss:\s+(\d+) kB/m.exec(b)?.[1] ?? 0);
    if (!head || !rss) continue;
    const name = head[2]!.trim();
    const key = name === exe ? `exe ${head[1]!.slice(0, 3)}` : name === "" ? "anon" : name.startsWith("[") ? name : "other files";
    kb.set(key, (kb.get(key) ?? 0) + rss);
  }
  return [...kb].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / 1024).toFixed(1)}`).join(", ");
}

/**
 * Opens `n` connections through the tun and holds them: the daemon's RSS (split anon/file)
 * idle, holding and after, its JS heap report (TUNKIT_HEAP_REPORT, SIGUSR2) when it is
 * tunkit, and the floor: a bare compiled Bun program (setInterval) measured in the same run.
 */
async function holdMany(n: number, pid: number, d: Proc): Promise<string> {
  const heap = async () => {
    if (!process.env.TUNKIT_HEAP_REPORT) return "";
    const before = d.err.length;
    process.kill(pid, "SIGUSR2");
    for (let i = 0; i < 50 && !d.err.slice(before).includes('{"heap"'); i++) await Bun.sleep(100);
    return d.err.slice(before).trim();
  };
  const lines: string[] = [`idle: RSS ${rssMB(pid)} MB (${rssSplit(pid)}; ${smapsSplit(pid)}) ${await heap()}`];
  const socks: net.Socket[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => new Promise<net.Socket | undefined>((resolve) => {
      const s = net.connect({ host: SERVER_V4, port: 80 });
      s.once("connect", () => resolve(s));
      s.once("error", () => resolve(undefined));
    })));
    for (const s of batch) if (s) socks.push(s.on("error", () => {}));
  }
  await Bun.sleep(500);
  const dump = arg("--smaps-out");
  if (dump) writeFileSync(dump, readFileSync(`/proc/${pid}/smaps`, "utf8"));
  lines.push(`holding ${socks.length}: RSS ${rssMB(pid)} MB (${rssSplit(pid)}; ${smapsSplit(pid)}) ${await heap()}`);
  socks.forEach((s) => s.destroy());
  await Bun.sleep(1500);
  lines.push(`after: RSS ${rssMB(pid)} MB, peak ${rssMB(pid, "VmHWM")} MB`);
  // the floor: a compiled Bun program that does nothing, same Bun, same machine, same moment
  const dir = join("/tmp", `tk-floor-${process.pid}`);
  spawnSync("mkdir", ["-p", dir]);
  writeFileSync(join(dir, "idle.ts"), "setInterval(() => {}, 1000);\n");
  const b = spawnSync(BUN, ["build", "--compile", join(dir, "idle.ts"), "--outfile", join(dir, "idle")], { encoding: "utf8" });
  if (b.status === 0) {
    const p = new Proc([join(dir, "idle")]);
    await Bun.sleep(1000);
    lines.push(`floor (bare compiled Bun, idle): RSS ${rssMB(p.child.pid!)} MB (${rssSplit(p.child.pid!)}; ${smapsSplit(p.child.pid!)})`);
    p.kill("SIGTERM");
    await p.exited;
  }
  // The floor under the same load: the least a Bun TCP relay is (Bun.listen, and per connection
  // one Bun.connect to the proxy, one shared handlers object each side, nothing else), compiled
  // the same way, holding the same n connections (10,000 sockets, as the daemon).
  writeFileSync(join(dir, "relay.ts"), `
const up = { open() {}, data(s, d) { s.data?.write(d); }, close(s) { s.data?.end(); }, error() {}, connectError() {} };
const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: {
  open(s) { Bun.connect({ hostname: ${JSON.stringify(PROXY_V4)}, port: ${SOCKS}, data: s, socket: up }).then((u) => { s.data = u; }, () => s.end()); },
  data(s, d) { s.data?.write(d); }, close(s) { s.data?.end(); }, error() {},
} });
console.log(l.port);
`);
  const r = spawnSync(BUN, ["build", "--compile", "--minify", join(dir, "relay.ts"), "--outfile", join(dir, "relay")], { encoding: "utf8" });
  if (r.status === 0) {
    const p = new Proc([join(dir, "relay")]);
    await p.waitFor(/^\d+/m, 10_000);
    const port = Number(p.out.trim());
    const held: net.Socket[] = [];
    for (let i = 0; i < n; i += 100) {
      const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => new Promise<net.Socket | undefined>((resolve) => {
        const s = net.connect({ host: "127.0.0.1", port });
        s.once("connect", () => resolve(s));
        s.once("error", () => resolve(undefined));
      })));
      for (const s of batch) if (s) held.push(s.on("error", () => {}));
    }
    await Bun.sleep(500);
    const fp = p.child.pid!;
    lines.push(`floor under load (bare compiled Bun relay holding ${held.length}): RSS ${rssMB(fp)} MB, peak ${rssMB(fp, "VmHWM")} MB (${rssSplit(fp)}; ${smapsSplit(fp)})`);
    held.forEach((s) => s.destroy());
    p.kill("SIGTERM");
    await p.exited;
  }
  spawnSync("rm", ["-rf", dir]);
  return lines.join("\n");
}

async function main(): Promise<void> {
  const workload = process.argv[2] ?? "short";
  const daemon = arg("--daemon") ?? "tunkit";
  const n = Number(arg("--n") ?? (workload === "download" ? 1 : 500));
  const prof = arg("--cpu-prof");
  const t = new Topology("prof");
  let d: Proc | undefined;
  try {
    t.up();
    await t.startServer(100 << 20);
    const udp = workload.startsWith("udp") || workload === "download";
    const port = udp ? DANTE : SOCKS;
    if (udp) await t.startDante(DANTE);
    else await t.startMicrosocks(SOCKS);
    const dev = "tkq0";
    if (daemon === "hev") {
      const hev = process.env.HEV_SOCKS5_TUNNEL;
      if (!hev || !existsSync(hev)) throw new Error("set HEV_SOCKS5_TUNNEL=/path/to/hev-socks5-tunnel");
      const conf = join(t.dir, "hev.yml");
      writeFileSync(conf, `tunnel:\n  name: ${dev}\n  mtu: 8500\n  ipv4: 198.18.1.1\nsocks5:\n  port: ${port}\n  address: ${PROXY_V4}\n  udp: 'udp'\nmisc:\n  log-level: error\n  limit-nofile: 65535\n`);
      d = new Proc([hev, conf]);
      t.procs.push(d);
      for (let i = 0; i < 100 && spawnSync("ip", ["link", "show", dev]).status !== 0; i++) await Bun.sleep(50);
      sh("ip", "link", "set", dev, "up");
    } else {
      const args = [...(process.argv.includes("--stats") ? ["--json"] : []), "socks", dev, "--proxy", `socks5://${PROXY_V4}:${port}`, "--address", "198.18.0.1/30"];
      const cmd = daemon === "source"
        ? [BUN, ...(prof ? ["--cpu-prof-md", `--cpu-prof-dir=${prof}`] : []), join(ROOT, "cli/main.ts"), ...args]
        : [arg("--bin") ?? join(root, "dist/tunkit"), ...args];
      const env = Object.fromEntries((arg("--env") ?? "").split(",").filter(Boolean).map((kv) => kv.split("=") as [string, string]));
      d = new Proc(cmd, env);
      t.procs.push(d);
      await d.waitFor(/ready/, 15_000);
    }
    sh("ip", "route", "replace", "198.51.100.0/24", "dev", dev);
    const pid = d.child.pid!;
    // warm up
    if (workload === "download") await curl(["-o", "/dev/null", `http://${SERVER_V4}/mid`]);
    else if (udp) await udpRoundTrips(20, 1);
    else for (let i = 0; i < 20; i++) await shortGet();
    await Bun.sleep(300);
    // The peak of start-up (bundle and code paged in before the daemon drops its clean image
    // pages) is not the workload's: keep it, then reset VmHWM (clear_refs 5) so "peak RSS" below
    // is the workload's own. hev's start-up is a few MB either way.
    const startHwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
    let hwmReset = true;
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, "5");
    } catch {
      hwmReset = false;
    }
    let strace: Proc | undefined;
    let holdReport: string | undefined;
    let perf: Proc | undefined;
    const perfOut = arg("--perf");
    if (perfOut === "syscalls") {
      // counts every system call's number without slowing the daemon the way strace does
      // every call's name too (syscalls:sys_enter_*), and the signals taken (signal_deliver)
      perf = new Proc(["perf", "stat", "-e", "raw_syscalls:sys_enter", "-e", "syscalls:sys_enter_*", "-e", "signal:signal_deliver", "-p", String(pid)]);
      await Bun.sleep(500);
    } else if (perfOut) {
      perf = new Proc(["perf", "record", "-F", "1999", "-g", "-p", String(pid), "-o", perfOut]);
      await Bun.sleep(500);
    }
    if (process.argv.includes("--strace")) {
      strace = new Proc(["strace", "-c", "-f", "-p", String(pid)]);
      await Bun.sleep(500);
    }
    const straceLog = arg("--strace-log");
    if (straceLog) {
      // every call of every thread with its time and result, for reading one connection's sequence
      strace = new Proc(["strace", "-f", "-tt", "-o", straceLog, "-p", String(pid)]);
      await Bun.sleep(500);
    }
    const c0 = cpuTicks(pid);
    const n0 = readCpu(pid, true);
    const t0 = performance.now();
    if (workload === "short") for (let i = 0; i < n; i++) await shortGet();
    else if (workload === "download") for (let i = 0; i < n; i++) await curl(["-o", "/dev/null", `http://${SERVER_V4}/big`], 120);
    else if (workload === "udp") await udpRoundTrips(n, 1);
    else if (workload === "udp-flows") await udpRoundTrips(n, n);
    else if (workload === "hold") {
      // --short-first N: a daemon with a history (as bench/proxy.ts's, which ran its short-connection rounds first)
      const first = Number(arg("--short-first") ?? 0);
      for (let i = 0; i < first; i++) await shortGet();
      holdReport = await holdMany(n, pid, d);
    }
    else throw new Error(`unknown workload "${workload}": short, download, udp, udp-flows`);
    const ms = performance.now() - t0;
    await Bun.sleep(200);
    const c1 = cpuTicks(pid);
    const n1 = readCpu(pid, true);
    // user/sys split from the 10 ms ticks; the total from every thread's run time in ns
    const user = (c1[0] - c0[0]) / 100;
    const sys = (c1[1] - c0[1]) / 100;
    const byThread = cpuByThread(n0, n1);
    const { seconds: cpu, lost } = cpuBetween(n0, n1);
    const unit = workload === "download" ? n * 100 : n;
    const what = workload === "download" ? "MiB" : workload.startsWith("udp") ? "round trips" : "connections";
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
    const envText = arg("--env") ? ` (${arg("--env")})` : "";
    console.log(`${daemon}${envText} ${workload}: peak RSS ${(Number(hwm) / 1024).toFixed(1)} MB${hwmReset ? ` during the workload (start-up and warm-up peak ${startHwm.toFixed(1)} MB)` : " since start"}; ${unit} ${what} in ${(ms / 1000).toFixed(2)} s; daemon CPU ${cpu.toFixed(3)} s = ${((cpu * 1e6) / unit).toFixed(0)} us per ${what.replace(/s$/, "")} (every thread, schedstat ns; from ticks: user ${((user * 1e6) / unit).toFixed(0)}, sys ${((sys * 1e6) / unit).toFixed(0)}); load ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
    const unitName = what.replace(/s$/, "");
    console.log(`daemon CPU by thread (us per ${unitName}): ${byThread.slice(0, 8).map(([k, v]) => `${k} ${((v * 1e6) / unit).toFixed(0)}`).join(", ")}${lost ? "; a thread exited meanwhile (the total is from ticks if they say more)" : ""}`);
    if (holdReport) console.log(holdReport);
    else if (daemon !== "hev") {
      // what the peak is made of (freed pages stay resident 250 ms on the Bun relay, mimalloc's
      // own default on the splice relay: RSS now is below the peak by what was given back since)
      let heap = "";
      if (process.env.TUNKIT_HEAP_REPORT) {
        const before = d.err.length;
        process.kill(pid, "SIGUSR2");
        for (let i = 0; i < 50 && !d.err.slice(before).includes('{"heap"'); i++) await Bun.sleep(100);
        heap = d.err.slice(before).trim();
      }
      console.log(`after: RSS ${rssMB(pid)} MB (${rssSplit(pid)}; ${smapsSplit(pid)}) ${heap}`);
    }
    if (perf) {
      perf.kill("SIGINT");
      await perf.exited;
      if (perfOut === "syscalls") {
        const m = /([\d,]+)\s+raw_syscalls:sys_enter/.exec(perf.err);
        const byName = [...perf.err.matchAll(/([\d,]+)\s+(?:syscalls:sys_enter_|signal:)(\w+)/g)]
          .map((x) => [x[2]!, Number(x[1]!.replace(/,/g, "")) / unit] as const)
          .filter(([, v]) => v >= 0.05)
          .sort((a, b) => b[1] - a[1]);
        if (m) console.log(`system calls: ${(Number(m[1]!.replace(/,/g, "")) / unit).toFixed(1)} per ${what.replace(/s$/, "")} (${byName.map(([k, v]) => `${k} ${v.toFixed(2)}`).join(", ")})`);
        else console.log(perf.err);
      }
    }
    if (strace) {
      strace.kill("SIGINT");
      await strace.exited;
      if (straceLog) console.log(`strace log: ${straceLog}`);
      const lines = strace.err.split("\n").filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l));
      console.log("syscall per unit (calls / unit, errors)");
      for (const l of lines) {
        const f = l.trim().split(/\s+/);
        const calls = Number(f[3]);
        const hasErr = f.length === 6;
        const name = f[hasErr ? 5 : 4];
        console.log(`  ${name!.padEnd(18)} ${(calls / unit).toFixed(2).padStart(8)}${hasErr ? `  (${f[4]} errors)` : ""}`);
      }
    }
  } finally {
    if (d) {
      d.kill("SIGTERM");
      await Promise.race([d.exited, Bun.sleep(5000)]);
      if (daemon !== "hev" && process.argv.includes("--stats")) console.log(`daemon: ${d.out.trim()} ${d.err.trim()}`);
    }
    await t.down();
  }
}

if (import.meta.main && !reexecInNetns()) await main();
