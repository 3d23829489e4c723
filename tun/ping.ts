/**
 * {@link ping}: ICMP / ICMPv6 echo through the kernel, with tunkit's own FFI (no `ping` binary
 * needed: slim images ship none). The socket is an unprivileged ICMP "ping socket" (SOCK_DGRAM,
 * allowed when the group is in net.ipv4.ping_group_range) or, failing that, a raw ICMP socket
 * (CAP_NET_RAW), as iputils' ping chooses. Replies are read through the shared poller: the event
 * loop never blocks, an idle wait costs nothing.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { sys, raw, errno, ERRNO, SysError, SOCK } from "../ffi/libc.ts";
import { INET, packSockaddrIn, sockaddrInAddress, SOCKADDR_IN6_SIZE } from "../ffi/abi.ts";
import { MultiRecv } from "../ffi/mmsg.ts";
import { watch } from "../ffi/poller.ts";
import { UsageError } from "../common/errors.ts";
import { formatIp, parseIp } from "../common/addr.ts";
import { checkIfName } from "../common/ifname.ts";
import { internetChecksum } from "../packet/checksum.ts";

/** What {@link ping} does; every field is optional. */
export interface PingOptions {
  /** Echo requests to send (default: until `signal` or `deadlineMs`). */
  count?: number;
  /** Milliseconds between requests (default 1000). */
  intervalMs?: number;
  /** Milliseconds to wait for replies after the last request (default 10,000, as ping -W). */
  timeoutMs?: number;
  /** Milliseconds after which everything stops, replies or not (ping -w). */
  deadlineMs?: number;
  /** Payload bytes after the 8-byte ICMP header (default 56, as ping -s). */
  size?: number;
  /** TTL / hop limit of the requests. */
  ttl?: number;
  /** Send and receive through this interface only (SO_BINDTODEVICE, as ping -I). */
  interface?: string;
  /** Address family to resolve a host name to (an address literal decides by itself). */
  family?: 4 | 6;
  /** "auto" (default): a ping socket, else a raw socket; or force one. */
  socket?: "auto" | "dgram" | "raw";
  /** Ends the run early (the statistics so far are returned). */
  signal?: AbortSignal;
  /** Called once the socket is open, before the first request. */
  onStart?: (info: PingStart) => void;
  /** Called for each reply (duplicates included). */
  onReply?: (reply: PingReply) => void;
}

/** Known once the socket is open. */
export interface PingStart {
  /** The address pinged (a host name resolved). */
  address: string;
  /** IPv4 or IPv6. */
  family: 4 | 6;
  /** The socket used: an unprivileged ICMP datagram socket, or a raw one. */
  socket: "dgram" | "raw";
  /** Payload bytes per request. */
  size: number;
}

/** One echo reply. */
export interface PingReply {
  /** ICMP sequence number. */
  seq: number;
  /** Who answered. */
  from: string;
  /** ICMP bytes (header + payload), as ping's "64 bytes from". */
  bytes: number;
  /** TTL (IPv4) or hop limit (IPv6) of the reply, when the kernel told it. */
  ttl: number | undefined;
  /** Round-trip time in milliseconds. */
  rttMs: number;
  /** A second reply to the same request. */
  duplicate: boolean;
}

/** The statistics of a run, as ping's summary. */
export interface PingResult extends PingStart {
  /** The address pinged. */
  target: string;
  /** Requests sent. */
  transmitted: number;
  /** Distinct requests answered. */
  received: number;
  /** Replies seen more than once. */
  duplicates: number;
  /** Percent of requests not answered. */
  loss: number;
  /** Milliseconds from the first request to the end. */
  elapsedMs: number;
  /** Round-trip statistics in ms, undefined without a reply. */
  rtt: PingRtt | undefined;
  /** Every reply, in arrival order. */
  replies: PingReply[];
}

/** Round-trip statistics in milliseconds (mdev as ping computes it). */
export interface PingRtt {
  /** Fastest round trip, ms. */
  min: number;
  /** Mean round trip, ms. */
  avg: number;
  /** Slowest round trip, ms. */
  max: number;
  /** Mean deviation of the round trips, ms (ping's mdev). */
  mdev: number;
}

const ECHO_REQUEST = { 4: 8, 6: 128 } as const;
const ECHO_REPLY = { 4: 0, 6: 129 } as const;
/** Payload bytes that carry the per-run cookie (so a raw socket ignores other pingers' replies). */
const COOKIE_LEN = 4;

