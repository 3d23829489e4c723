// tunkit socks never lets traffic around the proxy (issue 10): with --auto-route, DNS to a
// resolver on a directly connected LAN goes into the tun (the resolver sees no query); IPv6 is
// proxied or blocked, never direct, and the banner says which; when the device disappears the
// tunnel exits 1 at once and removes its rules; `tunkit cleanup` leaves a live
// tunnel's rules and routes alone; "ready" waits for the proxy's handshake.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import dgram from "node:dgram";
import net from "node:net";
import { needing } from "./_ns.ts";
import {
  Topology, curl, FAILED_CLOSED, sh, Proc, BUN, ROOT, LAN_V4, LAN_V6, PROXY_OUT_V4, PROXY_OUT_V6, SERVER_V4, SERVER_V6,
} from "../fixtures/proxy/topology.ts";

const { ptest, ready } = needing("proxy-leak", ["microsocks", "danted", "curl", "unshare"], "microsocks dante-server curl");
const t = new Topology("lk");
let resolver: Proc;

beforeAll(async () => {
  if (!ready) return;
  t.up().addLan();
  t.directIpv6();
  await t.startServer(1 << 20);
  await t.startMicrosocks(1080);
  await t.startDante(1082);
  resolver = await t.startResolver();
}, 60_000);

afterAll(async () => {
  await t.down();
});

type J = Record<string, unknown>;
const ours = (v6 = false): J[] => (JSON.parse(sh("ip", "-j", ...(v6 ? ["-6"] : []), "rule")) as J[]).filter((r) => r.protocol === "84");
const routes84 = (): string => spawnSync("sh", ["-c", "ip route show table all proto 84; ip -6 route show table all proto 84"], { encoding: "utf8" }).stdout;
const tk = (...args: string[]) => spawnSync(BUN, [`${ROOT}/cli/main.ts`, ...args], { encoding: "utf8" });

/** An A query for `name` (id 0x1234, RD). */
function encodeDnsQueryForTest(name: string): Buffer {
  const labels = name.split(".").flatMap((l) => [l.length, ...Buffer.from(l)]);
  return Buffer.from([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, 0, 1, 0, 1]);
}

/** One DNS query for NAME to SERVER:53 over UDP or TCP from this namespace; resolves with the answer's rcode or "timeout"/the error. */
async function query(server: string, proto: "udp" | "tcp", name: string, ms = 3000): Promise<string> {
  const q = encodeDnsQueryForTest(name);
  if (proto === "udp") {
    const s = dgram.createSocket(server.includes(":") ? "udp6" : "udp4");
    try {
      return await new Promise<string>((resolve) => {
        const timer = setTimeout(() => resolve("timeout"), ms);
        s.on("message", (m) => {
          clearTimeout(timer);
          resolve(`rcode ${m[3]! & 15}`);
        });
        s.on("error", (e: Error & { code?: string }) => {
          clearTimeout(timer);
          resolve(e.code ?? e.message);
        });
        s.send(q, 53, server);
      });
    } finally {
      s.close();
    }
  }
  return await new Promise<string>((resolve) => {
    const c = net.connect({ host: server, port: 53 });
    const timer = setTimeout(() => (c.destroy(), resolve("timeout")), ms);
    let buf = Buffer.alloc(0);
    c.on("connect", () => c.write(Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q])));
    c.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 + 4) {
        clearTimeout(timer);
        c.destroy();
        resolve(`rcode ${buf[5]! & 15}`);
      }
    });
    c.on("error", (e: Error & { code?: string }) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
    c.on("close", () => {
      clearTimeout(timer);
      resolve(buf.length ? `short answer` : "closed");
    });
  });
}

const seen = (name: string) => resolver.out.split("\n").filter((l) => l.includes(` ${name} `));

describe("DNS to a resolver on the directly connected LAN", () => {
  ptest("control: without a tunnel the LAN resolver answers UDP and TCP, v4 and v6 (so the checks below can fail)", async () => {
    for (const [srv, proto] of [[LAN_V4, "udp"], [LAN_V4, "tcp"], [LAN_V6, "udp"], [LAN_V6, "tcp"]] as const) {
      expect(await query(srv, proto, "control.example.test")).toBe("rcode 0");
    }
    await resolver.waitFor(/(query .* control\.example\.test [^\n]*\n[^]*){4}/);
    expect(seen("control.example.test").length).toBe(4);
  });

  for (const mode of ["fake-ip", "tcp", "relay"] as const) {
    ptest(`--auto-route --dns ${mode}: every query goes into the tun, the LAN resolver sees none`, async () => {
      const name = `leak-${mode}.example.test`;
      const args = ["socks", "tk0", "--proxy", "socks5://192.0.2.2:1082", "--address", "198.18.0.1/30", "--address", "fd54:4b::1/126", "--auto-route"];
      if (mode !== "relay") args.push("--dns", mode);
      const p = await t.tunkit(args);
      try {
        const answers: string[] = [];
        for (const [srv, proto] of [[LAN_V4, "udp"], [LAN_V4, "tcp"], [LAN_V6, "udp"], [LAN_V6, "tcp"]] as const) answers.push(await query(srv, proto, name, 2500));
        // fake-ip answers locally; tcp/relay reach the proxy, which cannot reach the LAN: SERVFAIL, RST or silence
        if (mode === "fake-ip") expect(answers).toEqual(["rcode 0", "rcode 0", "rcode 0", "rcode 0"]);
        expect(seen(name)).toEqual([]);
        p.kill("SIGUSR1");
        await p.waitFor(mode === "relay" ? /udp [1-9]/ : /dns [1-9]/);
      } finally {
        p.kill("SIGTERM");
        expect(await p.exited).toBe(0);
      }
      expect(ours()).toEqual([]);
      expect(ours(true)).toEqual([]);
      expect(seen(name)).toEqual([]);
    });
  }
});

