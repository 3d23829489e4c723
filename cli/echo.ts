/**
 * `tunkit echo IFACE`: the simplest responder. Becomes the tun's reader and answers ICMP echo
 * (IPv4), ICMPv6 echo and UDP echo (port 7) in place, so `ping` through the tun gets replies;
 * prints the request of each reply (tcpdump style) unless `-q`. `--count N` / `--timeout S` end
 * it; Ctrl-C prints `N requests answered`. On a tap it plays the remote host of the link (MAC
 * `--mac`, default 02:00:00:00:00:01): it also answers ARP and neighbour solicitations.
 *
 * @module
 */
import { Command, Argument, Option } from "@commander-js/extra-typings";
import { UsageError, parseMac, formatMac } from "../common/mod.ts";
import { SysError, ERRNO, DeviceClosedError, openTun, describeTarget, serveEcho, CaptureClock, type TunDevice } from "../tun/mod.ts";
import { untilLinkCarries } from "../tun/link-ready.ts";
import { decode, toJSON, Formatter, formatTimestamp, asciiJson, printable, DEFAULT_ECHO_MAC } from "../packet/mod.ts";
import { ifName, intInRange } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx } from "./context.ts";
import { abortOnSignals } from "./dump.ts";


/** Flags of `echo` as commander hands them over. */
export interface EchoFlags {
  count?: string;
  timeout?: string;
  create?: boolean;
  busyPoll?: string;
  mac?: string;
}

/** A validated `echo` invocation. */
export interface EchoPlan {
  iface: string;
  count?: number;
  /** Milliseconds. */
  timeoutMs?: number;
  create: boolean;
  /** Microseconds of busy polling after traffic (undefined: the library default). */
  busyPollUs?: number;
  /** The responder's MAC on a tap, normalized ("02:00:00:00:00:01"); undefined: the default. */
  mac?: string;
}

/**
 * Parses a duration in seconds ("5", "0.5") into milliseconds, 0.001..86400 s.
 *
 * @example
 * ```ts
 * import { seconds } from "./echo.ts";
 * seconds("1.5", "timeout"); // 1500
 * ```
 */
export function seconds(s: string, what: string): number {
  const n = /^\d{1,6}(\.\d{1,6})?$/.test(s) ? Number(s) : NaN;
  if (!(n >= 0.001 && n <= 86400)) throw new UsageError(`Invalid ${what} "${s}": expected seconds, 0.001..86400`);
  return Math.round(n * 1000);
}

/**
 * Validates `echo` arguments.
 *
 * @example
 * ```ts
 * import { planEcho } from "./echo.ts";
 * planEcho("tun0", { count: "3", timeout: "10" }); // { iface: "tun0", count: 3, timeoutMs: 10000, create: false }
 * ```
 */
export function planEcho(iface: string, f: EchoFlags): EchoPlan {
  const plan: EchoPlan = { iface: ifName(iface), create: !!f.create };
  if (f.count !== undefined) plan.count = intInRange(f.count, "count", 1, Number.MAX_SAFE_INTEGER);
  if (f.timeout !== undefined) plan.timeoutMs = seconds(f.timeout, "timeout");
  if (f.busyPoll !== undefined) plan.busyPollUs = intInRange(f.busyPoll, "busy-poll time (microseconds)", 0, 10000);
  if (f.mac !== undefined) {
    const m = parseMac(f.mac, 6);
    if ((m[0]! & 1) !== 0 || m.every((x) => x === 0)) throw new UsageError(`Invalid MAC address "${f.mac}": expected a unicast address like 02:00:00:00:00:01`);
    plan.mac = formatMac(m);
  }
  return plan;
}

/** A device opened for echo, with what a tap responder needs to know. */
interface EchoTarget {
  dev: TunDevice;
  /** The tap's own addresses (empty for a tun). */
  own: string[];
}

async function openForEcho(ctx: Ctx, plan: EchoPlan): Promise<EchoTarget> {
  if (plan.create) {
    const dev = openTun({ name: plan.iface, mode: "tun" });
    return { dev, own: [] };
  }
  const t = await describeTarget(plan.iface, ctx.rtnl());
  if (t.kind === "other") throw new UsageError(`Device "${plan.iface}" is not a tun/tap device: echo answers on a tun or tap it can attach to`);
  if (t.kind === "tun") return carrying(ctx, t.ifindex, { dev: openTun({ name: plan.iface, mode: "tun", multiQueue: t.multiQueue }), own: [] });
  const nl = ctx.rtnl();
  const link = await nl.getLink(t.ifindex);
  if (link.address !== undefined && link.address === (plan.mac ?? DEFAULT_ECHO_MAC)) {
    throw new UsageError(`Invalid MAC address "${link.address}": it is ${plan.iface}'s own; pick another with --mac`);
  }
  const own: string[] = [];
  for (const a of await nl.listAddresses({ dev: t.ifindex })) {
    const ip = a.local ?? a.address;
    if (ip !== undefined) own.push(ip);
  }
  return carrying(ctx, t.ifindex, { dev: openTun({ name: plan.iface, mode: "tap", multiQueue: t.multiQueue }), own });
}

/**
 * `target` once the kernel routes packets into its device (tun/link-ready.ts): attaching to a
 * device that was up without a reader turns its carrier on, and its queue starts a moment
 * later; "answering" is printed after that, so a ping sent on it is never dropped before us.
 */
async function carrying(ctx: Ctx, ifindex: number, target: EchoTarget): Promise<EchoTarget> {
  try {
    await untilLinkCarries(ctx.rtnl(), ifindex);
  } catch (e) {
    target.dev.close();
    throw e;
  }
  return target;
}

