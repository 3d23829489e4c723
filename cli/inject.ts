/**
 * `tunkit inject IFACE`: write packets into a tun/tap as if they came from the wire, from
 * `--hex` (repeatable; commas separate packets) or a pcap replay (`-r FILE`, link type checked
 * against the device), `--count N` times, optionally paced at `--rate PPS`. Everything is
 * validated before the device is opened.
 *
 * @module
 */
import { Command, Argument, Option } from "@commander-js/extra-typings";
import { openSync, readSync, closeSync, fstatSync } from "node:fs";
import { UsageError, TunkitError, fromHex } from "../common/mod.ts";
import { checkPacket, injectPackets, openTun, describeTarget, CaptureFileReader, linkTypeForDevice, captureProblem, endProblem, openHint, type TunQueue } from "../tun/mod.ts";
import { linkTypeOf, pcapLinkTypeName, printable } from "../packet/mod.ts";
import { ifName, intInRange } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx } from "./context.ts";
import { abortOnSignals } from "./dump.ts";
import { printJson } from "./output.ts";

/** Flags of `inject` as commander hands them over. */
export interface InjectFlags {
  hex: string[];
  read?: string;
  count?: string;
  rate?: string;
}

/** Where replayed packets come from: chunks of a capture file, readable once or again. */
export interface ReplaySource {
  /** The name messages use. */
  name: string;
  /** The file's bytes, in chunks (a fresh pass each call). */
  chunks(): Iterable<Uint8Array>;
  /** False for a pipe or a device: it can be read only once. */
  reReadable: boolean;
  /** Size in bytes, for a regular file. */
  size?: number;
}

/**
 * A capture file on disk as a {@link ReplaySource}, read 1 MiB at a time (never whole: memory
 * stays bounded whatever the file, /dev/zero included). Open errors are TunkitErrors with a hint.
 *
 * @example
 * ```ts
 * import { fileSource } from "./inject.ts";
 * for (const c of fileSource("x.pcap").chunks()) console.log(c.length);
 * ```
 */
export function fileSource(path: string): ReplaySource {
  const open = (): number => {
    try {
      return openSync(path, "r");
    } catch (e) {
      const code = (e as { code?: string }).code ?? "EIO";
      throw new TunkitError(`Cannot read "${printable(path)}": ${code}`, openHint(code, path, "read"));
    }
  };
  const fd0 = open();
  let regular = false;
  let size = 0;
  try {
    const st = fstatSync(fd0);
    regular = st.isFile();
    size = st.size;
  } finally {
    closeSync(fd0);
  }
  return {
    name: path,
    reReadable: regular,
    ...(regular ? { size } : {}),
    *chunks() {
      const fd = open();
      const buf = new Uint8Array(1 << 20);
      try {
        for (;;) {
          let n: number;
          try {
            n = readSync(fd, buf, 0, buf.length, null);
          } catch (e) {
            const code = (e as { code?: string }).code ?? "EIO";
            throw new TunkitError(`Cannot read "${printable(path)}": ${code}`, openHint(code, path, "read"));
          }
          if (n <= 0) return;
          yield buf.subarray(0, n);
        }
      } finally {
        closeSync(fd);
      }
    },
  };
}

/**
 * Bytes in memory as a {@link ReplaySource} (tests, library users).
 *
 * @example
 * ```ts
 * import { bytesSource } from "./inject.ts";
 * import { PcapWriter } from "../mod.ts";
 * const bytes = new PcapWriter({ linkType: "raw" }).header();
 * bytesSource("x.pcap", bytes).reReadable; // true
 * ```
 */
export function bytesSource(name: string, bytes: Uint8Array): ReplaySource {
  return { name, reReadable: true, size: bytes.length, chunks: () => [bytes] };
}

/** Packets kept in memory at most (bytes); a bigger file is read again for each pass. */
export const REPLAY_MEMORY_LIMIT = 16 << 20;

/**
 * Reads a capture file for replay, streaming: checks every record (one link type, none empty,
 * the file not cut short) and calls `each` per packet (`data` is valid during the call only).
 * File problems are TunkitErrors with the message and hint `dump -r` gives for the same file.
 *
 * @example
 * ```ts
 * import { scanReplay, bytesSource } from "./inject.ts";
 * import { readFileSync } from "node:fs";
 * const { records, linkType } = scanReplay(bytesSource("x.pcap", readFileSync("x.pcap")));
 * ```
 */
