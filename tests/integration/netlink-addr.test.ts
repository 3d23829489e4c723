// Addresses with every word of `ip addr` against iproute2 in the runner's throwaway namespace:
// brd + only up to /30, brd -, peers, flags, lifetimes, metric, anycast, labels, replace and
// change, the bare IPv4 delete, flush selectors; ip lists what tunkit prints.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { NetlinkError } from "../../netlink/errors.ts";
import { Rtnl } from "../../netlink/rtnl.ts";
import { AF } from "../../netlink/route/constants.ts";
import { linkMap } from "../../netlink/view/context.ts";
import { addressToIpJson, addressToIpText } from "../../netlink/view/addr.ts";
import { itest } from "./_ns.ts";
import { ip, ipj, noDad } from "./_netlink.ts";

let nl: Rtnl;
beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  noDad();
  ip("link set lo up");
  ip("link add tka0 type veth peer name tka1");
  ip("link set tka0 up");
  ip("link set tka1 up");
  nl = Rtnl.open();
});
afterAll(() => nl?.close());

function info(dev: string): any[] {
  return ipj("addr", "show", "dev", dev)[0].addr_info;
}

function find(dev: string, local: string): any {
  return info(dev).find((a: any) => a.local === local);
}

/** tunkit's addr_info and "    inet" lines equal ip's for every link. */
async function same(): Promise<void> {
  const links = await nl.listLinks();
  const addrs = await nl.listAddresses();
  const ctx = { links: linkMap(links) };
  const theirs = ipj("addr", "show");
  for (const l of theirs) {
    const mine = addrs.filter((a) => a.ifindex === l.ifindex).map((a) => addressToIpJson(a, ctx));
    for (const [i, m] of mine.entries()) {
      for (const k of ["valid_life_time", "preferred_life_time"]) {
        const t = l.addr_info[i]?.[k];
        if (typeof m[k] === "number" && typeof t === "number" && Math.abs((m[k] as number) - t) <= 1) m[k] = t;
      }
    }
    expect(mine).toEqual(l.addr_info);
  }
  const text = spawnSync("ip", ["addr", "show"], { encoding: "utf8" }).stdout.split("\n").filter((x) => x.startsWith("    inet") || x.startsWith("       valid_lft"));
  const ours = links.flatMap((l) => addrs.filter((a) => a.ifindex === l.ifindex).flatMap((a) => addressToIpText(a, ctx).split("\n")));
  const tick = (s: string) => s.replace(/\d+sec/g, "Nsec");
  expect(ours.map(tick)).toEqual(text.map(tick));
}

