// tunkit's rtnetlink against iproute2, both directions, inside the runner's throwaway namespace.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { NetlinkError } from "../../netlink/errors.ts";
import { Rtnl } from "../../netlink/rtnl.ts";
import { routeToIpJson, linkMap, ruleToIpJson } from "../../netlink/route/json.ts";
import { AF } from "../../netlink/route/constants.ts";
import { itest } from "./_ns.ts";
import { ip, ipj, ipViews, noDad, views } from "./_netlink.ts";

let nl: Rtnl;
beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  noDad();
  ip("link set lo up");
  nl = Rtnl.open();
});
afterAll(() => nl?.close());

describe("what ip creates, tunkit lists identically", () => {
  itest("links, addresses (v4/v6, peer, brd, label), routes (tables > 255, types, metrics, multipath), rules", async () => {
    for (const c of [
      "link add tk0 type veth peer name tk1",
      "link set tk0 up", "link set tk1 up",
      "tuntap add tk7 mode tun", "link set tk7 up",
      "tuntap add tk8 mode tap", "link set tk8 address 02:00:00:00:00:08",
      "link add tkbr0 type bridge", "link set tk8 master tkbr0",
      "addr add 192.0.2.1/24 dev tk0",
      "addr add 192.0.2.5/24 brd + dev tk0 label tk0:x",
      "addr add 192.0.2.9 peer 198.51.100.1/32 dev tk7",
      "-6 addr add 2001:db8::1/64 dev tk0 nodad",
      "-6 addr add 2001:db8:9::1/64 dev tk0 nodad noprefixroute",
      "route add 203.0.113.0/24 via 192.0.2.254 dev tk0 metric 10 table 1000",
      "route add blackhole 198.51.100.0/24",
      "route add unreachable 198.51.100.128/25 table 7",
      "route add prohibit 198.51.100.64/26 proto static",
      "route add 10.9.0.0/16 via 10.255.0.1 dev tk0 onlink src 192.0.2.1",
      "route add 10.8.8.8 dev tk0 proto dhcp mtu 1400 advmss 1360",
      "route add 10.7.0.0/16 nexthop via 192.0.2.2 weight 2 nexthop via 192.0.2.3",
      "route add default via 192.0.2.254 metric 600",
      "-6 route add 2001:db8:1::/48 via 2001:db8::ff dev tk0 mtu 1280 metric 5",
      "-6 route add unreachable 2001:db8:2::/48",
      "rule add from 192.0.2.0/24 table 100 pref 100 fwmark 0x10/0xff",
      "rule add to 198.51.100.0/24 iif tk0 table 1000 pref 200 suppress_prefixlength 0 proto static",
      "rule add not from 203.0.113.0/24 prohibit pref 300",
      "-6 rule add from 2001:db8::/32 table 1000 pref 400",
    ]) ip(c);
    const theirs = ipViews();
    const ours = await views(nl);
    expect(ours.link).toEqual(theirs.link);
    expect(ours.addr).toEqual(theirs.addr);
    expect(ours.route).toEqual(theirs.route);
    expect(ours.route6).toEqual(theirs.route6);
    expect(ours.rule).toEqual(theirs.rule);
    expect(ours.rule6).toEqual(theirs.rule6);
    // Details: the tun driver's own info and the link kinds.
    const links = await nl.listLinks();
    const tun = links.find((l) => l.name === "tk7")!;
    expect(tun.linkInfo).toEqual({ kind: "tun", data: { type: "tun", pi: false, vnetHdr: false, persist: true, multiQueue: false } });
    expect(links.find((l) => l.name === "tk0")!.linkInfo?.kind).toBe("veth");
    expect(links.find((l) => l.name === "tkbr0")!.linkInfo?.kind).toBe("bridge");
    expect(links.find((l) => l.name === "tk8")!.master).toBe(links.find((l) => l.name === "tkbr0")!.ifindex);
    expect(typeof tun.stats64?.rx_packets).toBe("number");
    const d = ipj("-d", "link", "show", "tk7")[0];
    expect(d.linkinfo).toEqual({ info_kind: "tun", info_data: { type: "tun", pi: false, vnet_hdr: false, multi_queue: false, persist: true } });
    ip("rule del pref 300"); // it prohibits nearly everything: keep it out of the next tests
  });

  itest("route get and fibmatch agree with ip route get", async () => {
    const ctx = { links: linkMap(await nl.listLinks()) };
    const got = routeToIpJson(await nl.getRoute("192.0.2.77"), ctx);
    expect(got).toEqual(ipj("route", "get", "192.0.2.77")[0]);
    expect(routeToIpJson(await nl.getRoute("203.0.113.9", { fibMatch: true }), ctx)).toEqual(ipj("route", "get", "fibmatch", "203.0.113.9")[0]);
    const e = await nl.getRoute("2001:db8:2::5").catch((e) => e);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(["ENETUNREACH", "EHOSTUNREACH"]).toContain(e.code);
  });
});

