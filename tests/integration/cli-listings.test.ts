// Listings equal ip's, byte for byte, on a rich state made by ip itself: multipath, metrics
// with locks and time units, every route type, IPv6 pref and expires, rules with every
// selector, neighbours and proxies, bridges, veth pairs, vxlan, aliases — as text, -j, -j -p,
// -d, -s, -br, -o, with ip's family defaults and abbreviations. (Filtered address and link
// listings are left out here: ip 6.1's -j prints an empty {} for every object its filter drops,
// which tunkit does not copy; the differential test covers their text.)
import { beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { run } from "../../cli/run.ts";
import { itest, sh } from "./_ns.ts";

async function tunkit(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await run(args, { stdout: (s) => void (out += s), stderr: (s) => void (err += s), flush: () => {} });
  return { code, out, err };
}

/** Lifetimes and IPv6 expiries count down between the two calls: compare them as "N". */
const settle = (s: string) => s.replace(/used \d+\/\d+\/\d+/g, "used N/N/N").replace(/"(used|confirmed|updated)":\s?\d+/g, '"$1":N').replace(/expires \d+sec/g, "expires Nsec").replace(/"expires":\s?\d+/g, '"expires":N').replace(/(valid|preferred)_lft \d+sec/g, "$1_lft Nsec").replace(/"(valid|preferred)_life_time":\s?\d+/g, '"$1_life_time":N');

beforeAll(() => {
  const lines = [
    "link set lo up",
    "tuntap add tk0 mode tun user 0",
    "tuntap add tp0 mode tap user 0",
    "link set tp0 address 02:00:00:00:00:10",
    "link add tv0 address 02:00:00:00:01:01 type veth peer name tv1 address 02:00:00:00:01:02",
    "link add tbr0 address 02:00:00:00:02:01 type bridge",
    "link set tv1 master tbr0",
    "link add tvx0 address 02:00:00:00:03:01 type vxlan id 42 remote 192.0.2.50 dstport 4789 dev tk0",
    "link set tk0 alias uplink-a up",
    "link set tp0 up",
    "link set tv0 up mtu 1400",
    "addr add 192.0.2.1/24 dev tk0",
    "addr add 192.0.2.9/24 dev tk0 label tk0:sec",
    "addr add 10.9.8.2/31 dev tk0",
    "addr add 10.1.1.1 peer 10.1.1.2/32 dev tk0",
    "addr add 2001:db8::1/64 dev tk0 nodad",
    "addr add 2001:db8:9::1/64 dev tk0 nodad valid_lft 3600 preferred_lft 1800",
    "addr add 203.0.113.1/24 brd + dev tp0 metric 7",
    "addr add 2001:db8:2::1/64 dev tp0 nodad home noprefixroute",
    "route add 198.51.100.0/24 dev tk0 metric 7 mtu lock 1400 advmss 1360 rtt 10ms rttvar 5ms initcwnd 10 initrwnd 20 features ecn congctl reno proto static",
    "route add 10.7.0.0/16 nexthop via 192.0.2.2 dev tk0 weight 2 nexthop via 203.0.113.7 dev tp0",
    "route add blackhole 10.66.0.0/16",
    "route add unreachable 10.67.0.0/16 metric 3",
    "route add prohibit 10.68.0.0/16 table 100",
    "route add throw 10.69.0.0/16 table 100",
    "route add default via 192.0.2.254 dev tk0 table 100 onlink src 192.0.2.1",
    "route add 10.70.0.0/24 via inet6 2001:db8::2 dev tk0",
    "route add 10.71.0.0/24 dev tk0 tos 0x10 realms 5 scope link",
    "route add 2001:db8:5::/64 dev tk0 pref high expires 3000 hoplimit 9",
    "route add 2001:db8:6::/64 via 2001:db8::2 dev tk0 metric 1 quickack 1",
    "route add 2001:db8:7::/48 nexthop via 2001:db8::2 dev tk0 nexthop via 2001:db8::3 dev tk0",
    "rule add from 192.0.2.0/24 to 10.0.0.0/8 tos 0x10 fwmark 0x54/0xff iif tk0 oif tp0 uidrange 1000-1999 ipproto tcp sport 1024-2048 dport 443 pref 100 lookup 100 proto static",
    "rule add from 198.51.100.0/24 to 10.99.0.0/16 pref 101 prohibit",
    "rule add not from 192.0.2.0/24 pref 106 lookup 200",
    "rule add fwmark 7 pref 102 lookup main suppress_prefixlength 0",
    "rule add pref 103 goto 32766",
    "rule add pref 104 nop realms 9",
    "rule add to 203.0.113.0/24 pref 105",
    "rule add pref 200 lookup 100 ipproto udp dport 53",
    "neigh add 203.0.113.7 lladdr 02:00:00:00:00:07 dev tp0 nud permanent",
    "neigh add 203.0.113.8 lladdr 02:00:00:00:00:08 dev tp0 nud noarp router",
    "neigh add 2001:db8:2::7 lladdr 02:00:00:00:00:27 dev tp0 nud permanent",
    "neigh add proxy 203.0.113.99 dev tp0",
  ];
  const r = spawnSync("ip", ["-batch", "-"], { input: lines.join("\n") + "\n", encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip -batch: ${r.stderr}`);
});

// [tunkit's words, ip's words] (the same unless ip spells it otherwise).
const LISTINGS: string[][] = [
  ["route", "show"], ["-6", "route", "show"], ["route", "show", "table", "all"], ["-6", "route", "show", "table", "all"],
  ["r", "ls", "table", "100"], ["route", "show", "root", "10.0.0.0/8"], ["route", "show", "proto", "static"],
  ["route", "show", "type", "blackhole"], ["route", "show", "dev", "tk0"], ["-6", "route", "show", "match", "2001:db8:5::1"],
  ["route", "show", "via", "192.0.2.2"], ["route", "get", "198.51.100.7"], ["-6", "route", "get", "2001:db8:6::1"],
  ["route", "get", "10.7.0.1", "from", "192.0.2.1", "oif", "tk0"],
  ["rule", "show"], ["-6", "rule", "show"], ["ru", "ls", "pref", "100"], ["rule", "show", "table", "100"], ["rule", "show", "fwmark", "7"],
  ["addr", "show"], ["-4", "a"], ["-6", "addr", "show", "dev", "tk0"], ["a", "s", "dev", "tp0"],
  ["link", "show"], ["l", "show", "tk0"], ["link", "show", "dev", "tv0"],
  ["neigh", "show"], ["-4", "neigh", "show", "dev", "tp0"], ["-6", "neigh", "show"], ["neigh", "show", "nud", "permanent"],
  ["neigh", "show", "proxy"], ["n", "get", "203.0.113.7", "dev", "tp0"],
];

const VIEWS: string[][] = [[], ["-j"], ["-j", "-p"], ["-d"], ["-d", "-j"], ["-s"], ["-s", "-s", "-j"], ["-o"]];
const BRIEF = [["-br", "link", "show"], ["-br", "addr", "show"], ["-br", "-j", "link"], ["-br", "-6", "a"], ["-br", "neigh", "show"]];

describe("listings equal ip's byte for byte", () => {
  for (const view of VIEWS) {
    itest(`${view.join(" ") || "text"}: ${LISTINGS.length} listings`, async () => {
      const bad: string[] = [];
      for (const words of LISTINGS) {
        if (view.includes("-s") && words[0] !== "link" && words[0] !== "l" && words[0] !== "addr" && words[0] !== "a" && !words.includes("addr")) continue;
        const args = [...view, ...words];
        const ip = spawnSync("ip", args, { encoding: "utf8" });
        const tk = await tunkit(args);
        if (tk.code !== (ip.status === 0 ? 0 : tk.code) || settle(tk.out) !== settle(ip.stdout)) {
          bad.push(`${args.join(" ")}\n--- ip (${ip.status}):\n${ip.stdout}${ip.stderr}--- tunkit (${tk.code}):\n${tk.out}${tk.err}`);
        }
      }
      expect(bad).toEqual([]);
    });
  }
  itest("-br forms", async () => {
    for (const args of BRIEF) {
      const ip = sh("ip", ...args);
      const tk = await tunkit(args);
      expect([args.join(" "), settle(tk.out)]).toEqual([args.join(" "), settle(ip)]);
    }
  });
});

// `tunkit list`'s table and `show`'s address lines are made from the addresses as decoded, its
// --json from the address view (issue 11's start-up: the views load for --json and show only):
// both must say the same, for the tun/tap devices only, and the JSON must be ip's addr_info.
describe("list: the table, show and --json agree, on the tun/tap devices' addresses only", () => {
  const word = (a: any) => (a.address !== undefined ? `${a.local} peer ${a.address}/${a.prefixlen}` : `${a.local}/${a.prefixlen}`);
  itest("list --json is ip -j's addr_info; the table's ADDRESSES and show's lines are its words", async () => {
    const j = await tunkit(["list", "--json"]);
    expect(j.code).toBe(0);
    const views = JSON.parse(j.out);
    expect(views.map((v: any) => v.ifname).sort()).toEqual(["tk0", "tp0"]);
    const text = await tunkit(["list"]);
    const rows = new Map(text.out.trimEnd().split("\n").slice(1).map((l) => {
      const cols = l.split(/ {2,}/);
      return [cols[0]!, cols[cols.length - 1]!] as const;
    }));
    for (const v of views) {
      const [oracle] = JSON.parse(sh("ip", "-j", "addr", "show", "dev", v.ifname));
      expect([v.ifname, v.addr_info]).toEqual([v.ifname, oracle.addr_info]);
      expect(v.addr_info.length).toBeGreaterThan(1);
      expect([v.ifname, rows.get(v.ifname)]).toEqual([v.ifname, v.addr_info.map(word).join(",")]);
      const show = await tunkit(["show", v.ifname]);
      expect(show.code).toBe(0);
      const lines = show.out.split("\n").filter((l) => /^ {4}inet6? /.test(l));
      expect(lines).toEqual(v.addr_info.map((a: any) => `    ${a.family} ${word(a)} scope ${a.scope}`));
    }
    // tk0 has a peer address: the table's form of it.
    expect(rows.get("tk0")).toContain("10.1.1.1 peer 10.1.1.2/32");
  });
});
