/**
 * Addresses as `ip addr add|del|replace|change` speaks them: {@link AddressSpec} to the wire
 * object with iproute2's semantics ({@link addressFromSpec}). Pure.
 *
 * @module
 */
import { UsageError } from "../../common/errors.ts";
import type { Address } from "../route/addr.ts";
import { AF, INFINITY_LIFE_TIME, RT_SCOPE } from "../route/constants.ts";
import { parseAddressFlags } from "../route/flags.ts";
import { formatAddr, parseAddr, parsePrefix } from "../route/ip.ts";
import { parseScope } from "../route/names.ts";
import { checkU32, type Dev, num } from "./common.ts";

/** An address to add or delete: `ip addr add LOCAL/LEN [peer PEER/LEN] [brd X|+] dev DEV …`. */
export interface AddressSpec {
  dev: Dev;
  /** "192.0.2.1/24", "2001:db8::1/64" (a bare address is a full-length prefix). */
  address: string;
  /** Point-to-point peer, "198.51.100.1/32": becomes IFA_ADDRESS and gives the prefix length. */
  peer?: string;
  /** Broadcast address, or "+" to compute it from the prefix (IPv4). */
  broadcast?: string;
  label?: string;
  scope?: number | string;
  /** IFA_F_* bits, or names: "nodad", "noprefixroute", "mngtmpaddr", "home", "optimistic", "autojoin". */
  flags?: number | readonly string[];
  /** Seconds, or "forever" (the default). */
  validLft?: number | "forever";
  preferredLft?: number | "forever";
  /** Metric of the prefix route (IFA_RT_PRIORITY). */
  metric?: number;
}


function lifetime(v: number | "forever" | undefined): number {
  if (v === undefined || v === "forever") return INFINITY_LIFE_TIME;
  checkU32(v, "lifetime");
  return v;
}

/** IPv4 broadcast of a prefix: the address with all host bits set. */
function broadcastOf(bytes: Uint8Array, len: number): string {
  const b = bytes.slice();
  for (let i = 0; i < 32; i++) if (i >= len) b[i >> 3]! |= 0x80 >> (i & 7);
  return formatAddr(b);
}

/** Builds the wire object for an address, with iproute2's semantics. */
export function addressFromSpec(spec: AddressSpec, index: number, del = false): Partial<Address> {
  const l = parsePrefix(spec.address);
  const a: Partial<Address> = { family: l.family, prefixLen: l.len, index, local: formatAddr(l.bytes) };
  if (spec.peer !== undefined) {
    const p = parsePrefix(spec.peer, l.family);
    a.address = formatAddr(p.bytes);
    a.prefixLen = p.len;
  } else {
    a.address = a.local;
  }
  if (spec.broadcast !== undefined) {
    if (l.family !== AF.INET) throw new UsageError(`Invalid broadcast "${spec.broadcast}": only IPv4 addresses have one`);
    a.broadcast = spec.broadcast === "+" ? broadcastOf(l.bytes, l.len) : formatAddr(parseAddr(spec.broadcast, AF.INET));
  }
  if (spec.label !== undefined) {
    if (!spec.label.startsWith(typeof spec.dev === "string" ? spec.dev : "")) {
      throw new UsageError(`Invalid label "${spec.label}": must start with the device name "${spec.dev}"`);
    }
    a.label = spec.label;
  }
  const scope = num(spec.scope, parseScope);
  a.scope = scope ?? (!del && l.family === AF.INET && l.bytes[0] === 127 ? RT_SCOPE.HOST : 0);
  a.flags = typeof spec.flags === "number" ? spec.flags : parseAddressFlags(spec.flags ?? []);
  if (spec.validLft !== undefined || spec.preferredLft !== undefined) {
    const valid = lifetime(spec.validLft);
    const preferred = lifetime(spec.preferredLft);
    if (preferred > valid) throw new UsageError(`Invalid lifetimes: preferred_lft "${preferred}" is greater than valid_lft "${valid}"`);
    a.cacheInfo = { preferred, valid, created: 0, updated: 0 };
  }
  if (spec.metric !== undefined) a.rtPriority = spec.metric;
  return a;
}
