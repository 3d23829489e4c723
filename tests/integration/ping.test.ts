// `tunkit ping`: ICMP/ICMPv6 echo with tunkit's own sockets, through a tun answered by
// `tunkit echo`, held against the system's ping; the failure cases say where the requests went.
import { describe, expect, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import { itest, needing, sh, ipLink, makeDevice } from "./_ns.ts";
import { bg, tunkit, waitAttached, type Bg } from "./dump-cli.ts";

const { ptest } = needing("ping", ["ping"]);
const IF = "tkping0";

/** The reply lines of a ping output with the varying parts (id, time) blanked. */
const shape = (out: string) =>
  out
    .split("\n")
    .filter((l) => / bytes from |packets transmitted|^PING /.test(l))
    .map((l) => l.replace(/time=[\d.]+ ms/, "time=T ms").replace(/time \d+ms/, "time Tms"));

describe("tunkit ping", () => {
  let echo: Bg;
  beforeAll(async () => {
    if (!ipLink("lo")) return;
    makeDevice(IF, "tun", ["192.0.2.1/24", "2001:db8::1/64"]);
    echo = bg(["-q", "echo", IF]);
    await waitAttached(IF, echo);
  });
  afterAll(async () => {
    echo?.kill("SIGINT");
    await echo?.exit();
    spawnSync("ip", ["link", "del", IF]);
  });

  itest("IPv4 and IPv6 through the tun, answered by tunkit echo: ping's lines and statistics, exit 0", () => {
    const r4 = tunkit(["ping", "-c", "3", "-i", "0.2", "-W", "5", "192.0.2.2"]);
    expect({ code: r4.code, err: r4.stderr }).toEqual({ code: 0, err: "" });
    expect(r4.stdout).toStartWith("PING 192.0.2.2 (192.0.2.2) 56(84) bytes of data.\n");
    for (const seq of [1, 2, 3]) expect(r4.stdout).toMatch(new RegExp(`^64 bytes from 192\\.0\\.2\\.2: icmp_seq=${seq} ttl=64 time=\\d+(\\.\\d+)? ms$`, "m"));
    expect(r4.stdout).toMatch(/\n--- 192\.0\.2\.2 ping statistics ---\n3 packets transmitted, 3 received, 0% packet loss, time \d+ms\nrtt min\/avg\/max\/mdev = [\d.]+\/[\d.]+\/[\d.]+\/[\d.]+ ms\n$/);
    const r6 = tunkit(["ping", "-6", "-c", "2", "-i", "0.2", "-W", "5", "2001:db8::2"]);
    expect({ code: r6.code, err: r6.stderr }).toEqual({ code: 0, err: "" });
    expect(r6.stdout).toStartWith("PING 2001:db8::2(2001:db8::2) 56 data bytes\n");
    expect(r6.stdout).toMatch(/^64 bytes from 2001:db8::2: icmp_seq=2 ttl=64 time=[\d.]+ ms$/m);
    expect(r6.stdout).toContain("2 packets transmitted, 2 received, 0% packet loss");
  }, 30_000);

  ptest("the same lines as the system's ping (iputils), apart from the times", () => {
    const ours = tunkit(["ping", "-c", "2", "-i", "0.2", "-W", "5", "-s", "100", "192.0.2.2"]);
    const theirs = spawnSync("ping", ["-c", "2", "-i", "0.2", "-W", "5", "-s", "100", "192.0.2.2"], { encoding: "utf8", timeout: 20_000 });
    expect(theirs.status).toBe(0);
    expect(shape(ours.stdout)).toEqual(shape(theirs.stdout));
    const ours6 = tunkit(["ping", "-c", "1", "-W", "5", "2001:db8::2"]);
    const theirs6 = spawnSync("ping", ["-c", "1", "-W", "5", "2001:db8::2"], { encoding: "utf8", timeout: 20_000 });
    expect(shape(ours6.stdout)).toEqual(shape(theirs6.stdout));
  }, 30_000);

  itest("an unprivileged ping socket when ping_group_range allows it, a raw socket otherwise (--json tells)", () => {
    const before = sh("sysctl", "-n", "net.ipv4.ping_group_range").trim();
    try {
      sh("sysctl", "-qw", "net.ipv4.ping_group_range=1 0");
      const raw = JSON.parse(tunkit(["--json", "ping", "-c", "1", "-W", "5", "192.0.2.2"]).stdout);
      sh("sysctl", "-qw", "net.ipv4.ping_group_range=0 2147483647");
      const dgram = JSON.parse(tunkit(["--json", "ping", "-c", "1", "-W", "5", "192.0.2.2"]).stdout);
      expect([raw.socket, dgram.socket]).toEqual(["raw", "dgram"]);
      for (const o of [raw, dgram]) {
        expect(o).toMatchObject({ address: "192.0.2.2", family: 4, transmitted: 1, received: 1, loss: 0 });
        expect(o.replies[0]).toMatchObject({ seq: 1, from: "192.0.2.2", bytes: 64, ttl: 64, duplicate: false });
        expect(o.rtt.min).toBeGreaterThan(0);
      }
    } finally {
      sh("sysctl", "-qw", `net.ipv4.ping_group_range=${before}`);
    }
  }, 30_000);

  itest("-s, -t, -I: payload size, TTL and the interface reach the wire (tunkit dump sees them)", async () => {
    const d = bg(["--json", "dump", IF, "-c", "1", "icmp"]);
    await d.waitFor(/listening on/);
    const r = tunkit(["ping", "-c", "1", "-W", "5", "-s", "200", "-t", "9", "-I", IF, "192.0.2.2"]);
    expect({ code: r.code, err: r.stderr }).toEqual({ code: 0, err: "" });
    expect(r.stdout).toMatch(/^208 bytes from 192\.0\.2\.2: icmp_seq=1 ttl=64/m);
    expect(await d.exit()).toBe(0);
    expect(JSON.parse(d.stdout).ipv4).toMatchObject({ ttl: 9, totalLength: 228, src: "192.0.2.1", dst: "192.0.2.2" });
    const lo = tunkit(["ping", "-c", "1", "-W", "0.5", "-I", "lo", "192.0.2.2"]);
    expect(lo.code).toBe(1); // bound to lo: 192.0.2.2 is not there
  }, 30_000);

  itest("no reader on the tun: exit 1, and the hint says the tun has no reader", () => {
    makeDevice("tkping1", "tun", ["198.51.100.1/24"], { noIpv6: true });
    try {
      const r = tunkit(["ping", "-c", "2", "-i", "0.2", "-W", "0.5", "198.51.100.2"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("2 packets transmitted, 0 received, 100% packet loss");
      expect(r.stderr).toBe(
        "tunkit: no reply from 198.51.100.2 (2 sent, 0 received)\n" +
          "hint: 198.51.100.2 is routed into tkping1, which no program reads: the kernel drops what it routes there; attach a reader (for example: tunkit echo tkping1)\n",
      );
    } finally {
      spawnSync("ip", ["link", "del", "tkping1"]);
    }
  }, 30_000);

  itest("a reader that does not answer is named in the hint", async () => {
    makeDevice("tkping2", "tun", ["203.0.113.1/24"], { noIpv6: true });
    const d = bg(["dump", "tkping2", "--no-hex"]);
    try {
      await waitAttached("tkping2", d);
      const r = tunkit(["ping", "-c", "1", "-W", "0.5", "203.0.113.2"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(new RegExp(`^hint: 203\\.0\\.113\\.2 is routed into tkping2, read by \\S+ \\(pid ${d.child.pid}\\), which sent no echo reply back through it$`, "m"));
    } finally {
      d.kill("SIGINT");
      await d.exit();
      spawnSync("ip", ["link", "del", "tkping2"]);
    }
  }, 30_000);

  itest("no route: exit 1, the kernel's ENETUNREACH with a hint; bad input: exit 2, one line", () => {
    const r = tunkit(["ping", "-c", "1", "198.18.0.1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("tunkit: sendto 198.18.0.1: Network is unreachable (ENETUNREACH)\nhint: no route to 198.18.0.1 in this network namespace: add one (tunkit route add 198.18.0.1 dev IFACE)\n");
    for (const args of [["ping"], ["ping", "-c", "0", "192.0.2.2"], ["ping", "-s", "70000", "192.0.2.2"], ["ping", "-i", "x", "192.0.2.2"], ["ping", "-t", "0", "192.0.2.2"], ["ping", "-4", "-6", "192.0.2.2"], ["ping", "-6", "192.0.2.2"], ["ping", "192.0.2.300"], ["ping", "-I", "bad/name", "192.0.2.2"], ["ping", "192.0.2.2%tkping0"]]) {
      const b = tunkit(args);
      expect({ args, code: b.code, lines: b.stderr.trim().split("\n").length }).toEqual({ args, code: 2, lines: 1 });
      expect(b.stderr).toMatch(/^tunkit: /);
      expect(b.stdout).toBe("");
    }
  }, 180_000);

  itest("a host name through the resolver; localhost over loopback", () => {
    const r = tunkit(["ping", "-c", "1", "-W", "5", "localhost"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^PING localhost \((127\.0\.0\.1|::1)\)/);
  }, 20_000);
});
