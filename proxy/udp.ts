/**
 * UDP for the tunnel: flows (source, source port, destination, destination port) go through
 * SOCKS5 UDP associations (a control connection each; their datagrams share one unconnected
 * socket while their relays' addresses differ, see {@link SharedSocket}): one per flow by
 * default, or (option `association: "source"`) one per source address and port — every datagram
 * names its destination, so a client that talks to many peers from one socket could cost one
 * association (RFC 1928 section 7), replies told apart by the address the relay reports. Not the
 * default: dante 1.4 relays only the first peer's replies on an association (seen in the
 * proxy-udp topology: the second peer's never came back). A flow to a name (fake-ip) always has
 * an association of its own, since the relay reports the address the name resolved to. Flows
 * close after an idle timeout, an association with its last flow. A new flow need not wait for
 * the proxy's handshake (a TCP connection and two round trips, seconds when a burst of new flows
 * meets a busy proxy): spare associations, opened ahead once new flows were seen, are taken at
 * once; their number follows the most new associations needed within one second over the last
 * ten (at most {@link UdpOptions.spares}), so spares close again ten seconds after new flows
 * stop. Over an HTTP proxy UDP is refused with an ICMP unreachable (administratively
 * prohibited), except DNS, which goes over TCP through the proxy. DNS queries can also be
 * answered locally from the fake-ip pools (A from the IPv4 pool, AAAA from the IPv6 one).
 *
 * When the tunnel runs UDP on a queue and thread of its own (udp-fast.ts, {@link UdpRelay.fast}),
 * the flows read from that queue arrive here only until their association is open: then their
 * datagrams both ways are the worker's (udp-worker.ts), and this side keeps the flow's
 * association, admission, idle timeout (from the worker's use counts) and counters.
 *
 * @module
 */
import { buildUdp } from "../packet/build.ts";
import { parseIp } from "../common/addr.ts";
import { HandshakeReader, type Dialer } from "./dial.ts";
import { answerFakeIp, dnsErrorResponse, DNS_RCODE, frameDnsTcp, type FakeIp6Pool, type FakeIpPool } from "./dns.ts";
import { FlowTable } from "./nat.ts";
import { openUdp, type UnconnectedUdp } from "../ffi/udp-socket.ts";
import { packSockaddrIn } from "../ffi/abi.ts";
import { GSO_BYTES, GSO_SEGMENTS, MultiSend } from "../ffi/mmsg.ts";
import { ERRNO, SysError } from "../ffi/errors.ts";
import { encodeSocksUdp, type Socks5Dialer, type SocksAssociation } from "./socks5.ts";
import { ARENA, BURST, finishUdpReply, socksUdpDataOffset } from "./udp-packet.ts";
import type { TunnelStats } from "./stats.ts";
import { formatAddrAt, icmpUnreachableFor, type PacketView } from "./tcp-redirect.ts";
import { formatTarget, type Target } from "./url.ts";
import type { UdpFastPath } from "./udp-fast.ts";
import { flowKey } from "./udp-worker.ts";

export { finishUdpReply, socksUdpDataOffset };

/** What the UDP side needs from its tunnel. */
export interface UdpHost {
  /** Writes a whole IP packet into the tun. */
  writePacket(p: Uint8Array): void;
  /** The tunnel's counters. */
  readonly stats: TunnelStats;
  /** Reports one failed flow (one line, no trailing newline); `kind` groups errors (metrics, rate limit). */
  error(line: string, kind?: string): void;
  /** Whether a new flow may open (session and open-files limits); refusing, it has said why. */
  admit(): boolean;
  /** The tunnel's clock, in ms. */
  now(): number;
  /**
   * File descriptors free beyond those the open flows may take (the open-files limit); spare
   * associations (2 fds each at most: the control connection, and a socket of its own when the
   * proxy relays every association on one port) take at most a quarter of them. Absent: no bound but the count.
   */
  fdRoom?(): number;
}

/** Options of {@link UdpRelay}. */
export interface UdpOptions {
  /** "socks": relay through UDP ASSOCIATE; "refuse": ICMP unreachable (HTTP proxies). */
  mode: "socks" | "refuse";
  /** The SOCKS5 client (mode "socks"). */
  socks?: Socks5Dialer;
  /** The TCP dialer, for DNS over TCP. */
  tcp: Dialer;
  /** DNS handling of port-53 datagrams: answer from the fake-ip pool, forward over TCP, or relay like any UDP. */
  dns?: "fake-ip" | "tcp";
  /** The IPv4 fake-ip pool: A answers, and flows to its addresses go out by name. */
  pool?: FakeIpPool;
  /** The IPv6 fake-ip pool: AAAA answers, and IPv6 flows to its addresses go out by name. */
  pool6?: FakeIp6Pool;
  /** Idle timeout of a UDP flow (ms). Default 60 s; DNS flows 10 s. */
  idleMs?: number;
  /** Timeout of the UDP association's handshake, in ms. */
  connectTimeoutMs?: number;
  /**
   * "flow" (default): one association per flow; "source": one per source address and port,
   * shared by its flows, for a proxy that relays one association to many peers (dante 1.4 does
   * not: it relays only the first peer's replies).
   */
  association?: "source" | "flow";
  /**
   * Most spare associations kept open ahead of new flows (see the module notes). Default
   * {@link DEFAULT_SPARES} (`TUNKIT_UDP_SPARES` overrides it); 0: none, every new flow waits for
   * its association's handshake.
   */
  spares?: number;
}

