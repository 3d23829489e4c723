/**
 * A tcpdump-like filter language compiled to a predicate over raw packet bytes (no full
 * decode, no allocation per packet).
 *
 * Primitives: `icmp` `icmp6` `tcp` `udp` `arp` `ip` `ip6`; `[src|dst|src or dst|src and dst]
 * host ADDR`, `... net CIDR`, `... port N`, optionally led by a protocol (`tcp port 80`,
 * `ip6 host 2001:db8::1`, `udp dst port 53`). Combinators `and`/`&&`, `or`/`||`, `not`/`!`,
 * parentheses; precedence as tcpdump (not > and > or). As in tcpdump, a bare value after
 * `and`/`or` repeats the previous qualifiers: `port 53 or 80`, `host 192.0.2.1 or 192.0.2.2`.
 *
 * Differences from tcpdump/BPF: VLAN tags are looked through (tcpdump needs `vlan`), IPv6
 * extension headers are walked for `tcp`/`udp`/`port`, `host`/`net` also match ARP sender and
 * target addresses (as tcpdump does), `port` matches only the first IPv4 fragment (as tcpdump).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { parseCidr, parseIp } from "../common/addr.ts";
import { IPV6_EXT_NAMES, MAX_IPV6_EXTENSIONS } from "./ipv6.ts";
import type { LinkType } from "./types.ts";

/** Address or port direction of a filter primitive (tcpdump's `src`, `dst`, `src or dst`, `src and dst`). */
export type Dir = "src" | "dst" | "either" | "both";
/** Protocol names a filter primitive accepts. */
export type Proto = "icmp" | "icmp6" | "tcp" | "udp" | "arp" | "ip" | "ip6";

/** Parsed filter expression (exported for tests and for printing). */
export type FilterNode =
  | { kind: "and" | "or"; left: FilterNode; right: FilterNode }
  | { kind: "not"; operand: FilterNode }
  | { kind: "proto"; proto: Proto }
  | { kind: "host"; dir: Dir; addr: Uint8Array; proto?: Proto }
  | { kind: "net"; dir: Dir; addr: Uint8Array; prefix: number; proto?: Proto }
  | { kind: "port"; dir: Dir; port: number; proto?: Proto };

interface Token {
  text: string;
  col: number;
}

const PROTOS: ReadonlySet<string> = new Set(["icmp", "icmp6", "tcp", "udp", "arp", "ip", "ip6"]);

function tokenize(expr: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < expr.length) {
    const c = expr[i]!;
    if (c === " " || c === "\t" || c === "\n" || c === "\r") {
      i++;
      continue;
    }
    if (c === "(" || c === ")") {
      out.push({ text: c, col: i + 1 });
      i++;
      continue;
    }
    if (c === "!" || ((c === "&" || c === "|") && expr[i + 1] === c)) {
      const t = c === "!" ? "!" : c + c;
      out.push({ text: t, col: i + 1 });
      i += t.length;
      continue;
    }
    if (/[A-Za-z0-9.:/_-]/.test(c)) {
      const start = i;
      while (i < expr.length && /[A-Za-z0-9.:/_-]/.test(expr[i]!)) i++;
      out.push({ text: expr.slice(start, i), col: start + 1 });
      continue;
    }
    const shown = c >= " " && c <= "~" ? JSON.stringify(c) : `U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}`;
    throw filterError(expr, `unexpected character ${shown}`, i + 1);
  }
  return out;
}

function quote(s: string): string {
  return JSON.stringify(s.replace(/[^\x20-\x7e]/g, "?"));
}

function filterError(expr: string, msg: string, col: number): UsageError {
  const shown = expr.length > 200 ? expr.slice(0, 197) + "..." : expr;
  return new UsageError(`Invalid filter ${quote(shown)}: ${msg} at column ${col}`, "See the filter syntax: tcpdump-style primitives joined by and/or/not.");
}

