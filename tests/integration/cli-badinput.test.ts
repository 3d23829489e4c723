// Bad input: exit 2, exactly one line on stderr, no stack trace, nothing on stdout, and the
// namespace's links, addresses and routes (ip -j) identical before and after.
import { beforeAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import "./_ns.ts"; // refuses to run on the host's own namespace (the set-up below adds 192.0.2.1/24)

const root = join(import.meta.dir, "../..");
const ip = (...a: string[]) => {
  const r = spawnSync("ip", a, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${a.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const state = () => ["link", "addr", "route", "-6 route", "route show table all"].map((w) => ip("-j", ...w.split(" "))).join("\n");

beforeAll(() => {
  ip("tuntap", "add", "tk0", "mode", "tun");
  ip("addr", "add", "192.0.2.1/24", "dev", "tk0");
  ip("link", "set", "tk0", "up");
  ip("route", "add", "198.51.100.0/24", "dev", "tk0");
});

// [argv, the exact message or a regexp it must match]
const CASES: Array<[string[], string | RegExp]> = [
  [["up", ""], "tunkit: Invalid interface name: empty"],
  [["up", "waytoolongname16"], 'tunkit: Invalid interface name "waytoolongname16": 16 bytes, at most 15'],
  [["up", "a/b"], /^tunkit: Invalid interface name "a\/b": no "\/"/],
  [["up", "tun9", "192.0.2.9/33"], 'tunkit: Invalid prefix length "33" for IPv4: expected 0..32'],
  [["up", "tun9", "2001:db8::1/129"], 'tunkit: Invalid prefix length "129" for IPv6: expected 0..128'],
  [["up", "tun9", "300.1.1.1/24"], 'tunkit: Invalid IP address "300.1.1.1": expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1)'],
  [["up", "tun9", "--mtu", "70000"], 'tunkit: Invalid MTU "70000": expected 68..65535'],
  [["up", "tun9", "--mtu", "abc"], 'tunkit: Invalid MTU "abc": expected 68..65535'],
  [["up", "tun9", "--user", "no-such-user-xyz"], /^tunkit: Unknown user "no-such-user-xyz"/],
  [["up", "tun9", "--any-user", "--group", "0"], "tunkit: Option --any-user cannot be combined with --user or --group"],
  [["up", "tun9", "--peer", "10.0.0.2"], /^tunkit: Invalid peer "10\.0\.0\.2": it needs exactly one IPv4 address/],
  [["up"], "tunkit: missing required argument 'name'"],
  [["up", "tun9", "--bogus"], "tunkit: unknown option '--bogus'"],
  [["addr", "add", "192.0.2.1/33", "dev", "tk0"], 'tunkit: Invalid prefix length "33" for IPv4: expected 0..32'],
  [["addr", "add", "192.0.2.5/24"], 'tunkit: Missing "dev NAME" in "addr add" (ip: "dev" argument is required)'],
  [["addr", "add", "192.0.2.5/24", "dev", "tk0", "peer", "2001:db8::1"], 'tunkit: Invalid IP address "2001:db8::1": expected IPv4'],
  [["addr", "add", "dev", "tk0"], /^tunkit: Missing address in "addr add"/],
  [["addr", "add", "192.0.2.5/24", "dev", "tk0", "label", "other0"], /^tunkit: Invalid label "other0"/],
  [["addr", "del", "192.0.2.1/24", "dev", "tk0", "scope", "galaxy"], /^tunkit: Invalid scope "galaxy"/],
  [["route", "add", "198.51.100.1/24", "dev", "tk0"], /^tunkit: Invalid prefix "198\.51\.100\.1\/24": host bits set/],
  [["route", "add", "203.0.113.0/24", "dev", "tk0", "metric", "-1"], 'tunkit: Invalid metric "-1": expected 0..4294967295'],
  [["route", "add", "203.0.113.0/24", "dev", "tk0", "frobnicate"], /^tunkit: Unknown word "frobnicate" in "route add": expected src, as, via/],
  [["route", "add", "203.0.113.0/24", "via"], 'tunkit: Missing value after "via" in "route add"'],
  [["route", "add", "203.0.113.0/24", "dev", "tk0", "table", "all"], /^tunkit: Invalid table "all"/],
  [["route", "add", "203.0.113.0/24", "dev", "tk0", "proto", "nonsense"], /^tunkit: Invalid protocol "nonsense"/],
  [["route", "add", "203.0.113.0/24", "dev", "tk0", "type", "weird"], /^tunkit: Unknown word "type" in "route add"/], // ip: "type" is a garbage
  [["route", "add", "weird", "203.0.113.0/24", "dev", "tk0"], /^tunkit: Unknown word "weird" in "route add"/],
  [["route", "add", "203.0.113.0/24", "dev", "tk0", "via", "192.0.2.300"], 'tunkit: Invalid gateway "192.0.2.300": expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1)'],
  [["route", "del", "203.0.113.0/24", "dev", "bad name"], /^tunkit: Invalid interface name "bad name"/],
  [["route", "get"], 'tunkit: Missing address in "route get": expected route get ADDR'],
  [["route", "replace", "203.0.113.0/24"], 'tunkit: Missing "dev NAME" or "via ADDR" in "route replace": a unicast route needs a device or a gateway'],
  [["route", "add", "203.0.113.0/24", "dev", "tk0", "\x1b[31mred\x07"], 'tunkit: Invalid IP address "\\x1b[31mred\\x07": expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1)'],
  [["route", "add", "a".repeat(100_000), "dev", "tk0"], /^tunkit: Invalid IP address "a{56}…" \(100000 characters\): expected/],
  [["route", "list", "table", "nope"], /^tunkit: Invalid table "nope"/],
  [["route", "frob"], 'tunkit: Unknown route command "frob": expected add, change, replace, prepend, append, test, delete, list, get, flush'],
  [["link", "set", "tk0"], /^tunkit: Nothing to change in "link set tk0"/],
  [["link", "set", "tk0", "mtu", "10"], 'tunkit: Invalid MTU "10": expected 68..65535'],
  [["link", "set", "tk0", "frob"], /^tunkit: Unknown word "frob" in "link set": expected up, down, name/],
  [["link", "set", "tk0", "name", "x y"], /^tunkit: Invalid interface name "x y"/],
  [["monitor", "neigh"], /^tunkit: Unknown word "neigh" in "monitor"/],
  [["monitor", "--count", "0"], 'tunkit: Invalid count "0": expected 1..2147483647'],
  [["frobnicate"], 'tunkit: Unknown command "frobnicate": see tunkit --help'],
  [["rute", "list"], 'tunkit: Unknown command "rute" (did you mean route?): see tunkit --help'],
  [["help", "frobnicate"], 'tunkit: No help for "frobnicate": unknown command "frobnicate" (see: tunkit --help)'],
  [["--jsn", "list"], 'tunkit: Unknown option "--jsn" (did you mean --json?): see tunkit --help'],
  [["-n", "blue", "frob"], 'tunkit: Unknown command "frob": see tunkit --help'],
  [["-n", "blue", "down"], "tunkit: missing required argument 'name'"],
  [["-n", "blue", "down", "x", "y"], "tunkit: too many arguments for 'down'. Expected 1 argument but got 2. (see: tunkit down --help)"],
  [["batch"], "tunkit: Missing batch file: expected tunkit batch FILE (or - for stdin)"],
  [["batch", "/nonexistent/tk-batch.txt"], 'tunkit: Cannot read batch file "/nonexistent/tk-batch.txt": no such file'],
  [["-n", "../etc", "list"], 'tunkit: Invalid network namespace name "../etc"'],
  [["-n"], 'tunkit: Missing value after "-n": expected -n NAME (a network namespace)'],
  [["completions", "tcsh"], 'tunkit: Unknown shell "tcsh": expected bash, zsh or fish'],
  [["down", "tk0", "extra"], /^tunkit: too many arguments for 'down'/],
];

test("bare tunkit: the usage on stderr, exit 2 (like ip alone)", () => {
  const r = spawnSync(process.execPath, [join(root, "cli/main.ts")], { encoding: "utf8" });
  expect(r.status).toBe(2);
  expect(r.stdout).toBe("");
  expect(r.stderr).toMatch(/^Usage: tunkit /);
});

test(`${CASES.length} bad inputs: exit 2, one line, no stack trace, nothing changed`, () => {
  expect(CASES.length).toBeGreaterThanOrEqual(25);
  const before = state();
  const failures: string[] = [];
  for (const [argv, want] of CASES) {
    const r = spawnSync(process.execPath, [join(root, "cli/main.ts"), ...argv], { encoding: "utf8", timeout: 20_000 });
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    const msg = lines[0] ?? "";
    const okMsg = typeof want === "string" ? msg === want : want.test(msg);
    if (r.status !== 2 || lines.length !== 1 || !r.stderr.endsWith("\n") || r.stdout !== "" || /\n\s+at /.test(r.stderr) || !okMsg) {
      failures.push(`tunkit ${JSON.stringify(argv)} -> exit ${r.status}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}; wanted ${String(want)}`);
    }
  }
  expect(failures).toEqual([]);
  expect(state()).toBe(before);
}, 300_000);

test("a batch with a bad line is a usage error too, and with --check-first runs nothing", () => {
  const before = state();
  const r = spawnSync(process.execPath, [join(root, "cli/main.ts"), "batch", "--check-first", "-"], {
    encoding: "utf8",
    input: "route add 203.0.113.0/25 dev tk0\nroute add 203.0.113.128/25 dev tk0 metric lots\n",
  });
  expect(r.status).toBe(2);
  expect(r.stderr).toBe('tunkit: line 2: Invalid metric "lots": expected 0..4294967295\n');
  expect(state()).toBe(before);
});

test("TUNKIT_DEBUG=1 may add a stack trace; the first line stays the same", () => {
  const r = spawnSync(process.execPath, [join(root, "cli/main.ts"), "addr", "add", "192.0.2.1/33", "dev", "tk0"], { encoding: "utf8", env: { ...process.env, TUNKIT_DEBUG: "1" } });
  expect(r.status).toBe(2);
  expect(r.stderr.split("\n")[0]).toBe('tunkit: Invalid prefix length "33" for IPv4: expected 0..32');
  expect(r.stderr).toMatch(/\n\s+at /);
});
