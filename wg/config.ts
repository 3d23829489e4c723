/**
 * The standard WireGuard configuration format, as `wg-quick` reads it: `[Interface]` with
 * PrivateKey, ListenPort, FwMark, Address, DNS, MTU, Table, (Pre|Post)(Up|Down), SaveConfig,
 * and `[Peer]` sections with PublicKey, PresharedKey, AllowedIPs, Endpoint, PersistentKeepalive.
 * Pure: text in, a validated plan out, with every error naming its line.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { parseCidr } from "../common/addr.ts";
import { parseKey } from "./keys.ts";
import { parseAllowedIp, type AllowedIp } from "./allowedips.ts";
import { splitHostPort } from "./endpoint.ts";

/** A `[Peer]`. */
export interface PeerSection {
  /** The peer's public key (32 bytes). */
  publicKey: Uint8Array;
  /** PresharedKey (32 bytes), when set. */
  presharedKey?: Uint8Array;
  /** AllowedIPs: the prefixes routed to this peer and accepted from it. */
  allowedIps: AllowedIp[];
  /** "host:port" as written (names are resolved when the interface starts). */
  endpoint?: string;
  /** PersistentKeepalive, in seconds (0 or absent: off). */
  persistentKeepalive?: number;
}

/** A parsed file. */
export interface WgConfig {
  /** The interface's private key (32 bytes). */
  privateKey?: Uint8Array;
  /** ListenPort (absent: a random port). */
  listenPort?: number;
  /** FwMark on the interface's UDP sockets. */
  fwmark?: number;
  /** "192.0.2.1/24" … */
  addresses: string[];
  /** DNS servers (wg-quick's `DNS =`), as written. */
  dns: string[];
  /** MTU of the tun (absent: wg-quick's choice). */
  mtu?: number;
  /** "auto" (default), "off", or a table number/name. */
  table: string;
  /** PreUp, PostUp, PreDown, PostDown commands, in file order. */
  hooks: { preUp: string[]; postUp: string[]; preDown: string[]; postDown: string[] };
  /** SaveConfig (read; tunkit does not write the file back). */
  saveConfig: boolean;
  /** The `[Peer]` sections, in file order. */
  peers: PeerSection[];
  /** Things read but not acted on, for the user to see. */
  notes: string[];
}

function list(v: string): string[] {
  return v.split(",").map((s) => s.trim()).filter(Boolean);
}

/**
 * Parses a configuration file's text. `name` appears in errors.
 *
 * @example
 * ```ts
 * import { parseConfig } from "./config.ts";
 * const c = parseConfig("[Interface]\nPrivateKey = YNqHbfBQKaGvzefSSHhWZ5PsQ0sYKBFfhL+9ZXlMtWs=\n", "wg0.conf");
 * c.peers.length; // 0
 * ```
 */
