// The UDP relay's datagram path without a namespace: a fake SOCKS5 UDP relay on loopback (the
// association's control connection is a stand-in), the tun replaced by an array of written
// packets. What is checked: a tun batch leaves as one ordered run of SOCKS5 datagrams, each with
// its header; replies come back as valid IP/UDP packets; counters; the idle sweep; and that the
// relay socket's send is synchronous (the buffer may be reused at once).
import { afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { EventEmitter } from "node:events";
import { UdpRelay, type UdpHost } from "../../proxy/udp.ts";
import { TunnelStats } from "../../proxy/stats.ts";
import { viewPacket, type PacketView } from "../../proxy/tcp-redirect.ts";
import { decodeSocksUdp, encodeSocksUdp, type Socks5Dialer } from "../../proxy/socks5.ts";
import { buildUdp } from "../../packet/build.ts";
import { verifyIpv4Header } from "../../packet/checksum.ts";
import { openUdp } from "../../ffi/udp-socket.ts";
import type { MultiSend } from "../../ffi/mmsg.ts";
import type { Dialer } from "../../proxy/dial.ts";

const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

/** A SOCKS5 UDP relay on `address` (127.0.0.1) and `port` (0: any) that answers every datagram with "re:" + its data. */
async function fakeRelay(address = "127.0.0.1", port = 0) {
  const sock = dgram.createSocket("udp4");
  const seen: { target: string; data: string }[] = [];
  sock.on("message", (m: Uint8Array, r) => {
    const { target, data } = decodeSocksUdp(new Uint8Array(m));
    seen.push({ target: `${target.host}:${target.port}`, data: text(data) });
    sock.send(encodeSocksUdp(target, bytes(`re:${text(data)}`)), r.port, r.address);
  });
  await new Promise<void>((r) => sock.bind(port, address, r));
  return { sock, seen, port: sock.address().port };
}

function setupShared(relayPort: number, idleMs?: number) {
  return setup(relayPort, idleMs, "source");
}

/** `relayPort`: the relay every association is given, or one per association (a function called at each: a port on 127.0.0.1, or a host and port). */
function setup(relayPort: number | (() => number | { host: string; port: number }), idleMs?: number, association?: "source" | "flow", spares = 0) {
  const written: Uint8Array[] = [];
  const errors: string[] = [];
  let clock = 1_000;
  const controls: EventEmitter[] = [];
  const host: UdpHost = {
    writePacket: (p) => written.push(p.slice()),
    stats: new TunnelStats(),
    error: (l) => errors.push(l),
    admit: () => true,
    now: () => clock,
  };
  const control = () => {
    const c = Object.assign(new EventEmitter(), { destroyed: false, destroy: () => ((c.destroyed = true), c.emit("close")), resume: () => c });
    controls.push(c);
    return c;
  };
  const relayOf = () => {
    const r = typeof relayPort === "number" ? relayPort : relayPort();
    return typeof r === "number" ? { host: "127.0.0.1", port: r } : r;
  };
  const socks = { associate: async () => ({ control: control(), relay: relayOf() }) } as unknown as Socks5Dialer;
  const relay = new UdpRelay(host, { mode: "socks", socks, tcp: {} as Dialer, idleMs, association, spares });
  const view = {} as PacketView;
  const feed = (p: Uint8Array) => {
    // as the tun does: one reused buffer, valid only during the call
    const buf = new Uint8Array(2048);
    buf.set(p);
    expect(viewPacket(buf, p.length, view)).toBe(true);
    relay.onPacket(buf, view);
    buf.fill(0xee);
  };
  return { relay, host, written, errors, controls, feed, tick: (ms: number) => (clock += ms) };
}

/** The relay's shared sockets of IPv4 (proxy/udp.ts's SharedSocket), as the tests look at them. */
type Shared = { sock: { fd: number; sendTo(d: Uint8Array, port: number, host: string): boolean }; users: number };
const sockets4 = (relay: UdpRelay) => (relay as unknown as { sockets: Shared[][] }).sockets[0]!;

const until = async (cond: () => boolean, ms = 3000) => {
  for (const t0 = Date.now(); !cond() && Date.now() - t0 < ms; ) await Bun.sleep(5);
};

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup) c();
  cleanup = [];
});

