// The package as people install it: `npm pack` (which runs the prepack build of lib/), the
// tarball installed with npm into a fresh Bun project and a fresh Deno project in a temp dir,
// and a program in each that opens a tun, adds an address and a route through
// `import ... from "tunkit"` — checked with `ip -j`. Also: the tarball holds the library only,
// and a consumer's strict tsc reports nothing inside tunkit.
//
// Offline: the runner puts this file in a network namespace without a route out, so the
// installs cannot reach the registry. Each consumer gets a package-lock.json naming the
// tarball (file:) and tunkit's dependencies with the integrity of the repo's own lock; `npm ci
// --offline` then takes them from npm's cache, which the repo's `npm ci` filled.
import { afterAll, beforeAll, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { itest } from "./_ns.ts";

const root = join(import.meta.dir, "../..");
const bin = (name: string) => join(root, "node_modules/.bin", name);
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  version: string;
  dependencies: Record<string, string>;
  files: string[];
};
const work = mkdtempSync(join(tmpdir(), "tk-pack-"));
const tgzName = `tunkit-${pkg.version}.tgz`;
let files: string[] = [];
let packed: { size: number; entryCount: number } = { size: 0, entryCount: 0 };

/** Runs a command; throws with its output when it fails. */
function run(cmd: string, args: string[], cwd: string, timeout = 300_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", timeout, env: { ...process.env, npm_config_update_notifier: "false" } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} (exit ${r.status ?? r.signal}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** A fresh consumer project: package.json + a lock built from the repo's, installed offline. */
function consumer(name: string, extra: string[], more: Record<string, string> = {}): string {
  const dir = join(work, name);
  mkdirSync(dir);
  const ours = (JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, Record<string, unknown>> }).packages;
  const tgz = `file:../${tgzName}`;
  const integrity = `sha512-${createHash("sha512").update(readFileSync(join(work, tgzName))).digest("base64")}`;
  const deps: Record<string, string> = { tunkit: tgz };
  const packages: Record<string, unknown> = {
    "node_modules/tunkit": { version: pkg.version, resolved: tgz, integrity, license: "MIT", dependencies: pkg.dependencies },
  };
  for (const dep of [...Object.keys(pkg.dependencies), ...extra]) {
    const key = dep.startsWith("node_modules/") ? dep : `node_modules/${dep}`;
    const e = { ...ours[key] };
    if (!ours[key]) throw new Error(`${key} is not in package-lock.json`);
    delete e.dev;
    packages[key] = e;
    if (!dep.startsWith("node_modules/") && extra.includes(dep)) deps[dep] = String(e.version);
  }
  const manifest = { name: `consumer-${name}`, private: true, type: "module", dependencies: deps };
  writeFileSync(join(dir, "package.json"), JSON.stringify(manifest, null, 2));
  writeFileSync(join(dir, "package-lock.json"), JSON.stringify({ ...manifest, lockfileVersion: 3, requires: true, packages: { "": manifest, ...packages } }, null, 2));
  for (const [f, text] of Object.entries(more)) writeFileSync(join(dir, f), text);
  run("npm", ["ci", "--offline", "--no-audit", "--no-fund", "--ignore-scripts"], dir);
  return dir;
}

// The consumer program: everything through the public entries; prints what ip -j sees.
const program = (dev: string) => `import { openTun, Rtnl, parsePrefix, type RouteSpec } from "tunkit";
import { TunQueue } from "tunkit/tun";
import { routeToIpJson, linkMap } from "tunkit/netlink";
import { decode, buildIcmpEcho } from "tunkit/packet";
import { parseProxyUrl } from "tunkit/proxy";
import { spawnSync } from "node:child_process";

const dev = openTun({ name: "${dev}" });
const nl = Rtnl.open();
await nl.setLink(dev.name, { up: true });
await nl.addAddress({ dev: dev.name, address: "192.0.2.1/24" });
const spec: RouteSpec = { dst: "198.51.100.0/24", gateway: "192.0.2.254", dev: dev.name };
await nl.addRoute(spec);
const ctx = { links: linkMap(await nl.listLinks()) };
const mine = (await nl.listRoutes()).filter((r) => r.dst === "198.51.100.0").map((r) => routeToIpJson(r, ctx));
const ip = (...a: string[]) => JSON.parse(spawnSync("ip", ["-j", ...a], { encoding: "utf8" }).stdout);
const pkt = decode(buildIcmpEcho({ src: "192.0.2.1", dst: "198.51.100.7", id: 1, seq: 1, payload: 8 }));
console.log(JSON.stringify({
  addr: ip("addr", "show", "dev", dev.name), route: ip("route", "show", "dev", dev.name), mine,
  len: parsePrefix("198.51.100.0/24").len, queue: typeof TunQueue, dst: pkt.ipv4?.dst, proxy: parseProxyUrl("socks5://192.0.2.2:1080", "socks5").port,
}));
nl.close();
dev.close();
`;

