/**
 * `wg show` for any userspace interface: asks its UAPI socket (`get=1`), parses the answer and
 * prints it as `wg show` does, or as JSON. Works against tunkit and wireguard-go alike.
 *
 * @module
 */
import { connect } from "node:net";
import { readdirSync, statSync } from "node:fs";
import { formatKey, parseHexKey } from "./keys.ts";
import { UAPI_DIR, uapiSocketPath } from "./uapi-server.ts";
import { TunkitError } from "../common/errors.ts";

/** A peer as `get=1` describes it. */
export interface ShownPeer {
  /** The peer's public key, base64. */
  publicKey: string;
  /** Whether a preshared key is set. */
  presharedKey: boolean;
  /** The peer's endpoint, "host:port" (absent before it is known). */
  endpoint?: string;
  /** Allowed IPs, as prefixes. */
  allowedIps: string[];
  /** Unix seconds, 0 = never. */
  latestHandshake: number;
  /** Bytes received from the peer. */
  rxBytes: number;
  /** Bytes sent to the peer. */
  txBytes: number;
  /** Persistent keepalive interval in seconds (0: off). */
  persistentKeepalive: number;
}

/** An interface as `get=1` describes it. */
export interface ShownInterface {
  /** The interface name. */
  interface: string;
  /** The interface's public key, base64. */
  publicKey?: string;
  /** Present only when asked for (`wg showconf`-like callers). */
  privateKey?: string;
  /** The UDP port listened on. */
  listenPort: number;
  /** The fwmark of its sockets (0: none). */
  fwmark: number;
  /** Its peers. */
  peers: ShownPeer[];
}

/**
 * Parses a `get=1` answer.
 *
 * @example
 * ```ts
 * import { parseUapiGet } from "./show.ts";
 * parseUapiGet("wg0", "listen_port=51820\nerrno=0\n").listenPort; // 51820
 * ```
 */
export function parseUapiGet(iface: string, text: string, publicOf?: (priv: Uint8Array) => Uint8Array): ShownInterface {
  const out: ShownInterface = { interface: iface, listenPort: 0, fwmark: 0, peers: [] };
  let p: ShownPeer | undefined;
  for (const line of text.split("\n")) {
    const eq = line.indexOf("=");
    if (eq < 0) continue;
    const k = line.slice(0, eq);
    const v = line.slice(eq + 1);
    switch (k) {
      case "private_key": {
        const priv = parseHexKey(v);
        out.privateKey = formatKey(priv);
        if (publicOf) out.publicKey = formatKey(publicOf(priv));
        break;
      }
      case "listen_port":
        out.listenPort = Number(v);
        break;
      case "fwmark":
        out.fwmark = Number(v);
        break;
      case "public_key":
        p = { publicKey: formatKey(parseHexKey(v)), presharedKey: false, allowedIps: [], latestHandshake: 0, rxBytes: 0, txBytes: 0, persistentKeepalive: 0 };
        out.peers.push(p);
        break;
      case "preshared_key":
        if (p) p.presharedKey = /[1-9a-f]/.test(v);
        break;
      case "endpoint":
        if (p) p.endpoint = v;
        break;
      case "allowed_ip":
        p?.allowedIps.push(v);
        break;
      case "last_handshake_time_sec":
        if (p) p.latestHandshake = Number(v);
        break;
      case "rx_bytes":
        if (p) p.rxBytes = Number(v);
        break;
      case "tx_bytes":
        if (p) p.txBytes = Number(v);
        break;
      case "persistent_keepalive_interval":
        if (p) p.persistentKeepalive = Number(v);
        break;
      case "errno":
        if (v !== "0") throw new TunkitError(`${iface}: the UAPI answered errno=${v}`);
    }
  }
  return out;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? "" : "s"}`;
}

/** "1 minute, 5 seconds" (wg's wording). */
export function ago(seconds: number): string {
  if (seconds <= 0) return "Now";
  const parts: string[] = [];
  const units: Array<[number, string]> = [[365 * 86400, "year"], [86400, "day"], [3600, "hour"], [60, "minute"], [1, "second"]];
  let s = seconds;
  for (const [size, name] of units) {
    const n = Math.floor(s / size);
    if (n) parts.push(plural(n, name));
    s -= n * size;
  }
  return parts.join(", ");
}

/** "1.21 KiB" (wg's wording). */
export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(2)} ${units[i]}`;
}

