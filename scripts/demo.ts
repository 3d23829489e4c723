/**
 * `npm run demo`: builds dist/tunkit if needed, then plays the design's scenario in a throwaway
 * network namespace, explaining each step:
 *
 *   tunkit up tun0 192.168.1.1/24
 *   tunkit route add 10.1.1.0/24 dev tun0
 *   tunkit echo tun0            (a responder owns the tun)
 *   tunkit dump tun0 -c 6 icmp  (sniffs both directions beside it)
 *   tunkit ping -c 3 10.1.1.2   (tunkit's own ICMP socket: answered through tun0)
 *   ping -c 2 10.1.1.2          (the system's ping too, only when it is installed)
 *   tunkit down tun0
 *
 * It needs nothing but `npm ci`: no ping, tcpdump or iproute2. A failed step says which step and
 * why, with what the program printed. Nothing outside the namespace is touched; the namespace
 * vanishes when the demo ends.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { accessSync, constants, existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const bin = join(root, "dist/tunkit");
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s: string) => console.log(`\n${bold("# " + s)}`);

function newestSource(): number {
  let t = 0;
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) t = Math.max(t, statSync(p).mtimeMs);
    }
  };
  for (const d of ["cli", "tun", "ffi", "netlink", "packet", "common", "proxy"]) if (existsSync(join(root, d))) walk(join(root, d));
  return t;
}

/** Ends the demo with the step's real cause. */
function fail(why: string): never {
  console.error(`\ndemo failed: ${why}`);
  process.exit(1);
}

if (process.env.TUNKIT_DEMO_NS !== "1") {
  // Outside: build if needed, then re-run this script inside a fresh network namespace.
  if (!existsSync(bin) || statSync(bin).mtimeMs < newestSource()) {
    say("Building dist/tunkit (one standalone executable, bun build --compile)");
    const b = spawnSync(process.execPath, [join(root, "scripts/build.ts")], { stdio: "inherit" });
    if (b.status !== 0) fail(`building dist/tunkit failed (scripts/build.ts exited ${b.status ?? b.signal}; its output is above)`);
  }
  const probe = (args: string[]) => spawnSync("unshare", [...args, "true"]);
  const asRoot = probe(["-n"]);
  if (asRoot.error) fail(`"unshare" could not be run (${asRoot.error.message}): it comes with util-linux, which every Debian has`);
  const ns = asRoot.status === 0 ? ["unshare", "-n"] : probe(["-rn"]).status === 0 ? ["unshare", "-rn"] : undefined;
  if (!ns) fail("cannot make a network namespace here: run as root, or allow user namespaces (sysctl kernel.unprivileged_userns_clone=1)");
  say(`Entering a throwaway network namespace (${ns.join(" ")}): nothing here touches the host's interfaces`);
  const r = spawnSync(ns[0]!, [...ns.slice(1), process.execPath, import.meta.path], {
    stdio: "inherit",
    env: { ...process.env, TUNKIT_DEMO_NS: "1" },
  });
  process.exit(r.status ?? 1);
}

function tunkit(...args: string[]): void {
  console.log(`$ tunkit ${args.join(" ")}`);
  const r = spawnSync(bin, args, { stdio: "inherit", timeout: 20_000 });
  if (r.status !== 0) fail(`"tunkit ${args.join(" ")}" ${r.error ? `could not run: ${r.error.message}` : `exited ${r.status ?? r.signal} (its message is above)`}`);
}

