// Start-up structure (issue 11): what a one-shot command's path loads. The static import graph
// (type-only imports dropped, as the bundler drops them) from the modules a `route add` or an
// `addr add` evaluates must not reach the text/JSON views, the registry that holds them, or
// commander; the timing itself is bench/cli-startup.ts (never a timed test).
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";

const root = join(import.meta.dir, "../..");
const transpiler = new Bun.Transpiler({ loader: "ts" });

/** Every module reached from `entries` through static imports and re-exports (repo-relative paths; packages as their name). */
function staticClosure(entries: readonly string[]): Set<string> {
  const seen = new Set<string>();
  const todo = entries.map((e) => join(root, e));
  while (todo.length) {
    const file = todo.pop()!;
    const rel = relative(root, file);
    if (seen.has(rel)) continue;
    seen.add(rel);
    if (!file.endsWith(".ts")) continue; // package.json
    for (const imp of transpiler.scanImports(readFileSync(file, "utf8"))) {
      if (imp.kind !== "import-statement") continue; // import() is loaded when it runs
      if (imp.path.startsWith(".")) todo.push(resolve(dirname(file), imp.path));
      else seen.add(imp.path);
    }
  }
  return seen;
}

/** What the CLI evaluates for `tunkit route add …` / `addr add …`: main statically, then its dynamic imports on that path (cli/oneshot.ts). */
const ONE_SHOT = ["cli/main.ts", "cli/oneshot.ts", "cli/route-add.ts", "cli/addr-add.ts"];
/** What the full CLI evaluates before a command's module: main, then cli/run.ts and what it loads for ip's words. */
const FULL = ["cli/main.ts", "cli/run.ts", "cli/context.ts", "netlink/names.ts"];
// netlink/view/context.ts is the views' shared context type and linkMap (no rendering): allowed.
const NOT_ON_THE_PATH = (m: string) =>
  (m.startsWith("netlink/view/") && m !== "netlink/view/context.ts") || m === "netlink/registry.ts" || m === "netlink/route/json.ts" || m === "tun/owner.ts" || m.includes("commander");

