/**
 * PIM at tcpdump's default verbosity: "PIMv2, Hello, length 34". With -v the checksum line is
 * printed; the message bodies tcpdump decodes further are not reproduced (tunkit does not
 * claim PIM at -v).
 *
 * @module
 */
import { tok, type Nd } from "./nd.ts";
import { inCksum, pseudo6 } from "./util.ts";
import type { IpCtx } from "./ip.ts";

const TYPES: Readonly<Record<number, string>> = {
  0: "Hello", 1: "Register", 2: "Register Stop", 3: "Join / Prune", 4: "Bootstrap", 5: "Assert", 6: "Graft", 7: "Graft Acknowledgement",
  8: "Candidate RP Advertisement", 9: "Prune Refresh", 10: "DF Election", 11: "ECMP Redirect",
};

/** Prints the PIM message at `bp` (`len` bytes). */
export function pimPrint(nd: Nd, bp: number, len: number, ip: IpCtx): void {
  nd.protocol = "pim";
  const tv = nd.u8(bp);
  const ver = (tv & 0xf0) >> 4;
  const type = tv & 0x0f;
  if (ver !== 2) {
    nd.print(`PIMv${ver}, length ${len}`);
    return;
  }
  if (!nd.v) {
    nd.print(`PIMv2, ${tok(TYPES, "Unknown Type", type)}, length ${len}`);
    return;
  }
  nd.print(`PIMv2, length ${len}\n\t${tok(TYPES, "Unknown Type", type)}`);
  nd.notDecoded = "pim -v"; // tcpdump decodes the message body with -v
  nd.protocol = "pimv2";
  if (len < 2) {
    nd.print(`[length ${len} < 2] (invalid)`);
    return;
  }
  if (nd.u8(bp + 1) & 0x0f) nd.print(", RFC2117-encoding");
  if (len < 4) {
    nd.print(`[length ${len} < 4] (invalid)`);
    return;
  }
  const field = nd.be16(bp + 2);
  nd.print(`, cksum 0x${field.toString(16).padStart(4, "0")} `);
  if (field === 0) {
    nd.print("(unverified)");
    return;
  }
  const check = (n: number): string => {
    if (!nd.ttest(bp, n)) return "unverified";
    const sum = ip.ver === 4 ? inCksum(nd.b, bp, n) : inCksum(nd.b, bp, n, pseudo6(nd.b, ip.off, ip.dstOff, 103, n));
    return sum === 0 ? "correct" : "incorrect";
  };
  let st = type === 1 ? check(8) : check(len);
  if (type === 1 && st === "incorrect") st = check(len);
  nd.print(`(${st})`);
}
