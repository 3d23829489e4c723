/**
 * The decision rule of bench/capture.ts's flood rows: is tunkit's paired ratio (the generator's
 * rate beside tunkit over its rate beside tcpdump, in the same rotation) at least 1.0 beyond the
 * bench's own noise?
 *
 * The rule, distribution-free (the pairs' spread on a shared, unpinned machine is neither normal
 * nor symmetric: the scheduler puts the tun's reader beside the generator or away from it for a
 * whole run, and the rate jumps between levels):
 * - the confidence interval of the median of the pairs comes from their order statistics (the
 *   sign test's interval: [x(k), x(n+1-k)] with P(Binomial(n, 1/2) < k) <= (1 - level) / 2);
 * - the A/A pairs (tcpdump against a second tcpdump) get the same interval: when it does not
 *   hold 1.0 the bench itself is off centre in that run (order, drift), and no verdict is given;
 * - otherwise ">= 1.0x" when tunkit's interval lies at or above 1.0, "below 1.0x" when it lies
 *   under 1.0, and "parity" (cannot tell) when it holds 1.0.
 *
 * @module
 */

/** The median of a sample with its distribution-free confidence interval. */
export interface MedianCi {
  /** Number of values. */
  n: number;
  median: number;
  /** Lower end of the interval (an order statistic). */
  lo: number;
  /** Upper end of the interval. */
  hi: number;
  /** The interval's exact coverage (>= the level asked for, or the most n allows). */
  level: number;
}

/** P(Binomial(n, 1/2) <= k). */
function binomCdfHalf(n: number, k: number): number {
  let c = 1; // C(n, 0)
  let sum = 0;
  for (let i = 0; i <= k; i++) {
    sum += c;
    c = (c * (n - i)) / (i + 1);
  }
  return sum / 2 ** n;
}

/**
 * The median of `xs` and the sign test's confidence interval for it at `level` (default 0.9):
 * the innermost order statistics [x(k), x(n+1-k)] whose coverage is at least `level`; with too few
 * values for that level, [min, max] and the coverage it has.
 *
 * @example
 * ```ts
 * import { medianCi } from "./capture-decide.ts";
 * medianCi([0.9, 1.1, 1.2, 1.05, 1.3, 1.15, 1.0, 1.25, 1.1]); // { n: 9, median: 1.1, lo: 1, hi: 1.25, level: 0.96... }
 * ```
 */
export function medianCi(xs: readonly number[], level = 0.9): MedianCi {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  if (n === 0) return { n: 0, median: NaN, lo: NaN, hi: NaN, level: 0 };
  const median = n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
  // the largest k (1-based) whose two tails together stay within 1 - level
  let k = 1;
  while (k + 1 <= Math.floor((n + 1) / 2) && 2 * binomCdfHalf(n, k) <= 1 - level) k++;
  const cover = 1 - 2 * binomCdfHalf(n, k - 1);
  return { n, median, lo: s[k - 1]!, hi: s[n - k]!, level: cover };
}

/** What {@link decide} says. */
export interface Decision {
  verdict: ">= 1.0x" | "parity" | "below 1.0x" | "no verdict";
  /** tunkit's pairs. */
  t: MedianCi;
  /** The A/A pairs (absent in an A/B run). */
  aa?: MedianCi;
  /** One line: the verdict, the intervals, the rule. */
  text: string;
}

const f2 = (x: number) => x.toFixed(2);
const ci = (m: MedianCi) => `median ${f2(m.median)}, ${Math.round(m.level * 100)}% interval ${f2(m.lo)}..${f2(m.hi)} of ${m.n} pairs`;

/**
 * The verdict for tunkit's paired ratios `t` (higher is better for tunkit), beside the A/A
 * pairs `aa` of the same run (omit them in an A/B run): see the module comment. `who` names
 * the pairs in the text (an A/B run's baseline binary).
 *
 * @example
 * ```ts
 * import { decide } from "./capture-decide.ts";
 * decide([1.1, 1.2, 1.15, 1.3, 1.05, 1.12, 1.2], [0.9, 1.1, 1.0, 0.95, 1.05, 1.1, 0.92]).verdict; // ">= 1.0x"
 * ```
 */
export function decide(t: readonly number[], aa?: readonly number[], level = 0.9, who = "tunkit"): Decision {
  const tc = medianCi(t, level);
  const ac = aa && aa.length ? medianCi(aa, level) : undefined;
  const rule = `rule: >= 1.0x when the sign-test interval of tunkit's pair median lies at or above 1.0; below when under 1.0; parity (cannot tell) when it holds 1.0; no verdict when the A/A interval misses 1.0`;
  let verdict: Decision["verdict"];
  if (tc.n === 0) verdict = "no verdict";
  else if (ac && (ac.lo > 1 || ac.hi < 1)) verdict = "no verdict";
  else if (tc.lo >= 1) verdict = ">= 1.0x";
  else if (tc.hi < 1) verdict = "below 1.0x";
  else verdict = "parity";
  const why = verdict === "no verdict" && ac && (ac.lo > 1 || ac.hi < 1) ? " (the bench is off centre: its A/A interval misses 1.0)" : "";
  const text = `decision: ${verdict}${why}; ${who} ${ci(tc)}${ac ? `; A/A ${ci(ac)}` : ""}; ${rule}`;
  return { verdict, t: tc, ...(ac ? { aa: ac } : {}), text };
}
