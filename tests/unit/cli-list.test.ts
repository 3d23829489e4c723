// `tunkit list`'s reads over a fake kernel: what it asks the kernel for.
import { describe, expect, test } from "bun:test";
import { collectTuns } from "../../cli/list.ts";
import type { Ctx } from "../../cli/context.ts";
import { fakeConn } from "../../netlink/conn.ts";
import { beginMessage, endMessage, NLMSG, parseMessages } from "../../netlink/core/message.ts";
import { ByteWriter } from "../../netlink/core/writer.ts";
import { dumpLinks } from "../../netlink/dump.ts";
import { RTEXT_FILTER, RTM } from "../../netlink/route/constants.ts";
import { decodeLink } from "../../netlink/route/link.ts";

/** A fake kernel that answers every dump with no objects and records each request's IFLA_EXT_MASK. */
function emptyDumps(masks: Array<number | undefined>) {
  return fakeConn((req) => {
    const m = parseMessages(req)[0]!;
    if (m.type === RTM.GETLINK) masks.push(decodeLink(m.body).extMask);
    const w = new ByteWriter();
    const at = beginMessage(w, NLMSG.DONE, 2, m.seq, 0);
    w.i32(0);
    endMessage(w, at);
    return w.finish().slice();
  });
}

describe("list asks for no counters", () => {
  test("collectTuns dumps links with RTEXT_FILTER_SKIP_STATS (the view prints no counters)", async () => {
    const masks: Array<number | undefined> = [];
    const conn = emptyDumps(masks);
    expect(await collectTuns({ conn: () => conn } as unknown as Ctx)).toEqual([]);
    expect(masks).toEqual([RTEXT_FILTER.VF | RTEXT_FILTER.SKIP_STATS]);
  });
  test("dumpLinks asks for the counters unless told not to (ip link show -s needs them)", async () => {
    const masks: Array<number | undefined> = [];
    const conn = emptyDumps(masks);
    await dumpLinks(conn);
    await dumpLinks(conn, 0, { stats: false });
    await dumpLinks(conn, 10, { stats: false });
    expect(masks).toEqual([RTEXT_FILTER.VF, RTEXT_FILTER.VF | RTEXT_FILTER.SKIP_STATS, undefined]);
  });
});