class Parser {
  private pos = 0;
  private last: { kind: "host" | "net" | "port"; dir: Dir; proto?: Proto } | undefined;
  constructor(private readonly expr: string, private readonly toks: Token[]) {}

  private peek(): Token | undefined {
    return this.toks[this.pos];
  }
  private endCol(): number {
    return this.expr.length + 1;
  }
  private fail(msg: string, tok?: Token): never {
    throw filterError(this.expr, msg, tok ? tok.col : this.endCol());
  }

  parse(): FilterNode {
    if (this.toks.length === 0) this.fail("empty expression");
    const n = this.parseOr();
    const t = this.peek();
    if (t) this.fail(t.text === ")" ? `unmatched ")"` : `unexpected ${quote(t.text)}`, t);
    return n;
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd(undefined);
    for (let t = this.peek(); t && (t.text === "or" || t.text === "||"); t = this.peek()) {
      this.pos++;
      left = { kind: "or", left, right: this.parseAnd(t) };
    }
    return left;
  }

  private parseAnd(after: Token | undefined): FilterNode {
    let left = this.parseUnary(after);
    for (let t = this.peek(); t && (t.text === "and" || t.text === "&&"); t = this.peek()) {
      this.pos++;
      left = { kind: "and", left, right: this.parseUnary(t) };
    }
    return left;
  }

  private parseUnary(after: Token | undefined): FilterNode {
    const t = this.peek();
    if (!t) this.fail(after ? `expected a primitive after ${quote(after.text)}` : "expected a primitive");
    if (t.text === "not" || t.text === "!") {
      this.pos++;
      return { kind: "not", operand: this.parseUnary(t) };
    }
    if (t.text === "(") {
      this.pos++;
      const n = this.parseOr();
      const c = this.peek();
      if (!c || c.text !== ")") this.fail(`expected ")" for the "(" opened at column ${t.col},`, c);
      this.pos++;
      return n;
    }
    if (t.text === ")" || t.text === "and" || t.text === "&&" || t.text === "or" || t.text === "||") {
      this.fail(after ? `expected a primitive after ${quote(after.text)}` : `expected a primitive before ${quote(t.text)}`, t);
    }
    return this.parsePrimitive();
  }

  private parseDir(): Dir | undefined {
    const t = this.peek();
    if (!t || (t.text !== "src" && t.text !== "dst")) return undefined;
    this.pos++;
    const n1 = this.peek();
    const n2 = this.toks[this.pos + 1];
    if (n1 && (n1.text === "or" || n1.text === "and") && n2 && (n2.text === "src" || n2.text === "dst") && n2.text !== t.text) {
      this.pos += 2;
      return n1.text === "or" ? "either" : "both";
    }
    return t.text as Dir;
  }

  private parsePrimitive(): FilterNode {
    const first = this.peek()!;
    // a bare value repeats the previous qualifiers (tcpdump's "port 53 or 80")
    if (this.last && (/^[0-9]/.test(first.text) || first.text.includes(":"))) {
      return this.value(this.last.kind, this.last.dir, this.last.proto, undefined);
    }
    let proto: Proto | undefined;
    if (PROTOS.has(first.text)) {
      this.pos++;
      const nx = this.peek();
      if (!nx || !["src", "dst", "host", "net", "port"].includes(nx.text)) return { kind: "proto", proto: first.text as Proto };
      proto = first.text as Proto;
    }
    const dirTok = this.peek();
    const dir = this.parseDir() ?? "either";
    const kw = this.peek();
    if (!kw) this.fail(`expected "host", "net" or "port" after ${quote((dirTok ?? first).text)}`);
    if (kw.text !== "host" && kw.text !== "net" && kw.text !== "port") {
      if (dir !== "either" || proto) this.fail(`expected "host", "net" or "port", got ${quote(kw.text)}`, kw);
      this.fail(`unknown primitive ${quote(kw.text)} (expected icmp, icmp6, tcp, udp, arp, ip, ip6, host, net, port, src, dst, not, "(")`, kw);
    }
    this.pos++;
    if (kw.text === "port" && proto && proto !== "tcp" && proto !== "udp") {
      this.fail(`"port" applies to tcp or udp, not ${quote(proto)}`, kw);
    }
    if ((kw.text === "host" || kw.text === "net") && proto && proto !== "ip" && proto !== "ip6" && proto !== "arp") {
      this.fail(`"${kw.text}" applies to ip, ip6 or arp, not ${quote(proto)}`, kw);
    }
    return this.value(kw.text as "host" | "net" | "port", dir, proto, kw);
  }

