// `tunkit echo` on a tap: plays the remote host (ARP, neighbour discovery, ping), in a throwaway netns.
import { describe, expect, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import { itest, needing, sh, ipLink } from "./_ns.ts";
import { bg, tunkit, allPrintable, waitAttached } from "./dump-cli.ts";

const { ptest } = needing("echo-tap", ["ping"]);
const IF = "tktap0";

function ping(args: string[]): { code: number | null; out: string } {
  const r = spawnSync("ping", args, { encoding: "utf8", timeout: 15_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

describe("tunkit echo on a tap", () => {
  beforeAll(() => {
    if (!ipLink("lo")) return;
    const up = tunkit(["up", IF, "192.0.2.1/24", "--tap"]);
    if (up.code !== 0) throw new Error(`tunkit up: ${up.stderr}`);
    spawnSync("ip", ["addr", "add", "2001:db8::1/64", "dev", IF, "nodad"]);
  });
  afterAll(() => void spawnSync("ip", ["link", "del", IF]));

  ptest("ping 192.0.2.2 and ping -6 2001:db8::2 through the tap are answered after ARP / neighbour discovery", async () => {
    spawnSync("ip", ["neigh", "flush", "dev", IF]);
    const echo = bg(["echo", IF, "--timeout", "30"]);
    await echo.waitFor(/answering/);
    expect(echo.stderr).toContain("as 02:00:00:00:00:01");
    const p4 = ping(["-c", "3", "-l", "3", "-W", "2", "192.0.2.2"]);
    expect(p4.out).toContain("3 received");
    expect(p4.out).toMatch(/64 bytes from 192\.0\.2\.2: icmp_seq=1 ttl=64/);
    const p6 = ping(["-6", "-c", "3", "-l", "3", "-W", "2", "2001:db8::2"]);
    expect(p6.out).toContain("3 received");
    // the kernel learnt the responder's MAC for both addresses (checked while echo holds the
    // tap: when its reader goes, the carrier drops and the kernel flushes the neighbours)
    const n4 = sh("ip", "neigh", "show", "dev", IF, "to", "192.0.2.2");
    const n6 = sh("ip", "-6", "neigh", "show", "dev", IF, "to", "2001:db8::2");
    echo.kill("SIGINT");
    expect(await echo.exit()).toBe(0);
    expect(n4).toContain("lladdr 02:00:00:00:00:01");
    expect(n6).toContain("lladdr 02:00:00:00:00:01");
    expect(echo.stderr).toMatch(/6 requests answered, [1-9]\d* ARP\/neighbour solicitations?\n/);
    const lines = echo.stdout.trim().split("\n");
    expect(lines.filter((l) => /IP 192\.0\.2\.1 > 192\.0\.2\.2: ICMP echo request, id \d+, seq [123], length 64$/.test(l)).length).toBe(3);
    expect(lines.filter((l) => /IP6 2001:db8::1 > 2001:db8::2: ICMP6, echo request, id \d+, seq [123], length 64$/.test(l)).length).toBe(3);
    expect(lines.some((l) => /ARP, Request who-has 192\.0\.2\.2 tell 192\.0\.2\.1/.test(l))).toBe(true);
    expect(lines.some((l) => /neighbor solicitation, who has 2001:db8::2/.test(l))).toBe(true);
    expect(allPrintable(echo.stdout + echo.stderr)).toBe(true);
  }, 40_000);

  ptest("--mac picks the responder's MAC; DAD of a new address on the tap is not answered (no dadfailed)", async () => {
    spawnSync("ip", ["neigh", "flush", "dev", IF]);
    const echo = bg(["-q", "echo", IF, "--mac", "02:12:34:56:78:9A", "--timeout", "30"]);
    await waitAttached(IF, echo); // -q: nothing printed
    sh("ip", "addr", "add", "2001:db8::3/64", "dev", IF); // with DAD: the kernel solicits it from ::
    expect(ping(["-c", "2", "-l", "2", "-W", "2", "192.0.2.77"]).out).toContain("2 received");
    expect(sh("ip", "neigh", "show", "dev", IF, "to", "192.0.2.77")).toContain("lladdr 02:12:34:56:78:9a");
    await new Promise((r) => setTimeout(r, 1500)); // DAD: one probe, a one-second wait
    const a = sh("ip", "-6", "addr", "show", "dev", IF);
    expect(a).toContain("2001:db8::3/64");
    expect(a).not.toContain("dadfailed");
    echo.kill("SIGINT");
    expect(await echo.exit()).toBe(0);
    expect(echo.stdout).toBe("");
    expect(echo.stderr.trim()).toMatch(/^2 requests answered, [1-9]\d* ARP\/neighbour solicitations?$/);
  }, 20_000);

  itest("bad --mac: exit 2, one line", () => {
    for (const mac of ["01:00:00:00:00:01", "00:00:00:00:00:00", "02:00:00:00:01", "zz:00:00:00:00:01"]) {
      const r = tunkit(["echo", IF, "--mac", mac]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(r.stderr).toContain(mac);
    }
    const own = ipLink(IF)!.address as string;
    const r = tunkit(["echo", IF, "--mac", own, "--timeout", "0.2"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("own");
  });
});
