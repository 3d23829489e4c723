/**
 * One tcpdump-style line per packet (tcpdump 4.99's `-n` text, by the printers of
 * packet/print/), timestamps as tcpdump writes them, and a stable JSON form of the decoded model
 * (`toJSON`).
 *
 * @module
 */
import type { Timestamp } from "./pcap.ts";
import type { DecodedPacket, LinkType } from "./types.ts";
import { printRecord, type PrintState } from "./print/index.ts";

/** Options of {@link formatPacket} and {@link Formatter}. */
export interface FormatOptions {
  /** Timestamp to print first (`HH:MM:SS.ffffff`); none when absent. */
  ts?: Timestamp | number;
  /** Print nanoseconds (9 digits) instead of microseconds. */
  nano?: boolean;
  /** Print the timestamp in local time instead of UTC. */
  localTime?: boolean;
  /** `-e`: print the link-level header (MACs, ethertype, "ip: " on raw IP). */
  link?: boolean;
  /** Original (on-wire) length, if more than was captured (pcap `orig_len`). */
  originalLength?: number;
  /** tcpdump's -v count (0..3). */
  verbose?: number;
  /** A hex dump follows the line (-x/-X/-A): no hex of undecoded data inside the line. */
  dumpFollows?: boolean;
  /** Names an interface index (LINUX_SLL2); tcpdump prints "?" for an unknown one. */
  ifName?: (index: number) => string | undefined;
}

/**
 * Formats a timestamp as tcpdump does: `HH:MM:SS.uuuuuu` (UTC unless `local`).
 *
 * @example
 * ```ts
 * import { formatTimestamp } from "./format.ts";
 * formatTimestamp({ sec: 43200, nsec: 1000 }); // "12:00:00.000001"
 * ```
 */
export function formatTimestamp(ts: Timestamp | number, nano = false, local = false): string {
  const t = typeof ts === "number" ? { sec: Math.floor(ts / 1000), nsec: Math.round((((ts % 1000) + 1000) % 1000) * 1e6) } : ts;
  const sec = Number.isFinite(t.sec) ? Math.floor(t.sec) : 0;
  const nsec = Number.isFinite(t.nsec) ? Math.trunc(t.nsec) : 0;
  let h: number, m: number, s: number;
  const d = new Date(sec * 1000);
  if (local && !Number.isNaN(d.getTime())) {
    h = d.getHours();
    m = d.getMinutes();
    s = d.getSeconds();
  } else {
    const day = ((sec % 86400) + 86400) % 86400;
    h = Math.floor(day / 3600);
    m = Math.floor((day % 3600) / 60);
    s = day % 60;
  }
  const p2 = (n: number) => String(n).padStart(2, "0");
  // tcpdump prints the fraction as an unsigned int, out of range or not (a file's invalid one)
  const frac = nano ? String(nsec >>> 0).padStart(9, "0") : String(Math.trunc(nsec / 1000) >>> 0).padStart(6, "0");
  return `${p2(h)}:${p2(m)}:${p2(s)}.${frac}`;
}

/** LINKTYPE number of a tunkit link type name. */
function linkNumber(lt: LinkType | number): number {
  return typeof lt === "number" ? lt : lt === "ethernet" ? 1 : 101;
}

/** A formatted line and the link-layer header length (where -X starts). */
export interface FormattedPacket {
  /** The formatted line. */
  text: string;
  /** Link-layer header length in bytes. */
  headerLength: number;
  /** A protocol in the packet that tcpdump decodes and tunkit prints as data (e.g. "babel"). */
  notDecoded?: string;
}

/**
 * A stateful formatter: keeps what tcpdump keeps across packets — the TCP conversations for
 * relative sequence numbers (tcpdump's default; `absoluteSeq` prints raw numbers, `-S`) and
 * IKE cookies.
 *
 * @example
 * ```ts
 * import { Formatter } from "./format.ts";
 * import { buildUdp } from "./build.ts";
 * const f = new Formatter();
 * f.format(buildUdp({ src: "10.1.1.1", dst: "10.1.1.2", srcPort: 53124, dstPort: 9, payload: 14 }), "raw"); // "IP 10.1.1.1.53124 > 10.1.1.2.9: UDP, length 14"
 * ```
 */
export class Formatter {
  private readonly state: PrintState = {};
  /**
   * A formatter that keeps tcpdump's state between packets.
   *
   * @param defaults Options applied to every call (a call's own options win).
   */
  constructor(readonly defaults: FormatOptions & { absoluteSeq?: boolean } = {}) {}

  /** The line for `bytes` of link type `linkType` ("raw", "ethernet" or a LINKTYPE number). */
  format(bytes: Uint8Array, linkType: LinkType | number, opts: FormatOptions = {}): string {
    return this.formatWithHeader(bytes, linkType, opts).text;
  }

  /** {@link format}, with the length of the link-layer header (for -X). */
  formatWithHeader(bytes: Uint8Array, linkType: LinkType | number, opts: FormatOptions = {}): FormattedPacket {
    const o = { ...this.defaults, ...opts };
    const wire = Math.max(o.originalLength ?? bytes.length, bytes.length);
    const r = printRecord(bytes, linkNumber(linkType), wire, {
      v: o.verbose ?? 0,
      e: o.link === true,
      S: this.defaults.absoluteSeq === true,
      suppressDefault: o.dumpFollows === true,
      ...(o.ifName ? { ifName: o.ifName } : {}),
    }, this.state);
    const ts = o.ts !== undefined ? formatTimestamp(o.ts, o.nano, o.localTime) + " " : "";
    return r.notDecoded ? { text: ts + r.text, headerLength: r.headerLength, notDecoded: r.notDecoded } : { text: ts + r.text, headerLength: r.headerLength };
  }
}

/**
 * One line for a packet, without state across packets (TCP sequence numbers absolute on the
 * first packet of each conversation, as tcpdump prints a lone packet).
 *
 * @example
 * ```ts
 * import { formatPacket } from "./format.ts";
 * import { buildIcmpEcho } from "./build.ts";
 * formatPacket(buildIcmpEcho({ src: "10.1.1.1", dst: "10.1.1.2", id: 7, seq: 1 }), "raw"); // "IP 10.1.1.1 > 10.1.1.2: ICMP echo request, id 7, seq 1, length 8"
 * ```
 */
export function formatPacket(bytes: Uint8Array, linkType: LinkType | number, opts: FormatOptions = {}): string {
  return new Formatter().format(bytes, linkType, opts);
}

/**
 * A stable JSON-ready object for a decoded packet (the decoded model is already plain data;
 * this fixes the key order and drops nothing). `JSON.stringify(toJSON(p))` is one line.
 *
 * @example
 * ```ts
 * import { toJSON } from "./format.ts";
 * import { decode } from "./decode.ts";
 * import { buildUdp } from "./build.ts";
 * JSON.stringify(toJSON(decode(buildUdp({ src: "10.1.1.1", dst: "10.1.1.2", srcPort: 1, dstPort: 9, payload: 0 }), "raw"))).startsWith('{"linkType":"raw"'); // true
 * ```
 */
export function toJSON(pkt: DecodedPacket): Record<string, unknown> {
  const order = ["linkType", "length", "ipVersion", "ethernet", "arp", "ipv4", "ipv6", "icmp", "icmpv6", "tcp", "udp", "ports", "dns", "app", "payload", "truncated", "truncatedLayer", "malformed"] as const;
  const out: Record<string, unknown> = {};
  for (const k of order) {
    const v = pkt[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}