/**
 * Builds the ICMP echo request a socket sends (no IP header): type, code 0, checksum (the
 * kernel recomputes it for ping sockets and ICMPv6), id, seq, then `payload`.
 *
 * @example
 * ```ts
 * import { buildEchoRequest } from "./ping.ts";
 * const m = buildEchoRequest(4, 0x1234, 1, new Uint8Array([1, 2, 3, 4]));
 * m.length; // 12
 * m[0]; // 8
 * ```
 */
export function buildEchoRequest(family: 4 | 6, id: number, seq: number, payload: Uint8Array): Uint8Array {
  const m = new Uint8Array(8 + payload.length);
  m[0] = ECHO_REQUEST[family];
  m[4] = (id >> 8) & 0xff;
  m[5] = id & 0xff;
  m[6] = (seq >> 8) & 0xff;
  m[7] = seq & 0xff;
  m.set(payload, 8);
  if (family === 4) {
    const cs = internetChecksum(m);
    m[2] = cs >> 8;
    m[3] = cs & 0xff;
  }
  return m;
}

/** An echo reply found in a datagram. */
export interface EchoReplyView {
  /** ICMP identifier. */
  id: number;
  /** ICMP sequence number. */
  seq: number;
  /** The ICMP message (header + payload). */
  icmp: Uint8Array;
  /** TTL from the IPv4 header (raw IPv4 sockets only). */
  ttl: number | undefined;
  /** Sender from the IPv4 header (raw IPv4 sockets only). */
  src: Uint8Array | undefined;
}

/**
 * Finds an echo reply in what an ICMP socket received: raw IPv4 sockets deliver the IP header
 * first, ping sockets and ICMPv6 sockets the ICMP message alone. Anything else (another ICMP
 * type, a short or damaged datagram): undefined. Never throws.
 *
 * @example
 * ```ts
 * import { parseEchoReply } from "./ping.ts";
 * const icmp = new Uint8Array([0, 0, 0, 0, 0x12, 0x34, 0, 7]);
 * parseEchoReply(icmp, 4, false)?.seq; // 7
 * parseEchoReply(icmp, 6, false); // undefined
 * ```
 */
export function parseEchoReply(data: Uint8Array, family: 4 | 6, withIpHeader: boolean): EchoReplyView | undefined {
  let icmp = data;
  let ttl: number | undefined;
  let src: Uint8Array | undefined;
  if (withIpHeader) {
    if (data.length < 20 || data[0]! >> 4 !== 4) return undefined;
    const ihl = (data[0]! & 0x0f) * 4;
    if (ihl < 20 || data.length < ihl) return undefined;
    ttl = data[8];
    src = data.slice(12, 16);
    icmp = data.subarray(ihl);
  }
  if (icmp.length < 8 || icmp[0] !== ECHO_REPLY[family] || icmp[1] !== 0) return undefined;
  return { id: (icmp[4]! << 8) | icmp[5]!, seq: (icmp[6]! << 8) | icmp[7]!, icmp, ttl, src };
}

/**
 * min/avg/max/mdev of round-trip times, as ping prints them (mdev = sqrt(mean(x²) - mean(x)²)).
 *
 * @example
 * ```ts
 * import { rttStats } from "./ping.ts";
 * rttStats([1, 3]); // { min: 1, avg: 2, max: 3, mdev: 1 }
 * rttStats([]); // undefined
 * ```
 */
export function rttStats(rtts: readonly number[]): PingRtt | undefined {
  if (!rtts.length) return undefined;
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sum2 = 0;
  for (const r of rtts) {
    min = Math.min(min, r);
    max = Math.max(max, r);
    sum += r;
    sum2 += r * r;
  }
  const avg = sum / rtts.length;
  return { min, avg, max, mdev: Math.sqrt(Math.max(0, sum2 / rtts.length - avg * avg)) };
}

/** A target split into address text and zone (`fe80::1%tun0`). */
function splitZone(target: string): { host: string; zone: string | undefined } {
  const pct = target.indexOf("%");
  return pct < 0 ? { host: target, zone: undefined } : { host: target.slice(0, pct), zone: target.slice(pct + 1) };
}

/**
 * Resolves a ping target: an IPv4/IPv6 literal (IPv6 with an optional `%zone`), or a host name
 * through the system resolver (/etc/hosts, DNS).
 *
 * @example
 * ```ts
 * import { resolvePingTarget } from "./ping.ts";
 * (await resolvePingTarget("192.0.2.1")).family; // 4
 * ```
 */
