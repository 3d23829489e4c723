// tunkit wg at the edges, against wireguard-go: a rekey during a transfer (timers shortened
// through TUNKIT_WG_TEST_TIMERS) with no stream loss; roaming both ways (the outer address of
// either side moves mid-transfer); hostile datagrams and a handshake flood (cookie replies,
// no crash, the tunnel keeps working); wg-quick driving `tunkit wg go` through
// WG_QUICK_USERSPACE_IMPLEMENTATION; a wireguard-go handshake captured with `tunkit dump` and
// replayed against tunkit's responder.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { writeFileSync, mkdtempSync, chmodSync, rmSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { needing } from "./_ns.ts";
import { twoHosts, teardown, until, type Host } from "../fixtures/wg/topology.ts";
import { genkey, transfer } from "../fixtures/wg/peers.ts";
import { readPcap } from "../../packet/pcap.ts";
import { WgDevice } from "../../wg/device.ts";
import { loadWgCrypto } from "../../wg/crypto/provider.ts";
import { parseKey } from "../../wg/keys.ts";
import { parseEndpoint } from "../../wg/endpoint.ts";

const { ptest, ready } = needing("wg edge", ["wireguard-go", "wg", "wg-quick", "nsenter"], "wireguard-go wireguard-tools util-linux");
const root = resolve(import.meta.dir, "../..");
const bun = process.execPath;
const tk = [bun, join(root, "cli/main.ts")] as const;
const MiB = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), "tkwge-"));
chmodSync(dir, 0o755);

afterAll(() => {
  teardown();
  rmSync(dir, { recursive: true, force: true });
});

