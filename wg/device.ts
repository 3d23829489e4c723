/**
 * The WireGuard protocol state of one interface, as pure code: peers, handshakes, keypairs,
 * timers, cryptokey routing, roaming, cookies under load. No sockets, no tun, no clock of its
 * own: the I/O layer (wg/engine.ts) feeds it datagrams and packets with the current time and
 * sends what it returns, and calls {@link WgDevice.tick} when {@link WgDevice.nextDeadline}
 * comes. Tests drive it the same way with a fake clock.
 *
 * Data path contract (no allocation per packet):
 * - outbound: the packet sits at `buf[off+16 .. off+16+len)`; {@link WgDevice.seal} writes the
 *   16-byte header before it, pads and encrypts in place, appends the tag and returns the
 *   datagram length (the caller needs 31 spare bytes after the packet).
 * - inbound: {@link WgDevice.receive} decrypts a data message in place and returns the inner
 *   packet's length (at `off+16`), or 0 when the datagram was consumed (handshake, cookie,
 *   keepalive) or dropped (counted in {@link WgDevice.drops}).
 *
 * @module
 */
import { DEFAULT_TIMERS, MSG, SIZE, STAGED_MAX, maxHandshakeAttempts, type TimerConfig } from "./constants.ts";
import type { WgCrypto } from "./crypto/provider.ts";
import type { AeadKey } from "../ffi/crypto.ts";
import { IDENTIFIER, initialState, readMessage1, readMessage2, split, writeMessage1, writeMessage2, type SymmetricState } from "./noise.ts";
import { CookieChecker, CookieGenerator } from "./cookie.ts";
import { ReplayWindow } from "./replay.ts";
import { AllowedIps, type AllowedIpInput } from "./allowedips.ts";
import { endpointFrom, endpointKey, sameEndpoint, type Endpoint } from "./endpoint.ts";
import { after, tai64n } from "./tai64n.ts";
import { clamp, formatKey, isZeroKey } from "./keys.ts";
import { UsageError } from "../common/errors.ts";

/** Why a datagram was dropped. */
export type DropReason =
  | "truncated" | "oversized" | "unknownType" | "badMac1" | "unknownIndex" | "expiredKey" | "replay" | "authFailed"
  | "notAllowed" | "badInnerPacket" | "unknownPeer" | "staleTimestamp" | "flood" | "cookieRequired" | "rateLimited"
  | "badHandshake" | "badCookie" | "noEndpoint" | "noRoute";

/** Something that happened, for the library's event listeners. */
export type WgEvent =
  | { type: "handshake"; peer: Peer; initiator: boolean }
  | { type: "roam"; peer: Peer; from: Endpoint | undefined; to: Endpoint }
  | { type: "handshakeFailed"; peer: Peer; attempts: number }
  | { type: "keysZeroed"; peer: Peer }
  | { type: "cookieSent"; to: Endpoint }
  | { type: "underLoad"; on: boolean };

/** Sends a datagram (control traffic and staged packets). `buf` is valid during the call only. */
export type SendUdp = (buf: Uint8Array, len: number, to: Endpoint) => void;

/** Settings of a peer (wg's words). */
export interface PeerConfig {
  /** The peer's public key. */
  publicKey: Uint8Array;
  /** Optional preshared key (32 bytes). */
  presharedKey?: Uint8Array;
  /** Where to send to it first (it roams to where its packets come from). */
  endpoint?: Endpoint;
  /** Prefixes routed to it and accepted from it. */
  allowedIps?: AllowedIpInput[];
  /** Seconds; 0 or absent = off. */
  persistentKeepalive?: number;
}

/** Options of {@link WgDevice}. */
export interface WgDeviceOptions {
  /** The AEAD, hash and X25519 implementation. */
  crypto: WgCrypto;
  /** This device's private key (it can be set later). */
  privateKey?: Uint8Array;
  /** Shortened timers for tests; the whitepaper's by default. */
  timers?: Partial<TimerConfig>;
  /** Tunnel MTU, for padding (default 1420). */
  mtu?: number;
  /** How datagrams leave. */
  send: SendUdp;
  /** Monotonic milliseconds. Default performance.now(). */
  now?: () => number;
  /** Unix milliseconds (handshake timestamps, last-handshake times). Default Date.now(). */
  wallClock?: () => number;
  /** Milliseconds that measure how long handshake work takes (load detection). Default performance.now(). */
  workClock?: () => number;
  /** Called on handshakes, roaming, failures, load changes. */
  onEvent?: (e: WgEvent) => void;
}

const enum HS {
  Zeroed = 0,
  InitiationCreated = 1,
  InitiationConsumed = 2,
  ResponseCreated = 3,
  ResponseConsumed = 4,
}

/** One session's keys. */
export class Keypair {
  /** The next nonce of the sending key. */
  sendCounter = 0;
  /** The receiving key's replay window. */
  readonly replay = new ReplayWindow();
  /**
   * A session's keys, indexes and creation time.
   *
   * @param peer The peer the session belongs to.
   * @param send The sending key.
   * @param recv The receiving key.
   * @param created When the session began (ms, the device's clock).
   * @param isInitiator Whether this side initiated the handshake.
   * @param localIndex Our index for the session (receivers find it by this).
   * @param remoteIndex The peer's index for the session (put in what we send).
   */
  constructor(
    readonly peer: Peer,
    readonly send: AeadKey,
    readonly recv: AeadKey,
    readonly created: number,
    readonly isInitiator: boolean,
    readonly localIndex: number,
    readonly remoteIndex: number,
  ) {}
  /** Erases both keys. */
  free(): void {
    this.send.free();
    this.recv.free();
  }
}

