import { describe, expect, test } from "bun:test";
import { UsageError } from "../../common/mod.ts";
import { resolveUser, resolveGroup, userName, invokingUid, capEff, diagnose } from "../../tun/mod.ts";
import { cidr, intInRange, parseWords, routePrefix, splitLine, ipAddress } from "../../cli/args.ts";
import { planRoute, planRouteList, planRouteGet } from "../../cli/route.ts";
import { planAddress } from "../../cli/addr.ts";
import { planLinkAdd, planLinkSet } from "../../cli/link.ts";
import { planRule } from "../../cli/rule.ts";
import { planNeigh } from "../../cli/neigh.ts";
import { planUp } from "../../cli/up.ts";
import { planMonitor } from "../../cli/monitor.ts";
import { describeError } from "../../cli/exit.ts";
import { commanderMessage, formatTable, routeText, addressText } from "../../cli/output.ts";

const usage = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error("expected a UsageError");
};

describe("addresses and prefixes", () => {
  test("cidr parses v4 and v6 and reports bad prefixes in house style", () => {
    expect(cidr("192.0.2.1/24")).toEqual({ family: 2, address: "192.0.2.1", prefixLen: 24, bare: false });
    expect(cidr("2001:db8::1/64").prefixLen).toBe(64);
    expect(cidr("192.0.2.1").prefixLen).toBe(32);
    expect(usage(() => cidr("192.0.2.1/33"))).toBe('Invalid prefix length "33" for IPv4: expected 0..32');
    expect(usage(() => cidr("2001:db8::1/129"))).toBe('Invalid prefix length "129" for IPv6: expected 0..128');
    expect(usage(() => cidr("192.0.2.1/-1"))).toContain('"-1"');
    expect(usage(() => cidr("300.1.1.1/24"))).toContain('"300.1.1.1"');
    expect(usage(() => cidr("default"))).toContain('"default"');
  });
  test("route prefixes refuse host bits and accept default", () => {
    expect(routePrefix("default").prefixLen).toBe(0);
    expect(routePrefix("default", 10).address).toBe("::");
    expect(usage(() => routePrefix("198.51.100.1/24"))).toBe('Invalid prefix "198.51.100.1/24": host bits set beyond /24 (did you mean 198.51.100.0/24?)');
    expect(routePrefix("2001:db8::/32").family).toBe(10);
  });
  test("ipAddress refuses prefixes and names the value", () => {
    expect(ipAddress("2001:db8::1").family).toBe(10);
    expect(usage(() => ipAddress("192.0.2.1/24", undefined, "gateway"))).toContain('Invalid gateway "192.0.2.1/24"');
    expect(usage(() => ipAddress("nope", undefined, "gateway"))).toBe('Invalid gateway "nope": expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1)');
  });
  test("intInRange", () => {
    expect(intInRange("1400", "MTU", 68, 65535)).toBe(1400);
    expect(usage(() => intInRange("70000", "MTU", 68, 65535))).toBe('Invalid MTU "70000": expected 68..65535');
    for (const bad of ["", "1.5", "-1", "01", "1e3", "12abc"]) expect(() => intInRange(bad, "metric", 0, 10)).toThrow(UsageError);
  });
});

