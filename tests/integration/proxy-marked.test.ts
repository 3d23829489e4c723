// Early open through the tunnel's own marked sockets (--fwmark / --bind-interface, so every
// --auto-route set-up): the relay connects its own fd with SO_MARK set before the SYN and hands it
// to the relay's sockets. A client accepted while that dial goes on sends at once; its bytes must
// reach the proxy after the CONNECT, never before. (Bun signals a drain on the adopted fd as soon
// as it polls it; the Bun relay's drain handler flushed the client's early bytes then, ahead of the
// CONNECT: microsocks answered "general SOCKS server failure" or lost the request, which is what
// proxy-leak's and proxy-service's first flows after ready ran into now and then.)
// SO_MARK needs CAP_NET_ADMIN: this runs in the test's own network namespace, on loopback.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import net from "node:net";
import { createHash } from "node:crypto";
import { needing, sh } from "./_ns.ts";
import { Socks5Dialer } from "../../proxy/socks5.ts";
import { parseProxyUrl } from "../../proxy/url.ts";
import { pendingRelay, RELAY_KINDS } from "../fixtures/proxy/pending-relay.ts";
import { pattern } from "../fixtures/proxy/pattern.ts";
import { until } from "../fixtures/proxy/until.ts";
import { scriptedSocks5 } from "../fixtures/proxy/socks5-script.ts";

const { ptest, ready } = needing("proxy-marked", ["ip"]);
const sha = (b: Uint8Array | Buffer) => createHash("sha256").update(b).digest("hex");
const MARK = 0x54;

/** What the proxy saw right after each greeting: "connect" for a well-formed CONNECT, else the bytes. */
const seen: string[] = [];
let proxy: net.Server;
let proxyPort = 0;

beforeAll(async () => {
  if (!ready) return;
  sh("ip", "link", "set", "lo", "up");
  // A strict SOCKS5 proxy (and destination): greeting, then exactly a CONNECT to 127.0.0.1, answered
  // after 30 ms; then collects until FIN and answers sha256 + byte count.
  proxy = scriptedSocks5((s) => {
    const chunks: Buffer[] = [];
    return {
      request(req) {
        const ok = req[0] === 5 && req[1] === 1 && req[2] === 0 && req[3] === 1 && req.readUInt32BE(4) === 0x7f000001;
        seen.push(ok ? "connect" : JSON.stringify([...req]));
        if (!ok) {
          s.destroy();
          return false;
        }
        setTimeout(() => s.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0])), 30);
      },
      data: (d) => void chunks.push(d),
      end() {
        const all = Buffer.concat(chunks);
        s.end(`${sha(all)} ${all.length}`);
      },
    };
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  proxyPort = (proxy.address() as net.AddressInfo).port;
});

afterAll(() => proxy?.close());

describe("early open on marked (adopted) proxy sockets", () => {
  for (const [name, splice] of RELAY_KINDS) {
    ptest(`${name}: 30 clients sending at once get their bytes to the proxy after the CONNECT, whole`, async () => {
      const { relay, pending, flow } = pendingRelay(splice, 10_000);
      const l = relay.listen("127.0.0.1", 0);
      const dialer = new Socks5Dialer(parseProxyUrl(`socks5://127.0.0.1:${proxyPort}`, "socks5"));
      seen.length = 0;
      try {
        const answers: string[] = [];
        const want: string[] = [];
        for (let i = 0; i < 30; i++) {
          const f = flow(`127.0.0.1:${proxyPort}`);
          relay.dial(f, "127.0.0.1", proxyPort, dialer.handshake({ host: "127.0.0.1", port: 80 }), { mark: MARK });
          pending.push(f);
          const data = pattern(1000 + i * 97, i);
          want.push(`${sha(data)} ${data.length}`);
          const c = net.connect({ host: "127.0.0.1", port: l.port, allowHalfOpen: true });
          c.on("error", () => {});
          let text = "";
          c.on("data", (d: Buffer) => (text += d.toString()));
          const closed = new Promise<void>((r) => c.on("close", () => r()));
          // the request right away, as curl does once its handshake (with the listener) completes
          c.once("connect", () => c.end(data));
          await closed;
          answers.push(text);
          await until(() => f.closed === 1 || f.failed !== undefined);
          expect({ i, failed: f.failed?.message }).toEqual({ i, failed: undefined });
        }
        expect(seen).toEqual(new Array(30).fill("connect"));
        expect(answers).toEqual(want);
      } finally {
        l.stop();
        relay.close();
      }
    }, 120_000);
  }
});
