/**
 * Monitor events as `ip monitor` prints them: the object's own view with "Deleted " for
 * removals, "miss" for neighbour requests, address lines prefixed "INDEX: DEV", link lines
 * without mode and qlen, cloned routes left out; with `label`, the "[LINK]"/"[ADDR]"/"[ROUTE]"/
 * "[RULE]"/"[NEIGH]" banner of `ip monitor label`.
 *
 * @module
 */
import type { MonitorEvent } from "../monitor.ts";
import { RTM_F } from "../route/constants.ts";
import { printAddress } from "./addr.ts";
import { printLink, type LinkViewContext } from "./link.ts";
import { printNeigh } from "./neigh.ts";
import { IpPrinter } from "./printer.ts";
import { printRoute } from "./route.ts";
import { printRule } from "./rule.ts";

const LABELS: Readonly<Record<string, string>> = { link: "[LINK]", address: "[ADDR]", route: "[ROUTE]", rule: "[RULE]", neighbour: "[NEIGH]" };

/**
 * One monitor event as ip monitor's text (no trailing newline), or undefined for what ip does
 * not print (cloned routes). An overrun becomes a line that says so.
 *
 * @example
 * ```ts
 * import { monitorEventToIpText } from "./monitor.ts";
 * monitorEventToIpText({ kind: "rule", action: "new", value: { family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 5, action: 1, flags: 0, priority: 5 } }, {}, true);
 * // "[RULE]5:\tfrom all lookup 5"
 * ```
 */
export function monitorEventToIpText(ev: MonitorEvent, ctx: LinkViewContext = {}, label = false): string | undefined {
  if (ev.kind === "overrun") return `${label ? "[OVERRUN]" : ""}events were lost (the receive buffer overflowed): list again to resynchronise`;
  const p = new IpPrinter(false, ctx.oneline);
  const c = { ...ctx, deleted: ev.action === "del" };
  if (label) p.fp(LABELS[ev.kind] ?? "");
  switch (ev.kind) {
    case "link":
      printLink(p, ev.value, c, { doLink: false, showQueue: false });
      break;
    case "address":
      printAddress(p, ev.value, { ...c, addressIndex: true });
      break;
    case "route":
      if (ev.value.flags & RTM_F.CLONED) return undefined;
      printRoute(p, ev.value, c);
      break;
    case "rule":
      printRule(p, ev.value, c);
      break;
    case "neighbour":
      printNeigh(p, ev.value, c, ev.action === "get");
      break;
  }
  return p.text();
}
