/**
 * What a tunnel needs to run as a service: readiness and status for systemd (sd_notify when
 * `$NOTIFY_SOCKET` is set: `READY=1`, `STATUS=…`, `STOPPING=1`), a pidfile that refuses a second
 * live instance, and the `--up`/`--down` hooks.
 *
 * @module
 */
import { spawn } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { TunkitError } from "../common/errors.ts";
import { sendUnixDatagram } from "../ffi/unix-dgram.ts";
import { processStart } from "./registry.ts";

/**
 * sd_notify(3) without libsystemd: one datagram per call to `$NOTIFY_SOCKET`. A no-op when the
 * variable is unset (not started by systemd with Type=notify). A failed send is reported once
 * through `onError` and never stops the tunnel.
 *
 * @example
 * ```ts
 * import { ServiceNotifier } from "./service.ts";
 * const n = new ServiceNotifier();
 * n.ready("tun0 via socks5://192.0.2.2:1080: ready");
 * n.stopping();
 * ```
 */
export class ServiceNotifier {
  readonly socket: string | undefined;
  private readonly onError: ((line: string) => void) | undefined;
  private failed = false;

  constructor(env: Record<string, string | undefined> = process.env, onError?: (line: string) => void) {
    this.socket = env.NOTIFY_SOCKET || undefined;
    this.onError = onError;
  }

  /** Sends `lines` (KEY=value each) as one message. */
  send(...lines: string[]): void {
    if (!this.socket) return;
    try {
      sendUnixDatagram(this.socket, new TextEncoder().encode(lines.join("\n")));
    } catch (e) {
      if (!this.failed) this.onError?.(`cannot notify the service manager at ${this.socket}: ${(e as Error).message}`);
      this.failed = true;
    }
  }

  ready(status: string): void {
    this.send("READY=1", `STATUS=${oneLine(status)}`, `MAINPID=${process.pid}`);
  }

  status(status: string): void {
    this.send(`STATUS=${oneLine(status)}`);
  }

  stopping(status = "stopping"): void {
    this.send("STOPPING=1", `STATUS=${oneLine(status)}`);
  }
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, " ").slice(0, 1000);
}

/**
 * A pidfile: written at start, removed on exit. A file naming a live process (same pid and
 * start time as recorded next to it) refuses the start; a stale one is replaced.
 *
 * @example
 * ```ts
 * import { Pidfile } from "./service.ts";
 * const p = Pidfile.acquire("/run/tunkit-tun0.pid"); // throws when another live tunkit holds it
 * p.release();
 * ```
 */
export class Pidfile {
  readonly path: string;
  private held = true;

  private constructor(path: string) {
    this.path = path;
  }

  /** Writes our pid to `path`, unless a live process holds it (TunkitError, exit 1). */
  static acquire(path: string): Pidfile {
    let old: number | undefined;
    try {
      old = Number.parseInt(readFileSync(path, "utf8").trim(), 10);
    } catch {
      old = undefined;
    }
    if (old && old !== process.pid && processStart(old) !== undefined && isTunkit(old)) {
      throw new TunkitError(`Pidfile "${path}" names a running tunkit (pid ${old})`, `stop it first (kill ${old}), or give another --pidfile`);
    }
    try {
      writeFileSync(path, `${process.pid}\n`, { mode: 0o644 });
    } catch (e) {
      throw new TunkitError(`Cannot write the pidfile "${path}": ${(e as { code?: string }).code ?? (e as Error).message}`, "give a writable path (e.g. under /run, or $RUNTIME_DIRECTORY in a systemd unit)");
    }
    return new Pidfile(path);
  }

  /** Removes the file if it still names us. Idempotent. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      if (readFileSync(this.path, "utf8").trim() === String(process.pid)) rmSync(this.path, { force: true });
    } catch {
      /* gone already */
    }
  }
}

function isTunkit(pid: number): boolean {
  try {
    const cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1");
    return /tunkit|cli\/main\.ts/.test(cmd);
  } catch {
    return false;
  }
}

/**
 * Runs a hook (`--up`/`--down`) with /bin/sh, its output passed through, `env` added to the
 * environment. Resolves with the exit status (non-zero for a signal); a hook running longer
 * than `timeoutMs` is killed.
 *
 * @example
 * ```ts
 * import { runHook } from "./service.ts";
 * const code = await runHook("ip route add 203.0.113.0/24 dev $TUNKIT_DEV", { TUNKIT_DEV: "tun0" });
 * ```
 */
export function runHook(command: string, env: Record<string, string>, timeoutMs = 30_000): Promise<number> {
  return new Promise((resolve) => {
    const p = spawn("/bin/sh", ["-c", command], { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, ...env } });
    const timer = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("error", () => {
      clearTimeout(timer);
      resolve(127);
    });
    p.on("exit", (code, sig) => {
      clearTimeout(timer);
      resolve(code ?? (sig ? 128 : 1));
    });
  });
}
