/**
 * Peer endpoints: the outer UDP address, kept as the `struct sockaddr_in`/`sockaddr_in6` bytes
 * the socket calls take and fill, so a datagram's source can be compared with (and copied into)
 * a peer's endpoint without allocating.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { formatIp, parseIp } from "../common/addr.ts";

/** Room for either sockaddr. */
export const SOCKADDR_MAX = 28;
const AF_INET = 2;
const AF_INET6 = 10;

/** An endpoint: sockaddr bytes (16 for IPv4, 28 for IPv6). */
export interface Endpoint {
  /** sockaddr_in or sockaddr_in6. */
  readonly sa: Uint8Array;
}

/**
 * Builds the sockaddr of an IP address and port.
 *
 * @example
 * ```ts
 * import { endpointOf, formatEndpoint } from "./endpoint.ts";
 * formatEndpoint(endpointOf(Uint8Array.of(192, 0, 2, 1), 51820)); // "192.0.2.1:51820"
 * ```
 */
export function endpointOf(ip: Uint8Array, port: number, scopeId = 0): Endpoint {
  if (ip.length === 4) {
    const sa = new Uint8Array(16);
    sa[0] = AF_INET;
    sa[2] = port >> 8;
    sa[3] = port & 0xff;
    sa.set(ip, 4);
    return { sa };
  }
  const sa = new Uint8Array(28);
  sa[0] = AF_INET6;
  sa[2] = port >> 8;
  sa[3] = port & 0xff;
  sa.set(ip, 8);
  new DataView(sa.buffer).setUint32(24, scopeId, true);
  return { sa };
}

/**
 * Parses "192.0.2.1:51820" or "[2001:db8::1]:51820" (IP literals; names are resolved by the
 * caller, see wg/config.ts).
 *
 * @example
 * ```ts
 * import { parseEndpoint } from "./endpoint.ts";
 * parseEndpoint("[2001:db8::1]:51820").sa.length; // 28
 * ```
 */
export function parseEndpoint(text: string): Endpoint {
  const { host, port } = splitHostPort(text);
  let ip: Uint8Array;
  try {
    ip = parseIp(host);
  } catch {
    throw new UsageError(`Invalid endpoint "${text}": "${host}" is not an IP address`);
  }
  return endpointOf(ip, port);
}

/** Splits "host:port" / "[v6]:port", checking the port. */
export function splitHostPort(text: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`Invalid endpoint "${text}": expected HOST:PORT or [IPv6]:PORT`);
  const port = Number(m[2]);
  if (!(port >= 1 && port <= 65535)) throw new UsageError(`Invalid endpoint "${text}": port must be 1..65535`);
  return { host: m[1]!, port };
}

/** Length of the sockaddr at `sa` (by family), 0 when neither. */
export function sockaddrLength(sa: Uint8Array): number {
  const fam = sa[0]! | (sa[1]! << 8);
  return fam === AF_INET ? 16 : fam === AF_INET6 ? 28 : 0;
}

/** IP bytes of an endpoint. */
export function endpointIp(e: Endpoint): Uint8Array {
  return e.sa.length === 16 ? e.sa.slice(4, 8) : e.sa.slice(8, 24);
}

/** Port of an endpoint. */
export function endpointPort(e: Endpoint): number {
  return (e.sa[2]! << 8) | e.sa[3]!;
}

/**
 * "192.0.2.1:51820", "[2001:db8::1]:51820" (as wg prints them).
 *
 * @example
 * ```ts
 * import { formatEndpoint, parseEndpoint } from "./endpoint.ts";
 * formatEndpoint(parseEndpoint("[2001:db8::1]:51820")); // "[2001:db8::1]:51820"
 * formatEndpoint(parseEndpoint("192.0.2.1:51820")); // "192.0.2.1:51820"
 * ```
 */
export function formatEndpoint(e: Endpoint): string {
  const ip = formatIp(endpointIp(e));
  return e.sa.length === 16 ? `${ip}:${endpointPort(e)}` : `[${ip}]:${endpointPort(e)}`;
}

/**
 * Whether the sockaddr at `src[off..off+len)` equals `e` (family, port and address; the IPv6
 * flow info is ignored).
 */
export function sameEndpoint(e: Endpoint, src: Uint8Array, off: number, len: number): boolean {
  const sa = e.sa;
  if (sa.length !== len) return false;
  if (len === 16) {
    for (let i = 0; i < 8; i++) if (sa[i] !== src[off + i]) return false;
    return true;
  }
  for (let i = 0; i < 4; i++) if (sa[i] !== src[off + i]) return false;
  for (let i = 8; i < 28; i++) if (sa[i] !== src[off + i]) return false;
  return true;
}

/** Copies a received sockaddr into a new Endpoint (zeroing what the kernel may leave around). */
export function endpointFrom(src: Uint8Array, off: number, len: number): Endpoint {
  const sa = src.slice(off, off + len);
  if (len === 16) sa.fill(0, 8, 16);
  else sa.fill(0, 4, 8); // flow info
  return { sa };
}

/** Bytes that identify the source for cookies: address then port. */
export function endpointKey(src: Uint8Array, off: number, len: number): Uint8Array {
  return len === 16 ? src.slice(off + 2, off + 8) : Uint8Array.from([...src.subarray(off + 2, off + 4), ...src.subarray(off + 8, off + 24)]);
}
