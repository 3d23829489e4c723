/**
 * `tunkit wg`: a WireGuard-compatible VPN.
 *
 *   tunkit wg up IFACE --config FILE   bring an interface up from a wg-quick style file
 *   tunkit wg down IFACE               take it down (addresses and routes go with the tun)
 *   tunkit wg show [IFACE|all|interfaces] [--json]
 *   tunkit wg genkey | pubkey | genpsk
 *   tunkit wg go IFACE [-f]            wireguard-go's interface: for WG_QUICK_USERSPACE_IMPLEMENTATION
 *
 * Interfaces serve the UAPI socket /var/run/wireguard/IFACE.sock, so `wg` and `wg-quick` work
 * against them. `up` and `go` run the interface in a background process of their own (like
 * wireguard-go) unless `--foreground`. Logic lives in wg/; this file parses and prints.
 *
 * Test hooks: TUNKIT_WG_TEST_TIMERS='{"rekeyAfterTime":3000,…}' shortens the protocol timers;
 * TUNKIT_WG_OFFLOAD=none|tun,gso,gro picks the offloads (default: all the kernel has).
 * A background interface logs its stop to syslog (ffi/daemon.ts; TUNKIT_SYSLOG_SOCKET overrides
 * /dev/log).
 *
 * @module
 */
import { Command, Option } from "@commander-js/extra-typings";
import { spawn } from "node:child_process";
import { readFileSync, statSync, existsSync, unlinkSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import type { Ctx } from "./context.ts";
import { printJson } from "./output.ts";

/** Flags of `wg up`. */
export interface WgUpFlags {
  config?: string;
  foreground?: boolean;
}

function testTimers(): Record<string, number> | undefined {
  const t = process.env.TUNKIT_WG_TEST_TIMERS;
  if (!t) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    throw new UsageError(`Invalid TUNKIT_WG_TEST_TIMERS "${t}": expected a JSON object of milliseconds`);
  }
  if (!v || typeof v !== "object") throw new UsageError(`Invalid TUNKIT_WG_TEST_TIMERS "${t}": expected a JSON object`);
  return v as Record<string, number>;
}

/**
 * TUNKIT_WG_OFFLOAD: which offloads to use, for benchmarks and tests ("none", or a comma list of
 * tun, gso, gro; default all the kernel has).
 */
function offloadChoice(): { tun: boolean; udpGso: boolean; udpGro: boolean } | undefined {
  const t = process.env.TUNKIT_WG_OFFLOAD;
  if (t === undefined) return undefined;
  const words = t.split(",").map((w) => w.trim()).filter(Boolean);
  for (const w of words) {
    if (!["none", "tun", "gso", "gro"].includes(w)) throw new UsageError(`Invalid TUNKIT_WG_OFFLOAD "${t}": expected none or a comma list of tun, gso, gro`);
  }
  return { tun: words.includes("tun"), udpGso: words.includes("gso"), udpGro: words.includes("gro") };
}

/** The argv that starts this same program again (compiled binary, bun script, or deno). */
function selfCommand(): string[] {
  const exe = process.execPath;
  const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
  const main = fileURLToPath(new URL("./main.ts", import.meta.url));
  if (isDeno) return [exe, "run", "-A", main];
  const script = process.argv[1];
  if (script && !script.startsWith("/$bunfs") && /\.[cm]?[jt]s$/.test(script)) return [exe, script];
  if (!existsSync(main) || main.startsWith("/$bunfs")) return [exe];
  return [exe, main];
}

/**
 * Runs `args` (a tunkit command line with --foreground) as a background process and resolves
 * once it reports "ready" on its stdout; rejects with what it printed if it exits first.
 */
function daemonize(args: string[]): Promise<string> {
  const [cmd, ...pre] = selfCommand();
  // Not detached (no setsid), as wireguard-go runs itself in the background: the daemon keeps
  // the caller's session and so its scheduling group. With setsid it got an autogroup of its own,
  // and under CPU contention the single-threaded pump then got half the throughput (measured
  // with bench/wg.ts: 75 vs 176 Mbit/s sending). It outlives the caller in an orphaned process
  // group, which neither Ctrl-C nor the terminal's hang-up reaches; SIGHUP is ignored anyway.
  const child = spawn(cmd!, [...pre, ...args], {
    detached: false,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TUNKIT_WG_NOTIFY: "1" },
  });
  return new Promise((resolve, reject) => {
    let out = "";
    let err = "";
    child.stdout!.setEncoding("utf8");
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (c: string) => (err += c));
    child.stdout!.on("data", (c: string) => {
      out += c;
      const m = /^ready (.*)$/m.exec(out);
      if (m) {
        child.stdout!.destroy();
        child.stderr!.destroy();
        child.unref();
        resolve(m[1]!);
      }
    });
    child.on("exit", (code) => {
      const lines = err.trim().split("\n").filter(Boolean);
      const e = new Error(lines.map((l) => l.replace(/^tunkit: /, "")).join("; ") || `the background process exited with code ${code}`) as Error & { hint?: string; exitCode?: number };
      const hint = lines.find((l) => l.startsWith("hint: "));
      if (hint) {
        e.message = lines.filter((l) => !l.startsWith("hint: ")).map((l) => l.replace(/^tunkit: /, "")).join("; ");
        e.hint = hint.slice(6);
      } else e.hint = "run with --foreground to see it fail in front of you";
      reject(code === 2 ? new UsageError(e.message) : e);
    });
    child.on("error", reject);
  });
}