/** Traffic and handshake counters of a peer (`wg show`'s numbers). */
export interface PeerStats {
  /** Bytes received from the peer. */
  rxBytes: number;
  /** Bytes sent to the peer. */
  txBytes: number;
  /** Unix ms of the last completed handshake, 0 = never. */
  lastHandshake: number;
  /** Handshakes completed. */
  handshakes: number;
}

/** A peer: its keys, endpoint, handshake, keypairs, timers, staged packets. */
export class Peer {
  /** The peer's public key. */
  readonly publicKey: Uint8Array;
  /** The public key in base64 (wg's name of the peer). */
  readonly name: string;
  /** The preshared key (zeros when none). */
  presharedKey: Uint8Array<ArrayBufferLike> = new Uint8Array(32);
  /** Its current endpoint, when known. */
  endpoint: Endpoint | undefined;
  /** Seconds, 0 = off. */
  persistentKeepalive = 0;
  /** Its counters. */
  readonly stats: PeerStats = { rxBytes: 0, txBytes: 0, lastHandshake: 0, handshakes: 0 };
  /** @internal */ cookies: CookieGenerator;
  /** @internal */ precomputedSS: Uint8Array | null = null;
  // handshake
  /** @internal */ hs = HS.Zeroed;
  /** @internal */ hsState: SymmetricState | undefined;
  /** @internal */ hsLocalIndex = 0;
  /** @internal */ hsRemoteIndex = 0;
  /** @internal */ hsEphemeral: Uint8Array | undefined;
  /** @internal */ hsRemoteEphemeral: Uint8Array | undefined;
  /** @internal */ lastTimestamp: Uint8Array<ArrayBufferLike> = new Uint8Array(12);
  /** @internal */ lastInitiationConsumption = -Infinity;
  /** @internal */ lastSentHandshake = -Infinity;
  // keypairs
  /** The session before the current one (still accepted for a while). */
  previous: Keypair | undefined;
  /** The session packets are sent with. */
  current: Keypair | undefined;
  /** A session the responder made, used once the initiator sends on it. */
  next: Keypair | undefined;
  // timers: absolute monotonic deadlines, 0 = not pending
  /** @internal */ tRetransmit = 0;
  /** @internal */ tSendKeepalive = 0;
  /** @internal */ tNewHandshake = 0;
  /** @internal */ tZeroKeys = 0;
  /** @internal */ tPersistent = 0;
  /** @internal */ needAnotherKeepalive = false;
  /** @internal */ handshakeAttempts = 0;
  /** @internal */ sentLastMinuteHandshake = false;
  /** @internal */ staged: Uint8Array[] = [];

  /** @internal */
  constructor(c: WgCrypto, publicKey: Uint8Array, cookieRefresh: number) {
    this.publicKey = Uint8Array.from(publicKey);
    this.name = formatKey(publicKey);
    this.cookies = new CookieGenerator(c, publicKey, cookieRefresh);
  }
}

const rd32le = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
function wr32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** Largest datagram accepted (a 64 KiB inner packet + overhead). */
export const MAX_DATAGRAM: number = 65535 + 32;

/**
 * The protocol state of one WireGuard interface.
 *
 * @example
 * ```ts
 * import { WgDevice } from "./device.ts";
 * import { loadWgCrypto } from "./crypto/provider.ts";
 * import { parseAllowedIp } from "./allowedips.ts";
 * import { generatePrivateKey, parseKey } from "./keys.ts";
 * const dev = new WgDevice({ crypto: await loadWgCrypto(), privateKey: generatePrivateKey(), send: (buf, len, to) => {} });
 * const theirs = parseKey("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=");
 * const peer = dev.addPeer({ publicKey: theirs, allowedIps: [parseAllowedIp("10.0.0.2/32")] });
 * dev.peers.size; // 1
 * ```
 */
