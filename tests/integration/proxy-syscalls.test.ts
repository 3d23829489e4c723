// tunkit socks: system calls per connection that the daemon can do without. strace -c on the
// running daemon over a row of short connections (curl through microsocks): an accepted
// connection's peer is read with one getpeername on Bun's relay (its socket made one per
// property, remotePort and remoteAddress: two per connection), none on the splice relay
// (accept4 fills it).
import { describe, expect } from "bun:test";
import { needing } from "./_ns.ts";
import { microsocksTopology } from "../fixtures/proxy/hooks.ts";
import { curl, Proc, sh, SERVER_V4 } from "../fixtures/proxy/topology.ts";

const { ptest, ready } = needing("proxy-syscalls", ["microsocks", "curl", "unshare", "strace"]);

const t = microsocksTopology("sysc", ready);
const N = 20;


/** Calls of `name` in strace -c's table (0 when absent). */
function calls(table: string, name: string): number {
  const m = new RegExp(`^\\s*[\\d.]+\\s+[\\d.]+\\s+\\d+\\s+(\\d+)(?:\\s+\\d+)?\\s+${name}$`, "m").exec(table);
  return m ? Number(m[1]) : 0;
}

describe("system calls per connection", () => {
  for (const [relay, perConnection] of [["bun", 1], ["splice", 0]] as const) {
    ptest(`${relay} relay: ${perConnection} getpeername per accepted connection (${N} connections)`, async () => {
      const p = await t.tunkit(["socks", "tk0", "--proxy", "socks5://192.0.2.2:1080", "--address", "198.18.0.1/30", "--relay", relay]);
      sh("ip", "route", "add", "198.51.100.0/24", "dev", "tk0");
      try {
        const st = new Proc(["strace", "-f", "-c", "-e", "trace=getpeername,accept4", "-p", String(p.child.pid)]);
        await st.waitFor(/^strace: Process \d+ attached/m, 10_000, "err");
        for (let i = 0; i < N; i++) {
          const r = await curl([`http://${SERVER_V4}/small`], 20);
          expect(r.out).toBe("ok\n");
        }
        st.kill("SIGINT");
        await st.exited;
        // every connection was accepted while strace watched (accept4 succeeded N times at least);
        // strace's own output goes to stderr when it did not see them (a rare failure, cause unknown)
        if (calls(st.err, "accept4") < N) console.error(`strace -c saw fewer than ${N} accept4:\n${st.err}`);
        expect(calls(st.err, "accept4")).toBeGreaterThanOrEqual(N);
        expect(calls(st.err, "getpeername")).toBe(perConnection * N);
      } finally {
        p.kill("SIGTERM");
        expect(await p.exited).toBe(0);
      }
    }, 60_000);
  }
});
