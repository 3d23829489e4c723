// `tunkit batch` against the kernel, with `ip -j` as the oracle: what the help promises about
// bad lines (stop there; with --check-first nothing applied), refused lines (stop there,
// nothing after it stays applied),
// --force (lines run as they are read), bounded input (long lines, /dev/zero), and lines that
// are not commands (--version, --help), and the progress line (only on a terminal, after a
// second, not with -q).
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { itest, needing, sh } from "./_ns.ts";

const root = join(import.meta.dir, "../..");
const tmp = mkdtempSync(join(tmpdir(), "tk-batch-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function tk(args: string[], input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(root, "cli/main.ts"), ...args], { encoding: "utf8", input, timeout: 120_000, maxBuffer: 1 << 26 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}
const ipj = (...args: string[]): any[] => JSON.parse(sh("ip", "-j", ...args) || "[]");
const routes = (table = "main"): string[] => {
  const r = spawnSync("ip", ["-j", "route", "show", "table", table], { encoding: "utf8" });
  if (r.status !== 0 && /does not exist/.test(r.stderr)) return [];
  return (JSON.parse(r.stdout || "[]") as any[]).map((x) => x.dst as string).sort();
};
const file = (name: string, text: string) => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(() => {
  sh("ip", "link", "add", "tk0", "type", "veth", "peer", "name", "tk1");
  sh("ip", "link", "set", "tk0", "up");
  sh("ip", "link", "set", "tk1", "up");
});

describe("a bad line: exit 2 naming line and word", () => {
  itest("like ip -batch: the lines before it run, none after it", () => {
    const r = tk(["batch", "-"], "route add 10.8.0.1/32 dev tk0\nroute add 10.8.0.2/32 dev tk0\nroute add 10.8.0.3/33 dev tk0\nroute add 10.8.0.4/32 dev tk0\n");
    expect([r.code, r.out]).toEqual([2, ""]);
    expect(r.err).toBe('tunkit: line 3: Invalid prefix length "33" for IPv4: expected 0..32 (batch stopped there: 2 lines before it applied, none after)\n');
    expect(routes().filter((d) => d.startsWith("10.8."))).toEqual(["10.8.0.1", "10.8.0.2"]);
  });

  itest("--check-first: a bad last line of 100,000 changes nothing (file and pipe)", () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => `route add 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}/32 dev tk0 table 200`);
    lines.push("route add 10.200.0.0/16 dev tk0 table 200 frobnicate");
    const text = lines.join("\n") + "\n";
    const want = 'tunkit: line 100001: Unknown word "frobnicate" in "route add": expected src, as, via, from, tos, expires, metric, scope, mtu, hoplimit, advmss, reordering, rtt, rto_min, window, cwnd, initcwnd, initrwnd, features, quickack, congctl, rttvar, ssthresh, realms, onlink, nexthop, nhid, protocol, table, vrf, dev, pref, encap, ttl-propagate, fastopen_no_cookie\n';
    const a = tk(["batch", "--check-first", file("bad.txt", text)]);
    expect([a.code, a.err]).toEqual([2, want]);
    expect(routes("200")).toEqual([]);
    const b = tk(["batch", "--check-first", "-"], text);
    expect([b.code, b.err]).toEqual([2, want]);
    expect(routes("200")).toEqual([]);
    // The same input without a bad line, from a pipe, through the temporary copy: all applied.
    const c = tk(["batch", "--check-first", "-"], lines.slice(0, 1000).join("\n") + "\n");
    expect([c.code, c.err]).toEqual([0, ""]);
    expect(routes("200").length).toBe(1000);
  });

  itest("--version, --help, route add --help and leading options are usage errors inside a batch", () => {
    for (const [line, msg] of [
      ["--version", 'line 2: Option "--version" cannot lead a batch line'],
      ["-V", 'line 2: Option "-V" cannot lead a batch line'],
      ["--help", 'line 2: Option "--help" cannot lead a batch line'],
      ["route add --help", 'line 2: "--help" cannot be used inside a batch'],
      ["route add 10.9.0.0/16 dev tk0 --version", 'line 2: "--version" cannot be used inside a batch'],
      ["route list -n other", "line 2: Unknown word \"-n\""],
      ["help route", 'line 2: "help" cannot run inside a batch'],
      ["batch -", 'line 2: "batch" cannot run inside a batch'],
      ["dump tk0", 'line 2: "dump" cannot run inside a batch'],
    ]) {
      const r = tk(["batch", "--check-first", "-"], `route add 10.9.0.0/16 dev tk0\n${line}\n`);
      expect([line, r.code, r.out]).toEqual([line, 2, ""]);
      expect(r.err.startsWith(`tunkit: ${msg}`)).toBe(true);
      expect(r.err.split("\n").length).toBe(2);
      expect(routes().includes("10.9.0.0/16")).toBe(false);
    }
  });

  itest("control characters and NULs of a bad line are escaped in the error", () => {
    const r = tk(["batch", "-"], "route add 10.9.0.0/16 dev tk0 \x1b[2J\x00\x07\n");
    expect(r.code).toBe(2);
    expect(r.err).toBe('tunkit: line 1: Invalid IP address "\\x1b[2J\\x00\\x07": expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1) (batch stopped there: nothing applied, none after)\n');
  });

  itest("--check applies nothing and says how many lines it checked", () => {
    const r = tk(["batch", "--check", "-"], "route add 10.9.0.0/16 dev tk0\n# comment\n\nroute add 10.9.1.0/24 dev tk0\n");
    expect([r.code, r.out, r.err]).toEqual([0, "batch: 2 lines checked, nothing applied\n", ""]);
    expect(routes().filter((d) => d.startsWith("10.9."))).toEqual([]);
  });
});