export class WgDevice {
  /** The crypto implementation. */
  readonly crypto: WgCrypto;
  /** The protocol's timers (REKEY_AFTER_TIME…). */
  readonly timers: TimerConfig;
  /** Peers by their base64 public key. */
  readonly peers = new Map<string, Peer>();
  /** The allowed-IPs trie: destination -> peer, source check. */
  readonly routes = new AllowedIps<Peer>();
  /** Drop counters by reason. */
  readonly drops: Record<DropReason, number> = {
    truncated: 0, oversized: 0, unknownType: 0, badMac1: 0, unknownIndex: 0, expiredKey: 0, replay: 0, authFailed: 0,
    notAllowed: 0, badInnerPacket: 0, unknownPeer: 0, staleTimestamp: 0, flood: 0, cookieRequired: 0, rateLimited: 0,
    badHandshake: 0, badCookie: 0, noEndpoint: 0, noRoute: 0,
  };
  /** Handshake messages handled, cookie replies sent. */
  readonly counters = { initiationsReceived: 0, responsesReceived: 0, cookiesSent: 0, cookiesReceived: 0, handshakesCompleted: 0 };
  /** Tunnel MTU (padding). */
  mtu: number;
  private privateKey: Uint8Array<ArrayBufferLike> = new Uint8Array(32);
  private publicKey_ = new Uint8Array(32);
  private hasKey = false;
  private checker: CookieChecker;
  private readonly index = new Map<number, { peer: Peer; keypair?: Keypair }>();
  private readonly send: SendUdp;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  private readonly wall: () => number;
  private readonly onEvent: (e: WgEvent) => void;
  private readonly maxAttempts: number;
  // load tracking
  private loadWindowStart = 0;
  private loadCount = 0;
  /** Milliseconds of handshake work in the current one-second window. */
  private loadWork = 0;
  private readonly work: () => number;
  private underLoadUntil = -Infinity;
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  /**
   * A device with the options' key, peers and timers; it sends nothing until packets or timers ask.
   *
   * @param opts Private key, crypto provider, timers, clock and send functions.
   */
  constructor(opts: WgDeviceOptions) {
    this.crypto = opts.crypto;
    this.timers = { ...DEFAULT_TIMERS, ...opts.timers };
    this.maxAttempts = maxHandshakeAttempts(this.timers);
    this.mtu = opts.mtu ?? 1420;
    this.send = opts.send;
    this.now = opts.now ?? (() => performance.now());
    this.wall = opts.wallClock ?? (() => Date.now());
    this.work = opts.workClock ?? (() => performance.now());
    this.onEvent = opts.onEvent ?? (() => {});
    this.checker = new CookieChecker(this.crypto, this.publicKey_, this.timers.cookieRefreshTime);
    if (opts.privateKey) this.setPrivateKey(opts.privateKey);
  }

  // --- configuration --------------------------------------------------------------------------

  /** The interface's public key (zeros until a private key is set). */
  get publicKey(): Uint8Array {
    return this.publicKey_;
  }

  /** Whether a private key is set. */
  get hasPrivateKey(): boolean {
    return this.hasKey;
  }

  /** The private key (a copy). */
  getPrivateKey(): Uint8Array {
    return Uint8Array.from(this.privateKey);
  }

  /** Sets (or, with zeros, clears) the private key. Sessions of every peer are dropped, as wg does. */
  setPrivateKey(key: Uint8Array): void {
    if (key.length !== 32) throw new UsageError("A private key has 32 bytes");
    const k = clamp(Uint8Array.from(key));
    if (this.hasKey && k.every((b, i) => b === this.privateKey[i])) return;
    this.privateKey = k;
    this.hasKey = !isZeroKey(key);
    this.publicKey_ = new Uint8Array(32);
    if (this.hasKey) this.crypto.dh.x25519Base(this.publicKey_, k);
    this.checker.setLocalPublic(this.publicKey_);
    for (const p of this.peers.values()) {
      if (this.hasKey && p.publicKey.every((b, i) => b === this.publicKey_[i])) {
        this.removePeer(p.publicKey);
        continue;
      }
      this.precompute(p);
      this.zeroKeys(p);
    }
  }

  /** Computes the static-static DH with the peer once, when both keys are known. */
  private precompute(p: Peer): void {
    const ss = new Uint8Array(32);
    p.precomputedSS = this.hasKey && this.crypto.dh.x25519(ss, this.privateKey, p.publicKey) ? ss : null;
  }

  /** Adds a peer or updates an existing one with the fields given. */
  addPeer(cfg: PeerConfig): Peer {
    const name = formatKey(cfg.publicKey);
    let p = this.peers.get(name);
    if (!p) {
      if (cfg.publicKey.length !== 32) throw new UsageError("A public key has 32 bytes");
      if (this.hasKey && cfg.publicKey.every((b, i) => b === this.publicKey_[i])) {
        throw new UsageError(`Peer ${name} has the interface's own public key`);
      }
      p = new Peer(this.crypto, cfg.publicKey, this.timers.cookieRefreshTime);
      this.peers.set(name, p);
      this.precompute(p);
    }
    if (cfg.presharedKey) p.presharedKey = Uint8Array.from(cfg.presharedKey);
    if (cfg.endpoint) p.endpoint = cfg.endpoint;
    if (cfg.persistentKeepalive !== undefined) this.setPersistentKeepalive(p, cfg.persistentKeepalive);
    for (const a of cfg.allowedIps ?? []) this.routes.insert(a, p);
    return p;
  }

  /** Sets a peer's persistent keepalive (seconds, 0 = off); turning it on sends one at once. */
  setPersistentKeepalive(p: Peer, seconds: number): void {
    if (!(Number.isInteger(seconds) && seconds >= 0 && seconds <= 65535)) throw new UsageError(`Invalid persistent keepalive "${seconds}": expected 0..65535 seconds`);
    const was = p.persistentKeepalive;
    p.persistentKeepalive = seconds;
    if (seconds === 0) p.tPersistent = 0;
    else if (was === 0 && p.endpoint && this.hasKey) this.sendKeepalive(p);
  }

