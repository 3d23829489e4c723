/**
 * DNS for the tunnel: a strict query decoder and a response encoder (RFC 1035), and the
 * fake-ip pools — A queries are answered with addresses from 198.18.0.0/15 (RFC 2544's
 * benchmarking range), AAAA queries with addresses from fdfe:dcba:9876::/48 (unique-local),
 * that stand for the name, so connections carry the name to the proxy and no query leaves the
 * machine.
 *
 * @module
 */
import { formatIp, parseCidr, parseIp, type Cidr } from "../common/addr.ts";
import { MalformedError, TruncatedError, UsageError } from "../common/errors.ts";
import { Cursor } from "../common/cursor.ts";

/** DNS record types used here. */
export const DNS_TYPE = { A: 1, AAAA: 28 } as const;
/** Response codes. */
export const DNS_RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const;

/** The part of a query the tunnel needs. */
export interface DnsQuery {
  /** Transaction id. */
  id: number;
  /** Header flags as sent (RD is echoed in the response). */
  flags: number;
  /** Opcode (0 query). */
  opcode: number;
  /** The name, lower case, without the trailing dot ("" for the root). */
  name: string;
  /** Query type (1 A, 28 AAAA...). */
  type: number;
  /** Query class (1 IN). */
  class: number;
  /** Offset just after the (first) question. */
  questionEnd: number;
}

/**
 * Decodes a DNS query: header and exactly the first question. Names in a question must not
 * use compression pointers. Throws TruncatedError / MalformedError.
 *
 * @example
 * ```ts
 * import { decodeDnsQuery } from "./dns.ts";
 * import { fromHex } from "../common/hex.ts";
 * decodeDnsQuery(fromHex("1234 0100 0001 0000 0000 0000 03776562076578616d706c650474657374 00 0001 0001"));
 * // { id: 0x1234, flags: 0x0100, opcode: 0, name: "web.example.test", type: 1, class: 1, questionEnd: 34 }
 * ```
 */
export function decodeDnsQuery(msg: Uint8Array): DnsQuery {
  const c = new Cursor(msg, "DNS query");
  const id = c.u16be();
  const flags = c.u16be();
  const qd = c.u16be();
  c.skip(6);
  if (flags & 0x8000) throw new MalformedError("Invalid DNS query: the QR bit says response", 2);
  if (qd < 1) throw new MalformedError("Invalid DNS query: no question", 4);
  const labels: string[] = [];
  let total = 0;
  for (;;) {
    const at = c.pos;
    const len = c.u8();
    if (len === 0) break;
    if (len & 0xc0) throw new MalformedError(`Invalid DNS label length byte "0x${len.toString(16)}" in a question`, at);
    const bytes = c.bytesN(len);
    total += len + 1;
    if (total > 255) throw new MalformedError("Invalid DNS name: longer than 255 bytes", at);
    let s = "";
    for (const ch of bytes) s += String.fromCharCode(ch >= 0x41 && ch <= 0x5a ? ch + 32 : ch);
    labels.push(s);
  }
  const type = c.u16be();
  const cls = c.u16be();
  return { id, flags, opcode: (flags >> 11) & 0xf, name: labels.join("."), type, class: cls, questionEnd: c.pos };
}

/** One answer record for {@link encodeDnsResponse} (its name is the question's). */
export interface DnsAnswer {
  /** Record type (1 A, 28 AAAA...). */
  type: number;
  /** Time to live, in seconds. */
  ttl: number;
  /** Record data (4 bytes for A, 16 for AAAA). */
  data: Uint8Array;
}

/**
 * A response to `query` (its bytes `msg`): the question copied, RD echoed, RA set, `rcode`, and
 * `answers` whose names point at the question (0xc00c).
 *
 * @example
 * ```ts
 * import { decodeDnsQuery, encodeDnsResponse } from "./dns.ts";
 * // const q = decodeDnsQuery(msg);
 * // encodeDnsResponse(msg, q, 0, [{ type: 1, ttl: 1, data: new Uint8Array([198, 18, 1, 0]) }]);
 * ```
 */
