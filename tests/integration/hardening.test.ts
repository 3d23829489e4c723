// Issue 10's hardening, held against the real tools in this file's own network namespace:
// addresses ip refuses are refused before anything changes; every exit-1 error of -n, setns,
// /dev/net/tun and TUNSETIFF carries a hint that is true for its trigger (uid 65534 through
// setpriv, a /dev/net/tun node made with mknod in a private mount namespace, a setcap'd copy of
// the binary); up/list flag devices any user can attach, and a uid-65534 attach attempt shows
// why; doctor tries CAP_NET_ADMIN instead of reading bits; 50 concurrent ups converge.
//
// Everything runs the compiled binary (what users run), built once into a world-readable temp
// folder so that uid 65534 can execute it.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ipLink, itest, makeDevice, needing, sh } from "./_ns.ts";
import { ensureTun, ERRNO } from "../../tun/mod.ts";
import { NetlinkError, Rtnl } from "../../netlink/mod.ts";

const root = join(import.meta.dir, "../..");
const dir = mkdtempSync(join(tmpdir(), "tk-hard-"));
const bin = join(dir, "tunkit");
const capBin = join(dir, "tunkit-cap");
/** Runs a command line as uid/gid 65534 (nobody), no supplementary groups, no capabilities. */
const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
const { ptest: setcapTest } = needing("setcap'd binary", ["setcap"], "libcap2-bin");

beforeAll(() => {
  const b = spawnSync(process.execPath, [join(root, "scripts/build.ts"), "--outfile", join(dir, "build", "tunkit")], { encoding: "utf8", timeout: 180_000 });
  if (b.status !== 0) throw new Error(`build failed: ${b.stdout}${b.stderr}`);
  copyFileSync(join(dir, "build", "tunkit"), bin);
  rmSync(join(dir, "build"), { recursive: true, force: true });
  chmodSync(dir, 0o755);
  chmodSync(bin, 0o755);
  makeDevice("tk0", "tun", ["192.0.2.1/24", "2001:db8::1/64"]);
}, 200_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number | null;
  out: string;
  err: string;
}