describe("what tunkit creates, ip reads back identically", () => {
  itest("links: add veth, set up/mtu/name/txqlen/MAC, delete", async () => {
    await nl.addLink({ name: "tka", kind: "veth", peer: "tkb" });
    await nl.setLink("tka", { up: true, mtu: 1400, txqlen: 777 });
    await nl.setLink("tkb", { name: "tkc", address: "02:00:00:00:00:0c", up: true });
    const a = ipj("link", "show", "tka")[0];
    expect(a).toMatchObject({ ifname: "tka", mtu: 1400, txqlen: 777, link: "tkc" });
    expect(a.flags).toContain("UP");
    expect(ipj("link", "show", "tkc")[0]).toMatchObject({ ifname: "tkc", address: "02:00:00:00:00:0c" });
    await nl.setLink("tka", { up: false });
    expect(ipj("link", "show", "tka")[0].flags).not.toContain("UP");
    await nl.deleteLink("tka");
    expect(spawnSync("ip", ["link", "show", "tkc"]).status).not.toBe(0);
    const e = await nl.setLink("tun9", { up: true }).catch((e) => e);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe("ENODEV");
    expect(e.message).toContain('"tun9"');
  });

  itest("addresses v4/v6 with peer, brd, label, flags, lifetimes; delete and flush", async () => {
    ip("link add tkd type veth peer name tke");
    ip("tuntap add tk9 mode tun");
    await nl.addAddress({ dev: "tkd", address: "198.51.100.10/24", broadcast: "+", label: "tkd:lab" });
    await nl.addAddress({ dev: "tk9", address: "192.0.2.99", peer: "203.0.113.1/32" });
    await nl.addAddress({ dev: "tkd", address: "2001:db8:5::1/64", flags: ["nodad", "noprefixroute"] });
    await nl.addAddress({ dev: "tkd", address: "2001:db8:6::1/64", flags: ["nodad"], validLft: 3600, preferredLft: 1800 });
    const d = ipj("addr", "show", "tkd")[0].addr_info;
    expect(d).toContainEqual({ family: "inet", local: "198.51.100.10", prefixlen: 24, broadcast: "198.51.100.255", scope: "global", label: "tkd:lab", valid_life_time: 4294967295, preferred_life_time: 4294967295 });
    expect(d).toContainEqual({ family: "inet6", local: "2001:db8:5::1", prefixlen: 64, scope: "global", nodad: true, noprefixroute: true, valid_life_time: 4294967295, preferred_life_time: 4294967295 });
    const lt = d.find((a: any) => a.local === "2001:db8:6::1");
    expect(lt).toMatchObject({ dynamic: true, nodad: true });
    expect(lt.valid_life_time).toBeGreaterThan(3590);
    expect(ipj("addr", "show", "tk9")[0].addr_info).toContainEqual({ family: "inet", local: "192.0.2.99", address: "203.0.113.1", prefixlen: 32, scope: "global", label: "tk9", valid_life_time: 4294967295, preferred_life_time: 4294967295 });
    const dup = await nl.addAddress({ dev: "tk9", address: "192.0.2.99", peer: "203.0.113.1/32" }).catch((e) => e);
    expect(dup.code).toBe("EEXIST");
    await nl.deleteAddress({ dev: "tk9", address: "192.0.2.99", peer: "203.0.113.1/32" });
    expect(ipj("addr", "show", "tk9")[0].addr_info).toEqual([]);
    expect(await nl.flushAddresses({ dev: "tkd", family: AF.INET6 })).toBeGreaterThanOrEqual(2);
    expect(ipj("-6", "addr", "show", "tkd")).toEqual([]);
    expect(ipj("-4", "addr", "show", "tkd")[0].addr_info.length).toBe(1);
  });

  itest("routes: via, tables > 255, blackhole/unreachable/prohibit, metrics, onlink, RTA_VIA, replace/append/delete/flush", async () => {
    ip("link add tkf type veth peer name tkg");
    ip("link set tkf up");
    ip("link set tkg up");
    ip("addr add 192.0.2.1/24 dev tkf");
    ip("-6 addr add 2001:db8:7::1/64 dev tkf nodad");
    await nl.addRoute({ dst: "203.0.113.0/24", gateway: "192.0.2.254", dev: "tkf", metric: 10, table: 5000 });
    await nl.addRoute({ dst: "198.51.100.0/25", type: "blackhole", table: 5000 });
    await nl.addRoute({ dst: "198.51.100.128/26", type: "unreachable", table: 5000, protocol: "static" });
    await nl.addRoute({ dst: "198.51.100.192/26", type: "prohibit", table: 5000 });
    await nl.addRoute({ dst: "198.51.100.7", dev: "tkf", table: 5000, mtu: 1400, prefsrc: "192.0.2.1", protocol: "dhcp" });
    await nl.addRoute({ dst: "10.9.0.0/16", gateway: "10.255.0.1", dev: "tkf", onlink: true, table: 5000 });
    await nl.addRoute({ dst: "10.6.0.0/16", gateway: "fe80::1", dev: "tkf", table: 5000 });
    await nl.addRoute({ dst: "2001:db8:8::/48", gateway: "2001:db8:7::ff", dev: "tkf", table: 5000, metric: 7, mtu: 1280 });
    await nl.addRoute({ dst: "default", gateway: "192.0.2.254", dev: "tkf", table: 5000, metric: 99 });
    const byDst = (a: any, b: any) => (a.dst < b.dst ? -1 : a.dst > b.dst ? 1 : 0);
    const r4 = ipj("-4", "route", "show", "table", "5000").sort(byDst);
    expect(r4).toEqual([
      { dst: "10.6.0.0/16", via: { family: "inet6", host: "fe80::1" }, dev: "tkf", flags: [] },
      { dst: "10.9.0.0/16", gateway: "10.255.0.1", dev: "tkf", flags: ["onlink"] },
      { type: "blackhole", dst: "198.51.100.0/25", flags: [] },
      { type: "unreachable", dst: "198.51.100.128/26", protocol: "static", flags: [] },
      { type: "prohibit", dst: "198.51.100.192/26", flags: [] },
      { dst: "198.51.100.7", dev: "tkf", protocol: "dhcp", scope: "link", prefsrc: "192.0.2.1", flags: [], metrics: [{ mtu: 1400 }] },
      { dst: "203.0.113.0/24", gateway: "192.0.2.254", dev: "tkf", metric: 10, flags: [] },
      { dst: "default", gateway: "192.0.2.254", dev: "tkf", metric: 99, flags: [] },
    ]);
    expect(ipj("-6", "route", "show", "table", "5000")).toEqual([
      { dst: "2001:db8:8::/48", gateway: "2001:db8:7::ff", dev: "tkf", metric: 7, flags: [], metrics: [{ mtu: 1280 }], pref: "medium" },
    ]);
    // And tunkit reads its own routes the way ip does, table 5000 included.
    const ctx = { links: linkMap(await nl.listLinks()) };
    expect((await nl.listRoutes({ table: 5000 })).map((r) => routeToIpJson(r, ctx))).toEqual(ipj("-4", "route", "show", "table", "5000").map((r) => ({ ...r, table: "5000" })));
    // create / replace / append semantics
    const dup = await nl.addRoute({ dst: "203.0.113.0/24", gateway: "192.0.2.254", dev: "tkf", metric: 10, table: 5000 }).catch((e) => e);
    expect(dup).toBeInstanceOf(NetlinkError);
    expect(dup.code).toBe("EEXIST");
    expect(dup.hint).toContain("replace");
    await nl.replaceRoute({ dst: "203.0.113.0/24", gateway: "192.0.2.253", dev: "tkf", metric: 10, table: 5000 });
    expect(ipj("route", "show", "table", "5000", "203.0.113.0/24")).toEqual([{ dst: "203.0.113.0/24", gateway: "192.0.2.253", dev: "tkf", metric: 10, flags: [] }]);
    await nl.appendRoute({ dst: "2001:db8:8::/48", gateway: "2001:db8:7::fe", dev: "tkf", table: 5000, metric: 7 });
    expect(ipj("-6", "route", "show", "table", "5000")[0].nexthops.length).toBe(2);
    await nl.deleteRoute({ dst: "198.51.100.0/25", type: "blackhole", table: 5000 });
    const missing = await nl.deleteRoute({ dst: "198.51.100.0/25", type: "blackhole", table: 5000 }).catch((e) => e);
    expect(missing.code).toBe("ESRCH");
    expect(missing.message).toContain("no such route");
    expect(await nl.flushRoutes({ table: 5000 })).toBe(7);
    expect(ipj("-4", "route", "show", "table", "5000")).toEqual([]);
  });

  itest("rules: add (table > 255, fwmark/mask, iif, suppress_prefixlength, protocol), list, delete", async () => {
    await nl.addRule({ from: "192.0.2.0/24", table: 7000, priority: 1000, fwmark: 0x20, fwmask: 0xf0 });
    await nl.addRule({ to: "198.51.100.0/24", iif: "lo", table: "main", priority: 1001, suppressPrefixlen: 0, protocol: "static" });
    await nl.addRule({ from: "2001:db8::/32", table: 7000, priority: 1002 });
    const r = ipj("rule", "show").filter((x: any) => x.priority >= 1000 && x.priority < 1100);
    expect(r).toEqual([
      { priority: 1000, src: "192.0.2.0", srclen: 24, fwmark: "0x20", fwmask: "0xf0", table: "7000" },
      { priority: 1001, src: "all", dst: "198.51.100.0", dstlen: 24, iif: "lo", table: "main", suppress_prefixlen: 0, protocol: "static" },
    ]);
    expect(ipj("-6", "rule", "show").filter((x: any) => x.priority === 1002)).toEqual([{ priority: 1002, src: "2001:db8::", srclen: 32, table: "7000" }]);
    expect((await nl.listRules()).map((x) => ruleToIpJson(x)).filter((x: any) => x.priority >= 1000 && x.priority < 1100)).toEqual(r);
    await nl.deleteRule({ priority: 1000 });
    await nl.deleteRule({ priority: 1001 });
    await nl.deleteRule({ family: AF.INET6, priority: 1002 });
    expect(ipj("rule", "show").filter((x: any) => x.priority >= 1000 && x.priority < 1100)).toEqual([]);
  });
});

describe("namespaces", () => {
  itest("Rtnl.open({ netns }) works inside another namespace, like ip -n", async () => {
    const name = `tk-nl-${process.pid}`;
    ip(`netns add ${name}`);
    try {
      ip(`-n ${name} link add tkn0 type veth peer name tkn1`);
      const inner = Rtnl.open({ netns: name });
      try {
        const names = (await inner.listLinks()).map((l) => l.name);
        expect(names).toContain("tkn0");
        await inner.addAddress({ dev: "tkn0", address: "192.0.2.200/24" });
        expect(ipj("-n", name, "addr", "show", "tkn0")[0].addr_info[0].local).toBe("192.0.2.200");
      } finally {
        inner.close();
      }
      expect((await nl.listLinks()).map((l) => l.name)).not.toContain("tkn0");
    } finally {
      ip(`netns del ${name}`);
    }
  });
});
