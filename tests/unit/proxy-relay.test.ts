import { expect, test } from "bun:test";
import { NativeRelay, RELEASE_MIN, release, type NativeSocket, type RelayFlow, type RelayHost } from "../../proxy/tcp-relay.ts";
import type { HandshakeMachine } from "../../proxy/dial.ts";

/** A Bun socket stand-in: records writes; `take` bytes at most per write (-1: closed). */
class FakeSocket implements NativeSocket {
  writes: Uint8Array[] = [];
  paused = false;
  ended = false;
  constructor(public data: RelayFlow | undefined, public take = Infinity, readonly remotePort = 0, readonly remoteAddress = "198.18.0.2") {}
  write(d: Uint8Array): number {
    const n = Math.min(d.length, this.take);
    this.writes.push(d.slice(0, n));
    return n;
  }
  shutdown(): void {
    this.ended = true;
  }
  end(): void {
    this.ended = true;
  }
  terminate(): void {
    this.ended = true;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

type Handlers = Record<string, (...a: unknown[]) => unknown>;

/** A relay whose Bun is a recorder of the options each listen/connect got. */
function relayWithFakeBun(host: Partial<RelayHost> = {}, heapAfterGc = 20 << 20) {
  const gcs: boolean[] = [];
  const connects: Array<{ socket: Handlers; data: RelayFlow }> = [];
  const listens: Array<{ socket: Handlers }> = [];
  const full: RelayHost = {
    ready: () => {},
    failed: () => {},
    accept: () => undefined,
    bytes: () => {},
    upError: () => {},
    fin: () => {},
    closed: () => {},
    localData: () => {},
    ...host,
  };
  const relay = new NativeRelay(full, 10_000);
  (relay as unknown as { bun: unknown }).bun = {
    listen(o: { socket: Handlers }) {
      listens.push(o);
      return { port: 40000 + listens.length, stop() {} };
    },
    connect(o: { socket: Handlers; data: RelayFlow }) {
      connects.push(o);
      return new Promise(() => {});
    },
    gc(force: boolean) {
      gcs.push(force);
      return heapAfterGc;
    },
  };
  return { relay, connects, listens, gcs };
}

const flow = (): RelayFlow => ({ phase: 0, deadline: 0, who: "proxy", where: "192.0.2.1:1080" });
const machine = (): HandshakeMachine => ({ start: () => new Uint8Array([5, 1, 0]), feed: () => ({ done: true }) });

test("NativeRelay: every proxy connection gets the same handlers object; the flow rides on the socket's data", () => {
  const { relay, connects } = relayWithFakeBun();
  const flows = [flow(), flow(), flow()];
  for (const f of flows) relay.dial(f, "192.0.2.1", 1080, machine());
  expect(connects).toHaveLength(3);
  expect(connects[1]!.socket).toBe(connects[0]!.socket);
  expect(connects[2]!.socket).toBe(connects[0]!.socket);
  expect(connects.map((c) => c.data)).toEqual(flows);
  relay.close();
});

test("NativeRelay: one handlers object per listener, shared by all its connections (each with its own flow)", () => {
  const accepted: RelayFlow[] = [flow(), flow()];
  const { relay, listens } = relayWithFakeBun({ accept: (s) => accepted[s.remotePort - 1] });
  relay.listen("198.18.0.1", 0);
  expect(listens).toHaveLength(1);
  const h = listens[0]!.socket;
  const socks = accepted.map((f, i) => {
    f.us = new FakeSocket(f);
    f.phase = 2; // the proxy stream is open (a flow accepted before that keeps the client's bytes: proxy-early.test.ts)
    const s = new FakeSocket(undefined, Infinity, i + 1);
    h.open!(s);
    return s;
  });
  expect(socks[0]!.data).toBe(accepted[0]);
  expect(socks[1]!.data).toBe(accepted[1]);
  // the client's bytes go to its own flow's proxy socket
  h.data!(socks[1], new Uint8Array([1, 2, 3]));
  expect((accepted[1]!.us as FakeSocket).writes).toEqual([new Uint8Array([1, 2, 3])]);
  expect((accepted[0]!.us as FakeSocket).writes).toEqual([]);
  relay.close();
});

test("NativeRelay: a partial write keeps the rest (the only copy is a view) and pauses the reader until drain", () => {
  const { relay, listens, connects } = relayWithFakeBun({ accept: () => f });
  const f = flow();
  relay.dial(f, "192.0.2.1", 1080, machine());
  const up = connects[0]!.socket;
  relay.listen("198.18.0.1", 0);
  const proxy = new FakeSocket(f);
  up.open!(proxy); // handshake starts
  up.data!(proxy, new Uint8Array([5, 0])); // done: stream open
  const client = new FakeSocket(undefined, 2, 1);
  listens[0]!.socket.open!(client);
  const chunk = new Uint8Array([9, 8, 7, 6, 5]);
  up.data!(proxy, chunk);
  expect(client.writes).toEqual([new Uint8Array([9, 8])]);
  expect(proxy.paused).toBe(true);
  expect(f.qc).toHaveLength(1);
  expect(f.qc![0]!.buffer).toBe(chunk.buffer);
  client.take = Infinity;
  listens[0]!.socket.drain!(client);
  expect(client.writes.at(-1)).toEqual(new Uint8Array([7, 6, 5]));
  expect(f.qc).toBeUndefined();
  expect(proxy.paused).toBe(false);
  relay.close();
});

test("NativeRelay: a client accepted during the handshake: its bytes are kept (paused past 64 KiB), then written first; a partial write pauses it until drain", () => {
  const { relay, listens, connects } = relayWithFakeBun({ accept: () => f });
  const f = flow();
  relay.dial(f, "192.0.2.1", 1080, machine());
  const up = connects[0]!.socket;
  relay.listen("198.18.0.1", 0);
  const proxy = new FakeSocket(f, 3);
  up.open!(proxy); // the greeting goes out; the reply is still to come
  const client = new FakeSocket(undefined, Infinity, 1);
  listens[0]!.socket.open!(client);
  expect(f.cs).toBe(client);
  const down = listens[0]!.socket;
  down.data!(client, new Uint8Array(40 << 10).fill(1));
  expect(client.paused).toBe(false);
  down.data!(client, new Uint8Array(30 << 10).fill(2));
  expect(client.paused).toBe(true); // 70 KiB kept: the rest waits in the kernel
  expect(proxy.writes).toHaveLength(1); // only the greeting so far
  up.data!(proxy, new Uint8Array([5, 0])); // stream open: the kept bytes go first, 3 bytes taken
  expect(f.phase).toBe(3);
  expect(proxy.writes[1]).toEqual(new Uint8Array([1, 1, 1]));
  expect(client.paused).toBe(true); // still, until the proxy socket drains
  proxy.take = Infinity;
  up.drain!(proxy);
  expect(f.qu).toBeUndefined();
  expect(client.paused).toBe(false);
  const sent = proxy.writes.slice(1).reduce((n, w) => n + w.length, 0);
  expect(sent).toBe(70 << 10);
  relay.close();
});

test("NativeRelay: a few bytes kept during the handshake and only partly taken by the proxy socket pause the client until drain", () => {
  const { relay, listens, connects } = relayWithFakeBun({ accept: () => f });
  const f = flow();
  relay.dial(f, "192.0.2.1", 1080, machine());
  relay.listen("198.18.0.1", 0);
  const proxy = new FakeSocket(f, 3);
  connects[0]!.socket.open!(proxy);
  const client = new FakeSocket(undefined, Infinity, 1);
  listens[0]!.socket.open!(client);
  listens[0]!.socket.data!(client, new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
  expect(client.paused).toBe(false);
  connects[0]!.socket.data!(proxy, new Uint8Array([5, 0]));
  expect(proxy.writes[1]).toEqual(new Uint8Array([1, 2, 3]));
  expect(client.paused).toBe(true); // or the client's next bytes would queue without bound
  proxy.take = Infinity;
  connects[0]!.socket.drain!(proxy);
  expect(proxy.writes[2]).toEqual(new Uint8Array([4, 5, 6, 7]));
  expect(client.paused).toBe(false);
  relay.close();
});

/** An open flow (handshake done, client accepted) on a relay with a fake Bun. */
function openFlow(heapAfterGc?: number) {
  const f = flow();
  const r = relayWithFakeBun({ accept: () => f }, heapAfterGc);
  r.relay.dial(f, "192.0.2.1", 1080, machine());
  r.relay.listen("198.18.0.1", 0);
  const proxy = new FakeSocket(f);
  r.connects[0]!.socket.open!(proxy);
  r.connects[0]!.socket.data!(proxy, new Uint8Array([5, 0]));
  const client = new FakeSocket(undefined, Infinity, 1);
  r.listens[0]!.socket.open!(client);
  return { ...r, f, proxy, client, up: r.connects[0]!.socket, down: r.listens[0]!.socket };
}

/** `mib` MiB of small chunks (8 KiB: under RELEASE_MIN, so left to the collector) fed to `h.data`. */
function feedSmall(h: Handlers, sock: FakeSocket, mib: number) {
  const small = new Uint8Array(8 << 10);
  for (let i = 0; i < mib * 128; i++) h.data!(sock, small);
}

test("NativeRelay: one full collection per 4 MiB of chunks left to the collector (both directions count), so they do not pile up", () => {
  const { relay, gcs, up, down, proxy, client } = openFlow();
  feedSmall(up, proxy, 2); // 2 MiB down
  feedSmall(down, client, 1.75); // 1.75 MiB up
  expect(gcs).toEqual([]);
  feedSmall(down, client, 0.25); // 4 MiB in all
  expect(gcs).toEqual([true]);
  relay.close();
});

test("NativeRelay: with a large live heap the collections come a quarter of it apart, not every 4 MiB", () => {
  const { relay, gcs, up, proxy } = openFlow(64 << 20);
  feedSmall(up, proxy, 4);
  expect(gcs).toHaveLength(1); // the first at 4 MiB; the heap says 64 MiB: the next after 16
  feedSmall(up, proxy, 15);
  expect(gcs).toHaveLength(1);
  feedSmall(up, proxy, 1);
  expect(gcs).toHaveLength(2);
  relay.close();
});

test("NativeRelay: a collection is skipped while collections took over a fifth of the process's CPU time, whatever the wall clock did", () => {
  const { relay, gcs, up, proxy } = openFlow();
  // A stand-in CPU clock: every collection costs 10 ms of CPU; the relay's own work between
  // collections is what the test adds to it.
  let cpu = 1000;
  (relay as unknown as { cpu: () => number }).cpu = () => cpu;
  const bun = (relay as unknown as { bun: { gc(f: boolean): number } }).bun;
  const gc = bun.gc.bind(bun);
  bun.gc = (f: boolean) => {
    cpu += 10;
    return gc(f);
  };
  feedSmall(up, proxy, 4);
  expect(gcs).toHaveLength(1);
  cpu += 20; // 20 ms of relaying after a 10 ms collection: a third of the time would be collecting
  feedSmall(up, proxy, 4);
  expect(gcs).toHaveLength(1);
  cpu += 25; // 45 ms since: a collection is now under a fifth
  feedSmall(up, proxy, 4);
  expect(gcs).toHaveLength(2);
  relay.close();
});

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

test("NativeRelay: a chunk written whole is freed at once (its buffer detached) in both directions and waits for no collection", () => {
  const { relay, gcs, up, down, proxy, client } = openFlow();
  const d = pattern(64 << 10, 1);
  const u = pattern(RELEASE_MIN, 2);
  up.data!(proxy, d);
  down.data!(client, u);
  expect(client.writes.at(-1)).toEqual(pattern(64 << 10, 1));
  expect(proxy.writes.at(-1)).toEqual(pattern(RELEASE_MIN, 2));
  expect([d.byteLength, d.buffer.byteLength, u.byteLength]).toEqual([0, 0, 0]);
  // 8 MiB of such chunks: no collection (nothing of theirs is left for it)
  for (let i = 0; i < 128; i++) up.data!(proxy, new Uint8Array(64 << 10));
  expect(gcs).toEqual([]);
  // under RELEASE_MIN: left to the collector (reaching its buffer could allocate one)
  const small = pattern(RELEASE_MIN - 1, 3);
  up.data!(proxy, small);
  expect(small.byteLength).toBe(RELEASE_MIN - 1);
  relay.close();
});

test("NativeRelay: a partly written chunk is kept whole until the drain writes the rest, then freed; bytes arrive in order", () => {
  const { relay, up, down, proxy, client, f } = openFlow();
  client.take = 1000;
  const a = pattern(64 << 10, 4);
  const b = pattern(32 << 10, 5);
  up.data!(proxy, a);
  up.data!(proxy, b); // queued behind a's rest (arrived before the pause took)
  expect(proxy.paused).toBe(true);
  expect([a.byteLength, b.byteLength]).toEqual([64 << 10, 32 << 10]); // not freed while queued
  client.take = 10_000;
  down.drain!(client);
  expect(a.byteLength).toBe(64 << 10); // 11,000 of 65,536 written: still queued
  client.take = Infinity;
  down.drain!(client);
  expect(f.qc).toBeUndefined();
  expect([a.byteLength, b.byteLength]).toEqual([0, 0]);
  expect(proxy.paused).toBe(false);
  const got = Buffer.concat(client.writes.slice(-4));
  expect(got.equals(Buffer.concat([pattern(64 << 10, 4), pattern(32 << 10, 5)]))).toBe(true);
  relay.close();
});

test("NativeRelay: large chunks queued behind a partial write count toward no collection (the flush that writes them frees them); small ones still do", () => {
  const { relay, gcs, up, down, proxy, client, f } = openFlow();
  // a slow client: every 64 KiB chunk from the proxy is written in part and its rest queued,
  // 8 MiB of them, each freed by the drain that writes its rest
  for (let i = 0; i < 128; i++) {
    client.take = 1000;
    const d = pattern(64 << 10, i);
    up.data!(proxy, d);
    expect(f.qc).toHaveLength(1);
    client.take = Infinity;
    down.drain!(client);
    expect(d.byteLength).toBe(0);
  }
  // the same the other way: the proxy socket takes part of each client chunk
  for (let i = 0; i < 128; i++) {
    proxy.take = 1000;
    down.data!(client, pattern(64 << 10, i));
    proxy.take = Infinity;
    up.drain!(proxy);
  }
  expect(gcs).toEqual([]);
  // 4 MiB of small chunks written in part: those wait for the collector, and count
  client.take = 100;
  const small = new Uint8Array(8 << 10);
  for (let i = 0; i < 512; i++) {
    up.data!(proxy, small);
    f.qc = undefined; // (the drain's flush, without the copies)
  }
  expect(gcs).toEqual([true]);
  relay.close();
});

test("NativeRelay: a local flow's bytes (answered in-process) are never freed by the relay, even after a partial write", () => {
  const { relay, listens } = relayWithFakeBun({ accept: () => f });
  const f: RelayFlow = { ...flow(), local: true };
  relay.listen("198.18.0.1", 0);
  const client = new FakeSocket(undefined, 100, 1);
  listens[0]!.socket.open!(client);
  const answer = pattern(64 << 10, 6);
  relay.writeClient(f, answer);
  expect(f.qc).toHaveLength(1);
  client.take = Infinity;
  listens[0]!.socket.drain!(client);
  expect(f.qc).toBeUndefined();
  expect(answer.byteLength).toBe(64 << 10);
  relay.close();
});

test("release: frees a chunk of RELEASE_MIN or more, also through the view of its unwritten tail; leaves a smaller one", () => {
  const big = new Uint8Array(RELEASE_MIN + 100);
  const tail = big.subarray(RELEASE_MIN); // 100 bytes left after a partial write
  expect(release(tail)).toBe(true);
  expect([big.byteLength, tail.byteLength, big.buffer.byteLength]).toEqual([0, 0, 0]);
  const small = new Uint8Array(RELEASE_MIN - 1);
  expect(release(small)).toBe(false);
  expect(small.byteLength).toBe(RELEASE_MIN - 1);
});

test("NativeRelay: a climbing count of open accepted connections gets one full collection per HELD_GC_STEP (1,000); a fall re-arms it; one connection at a time never", () => {
  const { relay, listens, gcs } = relayWithFakeBun({ accept: () => flow() });
  relay.listen("198.18.0.1", 0);
  const h = listens[0]!.socket;
  const open = (n: number) => Array.from({ length: n }, () => {
    const s = new FakeSocket(undefined);
    h.open!(s);
    return s;
  });
  // sequential short connections: open one, close it, 5,000 times
  for (let i = 0; i < 5000; i++) h.close!(open(1)[0]);
  expect(gcs).toEqual([]);
  // a burst of held connections: at 1,000 and 2,000 open
  const held = open(2999);
  expect(gcs).toEqual([true, true]);
  // a connection closed twice (close after terminate) counts once
  h.close!(held[0]);
  h.close!(held[0]);
  // all closed, then a new burst collects again at 1,000
  for (const s of held) h.close!(s);
  const again = open(999);
  expect(gcs).toHaveLength(2);
  open(1);
  expect(gcs).toHaveLength(3);
  for (const s of again) h.close!(s);
  relay.close();
});
