// The "Done when": on one rich state (multipath, metrics with locks, every route type,
// rules with every selector, IPv6 pref/expires, neighbours, links of several kinds, addresses of
// every form), tunkit's listings equal ip's — text and JSON, plain and -d — through the listing
// helpers the CLI uses.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { Rtnl } from "../../netlink/rtnl.ts";
import { AF } from "../../netlink/route/constants.ts";
import { linkMap } from "../../netlink/view/context.ts";
import { routeToIpJson, routeToIpText } from "../../netlink/view/route.ts";
import {
  addressesToIpJson, addressesToIpText, linksToIpJson, linksToIpText, neighboursToIpJson, neighboursToIpText,
  routesToIpJson, routesToIpText, rulesToIpJson, rulesToIpText,
} from "../../netlink/view/text.ts";
import { itest } from "./_ns.ts";
import { ip, ipj, noDad, ipText } from "./_netlink.ts";

let nl: Rtnl;
beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  noDad();
  for (const c of [
    "link set lo up",
    "link add tkv0 type veth peer name tkv1", "link set tkv0 up", "link set tkv1 up", "link set tkv0 alias uplink",
    "tuntap add tkt0 mode tun", "link set tkt0 up", "link add tkx0 type vxlan id 42 remote 198.51.100.2 dstport 4789 dev tkv0",
    "addr add 192.0.2.1/24 dev tkv0", "addr add 192.0.2.5/24 brd + dev tkv0 label tkv0:x", "addr add 10.9.8.2/31 dev tkv1",
    "addr add 192.0.2.9 peer 198.51.100.1/32 dev tkt0", "-6 addr add 2001:db8::1/64 dev tkv0 nodad",
    "-6 addr add 2001:db8:9::1/64 dev tkv0 nodad noprefixroute valid_lft 3600 preferred_lft 1800",
    "route add 10.7.0.0/16 nexthop via 192.0.2.2 dev tkv0 weight 2 nexthop via 192.0.2.3 dev tkv0",
    "route add 198.51.100.0/24 via 192.0.2.254 mtu lock 1400 rtt 10ms rttvar lock 5ms initcwnd 10 initrwnd 20 advmss 1360 features ecn quickack 1 fastopen_no_cookie 1 congctl lock cubic hoplimit 64",
    "route add 10.8.0.0/16 via inet6 2001:db8::ff dev tkv0", "route add 10.9.9.0/24 dev tkv0 tos 0x10 realms 3/4 proto static",
    "route add blackhole 10.11.0.0/16", "route add unreachable 10.12.0.0/16 table 100", "route add prohibit 10.13.0.0/16 table 100",
    "route add throw 10.14.0.0/16 table 100", "route add local 192.0.2.200 dev tkv0", "route add default via 192.0.2.254 table 1000 metric 5",
    "-6 route add 2001:db8:5::/48 via 2001:db8::ff dev tkv0 pref high expires 600", "-6 route add 2001:db8:6::/48 dev tkv0 pref low mtu lock 1300",
    "-6 route add 2001:db8:7::/48 table 100 nexthop via 2001:db8::fe dev tkv0 nexthop via 2001:db8::fd dev tkv0",
    "rule add from 192.0.2.0/24 uidrange 1000-1999 ipproto 6 sport 1000-2000 dport 80 tos 0x10 fwmark 0x10/0xff iif tkv0 oif tkv1 table 100 pref 100 realms 3/4 suppress_prefixlength 8 suppress_ifgroup 5 proto static",
    "rule add not to 198.51.100.0/24 blackhole pref 200", "rule add ipproto 17 dport 53 goto 300 pref 250", "rule add nop pref 300",
    "rule add l3mdev pref 400", "rule add tun_id 77 table 7 pref 600", "-6 rule add from 2001:db8::/32 uidrange 1-2 table 5 pref 5",
    "neigh add 192.0.2.7 lladdr 02:00:00:00:00:07 dev tkv0", "neigh add 192.0.2.8 lladdr 02:00:00:00:00:08 dev tkv0 nud stale protocol static",
    "-6 neigh add 2001:db8::7 lladdr 02:00:00:00:00:07 dev tkv0 nud stale router", "neigh add proxy 192.0.2.99 dev tkv0",
  ]) ip(c);
  nl = Rtnl.open();
});
afterAll(() => nl?.close());