export function encodeDnsResponse(msg: Uint8Array, q: DnsQuery, rcode: number, answers: readonly DnsAnswer[] = []): Uint8Array {
  const size = q.questionEnd + answers.reduce((n, a) => n + 12 + a.data.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, q.id);
  dv.setUint16(2, 0x8000 | (q.opcode << 11) | (q.flags & 0x0100) | 0x0080 | (rcode & 0xf));
  dv.setUint16(4, 1);
  dv.setUint16(6, answers.length);
  out.set(msg.subarray(12, q.questionEnd), 12);
  let p = q.questionEnd;
  for (const a of answers) {
    dv.setUint16(p, 0xc00c);
    dv.setUint16(p + 2, a.type);
    dv.setUint16(p + 4, 1);
    dv.setUint32(p + 6, a.ttl >>> 0);
    dv.setUint16(p + 10, a.data.length);
    out.set(a.data, p + 12);
    p += 12 + a.data.length;
  }
  return out;
}

/**
 * A minimal error response (header + question when it decodes, else the bare header) with
 * `rcode`, for queries that cannot be answered.
 *
 * @example
 * ```ts
 * import { dnsErrorResponse, DNS_RCODE } from "./dns.ts";
 * // dnsErrorResponse(msg, DNS_RCODE.SERVFAIL)
 * ```
 */
export function dnsErrorResponse(msg: Uint8Array, rcode: number): Uint8Array | undefined {
  if (msg.length < 12) return undefined;
  try {
    return encodeDnsResponse(msg, decodeDnsQuery(msg), rcode);
  } catch {
    const out = msg.slice(0, 12);
    out[2] = 0x80 | (msg[2]! & 0x79);
    out[3] = 0x80 | (rcode & 0xf);
    out.fill(0, 4);
    return out;
  }
}

/**
 * Name <-> slot bookkeeping shared by both pools: slots `first..last` (numbers), handed out in
 * order, the least recently used name giving its slot up when all are taken.
 */
class NameSlots {
  private next: number;
  private readonly byName = new Map<string, number>();
  /** Slot -> name, in least-recently-used order (oldest first). */
  private readonly bySlot = new Map<number, string>();

  constructor(
    readonly first: number,
    readonly last: number,
  ) {
    this.next = first;
  }

  /** The slot of `name`, allocated on first use; marks it recently used. */
  take(name: string): number {
    let a = this.byName.get(name);
    if (a !== undefined) {
      this.bySlot.delete(a);
      this.bySlot.set(a, name);
      return a;
    }
    a = this.allocate();
    this.byName.set(name, a);
    this.bySlot.set(a, name);
    return a;
  }

  private allocate(): number {
    if (this.bySlot.size >= this.last - this.first + 1) {
      const [old, oldName] = this.bySlot.entries().next().value as [number, string];
      this.bySlot.delete(old);
      this.byName.delete(oldName);
      return old;
    }
    for (;;) {
      const a = this.next;
      this.next = a >= this.last ? this.first : a + 1;
      if (!this.bySlot.has(a)) return a;
    }
  }

  /** The name of slot `a` (marked recently used), or undefined. */
  nameOf(a: number): string | undefined {
    const name = this.bySlot.get(a);
    if (name !== undefined) {
      this.bySlot.delete(a);
      this.bySlot.set(a, name);
    }
    return name;
  }

  get size(): number {
    return this.byName.size;
  }
}

/**
 * The fake-ip pool: each name gets an IPv4 address from the pool and keeps it while it is in
 * use; when the pool is full the least recently used name gives its address up.
 *
 * @example
 * ```ts
 * import { FakeIpPool } from "./dns.ts";
 * const pool = new FakeIpPool("198.18.0.0/15");
 * const a = pool.addressFor("web.example.test"); // "198.18.1.0"
 * pool.nameFor(a); // "web.example.test"
 * ```
 */
export class FakeIpPool {
  /** First and last usable address, as 32-bit numbers. */
  readonly first: number;
  /** Last usable address, as a 32-bit number. */
  readonly last: number;
  /** Network address, as a 32-bit number. */
  readonly network: number;
  /** Netmask, as a 32-bit number. */
  readonly mask: number;
  /** The pool's prefix, canonical ("198.18.0.0/15"). */
  readonly cidr: string;
  private readonly slots: NameSlots;

