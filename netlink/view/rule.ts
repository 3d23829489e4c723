/**
 * Rules as `ip rule show` prints them, text and JSON from one description (ip/iprule.c's
 * print_rule, iproute2 6.x).
 *
 * @module
 */
import { AF, FIB_RULE, FR_ACT, RTPROT } from "../route/constants.ts";
import { routeTypeName } from "../route/names.ts";
import type { Rule } from "../route/rule.ts";
import { type IpViewContext, namesOf } from "./context.ts";
import { hex0x, IpPrinter, type Json } from "./printer.ts";

/**
 * Prints one rule into `p` (see {@link ruleToIpJson} / {@link ruleToIpText}).
 *
 * @example
 * ```ts
 * import { IpPrinter } from "./printer.ts";
 * import { printRule } from "./rule.ts";
 * const p = new IpPrinter(false);
 * printRule(p, { family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 254, action: 1, flags: 0, priority: 32766 });
 * p.text(); // "32766:\tfrom all lookup main"
 * ```
 */
export function printRule(p: IpPrinter, r: Rule, ctx: IpViewContext = {}): void {
  const names = namesOf(ctx);
  const host = r.family === AF.INET6 ? 128 : r.family === AF.INET ? 32 : -1;
  if (ctx.deleted) p.any("deleted", true, "Deleted ");
  p.any("priority", r.priority ?? 0, "%s:\t");
  if (r.flags & FIB_RULE.INVERT) p.any("not", null, "not ");
  if (r.src !== undefined) {
    p.fp("from ");
    p.any("src", r.src, "%s");
    if (r.srcLen !== host) p.any("srclen", r.srcLen, "/%s");
  } else if (r.srcLen) {
    p.any("src", "0", "from %s");
    p.any("srclen", r.srcLen, "/%s");
  } else {
    p.any("src", "all", "from %s");
  }
  if (r.dst !== undefined) {
    p.fp(" to ");
    p.any("dst", r.dst, "%s");
    if (r.dstLen !== host) p.any("dstlen", r.dstLen, "/%s");
  } else if (r.dstLen) {
    p.any("dst", "0", " to %s");
    p.any("dstlen", r.dstLen, "/%s");
  }
  if (r.tos) p.any("tos", names.dsfieldName(r.tos), " tos %s");
  if (r.fwmark !== undefined || r.fwmask !== undefined) {
    p.any("fwmark", hex0x(r.fwmark ?? 0), " fwmark %s");
    if (r.fwmask !== undefined && r.fwmask !== 0xffffffff) p.any("fwmask", hex0x(r.fwmask), "/%s");
  }
  if (r.iifname !== undefined) {
    p.fp(" iif ");
    p.any("iif", r.iifname, "%s");
    if (r.flags & FIB_RULE.IIF_DETACHED) p.any("iif_detached", null, " [detached]");
  }
  if (r.oifname !== undefined) {
    p.fp(" oif ");
    p.any("oif", r.oifname, "%s");
    if (r.flags & FIB_RULE.OIF_DETACHED) p.any("oif_detached", null, " [detached]");
  }
  if (r.l3mdev) p.any("l3mdev", null, " lookup [l3mdev-table]");
  if (r.uidRange) {
    p.any("uid_start", r.uidRange.start, " uidrange %s");
    p.any("uid_end", r.uidRange.end, "-%s");
  }
  if (r.ipProto !== undefined) p.any("ipproto", names.ipProtoName(r.ipProto), " ipproto %s");
  for (const [k, range] of [["sport", r.sportRange], ["dport", r.dportRange]] as const) {
    if (!range) continue;
    if (range.start === range.end) p.any(k, range.start, ` ${k} %s`);
    else {
      p.any(`${k}_start`, range.start, ` ${k} %s`);
      p.any(`${k}_end`, range.end, "-%s");
    }
  }
  if (r.tunId !== undefined) p.any("tun_id", Number(r.tunId), " tun_id %s");
  if (r.table) {
    p.any("table", names.tableName(r.table), " lookup %s");
    if (r.suppressPrefixlen !== undefined && r.suppressPrefixlen !== 0xffffffff) p.any("suppress_prefixlen", r.suppressPrefixlen | 0, " suppress_prefixlength %s");
    if (r.suppressIfgroup !== undefined && r.suppressIfgroup !== 0xffffffff) p.any("suppress_ifgroup", names.groupName(r.suppressIfgroup), " suppress_ifgroup %s");
  }
  if (r.flow !== undefined) {
    const from = r.flow >>> 16;
    if (from) p.any("flow_from", names.realmName(from), " realms %s/");
    else p.fp(" realms ");
    p.any("flow_to", names.realmName(r.flow & 0xffff), "%s");
  }
  if (r.action === FR_ACT.GOTO) {
    p.any("goto", r.goto ?? "none", " goto %s");
    if (r.flags & FIB_RULE.UNRESOLVED) p.any("unresolved", null, " [unresolved]");
  } else if (r.action === FR_ACT.NOP) {
    p.any("nop", null, " nop");
  } else if (r.action !== FR_ACT.TO_TBL) {
    p.any("action", routeTypeName(r.action), " %s");
  }
  if (r.protocol !== undefined && ((r.protocol && r.protocol !== RTPROT.KERNEL) || ctx.details)) {
    p.any("protocol", names.protocolName(r.protocol), " proto %s");
  }
}

/**
 * A rule as `ip -j rule show` prints it (no `family` key: ip lists one family at a time).
 *
 * @example
 * ```ts
 * import { ruleToIpJson } from "./rule.ts";
 * ruleToIpJson({ family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 254, action: 1, flags: 0, priority: 32766 });
 * // { priority: 32766, src: "all", table: "main" }
 * ruleToIpJson({ family: 2, dstLen: 0, srcLen: 0, tos: 0, table: 0, action: 8, flags: 0, priority: 5, ipProto: 6, dportRange: { start: 80, end: 443 } });
 * // { priority: 5, src: "all", ipproto: "tcp" (from /etc/protocols), dport_start: 80, dport_end: 443, action: "prohibit" }
 * ```
 */
export function ruleToIpJson(r: Rule, ctx: IpViewContext = {}): Json {
  const p = new IpPrinter(true);
  printRule(p, r, ctx);
  return p.object();
}

/**
 * A rule as `ip rule show` prints it: one line, no newline at the end.
 *
 * @example
 * ```ts
 * import { ruleToIpText } from "./rule.ts";
 * ruleToIpText({ family: 2, dstLen: 0, srcLen: 24, tos: 0, table: 100, action: 1, flags: 0, priority: 100, src: "192.0.2.0", fwmark: 16, fwmask: 255 });
 * // "100:\tfrom 192.0.2.0/24 fwmark 0x10/0xff lookup 100"
 * ```
 */
export function ruleToIpText(r: Rule, ctx: IpViewContext = {}): string {
  const p = new IpPrinter(false, ctx.oneline);
  printRule(p, r, ctx);
  return p.text();
}
