/**
 * Minimal tun2socks: a tun whose TCP and UDP leave through a SOCKS5 proxy. Routes only the
 * prefixes given (no auto-route: the rest of the machine is untouched), runs for a bounded time.
 *
 * Usage: bun examples/tun2socks.ts PROXY [PREFIX...] [--seconds N]
 *   bun examples/tun2socks.ts socks5://127.0.0.1:1080 198.51.100.0/24 --seconds 60
 *
 * Needs CAP_NET_ADMIN (run it inside `unshare -rn` or `ip netns exec` to try it safely).
 */
import { planProxyTunnel, startProxyTunnel, Rtnl } from "tunkit";

const args = process.argv.slice(2);
const at = args.indexOf("--seconds");
const seconds = at >= 0 ? Number(args.splice(at, 2)[1]) : 30;
const [proxy, ...prefixes] = args;
if (!proxy) {
  console.error("usage: tun2socks PROXY [PREFIX...] [--seconds N]");
  process.exit(2);
}
const nl = Rtnl.open();
const plan = planProxyTunnel({ kind: "socks", name: "tks0", proxy, address: ["198.18.0.1/30"] });
const run = await startProxyTunnel(plan, { rtnl: nl, onError: (line) => console.error(line) });
for (const dst of prefixes) await nl.addRoute({ dst, dev: run.device.name });
console.log(`tunnel ${run.device.name} -> ${proxy} for ${seconds} s, routing ${prefixes.join(", ") || "nothing yet"}`);
await new Promise((r) => setTimeout(r, seconds * 1000));
await run.stop();
nl.close();
