/**
 * IGMP v1/v2/v3 in tcpdump's words (print-igmp.c): queries (with the v3 max response time and
 * group), reports, leaves, mtrace; -v the v3 group records and a bad checksum.
 *
 * @module
 */
import { relts, tok, type Nd } from "./nd.ts";
import { inCksum } from "./util.ts";
import { groupRecords } from "./group-records.ts";

function v3Report(nd: Nd, bp: number, len: number): void {
  if (len < 16 || len & 3) {
    nd.print(` [invalid len ${len}]`);
    return;
  }
  groupRecords(nd, bp, len, 4, " [v3-report-#%u]");
}

function v3Query(nd: Nd, bp: number, len: number): void {
  nd.print(" v3");
  if (len < 12 || len & 3) {
    nd.print(` [invalid len ${len}]`);
    return;
  }
  const mrc = nd.u8(bp + 1);
  const mrt = mrc < 128 ? mrc : ((mrc & 0x0f) | 0x10) << (((mrc & 0x70) >> 4) + 3);
  if (mrc !== 100) {
    nd.print(" [max resp time ");
    nd.print(mrt < 600 ? `${(mrt * 0.1).toFixed(1)}s` : relts(Math.floor(mrt / 10)));
    nd.print("]");
  }
  if (nd.be32(bp + 4) === 0) return;
  nd.print(` [gaddr ${nd.ip4(bp + 4)}`);
  const nsrcs = nd.be16(bp + 10);
  if (nsrcs > 0) {
    if (len < 12 + (nsrcs << 2)) nd.print(" [invalid number of sources]");
    else if (nd.v > 1) {
      nd.print(" {");
      for (let i = 0; i < nsrcs; i++) nd.print(` ${nd.ip4(bp + 12 + (i << 2))}`);
      nd.print(" }");
    } else nd.print(`, ${nsrcs} source(s)`);
  }
  nd.print("]");
}

function mtrace(nd: Nd, name: string, bp: number, len: number): void {
  const tr = bp + 8;
  if (len < 8 + 16) {
    nd.print(` [invalid len ${len}]`);
    return;
  }
  nd.print(`${name} ${nd.be24(tr + 13)}: ${nd.ip4(tr)} to ${nd.ip4(tr + 4)} reply-to ${nd.ip4(tr + 8)}`);
  if ((nd.be32(tr + 8) & 0xf0000000) >>> 0 === 0xe0000000) nd.print(` with-ttl ${nd.u8(tr + 12)}`);
}

/** Prints the IGMP message at `bp` (`len` bytes). */
export function igmpPrint(nd: Nd, bp: number, len: number): void {
  nd.protocol = "igmp";
  const type = nd.u8(bp);
  switch (type) {
    case 0x11:
      nd.print("igmp query");
      if (len >= 12) v3Query(nd, bp, len);
      else {
        const mrt = nd.u8(bp + 1);
        if (mrt) {
          nd.print(" v2");
          if (mrt !== 100) nd.print(` [max resp time ${mrt}]`);
        } else nd.print(" v1");
        if (nd.be32(bp + 4)) nd.print(` [gaddr ${nd.ip4(bp + 4)}]`);
        if (len !== 8) nd.print(` [len ${len}]`);
      }
      break;
    case 0x12:
      nd.print(`igmp v1 report ${nd.ip4(bp + 4)}`);
      if (len !== 8) nd.print(` [len ${len}]`);
      break;
    case 0x16:
      nd.print(`igmp v2 report ${nd.ip4(bp + 4)}`);
      break;
    case 0x22:
      nd.print("igmp v3 report");
      v3Report(nd, bp, len);
      break;
    case 0x17:
      nd.print(`igmp leave ${nd.ip4(bp + 4)}`);
      break;
    case 0x13:
      nd.print("igmp dvmrp");
      if (len < 8) nd.print(` [len ${len}]`);
      else nd.notDecoded = "dvmrp";
      break;
    case 0x14:
      nd.print("igmp pimv1");
      nd.notDecoded = "pimv1";
      break;
    case 0x1e:
      mtrace(nd, "mresp", bp, len);
      break;
    case 0x1f:
      mtrace(nd, "mtrace", bp, len);
      break;
    default:
      nd.print(`igmp-${type}`);
  }
  if (nd.v && len >= 4 && nd.ttest(bp, len) && inCksum(nd.b, bp, len)) nd.print(` bad igmp cksum ${nd.be16(bp + 2).toString(16)}!`);
}
