/**
 * `wg up`: a configuration file made into a running interface, as wg-quick does it, with
 * tunkit's own netlink: the tun, its MTU, addresses, link up, and a route per AllowedIPs prefix
 * (Table = auto: the main table; a number or name: that table; off: none). A /0 under
 * Table = auto is a full tunnel: policy rules and a table of its own (wg/fulltunnel.ts).
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { UsageError } from "../common/errors.ts";
import { Rtnl } from "../netlink/rtnl.ts";
import { formatAllowedIp } from "./allowedips.ts";
import { parseEndpoint, splitHostPort } from "./endpoint.ts";
import { startWireGuard, type WireGuard, type WireGuardOptions } from "./engine.ts";
import type { WgConfig } from "./config.ts";
import type { TimerConfig } from "./constants.ts";
import { DEFAULT_MTU } from "./constants.ts";
import { chooseTable, fullTunnelFamilies, installFullTunnel, removeFullTunnel } from "./fulltunnel.ts";

/** Options of {@link upFromConfig}. */
export interface UpOptions {
  /** Timer settings replacing the protocol's defaults. */
  timers?: Partial<TimerConfig>;
  /** See {@link WireGuardOptions.offload}. */
  offload?: WireGuardOptions["offload"];
  /** Serve the UAPI socket (true: /var/run/wireguard/NAME.sock; a string: that path). */
  uapi?: boolean | string;
  /** Brings the interface down when aborted. */
  signal?: AbortSignal;
}

/** Checks what the kernel is not asked about: refuses what `up` cannot do. */
export function checkConfigForUp(cfg: WgConfig, name: string): void {
  if (!cfg.privateKey) throw new UsageError(`Invalid ${name}: [Interface] has no PrivateKey`);
}

async function resolveEndpoint(text: string): Promise<string> {
  const { host, port } = splitHostPort(text);
  try {
    parseEndpoint(text);
    return text;
  } catch {
    const r = await lookup(host);
    return r.family === 6 ? `[${r.address}]:${port}` : `${r.address}:${port}`;
  }
}

/**
 * Brings up `iface` from a parsed configuration; resolves once it runs.
 *
 * @example
 * ```ts
 * import { upFromConfig } from "./up.ts";
 * import { parseConfig } from "./config.ts";
 * import { readFileSync } from "node:fs";
 * declare const file: string; // a wg-quick config
 * const wg = await upFromConfig("wg0", parseConfig(readFileSync(file, "utf8"), file));
 * await wg.closed;
 * ```
 */
export async function upFromConfig(iface: string, cfg: WgConfig, opts: UpOptions = {}): Promise<WireGuard> {
  checkConfigForUp(cfg, iface);
  const peers = [];
  for (const p of cfg.peers) {
    peers.push({
      publicKey: p.publicKey,
      presharedKey: p.presharedKey,
      endpoint: p.endpoint ? await resolveEndpoint(p.endpoint) : undefined,
      allowedIps: p.allowedIps,
      persistentKeepalive: p.persistentKeepalive,
    });
  }
  const mtu = cfg.mtu ?? DEFAULT_MTU;
  // A /0 under Table = auto: policy routing, the sockets marked with the table's number.
  const full = fullTunnelFamilies(cfg);
  let table: number | undefined;
  if (full.length) {
    const nl = Rtnl.open();
    try {
      table = await chooseTable(nl, cfg.fwmark);
    } finally {
      nl.close();
    }
  }
  const wg = await startWireGuard({
    iface,
    privateKey: cfg.privateKey!,
    listenPort: cfg.listenPort,
    fwmark: table ?? cfg.fwmark,
    mtu,
    peers,
    timers: opts.timers,
    offload: opts.offload,
    uapi: opts.uapi,
    signal: opts.signal,
  });
  const nl = Rtnl.open();
  try {
    await nl.setLink(wg.name, { mtu });
    for (const a of cfg.addresses) await nl.addAddress({ dev: wg.name, address: a, flags: a.includes(":") ? ["nodad"] : [] });
    await nl.setLink(wg.name, { up: true });
    if (cfg.table !== "off") {
      const t = cfg.table === "auto" ? undefined : cfg.table;
      const prefixes = cfg.peers.flatMap((p) => p.allowedIps).sort((x, y) => y.len - x.len);
      for (const a of prefixes) {
        if (a.len === 0 && table !== undefined) continue; // in the full tunnel's table
        await nl.replaceRoute({ dst: formatAllowedIp(a), dev: wg.name, table: t, protocol: "static" });
      }
    }
    if (table !== undefined) {
      const rec = await installFullTunnel(nl, wg.name, table, full);
      wg.onClose(async () => {
        const nl2 = Rtnl.open();
        try {
          await removeFullTunnel(nl2, rec);
        } finally {
          nl2.close();
        }
      });
    }
  } catch (e) {
    wg.close("setup failed", e);
    throw e;
  } finally {
    nl.close();
  }
  return wg;
}
