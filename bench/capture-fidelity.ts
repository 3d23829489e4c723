/**
 * How closely `tunkit dump -r` prints what `tcpdump -n -r` prints, packet by packet, over a
 * folder of captures (real ones: e.g. tcpdump's own tests/*.pcap, fetched, never committed),
 * at tcpdump's default verbosity and with -v.
 *
 *   bun bench/capture-fidelity.ts DIR [--cache DIR] [--show N] [--json]
 *
 * "Claimed" is defined by an independent dissector, not by tunkit's output: tshark names the
 * protocol layers of every packet (`frame.protocols`, e.g. "eth:ethertype:ip:tcp:http"); a
 * packet is claimed when every layer it names is in {@link CLAIMED} (the protocols tunkit's
 * README documents as decoded; {@link CLAIMED_V} with -v, where a few are decoded at default
 * verbosity only). tshark's bookkeeping names (`ethertype`, `data` for undissected payload,
 * `_ws.*` for its own malformed/short markers) are not layers. Packets tshark cannot classify
 * (a file it refuses, records past where it stops) are counted apart, as "unclassified".
 * tshark runs once per file (2-3 s each; `--cache` keeps its answers and tcpdump's text).
 *
 * Both printers run with -tt and -n; packets are told apart by their leading timestamp, which is
 * then dropped. Prints totals and the most common kinds of difference.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { planDump, FileDumper } from "../cli/dump.ts";

/** tshark protocol names of what tunkit decodes at tcpdump's default verbosity. */
export const CLAIMED: ReadonlySet<string> = new Set([
  // link layers
  "eth", "vlan", "sll", "null", "ppp", "raw", "pppoed", "pppoes",
  // network
  "arp", "ip", "ipv6", "ipv6.hopopts", "ipv6.routing", "ipv6.fraghdr", "ipv6.dstopts", "icmp", "icmpv6",
  // transport (MPTCP is a TCP option to tshark)
  "tcp", "udp", "mptcp",
  // inside
  "dns", "mdns", "http", "ftp", "smtp", "rtsp", "ssh", "bgp", "ntp", "dhcp", "dhcpv6", "isakmp", "udpencap", "esp", "ah", "gre",
  "vxlan", "geneve", "igmp", "ospf", "pim", "bfd", "vrrp",
]);

/** With -v: the same, minus the protocols whose -v details tcpdump prints and tunkit does not. */
export const CLAIMED_V: ReadonlySet<string> = new Set([...CLAIMED].filter((p) => !["bgp", "ospf", "pim", "dhcpv6", "isakmp"].includes(p)));

/** tshark names that are not protocol layers. */
const NOT_LAYERS = (name: string) => name === "ethertype" || name === "data" || name === "frame" || name.startsWith("_ws.");

/** Whether a packet whose tshark layers are `layers` is claimed for the set `set`. */
export function isClaimed(layers: readonly string[], set: ReadonlySet<string>): boolean {
  return layers.every((l) => NOT_LAYERS(l) || set.has(l));
}

/** Splits -tt output into packets (each starts with its epoch timestamp), timestamps dropped. */
function packets(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\d+\.\d{6} /.exec(line);
    if (m) out.push(line.slice(m[0].length));
    else if (out.length && line !== "") out[out.length - 1] += "\n" + line;
  }
  return out;
}

interface Tally {
  total: number;
  same: number;
  /** Claimed by tshark's layers. */
  claimed: number;
  claimedSame: number;
  /** ...and holding no protocol tcpdump decodes and tunkit prints as data. */
  strict: number;
  strictSame: number;
  unclassified: number;
  kinds: Map<string, { n: number; example: string }>;
  /** Claimed packets that differ and hold a protocol tunkit prints as data: per protocol. */
  notDecoded: Map<string, number>;
}

const tally = (): Tally => ({ total: 0, same: 0, claimed: 0, claimedSame: 0, strict: 0, strictSame: 0, unclassified: 0, kinds: new Map(), notDecoded: new Map() });