export async function resolvePingTarget(target: string, family?: 4 | 6): Promise<{ bytes: Uint8Array; family: 4 | 6; scopeId: number }> {
  const { host, zone } = splitZone(target);
  let bytes: Uint8Array | undefined;
  if (/^[\d.]+$/.test(host) || host.includes(":")) bytes = parseIp(host);
  else {
    if (!/^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})$/.test(host)) throw new UsageError(`Invalid ping target "${target}": expected an IP address or a host name`);
    try {
      const r = await lookup(host, { family: family ?? 0, verbatim: true });
      bytes = parseIp(r.address);
    } catch {
      throw new SysError("resolve", ERRNO.ENOENT, host, `"${host}" has no ${family ? `IPv${family} ` : ""}address here (/etc/hosts, DNS): use an IP address`);
    }
  }
  const fam: 4 | 6 = bytes.length === 4 ? 4 : 6;
  if (family !== undefined && family !== fam) throw new UsageError(`Invalid ping target "${target}": expected an IPv${family} address`);
  let scopeId = 0;
  if (zone !== undefined) {
    if (fam !== 6) throw new UsageError(`Invalid ping target "${target}": a zone (%${zone}) is for IPv6 link-local addresses`);
    scopeId = /^\d+$/.test(zone) ? Number(zone) : sys.ifNameToIndex(checkIfName(zone));
    if (!scopeId) throw new SysError("if_nametoindex", ERRNO.ENODEV, zone, `there is no interface "${zone}" here`);
  }
  return { bytes, family: fam, scopeId };
}

/** Opens the ICMP socket: a ping socket when allowed, else raw (needs CAP_NET_RAW). */
function openIcmpSocket(family: 4 | 6, want: "auto" | "dgram" | "raw"): { fd: number; kind: "dgram" | "raw" } {
  const domain = family === 4 ? SOCK.AF_INET : SOCK.AF_INET6;
  const proto = family === 4 ? INET.IPPROTO_ICMP : INET.IPPROTO_ICMPV6;
  const type = SOCK.SOCK_NONBLOCK | SOCK.SOCK_CLOEXEC;
  let dgramErr = 0;
  if (want !== "raw") {
    const fd = raw.socket(domain, SOCK.SOCK_DGRAM | type, proto);
    if (fd >= 0) return { fd, kind: "dgram" };
    dgramErr = errno();
    if (want === "dgram") throw new SysError("socket(ICMP, SOCK_DGRAM)", dgramErr, undefined, pingSocketHint(dgramErr));
  }
  const fd = raw.socket(domain, SOCK.SOCK_RAW | type, proto);
  if (fd >= 0) return { fd, kind: "raw" };
  const e = errno();
  if (e === ERRNO.EPERM || e === ERRNO.EACCES) {
    throw new SysError("socket(ICMP)", e, undefined, (dgramErr ? pingSocketHint(dgramErr) + "; " : "") + "a raw ICMP socket needs CAP_NET_RAW: run as root or setcap cap_net_raw+ep on the binary");
  }
  throw new SysError("socket(ICMP, SOCK_RAW)", e);
}

function pingSocketHint(e: number): string {
  if (e === ERRNO.EACCES || e === ERRNO.EPERM) {
    return "ping sockets are not allowed for your group here (net.ipv4.ping_group_range; allow them with: sysctl -w net.ipv4.ping_group_range='0 2147483647')";
  }
  return "this kernel has no ICMP ping sockets";
}

/**
 * Reads the control messages of one datagram (`struct cmsghdr` {size_t len; int level; int
 * type} + data, 8-aligned): the TTL / hop limit, and the kernel's arrival stamp in ns.
 */
function readControl(view: DataView, off: number, len: number, out: { ttl: number | undefined; stampNs: bigint | undefined }): void {
  out.ttl = undefined;
  out.stampNs = undefined;
  let p = 0;
  while (p + 16 <= len) {
    const clen = Number(view.getBigUint64(off + p, true));
    if (clen < 16 || p + clen > len) return;
    const level = view.getInt32(off + p + 8, true);
    const type = view.getInt32(off + p + 12, true);
    if (((level === INET.IPPROTO_IP && type === INET.IP_TTL) || (level === INET.IPPROTO_IPV6 && type === INET.IPV6_HOPLIMIT)) && clen >= 20) {
      out.ttl = view.getInt32(off + p + 16, true);
    } else if (level === SOCK.SOL_SOCKET && type === INET.SO_TIMESTAMPNS && clen >= 32) {
      out.stampNs = view.getBigInt64(off + p + 16, true) * 1_000_000_000n + view.getBigInt64(off + p + 24, true);
    }
    p += (clen + 7) & ~7;
  }
}

