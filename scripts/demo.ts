/**
 * `npm run demo`: builds dist/tunkit if needed, then plays the design's scenario in a throwaway
 * network namespace, explaining each step:
 *
 *   tunkit up tun0 192.168.1.1/24
 *   tunkit route add 10.1.1.0/24 dev tun0
 *   tunkit echo tun0            (a responder owns the tun)
 *   tunkit dump tun0 -c 6       (sniffs both directions beside it)
 *   ping -c 3 10.1.1.2          (answered through tun0)
 *   tunkit down tun0
 *
 * Nothing outside the namespace is touched; the namespace vanishes when the demo ends.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
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

if (process.env.TUNKIT_DEMO_NS !== "1") {
  // Outside: build if needed, then re-run this script inside a fresh network namespace.
  if (!existsSync(bin) || statSync(bin).mtimeMs < newestSource()) {
    say("Building dist/tunkit (one standalone executable, bun build --compile)");
    const b = spawnSync(process.execPath, [join(root, "scripts/build.ts")], { stdio: "inherit" });
    if (b.status !== 0) process.exit(b.status ?? 1);
  }
  const probe = spawnSync("unshare", ["-n", "true"]);
  const ns = probe.status === 0 ? ["unshare", "-n"] : ["unshare", "-rn"];
  say(`Entering a throwaway network namespace (${ns.join(" ")}): nothing here touches the host's interfaces`);
  const r = spawnSync(ns[0]!, [...ns.slice(1), "sh", "-c", 'ip link set lo up 2>/dev/null; exec "$@"', "sh", process.execPath, import.meta.path], {
    stdio: "inherit",
    env: { ...process.env, TUNKIT_DEMO_NS: "1" },
  });
  process.exit(r.status ?? 1);
}

function tunkit(...args: string[]): void {
  console.log(`$ tunkit ${args.join(" ")}`);
  const r = spawnSync(bin, args, { stdio: "inherit", timeout: 20_000 });
  if (r.status !== 0) {
    console.error(`demo: "tunkit ${args.join(" ")}" exited ${r.status}`);
    process.exit(1);
  }
}

function background(args: string[]): { child: ChildProcess; out: () => string; ready: Promise<void> } {
  console.log(`$ tunkit ${args.join(" ")} &`);
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let resolveReady: () => void = () => {};
  const ready = new Promise<void>((r) => (resolveReady = r));
  const onData = (d: Buffer) => {
    out += d.toString();
    resolveReady();
  };
  child.stdout!.on("data", onData);
  child.stderr!.on("data", onData);
  setTimeout(resolveReady, 1500); // quiet programs: don't wait forever
  return { child, out: () => out, ready };
}

const exited = (c: ChildProcess, ms: number) =>
  new Promise<boolean>((r) => {
    if (c.exitCode !== null) return r(true);
    const t = setTimeout(() => r(false), ms);
    c.once("exit", () => {
      clearTimeout(t);
      r(true);
    });
  });

say("1. Create tun0 (persistent, owned by you), give it 192.168.1.1/24 and bring it up");
tunkit("up", "tun0", "192.168.1.1/24");
tunkit("show", "tun0");

say("2. Route 10.1.1.0/24 into tun0: rtnetlink spoken by tunkit itself, no `ip` involved");
tunkit("route", "add", "10.1.1.0/24", "dev", "tun0");
tunkit("route", "list", "dev", "tun0");

say("3. A tun with no reader carries nothing. `tunkit echo` becomes tun0's reader and answers pings");
const echo = background(["echo", "tun0"]);
await echo.ready;

say("4. `tunkit dump` watches beside it: tun0 is taken, so it sniffs (AF_PACKET) both directions");
const dump = background(["dump", "tun0", "-c", "6"]);
await dump.ready;

say("5. ping 10.1.1.2: the kernel routes it into tun0, tunkit echo answers through tun0");
console.log("$ ping -c 3 -i 0.2 -W 1 10.1.1.2");
const ping = spawnSync("ping", ["-c", "3", "-i", "0.2", "-W", "1", "10.1.1.2"], { stdio: "inherit", timeout: 10_000 });

const dumped = await exited(dump.child, 5000);
if (!dumped) dump.child.kill("SIGINT");
await exited(dump.child, 2000);
say("What `tunkit dump tun0 -c 6` printed (requests Out of the host, replies In from tunkit echo):");
process.stdout.write(dump.out());

echo.child.kill("SIGINT");
await exited(echo.child, 2000);
say("What `tunkit echo tun0` printed:");
process.stdout.write(echo.out());

say("6. Remove tun0; its addresses and routes go with it");
tunkit("down", "tun0");
tunkit("list");

if (ping.status !== 0) {
  console.error("\ndemo: ping got no replies through tun0");
  process.exit(1);
}
say("Done. The namespace disappears with this process.");
