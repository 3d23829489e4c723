// TcpDiag.sending (ffi/sock-diag.ts): a socket closed with bytes and its FIN stuck behind a
// peer that does not read (zero window) is an orphan the kernel keeps sending on: FIN-WAIT-1
// when we closed first, LAST-ACK after the peer's FIN. Loopback only.
import { describe, expect, test } from "bun:test";
import { TcpDiag } from "../../ffi/sock-diag.ts";
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
