/**
 * UDP for the tunnel: each flow (source, source port, destination, destination port) gets a
 * SOCKS5 UDP association (its own control connection and relay socket), closed after an idle
 * timeout. Over an HTTP proxy UDP is refused with an ICMP unreachable (administratively
 * prohibited), except DNS, which goes over TCP through the proxy. DNS queries can also be
 * answered locally from the fake-ip pools (A from the IPv4 pool, AAAA from the IPv6 one).
 *
 * @module
 */
import dgram from "node:dgram";
import { Buffer } from "node:buffer";
import { buildUdp } from "../packet/build.ts";
import { HandshakeReader, type Dialer } from "./dial.ts";
import { answerFakeIp, dnsErrorResponse, DNS_RCODE, frameDnsTcp, type FakeIp6Pool, type FakeIpPool } from "./dns.ts";
import { FlowTable } from "./nat.ts";
import { encodeSocksUdp, type Socks5Dialer, type SocksAssociation } from "./socks5.ts";
import { ipv4HeaderChecksum, transportChecksum, writeChecksum } from "../packet/checksum.ts";
import type { TunnelStats } from "./stats.ts";
import { formatAddrAt, icmpUnreachableFor, type PacketView } from "./tcp-redirect.ts";
import { formatTarget, type Target } from "./url.ts";

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
  assoc?: SocksAssociation;
  sock?: dgram.Socket;
  /** The SOCKS5 UDP request header for `target` (RSV FRAG ATYP ADDR PORT), made once. */
  hdr: Uint8Array;
  /** The IP + UDP header of a reply (destination -> source), checksums and lengths left to fill. */
  reply: Uint8Array;
  last: number;
  idleMs: number;
}

const MAX_QUEUE = 32;

/**
 * Where the data starts in a SOCKS5 UDP datagram from the relay (RSV RSV FRAG ATYP ADDR PORT
 * DATA), or -1 when it is short, fragmented or of an unknown address type. No allocation: the
 * source address in it is not needed (the relay socket is connected to the relay).
 *
 * @example
 * ```ts
 * import { socksUdpDataOffset } from "./udp.ts";
 * socksUdpDataOffset(new Uint8Array([0, 0, 0, 1, 198, 51, 100, 2, 0, 7, 42])); // 10
 * socksUdpDataOffset(new Uint8Array([0, 0, 1, 1, 198, 51, 100, 2, 0, 7, 42])); // -1 (a fragment)
 * ```
 */
export function socksUdpDataOffset(b: Uint8Array): number {
  if (b.length < 4 || b[2] !== 0) return -1;
  const atyp = b[3];
  const off = atyp === 1 ? 10 : atyp === 4 ? 22 : atyp === 3 && b.length > 4 ? 7 + b[4]! : -1;
  return off > 0 && off <= b.length ? off : -1;
}

/**
 * Fills in the UDP packet in `out`, whose first `hl` bytes hold an IP + UDP header (made once
 * per flow, e.g. by buildUdp with no payload) and whose `dataLen` bytes of payload follow it:
 * the lengths, the IPv4 header checksum and the UDP checksum. Returns the packet's length.
 *
 * @example
 * ```ts
 * import { finishUdpReply } from "./udp.ts";
 * import { buildUdp } from "../packet/build.ts";
 * const head = buildUdp({ src: "198.51.100.2", dst: "192.0.2.1", srcPort: 7, dstPort: 5000 });
 * const out = new Uint8Array(2048);
 * out.set(head);
 * out.set([104, 105], head.length);
 * finishUdpReply(out, head.length, 2); // 30, as buildUdp({ ..., payload: "hi" })
 * ```
 */
