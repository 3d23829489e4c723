// The netlink socket starts with a few receive slots (a one-shot command reads one ACK) and
// switches to the full set the first time a receive fills them all. Read-only queries (RTM_GETLINK
// of lo) on a socket of the test's own: nothing on the system changes.
import { expect, test } from "bun:test";
import { NetlinkConn, SocketTransport } from "../../netlink/conn.ts";
import { linkIndex } from "../../netlink/ifindex.ts";

test("a new socket has 4 receive slots; 40 answers queued at once fill them and the next receives use 64, every answer read", async () => {
  const conn = NetlinkConn.open();
  try {
    const t = (conn as unknown as { transport: SocketTransport }).transport;
    expect(t).toBeInstanceOf(SocketTransport);
    expect(t.slotBytes.length).toBe(4 * 65536);
    expect(await linkIndex(conn, "lo")).toBe(1);
    expect(t.slotBytes.length).toBe(4 * 65536);
    // 40 RTM_GETLINK requests for ifindex 1 sent before reading: 40 answers wait in the socket.
    const req = new Uint8Array(32);
    const v = new DataView(req.buffer);
    v.setUint32(0, 32, true); // nlmsg_len
    v.setUint16(4, 18, true); // RTM_GETLINK
    v.setUint16(6, 1, true); // NLM_F_REQUEST
    v.setInt32(16 + 4, 1, true); // ifi_index = 1 (lo)
    for (let i = 0; i < 40; i++) {
      v.setUint32(8, 1_000_000 + i, true); // seq
      t.send(req);
    }
    const seqs: number[] = [];
    const deadline = Date.now() + 10_000;
    while (seqs.length < 40 && Date.now() < deadline) {
      const o = t.recvSlot();
      if (o < 0) {
        await t.wait();
        continue;
      }
      expect(t.slotsView.getUint16(o + 4, true)).toBe(16); // RTM_NEWLINK
      seqs.push(t.slotsView.getUint32(o + 8, true) - 1_000_000);
    }
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(t.slotBytes.length).toBe(64 * 65536);
    expect(t.slotsView.byteLength).toBe(64 * 65536);
    expect(await linkIndex(conn, "lo")).toBe(1);
  } finally {
    conn.close();
  }
});
