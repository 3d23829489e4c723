/**
 * tun/steer.ts against the kernel, in this file's own network namespace: a 2-queue tun with the
 * UDP steering program attached puts IPv4 and IPv6 UDP on queue 1 and TCP SYNs, pings, IPv4
 * fragments and UDP to a kept port (53) on queue 0; the program's fd may be closed once
 * attached; a detach gives the kernel's flow hash back (UDP on both queues); bad input is a
 * UsageError; the kernel's refusals (EINVAL from the verifier, EINVAL from the attach, EPERM
 * without CAP_BPF/CAP_SYS_ADMIN) are SysErrors whose hints say so; closing the UDP queue sends
 * its UDP to queue 0 (the kernel takes the return modulo the queues left). Every loop is bounded.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { readdirSync, readlinkSync, writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dgram from "node:dgram";
import net from "node:net";
import { openTun, type TunDevice, type TunQueue } from "../../tun/mod.ts";
import { attachSteering, loadSteering, udpSteeringProgram, type SteeringProgram } from "../../tun/steer.ts";
import { BpfLoadError } from "../../ffi/bpf.ts";
import { SysError } from "../../ffi/errors.ts";
import { UsageError } from "../../common/mod.ts";
import { itest, privileged, sh } from "./_ns.ts";

const NAME = "tks0";
const V4 = "10.7.0.2";
const V6 = "fd00:7::2";

/** Open fds of this process that are eBPF programs. */
const progFds = () =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === "anon_inode:bpf-prog";
    } catch {
      return false;
    }
  }).length;

interface Seen {
  udp: number[]; // destination ports of whole (unfragmented) UDP datagrams
  frags: number; // IPv4 fragments (any protocol)
  tcpSyn: number;
  icmp: number; // ICMP echo requests (v4 and v6)
  other: number;
}

/** Reads everything queued on `q` (at most 1000 packets) and sorts it by kind. */
function drain(q: TunQueue): Seen {
  const s: Seen = { udp: [], frags: 0, tcpSyn: 0, icmp: 0, other: 0 };
  const buf = new Uint8Array(70000);
  const v = new DataView(buf.buffer);
  for (let i = 0; i < 1000; i++) {
    const n = q.tryRead(buf);
    if (n < 0) break;
    const ver = buf[0]! >> 4;
    let proto: number, l4: number;
    if (ver === 4) {
      if ((v.getUint16(6) & 0x3fff) !== 0) {
        s.frags++;
        continue;
      }
      proto = buf[9]!;
      l4 = (buf[0]! & 0xf) * 4;
    } else if (ver === 6) {
      proto = buf[6]!;
      l4 = 40;
    } else {
      s.other++;
      continue;
    }
    if (proto === 17) s.udp.push(v.getUint16(l4 + 2));
    else if (proto === 6 && (buf[l4 + 13]! & 0x02) !== 0) s.tcpSyn++;
    else if ((proto === 1 && buf[l4] === 8) || (proto === 58 && buf[l4] === 128)) s.icmp++;
    else s.other++;
  }
  return s;
}

async function sendUdp(family: 4 | 6, host: string, port: number, count: number, size = 16, fromDistinctPorts = false): Promise<void> {
  let sock = dgram.createSocket(family === 4 ? "udp4" : "udp6");
  for (let i = 0; i < count; i++) {
    if (fromDistinctPorts && i > 0) {
      sock.close();
      sock = dgram.createSocket(family === 4 ? "udp4" : "udp6");
    }
    await new Promise<void>((res, rej) => sock.send(new Uint8Array(size), port, host, (e) => (e ? rej(e) : res())));
  }
  sock.close();
}

/** Starts a TCP connection toward host:port (nothing answers: its SYN stays unanswered); destroy it after the packets are read. */
function startSyn(host: string, port: number): net.Socket {
  const c = net.connect({ host, port });
  c.on("error", () => {});
  return c;
}

function merge(into: Seen, s: Seen): void {
  into.udp.push(...s.udp);
  into.frags += s.frags;
  into.tcpSyn += s.tcpSyn;
  into.icmp += s.icmp;
  into.other += s.other;
}
const empty = (): Seen => ({ udp: [], frags: 0, tcpSyn: 0, icmp: 0, other: 0 });

/**
 * Reads both queues until `done` says everything expected arrived (at most 3 s: the sends may
 * lag under load), then once more after 100 ms for anything extra that would fail the test.
 */
