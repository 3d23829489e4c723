/**
 * `tunkit socks NAME --proxy socks5://…` and `tunkit http NAME --proxy http://…`: everything
 * sent into the tun leaves through the proxy (tun2socks / tun2http). Runs until SIGINT/SIGTERM,
 * then removes what it added; SIGUSR1 prints the statistics.
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { DeviceClosedError, ProxyHealth, TunkitError, UsageError, planProxyTunnel, startProxyTunnel, type ProxyTunnelFlags } from "../mod.ts";
import { cidr, ifName, intInRange } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx } from "./context.ts";
import { printJson } from "./output.ts";

/** Options as commander hands them over. */
export interface TunnelCliFlags {
  proxy: string;
  address?: string[];
  mtu?: string;
  dns?: string;
  fakeIpPool?: string;
  fakeIp6Pool?: string;
  autoRoute?: boolean;
  exclude?: string[];
  table?: string;
  rulePriority?: string;
  connectTimeout?: string;
  udpTimeout?: string;
  impair?: string;
}

/**
 * Validates the command line into library flags (no syscall). Throws UsageError.
 *
 * @example
 * ```ts
 * import { planTunnelCli } from "./socks.ts";
 * planTunnelCli("socks", "tun0", { proxy: "socks5://192.0.2.2:1080", address: ["198.18.0.1/30"], autoRoute: true });
 * ```
 */
export function planTunnelCli(kind: "socks" | "http", name: string, f: TunnelCliFlags): ProxyTunnelFlags {
  ifName(name);
  for (const a of f.address ?? []) cidr(a);
  for (const e of f.exclude ?? []) cidr(e);
  const flags: ProxyTunnelFlags = { kind, name, proxy: f.proxy, address: f.address, dns: f.dns, fakeIpPool: f.fakeIpPool, fakeIp6Pool: f.fakeIp6Pool, autoRoute: !!f.autoRoute, exclude: f.exclude };
  if (f.mtu !== undefined) flags.mtu = intInRange(f.mtu, "MTU", 1280, 65535);
  if (f.table !== undefined) flags.table = intInRange(f.table, "table", 1, 0xffffffff);
  if (f.rulePriority !== undefined) flags.rulePriority = intInRange(f.rulePriority, "rule priority", 1, 32000);
  if (f.connectTimeout !== undefined) flags.connectTimeoutMs = intInRange(f.connectTimeout, "connect timeout (ms)", 100, 600_000);
  if (f.udpTimeout !== undefined) flags.udpTimeoutMs = intInRange(f.udpTimeout, "UDP timeout (s)", 1, 86_400) * 1000;
  if (f.impair !== undefined) {
    const m = /^loss=([0-9.]+),reorder=([0-9.]+)(?:,seed=(\d+))?$/.exec(f.impair);
    const loss = Number(m?.[1]);
    const reorder = Number(m?.[2]);
    if (!m || !(loss >= 0 && loss < 1 && reorder >= 0 && reorder < 1)) throw new UsageError(`Invalid impairment "${f.impair}": expected loss=F,reorder=F[,seed=N]`);
    flags.impair = { loss, reorder, seed: Number(m[3] ?? 1) };
  }
  planProxyTunnel(flags); // every check the library makes, still without a syscall
  return flags;
}

/**
 * Runs a tunnel until SIGINT/SIGTERM (then exit 0), or until it cannot go on (device deleted,
 * proxy refusing the credentials): then it removes what it added and exits 1.
 */
async function runTunnel(ctx: Ctx, flags: ProxyTunnelFlags): Promise<void> {
  if (ctx.collect) throw new UsageError(`Command "${flags.kind}" cannot run inside a batch`);
  const plan = planProxyTunnel(flags);
  ctx.enter();
  const out = ctx.out;
  const warn = (line: string) => ctx.sinks.stderr(`tunkit: ${flags.kind}: ${line}\n`);
  const run = await startProxyTunnel(plan, { rtnl: ctx.rtnl(), onError: warn });
  const stats = run.tunnel.stats;
  const report = (final: boolean) => {
    if (out.json) printJson(out, { ifname: plan.name, ...(final ? { stopped: true } : {}), ...stats.toJSON() });
    else out.line(`${plan.name}: ${final ? "stopped: " : ""}${stats.toText()}`);
  };
  if (run.registryError) warn(`warning: cannot record the tunnel for tunkit cleanup (${run.registryError}): cleanup will not know it is live`);
  const health = new ProxyHealth(run.dialer);
  let stopWaiting: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stopWaiting = resolve));
  const onUsr1 = () => report(false);
  const onStop = () => stopWaiting?.();
  process.on("SIGINT", onStop);
  process.on("SIGTERM", onStop);
  process.on("SIGUSR1", onUsr1);
  let failure: Error | undefined;
  try {
    const abort = new AbortController();
    void stopped.then(() => abort.abort());
    const failed = new Promise<Error>((resolve) => {
      void run.fatal.then((e) => {
        abort.abort();
        resolve(e);
      });
      // Ready only once the proxy answered; meanwhile the tunnel is in place and refuses flows.
      health.waitUp({
        signal: abort.signal,
        onRetry: (e, ms) => warn(`warning: waiting for the proxy: ${e.message}; next try in ${ms / 1000} s (flows are refused meanwhile)`),
      }).then(
        () => {
          if (out.json) printJson(out, { ifname: plan.name, ready: true, v4: run.v4?.address, v6: run.v6?.address, ipv4: run.families.ipv4, ipv6: run.families.ipv6, ports: run.tunnel.ports });
          else out.info(`${run.describe}: ready`);
          health.opts.onChange = (up, e) => warn(up ? "the proxy answers again" : `warning: ${e?.message ?? "the proxy does not answer"}`);
          health.start();
        },
        (e: Error) => {
          if (!abort.signal.aborted) resolve(e);
        },
      );
    });
    failure = await Promise.race([stopped.then(() => undefined), failed]);
  } finally {
    process.off("SIGINT", onStop);
    process.off("SIGTERM", onStop);
    process.off("SIGUSR1", onUsr1);
    health.stop();
    await run.stop();
  }
  report(true);
  if (failure) {
    const e = failure;
    if (e instanceof DeviceClosedError) throw new TunkitError(`${e.message}: the tunnel stopped and removed its rules and routes`, "a service manager restarts it (Restart=on-failure); recreate the device first if tunkit did not create it");
    throw e;
  }
}

