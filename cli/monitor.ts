/**
 * `tunkit monitor [link|addr|route…]`: live rtnetlink events, one line each in
 * `ip monitor label` style (`[ROUTE] Deleted 198.51.100.0/24 dev tun0 …`), or NDJSON with
 * `--json`. Ctrl-C (or `--count N` events) ends it cleanly.
 *
 * @module
 */
import { Command, Argument, Option } from "@commander-js/extra-typings";
import { UsageError } from "../common/mod.ts";
import { RTNLGRP, linkMap, linkToIpJson, addressToIpJson, routeToIpJson, type Link, type MonitorEvent } from "../netlink/mod.ts";
import { intInRange } from "./args.ts";
import { setCompletionWords } from "./completions.ts";
import type { Ctx } from "./context.ts";
import { routeText } from "./output.ts";

/** Objects `monitor` can watch, and their multicast groups. */
export const MONITOR_OBJECTS: Readonly<Record<string, readonly number[]>> = {
  link: [RTNLGRP.LINK],
  addr: [RTNLGRP.IPV4_IFADDR, RTNLGRP.IPV6_IFADDR],
  route: [RTNLGRP.IPV4_ROUTE, RTNLGRP.IPV6_ROUTE],
};

const ALIASES: Readonly<Record<string, string>> = { address: "addr", all: "all", links: "link", routes: "route" };

/**
 * Parses the object words of `monitor` into the set to watch.
 *
 * @example
 * ```ts
 * import { planMonitor } from "./monitor.ts";
 * planMonitor([]);              // Set { "link", "addr", "route" }
 * planMonitor(["route"]);       // Set { "route" }
 * ```
 */
export function planMonitor(words: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const w0 of words) {
    const w = ALIASES[w0] ?? w0;
    if (w === "all") for (const k of Object.keys(MONITOR_OBJECTS)) out.add(k);
    else if (Object.hasOwn(MONITOR_OBJECTS, w)) out.add(w);
    else throw new UsageError(`Unknown word "${w0}" in "monitor": expected link, addr, route or all`);
  }
  if (!out.size) for (const k of Object.keys(MONITOR_OBJECTS)) out.add(k);
  return out;
}

type Json = Record<string, unknown>;

/**
 * One event as a text line (`[LINK]`, `[ADDR]`, `[ROUTE]` labels, "Deleted " for removals).
 *
 * @example
 * ```ts
 * import { eventText } from "./monitor.ts";
 * // eventText({ kind: "route", action: "del", value: route }, links) === "[ROUTE] Deleted 198.51.100.0/24 dev tun0 …"
 * ```
 */
export function eventText(ev: MonitorEvent, links: ReadonlyMap<number, Link>): string {
  if (ev.kind === "overrun") return "[OVERRUN] events were lost (receive buffer full): state may have changed unseen";
  const del = ev.action === "del" ? "Deleted " : "";
  if (ev.kind === "link") {
    const j = linkToIpJson(ev.value, { links });
    return `[LINK] ${del}${String(j.ifindex)}: ${String(j.ifname)}: <${(j.flags as string[]).join(",")}> mtu ${String(j.mtu ?? "?")} state ${String(j.operstate ?? "UNKNOWN")}`;
  }
  if (ev.kind === "address") {
    const a = addressToIpJson(ev.value);
    const name = links.get(ev.value.ifindex)?.name ?? `if${ev.value.ifindex}`;
    const local = a.address !== undefined ? `${String(a.local)} peer ${String(a.address)}/${String(a.prefixlen)}` : `${String(a.local)}/${String(a.prefixlen)}`;
    return `[ADDR] ${del}${ev.value.ifindex}: ${name}    ${String(a.family)} ${local} scope ${String(a.scope)}`;
  }
  if (ev.kind === "route") return `[ROUTE] ${del}${routeText(routeToIpJson(ev.value, { links }))}`;
  return `[RULE] ${del}`;
}

/**
 * One event as an NDJSON object: `{ kind, action, link|address|route }`, the inner object in
 * `ip -j` shape.
 */
export function eventJson(ev: MonitorEvent, links: ReadonlyMap<number, Link>): Json {
  if (ev.kind === "overrun") return { kind: "overrun" };
  if (ev.kind === "link") return { kind: "link", action: ev.action, link: linkToIpJson(ev.value, { links }) };
  if (ev.kind === "address") {
    return {
      kind: "address", action: ev.action,
      address: { ifindex: ev.value.ifindex, ifname: links.get(ev.value.ifindex)?.name ?? null, ...addressToIpJson(ev.value) },
    };
  }
  if (ev.kind === "route") return { kind: "route", action: ev.action, route: routeToIpJson(ev.value, { links }) };
  return { kind: ev.kind, action: ev.action };
}

const KIND_OF: Record<string, string> = { link: "link", address: "addr", route: "route" };

/**
 * The `monitor` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { monitorCommand } from "./monitor.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(monitorCommand(ctx));
 * ```
 */
export function monitorCommand(ctx: Ctx) {
  const cmd = new Command("monitor")
    .description("print link, address and route changes as they happen (Ctrl-C ends)")
    .addArgument(new Argument("[objects...]", "link, addr, route or all (default: all)"))
    .addOption(new Option("-c, --count <n>", "exit after N events"))
    .addHelpText(
      "after",
      `
One line per event, like ip monitor label: [LINK], [ADDR], [ROUTE]; "Deleted" marks removals.
With --json, one JSON object per line (NDJSON): {"kind","action","link"|"address"|"route"}.
[OVERRUN] means the kernel dropped events: re-list to resynchronise.

Examples:
  tunkit monitor
  tunkit monitor route addr
  tunkit monitor link --json | jq -c 'select(.action == "del")'
  tunkit -n blue monitor --count 10`,
    )
    .action(async (objects, o) => {
      const want = planMonitor(objects);
      const count = o.count !== undefined ? intInRange(o.count, "count", 1, 0x7fffffff) : Infinity;
      await ctx.perform({
        run: async () => {
          const nl = ctx.rtnl();
          const groups = [...want].flatMap((w) => MONITOR_OBJECTS[w] ?? []);
          if (!want.has("link")) groups.push(RTNLGRP.LINK); // to keep device names current; not printed
          const events = nl.monitor({ groups });
          const links = linkMap(await nl.listLinks());
          const out = ctx.out;
          const stop = () => void events.return?.();
          const onSig = () => stop();
          process.on("SIGINT", onSig);
          process.on("SIGTERM", onSig);
          let n = 0;
          try {
            for await (const ev of events) {
              if (ev.kind === "link") {
                if (ev.action === "del") links.delete(ev.value.ifindex);
                else links.set(ev.value.ifindex, { ...links.get(ev.value.ifindex), ...ev.value });
              }
              if (ev.kind !== "overrun" && !want.has(KIND_OF[ev.kind] ?? "")) continue;
              out.line(out.json ? JSON.stringify(eventJson(ev, links)) : eventText(ev, links));
              if (++n >= count) break;
            }
          } finally {
            process.off("SIGINT", onSig);
            process.off("SIGTERM", onSig);
            stop();
          }
        },
      });
    });
  setCompletionWords(cmd, ["link", "addr", "route", "all"]);
  return cmd;
}
