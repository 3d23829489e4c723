/**
 * Route manager: makes the routes through one tun match a list, like a small declarative
 * `ip route` — creates the tun if needed (persistent, so the routes outlive this program), gives
 * it an address, adds the routes that are missing, deletes the ones through it that are not in
 * the list, and prints what it did as JSON. Run it twice: the second run changes nothing.
 *
 * Usage: bun examples/route-manager.ts DEV ADDRESS/LEN [PREFIX[=GATEWAY]]...
 *   bun examples/route-manager.ts tkr0 192.0.2.1/24 198.51.100.0/24 203.0.113.0/24=192.0.2.254
 *
 * Needs CAP_NET_ADMIN (run it inside `unshare -rn` or `ip netns exec` to try it safely).
 */
import { ensureTun, Rtnl, parsePrefix, formatIp, UsageError, type RouteSpec } from "tunkit";

interface Wanted {
  dst: string;
  gateway?: string;
}

/** `PREFIX[=GATEWAY]` with the prefix in canonical form (host bits must be zero, like ip). */
function parseWanted(arg: string): Wanted {
  const [prefix = "", gateway] = arg.split("=");
  const p = parsePrefix(prefix);
  const dst = `${formatIp(p.bytes)}/${p.len}`;
  return gateway === undefined ? { dst } : { dst, gateway };
}

const [dev, address, ...rest] = process.argv.slice(2);
if (!dev || !address) {
  console.error("usage: route-manager DEV ADDRESS/LEN [PREFIX[=GATEWAY]]...");
  process.exit(2);
}
try {
  const wanted = rest.map(parseWanted);
  const nl = Rtnl.open();
  try {
    const tun = await ensureTun({ name: dev, addresses: [address], up: true, rtnl: nl });
    // Routes through this device that someone added (not the kernel's own connected routes).
    const present = (await nl.listRoutes({ dev: tun.ifindex, protocol: "boot" })).map((r) => ({
      dst: `${r.dst ?? "0.0.0.0"}/${r.dstLen}`,
      gateway: r.gateway,
    }));
    const key = (r: { dst: string; gateway?: string | undefined }) => `${r.dst} ${r.gateway ?? ""}`;
    const have = new Set(present.map(key));
    const want = new Set(wanted.map(key));
    const added: string[] = [];
    const deleted: string[] = [];
    for (const w of wanted) {
      if (have.has(key(w))) continue;
      const spec: RouteSpec = { dst: w.dst, dev: tun.name, ...(w.gateway ? { gateway: w.gateway } : {}) };
      await nl.replaceRoute(spec);
      added.push(key(w).trim());
    }
    for (const p of present) {
      if (want.has(key(p))) continue;
      await nl.deleteRoute({ dst: p.dst, dev: tun.name, ...(p.gateway ? { gateway: p.gateway } : {}) });
      deleted.push(key(p).trim());
    }
    console.log(JSON.stringify({ dev: tun.name, ifindex: tun.ifindex, created: tun.created, added, deleted }));
  } finally {
    nl.close();
  }
} catch (e) {
  // Bad input: one line, exit 2; the system refused: exit 1.
  console.error(`route-manager: ${(e as Error).message}`);
  process.exit(e instanceof UsageError ? 2 : 1);
}