describe("UDP relay (SOCKS5 UDP ASSOCIATE)", () => {
  test("by default each flow has its own association, even from one source", async () => {
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const u = setup(r.port);
    cleanup.push(() => u.relay.closeAll());
    u.feed(buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 1111, dstPort: 7, payload: bytes("a") }));
    u.feed(buildUdp({ src: "192.0.2.1", dst: "198.51.100.10", srcPort: 1111, dstPort: 7, payload: bytes("b") }));
    await until(() => u.written.length === 2);
    expect([u.relay.size, u.relay.associations, u.controls.length]).toEqual([2, 2, 2]);
    // the relay gives both associations one port (it tells them apart by the client's address): a socket each
    expect(sockets4(u.relay).map((x) => x.users)).toEqual([1, 1]);
  });

  test("associations whose relays have ports of their own share one socket: a tun batch of many flows is one sendmmsg, each reply reaches its flow; a flow's end takes its association off the socket, the last closes it", async () => {
    const relays = await Promise.all([fakeRelay(), fakeRelay(), fakeRelay()]);
    for (const r of relays) cleanup.push(() => r.sock.close());
    let n = 0;
    const u = setup(() => relays[n++ % 3]!.port, 5_000);
    cleanup.push(() => u.relay.closeAll());
    const pkt = (i: number, data: string) => buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 41000 + i, dstPort: 7, payload: bytes(data) });
    for (let i = 0; i < 3; i++) u.feed(pkt(i, `open${i}`));
    await until(() => u.written.length === 3);
    expect(sockets4(u.relay).map((x) => x.users)).toEqual([3]);
    expect(relays.map((r) => r.seen.length)).toEqual([1, 1, 1]);
    const multi = (u.relay as unknown as { multi: MultiSend }).multi;
    const calls: number[] = [];
    const send = multi.send.bind(multi);
    multi.send = (fd) => (calls.push(multi.count), send(fd));
    // one tun batch: two datagrams of each flow, interleaved
    for (let k = 0; k < 2; k++) for (let i = 0; i < 3; i++) u.feed(pkt(i, `f${i}.${k}`));
    await until(() => u.written.length === 9);
    expect(calls).toEqual([6]);
    // each relay saw its own flow's datagrams, and each flow got its own relay's answers
    expect(relays.map((r) => r.seen.map((x) => x.data))).toEqual([0, 1, 2].map((i) => [`open${i}`, `f${i}.0`, `f${i}.1`]));
    const v = {} as PacketView;
    const byPort = new Map<number, string[]>();
    for (const p of u.written) {
      viewPacket(p, p.length, v);
      const port = (p[v.l4 + 2]! << 8) | p[v.l4 + 3]!;
      byPort.set(port, [...(byPort.get(port) ?? []), text(p.subarray(v.l4 + 8, v.end))]);
    }
    expect([...byPort].sort()).toEqual([0, 1, 2].map((i) => [41000 + i, [`re:open${i}`, `re:f${i}.0`, `re:f${i}.1`]]));
    expect(u.host.stats.dropped).toBe(0);
    u.tick(6_000);
    u.relay.sweep(u.tick(0));
    expect([u.relay.size, u.relay.associations, sockets4(u.relay).length]).toEqual([0, 0, 0]);
  });

  test("two relays on one port (127.0.0.1 and 127.0.0.2) share a socket; once the first's association ends, the second's replies still reach its flow", async () => {
    const r1 = await fakeRelay();
    const r2 = await fakeRelay("127.0.0.2", r1.port);
    cleanup.push(() => r1.sock.close(), () => r2.sock.close());
    let n = 0;
    const u = setup(() => (n++ === 0 ? r1.port : { host: "127.0.0.2", port: r1.port }), 5_000);
    cleanup.push(() => u.relay.closeAll());
    const pkt = (i: number, data: string) => buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 42000 + i, dstPort: 7, payload: bytes(data) });
    u.feed(pkt(0, "a0"));
    await until(() => u.written.length === 1);
    u.feed(pkt(1, "b0"));
    await until(() => u.written.length === 2);
    expect(sockets4(u.relay).map((x) => x.users)).toEqual([2]);
    expect([r1.seen.map((x) => x.data), r2.seen.map((x) => x.data)]).toEqual([["a0"], ["b0"]]);
    // the first flow goes idle and ends (its association with it); the second stays busy
    u.tick(3_000);
    u.feed(pkt(1, "b1"));
    await until(() => u.written.length === 3);
    u.tick(3_000);
    u.relay.sweep(u.tick(0));
    expect([u.relay.size, sockets4(u.relay).map((x) => x.users)]).toEqual([1, [1]]);
    u.feed(pkt(1, "b2"));
    await until(() => u.written.length === 4);
    const v = {} as PacketView;
    expect(u.written.map((p) => (viewPacket(p, p.length, v), text(p.subarray(v.l4 + 8, v.end))))).toEqual(["re:a0", "re:b0", "re:b1", "re:b2"]);
    expect(u.host.stats.dropped).toBe(0);
  });

  test("a tun batch goes out in order behind the flow's header; replies are valid packets back to the source", async () => {
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const u = setup(r.port);
    cleanup.push(() => u.relay.closeAll());
    const pkt = (i: number) => buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 40000, dstPort: 7, payload: bytes(`q${i}`) });
    u.feed(pkt(0)); // opens the association; queued meanwhile
    await until(() => r.seen.length === 1);
    for (let i = 1; i <= 20; i++) u.feed(pkt(i)); // one synchronous batch, as from one tun drain
    await until(() => r.seen.length === 21 && u.written.length === 21);
    expect(r.seen.map((s) => s.data)).toEqual(Array.from({ length: 21 }, (_, i) => `q${i}`));
    expect(new Set(r.seen.map((s) => s.target))).toEqual(new Set(["198.51.100.9:7"]));
    // each reply is byte for byte the packet buildUdp makes (lengths and both checksums filled in)
    const answers = u.written.map((p) => {
      const data = p.subarray(28);
      expect(p).toEqual(buildUdp({ src: "198.51.100.9", dst: "192.0.2.1", srcPort: 7, dstPort: 40000, payload: data }));
      expect(verifyIpv4Header(p, 0)).toBe(true);
      return text(data);
    });
    expect(answers.sort()).toEqual(Array.from({ length: 21 }, (_, i) => `re:q${i}`).sort());
    const st = u.host.stats;
    expect([st.udpTotal, st.udpActive, st.udpFailed, st.dropped]).toEqual([1, 1, 0, 0]);
    expect(st.bytesUp).toBe(10 * 2 + 11 * 3); // q0..q9: 2 bytes each, q10..q20: 3
    expect(st.bytesDown).toBe(st.bytesUp + 21 * 3);
    expect(u.errors).toEqual([]);
  });

  test("a long tun batch leaves in bursts of 32 datagrams (one sendmmsg each; a datagram and a shorter one right after it are one UDP GSO message), in order; the rest at the batch's end", async () => {
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const u = setup(r.port);
    cleanup.push(() => u.relay.closeAll());
    // odd ones longer than 64 bytes (copied as a view), even ones short (copied byte by byte)
    const data = (i: number) => `q${i}` + (i % 2 ? "x".repeat(100 + i) : "");
    const pkt = (i: number) => buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 40001, dstPort: 7, payload: bytes(data(i)) });
    u.feed(pkt(0));
    await until(() => r.seen.length === 1);
    // the relay's sendmmsg builder, to count the messages each call takes
    const multi = (u.relay as unknown as { multi: MultiSend }).multi;
    const calls: number[] = [];
    const send = multi.send.bind(multi);
    multi.send = (fd) => (calls.push(multi.count), send(fd));
    for (let i = 1; i <= 100; i++) u.feed(pkt(i)); // one synchronous batch
    // messages per sendmmsg: long odd + short even pairs, sent while the batch is still being read
    expect(calls).toEqual([16, 16, 16]);
    await until(() => r.seen.length === 101 && u.written.length === 101);
    expect(calls).toEqual([16, 16, 16, 2]);
    expect(r.seen.map((s) => s.data)).toEqual(Array.from({ length: 101 }, (_, i) => data(i)));
    // and every reply is the packet buildUdp makes, short and long alike
    const answers = u.written.map((p) => {
      const d = p.subarray(28);
      expect(p).toEqual(buildUdp({ src: "198.51.100.9", dst: "192.0.2.1", srcPort: 7, dstPort: 40001, payload: d }));
      return text(d);
    });
    expect(answers.sort()).toEqual(Array.from({ length: 101 }, (_, i) => `re:${data(i)}`).sort());
    expect(u.host.stats.dropped).toBe(0);
  });

  test("a flood of one flow leaves as one UDP GSO message per burst, which the relay receives as separate datagrams, each with its own bytes; a shorter one ends a run", async () => {
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const u = setup(r.port);
    cleanup.push(() => u.relay.closeAll());
    const data = (i: number) => `d${String(i).padStart(4, "0")}` + "y".repeat(i === 50 ? 20 : 195);
    const pkt = (i: number) => buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 40003, dstPort: 7, payload: bytes(data(i)) });
    u.feed(pkt(0));
    await until(() => r.seen.length === 1);
    const multi = (u.relay as unknown as { multi: MultiSend }).multi;
    const before = { ...multi.stats };
    for (let i = 1; i <= 64; i++) u.feed(pkt(i)); // 1..32, then 33..64 with a short one (50) in it
    await until(() => r.seen.length === 65);
    expect(r.seen.map((s) => s.data)).toEqual(Array.from({ length: 65 }, (_, i) => data(i)));
    // burst 1: one run of 32; burst 2: 33..50 (ends with the short one), 51..64
    expect([multi.stats.calls - before.calls, multi.stats.messages - before.messages, multi.stats.gsoMessages - before.gsoMessages, multi.stats.datagrams - before.datagrams]).toEqual([2, 3, 3, 64]);
    expect(u.host.stats.dropped).toBe(0);
  });

  test("a relay on IPv6 (::1, spelt as the proxy's reply spells it): its association is on the IPv6 socket and its replies reach the flow", async () => {
    const sock = dgram.createSocket("udp6");
    sock.on("message", (m: Uint8Array, r) => {
      const { target, data } = decodeSocksUdp(new Uint8Array(m));
      sock.send(encodeSocksUdp(target, bytes(`re6:${text(data)}`)), r.port, r.address);
    });
    await new Promise<void>((r) => sock.bind(0, "::1", r));
    cleanup.push(() => sock.close());
    const u = setup(() => sock.address().port);
    const relayOf = u.relay as unknown as { opts: { socks: { associate: () => Promise<{ relay: { host: string } }> } } };
    const associate = relayOf.opts.socks.associate;
    relayOf.opts.socks.associate = async () => {
      const a = await associate();
      return { ...a, relay: { ...a.relay, host: "0:0:0:0:0:0:0:1" } };
    };
    cleanup.push(() => u.relay.closeAll());
    u.feed(buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 42000, dstPort: 7, payload: bytes("six") }));
    await until(() => u.written.length === 1);
    expect(text(u.written[0]!.subarray(28))).toBe("re6:six");
    const sockets = (u.relay as unknown as { sockets: Shared[][] }).sockets;
    expect([sockets[0]!.length, sockets[1]!.length]).toEqual([0, 1]);
    expect(u.host.stats.dropped).toBe(0);
  });

  test("a relay's port closes: the refusal names no association on a shared socket, so it is one line and the socket and every association go on; the flow fails when the proxy closes its association, and its next datagram opens a new one", async () => {
    const [gone, kept] = await Promise.all([fakeRelay(), fakeRelay()]);
    cleanup.push(() => kept.sock.close());
    const ports = [gone.port, kept.port];
    let n = 0;
    const u = setup(() => ports[n++]!);
    cleanup.push(() => u.relay.closeAll());
    const pkt = (sport: number, i: number) => buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: sport, dstPort: 7, payload: bytes(`f${i}` + "z".repeat(150)) });
    u.feed(pkt(40004, 0));
    u.feed(pkt(40005, 0));
    await until(() => gone.seen.length === 1 && kept.seen.length === 1);
    expect(sockets4(u.relay).map((x) => x.users)).toEqual([2]);
    gone.sock.close();
    for (let i = 1; i <= 50 && u.errors.length === 0; i++) {
      for (let k = 0; k < 8; k++) u.feed(pkt(40004, i * 8 + k));
      await Bun.sleep(10);
    }
    expect(u.errors.length).toBe(1);
    expect(u.errors[0]).toMatch(/^udp relay socket: .*(ECONNREFUSED|refused)/i);
    // the other association still carries its flow, on the same socket
    const w = u.written.length;
    u.feed(pkt(40005, 1));
    await until(() => u.written.length === w + 1);
    expect(kept.seen.length).toBe(2);
    expect([u.relay.size, u.host.stats.udpFailed]).toEqual([2, 0]);
    // the proxy ends the association: the flow ends with it, reported
    u.controls[0]!.emit("close");
    expect(u.relay.size).toBe(1);
    expect(u.errors[1]).toMatch(/^udp 192\.0\.2\.1:40004 -> 198\.51\.100\.9:7: the proxy closed the association/);
    // a new relay on a new port: the flow's next datagram opens a new association there
    const r2 = await fakeRelay();
    cleanup.push(() => r2.sock.close());
    ports.push(r2.port);
    u.feed(pkt(40004, 1000));
    await until(() => r2.seen.length === 1);
    expect(r2.seen.map((s) => s.data.slice(0, 5))).toEqual(["f1000"]);
    expect(sockets4(u.relay).map((x) => x.users)).toEqual([2]);
  });

  test("without the socket's fd (Deno), datagrams go through sendTo; a flood of one size makes no object per datagram: each burst slot's view of the arena is the last burst's", async () => {
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const u = setup(r.port);
    cleanup.push(() => u.relay.closeAll());
    // 200 bytes each (copied through a view of the tun buffer), numbered
    const data = (i: number) => `d${String(i).padStart(4, "0")}` + "y".repeat(195);
    const pkt = (i: number) => buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 40002, dstPort: 7, payload: bytes(data(i)) });
    u.feed(pkt(0));
    await until(() => r.seen.length === 1);
    const sock = sockets4(u.relay)[0]!.sock;
    expect(sock.fd).toBeGreaterThanOrEqual(0); // Bun's socket was found
    Object.defineProperty(sock, "fd", { value: -1 });
    const sent: Uint8Array[] = [];
    const sendTo = sock.sendTo.bind(sock);
    sock.sendTo = (d, port, host) => (sent.push(d), sendTo(d, port, host));
    // as the tunnel does: every packet read into one reused buffer
    const buf = new Uint8Array(2048);
    const view = {} as PacketView;
    for (let i = 1; i <= 64; i++) {
      const p = pkt(i);
      buf.set(p);
      expect(viewPacket(buf, p.length, view)).toBe(true);
      u.relay.onPacket(buf, view);
    }
    // sent in bursts of 32 while the batch is read
    expect(sent.length).toBe(64);
    // the same 32 view objects in both bursts
    expect(sent.slice(32).every((v, i) => v === sent[i])).toBe(true);
    await until(() => r.seen.length === 65);
    expect(r.seen.map((s) => s.data)).toEqual(Array.from({ length: 65 }, (_, i) => data(i)));
    expect(u.host.stats.dropped).toBe(0);
  });

  test("flows from one source share one association; replies reach the flow the relay names; idle flows close one by one, the association with the last", async () => {
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const u = setupShared(r.port, 5_000);
    cleanup.push(() => u.relay.closeAll());
    const to = (dst: string, dport: number, data: string, sport = 1111) =>
      buildUdp({ src: dst.includes(":") ? "2001:db8::1" : "192.0.2.1", dst, srcPort: sport, dstPort: dport, payload: bytes(data) });
    u.feed(to("198.51.100.9", 7, "a"));
    u.feed(to("198.51.100.10", 9, "b")); // joins while the association opens
    await until(() => u.written.length === 2);
    u.tick(3_000);
    u.feed(to("198.51.100.10", 9, "c")); // keeps the second flow busy
    u.feed(to("2001:db8::5", 7, "d", 2222)); // another source (and family): its own association
    await until(() => u.written.length === 4);
    expect(u.relay.size).toBe(3);
    expect(u.relay.associations).toBe(2);
    expect(u.controls.length).toBe(2);
    const v = {} as PacketView;
    const got = u.written.map((p) => {
      viewPacket(p, p.length, v);
      const src = v.version === 4 ? [...p.subarray(12, 16)].join(".") : "v6";
      return `${src}:${(p[v.l4]! << 8) | p[v.l4 + 1]!} ${text(p.subarray(v.l4 + 8, v.end))}`;
    });
    expect(got.sort()).toEqual(["198.51.100.10:9 re:b", "198.51.100.10:9 re:c", "198.51.100.9:7 re:a", "v6:7 re:d"]);
    u.tick(2_500); // the first flow idle 5.5 s, the second 2.5 s
    u.relay.sweep(u.tick(0));
    expect(u.relay.size).toBe(2);
    expect(u.relay.associations).toBe(2);
    expect(u.controls.filter((c) => (c as unknown as { destroyed: boolean }).destroyed).length).toBe(0);
    u.tick(3_000);
    u.relay.sweep(u.tick(0));
    expect(u.relay.size).toBe(0);
    expect(u.relay.associations).toBe(0);
    expect(u.host.stats.udpActive).toBe(0);
    expect(u.controls.every((c) => (c as unknown as { destroyed: boolean }).destroyed)).toBe(true);
    expect(u.host.stats.dropped).toBe(0);
  });

  test('a reply from a peer no flow of a shared association talks to is dropped; association "flow" (the default) gives each flow its own', async () => {
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const u = setupShared(r.port);
    cleanup.push(() => u.relay.closeAll());
    u.feed(buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 1111, dstPort: 7, payload: bytes("a") }));
    u.feed(buildUdp({ src: "192.0.2.1", dst: "198.51.100.10", srcPort: 1111, dstPort: 7, payload: bytes("b") }));
    await until(() => u.written.length === 2);
    // a datagram that names a third peer, sent to the association's socket from the relay's port
    const local = r.seen.length; // the relay learned the client's port from its datagrams
    expect(local).toBe(2);
    const client = await new Promise<number>((resolve) => {
      r.sock.once("message", (_m, info) => resolve(info.port));
      u.feed(buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 1111, dstPort: 7, payload: bytes("a2") }));
    });
    await until(() => u.written.length === 3);
    r.sock.send(encodeSocksUdp({ host: "198.51.100.77", port: 7 }, bytes("stray")), client, "127.0.0.1");
    await until(() => u.host.stats.dropped === 1);
    expect(u.host.stats.dropped).toBe(1);
    expect(u.written.length).toBe(3);

    const f = setup(r.port); // the default
    cleanup.push(() => f.relay.closeAll());
    f.feed(buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: 1111, dstPort: 7, payload: bytes("a") }));
    f.feed(buildUdp({ src: "192.0.2.1", dst: "198.51.100.10", srcPort: 1111, dstPort: 7, payload: bytes("b") }));
    await until(() => f.written.length === 2);
    expect(f.relay.associations).toBe(2);
    expect(f.controls.length).toBe(2);
  });
});

