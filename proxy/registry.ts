/**
 * Who owns which tunkit rules: a running tunnel records itself (pid, process start time,
 * network namespace, device and the keys of its rules) in a small JSON file under
 * `/run/tunkit` (or `$TUNKIT_RUN_DIR`, or systemd's `$RUNTIME_DIRECTORY`), removed again on
 * exit. `tunkit cleanup` reads these records and leaves the rules and routes of a live owner
 * alone; the record of a dead owner (killed, crashed) is stale and removed with its leftovers.
 *
 * A pid alone could be reused after a crash: the record also holds the process's start time
 * (field 22 of /proc/PID/stat), so a recycled pid never makes a stale record look live. Records
 * of other network namespaces (/run is shared by all of them) are ignored.
 *
 * @module
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Rule } from "../netlink/route/rule.ts";

/** What a running tunnel writes about itself. */
export interface TunnelRecord {
  /** Record format version. */
  version: 1;
  /** Process id of the tunnel. */
  pid: number;
  /** Start time of the process (clock ticks since boot, /proc/PID/stat field 22). */
  start: number;
  /** Inode of the network namespace the tunnel runs in. */
  netns: number;
  /** "socks" or "http". */
  kind: string;
  /** The tun device and its index (every tunkit route through it belongs to this tunnel). */
  name: string;
  /** Interface index of the tun device. */
  ifindex: number;
  /** {@link ruleKey} of every rule the tunnel installed. */
  rules: string[];
}

/**
 * The directory of the records: $TUNKIT_RUN_DIR, else /run/tunkit.
 *
 * @example
 * ```ts
 * import { registryDir } from "./registry.ts";
 * registryDir({}); // "/run/tunkit"
 * registryDir({ TUNKIT_RUN_DIR: "/tmp/tk" }); // "/tmp/tk"
 * ```
 */
export function registryDir(env: Record<string, string | undefined> = process.env): string {
  return env.TUNKIT_RUN_DIR || "/run/tunkit";
}

/**
 * Where a tunnel writes its own record (and the daemon its other run-time files): $TUNKIT_RUN_DIR,
 * else systemd's RuntimeDirectory when set, else /run/tunkit.
 *
 * @example
 * ```ts
 * import { ownDir } from "./registry.ts";
 * ownDir({ RUNTIME_DIRECTORY: "/run/tunkit-socks" }); // "/run/tunkit-socks"
 * ```
 */
export function ownDir(env: Record<string, string | undefined> = process.env): string {
  const rt = env.RUNTIME_DIRECTORY?.split(":")[0];
  return env.TUNKIT_RUN_DIR || rt || "/run/tunkit";
}

/**
 * The start time of process `pid` (clock ticks since boot), or undefined when it does not exist.
 *
 * @example
 * ```ts
 * import { processStart } from "./registry.ts";
 * processStart(process.pid); // e.g. 123456
 * ```
 */
export function processStart(pid: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "latin1");
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: fields after it start past the last ")".
  const rest = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const v = Number(rest[19]); // field 22 = index 19 after "state" (field 3)
  return Number.isFinite(v) ? v : undefined;
}

/**
 * The inode of the calling thread's network namespace.
 *
 * @example
 * ```ts
 * import { netnsInode } from "./registry.ts";
 * netnsInode(); // e.g. 4026531840
 * ```
 */
export function netnsInode(): number {
  try {
    return statSync("/proc/thread-self/ns/net").ino;
  } catch {
    return statSync("/proc/self/ns/net").ino;
  }
}

const num = (v: number | undefined, dflt = 0) => (v === undefined ? dflt : v);

/**
 * A canonical text for a rule, equal for the object tunkit sent (`ruleFromSpec`) and the one
 * the kernel lists back (`decodeRule`): the selectors, action, table and priority.
 *
 * @example
 * ```ts
 * import { ruleKey } from "./registry.ts";
 * ruleKey({ family: 2, priority: 8484, table: 254, action: 1, dst: "192.0.2.2", dstLen: 32 });
 * // "2|8484|1|254|0|192.0.2.2/32|/0|..."
 * ```
 */