/** Default {@link UdpOptions.spares}. */
export const DEFAULT_SPARES = 32;
/** Seconds (sweeps) over which the demand for new associations is remembered. */
const DEMAND_TICKS = 10;
/** After a spare failed to open, none is opened for this long (ms): no loop against a failing proxy. */
const SPARE_BACKOFF_MS = 5_000;

/**
 * How many spares to keep: the most new associations needed within one sweep (one second) over
 * the last {@link DEMAND_TICKS}, at most `max`.
 *
 * @example
 * ```ts
 * import { sparesWanted } from "./udp.ts";
 * sparesWanted(Uint16Array.of(0, 3, 200, 1), 32); // 32
 * sparesWanted(Uint16Array.of(0, 1, 0, 2), 32); // 2
 * ```
 */
export function sparesWanted(demand: Uint16Array, max: number): number {
  let m = 0;
  for (let i = 0; i < demand.length; i++) if (demand[i]! > m) m = demand[i]!;
  return Math.min(m, max);
}

/** Whether two IP address texts are the same address (false when either is not one). */
function sameIp(x: string, y: string): boolean {
  try {
    const p = parseIp(x);
    const q = parseIp(y);
    return p.length === q.length && p.every((v, i) => v === q[i]);
  } catch {
    return false;
  }
}

/** A SOCKS5 UDP association and the flows that use it. */
interface Assoc {
  /** Key in the relay's map of shared associations; undefined for a flow's own. */
  key: string | undefined;
  state: "connecting" | "open" | "closed";
  socks?: SocksAssociation;
  /** The relay's address (from the proxy's reply), once open: where its datagrams go, and how its replies are told apart. */
  relayHost?: string;
  relayPort?: number;
  /** The relay's sockaddr, for addressed sendmmsg messages. */
  relaySa?: Uint8Array;
  /** The family's shared socket it holds a use of ({@link UdpRelay.releaseSocket}), once it took one. */
  shared?: SharedSocket;
  flows: Session[];
  /** Flows by the peer the relay names in a reply: {@link peerKey}. */
  byPeer: Map<number | string, Session>;
  /** Datagrams put together in the relay's send arena, waiting for the end of the tun batch. */
  pending: Uint8Array[];
}

/**
 * A UDP socket that carries many associations' datagrams (unconnected: each message names its
 * relay; replies are told apart by the relay's address). A proxy that gives each association a
 * relay port of its own (dante) gets all of them on one socket: one recvmmsg per wake-up for all
 * flows and one sendmmsg per tun batch, where a socket per association took one (or two: the
 * last returns EAGAIN) per ready association and one sendmmsg per association. A proxy that
 * relays every association on one port tells them apart by the client's address: there each
 * association has a socket of its own (no socket carries two associations of one relay address).
 */
interface SharedSocket {
  v6: boolean;
  /** The socket, once open. */
  sock?: UnconnectedUdp;
  opening: Promise<UnconnectedUdp>;
  /** Associations holding it; closed at 0. */
  users: number;
  /** Associations by relay port (the common case: one relay host), checked against their host. */
  byPort: Map<number, Assoc>;
  /** Associations whose relay port another relay host also uses: by "host port". */
  byAddr: Map<string, Assoc>;
}

interface Session {
  id: number;
  src: string;
  sport: number;
  /** The destination as the client sent it (a fake-ip address stays fake in replies). */
  dst: string;
  dport: number;
  target: Target;
  state: "connecting" | "open" | "closed";
  queue: Uint8Array[];
  assoc: Assoc;
  /** How replies name this flow's peer ({@link peerKey}); undefined for a target by name. */
  peer: number | string | undefined;
  /** The SOCKS5 UDP request header for `target` (RSV FRAG ATYP ADDR PORT), made once. */
  hdr: Uint8Array;
  /** The IP + UDP header of a reply (destination -> source), checksums and lengths left to fill. */
  reply: Uint8Array;
  last: number;
  idleMs: number;
  /** Handed to the worker (its datagrams go by it; {@link UdpFastPath.uses} stands for `last`). */
  handed: boolean;
  /** The worker's use count at the last sweep. */
  seen: number;
  /**
   * Read from the UDP queue, so handed to the worker ({@link UdpRelay.fast}) once its association
   * is open: the flow's key as the worker finds it in a tun packet ({@link flowKey}).
   */
  key: Uint8Array | undefined;
}

