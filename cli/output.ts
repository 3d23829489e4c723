/**
 * How the CLI prints: plain text lines, aligned tables, `ip -j`-style JSON, and the
 * `-q`/`--json` switches that every command shares.
 *
 * @module
 */

import { nodeFs } from "../common/builtins.ts";

/** Where output goes and how it is shaped. */
export interface Output {
  /** `--json`: listings print JSON (one array) instead of text. */
  json: boolean;
  /** `-q`: no informational lines (listings and errors still print). */
  quiet: boolean;
  /** Writes text to stdout (a newline is added). */
  line(s: string): void;
  /** Writes text to stdout as it is. */
  write(s: string): void;
  /** Writes an informational line to stdout unless quiet. */
  info(s: string): void;
  /** Writes a warning line to stderr (`tunkit: warning: ...`). */
  warn(s: string): void;
}

/**
 * Makes an {@link Output} that writes to the given sinks (stdout/stderr by default).
 *
 * @example
 * ```ts
 * import { makeOutput } from "./output.ts";
 * const out = makeOutput({ json: false, quiet: false });
 * out.line("hello");
 * ```
 */
export function makeOutput(
  opts: { json: boolean; quiet: boolean },
  write: (s: string) => void = (s) => stdoutWriter().write(s),
  writeErr: (s: string) => void = (s) => stderrWriter().write(s),
): Output {
  return {
    json: opts.json,
    quiet: opts.quiet,
    line: (s) => write(s + "\n"),
    write,
    info: (s) => {
      if (!opts.quiet) write(s + "\n");
    },
    warn: (s) => writeErr(`tunkit: warning: ${s}\n`),
  };
}

/** A write to a closed pipe (EPIPE): the reader went away (`tunkit route list | head`). */
export class BrokenPipeError extends Error {
  readonly fd: number;
  constructor(fd: number) {
    super(`fd ${fd}: broken pipe`);
    this.fd = fd;
  }
}

/** Exit status of a command whose output pipe closed: 128 + SIGPIPE, as the shell reports it. */
export const EXIT_BROKEN_PIPE = 141;

let sleeper: Int32Array | undefined;

/**
 * write(2) of `bytes[off, off + len)`: the count written, or the errno's name. See {@link useFdWrite}.
 */
export type FdWrite = (fd: number, bytes: Uint8Array, off: number, len: number) => number | string;

let fdWrite: FdWrite | undefined;

/**
 * Makes {@link writeAllSync} write through `w` (libc's write(2), set by cli/context.ts once the
 * FFI is loaded: every command but `--version`) instead of node:fs's writeSync. Loading node:fs
 * costs a listing about 20 JavaScriptCore heap blocks at start-up (issue 11); the behaviour is the
 * same (partial writes continued, EAGAIN waited on, EPIPE a {@link BrokenPipeError}).
 *
 * @example
 * ```ts
 * import { useFdWrite, writeAllSync } from "./output.ts";
 * const seen: number[] = [];
 * useFdWrite((_fd, _b, _off, len) => (seen.push(len), len));
 * writeAllSync(1, new Uint8Array(3));
 * useFdWrite(undefined);
 * seen; // [3]
 * ```
 */
export function useFdWrite(w: FdWrite | undefined): void {
  fdWrite = w;
}
/** Made on the first flush, not at load: a process's first TextEncoder costs 0.2-0.5 ms, and a one-shot command that succeeds writes nothing (issue 11). */
let ENC: TextEncoder | undefined;

/**
 * Writes all of `bytes` to `fd`, synchronously: partial writes are continued; a non-blocking
 * fd that is full (EAGAIN: Bun turns a stdout pipe non-blocking once process.stdout is touched)
 * is waited on in 1 ms naps, so nothing is ever dropped; EPIPE becomes {@link BrokenPipeError}.
 *
 * @example
 * ```ts
 * import { writeAllSync } from "./output.ts";
 * writeAllSync(1, new TextEncoder().encode("hello\n"));
 * ```
 */
