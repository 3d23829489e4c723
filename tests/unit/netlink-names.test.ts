// iproute2's name databases read from files: /etc/iproute2 first, /usr/share/iproute2 for a file
// /etc lacks, the .d/*.conf directories, /etc/protocols; ip's built-in names without files.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadIpNames } from "../../netlink/names.ts";
import { BUILTIN_IP_NAMES, IpNames, setDefaultIpNames, tableName, defaultIpNames, idNameLine, parseCNumber } from "../../netlink/route/names.ts";
import { regExpsUsedBy } from "./_regexp-spy.ts";
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

describe("the name files' reader without RegExps (start-up, issue 11)", () => {
  /** idNameLine as it was written with RegExps: the reference. */
  function idNameLineByRegExp(line: string): { id: number; name: string } | undefined | null {
    const p = line.replace(/^[ \t]+/, "");
    if (p === "" || p.startsWith("#")) return undefined;
    const m = /^(0x[0-9a-fA-F]+|-?\d+)[ \t]*([^\s]+)/.exec(p);
    if (!m) return null;
    return { id: m[1]!.startsWith("0x") ? parseInt(m[1]!.slice(2), 16) : Number(m[1]), name: m[2]! };
  }
  /** parseCNumber as it was written with RegExps: the reference. */
  function parseCNumberByRegExp(s: string, base: 0 | 10 | 16 = 0): number | undefined {
    let m: RegExpExecArray | null;
    if (base === 16) return (m = /^(?:0[xX])?([0-9a-fA-F]+)$/.exec(s)) ? parseInt(m[1]!, 16) : undefined;
    if (base === 10) return /^\d+$/.test(s) ? Number(s) : undefined;
    if ((m = /^0[xX]([0-9a-fA-F]+)$/.exec(s))) return parseInt(m[1]!, 16);
    if (/^0[0-7]*$/.test(s)) return parseInt(s, 8);
    if (/^[1-9]\d*$/.test(s)) return Number(s);
    return undefined;
  }
  let seed = 5;
  const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const randomText = (alphabet: readonly string[], max: number) => {
    let t = "";
    for (let n = Math.floor(rnd() * max); n > 0; n--) t += alphabet[Math.floor(rnd() * alphabet.length)];
    return t;
  };

  test("idNameLine reads every line as the RegExps did (backtracking included), random and tricky lines", () => {
    const fixed = ["", " ", "\t", "#x", "  # x", "254\tmain", "0x10 ten", "0x1f", "0x1", "0x", "0xg", "255", "5", "-1 neg", "-12", "-", "-x", "1main", "0x1fz",
      "0x1f\r", "12\r", "7 \r", "7\u3000x", "7 \u00a0x", "0X10 up", "  0x0 zero # c", "1 a b", "\r", "1\vx", "01 lead"];
    const alphabet = ["0", "1", "9", "x", "X", "a", "f", "g", "-", " ", "\t", "#", "\r", "\v", "\u00a0", "\u3000", "m", "é"];
    const lines = [...fixed];
    for (let k = 0; k < 30000; k++) lines.push(randomText(alphabet, 10));
    for (const l of lines) {
      const got = JSON.stringify(idNameLine(l)) ?? "undefined";
      const want = JSON.stringify(idNameLineByRegExp(l)) ?? "undefined";
      if (got !== want) expect(`${JSON.stringify(l)} -> ${got}`).toBe(`${JSON.stringify(l)} -> ${want}`);
    }
    expect(idNameLine("0x1f")).toEqual({ id: 1, name: "f" }); // the RegExp's backtracking, kept
  });

  test("parseCNumber parses every word as the RegExps did, in each base", () => {
    const alphabet = ["0", "1", "7", "8", "9", "x", "X", "a", "F", "g", " ", "-", "+", "e", "."];
    const words = ["", "0", "00", "0x", "0X", "0x0", "0x1F", "017", "08", "1e3", "12", "-1", " 1", "0xg", "ff", "4294967295", "99999999999999999999"];
    for (let k = 0; k < 30000; k++) words.push(randomText(alphabet, 8));
    for (const w of words) {
      for (const b of [0, 10, 16] as const) {
        const got = parseCNumber(w, b);
        const want = parseCNumberByRegExp(w, b);
        if (!Object.is(got, want)) expect(`${JSON.stringify(w)} base ${b} -> ${got}`).toBe(`${JSON.stringify(w)} base ${b} -> ${want}`);
      }
    }
  });

  test("loading this machine's name files, and printing and parsing names, runs no RegExp", () => {
    const etc = mkdtempSync(join(tmpdir(), "tk-rx-"));
    try {
      mkdirSync(join(etc, "rt_tables.d"));
      writeFileSync(join(etc, "rt_tables"), "# reserved\n255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n");
      writeFileSync(join(etc, "rt_tables.d", "vpn.conf"), "100 vpn\n");
      writeFileSync(join(etc, "rt_protos"), "#\n0\tunspec\n2\tkernel\n0x10 dhcp\n");
      const { used, result } = regExpsUsedBy(() => {
        const n = loadIpNames({ etc: `${etc}//`, usr: join(etc, "none") });
        return [n.tableName(100), n.tableName(254), n.protocolName(16), n.scopeName(253), n.parseTable("vpn"), n.parseTable("0x10"), n.parseProtocol("017")];
      });
      expect(result).toEqual(["vpn", "main", "dhcp", "link", 100, 16, 15]);
      expect(used).toEqual([]);
    } finally {
      rmSync(etc, { recursive: true, force: true });
    }
  });
});
