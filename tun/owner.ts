/**
 * Who may attach to a persistent tun/tap device: resolving user and group names from
 * /etc/passwd and /etc/group (no NSS, no libc), numeric ids, and the invoking user behind sudo.
 *
 * A persistent device with neither owner nor group can be attached by ANY local user; tools
 * that create one should default the owner to the invoking user ({@link invokingUid}).
 *
 * @module
 */
import { sys } from "../ffi/libc.ts";
import { UsageError } from "../common/errors.ts";

const ID_MAX = 0xfffffffe;

function readDb(path: string): string {
  try {
    return new TextDecoder().decode(sys.readFile(path)); // libc, not node:fs: `tunkit list`'s start-up
  } catch {
    return "";
  }
}

/** Parses passwd/group text into name -> id and id -> name maps (first entry wins). */
function parseDb(text: string): { byName: Map<string, number>; byId: Map<number, string> } {
  const byName = new Map<string, number>();
  const byId = new Map<number, string>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const f = line.split(":");
    const name = f[0];
    const id = Number(f[2]);
    if (!name || !/^\d+$/.test(f[2] ?? "") || !Number.isSafeInteger(id)) continue;
    if (!byName.has(name)) byName.set(name, id);
    if (!byId.has(id)) byId.set(id, name);
  }
  return { byName, byId };
}

function resolve(s: string, what: "user" | "group", text: string): number {
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n > ID_MAX) throw new UsageError(`Invalid ${what} "${s}": expected a name or an id 0..${ID_MAX}`);
    return n;
  }
  if (!s || /[:\s\0]/.test(s)) throw new UsageError(`Invalid ${what} "${s}": expected a name or a numeric id`);
  const id = parseDb(text).byName.get(s);
  if (id === undefined) {
    throw new UsageError(`Unknown ${what} "${s}": not in ${what === "user" ? "/etc/passwd" : "/etc/group"} (give a numeric id instead)`);
  }
  return id;
}

/**
 * Resolves a user name or numeric uid. `passwd` is the file's text (read from /etc/passwd
 * when omitted).
 *
 * @example
 * ```ts
 * import { resolveUser } from "./owner.ts";
 * resolveUser("root"); // 0
 * resolveUser("1000"); // 1000
 * ```
 */
export function resolveUser(s: string, passwd?: string): number {
  return resolve(s, "user", passwd ?? (/^\d+$/.test(s) ? "" : readDb("/etc/passwd")));
}

/**
 * Resolves a group name or numeric gid. `group` is the file's text (read from /etc/group
 * when omitted).
 *
 * @example
 * ```ts
 * import { resolveGroup } from "./owner.ts";
 * resolveGroup("root"); // 0
 * ```
 */
export function resolveGroup(s: string, group?: string): number {
  return resolve(s, "group", group ?? (/^\d+$/.test(s) ? "" : readDb("/etc/group")));
}

/**
 * Name of a uid from /etc/passwd, or undefined.
 *
 * @example
 * ```ts
 * import { userName } from "./owner.ts";
 * userName(0); // "root"
 * ```
 */
export function userName(uid: number, passwd?: string): string | undefined {
  return parseDb(passwd ?? readDb("/etc/passwd")).byId.get(uid);
}

/**
 * Name of a gid from /etc/group, or undefined.
 *
 * @example
 * ```ts
 * import { groupName } from "./owner.ts";
 * groupName(0); // "root"
 * ```
 */
export function groupName(gid: number, group?: string): string | undefined {
  return parseDb(group ?? readDb("/etc/group")).byId.get(gid);
}

/**
 * The uid of the person who ran the command: SUDO_UID when run through sudo by root, else the
 * process's real uid (undefined when the runtime cannot tell).
 *
 * @example
 * ```ts
 * import { invokingUid } from "./owner.ts";
 * invokingUid({ SUDO_UID: "1000" }, 0); // 1000
 * ```
 */
export function invokingUid(env: Record<string, string | undefined> = readEnv(), uid: number | undefined = readUid()): number | undefined {
  const sudo = env.SUDO_UID;
  if (uid === 0 && sudo && /^\d+$/.test(sudo) && Number(sudo) <= ID_MAX) return Number(sudo);
  return uid;
}

function readEnv(): Record<string, string | undefined> {
  return typeof process !== "undefined" ? process.env : {};
}

function readUid(): number | undefined {
  try {
    return typeof process !== "undefined" && typeof process.getuid === "function" ? process.getuid() : undefined;
  } catch {
    return undefined;
  }
}
