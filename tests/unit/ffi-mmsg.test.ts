// ffi/mmsg.ts's MultiSend on loopback (unit tests run unprivileged, in the runner's namespace:
// 127.0.0.1 only): runs of datagrams as UDP GSO messages the kernel cuts apart, a run the
// kernel refuses as one message going again one datagram at a time, and a socket error stopping
// the send with its errno. Addressed (WireGuard's unconnected sockets, wg/udp.ts's SendBatch):
// each message to its own destination, a refused run split one by one to that destination, a
// refused destination dropping that message only.
import { afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { MultiSend } from "../../ffi/mmsg.ts";
import { ERRNO } from "../../ffi/errors.ts";
import { sys, SOCK } from "../../ffi/libc.ts";

/** sockaddr_in of 127.0.0.1:port (or another IPv4 address). */
function sin(port: number, a = [127, 0, 0, 1]): Uint8Array {
  const sa = new Uint8Array(16);
  sa[0] = SOCK.AF_INET;
  sa[2] = port >> 8;
  sa[3] = port & 0xff;
  sa.set(a, 4);
  return sa;
}

async function sinks(n: number): Promise<{ port: number; got: Buffer[] }[]> {
  const out: { port: number; got: Buffer[] }[] = [];
  for (let i = 0; i < n; i++) {
    const s = dgram.createSocket("udp4");
    const got: Buffer[] = [];
    s.on("message", (m) => got.push(m));
    await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
    cleanup.push(() => s.close());
    out.push({ port: s.address().port, got });
  }
  return out;
}

function unconnected(): number {
  const fd = sys.socket(SOCK.AF_INET, SOCK.SOCK_DGRAM | SOCK.SOCK_NONBLOCK, 0);
  cleanup.push(() => sys.close(fd));
  return fd;
}

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup) c();
  cleanup = [];
});

/** A non-blocking UDP socket connected to 127.0.0.1:port. */
function connected(port: number): number {
  const fd = unconnected();
  sys.connect(fd, sin(port));
  return fd;
}

async function pair(): Promise<{ sink: dgram.Socket; got: Buffer[]; fd: number }> {
  const sink = dgram.createSocket("udp4");
  const got: Buffer[] = [];
  sink.on("message", (m) => got.push(m));
  await new Promise<void>((r) => sink.bind(0, "127.0.0.1", r));
  cleanup.push(() => sink.close());
  return { sink, got, fd: connected(sink.address().port) };
}

const until = async (cond: () => boolean, ms = 3000) => {
  for (const t0 = Date.now(); !cond() && Date.now() - t0 < ms; ) await Bun.sleep(5);
};