export function writeAllSync(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) {
    if (fdWrite) {
      const r = fdWrite(fd, bytes, off, bytes.length - off);
      if (typeof r === "number") {
        off += r;
        continue;
      }
      // Any other failure goes to node:fs below, which fails the same way and throws the error
      // the CLI has always printed for it.
      if (again(fd, r)) continue;
    }
    try {
      off += nodeFs().writeSync(fd, bytes, off, bytes.length - off);
    } catch (e) {
      if (again(fd, (e as { code?: string }).code)) continue;
      throw e;
    }
  }
}

/** After a failed write with errno `code`: true to write again (EAGAIN after a 1 ms nap, EINTR); EPIPE throws. */
function again(fd: number, code: string | undefined): boolean {
  if (code === "EAGAIN" || code === "EWOULDBLOCK") {
    sleeper ??= new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(sleeper, 0, 0, 1);
    return true;
  }
  if (code === "EINTR") return true;
  if (code === "EPIPE") throw new BrokenPipeError(fd);
  return false;
}

/**
 * A buffered, synchronous writer on a file descriptor. Text collects up to `limit` bytes and
 * goes out with {@link writeAllSync}; whatever is left is written at the end of the current
 * task (a microtask), so interactive lines appear at once and a listing of a million routes
 * costs a few hundred system calls. {@link flush} writes everything now; when it returns, the
 * bytes are in the kernel (pipe, file or terminal), so exiting afterwards loses nothing.
 *
 * @example
 * ```ts
 * import { FdWriter } from "./output.ts";
 * const w = new FdWriter(1);
 * w.write("hello\n");
 * w.flush();
 * ```
 */
export class FdWriter {
  readonly fd: number;
  private readonly limit: number;
  private parts: string[] = [];
  private size = 0;
  private scheduled = false;
  private broken: BrokenPipeError | undefined;

  constructor(fd: number, limit = 64 * 1024) {
    this.fd = fd;
    this.limit = limit;
  }

  write(s: string): void {
    if (this.broken) throw this.broken;
    this.parts.push(s);
    this.size += s.length;
    if (this.size >= this.limit) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        try {
          this.flush();
        } catch {
          /* remembered in this.broken; the next write or flush throws it */
        }
      });
    }
  }

  flush(): void {
    if (this.broken) throw this.broken;
    if (!this.size) return;
    const s = this.parts.length === 1 ? this.parts[0]! : this.parts.join("");
    this.parts = [];
    this.size = 0;
    try {
      writeAllSync(this.fd, (ENC ??= new TextEncoder()).encode(s));
    } catch (e) {
      if (e instanceof BrokenPipeError) this.broken = e;
      throw e;
    }
  }
}

let out1: FdWriter | undefined;
let out2: FdWriter | undefined;

/** The process's stdout as an {@link FdWriter} (one per process). */
export function stdoutWriter(): FdWriter {
  return (out1 ??= new FdWriter(1));
}

/** The process's stderr as an {@link FdWriter} (one per process; flushed after every write). */
export function stderrWriter(): FdWriter {
  return (out2 ??= new FdWriter(2, 0));
}

/**
 * Prints `value` as one line of JSON, like `ip -j` (compact; `ip -j -p` is not needed: pipe to jq).
 *
 * @example
 * ```ts
 * import { makeOutput, printJson } from "./output.ts";
 * printJson(makeOutput({ json: true, quiet: false }), [{ ifname: "tun0" }]);
 * ```
 */
export function printJson(out: Output, value: unknown): void {
  out.line(JSON.stringify(value));
}

/**
 * Formats rows as a left-aligned table with a header, columns two spaces apart; the last
 * column is not padded. Empty values print as "-".
 *
 * @example
 * ```ts
 * import { formatTable } from "./output.ts";
 * formatTable(["NAME", "MTU"], [["tun0", "1500"]]); // "NAME  MTU\ntun0  1500"
 * ```
 */
export function formatTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const all = [header, ...rows.map((r) => header.map((_, i) => (r[i] === undefined || r[i] === "" ? "-" : r[i]!)))];
  const width = header.map((_, i) => Math.max(...all.map((r) => r[i]!.length)));
  return all
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(width[i]!))).join("  ").trimEnd())
    .join("\n");
}

