/**
 * {@link Tunnel}: everything a program sends into a tun device leaves through a SOCKS5 or HTTP
 * CONNECT proxy (tun2socks / tun2http).
 *
 * TCP uses the "system stack": each segment is rewritten in place (see tcp-redirect.ts) so the
 * kernel's own TCP terminates the client's connection on a listener of ours. On either native
 * relay (Bun's sockets, splice) a new flow's SYN goes to the listener at once while the proxy
 * is dialled (one proxy round trip less per connection, as hev-socks5-tunnel): the client's
 * first bytes wait in the relay until the proxy answers, and when the proxy fails the open
 * connection gets a RST. On node:net (Deno) the SYN is held until the proxy has connected: a
 * failure is a RST for the SYN (connection refused). UDP goes through SOCKS5 UDP ASSOCIATE or is refused (HTTP), DNS can be answered
 * from a fake-ip pool or forwarded over TCP (udp.ts).
 *
 * @module
 */
import type net from "node:net";
import { readdirSync, readFileSync } from "node:fs";
import type { TunnelLog } from "./log.ts";
import { TunkitError, UsageError } from "../common/errors.ts";
import { buildTcp } from "../packet/build.ts";
import { parseIp } from "../common/addr.ts";
import { mulberry32 } from "../common/prng.ts";
import { MAX_PACKET, type TunQueue } from "../tun/queue.ts";
import type { Dialer, ProxyStream } from "./dial.ts";
import { nodeNet } from "./dial.ts";
import { answerFakeIp, DnsTcpFramer, frameDnsTcp, type FakeIp6Pool, type FakeIpPool } from "./dns.ts";
import { FLOW, type FlowTable } from "./nat.ts";
import type { Socks5Dialer } from "./socks5.ts";
import { TunnelStats } from "./stats.ts";
import { formatAddrAt, SEEN, TcpRedirect, tcpResetFor, VERDICT } from "./tcp-redirect.ts";
import { UdpRelay } from "./udp.ts";
import { UdpFastPath } from "./udp-fast.ts";
import { TunDevice } from "../tun/device.ts";
import { isSending, TCP_STATE, TcpDiag } from "../ffi/sock-diag.ts";
import { peerOf, rawSplice, type Peer } from "../ffi/splice.ts";
import { NativeRelay, type NativeSocket, type RelayFlow, type RelayHost } from "./tcp-relay.ts";
import { formatTarget, type Target } from "./url.ts";

/** One address family of the tun: its own address (T) and the fake peer (F) in the tun's route. */
export interface TunnelFamily {
  /** The tun's address, where the listener binds ("198.18.0.1"). */
  address: string;
  /** The fake peer address, routed into the tun and not local ("198.18.0.2"). */
  fakePeer: string;
}

/** Options of {@link Tunnel}. */
export interface TunnelOptions {
  /** The tun queue to read and write (IFF_NO_PI, tun mode). */
  tun: TunQueue;
  /** How to reach destinations. */
  dialer: Dialer;
  /** "socks": UDP through UDP ASSOCIATE (needs a Socks5Dialer); "refuse": ICMP unreachable. */
  udp: "socks" | "refuse";
  /** IPv4 side: proxied, blocked or off. */
  v4?: TunnelFamily;
  /** IPv6 side: proxied, blocked or off. */
  v6?: TunnelFamily;
  /** DNS handling: "fake-ip" (needs `pool`) or "tcp"; undefined relays port 53 like other UDP. */
  dns?: "fake-ip" | "tcp";
  /** The IPv4 fake-ip pool (fake-ip mode). */
  pool?: FakeIpPool;
  /** The IPv6 fake-ip pool (AAAA answers); needs `v6`. Without it AAAA gets no answer. */
  pool6?: FakeIp6Pool;
  /** Deadline for the proxy's connect + handshake (ms). Default 10 s. */
  connectTimeoutMs?: number;
  /** Idle timeout of UDP flows (ms). Default 60 s. */
  udpIdleMs?: number;
  /**
   * Bytes of `struct virtio_net_hdr` before each packet (the queue opened with IFF_VNET_HDR), 0
   * without. With TUNSETOFFLOAD (CSUM, TSO4, TSO6) the kernel hands whole 64 KiB TCP segments
   * with partial checksums through the tun: they are rewritten and written back as they are,
   * header and all, and the kernel's TCP takes them whole (no segmenting, no checksumming).
   */
  vnetHdr?: number;
  /** Called with one line per failed flow (when no `log` is given). */
  onError?: (line: string) => void;
  /** Leveled, rate-limited lines: errors by kind, per-flow lines at debug. Wins over onError. */
  log?: TunnelLog;
  /** Close a TCP flow idle this long in both directions (ms); 0: never. Default 300 s (hev's too). */
  tcpIdleMs?: number;
  /**
   * Refuse new flows (TCP RST, ICMP for UDP) beyond this many at once; 0: no limit of its own.
   * Whatever it is, flows are also refused before the open-files limit is reached (each TCP
   * flow holds 2 fds), so the kernel never queues a connection that accept() cannot take.
   */
  maxSessions?: number;
  /**
   * For tests only: drop this fraction (0..1) of the packets read from the tun and hold back
   * this fraction so they are written after the next one (reordering). Seeded, reproducible.
   */
  impair?: { loss?: number; reorder?: number; seed?: number };
  /**
   * TCP sockets: "bun" relays on Bun's own sockets with the handshake run inline (the default
   * under Bun, when the dialer offers {@link Dialer.handshake}); "node" through node:net (the
   * default elsewhere). Unset, the environment's `TUNKIT_TCP_SOCKETS` (bun|node) decides, for
   * tests and side-by-side measurement.
   */
  sockets?: "bun" | "node";
  /**
   * UDP on a thread of its own (proxy/udp-fast.ts): `tun` must be a multi-queue TunDevice with
   * one queue open; start() adds the UDP queue and its steering program, or (refused) runs on
   * one queue as before. Ignored with `udp: "refuse"` or `impair`.
   */
  udpWorker?: boolean;
}

/**
 * A TCP flow: one class (one shape) for every flow, its log texts made only when logged. Its
 * addresses and ports are not copied: they live in the NAT table's row (`id`), which is freed
 * only together with the flow (sweep, failFlow), so the texts are formatted from there when a
 * line or a RST needs them. At 5,000 held connections the copies were 5 strings and an object
 * per flow (formatIpv4's template parts, the target), about 1 MB of the daemon's heap.
 */
