import { describe, expect } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import dgram from "node:dgram";
import { openTun, deleteTun, tunFeatures, TunDevice, SysError, DeviceClosedError, IFF, openCapture } from "../../tun/mod.ts";
import { UsageError } from "../../common/mod.ts";
import { itest, sh, ipLink } from "./_ns.ts";

const fdCount = () => readdirSync("/proc/self/fd").length;
/** Open fds of this process on /dev/net/tun: a leak of openTun shows here, whatever else (child pipes, the runtime) opens or closes meanwhile. */
const tunFds = () =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === "/dev/net/tun";
    } catch {
      return false; // closed between readdir and readlink (the readdir's own fd)
    }
  }).length;
const linkinfo = (name: string) => ipLink(name)?.linkinfo?.info_data as Record<string, unknown> | undefined;

describe("lifecycle, checked with ip -j -d link", () => {
  itest("tun with template name, pi off, not persistent: gone after close", () => {
    const dev = openTun({ name: "tkt%d" });
    expect(dev.name).toMatch(/^tkt\d+$/);
    const info = linkinfo(dev.name)!;
    expect(info).toMatchObject({ type: "tun", pi: false, vnet_hdr: false, multi_queue: false, persist: false });
    dev.close();
    expect(ipLink(dev.name)).toBeUndefined();
  });

  itest("tap, pi on, vnet_hdr, persist, owner and group (ioctl by value proven by read-back)", () => {
    const dev = openTun({ name: "tkp0", mode: "tap", packetInfo: true, vnetHdr: true, persist: true, owner: 4242, group: 4343 });
    const info = linkinfo("tkp0")!;
    expect(info).toMatchObject({ type: "tap", pi: true, vnet_hdr: true, persist: true, user: 4242, group: 4343 });
    expect(dev.flags).toMatchObject({ mode: "tap", packetInfo: true, vnetHdr: true });
    expect(dev.vnetHdrSize()).toBe(10);
    dev.close();
    expect(ipLink("tkp0")).toBeDefined(); // persistent
    deleteTun("tkp0");
    expect(ipLink("tkp0")).toBeUndefined();
  });

  itest("multi-queue with 4 queues", () => {
    const dev = openTun({ name: "tkmq0", multiQueue: true, queues: 4 });
    expect(dev.queues.length).toBe(4);
    expect(new Set(dev.queues.map((q) => q.fd)).size).toBe(4);
    const info = linkinfo("tkmq0")!;
    expect(info).toMatchObject({ type: "tun", multi_queue: true, numqueues: 4 });
    dev.close();
    expect(ipLink("tkmq0")).toBeUndefined();
  });

  itest("attach to an existing persistent device, then persist off via setPersist", () => {
    openTun({ name: "tka0", persist: true }).close();
    const dev = openTun({ name: "tka0" });
    expect(dev.name).toBe("tka0");
    dev.setPersist(false);
    dev.close();
    expect(ipLink("tka0")).toBeUndefined();
  });

  itest("fromFd wraps an attached fd (privilege separation)", () => {
    const a = openTun({ name: "tkfd0" });
    const b = TunDevice.fromFd(a.fd); // the fd handed over, as a privileged parent would
    expect(b.name).toBe("tkfd0");
    expect(b.flags.mode).toBe("tun");
    b.close();
  });

  itest("features probe includes tun, tap, multi_queue, vnet_hdr", () => {
    const f = tunFeatures();
    for (const n of ["tun", "tap", "no_pi", "multi_queue", "vnet_hdr"]) expect(f.names).toContain(n);
    expect(f.raw & IFF.TUN).toBe(IFF.TUN);
  });

  itest("close twice is fine; 1000 create/close cycles leak no fd", () => {
    const before = tunFds();
    const allBefore = fdCount();
    for (let i = 0; i < 1000; i++) {
      const d = openTun({ name: "tkleak0" });
      d.close();
      d.close();
    }
    expect(tunFds()).toBe(before);
    // Nothing else leaks either (a leak per cycle would show as ~1000 more); fds that an earlier
    // test's child left open may close meanwhile, so fewer is fine.
    expect(fdCount()).toBeLessThanOrEqual(allBefore);
    expect(ipLink("tkleak0")).toBeUndefined();
  }, 300_000);
});

