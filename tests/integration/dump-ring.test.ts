// Sniffing through the TPACKET_V3 ring (issue 13) against the recvmmsg path on the same traffic:
// frames written with an AF_PACKET socket onto one end of a veth pair, sniffed on either end.
// Both paths hand over the same bytes in the same order; the ring's kernel drop counts add up;
// a stop still delivers what the kernel had accepted; VLAN tags the kernel took off come back.
import { describe, expect, beforeAll, afterAll } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { join } from "node:path";
import { itest, sh } from "./_ns.ts";
import { PacketSniffer, type Direction } from "../../tun/mod.ts";
import { buildEthernet, buildUdp } from "../../packet/mod.ts";
import { raw, errno, sys, SOCK } from "../../ffi/libc.ts";
import { PACKET, packSockaddrLl, SOCKADDR_LL_SIZE } from "../../ffi/abi.ts";

const A = "tkra0";
const B = "tkrb0";

/** An AF_PACKET socket that writes whole Ethernet frames onto `dev`. */
function injector(dev: string): { send(frame: Uint8Array): void; close(): void } {
  const fd = raw.socket(SOCK.AF_PACKET, SOCK.SOCK_RAW | SOCK.SOCK_CLOEXEC, 0);
  if (fd < 0) throw new Error(`socket(AF_PACKET): errno ${errno()}`);
  const to = packSockaddrLl(PACKET.ETH_P_ALL, sys.ifNameToIndex(dev));
  return {
    send(frame) {
      const n = raw.sendto(fd, frame, frame.length, 0, to, SOCKADDR_LL_SIZE);
      if (n !== frame.length) throw new Error(`sendto: ${n} errno ${errno()}`);
    },
    close: () => void raw.close(fd),
  };
}

