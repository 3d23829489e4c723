/**
 * Links as `ip link show` and `ip addr show` print them, text and JSON from one description
 * (ip/ipaddress.c's print_linkinfo, iproute2 6.x): the flags line, `link/TYPE ADDR brd BRD`,
 * `-d` details (promiscuity, min/max MTU, the kind and its data for tun, vxlan, vlan, bridge and
 * bridge ports,
 * addrgenmode, queues, GSO/GRO sizes), the alias and altname lines, and `-s` statistics.
 *
 * @module
 */
import type { Address } from "../route/addr.ts";
import { IFF } from "../route/constants.ts";
import { linkFlagNames, linkTypeName, operstateName } from "../route/flags.ts";
import type { Link, LinkStats64 } from "../route/link.ts";
import { printAddress } from "./addr.ts";
import { ifName, namesOf } from "./context.ts";
import { printLinkInfo, type LinkViewContext } from "./linkinfo.ts";
import { hex0x, IpPrinter, type Json } from "./printer.ts";

// The context lives with the kind printers (./linkinfo.ts), which `tunkit list` loads alone.
export type { LinkViewContext };

/** Link-layer address text as ip prints it: dotted IPv4 for ipip/sit/gre, colon hex otherwise. */
function llAddr(addr: string, type: number): string {
  const parts = addr.split(":");
  if (parts.length === 4 && (type === 768 || type === 776 || type === 778)) return parts.map((x) => parseInt(x, 16)).join(".");
  return addr;
}

const GEN_MODES = ["eui64", "none", "stable_secret", "random"];

