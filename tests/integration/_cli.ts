// Helpers of the CLI's integration tests.
import { readFileSync } from "node:fs";

/**
 * Waits until a NETLINK_ROUTE socket of this namespace has joined multicast group bit `bit`
 * (a monitor is listening): a fixed sleep is too short on a loaded machine.
 */
export async function monitorReady(bit: number): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const rows = readFileSync("/proc/net/netlink", "utf8").trim().split("\n").slice(1).map((l) => l.trim().split(/\s+/));
    if (rows.some((c) => c[1] === "0" && (parseInt(c[3]!, 16) & bit) !== 0)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("the monitor never subscribed");
}
