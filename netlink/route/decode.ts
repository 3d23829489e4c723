/**
 * Decodes any rtnetlink message by its type: the objects of the registry (links, addresses,
 * routes, rules, neighbours) and the control messages (NLMSG_ERROR acks, NLMSG_DONE).
 *
 * @module
 */
import { type NetlinkAck, type NetlinkMessage, NLMSG, parseAck, parseDone } from "../core/message.ts";
import { type RtnlKind, rtnlKindOf, type RtnlObject, RTNL_TYPES } from "../registry.ts";

/** A decoded rtnetlink message, tagged by what it carries. */
export type RtnlMessage =
  | { [K in RtnlKind]: { kind: K; type: number; value: RtnlObject<K> } }[RtnlKind]
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
  }
  const k = rtnlKindOf(t);
  if (!k) return { kind: "other", type: t, value: m.body };
  return { kind: k.kind, type: t, value: RTNL_TYPES[k.kind].decode(m.body) } as RtnlMessage;
}