describe("the first refused line stops the batch; nothing after it stays applied", () => {
  itest("EEXIST in the middle of a pipelined run: lines before it applied, the ones sent behind it undone", () => {
    sh("ip", "route", "add", "10.20.0.50/32", "dev", "tk0");
    const lines = Array.from({ length: 100 }, (_, i) => `route add 10.20.0.${i}/32 dev tk0`);
    const r = tk(["batch", file("dup.txt", lines.join("\n") + "\n")]);
    expect(r.code).toBe(1);
    expect(r.err.split("\n")[0]).toBe('tunkit: line 51: add route: already exists "10.20.0.50/32" (EEXIST)');
    expect(r.err).toContain("tunkit: batch stopped at line 51: 50 lines applied before it, none after (49 lines sent behind it undone)");
    const have = routes().filter((d) => d.startsWith("10.20.0."));
    expect(have.length).toBe(51); // 0..49 from the batch, 50 from before
    expect(have).not.toContain("10.20.0.51");
    expect(have).not.toContain("10.20.0.99");
  });

  itest("a delete behind a refused line is never sent (it has no exact undo)", () => {
    sh("ip", "route", "add", "10.21.0.1/32", "dev", "tk0");
    sh("ip", "route", "add", "10.21.0.2/32", "dev", "tk0");
    const r = tk(["batch", "-"], "route add 10.21.0.3/32 dev tk0\nroute add 10.21.0.1/32 dev tk0\nroute del 10.21.0.2/32 dev tk0\nroute add 10.21.0.4/32 dev tk0\n");
    expect(r.code).toBe(1);
    expect(r.err.split("\n")[0]).toBe('tunkit: line 2: add route: already exists "10.21.0.1/32" (EEXIST)');
    expect(routes().filter((d) => d.startsWith("10.21."))).toEqual(["10.21.0.1", "10.21.0.2", "10.21.0.3"]);
  });

  itest("IPv6 additions behind a refused line are undone too (default metric 1024), other metrics kept", () => {
    sh("ip", "-6", "route", "add", "2001:db8:5::/64", "dev", "tk0", "metric", "10");
    sh("ip", "-6", "route", "add", "2001:db8:6::/64", "dev", "tk0");
    const r = tk(["batch", "-"], "route add 2001:db8:7::/64 dev tk0\nroute add 2001:db8:6::/64 dev tk0\nroute add 2001:db8:5::/64 dev tk0\n");
    expect(r.code).toBe(1);
    const six = ipj("-6", "route", "show").filter((x: any) => String(x.dst).startsWith("2001:db8:")).map((x: any) => `${x.dst} ${x.metric}`).sort();
    expect(six).toEqual(["2001:db8:5::/64 10", "2001:db8:6::/64 1024", "2001:db8:7::/64 1024"]);
  });

  itest("a missing device stops it with the device named", () => {
    const r = tk(["batch", "-"], "route add 10.22.0.1/32 dev tk0\nroute add 10.22.0.2/32 dev nosuch0\nroute add 10.22.0.3/32 dev tk0\n");
    expect(r.code).toBe(1);
    expect(r.err.split("\n")[0]).toMatch(/^tunkit: line 2: .*"nosuch0"/);
    expect(routes().filter((d) => d.startsWith("10.22."))).toEqual(["10.22.0.1"]);
  });
});