function tunnelCommand(ctx: Ctx, kind: "socks" | "http") {
  const scheme = kind === "socks" ? "socks5" : "http";
  const cmd = new Command(kind)
    .description(
      kind === "socks"
        ? "send everything that enters a tun device through a SOCKS5 proxy (tun2socks): TCP, UDP, DNS"
        : "send everything that enters a tun device through an HTTP CONNECT proxy (tun2http): TCP, DNS over TCP",
    )
    .argument("<name>", "tun device (made by tunkit up, or created here with --address)")
    .requiredOption("--proxy <url>", `${scheme}://[user:pass@]host:port`)
    .option("--address <cidr...>", "addresses for the device (e.g. 198.18.0.1/30, fd54:4b::1/126); created if missing")
    .option("--mtu <n>", "MTU (default 9000 on a device created here)")
    .addOption(new Option("--dns <mode>", `fake-ip: answer from 198.18.0.0/15 (AAAA: fdfe:dcba:9876::/48), names go to the proxy; tcp: forward DNS over TCP${kind === "http" ? " (default)" : ""}`).choices(["fake-ip", "tcp"]))
    .option("--fake-ip-pool <cidr>", "fake-ip pool (default 198.18.0.0/15)")
    .option("--fake-ip6-pool <cidr>", "IPv6 fake-ip pool for AAAA, routed into the tun (default fdfe:dcba:9876::/48; needs an IPv6 --address)")
    .option("--auto-route", "route everything into the tun (table + policy rules), except the proxy; removed on exit")
    .option("--exclude <cidr...>", "with --auto-route: prefixes that must not enter the tun")
    .option("--table <n>", "with --auto-route: routing table (default 8484)")
    .option("--rule-priority <n>", "with --auto-route: priority of the first rule (default 8484)")
    .option("--connect-timeout <ms>", "deadline for the proxy's connect and handshake (default 10000)")
    .option("--udp-timeout <s>", "idle timeout of a UDP flow (default 60)")
    .addOption(new Option("--impair <spec>", "testing: loss=F,reorder=F[,seed=N] on the tun path").hideHelp())
    .addHelpText(
      "after",
      `
TCP uses the kernel's own stack: tunkit rewrites addresses so connections land on a local
listener, then connects them through the proxy. A flow the proxy refuses gets a TCP RST (or
ICMP unreachable for UDP) and one error line; the tunnel keeps running. ${kind === "http" ? "UDP is refused with ICMP\nunreachable; DNS (port 53) goes over TCP through the proxy unless --dns fake-ip." : "UDP goes through UDP ASSOCIATE."}

With --auto-route nothing goes around the proxy: DNS to any resolver (port 53, UDP and TCP,
the LAN's own included) is sent into the tun; a family the tun has no address of is blocked
(unreachable) while the tunnel runs. The ready line says "ipv4 proxied, ipv6 blocked" or so.

"ready" is printed once the proxy has answered a handshake; until then the tunnel is in place
(flows are refused, nothing leaks) and a warning line per try says why it waits. Refused
credentials, or the device deleted under the tunnel, end it with exit 1 after removing its
rules and routes; SIGINT/SIGTERM end it with exit 0. Statistics print on exit and on SIGUSR1
(--json: one object). Routes and rules carry protocol 84 (tunkit): after a crash, tunkit
cleanup removes them (and leaves those of a tunnel that still runs alone).

Examples:
  sudo tunkit ${kind} tun0 --proxy ${scheme}://192.0.2.2:${kind === "socks" ? 1080 : 8888} --address 198.18.0.1/30 --auto-route
  sudo tunkit ${kind} tun0 --proxy ${scheme}://user:pass@proxy.example:${kind === "socks" ? 1080 : 3128} --dns fake-ip --auto-route --exclude 10.0.0.0/8
  sudo tunkit up tun0 198.18.0.1/30 && sudo tunkit ${kind} tun0 --proxy ${scheme}://192.0.2.2:${kind === "socks" ? 1080 : 8888}`,
    )
    .action(async (name, f) => {
      const flags = planTunnelCli(kind, name, f as TunnelCliFlags);
      await runTunnel(ctx, flags);
    });
  setCompletionWords(cmd, [], "tun");
  return cmd;
}

/**
 * The `socks` command (tun2socks).
 *
 * @example
 * ```ts
 * import { socksCommand } from "./socks.ts";
 * program.addCommand(socksCommand(ctx));
 * ```
 */
export function socksCommand(ctx: Ctx) {
  return tunnelCommand(ctx, "socks");
}

/**
 * The `http` command (tun2http); see cli/http.ts.
 *
 * @example
 * ```ts
 * import { httpTunnelCommand } from "./socks.ts";
 * program.addCommand(httpTunnelCommand(ctx));
 * ```
 */
export function httpTunnelCommand(ctx: Ctx) {
  return tunnelCommand(ctx, "http");
}
