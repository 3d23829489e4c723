// tunkit socks / http, DNS: --dns fake-ip answers from 198.18.0.0/15 and the proxy resolves the
// name (the client never learns the real address; the proxy namespace's /etc/hosts knows
// web.example.test); --dns tcp (the default over HTTP) carries the client's UDP query over TCP
// through the proxy to a DNS server in the server namespace. With an IPv6 address on the tun,
// AAAA gets addresses of the IPv6 fake pool fdfe:dcba:9876::/48, which tunkit routes into the
// tun itself (TCP and UDP to them go out by name too).
import { afterAll, beforeAll, describe, expect } from "bun:test";
import dgram from "node:dgram";
import { spawnSync } from "node:child_process";
import { needing } from "./_ns.ts";
import { Topology, sh, curl, type Proc, PROXY_OUT_V4, SERVER_NAME, SERVER_V4, withResolver } from "../fixtures/proxy/topology.ts";
import { decodeDns } from "../../packet/dns.ts";

const { ptest, ready } = needing("proxy-dns", ["microsocks", "danted", "tinyproxy", "curl", "unshare", "getent"], "microsocks dante-server tinyproxy curl");
const t = new Topology("dns");

beforeAll(async () => {
  if (!ready) return;
  t.up();
  await t.startServer(1 << 20);
  await t.startMicrosocks(1080);
  await t.startDante(1082);
  await t.startTinyproxy(8888);
}, 60_000);

afterAll(async () => {
  await t.down(); // also after a beforeAll that failed half-way
});

async function withTunnel<T>(kind: "socks" | "http", url: string, extra: string[], fn: (p: Proc) => Promise<T>): Promise<T> {
  const p = await t.tunkit([kind, "tk0", "--proxy", url, "--address", "198.18.0.1/30", ...extra]);
  // tunkit routes the fake-ip pool itself (fake-ip mode); --dns tcp needs the resolver 198.18.0.53
  // routed into the tun too: replace works either way.
  sh("ip", "route", "replace", "198.18.0.0/15", "dev", "tk0");
  sh("ip", "route", "add", "198.51.100.0/24", "dev", "tk0");
  try {
    return await fn(p);
  } finally {
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }
}

describe("fake-ip", () => {
  for (const [kind, url] of [["socks", "socks5://192.0.2.2:1080"], ["http", "http://192.0.2.2:8888"]] as const) {
    ptest(`${kind}: the name resolves to a fake address, the proxy resolves it for real`, async () => {
      await withTunnel(kind, url, ["--dns", "fake-ip"], async (p) => {
        const g = withResolver(t.dir, "198.18.0.53", ["getent", "ahostsv4", SERVER_NAME]);
        expect(g.code).toBe(0);
        const fake = g.out.split(/\s+/)[0]!;
        expect(fake).toMatch(/^198\.1[89]\./); // from the pool, not 198.51.100.2
        expect(fake).not.toBe("198.18.0.1");
        // curl connects to the fake address; the proxy gets the name and connects to the server
        const c = withResolver(t.dir, "198.18.0.53", ["curl", "-sS", "--max-time", "10", `http://${SERVER_NAME}/peer`]);
        expect(c.err).toBe("");
        expect(c.out.trim()).toBe(PROXY_OUT_V4);
        // the same name keeps its address; AAAA gets no answer (no IPv6 on the tun: the v6 pool stays off)
        expect(withResolver(t.dir, "198.18.0.53", ["getent", "ahostsv4", SERVER_NAME]).out.split(/\s+/)[0]).toBe(fake);
        const v6 = withResolver(t.dir, "198.18.0.53", ["getent", "ahostsv6", SERVER_NAME]).out.trim().split("\n");
        for (const l of v6) expect(l).toMatch(/^::ffff:198\.1[89]\./); // only the v4-mapped fake, no AAAA

        p.kill("SIGUSR1");
        await p.waitFor(/dns [1-9]/);
        expect(p.err).toBe("");
      });
    });
  }

  ptest("a fake address that stands for no name: RST and a clear error line", async () => {
    await withTunnel("socks", "socks5://192.0.2.2:1080", ["--dns", "fake-ip"], async (p) => {
      const c = withResolver(t.dir, "198.18.0.53", ["curl", "-sS", "--max-time", "10", "http://198.19.200.200/peer"]);
      expect(c.code).toBe(7);
      await p.waitFor(/198\.19\.200\.200 is a fake-ip address that stands for no name/, 3000, "err");
    });
  });
});