const MAX_QUEUE = 32;

/**
 * A key for the address and port at `off` of `b` (a SOCKS5 ATYP, then the address and port, as
 * in a UDP request or reply header), or undefined for a name or a short buffer. IPv4 gives a
 * number (no allocation per reply), IPv6 a string.
 *
 * @example
 * ```ts
 * import { peerKey } from "./udp.ts";
 * peerKey(new Uint8Array([1, 198, 51, 100, 2, 0, 7]), 0); // 217924023484423 (0xc6336402 * 65536 + 7)
 * peerKey(new Uint8Array([3, 1, 97, 0, 7]), 0); // undefined
 * ```
 */
export function peerKey(b: Uint8Array, off: number): number | string | undefined {
  const atyp = b[off];
  if (atyp === 1 && off + 7 <= b.length) {
    const ip = ((b[off + 1]! << 24) | (b[off + 2]! << 16) | (b[off + 3]! << 8) | b[off + 4]!) >>> 0;
    return ip * 65536 + ((b[off + 5]! << 8) | b[off + 6]!);
  }
  if (atyp === 4 && off + 19 <= b.length) {
    let k = "";
    for (let i = off + 1; i < off + 19; i++) k += String.fromCharCode(b[i]!);
    return k;
  }
  return undefined;
}

/**
 * The UDP side of a tunnel.
 *
 * @example
 * ```ts
 * import { UdpRelay } from "./udp.ts";
 * // const udp = new UdpRelay(host, { mode: "socks", socks: dialer, tcp: dialer });
 * // in the packet loop, for a UDP packet: udp.onPacket(buf, view);
 * ```
 */
export class UdpRelay {
  private readonly host: UdpHost;
  private readonly opts: UdpOptions;
  private readonly table = new FlowTable(1, 65535);
  private readonly sessions: Array<Session | undefined> = [];
  /** Refused flows already reported, with the time: one line per flow per 10 s. */
  private readonly reported = new Map<string, number>();
  /** Where replies are put together (writePacket copies or writes them at once). */
  private out: Uint8Array | undefined;
  /** Where outgoing SOCKS5 datagrams are put together until {@link flush}; `used` bytes taken. */
  private arena: Uint8Array | undefined;
  private used = 0;
  /** Sends the arena's datagrams through a shared socket's fd, each message to its relay ({@link sendRuns}). */
  private multi: MultiSend | undefined;
  /** The fd the messages in {@link multi} go through; datagrams they stand for. */
  private multiFd = -1;
  private multiDatagrams = 0;
  /** The shared sockets ({@link SharedSocket}): IPv4's, IPv6's. */
  private readonly sockets: SharedSocket[][] = [[], []];
  /** Datagrams in the arena (sent once {@link BURST} are there, or at the end of the tun batch). */
  private queued = 0;
  /** Views of the arena by slot of the burst, reused while place and length match ({@link send}). */
  private readonly views: Uint8Array[] = [];
  /** The last view of a tun buffer copied from ({@link send}): `srcOf.subarray(srcStart, …)`. */
  private src: Uint8Array = new Uint8Array(0);
  private srcOf: Uint8Array | undefined;
  private srcStart = 0;
  /** Associations with datagrams in the arena, flushed once the current tun batch is read. */
  private readonly dirty: Assoc[] = [];
  /** When a shared socket's error was last reported (one line per 10 s). */
  private socketErrorAt = -Infinity;
  /** Shared associations by source ("address|port"). */
  private readonly shared = new Map<string, Assoc>();
  /** A microtask will flush (at the end of the tun batch). */
  private flushQueued = false;
  private readonly flushSoon = () => {
    this.flushQueued = false;
    this.flush();
  };
  /** Open associations no flow uses yet, oldest first. */
  private readonly spares: Assoc[] = [];
  /** Spares being opened. */
  private readonly sparesOpening = new Set<Assoc>();
  /** New associations needed (spare or not), per sweep: the last {@link DEMAND_TICKS}. */
  private readonly demand = new Uint16Array(DEMAND_TICKS);
  private demandAt = 0;
  /** Clock before which no spare is opened (one failed). */
  private spareBackoff = 0;
  private readonly maxSpares: number;
  /**
   * @internal The UDP data path's worker (proxy/udp-fast.ts), set by the tunnel when it has
   * one: flows whose datagrams came from its queue are handed to it once their association is open.
   */
  fast: UdpFastPath | undefined;

  /**
   * A relay for `host`'s UDP.
   *
   * @param host The tunnel: packet writer, counters, errors, admission.
   * @param opts Relay mode, dialers, DNS handling, timeouts.
   */
  constructor(host: UdpHost, opts: UdpOptions) {
    this.host = host;
    this.opts = opts;
    const env = Number(globalThis.process?.env?.TUNKIT_UDP_SPARES);
    const n = opts.spares ?? (Number.isInteger(env) && env >= 0 ? env : DEFAULT_SPARES);
    this.maxSpares = opts.mode === "socks" && opts.socks ? Math.max(0, Math.min(n, 1024)) : 0;
  }

