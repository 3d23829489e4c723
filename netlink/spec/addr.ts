/**
 * Addresses as `ip addr` speaks them: {@link AddressSpec} (add/change/replace/del: local,
 * peer, brd +|-|ADDR, anycast, label, scope, flags, lifetimes, metric) to the wire object with
 * iproute2's semantics ({@link addressFromSpec}), and {@link AddressFilter} (the selectors of
 * `ip addr show|flush`) to a predicate ({@link addressFilter}). Pure.
 *
 * @module
 */
import { UsageError } from "../../common/errors.ts";
import type { Address } from "../route/addr.ts";
import { ADDRESS_FLAG_WORDS } from "../route/addr-flags.ts";
import { AF, IFA_F, INFINITY_LIFE_TIME, RT_SCOPE } from "../route/constants.ts";
import { formatAddr, parseAddr, parsePrefix, type Prefix, prefixContains } from "../route/ip.ts";
import { defaultIpNames, type IpNames, parseCNumber } from "../route/names.ts";
import { checkU32, type Dev, num } from "./common.ts";

/** An address to add, change, replace or delete: `ip addr add [local] ADDR[/LEN] [peer P] [brd X] dev DEV …`. */
export interface AddressSpec {
  /** The device (name or ifindex). */
  dev: Dev;
  /**
   * The local address: "192.0.2.1/24", "2001:db8::1/64"; a bare address is a full-length
   * prefix — except when deleting an IPv4 address, where ip's bare form deletes the address
   * whatever its prefix length (no IFA_ADDRESS is sent).
   */
  address: string;
  /** Point-to-point peer, "198.51.100.1/32": becomes IFA_ADDRESS and gives the prefix length. */
  peer?: string;
  /**
   * `brd ADDR`, "+" (host bits set) or "-" (host bits clear), computed from the peer (or local)
   * prefix only up to /30 like ip: a /31 or /32 gets no broadcast. IPv4 only.
   */
  broadcast?: string;
  /** `anycast ADDR`. */
  anycast?: string;
  /** `label NAME` (IPv4), at most 15 bytes. */
  label?: string;
  /** `scope`: host, link, global or a number. */
  scope?: number | string;
  /**
   * IFA_F_* bits, or ip's flag words: nodad, optimistic, home, mngtmpaddr (IPv6 only; ignored
   * for IPv4 with a warning, like ip), noprefixroute, autojoin (multicast addresses only).
   * Read-only words (secondary, permanent, tentative, …) are ignored with a warning, like ip.
   */
  flags?: number | readonly string[];
  /** Seconds, or "forever" (the default). */
  validLft?: number | "forever";
  /** `preferred_lft`: seconds or "forever". */
  preferredLft?: number | "forever";
  /** Metric of the prefix route (IFA_RT_PRIORITY; also priority/preference). */
  metric?: number;
}

/** How a new address meets an existing one. */
export type AddressMode = "create" | "replace" | "change" | "delete";

// The table is plain data in route/addr-flags.ts (the address view reads it without this module).
export { ADDRESS_FLAG_WORDS };

function flagWord(name: string) {
  return ADDRESS_FLAG_WORDS.find((f) => f.name === name);
}

/** The settable IFA_F_* bits of a spec for its family, and ip's warnings for the words it ignores. */
function flagsOf(spec: AddressSpec, family: number): { flags: number; warnings: string[] } {
  if (typeof spec.flags === "number") return { flags: spec.flags, warnings: [] };
  let flags = 0;
  const warnings: string[] = [];
  for (const name of spec.flags ?? []) {
    const f = flagWord(name);
    if (!f) {
      throw new UsageError(`Invalid address flag "${name}": expected ${ADDRESS_FLAG_WORDS.filter((w) => !w.readonly).map((w) => w.name).join(", ")}`);
    }
    if (f.readonly) warnings.push(`Warning: ${f.name} option is not mutable from userspace`);
    else if (f.v6only && family !== AF.INET6) warnings.push(`Warning: ${f.name} option can be set only for IPv6 addresses`);
    else flags |= f.mask;
  }
  return { flags, warnings };
}

function lifetime(v: number | "forever" | undefined, what: string): number {
  if (v === undefined || v === "forever") return INFINITY_LIFE_TIME;
  checkU32(v, what);
  return v;
}

function isMulticast(p: Prefix): boolean {
  return p.family === AF.INET ? (p.bytes[0]! & 0xf0) === 0xe0 : p.bytes[0] === 0xff;
}

/**
 * What ip prints as warnings for this spec (and then goes on): flags it ignores, the wildcard
 * IPv4 delete.
 *
 * @example
 * ```ts
 * import { addressSpecWarnings } from "./addr.ts";
 * addressSpecWarnings({ dev: "tk0", address: "192.0.2.9/24", flags: ["nodad"] });
 * // ["Warning: nodad option can be set only for IPv6 addresses"]
 * ```
 */
