/**
 * Can tun/tap work here, and if not, what to do: /dev/net/tun, CAP_NET_ADMIN over this network
 * namespace (tried, not read from capability bits: a harmless netlink request the kernel must
 * refuse with EINVAL once it has let us through, or EPERM when not), the kernel's tun features,
 * and whether user namespaces are available (the unprivileged way to get CAP_NET_ADMIN).
 *
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { TUN_PATH, tunFeatures, tunNodeAccessHint } from "./device.ts";
import { ERRNO, SysError } from "../ffi/errors.ts";
import { POLL, sys } from "../ffi/libc.ts";
import { SocketTransport } from "../netlink/conn.ts";
import { beginMessage, endMessage, NLM_F, NLMSG, parseAck, parseMessages } from "../netlink/core/message.ts";
import { ByteWriter } from "../netlink/core/writer.ts";
import { encodeAddress } from "../netlink/route/addr.ts";
import { AF, RTM } from "../netlink/route/constants.ts";

/** One diagnostic result. */
export interface Check {
  /** Short id: "tun-device", "cap-net-admin", "tun-features", "user-namespaces". */
  check: string;
  /** The outcome. */
  status: "ok" | "warn" | "fail";
  /** What was found. */
  detail: string;
  /** What to do about a warn/fail. */
  fix?: string;
}

/** Bit of CAP_NET_ADMIN in the capability sets. */
export const CAP_NET_ADMIN = 12;

/** Where {@link diagnose} reads; tests point it at fixtures. */
export interface DoctorSources {
  /** Text of /proc/self/status. */
  status?: string;
  /** Reads a file under /proc/sys (undefined when absent). */
  sysctl?: (path: string) => string | undefined;
  /** Probes /dev/net/tun: features, or the error opening it. */
  probeTun?: () => { names: string[] } | Error;
  /** Stat of /dev/net/tun: kind and device numbers, or undefined when missing. */
  statTun?: () => { char: boolean; major: number; minor: number } | undefined;
  /**
   * Tries CAP_NET_ADMIN over the current network namespace (default {@link probeNetAdmin}).
   * When `status` is given and this is not, the check reads CapEff from `status` instead (for
   * fixtures that describe a machine without touching this one).
   */
  probeNetAdmin?: () => NetAdminProbe;
}

/** What {@link probeNetAdmin} found: allowed, refused (EPERM), or it could not tell. */
export type NetAdminProbe = "permitted" | "denied" | Error;

/**
 * Tries whether the kernel lets this process change the network configuration of the namespace
 * it is in, the way every tunkit change is checked: an RTM_NEWADDR (IPv4, no interface, no
 * address). rtnetlink checks CAP_NET_ADMIN over the namespace's owning user namespace first
 * (EPERM), then refuses the empty request (EINVAL): nothing is ever created. Capability bits
 * cannot tell this: under `unshare -r` CapEff is full, yet the host's namespace is not ours.
 *
 * @example
 * ```ts
 * import { probeNetAdmin } from "./doctor.ts";
 * probeNetAdmin(); // as root "permitted"; under unshare -r or as a plain user "denied"
 * ```
 */
export function probeNetAdmin(): NetAdminProbe {
  let t: SocketTransport;
  try {
    t = new SocketTransport({ rcvbuf: 64 << 10 });
  } catch (e) {
    return e as Error;
  }
  try {
    const w = new ByteWriter(64);
    const seq = 1;
    const at = beginMessage(w, RTM.NEWADDR, NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL, seq, 0);
    encodeAddress(w, { family: AF.INET, prefixLen: 0, flags: 0, scope: 0, ifindex: 0 });
    endMessage(w, at);
    t.send(w.buf.subarray(0, w.len));
    // rtnetlink answers within sendmsg(); poll briefly in case another kernel defers it.
    for (let tries = 0; tries < 20; tries++) {
      const d = t.recv();
      if (!d) {
        sys.pollOne(t.fd, POLL.IN, 100);
        continue;
      }
      for (const m of parseMessages(d)) {
        if (m.seq !== seq || m.type !== NLMSG.ERROR) continue;
        const { errno } = parseAck(m.body, m.flags);
        return errno === ERRNO.EPERM || errno === ERRNO.EACCES ? "denied" : "permitted";
      }
    }
    return new Error("no answer from rtnetlink within 2 s");
  } catch (e) {
    return e as Error;
  } finally {
    t.close();
  }
}

/**
 * Effective capabilities from /proc/self/status text (the CapEff line) as a bigint mask.
 *
 * @example
 * ```ts
 * import { capEff } from "./doctor.ts";
 * capEff("CapEff:\t000001ffffffffff\n"); // 0x1ffffffffffn
 * ```
 */
export function capEff(status: string): bigint | undefined {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(status);
  return m ? BigInt("0x" + m[1]) : undefined;
}

function readSysctl(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return undefined;
  }
}

function statDevTun(): { char: boolean; major: number; minor: number } | undefined {
  try {
    const st = statSync(TUN_PATH);
    const rdev = Number(st.rdev);
    return { char: st.isCharacterDevice(), major: (rdev >> 8) & 0xfff, minor: (rdev & 0xff) | ((rdev >> 12) & 0xfff00) };
  } catch {
    return undefined;
  }
}

/**
 * Runs every check. Never throws: a failing probe becomes a "fail" result with a fix.
 *
 * @example
 * ```ts
 * import { diagnose } from "./doctor.ts";
 * for (const c of diagnose()) console.log(c.status, c.check, c.detail);
 * ```
 */
