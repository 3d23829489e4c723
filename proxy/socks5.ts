/**
 * SOCKS5 client (RFC 1928): CONNECT and UDP ASSOCIATE, no-auth or user name/password
 * (RFC 1929), IPv4, IPv6 and domain-name destinations; plus the UDP request header codec.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { formatIpv4, formatIpv6, parseIp } from "../common/addr.ts";
import { MalformedError, TruncatedError } from "../common/errors.ts";
import { ByteQueue, connectTcp, dialHandshake, runMachine, type Dialer, type DialSocketOptions, type HandshakeMachine, type HandshakeStep, ProxyError, type ProxyStream, type StreamSocket } from "./dial.ts";
import { formatTarget, ipVersion, type ProxyUrl, type Target } from "./url.ts";

/** SOCKS5 commands. */
export const SOCKS_CMD = { CONNECT: 1, BIND: 2, UDP_ASSOCIATE: 3 } as const;

/** Reply codes (RFC 1928 section 6) and what they mean. */
export const SOCKS_REPLY: Readonly<Record<number, string>> = {
  0: "succeeded",
  1: "general SOCKS server failure",
  2: "connection not allowed by ruleset",
  3: "network unreachable",
  4: "host unreachable",
  5: "connection refused",
  6: "TTL expired",
  7: "command not supported",
  8: "address type not supported",
};

/**
 * Encodes ATYP + address + port for `t` (IPv4 1, domain 3, IPv6 4).
 *
 * @example
 * ```ts
 * import { encodeSocksAddress } from "./socks5.ts";
 * encodeSocksAddress({ host: "192.0.2.7", port: 80 }); // [1, 192, 0, 2, 7, 0, 80]
 * encodeSocksAddress({ host: "example.com", port: 443 })[0]; // 3
 * ```
 */
export function encodeSocksAddress(t: Target): Uint8Array {
  let out: Uint8Array;
  if (ipVersion(t.host)) {
    const ip = parseIp(t.host);
    out = new Uint8Array(1 + ip.length + 2);
    out[0] = ip.length === 4 ? 1 : 4;
    out.set(ip, 1);
  } else {
    const name = new TextEncoder().encode(t.host);
    if (name.length < 1 || name.length > 255) throw new MalformedError(`Invalid SOCKS5 domain name "${t.host}": 1..255 bytes`, 0);
    out = new Uint8Array(2 + name.length + 2);
    out[0] = 3;
    out[1] = name.length;
    out.set(name, 2);
  }
  out[out.length - 2] = t.port >> 8;
  out[out.length - 1] = t.port & 0xff;
  return out;
}

/**
 * Decodes ATYP + address + port at `off`; returns the target and the offset after it.
 * Throws TruncatedError / MalformedError.
 *
 * @example
 * ```ts
 * import { decodeSocksAddress } from "./socks5.ts";
 * decodeSocksAddress(new Uint8Array([1, 192, 0, 2, 7, 0, 80]), 0); // { target: { host: "192.0.2.7", port: 80 }, next: 7 }
 * ```
 */
export function decodeSocksAddress(b: Uint8Array, off: number): { target: Target; next: number } {
  const need = (n: number) => {
    if (off + n > b.length) throw new TruncatedError("SOCKS5 address", off, n, b.length);
  };
  need(1);
  const atyp = b[off]!;
  let host: string;
  let p = off + 1;
  if (atyp === 1) {
    need(7);
    host = formatIpv4(b, p);
    p += 4;
  } else if (atyp === 4) {
    need(19);
    host = formatIpv6(b, p);
    p += 16;
  } else if (atyp === 3) {
    need(2);
    const n = b[p]!;
    need(2 + n + 2);
    host = new TextDecoder().decode(b.subarray(p + 1, p + 1 + n));
    p += 1 + n;
  } else {
    throw new MalformedError(`Invalid SOCKS5 address type "${atyp}"`, off);
  }
  return { target: { host, port: (b[p]! << 8) | b[p + 1]! }, next: p + 2 };
}