class TcpFlow implements RelayFlow {
  /** The rewritten SYN, written into the tun when the dial begins (Bun relays) or once the proxy connected (node:net), then dropped. */
  syn: Uint8Array;
  /** When the SYN came (ms, the tunnel's clock), and the last data either way. */
  t0: number;
  last: number;
  up = 0;
  down = 0;
  proxy: ProxyStream | undefined = undefined;
  socket: net.Socket | undefined = undefined;
  /** When the dial started (performance.now()). */
  dialStart = 0;
  /** DNS over TCP answered here: the framing of the client's queries. */
  framer: DnsTcpFramer | undefined = undefined;
  /** Who sent the first FIN on the tun side: true the client (our side closes passively), false us. */
  clientFin: boolean | undefined = undefined;
  // RelayFlow
  cs: NativeSocket | undefined = undefined;
  us: NativeSocket | undefined = undefined;
  phase = 0;
  hs: RelayFlow["hs"] = undefined;
  head: Uint8Array | undefined = undefined;
  qc: Uint8Array[] | undefined = undefined;
  qu: Uint8Array[] | undefined = undefined;
  finc: boolean | undefined = undefined;
  finu: boolean | undefined = undefined;
  uclosed: boolean | undefined = undefined;
  uerr: string | undefined = undefined;
  cclosed: boolean | undefined = undefined;
  /** Answered here (DNS over TCP in fake-ip mode), not through the proxy. */
  local: boolean | undefined = undefined;
  /** The SYN went to the listener when the dial began, not when the proxy answered. */
  early: boolean | undefined = undefined;
  deadline = 0;
  /** The name a fake-ip destination stands for (undefined: the destination is its address). */
  name: string | undefined = undefined;

  constructor(
    readonly id: number,
    private readonly table: FlowTable,
    syn: Uint8Array,
    readonly seq: number,
    now: number,
    private readonly names: { who: string; where: string },
  ) {
    this.syn = syn;
    this.t0 = now;
    this.last = now;
  }

  /** The proxy, for the relay's messages. */
  get who(): string {
    return this.names.who;
  }
  get where(): string {
    return this.names.where;
  }
  /** The client's address and port, the destination's (from the NAT row). */
  get srcText(): string {
    return formatAddrAt(this.table.src, this.id * 16, this.table.family[this.id] as 4 | 6);
  }
  get dstText(): string {
    return formatAddrAt(this.table.dst, this.id * 16, this.table.family[this.id] as 4 | 6);
  }
  get sport(): number {
    return this.table.sport[this.id]!;
  }
  get dport(): number {
    return this.table.dport[this.id]!;
  }
  /** Where the proxy is asked to connect: the fake-ip name, or the destination address. */
  get target(): Target {
    return { host: this.name ?? this.dstText, port: this.dport };
  }

  /** "198.18.0.1:40000": the client, for log lines. */
  get client(): string {
    return formatTarget({ host: this.srcText, port: this.sport });
  }
}

/**
 * How long a finished flow keeps its NAT entry after the last segment that crossed it (its
 * last segments: the final ACK or FIN, and the retransmissions of what the tun dropped). The
 * relay closes its fds once both FINs passed, but the kernel keeps sending what the client has
 * not acknowledged (the last answer, the FIN) from the orphaned socket, with a backed-off
 * retransmission timer: an entry gone after 2 s (1-2 s with the sweep's clock) dropped those,
 * and a half-closed client that lost the answer in a burst of tun drops waited for ever
 * (proxy-splice's "200 flows at once" with early open at load 11-13: the answer's first copy
 * dropped in the tun's queue, its retransmissions 1.3 s later and on dropped here). Past it,
 * an entry whose connection the kernel still retransmits on stays (Tunnel.kernelSweep): a
 * backed-off timer can leave more than this between two retransmissions. Its (id, listener)
 * pair sits out TIME_WAIT apart from that ({@link TcpRedirect.coolDown}), so the id itself is
 * free again after this: 65,536 ids / 10 s still allows 6,500 new flows a second.
 */
const LINGER_MS = 10_000;
/** TIME_WAIT of our side (Linux: 60 s) when it closed first; a passive close waits a little for lost ACKs. */
const TIME_WAIT_MS = 60_000;
const PASSIVE_COOL_MS = 5_000;
/** Listeners per family: an (id, listener) pair in TIME_WAIT leaves the id usable with the others. */
const LISTENERS = 4;
/** How long a dialled flow waits for the kernel to hand over its connection (longer while the kernel still holds it). */
const ACCEPT_MS = 10_000;
/** Kernel socket lookups per sweep (~1 µs each in batches): a mass close spreads over sweeps. */
const SWEEP_LOOKUPS = 4096;
const NO_BYTES = new Uint8Array(0);
/** Bytes toward the client during which data written to the accepted socket kicks the tun's reader (TunQueue.kick). */
const KICK_BYTES = 64 << 10;
/** File descriptors kept free beyond those open at start (DNS over TCP, health probes, metrics). */
const FD_HEADROOM = 8;

function openFds(): number {
  try {
    return readdirSync("/proc/self/fd").length;
  } catch {
    return 64;
  }
}

/** RLIMIT_NOFILE's soft limit, from /proc/self/limits (65536 when unknown). */
function openFilesLimit(): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"));
    return m && m[1] !== "unlimited" ? Number(m[1]) : 1 << 20;
  } catch {
    return 65536;
  }
}

function bytesOf(addr: string): Uint8Array {
  return parseIp(addr);
}

/**
 * A running tun2socks / tun2http tunnel on one tun queue.
 *
 * @example
 * ```ts
 * import { Tunnel, Socks5Dialer, parseProxyUrl } from "../proxy/mod.ts";
 * import { openTun } from "../tun/mod.ts";
 * const tun = openTun({ name: "tun0" }); // up, with 198.18.0.1/30, routes into it
 * const t = new Tunnel({ tun, dialer: new Socks5Dialer(parseProxyUrl("socks5://192.0.2.2:1080", "socks5")), udp: "socks",
 *   v4: { address: "198.18.0.1", fakePeer: "198.18.0.2" } });
 * await t.start();
 * // ... later
 * await t.stop();
 * console.log(t.stats.toJSON());
 * ```
 */
