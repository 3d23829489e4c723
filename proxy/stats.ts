/**
 * Counters of a tunnel: connections, UDP sessions, DNS answers, bytes each way, packets and
 * errors; printable as one JSON object or one line of text.
 *
 * @module
 */

/** Upper bounds (seconds) of the proxy handshake latency histogram. */
export const HANDSHAKE_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** A snapshot of the counters (what `--json` prints). */
export interface TunnelStatsJson {
  /** TCP flows: all, open now, failed. */
  tcp: { total: number; active: number; failed: number };
  /** UDP flows: all, open now, failed, refused. */
  udp: { total: number; active: number; failed: number; refused: number };
  /** DNS queries: all, answered from the fake-ip pool, sent over TCP, failed. */
  dns: { queries: number; fake: number; tcp: number; failed: number };
  /** Payload bytes up (to the proxy) and down. */
  bytes: { up: number; down: number };
  /** Packets read from and written to the tun, dropped, answered with RST or ICMP unreachable. */
  packets: { in: number; out: number; dropped: number; resets: number; unreachable: number };
  /** Errors counted. */
  errors: number;
  /** Seconds since the tunnel started. */
  uptimeSec: number;
}

/**
 * Mutable counters, updated by the tunnel.
 *
 * @example
 * ```ts
 * import { TunnelStats } from "./stats.ts";
 * const s = new TunnelStats();
 * s.tcpTotal++; s.bytesDown += 1500;
 * s.toJSON().bytes.down; // 1500
 * ```
 */
export class TunnelStats {
  /** Start time, ms since the epoch. */
  readonly started: number = Date.now();
  /** TCP flows opened. */
  tcpTotal = 0;
  /** TCP flows open now. */
  tcpActive = 0;
  /** TCP flows that failed. */
  tcpFailed = 0;
  /** UDP flows opened. */
  udpTotal = 0;
  /** UDP flows open now. */
  udpActive = 0;
  /** UDP flows that failed. */
  udpFailed = 0;
  /** UDP datagrams refused (ICMP unreachable). */
  udpRefused = 0;
  /** DNS queries seen. */
  dnsQueries = 0;
  /** DNS queries answered from the fake-ip pool. */
  dnsFake = 0;
  /** DNS queries sent over TCP. */
  dnsTcp = 0;
  /** DNS queries that failed. */
  dnsFailed = 0;
  /** Payload bytes from clients to the proxy. */
  bytesUp = 0;
  /** Payload bytes from the proxy to clients. */
  bytesDown = 0;
  /** Packets read from the tun. */
  packetsIn = 0;
  /** Packets written to the tun. */
  packetsOut = 0;
  /** Packets dropped. */
  dropped = 0;
  /** TCP RSTs sent. */
  resets = 0;
  /** ICMP unreachables sent. */
  unreachable = 0;
  /** Errors counted. */
  errors = 0;
  /** Errors by kind ("proxy-unreachable", "proxy-refused", "tun-write", "emfile", …). */
  readonly errorsByKind = new Map<string, number>();
  /** Flows the far end (or the proxy) reset: normal, counted, not an error. */
  farResets = 0;
  /** Flows refused by --max-sessions. */
  sessionLimit = 0;
  /** TCP flows closed by the idle timeout. */
  idleClosed = 0;
  /** Proxy handshake latency (connect + negotiation), cumulative counts per bucket of {@link HANDSHAKE_BUCKETS}. */
  readonly handshakeBuckets = new Float64Array(HANDSHAKE_BUCKETS.length + 1);
  /** Sum of the handshake latencies, in seconds. */
  handshakeSum = 0;
  /** Handshakes observed. */
  handshakeCount = 0;

  /** Counts an error of `kind`. */
  countError(kind: string): void {
    this.errors++;
    this.errorsByKind.set(kind, (this.errorsByKind.get(kind) ?? 0) + 1);
  }

  /** Records one proxy handshake of `ms`. */
  observeHandshake(ms: number): void {
    const s = ms / 1000;
    let i = 0;
    while (i < HANDSHAKE_BUCKETS.length && s > HANDSHAKE_BUCKETS[i]!) i++;
    this.handshakeBuckets[i]!++;
    this.handshakeSum += s;
    this.handshakeCount++;
  }

  /** A snapshot of the counters. */
  toJSON(): TunnelStatsJson {
    return {
      tcp: { total: this.tcpTotal, active: this.tcpActive, failed: this.tcpFailed },
      udp: { total: this.udpTotal, active: this.udpActive, failed: this.udpFailed, refused: this.udpRefused },
      dns: { queries: this.dnsQueries, fake: this.dnsFake, tcp: this.dnsTcp, failed: this.dnsFailed },
      bytes: { up: this.bytesUp, down: this.bytesDown },
      packets: { in: this.packetsIn, out: this.packetsOut, dropped: this.dropped, resets: this.resets, unreachable: this.unreachable },
      errors: this.errors,
      uptimeSec: Math.round((Date.now() - this.started) / 1000),
    };
  }

  /** One line for people: `tcp 12 (1 active, 2 failed), udp 3, dns 4, up 1.2 MB, down 104.9 MB, errors 2`. */
  toText(): string {
    const mb = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`);
    return [
      `tcp ${this.tcpTotal} (${this.tcpActive} active, ${this.tcpFailed} failed)`,
      `udp ${this.udpTotal} (${this.udpActive} active, ${this.udpFailed} failed, ${this.udpRefused} refused)`,
      `dns ${this.dnsQueries}`,
      `up ${mb(this.bytesUp)}`,
      `down ${mb(this.bytesDown)}`,
      `dropped ${this.dropped}`,
      `errors ${this.errors}`,
    ].join(", ");
  }
}