function checkOptions(o: PingOptions): void {
  const int = (v: number | undefined, what: string, min: number, max: number) => {
    if (v !== undefined && !(Number.isInteger(v) && v >= min && v <= max)) throw new UsageError(`Invalid ${what} "${v}": expected ${min}..${max}`);
  };
  int(o.count, "count", 1, Number.MAX_SAFE_INTEGER);
  int(o.size, "packet size", 0, 65507);
  int(o.ttl, "TTL", 1, 255);
  for (const [v, what] of [[o.intervalMs, "interval"], [o.timeoutMs, "timeout"], [o.deadlineMs, "deadline"]] as const) {
    if (v !== undefined && !(v >= 0 && v <= 86_400_000)) throw new UsageError(`Invalid ${what} "${v}": expected 0..86400000 milliseconds`);
  }
  if (o.interface !== undefined) checkIfName(o.interface);
}

/**
 * Pings `target` (an address, `fe80::1%tun0`, or a host name): sends echo requests every
 * `intervalMs`, collects the replies, and resolves with ping's statistics once `count`
 * requests are answered or timed out, at `deadlineMs`, or when `signal` aborts. No reply at all
 * is a result (received 0), not an error; errors are for what the system refused (no socket,
 * no route: a SysError with a hint).
 *
 * @example
 * ```ts
 * import { ping } from "./ping.ts";
 * const r = await ping("127.0.0.1", { count: 2, intervalMs: 200, timeoutMs: 2000 });
 * console.log(`${r.received}/${r.transmitted} replies, ${r.rtt?.avg.toFixed(3)} ms`);
 * ```
 */