describe("lines that are not pipelined", () => {
  itest("a listing and link set run in order among pipelined additions (the rtnetlink client loaded at the first of them)", () => {
    const r = tk(["batch", "-"], "route add 10.45.0.1/32 dev tk0\nlink set tk1 mtu 1400\nroute add 10.45.0.2/32 dev tk1\nlink show tk1\naddr add 198.51.100.40/32 dev tk0\nroute add 10.45.0.3/32 dev tk0\n");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/tk1@tk0: .* mtu 1400 /);
    expect(routes().filter((d) => d.startsWith("10.45."))).toEqual(["10.45.0.1", "10.45.0.2", "10.45.0.3"]);
    expect(ipj("-4", "addr", "show", "dev", "tk0").flatMap((l: any) => l.addr_info.map((a: any) => a.local))).toContain("198.51.100.40");
  });
});

describe("--force", () => {
  itest("reports every bad or refused line and applies the rest; exit 1", () => {
    const r = tk(["batch", "--force", "-"], "route add 10.30.0.1/32 dev tk0\nroute add 10.30.0.1/32 dev tk0\nroute add 10.30.0.2/33 dev tk0\nroute add 10.30.0.3/32 dev tk0\n");
    expect(r.code).toBe(1);
    const errs = r.err.split("\n").filter((l) => l.startsWith("tunkit: line "));
    expect(errs).toEqual([
      'tunkit: line 2: add route: already exists "10.30.0.1/32" (EEXIST)',
      'tunkit: line 3: Invalid prefix length "33" for IPv4: expected 0..32',
    ]);
    expect(r.err).toContain("tunkit: batch: 2 of 4 lines failed");
    expect(routes().filter((d) => d.startsWith("10.30."))).toEqual(["10.30.0.1", "10.30.0.3"]);
  });

  itest("lines run as they are read: a live feed is applied before its end", async () => {
    const child = spawn(process.execPath, [join(root, "cli/main.ts"), "batch", "--force", "-"], { stdio: ["pipe", "pipe", "pipe"] });
    child.stdin!.write("route add 10.31.0.1/32 dev tk0\n");
    let seen = false;
    for (let i = 0; i < 600 && !seen; i++) {
      await new Promise((r) => setTimeout(r, 50));
      seen = routes().includes("10.31.0.1");
    }
    expect(seen).toBe(true);
    child.stdin!.end("route add 10.31.0.2/32 dev tk0\n");
    const code = await new Promise<number | null>((res) => child.on("exit", res));
    expect(code).toBe(0);
    expect(routes().filter((d) => d.startsWith("10.31."))).toEqual(["10.31.0.1", "10.31.0.2"]);
  });
});

describe("bounded input", () => {
  itest("a 1 MB line is refused with its number, nothing applied", () => {
    const r = tk(["batch", "--check-first", "-"], `route add 10.40.0.1/32 dev tk0\nroute add ${"1".repeat(1 << 20)}\n`);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^tunkit: line 2: longer than 65536 characters/);
    expect(r.err.split("\n").length).toBe(2);
    expect(routes()).not.toContain("10.40.0.1");
    const d = tk(["batch", "-"], `route add 10.40.0.1/32 dev tk0\nroute add ${"1".repeat(1 << 20)}\n`);
    expect(d.code).toBe(2);
    expect(d.err).toMatch(/^tunkit: line 2: longer than 65536 characters .*\(batch stopped there: 1 line before it applied, none after\)\n$/);
    expect(routes()).toContain("10.40.0.1");
  });

  itest("batch /dev/zero stops at once: exit 2, line 1 too long", () => {
    const r = tk(["batch", "/dev/zero"]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^tunkit: line 1: longer than 65536 characters/);
  });

  itest("a pipe of endless zeros is not read to its end (the reader stops at the first over-long line)", () => {
    const r = spawnSync("bash", ["-c", `head -c 1000000000 /dev/zero | ${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, "cli/main.ts"))} batch -; echo "\${PIPESTATUS[*]}"`], { encoding: "utf8", timeout: 120_000 });
    expect(r.stderr).toMatch(/^tunkit: line 1: longer than 65536 characters/);
    // head was cut off by SIGPIPE (141): tunkit stopped reading long before 1 GB.
    expect(r.stdout.trim()).toBe("141 2");
  });
});

