import { describe, expect, test } from "bun:test";
import net from "node:net";
import { connectMarked } from "../../ffi/tcp.ts";

describe("connectMarked", () => {
  test("end() half-closes the write side: the server sees the FIN, and its reply after it still arrives", async () => {
    const srv = net.createServer((c) => {
      let got = "";
      c.on("data", (d) => (got += d));
      c.on("end", () => c.end(`after FIN: ${got}`));
    });
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    try {
      const port = (srv.address() as net.AddressInfo).port;
      const conn = await connectMarked("127.0.0.1", port, {}, 5000);
      let out = "";
      const ended = new Promise<void>((resolve, reject) => {
        conn.on("data", (d: Uint8Array) => (out += new TextDecoder().decode(d)));
        conn.on("end", () => resolve());
        conn.on("error", reject);
        setTimeout(() => reject(new Error(`no end within 5 s; got "${out}"`)), 5000);
      });
      conn.write("hello");
      conn.end();
      await ended;
      expect(out).toBe("after FIN: hello");
      conn.destroy();
    } finally {
      srv.close();
    }
  });

  test("destroy() closes without an \"end\" (node:net's order: end only for a peer's FIN)", async () => {
    const srv = net.createServer(() => {});
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    try {
      const conn = await connectMarked("127.0.0.1", (srv.address() as net.AddressInfo).port, {}, 5000);
      const events: string[] = [];
      const closed = new Promise<void>((r) => conn.on("close", () => r()));
      conn.on("end", () => events.push("end"));
      conn.destroy();
      await closed;
      expect(events).toEqual([]);
    } finally {
      srv.close();
    }
  });
});
