/**
 * A running WireGuard interface: the tun, the UDP sockets, the protocol state (wg/device.ts),
 * its timers and the UAPI socket, tied together by one pump on the JS thread.
 *
 * The pump drains, in turn, up to a batch of packets from the tun (read straight into sendmmsg
 * slots at offset 16, routed, sealed in place) and a batch of datagrams from each socket
 * (recvmmsg, opened in place, written to the tun), until all three are empty; then it arms
 * one-shot readiness watches (ffi/poller.ts) and sleeps, with a timer only for the next
 * protocol deadline. A busy tunnel never touches the poller; an idle one costs no CPU.
 *
 * @module
 */
import { openTun, type TunDevice } from "../tun/device.ts";
import { DeviceClosedError } from "../ffi/errors.ts";
import { raw, errno, addr, ERRNO } from "../ffi/libc.ts";
import { watch, type Watch } from "../ffi/poller.ts";
import { UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import { WgDevice, type Peer, type WgEvent } from "./device.ts";
import { loadWgCrypto, type CryptoChoice } from "./crypto/provider.ts";
import { parseKey } from "./keys.ts";
import { parseAllowedIp, type AllowedIp } from "./allowedips.ts";
import { parseEndpoint, sockaddrLength, type Endpoint } from "./endpoint.ts";
import { BATCH, SendBatch, WgSockets } from "./udp.ts";
import type { TimerConfig } from "./constants.ts";
import { UapiServer, uapiSocketPath } from "./uapi-server.ts";
import { DEFAULT_MTU } from "./constants.ts";

/** A peer as the library takes it (wg's words; keys as base64 or bytes). */
export interface WireGuardPeer {
  publicKey: string | Uint8Array;
  presharedKey?: string | Uint8Array;
  /** "192.0.2.1:51820" or "[2001:db8::1]:51820", or an Endpoint. */
  endpoint?: string | Endpoint;
  allowedIps?: readonly (string | AllowedIp)[];
  /** Seconds, 0 = off. */
  persistentKeepalive?: number;
}

/** Options of {@link startWireGuard}. */
export interface WireGuardOptions {
  /** Tun name ("wg0"), or a template ("wg%d"). */
  iface: string;
  privateKey: string | Uint8Array;
  /** UDP port; 0 or absent = a random one. */
  listenPort?: number;
  fwmark?: number;
  /** Used for padding; the tun's MTU is set by whoever configures it (default 1420). */
  mtu?: number;
  peers?: readonly WireGuardPeer[];
  /**
   * The UAPI socket (`wg` and `wg-quick` talk to it): true (default) for
   * /var/run/wireguard/IFACE.sock, a path for another place, false for none.
   */
  uapi?: boolean | string;
  /** Shortened timers (tests). */
  timers?: Partial<TimerConfig>;
  crypto?: CryptoChoice;
  /** Keep the tun when closing (default false: it goes away with its addresses and routes). */
  persist?: boolean;
  /** Stops the interface when aborted. */
  signal?: AbortSignal;
}

/** Listener types of {@link WireGuard.on}. */
export interface WireGuardEvents {
  handshake: (e: Extract<WgEvent, { type: "handshake" }>) => void;
  roam: (e: Extract<WgEvent, { type: "roam" }>) => void;
  handshakeFailed: (e: Extract<WgEvent, { type: "handshakeFailed" }>) => void;
  keysZeroed: (e: Extract<WgEvent, { type: "keysZeroed" }>) => void;
  cookieSent: (e: Extract<WgEvent, { type: "cookieSent" }>) => void;
  underLoad: (e: Extract<WgEvent, { type: "underLoad" }>) => void;
  /** The interface stopped (close(), the tun deleted, the UAPI socket removed, or an error). */
  close: (reason: { reason: string; error?: unknown }) => void;
}

/** Counters of the pump. */
export interface EngineStats {
  tunPackets: number;
  udpDatagrams: number;
  sendDropped: number;
  tunWriteErrors: number;
}

/**
 * A running interface.
 */
export class WireGuard {
  readonly device: WgDevice;
  readonly tun: TunDevice;
  readonly stats: EngineStats = { tunPackets: 0, udpDatagrams: 0, sendDropped: 0, tunWriteErrors: 0 };
  /** Resolves when the interface has stopped. */
  readonly closed: Promise<{ reason: string; error?: unknown }>;
  private sockets: WgSockets;
  private fwmark: number;
  private readonly batch = new SendBatch();
  private readonly listeners = new Map<string, Set<(e: never) => void>>();
  private watches: Watch[] = [];
  private wake: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private stopped = false;
  private resolveClosed!: (r: { reason: string; error?: unknown }) => void;
  private uapi: UapiServer | undefined;
  private readonly persist: boolean;
  /** Control datagrams produced while the pump fills a batch go out right away. */
  private readonly ctl = new SendBatch(4);

  /** @internal use {@link startWireGuard} */
  constructor(device: WgDevice, tun: TunDevice, sockets: WgSockets, fwmark: number, persist: boolean) {
    this.device = device;
    this.tun = tun;
    this.sockets = sockets;
    this.fwmark = fwmark;
    this.persist = persist;
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  /** The interface name. */
  get name(): string {
    return this.tun.name;
  }

  /** The UDP port in use. */
  get listenPort(): number {
    return this.sockets.port;
  }

  /** The fwmark of the sockets (0 = none). */
  get fwMark(): number {
    return this.fwmark;
  }

  /** Where the UAPI socket listens, if any. */
  get uapiPath(): string | undefined {
    return this.uapi?.path;
  }

  /** Adds a listener. */
  on<K extends keyof WireGuardEvents>(event: K, fn: WireGuardEvents[K]): this {
    let s = this.listeners.get(event);
    if (!s) this.listeners.set(event, (s = new Set()));
    s.add(fn as (e: never) => void);
    return this;
  }

  /** Removes a listener. */
  off<K extends keyof WireGuardEvents>(event: K, fn: WireGuardEvents[K]): this {
    this.listeners.get(event)?.delete(fn as (e: never) => void);
    return this;
  }

  /** @internal */
  emit(event: string, payload: unknown): void {
    for (const fn of this.listeners.get(event) ?? []) {
      try {
        (fn as (e: unknown) => void)(payload);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }

  /** Sends one datagram now (control traffic from the protocol state). */
  /** @internal */
  sendNow(buf: Uint8Array, len: number, to: Endpoint): void {
    const b = this.ctl;
    b.free.set(buf.subarray(0, len));
    b.add(len, to);
    this.stats.sendDropped += b.flush(this.sockets.fd4, this.sockets.fd6);
  }

  /** Rebinds the UDP sockets to another port (wg set … listen-port) or fwmark. */
  rebind(port: number, fwmark = this.fwmark): void {
    if (port === this.sockets.port && fwmark === this.fwmark) return;
    const next = WgSockets.bind(port, fwmark);
    for (const w of this.watches) w.close();
    this.watches = [];
    this.sockets.close();
    this.sockets = next;
    this.fwmark = fwmark;
    this.wake?.();
  }

  /** @internal starts the pump */
  start(uapiPath: string | undefined): void {
    if (uapiPath) this.uapi = new UapiServer(this, uapiPath, () => this.close("the UAPI socket was removed"));
    this.device.start();
    void this.pump();
  }

  private scheduleTimer(): void {
    const d = this.device.nextDeadline();
    if (d === this.timerAt) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = d;
    if (d === Infinity) return;
    const ms = Math.max(0, d - this.device.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      if (this.stopped) return;
      this.device.tick();
      this.scheduleTimer();
    }, ms + 1);
  }

  /** Re-evaluates timers after a configuration change. */
  refresh(): void {
    this.scheduleTimer();
  }

  private drainTun(now: number): number {
    const tun = this.tun;
    const dev = this.device;
    const b = this.batch;
    const fd = tun.fd;
    let n = 0;
    while (n < BATCH) {
      const slot = b.free;
      const len = raw.readp(fd, addr(slot, 16), slot.length - 64);
      if (len < 0) {
        const e = errno();
        if (e === ERRNO.EAGAIN) break;
        if (e === ERRNO.EINTR) continue;
        if (e === ERRNO.EBADFD) throw new DeviceClosedError(tun.name, "deleted");
        throw new Error(`read ${tun.name}: errno ${e}`);
      }
      n++;
      const p = dev.route(slot, 16, len);
      if (!p) continue;
      const out = dev.seal(p, slot, 0, len, now);
      if (out > 0) {
        b.add(out, p.endpoint!);
        if (b.full) this.stats.sendDropped += b.flush(this.sockets.fd4, this.sockets.fd6);
      }
    }
    if (b.count) this.stats.sendDropped += b.flush(this.sockets.fd4, this.sockets.fd6);
    this.stats.tunPackets += n;
    return n;
  }

  private drainUdp(fd: number, m: WgSockets["recv4"], now: number): number {
    if (fd < 0) return 0;
    const dev = this.device;
    const tfd = this.tun.fd;
    const got = m.recv(fd, 0x40 /* MSG_DONTWAIT */);
    if (got <= 0) return 0;
    for (let i = 0; i < got; i++) {
      const slot = m.slot(i);
      const name = m.name(i);
      // A datagram larger than the slot arrives truncated: report it oversized (dropped, counted).
      const len = m.truncated(i) ? slot.length : m.length(i);
      const ilen = dev.receive(slot, 0, len, name, 0, sockaddrLength(name), now);
      if (ilen > 0) {
        const w = raw.writep(tfd, addr(slot, 16), ilen);
        if (w < 0) this.stats.tunWriteErrors++;
      }
    }
    this.stats.udpDatagrams += got;
    return got;
  }

  private async pump(): Promise<void> {
    const s = () => this.sockets;
    try {
      for (;;) {
        let rounds = 0;
        let work = 0;
        do {
          if (this.stopped) return;
          const now = this.device.now();
          work = this.drainTun(now) + this.drainUdp(s().fd4, s().recv4, now) + this.drainUdp(s().fd6, s().recv6, now);
          if (this.device.nextDeadline() <= now) this.device.tick(now);
        } while (work > 0 && ++rounds < 16);
        this.scheduleTimer();
        if (work > 0) {
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        await this.waitReadable();
      }
    } catch (e) {
      if (e instanceof DeviceClosedError) this.close(e.reason === "deleted" ? "the interface was deleted" : "closed");
      else this.close("error", e);
    }
  }

  private waitReadable(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.wake = () => {
        this.wake = undefined;
        resolve();
      };
      const cb = () => this.wake?.();
      if (!this.watches.length) {
        const fds = [this.tun.fd, this.sockets.fd4, this.sockets.fd6].filter((fd) => fd >= 0);
        this.watches = fds.map((fd) => watch(fd, cb));
      }
      for (const w of this.watches) w.arm();
    });
  }

  /** Stops the interface: closes the sockets, the UAPI socket and the tun. Idempotent. */
  close(reason = "closed", error?: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watches) w.close();
    this.watches = [];
    this.uapi?.close();
    this.device.close();
    this.sockets.close();
    this.tun.close();
    this.wake?.();
    const r = error === undefined ? { reason } : { reason, error };
    this.emit("close", r);
    this.resolveClosed(r);
  }
}

function toKey(k: string | Uint8Array, what: string): Uint8Array {
  return typeof k === "string" ? parseKey(k, what) : k;
}

/** Applies a library-style peer to the device. */
export function applyPeer(dev: WgDevice, p: WireGuardPeer): Peer {
  return dev.addPeer({
    publicKey: toKey(p.publicKey, "public key"),
    presharedKey: p.presharedKey === undefined ? undefined : toKey(p.presharedKey, "preshared key"),
    endpoint: typeof p.endpoint === "string" ? parseEndpoint(p.endpoint) : p.endpoint,
    allowedIps: (p.allowedIps ?? []).map((a) => (typeof a === "string" ? parseAllowedIp(a) : a)),
    persistentKeepalive: p.persistentKeepalive,
  });
}

/**
 * Starts a WireGuard interface in this process: creates the tun (IFF_TUN | IFF_NO_PI), binds the
 * UDP port, serves the UAPI socket, and runs until {@link WireGuard.close}, `signal`, or the
 * tun's deletion. Addresses, MTU and routes of the tun are the caller's (`tunkit wg up` does
 * them with tunkit's netlink; a library user may use {@link Rtnl}).
 *
 * @example
 * ```ts
 * import { startWireGuard } from "./engine.ts";
 * const wg = await startWireGuard({
 *   iface: "wg0",
 *   privateKey: "YNqHbfBQKaGvzefSSHhWZ5PsQ0sYKBFfhL+9ZXlMtWs=",
 *   listenPort: 51820,
 *   peers: [{ publicKey: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", endpoint: "192.0.2.2:51820", allowedIps: ["10.0.0.2/32"] }],
 * });
 * wg.on("handshake", (e) => console.log("handshake with", e.peer.name));
 * ```
 */
export async function startWireGuard(opts: WireGuardOptions): Promise<WireGuard> {
  if (!opts.iface.includes("%")) checkIfName(opts.iface);
  const priv = toKey(opts.privateKey, "private key");
  const port = opts.listenPort ?? 0;
  if (!(Number.isInteger(port) && port >= 0 && port <= 65535)) throw new UsageError(`Invalid listen port "${port}": expected 0..65535`);
  const crypto = await loadWgCrypto(opts.crypto);
  let engine: WireGuard | undefined;
  const device = new WgDevice({
    crypto,
    privateKey: priv,
    timers: opts.timers,
    mtu: opts.mtu ?? DEFAULT_MTU,
    send: (buf, len, to) => engine?.sendNow(buf, len, to),
    onEvent: (e) => engine?.emit(e.type, e),
  });
  for (const p of opts.peers ?? []) applyPeer(device, p);
  const sockets = WgSockets.bind(port, opts.fwmark ?? 0);
  let tun: TunDevice;
  try {
    tun = openTun({ name: opts.iface, persist: opts.persist ?? false });
  } catch (e) {
    sockets.close();
    throw e;
  }
  engine = new WireGuard(device, tun, sockets, opts.fwmark ?? 0, opts.persist ?? false);
  const uapi = opts.uapi ?? true;
  try {
    engine.start(uapi === false ? undefined : uapi === true ? uapiSocketPath(tun.name) : uapi);
  } catch (e) {
    engine.close("error", e);
    throw e;
  }
  opts.signal?.addEventListener("abort", () => engine!.close("aborted"), { once: true });
  return engine;
}
