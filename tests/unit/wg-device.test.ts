// The protocol state (wg/device.ts) driven by hand: two devices wired through an in-memory
// "network" with a fake clock. Handshakes, data both ways, PSK, keepalives, rekey by time,
// retransmission and giving up, replay window, hostile datagrams (dropped, counted, no state
// change), cookies under a handshake flood, roaming, cryptokey routing.
import { beforeAll, describe, expect, test } from "bun:test";
import { WgDevice, type WgEvent } from "../../wg/device.ts";
import { loadWgCrypto, type WgCrypto } from "../../wg/crypto/provider.ts";
import { generatePrivateKey, publicKey } from "../../wg/keys.ts";
import { parseAllowedIp, AllowedIps } from "../../wg/allowedips.ts";
import { endpointOf, parseEndpoint, type Endpoint } from "../../wg/endpoint.ts";
import { ReplayWindow, REPLAY_WINDOW } from "../../wg/replay.ts";
import { buildUdp } from "../../packet/build.ts";

let c: WgCrypto;
beforeAll(async () => {
  c = await loadWgCrypto();
});

type Wire = { to: "a" | "b"; data: Uint8Array; from: Endpoint };

/** Two devices, A (192.0.2.1:1000, inner 10.0.0.1) and B (192.0.2.2:2000, inner 10.0.0.2). */
function pair(opts: { psk?: boolean; timers?: Record<string, number>; keepalive?: number } = {}) {
  let now = 1000;
  const wire: Wire[] = [];
  const events: WgEvent[] = [];
  const epA = parseEndpoint("192.0.2.1:1000");
  const epB = parseEndpoint("192.0.2.2:2000");
  const kA = generatePrivateKey(), kB = generatePrivateKey();
  const mk = (priv: Uint8Array, me: Endpoint, name: "a" | "b") =>
    new WgDevice({
      crypto: c,
      privateKey: priv,
      now: () => now,
      wallClock: () => 1.7e12 + now,
      timers: opts.timers,
      onEvent: (e) => events.push(e),
      send: (buf, len, to) => wire.push({ to: to.sa[7] === 1 ? "a" : "b", data: buf.slice(0, len), from: me }),
    });
  const a = mk(kA, epA, "a");
  const b = mk(kB, epB, "b");
  const psk = opts.psk ? crypto.getRandomValues(new Uint8Array(32)) : undefined;
  const pb = a.addPeer({ publicKey: publicKey(c, kB), endpoint: epB, allowedIps: [parseAllowedIp("10.0.0.2/32")], presharedKey: psk, persistentKeepalive: opts.keepalive });
  const pa = b.addPeer({ publicKey: publicKey(c, kA), endpoint: epA, allowedIps: [parseAllowedIp("10.0.0.1/32")], presharedKey: psk });
  const delivered: { a: Uint8Array[]; b: Uint8Array[] } = { a: [], b: [] };
  /** Delivers everything on the wire (and what that triggers), up to `max` datagrams. */
  const flush = (max = 100, filter?: (w: Wire) => boolean) => {
    let n = 0;
    while (wire.length && n++ < max) {
      const w = wire.shift()!;
      if (filter && !filter(w)) continue;
      const dev = w.to === "a" ? a : b;
      const buf = new Uint8Array(w.data.length + 64);
      buf.set(w.data);
      const len = dev.receive(buf, 0, w.data.length, w.from.sa, 0, w.from.sa.length, now);
      if (len > 0) delivered[w.to].push(buf.slice(16, 16 + len));
    }
  };
  const sendFrom = (dev: WgDevice, src: string, dst: string, payload = new Uint8Array(20)) => {
    const pkt = buildUdp({ src, dst, srcPort: 9, dstPort: 9, payload });
    const buf = new Uint8Array(pkt.length + 64);
    buf.set(pkt, 16);
    const p = dev.route(buf, 16, pkt.length);
    if (!p) return -1;
    const n = dev.seal(p, buf, 0, pkt.length, now);
    const me = dev === a ? epA : epB;
    if (n > 0) wire.push({ to: dev === a ? "b" : "a", data: buf.slice(0, n), from: me });
    return n;
  };
  return {
    a, b, pa, pb, wire, events, delivered, flush, sendFrom, epA, epB,
    advance: (ms: number) => {
      now += ms;
      a.tick(now);
      b.tick(now);
    },
    get now() {
      return now;
    },
  };
}

