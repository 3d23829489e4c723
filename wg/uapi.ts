/**
 * The cross-platform userspace API (UAPI) that `wg` and `wg-quick` speak to wireguard-go over
 * /var/run/wireguard/IFACE.sock: `get=1` answers `key=value` lines; `set=1` applies them.
 * Pure text in, text out; wg/uapi-server.ts does the socket.
 *
 * @module
 */
import type { WgDevice, Peer } from "./device.ts";
import { hexKey, parseHexKey, isZeroKey } from "./keys.ts";
import { formatAllowedIp, parseAllowedIp } from "./allowedips.ts";
import { formatEndpoint, parseEndpoint } from "./endpoint.ts";
import { UsageError } from "../common/errors.ts";

/** What UAPI needs of a running interface. */
export interface UapiTarget {
  /** The running device. */
  readonly device: WgDevice;
  /** Its UDP port. */
  readonly listenPort: number;
  /** The fwmark of its sockets. */
  readonly fwMark: number;
  /** Moves the sockets to another port and/or fwmark. */
  rebind(port: number, fwmark?: number): void;
  /** Applies a changed configuration (routes, peers' endpoints). */
  refresh(): void;
}

/** errno values as wireguard-go reports them (negative). */
export const UAPI_ERR = { INVALID: -22, IO: -5, PORT_IN_USE: -98, UNKNOWN: -55 } as const;

/**
 * The `get=1` answer (without the final "errno=0" and blank line).
 *
 * @example
 * ```ts
 * import { uapiGet, type UapiTarget } from "./uapi.ts";
 * declare const wg: UapiTarget; // a running interface (startWireGuard's)
 * uapiGet(wg).split("\n")[0]; // "private_key=…"
 * ```
 */
export function uapiGet(t: UapiTarget): string {
  const d = t.device;
  const out: string[] = [];
  if (d.hasPrivateKey) out.push(`private_key=${hexKey(d.getPrivateKey())}`);
  out.push(`listen_port=${t.listenPort}`);
  if (t.fwMark) out.push(`fwmark=${t.fwMark}`);
  for (const p of d.peers.values()) {
    out.push(`public_key=${hexKey(p.publicKey)}`);
    out.push(`preshared_key=${hexKey(p.presharedKey)}`);
    out.push("protocol_version=1");
    if (p.endpoint) out.push(`endpoint=${formatEndpoint(p.endpoint)}`);
    const lh = p.stats.lastHandshake;
    const sec = Math.floor(lh / 1000);
    out.push(`last_handshake_time_sec=${sec}`);
    out.push(`last_handshake_time_nsec=${Math.round((lh - sec * 1000) * 1e6)}`);
    out.push(`tx_bytes=${p.stats.txBytes}`);
    out.push(`rx_bytes=${p.stats.rxBytes}`);
    out.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    for (const a of d.routes.entriesOf(p)) out.push(`allowed_ip=${formatAllowedIp(a)}`);
  }
  return out.join("\n") + "\n";
}

/** A `set=1` failure: the errno to report and why. */
export class UapiError extends Error {
  /**
   * A failure to report as `errno=N`.
   *
   * @param errno The errno to report.
   * @param message Why.
   */
  constructor(readonly errno: number, message: string) {
    super(message);
  }
}

function num(v: string, key: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) > max) throw new UapiError(UAPI_ERR.INVALID, `invalid ${key} "${v}"`);
  return Number(v);
}

/**
 * Applies a `set=1` body (the lines after "set=1", without the blank line). Throws
 * {@link UapiError}; what came before the bad line stays applied, as in wireguard-go.
 */