function frame(i: number, size: number, vlan?: { id: number; pcp: number }): Uint8Array {
  const ip = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 10000 + (i % 1000), dstPort: 9, payload: size });
  return buildEthernet({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", etherType: 0x0800, ...(vlan ? { vlans: [vlan] } : {}) }, ip);
}

interface Got {
  bytes: Uint8Array[];
  wire: number[];
  dirs: Direction[];
  ts: number[];
}

function collector(): { got: Got; handler: (buf: Uint8Array, caplen: number, wire: number, dir: Direction, sec: number, nsec: number, off: number) => void } {
  const got: Got = { bytes: [], wire: [], dirs: [], ts: [] };
  return {
    got,
    handler: (buf, caplen, wire, dir, sec, nsec, off) => {
      got.bytes.push(buf.slice(off, off + caplen));
      got.wire.push(wire);
      got.dirs.push(dir);
      got.ts.push(sec * 1e9 + nsec);
    },
  };
}

/**
 * A ring sniffer, a ring sniffer in file-writing mode (coalesceMs: while blocks come in full it
 * waits for the next on a timer, not the poller) and a recvmmsg sniffer on `dev`, all listening
 * into collectors until `stop()`.
 */
function bothPaths(dev: string, ringOpts: { blockTimeoutMs?: number } = {}) {
  const ring = PacketSniffer.open(dev, ringOpts);
  const ringT = PacketSniffer.open(dev, ringOpts);
  const mmsg = PacketSniffer.open(dev, { ring: false });
  const r = collector();
  const t = collector();
  const m = collector();
  const ac = new AbortController();
  const lr = ring.listen(r.handler, { signal: ac.signal, drainOnStop: true, zeroCopy: true });
  const lt = ringT.listen(t.handler, { signal: ac.signal, drainOnStop: true, zeroCopy: true, coalesceMs: 2 });
  const lm = mmsg.listen(m.handler, { signal: ac.signal, drainOnStop: true });
  return {
    ring, ringT, mmsg, r, t, m,
    /** Stops the listeners; their results, then the sniffers closed. */
    async stop(): Promise<{ ring: string; ringT: string; mmsg: string; ringStats: ReturnType<PacketSniffer["stats"]>; ringTStats: ReturnType<PacketSniffer["stats"]> }> {
      ac.abort();
      const res = { ring: await lr, ringT: await lt, mmsg: await lm, ringStats: ring.stats(), ringTStats: ringT.stats() };
      ring.close();
      ringT.close();
      mmsg.close();
      return res;
    },
  };
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("TPACKET_V3 ring", () => {
  beforeAll(() => {
    sh("ip", "link", "add", A, "type", "veth", "peer", "name", B);
    for (const d of [A, B]) {
      spawnSync("sysctl", ["-qw", `net.ipv6.conf.${d}.disable_ipv6=1`]);
      sh("ip", "link", "set", d, "up");
    }
  });
  afterAll(() => {
    spawnSync("ip", ["link", "del", A]);
  });

  itest("the ring (also waiting on a timer while blocks come in full) and recvmmsg hand over the same frames, bytes and order, on the same traffic; a stop delivers what the kernel had", async () => {
    const p = bothPaths(A, { blockTimeoutMs: 1000 });
    expect(p.ring.method).toBe("ring");
    expect(p.mmsg.method).toBe("recvmmsg");
    const inj = injector(A);
    const N = 3000;
    const sent: Uint8Array[] = [];
    try {
      for (let i = 0; i < N; i++) {
        const f = frame(i, (i * 37) % 1400);
        inj.send(f);
        sent.push(f);
        if (i % 100 === 99) await pause(1);
      }
    } finally {
      inj.close();
    }
    // stop at once: the last block (1 s timeout) is still in the kernel; drainOnStop brings it
    const end = await p.stop();
    expect(end.ring).toBe("stopped");
    expect(end.ringT).toBe("stopped");
    expect(end.mmsg).toBe("stopped");
    const rs = end.ringStats;
    for (const g of [p.r.got, p.t.got, p.m.got]) {
      expect(g.bytes.length).toBe(N);
      g.bytes.forEach((b, i) => expect(b).toEqual(sent[i]!));
      expect(g.wire).toEqual(sent.map((s) => s.length));
      expect(g.dirs.every((d) => d === "out")).toBe(true);
      for (let i = 1; i < N; i++) expect(g.ts[i]!).toBeGreaterThanOrEqual(g.ts[i - 1]!);
    }
    expect(rs.dropped).toBe(0);
    expect(rs.received).toBe(N);
    expect(end.ringTStats).toEqual({ ...end.ringTStats, dropped: 0, received: N });
  }, 60_000);

  itest("a ring nobody reads overflows: the kernel counts the drops, and delivered + dropped = sent", async () => {
    // the smallest ring (two 1 MiB blocks), not read while 40,000 frames go by
    const s = PacketSniffer.open(A, { bufferBytes: 1 << 20, blockTimeoutMs: 1000 });
    const inj = injector(A);
    const N = 40_000;
    try {
      for (let i = 0; i < N; i++) inj.send(frame(i, 20));
    } finally {
      inj.close();
    }
    await pause(50);
    const c = collector();
    const ac = new AbortController();
    const l = s.listen(c.handler, { signal: ac.signal, drainOnStop: true });
    await pause(100);
    ac.abort();
    await l;
    const st = s.stats();
    s.close();
    expect(st.dropped).toBeGreaterThan(0);
    expect(c.got.bytes.length).toBeGreaterThan(1000);
    expect(c.got.bytes.length + st.dropped).toBe(N);
    expect(st.received).toBe(N);
  }, 60_000);

  itest("a VLAN tag the receiving kernel took off is put back, by the ring and by recvmmsg (auxdata)", async () => {
    const p = bothPaths(B);
    const inj = injector(A);
    const sent: Uint8Array[] = [];
    try {
      for (let i = 0; i < 20; i++) {
        const f = frame(i, 40, { id: 10 + i, pcp: i % 8 });
        inj.send(f);
        sent.push(f);
        await pause(2);
      }
    } finally {
      inj.close();
    }
    await pause(100);
    await p.stop();
    for (const g of [p.r.got, p.m.got]) {
      expect(g.bytes.length).toBe(20);
      g.bytes.forEach((b, i) => expect(b).toEqual(sent[i]!));
      expect(g.dirs.every((d) => d === "in")).toBe(true);
    }
  }, 60_000);

  itest("pollWaitMs: while blocks come in full, the next one is waited for in poll(2) on the ring's socket and walked when the kernel hands it over: every frame, in order, none dropped", async () => {
    // A flood from another process (this thread waits in poll meanwhile), paced in bursts of
    // about a quarter block so that the walk catches up and waits; a ring (16 MiB) that holds
    // the whole flood, so that a loaded machine cannot turn a late walk into drops.
    const s = PacketSniffer.open(A, { bufferBytes: 16 << 20, blockTimeoutMs: 1000 });
    expect(s.method).toBe("ring");
    await expect(s.listen(() => {}, { pollWaitMs: 2000 })).rejects.toThrow(/pollWaitMs/);
    const N = 6000;
    const ports: number[] = [];
    const lengths: number[] = [];
    const ac = new AbortController();
    const l = s.listen(
      (buf, caplen, _wire, _dir, _sec, _nsec, off) => {
        // frame i: UDP source port 10000 + i % 1000, 1000 + i % 7 bytes of payload
        ports.push((buf[off + 34]! << 8) | buf[off + 35]!);
        lengths.push(caplen);
      },
      { signal: ac.signal, drainOnStop: true, zeroCopy: true, coalesceMs: 2, pollWaitMs: 50 },
    );
    const root = join(import.meta.dir, "../..");
    const script = `
      import { raw, sys, SOCK } from "${root}/ffi/libc.ts";
      import { PACKET, packSockaddrLl, SOCKADDR_LL_SIZE } from "${root}/ffi/abi.ts";
      import { buildEthernet, buildUdp } from "${root}/packet/mod.ts";
      const fd = raw.socket(SOCK.AF_PACKET, SOCK.SOCK_RAW, 0);
      const to = packSockaddrLl(PACKET.ETH_P_ALL, sys.ifNameToIndex("${A}"));
      for (let i = 0; i < ${N}; i++) {
        const ip = buildUdp({ src: "192.0.2.1", dst: "192.0.2.2", srcPort: 10000 + (i % 1000), dstPort: 9, payload: 1000 + (i % 7) });
        const f = buildEthernet({ src: "02:00:00:00:00:01", dst: "02:00:00:00:00:02", etherType: 0x0800 }, ip);
        if (raw.sendto(fd, f, f.length, 0, to, SOCKADDR_LL_SIZE) !== f.length) process.exit(3);
        if (i % 50 === 49) await new Promise((r) => setTimeout(r, 2));
      }
    `;
    const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((r) => child.once("exit", r));
    expect(err).toBe("");
    expect(code).toBe(0);
    // the last block waits for the kernel's block timer (1 s) or the stop's drain
    await pause(200);
    ac.abort();
    expect(await l).toBe("stopped");
    const st = s.stats();
    s.close();
    expect(st.dropped).toBe(0);
    expect(st.received).toBe(N);
    expect(ports.length).toBe(N);
    expect(ports).toEqual(Array.from({ length: N }, (_, i) => 10000 + (i % 1000)));
    expect(lengths).toEqual(Array.from({ length: N }, (_, i) => 14 + 20 + 8 + 1000 + (i % 7)));
    // woken by poll(2) with a block handed over, more than once (a flood of ~26 blocks)
    expect(s.pollWakes).toBeGreaterThan(1);
  }, 60_000);

  itest("close() from inside a handler ends listen() with 'closed' and unmaps the ring after the walk (no crash)", async () => {
    const s = PacketSniffer.open(A, { blockTimeoutMs: 5 });
    let n = 0;
    const l = s.listen(() => {
      n++;
      s.close();
    });
    const inj = injector(A);
    try {
      for (let i = 0; i < 50; i++) inj.send(frame(i, 10));
    } finally {
      inj.close();
    }
    expect(await l).toBe("closed");
    expect(n).toBe(1);
    expect(s.closed).toBe(true);
  }, 30_000);
});
