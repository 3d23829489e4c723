/**
 * tunkit's version, from package.json (inlined by the bundler at build time).
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * VERSION; // "0.1.0"
 * ```
 * @module
 */
import pkg from "../package.json" with { type: "json" };

/** tunkit's version. */
export const VERSION: string = pkg.version;
