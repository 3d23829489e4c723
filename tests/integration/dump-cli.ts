// Helpers for the dump/echo/inject integration tests: run the CLI (`bun cli/main.ts ...`)
// synchronously or in the background, and wait for what it prints.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { tunHolders } from "../../mod.ts";

export const root = resolve(import.meta.dir, "../..");

/** Runs `tunkit ARGS` to completion (bounded by `timeoutMs`). */
export function tunkit(args: string[], timeoutMs = 20_000, input?: Uint8Array): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["cli/main.ts", ...args], { cwd: root, encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL", input });
  return { code: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

/** A CLI process running in the background. */
export class Bg {
  stdout = "";
  stderr = "";
  code: number | null | undefined;
  readonly done: Promise<number | null>;
  constructor(readonly child: ChildProcess, readonly args: readonly string[] = []) {
    child.stdout!.on("data", (d: Buffer) => (this.stdout += d.toString("latin1")));
    child.stderr!.on("data", (d: Buffer) => (this.stderr += d.toString("latin1")));
    this.done = new Promise((r) => child.on("exit", (code, sig) => {
      this.code = code ?? (sig ? -1 : null);
      r(this.code);
    }));
  }
  /** Resolves once stdout+stderr match `re`; rejects after `ms`. */
  async waitFor(re: RegExp, ms = 10_000): Promise<void> {
    const t0 = Date.now();
    while (!re.test(this.stdout + this.stderr)) {
      if (this.code !== undefined) throw new Error(`exited ${this.code} before ${re}: ${this.stderr}${this.stdout}`);
      if (Date.now() - t0 > ms) throw new Error(`timeout waiting for ${re}; got: ${this.stderr}${this.stdout}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  /**
   * Waits for exit (killing with SIGKILL after `ms`); resolves with the exit code (-1: killed by
   * a signal). When it had to be killed, or exited non-zero, what it printed goes to the test's
   * output, so a failing expectation on the code explains itself.
   */
  async exit(ms = 10_000): Promise<number | null> {
    let killed = false;
    const t = setTimeout(() => {
      killed = true;
      this.child.kill("SIGKILL");
    }, ms);
    const c = await this.done;
    clearTimeout(t);
    if (killed || c !== 0) this.report(killed ? `killed with SIGKILL after ${ms / 1000} s without exiting` : `exited ${c}`);
    return c;
  }
  /** Prints the command, why, and its stdout/stderr to the test's output. */
  report(why: string): void {
    console.log(`--- tunkit ${this.args.join(" ")}: ${why}\n--- stderr:\n${this.stderr}--- stdout:\n${this.stdout}---`);
  }
  kill(sig: NodeJS.Signals = "SIGINT"): void {
    this.child.kill(sig);
  }
}

/** Starts `tunkit ARGS` in the background. */
export function bg(args: string[]): Bg {
  return new Bg(spawn(process.execPath, ["cli/main.ts", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] }), args);
}

/**
 * Waits until `proc` holds the tun/tap `ifname` (its fd shows in /proc: the kernel queues
 * packets for it from then on), instead of sleeping a fixed time. Rejects with the process's
 * output when it exits first or after `ms`.
 */
export async function waitAttached(ifname: string, proc: Bg, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if ((tunHolders(ifname).get(ifname) ?? []).some((h) => h.pid === proc.child.pid)) return;
    if (proc.code !== undefined) throw new Error(`tunkit ${proc.args.join(" ")} exited ${proc.code} before attaching to ${ifname}: ${proc.stderr}${proc.stdout}`);
    if (Date.now() - t0 > ms) throw new Error(`tunkit ${proc.args.join(" ")} did not attach to ${ifname} within ${ms / 1000} s: ${proc.stderr}${proc.stdout}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Every line printable ASCII (tab allowed). */
export function allPrintable(s: string): boolean {
  return /^[\t\n\x20-\x7e]*$/.test(s);
}
