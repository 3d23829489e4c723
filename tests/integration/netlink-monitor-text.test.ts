// The monitor's text equals `ip monitor label`'s for the same events, line for line: links,
// addresses, routes, rules and neighbours, additions and deletions. Both watch the runner's
// throwaway namespace at once; marker rules fence the events compared.
import { afterAll, beforeAll, describe, expect } from "bun:test";
import { spawn } from "node:child_process";
import type { MonitorEvent } from "../../netlink/monitor.ts";
import { Rtnl } from "../../netlink/rtnl.ts";
import { linkMap } from "../../netlink/view/context.ts";
import { monitorEventToIpText } from "../../netlink/view/monitor.ts";
import { itest } from "./_ns.ts";
import { ip, noDad } from "./_netlink.ts";

let nl: Rtnl;
beforeAll(() => {
  if (process.getuid?.() !== 0) return;
  noDad();
  ip("link set lo up");
  nl = Rtnl.open();
});
afterAll(() => nl?.close());

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("monitor text", () => {
  itest("equals ip monitor label for links, addresses, routes, rules and neighbours", async () => {
    const child = spawn("ip", ["monitor", "label", "link", "address", "route", "rule", "neigh"], { stdio: ["ignore", "pipe", "pipe"] });
    let theirs = "";
    child.stdout!.on("data", (d) => (theirs += d));
    const links = linkMap(await nl.listLinks());
    const ours: string[] = [];
    const mon = nl.monitor({ kinds: ["link", "address", "route", "rule", "neighbour"] });
    let stop = false;
    const pump = (async () => {
      for await (const ev of mon as AsyncIterable<MonitorEvent>) {
        if (ev.kind === "link") {
          if (ev.action === "del") links.delete(ev.value.ifindex);
          else links.set(ev.value.ifindex, ev.value);
        }
        const t = monitorEventToIpText(ev, { links }, true);
        if (t !== undefined) ours.push(t + "\n");
        if (stop) break;
      }
    })();
    const until = async (pred: () => boolean) => {
      for (let i = 0; i < 200 && !pred(); i++) await sleep(25);
      expect(pred()).toBe(true);
    };
    // Marker 1: both are listening once both saw it.
    ip("rule add pref 1 table 1");
    await until(() => theirs.includes("[RULE]1:") && ours.some((l) => l.startsWith("[RULE]1:")));
    const start = ours.length;
    const theirStart = theirs.length;
    for (const c of [
      "link add tkm0 type veth peer name tkm1", "link set tkm0 up", "link set tkm1 up", "link set tkm0 alias watched",
      "addr add 192.0.2.1/24 dev tkm0", "-6 addr add 2001:db8::1/64 dev tkm0 nodad",
      "route add 10.9.0.0/16 via 192.0.2.254 dev tkm0 metric 7 table 300",
      "route add 10.8.0.0/16 table 300 nexthop via 192.0.2.2 weight 2 nexthop via 192.0.2.3",
      "rule add from 192.0.2.0/24 ipproto 6 dport 443 lookup 300 pref 1000",
      "neigh add 192.0.2.7 lladdr 02:00:00:00:00:07 dev tkm0",
      "neigh del 192.0.2.7 dev tkm0", "rule del pref 1000", "route del 10.9.0.0/16 table 300", "addr del 192.0.2.1/24 dev tkm0",
    ]) ip(c);
    ip("rule add pref 2 table 2");
    await until(() => theirs.includes("[RULE]2:") && ours.some((l) => l.startsWith("[RULE]2:")));
    stop = true;
    ip("rule del pref 2");
    await pump;
    child.kill("SIGTERM");
    const mine = ours.slice(start, ours.findIndex((l) => l.startsWith("[RULE]2:")));
    const text = theirs.slice(theirStart, theirs.indexOf("[RULE]2:"));
    expect(mine.length).toBeGreaterThan(15);
    expect(mine.join("")).toBe(text);
  });
});
