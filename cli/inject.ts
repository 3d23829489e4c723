/**
 * `tunkit inject IFACE`: write packets into a tun/tap as if they came from the wire, from
 * `--hex` (repeatable; commas separate packets) or a pcap replay (`-r FILE`, link type checked
 * against the device), `--count N` times, optionally paced at `--rate PPS`. Everything is
 * validated before the device is opened.
 *
 * @module
 */
import { Command, Argument, Option } from "@commander-js/extra-typings";
import { readFileSync } from "node:fs";
import {
  UsageError, fromHex, checkPacket, injectPackets, openTun, describeTarget, CaptureFileReader, linkTypeForDevice, linkTypeOf, pcapLinkTypeName,
} from "../mod.ts";
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

/** A validated `inject` invocation (the packets parsed, not yet checked against the device). */
export interface InjectPlan {
  iface: string;
  packets: Uint8Array[];
  /** LINKTYPE of the replayed file, when -r. */
  fileLinkType?: number;
  /** Where each packet came from, for messages ("packet 2 of --hex", "record 5 of x.pcap"). */
  origins: string[];
  count: number;
  rate?: number;
}

/**
 * Reads the packets of a pcap/pcapng file for replay. Throws UsageError on an unreadable or
 * malformed file, several link types, or no packets.
 *
 * @example
 * ```ts
 * import { replayPackets } from "./inject.ts";
 * import { readFileSync } from "node:fs";
 * const { packets, linkType } = replayPackets(readFileSync("x.pcap"), "x.pcap");
 * ```
 */
export function replayPackets(bytes: Uint8Array, name: string): { packets: Uint8Array[]; linkType: number; origins: string[] } {
  const r = new CaptureFileReader();
  const packets: Uint8Array[] = [];
  const origins: string[] = [];
  let linkType: number | undefined;
  try {
    r.push(bytes);
    for (let rec = r.next(); rec; rec = r.next()) {
      if (linkType === undefined) linkType = rec.linkType;
      else if (rec.linkType !== linkType) {
        throw new UsageError(`Invalid capture "${name}": record ${rec.index + 1} has link type ${pcapLinkTypeName(rec.linkType)}, the first had ${pcapLinkTypeName(linkType)}`);
      }
      packets.push(rec.data.slice());
      origins.push(`record ${rec.index + 1} of ${name}${rec.captureLength < rec.originalLength ? ` (cut to ${rec.captureLength} of ${rec.originalLength} bytes when captured)` : ""}`);
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`Invalid capture "${name}": ${e instanceof Error ? e.message : String(e)}`);
  }
  const t = r.end();
  if (t.truncated && packets.length === 0) throw new UsageError(`Invalid capture "${name}": not a pcap/pcapng file, or cut short (${t.truncated.have} bytes at offset ${t.truncated.offset})`);
  if (linkType === undefined) throw new UsageError(`Invalid capture "${name}": it holds no packets`);
  return { packets, linkType, origins };
}

/**
 * Validates `inject` arguments: hex syntax, the file, counts. Throws UsageError.
 *
 * @example
 * ```ts
 * import { planInject } from "./inject.ts";
 * import { buildIcmpEcho, toHex } from "../mod.ts";
 * const hex = toHex(buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2" }));
 * planInject("tun0", { hex: [`${hex},${hex}`], count: "3" }).packets.length; // 2
 * ```
 */
export function planInject(iface: string, f: InjectFlags, readFile: (p: string) => Uint8Array = (p) => readFileSync(p)): InjectPlan {
  ifName(iface);
  const hexes = f.hex ?? [];
  if (hexes.length && f.read !== undefined) throw new UsageError("Options --hex and -r exclude each other: inject either hex packets or a capture file");
  if (!hexes.length && f.read === undefined) throw new UsageError("Nothing to inject: give --hex BYTES (repeatable, commas between packets) or -r FILE.pcap");
  const plan: InjectPlan = { iface, packets: [], origins: [], count: f.count !== undefined ? intInRange(f.count, "count", 1, 100_000_000) : 1 };
  if (f.rate !== undefined) {
    const r = /^\d{1,9}(\.\d{1,6})?$/.test(f.rate) ? Number(f.rate) : NaN;
    if (!(r > 0 && r <= 100_000_000)) throw new UsageError(`Invalid rate "${f.rate}": expected packets per second, more than 0`);
    plan.rate = r;
  }
  let k = 0;
  for (const h of hexes) {
    for (const part of h.split(",")) {
      k++;
      if (part.trim() === "") throw new UsageError(`Invalid hex "${h}": packet ${k} is empty (a stray comma?)`);
      plan.packets.push(fromHex(part.trim()));
      plan.origins.push(`packet ${k} of --hex`);
    }
  }
  if (f.read !== undefined) {
    if (f.read === "") throw new UsageError('Invalid file "": expected a pcap/pcapng path');
    let bytes: Uint8Array;
    try {
      bytes = readFile(f.read);
    } catch (e) {
      const err = e as { code?: string; message?: string };
      throw new UsageError(`Cannot read "${f.read}": ${err.code ?? err.message ?? String(e)}`);
    }
    const r = replayPackets(bytes, f.read);
    plan.packets = r.packets;
    plan.origins = r.origins;
    plan.fileLinkType = r.linkType;
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
 * link type. Throws UsageError.
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
      throw new UsageError(
        `Link type mismatch: "${plan.origins[0]?.replace(/^record \d+ of /, "").replace(/ \(cut.*$/, "")}" holds ${pcapLinkTypeName(plan.fileLinkType)} packets but ${plan.iface} is a ${kind} (needs ${pcapLinkTypeName(linkTypeForDevice(kind))})`,
      );
    }
  }
  for (let i = 0; i < plan.packets.length; i++) checkPacket(plan.packets[i]!, kind, plan.origins[i]!);
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
    n = await injectPackets(dev, plan.packets, { count: plan.count, rate: plan.rate, signal: ac.signal });
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


