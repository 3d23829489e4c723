// bench/cpu-profile.ts: the per-function sums behind bench/cli-startup.ts --profile, on hand-made
// .cpuprofile trees whose answers are worked out by hand.
import { expect, test } from "bun:test";
import { aggregateProfiles, frameKey, type CpuProfile } from "../../bench/cpu-profile.ts";

const frame = (functionName: string, url = "", lineNumber = 0) => ({ functionName, url, lineNumber, columnNumber: 0 });

// (root) 1 ─ main 2 ─ open 3 ─ dlopen 4 (native)
//                  └─ parse 5 ─ parse 6 (recursion)
function profile(samples: number[], deltas: number[]): CpuProfile {
  return {
    nodes: [
      { id: 1, callFrame: frame("(root)"), children: [2] },
      { id: 2, callFrame: frame("main", "/$bunfs/root/tunkit", 18), children: [3, 5] },
      { id: 3, callFrame: frame("open", "/$bunfs/root/main-dkxsnpgy.js", 41), children: [4] },
      { id: 4, callFrame: frame("dlopen") },
      { id: 5, callFrame: frame("", "/$bunfs/root/oneshot.bundle-d4s1r7h5.js", 7), children: [6] },
      { id: 6, callFrame: frame("", "/$bunfs/root/oneshot.bundle-d4s1r7h5.js", 7) },
    ],
    samples,
    timeDeltas: deltas,
  };
}

test("frameKey: name, chunk and line; (anonymous) and [native] for what has no name or file", () => {
  expect(frameKey(frame("open", "/$bunfs/root/main-dkxsnpgy.js", 41))).toBe("open @main-dkxsnpgy.js:41");
  expect(frameKey(frame("", "/$bunfs/root/oneshot.bundle-d4s1r7h5.js", 7))).toBe("(anonymous) @oneshot.bundle-d4s1r7h5.js:7");
  expect(frameKey(frame("test"))).toBe("test [native]");
});

test("aggregateProfiles: a sample lasts until the next one; self and total per function, per run, most self first", () => {
  // Run 1: samples in dlopen (lasts 100 µs), main (300), the inner parse (500), open (last: no end, 0).
  const a = profile([4, 2, 6, 3], [10, 100, 300, 500]);
  // Run 2: dlopen 700, then root (1000) and dlopen again (last).
  const b = profile([4, 1, 4], [0, 700, 1000]);
  const s = aggregateProfiles([a, b]);
  expect(s.runs).toBe(2);
  expect(s.ms).toBeCloseTo((100 + 300 + 500 + 700 + 1000) / 1000 / 2, 9);
  const by = Object.fromEntries(s.functions.map((f) => [f.key, f]));
  expect(by["dlopen [native]"]!.self).toBeCloseTo(0.4, 9);
  expect(by["dlopen [native]"]!.total).toBeCloseTo(0.4, 9);
  // The recursive parse: 500 µs once in its self and total, not twice in its total.
  expect(by["(anonymous) @oneshot.bundle-d4s1r7h5.js:7"]!.self).toBeCloseTo(0.25, 9);
  expect(by["(anonymous) @oneshot.bundle-d4s1r7h5.js:7"]!.total).toBeCloseTo(0.25, 9);
  expect(by["main @tunkit:18"]!.self).toBeCloseTo(0.15, 9);
  expect(by["main @tunkit:18"]!.total).toBeCloseTo((100 + 300 + 500 + 700) / 1000 / 2, 9);
  expect(by["(root) [native]"]!.total).toBeCloseTo(s.ms, 9);
  // open's own sample was the last of its run (no end: no time); its time is dlopen's, below it.
  expect(by["open @main-dkxsnpgy.js:41"]!.self).toBe(0);
  expect(by["open @main-dkxsnpgy.js:41"]!.total).toBeCloseTo(0.4, 9);
  expect(s.functions.map((f) => f.key).slice(0, 3)).toEqual(["(root) [native]", "dlopen [native]", "(anonymous) @oneshot.bundle-d4s1r7h5.js:7"]);
});

test("aggregateProfiles: no profiles, no time; a sample of an unknown node is skipped", () => {
  expect(aggregateProfiles([])).toEqual({ runs: 0, ms: 0, functions: [] });
  const s = aggregateProfiles([profile([99, 4, 4], [0, 200, 300])]);
  expect(s.ms).toBeCloseTo(0.3, 9);
  expect(s.functions[0]).toEqual({ key: "dlopen [native]", self: 0.3, total: 0.3 });
});
