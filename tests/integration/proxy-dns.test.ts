// tunkit socks / http, DNS: --dns fake-ip answers from 198.18.0.0/15 and the proxy resolves the
// name (the client never learns the real address; the proxy namespace's /etc/hosts knows
// web.example.test); --dns tcp (the default over HTTP) carries the client's UDP query over TCP
// through the proxy to a DNS server in the server namespace.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { itest } from "./_ns.ts";
import { Topology, have, sh, type Proc, PROXY_OUT_V4, SERVER_NAME, SERVER_V4, withResolver } from "../fixtures/proxy/topology.ts";

const NEED = ["microsocks", "danted", "tinyproxy", "curl", "unshare", "getent"];
const missing = NEED.filter((b) => !have(b));
if (missing.length) {
  console.log(`!!! proxy-dns tests SKIPPED: missing ${missing.join(", ")} (Debian: apt-get install -y microsocks dante-server tinyproxy curl)`);
}
const ptest = missing.length ? test.skip : itest;
const t = new Topology("dns");

beforeAll(async () => {
  if (missing.length || ptest === test.skip) return;
  t.up();
  await t.startServer(1 << 20);
  await t.startMicrosocks(1080);
  await t.startTinyproxy(8888);
}, 60_000);

afterAll(async () => {
  await t.down(); // also after a beforeAll that failed half-way
});

async function withTunnel<T>(kind: "socks" | "http", url: string, extra: string[], fn: (p: Proc) => Promise<T>): Promise<T> {
  const p = await t.tunkit([kind, "tk0", "--proxy", url, "--address", "198.18.0.1/30", ...extra]);
  sh("ip", "route", "add", "198.18.0.0/15", "dev", "tk0"); // the fake-ip pool and the fake resolver 198.18.0.53
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
        // the same name keeps its address; AAAA gets no answer (no IPv6 pool)
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