  /**
   * `cidr`: an IPv4 prefix of length 8..29. The first 256 addresses (or the first 4 of a
   * smaller pool) stay out of the pool for the tun's own addresses.
   */
  constructor(cidr = "198.18.0.0/15", reserve?: number) {
    let parsed: Cidr;
    try {
      parsed = parseCidr(cidr);
    } catch (e) {
      throw new UsageError(`Invalid fake-ip pool "${cidr}": expected an IPv4 prefix like 198.18.0.0/15${reasonOf(e)}`);
    }
    const { bytes: b, prefix: len } = parsed;
    if (b.length !== 4 || len < 8 || len > 29 || !cidr.includes("/")) throw new UsageError(`Invalid fake-ip pool "${cidr}": expected an IPv4 prefix of length 8..29`);
    this.mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
    this.network = (((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 & this.mask) >>> 0;
    const size = 2 ** (32 - len);
    const skip = reserve ?? (size >= 1024 ? 256 : 4);
    this.first = this.network + skip;
    this.last = this.network + size - 2;
    if (this.last < this.first) throw new UsageError(`Invalid fake-ip pool "${cidr}": no address left after the ${skip} reserved ones`);
    this.slots = new NameSlots(this.first, this.last);
    this.cidr = `${formatIp(toBytes(this.network))}/${len}`;
  }

  /** True when the 32-bit address `a` is inside the pool's prefix. */
  contains(a: number): boolean {
    return ((a & this.mask) >>> 0) === this.network;
  }

  /** True when the 4 bytes at `off` of `b` are inside the pool's prefix. */
  containsAt(b: Uint8Array, off: number): boolean {
    return this.contains(((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0);
  }

  /** The address standing for `name` (allocated on first use), as text. */
  addressFor(name: string): string {
    return formatIp(toBytes(this.slots.take(name)));
  }

  /** The name a pool address stands for (text or 32-bit number), or undefined. */
  nameFor(addr: string | number): string | undefined {
    const a = typeof addr === "number" ? addr : fromBytes(parseIpOr(addr, 4));
    return this.slots.nameOf(a);
  }

  /** Names currently mapped. */
  get size(): number {
    return this.slots.size;
  }
}

/**
 * Default IPv6 fake-ip pool: a /48 of the unique-local range (RFC 4193).
 *
 * @example
 * ```ts
 * import { DEFAULT_FAKE_IP6_POOL, FakeIp6Pool } from "./dns.ts";
 * new FakeIp6Pool(DEFAULT_FAKE_IP6_POOL).cidr; // "fdfe:dcba:9876::/48"
 * ```
 */
export const DEFAULT_FAKE_IP6_POOL = "fdfe:dcba:9876::/48";

/**
 * The IPv6 fake-ip pool (AAAA answers; sing-box calls it inet6_range): each name gets an
 * address from the prefix and keeps it while it is in use. Addresses are handed out from
 * `prefix::100` on (the first 256 stay free for the tun's own address and a resolver address,
 * the first 4 in a prefix of fewer than 1024 addresses); at most `limit` names (default
 * 131072, the size of the IPv4 pool) are held, then the least recently used one gives its
 * address up.
 *
 * @example
 * ```ts
 * import { FakeIp6Pool } from "./dns.ts";
 * const pool = new FakeIp6Pool("fdfe:dcba:9876::/48");
 * const a = pool.addressFor("web.example.test"); // "fdfe:dcba:9876::100"
 * pool.nameFor(a); // "web.example.test"
 * ```
 */
export class FakeIp6Pool {
  /** The prefix, canonical ("fdfe:dcba:9876::/48"). */
  readonly cidr: string;
  /** Prefix length of the pool. */
  readonly prefixLen: number;
  /** The network address (host bits zero), 16 bytes. */
  private readonly net: Uint8Array;
  /** Host bits that can be set in the last 32 bits of the address. */
  private readonly hostMask: number;
  private readonly slots: NameSlots;

  /** `cidr`: an IPv6 prefix of length 8..125. */
  constructor(cidr = DEFAULT_FAKE_IP6_POOL, opts: { reserve?: number; limit?: number } = {}) {
    let parsed: Cidr;
    try {
      parsed = parseCidr(cidr);
    } catch (e) {
      throw new UsageError(`Invalid IPv6 fake-ip pool "${cidr}": expected an IPv6 prefix like ${DEFAULT_FAKE_IP6_POOL}${reasonOf(e)}`);
    }
    const { bytes: net, prefix: len } = parsed;
    if (net.length !== 16 || len < 8 || len > 125 || !cidr.includes("/")) throw new UsageError(`Invalid IPv6 fake-ip pool "${cidr}": expected an IPv6 prefix of length 8..125`);
    for (let bit = len; bit < 128; bit++) net[bit >> 3] = net[bit >> 3]! & ~(0x80 >> (bit & 7));
    this.net = net;
    this.prefixLen = len;
    const hostBits = 128 - len;
    this.hostMask = hostBits >= 32 ? 0xffffffff : 2 ** hostBits - 1;
    const size = 2 ** hostBits;
    const skip = opts.reserve ?? (size >= 1024 ? 256 : 4);
    const limit = opts.limit ?? 1 << 17;
    if (!(Number.isInteger(limit) && limit >= 1 && limit <= 2 ** 31)) throw new UsageError(`Invalid IPv6 fake-ip pool limit "${limit}": expected 1..2147483648`);
    const last = Math.min(size - 1, skip + limit - 1);
    if (!(Number.isInteger(skip) && skip >= 0) || last < skip) throw new UsageError(`Invalid IPv6 fake-ip pool "${cidr}": no address left after the ${skip} reserved ones`);
    this.slots = new NameSlots(skip, last);
    this.cidr = `${formatIp(net)}/${len}`;
  }

  /** True when the 16 bytes at `off` of `b` are inside the pool's prefix. */
  containsAt(b: Uint8Array, off: number): boolean {
    const net = this.net;
    const len = this.prefixLen;
    const whole = len >> 3;
    for (let i = 0; i < whole; i++) if (b[off + i] !== net[i]) return false;
    const rest = len & 7;
    return rest === 0 || ((b[off + whole]! ^ net[whole]!) & (0xff << (8 - rest)) & 0xff) === 0;
  }

  /** The address standing for `name` (allocated on first use), as text. */
  addressFor(name: string): string {
    const slot = this.slots.take(name);
    const b = this.net.slice();
    // slot < 2^hostBits and the network's host bits are zero: OR-ing it in is adding it.
    b[12] = b[12]! | (slot >>> 24);
    b[13] = b[13]! | ((slot >>> 16) & 0xff);
    b[14] = b[14]! | ((slot >>> 8) & 0xff);
    b[15] = b[15]! | (slot & 0xff);
    return formatIp(b);
  }

  /** The name a pool address (text, or 16 bytes at `off`) stands for, or undefined. */
  nameFor(addr: string | Uint8Array, off = 0): string | undefined {
    let b: Uint8Array;
    if (typeof addr === "string") {
      b = parseIpOr(addr, 6);
      off = 0;
    } else b = addr;
    if (b.length < off + 16 || !this.containsAt(b, off)) return undefined;
    // Allocated addresses differ from the network only in the last 32 bits.
    for (let i = 0; i < 12; i++) if (b[off + i] !== this.net[i]) return undefined;
    const low = ((b[off + 12]! << 24) | (b[off + 13]! << 16) | (b[off + 14]! << 8) | b[off + 15]!) >>> 0;
    return this.slots.nameOf((low & this.hostMask) >>> 0);
  }

  /** Names currently mapped. */
  get size(): number {
    return this.slots.size;
  }
}

function toBytes(a: number): Uint8Array {
  return Uint8Array.of((a >>> 24) & 0xff, (a >>> 16) & 0xff, (a >>> 8) & 0xff, a & 0xff);
}

/** The 32-bit value of 4 bytes; -1 for anything else (no IPv4 address). */
function fromBytes(b: Uint8Array): number {
  return b.length === 4 ? ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0 : -1;
}

/** The address's bytes (common/addr.ts's strict parser), or no bytes when it is not one of `version`. */
function parseIpOr(text: string, version: 4 | 6): Uint8Array {
  try {
    return parseIp(text, version);
  } catch {
    return new Uint8Array(0);
  }
}

/** ": <parseIp's reason>" when it said more than "expected …" (a zone index, a leading zero). */
function reasonOf(e: unknown): string {
  const why = /": (.*)$/.exec((e as Error).message)?.[1];
  return why && !why.startsWith("expected") ? ` (${why})` : "";
}

/**
 * Answers a query in fake-ip mode: A -> a pool address (TTL 1 s), AAAA -> an address of
 * `pool6` (TTL 1 s; without `pool6` NOERROR without answers, so clients fall back to IPv4),
 * every other type of a valid name -> NOERROR without answers, a name that is not a host name
 * -> REFUSED, a non-query opcode -> NOTIMP. Returns the response and, for A/AAAA, the address.
 *
 * @example
 * ```ts
 * import { answerFakeIp, FakeIpPool, FakeIp6Pool } from "./dns.ts";
 * // const { response, address } = answerFakeIp(msg, new FakeIpPool(), new FakeIp6Pool());
 * ```
 */
export function answerFakeIp(msg: Uint8Array, pool: FakeIpPool, pool6?: FakeIp6Pool): { response: Uint8Array; query?: DnsQuery; address?: string } {
  let q: DnsQuery;
  try {
    q = decodeDnsQuery(msg);
  } catch (e) {
    if (!(e instanceof TruncatedError) && !(e instanceof MalformedError)) throw e;
    const r = dnsErrorResponse(msg, DNS_RCODE.FORMERR);
    return { response: r ?? new Uint8Array(0) };
  }
  if (q.opcode !== 0) return { response: encodeDnsResponse(msg, q, DNS_RCODE.NOTIMP), query: q };
  if (q.name === "" || !/^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?)*$/.test(q.name)) {
    return { response: encodeDnsResponse(msg, q, DNS_RCODE.REFUSED), query: q };
  }
  if (q.type === DNS_TYPE.A && q.class === 1) {
    const address = pool.addressFor(q.name);
    const data = parseIp(address, 4);
    return { response: encodeDnsResponse(msg, q, DNS_RCODE.NOERROR, [{ type: DNS_TYPE.A, ttl: 1, data }]), query: q, address };
  }
  if (pool6 && q.type === DNS_TYPE.AAAA && q.class === 1) {
    const address = pool6.addressFor(q.name);
    const data = parseIp(address, 6);
    return { response: encodeDnsResponse(msg, q, DNS_RCODE.NOERROR, [{ type: DNS_TYPE.AAAA, ttl: 1, data }]), query: q, address };
  }
  return { response: encodeDnsResponse(msg, q, DNS_RCODE.NOERROR), query: q };
}

/**
 * DNS over TCP framing (RFC 1035 4.2.2: a 2-byte length before each message), both ways:
 * {@link DnsTcpFramer.push} collects stream bytes and returns the whole messages in them,
 * {@link frameDnsTcp} prefixes a message with its length.
 *
 * @example
 * ```ts
 * import { DnsTcpFramer, frameDnsTcp } from "./dns.ts";
 * const f = new DnsTcpFramer();
 * const wire = frameDnsTcp(new Uint8Array([1, 2, 3]));
 * f.push(wire.subarray(0, 2)); // []
 * f.push(wire.subarray(2)); // [[1, 2, 3]] (one message: a Uint8Array)
 * ```
 */
export class DnsTcpFramer {
  private buf = new Uint8Array(0);

  /** Adds stream bytes; returns the messages now complete (copies). */
  push(d: Uint8Array): Uint8Array[] {
    const all = new Uint8Array(this.buf.length + d.length);
    all.set(this.buf);
    all.set(d, this.buf.length);
    const out: Uint8Array[] = [];
    let p = 0;
    while (all.length - p >= 2) {
      const n = (all[p]! << 8) | all[p + 1]!;
      if (all.length - p < 2 + n) break;
      out.push(all.slice(p + 2, p + 2 + n));
      p += 2 + n;
    }
    this.buf = all.slice(p);
    return out;
  }
}

/**
 * `msg` with its 2-byte length in front (DNS over TCP).
 *
 * @example
 * ```ts
 * import { frameDnsTcp } from "./dns.ts";
 * frameDnsTcp(new Uint8Array([7])); // Uint8Array [0, 1, 7]
 * ```
 */
export function frameDnsTcp(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + msg.length);
  out[0] = msg.length >> 8;
  out[1] = msg.length & 0xff;
  out.set(msg, 2);
  return out;
}
