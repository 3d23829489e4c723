/**
 * `tunkit doctor`: can tun/tap work here, and what to do when not.
 *
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import { diagnose } from "../mod.ts";
import type { Ctx } from "./context.ts";
import { printJson } from "./output.ts";

/**
 * The `doctor` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { doctorCommand } from "./doctor.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(doctorCommand(ctx));
 * ```
 */
export function doctorCommand(ctx: Ctx) {
  return new Command("doctor")
    .description("check /dev/net/tun, CAP_NET_ADMIN, the kernel's tun features and user namespaces")
    .addHelpText(
      "after",
      `
Each check prints ok, warn or FAIL, and what to do for anything not ok.
Exits 1 when a check fails.

Examples:
  tunkit doctor
  tunkit doctor --json | jq '.[] | select(.status != "ok")'`,
    )
    .action(() =>
      ctx.perform({ run: async () => {
      ctx.enter();
      const checks = [...diagnose(), await (await import("../wg/doctor.ts")).checkWgCrypto()];
      const out = ctx.out;
      if (out.json) {
        printJson(out, checks);
      } else {
        const w = Math.max(...checks.map((c) => c.check.length));
        for (const c of checks) {
          out.line(`${(c.status === "fail" ? "FAIL" : c.status).padEnd(4)}  ${c.check.padEnd(w)}  ${c.detail}`);
          if (c.fix && c.status !== "ok") out.line(`${" ".repeat(6 + w)}  fix: ${c.fix}`);
        }
      }
      if (checks.some((c) => c.status === "fail")) ctx.exitCode = 1;
    } }));
}
