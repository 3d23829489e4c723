/**
 * The types of a tun device's API that other areas' signatures refer to ({@link TunDevice},
 * {@link TunQueue} and their options), in one list: `tunkit/proxy` and `tunkit/wg` re-export it
 * with `export type *` so their documentation is complete. Type-only: no runtime name.
 *
 * @module
 */
export type { TunDevice, TunFlags } from "./device.ts";
export type { ListenOptions, TunQueue } from "./queue.ts";
