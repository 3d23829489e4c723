// The examples/ programs, run as a user runs them (`bun examples/X.ts`, importing "tunkit"), in
// this file's throwaway network namespace; what they did is checked with ip -j. (They are
// type-checked with the rest of the repo by npm test's tsc step: tsconfig.json includes examples/.)
import { afterAll, expect } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { itest, needing } from "./_ns.ts";
import { Topology, Proc, curl, PROXY_V4, PROXY_OUT_V4, SERVER_V4 } from "../fixtures/proxy/topology.ts";

const root = join(import.meta.dir, "../..");
const example = (name: string, ...args: string[]) =>
  spawnSync(process.execPath, [join(root, "examples", name), ...args], { encoding: "utf8", timeout: 60_000 });
const ipj = (...a: string[]) => JSON.parse(spawnSync("ip", ["-j", ...a], { encoding: "utf8" }).stdout || "[]");
const routes = (dev: string) =>
  (ipj("route", "show", "dev", dev) as Array<{ dst: string; gateway?: string; protocol?: string }>)
    .filter((r) => r.protocol !== "kernel")
    .map((r) => (r.gateway ? `${r.dst} via ${r.gateway}` : r.dst))
    .sort();

afterAll(() => {
  for (const d of ["tkrm0", "tkex0"]) spawnSync("ip", ["link", "del", d], { stdio: "ignore" });
});

itest("route-manager: creates the tun, converges the routes to the list, a second run changes nothing", () => {
  const first = example("route-manager.ts", "tkrm0", "192.0.2.1/24", "198.51.100.0/24", "203.0.113.0/24=192.0.2.254");
  expect(first.stderr).toBe("");
  expect(first.status).toBe(0);
  expect(JSON.parse(first.stdout)).toMatchObject({ dev: "tkrm0", created: true, added: ["198.51.100.0/24", "203.0.113.0/24 192.0.2.254"], deleted: [] });
  expect(routes("tkrm0")).toEqual(["198.51.100.0/24", "203.0.113.0/24 via 192.0.2.254"]);
  expect((ipj("addr", "show", "dev", "tkrm0") as Array<{ addr_info: Array<{ local: string }> }>)[0]?.addr_info.map((a) => a.local)).toContain("192.0.2.1");

  const again = example("route-manager.ts", "tkrm0", "192.0.2.1/24", "198.51.100.0/24", "203.0.113.0/24=192.0.2.254");
  expect(JSON.parse(again.stdout)).toMatchObject({ created: false, added: [], deleted: [] });

  // A route someone added by hand and not in the list goes; one in the list stays.
  spawnSync("ip", ["route", "add", "198.51.100.128/25", "dev", "tkrm0"]);
  const third = example("route-manager.ts", "tkrm0", "192.0.2.1/24", "198.51.100.0/24");
  expect(JSON.parse(third.stdout)).toMatchObject({ added: [], deleted: expect.arrayContaining(["198.51.100.128/25", "203.0.113.0/24 192.0.2.254"]) });
  expect(routes("tkrm0")).toEqual(["198.51.100.0/24"]);
  spawnSync("ip", ["link", "del", "tkrm0"]);
}, 120_000);

itest("route-manager: bad input is one line on stderr, exit 2, nothing created", () => {
  const r = example("route-manager.ts", "tkrm1", "192.0.2.1/24", "198.51.100.1/33");
  expect(r.status).toBe(2);
  expect(r.stderr.trim().split("\n")).toHaveLength(1);
  expect(r.stderr).toContain('"33"');
  expect(ipj("link", "show")).not.toContainEqual(expect.objectContaining({ ifname: "tkrm1" }));
}, 60_000);

