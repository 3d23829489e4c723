/**
 * Bit sets and small enumerations as `ip` prints them: interface flags (`<BROADCAST,UP>`),
 * address flags (`nodad`, `dynamic`), operational states and link-layer types.
 *
 * @module
 */
import { UsageError } from "../../common/errors.ts";
import { IF_OPER, IFA_F, IFF } from "./constants.ts";

/** Operational state names (IFLA_OPERSTATE). */
const OPERSTATES: ReadonlyMap<number, string> = new Map(Object.entries(IF_OPER).map(([k, v]) => [v, k]));

/**
 * Operstate to name as ip prints it.
 *
 * @example
 * ```ts
 * import { operstateName } from "./flags.ts";
 * operstateName(6); // "UP"
 * ```
 */
export function operstateName(n: number): string {
  return OPERSTATES.get(n) ?? String(n);
}

/** Link-layer type names (ip's lib/ll_types.c), by ARPHRD_* number. */
const LINK_TYPES: ReadonlyMap<number, string> = new Map([
  [0, "netrom"], [1, "ether"], [2, "eether"], [3, "ax25"], [4, "pronet"], [5, "chaos"], [6, "ieee802"],
  [7, "arcnet"], [8, "atalk"], [15, "dlci"], [19, "atm"], [23, "metricom"], [24, "ieee1394"], [32, "infiniband"],
  [256, "slip"], [257, "cslip"], [258, "slip6"], [259, "cslip6"], [260, "rsrvd"], [264, "adapt"], [270, "rose"],
  [271, "x25"], [272, "hwx25"], [280, "can"], [512, "ppp"], [513, "hdlc"], [516, "lapb"], [517, "ddcmp"],
  [518, "rawhdlc"], [768, "ipip"], [769, "tunnel6"], [770, "frad"], [771, "skip"], [772, "loopback"],
  [773, "ltalk"], [774, "fddi"], [775, "bif"], [776, "sit"], [777, "ip/ddp"], [778, "gre"], [779, "pimreg"],
  [780, "hippi"], [781, "ash"], [782, "econet"], [783, "irda"], [784, "fcpp"], [785, "fcal"], [786, "fcpl"],
  ...Array.from({ length: 13 }, (_, i) => [787 + i, `fcfb${i}`] as [number, string]),
  [800, "tr"], [801, "ieee802.11"], [802, "ieee802.11/prism"], [803, "ieee802.11/radiotap"],
  [804, "ieee802.15.4"], [805, "ieee802.15.4/monitor"], [820, "phonet"], [821, "phonet_pipe"], [822, "caif"],
  [823, "gre6"], [824, "netlink"], [825, "6lowpan"], [0xfffe, "none"], [0xffff, "void"],
]);

/**
 * Link type to name as ip prints it after `link/`, `[N]` when unknown.
 *
 * @example
 * ```ts
 * import { linkTypeName } from "./flags.ts";
 * linkTypeName(1);     // "ether"
 * linkTypeName(65534); // "none"
 * ```
 */
export function linkTypeName(n: number): string {
  return LINK_TYPES.get(n) ?? `[${n}]`;
}

const LINK_FLAG_ORDER: Array<[number, string]> = [
  [IFF.LOOPBACK, "LOOPBACK"], [IFF.BROADCAST, "BROADCAST"], [IFF.POINTOPOINT, "POINTOPOINT"],
  [IFF.MULTICAST, "MULTICAST"], [IFF.NOARP, "NOARP"], [IFF.ALLMULTI, "ALLMULTI"], [IFF.PROMISC, "PROMISC"],
  [IFF.MASTER, "MASTER"], [IFF.SLAVE, "SLAVE"], [IFF.DEBUG, "DEBUG"], [IFF.DYNAMIC, "DYNAMIC"],
  [IFF.AUTOMEDIA, "AUTOMEDIA"], [IFF.PORTSEL, "PORTSEL"], [IFF.NOTRAILERS, "NOTRAILERS"], [IFF.UP, "UP"],
  [IFF.LOWER_UP, "LOWER_UP"], [IFF.DORMANT, "DORMANT"], [IFF.ECHO, "ECHO"],
];

