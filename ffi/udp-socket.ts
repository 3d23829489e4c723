/**
 * A connected UDP socket for packet relays: {@link connectUdp}. Under Bun it is `Bun.udpSocket`
 * (served by Bun's own event loop: datagrams are read with `recvmmsg` in batches, no rinfo
 * object or event emitter per datagram, and `send`/`sendMany` call `sendmmsg` before they
 * return); elsewhere (Deno) node:dgram, loaded only there (import() on first use), which copies
 * what it sends because its send completes later. The runtime difference stays here.
 *
 * @module
 */
import type dgramNs from "node:dgram";

/** node:dgram, loaded on first use: Bun never needs it, and the daemon's module graph stays without it. */
let dgramMod: typeof dgramNs | undefined;

/** A UDP socket connected to one peer. */
export interface ConnectedUdp {
  /**
   * Sends one datagram. Synchronous: `data` may be reused as soon as this returns. False when the
   * kernel took nothing (the socket buffer is full: the datagram is dropped, as UDP may).
   */
  send(data: Uint8Array): boolean;
  /** Sends several datagrams (one `sendmmsg` under Bun); returns how many the kernel took. Synchronous like send(). */
  sendMany(list: Uint8Array[]): number;
  /** Closes the socket. Idempotent. */
  close(): void;
  /** The local port. */
  readonly localPort: number;
}

/** Handlers of {@link connectUdp}. */
export interface ConnectedUdpHandlers {
  /** One datagram from the peer; `data` is the handler's to keep. */
  data(data: Uint8Array): void;
  /** A socket error (e.g. ICMP port unreachable reported on the connected socket). */
  error(e: Error): void;
}

interface BunUdp {
  udpSocket(o: unknown): Promise<{
    send(d: Uint8Array): boolean;
    sendMany(l: Uint8Array[]): number;
    close(): void;
    readonly port: number;
  }>;
}

const bun = (globalThis as { Bun?: BunUdp }).Bun;

/**
 * Opens a UDP socket bound to an ephemeral port (of `host`'s family) and connected to
 * `host`:`port` (an IP address): the kernel hands it only that peer's datagrams.
 *
 * @example
 * ```ts
 * import { connectUdp } from "./udp-socket.ts";
 * const s = await connectUdp("127.0.0.1", 7, { data: (d) => console.log(d.length), error: () => {} });
 * s.send(new TextEncoder().encode("hi"));
 * s.close();
 * ```
 */
export async function connectUdp(host: string, port: number, on: ConnectedUdpHandlers): Promise<ConnectedUdp> {
  const v6 = host.includes(":");
  if (bun) {
    const s = await bun.udpSocket({
      hostname: v6 ? "::" : "0.0.0.0",
      port: 0,
      binaryType: "uint8array",
      connect: { hostname: host, port },
      socket: {
        data: (_s: unknown, d: Uint8Array) => on.data(d),
        // Bun 1.4.5 passes the error alone (its types say (socket, error)): take the last argument.
        error: (...a: unknown[]) => on.error(a[a.length - 1] as Error),
      },
    });
    let closed = false;
    return {
      send: (d) => s.send(d),
      sendMany: (l) => s.sendMany(l),
      close: () => {
        if (closed) return;
        closed = true;
        s.close();
      },
      localPort: s.port,
    };
  }
  const dgram = (dgramMod ??= ((await import("node:dgram")) as { default: typeof dgramNs }).default);
  const sock = dgram.createSocket(v6 ? "udp6" : "udp4");
  sock.on("message", (m: Uint8Array) => on.data(m));
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, () => {
      sock.connect(port, host, () => {
        sock.off("error", reject);
        resolve();
      });
    });
  });
  sock.on("error", (e) => on.error(e));
  let closed = false;
  const send = (d: Uint8Array) => {
    sock.send(d.slice()); // node:dgram sends later: keep a copy
    return true;
  };
  return {
    send,
    sendMany: (l) => {
      for (const d of l) send(d);
      return l.length;
    },
    close: () => {
      if (closed) return;
      closed = true;
      try {
        sock.close();
      } catch {
        /* already closed */
      }
    },
    localPort: sock.address().port,
  };
}
