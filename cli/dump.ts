/**
 * `tunkit dump IFACE [filter...]`: the packets crossing a tun/tap, tcpdump style: one summary
 * line per packet and its hex + ASCII dump (`-X` layout), or summaries only (`-q`/`--no-hex`),
 * NDJSON (`--json`), or a pcap file (`-w`). `-r FILE` reads a pcap/pcapng instead of a device.
 *
 * Two capture modes (tun/capture.ts): attach (become the tun's reader: packets are consumed) when
 * the device is free, sniff (AF_PACKET beside its owner, In and Out) when another process holds it;
 * `--attach` / `--sniff` force one. Ctrl-C, SIGTERM or `-c N` end it with tcpdump's summary.
 *
 * @module
 */
import { Command, Argument, Option } from "@commander-js/extra-typings";
import { openSync, readSync, closeSync } from "node:fs";
import {
  UsageError, TunkitError, MalformedError, compileFilter, linkTypeOf, openCapture, PcapSink, CaptureFileReader, MAX_CAPLEN,
  PacketPrinter, printable, pcapLinkTypeName,
  type PacketFilter, type LinkType, type CaptureMode, type Capture, type CaptureStats, type PrintOptions,
} from "../mod.ts";
import { ifName, intInRange } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx } from "./context.ts";

/** Everything `dump` needs, validated (no syscall made yet). */
export interface DumpPlan {
  iface?: string;
  read?: string;
  write?: string;
  filter?: PacketFilter;
  count: number;
  snaplen: number;
  mode: CaptureMode | "auto";
  bufferBytes?: number;
  print: PrintOptions;
}

/** Flags of `dump` as commander hands them over. */
export interface DumpFlags {
  count?: string;
  snaplen?: string;
  write?: string;
  read?: string;
  hex?: boolean;
  X?: number;
  e?: boolean;
  nano?: boolean;
  attach?: boolean;
  sniff?: boolean;
  bufferSize?: string;
}

/**
 * Validates `dump` arguments (words = `[IFACE] [filter words...]`). Throws UsageError.
 *
 * @example
 * ```ts
 * import { planDump } from "./dump.ts";
 * const p = planDump(["tun0", "icmp", "and", "host", "10.1.1.2"], { count: "6" }, { json: false, quiet: false });
 * p.iface; // "tun0"
 * p.count; // 6
 * p.filter?.expression; // "icmp and host 10.1.1.2"
 * ```
 */
export function planDump(words: readonly string[], f: DumpFlags, g: { json: boolean; quiet: boolean }): DumpPlan {
  let iface: string | undefined;
  let rest = words;
  if (f.read === undefined) {
    if (words.length === 0) throw new UsageError("Missing interface: tunkit dump IFACE [filter...] (or -r FILE [filter...])");
    iface = ifName(words[0]!);
    rest = words.slice(1);
  } else {
    if (f.read === "") throw new UsageError('Invalid file "": expected a pcap/pcapng path or - for stdin');
    if (f.attach || f.sniff) throw new UsageError("Options --attach and --sniff apply to a device, not to -r FILE");
    if (f.bufferSize !== undefined) throw new UsageError("Option -B applies to a device, not to -r FILE");
  }
  if (f.attach && f.sniff) throw new UsageError("Options --attach and --sniff exclude each other");
  if (f.write === "") throw new UsageError('Invalid file "": expected a path or - for stdout');
  const expr = rest.join(" ").trim();
  const filter = expr ? compileFilter(expr) : undefined;
  const count = f.count !== undefined ? intInRange(f.count, "count", 1, Number.MAX_SAFE_INTEGER) : Infinity;
  let snaplen = f.snaplen !== undefined ? intInRange(f.snaplen, "snaplen", 0, MAX_CAPLEN) : MAX_CAPLEN;
  if (snaplen === 0) snaplen = MAX_CAPLEN; // tcpdump: -s 0 means the default
  const bufferBytes = f.bufferSize !== undefined ? intInRange(f.bufferSize, "buffer size (KiB)", 4, 1 << 20) * 1024 : undefined;
  const xs = f.X ?? 0;
  const hex: 0 | 1 | 2 = f.hex === false || (g.quiet && xs === 0) ? 0 : xs >= 2 ? 2 : 1;
  return {
    iface,
    read: f.read,
    write: f.write,
    filter,
    count,
    snaplen,
    mode: f.attach ? "attach" : f.sniff ? "sniff" : "auto",
    bufferBytes,
    print: { hex, link: !!f.e, nano: !!f.nano, json: g.json, localTime: true },
  };
}

