/**
 * The test peers (tests/peers.txt): the Debian packages whose programs the tests hold tunkit
 * against. Read by the runner (scripts/test.ts installs the missing ones) and by the tests
 * (`needing()`: a test whose peer is missing FAILS with the exact install command; it is never
 * skipped, so a run can not look green without having checked anything).
 *
 * @module
 */
import { test } from "bun:test";
import { accessSync, constants, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/** One line of tests/peers.txt. */
export interface Peer {
  /** The Debian package. */
  pkg: string;
  /** A command looked up on PATH, or an absolute path that must exist. */
  probe: string;
  /** Why the tests need it (free text). */
  why: string;
}

/** tests/peers.txt */
export const PEERS_FILE = resolve(import.meta.dir, "peers.txt");

/**
 * Parses the peer list: `package probe why…` a line, `#` comments and blank lines ignored.
 *
 * @example
 * ```ts
 * import { parsePeers } from "./peers.ts";
 * parsePeers("# c\ntcpdump  tcpdump  pcap oracle\n"); // [{ pkg: "tcpdump", probe: "tcpdump", why: "pcap oracle" }]
 * ```
 */
export function parsePeers(text: string): Peer[] {
  const out: Peer[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const m = /^(\S+)\s+(\S+)\s+(\S.*)$/.exec(line);
    if (!m) throw new Error(`tests/peers.txt line ${i + 1}: expected "package probe why...", got "${line}"`);
    out.push({ pkg: m[1]!, probe: m[2]!, why: m[3]! });
  });
  return out;
}

let cache: Peer[] | undefined;

/** The peers of tests/peers.txt (read once). */
export function loadPeers(): Peer[] {
  return (cache ??= parsePeers(readFileSync(PEERS_FILE, "utf8")));
}

/** True when `probe` exists: an absolute path that exists, or an executable file on PATH. */
export function present(probe: string): boolean {
  const ok = (p: string, mode: number) => {
    try {
      accessSync(p, mode);
      return true;
    } catch {
      return false;
    }
  };
  if (probe.startsWith("/")) return ok(probe, constants.R_OK);
  return (process.env.PATH ?? "").split(":").some((d) => d !== "" && ok(join(d, probe), constants.X_OK));
}

/** The peers whose probe is missing on this machine. */
export function missingPeers(peers: readonly Peer[] = loadPeers()): Peer[] {
  return peers.filter((p) => !present(p.probe));
}

/** Packages of `peers`, each once, in list order. */
export function packagesOf(peers: readonly Peer[]): string[] {
  return [...new Set(peers.map((p) => p.pkg))];
}

/**
 * The command that installs `pkgs` on Debian, as the runner runs it.
 *
 * @example
 * ```ts
 * import { installCommand } from "./peers.ts";
 * installCommand(["tcpdump", "iputils-ping"]); // "apt-get update && apt-get install -y --no-install-recommends tcpdump iputils-ping"
 * ```
 */
export function installCommand(pkgs: readonly string[]): string {
  return `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(" ")}`;
}

/**
 * Checks the programs a test file needs against tests/peers.txt. Throws when one is not listed
 * there (add a line: the runner only installs what the list names). Returns the missing ones and
 * a message naming them with the exact install command (empty when nothing is missing).
 */
export function checkPeers(label: string, probes: readonly string[]): { missing: Peer[]; message: string } {
  const peers = loadPeers();
  const unknown = probes.filter((b) => !peers.some((p) => p.probe === b));
  if (unknown.length) throw new Error(`${label}: ${unknown.join(", ")} not in tests/peers.txt; add a line "package probe why" for each`);
  const missing = peers.filter((p) => probes.includes(p.probe) && !present(p.probe));
  if (!missing.length) return { missing, message: "" };
  const what = missing.map((p) => `${p.probe} (Debian package ${p.pkg})`).join(", ");
  return {
    missing,
    message: `${label}: missing test peer ${what}; npm test installs it on Debian as root unless TUNKIT_TEST_NO_INSTALL=1. By hand: ${installCommand(packagesOf(missing))}`,
  };
}

/** A `test` whose every case fails with `message` (for a missing peer: a failure, not a skip). */
export function failingTest(message: string): typeof test {
  const fail = (name: string) => test(name, () => {
    throw new Error(message);
  });
  return Object.assign(fail, { skip: fail, only: fail, todo: fail, if: () => fail, skipIf: () => fail, each: () => fail }) as unknown as typeof test;
}

/**
 * `test` for unit tests that need peer programs (probes of tests/peers.txt): when one is
 * missing, every case registered through it FAILS with the install command.
 *
 * @example
 * ```ts
 * import { needingPeers } from "./peers.ts";
 * const ptest = needingPeers("pcap live", ["tcpdump"]);
 * ptest("tcpdump reads our pcap", () => {});
 * ```
 */
export function needingPeers(label: string, probes: readonly string[], base: typeof test = test): typeof test {
  const { message } = checkPeers(label, probes);
  if (!message) return base;
  console.log(`!!! ${message}`);
  return failingTest(message);
}

/** What the runner does about missing peers, decided from the facts (pure: unit-tested). */
export type PeerPlan =
  | { action: "none" }
  | { action: "install"; packages: string[]; lines: string[] }
  | { action: "report"; packages: string[]; lines: string[] };

/**
 * Decides how `npm test` handles the missing peers: install them (Debian, root, not opted out
 * with TUNKIT_TEST_NO_INSTALL=1) or say why not, in the lines to print. Either way a test that
 * needs a peer still missing afterwards fails.
 *
 * @example
 * ```ts
 * import { planPeerSetup } from "./peers.ts";
 * const tcpdump = { pkg: "tcpdump", probe: "tcpdump", why: "pcap oracle" };
 * planPeerSetup([tcpdump], { root: true, debian: true, optOut: false }).action; // "install"
 * planPeerSetup([tcpdump], { root: false, debian: true, optOut: false }).action; // "report"
 * planPeerSetup([], { root: false, debian: false, optOut: true }).action; // "none"
 * ```
 */
export function planPeerSetup(missing: readonly Peer[], facts: { root: boolean; debian: boolean; optOut: boolean }): PeerPlan {
  if (!missing.length) return { action: "none" };
  const packages = packagesOf(missing);
  const what = missing.map((p) => `  ${p.pkg} (${p.probe}): ${p.why}`);
  const cmd = installCommand(packages);
  if (facts.optOut) {
    return {
      action: "report",
      packages,
      lines: [`!!! ${missing.length} test peer(s) missing and TUNKIT_TEST_NO_INSTALL=1: not installing them; the tests that need them will FAIL:`, ...what, `!!! install them with: ${cmd}`],
    };
  }
  if (!facts.debian || !facts.root) {
    const why = !facts.debian ? "this is not a Debian-family system" : "not running as root";
    return { action: "report", packages, lines: [`!!! test peers missing (${packages.join(" ")}), not installed because ${why}: the tests that need them will FAIL`] };
  }
  return { action: "install", packages, lines: [`Installing ${packages.length} missing test peer package(s) (tests/peers.txt; TUNKIT_TEST_NO_INSTALL=1 opts out):`, ...what, `$ ${cmd}`] };
}
