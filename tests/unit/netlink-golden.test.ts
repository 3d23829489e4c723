// Golden bytes captured from iproute2 and the kernel (tests/fixtures/netlink/*.hex.json, made by
// capture.ts) decode to the values stored beside them, re-encode to the same values, and the
// library's own encoder reproduces iproute2's request bytes.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromHex, toHex } from "../../common/hex.ts";
import { parseMessages } from "../../netlink/core/message.ts";
import { ByteWriter } from "../../netlink/core/writer.ts";
import { decodeRtnl } from "../../netlink/route/decode.ts";
import { encodeLink, decodeLink } from "../../netlink/route/link.ts";
import { encodeAddress, decodeAddress } from "../../netlink/route/addr.ts";
import { encodeRoute, decodeRoute } from "../../netlink/route/route.ts";
import { encodeRule, decodeRule } from "../../netlink/route/rule.ts";
import { addressFromSpec, routeFromSpec, ruleFromSpec } from "../../netlink/rtnl.ts";
import { routeFilter, routeGetRequest } from "../../netlink/spec/route.ts";
import { addressFilter } from "../../netlink/spec/addr.ts";
import { RTNL_KINDS, RTNL_TYPES, type RtnlKind, type RtnlType } from "../../netlink/registry.ts";
import { decodeNeighbour, encodeNeighbour } from "../../netlink/route/neigh.ts";
import { neighFilter, neighFromSpec } from "../../netlink/spec/neigh.ts";
import { linkFromChanges, linkFromSpec } from "../../netlink/spec/link.ts";
import { decodeFixture, trimZeros } from "../fixtures/netlink/fixture.ts";

const dir = join(import.meta.dir, "../fixtures/netlink");
const names = readdirSync(dir).filter((f) => f.endsWith(".hex.json")).map((f) => f.replace(".hex.json", "")).sort();

function load(name: string): { command: string; messages: Array<{ dir: string; hex: string }> } {
  return JSON.parse(readFileSync(join(dir, `${name}.hex.json`), "utf8"));
}

describe("golden fixtures decode to the stored values", () => {
  test("there are fixtures for every message type, requests and replies", () => {
    const kinds = new Set<string>();
    for (const n of names) {
      for (const m of load(n).messages) for (const d of parseMessages(trimZeros(fromHex(m.hex)))) kinds.add(`${m.dir}:${decodeRtnl(d).kind}`);
    }
    for (const k of RTNL_KINDS) {
      expect(kinds).toContain(`send:${k}`);
      expect(kinds).toContain(`recv:${k}`);
    }
    expect(kinds).toContain("recv:error");
    expect(kinds).toContain("recv:done");
  });
  for (const n of names) {
    test(n, () => {
      const expected = JSON.parse(readFileSync(join(dir, `${n}.expected.json`), "utf8"));
      const got = load(n).messages.map((m) => ({ dir: m.dir, messages: decodeFixture(fromHex(m.hex)) }));
      expect(got).toEqual(expected);
    });
  }
});

describe("decode -> encode -> decode is stable for every captured message", () => {
  for (const n of names) {
    test(n, () => {
      for (const m of load(n).messages) {
        for (const msg of parseMessages(trimZeros(fromHex(m.hex)))) {
          const d = decodeRtnl(msg);
          if (!(d.kind in RTNL_TYPES)) continue;
          const t = RTNL_TYPES[d.kind as RtnlKind] as RtnlType<unknown>;
          const w = new ByteWriter();
          t.encode(w, d.value as never);
          const again = t.decode(w.finish());
          // IFA_FLAGS is only written for flags above 0xff, IFLA attributes the kernel alone sends are kept.
          expect(again).toEqual(d.value as never);
        }
      }
    });
  }
});

/**
 * The first message of type `type` sent in fixture `name` (with these NLM_F flags when given):
 * its flags and payload hex.
 */