export function addressSpecWarnings(spec: AddressSpec, mode: AddressMode = "create"): string[] {
  const l = parsePrefix(spec.address);
  const out = flagsOf(spec, l.family).warnings;
  if (mode === "delete" && spec.peer === undefined && l.family === AF.INET && !spec.address.includes("/")) {
    out.push(`Warning: Executing wildcard deletion to stay compatible with old scripts.\n         Explicitly specify the prefix length (${spec.address}/32) to avoid this warning.\n         This special behaviour is likely to disappear in further releases,\n         fix your scripts!`);
  }
  return out;
}

/**
 * Builds the wire object for an address with iproute2's semantics: IFA_ADDRESS is the peer (or
 * the local address), `brd +`/`-` only up to /30, scope host for 127.0.0.0/8 unless given, a
 * bare IPv4 address deletes whatever its prefix length. Throws UsageError on bad input.
 *
 * @example
 * ```ts
 * import { addressFromSpec } from "./addr.ts";
 * addressFromSpec({ dev: 3, address: "192.0.2.5/24", broadcast: "+" }, 3).broadcast;   // "192.0.2.255"
 * addressFromSpec({ dev: 3, address: "10.9.8.2/31", broadcast: "+" }, 3).broadcast;    // undefined (ip: up to /30)
 * addressFromSpec({ dev: 3, address: "10.30.151.99" }, 3, true);
 * // { family: 2, prefixLen: 32, ifindex: 3, local: "10.30.151.99", flags: 0, scope: 0 }: no IFA_ADDRESS
 * ```
 */
export function addressFromSpec(spec: AddressSpec, index: number, del = false, names: IpNames = defaultIpNames()): Partial<Address> {
  const l = parsePrefix(spec.address);
  const a: Partial<Address> = { family: l.family, prefixLen: l.len, ifindex: index, local: formatAddr(l.bytes) };
  let peer: Prefix = l;
  if (spec.peer !== undefined) {
    peer = parsePrefix(spec.peer, l.family);
    a.address = formatAddr(peer.bytes);
    a.prefixLen = peer.len;
  } else if (!(del && l.family === AF.INET && !spec.address.includes("/"))) {
    a.address = a.local;
  }
  if (spec.broadcast !== undefined) {
    if (l.family !== AF.INET) throw new UsageError(`Invalid broadcast "${spec.broadcast}": only IPv4 addresses have one`);
    if (spec.broadcast === "+" || spec.broadcast === "-") {
      if (!del && peer.len <= 30) {
        const b = peer.bytes.slice();
        for (let i = peer.len; i < 32; i++) {
          if (spec.broadcast === "+") b[i >> 3] = b[i >> 3]! | (0x80 >> (i & 7));
          else b[i >> 3] = b[i >> 3]! & ~(0x80 >> (i & 7));
        }
        a.broadcast = formatAddr(b);
      }
    } else {
      a.broadcast = formatAddr(parseAddr(spec.broadcast, AF.INET));
    }
  }
  if (spec.anycast !== undefined) a.anycast = formatAddr(parseAddr(spec.anycast, l.family));
  if (spec.label !== undefined) {
    if (!spec.label || new TextEncoder().encode(spec.label).length > 15) throw new UsageError(`Invalid label "${spec.label}": expected 1..15 bytes`);
    a.label = spec.label;
  }
  const scope = num(spec.scope, (s) => names.parseScope(s));
  checkU32(scope, "scope", 0, 255);
  a.scope = scope ?? (!del && l.family === AF.INET && l.bytes[0] === 127 ? RT_SCOPE.HOST : 0);
  a.flags = flagsOf(spec, l.family).flags;
  if ((a.flags & IFA_F.MCAUTOJOIN) && !isMulticast(l)) throw new UsageError(`Invalid flag "autojoin" for "${spec.address}": autojoin needs a multicast address`);
  if (spec.validLft !== undefined || spec.preferredLft !== undefined) {
    const valid = lifetime(spec.validLft, "valid_lft");
    const preferred = lifetime(spec.preferredLft, "preferred_lft");
    if (valid === 0) throw new UsageError(`Invalid valid_lft "0": an address needs a valid lifetime above zero`);
    if (preferred > valid) throw new UsageError(`Invalid lifetimes: preferred_lft "${preferred}" is greater than valid_lft "${valid}"`);
    a.cacheInfo = { preferred, valid, created: 0, updated: 0 };
  }
  if (spec.metric !== undefined) {
    checkU32(spec.metric, "metric");
    a.rtPriority = spec.metric;
  }
  return a;
}

/**
 * The selectors of `ip addr show|flush` that apply to addresses (`ip addr show` also filters
 * links by up/group/master/type: do that on the links).
 */
