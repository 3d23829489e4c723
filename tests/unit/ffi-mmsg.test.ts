// ffi/mmsg.ts's MultiSend on loopback (unit tests run unprivileged, in the runner's namespace:
// 127.0.0.1 only): runs of datagrams as UDP GSO messages the kernel cuts apart, a run the
// kernel refuses as one message going again one datagram at a time, and a socket error stopping
// the send with its errno.
import { afterEach, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import { MultiSend } from "../../ffi/mmsg.ts";
import { connectUdp, type ConnectedUdp } from "../../ffi/udp-socket.ts";
import { ERRNO } from "../../ffi/errors.ts";

let cleanup: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanup) c();
  cleanup = [];
});

async function pair(): Promise<{ sink: dgram.Socket; got: Buffer[]; sock: ConnectedUdp }> {
  const sink = dgram.createSocket("udp4");
  const got: Buffer[] = [];
  sink.on("message", (m) => got.push(m));
  await new Promise<void>((r) => sink.bind(0, "127.0.0.1", r));
  const sock = await connectUdp("127.0.0.1", sink.address().port, { data: () => {}, error: () => {} });
  cleanup.push(() => (sock.close(), sink.close()));
  return { sink, got, sock };
}

const until = async (cond: () => boolean, ms = 3000) => {
  for (const t0 = Date.now(); !cond() && Date.now() - t0 < ms; ) await Bun.sleep(5);
};

describe("MultiSend", () => {
  test("connectUdp finds Bun's socket fd; runs of equal datagrams (the last may be shorter) arrive as separate datagrams, in order, each message once", async () => {
    const { got, sock } = await pair();
    expect(sock.fd).toBeGreaterThanOrEqual(0);
    const buf = new Uint8Array(new ArrayBuffer(1 << 16));
    // five 100-byte datagrams then a 40-byte one, as one message; then a single 7-byte one
    for (let i = 0; i < 5; i++) buf.fill(65 + i, i * 100, i * 100 + 100);
    buf.fill(90, 500, 540);
    buf.fill(49, 540, 547);
    const m = new MultiSend(buf);
    m.add(0, 540, 100);
    m.add(540, 7, 0);
    expect(m.send(sock.fd)).toBe(7);
    expect(m.error).toBe(0);
    expect(m.stats).toEqual({ calls: 1, messages: 2, gsoMessages: 1, datagrams: 7 });
    await until(() => got.length === 7);
    expect(got.map((g) => `${String.fromCharCode(g[0]!)}${g.length}`)).toEqual(["A100", "B100", "C100", "D100", "E100", "Z40", "17"]);
    sock.close();
    expect(sock.fd).toBe(-1);
  });

  test("a run the kernel refuses as one message (more segments than UDP_MAX_SEGMENTS) goes one datagram at a time; GSO stays on", async () => {
    const { got, sock } = await pair();
    const buf = new Uint8Array(new ArrayBuffer(1 << 16));
    for (let i = 0; i < 200; i++) buf[i * 10] = i;
    const m = new MultiSend(buf);
    m.add(0, 2000, 10); // 200 segments: EINVAL
    expect(m.send(sock.fd)).toBe(200);
    expect(MultiSend.gso).toBe(true);
    await until(() => got.length === 200);
    expect(got.map((g) => g[0])).toEqual(Array.from({ length: 200 }, (_, i) => i));
  });

  test("the peer's closed port is still seen when datagrams go through the fd: Bun's error handler gets it, or a send takes it (ECONNREFUSED, nothing counted as sent)", async () => {
    const sink = dgram.createSocket("udp4");
    await new Promise<void>((r) => sink.bind(0, "127.0.0.1", r));
    const errors: Error[] = [];
    const sock = await connectUdp("127.0.0.1", sink.address().port, { data: () => {}, error: (e) => errors.push(e) });
    cleanup.push(() => sock.close());
    sink.close();
    const buf = new Uint8Array(new ArrayBuffer(1 << 16));
    const m = new MultiSend(buf);
    let refused = 0;
    for (let i = 0; i < 100 && errors.length === 0 && refused === 0; i++) {
      m.add(0, 10, 0);
      const sent = m.send(sock.fd);
      if (m.error === ERRNO.ECONNREFUSED) refused = sent + 1;
      await Bun.sleep(10);
    }
    expect(errors.length > 0 || refused === 1).toBe(true);
  });
});
