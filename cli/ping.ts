/**
 * `tunkit ping TARGET`: ICMP/ICMPv6 echo with tunkit's own sockets, so a slim image with no
 * `ping` can still prove that traffic goes through a tun and back. iputils' words and output
 * (`-c -i -W -w -s -t -I -4 -6`, a line per reply, the statistics block); `--json` prints one
 * object at the end. Exit 0 when a reply came, 1 when none did (with a hint that says where the
 * requests went: which device the route picks, and whether a program reads that tun).
 *
 * @module
 */
import { Command, Argument, Option } from "@commander-js/extra-typings";
import { ping, tunHolders, type PingReply, type PingResult, type PingStart } from "../tun/mod.ts";
import { UsageError } from "../common/mod.ts";
import { intInRange, ifName } from "./args.ts";
import { seconds } from "./echo.ts";
import { abortOnSignals } from "./dump.ts";
import type { Ctx } from "./context.ts";

/** Flags of `ping` as commander hands them over. */
export interface PingFlags {
  count?: string;
  interval?: string;
  timeout?: string;
  deadline?: string;
  size?: string;
  ttl?: string;
  interface?: string;
  ipv4?: boolean;
  ipv6?: boolean;
}

/** A validated `ping` invocation. */
export interface PingPlan {
  target: string;
  count?: number;
  intervalMs: number;
  timeoutMs: number;
  deadlineMs?: number;
  size: number;
  ttl?: number;
  interface?: string;
  family?: 4 | 6;
}

/**
 * Validates `ping` arguments (before any socket is opened).
 *
 * @example
 * ```ts
 * import { planPing } from "./ping.ts";
 * planPing("10.1.1.2", { count: "3", interval: "0.2" }); // { target: "10.1.1.2", count: 3, intervalMs: 200, timeoutMs: 10000, size: 56 }
 * ```
 */
export function planPing(target: string, f: PingFlags): PingPlan {
  if (f.ipv4 && f.ipv6) throw new UsageError("Invalid options: -4 and -6 exclude each other");
  if (target === "" || target.startsWith("-")) throw new UsageError(`Invalid ping target "${target}": expected an IP address or a host name`);
  const plan: PingPlan = { target, intervalMs: 1000, timeoutMs: 10_000, size: 56 };
  if (f.count !== undefined) plan.count = intInRange(f.count, "count", 1, Number.MAX_SAFE_INTEGER);
  if (f.interval !== undefined) plan.intervalMs = seconds(f.interval, "interval");
  if (f.timeout !== undefined) plan.timeoutMs = seconds(f.timeout, "timeout");
  if (f.deadline !== undefined) plan.deadlineMs = seconds(f.deadline, "deadline");
  if (f.size !== undefined) plan.size = intInRange(f.size, "packet size", 0, 65507);
  if (f.ttl !== undefined) plan.ttl = intInRange(f.ttl, "TTL", 1, 255);
  if (f.interface !== undefined) plan.interface = ifName(f.interface);
  if (f.ipv4) plan.family = 4;
  if (f.ipv6) plan.family = 6;
  return plan;
}

/**
 * ping's time format: three significant digits ("0.045", "1.23", "12.3", "123").
 *
 * @example
 * ```ts
 * import { formatRtt } from "./ping.ts";
 * formatRtt(0.04512); // "0.045"
 * formatRtt(12.345); // "12.3"
 * ```
 */
export function formatRtt(ms: number): string {
  if (ms >= 100) return ms.toFixed(0);
  if (ms >= 10) return ms.toFixed(1);
  if (ms >= 1) return ms.toFixed(2);
  return ms.toFixed(3);
}

/**
 * The header line, as iputils prints it.
 *
 * @example
 * ```ts
 * import { pingHeader } from "./ping.ts";
 * pingHeader("10.1.1.2", { address: "10.1.1.2", family: 4, socket: "raw", size: 56 }); // "PING 10.1.1.2 (10.1.1.2) 56(84) bytes of data."
 * pingHeader("2001:db8::2", { address: "2001:db8::2", family: 6, socket: "raw", size: 56 }); // "PING 2001:db8::2(2001:db8::2) 56 data bytes"
 * ```
 */
