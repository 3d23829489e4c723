// The connection logic against a fake kernel (a function from request bytes to reply bytes).
import { describe, expect, test } from "bun:test";
import { SysError } from "../../ffi/errors.ts";
import { DUMP_TURN_MS, fakeConn, fakeTransport, type Transport } from "../../netlink/conn.ts";
import { AttributeEncoder } from "../../netlink/core/attribute.ts";
import { beginMessage, endMessage, NLM_F, NLMSG, parseMessages } from "../../netlink/core/message.ts";
import { ByteWriter } from "../../netlink/core/writer.ts";
import { DumpInterruptedError, NetlinkError, NetlinkProtocolError } from "../../netlink/errors.ts";
import { RTM } from "../../netlink/route/constants.ts";
import { decodeRoute, encodeRoute, type Route } from "../../netlink/route/route.ts";
import { encodeLink } from "../../netlink/route/link.ts";
import { monitor, Rtnl } from "../../netlink/rtnl.ts";

function msg(w: ByteWriter, type: number, flags: number, seq: number, body: (w: ByteWriter) => void): void {
  const at = beginMessage(w, type, flags, seq, 0);
  body(w);
  endMessage(w, at);
}

function ack(w: ByteWriter, seq: number, errno = 0, extack?: string): void {
  msg(w, NLMSG.ERROR, NLM_F.CAPPED | (extack ? NLM_F.ACK_TLVS : 0), seq, (w) => {
    w.i32(-errno);
    w.zero(16);
    if (extack) new AttributeEncoder(w).string(1, extack);
  });
}

const route = (i: number): Partial<Route> => ({ family: 2, dstLen: 32, table: 254, protocol: 3, scope: 253, type: 1, dst: `198.51.100.${i}`, oif: 2 });

describe("requests", () => {
  test("exec resolves on an ack and sends REQUEST|ACK|flags", async () => {
    let sentFlags = 0;
    const nl = new Rtnl(fakeConn((req) => {
      const [m] = parseMessages(req);
      sentFlags = m!.flags;
      const w = new ByteWriter();
      ack(w, m!.seq);
      return w.finish().slice();
    }));
    await nl.addRoute({ dst: "198.51.100.0/24", dev: 2 });
    expect(sentFlags).toBe(NLM_F.REQUEST | NLM_F.ACK | NLM_F.CREATE | NLM_F.EXCL);
  });
  test("a negative ack becomes a NetlinkError with the kernel's extended-ACK text", async () => {
    const nl = new Rtnl(fakeConn((req) => {
      const w = new ByteWriter();
      ack(w, parseMessages(req)[0]!.seq, 101, "Nexthop has invalid gateway");
      return w.finish().slice();
    }));
    const e = await nl.addRoute({ dst: "10.0.0.0/8", gateway: "198.18.0.1" }).catch((e) => e);
    expect(e).toBeInstanceOf(NetlinkError);
    expect(e.code).toBe("ENETUNREACH");
    expect(e.extackMessage).toBe("Nexthop has invalid gateway");
    expect(e.op).toBe("add route");
  });
  test("a reply with the wrong sequence number is a protocol error", async () => {
    const nl = new Rtnl(fakeConn((req) => {
      const w = new ByteWriter();
      ack(w, parseMessages(req)[0]!.seq + 5);
      return w.finish().slice();
    }));
    await expect(nl.deleteRoute({ dst: "198.51.100.0/24" })).rejects.toBeInstanceOf(NetlinkProtocolError);
  });
});

describe("dumps", () => {
  function dumper(n: number, perDatagram: number, intrAt = -1) {
    return fakeConn((req) => {
      const seq = parseMessages(req)[0]!.seq;
      const out: Uint8Array[] = [];
      let w = new ByteWriter();
      for (let i = 0; i < n; i++) {
        msg(w, RTM.NEWROUTE, NLM_F.MULTI | (i === intrAt ? NLM_F.DUMP_INTR : 0), seq, (w) => encodeRoute(w, route(i)));
        if ((i + 1) % perDatagram === 0) {
          out.push(w.finish().slice());
          w = new ByteWriter();
        }
      }
      msg(w, NLMSG.DONE, NLM_F.MULTI, seq, (w) => w.i32(0));
      out.push(w.finish().slice());
      return out;
    });
  }
  test("multipart answers across datagrams are assembled in order", async () => {
    const routes = await new Rtnl(dumper(250, 7)).listRoutes();
    expect(routes.length).toBe(250);
    expect(routes[249]!.dst).toBe("198.51.100.249");
  });
  test("NLM_F_DUMP_INTR is a DumpInterruptedError carrying the partial result", async () => {
    const e = await new Rtnl(dumper(20, 3, 5)).listRoutes().catch((e) => e);
    expect(e).toBeInstanceOf(DumpInterruptedError);
    expect(e.partial.length).toBe(20);
  });
  test("a long dump gives the event loop turns: a timer due during it runs before it ends", async () => {
    // The kernel refills the socket inside every receive, so a dump never waits; without turns a
    // million routes held the loop for seconds (and the CLI's JIT timer never fired: issue 11).
    // Each datagram here takes longer than a turn (wall clock), so the dump yields at every one;
    // a turn may run its immediate before the due timers, the next one runs them.
    const conn = dumper(40, 4);
    let fired = false;
    const timer = setTimeout(() => (fired = true), 1);
    const seen: boolean[] = [];
    const got = await conn.dump(RTM.GETROUTE, (w) => encodeRoute(w, { family: 2 }), (m) => {
      if (seen.length % 4 === 0) {
        const until = performance.now() + DUMP_TURN_MS + 1;
        while (performance.now() < until);
      }
      seen.push(fired);
      return decodeRoute(m.body);
    }, "list routes");
    clearTimeout(timer);
    expect(got.length).toBe(40);
    expect(seen[0]).toBe(false);
    expect(seen[seen.length - 1]).toBe(true);
  });
  test("an error in NLMSG_DONE fails the dump", async () => {
    const conn = fakeConn((req) => {
      const w = new ByteWriter();
      msg(w, NLMSG.DONE, NLM_F.MULTI, parseMessages(req)[0]!.seq, (w) => w.i32(-95));
      return w.finish().slice();
    });
    await expect(new Rtnl(conn).listRules()).rejects.toMatchObject({ code: "EOPNOTSUPP" });
  });
});