describe("IPv6: proxied or blocked, never direct", () => {
  ptest("control: the IPv6-only path to the server is direct without a tunnel (the server sees the client)", async () => {
    const r = await curl([`http://[${SERVER_V6}]/peer`], 5);
    expect(r.out.trim()).toBe("2001:db8:1::1");
  });

  ptest("no IPv6 address on the tun: IPv6 is blocked (unreachable at once), the banner says so", async () => {
    const p = await t.tunkit(["socks", "tk0", "--proxy", "socks5://192.0.2.2:1080", "--address", "198.18.0.1/30", "--auto-route"]);
    try {
      expect(p.out).toMatch(/ipv4 proxied, ipv6 blocked: ready/);
      const r6 = await curl([`http://[${SERVER_V6}]/peer`], 5);
      expect(r6.code).not.toBe(0);
      expect(r6.out).toBe("");
      expect(r6.ms).toBeLessThan(2000);
      expect(ours(true)).toContainEqual(expect.objectContaining({ action: "unreachable" }));
      const r4 = await curl([`http://${SERVER_V4}/peer`], 5);
      expect(r4.out.trim()).toBe(PROXY_OUT_V4);
    } finally {
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
    // blocked only while the tunnel runs
    expect((await curl([`http://[${SERVER_V6}]/peer`], 5)).out.trim()).toBe("2001:db8:1::1");
  });

  ptest("an IPv6 address on the tun: IPv6 goes through the proxy (--json says ipv6 proxied)", async () => {
    const p = await t.tunkit(["--json", "socks", "tk0", "--proxy", "socks5://192.0.2.2:1080", "--address", "198.18.0.1/30", "--address", "fd54:4b::1/126", "--auto-route"]);
    try {
      expect(JSON.parse(p.out.trim())).toMatchObject({ ready: true, ipv4: "proxied", ipv6: "proxied" });
      const r6 = await curl([`http://[${SERVER_V6}]/peer`], 5);
      expect(r6.out.trim()).toBe(PROXY_OUT_V6);
    } finally {
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
  });
});

describe("the device disappears under the tunnel", () => {
  for (const how of ["ip link del", "tunkit down"] as const) {
    ptest(`${how}: exit 1 at once (its RTM_DELLINK, not the poller's backstop, stretched to 60 s here), with its rules and routes removed`, async () => {
      expect(tk("up", "tk3", "198.18.0.1/30").status).toBe(0);
      // A deleted tun raises no SIGIO: with the backstop at 60 s, only the link monitor can stop
      // the tunnel within the bound below (generous, so that load cannot break it).
      process.env.TUNKIT_POLL_CHECK_MS = "60000";
      let p: Awaited<ReturnType<typeof t.tunkit>>;
      try {
        p = await t.tunkit(["socks", "tk3", "--proxy", "socks5://192.0.2.2:1080", "--auto-route", "--dns", "fake-ip"]);
      } finally {
        delete process.env.TUNKIT_POLL_CHECK_MS;
      }
      expect(ours().length).toBeGreaterThan(0);
      // timed from the moment the device is gone (a loaded machine may take long to run `tunkit down` itself)
      if (how === "ip link del") sh("ip", "link", "del", "tk3");
      else expect(tk("down", "tk3").status).toBe(0);
      const t0 = performance.now();
      const code = await p.exited;
      const ms = performance.now() - t0;
      expect(code).toBe(1);
      expect(ms).toBeLessThan(15_000);
      expect(p.err).toMatch(/Device "tk3" closed: the interface was deleted/);
      expect(p.err).toMatch(/hint: /);
      expect(ours()).toEqual([]);
      expect(ours(true)).toEqual([]);
      expect(routes84()).toBe("");
    });
  }
});

describe("its rules deleted under the tunnel", () => {
  ptest("ip rule del of one of its rules: exit 1 within a second, the rest removed", async () => {
    const p = await t.tunkit(["socks", "tk0", "--proxy", "socks5://192.0.2.2:1080", "--address", "198.18.0.1/30", "--auto-route"]);
    sh("ip", "rule", "del", "pref", "8488");
    const t0 = performance.now();
    expect(await p.exited).toBe(1);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(p.err).toMatch(/A rule of the tunnel was deleted by someone else \(pref 8488\)/);
    expect(ours()).toEqual([]);
    expect(ours(true)).toEqual([]);
    expect(spawnSync("ip", ["link", "show", "tk0"]).status).not.toBe(0);
  });
});

describe("tunkit cleanup beside a live tunnel", () => {
  ptest("skips the live tunnel's rules and routes (and says so), removes a dead one's; the live tunnel keeps working", async () => {
    // a dead tunnel's leftovers: killed with SIGKILL on a persistent device
    expect(tk("up", "tk4", "198.51.100.201/30").status).toBe(0);
    const dead = await t.tunkit(["socks", "tk4", "--proxy", "socks5://192.0.2.2:1080", "--auto-route", "--table", "9000", "--rule-priority", "9000"]);
    dead.kill("SIGKILL");
    await dead.exited;
    const live = await t.tunkit(["socks", "tk0", "--proxy", "socks5://192.0.2.2:1080", "--address", "198.18.0.1/30", "--auto-route", "--dns", "fake-ip"]);
    try {
      const before = ours().filter((r) => (r.priority as number) < 9000);
      expect(before.length).toBeGreaterThan(0);
      const r = tk("cleanup", "--json");
      expect(r.status).toBe(0);
      const j = JSON.parse(r.stdout);
      expect(j.skipped).toEqual([expect.objectContaining({ kind: "socks", ifname: "tk0", pid: live.child.pid })]);
      expect(j.skipped[0].rules.length).toBe(before.length + ours(true).length);
      expect(j.skipped[0].routes).toEqual([
        expect.objectContaining({ dst: "default", dev: "tk0", table: "8484" }),
        expect.objectContaining({ dst: "198.18.0.0/15", dev: "tk0" }),
      ]);
      // the dead one's rules are gone, the live one's all there
      expect(ours().filter((x) => (x.priority as number) >= 9000)).toEqual([]);
      expect(ours().filter((x) => (x.priority as number) < 9000)).toEqual(before);
      const text = tk("cleanup");
      expect(text.stdout).toMatch(/skipped \d+ rules, \d+ routes of the live tunnel tk0 \(tunkit socks, pid \d+\)/);
      expect(text.stdout).toContain("0 rules, 0 routes removed");
      const c = await curl([`http://${SERVER_V4}/peer`], 5);
      expect(c.out.trim()).toBe(PROXY_OUT_V4);
    } finally {
      live.kill("SIGTERM");
      expect(await live.exited).toBe(0);
      tk("down", "tk4");
    }
    expect(ours()).toEqual([]);
  });
});

describe("ready only after the proxy answered a handshake", () => {
  ptest("a proxy that is not there yet: a warning and retries, no ready; ready once it answers; flows refused meanwhile", async () => {
    const p = await t.tunkit(["socks", "tk0", "--proxy", "socks5://192.0.2.2:1086", "--address", "198.18.0.1/30", "--auto-route"], false);
    try {
      await p.waitFor(/waiting for the proxy: Proxy 192\.0\.2\.2:1086 is unreachable: ECONNREFUSED; next try in 1 s/, 10_000, "err");
      expect(p.out + p.err).not.toMatch(/: ready/);
      // fail closed: the rules are in place, the flow is reset, nothing goes around (the tunnel
      // completes the client's handshake while it dials, so the failed dial is mostly a reset)
      const r = await curl([`http://${SERVER_V4}/peer`], 5);
      // (early open with auto-route's marked sockets too, on either relay)
      if (!FAILED_CLOSED.includes(r.code)) console.error(`curl ${r.code}: ${r.err}`);
      expect(FAILED_CLOSED).toContain(r.code);
      expect(r.out).toBe("");
      await t.startMicrosocks(1086);
      await p.waitFor(/: ready/, 15_000);
      const ok = await curl([`http://${SERVER_V4}/peer`], 5);
      expect({ out: ok.out.trim(), code: ok.code, err: ok.err, log: p.err }).toMatchObject({ out: PROXY_OUT_V4 });
    } finally {
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
  });

  ptest("credentials the proxy refuses: exit 1 at once with a hint, nothing left behind", async () => {
    await t.startMicrosocks(1087, { user: "alice", pass: "s3cret" });
    const p = await t.tunkit(["socks", "tk0", "--proxy", "socks5://alice:wrong@192.0.2.2:1087", "--address", "198.18.0.1/30", "--auto-route"], false);
    expect(await p.exited).toBe(1);
    expect(p.err).toMatch(/refused the user name and password/);
    expect(p.out + p.err).not.toMatch(/: ready/);
    expect(ours()).toEqual([]);
    expect(spawnSync("ip", ["link", "show", "tk0"]).status).not.toBe(0);
  });
});