/**
 * `wg show`'s text for one interface (peers with the latest handshake first).
 *
 * @example
 * ```ts
 * import { formatShow } from "./show.ts";
 * formatShow({ interface: "wg0", listenPort: 51820, fwmark: 0, peers: [] }, 0); // "interface: wg0\n  listening port: 51820\n"
 * ```
 */
export function formatShow(s: ShownInterface, nowSec: number): string {
  const out: string[] = [`interface: ${s.interface}`];
  if (s.publicKey) out.push(`  public key: ${s.publicKey}`);
  if (s.privateKey) out.push("  private key: (hidden)");
  if (s.listenPort) out.push(`  listening port: ${s.listenPort}`);
  if (s.fwmark) out.push(`  fwmark: 0x${s.fwmark.toString(16)}`);
  const peers = [...s.peers].sort((a, b) => b.latestHandshake - a.latestHandshake);
  for (const p of peers) {
    out.push("", `peer: ${p.publicKey}`);
    if (p.presharedKey) out.push("  preshared key: (hidden)");
    if (p.endpoint) out.push(`  endpoint: ${p.endpoint}`);
    out.push(`  allowed ips: ${p.allowedIps.length ? p.allowedIps.join(", ") : "(none)"}`);
    if (p.latestHandshake) out.push(`  latest handshake: ${ago(nowSec - p.latestHandshake)}${nowSec - p.latestHandshake > 0 ? " ago" : ""}`);
    if (p.rxBytes || p.txBytes) out.push(`  transfer: ${bytes(p.rxBytes)} received, ${bytes(p.txBytes)} sent`);
    if (p.persistentKeepalive) out.push(`  persistent keepalive: every ${plural(p.persistentKeepalive, "second")}`);
  }
  return out.join("\n") + "\n";
}

/**
 * Sends one UAPI request to a socket and resolves with the answer (up to the blank line).
 *
 * @example
 * ```ts
 * import { uapiRequest } from "./show.ts";
 * const text = await uapiRequest("/var/run/wireguard/wg0.sock", "get=1\n\n");
 * ```
 */
export function uapiRequest(path: string, request: string, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(path);
    let buf = "";
    const t = setTimeout(() => {
      sock.destroy();
      reject(new TunkitError(`${path}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding("utf8");
    sock.on("connect", () => sock.write(request));
    sock.on("data", (c: string) => {
      buf += c;
      if (buf.includes("\n\n")) {
        clearTimeout(t);
        sock.end();
        resolve(buf.slice(0, buf.indexOf("\n\n") + 1));
      }
    });
    sock.on("error", (e) => {
      clearTimeout(t);
      reject(new TunkitError(`cannot reach ${path}: ${e.message}`, "is the interface up? (tunkit wg show lists the running ones)"));
    });
    sock.on("close", () => {
      clearTimeout(t);
      if (!buf.includes("\n\n")) reject(new TunkitError(`${path}: the connection closed without an answer`));
    });
  });
}

/** Names of the interfaces with a UAPI socket in `dir`. */
export function listUapiInterfaces(dir = UAPI_DIR): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".sock"))
    .filter((n) => {
      try {
        return statSync(`${dir}/${n}`).isSocket();
      } catch {
        return false;
      }
    })
    .map((n) => n.slice(0, -5))
    .sort();
}

/** Queries one interface. */
export async function showInterface(iface: string, publicOf?: (priv: Uint8Array) => Uint8Array, dir = UAPI_DIR): Promise<ShownInterface> {
  return parseUapiGet(iface, await uapiRequest(uapiSocketPath(iface, dir), "get=1\n\n"), publicOf);
}
