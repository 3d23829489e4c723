// The integration files refuse to run as root in a namespace that looks like a host's (an
// ether device not named tk*/veth*): their set-up would otherwise create devices and addresses
// there. Checked in a nested namespace of this test's own, given an "eth9" like a host's eth0.
import { describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { itest } from "./_ns.ts";

const root = join(import.meta.dir, "../..");

describe("integration files outside a throwaway namespace", () => {
  for (const file of ["cli-badinput.test.ts", "cli-batch.test.ts", "netlink-batch.test.ts"]) {
    itest(`${file}: refuses before its set-up runs (no tk device, no address made), exit non-zero`, () => {
      const script = `ip link set lo up && ip link add eth9 type veth peer name eth8 && ip link set eth9 up || exit 90
"$0" test --timeout 60000 "tests/integration/$1" > /tmp/nsguard.$$ 2>&1; echo "rc=$?"; cat /tmp/nsguard.$$; rm -f /tmp/nsguard.$$
echo LINKS; ip -j link show; echo ADDRS; ip -j addr show`;
      const r = spawnSync("unshare", ["-n", "sh", "-c", script, process.execPath, file], { cwd: root, encoding: "utf8", timeout: 120_000 });
      expect(r.status).toBe(0);
      const out = r.stdout;
      expect(out).toMatch(/integration tests refuse to run as root in this network namespace/);
      expect(Number(/^rc=(\d+)$/m.exec(out)?.[1])).not.toBe(0);
      const links = JSON.parse(out.split("LINKS\n")[1]!.split("\nADDRS")[0]!) as Array<{ ifname: string }>;
      expect(links.map((l) => l.ifname).sort()).toEqual(["eth8", "eth9", "lo"]);
      expect(out.split("ADDRS\n")[1]).not.toContain("192.0.2.");
    });
  }
});
