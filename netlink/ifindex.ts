/**
 * A device's interface index over a netlink connection: one RTM_GETLINK by name, of which only
 * the ifinfomsg header is read (no attribute is decoded). {@link Rtnl.ifindex} and the CLI's
 * one-shot commands (`route add`, `addr add`, which do not load the whole rtnetlink client) both
 * go through it. And every device's name by index ({@link linkNames}), for `route list`.
 *
 * @module
 */
import { checkIfName } from "../common/ifname.ts";
import type { NetlinkConn } from "./conn.ts";
import type { ByteWriter } from "./core/writer.ts";
import { IFLA, RTEXT_FILTER, RTM } from "./route/constants.ts";

/** struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32, change u32. */
const IFINFOMSG_SIZE = 16;

/**
 * The body of an RTM_GETLINK request: a zeroed struct ifinfomsg (AF_UNSPEC, any index), the
 * device's IFLA_IFNAME (NUL-terminated) when one is asked for, and IFLA_EXT_MASK
 * RTEXT_FILTER_SKIP_STATS (neither reader here wants statistics or VF information). Written
 * directly instead of through the link spec (route/link.ts), whose tables a one-shot command
 * would otherwise evaluate at start-up for two attributes (issue 11).
 *
 * @example
 * ```ts
 * import { ByteWriter } from "./core/writer.ts";
 * import { getLinkRequest } from "./ifindex.ts";
 * const w = new ByteWriter(64);
 * getLinkRequest(w, "lo");
 * w.finish().length; // 16 + 8 + 8
 * ```
 */
export function getLinkRequest(w: ByteWriter, name?: string): void {
  w.zero(IFINFOMSG_SIZE);
  if (name !== undefined) {
    // An ASCII name (checkIfName caps it at 15 bytes) byte by byte; TextEncoder only for the rest:
    // a process's first TextEncoder costs 0.2 ms of a one-shot command's start-up (issue 11).
    let ascii = true;
    for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) >= 0x80) ascii = false;
    const b = ascii ? undefined : new TextEncoder().encode(name);
    const n = b ? b.length : name.length;
    w.u16(4 + n + 1);
    w.u16(IFLA.IFNAME);
    if (b) w.bytes(b);
    else for (let i = 0; i < n; i++) w.u8(name.charCodeAt(i));
    w.u8(0);
    w.align4();
  }
  w.u16(8);
  w.u16(IFLA.EXT_MASK);
  w.u32(RTEXT_FILTER.SKIP_STATS);
}

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
    (w) => getLinkRequest(w, dev),
    // struct ifinfomsg: family u8, pad u8, type u16, index s32, flags u32, change u32.
    (m) => new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength).getInt32(4, true),
    "get link",
    dev,
  );
}

/** A device's index and name: all a route listing prints of it (`dev tun0`). */
export interface LinkName {
  readonly ifindex: number;
  readonly name: string;
}

/** Made on the first name decoded (a listing), not at load: an add never decodes one (issue 11). */
let names: TextDecoder | undefined;

/**
 * The index and IFLA_IFNAME of one RTM_NEWLINK body, reading nothing else: every other
 * attribute is stepped over undecoded. Undefined when the body carries no name.
 *
 * @example
 * ```ts
 * import { linkNameOf } from "./ifindex.ts";
 * const body = new Uint8Array(16 + 8);
 * new DataView(body.buffer).setInt32(4, 7, true);                 // ifi_index
 * body.set([7, 0, 3, 0, 0x74, 0x6b, 0], 16);                       // IFLA_IFNAME "tk"
 * linkNameOf(body); // { ifindex: 7, name: "tk" }
 * ```
 */
export function linkNameOf(body: Uint8Array): LinkName | undefined {
  if (body.length < IFINFOMSG_SIZE) return undefined;
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const ifindex = v.getInt32(4, true);
  for (let at = IFINFOMSG_SIZE; at + 4 <= body.length; ) {
    const len = v.getUint16(at, true);
    if (len < 4 || at + len > body.length) return undefined;
    if ((v.getUint16(at + 2, true) & 0x3fff) === IFLA.IFNAME) {
      const p = body.subarray(at + 4, at + len);
      const nul = p.indexOf(0);
      return { ifindex, name: (names ??= new TextDecoder()).decode(nul < 0 ? p : p.subarray(0, nul)) };
    }
    at += (len + 3) & ~3;
  }
  return undefined;
}

/**
 * Every device's name by index, from one RTM_GETLINK dump of which only the names are decoded
 * (statistics are not even asked for): what `route list` needs to print `dev NAME`, without
 * the rtnetlink client or the full link decoder (start-up, issue 11).
 *
 * @example
 * ```ts
 * import { NetlinkConn } from "./conn.ts";
 * import { linkNames } from "./ifindex.ts";
 * const conn = NetlinkConn.open();
 * (await linkNames(conn)).get(1)?.name; // "lo"
 * conn.close();
 * ```
 */
export async function linkNames(conn: NetlinkConn): Promise<Map<number, LinkName>> {
  const m = new Map<number, LinkName>();
  await conn.dump(
    RTM.GETLINK,
    (w) => getLinkRequest(w),
    (msg) => {
      if (msg.type !== RTM.NEWLINK) return undefined;
      const l = linkNameOf(msg.body);
      if (l) m.set(l.ifindex, l);
      return undefined;
    },
    "list links",
  );
  return m;
}