  /** Spare associations open now, waiting for new flows. */
  get spareAssociations(): number {
    return this.spares.length;
  }

  /** Active flows. */
  get size(): number {
    return this.table.size;
  }

  /** Open or opening associations (shared and per-flow). */
  get associations(): number {
    let n = this.shared.size;
    this.table.forEach((id) => {
      const s = this.sessions[id];
      if (s && s.assoc.key === undefined) n++;
    });
    return n;
  }

  /** Handles one UDP packet read from the tun (`v` describes it); `fromFast`: the worker's queue passed it on. */
  onPacket(b: Uint8Array, v: PacketView, fromFast = false): void {
    const l4 = v.l4;
    if (v.end - l4 < 8) {
      this.host.stats.dropped++;
      return;
    }
    const udpLen = (b[l4 + 4]! << 8) | b[l4 + 5]!;
    const end = Math.min(v.end, l4 + Math.max(8, udpLen));
    const sport = (b[l4]! << 8) | b[l4 + 1]!;
    const dport = (b[l4 + 2]! << 8) | b[l4 + 3]!;
    const o = this.opts;
    if (dport === 53 && o.dns) return this.dns(b, v, l4 + 8, end, sport);
    if (o.mode === "refuse") {
      const from = formatTarget({ host: formatAddrAt(b, v.srcOff, v.version), port: sport });
      const to = formatTarget({ host: formatAddrAt(b, v.dstOff, v.version), port: dport });
      this.refuse(b, v, `udp ${from} -> ${to}: refused: an HTTP proxy carries no UDP (only DNS, over TCP)`, "prohibited");
      this.host.stats.udpRefused++;
      return;
    }
    const now = this.host.now();
    let id = this.table.lookup(v.version, b, v.srcOff, v.dstOff, sport, dport);
    if (id < 0) {
      if (!this.host.admit()) {
        const icmp = icmpUnreachableFor(b, v.end, "host");
        if (icmp) {
          this.host.writePacket(icmp);
          this.host.stats.unreachable++;
        }
        return;
      }
      id = this.table.insert(v.version, b, v.srcOff, v.dstOff, sport, dport, now);
      if (id < 0) {
        this.host.stats.dropped++;
        return;
      }
      const dst = formatAddrAt(b, v.dstOff, v.version);
      let target: Target = { host: dst, port: dport };
      const pool = v.version === 4 ? o.pool : o.pool6;
      if (pool && pool.containsAt(b, v.dstOff)) {
        const name = pool.nameFor(dst);
        if (name === undefined) {
          this.table.remove(id);
          this.refuse(b, v, `udp -> ${formatTarget({ host: dst, port: dport })}: failed: ${dst} is a fake-ip address that stands for no name (expired?)`, "host");
          return;
        }
        target = { host: name, port: dport };
      }
      const src = formatAddrAt(b, v.srcOff, v.version);
      const hdr = encodeSocksUdp(target, new Uint8Array(0));
      const peer = peerKey(hdr, 3);
      // A flow to a name has its own association: the relay names its peer by address.
      const key = peer !== undefined && o.association === "source" ? `${src}|${sport}` : undefined;
      let a = key === undefined ? undefined : this.shared.get(key);
      let opening = false;
      if (!a) {
        if (this.maxSpares > 0 && this.demand[this.demandAt]! < 65535) this.demand[this.demandAt] = this.demand[this.demandAt]! + 1;
        a = this.spares.pop() ?? { key, state: "connecting", flows: [], byPeer: new Map(), pending: [] };
        opening = a.state === "connecting";
        a.key = key;
        if (key !== undefined) this.shared.set(key, a);
      }
      const s: Session = {
        id, src, sport, dst, dport, target, state: a.state === "open" ? "open" : "connecting", queue: [], assoc: a, peer, last: now,
        idleMs: dport === 53 ? 10_000 : (o.idleMs ?? 60_000),
        hdr,
        reply: buildUdp({ src: dst, dst: src, srcPort: dport, dstPort: sport }),
        // one flow per association: the worker tells its replies apart by the relay's address
        handed: false,
        seen: 0,
        key: fromFast && this.fast !== undefined && key === undefined ? flowKey(b, v.srcOff, v.dstOff, v.version === 4 ? 4 : 16, l4) : undefined,
      };
      a.flows.push(s);
      if (peer !== undefined) a.byPeer.set(peer, s);
      this.sessions[id] = s;
      this.host.stats.udpTotal++;
      this.host.stats.udpActive++;
      if (s.state === "open" && s.key) this.handOver(s, [b.slice(0, v.end)]);
      else if (s.state === "open") this.send(s, b, l4 + 8, end);
      else s.queue.push(b.slice(0, v.end));
      if (opening) void this.open(a);
      return;
    }
    const s = this.sessions[id]!;
    s.last = now;
    if (s.state === "connecting") {
      if (s.queue.length < MAX_QUEUE) s.queue.push(b.slice(0, v.end));
      return;
    }
    if (s.state === "open" && s.handed) this.fast!.send(s.id, b.slice(0, v.end));
    else if (s.state === "open") this.send(s, b, l4 + 8, end);
  }

