/**
 * The rtnetlink monitor: an async iterator of link, address, route, rule and neighbour changes
 * (every kind of the registry) on a socket of its own, that never blocks the event loop;
 * ENOBUFS becomes an `overrun` event.
 *
 * @module
 */
import { ERRNO, SysError } from "../ffi/errors.ts";
import { type OpenOptions, SocketTransport, type Transport } from "./conn.ts";
import { NLMSG, parseMessages, type NetlinkMessage } from "./core/message.ts";
// The wire half of the registry only: watching changes loads no text or JSON view.
import { groupsOf, type RtnlKind, rtnlKindOf, type RtnlObject, RTNL_CODECS } from "./codecs.ts";

/**
 * What a monitor yields: a change to an object of the registry ("new", "del"; "get" is a
 * neighbour the kernel asks user space to resolve, ip's "miss"), or an overrun.
 */
export type MonitorEvent =
  | { [K in RtnlKind]: { kind: K; action: "new" | "del" | "get"; value: RtnlObject<K> } }[RtnlKind]
  /** The kernel dropped events: the socket's receive buffer overflowed (ENOBUFS). Re-dump to resync. */
  | { kind: "overrun" };

/**
 * Groups a monitor joins by default: those of every kind in the registry (like `ip monitor`).
 *
 * @example
 * ```ts
 * import { DEFAULT_MONITOR_GROUPS } from "./monitor.ts";
 * DEFAULT_MONITOR_GROUPS.includes(3); // true: RTNLGRP_NEIGH
 * ```
 */
export const DEFAULT_MONITOR_GROUPS: readonly number[] = groupsOf();

/**
 * One notification as a monitor event, or undefined for control messages and types the
 * registry does not know.
 *
 * @example
 * ```ts
 * import { parseMessages } from "./core/message.ts";
 * import { monitorEvent } from "./monitor.ts";
 * // for (const m of parseMessages(datagram)) console.log(monitorEvent(m));
 * ```
 */
export function monitorEvent(m: NetlinkMessage): MonitorEvent | undefined {
  if (m.type === NLMSG.OVERRUN) return { kind: "overrun" };
  const k = rtnlKindOf(m.type);
  if (!k) return undefined;
  const action = k.action === "del" ? "del" : k.action === "get" ? "get" : "new";
  return { kind: k.kind, action, value: RTNL_CODECS[k.kind].decode(m.body) } as MonitorEvent;
}

/**
 * A monitor on its own socket (see {@link Rtnl.monitor}): every kind, or `kinds` only (or raw
 * `groups`). `transport` replaces the socket in tests.
 *
 * @example
 * ```ts
 * import { monitor } from "./monitor.ts";
 * for await (const ev of monitor({ netns: "blue", kinds: ["rule", "neighbour"] })) {
 *   if (ev.kind !== "overrun") console.log(ev.kind, ev.action);
 * }
 * ```
 */
export function monitor(opts: OpenOptions & { transport?: Transport; kinds?: readonly RtnlKind[] } = {}): AsyncIterableIterator<MonitorEvent> {
  const groups = opts.groups ?? (opts.kinds ? groupsOf(opts.kinds) : DEFAULT_MONITOR_GROUPS);
  const t = opts.transport ?? new SocketTransport({ ...opts, groups });
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
            const ev = monitorEvent(m);
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