  /** Removes a peer, its routes and its sessions. */
  removePeer(publicKey: Uint8Array): boolean {
    const p = this.peers.get(formatKey(publicKey));
    if (!p) return false;
    this.routes.removePeer(p);
    this.zeroKeys(p, false);
    this.peers.delete(p.name);
    return true;
  }

  /** The peer with this public key. */
  peer(publicKey: Uint8Array | string): Peer | undefined {
    return this.peers.get(typeof publicKey === "string" ? publicKey : formatKey(publicKey));
  }

  /** Whether handshakes currently require cookies. */
  get underLoad(): boolean {
    return this.now() < this.underLoadUntil;
  }

  // --- outbound data --------------------------------------------------------------------------

  /**
   * Cryptokey routing of an outbound IP packet at `buf[off..off+len)`: the peer owning its
   * destination, or undefined (counted as a drop).
   */
  route(buf: Uint8Array, off: number, len: number): Peer | undefined {
    const v = buf[off]! >> 4;
    let p: Peer | undefined;
    if (v === 4 && len >= 20) p = this.routes.lookup4(((buf[off + 16]! << 24) | (buf[off + 17]! << 16) | (buf[off + 18]! << 8) | buf[off + 19]!) >>> 0);
    else if (v === 6 && len >= 40) p = this.routes.lookup6(buf, off + 24);
    if (!p) this.drops.noRoute++;
    return p;
  }

  /**
   * Encrypts the packet at `buf[off+16 .. off+16+len)` for `p` in place (see module doc).
   * Returns the datagram length to send to `p.endpoint`, or 0 when the packet was staged until
   * a handshake completes (or dropped for want of an endpoint).
   */
  seal(p: Peer, buf: Uint8Array, off: number, len: number, now: number): number {
    const kp = p.current;
    const t = this.timers;
    if (!p.endpoint) {
      this.drops.noEndpoint++;
      return 0;
    }
    if (!kp || kp.sendCounter >= t.rejectAfterMessages || now - kp.created >= t.rejectAfterTime) {
      this.stage(p, buf.slice(off + 16, off + 16 + len));
      this.initiate(p, false, now);
      return 0;
    }
    const n = this.sealWith(kp, buf, off, len);
    this.afterSend(p, len, now);
    return n;
  }

  /**
   * Length of a `len`-byte packet once padded to a multiple of 16 (whitepaper §5.4.6), never
   * past the MTU. A data message is 32 bytes longer.
   */
  paddedLength(len: number): number {
    if (len === 0) return 0;
    const mtu = this.mtu;
    let last = len;
    if (mtu && last > mtu) last %= mtu;
    let size = (last + 15) & ~15;
    if (mtu && size > mtu) size = mtu;
    return len + (size - last);
  }

  /** Encrypts a data packet in place with `kp`; returns the message length. */
  private sealWith(kp: Keypair, buf: Uint8Array, off: number, len: number): number {
    const padded = this.paddedLength(len);
    if (padded > len) buf.fill(0, off + 16 + len, off + 16 + padded);
    const c = kp.sendCounter++;
    buf[off] = MSG.DATA;
    buf[off + 1] = 0;
    buf[off + 2] = 0;
    buf[off + 3] = 0;
    wr32le(buf, off + 4, kp.remoteIndex);
    wr32le(buf, off + 8, c >>> 0);
    wr32le(buf, off + 12, Math.floor(c / 4294967296));
    this.crypto.aead.seal(kp.send, c, buf, off + 16, buf, off + 16, padded);
    const n = 16 + padded + 16;
    kp.peer.stats.txBytes += n;
    return n;
  }

  /** Timer bookkeeping after a packet went to `p` (keepalive, rekey). */
  private afterSend(p: Peer, len: number, now: number): void {
    // timersAnyAuthenticatedPacketTraversal, ...Sent, DataSent; keepKeyFreshSending
    if (p.persistentKeepalive) p.tPersistent = now + p.persistentKeepalive * 1000;
    p.tSendKeepalive = 0;
    if (len > 0 && p.tNewHandshake === 0) p.tNewHandshake = now + this.timers.keepaliveTimeout + this.timers.rekeyTimeout + this.jitter();
    const kp = p.current;
    if (kp && (kp.sendCounter > this.timers.rekeyAfterMessages || (kp.isInitiator && now - kp.created > this.timers.rekeyAfterTime))) {
      this.initiate(p, false, now);
    }
  }

  /** Queues a packet for `p` until a session exists (oldest dropped past the limit). */
  private stage(p: Peer, pkt: Uint8Array): void {
    if (p.staged.length >= STAGED_MAX) p.staged.shift();
    p.staged.push(pkt);
  }

  /** Sends staged packets (or an empty keepalive) if a usable keypair exists; else initiates. */
  private sendStaged(p: Peer, now: number): void {
    if (!p.staged.length || !this.hasKey) return;
    const kp = p.current;
    const t = this.timers;
    if (!kp || kp.sendCounter >= t.rejectAfterMessages || now - kp.created >= t.rejectAfterTime) {
      this.initiate(p, false, now);
      return;
    }
    if (!p.endpoint) {
      this.drops.noEndpoint += p.staged.length;
      p.staged = [];
      return;
    }
    const pkts = p.staged;
    p.staged = [];
    for (const pkt of pkts) {
      const buf = new Uint8Array(pkt.length + 64);
      buf.set(pkt, 16);
      const n = this.sealWith(kp, buf, 0, pkt.length);
      this.send(buf, n, p.endpoint);
      this.afterSend(p, pkt.length, now);
    }
  }

