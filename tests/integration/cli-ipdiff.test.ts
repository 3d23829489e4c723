// The differential test of tunkit against ip (tests/integration/_ipdiff.ts), bounded for npm
// test: a few seeds of generated ip command lines over the whole grammar (links, addresses,
// routes, rules, neighbours; ip's abbreviations and global options), applied by ip and by
// tunkit in two identical namespaces. Every command must have the same outcome (both succeed
// or both fail) in at least 97% of the cases, and the kernel states must never differ.
// bench/cli-ipdiff.ts runs thousands of commands.
import { expect } from "bun:test";
import { commands, divergences, runDiff, withNamespaces } from "./_ipdiff.ts";
import { itest } from "./_ns.ts";

const SEEDS = [101, 202];
const COUNT = 160;

for (const seed of SEEDS) {
  itest(`seed ${seed}: ${COUNT} generated ip commands, same outcome (>= 97%) and the same kernel state as ip`, async () => {
    const rep = await withNamespaces(`t${seed}`, (a, b) => runDiff(a, b, commands(seed, COUNT)));
    const div = divergences(rep).map((d) => `${d.count}x ${d.key} (e.g. ${d.example.words.join(" ")})`);
    expect(rep.commands).toBe(COUNT);
    expect(rep.stateMismatches.map((m) => `after ${m.after}: ${m.window.slice(-3).map((w) => w.join(" ")).join(" | ")}\n${m.diff}`)).toEqual([]);
    if (rep.identical < 0.97 * rep.commands) expect(div).toEqual([]);
    expect(rep.identical / rep.commands).toBeGreaterThanOrEqual(0.97);
  }, 600_000);
}
