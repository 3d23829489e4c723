// Helpers for integration tests. The runner puts each file in a fresh network namespace.
import { spawnSync } from "node:child_process";
import { test } from "bun:test";

/** True when this process may create devices (root in its own network namespace). */
export const privileged = (() => {
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

const ok = privileged && inThrowawayNetns();
if (!ok) console.log("!!! integration tests SKIPPED: need root inside a throwaway network namespace (run through npm test)");

/** `test` that is skipped, loudly, without privilege or outside a throwaway namespace. */
export const itest = ok ? test : test.skip;

/** Runs a command, throws with its stderr on failure, returns stdout. */
export function sh(cmd: string, ...args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

/** `ip -j -d link show NAME` parsed, or undefined when it does not exist. */
export function ipLink(name: string): Record<string, any> | undefined {
  const r = spawnSync("ip", ["-j", "-d", "link", "show", "dev", name], { encoding: "utf8" });
  if (r.status !== 0) return undefined;
  return (JSON.parse(r.stdout) as Array<Record<string, any>>)[0];
}

/**
 * `itest` for tests that need the given programs on PATH: when one is missing, the file's tests
 * are skipped, loudly, with the Debian packages that bring them. `ready` says whether to set up.
 */
export function needing(label: string, bins: readonly string[], packages: string): { ptest: typeof test; ready: boolean } {
  const missing = bins.filter((b) => spawnSync("sh", ["-c", `command -v ${b}`], { stdio: "ignore" }).status !== 0);
  if (missing.length) console.log(`!!! ${label} tests SKIPPED: missing ${missing.join(", ")} (Debian: apt-get install -y ${packages})`);
  const ptest = missing.length ? test.skip : itest;
  return { ptest, ready: ptest !== test.skip };
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
