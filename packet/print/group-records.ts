/**
 * The group records of an IGMPv3 report (RFC 3376) and an MLDv2 report (RFC 3810): one layout,
 * record type, aux-data length, source count, group address, sources, with IPv4 or IPv6
 * addresses. Printed as tcpdump's print-igmp.c and print-icmp6.c print them.
 *
 * @module
 */
import { tok, type Nd } from "./nd.ts";

/** Record types, the same in both protocols. */
const RECORD_TYPES: Readonly<Record<number, string>> = { 1: "is_in", 2: "is_ex", 3: "to_in", 4: "to_ex", 5: "allow", 6: "block" };

/**
 * Prints `, N group record(s)` and, with -v, each record of the report at `bp` (`len` bytes):
 * addresses of `alen` bytes (4: IGMPv3, 16: MLDv2); `unknown` names an unknown record type
 * (`" [v3-report-#%u]"`, `" [v2-report-#%u]"`).
 *
 * @example
 * ```ts
 * import { groupRecords } from "./group-records.ts";
 * import type { Nd } from "./nd.ts";
 * declare const nd: Nd;
 * groupRecords(nd, 0, 16, 4, " [v3-report-#%u]");
 * ```
 */
export function groupRecords(nd: Nd, bp: number, len: number, alen: 4 | 16, unknown: string): void {
  const addr = (off: number) => (alen === 4 ? nd.ip4(off) : nd.ip6(off));
  const ngroups = nd.be16(bp + 6);
  nd.print(`, ${ngroups} group record(s)`);
  if (nd.v === 0) return;
  const head = 4 + alen;
  let group = 8;
  for (let i = 0; i < ngroups; i++) {
    if (len < group + head) {
      nd.print(" [invalid number of groups]");
      return;
    }
    nd.print(` [gaddr ${addr(bp + group + 4)}`);
    nd.print(` ${tok(RECORD_TYPES, unknown, nd.u8(bp + group))}`);
    const nsrcs = nd.be16(bp + group + 2);
    if (len < group + head + nsrcs * alen) {
      nd.print(` [invalid number of sources ${nsrcs}]`);
      return;
    }
    if (nd.v === 1) nd.print(`, ${nsrcs} source(s)`);
    else {
      nd.print(" {");
      for (let j = 0; j < nsrcs; j++) nd.print(` ${addr(bp + group + head + j * alen)}`);
      nd.print(" }");
    }
    group += head + nsrcs * alen;
    nd.print("]");
  }
}
