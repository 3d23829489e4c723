// tunkit socks: system calls per connection that the daemon can do without. strace -c on the
// running daemon over a row of short connections (curl through microsocks): an accepted
// connection's peer is read with one getpeername on Bun's relay (its socket made one per
// property, remotePort and remoteAddress: two per connection), none on the splice relay
// (accept4 fills it).
//
// strace writes its table into a file (-o), read once strace has exited, and the table must be
// whole (its total row) before it is counted: a missing table is its own failure, with strace's
// stderr, not "0 accept4". The failure this replaces (0 accept4 in two full runs, at load 1 and
// 15) read the table from strace's stderr pipe at node's "exit" event, which does not wait for
// the pipes: strace -c attached to a bun process and stopped with SIGINT, at load 15-24, had
// no table on its stderr at "exit" in 7 of 270 tries; in 3 of them none even once the pipe
// had closed (its "detached" lines, then nothing: that bun process may have made no traced
// call in the 100 ms it was watched). Through -o, 1 of 40 then 0 of 130 at "exit".
import { describe, expect } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
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
        const file = join(t.dir, `strace-${relay}.txt`);
        const st = new Proc(["strace", "-f", "-c", "-o", file, "-e", "trace=getpeername,accept4", "-p", String(p.child.pid)]);
        await st.waitFor(/^strace: Process \d+ attached/m, 10_000, "err");
        for (let i = 0; i < N; i++) {
          const r = await curl([`http://${SERVER_V4}/small`], 20);
          expect(r.out).toBe("ok\n");
        }
        st.kill("SIGINT");
        await st.exited; // strace prints its table, then ends by the signal it was sent
        // strace wrote its whole table before it exited (its last row is the total)
        const table = readFileSync(file, "utf8");
        expect({ table, stderr: st.err }).toEqual({ table: expect.stringMatching(/^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+(?:\s+\d+)?\s+total$/m), stderr: st.err });
        // every connection was accepted while strace watched (accept4 succeeded N times at least)
        expect({ accept4: calls(table, "accept4") >= N, table }).toEqual({ accept4: true, table });
        expect(calls(table, "getpeername")).toBe(perConnection * N);
      } finally {
        p.kill("SIGTERM");
        expect(await p.exited).toBe(0);
      }
    }, 60_000);
  }
});