export function diagnose(src: DoctorSources = {}): Check[] {
  const sysctl = src.sysctl ?? readSysctl;
  const out: Check[] = [];

  // 1. /dev/net/tun
  const st = (src.statTun ?? statDevTun)();
  const probe = (src.probeTun ?? (() => {
    try {
      return tunFeatures();
    } catch (e) {
      return e as Error;
    }
  }))();
  if (!st) {
    out.push({
      check: "tun-device", status: "fail", detail: `${TUN_PATH} does not exist`,
      fix: "load the driver: modprobe tun (in a container: mkdir -p /dev/net && mknod /dev/net/tun c 10 200, or pass --device /dev/net/tun)",
    });
  } else if (!st.char || st.major !== 10 || st.minor !== 200) {
    out.push({
      check: "tun-device", status: "fail", detail: `${TUN_PATH} is not the tun character device (expected c 10:200)`,
      fix: "recreate it: rm /dev/net/tun && mknod /dev/net/tun c 10 200",
    });
  } else if (probe instanceof Error) {
    const code = probe instanceof SysError ? probe.code : "";
    out.push({
      check: "tun-device", status: "fail", detail: `${TUN_PATH} cannot be opened: ${probe.message}`,
      // openTun's own hints: EACCES names the node's mode, owner and group (tunNodeAccessHint).
      fix: code === "ENODEV" || code === "ENXIO" ? "the kernel has no tun driver: modprobe tun"
        : probe instanceof SysError ? probe.hint ?? (code === "EACCES" ? tunNodeAccessHint() : undefined) : undefined,
    });
  } else {
    out.push({ check: "tun-device", status: "ok", detail: `${TUN_PATH} is c 10:200 and opens read-write` });
  }

  // 2. CAP_NET_ADMIN over this network namespace: tried, unless a fixture describes the bits.
  let status = src.status;
  const fixture = status !== undefined && src.probeNetAdmin === undefined;
  if (status === undefined) {
    try {
      status = readFileSync("/proc/self/status", "utf8");
    } catch {
      status = "";
    }
  }
  const caps = capEff(status);
  const bits = caps === undefined ? "CapEff unknown" : `CapEff ${caps.toString(16).padStart(16, "0")}`;
  const hasBit = caps !== undefined && (caps & (1n << BigInt(CAP_NET_ADMIN))) !== 0n;
  const cap = fixture ? (caps === undefined ? new Error("cannot read CapEff") : hasBit ? "permitted" : "denied") : (src.probeNetAdmin ?? probeNetAdmin)();
  const fixCap = "run as root (sudo), give the binary the capability (sudo setcap cap_net_admin+ep ./tunkit), or work inside a network namespace of your own user namespace (unshare -rn); an existing device you own can be attached without it";
  if (cap === "permitted") {
    out.push({ check: "cap-net-admin", status: "ok", detail: `this network namespace accepts changes from us (tried an rtnetlink request; ${bits})` });
  } else if (cap === "denied") {
    out.push({
      check: "cap-net-admin", status: "fail",
      detail: hasBit
        ? `CAP_NET_ADMIN is in CapEff (${bits.slice(7)}) but not over this network namespace, which belongs to another user namespace (inside unshare -r?): creating devices, addresses and routes here fails with EPERM`
        : `not permitted (${bits}): creating devices, addresses and routes will fail with EPERM`,
      fix: hasBit ? "create a network namespace of your own too (unshare -rn), or run as root in this one" : fixCap,
    });
  } else {
    out.push({ check: "cap-net-admin", status: "warn", detail: `could not try it: ${cap.message}`, fix: "is rtnetlink available (AF_NETLINK sockets allowed)?" });
  }

  // 3. kernel tun features
  if (!(probe instanceof Error)) {
    const want = ["tun", "tap", "no_pi", "vnet_hdr", "multi_queue"];
    const missing = want.filter((w) => !probe.names.includes(w));
    out.push(missing.length
      ? { check: "tun-features", status: "warn", detail: `kernel tun driver lacks ${missing.join(", ")} (has ${probe.names.join(" ")})`, fix: "a newer kernel adds them; tunkit refuses the options that need them" }
      : { check: "tun-features", status: "ok", detail: probe.names.join(" ") });
  } else {
    out.push({ check: "tun-features", status: "fail", detail: "unknown: /dev/net/tun cannot be opened", fix: "fix tun-device first" });
  }

  // 4. user namespaces
  const maxNs = sysctl("/proc/sys/user/max_user_namespaces");
  const clone = sysctl("/proc/sys/kernel/unprivileged_userns_clone");
  const apparmor = sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns");
  if (maxNs === undefined) {
    out.push({ check: "user-namespaces", status: "warn", detail: "the kernel has no user namespaces (no /proc/sys/user/max_user_namespaces)", fix: "unprivileged use needs CONFIG_USER_NS; otherwise run as root or with setcap cap_net_admin+ep" });
  } else if (maxNs === "0") {
    out.push({ check: "user-namespaces", status: "warn", detail: "user.max_user_namespaces is 0: unshare -rn is not possible", fix: "sudo sysctl -w user.max_user_namespaces=15000 (or run as root / setcap cap_net_admin+ep)" });
  } else if (clone === "0") {
    out.push({ check: "user-namespaces", status: "warn", detail: "kernel.unprivileged_userns_clone is 0: only root may create user namespaces", fix: "sudo sysctl -w kernel.unprivileged_userns_clone=1 (or run as root / setcap cap_net_admin+ep)" });
  } else if (apparmor === "1") {
    out.push({ check: "user-namespaces", status: "warn", detail: "kernel.apparmor_restrict_unprivileged_userns is 1: unprivileged user namespaces get no capabilities", fix: "sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile allowing userns for tunkit" });
  } else {
    out.push({ check: "user-namespaces", status: "ok", detail: `available (max_user_namespaces ${maxNs}${clone !== undefined ? `, unprivileged_userns_clone ${clone}` : ""})` });
  }
  return out;
}