describe("handshake and data", () => {
  for (const psk of [false, true]) {
    test(`first packet triggers a handshake, is staged, then delivered (psk ${psk ? "on" : "off"})`, () => {
      const t = pair({ psk });
      expect(t.sendFrom(t.a, "10.0.0.1", "10.0.0.2")).toBe(0); // staged
      expect(t.wire.length).toBe(1);
      expect(t.wire[0]!.data[0]).toBe(1);
      expect(t.wire[0]!.data.length).toBe(148);
      t.flush();
      expect(t.delivered.b.length).toBe(1);
      expect(t.pb.stats.lastHandshake).toBeGreaterThan(0);
      expect(t.pa.current).toBeDefined(); // confirmed by the staged packet
      expect(t.sendFrom(t.b, "10.0.0.2", "10.0.0.1")).toBeGreaterThan(0);
      t.flush();
      expect(t.delivered.a.length).toBe(1);
      expect(t.events.filter((e) => e.type === "handshake").length).toBe(2);
    });
  }
  test("a PSK mismatch never completes", () => {
    const t = pair({ psk: true });
    t.pa.presharedKey = new Uint8Array(32).fill(9);
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    t.flush();
    expect(t.delivered.b.length).toBe(0);
    expect(t.a.drops.badHandshake).toBe(1);
  });
  test("padding: datagram lengths are 32 + a multiple of 16", () => {
    const t = pair();
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    t.flush();
    for (const size of [0, 1, 13, 100]) {
      const n = t.sendFrom(t.a, "10.0.0.1", "10.0.0.2", new Uint8Array(size));
      expect((n - 32) % 16).toBe(0);
    }
    t.flush();
    expect(t.delivered.b.map((p) => p.length)).toEqual([48, 28, 29, 41, 128]);
  });
  test("cryptokey routing: no route = dropped and counted; inner source must be the peer's", () => {
    const t = pair();
    expect(t.sendFrom(t.a, "10.0.0.1", "10.9.9.9")).toBe(-1);
    expect(t.a.drops.noRoute).toBe(1);
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    t.flush();
    // B sends a packet whose inner source A does not allow from B
    t.b.routes.insert(parseAllowedIp("10.0.0.0/8"), t.pa);
    t.sendFrom(t.b, "10.7.7.7", "10.0.0.1");
    t.flush();
    expect(t.a.drops.notAllowed).toBe(1);
    expect(t.delivered.a.length).toBe(0);
  });
});

describe("timers", () => {
  test("keepalive after receiving data with nothing to send back", () => {
    const t = pair({ timers: { keepaliveTimeout: 100 } });
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    t.flush();
    t.advance(150);
    expect(t.wire.length).toBe(1);
    expect(t.wire[0]!.data.length).toBe(32); // keepalive from B
  });
  test("persistent keepalive every interval", () => {
    const t = pair({ keepalive: 1 });
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    t.flush();
    t.wire.length = 0;
    t.advance(1001);
    expect(t.wire.some((w) => w.to === "b" && w.data.length === 32)).toBe(true);
  });
  test("rekey after time: a new handshake while data flows, old keys still decrypt", () => {
    const t = pair({ timers: { rekeyAfterTime: 500, rejectAfterTime: 2000, rekeyTimeout: 100 } });
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    t.flush();
    const first = t.pb.current;
    t.advance(600);
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2"); // sent with the old key, and triggers a rekey
    expect(t.wire.map((w) => w.data[0]).sort()).toEqual([1, 4]);
    t.flush();
    expect(t.pb.current).not.toBe(first);
    expect(t.pb.previous).toBe(first);
    expect(t.delivered.b.length).toBe(2);
  });
  test("handshake retransmission, then giving up and zeroing keys", () => {
    const t = pair({ timers: { rekeyTimeout: 100, rekeyAttemptTime: 300, rekeyTimeoutJitterMax: 0, rejectAfterTime: 200 } });
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    t.wire.length = 0; // B never answers
    for (let i = 0; i < 10; i++) t.advance(101);
    const inits = t.wire.filter((w) => w.data[0] === 1).length;
    expect(inits).toBe(4); // the first, then ceil(300 / 100) retries
    expect(t.events.some((e) => e.type === "handshakeFailed")).toBe(true);
    t.advance(700);
    expect(t.events.some((e) => e.type === "keysZeroed")).toBe(true);
    expect(t.pb.staged.length).toBe(0);
  });
  test("keys expire after reject-after-time: sending then stages and re-handshakes", () => {
    const t = pair({ timers: { rejectAfterTime: 300, rekeyAfterTime: 10_000, rekeyTimeout: 100 } });
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    t.flush();
    t.advance(400);
    t.wire.length = 0;
    expect(t.sendFrom(t.a, "10.0.0.1", "10.0.0.2")).toBe(0);
    expect(t.wire[0]?.data[0]).toBe(1);
  });
});

