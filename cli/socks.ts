/**
 * `tunkit socks NAME --proxy socks5://…` and `tunkit http NAME --proxy http://…`: everything
 * sent into the tun leaves through the proxy (tun2socks / tun2http). Runs until SIGINT/SIGTERM
 * (exit 0) or a fatal error (exit 1), then removes what it added; SIGUSR1 prints the statistics.
 * As a service: `--config FILE` (TOML, every option), `--log-level`, `--pidfile`, sd_notify
 * readiness when $NOTIFY_SOCKET is set, `--up`/`--down` hooks, `--metrics`.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { Command, Option } from "@commander-js/extra-typings";
import { DeviceClosedError } from "../tun/mod.ts";
import { ProxyHealth, planProxyTunnel, startProxyTunnel, type ProxyTunnelFlags } from "../proxy/mod.ts";
import { TunkitError, UsageError } from "../common/mod.ts";
import { formatTunnelConfig, mergeTunnelOptions, parseTunnelConfig, TUNNEL_OPTIONS, type TunnelOptionValues } from "../proxy/config.ts";
import { TunnelLog, type LogLevel } from "../proxy/log.ts";
import { parseMetricsAddress, serveMetrics, type MetricsAddress } from "../proxy/metrics.ts";
import { Pidfile, runHook, ServiceNotifier } from "../proxy/service.ts";
import { FLOW } from "../proxy/nat.ts";
import { useRelay, wantedRelay, type RelayKind } from "../proxy/tcp-relay.ts";
import { cidr, ifName, intInRange } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx } from "./context.ts";
import { printJson } from "./output.ts";
import { dropCleanImagePages, evictImageCache, reexecWithEnv } from "../ffi/exec.ts";
import { startImageTrim, trimSettings } from "../proxy/memory.ts";
import { ownDir } from "../proxy/registry.ts";

/** What the service around the tunnel does (not part of the library's tunnel flags). */
export interface ServiceFlags {
  logLevel: LogLevel;
  pidfile?: string;
  up?: string;
  down?: string;
  metrics?: MetricsAddress;
  healthIntervalMs: number;
  /** Exit 1 once the proxy has failed this long (ms); 0: never. */
  exitOnProxyDownMs: number;
}

/**
 * Validates option values (kebab-case names, as in a config file; numbers as text) into library
 * flags and service flags (no syscall). Throws UsageError.
 *
 * @example
 * ```ts
 * import { planTunnelCli } from "./socks.ts";
 * planTunnelCli("socks", "tun0", { proxy: "socks5://192.0.2.2:1080", address: ["198.18.0.1/30"], "auto-route": true });
 * ```
 */
