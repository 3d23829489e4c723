// Routes with every word of `ip route` against iproute2, in the runner's throwaway namespace:
// what tunkit adds, `ip route show` prints exactly as tunkit's views do (text and JSON, -d,
// selectors); route get with uid/ipproto/ports/tos/mark; flush of one family at a time.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { NetlinkError } from "../../netlink/errors.ts";
import { Rtnl } from "../../netlink/rtnl.ts";
import { AF } from "../../netlink/route/constants.ts";
import type { RouteFilter } from "../../netlink/spec/route.ts";
import { linkMap } from "../../netlink/view/context.ts";
import { routeToIpJson, routeToIpText } from "../../netlink/view/route.ts";
import { itest } from "./_ns.ts";
import { ip, ipj, noDad, ipText } from "./_netlink.ts";

let nl: Rtnl;
beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  noDad();
  ip("link set lo up");
  ip("link add tkr0 type veth peer name tkr1");
  ip("link set tkr0 up");
  ip("link set tkr1 up");
  ip("addr add 192.0.2.1/24 dev tkr0");
  ip("-6 addr add 2001:db8::1/64 dev tkr0 nodad");
  nl = Rtnl.open();
});
afterAll(() => nl?.close());


/** `expires` counts down between two dumps: equal within a second. */
function sameExpires(a: any[], b: any[]): void {
  for (const [i, x] of a.entries()) {
    if (typeof x.expires === "number" && typeof b[i]?.expires === "number" && Math.abs(x.expires - b[i].expires) <= 1) x.expires = b[i].expires;
  }
}

/** Our listing with `filter` vs `ip [fam] route show WORDS`, text and JSON, plain and -d. */
async function same(filter: RouteFilter, fam: string[], ...words: string[]): Promise<void> {
  const links = linkMap(await nl.listLinks());
  const routes = await nl.listRoutes(filter);
  for (const details of [false, true]) {
    const ctx = { links, details, routeFilter: filter };
    const d = details ? ["-d", ...fam] : fam;
    const theirs = ipj(...d, "route", "show", ...words);
    const ours = routes.map((r) => routeToIpJson(r, ctx));
    sameExpires(ours, theirs);
    expect(ours).toEqual(theirs);
    const text = routes.map((r) => routeToIpText(r, ctx) + "\n").join("");
    expect(text.replace(/expires \d+sec/g, "expires Nsec")).toBe(ipText(...d, "route", "show", ...words).replace(/expires \d+sec/g, "expires Nsec"));
  }
}

