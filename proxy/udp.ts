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
import { decodeSocksUdp, encodeSocksUdp, type Socks5Dialer, type SocksAssociation } from "./socks5.ts";
import type { TunnelStats } from "./stats.ts";
import { formatAddrAt, icmpUnreachableFor, type PacketView } from "./tcp-redirect.ts";
import { formatTarget, type Target } from "./url.ts";

/** What the UDP side needs from its tunnel. */
export interface UdpHost {
  /** Writes a whole IP packet into the tun. */
  writePacket(p: Uint8Array): void;
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
  pool?: FakeIpPool;
  /** The IPv6 fake-ip pool: AAAA answers, and IPv6 flows to its addresses go out by name. */
  pool6?: FakeIp6Pool;
  /** Idle timeout of a UDP flow (ms). Default 60 s; DNS flows 10 s. */
  idleMs?: number;
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
  last: number;
  idleMs: number;
}

const MAX_QUEUE = 32;

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
      const s: Session = {
        id, src: formatAddrAt(b, v.srcOff, v.version), sport, dst, dport, target, state: "connecting", queue: [], last: now,
        idleMs: dport === 53 ? 10_000 : (o.idleMs ?? 60_000),
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

  private send(s: Session, payload: Uint8Array): void {
    const relay = s.assoc!.relay;
    s.sock!.send(encodeSocksUdp(s.target, payload), relay.port, relay.host);
    this.host.stats.bytesUp += payload.length;
  }

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
      sock.on("message", (msg: Buffer, rinfo: dgram.RemoteInfo) => this.onRelay(s, msg, rinfo));
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
          sock.off("error", reject);
          resolve();
        });
      });
      s.state = "open";
      for (const p of s.queue.splice(0)) {
        const l4 = p[0]! >> 4 === 4 ? (p[0]! & 15) * 4 : 40;
        this.send(s, p.subarray(l4 + 8));
      }
    } catch (e) {
      this.fail(s, (e as Error).message);
    }
  }

  private onRelay(s: Session, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const relay = s.assoc?.relay;
    if (!relay || rinfo.port !== relay.port || rinfo.address.replace(/^::ffff:/, "") !== relay.host.replace(/^::ffff:/, "")) return;
    let data: Uint8Array;
    try {
      data = decodeSocksUdp(msg).data;
    } catch {
      this.host.stats.dropped++;
      return;
    }
    s.last = this.host.now();
    this.host.stats.bytesDown += data.length;
    this.host.writePacket(buildUdp({ src: s.dst, dst: s.src, srcPort: s.dport, dstPort: s.sport, payload: data }));
  }

  private flow(s: Session): string {
    return `${formatTarget({ host: s.src, port: s.sport })} -> ${formatTarget(s.target)}`;
  }

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
