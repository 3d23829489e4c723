// Batches against the kernel: per-item results in order, a duplicate in the middle fails alone;
// dumps under concurrent change either succeed or say DUMP_INTR with the partial result.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { DumpInterruptedError } from "../../netlink/errors.ts";
import { Rtnl } from "../../netlink/rtnl.ts";
import { itest } from "./_ns.ts";
import { ip, ipj } from "./_netlink.ts";

let nl: Rtnl;
beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  ip("link add tkb0 type veth peer name tkb1");
  ip("link set tkb0 up");
  nl = Rtnl.open();
});
afterAll(() => nl?.close());

describe("batch", () => {
  itest("2000 routes in one batch: the duplicate in the middle fails with EEXIST, every other one is added", async () => {
    ip("route add 198.51.100.77/32 dev tkb0 table 300");
    const cache = new Map<string, number>();
    const specs = Array.from({ length: 2000 }, (_, i) => ({ dst: `198.51.${100 + (i >> 8)}.${i & 255}/32`, dev: "tkb0", table: 300 }));
    const items = await Promise.all(specs.map((s) => nl.routeItem(s, "create", cache)));
    const res = await nl.batch(items);
    expect(res.length).toBe(2000);
    const failed = res.flatMap((r, i) => (r.ok ? [] : [i]));
    expect(failed).toEqual([77]);
    const bad = res[77]!;
    expect(!bad.ok && bad.error.code).toBe("EEXIST");
    expect(!bad.ok && bad.error.subject).toContain("198.51.100.77/32");
    expect(ipj("route", "show", "table", "300").length).toBe(2000);
    // The same routes deleted in a batch, one of them twice: ESRCH for the second only.
    const del = await Promise.all([...specs.slice(0, 10), specs[3]!].map((s) => nl.routeItem(s, "delete", cache)));
    const dres = await nl.batch(del);
    expect(dres.map((r) => (r.ok ? "ok" : r.error.code))).toEqual([...Array(10).fill("ok"), "ESRCH"]);
    expect(await nl.flushRoutes({ table: 300 })).toBe(1990);
  });

  itest("mixed batch: rules and routes, replace after create, errors reported per item", async () => {
    const items = [
      await nl.routeItem({ dst: "203.0.113.0/24", dev: "tkb0", table: 301 }),
      await nl.routeItem({ dst: "203.0.113.0/24", dev: "tkb0", table: 301, metric: 0, protocol: "static" }, "replace"),
      nl.ruleItem({ from: "203.0.113.0/24", table: 301, priority: 2000 }),
      nl.ruleItem({ priority: 2999 }, true), // no such rule
      await nl.routeItem({ dst: "203.0.113.0/24", gateway: "198.18.0.1", table: 301 }, "append"), // unreachable gateway
    ];
    const res = await nl.batch(items);
    expect(res.map((r) => (r.ok ? "ok" : r.error.code))).toEqual(["ok", "ok", "ok", "ENOENT", "ENETUNREACH"]);
    const last = res[4]!;
    expect(!last.ok && last.error.extackMessage).toBe("Nexthop has invalid gateway");
    expect(ipj("route", "show", "table", "301")).toEqual([{ dst: "203.0.113.0/24", dev: "tkb0", protocol: "static", scope: "link", flags: ["linkdown"] }]);
    ip("rule del pref 2000");
  });
});

describe("dump consistency", () => {
  itest("address dumps racing with changes either succeed or throw DumpInterruptedError with the partial result", async () => {
    // Enough addresses for a multipart dump, and a concurrent ip -batch adding/removing more.
    const lines: string[] = [];
    for (let i = 0; i < 1500; i++) lines.push(`addr add 10.${20 + (i >> 8)}.${i & 255}.1/32 dev tkb1`);
    spawnSync("ip", ["-batch", "-"], { input: lines.join("\n") + "\n" });
    const churn: string[] = [];
    for (let k = 0; k < 20; k++) for (let i = 0; i < 200; i++) churn.push(`addr ${k % 2 ? "del" : "add"} 10.40.${i}.1/32 dev tkb1`);
    const bg = spawn("ip", ["-force", "-batch", "-"], { stdio: ["pipe", "ignore", "ignore"] });
    bg.stdin.end(churn.join("\n") + "\n");
    let ok = 0;
    let interrupted = 0;
    const deadline = Date.now() + 3000;
    while (bg.exitCode === null && Date.now() < deadline) {
      try {
        const a = await nl.listAddresses();
        expect(a.length).toBeGreaterThanOrEqual(1500);
        ok++;
      } catch (e) {
        expect(e).toBeInstanceOf(DumpInterruptedError);
        expect((e as DumpInterruptedError<unknown>).partial.length).toBeGreaterThan(0);
        interrupted++;
      }
    }
    bg.kill();
    console.log(`address dumps during churn: ${ok} consistent, ${interrupted} interrupted (NLM_F_DUMP_INTR)`);
    expect(ok + interrupted).toBeGreaterThan(0);
  }, 15_000);
});
