/**
 * tunkit wg against wireguard-go, same topology, interleaved. Two private hosts joined by a veth
 * (tests/fixtures/wg/topology.ts); host B always runs wireguard-go; host A runs either
 * `dist/tunkit wg up` (the compiled binary, as users run it; built first when missing) or
 * wireguard-go + `wg setconf`, alternating which goes first each round. Medians of the rounds.
 * Every WireGuard process puts itself in the background as it does for users (both stay in
 * the caller's session: on this shared machine a process alone in a scheduling autogroup got
 * half the throughput, so that must be the same for both).
 *
 * Rows (ratios > 1 mean tunkit is better):
 * - iperf3 TCP, 1 and 4 streams, A->B (A sends: tun -> encrypt -> UDP) and B->A (A receives),
 *   Mbit/s; CPU seconds per GiB of A's WireGuard process (utime + stime of all its threads).
 * - handshake completion: A's peer is removed and re-added through `wg set` (no session), then
 *   one ping; ping's own RTT of that first reply (it waits for the handshake), median of trials.
 * - handshakes per second under a flood: bench/wg-flood-child.ts in B floods A with valid
 *   initiations from 128 peers over 32 addresses, honouring cookie replies; handshake
 *   responses per second.
 * - idle CPU with a persistent keepalive of 1 s, % of a core over 10 s.
 *
 * `--ref BIN`: an A/B of two tunkit binaries instead (host A runs dist/tunkit or BIN, e.g. main's
 * /work/wt/_tk_main10, interleaved the same way; the reference column is BIN). `--only tput`:
 * just the iperf3 rows.
 *
 *   bun bench/wg.ts [--rounds N] [--seconds S] [--ref BIN] [--only tput] [--json]    (root; makes its own namespaces)
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawn, spawnSync } from "node:child_process";
import { twoHosts, teardown, until, type Host } from "../tests/fixtures/wg/topology.ts";
import { median, print, reexecInNetns, root, row, type Row } from "./lib.ts";

/** "tunkit" (dist/tunkit), "ref" (--ref BIN) or "wireguard-go". */
type Impl = "tunkit" | "ref" | "wireguard-go";
const STREAMS = [
  { streams: 1, reverse: false },
  { streams: 4, reverse: false },
  { streams: 1, reverse: true },
  { streams: 4, reverse: true },
] as const;

function key(): { priv: string; pub: string } {
  const priv = spawnSync("wg", ["genkey"], { encoding: "utf8" }).stdout.trim();
  const pub = spawnSync("wg", ["pubkey"], { input: priv, encoding: "utf8" }).stdout.trim();
  return { priv, pub };
}