type Json = Record<string, unknown>;

const str = (v: unknown): string => (v === undefined || v === null ? "" : String(v));

/**
 * The first line of a link as `ip link` / `ip addr` print it, from an `ip -j` link object
 * (`withMode`: ip link prints "mode DEFAULT", ip addr does not).
 *
 * @example
 * ```ts
 * import { linkHeadText } from "./output.ts";
 * linkHeadText({ ifindex: 2, ifname: "tun0", flags: ["UP"], mtu: 1500, qdisc: "noqueue", operstate: "UNKNOWN", group: "default", txqlen: 500, link_type: "none" }, false);
 * // "2: tun0: <UP> mtu 1500 qdisc noqueue state UNKNOWN group default qlen 500\n    link/none "
 * ```
 */
export function linkHeadText(j: Json, withMode: boolean): string {
  let s = `${str(j.ifindex)}: ${str(j.ifname)}${j.link ? `@${str(j.link)}` : j.link === null ? "@NONE" : ""}: <${((j.flags as string[]) ?? []).join(",")}>`;
  if (j.mtu !== undefined) s += ` mtu ${str(j.mtu)}`;
  if (j.qdisc !== undefined) s += ` qdisc ${str(j.qdisc)}`;
  if (j.master !== undefined) s += ` master ${str(j.master)}`;
  if (j.operstate !== undefined) s += ` state ${str(j.operstate)}`;
  if (withMode && j.linkmode !== undefined) s += ` mode ${str(j.linkmode)}`;
  if (j.group !== undefined) s += ` group ${str(j.group)}`;
  if (j.txqlen !== undefined) s += ` qlen ${str(j.txqlen)}`;
  s += `\n    link/${str(j.link_type)} `;
  if (j.address !== undefined) s += `${str(j.address)}${j.broadcast !== undefined ? ` ${j.link_pointtopoint ? "peer" : "brd"} ${str(j.broadcast)}` : ""}`;
  return s;
}

const lft = (v: unknown): string => (v === 4294967295 || v === undefined ? "forever" : `${str(v)}sec`);

const ADDR_FLAG_KEYS = [
  "secondary", "temporary", "nodad", "optimistic", "dadfailed", "home", "deprecated", "tentative",
  "dynamic", "mngtmpaddr", "noprefixroute", "autojoin", "stable-privacy",
];

/**
 * One address as `ip addr` prints it (two lines), from an `addr_info` entry.
 *
 * @example
 * ```ts
 * import { addressText } from "./output.ts";
 * addressText({ family: "inet", local: "192.0.2.1", prefixlen: 24, scope: "global", label: "tun0" }, "tun0");
 * // "    inet 192.0.2.1/24 scope global tun0\n       valid_lft forever preferred_lft forever"
 * ```
 */
export function addressText(a: Json, ifname: string): string {
  let s = `    ${str(a.family)} ${str(a.local)}`;
  s += a.address !== undefined ? ` peer ${str(a.address)}/${str(a.prefixlen)}` : `/${str(a.prefixlen)}`;
  if (a.metric !== undefined) s += ` metric ${str(a.metric)}`;
  if (a.broadcast !== undefined) s += ` brd ${str(a.broadcast)}`;
  if (a.anycast !== undefined) s += ` any ${str(a.anycast)}`;
  s += ` scope ${str(a.scope)}`;
  for (const k of ADDR_FLAG_KEYS) if (a[k] === true) s += ` ${k}`;
  if (a.family === "inet") s += ` ${str(a.label ?? ifname)}`;
  else s += " ";
  s += `\n       valid_lft ${lft(a.valid_life_time)} preferred_lft ${lft(a.preferred_life_time)}`;
  return s;
}

/**
 * A route as `ip route` prints it, from an `ip -j` route object.
 *
 * @example
 * ```ts
 * import { routeText } from "./output.ts";
 * routeText({ dst: "198.51.100.0/24", dev: "tun0", protocol: "static", scope: "link", metric: 5, flags: [] });
 * // "198.51.100.0/24 dev tun0 proto static scope link metric 5"
 * ```
 */
