/**
 * {@link PacketPrinter}: packets as `tunkit dump` prints them — a tcpdump summary line
 * (timestamp, In/Out when the direction is known) with the `-X`/`-XX` hex dump under it, or one
 * NDJSON object — and the guards that keep every line printable ASCII whatever the bytes held.
 *
 * @module
 */
import { toHex } from "../common/hex.ts";
import { decode } from "./decode.ts";
import { Formatter, formatTimestamp, toJSON } from "./format.ts";
import { hexdump, hexdumpLines } from "./hexdump.ts";
import { linkTypeOf } from "./pcap.ts";

/** Which way a packet went, when the capture knows (AF_PACKET sniffing); undefined otherwise. */
export type Direction = "in" | "out" | undefined;

/** How packets are printed. */
export interface PrintOptions {
  /** 0: no hex; 1: hex from the network layer (-X); 2: the whole frame (-XX). */
  hex: 0 | 1 | 2;
  /** `-e`: the link-level header (tap). */
  link: boolean;
  /** Nanosecond timestamps. */
  nano: boolean;
  /** NDJSON instead of text. */
  json: boolean;
  /** Timestamps in local time (tcpdump's default) instead of UTC. */
  localTime?: boolean;
}

const LINK_NAMES: Readonly<Record<number, string>> = { 1: "EN10MB (Ethernet)", 101: "RAW (Raw IP)", 12: "RAW (Raw IP)", 14: "RAW (Raw IP)", 228: "IPV4 (Raw IPv4)", 229: "IPV6 (Raw IPv6)" };

/** tcpdump's name of a LINKTYPE ("RAW (Raw IP)"). */
export function linkTypeName(n: number): string {
  return LINK_NAMES[n] ?? `${n}`;
}

/**
 * Replaces anything outside printable ASCII (and tab) with ".", so a line can never carry
 * terminal escapes, whatever the packet held.
 *
 * @example
 * ```ts
 * import { printable } from "./printer.ts";
 * printable("ok\x1b[31m"); // "ok.[31m"
 * ```
 */
export function printable(s: string): string {
  return /[^\t\x20-\x7e]/.test(s) ? s.replace(/[^\t\x20-\x7e]/g, ".") : s;
}

/** JSON text with every non-ASCII character escaped (\uXXXX): printable ASCII, still valid JSON. */
export function asciiJson(v: unknown): string {
  return JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"));
}

/**
 * Formats packets as `dump` prints them: a tcpdump summary line (timestamp, In/Out in sniff
 * mode) and the hex dump under it, or one NDJSON object. Keeps tcpdump's TCP relative sequence
 * numbers across packets.
 *
 * @example
 * ```ts
 * import { PacketPrinter } from "./printer.ts";
 * import { buildIcmpEcho } from "./build.ts";
 * const bytes = buildIcmpEcho({ src: "10.1.1.1", dst: "10.1.1.2" });
 * const p = new PacketPrinter({ hex: 1, link: false, nano: false, json: false });
 * p.text(bytes, 101, { sec: 1700000000, nsec: 0 }, bytes.length, "out");
 * // "22:13:20.000000 Out IP 10.1.1.1 > 10.1.1.2: ICMP echo request, ...\n\t0x0000:  4500 ..."
 * ```
 */
export class PacketPrinter {
  private readonly fmt: Formatter;
  constructor(readonly opts: PrintOptions) {
    this.fmt = new Formatter({ link: opts.link, nano: opts.nano, localTime: opts.localTime });
  }

  /** The summary line alone. */
  summary(data: Uint8Array, linkType: number, ts: { sec: number; nsec: number }, wireLen: number, dir: Direction): string {
    const t = formatTimestamp(ts, this.opts.nano, this.opts.localTime);
    const d = dir === "in" ? "In " : dir === "out" ? "Out " : "";
    const lt = linkTypeOf(linkType);
    let s: string;
    if (lt === undefined) s = `link-type ${linkTypeName(linkType)}, length ${wireLen}`;
    else s = this.fmt.format(decode(data, lt), { originalLength: wireLen });
    return printable(`${t} ${d}${s}`);
  }

  /** Summary line plus hex lines (per the options), joined with "\n", no trailing newline. */
  text(data: Uint8Array, linkType: number, ts: { sec: number; nsec: number }, wireLen: number, dir: Direction): string {
    const head = this.summary(data, linkType, ts, wireLen, dir);
    if (this.opts.hex === 0 || data.length === 0) return head;
    const lt = linkTypeOf(linkType);
    const hex = lt === undefined ? hexdumpLines(data).join("\n") : hexdump(data, lt, this.opts.hex === 2);
    return hex ? head + "\n" + hex.split("\n").map(printable).join("\n") : head;
  }

  /** One NDJSON line. */
  json(data: Uint8Array, linkType: number, ts: { sec: number; nsec: number }, wireLen: number, dir: Direction): string {
    const lt = linkTypeOf(linkType);
    const o: Record<string, unknown> = { sec: ts.sec, nsec: ts.nsec };
    if (dir) o.direction = dir;
    o.captureLength = data.length;
    o.wireLength = wireLen;
    if (lt === undefined) o.linkTypeNumber = linkType;
    else Object.assign(o, toJSON(decode(data, lt)));
    if (this.opts.hex > 0) o.hex = toHex(data);
    return asciiJson(o);
  }

  /** text() or json(), as the options say. */
  format(data: Uint8Array, linkType: number, ts: { sec: number; nsec: number }, wireLen: number, dir: Direction): string {
    return this.opts.json ? this.json(data, linkType, ts, wireLen, dir) : this.text(data, linkType, ts, wireLen, dir);
  }
}

