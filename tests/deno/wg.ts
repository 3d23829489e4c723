// Deno test of the VPN: tunkit's WireGuard under Deno at both ends. Side A is the library in
// this process (parseConfig + upFromConfig from wg/mod.ts: Deno.dlopen for the tun, libsodium or
// libcrypto for the AEAD); side B is the CLI under Deno (`deno run -A cli/main.ts wg up`, a
// background daemon) in a namespace of this test's own, joined by a veth. The CLI's own
// `tunkit ping` (under Deno too) crosses the tunnel both ways. Run by scripts/test.ts as
// `deno run -A` inside a fresh netns. Prints " N pass" / " N fail" like bun test.
import { parseConfig, upFromConfig, generatePrivateKey, publicKey, formatKey, loadWgCrypto } from "../../wg/mod.ts";
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { mkdtempSync, writeFileSync, chmodSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";

/** The part of the Deno namespace this script uses (typed here: tsconfig has Bun's types only). */
const Deno = (globalThis as unknown as { Deno: { execPath(): string; pid: number; exit(code: number): never } }).Deno;

let pass = 0;
let fail = 0;
async function check(name: string, fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
    pass++;
    console.log(`(pass) ${name}`);
  } catch (e) {
    fail++;
    console.log(`(fail) ${name}: ${(e as Error).stack ?? e}`);
  }
}
function assert(cond: unknown, msg: string): void {
  if (!cond) throw new Error(msg);
}
const ip = (...a: string[]) => {
  const r = spawnSync("ip", a, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${a.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const main = fileURLToPath(new URL("../../cli/main.ts", import.meta.url));
const deno = Deno.execPath();
/** Runs `cmd` without blocking the event loop (side A's engine lives in it), bounded by 60 s. */
function run(cmd: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd[0]!, cmd.slice(1), { stdio: ["ignore", "pipe", "pipe"], timeout: 60_000 });
    let out = "", err = "";
    c.stdout.on("data", (d) => (out += d));
    c.stderr.on("data", (d) => (err += d));
    c.on("close", (code) => resolve({ code, out, err }));
  });
}

const ns = `tkdenowg${Deno.pid}`;
const dir = mkdtempSync(join(tmpdir(), "tkdenowg-"));
const inB = ["ip", "netns", "exec", ns];
const c = await loadWgCrypto();
const kA = generatePrivateKey(), kB = generatePrivateKey();
const confA = ["[Interface]", `PrivateKey = ${formatKey(kA)}`, "ListenPort = 51820", "Address = 10.9.0.1/24",
  "", "[Peer]", `PublicKey = ${formatKey(publicKey(c, kB))}`, "AllowedIPs = 10.9.0.2/32", "Endpoint = 192.0.2.2:51821"].join("\n") + "\n";
const confB = join(dir, "b.conf");
writeFileSync(confB, ["[Interface]", `PrivateKey = ${formatKey(kB)}`, "ListenPort = 51821", "Address = 10.9.0.2/24",
  "", "[Peer]", `PublicKey = ${formatKey(publicKey(c, kA))}`, "AllowedIPs = 10.9.0.1/32", "Endpoint = 192.0.2.1:51820"].join("\n") + "\n");
chmodSync(confB, 0o600);

ip("netns", "add", ns);
let wg: Awaited<ReturnType<typeof upFromConfig>> | undefined;
try {
  ip("link", "add", "tkdva", "type", "veth", "peer", "name", "tkdvb", "netns", ns);
  ip("addr", "add", "192.0.2.1/24", "dev", "tkdva");
  ip("link", "set", "tkdva", "up");
  ip("-n", ns, "addr", "add", "192.0.2.2/24", "dev", "tkdvb");
  ip("-n", ns, "link", "set", "tkdvb", "up");
  ip("-n", ns, "link", "set", "lo", "up");

  let handshakes = 0;
  await check("the library under Deno brings up wga from a wg-quick config (tun, address, route)", async () => {
    wg = await upFromConfig("wga", parseConfig(confA, "a.conf"));
    wg.on("handshake", () => handshakes++);
    const j = JSON.parse(ip("-j", "addr", "show", "dev", "wga"))[0];
    assert(j.addr_info.some((a: { local: string }) => a.local === "10.9.0.1"), `wga addresses: ${JSON.stringify(j.addr_info)}`);
  });
  await check("the CLI under Deno brings up wgb in the background (wg up returns, the daemon serves)", async () => {
    const r = await run([...inB, deno, "run", "-A", main, "wg", "up", "wgb", "--config", confB]);
    assert(r.code === 0, `wg up: ${r.code} ${r.err}`);
    assert(/wgb is up \(listening on UDP port 51821\)/.test(r.out), `wg up said: ${r.out}`);
  });
  await check("tunkit ping under Deno crosses the tunnel A -> B and back; a handshake happened", async () => {
    const r = await run([deno, "run", "-A", main, "ping", "-c", "3", "-i", "0.2", "-W", "10", "10.9.0.2"]);
    assert(r.code === 0, `ping: ${r.code} ${r.out} ${r.err}`);
    assert(/3 packets transmitted, 3 received/.test(r.out), `ping said: ${r.out}`);
    assert(handshakes >= 1, `handshake events: ${handshakes}`);
  });
  await check("and B -> A from B's namespace; wg show --json on B counts the traffic", async () => {
    const r = await run([...inB, deno, "run", "-A", main, "ping", "-c", "2", "-i", "0.2", "-W", "10", "10.9.0.1"]);
    assert(r.code === 0, `ping: ${r.code} ${r.out} ${r.err}`);
    const show = await run([...inB, deno, "run", "-A", main, "wg", "show", "wgb", "--json"]);
    assert(show.code === 0, `wg show: ${show.err}`);
    const peers = (JSON.parse(show.out) as { peers: Array<{ rxBytes: number; latestHandshake: number }> }).peers;
    assert(peers.length === 1 && peers[0]!.rxBytes > 0 && peers[0]!.latestHandshake > 0, `wg show: ${show.out}`);
  });
} finally {
  wg?.close("test done");
  await run([...inB, deno, "run", "-A", main, "wg", "down", "wgb"]);
  spawnSync("ip", ["netns", "del", ns]);
  rmSync(dir, { recursive: true, force: true });
}
console.log(` ${pass} pass`);
console.log(` ${fail} fail`);
Deno.exit(fail > 0 || pass === 0 ? 1 : 0);
