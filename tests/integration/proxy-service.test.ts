// tun2socks as a service (issue 14): the shipped systemd unit started under a harness that
// speaks the notify protocol; --config/--print-config; --pidfile; --up/--down hooks; --metrics;
// SO_MARK and SO_BINDTODEVICE on the proxy sockets; --include-uid/--exclude-uid; --max-sessions
// and the open-files limit (refused, no busy loop, recovery); the TCP idle timeout; short
// connections ending normally log nothing.
import { describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import { join } from "node:path";
import { needing } from "./_ns.ts";
import { microsocksTopology } from "../fixtures/proxy/hooks.ts";
import { Proc, curl, sh, BUN, ROOT, PROXY_OUT_V4, SERVER_V4 } from "../fixtures/proxy/topology.ts";
import { startUnit } from "../fixtures/proxy/systemd-harness.ts";
import { NativeRelay } from "../../proxy/tcp-relay.ts";

const { ptest, ready } = needing("proxy-service", ["microsocks", "curl", "unshare", "setpriv", "prlimit", "strace", "ss"], "microsocks curl util-linux strace iproute2");
const t = microsocksTopology("svc", ready);
const UNIT = join(ROOT, "contrib/systemd/tunkit-socks@.service");


type J = Record<string, unknown>;
const ours = (): J[] => (JSON.parse(sh("ip", "-j", "rule")) as J[]).filter((r) => r.protocol === "84");
const tk = (...args: string[]) => spawnSync(BUN, [`${ROOT}/cli/main.ts`, ...args], { encoding: "utf8" });
const BASE = ["--proxy", "socks5://192.0.2.2:1080", "--address", "198.18.0.1/30"];

/** Runs `tunkit socks tk0 ARGS` until ready, `fn`, then SIGTERM (expecting exit 0). */
async function withTunnel<T>(args: string[], fn: (p: Proc) => Promise<T>, route = true): Promise<T> {
  const p = await t.tunkit(["socks", "tk0", ...args]);
  if (route) sh("ip", "route", "replace", "198.51.100.0/24", "dev", "tk0");
  try {
    return await fn(p);
  } finally {
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }
}

describe("systemd: the shipped tunkit-socks@.service under a notify-speaking harness", () => {
  ptest("READY=1 with STATUS once the proxy answered, traffic flows, STOPPING=1 and exit 0 on SIGTERM, rules gone", async () => {
    const conf = join(t.dir, "etc");
    mkdirSync(conf, { recursive: true });
    writeFileSync(join(conf, "office.toml"), `device = "tk5"\nproxy = "socks5://192.0.2.2:1080"\naddress = ["198.18.0.1/30"]\nauto-route = true\n`, { mode: 0o644 });
    const run = startUnit(UNIT, "office", { tunkit: [BUN, join(ROOT, "cli/main.ts")], configDir: conf, dir: t.dir });
    try {
      const ready = await run.waitFor("READY=1", 30_000);
      expect(ready).toContainEqual(expect.stringMatching(/^STATUS=tk5: tun2socks via socks5:\/\/192\.0\.2\.2:1080, .*: ready$/));
      expect(ready).toContain(`MAINPID=${run.proc.child.pid}`);
      // it really runs as the dynamic user with CAP_NET_ADMIN only
      const status = readFileSync(`/proc/${run.proc.child.pid}/status`, "utf8");
      expect(status).toMatch(/^Uid:\s+61234\s/m);
      expect(status).toMatch(/^CapBnd:\s+0000000000001000$/m);
      // its record sits in the RuntimeDirectory
      expect(spawnSync("sh", ["-c", `ls ${run.runtimeDir}`], { encoding: "utf8" }).stdout).toMatch(/-\d+\.json/);
      const c = await curl([`http://${SERVER_V4}/peer`], 10);
      expect(c.out.trim()).toBe(PROXY_OUT_V4);
      expect(await run.stop()).toBe(0);
      expect(run.messages.some((m) => m.includes("STOPPING=1"))).toBe(true);
    } finally {
      run.proc.kill("SIGKILL");
      await run.proc.exited;
    }
    expect(ours()).toEqual([]);
    expect(spawnSync("ip", ["link", "show", "tk5"]).status).not.toBe(0);
  }, 60_000);

  ptest("before the proxy answers: STATUS says why, no READY=1", async () => {
    const conf = join(t.dir, "etc");
    writeFileSync(join(conf, "down.toml"), `device = "tk6"\nproxy = "socks5://192.0.2.2:1999"\naddress = ["198.18.0.5/30"]\n`, { mode: 0o644 });
    const run = startUnit(UNIT, "down", { tunkit: [BUN, join(ROOT, "cli/main.ts")], configDir: conf, dir: t.dir });
    try {
      await run.waitFor(/^STATUS=waiting for the proxy: Proxy 192\.0\.2\.2:1999 is unreachable: ECONNREFUSED$/, 30_000);
      expect(run.messages.some((m) => m.includes("READY=1"))).toBe(false);
      expect(await run.stop()).toBe(0);
    } finally {
      run.proc.kill("SIGKILL");
      await run.proc.exited;
    }
  }, 60_000);
});

describe("--config, --print-config", () => {
  ptest("a config file runs the tunnel; the command line wins; --print-config prints the merge and changes nothing", async () => {
    const f = join(t.dir, "t.toml");
    writeFileSync(f, `device = "tk0"\nproxy = "socks5://192.0.2.2:1080"\naddress = ["198.18.0.1/30"]\nmtu = 1500\nlog-level = "warn"\n`);
    const pc = tk("socks", "--config", f, "--mtu", "2000", "--print-config");
    expect(pc.status).toBe(0);
    expect(pc.stdout).toBe(`device = "tk0"\nproxy = "socks5://192.0.2.2:1080"\naddress = [ "198.18.0.1/30" ]\nmtu = 2000\nlog-level = "warn"\n`);
    expect(spawnSync("ip", ["link", "show", "tk0"]).status).not.toBe(0);
    const p = await t.tunkit(["--json", "socks", "--config", f]);
    try {
      expect(JSON.parse(p.out.trim())).toMatchObject({ ifname: "tk0", ready: true });
      expect(JSON.parse(sh("ip", "-j", "link", "show", "tk0"))[0].mtu).toBe(1500);
    } finally {
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
  });

  for (const [text, msg] of [
    ['proxy = "socks5://192.0.2.2:1080"\nauto_route = true\n', 'unknown key "auto_route" (did you mean "auto-route"?)'],
    ['proxy = "socks5://192.0.2.2:1080"\nexclude = ["10.0.0.0/8", 5, false]\n', 'key "exclude[2]" must be a string'],
    ['proxy = "socks5://192.0.2.2:1080"\nmtu = 1500\nmtu = 1400\n', "line 3"],
  ] as const) {
    ptest(`bad config: ${msg}: exit 2, one line, nothing changed`, () => {
      const f = join(t.dir, "bad.toml");
      writeFileSync(f, text);
      const r = tk("socks", "tk9", "--config", f);
      expect(r.status).toBe(2);
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(r.stderr).toContain(msg);
      expect(spawnSync("ip", ["link", "show", "tk9"]).status).not.toBe(0);
    });
  }
});

describe("--pidfile, --up/--down hooks", () => {
  ptest("the pidfile names the process while it runs, refuses a second instance, and goes on exit; hooks run with the tunnel's environment", async () => {
    const pidf = join(t.dir, "tk.pid");
    const log = join(t.dir, "hooks.log");
    const up = `echo "up $TUNKIT_DEV $TUNKIT_KIND" >> ${log}; ip -o link show $TUNKIT_DEV >> ${log}; echo "runtime env: \${BUN_OPTIONS:-none} \${BUN_JSC_useDFGJIT:-none} \${MIMALLOC_PURGE_DELAY:-none}" >> ${log}`;
    const down = `echo "down $TUNKIT_DEV" >> ${log}`;
    // --relay names the other relay than the environment's (the option must decide, before the re-exec)
    const relay = NativeRelay.kind() === "bun" ? "splice" : "bun";
    await withTunnel([...BASE, "--relay", relay, "--pidfile", pidf, "--up", up, "--down", down], async (p) => {
      expect(readFileSync(pidf, "utf8").trim()).toBe(String(p.child.pid));
      // after its re-exec (of /proc/self/exe) ps shows the binary's name, not "exe"
      expect(readFileSync(`/proc/${p.child.pid}/comm`, "utf8").trim()).toBe(BUN.split("/").pop()!.slice(0, 15));
      const second = tk("socks", "tk1", ...BASE, "--pidfile", pidf);
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`names a running tunkit (pid ${p.child.pid})`);
      expect(readFileSync(log, "utf8")).toMatch(/^up tk0 socks\n\d+: tk0: /);
      // the daemon runs with its memory settings (cli/socks.ts), which its hooks do not inherit
      const environ = readFileSync(`/proc/${p.child.pid}/environ`, "utf8").split("\0");
      expect(environ).toEqual(expect.arrayContaining(["BUN_OPTIONS=--smol", "BUN_JSC_useDFGJIT=0"]));
      // mimalloc keeps freed pages 250 ms for the Bun relay (its socket chunks' reuse); the splice relay keeps the default purge
      if (relay === "bun") expect(environ).toContain("MIMALLOC_PURGE_DELAY=250");
      else expect(environ.filter((e) => e.startsWith("MIMALLOC_PURGE_DELAY="))).toEqual([]);
      expect(readFileSync(log, "utf8")).toContain("runtime env: none none none\n");
    });
    expect(existsSync(pidf)).toBe(false);
    expect(readFileSync(log, "utf8").trim().split("\n").at(-1)).toBe("down tk0");
  });

  ptest("a failing --up command stops the tunnel: exit 1, nothing left behind", async () => {
    const p = await t.tunkit(["socks", "tk0", ...BASE, "--auto-route", "--up", "exit 3"], false);
    expect(await p.exited).toBe(1);
    expect(p.err).toContain("The --up command exited with status 3");
    expect(ours()).toEqual([]);
    expect(spawnSync("ip", ["link", "show", "tk0"]).status).not.toBe(0);
  });
});

describe("--metrics", () => {
  ptest("Prometheus text on loopback: flows, bytes, handshake latency, proxy up", async () => {
    await withTunnel([...BASE, "--metrics", "127.0.0.1:19184"], async () => {
      for (let i = 0; i < 3; i++) expect((await curl([`http://${SERVER_V4}/small`], 10)).out).toBe("ok\n");
      const r = await fetch("http://127.0.0.1:19184/metrics");
      expect(r.headers.get("content-type")).toContain("text/plain; version=0.0.4");
      const text = await r.text();
      expect(text).toContain("tunkit_tcp_flows_total 3");
      expect(text).toContain("tunkit_proxy_up 1");
      expect(text).toMatch(/^tunkit_proxy_handshake_seconds_count 3$/m);
      expect(text).toMatch(/^tunkit_bytes_total\{direction="down"\} [1-9]\d*$/m);
    });
  });
});

describe("the tunnel's own sockets", () => {
  ptest("--auto-route marks the proxy connections (SO_MARK 0x54, a first rule sends them past the tun); --bind-interface binds them", async () => {
    await withTunnel([...BASE, "--auto-route", "--bind-interface", "tkc0"], async () => {
      const held = new Proc(["curl", "-sS", "--max-time", "20", "--limit-rate", "20k", "-o", "/dev/null", `http://${SERVER_V4}/big`]);
      try {
        let ss = "";
        for (let i = 0; i < 100 && !/fwmark/.test(ss); i++) {
          await Bun.sleep(50);
          ss = spawnSync("ss", ["-tnHe", "dst", "192.0.2.2:1080"], { encoding: "utf8" }).stdout;
        }
        expect(ss).toMatch(/fwmark:0x54/);
        expect(ss).toMatch(/192\.0\.2\.1%tkc0:\d+/);
        expect(ours()[0]).toMatchObject({ priority: 8484, fwmark: "0x54", goto: 8489 });
      } finally {
        held.kill("SIGKILL");
        await held.exited;
      }
    }, false);
  });

  ptest("--include-uid: only that user's traffic enters the tun; --exclude-uid: that user's stays out", async () => {
    const asNobody = (url: string) => spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "curl", "-sS", "--max-time", "5", url], { encoding: "utf8" });
    await withTunnel([...BASE, "--auto-route", "--include-uid", "65534"], async () => {
      expect(asNobody(`http://${SERVER_V4}/peer`).stdout.trim()).toBe(PROXY_OUT_V4);
      const root = await curl([`http://${SERVER_V4}/peer`], 5);
      expect(root.out).toBe(""); // by main: no route to the server's network but the tun's
    }, false);
    expect(ours()).toEqual([]); // the catch-all bypass too (deleted in the order it was added)
    await withTunnel([...BASE, "--auto-route", "--exclude-uid", "65534"], async (p) => {
      expect(asNobody(`http://${SERVER_V4}/peer`).stdout).toBe("");
      const c = await curl([`http://${SERVER_V4}/peer`], 5);
      expect(c.out.trim()).toBe(PROXY_OUT_V4);
      expect(p.err).toBe("");
    }, false);
  });
});