export class Tunnel {
  /** Counters. */
  readonly stats = new TunnelStats();
  /** The TCP redirect (NAT and listeners). */
  readonly redirect: TcpRedirect;
  private readonly opts: TunnelOptions;
  private readonly udp: UdpRelay;
  private readonly flows: Array<TcpFlow | undefined> = new Array(65536);
  private readonly servers: net.Server[] = [];
  /** Bun's sockets for TCP (undefined: node:net). */
  private readonly relay: NativeRelay | undefined;
  /** A new flow's SYN goes to the listener when its dial begins (either native relay), not once the proxy answered. */
  private readonly earlyOpen: boolean;
  private readonly listeners: Array<{ stop(): void }> = [];
  /** The proxy, named once for every flow's messages. */
  private readonly names: { who: string; where: string };
  private abort = new AbortController();
  private loop: Promise<void> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private clock = Date.now();
  private readonly fake4: string | undefined;
  private readonly fake6: string | undefined;
  private readonly rand: (() => number) | undefined;
  /** RLIMIT_NOFILE (soft) at start. */
  private readonly fdLimit = openFilesLimit();
  /** Fds kept for everything but flows: those open once the tunnel runs, plus some headroom. */
  private fdReserve = 64;
  private held: Uint8Array | undefined;
  /** The sweep's entries for the kernel's word (reused), and where the next capped sweep starts. */
  private readonly asks: number[] = [];
  /** An accepted connection's peer (Bun relay). */
  private readonly peer: Peer = { address: "", port: 0 };
  private sweepFrom = 0;
  private fatalResolve: ((e: Error) => void) | undefined;
  /** The UDP data path's worker, when it runs ({@link TunnelOptions.udpWorker}). */
  private fast: UdpFastPath | undefined;
  /** The packet being handled came from the worker's queue. */
  private fromFast = false;
  /**
   * Settles (never rejects) with the error that ended the tunnel from within — the tun device
   * deleted (`DeviceClosedError` "deleted"), a read error — and never when {@link stop} ends it.
   * A service stops on it, removes its rules and exits non-zero.
   */
  readonly fatal: Promise<Error> = new Promise((r) => (this.fatalResolve = r));
  /** vnet_hdr size (0: none). */
  private readonly hdr: number;
  /** The packet after the vnet header, for the last buffer seen (the tun's reused one). */
  private bodyOf: Uint8Array | undefined;
  private body: Uint8Array = new Uint8Array(0);
  /** Generated packets (RST, UDP, ICMP) get a zeroed vnet header here before the write. */
  private out: Uint8Array | undefined;

  /**
   * A tunnel on `opts.tun` (started by start()).
   *
   * @param opts The tun queue, the dialer, UDP and DNS handling, families and limits.
   */
  constructor(opts: TunnelOptions) {
    if (!opts.v4 && !opts.v6) throw new UsageError("A tunnel needs an IPv4 or IPv6 address on the tun");
    if (opts.udp === "socks" && !("associate" in opts.dialer)) throw new UsageError('UDP mode "socks" needs a SOCKS5 proxy');
    if (opts.dns === "fake-ip" && !opts.pool) throw new UsageError('DNS mode "fake-ip" needs a fake-ip pool');
    if (opts.pool6 && !opts.v6) throw new UsageError("An IPv6 fake-ip pool needs an IPv6 address on the tun");
    this.opts = opts;
    this.hdr = opts.vnetHdr ?? 0;
    if (!(Number.isInteger(this.hdr) && this.hdr >= 0 && this.hdr <= 64)) throw new UsageError(`Invalid vnet header size "${opts.vnetHdr}": expected 0..64`);
    this.fake4 = opts.v4?.fakePeer;
    this.fake6 = opts.v6?.fakePeer;
    this.redirect = new TcpRedirect({
      tun4: opts.v4 && bytesOf(opts.v4.address),
      fake4: opts.v4 && bytesOf(opts.v4.fakePeer),
      tun6: opts.v6 && bytesOf(opts.v6.address),
      fake6: opts.v6 && bytesOf(opts.v6.fakePeer),
    });
    this.udp = new UdpRelay(
      {
        writePacket: (p) => {
          this.writeBare(p);
          // an answer: a query/answer client asks again at once (TunQueue.expect: the tun's
          // reader waits for it in an epoll_wait, not for the signal)
          this.opts.tun.expect();
        },
        stats: this.stats,
        error: (l, kind) => this.error(l, kind),
        admit: () => this.admit(),
        now: () => this.clock,
        fdRoom: () => this.fdLimit - this.fdReserve - this.sessions * 2,
      },
      {
        mode: opts.udp,
        socks: opts.udp === "socks" ? (opts.dialer as Socks5Dialer) : undefined,
        tcp: opts.dialer,
        dns: opts.dns,
        pool: opts.pool,
        pool6: opts.pool6,
        idleMs: opts.udpIdleMs,
        connectTimeoutMs: opts.connectTimeoutMs,
      },
    );
    const u = opts.dialer.url;
    this.names = {
      where: u.host.includes(":") ? `[${u.host}]:${u.port}` : `${u.host}:${u.port}`,
      who: `${u.scheme === "http" ? "HTTP" : "SOCKS5"} proxy ${formatTarget(u)}`,
    };
    const want = opts.sockets ?? (globalThis.process?.env?.TUNKIT_TCP_SOCKETS as "bun" | "node" | undefined);
    const native = want === "bun" || (want !== "node" && NativeRelay.available());
    if (native && typeof opts.dialer.handshake === "function") this.relay = new NativeRelay(this.relayHost(), opts.connectTimeoutMs ?? 10_000);
    // Both native relays (NativeRelay's constructor returns an FdRelay for the splice relay).
    // The splice relay's hang in proxy-splice's "200 flows at once" with early open was a NAT
    // entry freed while the kernel still retransmitted on its connection (see kernelSweep).
    this.earlyOpen = this.relay !== undefined;
    if (opts.impair && ((opts.impair.loss ?? 0) > 0 || (opts.impair.reorder ?? 0) > 0)) this.rand = mulberry32(opts.impair.seed ?? 1);
  }

