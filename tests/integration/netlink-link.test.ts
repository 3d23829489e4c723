// Links against iproute2 in the runner's throwaway namespace: add/del of veth (with peer
// options), bridge, vxlan, dummy and vlan (where the kernel has them), master/nomaster, every
// `ip link set` word incl. netns; ip link show (text, JSON, -d, -s) prints what tunkit prints.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { NetlinkError } from "../../netlink/errors.ts";
import { Rtnl } from "../../netlink/rtnl.ts";
import { linkMap } from "../../netlink/view/context.ts";
import { linkAddressesToIpJson, linkAddressesToIpText, linkToIpJson, linkToIpText } from "../../netlink/view/link.ts";
import { itest } from "./_ns.ts";
import { ip, ipj, noDad, ipText } from "./_netlink.ts";

let nl: Rtnl;
const ns = `tk-nl12-${process.pid}`;
beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  noDad();
  ip("link set lo up");
  nl = Rtnl.open();
});
afterAll(() => {
  nl?.close();
  spawnSync("ip", ["netns", "del", ns], { stdio: "ignore" });
});


const link = (name: string) => ipj("-d", "link", "show", "dev", name)[0];

describe("link add", () => {
  itest("veth with peer options, bridge, vxlan (remote and group): ip sees what tunkit made", async () => {
    await nl.addLink({ name: "tkl0", kind: "veth", mtu: 1400, address: "02:00:00:00:00:a0", peer: { name: "tkl1", mtu: 1300 }, up: true });
    expect(link("tkl0")).toMatchObject({ mtu: 1400, address: "02:00:00:00:00:a0", link: "tkl1", linkinfo: { info_kind: "veth" } });
    expect(link("tkl1").mtu).toBe(1300);
    await nl.addLink({ name: "tkbr0", kind: "bridge" });
    expect(link("tkbr0").linkinfo.info_kind).toBe("bridge");
    await nl.addLink({ name: "tkvx0", kind: "vxlan", vxlan: { id: 42, remote: "198.51.100.2", local: "192.0.2.1", dstport: 4789, dev: "tkl0" } });
    expect(link("tkvx0").linkinfo).toMatchObject({ info_kind: "vxlan", info_data: { id: 42, remote: "198.51.100.2", local: "192.0.2.1", port: 4789, link: "tkl0", learning: true } });
    await nl.addLink({ name: "tkvx1", kind: "vxlan", vxlan: { id: 43, group: "239.1.1.1", dev: "tkl0", dstport: 4789, ttl: 5, learning: false } });
    expect(link("tkvx1").linkinfo.info_data).toMatchObject({ id: 43, group: "239.1.1.1", ttl: 5, learning: false });
    const dup = await nl.addLink({ name: "tkbr0", kind: "bridge" }).catch((e) => e);
    expect(dup).toBeInstanceOf(NetlinkError);
    expect(dup.code).toBe("EEXIST");
    expect(dup.hint).toContain("name");
  });

  itest("dummy and vlan: created where the kernel has them, else EOPNOTSUPP with a hint naming the missing kind", async () => {
    for (const [name, spec] of [
      ["tkd0", { name: "tkd0", kind: "dummy" }],
      ["tkl0.5", { name: "tkl0.5", kind: "vlan", link: "tkl0", vlan: { id: 5, protocol: "802.1ad" as const } }],
    ] as const) {
      const theirs = spawnSync("ip", ["link", "add", "tkprobe9", "type", spec.kind], { encoding: "utf8" });
      spawnSync("ip", ["link", "del", "tkprobe9"], { stdio: "ignore" });
      const e = await nl.addLink(spec).catch((e) => e);
      if (theirs.stderr.includes("Unknown device type")) {
        expect(e).toBeInstanceOf(NetlinkError);
        expect(e.code).toBe("EOPNOTSUPP");
        expect(e.hint).toContain("link type");
      } else {
        expect(e).toBeUndefined();
        expect(link(name).linkinfo.info_kind).toBe(spec.kind);
        if (spec.kind === "vlan") expect(link(name).linkinfo.info_data).toMatchObject({ protocol: "802.1ad", id: 5 });
      }
    }
  });
});

describe("link set", () => {
  itest("address, promisc, arp, multicast, allmulticast, alias, group, txqueuelen, mtu, name, master/nomaster, down/up", async () => {
    await nl.setLink("tkl1", { address: "02:00:00:00:00:b1", promisc: true, arp: false, multicast: false, allmulticast: true, alias: "uplink", group: 5, txqlen: 777, mtu: 1280 });
    const l = link("tkl1");
    expect(l).toMatchObject({ address: "02:00:00:00:00:b1", ifalias: "uplink", group: "5", txqlen: 777, mtu: 1280, promiscuity: 1 });
    expect(l.flags).toEqual(expect.arrayContaining(["NOARP", "ALLMULTI", "PROMISC"]));
    expect(l.flags).not.toContain("MULTICAST");
    await nl.setLink("tkl1", { alias: "", promisc: false, arp: true, multicast: true });
    expect(link("tkl1").ifalias).toBeUndefined();
    expect(link("tkl1").flags).toEqual(expect.arrayContaining(["MULTICAST"]));
    expect(link("tkl1").flags).not.toContain("NOARP");
    await nl.setLink("tkl1", { master: "tkbr0" });
    expect(link("tkl1").master).toBe("tkbr0");
    await nl.setLink("tkl1", { master: null });
    expect(link("tkl1").master).toBeUndefined();
    await nl.setLink("tkl1", { name: "tkl1b", up: true });
    expect(link("tkl1b").operstate).not.toBe("DOWN");
    await nl.setLink("tkl1b", { name: "tkl1", up: false });
    expect(link("tkl1").flags).not.toContain("UP");
  });

  itest("netns NAME moves the device into that namespace", async () => {
    ip(`netns add ${ns}`);
    await nl.addLink({ name: "tkmv0", kind: "veth", peer: "tkmv1" });
    await nl.setLink("tkmv1", { netns: ns });
    expect(spawnSync("ip", ["link", "show", "tkmv1"]).status).not.toBe(0);
    expect(ipj("-n", ns, "link", "show", "tkmv1")[0].ifname).toBe("tkmv1");
    const inside = Rtnl.open({ netns: ns });
    try {
      expect((await inside.getLink("tkmv1")).name).toBe("tkmv1");
    } finally {
      inside.close();
    }
  });
});

