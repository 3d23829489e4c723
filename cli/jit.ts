/**
 * Keeps a batch's per-line functions out of JavaScriptCore's top tier (FTL). A 20,000-line
 * `tunkit batch` runs its line path ~20,000 times: enough for the FTL to compile ~40 of its
 * functions (~215 ms of JIT-thread CPU, measured with BUN_JSC_reportFTLCompileTimes) in a
 * process whose whole CPU is ~550 ms, too few lines to earn it back; on a busy machine the
 * JIT threads take the main thread's core and the batch's wall time follows. The DFG tier
 * keeps them fast enough: the 20k batch took 490 ms of CPU instead of 704 (wall median 505 ms
 * instead of 718; 6 interleaved rounds at load 5-8), what BUN_JSC_useFTLJIT=0 gives; FTL
 * compiles left: ~70 ms, ipaddr.js's internals (not reachable from outside it). Only for a
 * small input (cli/batch.ts decides): at 1M lines the FTL saves ~20% of the user CPU.
 *
 * Re-checked with session 10's faster parser (p11: no ipaddr.js for a dotted quad, hashed word
 * lookups): the 20k batch, this build against the same build with keepLinesOutOfFtl a no-op
 * (bench/cli-batch.ts --only 20k --rounds 7 --base THAT), took 584 ms of CPU instead of 780
 * (wall median 4.8 s instead of 6.4 s; load 17-19 with the team's test suites running, ip took
 * 11.8 s): the FTL's compiles still do not pay back at 20,000 lines.
 *
 * Bun's `bun:jsc` `noFTL(fn)` is per function, so this walks what it is given: functions,
 * their prototypes' methods and accessors, and the functions held by objects and arrays
 * (module namespaces, keyword tables), a few levels deep. Nothing outside Bun.
 *
 * @module
 */

type NoFtl = (fn: (...args: never[]) => unknown) => void;

let noFtl: NoFtl | null | undefined;
const marked = new WeakSet<object>();

/** bun:jsc's noFTL, or null outside Bun. */
async function loadNoFtl(): Promise<NoFtl | null> {
  if (noFtl !== undefined) return noFtl;
  if (typeof (globalThis as { Bun?: unknown }).Bun === "undefined") return (noFtl = null);
  try {
    noFtl = ((await import("bun:jsc")) as { noFTL?: NoFtl }).noFTL ?? null;
  } catch {
    noFtl = null;
  }
  return noFtl;
}

function walk(f: NoFtl, v: unknown, depth: number): number {
  if (v === null || (typeof v !== "object" && typeof v !== "function")) return 0;
  const o = v as object;
  if (marked.has(o)) return 0;
  marked.add(o);
  let n = 0;
  if (typeof v === "function") {
    f(v as never);
    n++;
    const proto = (v as { prototype?: unknown }).prototype;
    if (proto && typeof proto === "object" && proto !== Object.prototype) {
      for (const key of Object.getOwnPropertyNames(proto)) {
        if (key === "constructor") continue;
        const d = Object.getOwnPropertyDescriptor(proto, key)!;
        for (const g of [d.value, d.get, d.set]) if (typeof g === "function" && !marked.has(g)) (marked.add(g), f(g), n++);
      }
    }
    // A class's static functions (ipaddr.js's IPv4.parser).
    if (depth > 0) {
      for (const key of Object.getOwnPropertyNames(v)) {
        if (key === "prototype" || key === "length" || key === "name" || key === "caller" || key === "arguments") continue;
        const d = Object.getOwnPropertyDescriptor(v, key)!;
        if ("value" in d) n += walk(f, d.value, depth - 1);
      }
    }
    return n;
  }
  if (depth <= 0 || ArrayBuffer.isView(v)) return n;
  const values = Array.isArray(v) ? v : Object.values(v);
  if (values.length > 256) return n;
  for (const x of values) n += walk(f, x, depth - 1);
  return n;
}

/**
 * Marks every function reachable from `roots` (see the module comment) to stay out of the FTL;
 * returns how many were marked (0 outside Bun).
 *
 * @example
 * ```ts
 * import { keepOutOfFtl } from "./jit.ts";
 * await keepOutOfFtl([{ f: () => 1 }]); // 1 (0 outside Bun)
 * ```
 */
export async function keepOutOfFtl(roots: readonly unknown[]): Promise<number> {
  await loadNoFtl();
  return keepOutOfFtlNow(roots);
}

/**
 * {@link keepOutOfFtl} without waiting: marks nothing until a call of that has loaded bun:jsc.
 *
 * @example
 * ```ts
 * import { keepOutOfFtlNow } from "./jit.ts";
 * keepOutOfFtlNow([class Line {}]); // marks the class once a keepOutOfFtl call has loaded bun:jsc
 * ```
 */
export function keepOutOfFtlNow(roots: readonly unknown[]): number {
  const f = noFtl;
  if (!f) return 0;
  let n = 0;
  for (const r of roots) n += walk(f, r, 4);
  return n;
}