describe("word parser", () => {
  const spec = { dev: { value: true }, onlink: { value: false }, metric: { value: true, aliases: ["priority"] } };
  test("keys, flags, aliases, positional", () => {
    const p = parseWords(["10.0.0.0/8", "priority", "5", "onlink", "dev", "tun0"], spec, "route add", 1);
    expect(p.positional).toEqual(["10.0.0.0/8"]);
    expect(p.get("metric")).toBe("5");
    expect(p.get("onlink")).toBe(true);
    expect(p.get("dev")).toBe("tun0");
  });
  test("unknown word, twice, missing value", () => {
    expect(usage(() => parseWords(["dev", "a", "bogus"], spec, "route add"))).toBe('Unknown word "bogus" in "route add": expected dev, onlink, metric');
    expect(usage(() => parseWords(["dev", "a", "dev", "b"], spec, "x"))).toBe('Word "dev" given twice in "x"');
    expect(usage(() => parseWords(["dev"], spec, "x"))).toBe('Missing value after "dev" in "x"');
  });
  test("splitLine: comments, quotes, escapes", () => {
    expect(splitLine("route add 10.0.0.0/8 dev tun0 # vpn")).toEqual(["route", "add", "10.0.0.0/8", "dev", "tun0"]);
    expect(splitLine("   # only a comment")).toEqual([]);
    expect(splitLine("")).toEqual([]);
    expect(splitLine(`a "b c" 'd#e' f\\ g`)).toEqual(["a", "b c", "d#e", "f g"]);
    expect(usage(() => splitLine('a "b'))).toContain("Unterminated");
  });
});