export function scanReplay(
  src: ReplaySource,
  each?: (data: Uint8Array, index: number, cut: { captureLength: number; originalLength: number }) => void,
): { records: number; linkType: number; bytes: number } {
  const r = new CaptureFileReader();
  let linkType: number | undefined;
  let records = 0;
  let bytes = 0;
  const name = printable(src.name);
  try {
    for (const chunk of src.chunks()) {
      r.push(chunk);
      for (let rec = r.next(); rec; rec = r.next()) {
        if (linkType === undefined) linkType = rec.linkType;
        else if (rec.linkType !== linkType) {
          throw new UsageError(`Invalid capture "${name}": record ${rec.index + 1} has link type ${pcapLinkTypeName(rec.linkType)}, the first had ${pcapLinkTypeName(linkType)}`);
        }
        records++;
        bytes += rec.data.length;
        each?.(rec.data, rec.index, rec);
      }
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof TunkitError && !("offset" in e))) throw e;
    const p = captureProblem(e);
    throw new TunkitError(`${name}: ${p.message}`, p.hint);
  }
  const p = endProblem(r);
  if (p) throw new TunkitError(`${name}: ${p.message}`, `${p.hint}; nothing was injected`);
  if (linkType === undefined) throw new UsageError(`Invalid capture "${name}": it holds no packets`);
  return { records, linkType, bytes };
}

/**
 * Reads the packets of a pcap/pcapng file held in memory, for replay (see {@link scanReplay}).
 *
 * @example
 * ```ts
 * import { replayPackets } from "./inject.ts";
 * import { readFileSync } from "node:fs";
 * const { packets, linkType } = replayPackets(readFileSync("x.pcap"), "x.pcap");
 * ```
 */
export function replayPackets(bytes: Uint8Array, name: string): { packets: Uint8Array[]; linkType: number; origins: string[] } {
  const packets: Uint8Array[] = [];
  const origins: string[] = [];
  const { linkType } = scanReplay(bytesSource(name, bytes), (d, i, c) => {
    packets.push(d.slice());
    origins.push(recordOrigin(name, i, c));
  });
  return { packets, linkType, origins };
}

function recordOrigin(name: string, i: number, c: { captureLength: number; originalLength: number }): string {
  return `record ${i + 1} of ${printable(name)}${c.captureLength < c.originalLength ? ` (cut to ${c.captureLength} of ${c.originalLength} bytes when captured)` : ""}`;
}

/** A validated `inject` invocation (the packets parsed, not yet checked against the device). */
export interface InjectPlan {
  iface: string;
  /** The packets, when held in memory (hex, or a file up to {@link REPLAY_MEMORY_LIMIT}). */
  packets: Uint8Array[];
  /** LINKTYPE of the replayed file, when -r. */
  fileLinkType?: number;
  /** Where each packet came from, for messages ("packet 2 of --hex", "record 5 of x.pcap"). */
  origins: string[];
  /** A file too big to hold: streamed again for the device check and for each repetition. */
  stream?: ReplaySource;
  count: number;
  rate?: number;
}

/**
 * Validates `inject` arguments: hex syntax, the file (streamed: memory stays bounded), counts.
 * Throws UsageError on bad usage, TunkitError (with a hint) on a bad file.
 *
 * @example
 * ```ts
 * import { planInject } from "./inject.ts";
 * import { buildIcmpEcho } from "../packet/mod.ts";
 * import { toHex } from "../common/mod.ts";
 * const hex = toHex(buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2" }));
 * planInject("tun0", { hex: [`${hex},${hex}`], count: "3" }).packets.length; // 2
 * ```
 */