describe("hostile input: dropped, counted, no state change", () => {
  function established() {
    const t = pair();
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    t.flush();
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    const pkt = t.wire[0]!.data;
    t.flush();
    return { t, pkt };
  }
  const snapshot = (t: ReturnType<typeof pair>) => JSON.stringify({
    cur: t.pa.current?.localIndex, next: t.pa.next?.localIndex, last: t.pa.current?.replay.last, ep: [...t.pa.endpoint!.sa], rx: t.pa.stats.rxBytes,
    hs: t.pa.stats.handshakes,
  });
  test("replayed data", () => {
    const { t, pkt } = established();
    const before = snapshot(t);
    const buf = Uint8Array.from(pkt);
    expect(t.b.receive(buf, 0, buf.length, t.epA.sa, 0, 16, t.now)).toBe(0);
    expect(t.b.drops.replay).toBe(1);
    expect(snapshot(t)).toBe(before);
  });
  test("forged (bad tag), truncated, oversized, unknown type, unknown index", () => {
    const { t, pkt } = established();
    const before = snapshot(t);
    const forged = Uint8Array.from(pkt);
    forged[forged.length - 1]! ^= 1;
    forged[8] = 99; // a fresh counter, so only the tag can refuse it
    const other = parseEndpoint("203.0.113.9:9");
    expect(t.b.receive(forged, 0, forged.length, other.sa, 0, 16, t.now)).toBe(0);
    expect(t.b.drops.authFailed).toBe(1);
    for (const n of [0, 3, 17, 31]) t.b.receive(Uint8Array.from(pkt), 0, n, other.sa, 0, 16, t.now);
    expect(t.b.drops.truncated).toBe(4);
    t.b.receive(new Uint8Array(149).fill(1, 0, 1), 0, 149, other.sa, 0, 16, t.now);
    expect(t.b.drops.oversized).toBe(1);
    t.b.receive(Uint8Array.of(9, 0, 0, 0, 1, 2, 3, 4), 0, 8, other.sa, 0, 16, t.now);
    expect(t.b.drops.unknownType).toBe(1);
    const noIdx = Uint8Array.from(pkt);
    noIdx[4]! ^= 0xff;
    t.b.receive(noIdx, 0, noIdx.length, other.sa, 0, 16, t.now);
    expect(t.b.drops.unknownIndex).toBe(1);
    expect(snapshot(t)).toBe(before); // endpoint did not move to the forger's address
  });
  test("reordered data inside the window is accepted once; a replayed handshake initiation is refused", () => {
    const t = pair();
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    const init = Uint8Array.from(t.wire[0]!.data);
    t.flush();
    for (let i = 0; i < 5; i++) t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    t.wire.reverse();
    t.flush();
    expect(t.delivered.b.length).toBe(6);
    t.b.receive(Uint8Array.from(init), 0, init.length, t.epA.sa, 0, 16, t.now + 1000);
    expect(t.b.drops.staleTimestamp).toBe(1);
    expect(t.wire.length).toBe(0); // no response to a replay
  });
  test("bad mac1 (a message for someone else)", () => {
    const t = pair();
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    const init = t.wire.shift()!.data;
    init[120]! ^= 1;
    t.b.receive(init, 0, init.length, t.epA.sa, 0, 16, t.now);
    expect(t.b.drops.badMac1).toBe(1);
    expect(t.wire.length).toBe(0);
  });
  test("random garbage of every type and size never throws", () => {
    const t = pair();
    const other = parseEndpoint("203.0.113.9:9");
    for (let i = 0; i < 3000; i++) {
      const len = (Math.random() * 200) | 0;
      const buf = crypto.getRandomValues(new Uint8Array(len + 64));
      if (len >= 4) buf[0] = 1 + (i % 4), buf[1] = buf[2] = buf[3] = 0;
      expect(() => t.b.receive(buf, 0, len, other.sa, 0, 16, t.now)).not.toThrow();
    }
    expect(t.pa.stats.rxBytes).toBe(0);
  });
});

