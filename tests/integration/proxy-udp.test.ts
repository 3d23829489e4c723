// tunkit socks / http, UDP: echo through dante's UDP ASSOCIATE (per-flow association), a
// SOCKS5 proxy without UDP (microsocks) and an HTTP proxy answer with ICMP unreachable and one
// error line per flow; the tunnel keeps running.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import dgram from "node:dgram";
import { needing } from "./_ns.ts";
import { Topology, sh, type Proc, SERVER_V4 } from "../fixtures/proxy/topology.ts";
import { Socks5Dialer, decodeSocksUdp, encodeSocksUdp } from "../../proxy/socks5.ts";
import { parseProxyUrl } from "../../proxy/url.ts";

const { ptest, ready } = needing("proxy-udp", ["microsocks", "danted", "tinyproxy", "curl", "unshare"], "microsocks dante-server tinyproxy curl");
const t = new Topology("udp");

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

async function withTunnel<T>(kind: "socks" | "http", url: string, fn: (p: Proc) => Promise<T>): Promise<T> {
  const p = await t.tunkit([kind, "tk0", "--proxy", url, "--address", "198.18.0.1/30"]);
  sh("ip", "route", "add", "198.51.100.0/24", "dev", "tk0");
  try {
    return await fn(p);
  } finally {
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }
}

/** Sends `msgs` on one connected UDP socket; resolves with what came back (or the error code). */
async function udpExchange(host: string, port: number, msgs: string[]): Promise<string[]> {
  const s = dgram.createSocket("udp4");
  const got: string[] = [];
  return await new Promise<string[]>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      s.close();
      resolve(got);
    };
    const timer = setTimeout(done, 3000);
    s.on("error", (e: Error & { code?: string }) => {
      got.push(`error ${e.code}`);
      done();
    });
    s.on("message", (m) => {
      got.push(m.toString());
      if (got.length === msgs.length) done();
    });
    s.connect(port, host, () => {
      for (const m of msgs) s.send(m);
    });
  });
}

describe("UDP", () => {
  ptest("echo through dante's UDP ASSOCIATE: two flows, several datagrams each", async () => {
    await withTunnel("socks", "socks5://192.0.2.2:1082", async (p) => {
      const [a, b] = await Promise.all([udpExchange(SERVER_V4, 7, ["one", "two", "three"]), udpExchange(SERVER_V4, 7, ["four"])]);
      expect(a.sort()).toEqual(["one", "three", "two"]);
      expect(b).toEqual(["four"]);
      p.kill("SIGUSR1");
      await p.waitFor(/udp 2 \(2 active, 0 failed, 0 refused\)/);
      expect(p.err).toBe("");
    });
  });

  ptest("dante takes a pipelined UDP ASSOCIATE (greeting and request in one write) and relays through it", async () => {
    const d = new Socks5Dialer(parseProxyUrl("socks5://192.0.2.2:1082", "socks5"), undefined, "auto");
    expect(await d.learnPipelining()).toBe(true);
    const a = await d.associate({ timeoutMs: 10_000 });
    const s = dgram.createSocket("udp4");
    try {
      const got = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no answer through the association")), 5000);
        s.on("message", (m) => {
          clearTimeout(timer);
          resolve(new TextDecoder().decode(decodeSocksUdp(new Uint8Array(m)).data));
        });
        s.connect(a.relay.port, a.relay.host, () => s.send(encodeSocksUdp({ host: SERVER_V4, port: 7 }, new TextEncoder().encode("piped"))));
      });
      expect(got).toBe("piped");
    } finally {
      s.close();
      a.control.destroy();
    }
  });

  ptest("over an HTTP proxy UDP is refused: ICMP unreachable (EHOSTUNREACH) and one error line", async () => {
    await withTunnel("http", "http://192.0.2.2:8888", async (p) => {
      expect(await udpExchange(SERVER_V4, 7, ["x"])).toEqual(["error EHOSTUNREACH"]);
      await p.waitFor(/udp 198\.18\.0\.1:\d+ -> 198\.51\.100\.2:7: refused: an HTTP proxy carries no UDP/, 3000, "err");
      p.kill("SIGUSR1");
      await p.waitFor(/udp 0 \(0 active, 0 failed, 1 refused\)/);
    });
  });

  ptest("a SOCKS5 proxy without UDP ASSOCIATE (microsocks): ICMP unreachable and the reply code", async () => {
    await withTunnel("socks", "socks5://192.0.2.2:1080", async (p) => {
      expect(await udpExchange(SERVER_V4, 7, ["x"])).toEqual(["error EHOSTUNREACH"]);
      await p.waitFor(/udp 198\.18\.0\.1:\d+ -> 198\.51\.100\.2:7: failed: SOCKS5 proxy 192\.0\.2\.2:1080 refused UDP ASSOCIATE/, 3000, "err");
    });
  });
});
