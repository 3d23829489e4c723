/**
 * iproute2's name databases, both directions: routing tables (rt_tables), route protocols
 * (rt_protos), scopes (rt_scopes), realms (rt_realms), DS fields / TOS (rt_dsfield), device
 * groups (group) and IP protocols (/etc/protocols), plus the fixed names of route types and
 * rule actions.
 *
 * Pure: an {@link IpNames} is built from a {@link NameSource} that hands it the texts of the
 * files (netlink/names.ts reads the real ones from /etc/iproute2). Without a source it knows
 * ip's built-in names only. The free functions (`tableName`, `parseTable`, …) use the
 * process-wide default set with {@link setDefaultIpNames} (built-in names until then;
 * `Rtnl.open()` switches to the system files).
 *
 * Semantics follow iproute2 (lib/rt_names.c, lib/inet_proto.c, ip/rtm_map.c): a file entry
 * overrides a built-in name; unknown numbers print as numbers (`0x%02x` for a DS field,
 * `ipproto-N` for an IP protocol); numbers parse as C's strtoul(…, 0) does (`0x1f`, `017`
 * octal), except DS fields, which are hexadecimal (`tos 10` is 0x10).
 *
 * @module
 */
import { UsageError } from "../../common/errors.ts";
import { isJsSpace } from "../../common/ifname.ts";
import { FR_ACT, RTN } from "./constants.ts";

/** The name databases an {@link IpNames} can read. */
export type NameDb = "rt_tables" | "rt_protos" | "rt_scopes" | "rt_realms" | "rt_dsfield" | "group" | "protocols";

/**
 * Hands an {@link IpNames} the texts of one database: the main file first, then the files of
 * its `.d/` directory in order (later entries override earlier ones). Called at most once per
 * database, on first use.
 */
export type NameSource = (db: NameDb) => readonly string[];

/** Options of an {@link IpNames}. */
export interface IpNamesOptions {
  /** Print numbers only, like `ip -N` (parsing still accepts names). */
  numeric?: boolean;
}

/**
 * Parses a number the way C's `strtoul(s, &end, 0)` does for whole words: `0x`/`0X` hex,
 * a leading `0` octal, decimal otherwise. Undefined for anything else (signs, spaces, junk).
 *
 * @example
 * ```ts
 * import { parseCNumber } from "./names.ts";
 * parseCNumber("0x10"); // 16
 * parseCNumber("010");  // 8
 * parseCNumber("1e3");  // undefined
 * ```
 */
export function parseCNumber(s: string, base: 0 | 10 | 16 = 0): number | undefined {
  // Character tests, not RegExps (a process's first RegExp costs ~0.5 ms of start-up, issue 11):
  // base 16 is /^(?:0[xX])?([0-9a-fA-F]+)$/, base 10 /^\d+$/, base 0 /^0[xX]([0-9a-fA-F]+)$/,
  // then /^0[0-7]*$/ (octal), then /^[1-9]\d*$/.
  const prefixed = s.length > 2 && s.charCodeAt(0) === 0x30 && (s.charCodeAt(1) | 0x20) === 0x78 && allIn(s, 2, HEX);
  if (base === 16) return prefixed ? parseInt(s.slice(2), 16) : allIn(s, 0, HEX) ? parseInt(s, 16) : undefined;
  if (base === 10) return allIn(s, 0, DEC) ? Number(s) : undefined;
  if (prefixed) return parseInt(s.slice(2), 16);
  const c = s.charCodeAt(0);
  if (c === 0x30) return allIn(s, 1, OCT) || s.length === 1 ? parseInt(s, 8) : undefined;
  return c > 0x30 && c <= 0x39 && allIn(s, 0, DEC) ? Number(s) : undefined;
}

/** Digit classes of {@link allIn}. */
const DEC = 10;
const OCT = 8;
const HEX = 16;

/** The digit value of UTF-16 code unit `c` (0-9, a-f, A-F), else 99. */
function digitOf(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : 99;
}

/** Whether s[from..] is one or more digits of `radix` (8, 10 or 16). */
function allIn(s: string, from: number, radix: number): boolean {
  if (from >= s.length) return false;
  for (let i = from; i < s.length; i++) if (digitOf(s.charCodeAt(i)) >= radix) return false;
  return true;
}

/** The end of the run of non-`\s` characters of `s` that starts at `at`. */
function wordEnd(s: string, at: number): number {
  let e = at;
  while (e < s.length && !isJsSpace(s.charCodeAt(e))) e++;
  return e;
}