/** Columns and rows of ip's `-s` statistics (print_stats64). */
function printStats(p: IpPrinter, s: LinkStats64, level: number, carrierChanges: number | undefined): void {
  const n = (k: string) => s[k] ?? 0;
  if (p.json) {
    p.openObject("stats64");
    p.openObject("rx");
    for (const [k, f] of [["bytes", "rx_bytes"], ["packets", "rx_packets"], ["errors", "rx_errors"], ["dropped", "rx_dropped"], ["over_errors", "rx_over_errors"], ["multicast", "multicast"]]) p.jsonOnly(k!, n(f!));
    if (n("rx_compressed")) p.jsonOnly("compressed", n("rx_compressed"));
    if (level > 1) {
      for (const [k, f] of [["length_errors", "rx_length_errors"], ["crc_errors", "rx_crc_errors"], ["frame_errors", "rx_frame_errors"], ["fifo_errors", "rx_fifo_errors"], ["missed_errors", "rx_missed_errors"]]) p.jsonOnly(k!, n(f!));
      if (n("rx_nohandler")) p.jsonOnly("nohandler", n("rx_nohandler"));
      if (n("rx_otherhost_dropped")) p.jsonOnly("otherhost", n("rx_otherhost_dropped"));
    }
    p.closeObject();
    p.openObject("tx");
    for (const [k, f] of [["bytes", "tx_bytes"], ["packets", "tx_packets"], ["errors", "tx_errors"], ["dropped", "tx_dropped"], ["carrier_errors", "tx_carrier_errors"], ["collisions", "collisions"]]) p.jsonOnly(k!, n(f!));
    if (n("tx_compressed")) p.jsonOnly("compressed", n("tx_compressed"));
    if (level > 1) {
      for (const [k, f] of [["aborted_errors", "tx_aborted_errors"], ["fifo_errors", "tx_fifo_errors"], ["window_errors", "tx_window_errors"], ["heartbeat_errors", "tx_heartbeat_errors"]]) p.jsonOnly(k!, n(f!));
      if (carrierChanges !== undefined) p.jsonOnly("carrier_changes", carrierChanges);
    }
    p.closeObject();
    p.closeObject();
    return;
  }
  const cols = ["*X errors:".length, 7, 6, 7, 7, 7, 10, 9];
  const size = (...vals: number[]) => vals.forEach((v, i) => (cols[i] = Math.max(cols[i]!, String(v).length)));
  size(n("rx_bytes"), n("rx_packets"), n("rx_errors"), n("rx_dropped"), n("rx_missed_errors"), n("multicast"), n("rx_compressed"), 0);
  if (level > 1) size(0, n("rx_length_errors"), n("rx_crc_errors"), n("rx_frame_errors"), n("rx_fifo_errors"), n("rx_over_errors"), n("rx_nohandler"), n("rx_otherhost_dropped"));
  size(n("tx_bytes"), n("tx_packets"), n("tx_errors"), n("tx_dropped"), n("tx_carrier_errors"), n("collisions"), n("tx_compressed"), 0);
  if (level > 1) size(0, 0, n("tx_aborted_errors"), n("tx_fifo_errors"), n("tx_window_errors"), n("tx_heartbeat_errors"), carrierChanges ?? 0, 0);
  const pad = (w: number, s: string | number) => String(s).padStart(w);
  const num = (w: number, v: number) => `${pad(w, v)} `;
  const c = cols as [number, number, number, number, number, number, number, number];
  let t = `    RX: ${pad(c[0] - 4, "bytes")} ${pad(c[1], "packets")} ${pad(c[2], "errors")} ${pad(c[3], "dropped")} ${pad(c[4], "missed")} ${pad(c[5], "mcast")} ${pad(c[6], n("rx_compressed") ? "compressed" : "")}${p.sl}`;
  t += "    " + num(c[0], n("rx_bytes")) + num(c[1], n("rx_packets")) + num(c[2], n("rx_errors")) + num(c[3], n("rx_dropped")) + num(c[4], n("rx_missed_errors")) + num(c[5], n("multicast"));
  if (n("rx_compressed")) t += num(c[6], n("rx_compressed"));
  if (level > 1) {
    t += p.sl;
    const nh = n("rx_nohandler");
    const oh = n("rx_otherhost_dropped");
    t += `    RX errors:${pad(c[0] - 10, "")} ${pad(c[1], "length")} ${pad(c[2], "crc")} ${pad(c[3], "frame")} ${pad(c[4], "fifo")} ${pad(c[5], "overrun")}${nh ? pad(c[6] + 1, " nohandler") : ""}${oh ? pad(c[7] + 1, " otherhost") : ""}${p.sl}`;
    t += pad(c[0] + 5, "") + num(c[1], n("rx_length_errors")) + num(c[2], n("rx_crc_errors")) + num(c[3], n("rx_frame_errors")) + num(c[4], n("rx_fifo_errors")) + num(c[5], n("rx_over_errors"));
    if (nh) t += num(c[6], nh);
    if (oh) t += num(c[7], oh);
  }
  t += p.sl;
  t += `    TX: ${pad(c[0] - 4, "bytes")} ${pad(c[1], "packets")} ${pad(c[2], "errors")} ${pad(c[3], "dropped")} ${pad(c[4], "carrier")} ${pad(c[5], "collsns")} ${pad(c[6], n("tx_compressed") ? "compressed" : "")}${p.sl}`;
  t += "    " + num(c[0], n("tx_bytes")) + num(c[1], n("tx_packets")) + num(c[2], n("tx_errors")) + num(c[3], n("tx_dropped")) + num(c[4], n("tx_carrier_errors")) + num(c[5], n("collisions"));
  if (n("tx_compressed")) t += num(c[6], n("tx_compressed"));
  if (level > 1) {
    t += p.sl;
    t += `    TX errors:${pad(c[0] - 10, "")} ${pad(c[1], "aborted")} ${pad(c[2], "fifo")} ${pad(c[3], "window")} ${pad(c[4], "heartbt")} ${pad(c[5], carrierChanges !== undefined ? "transns" : "")}${p.sl}`;
    t += pad(c[0] + 5, "") + num(c[1], n("tx_aborted_errors")) + num(c[2], n("tx_fifo_errors")) + num(c[3], n("tx_window_errors")) + num(c[4], n("tx_heartbeat_errors"));
    if (carrierChanges !== undefined) t += num(c[5], carrierChanges);
  }
  p.fp(t);
}

/**
 * ip's print_name_and_link: "NAME@PEER" in text (JSON gets `link`/`link_index`), and whether the
 * peer is down (the M-DOWN flag).
 */
