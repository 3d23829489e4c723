// A full tunnel (AllowedIPs = 0.0.0.0/0, ::/0 with Table = auto) routed as wg-quick does it:
// fwmark on the UDP sockets, "not fwmark T lookup T" and "lookup main suppress_prefixlength 0"
// rules, a default route in table T. Host A (tunkit) has a plain default route via B too; B
// (wireguard-go) answers "who are you" on 203.0.113.1 / 2001:db8:ff::1 with the source address
// it sees: 10.9.0.1 means the connection went through the tunnel, 192.0.2.1 that it went around.
// Then down removes everything, and a killed daemon leaves the traffic blocked (not leaking)
// until `tunkit wg down` clears what it left.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { writeFileSync, mkdtempSync, chmodSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { needing } from "./_ns.ts";
import { twoHosts, teardown, until, type Host } from "../fixtures/wg/topology.ts";
import { genkey } from "../fixtures/wg/peers.ts";

const { ptest, ready } = needing("wg full tunnel", ["wireguard-go", "wg", "nsenter"], "wireguard-go wireguard-tools util-linux");
const root = resolve(import.meta.dir, "../..");
const bun = process.execPath;
const tunkit = [bun, join(root, "cli/main.ts")] as const;
const dir = mkdtempSync(join(tmpdir(), "tkwgf-"));
const WHOAMI_SERVER = `require("node:net").createServer((s) => s.end(s.remoteAddress.replace(/^::ffff:/, "") + "\\n")).listen(7777, "::", () => console.error("listening"));`;
const WHOAMI_CLIENT = `const s = require("node:net").connect({ host: process.argv[1], port: 7777, timeout: 4000 });
let out = ""; s.on("data", (d) => (out += d)); s.on("end", () => console.log(out.trim()));
s.on("timeout", () => { console.log("timeout"); process.exit(0); }); s.on("error", (e) => { console.log(e.code); process.exit(0); });`;

afterAll(() => {
  teardown();
  rmSync(dir, { recursive: true, force: true });
});

