import { describe, expect, test } from "bun:test";
import { autoRuleWire, planAutoRoute } from "../../proxy/autoroute.ts";
import { ruleKey } from "../../proxy/registry.ts";
import { decodeRule, encodeRule } from "../../netlink/route/rule.ts";
import { ByteWriter } from "../../netlink/core/writer.ts";
import { fakePeerFor, planProxyTunnel } from "../../proxy/setup.ts";
import { planTunnelCli } from "../../cli/socks.ts";
import { RTPROT_TUNKIT } from "../../netlink/route/constants.ts";
import { UsageError } from "../../common/errors.ts";

describe("auto-route plan", () => {
  test("DNS hijack first, then exclusions (proxy, --exclude), suppress_prefixlength 0, the table; a blocked family unreachable; all protocol 84", () => {
    const p = planAutoRoute({ dev: "tun0", families: [4, 6], proxy: ["192.0.2.2", "2001:db8::2"], exclude: ["10.1.2.3/8"] });
    const out = (family: number, priority: number, to: string) => ({ family, priority, to, action: 2, goto: 8489, protocol: RTPROT_TUNKIT });
    expect(p.rules).toEqual([
      { family: 2, priority: 8485, dport: 53, table: 8484, protocol: RTPROT_TUNKIT },
      out(2, 8486, "192.0.2.2/32"),
      out(2, 8486, "10.0.0.0/8"),
      { family: 2, priority: 8487, table: 254, suppressPrefixlen: 0, protocol: RTPROT_TUNKIT },
      { family: 2, priority: 8488, table: 8484, protocol: RTPROT_TUNKIT },
      { family: 2, priority: 8489, action: "nop", protocol: RTPROT_TUNKIT },
      { family: 10, priority: 8485, dport: 53, table: 8484, protocol: RTPROT_TUNKIT },
      out(10, 8486, "2001:db8::2/128"),
      { family: 10, priority: 8487, table: 254, suppressPrefixlen: 0, protocol: RTPROT_TUNKIT },
      { family: 10, priority: 8488, table: 8484, protocol: RTPROT_TUNKIT },
      { family: 10, priority: 8489, action: "nop", protocol: RTPROT_TUNKIT },
    ]);
    expect(p.routes).toEqual([
      { dst: "default", family: 2, dev: "tun0", table: 8484, protocol: 84, scope: "link" },
      { dst: "default", family: 10, dev: "tun0", table: 8484, protocol: 84, scope: "link" },
    ]);
    expect(RTPROT_TUNKIT).toBe(84);
    const b = planAutoRoute({ dev: "tun0", families: [4], block: [6], proxy: ["192.0.2.2"], exclude: ["2001:db8:5::/48"] });
    expect(b.rules.filter((r) => r.family === 10)).toEqual([
      out(10, 8486, "2001:db8:5::/48"),
      { family: 10, priority: 8488, action: "unreachable", protocol: RTPROT_TUNKIT },
      { family: 10, priority: 8489, action: "nop", protocol: RTPROT_TUNKIT },
    ]);
    expect(b.routes.length).toBe(1);
    // a proxy on port 53: its exclusion goes before the hijack
    const d = planAutoRoute({ dev: "tun0", families: [4], proxy: ["192.0.2.2"], proxyPort: 53 });
    expect(d.rules.slice(0, 2)).toEqual([
      out(2, 8484, "192.0.2.2/32"),
      { family: 2, priority: 8485, dport: 53, table: 8484, protocol: RTPROT_TUNKIT },
    ]);
  });
  test("the wire form carries the port range, and its key equals the decoded rule's", () => {
    const w = autoRuleWire({ family: 2, priority: 8485, dport: 53, table: 8484, protocol: RTPROT_TUNKIT });
    expect(w.dportRange).toEqual({ start: 53, end: 53 });
    const bw = new ByteWriter();
    encodeRule(bw, w);
    expect(ruleKey(decodeRule(bw.finish()))).toBe(ruleKey(w));
    const g = autoRuleWire({ family: 2, priority: 8484, fwmark: 0x54, fwmask: 0x54, action: 2, goto: 8489, protocol: RTPROT_TUNKIT });
    const bg = new ByteWriter();
    encodeRule(bg, g);
    expect(decodeRule(bg.finish())).toMatchObject({ goto: 8489, action: 2, fwmark: 0x54 });
    const u = autoRuleWire({ family: 10, priority: 8488, action: "unreachable", protocol: RTPROT_TUNKIT });
    const bu = new ByteWriter();
    encodeRule(bu, u);
    expect(ruleKey(decodeRule(bu.finish()))).toBe(ruleKey(u));
    expect(ruleKey(u)).not.toBe(ruleKey(w));
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
    expect([s.dns, s.pool?.cidr, s.autoRoute, s.fwmark]).toEqual(["fake-ip", "198.18.0.0/15", { table: 8484, priority: 8484, exclude: ["10.0.0.0/8"], includeUids: [], excludeUids: [] }, 0x54]);
    expect([s.pool6?.cidr, s.pool6Explicit, p.pool6]).toEqual(["fdfe:dcba:9876::/48", false, undefined]);
    const s6 = planProxyTunnel({ kind: "http", name: "tun0", proxy: "http://192.0.2.2:8888", dns: "fake-ip", fakeIp6Pool: "fd00:1:2::1/64" });
    expect([s6.pool6?.cidr, s6.pool6Explicit]).toEqual(["fd00:1:2::/64", true]);
    expect(planTunnelCli("socks", "tun0", { proxy: "socks5://192.0.2.2", "udp-timeout": "5", impair: "loss=0.05,reorder=0.1,seed=3" }))
      .toMatchObject({ udpTimeoutMs: 5000, impair: { loss: 0.05, reorder: 0.1, seed: 3 } });
  });
  test.each([
    [{ proxy: "socks5://192.0.2.2", mtu: "100" }, 'Invalid MTU "100"'],
    [{ proxy: "socks5://192.0.2.2", table: "x", "auto-route": true }, 'Invalid table "x"'],
    [{ proxy: "socks5://192.0.2.2", table: "100" }, "need --auto-route"],
    [{ proxy: "socks5://192.0.2.2", "fake-ip-pool": "10.0.0.0/8" }, "needs --dns fake-ip"],
    [{ proxy: "socks5://192.0.2.2", dns: "fake-ip", "fake-ip-pool": "10.0.0.0/31" }, "Invalid fake-ip pool"],
    [{ proxy: "socks5://192.0.2.2", "fake-ip6-pool": "fdfe::/48" }, "Option --fake-ip6-pool needs --dns fake-ip"],
    [{ proxy: "socks5://192.0.2.2", dns: "fake-ip", "fake-ip6-pool": "198.18.0.0/15" }, 'Invalid IPv6 fake-ip pool "198.18.0.0/15"'],
    [{ proxy: "socks5://192.0.2.2", address: ["198.18.0.1/40"] }, 'Invalid prefix length "40"'],
    [{ proxy: "socks5://192.0.2.2", impair: "loss=2" }, "Invalid impairment"],
    [{ proxy: "socks5://192.0.2.2", "connect-timeout": "5" }, "Invalid connect timeout"],
    [{ proxy: "socks5://192.0.2.2", "include-uid": ["1000"] }, "need --auto-route"],
    [{ proxy: "socks5://192.0.2.2", "auto-route": true, "include-uid": ["5-1"] }, 'Invalid uid range "5-1"'],
    [{ proxy: "socks5://192.0.2.2", fwmark: "0" }, 'Invalid fwmark "0"'],
    [{ proxy: "socks5://192.0.2.2", "bind-interface": "a/b" }, "Invalid"],
    [{ proxy: "socks5://192.0.2.2", "log-level": "loud" }, 'Invalid log level "loud"'],
    [{ proxy: "socks5://192.0.2.2", metrics: "0.0.0.0:9184" }, "only loopback"],
    [{ proxy: "socks5://192.0.2.2", "max-sessions": "-1" }, "Invalid max sessions"],
    [{}, "Missing --proxy"],
  ])("%o", (f, msg) => {
    expect(() => planTunnelCli("socks", "tun0", f as never)).toThrow(UsageError);
    expect(() => planTunnelCli("socks", "tun0", f as never)).toThrow(msg);
  });
});
