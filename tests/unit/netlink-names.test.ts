// iproute2's name databases read from files: /etc/iproute2 first, /usr/share/iproute2 for a file
// /etc lacks, the .d/*.conf directories, /etc/protocols; ip's built-in names without files.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadIpNames } from "../../netlink/names.ts";
import { BUILTIN_IP_NAMES, IpNames, setDefaultIpNames, tableName, defaultIpNames } from "../../netlink/route/names.ts";
import { ruleToIpText } from "../../netlink/view/rule.ts";
import { routeToIpJson } from "../../netlink/view/route.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tk-names-"));
  const etc = join(dir, "etc");
  const usr = join(dir, "usr");
  for (const d of [etc, usr, join(etc, "rt_tables.d"), join(usr, "rt_tables.d"), join(etc, "rt_protos.d")]) mkdirSync(d, { recursive: true });
  writeFileSync(join(etc, "rt_tables"), "255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n100 vpn # the tunnel\n");
  writeFileSync(join(etc, "rt_tables.d", "a.conf"), "200 extra\n");
  writeFileSync(join(etc, "rt_tables.d", "skip.txt"), "201 notread\n");
  writeFileSync(join(usr, "rt_tables.d", "a.conf"), "202 shadowed\n");
  writeFileSync(join(usr, "rt_tables.d", "b.conf"), "203 fromusr\n");
  writeFileSync(join(etc, "rt_protos.d", "tk.conf"), "84 tunkit\n");
  writeFileSync(join(usr, "rt_realms"), "0 cosmos\n7 east\n");
  writeFileSync(join(etc, "rt_scopes"), "0 global\n255 nowhere\n254 host\n253 link\n200 site\n100 campus\n");
  writeFileSync(join(dir, "protocols"), "ip 0 IP\ntcp 6 TCP\nudp 17 UDP\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("loadIpNames", () => {
  test("etc files, .d/*.conf (etc's shadow usr's of the same name), usr fallback per file", () => {
    const n = loadIpNames({ etc: join(dir, "etc"), usr: join(dir, "usr"), protocols: join(dir, "protocols") });
    expect(n.tableName(100)).toBe("vpn");
    expect(n.parseTable("vpn")).toBe(100);
    expect(n.tableName(200)).toBe("extra");
    expect(n.tableName(201)).toBe("201");
    expect(n.tableName(202)).toBe("202");
    expect(n.tableName(203)).toBe("fromusr");
    expect(n.protocolName(84)).toBe("tunkit");
    expect(n.parseProtocol("tunkit")).toBe(84);
    expect(n.protocolName(4)).toBe("static");
    expect(n.realmName(7)).toBe("east");
    expect(n.realmName(0)).toBe("cosmos");
    expect(n.scopeName(100)).toBe("campus");
    expect(n.ipProtoName(17)).toBe("udp");
    expect(n.parseIpProto("TCP")).toBe(6);
  });
  test("no files: ip's built-in names only", () => {
    const n = loadIpNames({ etc: join(dir, "none"), usr: join(dir, "none"), protocols: join(dir, "none") });
    expect(n.tableName(254)).toBe("main");
    expect(n.tableName(100)).toBe("100");
    expect(n.realmName(0)).toBe("unknown");
    expect(n.protocolName(186)).toBe("bgp");
    expect(n.ipProtoName(6)).toBe("ipproto-6");
  });
  test("the views print through the process-wide names", () => {
    const n = loadIpNames({ etc: join(dir, "etc"), usr: join(dir, "usr"), protocols: join(dir, "protocols") });
    const before = defaultIpNames();
    setDefaultIpNames(n);
    try {
      expect(tableName(100)).toBe("vpn");
      expect(ruleToIpText({ family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 100, action: 1, flags: 0, priority: 5, protocol: 84, ipProto: 17, flow: 7 })).toBe(
        "5:\tfrom all ipproto udp lookup vpn realms east proto tunkit",
      );
      expect(routeToIpJson({ family: 2, dstLen: 8, srcLen: 0, tos: 0, table: 200, protocol: 84, scope: 100, type: 1, flags: 0, dst: "10.0.0.0" })).toEqual({
        dst: "10.0.0.0/8", table: "extra", protocol: "tunkit", scope: "campus", flags: [],
      });
    } finally {
      setDefaultIpNames(before);
    }
    expect(tableName(100)).toBe(before === BUILTIN_IP_NAMES ? "100" : before.tableName(100));
  });
  test("numeric (ip -N) prints numbers and still parses names", () => {
    const n = new IpNames((db) => (db === "rt_tables" ? ["100 vpn"] : [])).withNumeric();
    expect(n.tableName(100)).toBe("100");
    expect(n.tableName(254)).toBe("254");
    expect(n.parseTable("vpn")).toBe(100);
  });
});
