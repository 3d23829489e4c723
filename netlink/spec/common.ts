/**
 * Small helpers every spec module shares: a device by name or index, numbers or names, range
 * checks that raise one clear {@link UsageError}.
 *
 * @module
 */
import { UsageError } from "../../common/errors.ts";

/** A device by name or index. */
export type Dev = string | number;

/**
 * A number given as a number, or a name/number text parsed by `parse`; undefined stays undefined.
 *
 * @example
 * ```ts
 * import { num } from "./common.ts";
 * num("7", Number); // 7
 * num(undefined, Number); // undefined
 * ```
 */
export function num(v: number | string | undefined, parse: (s: string) => number): number | undefined {
  if (v === undefined) return undefined;
  return typeof v === "number" ? v : parse(v);
}

/**
 * Throws a UsageError unless `v` is undefined or an integer in `min..max`.
 *
 * @example
 * ```ts
 * import { checkU32 } from "./common.ts";
 * checkU32(10, "metric");            // fine
 * // checkU32(-1, "metric") throws 'Invalid metric "-1": expected 0..4294967295'
 * ```
 */
export function checkU32(v: number | undefined, what: string, min = 0, max = 0xffffffff): void {
  if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) {
    throw new UsageError(`Invalid ${what} "${v}": expected ${min}..${max}`);
  }
}
