// `tunkit wg up` in the background, after the command that started it has returned: its stdout
// and stderr pipes are closed, so what it still has to say goes to syslog (here a socket of the
// test's own, through TUNKIT_SYSLOG_SOCKET), and it does not die of SIGPIPE.
import { afterAll, describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { tmpdir } from "node:os";
import { itest, sh } from "./_ns.ts";
import { UnixDatagramReceiver } from "../../ffi/unix-dgram.ts";

const root = resolve(import.meta.dir, "../..");
const tunkit = [process.execPath, join(root, "cli/main.ts")] as const;
const dir = mkdtempSync(join(tmpdir(), "tkwgd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Datagrams that arrive on `r` within `ms`, until one matches `re`. */
async function waitFor(r: UnixDatagramReceiver, re: RegExp, ms: number): Promise<string[]> {
  const got: string[] = [];
  for (const end = Date.now() + ms; Date.now() < end; ) {
    const d = r.receive();
    if (d) {
      got.push(new TextDecoder().decode(d));
      if (re.test(got.at(-1)!)) break;
    } else await Bun.sleep(50);
  }
  return got;
}

const alive = (pid: number) => spawnSync("kill", ["-0", String(pid)]).status === 0;

describe("wg daemon after its start", () => {
  itest("the interface deleted under it: it stops, says why to syslog, and is gone", async () => {
    const key = spawnSync(tunkit[0], [tunkit[1], "wg", "genkey"], { encoding: "utf8" }).stdout.trim();
    const conf = join(dir, "wgd.conf");
    writeFileSync(conf, `[Interface]\nPrivateKey = ${key}\nListenPort = 51999\nAddress = 10.99.0.1/24\n`);
    chmodSync(conf, 0o600);
    const sock = join(dir, "syslog.sock");
    const r = new UnixDatagramReceiver(sock);
    try {
      const up = spawnSync(tunkit[0], [tunkit[1], "wg", "up", "wgd", "--config", conf], {
        encoding: "utf8",
        env: { ...process.env, TUNKIT_SYSLOG_SOCKET: sock },
        timeout: 60_000,
      });
      expect(up.status).toBe(0);
      const pid = Number(sh("pgrep", "-f", `wg up wgd --config ${conf} --foreground`).trim().split("\n")[0]);
      expect(pid).toBeGreaterThan(0);
      sh("ip", "link", "del", "wgd");
      const lines = await waitFor(r, /wgd stopped/, 20_000);
      expect(lines.at(-1)).toMatch(new RegExp(`^<30>[A-Z][a-z]{2} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d tunkit-wg\\[${pid}\\]: wgd stopped: the interface was deleted$`));
      for (const end = Date.now() + 10_000; alive(pid) && Date.now() < end; ) await Bun.sleep(50);
      expect(alive(pid)).toBe(false);
    } finally {
      r.close();
    }
  }, 90_000);
});