function nameAndLink(p: IpPrinter, l: Link, ctx: LinkViewContext): { name: string; mdown: boolean } {
  const name = l.name ?? `if${l.ifindex}`;
  if (l.link === undefined) return { name, mdown: false };
  if (!l.link) {
    if (p.json) p.jsonOnly("link", null);
    return { name: p.json ? name : `${name}@NONE`, mdown: false };
  }
  if (l.linkNetnsId !== undefined) {
    if (p.json) p.jsonOnly("link_index", l.link);
    return { name: p.json ? name : `${name}@if${l.link}`, mdown: false };
  }
  if (p.json) p.jsonOnly("link", ifName(ctx, l.link));
  return { name: p.json ? name : `${name}@${ifName(ctx, l.link)}`, mdown: !((ctx.links?.get(l.link)?.flags ?? 0) & IFF.UP) };
}

/** ip -br: "NAME@PEER        STATE          ADDR <FLAGS>" (link) or "NAME STATE ADDR/LEN …" (addr). */
function printBrief(p: IpPrinter, l: Link, ctx: LinkViewContext, opts: PrintLinkOptions): void {
  const doLink = opts.doLink ?? true;
  const { name, mdown } = nameAndLink(p, l, ctx);
  p.any("ifname", name, p.json ? "" : `${name.padEnd(16)} `);
  if (l.operstate !== undefined) {
    if (l.operstate > 6) {
      if (p.json) p.jsonOnly("operstate_index", l.operstate);
      else p.fp(`state ${hex0x(l.operstate)}`);
    } else p.any("operstate", operstateName(l.operstate), `${operstateName(l.operstate).padEnd(14)} `);
  }
  if (doLink) {
    if (l.address !== undefined) p.any("address", llAddr(l.address, l.type), "%s ");
    const flags = linkFlagNames(l.flags, false);
    p.openArray("flags", "<");
    flags.forEach((f, i) => p.any(null, f, i < flags.length - 1 || mdown ? "%s," : "%s"));
    if (mdown) p.any(null, "M-DOWN", "%s");
    p.closeArray("> ");
    return;
  }
  p.openArray("addr_info");
  for (const a of opts.addresses ?? []) {
    if (a.ifindex !== l.ifindex || (opts.family && opts.family !== 17 && a.family !== opts.family)) continue;
    p.openObject(null);
    printAddress(p, a, { ...ctx, deleted: false, oneline: false, brief: true });
    p.closeObject();
  }
  p.closeArray();
  p.fp("\n");
}

/** Options of {@link printLink}. */
export interface PrintLinkOptions {
  /** `ip link show` (true, the default) or `ip addr show` (false: no linkmode/alias, addresses follow). */
  doLink?: boolean;
  /** `ip addr show`: the addresses to print under the link (those of other links are skipped). */
  addresses?: readonly Address[];
  /** `ip addr show` filtered by family: only "link/…" when no family or details are given. */
  family?: number;
  /** Print "qlen N" (listings do; `ip monitor` does not). Default true. */
  showQueue?: boolean;
}

/**
 * Prints one link into `p` (see {@link linkToIpJson} / {@link linkToIpText}).
 *
 * @example
 * ```ts
 * import { IpPrinter } from "./printer.ts";
 * import { printLink } from "./link.ts";
 * const p = new IpPrinter(false);
 * printLink(p, { family: 0, type: 772, ifindex: 1, flags: 0x10049, change: 0, name: "lo", mtu: 65536, qdisc: "noqueue", operstate: 0, linkmode: 0, group: 0, txqlen: 1000, address: "00:00:00:00:00:00", broadcast: "00:00:00:00:00:00" });
 * p.text(); // "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00"
 * ```
 */
