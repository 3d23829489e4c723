/**
 * The rtnetlink monitor: an async iterator of link, address, route and rule changes on a socket
 * of its own, that never blocks the event loop; ENOBUFS becomes an `overrun` event.
 *
 * @module
 */
import { ERRNO, SysError } from "../ffi/errors.ts";
import { type OpenOptions, SocketTransport, type Transport } from "./conn.ts";
import { NLMSG, parseMessages, type NetlinkMessage } from "./core/message.ts";
import type { Address } from "./route/addr.ts";
import { RTM, RTNLGRP } from "./route/constants.ts";
import { decodeRtnl } from "./route/decode.ts";
import type { Link } from "./route/link.ts";
import type { Route } from "./route/route.ts";
import type { Rule } from "./route/rule.ts";

/** What a monitor yields. */
export type MonitorEvent =
  | { kind: "link"; action: "new" | "del"; value: Link }
  | { kind: "address"; action: "new" | "del"; value: Address }
  | { kind: "route"; action: "new" | "del"; value: Route }
  | { kind: "rule"; action: "new" | "del"; value: Rule }
  /** The kernel dropped events: the socket's receive buffer overflowed (ENOBUFS). Re-dump to resync. */
  | { kind: "overrun" };

/** Groups a monitor joins by default. */
export const DEFAULT_MONITOR_GROUPS: readonly number[] = [
  RTNLGRP.LINK, RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR, RTNLGRP.IPV4_ROUTE, RTNLGRP.IPV6_ROUTE,
  RTNLGRP.IPV4_RULE, RTNLGRP.IPV6_RULE,
];

function toEvent(m: NetlinkMessage): MonitorEvent | undefined {
  if (m.type === NLMSG.DONE || m.type === NLMSG.ERROR || m.type === NLMSG.NOOP) return undefined;
  const d = decodeRtnl(m);
  const action = m.type === RTM.DELLINK || m.type === RTM.DELADDR || m.type === RTM.DELROUTE || m.type === RTM.DELRULE ? "del" : "new";
  switch (d.kind) {
    case "link":
    case "address":
    case "route":
    case "rule":
      return { kind: d.kind, action, value: d.value } as MonitorEvent;
    case "overrun":
      return { kind: "overrun" };
    default:
      return undefined;
  }
}

/**
 * A monitor on its own socket (see {@link Rtnl.monitor}). `transport` replaces the socket in tests.
 */
export function monitor(opts: OpenOptions & { transport?: Transport } = {}): AsyncIterableIterator<MonitorEvent> {
  const t = opts.transport ?? new SocketTransport({ ...opts, groups: opts.groups ?? DEFAULT_MONITOR_GROUPS });
  const queue: MonitorEvent[] = [];
  let done = false;
  const finish = (): IteratorResult<MonitorEvent> => {
    if (!done) {
      done = true;
      t.close();
    }
    return { done: true, value: undefined };
  };
  const it: AsyncIterableIterator<MonitorEvent> = {
    [Symbol.asyncIterator]() {
      return it;
    },
    async next(): Promise<IteratorResult<MonitorEvent>> {
      while (!done) {
        const q = queue.shift();
        if (q) return { done: false, value: q };
        let d: Uint8Array | null;
        try {
          d = t.recv();
        } catch (e) {
          if (e instanceof SysError && e.errno === ERRNO.ENOBUFS) return { done: false, value: { kind: "overrun" } };
          finish();
          throw e;
        }
        if (d) {
          for (const m of parseMessages(d)) {
            const ev = toEvent(m);
            if (ev) queue.push(ev);
          }
          continue;
        }
        await t.wait();
      }
      return { done: true, value: undefined };
    },
    async return(): Promise<IteratorResult<MonitorEvent>> {
      return finish();
    },
  };
  return it;
}