describe("cold start: what a one-shot command loads", () => {
  test("route add and addr add reach no view, no registry, no commander", () => {
    const loaded = staticClosure(ONE_SHOT);
    expect(loaded.has("netlink/conn.ts")).toBe(true); // the graph is really walked
    expect([...loaded].filter(NOT_ON_THE_PATH)).toEqual([]);
  });

  test("the entry imports only the version line; the one-shot path reaches neither the full CLI nor the objects' listings", () => {
    expect([...staticClosure(["cli/main.ts"])].sort()).toEqual(["cli/main.ts", "cli/version.ts", "package.json"]);
    const loaded = staticClosure(ONE_SHOT);
    expect(loaded.has("cli/context.ts") && loaded.has("cli/globals.ts") && loaded.has("cli/exit.ts")).toBe(true);
    const full = ["cli/run.ts", "cli/objects.ts", "cli/program.ts", "cli/route.ts", "cli/addr.ts", "cli/batch.ts", "cli/list.ts", "netlink/view/context.ts"];
    expect([...loaded].filter((m) => full.includes(m))).toEqual([]);
  });

  test("nor the rtnetlink client (rtnl.ts and the other objects' specs): a lean op sends its request over the bare socket", () => {
    const loaded = staticClosure(ONE_SHOT);
    expect(loaded.has("netlink/ifindex.ts")).toBe(true);
    const client = ["netlink/rtnl.ts", "netlink/monitor.ts", "netlink/spec/link.ts", "netlink/spec/rule.ts", "netlink/spec/neigh.ts", "netlink/route/rule.ts", "netlink/route/neigh.ts"];
    expect([...loaded].filter((m) => client.includes(m))).toEqual([]);
    // The command ops of that path say so, and the full CLI (cli/run.ts) then skips loadRtnl() too.
    expect(readFileSync(join(root, "cli/run.ts"), "utf8")).toContain("if (!op.lean) await loadRtnl();");
  });

  test("a one-request command (op.request: route add, addr add) sets no JIT timer; a listing still gets the JIT back", () => {
    const main = readFileSync(join(root, "cli/run.ts"), "utf8");
    expect(main).toContain("const jit = op.request ? undefined : setTimeout(normalJit, JIT_AFTER_MS);");
    expect(main.match(/setTimeout\(/g)?.length).toBe(1);
  });

  test("the binary takes its version from a --define, not from the whole manifest built as an object at each start", async () => {
    const { buildDefines } = await import("../../scripts/build.ts");
    const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string };
    expect(buildDefines({ commit: "c", date: "d", bun: "b", target: "t" }).TUNKIT_VERSION).toBe(JSON.stringify(pkg.version));
    const src = readFileSync(join(root, "cli/version.ts"), "utf8");
    expect(src).toContain('export const VERSION: string = typeof TUNKIT_VERSION === "string" ? TUNKIT_VERSION : pkg.version;');
    // The bundle of version.ts with that define keeps no manifest field but the version.
    const out = await Bun.build({ entrypoints: [join(root, "cli/version.ts")], minify: true, define: { TUNKIT_VERSION: JSON.stringify(pkg.version) } });
    const js = await out.outputs[0]!.text();
    expect(js).toContain(JSON.stringify(pkg.version));
    expect(js).not.toContain("description");
  });

  test("the netlink socket loads the poller on its first wait, not at import: route add and addr add never wait", () => {
    expect(staticClosure(["netlink/conn.ts"]).has("ffi/poller.ts")).toBe(false);
    expect(staticClosure(ONE_SHOT).has("ffi/poller.ts")).toBe(false);
  });

  test("a listing's name files and /proc links are read through libc, not node:fs: names.ts, holders.ts, owner.ts, any-user.ts call no node:fs", () => {
    for (const f of ["netlink/names.ts", "tun/holders.ts", "tun/owner.ts", "tun/any-user.ts"]) {
      expect(staticClosure([f]).has("ffi/libc.ts")).toBe(true);
      const src = readFileSync(join(root, f), "utf8");
      expect(src).not.toMatch(/from "node:fs"|nodeFs\(|nodePath\(/);
    }
  });

  test("nor node:fs or node:path (loaded on first use through common/builtins.ts: node:fs alone costs milliseconds)", () => {
    const loaded = staticClosure(ONE_SHOT);
    expect(staticClosure(["cli/doctor.ts"]).has("@commander-js/extra-typings")).toBe(true); // packages are seen
    expect([...loaded].filter((m) => m.startsWith("node:") || m === "fs" || m === "path")).toEqual([]);
  });

  test("nor ipaddr.js: common/addr.ts requires it on the first IPv6 text or bytes (its module body was 13 heap blocks of an IPv4 command's start-up)", () => {
    expect(staticClosure(["common/addr.ts"]).has("ipaddr.js")).toBe(false);
    expect(staticClosure(ONE_SHOT).has("ipaddr.js")).toBe(false);
    // The bundle keeps it, behind its lazy module wrapper: the require is a call, not an import.
    expect(readFileSync(join(root, "common/addr.ts"), "utf8")).toContain('require("ipaddr.js")');
  });

  test("route list: no rtnetlink client, no link decoder, no other view (the device names come from a names-only dump)", () => {
    const loaded = staticClosure([...FULL, "cli/route.ts", "netlink/view/route.ts"]);
    expect(loaded.has("netlink/view/route.ts")).toBe(true);
    const client = ["netlink/rtnl.ts", "netlink/monitor.ts", "netlink/registry.ts", "netlink/spec/link.ts", "netlink/spec/addr.ts", "netlink/spec/rule.ts", "netlink/spec/neigh.ts", "netlink/view/link.ts", "netlink/view/addr.ts"];
    expect([...loaded].filter((m) => client.includes(m) || m.includes("commander"))).toEqual([]);
    // The op says so (main.ts then skips loadRtnl()), and its listing takes the names-only dump.
    const src = readFileSync(join(root, "cli/route.ts"), "utf8");
    expect(src).toContain("return { run: () => listRoutes(ctx, f, opts), lean: true };");
    const body = src.slice(src.indexOf("async function listRoutes("), src.indexOf("// ---------------------------------------------------------------- get"));
    expect(body).toContain("await linkNames(conn)");
    expect(body).not.toContain("rtnl()");
  });

  test("linkNameOf reads the index and IFLA_IFNAME as the full link decoder does, stepping over every other attribute", async () => {
    const { linkNameOf } = await import("../../netlink/ifindex.ts");
    const { encodeLink, decodeLink } = await import("../../netlink/route/link.ts");
    const { ByteWriter } = await import("../../netlink/core/writer.ts");
    const cases = [
      { family: 0, type: 65534, ifindex: 7, flags: 0x1043, change: 0, mtu: 1500, txqlen: 500, name: "tun0" },
      { family: 0, type: 1, ifindex: 2, flags: 0, change: 0, address: "02:00:00:00:00:01", mtu: 9000, name: "eth-ü" },
      { family: 0, type: 772, ifindex: 1, flags: 0x49, change: 0, name: "lo" },
      { family: 0, type: 1, ifindex: 123456, flags: 0, change: 0, mtu: 1280, txqlen: 1000, name: "x".repeat(15) },
    ];
    for (const l of cases) {
      const w = new ByteWriter();
      encodeLink(w, l);
      const body = w.finish();
      const full = decodeLink(body);
      expect(linkNameOf(body)).toEqual({ ifindex: full.ifindex, name: full.name! });
      expect(linkNameOf(body)).toEqual({ ifindex: l.ifindex, name: l.name });
    }
    const w = new ByteWriter();
    encodeLink(w, { family: 0, type: 1, ifindex: 3, flags: 0, change: 0, mtu: 1500 });
    expect(linkNameOf(w.finish())).toBeUndefined(); // no name
    expect(linkNameOf(new Uint8Array(8))).toBeUndefined(); // shorter than ifinfomsg
    const bad = new Uint8Array(16 + 8);
    bad.set([200, 0, 3, 0], 16); // an attribute longer than the body
    expect(linkNameOf(bad)).toBeUndefined();
  });

  test("route add and addr add do not evaluate the link spec (route/link.ts, linkinfo.ts): the RTM_GETLINK by name is written by ifindex.ts", () => {
    const loaded = [...staticClosure(ONE_SHOT)];
    expect(loaded).toContain("netlink/ifindex.ts");
    expect(loaded.filter((m) => m === "netlink/route/link.ts" || m === "netlink/route/linkinfo.ts" || m === "netlink/spec/link.ts")).toEqual([]);
  });

  test("getLinkRequest writes what encodeLink writes for the same request, without RTEXT_FILTER_VF", async () => {
    const { getLinkRequest } = await import("../../netlink/ifindex.ts");
    const { encodeLink } = await import("../../netlink/route/link.ts");
    const { ByteWriter } = await import("../../netlink/core/writer.ts");
    const { RTEXT_FILTER } = await import("../../netlink/route/constants.ts");
    for (const name of ["lo", "tun0", "abc", "x".repeat(15), "eth-ü", undefined]) {
      const a = new ByteWriter();
      getLinkRequest(a, name);
      const b = new ByteWriter();
      encodeLink(b, { family: 0, ifindex: 0, extMask: RTEXT_FILTER.SKIP_STATS, ...(name === undefined ? {} : { name }) });
      expect([...a.finish()]).toEqual([...b.finish()]);
    }
  });

  test("a verb's keyword table is built on first use: route-add.ts and addr-add.ts build only the add table at import, route.ts and addr.ts none", () => {
    for (const [file, table] of [["cli/route-add.ts", "ROUTE_KEYWORDS"], ["cli/addr-add.ts", "ADDR_KEYWORDS"]] as const) {
      const src = readFileSync(join(root, file), "utf8");
      const eager = [...src.matchAll(/^(?:export )?const (\w+) = new Keywords</gm)].map((m) => m[1]);
      expect(eager).toEqual([table]);
    }
    for (const file of ["cli/route.ts", "cli/addr.ts"]) {
      const src = readFileSync(join(root, file), "utf8");
      expect([...src.matchAll(/^(?:export )?const (\w+) = new Keywords</gm)]).toEqual([]);
      expect(src).toContain("const listKeywords = lazy(() =>");
    }
  });

  test("lazy() makes its value once, on first use", async () => {
    const { lazy } = await import("../../cli/context.ts");
    let made = 0;
    const v = lazy(() => ({ n: ++made }));
    expect(made).toBe(0);
    expect(v()).toBe(v());
    expect(made).toBe(1);
  });

  test("list loads the link kind and address views it prints, not the whole link view, the rule view, the registry or device creation", () => {
    const loaded = [...staticClosure([...FULL, "cli/list.ts", "netlink/view/linkinfo.ts", "netlink/view/addr.ts"])];
    expect(loaded.filter((m) => ["netlink/view/rule.ts", "netlink/registry.ts", "tun/ensure.ts", "tun/device.ts"].includes(m) || m.includes("commander"))).toEqual([]);
    // A tun's `linkinfo` only: the link view (flags, stats, brief, addresses) stays unloaded.
    expect(loaded).not.toContain("netlink/view/link.ts");
  });

  test("list's table loads no ip -j view: the kind and address views are imported for --json and show only", () => {
    const loaded = staticClosure([...FULL, "cli/list.ts"]);
    expect(loaded.has("netlink/dump.ts")).toBe(true); // the graph is really walked
    expect([...loaded].filter((m) => m.startsWith("netlink/view/") && m !== "netlink/view/context.ts")).toEqual([]);
    const src = readFileSync(join(root, "cli/list.ts"), "utf8");
    expect(src).toContain('import("../netlink/view/linkinfo.ts")');
    expect(src).toContain('import("../netlink/view/addr.ts")');
    // Only the tuns' addresses are decoded (netlink/dump.ts drops the others on their header's index).
    expect(src).toContain("dumpAddresses(conn, 0, new Set(");
  });

  test("list: the any-user warning and the address view load neither device creation nor the route view or the specs", () => {
    const loaded = [...staticClosure([...FULL, "cli/list.ts", "tun/any-user.ts", "netlink/view/addr.ts"])];
    expect(loaded).toContain("netlink/view/addr.ts");
    expect(loaded.filter((m) => ["tun/ensure.ts", "netlink/rtnl.ts", "netlink/view/route.ts", "netlink/spec/route.ts", "netlink/spec/addr.ts", "netlink/route/route.ts"].includes(m))).toEqual([]);
    const src = readFileSync(join(root, "cli/list.ts"), "utf8");
    expect(src).toContain('await import("../tun/any-user.ts")');
    expect(src).not.toContain('import("../tun/ensure.ts")');
  });

  test("list and show: no rtnetlink client either (links and addresses read over the bare socket, netlink/dump.ts)", () => {
    const loaded = staticClosure([...FULL, "cli/list.ts"]);
    expect(loaded.has("netlink/dump.ts")).toBe(true);
    const client = ["netlink/rtnl.ts", "netlink/monitor.ts", "netlink/registry.ts", "netlink/spec/link.ts", "netlink/spec/rule.ts", "netlink/spec/neigh.ts"];
    expect([...loaded].filter((m) => client.includes(m))).toEqual([]);
    const src = readFileSync(join(root, "cli/list.ts"), "utf8");
    expect(src.split("lean: true,").length - 1).toBe(2);
    expect(src.slice(src.indexOf("export async function collectTuns("), src.indexOf("function state("))).not.toContain("rtnl()");
  });

  test("the monitor (which Rtnl re-exports) loads the registry's wire half only", () => {
    const loaded = staticClosure(["netlink/monitor.ts"]);
    expect(loaded.has("netlink/codecs.ts")).toBe(true);
    expect([...loaded].filter(NOT_ON_THE_PATH)).toEqual([]);
  });

  test("the registry still carries every kind's codec and views (one table for a new type)", async () => {
    const { RTNL_TYPES, RTNL_KINDS, rtnlKindOf, groupsOf } = await import("../../netlink/registry.ts");
    const { RTNL_CODECS } = await import("../../netlink/codecs.ts");
    expect(RTNL_KINDS).toEqual(["link", "address", "route", "rule", "neighbour"]);
    for (const k of RTNL_KINDS) {
      expect(RTNL_TYPES[k].decode).toBe(RTNL_CODECS[k].decode as never);
      expect(RTNL_TYPES[k].messages).toEqual(RTNL_CODECS[k].messages);
      expect(typeof RTNL_TYPES[k].json).toBe("function");
    }
    expect(rtnlKindOf(29)).toEqual({ kind: "neighbour", action: "del" });
    expect(groupsOf(["rule"])).toEqual([8, 19]);
  });

  test("no module a command's start-up evaluates has a top-level await (it would make the whole graph above it asynchronous modules)", () => {
    // Session 14: ffi/bun.ts's `await import("bun:ffi")` fallback and ffi/libc.ts's `await import()`
    // of its backend made every netlink command's modules asynchronous: route add 1.83x -> 1.75x the
    // floor without them, settled (bench/cli-startup.ts's header). A top-level statement starts at column 0
    // in the transpiler's output; one that awaits is a top-level await.
    const js = new Bun.Transpiler({ loader: "ts", trimUnusedImports: true });
    const topLevelAwait = (l: string) => /^\S/.test(l) && /\bawait\b/.test(l) && !/^(?:export\s+)?(?:default\s+)?(?:async\s+)?function\b|^\/[/*]|^\*/.test(l);
    const awaitsAtTop = (file: string) => js.transformSync(readFileSync(join(root, file), "utf8")).split("\n").filter(topLevelAwait);
    const modules = [...staticClosure([...ONE_SHOT, ...FULL, "cli/route.ts", "cli/addr.ts", "cli/list.ts", "netlink/view/route.ts", "ffi/splice.ts"])].filter((m) => m.endsWith(".ts"));
    expect(modules).toContain("ffi/libc.ts");
    expect(modules).toContain("ffi/bun.ts");
    const found = modules.flatMap((m) => awaitsAtTop(m).map((l) => `${m}: ${l.trim()}`));
    expect(found).toEqual([]);
    // The check sees one: a module written with a top-level await is caught.
    const probe = js.transformSync('import { a } from "./x.ts";\nconst ffi = a ?? (await import("bun:ffi"));\nexport { ffi };\n');
    expect(probe.split("\n").filter(topLevelAwait)).toHaveLength(1);
  });

  test("the libc backend binds through the runtime's FFI natives: no command's start-up evaluates the bun:ffi module", async () => {
    // Statically: nothing a one-shot command or a listing evaluates imports bun:ffi (a type-only
    // import is dropped, as the bundler drops it).
    // ffi/libc.ts imports its backends statically and makes the runtime's (ffi/bun.ts's under Bun).
    expect(readFileSync(join(root, "ffi/libc.ts"), "utf8")).toContain("const backend: Backend = isBun ? bunBackend() : denoBackend();");
    const loaded = staticClosure([...ONE_SHOT, ...FULL, "cli/route.ts", "cli/addr.ts", "cli/list.ts", "netlink/view/route.ts", "ffi/bun.ts"]);
    expect(loaded.has("ffi/symbols.ts")).toBe(true); // the graph is really walked
    expect(loaded.has("bun:ffi")).toBe(false);
    // At run time: the backend's functions are Bun.FFI's own (the natives bun:ffi wraps), and they work.
    const natives = (Bun as unknown as { FFI: { ptr: unknown } }).FFI;
    expect(typeof natives?.ptr).toBe("function");
    const { open } = await import("../../ffi/bun.ts");
    const { fn } = open();
    expect(fn.getpid!()).toBe(process.pid);
    const { addr, raw, errno } = await import("../../ffi/libc.ts");
    const buf = new Uint8Array(64);
    expect(typeof addr(buf)).toBe("number");
    expect(raw.close(-1)).toBe(-1);
    expect(errno()).toBe(9); // EBADF, read through the natives' read.i32
  });

  test("bun:ffi: the netlink one-shot symbols come from ONE dlopen (one TinyCC unit), a group's on the first use of one of them, the rest one call each on first use", async () => {
    const { raw } = await import("../../ffi/libc.ts");
    const { dlopenCount } = await import("../../ffi/bun.ts");
    const { EAGER_SYMBOLS, SYMBOL_GROUPS, symbolNames, symbolSpec } = await import("../../ffi/symbols.ts");
    expect(dlopenCount()).toBeGreaterThanOrEqual(1);
    const table = raw as unknown as Record<string, unknown>;
    // A group (a listing's open, read, write and readlink): the first use binds all of them in one
    // dlopen. On a fresh binding table (the backend's own may have bound them for another test file).
    expect(SYMBOL_GROUPS).toContainEqual(["open", "read", "write", "readlink"]);
    const { open } = await import("../../ffi/bun.ts");
    const g0 = dlopenCount();
    const fresh0 = open().fn;
    expect(dlopenCount()).toBe(g0 + 1); // the eager set
    expect(["open", "read", "write", "readp", "writep"].filter((k) => Object.hasOwn(fresh0, k))).toEqual([]);
    expect(typeof fresh0.write).toBe("function");
    expect(dlopenCount()).toBe(g0 + 2);
    expect(typeof fresh0.read).toBe("function");
    expect(typeof fresh0.open).toBe("function");
    expect(typeof fresh0.readlink).toBe("function");
    expect(fresh0.readp).toBe(fresh0.read); // an alias of a member, bound with it
    expect(dlopenCount()).toBe(g0 + 2);
    expect(typeof fresh0.getpid).toBe("function"); // in no group: a dlopen of its own
    expect(dlopenCount()).toBe(g0 + 3);
    const before = dlopenCount();
    for (const s of EAGER_SYMBOLS) if (s !== "__errno_location") expect(typeof table[s]).toBe("function");
    expect(dlopenCount()).toBe(before); // none of them costs a dlopen of its own
    expect([...EAGER_SYMBOLS].sort()).toEqual(["__errno_location", "close", "recvmmsg", "sendto", "setsockopt", "socket"]);
    // A symbol outside the set is bound on its first use, by one call, and only once.
    const lazy = (symbolNames() as string[]).filter((k) => !(EAGER_SYMBOLS as readonly string[]).includes(k) && symbolSpec(k)!.name === undefined);
    expect(lazy.length).toBeGreaterThan(20);
    const n0 = dlopenCount();
    // Not bound yet: not an own property of the table (its prototype binds it on first use).
    const fresh = lazy.filter((k) => !Object.hasOwn(table, k) && !SYMBOL_GROUPS.some((g) => (g as readonly string[]).includes(k)));
    expect(fresh.length).toBeGreaterThan(0);
    expect(typeof table[fresh[0]!]).toBe("function");
    expect(dlopenCount()).toBe(n0 + 1);
    expect(Object.getOwnPropertyDescriptor(table, fresh[0]!)).toMatchObject({ writable: false, configurable: false, enumerable: true });
    expect(typeof table[fresh[0]!]).toBe("function");
    expect(dlopenCount()).toBe(n0 + 1);
    // An alias shares its C name's binding: one dlopen for both spellings.
    const [alias, cname] = symbolNames().map((k) => [k, symbolSpec(k)!.name] as const).find(([k, c]) => c !== undefined && symbolSpec(c) !== undefined && !Object.hasOwn(table, k) && !Object.hasOwn(table, c) && !SYMBOL_GROUPS.some((g) => (g as readonly string[]).includes(c)))!;
    const n1 = dlopenCount();
    expect(table[alias]).toBe(table[cname!]);
    expect(dlopenCount()).toBe(n1 + 1);
    // Anything else is not a symbol: undefined, and no dlopen.
    expect(table["no_such_symbol"]).toBeUndefined();
    expect((table as Record<symbol, unknown>)[Symbol.toPrimitive]).toBeUndefined();
    expect(dlopenCount()).toBe(n1 + 1);
  });

  test("copyBytes still copies (memcpy is bound on the first copy, not at import)", async () => {
    const { copyBytes } = await import("../../ffi/libc.ts");
    expect(typeof copyBytes).toBe("function");
    const dst = new Uint8Array(8);
    copyBytes!(dst, 2, Uint8Array.from([1, 2, 3, 4, 5]), 1, 3);
    expect([...dst]).toEqual([0, 0, 2, 3, 4, 0, 0, 0]);
  });
});

// bench/cli-startup.ts --blocks: the bisection behind the JSC heap-block rows (the runs under
// strace are the bench's, not a test's).
describe("bench/cli-startup.ts bisectBlocks", () => {
  test("finds the first setting that starts no warm-up thread, with the fewest runs", async () => {
    const { bisectBlocks } = await import("../../bench/cli-startup.ts");
    for (const blocks of [1, 2, 28, 63, 64, 65, 93, 511, 512]) {
      const probes: number[] = [];
      const got = bisectBlocks((n) => (probes.push(n), n < blocks));
      expect(got).toBe(blocks);
      expect(probes.length).toBeLessThanOrEqual(11); // 1 + ceil(log2(512))
    }
  });
  test("says max + 1 when even the largest setting starts the thread", async () => {
    const { bisectBlocks } = await import("../../bench/cli-startup.ts");
    expect(bisectBlocks(() => true, 100)).toBe(101);
    expect(bisectBlocks(() => false, 100)).toBe(1);
  });
});

// The build's start-up profile (Bun's --bytecode-order): the CLI's builds lay out the bytecode
// the benchmarked start-ups use first; the floor and other entries get no profile.
describe("scripts/build.ts start-up order", () => {
  test("the CLI's builds pass scripts/startup.order to --bytecode-order (with bytecode only); a recorded profile is in the tree", async () => {
    const { compileArgs, STARTUP_ORDER, startupOrder } = await import("../../scripts/build.ts");
    expect(STARTUP_ORDER).toBe(join(root, "scripts/startup.order"));
    expect(startupOrder()).toBe(STARTUP_ORDER);
    const lines = readFileSync(STARTUP_ORDER, "utf8").split("\n");
    expect(lines[0]).toBe("v2");
    expect(lines.filter((l) => l.startsWith("M ")).length).toBeGreaterThan(30); // module heads of several commands
    expect(compileArgs("cli/main.ts", "dist/tunkit", { bytecodeOrder: STARTUP_ORDER })).toContain(`--bytecode-order=${STARTUP_ORDER}`);
    expect(compileArgs("cli/main.ts", "dist/tunkit", { bytecodeOrder: STARTUP_ORDER, bytecode: false }).some((a) => a.startsWith("--bytecode"))).toBe(false);
    expect(compileArgs("hello.ts", "hello").some((a) => a.startsWith("--bytecode-order"))).toBe(false);
    const build = readFileSync(join(root, "scripts/build.ts"), "utf8");
    expect(build).toContain('...(isCli ? { define: buildDefines(stamp), bytecodeOrder: args.includes("--no-bytecode-order") ? undefined : startupOrder() } : {}),');
  });
});

// The one-shot path as ONE module in the binary (scripts/build.ts bundleOneShot, cli/main.ts
// loadOneShot): with --splitting alone each of its ~33 modules is a chunk of its own.
describe("scripts/build.ts: the one-shot bundle", () => {
  test("the CLI's split builds define TUNKIT_ONESHOT_BUNDLE (main.ts then loads cli/oneshot.bundle.js); other entries and unsplit builds do not", async () => {
    const { buildVariantFor, ONESHOT_BUNDLE } = await import("../../scripts/build.ts");
    expect(ONESHOT_BUNDLE).toBe(join(root, "cli/oneshot.bundle.js"));
    expect(buildVariantFor("cli/main.ts", { define: { A: "1" } }).define).toEqual({ A: "1", TUNKIT_ONESHOT_BUNDLE: "true" });
    expect(buildVariantFor(join(root, "cli/main.ts")).define).toEqual({ TUNKIT_ONESHOT_BUNDLE: "true" });
    expect(buildVariantFor("cli/main.ts", { splitting: false }).define).toBeUndefined();
    expect(buildVariantFor("bench/.build/hello.ts").define).toBeUndefined();
    const main = readFileSync(join(root, "cli/main.ts"), "utf8");
    expect(main).toContain('typeof TUNKIT_ONESHOT_BUNDLE !== "undefined" ? import("./oneshot.bundle.js") : import("./oneshot.ts")');
  });

  test("the bundle is one self-contained module (no import of another chunk), and it runs: it declines a listing as oneshot.ts does", async () => {
    const { bundleOneShot } = await import("../../scripts/build.ts");
    const dir = mkdtempSync(join(tmpdir(), "tk-oneshot-"));
    try {
      const out = join(dir, "oneshot.bundle.js");
      bundleOneShot({ minify: false }, out); // unminified: an import is a line of its own
      const src = readFileSync(out, "utf8");
      const specifiers = [...src.matchAll(/^import .*?from "([^"]+)";$|\bimport\("([^"]+)"\)/gm)].map((m) => m[1] ?? m[2]);
      expect(specifiers).toContain("bun:ffi"); // the matcher sees imports (ffi/bun.ts's fallback)
      expect(specifiers.filter((s) => s !== "bun:ffi")).toEqual([]);
      expect(src).toContain("runOneShot");
      const m = (await import(out)) as typeof import("../../cli/oneshot.ts");
      expect(await m.runOneShot(["route", "list"])).toBeUndefined();
      expect(await m.runOneShot(["route", "add", "--help"])).toBeUndefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("the entry's look at the command line runs no RegExp (a process's first RegExp costs ~0.5 ms)", () => {
  test("mayBeOneShot answers what /^(add|del|delete|change|replace|append|prepend|test)$/ answered, without it", async () => {
    const { mayBeOneShot } = await import("../../cli/main.ts");
    const { regExpsUsedBy } = await import("./_regexp-spy.ts");
    const old = (argv: readonly string[]) => {
      for (let i = 0; i + 1 < argv.length; i++) {
        const w = argv[i];
        if ((w === "route" || w === "addr" || w === "address") && /^(add|del|delete|change|replace|append|prepend|test)$/.test(argv[i + 1]!)) return true;
      }
      return false;
    };
    const verbs = ["add", "del", "delete", "change", "replace", "append", "prepend", "test", "ad", "a", "de", "dele", "list", "show", "flush", "get", "Add", "add ", " add", "addd", "tests", "", "help", "save"];
    const objects = ["route", "addr", "address", "r", "ro", "a", "link", "rule", "-4", "-n"];
    let n = 0;
    const { used } = regExpsUsedBy(() => {
      for (const o of objects) for (const v of verbs) for (const pre of [[], ["-j"], ["-n", "ns"], ["route"]]) {
        const argv = [...pre, o, v, "10.0.0.0/8", "dev", "tkb0"];
        if (mayBeOneShot(argv) !== old(argv)) throw new Error(`differs on ${JSON.stringify(argv)}`);
        if (mayBeOneShot(argv)) n++;
      }
    });
    expect(n).toBeGreaterThan(0);
    // The spy saw the reference's RegExp (it ran inside), so count mayBeOneShot's alone:
    expect(regExpsUsedBy(() => mayBeOneShot(["-j", "route", "add", "10.0.0.0/8", "dev", "x"]) && mayBeOneShot(["route", "list"])).used).toEqual([]);
    expect(used.length).toBeGreaterThan(0);
  });
});

