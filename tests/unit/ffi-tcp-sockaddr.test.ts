// ffi/tcp.ts's connects share one sockaddr buffer (no allocation per connect): one host after
// another, IPv4 and IPv6, each connect still reaches its own address and port.
import { describe, expect, test } from "bun:test";
import net from "node:net";
import { connectFd, closeFd } from "../../ffi/tcp.ts";

async function server(host: string): Promise<{ port: number; seen: () => number; close(): void }> {
  let n = 0;
  const srv = net.createServer((c) => {
    n++;
    c.destroy();
  });
  await new Promise<void>((r) => srv.listen(0, host, () => r()));
  return { port: (srv.address() as net.AddressInfo).port, seen: () => n, close: () => srv.close() };
}

describe("connectFd's sockaddr", () => {
  test("IPv4, IPv6, then IPv4 on another port: each connect reaches its own server", async () => {
    const a = await server("127.0.0.1");
    const b = await server("::1");
    const c = await server("127.0.0.1");
    try {
      for (const [host, s] of [["127.0.0.1", a], ["::1", b], ["127.0.0.1", c], ["127.0.0.1", a]] as const) {
        closeFd(await connectFd(host, s.port, {}, 5000));
      }
      for (let i = 0; i < 200 && a.seen() + b.seen() + c.seen() < 4; i++) await Bun.sleep(5);
      expect([a.seen(), b.seen(), c.seen()]).toEqual([2, 1, 1]);
    } finally {
      a.close();
      b.close();
      c.close();
    }
  });
});