const { ptest } = needing("examples: echo responder and sniffer", ["ping", "tcpdump"]);
ptest("echo-responder answers ping; packet-sniffer prints the exchange and writes a pcap", async () => {
  const echo = spawn(process.execPath, [join(root, "examples/echo-responder.ts"), "tkex0", "203.0.113.1/24", "3", "30"], { stdio: ["ignore", "pipe", "pipe"] });
  const echoExit = new Promise<number | null>((r) => echo.on("exit", r));
  let out = "";
  echo.stdout.on("data", (b) => (out += b));
  echo.stderr.on("data", (b) => (out += b));
  for (let i = 0; i < 300 && !out.includes("answering"); i++) await Bun.sleep(100);
  expect(out).toContain("answering on tkex0");
  const pcap = join(process.env.TMPDIR ?? "/tmp", `tk-example-${process.pid}.pcap`);
  // The sniffer runs 8 s from the moment it listens (the tun may carry IPv6 solicitations too, so
  // no packet count ends it early).
  const sniff = spawn(process.execPath, [join(root, "examples/packet-sniffer.ts"), "tkex0", "50", "8", pcap], { stdio: ["ignore", "pipe", "pipe"] });
  const sniffExit = new Promise<number | null>((r) => sniff.on("exit", r));
  let seen = "";
  let sniffErr = "";
  sniff.stdout.on("data", (b) => (seen += b));
  sniff.stderr.on("data", (b) => (sniffErr += b));
  // Ping only once the sniffer's socket is open (it says so), not after a guessed sleep: at load a
  // fixed 1.5 s was sometimes too short and the first request went by unseen.
  for (let i = 0; i < 300 && !sniffErr.includes("listening on tkex0"); i++) await Bun.sleep(100);
  expect(sniffErr).toContain("listening on tkex0");
  const ping = spawnSync("ping", ["-c", "3", "-i", "0.2", "-W", "5", "203.0.113.2"], { encoding: "utf8", timeout: 30_000 });
  expect(ping.stdout).toContain("3 received");
  const code = await echoExit;
  expect(code).toBe(0);
  expect(JSON.parse(out.trim().split("\n").at(-1)!)).toMatchObject({ answered: 3 });
  expect(await sniffExit).toBe(0);
  expect(sniffErr).toMatch(/^\d+ packets$/m);
  expect(seen).toContain("IP 203.0.113.1 > 203.0.113.2: ICMP echo request");
  expect(seen).toContain("IP 203.0.113.2 > 203.0.113.1: ICMP echo reply");
  const t = spawnSync("tcpdump", ["-nr", pcap], { encoding: "utf8" });
  expect(t.status).toBe(0);
  expect(t.stdout.match(/ICMP echo request/g)?.length).toBe(3);
  spawnSync("rm", ["-f", pcap]);
}, 120_000);

// tun2socks: the example run as a user runs it, in this namespace, against microsocks in a
// neighbouring one (tests/fixtures/proxy/topology.ts: client -- proxy ns -- server ns). curl's
// request to the server goes into the example's tun, out through microsocks; the server answers
// with the peer it saw, which must be the proxy's outside address.
const socks = needing("examples: tun2socks through microsocks", ["microsocks", "curl"]);
const topo = new Topology("ex");
afterAll(async () => {
  await topo.down();
});
socks.ptest("tun2socks: curl reaches the server through the example's tun and microsocks; the tun is gone after", async () => {
  topo.up();
  await topo.startServer(1 << 16);
  await topo.startMicrosocks(1080);
  const run = new Proc([process.execPath, join(root, "examples/tun2socks.ts"), `socks5://${PROXY_V4}:1080`, "198.51.100.0/24", "--seconds", "15"]);
  await run.waitFor(/^tunnel tks0 -> /m, 60_000);
  expect((ipj("route", "show", "198.51.100.0/24") as Array<{ dev: string }>)[0]?.dev).toBe("tks0");
  const r = await curl([`http://${SERVER_V4}/peer`], 10);
  expect(r.err).toBe("");
  expect(r.out.trim()).toBe(PROXY_OUT_V4); // the server's peer: microsocks, not this namespace
  expect(await run.exited).toBe(0);
  expect(run.err).toBe("");
  expect(spawnSync("ip", ["link", "show", "tks0"]).status).not.toBe(0);
}, 120_000);
