/**
 * `tunkit version`: the long form of `--version` (commit, build date, runtime, target), and
 * `--json` for scripts and bug reports.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { Ctx } from "./context.ts";
 * import { versionCommand } from "./version-command.ts";
 * const ctx = new Ctx({ stdout: (s) => void s, stderr: (s) => void s });
 * new Command("tunkit").addCommand(versionCommand(ctx));
 * ```
 * @module
 */
import { Command } from "@commander-js/extra-typings";
import type { Ctx } from "./context.ts";
import { buildInfo, versionText } from "./version.ts";

/** The `version` command. */
export function versionCommand(ctx: Ctx) {
  return new Command("version")
    .description("print the version, the commit and date of the build, the runtime and the target")
    .addHelpText(
      "after",
      `
A source checkout prints "source" for what only a release build knows.

Examples:
  tunkit version
  tunkit version --json | jq -r .commit`,
    )
    .action(() =>
      ctx.perform({
        run: async () => {
          ctx.sinks.stdout(versionText(buildInfo(), ctx.opts.json));
        },
      }),
    );
}