if (import.meta.main) await main();

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const opt = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const dir = args.find((a, i) => !a.startsWith("-") && !["--cache", "--show"].includes(args[i - 1] ?? ""));
  if (!dir) throw new Error("usage: bun bench/capture-fidelity.ts DIR [--cache DIR] [--show N] [--json]");
  const cache = opt("--cache");
  if (cache) mkdirSync(cache, { recursive: true });
  const show = Number(opt("--show") ?? 15);

  /** Runs `fn` once per (file content, key), keeping the answer in --cache. */
  function cached(file: string, key: string, fn: () => string | undefined): string | undefined {
    if (!cache) return fn();
    const h = createHash("sha1").update(readFileSync(file)).digest("hex");
    const p = join(cache, `${h}.${key}`);
    if (existsSync(p)) {
      const t = readFileSync(p, "latin1");
      return t === "\u0000none" ? undefined : t;
    }
    const r = fn();
    writeFileSync(p, r ?? "\u0000none", "latin1");
    return r;
  }

  const tcpdump = (file: string, v: boolean) =>
    cached(file, v ? "tcpdump-v" : "tcpdump", () => {
      const r = spawnSync("tcpdump", ["-n", "-tt", ...(v ? ["-v"] : []), "-r", file], { encoding: "latin1", timeout: 30_000, env: { ...process.env, TZ: "UTC" } });
      return r.status !== 0 && !r.stdout ? undefined : r.stdout;
    });
  const tshark = (file: string) =>
    cached(file, "tshark", () => {
      const r = spawnSync("tshark", ["-n", "-r", file, "-o", "tcp.desegment_tcp_streams:FALSE", "-o", "ip.defragment:FALSE", "-o", "ipv6.defragment:FALSE", "-T", "fields", "-e", "frame.protocols"], { encoding: "latin1", timeout: 60_000 });
      return r.stdout ?? "";
    });

  /**
   * tunkit's side in-process: the same engine as `tunkit dump -n -tt -q -r FILE` (no process
   * start per file). With each packet: the protocol tcpdump decodes and tunkit prints as data, if any.
   */
  function tunkit(file: string, v: boolean): { lines: string[]; notDecoded: (string | undefined)[] } {
    const plan = planDump([], { read: file, n: 1, t: 2, q: true, v: v ? 1 : 0 }, { json: false, quiet: true });
    // one write per record; split as tcpdump's text is split (a record without a timestamp,
    // such as "[Invalid header...]", joins the one before), keeping each packet's note
    const lines: string[] = [];
    const notDecoded: (string | undefined)[] = [];
    const d = new FileDumper(plan, (s) => {
      const note = d.printer.lastNotDecoded;
      for (const p of packets(s)) {
        lines.push(p);
        notDecoded.push(note);
      }
      if (!/^\d+\.\d{6} /.test(s) && lines.length) {
        lines[lines.length - 1] += "\n" + s.replace(/\n$/, "");
        notDecoded[notDecoded.length - 1] ??= note;
      }
    });
    d.push(new Uint8Array(readFileSync(file)));
    d.end();
    return { lines, notDecoded };
  }

  const res = { default: tally(), verbose: tally() };
  let files = 0;
  for (const f of readdirSync(dir).sort()) {
    const file = join(dir, f);
    if (!/\.(pcap|pcapng|cap)$/.test(f) || !statSync(file).isFile()) continue;
    const refD = tcpdump(file, false);
    if (refD === undefined) continue;
    files++;
    const layers = (tshark(file) ?? "").split("\n").filter((l, i, a) => i < a.length - 1 || l !== "").map((l) => l.trim().split(":"));
    for (const v of [false, true]) {
      const t = v ? res.verbose : res.default;
      const ref = packets((v ? tcpdump(file, true) : refD) ?? "");
      const ours = tunkit(file, v);
      const set = v ? CLAIMED_V : CLAIMED;
      for (let i = 0; i < ref.length; i++) {
        const a = ref[i]!;
        const b = ours.lines[i] ?? "";
        t.total++;
        const ok = a === b;
        if (ok) t.same++;
        const l = layers[i];
        // no tshark line, or only its bookkeeping names (a link type it cannot read): unclassified
        if (!l || l.every(NOT_LAYERS)) {
          t.unclassified++;
          continue;
        }
        if (!isClaimed(l, set)) continue;
        t.claimed++;
        if (ok) t.claimedSame++;
        const nd = ours.notDecoded[i];
        if (nd !== undefined) {
          if (!ok) t.notDecoded.set(nd, (t.notDecoded.get(nd) ?? 0) + 1);
          continue;
        }
        t.strict++;
        if (ok) t.strictSame++;
        else {
          const key = a.replace(/[0-9a-f:.]+/g, "#").slice(0, 50);
          const k = t.kinds.get(key) ?? { n: 0, example: `${f}#${i + 1} [${l.join(":")}]\n  tcpdump: ${a}\n  tunkit:  ${b}` };
          k.n++;
          t.kinds.set(key, k);
        }
      }
    }
  }
  const pct = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(1) : "-");
  const summary = (t: Tally) => ({
    packets: t.total, identical: t.same, identicalPct: pct(t.same, t.total),
    claimed: t.claimed, claimedIdentical: t.claimedSame, claimedPct: pct(t.claimedSame, t.claimed),
    strict: t.strict, strictIdentical: t.strictSame, strictPct: pct(t.strictSame, t.strict), unclassified: t.unclassified,
  });
  if (args.includes("--json")) {
    console.log(JSON.stringify({ files, default: summary(res.default), verbose: summary(res.verbose) }));
    return;
  }
  for (const [name, t] of [["default", res.default], ["-v", res.verbose]] as const) {
    const s = summary(t);
    console.log(`${name}: ${files} files, ${s.packets} packets: ${s.identical} identical (${s.identicalPct}%); claimed by tshark's layers ${s.claimed}: ${s.claimedIdentical} identical (${s.claimedPct}%); of those without a protocol tcpdump decodes and tunkit does not ${s.strict}: ${s.strictIdentical} identical (${s.strictPct}%); unclassified by tshark ${s.unclassified}`);
  }
  for (const [name, t] of [["default", res.default], ["-v", res.verbose]] as const) {
    console.log(`\n== most common differences in claimed packets (${name})`);
    const nd = [...t.notDecoded.entries()].sort((x, y) => y[1] - x[1]);
    console.log(`claimed packets that differ, holding a protocol tcpdump decodes and tunkit does not: ${nd.map(([p, n]) => `${p} ${n}`).join(", ") || "none"}`);
    const top = [...t.kinds.entries()].sort((x, y) => y[1].n - x[1].n).slice(0, show);
    for (const [, k] of top) console.log(`${k.n}x ${k.example}`);
  }
}