  private value(kind: "host" | "net" | "port", dir: Dir, proto: Proto | undefined, kw: Token | undefined): FilterNode {
    const v = this.peek();
    const what = kind === "port" ? "a port number" : kind === "host" ? "an IP address" : "a network (CIDR)";
    if (!v || v.text === "(" || v.text === ")" || v.text === "!" || v.text === "&&" || v.text === "||") {
      this.fail(`expected ${what} after ${quote(kw?.text ?? kind)}`, v);
    }
    this.pos++;
    this.last = proto ? { kind, dir, proto } : { kind, dir };
    const base = proto ? { dir, proto } : { dir };
    if (kind === "port") {
      if (!/^\d{1,5}$/.test(v.text) || Number(v.text) > 65535) this.fail(`${quote(v.text)} is not a port number (0..65535)`, v);
      return { kind: "port", port: Number(v.text), ...base };
    }
    if (kind === "host") {
      let addr: Uint8Array;
      try {
        addr = parseIp(v.text);
      } catch {
        this.fail(`${quote(v.text)} is not an IP address (host names are not resolved)`, v);
      }
      if (proto === "ip" && addr.length !== 4) this.fail(`${quote(v.text)} is not an IPv4 address`, v);
      if (proto === "ip6" && addr.length !== 16) this.fail(`${quote(v.text)} is not an IPv6 address`, v);
      return { kind: "host", addr, ...base };
    }
    let net: { bytes: Uint8Array; prefix: number };
    try {
      net = parseCidr(v.text);
    } catch (e) {
      this.fail(`${quote(v.text)} is not a network: ${e instanceof Error ? e.message.replace(/^Invalid /, "invalid ") : ""}`, v);
    }
    for (let bit = net.prefix; bit < net.bytes.length * 8; bit++) {
      if ((net.bytes[bit >> 3]! >> (7 - (bit & 7))) & 1) this.fail(`${quote(v.text)} has host bits set beyond /${net.prefix}`, v);
    }
    return { kind: "net", addr: net.bytes, prefix: net.prefix, ...base };
  }
}

/**
 * Parses a filter expression. Throws {@link UsageError} with the column of the problem, e.g.
 * `Invalid filter "tcp and": expected a primitive after "and" at column 8`.
 *
 * @example
 * ```ts
 * import { parseFilter } from "./filter.ts";
 * parseFilter("tcp and port 80").kind; // "and"
 * ```
 */
export function parseFilter(expr: string): FilterNode {
  if (expr.length > 4096) throw new UsageError(`Invalid filter: ${expr.length} characters, at most 4096`);
  return new Parser(expr, tokenize(expr)).parse();
}

/** Where the interesting fields of a packet are (filled by {@link peekPacket}). */
export interface PacketPeek {
  /** 4 IPv4, 6 IPv6, 1 ARP, 0 other/unknown. */
  l3: number;
  /** Offset of the network header. */
  l3Off: number;
  /** Source / destination address offsets (IP) or sender / target protocol address (ARP). */
  srcOff: number;
  /** Destination address offset (IP) or target protocol address offset (ARP). */
  dstOff: number;
  /** Address length: 4 or 16 (0 when none). */
  addrLen: number;
  /** Transport protocol, or -1. */
  proto: number;
  /** Offset of the transport header when it is there (first fragment, 4 bytes captured), else -1. */
  l4Off: number;
}

