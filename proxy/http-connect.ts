/**
 * HTTP CONNECT client (RFC 9110 section 9.3.6) with optional Basic proxy authentication.
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { dialHandshake, type Dialer, type DialSocketOptions, ProxyError, type ProxyStream } from "./dial.ts";
import { formatTarget, type ProxyUrl, type Target } from "./url.ts";

/**
 * The CONNECT request for `target` (with Proxy-Authorization when `url` has credentials).
 *
 * @example
 * ```ts
 * import { connectRequest } from "./http-connect.ts";
 * connectRequest({ host: "198.51.100.2", port: 80 }, { scheme: "http", host: "192.0.2.2", port: 8888 });
 * // "CONNECT 198.51.100.2:80 HTTP/1.1\r\nHost: 198.51.100.2:80\r\n\r\n"
 * ```
 */
export function connectRequest(target: Target, url: ProxyUrl): string {
  const hp = formatTarget(target);
  return `CONNECT ${hp} HTTP/1.1\r\nHost: ${hp}\r\n${authHeader(url)}\r\n`;
}

/** The Proxy-Authorization header line (with its CRLF) for a URL with credentials, else "". */
function authHeader(url: ProxyUrl): string {
  if (url.username === undefined) return "";
  return `Proxy-Authorization: Basic ${Buffer.from(`${url.username}:${url.password ?? ""}`).toString("base64")}\r\n`;
}

/**
 * Parses the status line of a CONNECT response: `{ code, reason }`, or undefined if it is not
 * HTTP.
 *
 * @example
 * ```ts
 * import { parseStatusLine } from "./http-connect.ts";
 * parseStatusLine("HTTP/1.1 407 Proxy Authentication Required"); // { code: 407, reason: "Proxy Authentication Required" }
 * ```
 */
export function parseStatusLine(line: string): { code: number; reason: string } | undefined {
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(line.trimEnd());
  return m ? { code: Number(m[1]), reason: m[2] ?? "" } : undefined;
}

/**
 * HTTP CONNECT client for one proxy.
 *
 * @example
 * ```ts
 * import { HttpConnectDialer } from "./http-connect.ts";
 * import { parseProxyUrl } from "./url.ts";
 * const d = new HttpConnectDialer(parseProxyUrl("http://192.0.2.2:8888", "http"));
 * const { socket } = await d.connect({ host: "198.51.100.2", port: 80 });
 * ```
 */
export class HttpConnectDialer implements Dialer {
  /** The proxy this dialer goes through. */
  readonly url: ProxyUrl;
  private readonly who: string;

  /** Socket options of every connection to the proxy (SO_MARK, SO_BINDTODEVICE, the resolved address). */
  readonly so: DialSocketOptions | undefined;

  /**
   * A dialer through the HTTP proxy `url` (CONNECT).
   *
   * @param url The HTTP proxy.
   * @param so Options of the sockets to the proxy (mark, device, address).
   */
  constructor(url: ProxyUrl, so?: DialSocketOptions) {
    this.url = url;
    this.so = so;
    this.who = `HTTP proxy ${formatTarget(url)}`;
  }

  /**
   * `OPTIONS * HTTP/1.1` with the credentials (see {@link Dialer.probe}): any HTTP answer but
   * 407 means the proxy is there and takes them.
   */
  async probe(opts: { timeoutMs?: number } = {}): Promise<number> {
    const t0 = performance.now();
    const { sock } = await dialHandshake(this.url, this.who, opts.timeoutMs ?? 10_000, async (r, sock) => {
      sock.write(`OPTIONS * HTTP/1.1\r\nHost: ${formatTarget(this.url)}\r\n${authHeader(this.url)}\r\n`);
      const text = (await r.readUntil("\r\n", 16384)).toString("latin1");
      const status = parseStatusLine(text.trimEnd());
      if (!status) throw new ProxyError("protocol", `${this.who} did not answer with HTTP`);
      if (status.code === 407) {
        throw new ProxyError(
          "auth",
          `${this.who} wants proxy authentication: 407 ${status.reason}`.trimEnd(),
          this.url.username === undefined ? "the proxy wants credentials: http://user:pass@host:port" : "check the user name and password",
        );
      }
    }, this.so);
    sock.destroy();
    return performance.now() - t0;
  }

  async connect(target: Target, opts: { timeoutMs?: number } = {}): Promise<ProxyStream> {
    const { sock, head } = await dialHandshake(this.url, this.who, opts.timeoutMs ?? 10_000, async (r, sock) => {
      sock.write(connectRequest(target, this.url));
      const text = (await r.readUntil("\r\n\r\n", 16384)).toString("latin1");
      const status = parseStatusLine(text.slice(0, text.indexOf("\r\n")));
      if (!status) throw new ProxyError("protocol", `${this.who} did not answer CONNECT with HTTP`);
      if (status.code === 407) {
        throw new ProxyError(
          "auth",
          `${this.who} refused CONNECT ${formatTarget(target)}: 407 ${status.reason}`.trimEnd(),
          this.url.username === undefined ? "the proxy wants credentials: http://user:pass@host:port" : "check the user name and password",
        );
      }
      if (status.code < 200 || status.code > 299) {
        throw new ProxyError("refused", `${this.who} refused CONNECT ${formatTarget(target)}: ${status.code} ${status.reason}`.trimEnd());
      }
    }, this.so);
    return { socket: sock, head };
  }
}
