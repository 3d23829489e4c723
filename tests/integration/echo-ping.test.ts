// `tunkit echo` answers ping (IPv4, IPv6) and UDP echo through a tun, in a throwaway netns.
import { describe, expect, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { readFileSync } from "node:fs";
import { itest, needing, sh, ipLink, makeDevice } from "./_ns.ts";
import { bg, tunkit, allPrintable, waitAttached, type Bg } from "./dump-cli.ts";

const { ptest } = needing("echo-ping", ["ping"]);
const IF = "tkecho0";

function ping(args: string[]): { code: number | null; out: string } {
  const r = spawnSync("ping", args, { encoding: "utf8", timeout: 15_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

/**
 * Expects ping's summary to say `n` received; when it does not, the failure shows ping's
 * output beside what echo printed so far and the tun's counters (TX: packets the kernel handed
 * the tun, or dropped before its reader; RX: replies echo wrote), so a lost request says on which
 * side it was lost.
 */
function expectReceived(p: { out: string }, n: number, echo: Bg): void {
  const ok = p.out.includes(`${n} received`);
  const seen = { ping: p.out, ...(ok ? {} : { echo: echo.stderr + echo.stdout, tun: ipLink(IF, ["-s"])?.stats64 }) };
  expect(seen).toEqual({ ping: expect.stringContaining(`${n} received`) });
}

describe("tunkit echo", () => {
  beforeAll(() => {
    if (!ipLink("lo")) return;
    makeDevice(IF, "tun", ["192.0.2.1/24", "2001:db8::1/64"]);
  });
  afterAll(() => void spawnSync("ip", ["link", "del", IF]));

  ptest("ping 192.0.2.2 and ping -6 2001:db8::2 through the tun are answered; a line per reply; ends after --count", async () => {
    const echo = bg(["echo", IF, "--count", "6", "--timeout", "30"]);
    await echo.waitFor(/answering/);
    // -l 3 (the 3 requests at once), not -i 0.2: once a reply came, ping -c waits for the rest
    // only max(2 x the slowest round trip, the interval) after its last request, so at load a
    // late reply counted as lost (a reply held back 500 ms: "2 received" with -i 0.2, 3 with
    // -l 3); with none received when it sent its last, it waits up to -W for them all.
    const p4 = ping(["-c", "3", "-l", "3", "-W", "2", "192.0.2.2"]);
    expectReceived(p4, 3, echo);
    expect(p4.out).toMatch(/64 bytes from 192\.0\.2\.2: icmp_seq=1 ttl=64/);
    const p6 = ping(["-6", "-c", "3", "-l", "3", "-W", "2", "2001:db8::2"]);
    expectReceived(p6, 3, echo);
    expect(await echo.exit()).toBe(0);
    expect(echo.stderr).toContain("6 requests answered");
    const lines = echo.stdout.trim().split("\n");
    expect(lines.length).toBe(6);
    expect(lines.filter((l) => /IP 192\.0\.2\.1 > 192\.0\.2\.2: ICMP echo request, id \d+, seq [123], length 64$/.test(l)).length).toBe(3);
    expect(lines.filter((l) => /IP6 2001:db8::1 > 2001:db8::2: ICMP6, echo request, id \d+, seq [123], length 64$/.test(l)).length).toBe(3);
    expect(allPrintable(echo.stdout + echo.stderr)).toBe(true);
  }, 40_000);

  itest("UDP echo on port 7: the datagram comes back; -q prints no reply lines; SIGINT prints the count", async () => {
    const echo = bg(["-q", "echo", IF]);
    await waitAttached(IF, echo); // -q: nothing printed
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "192.0.2.1", () => r()));
    const got = new Promise<Buffer>((r) => sock.once("message", (m) => r(m)));
    // UDP may be lost while a loaded machine starts the reader: send again each second, at
    // most 10 times, until the first echo comes back.
    let sent = 0;
    let answered = false;
    const reply = got.finally(() => (answered = true));
    while (!answered && sent < 10) {
      sock.send(Buffer.from("tunkit-echo-udp"), 7, "192.0.2.2");
      sent++;
      await Promise.race([reply, new Promise((r) => setTimeout(r, 1000))]);
    }
    const r = await Promise.race([reply, new Promise<Buffer>((_, rej) => setTimeout(() => rej(new Error(`no UDP echo after ${sent} datagrams`)), 2000))]);
    expect(r.toString()).toBe("tunkit-echo-udp");
    await new Promise((res) => setTimeout(res, 300)); // echoes of late duplicates arrive before the count
    sock.close();
    echo.kill("SIGINT");
    expect(await echo.exit()).toBe(0);
    expect(echo.stdout).toBe("");
    const n = Number(/^(\d+) requests? answered$/.exec(echo.stderr.trim())?.[1]);
    expect(n).toBeGreaterThanOrEqual(1); // NaN (no count line) fails here too
    expect(n).toBeLessThanOrEqual(sent);
  }, 30_000);

  ptest("--timeout ends an idle echo; --json prints one object per reply", async () => {
    const idle = tunkit(["echo", IF, "--timeout", "0.3"]);
    expect(idle.code).toBe(0);
    expect(idle.stderr).toContain("0 requests answered");
    const echo = bg(["--json", "echo", IF, "-c", "1"]);
    await echo.waitFor(/answering/);
    expectReceived(ping(["-c", "1", "-W", "2", "192.0.2.2"]), 1, echo);
    expect(await echo.exit()).toBe(0);
    const o = JSON.parse(echo.stdout.trim());
    expect(o.ipv4.src).toBe("192.0.2.1");
    expect(o.icmp.type).toBe(8);
  }, 20_000);

  itest("--create makes a non-persistent tun that is gone after echo exits", async () => {
    const r = tunkit(["echo", "tkecho9", "--create", "--timeout", "0.3"]);
    expect(r.code).toBe(0);
    expect(ipLink("tkecho9")).toBeUndefined();
  });

  itest("a device held by another reader: EBUSY names the holder, exit 1", async () => {
    const first = bg(["echo", IF]);
    await first.waitFor(/answering/);
    const second = tunkit(["echo", IF, "--timeout", "1"]);
    first.kill("SIGINT");
    await first.exit();
    expect(second.code).toBe(1);
    expect(second.stderr).toMatch(/EBUSY/);
    expect(second.stderr).toMatch(/attached by .*pid \d+/);
  }, 20_000);

  ptest("idle: echo and a sniffing dump beside it use next to no CPU (no spinning event loop)", async () => {
    const ticks = (pid: number) => {
      const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
      return Number(f[11]) + Number(f[12]); // utime + stime, in clock ticks (1/100 s)
    };
    const echo = bg(["echo", IF]);
    await echo.waitFor(/answering/);
    const dump = bg(["dump", IF, "--no-hex"]);
    await dump.waitFor(/listening on/);
    expectReceived(ping(["-c", "1", "-W", "2", "192.0.2.2"]), 1, echo); // traffic, then quiet
    await new Promise((r) => setTimeout(r, 300));
    const e0 = ticks(echo.child.pid!);
    const d0 = ticks(dump.child.pid!);
    await new Promise((r) => setTimeout(r, 1500));
    const e = ticks(echo.child.pid!) - e0;
    const d = ticks(dump.child.pid!) - d0;
    echo.kill("SIGINT");
    dump.kill("SIGINT");
    await echo.exit();
    await dump.exit();
    expect({ echo: e, dump: d }).toEqual({ echo: expect.any(Number), dump: expect.any(Number) });
    expect(e).toBeLessThan(15); // < 10% of a core over 1.5 s (a spinning loop shows 150)
    expect(d).toBeLessThan(15);
  }, 20_000);

  itest("bad inputs: exit 2, one line, nothing opened", () => {
    for (const args of [["echo", IF, "--count", "0"], ["echo", IF, "--timeout", "abc"], ["echo", "bad/name"], ["echo"]]) {
      const r = tunkit(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(r.stdout).toBe("");
    }
    const lo = tunkit(["echo", "lo"]);
    expect(lo.code).toBe(2);
    expect(lo.stderr).toContain("is not a tun/tap device");
  }, 180_000);
});