describe("UDP relay: spare associations", () => {
  const flow = (sport: number, data = "x") => buildUdp({ src: "192.0.2.1", dst: "198.51.100.9", srcPort: sport, dstPort: 7, payload: bytes(data) });
  const destroyed = (cs: EventEmitter[]) => cs.filter((c) => (c as unknown as { destroyed: boolean }).destroyed).length;

  test("after a second with new flows, as many spares open (at most `spares`); a new flow takes one without a handshake; spares close ten seconds after new flows stop, or when the proxy closes them", async () => {
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const u = setup(r.port, undefined, undefined, 2);
    cleanup.push(() => u.relay.closeAll());
    for (const p of [1001, 1002, 1003]) u.feed(flow(p));
    await until(() => u.written.length === 3);
    expect([u.controls.length, u.relay.spareAssociations]).toEqual([3, 0]);
    u.relay.sweep(u.tick(1000)); // 3 new associations were needed within the second: 2 spares (the most)
    await until(() => u.relay.spareAssociations === 2);
    expect(u.controls.length).toBe(5);
    u.feed(flow(1004, "taken"));
    // no handshake: the spare's socket is open, and the datagram is on its way at the batch's end
    expect([u.controls.length, u.relay.spareAssociations, u.relay.associations]).toEqual([5, 1, 4]);
    await until(() => u.written.length === 4);
    expect(text(u.written[3]!.subarray(28))).toBe("re:taken");
    u.relay.sweep(u.tick(1000)); // still wanted: topped up again
    await until(() => u.relay.spareAssociations === 2);
    expect(u.controls.length).toBe(6);
    // the proxy closes a spare: it is gone, nothing reported
    const spare = u.controls[5]!;
    spare.emit("close");
    expect(u.relay.spareAssociations).toBe(1);
    for (let i = 0; i < 8; i++) u.relay.sweep(u.tick(1000));
    expect(u.relay.spareAssociations).toBe(1); // the second with 3 new flows is 10 s back only now
    u.relay.sweep(u.tick(1000));
    expect(u.relay.spareAssociations).toBe(1); // the second with 1 new flow still counts
    u.relay.sweep(u.tick(1000));
    expect(u.relay.spareAssociations).toBe(0);
    expect([u.relay.size, u.relay.associations]).toEqual([4, 4]); // flows untouched (60 s idle)
    expect(destroyed(u.controls)).toBe(2); // both spares' control connections (the flows' stay)
    expect(u.errors).toEqual([]);
    expect(u.host.stats.udpFailed).toBe(0);
  });

  test("a spare that cannot open is quiet and no spare is tried again for 5 s; closeAll closes spares, open or opening", async () => {
    const written: Uint8Array[] = [];
    const errors: string[] = [];
    let clock = 1_000;
    let calls = 0;
    let refuse = false;
    const controls: EventEmitter[] = [];
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const socks = {
      associate: async () => {
        calls++;
        if (refuse) throw new Error("SOCKS5 proxy refused UDP ASSOCIATE");
        const c = Object.assign(new EventEmitter(), { destroyed: false, destroy: () => ((c.destroyed = true), c.emit("close")), resume: () => c });
        controls.push(c);
        return { control: c, relay: { host: "127.0.0.1", port: r.port } };
      },
    } as unknown as Socks5Dialer;
    const host: UdpHost = { writePacket: (p) => written.push(p.slice()), stats: new TunnelStats(), error: (l) => errors.push(l), admit: () => true, now: () => clock };
    const relay = new UdpRelay(host, { mode: "socks", socks, tcp: {} as Dialer, spares: 4 });
    cleanup.push(() => relay.closeAll());
    const view = {} as PacketView;
    const feed = (p: Uint8Array) => {
      const buf = new Uint8Array(2048);
      buf.set(p);
      viewPacket(buf, p.length, view);
      relay.onPacket(buf, view);
    };
    feed(flow(2001));
    await until(() => written.length === 1);
    refuse = true;
    relay.sweep((clock += 1000));
    await until(() => calls === 2);
    await Bun.sleep(20);
    expect([calls, relay.spareAssociations, errors.length, host.stats.udpFailed]).toEqual([2, 0, 0, 0]);
    relay.sweep((clock += 1000)); // within 5 s of the failure: nothing tried
    relay.sweep((clock += 1000));
    expect(calls).toBe(2);
    refuse = false;
    relay.sweep((clock += 4000));
    await until(() => relay.spareAssociations === 1);
    expect(calls).toBe(3);
    relay.closeAll();
    expect(relay.spareAssociations).toBe(0);
    expect(controls.every((c) => (c as unknown as { destroyed: boolean }).destroyed)).toBe(true);
    expect(errors).toEqual([]);
  });

  test("spares take at most a quarter of the free file descriptors the host reports", async () => {
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const u = setup(r.port, undefined, undefined, 8);
    cleanup.push(() => u.relay.closeAll());
    let room = 16; // 16 free fds: 2 spares of 2 fds each
    u.host.fdRoom = () => room;
    for (const p of [4001, 4002, 4003, 4004]) u.feed(flow(p));
    await until(() => u.written.length === 4);
    u.relay.sweep(u.tick(1000));
    await until(() => u.relay.spareAssociations === 2);
    await Bun.sleep(20);
    expect([u.relay.spareAssociations, u.controls.length]).toEqual([2, 6]);
    room = 7; // fewer fds free now: the spares close
    u.relay.sweep(u.tick(1000));
    expect(u.relay.spareAssociations).toBe(0);
  });

  test("spares: 0 opens none", async () => {
    const r = await fakeRelay();
    cleanup.push(() => r.sock.close());
    const u = setup(r.port, undefined, undefined, 0);
    cleanup.push(() => u.relay.closeAll());
    u.feed(flow(3001));
    await until(() => u.written.length === 1);
    u.relay.sweep(u.tick(1000));
    await Bun.sleep(20);
    expect([u.controls.length, u.relay.spareAssociations]).toEqual([1, 0]);
  });
});

