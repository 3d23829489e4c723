/**
 * `--metrics ADDR`: the tunnel's counters in Prometheus's text format (version 0.0.4), served
 * over HTTP on a loopback address or a unix socket only — never on an address other machines
 * reach: flows by state, bytes, errors by kind, DNS answers, the proxy's health and its
 * handshake latency histogram.
 *
 * @module
 */
import { rmSync } from "node:fs";
import { TunkitError, UsageError } from "../common/errors.ts";
import { HANDSHAKE_BUCKETS, type TunnelStats } from "./stats.ts";

/** Where to serve: a loopback host and port, or a unix socket path. */
export type MetricsAddress = { host: string; port: number } | { path: string };

/**
 * Parses `127.0.0.1:9184`, `[::1]:9184`, `localhost:9184` or `unix:/run/tunkit/metrics.sock`.
 * Anything but loopback is refused (UsageError): metrics are for the local scraper or a proxy.
 *
 * @example
 * ```ts
 * import { parseMetricsAddress } from "./metrics.ts";
 * parseMetricsAddress("127.0.0.1:9184"); // { host: "127.0.0.1", port: 9184 }
 * parseMetricsAddress("unix:/run/tunkit/m.sock"); // { path: "/run/tunkit/m.sock" }
 * ```
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const bad = (why: string) => new UsageError(`Invalid metrics address "${text}": ${why}`);
  if (text.startsWith("unix:")) {
    const path = text.slice(5);
    if (!path.startsWith("/") || path.length > 107) throw bad("expected unix:/absolute/path (at most 107 bytes)");
    return { path };
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+|localhost)):(\d{1,5})$/.exec(text);
  if (!m) throw bad("expected 127.0.0.1:PORT, [::1]:PORT or unix:/PATH");
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) throw bad(`port "${m[3]}" is not in 1..65535`);
  const loop = host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
  if (!loop) throw bad("only loopback (127.0.0.0/8, ::1) or a unix socket: put a scraper or an authenticating proxy in front");
  return { host: host === "localhost" ? "127.0.0.1" : host, port };
}

/** The gauges a scrape reads besides the counters. */
export interface MetricsState {
  stats: TunnelStats;
  /** TCP flows by state (connecting, ready, open, closing). */
  tcpByState: () => Record<string, number>;
  /** 1 while the proxy answers its handshake, 0 while not, undefined before the first probe. */
  proxyUp: () => boolean | undefined;
  /** Open file descriptors of the process. */
  openFds?: () => number;
}

/**
 * The metrics text for one scrape.
 *
 * @example
 * ```ts
 * import { metricsText } from "./metrics.ts";
 * import { TunnelStats } from "./stats.ts";
 * const text = metricsText({ stats: new TunnelStats(), tcpByState: () => ({ open: 0 }), proxyUp: () => true });
 * text.includes("tunkit_proxy_up 1"); // true
 * ```
 */
