// tunkit socks --auto-route: a table with a default route into the tun and policy rules (the
// proxy excluded), all carrying protocol 84, removed on SIGTERM/SIGINT; after a SIGKILL,
// tunkit cleanup removes exactly tunkit's leftovers. Also tunkit rule add|del|list vs ip -j rule.
import { describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { needing } from "./_ns.ts";
import { microsocksTopology } from "../fixtures/proxy/hooks.ts";
import { sh, curl, BUN, ROOT, PROXY_OUT_V4, SERVER_V4 } from "../fixtures/proxy/topology.ts";

const { ptest, ready } = needing("proxy-route", ["microsocks", "curl", "unshare"], "microsocks curl");
const t = microsocksTopology("rt", ready);


type J = Record<string, unknown>;
const rules = (v6 = false): J[] => JSON.parse(sh("ip", "-j", ...(v6 ? ["-6"] : []), "rule"));
const ours = (v6 = false) => rules(v6).filter((r) => r.protocol === "84");
const table = (n: number, v6 = false): J[] => JSON.parse(sh("ip", "-j", ...(v6 ? ["-6"] : []), "route", "show", "table", String(n)));
const tk = (...args: string[]) => spawnSync(BUN, [`${ROOT}/cli/main.ts`, ...args], { encoding: "utf8" });

describe("auto-route", () => {
  for (const sig of ["SIGTERM", "SIGINT"] as const) {
    ptest(`installs table 8484 + rules (proxy and --exclude kept out), traffic flows, all removed on ${sig}`, async () => {
      const p = await t.tunkit(["socks", "tk0", "--proxy", "socks5://192.0.2.2:1080", "--address", "198.18.0.1/30", "--address", "fd54:4b::1/126", "--auto-route", "--exclude", "203.0.113.0/24"]);
      const r4 = ours();
      expect(r4).toEqual([
        { priority: 8484, src: "all", fwmark: "0x54", fwmask: "0x54", goto: 8489, protocol: "84" },
        { priority: 8485, src: "all", dport: 53, table: "8484", protocol: "84" },
        { priority: 8486, src: "all", dst: "192.0.2.2", goto: 8489, protocol: "84" },
        { priority: 8486, src: "all", dst: "203.0.113.0", dstlen: 24, goto: 8489, protocol: "84" },
        { priority: 8487, src: "all", table: "main", suppress_prefixlen: 0, protocol: "84" },
        { priority: 8488, src: "all", table: "8484", protocol: "84" },
        { priority: 8489, src: "all", nop: null, protocol: "84" },
      ]);
      expect(ours(true).map((r) => r.priority)).toEqual([8484, 8485, 8487, 8488, 8489]);
      expect(table(8484)).toMatchObject([{ dst: "default", dev: "tk0", protocol: "84" }]);
      expect(table(8484, true)).toMatchObject([{ dst: "default", dev: "tk0", protocol: "84" }]);
      // no manual route: the rules alone send the server's traffic into the tun
      const c = await curl([`http://${SERVER_V4}/peer`], 10);
      expect(c.out.trim()).toBe(PROXY_OUT_V4);
      p.kill(sig);
      expect(await p.exited).toBe(0);
      expect(ours()).toEqual([]);
      expect(ours(true)).toEqual([]);
      expect(spawnSync("ip", ["route", "show", "table", "8484"], { encoding: "utf8" }).stdout).toBe("");
    });
  }

  ptest("after SIGKILL, tunkit cleanup removes exactly tunkit's rules and routes", async () => {
    expect(tk("up", "tk1", "198.18.0.1/30").status).toBe(0); // persistent: its routes outlive tunkit
    sh("ip", "rule", "add", "from", "203.0.113.0/24", "lookup", "100", "pref", "100");
    sh("ip", "route", "add", "203.0.113.0/24", "dev", "tk1", "table", "100");
    const p = await t.tunkit(["socks", "tk1", "--proxy", "socks5://192.0.2.2:1080", "--auto-route"]);
    p.kill("SIGKILL");
    await p.exited;
    expect(ours().length).toBe(6);
    expect(table(8484).length).toBe(1);
    const dry = tk("cleanup", "--dry-run", "--json");
    expect(dry.status).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dryRun: true, rules: [{}, {}, {}, {}, {}, {}, {}, {}, {}], routes: [{ dst: "default", dev: "tk1", table: "8484" }] });
    expect(ours().length).toBe(6);
    const r = tk("cleanup");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("9 rules, 1 route removed");
    expect(ours()).toEqual([]);
    expect(spawnSync("ip", ["route", "show", "table", "8484"], { encoding: "utf8" }).stdout).toBe("");
    // the user's own rule and route are untouched
    expect(rules().some((x) => x.priority === 100 && x.table === "100")).toBe(true);
    expect(table(100)).toMatchObject([{ dst: "203.0.113.0/24", dev: "tk1" }]);
    expect(tk("cleanup").stdout).toContain("0 rules, 0 routes removed");
    sh("ip", "rule", "del", "pref", "100");
    expect(tk("down", "tk1").status).toBe(0);
  });

  ptest("a device without an address is refused with a hint, nothing left behind", async () => {
    expect(tk("up", "tk2").status).toBe(0);
    const r = tk("socks", "tk2", "--proxy", "socks5://192.0.2.2:1080", "--auto-route");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('Device "tk2" has no IPv4 or IPv6 address');
    expect(r.stderr).toContain("hint: give one: --address");
    expect(ours()).toEqual([]);
    expect(tk("down", "tk2").status).toBe(0);
  });
});