describe("DNS over TCP through the proxy", () => {
  for (const [kind, url, extra] of [["http", "http://192.0.2.2:8888", []], ["socks", "socks5://192.0.2.2:1080", ["--dns", "tcp"]]] as const) {
    ptest(`${kind}: a UDP query to ${SERVER_V4}:53 is answered by the server's TCP DNS`, async () => {
      await withTunnel(kind, url, [...extra], async (p) => {
        const g = withResolver(t.dir, SERVER_V4, ["getent", "ahostsv4", SERVER_NAME]);
        expect(g.err).toBe("");
        expect(g.out.split(/\s+/)[0]).toBe(SERVER_V4);
        const c = withResolver(t.dir, SERVER_V4, ["curl", "-sS", "--max-time", "10", `http://${SERVER_NAME}/peer`]);
        expect(c.out.trim()).toBe(PROXY_OUT_V4);
        // NXDOMAIN travels back too
        expect(withResolver(t.dir, SERVER_V4, ["getent", "ahostsv4", "nowhere.example.test"]).code).toBe(2);
        p.kill("SIGUSR1");
        await p.waitFor(/dns [1-9]/);
        expect(p.err).toBe("");
      });
    });
  }
});

/** Sends one DNS query (`type`) for `name` to [server]:53 over UDP; resolves with the raw response. */
async function dnsQuery(server: string, name: string, type: number): Promise<Uint8Array> {
  const labels = name.split(".").flatMap((l) => [l.length, ...new TextEncoder().encode(l)]);
  const q = Uint8Array.from([0x4b, 0x54, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...labels, 0, type >> 8, type & 0xff, 0, 1]);
  const s = dgram.createSocket(server.includes(":") ? "udp6" : "udp4");
  try {
    return await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DNS answer from ${server} within 3 s`)), 3000);
      s.on("error", (e) => {
        clearTimeout(timer);
        reject(e);
      });
      s.on("message", (m) => {
        clearTimeout(timer);
        resolve(Uint8Array.from(m));
      });
      s.send(q, 53, server);
    });
  } finally {
    s.close();
  }
}

/** One UDP datagram to [host]:port and its echo (or the error code). */
async function udpEcho(host: string, port: number, msg: string): Promise<string> {
  const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  return await new Promise<string>((resolve) => {
    const done = (r: string) => {
      clearTimeout(timer);
      s.close();
      resolve(r);
    };
    const timer = setTimeout(() => done("timeout"), 3000);
    s.on("error", (e: Error & { code?: string }) => done(`error ${e.code}`));
    s.on("message", (m) => done(m.toString()));
    s.connect(port, host, () => s.send(msg)); // connected: an ICMP unreachable comes back as an error
  });
}

const V6_POOL = "fdfe:dcba:9876::/48";
const V6_DNS = "fdfe:dcba:9876::53"; // outside the tun's /126, inside the pool's route
/** tunkit's IPv6 routes (protocol 84), every table. */
const routes6 = (): Array<Record<string, unknown>> => JSON.parse(sh("ip", "-j", "-6", "route", "show", "table", "all", "proto", "84"));

describe("IPv6 fake-ip", () => {
  for (const [kind, url] of [["socks", "socks5://192.0.2.2:1080"], ["http", "http://192.0.2.2:8888"]] as const) {
    ptest(`${kind}: AAAA gets an address of ${V6_POOL} (routed by tunkit), curl -6 reaches the server by name`, async () => {
      const p = await t.tunkit([kind, "tk0", "--proxy", url, "--address", "198.18.0.1/30", "--address", "fdfe:dcba:9876::1/126", "--dns", "fake-ip"]);
      try {
        expect(p.err + p.out).toContain(`dns fake-ip 198.18.0.0/15 ${V6_POOL}`);
        expect(routes6()).toMatchObject([{ dst: V6_POOL, dev: "tk0" }]); // in main, protocol 84
        // the IPv4 pool is routed by tunkit too (no manual route in this test)
        expect(JSON.parse(sh("ip", "-j", "route", "show", "proto", "84"))).toMatchObject([{ dst: "198.18.0.0/15", dev: "tk0" }]);
        // a query of our own, over IPv6, to a resolver address only the pool's route covers
        const r = await dnsQuery(V6_DNS, SERVER_NAME, 28);
        const d = decodeDns(r, 0, r.length)!;
        expect(d).toMatchObject({ id: 0x4b54, response: true, rcode: 0, answerCount: 1 });
        const fake = d.answers[0]!.data!;
        expect(fake).toMatch(/^fdfe:dcba:9876::[0-9a-f]+$/);
        expect(fake).not.toBe("fdfe:dcba:9876::1");
        // the same name keeps its address, A still comes from the IPv4 pool
        const again = await dnsQuery(V6_DNS, SERVER_NAME, 28);
        expect(decodeDns(again, 0, again.length)!.answers[0]!.data).toBe(fake);
        const a = await dnsQuery(V6_DNS, SERVER_NAME, 1);
        expect(decodeDns(a, 0, a.length)!.answers[0]!.data).toMatch(/^198\.1[89]\./);
        // curl to the fake address: the proxy gets the name and connects to the server
        const c = await curl(["-6", `http://[${fake}]/peer`], 10);
        expect(c.err).toBe("");
        expect(c.out.trim()).toBe(PROXY_OUT_V4);
        // and by name, through the system resolver asking the tunnel over IPv6
        const n = withResolver(t.dir, V6_DNS, ["curl", "-6", "-sS", "--max-time", "10", `http://${SERVER_NAME}/peer`]);
        expect(n.err).toBe("");
        expect(n.out.trim()).toBe(PROXY_OUT_V4);
        // a pool address that stands for no name: RST and one clear line
        const none = await curl(["-6", "http://[fdfe:dcba:9876::beef]/peer"], 10);
        expect(none.code).toBe(7);
        await p.waitFor(/fdfe:dcba:9876::beef is a fake-ip address that stands for no name/, 3000, "err");
      } finally {
        p.kill("SIGTERM");
        expect(await p.exited).toBe(0);
      }
      expect(spawnSync("ip", ["link", "show", "tk0"]).status).not.toBe(0); // created here, gone
      expect(routes6()).toEqual([]);
    });
  }

  ptest("socks (dante): UDP to a v6 fake address goes to the proxy by name", async () => {
    const p = await t.tunkit(["socks", "tk0", "--proxy", "socks5://192.0.2.2:1082", "--address", "198.18.0.1/30", "--address", "fdfe:dcba:9876::1/126", "--dns", "fake-ip"]);
    try {
      const r = await dnsQuery(V6_DNS, SERVER_NAME, 28);
      const fake = decodeDns(r, 0, r.length)!.answers[0]!.data!;
      expect(fake).toMatch(/^fdfe:dcba:9876::/);
      expect(await udpEcho(fake, 7, "hello v6 fake")).toBe("hello v6 fake");
      expect(await udpEcho("fdfe:dcba:9876::beef", 7, "x")).toBe("error EHOSTUNREACH");
      await p.waitFor(/udp -> \[fdfe:dcba:9876::beef\]:7: failed: fdfe:dcba:9876::beef is a fake-ip address that stands for no name/, 3000, "err");
    } finally {
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
  });

  ptest("auto-route with --exclude over the pool: the fake prefix still enters the tun; all removed on exit", async () => {
    const p = await t.tunkit([
      "socks", "tk0", "--proxy", "socks5://192.0.2.2:1080", "--address", "198.18.0.1/30", "--address", "fdfe:dcba:9876::1/126",
      "--dns", "fake-ip", "--auto-route", "--exclude", "fc00::/7",
    ]);
    try {
      expect(routes6().map((r) => `${r.dst} ${r.table ?? "main"}`).sort()).toEqual(["default 8484", `${V6_POOL} main`]);
      const r = await dnsQuery(V6_DNS, SERVER_NAME, 28);
      const fake = decodeDns(r, 0, r.length)!.answers[0]!.data!;
      const c = await curl(["-6", `http://[${fake}]/peer`], 10);
      expect(c.err).toBe("");
      expect(c.out.trim()).toBe(PROXY_OUT_V4);
    } finally {
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    }
    expect(routes6()).toEqual([]);
    expect(JSON.parse(sh("ip", "-j", "-6", "rule")).filter((x: Record<string, unknown>) => x.protocol === "84")).toEqual([]);
  });

  ptest("--fake-ip6-pool on a tun without IPv6: a clear error, nothing left behind", async () => {
    const p = await t.tunkit(["socks", "tk0", "--proxy", "socks5://192.0.2.2:1080", "--address", "198.18.0.1/30", "--dns", "fake-ip", "--fake-ip6-pool", "fd00:5::/64"], false);
    expect(await p.exited).not.toBe(0);
    expect(p.err).toContain('has no IPv6 address for the IPv6 fake-ip pool "fd00:5::/64"');
    expect(spawnSync("ip", ["link", "show", "tk0"]).status).not.toBe(0);
  });
});
