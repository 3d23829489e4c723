/**
 * GRE in tcpdump's words (print-gre.c): version 0 (RFC 1701/2784: checksum, key, sequence,
 * source routes) carrying IPv4, IPv6 or Ethernet (TEB), and version 1 (PPTP's enhanced GRE:
 * call id, sequence, ack) carrying PPP. -v shows the flags and goes multi-line.
 *
 * @module
 */
import { ETHERTYPE_NAMES } from "../ethernet.ts";
import { bits, tok, type Nd } from "./nd.ts";
import { ipPrint } from "./ip.ts";
import { ip6Print } from "./ip6.ts";
import { etherPrint, pppPrint } from "./link.ts";

const FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x8000, "checksum present"], [0x4000, "routing present"], [0x2000, "key present"], [0x1000, "sequence# present"],
  [0x0800, "source routing present"], [0x0080, "ack present"],
];

class Short extends Error {}
const SHORT = new Short();

/** Prints the GRE packet at `bp` (`length` bytes). */
export function grePrint(nd: Nd, bp: number, length: number): void {
  nd.protocol = "gre";
  try {
    nd.check(bp, 2);
    if (length < 2) throw SHORT;
    const vers = nd.be16(bp) & 7;
    nd.print(`GREv${vers}`);
    if (vers === 0) gre0(nd, bp, length);
    else if (vers === 1) gre1(nd, bp, length);
    else nd.print(" ERROR: unknown-version");
  } catch (e) {
    if (e !== SHORT) throw e;
    nd.print(` [|${nd.protocol}]`);
  }
}

function need(nd: Nd, bp: number, n: number, len: number): void {
  nd.check(bp, n);
  if (len < n) throw SHORT;
}

function gre0(nd: Nd, bp: number, length: number): void {
  let len = length;
  const flags = nd.be16(bp);
  if (nd.v) nd.print(`, Flags [${bits(FLAGS, "none", flags)}]`);
  len -= 2;
  bp += 2;
  need(nd, bp, 2, len);
  const prot = nd.be16(bp);
  len -= 2;
  bp += 2;
  if (flags & 0x8000 || flags & 0x4000) {
    need(nd, bp, 2, len);
    if (nd.v) nd.print(`, sum 0x${nd.be16(bp).toString(16)}`);
    bp += 2;
    len -= 2;
    need(nd, bp, 2, len);
    nd.print(`, off 0x${nd.be16(bp).toString(16)}`);
    bp += 2;
    len -= 2;
  }
  if (flags & 0x2000) {
    need(nd, bp, 4, len);
    nd.print(`, key=0x${nd.be32(bp).toString(16)}`);
    bp += 4;
    len -= 4;
  }
  if (flags & 0x1000) {
    need(nd, bp, 4, len);
    nd.print(`, seq ${nd.be32(bp)}`);
    bp += 4;
    len -= 4;
  }
  if (flags & 0x4000) {
    for (;;) {
      need(nd, bp, 4, len);
      const af = nd.be16(bp);
      const sreoff = nd.u8(bp + 2);
      const srelen = nd.u8(bp + 3);
      bp += 4;
      len -= 4;
      if (af === 0 && srelen === 0) break;
      if (!sre(nd, af, sreoff, srelen, bp, len)) throw SHORT;
      if (len < srelen) throw SHORT;
      bp += srelen;
      len -= srelen;
    }
  }
  if (nd.flags.e) nd.print(`, proto ${tok(ETHERTYPE_NAMES, "unknown", prot)} (0x${prot.toString(16).padStart(4, "0")})`);
  nd.print(`, length ${length}`);
  nd.print(nd.v < 1 ? ": " : "\n\t");
  switch (prot) {
    case 0x0800:
      ipPrint(nd, bp, len);
      break;
    case 0x86dd:
      ip6Print(nd, bp, len);
      break;
    case 0x6558:
      etherPrint(nd, bp, len, nd.avail(bp));
      break;
    default:
      if (prot === 0x8847 || prot === 0x8137 || prot === 0x809b || prot === 0x00fe) nd.notDecoded = "gre payload";
      nd.print(`gre-proto-0x${prot.toString(16)}`);
  }
}

function gre1(nd: Nd, bp: number, length: number): void {
  let len = length;
  const flags = nd.be16(bp);
  len -= 2;
  bp += 2;
  if (nd.v) nd.print(`, Flags [${bits(FLAGS, "none", flags)}]`);
  need(nd, bp, 2, len);
  const prot = nd.be16(bp);
  len -= 2;
  bp += 2;
  if (flags & 0x2000) {
    need(nd, bp, 4, len);
    nd.print(`, call ${nd.be32(bp) & 0xffff}`);
    len -= 4;
    bp += 4;
  }
  if (flags & 0x1000) {
    need(nd, bp, 4, len);
    nd.print(`, seq ${nd.be32(bp)}`);
    bp += 4;
    len -= 4;
  }
  if (flags & 0x0080) {
    need(nd, bp, 4, len);
    nd.print(`, ack ${nd.be32(bp)}`);
    bp += 4;
    len -= 4;
  }
  if ((flags & 0x1000) === 0) nd.print(", no-payload");
  if (nd.flags.e) nd.print(`, proto ${tok(ETHERTYPE_NAMES, "unknown", prot)} (0x${prot.toString(16).padStart(4, "0")})`);
  nd.print(`, length ${length}`);
  if ((flags & 0x1000) === 0) return;
  nd.print(nd.v < 1 ? ": " : "\n\t");
  if (prot === 0x880b) pppPrint(nd, bp, len);
  else nd.print(`gre-proto-0x${prot.toString(16)}`);
}

function sre(nd: Nd, af: number, sreoff: number, srelen: number, bp: number, len: number): boolean {
  if (af === 0x0800) {
    nd.print(", (rtaf=ip");
    const up = bp;
    let ok = true;
    if (sreoff & 3) nd.print(`, badoffset=${sreoff}`);
    else if (srelen & 3) nd.print(`, badlength=${srelen}`);
    else if (sreoff >= srelen) nd.print(`, badoff/len=${sreoff}/${srelen}`);
    else
      while (srelen !== 0) {
        if (!nd.ttest(bp, 4) || len < 4) {
          ok = false;
          break;
        }
        nd.print(` ${bp - up === sreoff ? "*" : ""}${nd.ip4(bp)}`);
        bp += 4;
        len -= 4;
        srelen -= 4;
      }
    nd.print(")");
    return ok;
  }
  if (af === 0xfffe) {
    nd.print(", (rtaf=asn");
    const up = bp;
    let ok = true;
    if (sreoff & 1) nd.print(`, badoffset=${sreoff}`);
    else if (srelen & 1) nd.print(`, badlength=${srelen}`);
    else if (sreoff >= srelen) nd.print(`, badoff/len=${sreoff}/${srelen}`);
    else
      while (srelen !== 0) {
        if (!nd.ttest(bp, 2) || len < 2) {
          ok = false;
          break;
        }
        nd.print(` ${bp - up === sreoff ? "*" : ""}${nd.be16(bp).toString(16)}`);
        bp += 2;
        len -= 2;
        srelen -= 2;
      }
    nd.print(")");
    return ok;
  }
  nd.print(`, (rtaf=0x${af.toString(16)})`);
  return true;
}
