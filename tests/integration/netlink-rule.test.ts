// Rules with every selector and action of `ip rule`, against iproute2 in both directions:
// what tunkit adds, `ip rule show` / `ip -j rule show` print exactly as tunkit's views do;
// flush removes what ip's flush removes. Runs in the runner's throwaway namespace.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { NetlinkError } from "../../netlink/errors.ts";
import { Rtnl } from "../../netlink/rtnl.ts";
import { AF } from "../../netlink/route/constants.ts";
import { ruleToIpJson, ruleToIpText } from "../../netlink/view/rule.ts";
import { itest } from "./_ns.ts";
import { ip, ipj, ipText } from "./_netlink.ts";

let nl: Rtnl;
beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  ip("link set lo up");
  nl = Rtnl.open();
});
afterAll(() => nl?.close());


async function same(family: number): Promise<void> {
  const f = family === AF.INET6 ? "-6" : "-4";
  const rules = await nl.listRules({ family });
  expect(rules.map((r) => ruleToIpJson(r))).toEqual(ipj(f, "rule", "show"));
  expect(rules.map((r) => ruleToIpJson(r, { details: true }))).toEqual(ipj(f, "-d", "rule", "show"));
  expect(rules.map((r) => ruleToIpText(r) + "\n").join("")).toBe(ipText(f, "rule", "show"));
}

describe("every selector and action, both ways", () => {
  itest("tunkit adds, ip prints what tunkit prints (IPv4 and IPv6, text and JSON, -d)", async () => {
    await nl.addRule({
      from: "192.0.2.0/24", uidRange: "1000-1999", ipProto: "6", sport: "1000-2000", dport: 80, tos: "0x10",
      fwmark: 0x10, fwmask: 0xff, iif: "lo", oif: "lo", table: 100, priority: 100, realms: "3/4", suppressPrefixlen: 8,
      suppressIfgroup: 5, protocol: "static",
    });
    await nl.addRule({ not: true, to: "198.51.100.0/24", action: "blackhole", priority: 200 });
    await nl.addRule({ ipProto: 17, dport: 53, goto: 300, priority: 250 });
    await nl.addRule({ action: "nop", priority: 300 });
    await nl.addRule({ l3mdev: true, priority: 400 });
    await nl.addRule({ fwmark: 0, fwmask: 0xff, table: 3, priority: 450 });
    await nl.addRule({ tunId: 77, table: 7, priority: 600 });
    await nl.addRule({ priority: 700 }); // no table: main, like ip
    await nl.addRule({ from: "203.0.113.0/24", action: "unreachable", priority: 800 });
    await nl.addRule({ to: "203.0.113.64/26", action: "prohibit", priority: 801, realms: 7 });
    await nl.addRule({ family: AF.INET6, from: "2001:db8::/32", uidRange: { start: 1, end: 2 }, table: 5, priority: 5 });
    await nl.addRule({ to: "2001:db8:1::/48", sport: 22, action: "prohibit", priority: 6 });
    await same(AF.INET);
    await same(AF.INET6);
  });

  itest("ip adds, tunkit lists the same", async () => {
    ip("rule add from 192.0.2.128/25 ipproto 17 sport 5000-6000 lookup 1000 pref 900 suppress_prefixlength 0");
    ip("rule add iif lo fwmark 0x54 goto 950 pref 901");
    ip("rule add oif lo realms 5 lookup main pref 950");
    ip("-6 rule add not from 2001:db8:2::/48 unreachable pref 7");
    await same(AF.INET);
    await same(AF.INET6);
    const both = await nl.listRules({ family: AF.UNSPEC });
    expect(both.some((r) => r.family === AF.INET6) && both.some((r) => r.family === AF.INET)).toBe(true);
  });

  itest("list selectors pick what ip rule list picks", async () => {
    const pick = async (f: Parameters<Rtnl["listRules"]>[0], ...words: string[]) =>
      expect((await nl.listRules(f)).map((r) => ruleToIpJson(r))).toEqual(ipj("rule", "show", ...words));
    await pick({ uidRange: "1000-1999" }, "uidrange", "1000-1999");
    await pick({ ipProto: 17, dport: 53 }, "ipproto", "17", "dport", "53");
    await pick({ from: "192.0.2.0/24" }, "from", "192.0.2.0/24");
    await pick({ table: 100 }, "table", "100");
    await pick({ not: true }, "not");
    await pick({ priority: 700 }, "pref", "700");
    await pick({ iif: "lo" }, "iif", "lo");
    await pick({ l3mdev: true }, "l3mdev");
  });
});

describe("delete and flush as ip does", () => {
  itest("del matches every given field; a missing rule is ENOENT with a true hint", async () => {
    await nl.deleteRule({ uidRange: "1000-1999", ipProto: 6 });
    expect(ipj("rule", "show", "pref", "100")).toEqual([]);
    const e = await nl.deleteRule({ priority: 4242 }).catch((e) => e);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe("ENOENT");
    expect(e.message).toContain("no such rule");
  });

  itest("a duplicate is EEXIST, and the hint does not offer a rule replace", async () => {
    const e = await nl.addRule({ priority: 700 }).catch((e) => e);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe("EEXIST");
    expect(e.hint).not.toContain("replace");
  });

  itest("flush with a selector, then a bare flush: only the pref 0 rule stays (IPv4), IPv6 untouched", async () => {
    const v6 = ipj("-6", "rule", "show");
    expect(await nl.flushRules({ table: 7 })).toBe(1);
    expect(ipj("rule", "show", "table", "7")).toEqual([]);
    const n = (await nl.listRules()).filter((r) => r.priority).length;
    expect(await nl.flushRules()).toBe(n);
    expect(ipj("rule", "show")).toEqual([{ priority: 0, src: "all", table: "local" }]);
    expect(ipj("-6", "rule", "show")).toEqual(v6);
    expect(await nl.flushRules({ family: AF.INET6 })).toBe(v6.length - 1);
    expect(ipj("-6", "rule", "show")).toEqual([{ priority: 0, src: "all", table: "local" }]);
    // Put the defaults back for whoever runs next in this namespace.
    ip("rule add pref 32766 lookup main");
    ip("rule add pref 32767 lookup default");
    ip("-6 rule add pref 32766 lookup main");
  });
});

describe("route get refusals say what the lookup met", () => {
  itest("prohibit, unreachable, blackhole, no route", async () => {
    ip("route add prohibit 198.51.100.0/26");
    ip("route add unreachable 198.51.100.64/26");
    ip("route add blackhole 198.51.100.128/26");
    const err = async (dst: string) => (await nl.getRoute(dst).catch((e) => e)) as NetlinkError;
    expect((await err("198.51.100.1")).hint).toContain("prohibit");
    expect((await err("198.51.100.65")).hint).toContain("unreachable");
    expect((await err("198.51.100.129")).hint).toContain("blackhole");
    const none = await err("203.0.113.1");
    expect(none.code).toBe("ENETUNREACH");
    expect(none.hint).toContain("no route matches");
    expect(none.hint).not.toContain("gateway");
  });
});