/**
 * Runs `echo` with a validated plan: prints a line per reply (unless quiet) and the count at
 * the end.
 *
 * @example
 * ```ts
 * import { runEcho, planEcho } from "./echo.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await runEcho(ctx, planEcho("tun0", { count: "3" }));
 * ```
 */
export async function runEcho(ctx: Ctx, plan: EchoPlan): Promise<void> {
  ctx.enter();
  let dev: TunDevice;
  let own: string[];
  try {
    ({ dev, own } = await openForEcho(ctx, plan));
  } catch (e) {
    if (e instanceof SysError && e.errno === ERRNO.ENODEV && !plan.create) {
      throw new SysError("get link", ERRNO.ENODEV, plan.iface, `there is no interface "${plan.iface}": create it with tunkit up ${plan.iface} ADDRESS/PREFIX, or run echo --create`);
    }
    throw e;
  }
  const ac = new AbortController();
  const unhook = abortOnSignals(ac);
  const timer = plan.timeoutMs !== undefined ? setTimeout(() => ac.abort(), plan.timeoutMs) : undefined;
  const quiet = ctx.opts.quiet;
  const json = ctx.opts.json;
  const fmt = new Formatter({ localTime: true });
  const clock = new CaptureClock();
  const ts = { sec: 0, nsec: 0 };
  let gone = false;
  const tap = dev.flags.mode === "tap";
  const linkType = tap ? "ethernet" : "raw";
  let answered = 0;
  let resolved = 0;
  try {
    if (!quiet) {
      ctx.sinks.stderr(
        tap
          ? `answering ARP, neighbour solicitations (as ${plan.mac ?? DEFAULT_ECHO_MAC}), ping (ICMP, ICMPv6) and UDP port 7 on ${dev.name}; other frames are read and dropped\n`
          : `answering ping (ICMP, ICMPv6) and UDP port 7 on ${dev.name}; other packets are read and dropped\n`,
      );
    }
    const r = await serveEcho(dev, {
      signal: ac.signal,
      count: plan.count,
      busyPollUs: plan.busyPollUs,
      linkType,
      mac: plan.mac,
      ownAddresses: own,
      onReply: quiet
        ? undefined
        : (req, len) => {
            clock.now();
            ts.sec = clock.sec;
            ts.nsec = clock.nsec;
            const bytes = req.subarray(0, len);
            if (json) ctx.sinks.stdout(asciiJson({ sec: ts.sec, nsec: ts.nsec, ...toJSON(decode(bytes, linkType)) }) + "\n");
            else ctx.sinks.stdout(printable(`${formatTimestamp(ts, false, true)} ${fmt.format(bytes, linkType)}`) + "\n");
          },
    });
    answered = r.answered;
    resolved = r.resolved;
    if (r.failed) ctx.out.warn(`${r.failed} replies could not be written to ${dev.name}`);
  } catch (e) {
    if (!(e instanceof DeviceClosedError)) throw e;
    gone = true;
  } finally {
    unhook();
    if (timer) clearTimeout(timer);
    dev.close();
  }
  const plural = (n: number) => (n === 1 ? "" : "s");
  const extra = tap ? `, ${resolved} ARP/neighbour solicitation${plural(resolved)}` : "";
  ctx.sinks.stderr(`${answered} request${plural(answered)} answered${extra}\n`);
  if (gone) {
    ctx.sinks.stderr(`tunkit: ${plan.iface} was deleted; echo ended\n`);
    ctx.exitCode = 1;
  }
}

/**
 * The `echo` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { echoCommand } from "./echo.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(echoCommand(ctx));
 * ```
 */
export function echoCommand(ctx: Ctx) {
  const cmd = new Command("echo")
    .description("answer ping (ICMP/ICMPv6 echo) and UDP echo (port 7) arriving on a tun or tap")
    .addArgument(new Argument("<iface>", "the tun/tap device (must be free: echo becomes its reader)"))
    .addOption(new Option("-c, --count <n>", "exit after answering N requests"))
    .addOption(new Option("--timeout <seconds>", "exit after this many seconds"))
    .addOption(new Option("--create", "create the tun (non-persistent: gone when echo exits) if it does not exist"))
    .addOption(new Option("--busy-poll <us>", "after traffic, keep polling this many microseconds before sleeping (default 50; 0 = off)"))
    .addOption(new Option("--mac <mac>", `tap only: the responder's MAC address (default ${DEFAULT_ECHO_MAC})`))
    .addHelpText(
      "after",
      `
echo becomes the tun's reader: every packet the kernel routes into the device reaches it; echo
requests (IPv4 ICMP, ICMPv6, UDP to port 7) are answered in place and written back, everything
else is dropped. One line per answered request (tcpdump style) unless -q; --json for NDJSON.
To watch the traffic at the same time: tunkit dump IFACE (it sniffs beside echo).
On a tap, echo plays the host at the other end of the link, with MAC --mac: it answers ARP
requests and IPv6 neighbour solicitations for any address but the tap's own, then the echo
requests sent to that MAC. --count counts echo replies only.

Examples:
  tunkit up tun0 192.168.1.1/24 && tunkit route add 10.1.1.0/24 dev tun0
  tunkit echo tun0 &           then: ping 10.1.1.2
  tunkit echo tun0 -q --count 100 --timeout 30
  tunkit up tap0 192.0.2.1/24 --tap && tunkit echo tap0 &   then: ping 192.0.2.2`,
    )
    .action(async (iface, flags) => {
      const plan = planEcho(iface, flags);
      await ctx.perform({ run: () => runEcho(ctx, plan) });
    });
  setCompletionWords(cmd, [], "tun");
  return cmd;
}
