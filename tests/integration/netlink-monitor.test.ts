// The monitor sees what ip does, without blocking the event loop; a flooded, tiny receive
// buffer yields an overrun event (ENOBUFS) instead of an error.
import { describe, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { Rtnl, type MonitorEvent } from "../../netlink/rtnl.ts";
import { itest } from "./_ns.ts";
import { ip } from "./_netlink.ts";

async function collect(it: AsyncIterableIterator<MonitorEvent>, until: (e: MonitorEvent) => boolean, ms: number): Promise<MonitorEvent[]> {
  const out: MonitorEvent[] = [];
  const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms));
  for (;;) {
    const r = await Promise.race([it.next(), timeout]);
    if (r === "timeout" || r.done) return out;
    out.push(r.value);
    if (until(r.value)) return out;
  }
}

describe("monitor", () => {
  itest("link, address, route and rule events created by ip arrive, and timers keep running", async () => {
    const nl = Rtnl.open();
    const mon = nl.monitor();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const first = mon.next(); // registers with the poller before the changes happen
    // While the monitor waits, the event loop keeps serving timers: 5 ticks must come (a loop
    // blocked by the wait never gets there and the test times out), counted before the ip
    // commands below block this thread (spawnSync), with no fixed window that load can squeeze.
    while (ticks < 5) await new Promise((r) => setTimeout(r, 5));
    setTimeout(() => {
      ip("link add tkm0 type veth peer name tkm1");
      ip("link set tkm0 up");
      ip("addr add 192.0.2.33/24 dev tkm0");
      ip("route add 203.0.113.0/24 via 192.0.2.254 dev tkm0 table 400");
      ip("rule add pref 4000 table 400");
      ip("route del 203.0.113.0/24 via 192.0.2.254 dev tkm0 table 400");
    }, 50);
    const r0 = await first;
    const events = [r0.value as MonitorEvent, ...(await collect(mon, (e) => e.kind === "route" && e.action === "del", 3000))];
    clearInterval(timer);
    await mon.return!();
    nl.close();
    const has = (kind: string, action: string, pred: (v: any) => boolean) => events.some((e) => e.kind === kind && "action" in e && e.action === action && pred(e.value));
    expect(has("link", "new", (v) => v.name === "tkm0")).toBe(true);
    expect(has("address", "new", (v) => v.local === "192.0.2.33" && v.prefixLen === 24)).toBe(true);
    expect(has("route", "new", (v) => v.dst === "203.0.113.0" && v.table === 400 && v.gateway === "192.0.2.254")).toBe(true);
    expect(has("rule", "new", (v) => v.priority === 4000 && v.table === 400)).toBe(true);
    expect(has("route", "del", (v) => v.dst === "203.0.113.0")).toBe(true);
    ip("rule del pref 4000");
  });

  itest("a flood into a tiny receive buffer is reported as an overrun event", async () => {
    ip("link add tko0 type veth peer name tko1");
    ip("link set tko0 up");
    const nl = Rtnl.open();
    const mon = nl.monitor({ rcvbuf: 4096 });
    const first = mon.next(); // the socket exists now, subscribed, and nobody reads while ip floods
    const lines = Array.from({ length: 3000 }, (_, i) => `route add 10.${50 + (i >> 8)}.${i & 255}.0/24 dev tko0`);
    spawnSync("ip", ["-batch", "-"], { input: lines.join("\n") + "\n" });
    const events = [(await first).value as MonitorEvent, ...(await collect(mon, (e) => e.kind === "overrun", 3000))];
    await mon.return!();
    nl.close();
    expect(events.some((e) => e.kind === "overrun")).toBe(true);
  });
});
