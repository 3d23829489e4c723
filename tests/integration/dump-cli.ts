// Helpers for the dump/echo/inject integration tests: run the CLI (`bun cli/main.ts ...`)
// synchronously or in the background, and wait for what it prints.
import { afterEach, beforeEach } from "bun:test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { resolve } from "node:path";
import { tunHolders } from "../../tun/mod.ts";

export const root = resolve(import.meta.dir, "../..");

/** Runs `tunkit ARGS` to completion (bounded by `timeoutMs`). */
export function tunkit(args: string[], timeoutMs = 20_000, input?: Uint8Array): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["cli/main.ts", ...args], { cwd: root, encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL", input });
  if (r.signal || r.error) console.log(`--- tunkit ${args.join(" ")}: ${r.error ? r.error.message : `killed by ${r.signal} after ${timeoutMs / 1000} s`}\n--- stderr:\n${r.stderr ?? ""}--- stdout:\n${r.stdout ?? ""}---`);
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
    // "close", not "exit": exit can come before the last of stdout/stderr has been read (a
    // SIGTERM test once saw exit 0 and no count lines)
    this.done = new Promise((r) => child.on("close", (code, sig) => {
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

// Processes a test started and left running (it failed before stopping them) would hold the
// device for the next tests and turn one failure into many: reported and killed after each test.
let inTest = false;
const startedInTest = new Set<Bg>();
beforeEach(() => {
  inTest = true;
});
afterEach(async () => {
  inTest = false;
  for (const b of startedInTest) {
    if (b.code === undefined) {
      b.report("still running when its test ended: killed");
      b.child.kill("SIGKILL");
      await b.done;
    }
  }
  startedInTest.clear();
});

/** Starts `tunkit ARGS` in the background (killed after the test if still running; one started in beforeAll is left alone). */
export function bg(args: string[]): Bg {
  const b = new Bg(spawn(process.execPath, ["cli/main.ts", ...args], { cwd: root, stdio: ["ignore", "pipe", "pipe"] }), args);
  if (inTest) startedInTest.add(b);
  return b;
}

/**
 * Waits until `proc` holds the tun/tap `ifname` (its fd shows in /proc) and the kernel routes
 * packets into it (its link is operational: {@link linkCarries}), instead of sleeping a fixed
 * time. Holding it is not enough: at load, a ping sent right after the attach lost its first
 * request before the kernel had started the device's queue (tun/link-ready.ts).
 */
export function waitAttached(ifname: string, proc: Bg, ms = 15_000): Promise<void> {
  return waitReady(proc, `attach to ${ifname}`, () => holdsTun(proc.child.pid!, ifname) && linkCarries(ifname), ms);
}

/**
 * True when a packet routed into `ifname` now reaches its reader: the link is down (nothing is
 * routed into it), or its operational state is up. `ip link show` asks with RTM_GETLINK, which
 * takes the RTNL lock that the kernel's linkwatch holds while it sets the state and starts the
 * device's queue, so "UP" here comes after the queue was started.
 */
export function linkCarries(ifname: string): boolean {
  const r = spawnSync("ip", ["-j", "link", "show", "dev", ifname], { encoding: "utf8" });
  if (r.status !== 0) return false;
  const l = (JSON.parse(r.stdout) as Array<{ flags: string[]; operstate: string }>)[0]!;
  return !l.flags.includes("UP") || l.operstate === "UP" || l.operstate === "UNKNOWN";
}

/**
 * Waits until `proc` has a packet socket on `ifname` that receives every protocol (a sniffing
 * `tunkit dump`, also under -q, which prints nothing when it starts). The sniffer binds to the
 * device first with protocol 0 (no packets) and to ETH_P_ALL only once its ring and filter are
 * in place: a wait that took the first bind for readiness let a ping's first request and reply
 * pass before the sniffer saw anything (dump-capture's "-c 4" saw 2 of 4 in a full run).
 */
export function waitSniffing(ifname: string, proc: Bg, ms = 15_000): Promise<void> {
  const ifindex = ipIndex(ifname); // not /sys/class/net: sysfs shows the namespace it was mounted in
  return waitReady(proc, `sniff ${ifname}`, () => packetSocketOn(proc.child.pid!, ifindex), ms);
}

/** Polls `cond` every 20 ms; rejects naming `what` after `ms`. */
export async function until(cond: () => boolean, what: string, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timeout after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Polls `ready` every 20 ms; rejects with the process's output when it exits first or after `ms`. */
export async function waitReady(proc: Bg, what: string, ready: () => boolean, ms = 15_000): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (ready()) return;
    if (proc.code !== undefined) throw new Error(`tunkit ${proc.args.join(" ")} exited ${proc.code} before it could ${what}: ${proc.stderr}${proc.stdout}`);
    if (Date.now() - t0 > ms) throw new Error(`tunkit ${proc.args.join(" ")} did not ${what} within ${ms / 1000} s: ${proc.stderr}${proc.stdout}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function ipIndex(ifname: string): number {
  const r = spawnSync("ip", ["-j", "link", "show", "dev", ifname], { encoding: "utf8" });
  return r.status === 0 ? (JSON.parse(r.stdout) as Array<{ ifindex: number }>)[0]!.ifindex : -1;
}

/** True when process `pid` holds the tun/tap `ifname` in this network namespace. */
export function holdsTun(pid: number, ifname: string): boolean {
  return (tunHolders(ifname).get(ifname) ?? []).some((h) => h.pid === pid);
}

/** Socket inodes of process `pid` (from its /proc fd links). */
export function socketInodes(pid: number): Set<string> {
  const out = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) out.add(m[1]!);
      } catch {
        /* closed meanwhile */
      }
    }
  } catch {
    /* gone */
  }
  return out;
}

/** Rows of a /proc/net table (this network namespace), as column-name -> value. */
function procNetTable(name: string): Array<Record<string, string>> {
  let text = "";
  try {
    text = readFileSync(`/proc/net/${name}`, "utf8");
  } catch {
    return [];
  }
  const [head, ...rows] = text.trim().split("\n");
  const cols = (head ?? "").trim().split(/\s+/);
  return rows.map((r) => Object.fromEntries(r.trim().split(/\s+/).map((v, i) => [cols[i] ?? String(i), v])));
}

/**
 * True when process `pid` has a packet socket on interface index `ifindex` hooked for every
 * protocol (/proc/net/packet: Proto 0003, ETH_P_ALL, and R, running).
 */
export function packetSocketOn(pid: number, ifindex: number): boolean {
  const mine = socketInodes(pid);
  return procNetTable("packet").some((r) => mine.has(r.Inode!) && Number(r.Iface) === ifindex && r.Proto === "0003" && r.R === "1");
}

/** True when process `pid` has an rtnetlink socket subscribed to a multicast group (/proc/net/netlink): a monitor that will see the next event. */
export function netlinkSubscribed(pid: number): boolean {
  const mine = socketInodes(pid);
  return procNetTable("netlink").some((r) => mine.has(r.Inode!) && r.Eth === "0" && /[1-9a-f]/i.test(r.Groups ?? "0"));
}

/** Every line printable ASCII (tab allowed). */
export function allPrintable(s: string): boolean {
  return /^[\t\n\x20-\x7e]*$/.test(s);
}