/**
 * Interface flags as `ip link` prints them, in its order, with NO-CARRIER and M-DOWN.
 * `masterDown` is true when the device named by IFLA_LINK is not up.
 *
 * @example
 * ```ts
 * import { linkFlagNames } from "./flags.ts";
 * linkFlagNames(0x1003); // ["NO-CARRIER", "BROADCAST", "MULTICAST", "UP"]: up but not RUNNING
 * ```
 */
export function linkFlagNames(flags: number, masterDown = false): string[] {
  const out: string[] = [];
  if (flags & IFF.UP && !(flags & IFF.RUNNING)) out.push("NO-CARRIER");
  let rest = flags & ~IFF.RUNNING;
  for (const [bit, name] of LINK_FLAG_ORDER) {
    if (rest & bit) {
      out.push(name);
      rest &= ~bit;
    }
  }
  if (rest) out.push(rest.toString(16));
  if (masterDown) out.push("M-DOWN");
  return out;
}

/** Address flags in `ip` order; `permanent` is special: its absence prints as "dynamic". */
const ADDR_FLAG_ORDER: Array<[number, string]> = [
  [IFA_F.SECONDARY, "secondary"], [IFA_F.NODAD, "nodad"], [IFA_F.OPTIMISTIC, "optimistic"],
  [IFA_F.DADFAILED, "dadfailed"], [IFA_F.HOMEADDRESS, "home"], [IFA_F.DEPRECATED, "deprecated"],
  [IFA_F.TENTATIVE, "tentative"], [IFA_F.PERMANENT, "permanent"], [IFA_F.MANAGETEMPADDR, "mngtmpaddr"],
  [IFA_F.NOPREFIXROUTE, "noprefixroute"], [IFA_F.MCAUTOJOIN, "autojoin"], [IFA_F.STABLE_PRIVACY, "stable-privacy"],
];

/**
 * Address flags as `ip -j addr` keys, in its order ("dynamic" when not permanent; IPv6
 * "secondary" is "temporary"). Leftover bits come back in `rest`.
 *
 * @example
 * ```ts
 * import { addressFlagNames } from "./flags.ts";
 * addressFlagNames(0x82, 10).names; // ["nodad"]
 * ```
 */
export function addressFlagNames(flags: number, family: number): { names: string[]; rest: number } {
  const names: string[] = [];
  let rest = flags;
  for (const [bit, name] of ADDR_FLAG_ORDER) {
    if (bit === IFA_F.PERMANENT) {
      if (!(flags & bit)) names.push("dynamic");
    } else if (flags & bit) {
      names.push(bit === IFA_F.SECONDARY && family === 10 ? "temporary" : name);
    }
    rest &= ~bit;
  }
  return { names, rest };
}

/** Settable address flags by the names `ip addr add` accepts. */
export const ADDRESS_FLAG_BY_NAME: Readonly<Record<string, number>> = {
  nodad: IFA_F.NODAD, optimistic: IFA_F.OPTIMISTIC, home: IFA_F.HOMEADDRESS,
  mngtmpaddr: IFA_F.MANAGETEMPADDR, noprefixroute: IFA_F.NOPREFIXROUTE, autojoin: IFA_F.MCAUTOJOIN,
};

/**
 * Parses address flag names ("nodad", "noprefixroute", …) into a bit mask.
 *
 * @example
 * ```ts
 * import { parseAddressFlags } from "./flags.ts";
 * parseAddressFlags(["nodad", "noprefixroute"]); // 0x202
 * ```
 */
export function parseAddressFlags(names: readonly string[]): number {
  let f = 0;
  for (const n of names) {
    const bit = ADDRESS_FLAG_BY_NAME[n];
    if (bit === undefined) {
      throw new UsageError(`Invalid address flag "${n}": expected one of ${Object.keys(ADDRESS_FLAG_BY_NAME).join(", ")}`);
    }
    f |= bit;
  }
  return f;
}