describe("cookies under load", () => {
  test("a handshake flood turns on under-load: cookie replies, then mac2 lets the real peer in", () => {
    const t = pair({ timers: { underLoadRate: 10, underLoadAfter: 60_000 } });
    t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
    const init = t.wire.shift()!.data;
    // 20 copies from many sources within one second: mac1 is valid, so they count as load.
    for (let i = 0; i < 20; i++) {
      const src = endpointOf(Uint8Array.of(198, 51, 100, i + 1), 4000 + i);
      t.b.receive(Uint8Array.from(init), 0, init.length, src.sa, 0, 16, t.now);
    }
    expect(t.b.underLoad).toBe(true);
    expect(t.b.counters.cookiesSent).toBeGreaterThan(0);
    expect(t.wire.filter((w) => w.data[0] === 3).length).toBe(t.b.counters.cookiesSent);
    t.wire.length = 0;
    // The genuine initiator (its own address) gets a cookie, stores it, and retries with mac2.
    t.advance(6_000); // past the initiation rate limit; still under load
    t.a.initiate(t.pb, true, t.now);
    const init2 = t.wire.shift()!;
    t.b.receive(Uint8Array.from(init2.data), 0, init2.data.length, t.epA.sa, 0, 16, t.now);
    const cookie = t.wire.shift()!;
    expect(cookie.data[0]).toBe(3);
    t.a.receive(Uint8Array.from(cookie.data), 0, 64, t.epB.sa, 0, 16, t.now);
    expect(t.a.counters.cookiesReceived).toBe(1);
    t.advance(6_000); // A's retransmission timer sends the initiation again, now with mac2
    expect(t.wire.length).toBe(1);
    t.flush();
    expect(t.b.underLoad).toBe(true);
    expect(t.pb.stats.handshakes).toBe(1);
  });
});

test("roaming: the endpoint follows authenticated packets, with an event", () => {
  const t = pair();
  t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
  t.flush();
  t.sendFrom(t.a, "10.0.0.1", "10.0.0.2");
  const w = t.wire.shift()!;
  const moved = parseEndpoint("198.51.100.7:3333");
  const buf = Uint8Array.from(w.data);
  expect(t.b.receive(buf, 0, buf.length, moved.sa, 0, 16, t.now)).toBeGreaterThan(0);
  expect([...t.pa.endpoint!.sa]).toEqual([...moved.sa]);
  expect(t.events.some((e) => e.type === "roam")).toBe(true);
});