describe("openUdp (the relay's shared socket)", () => {
  test("sendTo is done when it returns: the buffer is overwritten at once and the peer still gets the original; replies come with the sender's address", async () => {
    const peer = dgram.createSocket("udp4");
    const got: string[] = [];
    peer.on("message", (m: Uint8Array, r) => (got.push(text(m)), peer.send(m, r.port, r.address)));
    await new Promise<void>((r) => peer.bind(0, "127.0.0.1", r));
    cleanup.push(() => peer.close());
    const back: string[] = [];
    const s = await openUdp(false, { data: (d, port, host) => back.push(`${host}:${port} ${text(d)}`), error: () => {} });
    cleanup.push(() => s.close());
    expect(s.fd).toBeGreaterThanOrEqual(0); // Bun's socket was found
    const buf = new Uint8Array(new ArrayBuffer(4096));
    buf.set(bytes("one"));
    expect(s.sendTo(buf.subarray(0, 3), peer.address().port, "127.0.0.1")).toBe(true);
    buf.fill(0x78);
    await until(() => back.length === 1);
    expect(got).toEqual(["one"]);
    expect(back).toEqual([`127.0.0.1:${peer.address().port} one`]);
    expect(s.localPort).toBeGreaterThan(0);
    s.close();
    expect(s.fd).toBe(-1);
  });

  test("an ICMP port unreachable from one peer comes to the error handler, and the socket goes on with the others", async () => {
    const gone = dgram.createSocket("udp4");
    await new Promise<void>((r) => gone.bind(0, "127.0.0.1", r));
    const port = gone.address().port;
    gone.close();
    const [r] = await Promise.all([fakeRelay()]);
    cleanup.push(() => r!.sock.close());
    const errors: Error[] = [];
    const back: string[] = [];
    const s = await openUdp(false, { data: (d) => back.push(text(d)), error: (e) => errors.push(e) });
    cleanup.push(() => s.close());
    for (let i = 0; i < 50 && errors.length === 0; i++) {
      s.sendTo(bytes("x"), port, "127.0.0.1");
      await Bun.sleep(10);
    }
    expect(errors[0]?.message).toMatch(/ECONNREFUSED/);
    s.sendTo(encodeSocksUdp({ host: "198.51.100.9", port: 7 }, bytes("still")), r!.port, "127.0.0.1");
    await until(() => back.length === 1);
    expect(back.map((b) => b.slice(-8))).toEqual(["re:still"]);
  });
});
