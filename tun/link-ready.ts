/**
 * {@link untilLinkCarries}: after attaching to a tun/tap whose link was up without a reader,
 * wait until the kernel routes packets into it, before saying it is ready.
 *
 * A tun/tap without a reader has no carrier. Attaching turns the carrier on at once, but the
 * kernel starts the device's transmit queue (dev_activate) later, from its linkwatch work, which
 * needs the RTNL lock; until then a packet routed into the device is dropped (counted in its TX
 * `dropped`) and never reaches the reader. That work is queued at once ("urgent": an up event
 * with the queue stopped), but at load, or with the RTNL lock busy (namespaces being made and
 * torn down), it ran late enough for a `ping` started on the readiness line to lose its request
 * (echo-ping failed so once in 22 runs under 6 busy loops: ping -c 1 unanswered, echo printed
 * nothing; the likely cause of its session-13 failure and of dump-files' -c 3). Measured, one UDP
 * datagram sent right after TUNSETIFF: 4 of 20 dropped when each attach followed the carrier
 * going down; 4 of 200 with attaches 50 ms apart on a quiet machine, 2 of 150 under 6 busy
 * loops, 0 of 150 after a 20 ms sleep, 0 of 300 after one RTM_GETLINK. tests/integration/tun's
 * "attach readiness" (15 attaches): 1-4 lost in each of 5 runs without the wait, 0 in 6 with it.
 *
 * The readiness: RTM_GETLINK takes the RTNL lock, and linkwatch sets the operational state
 * (IF_OPER_UP) and starts the queue in one hold of it, so a GETLINK that reads "up" comes after
 * the queue was started.
 *
 * @module
 */
import type { Rtnl } from "../netlink/rtnl.ts";
import { IFF, IF_OPER } from "../netlink/route/constants.ts";

/** How long {@link untilLinkCarries} waits at most (then the caller goes on as before). */
export const LINK_READY_MS = 2000;

/**
 * Resolves once link `ifindex` carries packets to its reader: at once when it is down (nothing
 * is routed into it) or its operational state is up (or unknown); else when the kernel has
 * made it up, looking again every 2 ms, at most `ms`. Resolves `true` when ready, `false`
 * when the time ran out.
 *
 * @example
 * ```ts
 * import { Rtnl } from "../netlink/rtnl.ts";
 * import { untilLinkCarries } from "./link-ready.ts";
 * declare const ifindex: number; // a tun this process has just attached to
 * const nl = Rtnl.open();
 * await untilLinkCarries(nl, ifindex); // true: a packet routed into it now reaches us
 * nl.close();
 * ```
 */
export async function untilLinkCarries(rtnl: Rtnl, ifindex: number, ms = LINK_READY_MS): Promise<boolean> {
  const t0 = performance.now();
  for (;;) {
    const l = await rtnl.getLink(ifindex);
    if (!(l.flags & IFF.UP) || l.operstate === undefined || l.operstate === IF_OPER.UP || l.operstate === IF_OPER.UNKNOWN) return true;
    if (performance.now() - t0 >= ms) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
}
