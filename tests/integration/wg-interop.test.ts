// tunkit wg against the real peers: wireguard-go + `wg setconf` on host B, `tunkit wg up` on
// host A, a veth between them (tests/fixtures/wg/topology.ts: each host has its own network
// and mount namespace, so /var/run/wireguard is private to it). Two variants: IPv4 outer
// without PSK, IPv6 outer with PSK; IPv4 and IPv6 inside both.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { writeFileSync, mkdtempSync, chmodSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { needing } from "./_ns.ts";
import { twoHosts, teardown, until, type Host } from "../fixtures/wg/topology.ts";
import { genkey, transfer } from "../fixtures/wg/peers.ts";

const { ptest, ready } = needing("wg interop", ["wireguard-go", "wg", "nsenter"], "wireguard-go wireguard-tools util-linux");
const root = resolve(import.meta.dir, "../..");
const tunkit = [process.execPath, join(root, "cli/main.ts")];
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), "tkwg-"));

afterAll(() => {
  teardown();
  rmSync(dir, { recursive: true, force: true });
});

const variants = [
  { label: "IPv4 outer, no PSK", v6: false, psk: false },
  { label: "IPv6 outer, PSK", v6: true, psk: true },
] as const;

describe.each(variants)("tunkit wg <-> wireguard-go, %o", (variant) => {
  let a: Host, b: Host;
  const kA = genkey(), kB = genkey();
  const psk = variant.psk ? Bun.spawnSync(["wg", "genpsk"]).stdout.toString().trim() : undefined;
  const tag = `${process.pid % 100000}${variant.v6 ? "s" : "f"}`;
  const epA = variant.v6 ? "[2001:db8:1::1]:51820" : "192.0.2.1:51820";
  const epB = variant.v6 ? "[2001:db8:1::2]:51821" : "192.0.2.2:51821";
  const confA = join(dir, `a${tag}.conf`);
  const confB = join(dir, `b${tag}.conf`);

  let wgGo: ReturnType<Host["start"]> | undefined;
  function startWgGo(): void {
    wgGo = b.start("wireguard-go", ["-f", "wgb"]);
  }
  async function configureB(): Promise<void> {
    await until(() => b.try("test", "-S", "/run/wireguard/wgb.sock").status === 0, 30_000, "wireguard-go's socket");
    b.sh("wg", "setconf", "wgb", confB);
    b.sh("ip", "addr", "add", "10.9.0.2/24", "dev", "wgb");
    b.sh("ip", "addr", "add", "2001:db8:9::2/64", "dev", "wgb", "nodad");
    b.sh("ip", "link", "set", "wgb", "mtu", "1420", "up");
  }
  function upA(): string {
    const r = a.try(...(tunkit as [string, string]), "wg", "up", "wga", "--config", confA);
    if (r.status !== 0) throw new Error(`tunkit wg up: ${r.status} ${r.stderr}`);
    return r.stdout + r.stderr;
  }
  const ping = (h: Host, dst: string) => h.try("ping", "-c", "3", "-i", "0.2", "-W", "2", dst);

  beforeAll(async () => {
    if (!ready) return;
    ({ a, b } = await twoHosts(tag));
    writeFileSync(confA, [
      "[Interface]", `PrivateKey = ${kA.priv}`, "ListenPort = 51820", "Address = 10.9.0.1/24, 2001:db8:9::1/64", "DNS = 192.0.2.53",
      "", "[Peer]", `PublicKey = ${kB.pub}`, ...(psk ? [`PresharedKey = ${psk}`] : []), "AllowedIPs = 10.9.0.2/32, 2001:db8:9::2/128", `Endpoint = ${epB}`,
    ].join("\n") + "\n");
    chmodSync(confA, 0o600);
    writeFileSync(confB, [
      "[Interface]", `PrivateKey = ${kB.priv}`, "ListenPort = 51821",
      "", "[Peer]", `PublicKey = ${kA.pub}`, ...(psk ? [`PresharedKey = ${psk}`] : []), "AllowedIPs = 10.9.0.1/32, 2001:db8:9::1/128", `Endpoint = ${epA}`,
    ].join("\n") + "\n");
    startWgGo();
    await configureB();
  }, 120_000);

  ptest("wg up: the interface comes up with its addresses and routes; DNS is ignored with a note", () => {
    const out = upA();
    expect(out).toContain("DNS = 192.0.2.53 is ignored");
    const addrs = a.sh("ip", "-j", "addr", "show", "dev", "wga");
    expect(addrs).toContain("10.9.0.1");
    expect(addrs).toContain("2001:db8:9::1");
    expect(a.sh("ip", "route", "show", "10.9.0.2")).toContain("dev wga");
    expect(a.sh("ip", "-6", "route", "show", "2001:db8:9::2")).toContain("dev wga");
    expect(a.sh("ip", "-j", "link", "show", "wga")).toContain('"mtu":1420');
  }, 120_000);

  ptest("ping both ways, IPv4 and IPv6 inside (tunkit initiates)", async () => {
    // Retried within a bound: the first answer waits for a handshake, which load can slow.
    for (const [h, dst] of [[a, "10.9.0.2"], [b, "10.9.0.1"], [a, "2001:db8:9::2"], [b, "2001:db8:9::1"]] as const) {
      await until(() => ping(h, dst).status === 0, 30_000, `ping ${dst} from ${h.name}`);
    }
  }, 150_000);

  ptest("wg show on both sides lists the peer with a recent handshake; tunkit wg show --json too", () => {
    const now = Date.now() / 1000;
    // `wg` talking to tunkit's UAPI socket on A, and to wireguard-go's on B.
    for (const [h, iface, peer] of [[a, "wga", kB.pub], [b, "wgb", kA.pub]] as const) {
      const dump = h.sh("wg", "show", iface, "dump").trim().split("\n");
      const row = dump.slice(1).map((l) => l.split("\t")).find((f) => f[0] === peer);
      expect(row).toBeDefined();
      expect(Math.abs(now - Number(row![4]))).toBeLessThan(60);
      expect(row![1]).toBe(psk ?? "(none)");
      expect(Number(row![5])).toBeGreaterThan(0); // rx
      expect(Number(row![6])).toBeGreaterThan(0); // tx
    }
    expect(a.sh("wg", "show", "wga", "public-key").trim()).toBe(kA.pub);
    expect(a.sh("wg", "show", "wga", "endpoints")).toContain(epB);
    const j = JSON.parse(a.sh(...(tunkit as [string, string]), "wg", "show", "wga", "--json"));
    expect(j.publicKey).toBe(kA.pub);
    expect(j.listenPort).toBe(51820);
    expect(j.peers[0].publicKey).toBe(kB.pub);
    expect(j.peers[0].latestHandshake).toBeGreaterThan(now - 60);
    expect(a.sh(...(tunkit as [string, string]), "wg", "show")).toContain(`peer: ${kB.pub}`);
  });

  ptest("100 MiB each way through the tunnel, hashes match", async () => {
    await transfer(a, b, "10.9.0.2", 100 * MiB);
    await transfer(b, a, variant.v6 ? "2001:db8:9::1" : "10.9.0.1", 100 * MiB);
  }, 300_000);

  ptest("wireguard-go initiates after tunkit restarts (both sides initiating)", async () => {
    a.sh(...(tunkit as [string, string]), "wg", "down", "wga");
    expect(a.try("ip", "link", "show", "wga").status).not.toBe(0);
    expect(a.try("test", "-e", "/run/wireguard/wga.sock").status).not.toBe(0);
    upA();
    // B still holds old keys; its packets to A are dropped until it re-handshakes. Pinging from
    // B until it works makes wireguard-go initiate (its new-handshake timer), A answers.
    await until(() => ping(b, "10.9.0.1").status === 0, 60_000, "B -> A through a fresh handshake");
    await until(() => ping(a, "10.9.0.2").status === 0, 30_000, "A -> B");
  }, 120_000);

  ptest("a wireguard-go that restarts is taken back", async () => {
    wgGo!.kill("SIGTERM");
    await until(() => b.try("ip", "link", "show", "wgb").status !== 0, 30_000, "wireguard-go to exit");
    startWgGo();
    await configureB();
    await until(() => ping(a, "10.9.0.2").status === 0, 60_000, "A -> restarted B");
    await until(() => ping(b, "10.9.0.1").status === 0, 30_000, "restarted B -> A");
  }, 120_000);
});
