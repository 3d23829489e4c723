// Names from /etc/iproute2 both ways, against ip itself: a private copy of /etc/iproute2 is
// bind-mounted for ip inside a mount namespace (unshare -m), and tunkit reads the same files;
// what one writes by name the other lists by the same name, text and JSON.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadIpNames } from "../../netlink/names.ts";
import { Rtnl } from "../../netlink/rtnl.ts";
import { type IpNames, setDefaultIpNames } from "../../netlink/route/names.ts";
import { linkMap } from "../../netlink/view/context.ts";
import { routeToIpJson, routeToIpText } from "../../netlink/view/route.ts";
import { ruleToIpJson, ruleToIpText } from "../../netlink/view/rule.ts";
import { itest } from "./_ns.ts";
import { ip } from "./_netlink.ts";

let nl: Rtnl;
let dir = "";
let names: IpNames;

/** ip with our private /etc/iproute2. */
function ipn(...args: string[]): string {
  const q = args.map((a) => `'${a}'`).join(" ");
  const r = spawnSync("unshare", ["-m", "sh", "-c", `mount --bind '${dir}' /etc/iproute2 && exec ip ${q}`], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  dir = mkdtempSync(join(tmpdir(), "tk-iproute2-"));
  mkdirSync(join(dir, "rt_tables.d"));
  mkdirSync(join(dir, "rt_protos.d"));
  writeFileSync(join(dir, "rt_tables"), "255\tlocal\n254\tmain\n253\tdefault\n0\tunspec\n100\tvpn\n");
  writeFileSync(join(dir, "rt_tables.d", "tunkit.conf"), "200 extra\n1000 big\n");
  writeFileSync(join(dir, "rt_protos"), "0 unspec\n2 kernel\n3 boot\n4 static\n");
  writeFileSync(join(dir, "rt_protos.d", "tunkit.conf"), "84 tunkit\n");
  writeFileSync(join(dir, "rt_realms"), "0 cosmos\n7 east\n8 west\n");
  writeFileSync(join(dir, "rt_scopes"), "0 global\n255 nowhere\n254 host\n253 link\n200 site\n");
  writeFileSync(join(dir, "rt_dsfield"), "0x00 default\n0x10 lowdelay\n");
  names = loadIpNames({ etc: dir, usr: join(dir, "none") });
  setDefaultIpNames(names);
  ip("link set lo up");
  ip("link add tkn0 type veth peer name tkn1");
  ip("link set tkn0 up");
  ip("addr add 192.0.2.1/24 dev tkn0");
  nl = Rtnl.open();
});
afterAll(() => {
  nl?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("names from /etc/iproute2, .d directories included", () => {
  itest("tunkit writes names, ip (reading the same files) lists the same names, and the other way", async () => {
    await nl.addRoute({ dst: "10.1.0.0/16", dev: "tkn0", table: "vpn", protocol: "tunkit", realms: "east/west", tos: "lowdelay" });
    await nl.addRoute({ dst: "10.2.0.0/16", dev: "tkn0", table: "big", protocol: "tunkit" });
    await nl.addRule({ from: "192.0.2.0/24", table: "extra", protocol: "tunkit", realms: "east", priority: 100 });
    ipn("route", "add", "10.3.0.0/16", "dev", "tkn0", "table", "vpn", "proto", "tunkit", "realms", "west");
    ipn("rule", "add", "to", "198.51.100.0/24", "lookup", "big", "proto", "tunkit", "pref", "101");
    const ctx = { links: linkMap(await nl.listLinks()) };
    const routes = await nl.listRoutes({ table: "all" });
    expect(routes.map((r) => routeToIpJson(r, ctx))).toEqual(JSON.parse(ipn("-j", "route", "show", "table", "all")));
    expect(routes.map((r) => routeToIpText(r, ctx) + "\n").join("")).toBe(ipn("route", "show", "table", "all"));
    const rules = await nl.listRules();
    expect(rules.map((r) => ruleToIpJson(r))).toEqual(JSON.parse(ipn("-j", "rule", "show")));
    expect(rules.map((r) => ruleToIpText(r) + "\n").join("")).toBe(ipn("rule", "show"));
    expect(ipn("route", "show", "table", "vpn")).toContain("realms east/west");
    expect((await nl.listRoutes({ table: "vpn" })).length).toBe(2);
    expect((await nl.listRules({ table: "big" })).map((r) => r.priority)).toEqual([101]);
  });
});