export function planInject(iface: string, f: InjectFlags, source: (p: string) => ReplaySource = fileSource): InjectPlan {
  ifName(iface);
  const hexes = f.hex ?? [];
  if (hexes.length && f.read !== undefined) throw new UsageError("Options --hex and -r exclude each other: inject either hex packets or a capture file");
  if (!hexes.length && f.read === undefined) throw new UsageError("Nothing to inject: give --hex BYTES (repeatable, commas between packets) or -r FILE.pcap");
  const plan: InjectPlan = { iface, packets: [], origins: [], count: f.count !== undefined ? intInRange(f.count, "count", 1, 100_000_000) : 1 };
  if (f.rate !== undefined) {
    const r = /^\d{1,9}(\.\d{1,6})?$/.test(f.rate) ? Number(f.rate) : NaN;
    if (!(r > 0 && r <= 100_000_000)) throw new UsageError(`Invalid rate "${printable(f.rate.slice(0, 40))}": expected packets per second, more than 0`);
    plan.rate = r;
  }
  let k = 0;
  for (const h of hexes) {
    for (const part of h.split(",")) {
      k++;
      if (part.trim() === "") throw new UsageError(`Invalid hex "${printable(h.slice(0, 80))}": packet ${k} is empty (a stray comma?)`);
      plan.packets.push(fromHex(part.trim()));
      plan.origins.push(`packet ${k} of --hex`);
    }
  }
  if (f.read !== undefined) {
    if (f.read === "") throw new UsageError('Invalid file "": expected a pcap/pcapng path');
    const src = source(f.read);
    let held = 0;
    // A big regular file is not held at all (streamed for each pass); others up to the limit.
    let overflow = src.reReadable && (src.size ?? Infinity) > REPLAY_MEMORY_LIMIT;
    const packets: Uint8Array[] = [];
    const origins: string[] = [];
    const r = scanReplay(src, (d, i, c) => {
      if (d.length === 0) throw new UsageError(`Invalid ${recordOrigin(src.name, i, c)}: empty`);
      if (overflow) return;
      held += d.length + 64;
      if (held > REPLAY_MEMORY_LIMIT) {
        overflow = true;
        packets.length = 0;
        origins.length = 0;
        return;
      }
      packets.push(d.slice());
      origins.push(recordOrigin(src.name, i, c));
    });
    plan.fileLinkType = r.linkType;
    if (overflow) {
      if (!src.reReadable) {
        throw new UsageError(`Invalid capture "${printable(src.name)}": more than ${REPLAY_MEMORY_LIMIT >> 20} MiB from a pipe or device, which cannot be read twice; save it to a file first`);
      }
      plan.stream = src;
      plan.origins = [`record 1 of ${printable(src.name)}`];
    } else {
      plan.packets = packets;
      plan.origins = origins;
    }
  }
  // Device-independent checks now; the tun/tap-specific ones once the device's kind is known.
  for (let i = 0; i < plan.packets.length; i++) {
    const p = plan.packets[i]!;
    if (p.length === 0) throw new UsageError(`Invalid ${plan.origins[i]}: empty`);
  }
  return plan;
}

/**
 * Checks the packets against the device kind (tun: IP; tap: Ethernet), and a replayed file's
 * link type. Throws UsageError. A streamed file is read once more for it.
 *
 * @example
 * ```ts
 * import { checkForDevice, planInject } from "./inject.ts";
 * checkForDevice(planInject("tun0", { hex: ["6000000000003b40" + "00".repeat(32)] }), "tun");
 * ```
 */