export function routeText(r: Json): string {
  const parts: string[] = [];
  if (r.type !== undefined) parts.push(str(r.type));
  parts.push(str(r.dst));
  if (r.from !== undefined) parts.push("from", str(r.from));
  if (r.nhid !== undefined) parts.push("nhid", str(r.nhid));
  if (r.tos !== undefined) parts.push("tos", str(r.tos));
  if (r.gateway !== undefined) parts.push("via", str(r.gateway));
  const via = r.via as { family?: string; host?: string } | undefined;
  if (via) parts.push("via", str(via.family), str(via.host));
  if (r.dev !== undefined) parts.push("dev", str(r.dev));
  if (r.table !== undefined) parts.push("table", str(r.table));
  if (r.protocol !== undefined) parts.push("proto", str(r.protocol));
  if (r.scope !== undefined) parts.push("scope", str(r.scope));
  if (r.prefsrc !== undefined) parts.push("src", str(r.prefsrc));
  if (r.metric !== undefined) parts.push("metric", str(r.metric));
  for (const f of (r.flags as string[] | undefined) ?? []) parts.push(f);
  if (r.mark !== undefined) parts.push("mark", str(r.mark));
  if (r.uid !== undefined) parts.push("uid", str(r.uid));
  if (r.iif !== undefined) parts.push("iif", str(r.iif));
  if (r.expires !== undefined) parts.push("expires", `${str(r.expires)}sec`);
  const metrics = (r.metrics as Json[] | undefined)?.[0];
  if (metrics) for (const [k, v] of Object.entries(metrics)) parts.push(k, str(v));
  if (r.pref !== undefined) parts.push("pref", str(r.pref));
  let s = parts.filter((p) => p !== "").join(" ");
  for (const nh of (r.nexthops as Json[] | undefined) ?? []) {
    s += `\n\tnexthop${nh.gateway !== undefined ? ` via ${str(nh.gateway)}` : ""} dev ${str(nh.dev)} weight ${str(nh.weight)}`;
    for (const f of (nh.flags as string[] | undefined) ?? []) s += ` ${f}`;
  }
  return s;
}

/**
 * Turns a commander error message into one line: "error: unknown option '--x'\n(Did you
 * mean --json?)" becomes "unknown option '--x' (did you mean --json?)".
 *
 * @example
 * ```ts
 * import { commanderMessage } from "./output.ts";
 * commanderMessage({ code: "commander.unknownOption", message: "error: unknown option '--x'" }, []); // "unknown option '--x'"
 * ```
 */
