/**
 * `tunkit cleanup`: removes the routes and rules a tunkit that was killed left behind — exactly
 * those that carry tunkit's protocol number (84), in both families and every table.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { cleanupTunkit, linkMap, routeToIpJson, ruleToIpJson } from "../mod.ts";
import type { Ctx } from "./context.ts";
import { printJson } from "./output.ts";
import { ruleToIpText } from "../netlink/view/rule.ts";
import { routeToIpText } from "../netlink/view/route.ts";

/**
 * The `cleanup` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { cleanupCommand } from "./cleanup.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(cleanupCommand(ctx));
 * ```
 */
export function cleanupCommand(ctx: Ctx) {
  return new Command("cleanup")
    .description("remove the routes and rules tunkit left behind (protocol 84), e.g. after a crash")
    .addOption(new Option("--dry-run", "only list what would be removed"))
    .addHelpText(
      "after",
      `
Routes and rules that tunkit socks/http --auto-route installs carry rtnetlink protocol 84
("proto 84" in ip route / ip rule). A tunkit that exits removes its own; one that was killed
cannot. Nothing without that protocol number is touched, and neither are the rules and routes
of a tunnel that still runs: each running tunnel records itself (pid, start time, network
namespace, device, rules) under /run/tunkit (or $TUNKIT_RUN_DIR), and cleanup skips what such
a live owner holds and says so; the records of dead owners go with their leftovers.

Examples:
  sudo tunkit cleanup --dry-run
  sudo tunkit cleanup --json`,
    )
    .action(async (o) => {
      await ctx.perform({
        run: async () => {
          const nl = ctx.rtnl();
          const links = linkMap(await nl.listLinks());
          const r = await cleanupTunkit(nl, !!o.dryRun);
          const rules = r.rules.map((x) => ruleToIpJson(x));
          const routes = r.routes.map((x) => routeToIpJson(x, { links }));
          const skipped = r.skipped.map((s) => ({
            pid: s.pid, kind: s.kind, ifname: s.name,
            rules: s.rules.map((x) => ruleToIpJson(x)), routes: s.routes.map((x) => routeToIpJson(x, { links })),
          }));
          const out = ctx.out;
          const n = (k: number, what: string) => `${k} ${what}${k === 1 ? "" : "s"}`;
          if (out.json) printJson(out, { dryRun: !!o.dryRun, rules, routes, skipped });
          else {
            const verb = o.dryRun ? "would remove" : "removed";
            for (const x of r.rules) out.info(`${verb} rule ${ruleToIpText(x)}`);
            for (const x of r.routes) out.info(`${verb} route ${routeToIpText(x, { links })}`);
            for (const s of skipped) {
              out.info(`skipped ${n(s.rules.length, "rule")}, ${n(s.routes.length, "route")} of the live tunnel ${s.ifname} (tunkit ${s.kind}, pid ${s.pid})`);
            }
            out.info(`${n(rules.length, "rule")}, ${n(routes.length, "route")} ${verb}`);
          }
        },
      });
    });
}