export function ruleKey(r: Readonly<Partial<Rule>>): string {
  const sup = r.suppressPrefixlen === undefined || r.suppressPrefixlen === 0xffffffff ? "" : String(r.suppressPrefixlen);
  const range = (x: { start: number; end: number } | undefined) => (x ? `${x.start}-${x.end}` : "");
  const mark = r.fwmark === undefined || (r.fwmark === 0 && !r.fwmask) ? "" : `${r.fwmark}/${num(r.fwmask, 0xffffffff)}`;
  return [
    num(r.family), num(r.priority), num(r.action, 1), num(r.table), num(r.flags) & 2,
    `${r.dst ?? ""}/${num(r.dstLen)}`, `${r.src ?? ""}/${num(r.srcLen)}`, mark, sup,
    range(r.uidRange), range(r.sportRange), range(r.dportRange), num(r.ipProto), r.iifname ?? "", r.oifname ?? "",
  ].join("|");
}

/**
 * A running tunnel's record on disk. `write()` creates or updates it (atomically), `remove()`
 * deletes it. Writing fails softly: `write()` returns the error text instead of throwing, as a
 * tunnel must run even where /run is read-only (cleanup then cannot tell it is live).
 *
 * @example
 * ```ts
 * import { TunnelRegistration } from "./registry.ts";
 * const reg = new TunnelRegistration({ kind: "socks", name: "tun0", ifindex: 7, rules: [] });
 * reg.write(); // undefined, or why it could not
 * reg.remove();
 * ```
 */
export class TunnelRegistration {
  /** What is written. */
  readonly record: TunnelRecord;
  /** Where it is written (under /run/tunkit, or $TUNKIT_RUN_DIR). */
  readonly path: string;
  private written = false;

  /**
   * The record of this process's tunnel (written by write()).
   *
   * @param what The tunnel: kind, device, its ifindex and its rules' keys.
   * @param env Environment for the directory (TUNKIT_RUN_DIR).
   */
  constructor(what: { kind: string; name: string; ifindex: number; rules: string[] }, env: Record<string, string | undefined> = process.env) {
    this.record = { version: 1, pid: process.pid, start: processStart(process.pid) ?? 0, netns: netnsInode(), ...what };
    this.path = join(ownDir(env), `${this.record.netns}-${process.pid}.json`);
  }

  /** Writes the record; returns undefined, or the reason it could not. */
  write(): string | undefined {
    try {
      mkdirSync(join(this.path, ".."), { recursive: true, mode: 0o755 });
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.record) + "\n", { mode: 0o644 });
      renameSync(tmp, this.path);
      this.written = true;
      return undefined;
    } catch (e) {
      return `${(e as { code?: string }).code ?? (e as Error).message} on ${this.path}`;
    }
  }

  /** Deletes the record (idempotent). */
  remove(): void {
    if (!this.written) return;
    this.written = false;
    rmSync(this.path, { force: true });
  }
}

/** A record read back, with whether its owner still runs. */
export interface FoundRecord {
  /** The record. */
  record: TunnelRecord;
  /** The file it was read from. */
  path: string;
  /** Whether its process still runs (same pid and start time). */
  live: boolean;
}

/**
 * The records of tunnels in this network namespace under {@link registryDir} (and one level of
 * subdirectories: systemd's `RuntimeDirectory=tunkit/%i`), each marked live or stale.
 *
 * @example
 * ```ts
 * import { listTunnelRecords } from "./registry.ts";
 * for (const r of listTunnelRecords()) console.log(r.record.name, r.record.pid, r.live);
 * ```
 */
export function listTunnelRecords(env: Record<string, string | undefined> = process.env): FoundRecord[] {
  const ns = netnsInode();
  const out: FoundRecord[] = [];
  const scan = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(dir, n);
      if (n.endsWith(".json")) {
        let rec: TunnelRecord;
        try {
          rec = JSON.parse(readFileSync(p, "utf8")) as TunnelRecord;
        } catch {
          continue;
        }
        if (rec?.version !== 1 || rec.netns !== ns || !Number.isInteger(rec.pid)) continue;
        out.push({ record: rec, path: p, live: processStart(rec.pid) === rec.start });
      } else if (depth > 0) {
        try {
          if (statSync(p).isDirectory()) scan(p, depth - 1);
        } catch {
          /* gone meanwhile */
        }
      }
    }
  };
  scan(registryDir(env), 1);
  return out;
}