/** A tunkit command in the background, with its output kept for later. */
class Background {
  readonly child: ChildProcess;
  out = "";
  readonly exited: Promise<number | null>;
  constructor(readonly args: string[]) {
    console.log(`$ tunkit ${args.join(" ")} &`);
    this.child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
    const onData = (d: Buffer) => void (this.out += d.toString());
    this.child.stdout!.on("data", onData);
    this.child.stderr!.on("data", onData);
    this.exited = new Promise((r) => this.child.on("exit", (code, sig) => r(code ?? (sig ? 128 : null))));
  }
  /** Waits until it prints `re` (it says when it is ready); fails the demo with its output otherwise. */
  async ready(re: RegExp, what: string, ms = 15_000): Promise<void> {
    let gone = false;
    void this.exited.then(() => (gone = true));
    const t0 = Date.now();
    while (!re.test(this.out)) {
      if (gone) fail(`${what}: "tunkit ${this.args.join(" ")}" exited before it was ready. It printed:\n${this.out}`);
      if (Date.now() - t0 > ms) fail(`${what}: "tunkit ${this.args.join(" ")}" was not ready after ${ms / 1000} s. It printed:\n${this.out}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  /** Waits up to `ms` for the exit; true when it exited. */
  async exit(ms: number): Promise<boolean> {
    return Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
  }
}

say("1. Create tun0 (persistent, owned by you), give it 192.168.1.1/24 and bring it up");
tunkit("up", "tun0", "192.168.1.1/24");
tunkit("show", "tun0");

say("2. Route 10.1.1.0/24 into tun0: rtnetlink spoken by tunkit itself, no `ip` involved");
tunkit("route", "add", "10.1.1.0/24", "dev", "tun0");
tunkit("route", "list", "dev", "tun0");

say("3. A tun with no reader carries nothing. `tunkit echo` becomes tun0's reader and answers pings");
const echo = new Background(["echo", "tun0"]);
await echo.ready(/answering ping/, "step 3 (the responder)");

say("4. `tunkit dump` watches beside it: tun0 is taken, so it sniffs (AF_PACKET) both directions");
const dump = new Background(["dump", "tun0", "-c", "6", "icmp"]);
await dump.ready(/listening on tun0/, "step 4 (the capture)");

say("5. Ping 10.1.1.2 with tunkit's own ICMP socket: the kernel routes the requests into tun0, tunkit echo answers through tun0");
console.log("$ tunkit ping -c 3 -i 0.2 -W 2 10.1.1.2");
const ping = spawnSync(bin, ["ping", "-c", "3", "-i", "0.2", "-W", "2", "10.1.1.2"], { encoding: "utf8", timeout: 20_000 });
process.stdout.write(ping.stdout ?? "");
process.stderr.write(ping.stderr ?? "");
if (ping.status !== 0) {
  fail(`step 5: no echo reply came back through tun0 (tunkit ping ${ping.error ? `could not run: ${ping.error.message}` : `exited ${ping.status ?? ping.signal}`}).\nWhat tunkit echo printed:\n${echo.out}\nWhat tunkit dump printed:\n${dump.out}`);
}

if (!(await dump.exit(5000))) dump.child.kill("SIGINT");
await dump.exit(2000);
say("What `tunkit dump tun0 -c 6 icmp` printed (requests Out of the host, replies In from tunkit echo):");
process.stdout.write(dump.out);
if (!/6 packets captured/.test(dump.out)) fail(`step 4: tunkit dump did not see the 6 packets of step 5 (3 requests out, 3 replies in); it printed the above`);

const executable = (p: string) => {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
};
const systemPing = [...(process.env.PATH ?? "").split(":"), "/usr/bin", "/bin", "/usr/sbin"].filter(Boolean).map((d) => join(d, "ping")).find(executable);
if (systemPing) {
  say("5b. The system's ping gets its replies through tun0 the same way");
  console.log("$ ping -c 2 -i 0.2 -W 2 10.1.1.2");
  const sys = spawnSync(systemPing, ["-c", "2", "-i", "0.2", "-W", "2", "10.1.1.2"], { stdio: "inherit", timeout: 20_000 });
  if (sys.error) fail(`step 5b: the system's ping (${systemPing}) could not run: ${sys.error.message}`);
  if (sys.status !== 0) fail(`step 5b: the system's ping (${systemPing}) got no reply through tun0 (exit ${sys.status ?? sys.signal}), although tunkit ping did in step 5`);
} else {
  say("5b. (The system's ping is not installed here, so only tunkit ping was used: that is enough)");
}

echo.child.kill("SIGINT");
await echo.exit(5000);
say("What `tunkit echo tun0` printed:");
process.stdout.write(echo.out);

say("6. Remove tun0; its addresses and routes go with it");
tunkit("down", "tun0");
tunkit("list");

say("Done. The namespace disappears with this process.");
