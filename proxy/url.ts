/**
 * Proxy URLs (`socks5://[user:pass@]host:port`, `http://[user:pass@]host:port`) and proxy
 * targets (an IP address or a domain name, and a port). Validation only, no I/O.
 *
 * @module
 */
import { formatIp, parseIp } from "../common/addr.ts";
import { UsageError } from "../common/errors.ts";

/** A parsed proxy URL. */
export interface ProxyUrl {
  /** The proxy's protocol. */
  scheme: "socks5" | "http";
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** Port (1..65535). */
  port: number;
  /** User name, percent-decoded. */
  username?: string;
  /** Password, percent-decoded. */
  password?: string;
}

/** Where a proxied connection goes: an IP address (text) or a domain name, and a port. */
export interface Target {
  /** IP address (text) or domain name. */
  host: string;
  /** Port (1..65535). */
  port: number;
}

/**
 * 4 or 6 when `host` is an IPv4 / IPv6 address in canonical text, 0 for a name.
 *
 * @example
 * ```ts
 * import { ipVersion } from "./url.ts";
 * ipVersion("192.0.2.1"); // 4
 * ipVersion("2001:db8::1"); // 6
 * ipVersion("example.com"); // 0
 * ```
 */
export function ipVersion(host: string): 0 | 4 | 6 {
  // Names never reach the parser (it would build an error to throw away): only digits and dots,
  // or a colon, can be an address.
  if (!host.includes(":") && !/^[0-9.]+$/.test(host)) return 0;
  try {
    return parseIp(host).length === 4 ? 4 : 6;
  } catch {
    return 0;
  }
}

/** The address `host` in canonical text (common/addr.ts's parser and formatter), or a UsageError from `bad`. */
function canonicalIp(host: string, version: 4 | 6, bad: (why: string) => Error): string {
  try {
    return formatIp(parseIp(host, version));
  } catch (e) {
    // parseIp's own reason (a zone index, a leading zero) after the quoted address.
    const why = /": (.*)$/.exec((e as Error).message)?.[1];
    throw bad(`"${host}" is not an IPv${version} address${why && !why.startsWith("expected") ? ` (${why})` : ""}`);
  }
}

/**
 * `host:port`, with brackets around an IPv6 address.
 *
 * @example
 * ```ts
 * import { formatTarget } from "./url.ts";
 * formatTarget({ host: "2001:db8::1", port: 80 }); // "[2001:db8::1]:80"
 * ```
 */
export function formatTarget(t: Target): string {
  return t.host.includes(":") ? `[${t.host}]:${t.port}` : `${t.host}:${t.port}`;
}

const HOSTNAME = /^(?=.{1,253}$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/**
 * True for a syntactically valid DNS host name (letters, digits, `-`, `_`; labels of 1..63).
 *
 * @example
 * ```ts
 * import { isHostName } from "./url.ts";
 * isHostName("web.example.test"); // true
 * isHostName("a b"); // false
 * ```
 */
export function isHostName(s: string): boolean {
  return HOSTNAME.test(s);
}

/**
 * Parses and validates a proxy URL of the expected scheme. The port defaults to 1080 (SOCKS5)
 * or 8080 (HTTP). User name and password are percent-decoded, 1..255 bytes each (RFC 1929).
 * Throws {@link UsageError} naming the bad value.
 *
 * @example
 * ```ts
 * import { parseProxyUrl } from "./url.ts";
 * parseProxyUrl("socks5://alice:s3cret@192.0.2.2:1080", "socks5");
 * // { scheme: "socks5", host: "192.0.2.2", port: 1080, username: "alice", password: "s3cret" }
 * parseProxyUrl("http://[2001:db8::2]:3128", "http").host; // "2001:db8::2"
 * ```
 */
export function parseProxyUrl(text: string, scheme: "socks5" | "http"): ProxyUrl {
  const bad = (why: string) => new UsageError(`Invalid proxy URL "${text}": ${why}`);
  const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:([^@/]*)@)?(\[[^\]/]*\]|[^:/@[\]]*)(?::([^/]*))?\/?$/.exec(text);
  if (!m) throw bad(`expected ${scheme}://[user:pass@]host:port`);
  const s = m[1]!.toLowerCase();
  if (s !== scheme && !(scheme === "socks5" && s === "socks5h")) throw bad(`expected the ${scheme}:// scheme`);
  let host = m[3]!;
  if (host.startsWith("[")) {
    host = canonicalIp(host.slice(1, -1), 6, bad);
  } else if (host === "") {
    throw bad("the host is missing");
  } else if (/^[0-9.]+$/.test(host)) {
    host = canonicalIp(host, 4, bad);
  } else if (!isHostName(host)) {
    throw bad(`"${host}" is not an IPv4 address or host name`);
  }
  let port = scheme === "socks5" ? 1080 : 8080;
  if (m[4] !== undefined) {
    if (!/^\d{1,5}$/.test(m[4]) || Number(m[4]) < 1 || Number(m[4]) > 65535) throw bad(`port "${m[4]}" is not in 1..65535`);
    port = Number(m[4]);
  }
  const url: ProxyUrl = { scheme, host, port };
  if (m[2] !== undefined) {
    const colon = m[2].indexOf(":");
    const dec = (x: string, what: string): string => {
      let v: string;
      try {
        v = decodeURIComponent(x);
      } catch {
        throw bad(`the ${what} has a bad percent escape`);
      }
      const n = new TextEncoder().encode(v).length;
      if (n < 1 || n > 255) throw bad(`the ${what} must be 1..255 bytes`);
      return v;
    };
    url.username = dec(colon < 0 ? m[2] : m[2].slice(0, colon), "user name");
    url.password = colon < 0 ? "" : m[2].slice(colon + 1) === "" ? "" : dec(m[2].slice(colon + 1), "password");
    if (url.password === "" && scheme === "socks5") throw bad("the password is missing (socks5://user:pass@host:port)");
  }
  return url;
}

/**
 * The URL without its password, for messages: `socks5://alice@192.0.2.2:1080`.
 *
 * @example
 * ```ts
 * import { redactProxyUrl } from "./url.ts";
 * redactProxyUrl({ scheme: "http", host: "192.0.2.2", port: 8888, username: "u", password: "p" }); // "http://u@192.0.2.2:8888"
 * ```
 */
export function redactProxyUrl(u: ProxyUrl): string {
  return `${u.scheme}://${u.username !== undefined ? encodeURIComponent(u.username) + "@" : ""}${formatTarget(u)}`;
}