describe("every word of ip route add, both ways", () => {
  itest("tunkit adds; ip prints what tunkit prints (table all, main, selectors; text, JSON, -d)", async () => {
    await nl.addRoute({ dst: "10.7.0.0/16", nexthops: [{ gateway: "192.0.2.2", dev: "tkr0", weight: 2 }, { gateway: "198.51.100.3", dev: "tkr1", onlink: true }] });
    await nl.addRoute({
      dst: "198.51.100.0/24", gateway: "192.0.2.254",
      metrics: { mtu: 1400, window: 65535, rtt: "10ms", rttvar: "5ms", ssthresh: 10, cwnd: 20, initcwnd: 10, initrwnd: 20, advmss: 1360, reordering: 3, hoplimit: 64, features: "ecn", quickack: 1, fastopen_no_cookie: 1, congctl: "cubic", rto_min: "200ms" },
      lock: ["mtu", "rttvar", "congctl"],
    });
    await nl.addRoute({ dst: "10.8.0.0/16", gateway: "inet6 2001:db8::ff", dev: "tkr0" });
    await nl.addRoute({ dst: "10.9.9.0/24", dev: "tkr0", tos: "0x10", realms: "3/4", protocol: "static" });
    await nl.addRoute({ dst: "10.10.0.0/16", dev: "tkr0", realms: 5, protocol: "static", metric: 20 });
    await nl.addRoute({ dst: "10.11.0.0/16", type: "blackhole", protocol: "static" });
    await nl.addRoute({ dst: "10.12.0.0/16", type: "unreachable", table: 100 });
    await nl.addRoute({ dst: "10.13.0.0/16", type: "prohibit", table: 100 });
    await nl.addRoute({ dst: "10.14.0.0/16", type: "throw", table: 100 });
    await nl.addRoute({ dst: "10.15.0.0/16", gateway: "192.0.2.254", table: 100, metrics: { rtt: "1500ms", rto_min: "2s" } });
    await nl.addRoute({ dst: "default", gateway: "192.0.2.254", table: 1000, metric: 5 });
    await nl.addRoute({ dst: "192.0.2.200", type: "local", dev: "tkr0" });
    await nl.addRoute({ dst: "2001:db8:5::/48", gateway: "2001:db8::ff", dev: "tkr0", pref: "high", expires: 600 });
    await nl.addRoute({ dst: "2001:db8:6::/48", dev: "tkr0", pref: "low", metric: 7, mtu: 1300, lock: ["mtu"] });
    await nl.addRoute({ dst: "2001:db8:9::/48", table: 100, nexthops: [{ gateway: "2001:db8::fe", dev: "tkr0" }, { gateway: "2001:db8::fd", dev: "tkr0" }] });
    await nl.addRoute({ dst: "2001:db8:a::/48", type: "unreachable", table: 100 });
    await nl.addRoute({ dst: "2001:db8:7::/48", src: "2001:db8:8::/48", type: "throw", table: 10 });
    await same({ table: "all" }, [], "table", "all");
    await same({}, []);
    await same({ family: AF.INET6 }, ["-6"]);
    await same({ family: AF.INET6, table: 100 }, ["-6"], "table", "100");
    await same({ table: 100 }, [], "table", "100");
    await same({ table: "local" }, [], "table", "local");
  });

  itest("list selectors pick and print what ip picks and prints", async () => {
    await same({ root: "10.0.0.0/8" }, [], "root", "10.0.0.0/8");
    await same({ match: "10.7.1.1" }, [], "match", "10.7.1.1");
    await same({ exact: "10.7.0.0/16" }, [], "10.7.0.0/16");
    await same({ exact: "default", table: 1000 }, [], "default", "table", "1000");
    await same({ table: "all", protocol: "static" }, [], "table", "all", "proto", "static");
    await same({ scope: "link" }, [], "scope", "link");
    await same({ type: "blackhole" }, [], "type", "blackhole");
    await same({ dev: "tkr0" }, [], "dev", "tkr0");
    await same({ via: "192.0.2.254" }, [], "via", "192.0.2.254");
    await same({ via: "inet6 2001:db8::ff" }, [], "via", "inet6", "2001:db8::ff");
    await same({ src: "192.0.2.1" }, [], "src", "192.0.2.1");
    await same({ metric: 20 }, [], "metric", "20");
    await same({ tos: "0x10" }, [], "tos", "0x10");
    await same({ realms: "3/4" }, [], "realms", "3/4");
    await same({ realms: "5" }, [], "realms", "5");
    await same({ table: "all", family: AF.INET6, fromRoot: "2001:db8::/32" }, ["-6"], "table", "all", "from", "root", "2001:db8::/32");
  });

  itest("ip adds, tunkit lists the same", async () => {
    ip("route add 10.20.0.0/16 via 192.0.2.9 dev tkr0 proto 77 metric 3 initcwnd 20 mtu lock 1280 advmss lock 1200");
    ip("route add 10.21.0.0/16 nexthop via 192.0.2.9 weight 3 nexthop dev tkr1 weight 1");
    ip("-6 route add 2001:db8:b::/48 via fe80::1 dev tkr0 metric 9 pref medium hoplimit 5");
    await same({ table: "all" }, [], "table", "all");
  });
});

