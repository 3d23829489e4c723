// netlink/conn.ts's wait on a real NETLINK_ROUTE socket (unprivileged: a dump of links in the
// runner's namespace). Under Bun it takes the signal-driven socket poller (ffi/sigpoll.ts: the
// socket raises SIGURG), neither the epoll helper thread (a Worker, a second JavaScript VM: a
// tunnel daemon's rule monitor started one during start-up, ~2.7 MB of its peak) nor the tun's
// SIGIO (whose listener then visited the monitor's watch at each tun signal: +1 system call per
// UDP round trip). A pending wait still keeps the process alive, as the helper thread's did.
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { sys } from "../../ffi/libc.ts";
import { SocketTransport } from "../../netlink/conn.ts";

const F_GETSIG = 11;
const SIGURG = 23;
const F_GETFL = 3;
const O_ASYNC = 0o20000;

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

/** RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq `seq`, then an empty struct ifinfomsg. */
function linkDump(seq: number): Uint8Array {
  const req = new Uint8Array(32);
  const v = new DataView(req.buffer);
  v.setUint32(0, 32, true);
  v.setUint16(4, 18, true);
  v.setUint16(6, 0x301, true);
  v.setUint32(8, seq, true);
  return req;
}

function drain(t: SocketTransport): number {
  let n = 0;
  while (t.recv()) n++;
  return n;
}

describe("SocketTransport.wait", () => {
  test("resolves when the kernel answers, on SIGURG (not the tun's SIGIO), with no helper thread", async () => {
    const before = workerThreads();
    const t = new SocketTransport();
    try {
      expect(t.recv()).toBeNull();
      // Twice: the first wait makes the watch, the second re-arms it (the monitor's steady state).
      for (const seq of [1, 2]) {
        const waited = t.wait();
        t.send(linkDump(seq));
        const ok = await Promise.race([waited.then(() => true), Bun.sleep(3000).then(() => false)]);
        expect(ok).toBe(true);
        expect(drain(t)).toBeGreaterThan(0);
      }
      expect(sys.fcntl(t.fd, F_GETSIG) === SIGURG && (sys.fcntl(t.fd, F_GETFL) & O_ASYNC) !== 0).toBe(true);
      expect(workerThreads()).toBe(before);
    } finally {
      t.close();
    }
  });

  test("a pending wait keeps the process alive; a resolved one does not", () => {
    const conn = resolve(import.meta.dir, "../../netlink/conn.ts");
    // The child waits on a socket nothing will answer: it must still be there after 600 ms.
    const pending = spawnSync(process.execPath, ["-e", `import { SocketTransport } from ${JSON.stringify(conn)}; void new SocketTransport().wait();`], { timeout: 600 });
    expect(pending.signal).toBe("SIGTERM");
    // Its wait answered and the socket closed: it ends by itself.
    const answered = spawnSync(
      process.execPath,
      ["-e", `import { SocketTransport } from ${JSON.stringify(conn)}; const t = new SocketTransport(); const w = t.wait(); const r = new Uint8Array(32); const v = new DataView(r.buffer); v.setUint32(0, 32, true); v.setUint16(4, 18, true); v.setUint16(6, 0x301, true); v.setUint32(8, 1, true); t.send(r); await w; t.close(); console.log("answered");`],
      { timeout: 5000, encoding: "utf8" },
    );
    expect(answered.stdout.trim()).toBe("answered");
    expect(answered.status).toBe(0);
  });
});
