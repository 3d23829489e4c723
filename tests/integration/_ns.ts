// Helpers for integration tests. The runner puts each file in a fresh network namespace.
import { spawnSync } from "node:child_process";
import { test } from "bun:test";
import { checkPeers, failingTest } from "../peers.ts";

/**
 * Run as root outside a throwaway namespace (`bun test FILE` straight on a host), a file's
 * set-up would create its devices, addresses and routes among the host's own (192.0.2.1/24 on a
 * test device once took the host's gateway address): refuse before any of it runs. Every
 * integration file imports this module first, so the throw comes before its beforeAll.
 */
const ipPeer = checkPeers("integration tests", ["ip"]).message;
const throwaway = !ipPeer && inThrowawayNetns();
if (!ipPeer && !throwaway && process.getuid?.() === 0) {
  throw new Error(
    "integration tests refuse to run as root in this network namespace: it has the host's own interfaces, and the files' set-up creates devices and addresses. Run them through npm test (one namespace per file), or: unshare -n sh -c 'ip link set lo up; bun test FILE'",
  );
}

/** True when this process may create devices (root in its own network namespace). */
export const privileged = throwaway && (() => {
  const r = spawnSync("ip", ["tuntap", "add", "tkprobe0", "mode", "tun"], { stdio: "ignore" });
  if (r.status !== 0) return false;
  spawnSync("ip", ["link", "del", "tkprobe0"], { stdio: "ignore" });
  return true;
})();

/** Refuses to run integration tests on the host's own namespace (where eth0/ens* live). */
export function inThrowawayNetns(): boolean {
  const r = spawnSync("ip", ["-j", "link", "show"], { encoding: "utf8" });
  if (r.status !== 0) return false;
  const links = JSON.parse(r.stdout) as Array<{ ifname: string; link_type: string }>;
  return !links.some((l) => l.link_type === "ether" && !l.ifname.startsWith("tk") && !l.ifname.startsWith("veth"));
}

const ok = privileged;
if (ipPeer) console.log(`!!! ${ipPeer}`);
else if (!ok) console.log("!!! integration tests SKIPPED: need root inside a throwaway network namespace (run through npm test)");

/**
 * `test` for integration tests: FAILS when iproute2 (the oracle) is missing; skipped, loudly,
 * without privilege or outside a throwaway namespace (under CI=true the runner counts a skip as
 * a failure).
 */
export const itest: typeof test = ipPeer ? failingTest(ipPeer) : ok ? test : test.skip;

/** Runs a command, throws with its stderr on failure, returns stdout. */
export function sh(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `ip -j -d [EXTRA] link show NAME` parsed (EXTRA: ["-s"] adds stats64), or undefined when it does not exist. */
export function ipLink(name: string, extra: readonly string[] = []): Record<string, any> | undefined {
  const r = spawnSync("ip", ["-j", "-d", ...extra, "link", "show", "dev", name], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as Array<Record<string, any>>)[0];
}

/**
 * `itest` for tests that need the given programs (probes listed in tests/peers.txt, which the
 * runner installs): when one is missing, every test of the file FAILS with the exact install
 * command (never a skip). `ready` says whether to set up (false: a peer is missing, or no
 * privilege). The third argument is ignored: the packages come from tests/peers.txt.
 */
export function needing(label: string, bins: readonly string[], _packages?: string): { ptest: typeof test; ready: boolean } {
  const { message } = checkPeers(label, bins);
  if (message) {
    console.log(`!!! ${message}`);
    return { ptest: failingTest(message), ready: false };
  }
  return { ptest: itest, ready: ok && !ipPeer };
}

/**
 * Makes a persistent tun/tap with `ip` (the oracle, not tunkit), gives it the addresses (IPv6
 * ones with nodad) and sets it up. `noIpv6` turns IPv6 off on it first: no router solicitations
 * in packet counts.
 */
export function makeDevice(name: string, mode: "tun" | "tap", addresses: readonly string[], opts: { noIpv6?: boolean } = {}): void {
  sh("ip", "tuntap", "add", name, "mode", mode);
  if (opts.noIpv6) sh("sysctl", "-qw", `net.ipv6.conf.${name}.disable_ipv6=1`);
  for (const a of addresses) sh("ip", "addr", "add", a, "dev", name, ...(a.includes(":") ? ["nodad"] : []));
  sh("ip", "link", "set", name, "up");
}