export async function ping(target: string, opts: PingOptions = {}): Promise<PingResult> {
  checkOptions(opts);
  const dst = await resolvePingTarget(target, opts.family);
  const family = dst.family;
  const size = opts.size ?? 56;
  const count = opts.count ?? Infinity;
  const intervalMs = opts.intervalMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const { fd, kind } = openIcmpSocket(family, opts.socket ?? "auto");
  let w: ReturnType<typeof watch> | undefined;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  try {
    const lvl = family === 4 ? INET.IPPROTO_IP : INET.IPPROTO_IPV6;
    sys.setsockoptInt(fd, lvl, family === 4 ? INET.IP_RECVTTL : INET.IPV6_RECVHOPLIMIT, 1);
    // Round trips from the kernel's clock at both ends (send: clock_gettime right before sendto;
    // arrival: SO_TIMESTAMPNS), so the event loop's wake-up latency is not counted.
    sys.setsockoptInt(fd, SOCK.SOL_SOCKET, INET.SO_TIMESTAMPNS, 1);
    if (opts.ttl !== undefined) sys.setsockoptInt(fd, lvl, family === 4 ? INET.IP_TTL : INET.IPV6_UNICAST_HOPS, opts.ttl);
    if (opts.interface !== undefined) {
      const name = new TextEncoder().encode(opts.interface + "\0");
      try {
        sys.setsockopt(fd, SOCK.SOL_SOCKET, INET.SO_BINDTODEVICE, name, "setsockopt(SO_BINDTODEVICE)");
      } catch (e) {
        if (e instanceof SysError && e.errno === ERRNO.ENODEV) throw new SysError("setsockopt(SO_BINDTODEVICE)", ERRNO.ENODEV, opts.interface, `there is no interface "${opts.interface}" here`);
        throw e;
      }
    }
    const address = formatIp(dst.bytes);
    const to = packSockaddrIn(dst.bytes, 0, dst.scopeId);
    // A raw socket sees every echo reply of the host: ours carry our id and our cookie.
    const id = kind === "raw" ? (process.pid ^ Math.floor(Math.random() * 0x10000)) & 0xffff : 0;
    const cookie = crypto.getRandomValues(new Uint8Array(COOKIE_LEN));
    const payload = new Uint8Array(size);
    for (let i = 0; i < size; i++) payload[i] = i < COOKIE_LEN ? cookie[i]! : (i + 8) & 0xff;
    opts.onStart?.({ address, family, socket: kind, size });

    const sent = new Map<number, bigint>(); // seq (16 bits) -> CLOCK_REALTIME ns of the send
    const seen = new Set<number>();
    const replies: PingReply[] = [];
    const rtts: number[] = [];
    let transmitted = 0;
    let duplicates = 0;
    const t0 = performance.now();
    const rx = new MultiRecv(8, Math.max(size + 8 + 60, 128), SOCKADDR_IN6_SIZE, 64);

    let finish: () => void = () => {};
    const finished = new Promise<void>((r) => (finish = r));
    let failure: unknown;
    const later = (ms: number, fn: () => void) => {
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, ms);
      timers.add(t);
    };
    const maybeDone = () => {
      if (transmitted >= count && seen.size >= transmitted) finish();
    };

    const drain = () => {
      for (;;) {
        const n = rx.recv(fd, SOCK.MSG_DONTWAIT, "recvmmsg(ICMP)");
        if (n <= 0) break;
        const now = sys.realtimeNs();
        const ctl = { ttl: undefined as number | undefined, stampNs: undefined as bigint | undefined };
        for (let i = 0; i < n; i++) {
          const data = rx.slot(i).subarray(0, Math.min(rx.length(i), rx.slotSize));
          const r = parseEchoReply(data, family, kind === "raw" && family === 4);
          if (!r) continue;
          if (kind === "raw" && r.id !== id) continue;
          const body = r.icmp.subarray(8);
          if (size >= COOKIE_LEN && !cookie.every((b, j) => body[j] === b)) continue;
          const at = sent.get(r.seq);
          if (at === undefined) continue;
          const from = r.src ?? sockaddrInAddress(rx.name(i));
          if (rx.control) readControl(rx.control, rx.controlOffset(i), rx.controlLength(i), ctl);
          const ttl = r.ttl ?? ctl.ttl;
          const arrived = ctl.stampNs !== undefined && ctl.stampNs >= at ? ctl.stampNs : now;
          const duplicate = seen.has(r.seq);
          const reply: PingReply = { seq: r.seq, from: from ? formatIp(from) : address, bytes: r.icmp.length, ttl, rttMs: Number(arrived - at) / 1e6, duplicate };
          if (duplicate) duplicates++;
          else {
            seen.add(r.seq);
            rtts.push(reply.rttMs);
          }
          replies.push(reply);
          opts.onReply?.(reply);
        }
      }
      maybeDone();
    };
    w = watch(fd, () => {
      try {
        drain();
        w?.arm();
      } catch (e) {
        failure = e;
        finish();
      }
    });
    w.arm();

    const sendOne = () => {
      if (transmitted >= count) return;
      const seq = (transmitted + 1) & 0xffff;
      const m = buildEchoRequest(family, id, seq, payload);
      sent.set(seq, sys.realtimeNs());
      seen.delete(seq);
      try {
        sys.sendto(fd, m, m.length, 0, to);
      } catch (e) {
        if (e instanceof SysError) failure = new SysError("sendto", e.errno, address, sendHint(e.errno, address, opts.interface));
        else failure = e;
        finish();
        return;
      }
      transmitted++;
      if (transmitted < count) later(intervalMs, sendOne);
      else later(timeoutMs, finish);
    };
    if (opts.deadlineMs !== undefined) later(opts.deadlineMs, finish);
    const onAbort = () => finish();
    if (opts.signal?.aborted) finish();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (!opts.signal?.aborted) sendOne();
    await finished;
    opts.signal?.removeEventListener("abort", onAbort);
    if (failure !== undefined) throw failure;
    drain(); // replies already queued count
    const received = seen.size;
    return {
      target,
      address,
      family,
      socket: kind,
      size,
      transmitted,
      received,
      duplicates,
      loss: transmitted ? ((transmitted - received) * 100) / transmitted : 0,
      elapsedMs: performance.now() - t0,
      rtt: rttStats(rtts),
      replies,
    };
  } finally {
    for (const t of timers) clearTimeout(t);
    w?.close();
    sys.close(fd);
  }
}

function sendHint(e: number, address: string, iface: string | undefined): string | undefined {
  if (e === ERRNO.ENETUNREACH || e === ERRNO.EHOSTUNREACH) return `no route to ${address}${iface ? ` through ${iface}` : ""} in this network namespace: add one (tunkit route add ${address} dev IFACE)`;
  if (e === ERRNO.EMSGSIZE) return "the request is larger than the path MTU: use a smaller -s";
  if (e === ERRNO.EPERM || e === ERRNO.EACCES) return "a firewall rule refused the request";
  return undefined;
}