describe("bad input is refused before any syscall", () => {
  for (const name of ["a/b", "a b", "x".repeat(16), ".", "..", "", "t:0"]) {
    itest(`name ${JSON.stringify(name)}`, () => {
      const before = sh("ip", "-j", "link", "show");
      expect(() => openTun({ name })).toThrow(UsageError);
      expect(sh("ip", "-j", "link", "show")).toBe(before);
    });
  }
  itest("queues without multi-queue, bad owner", () => {
    expect(() => openTun({ name: "tkq0", queues: 2 })).toThrow(/more than one queue needs multiQueue/);
    expect(() => openTun({ name: "tkq0", owner: -5 })).toThrow(UsageError);
    expect(ipLink("tkq0")).toBeUndefined();
  });
});

describe("faults", () => {
  itest("device deleted while a read is pending -> DeviceClosedError(deleted)", async () => {
    const dev = openTun({ name: "tkdel0" });
    const pending = dev.readInto(new Uint8Array(2048));
    setTimeout(() => sh("ip", "link", "del", "tkdel0"), 50);
    const err = await pending.catch((e) => e);
    expect(err).toBeInstanceOf(DeviceClosedError);
    expect(err.reason).toBe("deleted");
    dev.close();
  });

  itest("close() unblocks a pending read", async () => {
    const dev = openTun({ name: "tkclo0" });
    const pending = dev.readInto(new Uint8Array(2048));
    setTimeout(() => dev.close(), 20);
    const err = await pending.catch((e) => e);
    expect(err).toBeInstanceOf(DeviceClosedError);
    expect(err.reason).toBe("closed");
  });

  itest("abort signal ends a pending read", async () => {
    const dev = openTun({ name: "tkab0" });
    const ac = new AbortController();
    const pending = dev.readInto(new Uint8Array(2048), 0, ac.signal);
    setTimeout(() => ac.abort(new Error("stop")), 20);
    expect((await pending.catch((e) => e)).message).toBe("stop");
    dev.close();
  });

  itest("EBUSY when another process holds a single-queue device, naming its PID", async () => {
    const child = spawn(process.execPath, ["tests/fixtures/hold-tun.ts", "tkbusy0"], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (d) => String(d).includes("ready") && resolve());
        child.on("exit", (c) => reject(new Error(`holder exited ${c}`)));
      });
      let err: unknown;
      try {
        openTun({ name: "tkbusy0" });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SysError);
      expect((err as SysError).code).toBe("EBUSY");
      expect((err as SysError).hint).toContain(`pid ${child.pid}`);
    } finally {
      child.kill("SIGKILL");
    }
  });

  itest("no CAP_NET_ADMIN (unshare -r, same netns) -> EPERM with the hint", () => {
    const r = spawnSync("unshare", ["-r", process.execPath, "-e", `
      const { openTun } = await import("${process.cwd()}/mod.ts");
      try { openTun({ name: "tkperm0" }); console.log("created"); }
      catch (e) { console.log(JSON.stringify({ code: e.code, hint: e.hint })); }
    `], { encoding: "utf8" });
    const out = JSON.parse(r.stdout.trim());
    expect(out.code).toBe("EPERM");
    expect(out.hint).toContain("CAP_NET_ADMIN");
    expect(ipLink("tkperm0")).toBeUndefined();
  });
});