/** Opens `n` connections to the server through the tun; resolves with the sockets that opened and the count refused. */
async function openMany(n: number): Promise<{ open: net.Socket[]; refused: number }> {
  const res = await Promise.all(
    Array.from({ length: n }, () =>
      new Promise<net.Socket | undefined>((resolve) => {
        const s = net.connect({ host: SERVER_V4, port: 80 });
        s.once("connect", () => resolve(s));
        s.once("error", () => resolve(undefined));
        s.setTimeout(8000, () => (s.destroy(), resolve(undefined)));
      }),
    ),
  );
  const open = res.filter((s): s is net.Socket => !!s);
  return { open, refused: n - open.length };
}

describe("limits", () => {
  ptest("--max-sessions 5: the 6th flow gets a RST, a warning says why; room again once flows close", async () => {
    await withTunnel([...BASE, "--max-sessions", "5"], async (p) => {
      const a = await openMany(6);
      expect(a.open.length).toBe(5);
      expect(a.refused).toBe(1);
      await p.waitFor(/--max-sessions 5 reached/, 5000, "err");
      for (const s of a.open) s.destroy();
      await Bun.sleep(300);
      expect((await curl([`http://${SERVER_V4}/small`], 10)).out).toBe("ok\n");
    });
  });

  ptest("at the open-files limit (nofile 64, 60 connections): refused with the reason and a hint, no accept() busy loop, recovery", async () => {
    const p = new Proc(["prlimit", "--nofile=64:64", BUN, join(ROOT, "cli/main.ts"), "socks", "tk0", ...BASE]);
    t.procs.push(p);
    await p.waitFor(/ready/, 15_000);
    sh("ip", "route", "replace", "198.51.100.0/24", "dev", "tk0");
    try {
      const trace = new Proc(["strace", "-f", "-c", "-e", "trace=accept4,accept", "-p", String(p.child.pid)]);
      await Bun.sleep(300);
      const a = await openMany(60);
      await Bun.sleep(1500);
      trace.kill("SIGINT");
      await trace.closed;
      expect(a.refused).toBeGreaterThan(0);
      expect(a.open.length).toBeGreaterThan(0);
      await p.waitFor(/open-files limit \(64\)/, 5000, "err");
      expect(p.err).toContain("raise LimitNOFILE=");
      expect(p.err).not.toMatch(/ECONNREFUSED/);
      const calls = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?accept4?$/m.exec(trace.err);
      expect(Number(calls?.[1] ?? 0)).toBeLessThan(1000); // a busy loop makes ~10,000/s
      for (const s of a.open) s.destroy();
      await Bun.sleep(500);
      expect((await curl([`http://${SERVER_V4}/small`], 10)).out).toBe("ok\n");
    } finally {
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
  });

  ptest("--tcp-idle-timeout 1: an idle flow is closed within a few seconds; an active one is not", async () => {
    await withTunnel([...BASE, "--tcp-idle-timeout", "1", "-v"], async (p) => {
      const { open } = await openMany(1);
      const s = open[0]!;
      const closed = new Promise<void>((r) => s.on("close", () => r()));
      s.on("error", () => {});
      await Promise.race([closed, Bun.sleep(8000)]);
      expect(s.destroyed).toBe(true);
      await p.waitFor(/idle for 1 s, closed/, 3000, "err");
    });
  });

  ptest("200 short connections ending normally: no error line at all", async () => {
    await withTunnel(BASE, async (p) => {
      for (let i = 0; i < 200; i += 8) {
        await Promise.all(Array.from({ length: 8 }, () => curl([`http://${SERVER_V4}/small`], 10)));
      }
      await Bun.sleep(300);
      expect(p.err).toBe("");
    });
  });
});
