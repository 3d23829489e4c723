/**
 * A device's interface index over a netlink connection: one RTM_GETLINK by name, of which only
 * the ifinfomsg header is read (no attribute is decoded). {@link Rtnl.ifindex} and the CLI's
 * one-shot commands (`route add`, `addr add`, which do not load the whole rtnetlink client) both
 * go through it.
 *
 * @module
 */
import { checkIfName } from "../common/ifname.ts";
import type { NetlinkConn } from "./conn.ts";
import { AF, RTEXT_FILTER, RTM } from "./route/constants.ts";
import { encodeLink } from "./route/link.ts";

/** A device: its name, or its index (passed through as is). */
export type DevRef = string | number;

/**
 * The ifindex of `dev` (a number is returned as is). Throws UsageError for a name no device can
 * have, and NetlinkError ENODEV ("get link") when there is no such device.
 *
 * @example
 * ```ts
 * import { NetlinkConn } from "./conn.ts";
 * import { linkIndex } from "./ifindex.ts";
 * const conn = NetlinkConn.open();
 * await linkIndex(conn, "lo"); // 1
 * conn.close();
 * ```
 */
export async function linkIndex(conn: NetlinkConn, dev: DevRef): Promise<number> {
  if (typeof dev === "number") return dev;
  checkIfName(dev);
  return conn.get(
    RTM.GETLINK,
    0,
    (w) => encodeLink(w, { family: AF.UNSPEC, ifindex: 0, extMask: RTEXT_FILTER.VF | RTEXT_FILTER.SKIP_STATS, name: dev }),
    // struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32, change u32.
    (m) => new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength).getInt32(4, true),
    "get link",
    dev,
  );
}
