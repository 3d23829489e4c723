// Kernel-side filters (issue 13): sniffing, the filter is compiled to classic BPF and attached
// to the socket (SO_ATTACH_FILTER); user space still filters. On the same traffic, a dump with
// the kernel filter and one without print the same packets, and the kernel one is handed only
// the matching ones (its "received by filter" count says so).
import { describe, expect, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { itest, makeDevice } from "./_ns.ts";
import { bg, tunkit } from "./dump-cli.ts";

const IF = "tkbpf0";

async function udp(port: number, n: number): Promise<void> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "192.0.2.1", () => r()));
  for (let i = 0; i < n; i++) await new Promise<void>((r) => s.send(Buffer.from(`msg-${port}-${i}`), port, "192.0.2.2", () => r()));
  s.close();
}

describe("kernel filters", () => {
  beforeAll(() => makeDevice(IF, "tun", ["192.0.2.1/24"], { noIpv6: true }));
  afterAll(() => void spawnSync("ip", ["link", "del", IF]));

  itest("same packets with and without the kernel filter on the same traffic; the kernel hands over only the matches", async () => {
    const echo = bg(["echo", IF, "-q"]);
    await echo.waitFor(/answering|echo/i).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 500));
    const filter = ["icmp", "and", "dst", "host", "192.0.2.2", "or", "udp", "port", "7"];
    const k = bg(["dump", "-nn", "-t", "--no-hex", "-i", IF, ...filter]);
    const u = bg(["dump", "-nn", "-t", "--no-hex", "--no-kernel-filter", "-i", IF, ...filter]);
    await k.waitFor(/listening on/);
    await u.waitFor(/listening on/);
    spawnSync("ping", ["-c", "3", "-i", "0.2", "-W", "1", "192.0.2.2"], { timeout: 10_000 });
    await udp(7, 4);
    await udp(9, 20); // no match: the kernel drops these for k
    spawnSync("ping", ["-c", "2", "-i", "0.2", "-W", "1", "192.0.2.3"], { timeout: 10_000 }); // no match either
    await new Promise((r) => setTimeout(r, 500));
    k.kill("SIGINT");
    u.kill("SIGINT");
    expect(await k.exit()).toBe(0);
    expect(await u.exit()).toBe(0);
    echo.kill("SIGINT");
    await echo.exit();
    const lines = (s: string) => s.trim().split("\n").filter(Boolean);
    expect(lines(k.stdout)).toEqual(lines(u.stdout));
    // 3 requests (the replies go to 192.0.2.1), 4 datagrams to port 7 and what came back
    const out = lines(k.stdout);
    expect(out.filter((l) => l.includes("ICMP echo request")).length).toBe(3);
    expect(out.filter((l) => l.includes(" > 192.0.2.2.7: UDP")).length).toBe(4);
    expect(out.some((l) => l.includes("192.0.2.3") || / > 192\.0\.2\.2\.9: /.test(l))).toBe(false);
    const captured = (s: string) => Number(/(\d+) packets? captured/.exec(s)?.[1]);
    const received = (s: string) => Number(/(\d+) packets? received by filter/.exec(s)?.[1]);
    expect(captured(k.stderr)).toBe(out.length);
    expect(received(k.stderr)).toBe(out.length); // the kernel passed only the matches
    expect(received(u.stderr)).toBeGreaterThanOrEqual(out.length + 20 + 2); // user space was handed everything
    expect(u.stderr).toContain("(all: the filter runs in user space)");
  }, 40_000);

  itest("dump -d prints the program (tcpdump -d's notation) the kernel runs", () => {
    const r = tunkit(["dump", "-d", "-i", IF, "udp", "port", "53"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\(000\) ld       #pktlen$/m);
    expect(r.stdout).toMatch(/ret      #262144$/m);
    expect(r.stdout).toMatch(/ret      #0$/m);
  });
});
