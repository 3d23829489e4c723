/**
 * Echo responder: opens a tun, gives it an address, and answers every ping (ICMP and ICMPv6
 * echo) and UDP echo sent to the addresses behind it, for a bounded number of packets or seconds.
 *
 * Usage: bun examples/echo-responder.ts [DEV] [ADDRESS/LEN] [COUNT] [SECONDS]
 *   bun examples/echo-responder.ts tke0 192.0.2.1/24 4 10 &  ping -c 4 192.0.2.2
 *
 * Needs CAP_NET_ADMIN (run it inside `unshare -rn` or `ip netns exec` to try it safely).
 */
import { openTun, Rtnl, serveEcho } from "tunkit";

const [name = "tke0", address = "192.0.2.1/24", count = "4", seconds = "10"] = process.argv.slice(2);
const dev = openTun({ name });
const nl = Rtnl.open();
await nl.addAddress({ dev: dev.name, address });
await nl.setLink(dev.name, { up: true });
nl.close();
console.log(`answering on ${dev.name} (${address}): ${count} packets or ${seconds} s`);
const result = await serveEcho(dev, { count: Number(count), signal: AbortSignal.timeout(Number(seconds) * 1000) });
console.log(JSON.stringify(result));
dev.close();
