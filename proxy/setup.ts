/**
 * `tunkit socks` / `tunkit http` as a library call: validate everything ({@link planProxyTunnel},
 * no syscall), then {@link startProxyTunnel}: open (or create) the tun, give it its addresses,
 * bring it up, start the {@link Tunnel}, install auto-route; `stop()` undoes all of it.
 *
 * @module
 */
import dns from "node:dns/promises";
import { TunkitError, UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import type { Rtnl } from "../netlink/rtnl.ts";
import { isNetlinkErrno } from "../netlink/rtnl.ts";
import { AF, RTNLGRP, RTPROT_TUNKIT } from "../netlink/route/constants.ts";
import type { Rule } from "../netlink/route/rule.ts";
import { formatAddr, parsePrefix } from "../netlink/route/ip.ts";
import { openTun, type TunDevice } from "../tun/device.ts";
import { udpWorkerWanted } from "./udp-fast.ts";
import { runtime } from "../ffi/libc.ts";
import { recheckReadable } from "../ffi/poller.ts";
import { TUN_F } from "../ffi/abi.ts";
import { autoRuleWire, installAutoRoute, parseUidRange, planAutoRoute, AUTO_ROUTE_PRIORITY, AUTO_ROUTE_TABLE, type UidRange } from "./autoroute.ts";
import type { TunnelLog } from "./log.ts";
import { ruleKey, TunnelRegistration } from "./registry.ts";
import type { Dialer } from "./dial.ts";
import { DEFAULT_FAKE_IP6_POOL, FakeIp6Pool, FakeIpPool } from "./dns.ts";
import { HttpConnectDialer } from "./http-connect.ts";
import { Socks5Dialer } from "./socks5.ts";
import { Tunnel, type TunnelFamily } from "./tunnel.ts";
import { ipVersion, parseProxyUrl, redactProxyUrl, type ProxyUrl } from "./url.ts";

/** What the command line (or a library user) asks for. */
export interface ProxyTunnelFlags {
  /** "socks" (SOCKS5) or "http" (HTTP CONNECT). */
  kind: "socks" | "http";
  /** The tun device: attached if it exists (e.g. made by `tunkit up`), else created. */
  name: string;
  /** The proxy URL. */
  proxy: string;
  /** Addresses to give the device (missing ones are added, and removed again on stop). */
  address?: readonly string[];
  /** MTU to set (default: 9000 on a device created here, unchanged otherwise). */
  mtu?: number;
  /** "fake-ip" or "tcp". */
  dns?: string;
  /** Fake-ip pool (default 198.18.0.0/15). */
  fakeIpPool?: string;
  /**
   * IPv6 fake-ip pool for AAAA answers (default fdfe:dcba:9876::/48). Used when the tun has an
   * IPv6 address (given explicitly, it requires one); the prefix gets a route into the tun.
   */
  fakeIp6Pool?: string;
  /** Install policy rules and routes so all traffic enters the tun (sing-box's auto_route). */
  autoRoute?: boolean;
  /** With auto-route: prefixes that stay out of the tunnel. */
  exclude?: readonly string[];
  /** With auto-route: routing table of the tunnel's routes. */
  table?: number;
  /** With auto-route: priority of the first policy rule. */
  rulePriority?: number;
  /** Timeout of a connection to the proxy, in ms. */
  connectTimeoutMs?: number;
  /** Idle timeout of a UDP flow, in ms. */
  udpTimeoutMs?: number;
  /** Close TCP flows idle this long in both directions (ms); 0: never. Default 300 s. */
  tcpIdleTimeoutMs?: number;
  /** Refuse new flows beyond this many at once (0: no limit). */
  maxSessions?: number;
  /**
   * SO_MARK on the tunnel's own sockets; with auto-route a first rule sends marked traffic by
   * main (default {@link DEFAULT_FWMARK} with auto-route).
   */
  fwmark?: number;
  /** SO_BINDTODEVICE on the tunnel's own sockets. */
  bindInterface?: string;
  /** With auto-route: only these users' traffic enters the tun ("1000", "1000-1999"). */
  includeUids?: readonly string[];
  /** With auto-route: these users' traffic stays out. */
  excludeUids?: readonly string[];
  /** Test impairment of the tun path (see TunnelOptions.impair). */
  impair?: { loss?: number; reorder?: number; seed?: number };
}

/** A validated plan. */
export interface ProxyTunnelPlan {
  /** The proxy's protocol. */
  kind: "socks" | "http";
  /** The tun device's name. */
  name: string;
  /** The proxy. */
  url: ProxyUrl;
  /** Addresses of the tun, by family. */
  addresses: Array<{ family: 4 | 6; text: string }>;
  /** MTU of the tun. */
  mtu?: number;
  /** DNS handling: fake-ip answers or DNS over TCP through the proxy. */
  dns?: "fake-ip" | "tcp";
  /** The IPv4 fake-ip pool (fake-ip mode). */
  pool?: FakeIpPool;
  /** The IPv6 fake-ip pool (fake-ip mode); `pool6Explicit` when the flags named it. */
  pool6?: FakeIp6Pool;
  /** The flags named the IPv6 pool. */
  pool6Explicit?: boolean;
  /** Auto-route's table, rule priority, exclusions and user ranges. */
  autoRoute?: { table: number; priority: number; exclude: string[]; includeUids: UidRange[]; excludeUids: UidRange[] };
  /** Timeout of a connection to the proxy, in ms. */
  connectTimeoutMs: number;
  /** Idle timeout of a UDP flow, in ms. */
  udpIdleMs: number;
  /** Idle timeout of a TCP flow, in ms (0: never). */
  tcpIdleMs: number;
  /** Most flows at once (0: no limit). */
  maxSessions: number;
  /** The mark on the tunnel's own sockets (0: none); `fwmarkExplicit` when the flags named it. */
  fwmark: number;
  /** The flags named the mark. */
  fwmarkExplicit?: boolean;
  /** SO_BINDTODEVICE on the tunnel's own sockets. */
  bindInterface?: string;
  /** Test impairment of the tun path: loss and reorder ratios, PRNG seed. */
  impair?: { loss?: number; reorder?: number; seed?: number };
}

/** The mark auto-route puts on tunkit's own sockets unless told otherwise ("T" for tunkit, 84). */
export const DEFAULT_FWMARK = 0x54;

/** Default MTU of a device created by the tunnel: fewer, larger segments through the rewrite. */
export const DEFAULT_TUNNEL_MTU = 9000;

/**
 * The tun's transmit queue (txqueuelen) while the tunnel runs, unless the device has a longer
 * one; an existing device gets its own back on stop. A tun's queue is a ring of this many
 * packets between the kernel and tunkit's reader (500 when the kernel makes a tun); when it is
 * full the kernel drops (the device's tx_dropped) before any TCP sees the packet, and the
 * sender retransmits 0.2-1.3 s later: the splice relay's 200-flow hang began with such a drop
 * (a listener's answer), and dump-capture's ring test lost half a flood to it. The ring must
 * hold what arrives while the one JS thread is away: a burst of 200 flows is ~1,600 packets
 * (SYN, ACKs, request, answer, FINs, both ways), and a 20 ms stall (a collection; gaps of
 * 20-45 ms were measured under load) at the tun path's ~200 kpps is 4,000. Neither hev nor
 * sing-box sets one (they keep 500); a userspace TCP stack measured 16,000 drops at 1,000
 * connections with 500 and made 4096 its default. It costs 32 KiB of pointers per queue; the
 * packets held are ones that would otherwise have been dropped and sent again.
 *
 * @example
 * ```ts
 * import { TUNNEL_TXQUEUELEN } from "./setup.ts";
 * TUNNEL_TXQUEUELEN; // 4096
 * ```
 */
export const TUNNEL_TXQUEUELEN = 4096;

/**
 * Validates flags into a plan; throws {@link UsageError} with one line. No syscall.
 *
 * @example
 * ```ts
 * import { planProxyTunnel } from "./setup.ts";
 * const p = planProxyTunnel({ kind: "socks", name: "tun0", proxy: "socks5://192.0.2.2:1080", address: ["198.18.0.1/30"], dns: "fake-ip" });
 * p.url.port; // 1080
 * ```
 */
export function planProxyTunnel(f: ProxyTunnelFlags): ProxyTunnelPlan {
  checkIfName(f.name);
  const url = parseProxyUrl(f.proxy, f.kind === "socks" ? "socks5" : "http");
  const addresses = (f.address ?? []).map((text) => {
    const p = parsePrefix(text);
    return { family: (p.family === AF.INET6 ? 6 : 4) as 4 | 6, text };
  });
  if (f.mtu !== undefined && !(Number.isInteger(f.mtu) && f.mtu >= 1280 && f.mtu <= 65535)) {
    throw new UsageError(`Invalid MTU "${f.mtu}": expected 1280..65535 for a tunnel`);
  }
  if (f.dns !== undefined && f.dns !== "fake-ip" && f.dns !== "tcp") throw new UsageError(`Invalid DNS mode "${f.dns}": expected fake-ip or tcp`);
  // Over an HTTP proxy DNS has to go over TCP unless it is answered locally.
  const dnsMode = (f.dns ?? (f.kind === "http" ? "tcp" : undefined)) as "fake-ip" | "tcp" | undefined;
  const pool = dnsMode === "fake-ip" ? new FakeIpPool(f.fakeIpPool ?? "198.18.0.0/15") : undefined;
  if (f.fakeIpPool !== undefined && dnsMode !== "fake-ip") throw new UsageError("Option --fake-ip-pool needs --dns fake-ip");
  const pool6 = dnsMode === "fake-ip" ? new FakeIp6Pool(f.fakeIp6Pool ?? DEFAULT_FAKE_IP6_POOL) : undefined;
  if (f.fakeIp6Pool !== undefined && dnsMode !== "fake-ip") throw new UsageError("Option --fake-ip6-pool needs --dns fake-ip");
  const plan: ProxyTunnelPlan = {
    kind: f.kind, name: f.name, url, addresses, dns: dnsMode, pool,
    connectTimeoutMs: f.connectTimeoutMs ?? 10_000,
    udpIdleMs: f.udpTimeoutMs ?? 60_000,
    tcpIdleMs: f.tcpIdleTimeoutMs ?? 300_000,
    maxSessions: f.maxSessions ?? 0,
    fwmark: f.fwmark ?? (f.autoRoute ? DEFAULT_FWMARK : 0),
    fwmarkExplicit: f.fwmark !== undefined,
  };
  if (f.bindInterface !== undefined) plan.bindInterface = checkIfName(f.bindInterface);
  if (!(Number.isInteger(plan.fwmark) && plan.fwmark >= 0 && plan.fwmark <= 0xffffffff)) throw new UsageError(`Invalid fwmark "${plan.fwmark}": expected 1..0xffffffff`);
  if (!(Number.isInteger(plan.maxSessions) && plan.maxSessions >= 0)) throw new UsageError(`Invalid max sessions "${plan.maxSessions}": expected 0 or more`);
  if (pool6) {
    plan.pool6 = pool6;
    plan.pool6Explicit = f.fakeIp6Pool !== undefined;
  }
  if (f.mtu !== undefined) plan.mtu = f.mtu;
  if (f.impair) plan.impair = f.impair;
  const exclude = (f.exclude ?? []).map((c) => {
    const p = parsePrefix(c);
    return `${formatAddr(p.bytes)}/${p.len}`;
  });
  const includeUids = (f.includeUids ?? []).map(parseUidRange);
  const excludeUids = (f.excludeUids ?? []).map(parseUidRange);
  if (!f.autoRoute && (exclude.length || f.table !== undefined || f.rulePriority !== undefined || includeUids.length || excludeUids.length)) {
    throw new UsageError("Options --exclude, --table, --rule-priority, --include-uid and --exclude-uid need --auto-route");
  }
  if (f.autoRoute) {
    plan.autoRoute = { table: f.table ?? AUTO_ROUTE_TABLE, priority: f.rulePriority ?? AUTO_ROUTE_PRIORITY, exclude, includeUids, excludeUids };
    planAutoRoute({
      dev: f.name, families: [4, 6], proxy: [], proxyPort: url.port, exclude, table: plan.autoRoute.table, priority: plan.autoRoute.priority,
      fwmark: plan.fwmark || undefined, includeUids, excludeUids,
    });
  }
  return plan;
}

/**
 * The fake peer (F) for a tun address: the next address in the prefix (the previous one when
 * the next is the broadcast or outside), the other one of a /31 or /127; `covered` is false
 * when the prefix holds no such address (/32, /128): it then needs a host route into the tun.
 *
 * @example
 * ```ts
 * import { fakePeerFor } from "./setup.ts";
 * fakePeerFor("198.18.0.1", 30); // { peer: "198.18.0.2", covered: true }
 * fakePeerFor("192.0.2.6", 30);  // { peer: "192.0.2.5", covered: true }
 * fakePeerFor("192.0.2.1", 32);  // { peer: "192.0.2.2", covered: false }
 * ```
 */
export function fakePeerFor(address: string, prefixLen: number): { peer: string; covered: boolean } {
  const b = parsePrefix(address).bytes;
  const bits = b.length * 8;
  const step = (src: Uint8Array, d: 1 | -1) => {
    const x = src.slice();
    for (let i = x.length - 1; i >= 0; i--) {
      const v = x[i]! + d;
      x[i] = v & 0xff;
      if (v >= 0 && v <= 0xff) break;
    }
    return x;
  };
  const inPrefix = (x: Uint8Array) => {
    for (let bit = 0; bit < prefixLen; bit++) if ((x[bit >> 3]! ^ b[bit >> 3]!) & (0x80 >> (bit & 7))) return false;
    return true;
  };
  const hostAll = (x: Uint8Array, one: boolean) => {
    for (let bit = prefixLen; bit < bits; bit++) if (!!(x[bit >> 3]! & (0x80 >> (bit & 7))) !== one) return false;
    return true;
  };
  if (prefixLen === bits) return { peer: formatAddr(step(b, 1)), covered: false };
  if (prefixLen === bits - 1) {
    const x = b.slice();
    x[x.length - 1] = x[x.length - 1]! ^ 1;
    return { peer: formatAddr(x), covered: true };
  }
  const next = step(b, 1);
  if (inPrefix(next) && !(bits === 32 && hostAll(next, true))) return { peer: formatAddr(next), covered: true };
  const prev = step(b, -1);
  return { peer: formatAddr(prev), covered: inPrefix(prev) && !hostAll(prev, false) };
}

/**
 * Watches what the tunnel depends on, on one monitor socket: calls `onRuleGone` once when a rule
 * whose {@link ruleKey} is in `keys` is deleted (or, after a monitor overrun, is missing), and
 * `onLinkGone` when the link `ifindex` is deleted. Returns the function that stops watching —
 * call it before removing the rules yourself.
 */
function watchTunnel(nl: Rtnl, ifindex: number, keys: Set<string>, onRuleGone: (r: Rule) => void, onLinkGone: () => void): () => Promise<void> {
  const groups = keys.size ? [RTNLGRP.LINK, RTNLGRP.IPV4_RULE, RTNLGRP.IPV6_RULE] : [RTNLGRP.LINK];
  const it = nl.monitor({ groups });
  let stopped = false;
  void (async () => {
    try {
      for await (const ev of it) {
        if (stopped) return;
        if (ev.kind === "link" && ev.action === "del" && ev.value.ifindex === ifindex) onLinkGone();
        if (ev.kind === "rule" && ev.action === "del" && keys.has(ruleKey(ev.value))) return onRuleGone(ev.value);
        if (ev.kind === "overrun") {
          if (!keys.size) continue;
          const have = new Set<string>();
          for (const family of [AF.INET, AF.INET6]) for (const r of await nl.listRules(family)) have.add(ruleKey(r));
          for (const k of keys) if (!have.has(k) && !stopped) return onRuleGone({ priority: Number(k.split("|")[1]) } as Rule);
        }
      }
    } catch {
      /* the monitor socket closed: stopping */
    }
  })();
  return async () => {
    stopped = true;
    await it.return?.();
  };
}

/** See {@link RunningTunnel.families}. */
export type FamilyPolicy = "proxied" | "blocked" | "off";

/** A started tunnel and how to stop it. */
export interface RunningTunnel {
  /** The running tunnel. */
  tunnel: Tunnel;
  /** Its tun device. */
  device: TunDevice;
  /** True when the device was created here (it disappears on stop). */
  created: boolean;
  /** The IPv4 side: proxied, blocked or off. */
  v4?: TunnelFamily;
  /** The IPv6 side: proxied, blocked or off. */
  v6?: TunnelFamily;
  /** The IPv6 fake-ip prefix in use (routed into the tun), when AAAA queries get answers. */
  fakeIp6?: string;
  /** The proxy addresses (resolved). */
  proxyAddresses: string[];
  /**
   * What happens to each family while the tunnel runs: "proxied" (the tun carries it),
   * "blocked" (auto-route without an address of that family on the tun: unreachable, never
   * around the proxy), "off" (no address and no auto-route: tunkit routes none of it).
   */
  families: { ipv4: FamilyPolicy; ipv6: FamilyPolicy };
  /** The dialer the tunnel uses (for health probes). */
  dialer: Dialer;
  /** Settles with the error that ended the tunnel from within (device deleted): see Tunnel.fatal. */
  fatal: Promise<Error>;
  /** Why the tunnel could not be recorded for `tunkit cleanup` (undefined when it was). */
  registryError?: string;
  /** One line describing the tunnel. */
  describe: string;
  /** Stops the tunnel and removes what start added (rules, routes, addresses, the device). Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the tunnel a plan describes. On failure everything done so far is undone.
 *
 * @example
 * ```ts
 * import { planProxyTunnel, startProxyTunnel } from "./setup.ts";
 * import { Rtnl } from "../netlink/rtnl.ts";
 * const nl = Rtnl.open();
 * const run = await startProxyTunnel(planProxyTunnel({ kind: "socks", name: "tun0", proxy: "socks5://192.0.2.2:1080", address: ["198.18.0.1/30"], autoRoute: true }), { rtnl: nl });
 * // ...
 * await run.stop();
 * ```
 */
export async function startProxyTunnel(plan: ProxyTunnelPlan, opts: { rtnl: Rtnl; onError?: (line: string) => void; log?: TunnelLog }): Promise<RunningTunnel> {
  const nl = opts.rtnl;
  const undo: Array<() => Promise<void> | void> = [];
  const runUndo = async () => {
    for (const fn of undo.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        /* best effort: the rest must still go */
      }
    }
  };
  let rulesGone: (e: Error) => void = () => {};
  const gone = new Promise<Error>((r) => (rulesGone = r));
  try {
    // The proxy's own addresses, for the auto-route exclusion (and to fail early on a bad name).
    let proxyAddresses: string[];
    if (ipVersion(plan.url.host)) proxyAddresses = [plan.url.host];
    else {
      try {
        proxyAddresses = (await dns.lookup(plan.url.host, { all: true })).map((a) => a.address);
      } catch (e) {
        throw new TunkitError(`Cannot resolve the proxy host "${plan.url.host}": ${(e as { code?: string }).code ?? (e as Error).message}`);
      }
    }
    let exists = true;
    let txqlen = 0;
    try {
      txqlen = (await nl.getLink(plan.name)).txqlen ?? 0;
    } catch (e) {
      if (!isNetlinkErrno(e, "ENODEV")) throw e;
      exists = false;
    }
    // Multi-queue when UDP may get a queue and thread of its own (the tunnel adds the queue with
    // its steering program, proxy/udp-fast.ts); a single-queue device that exists refuses it (EINVAL).
    const udpWorker = plan.kind === "socks" && !plan.impair && udpWorkerWanted();
    let device: TunDevice;
    try {
      device = openTun({ name: plan.name, vnetHdr: true, multiQueue: udpWorker });
    } catch (e) {
      if (!udpWorker) throw e;
      device = openTun({ name: plan.name, vnetHdr: true });
    }
    undo.push(() => device.close());
    // Whole 64 KiB TCP segments with partial checksums through the tun (see TunnelOptions.vnetHdr).
    const vnetHdr = device.vnetHdrSize();
    device.setOffload(TUN_F.CSUM | TUN_F.TSO4 | TUN_F.TSO6);
    const index = await nl.ifindex(plan.name);
    const have = await nl.listAddresses({ dev: index });
    for (const a of plan.addresses) {
      const p = parsePrefix(a.text);
      const local = formatAddr(p.bytes);
      if (have.some((h) => (h.local ?? h.address) === local && h.prefixLen === p.len)) continue;
      await nl.addAddress({ dev: index, address: a.text, flags: a.family === 6 ? ["nodad"] : undefined });
      if (exists) undo.push(() => nl.deleteAddress({ dev: index, address: a.text }));
    }
    const mtu = plan.mtu ?? (exists ? undefined : DEFAULT_TUNNEL_MTU);
    const qlen = txqlen < TUNNEL_TXQUEUELEN ? TUNNEL_TXQUEUELEN : undefined;
    await nl.setLink(index, { up: true, ...(mtu !== undefined && { mtu }), ...(qlen && { txqlen: qlen }) });
    if (exists && qlen) undo.push(() => nl.setLink(index, { txqlen }));
    const addrs = await nl.listAddresses({ dev: index });
    const pending: Array<{ dst: string; dev: number; protocol: number; scope: "link" }> = [];
    const pick = (family: number): TunnelFamily | undefined => {
      const a = addrs.find((x) => x.family === family && (x.scope ?? 0) === 0);
      if (!a) return undefined;
      const address = (a.local ?? a.address)!;
      const { peer, covered } = fakePeerFor(address, a.prefixLen);
      if (!covered) {
        const spec = { dst: peer, dev: index, protocol: RTPROT_TUNKIT, scope: "link" as const };
        undo.push(() => nl.deleteRoute(spec).catch(() => {}));
        pending.push(spec);
      }
      return { address, fakePeer: peer };
    };
    const v4 = pick(AF.INET);
    const v6 = pick(AF.INET6);
    if (!v4 && !v6) {
      throw new TunkitError(`Device "${plan.name}" has no IPv4 or IPv6 address`, `give one: --address 198.18.0.1/30 (or tunkit up ${plan.name} 198.18.0.1/30)`);
    }
    // The IPv6 fake-ip pool answers AAAA only when the tun can carry IPv6.
    if (plan.pool6 && !v6 && plan.pool6Explicit) {
      throw new TunkitError(
        `Device "${plan.name}" has no IPv6 address for the IPv6 fake-ip pool "${plan.pool6.cidr}"`,
        "give one: --address fdfe:dcba:9876::1/126 (or leave --fake-ip6-pool out: AAAA then gets no answer)",
      );
    }
    const pool6 = v6 ? plan.pool6 : undefined;
    for (const r of pending) await nl.addRoute(r);
    // Both fake-ip pools are routed into the tun (in main, tagged as tunkit's) so fake answers
    // work without a manual route; a route the user already has for the prefix is left alone.
    for (const cidr of [v4 ? plan.pool?.cidr : undefined, pool6?.cidr]) {
      if (!cidr) continue;
      const spec = { dst: cidr, dev: index, protocol: RTPROT_TUNKIT, scope: "link" as const };
      try {
        await nl.addRoute(spec);
        undo.push(() => nl.deleteRoute(spec).catch(() => {}));
      } catch (e) {
        if (!isNetlinkErrno(e, "EEXIST")) throw e;
      }
    }
    // The tunnel's own connections carry the mark (and leave by --bind-interface) from their SYN on.
    // (Under Deno, which cannot adopt such a socket, the default mark is left off: the proxy's
    // own exclusion rule keeps its traffic out of the tun; an explicit --fwmark is refused there.)
    const mark = plan.fwmark && (runtime === "bun" || plan.fwmarkExplicit) ? plan.fwmark : undefined;
    const so = mark || plan.bindInterface ? { mark, device: plan.bindInterface, address: proxyAddresses[0] } : undefined;
    const dialer: Dialer = plan.kind === "socks" ? new Socks5Dialer(plan.url, so, "auto") : new HttpConnectDialer(plan.url, so);
    const tunnel = new Tunnel({
      tun: device, vnetHdr, dialer, udp: plan.kind === "socks" ? "socks" : "refuse", v4, v6, dns: plan.dns, pool: plan.pool, pool6,
      connectTimeoutMs: plan.connectTimeoutMs, udpIdleMs: plan.udpIdleMs, onError: opts.onError, log: opts.log, impair: plan.impair,
      tcpIdleMs: plan.tcpIdleMs, maxSessions: plan.maxSessions, udpWorker,
    });
    await tunnel.start();
    undo.push(() => tunnel.stop());
    const routed = [...(v4 ? [4 as const] : []), ...(v6 ? [6 as const] : [])];
    const blocked = plan.autoRoute ? ([4, 6] as const).filter((f) => !routed.includes(f)) : [];
    let rules: string[] = [];
    if (plan.autoRoute) {
      const ar = planAutoRoute({
        dev: plan.name, families: routed, block: blocked, proxy: proxyAddresses, proxyPort: plan.url.port,
        exclude: plan.autoRoute.exclude, table: plan.autoRoute.table, priority: plan.autoRoute.priority,
        fwmark: plan.fwmark || undefined, includeUids: plan.autoRoute.includeUids, excludeUids: plan.autoRoute.excludeUids,
      });
      const undoRoute = await installAutoRoute(nl, ar);
      undo.push(undoRoute);
      rules = ar.rules.map((r) => ruleKey(autoRuleWire(r)));
    }
    // Someone else deleting a rule (a network manager, an old cleanup) would let traffic around
    // the tunnel: that is fatal, the service manager restarts us with the rules. A deleted tun
    // raises no SIGIO (ffi/poller.ts): its RTM_DELLINK makes the reader look now, so the device's
    // error stops the tunnel at once instead of at the poller's next backstop check.
    const stopWatch = watchTunnel(nl, index, new Set(rules), (gone) => rulesGone(new TunkitError(
      `A rule of the tunnel was deleted by someone else (pref ${gone.priority ?? "?"}): traffic could go around the proxy, so the tunnel stops`,
      "find what flushes policy rules (a network manager?); a service manager restarts the tunnel with its rules",
    )), recheckReadable);
    undo.push(stopWatch);
    // Recorded for `tunkit cleanup`, which then leaves these rules and the device's routes alone.
    const reg = new TunnelRegistration({ kind: plan.kind, name: plan.name, ifindex: index, rules });
    const registryError = reg.write();
    undo.push(() => reg.remove());
    const policy = (fam: 4 | 6, has: unknown): FamilyPolicy => (has ? "proxied" : blocked.includes(fam) ? "blocked" : "off");
    const families = { ipv4: policy(4, v4), ipv6: policy(6, v6) };
    const parts = [
      `${plan.name}: ${plan.kind === "socks" ? "tun2socks" : "tun2http"} via ${redactProxyUrl(plan.url)}`,
      [v4 && `${v4.address}`, v6 && `${v6.address}`].filter(Boolean).join(", "),
      plan.kind === "socks" ? "tcp+udp" : "tcp (udp refused)",
      plan.dns ? `dns ${plan.dns}${plan.pool ? ` ${plan.pool.cidr}` : ""}${pool6 ? ` ${pool6.cidr}` : ""}` : "",
      plan.autoRoute ? `auto-route table ${plan.autoRoute.table}, dns hijacked` : "",
      `ipv4 ${families.ipv4}, ipv6 ${families.ipv6}`,
    ].filter(Boolean);
    let stopped: Promise<void> | undefined;
    return {
      tunnel, device, created: !exists, v4, v6, fakeIp6: pool6?.cidr, proxyAddresses, families, dialer, fatal: Promise.race([tunnel.fatal, gone]), registryError, describe: parts.join(", "),
      stop: () => (stopped ??= runUndo()),
    };
  } catch (e) {
    await runUndo();
    throw e;
  }
}
