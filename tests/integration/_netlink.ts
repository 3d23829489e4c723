// Shared by the netlink integration tests: ip -j helpers and the tunkit-side views.
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { Rtnl } from "../../netlink/rtnl.ts";
import { linkAddressesToIpJson, linkMap, linkToIpJson, routeToIpJson, ruleToIpJson } from "../../netlink/route/json.ts";
import { AF } from "../../netlink/route/constants.ts";

/** `ip -j ARGS` parsed. */
export function ipj(...args: string[]): any[] {
  const r = spawnSync("ip", ["-j", ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip -j ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim() ? JSON.parse(r.stdout) : [];
}

/** `ip ARGS`'s text output, throwing with stderr on failure. */
export function ipText(...args: string[]): string {
  const r = spawnSync("ip", args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

/** Runs `ip ARGS` (split on spaces), throwing with stderr on failure. */
export function ip(cmd: string): void {
  const r = spawnSync("ip", cmd.split(/\s+/), { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${cmd}: ${r.stderr}`);
}

/** No IPv6 DAD in this throwaway namespace: address flags then stay put between two snapshots. */
export function noDad(): void {
  for (const k of ["all", "default"]) {
    try {
      writeFileSync(`/proc/sys/net/ipv6/conf/${k}/accept_dad`, "0");
    } catch {
      // best effort
    }
  }
}

/** tunkit's views of the whole namespace, in `ip -j` shape. */
export async function views(nl: Rtnl): Promise<{ link: any[]; addr: any[]; route: any[]; route6: any[]; rule: any[]; rule6: any[] }> {
  const links = await nl.listLinks();
  const ctx = { links: linkMap(links) };
  const addrs = await nl.listAddresses();
  const all = await nl.listRoutes({ table: "all" });
  return {
    link: links.map((l) => linkToIpJson(l, ctx)),
    addr: links.map((l) => linkAddressesToIpJson(l, addrs, ctx)),
    route: all.filter((r) => r.family === AF.INET).map((r) => routeToIpJson(r, ctx)),
    route6: all.filter((r) => r.family === AF.INET6).map((r) => routeToIpJson(r, ctx)),
    rule: (await nl.listRules(AF.INET)).map((r) => ruleToIpJson(r, ctx)),
    rule6: (await nl.listRules(AF.INET6)).map((r) => ruleToIpJson(r, ctx)),
  };
}

/** The same views from iproute2. */
export function ipViews(): { link: any[]; addr: any[]; route: any[]; route6: any[]; rule: any[]; rule6: any[] } {
  return {
    link: ipj("link", "show"),
    addr: ipj("addr", "show"),
    route: ipj("-4", "route", "show", "table", "all"),
    route6: ipj("-6", "route", "show", "table", "all"),
    rule: ipj("-4", "rule", "show"),
    rule6: ipj("-6", "rule", "show"),
  };
}