export function checkForDevice(plan: InjectPlan, kind: "tun" | "tap"): void {
  if (plan.fileLinkType !== undefined) {
    const lt = linkTypeOf(plan.fileLinkType);
    const want = kind === "tap" ? "ethernet" : "raw";
    if (lt !== want) {
      const file = plan.stream?.name ?? plan.origins[0]?.replace(/^record \d+ of /, "").replace(/ \(cut.*$/, "");
      throw new UsageError(
        `Link type mismatch: "${printable(file ?? "")}" holds ${pcapLinkTypeName(plan.fileLinkType)} packets but ${plan.iface} is a ${kind} (needs ${pcapLinkTypeName(linkTypeForDevice(kind))})`,
      );
    }
  }
  for (let i = 0; i < plan.packets.length; i++) checkPacket(plan.packets[i]!, kind, plan.origins[i]!);
  if (plan.stream) {
    const name = plan.stream.name;
    scanReplay(plan.stream, (d, i, c) => checkPacket(d, kind, recordOrigin(name, i, c)));
  }
}

/** Injects a streamed file: batches of records, each batch paced like injectPackets. */
async function injectStream(dev: TunQueue, plan: InjectPlan, signal: AbortSignal): Promise<number> {
  let sent = 0;
  const batch: Uint8Array[] = [];
  let held = 0;
  const t0 = performance.now();
  const send = async () => {
    if (!batch.length || signal.aborted) return;
    if (plan.rate !== undefined) {
      // keep the overall rate across batches
      const wait = (sent * 1000) / plan.rate - (performance.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    sent += await injectPackets(dev, batch, { rate: plan.rate, signal });
    batch.length = 0;
    held = 0;
  };
  for (let rep = 0; rep < plan.count && !signal.aborted; rep++) {
    // Read 1 MiB at a time; send what each chunk completed (the file was checked already).
    const r = new CaptureFileReader();
    for (const chunk of plan.stream!.chunks()) {
      r.push(chunk);
      for (let rec = r.next(); rec; rec = r.next()) {
        batch.push(rec.data.slice());
        held += rec.data.length;
      }
      if (held >= 1 << 20) await send();
      if (signal.aborted) break;
    }
    await send();
  }
  return sent;
}
/**
 * Runs `inject` with a validated plan.
 *
 * @example
 * ```ts
 * import { runInject, planInject } from "./inject.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await runInject(ctx, planInject("tun0", { hex: ["4500001c00000000401100000a0101020a010101"] }));
 * ```
 */
export async function runInject(ctx: Ctx, plan: InjectPlan): Promise<void> {
  ctx.enter();
  const t = await describeTarget(plan.iface, ctx.rtnl());
  if (t.kind === "other") throw new UsageError(`Device "${plan.iface}" is not a tun/tap device: inject writes into a tun/tap it attaches to`);
  checkForDevice(plan, t.kind);
  const dev = openTun({ name: plan.iface, mode: t.kind, multiQueue: t.multiQueue });
  const ac = new AbortController();
  const unhook = abortOnSignals(ac);
  let n = 0;
  try {
    n = plan.stream ? await injectStream(dev, plan, ac.signal) : await injectPackets(dev, plan.packets, { count: plan.count, rate: plan.rate, signal: ac.signal });
  } finally {
    unhook();
    dev.close();
  }
  const out = ctx.out;
  if (out.json) printJson(out, { ifname: plan.iface, injected: n });
  else out.info(`${n} packet${n === 1 ? "" : "s"} injected`);
}

/**
 * The `inject` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { injectCommand } from "./inject.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(injectCommand(ctx));
 * ```
 */
export function injectCommand(ctx: Ctx) {
  const cmd = new Command("inject")
    .description("write packets into a tun/tap (from hex or a pcap replay), as if they came from the wire")
    .addArgument(new Argument("<iface>", "the tun/tap device (must be free: inject attaches to it)"))
    .addOption(new Option("--hex <bytes>", "a packet in hex; repeatable, or several separated by commas").argParser((v: string, prev: string[]) => [...prev, v]).default([] as string[]))
    .addOption(new Option("-r, --read <file>", "replay the packets of a pcap/pcapng file (raw IP for a tun, Ethernet for a tap)"))
    .addOption(new Option("--count <n>", "send the whole set N times (default 1)"))
    .addOption(new Option("--rate <pps>", "at most this many packets per second (paced with timers)"))
    .addHelpText(
      "after",
      `
A tun takes IP packets (first nibble 4 or 6), a tap Ethernet frames. The kernel receives them on
the device as if they came from the wire: a UDP packet to a local address reaches the socket
bound there. Hex and files are checked before the device is opened.

Examples:
  tunkit inject tun0 --hex 4500001c0001000040117a8bc0000202c0000201 ...
  tunkit inject tun0 -r capture.pcap --rate 100
  tunkit inject tap0 --hex "$FRAME1,$FRAME2" --count 10`,
    )
    .action(async (iface, flags) => {
      const plan = planInject(iface, flags as InjectFlags);
      await ctx.perform({ run: () => runInject(ctx, plan) });
    });
  setCompletionWords(cmd, [], "tun");
  return cmd;
}