describe("add, replace, change", () => {
  itest("brd + only up to /30 (no broadcast on /31 and /32), brd -, peers", async () => {
    await nl.addAddress({ dev: "tka0", address: "10.9.9.9/32", broadcast: "+" });
    await nl.addAddress({ dev: "tka0", address: "10.9.8.2/31", broadcast: "+" });
    await nl.addAddress({ dev: "tka0", address: "10.9.7.2/30", broadcast: "+" });
    await nl.addAddress({ dev: "tka0", address: "10.9.6.2/24", broadcast: "-" });
    await nl.addAddress({ dev: "tka1", address: "10.9.5.1", peer: "10.9.5.2/30", broadcast: "+" });
    expect(find("tka0", "10.9.9.9").broadcast).toBeUndefined();
    expect(find("tka0", "10.9.8.2").broadcast).toBeUndefined();
    expect(find("tka0", "10.9.7.2").broadcast).toBe("10.9.7.3");
    expect(find("tka0", "10.9.6.2").broadcast).toBe("10.9.6.0");
    expect(find("tka1", "10.9.5.1")).toMatchObject({ address: "10.9.5.2", prefixlen: 30, broadcast: "10.9.5.3" });
    // No broadcast route for the /31's peer: the point-to-point link stays usable.
    expect(ipj("route", "show", "table", "local", "type", "broadcast").map((r: any) => r.dst)).not.toContain("10.9.8.3");
  });

  itest("flags, lifetimes, metric, anycast, labels; v6-only flags on IPv4 are ignored like ip", async () => {
    await nl.addAddress({ dev: "tka0", address: "192.0.2.5/24", label: "tka0:x", metric: 30 });
    await nl.addAddress({ dev: "tka0", address: "192.0.2.6/24", label: "other", flags: ["nodad", "noprefixroute"] });
    await nl.addAddress({ dev: "tka0", address: "2001:db8:2::1/64", flags: ["nodad", "noprefixroute"], validLft: 3600, preferredLft: 1800 });
    await nl.addAddress({ dev: "tka1", address: "2001:db8:3::1/64", flags: ["nodad", "home", "mngtmpaddr"] });
    await nl.addAddress({ dev: "tka0", address: "239.1.1.1/32", flags: ["autojoin"] });
    expect(find("tka0", "192.0.2.5")).toMatchObject({ label: "tka0:x", metric: 30 });
    expect(find("tka0", "192.0.2.6")).toMatchObject({ label: "other", noprefixroute: true });
    expect(find("tka0", "192.0.2.6").nodad).toBeUndefined();
    expect(find("tka0", "2001:db8:2::1")).toMatchObject({ nodad: true, noprefixroute: true, dynamic: true });
    expect(find("tka1", "2001:db8:3::1")).toMatchObject({ home: true, mngtmpaddr: true });
    expect(find("tka0", "239.1.1.1").autojoin).toBe(true);
    await same();
  });

  itest("replace and change update (and, the kernel being lenient, create) like ip", async () => {
    await nl.replaceAddress({ dev: "tka0", address: "192.0.2.5/24", label: "tka0:x", validLft: 600, preferredLft: 300 });
    expect(find("tka0", "192.0.2.5")).toMatchObject({ valid_life_time: 600, preferred_life_time: 300, dynamic: true });
    await nl.changeAddress({ dev: "tka0", address: "192.0.2.5/24", label: "tka0:x", metric: 7 });
    expect(find("tka0", "192.0.2.5").metric).toBe(7);
    await nl.changeAddress({ dev: "tka0", address: "192.0.2.99/24" });
    expect(find("tka0", "192.0.2.99")).toBeDefined();
    expect(spawnSync("ip", ["addr", "change", "192.0.2.98/24", "dev", "tka0"]).status).toBe(0); // ip: the same
    await nl.replaceAddress({ dev: "tka0", address: "192.0.2.97/24" });
    expect(find("tka0", "192.0.2.97")).toBeDefined();
    const dup = await nl.addAddress({ dev: "tka0", address: "192.0.2.99/24" }).catch((e) => e);
    expect(dup.code).toBe("EEXIST");
    expect(dup.hint).toContain("addr replace");
    await same();
  });
});

describe("delete and flush", () => {
  itest("a bare IPv4 address deletes whatever its prefix length (ip's wildcard); IPv6 needs the length, like ip", async () => {
    await nl.addAddress({ dev: "tka0", address: "10.30.151.99/24" });
    await nl.deleteAddress({ dev: "tka0", address: "10.30.151.99" });
    expect(find("tka0", "10.30.151.99")).toBeUndefined();
    const e = await nl.deleteAddress({ dev: "tka0", address: "2001:db8:2::1" }).catch((e) => e);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(spawnSync("ip", ["-6", "addr", "del", "2001:db8:2::1", "dev", "tka0"]).status).not.toBe(0);
    expect(find("tka0", "2001:db8:2::1")).toBeDefined();
  });

  itest("flush selectors: label glob, scope, family, -secondary/primary, to PREFIX", async () => {
    expect(await nl.flushAddresses({ label: "tka0:*" })).toBe(1);
    expect(info("tka0").some((a: any) => a.label === "tka0:x")).toBe(false);
    expect(await nl.flushAddresses({ dev: "tka0", to: "10.9.0.0/16" })).toBe(4);
    expect(info("tka0").filter((a: any) => a.local.startsWith("10.9."))).toEqual([]);
    const v6 = info("tka1").filter((a: any) => a.family === "inet6").length;
    expect(await nl.flushAddresses({ dev: "tka1", family: AF.INET6, scope: "global" })).toBe(1);
    expect(info("tka1").filter((a: any) => a.family === "inet6").length).toBe(v6 - 1);
    await nl.addAddress({ dev: "tka1", address: "198.51.100.1/24" });
    await nl.addAddress({ dev: "tka1", address: "198.51.100.2/24" });
    expect(await nl.flushAddresses({ dev: "tka1", flags: ["secondary"] })).toBe(1);
    expect(info("tka1").map((a: any) => a.local)).toContain("198.51.100.1");
    expect(await nl.flushAddresses({ dev: "tka0" })).toBeGreaterThan(0);
    expect(info("tka0")).toEqual([]);
  });
});
