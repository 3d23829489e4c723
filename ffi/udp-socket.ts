/**
 * An unconnected UDP socket for packet relays (tun2socks' UDP associations share one):
 * {@link openUdp}. Under Bun it is `Bun.udpSocket` (served by Bun's own event loop: datagrams
 * are read with `recvmmsg` in batches, no rinfo object or event emitter per datagram, and `send`
 * calls the kernel before it returns; its fd is found for the caller's own `sendmmsg`);
 * elsewhere (Deno) node:dgram, loaded only there (import() on first use), which copies what it
 * sends because its send completes later. The runtime difference stays here.
 *
 * @module
 */
import type dgramNs from "node:dgram";
import { raw, sys, SOCK } from "./libc.ts";

/** node:dgram, loaded on first use: Bun never needs it, and the daemon's module graph stays without it. */
let dgramMod: typeof dgramNs | undefined;

/**
 * The fd of the UDP socket of `family` bound to local `port`, looked for from `from` on (the
 * lowest free fd just before the runtime made it: it takes the lowest), or -1. A fd counts only
 * when it is a datagram socket of that family on that port: the port is this socket's alone
 * (an ephemeral bind, no SO_REUSEPORT), so nothing else can match.
 */
function findUdpFd(from: number, family: number, port: number): number {
  const sa = new Uint8Array(new ArrayBuffer(1024));
  const val = new Uint8Array(new ArrayBuffer(1024));
  for (let fd = from; fd >= 0 && fd < from + 8; fd++) {
    try {
      sys.getsockname(fd, sa);
      if ((sa[0]! | (sa[1]! << 8)) !== family || ((sa[2]! << 8) | sa[3]!) !== port) continue;
      sys.getsockopt(fd, SOCK.SOL_SOCKET, SOCK.SO_TYPE, val.subarray(0, 4));
      if ((val[0]! | (val[1]! << 8)) === SOCK.SOCK_DGRAM) return fd;
    } catch {
      /* not a socket, or closed: the next */
    }
  }
  return -1;
}

/** The lowest free fd now (a probe socket, closed at once), or -1. */
function lowestFreeFd(): number {
  const fd = raw.socket(SOCK.AF_INET, SOCK.SOCK_DGRAM | SOCK.SOCK_CLOEXEC, 0);
  if (fd >= 0) raw.close(fd);
  return fd;
}

interface BunUdp {
  udpSocket(o: unknown): Promise<{
    send(d: Uint8Array, port: number, host: string): boolean;
    close(): void;
    readonly port: number;
    readonly closed: boolean;
  }>;
}

const bun = (globalThis as { Bun?: BunUdp }).Bun;

/** An unconnected UDP socket: {@link openUdp}. */
export interface UnconnectedUdp {
  /**
   * Sends one datagram to `host`:`port`. Synchronous: `data` may be reused as soon as this
   * returns. False when the kernel took nothing (the socket buffer is full: dropped, as UDP may).
   */
  sendTo(data: Uint8Array, port: number, host: string): boolean;
  /** Closes the socket. Idempotent. */
  close(): void;
  /** The local port. */
  readonly localPort: number;
  /**
   * The socket's fd, for a caller that builds its own `sendmmsg` (addressed messages, UDP GSO
   * runs): -1 when it is not known (Deno, or Bun's socket was not found for sure), and -1 again
   * once the socket is closed. Only for sending; the runtime owns and reads it.
   */
  readonly fd: number;
}

/** Handlers of {@link openUdp}. */
export interface UnconnectedUdpHandlers {
  /** One datagram from `host`:`port` (as the runtime formats it); `data` is the handler's to keep. */
  data(data: Uint8Array, port: number, host: string): void;
  /**
   * A socket error. On an unconnected socket an ICMP error (a peer's port closed) names no peer
   * (Bun reads the error queue and reports ECONNREFUSED alone); the socket goes on.
   */
  error(e: Error): void;
}

/**
 * Opens an unconnected UDP socket of the family `v6` on an ephemeral port: datagrams from any
 * peer come to `on.data` with the peer's address, so one socket (one `recvmmsg` per wake-up
 * under Bun) serves many peers.
 *
 * @example
 * ```ts
 * import { openUdp } from "./udp-socket.ts";
 * const s = await openUdp(false, { data: (d, port, host) => console.log(d.length, host, port), error: () => {} });
 * s.sendTo(new TextEncoder().encode("hi"), 7, "127.0.0.1");
 * s.close();
 * ```
 */
export async function openUdp(v6: boolean, on: UnconnectedUdpHandlers): Promise<UnconnectedUdp> {
  if (bun) {
    const from = lowestFreeFd();
    const s = await bun.udpSocket({
      hostname: v6 ? "::" : "0.0.0.0",
      port: 0,
      binaryType: "uint8array",
      socket: {
        data: (_s: unknown, d: Uint8Array, port: number, host: string) => on.data(d, port, host),
        error: (...a: unknown[]) => on.error(a[a.length - 1] as Error),
      },
    });
    let fd = findUdpFd(from, v6 ? SOCK.AF_INET6 : SOCK.AF_INET, s.port);
    let closed = false;
    return {
      sendTo: (d, port, host) => s.send(d, port, host),
      close: () => {
        if (closed) return;
        closed = true;
        fd = -1;
        s.close();
      },
      localPort: s.port,
      get fd() {
        return closed || s.closed ? -1 : fd;
      },
    };
  }
  const dgram = (dgramMod ??= ((await import("node:dgram")) as { default: typeof dgramNs }).default);
  const sock = dgram.createSocket(v6 ? "udp6" : "udp4");
  sock.on("message", (m: Uint8Array, r: { port: number; address: string }) => on.data(m, r.port, r.address));
  await new Promise<void>((resolve, reject) => {
    sock.once("error", reject);
    sock.bind(0, () => {
      sock.off("error", reject);
      resolve();
    });
  });
  sock.on("error", (e) => on.error(e));
  let closed = false;
  return {
    sendTo: (d, port, host) => {
      sock.send(d.slice(), port, host); // node:dgram sends later: keep a copy
      return true;
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
    fd: -1,
  };
}