/**
 * One `ID NAME` line of an iproute2 database: undefined for comments/blank lines, null when corrupted.
 *
 * @example
 * ```ts
 * import { idNameLine } from "./names.ts";
 * idNameLine("254\tmain");   // { id: 254, name: "main" }
 * idNameLine("# comment");   // undefined
 * idNameLine("main");        // null
 * ```
 *
 * What `line.replace(/^[ \t]+/, "")` then `/^(0x[0-9a-fA-F]+|-?\d+)[ \t]*([^\s]+)/` made of it,
 * read on the character codes (the RegExps were 1.2 ms of a `route list`'s start-up, issue 11),
 * their backtracking included: an id not followed by a name gives its last digit up to the name
 * ("0x1f" is id 0x1 named "f", "255" id 25 named "5", as the RegExp read them).
 */
export function idNameLine(line: string): { id: number; name: string } | undefined | null {
  let s = 0;
  while (s < line.length && (line.charCodeAt(s) === 0x20 || line.charCodeAt(s) === 0x09)) s++;
  if (s === line.length || line.charCodeAt(s) === 0x23) return undefined;
  // 0x and hex digits: the whole run, or (no name after it) all but its last digit, which then starts the name.
  if (line.charCodeAt(s) === 0x30 && line.charCodeAt(s + 1) === 0x78) {
    let e = s + 2;
    while (e < line.length && digitOf(line.charCodeAt(e)) < 16) e++;
    const digits = e - s - 2;
    if (digits >= 1) {
      const f = afterBlanks(line, e);
      if (f < line.length && !isJsSpace(line.charCodeAt(f))) return { id: parseInt(line.slice(s + 2, e), 16), name: line.slice(f, wordEnd(line, f)) };
      if (digits >= 2) return { id: parseInt(line.slice(s + 2, e - 1), 16), name: line.slice(e - 1, wordEnd(line, e - 1)) };
    }
  }
  // -?\d+, the same way.
  const d0 = line.charCodeAt(s) === 0x2d ? s + 1 : s;
  let e = d0;
  while (e < line.length && digitOf(line.charCodeAt(e)) < 10) e++;
  if (e === d0) return null;
  const f = afterBlanks(line, e);
  if (f < line.length && !isJsSpace(line.charCodeAt(f))) return { id: Number(line.slice(s, e)), name: line.slice(f, wordEnd(line, f)) };
  if (e - d0 >= 2) return { id: Number(line.slice(s, e - 1)), name: line.slice(e - 1, wordEnd(line, e - 1)) };
  return null;
}

/** The first index at or after `at` that is not a space or a tab. */
function afterBlanks(s: string, at: number): number {
  while (at < s.length && (s.charCodeAt(at) === 0x20 || s.charCodeAt(at) === 0x09)) at++;
  return at;
}

/** Entries of iproute2 database texts, in file order; a corrupted line ends its file (as ip does). */
function idNameEntries(texts: readonly string[], max: number): Array<{ id: number; name: string }> {
  const out: Array<{ id: number; name: string }> = [];
  for (const text of texts) {
    for (const line of text.split("\n")) {
      const e = idNameLine(line);
      if (e === null) break;
      if (e && e.id >= 0 && e.id <= max) out.push(e);
    }
  }
  return out;
}

/** A database: id -> name for printing (last definition wins), name -> id for parsing. */
interface Db {
  readonly byId: Map<number, string>;
  readonly byName: Map<string, number>;
}

function buildDb(builtin: ReadonlyArray<readonly [number, string]>, entries: ReadonlyArray<{ id: number; name: string }>, hashOrder: boolean): Db {
  const all = [...builtin.map(([id, name]) => ({ id, name })), ...entries];
  const byId = new Map<number, string>();
  for (const e of all) byId.set(e.id, e.name);
  let byName: Map<string, number> | undefined;
  return {
    byId,
    // Made when a name is first parsed: a listing only prints (start-up, issue 11: the sorted
    // copies cost `route list` heap it does not use).
    get byName() {
      return (byName ??= nameIndex(all, byId, hashOrder));
    },
  };
}

/**
 * name -> id: rt_tables and group live in ip's hash (buckets by id & 255, newest first inside a
 * bucket); the others in an array scanned from 0, where an id holds only its last name.
 */