describe("tunkit wg edges", () => {
  let a: Host, b: Host;
  const kA = genkey(), kB = genkey();
  const tag = `${process.pid % 100000}e`;
  const confA = join(dir, "wga.conf");
  const confB = join(dir, "wgb.conf");
  const ping = (h: Host, dst: string) => h.try("ping", "-c", "2", "-i", "0.2", "-W", "2", dst);
  const lastHandshakeB = () => Number(b.sh("wg", "show", "wgb", "latest-handshakes").trim().split("\t")[1] ?? 0);
  const endpointOn = (h: Host, iface: string) => h.sh("wg", "show", iface, "endpoints").trim().split("\t")[1];

  let wgoB: ReturnType<Host["start"]> | undefined;
  /** wireguard-go on B, configured from confB, its interface up with 10.9.0.2. */
  const startB = async () => {
    wgoB = b.start("wireguard-go", ["-f", "wgb"]);
    await until(() => b.try("test", "-S", "/run/wireguard/wgb.sock").status === 0, 30_000, "wireguard-go's socket");
    b.sh("wg", "setconf", "wgb", confB);
    b.sh("ip", "addr", "add", "10.9.0.2/24", "dev", "wgb");
    b.sh("ip", "link", "set", "wgb", "mtu", "1420", "up");
  };

  beforeAll(async () => {
    if (!ready) return;
    ({ a, b } = await twoHosts(tag));
    writeFileSync(confA, ["[Interface]", `PrivateKey = ${kA.priv}`, "ListenPort = 51820", "Address = 10.9.0.1/24",
      "", "[Peer]", `PublicKey = ${kB.pub}`, "AllowedIPs = 10.9.0.2/32", "Endpoint = 192.0.2.2:51821"].join("\n") + "\n");
    chmodSync(confA, 0o600);
    writeFileSync(confB, ["[Interface]", `PrivateKey = ${kB.priv}`, "ListenPort = 51821",
      "", "[Peer]", `PublicKey = ${kA.pub}`, "AllowedIPs = 10.9.0.1/32", "Endpoint = 192.0.2.1:51820"].join("\n") + "\n");
    await startB();
    // Capture the outer traffic on A while the first handshake happens.
    const cap = a.start(tk[0], [tk[1], "dump", "eth0", "-w", join(dir, "hs.pcap"), "-c", "2", "udp"]);
    const capDone = new Promise((r) => cap.on("exit", r));
    // Readiness: dump says "listening on" once its socket is open.
    await new Promise<void>((resolve, reject) => {
      let err = "";
      cap.stderr!.on("data", (d) => {
        err += d;
        if (err.includes("listening on")) resolve();
      });
      cap.once("exit", (c) => reject(new Error(`tunkit dump exited (${c}): ${err}`)));
    });
    const env = { TUNKIT_WG_TEST_TIMERS: JSON.stringify({ rekeyAfterTime: 1000, rekeyTimeout: 300, keepaliveTimeout: 1000, underLoadRate: 100 }) };
    const r = Bun.spawnSync([...a.enter, ...tk, "wg", "up", "wga", "--config", confA], { env: { ...process.env, ...env } });
    if (r.exitCode !== 0) throw new Error(`wg up: ${r.stderr}`);
    // wireguard-go initiates: the capture on A sees its initiation first.
    await until(() => ping(b, "10.9.0.1").status === 0, 30_000, "B -> A through the first handshake");
    await capDone;
  }, 120_000);

  ptest("a wireguard-go initiation captured with tunkit dump is accepted by tunkit's responder on replay", async () => {
    const pcap = readPcap(readFileSync(join(dir, "hs.pcap")));
    // eth0 is a veth: Ethernet frames (14 bytes) around IPv4 (20) and UDP (8).
    const init = pcap.records.map((r) => r.data).find((d) => d.length === 14 + 20 + 8 + 148 && d[42] === 1);
    expect(init).toBeDefined();
    const msg = init!.subarray(42);
    const sent: number[] = [];
    const dev = new WgDevice({ crypto: await loadWgCrypto(), privateKey: parseKey(kA.priv), send: (_b, len) => sent.push(len) });
    dev.addPeer({ publicKey: parseKey(kB.pub), endpoint: parseEndpoint("192.0.2.2:51821") });
    const src = parseEndpoint("192.0.2.2:51821");
    expect(dev.receive(Uint8Array.from(msg), 0, 148, src.sa, 0, 16, 1)).toBe(0);
    expect(dev.counters.initiationsReceived).toBe(1);
    expect(sent).toEqual([92]); // a handshake response
    // The same bytes again: a replay, refused without an answer.
    dev.receive(Uint8Array.from(msg), 0, 148, src.sa, 0, 16, 1000);
    expect(dev.drops.staleTimestamp).toBe(1);
    expect(sent).toEqual([92]);
    writeFileSync(join(dir, "captured.hex"), Buffer.from(msg).toString("hex"));
  });

  ptest("a rekey during a transfer (shortened timers): new handshakes while it runs, no stream loss", async () => {
    // Rekey-after-time belongs to the initiator of a session: make tunkit initiate (a peer
    // re-added through wg set has no session), then each rekey it starts keeps it initiator.
    // Only tunkit's timers are short, so reject-after-time stays the whitepaper's on both sides.
    a.sh("wg", "set", "wga", "peer", kB.pub, "remove");
    a.sh("wg", "set", "wga", "peer", kB.pub, "allowed-ips", "10.9.0.2/32", "endpoint", "192.0.2.2:51821");
    await until(() => ping(a, "10.9.0.2").status === 0, 30_000, "A -> B through a handshake tunkit starts");
    const before = lastHandshakeB();
    let running = true;
    const seen = new Set<number>();
    // 200 MiB lasts seconds at any speed seen here; with a rekey every second several
    // handshakes land while it runs (wg's latest-handshakes has a one-second resolution).
    const t = transfer(a, b, "10.9.0.2", 200 * MiB).finally(() => (running = false));
    while (running) {
      const h = lastHandshakeB();
      if (h > before) seen.add(h);
      await new Promise((r) => setTimeout(r, 200));
    }
    await t;
    expect(seen.size).toBeGreaterThanOrEqual(1);
  }, 240_000);

  ptest("roaming: A's outer address moves mid-transfer; wireguard-go follows it", async () => {
    await transfer(a, b, "10.9.0.2", 40 * MiB, async () => {
      await new Promise((r) => setTimeout(r, 300));
      a.sh("ip", "addr", "add", "192.0.2.11/24", "dev", "eth0");
      a.sh("ip", "addr", "del", "192.0.2.1/24", "dev", "eth0");
    });
    expect(endpointOn(b, "wgb")).toBe("192.0.2.11:51820");
  }, 120_000);

  ptest("roaming: B comes back from a new outer address; tunkit follows it, and a transfer goes through", async () => {
    // Not mid-transfer: wireguard-go keeps sending from the source address it last used (sticky
    // sockets) after that address is gone, and whether it ever recovers depends on its route
    // listener (seen: ~30 s, and never within 120 s on a quiet machine). So B moves and its
    // wireguard-go starts again there, as after a network change; it initiates from the new
    // address, and what is tested is tunkit's side: it takes the new endpoint and the tunnel
    // carries a 40 MiB TCP transfer from B.
    wgoB!.kill("SIGTERM");
    await new Promise((r) => wgoB!.once("exit", r));
    await until(() => b.try("ip", "link", "show", "wgb").status !== 0, 10_000, "wgb to go with wireguard-go");
    b.sh("ip", "addr", "add", "192.0.2.12/24", "dev", "eth0");
    b.sh("ip", "addr", "del", "192.0.2.2/24", "dev", "eth0");
    writeFileSync(confB, readFileSync(confB, "utf8").replace("Endpoint = 192.0.2.1:51820", "Endpoint = 192.0.2.11:51820")); // A moved to .11 above
    await startB();
    await until(() => ping(b, "10.9.0.1").status === 0, 30_000, "B -> A from B's new address");
    expect(endpointOn(a, "wga")).toBe("192.0.2.12:51821");
    await transfer(b, a, "10.9.0.1", 40 * MiB);
    expect(endpointOn(a, "wga")).toBe("192.0.2.12:51821");
  }, 180_000);

  ptest("hostile datagrams and a handshake flood: cookie replies, no crash, the tunnel still works", async () => {
    const out = b.sh(bun, join(root, "tests/fixtures/wg/flood.ts"), "192.0.2.11", "51820", kA.pub, "4000");
    const r = JSON.parse(out);
    expect(r.cookies).toBeGreaterThan(0);
    await until(() => ping(a, "10.9.0.2").status === 0, 30_000, "A -> B after the flood");
    await until(() => ping(b, "10.9.0.1").status === 0, 30_000, "B -> A after the flood");
  }, 120_000);

  ptest("wg-quick up/down with WG_QUICK_USERSPACE_IMPLEMENTATION pointing at tunkit wg go", async () => {
    a.sh(...tk, "wg", "down", "wga");
    const wrapper = join(dir, "tunkit-wg");
    writeFileSync(wrapper, `#!/bin/sh\nexec ${tk[0]} ${tk[1]} wg go "$@"\n`);
    chmodSync(wrapper, 0o755);
    const q = join(dir, "wgq.conf");
    // B's outer address moved to .12 in the roaming test.
    writeFileSync(q, readFileSync(confA, "utf8").replace("192.0.2.2:51821", "192.0.2.12:51821"));
    chmodSync(q, 0o600);
    const env = { ...process.env, WG_QUICK_USERSPACE_IMPLEMENTATION: wrapper };
    const up = Bun.spawnSync([...a.enter, "wg-quick", "up", q], { env });
    expect(up.exitCode).toBe(0);
    expect(up.stderr.toString()).toContain("userspace implementation");
    expect(a.sh("wg", "show", "wgq", "public-key").trim()).toBe(kA.pub);
    await until(() => ping(a, "10.9.0.2").status === 0, 30_000, "ping through the wg-quick interface");
    const down = Bun.spawnSync([...a.enter, "wg-quick", "down", q], { env });
    expect(down.exitCode).toBe(0);
    await until(() => a.try("ip", "link", "show", "wgq").status !== 0, 30_000, "wgq to go away");
  }, 120_000);
});
