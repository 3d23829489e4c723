/**
 * What a background process does once the command that started it has returned: its standard
 * output and error go to /dev/null (their pipes are closed, and a write there would kill it
 * with SIGPIPE), and what it still has to say goes to syslog, as daemons do (journald and
 * rsyslog read `/dev/log`).
 *
 * @module
 */
import { errno, raw, sys, O, SysError } from "./libc.ts";
import { sendUnixDatagram } from "./unix-dgram.ts";

/** Syslog severities (RFC 5424) tunkit uses. */
export type Severity = "err" | "warning" | "notice" | "info";

const SEVERITY: Record<Severity, number> = { err: 3, warning: 4, notice: 5, info: 6 };
/** LOG_DAEMON. */
const FACILITY = 3;
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/**
 * The datagram glibc's syslog(3) sends for `msg` from `tag[pid]`, facility daemon:
 * `<PRI>Mmm dd hh:mm:ss tag[pid]: msg` (local time; the day space-padded). Newlines in `msg`
 * become spaces: one message, one line.
 *
 * @example
 * ```ts
 * import { syslogLine } from "./daemon.ts";
 * syslogLine("err", "tunkit-wg", 42, "wg0 stopped", new Date(2026, 10, 9, 8, 5, 3)); // "<27>Nov  9 08:05:03 tunkit-wg[42]: wg0 stopped"
 * ```
 */
export function syslogLine(severity: Severity, tag: string, pid: number, msg: string, now = new Date()): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const stamp = `${MONTHS[now.getMonth()]} ${String(now.getDate()).padStart(2, " ")} ${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
  return `<${FACILITY * 8 + SEVERITY[severity]}>${stamp} ${tag}[${pid}]: ${msg.replace(/[\r\n]+/g, " ")}`;
}

/**
 * Sends `msg` to syslog (`/dev/log`, or `$TUNKIT_SYSLOG_SOCKET` when set: tests and containers
 * point it elsewhere). Returns false when no syslog listens (no such socket, refused): a daemon
 * has nowhere else to say it, so that is not an error.
 *
 * @example
 * ```ts
 * import { syslog } from "./daemon.ts";
 * syslog("info", "tunkit-wg", "wg0 stopped: the interface was deleted"); // whether a syslog took it
 * ```
 */
export function syslog(severity: Severity, tag: string, msg: string): boolean {
  try {
    sendUnixDatagram(process.env.TUNKIT_SYSLOG_SOCKET || "/dev/log", new TextEncoder().encode(syslogLine(severity, tag, process.pid, msg)));
    return true;
  } catch {
    return false;
  }
}

/**
 * Points file descriptors 1 and 2 at /dev/null. Call it once the parent has read what it waited
 * for: later writes to stdout/stderr are then dropped instead of raising SIGPIPE on a closed
 * pipe. Throws {@link SysError} when /dev/null cannot be opened or dup2 fails.
 *
 * @example
 * ```ts
 * import { detachStdio } from "./daemon.ts";
 * process.stdout.write("ready\n", () => detachStdio());
 * ```
 */
export function detachStdio(): void {
  const fd = sys.open("/dev/null", O.RDWR);
  try {
    for (const target of [1, 2]) if (raw.dup2(fd, target) < 0) throw new SysError("dup2", errno(), "/dev/null");
  } finally {
    sys.close(fd);
  }
}
