/**
 * Decodes any rtnetlink message by its type: links, addresses, routes, rules, and the control
 * messages (NLMSG_ERROR acks, NLMSG_DONE).
 *
 * @module
 */
import { type NetlinkAck, type NetlinkMessage, NLMSG, parseAck, parseDone } from "../core/message.ts";
import { type Address, decodeAddress } from "./addr.ts";
import { RTM } from "./constants.ts";
import { decodeLink, type Link } from "./link.ts";
import { decodeRoute, type Route } from "./route.ts";
import { decodeRule, type Rule } from "./rule.ts";

/** A decoded rtnetlink message, tagged by what it carries. */
export type RtnlMessage =
  | { kind: "link"; type: number; value: Link }
  | { kind: "address"; type: number; value: Address }
  | { kind: "route"; type: number; value: Route }
  | { kind: "rule"; type: number; value: Rule }
  | { kind: "error"; type: number; value: NetlinkAck }
  | { kind: "done"; type: number; value: NetlinkAck }
  | { kind: "noop" | "overrun" | "other"; type: number; value: Uint8Array };

/**
 * Decodes one message (as returned by parseMessages) by its nlmsg_type. Throws the typed
 * decode errors (TruncatedError / MalformedError) on bad payloads.
 *
 * @example
 * ```ts
 * import { parseMessages } from "../core/message.ts";
 * import { decodeRtnl } from "./decode.ts";
 * const done = new Uint8Array([20,0,0,0, 3,0, 2,0, 1,0,0,0, 0,0,0,0, 0,0,0,0]);
 * decodeRtnl(parseMessages(done)[0]!).kind; // "done"
 * ```
 */
export function decodeRtnl(m: NetlinkMessage): RtnlMessage {
  const t = m.type;
  switch (t) {
    case NLMSG.ERROR:
      return { kind: "error", type: t, value: parseAck(m.body, m.flags) };
    case NLMSG.DONE:
      return { kind: "done", type: t, value: parseDone(m.body, m.flags) };
    case NLMSG.NOOP:
      return { kind: "noop", type: t, value: m.body };
    case NLMSG.OVERRUN:
      return { kind: "overrun", type: t, value: m.body };
    case RTM.NEWLINK:
    case RTM.DELLINK:
    case RTM.GETLINK:
    case RTM.SETLINK:
      return { kind: "link", type: t, value: decodeLink(m.body) };
    case RTM.NEWADDR:
    case RTM.DELADDR:
    case RTM.GETADDR:
      return { kind: "address", type: t, value: decodeAddress(m.body) };
    case RTM.NEWROUTE:
    case RTM.DELROUTE:
    case RTM.GETROUTE:
      return { kind: "route", type: t, value: decodeRoute(m.body) };
    case RTM.NEWRULE:
    case RTM.DELRULE:
    case RTM.GETRULE:
      return { kind: "rule", type: t, value: decodeRule(m.body) };
    default:
      return { kind: "other", type: t, value: m.body };
  }
}
