// Rules the way `ip rule` speaks them: specs to wire objects with ip's defaults, list/flush
// selectors, and the name databases they go through. Pure: no socket.
import { describe, expect, test } from "bun:test";
import { UsageError } from "../../common/errors.ts";
import { NetlinkError } from "../../netlink/errors.ts";
import { AF, FIB_RULE, FR_ACT, RT_TABLE } from "../../netlink/route/constants.ts";
import { IpNames, parseCNumber } from "../../netlink/route/names.ts";
import type { Rule } from "../../netlink/route/rule.ts";
import { parseRange, parseRuleAction, ruleFilter, ruleFromSpec } from "../../netlink/spec/rule.ts";

const names = new IpNames((db) =>
  db === "rt_tables" ? ["# comment\n100 vpn\n0x1f hexa\n"] : db === "protocols" ? ["tcp 6 TCP\nudp 17 UDP # comment\n"] : db === "rt_realms" ? ["0 cosmos\n3 east\n"] : db === "group" ? ["0 default\n5 uplinks\n"] : []);

describe("ruleFromSpec: ip rule add/del defaults", () => {
  test("no table and no action: lookup main; an action or l3mdev: no table", () => {
    expect(ruleFromSpec({ priority: 700 })).toMatchObject({ table: RT_TABLE.MAIN, action: FR_ACT.TO_TBL, family: AF.INET });
    expect(ruleFromSpec({ action: "blackhole", from: "192.0.2.0/24" })).toMatchObject({ table: 0, action: FR_ACT.BLACKHOLE, srcLen: 24 });
    expect(ruleFromSpec({ l3mdev: true })).toMatchObject({ table: 0, action: FR_ACT.TO_TBL, l3mdev: 1 });
    expect(ruleFromSpec({ goto: 300 })).toMatchObject({ table: 0, action: FR_ACT.GOTO, goto: 300 });
    expect(ruleFromSpec({ action: "nop" }).action).toBe(FR_ACT.NOP);
  });
  test("del leaves action and table unspecified unless given", () => {
    expect(ruleFromSpec({ priority: 5 }, true)).toMatchObject({ table: 0, action: 0 });
    expect(ruleFromSpec({ table: 100 }, true)).toMatchObject({ table: 100, action: 0 });
    expect(ruleFromSpec({ action: "prohibit" }, true).action).toBe(FR_ACT.PROHIBIT);
  });
  test("every selector lands in its attribute", () => {
    const r = ruleFromSpec({
      not: true, from: "192.0.2.0/24", to: "198.51.100.7", tos: "10", fwmark: 1, fwmask: 0xff, iif: "tk0", oif: "tk1",
      uidRange: "1000-1999", ipProto: "tcp", sport: "1024-65535", dport: 443, tunId: 9, table: "vpn", protocol: "static",
      realms: "east/3", suppressPrefixlen: 0, suppressIfgroup: "uplinks", priority: 42,
    }, false, names);
    expect(r).toEqual({
      family: AF.INET, srcLen: 24, dstLen: 32, tos: 0x10, table: 100, action: FR_ACT.TO_TBL, flags: FIB_RULE.INVERT,
      src: "192.0.2.0", dst: "198.51.100.7", priority: 42, fwmark: 1, fwmask: 0xff, iifname: "tk0", oifname: "tk1",
      uidRange: { start: 1000, end: 1999 }, ipProto: 6, sportRange: { start: 1024, end: 65535 }, dportRange: { start: 443, end: 443 },
      tunId: 9n, protocol: 4, flow: (3 << 16) | 3, suppressPrefixlen: 0, suppressIfgroup: 5,
    } as Partial<Rule>);
  });
  test("the family follows the prefixes; a given family must agree", () => {
    expect(ruleFromSpec({ from: "2001:db8::/32", table: 5 }).family).toBe(AF.INET6);
    expect(() => ruleFromSpec({ family: AF.INET, from: "2001:db8::/32", table: 5 })).toThrow('Invalid from "2001:db8::/32": the rule is IPv4');
    expect(() => ruleFromSpec({ from: "192.0.2.0/24", to: "2001:db8::/32" })).toThrow("the rule is IPv4");
    expect(ruleFromSpec({ from: "all", table: 5 })).toMatchObject({ family: AF.INET, srcLen: 0 });
  });
  test("bad input is a UsageError naming the value", () => {
    const bad: Array<[Parameters<typeof ruleFromSpec>[0], string]> = [
      [{ uidRange: "1000" }, 'Invalid UID range "1000"'],
      [{ uidRange: "2000-1000" }, "the start is above the end"],
      [{ sport: "70000" }, 'Invalid sport range "70000"'],
      [{ dport: "80-x" }, 'Invalid dport range "80-x"'],
      [{ ipProto: "tcpx" }, 'Invalid IP protocol "tcpx"'],
      [{ ipProto: 300 }, 'Invalid IP protocol "300"'],
      [{ table: "nosuch" }, 'Invalid table "nosuch"'],
      [{ tos: "zz" }, 'Invalid TOS "zz"'],
      [{ action: "jump" }, 'Invalid rule action "jump"'],
      [{ action: "goto" }, "needs a target priority"],
      [{ l3mdev: true, table: 100 }, "cannot be given for an l3mdev rule"],
      [{ iif: "a/b" }, "a/b"],
      [{ realms: "nowhere/x" }, 'Invalid realms "nowhere/x"'],
      [{ priority: -1 }, 'Invalid priority "-1"'],
    ];
    for (const [spec, msg] of bad) {
      let err: unknown;
      try {
        ruleFromSpec(spec, false, names);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toContain(msg);
    }
  });
  test("actions by name, route type names and numbers", () => {
    expect(parseRuleAction("lookup")).toBe(FR_ACT.TO_TBL);
    expect(parseRuleAction("unicast")).toBe(FR_ACT.TO_TBL);
    expect(parseRuleAction("unreach")).toBe(FR_ACT.UNREACHABLE);
    expect(parseRuleAction(8)).toBe(FR_ACT.PROHIBIT);
    expect(parseRange("53", "port", 65535, true)).toEqual({ start: 53, end: 53 });
  });
});

describe("ruleFilter: ip rule list/flush selectors", () => {
  const base: Rule = { family: AF.INET, dstLen: 0, srcLen: 0, tos: 0, table: RT_TABLE.MAIN, action: 1, flags: 0, protocol: 0 };
  const rules: Rule[] = [
    { ...base, priority: 100, srcLen: 24, src: "192.0.2.0", uidRange: { start: 1000, end: 1999 }, ipProto: 6, dportRange: { start: 80, end: 80 }, table: 100, protocol: 4 },
    { ...base, priority: 200, srcLen: 25, src: "192.0.2.128", fwmark: 0x10, fwmask: 0xff, flags: FIB_RULE.INVERT },
    { ...base, priority: 300, srcLen: 16, src: "192.0.0.0", iifname: "tk0", tos: 0x10 },
    { ...base, priority: 32766, protocol: 2 },
  ];
  const pick = (f: Parameters<typeof ruleFilter>[0]) => rules.filter(ruleFilter(f, names)).map((r) => r.priority);
  test("prefixes: at least as long and the same leading bits", () => {
    expect(pick({ from: "192.0.2.0/24" })).toEqual([100, 200]);
    expect(pick({ from: "192.0.2.128/25" })).toEqual([200]);
    expect(pick({ from: "192.0.0.0/16" })).toEqual([100, 200, 300]);
    expect(pick({ from: "all" })).toEqual([100, 200, 300, 32766]);
    expect(pick({ to: "198.51.100.0/24" })).toEqual([]);
  });
  test("exact selectors", () => {
    expect(pick({ uidRange: "1000-1999" })).toEqual([100]);
    expect(pick({ uidRange: "1000-1998" })).toEqual([]);
    expect(pick({ ipProto: "tcp", dport: 80 })).toEqual([100]);
    expect(pick({ fwmark: 0x10 })).toEqual([200]);
    expect(pick({ not: true })).toEqual([200]);
    expect(pick({ iif: "tk0" })).toEqual([300]);
    expect(pick({ tos: "10" })).toEqual([300]);
    expect(pick({ table: "vpn" })).toEqual([100]);
    expect(pick({ table: "main" })).toEqual([200, 300, 32766]);
    expect(pick({ priority: 32766 })).toEqual([32766]);
    expect(pick({ protocol: "static" })).toEqual([100]);
    expect(pick({ protocol: "all" })).toEqual([100, 200, 300, 32766]);
    expect(pick({ family: AF.INET6 })).toEqual([]);
  });
});

describe("IpNames: iproute2's databases both ways", () => {
  test("files override built-ins, numbers parse like strtoul(…, 0)", () => {
    expect(names.tableName(100)).toBe("vpn");
    expect(names.tableName(31)).toBe("hexa");
    expect(names.tableName(254)).toBe("main");
    expect(names.tableName(4000000000)).toBe("4000000000");
    expect(names.parseTable("vpn")).toBe(100);
    expect(names.parseTable("010")).toBe(8);
    expect(names.parseTable("0x10")).toBe(16);
    expect(() => names.parseTable("4294967296")).toThrow(UsageError);
    expect(parseCNumber("08")).toBeUndefined();
    expect(names.realmName(0)).toBe("cosmos");
    expect(names.realmsText((3 << 16) | 7)).toBe("east/7");
    expect(names.parseRealms("7")).toBe(7);
    expect(names.parseRealms("70000")).toBe(70000); // not a realm: taken raw, as ip does
    expect(names.groupName(5)).toBe("uplinks");
    expect(names.parseGroup("uplinks")).toBe(5);
  });
  test("DS fields are hexadecimal; unknown ones print as 0x%02x", () => {
    expect(names.parseDsfield("10")).toBe(0x10);
    expect(names.parseDsfield("0x28")).toBe(0x28);
    expect(names.dsfieldName(0x28)).toBe("0x28");
    const debian = new IpNames((db) => (db === "rt_dsfield" ? ["0x28\tAF11\n"] : []));
    expect(debian.dsfieldName(0x28)).toBe("AF11");
    expect(debian.parseDsfield("AF11")).toBe(0x28);
  });
  test("IP protocols from /etc/protocols: names, aliases, ipproto-N otherwise", () => {
    expect(names.ipProtoName(6)).toBe("tcp");
    expect(names.ipProtoName(99)).toBe("ipproto-99");
    expect(names.parseIpProto("TCP")).toBe(6);
    expect(names.parseIpProto("17")).toBe(17);
    expect(() => new IpNames().parseIpProto("tcp")).toThrow("/etc/protocols");
  });
  test("a corrupted line ends its file, the entries before it stay; -N prints numbers", () => {
    const n = new IpNames((db) => (db === "rt_protos" ? ["50 fifty\nnot a line\n51 fiftyone\n"] : []));
    expect(n.protocolName(50)).toBe("fifty");
    expect(n.protocolName(51)).toBe("51");
    expect(n.withNumeric().protocolName(50)).toBe("50");
    expect(n.withNumeric().parseProtocol("fifty")).toBe(50);
  });
});

describe("errors name the case", () => {
  test("no 'replace' for a duplicate rule; route get refusals say what the lookup met", () => {
    expect(new NetlinkError("add rule", 17).hint).not.toContain("replace");
    expect(new NetlinkError("add rule", 17).hint).toContain("rule del");
    expect(new NetlinkError("add address", 17).hint).toContain("addr replace");
    expect(new NetlinkError("add link", 17).hint).toContain("name");
    expect(new NetlinkError("delete rule", 2).message).toContain("no such rule");
    const get = (errno: number) => new NetlinkError("get route", errno, { subject: "198.51.100.1" });
    expect(get(101).hint).toContain("no route matches");
    expect(get(101).hint).not.toContain("gateway");
    expect(get(13).message).toContain("prohibited");
    expect(get(13).hint).not.toContain("CAP_NET_ADMIN");
    expect(get(113).hint).toContain("unreachable route");
    expect(get(22).hint).toContain("blackhole");
    expect(new NetlinkError("add route", 101).hint).toContain("gateway");
    expect(new NetlinkError("add link", 95).hint).toContain("link type");
  });
});