  /** Listener ports (IPv4, IPv6), 0 when not listening. */
  get ports(): { v4: number; v6: number } {
    return { v4: this.redirect.port4, v6: this.redirect.port6 };
  }

  /** Binds the listeners and starts reading the tun. */
  async start(): Promise<void> {
    const ports: Record<4 | 6, number[]> = { 4: [], 6: [] };
    for (const [fam, f] of [[4, this.opts.v4], [6, this.opts.v6]] as const) {
      if (!f) continue;
      for (let i = 0; i < LISTENERS; i++) {
        const j = i;
        if (this.relay) {
          const l = this.relay.listen(f.address, j);
          ports[fam].push(l.port);
          this.listeners.push(l);
          continue;
        }
        const srv = nodeNet().createServer({ allowHalfOpen: true, pauseOnConnect: true }, (s) => this.onAccept(s, j));
        await new Promise<void>((resolve, reject) => {
          srv.once("error", reject);
          srv.listen({ host: f.address, port: 0, backlog: 4096 }, () => {
            srv.off("error", reject);
            resolve();
          });
        });
        srv.on("error", (e) => this.error(`listener ${f.address}: ${e.message}`, "listener"));
        ports[fam].push((srv.address() as net.AddressInfo).port);
        this.servers.push(srv);
      }
    }
    this.redirect.setPorts(ports[4], ports[6]);
    const socks = this.opts.dialer as Partial<Socks5Dialer>;
    if (socks.learnsPipelining) {
      // Learnt once, beside the first flows: until then (and for ever with a proxy that does not
      // read past the greeting, like microsocks) a handshake takes two round trips.
      socks.onPipelining = (on) => {
        if (!this.abort.signal.aborted) this.debug(`${this.names.who} ${on ? "reads a CONNECT sent behind the greeting: one round trip per connection" : "does not read a request sent behind the greeting: two round trips per connection"}`);
      };
      void socks.learnPipelining!();
    }
    this.debug(`tcp: relayed through ${!this.relay ? "node:net" : NativeRelay.kind() === "splice" ? "splice(2) on tunkit's own sockets" : "Bun's sockets"}`);
    this.fdReserve = openFds() + FD_HEADROOM;
    this.timer = setInterval(() => this.sweep(), 1000);
    (this.timer as { unref?: () => void }).unref?.();
    this.startFast();
    this.loop = this.opts.tun.listen((b, n) => this.onPacket(b, n), { signal: this.abort.signal });
    this.loop.then(
      () => {
        // listen() returns quietly when its fd was closed under it: outside stop() that is fatal too.
        if (!this.abort.signal.aborted) this.fatalResolve?.(new TunkitError(`Device "${this.opts.tun.name}" was closed under the tunnel`));
      },
      (e: Error) => {
        if (!this.abort.signal.aborted) this.fatalResolve?.(e);
      },
    );
  }

  /** Brings {@link stats} up to date with what the UDP worker counted (its counters are read in the sweep, once a second, and here). */
  syncStats(): void {
    this.fast?.pull(this.stats);
  }

  /** Starts the UDP worker on a second queue when asked and possible; otherwise says why at debug. */
  private startFast(): void {
    const o = this.opts;
    const dev = o.tun;
    if (!o.udpWorker || o.udp !== "socks" || o.impair || !(dev instanceof TunDevice) || !dev.flags.multiQueue) return;
    try {
      this.fast = UdpFastPath.start(dev, this.hdr, o.dns ? [53] : [], {
        packet: (b) => {
          this.fromFast = true;
          try {
            this.onPacket(b, b.length);
          } finally {
            this.fromFast = false;
          }
        },
        fatal: (why) => {
          if (!this.abort.signal.aborted) this.fatalResolve?.(new TunkitError(`UDP stopped: ${why}`, "the tunnel stops rather than let UDP go unread; set TUNKIT_UDP_WORKER=0 to keep UDP on the main thread"));
        },
      });
      this.udp.fast = this.fast;
      this.debug("udp: on its own tun queue and thread (steering program attached)");
    } catch (e) {
      this.debug(`udp: on the main thread (its own queue was refused: ${(e as Error).message})`);
    }
  }

