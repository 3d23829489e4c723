/**
 * Neighbours as `ip neigh` speaks them: {@link NeighSpec} (add/del/replace/change, proxy
 * entries, states, flags) to the wire object ({@link neighFromSpec}), and {@link NeighFilter}
 * (the selectors of `ip neigh show|flush`) to a predicate ({@link neighFilter}). Pure.
 *
 * @module
 */
import { formatMac, parseMac } from "../../common/addr.ts";
import { UsageError } from "../../common/errors.ts";
import { NLM_F } from "../core/message.ts";
import { AF, NTF, NTF_EXT, NUD } from "../route/constants.ts";
import { formatAddr, parseAddr, parsePrefix, prefixContains } from "../route/ip.ts";
import { defaultIpNames, type IpNames, parseCNumber } from "../route/names.ts";
import type { Neighbour } from "../route/neigh.ts";
import { checkU32, type Dev, num } from "./common.ts";

/** How a new entry meets an existing one. */
export type NeighMode = "create" | "replace" | "change" | "delete";

/**
 * NLM_F_* of RTM_NEWNEIGH per mode (`ip neigh add|replace|change`).
 *
 * @example
 * ```ts
 * import { NEIGH_MODE_FLAGS } from "./neigh.ts";
 * NEIGH_MODE_FLAGS.change; // 0x100 (NLM_F_REPLACE)
 * ```
 */
export const NEIGH_MODE_FLAGS: Readonly<Record<Exclude<NeighMode, "delete">, number>> = {
  create: NLM_F.CREATE | NLM_F.EXCL,
  replace: NLM_F.CREATE | NLM_F.REPLACE,
  change: NLM_F.REPLACE,
};

/** A neighbour entry to add, replace, change or delete: the words of `ip neigh add …`. */
export interface NeighSpec {
  /** The neighbour's IP address (`to ADDR`, or `proxy ADDR` with `proxy`). */
  dst: string;
  /** The device; required except for proxy entries (which may apply to every device). */
  dev?: Dev;
  /** `lladdr LLADDR`; "null" or null sends none. */
  lladdr?: string | null;
  /** `nud STATE`: a state name (permanent — the default —, reachable, stale, noarp, none, …) or NUD_* bits. */
  state?: number | string;
  /** `proxy ADDR`: a proxy ARP / NDP entry (NTF_PROXY). */
  proxy?: boolean;
  /** `router`: the neighbour is an IPv6 router (NTF_ROUTER). */
  router?: boolean;
  /** `use`: mark the entry in use (NTF_USE): the kernel resolves it. */
  use?: boolean;
  /** `managed`: the kernel keeps it resolved (NTF_EXT_MANAGED, state none). */
  managed?: boolean;
  /** `extern_learn`: learned by an external control plane (NTF_EXT_LEARNED). */
  externLearn?: boolean;
  /** `protocol PROTO`: who added it. */
  protocol?: number | string;
}

/**
 * The selectors of `ip neigh show|flush`. States default like ip: show lists every state but
 * noarp (and proxy / extern_learn entries always); flush takes every state but permanent and
 * noarp.
 */
export interface NeighFilter {
  /** AF_INET, AF_INET6 (default: both, or the `to` prefix's). */
  family?: number;
  /** Only this device (filtered by the kernel too). */
  dev?: Dev;
  /** Only entries inside this prefix (`to PREFIX`). */
  to?: string;
  /** `nud STATE…`: names (or "all") or NUD_* bits; replaces the default set. */
  nud?: ReadonlyArray<string | number>;
  /** `proxy`: list the proxy entries instead of the cache. */
  proxy?: boolean;
  /** `protocol PROTO` ("all" = any). */
  protocol?: number | string;
  /** `unused`: only entries nobody references. */
  unused?: boolean;
  /** `master DEV`, or null for `nomaster` (filtered by the kernel). */
  master?: Dev | null;
}

const STATE_ORDER: ReadonlyArray<readonly [number, string]> = [
  [NUD.INCOMPLETE, "INCOMPLETE"], [NUD.REACHABLE, "REACHABLE"], [NUD.STALE, "STALE"], [NUD.DELAY, "DELAY"],
  [NUD.PROBE, "PROBE"], [NUD.FAILED, "FAILED"], [NUD.NOARP, "NOARP"], [NUD.PERMANENT, "PERMANENT"],
];

/**
 * NUD state bits as ip prints them, in its order ("REACHABLE", "PERMANENT", …).
 *
 * @example
 * ```ts
 * import { nudStateNames } from "./neigh.ts";
 * nudStateNames(0x82); // ["REACHABLE", "PERMANENT"]
 * ```
 */
export function nudStateNames(state: number): string[] {
  const out: string[] = [];
  for (const [bit, name] of STATE_ORDER) if (state & bit) out.push(name);
  return out;
}

const abbrev = (arg: string, word: string) => arg.length > 0 && word.startsWith(arg);

/**
 * Parses a `nud` state as ip does: permanent, reachable (abbreviations allowed), noarp, none,
 * stale, incomplete, delay, probe, failed, or one NUD_* bit as a number.
 *
 * @example
 * ```ts
 * import { parseNudState } from "./neigh.ts";
 * parseNudState("perm");  // 0x80
 * parseNudState("stale"); // 0x04
 * ```
 */
