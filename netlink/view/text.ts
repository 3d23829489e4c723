/**
 * Whole listings as ip prints them, for a command line: `ip route show`, `ip rule show`,
 * `ip neigh show`, `ip link show`, `ip addr show` — text (every object's lines, each ending in a
 * newline, exactly ip's bytes) or JSON (the array `ip -j` prints). Pure; the objects come from
 * Rtnl's list* calls.
 *
 * @module
 */
import type { Address } from "../route/addr.ts";
import type { Link } from "../route/link.ts";
import type { Neighbour } from "../route/neigh.ts";
import type { Route } from "../route/route.ts";
import type { Rule } from "../route/rule.ts";
import type { IpViewContext } from "./context.ts";
import { linkAddressesToIpJson, linkAddressesToIpText, linkToIpJson, linkToIpText, type LinkViewContext } from "./link.ts";
import { neighToIpJson, neighToIpText } from "./neigh.ts";
import type { Json } from "./printer.ts";
import { routeToIpJson, routeToIpText, type RouteViewContext } from "./route.ts";
import { ruleToIpJson, ruleToIpText } from "./rule.ts";

/**
 * `ip route show`: one line (or block) per route.
 *
 * @example
 * ```ts
 * import { routesToIpText } from "./text.ts";
 * routesToIpText([{ family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 0, gateway: "192.0.2.1" }]);
 * // "default via 192.0.2.1 \n"
 * ```
 */
export function routesToIpText(routes: readonly Route[], ctx: RouteViewContext = {}): string {
  let out = "";
  for (const r of routes) out += routeToIpText(r, ctx) + "\n";
  return out;
}
/** `ip -j route show`. @example `routesToIpJson(await nl.listRoutes())` */
export function routesToIpJson(routes: readonly Route[], ctx: RouteViewContext = {}): Json[] {
  return routes.map((r) => routeToIpJson(r, ctx));
}
/**
 * `ip rule show`.
 *
 * @example
 * ```ts
 * import { rulesToIpText } from "./text.ts";
 * rulesToIpText([{ family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 254, action: 1, flags: 0, priority: 32766 }]);
 * // "32766:\tfrom all lookup main\n"
 * ```
 */
export function rulesToIpText(rules: readonly Rule[], ctx: IpViewContext = {}): string {
  let out = "";
  for (const r of rules) out += ruleToIpText(r, ctx) + "\n";
  return out;
}
/** `ip -j rule show`. @example `rulesToIpJson(await nl.listRules())` */
export function rulesToIpJson(rules: readonly Rule[], ctx: IpViewContext = {}): Json[] {
  return rules.map((r) => ruleToIpJson(r, ctx));
}
/**
 * `ip neigh show` (set `ctx.devFiltered` when listing one device: ip leaves `dev` out).
 *
 * @example
 * ```ts
 * import { neighboursToIpText } from "./text.ts";
 * neighboursToIpText([{ family: 2, ifindex: 0, state: 0, flags: 8, type: 0, dst: "192.0.2.99" }]);
 * // "192.0.2.99 proxy \n"
 * ```
 */
export function neighboursToIpText(entries: readonly Neighbour[], ctx: IpViewContext = {}): string {
  let out = "";
  for (const n of entries) out += neighToIpText(n, ctx) + "\n";
  return out;
}
/** `ip -j neigh show`. @example `neighboursToIpJson(await nl.listNeighbours())` */
export function neighboursToIpJson(entries: readonly Neighbour[], ctx: IpViewContext = {}): Json[] {
  return entries.map((n) => neighToIpJson(n, ctx));
}
/**
 * `ip link show` (`-d`, `-s`, `-br` through `ctx`).
 *
 * @example
 * ```ts
 * import { linksToIpText } from "./text.ts";
 * linksToIpText([{ family: 0, type: 65534, ifindex: 4, flags: 0x1090, change: 0, name: "tun7", mtu: 1500 }]);
 * // "4: tun7: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 \n    link/none \n"
 * ```
 */
export function linksToIpText(links: readonly Link[], ctx: LinkViewContext = {}): string {
  let out = "";
  for (const l of links) out += linkToIpText(l, ctx) + "\n";
  return out;
}
/** `ip -j link show`. @example `linksToIpJson(await nl.listLinks())` */
export function linksToIpJson(links: readonly Link[], ctx: LinkViewContext = {}): Json[] {
  return links.map((l) => linkToIpJson(l, ctx));
}
/**
 * `ip addr show`: every link with its addresses (of `family` only when given).
 *
 * @example
 * ```ts
 * import { addressesToIpText } from "./text.ts";
 * addressesToIpText([{ family: 0, type: 65534, ifindex: 4, flags: 0x1090, change: 0, name: "tun7", mtu: 1500 }], []);
 * // "4: tun7: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 \n    link/none \n"
 * ```
 */
export function addressesToIpText(links: readonly Link[], addrs: readonly Address[], ctx: LinkViewContext = {}, family?: number): string {
  let out = "";
  for (const l of links) out += linkAddressesToIpText(l, addrs, ctx, family);
  return out;
}
/** `ip -j addr show`. @example `addressesToIpJson(await nl.listLinks(), await nl.listAddresses())` */
export function addressesToIpJson(links: readonly Link[], addrs: readonly Address[], ctx: LinkViewContext = {}, family?: number): Json[] {
  return links.map((l) => linkAddressesToIpJson(l, addrs, ctx, family));
}
