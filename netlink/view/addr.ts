/**
 * Addresses as `ip addr show` prints them (one `addr_info` entry: the "    inet …" line and its
 * lifetimes line), text and JSON from one description (ip/ipaddress.c's print_addrinfo,
 * iproute2 6.x).
 *
 * @module
 */
import type { Address } from "../route/addr.ts";
import { ADDRESS_FLAG_WORDS } from "../route/addr-flags.ts";
import { IFA_F, INFINITY_LIFE_TIME } from "../route/constants.ts";
import { familyName, ifName, type IpViewContext, namesOf } from "./context.ts";
import { IpPrinter, type Json } from "./printer.ts";

function printFlags(p: IpPrinter, a: Address): void {
  let flags = a.flags;
  for (const f of ADDRESS_FLAG_WORDS) {
    if (f.mask === IFA_F.PERMANENT) {
      if (!(flags & f.mask)) p.any("dynamic", true, "dynamic ");
    } else if (flags & f.mask) {
      if (f.mask === IFA_F.SECONDARY && a.family === 10) p.any("temporary", true, "temporary ");
      else {
        p.fp(`${f.name} `);
        p.jsonOnly(f.name, true);
      }
    }
    flags &= ~f.mask;
  }
  if (flags) p.any("ifa_flags", flags.toString(16).padStart(2, "0"), "flags %s ");
}

/**
 * Prints one address into `p` (see {@link addressToIpJson} / {@link addressToIpText}).
 * With `ctx.oneline` (ip -o) the line starts with "INDEX: DEV".
 *
 * @example
 * ```ts
 * import { IpPrinter } from "./printer.ts";
 * import { printAddress } from "./addr.ts";
 * const p = new IpPrinter(false);
 * printAddress(p, { family: 2, prefixLen: 24, flags: 0x80, scope: 0, ifindex: 3, local: "192.0.2.1", address: "192.0.2.1", broadcast: "192.0.2.255", label: "tk0" });
 * p.text(); // "    inet 192.0.2.1/24 brd 192.0.2.255 scope global tk0"
 * ```
 */
export function printAddress(p: IpPrinter, a: Address, ctx: IpViewContext = {}): void {
  if (ctx.deleted) p.any("deleted", true, "Deleted ");
  if (ctx.oneline || ctx.addressIndex) {
    const dev = ifName(ctx, a.ifindex);
    if (p.json) {
      p.jsonOnly("index", a.ifindex);
      p.jsonOnly("dev", dev);
    } else p.fp(`${a.ifindex}: ${dev}`);
  }
  if (!ctx.brief) {
    const fam = familyName(a.family);
    if (fam !== "???") p.any("family", fam, "    %s ");
    else p.any("family_index", a.family, "    family %s ");
  }
  const local = a.local ?? a.address;
  const peer = a.address ?? a.local;
  if (local !== undefined) {
    p.any("local", local, "%s");
    if (peer !== undefined && peer !== local) {
      p.fp(" peer ");
      p.any("address", peer, "%s");
    }
    p.any("prefixlen", a.prefixLen, "/%s ");
    if (a.rtPriority !== undefined) p.any("metric", a.rtPriority, "metric %s ");
  }
  if (ctx.brief) return;
  if (a.broadcast !== undefined) {
    p.fp("brd ");
    p.any("broadcast", a.broadcast, "%s ");
  }
  if (a.anycast !== undefined) {
    p.fp("any ");
    p.any("anycast", a.anycast, "%s ");
  }
  p.any("scope", namesOf(ctx).scopeName(a.scope), "scope %s ");
  printFlags(p, a);
  if (a.label !== undefined) p.any("label", a.label, "%s");
  const ci = a.cacheInfo;
  if (ci) {
    p.fp(p.sl);
    p.fp("       valid_lft ");
    if (ci.valid === INFINITY_LIFE_TIME) {
      p.jsonOnly("valid_life_time", INFINITY_LIFE_TIME);
      p.fp("forever");
    } else p.any("valid_life_time", ci.valid, "%ssec");
    p.fp(" preferred_lft ");
    if (ci.preferred === INFINITY_LIFE_TIME) {
      p.jsonOnly("preferred_life_time", INFINITY_LIFE_TIME);
      p.fp("forever");
    } else p.any("preferred_life_time", a.flags & IFA_F.DEPRECATED ? ci.preferred | 0 : ci.preferred, "%ssec");
  }
}

/**
 * One `addr_info` entry as `ip -j addr` prints it: family, local, address (the peer, only when
 * it differs from local), prefixlen, metric, broadcast, anycast, scope, flags, label, lifetimes.
 *
 * @example
 * ```ts
 * import { addressToIpJson } from "./addr.ts";
 * addressToIpJson({ family: 2, prefixLen: 32, flags: 0x80, scope: 0, ifindex: 4, local: "192.0.2.9", address: "198.51.100.1" });
 * // { family: "inet", local: "192.0.2.9", address: "198.51.100.1", prefixlen: 32, scope: "global" }
 * ```
 */
export function addressToIpJson(a: Address, ctx: IpViewContext | number = {}): Json {
  // A number is Array.map's index (`addrs.map(addressToIpJson)` keeps working): no context.
  const p = new IpPrinter(true);
  printAddress(p, a, typeof ctx === "number" ? {} : ctx);
  return p.object();
}

/**
 * One address as `ip addr show` prints it under its link: "    inet …" and, when the kernel
 * sent lifetimes, "\n       valid_lft … preferred_lft …" (no newline at the end).
 *
 * @example
 * ```ts
 * import { addressToIpText } from "./addr.ts";
 * addressToIpText({ family: 10, prefixLen: 64, flags: 0x80, scope: 253, ifindex: 3, local: "fe80::1",
 *   cacheInfo: { valid: 0xffffffff, preferred: 0xffffffff, created: 0, updated: 0 } });
 * // "    inet6 fe80::1/64 scope link \n       valid_lft forever preferred_lft forever"
 * ```
 */
export function addressToIpText(a: Address, ctx: IpViewContext = {}): string {
  const p = new IpPrinter(false, ctx.oneline);
  printAddress(p, a, ctx);
  return p.text();
}