  /** Answers a datagram with ICMP unreachable and reports why. */
  private refuse(b: Uint8Array, v: PacketView, line: string, reason: "prohibited" | "host"): void {
    const icmp = icmpUnreachableFor(b, v.end, reason);
    if (icmp) {
      this.host.writePacket(icmp);
      this.host.stats.unreachable++;
    }
    const key = line;
    const now = this.host.now();
    const t = this.reported.get(key);
    if (t === undefined || now - t > 10_000) {
      if (this.reported.size > 4096) this.reported.clear();
      this.reported.set(key, now);
      this.host.error(line, "udp-refused");
    }
  }

  /**
   * Queues `b[start, end)` for the relay behind the flow's SOCKS5 header, in the arena (no
   * allocation: views are reused); the tun batch goes out at its end, one sendmmsg per association
   * ({@link flush}, a microtask: the tun is read synchronously until EAGAIN or its yield), or
   * every {@link BURST} datagrams while it is read.
   */
  private send(s: Session, b: Uint8Array, start: number, end: number): void {
    const h = s.hdr;
    const len = h.length + end - start;
    if (this.used + len > ARENA) this.flush();
    if (len > ARENA) {
      this.host.stats.dropped++;
      return;
    }
    const arena = (this.arena ??= new Uint8Array(new ArrayBuffer(ARENA)));
    const at = this.used;
    arena.set(h, at);
    const d = at + h.length - start;
    // a short datagram (a query) byte by byte: no view made for it; a longer one through a view
    // of the tun's buffer, the last one kept (a flood of one size reads from one place)
    if (end - start <= 64) for (let i = start; i < end; i++) arena[d + i] = b[i]!;
    else {
      if (this.srcOf !== b || this.srcStart !== start || this.src.length !== end - start) {
        this.srcOf = b;
        this.srcStart = start;
        this.src = b.subarray(start, end);
      }
      arena.set(this.src, d + start);
    }
    this.used = at + len;
    const a = s.assoc;
    if (a.pending.length === 0) {
      if (!this.flushQueued) {
        this.flushQueued = true;
        queueMicrotask(this.flushSoon);
      }
      this.dirty.push(a);
    }
    // the arena's view for this slot of the burst, kept from the last burst when it has the same
    // place and length (datagrams of one size, the common case): no object per datagram
    const k = this.queued;
    let view = this.views[k];
    if (view === undefined || view.byteOffset !== at || view.length !== len) this.views[k] = view = arena.subarray(at, at + len);
    a.pending.push(view);
    this.host.stats.bytesUp += end - start;
    if (++this.queued >= BURST) this.flush();
  }

  /**
   * Sends what {@link send} queued: one sendmmsg for every association of a family (the shared
   * socket, each message addressed to its association's relay), runs of one flow's equal
   * datagrams as UDP GSO messages ({@link sendRuns}); without the socket's fd (Deno) through the
   * runtime's send. A datagram the kernel refused is dropped and counted (an unconnected socket
   * reports a closed relay port later, naming no relay: see {@link onSocketError}).
   */
  flush(): void {
    const d = this.dirty;
    for (let i = 0; i < d.length; i++) {
      const a = d[i]!;
      const list = a.pending;
      if (a.state === "open" && list.length) {
        const sock = a.shared!.sock!;
        const fd = sock.fd;
        if (fd >= 0) this.sendRuns(fd, list, a.relaySa!);
        else {
          let sent = 0;
          for (const v of list) {
            try {
              if (sock.sendTo(v, a.relayPort!, a.relayHost!)) sent++;
            } catch {
              /* closed under us: dropped */
            }
          }
          if (sent < list.length) this.host.stats.dropped += list.length - sent;
        }
      }
      list.length = 0;
    }
    d.length = 0;
    this.sendMulti();
    this.used = 0;
    this.queued = 0;
  }

  /** Sends the messages {@link sendRuns} added; what the kernel refused is counted as dropped. */
  private sendMulti(): void {
    const m = this.multi;
    if (!m || m.count === 0) return;
    const sent = m.send(this.multiFd);
    if (sent < this.multiDatagrams) this.host.stats.dropped += this.multiDatagrams - sent;
    this.multiDatagrams = 0;
  }

