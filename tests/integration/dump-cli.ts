// Helpers for the dump/echo/inject integration tests: run the CLI (`bun cli/main.ts ...`)
// synchronously or in the background, and wait for what it prints.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";

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
  constructor(readonly child: ChildProcess) {
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
  /** Waits for exit (killing with SIGKILL after `ms`); resolves with the exit code. */
  async exit(ms = 10_000): Promise<number | null> {
    const t = setTimeout(() => this.child.kill("SIGKILL"), ms);
    const c = await this.done;
    clearTimeout(t);
    return c;
  }
  kill(sig: NodeJS.Signals = "SIGINT"): void {
    this.child.kill(sig);
  }
}

/** Starts `tunkit ARGS` in the background. */
export function bg(args: string[]): Bg {
  return new Bg(spawn(process.execPath, ["cli/main.ts", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] }));
}

/** Every line printable ASCII (tab allowed). */
export function allPrintable(s: string): boolean {
  return /^[\t\n\x20-\x7e]*$/.test(s);
}
