/**
 * tunkit's version and build identity. The version comes from package.json (inlined by the
 * bundler); a release build (scripts/build.ts) also bakes in the commit, the build date, the
 * Bun version that compiled (and runs) the binary and the target, through `bun build --define`.
 * Run from source, those read "source" and the runtime is the one running now.
 *
 * Kept tiny and free of imports beyond package.json: `--version` answers before anything else
 * loads (cli/main.ts).
 *
 * @example
 * ```ts
 * import { VERSION, buildInfo, versionLine } from "./version.ts";
 * VERSION; // "0.1.0"
 * buildInfo().version; // "0.1.0"
 * versionLine().startsWith("tunkit 0.1.0 ("); // true
 * ```
 * @module
 */
import pkg from "../package.json" with { type: "json" };

// Replaced by `bun build --define` in scripts/build.ts; absent when run from source.
declare const TUNKIT_VERSION: string;

/**
 * tunkit's version. In the binary the bundler inlines the build's string and drops the manifest
 * (a default JSON import otherwise builds the whole package.json as an object at every start);
 * from source (Bun or Deno, which has no named JSON imports) it is read from package.json.
 */
export const VERSION: string = typeof TUNKIT_VERSION === "string" ? TUNKIT_VERSION : pkg.version;

declare const TUNKIT_COMMIT: string;
declare const TUNKIT_BUILD_DATE: string;
declare const TUNKIT_BUN_VERSION: string;
declare const TUNKIT_TARGET: string;

/** What `tunkit version --json` prints. */
export interface BuildInfo {
  version: string;
  /** Git commit the binary was built from (12 hex digits, `-dirty` with uncommitted changes), or "source". */
  commit: string;
  /** Build time, ISO 8601 UTC (SOURCE_DATE_EPOCH when set), or "source". */
  date: string;
  /** The runtime: `bun 1.4.5` (baked at build time), or the one running a source checkout. */
  runtime: string;
  /** bun's compile target (`bun-linux-x64`, `bun-linux-arm64-musl`…), or "source". */
  target: string;
}

/**
 * The build identity of this tunkit.
 *
 * @example
 * ```ts
 * import { buildInfo } from "./version.ts";
 * Object.keys(buildInfo()); // ["version", "commit", "date", "runtime", "target"]
 * ```
 */
export function buildInfo(): BuildInfo {
  const g = globalThis as { Deno?: { version: { deno: string } }; process?: { versions?: { bun?: string } } };
  const runtime = g.Deno ? `deno ${g.Deno.version.deno}` : `bun ${g.process?.versions?.bun ?? "unknown"}`;
  return {
    version: VERSION,
    commit: typeof TUNKIT_COMMIT === "string" ? TUNKIT_COMMIT : "source",
    date: typeof TUNKIT_BUILD_DATE === "string" ? TUNKIT_BUILD_DATE : "source",
    runtime: typeof TUNKIT_BUN_VERSION === "string" ? `bun ${TUNKIT_BUN_VERSION}` : runtime,
    target: typeof TUNKIT_TARGET === "string" ? TUNKIT_TARGET : "source",
  };
}

/**
 * `tunkit --version`: one line, `tunkit VERSION (commit C, built DATE, RUNTIME)`.
 *
 * @example
 * ```ts
 * import { versionLine } from "./version.ts";
 * versionLine().startsWith("tunkit 0.1.0"); // true
 * ```
 */
export function versionLine(b: BuildInfo = buildInfo()): string {
  return b.commit === "source"
    ? `tunkit ${b.version} (source, ${b.runtime})`
    : `tunkit ${b.version} (commit ${b.commit}, built ${b.date}, ${b.runtime}, ${b.target})`;
}

/**
 * `tunkit version`: the long form (`json`: one JSON object).
 *
 * @example
 * ```ts
 * import { versionText } from "./version.ts";
 * versionText({ version: "0.1.0", commit: "0123456789ab", date: "2026-11-29T11:00:00Z", runtime: "bun 1.4.5", target: "bun-linux-x64" }, false);
 * // "tunkit 0.1.0\ncommit:  0123456789ab\nbuilt:   2026-11-29T11:00:00Z\nruntime: bun 1.4.5\ntarget:  bun-linux-x64\nlicense: MIT\n"
 * ```
 */
export function versionText(b: BuildInfo, json: boolean): string {
  if (json) return `${JSON.stringify(b)}\n`;
  return `tunkit ${b.version}\ncommit:  ${b.commit}\nbuilt:   ${b.date}\nruntime: ${b.runtime}\ntarget:  ${b.target}\nlicense: MIT\n`;
}
