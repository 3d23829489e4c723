// Pure view goldens: the kernel replies captured with strace (tests/fixtures/netlink/*.hex.json
// with `views`) go through tunkit's views and must print exactly what ip printed from the same
// bytes — text lines and JSON, plain and with -d.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromHex } from "../../common/hex.ts";
import { parseMessages } from "../../netlink/core/message.ts";
import { RTM } from "../../netlink/route/constants.ts";
import { decodeRtnl } from "../../netlink/route/decode.ts";
import { IpNames } from "../../netlink/route/names.ts";
import type { Rule } from "../../netlink/route/rule.ts";
import { ruleToIpJson, ruleToIpText } from "../../netlink/view/rule.ts";
import type { Link } from "../../netlink/route/link.ts";
import type { Neighbour } from "../../netlink/route/neigh.ts";
import { type NeighFilter, neighFilter } from "../../netlink/spec/neigh.ts";
import { linkMap } from "../../netlink/view/context.ts";
import { neighToIpJson, neighToIpText } from "../../netlink/view/neigh.ts";
import type { Route } from "../../netlink/route/route.ts";
import { type RouteFilter, routeFilter } from "../../netlink/spec/route.ts";
import { routeToIpJson, routeToIpText } from "../../netlink/view/route.ts";
import type { Address } from "../../netlink/route/addr.ts";
import { addressToIpJson, addressToIpText } from "../../netlink/view/addr.ts";
import { linkToIpJson, linkToIpText } from "../../netlink/view/link.ts";
import { FIXTURE_NAME_TEXTS, trimZeros } from "../fixtures/netlink/fixture.ts";
import { regExpsUsedBy } from "./_regexp-spy.ts";

const dir = join(import.meta.dir, "../fixtures/netlink");
const names = new IpNames((db) => (FIXTURE_NAME_TEXTS[db] !== undefined ? [FIXTURE_NAME_TEXTS[db]!] : []));

interface Fixture {
  command: string;
  messages: Array<{ dir: string; hex: string }>;
  views?: { text: string; json: unknown[]; textDetails: string; jsonDetails: unknown[] };
}

function replies(fx: Fixture, type: number): unknown[] {
  const out: unknown[] = [];
  for (const m of fx.messages) {
    if (m.dir !== "recv") continue;
    for (const msg of parseMessages(trimZeros(fromHex(m.hex)))) if (msg.type === type) out.push(decodeRtnl(msg).value);
  }
  return out;
}

const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith(".hex.json"))
  .map((f) => [f.replace(".hex.json", ""), JSON.parse(readFileSync(join(dir, f), "utf8")) as Fixture] as const)
  .filter(([, fx]) => fx.views);

describe("ip rule show: text and JSON from the same bytes", () => {
  const ruleFixtures = fixtures.filter(([, fx]) => fx.command.startsWith("ip rule"));
  test("there are rule listing fixtures", () => expect(ruleFixtures.length).toBeGreaterThanOrEqual(2));
  for (const [name, fx] of ruleFixtures) {
    const rules = replies(fx, RTM.NEWRULE) as Rule[];
    for (const details of [false, true]) {
      test(`${name}${details ? " (-d)" : ""}`, () => {
        const ctx = { names, details };
        const text = rules.map((r) => ruleToIpText(r, ctx) + "\n").join("");
        expect(text).toBe(details ? fx.views!.textDetails : fx.views!.text);
        expect(rules.map((r) => ruleToIpJson(r, ctx))).toEqual((details ? fx.views!.jsonDetails : fx.views!.json) as never);
      });
    }
  }
});

describe("ip neigh show: text and JSON from the same bytes", () => {
  const cases: Record<string, { filter: NeighFilter; devFiltered?: boolean; stats?: number }> = {
    neigh_dump: { filter: {} },
    neigh_dump_dev: { filter: { dev: 3 }, devFiltered: true, stats: 1 },
    neigh_dump_proxy: { filter: { proxy: true } },
  };
  for (const [name, c] of Object.entries(cases)) {
    const fx = fixtures.find(([n]) => n === name)?.[1];
    test(`${name} (${fx?.command})`, () => {
      expect(fx).toBeDefined();
      const links = linkMap(replies(fx!, RTM.NEWLINK) as Link[]);
      expect(links.get(3)?.name).toBe("v0");
      const all = replies(fx!, RTM.NEWNEIGH) as Neighbour[];
      const shown = all.filter(neighFilter(c.filter, false, names));
      // ip lists every state but noarp: the dump has noarp entries, the listing does not.
      if (!c.filter.proxy) expect(all.filter((n) => n.state === 0x40).length).toBe(all.length - shown.length);
      const ctx = { names, links, devFiltered: c.devFiltered, stats: c.stats };
      expect(shown.map((n) => neighToIpText(n, ctx) + "\n").join("")).toBe(fx!.views!.text);
      expect(shown.map((n) => neighToIpJson(n, ctx))).toEqual(fx!.views!.json as never);
    });
  }
});

