/**
 * IKE (ISAKMP, UDP 500/4500) at tcpdump's default verbosity: "isakmp: phase 1 I ident",
 * "isakmp: parent_sa ikev2_init[I]", with IKEv1's initiator/responder told apart by the
 * cookies seen before (as tcpdump does, per process); NAT-T (UDP 4500) keep-alives, non-ESP
 * markers and ESP in UDP. The payloads tcpdump decodes with -v are not reproduced (tunkit does
 * not claim IKE at -v).
 *
 * @module
 */
import type { Nd } from "./nd.ts";
import type { IpCtx } from "./ip.ts";
import { espPrint } from "./ipsec.ts";

const ETYPES: readonly (string | undefined)[] = [
  "none", "base", "ident", "auth", "agg", "inf", undefined, undefined, ...new Array<undefined>(24),
  "oakley-quick", "oakley-newgroup", "ikev2_init", "ikev2_auth", "child_sa", "inf2",
];
const etype = (x: number) => ETYPES[x] ?? `#${x}`;

/** tcpdump's cookie cache: 20 initiator cookies with their initiator and responder addresses. */
export interface IkeCookies {
  entries: { cookie: string; ver: 4 | 6; iaddr: string; raddr: string }[];
  next: number;
}

function addrs(nd: Nd, ip: IpCtx): { src: string; dst: string } {
  return ip.ver === 4 ? { src: nd.hex(ip.off + 12, 4), dst: nd.hex(ip.off + 16, 4) } : { src: nd.hex(ip.off + 8, 16), dst: nd.hex(ip.off + 24, 16) };
}

/** Prints the ISAKMP message at `bp` (`length` bytes). */
export function isakmpPrint(nd: Nd, bp: number, length: number, ip: IpCtx): void {
  nd.protocol = "isakmp";
  if (nd.snapend < bp + 28) {
    nd.print(` [|${nd.protocol}]`);
    return;
  }
  nd.print("isakmp");
  const vers = nd.u8(bp + 17);
  const major = vers >> 4;
  const minor = vers & 0x0f;
  if (nd.v) nd.print(` ${major}.${minor}`);
  if (nd.v) nd.print(` msgid ${nd.hex(bp + 20, 4)}`);
  if (nd.v > 1) nd.print(` cookie ${nd.hex(bp, 8)}->${nd.hex(bp + 8, 8)}`);
  nd.print(":");
  const msgid = nd.be32(bp + 20);
  const flags = nd.u8(bp + 19);
  if (major === 1) {
    nd.print(msgid === 0 ? " phase 1" : " phase 2/others");
    // tcpdump's cache starts as 20 zeroed entries: an all-zero cookie is "found" (and then "?")
    const state = (nd.state.ike ??= { entries: Array.from({ length: 20 }, () => ({ cookie: "0000000000000000", ver: 0 as 4 | 6, iaddr: "", raddr: "" })), next: 0 });
    const cookie = nd.hex(bp, 8);
    const i = state.entries.findIndex((e) => e.cookie === cookie);
    const a = addrs(nd, ip);
    if (i < 0) {
      if (nd.hex(bp + 8, 8) === "0000000000000000") {
        nd.print(" I");
        const e = { cookie, ver: ip.ver, iaddr: a.src, raddr: a.dst };
        state.entries[state.next] = e;
        state.next = (state.next + 1) % 20;
      } else nd.print(" ?");
    } else {
      const e = state.entries[i]!;
      if (e.ver === ip.ver && e.iaddr === a.src) nd.print(" I");
      else if (e.ver === ip.ver && e.raddr === a.src) nd.print(" R");
      else nd.print(" ?");
    }
    nd.print(` ${etype(nd.u8(bp + 18))}`);
    if (flags) nd.print(`[${flags & 1 ? "E" : ""}${flags & 2 ? "C" : ""}]`);
  } else if (major === 2) {
    nd.print(msgid === 0 ? " parent_sa" : " child_sa ");
    nd.print(` ${etype(nd.u8(bp + 18))}`);
    if (flags) nd.print(`[${flags & 0x08 ? "I" : ""}${flags & 0x10 ? "V" : ""}${flags & 0x20 ? "R" : ""}]`);
  }
  if (nd.v) nd.notDecoded = "isakmp -v";
  if (nd.v && (major === 1 || major === 2) && nd.be32(bp + 24) !== length) nd.print(` (len mismatch: isakmp ${nd.be32(bp + 24)}/ip ${length})`);
}

/** UDP 4500 (RFC 3948): a keep-alive, IKE after a non-ESP marker, or ESP. */
export function isakmpNattPrint(nd: Nd, bp: number, length: number, ip: IpCtx, _fragmented: boolean, _ttl: number): void {
  nd.protocol = "isakmp_rfc3948";
  if (length === 1 && nd.u8(bp) === 0xff) {
    nd.print("isakmp-nat-keep-alive");
    return;
  }
  if (length < 4) {
    nd.print(` [|${nd.protocol}]`);
    return;
  }
  if (nd.be32(bp) === 0) {
    nd.print("NONESP-encap: ");
    isakmpPrint(nd, bp + 4, length - 4, ip);
    return;
  }
  nd.print("UDP-encap: ");
  espPrint(nd, bp, length);
}