/** Result of {@link FileDumper}. */
export interface FileDumpResult {
  /** Packets printed or written (after the filter). */
  packets: number;
  /** Set when the file could not be read to its end: what went wrong, one line. */
  error?: string;
}

/**
 * The `dump -r` engine: fed chunks of a pcap/pcapng file, prints (or writes to `sink`) the
 * records that pass the filter, up to the count. Never throws on bad file content: problems end
 * the dump and are reported in the result.
 *
 * @example
 * ```ts
 * import { FileDumper, planDump } from "./dump.ts";
 * import { PcapWriter, buildIcmpEcho } from "../mod.ts";
 * const w = new PcapWriter({ linkType: "raw" });
 * const ping = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2" });
 * const fileBytes = Uint8Array.from([...w.header(), ...w.record(ping, { sec: 0, nsec: 0 }), ...w.record(ping, { sec: 1, nsec: 0 })]);
 * const lines: string[] = [];
 * const d = new FileDumper(planDump([], { read: "x.pcap" }, { json: false, quiet: false }), (s) => lines.push(s));
 * d.push(fileBytes);
 * d.end().packets; // 2
 * ```
 */
export class FileDumper {
  private readonly reader = new CaptureFileReader();
  private readonly printer: PacketPrinter;
  private packets = 0;
  private error: string | undefined;
  private sinkLinkType: number | undefined;
  private skippedLinkTypes = 0;
  private readonly ts = { sec: 0, nsec: 0 };

  constructor(
    readonly plan: DumpPlan,
    private readonly write: (text: string) => void,
    private readonly openSink?: (linkType: number, nanosecond: boolean) => PcapSink,
    private sink?: PcapSink,
  ) {
    this.printer = new PacketPrinter(plan.print);
  }

  /** True once the count is reached or an error ended the dump. */
  get done(): boolean {
    return this.packets >= this.plan.count || this.error !== undefined;
  }

  /** Feeds bytes; returns false once done. */
  push(chunk: Uint8Array): boolean {
    if (this.done) return false;
    try {
      this.reader.push(chunk);
      for (let rec = this.reader.next(); rec; rec = this.reader.next()) {
        this.record(rec.data, rec.linkType, rec.tsSec, rec.tsNsec, rec.originalLength);
        if (this.done) return false;
      }
    } catch (e) {
      this.error = e instanceof MalformedError || e instanceof TunkitError ? e.message : `Unreadable capture file: ${e instanceof Error ? e.message : String(e)}`;
      this.error = printable(this.error.replace(/\s*\n\s*/g, " "));
      return false;
    }
    return true;
  }

  private record(data: Uint8Array, linkType: number, sec: number, nsec: number, orig: number): void {
    const lt = linkTypeOf(linkType);
    if (this.plan.filter && (lt === undefined || !this.plan.filter.match(data, lt))) return;
    this.packets++;
    if (this.openSink) {
      if (!this.sink) {
        this.sinkLinkType = linkType;
        this.sink = this.openSink(linkType, this.reader.pcapHeader?.nanosecond ?? this.plan.print.nano);
      }
      if (linkType !== this.sinkLinkType) {
        this.packets--;
        this.skippedLinkTypes++;
        return;
      }
      this.sink.write(data, data.length, orig, sec, nsec);
      return;
    }
    this.ts.sec = sec;
    this.ts.nsec = nsec;
    this.write(this.printer.format(data, linkType, this.ts, Math.max(orig, data.length), undefined) + "\n");
  }