describe("packets", () => {
  itest("kernel -> tun: a datagram routed into the tun comes out of read() byte for byte; tun -> kernel: written back, it reaches the socket", async () => {
    const dev = openTun({ name: "tkio0" });
    sh("ip", "addr", "add", "192.0.2.1/24", "dev", "tkio0");
    sh("ip", "link", "set", "tkio0", "up");
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "192.0.2.1", r));
    const port = sock.address().port;
    const payload = Buffer.from("tunkit says hello");
    sock.send(payload, 9, "192.0.2.2");
    // The kernel may send other packets first (e.g. none for a tun without IPv6); find ours.
    const buf = new Uint8Array(2048);
    let n = 0;
    for (let i = 0; i < 10; i++) {
      n = await dev.readInto(buf);
      if (buf[0] === 0x45 && buf[9] === 17) break;
    }
    const pkt = buf.subarray(0, n);
    expect(pkt[0]).toBe(0x45);
    expect(pkt[9]).toBe(17);
    expect([...pkt.subarray(12, 16)]).toEqual([192, 0, 2, 1]);
    expect([...pkt.subarray(16, 20)]).toEqual([192, 0, 2, 2]);
    expect((pkt[20]! << 8) | pkt[21]!).toBe(port);
    expect((pkt[22]! << 8) | pkt[23]!).toBe(9);
    expect(Buffer.from(pkt.subarray(28)).equals(payload)).toBe(true);
    // Swap addresses and ports: checksums are sums, they stay valid. Write it back in.
    const reply = Uint8Array.from(pkt);
    reply.set(pkt.subarray(16, 20), 12);
    reply.set(pkt.subarray(12, 16), 16);
    reply.set(pkt.subarray(22, 24), 20);
    reply.set(pkt.subarray(20, 22), 22);
    const got = new Promise<{ msg: Buffer; from: dgram.RemoteInfo }>((r) => sock.once("message", (msg, from) => r({ msg, from })));
    expect(dev.write(reply)).toBe(n);
    const { msg, from } = await got;
    expect(msg.equals(payload)).toBe(true);
    expect(from.address).toBe("192.0.2.2");
    expect(from.port).toBe(9);
    sock.close();
    dev.close();
  });

  itest("readBatch and listen deliver every packet of a burst, in order", async () => {
    const dev = openTun({ name: "tkb0" });
    sh("ip", "addr", "add", "198.51.100.1/24", "dev", "tkb0");
    sh("ip", "link", "set", "tkb0", "up");
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "198.51.100.1", r));
    const N = 200;
    for (let i = 0; i < N; i++) sock.send(Buffer.from(`seq ${i}`), 9, "198.51.100.2");
    const seen: string[] = [];
    const bufs = Array.from({ length: 32 }, () => new Uint8Array(2048));
    const sizes = new Int32Array(32);
    const first = await dev.readBatch(bufs, sizes);
    expect(first).toBeGreaterThan(0);
    for (let i = 0; i < first; i++) {
      if (bufs[i]![9] === 17) seen.push(Buffer.from(bufs[i]!.subarray(28, sizes[i])).toString());
    }
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 3000);
    await dev.listen((b, n) => {
      if (b[9] !== 17) return;
      seen.push(Buffer.from(b.subarray(28, n)).toString());
      if (seen.length >= N) ac.abort();
    }, { signal: ac.signal, yieldEvery: 16 });
    clearTimeout(timer);
    expect(seen.length).toBe(N);
    expect(seen[0]).toBe("seq 0");
    expect(seen[N - 1]).toBe(`seq ${N - 1}`);
    sock.close();
    dev.close();
  });

  itest("listen: a packet whose callback returns true gets one poll of the loop's sockets before the next packet (false: none)", async () => {
    const dev = openTun({ name: "tkturn0" });
    sh("ip", "addr", "add", "198.51.100.1/24", "dev", "tkturn0");
    sh("ip", "link", "set", "tkturn0", "up");
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "198.51.100.1", r));
    // a loopback pair: a byte written while handling packet 1 is readable at the next poll
    const order: string[] = [];
    const srv = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data: () => void order.push("socket"), open() {} } });
    const client = await Bun.connect({ hostname: "127.0.0.1", port: srv.port, socket: { data() {} } });
    try {
      for (const turn of [true, false]) {
        order.length = 0;
        for (const m of ["a", "b"]) sock.send(Buffer.from(m), 9, "198.51.100.2");
        await Bun.sleep(50); // both queued before the reader starts: one batch reads both
        const ac = new AbortController();
        const guard = setTimeout(() => ac.abort(), 5000);
        await dev.listen((b, n) => {
          if (b[9] !== 17) return;
          const m = Buffer.from(b.subarray(28, n)).toString();
          order.push(m);
          if (m === "a") {
            client.write("x");
            return turn;
          }
          ac.abort();
        }, { signal: ac.signal });
        clearTimeout(guard);
        while (!order.includes("socket")) await Bun.sleep(5);
        expect({ turn, order }).toEqual({ turn, order: turn ? ["a", "socket", "b"] : ["a", "b", "socket"] });
      }
    } finally {
      client.end();
      srv.stop(true);
      sock.close();
      dev.close();
    }
  });

  itest("packets() iterator with an AbortSignal", async () => {
    const dev = openTun({ name: "tkit0" });
    sh("ip", "addr", "add", "203.0.113.1/24", "dev", "tkit0");
    sh("ip", "link", "set", "tkit0", "up");
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "203.0.113.1", r));
    for (let i = 0; i < 5; i++) sock.send(Buffer.from(`p${i}`), 9, "203.0.113.2");
    const ac = new AbortController();
    const got: string[] = [];
    setTimeout(() => ac.abort(), 3000);
    for await (const p of dev.packets({ signal: ac.signal })) {
      if (p[9] !== 17) continue;
      got.push(Buffer.from(p.subarray(28)).toString());
      if (got.length === 5) ac.abort();
    }
    expect(got).toEqual(["p0", "p1", "p2", "p3", "p4"]);
    sock.close();
    dev.close();
  });

  itest("timers keep running while a read waits; writes to a down device explain themselves", async () => {
    const dev = openTun({ name: "tkdn0" });
    let ticks = 0;
    const iv = setInterval(() => ticks++, 5);
    const ac = new AbortController();
    const p = dev.readInto(new Uint8Array(2048), 0, ac.signal).catch(() => -1);
    // 10 ticks while the read is pending (a read that blocked the loop would never get there):
    // no fixed window that load can squeeze
    while (ticks < 10) await new Promise((r) => setTimeout(r, 5));
    ac.abort();
    expect(await p).toBe(-1);
    clearInterval(iv);
    const pkt = new Uint8Array(28);
    pkt[0] = 0x45;
    let err: unknown;
    try { dev.write(pkt); } catch (e) { err = e; }
    expect((err as SysError).code).toBe("EIO");
    expect((err as SysError).hint).toContain("up");
    dev.close();
  });

  itest("an idle reader with nothing else pending uses no CPU and keeps the process alive", async () => {
    // No timer of its own: only the poller's wait is pending (Bun spun at 100% here once).
    const child = spawn(process.execPath, ["-e", `
      const { openTun } = await import("${process.cwd()}/mod.ts");
      const dev = openTun({ name: "tkidle0" });
      console.log("ready");
      await dev.listen(() => {});
      console.log("listen ended");
    `], { stdio: ["ignore", "pipe", "inherit"] });
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on("data", (d) => String(d).includes("ready") && resolve());
        child.on("exit", (c) => reject(new Error(`reader exited early (${c})`)));
      });
      const ticks = () => {
        const f = readFileSync(`/proc/${child.pid}/stat`, "utf8").split(") ")[1]!.split(" ");
        return Number(f[11]) + Number(f[12]);
      };
      await new Promise((r) => setTimeout(r, 300));
      const t0 = ticks();
      await new Promise((r) => setTimeout(r, 1500));
      expect(child.exitCode).toBeNull(); // still alive: the pending read keeps it so
      expect(ticks() - t0).toBeLessThan(15); // < 10% of a core; a spinning loop shows ~150
    } finally {
      child.kill("SIGKILL");
    }
  });
});

