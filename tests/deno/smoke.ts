/**
 * Deno smoke test of the CLI: run as root inside a fresh network namespace by scripts/test.ts
 * (`deno run -A tests/deno/smoke.ts`). Runs `deno run -A cli/main.ts` for up, route add, list,
 * link set, addr, batch and a usage error, checks the results with `ip -j`, and prints bun
 * test's summary lines (` N pass`, ` N fail`). Exits non-zero on failure.
 */
import { Deno, assert, check, eq, finish } from "./_harness.ts";

const root = new URL("../../", import.meta.url).pathname;
const deno = Deno.execPath();

async function sh(cmd: string, args: string[], input?: string): Promise<{ code: number; out: string; err: string }> {
  const p = new Deno.Command(cmd, { args, cwd: root, stdin: input === undefined ? "null" : "piped", stdout: "piped", stderr: "piped" }).spawn();
  if (input !== undefined) {
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
  }
  const o = await p.output();
  const d = new TextDecoder();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}
const tk = (args: string[], input?: string) => sh(deno, ["run", "-A", "cli/main.ts", ...args], input);
async function ipj(...args: string[]): Promise<any> {
  const r = await sh("ip", ["-j", ...args]);
  if (r.code !== 0) throw new Error(`ip -j ${args.join(" ")}: ${r.err}`);
  return JSON.parse(r.out || "[]");
}


await check("deno: --version", async () => {
  const r = await tk(["--version"]);
  const pkg = JSON.parse(await Deno.readTextFile(`${root}package.json`));
  // Run from source: no build stamp, and the runtime is the one running it.
  eq(r.out.trim(), `tunkit ${pkg.version} (source, deno ${Deno.version.deno})`, "version");
  const v = await tk(["version", "--json"]);
  eq(JSON.parse(v.out), { version: pkg.version, commit: "source", date: "source", runtime: `deno ${Deno.version.deno}`, target: "source" }, "version --json");
});

await check("deno: up creates the device with its addresses; ip agrees", async () => {
  const r = await tk(["up", "tkd0", "192.0.2.1/24", "2001:db8::1/64", "--mtu", "1400"]);
  eq(r.code, 0, `exit (stderr ${r.err})`);
  eq(r.out, "tkd0: created, mtu 1400, add 192.0.2.1/24, add 2001:db8::1/64, up\n", "output");
  const [l] = await ipj("-d", "addr", "show", "dev", "tkd0");
  eq(l.mtu, 1400, "mtu");
  assert(l.flags.includes("UP"), "device is up");
  eq(l.linkinfo.info_data.persist, true, "persist");
  const locals = l.addr_info.filter((a: any) => a.scope === "global").map((a: any) => `${a.local}/${a.prefixlen}`).sort();
  eq(locals, ["192.0.2.1/24", "2001:db8::1/64"], "addresses");
  const again = await tk(["up", "tkd0", "192.0.2.1/24", "2001:db8::1/64", "--mtu", "1400"]);
  eq(again.out, "tkd0: unchanged\n", "idempotent");
});

await check("deno: route add v4 and v6; ip -j reads them back", async () => {
  for (const args of [["198.51.100.0/24", "dev", "tkd0", "metric", "9"], ["blackhole", "203.0.113.0/24"], ["2001:db8:1::/48", "via", "2001:db8::2", "dev", "tkd0"]]) {
    const r = await tk(["route", "add", ...args]);
    eq(r.code, 0, `route add ${args.join(" ")} (stderr ${r.err})`);
  }
  const v4 = await ipj("route", "show");
  assert(v4.some((r: any) => r.dst === "198.51.100.0/24" && r.dev === "tkd0" && r.metric === 9), "v4 route");
  assert(v4.some((r: any) => r.type === "blackhole" && r.dst === "203.0.113.0/24"), "blackhole");
  const v6 = await ipj("-6", "route", "show");
  assert(v6.some((r: any) => r.dst === "2001:db8:1::/48" && r.gateway === "2001:db8::2"), "v6 route");
  // IPv4 unless told, as ip reads it
  eq(JSON.parse((await tk(["route", "list", "--json"])).out), v4, "route list --json = ip -j route");
  eq(JSON.parse((await tk(["-6", "route", "list", "--json"])).out), v6, "-6 route list --json = ip -j -6 route");
});

await check("deno: list shows the device like ip -j", async () => {
  const r = await tk(["list", "--json"]);
  eq(r.code, 0, "exit");
  const [v] = JSON.parse(r.out);
  const [l] = await ipj("addr", "show", "dev", "tkd0");
  eq([v.ifname, v.mode, v.mtu, v.persist], ["tkd0", "tun", 1400, true], "fields");
  eq(v.addr_info, l.addr_info, "addr_info");
  const t = await tk(["list"]);
  assert(/^NAME\s+MODE\s+STATE/.test(t.out), "table header");
});

await check("deno: link set, batch, usage error", async () => {
  eq((await tk(["link", "set", "tkd0", "mtu", "1300", "txqueuelen", "99"])).code, 0, "link set");
  const [l] = await ipj("link", "show", "tkd0");
  eq([l.mtu, l.txqlen], [1300, 99], "mtu/txqlen");
  const b = await tk(["batch", "-"], "route add 198.51.101.0/24 dev tkd0\nroute add 198.51.102.0/24 dev tkd0\n");
  eq(b.code, 0, `batch (stderr ${b.err})`);
  eq((await ipj("route", "show", "198.51.102.0/24")).length, 1, "batch route");
  const u = await tk(["addr", "add", "192.0.2.1/33", "dev", "tkd0"]);
  eq([u.code, u.err, u.out], [2, 'tunkit: Invalid prefix length "33" for IPv4: expected 0..32\n', ""], "usage error");
});

await check("deno: down", async () => {
  eq((await tk(["down", "tkd0"])).code, 0, "down");
  eq((await ipj("link", "show")).map((l: any) => l.ifname), ["lo"], "links left");
});

finish();
