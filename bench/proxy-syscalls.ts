/**
 * Syscalls and SIGIO wake-ups of `tunkit socks` per unit of work, by `strace -f -c` attached to
 * the daemon: per MB of a 100 MiB download, per MB of an iperf3 TCP 8-stream run, per short
 * connection (sequential). Counts, not times (strace slows the daemon, so a bulk run under it
 * batches more than without; compare builds or settings under the same conditions, never
 * these counts with an unstraced run). `rt_sigreturn` is the number of signals the daemon took.
 *
 *   bun bench/proxy-syscalls.ts [BIN...] [--conns N] [--short]    (BIN default dist/tunkit; several: each in turn)
 *
 * With HEV_SOCKS5_TUNNEL=/path/to/hev-socks5-tunnel, hev runs the same workloads after the
 * tunkit binaries, traced the same way (the reference, side by side). `--short`: the
 * short connections alone. What it showed (300 sequential short connections, microsocks, two
 * runs): tunkit 68-69 system calls per connection against hev's 40-45. Per
 * connection tunkit reads the tun ~10 times with a packet and ~4.3 times empty (EAGAIN: the end
 * of each burst and the recheck one loop turn later), writes it ~10 times (every segment of
 * both kernel connections crosses the tun twice: the client's to the listener and back), and
 * arms the tun's wake-up twice (fcntl O_ASYNC on + poll, and off again on a kick: 4.3 fcntl, 2.1
 * poll); Bun's sockets add 7 epoll_ctl, 5 setsockopt (TCP_NODELAY twice on the proxy socket,
 * once on the accepted one, TCP_CORK on close), an accept4 that ends in EAGAIN and a
 * getpeername. hev: ~5 tun reads with a packet (1-2 empty), ~6 writes, 8-11 epoll_wait, 2 epoll_ctl.
 * strace slows the daemon, so its bursts merge: unslowed (bench/proxy-profile.ts short --perf
 * syscalls) tunkit makes 76-80 calls per connection, 6-7 of them empty tun reads, 6-7 fcntl and
 * 3-3.4 poll (3.4 waits armed per connection) and 1-1.5 SIGIO taken; TUNKIT_TUN_RECHECK=0 saves
 * 2.6 empty reads but adds 0.9 loop turns and 0.35 signals (76.1 against 79.3).
 *
 * The topology is bench/proxy.ts's: client namespace with the tun, dante (bulk) and microsocks
 * (short connections) in the proxy namespace, the server behind it. Environment variables pass
 * through to the daemons (TUNKIT_POLLER, TUNKIT_TUN_RECHECK, …).
 */
import net from "node:net";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Topology, Proc, curl, sh, SERVER_V4, PROXY_V4 } from "../tests/fixtures/proxy/topology.ts";
import { reexecInNetns, root } from "./lib.ts";

/** The label of hev's turn among the binaries. */
const HEV = "hev-socks5-tunnel";
const REQUEST = Buffer.from(`GET /small HTTP/1.1\r\nHost: ${SERVER_V4}\r\nConnection: close\r\n\r\n`);

function request(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: SERVER_V4, port: 80 });
    let got = 0;
    s.on("data", (d: Uint8Array) => (got += d.length));
    s.on("error", reject);
    s.on("end", () => s.end());
    s.on("close", () => (got > 0 ? resolve() : reject(new Error("empty response"))));
    s.write(REQUEST);
  });
}

