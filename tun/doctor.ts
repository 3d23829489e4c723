/**
 * Can tun/tap work here, and if not, what to do: /dev/net/tun, effective CAP_NET_ADMIN (from
 * /proc/self/status), the kernel's tun features, and whether user namespaces are available
 * (the unprivileged way to get CAP_NET_ADMIN).
 *
 * @module
 */
import { readFileSync, statSync } from "node:fs";
import { TUN_PATH, tunFeatures } from "./device.ts";
import { SysError } from "../ffi/errors.ts";

/** One diagnostic result. */
export interface Check {
  /** Short id: "tun-device", "cap-net-admin", "tun-features", "user-namespaces". */
  check: string;
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
      fix: code === "EACCES" || code === "EPERM"
        ? "make it usable: chmod 0666 /dev/net/tun (the usual mode; creating devices still needs CAP_NET_ADMIN)"
        : code === "ENODEV" || code === "ENXIO" ? "the kernel has no tun driver: modprobe tun" : probe instanceof SysError ? probe.hint : undefined,
    });
  } else {
    out.push({ check: "tun-device", status: "ok", detail: `${TUN_PATH} is c 10:200 and opens read-write` });
  }

  // 2. CAP_NET_ADMIN
  let status = src.status;
  if (status === undefined) {
    try {
      status = readFileSync("/proc/self/status", "utf8");
    } catch {
      status = "";
    }
  }
  const caps = capEff(status);
  if (caps === undefined) {
    out.push({ check: "cap-net-admin", status: "warn", detail: "cannot read CapEff from /proc/self/status", fix: "is /proc mounted?" });
  } else if (caps & (1n << BigInt(CAP_NET_ADMIN))) {
    out.push({ check: "cap-net-admin", status: "ok", detail: `effective (CapEff ${caps.toString(16).padStart(16, "0")})` });
  } else {
    out.push({
      check: "cap-net-admin", status: "fail", detail: `not effective (CapEff ${caps.toString(16).padStart(16, "0")}): creating devices, addresses and routes will fail with EPERM`,
      fix: "run as root (sudo), give the binary the capability (sudo setcap cap_net_admin+ep ./tunkit), or work inside a user namespace (unshare -rn); an existing device you own can be attached without it",
    });
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