export function parseConfig(text: string, name = "config"): WgConfig {
  const cfg: WgConfig = {
    addresses: [], dns: [], table: "auto", saveConfig: false, peers: [], notes: [],
    hooks: { preUp: [], postUp: [], preDown: [], postDown: [] },
  };
  let section: "interface" | "peer" | undefined;
  let peer: Partial<PeerSection> & { line?: number } = {};
  let sawInterface = false;
  const finishPeer = () => {
    if (section !== "peer") return;
    if (!peer.publicKey) throw new UsageError(`Invalid ${name} line ${peer.line}: [Peer] without PublicKey`);
    cfg.peers.push({ allowedIps: [], ...peer, publicKey: peer.publicKey } as PeerSection);
    peer = {};
  };
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const ln = i + 1;
    const line = lines[i]!.replace(/#.*$/, "").trim();
    if (!line) continue;
    const bad = (msg: string): never => {
      throw new UsageError(`Invalid ${name} line ${ln}: ${msg}`);
    };
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      finishPeer();
      const s = sec[1]!.toLowerCase();
      if (s === "interface") {
        if (sawInterface) bad("a second [Interface] section");
        sawInterface = true;
        section = "interface";
      } else if (s === "peer") {
        section = "peer";
        peer = { line: ln };
      } else bad(`unknown section [${sec[1]}]`);
      continue;
    }
    const eq = line.indexOf("=");
    if (eq < 0) bad(`expected KEY = VALUE, got "${line}"`);
    const key = line.slice(0, eq).trim().toLowerCase();
    const value = line.slice(eq + 1).trim();
    const wrap = <T>(f: () => T): T => {
      try {
        return f();
      } catch (e) {
        return bad((e as Error).message);
      }
    };
    const int = (max: number, what: string): number => {
      if (!/^\d+$/.test(value) || Number(value) > max) bad(`${what} "${value}" must be 0..${max}`);
      return Number(value);
    };
    if (!section) bad(`"${key}" outside a section`);
    if (section === "interface") {
      switch (key) {
        case "privatekey":
          cfg.privateKey = wrap(() => parseKey(value, "PrivateKey"));
          break;
        case "listenport":
          cfg.listenPort = int(65535, "ListenPort");
          break;
        case "fwmark":
          if (value === "off") cfg.fwmark = 0;
          else if (/^0x[0-9a-f]{1,8}$/i.test(value)) cfg.fwmark = parseInt(value, 16);
          else cfg.fwmark = int(0xffffffff, "FwMark");
          break;
        case "address":
          for (const a of list(value)) {
            wrap(() => parseCidr(a));
            cfg.addresses.push(a);
          }
          break;
        case "dns":
          cfg.dns.push(...list(value));
          break;
        case "mtu":
          cfg.mtu = int(65535, "MTU");
          if (cfg.mtu < 576) bad(`MTU "${value}" is below 576 (IPv4's minimum for WireGuard; IPv6 needs 1280)`);
          break;
        case "table":
          if (!/^[\w.-]+$/.test(value)) bad(`Table "${value}" must be off, auto, a number or a name`);
          cfg.table = value.toLowerCase() === "off" || value.toLowerCase() === "auto" ? value.toLowerCase() : value;
          break;
        case "preup":
          cfg.hooks.preUp.push(value);
          break;
        case "postup":
          cfg.hooks.postUp.push(value);
          break;
        case "predown":
          cfg.hooks.preDown.push(value);
          break;
        case "postdown":
          cfg.hooks.postDown.push(value);
          break;
        case "saveconfig":
          cfg.saveConfig = value.toLowerCase() === "true";
          break;
        default:
          bad(`unknown [Interface] key "${line.slice(0, eq).trim()}"`);
      }
      continue;
    }
    switch (key) {
      case "publickey":
        peer.publicKey = wrap(() => parseKey(value, "PublicKey"));
        break;
      case "presharedkey":
        peer.presharedKey = wrap(() => parseKey(value, "PresharedKey"));
        break;
      case "allowedips":
        peer.allowedIps = [...(peer.allowedIps ?? []), ...list(value).map((a) => wrap(() => parseAllowedIp(a)))];
        break;
      case "endpoint":
        wrap(() => splitHostPort(value));
        peer.endpoint = value;
        break;
      case "persistentkeepalive":
        peer.persistentKeepalive = value === "off" ? 0 : int(65535, "PersistentKeepalive");
        break;
      default:
        bad(`unknown [Peer] key "${line.slice(0, eq).trim()}"`);
    }
  }
  finishPeer();
  if (!sawInterface) throw new UsageError(`Invalid ${name}: no [Interface] section`);
  const seen = new Set<string>();
  for (const p of cfg.peers) {
    const k = p.publicKey.join(",");
    if (seen.has(k)) throw new UsageError(`Invalid ${name}: the same PublicKey appears in two [Peer] sections`);
    seen.add(k);
  }
  if (cfg.dns.length) cfg.notes.push(`DNS = ${cfg.dns.join(", ")} is ignored: tunkit does not change the resolver (set it yourself, e.g. resolvectl dns)`);
  const h = cfg.hooks;
  const nHooks = h.preUp.length + h.postUp.length + h.preDown.length + h.postDown.length;
  if (nHooks) cfg.notes.push(`${nHooks} PreUp/PostUp/PreDown/PostDown command(s) are not run by tunkit`);
  if (cfg.saveConfig) cfg.notes.push("SaveConfig is ignored: the file is never rewritten");
  return cfg;
}

/**
 * Whether a file mode lets others read it (wg-quick warns about world-accessible files).
 *
 * @example
 * ```ts
 * import { worldAccessible } from "./config.ts";
 * worldAccessible(0o644); // true
 * worldAccessible(0o600); // false
 * ```
 */
export function worldAccessible(mode: number): boolean {
  return (mode & 0o007) !== 0;
}