export function printLink(p: IpPrinter, l: Link, ctx: LinkViewContext = {}, opts: PrintLinkOptions = {}): void {
  const doLink = opts.doLink ?? true;
  const d = ctx.details ?? false;
  const names = namesOf(ctx);
  if (ctx.deleted) p.any("deleted", true, "Deleted ");
  if (ctx.brief) return printBrief(p, l, ctx, opts);
  p.any("ifindex", l.ifindex, "%s: ");
  const { name, mdown } = nameAndLink(p, l, ctx);
  p.any("ifname", name, "%s: ");
  const flags = linkFlagNames(l.flags, false);
  p.openArray("flags", "<");
  flags.forEach((f, i) => p.any(null, f, i < flags.length - 1 || mdown ? "%s," : "%s"));
  if (mdown) p.any(null, "M-DOWN", "%s");
  p.closeArray("> ");
  if (l.mtu !== undefined) p.any("mtu", l.mtu, "mtu %s ");
  if (l.qdisc !== undefined) p.any("qdisc", l.qdisc, "qdisc %s ");
  if (l.master !== undefined) p.any("master", ifName(ctx, l.master), "master %s ");
  if (l.operstate !== undefined) {
    if (l.operstate > 6) {
      if (p.json) p.jsonOnly("operstate_index", l.operstate);
      else p.fp(`state ${hex0x(l.operstate)}`);
    } else p.any("operstate", operstateName(l.operstate), "state %s ");
  }
  if (doLink && l.linkmode !== undefined) {
    if (l.linkmode < 2) p.any("linkmode", ["DEFAULT", "DORMANT"][l.linkmode]!, "mode %s ");
    else p.any("linkmode_index", l.linkmode, "mode %s ");
  }
  if (l.group !== undefined) p.any("group", names.groupName(l.group), "group %s ");
  if (l.txqlen && opts.showQueue !== false) p.any("txqlen", l.txqlen, "qlen %s");
  if (!opts.family || opts.family === 17 || d) {
    p.fp(p.sl);
    p.any("link_type", linkTypeName(l.type), "    link/%s ");
    if (l.address !== undefined) p.any("address", llAddr(l.address, l.type), "%s");
    if (l.broadcast !== undefined) {
      if (l.flags & IFF.POINTOPOINT) {
        p.fp(" peer ");
        p.jsonOnly("link_pointtopoint", true);
      } else p.fp(" brd ");
      p.any("broadcast", llAddr(l.broadcast, l.type), "%s");
    }
    if (l.permAddress !== undefined && l.permAddress !== l.address) {
      p.fp(" permaddr ");
      p.any("permaddr", llAddr(l.permAddress, l.type), "%s");
    }
  }
  if (l.linkNetnsId !== undefined) {
    if (p.json) p.jsonOnly("link_netnsid", l.linkNetnsId);
    else if (l.linkNetnsId < 0) p.fp(" link-netnsid unknown");
    else {
      const ns = ctx.nsidNames?.get(l.linkNetnsId);
      p.fp(ns !== undefined ? ` link-netns ${ns}` : ` link-netnsid ${l.linkNetnsId}`);
    }
  }
  if (l.protoDown) p.any("proto_down", true, " protodown on ");
  if (d) {
    if (l.promiscuity !== undefined) p.any("promiscuity", l.promiscuity, " promiscuity %s ");
    if (l.allmulti !== undefined) p.any("allmulti", l.allmulti, " allmulti %s ");
    if (l.minMtu !== undefined) p.any("min_mtu", l.minMtu, "minmtu %s ");
    if (l.maxMtu !== undefined) p.any("max_mtu", l.maxMtu, "maxmtu %s ");
    if (l.linkInfo) printLinkInfo(p, l.linkInfo, ctx);
    if (doLink && l.inet6AddrGenMode !== undefined) {
      const m = GEN_MODES[l.inet6AddrGenMode] ?? "0x" + l.inet6AddrGenMode.toString(16).padStart(2, "0");
      p.any("inet6_addr_gen_mode", m, "addrgenmode %s ");
    }
    if (l.numTxQueues !== undefined) p.any("num_tx_queues", l.numTxQueues, "numtxqueues %s ");
    if (l.numRxQueues !== undefined) p.any("num_rx_queues", l.numRxQueues, "numrxqueues %s ");
    if (l.gsoMaxSize !== undefined) p.any("gso_max_size", l.gsoMaxSize, "gso_max_size %s ");
    if (l.gsoMaxSegs !== undefined) p.any("gso_max_segs", l.gsoMaxSegs, "gso_max_segs %s ");
    if (l.tsoMaxSize !== undefined) p.any("tso_max_size", l.tsoMaxSize, "tso_max_size %s ");
    if (l.tsoMaxSegs !== undefined) p.any("tso_max_segs", l.tsoMaxSegs, "tso_max_segs %s ");
    if (l.groMaxSize !== undefined) p.any("gro_max_size", l.groMaxSize, "gro_max_size %s ");
    if (l.parentDevBusName !== undefined) p.any("parentbus", l.parentDevBusName, "parentbus %s ");
    if (l.parentDevName !== undefined) p.any("parentdev", l.parentDevName, "parentdev %s ");
  }
  if ((doLink || d) && l.ifalias !== undefined) {
    p.fp(`${p.sl}    `);
    p.any("ifalias", l.ifalias, "alias %s");
  }
  if (doLink && ctx.stats && l.stats64) {
    p.fp(p.sl);
    printStats(p, l.stats64, ctx.stats, l.carrierChanges);
  }
  if (l.altNames) {
    p.openArray("altnames");
    for (const n of l.altNames) {
      p.fp(`${p.sl}    altname `);
      p.any(null, n, "%s");
    }
    p.closeArray();
  }
  if (opts.addresses) {
    p.fp("\n");
    p.openArray("addr_info");
    for (const a of opts.addresses) {
      if (a.ifindex !== l.ifindex || (opts.family && opts.family !== 17 && a.family !== opts.family)) continue;
      p.openObject(null);
      printAddress(p, a, { ...ctx, deleted: false, oneline: false });
      p.fp("\n");
      p.closeObject();
    }
    p.closeArray();
    if (!doLink && ctx.stats && l.stats64) {
      printStats(p, l.stats64, ctx.stats, l.carrierChanges);
      p.fp("\n");
    }
  }
}