async function readConfig(ctx: Ctx, file: string) {
  const { parseConfig, worldAccessible } = await import("../wg/config.ts");
  let text: string;
  let mode: number;
  try {
    text = readFileSync(file, "utf8");
    mode = statSync(file).mode;
  } catch (e) {
    throw new UsageError(`Cannot read config "${file}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const cfg = parseConfig(text, file);
  if (worldAccessible(mode)) ctx.out.warn(`${file} is world accessible (mode ${(mode & 0o777).toString(8)}): its private key is readable by others; chmod 600 it`);
  for (const n of cfg.notes) ctx.out.warn(n);
  return cfg;
}

/** Waits until the interface stops (foreground), printing events unless quiet. */
async function serve(ctx: Ctx, wg: import("../wg/engine.ts").WireGuard, notify: boolean): Promise<void> {
  const ac = new AbortController();
  const stop = () => ac.abort();
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const ignoreHup = () => {};
  if (notify) process.on("SIGHUP", ignoreHup);
  ac.signal.addEventListener("abort", () => wg.close("signal"));
  const verbose = !notify && !ctx.opts.quiet;
  if (verbose) {
    wg.on("handshake", (e) => ctx.out.line(`handshake with peer ${e.peer.name} (${e.initiator ? "we initiated" : "it initiated"})`));
    wg.on("roam", (e) => ctx.out.line(`peer ${e.peer.name} roamed to ${fmt(e.to)}`));
    wg.on("handshakeFailed", (e) => ctx.out.line(`handshake with peer ${e.peer.name} failed after ${e.attempts} attempts`));
  }
  const { formatEndpoint } = await import("../wg/endpoint.ts");
  const fmt = formatEndpoint;
  const daemon = notify ? await import("../ffi/daemon.ts") : undefined;
  if (daemon) {
    // The caller stops reading once it has this line; from then on what this process has to say
    // goes to syslog, and stdout/stderr to /dev/null (a write to the closed pipe would be SIGPIPE).
    await new Promise<void>((res) => process.stdout.write(`ready ${wg.name} ${wg.listenPort}\n`, () => res()));
    daemon.detachStdio();
  } else if (!ctx.opts.quiet) {
    ctx.out.line(`${wg.name} is up, listening on UDP port ${wg.listenPort}${wg.uapiPath ? `, UAPI ${wg.uapiPath}` : ""} (Ctrl-C to stop)`);
  }
  const r = await wg.closed;
  process.off("SIGINT", stop);
  process.off("SIGTERM", stop);
  process.off("SIGHUP", ignoreHup);
  if (daemon) {
    const why = r.error instanceof Error ? r.error.message : r.error === undefined ? r.reason : String(r.error);
    daemon.syslog(r.error === undefined ? "info" : "err", "tunkit-wg", `${wg.name} stopped: ${why}`);
  }
  if (r.error) throw r.error;
  if (verbose) ctx.out.line(`${wg.name} stopped: ${r.reason}`);
}

async function up(ctx: Ctx, iface: string, f: WgUpFlags): Promise<void> {
  checkIfName(iface);
  if (!f.config) throw new UsageError(`wg up needs --config FILE (the wg-quick format)`);
  const cfg = await readConfig(ctx, f.config);
  const { checkConfigForUp } = await import("../wg/up.ts");
  checkConfigForUp(cfg, f.config);
  await refuseRunning(iface);
  if (!f.foreground && process.env.TUNKIT_WG_NOTIFY !== "1") {
    const argv = ["wg", "up", iface, "--config", f.config, "--foreground", ...(ctx.opts.netns ? ["-n", ctx.opts.netns] : [])];
    const info = await daemonize(argv);
    if (!ctx.opts.quiet) ctx.out.line(`${iface} is up (listening on UDP port ${info.split(" ")[1]}); tunkit wg show ${iface}; tunkit wg down ${iface}`);
    return;
  }
  ctx.enter();
  const { upFromConfig } = await import("../wg/up.ts");
  const wg = await upFromConfig(iface, cfg, { timers: testTimers(), offload: offloadChoice() });
  await serve(ctx, wg, process.env.TUNKIT_WG_NOTIFY === "1");
}

async function refuseRunning(iface: string): Promise<void> {
  const { uapiSocketPath } = await import("../wg/uapi-server.ts");
  const { uapiRequest } = await import("../wg/show.ts");
  const path = uapiSocketPath(iface);
  if (!existsSync(path)) return;
  try {
    await uapiRequest(path, "get=1\n\n", 1000);
  } catch {
    return; // stale
  }
  throw new UsageError(`Interface "${iface}" is already up (${path} answers); tunkit wg down ${iface} first`);
}

async function go(ctx: Ctx, iface: string, foreground: boolean): Promise<void> {
  checkIfName(iface);
  await refuseRunning(iface);
  if (!foreground && process.env.TUNKIT_WG_NOTIFY !== "1") {
    await daemonize(["wg", "go", iface, "--foreground", ...(ctx.opts.netns ? ["-n", ctx.opts.netns] : [])]);
    return;
  }
  ctx.enter();
  const { startWireGuard } = await import("../wg/engine.ts");
  // Like wireguard-go: no key and no peers until `wg setconf` speaks to the UAPI socket.
  const wg = await startWireGuard({ iface, privateKey: new Uint8Array(32), timers: testTimers(), offload: offloadChoice() });
  await serve(ctx, wg, process.env.TUNKIT_WG_NOTIFY === "1");
}

async function down(ctx: Ctx, iface: string): Promise<void> {
  checkIfName(iface);
  ctx.enter();
  const { uapiSocketPath } = await import("../wg/uapi-server.ts");
  const { readRecord, removeFullTunnel } = await import("../wg/fulltunnel.ts");
  const path = uapiSocketPath(iface);
  const nl = ctx.rtnl();
  const exists = async () => {
    try {
      await nl.getLink(iface);
      return true;
    } catch {
      return false;
    }
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const had = existsSync(path) || (await exists());
  if (existsSync(path)) {
    // Removing the socket stops the daemon (as wg-quick down does for userspace interfaces);
    // its tun, and with it the addresses and routes, go away when it exits, then it removes
    // its full-tunnel rules.
    unlinkSync(path);
    for (let i = 0; i < 200 && (await exists()); i++) await sleep(50);
    if (await exists()) await nl.deleteLink(iface);
    for (let i = 0; i < 100 && readRecord(iface); i++) await sleep(50);
  } else if (await exists()) {
    const link = await nl.getLink(iface);
    if (link.linkInfo?.kind !== "tun") throw new UsageError(`"${iface}" is not a userspace WireGuard interface (no ${path}, and not a tun)`);
    await nl.deleteLink(iface);
  }
  // A full tunnel's rules outlive a daemon that was killed (they keep its traffic from leaking):
  // remove them from the record it left.
  const rec = readRecord(iface);
  if (rec) {
    await removeFullTunnel(nl, rec);
    if (!ctx.opts.quiet) ctx.out.info(`removed the full-tunnel rules of ${iface} (table ${rec.table}) that its process left behind`);
  } else if (!had) {
    throw Object.assign(new Error(`There is no interface "${iface}"`), { hint: "tunkit wg show interfaces lists the running ones" });
  }
  if (!ctx.opts.quiet && had) ctx.out.info(`${iface} is down`);
}

async function show(ctx: Ctx, what: string | undefined, json: boolean): Promise<void> {
  ctx.enter();
  const { listUapiInterfaces, showInterface, formatShow } = await import("../wg/show.ts");
  const { loadWgCrypto } = await import("../wg/crypto/provider.ts");
  const { publicKey } = await import("../wg/keys.ts");
  const names = listUapiInterfaces();
  if (what === "interfaces") {
    if (json) printJson(ctx.out, names);
    else if (names.length) ctx.out.line(names.join(" "));
    return;
  }
  if (what !== undefined && what !== "all") checkIfName(what);
  const targets = what === undefined || what === "all" ? names : [what];
  let c: Awaited<ReturnType<typeof loadWgCrypto>> | undefined;
  try {
    c = await loadWgCrypto();
  } catch {
    c = undefined; // public keys are then not shown
  }
  const pub = c ? (k: Uint8Array) => publicKey(c!, k) : undefined;
  const shown = [];
  for (const t of targets) {
    const s = await showInterface(t, pub);
    delete s.privateKey;
    shown.push({ ...s, privateKey: undefined });
  }
  if (json) {
    printJson(ctx.out, what === undefined || what === "all" ? shown.map(({ privateKey: _p, ...s }) => s) : shown.map(({ privateKey: _p, ...s }) => s)[0]);
    return;
  }
  const now = Math.floor(Date.now() / 1000);
  ctx.out.line(shown.map((s) => formatShow({ ...s, privateKey: "(hidden)" }, now).trimEnd()).join("\n\n"));
}

/**
 * The `wg` command group.
 *
 * @example
 * ```ts
 * import { wgCommand } from "./wg.ts";
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(wgCommand(ctx));
 * ```
 */
export function wgCommand(ctx: Ctx) {
  const wg = new Command("wg")
    .description("a WireGuard-compatible VPN (works with wireguard-go, wg and wg-quick)")
    .addHelpText(
      "after",
      `
Examples:
  tunkit wg genkey | tee wg0.key | tunkit wg pubkey    a key pair
  tunkit wg up wg0 --config /etc/wireguard/wg0.conf    bring wg0 up in the background
  tunkit wg show wg0                                   peers, handshakes and transfer
  tunkit wg down wg0                                   take it down (its routes and rules go too)

In the background, an interface that stops (and why) is logged to syslog as tunkit-wg[PID].`,
    );
  wg.command("up")
    .description("bring up IFACE from a wg-quick style config: tun, MTU, addresses, routes for AllowedIPs")
    .argument("<iface>", "interface name, e.g. wg0")
    .addOption(new Option("-c, --config <file>", "configuration file ([Interface] and [Peer] sections)"))
    .addOption(new Option("-f, --foreground", "stay in the foreground and print handshakes (default: run in the background)"))
    .addHelpText(
      "after",
      `
Reads PrivateKey, ListenPort, FwMark, Address, MTU, Table, DNS (ignored, with a note) and
[Peer] PublicKey, PresharedKey, AllowedIPs, Endpoint, PersistentKeepalive. Warns when the file
is world accessible, as wg-quick does. Table = off adds no routes.

AllowedIPs = 0.0.0.0/0 or ::/0 with Table = auto is a full tunnel, routed as wg-quick does it:
the UDP sockets carry firewall mark T (FwMark, else table 51820 or the first free one), rules
"not fwmark T lookup T" and "lookup main suppress_prefixlength 0", a default route in table T.
Table T also holds "unreachable default" behind it: if the process is killed, traffic is
blocked rather than sent around the tunnel until "tunkit wg down IFACE" removes the rules.

Examples:
  tunkit wg up wg0 --config /etc/wireguard/wg0.conf
  tunkit wg up wg0 -c wg0.conf --foreground`,
    )
    .action((iface, f) => ctx.perform({ run: () => up(ctx, iface, f) }));
  wg.command("down")
    .description("take IFACE down (its addresses and routes go with it)")
    .argument("<iface>", "interface name")
    .action((iface) => ctx.perform({ run: () => down(ctx, iface) }));
  wg.command("show")
    .description("show interfaces, peers, handshakes and transfer, as wg show does")
    .argument("[what]", "an interface, all (default) or interfaces")
    .addOption(new Option("--json", "print JSON"))
    .action((what, f) => ctx.perform({ run: () => show(ctx, what, !!f.json || ctx.opts.json) }));
  wg.command("genkey")
    .description("print a new private key (base64)")
    .action(() =>
      ctx.perform({
        run: async () => {
          const { generatePrivateKey, formatKey } = await import("../wg/keys.ts");
          ctx.out.line(formatKey(generatePrivateKey()));
        },
      }),
    );
  wg.command("genpsk")
    .description("print a new preshared key (base64)")
    .action(() =>
      ctx.perform({
        run: async () => {
          const { generatePresharedKey, formatKey } = await import("../wg/keys.ts");
          ctx.out.line(formatKey(generatePresharedKey()));
        },
      }),
    );
  wg.command("pubkey")
    .description("read a private key on stdin, print its public key")
    .action(() =>
      ctx.perform({
        run: async () => {
          const { parseKey, publicKey, formatKey } = await import("../wg/keys.ts");
          const { loadWgCrypto } = await import("../wg/crypto/provider.ts");
          let text = "";
          const dec = new TextDecoder();
          for await (const chunk of ctx.sinks.stdin?.() ?? []) text += dec.decode(chunk, { stream: true });
          const priv = parseKey(text.trim(), "private key");
          ctx.out.line(formatKey(publicKey(await loadWgCrypto(), priv)));
        },
      }),
    );
  wg.command("go")
    .description("create IFACE with no configuration and serve its UAPI socket (wireguard-go's interface, for wg-quick)")
    .argument("<iface>", "interface name")
    .addOption(new Option("-f, --foreground", "stay in the foreground"))
    .addHelpText(
      "after",
      `
For wg-quick, point WG_QUICK_USERSPACE_IMPLEMENTATION at a two-line script:
  #!/bin/sh
  exec tunkit wg go "$@"`,
    )
    .action((iface, f) => ctx.perform({ run: () => go(ctx, iface, !!f.foreground) }));
  return wg;
}