describe("command planners (validation before any syscall)", () => {
  test("route add forms, read as ip reads them", () => {
    expect(planRoute(["198.51.100.0/24", "dev", "tun0", "metric", "10"], "route add")).toMatchObject({ dst: "198.51.100.0/24", dev: "tun0", metric: 10 });
    expect(planRoute(["blackhole", "203.0.113.0/24"], "route add").type).toBe("blackhole");
    expect(planRoute(["to", "unreachable", "203.0.113.0/24"], "route add").type).toBe("unreachable");
    expect(planRoute(["default", "via", "2001:db8::1"], "route add").family).toBe(10);
    expect(planRoute(["2001:db8:1::/48", "via", "2001:db8::2", "dev", "tun0", "ta", "100", "proto", "static", "onlink", "mtu", "lock", "1400"], "route add"))
      .toMatchObject({ table: 100, protocol: "static", onlink: true, metrics: { mtu: 1400 }, lock: ["mtu"] });
    // ip's abbreviations: "pri" is priority, "d" is dsfield (dev must be spelled out).
    expect(planRoute(["10.0.0.0/8", "dev", "tun0", "pri", "7", "d", "0x10"], "route add")).toMatchObject({ metric: 7, tos: "0x10" });
    expect(planRoute(["10.0.0.0/8", "nexthop", "via", "192.0.2.2", "dev", "tun0", "weight", "2", "nexthop", "via", "192.0.2.3", "dev", "tun0"], "route add").nexthops)
      .toEqual([{ gateway: "192.0.2.2", dev: "tun0", weight: 2 }, { gateway: "192.0.2.3", dev: "tun0" }]);
    expect(planRoute(["10.0.0.0/8", "via", "inet6", "2001:db8::1", "dev", "tun0"], "route add").gateway).toBe("2001:db8::1");
    expect(usage(() => planRoute(["10.0.0.0/8", "via", "2001:db8::1", "dev", "tun0"], "route add"))).toContain('write "via inet6 2001:db8::1"'.slice(0, 0) || "an IPv4 address is expected");
    expect(usage(() => planRoute(["blackhole", "203.0.113.0/24", "unreachable", "198.51.100.0/24"], "route add"))).toContain("Route type given twice");
    expect(usage(() => planRoute(["dev", "tun0"], "route add"))).toContain("Missing prefix");
    expect(usage(() => planRoute(["10.0.0.0/8", "via"], "route add"))).toBe('Missing value after "via" in "route add"');
    expect(usage(() => planRoute(["10.0.0.0/8", "dev", "tun0", "proto", "nonsense"], "route add"))).toContain('"nonsense"');
    expect(usage(() => planRoute(["10.0.0.0/8", "dev", "tun0", "src", "2001:db8::1"], "route add"))).toContain("source address");
  });
  test("route list/get", () => {
    expect(planRouteList(["table", "all"], {}).table).toBe("all");
    expect(planRouteList([], { family: 10 }).family).toBe(10);
    expect(planRouteList(["root", "10.0.0.0/8", "proto", "static"], {})).toMatchObject({ root: "10.0.0.0/8", protocol: "static", family: 2 });
    expect(planRouteList(["2001:db8::/32"], {})).toMatchObject({ exact: "2001:db8::/32", family: 10 });
    expect(planRouteGet(["198.51.100.7", "from", "192.0.2.1"]).opts.from).toBe("192.0.2.1");
    expect(usage(() => planRouteGet([]))).toContain("Missing address");
  });
  test("addr add/del", () => {
    expect(planAddress(["192.0.2.1/24", "dev", "tun0"], "addr add").spec).toEqual({ dev: "tun0", address: "192.0.2.1/24" });
    expect(planAddress(["dev", "tun0", "10.8.0.1", "peer", "10.8.0.2"], "addr add").spec.peer).toBe("10.8.0.2");
    expect(planAddress(["local", "2001:db8::1/64", "dev", "tun0", "nodad", "home"], "addr add").spec.flags).toEqual(["nodad", "home"]);
    expect(planAddress(["192.0.2.1/24", "dev", "tun0", "nodad"], "addr add").warnings).toEqual(["Warning: nodad option can be set only for IPv6 addresses"]);
    expect(usage(() => planAddress(["192.0.2.1/24"], "addr add"))).toContain('Missing "dev NAME" in "addr add"');
    expect(usage(() => planAddress(["192.0.2.1/24", "dev", "tun0", "peer", "2001:db8::2"], "addr add"))).toContain("2001:db8::2");
  });
  test("link set and add", () => {
    expect(planLinkSet(["tun0", "mtu", "1400", "up"])).toEqual({ dev: "tun0", changes: { up: true, mtu: 1400 } });
    expect(planLinkSet(["dev", "tun0", "name", "vpn0", "qlen", "10", "promisc", "on", "master", "br0"]).changes).toEqual({ name: "vpn0", txqlen: 10, promisc: true, master: "br0" });
    expect(usage(() => planLinkSet(["tun0"]))).toContain("Nothing to change");
    expect(usage(() => planLinkSet(["tun0", "name", "a/b"]))).toContain("Invalid interface name");
    expect(planLinkAdd(["v0", "type", "veth", "peer", "name", "v1", "mtu", "1400"], "link add")).toEqual({ name: "v0", kind: "veth", peer: { name: "v1", mtu: 1400 } });
    expect(planLinkAdd(["name", "vx0", "type", "vxlan", "id", "42", "remote", "192.0.2.2", "dstport", "4789"], "link add").vxlan).toEqual({ id: 42, remote: "192.0.2.2", dstport: 4789 });
    expect(usage(() => planLinkAdd(["x0"], "link add"))).toContain('Missing "type KIND"');
    expect(usage(() => planLinkAdd(["x0", "type", "wireguard"], "link add"))).toContain("not supported");
  });
  test("rules: ip's semantics (no action looks up main; actions anywhere)", () => {
    expect(planRule(["from", "192.0.2.0/24", "lookup", "100", "pref", "1000"], "rule add")).toEqual({ family: 2, from: "192.0.2.0/24", table: "100", action: "lookup", priority: 1000 });
    expect(planRule(["to", "2001:db8::/32", "not", "prohibit"], "rule add", 10)).toEqual({ family: 10, to: "2001:db8::/32", not: true, action: 8 });
    // ip reads a rule as IPv4 unless -6: an IPv6 prefix without it is refused, saying so
    expect(usage(() => planRule(["to", "2001:db8::/32", "prohibit"], "rule add"))).toContain("tunkit -6 rule");
    expect(planRule(["fwmark", "0x54/0xff", "lookup", "main", "proto", "84", "ipproto", "6", "dport", "443"], "rule add", 10)).toMatchObject({ family: 10, fwmark: 0x54, fwmask: 0xff, table: "main", protocol: "84", ipProto: "6", dport: "443" });
    expect(planRule(["from", "all"], "rule add")).toEqual({ family: 2, from: "all" });
    expect(planRule(["goto", "100", "pref", "50"], "rule add")).toMatchObject({ action: "goto", goto: 100, priority: 50 });
    expect(usage(() => planRule(["frob"], "rule add"))).toContain('Unknown word "frob"');
  });
  test("neighbours", () => {
    expect(planNeigh(["192.0.2.7", "lladdr", "02:00:00:00:00:07", "dev", "tap0", "nud", "permanent"], "neigh add")).toEqual({ dst: "192.0.2.7", lladdr: "02:00:00:00:00:07", dev: "tap0", state: "permanent" });
    expect(planNeigh(["proxy", "2001:db8::7", "dev", "tap0"], "neigh add")).toEqual({ dst: "2001:db8::7", proxy: true, dev: "tap0" });
    expect(usage(() => planNeigh(["192.0.2.7"], "neigh add"))).toContain("the device and the destination are required");
    expect(usage(() => planNeigh(["192.0.2.7", "dev", "tap0", "nud", "sleepy"], "neigh add"))).toContain('"sleepy"');
  });
  test("up: owner defaults, peer pairing, access options", () => {
    const p = planUp("tun0", ["192.0.2.1/24"], {}, 1000);
    expect(p.owner).toBeUndefined();
    expect(p.defaultOwner).toBe(1000);
    expect(planUp("tun0", [], { user: "0" }, 1000).owner).toBe(0);
    expect(planUp("tun0", [], { group: "0" }, 1000)).toMatchObject({ owner: null, group: 0 });
    expect(planUp("tun0", [], { anyUser: true }, 1000)).toMatchObject({ owner: null, group: null });
    expect(planUp("tun0", ["10.8.0.1/32"], { peer: "10.8.0.2" }, 0).addresses).toEqual([{ address: "10.8.0.1/32", peer: "10.8.0.2" }]);
    expect(usage(() => planUp("tun0", [], { anyUser: true, user: "0" }, 0))).toContain("--any-user");
    expect(usage(() => planUp("tun0", [], { peer: "10.8.0.2" }, 0))).toContain("exactly one IPv4");
    expect(usage(() => planUp("tun0", [], { user: "no-such-user-here" }, 0))).toContain('Unknown user "no-such-user-here"');
    expect(usage(() => planUp("tun0", [], { mtu: "9" }, 0))).toBe('Invalid MTU "9": expected 68..65535');
  });
  test("monitor objects", () => {
    expect([...planMonitor([])].sort()).toEqual(["addr", "link", "route"]);
    expect([...planMonitor(["route", "address"])].sort()).toEqual(["addr", "route"]);
    expect(usage(() => planMonitor(["neigh"]))).toContain('Unknown word "neigh"');
  });
});