export function pingHeader(target: string, s: PingStart): string {
  return s.family === 4 ? `PING ${target} (${s.address}) ${s.size}(${s.size + 28}) bytes of data.` : `PING ${target}(${s.address}) ${s.size} data bytes`;
}

/**
 * One reply line, as iputils prints it.
 *
 * @example
 * ```ts
 * import { replyLine } from "./ping.ts";
 * replyLine({ seq: 1, from: "10.1.1.2", bytes: 64, ttl: 64, rttMs: 0.0451, duplicate: false }); // "64 bytes from 10.1.1.2: icmp_seq=1 ttl=64 time=0.045 ms"
 * ```
 */
export function replyLine(r: PingReply): string {
  return `${r.bytes} bytes from ${r.from}: icmp_seq=${r.seq}${r.ttl !== undefined ? ` ttl=${r.ttl}` : ""} time=${formatRtt(r.rttMs)} ms${r.duplicate ? " (DUP!)" : ""}`;
}

/**
 * The statistics block, as iputils prints it.
 *
 * @example
 * ```ts
 * import { summaryLines } from "./ping.ts";
 * summaryLines({ target: "10.1.1.2", transmitted: 3, received: 3, duplicates: 0, loss: 0, elapsedMs: 402.4, rtt: { min: 0.045, avg: 0.061, max: 0.08, mdev: 0.0143 } });
 * // ["--- 10.1.1.2 ping statistics ---", "3 packets transmitted, 3 received, 0% packet loss, time 402ms", "rtt min/avg/max/mdev = 0.045/0.061/0.080/0.014 ms"]
 * ```
 */
export function summaryLines(r: Pick<PingResult, "target" | "transmitted" | "received" | "duplicates" | "loss" | "elapsedMs" | "rtt">): string[] {
  const dup = r.duplicates ? `, +${r.duplicates} duplicates` : "";
  const lines = [
    `--- ${r.target} ping statistics ---`,
    `${r.transmitted} packets transmitted, ${r.received} received${dup}, ${Number(r.loss.toPrecision(6))}% packet loss, time ${Math.round(r.elapsedMs)}ms`,
  ];
  if (r.rtt) lines.push(`rtt min/avg/max/mdev = ${[r.rtt.min, r.rtt.avg, r.rtt.max, r.rtt.mdev].map((x) => x.toFixed(3)).join("/")} ms`);
  return lines;
}

/** Where requests to `address` went, for the hint when nothing answered. Best effort: never throws. */
async function whereItWent(ctx: Ctx, address: string): Promise<string> {
  try {
    const nl = ctx.rtnl();
    const route = await nl.getRoute(address);
    if (route.oif === undefined) return `nothing answered ${address}`;
    const link = await nl.getLink(route.oif);
    const name = link.name ?? `#${route.oif}`;
    const via = route.gateway ? ` via ${route.gateway}` : "";
    if (link.linkInfo?.kind !== "tun") return `the route to ${address} goes out ${name}${via}, and nothing there answered: check that ${address} is up and lets ICMP echo through`;
    const holders = tunHolders(name).get(name) ?? [];
    if (!holders.length) return `${address} is routed into ${name}, which no program reads: the kernel drops what it routes there; attach a reader (for example: tunkit echo ${name})`;
    const who = holders.map((h) => `${h.comm} (pid ${h.pid})`).join(", ");
    return `${address} is routed into ${name}, read by ${who}, which sent no echo reply back through it`;
  } catch {
    return `nothing answered ${address}`;
  }
}

/**
 * Runs `ping` with a validated plan.
 *
 * @example
 * ```ts
 * import { runPing, planPing } from "./ping.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await runPing(ctx, planPing("127.0.0.1", { count: "1" }));
 * ```
 */
