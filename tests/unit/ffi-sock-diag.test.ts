// TcpDiag.states / sending (ffi/sock-diag.ts): exact lookups in batches; a socket closed with bytes and its FIN stuck behind a
// peer that does not read (zero window) is an orphan the kernel keeps sending on: FIN-WAIT-1
// when we closed first, LAST-ACK after the peer's FIN. Loopback only.
import { describe, expect, test } from "bun:test";
import { DIAG_BATCH, TCP_STATE, TcpDiag } from "../../ffi/sock-diag.ts";
import { acceptTcp, listenTcp, rawSplice, SHUT, type Peer } from "../../ffi/splice.ts";
import { startConnect } from "../../ffi/tcp.ts";
import { errno, ERRNO, raw } from "../../ffi/libc.ts";

/** A loopback connection on raw non-blocking fds: [server side, client side, server port, client port]. */
async function pair(): Promise<{ s: number; c: number; port: number; cport: number; stop(): void }> {
  const l = listenTcp("127.0.0.1", 0);
  const c = startConnect("127.0.0.1", l.port, {}).fd;
  const peer: Peer = { address: "", port: 0 };
  let s = -1;
  for (let i = 0; i < 200 && s < 0; i++) {
    s = acceptTcp(l.fd, peer);
    if (s < 0) await Bun.sleep(5);
  }
  expect(s).toBeGreaterThan(0);
  return { s, c, port: l.port, cport: peer.port, stop: () => raw.close(l.fd) };
}

/** Writes to `fd` until the kernel takes no more (the peer does not read): the bytes written. */
function fill(fd: number): number {
  const b = new Uint8Array(64 << 10);
  let total = 0;
  for (;;) {
    const n = raw.write(fd, b, b.length);
    if (n < 0) {
      expect(errno()).toBe(ERRNO.EAGAIN);
      return total;
    }
    total += n;
  }
}

/** Reads `fd` to EOF (bounded): the bytes read. */
async function drain(fd: number): Promise<number> {
  const b = new Uint8Array(64 << 10);
  let total = 0;
  for (let i = 0; i < 2000; i++) {
    const n = raw.read(fd, b, b.length);
    if (n === 0) return total;
    if (n > 0) total += n;
    else await Bun.sleep(2);
  }
  throw new Error(`no EOF after ${total} bytes`);
}

const LO = new Uint8Array([127, 0, 0, 1]);
/** Whether the server side (port) of the connection with client port `cport` is still sending. */
function sending(port: number, cport: number): boolean | undefined {
  const d = TcpDiag.open()!;
  try {
    return d.sending(4, LO, port, LO, cport);
  } finally {
    d.close();
  }
}

async function gone(port: number, cport: number): Promise<boolean> {
  for (let i = 0; i < 200; i++) {
    if (sending(port, cport) === false) return true;
    await Bun.sleep(10);
  }
  return false;
}

describe("TcpDiag.sending", () => {
  test("a socket closed first with unread bytes queued (FIN-WAIT-1) is listed until the peer read them all", async () => {
    const p = await pair();
    try {
      expect(sending(p.port, p.cport)).toBe(false); // open (ESTABLISHED): not sending after a close
      const sent = fill(p.s);
      raw.close(p.s);
      expect(sending(p.port, p.cport)).toBe(true);
      expect(sending(p.port + 1, p.cport)).toBe(false); // no such connection
      expect(sending(p.cport, p.port)).toBe(false); // the client's side: open, not sending
      expect(await drain(p.c)).toBe(sent);
      expect(await gone(p.port, p.cport)).toBe(true);
    } finally {
      raw.close(p.c);
      p.stop();
    }
  });

  test("after the peer's FIN, a socket closed with its answer unread (LAST-ACK) is listed until it is acknowledged", async () => {
    const p = await pair();
    try {
      rawSplice().shutdown(p.c, SHUT.WR);
      const b = new Uint8Array(16);
      let eof = false;
      for (let i = 0; i < 200 && !eof; i++) {
        eof = raw.read(p.s, b, b.length) === 0;
        if (!eof) await Bun.sleep(5);
      }
      expect(eof).toBe(true);
      const sent = fill(p.s);
      raw.close(p.s);
      expect(sending(p.port, p.cport)).toBe(true);
      expect(await drain(p.c)).toBe(sent);
      expect(await gone(p.port, p.cport)).toBe(true);
    } finally {
      raw.close(p.c);
      p.stop();
    }
  });
});

describe("TcpDiag.states", () => {
  test("many lookups in batches: each connection's state, 0 for none (also where only the listener answers), two calls per batch", async () => {
    const a = await pair();
    const b = await pair();
    const d = TcpDiag.open()!;
    try {
      raw.close(b.s); // b's server side closed first with nothing queued: FIN-WAIT-2 once the client acknowledged the FIN
      const n = 2 * DIAG_BATCH + 7;
      const lports = new Array<number>(n).fill(a.port);
      const rports = Array.from({ length: n }, (_, i) => (a.cport + 1 + i) & 0xffff || 1);
      lports[0] = a.port;
      rports[0] = a.cport; // established
      lports[DIAG_BATCH] = a.cport;
      rports[DIAG_BATCH] = a.port; // the client's side of it, in the second batch
      lports[n - 1] = b.port;
      rports[n - 1] = b.cport; // in the last, short batch
      lports[5] = 1;
      rports[5] = 2; // no listener on port 1 either (ENOENT)
      let out = new Int8Array(n);
      for (let i = 0; i < 100; i++) {
        d.states(4, LO, LO, lports, rports, n, out);
        if (out[n - 1] === TCP_STATE.FIN_WAIT2) break;
        await Bun.sleep(5);
      }
      expect(out[0]).toBe(TCP_STATE.ESTABLISHED);
      expect(out[DIAG_BATCH]).toBe(TCP_STATE.ESTABLISHED);
      expect(out[n - 1]).toBe(TCP_STATE.FIN_WAIT2);
      expect(out[5]).toBe(0);
      // every other port is a connection to a's listener that does not exist: the lookup finds the listener, read as none
      const others = [...out].filter((_, i) => i !== 0 && i !== DIAG_BATCH && i !== n - 1);
      expect(others.every((s) => s === 0)).toBe(true);
      const before = d.calls;
      out = new Int8Array(n);
      d.states(4, LO, LO, lports, rports, n, out);
      expect(d.calls - before).toBe(2 * 3); // three batches, one sendto and one recvmmsg each
      expect(out[0]).toBe(TCP_STATE.ESTABLISHED);
    } finally {
      d.close();
      for (const p of [a, b]) {
        raw.close(p.c);
        p.stop();
      }
      raw.close(a.s);
    }
  });
});
