// tunkit socks, UDP on its own tun queue and thread (proxy/udp-fast.ts, proxy/udp-worker.ts): the
// tun gets a second queue that the steering program feeds with UDP, a Worker relays it; the
// flows' datagrams, counters and idle timeouts are what they are on the main thread. Falls back
// to one queue with TUNKIT_UDP_WORKER=0 and on a single-queue device that already exists.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import dgram from "node:dgram";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { needing } from "./_ns.ts";
import { BUN, Proc, ROOT, SERVER_V4, Topology, sh } from "../fixtures/proxy/topology.ts";

const { ptest, ready } = needing("proxy-udp-worker", ["danted", "unshare"], "dante-server");
const t = new Topology("udw");

beforeAll(async () => {
  if (!ready) return;
  t.up();
  await t.startServer(1 << 20);
  await t.startDante(1082);
}, 60_000);

afterAll(async () => {
  await t.down();
});

async function withTunnel<T>(extra: string[], env: Record<string, string> | undefined, fn: (p: Proc) => Promise<T>): Promise<T> {
  const p = new Proc([BUN, join(ROOT, "cli/main.ts"), "socks", "tk0", "--proxy", "socks5://192.0.2.2:1082", "--address", "198.18.0.1/30", "--log-level", "debug", ...extra], env);
  t.procs.push(p);
  await p.waitFor(/ready/, 15_000);
  sh("ip", "route", "add", "198.51.100.0/24", "dev", "tk0");
  try {
    return await fn(p);
  } finally {
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }
}

/** The tun's queue count (`ip -d link`: "multi_queue numqueues N"; a single-queue tun says neither), -1 without the device. */
function queues(dev: string): number {
  const r = spawnSync("ip", ["-d", "link", "show", dev], { encoding: "utf8" });
  if (r.status !== 0) return -1;
  return Number(/numqueues (\d+)/.exec(r.stdout)?.[1] ?? 1);
}

/**
 * Sends `msgs` on one connected UDP socket, `gapMs` apart; resolves with what came back. With
 * `burst`, the first one alone (its answer awaited: the association is open), then the rest at
 * once (a flow's datagrams queue while its association opens, 32 at most).
 */
async function udpExchange(msgs: string[], gapMs = 0, burst = false): Promise<string[]> {
  const s = dgram.createSocket("udp4");
  const got: string[] = [];
  return await new Promise<string[]>((resolve) => {
    const done = () => {
      clearTimeout(timer);
      s.close();
      resolve(got);
    };
    const timer = setTimeout(done, 3000 + msgs.length * gapMs);
    s.on("message", (m) => {
      got.push(m.toString());
      if (burst && got.length === 1) for (const m of msgs.slice(1)) s.send(m);
      if (got.length === msgs.length) done();
    });
    s.connect(7, SERVER_V4, async () => {
      for (const m of burst ? msgs.slice(0, 1) : msgs) {
        s.send(m);
        if (gapMs) await Bun.sleep(gapMs);
      }
    });
  });
}

/** 40 datagrams "m0".."m39": 110 payload bytes each way (sent as a burst after the first: 30 of 3 bytes go as UDP GSO runs). */
const FORTY = Array.from({ length: 40 }, (_, i) => `m${i}`);

describe("UDP on its own queue", () => {
  ptest("two tun queues, the Worker relays a flow of 40 datagrams, and the stats count its bytes", async () => {
    await withTunnel([], undefined, async (p) => {
      await p.waitFor(/udp: on its own tun queue and thread/, 5000, "err");
      expect(queues("tk0")).toBe(2);
      const got = await udpExchange(FORTY, 0, true);
      expect(got.sort()).toEqual([...FORTY].sort());
      p.kill("SIGUSR1");
      // the worker's counters, read when the stats are printed
      await p.waitFor(/udp 1 \(1 active, 0 failed, 0 refused\), dns 0, up 110 B, down 110 B/);
    });
  });

  ptest("a flow kept busy past --udp-timeout stays one flow (the worker's use counts), and closes once idle", async () => {
    await withTunnel(["--udp-timeout", "1"], undefined, async (p) => {
      await p.waitFor(/udp: on its own tun queue and thread/, 5000, "err");
      const msgs = Array.from({ length: 10 }, (_, i) => `b${i}`);
      const got = await udpExchange(msgs, 300);
      expect(got.sort()).toEqual(msgs.sort());
      p.kill("SIGUSR1");
      await p.waitFor(/udp 1 \(1 active, 0 failed, 0 refused\)/);
      // idle: closed by the sweep after 1-2 s (and taken back from the worker)
      await Bun.sleep(3000);
      p.out = "";
      p.kill("SIGUSR1");
      await p.waitFor(/udp 1 \(0 active, 0 failed, 0 refused\)/);
      // a new flow after that still works
      expect(await udpExchange(["again"])).toEqual(["again"]);
    });
  });

  ptest("TUNKIT_UDP_WORKER=0: one queue, UDP on the main thread as before", async () => {
    await withTunnel([], { TUNKIT_UDP_WORKER: "0" }, async (p) => {
      expect(queues("tk0")).toBe(1);
      const got = await udpExchange(FORTY, 0, true);
      expect(got.sort()).toEqual([...FORTY].sort());
      p.kill("SIGUSR1");
      await p.waitFor(/udp 1 \(1 active, 0 failed, 0 refused\), dns 0, up 110 B, down 110 B/);
      expect(p.err).not.toContain("on its own tun queue");
    });
  });

  ptest("a single-queue device that already exists: the tunnel runs on its one queue, UDP works", async () => {
    sh("ip", "tuntap", "add", "dev", "tk0", "mode", "tun");
    try {
      await withTunnel([], undefined, async (p) => {
        expect(queues("tk0")).toBe(1);
        expect(await udpExchange(["single"])).toEqual(["single"]);
        expect(p.err).not.toContain("on its own tun queue");
      });
      expect(queues("tk0")).toBe(1); // still there (persistent), still single-queue
    } finally {
      spawnSync("ip", ["link", "del", "tk0"]);
    }
  });
});
