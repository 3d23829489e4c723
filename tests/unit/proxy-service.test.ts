// The service side of tun2socks, pure parts: config file (TOML) parsing and printing, the
// leveled rate-limited log, Prometheus text, metrics addresses, uid rules in the auto-route plan.
import { describe, expect, test } from "bun:test";
import { formatTunnelConfig, mergeTunnelOptions, parseTunnelConfig, TUNNEL_OPTIONS } from "../../proxy/config.ts";
import { TunnelLog } from "../../proxy/log.ts";
import { metricsText, parseMetricsAddress } from "../../proxy/metrics.ts";
import { TunnelStats } from "../../proxy/stats.ts";
import { parseUidRange, planAutoRoute } from "../../proxy/autoroute.ts";
import { planTunnelCli } from "../../cli/socks.ts";
import { UsageError } from "../../common/errors.ts";

describe("config file", () => {
  const full = `# a tunnel
device = "tun0"
proxy = "socks5://alice:s3cret@192.0.2.2:1080"
address = ["198.18.0.1/30", "fd54:4b::1/126"]
mtu = 1500
auto-route = true
exclude = ["10.0.0.0/8"]
fwmark = 0x54
include-uid = ["1000-1999", 2000]
dns = "fake-ip"
log-level = "debug"
max-sessions = 5000
metrics = "127.0.0.1:9184"
`;
  test("every key is an option of the command line, and a full file plans", () => {
    const c = parseTunnelConfig(full, "t.toml");
    expect(c.device).toBe("tun0");
    expect(c.options).toMatchObject({ mtu: "1500", "auto-route": true, fwmark: "84", "include-uid": ["1000-1999", "2000"] });
    for (const k of Object.keys(c.options)) expect(TUNNEL_OPTIONS.some((o) => o.name === k)).toBe(true);
    const p = planTunnelCli("socks", c.device!, c.options);
    expect(p).toMatchObject({ mtu: 1500, fwmark: 0x54, autoRoute: true, maxSessions: 5000, includeUids: ["1000-1999", "2000"] });
    expect(p.service).toMatchObject({ logLevel: "debug", metrics: { host: "127.0.0.1", port: 9184 } });
  });
  test("the command line wins; --print-config's TOML parses back to the same values", () => {
    const c = parseTunnelConfig(full, "t.toml");
    const merged = mergeTunnelOptions(c.options, { mtu: "9000", "log-level": "warn" });
    expect(merged.mtu).toBe("9000");
    expect(merged["log-level"]).toBe("warn");
    const text = formatTunnelConfig("tun0", merged);
    expect(text).toContain("mtu = 9000");
    const back = parseTunnelConfig(text, "printed");
    expect(back).toEqual({ device: "tun0", options: merged });
  });
  test.each([
    ['proxy = "socks5://192.0.2.2"\nauto_route = true\n', 'Invalid config "f.toml": unknown key "auto_route" (did you mean "auto-route"?)'],
    ['proxy = "socks5://192.0.2.2"\nfrobnicate = 1\n', 'unknown key "frobnicate"'],
    ['mtu = "big"\n', null], // a string where a number goes is left to the option's own check
    ['auto-route = "yes"\n', 'key "auto-route" must be true or false'],
    ['exclude = ["10.0.0.0/8", 7, true]\n', 'key "exclude[2]" must be a string'],
    ['dns = "udp"\n', 'key "dns" must be one of fake-ip, tcp, not "udp"'],
    ['[route]\ntable = 5\n', 'unknown key "route"'],
    ['proxy = \n', 'Invalid config "f.toml": line 1'],
    ['device = 5\n', 'key "device" must be a string'],
  ])("refused: %j", (text, msg) => {
    if (msg === null) {
      const c = parseTunnelConfig(text, "f.toml");
      expect(() => planTunnelCli("socks", "tun0", { ...c.options, proxy: "socks5://192.0.2.2" })).toThrow('Invalid MTU "big"');
      return;
    }
    expect(() => parseTunnelConfig(text, "f.toml")).toThrow(UsageError);
    expect(() => parseTunnelConfig(text, "f.toml")).toThrow(msg);
  });
});

describe("log", () => {
  test("levels: debug lines only at debug; warnings prefixed", () => {
    const lines: string[] = [];
    const info = new TunnelLog("info", (l) => lines.push(l));
    info.debug("flow");
    info.info("ready");
    info.warn("w", "slow proxy");
    expect(lines).toEqual(["ready", "warning: slow proxy"]);
    expect(info.debugOn).toBe(false);
    const err = new TunnelLog("error", (l) => lines.push(l));
    err.warn("w", "nope");
    err.info("nope");
    expect(lines.length).toBe(2);
  });
  test("errors are rate-limited per kind: a burst, then one a second, and the count of what was left out", () => {
    let now = 0;
    const lines: string[] = [];
    const log = new TunnelLog("info", (l) => lines.push(l), { burst: 3, perSec: 1, now: () => now });
    for (let i = 0; i < 100; i++) log.error("proxy", `e${i}`);
    log.error("other", "x");
    expect(lines).toEqual(["e0", "e1", "e2", "x"]);
    now = 1000;
    log.error("proxy", "later");
    expect(lines.at(-1)).toBe('later (97 more "proxy" lines suppressed)');
    expect(log.suppressed).toBe(97);
  });
});