function sent(name: string, type: number, flags?: number): { flags: number; body: string } {
  for (const m of load(name).messages) {
    if (m.dir !== "send") continue;
    for (const msg of parseMessages(trimZeros(fromHex(m.hex)))) {
      if (msg.type === type && (flags === undefined || msg.flags === flags)) return { flags: msg.flags, body: toHex(msg.body) };
    }
  }
  throw new Error(`no message of type ${type} in ${name}`);
}

function enc<T>(f: (w: ByteWriter, v: T) => void, v: T): string {
  const w = new ByteWriter();
  f(w, v);
  return toHex(w.finish());
}

describe("the library builds the same request bytes as iproute2", () => {
  const V0 = 3;
  const TUN7 = 4;
  const routes: Array<[string, Parameters<typeof routeFromSpec>[0], number | undefined]> = [
    ["route_add_gw_table", { dst: "203.0.113.0/24", gateway: "192.0.2.254", metric: 10, table: 1000 }, V0],
    ["route_add_blackhole", { dst: "198.51.100.0/24", type: "blackhole" }, undefined],
    ["route_add_unreachable", { dst: "198.51.100.128/25", type: "unreachable", table: 7 }, undefined],
    ["route_add_prohibit", { dst: "198.51.100.64/26", type: "prohibit", protocol: "static" }, undefined],
    ["route_add_onlink", { dst: "10.9.0.0/16", gateway: "10.255.0.1", onlink: true, prefsrc: "192.0.2.1" }, V0],
    ["route_dup", { dst: "203.0.113.0/24", gateway: "192.0.2.254" }, undefined],
  ];
  for (const [name, spec, oif] of routes) {
    test(name, () => {
      const ip = sent(name, 24);
      expect(ip.flags).toBe(0x605); // REQUEST|ACK|EXCL|CREATE
      expect(enc(encodeRoute, routeFromSpec(spec, oif))).toBe(ip.body);
    });
  }
  const V1 = 2;
  const dev = (d: string | number) => (d === "v0" ? V0 : d === "v1" ? V1 : Number(d));
  const metrics = {
    mtu: 1400, window: 65535, rtt: "10ms", rttvar: "5ms", ssthresh: 10, cwnd: 20, initcwnd: 10, initrwnd: 20, advmss: 1360,
    reordering: 3, hoplimit: 64, features: "ecn", quickack: 1, fastopen_no_cookie: 1, congctl: "cubic", rto_min: "200ms",
  } as const;
  const richer: Array<[string, Parameters<typeof routeFromSpec>[0], number, number]> = [
    ["route_add_multipath", { dst: "10.7.0.0/16", nexthops: [{ gateway: "192.0.2.2", dev: "v0", weight: 2 }, { gateway: "198.51.100.3", dev: "v1", onlink: true }] }, 24, 0x605],
    ["route_add_metrics_lock", { dst: "198.51.100.0/24", gateway: "192.0.2.254", metrics, lock: ["mtu", "rttvar", "congctl"] }, 24, 0x605],
    ["route_add_via_inet6", { dst: "10.8.0.0/16", gateway: "inet6 2001:db8::ff", dev: "v0" }, 24, 0x605],
    ["route_add_v6_pref_expires", { dst: "2001:db8:5::/48", gateway: "2001:db8::ff", dev: "v0", pref: "high", expires: 600 }, 24, 0x605],
    ["route_add_tos_realms", { dst: "10.9.9.0/24", dev: "v0", tos: "0x10", realms: "3/4", protocol: "static" }, 24, 0x605],
    ["route_add_local", { dst: "192.0.2.200", type: "local", dev: "v0" }, 24, 0x605],
    ["route_add_throw_src", { dst: "2001:db8:7::/48", src: "2001:db8:8::/48", type: "throw", table: 10 }, 24, 0x605],
    ["route_change", { dst: "203.0.113.0/24", gateway: "192.0.2.253", dev: "v0", metric: 0 }, 24, 0x105],
    ["route_prepend", { dst: "203.0.113.0/24", gateway: "192.0.2.253", table: 9 }, 24, 0x405],
    ["route_del_local", { dst: "192.0.2.200", type: "local", dev: "v0" }, 25, 0x5],
    ["route_del_v6", { dst: "2001:db8:1::/48" }, 25, 0x5],
  ];
  for (const [name, spec, type, flags] of richer) {
    test(`${name}: same attributes as ip`, () => {
      const ip = sent(name, type);
      expect(ip.flags).toBe(flags);
      expect(decodeRoute(fromHex(enc(encodeRoute, routeFromSpec(spec, dev, type === 25))))).toEqual(decodeRoute(fromHex(ip.body)));
    });
  }
  test("route_get_options: uid, ipproto, ports, tos, mark, oif as ip sends them", () => {
    const req = routeGetRequest("192.0.2.77", { from: "192.0.2.1", uid: 1000, ipProto: "6", sport: 1234, dport: 80, tos: "0x10", mark: 7 }, undefined, V0);
    expect(decodeRoute(fromHex(enc(encodeRoute, req)))).toEqual(decodeRoute(fromHex(sent("route_get_options", 26).body)));
    expect(decodeRoute(fromHex(enc(encodeRoute, routeGetRequest("2001:db8::77"))))).toEqual(decodeRoute(fromHex(sent("route_get_v6", 26).body)));
  });
  test("route_flush_table: without a family ip deletes the IPv4 routes of the table only", () => {
    const fx = load("route_flush_table");
    const msgs = (dir: string, t: number) => fx.messages.filter((m) => m.dir === dir).flatMap((m) => parseMessages(trimZeros(fromHex(m.hex)))).filter((m) => m.type === t);
    const deleted = msgs("send", 25).map((m) => decodeRoute(m.body));
    expect(deleted.map((r) => r.dst)).toEqual(["10.12.0.0", "10.13.0.0", "10.14.0.0", "10.15.0.0"]);
    const dumped = msgs("recv", 24).map((m) => decodeRoute(m.body));
    expect(dumped.filter(routeFilter({ table: 100 }))).toEqual(deleted);
    expect(dumped.some((r) => r.family === 10 && r.table === 100)).toBe(false); // ip asked for IPv4 only
  });
  const addrs: Array<[string, Parameters<typeof addressFromSpec>[0], number, number]> = [
    ["addr_add_brd_31", { dev: V0, address: "10.9.8.2/31", broadcast: "+" }, 20, 0x605],
    ["addr_add_brd_32", { dev: V0, address: "10.9.9.9/32", broadcast: "+" }, 20, 0x605],
    ["addr_add_brd_minus", { dev: V0, address: "10.9.6.2/24", broadcast: "-" }, 20, 0x605],
    ["addr_add_peer_brd", { dev: V0, address: "10.9.5.1", peer: "10.9.5.2/30", broadcast: "+" }, 20, 0x605],
    ["addr_add_v6_flags", { dev: V0, address: "2001:db8:2::1/64", flags: ["home", "mngtmpaddr", "optimistic", "noprefixroute"] }, 20, 0x605],
    ["addr_add_v4_flags_ignored", { dev: V0, address: "192.0.2.9/24", flags: ["nodad", "home", "permanent", "noprefixroute"] }, 20, 0x605],
    ["addr_add_autojoin", { dev: V0, address: "239.1.1.1/32", flags: ["autojoin"] }, 20, 0x605],
    ["addr_add_local_metric", { dev: V0, address: "192.0.2.77/24", metric: 50, scope: "link", anycast: "192.0.2.78" }, 20, 0x605],
    ["addr_replace", { dev: V0, address: "192.0.2.1/24", validLft: 600, preferredLft: 300 }, 20, 0x505],
    ["addr_change", { dev: V0, address: "192.0.2.1/24", metric: 7 }, 20, 0x105],
    ["addr_del_bare", { dev: V0, address: "10.30.151.99" }, 21, 0x5],
    ["addr_del_bare_v6", { dev: V0, address: "2001:db8::1" }, 21, 0x5],
    ["addr_del", { dev: V0, address: "192.0.2.1/24" }, 21, 0x5],
  ];
  for (const [name, spec, type, flags] of addrs) {
    test(`${name}: same attributes as ip`, () => {
      const ip = sent(name, type);
      expect(ip.flags).toBe(flags);
      expect(decodeAddress(fromHex(enc(encodeAddress, addressFromSpec(spec, V0, type === 21))))).toEqual(decodeAddress(fromHex(ip.body)));
    });
  }
  test("addr_flush_dev / addr_flush_label: the first round deletes exactly the dumped addresses the selectors pick", () => {
    for (const [name, filter, want] of [
      ["addr_flush_dev", { dev: V0 }, 7],
      ["addr_flush_label", { family: 2, label: "v0:*" }, 2],
    ] as const) {
      const fx = load(name);
      // Chronological: the dump's replies come before the first buffer of deletes.
      const firstDel = fx.messages.findIndex((m) => m.dir === "send" && parseMessages(trimZeros(fromHex(m.hex))).some((x) => x.type === 21));
      const dumped = fx.messages.slice(0, firstDel).filter((m) => m.dir === "recv").flatMap((m) => parseMessages(trimZeros(fromHex(m.hex)))).filter((m) => m.type === 20).map((m) => decodeAddress(m.body));
      const deleted = parseMessages(trimZeros(fromHex(fx.messages[firstDel]!.hex))).filter((x) => x.type === 21).map((m) => decodeAddress(m.body));
      expect(deleted.length).toBe(want);
      expect(dumped.filter(addressFilter(filter, (i) => (i === V0 ? "v0" : "v1")))).toEqual(deleted);
    }
  });
  const BR9 = 6;
  const links: Array<[string, () => Parameters<typeof encodeLink>[1], number]> = [
    ["link_add_dummy", () => linkFromSpec({ name: "tkd0", kind: "dummy" }), 0x605],
    ["link_add_bridge", () => linkFromSpec({ name: "br9", kind: "bridge" }), 0x605],
    ["link_add_vlan", () => linkFromSpec({ name: "v0.5", kind: "vlan", link: V0, vlan: { id: 5, protocol: "802.1ad" } }), 0x605],
    ["link_add_vxlan", () => linkFromSpec({ name: "vx0", kind: "vxlan", vxlan: { id: 42, remote: "198.51.100.2", local: "192.0.2.1", dstport: 4789, dev: V0 } }), 0x605],
    ["link_add_vxlan_group", () => linkFromSpec({ name: "vx1", kind: "vxlan", vxlan: { id: 43, group: "239.1.1.1", dev: V0, dstport: 4789, ttl: 5 } }), 0x605],
    ["link_add_veth_opts", () => linkFromSpec({ name: "va0", kind: "veth", mtu: 1400, address: "02:00:00:00:00:A0", peer: { name: "vb0", mtu: 1300 } }), 0x605],
    ["link_set_flags", () => linkFromChanges({ promisc: true, arp: false, multicast: false, allmulticast: true }, V0), 0x5],
    ["link_set_alias", () => linkFromChanges({ alias: "uplink" }, V0), 0x5],
    ["link_set_alias_clear", () => linkFromChanges({ alias: "" }, V0), 0x5],
    ["link_set_group", () => linkFromChanges({ group: 5 }, V0), 0x5],
    ["link_set_master", () => linkFromChanges({ master: BR9 }, V1), 0x5],
    ["link_set_nomaster", () => linkFromChanges({ master: null }, V1), 0x5],
  ];
  for (const [name, build, flags] of links) {
    test(`${name}: the same bytes as ip`, () => {
      // ip probes RTM_NEWLINK support with an empty request first: the real one is the last.
      const all = load(name).messages.filter((m) => m.dir === "send").flatMap((m) => parseMessages(trimZeros(fromHex(m.hex)))).filter((m) => m.type === 16);
      const ip = all[all.length - 1]!;
      expect(all.length).toBe(2);
      expect(ip.flags).toBe(flags);
      // ip writes attributes in the order of its words: compare what they say.
      expect(decodeLink(fromHex(enc(encodeLink, build())))).toEqual(decodeLink(ip.body));
    });
  }
  test("route_del", () => {
    expect(enc(encodeRoute, routeFromSpec({ dst: "203.0.113.0/24", gateway: "192.0.2.254" }, undefined, true))).toBe(sent("route_del", 25).body);
  });
  test("route_add_v6_mtu (ip writes RTA_OIF before RTA_METRICS; same attributes)", () => {
    const ours = decodeRoute(fromHex(enc(encodeRoute, routeFromSpec({ dst: "2001:db8:1::/48", gateway: "2001:db8::ff", mtu: 1280, metric: 5 }, V0))));
    expect(ours).toEqual(decodeRoute(fromHex(sent("route_add_v6_mtu", 24).body)));
  });
  test("addr_add_peer", () => {
    expect(enc(encodeAddress, addressFromSpec({ dev: "tun7", address: "192.0.2.9", peer: "198.51.100.1/32" }, TUN7))).toBe(sent("addr_add_peer", 20).body);
  });
  test("addr_add_v4 with brd + and a label (same attributes as ip)", () => {
    const ours = decodeAddress(fromHex(enc(encodeAddress, addressFromSpec({ dev: "v0", address: "192.0.2.5/24", broadcast: "+", label: "v0:x" }, V0))));
    expect(ours).toEqual(decodeAddress(fromHex(sent("addr_add_v4", 20).body)));
  });
  test("addr_add_v6 with nodad noprefixroute and lifetimes", () => {
    const spec = { dev: "v0", address: "2001:db8::2/64", flags: ["nodad", "noprefixroute"], validLft: 3600, preferredLft: 1800 } as const;
    const ours = decodeAddress(fromHex(enc(encodeAddress, addressFromSpec(spec, V0))));
    expect(ours).toEqual(decodeAddress(fromHex(sent("addr_add_v6", 20).body)));
  });
  const rules: Array<[string, Parameters<typeof ruleFromSpec>[0], boolean?]> = [
    ["rule_add_selectors", {
      from: "192.0.2.0/24", uidRange: "1000-1999", ipProto: 6, sport: "1000-2000", dport: 80, tos: "0x10", fwmark: 0x10, fwmask: 0xff,
      iif: "v0", oif: "v1", table: 100, priority: 100, realms: "3/4", suppressPrefixlen: 8, suppressIfgroup: 5, protocol: "static",
    }],
    ["rule_add_not_blackhole", { not: true, to: "198.51.100.0/24", action: "blackhole", priority: 200 }],
    ["rule_add_goto", { ipProto: 17, dport: "53", goto: 300, priority: 250 }],
    ["rule_add_nop", { action: "nop", priority: 300 }],
    ["rule_add_l3mdev", { l3mdev: true, priority: 400 }],
    ["rule_add_no_table", { priority: 700 }],
    ["rule_add_tun_id", { tunId: 77, table: 7, priority: 600 }],
    ["rule_add_v6_uidrange", { family: 10, from: "2001:db8::/32", uidRange: { start: 1, end: 2 }, table: 5, priority: 5 }],
    ["rule_del_selectors", { uidRange: "1000-1999", ipProto: "6", dport: { start: 80, end: 90 } }, true],
    ["rule_del", { priority: 100 }, true],
  ];
  for (const [name, spec, del] of rules) {
    test(`${name}: same attributes as ip`, () => {
      const ip = sent(name, del ? 33 : 32);
      expect(ip.flags).toBe(del ? 0x5 : 0x605);
      expect(decodeRule(fromHex(enc(encodeRule, ruleFromSpec(spec, del))))).toEqual(decodeRule(fromHex(ip.body)));
    });
  }
  test("rule_flush: each delete is the dumped rule sent back, the pref-0 rule stays", () => {
    const fx = load("rule_flush");
    const dumped = fx.messages.filter((m) => m.dir === "recv").flatMap((m) => parseMessages(trimZeros(fromHex(m.hex)))).filter((m) => m.type === 32);
    const deletes = fx.messages.filter((m) => m.dir === "send").flatMap((m) => parseMessages(trimZeros(fromHex(m.hex)))).filter((m) => m.type === 33);
    const want = dumped.map((m) => decodeRule(m.body)).filter((r) => r.priority);
    expect(want.map((r) => r.priority)).toEqual([100, 200, 32766, 32767]);
    expect(deletes.map((m) => decodeRule(m.body))).toEqual(want);
    expect(want.map((r) => decodeRule(fromHex(enc(encodeRule, r))))).toEqual(want);
  });
  const neighs: Array<[string, Parameters<typeof neighFromSpec>[0], number, number, number]> = [
    ["neigh_add", { dst: "192.0.2.7", lladdr: "02:00:00:00:00:07" }, V0, 28, 0x605],
    ["neigh_add_v6_router", { dst: "2001:db8::7", lladdr: "02:00:00:00:00:07", state: "stale", router: true }, V0, 28, 0x605],
    ["neigh_add_proxy", { dst: "192.0.2.99", proxy: true }, V0, 28, 0x605],
    ["neigh_add_managed", { dst: "192.0.2.10", managed: true }, V0, 28, 0x605],
    ["neigh_add_noarp", { dst: "192.0.2.11", lladdr: "02:00:00:00:00:0B", state: "noarp", externLearn: true }, V0, 28, 0x605],
    ["neigh_replace", { dst: "192.0.2.8", lladdr: "02:00:00:00:00:08", state: "reachable", protocol: "static" }, V0, 28, 0x505],
    ["neigh_change", { dst: "192.0.2.7", lladdr: "2:0:0:0:0:9", state: 4 }, V0, 28, 0x105],
    ["neigh_del", { dst: "192.0.2.7" }, V0, 29, 0x5],
    ["neigh_del_proxy", { dst: "192.0.2.99", proxy: true }, V0, 29, 0x5],
  ];
  for (const [name, spec, ifindex, type, flags] of neighs) {
    test(`${name}: the same bytes as ip`, () => {
      const ip = sent(name, type);
      expect(ip.flags).toBe(flags);
      expect(enc(encodeNeighbour, neighFromSpec(spec, ifindex))).toBe(ip.body);
    });
  }
  test("neigh_flush: each delete is a dumped entry the flush selects (not permanent, not noarp)", () => {
    const fx = load("neigh_flush");
    const msgs = (dir: string, type: number) => fx.messages.filter((m) => m.dir === dir).flatMap((m) => parseMessages(trimZeros(fromHex(m.hex)))).filter((m) => m.type === type);
    const deleted = msgs("send", 29).map((m) => decodeNeighbour(m.body).dst);
    expect(deleted).toEqual(["192.0.2.8", "192.0.2.12", "2001:db8::7"]);
    const keep = neighFilter({ dev: V0 }, true);
    const firstDump = msgs("recv", 28).map((m) => decodeNeighbour(m.body)).slice(0, 8);
    expect(firstDump.filter(keep).map((n) => n.dst)).toEqual(deleted);
  });
  test("rule_add and rule_add_big_table", () => {
    expect(decodeRule(fromHex(enc(encodeRule, ruleFromSpec({ from: "192.0.2.0/24", table: 100, priority: 100, fwmark: 0x10, fwmask: 0xff })))))
      .toEqual(decodeRule(fromHex(sent("rule_add", 32).body)));
    expect(decodeRule(fromHex(enc(encodeRule, ruleFromSpec({ to: "198.51.100.0/24", iif: "v0", table: 1000, priority: 200, suppressPrefixlen: 0, protocol: "static" })))))
      .toEqual(decodeRule(fromHex(sent("rule_add_big_table", 32).body)));
  });
});