  /** Sends an empty data packet to `p` (or queues it for the handshake). */
  private sendKeepalive(p: Peer, now = this.now()): void {
    if (!p.staged.length) p.staged.push(new Uint8Array(0));
    this.sendStaged(p, now);
  }

  // --- handshakes (initiator) -----------------------------------------------------------------

  /** A random delay up to the rekey jitter, in ms. */
  private jitter(): number {
    return Math.random() * this.timers.rekeyTimeoutJitterMax;
  }

  /** A fresh random session index not in use. */
  private newIndex(peer: Peer): number {
    const b = new Uint32Array(1);
    for (;;) {
      crypto.getRandomValues(b);
      const i = b[0]!;
      if (i !== 0 && !this.index.has(i)) {
        this.index.set(i, { peer });
        return i;
      }
    }
  }

  /** Forgets the index of `p`'s pending handshake. */
  private dropHandshakeIndex(p: Peer): void {
    if (p.hsLocalIndex) {
      const e = this.index.get(p.hsLocalIndex);
      if (e && !e.keypair) this.index.delete(p.hsLocalIndex);
    }
    p.hsLocalIndex = 0;
  }

  /** Starts a handshake with `p` now (rate limited to one per rekey-timeout unless `retry`). */
  initiate(p: Peer, retry: boolean, now = this.now()): void {
    if (!retry) p.handshakeAttempts = 0;
    if (!this.hasKey || !p.endpoint) return;
    if (now - p.lastSentHandshake < this.timers.rekeyTimeout) return;
    p.lastSentHandshake = now;
    const eph = clamp(crypto.getRandomValues(new Uint8Array(32)));
    const m1 = writeMessage1(this.crypto, initialState(IDENTIFIER, p.publicKey), this.privateKey, this.publicKey_, p.publicKey, eph, tai64n(this.wall()), p.precomputedSS ?? undefined);
    if (!m1) return;
    this.dropHandshakeIndex(p);
    p.hsLocalIndex = this.newIndex(p);
    p.hs = HS.InitiationCreated;
    p.hsState = m1.state;
    p.hsEphemeral = eph;
    const msg = new Uint8Array(SIZE.INITIATION);
    msg[0] = MSG.INITIATION;
    wr32le(msg, 4, p.hsLocalIndex);
    msg.set(m1.body, 8);
    p.cookies.addMacs(msg, now);
    // traversal + sent
    if (p.persistentKeepalive) p.tPersistent = now + p.persistentKeepalive * 1000;
    p.tSendKeepalive = 0;
    this.send(msg, msg.length, p.endpoint);
    // timersHandshakeInitiated
    p.tRetransmit = now + this.timers.rekeyTimeout + this.jitter();
  }

  // --- inbound ----------------------------------------------------------------------------------

  /**
   * Handles one datagram at `buf[off..off+len)` from the sockaddr at `src[srcOff..srcOff+srcLen)`.
   * Returns the inner packet's length (decrypted in place at `off+16`) for the tun, or 0.
   */
  receive(buf: Uint8Array, off: number, len: number, src: Uint8Array, srcOff: number, srcLen: number, now: number): number {
    if (len < 4) {
      this.drops.truncated++;
      return 0;
    }
    const type = rd32le(buf, off);
    if (type === MSG.DATA) return this.receiveData(buf, off, len, src, srcOff, srcLen, now);
    if (type === MSG.INITIATION || type === MSG.RESPONSE || type === MSG.COOKIE) {
      const want = type === MSG.INITIATION ? SIZE.INITIATION : type === MSG.RESPONSE ? SIZE.RESPONSE : SIZE.COOKIE;
      if (len !== want) {
        this.drops[len < want ? "truncated" : "oversized"]++;
        return 0;
      }
      this.receiveControl(type, buf.slice(off, off + len), src, srcOff, srcLen, now);
      return 0;
    }
    this.drops.unknownType++;
    return 0;
  }