  /**
   * Adds an association's datagrams (views of the arena, in order) to the sendmmsg of its
   * shared socket's fd, each message to `sa` (its relay): a run of equal-sized datagrams that
   * lie back to back in the arena (a flood of one flow) as one UDP GSO message, which goes
   * through the stack once and is cut apart by the kernel. A full list, or another fd, sends first.
   */
  private sendRuns(fd: number, list: Uint8Array[], sa: Uint8Array): void {
    const m = (this.multi ??= new MultiSend(this.arena!, GSO_SEGMENTS, { addressed: true }));
    if (m.count > 0 && this.multiFd !== fd) this.sendMulti();
    this.multiFd = fd;
    const gso = MultiSend.gso;
    for (let i = 0; i < list.length; ) {
      const v = list[i]!;
      const at = v.byteOffset;
      const len = v.length;
      let end = at + len;
      let j = i + 1;
      if (gso) {
        while (j < list.length && j - i < GSO_SEGMENTS) {
          const w = list[j]!;
          if (w.byteOffset !== end || w.length > len || end + w.length - at > GSO_BYTES) break;
          end += w.length;
          j++;
          if (w.length < len) break; // only the last segment may be shorter
        }
      }
      if (m.full) this.sendMulti();
      m.addTo(at, end - at, j - i > 1 ? len : 0, sa);
      this.multiDatagrams += j - i;
      i = j;
    }
  }

  /**
   * Puts `a` (relay `host`:`port`, sockaddr `sa`) on the first socket of its family that
   * carries no other association of that relay address, a new one when each does.
   */
  private takeSocket(a: Assoc, host: string, port: number, sa: Uint8Array): SharedSocket {
    const v6 = sa.length === 28;
    const list = this.sockets[v6 ? 1 : 0]!;
    const key = `${host} ${port}`;
    let sh = list.find((x) => x.byPort.get(port)?.relayHost !== host && !x.byAddr.has(key));
    if (!sh) {
      const fresh: SharedSocket = { v6, users: 0, byPort: new Map(), byAddr: new Map(), opening: undefined as unknown as Promise<UnconnectedUdp> };
      fresh.opening = openUdp(v6, {
        data: (msg, p, h) => this.onSocketData(fresh, msg, p, h),
        error: (e) => this.onSocketError(e),
      }).then((sock) => {
        if (!list.includes(fresh)) sock.close(); // every user left while it opened
        else fresh.sock = sock;
        return sock;
      });
      fresh.opening.catch(() => {}); // the openers see it
      list.push(fresh);
      sh = fresh;
    }
    if (sh.byPort.has(port)) sh.byAddr.set(key, a);
    else sh.byPort.set(port, a);
    a.shared = sh;
    a.relayHost = host;
    a.relayPort = port;
    a.relaySa = sa;
    sh.users++;
    return sh;
  }

  /** Takes `a` off its shared socket: the socket's last association closes it. */
  private releaseSocket(a: Assoc): void {
    const sh = a.shared;
    if (!sh) return;
    a.shared = undefined;
    if (sh.byPort.get(a.relayPort!) === a) sh.byPort.delete(a.relayPort!);
    const k = `${a.relayHost} ${a.relayPort}`;
    if (sh.byAddr.get(k) === a) sh.byAddr.delete(k);
    if (--sh.users > 0) return;
    const list = this.sockets[sh.v6 ? 1 : 0]!;
    const i = list.indexOf(sh);
    if (i >= 0) list.splice(i, 1);
    sh.sock?.close();
  }

  /** A datagram on a shared socket: to the association whose relay sent it; others are dropped. */
  private onSocketData(sh: SharedSocket, msg: Uint8Array, port: number, host: string): void {
    let a = sh.byPort.get(port);
    if (a === undefined || a.relayHost !== host) {
      // another relay host on this port (byAddr also holds it once the port's first association left)
      const b = sh.byAddr.get(`${host} ${port}`);
      // the runtime may spell an IPv6 address otherwise than the proxy's reply did: the same bytes count, and its spelling is kept
      if (b !== undefined) a = b;
      else if (a !== undefined && sameIp(a.relayHost!, host)) a.relayHost = host;
      else a = undefined;
    }
    if (a === undefined) {
      this.host.stats.dropped++;
      return;
    }
    this.onRelay(a, msg);
  }

  /**
   * An error on a shared socket: a relay's port refused a datagram (ICMP), which names no relay
   * here. The socket and every association go on; the association whose relay went away ends
   * with its control connection (the proxy closes it) or its flows' idle timeout.
   */
  private onSocketError(e: Error): void {
    this.host.stats.dropped++;
    const now = this.host.now();
    if (now - this.socketErrorAt > 10_000) {
      this.socketErrorAt = now;
      this.host.error(`udp relay socket: ${e.message}`, "udp");
    }
  }

