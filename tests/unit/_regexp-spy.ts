// Test helper (issue 11): runs a function with RegExp.prototype's entry points replaced by
// counters and returns the RegExps it used. A process's first RegExp costs ~0.5 ms of a
// command's start-up and each new one compiles, so the start-up paths use none: the tests call
// those paths' functions under this spy and expect an empty list.
const P = RegExp.prototype as unknown as Record<string | symbol, unknown>;
const NAMES: Array<string | symbol> = ["exec", "test", Symbol.replace, Symbol.split, Symbol.match, Symbol.matchAll, Symbol.search];

/** The sources of the RegExps `fn` ran (one entry per call), `fn`'s own result beside them. */
export function regExpsUsedBy<T>(fn: () => T): { used: string[]; result: T } {
  const used: string[] = [];
  const saved = NAMES.map((n) => P[n]);
  NAMES.forEach((n, i) => {
    const orig = saved[i] as (...a: unknown[]) => unknown;
    P[n] = function (this: RegExp, ...a: unknown[]) {
      used.push(`${String(n)} /${this.source}/`);
      return orig.apply(this, a);
    };
  });
  try {
    return { used, result: fn() };
  } finally {
    NAMES.forEach((n, i) => (P[n] = saved[i]));
  }
}