/**
 * Locates the network and transport headers without decoding (bounded, no allocation: pass an
 * object to reuse).
 *
 * @example
 * ```ts
 * import { peekPacket } from "./filter.ts";
 * // const p = peekPacket(bytes, "raw"); p.proto === 6
 * ```
 */
export function peekPacket(b: Uint8Array, linkType: LinkType, out: PacketPeek = newPeek()): PacketPeek {
  out.l3 = 0;
  out.l3Off = 0;
  out.srcOff = out.dstOff = out.addrLen = 0;
  out.proto = -1;
  out.l4Off = -1;
  let off = 0;
  let et: number;
  if (linkType === "ethernet") {
    if (b.length < 14) return out;
    et = (b[12]! << 8) | b[13]!;
    off = 14;
    for (let i = 0; i < 8 && (et === 0x8100 || et === 0x88a8); i++) {
      if (b.length < off + 4) return out;
      et = (b[off + 2]! << 8) | b[off + 3]!;
      off += 4;
    }
  } else {
    if (b.length < 1) return out;
    const v = b[0]! >> 4;
    et = v === 4 ? 0x0800 : v === 6 ? 0x86dd : 0;
  }
  out.l3Off = off;
  if (et === 0x0806) {
    // Ethernet/IPv4 ARP only
    if (b.length < off + 28 || b[off + 4] !== 6 || b[off + 5] !== 4) return out;
    out.l3 = 1;
    out.srcOff = off + 14;
    out.dstOff = off + 24;
    out.addrLen = 4;
    return out;
  }
  if (et === 0x0800) {
    if (b.length < off + 20 || b[off]! >> 4 !== 4) return out;
    out.l3 = 4;
    out.srcOff = off + 12;
    out.dstOff = off + 16;
    out.addrLen = 4;
    out.proto = b[off + 9]!;
    const ihl = (b[off]! & 15) * 4;
    const frag = ((b[off + 6]! & 0x1f) << 8) | b[off + 7]!;
    if (ihl >= 20 && frag === 0 && b.length >= off + ihl + 4) out.l4Off = off + ihl;
    return out;
  }
  if (et === 0x86dd) {
    if (b.length < off + 40 || b[off]! >> 4 !== 6) return out;
    out.l3 = 6;
    out.srcOff = off + 8;
    out.dstOff = off + 24;
    out.addrLen = 16;
    let nh = b[off + 6]!;
    let p = off + 40;
    for (let i = 0; i <= MAX_IPV6_EXTENSIONS && IPV6_EXT_NAMES[nh] !== undefined; i++) {
      if (b.length < p + 8) {
        out.proto = -1;
        return out;
      }
      if (nh === 44) {
        const fo = ((b[p + 2]! << 8) | b[p + 3]!) & 0xfff8;
        nh = b[p]!;
        if (fo !== 0) {
          out.proto = nh;
          return out;
        }
        p += 8;
      } else {
        const len = (b[p + 1]! + 1) * 8;
        nh = b[p]!;
        p += len;
      }
    }
    if (IPV6_EXT_NAMES[nh] !== undefined) return out;
    out.proto = nh;
    if (b.length >= p + 4) out.l4Off = p;
    return out;
  }
  return out;
}

function newPeek(): PacketPeek {
  return { l3: 0, l3Off: 0, srcOff: 0, dstOff: 0, addrLen: 0, proto: -1, l4Off: -1 };
}

type Pred = (b: Uint8Array, p: PacketPeek) => boolean;

function addrEq(b: Uint8Array, off: number, a: Uint8Array): boolean {
  for (let i = 0; i < a.length; i++) if (b[off + i] !== a[i]) return false;
  return true;
}

function netEq(b: Uint8Array, off: number, a: Uint8Array, prefix: number): boolean {
  const full = prefix >> 3;
  for (let i = 0; i < full; i++) if (b[off + i] !== a[i]) return false;
  const rem = prefix & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return ((b[off + full]! ^ a[full]!) & mask) === 0;
}