/**
 * A SOCKS5 UDP request header + payload: RSV(2) FRAG(1) ATYP ADDR PORT DATA.
 *
 * @example
 * ```ts
 * import { encodeSocksUdp } from "./socks5.ts";
 * encodeSocksUdp({ host: "198.51.100.2", port: 7 }, new Uint8Array([104, 105])).length; // 10 + 2
 * ```
 */
export function encodeSocksUdp(t: Target, data: Uint8Array): Uint8Array {
  const a = encodeSocksAddress(t);
  const out = new Uint8Array(3 + a.length + data.length);
  out.set(a, 3);
  out.set(data, 3 + a.length);
  return out;
}

/**
 * Decodes a SOCKS5 UDP datagram from the relay. Fragments (FRAG != 0) are refused with a
 * MalformedError (tunkit never sends them; RFC 1928 makes support optional).
 *
 * @example
 * ```ts
 * import { decodeSocksUdp, encodeSocksUdp } from "./socks5.ts";
 * decodeSocksUdp(encodeSocksUdp({ host: "198.51.100.2", port: 7 }, new Uint8Array([1]))).target.port; // 7
 * ```
 */
export function decodeSocksUdp(b: Uint8Array): { target: Target; data: Uint8Array } {
  if (b.length < 4) throw new TruncatedError("SOCKS5 UDP header", 0, 4, b.length);
  if (b[2] !== 0) throw new MalformedError(`Invalid SOCKS5 UDP fragment "${b[2]}": fragments are not supported`, 2);
  const { target, next } = decodeSocksAddress(b, 3);
  return { target, data: b.subarray(next) };
}

const GREET_NOAUTH = Uint8Array.of(5, 1, 0);
const GREET_AUTH = Uint8Array.of(5, 2, 0, 2);
/** Pipelined with credentials: only user/password is offered, so the bytes after the greeting are surely read as RFC 1929's. */
const GREET_USERPASS = Uint8Array.of(5, 1, 2);

/**
 * The SOCKS5 handshake as a {@link HandshakeMachine}: greeting, optional user/password, then the
 * request (`CONNECT target`, or `UDP ASSOCIATE`) and its reply, whose bound address is `bound`
 * once done; with no request (`cmd` 0: {@link Socks5Dialer.probe}), done after authentication.
 * Every SOCKS5 handshake tunkit makes goes through it, on Bun's sockets and on node:net's.
 *
 * `pipelined`: greeting, credentials and request go out in one write (one round trip to the proxy
 * instead of two, three with credentials), and the replies are read in a row; with credentials only
 * user/password is offered then. Only for a proxy known to read past the greeting (see
 * {@link Socks5Dialer.learnPipelining}): microsocks, for one, drops what follows the greeting in
 * the same segment and then waits for ever.
 */
class Socks5Machine implements HandshakeMachine {
  private state = 0; // 0 method, 1 auth status, 2 reply
  private readonly q = new ByteQueue();
  /** With `done` after a request: the address in the proxy's reply (BND.ADDR:BND.PORT). */
  bound: Target | undefined;
  constructor(
    private readonly url: ProxyUrl,
    private readonly who: string,
    private readonly cmd: number,
    private readonly target: Target,
    private readonly pipelined = false,
  ) {}

  start(): Uint8Array {
    const auth = this.url.username !== undefined;
    if (!this.pipelined || this.cmd === 0) return auth ? GREET_AUTH : GREET_NOAUTH;
    const greet = auth ? GREET_USERPASS : GREET_NOAUTH;
    const cred = auth ? this.credentials() : NO_BYTES;
    const req = this.request();
    const out = new Uint8Array(greet.length + cred.length + req.length);
    out.set(greet);
    out.set(cred, greet.length);
    out.set(req, greet.length + cred.length);
    return out;
  }

