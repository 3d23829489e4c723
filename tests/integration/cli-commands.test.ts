// Every command in the throwaway namespace the runner gives this file, with `ip -j` as the
// oracle. The CLI runs as `bun cli/main.ts` (the compiled binary has its own test).
import { afterAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { monitorReady } from "./_cli.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { until, netlinkSubscribed } from "./dump-cli.ts";

const root = join(import.meta.dir, "../..");
const tmp = mkdtempSync(join(tmpdir(), "tk-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tk(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, "cli/main.ts"), ...args], { encoding: "utf8", input, timeout: 20_000 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
function ip(...args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
const ipj = (...args: string[]): any => JSON.parse(ip("-j", ...args) || "[]");
const ok = (args: string[], input?: string) => {
  const r = tk(args, input);
  if (r.code !== 0) throw new Error(`tunkit ${args.join(" ")} -> ${r.code}\n${r.err}`);
  return r;
};

describe("up / down / list / show", () => {
  test("up creates a persistent tun with v4+v6 addresses, owner, mtu, up; ip agrees", () => {
    const r = ok(["up", "tk0", "192.0.2.1/24", "2001:db8::1/64", "--mtu", "1400", "--user", "65534"]);
    expect(r.out).toBe("tk0: created, mtu 1400, add 192.0.2.1/24, add 2001:db8::1/64, up\n");
    const [l] = ipj("-d", "addr", "show", "dev", "tk0");
    expect(l.mtu).toBe(1400);
    expect(l.flags).toContain("UP");
    expect(l.linkinfo.info_kind).toBe("tun");
    expect(l.linkinfo.info_data).toMatchObject({ type: "tun", pi: false, vnet_hdr: false, persist: true });
    expect(String(l.linkinfo.info_data.user)).toMatch(/^(nobody|65534)$/);
    const locals = l.addr_info.filter((a: any) => a.scope === "global").map((a: any) => `${a.local}/${a.prefixlen}`);
    expect(locals.sort()).toEqual(["192.0.2.1/24", "2001:db8::1/64"]);
  });

  test("the same up twice changes nothing", () => {
    const before = ip("-d", "-j", "addr", "show", "dev", "tk0");
    const r = ok(["up", "tk0", "192.0.2.1/24", "2001:db8::1/64", "--mtu", "1400", "--user", "65534"]);
    expect(r.out).toBe("tk0: unchanged\n");
    expect(ip("-d", "-j", "addr", "show", "dev", "tk0")).toBe(before);
  });

  test("up defaults the owner to the invoking user (SUDO_UID), and refuses another mode", () => {
    const r = spawnSync(process.execPath, [join(root, "cli/main.ts"), "up", "tk9"], { encoding: "utf8", env: { ...process.env, SUDO_UID: "4321" } });
    expect(r.status).toBe(0);
    expect(ipj("-d", "link", "show", "tk9")[0].linkinfo.info_data.user).toBe(4321);
    const tap = tk(["up", "tk9", "--tap"]);
    expect(tap.code).toBe(1);
    expect(tap.err).toBe('tunkit: Device "tk9" exists as tun, not tap\nhint: delete it first (tunkit down tk9), or ask for what it is\n');
    ok(["down", "tk9"]);
  });

  test("--any-user warns; tap, multi-queue, vnet_hdr, pi flags reach the kernel", () => {
    const r = ok(["up", "tk1", "--tap", "--multi-queue", "--vnet-hdr", "--pi", "--any-user"]);
    expect(r.err).toMatch(/^tunkit: warning: tk1 has no owner and no group, as --any-user asks: any local user .*can attach it/);
    const d = ipj("-d", "link", "show", "tk1")[0].linkinfo.info_data;
    expect(d).toMatchObject({ type: "tap", pi: true, vnet_hdr: true, multi_queue: true, persist: true });
    expect(d.user).toBeUndefined();
  });

  test("list shows our devices and one made by ip tuntap, with JSON in ip -j field names", () => {
    ip("tuntap", "add", "ext0", "mode", "tun", "group", "0");
    const views = JSON.parse(ok(["list", "--json"]).out);
    const names = views.map((v: any) => v.ifname).sort();
    expect(names).toEqual(["ext0", "tk0", "tk1"]);
    const t0 = views.find((v: any) => v.ifname === "tk0");
    const oracle = ipj("-d", "addr", "show", "dev", "tk0")[0];
    expect(t0).toMatchObject({ mode: "tun", mtu: oracle.mtu, operstate: oracle.operstate, persist: true, pi: false, queues: 0, attached: [] });
    expect(t0.flags).toEqual(oracle.flags);
    expect(t0.owner.uid).toBe(65534);
    expect(t0.addr_info).toEqual(oracle.addr_info);
    const ext = views.find((v: any) => v.ifname === "ext0");
    expect(ext.owner).toBeNull();
    expect(ext.owner_group.gid).toBe(0);
    const text = ok(["list"]).out.split("\n");
    expect(text[0]).toMatch(/^NAME\s+MODE\s+STATE\s+MTU\s+FLAGS\s+OWNER\s+GROUP\s+QUEUES\s+ATTACHED\s+ADDRESSES$/);
    expect(text.find((l) => l.startsWith("tk1 "))).toMatch(/tap\s+NO-CARRIER\s+1500\s+persist,pi,vnet_hdr,multi_queue/);
  });

  test("show names the process that has the device attached", async () => {
    // A reader attached to ext0 for the duration of the check (killed at the end; the 120 s
    // close is only a bound: a 5 s one ran out before a loaded machine got to the check).
    const holder = spawn(process.execPath, ["-e", `const { openTun } = await import(${JSON.stringify(join(root, "mod.ts"))}); const d = openTun({ name: "ext0" }); console.log("ready"); setTimeout(() => d.close(), 120_000);`], { stdio: ["ignore", "pipe", "inherit"] });
    await new Promise<void>((res) => holder.stdout!.once("data", () => res()));
    try {
      const [v] = JSON.parse(ok(["show", "ext0", "--json"]).out);
      expect(v.attached.map((h: any) => h.pid)).toContain(holder.pid);
      expect(v.queues).toBe(1);
      expect(ok(["show", "ext0"]).out).toContain(`(pid ${holder.pid}, fd `);
    } finally {
      holder.kill();
    }
  });

  test("show refuses a device that is not tun/tap", () => {
    const r = tk(["show", "lo"]);
    expect(r.code).toBe(1);
    expect(r.err.split("\n")[0]).toBe('tunkit: Device "lo" is not a tun/tap device (kind none)');
  });
});

describe("link", () => {
  test("link set several changes at once; ip agrees", () => {
    ok(["link", "set", "tk1", "mtu", "1280", "txqueuelen", "77", "up"]);
    const [l] = ipj("link", "show", "tk1");
    expect(l.mtu).toBe(1280);
    expect(l.txqlen).toBe(77);
    expect(l.flags).toContain("UP");
    ok(["link", "set", "dev", "tk1", "down", "name", "tk1b"]);
    expect(ipj("link", "show", "tk1b")[0].flags).not.toContain("UP");
    ok(["link", "set", "tk1b", "name", "tk1"]);
  });
  test("link show --json is ip -j link", () => {
    const mine = JSON.parse(ok(["link", "show", "--json"]).out);
    expect(mine).toEqual(ipj("link", "show"));
  });
  test("the kernel's refusal comes through with its words", () => {
    const r = tk(["link", "set", "tk0", "mtu", "65535", "name", "lo"]);
    expect(r.code).toBe(1);
    expect(r.err.startsWith("tunkit: set link: ")).toBe(true);
  });
});

describe("addr", () => {
  test("add/del IPv4 with peer and IPv6; list --json equals ip -j addr", () => {
    ok(["addr", "add", "10.8.0.1", "peer", "10.8.0.2", "dev", "tk0"]);
    ok(["addr", "add", "2001:db8:5::1/64", "dev", "tk0", "nodad"]);
    const [mine] = JSON.parse(ok(["addr", "list", "dev", "tk0", "--json"]).out);
    expect(mine).toEqual(ipj("addr", "show", "dev", "tk0")[0]);
    const p = mine.addr_info.find((a: any) => a.local === "10.8.0.1");
    expect(p).toMatchObject({ address: "10.8.0.2", prefixlen: 32 });
    expect(ok(["addr", "list", "tk0"]).out).toContain("    inet 10.8.0.1 peer 10.8.0.2/32 scope global tk0\n");
    ok(["addr", "del", "10.8.0.1", "peer", "10.8.0.2", "dev", "tk0"]);
    ok(["addr", "del", "2001:db8:5::1/64", "dev", "tk0"]);
    const left = ipj("addr", "show", "dev", "tk0")[0].addr_info.map((a: any) => a.local);
    expect(left).not.toContain("10.8.0.1");
    expect(left).not.toContain("2001:db8:5::1");
  });
  test("adding twice: exit 1 with the reason and a hint", () => {
    const r = tk(["addr", "add", "192.0.2.1/24", "dev", "tk0"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/^tunkit: add address: already exists "192\.0\.2\.1\/24" \(EEXIST\).*\nhint: /);
  });
  test("addr list with no device lists every link like ip addr", () => {
    const mine = JSON.parse(ok(["addr", "--json"]).out);
    expect(mine).toEqual(ipj("addr", "show"));
  });
  test("flush dev removes every address", () => {
    ip("tuntap", "add", "tk7", "mode", "tun");
    ip("addr", "add", "198.51.100.7/24", "dev", "tk7");
    ip("addr", "add", "198.51.100.8/24", "dev", "tk7");
    ok(["addr", "flush", "dev", "tk7"]);
    expect(ipj("addr", "show", "dev", "tk7")[0].addr_info).toEqual([]);
    ok(["down", "tk7"]);
  });
});

describe("route", () => {
  test("add v4 and v6 in every form ip knows; ip -j reads them back", () => {
    ok(["route", "add", "198.51.100.0/24", "dev", "tk0", "metric", "7", "mtu", "1300", "proto", "static"]);
    ok(["route", "add", "blackhole", "203.0.113.0/24"]);
    ok(["route", "add", "unreachable", "203.0.113.64/26", "table", "100"]);
    // ip has no "type" word in route add ("type" is read as the prefix): neither has tunkit.
    expect(tk(["route", "add", "203.0.113.64/26", "type", "unreachable", "table", "100"]).code).toBe(2);
    ok(["route", "add", "2001:db8:1::/48", "via", "2001:db8::2", "dev", "tk0"]);
    ok(["route", "add", "default", "via", "192.0.2.254", "dev", "tk0", "table", "100", "onlink", "src", "192.0.2.1"]);
    const main = ipj("route", "show");
    expect(main).toContainEqual({ dst: "198.51.100.0/24", dev: "tk0", protocol: "static", scope: "link", metric: 7, flags: ["linkdown"], metrics: [{ mtu: 1300 }] });
    expect(main).toContainEqual({ type: "blackhole", dst: "203.0.113.0/24", flags: [] });
    expect(ipj("-6", "route", "show").find((r: any) => r.dst === "2001:db8:1::/48")).toMatchObject({ gateway: "2001:db8::2", dev: "tk0" });
    const t100 = ipj("route", "show", "table", "100");
    expect(t100).toContainEqual(expect.objectContaining({ type: "unreachable", dst: "203.0.113.64/26" }));
    expect(t100).toContainEqual(expect.objectContaining({ dst: "default", gateway: "192.0.2.254", prefsrc: "192.0.2.1", flags: expect.arrayContaining(["onlink"]) }));
  });
  test("route list --json equals ip -j route (IPv4 unless told, like ip); text equals ip route byte for byte", () => {
    expect(ok(["route", "list", "--json"]).out).toBe(ip("-j", "route", "show"));
    expect(ok(["-j", "-p", "route", "list"]).out).toBe(ip("-j", "-p", "route", "show"));
    expect(ok(["-6", "route", "list", "--json"]).out).toBe(ip("-j", "-6", "route", "show"));
    expect(ok(["-j", "route", "list", "table", "all"]).out).toBe(ip("-j", "route", "show", "table", "all"));
    expect(JSON.parse(ok(["route", "list", "table", "100", "--json"]).out)).toEqual(ipj("route", "show", "table", "100"));
    expect(ok(["route", "list"]).out).toBe(ip("route", "show"));
    expect(ok(["-d", "route", "list", "table", "all"]).out).toBe(ip("-d", "route", "show", "table", "all"));
    // Filtered by device, ip leaves "dev" out of each route: so does tunkit.
    expect(ok(["route", "list", "dev", "tk0", "--json"]).out).toBe(ip("-j", "route", "show", "dev", "tk0"));
    expect(ok(["r", "ls", "dev", "tk0"]).out).toBe(ip("r", "ls", "dev", "tk0"));
  });
  test("replace changes a route in place; del removes it", () => {
    ok(["route", "replace", "198.51.100.0/24", "dev", "tk0", "metric", "7", "mtu", "1200", "proto", "static"]);
    expect(ipj("route", "show", "198.51.100.0/24")[0].metrics).toEqual([{ mtu: 1200 }]);
    ok(["route", "del", "198.51.100.0/24", "dev", "tk0", "metric", "7"]);
    expect(ipj("route", "show", "198.51.100.0/24")).toEqual([]);
    const again = tk(["route", "del", "198.51.100.0/24", "dev", "tk0", "metric", "7"]);
    expect(again.code).toBe(1);
    expect(again.err).toContain("(ESRCH)");
  });
  test("route get agrees with ip route get", () => {
    ok(["route", "add", "198.51.100.0/24", "dev", "tk0"]);
    const [mine] = JSON.parse(ok(["route", "get", "198.51.100.7", "--json"]).out);
    const [theirs] = ipj("route", "get", "198.51.100.7");
    expect(mine.dst).toBe(theirs.dst);
    expect(mine.dev).toBe(theirs.dev);
    expect(mine.prefsrc).toBe(theirs.prefsrc);
    const r = tk(["route", "get", "2001:db8:ffff::1"]);
    expect(r.code === 0 || r.err.startsWith("tunkit: get route: ")).toBe(true);
  });
  test("flush dev removes the device's IPv4 routes, like ip (IPv6 with -6)", () => {
    ok(["route", "add", "203.0.113.128/25", "dev", "tk0"]);
    ok(["route", "add", "2001:db8:2::/48", "dev", "tk0"]);
    ok(["route", "flush", "dev", "tk0"]);
    expect(ipj("route", "show", "dev", "tk0")).toEqual([]);
    expect(ipj("-6", "route", "show", "dev", "tk0").filter((r: any) => r.dst === "2001:db8:2::/48").length).toBe(1);
    ok(["-6", "route", "flush", "dev", "tk0"]);
    expect(ipj("-6", "route", "show", "dev", "tk0").filter((r: any) => r.dst === "2001:db8:2::/48")).toEqual([]);
  });
});

describe("batch", () => {
  test("pipelined routes and addresses; comments and blanks skipped", () => {
    const lines = ["# routes", "", ...Array.from({ length: 50 }, (_, i) => `route add 198.18.${i}.0/24 dev tk0   # n${i}`), "addr add 192.0.2.77/24 dev tk0", "link set tk0 up"];
    writeFileSync(join(tmp, "ok.txt"), lines.join("\n") + "\n");
    ok(["batch", join(tmp, "ok.txt")]);
    const routes = ipj("route", "show").filter((r: any) => String(r.dst).startsWith("198.18."));
    expect(routes.length).toBe(50);
    expect(ipj("addr", "show", "dev", "tk0")[0].addr_info.map((a: any) => a.local)).toContain("192.0.2.77");
  });
  test("a bad line anywhere with --check-first: exit 2, its line number, nothing changed", () => {
    writeFileSync(join(tmp, "bad.txt"), "route add 198.19.0.0/24 dev tk0\n\nroute add 198.19.1.0/33 dev tk0\n");
    const before = ip("-j", "route", "show");
    const r = tk(["batch", "--check-first", join(tmp, "bad.txt")]);
    expect(r.code).toBe(2);
    expect(r.err).toBe('tunkit: line 3: Invalid prefix length "33" for IPv4: expected 0..32\n');
    expect(ip("-j", "route", "show")).toBe(before);
  });
  test("the first kernel error stops it with its line number; --force goes on", () => {
    const text = "route add 198.20.0.0/24 dev tk0\nroute add 198.20.0.0/24 dev tk0\nlink set tk0 up\nroute add 198.20.1.0/24 dev tk0\n";
    const r = tk(["batch", "-"], text);
    expect(r.code).toBe(1);
    expect(r.err.split("\n")[0]).toBe('tunkit: line 2: add route: already exists "198.20.0.0/24" (EEXIST)');
    expect(r.err).toContain("stopped at line 2");
    expect(r.err).toContain("1 line applied before it, none after");
    expect(ipj("route", "show", "198.20.1.0/24")).toEqual([]);
    ok(["route", "del", "198.20.0.0/24", "dev", "tk0"]);
    const f = tk(["batch", "--force", "-"], text);
    expect(f.code).toBe(1);
    expect(ipj("route", "show", "198.20.1.0/24").length).toBe(1);
    expect(f.err.split("\n").filter((l) => l.startsWith("tunkit: line ")).length).toBe(1);
  });
  test("listings inside a batch print in order, with the batch's --json", () => {
    const r = ok(["--json", "batch", "-"], "route list table 100 -4\nlink show lo\n");
    const [a, b] = r.out.trim().split("\n");
    expect(JSON.parse(a!)).toEqual(ipj("route", "show", "table", "100"));
    expect(JSON.parse(b!)[0].ifname).toBe("lo");
  });
});

describe("monitor", () => {
  test("prints ip-monitor-style lines and NDJSON, ends after --count", async () => {
    const child = spawn(process.execPath, [join(root, "cli/main.ts"), "monitor", "route", "--json", "--count", "2"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    await monitorReady(1 << 6); // RTNLGRP_IPV4_ROUTE
    ip("route", "add", "198.51.100.128/25", "dev", "tk0");
    ip("route", "del", "198.51.100.128/25", "dev", "tk0");
    const code = await new Promise<number | null>((res) => child.on("exit", res));
    expect(code).toBe(0);
    const ev = out.trim().split("\n").map((l) => JSON.parse(l));
    expect(ev.map((e) => [e.kind, e.action, e.route.dst])).toEqual([["route", "new", "198.51.100.128/25"], ["route", "del", "198.51.100.128/25"]]);
  });
  test("Ctrl-C ends it cleanly with exit 0", async () => {
    const child = spawn(process.execPath, [join(root, "cli/main.ts"), "monitor"], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (err += d));
    await monitorReady(1 << 0); // RTNLGRP_LINK
    ip("link", "set", "tk1", "mtu", "1300");
    await until(() => / mtu 1300 /.test(out), "the monitor's line for the MTU change");
    child.kill("SIGINT");
    const code = await new Promise<number | null>((res) => child.on("exit", res));
    expect(code).toBe(0);
    expect(err).toBe("");
    expect(out).toMatch(/^\[LINK\] \d+: tk1: <.*> mtu 1300 state /m);
  });
});

describe("namespaces and doctor", () => {
  test("-n NAME acts inside a named namespace (ip netns), leaving ours alone", () => {
    const ns = `tk-cli-${process.pid}`;
    ip("netns", "add", ns);
    try {
      ok(["-n", ns, "up", "tkn0", "192.0.2.1/24"]);
      expect(ipj("-n", ns, "addr", "show", "dev", "tkn0")[0].addr_info[0].local).toBe("192.0.2.1");
      expect(spawnSync("ip", ["link", "show", "tkn0"]).status).not.toBe(0);
      const r = tk(["-n", "no-such-ns-here", "list"]);
      expect(r.code).toBe(1);
      expect(r.err).toContain('there is no network namespace "no-such-ns-here"');
    } finally {
      ip("netns", "del", ns);
    }
  });
  test("doctor --json reports the five checks, all fine as root here", () => {
    const checks = JSON.parse(ok(["doctor", "--json"]).out);
    expect(checks.map((c: any) => c.check)).toEqual(["tun-device", "cap-net-admin", "tun-features", "user-namespaces", "wg-crypto"]);
    expect(checks.find((c: any) => c.check === "cap-net-admin").status).toBe("ok");
  });
  test("down deletes the device with its addresses and routes", () => {
    ok(["route", "add", "198.51.100.0/25", "dev", "tk0"]);
    for (const n of ["tk0", "tk1", "ext0"]) ok(["down", n]);
    expect(ipj("link", "show").map((l: any) => l.ifname)).toEqual(["lo"]);
    expect(ipj("route", "show").filter((r: any) => r.dev === "tk0" || r.dev === "tk1")).toEqual([]);
    const r = tk(["down", "lo"]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('is not a tun/tap device');
  });
});
