/**
 * Connections to the proxy topology's server (tests/fixtures/proxy/topology.ts), shared by the
 * tun2socks benchmarks (bench/proxy.ts, bench/proxy-memory.ts): a plain TCP connect to its port 80
 * (through whatever the route sends SERVER_V4 to: a tun2socks daemon's tun, or nothing), one short
 * HTTP request on a fresh connection, and `n` connections held open at once.
 *
 * @module
 */
import net from "node:net";
import { SERVER_V4 } from "../tests/fixtures/proxy/topology.ts";

/** The short request: the server's small page, the connection closed after it. */
export const REQUEST = Buffer.from(`GET /small HTTP/1.1\r\nHost: ${SERVER_V4}\r\nConnection: close\r\n\r\n`);

/** A TCP connection to the server's port 80, resolved once connected. */
export const direct = (): Promise<net.Socket> =>
  new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host: SERVER_V4, port: 80 });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });

/** One short HTTP request on a fresh connection from `open`; rejects on an empty answer. */
export function request(open: () => Promise<net.Socket> = direct): Promise<void> {
  return open().then(
    (s) =>
      new Promise<void>((resolve, reject) => {
        let got = 0;
        s.on("data", (d: Uint8Array) => (got += d.length));
        s.on("error", reject);
        s.on("end", () => s.end());
        s.on("close", () => (got > 0 ? resolve() : reject(new Error("empty response"))));
        s.resume();
        s.write(REQUEST);
      }),
  );
}

/** Opens `n` connections to the server, 100 at a time, and holds them; resolves with a closer. */
export async function hold(n: number): Promise<() => void> {
  const socks: net.Socket[] = [];
  for (let i = 0; i < n; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => direct().catch(() => undefined)));
    for (const s of batch) if (s) socks.push(s.on("error", () => {}));
  }
  if (socks.length < n) console.error(`hold: ${socks.length} of ${n} connections opened`);
  return () => socks.forEach((s) => s.destroy());
}
