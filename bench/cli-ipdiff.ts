/**
 * The differential test of tunkit against ip at scale (tests/integration/_ipdiff.ts): SEEDS
 * seeds of COUNT generated ip command lines each, applied by ip and by tunkit in two identical
 * namespaces; prints the share of identical outcomes, the state mismatches and the divergences
 * (refused or wrongly accepted commands) grouped by message. Needs root.
 *
 *   bun bench/cli-ipdiff.ts [--seeds N] [--count N] [--json]
 */
import { divergences, runDiff, withNamespaces, commands, type DiffReport } from "../tests/integration/_ipdiff.ts";
import { print, row, type Row } from "./lib.ts";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

/**
 * Runs the differential stress run; one row: identical outcomes in percent (reference: the
 * 97% target), plus a report on stderr.
 *
 * @example
 * ```ts
 * import bench from "./cli-ipdiff.ts";
 * const [r] = await bench();
 * ```
 */
export default async function cliIpdiff(seeds = arg("--seeds", 10), count = arg("--count", 320)): Promise<Row[]> {
  const all: DiffReport = { commands: 0, identical: 0, outcomes: [], stateMismatches: [] };
  for (let s = 1; s <= seeds; s++) {
    const rep = await withNamespaces(`s${s}`, (a, b) => runDiff(a, b, commands(s, count)));
    all.commands += rep.commands;
    all.identical += rep.identical;
    all.outcomes.push(...rep.outcomes);
    all.stateMismatches.push(...rep.stateMismatches.map((m) => ({ ...m, after: m.after })));
    if (!process.argv.includes("--json")) console.error(`seed ${s}: ${rep.identical}/${rep.commands} identical, ${rep.stateMismatches.length} state mismatches`);
  }
  const out = (s: string) => console.error(s);
  out(`\n${all.identical}/${all.commands} identical outcomes (${((100 * all.identical) / all.commands).toFixed(2)}%), ${all.stateMismatches.length} state mismatches`);
  for (const m of all.stateMismatches.slice(0, 5)) out(`state mismatch after ${m.after}: last commands:\n  ${m.window.slice(-5).map((w) => w.join(" ")).join("\n  ")}\n${m.diff}`);
  out("\ndivergences (most frequent first):");
  for (const d of divergences(all).slice(0, 40)) out(`${String(d.count).padStart(5)}  ${d.key}\n        e.g. ${d.example.words.join(" ")}\n        ip: ${d.example.ip.code} ${d.example.ip.err.split("\n")[0]}\n        tunkit: ${d.example.tunkit.code} ${d.example.tunkit.err.split("\n")[0]}`);
  return [row("cli vs ip (differential): identical outcomes, % (vs the 97% target)", (100 * all.identical) / all.commands, 97, "%", true, `${all.commands} commands, ${all.stateMismatches.length} state mismatches`)];
}

if (import.meta.main) print(await cliIpdiff(), process.argv.includes("--json"));