/**
 * A link as `ip -j link show` prints it (`ip -j -d`/`-s` with `details`/`stats`).
 *
 * @example
 * ```ts
 * import { linkToIpJson } from "./link.ts";
 * linkToIpJson({ family: 0, type: 65534, ifindex: 4, flags: 0x1091, change: 0, name: "tun7", mtu: 1500 });
 * // { ifindex: 4, ifname: "tun7", flags: ["NO-CARRIER", "POINTOPOINT", "MULTICAST", "NOARP", "UP"], mtu: 1500, link_type: "none" }
 * ```
 */
export function linkToIpJson(l: Link, ctx: LinkViewContext = {}): Json {
  const p = new IpPrinter(true);
  printLink(p, l, ctx);
  return p.object();
}

/**
 * A link as `ip link show` prints it: its lines (flags line, link/ line, details, alias,
 * stats), no newline at the end.
 *
 * @example
 * ```ts
 * import { linkToIpText } from "./link.ts";
 * linkToIpText({ family: 0, type: 65534, ifindex: 4, flags: 0x1090, change: 0, name: "tun7", mtu: 1500, ifalias: "uplink" });
 * // "4: tun7: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 \n    link/none \n    alias uplink"
 * ```
 */
export function linkToIpText(l: Link, ctx: LinkViewContext = {}): string {
  const p = new IpPrinter(false, ctx.oneline);
  printLink(p, l, ctx);
  return p.text();
}

/**
 * A link with its addresses as `ip -j addr show` prints it (no linkmode; `addr_info` always).
 *
 * @example
 * ```ts
 * import { linkAddressesToIpJson } from "./link.ts";
 * const j = linkAddressesToIpJson({ family: 0, type: 772, ifindex: 1, flags: 0x10049, change: 0, name: "lo" }, []);
 * j.addr_info; // []
 * ```
 */
export function linkAddressesToIpJson(l: Link, addrs: readonly Address[], ctx: LinkViewContext = {}, family?: number): Json {
  const p = new IpPrinter(true);
  printLink(p, l, ctx, { doLink: false, addresses: addrs, family });
  return p.object();
}

/**
 * A link with its addresses as `ip addr show` prints it: the link lines, then each address's
 * "    inet …" and lifetime lines (ends with a newline, like ip's block).
 *
 * @example
 * ```ts
 * import { linkAddressesToIpText } from "./link.ts";
 * linkAddressesToIpText({ family: 0, type: 65534, ifindex: 4, flags: 0x1090, change: 0, name: "tun7", mtu: 1500 }, []);
 * // "4: tun7: <POINTOPOINT,MULTICAST,NOARP> mtu 1500 \n    link/none \n"
 * ```
 */
export function linkAddressesToIpText(l: Link, addrs: readonly Address[], ctx: LinkViewContext = {}, family?: number): string {
  const p = new IpPrinter(false, ctx.oneline);
  printLink(p, l, ctx, { doLink: false, addresses: addrs, family });
  return p.text();
}
