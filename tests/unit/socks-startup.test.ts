// The tun2socks daemon's module graph (issue 14): what `tunkit socks` / `tunkit http` load. The
// daemon's RSS is what it holds for months, so modules it never runs stay out of it: node:net
// (the node:net relay loads it on first use, through proxy/dial.ts's nodeNet()), node:dgram
// (ffi/udp-socket.ts loads it only off Bun, where Bun.udpSocket is not there), the WireGuard
// stack, and the top-level mod.ts that pulls both in. The RSS itself is bench/proxy.ts --only rss.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = join(import.meta.dir, "../..");
const transpiler = new Bun.Transpiler({ loader: "ts" });

/** Module -> the module that first imported it, walking static imports (type-only ones dropped, as the bundler drops them). */
function importedBy(entry: string): Map<string, string> {
  const by = new Map<string, string>([[entry, ""]]);
  const todo = [entry];
  while (todo.length) {
    const rel = todo.pop()!;
    if (!rel.endsWith(".ts")) continue;
    for (const imp of transpiler.scanImports(readFileSync(join(root, rel), "utf8"))) {
      if (imp.kind !== "import-statement") continue; // import() loads when it runs
      const m = imp.path.startsWith(".") ? relative(root, resolve(dirname(join(root, rel)), imp.path)) : imp.path;
      if (by.has(m)) continue;
      by.set(m, rel);
      todo.push(m);
    }
  }
  return by;
}

/** "a.ts -> b.ts -> m": how `m` is reached. */
function chain(by: Map<string, string>, m: string): string {
  const c = [m];
  for (let p = by.get(m); p; p = by.get(p)) c.unshift(p);
  return c.join(" -> ");
}

describe("tunkit socks: what the daemon loads", () => {
  const by = importedBy("cli/socks.ts");

  test("the graph is really walked (the tunnel, the poller and the relay are in it)", () => {
    for (const m of ["proxy/tunnel.ts", "ffi/poller.ts", "proxy/tcp-relay.ts", "tun/queue.ts"]) expect(by.has(m)).toBe(true);
  });

  test("no node:net, no node:dgram, no WireGuard, not the top-level mod.ts", () => {
    const bad = [...by.keys()].filter((m) => m === "node:net" || m === "net" || m === "node:dgram" || m === "dgram" || m.startsWith("wg/") || m === "mod.ts");
    expect(bad.map((m) => chain(by, m))).toEqual([]);
  });

  test("control: the top-level mod.ts does reach node:net (so the check above can fail)", () => {
    const all = importedBy("mod.ts");
    expect(all.has("node:net")).toBe(true);
    // and the scan sees node:dgram where a module imports it statically (bench/proxy.ts does)
    expect(importedBy("bench/proxy.ts").has("node:dgram")).toBe(true);
    expect([...all.keys()].some((m) => m.startsWith("wg/"))).toBe(true);
  });
});