export async function runPing(ctx: Ctx, plan: PingPlan): Promise<void> {
  ctx.enter();
  const json = ctx.opts.json;
  const quiet = ctx.opts.quiet || json;
  const ac = new AbortController();
  const unhook = abortOnSignals(ac);
  let result: PingResult;
  try {
    result = await ping(plan.target, {
      count: plan.count,
      intervalMs: plan.intervalMs,
      timeoutMs: plan.timeoutMs,
      deadlineMs: plan.deadlineMs,
      size: plan.size,
      ttl: plan.ttl,
      interface: plan.interface,
      family: plan.family,
      signal: ac.signal,
      onStart: (s) => {
        if (!quiet) ctx.sinks.stdout(pingHeader(plan.target, s) + "\n");
      },
      onReply: (r) => {
        if (!quiet) ctx.sinks.stdout(replyLine(r) + "\n");
      },
    });
  } finally {
    unhook();
  }
  if (json) ctx.sinks.stdout(JSON.stringify(result) + "\n");
  else ctx.sinks.stdout((quiet ? "" : "\n") + summaryLines(result).join("\n") + "\n");
  if (result.received === 0 && result.transmitted > 0) {
    ctx.sinks.stderr(`tunkit: no reply from ${result.address} (${result.transmitted} sent, 0 received)\n`);
    ctx.sinks.stderr(`hint: ${await whereItWent(ctx, result.address)}\n`);
    ctx.exitCode = 1;
  }
}

/**
 * The `ping` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { pingCommand } from "./ping.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(pingCommand(ctx));
 * ```
 */
export function pingCommand(ctx: Ctx) {
  return new Command("ping")
    .description("send ICMP/ICMPv6 echo requests and print the replies, like ping (no ping binary needed)")
    .addArgument(new Argument("<target>", "an IPv4/IPv6 address (fe80::1%tun0 for link-local) or a host name"))
    .addOption(new Option("-c, --count <n>", "stop after N requests (default: until Ctrl-C)"))
    .addOption(new Option("-i, --interval <seconds>", "seconds between requests (default 1)"))
    .addOption(new Option("-W, --timeout <seconds>", "seconds to wait for replies after the last request (default 10)"))
    .addOption(new Option("-w, --deadline <seconds>", "stop after this many seconds, whatever was sent or received"))
    .addOption(new Option("-s, --size <bytes>", "payload bytes per request (default 56: 64 ICMP bytes)"))
    .addOption(new Option("-t, --ttl <n>", "TTL (IPv4) or hop limit (IPv6) of the requests"))
    .addOption(new Option("-I, --interface <iface>", "send and receive through this interface only"))
    .addOption(new Option("-4", "resolve the host name to IPv4 only").conflicts("6"))
    .addOption(new Option("-6", "resolve the host name to IPv6 only"))
    .addHelpText(
      "after",
      `
Uses an unprivileged ICMP socket where net.ipv4.ping_group_range allows it, else a raw socket
(root or CAP_NET_RAW). A line per reply and ping's statistics; -q prints the statistics only,
--json one object with every reply. Exit 0 when a reply came, 1 when none did: the hint says
which device the route picks and whether a program reads that tun.

Examples:
  tunkit up tun0 192.168.1.1/24 && tunkit route add 10.1.1.0/24 dev tun0
  tunkit echo tun0 &   then:   tunkit ping -c 3 -i 0.2 10.1.1.2
  tunkit ping -6 -c 1 -W 1 2001:db8::2
  tunkit --json ping -c 5 -q 192.0.2.1`,
    )
    .action(async (target, flags) => {
      const o = flags as { 4?: boolean; 6?: boolean } & PingFlags;
      const plan = planPing(target, { ...flags, ipv4: o["4"], ipv6: o["6"] });
      await ctx.perform({ run: () => runPing(ctx, plan) });
    });
}