/** Runs `work` with strace attached to `pid`; returns syscall counts by name. */
async function traced(pid: number, work: () => Promise<void>): Promise<Map<string, number>> {
  const st = spawn("strace", ["-f", "-c", "-U", "name,calls", "-p", String(pid)], { stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  st.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  await Bun.sleep(500); // attached
  await work();
  await Bun.sleep(200);
  st.kill("SIGINT");
  await new Promise((r) => st.on("close", r)); // its table read to the end, not just its exit
  const counts = new Map<string, number>();
  for (const line of err.split("\n")) {
    const m = /^\s*(\w+)\s+(\d+)\s*$/.exec(line);
    if (m && m[1] !== "total") counts.set(m[1]!, Number(m[2]));
  }
  return counts;
}

function summary(label: string, counts: Map<string, number>, units: number, unit: string): void {
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (total === 0) return console.log(`${label}: strace reported nothing (did it attach?): run it again`);
  const top = [...counts].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([k, v]) => `${k} ${(v / units).toFixed(2)}`).join(", ");
  console.log(`${label}: ${(total / units).toFixed(2)} syscalls ${unit}, SIGIO taken ${((counts.get("rt_sigreturn") ?? 0) / units).toFixed(2)} ${unit} (${top})`);
}

if (import.meta.main && !reexecInNetns()) {
  const args = process.argv.slice(2);
  const ci = args.indexOf("--conns");
  const conns = ci >= 0 ? Number(args.splice(ci, 2)[1]) : 300;
  const shortOnly = args.includes("--short");
  if (shortOnly) args.splice(args.indexOf("--short"), 1);
  const bins = args.length ? args : [join(root, "dist/tunkit")];
  const hev = process.env.HEV_SOCKS5_TUNNEL;
  if (hev && !existsSync(hev)) throw new Error(`HEV_SOCKS5_TUNNEL=${hev} does not exist`);
  if (hev) bins.push(HEV);
  const t = new Topology("sys");
  try {
    t.up();
    await t.startServer(100 << 20);
    await t.startMicrosocks(1080);
    await t.startDante(1082);
    t.spawnIn(t.sv, ["iperf3", "-s", "-B", SERVER_V4]);
    for (const [i, bin] of bins.entries()) {
      for (const [port, what] of [[1082, "bulk"], [1080, "short"]] as const) {
        if (shortOnly && what !== "short") continue;
        const dev = `tks${i}${port % 10}`;
        const addr = `198.18.${i * 2 + (port % 2)}.1`;
        let p: Proc;
        if (bin === HEV) {
          const conf = join(t.dir, `hev-${dev}.yml`);
          writeFileSync(conf, `tunnel:\n  name: ${dev}\n  mtu: 8500\n  ipv4: ${addr}\nsocks5:\n  port: ${port}\n  address: ${PROXY_V4}\n  udp: 'udp'\nmisc:\n  log-level: error\n  limit-nofile: 65535\n`);
          p = new Proc([hev!, conf]);
          t.procs.push(p);
          for (let k = 0; k < 100 && spawnSync("ip", ["link", "show", dev]).status !== 0; k++) await Bun.sleep(50);
          sh("ip", "link", "set", dev, "up");
        } else {
          p = new Proc([bin, "socks", dev, "--proxy", `socks5://${PROXY_V4}:${port}`, "--address", `${addr}/30`]);
          t.procs.push(p);
          await p.waitFor(/ready/, 15_000);
        }
        sh("ip", "route", "replace", "198.51.100.0/24", "dev", dev);
        const pid = p.child.pid!;
        for (let k = 0; k < 10; k++) await request(); // warm
        if (what === "bulk") {
          await curl(["-o", "/dev/null", `http://${SERVER_V4}/big`], 60); // warm
          const dl = await traced(pid, async () => void (await curl(["-o", "/dev/null", `http://${SERVER_V4}/big`], 120)));
          summary(`${bin} download 100 MiB`, dl, 104.8576, "per MB");
          let mb = 0;
          const ip = await traced(pid, async () => {
            const q = new Proc(["iperf3", "-c", SERVER_V4, "-t", "3", "-P", "8", "-J"]);
            await q.exited;
            mb = (JSON.parse(q.out).end.sum_received.bytes as number) / 1e6;
          });
          summary(`${bin} iperf3 8 streams (${mb.toFixed(0)} MB)`, ip, mb, "per MB");
        } else {
          const sc = await traced(pid, async () => {
            for (let k = 0; k < conns; k++) await request();
          });
          summary(`${bin} ${conns} short connections`, sc, conns, "per connection");
        }
        p.kill("SIGTERM");
        await Promise.race([p.exited, Bun.sleep(3000)]);
      }
    }
  } finally {
    await t.down();
  }
}