describe("ip route show: text and JSON from the same bytes", () => {
  const cases: Record<string, RouteFilter> = {
    route_dump_rich: { table: "all" },
    route_dump_main: {},
    route_dump_selectors: { table: "all", root: "10.0.0.0/8", protocol: "static" },
  };
  for (const [name, filter] of Object.entries(cases)) {
    const fx = fixtures.find(([n]) => n === name)?.[1];
    for (const details of [false, true]) {
      test(`${name} (${fx?.command}${details ? ", -d" : ""})`, () => {
        expect(fx).toBeDefined();
        const links = linkMap(replies(fx!, RTM.NEWLINK) as Link[]);
        const routes = (replies(fx!, RTM.NEWROUTE) as Route[]).filter(routeFilter(filter, names));
        const ctx = { names, links, details, routeFilter: filter };
        expect(routes.map((r) => routeToIpText(r, ctx) + "\n").join("")).toBe(details ? fx!.views!.textDetails : fx!.views!.text);
        // expires counts down between ip's two runs: compare it within a second.
        const theirs = (details ? fx!.views!.jsonDetails : fx!.views!.json) as Array<Record<string, unknown>>;
        const ours = routes.map((r) => routeToIpJson(r, ctx));
        for (const [i, o] of ours.entries()) if (typeof o.expires === "number" && typeof theirs[i]?.expires === "number") expect(Math.abs(o.expires - (theirs[i]!.expires as number))).toBeLessThanOrEqual(1), (o.expires = theirs[i]!.expires as number);
        expect(ours).toEqual(theirs as never);
      });
    }
  }
});

describe("route list's text: the printer's values go in literally, through no RegExp or String.prototype.replace (start-up, issue 11)", () => {
  test("a device named a$&b prints as a$&b (replace() read $& in a value as the matched %s)", () => {
    const fx = fixtures.find(([n]) => n === "route_dump_main")![1];
    const routes = replies(fx, RTM.NEWROUTE) as Route[];
    const dev = routes.find((r) => r.oif !== undefined)!;
    const links = linkMap([{ ifindex: dev.oif!, name: "a$&b" } as Link]);
    const replace = String.prototype.replace;
    let replaced = 0;
    String.prototype.replace = function (this: string, ...a: unknown[]) {
      replaced++;
      return (replace as (...x: unknown[]) => string).apply(this, a);
    } as typeof replace;
    try {
      const { used, result } = regExpsUsedBy(() => routes.map((r) => routeToIpText(r, { names, links, details: false, routeFilter: {} })).join("\n"));
      expect(result).toContain(" dev a$&b ");
      expect(used).toEqual([]);
      expect(replaced).toBe(0);
    } finally {
      String.prototype.replace = replace;
    }
  });
});

describe("ip addr show: the address lines and addr_info from the same bytes", () => {
  const fx = fixtures.find(([n]) => n === "addr_dump_rich")?.[1];
  test(`addr_dump_rich (${fx?.command})`, () => {
    expect(fx).toBeDefined();
    const links = replies(fx!, RTM.NEWLINK) as Link[];
    const addrs = replies(fx!, RTM.NEWADDR) as Address[];
    const ctx = { names, links: linkMap(links) };
    const ours = links.flatMap((l) => addrs.filter((a) => a.ifindex === l.ifindex).map((a) => addressToIpText(a, ctx) + "\n")).join("");
    const theirs = fx!.views!.text.split("\n").filter((l) => l.startsWith("    inet") || l.startsWith("       valid_lft")).map((l) => l + "\n").join("");
    expect(theirs.split("\n").length).toBeGreaterThan(20);
    expect(ours).toBe(theirs);
    // JSON: the addr_info of every link (lifetimes tick between ip's two runs: within a second).
    const j = fx!.views!.json as Array<{ ifindex: number; addr_info: Array<Record<string, number>> }>;
    for (const l of j) {
      const mine = addrs.filter((a) => a.ifindex === l.ifindex).map((a) => addressToIpJson(a, ctx));
      for (const [i, m] of mine.entries()) {
        for (const k of ["valid_life_time", "preferred_life_time"] as const) {
          const t = l.addr_info[i]?.[k];
          if (typeof m[k] === "number" && typeof t === "number" && Math.abs((m[k] as number) - t) <= 1) m[k] = t;
        }
      }
      expect(mine).toEqual(l.addr_info as never);
    }
  });
});

describe("ip link show: text and JSON from the same bytes", () => {
  /** ip's text cut into one block per link (a block starts with "N: "). */
  const blocks = (text: string) => text.split(/\n(?=\d+: )/).map((b) => b.replace(/\n$/, ""));
  const detailed = (_l: Link) => true;
  for (const name of ["link_dump", "link_dump_rich", "link_dump_stats"]) {
    const fx = fixtures.find(([n]) => n === name)?.[1];
    for (const details of [false, true]) {
      test(`${name} (${fx?.command}${details ? ", -d" : ""})`, () => {
        expect(fx).toBeDefined();
        const links = replies(fx!, RTM.NEWLINK) as Link[];
        const stats = (fx!.command.match(/-s/g) ?? []).length;
        const ctx = { names, links: linkMap(links), details, stats };
        const theirs = blocks(details ? fx!.views!.textDetails : fx!.views!.text);
        const theirsJson = (details ? fx!.views!.jsonDetails : fx!.views!.json) as Array<Record<string, unknown>>;
        expect(theirs.length).toBe(links.length);
        let compared = 0;
        for (const [i, l] of links.entries()) {
          if (details && !detailed(l)) continue;
          compared++;
          expect(linkToIpText(l, ctx)).toBe(theirs[i]!);
          // ip's JSON came from a second run: counters may have moved, everything else may not.
          const ours = linkToIpJson(l, ctx);
          if (stats) ours.stats64 = theirsJson[i]!.stats64 as never;
          expect(ours).toEqual(theirsJson[i] as never);
        }
        expect(compared).toBe(details ? links.filter(detailed).length : links.length);
        expect(compared).toBeGreaterThanOrEqual(4);
      });
    }
  }
});