  /** Opens the association `a`: UDP ASSOCIATE, then the relay socket; its flows' queued datagrams go out. */
  private async open(a: Assoc): Promise<void> {
    const socks = this.opts.socks!;
    try {
      const assoc = await socks.associate({ timeoutMs: this.opts.connectTimeoutMs });
      if (a.state === "closed") {
        assoc.control.destroy();
        return;
      }
      a.socks = assoc;
      assoc.control.on("close", () => {
        if (a.state === "closed") return;
        const now = this.host.now();
        for (const s of a.flows) {
          if (s.state === "open" && now - s.last < s.idleMs) this.host.error(`udp ${this.flow(s)}: the proxy closed the association`, "udp");
        }
        this.closeAssoc(a);
      });
      assoc.control.on("error", () => {});
      assoc.control.resume(); // nothing should come; keep the connection read so a close is seen
      // A shared socket; the relay's datagrams are told apart by its address.
      const { host, port } = assoc.relay;
      await this.takeSocket(a, host, port, packSockaddrIn(parseIp(host), port)).opening;
      if (a.state !== "connecting") return; // closeAssoc took it off the socket
      a.state = "open";
      for (const s of a.flows) {
        if (s.state !== "connecting") continue;
        s.state = "open";
        if (s.key) {
          this.handOver(s, s.queue.splice(0));
          continue;
        }
        for (const p of s.queue.splice(0)) {
          const l4 = p[0]! >> 4 === 4 ? (p[0]! & 15) * 4 : 40;
          this.send(s, p, l4 + 8, Math.min(p.length, l4 + Math.max(8, (p[l4 + 4]! << 8) | p[l4 + 5]!)));
        }
      }
    } catch (e) {
      this.failAssoc(a, (e as Error).message);
    }
  }

  /** Hands the open flow `s` to the worker with the IP packets `queued` for it (sent first, in order). */
  private handOver(s: Session, queued: Uint8Array[]): void {
    const a = s.assoc;
    s.handed = true;
    s.seen = this.fast!.uses(s.id);
    this.fast!.add(s.id, s.key!, a.relaySa!, s.hdr, s.reply, queued);
  }

  /** A datagram from the relay: written into the tun as the reply of the flow it belongs to. */
  private onRelay(a: Assoc, msg: Uint8Array): void {
    if (a.state !== "open") return;
    // One flow: its replies whatever address the relay names (as before sharing); several: by that address.
    const s = a.flows.length === 1 ? a.flows[0]! : a.byPeer.get(peerKey(msg, 3) ?? "");
    if (!s || s.state !== "open") {
      this.host.stats.dropped++;
      return;
    }
    const off = socksUdpDataOffset(msg);
    const hl = s.reply.length;
    const n = msg.length - off;
    if (off < 0 || hl + n > 65535) {
      this.host.stats.dropped++;
      return;
    }
    s.last = this.host.now();
    this.host.stats.bytesDown += n;
    const out = (this.out ??= new Uint8Array(new ArrayBuffer(65536)));
    // the whole datagram placed so that its data starts at hl, then the header over its front:
    // two copies and no view (a name's address can be longer than the header: then a view)
    if (off <= hl) out.set(msg, hl - off);
    else out.set(msg.subarray(off), hl);
    out.set(s.reply);
    this.host.writePacket(out.subarray(0, finishUdpReply(out, hl, n)));
  }

  /** "src -> target", for messages. */
  private flow(s: Session): string {
    return `${formatTarget({ host: s.src, port: s.sport })} -> ${formatTarget(s.target)}`;
  }

  /** Fails every flow of `a` (the association could not open, or its relay socket failed). */
  private failAssoc(a: Assoc, why: string): void {
    if (a.state === "closed") return;
    for (const s of a.flows.slice()) this.fail(s, why);
    this.closeAssoc(a);
  }

  /** Fails the flow: counted, reported, closed. */
  private fail(s: Session, why: string): void {
    if (s.state === "closed") return;
    this.host.stats.udpFailed++;
    const first = s.queue[0];
    if (first) {
      const icmp = icmpUnreachableFor(first, first.length, "host");
      if (icmp) {
        this.host.writePacket(icmp);
        this.host.stats.unreachable++;
      }
    }
    this.host.error(`udp ${this.flow(s)}: failed: ${why}`, "udp");
    this.close(s);
  }

  /** Closes the session and its association. */
  private close(s: Session): void {
    if (s.state === "closed") return;
    s.state = "closed";
    s.queue.length = 0;
    if (s.handed) this.fast?.remove(s.id);
    this.sessions[s.id] = undefined;
    this.table.remove(s.id);
    this.host.stats.udpActive--;
    const a = s.assoc;
    const i = a.flows.indexOf(s);
    if (i >= 0) a.flows.splice(i, 1);
    if (s.peer !== undefined && a.byPeer.get(s.peer) === s) a.byPeer.delete(s.peer);
    if (a.flows.length === 0) this.closeAssoc(a);
  }

