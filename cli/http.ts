/**
 * `tunkit http NAME --proxy http://[user:pass@]host:port`: tun2http — TCP through HTTP CONNECT,
 * DNS over TCP through the proxy (or fake-ip), other UDP refused with ICMP unreachable. The
 * command shares its implementation with `tunkit socks` (cli/socks.ts).
 *
 * @module
 */
import { httpTunnelCommand } from "./socks.ts";
import type { Ctx } from "./context.ts";

/**
 * The `http` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { httpCommand } from "./http.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(httpCommand(ctx));
 * ```
 */
export function httpCommand(ctx: Ctx) {
  return httpTunnelCommand(ctx);
}
