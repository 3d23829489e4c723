/**
 * What the ip views need besides the object itself: the links (index -> name), the name
 * databases, and ip's output switches (-d, -s, -o, -N).
 *
 * @module
 */
import type { Link } from "../route/link.ts";
import { AF } from "../route/constants.ts";
import { defaultIpNames, type IpNames } from "../route/names.ts";

/** Options and lookups shared by every view. */
export interface IpViewContext {
  /** Every link of the namespace, by index (names for dev/master/link, flags for M-DOWN). */
  links?: ReadonlyMap<number, Link>;
  /** Like `ip -d`: add the details. */
  details?: boolean;
  /** Like `ip -s` (1) / `ip -s -s` (2): add statistics. */
  stats?: number;
  /** Like `ip -br`: the brief one-line forms of links, addresses and neighbours. */
  brief?: boolean;
  /** Start address lines with "INDEX: DEV" (ip does with -o, in flushes and in monitors). */
  addressIndex?: boolean;
  /** Like `ip -o`: one line per object (text only). */
  oneline?: boolean;
  /** Name databases; default: the process-wide ones (route/names.ts). */
  names?: IpNames;
  /** The object comes from an RTM_DEL* notification (monitor): ip prints "Deleted". */
  deleted?: boolean;
  /** The listing was filtered by device (`ip neigh show dev X`): ip leaves `dev` out. */
  devFiltered?: boolean;
  /** Clock ticks per second of cache ages (USER_HZ, 100 on Linux). */
  hz?: number;
}

/** @deprecated The older name of {@link IpViewContext}. */
export type IpJsonContext = IpViewContext;

/**
 * Builds an index -> link map for {@link IpViewContext}.
 *
 * @example
 * ```ts
 * import { linkMap } from "./context.ts";
 * linkMap([{ family: 0, type: 1, ifindex: 2, flags: 0, change: 0, name: "eth0" }]).get(2)?.name; // "eth0"
 * ```
 */
export function linkMap(links: Iterable<Link>): Map<number, Link> {
  const m = new Map<number, Link>();
  for (const l of links) m.set(l.ifindex, l);
  return m;
}

/**
 * A device name by index as ip prints it: the link's name, else "if<N>".
 *
 * @example
 * ```ts
 * import { ifName } from "./context.ts";
 * ifName({}, 7); // "if7"
 * ```
 */
export function ifName(ctx: { readonly links?: ReadonlyMap<number, { readonly name?: string }> }, index: number): string {
  return ctx.links?.get(index)?.name ?? `if${index}`;
}

/**
 * The names a view uses.
 *
 * @example
 * ```ts
 * import { namesOf } from "./context.ts";
 * namesOf({}).tableName(254); // "main"
 * ```
 */
export function namesOf(ctx: { readonly names?: IpNames }): IpNames {
  return ctx.names ?? defaultIpNames();
}

/**
 * ip's family_name().
 *
 * @example
 * ```ts
 * import { familyName } from "./context.ts";
 * familyName(10); // "inet6"
 * ```
 */
export function familyName(f: number): string {
  switch (f) {
    case AF.INET: return "inet";
    case AF.INET6: return "inet6";
    case AF.BRIDGE: return "bridge";
    case AF.MPLS: return "mpls";
    case AF.PACKET: return "link";
    default: return "???";
  }
}