export function planTunnelCli(kind: "socks" | "http", name: string, v: TunnelOptionValues): ProxyTunnelFlags & { service: ServiceFlags } {
  ifName(name);
  const str = (k: string) => v[k] as string | undefined;
  const list = (k: string) => v[k] as string[] | undefined;
  if (str("proxy") === undefined) throw new UsageError("Missing --proxy (or proxy = \"...\" in the config file)");
  for (const a of list("address") ?? []) cidr(a);
  for (const e of list("exclude") ?? []) cidr(e);
  const flags: ProxyTunnelFlags = {
    kind, name, proxy: str("proxy")!, address: list("address"), dns: str("dns"), fakeIpPool: str("fake-ip-pool"), fakeIp6Pool: str("fake-ip6-pool"),
    autoRoute: !!v["auto-route"], exclude: list("exclude"), includeUids: list("include-uid"), excludeUids: list("exclude-uid"),
  };
  const int = (k: string, what: string, min: number, max: number) => (str(k) !== undefined ? intInRange(str(k)!, what, min, max) : undefined);
  flags.mtu = int("mtu", "MTU", 1280, 65535);
  flags.table = int("table", "table", 1, 0xffffffff);
  flags.rulePriority = int("rule-priority", "rule priority", 1, 32000);
  flags.fwmark = int("fwmark", "fwmark", 1, 0xffffffff);
  if (str("bind-interface") !== undefined) flags.bindInterface = ifName(str("bind-interface")!);
  flags.connectTimeoutMs = int("connect-timeout", "connect timeout (ms)", 100, 600_000);
  const udp = int("udp-timeout", "UDP timeout (s)", 1, 86_400);
  if (udp !== undefined) flags.udpTimeoutMs = udp * 1000;
  const idle = int("tcp-idle-timeout", "TCP idle timeout (s)", 0, 86_400 * 7);
  if (idle !== undefined) flags.tcpIdleTimeoutMs = idle * 1000;
  flags.maxSessions = int("max-sessions", "max sessions", 0, 1 << 24);
  for (const k of Object.keys(flags) as Array<keyof ProxyTunnelFlags>) if (flags[k] === undefined) delete flags[k];
  const impair = str("impair");
  if (impair !== undefined) {
    const m = /^loss=([0-9.]+),reorder=([0-9.]+)(?:,seed=(\d+))?$/.exec(impair);
    const loss = Number(m?.[1]);
    const reorder = Number(m?.[2]);
    if (!m || !(loss >= 0 && loss < 1 && reorder >= 0 && reorder < 1)) throw new UsageError(`Invalid impairment "${impair}": expected loss=F,reorder=F[,seed=N]`);
    flags.impair = { loss, reorder, seed: Number(m[3] ?? 1) };
  }
  const service: ServiceFlags = {
    logLevel: (str("log-level") as LogLevel | undefined) ?? "info",
    healthIntervalMs: (int("health-interval", "health interval (s)", 0, 86_400) ?? 30) * 1000,
    exitOnProxyDownMs: (int("exit-on-proxy-down", "proxy down limit (s)", 0, 86_400 * 7) ?? 0) * 1000,
  };
  if (!["error", "warn", "info", "debug"].includes(service.logLevel)) throw new UsageError(`Invalid log level "${service.logLevel}": expected error, warn, info or debug`);
  if (str("pidfile") !== undefined) service.pidfile = str("pidfile");
  if (str("up") !== undefined) service.up = str("up");
  if (str("down") !== undefined) service.down = str("down");
  if (str("metrics") !== undefined) service.metrics = parseMetricsAddress(str("metrics")!);
  planProxyTunnel(flags); // every check the library makes, still without a syscall
  return { ...flags, service };
}

/** Reads and parses `--config FILE` (UsageError naming the file when it cannot be read). */
function readConfig(file: string) {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new UsageError(`Cannot read config "${file}": ${(e as { code?: string }).code ?? (e as Error).message}`);
  }
  return parseTunnelConfig(text, file);
}

/**
 * mimalloc's purge delay (ms) for a daemon on the Bun relay (see runTunnel). What a purge does in
 * Bun 1.4.5's mimalloc (v3): a page freed goes back to its arena as free 64 KiB slices; the first
 * such free after a purge sets the arena's expiry to now + delay, and at expiry (checked when a
 * page is freed or the heap collected) every slice still free is decommitted at once
 * (MADV_DONTNEED), not each after a delay of its own; a slice taken again before that keeps its
 * pages. So a longer delay does not mean fewer faults: 1000 and 2500 ms faulted no less than 250
 * (thousands per GB: download 10.6/10.9 against 7.5, iperf3 8 streams 3.6/5.6 against 4.5,
 * upload 11.1/8.9 against 11.3; same run, load 8-15), and most of those faults came from the
 * relay's own full collections (fixed: proxy/tcp-relay.ts GC_MIN_BYTES). Since then: 250 ms
 * 3.8k faults and 1.76 s CPU per GB of download, -1 1.6k and 1.62 s, iperf3 8 streams 1.57
 * against 1.55 s, bulk peak 43.0 against 51.1 MB (same run, load 11-14). The options cannot be
 * changed once running (mi_option_set is not exported, and Bun.gc() purges only what expired).
 */
const BUN_RELAY_PURGE_DELAY = "250";

/**
 * Runs a tunnel until SIGINT/SIGTERM (exit 0), or until it cannot go on — device deleted,
 * proxy refusing the credentials, proxy down longer than --exit-on-proxy-down, an --up hook
 * failing: then it removes what it added and exits 1.
 */
