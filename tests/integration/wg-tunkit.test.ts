// tunkit wg on both ends of the tunnel (tests/fixtures/wg/topology.ts: two private hosts joined
// by a veth), so the offloads meet themselves: TSO super-packets read from A's tun and cut, sent
// as UDP GSO messages, received by B's socket as UDP GRO trains, coalesced again (TCP GRO) into
// B's tun. The counters of the tuns and the veth show each offload was used; the hashes show
// nothing was lost or changed. Then one side without offloads (TUNKIT_WG_OFFLOAD=none).
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { writeFileSync, mkdtempSync, chmodSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { needing } from "./_ns.ts";
import { twoHosts, teardown, until, type Host } from "../fixtures/wg/topology.ts";
import { counters, genkey, transfer } from "../fixtures/wg/peers.ts";

const { ptest, ready } = needing("wg tunkit<->tunkit", ["wg", "nsenter"], "wireguard-tools util-linux");
const root = resolve(import.meta.dir, "../..");
const tunkit = [process.execPath, join(root, "cli/main.ts")] as const;
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), "tkwgt-"));

afterAll(() => {
  teardown();
  rmSync(dir, { recursive: true, force: true });
});

describe("tunkit wg <-> tunkit wg", () => {
  let a: Host, b: Host;
  const kA = genkey(), kB = genkey();
  const confA = join(dir, "a.conf");
  const confB = join(dir, "b.conf");

  function up(h: Host, iface: string, conf: string, env: Record<string, string> = {}): void {
    const r = Bun.spawnSync([...h.enter, ...tunkit, "wg", "up", iface, "--config", conf], { env: { ...process.env, ...env }, timeout: 60_000 });
    if (r.exitCode !== 0) throw new Error(`tunkit wg up ${iface}: ${r.exitCode} ${r.stderr}`);
  }
  const ping = (h: Host, dst: string) => h.try("ping", "-c", "2", "-i", "0.2", "-W", "3", dst);

  beforeAll(async () => {
    if (!ready) return;
    ({ a, b } = await twoHosts(`${process.pid % 100000}t`));
    writeFileSync(confA, ["[Interface]", `PrivateKey = ${kA.priv}`, "ListenPort = 51820", "Address = 10.9.0.1/24, 2001:db8:9::1/64",
      "", "[Peer]", `PublicKey = ${kB.pub}`, "AllowedIPs = 10.9.0.2/32, 2001:db8:9::2/128", "Endpoint = 192.0.2.2:51821"].join("\n") + "\n");
    writeFileSync(confB, ["[Interface]", `PrivateKey = ${kB.priv}`, "ListenPort = 51821", "Address = 10.9.0.2/24, 2001:db8:9::2/64",
      "", "[Peer]", `PublicKey = ${kA.pub}`, "AllowedIPs = 10.9.0.1/32, 2001:db8:9::1/128", "Endpoint = 192.0.2.1:51820"].join("\n") + "\n");
    chmodSync(confA, 0o600);
    chmodSync(confB, 0o600);
    up(a, "wga", confA);
    up(b, "wgb", confB);
    await until(() => ping(a, "10.9.0.2").status === 0, 30_000, "the first ping A -> B");
  }, 120_000);

  ptest("100 MiB each way, IPv4 and IPv6 inside: hashes match; TSO, UDP GSO, UDP GRO and TCP GRO all did their part", async () => {
    const ta0 = counters(a, "wga"), tb0 = counters(b, "wgb"), ea0 = counters(a, "eth0");
    await transfer(a, b, "10.9.0.2", 100 * MiB);
    const ta1 = counters(a, "wga"), tb1 = counters(b, "wgb"), ea1 = counters(a, "eth0");
    const segments = (100 * MiB) / 1368; // payload per full segment at MTU 1420 with timestamps
    // TSO: what A's kernel sent into the tun came as super-packets, far fewer than segments.
    expect(ta1.txPackets - ta0.txPackets).toBeLessThan(segments / 4);
    // UDP GSO: the veth counts a GSO message once.
    expect(ea1.txPackets - ea0.txPackets).toBeLessThan(segments / 4);
    // UDP GRO + TCP GRO on B: the tun took coalesced writes, far fewer than segments.
    expect(tb1.rxPackets - tb0.rxPackets).toBeLessThan(segments / 2);
    expect(tb1.rxBytes - tb0.rxBytes).toBeGreaterThan(100 * MiB);
    await transfer(b, a, "2001:db8:9::1", 100 * MiB);
  }, 300_000);

  ptest("one side without offloads (TUNKIT_WG_OFFLOAD=none): 30 MiB each way, hashes match", async () => {
    expect(b.try(...tunkit, "wg", "down", "wgb").status).toBe(0);
    up(b, "wgb", confB, { TUNKIT_WG_OFFLOAD: "none" });
    await until(() => ping(b, "10.9.0.1").status === 0, 30_000, "B -> A after B's restart");
    const tb0 = counters(b, "wgb");
    await transfer(a, b, "10.9.0.2", 30 * MiB);
    await transfer(b, a, "10.9.0.1", 30 * MiB);
    // Without vnet_hdr, every segment crosses B's tun on its own.
    expect(counters(b, "wgb").rxPackets - tb0.rxPackets).toBeGreaterThan((30 * MiB) / 1420);
  }, 300_000);
});
