/**
 * A running WireGuard interface: the tun, the UDP sockets, the protocol state (wg/device.ts),
 * its timers and the UAPI socket, tied together by one pump on the JS thread.
 *
 * The pump drains, in turn, up to a batch of reads from the tun and a batch of datagrams from
 * each socket, until all three are empty. Outbound, the tun has IFF_VNET_HDR with TSO: a read
 * may be a 64 KiB TCP burst, cut into MTU-sized segments laid out back to back in one send
 * arena (wg/offload.ts), each routed, sealed in place and sent as one UDP GSO message through
 * sendmmsg (wg/udp.ts). Inbound, recvmmsg takes datagrams (several per message with UDP GRO),
 * each is opened in place and TCP segments of one flow are coalesced into one tun write (GRO).
 *
 * Waiting: right after traffic the pump blocks in epoll_wait on its own thread for at most a
 * millisecond at a time (the next packet is usually that close); after a lull of 20 ms it
 * arms one-shot watches of the process-wide poller (ffi/poller.ts) and sleeps, with a timer
 * only for the next protocol deadline. A busy tunnel never hands off to the poller's thread;
 * an idle one costs no CPU.
 *
 * @module
 */
import { openTun, type TunDevice } from "../tun/device.ts";
import { DeviceClosedError } from "../ffi/errors.ts";
import { raw, errno, addr, sys, ERRNO, EPOLL } from "../ffi/libc.ts";
import { watch, type Watch } from "../ffi/poller.ts";
import { UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import { WgDevice, type Peer, type WgEvent } from "./device.ts";
import { loadWgCrypto, type CryptoChoice } from "./crypto/provider.ts";
import { parseKey } from "./keys.ts";
import { parseAllowedIp, type AllowedIpInput } from "./allowedips.ts";
import { parseEndpoint, sockaddrLength, type Endpoint } from "./endpoint.ts";
import { BATCH, GSO_MAX_BYTES, GSO_MAX_SEGMENTS, SendBatch, WgSockets, groSegmentSize, type UdpOffload } from "./udp.ts";
import { Summer, TcpGro, VNET, VNET_HDR_LEN, finishNonGso, readVnetHdr, tsoSplit, type VnetHdr } from "./offload.ts";
import { TUN_F } from "../ffi/abi.ts";
import type { TimerConfig } from "./constants.ts";
import { UapiServer, uapiSocketPath } from "./uapi-server.ts";
import { DEFAULT_MTU } from "./constants.ts";

/** Bytes of the send arena. */
const ARENA = 1 << 20;
/** Where a packet read from a vnet_hdr tun starts in the batch's buffer (past the arena). */
const IN = ARENA + 256;

/** After traffic, lulls this long are waited out on the pump's thread (see WireGuard.hotWait). */
const HOT_MS = 20;
/** One such wait, at most. */
const HOT_WAIT_MS = 1;

/** A peer as the library takes it (wg's words; keys as base64 or bytes). */
export interface WireGuardPeer {
  /** The peer's public key (base64 or 32 bytes). */
  publicKey: string | Uint8Array;
  /** Optional preshared key (base64 or 32 bytes). */
  presharedKey?: string | Uint8Array;
  /** "192.0.2.1:51820" or "[2001:db8::1]:51820", or an Endpoint. */
  endpoint?: string | Endpoint;
  /** Prefixes routed to this peer and accepted from it. */
  allowedIps?: readonly (string | AllowedIpInput)[];
  /** Seconds, 0 = off. */
  persistentKeepalive?: number;
}

/** Options of {@link startWireGuard}. */
export interface WireGuardOptions {
  /** Tun name ("wg0"), or a template ("wg%d"). */
  iface: string;
  /** This interface's private key (base64 or 32 bytes). */
  privateKey: string | Uint8Array;
  /** UDP port; 0 or absent = a random one. */
  listenPort?: number;
  /** SO_MARK of the UDP sockets (keeps the tunnel's own packets out of the tunnel). */
  fwmark?: number;
  /** Used for padding; the tun's MTU is set by whoever configures it (default 1420). */
  mtu?: number;
  /** The peers. */
  peers?: readonly WireGuardPeer[];
  /**
   * The UAPI socket (`wg` and `wg-quick` talk to it): true (default) for
   * /var/run/wireguard/IFACE.sock, a path for another place, false for none.
   */
  uapi?: boolean | string;
  /** Shortened timers (tests). */
  timers?: Partial<TimerConfig>;
  /** Which ChaCha20-Poly1305 implementation to use. */
  crypto?: CryptoChoice;
  /**
   * Segmentation offloads, each on by default where the kernel has it: `tun` = vnet_hdr with
   * TSO/checksum offload on the tun (TCP bursts arrive as 64 KiB super-packets, cut here) and TCP
   * GRO on the way back in; `udpGso` / `udpGro` = UDP_SEGMENT / UDP_GRO on the sockets.
   */
  offload?: { tun?: boolean; udpGso?: boolean; udpGro?: boolean };
  /** Keep the tun when closing (default false: it goes away with its addresses and routes). */
  persist?: boolean;
  /** Stops the interface when aborted. */
  signal?: AbortSignal;
}

/** Listener types of {@link WireGuard.on}. */
export interface WireGuardEvents {
  /** A handshake completed. */
  handshake: (e: Extract<WgEvent, { type: "handshake" }>) => void;
  /** A peer's endpoint changed. */
  roam: (e: Extract<WgEvent, { type: "roam" }>) => void;
  /** A handshake was given up after its retries. */
  handshakeFailed: (e: Extract<WgEvent, { type: "handshakeFailed" }>) => void;
  /** A peer's keys were erased after 3 minutes without a new session. */
  keysZeroed: (e: Extract<WgEvent, { type: "keysZeroed" }>) => void;
  /** A cookie reply was sent (under load). */
  cookieSent: (e: Extract<WgEvent, { type: "cookieSent" }>) => void;
  /** The device entered or left the under-load state. */
  underLoad: (e: Extract<WgEvent, { type: "underLoad" }>) => void;
  /** The interface stopped (close(), the tun deleted, the UAPI socket removed, or an error). */
  close: (reason: { reason: string; error?: unknown }) => void;
}

/** Counters of the pump. */
export interface EngineStats {
  /** Reads from the tun (a TSO super-packet counts once). */
  tunPackets: number;
  /** Segments cut from TSO super-packets. */
  tsoSegments: number;
  /** Packets from the tun dropped as malformed (bad virtio_net_hdr or offsets). */
  tunBadPackets: number;
  /** Datagrams received (each datagram of a UDP GRO train counts). */
  udpDatagrams: number;
  /** Datagrams the UDP socket refused. */
  sendDropped: number;
  /** Packets the tun refused. */
  tunWriteErrors: number;
  /** Waits handed to the poller (idle), and short waits on the pump's own thread (busy). */
  sleeps: number;
  /** Wake-ups of the busy-poll path. */
  hotWakes: number;
}

/**
 * A running interface.
 */
export class WireGuard {
  /** The protocol state machine. */
  readonly device: WgDevice;
  /** The tun device. */
  readonly tun: TunDevice;
  /** Counters of the packet path. */
  readonly stats: EngineStats = { tunPackets: 0, tsoSegments: 0, tunBadPackets: 0, udpDatagrams: 0, sendDropped: 0, tunWriteErrors: 0, sleeps: 0, hotWakes: 0 };
  /** Resolves when the interface has stopped. */
  readonly closed: Promise<{ reason: string; error?: unknown }>;
  private sockets: WgSockets;
  private fwmark: number;
  /** The send arena, then (at {@link IN}) where the vnet path reads a tun packet. */
  private readonly batch = new SendBatch(ARENA, 64, 65536 + 512);
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
  private readonly ctl = new SendBatch(1 << 16, 4);
  /** The tun carries a virtio_net_hdr before each packet (TSO in, GRO out). */
  readonly vnet: boolean;
  private readonly udpOffload: UdpOffload;
  // vnet path: a packet is read into the batch's buffer past the arena (its virtio_net_hdr at
  // IN - 10, the IP packet at IN, 16-byte aligned), then cut or copied into the arena.
  private readonly inPtr: ReturnType<typeof addr>;
  private readonly hdr: VnetHdr = { flags: 0, gsoType: 0, hdrLen: 0, gsoSize: 0, csumStart: 0, csumOffset: 0 };
  private readonly sum: Summer;
  private readonly segLens = new Int32Array(128);
  private readonly gro: TcpGro;
  private hotEpfd = -1;
  private readonly closeHooks: Array<() => Promise<void>> = [];
  private readonly hotEvents = new Uint8Array(new ArrayBuffer(1024));

  /** @internal use {@link startWireGuard} */
  constructor(device: WgDevice, tun: TunDevice, sockets: WgSockets, fwmark: number, persist: boolean, vnet = false, udpOffload: UdpOffload = {}) {
    this.device = device;
    this.tun = tun;
    this.sockets = sockets;
    this.fwmark = fwmark;
    this.persist = persist;
    this.vnet = vnet;
    this.udpOffload = udpOffload;
    this.inPtr = addr(this.batch.whole, IN - VNET_HDR_LEN);
    this.sum = new Summer(this.batch.whole);
    this.useSockets(sockets);
    this.gro = new TcpGro((buf, off, len) => {
      if (raw.writep(this.tun.fd, addr(buf, off), len) < 0) this.stats.tunWriteErrors++;
    });
    this.closed = new Promise((r) => (this.resolveClosed = r));
  }

  /** Hands the UDP sockets to the send batches. */
  private useSockets(s: WgSockets): void {
    this.batch.setSockets(s.fd4, s.fd6);
    this.ctl.setSockets(s.fd4, s.fd6);
    this.batch.gso = s.gso;
  }

  /** Offloads in use: tun vnet_hdr (TSO/GRO), UDP GSO, UDP GRO. */
  get offloads(): { tun: boolean; udpGso: boolean; udpGro: boolean } {
    return { tun: this.vnet, udpGso: this.batch.gso, udpGro: this.sockets.gro };
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
    const at = b.reserve(len);
    b.arena.set(buf.subarray(0, len), at);
    b.add(at, len, 0, to);
    this.stats.sendDropped += b.flush();
  }

  /** Rebinds the UDP sockets to another port (wg set … listen-port) or fwmark. */
  rebind(port: number, fwmark = this.fwmark): void {
    if (port === this.sockets.port && fwmark === this.fwmark) return;
    const next = WgSockets.bind(port, fwmark, this.udpOffload);
    this.stats.sendDropped += this.batch.flush();
    for (const w of this.watches) w.close();
    this.watches = [];
    this.closeHot();
    this.sockets.close();
    this.sockets = next;
    this.useSockets(next);
    this.fwmark = fwmark;
    this.wake?.();
  }

  /** @internal starts the pump */
  start(uapiPath: string | undefined): void {
    if (uapiPath) this.uapi = new UapiServer(this, uapiPath, () => this.close("the UAPI socket was removed"));
    this.device.start();
    void this.pump();
  }

  /**
   * Arms the timer for the device's next deadline. Only an earlier deadline re-arms it: under
   * traffic the deadlines keep moving later (keepalive, new-handshake), and re-arming a
   * setTimeout on every pass of the pump was measurable churn; a timer that fires early just
   * finds nothing due and re-arms for the new deadline.
   */
  private scheduleTimer(): void {
    const d = this.device.nextDeadline();
    if (d >= this.timerAt) return;
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

  /** Reads packets from the tun until it is empty or a batch is full; returns how many. */
  private drainTun(now: number): number {
    if (this.vnet) return this.drainTunVnet(now);
    const tun = this.tun;
    const dev = this.device;
    const b = this.batch;
    const arena = b.arena;
    const fd = tun.fd;
    let n = 0;
    while (n < BATCH) {
      // Read straight into the arena, 16 bytes in: the data message header goes before it, the
      // padding and the tag after it (48 bytes kept free).
      const at = b.reserve(dev.mtu + 64);
      const len = raw.readp(fd, addr(arena, at + 16), Math.min(65536, arena.length - at - 64));
      if (len < 0) {
        this.readError(errno());
        break;
      }
      n++;
      const p = dev.route(arena, at + 16, len);
      if (!p) continue;
      const out = dev.seal(p, arena, at, len, now);
      if (out > 0) b.add(at, out, 0, p.endpoint!);
    }
    this.sendBatch();
    this.stats.tunPackets += n;
    return n;
  }

  /** EAGAIN ends a drain; a deleted tun ends the interface. */
  private readError(e: number): void {
    if (e === ERRNO.EAGAIN || e === ERRNO.EINTR) return;
    if (e === ERRNO.EBADFD) throw new DeviceClosedError(this.tun.name, "deleted");
    throw new Error(`read ${this.tun.name}: errno ${e}`);
  }

  /** Sends the batched datagrams (sendmmsg). */
  private sendBatch(): void {
    const b = this.batch;
    if (b.count) this.stats.sendDropped += b.flush();
    this.stats.sendDropped += b.lastDropped;
    b.lastDropped = 0;
  }

  /**
   * The tun with IFF_VNET_HDR: each read may be a TSO super-packet (up to 64 KiB of one TCP
   * flow), cut here into MTU-sized segments laid out back to back in the send arena, sealed in
   * place and sent as one UDP GSO message (or one datagram each without GSO).
   */
  private drainTunVnet(now: number): number {
    const dev = this.device;
    const b = this.batch;
    const whole = b.whole;
    const fd = this.tun.fd;
    const h = this.hdr;
    const cap = whole.length - IN + VNET_HDR_LEN;
    let n = 0;
    while (n < BATCH) {
      const len = raw.readp(fd, this.inPtr, cap);
      if (len < 0) {
        this.readError(errno());
        break;
      }
      n++;
      const plen = len - VNET_HDR_LEN;
      if (plen <= 0) continue;
      readVnetHdr(whole, IN - VNET_HDR_LEN, h);
      const p = dev.route(whole, IN, plen);
      if (!p) continue;
      if (h.gsoType === VNET.GSO_NONE) {
        if (!finishNonGso(whole, IN, plen, h, this.sum)) {
          this.stats.tunBadPackets++;
          continue;
        }
        const at = b.reserve(plen + 64);
        whole.copyWithin(at + 16, IN, IN + plen);
        const out = dev.seal(p, whole, at, plen, now);
        if (out > 0) b.add(at, out, 0, p.endpoint!);
        continue;
      }
      this.sendTso(p, plen, now);
    }
    this.sendBatch();
    this.stats.tunPackets += n;
    return n;
  }

  /** Sends one TSO super-packet of `p` as datagrams of one segment size. */
  private sendTso(p: Peer, plen: number, now: number): void {
    const dev = this.device;
    const b = this.batch;
    const h = this.hdr;
    const whole = b.whole;
    const ipLen = h.csumStart;
    if (ipLen + 13 >= plen || h.gsoSize === 0) {
      this.stats.tunBadPackets++;
      return;
    }
    const hdrLen = ipLen + (whole[IN + ipLen + 12]! >> 4) * 4;
    const stride = 32 + dev.paddedLength(hdrLen + h.gsoSize);
    const segs = Math.ceil((plen - hdrLen) / h.gsoSize);
    if (segs < 1 || segs > this.segLens.length || segs * stride + 64 > ARENA) {
      this.stats.tunBadPackets++;
      return;
    }
    const at = b.reserve(segs * stride + 64);
    const r = tsoSplit(whole, IN, plen, h, this.sum, at + 16, stride, this.segLens);
    if (typeof r === "string") {
      this.stats.tunBadPackets++;
      return;
    }
    this.stats.tsoSegments += r;
    const lens = this.segLens;
    let sealed = 0;
    for (let k = 0; k < r; k++) if (dev.seal(p, whole, at + k * stride, lens[k]!, now) > 0) sealed++;
    if (sealed === 0) return; // staged until a handshake completes
    const to = p.endpoint!;
    const last = 32 + dev.paddedLength(lens[r - 1]!);
    if (sealed === r && b.gso && r > 1) {
      // Runs of at most GSO_MAX_SEGMENTS datagrams and GSO_MAX_BYTES bytes per message.
      const per = Math.min(GSO_MAX_SEGMENTS, Math.floor(GSO_MAX_BYTES / stride));
      for (let k = 0; k < r; k += per) {
        const cnt = Math.min(per, r - k);
        const bytes = (cnt - 1) * stride + (k + cnt === r ? last : stride);
        if (b.full) this.sendBatch();
        b.add(at + k * stride, bytes, stride, to);
      }
      return;
    }
    // One datagram each (no GSO, or only some were sealed: the rest were staged).
    for (let k = 0; k < r; k++) {
      if (b.full) this.sendBatch();
      b.add(at + k * stride, k === r - 1 ? last : stride, 0, to);
    }
  }

  /** Reads datagrams from one UDP socket (recvmmsg) and handles them; returns how many. */
  private drainUdp(fd: number, m: WgSockets["recv4"], now: number): number {
    if (fd < 0) return 0;
    const dev = this.device;
    const tfd = this.tun.fd;
    const vnet = this.vnet;
    const gro = this.gro;
    const got = m.recv(fd, 0x40 /* MSG_DONTWAIT */);
    if (got <= 0) return 0;
    let datagrams = 0;
    for (let i = 0; i < got; i++) {
      const slot = m.slot(i);
      const name = m.name(i);
      const nameLen = sockaddrLength(name);
      // A datagram larger than the slot arrives truncated: report it oversized (dropped, counted).
      const total = m.truncated(i) ? slot.length : m.length(i);
      const seg = groSegmentSize(m, i) || total;
      for (let off = 0; off < total; off += seg) {
        const len = Math.min(seg, total - off);
        datagrams++;
        const ilen = dev.receive(slot, off, len, name, 0, nameLen, now);
        if (ilen <= 0) continue;
        if (vnet) gro.push(slot, off + 16 - VNET_HDR_LEN, ilen);
        else if (raw.writep(tfd, addr(slot, off + 16), ilen) < 0) this.stats.tunWriteErrors++;
      }
    }
    if (vnet) gro.flush();
    this.stats.udpDatagrams += datagrams;
    return got;
  }

  /** The loop: drains the tun and the sockets, runs the timers, sleeps when idle. */
  private async pump(): Promise<void> {
    const s = () => this.sockets;
    let lastWork = -Infinity;
    try {
      for (;;) {
        let rounds = 0;
        let work = 0;
        let now = 0;
        do {
          if (this.stopped) return;
          now = this.device.now();
          work = this.drainTun(now) + this.drainUdp(s().fd4, s().recv4, now) + this.drainUdp(s().fd6, s().recv6, now);
          if (work > 0) lastWork = now;
          if (this.device.nextDeadline() <= now) this.device.tick(now);
        } while (work > 0 && ++rounds < 16);
        this.scheduleTimer();
        if (work > 0) {
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        if (now - lastWork < HOT_MS && this.hotWait(now)) {
          // Between two packets of a busy flow: waited on this thread, no hand-off.
          this.stats.hotWakes++;
          continue;
        }
        if (now - lastWork < HOT_MS) {
          await new Promise<void>((r) => setImmediate(r));
          continue;
        }
        this.stats.sleeps++;
        await this.waitReadable();
      }
    } catch (e) {
      if (e instanceof DeviceClosedError) this.close(e.reason === "deleted" ? "the interface was deleted" : "closed");
      else this.close("error", e);
    }
  }

  /**
   * Waits up to {@link HOT_WAIT_MS} for the tun or a socket to become readable by blocking this
   * thread in epoll_wait (asleep in the kernel, no CPU). Right after traffic the next packet
   * is usually microseconds away; the poller's hand-off through its helper thread (a futex wake
   * there, a message back) cost more than the work of a batch here (measured: 22% of the pump's
   * time in Atomics.notify under a one-stream transfer). A longer lull goes to the poller,
   * which costs nothing while idle. Returns true when something became readable.
   */
  private hotWait(now: number): boolean {
    if (this.hotEpfd < 0) {
      this.hotEpfd = sys.epollCreate();
      for (const fd of [this.tun.fd, this.sockets.fd4, this.sockets.fd6]) if (fd >= 0) sys.epollCtl(this.hotEpfd, EPOLL.CTL_ADD, fd, EPOLL.IN, fd);
    }
    const ms = Math.max(0, Math.min(HOT_WAIT_MS, Math.floor(this.device.nextDeadline() - now)));
    return raw.epoll_wait(this.hotEpfd, this.hotEvents, 4, ms) > 0;
  }

  /** Closes the busy-time epoll descriptor. */
  private closeHot(): void {
    if (this.hotEpfd >= 0) raw.close(this.hotEpfd);
    this.hotEpfd = -1;
  }

  /** Waits until the tun or a socket is readable, or the engine stops. */
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

  /**
   * Runs `hook` when the interface stops, after the tun is gone; {@link closed} resolves once
   * every hook has settled (`wg up` removes its policy routing this way).
   */
  onClose(hook: () => Promise<void>): void {
    this.closeHooks.push(hook);
  }

  /** Stops the interface: closes the sockets, the UAPI socket and the tun. Idempotent. */
  close(reason = "closed", error?: unknown): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watches) w.close();
    this.watches = [];
    this.closeHot();
    this.uapi?.close();
    this.device.close();
    this.sockets.close();
    this.tun.close();
    this.wake?.();
    const r = error === undefined ? { reason } : { reason, error };
    this.emit("close", r);
    const hooks = this.closeHooks.splice(0);
    void Promise.allSettled(hooks.map((h) => h())).then((res) => {
      const failed = res.find((x) => x.status === "rejected");
      this.resolveClosed(failed && r.error === undefined ? { reason: r.reason, error: failed.reason } : r);
    });
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
  const off = opts.offload ?? {};
  const udpOffload: UdpOffload = { gso: off.udpGso !== false, gro: off.udpGro !== false };
  const sockets = WgSockets.bind(port, opts.fwmark ?? 0, udpOffload);
  let tun: TunDevice;
  const vnet = off.tun !== false;
  try {
    tun = openTun({ name: opts.iface, persist: opts.persist ?? false, vnetHdr: vnet });
  } catch (e) {
    sockets.close();
    throw e;
  }
  if (vnet) {
    try {
      // Checksum offload and TSO for both families: TCP bursts come as one super-packet.
      tun.setOffload(TUN_F.CSUM | TUN_F.TSO4 | TUN_F.TSO6);
    } catch {
      // Still a vnet_hdr tun, only without offloads: every packet comes whole.
    }
  }
  engine = new WireGuard(device, tun, sockets, opts.fwmark ?? 0, opts.persist ?? false, vnet, udpOffload);
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