export function metricsText(m: MetricsState): string {
  const s = m.stats;
  const out: string[] = [];
  const metric = (name: string, type: "counter" | "gauge" | "histogram", help: string, samples: Array<[string, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of samples) out.push(`${name}${labels} ${Number.isFinite(v) ? v : 0}`);
  };
  const states = m.tcpByState();
  metric("tunkit_tcp_flows", "gauge", "TCP flows by state.", Object.entries(states).map(([k, v]) => [`{state="${k}"}`, v]));
  metric("tunkit_tcp_flows_total", "counter", "TCP flows seen.", [["", s.tcpTotal]]);
  metric("tunkit_tcp_failed_total", "counter", "TCP flows the proxy could not carry.", [["", s.tcpFailed]]);
  metric("tunkit_tcp_resets_total", "counter", "TCP flows reset by the far end (normal, not an error).", [["", s.farResets]]);
  metric("tunkit_tcp_idle_closed_total", "counter", "TCP flows closed by the idle timeout.", [["", s.idleClosed]]);
  metric("tunkit_udp_sessions", "gauge", "UDP flows open.", [["", s.udpActive]]);
  metric("tunkit_udp_sessions_total", "counter", "UDP flows seen.", [["", s.udpTotal]]);
  metric("tunkit_udp_refused_total", "counter", "UDP datagrams refused (HTTP proxy).", [["", s.udpRefused]]);
  metric("tunkit_session_limit_total", "counter", "Flows refused by --max-sessions.", [["", s.sessionLimit]]);
  metric("tunkit_bytes_total", "counter", "Payload bytes through the proxy.", [['{direction="up"}', s.bytesUp], ['{direction="down"}', s.bytesDown]]);
  metric("tunkit_packets_total", "counter", "Packets read from and written to the tun.", [['{direction="in"}', s.packetsIn], ['{direction="out"}', s.packetsOut], ['{direction="dropped"}', s.dropped]]);
  metric("tunkit_dns_answers_total", "counter", "DNS queries by how they were answered.", [['{how="fake-ip"}', s.dnsFake], ['{how="tcp"}', s.dnsTcp - s.dnsFailed], ['{how="failed"}', s.dnsFailed]]);
  metric("tunkit_errors_total", "counter", "Errors by kind.", [...s.errorsByKind].map(([k, v]) => [`{kind="${k}"}`, v]));
  const up = m.proxyUp();
  metric("tunkit_proxy_up", "gauge", "1 while the proxy answers its handshake.", up === undefined ? [] : [["", up ? 1 : 0]]);
  out.push("# HELP tunkit_proxy_handshake_seconds Time to connect to the proxy and finish its handshake.", "# TYPE tunkit_proxy_handshake_seconds histogram");
  let cum = 0;
  HANDSHAKE_BUCKETS.forEach((b, i) => {
    cum += s.handshakeBuckets[i]!;
    out.push(`tunkit_proxy_handshake_seconds_bucket{le="${b}"} ${cum}`);
  });
  out.push(`tunkit_proxy_handshake_seconds_bucket{le="+Inf"} ${s.handshakeCount}`);
  out.push(`tunkit_proxy_handshake_seconds_sum ${s.handshakeSum}`, `tunkit_proxy_handshake_seconds_count ${s.handshakeCount}`);
  if (m.openFds) metric("tunkit_open_fds", "gauge", "Open file descriptors.", [["", m.openFds()]]);
  metric("tunkit_uptime_seconds", "gauge", "Seconds since the tunnel started.", [["", Math.round((Date.now() - s.started) / 1000)]]);
  return out.join("\n") + "\n";
}

/**
 * Serves {@link metricsText} at `/metrics` (and `/`). Resolves once listening; `close()` stops
 * it (and removes a unix socket file).
 *
 * @example
 * ```ts
 * import { serveMetrics } from "./metrics.ts";
 * // const srv = await serveMetrics({ host: "127.0.0.1", port: 9184 }, state);
 * // await srv.close();
 * ```
 */
export async function serveMetrics(addr: MetricsAddress, state: MetricsState): Promise<{ close(): Promise<void> }> {
  // loaded here, not with the module: node:http is ~1,000 functions (0.9 MB of JS heap in a
  // compiled binary) that a tunnel without --metrics never runs
  const http = await import("node:http");
  const srv = http.createServer((req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    const path = (req.url ?? "/").split("?")[0];
    if (path !== "/metrics" && path !== "/") {
      res.writeHead(404).end("not found\n");
      return;
    }
    const body = metricsText(state);
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
    res.end(req.method === "HEAD" ? undefined : body);
  });
  if ("path" in addr) rmSync(addr.path, { force: true });
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    const done = () => {
      srv.off("error", reject);
      resolve();
    };
    if ("path" in addr) srv.listen(addr.path, done);
    else srv.listen(addr.port, addr.host, done);
  }).catch((e: Error & { code?: string }) => {
    const where = "path" in addr ? addr.path : `${addr.host}:${addr.port}`;
    throw new TunkitError(`Cannot serve metrics on ${where}: ${e.code ?? e.message}`, e.code === "EADDRINUSE" ? "something else listens there: give another --metrics address" : undefined);
  });
  srv.unref();
  return {
    close: () =>
      new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeAllConnections?.();
        if ("path" in addr) rmSync(addr.path, { force: true });
      }),
  };
}