async function runTunnel(ctx: Ctx, flags: ProxyTunnelFlags, svc: ServiceFlags): Promise<void> {
  if (ctx.collect) throw new UsageError(`Command "${flags.kind}" cannot run inside a batch`);
  const plan = planProxyTunnel(flags);
  // Bun's allocator (mimalloc) hands freed pages back to the kernel within ~10 ms, and every
  // chunk a relayed socket reads is a fresh buffer: while the chunks waited for the collector,
  // each MiB relayed page-faulted its memory in again (perf: 13% of the daemon's time in page
  // faults). Keeping freed pages for ever (MIMALLOC_PURGE_DELAY=-1) fixed the CPU and left every
  // chunk that ever waited resident (bulk peak 75-98 MB). Now the relay frees a chunk as soon as
  // it is written (release() in proxy/tcp-relay.ts) and the next read reuses its pages at once,
  // so a short delay keeps them for that reuse and gives back what is not reused: with 250 ms,
  // same run, load 10-14, three rows (iperf3 8 streams, 1 stream, download), peak RSS 42/39/36
  // MB against 51/55/54 with -1, CPU per GB within the noise (1.71/1.96/3.15 against
  // 1.78/1.70/2.57). The variable is read only at start-up: hence the exec of ourselves (same
  // pid). Set it yourself to choose otherwise.
  // The same exec gives the daemon JavaScriptCore without its DFG tier and Bun's --smol heap.
  // Under load the DFG compiler's own code faulted ~6 MB of the binary back in (5,000 held
  // connections: 72 -> 61 MB); --smol halves the idle JS heap (11.7 -> 6.4 MB) and, with the
  // relay's collections, bulk peaks stay near 60 MB. The relay's little JavaScript did not get
  // slower: CPU per short connection 1050-1290 us as it was, 1010-1180 with both (bench/
  // proxy-profile.ts short, 1,000 connections, interleaved). A variable set by the user wins.
  // The splice relay moves no bytes through JavaScript, so it keeps mimalloc's own purge delay
  // (5,000 held connections: anonymous 31 -> 23 MB against -1).
  // (wantedRelay(), not NativeRelay.kind(): that binds the splice FFI, 2-4 MB more peak at this
  // step. The re-exec runs the same argv, so --relay / relay = choose the same again after it.)
  const spliceRelay = wantedRelay() === "splice";
  // Right before that exec, a new version of the binary (a build, an install: in the page cache
  // in large folios) is evicted from the cache once, so the daemon maps the pages it touches
  // (5-6 MB less at the start-up peak: evictImageCache in ffi/exec.ts; the record of it beside
  // the tunnel's own, ownDir()). Off with the page trim (TUNKIT_MEM_TRIM=0).
  const evict = trimSettings(process.env) ? () => evictImageCache(ownDir()) : undefined;
  await reexecWithEnv({ ...(spliceRelay ? {} : { MIMALLOC_PURGE_DELAY: BUN_RELAY_PURGE_DELAY }), BUN_OPTIONS: "--smol", BUN_JSC_useDFGJIT: "0" }, { before: evict });
  // Start-up, not traffic, made the daemon's peak RSS: 53-55 MB at "ready", 43 MB of it pages
  // of the binary (31 code, 6 read-only data, 4-5 the bundle), 10-11 anonymous. Loading the
  // modules alone touches 36 MB of them; setting the tunnel up and the first handshake with the
  // proxy touch much other code. Dropping the clean pages after each step, not only once ready,
  // keeps the peak near 45-48 MB (what a step touches faults in again from the page cache).
  await dropCleanImagePages();
  ctx.enter();
  const out = ctx.out;
  const prefix = `tunkit: ${flags.kind}: `;
  const level: LogLevel = ctx.opts.quiet && svc.logLevel === "info" ? "warn" : svc.logLevel;
  const log = new TunnelLog(level, (line) => ctx.sinks.stderr(prefix + line + "\n"));
  const notify = new ServiceNotifier(process.env, (l) => log.warn("notify", l));
  const pid = svc.pidfile ? Pidfile.acquire(svc.pidfile) : undefined;
  let run: Awaited<ReturnType<typeof startProxyTunnel>>;
  try {
    notify.status(`starting ${plan.name}`);
    run = await startProxyTunnel(plan, { rtnl: ctx.rtnl(), log });
    await dropCleanImagePages();
  } catch (e) {
    pid?.release();
    throw e;
  }
  const stats = run.tunnel.stats;
  const report = (final: boolean) => {
    run!.tunnel.syncStats();
    if (out.json) printJson(out, { ifname: plan.name, ...(final ? { stopped: true } : {}), ...stats.toJSON() });
    else out.line(`${plan.name}: ${final ? "stopped: " : ""}${stats.toText()}`);
  };
  if (run.registryError) log.warn("registry", `cannot record the tunnel for tunkit cleanup (${run.registryError}): cleanup will not know it is live`);
  const health = new ProxyHealth(run.dialer, { intervalMs: svc.healthIntervalMs });
  let metrics: { close(): Promise<void> } | undefined;
  let stopWaiting: (() => void) | undefined;
  const stopped = new Promise<void>((resolve) => (stopWaiting = resolve));
  const onUsr1 = () => report(false);
  // For memory work (bench/proxy-profile.ts hold): TUNKIT_HEAP_REPORT=1 makes SIGUSR2 print one
  // JSON line on stderr with the JS heap's size and its largest object types (bun:jsc).
  const onUsr2 = () => void heapReport().then((l) => process.stderr.write(`${l}\n`));
  if (process.env.TUNKIT_HEAP_REPORT) process.on("SIGUSR2", onUsr2);
  const onStop = () => stopWaiting?.();
  process.on("SIGINT", onStop);
  process.on("SIGTERM", onStop);
  process.on("SIGUSR1", onUsr1);
  const hookEnv = { TUNKIT_DEV: plan.name, TUNKIT_KIND: plan.kind, TUNKIT_TABLE: String(plan.autoRoute?.table ?? ""), TUNKIT_PID: String(process.pid) };
  let failure: Error | undefined;
  let upFailed = false;
  let downTimer: ReturnType<typeof setInterval> | undefined;
  let trim: ReturnType<typeof startImageTrim> | undefined;
  try {
    if (svc.metrics) {
      metrics = await serveMetrics(svc.metrics, {
        stats,
        proxyUp: () => health.up,
        tcpByState: () => tcpByState(run.tunnel.redirect.table),
      });
    }
    if (svc.up) {
      const code = await runHook(svc.up, hookEnv);
      if (code !== 0) {
        upFailed = true;
        throw new TunkitError(`The --up command exited with status ${code}: the tunnel is taken down`, "fix the command, or run it by hand to see why");
      }
    }
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
        giveUpMs: svc.exitOnProxyDownMs || undefined,
        onRetry: (e, ms) => {
          log.warn("proxy-wait", `waiting for the proxy: ${e.message}; next try in ${ms / 1000} s (flows are refused meanwhile)`);
          notify.status(`waiting for the proxy: ${e.message}`);
        },
      }).then(
        () => {
          if (out.json) printJson(out, { ifname: plan.name, ready: true, v4: run.v4?.address, v6: run.v6?.address, ipv4: run.families.ipv4, ipv6: run.families.ipv6, ports: run.tunnel.ports });
          else out.info(`${run.describe}: ready`);
          notify.ready(`${run.describe}: ready`);
          // Start-up touched most of the binary's code and bundle once; a daemon runs little of
          // it: give the clean pages back (they fault in again from the page cache when used).
          setTimeout(() => void dropCleanImagePages().then((mb) => log.debug(`memory: ${mb} MB of clean binary pages out of the resident set`)), 200);
          // Work faults the binary back in (5,000 connections accepted: 8-9 MB of code): give it
          // back each second it is 2 MB over the lowest level seen (proxy/memory.ts; TUNKIT_MEM_TRIM=0:
          // never; TUNKIT_MEM_TRIM=MS: another interval).
          const t = trimSettings(process.env);
          if (t) trim = startImageTrim(dropCleanImagePages, { ...t, onDrop: (mb) => log.debug(`memory: ${mb} MB of binary pages faulted in by work given back`) });
          health.opts.onChange = (up, e) => {
            if (up) log.info("the proxy answers again");
            else log.warn("proxy-health", e?.message ?? "the proxy does not answer");
            notify.status(up ? `${run.describe}: ready` : `proxy down: ${e?.message ?? ""}`);
          };
          health.start();
          if (svc.exitOnProxyDownMs > 0) {
            downTimer = setInterval(() => {
              if (health.downSinceMs() >= svc.exitOnProxyDownMs) {
                abort.abort();
                resolve(health.lastError ?? new TunkitError("The proxy stopped answering"));
              }
            }, 1000);
          }
        },
        (e: Error) => {
          if (!abort.signal.aborted) resolve(e);
        },
      );
    });
    failure = await Promise.race([stopped.then(() => undefined), failed]);
  } catch (e) {
    failure = e as Error;
  } finally {
    process.off("SIGINT", onStop);
    process.off("SIGTERM", onStop);
    process.off("SIGUSR1", onUsr1);
    process.off("SIGUSR2", onUsr2);
    if (downTimer) clearInterval(downTimer);
    trim?.stop();
    notify.stopping(failure ? `stopping: ${failure.message}` : "stopping");
    health.stop();
    if (svc.down && !upFailed) {
      const code = await runHook(svc.down, hookEnv);
      if (code !== 0) log.warn("hook", `the --down command exited with status ${code}`);
    }
    await run.stop();
    await metrics?.close();
    pid?.release();
  }
  report(true);
  if (failure) {
    const e = failure;
    if (e instanceof DeviceClosedError) throw new TunkitError(`${e.message}: the tunnel stopped and removed its rules and routes`, "a service manager restarts it (Restart=on-failure); recreate the device first if tunkit did not create it");
    throw e;
  }
}