function nameIndex(all: ReadonlyArray<{ id: number; name: string }>, byId: ReadonlyMap<number, string>, hashOrder: boolean): Map<string, number> {
  const byName = new Map<string, number>();
  const order = hashOrder
    ? all.map((e, i) => ({ ...e, i })).sort((a, b) => (a.id & 255) - (b.id & 255) || b.i - a.i)
    : [...byId].map(([id, name]) => ({ id, name })).sort((a, b) => a.id - b.id);
  for (const e of order) if (!byName.has(e.name)) byName.set(e.name, e.id);
  return byName;
}

const BUILTIN_PROTOS: ReadonlyArray<readonly [number, string]> = [
  [0, "unspec"], [1, "redirect"], [2, "kernel"], [3, "boot"], [4, "static"], [8, "gated"],
  [9, "ra"], [10, "mrt"], [11, "zebra"], [12, "bird"], [13, "dnrouted"], [14, "xorp"],
  [15, "ntk"], [16, "dhcp"], [18, "keepalived"], [42, "babel"], [186, "bgp"],
  [187, "isis"], [188, "ospf"], [189, "rip"], [192, "eigrp"],
];
const BUILTIN_SCOPES: ReadonlyArray<readonly [number, string]> = [[0, "global"], [255, "nowhere"], [254, "host"], [253, "link"], [200, "site"]];
const BUILTIN_TABLES: ReadonlyArray<readonly [number, string]> = [[253, "default"], [254, "main"], [255, "local"]];
const BUILTIN_REALMS: ReadonlyArray<readonly [number, string]> = [[0, "unknown"]];
const BUILTIN_DSFIELD: ReadonlyArray<readonly [number, string]> = [[0, "0"]];
const BUILTIN_GROUPS: ReadonlyArray<readonly [number, string]> = [[0, "default"]];