  /** Call at end of input. */
  end(): FileDumpResult & { skippedLinkTypes: number; sink?: PcapSink } {
    const out: FileDumpResult & { skippedLinkTypes: number; sink?: PcapSink } = { packets: this.packets, skippedLinkTypes: this.skippedLinkTypes };
    if (this.sink) out.sink = this.sink;
    if (this.error !== undefined) out.error = this.error;
    else if (!this.done) {
      const t = this.reader.end();
      if (t.truncated) {
        out.error = this.reader.format === undefined || (this.reader.format === "pcap" && !this.reader.pcapHeader)
          ? `Not a capture file: ${t.truncated.offset + t.truncated.have} bytes, too short for a pcap or pcapng header`
          : `The file ends inside a record at offset ${t.truncated.offset} (${t.truncated.have} of ${t.truncated.need} bytes)`;
      }
    }
    return out;
  }
}

/**
 * Runs the `dump -r` engine over a whole capture held in memory: what the CLI does with a
 * file, minus the file. For tests and for library users.
 *
 * @example
 * ```ts
 * import { dumpCaptureBytes, planDump } from "./dump.ts";
 * import { readFileSync } from "node:fs";
 * const out: string[] = [];
 * dumpCaptureBytes(readFileSync("capture.pcap"), planDump([], { read: "-" }, { json: false, quiet: true }), (s) => out.push(s));
 * ```
 */
export function dumpCaptureBytes(bytes: Uint8Array, plan: DumpPlan, write: (text: string) => void): FileDumpResult {
  const d = new FileDumper(plan, write);
  d.push(bytes);
  const r = d.end();
  return r.error !== undefined ? { packets: r.packets, error: r.error } : { packets: r.packets };
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;

/** Installs SIGINT/SIGTERM handlers that abort `ac`; returns the function that removes them. */
export function abortOnSignals(ac: AbortController): () => void {
  const on = () => ac.abort();
  process.on("SIGINT", on);
  process.on("SIGTERM", on);
  return () => {
    process.off("SIGINT", on);
    process.off("SIGTERM", on);
  };
}

/** Buffers text for stdout and writes it once per event-loop turn (or at 64 KiB). */
function batchedWriter(write: (s: string) => void): { add(s: string): void; flush(): void } {
  let pending = "";
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending) {
      const s = pending;
      pending = "";
      write(s);
    }
  };
  return {
    add(s: string) {
      pending += s;
      if (pending.length > 65536) flush();
      else if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    flush,
  };
}

async function dumpFromFile(ctx: Ctx, plan: DumpPlan): Promise<void> {
  const out = batchedWriter(ctx.sinks.stdout);
  const path = plan.read!;
  const openSink = plan.write !== undefined
    ? (linkType: number, nanosecond: boolean) => PcapSink.open(plan.write!, { linkType, snaplen: plan.snaplen, nanosecond: plan.print.nano || nanosecond })
    : undefined;
  const d = new FileDumper(plan, (s) => out.add(s), openSink);
  if (path === "-") {
    for await (const c of process.stdin as AsyncIterable<Uint8Array>) if (!d.push(c)) break;
  } else {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (e) {
      const err = e as { code?: string; message?: string };
      throw new TunkitError(`Cannot read "${path}": ${err.code ?? err.message ?? String(e)}`, err.code === "ENOENT" ? "check the path" : undefined);
    }
    try {
      const chunk = new Uint8Array(1 << 20);
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n <= 0) break;
        if (!d.push(chunk.subarray(0, n))) break;
      }
    } catch (e) {
      const err = e as { code?: string; message?: string };
      throw new TunkitError(`Cannot read "${path}": ${err.code ?? err.message ?? String(e)}`);
    } finally {
      closeSync(fd);
    }
  }
  const r = d.end();
  out.flush();
  if (r.sink) {
    r.sink.close();
    if (r.sink.error) throw r.sink.error;
  }
  if (r.skippedLinkTypes) ctx.out.warn(`${plural(r.skippedLinkTypes, "packet")} of another link type than the first left out of the pcap`);
  if (r.error !== undefined) {
    ctx.sinks.stderr(`tunkit: ${path === "-" ? "stdin" : path}: ${r.error}\n`);
    ctx.exitCode = 1;
  }
}