/** Counts TCP flows by state for the metrics. */
function tcpByState(t: { forEach(fn: (id: number) => void): void; state: Uint8Array }): Record<string, number> {
  const names: Record<number, string> = { [FLOW.CONNECTING]: "connecting", [FLOW.READY]: "accepting", [FLOW.OPEN]: "open", [FLOW.CLOSED]: "closed" };
  const out: Record<string, number> = { connecting: 0, accepting: 0, open: 0, closed: 0 };
  t.forEach((id) => {
    const n = names[t.state[id]!];
    if (n) out[n]!++;
  });
  return out;
}

const camel = (s: string) => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function tunnelCommand(ctx: Ctx, kind: "socks" | "http") {
  const scheme = kind === "socks" ? "socks5" : "http";
  const cmd = new Command(kind)
    .description(
      kind === "socks"
        ? "send everything that enters a tun device through a SOCKS5 proxy (tun2socks): TCP, UDP, DNS"
        : "send everything that enters a tun device through an HTTP CONNECT proxy (tun2http): TCP, DNS over TCP",
    )
    .argument("[name]", "tun device (made by tunkit up, or created here with --address); or `device` in the config file")
    .option("--config <file>", "read options from this TOML file (keys: device and the long option names); the command line wins")
    .option("--print-config", "print the effective configuration (file + command line) as TOML and exit")
    .option("-v, --verbose", "log every flow (same as --log-level debug)");
  for (const o of TUNNEL_OPTIONS) {
    const help = o.name === "proxy" ? `${scheme}://[user:pass@]host:port` : o.help;
    const opt = new Option(`--${o.name}${o.arg ? ` ${o.arg}` : ""}`, help);
    if (o.choices) opt.choices(o.choices);
    if (o.hidden) opt.hideHelp();
    cmd.addOption(opt);
  }
  cmd
    .addHelpText(
      "after",
      `
TCP uses the kernel's own stack: tunkit rewrites addresses so connections land on a local
listener, then connects them through the proxy. A flow the proxy refuses gets a TCP RST (or
ICMP unreachable for UDP) and one error line; the tunnel keeps running. ${kind === "http" ? "UDP is refused with ICMP\nunreachable; DNS (port 53) goes over TCP through the proxy unless --dns fake-ip." : "UDP goes through UDP ASSOCIATE."}

With --auto-route nothing goes around the proxy: DNS to any resolver (port 53, UDP and TCP,
the LAN's own included) is sent into the tun; a family the tun has no address of is blocked
(unreachable) while the tunnel runs. The ready line says "ipv4 proxied, ipv6 blocked" or so.
The tunnel's own sockets carry --fwmark (0x54 by default) and a first rule routes them by
main, so they never loop into the tun; --include-uid/--exclude-uid choose whose traffic enters.

"ready" is printed once the proxy has answered a handshake; until then the tunnel is in place
(flows are refused, nothing leaks) and a warning line per try says why it waits. Refused
credentials, the device deleted under the tunnel, a failing --up command, or a proxy down
longer than --exit-on-proxy-down end it with exit 1 after removing its rules and routes;
SIGINT/SIGTERM end it with exit 0. Under systemd (Type=notify) it sends READY=1, STATUS= and
STOPPING=1 to $NOTIFY_SOCKET. Statistics print on exit and on SIGUSR1 (--json: one object).
Routes and rules carry protocol 84 (tunkit): after a crash, tunkit cleanup removes them (and
leaves those of a tunnel that still runs alone).

Examples:
  sudo tunkit ${kind} tun0 --proxy ${scheme}://192.0.2.2:${kind === "socks" ? 1080 : 8888} --address 198.18.0.1/30 --auto-route
  sudo tunkit ${kind} tun0 --proxy ${scheme}://user:pass@proxy.example:${kind === "socks" ? 1080 : 3128} --dns fake-ip --auto-route --exclude 10.0.0.0/8
  sudo tunkit ${kind} --config /etc/tunkit/office.toml --print-config
  sudo tunkit up tun0 198.18.0.1/30 && sudo tunkit ${kind} tun0 --proxy ${scheme}://192.0.2.2:${kind === "socks" ? 1080 : 8888}`,
    )
    .action(async (nameArg, raw) => {
      const f = raw as Record<string, unknown>;
      const file = typeof f.config === "string" ? readConfig(f.config) : { options: {} as TunnelOptionValues, device: undefined };
      const cli: TunnelOptionValues = {};
      for (const o of TUNNEL_OPTIONS) {
        const v = f[camel(o.name)];
        if (v !== undefined) cli[o.name] = v as string | boolean | string[];
      }
      if (f.verbose) cli["log-level"] = "debug";
      const values = mergeTunnelOptions(file.options, cli);
      const name = nameArg ?? file.device;
      if (name === undefined) throw new UsageError(`Missing the tun device: tunkit ${kind} NAME, or device = "..." in the config file`);
      const planned = planTunnelCli(kind, name, values);
      if (f.printConfig) {
        ctx.sinks.stdout(formatTunnelConfig(name, values));
        return;
      }
      const { service, ...flags } = planned;
      useRelay(values.relay as RelayKind | undefined); // --relay / relay = ...; TUNKIT_RELAY when neither
      await runTunnel(ctx, flags, service);
    });
  setCompletionWords(cmd, [], "tun");
  return cmd;
}