describe("batch", () => {
  test("many requests per send, one result per item in order, errors only where the kernel said", async () => {
    let sends = 0;
    const conn = fakeConn((req) => {
      sends++;
      const w = new ByteWriter();
      for (const m of parseMessages(req)) {
        expect(m.flags & NLM_F.ACK).toBe(NLM_F.ACK);
        const r = decodeRoute(m.body);
        ack(w, m.seq, r.dst === "198.51.100.50" ? 17 : 0);
      }
      return w.finish().slice();
    });
    const nl = new Rtnl(conn);
    const items = await Promise.all(Array.from({ length: 3000 }, (_, i) => nl.routeItem({ dst: `198.51.100.${i % 256}`, dev: 2, table: 100 + (i >> 8) })));
    const res = await nl.batch(items);
    expect(res.length).toBe(3000);
    expect(sends).toBeGreaterThan(1);
    expect(sends).toBeLessThan(3000 / 100);
    const failed = res.flatMap((r, i) => (r.ok ? [] : [i]));
    expect(failed).toEqual(Array.from({ length: 12 }, (_, k) => 50 + 256 * k).filter((i) => i < 3000));
    const bad = res[50]!;
    expect(!bad.ok && bad.error.code).toBe("EEXIST");
    expect(!bad.ok && bad.error.subject).toContain("198.51.100.50");
  });
});

describe("batch with stopOnError", () => {
  test("no datagram is sent after one with a failure; results cover what was sent", async () => {
    const sent: number[] = [];
    const conn = fakeConn((req) => {
      const w = new ByteWriter();
      const ms = parseMessages(req);
      sent.push(ms.length);
      for (const m of ms) ack(w, m.seq, decodeRoute(m.body).dst === "198.51.100.7" ? 17 : 0);
      return w.finish().slice();
    });
    const nl = new Rtnl(conn);
    const items = await Promise.all(Array.from({ length: 40 }, (_, i) => nl.routeItem({ dst: `198.51.100.${i}`, dev: 2 })));
    // Small datagrams: about 10 requests each.
    const res = await nl.batch(items, { stopOnError: true, chunkBytes: 600 });
    expect(sent.length).toBe(1); // the failure is in the first datagram
    expect(res.length).toBe(sent[0]!);
    expect(res.flatMap((r, i) => (r.ok ? [] : [i]))).toEqual([7]);
    const all = await nl.batch(items, { chunkBytes: 600 });
    expect(all.length).toBe(40);
  });
});

describe("monitor", () => {
  test("decodes events and turns ENOBUFS into an overrun event", async () => {
    const script: Array<Uint8Array | "enobufs"> = [];
    const w = new ByteWriter();
    msg(w, RTM.NEWLINK, 0, 0, (w) => encodeLink(w, { family: 0, type: 1, ifindex: 5, flags: 1, change: 0, name: "tk0" }));
    msg(w, RTM.DELROUTE, 0, 0, (w) => encodeRoute(w, route(7)));
    script.push(w.finish().slice(), "enobufs");
    const t: Transport = {
      pid: 1,
      send() {},
      recv() {
        const s = script.shift();
        if (s === undefined) return null;
        if (s === "enobufs") throw new SysError("recvfrom", 105);
        return s;
      },
      wait: () => new Promise(() => {}),
      close() {},
    };
    const it = monitor({ transport: t });
    const a = await it.next();
    const b = await it.next();
    const c = await it.next();
    expect(a.value).toMatchObject({ kind: "link", action: "new", value: { name: "tk0" } });
    expect(b.value).toMatchObject({ kind: "route", action: "del", value: { dst: "198.51.100.7" } });
    expect(c.value).toEqual({ kind: "overrun" });
    expect((await it.return!()).done).toBe(true);
  });
  test("a fake transport whose function returns nothing fails instead of hanging", async () => {
    const nl = new Rtnl(fakeConn(() => undefined));
    await expect(nl.listLinks()).rejects.toThrow("no reply queued");
    void fakeTransport;
  });
});