describe("change, prepend, append, replace, delete", () => {
  itest("change edits the existing route, prepend/append add alternatives, replace swaps", async () => {
    await nl.changeRoute({ dst: "10.8.0.0/16", gateway: "192.0.2.253", dev: "tkr0" });
    expect(ipj("route", "show", "10.8.0.0/16")).toEqual([{ dst: "10.8.0.0/16", gateway: "192.0.2.253", dev: "tkr0", flags: [] }]);
    const e = await nl.changeRoute({ dst: "10.99.0.0/16", gateway: "192.0.2.253" }).catch((e) => e);
    expect(e).toBeInstanceOf(NetlinkError);
    await nl.addRoute({ dst: "203.0.113.0/24", type: "unreachable", table: 9 });
    await nl.prependRoute({ dst: "203.0.113.0/24", type: "blackhole", table: 9 });
    await nl.appendRoute({ dst: "203.0.113.0/24", type: "prohibit", table: 9 });
    expect(ipj("route", "show", "table", "9").map((r: any) => r.type)).toEqual(["blackhole", "unreachable", "prohibit"]);
    await nl.replaceRoute({ dst: "203.0.113.0/24", dev: "tkr0", table: 9 });
    expect(ipj("route", "show", "table", "9").map((r: any) => r.type ?? "unicast")).toEqual(["unicast", "unreachable", "prohibit"]);
    await nl.deleteRoute({ dst: "192.0.2.200", type: "local", dev: "tkr0" });
    expect(ipj("route", "show", "table", "local", "192.0.2.200")).toEqual([]);
  });
});

describe("route get", () => {
  itest("uid, ipproto, dport, tos, mark select the rules they should, like ip route get", async () => {
    await nl.addRoute({ dst: "default", dev: "tkr1", table: 201 });
    await nl.addRule({ uidRange: "1000-1999", table: 201, priority: 50 });
    await nl.addRule({ ipProto: 6, dport: 443, table: 201, priority: 51 });
    await nl.addRule({ fwmark: 7, table: 201, priority: 52 });
    await nl.addRule({ tos: "0x10", table: 201, priority: 53 });
    const ctx = { links: linkMap(await nl.listLinks()) };
    const cmp = async (o: Parameters<Rtnl["getRoute"]>[1], ...words: string[]) =>
      expect(routeToIpJson(await nl.getRoute("198.51.100.9", o), ctx)).toEqual(ipj("route", "get", "198.51.100.9", ...words)[0]);
    await cmp({});
    await cmp({ uid: 1000 }, "uid", "1000");
    await cmp({ ipProto: "6", dport: 443 }, "ipproto", "6", "dport", "443");
    await cmp({ ipProto: 6, dport: 80, sport: 5000 }, "ipproto", "6", "dport", "80", "sport", "5000");
    await cmp({ mark: 7 }, "mark", "7");
    await cmp({ tos: "0x10" }, "tos", "0x10");
    await cmp({ from: "192.0.2.1", oif: "tkr0" }, "from", "192.0.2.1", "oif", "tkr0");
    expect((await nl.getRoute("198.51.100.9", { uid: 1000 })).oif).toBe(ctx.links.get([...ctx.links.values()].find((l) => l.name === "tkr1")!.ifindex)!.ifindex);
    expect(routeToIpJson(await nl.getRoute("10.7.1.1", { fibMatch: true }), ctx)).toEqual(ipj("route", "get", "fibmatch", "10.7.1.1")[0]);
    const c = await nl.getRoute("192.0.2.7", { connected: true });
    expect(c.src).toBe("192.0.2.1");
    expect(c.dst).toBe("192.0.2.7");
  });
});

describe("flush", () => {
  itest("one family at a time: IPv4 unless told; a table that does not exist is ENOENT like ip", async () => {
    const v6 = ipj("-6", "route", "show", "table", "100");
    expect(v6.length).toBeGreaterThan(0);
    const v4 = ipj("route", "show", "table", "100").length;
    expect(await nl.flushRoutes({ table: 100 })).toBe(v4);
    expect(ipj("route", "show", "table", "100")).toEqual([]);
    expect(ipj("-6", "route", "show", "table", "100")).toEqual(v6);
    expect(await nl.flushRoutes({ table: 100, family: AF.INET6 })).toBe(v6.length);
    const e = await nl.flushRoutes({ table: 4242 }).catch((e) => e);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe("ENOENT");
    expect(spawnSync("ip", ["route", "flush", "table", "4242"]).status).not.toBe(0);
    const before = ipj("route", "show").filter((r: any) => r.protocol === "static").length;
    expect(await nl.flushRoutes({ protocol: "static" })).toBe(before);
    expect(ipj("route", "show", "proto", "static")).toEqual([]);
  });
});