/** Counts that tick between two dumps (expires, lifetimes) compared within a second. */
function untick<T>(ours: T, theirs: unknown): T {
  const walk = (a: any, b: any) => {
    if (!a || !b || typeof a !== "object") return;
    for (const k of Object.keys(a)) {
      if (["expires", "valid_life_time", "preferred_life_time"].includes(k) && typeof a[k] === "number" && typeof b[k] === "number" && Math.abs(a[k] - b[k]) <= 1) a[k] = b[k];
      else walk(a[k], b[k]);
    }
  };
  walk(ours, theirs);
  return ours;
}
const tick = (s: string) => s.replace(/\d+sec/g, "Nsec");

describe("a rich state, every listing", () => {
  itest("route show (table all, both families, -d), rule show (-4, -6, -d), neigh show (+ proxy), link show, addr show", async () => {
    const links = await nl.listLinks();
    const ctx = { links: linkMap(links) };
    for (const d of [false, true]) {
      const c = { ...ctx, details: d, routeFilter: { table: "all" } };
      const D = d ? ["-d"] : [];
      const routes = await nl.listRoutes({ table: "all" });
      expect(routes.some((r) => r.multipath) && routes.some((r) => r.metrics?.lock) && routes.some((r) => r.pref !== undefined)).toBe(true);
      const theirs = ipj(...D, "route", "show", "table", "all");
      expect(untick(routesToIpJson(routes, c), theirs)).toEqual(theirs);
      expect(tick(routesToIpText(routes, c))).toBe(tick(ipText(...D, "route", "show", "table", "all")));
      for (const [fam, f] of [[AF.INET, "-4"], [AF.INET6, "-6"]] as const) {
        const rules = await nl.listRules({ family: fam });
        expect(rulesToIpJson(rules, { details: d })).toEqual(ipj(...D, f, "rule", "show"));
        expect(rulesToIpText(rules, { details: d })).toBe(ipText(...D, f, "rule", "show"));
      }
    }
    const neigh = await nl.listNeighbours();
    expect(neighboursToIpJson(neigh, ctx)).toEqual(ipj("neigh", "show"));
    expect(neighboursToIpText(neigh, ctx)).toBe(ipText("neigh", "show"));
    const proxy = await nl.listNeighbours({ proxy: true });
    expect(neighboursToIpText(proxy, ctx)).toBe(ipText("neigh", "show", "proxy"));
    expect(linksToIpJson(links, ctx)).toEqual(ipj("link", "show"));
    expect(linksToIpText(links, ctx)).toBe(ipText("link", "show"));
    const addrs = await nl.listAddresses();
    const theirsA = ipj("addr", "show");
    expect(untick(addressesToIpJson(links, addrs, ctx), theirsA)).toEqual(theirsA);
    expect(tick(addressesToIpText(links, addrs, ctx))).toBe(tick(ipText("addr", "show")));
    for (const [fam, f] of [[AF.INET, "-4"], [AF.INET6, "-6"]] as const) {
      const a = await nl.listAddresses({ family: fam });
      // ip dumps the links of that family's view (no qdisc, no group) and shows those with
      // addresses; IPv6's view has no qlen, which ip asks SIOCGIFTXQLEN for: take it from the full dump.
      const shown = (await nl.listLinks(fam)).filter((l) => a.some((x) => x.ifindex === l.ifindex)).map((l) => ({ ...l, txqlen: l.txqlen ?? ctx.links.get(l.ifindex)?.txqlen }));
      expect(tick(addressesToIpText(shown, a, ctx, fam))).toBe(tick(ipText(f, "addr", "show")));
    }
  });

  itest("route get (plain, fibmatch, with selectors) equals ip route get", async () => {
    ip("rule del pref 200"); // "not to 198.51.100.0/24 blackhole" would answer every other lookup
    const ctx = { links: linkMap(await nl.listLinks()) };
    for (const [dst, opts, words] of [
      ["10.7.1.1", {}, []],
      ["198.51.100.9", {}, []],
      ["198.51.100.9", { fibMatch: true }, ["fibmatch"]],
      ["192.0.2.77", { from: "192.0.2.1", oif: "tkv0" }, ["from", "192.0.2.1", "oif", "tkv0"]],
      ["2001:db8:5::1", {}, []],
    ] as const) {
      const r = await nl.getRoute(dst, opts);
      const theirs = ipj("route", "get", ...(words as readonly string[]), dst)[0];
      expect(untick(routeToIpJson(r, ctx), theirs)).toEqual(theirs);
      expect(tick(routeToIpText(r, ctx) + "\n")).toBe(tick(ipText("route", "get", ...(words as readonly string[]), dst)));
    }
  });
});