describe("metrics", () => {
  test("Prometheus text: flows by state, bytes, errors by kind, DNS, proxy health, handshake histogram", () => {
    const s = new TunnelStats();
    s.tcpTotal = 7;
    s.bytesUp = 100;
    s.bytesDown = 2000;
    s.countError("proxy-unreachable");
    s.countError("proxy-unreachable");
    s.countError("emfile");
    s.dnsFake = 3;
    s.observeHandshake(0.7);
    s.observeHandshake(30);
    const text = metricsText({ stats: s, tcpByState: () => ({ open: 2, closed: 1 }), proxyUp: () => true });
    for (const l of [
      'tunkit_tcp_flows{state="open"} 2',
      "tunkit_tcp_flows_total 7",
      'tunkit_bytes_total{direction="down"} 2000',
      'tunkit_errors_total{kind="proxy-unreachable"} 2',
      'tunkit_errors_total{kind="emfile"} 1',
      'tunkit_dns_answers_total{how="fake-ip"} 3',
      "tunkit_proxy_up 1",
      'tunkit_proxy_handshake_seconds_bucket{le="0.0005"} 0',
      'tunkit_proxy_handshake_seconds_bucket{le="0.001"} 1',
      'tunkit_proxy_handshake_seconds_bucket{le="0.025"} 1',
      'tunkit_proxy_handshake_seconds_bucket{le="0.05"} 2',
      'tunkit_proxy_handshake_seconds_bucket{le="+Inf"} 2',
      "tunkit_proxy_handshake_seconds_count 2",
      "# TYPE tunkit_proxy_handshake_seconds histogram",
    ]) expect(text.split("\n")).toContain(l);
    // every sample line is NAME{labels} VALUE
    for (const l of text.trim().split("\n")) if (!l.startsWith("#")) expect(l).toMatch(/^tunkit_[a-z_]+(\{[a-z]+="[^"]*"\})? -?[0-9.e+]+$/);
  });
  test.each([
    ["127.0.0.1:9184", { host: "127.0.0.1", port: 9184 }],
    ["[::1]:9184", { host: "::1", port: 9184 }],
    ["localhost:1", { host: "127.0.0.1", port: 1 }],
    ["unix:/run/tunkit/m.sock", { path: "/run/tunkit/m.sock" }],
  ])("address %s", (text, want) => expect(parseMetricsAddress(text)).toEqual(want as never));
  test.each(["0.0.0.0:9184", "192.0.2.1:80", "[2001:db8::1]:80", "127.0.0.1:0", "unix:relative", "9184"])("refused address %s", (text) => {
    expect(() => parseMetricsAddress(text)).toThrow(UsageError);
  });
});

describe("uid rules", () => {
  test("ranges", () => {
    expect(parseUidRange("1000")).toEqual({ start: 1000, end: 1000 });
    expect(parseUidRange("0-65534")).toEqual({ start: 0, end: 65534 });
    for (const bad of ["x", "5-1", "-1", "1-", "4294967295"]) expect(() => parseUidRange(bad)).toThrow(UsageError);
  });
  test("P: the marked sockets and excluded users jump past tunkit's rules; included users jump on, the rest past", () => {
    const p = planAutoRoute({ dev: "t", families: [4], proxy: [], fwmark: 0x54, excludeUids: [{ start: 0, end: 999 }], includeUids: [{ start: 1000, end: 1999 }, { start: 5000, end: 5000 }] });
    expect(p.rules.filter((r) => r.priority === 8484)).toEqual([
      { family: 2, protocol: 84, priority: 8484, fwmark: 0x54, fwmask: 0x54, action: 2, goto: 8489 },
      { family: 2, protocol: 84, priority: 8484, uidRange: { start: 0, end: 999 }, action: 2, goto: 8489 },
      { family: 2, protocol: 84, priority: 8484, uidRange: { start: 1000, end: 1999 }, action: 2, goto: 8485 },
      { family: 2, protocol: 84, priority: 8484, uidRange: { start: 5000, end: 5000 }, action: 2, goto: 8485 },
      { family: 2, protocol: 84, priority: 8484, action: 2, goto: 8489 },
    ]);
  });
});
