// bench/wg.ts: throughput of tunkit wg vs wireguard-go, same topology, interleaved.
//
// Host B always runs wireguard-go. Host A runs either `tunkit wg up` (dist/tunkit when built,
// else the sources under bun: the row says which) or wireguard-go. iperf3 -c from A to B through
// the tunnel, 1 and 4 TCP streams, both directions (-R). CPU seconds per GiB of A's WireGuard
// process (utime + stime from /proc). Also: handshake completion time (first ping through a fresh
// tunnel) and idle CPU with a persistent keepalive of 1 s.
//
// Usage: bun bench/wg.ts [--rounds N] [--seconds S] [--json]   (root; makes its own namespaces)
import { existsSync, mkdtempSync, writeFileSync, chmodSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { spawnSync } from "node:child_process";
import { twoHosts, teardown, until, type Host } from "../tests/fixtures/wg/topology.ts";

const args = process.argv.slice(2);
const opt = (name: string, d: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : d;
};
const ROUNDS = opt("--rounds", 3);
const SECONDS = opt("--seconds", 5);
const JSON_OUT = args.includes("--json");
const root = resolve(import.meta.dir, "..");
const dist = join(root, "dist/tunkit");
const tunkit = existsSync(dist) ? [dist] : [process.execPath, join(root, "cli/main.ts")];
const tunkitLabel = existsSync(dist) ? "dist/tunkit" : "bun cli/main.ts";
const dir = mkdtempSync(join(tmpdir(), "tkwgb-"));

const key = () => {
  const priv = spawnSync("wg", ["genkey"], { encoding: "utf8" }).stdout.trim();
  const pub = spawnSync("wg", ["pubkey"], { input: priv, encoding: "utf8" }).stdout.trim();
  return { priv, pub };
};
const kA = key(), kB = key();

function conf(me: { priv: string }, port: number, peer: { pub: string }, peerEp: string, peerIp: string, extra: string[] = []): string {
  return ["[Interface]", `PrivateKey = ${me.priv}`, `ListenPort = ${port}`, "", "[Peer]", `PublicKey = ${peer.pub}`, `AllowedIPs = ${peerIp}/32`, `Endpoint = ${peerEp}`, ...extra].join("\n") + "\n";
}

function cpuTicks(h: Host, pid: number): number {
  const st = h.try("cat", `/proc/${pid}/stat`).stdout;
  const f = st.slice(st.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

async function main(): Promise<void> {
  const { a, b } = await twoHosts(`${process.pid % 100000}b`);
  const confB = join(dir, "wgb.conf");
  writeFileSync(confB, conf(kB, 51821, kA, "192.0.2.1:51820", "10.9.0.1"));
  b.start("wireguard-go", ["-f", "wgb"]);
  await until(() => b.try("test", "-S", "/run/wireguard/wgb.sock").status === 0, 10_000, "wireguard-go on B");
  b.sh("wg", "setconf", "wgb", confB);
  b.sh("ip", "addr", "add", "10.9.0.2/24", "dev", "wgb");
  b.sh("ip", "link", "set", "wgb", "mtu", "1420", "up");
  const iperfServer = b.start("iperf3", ["-s", "-B", "10.9.0.2"]);
  void iperfServer;
  const confA = join(dir, "wga.conf");
  writeFileSync(confA, ["[Interface]", `PrivateKey = ${kA.priv}`, "ListenPort = 51820", "Address = 10.9.0.1/24", "", "[Peer]", `PublicKey = ${kB.pub}`, "AllowedIPs = 10.9.0.2/32", "Endpoint = 192.0.2.2:51821"].join("\n") + "\n");
  chmodSync(confA, 0o600);

  type Impl = "tunkit" | "wireguard-go";
  let pidA = 0;
  async function upA(impl: Impl): Promise<number> {
    const t0 = performance.now();
    if (impl === "tunkit") {
      a.sh(...(tunkit as [string]), "wg", "up", "wga", "--config", confA);
      pidA = Number(a.sh("sh", "-c", `for p in /proc/[0-9]*; do if grep -q "wg" $p/cmdline 2>/dev/null && grep -qa -- "--foreground" $p/cmdline; then basename $p; fi; done | head -1`).trim());
    } else {
      const c = a.start("wireguard-go", ["-f", "wga"]);
      pidA = c.pid!;
      await until(() => a.try("test", "-S", "/run/wireguard/wga.sock").status === 0, 10_000, "wireguard-go on A");
      a.sh("wg", "setconf", "wga", join(dir, "wga-go.conf"));
      a.sh("ip", "addr", "add", "10.9.0.1/24", "dev", "wga");
      a.sh("ip", "link", "set", "wga", "mtu", "1420", "up");
    }
    await until(() => a.try("ping", "-c", "1", "-W", "1", "10.9.0.2").status === 0, 20_000, "first ping");
    return performance.now() - t0;
  }
  writeFileSync(join(dir, "wga-go.conf"), conf(kA, 51820, kB, "192.0.2.2:51821", "10.9.0.2"));
  function downA(impl: Impl): void {
    if (impl === "tunkit") a.try(...(tunkit as [string]), "wg", "down", "wga");
    else {
      a.try("rm", "-f", "/run/wireguard/wga.sock");
      a.try("ip", "link", "del", "wga");
    }
    b.try("wg", "set", "wgb", "peer", kA.pub, "endpoint", "192.0.2.1:51820"); // forget sessions? (handshake redone on demand)
  }
  function iperf(streams: number, reverse: boolean): { mbps: number; cpuPerGiB: number } {
    const c0 = cpuTicks(a, pidA);
    const r = a.sh("iperf3", "-c", "10.9.0.2", "-t", String(SECONDS), "-P", String(streams), "-J", ...(reverse ? ["-R"] : []));
    const c1 = cpuTicks(a, pidA);
    const j = JSON.parse(r);
    const bytes = j.end.sum_received.bytes as number;
    return { mbps: (j.end.sum_received.bits_per_second as number) / 1e6, cpuPerGiB: (c1 - c0) / 100 / (bytes / 2 ** 30) };
  }
  const rows = new Map<string, { tunkit: number[]; ref: number[]; cpuT: number[]; cpuR: number[] }>();
  const hs: Record<Impl, number[]> = { tunkit: [], "wireguard-go": [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const impl of (round % 2 ? ["wireguard-go", "tunkit"] : ["tunkit", "wireguard-go"]) as Impl[]) {
      hs[impl].push(await upA(impl));
      for (const [streams, reverse] of [[1, false], [4, false], [1, true], [4, true]] as const) {
        const name = `iperf3 TCP ${streams} stream${streams > 1 ? "s" : ""} ${reverse ? "B->A (tunkit receives)" : "A->B (tunkit sends)"}`;
        const row = rows.get(name) ?? { tunkit: [], ref: [], cpuT: [], cpuR: [] };
        rows.set(name, row);
        const r = iperf(streams, reverse);
        (impl === "tunkit" ? row.tunkit : row.ref).push(r.mbps);
        (impl === "tunkit" ? row.cpuT : row.cpuR).push(r.cpuPerGiB);
      }
      if (impl === "tunkit" && round === 0) {
        // Idle CPU with a persistent keepalive of 1 s: 10 s of nothing.
        a.sh("wg", "set", "wga", "peer", kB.pub, "persistent-keepalive", "1");
        const c0 = cpuTicks(a, pidA);
        await new Promise((r) => setTimeout(r, 10_000));
        const idle = (cpuTicks(a, pidA) - c0) / 100 / 10;
        rows.set("idle CPU, persistent keepalive 1 s (% of a core)", { tunkit: [idle * 100], ref: [], cpuT: [], cpuR: [] });
        a.sh("wg", "set", "wga", "peer", kB.pub, "persistent-keepalive", "0");
      }
      downA(impl);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const med = (xs: number[]) => (xs.length ? [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]! : NaN);
  const out: Array<Record<string, unknown>> = [];
  for (const [name, r] of rows) {
    out.push({ name, tunkit: +med(r.tunkit).toFixed(2), reference: r.ref.length ? +med(r.ref).toFixed(1) : null, ratio: r.ref.length ? +(med(r.tunkit) / med(r.ref)).toFixed(2) : null, unit: r.ref.length ? "Mbit/s" : "%", cpuSPerGiB: r.cpuT.length ? { tunkit: +med(r.cpuT).toFixed(2), "wireguard-go": +med(r.cpuR).toFixed(2) } : undefined });
  }
  out.push({ name: "handshake + first ping through a fresh tunnel (incl. start-up)", tunkit: +med(hs.tunkit).toFixed(0), reference: +med(hs["wireguard-go"]).toFixed(0), ratio: +(med(hs["wireguard-go"]) / med(hs.tunkit)).toFixed(2), unit: "ms" });
  if (JSON_OUT) for (const o of out) console.log(JSON.stringify(o));
  else {
    console.log(`tunkit = ${tunkitLabel} on A; reference = wireguard-go on A; wireguard-go on B in both; ${ROUNDS} interleaved rounds of ${SECONDS} s, medians`);
    for (const o of out) console.log(`${o.name}: tunkit ${o.tunkit} vs ${o.reference} ${o.unit}, ratio ${o.ratio}${o.cpuSPerGiB ? `, CPU s/GiB ${JSON.stringify(o.cpuSPerGiB)}` : ""}`);
  }
}

try {
  await main();
} finally {
  teardown();
}
void readFileSync;