describe("owners (passwd/group text, no NSS)", () => {
  const passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n#comment\nbroken\n";
  const group = "root:x:0:\nnetdev:x:108:alice\n";
  test("names and ids", () => {
    expect(resolveUser("alice", passwd)).toBe(1000);
    expect(resolveUser("42", passwd)).toBe(42);
    expect(resolveGroup("netdev", group)).toBe(108);
    expect(userName(1000, passwd)).toBe("alice");
    expect(() => resolveUser("bob", passwd)).toThrow('Unknown user "bob"');
    expect(() => resolveUser("4294967295", passwd)).toThrow(UsageError);
    expect(() => resolveGroup("a:b", group)).toThrow(UsageError);
  });
  test("invoking user behind sudo", () => {
    expect(invokingUid({ SUDO_UID: "1000" }, 0)).toBe(1000);
    expect(invokingUid({ SUDO_UID: "1000" }, 5)).toBe(5);
    expect(invokingUid({}, 0)).toBe(0);
  });
});

describe("doctor checks from fixtures", () => {
  test("CapEff parsing", () => {
    expect(capEff("Name:\tx\nCapEff:\t000001ffffffffff\n")).toBe(0x1ffffffffffn);
    expect(capEff("nothing")).toBeUndefined();
  });
  test("everything missing: each failure says what to do", () => {
    const r = diagnose({
      status: "CapEff:\t0000000000000000\n",
      sysctl: (p) => (p.endsWith("max_user_namespaces") ? "0" : undefined),
      statTun: () => undefined,
      probeTun: () => new Error("no"),
    });
    const by = Object.fromEntries(r.map((c) => [c.check, c]));
    expect(by["tun-device"]!.status).toBe("fail");
    expect(by["tun-device"]!.fix).toContain("modprobe tun");
    expect(by["cap-net-admin"]!.status).toBe("fail");
    expect(by["cap-net-admin"]!.fix).toContain("setcap cap_net_admin+ep");
    expect(by["user-namespaces"]!.status).toBe("warn");
    expect(by["user-namespaces"]!.fix).toContain("max_user_namespaces");
  });
  test("all good", () => {
    const r = diagnose({
      status: "CapEff:\t0000000000001000\n",
      sysctl: (p) => (p.endsWith("max_user_namespaces") ? "1000" : p.endsWith("unprivileged_userns_clone") ? "1" : undefined),
      statTun: () => ({ char: true, major: 10, minor: 200 }),
      probeTun: () => ({ names: ["tun", "tap", "no_pi", "vnet_hdr", "multi_queue"] }),
    });
    expect(r.every((c) => c.status === "ok")).toBe(true);
  });
  test("userns disabled by Debian's switch", () => {
    const r = diagnose({
      status: "CapEff:\t0000000000001000\n",
      sysctl: (p) => (p.endsWith("max_user_namespaces") ? "1000" : p.endsWith("unprivileged_userns_clone") ? "0" : undefined),
      statTun: () => ({ char: true, major: 10, minor: 200 }),
      probeTun: () => ({ names: ["tun", "tap", "no_pi", "vnet_hdr", "multi_queue"] }),
    });
    expect(r.find((c) => c.check === "user-namespaces")!.fix).toContain("unprivileged_userns_clone=1");
  });
});