describe("attach readiness", () => {
  itest("openCapture (attach) resolves once the kernel routes packets into the device: a datagram sent at once reaches it, 15 attaches in a row after the carrier went down", async () => {
    // A tun that is up without a reader has no carrier and its queue stopped; attaching turns
    // the carrier on and the kernel restarts the queue a moment later (tun/link-ready.ts).
    // Sending right after TUNSETIFF lost about 1 datagram in 5 on a quiet machine.
    const IF = "tkrdy0";
    sh("ip", "tuntap", "add", IF, "mode", "tun");
    sh("sysctl", "-qw", `net.ipv6.conf.${IF}.disable_ipv6=1`);
    sh("ip", "addr", "add", "203.0.113.1/24", "dev", IF);
    sh("ip", "link", "set", IF, "up");
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "203.0.113.1", r));
    const lost: number[] = [];
    try {
      for (let i = 0; i < 15; i++) {
        // the kernel took the carrier down and stopped the queue (the last attach was closed)
        for (let k = 0; ipLink(IF)?.operstate !== "DOWN"; k++) {
          if (k > 500) throw new Error(`${IF} still ${ipLink(IF)?.operstate} 5 s after its reader closed`);
          await new Promise((r) => setTimeout(r, 10));
        }
        const cap = await openCapture(IF, { mode: "attach" });
        const probe = `probe ${i}`;
        sock.send(probe, 9, "203.0.113.2");
        const ac = new AbortController();
        const timer = setTimeout(() => ac.abort(), 1000);
        let got = false;
        await cap.listen((buf, caplen) => {
          if (buf[9] === 17 && Buffer.from(buf.subarray(28, caplen)).toString() === probe) {
            got = true;
            ac.abort();
          }
        }, { signal: ac.signal });
        clearTimeout(timer);
        cap.close();
        if (!got) lost.push(i);
      }
      // the datagrams the kernel dropped before the tun's reader are its TX drops
      expect({ lost, txDropped: ipLink(IF, ["-s"])?.stats64?.tx?.dropped }).toEqual({ lost: [], txDropped: 0 });
    } finally {
      sock.close();
      spawnSync("ip", ["link", "del", IF]);
    }
  }, 30_000);
});
