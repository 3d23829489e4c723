// Neighbours (ARP/NDISC caches and proxy entries) against iproute2, both ways: what tunkit
// adds, `ip neigh show` prints exactly as tunkit's views do; what ip adds, tunkit lists the same;
// replace/change/del/get/flush behave as ip's; the monitor sees neighbour events.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { NetlinkError } from "../../netlink/errors.ts";
import type { MonitorEvent } from "../../netlink/monitor.ts";
import { Rtnl } from "../../netlink/rtnl.ts";
import { AF } from "../../netlink/route/constants.ts";
import type { Neighbour } from "../../netlink/route/neigh.ts";
import { linkMap } from "../../netlink/view/context.ts";
import { neighToIpJson, neighToIpText } from "../../netlink/view/neigh.ts";
import { itest } from "./_ns.ts";
import { ip, ipj, noDad, ipText } from "./_netlink.ts";

let nl: Rtnl;
beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  noDad();
  ip("link set lo up");
  ip("link add tkn0 type veth peer name tkn1");
  ip("link set tkn0 up");
  ip("link set tkn1 up");
  ip("addr add 192.0.2.1/24 dev tkn0");
  nl = Rtnl.open();
});
afterAll(() => nl?.close());


/** Our listing vs ip's, text and JSON, for the same selectors. */
async function same(filter: Parameters<Rtnl["listNeighbours"]>[0], ...words: string[]): Promise<Neighbour[]> {
  const ctx = { links: linkMap(await nl.listLinks()), devFiltered: filter?.dev !== undefined };
  const ours = await nl.listNeighbours(filter);
  expect(ours.map((n) => neighToIpJson(n, ctx))).toEqual(ipj("neigh", "show", ...words));
  expect(ours.map((n) => neighToIpText(n, ctx) + "\n").join("")).toBe(ipText("neigh", "show", ...words));
  return ours;
}

describe("add, list, both ways", () => {
  itest("tunkit adds every kind of entry; ip shows what tunkit shows", async () => {
    await nl.addNeighbour({ dst: "192.0.2.7", lladdr: "02:00:00:00:00:07", dev: "tkn0" });
    await nl.addNeighbour({ dst: "192.0.2.8", lladdr: "02:00:00:00:00:08", dev: "tkn0", state: "stale", protocol: "static" });
    await nl.addNeighbour({ dst: "192.0.2.9", lladdr: "02:00:00:00:00:09", dev: "tkn1", state: "reachable" });
    await nl.addNeighbour({ dst: "192.0.2.11", lladdr: "02:00:00:00:00:0b", dev: "tkn0", state: "noarp" });
    await nl.addNeighbour({ dst: "192.0.2.12", lladdr: "02:00:00:00:00:0c", dev: "tkn0", state: "stale", externLearn: true });
    await nl.addNeighbour({ dst: "2001:db8::7", lladdr: "02:00:00:00:00:07", dev: "tkn0", state: "stale", router: true });
    await nl.addNeighbour({ dst: "192.0.2.99", proxy: true, dev: "tkn0" });
    await nl.addNeighbour({ dst: "2001:db8::99", proxy: true, dev: "tkn0" });
    await same({});
    await same({ dev: "tkn0" }, "dev", "tkn0");
    await same({ proxy: true }, "proxy");
    await same({ family: AF.INET6 }, "to", "::/0");
    await same({ nud: ["stale"] }, "nud", "stale");
    await same({ nud: ["noarp", "permanent"] }, "nud", "noarp", "nud", "permanent");
    await same({ nud: ["all"] }, "nud", "all");
    await same({ to: "192.0.2.8/31" }, "to", "192.0.2.8/31");
    await same({ protocol: "static" }, "protocol", "static");
    const br = { links: linkMap(await nl.listLinks()), brief: true };
    const all = await nl.listNeighbours();
    expect(all.map((n) => neighToIpText(n, br) + "\n").join("")).toBe(ipText("-br", "neigh", "show"));
    expect(all.map((n) => neighToIpJson(n, br))).toEqual(ipj("-br", "neigh", "show"));
  });

  itest("ip adds, tunkit lists the same; get finds one entry", async () => {
    ip("neigh add 192.0.2.20 lladdr 02:00:00:00:00:20 dev tkn1 nud permanent");
    ip("-6 neigh add 2001:db8::20 lladdr 02:00:00:00:00:20 dev tkn1 nud stale");
    await same({});
    const ctx = { links: linkMap(await nl.listLinks()) };
    // ip 6.1's `neigh get` prints text even with -j: compare the text.
    expect(neighToIpText(await nl.getNeighbour("192.0.2.20", "tkn1"), ctx) + "\n").toBe(ipText("neigh", "get", "192.0.2.20", "dev", "tkn1"));
    const e = await nl.getNeighbour("192.0.2.21", "tkn1").catch((e) => e);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe("ENOENT");
  });
});