export function parseNudState(s: string): number {
  if (abbrev(s, "permanent")) return NUD.PERMANENT;
  if (abbrev(s, "reachable")) return NUD.REACHABLE;
  if (s === "noarp") return NUD.NOARP;
  if (s === "none") return NUD.NONE;
  if (s === "stale") return NUD.STALE;
  if (s === "incomplete") return NUD.INCOMPLETE;
  if (s === "delay") return NUD.DELAY;
  if (s === "probe") return NUD.PROBE;
  if (abbrev(s, "failed")) return NUD.FAILED;
  const n = parseCNumber(s);
  if (n !== undefined && n < 0x100 && (n & (n - 1)) === 0) return n;
  throw new UsageError(`Invalid nud state "${s}": expected permanent, reachable, stale, noarp, none, incomplete, delay, probe or failed`);
}

/**
 * Builds the wire object of `ip neigh add|del|replace|change` (state permanent unless told,
 * family from the address). `ifindex` is the resolved device (0 for none). Throws UsageError.
 *
 * @example
 * ```ts
 * import { neighFromSpec } from "./neigh.ts";
 * neighFromSpec({ dst: "192.0.2.7", lladdr: "02:00:00:00:00:07" }, 3);
 * // { family: 2, ifindex: 3, state: 128, flags: 0, type: 0, dst: "192.0.2.7", lladdr: "02:00:00:00:00:07" }
 * neighFromSpec({ dst: "2001:db8::5", proxy: true }, 0).flags; // 8 (NTF_PROXY)
 * ```
 */
export function neighFromSpec(spec: NeighSpec, ifindex: number, names: IpNames = defaultIpNames()): Partial<Neighbour> {
  const dst = parseAddr(spec.dst);
  let state = spec.state === undefined ? NUD.PERMANENT : typeof spec.state === "number" ? spec.state : parseNudState(spec.state);
  checkU32(state, "nud state", 0, 0xffff);
  let flags = 0;
  if (spec.proxy) flags |= NTF.PROXY;
  if (spec.router) flags |= NTF.ROUTER;
  if (spec.use) flags |= NTF.USE;
  if (spec.externLearn) flags |= NTF.EXT_LEARNED;
  if (spec.managed) state = NUD.NONE;
  if (!spec.proxy && !ifindex) throw new UsageError(`Missing device for neighbour "${spec.dst}": dev DEV is required (except for proxy entries)`);
  const n: Partial<Neighbour> = { family: dst.length === 4 ? AF.INET : AF.INET6, ifindex, state, flags, type: 0 };
  const proto = num(spec.protocol, (s) => names.parseProtocol(s));
  checkU32(proto, "protocol", 0, 255);
  if (proto !== undefined) n.protocol = proto;
  n.dst = formatAddr(dst);
  if (spec.managed) n.flagsExt = NTF_EXT.MANAGED;
  if (spec.lladdr !== undefined && spec.lladdr !== null && spec.lladdr !== "null") {
    const b = parseMac(spec.lladdr);
    if (b.length > 20) throw new UsageError(`Invalid link-layer address "${spec.lladdr}": at most 20 bytes`);
    n.lladdr = formatMac(b);
  }
  return n;
}

/**
 * The NUD mask a filter selects (0x100 stands for state "none", as in ip).
 *
 * @example
 * ```ts
 * import { neighStateMask } from "./neigh.ts";
 * neighStateMask({});                  // 0xbf: every state but noarp (show)
 * neighStateMask({ nud: ["none"] });   // 0x100
 * ```
 */
export function neighStateMask(f: NeighFilter, flush = false): number {
  if (!f.nud?.length) return flush ? ~(NUD.PERMANENT | NUD.NOARP) : 0xff & ~NUD.NOARP;
  let mask = 0;
  for (const s of f.nud) {
    let st: number;
    if (s === "all") st = flush ? ~NUD.NOARP : ~0;
    else st = typeof s === "number" ? s : parseNudState(s);
    mask |= st === 0 ? 0x100 : st;
  }
  return mask;
}


/**
 * Compiles `ip neigh show|flush` selectors into a predicate over decoded entries (the device
 * and master are matched by index: resolve names first). `flush` switches the default states.
 *
 * @example
 * ```ts
 * import { neighFilter } from "./neigh.ts";
 * const keep = neighFilter({ nud: ["stale"] });
 * keep({ family: 2, ifindex: 3, state: 0x04, flags: 0, type: 1, dst: "192.0.2.9" }); // true
 * keep({ family: 2, ifindex: 3, state: 0x02, flags: 0, type: 1, dst: "192.0.2.8" }); // false
 * ```
 */
export function neighFilter(f: NeighFilter, flush = false, names: IpNames = defaultIpNames()): (n: Neighbour) => boolean {
  const mask = neighStateMask(f, flush);
  const to = f.to === undefined ? undefined : parsePrefix(f.to, f.family ?? AF.UNSPEC);
  const family = f.family ?? to?.family ?? AF.UNSPEC;
  const proto = f.protocol === undefined || f.protocol === "all" ? 0 : num(f.protocol, (s) => names.parseProtocol(s))!;
  const index = typeof f.dev === "number" ? f.dev : undefined;
  return (n) => {
    if (family && n.family !== family) return false;
    if (index && n.ifindex !== index) return false;
    if (!(mask & n.state) && !(n.flags & NTF.PROXY) && !(n.flags & NTF.EXT_LEARNED) && (n.state || !(mask & 0x100))) return false;
    if (to && to.len > 0 && n.dst !== undefined && !prefixContains(to, parseAddr(n.dst))) return false;
    if (proto && (n.protocol ?? 0) !== proto) return false;
    if (f.unused && n.cacheInfo?.refcnt) return false;
    return true;
  };
}
