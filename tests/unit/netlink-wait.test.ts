// netlink/conn.ts's wait on a real NETLINK_ROUTE socket (unprivileged: a dump of links in the
// runner's namespace): it resolves once the kernel's answer makes the socket readable, and under
// Bun it takes the signal-driven wake-up (ffi/poller.ts watchReadable), not the epoll helper
// thread: that thread is a Worker, a second JavaScript VM, and a daemon's first netlink wait
// started one (a tun2socks daemon's start-up peak 40.3 -> 37.6 MB without it, bench/proxy-memory.ts).
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { SocketTransport } from "../../netlink/conn.ts";

/** Threads of this process named "Worker" (Bun's name for a Worker's thread). */
function workerThreads(): number {
  let n = 0;
  for (const t of readdirSync("/proc/self/task")) {
    try {
      if (readFileSync(`/proc/self/task/${t}/comm`, "utf8").trim() === "Worker") n++;
    } catch {
      /* exited */
    }
  }
  return n;
}

describe("SocketTransport.wait", () => {
  test("resolves when the kernel answers, with no helper thread started", async () => {
    const before = workerThreads();
    const t = new SocketTransport();
    try {
      expect(t.recv()).toBeNull();
      const waited = t.wait();
      // RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq 1, then an empty struct ifinfomsg
      const req = new Uint8Array(32);
      const v = new DataView(req.buffer);
      v.setUint32(0, 32, true);
      v.setUint16(4, 18, true);
      v.setUint16(6, 0x301, true);
      v.setUint32(8, 1, true);
      t.send(req);
      const ok = await Promise.race([waited.then(() => true), Bun.sleep(3000).then(() => false)]);
      expect(ok).toBe(true);
      expect(t.recv()).not.toBeNull();
      expect(workerThreads()).toBe(before);
    } finally {
      t.close();
    }
  });
});