  /**
   * A data message: decrypts it in place, checks replay and allowed IPs; returns the inner packet's length (0 when dropped).
   */
  private receiveData(buf: Uint8Array, off: number, len: number, src: Uint8Array, srcOff: number, srcLen: number, now: number): number {
    if (len < SIZE.DATA_MIN) {
      this.drops.truncated++;
      return 0;
    }
    if (len > MAX_DATAGRAM) {
      this.drops.oversized++;
      return 0;
    }
    const e = this.index.get(rd32le(buf, off + 4));
    const kp = e?.keypair;
    if (!kp) {
      this.drops.unknownIndex++;
      return 0;
    }
    const lo = rd32le(buf, off + 8);
    const hi = rd32le(buf, off + 12);
    const t = this.timers;
    const counter = hi >= 0x200000 ? Infinity : hi * 4294967296 + lo;
    if (now - kp.created >= t.rejectAfterTime) {
      this.drops.expiredKey++;
      return 0;
    }
    if (!kp.replay.check(counter, t.rejectAfterMessages)) {
      this.drops.replay++;
      return 0;
    }
    if (!this.crypto.aead.open(kp.recv, counter, buf, off + 16, buf, off + 16, len - 16)) {
      this.drops.authFailed++;
      return 0;
    }
    if (!kp.replay.accept(counter, t.rejectAfterMessages)) {
      this.drops.replay++;
      return 0;
    }
    const p = kp.peer;
    if (p.next === kp) {
      // The initiator used the new session: it is confirmed (ReceivedWithKeypair).
      const old = p.previous;
      p.previous = p.current;
      p.current = kp;
      p.next = undefined;
      if (old) this.freeKeypair(old);
      this.handshakeComplete(p, now, false);
      this.sendStaged(p, now);
    }
    // keepKeyFreshReceiving
    const cur = p.current;
    if (!p.sentLastMinuteHandshake && cur && cur.isInitiator && now - cur.created > t.rejectAfterTime - t.keepaliveTimeout - t.rekeyTimeout) {
      p.sentLastMinuteHandshake = true;
      this.initiate(p, false, now);
    }
    // traversal + received
    if (p.persistentKeepalive) p.tPersistent = now + p.persistentKeepalive * 1000;
    p.tNewHandshake = 0;
    this.roam(p, src, srcOff, srcLen);
    p.stats.rxBytes += len;
    const plen = len - 32;
    if (plen === 0) return 0; // keepalive
    // timersDataReceived
    if (p.tSendKeepalive === 0) p.tSendKeepalive = now + t.keepaliveTimeout;
    else p.needAnotherKeepalive = true;
    const o = off + 16;
    const v = buf[o]! >> 4;
    let ilen: number;
    let owner: Peer | undefined;
    if (v === 4 && plen >= 20) {
      ilen = (buf[o + 2]! << 8) | buf[o + 3]!;
      owner = this.routes.lookup4(((buf[o + 12]! << 24) | (buf[o + 13]! << 16) | (buf[o + 14]! << 8) | buf[o + 15]!) >>> 0);
    } else if (v === 6 && plen >= 40) {
      ilen = 40 + ((buf[o + 4]! << 8) | buf[o + 5]!);
      owner = this.routes.lookup6(buf, o + 8);
    } else {
      this.drops.badInnerPacket++;
      return 0;
    }
    if (ilen > plen || ilen < 20) {
      this.drops.badInnerPacket++;
      return 0;
    }
    if (owner !== p) {
      this.drops.notAllowed++;
      return 0;
    }
    return ilen;
  }

  /** Updates `p`'s endpoint to the authenticated packet's source, when it moved. */
  private roam(p: Peer, src: Uint8Array, srcOff: number, srcLen: number): void {
    if (srcLen === 0 || (p.endpoint && sameEndpoint(p.endpoint, src, srcOff, srcLen))) return;
    const from = p.endpoint;
    p.endpoint = endpointFrom(src, srcOff, srcLen);
    if (from) this.onEvent({ type: "roam", peer: p, from, to: p.endpoint });
  }

  /**
   * Under load (cookies required, per-address rate limits) once, within the last second, more
   * than `underLoadRate` handshake messages arrived or handshake work took more than
   * `underLoadBudget` of the time. The second test stands in for wireguard-go's "handshake queue
   * one-eighth full": this process answers handshakes on the thread that moves the data, so it
   * asks for cookies when they would eat into that.
   */
  private isUnderLoad(now: number): boolean {
    if (now - this.loadWindowStart >= 1000) {
      this.loadWindowStart = now;
      this.loadCount = 0;
      this.loadWork = 0;
    }
    this.loadCount++;
    if (this.loadCount > this.timers.underLoadRate || this.loadWork > this.timers.underLoadBudget * 1000) {
      if (now >= this.underLoadUntil) this.onEvent({ type: "underLoad", on: true });
      this.underLoadUntil = now + this.timers.underLoadAfter;
    }
    return now < this.underLoadUntil;
  }

