/**
 * How closely `tunkit dump -r` prints what `tcpdump -n -r` prints, packet by packet, over a
 * folder of captures (real ones: e.g. tcpdump's own tests/*.pcap, fetched, never committed).
 *
 *   bun bench/capture-fidelity.ts DIR [-v] [--show N] [--json]
 *
 * Both run with -tt and -n; packets are told apart by their leading timestamp, which is then dropped. A packet is "claimed" when tunkit's text is not one of its
 * fallbacks (raw link type, ip-proto-N, a bare "UDP, length" where tcpdump names a protocol).
 * Prints totals and the most common kinds of difference.
 *
 * @module
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { planDump, dumpCaptureBytes } from "../cli/dump.ts";
import { join } from "node:path";

// A tool, not a row of `npm run bench` (it needs a folder of captures): it runs only when started itself.
if (import.meta.main) await main();

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith("-"));
  if (!dir) throw new Error("usage: bun bench/capture-fidelity.ts DIR [-v] [--show N] [--json]");
  const verbose = args.includes("-v");
  const showIdx = args.indexOf("--show");
  const show = showIdx >= 0 ? Number(args[showIdx + 1]) : 20;

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

  function tcpdump(file: string): string[] | undefined {
    const r = spawnSync("tcpdump", ["-n", "-tt", ...(verbose ? ["-v"] : []), "-r", file], { encoding: "latin1", timeout: 30_000, env: { ...process.env, TZ: "UTC" } });
    if (r.status !== 0 && !r.stdout) return undefined;
    return packets(r.stdout);
  }

  /** tunkit's side in-process: the same engine as `tunkit dump -n -t -q -r FILE` (no process start per file). */
  function tunkit(file: string): string[] {
    const plan = planDump([], { read: file, n: 1, t: 2, q: true, v: verbose ? 1 : 0 }, { json: false, quiet: true });
    let out = "";
    dumpCaptureBytes(new Uint8Array(readFileSync(file)), plan, (s) => (out += s));
    return packets(out);
  }

  /** tunkit's own "I don't decode this" outputs: such packets are outside the claimed set. */
  const fallback = (ours: string, theirs: string): boolean =>
    /link-type |ip-proto-\d+|^unknown ip |ethertype Unknown|, 802\.3, |LLC, length|ethertype [A-Za-z0-9.]+ \(0x[0-9a-f]{4}\), length \d+: $/m.test(ours) ||
    (/UDP, length \d+$/.test(ours) && !/UDP, length \d+$/.test(theirs));

  let total = 0;
  let same = 0;
  let claimed = 0;
  let claimedSame = 0;
  let files = 0;
  const kinds = new Map<string, { n: number; example: string }>();
  for (const f of readdirSync(dir).sort()) {
    const file = join(dir, f);
    if (!/\.(pcap|pcapng|cap)$/.test(f) || !statSync(file).isFile()) continue;
    const ref = tcpdump(file);
    if (!ref) continue;
    files++;
    const ours = tunkit(file);
    for (let i = 0; i < ref.length; i++) {
      const a = ref[i]!;
      const b = ours[i] ?? "";
      total++;
      const ok = a === b;
      if (ok) same++;
      if (!fallback(b, a)) {
        claimed++;
        if (ok) claimedSame++;
        else {
          const key = a.replace(/[0-9a-f:.]+/g, "#").slice(0, 50);
          const k = kinds.get(key) ?? { n: 0, example: `${f}#${i + 1}\n  tcpdump: ${a}\n  tunkit:  ${b}` };
          k.n++;
          kinds.set(key, k);
        }
      }
    }
  }
  const pct = (a: number, b: number) => (b ? ((100 * a) / b).toFixed(1) : "-");
  const summary = { files, packets: total, identical: same, identicalPct: pct(same, total), claimed, claimedIdentical: claimedSame, claimedPct: pct(claimedSame, claimed), verbose };
  if (args.includes("--json")) console.log(JSON.stringify(summary));
  else {
    console.log(`${files} files, ${total} packets: ${same} identical (${summary.identicalPct}%); claimed ${claimed}: ${claimedSame} identical (${summary.claimedPct}%)${verbose ? " [-v]" : ""}`);
    const top = [...kinds.entries()].sort((x, y) => y[1].n - x[1].n).slice(0, show);
    for (const [, k] of top) console.log(`${k.n}x ${k.example}`);
  }
}