describe("the progress line: on a terminal after a second, never otherwise", () => {
  // A feed that pauses 1.3 s after its first 4,096 lines, so the batch certainly runs longer than
  // a second whatever the load, and 0.3 s after 8,192 (redraws are 200 ms apart at least): the line
  // is redrawn at 8,192 and 12,288 lines read. Line 1 is bad (--force goes on) so the error count
  // shows. `script` gives the batch a terminal.
  const { ptest } = needing("cli-batch progress", ["script"]);
  const gen = (from: number, to: number, net: number) =>
    Array.from({ length: to - from }, (_, k) => `route add 10.${net}.${(from + k) >> 8}.${(from + k) & 255}/32 dev tk0`).join("\n") + "\n";
  const feed = (net: number, opts: string) => {
    const a = file(`feed-a-${net}.txt`, `route add 10.0.0.1/33 dev tk0\n${gen(0, 4095, net)}`);
    const b = file(`feed-b-${net}.txt`, gen(4095, 8191, net));
    const c = file(`feed-c-${net}.txt`, gen(8191, 13000, net));
    return `{ cat ${a}; sleep 1.3; cat ${b}; sleep 0.3; cat ${c}; } | ${JSON.stringify(process.execPath)} ${JSON.stringify(join(root, "cli/main.ts"))} ${opts} batch --force -`;
  };
  /** Routes of 10.NET.0.0/16 in the main table (counted, then removed: the next test starts clean). */
  const applied = (net: number) => {
    const n = Number(spawnSync("sh", ["-c", `ip route show root 10.${net}.0.0/16 | wc -l`], { encoding: "utf8" }).stdout.trim());
    sh("ip", "route", "flush", "root", `10.${net}.0.0/16`);
    return n;
  };
  const onTerminal = (cmd: string) => {
    const r = spawnSync("script", ["-qec", cmd, "/dev/null"], { encoding: "utf8", timeout: 120_000, stdio: ["ignore", "pipe", "pipe"] });
    return { code: r.status, tty: r.stdout };
  };

  ptest("stderr a terminal: lines done, rate, errors; erased at the end", () => {
    const r = onTerminal(feed(51, ""));
    expect(r.code).toBe(1); // line 1 failed
    expect(r.tty).toMatch(/\r\x1b\[Ktunkit batch: applied [\d,]+ lines, [\d,]+ lines\/s, 1 error\r\x1b\[K/);
    // "applied" counts acknowledged lines, never the bad line 1: the redraws at 8,192 and 12,288
    // lines read (and one at 4,096 if reading that far took a second) show fewer than that.
    const shown = [...r.tty.matchAll(/applied ([\d,]+) lines/g)].map((m) => Number(m[1]!.replaceAll(",", "")));
    expect(shown.length === 2 || shown.length === 3).toBe(true);
    expect(shown.slice(-2)[0]!).toBeLessThan(8192);
    expect(shown.slice(-1)[0]!).toBeLessThan(12288);
    expect(r.tty).toContain("tunkit: batch: 1 of 13001 lines failed");
    expect(applied(51)).toBe(13000);
  });

  ptest("-q on a terminal: no progress line", () => {
    const r = onTerminal(feed(52, "-q"));
    expect(r.code).toBe(1);
    expect(r.tty).toContain("tunkit: line 1: ");
    expect(r.tty).not.toContain("tunkit batch:");
    expect(r.tty).not.toContain("\x1b[K");
    expect(applied(52)).toBe(13000);
  });

  itest("stderr a pipe: no progress line", () => {
    const r = spawnSync("sh", ["-c", feed(53, "")], { encoding: "utf8", timeout: 120_000 });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("tunkit: line 1: ");
    expect(r.stderr).not.toContain("tunkit batch:");
    expect(r.stderr).not.toContain("\x1b[K");
    expect(applied(53)).toBe(13000);
  });
});
