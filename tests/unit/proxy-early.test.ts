// A client accepted before its proxy stream opens (the tunnel completes the client's handshake
// while it dials, as hev-socks5-tunnel does), on both relays: what the client sends meanwhile is
// kept and delivered in order once the proxy answers, its FIN too; a proxy that refuses or never
// answers ends the client's connection with a RST (not a hang); a client that leaves first ends
// the dial. A SOCKS5 "proxy" made here (node:net) plays the destination too.
import { afterAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { createHash } from "node:crypto";
import { FdRelay } from "../../proxy/fd-relay.ts";
import { Socks5Dialer } from "../../proxy/socks5.ts";
import { parseProxyUrl } from "../../proxy/url.ts";
import { pendingRelay, RELAY_KINDS, type PendingFlow } from "../fixtures/proxy/pending-relay.ts";
import { pattern } from "../fixtures/proxy/pattern.ts";
import { until } from "../fixtures/proxy/until.ts";
import { scriptedSocks5 } from "../fixtures/proxy/socks5-script.ts";

const sha = (b: Uint8Array | Buffer) => createHash("sha256").update(b).digest("hex");

// Scenarios, by the target port the SOCKS5 request names.
const SLOW_ECHO_SHA = 1; // the CONNECT reply after 150 ms; then collects until FIN, answers sha256 + byte count, ends
const SLOW_REFUSE = 2; // SOCKS5 reply 5 (refused) after 150 ms
const SILENT = 3; // never answers the CONNECT

let connects = 0;
const proxy = scriptedSocks5((s) => {
  let mode = 0;
  const chunks: Buffer[] = [];
  return {
    request(req) {
      connects++;
      mode = req.readUInt16BE(8);
      if (mode === SILENT) return;
      setTimeout(() => {
        if (mode === SLOW_REFUSE) s.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
        else s.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]));
      }, 150);
    },
    data: (d) => void chunks.push(d),
    end() {
      if (mode !== SLOW_ECHO_SHA) return;
      const all = Buffer.concat(chunks);
      s.end(`${sha(all)} ${all.length}`);
    },
  };
});
await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
const proxyPort = (proxy.address() as net.AddressInfo).port;
const dialer = new Socks5Dialer(parseProxyUrl(`socks5://127.0.0.1:${proxyPort}`, "socks5"));
afterAll(() => proxy.close());

type Flow = PendingFlow;

for (const [name, splice] of RELAY_KINDS) {
  describe(name, () => {
    /** A relay whose listener hands its next accept the flow just dialled (before the proxy answers). */
    function setup(timeoutMs = 5000) {
      const { relay, pending, flow } = pendingRelay(splice, timeoutMs);
      expect(relay instanceof FdRelay).toBe(splice);
      const l = relay.listen("127.0.0.1", 0);
      /** Dials scenario `mode` and connects a client at once: it is accepted while the dial goes on. */
      async function open(mode: number): Promise<{ f: Flow; c: net.Socket }> {
        const f = flow(`127.0.0.1:${proxyPort}`);
        relay.dial(f, "127.0.0.1", proxyPort, dialer.handshake({ host: "127.0.0.1", port: mode }));
        pending.push(f);
        const c = net.connect({ host: "127.0.0.1", port: l.port, allowHalfOpen: true });
        await new Promise<void>((r) => c.once("connect", () => r()));
        return { f, c };
      }
      return { relay, l, open };
    }

    test("bytes sent before the proxy answered (200 KiB, more than is read ahead) and the FIN arrive whole and in order", async () => {
      const { l, open } = setup();
      const { f, c } = await open(SLOW_ECHO_SHA);
      const data = pattern(200 << 10, 3);
      let text = "";
      c.on("data", (d: Buffer) => (text += d.toString()));
      const ended = new Promise<void>((r) => c.on("end", () => r()));
      const t0 = performance.now();
      c.write(data.subarray(0, 1000));
      c.end(data.subarray(1000));
      await ended;
      expect(f.readyAt).toBeGreaterThan(t0); // all of it was written before the proxy answered
      expect(text).toBe(`${sha(data)} ${data.length}`);
      await until(() => f.closed === 1);
      c.destroy();
      l.stop();
    });

    test("the proxy refuses after the client's connection opened: the client gets a RST (ECONNRESET), not a hang", async () => {
      const { l, open } = setup();
      const { f, c } = await open(SLOW_REFUSE);
      const err = new Promise<string>((r) => c.on("error", (e: Error & { code?: string }) => r(e.code ?? e.message)));
      const closed = new Promise<void>((r) => c.on("close", () => r()));
      c.write("GET / HTTP/1.0\r\n\r\n");
      await closed;
      expect(await err).toBe("ECONNRESET");
      expect(f.failed?.reason).toBe("refused");
      expect(f.phase).toBe(4);
      l.stop();
    });

    test("a proxy that never answers: the client gets a RST at the handshake deadline", async () => {
      const { l, open, relay } = setup(300);
      const { f, c } = await open(SILENT);
      const err = new Promise<string>((r) => c.on("error", (e: Error & { code?: string }) => r(e.code ?? e.message)));
      const t0 = performance.now();
      await new Promise<void>((r) => c.on("close", () => r()));
      expect(await err).toBe("ECONNRESET");
      expect(performance.now() - t0).toBeLessThan(5000); // the deadline (300 ms), not the test's timeout
      expect(f.failed?.reason).toBe("timeout");
      l.stop();
      relay.close();
    });

    test("a client that resets while the proxy is dialled: the dial ends, nothing is relayed afterwards", async () => {
      const { l, open } = setup();
      const before = connects;
      const { f, c } = await open(SLOW_ECHO_SHA);
      await until(() => connects > before); // the CONNECT is at the proxy, its reply 150 ms away
      c.resetAndDestroy();
      await Bun.sleep(400);
      // the Bun relay learns of the reset at once (the flow closed, its dial ended); the splice
      // relay does not watch the client before the proxy answers and ends both on its first read
      await until(() => f.closed === 1);
      expect(f.phase).toBe(splice ? 3 : 4);
      l.stop();
    });
  });
}
