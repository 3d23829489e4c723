// netlink/dump.ts's address dump narrowed to a set of devices (what `tunkit list` asks for, issue
// 11's start-up): a message of a device outside the set is dropped on its header's index, before
// it is decoded; the request is the same every-device dump.
import { describe, expect, test } from "bun:test";
import { dumpAddresses } from "../../netlink/dump.ts";
import type { NetlinkConn } from "../../netlink/conn.ts";
import type { NetlinkMessage } from "../../netlink/core/message.ts";
import { ByteWriter } from "../../netlink/core/writer.ts";
import { encodeAddress } from "../../netlink/route/addr.ts";
import { RTM } from "../../netlink/route/constants.ts";

function msg(body: Uint8Array, type: number = RTM.NEWADDR): NetlinkMessage {
  return { len: 16 + body.length, type, flags: 2, seq: 1, pid: 0, body } as NetlinkMessage;
}

function address(ifindex: number, local: string, prefixLen = 24): Uint8Array {
  const w = new ByteWriter();
  encodeAddress(w, { family: local.includes(":") ? 10 : 2, prefixLen, ifindex, local, address: local });
  return w.finish().slice();
}

/** An ifaddrmsg of device `ifindex` whose one attribute claims more bytes than there are: its decoding throws. */
function broken(ifindex: number): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = 2;
  b[1] = 24;
  new DataView(b.buffer).setUint32(4, ifindex, true);
  new DataView(b.buffer).setUint16(8, 200, true); // rta_len 200 in a 16-byte message
  new DataView(b.buffer).setUint16(10, 2, true); // IFA_LOCAL
  return b;
}

/** A connection that answers a dump with `messages` and records the request's body. */
function fakeConn(messages: NetlinkMessage[]): { conn: NetlinkConn; requests: Uint8Array[] } {
  const requests: Uint8Array[] = [];
  const conn = {
    async dump<T>(type: number, body: (w: ByteWriter) => void, decode: (m: NetlinkMessage) => T | undefined): Promise<T[]> {
      expect(type).toBe(RTM.GETADDR);
      const w = new ByteWriter();
      body(w);
      requests.push(w.finish().slice());
      const out: T[] = [];
      for (const m of messages) {
        const v = decode(m);
        if (v !== undefined) out.push(v);
      }
      return out;
    },
  } as unknown as NetlinkConn;
  return { conn, requests };
}

describe("dumpAddresses with a set of devices", () => {
  const messages = [msg(address(1, "127.0.0.1", 8)), msg(address(3, "192.0.2.1")), msg(broken(7)), msg(address(4, "2001:db8::1", 64)), msg(address(3, "198.51.100.1")), msg(new Uint8Array(20), RTM.NEWLINK)];

  test("keeps the set's devices' addresses, in the kernel's order, and decodes no other device's", async () => {
    const { conn } = fakeConn(messages);
    const got = await dumpAddresses(conn, 0, new Set([3, 4]));
    expect(got.map((a) => [a.ifindex, a.local])).toEqual([[3, "192.0.2.1"], [4, "2001:db8::1"], [3, "198.51.100.1"]]);
  });

  test("the same every-device request as an unnarrowed dump", async () => {
    const a = fakeConn([]);
    const b = fakeConn([]);
    await dumpAddresses(a.conn, 0, new Set([3]));
    await dumpAddresses(b.conn, 0, 0);
    expect(a.requests).toEqual(b.requests);
  });

  test("without the set every message is decoded: device 7's throws", async () => {
    const { conn } = fakeConn(messages);
    await expect(dumpAddresses(conn)).rejects.toThrow();
    await expect(dumpAddresses(conn, 0, new Set([7]))).rejects.toThrow();
    expect((await dumpAddresses(conn, 0, new Set([1]))).map((a) => a.local)).toEqual(["127.0.0.1"]);
  });

  test("a message too short for its header is dropped, not read past its end", async () => {
    const { conn } = fakeConn([msg(new Uint8Array(6)), msg(address(3, "192.0.2.1"))]);
    expect((await dumpAddresses(conn, 0, new Set([0, 3]))).map((a) => a.local)).toEqual(["192.0.2.1"]);
  });
});