function l3Allowed(p: PacketPeek, proto: Proto | undefined, len: number): boolean {
  if (p.addrLen !== len) return false;
  if (proto === "ip") return p.l3 === 4;
  if (proto === "ip6") return p.l3 === 6;
  if (proto === "arp") return p.l3 === 1;
  return p.l3 !== 0;
}

function compile(n: FilterNode): Pred {
  switch (n.kind) {
    case "and": {
      const a = compile(n.left), c = compile(n.right);
      return (b, p) => a(b, p) && c(b, p);
    }
    case "or": {
      const a = compile(n.left), c = compile(n.right);
      return (b, p) => a(b, p) || c(b, p);
    }
    case "not": {
      const a = compile(n.operand);
      return (b, p) => !a(b, p);
    }
    case "proto":
      switch (n.proto) {
        case "ip":
          return (_b, p) => p.l3 === 4;
        case "ip6":
          return (_b, p) => p.l3 === 6;
        case "arp":
          return (_b, p) => p.l3 === 1;
        case "icmp":
          return (_b, p) => p.l3 === 4 && p.proto === 1;
        case "icmp6":
          return (_b, p) => p.l3 === 6 && p.proto === 58;
        case "tcp":
          return (_b, p) => (p.l3 === 4 || p.l3 === 6) && p.proto === 6;
        case "udp":
          return (_b, p) => (p.l3 === 4 || p.l3 === 6) && p.proto === 17;
      }
      break;
    case "host":
    case "net": {
      const { addr, dir, proto } = n;
      const test = n.kind === "host"
        ? (b: Uint8Array, off: number) => addrEq(b, off, addr)
        : (b: Uint8Array, off: number) => netEq(b, off, addr, (n as { prefix: number }).prefix);
      return (b, p) => {
        if (!l3Allowed(p, proto, addr.length)) return false;
        if (dir === "src") return test(b, p.srcOff);
        if (dir === "dst") return test(b, p.dstOff);
        if (dir === "both") return test(b, p.srcOff) && test(b, p.dstOff);
        return test(b, p.srcOff) || test(b, p.dstOff);
      };
    }
    case "port": {
      const { port, dir, proto } = n;
      const want = proto === "tcp" ? 6 : proto === "udp" ? 17 : -1;
      return (b, p) => {
        if (p.l4Off < 0 || (p.l3 !== 4 && p.l3 !== 6)) return false;
        if (want >= 0 ? p.proto !== want : p.proto !== 6 && p.proto !== 17) return false;
        const sp = (b[p.l4Off]! << 8) | b[p.l4Off + 1]!;
        const dp = (b[p.l4Off + 2]! << 8) | b[p.l4Off + 3]!;
        if (dir === "src") return sp === port;
        if (dir === "dst") return dp === port;
        if (dir === "both") return sp === port && dp === port;
        return sp === port || dp === port;
      };
    }
  }
  throw new Error("unreachable");
}

/** A compiled filter. */
export interface PacketFilter {
  /** The expression as given. */
  readonly expression: string;
  /** The parse tree. */
  readonly ast: FilterNode;
  /** True when the packet matches. Never throws; reuses one scratch object (not reentrant across threads). */
  match(bytes: Uint8Array, linkType: LinkType): boolean;
}

/**
 * Parses and compiles a filter. Throws {@link UsageError} on a bad expression.
 *
 * @example
 * ```ts
 * import { compileFilter } from "./filter.ts";
 * import { buildUdp } from "./build.ts";
 * const f = compileFilter("udp and dst port 53");
 * f.match(buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 5000, dstPort: 53 }), "raw"); // true
 * ```
 */
export function compileFilter(expression: string): PacketFilter {
  const ast = parseFilter(expression);
  const pred = compile(ast);
  const scratch = newPeek();
  return {
    expression,
    ast,
    match(bytes: Uint8Array, linkType: LinkType): boolean {
      return pred(bytes, peekPacket(bytes, linkType, scratch));
    },
  };
}
