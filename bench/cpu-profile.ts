/**
 * Reads the CPU profiles Bun writes with `--cpu-prof` (Chrome's .cpuprofile format: a call tree of
 * nodes, the node each sample landed in, and the time between samples) and sums them per
 * function over many runs: self time (the samples in the function itself) and total time (in it
 * or anything it called), in ms per run. bench/cli-startup.ts --profile uses it to say where a
 * command's start-up goes, function by function (issue 11).
 *
 * Sample i lasts until sample i + 1 (`timeDeltas[i + 1]`); the last sample of a profile has no
 * end and counts 0. A function is keyed by its name, its file's base name (the chunk, hash
 * included: a split build has dozens of `main-<hash>.js`) and its line, so that runs of one
 * binary add up; builds differ in their chunks and lines (and, minified, in their names), so keys
 * are only comparable within one build. A recursive function's total counts once per sample.
 *
 * @module
 */

/** A .cpuprofile, the parts this module reads. */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }>;
  samples: number[];
  /** µs since the previous sample (the first: since the profile's start). */
  timeDeltas: number[];
}

/** One function's cost, ms per run. */
export interface FunctionCost {
  key: string;
  self: number;
  total: number;
}

/** What {@link aggregateProfiles} found. */
export interface ProfileSummary {
  runs: number;
  /** Sampled ms per run (all functions' self time). */
  ms: number;
  /** Every function seen, most self time first. */
  functions: FunctionCost[];
}

/**
 * A function's key: `name @file:line` (`(anonymous)` for a nameless one, `[native]` for Bun's
 * and JavaScriptCore's own functions, which have no file).
 *
 * @example
 * ```ts
 * import { frameKey } from "./cpu-profile.ts";
 * frameKey({ functionName: "open", url: "/$bunfs/root/main-dkxsnpgy.js", lineNumber: 41 }); // "open @main-dkxsnpgy.js:41"
 * ```
 */
export function frameKey(f: { functionName: string; url: string; lineNumber: number }): string {
  const name = f.functionName || "(anonymous)";
  if (!f.url) return `${name} [native]`;
  return `${name} @${f.url.slice(f.url.lastIndexOf("/") + 1)}:${f.lineNumber}`;
}

/**
 * Sums `profiles` (one per run) per function: self and total ms per run, most self time first.
 *
 * @example
 * ```ts
 * import { readFileSync } from "node:fs";
 * import { aggregateProfiles } from "./cpu-profile.ts";
 * const s = aggregateProfiles([JSON.parse(readFileSync("CPU.1.cpuprofile", "utf8"))]);
 * console.log(s.ms, s.functions.slice(0, 5));
 * ```
 */
export function aggregateProfiles(profiles: readonly CpuProfile[]): ProfileSummary {
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let ms = 0;
  for (const p of profiles) {
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const keyOf = new Map(p.nodes.map((n) => [n.id, frameKey(n.callFrame)]));
    p.samples.forEach((id, i) => {
      const dt = (p.timeDeltas[i + 1] ?? 0) / 1000;
      if (!byId.has(id) || dt <= 0) return;
      ms += dt;
      const k = keyOf.get(id)!;
      self.set(k, (self.get(k) ?? 0) + dt);
      const seen = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const ck = keyOf.get(cur)!;
        if (seen.has(ck)) continue;
        seen.add(ck);
        total.set(ck, (total.get(ck) ?? 0) + dt);
      }
    });
  }
  const runs = profiles.length || 1;
  const functions = [...total.keys()]
    .map((key) => ({ key, self: (self.get(key) ?? 0) / runs, total: total.get(key)! / runs }))
    .sort((a, b) => b.self - a.self || b.total - a.total || (a.key < b.key ? -1 : 1));
  return { runs: profiles.length, ms: ms / runs, functions };
}