export interface AddressFilter {
  /** AF_INET, AF_INET6 (default: both, or the `to` prefix's). */
  family?: number;
  /** Only this device (resolved to an index by Rtnl; filtered by the kernel too). */
  dev?: Dev;
  /** `to PREFIX`: local addresses inside it. */
  to?: string;
  /** `scope SCOPE` ("all" = any). */
  scope?: number | string;
  /**
   * Flag words, each possibly negated with "-": permanent, dynamic, secondary, primary,
   * tentative, deprecated, dadfailed, temporary, nodad, optimistic, home, mngtmpaddr,
   * noprefixroute, autojoin, stable-privacy.
   */
  flags?: readonly string[];
  /** `label PATTERN`: a shell glob over the label (the device name when there is none). */
  label?: string;
}

/**
 * Flags and mask an ip flag filter selects (`-word` negates; dynamic = -permanent, primary = -secondary).
 *
 * @example
 * ```ts
 * import { addressFlagFilter } from "./addr.ts";
 * addressFlagFilter(["primary"]); // { flags: 0, mask: 1 }
 * ```
 */
export function addressFlagFilter(words: readonly string[]): { flags: number; mask: number } {
  let flags = 0;
  let mask = 0;
  for (const w0 of words) {
    let inv = w0.startsWith("-");
    let w = inv ? w0.slice(1) : w0;
    if (w === "dynamic") {
      inv = !inv;
      w = "permanent";
    } else if (w === "primary") {
      inv = !inv;
      w = "secondary";
    }
    const f = flagWord(w);
    if (!f) throw new UsageError(`Invalid address flag "${w0}": expected ${ADDRESS_FLAG_WORDS.map((x) => x.name).join(", ")}, dynamic or primary (- negates)`);
    if (inv) flags &= ~f.mask;
    else flags |= f.mask;
    mask |= f.mask;
  }
  return { flags, mask };
}

/**
 * A shell glob (fnmatch without flags: `*`, `?`, `[…]`) as a RegExp.
 *
 * @example
 * ```ts
 * import { globRegExp } from "./addr.ts";
 * globRegExp("tk0:*").test("tk0:x"); // true
 * ```
 */
export function globRegExp(glob: string): RegExp {
  let re = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += ".*";
    else if (c === "?") re += ".";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 2);
      if (end < 0) re += "\\[";
      else {
        let body = glob.slice(i + 1, end);
        if (body.startsWith("!")) body = "^" + body.slice(1);
        re += `[${body.replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else if (c === "\\" && i + 1 < glob.length) re += "\\" + glob[++i]!;
    else re += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`^${re}$`, "s");
}


/**
 * Compiles `ip addr show|flush` selectors into a predicate over decoded addresses. The device
 * must be given as an index; `devName` supplies the label of an address without one.
 *
 * @example
 * ```ts
 * import { addressFilter } from "./addr.ts";
 * const keep = addressFilter({ flags: ["permanent"], scope: "global" });
 * keep({ family: 2, prefixLen: 24, flags: 0x80, scope: 0, ifindex: 3, local: "192.0.2.1" }); // true
 * ```
 */
export function addressFilter(f: AddressFilter, devName: (index: number) => string | undefined = () => undefined, names: IpNames = defaultIpNames()): (a: Address) => boolean {
  const to = f.to === undefined ? undefined : parsePrefix(f.to, f.family ?? AF.UNSPEC);
  const family = f.family ?? to?.family ?? AF.UNSPEC;
  const scope = f.scope === undefined || f.scope === "all" ? undefined : num(f.scope, (s) => names.parseScope(s));
  const fl = addressFlagFilter(f.flags ?? []);
  const label = f.label === undefined ? undefined : globRegExp(f.label);
  if (f.dev !== undefined && typeof f.dev !== "number") throw new UsageError(`Device "${f.dev}" must be resolved to an index first`);
  return (a) => {
    if (f.dev !== undefined && a.ifindex !== f.dev) return false;
    if (scope !== undefined && a.scope !== scope) return false;
    if ((fl.flags ^ a.flags) & fl.mask) return false;
    if (family && a.family !== family) return false;
    if (label && !label.test(a.label ?? devName(a.ifindex) ?? `if${a.ifindex}`)) return false;
    const local = a.local ?? a.address;
    if (to && to.len > 0 && local !== undefined && !prefixContains(to, parseAddr(local))) return false;
    return true;
  };
}

/**
 * Parses a lifetime word ("forever" or seconds) as ip does.
 *
 * @example
 * ```ts
 * import { parseLifetime } from "./addr.ts";
 * parseLifetime("forever"); // "forever"
 * parseLifetime("300"); // 300
 * ```
 */
export function parseLifetime(s: string): number | "forever" {
  if (s === "forever") return "forever";
  const n = parseCNumber(s);
  if (n === undefined || n > 0xffffffff) throw new UsageError(`Invalid lifetime "${s}": expected seconds 0..4294967295 or forever`);
  return n;
}
