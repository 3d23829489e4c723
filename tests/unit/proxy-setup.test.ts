import { describe, expect, test } from "bun:test";
import { planAutoRoute } from "../../proxy/autoroute.ts";
import { fakePeerFor, planProxyTunnel } from "../../proxy/setup.ts";
import { planTunnelCli } from "../../cli/socks.ts";
import { RTPROT_TUNKIT } from "../../netlink/route/constants.ts";
import { UsageError } from "../../common/errors.ts";

describe("auto-route plan", () => {
  test("exclusions first (proxy, --exclude), then suppress_prefixlength 0, then the table; all protocol 84", () => {
    const p = planAutoRoute({ dev: "tun0", families: [4, 6], proxy: ["192.0.2.2", "2001:db8::2"], exclude: ["10.1.2.3/8"] });
    expect(p.rules).toEqual([
      { family: 2, priority: 8484, to: "192.0.2.2/32", table: 254, protocol: RTPROT_TUNKIT },
      { family: 2, priority: 8484, to: "10.0.0.0/8", table: 254, protocol: RTPROT_TUNKIT },
      { family: 2, priority: 8485, table: 254, suppressPrefixlen: 0, protocol: RTPROT_TUNKIT },
      { family: 2, priority: 8486, table: 8484, protocol: RTPROT_TUNKIT },
      { family: 10, priority: 8484, to: "2001:db8::2/128", table: 254, protocol: RTPROT_TUNKIT },
      { family: 10, priority: 8485, table: 254, suppressPrefixlen: 0, protocol: RTPROT_TUNKIT },
      { family: 10, priority: 8486, table: 8484, protocol: RTPROT_TUNKIT },
    ]);
    expect(p.routes).toEqual([
      { dst: "default", family: 2, dev: "tun0", table: 8484, protocol: 84, scope: "link" },
      { dst: "default", family: 10, dev: "tun0", table: 8484, protocol: 84, scope: "link" },
    ]);
    expect(RTPROT_TUNKIT).toBe(84);
  });
  test("bad tables and priorities", () => {
    for (const table of [0, 254, 255, 253, 1.5]) expect(() => planAutoRoute({ dev: "t", families: [4], proxy: [], table })).toThrow(UsageError);
    expect(() => planAutoRoute({ dev: "t", families: [4], proxy: [], priority: 40000 })).toThrow(UsageError);
  });
});

describe("fake peer", () => {
  test.each([
    ["198.18.0.1", 30, "198.18.0.2", true],
    ["198.18.0.2", 30, "198.18.0.1", true], // .3 is the broadcast
    ["192.0.2.254", 24, "192.0.2.253", true],
    ["192.0.2.0", 31, "192.0.2.1", true],
    ["192.0.2.1", 32, "192.0.2.2", false],
    ["fd54:4b::1", 126, "fd54:4b::2", true],
    ["fd54:4b::3", 126, "fd54:4b::2", true],
    ["2001:db8::1", 128, "2001:db8::2", false],
    ["2001:db8::ffff", 112, "2001:db8::fffe", true],
  ] as const)("%s/%d -> %s", (a, len, peer, covered) => {
    expect(fakePeerFor(a, len)).toEqual({ peer, covered });
  });
});

describe("command-line plans (no syscall)", () => {
  test("defaults", () => {
    const p = planProxyTunnel({ kind: "http", name: "tun0", proxy: "http://192.0.2.2:8888" });
    expect([p.dns, p.connectTimeoutMs, p.udpIdleMs, p.autoRoute]).toEqual(["tcp", 10_000, 60_000, undefined]);
    const s = planProxyTunnel({ kind: "socks", name: "tun0", proxy: "socks5://192.0.2.2", dns: "fake-ip", autoRoute: true, exclude: ["10.0.0.0/8"] });
    expect([s.dns, s.pool?.cidr, s.autoRoute]).toEqual(["fake-ip", "198.18.0.0/15", { table: 8484, priority: 8484, exclude: ["10.0.0.0/8"] }]);
    expect([s.pool6?.cidr, s.pool6Explicit, p.pool6]).toEqual(["fdfe:dcba:9876::/48", false, undefined]);
    const s6 = planProxyTunnel({ kind: "http", name: "tun0", proxy: "http://192.0.2.2:8888", dns: "fake-ip", fakeIp6Pool: "fd00:1:2::1/64" });
    expect([s6.pool6?.cidr, s6.pool6Explicit]).toEqual(["fd00:1:2::/64", true]);
    expect(planTunnelCli("socks", "tun0", { proxy: "socks5://192.0.2.2", udpTimeout: "5", impair: "loss=0.05,reorder=0.1,seed=3" }))
      .toMatchObject({ udpTimeoutMs: 5000, impair: { loss: 0.05, reorder: 0.1, seed: 3 } });
  });
  test.each([
    [{ proxy: "socks5://192.0.2.2", mtu: "100" }, 'Invalid MTU "100"'],
    [{ proxy: "socks5://192.0.2.2", table: "x", autoRoute: true }, 'Invalid table "x"'],
    [{ proxy: "socks5://192.0.2.2", table: "100" }, "need --auto-route"],
    [{ proxy: "socks5://192.0.2.2", fakeIpPool: "10.0.0.0/8" }, "needs --dns fake-ip"],
    [{ proxy: "socks5://192.0.2.2", dns: "fake-ip", fakeIpPool: "10.0.0.0/31" }, "Invalid fake-ip pool"],
    [{ proxy: "socks5://192.0.2.2", fakeIp6Pool: "fdfe::/48" }, "Option --fake-ip6-pool needs --dns fake-ip"],
    [{ proxy: "socks5://192.0.2.2", dns: "fake-ip", fakeIp6Pool: "198.18.0.0/15" }, 'Invalid IPv6 fake-ip pool "198.18.0.0/15"'],
    [{ proxy: "socks5://192.0.2.2", address: ["198.18.0.1/40"] }, 'Invalid prefix length "40"'],
    [{ proxy: "socks5://192.0.2.2", impair: "loss=2" }, "Invalid impairment"],
    [{ proxy: "socks5://192.0.2.2", connectTimeout: "5" }, "Invalid connect timeout"],
  ])("%o", (f, msg) => {
    expect(() => planTunnelCli("socks", "tun0", f as never)).toThrow(UsageError);
    expect(() => planTunnelCli("socks", "tun0", f as never)).toThrow(msg);
  });
});