  /** RFC 1929's user name/password request. */
  private credentials(): Uint8Array {
    const u = new TextEncoder().encode(this.url.username);
    const p = new TextEncoder().encode(this.url.password ?? "");
    const out = new Uint8Array(3 + u.length + p.length);
    out[0] = 1;
    out[1] = u.length;
    out.set(u, 2);
    out[2 + u.length] = p.length;
    out.set(p, 3 + u.length);
    return out;
  }

  /** The request: VER CMD RSV and the target's address. */
  private request(): Uint8Array {
    const a = encodeSocksAddress(this.target);
    const r = new Uint8Array(3 + a.length);
    r[0] = 5;
    r[1] = this.cmd;
    r.set(a, 3);
    return r;
  }

  /** After authentication: the request (sent already when pipelined), or done when there is none. */
  private authenticated(): HandshakeStep | undefined {
    if (this.cmd === 0) return { done: true, rest: this.q.bytes };
    this.state = 2;
    return this.pipelined ? undefined : { send: this.request(), done: false };
  }

  feed(d: Uint8Array): HandshakeStep {
    this.q.add(d);
    // Pipelined, one piece may hold the method reply, the auth status and the request's reply.
    for (;;) {
      const state = this.state;
      const step = this.step();
      if (step || this.state === state) return step ?? { done: false };
    }
  }

  /** Parses what the current state waits for: a step to return, or undefined to go on parsing. */
  private step(): HandshakeStep | undefined {
    const q = this.q;
    const who = this.who;
    if (this.state === 0) {
      if (q.bytes.length < 2) return { done: false };
      const m = q.take(2);
      const ver = m[0]!;
      const method = m[1]!;
      if (ver !== 5) throw new ProxyError("protocol", `${who} is not a SOCKS5 server (version byte ${ver})`);
      const auth = this.url.username !== undefined;
      if (method === 0xff) {
        throw new ProxyError(
          "auth",
          `${who} accepts none of the offered authentication methods (${auth ? (this.pipelined ? "user/password" : "none, user/password") : "none"})`,
          auth ? undefined : "the proxy wants credentials: socks5://user:pass@host:port",
        );
      }
      if (method === 2) {
        if (!auth) throw new ProxyError("protocol", `${who} chose user/password authentication, which was not offered`);
        this.state = 1;
        return this.pipelined ? undefined : { send: this.credentials(), done: false };
      }
      if (method !== 0 || (this.pipelined && auth)) throw new ProxyError("protocol", `${who} chose authentication method ${method}, which was not offered`);
      return this.authenticated();
    }
    if (this.state === 1) {
      if (q.bytes.length < 2) return { done: false };
      const status = q.take(2)[1];
      if (status !== 0) throw new ProxyError("auth", `${who} refused the user name and password (status ${status})`, "check the user name and password in the proxy URL (socks5://user:pass@host:port)");
      return this.authenticated();
    }
    const b = q.bytes;
    if (b.length < 5) return { done: false };
    if (b[0] !== 5) throw new ProxyError("protocol", `${who} sent a reply of version ${b[0]}`);
    const atyp = b[3]!;
    const len = atyp === 1 ? 10 : atyp === 4 ? 22 : atyp === 3 ? 7 + b[4]! : -1;
    if (len < 0) throw new ProxyError("protocol", `${who} sent address type ${atyp}`);
    if (b.length < len) return { done: false };
    const rep = b[1]!;
    if (rep !== 0) {
      const what = this.cmd === SOCKS_CMD.CONNECT ? `CONNECT ${formatTarget(this.target)}` : "UDP ASSOCIATE";
      throw new ProxyError("refused", `${who} refused ${what}: ${SOCKS_REPLY[rep] ?? `reply ${rep}`}`);
    }
    this.bound = decodeSocksAddress(q.take(len), 3).target;
    return { done: true, rest: q.bytes };
  }
}