  /** Per source address token bucket while under load (20/s, burst 5, like wireguard-go). */
  private allow(srcKey: Uint8Array, now: number): boolean {
    const k = String.fromCharCode(...srcKey.subarray(0, srcKey.length - 2));
    let b = this.buckets.get(k);
    if (!b) {
      if (this.buckets.size > 4096) this.buckets.clear();
      b = { tokens: 5, at: now };
      this.buckets.set(k, b);
    }
    b.tokens = Math.min(5, b.tokens + ((now - b.at) / 1000) * 20);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** A handshake initiation, response or cookie reply. */
  private receiveControl(type: number, msg: Uint8Array, src: Uint8Array, srcOff: number, srcLen: number, now: number): void {
    if (type === MSG.COOKIE) {
      const e = this.index.get(rd32le(msg, 4));
      if (!e || e.keypair || !e.peer.cookies.consumeReply(msg, now)) {
        this.drops.badCookie++;
        return;
      }
      this.counters.cookiesReceived++;
      return;
    }
    if (!this.hasKey) {
      this.drops.badMac1++;
      return;
    }
    if (!this.checker.checkMac1(msg)) {
      this.drops.badMac1++;
      return;
    }
    const srcKey = endpointKey(src, srcOff, srcLen);
    if (this.isUnderLoad(now)) {
      if (!this.checker.checkMac2(msg, srcKey, now)) {
        this.drops.cookieRequired++;
        const reply = this.checker.createReply(msg, srcKey, now);
        const to = endpointFrom(src, srcOff, srcLen);
        this.send(reply, reply.length, to);
        this.counters.cookiesSent++;
        this.onEvent({ type: "cookieSent", to });
        return;
      }
      if (!this.allow(srcKey, now)) {
        this.drops.rateLimited++;
        return;
      }
    }
    const t0 = this.work();
    if (type === MSG.INITIATION) this.consumeInitiation(msg, src, srcOff, srcLen, now);
    else this.consumeResponse(msg, src, srcOff, srcLen, now);
    this.loadWork += this.work() - t0;
  }

  /** Checks a handshake initiation and, when valid, answers it. */
  private consumeInitiation(msg: Uint8Array, src: Uint8Array, srcOff: number, srcLen: number, now: number): void {
    this.counters.initiationsReceived++;
    let peer: Peer | undefined;
    let sawStatic = false;
    const r = readMessage1(this.crypto, initialState(IDENTIFIER, this.publicKey_), this.privateKey, msg.subarray(8, 116), 12, (rs) => {
      sawStatic = true;
      peer = this.peers.get(formatKey(rs));
      return peer?.precomputedSS ?? null;
    });
    if (!r || !peer) {
      this.drops[sawStatic && !peer ? "unknownPeer" : "badHandshake"]++;
      return;
    }
    const p = peer;
    if (!after(r.payload, p.lastTimestamp)) {
      this.drops.staleTimestamp++;
      return;
    }
    if (now - p.lastInitiationConsumption <= this.timers.handshakeInitiationRate) {
      this.drops.flood++;
      return;
    }
    p.lastTimestamp = r.payload;
    p.lastInitiationConsumption = now;
    p.hs = HS.InitiationConsumed;
    p.hsState = r.state;
    p.hsRemoteIndex = rd32le(msg, 4);
    p.hsRemoteEphemeral = r.remoteEphemeral;
    this.roam(p, src, srcOff, srcLen);
    if (p.persistentKeepalive) p.tPersistent = now + p.persistentKeepalive * 1000;
    p.tNewHandshake = 0;
    p.stats.rxBytes += msg.length;
    this.respond(p, now);
  }

  /** Sends the handshake response to `p`. */
  private respond(p: Peer, now: number): void {
    if (p.hs !== HS.InitiationConsumed || !p.hsState || !p.hsRemoteEphemeral || !p.endpoint) return;
    const eph = clamp(crypto.getRandomValues(new Uint8Array(32)));
    const m2 = writeMessage2(this.crypto, p.hsState, p.hsRemoteEphemeral, p.publicKey, eph, p.presharedKey);
    if (!m2) return;
    this.dropHandshakeIndex(p);
    p.hsLocalIndex = this.newIndex(p);
    p.hs = HS.ResponseCreated;
    p.hsState = m2.state;
    const msg = new Uint8Array(SIZE.RESPONSE);
    msg[0] = MSG.RESPONSE;
    wr32le(msg, 4, p.hsLocalIndex);
    wr32le(msg, 8, p.hsRemoteIndex);
    msg.set(m2.body, 12);
    p.cookies.addMacs(msg, now);
    p.lastSentHandshake = now;
    this.beginSession(p, now);
    if (p.persistentKeepalive) p.tPersistent = now + p.persistentKeepalive * 1000;
    p.tSendKeepalive = 0;
    p.stats.txBytes += msg.length;
    this.send(msg, msg.length, p.endpoint);
  }

  /** Checks a handshake response and, when valid, starts the session. */
  private consumeResponse(msg: Uint8Array, src: Uint8Array, srcOff: number, srcLen: number, now: number): void {
    this.counters.responsesReceived++;
    const e = this.index.get(rd32le(msg, 8));
    const p = e?.peer;
    if (!p || e.keypair || p.hs !== HS.InitiationCreated || !p.hsState || !p.hsEphemeral) {
      this.drops.unknownIndex++;
      return;
    }
    const r = readMessage2(this.crypto, p.hsState, this.privateKey, p.hsEphemeral, p.presharedKey, msg.subarray(12, 60));
    if (!r) {
      this.drops.badHandshake++;
      return;
    }
    p.hs = HS.ResponseConsumed;
    p.hsState = r.state;
    p.hsRemoteIndex = rd32le(msg, 4);
    this.roam(p, src, srcOff, srcLen);
    if (p.persistentKeepalive) p.tPersistent = now + p.persistentKeepalive * 1000;
    p.tNewHandshake = 0;
    p.stats.rxBytes += msg.length;
    this.beginSession(p, now);
    this.handshakeComplete(p, now, true);
    this.sendKeepalive(p, now);
  }

  /** Derives the session keys from the finished handshake of `p`. */
  private beginSession(p: Peer, now: number): void {
    const st = p.hsState!;
    const [k1, k2] = split(st);
    const initiator = p.hs === HS.ResponseConsumed;
    const kp = new Keypair(
      p,
      this.crypto.aead.key(initiator ? k1 : k2),
      this.crypto.aead.key(initiator ? k2 : k1),
      now,
      initiator,
      p.hsLocalIndex,
      p.hsRemoteIndex,
    );
    k1.fill(0);
    k2.fill(0);
    st.ck.fill(0);
    p.hs = HS.Zeroed;
    p.hsState = undefined;
    p.hsEphemeral?.fill(0);
    p.hsEphemeral = undefined;
    this.index.set(kp.localIndex, { peer: p, keypair: kp });
    p.hsLocalIndex = 0;
    if (initiator) {
      if (p.next) {
        const old = p.previous;
        p.previous = p.next;
        p.next = undefined;
        if (p.current) this.freeKeypair(p.current);
        if (old) this.freeKeypair(old);
      } else {
        if (p.previous) this.freeKeypair(p.previous);
        p.previous = p.current;
      }
      p.current = kp;
    } else {
      if (p.next) this.freeKeypair(p.next);
      p.next = kp;
      if (p.previous) this.freeKeypair(p.previous);
      p.previous = undefined;
    }
    // timersSessionDerived
    p.tZeroKeys = now + this.timers.rejectAfterTime * 3;
  }

  /** Timer bookkeeping when a handshake completes; sends what was queued. */
  private handshakeComplete(p: Peer, now: number, initiator: boolean): void {
    p.tRetransmit = 0;
    p.handshakeAttempts = 0;
    p.sentLastMinuteHandshake = false;
    p.stats.lastHandshake = this.wall();
    p.stats.handshakes++;
    this.counters.handshakesCompleted++;
    this.onEvent({ type: "handshake", peer: p, initiator });
  }

  /** Erases a session's keys and frees its index. */
  private freeKeypair(kp: Keypair): void {
    const e = this.index.get(kp.localIndex);
    if (e?.keypair === kp) this.index.delete(kp.localIndex);
    kp.free();
  }

  /** Drops every key of `p` (zeroKeyMaterial) and its staged packets. */
  private zeroKeys(p: Peer, event = true): void {
    for (const kp of [p.previous, p.current, p.next]) if (kp) this.freeKeypair(kp);
    p.previous = p.current = p.next = undefined;
    this.dropHandshakeIndex(p);
    p.hs = HS.Zeroed;
    p.hsState = undefined;
    p.hsEphemeral = undefined;
    p.staged = [];
    p.tZeroKeys = p.tRetransmit = p.tSendKeepalive = p.tNewHandshake = 0;
    if (event) this.onEvent({ type: "keysZeroed", peer: p });
  }

  // --- timers -------------------------------------------------------------------------------------

  /** The earliest timer deadline of any peer (Infinity when none). */
  nextDeadline(): number {
    let d = Infinity;
    for (const p of this.peers.values()) {
      if (p.tRetransmit && p.tRetransmit < d) d = p.tRetransmit;
      if (p.tSendKeepalive && p.tSendKeepalive < d) d = p.tSendKeepalive;
      if (p.tNewHandshake && p.tNewHandshake < d) d = p.tNewHandshake;
      if (p.tZeroKeys && p.tZeroKeys < d) d = p.tZeroKeys;
      if (p.tPersistent && p.tPersistent < d) d = p.tPersistent;
    }
    return d;
  }

  /** Runs every timer that is due at `now`. */
  tick(now = this.now()): void {
    for (const p of this.peers.values()) {
      if (p.tRetransmit && p.tRetransmit <= now) {
        p.tRetransmit = 0;
        if (p.handshakeAttempts > this.maxAttempts) {
          p.tSendKeepalive = 0;
          p.staged = [];
          if (!p.tZeroKeys) p.tZeroKeys = now + this.timers.rejectAfterTime * 3;
          this.onEvent({ type: "handshakeFailed", peer: p, attempts: p.handshakeAttempts + 1 });
        } else {
          p.handshakeAttempts++;
          this.initiate(p, true, now);
        }
      }
      if (p.tSendKeepalive && p.tSendKeepalive <= now) {
        p.tSendKeepalive = 0;
        this.sendKeepalive(p, now);
        if (p.needAnotherKeepalive) {
          p.needAnotherKeepalive = false;
          p.tSendKeepalive = now + this.timers.keepaliveTimeout;
        }
      }
      if (p.tNewHandshake && p.tNewHandshake <= now) {
        p.tNewHandshake = 0;
        this.initiate(p, false, now);
      }
      if (p.tZeroKeys && p.tZeroKeys <= now) {
        p.tZeroKeys = 0;
        this.zeroKeys(p);
      }
      if (p.tPersistent && p.tPersistent <= now) {
        p.tPersistent = 0;
        if (p.persistentKeepalive) this.sendKeepalive(p, now);
      }
    }
  }

  /** Sends a keepalive to every peer with persistent keepalive on (at start-up, as wg does). */
  start(now = this.now()): void {
    for (const p of this.peers.values()) if (p.persistentKeepalive && p.endpoint) this.sendKeepalive(p, now);
  }

  /** Drops every session (interface going down). */
  close(): void {
    for (const p of this.peers.values()) this.zeroKeys(p, false);
  }
}