describe("tunkit rule", () => {
  ptest("add / list / del, read back with ip -j rule, and ip's rules listed by tunkit", () => {
    expect(tk("rule", "add", "from", "192.0.2.0/24", "lookup", "100", "pref", "1000").status).toBe(0);
    expect(tk("rule", "add", "-6", "to", "2001:db8::/32", "lookup", "main", "pref", "1001", "proto", "static").status).toBe(0);
    expect(tk("rule", "add", "blackhole", "fwmark", "0x54/0xff", "pref", "1002").status).toBe(0);
    expect(rules().find((r) => r.priority === 1000)).toEqual({ priority: 1000, src: "192.0.2.0", srclen: 24, table: "100" });
    expect(rules(true).find((r) => r.priority === 1001)).toMatchObject({ dst: "2001:db8::", dstlen: 32, table: "main", protocol: "static" });
    expect(rules().find((r) => r.priority === 1002)).toMatchObject({ fwmark: "0x54", fwmask: "0xff", action: "blackhole" });
    sh("ip", "rule", "add", "to", "198.51.100.0/24", "lookup", "200", "pref", "1003");
    const listed = tk("rule", "list", "-4", "--json");
    expect(listed.status).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual(rules());
    const text = tk("rule", "list", "-4").stdout;
    expect(text).toContain("1000:\tfrom 192.0.2.0/24 lookup 100");
    expect(text).toContain("1003:\tfrom all to 198.51.100.0/24 lookup 200");
    expect(text.split("\n")[0]).toBe(spawnSync("ip", ["rule"], { encoding: "utf8" }).stdout.split("\n")[0]);
    for (const pref of ["1000", "1002", "1003"]) expect(tk("rule", "del", "pref", pref).status).toBe(0);
    expect(tk("rule", "del", "-6", "pref", "1001").status).toBe(0);
    expect(rules().some((r) => [1000, 1002, 1003].includes(r.priority as number))).toBe(false);
    expect(rules(true).some((r) => r.priority === 1001)).toBe(false);
  });

  for (const args of [["add", "from", "192.0.2.0/33", "lookup", "100"], ["add"], ["add", "lookup", "100", "pref", "x"], ["add", "frm", "all", "lookup", "1"], ["add", "-4", "to", "2001:db8::/32", "lookup", "1"]]) {
    ptest(`bad input: rule ${args.join(" ")}`, () => {
      const before = JSON.stringify(rules());
      const r = tk("rule", ...args);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(JSON.stringify(rules())).toBe(before);
    });
  }
});