/** utime + stime of a process and all its threads, in seconds. */
function cpuSeconds(pid: number): number {
  const st = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** dist/tunkit, built when missing. */
function tunkitBinary(): string {
  const bin = join(root, "dist/tunkit");
  if (!existsSync(bin)) {
    const r = spawnSync(process.execPath, [join(root, "scripts/build.ts")], { stdio: "inherit" });
    if (r.status !== 0 || !existsSync(bin)) throw new Error("building dist/tunkit failed");
  }
  return bin;
}

export default async function wgBench(opts: { rounds?: number; seconds?: number; ref?: string; tputOnly?: boolean } = {}): Promise<Row[]> {
  for (const bin of ["wireguard-go", "wg", "iperf3", "nsenter"]) {
    if (spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0) throw new Error(`bench/wg.ts needs ${bin} (apt-get install wireguard-go wireguard-tools iperf3 util-linux)`);
  }
  const rounds = opts.rounds ?? 5;
  const secs = opts.seconds ?? 5;
  const tunkit = tunkitBinary();
  const ref = opts.ref;
  if (ref && !existsSync(ref)) throw new Error(`--ref ${ref}: no such file`);
  /** The column compared against: wireguard-go, or the other tunkit binary. */
  const other: Impl = ref ? "ref" : "wireguard-go";
  const otherName = ref ? `ref (${ref})` : "wireguard-go";
  const dir = mkdtempSync(join(tmpdir(), "tkwgb-"));
  const kA = key(), kB = key();
  const { a, b } = await twoHosts(`${process.pid % 100000}b`);
  try {
    // B: wireguard-go, the same in every round.
    writeFileSync(join(dir, "b.conf"), `[Interface]\nPrivateKey = ${kB.priv}\nListenPort = 51821\n\n[Peer]\nPublicKey = ${kA.pub}\nAllowedIPs = 10.9.0.1/32\nEndpoint = 192.0.2.1:51820\n`);
    b.sh("wireguard-go", "wgb"); // backgrounds itself, as users run it
    await until(() => b.try("test", "-S", "/run/wireguard/wgb.sock").status === 0, 30_000, "wireguard-go on B");
    b.sh("wg", "setconf", "wgb", join(dir, "b.conf"));
    b.sh("ip", "addr", "add", "10.9.0.2/24", "dev", "wgb");
    b.sh("ip", "link", "set", "wgb", "mtu", "1420", "up");
    b.start("iperf3", ["-s", "-B", "10.9.0.2"]);
    for (let i = 0; i < 32; i++) b.sh("ip", "addr", "add", `192.0.2.${100 + i}/24`, "dev", "eth0");
    // A: the same settings both ways.
    const confA = join(dir, "a.conf");
    writeFileSync(confA, `[Interface]\nPrivateKey = ${kA.priv}\nListenPort = 51820\nAddress = 10.9.0.1/24\n\n[Peer]\nPublicKey = ${kB.pub}\nAllowedIPs = 10.9.0.2/32\nEndpoint = 192.0.2.2:51821\n`);
    chmodSync(confA, 0o600);
    writeFileSync(join(dir, "a-go.conf"), `[Interface]\nPrivateKey = ${kA.priv}\nListenPort = 51820\n\n[Peer]\nPublicKey = ${kB.pub}\nAllowedIPs = 10.9.0.2/32\nEndpoint = 192.0.2.2:51821\n`);

    const upA = async (impl: Impl): Promise<number> => {
      // Both as users run them: each puts itself in the background, in the caller's session.
      if (impl !== "wireguard-go") {
        a.sh(impl === "ref" ? ref! : tunkit, "wg", "up", "wga", "--config", confA);
      } else {
        a.sh("wireguard-go", "wga");
        await until(() => a.try("test", "-S", "/run/wireguard/wga.sock").status === 0, 30_000, "wireguard-go on A");
        a.sh("wg", "setconf", "wga", join(dir, "a-go.conf"));
        a.sh("ip", "addr", "add", "10.9.0.1/24", "dev", "wga");
        a.sh("ip", "link", "set", "wga", "mtu", "1420", "up");
      }
      await until(() => a.try("ping", "-c", "1", "-W", "2", "10.9.0.2").status === 0, 60_000, `${impl} on A: first ping`);
      // The process that holds A's UDP port is the one to measure.
      const ss = a.sh("ss", "-Hulpn", "sport = :51820");
      const pid = Number(/pid=(\d+)/.exec(ss)?.[1]);
      if (!pid) throw new Error(`no process on A's port 51820: ${ss}`);
      return pid;
    };
    const downA = async (impl: Impl): Promise<void> => {
      if (impl !== "wireguard-go") a.sh(impl === "ref" ? ref! : tunkit, "wg", "down", "wga");
      else a.sh("ip", "link", "del", "wga"); // wireguard-go exits when its tun goes
      await until(() => a.try("ip", "link", "show", "wga").status !== 0 && !a.sh("ss", "-Hulpn", "sport = :51820").trim(), 30_000, "A's interface to go");
    };

    const tput = new Map<string, Record<Impl, { mbps: number[]; cpu: number[] }>>();
    const hs: Record<Impl, number[]> = { tunkit: [], ref: [], "wireguard-go": [] };
    const flood: Record<Impl, number[]> = { tunkit: [], ref: [], "wireguard-go": [] };
    const idle: Record<Impl, number[]> = { tunkit: [], ref: [], "wireguard-go": [] };
    for (let r = 0; r < rounds; r++) {
      const order: Impl[] = r % 2 ? [other, "tunkit"] : ["tunkit", other];
      for (const impl of order) {
        const pid = await upA(impl);
        for (const t of STREAMS) {
          const name = `iperf3 TCP ${t.streams} stream${t.streams > 1 ? "s" : ""} ${t.reverse ? "B->A (A receives)" : "A->B (A sends)"}`;
          const c0 = cpuSeconds(pid);
          const out = a.sh("iperf3", "-c", "10.9.0.2", "-t", String(secs), "-P", String(t.streams), "-J", ...(t.reverse ? ["-R"] : []));
          const c1 = cpuSeconds(pid);
          const j = JSON.parse(out);
          const e = tput.get(name) ?? { tunkit: { mbps: [], cpu: [] }, ref: { mbps: [], cpu: [] }, "wireguard-go": { mbps: [], cpu: [] } };
          tput.set(name, e);
          e[impl].mbps.push(j.end.sum_received.bits_per_second / 1e6);
          e[impl].cpu.push((c1 - c0) / (j.end.sum_received.bytes / 2 ** 30));
        }
        if (!opts.tputOnly) {
          idle[impl].push(await idleCpu(a, pid, kB.pub));
          hs[impl].push(handshakeRtt(a, kB.pub));
          flood[impl].push(await floodRate(a, b, kA.pub, dir));
        }
        await downA(impl);
      }
    }
    const rows: Row[] = [];
    for (const [name, e] of tput) {
      const cpuT = median(e.tunkit.cpu), cpuG = median(e[other].cpu);
      const spread = (v: number[]) => `${Math.min(...v).toFixed(0)}-${Math.max(...v).toFixed(0)}`;
      rows.push(row(name, median(e.tunkit.mbps), median(e[other].mbps), "Mbit/s", true, `spread tunkit ${spread(e.tunkit.mbps)} vs ${spread(e[other].mbps)}; CPU s/GiB tunkit ${cpuT.toFixed(1)} vs ${other} ${cpuG.toFixed(1)}`));
      rows.push(row(`${name}, CPU per GiB`, cpuT, cpuG, "s/GiB", false));
    }
    if (!opts.tputOnly) {
      rows.push(row("handshake + first ping RTT, fresh session (wg set peer remove / re-add)", median(hs.tunkit), median(hs[other]), "ms", false));
      rows.push(row("handshakes/s under a flood (128 peers, 32 addresses, cookies honoured)", median(flood.tunkit), median(flood[other]), "1/s", true));
      rows.push(row("idle CPU, persistent keepalive 1 s", median(idle.tunkit), median(idle[other]), "% of a core", false));
    }
    for (const r of rows) r.note = `${r.note ? r.note + "; " : ""}${rounds} interleaved rounds, A = dist/tunkit vs ${otherName}, B = wireguard-go`;
    return rows;
  } finally {
    teardown();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Median RTT (ms, ping's own) of the first ping after A's peer lost its session, 5 trials. */
function handshakeRtt(a: Host, peerB: string): number {
  const out: number[] = [];
  for (let i = 0; i < 5; i++) {
    a.sh("wg", "set", "wga", "peer", peerB, "remove");
    a.sh("wg", "set", "wga", "peer", peerB, "allowed-ips", "10.9.0.2/32", "endpoint", "192.0.2.2:51821");
    const p = a.try("ping", "-c", "1", "-W", "10", "10.9.0.2");
    const m = /time=([\d.]+) ms/.exec(p.stdout);
    if (!m) throw new Error(`no reply through a fresh session: ${p.stdout}${p.stderr}`);
    out.push(Number(m[1]));
  }
  return median(out);
}

/** Handshake responses per second to bench/wg-flood-child.ts running in B. */
async function floodRate(a: Host, b: Host, pubA: string, dir: string): Promise<number> {
  const sources = Array.from({ length: 32 }, (_, i) => `192.0.2.${100 + i}`);
  // stdin piped: the child waits for a line before it floods.
  const child = spawn(b.enter[0]!, [...b.enter.slice(1), process.execPath, join(root, "bench/wg-flood-child.ts"), pubA, "192.0.2.1", "51820", "128", "3", ...sources], { stdio: ["pipe", "pipe", "pipe"] });
  const killer = setTimeout(() => child.kill("SIGKILL"), 180_000);
  let out = "";
  let err = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (err += d));
  const exited = new Promise((r) => child.once("exit", r));
  await until(() => out.includes("\n"), 60_000, "the flood's keys");
  const keys = (JSON.parse(out.split("\n")[0]!) as { publicKeys: string[] }).publicKeys;
  const conf = join(dir, "flood.conf");
  writeFileSync(conf, keys.map((k, i) => `[Peer]\nPublicKey = ${k}\nAllowedIPs = 10.200.${i >> 8}.${i & 255}/32\n`).join("\n"));
  a.sh("wg", "addconf", "wga", conf);
  child.stdin!.write("go\n");
  await exited;
  clearTimeout(killer);
  const lines = out.trim().split("\n");
  const res = JSON.parse(lines[lines.length - 1]!) as { handshakesPerSecond: number };
  if (typeof res.handshakesPerSecond !== "number") throw new Error(`flood: ${out}${err}`);
  a.sh("wg", "set", "wga", ...keys.flatMap((k) => ["peer", k, "remove"]));
  return res.handshakesPerSecond;
}

/** % of a core A's process uses over 10 s with a persistent keepalive of 1 s and no traffic. */
async function idleCpu(a: Host, pid: number, peerB: string): Promise<number> {
  a.sh("wg", "set", "wga", "peer", peerB, "persistent-keepalive", "1");
  await new Promise((r) => setTimeout(r, 2000));
  const c0 = cpuSeconds(pid);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, 10_000));
  const pct = ((cpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000)) * 100;
  a.sh("wg", "set", "wga", "peer", peerB, "persistent-keepalive", "0");
  return pct;
}

if (import.meta.main && !reexecInNetns()) {
  const args = process.argv.slice(2);
  const num = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : undefined;
  };
  const str = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const rows = await wgBench({ rounds: num("--rounds"), seconds: num("--seconds"), ref: str("--ref"), tputOnly: str("--only") === "tput" });
  print(rows, args.includes("--json"));
}