describe("replace, change, delete, flush", () => {
  itest("add refuses a duplicate (hint: replace), replace and change update it, del removes it", async () => {
    const dup = await nl.addNeighbour({ dst: "192.0.2.7", lladdr: "02:00:00:00:00:07", dev: "tkn0" }).catch((e) => e);
    expect(dup.code).toBe("EEXIST");
    expect(dup.hint).toContain("neigh replace");
    await nl.replaceNeighbour({ dst: "192.0.2.7", lladdr: "02:00:00:00:00:17", dev: "tkn0" });
    expect(ipj("neigh", "show", "192.0.2.7")[0].lladdr).toBe("02:00:00:00:00:17");
    await nl.changeNeighbour({ dst: "192.0.2.7", lladdr: "02:00:00:00:00:27", dev: "tkn0", state: "stale" });
    expect(ipj("neigh", "show", "192.0.2.7")[0]).toMatchObject({ lladdr: "02:00:00:00:00:27", state: ["STALE"] });
    await nl.deleteNeighbour({ dst: "192.0.2.99", proxy: true, dev: "tkn0" });
    expect(ipj("neigh", "show", "proxy").map((n: any) => n.dst)).toEqual(["2001:db8::99"]);
    await nl.deleteNeighbour({ dst: "192.0.2.7", dev: "tkn0" });
    expect(ipj("neigh", "show", "192.0.2.7")).toEqual([]);
  });

  itest("flush takes every state but permanent and noarp by default, all of them with nud all", async () => {
    const before = ipj("neigh", "show", "dev", "tkn0", "nud", "all");
    const expected = before.filter((n: any) => !n.state?.includes("PERMANENT") && !n.state?.includes("NOARP")).length;
    expect(expected).toBeGreaterThan(0);
    expect(await nl.flushNeighbours({ dev: "tkn0" })).toBe(expected);
    expect(ipj("neigh", "show", "dev", "tkn0").every((n: any) => n.state.includes("PERMANENT"))).toBe(true);
    expect(ipj("neigh", "show", "dev", "tkn0", "nud", "noarp").length).toBeGreaterThan(0);
    await nl.flushNeighbours({ dev: "tkn0", nud: ["all"] });
    expect(ipj("neigh", "show", "dev", "tkn0", "nud", "all").filter((n: any) => !n.state?.includes("NOARP"))).toEqual([]);
    expect(await nl.flushNeighbours({ proxy: true })).toBe(1);
    expect(ipj("neigh", "show", "proxy")).toEqual([]);
  });
});

describe("monitor", () => {
  itest("neighbour events arrive as kind neighbour (new and del)", async () => {
    const mon = nl.monitor({ kinds: ["neighbour"] });
    const first = mon.next();
    setTimeout(() => {
      ip("neigh add 192.0.2.50 lladdr 02:00:00:00:00:50 dev tkn1");
      ip("neigh del 192.0.2.50 dev tkn1");
    }, 50);
    const events: MonitorEvent[] = [(await first).value as MonitorEvent];
    const deadline = Date.now() + 5000;
    while (!events.some((e) => e.kind === "neighbour" && e.action === "del") && Date.now() < deadline) {
      const r = await Promise.race([mon.next(), new Promise<"t">((res) => setTimeout(() => res("t"), 5000))]);
      if (r === "t" || r.done) break;
      events.push(r.value);
    }
    await mon.return!();
    const n = events.filter((e) => e.kind === "neighbour") as Array<Extract<MonitorEvent, { kind: "neighbour" }>>;
    expect(n.some((e) => e.action === "new" && e.value.dst === "192.0.2.50")).toBe(true);
    expect(n.some((e) => e.action === "del" && e.value.dst === "192.0.2.50")).toBe(true);
    expect(events.every((e) => e.kind === "neighbour")).toBe(true);
  });
});
