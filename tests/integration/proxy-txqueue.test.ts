// The tun's transmit queue (txqueuelen) that `tunkit socks` sets up, on both relays: a tun it
// creates runs with TUNNEL_TXQUEUELEN (4096, not the kernel's 500); an existing tun gets it too
// and its own value back on stop. And what it is for: a burst that comes while the daemon reads
// nothing (SIGSTOP: a collection or a long batch, made certain) waits in the tun's ring instead
// of being dropped (the device's tx_dropped), and the daemon reads all of it once it runs again, where a 500-packet ring drops most of it (the
// control, in the same test, so the check can fail).
import { afterAll, beforeAll, describe, expect } from "bun:test";
import dgram from "node:dgram";
import { ipLink, needing } from "./_ns.ts";
import { Topology, sh, type Proc, SERVER_V4 } from "../fixtures/proxy/topology.ts";
import { TUNNEL_TXQUEUELEN } from "../../proxy/setup.ts";
import { until } from "../fixtures/proxy/until.ts";

const { ptest, ready } = needing("proxy-txqueue", ["danted", "unshare"]);
const t = new Topology("txq");
const PROXY = "socks5://192.0.2.2:1082";
const BURST = 3000;

beforeAll(async () => {
  if (!ready) return;
  t.up();
  await t.startServer(1 << 16);
  await t.startDante(1082);
}, 60_000);

afterAll(async () => {
  await t.down();
});

async function withTunnel<T>(relay: string, dev: string, fn: (p: Proc) => Promise<T>): Promise<T> {
  process.env.TUNKIT_RELAY = relay;
  let p: Proc;
  try {
    p = await t.tunkit(["socks", dev, "--proxy", PROXY, "--address", "198.18.0.1/30"]);
  } finally {
    delete process.env.TUNKIT_RELAY;
  }
  try {
    return await fn(p);
  } finally {
    p.kill("SIGCONT");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }
}

/** The device's transmit counters (ip -s; /sys/class/net shows the host's namespace here). */
const stat = (dev: string, k: "packets" | "dropped"): number => Number(ipLink(dev, ["-s"])?.stats64?.tx?.[k]);

/** Sends `n` small datagrams to the server's echo port (routed into the tun) from one socket. */
async function burst(n: number): Promise<void> {
  const s = dgram.createSocket("udp4");
  const msg = Buffer.alloc(32, 0x61);
  try {
    await Promise.all(Array.from({ length: n }, () => new Promise<void>((res, rej) => s.send(msg, 7, SERVER_V4, (e) => (e ? rej(e) : res())))));
  } finally {
    s.close();
  }
}

/**
 * Sends a burst while `p` is stopped; returns how many of its packets the daemon read once it
 * ran again (a tun counts a packet transmitted when its reader takes it) and how many the tun
 * dropped.
 */
async function stoppedBurst(p: Proc, dev: string, n: number): Promise<{ read: number; dropped: number }> {
  const q0 = stat(dev, "packets");
  const d0 = stat(dev, "dropped");
  p.kill("SIGSTOP");
  try {
    await burst(n);
    await Bun.sleep(200);
  } finally {
    p.kill("SIGCONT");
  }
  // every datagram is either read by the daemon or counted dropped
  await until(() => stat(dev, "packets") - q0 + stat(dev, "dropped") - d0 >= n, 20_000);
  return { read: stat(dev, "packets") - q0, dropped: stat(dev, "dropped") - d0 };
}

describe("the tun's transmit queue", () => {
  for (const relay of ["bun", "splice"]) {
    ptest(`${relay} relay: a tun made by the tunnel runs with txqueuelen ${TUNNEL_TXQUEUELEN}; an existing one (500) gets it, and 500 back on stop`, async () => {
      await withTunnel(relay, "tkq0", async () => {
        expect(ipLink("tkq0")?.txqlen).toBe(TUNNEL_TXQUEUELEN);
      });
      sh("ip", "tuntap", "add", "dev", "tkq1", "mode", "tun");
      try {
        expect(ipLink("tkq1")?.txqlen).toBe(500);
        await withTunnel(relay, "tkq1", async () => {
          expect(ipLink("tkq1")?.txqlen).toBe(TUNNEL_TXQUEUELEN);
        });
        expect(ipLink("tkq1")?.txqlen).toBe(500);
        // a longer queue of the user's is left as it is
        sh("ip", "link", "set", "tkq1", "txqueuelen", "10000");
        await withTunnel(relay, "tkq1", async () => {
          expect(ipLink("tkq1")?.txqlen).toBe(10000);
        });
        expect(ipLink("tkq1")?.txqlen).toBe(10000);
      } finally {
        sh("ip", "link", "del", "tkq1");
      }
    }, 60_000);

    ptest(`${relay} relay: ${BURST} datagrams while the daemon reads nothing wait in the tun (0 dropped); with the kernel's 500 most are dropped`, async () => {
      await withTunnel(relay, "tkq2", async (p) => {
        sh("ip", "route", "replace", "198.51.100.0/24", "dev", "tkq2");
        // (read: the burst, and any packet of the tun's own, e.g. an IPv6 solicitation)
        for (const round of [1, 2]) {
          const held = await stoppedBurst(p, "tkq2", BURST);
          expect({ round, dropped: held.dropped }).toEqual({ round, dropped: 0 });
          expect(held.read).toBeGreaterThanOrEqual(BURST);
        }
        // the control: the same burst into the kernel's default ring
        sh("ip", "link", "set", "tkq2", "txqueuelen", "500");
        const small = await stoppedBurst(p, "tkq2", BURST);
        expect(small.dropped).toBeGreaterThan(BURST / 2);
      });
    }, 60_000);
  }
});
