/**
 * Node built-in modules loaded on their first use instead of at import. Loading `node:fs` costs
 * a compiled CLI's cold start several milliseconds, more than all of tunkit's netlink modules
 * together (measured with bench/cli-startup.ts), and `--version` or a `route add` never touch a
 * file. Bun and Deno both provide `process.getBuiltinModule`.
 *
 * @module
 */

type Fs = typeof import("node:fs");
type Path = typeof import("node:path");
interface BuiltinLoader {
  getBuiltinModule(id: string): unknown;
}

let fs: Fs | undefined;
let path: Path | undefined;

function loader(): BuiltinLoader {
  return (globalThis as unknown as { process: BuiltinLoader }).process;
}

/**
 * `node:fs`, loaded on the first call.
 *
 * @example
 * ```ts
 * import { nodeFs } from "./builtins.ts";
 * nodeFs().existsSync("/proc/self"); // true
 * ```
 */
export function nodeFs(): Fs {
  return (fs ??= loader().getBuiltinModule("node:fs") as Fs);
}

/**
 * `node:path`, loaded on the first call.
 *
 * @example
 * ```ts
 * import { nodePath } from "./builtins.ts";
 * nodePath().join("/etc/iproute2", "rt_tables"); // "/etc/iproute2/rt_tables"
 * ```
 */
export function nodePath(): Path {
  return (path ??= loader().getBuiltinModule("node:path") as Path);
}
