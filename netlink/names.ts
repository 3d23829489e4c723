/**
 * The system's iproute2 name databases: {@link loadIpNames} reads /etc/iproute2 (falling back
 * to /usr/share/iproute2 for a file /etc lacks, as newer iproute2 does), the `.d/*.conf`
 * directories of rt_tables, rt_protos, rt_scopes and rt_realms, and /etc/protocols — lazily,
 * each database on its first use. The pure name logic lives in route/names.ts.
 *
 * @module
 */
import { sys } from "../ffi/libc.ts";
import { IpNames, type IpNamesOptions, type NameDb, setDefaultIpNames } from "./route/names.ts";

/** Where {@link loadIpNames} looks. */
export interface IpNamesPaths {
  /** Default "/etc/iproute2". */
  etc?: string;
  /** Default "/usr/share/iproute2" (used per file when `etc` lacks it). */
  usr?: string;
  /** Default "/etc/protocols". */
  protocols?: string;
}

// Through libc (ffi/libc.ts), not node:fs: a listing that prints a protocol or a scope name
// would otherwise load node:fs for a few hundred bytes (issue 11's start-up). Measured again in
// session 13 (JSC heap blocks, 4 runs each, load 6-8): node:fs here (statSync with
// throwIfNoEntry: false, then readFileSync / readdirSync, through common/builtins.ts) made
// `route list` of 100 routes 97 -> 105 blocks and `route list -6` 101 -> 107; kept libc.
/** Made on the first file read, not at load: a process's first TextDecoder costs 0.2-0.5 ms (issue 11). */
let utf8: TextDecoder | undefined;

// A file or directory that is not there is no exception (readFileIfAny, readDirIfAny): most
// machines lack the `*.d` directories, some /etc/iproute2 or /usr/share/iproute2, and a
// process's first Error costs about 0.5 ms of a listing's start-up (issue 11).
function read(path: string): string | undefined {
  try {
    const b = sys.readFileIfAny(path);
    return b === undefined ? undefined : (utf8 ??= new TextDecoder()).decode(b);
  } catch {
    return undefined;
  }
}

/** The `*.conf` files of `dir` (not hidden), sorted; [] when there is no such directory. */
function confFiles(dir: string): string[] {
  let names: string[] | undefined;
  try {
    names = sys.readDirIfAny(dir);
  } catch {
    return [];
  }
  // Loops, not filter/sort: most machines have no such directory or an empty one, and each
  // builtin's first call compiles it (a listing's start-up, issue 11).
  const out: string[] = [];
  if (names) for (const f of names) if (!f.startsWith(".") && f.length > 5 && f.endsWith(".conf")) out.push(f);
  if (out.length > 1) out.sort();
  return out;
}

/**
 * `dir`/`name` (no node:path: the result is only opened); `dir`'s trailing slashes dropped by a
 * loop, not a RegExp (a process's first RegExp costs ~0.5 ms of a listing's start-up, issue 11).
 */
function join(dir: string, ...names: string[]): string {
  let end = dir.length;
  while (end > 0 && dir.charCodeAt(end - 1) === 0x2f) end--;
  let out = end === dir.length ? dir : dir.slice(0, end);
  for (let i = 0; i < names.length; i++) out += "/" + names[i];
  return out;
}

const WITH_DIR: ReadonlySet<NameDb> = new Set(["rt_tables", "rt_protos", "rt_scopes", "rt_realms"]);

/**
 * Names from this machine's files, read on first use of each database.
 *
 * @example
 * ```ts
 * import { loadIpNames } from "./names.ts";
 * const names = loadIpNames();
 * names.tableName(254);       // "main"
 * names.ipProtoName(6);       // "tcp" where /etc/protocols exists
 * loadIpNames({ etc: "/tmp/no-such-dir" }).tableName(100); // "100"
 * ```
 */
export function loadIpNames(paths: IpNamesPaths = {}, opts: IpNamesOptions = {}): IpNames {
  const etc = paths.etc ?? "/etc/iproute2";
  const usr = paths.usr ?? "/usr/share/iproute2";
  return new IpNames((db) => {
    if (db === "protocols") {
      const t = read(paths.protocols ?? "/etc/protocols");
      return t === undefined ? [] : [t];
    }
    const texts: string[] = [];
    const main = read(join(etc, db)) ?? read(join(usr, db));
    if (main !== undefined) texts.push(main);
    if (WITH_DIR.has(db)) {
      // usr's X.conf unless etc has an X.conf of its own, then etc's; sorted for a stable order.
      const fromEtc = confFiles(join(etc, `${db}.d`));
      for (const f of confFiles(join(usr, `${db}.d`))) if (!fromEtc.includes(f)) texts.push(read(join(usr, `${db}.d`, f)) ?? "");
      for (const f of fromEtc) texts.push(read(join(etc, `${db}.d`, f)) ?? "");
    }
    return texts;
  }, opts);
}

/**
 * Makes this machine's names the process-wide default (route/names.ts's free functions and the
 * views): nothing is read until a name is needed. `Rtnl.open()` calls it unless a default was
 * chosen before (see setDefaultIpNames).
 *
 * @example
 * ```ts
 * import { useSystemIpNames } from "./names.ts";
 * import { parseTable } from "./route/names.ts";
 * useSystemIpNames();
 * parseTable("main"); // 254, or whatever /etc/iproute2/rt_tables says
 * ```
 */
export function useSystemIpNames(opts: IpNamesOptions = {}): void {
  setDefaultIpNames(() => loadIpNames({}, opts));
}
