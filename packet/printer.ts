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
import { hexdumpLines } from "./hexdump.ts";
import { linkTypeOf } from "./pcap.ts";
import { linkPrintable } from "./print/index.ts";

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
  /**
   * tcpdump's -t count: 0 time of day (default), 1 none (-t), 2 seconds since the epoch (-tt),
   * 3 delta since the previous packet (-ttt), 4 date and time (-tttt), 5 delta since the first (-ttttt).
   */
  tsMode?: 0 | 1 | 2 | 3 | 4 | 5;
  /** -v count: 0..3. */
  verbose?: number;
  /** -S: absolute TCP sequence numbers. */
  absoluteSeq?: boolean;
  /** -A: the packet (from the network layer) in ASCII under the summary; 2 (-AA): the whole frame. */
  ascii?: 0 | 1 | 2;
  /** Names an interface index (LINUX_SLL2 records); tcpdump prints "?" for an unknown one. */
  ifName?: (index: number) => string | undefined;
}

/** tcpdump's check of a record's lengths (print.c): the line it prints instead of the packet, or "". */
function invalidHeader(caplen: number, len: number): string {
  const bad: string[] = [];
  if (caplen === 0) bad.push(" caplen==0");
  if (len === 0) bad.push(" len==0");
  else if (len < caplen) bad.push(` len(${len}) < caplen(${caplen})`);
  if (caplen > 262144) bad.push(` caplen(${caplen}) > 262144`);
  if (len > 262144) bad.push(` len(${len}) > 262144`);
  return bad.length ? `[Invalid header:${bad.join(",")}]` : "";
}

const LINK_NAMES: Readonly<Record<number, string>> = {
  0: "NULL (BSD loopback)", 1: "EN10MB (Ethernet)", 9: "PPP (PPP)", 101: "RAW (Raw IP)", 12: "RAW (Raw IP)", 14: "RAW (Raw IP)", 108: "LOOP (OpenBSD loopback)",
  113: "LINUX_SLL (Linux cooked v1)", 228: "IPV4 (Raw IPv4)", 229: "IPV6 (Raw IPv6)", 276: "LINUX_SLL2 (Linux cooked v2)",
};

/** tcpdump's name of a LINKTYPE ("RAW (Raw IP)"). */
export function linkTypeName(n: number): string {
  return LINK_NAMES[n] ?? `${n}`;
}

const p2 = (n: number) => String(n).padStart(2, "0");

/**
 * Bytes as tcpdump's -A prints them: printable characters, tabs, spaces and newlines as they
 * are, a CR before LF dropped, anything else as ".".
 *
 * @example
 * ```ts
 * import { asciiText } from "./printer.ts";
 * asciiText(new TextEncoder().encode("GET / HTTP/1.1\r\n\x01")); // "GET / HTTP/1.1\n."
 * ```
 */