const NO_BYTES = new Uint8Array(0);

/** A UDP association: keep `control` open while relaying; datagrams go to `relay`. */
export interface SocksAssociation {
  /** The TCP control connection: the association lives as long as it. */
  control: StreamSocket;
  /** The proxy's UDP relay address. */
  relay: Target;
}

/**
 * SOCKS5 client for one proxy.
 *
 * @example
 * ```ts
 * import { Socks5Dialer } from "./socks5.ts";
 * import { parseProxyUrl } from "./url.ts";
 * const d = new Socks5Dialer(parseProxyUrl("socks5://192.0.2.2:1080", "socks5"));
 * const { socket, head } = await d.connect({ host: "198.51.100.2", port: 80 });
 * ```
 */
export class Socks5Dialer implements Dialer {
  /** The proxy this dialer goes through. */
  readonly url: ProxyUrl;
  private readonly who: string;

  /** Socket options of every connection to the proxy (SO_MARK, SO_BINDTODEVICE, the resolved address). */
  readonly so: DialSocketOptions | undefined;

  /**
   * Whether CONNECT handshakes are pipelined now (greeting, credentials and request in one
   * write): set by the constructor's `true`, or by {@link learnPipelining} once the proxy showed
   * it reads past the greeting.
   */
  pipelined: boolean;
  /** "auto": {@link learnPipelining} runs on the first handshake (and again after a failed try). */
  private learn: boolean;
  private learning: Promise<boolean | undefined> | undefined;
  private learnAfter = 0;
  /** Told what {@link learnPipelining} found, once it found out. */
  onPipelining: ((pipelined: boolean) => void) | undefined;

  /**
   * A dialer through the SOCKS5 proxy `url`.
   *
   * @param url The SOCKS5 proxy (credentials from its user info).
   * @param so Options of the sockets to the proxy (mark, device, address).
   * @param pipelining Send the greeting and the CONNECT in one write: `false` (the default)
   *   never, `true` always, `"auto"` once {@link learnPipelining}, started in the background by the
   *   first handshake, found that the proxy tolerates it (until then, and for a proxy that does
   *   not, one round trip at a time).
   */
  constructor(url: ProxyUrl, so?: DialSocketOptions, pipelining: boolean | "auto" = false) {
    this.url = url;
    this.so = so;
    this.who = `SOCKS5 proxy ${formatTarget(url)}`;
    this.pipelined = pipelining === true;
    this.learn = pipelining === "auto";
  }

  /** True while pipelining is "auto" and {@link learnPipelining} has not run yet. */
  get learnsPipelining(): boolean {
    return this.learn && !this.learning;
  }

  /** CONNECT to `target`. */
  async connect(target: Target, opts: { timeoutMs?: number } = {}): Promise<ProxyStream> {
    const m = this.handshake(target);
    const { sock, head } = await dialHandshake(this.url, this.who, opts.timeoutMs ?? 10_000, (r, sock) => runMachine(r, sock, m), this.so);
    return { socket: sock, head };
  }

  /** The CONNECT handshake to `target` as a state machine (see {@link Dialer.handshake}). */
  handshake(target: Target): HandshakeMachine {
    if (this.learn && !this.learning && Date.now() >= this.learnAfter) void this.learnPipelining();
    return new Socks5Machine(this.url, this.who, SOCKS_CMD.CONNECT, target, this.pipelined);
  }