describe("tunkit wg full tunnel", () => {
  let a: Host, b: Host;
  const kA = genkey(), kB = genkey();
  const confA = join(dir, "a.conf");
  const whoami = (dst: string) => a.sh(bun, "-e", WHOAMI_CLIENT, dst).trim();
  const rules = (family: "-4" | "-6") => JSON.parse(a.sh("ip", family, "-j", "rule", "list")) as Array<Record<string, unknown>>;
  const up = () => {
    const r = a.try(...tunkit, "wg", "up", "wga", "--config", confA);
    if (r.status !== 0) throw new Error(`tunkit wg up: ${r.status} ${r.stderr}`);
  };

  beforeAll(async () => {
    if (!ready) return;
    ({ a, b } = await twoHosts(`${process.pid % 100000}u`));
    a.sh("ip", "route", "add", "default", "via", "192.0.2.2");
    a.sh("ip", "-6", "route", "add", "default", "via", "2001:db8:1::2");
    b.sh("ip", "addr", "add", "203.0.113.1/32", "dev", "lo");
    b.sh("ip", "addr", "add", "2001:db8:ff::1/128", "dev", "lo");
    const srv = b.start(bun, ["-e", WHOAMI_SERVER]);
    await new Promise<void>((r) => srv.stderr!.on("data", (d) => String(d).includes("listening") && r()));
    writeFileSync(confA, ["[Interface]", `PrivateKey = ${kA.priv}`, "ListenPort = 51820", "Address = 10.9.0.1/24, 2001:db8:9::1/64",
      "", "[Peer]", `PublicKey = ${kB.pub}`, "AllowedIPs = 0.0.0.0/0, ::/0", "Endpoint = 192.0.2.2:51821"].join("\n") + "\n");
    chmodSync(confA, 0o600);
    const confB = join(dir, "b.conf");
    writeFileSync(confB, ["[Interface]", `PrivateKey = ${kB.priv}`, "ListenPort = 51821",
      "", "[Peer]", `PublicKey = ${kA.pub}`, "AllowedIPs = 10.9.0.1/32, 2001:db8:9::1/128"].join("\n") + "\n");
    b.start("wireguard-go", ["-f", "wgb"]);
    await until(() => b.try("test", "-S", "/run/wireguard/wgb.sock").status === 0, 30_000, "wireguard-go's socket");
    b.sh("wg", "setconf", "wgb", confB);
    b.sh("ip", "addr", "add", "10.9.0.2/24", "dev", "wgb");
    b.sh("ip", "addr", "add", "2001:db8:9::2/64", "dev", "wgb", "nodad");
    b.sh("ip", "link", "set", "wgb", "mtu", "1420", "up");
    // Before the tunnel: the plain default route, A seen as 192.0.2.1.
    expect(whoami("203.0.113.1")).toBe("192.0.2.1");
  }, 120_000);

  ptest("up: fwmark 51820 on the sockets, wg-quick's rules in both families, a default route in table 51820", () => {
    up();
    expect(a.sh("wg", "show", "wga", "fwmark").trim()).toBe("0xca6c");
    for (const f of ["-4", "-6"] as const) {
      const rs = rules(f);
      const sup = rs.find((r) => r.suppress_prefixlen === 0);
      const not = rs.find((r) => r.table === "51820");
      expect(sup).toMatchObject({ priority: 32764, table: "main" });
      expect(not).toMatchObject({ priority: 32765, not: null, fwmark: "0xca6c" });
      const t = a.sh("ip", f, "route", "show", "table", "51820");
      expect(t).toContain("default dev wga");
      expect(t).toContain("unreachable default");
    }
  }, 120_000);

  ptest("everything goes through the tunnel, both families; the LAN stays direct", async () => {
    await until(() => whoami("203.0.113.1") === "10.9.0.1", 30_000, "203.0.113.1 through the tunnel");
    await until(() => whoami("2001:db8:ff::1") === "2001:db8:9::1", 30_000, "2001:db8:ff::1 through the tunnel");
    // 192.0.2.0/24 is more specific than /0 in main: suppress_prefixlength 0 keeps it direct.
    expect(whoami("192.0.2.2")).toBe("192.0.2.1");
  }, 120_000);

  ptest("down removes the rules and the table: traffic goes the plain way again", () => {
    expect(a.try(...tunkit, "wg", "down", "wga").status).toBe(0);
    for (const f of ["-4", "-6"] as const) {
      expect(rules(f).some((r) => r.suppress_prefixlen === 0 || r.table === "51820")).toBe(false);
      expect(a.sh("ip", f, "route", "show", "table", "51820").trim()).toBe("");
    }
    expect(whoami("203.0.113.1")).toBe("192.0.2.1");
  }, 120_000);

  ptest("a killed daemon leaves traffic blocked, not leaking; wg down then clears what it left", async () => {
    up();
    await until(() => whoami("203.0.113.1") === "10.9.0.1", 30_000, "through the tunnel again");
    const pid = a.sh("pgrep", "-f", `wg up wga --config ${confA} --foreground`).trim().split("\n")[0]!;
    expect(Number(pid)).toBeGreaterThan(0);
    a.sh("kill", "-9", pid);
    await until(() => a.try("ip", "link", "show", "wga").status !== 0, 30_000, "the tun to go with its process");
    // The kernel's verdict (ip route get), and no connection either way (Bun reports the
    // EHOSTUNREACH of connect() as ECONNREFUSED).
    const get = a.try("ip", "route", "get", "203.0.113.1");
    expect(get.status).not.toBe(0);
    expect(get.stderr).toContain("No route to host");
    expect(["EHOSTUNREACH", "ECONNREFUSED"]).toContain(whoami("203.0.113.1"));
    expect(rules("-4").some((r) => r.table === "51820")).toBe(true);
    const down = a.try(...tunkit, "wg", "down", "wga");
    expect(down.status).toBe(0);
    expect(down.stderr + down.stdout).toContain("removed the full-tunnel rules of wga");
    expect(rules("-4").some((r) => r.table === "51820")).toBe(false);
    expect(rules("-6").some((r) => r.table === "51820")).toBe(false);
    expect(whoami("203.0.113.1")).toBe("192.0.2.1");
  }, 120_000);
});
