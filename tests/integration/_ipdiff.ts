/**
 * The differential test of tunkit against ip: a seeded generator of valid `ip` command lines
 * over the grammar tunkit speaks (links, addresses, routes, rules, neighbours; ip's
 * abbreviations and global options included), applied by `ip -n A` in one namespace and by
 * tunkit (in-process, `-n B`) in an identical one; after every window of commands the whole
 * kernel state of both (`ip -j -d` links, addresses, routes of every table, rules, neighbours,
 * both families) is compared. Used by tests/integration/cli-ipdiff.test.ts (a few seeds) and
 * bench/cli-ipdiff.ts (thousands of commands).
 */
import { spawnSync } from "node:child_process";
import { mulberry32 } from "../../common/prng.ts";
import { run } from "../../cli/run.ts";

type Rnd = () => number;

const pick = <T>(r: Rnd, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const chance = (r: Rnd, p: number) => r() < p;
const int = (r: Rnd, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const hex2 = (n: number) => n.toString(16).padStart(2, "0");

/** One spelling of a word, sometimes abbreviated the way ip allows it. */
function abbrev(r: Rnd, word: string, min: number): string {
  if (!chance(r, 0.25) || word.length <= min) return word;
  return word.slice(0, int(r, min, word.length));
}

/** What exists in the namespaces (identical on both sides when all goes well), to aim commands at. */
interface Model {
  links: string[];
  bridges: string[];
  routes: string[][];
  addrs: string[][];
  rules: string[][];
  neighs: string[][];
  n: number;
}

const STATIC_DEVS = ["tk0", "tk1", "tp0"];
/** On-link gateways and local sources per device and family. */
const NET: Record<string, { v4: string; v6: string; gw4: string[]; gw6: string[] }> = {
  tk0: { v4: "192.0.2.1", v6: "2001:db8::1", gw4: ["192.0.2.2", "192.0.2.3", "192.0.2.254"], gw6: ["2001:db8::2", "2001:db8::3"] },
  tk1: { v4: "198.51.100.1", v6: "2001:db8:1::1", gw4: ["198.51.100.2", "198.51.100.9"], gw6: ["2001:db8:1::2"] },
  tp0: { v4: "203.0.113.1", v6: "2001:db8:2::1", gw4: ["203.0.113.2", "203.0.113.7"], gw6: ["2001:db8:2::2"] },
};

/** The same base topology in a namespace, made with ip (deterministic: fixed MACs, no DAD). */
export function setupNamespace(ns: string): void {
  const sh = (...a: string[]) => {
    const r = spawnSync("ip", ["-n", ns, ...a], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip -n ${ns} ${a.join(" ")}: ${r.stderr}`);
  };
  sh("link", "set", "lo", "up");
  sh("tuntap", "add", "tk0", "mode", "tun", "user", "0");
  sh("tuntap", "add", "tk1", "mode", "tun", "user", "0");
  sh("tuntap", "add", "tp0", "mode", "tap", "user", "0");
  sh("link", "set", "tp0", "address", "02:00:00:00:00:10");
  for (const d of STATIC_DEVS) {
    sh("addr", "add", `${NET[d]!.v4}/24`, "dev", d);
    sh("addr", "add", `${NET[d]!.v6}/64`, "dev", d, "nodad");
    sh("link", "set", d, "up");
  }
}

function family(r: Rnd): 4 | 6 {
  return chance(r, 0.65) ? 4 : 6;
}

function devOf(r: Rnd, m: Model): string {
  return chance(r, 0.85) ? pick(r, STATIC_DEVS) : pick(r, m.links.length ? m.links : STATIC_DEVS);
}

function prefix(r: Rnd, f: 4 | 6): string {
  if (f === 4) {
    const kind = int(r, 0, 9);
    if (kind === 0) return "default";
    if (kind < 4) return `10.${int(r, 0, 30)}.${int(r, 0, 3)}.${int(r, 1, 254)}`;
    return `10.${int(r, 0, 30)}.${int(r, 0, 7)}.0/24`;
  }
  const kind = int(r, 0, 9);
  if (kind === 0) return "default";
  return `2001:db8:${(0x100 + int(r, 0, 40)).toString(16)}::/${pick(r, [48, 64])}`;
}

const METRICS4: Array<(r: Rnd) => string[]> = [
  (r) => ["mtu", ...(chance(r, 0.3) ? ["lock"] : []), String(int(r, 1280, 1500))],
  (r) => ["advmss", String(int(r, 500, 1460))],
  (r) => ["initcwnd", ...(chance(r, 0.2) ? ["lock"] : []), String(int(r, 1, 40))],
  (r) => ["initrwnd", String(int(r, 1, 40))],
  (r) => ["hoplimit", String(int(r, 1, 255))],
  (r) => ["rtt", pick(r, ["10ms", "2s", "100"])],
  (r) => ["rttvar", pick(r, ["5ms", "50"])],
  (r) => ["window", String(int(r, 1000, 65535))],
  (r) => ["cwnd", String(int(r, 1, 100))],
  (r) => ["ssthresh", String(int(r, 1, 100))],
  (r) => ["reordering", String(int(r, 1, 100))],
  () => ["features", "ecn"],
  (r) => ["quickack", String(int(r, 0, 1))],
  () => ["congctl", "reno"],
  (r) => ["fastopen_no_cookie", String(int(r, 0, 1))],
  (r) => ["rto_min", pick(r, ["200ms", "1s"])],
];

function routeSpec(r: Rnd, m: Model, f: 4 | 6): string[] {
  const dst = prefix(r, f);
  const w: string[] = [];
  const type = chance(r, 0.15) ? pick(r, ["blackhole", "unreachable", "prohibit", "throw"]) : undefined;
  if (type) w.push(type);
  if (chance(r, 0.1)) w.push("to");
  w.push(dst);
  const dev = devOf(r, m);
  const net = NET[dev] ?? NET.tk0!;
  if (!type) {
    const mode = int(r, 0, 9);
    if (mode < 4) w.push("dev", dev);
    else if (mode < 7 && NET[dev]) w.push("via", pick(r, f === 4 ? net.gw4 : net.gw6), "dev", dev);
    else if (mode < 8 && NET[dev]) w.push("via", pick(r, f === 4 ? net.gw4 : net.gw6));
    else if (mode < 9 && f === 4 && NET[dev]) w.push("via", "inet6", pick(r, net.gw6), "dev", dev);
    else {
      // Multipath.
      const n = int(r, 2, 3);
      for (let i = 0; i < n; i++) {
        const d = pick(r, STATIC_DEVS);
        w.push("nexthop", "via", pick(r, f === 4 ? NET[d]!.gw4 : NET[d]!.gw6), "dev", d);
        if (chance(r, 0.5)) w.push("weight", String(int(r, 1, 10)));
      }
    }
  }
  if (chance(r, 0.4)) w.push(pick(r, ["metric", "met", "priority", "pri", "preference"]), String(int(r, 0, 50)));
  if (chance(r, 0.3)) w.push(abbrev(r, "table", 2), pick(r, ["100", "200", "main", "default"]));
  if (chance(r, 0.2)) w.push(abbrev(r, "protocol", 3), pick(r, ["static", "boot", "84", "dhcp", "kernel"]));
  if (chance(r, 0.1) && !type && f === 4 && !w.includes("via") && !w.includes("nexthop")) w.push("scope", pick(r, ["link", "global"]));
  if (chance(r, 0.1) && !type && NET[dev] && !w.includes("nexthop")) w.push("src", f === 4 ? net.v4 : net.v6);
  if (chance(r, 0.05) && w.includes("via") && !w.includes("inet6")) w.push("onlink");
  if (chance(r, 0.3)) w.push(...pick(r, METRICS4)(r));
  if (chance(r, 0.1)) w.push(...pick(r, METRICS4)(r));
  if (f === 6 && chance(r, 0.15)) w.push("pref", pick(r, ["low", "medium", "high"]));
  if (f === 6 && chance(r, 0.1)) w.push("expires", String(int(r, 20000, 40000)));
  if (f === 4 && chance(r, 0.05)) w.push(pick(r, ["tos", "dsfield"]), pick(r, ["0x10", "0x04"]));
  if (f === 4 && chance(r, 0.05)) w.push("realms", String(int(r, 1, 10)));
  return dedupe(w);
}

/** Drops a keyword given twice (the generator's draws can repeat one): ip would refuse it, tunkit too, but that is not what we test. */
function dedupe(w: string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  const valued = new Set(["mtu", "advmss", "initcwnd", "initrwnd", "hoplimit", "rtt", "rttvar", "window", "cwnd", "ssthresh", "reordering", "features", "quickack", "congctl", "fastopen_no_cookie", "rto_min"]);
  for (let i = 0; i < w.length; i++) {
    const k = w[i]!;
    if (valued.has(k)) {
      const n = w[i + 1] === "lock" ? 3 : 2;
      if (!seen.has(k)) out.push(...w.slice(i, i + n));
      seen.add(k);
      i += n - 1;
      continue;
    }
    out.push(k);
  }
  return out;
}

function routeCommand(r: Rnd, m: Model): string[] {
  const obj = pick(r, ["route", "route", "r", "ro", "rou"]);
  const x = int(r, 0, 99);
  const f = family(r);
  if (x < 45) {
    const spec = routeSpec(r, m, f);
    m.routes.push(spec);
    return [obj, abbrev(r, "add", 1), ...spec];
  }
  if (x < 55) return [obj, pick(r, ["replace", "rep", "change", "chg", "append", "prepend", "app"]), ...routeSpec(r, m, f)];
  if (x < 75 && m.routes.length) {
    const spec = m.routes.splice(int(r, 0, m.routes.length - 1), 1)[0]!;
    return [obj, pick(r, ["del", "delete", "d"]), ...spec];
  }
  if (x < 80) return [obj, pick(r, ["del", "delete"]), ...routeSpec(r, m, f)];
  if (x < 90) {
    const g = f === 6 ? ["-6"] : chance(r, 0.3) ? ["-4"] : [];
    const sel = pick(r, [["dev", devOf(r, m)], ["table", pick(r, ["100", "200"])], [abbrev(r, "protocol", 3), pick(r, ["static", "84"])], ["root", f === 4 ? "10.0.0.0/8" : "2001:db8::/32"], ["type", pick(r, ["blackhole", "unicast"])], ["table", "100", "via", f === 4 ? "192.0.2.2" : "2001:db8::2"]]);
    return [...g, obj, pick(r, ["flush", "fl"]), ...sel];
  }
  const g = f === 6 ? ["-6"] : [];
  return [...g, obj, "get", f === 4 ? `10.${int(r, 0, 30)}.${int(r, 0, 3)}.${int(r, 1, 254)}` : `2001:db8:${(0x100 + int(r, 0, 40)).toString(16)}::7`];
}

function addrSpec(r: Rnd, m: Model, f: 4 | 6): string[] {
  const dev = devOf(r, m);
  const w: string[] = [];
  if (f === 4) {
    const len = pick(r, [24, 24, 28, 30, 31, 32]);
    if (chance(r, 0.1)) w.push("local");
    w.push(`10.${100 + int(r, 0, 50)}.${int(r, 0, 255)}.${int(r, 1, 254)}/${len}`);
    if (chance(r, 0.15)) w.push(pick(r, ["peer", "remote"]), `10.250.${int(r, 0, 255)}.${int(r, 1, 254)}`);
    if (chance(r, 0.25)) w.push(pick(r, ["brd", "broadcast", "br"]), pick(r, ["+", "-", `10.${100 + int(r, 0, 50)}.255.255`]));
    if (chance(r, 0.1)) w.push("label", `${dev}:${int(r, 0, 9)}`);
    if (chance(r, 0.1)) w.push("scope", pick(r, ["global", "link", "host", "site"]));
  } else {
    w.push(`2001:db8:${(0x400 + int(r, 0, 40)).toString(16)}::${int(r, 1, 99)}/${pick(r, [64, 64, 128, 48])}`);
    w.push("nodad");
    if (chance(r, 0.1)) w.push(pick(r, ["home", "mngtmpaddr", "optimistic"]));
    if (chance(r, 0.05)) w.push("anycast", `2001:db8:${(0x400 + int(r, 0, 40)).toString(16)}::`);
  }
  if (chance(r, 0.1)) w.push("noprefixroute");
  if (chance(r, 0.1)) w.push(abbrev(r, "metric", 3), String(int(r, 1, 100)));
  if (chance(r, 0.1)) {
    // Lifetimes that cannot run out during a run (nor cross "deprecated" between two state
    // dumps), or a preferred_lft of 0 (deprecated at once, on both sides alike).
    const v = int(r, 20000, 40000);
    w.push(abbrev(r, "valid_lft", 5), chance(r, 0.2) ? "forever" : String(v), abbrev(r, "preferred_lft", 5), chance(r, 0.2) ? "0" : String(int(r, 10000, 19999)));
  }
  w.push("dev", dev);
  return w;
}

function addrCommand(r: Rnd, m: Model): string[] {
  const obj = pick(r, ["address", "addr", "a", "ad"]);
  const x = int(r, 0, 99);
  const f = family(r);
  if (x < 45) {
    const spec = addrSpec(r, m, f);
    m.addrs.push(spec);
    return [obj, abbrev(r, "add", 2), ...spec];
  }
  if (x < 55) return [obj, pick(r, ["replace", "change"]), ...addrSpec(r, m, f)];
  if (x < 80 && m.addrs.length) {
    const spec = m.addrs.splice(int(r, 0, m.addrs.length - 1), 1)[0]!;
    const a = spec.find((w) => /\d+\//.test(w))!;
    // ip's bare IPv4 delete (no prefix length) now and then.
    const words = chance(r, 0.2) && !a.includes(":") ? [a.split("/")[0]!, "dev", spec[spec.indexOf("dev") + 1]!] : [a, "dev", spec[spec.indexOf("dev") + 1]!];
    return [obj, pick(r, ["del", "delete"]), ...words];
  }
  if (x < 90) {
    const g = f === 6 ? ["-6"] : chance(r, 0.5) ? ["-4"] : [];
    return [...g, obj, "flush", "dev", devOf(r, m), ...(chance(r, 0.3) ? ["scope", pick(r, ["global", "link", "host"])] : [])];
  }
  return [obj, pick(r, ["show", "list", "s", "ls"]), ...(chance(r, 0.5) ? ["dev", devOf(r, m)] : [])];
}

function ruleSpec(r: Rnd, f: 4 | 6): string[] {
  const w: string[] = [];
  if (chance(r, 0.1)) w.push("not");
  if (chance(r, 0.5)) w.push("from", f === 4 ? `192.0.2.${int(r, 0, 255)}/${pick(r, [24, 32, 28])}` : `2001:db8:${int(r, 1, 99)}::/48`);
  if (chance(r, 0.3)) w.push("to", f === 4 ? `10.${int(r, 0, 255)}.0.0/16` : `2001:db8:${int(r, 100, 199)}::/48`);
  if (chance(r, 0.15) && f === 4) w.push("tos", pick(r, ["0x10", "0x08"]));
  if (chance(r, 0.2)) w.push("fwmark", pick(r, ["0x54", "7", "0x10/0xff"]));
  if (chance(r, 0.15)) w.push(pick(r, ["iif", "dev"]), pick(r, STATIC_DEVS));
  if (chance(r, 0.1)) w.push("oif", pick(r, STATIC_DEVS));
  if (chance(r, 0.15)) w.push("uidrange", `${int(r, 1000, 1500)}-${int(r, 1501, 2000)}`);
  if (chance(r, 0.15)) {
    w.push("ipproto", pick(r, ["tcp", "udp", "6", "17"]));
    if (chance(r, 0.5)) w.push("dport", pick(r, ["443", "1000-2000"]));
    if (chance(r, 0.3)) w.push("sport", pick(r, ["53", "1024-65535"]));
  }
  if (chance(r, 0.8)) w.push(pick(r, ["pref", "priority", "pri", "order"]), String(int(r, 100, 30000)));
  const a = int(r, 0, 9);
  if (a < 5) w.push(pick(r, ["lookup", "table", "ta"]), pick(r, ["100", "200", "main", "300"]));
  else if (a === 5) w.push(pick(r, ["blackhole", "unreachable", "prohibit"]));
  else if (a === 6) w.push("nop");
  else if (a === 7) w.push("goto", String(int(r, 30001, 32000)));
  // a === 8, 9: no action (main)
  if (chance(r, 0.1) && a < 5) w.push(abbrev(r, "suppress_prefixlength", 4), String(int(r, 0, 32)));
  if (chance(r, 0.1)) w.push(abbrev(r, "protocol", 3), pick(r, ["static", "84", "boot"]));
  if (chance(r, 0.05) && f === 4) w.push("realms", String(int(r, 1, 100)));
  // An action word before the selectors now and then (ip reads it anywhere).
  if (chance(r, 0.15) && (a === 5 || a === 6)) w.unshift(w.pop()!);
  return w;
}

function ruleCommand(r: Rnd, m: Model): string[] {
  const obj = pick(r, ["rule", "ru", "rul"]);
  const f = family(r);
  const g = f === 6 ? ["-6"] : chance(r, 0.2) ? ["-4"] : [];
  const x = int(r, 0, 99);
  if (x < 55) {
    const spec = ruleSpec(r, f);
    m.rules.push([...g, ...spec]);
    return [...g, obj, "add", ...spec];
  }
  if (x < 85 && m.rules.length) {
    const spec = m.rules.splice(int(r, 0, m.rules.length - 1), 1)[0]!;
    const gg = spec[0] === "-6" || spec[0] === "-4" ? [spec[0]] : [];
    return [...gg, obj, pick(r, ["del", "delete"]), ...spec.slice(gg.length)];
  }
  if (x < 90) return [...g, obj, "del", ...ruleSpec(r, f)];
  if (x < 95) return [...g, obj, "flush", ...(chance(r, 0.5) ? [abbrev(r, "protocol", 3), "84"] : ["table", "100"])];
  return [...g, obj, pick(r, ["list", "show", "ls"])];
}

const mac = (r: Rnd) => `02:00:00:${hex2(int(r, 0, 255))}:${hex2(int(r, 0, 255))}:${hex2(int(r, 1, 254))}`;

function neighCommand(r: Rnd, m: Model): string[] {
  const obj = pick(r, ["neigh", "neighbor", "neighbour", "n", "nei"]);
  const f = family(r);
  const dst = f === 4 ? `203.0.113.${int(r, 2, 60)}` : `2001:db8:2::${int(r, 2, 60).toString(16)}`;
  const x = int(r, 0, 99);
  if (x < 45) {
    const spec = [dst, "lladdr", mac(r), "dev", "tp0", "nud", pick(r, ["permanent", "noarp", "permanent"])];
    if (chance(r, 0.1)) spec.push("router");
    m.neighs.push(spec);
    return [obj, "add", ...spec];
  }
  if (x < 55) return [obj, pick(r, ["replace", "change"]), dst, "lladdr", mac(r), "dev", "tp0", "nud", pick(r, ["permanent", "noarp"])];
  if (x < 65) {
    const spec = ["proxy", dst, "dev", "tp0"];
    m.neighs.push(spec);
    return [obj, "add", ...spec];
  }
  if (x < 85 && m.neighs.length) {
    const spec = m.neighs.splice(int(r, 0, m.neighs.length - 1), 1)[0]!;
    const words = spec[0] === "proxy" ? spec : [spec[0]!, "dev", "tp0"];
    return [obj, "del", ...words];
  }
  if (x < 92) return [...(f === 6 ? ["-6"] : ["-4"]), obj, "flush", "dev", "tp0", ...(chance(r, 0.5) ? ["nud", "permanent"] : [])];
  return [obj, "show", ...(chance(r, 0.5) ? ["dev", "tp0"] : [])];
}

function linkCommand(r: Rnd, m: Model): string[] {
  const obj = pick(r, ["link", "l", "li"]);
  const x = int(r, 0, 99);
  if (x < 20 && m.links.length < 12) {
    m.n++;
    const kind = pick(r, ["veth", "veth", "bridge", "vxlan"]);
    if (kind === "veth") {
      const a = `v${m.n}a`;
      const b = `v${m.n}b`;
      m.links.push(a, b);
      return [obj, "add", a, "address", mac(r), ...(chance(r, 0.3) ? ["mtu", String(int(r, 1280, 1500))] : []), "type", "veth", "peer", "name", b, "address", mac(r)];
    }
    if (kind === "bridge") {
      const n = `br${m.n}`;
      m.links.push(n);
      m.bridges.push(n);
      return [obj, "add", "name", n, "address", mac(r), "type", "bridge"];
    }
    const n = `vx${m.n}`;
    m.links.push(n);
    return [obj, "add", n, "address", mac(r), "type", "vxlan", "id", String(int(r, 1, 9999)), "dstport", "4789", ...(chance(r, 0.5) ? ["remote", pick(r, ["192.0.2.50", "198.51.100.50"])] : []), ...(chance(r, 0.5) ? ["dev", "tk0"] : [])];
  }
  if (x < 28 && m.links.length) {
    const d = pick(r, m.links);
    if (!d.startsWith("br") && !d.startsWith("vx") && d.endsWith("b")) return [obj, "show", d];
    m.links = m.links.filter((l) => l !== d && !(d.startsWith("v") && !d.startsWith("vx") && l === d.slice(0, -1) + (d.endsWith("a") ? "b" : "a")));
    m.bridges = m.bridges.filter((b) => b !== d);
    return [obj, pick(r, ["del", "delete"]), ...(chance(r, 0.5) ? ["dev"] : []), d];
  }
  if (x < 90) {
    const dev = chance(r, 0.4) ? pick(r, STATIC_DEVS) : pick(r, m.links.length ? m.links : STATIC_DEVS);
    const w: string[] = [obj, pick(r, ["set", "s", "change"]), ...(chance(r, 0.3) ? ["dev"] : []), dev];
    const n = int(r, 1, 3);
    for (let i = 0; i < n; i++) {
      const c = int(r, 0, 10);
      if (c === 0) w.push(pick(r, ["up", "down"]));
      else if (c === 1) w.push("mtu", String(int(r, 1280, 1500)));
      else if (c === 2) w.push(pick(r, ["txqueuelen", "txqlen", "qlen"]), String(int(r, 100, 2000)));
      else if (c === 3) w.push("alias", pick(r, ["uplink", "vpn-a", "x"]));
      else if (c === 4) w.push(pick(r, ["promisc", "allmulticast", "multicast", "arp"]), pick(r, ["on", "off"]));
      else if (c === 5 && m.bridges.length && !STATIC_DEVS.includes(dev) && !dev.startsWith("br")) w.push("master", pick(r, m.bridges));
      else if (c === 6 && !STATIC_DEVS.includes(dev)) w.push("nomaster");
      else if (c === 7) w.push("group", String(int(r, 0, 5)));
      else if (c === 8 && !dev.startsWith("tk")) w.push("address", mac(r));
      else w.push("up");
    }
    return w;
  }
  return [obj, pick(r, ["show", "list"]), ...(chance(r, 0.5) ? [pick(r, STATIC_DEVS)] : [])];
}

/** The next command of the sequence seeded by `seed`. */
export function commands(seed: number, count: number): string[][] {
  const r = mulberry32(seed);
  const m: Model = { links: [], bridges: [], routes: [], addrs: [], rules: [], neighs: [], n: 0 };
  const out: string[][] = [];
  for (let i = 0; i < count; i++) {
    const x = int(r, 0, 99);
    out.push(x < 35 ? routeCommand(r, m) : x < 55 ? addrCommand(r, m) : x < 72 ? ruleCommand(r, m) : x < 85 ? neighCommand(r, m) : linkCommand(r, m));
  }
  return out;
}

/** One namespace's state, normalized (no timers, counters, lifetimes, link-local or random values). */
export function state(ns: string): string {
  const j = (...a: string[]) => {
    const r = spawnSync("ip", ["-n", ns, "-j", ...a], { encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`ip -n ${ns} -j ${a.join(" ")}: ${r.stderr}`);
    return JSON.parse(r.stdout || "[]");
  };
  const drop = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(drop).filter((x) => x !== DROP);
    if (v && typeof v === "object") {
      const o: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) {
        if (/_timer$|^stats|^expires$|_life_time$|^used$|^confirmed$|^updated$|^probes$|topology_change|^gso|^tso|^gro|^operstate$/.test(k)) continue;
        // Carrier follows the device on the kernel's own clock (a bridge's forward delay).
        if (k === "flags" && Array.isArray(x)) {
          o[k] = x.filter((f) => f !== "NO-CARRIER" && f !== "LOWER_UP" && f !== "M-DOWN");
          continue;
        }
        if (typeof x === "string" && /^fe80:|^ff0\d:|^ff00::/.test(x) && (k === "local" || k === "dst" || k === "address")) return DROP;
        const y = drop(x);
        if (y !== DROP) o[k] = y;
      }
      return o;
    }
    return v;
  };
  const DROP = Symbol("drop");
  const parts = {
    links: j("-d", "link", "show"),
    addrs: j("addr", "show"),
    routes4: j("-4", "route", "show", "table", "all"),
    routes6: j("-6", "route", "show", "table", "all"),
    rules4: j("-4", "rule", "show"),
    rules6: j("-6", "rule", "show"),
    // The neighbour table's dump order follows a hash with a per-namespace random seed: sort it.
    // Multicast and link-local entries come from the kernel's own MLD/ND traffic, on its own clock.
    neigh: (j("neigh", "show", "nud", "all") as Array<Record<string, unknown>>).filter((n) => !/^(ff0|fe80:|22[4-9]\.|23\d\.)/.test(String(n.dst))).map((n) => JSON.stringify(n)).sort(),
    proxy: (j("neigh", "show", "proxy") as Array<Record<string, unknown>>).map((n) => JSON.stringify(n)).sort(),
  };
  return JSON.stringify(drop(parts), null, 1);
}

/** What one command did on each side. */
export interface Outcome {
  words: string[];
  ip: { code: number; err: string };
  tunkit: { code: number; err: string };
}

/** The result of a differential run. */
export interface DiffReport {
  commands: number;
  identical: number;
  outcomes: Outcome[];
  /** Windows of commands after which the states differed (with a unified-ish diff excerpt). */
  stateMismatches: Array<{ after: number; window: string[][]; diff: string }>;
}

function firstDiff(a: string, b: string): string {
  const la = a.split("\n");
  const lb = b.split("\n");
  for (let i = 0; i < Math.max(la.length, lb.length); i++) {
    if (la[i] !== lb[i]) return `line ${i + 1}:\n  ip:     ${la.slice(Math.max(0, i - 3), i + 3).join("\n          ")}\n  tunkit: ${lb.slice(Math.max(0, i - 3), i + 3).join("\n          ")}`;
  }
  return "";
}

/**
 * Runs `cmds` on both sides (ip in `nsA`, tunkit in-process in `nsB`) and compares outcomes
 * after each command, states after every `window` commands (and at the end). After a state
 * mismatch both namespaces are made equal again by replaying nothing: the run goes on, and
 * the mismatch stays in the report.
 */
export async function runDiff(nsA: string, nsB: string, cmds: readonly string[][], window = 20): Promise<DiffReport> {
  const rep: DiffReport = { commands: 0, identical: 0, outcomes: [], stateMismatches: [] };
  let since: string[][] = [];
  let stateA = state(nsA);
  let stateB = state(nsB);
  if (stateA !== stateB) rep.stateMismatches.push({ after: 0, window: [], diff: firstDiff(stateA, stateB) });
  for (let i = 0; i < cmds.length; i++) {
    const words = cmds[i]!;
    // Global options (-4/-6) first, like ip; -n last so they stay before the object.
    const lead = words.filter((w, k) => k < 2 && (w === "-4" || w === "-6"));
    const rest = words.slice(lead.length);
    const ipr = spawnSync("ip", ["-n", nsA, ...lead, ...rest], { encoding: "utf8" });
    let err = "";
    const code = await run(["-n", nsB, ...lead, ...rest], { stdout: () => {}, stderr: (s) => void (err += s), flush: () => {} });
    const o: Outcome = { words, ip: { code: ipr.status ?? -1, err: (ipr.stderr ?? "").trim() }, tunkit: { code, err: err.trim() } };
    rep.outcomes.push(o);
    rep.commands++;
    if ((o.ip.code === 0) === (o.tunkit.code === 0)) rep.identical++;
    since.push(words);
    if (since.length >= window || i === cmds.length - 1) {
      stateA = state(nsA);
      stateB = state(nsB);
      if (stateA !== stateB) rep.stateMismatches.push({ after: i + 1, window: since, diff: firstDiff(stateA, stateB) });
      since = [];
    }
  }
  return rep;
}

/** Refused or diverging commands grouped by their leading words, most frequent first. */
export function divergences(rep: DiffReport): Array<{ key: string; count: number; example: Outcome }> {
  const by = new Map<string, { count: number; example: Outcome }>();
  for (const o of rep.outcomes) {
    if ((o.ip.code === 0) === (o.tunkit.code === 0)) continue;
    const side = o.ip.code === 0 ? "tunkit refused" : "tunkit accepted";
    const msg = (o.ip.code === 0 ? o.tunkit.err : o.ip.err).split("\n")[0]!.replace(/"[^"]*"/g, '"…"').slice(0, 90);
    const key = `${side}: ${msg}`;
    const e = by.get(key) ?? { count: 0, example: o };
    e.count++;
    by.set(key, e);
  }
  return [...by.entries()].map(([key, v]) => ({ key, ...v })).sort((a, b) => b.count - a.count);
}

/** Creates the two namespaces (unique names with the pid), runs `fn`, deletes them. */
export async function withNamespaces<T>(tag: string, fn: (a: string, b: string) => Promise<T>): Promise<T> {
  const a = `tkdiff-${tag}-a-${process.pid}`;
  const b = `tkdiff-${tag}-b-${process.pid}`;
  for (const n of [a, b]) {
    const r = spawnSync("ip", ["netns", "add", n], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip netns add ${n}: ${r.stderr}`);
  }
  try {
    setupNamespace(a);
    setupNamespace(b);
    return await fn(a, b);
  } finally {
    for (const n of [a, b]) spawnSync("ip", ["netns", "del", n]);
  }
}