export function asciiText(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c === 13) {
      if (b.length - i - 1 > 1 && b[i + 1] !== 10) s += ".";
    } else if ((c > 0x20 && c < 0x7f) || c === 9 || c === 32 || c === 10) s += String.fromCharCode(c);
    else s += ".";
  }
  return s;
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
  private prev: { sec: number; nsec: number } | undefined;
  private first: { sec: number; nsec: number } | undefined;
  /**
   * A printer with tcpdump's state between packets.
   *
   * @param opts What to print and how (tcpdump's flags).
   */
  constructor(readonly opts: PrintOptions) {
    this.fmt = new Formatter({
      link: opts.link, nano: opts.nano, localTime: opts.localTime, verbose: opts.verbose ?? 0, absoluteSeq: opts.absoluteSeq,
      // a dump follows every line unless printing summaries only: then tcpdump's own hex of
      // data it cannot decode appears inside the line, as tcpdump without -x prints it
      dumpFollows: opts.hex > 0 || (opts.ascii ?? 0) > 0,
      ...(opts.ifName ? { ifName: opts.ifName } : {}),
    });
  }

  /** The timestamp as the -t count asks ("" for -t), with its trailing space. */
  stamp(ts: { sec: number; nsec: number }): string {
    const mode = this.opts.tsMode ?? 0;
    const nano = this.opts.nano;
    switch (mode) {
      case 1:
        return "";
      case 2: {
        const frac = nano ? String(Math.trunc(ts.nsec) >>> 0).padStart(9, "0") : String(Math.trunc(ts.nsec / 1000) >>> 0).padStart(6, "0");
        return `${ts.sec}.${frac} `;
      }
      case 3:
      case 5: {
        const ref = mode === 3 ? this.prev : this.first;
        this.first ??= { sec: ts.sec, nsec: ts.nsec };
        this.prev = { sec: ts.sec, nsec: ts.nsec };
        let dsec = 0;
        let dnsec = 0;
        if (ref) {
          dsec = ts.sec - ref.sec;
          dnsec = ts.nsec - ref.nsec;
          if (dnsec < 0) {
            dsec--;
            dnsec += 1_000_000_000;
          }
          if (dsec < 0) {
            // tcpdump signs the delta: "-" when the clock went back, " " otherwise
            const t = -(dsec * 1_000_000_000 + dnsec);
            return "-" + formatTimestamp({ sec: Math.floor(t / 1e9), nsec: t % 1e9 }, nano, false) + " ";
          }
        }
        return " " + formatTimestamp({ sec: dsec, nsec: dnsec }, nano, false) + " ";
      }
      case 4: {
        const d = new Date(ts.sec * 1000);
        const date = Number.isNaN(d.getTime())
          ? "1970-01-01"
          : this.opts.localTime
            ? `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}`
            : `${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}`;
        return `${date} ${formatTimestamp(ts, nano, this.opts.localTime)} `;
      }
      default:
        return formatTimestamp(ts, nano, this.opts.localTime) + " ";
    }
  }

  /**
   * The summary line alone. `wireLen` is the record's original length as the file says (tcpdump
   * refuses a record whose lengths cannot be right, before its timestamp).
   */
  summary(data: Uint8Array, linkType: number, ts: { sec: number; nsec: number }, wireLen: number, dir: Direction): string {
    return this.line(data, linkType, ts, wireLen, dir).text;
  }

  /**
   * After a line was made: a protocol in that packet that tcpdump decodes and tunkit printed as
   * data (so the line cannot be tcpdump's), or undefined.
   */
  lastNotDecoded: string | undefined;

  /** Formats one packet: the line and the link-layer header length. */
  private line(data: Uint8Array, linkType: number, ts: { sec: number; nsec: number }, wireLen: number, dir: Direction): { text: string; headerLength: number; invalid: boolean } {
    this.lastNotDecoded = undefined;
    const bad = invalidHeader(data.length, wireLen);
    if (bad) return { text: bad, headerLength: 0, invalid: true };
    const t = this.stamp(ts);
    const d = dir === "in" ? "In " : dir === "out" ? "Out " : "";
    if (!linkPrintable(linkType)) {
      this.lastNotDecoded = `link-type ${linkType}`;
      return { text: printable(`${t}${d}link-type ${linkTypeName(linkType)}, length ${wireLen}`), headerLength: 0, invalid: false };
    }
    const r = this.fmt.formatWithHeader(data, linkType, { originalLength: wireLen });
    this.lastNotDecoded = r.notDecoded;
    return { text: `${t}${d}${r.text}`.split("\n").map(printable).join("\n"), headerLength: r.headerLength, invalid: false };
  }

  /** Summary line plus hex or ASCII lines (per the options), joined with "\n", no trailing newline. */
  text(data: Uint8Array, linkType: number, ts: { sec: number; nsec: number }, wireLen: number, dir: Direction): string {
    const l = this.line(data, linkType, ts, wireLen, dir);
    if (l.invalid) return l.text;
    const start = Math.min(l.headerLength, data.length);
    if (this.opts.hex === 0) {
      if (!this.opts.ascii) return l.text;
      if (this.opts.ascii === 1 && data.length <= start) return l.text;
      return l.text + "\n" + asciiText(this.opts.ascii === 2 ? data : data.subarray(start));
    }
    if (data.length === 0 || (this.opts.hex === 1 && data.length <= start)) return l.text;
    const hex = hexdumpLines(data, this.opts.hex === 2 ? 0 : start).join("\n");
    return hex ? l.text + "\n" + hex.split("\n").map(printable).join("\n") : l.text;
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

