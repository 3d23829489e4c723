/**
 * The plain reads of links and addresses over a bare {@link NetlinkConn}: a link by name or
 * index, every link, every address. {@link Rtnl} answers its `getLink`/`listLinks`/
 * `listAddresses` with them, and the CLI's `list` calls them without loading the rtnetlink
 * client (start-up, issue 11: rtnl.ts brings every object's spec and codec).
 *
 * @module
 */
import { checkIfName } from "../common/ifname.ts";
import type { NetlinkConn } from "./conn.ts";
import { type Address, decodeAddress, encodeAddress } from "./route/addr.ts";
import { AF, RTEXT_FILTER, RTM } from "./route/constants.ts";
import { decodeLink, encodeLink, type Link } from "./route/link.ts";

/**
 * Every link (`ip link show`), fully decoded; `family` narrows the dump like ip's `-f`.
 *
 * @example
 * ```ts
 * import { NetlinkConn } from "./conn.ts";
 * import { dumpLinks } from "./dump.ts";
 * const conn = NetlinkConn.open();
 * (await dumpLinks(conn)).map((l) => l.name); // ["lo", …]
 * conn.close();
 * ```
 */
export function dumpLinks(conn: NetlinkConn, family: number = AF.UNSPEC): Promise<Link[]> {
  // Like ip: the VF filter mask only on AF_UNSPEC dumps (the per-family dumps take no attributes).
  return conn.dump(RTM.GETLINK, (w) => encodeLink(w, { family, extMask: family === AF.UNSPEC ? RTEXT_FILTER.VF : undefined }), (m) => (m.type === RTM.NEWLINK ? decodeLink(m.body) : undefined), "list links");
}

/**
 * One link by name or index; throws UsageError for a name no device can have and NetlinkError
 * ENODEV when there is no such device.
 *
 * @example
 * ```ts
 * import { NetlinkConn } from "./conn.ts";
 * import { getLink } from "./dump.ts";
 * const conn = NetlinkConn.open();
 * (await getLink(conn, "lo")).ifindex; // 1
 * conn.close();
 * ```
 */
export function getLink(conn: NetlinkConn, dev: string | number): Promise<Link> {
  const byName = typeof dev === "string";
  if (byName) checkIfName(dev);
  return conn.get(
    RTM.GETLINK,
    0,
    (w) => encodeLink(w, { family: AF.UNSPEC, ifindex: byName ? 0 : dev, extMask: RTEXT_FILTER.VF | RTEXT_FILTER.SKIP_STATS, name: byName ? dev : undefined }),
    (m) => decodeLink(m.body),
    "get link",
    String(dev),
  );
}

/**
 * The addresses of `family` (0: all) on the device with index `ifindex` (0: every device; a set:
 * those devices) that `keep` accepts (default: all).
 *
 * With a set, the kernel still sends every device's addresses (one dump), and a message of a
 * device outside the set is skipped on its header's index before it is decoded. Why (start-up,
 * issue 11): `tunkit list` wants the tun devices' addresses only, and decoding every other
 * device's cost it the most in a plain namespace: lo's `::1` is IPv6 text, whose formatter
 * (common/addr.ts) evaluates ipaddr.js on first use (bench/cli-startup.ts's header has the numbers).
 *
 * @example
 * ```ts
 * import { NetlinkConn } from "./conn.ts";
 * import { dumpAddresses } from "./dump.ts";
 * const conn = NetlinkConn.open();
 * // The IPv4 addresses of device 1 (lo):
 * const addrs = await dumpAddresses(conn, 2, 1);
 * addrs.every((a) => a.family === 2 && a.ifindex === 1); // true
 * // Every address of devices 1 and 2:
 * (await dumpAddresses(conn, 0, new Set([1, 2]))).every((a) => a.ifindex === 1 || a.ifindex === 2); // true
 * conn.close();
 * ```
 */
export function dumpAddresses(
  conn: NetlinkConn,
  family: number = AF.UNSPEC,
  ifindex: number | ReadonlySet<number> = 0,
  keep: (a: Address) => boolean = () => true,
): Promise<Address[]> {
  const only = typeof ifindex === "number" ? undefined : ifindex;
  return conn.dump(
    RTM.GETADDR,
    (w) => encodeAddress(w, { family, ifindex: only ? 0 : (ifindex as number) }),
    (m) => {
      if (m.type !== RTM.NEWADDR) return undefined;
      // struct ifaddrmsg: family, prefixlen, flags, scope (u8 each), then ifa_index (u32, host order).
      const b = m.body;
      if (only && (b.length < 8 || !only.has((b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0))) return undefined;
      const a = decodeAddress(m.body);
      return keep(a) ? a : undefined;
    },
    "list addresses",
  );
}