  /** Closes an association and every flow still on it. */
  private closeAssoc(a: Assoc): void {
    if (a.state === "closed") return;
    a.state = "closed";
    if (a.flows.length === 0) {
      const i = this.spares.indexOf(a);
      if (i >= 0) this.spares.splice(i, 1);
      this.sparesOpening.delete(a);
    }
    a.pending.length = 0; // flush() skips it
    if (a.key !== undefined && this.shared.get(a.key) === a) this.shared.delete(a.key);
    for (const s of a.flows.slice()) this.close(s);
    this.releaseSocket(a);
    a.socks?.control.destroy();
  }

  /** Closes flows idle longer than their timeout; tops the spare associations up or closes those no longer wanted. Once a second. */
  sweep(now: number): void {
    const fast = this.fast;
    if (fast) fast.pull(this.host.stats);
    this.table.forEach((id) => {
      const s = this.sessions[id];
      if (!s) return;
      if (s.handed) {
        // the worker moved its datagrams: used since the last sweep when its count changed
        const u = fast!.uses(id);
        if (u !== s.seen) {
          s.seen = u;
          s.last = now;
        }
      }
      if (now - s.last > s.idleMs) this.close(s);
    });
    if (this.maxSpares > 0) this.tendSpares(now);
  }

  /** One sweep's turn of the spares: open up to the number wanted, close the oldest beyond it, start the next second's count. */
  private tendSpares(now: number): void {
    const room = this.host.fdRoom ? Math.max(0, Math.floor(this.host.fdRoom() / 8)) : this.maxSpares;
    const want = sparesWanted(this.demand, Math.min(this.maxSpares, room));
    while (this.spares.length > want) this.closeAssoc(this.spares[0]!);
    if (now >= this.spareBackoff) {
      for (let n = this.spares.length + this.sparesOpening.size; n < want; n++) void this.openSpare();
    }
    this.demandAt = (this.demandAt + 1) % DEMAND_TICKS;
    this.demand[this.demandAt] = 0;
  }

  /** Opens one spare association; a failure is quiet (no flow waits for it) and pauses spares for {@link SPARE_BACKOFF_MS}. */
  private async openSpare(): Promise<void> {
    const a: Assoc = { key: undefined, state: "connecting", flows: [], byPeer: new Map(), pending: [] };
    this.sparesOpening.add(a);
    await this.open(a);
    this.sparesOpening.delete(a);
    if (a.state !== "open") {
      this.spareBackoff = this.host.now() + SPARE_BACKOFF_MS;
      return;
    }
    // taken by no flow while it opened (only opened spares are handed out)
    if (a.flows.length === 0) this.spares.push(a);
  }

  /** Closes every flow and every spare association. */
  closeAll(): void {
    this.fast?.pull(this.host.stats);
    this.table.forEach((id) => {
      const s = this.sessions[id];
      if (s) this.close(s);
    });
    for (const a of [...this.spares, ...this.sparesOpening]) this.closeAssoc(a);
  }

  /** A DNS query: answered from the fake-ip pool or forwarded over TCP. */
  private dns(b: Uint8Array, v: PacketView, start: number, end: number, sport: number): void {
    const st = this.host.stats;
    st.dnsQueries++;
    const query = b.slice(start, end);
    const src = formatAddrAt(b, v.srcOff, v.version);
    const dst = formatAddrAt(b, v.dstOff, v.version);
    const reply = (payload: Uint8Array) => this.host.writePacket(buildUdp({ src: dst, dst: src, srcPort: 53, dstPort: sport, payload }));
    if (this.opts.dns === "fake-ip" && this.opts.pool) {
      const { response } = answerFakeIp(query, this.opts.pool, this.opts.pool6);
      st.dnsFake++;
      if (response.length) reply(response);
      return;
    }
    st.dnsTcp++;
    void this.dnsOverTcp(query, { host: dst, port: 53 }).then(
      (r) => reply(r),
      (e: Error) => {
        st.dnsFailed++;
        this.host.error(`dns ${src}:${sport} -> ${formatTarget({ host: dst, port: 53 })} over tcp: failed: ${e.message}`, "dns");
        const r = dnsErrorResponse(query, DNS_RCODE.SERVFAIL);
        if (r) reply(r);
      },
    );
  }

  /** Sends one DNS query over TCP through the proxy (RFC 1035 4.2.2 framing) and returns the response. */
  private async dnsOverTcp(query: Uint8Array, server: Target): Promise<Uint8Array> {
    const ms = this.opts.connectTimeoutMs ?? 10_000;
    const { socket, head } = await this.opts.tcp.connect(server, { timeoutMs: ms });
    const r = new HandshakeReader(socket, `DNS server ${formatTarget(server)}`, head);
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${ms} ms`)), ms);
    try {
      socket.write(frameDnsTcp(query));
      const len = await r.read(2);
      const body = await r.read((len[0]! << 8) | len[1]!);
      return Uint8Array.from(body);
    } finally {
      clearTimeout(timer);
      r.detach();
      socket.destroy();
    }
  }
}