  /** Stops reading, closes the listeners and every flow. Idempotent. */
  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const s of this.servers.splice(0)) s.close();
    for (const l of this.listeners.splice(0)) l.stop();
    for (let id = 0; id < this.flows.length; id++) {
      const f = this.flows[id];
      if (f) this.closeFlow(f, true);
    }
    this.udp.closeAll();
    this.fast?.stop();
    this.relay?.close();
    await this.loop?.catch(() => {});
  }

  /** Counts and reports one error of `kind`. */
  private error(line: string, kind = "other"): void {
    this.stats.countError(kind);
    if (this.opts.log) this.opts.log.error(kind, line);
    else this.opts.onError?.(line);
  }

  /** Writes a debug line. */
  private debug(line: string): void {
    this.opts.log?.debug(line);
  }

  /** Flows open now (TCP and UDP). */
  get sessions(): number {
    return this.stats.tcpActive + this.stats.udpActive;
  }

  /** Whether one more flow may open: --max-sessions, and 2 fds per flow below the open-files limit. */
  private admit(): boolean {
    const max = this.opts.maxSessions ?? 0;
    const n = this.sessions;
    if (max > 0 && n + 1 > max) {
      this.stats.sessionLimit++;
      this.opts.log?.warn("limit", `--max-sessions ${max} reached: new flows are refused until some close`);
      return false;
    }
    if ((n + 1) * 2 + this.fdReserve > this.fdLimit) {
      this.stats.sessionLimit++;
      this.error(`the open-files limit (${this.fdLimit}) allows no more flows: new flows are refused until some close (raise LimitNOFILE= / ulimit -n, or set --max-sessions)`, "emfile");
      return false;
    }
    return true;
  }

  /** Writes a packet into the tun, counting it. */
  private write(b: Uint8Array, len: number): void {
    try {
      this.opts.tun.write(b, 0, len);
      this.stats.packetsOut++;
      // The packet reached its socket within the write: the relay looks once at the turn's end.
      this.relay?.tunWritten();
    } catch (e) {
      this.stats.dropped++;
      if (!this.abort.signal.aborted) this.error(`tun write: ${(e as Error).message}`, "tun-write");
    }
  }

  /** Writes a packet of ours (no vnet header yet) into the tun. */
  private writeBare(p: Uint8Array): void {
    const h = this.hdr;
    if (h === 0) {
      this.write(p, p.length);
      return;
    }
    const out = (this.out ??= new Uint8Array(MAX_PACKET));
    if (p.length + h > out.length) {
      this.stats.dropped++;
      return;
    }
    out.fill(0, 0, h);
    out.set(p, h);
    this.write(out, h + p.length);
  }

  /** One packet from the tun (test impairment first); true asks the reader for a loop turn (onSyn). */
  private onPacket(b: Uint8Array, len: number): boolean {
    this.stats.packetsIn++;
    if (this.rand && this.impaired(b, len)) return false;
    return this.handle(b, len);
  }

  /** Test impairment: true when the packet was dropped or held back. */
  private impaired(b: Uint8Array, len: number): boolean {
    const r = this.rand!();
    const loss = this.opts.impair?.loss ?? 0;
    const reorder = this.opts.impair?.reorder ?? 0;
    if (r < loss) {
      this.stats.dropped++;
      return true;
    }
    if (!this.held && r < loss + reorder) {
      this.held = b.slice(0, len);
      return true;
    }
    if (this.held) {
      const h = this.held;
      this.held = undefined;
      this.handle(b, len);
      this.handle(h, h.length);
      return true;
    }
    return false;
  }

  /** Routes one packet: TCP to the redirect, UDP to the relay, the rest dropped or refused. */
  private handle(b: Uint8Array, len: number): boolean {
    const r = this.redirect;
    const h = this.hdr;
    let body = b;
    let partial = false;
    if (h > 0) {
      if (len < h) {
        this.stats.dropped++;
        return false;
      }
      // VIRTIO_NET_HDR_F_NEEDS_CSUM: the transport checksum is partial.
      partial = (b[0]! & 1) !== 0;
      if (b !== this.bodyOf) {
        this.bodyOf = b;
        this.body = b.subarray(h);
      }
      body = this.body;
      len -= h;
    }
    const verdict = r.process(body, len, this.clock, partial);
    switch (verdict) {
      case VERDICT.WRITE:
        // A finished flow's late segments keep its entry (LINGER_MS after the last one).
        if (r.table.state[r.lastId] === FLOW.CLOSED) r.table.stamp[r.lastId] = this.clock;
        this.write(b, h + r.view.end);
        return false;
      case VERDICT.NEW:
        return this.onSyn(b, h + r.view.end, r.lastId, body);
      case VERDICT.RESET: {
        const rst = tcpResetFor(body, len);
        if (rst) {
          this.stats.resets++;
          this.writeBare(rst);
        }
        return false;
      }
      case VERDICT.UDP:
        this.udp.onPacket(body, r.view, this.fromFast);
        // its answer comes through the event loop, the flow's next datagram through the tun:
        // the reader's next wait lingers for both (TunQueue.expect)
        this.opts.tun.expect();
        return false;
      default:
        this.stats.dropped++;
        return false;
    }
  }

  /** `b[0..end)`: the rewritten SYN with its vnet header (if any); `body`: the IP packet in it. */
  private onSyn(b: Uint8Array, end: number, id: number, body: Uint8Array): boolean {
    const t = this.redirect.table;
    const fam = t.family[id] as 4 | 6;
    const v = this.redirect.view;
    const l4 = v.l4;
    const seq = ((body[l4 + 4]! << 24) | (body[l4 + 5]! << 16) | (body[l4 + 6]! << 8) | body[l4 + 7]!) >>> 0;
    const dport = t.dport[id]!;
    const flow = new TcpFlow(id, t, b.slice(0, end), seq, this.clock, this.names);
    const admitted = this.admit();
    this.flows[id] = flow;
    this.stats.tcpTotal++;
    this.stats.tcpActive++;
    if (!admitted) {
      this.failFlow(flow, "refused: session limit", true);
      return false;
    }
    if (dport === 53 && this.opts.dns === "fake-ip" && this.opts.pool) {
      // DNS over TCP is answered here like DNS over UDP: the query never leaves.
      flow.local = true;
      t.state[id] = FLOW.READY;
      t.stamp[id] = this.clock;
      this.write(flow.syn, flow.syn.length);
      return false;
    }
    const pool = fam === 4 ? this.opts.pool : this.opts.pool6;
    if (pool && pool.containsAt(t.dst, id * 16)) {
      const dstText = flow.dstText;
      const name = pool.nameFor(dstText);
      if (name === undefined) {
        this.failFlow(flow, `${dstText} is a fake-ip address that stands for no name (expired?)`);
        return false;
      }
      flow.name = name;
    }
    const target = flow.target;
    const dialStart = performance.now();
    const relay = this.relay;
    if (relay) {
      const d = this.opts.dialer;
      flow.dialStart = dialStart;
      relay.dial(flow, d.url.host, d.url.port, d.handshake!(target), d.so);
      // The client's handshake completes now, while the proxy is dialled (as hev-socks5-tunnel
      // does): a connection costs one proxy round trip less. What the client sends meanwhile
      // waits in the relay; a proxy failure resets the connection (failed). Both relays (see
      // earlyOpen), with --fwmark/--bind-interface (auto-route) too, since the Bun relay no
      // longer sends a client's early bytes on the drain Bun signals for an adopted fd.
      if (!this.earlyOpen) return false;
      if (this.flows[id] !== flow || t.state[id] !== FLOW.CONNECTING) return false; // failed at once
      t.state[id] = FLOW.READY;
      t.stamp[id] = this.clock;
      flow.early = true;
      this.write(flow.syn, flow.syn.length);
      flow.syn = NO_BYTES;
      // The proxy's SYN-ACK is usually back by now (a veth answers within connect()'s softirq):
      // one loop turn sends the greeting before the client's handshake, which that write just
      // started, is read from the tun. Read first, it put 150-355 µs between the proxy's
      // connect and the greeting (hev: 15), on every connection's critical path.
      return true;
    }
    this.opts.dialer.connect(target, { timeoutMs: this.opts.connectTimeoutMs }).then(
      (ps) => {
        if (this.flows[id] !== flow || this.abort.signal.aborted) {
          ps.socket.destroy();
          return;
        }
        const ms = performance.now() - dialStart;
        this.stats.observeHandshake(ms);
        if (this.opts.log?.debugOn) this.debug(`tcp ${flow.client} -> ${formatTarget(flow.target)}: proxy connected in ${ms.toFixed(1)} ms`);
        flow.proxy = ps;
        ps.socket.on("error", () => {}); // until piped
        t.state[id] = FLOW.READY;
        t.stamp[id] = this.clock;
        this.write(flow.syn, flow.syn.length);
        flow.syn = NO_BYTES;
      },
      (e: Error & { reason?: string }) => {
        if (this.flows[id] !== flow) return;
        this.failFlow(flow, e.message, false, e.reason ? `proxy-${e.reason}` : "proxy");
      },
    );
    return false;
  }

  /** The tunnel's side of the native relay's events. */
  private relayHost(): RelayHost {
    const st = this.stats;
    const tun = this.opts.tun;
    const t = this.redirect.table;
    const byFd = NativeRelay.kind() === "bun";
    // peerOf's getpeername is bound now (a dlopen), not on the first connection's path.
    if (byFd) rawSplice();
    return {
      writesTun: true,
      error: (line, kind) => this.error(line, kind),
      ready: (rf) => {
        const flow = rf as TcpFlow;
        const id = flow.id;
        if (this.flows[id] !== flow || this.abort.signal.aborted) {
          this.relay!.destroy(flow);
          return;
        }
        const ms = performance.now() - flow.dialStart;
        st.observeHandshake(ms);
        if (this.opts.log?.debugOn) this.debug(`tcp ${flow.client} -> ${formatTarget(flow.target)}: proxy connected in ${ms.toFixed(1)} ms`);
        if (flow.early) return; // the client's SYN went through when the dial began
        t.state[id] = FLOW.READY;
        t.stamp[id] = this.clock;
        // The listener's SYN-ACK comes back through the tun within this write: read it then.
        tun.kick();
        this.write(flow.syn, flow.syn.length);
        flow.syn = NO_BYTES;
      },
      failed: (rf, e) => {
        const flow = rf as TcpFlow;
        const id = flow.id;
        if (this.flows[id] !== flow) return;
        if (!flow.early) {
          if (t.state[id] === FLOW.CONNECTING) this.failFlow(flow, e.message, false, `proxy-${e.reason}`);
          return;
        }
        if (t.state[id] === FLOW.CLOSED) return; // the client left first
        // The client's connection is open (or about to be accepted): the relay resets it once it
        // is accepted, and that RST reaches the client through this flow's NAT row, which
        // lingers like a closed flow's.
        this.stats.tcpFailed++;
        this.error(`tcp ${flow.client} -> ${formatTarget(flow.target)}: failed: ${e.message}`, `proxy-${e.reason}`);
        this.stats.tcpActive--;
        t.state[id] = FLOW.CLOSED;
        t.stamp[id] = this.clock;
      },
      accept: (s: NativeSocket, j: number) => {
        // The peer in one getpeername (Bun's socket makes one per property); the splice relay's
        // socket has it from accept4.
        const peer = this.peer;
        if (!byFd) {
          peer.port = s.remotePort;
          peer.address = s.remoteAddress;
        } else if (!peerOf((s as { fd?: number }).fd ?? -1, peer)) return undefined;
        const id = peer.port;
        const flow = this.flows[id];
        // An early flow is accepted while its proxy is still dialled; a failed one is CLOSED (reset).
        if (!flow || t.state[id] !== FLOW.READY || !(flow.us || flow.local || flow.early) || this.redirect.listener[id] !== j) return undefined;
        if (peer.address !== this.fake4 && peer.address !== this.fake6) return undefined;
        t.state[id] = FLOW.OPEN;
        t.stamp[id] = this.clock;
        if (flow.local) flow.framer = new DnsTcpFramer();
        return flow;
      },
      bytes: (rf, up, n) => {
        const flow = rf as TcpFlow;
        flow.last = this.clock;
        if (up) {
          st.bytesUp += n;
          flow.up += n;
        } else {
          // The relay writes them to the accepted socket next: its segments come out of the tun
          // within that write while the window is open, as it is for a flow's first bytes. A
          // bulk flow's later writes mostly wait for the client's ACKs, so a kick there would
          // often find nothing (an empty read and a re-arm): the reader's recheck serves it.
          if (flow.down < KICK_BYTES) tun.kick();
          st.bytesDown += n;
          flow.down += n;
        }
      },
      upError: (rf, code) => {
        const flow = rf as TcpFlow;
        if (code === "ECONNRESET" || code === "EPIPE") {
          st.farResets++;
          if (this.opts.log?.debugOn) this.debug(`tcp ${flow.client} -> ${formatTarget(flow.target)}: reset by the far end`);
        } else this.error(`tcp ${flow.client} -> ${formatTarget(flow.target)}: proxy connection: ${code}`, "proxy-connection");
      },
      fin: (rf, client) => {
        (rf as TcpFlow).clientFin ??= client;
        if (!client) tun.kick(); // the relay shuts the accepted socket down next: a FIN into the tun
      },
      closed: (rf) => this.closeFlow(rf as TcpFlow, false),
      localData: (rf, d) => {
        const flow = rf as TcpFlow;
        for (const q of flow.framer!.push(d)) {
          const { response } = answerFakeIp(q, this.opts.pool!, this.opts.pool6);
          st.dnsQueries++;
          st.dnsFake++;
          if (response.length) this.relay!.writeClient(flow, frameDnsTcp(response));
        }
      },
    };
  }

  /** Reports a failed flow (unless `quiet`: already reported), answers its SYN with a RST, frees it. */
  private failFlow(flow: TcpFlow, why: string, quiet = false, kind = "proxy"): void {
    this.stats.tcpFailed++;
    if (!quiet) this.error(`tcp ${flow.client} -> ${formatTarget(flow.target)}: failed: ${why}`, kind);
    else if (this.opts.log?.debugOn) this.debug(`tcp ${flow.client} -> ${formatTarget(flow.target)}: ${why}`);
    const rst = buildTcp({
      src: flow.dstText, dst: flow.srcText, srcPort: flow.dport, dstPort: flow.sport, seq: 0, ack: (flow.seq + 1) >>> 0, flags: "R.", window: 0,
    });
    this.stats.resets++;
    this.writeBare(rst);
    this.flows[flow.id] = undefined;
    this.redirect.table.remove(flow.id);
    this.stats.tcpActive--;
  }

  /** A connection accepted on listener `j` (of its family). */
  private onAccept(sock: net.Socket, j: number): void {
    const id = sock.remotePort ?? -1;
    const addr = (sock.remoteAddress ?? "").replace(/^::ffff:/, "");
    const flow = id >= 0 ? this.flows[id] : undefined;
    const t = this.redirect.table;
    if (!flow || (addr !== this.fake4 && addr !== this.fake6) || t.state[id] !== FLOW.READY || !(flow.proxy || flow.local) || this.redirect.listener[id] !== j) {
      sock.on("error", () => {});
      sock.resetAndDestroy();
      return;
    }
    t.state[id] = FLOW.OPEN;
    t.stamp[id] = this.clock;
    flow.socket = sock;
    if (flow.local) this.serveDns(flow, sock);
    else this.pipe(flow, sock, flow.proxy!);
  }

  /** Answers DNS over TCP (RFC 1035 4.2.2 framing) from the fake-ip pools on an accepted flow. */
  private serveDns(flow: TcpFlow, sock: net.Socket): void {
    const st = this.stats;
    const framer = new DnsTcpFramer();
    sock.on("data", (d: Uint8Array) => {
      for (const q of framer.push(d)) {
        const { response } = answerFakeIp(q, this.opts.pool!, this.opts.pool6);
        st.dnsQueries++;
        st.dnsFake++;
        if (response.length) sock.write(frameDnsTcp(response));
      }
    });
    sock.on("end", () => sock.end());
    sock.on("error", () => {});
    sock.on("close", () => this.closeFlow(flow, false));
    sock.resume();
  }

  /** Relays bytes both ways between a client and its proxy stream. */
  private pipe(flow: TcpFlow, client: net.Socket, ps: ProxyStream): void {
    const up = ps.socket;
    const st = this.stats;
    client.setNoDelay(true);
    if (ps.head.length) {
      st.bytesDown += ps.head.length;
      client.write(ps.head);
    }
    client.on("data", (d: Uint8Array) => {
      st.bytesUp += d.length;
      flow.up += d.length;
      flow.last = this.clock;
      if (!up.write(d)) client.pause();
    });
    up.on("drain", () => client.resume());
    up.on("data", (d: Uint8Array) => {
      st.bytesDown += d.length;
      flow.down += d.length;
      flow.last = this.clock;
      if (!client.write(d)) up.pause();
    });
    client.on("drain", () => up.resume());
    client.on("end", () => {
      flow.clientFin ??= true;
      up.end();
    });
    up.on("end", () => {
      flow.clientFin ??= false; // we close first: our side ends in TIME_WAIT
      client.end();
    });
    up.removeAllListeners("error");
    up.on("error", (e: Error & { code?: string }) => {
      // A reset from the far end (passed on by the proxy) is how many connections end: count it,
      // pass it on to the client, and say so only at debug level.
      if (e.code === "ECONNRESET" || e.code === "EPIPE") {
        st.farResets++;
        if (this.opts.log?.debugOn) this.debug(`tcp ${flow.client} -> ${formatTarget(flow.target)}: reset by the far end`);
      } else this.error(`tcp ${flow.client} -> ${formatTarget(flow.target)}: proxy connection: ${e.code ?? e.message}`, "proxy-connection");
      client.resetAndDestroy();
    });
    client.on("error", () => up.destroy());
    client.on("close", () => {
      up.destroy();
      this.closeFlow(flow, false);
    });
    up.on("close", (hadError: boolean) => {
      if (hadError) client.resetAndDestroy();
      else if (!client.writableEnded) client.end();
    });
    client.resume();
    up.resume();
  }

  /** Marks a flow finished: its NAT port lingers (late segments, TIME_WAIT) until the sweep frees it. */
  private closeFlow(flow: TcpFlow, destroy: boolean): void {
    const t = this.redirect.table;
    if (this.flows[flow.id] !== flow) return;
    if (destroy) {
      if (this.relay) this.relay.destroy(flow, false);
      flow.socket?.destroy();
      flow.proxy?.socket.destroy();
    }
    if (t.state[flow.id] === FLOW.CLOSED) return;
    this.stats.tcpActive--;
    if (flow.clientFin !== undefined) this.redirect.coolDown(flow.id, this.clock, flow.clientFin ? PASSIVE_COOL_MS : TIME_WAIT_MS);
    if (this.opts.log?.debugOn) {
      const secs = ((this.clock - flow.t0) / 1000).toFixed(0);
      this.debug(`tcp ${flow.client} -> ${formatTarget(flow.target)}: closed after ~${secs} s, up ${flow.up} B, down ${flow.down} B`);
    }
    t.state[flow.id] = FLOW.CLOSED;
    t.stamp[flow.id] = this.clock;
    flow.proxy = undefined;
    flow.socket = undefined;
  }

  /** Closes idle flows, frees finished and never-accepted flows' entries as the kernel's sockets go. */
  private sweep(): void {
    this.clock = Date.now();
    const now = this.clock;
    const t = this.redirect.table;
    const seen = this.redirect.seen;
    const idle = this.opts.tcpIdleMs ?? 300_000;
    const ask = this.asks;
    ask.length = 0;
    t.forEach((id) => {
      const st = t.state[id];
      const age = now - t.stamp[id]!;
      if (st === FLOW.OPEN && idle > 0) {
        const f = this.flows[id];
        if (f && now - f.last > idle) {
          this.stats.idleClosed++;
          if (this.opts.log?.debugOn) this.debug(`tcp ${f.client} -> ${formatTarget(f.target)}: idle for ${Math.round(idle / 1000)} s, closed`);
          if (this.relay) this.relay.destroy(f);
          f.socket?.resetAndDestroy();
          f.proxy?.socket.destroy();
        }
        return;
      }
      // A finished flow past its linger, or one whose end never crossed the tun (the listener's
      // FIN or the client's RST: SEEN.END), and a dialled flow the kernel has not handed over in ACCEPT_MS: the kernel's
      // socket decides (kernelSweep).
      if (st === FLOW.CLOSED ? age > LINGER_MS || (seen[id]! & (SEEN.SYN | SEEN.END)) === SEEN.SYN : st === FLOW.READY && age > ACCEPT_MS) ask.push(id);
    });
    if (ask.length) {
      const t0 = performance.now();
      const n = this.kernelSweep(ask, now);
      if (n >= 256 && this.opts.log?.debugOn) this.debug(`sweep: ${n} of ${ask.length} entries asked about in ${(performance.now() - t0).toFixed(1)} ms`);
    }
    this.udp.sweep(now);
  }

  /**
   * The sweep's entries whose fate is the kernel's socket for their connection (the listener's
   * side, `T:L <-> F:id`), looked up in batches (ffi/sock-diag.ts: ~1 µs each against ~110 at
   * load 17 one at a time; at most {@link SWEEP_LOOKUPS} per sweep, the rest in the next ones):
   *
   * - A finished flow past its linger is freed, unless the kernel still sends on its socket: it
   *   was closed with an answer or a FIN not yet acknowledged (LAST-ACK, CLOSING, FIN-WAIT-1), and
   *   its retransmissions must still reach the client. Under a burst the tun's queue drops
   *   segments, the orphan's retransmission timer backs off (3 s after a lost SYN-ACK, then 6, 12
   *   s...), and a fixed linger ran out between two retransmissions: the half-closed client, that
   *   has nothing to send, waited for ever (proxy-splice's "200 flows at once" with early open;
   *   seen with the linger at 1.5 s as a LAST-ACK orphan with 65 bytes queued, rto 20 s, and no
   *   entry). Such an entry lingers on and is asked about again at its next expiry; the kernel
   *   gives up on an orphan in minutes.
   * - A finished flow whose socket is gone while its end (the listener's FIN or RST) never
   *   crossed the tun: the kernel reset it (the proxy failed after an early accept, an idle or
   *   a far end's reset) and the RST was lost on its way out (the tun's queue drops under a
   *   burst), and RSTs are not retransmitted: a client waiting for an answer would wait for
   *   ever. The client gets our RST, in its window (RFC 5961).
   * - A dialled flow not accepted after ACCEPT_MS stays while the kernel holds its connection
   *   (a request socket retransmitting its SYN-ACK, or one waiting in the accept queue while
   *   accept4 backs off for lack of fds): freeing it would leave that connection's segments
   *   without a NAT entry, its accept without a flow (reset, its RST dropped) and its id free for
   *   a new flow beside a live socket of the same 4-tuple.
   *
   * Without inet_diag the timers alone decide, as before. Returns the number of entries asked
   * about (a debug line says how long a sweep of 256 or more took).
   */
  private kernelSweep(ask: number[], now: number): number {
    const t = this.redirect.table;
    const r = this.redirect;
    const a = r.addrs;
    let ids = ask;
    if (ask.length > SWEEP_LOOKUPS) {
      const from = this.sweepFrom % ask.length;
      ids = ask.slice(from, from + SWEEP_LOOKUPS);
      if (ids.length < SWEEP_LOOKUPS) ids.push(...ask.slice(0, SWEEP_LOOKUPS - ids.length));
      this.sweepFrom = from + SWEEP_LOOKUPS;
    }
    const state = new Int8Array(ids.length);
    state.fill(-1);
    const diag = TcpDiag.open();
    if (diag) {
      try {
        for (const fam of [4, 6] as const) {
          const tun = fam === 4 ? a.tun4 : a.tun6;
          const fake = fam === 4 ? a.fake4 : a.fake6;
          const ports = fam === 4 ? r.ports4 : r.ports6;
          if (!tun || !fake) continue;
          const idx: number[] = [];
          const lports: number[] = [];
          for (let i = 0; i < ids.length; i++) {
            const id = ids[i]!;
            const port = t.family[id] === fam ? ports[r.listener[id]!] : undefined;
            if (port === undefined) continue;
            idx.push(i);
            lports.push(port);
          }
          if (idx.length === 0) continue;
          const out = new Int8Array(idx.length);
          diag.states(fam, tun, fake, lports, idx.map((i) => ids[i]!), idx.length, out);
          for (let k = 0; k < idx.length; k++) state[idx[k]!] = out[k]!;
        }
      } finally {
        diag.close();
      }
    }
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      const s = state[i]!; // a TCP state, 0: no socket, -1: unknown
      if (t.state[id] === FLOW.READY) {
        if (s > 0 && s !== TCP_STATE.TIME_WAIT && s !== TCP_STATE.CLOSE) {
          t.stamp[id] = now; // asked again in ACCEPT_MS
          continue;
        }
        const f = this.flows[id];
        if (f) {
          if (this.relay && f.us) f.us.terminate();
          f.proxy?.socket.destroy();
          this.error(`tcp ${f.client} -> ${formatTarget(f.target)}: the kernel never handed the connection over`, "accept");
          this.stats.tcpFailed++;
          this.stats.tcpActive--;
        }
        this.flows[id] = undefined;
        t.remove(id);
        continue;
      }
      // CLOSED
      // (its SYN-ACK crossed: sndNxt is valid, and the client is past SYN-SENT)
      if (s === 0 && (r.seen[id]! & (SEEN.SYN | SEEN.END)) === SEEN.SYN) {
        r.seen[id] = r.seen[id]! | SEEN.END;
        this.resetClient(id);
      }
      if (now - t.stamp[id]! <= LINGER_MS) continue;
      if (s > 0 && isSending(s)) {
        t.stamp[id] = now;
        continue;
      }
      this.flows[id] = undefined;
      t.remove(id);
    }
    return ids.length;
  }

  /** Our RST to flow `id`'s client, as its destination, in the client's window ({@link TcpRedirect.sndNxt}). */
  private resetClient(id: number): void {
    const t = this.redirect.table;
    const fam = t.family[id] as 4 | 6;
    const rst = buildTcp({
      src: formatAddrAt(t.dst, id * 16, fam), dst: formatAddrAt(t.src, id * 16, fam), srcPort: t.dport[id]!, dstPort: t.sport[id]!,
      seq: this.redirect.sndNxt[id]!, flags: "R", window: 0,
    });
    this.stats.resets++;
    this.writeBare(rst);
  }
}
