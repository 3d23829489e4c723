/**
 * Neighbours as `ip neigh show` prints them, text and JSON from one description (ip/ipneigh.c's
 * print_neigh, iproute2 6.x), `-s` statistics included.
 *
 * @module
 */
import { NTF, NTF_EXT } from "../route/constants.ts";
import type { Neighbour } from "../route/neigh.ts";
import { nudStateNames } from "../spec/neigh.ts";
import { ifName, type IpViewContext, namesOf } from "./context.ts";
import { IpPrinter, type Json } from "./printer.ts";

/**
 * Prints one neighbour into `p`. `miss` marks an RTM_GETNEIGH notification (ip monitor).
 *
 * @example
 * ```ts
 * import { IpPrinter } from "./printer.ts";
 * import { printNeigh } from "./neigh.ts";
 * const p = new IpPrinter(false);
 * printNeigh(p, { family: 2, ifindex: 3, state: 0x80, flags: 0, type: 1, dst: "192.0.2.7", lladdr: "02:00:00:00:00:07" }, { links: new Map([[3, { family: 0, type: 1, ifindex: 3, flags: 0, change: 0, name: "tk0" }]]) });
 * p.text(); // "192.0.2.7 dev tk0 lladdr 02:00:00:00:00:07 PERMANENT "
 * ```
 */
export function printNeigh(p: IpPrinter, n: Neighbour, ctx: IpViewContext = {}, miss = false): void {
  if (ctx.deleted) p.any("deleted", true, "Deleted ");
  else if (miss) p.flag("miss", "miss ");
  if (ctx.brief) {
    if (n.dst !== undefined) p.any("dst", n.dst, p.json ? "" : `${n.dst.padEnd(39)} `);
    if (!ctx.devFiltered && n.ifindex) {
      const dev = ifName(ctx, n.ifindex);
      p.any("dev", dev, p.json ? "" : `${dev.padEnd(16)} `);
    }
    if (n.lladdr !== undefined) p.any("lladdr", n.lladdr, "%s");
    return;
  }
  if (n.dst !== undefined) p.any("dst", n.dst, "%s ");
  if (!ctx.devFiltered && n.ifindex) {
    p.fp("dev ");
    p.any("dev", ifName(ctx, n.ifindex), "%s ");
  }
  if (n.lladdr !== undefined) {
    p.fp("lladdr ");
    p.any("lladdr", n.lladdr, "%s ");
  }
  if (n.flags & NTF.ROUTER) p.flag("router", "router ");
  if (n.flags & NTF.PROXY) p.flag("proxy", "proxy ");
  if ((n.flagsExt ?? 0) & NTF_EXT.MANAGED) p.flag("managed", "managed ");
  if (n.flags & NTF.EXT_LEARNED) p.flag("extern_learn", "extern_learn ");
  if (n.flags & NTF.OFFLOADED) p.flag("offload", "offload ");
  if (ctx.stats) {
    const c = n.cacheInfo;
    if (c) {
      const hz = ctx.hz ?? 100;
      if (c.refcnt) p.any("refcnt", c.refcnt, " ref %s");
      p.any("used", Math.floor(c.used / hz), " used %s");
      p.any("confirmed", Math.floor(c.confirmed / hz), "/%s");
      p.any("updated", Math.floor(c.updated / hz), "/%s");
    }
    if (n.probes !== undefined) p.any("probes", n.probes, "probes %s ");
  }
  if (n.state) {
    p.openArray("state");
    for (const s of nudStateNames(n.state)) p.any(null, s, "%s ");
    p.closeArray();
  }
  if (n.protocol) p.any("protocol", namesOf(ctx).protocolName(n.protocol), "proto %s ");
}

/**
 * A neighbour as `ip -j neigh show` prints it.
 *
 * @example
 * ```ts
 * import { neighToIpJson } from "./neigh.ts";
 * neighToIpJson({ family: 2, ifindex: 3, state: 0x02, flags: 0x80, type: 1, dst: "192.0.2.7", lladdr: "02:00:00:00:00:07" });
 * // { dst: "192.0.2.7", dev: "if3", lladdr: "02:00:00:00:00:07", router: null, state: ["REACHABLE"] }
 * ```
 */
export function neighToIpJson(n: Neighbour, ctx: IpViewContext = {}): Json {
  const p = new IpPrinter(true);
  printNeigh(p, n, ctx);
  return p.object();
}

/**
 * A neighbour as `ip neigh show` prints it: one line (ip's trailing space kept), no newline.
 *
 * @example
 * ```ts
 * import { neighToIpText } from "./neigh.ts";
 * neighToIpText({ family: 10, ifindex: 0, state: 0, flags: 0x08, type: 0, dst: "2001:db8::5" });
 * // "2001:db8::5 proxy "
 * ```
 */
export function neighToIpText(n: Neighbour, ctx: IpViewContext = {}): string {
  const p = new IpPrinter(false, ctx.oneline);
  printNeigh(p, n, ctx);
  return p.text();
}