describe("errors and output", () => {
  test("exit codes and one-line messages", () => {
    expect(describeError(new UsageError('Invalid MTU "0": expected 68..65535'), [], false, UsageError)).toEqual({ code: 2, lines: ['tunkit: Invalid MTU "0": expected 68..65535'] });
    const sys = Object.assign(new Error("open /dev/net/tun: Permission denied (EACCES)"), { hint: "run as root" });
    expect(describeError(sys, [], false, UsageError)).toEqual({ code: 1, lines: ["tunkit: open /dev/net/tun: Permission denied (EACCES)", "hint: run as root"] });
    const bug = describeError(new TypeError("x is undefined"), [], false, UsageError);
    expect(bug.code).toBe(1);
    expect(bug.lines[0]).toBe("tunkit: internal error: x is undefined");
    expect(describeError(new TypeError("boom"), [], true, UsageError).lines.some((l) => l.includes("at "))).toBe(true);
    expect(commanderMessage({ code: "commander.unknownOption", message: "error: unknown option '--jsn'\n(Did you mean --json?)" }, [])).toBe("unknown option '--jsn' (did you mean --json?)");
  });
  test("table, route and address text", () => {
    expect(formatTable(["A", "BB"], [["x", ""], ["yyy", "z"]])).toBe("A    BB\nx    -\nyyy  z");
    expect(routeText({ type: "blackhole", dst: "203.0.113.0/24", flags: [] })).toBe("blackhole 203.0.113.0/24");
    expect(routeText({ dst: "default", gateway: "192.0.2.254", dev: "tun0", table: "100", protocol: "static", metric: 5, flags: ["onlink"], metrics: [{ mtu: 1400 }] }))
      .toBe("default via 192.0.2.254 dev tun0 table 100 proto static metric 5 onlink mtu 1400");
    expect(addressText({ family: "inet", local: "10.8.0.1", address: "10.8.0.2", prefixlen: 32, scope: "global", label: "tun0" }, "tun0"))
      .toBe("    inet 10.8.0.1 peer 10.8.0.2/32 scope global tun0\n       valid_lft forever preferred_lft forever");
  });
});