export function finishUdpReply(out: Uint8Array, hl: number, dataLen: number): number {
  const v6 = out[0]! >> 4 === 6;
  const ipHl = v6 ? 40 : 20;
  const total = hl + dataLen;
  const udpLen = total - ipHl;
  if (v6) {
    out[4] = udpLen >> 8;
    out[5] = udpLen & 0xff;
  } else {
    out[2] = total >> 8;
    out[3] = total & 0xff;
    out[10] = 0;
    out[11] = 0;
    writeChecksum(out, 10, ipv4HeaderChecksum(out, 0));
  }
  out[ipHl + 4] = udpLen >> 8;
  out[ipHl + 5] = udpLen & 0xff;
  writeChecksum(out, ipHl + 6, transportChecksum(out, v6 ? 6 : 4, 0, ipHl, udpLen, 17));
  return total;
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

  /**
   * A relay for `host`'s UDP.
   *
   * @param host The tunnel: packet writer, counters, errors, admission.
   * @param opts Relay mode, dialers, DNS handling, timeouts.
   */
  constructor(host: UdpHost, opts: UdpOptions) {
    this.host = host;
    this.opts = opts;
  }

  /** Active flows. */
  get size(): number {
    return this.table.size;
  }

  /** Handles one UDP packet read from the tun (`v` describes it). */
  onPacket(b: Uint8Array, v: PacketView): void {
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
      const s: Session = {
        id, src, sport, dst, dport, target, state: "connecting", queue: [], last: now,
        idleMs: dport === 53 ? 10_000 : (o.idleMs ?? 60_000),
        hdr: encodeSocksUdp(target, new Uint8Array(0)),
        reply: buildUdp({ src: dst, dst: src, srcPort: dport, dstPort: sport }),
      };
      this.sessions[id] = s;
      this.host.stats.udpTotal++;
      this.host.stats.udpActive++;
      s.queue.push(b.slice(0, v.end));
      void this.open(s);
      return;
    }
    const s = this.sessions[id]!;
    s.last = now;
    if (s.state === "connecting") {
      if (s.queue.length < MAX_QUEUE) s.queue.push(b.slice(0, v.end));
      return;
    }
    if (s.state === "open") this.send(s, b.subarray(l4 + 8, end));
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

  /** Sends a payload to the session's target through the relay. */
  private send(s: Session, payload: Uint8Array): void {
    const h = s.hdr;
    const out = new Uint8Array(h.length + payload.length);
    out.set(h);
    out.set(payload, h.length);
    s.sock!.send(out); // connected to the relay: no address to look at per datagram
    this.host.stats.bytesUp += payload.length;
  }

  /** Opens the session's UDP association. */
  private async open(s: Session): Promise<void> {
    const socks = this.opts.socks!;
    try {
      const assoc = await socks.associate({ timeoutMs: this.opts.connectTimeoutMs });
      if (s.state === "closed") {
        assoc.control.destroy();
        return;
      }
      s.assoc = assoc;
      const sock = dgram.createSocket(assoc.relay.host.includes(":") ? "udp6" : "udp4");
      s.sock = sock;
      sock.on("message", (msg: Buffer) => this.onRelay(s, msg));
      sock.on("error", (e) => this.fail(s, `relay socket: ${e.message}`));
      assoc.control.on("close", () => {
        if (s.state !== "closed") {
          if (s.state === "open" && this.host.now() - s.last < s.idleMs) this.host.error(`udp ${this.flow(s)}: the proxy closed the association`, "udp");
          this.close(s);
        }
      });
      assoc.control.on("error", () => {});
      assoc.control.resume(); // nothing should come; keep the connection read so a close is seen
      await new Promise<void>((resolve, reject) => {
        sock.once("error", reject);
        sock.bind(0, () => {
          // Connected: the kernel takes only the relay's datagrams (RFC 1928 section 7).
          sock.connect(assoc.relay.port, assoc.relay.host, () => {
            sock.off("error", reject);
            resolve();
          });
        });
      });
      if (s.state !== "connecting") return;
      s.state = "open";
      for (const p of s.queue.splice(0)) {
        const l4 = p[0]! >> 4 === 4 ? (p[0]! & 15) * 4 : 40;
        this.send(s, p.subarray(l4 + 8));
      }
    } catch (e) {
      this.fail(s, (e as Error).message);
    }
  }

  /** A datagram from the relay: written into the tun as the target's reply. */
  private onRelay(s: Session, msg: Buffer): void {
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
    out.set(s.reply);
    out.set(msg.subarray(off), hl);
    this.host.writePacket(out.subarray(0, finishUdpReply(out, hl, n)));
  }

  /** "src -> target", for messages. */
  private flow(s: Session): string {
    return `${formatTarget({ host: s.src, port: s.sport })} -> ${formatTarget(s.target)}`;
  }

  /** Fails the session: counted, reported, closed. */
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
    try {
      s.sock?.close();
    } catch {
      /* already closed */
    }
    s.assoc?.control.destroy();
    this.sessions[s.id] = undefined;
    this.table.remove(s.id);
    this.host.stats.udpActive--;
  }

  /** Closes flows idle longer than their timeout. */
  sweep(now: number): void {
    this.table.forEach((id) => {
      const s = this.sessions[id];
      if (s && now - s.last > s.idleMs) this.close(s);
    });
  }

  /** Closes every flow. */
  closeAll(): void {
    this.table.forEach((id) => {
      const s = this.sessions[id];
      if (s) this.close(s);
    });
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
