// bench/capture-decide.ts: the flood rows' decision rule (sign-test interval of the pair median
// against 1.0, the A/A pairs as the bench's calibration).
import { expect, test } from "bun:test";
import { decide, medianCi } from "../../bench/capture-decide.ts";

test("medianCi: the sign test's order statistics and their exact coverage", () => {
  // n = 9: [x(2), x(8)], coverage 1 - 2 * 10/512
  const c = medianCi([9, 1, 8, 2, 7, 3, 6, 4, 5]);
  expect([c.n, c.median, c.lo, c.hi]).toEqual([9, 5, 2, 8]);
  expect(c.level).toBeCloseTo(1 - 20 / 512, 10);
  // n = 20 at 90%: [x(6), x(15)] (P(B <= 5) = 0.0207, P(B <= 6) = 0.0577)
  const d = medianCi(Array.from({ length: 20 }, (_, i) => i + 1));
  expect([d.lo, d.hi, d.median]).toEqual([6, 15, 10.5]);
  // too few values for 90%: min..max with the coverage they have
  const e = medianCi([1, 2, 3]);
  expect([e.lo, e.hi, e.level]).toEqual([1, 3, 0.75]);
});

test("decide: >= 1.0x only when the interval clears 1.0; parity when it holds 1.0; below; no verdict when the A/A is off centre", () => {
  const aa = [0.9, 1.1, 1.0, 0.95, 1.05, 1.1, 0.92, 1.02, 0.98];
  expect(decide([1.1, 1.2, 1.15, 1.3, 1.05, 1.12, 1.2, 1.08, 1.01], aa).verdict).toBe(">= 1.0x");
  // a median above 1.0 is not enough when the interval reaches below it
  expect(decide([1.1, 1.2, 0.7, 1.3, 0.8, 1.12, 1.2, 0.9, 1.01], aa).verdict).toBe("parity");
  expect(decide([0.8, 0.85, 0.9, 0.7, 0.95, 0.88, 0.92, 0.8, 0.9], aa).verdict).toBe("below 1.0x");
  const off = decide([1.1, 1.2, 1.15, 1.3, 1.05, 1.12, 1.2, 1.08, 1.01], [1.2, 1.3, 1.25, 1.4, 1.1, 1.3, 1.2, 1.15, 1.22]);
  expect(off.verdict).toBe("no verdict");
  expect(off.text).toMatch(/off centre/);
  expect(decide([1.1, 1.2, 1.15, 1.3, 1.05, 1.12, 1.2, 1.08, 1.01]).text).toMatch(/^decision: >= 1\.0x; tunkit median 1\.12, 96% interval 1\.05\.\.1\.20 of 9 pairs; rule: /);
});