/** /etc/protocols: `name number aliases…`; by number the first entry wins, by name any name or alias. */
function protocolsDb(texts: readonly string[]): Db {
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  for (const text of texts) {
    for (const raw of text.split("\n")) {
      const words = raw.replace(/#.*/, "").trim().split(/\s+/);
      if (words.length < 2) continue;
      const n = /^\d+$/.test(words[1]!) ? Number(words[1]) : -1;
      if (n < 0 || n > 255) continue;
      if (!byId.has(n)) byId.set(n, words[0]!);
      for (const w of [words[0]!, ...words.slice(2)]) if (!byName.has(w)) byName.set(w, n);
    }
  }
  return { byId, byName };
}

function invalid(what: string, s: string, db: Db, max: number): UsageError {
  const names = [...db.byName.keys()].slice(0, 8);
  const list = names.length ? `a name (${names.join(", ")}${db.byName.size > names.length ? ", …" : ""}) or ` : "";
  return new UsageError(`Invalid ${what} "${s}": expected ${list}a number 0..${max}`);
}

/**
 * iproute2's name databases: numbers to names and back, exactly as `ip` prints and parses them.
 *
 * @example
 * ```ts
 * import { IpNames } from "./names.ts";
 * const names = new IpNames((db) => (db === "rt_tables" ? ["100 vpn\n"] : []));
 * names.tableName(100);      // "vpn"
 * names.parseTable("vpn");   // 100
 * names.parseTable("0x10");  // 16
 * names.dsfieldName(0x28);   // "0x28" (no rt_dsfield given)
 * names.ipProtoName(6);      // "ipproto-6" (no /etc/protocols given)
 * ```
 */
export class IpNames {
  /** Print numbers instead of names (ip's `-N`/`-n`). */
  readonly numeric: boolean;
  private readonly source: NameSource;
  private readonly dbs = new Map<NameDb, Db>();

  /**
   * Names from `source`, falling back on iproute2's built-in ones.
   *
   * @param source Reads a database's file lines (default: none, built-in names only).
   * @param opts `numeric`: print numbers instead of names.
   */
  constructor(source: NameSource = () => [], opts: IpNamesOptions = {}) {
    this.source = source;
    this.numeric = opts.numeric ?? false;
  }

  /** The same databases, printing numbers only (`ip -N`). */
  withNumeric(numeric = true): IpNames {
    const n = new IpNames(this.source, { numeric });
    for (const [k, v] of this.dbs) n.dbs.set(k, v);
    return n;
  }

  /** The database `name`, loaded from the source on first use. */
  private db(name: NameDb): Db {
    let d = this.dbs.get(name);
    if (d) return d;
    const texts = this.source(name);
    switch (name) {
      case "rt_tables": d = buildDb(BUILTIN_TABLES, idNameEntries(texts, 0xffffffff), true); break;
      case "group": d = buildDb(BUILTIN_GROUPS, idNameEntries(texts, 0x7fffffff), true); break;
      case "rt_protos": d = buildDb(BUILTIN_PROTOS, idNameEntries(texts, 255), false); break;
      case "rt_scopes": d = buildDb(BUILTIN_SCOPES, idNameEntries(texts, 255), false); break;
      case "rt_realms": d = buildDb(BUILTIN_REALMS, idNameEntries(texts, 255), false); break;
      case "rt_dsfield": d = buildDb(BUILTIN_DSFIELD, idNameEntries(texts, 255), false); break;
      case "protocols": d = protocolsDb(texts); break;
    }
    this.dbs.set(name, d);
    return d;
  }

  /** Number to name through `db`, or undefined. */
  private n2a(db: NameDb, n: number): string | undefined {
    return this.numeric ? undefined : this.db(db).byId.get(n);
  }

  /** Name (or number in `base`) to number through `db`; throws a UsageError naming `what` when neither. */
  private a2n(db: NameDb, what: string, s: string, max: number, base: 0 | 10 | 16 = 0): number {
    const d = this.db(db);
    const id = d.byName.get(s);
    if (id !== undefined) return id;
    const n = parseCNumber(s, base);
    if (n !== undefined && n <= max) return n;
    throw invalid(what, s, d, max);
  }

  /** Routing table id to name ("main", a name from rt_tables), or the id as text. */
  tableName(id: number): string {
    return this.n2a("rt_tables", id) ?? String(id >>> 0);
  }
  /** Parses a table name or id (0..4294967295). */
  parseTable(s: string): number {
    return this.a2n("rt_tables", "table", s, 0xffffffff);
  }
  /** Route protocol (RTPROT_*) to name ("kernel", "static", …), or the number. */
  protocolName(n: number): string {
    return this.n2a("rt_protos", n) ?? String(n);
  }
  /** Parses a protocol name or number (0..255). */
  parseProtocol(s: string): number {
    return this.a2n("rt_protos", "protocol", s, 255);
  }
  /** Scope to name ("global", "link", "host", …), or the number. */
  scopeName(n: number): string {
    return this.n2a("rt_scopes", n) ?? String(n);
  }
  /** Parses a scope name or number (0..255). */
  parseScope(s: string): number {
    return this.a2n("rt_scopes", "scope", s, 255);
  }
  /** Realm to name (rt_realms), or the number. */
  realmName(n: number): string {
    return (n >= 0 && n < 256 ? this.n2a("rt_realms", n) : undefined) ?? String(n);
  }
  /** Parses one realm name or number (0..255). */
  parseRealm(s: string): number {
    return this.a2n("rt_realms", "realm", s, 255);
  }
  /**
   * Parses `realms [SRC/]DST` (names or numbers) into RTA_FLOW / FRA_FLOW's value
   * (SRC << 16 | DST); a plain number that is not a realm is taken raw, as ip does.
   */
  parseRealms(s: string): number {
    const slash = s.indexOf("/");
    try {
      const src = slash >= 0 ? this.parseRealm(s.slice(0, slash)) : 0;
      const rest = slash >= 0 ? s.slice(slash + 1) : s;
      const dst = rest === "" ? 0 : this.parseRealm(rest);
      return ((src << 16) | dst) >>> 0;
    } catch {
      const n = parseCNumber(s);
      if (n !== undefined && n <= 0xffffffff) return n;
      throw new UsageError(`Invalid realms "${s}": expected [SRCREALM/]DSTREALM (names from rt_realms or numbers 0..255)`);
    }
  }
  /** RTA_FLOW / FRA_FLOW value as `ip` writes it after `realms`: "DST" or "SRC/DST". */
  realmsText(flow: number): string {
    const from = flow >>> 16;
    const to = flow & 0xffff;
    return from ? `${this.realmName(from)}/${this.realmName(to)}` : this.realmName(to);
  }
  /** DS field / TOS byte to name (rt_dsfield), else "0x%02x". */
  dsfieldName(n: number): string {
    return this.n2a("rt_dsfield", n) ?? "0x" + n.toString(16).padStart(2, "0");
  }
  /** Parses a DS field name or a hexadecimal number (`tos 10` is 0x10), 0..255. */
  parseDsfield(s: string): number {
    return this.a2n("rt_dsfield", "TOS", s, 255, 16);
  }
  /** Device group to name ("default", a name from /etc/iproute2/group), or the number. */
  groupName(n: number): string {
    return this.n2a("group", n) ?? String(n | 0);
  }
  /** Parses a device group name or number. */
  parseGroup(s: string): number {
    return this.a2n("group", "group", s, 0x7fffffff);
  }
  /** IP protocol number to name from /etc/protocols ("tcp"), else "ipproto-N" like ip. */
  ipProtoName(n: number): string {
    return this.n2a("protocols", n) ?? `ipproto-${n}`;
  }
  /** Parses an IP protocol: a decimal number 0..255 or a name / alias from /etc/protocols. */
  parseIpProto(s: string): number {
    const n = parseCNumber(s, 10);
    if (n !== undefined && n <= 255) return n;
    const id = this.db("protocols").byName.get(s);
    if (id !== undefined) return id;
    throw new UsageError(`Invalid IP protocol "${s}": expected a number 0..255 or a name from /etc/protocols (tcp, udp, icmp, …)`);
  }
}

/**
 * ip's built-in names only (what `ip` knows when /etc/iproute2 is absent).
 *
 * @example
 * ```ts
 * import { BUILTIN_IP_NAMES } from "./names.ts";
 * BUILTIN_IP_NAMES.realmName(0); // "unknown"
 * ```
 */
export const BUILTIN_IP_NAMES: IpNames = new IpNames();

let defaultNames: IpNames | (() => IpNames) = BUILTIN_IP_NAMES;
let defaultChosen = false;

/**
 * The process-wide names the free functions and the views use when none are given.
 *
 * @example
 * ```ts
 * import { defaultIpNames } from "./names.ts";
 * defaultIpNames().tableName(254); // "main"
 * ```
 */
export function defaultIpNames(): IpNames {
  if (typeof defaultNames === "function") defaultNames = defaultNames();
  return defaultNames;
}

/**
 * Replaces the process-wide names (an instance, or a function called on first use).
 *
 * @example
 * ```ts
 * import { IpNames, setDefaultIpNames, tableName, BUILTIN_IP_NAMES } from "./names.ts";
 * setDefaultIpNames(new IpNames((db) => (db === "rt_tables" ? ["7 seven"] : [])));
 * tableName(7); // "seven"
 * setDefaultIpNames(BUILTIN_IP_NAMES);
 * ```
 */
export function setDefaultIpNames(n: IpNames | (() => IpNames)): void {
  defaultNames = n;
  defaultChosen = true;
}

/**
 * Whether {@link setDefaultIpNames} was called (else the default is ip's built-in names).
 *
 * @example
 * ```ts
 * import { isDefaultIpNamesSet } from "./names.ts";
 * if (!isDefaultIpNamesSet()) console.log("built-in names");
 * ```
 */
export function isDefaultIpNamesSet(): boolean {
  return defaultChosen;
}

/**
 * Route protocol number to name ("kernel", "static", …), or the number as text.
 *
 * @example
 * ```ts
 * import { protocolName, parseProtocol } from "./names.ts";
 * protocolName(4);         // "static"
 * protocolName(77);        // "77"
 * parseProtocol("dhcp");   // 16
 * ```
 */
export function protocolName(n: number): string {
  return defaultIpNames().protocolName(n);
}
/**
 * Parses a protocol name or number (0..255).
 *
 * @example
 * ```ts
 * import { parseProtocol } from "./names.ts";
 * parseProtocol("static"); // 4
 * parseProtocol("42"); // 42
 * ```
 */
export function parseProtocol(s: string): number {
  return defaultIpNames().parseProtocol(s);
}
/**
 * Scope number to name ("global", "link", "host", …).
 *
 * @example
 * ```ts
 * import { scopeName, parseScope } from "./names.ts";
 * scopeName(253);       // "link"
 * parseScope("host");   // 254
 * ```
 */
export function scopeName(n: number): string {
  return defaultIpNames().scopeName(n);
}
/**
 * Parses a scope name or number (0..255).
 *
 * @example
 * ```ts
 * import { parseScope } from "./names.ts";
 * parseScope("link"); // 253
 * ```
 */
export function parseScope(s: string): number {
  return defaultIpNames().parseScope(s);
}
/**
 * Table id to name ("main", "local", "default", names from rt_tables), or the id as text.
 *
 * @example
 * ```ts
 * import { tableName, parseTable } from "./names.ts";
 * tableName(254);        // "main"
 * tableName(1000);       // "1000"
 * parseTable("local");   // 255
 * ```
 */
export function tableName(n: number): string {
  return defaultIpNames().tableName(n);
}
/**
 * Parses a table name or id (0..2^32-1).
 *
 * @example
 * ```ts
 * import { parseTable } from "./names.ts";
 * parseTable("main"); // 254
 * parseTable("1000"); // 1000
 * ```
 */
export function parseTable(s: string): number {
  return defaultIpNames().parseTable(s);
}

/** Route type names (rtnl_rtntype_n2a). */
const ROUTE_TYPES: ReadonlyArray<readonly [number, string]> = [
  [RTN.UNSPEC, "none"], [RTN.UNICAST, "unicast"], [RTN.LOCAL, "local"], [RTN.BROADCAST, "broadcast"],
  [RTN.ANYCAST, "anycast"], [RTN.MULTICAST, "multicast"], [RTN.BLACKHOLE, "blackhole"],
  [RTN.UNREACHABLE, "unreachable"], [RTN.PROHIBIT, "prohibit"], [RTN.THROW, "throw"],
  [RTN.NAT, "nat"], [RTN.XRESOLVE, "xresolve"],
];

/**
 * Route type to name ("unicast", "blackhole", …), or the number.
 *
 * @example
 * ```ts
 * import { routeTypeName } from "./names.ts";
 * routeTypeName(6); // "blackhole"
 * ```
 */
export function routeTypeName(n: number): string {
  if (defaultIpNames().numeric) return String(n);
  for (const [id, name] of ROUTE_TYPES) if (id === n) return name;
  return String(n);
}

/** ip's `matches(arg, word)`: arg is a non-empty prefix of word. */
function abbrev(arg: string, word: string): boolean {
  return arg.length > 0 && word.startsWith(arg);
}

/**
 * Parses a route type as ip does (rtnl_rtntype_a2n): full names, the abbreviations ip accepts
 * ("b" is broadcast, "bl" blackhole, "un" unreachable), `brd`, or a number 0..255.
 * Undefined when `s` is none of them.
 *
 * @example
 * ```ts
 * import { routeTypeOf } from "./names.ts";
 * routeTypeOf("prohibit");  // 8
 * routeTypeOf("blackh");    // 6
 * routeTypeOf("via");       // undefined
 * ```
 */
export function routeTypeOf(s: string): number | undefined {
  if (s === "local") return RTN.LOCAL;
  if (s === "nat") return RTN.NAT;
  if (abbrev(s, "broadcast") || s === "brd") return RTN.BROADCAST;
  if (abbrev(s, "anycast")) return RTN.ANYCAST;
  if (abbrev(s, "multicast")) return RTN.MULTICAST;
  if (abbrev(s, "prohibit")) return RTN.PROHIBIT;
  if (abbrev(s, "unreachable")) return RTN.UNREACHABLE;
  if (abbrev(s, "blackhole")) return RTN.BLACKHOLE;
  if (abbrev(s, "xresolve")) return RTN.XRESOLVE;
  if (abbrev(s, "unicast")) return RTN.UNICAST;
  if (s === "throw") return RTN.THROW;
  const n = parseCNumber(s);
  return n !== undefined && n <= 255 ? n : undefined;
}

/**
 * Parses a route type name or number; throws a UsageError naming the word otherwise.
 *
 * @example
 * ```ts
 * import { parseRouteType } from "./names.ts";
 * parseRouteType("prohibit"); // 8
 * ```
 */
export function parseRouteType(s: string): number {
  const t = routeTypeOf(s);
  if (t === undefined) {
    throw new UsageError(`Invalid route type "${s}": expected ${ROUTE_TYPES.slice(1).map(([, n]) => n).join(", ")} or a number 0..255`);
  }
  return t;
}

/**
 * Rule action as `ip rule` prints it: "goto", "nop", else the route type name
 * ("blackhole", "unreachable", "prohibit"); "to_tbl" for a table lookup.
 *
 * @example
 * ```ts
 * import { ruleActionName } from "./names.ts";
 * ruleActionName(1); // "to_tbl"
 * ruleActionName(6); // "blackhole"
 * ```
 */
export function ruleActionName(n: number): string {
  if (n === FR_ACT.TO_TBL) return "to_tbl";
  if (n === FR_ACT.GOTO) return "goto";
  if (n === FR_ACT.NOP) return "nop";
  return routeTypeName(n);
}