export function commanderMessage(e: { code: string; message: string }, argv: readonly string[]): string {
  let m = e.message.replace(/^error:\s*/i, "").replace(/\s*\n\s*/g, " ").trim();
  m = m.replace(/\(Did you mean/g, "(did you mean");
  if (e.code === "commander.unknownCommand" || e.code === "commander.excessArguments") {
    m += ` (see: tunkit ${argv.filter((a) => !a.startsWith("-")).slice(0, 1).join(" ")} --help)`.replace("tunkit  --help", "tunkit --help");
  }
  return m;
}

type JsonLike = string | number | boolean | null | undefined | bigint | JsonLike[] | { [key: string]: JsonLike };

const NEEDS_ESCAPE = /["\\\t\n\r\f\b]/;

function ipString(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return '"' + s + '"';
  // iproute2's jsonw_puts: only these are escaped; everything else goes out as it is.
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    switch (c) {
      case "\t": out += "\\t"; break;
      case "\n": out += "\\n"; break;
      case "\r": out += "\\r"; break;
      case "\f": out += "\\f"; break;
      case "\b": out += "\\b"; break;
      case "\\": out += "\\\\"; break;
      case '"': out += '\\"'; break;
      default: out += c;
    }
  }
  return out + '"';
}

const INDENT = ["", "    ", "        ", "            ", "                ", "                    "];
const indent = (d: number) => INDENT[d] ?? "    ".repeat(d);

/**
 * A value as iproute2's json_writer prints it: compact (`ip -j`), or indented (`ip -j -p`: four
 * spaces a level, `[ ` and ` ]` around arrays, `},{` between objects). Strings are escaped as
 * ip escapes them (tab, newline, CR, FF, BS, backslash, quote), not as JSON.stringify does.
 *
 * @example
 * ```ts
 * import { ipJsonText } from "./output.ts";
 * ipJsonText([{ dst: "default", flags: [] }], false); // '[{"dst":"default","flags":[]}]'
 * ipJsonText([{ dst: "default", flags: [] }], true);  // '[ {\n        "dst": "default",\n        "flags": [ ]\n    } ]'
 * ```
 */
export function ipJsonText(v: JsonLike, pretty: boolean, depth = 0): string {
  if (!pretty && typeof v === "object" && v !== null) {
    // Compact JSON is JSON.stringify's, but for control characters (ip writes most of them raw):
    // the native path unless one was escaped.
    let fast: string | undefined;
    try {
      fast = JSON.stringify(v);
    } catch {
      fast = undefined; // a bigint: the slow path prints it
    }
    if (fast !== undefined && !fast.includes("\\u00") && !fast.includes('_timer"')) return fast;
  }
  if (v === null || v === undefined) return "null";
  switch (typeof v) {
    case "string":
      return ipString(v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "bigint":
      return v.toString();
    case "boolean":
      return v ? "true" : "false";
  }
  if (Array.isArray(v)) {
    if (!v.length) return pretty ? "[ ]" : "[]";
    let s = pretty ? "[ " : "[";
    for (let i = 0; i < v.length; i++) s += (i ? "," : "") + ipJsonText(v[i], pretty, depth + 1);
    return s + (pretty ? " ]" : "]");
  }
  let s = "{";
  let n = 0;
  for (const k in v) {
    const x = (v as Record<string, JsonLike>)[k];
    if (x === undefined) continue;
    // ip prints its timers (a bridge's hello_timer, …) with two decimals: "%.2f".
    const text = typeof x === "number" && k.endsWith("_timer") ? x.toFixed(2) : ipJsonText(x, pretty, depth + 1);
    s += (n++ ? "," : "") + (pretty ? "\n" + indent(depth + 1) : "") + ipString(k) + (pretty ? ": " : ":") + text;
  }
  return s + (n && pretty ? "\n" + indent(depth) : "") + "}";
}

/**
 * Streams a listing as ip prints it: `ip -j` (one JSON array, `-p` indented) or text lines,
 * written in pieces so a million objects never sit in one string.
 *
 * @example
 * ```ts
 * import { ListingWriter, makeOutput } from "./output.ts";
 * const w = new ListingWriter(makeOutput({ json: true, quiet: false }), false);
 * w.json({ dst: "default" });
 * w.end(); // prints [{"dst":"default"}]
 * ```
 */
export class ListingWriter {
  private readonly out: Output;
  private readonly pretty: boolean;
  private piece: string[] = [];
  private count = 0;

  constructor(out: Output, pretty = false) {
    this.out = out;
    this.pretty = pretty;
  }

  /** One object of a JSON listing. */
  json(v: JsonLike): void {
    this.piece.push((this.count++ ? "," : this.pretty ? "[ " : "[") + ipJsonText(v, this.pretty, 1));
    if (this.piece.length >= 512) this.emit();
  }

  /** Text as it is (each object's text ends with its own newline). */
  text(s: string): void {
    this.count++;
    this.piece.push(s);
    if (this.piece.length >= 512) this.emit();
  }

  private emit(): void {
    if (this.piece.length) this.out.write(this.piece.join(""));
    this.piece = [];
  }

  /** Ends the listing: closes the JSON array (`[]` when empty). */
  end(): void {
    if (this.out.json) this.piece.push(this.count ? (this.pretty ? " ]\n" : "]\n") : this.pretty ? "[ ]\n" : "[]\n");
    this.emit();
  }
}