describe("MultiSend", () => {
  test("runs of equal datagrams (the last may be shorter) arrive as separate datagrams, in order, each message once", async () => {
    const { got, fd } = await pair();
    const buf = new Uint8Array(new ArrayBuffer(1 << 16));
    // five 100-byte datagrams then a 40-byte one, as one message; then a single 7-byte one
    for (let i = 0; i < 5; i++) buf.fill(65 + i, i * 100, i * 100 + 100);
    buf.fill(90, 500, 540);
    buf.fill(49, 540, 547);
    const m = new MultiSend(buf);
    m.add(0, 540, 100);
    m.add(540, 7, 0);
    expect(m.send(fd)).toBe(7);
    expect(m.error).toBe(0);
    expect(m.stats).toEqual({ calls: 1, messages: 2, gsoMessages: 1, datagrams: 7, gsoFallbacks: 0, waits: 0 });
    await until(() => got.length === 7);
    expect(got.map((g) => `${String.fromCharCode(g[0]!)}${g.length}`)).toEqual(["A100", "B100", "C100", "D100", "E100", "Z40", "17"]);
  });

  test("a run the kernel refuses as one message (more segments than UDP_MAX_SEGMENTS) goes one datagram at a time; GSO stays on", async () => {
    const { got, fd } = await pair();
    const buf = new Uint8Array(new ArrayBuffer(1 << 16));
    for (let i = 0; i < 200; i++) buf[i * 10] = i;
    const m = new MultiSend(buf);
    m.add(0, 2000, 10); // 200 segments: EINVAL
    expect(m.send(fd)).toBe(200);
    expect(MultiSend.gso).toBe(true);
    await until(() => got.length === 200);
    expect(got.map((g) => g[0])).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  test("a connected socket's refusal (the peer's port closed: ECONNREFUSED) stops the send, nothing counted as sent", async () => {
    const sink = dgram.createSocket("udp4");
    await new Promise<void>((r) => sink.bind(0, "127.0.0.1", r));
    const fd = connected(sink.address().port);
    sink.close();
    const buf = new Uint8Array(new ArrayBuffer(1 << 16));
    const m = new MultiSend(buf);
    let refused = 0;
    for (let i = 0; i < 100 && refused === 0; i++) {
      m.add(0, 10, 0);
      m.add(10, 10, 0);
      const sent = m.send(fd);
      if (m.error === ERRNO.ECONNREFUSED) refused = sent + 1;
      await Bun.sleep(10);
    }
    expect(refused).toBe(1);
  });
});

describe("MultiSend, addressed", () => {
  test("each message goes to its own destination, a GSO run included; the stats count them", async () => {
    const [a, b] = await sinks(2);
    const fd = unconnected();
    const buf = new Uint8Array(new ArrayBuffer(1 << 16));
    for (let i = 0; i < 4; i++) buf.fill(65 + i, i * 50, i * 50 + 50);
    buf.fill(120, 200, 210);
    const m = new MultiSend(buf, 8, { addressed: true });
    m.addTo(0, 200, 50, sin(a!.port)); // four 50-byte datagrams to a
    m.addTo(200, 10, 0, sin(b!.port)); // one to b
    expect([m.nameLength(0), m.nameLength(1)]).toEqual([16, 16]);
    expect(m.datagrams(0, 2)).toBe(5);
    expect(m.send(fd)).toBe(5);
    expect(m.error).toBe(0);
    await until(() => a!.got.length === 4 && b!.got.length === 1);
    expect(a!.got.map((g) => `${String.fromCharCode(g[0]!)}${g.length}`)).toEqual(["A50", "B50", "C50", "D50"]);
    expect(b!.got.map((g) => `${String.fromCharCode(g[0]!)}${g.length}`)).toEqual(["x10"]);
    expect(m.stats).toEqual({ calls: 1, messages: 2, gsoMessages: 1, datagrams: 5, gsoFallbacks: 0, waits: 0 });
  });

  test("a run the kernel refuses as one message goes one datagram at a time to the message's destination (an unconnected socket has no other)", async () => {
    const [a] = await sinks(1);
    const fd = unconnected();
    const buf = new Uint8Array(new ArrayBuffer(1 << 16));
    for (let i = 0; i < 200; i++) buf[i * 10] = i;
    const m = new MultiSend(buf, 8, { addressed: true });
    m.addTo(0, 2000, 10, sin(a!.port)); // 200 segments: EINVAL
    expect(m.sendRange(fd, 0, 1)).toBe(200);
    expect(m.error).toBe(0);
    expect(m.stats.gsoFallbacks).toBe(1);
    await until(() => a!.got.length === 200);
    expect(a!.got.map((g) => g[0])).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  test("a destination the kernel refuses drops that message only; the messages after it go (a connected socket's refusal stops the send)", async () => {
    const [a] = await sinks(1);
    const fd = unconnected();
    const buf = new Uint8Array(new ArrayBuffer(1 << 16));
    buf.fill(7, 0, 30);
    const m = new MultiSend(buf, 8, { addressed: true });
    m.addTo(0, 10, 0, sin(a!.port));
    m.addTo(10, 10, 0, sin(a!.port, [255, 255, 255, 255])); // broadcast without SO_BROADCAST: EACCES
    m.addTo(20, 10, 0, sin(a!.port));
    expect(m.send(fd)).toBe(2);
    expect(m.error).toBe(ERRNO.EACCES);
    await until(() => a!.got.length === 2);
    expect(a!.got.length).toBe(2);
  });
});

describe("MultiRecv", () => {
  test("one recvmmsg fills the slots in order: each datagram's bytes, length and sender address", async () => {
    const { MultiRecv } = await import("../../ffi/mmsg.ts");
    const fd = unconnected();
    sys.bind(fd, sin(0));
    const sa = new Uint8Array(16);
    sys.getsockname(fd, sa);
    const port = (sa[2]! << 8) | sa[3]!;
    const tx = dgram.createSocket("udp4");
    await new Promise<void>((r) => tx.bind(0, "127.0.0.1", r));
    cleanup.push(() => tx.close());
    for (const m of ["one", "second", "3rd datagram"]) await new Promise<void>((r, j) => tx.send(m, port, "127.0.0.1", (e) => (e ? j(e) : r())));
    const m = new MultiRecv(4, 2048, 16);
    let n = -1;
    for (let k = 0; k < 100 && n < 0; k++) {
      n = m.recv(fd, SOCK.MSG_DONTWAIT);
      if (n < 0) await Bun.sleep(5);
    }
    expect(n).toBe(3);
    const text = (i: number) => new TextDecoder().decode(m.slot(i).subarray(0, m.length(i)));
    expect([text(0), text(1), text(2)]).toEqual(["one", "second", "3rd datagram"]);
    const from = m.name(1);
    expect([from[0], (from[2]! << 8) | from[3]!, [...from.subarray(4, 8)]]).toEqual([SOCK.AF_INET, tx.address().port, [127, 0, 0, 1]]);
    expect(m.truncated(0)).toBe(false);
    expect(m.slot(3).length).toBe(2048);
  });
});