describe("views", () => {
  itest("ip link show / ip addr show: text and JSON equal ip's (plain, -d with bridges and ports, -s, -br)", async () => {
    ip("addr add 192.0.2.1/24 dev tkl0");
    ip("link set tkbr0 up");
    ip("tuntap add tks0 mode tun"); // down: its counters stay still between ip's dump and ours
    const links = await nl.listLinks();
    const addrs = await nl.listAddresses();
    const ctx = { links: linkMap(links), nsidNames: await nl.nsidNames() };
    expect([...ctx.nsidNames.values()]).toContain(ns);
    const blocks = (t: string) => t.split(/\n(?=\d+: )/).map((b) => b.replace(/\n$/, ""));
    const plainText = blocks(ipText("link", "show"));
    const plainJson = ipj("link", "show");
    expect(links.map((l) => linkToIpText(l, ctx))).toEqual(plainText);
    expect(links.map((l) => linkToIpJson(l, ctx))).toEqual(plainJson);
    const dText = blocks(ipText("-d", "link", "show"));
    const dJson = ipj("-d", "link", "show");
    for (const [i, l] of links.entries()) {
      if (l.linkInfo?.kind === "bridge" || l.linkInfo?.slaveKind) continue;
      expect(linkToIpText(l, { ...ctx, details: true })).toBe(dText[i]!);
      expect(linkToIpJson(l, { ...ctx, details: true })).toEqual(dJson[i]);
    }
    // -s and -s -s, on a device that is down (its counters do not move between two dumps).
    const tks = links.find((l) => l.name === "tks0")!;
    expect(linkToIpText(tks, { ...ctx, stats: 1 })).toBe(blocks(ipText("-s", "link", "show", "tks0"))[0]!);
    expect(linkToIpText(tks, { ...ctx, stats: 2 })).toBe(blocks(ipText("-s", "-s", "link", "show", "tks0"))[0]!);
    expect(linkToIpJson(tks, { ...ctx, stats: 2 })).toEqual(ipj("-s", "-s", "link", "show", "tks0")[0]);
    const tick = (s: string) => s.replace(/\d+sec/g, "Nsec");
    expect(links.map((l) => tick(linkAddressesToIpText(l, addrs, ctx))).join("")).toBe(tick(ipText("addr", "show")));
    expect(links.map((l) => linkAddressesToIpJson(l, addrs, ctx))).toEqual(ipj("addr", "show"));
    // -br: the brief forms.
    const br = { ...ctx, brief: true };
    expect(links.map((l) => linkToIpText(l, br) + "\n").join("")).toBe(ipText("-br", "link", "show"));
    expect(links.map((l) => linkToIpJson(l, br))).toEqual(ipj("-br", "link", "show"));
    expect(links.map((l) => linkAddressesToIpText(l, addrs, br)).join("")).toBe(ipText("-br", "addr", "show"));
    expect(links.map((l) => linkAddressesToIpJson(l, addrs, br))).toEqual(ipj("-br", "addr", "show"));
    // -d of bridges and bridge ports (last: enslaving changes the bridge).
    ip("link set tkl1 master tkbr0"); // a bridge port too
    const all = await nl.listLinks();
    const dctx = { ...ctx, links: linkMap(all), details: true };
    const dText2 = blocks(ipText("-d", "link", "show"));
    const dJson2 = ipj("-d", "link", "show");
    expect(all.some((l) => l.linkInfo?.slaveKind === "bridge") && all.some((l) => l.linkInfo?.kind === "bridge")).toBe(true);
    for (const [i, l] of all.entries()) {
      // Bridge timers tick between two dumps: compare them within a hundredth.
      const tick2 = (t: string) => t.replace(/(timer)\s+\d+\.\d+/g, "$1 N");
      expect(tick2(linkToIpText(l, dctx))).toBe(tick2(dText2[i]!));
      const j = linkToIpJson(l, dctx) as any;
      const t = dJson2[i];
      for (const o of [j.linkinfo?.info_data, j.linkinfo?.info_slave_data]) for (const k of Object.keys(o ?? {})) if (k.endsWith("timer")) o[k] = (t.linkinfo?.info_data ?? {})[k] ?? (t.linkinfo?.info_slave_data ?? {})[k];
      expect(j).toEqual(t);
    }
  });
});

describe("link del", () => {
  itest("deleting one end of a veth removes both; a missing device is ENODEV", async () => {
    await nl.deleteLink("tkl0");
    expect(spawnSync("ip", ["link", "show", "tkl1"]).status).not.toBe(0);
    const e = await nl.deleteLink("tkl0").catch((e) => e);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe("ENODEV");
  });
});