/**
 * The `socks` command (tun2socks).
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { socksCommand } from "./socks.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(socksCommand(ctx));
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
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { httpTunnelCommand } from "./socks.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(httpTunnelCommand(ctx));
 * ```
 */
export function httpTunnelCommand(ctx: Ctx) {
  return tunnelCommand(ctx, "http");
}

/** One JSON line: RSS, JS heap size/capacity, extra (ArrayBuffer) memory and the 12 most numerous object types. */
async function heapReport(): Promise<string> {
  const mu = process.memoryUsage();
  const mb = (n: number) => Math.round((n / 1048576) * 10) / 10;
  let jsc: Record<string, unknown> = {};
  try {
    const { heapStats } = (await import("bun:jsc")) as { heapStats(): { heapSize: number; heapCapacity: number; extraMemorySize: number; objectCount: number; objectTypeCounts: Record<string, number> } };
    const h = heapStats();
    const top = Object.entries(h.objectTypeCounts).sort((a, b) => b[1] - a[1]).slice(0, 12);
    jsc = { heapMB: mb(h.heapSize), heapCapacityMB: mb(h.heapCapacity), extraMB: mb(h.extraMemorySize), objects: h.objectCount, top: Object.fromEntries(top) };
  } catch {
    // not Bun
  }
  return JSON.stringify({ heap: { rssMB: mb(mu.rss), heapUsedMB: mb(mu.heapUsed), externalMB: mb(mu.external), arrayBuffersMB: mb(mu.arrayBuffers), ...jsc } });
}