async function collect(dev: TunDevice, done: (q0: Seen, q1: Seen) => boolean): Promise<[Seen, Seen]> {
  const q0 = empty(), q1 = empty();
  for (const end = Date.now() + 3000; Date.now() < end; ) {
    merge(q0, drain(dev.queues[0]!));
    merge(q1, drain(dev.queues[1]!));
    if (done(q0, q1)) break;
    await Bun.sleep(25);
  }
  await Bun.sleep(100);
  merge(q0, drain(dev.queues[0]!));
  merge(q1, drain(dev.queues[1]!));
  return [q0, q1];
}

const settle = () => Bun.sleep(150);

describe("UDP steering on a 2-queue tun", () => {
  let dev: TunDevice;
  beforeAll(() => {
    if (!privileged) return;
    dev = openTun({ name: NAME, multiQueue: true, queues: 2 });
    sh("ip", "addr", "add", "10.7.0.1/24", "dev", NAME);
    sh("ip", "addr", "add", "fd00:7::1/64", "dev", NAME, "nodad");
    sh("ip", "link", "set", NAME, "up");
  });
  afterAll(() => dev?.close());

  itest("UDP v4 + v6 on queue 1; TCP SYNs, pings, fragments and port 53 on queue 0; then detach gives the hash back", async () => {
    const before = progFds();
    const prog = loadSteering(udpSteeringProgram({ udpQueue: 1, queueCount: 2, keepPorts: [53] }));
    expect(progFds()).toBe(before + 1);
    attachSteering(dev, prog);
    prog.close(); // the device holds its own reference: steering goes on
    prog.close(); // idempotent
    expect(prog.fd).toBe(-1);
    expect(progFds()).toBe(before);
    await settle();
    drain(dev.queues[0]!); // router solicitations and the like from bringing it up
    drain(dev.queues[1]!);

    await sendUdp(4, V4, 9999, 5);
    await sendUdp(6, V6, 9999, 5);
    await sendUdp(4, V4, 53, 3);
    await sendUdp(6, V6, 53, 2);
    await sendUdp(4, V4, 9998, 1, 3000); // 3000 bytes over a 1500 MTU: fragments
    const syns = [startSyn(V4, 80), startSyn(V6, 80)];
    spawnSync("ping", ["-c", "2", "-i", "0.2", "-W", "0.2", V4], { timeout: 5000 });
    spawnSync("ping", ["-6", "-c", "2", "-i", "0.2", "-W", "0.2", V6], { timeout: 5000 });
    const [q0, q1] = await collect(dev, (a, b) => b.udp.length >= 10 && a.udp.length >= 5 && a.frags >= 3 && a.tcpSyn >= 2 && a.icmp >= 4);
    for (const c of syns) c.destroy();

    expect(q1).toEqual({ udp: new Array(10).fill(9999), frags: 0, tcpSyn: 0, icmp: 0, other: 0 });
    expect(q0.udp.sort()).toEqual([53, 53, 53, 53, 53]);
    expect(q0.frags).toBeGreaterThanOrEqual(3); // 3000 bytes: 3 fragments, all on queue 0
    expect(q0.tcpSyn).toBeGreaterThanOrEqual(2);
    expect(q0.icmp).toBe(4);

    // Detached: the kernel's flow hash spreads 24 UDP flows over both queues (all on one: 2^-23).
    attachSteering(dev, null);
    await sendUdp(4, V4, 9999, 24, 16, true);
    const [h0, h1] = await collect(dev, (a, b) => a.udp.length + b.udp.length >= 24);
    expect(h0.udp.length + h1.udp.length).toBe(24);
    expect(h0.udp.length).toBeGreaterThan(0);
    expect(h1.udp.length).toBeGreaterThan(0);
  });

  itest("no keepPorts: port 53 goes to the UDP queue too", async () => {
    const prog = loadSteering(udpSteeringProgram({ udpQueue: 1, queueCount: 2 }));
    attachSteering(dev.queues[1]!, prog); // any queue of the device attaches it
    prog.close();
    drain(dev.queues[0]!);
    drain(dev.queues[1]!);
    await sendUdp(4, V4, 53, 3);
    await sendUdp(6, V6, 53, 2);
    const [q0, q1] = await collect(dev, (_, b) => b.udp.length >= 5);
    expect(q1.udp).toEqual([53, 53, 53, 53, 53]);
    expect(q0.udp).toEqual([]);
    attachSteering(dev, null);
  });

  itest("the UDP queue closed: its UDP falls back to queue 0 (the return is taken modulo the queues left)", async () => {
    const d = openTun({ name: "tks3", multiQueue: true, queues: 2 });
    try {
      sh("ip", "addr", "add", "10.8.0.1/24", "dev", "tks3");
      sh("ip", "link", "set", "tks3", "up");
      const prog = loadSteering(udpSteeringProgram({ udpQueue: 1, queueCount: 2 }));
      attachSteering(d, prog);
      prog.close();
      await sendUdp(4, "10.8.0.2", 9999, 2);
      const got: Seen = empty();
      for (const end = Date.now() + 3000; Date.now() < end && got.udp.length < 2; await Bun.sleep(25)) merge(got, drain(d.queues[1]!));
      expect(got.udp).toEqual([9999, 9999]); // steered while queue 1 is open
      d.queues[1]!.close(); // what a dead UDP worker's queue amounts to
      drain(d);
      await sendUdp(4, "10.8.0.2", 9999, 5);
      const q0: Seen = empty();
      for (const end = Date.now() + 3000; Date.now() < end && q0.udp.length < 5; await Bun.sleep(25)) merge(q0, drain(d));
      expect(q0.udp).toEqual([9999, 9999, 9999, 9999, 9999]);
    } finally {
      d.close();
    }
  });

  itest("bad input: not multi-queue, a tap, a closed queue or program, a malformed program", () => {
    const prog = loadSteering(udpSteeringProgram({ udpQueue: 1, queueCount: 2 }));
    try {
      const single = openTun({ name: "tks1" });
      expect(() => attachSteering(single, prog)).toThrow(/not multi-queue/);
      single.close();
      expect(() => attachSteering(single, prog)).toThrow(UsageError);
      const tap = openTun({ name: "tks2", mode: "tap", multiQueue: true, queues: 2 });
      expect(() => attachSteering(tap, prog)).toThrow(/is a tap/);
      tap.close();
      expect(() => loadSteering(new Uint8Array(12))).toThrow(UsageError);
      expect(() => loadSteering(new Uint8Array(0))).toThrow(UsageError);
    } finally {
      prog.close();
    }
    expect(() => attachSteering(dev, prog)).toThrow(/program is closed/);
    expect(() => udpSteeringProgram({ udpQueue: 2, queueCount: 2 })).toThrow(UsageError);
  });

  itest("the kernel refuses: the verifier's EINVAL with its log, a non-program fd on attach", () => {
    // r0 = 0 and no exit: the verifier refuses a program that falls off its end.
    const bad = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0]);
    const e = (() => {
      try {
        loadSteering(bad);
      } catch (x) {
        return x;
      }
    })() as BpfLoadError;
    expect(e).toBeInstanceOf(BpfLoadError);
    expect(e).toBeInstanceOf(SysError);
    expect(e.code).toBe("EINVAL");
    expect(e.log.length).toBeGreaterThan(0);
    expect(e.hint).toStartWith("the kernel's verifier refused the program: ");
    expect(e.hint).toContain(e.log.trim().split("\n").filter((l) => l.trim()).at(-1)!.trim());

    // An fd that is not an eBPF program: the tun's own.
    const notProg: SteeringProgram = { fd: dev.queues[1]!.fd, close() {} };
    const a = (() => {
      try {
        attachSteering(dev, notProg);
      } catch (x) {
        return x;
      }
    })() as SysError;
    expect(a).toBeInstanceOf(SysError);
    expect(a.code).toBe("EINVAL");
    expect(a.hint).toContain("not a socket-filter eBPF program");
  });

  itest("EPERM without CAP_BPF and CAP_SYS_ADMIN: the hint names them and the sysctl", () => {
    const dir = mkdtempSync(join(tmpdir(), "tks-"));
    try {
      const script = join(dir, "load.ts");
      writeFileSync(
        script,
        `import { loadSteering, udpSteeringProgram } from ${JSON.stringify(join(import.meta.dir, "../../tun/steer.ts"))};
try { loadSteering(udpSteeringProgram({ udpQueue: 1, queueCount: 2 })); console.log(JSON.stringify({ ok: true })); }
catch (e) { const x = e as { name: string; code?: string; hint?: string }; console.log(JSON.stringify({ name: x.name, code: x.code, hint: x.hint })); }
`,
      );
      const r = spawnSync("setpriv", ["--inh-caps=-bpf,-sys_admin,-perfmon", "--bounding-set=-bpf,-sys_admin,-perfmon", "--", process.execPath, script], {
        encoding: "utf8",
        timeout: 30_000,
      });
      expect(r.stderr).toBe("");
      const out = JSON.parse(r.stdout.trim());
      const sysctl = Number(spawnSync("cat", ["/proc/sys/kernel/unprivileged_bpf_disabled"], { encoding: "utf8" }).stdout.trim());
      if (sysctl === 0) {
        // Unprivileged socket filters allowed on this machine: the load works without the caps.
        expect(out).toEqual({ ok: true });
      } else {
        expect(out.code).toBe("EPERM");
        expect(out.hint).toContain("needs CAP_BPF or CAP_SYS_ADMIN");
        expect(out.hint).toContain(`kernel.unprivileged_bpf_disabled = ${sysctl}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