beforeAll(() => {
  const out = run("npm", ["pack", "--json", "--pack-destination", work], root, 600_000);
  const info = (JSON.parse(out.slice(out.indexOf("["))) as Array<{ files: Array<{ path: string }>; size: number; entryCount: number }>)[0]!;
  files = info.files.map((f) => f.path);
  packed = info;
  console.log(`tarball: ${tgzName}, ${info.entryCount} files, ${(info.size / 1024).toFixed(0)} KiB`);
}, 620_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

itest("the tarball holds the library (TypeScript + built lib/ with .d.ts), no tests, benches, scripts or CLI", () => {
  expect(packed.entryCount).toBeGreaterThan(100);
  expect(files.filter((f) => /^(tests|bench|scripts|cli|examples|contrib|\.ci)\//.test(f) || /\.test\.ts$/.test(f))).toEqual([]);
  for (const f of ["package.json", "mod.ts", "lib/mod.js", "lib/mod.d.ts", "LICENSE", "README.md"]) expect(files).toContain(f);
  for (const area of ["tun", "netlink", "packet", "proxy", "wg", "common"]) {
    expect(files).toContain(`${area}/mod.ts`);
    expect(files).toContain(`lib/${area}/mod.js`);
    expect(files).toContain(`lib/${area}/mod.d.ts`);
  }
  // Every lib/ module has its declarations next to it.
  for (const js of files.filter((f) => f.startsWith("lib/") && f.endsWith(".js"))) expect(files).toContain(js.replace(/\.js$/, ".d.ts"));
});

const check = (out: string, dev: string) => {
  const r = JSON.parse(out.trim().split("\n").at(-1)!) as {
    addr: Array<{ ifname: string; flags: string[]; addr_info: Array<{ local: string; prefixlen: number }> }>;
    route: Array<{ dst: string; gateway?: string }>;
    mine: Array<{ dst: string; gateway?: string; dev?: string }>;
    len: number; queue: string; dst: string; proxy: number;
  };
  expect(r.addr[0]?.ifname).toBe(dev);
  expect(r.addr[0]?.flags).toContain("UP");
  expect(r.addr[0]?.addr_info.map((a) => `${a.local}/${a.prefixlen}`)).toContain("192.0.2.1/24");
  expect(r.route).toContainEqual(expect.objectContaining({ dst: "198.51.100.0/24", gateway: "192.0.2.254" }));
  expect(r.mine).toEqual([expect.objectContaining({ dst: "198.51.100.0/24", gateway: "192.0.2.254", dev })]);
  expect([r.len, r.queue, r.dst, r.proxy]).toEqual([24, "function", "198.51.100.7", 1080]);
};

itest("Bun project: npm-installed tarball, import from \"tunkit\" opens a tun, adds an address and a route (ip -j agrees)", () => {
  const dir = consumer("bun", ["@types/bun", "bun-types", "@types/node", "node_modules/@types/node/node_modules/undici-types", "undici-types"], {
    "main.ts": program("tkpkgbun0"),
  });
  check(run(bin("bun"), ["main.ts"], dir, 60_000), "tkpkgbun0");
  // Bun took the TypeScript sources (the "bun" condition), not lib/.
  const r = run(bin("bun"), ["-e", 'console.log(import.meta.resolve("tunkit"))'], dir, 60_000);
  expect(r.trim()).toEndWith("node_modules/tunkit/mod.ts");
}, 300_000);

itest("Deno project: npm-installed tarball (nodeModulesDir manual), import from \"tunkit\" runs the built lib/ and type-checks", () => {
  // @types/node: Deno type-checks node: imports against it when node_modules is managed by npm.
  const dir = consumer("deno", ["@types/node", "node_modules/@types/node/node_modules/undici-types"], {
    "main.ts": program("tkpkgdeno0"),
    "deno.json": JSON.stringify({ nodeModulesDir: "manual" }),
  });
  const env = { ...process.env, DENO_DIR: join(work, "deno-cache"), NO_COLOR: "1" };
  const r = spawnSync(bin("deno"), ["run", "-A", "main.ts"], { cwd: dir, encoding: "utf8", env, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`deno run: ${r.stdout}${r.stderr}`);
  check(r.stdout, "tkpkgdeno0");
  const c = spawnSync(bin("deno"), ["check", "main.ts"], { cwd: dir, encoding: "utf8", env, timeout: 120_000 });
  expect(`${c.stdout}${c.stderr}`).not.toContain("error");
  expect(c.status).toBe(0);
}, 300_000);

itest("a consumer's strict tsc (strict, exactOptionalPropertyTypes, noUncheckedIndexedAccess, noImplicitOverride) reports nothing inside tunkit", () => {
  const dir = join(work, "bun");
  const strict = {
    target: "ESNext", module: "ESNext", moduleResolution: "bundler", lib: ["ESNext"], types: ["bun"], noEmit: true,
    strict: true, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, noImplicitOverride: true, skipLibCheck: false,
  };
  const every = ["tunkit", "tunkit/tun", "tunkit/netlink", "tunkit/packet", "tunkit/proxy", "tunkit/wg", "tunkit/common"]
    .map((e, i) => `import * as m${i} from "${e}";\nexport const n${i}: number = Object.keys(m${i}).length;`).join("\n");
  writeFileSync(join(dir, "entries.ts"), every);
  // The control: the same check must see a consumer's own error (so a clean run means something).
  writeFileSync(join(dir, "wrong.ts"), 'import { parseIp } from "tunkit";\nexport const x: string = parseIp("192.0.2.1");\n');
  writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: strict, include: ["main.ts", "entries.ts", "wrong.ts"] }));
  const r = spawnSync(bin("tsc"), ["-p", "."], { cwd: dir, encoding: "utf8", timeout: 300_000 });
  const lines = `${r.stdout}${r.stderr}`.split("\n").filter((l) => /error TS/.test(l));
  expect(lines.filter((l) => l.includes("node_modules/tunkit"))).toEqual([]);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toStartWith("wrong.ts(2,");
}, 300_000);