describe("replay window", () => {
  test("in order, out of order, duplicates, too old, limit", () => {
    const w = new ReplayWindow();
    expect(w.accept(0, 100)).toBe(true);
    expect(w.accept(0, 100)).toBe(false);
    expect(w.accept(2, 100)).toBe(true);
    expect(w.accept(1, 100)).toBe(true);
    expect(w.accept(100, 100)).toBe(false);
    const big = new ReplayWindow();
    expect(big.accept(20_000, 1e9)).toBe(true);
    expect(big.accept(20_000 - REPLAY_WINDOW, 1e9)).toBe(false);
    expect(big.accept(20_000 - REPLAY_WINDOW + 1, 1e9)).toBe(true);
    expect(big.check(20_001, 1e9)).toBe(true);
    expect(big.accept(2 ** 40, 2 ** 50)).toBe(true); // a jump clears the ring
    expect(big.accept(2 ** 40 - 1, 2 ** 50)).toBe(true);
    expect(big.accept(2 ** 40 - 1, 2 ** 50)).toBe(false);
  });
  test("matches a set-based model on random sequences", () => {
    for (let run = 0; run < 20; run++) {
      const w = new ReplayWindow();
      const seen = new Set<number>();
      let max = -1;
      for (let i = 0; i < 3000; i++) {
        const c = Math.max(0, max + Math.floor((Math.random() - 0.7) * 12000));
        const expectOk = !seen.has(c) && (c > max || max - c < REPLAY_WINDOW);
        expect(w.accept(c, 1e12)).toBe(expectOk);
        if (expectOk) {
          seen.add(c);
          max = Math.max(max, c);
        }
      }
    }
  });
});

describe("allowed IPs", () => {
  test("longest prefix wins, IPv4 and IPv6; re-adding moves a prefix", () => {
    const t = new AllowedIps<string>();
    t.insert(parseAllowedIp("0.0.0.0/0"), "default");
    t.insert(parseAllowedIp("10.0.0.0/8"), "a");
    t.insert(parseAllowedIp("10.1.0.0/16"), "b");
    t.insert(parseAllowedIp("2001:db8::/32"), "c");
    t.insert(parseAllowedIp("2001:db8:1::/48"), "d");
    t.insert(parseAllowedIp("::/0"), "v6default");
    expect(t.lookup(Uint8Array.of(10, 1, 2, 3), 0, 4)).toBe("b");
    expect(t.lookup(Uint8Array.of(10, 2, 2, 3), 0, 4)).toBe("a");
    expect(t.lookup(Uint8Array.of(192, 0, 2, 1), 0, 4)).toBe("default");
    const ip6 = (s: string) => parseAllowedIp(s).addr;
    expect(t.lookup(ip6("2001:db8:1::5"), 0, 16)).toBe("d");
    expect(t.lookup(ip6("2001:db8:2::5"), 0, 16)).toBe("c");
    expect(t.lookup(ip6("2001:db9::"), 0, 16)).toBe("v6default");
    t.insert(parseAllowedIp("10.1.0.0/16"), "a");
    expect(t.lookup(Uint8Array.of(10, 1, 2, 3), 0, 4)).toBe("a");
    expect(t.entriesOf("b")).toEqual([]);
    t.removePeer("a");
    expect(t.lookup(Uint8Array.of(10, 1, 2, 3), 0, 4)).toBe("default");
    expect(parseAllowedIp("192.0.2.77/24").addr).toEqual(Uint8Array.of(192, 0, 2, 0));
  });
  test("matches a linear-scan model on random prefixes", () => {
    const t = new AllowedIps<number>();
    const model: Array<{ a: number; len: number; p: number }> = [];
    const m32 = (l: number) => (l === 0 ? 0 : (0xffffffff << (32 - l)) >>> 0);
    for (let i = 0; i < 300; i++) {
      const a = (Math.random() * 2 ** 32) >>> 0, len = (Math.random() * 33) | 0;
      const key = (a & m32(len)) >>> 0;
      const ex = model.findIndex((e) => e.len === len && e.a === key);
      if (ex >= 0) model.splice(ex, 1);
      model.push({ a: key, len, p: i });
      t.insert({ addr: Uint8Array.of(a >>> 24, (a >>> 16) & 255, (a >>> 8) & 255, a & 255), prefix: len }, i);
    }
    for (let i = 0; i < 2000; i++) {
      const x = (Math.random() * 2 ** 32) >>> 0;
      let best: { len: number; p: number } | undefined;
      for (const e of model) if (((x & m32(e.len)) >>> 0) === e.a && (!best || e.len > best.len)) best = e;
      expect(t.lookup4(x)).toBe(best?.p as number);
    }
  });
});