  /**
   * Finds out whether the proxy reads a request sent right behind the greeting (RFC 1928 lets a
   * client wait for the method reply; a server that reads one segment per step drops the rest:
   * microsocks 1.0 does, Dante does not). Sends greeting, credentials and a UDP ASSOCIATE in one
   * write on a connection of its own: any reply to the request (a refusal too) proves that it was
   * read; none within `timeoutMs` (default 2 s), or the connection closed first, proves nothing,
   * and handshakes stay one round trip at a time. Sets {@link pipelined}, tells
   * {@link onPipelining} and resolves with it; resolves with undefined when the proxy could not be
   * reached at all (then the first handshake 10 s later or after tries again).
   *
   * @example
   * ```ts
   * import { Socks5Dialer } from "./socks5.ts";
   * import { parseProxyUrl } from "./url.ts";
   * const d = new Socks5Dialer(parseProxyUrl("socks5://192.0.2.2:1080", "socks5"));
   * const pipelined = await d.learnPipelining(); // Dante: true; microsocks: false
   * ```
   */
  learnPipelining(opts: { timeoutMs?: number } = {}): Promise<boolean | undefined> {
    const ms = opts.timeoutMs ?? 2000;
    const run = async (): Promise<boolean | undefined> => {
      let sock: StreamSocket;
      try {
        sock = await connectTcp(this.url.host, this.url.port, ms, this.so);
      } catch {
        this.learnAfter = Date.now() + 10_000;
        this.learning = undefined;
        return undefined;
      }
      const any = sock.localAddress?.includes(":") ? "::" : "0.0.0.0";
      const m = new Socks5Machine(this.url, this.who, SOCKS_CMD.UDP_ASSOCIATE, { host: any, port: 0 }, true);
      const answered = await new Promise<boolean>((resolve) => {
        const end = (v: boolean) => {
          clearTimeout(timer);
          sock.removeAllListeners();
          sock.on("error", () => {});
          sock.destroy();
          resolve(v);
        };
        const timer = setTimeout(() => end(false), ms);
        sock.on("data", (d: Uint8Array) => {
          try {
            if (m.feed(d).done) end(true);
          } catch (e) {
            // a refusal of the request is an answer to it; one of the greeting is not
            end(e instanceof ProxyError && e.reason === "refused");
          }
        });
        sock.on("end", () => end(false));
        sock.on("close", () => end(false));
        sock.on("error", () => end(false));
        sock.resume();
        sock.write(m.start());
      });
      this.learn = false;
      this.pipelined = answered;
      this.onPipelining?.(answered);
      return answered;
    };
    return (this.learning ??= run());
  }

  /** Greeting and authentication only (see {@link Dialer.probe}). */
  async probe(opts: { timeoutMs?: number } = {}): Promise<number> {
    const t0 = performance.now();
    const { sock } = await dialHandshake(this.url, this.who, opts.timeoutMs ?? 10_000, (r, sock) => runMachine(r, sock, new Socks5Machine(this.url, this.who, 0, { host: "0.0.0.0", port: 0 })), this.so);
    sock.destroy();
    return performance.now() - t0;
  }

  /**
   * UDP ASSOCIATE: returns the control connection and the relay address (the proxy's address
   * when the relay says 0.0.0.0 / ::). Pipelined like a CONNECT once the proxy showed it reads
   * past the greeting ({@link pipelined}): a new UDP flow then waits one round trip less for
   * its association (Dante; {@link learnPipelining} itself asks with an ASSOCIATE).
   */
  async associate(opts: { timeoutMs?: number } = {}): Promise<SocksAssociation> {
    if (this.learn && !this.learning && Date.now() >= this.learnAfter) void this.learnPipelining();
    const pipelined = this.pipelined;
    const { sock, result: relay } = await dialHandshake(this.url, this.who, opts.timeoutMs ?? 10_000, async (r, sock) => {
      const any = sock.localAddress?.includes(":") ? "::" : "0.0.0.0";
      const m = new Socks5Machine(this.url, this.who, SOCKS_CMD.UDP_ASSOCIATE, { host: any, port: 0 }, pipelined);
      await runMachine(r, sock, m);
      return m.bound!;
    }, this.so);
    if (relay.host === "0.0.0.0" || relay.host === "::") relay.host = sock.remoteAddress ?? this.url.host;
    return { control: sock, relay };
  }
}