export function uapiSet(t: UapiTarget, body: string): void {
  const d = t.device;
  let peer: Peer | undefined;
  let skip = false; // update_only on an unknown peer, or after remove
  let port: number | undefined;
  let mark: number | undefined;
  const key = (v: string, what: string) => {
    try {
      return parseHexKey(v, what);
    } catch (e) {
      throw new UapiError(UAPI_ERR.INVALID, (e as Error).message);
    }
  };
  for (const line of body.split("\n")) {
    if (!line) continue;
    const eq = line.indexOf("=");
    if (eq < 0) throw new UapiError(UAPI_ERR.INVALID, `no "=" in "${line}"`);
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    if (k === "public_key") {
      const pub = key(v, "public key");
      const existing = d.peer(pub);
      skip = false;
      peer = existing;
      if (!existing) {
        if (d.hasPrivateKey && pub.every((b, i) => b === d.publicKey[i])) {
          skip = true; // wireguard-go ignores a peer with our own key
          continue;
        }
        peer = d.addPeer({ publicKey: pub });
      }
      continue;
    }
    if (!peer && !skip) {
      switch (k) {
        case "private_key":
          d.setPrivateKey(key(v, "private key"));
          break;
        case "listen_port":
          port = num(v, k, 65535);
          break;
        case "fwmark":
          mark = num(v, k, 0xffffffff);
          break;
        case "replace_peers":
          if (v !== "true") throw new UapiError(UAPI_ERR.INVALID, `invalid replace_peers "${v}"`);
          for (const p of [...d.peers.values()]) d.removePeer(p.publicKey);
          break;
        default:
          throw new UapiError(UAPI_ERR.INVALID, `invalid UAPI device key "${k}"`);
      }
      continue;
    }
    if (skip) continue;
    const p = peer!;
    switch (k) {
      case "update_only":
        // Only meaningful right after public_key: a peer we just created is dropped again.
        if (v !== "true") throw new UapiError(UAPI_ERR.INVALID, `invalid update_only "${v}"`);
        if (p.stats.handshakes === 0 && !p.endpoint && d.routes.entriesOf(p).length === 0 && isZeroKey(p.presharedKey)) {
          d.removePeer(p.publicKey);
          skip = true;
        }
        break;
      case "remove":
        if (v !== "true") throw new UapiError(UAPI_ERR.INVALID, `invalid remove "${v}"`);
        d.removePeer(p.publicKey);
        skip = true;
        break;
      case "preshared_key":
        p.presharedKey = key(v, "preshared key");
        break;
      case "endpoint":
        try {
          p.endpoint = parseEndpoint(v);
        } catch (e) {
          throw new UapiError(UAPI_ERR.INVALID, (e as Error).message);
        }
        break;
      case "persistent_keepalive_interval":
        d.setPersistentKeepalive(p, num(v, k, 65535));
        break;
      case "replace_allowed_ips":
        if (v !== "true") throw new UapiError(UAPI_ERR.INVALID, `invalid replace_allowed_ips "${v}"`);
        d.routes.removePeer(p);
        break;
      case "allowed_ip":
        try {
          d.routes.insert(parseAllowedIp(v), p);
        } catch (e) {
          throw new UapiError(UAPI_ERR.INVALID, (e as Error).message);
        }
        break;
      case "protocol_version":
        if (v !== "1") throw new UapiError(UAPI_ERR.INVALID, `invalid protocol_version "${v}"`);
        break;
      default:
        throw new UapiError(UAPI_ERR.INVALID, `invalid UAPI peer key "${k}"`);
    }
  }
  if (port !== undefined || mark !== undefined) {
    try {
      t.rebind(port ?? t.listenPort, mark ?? t.fwMark);
    } catch (e) {
      throw new UapiError((e as { code?: string }).code === "EADDRINUSE" ? UAPI_ERR.PORT_IN_USE : UAPI_ERR.IO, (e as Error).message);
    }
  }
  t.refresh();
}

/**
 * Answers one UAPI request (the whole text up to and including the blank line).
 *
 * @example
 * ```ts
 * import { uapiHandle, type UapiTarget } from "./uapi.ts";
 * declare const wg: UapiTarget; // a running interface (startWireGuard's)
 * uapiHandle(wg, "get=1\n\n"); // "private_key=…\n…errno=0\n\n"
 * ```
 */
export function uapiHandle(t: UapiTarget, request: string): string {
  const nl = request.indexOf("\n");
  const op = nl < 0 ? request : request.slice(0, nl);
  const body = nl < 0 ? "" : request.slice(nl + 1).replace(/\n\n$/, "\n");
  if (op === "get=1") return uapiGet(t) + "errno=0\n\n";
  if (op === "set=1") {
    try {
      uapiSet(t, body);
      return "errno=0\n\n";
    } catch (e) {
      const errno = e instanceof UapiError ? e.errno : e instanceof UsageError ? UAPI_ERR.INVALID : UAPI_ERR.UNKNOWN;
      return `errno=${errno}\n\n`;
    }
  }
  return `errno=${UAPI_ERR.INVALID}\n\n`;
}