function describeCapture(cap: Capture): string {
  const lt = `link-type ${pcapLinkTypeName(cap.linkType === "ethernet" ? 1 : 101)}, snapshot length ${cap.snaplen} bytes`;
  if (cap.mode === "attach") return `attached to ${cap.name} as its reader; packets are consumed, not forwarded (${lt})`;
  return `listening on ${cap.name} beside its owner (sniffing, In and Out), ${lt}`;
}

async function dumpLive(ctx: Ctx, plan: DumpPlan): Promise<void> {
  const cap = await openCapture(plan.iface!, { mode: plan.mode, snaplen: plan.snaplen, bufferBytes: plan.bufferBytes, rtnl: ctx.rtnl() });
  const linkType: LinkType = cap.linkType;
  const ltNum = linkType === "ethernet" ? 1 : 101;
  let sink: PcapSink | undefined;
  let flushTimer: ReturnType<typeof setInterval> | undefined;
  const ac = new AbortController();
  const unhook = abortOnSignals(ac);
  const out = batchedWriter(ctx.sinks.stdout);
  let captured = 0;
  let end: string;
  let stats: CaptureStats = { received: 0 };
  try {
    if (plan.write !== undefined) {
      sink = PcapSink.open(plan.write, { linkType, snaplen: plan.snaplen, nanosecond: plan.print.nano });
      sink.flush(); // the header at once: a reader of -w - sees a valid (empty) pcap
      flushTimer = setInterval(() => sink!.flush(), 250);
    }
    if (!ctx.opts.quiet) ctx.sinks.stderr(describeCapture(cap) + "\n");
    const filter = plan.filter;
    const count = plan.count;
    const printer = sink ? undefined : new PacketPrinter(plan.print);
    const ts = { sec: 0, nsec: 0 };
    end = await cap.listen(
      (buf, caplen, wireLen, dir, sec, nsec) => {
        if (filter && !filter.match(buf.subarray(0, caplen), linkType)) return;
        if (sink) {
          sink.write(buf, caplen, wireLen, sec, nsec);
          if (sink.error) ac.abort();
        } else {
          ts.sec = sec;
          ts.nsec = nsec;
          out.add(printer!.format(buf.subarray(0, caplen), ltNum, ts, wireLen, dir) + "\n");
        }
        if (++captured >= count) ac.abort();
      },
      // Writing a file: take packets in batches (2 ms), as tcpdump's ring does; printing: at once.
      { signal: ac.signal, coalesceMs: sink ? 2 : 0 },
    );
  } finally {
    unhook();
    if (flushTimer) clearInterval(flushTimer);
    out.flush();
    sink?.close();
    stats = cap.stats();
    cap.close();
  }
  ctx.sinks.stderr(`${plural(captured, "packet")} captured\n`);
  if (cap.mode === "sniff") {
    ctx.sinks.stderr(`${plural(stats.received, "packet")} received by the socket\n`);
    ctx.sinks.stderr(`${plural(stats.dropped ?? 0, "packet")} dropped by kernel\n`);
  }
  if (sink?.error) throw sink.error;
  if (end === "down") {
    ctx.sinks.stderr(`tunkit: ${plan.iface} went down or was deleted; capture ended\n`);
    ctx.exitCode = 1;
  }
}