/** Runs `argv` (a command line; the binary as "TK") and returns its exit code and output. */
function run(argv: readonly string[], env: Record<string, string> = {}): Run {
  const [cmd, ...args] = argv.map((a) => (a === "TK" ? bin : a === "TKCAP" ? capBin : a));
  const r = spawnSync(cmd!, args, { encoding: "utf8", timeout: 60_000, env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", LANG: "C", ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
const tk = (...a: string[]) => run(["TK", ...a]);

/** The namespace's links, addresses and routes as ip -j sees them. */
const state = () => ["link", "addr", "route", "-6 route", "rule", "-6 rule"].map((w) => sh("ip", "-j", ...w.split(" "))).join("\n");

/** A usage error: exit 2, exactly one line on stderr, nothing on stdout. */
function expectUsage(r: Run, msg: RegExp): void {
  expect({ code: r.code, out: r.out }).toEqual({ code: 2, out: "" });
  const lines = r.err.split("\n").filter(Boolean);
  expect(lines.length).toBe(1);
  expect(lines[0]).toMatch(msg);
}

/** A system refusal: exit 1, the error line, and a hint line. Returns the hint. */
function expectRefusal(r: Run, msg: RegExp): string {
  expect(r.code).toBe(1);
  const lines = r.err.split("\n").filter(Boolean);
  expect(lines[0]).toMatch(msg);
  const hint = lines.find((l) => l.startsWith("hint: "));
  expect(hint).toBeDefined();
  expect(r.err).not.toMatch(/\n\s+at /); // no stack trace
  return hint!.slice(6);
}

/**
 * Runs `script` (sh) in a private mount namespace where /dev/net/tun is a node made with
 * mknod, mode `mode`, on a tmpfs of its own: the host's node is never touched.
 */
function withTunNode(mode: "0600" | "0666", script: string): Run {
  const d = join(dir, "node"); // mounted over only inside the private mount namespace
  mkdirSync(d, { recursive: true });
  const wrapped = `set -e; mount -t tmpfs tkdev '${d}'; mknod -m ${mode} '${d}/tun' c 10 200; mount --bind '${d}/tun' /dev/net/tun; set +e; ${script}`;
  return run(["unshare", "-m", "--propagation", "private", "sh", "-c", wrapped]);
}
const q = (argv: readonly string[]) => argv.map((a) => (a === "TK" ? bin : a === "TKCAP" ? capBin : a)).map((a) => `'${a}'`).join(" ");

describe("bad addresses change nothing, in every command that parses them", () => {
  // Each is refused by ip (inet_pton); tunkit used to accept the zone and drop it, and read the dotted quad leniently.
  const TEXTS = ["2001:db8::9%zz/64", "fe80::9%tk0/64", "::ffff:010.1.1.1/128", "::ffff:192.0.2.01/128", "::ffff:0x1.1.1.1/128"];

  itest("ip refuses each of them, and so does tunkit addr add/del, route add/del/get, up, rule add: exit 2, nothing changed", () => {
    const before = state();
    for (const t of TEXTS) {
      expect(run(["ip", "addr", "add", t, "dev", "tk0"]).code).not.toBe(0);
      const bare = t.slice(0, t.indexOf("/"));
      const cases: string[][] = [
        ["addr", "add", t, "dev", "tk0"],
        ["addr", "del", t, "dev", "tk0"],
        ["route", "add", t.replace(/\/\d+$/, "/128"), "dev", "tk0"],
        ["route", "del", t.replace(/\/\d+$/, "/128"), "dev", "tk0"],
        ["route", "add", "2001:db8:77::/48", "via", bare, "dev", "tk0"],
        ["route", "get", bare],
        ["up", "tk9", t],
        ["up", "tk9", "2001:db8::5/64", "--peer", bare],
        ["rule", "add", "from", t, "table", "100"],
      ];
      for (const c of cases) expectUsage(tk(...c), /^tunkit: Invalid (IP address|gateway|peer address|address|peer|prefix)[^:]*"[^"]*": (zone index "%\w+" not allowed|leading zero in "0\d+"|hexadecimal "0x1" in a dotted quad)/);
    }
    expect(ipLink("tk9")).toBeUndefined();
    expect(state()).toBe(before);
  }, 300_000);

  itest("what ip accepts, tunkit adds as the same address: ::192.0.2.1 stays IPv4-compatible (not ::ffff:)", () => {
    for (const t of ["::192.0.2.1/128", "::ffff:192.0.2.7/128", "1:2:3:4:5:6:192.0.2.9/128", "2001:DB8::a/128"]) {
      expect(tk("addr", "add", t, "dev", "tk0").code).toBe(0);
      // ip deletes it by the same text: the kernel holds exactly the address ip reads from it.
      expect(run(["ip", "addr", "del", t, "dev", "tk0"]).code).toBe(0);
    }
  });
});

describe("every exit-1 error of -n, /dev/net/tun and TUNSETIFF has a hint true for its trigger", () => {
  itest("-n with a 300-byte name or a 300-byte path component: usage errors (were ENAMETOOLONG 'Unknown error 36')", () => {
    expectUsage(tk("-n", "a".repeat(300), "list"), /^tunkit: Invalid network namespace name: 300 bytes, at most 255$/);
    expectUsage(tk("-n", "/" + "b".repeat(300), "list"), /^tunkit: Invalid network namespace path: a component of 300 bytes, at most 255$/);
    expectUsage(tk("-n", "bad\x01name", "list"), /^tunkit: Invalid network namespace name .*control characters/);
  });

  itest("-n with a file that is not a network namespace: setns EINVAL, the hint says what it is", () => {
    expect(expectRefusal(tk("-n", "/etc/passwd", "list"), /^tunkit: setns \/etc\/passwd: Invalid argument \(EINVAL\)$/))
      .toStartWith("/etc/passwd is a regular file, not a network namespace");
    expect(expectRefusal(tk("-n", "/proc/self/ns/mnt", "list"), /EINVAL/)).toStartWith("/proc/self/ns/mnt is a mnt namespace, not a network namespace");
    expect(expectRefusal(tk("-n", "/tmp", "list"), /EINVAL/)).toStartWith("/tmp is a directory");
    expect(expectRefusal(tk("-n", "/etc/passwd/x", "list"), /Not a directory \(ENOTDIR\)/)).toContain("is not a directory");
    expect(expectRefusal(tk("-n", "/nonexistent-tk/ns", "list"), /ENOENT/)).toStartWith("/nonexistent-tk/ns does not exist");
    expect(expectRefusal(tk("-n", `tk-none-${process.pid}`, "list"), /ENOENT/)).toContain(`there is no network namespace "tk-none-${process.pid}"`);
  });

  itest("-n NAME whose /run/netns entry is a leftover plain file (a private tmpfs over /run/netns)", () => {
    const r = run(["unshare", "-m", "--propagation", "private", "sh", "-c", `mkdir -p /run/netns && mount -t tmpfs tkns /run/netns && touch /run/netns/stale && exec ${q(["TK", "-n", "stale", "list"])}`]);
    expect(expectRefusal(r, /^tunkit: setns \/run\/netns\/stale: Invalid argument/)).toContain("leftover file, not a mounted namespace");
  });

  itest("setns EPERM as uid 65534 asks for CAP_SYS_ADMIN, not CAP_NET_ADMIN; an unreadable namespace file is EACCES", () => {
    const hint = expectRefusal(run([...NOBODY, "TK", "-n", "/proc/self/ns/net", "list"]), /^tunkit: setns \/proc\/self\/ns\/net: Operation not permitted \(EPERM\)$/);
    expect(hint).toContain("needs CAP_SYS_ADMIN");
    expect(hint).toContain("CAP_NET_ADMIN is not enough");
    // A root process's namespace: /proc/PID/ns/net is not readable by another uid.
    const sleeper = spawn("sleep", ["20"]);
    try {
      const r = run([...NOBODY, "TK", "-n", `/proc/${sleeper.pid}/ns/net`, "list"]);
      expect(expectRefusal(r, /Permission denied \(EACCES\)$/)).toContain("may not read");
    } finally {
      sleeper.kill();
    }
  });

  itest("EACCES on a mode-0600 /dev/net/tun (uid 65534): the hint names the node's mode, owner and group, never CAP_NET_ADMIN", () => {
    const r = withTunNode("0600", `exec ${q([...NOBODY, "TK", "up", "tkx"])}`);
    const hint = expectRefusal(r, /^tunkit: open \/dev\/net\/tun: Permission denied \(EACCES\)$/);
    expect(hint).toStartWith("/dev/net/tun is mode 0600, owner root, group root, and you are nobody");
    expect(hint).toContain('KERNEL=="tun", GROUP="netdev", MODE="0660"');
    expect(hint).not.toMatch(/needs CAP_NET_ADMIN:|setcap cap_net_admin\+ep/);
    expect(ipLink("tkx")).toBeUndefined();
  });

  setcapTest("a setcap cap_net_admin+ep copy: creates devices through a 0666 node, and gets the same EACCES hint through a 0600 one", () => {
    copyFileSync(bin, capBin);
    chmodSync(capBin, 0o755);
    sh("setcap", "cap_net_admin+ep", capBin);
    // The capability is real: uid 65534 creates a device with it (and not without it).
    const made = withTunNode("0666", `${q([...NOBODY, "TKCAP", "up", "tkcap"])}; echo "rc=$?"; exec ${q([...NOBODY, "TK", "up", "tknocap"])}`);
    expect(made.out).toContain("rc=0");
    expect(ipLink("tkcap")).toBeDefined();
    expect(expectRefusal(made, /^tunkit: ioctl\(TUNSETIFF\) tknocap: Operation not permitted \(EPERM\)$/)).toStartWith("creating a tun/tap device needs CAP_NET_ADMIN");
    expect(ipLink("tknocap")).toBeUndefined();
    const r = withTunNode("0600", `exec ${q([...NOBODY, "TKCAP", "up", "tkcap2"])}`);
    const hint = expectRefusal(r, /^tunkit: open \/dev\/net\/tun: Permission denied \(EACCES\)$/);
    expect(hint).toStartWith("/dev/net/tun is mode 0600, owner root, group root, and you are nobody (a file permission: CAP_NET_ADMIN or setcap does not change it)");
    expect(ipLink("tkcap2")).toBeUndefined();
    sh("ip", "link", "del", "tkcap");
  });
});

describe("kernel refusals during up", () => {
  itest("IPv6 off on the device: EACCES is explained as that (was: needs CAP_NET_ADMIN); a queue too big to allocate: ENOMEM with the option to change", () => {
    sh("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1");
    try {
      const hint = expectRefusal(tk("up", "tk6off", "2001:db8:6::1/64"), /^tunkit: add address: .*\(EACCES\)/);
      expect(hint).toBe("IPv6 is disabled on tk6off: sysctl -w net.ipv6.conf.tk6off.disable_ipv6=0 (net.ipv6.conf.default.disable_ipv6 decides for new devices)");
      // The hint is right: following it makes the same up succeed.
      sh("sysctl", "-qw", "net.ipv6.conf.tk6off.disable_ipv6=0");
      expect(tk("up", "tk6off", "2001:db8:6::1/64").code).toBe(0);
    } finally {
      sh("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=0");
    }
    expect(tk("up", "tk6off", "--txqueuelen", "4294967295").code).toBe(1);
    const r = tk("up", "tk6off", "--txqueuelen", "4294967295");
    expect(expectRefusal(r, /\(ENOMEM\)$/)).toStartWith("the kernel could not allocate a queue of 4294967295 packets for tk6off: give a smaller --txqueuelen");
    expect(tk("up", "tk6off", "--txqueuelen", "1000").code).toBe(0);
    sh("ip", "link", "del", "tk6off");
  });
});

describe("kernel refusals of addr and route", () => {
  itest("IPv6 off on the device: addr add and route add say so (was: needs CAP_NET_ADMIN), and turning it on makes both work", () => {
    makeDevice("tk6b", "tun", [], { noIpv6: true });
    const hintOf = (r: Run, re: RegExp) => expectRefusal(r, re);
    for (const [args, re] of [
      [["addr", "add", "2001:db8:7::1/64", "dev", "tk6b"], /^tunkit: add address: permission denied .*\(EACCES\)/],
      [["-6", "route", "add", "2001:db8:8::/48", "dev", "tk6b"], /^tunkit: add route: permission denied .*\(EACCES\)/],
    ] as const) {
      expect(hintOf(tk(...args), re)).toStartWith("IPv6 is disabled on that device or on the host (sysctl net.ipv6.conf.DEV.disable_ipv6=0 enables it)");
    }
    sh("sysctl", "-qw", "net.ipv6.conf.tk6b.disable_ipv6=0");
    expect(tk("addr", "add", "2001:db8:7::1/64", "dev", "tk6b").code).toBe(0);
    expect(tk("-6", "route", "add", "2001:db8:8::/48", "dev", "tk6b").code).toBe(0);
    sh("ip", "link", "del", "tk6b");
  });
});

describe("safe by default: devices any user can attach", () => {
  itest("uid 65534 attaches an ownerless device (ip tuntap add) but not an owned one; up warns, list flags it, --user fixes it", () => {
    sh("ip", "tuntap", "add", "tkfree", "mode", "tun");
    sh("ip", "tuntap", "add", "tkowned", "mode", "tun", "user", "0");
    sh("ip", "link", "set", "tkfree", "up");
    sh("ip", "link", "set", "tkowned", "up");
    const attach = (name: string) => q([...NOBODY, "TK", "echo", name, "--timeout", "1", "-q"]);

    // The danger, shown: nobody attaches the ownerless device (echo runs and ends after 1 s)...
    const free = withTunNode("0666", `exec ${attach("tkfree")}`);
    expect(free.code).toBe(0);
    // ...and is refused the owned one, with a hint about owners, not about capabilities.
    const owned = withTunNode("0666", `exec ${attach("tkowned")}`);
    expect(expectRefusal(owned, /^tunkit: ioctl\(TUNSETIFF\) tkowned: Operation not permitted \(EPERM\)$/)).toStartWith("tkowned belongs to another user or group (tunkit show tkowned names them)");

    // up on the ownerless device says so; list marks it, in text and JSON.
    const up = tk("up", "tkfree", "192.0.2.66/32");
    expect(up.code).toBe(0);
    // The wording follows this machine's /dev/net/tun (0600 on some machines of this kind, 0666 on others).
    const mode = statSync("/dev/net/tun").mode & 0o777;
    const perm = mode.toString(8).padStart(4, "0");
    const who = mode & 0o006 ? `any local user can attach it (/dev/net/tun is mode ${perm})` : `any local user who can open /dev/net/tun (mode ${perm} here, so not every user today) can attach it`;
    expect(up.err).toBe(`tunkit: warning: tkfree has no owner and no group: ${who}, to read its traffic and inject packets; limit it with tunkit up tkfree --user USER (or --group GROUP)\n`);
    const list = tk("list");
    expect(list.out).toMatch(/^tkfree\s.*\sANY-USER!\s/m);
    expect(list.out).not.toMatch(/^tkowned\s.*ANY-USER!/m);
    expect(list.err).toContain("warning: tkfree has no owner and no group");
    expect(list.err).not.toContain("tkowned");
    const json = JSON.parse(tk("list", "--json").out) as Array<{ ifname: string; any_user: boolean }>;
    expect(Object.fromEntries(json.map((v) => [v.ifname, v.any_user]))).toMatchObject({ tkfree: true, tkowned: false });

    // --user fixes it: ip agrees, nothing warns any more, and nobody's attach is refused.
    const fix = tk("up", "tkfree", "--user", "root");
    expect({ code: fix.code, err: fix.err }).toEqual({ code: 0, err: "" });
    expect(ipLink("tkfree")!.linkinfo.info_data.user).toBe("root");
    expect(tk("list").err).not.toContain("tkfree"); // tk0, from ip tuntap add too, still warns
    expect(withTunNode("0666", `exec ${attach("tkfree")}`).code).toBe(1);
    // --group alone also fixes an ownerless device.
    sh("ip", "tuntap", "add", "tkgrp", "mode", "tun");
    expect(tk("up", "tkgrp", "--group", "0").err).toBe("");
    expect(ipLink("tkgrp")!.linkinfo.info_data.group).toBe("root");
    // A device handed to uid 65534 is attachable by it.
    expect(tk("up", "tkmine", "--user", "65534").code).toBe(0);
    expect(withTunNode("0666", `exec ${attach("tkmine")}`).code).toBe(0);
    for (const d of ["tkfree", "tkowned", "tkgrp", "tkmine"]) sh("ip", "link", "del", d);
  });
});

describe("doctor tries the capability it needs", () => {
  const capCheck = (r: Run) => (JSON.parse(r.out) as Array<{ check: string; status: string; detail: string; fix?: string }>).find((c) => c.check === "cap-net-admin")!;

  itest("root in this namespace: ok; unshare -r (full CapEff, foreign namespace): FAIL, as route add fails there with EPERM", () => {
    expect(capCheck(tk("doctor", "--json")).status).toBe("ok");
    const inUserns = run(["unshare", "-r", bin, "doctor", "--json"]);
    expect(inUserns.code).toBe(1);
    const c = capCheck(inUserns);
    expect(c.status).toBe("fail");
    expect(c.detail).toContain("CAP_NET_ADMIN is in CapEff");
    expect(c.detail).toContain("not over this network namespace");
    // The check is what tunkit's changes meet: a route add under the same unshare -r.
    const route = run(["unshare", "-r", bin, "route", "add", "203.0.113.0/24", "dev", "tk0"]);
    expect(route.code).toBe(1);
    expect(route.err).toContain("(EPERM)");
    // A user namespace with a network namespace of its own is fine.
    expect(capCheck(run(["unshare", "-rn", bin, "doctor", "--json"])).status).toBe("ok");
  });

  itest("uid 65534 with a mode-0600 node: tun-device FAIL with the node's mode in the fix, cap-net-admin FAIL", () => {
    const r = withTunNode("0600", `exec ${q([...NOBODY, "TK", "doctor", "--json"])}`);
    expect(r.code).toBe(1);
    const checks = JSON.parse(r.out) as Array<{ check: string; status: string; fix?: string }>;
    const dev = checks.find((c) => c.check === "tun-device")!;
    expect(dev.status).toBe("fail");
    expect(dev.fix).toStartWith("/dev/net/tun is mode 0600, owner root, group root, and you are nobody");
    expect(checks.find((c) => c.check === "cap-net-admin")!.status).toBe("fail");
  });
});

describe("concurrent up of one name", () => {
  itest("a device held by a real reader is not a race: up that needs to change it fails, naming the reader; up that needs nothing succeeds", async () => {
    expect(tk("up", "tkheld", "192.0.2.77/32").code).toBe(0);
    const reader = spawn(bin, ["echo", "tkheld", "--timeout", "300", "-q"], { stdio: "ignore" }); // killed below; 300 s only bounds it
    try {
      // Wait until the reader holds it (list shows it attached).
      for (let i = 0; i < 100; i++) {
        const v = (JSON.parse(tk("list", "--json").out) as Array<{ ifname: string; attached: unknown[] }>).find((x) => x.ifname === "tkheld");
        if (v && v.attached.length) break;
        await Bun.sleep(100);
      }
      expect(tk("up", "tkheld", "192.0.2.77/32")).toMatchObject({ code: 0 });
      const r = tk("up", "tkheld", "--pi");
      const hint = expectRefusal(r, /^tunkit: Device "tkheld" needs pi, but it is attached and cannot be changed now$/);
      expect(hint).toContain(`(pid ${reader.pid})`);
    } finally {
      reader.kill();
    }
    sh("ip", "link", "del", "tkheld");
  }, 180_000);


  itest("library: ensureTun converges when its view is stale, the race made deterministic (link and addresses already made by another process)", async () => {
    // What a racing `up` sees: the device "missing" though another process just made it, and its
    // addresses "missing" though they are there. ensureTun must start over, not fail.
    makeDevice("tkrace", "tun", ["192.0.2.44/24", "2001:db8:44::1/64"]);
    const real = Rtnl.open();
    let staleLink = 1;
    let staleAddrs = 1;
    const stale = new Proxy(real, {
      get(t, k) {
        if (k === "getLink") {
          return (dev: string | number) => (staleLink-- > 0 ? Promise.reject(new NetlinkError("get link", ERRNO.ENODEV, { subject: String(dev) })) : t.getLink(dev));
        }
        if (k === "listAddresses") return (f: Parameters<Rtnl["listAddresses"]>[0]) => (staleAddrs-- > 0 ? Promise.resolve([]) : t.listAddresses(f));
        const v = Reflect.get(t, k) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    });
    try {
      const r = await ensureTun({ name: "tkrace", owner: 0, addresses: ["192.0.2.44/24", "2001:db8:44::1/64"], rtnl: stale });
      expect(staleLink).toBeLessThan(0); // both stale views were really met
      expect(staleAddrs).toBeLessThan(0);
      expect(r).toMatchObject({ name: "tkrace", created: false, changes: ["owner 0"], owner: 0, group: null });
    } finally {
      real.close();
    }
    expect(ipLink("tkrace")!.linkinfo.info_data.user).toBe("root");
    sh("ip", "link", "del", "tkrace");
  });

  itest("50 concurrent ups: all exit 0, one creates, the device ends with its addresses once", async () => {
    const N = 50;
    const procs = Array.from({ length: N }, () =>
      new Promise<Run>((resolve) => {
        const p = spawn(bin, ["up", "tkc", "192.0.2.33/24", "2001:db8:c::1/64", "--mtu", "1400"], { env: { PATH: "/usr/bin:/bin" } });
        let out = "";
        let err = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (err += d));
        p.on("close", (code) => resolve({ code, out, err }));
      }));
    const results = await Promise.all(procs);
    const failed = results.filter((r) => r.code !== 0).map((r) => r.err);
    expect(failed).toEqual([]);
    expect(results.filter((r) => /tkc: created/.test(r.out + r.err)).length).toBe(1);
    const link = ipLink("tkc")!;
    expect(link.mtu).toBe(1400);
    expect(link.linkinfo.info_data).toMatchObject({ persist: true, user: "root" });
    const addrs = (JSON.parse(sh("ip", "-j", "addr", "show", "dev", "tkc")) as Array<{ addr_info: Array<{ local: string; prefixlen: number; scope: string }> }>)[0]!
      .addr_info.filter((a) => a.scope === "global").map((a) => `${a.local}/${a.prefixlen}`).sort();
    expect(addrs).toEqual(["192.0.2.33/24", "2001:db8:c::1/64"]);
    sh("ip", "link", "del", "tkc");
  }, 300_000);
});