/**
 * Runs `dump` with a validated plan.
 *
 * @example
 * ```ts
 * import { runDump, planDump } from "./dump.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await runDump(ctx, planDump(["tun0"], { count: "6" }, ctx.opts));
 * ```
 */
export async function runDump(ctx: Ctx, plan: DumpPlan): Promise<void> {
  if (plan.read !== undefined) return dumpFromFile(ctx, plan);
  ctx.enter();
  return dumpLive(ctx, plan);
}

/**
 * The `dump` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { dumpCommand } from "./dump.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(dumpCommand(ctx));
 * ```
 */
export function dumpCommand(ctx: Ctx) {
  const cmd = new Command("dump")
    .description("print (or save as pcap) the packets crossing a tun/tap, tcpdump style")
    .addArgument(new Argument("[iface-and-filter...]", "the interface (omitted with -r), then an optional filter expression"))
    .addOption(new Option("-c, --count <n>", "exit after N packets"))
    .addOption(new Option("-s, --snaplen <bytes>", "bytes kept per packet, 1..262144 (0 = 262144)"))
    .addOption(new Option("-w, --write <file>", "write a pcap file instead of printing (- = stdout)"))
    .addOption(new Option("-r, --read <file>", "read a pcap/pcapng file instead of a device (- = stdin)"))
    .addOption(new Option("--no-hex", "summary lines only, no hex dump (same as -q)"))
    .addOption(new Option("-X", "hex + ASCII from the network layer (the default); -XX: the whole frame").argParser((_v: unknown, prev: number) => prev + 1).default(0))
    .addOption(new Option("-e", "print the link-level header (tap: MAC addresses, ethertype)"))
    .addOption(new Option("--nano", "nanosecond timestamps (and a nanosecond pcap with -w)"))
    .addOption(new Option("--attach", "become the device's reader (packets are consumed, not forwarded)"))
    .addOption(new Option("--sniff", "watch beside the device's owner (AF_PACKET), both directions"))
    .addOption(new Option("-B, --buffer-size <KiB>", "sniff: kernel buffer size in KiB (default 8192)"))
    .addHelpText(
      "after",
      `
Modes: a tun with no reader carries no traffic, so when the device is free dump ATTACHES as its
reader (it sees what the kernel sends into the tun; those packets are consumed). When another
process holds the device (tunkit echo, a VPN), dump SNIFFS beside it with an AF_PACKET socket and
sees both directions, marked In and Out. Works on tap devices too (Ethernet; -e shows MACs).

Filter words (tcpdump-like): icmp icmp6 tcp udp arp ip ip6, [src|dst] host ADDR, [src|dst] net
CIDR, [src|dst] port N, and/or/not, parentheses (quote them for the shell).

Examples:
  tunkit dump tun0                                  summaries + hex of the packets crossing tun0
  tunkit dump tun0 -c 6 icmp                        six ICMP packets, then exit
  tunkit dump tun0 --sniff -w tun0.pcap             save to pcap beside the device's owner
  tunkit dump tap0 -e -q 'arp or port 67'           tap: ARP and DHCP, with MAC addresses
  tunkit dump -r tun0.pcap 'tcp and port 80'        read a capture file (pcap or pcapng)
  tunkit dump tun0 --json | jq -c .ipv4             NDJSON, one object per packet
Ctrl-C prints the number of packets captured (and, sniffing, dropped by the kernel).`,
    )
    .action(async (words, flags) => {
      const plan = planDump(words, flags as DumpFlags, ctx.opts);
      await ctx.perform({ run: () => runDump(ctx, plan) });
    });
  setCompletionWords(cmd, ["icmp", "icmp6", "tcp", "udp", "arp", "ip", "ip6", "host", "net", "port", "src", "dst", "and", "or", "not"], "tun");
  return cmd;
}

