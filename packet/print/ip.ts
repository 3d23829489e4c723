/**
 * IPv4 in tcpdump's words (print-ip.c): the header (with -v: tos/ECN, ttl, id, offset, flags,
 * protocol, length, options, a bad header checksum), then the protocol inside
 * ({@link ipDemux}, shared with IPv6).
 *
 * @module
 */
import { Truncated, bits, tok, type Nd } from "./nd.ts";
import { IPPROTO_NAMES, cksumShouldBe, inCksum } from "./util.ts";
import { ip6Print } from "./ip6.ts";
import { tcpPrint } from "./tcp.ts";
import { udpPrint } from "./udp.ts";
import { icmpPrint } from "./icmp.ts";
import { icmp6Print } from "./icmp6.ts";
import { espPrint, ahPrint } from "./ipsec.ts";
import { grePrint } from "./gre.ts";
import { igmpPrint } from "./igmp.ts";
import { ospfPrint, ospf6Print } from "./ospf.ts";
import { pimPrint } from "./pim.ts";
import { vrrpPrint } from "./vrrp.ts";
import { etherPrint } from "./link.ts";

/** IP protocols tcpdump decodes and tunkit does not (they print as "ip-proto-N LEN"). */
const THEIR_PROTOS: Readonly<Record<number, string>> = {
  132: "sctp", 33: "dccp", 108: "ipcomp", 9: "igrp", 88: "eigrp", 8: "egp", 46: "rsvp", 55: "mobile", 113: "pgm", 135: "mobility",
};

const IP_OPTIONS: Readonly<Record<number, string>> = { 0: "EOL", 1: "NOP", 68: "timestamp", 130: "security", 7: "RR", 137: "SSRR", 131: "LSRR", 148: "RA", 82: "traceroute" };
const FRAG_FLAGS: ReadonlyArray<readonly [number, string]> = [[0x2000, "+"], [0x4000, "DF"], [0x8000, "rsvd"]];

/** The IP header being printed, for the layers above (checksums, quoted headers). */
export interface IpCtx {
  /** 4 or 6. */
  ver: 4 | 6;
  /** Offset of the IP header. */
  off: number;
  /** Offset of the destination address for pseudo-header checksums (a source route's last hop). */
  dstOff: number;
}

/** tcpdump's ipN_print: IPv4 or IPv6 by the version nibble. */
export function ipNPrint(nd: Nd, off: number, length: number): void {
  nd.protocol = "ipn";
  if (length < 1) {
    nd.print(`truncated-ip ${length}`);
    return;
  }
  const v = nd.u8(off) & 0xf0;
  if (v === 0x40) ipPrint(nd, off, length);
  else if (v === 0x60) ip6Print(nd, off, length);
  else nd.print(`unknown ip ${v >> 4}`);
}

function printRoute(nd: Nd, cp: number, length: number): void {
  if (length < 3) {
    nd.print(` [bad length ${length}]`);
    return;
  }
  if ((length + 1) & 3) nd.print(` [bad length ${length}]`);
  const ptr = nd.u8(cp + 2) - 1;
  if (ptr < 3 || (ptr + 1) & 3 || ptr > length + 1) nd.print(` [bad ptr ${nd.u8(cp + 2)}]`);
  for (let len = 3; len < length; len += 4) {
    nd.check(cp + len, 4);
    nd.print(` ${nd.ip4(cp + len)}`);
    if (ptr > len) nd.print(",");
  }
}

function printTs(nd: Nd, cp: number, length: number): void {
  if (length < 4) {
    nd.print(`[bad length ${length}]`);
    return;
  }
  nd.print(" TS{");
  const flag = nd.u8(cp + 3);
  const hoplen = (flag & 0xf) !== 0 ? 8 : 4;
  if ((length - 4) & (hoplen - 1)) nd.print(`[bad length ${length}]`);
  const ptr = nd.u8(cp + 2) - 1;
  let len = 0;
  if (ptr < 4 || (ptr - 4) & (hoplen - 1) || ptr > length + 1) nd.print(`[bad ptr ${nd.u8(cp + 2)}]`);
  let ok = true;
  switch (flag & 0xf) {
    case 0:
      nd.print("TSONLY");
      break;
    case 1:
      nd.print("TS+ADDR");
      break;
    case 3:
      nd.print("PRESPEC");
      break;
    default:
      nd.print(`[bad ts type ${flag & 0xf}]`);
      ok = false;
  }
  if (ok) {
    let type = " ";
    for (len = 4; len < length; len += hoplen) {
      if (ptr === len) type = " ^ ";
      nd.check(cp + len, hoplen);
      nd.print(`${type}${nd.be32(cp + len + hoplen - 4)}@${hoplen !== 8 ? "" : nd.ip4(cp + len)}`);
      type = " ";
    }
  }
  nd.print(ptr === len ? " ^ " : "");
  if (flag >> 4) nd.print(` [${flag >> 4} hops not recorded]} `);
  else nd.print("}");
}

/** tcpdump's ip_optprint; false when the options ran past the capture. */
function printOptions(nd: Nd, cp: number, length: number): boolean {
  let sep = "";
  try {
    while (length > 0) {
      nd.print(sep);
      sep = ",";
      const code = nd.u8(cp);
      nd.print(tok(IP_OPTIONS, "unknown %u", code));
      let optLen: number;
      if (code === 1 || code === 0) optLen = 1;
      else {
        optLen = nd.u8(cp + 1);
        if (optLen < 2) {
          nd.print(` [bad length ${optLen}]`);
          return true;
        }
      }
      if (optLen > length) {
        nd.print(` [bad length ${optLen}]`);
        return true;
      }
      nd.check(cp, optLen);
      switch (code) {
        case 0:
          return true;
        case 68:
          printTs(nd, cp, optLen);
          break;
        case 7:
        case 137:
        case 131:
          printRoute(nd, cp, optLen);
          break;
        case 148:
          if (optLen < 4) {
            nd.print(` [bad length ${optLen}]`);
            break;
          }
          nd.check(cp + 3, 1);
          if (nd.be16(cp + 2) !== 0) nd.print(` value ${nd.be16(cp + 2)}`);
          break;
      }
      cp += optLen;
      length -= optLen;
    }
  } catch (e) {
    if (e instanceof Truncated) return false;
    throw e;
  }
  return true;
}

/** The final destination of a valid LSRR/SSRR option (for pseudo-header checksums), else the header's. */
function findDst(nd: Nd, ip: number): number {
  const hl = (nd.b[ip]! & 0x0f) * 4;
  let cp = ip + 20;
  let length = hl - 20;
  while (length > 0) {
    if (!nd.ttest(cp, 1)) break;
    const tt = nd.b[cp]!;
    let len: number;
    if (tt === 0) break;
    else if (tt === 1) len = 1;
    else {
      if (!nd.ttest(cp + 1, 1)) break;
      len = nd.b[cp + 1]!;
      if (len < 2) break;
    }
    if (length < len || !nd.ttest(cp, len)) break;
    if ((tt === 137 || tt === 131) && len >= 7) return cp + len - 4;
    cp += len;
    length -= len;
  }
  return ip + 16;
}

/**
 * Prints the IPv4 packet at `off`; `length` is what the layer below says is left (the wire
 * length: a shorter capture is a truncation, not a different packet).
 */
export function ipPrint(nd: Nd, off: number, length: number): void {
  nd.protocol = "ip";
  const v = nd.u8(off) >> 4;
  if (v !== 4) {
    nd.print(v === 6 ? "IP6, wrong link-layer encapsulation" : `IP${v}`);
    nd.print(" (invalid)");
    return;
  }
  if (!nd.flags.e) nd.print("IP ");
  nd.check(off, 20);
  if (length < 20) {
    nd.print(`truncated-ip ${length}`);
    return;
  }
  const hlen = (nd.u8(off) & 0x0f) * 4;
  if (hlen < 20) {
    nd.print(`bad-hlen ${hlen}`);
    return;
  }
  let len = nd.be16(off + 2);
  if (length < len) nd.print(`truncated-ip - ${len - length} bytes missing! `);
  if (len < hlen) {
    nd.print(`bad-len ${len}`);
    return;
  }
  nd.pushSnap(off, len);
  try {
    len -= hlen;
    const frag = nd.be16(off + 6);
    const proto = nd.u8(off + 9);
    if (nd.v) {
      const tos = nd.u8(off + 1);
      nd.print(`(tos 0x${tos.toString(16)}`);
      nd.print(["", ",ECT(1)", ",ECT(0)", ",CE"][tos & 3]!);
      const ttl = nd.u8(off + 8);
      if (ttl >= 1) nd.print(`, ttl ${ttl}`);
      nd.print(`, id ${nd.be16(off + 4)}, offset ${(frag & 0x1fff) * 8}, flags [${bits(FRAG_FLAGS, "none", frag & 0xe000)}], proto ${tok(IPPROTO_NAMES, "unknown", proto)} (${proto})`);
      nd.print(`, length ${nd.be16(off + 2)}`);
      let truncated = false;
      if (hlen > 20) {
        nd.print(", options (");
        if (!printOptions(nd, off + 20, hlen - 20)) {
          nd.print(" [truncated-option]");
          truncated = true;
        }
        nd.print(")");
      }
      if (off + hlen <= nd.snapend) {
        const sum = inCksum(nd.b, off, hlen);
        if (sum !== 0) {
          const field = nd.be16(off + 10);
          nd.print(`, bad cksum ${field.toString(16)} (->${cksumShouldBe(field, sum).toString(16)})!`);
        }
      }
      nd.print(")\n    ");
      if (truncated) {
        nd.print(`${nd.ip4(off + 12)} > ${nd.ip4(off + 16)}: `);
        nd.print(` [|${nd.protocol}]`);
        return;
      }
    }
    if ((frag & 0x1fff) === 0) {
      if (proto !== 6 && proto !== 17) nd.print(`${nd.ip4(off + 12)} > ${nd.ip4(off + 16)}: `);
      if (!nd.ttest(off, hlen)) {
        nd.print(` [remaining caplen(${nd.avail(off)}) < header length(${hlen})]`);
        nd.trunc();
      }
      const dstOff = hlen === 20 ? off + 16 : findDst(nd, off);
      ipDemux(nd, off + hlen, len, { ver: 4, off, dstOff }, (frag & 0x2000) !== 0, nd.u8(off + 8), proto);
    } else {
      nd.print(`${nd.ip4(off + 12)} > ${nd.ip4(off + 16)}: ip-proto-${proto}`);
    }
  } finally {
    nd.popSnap();
  }
}

/**
 * tcpdump's ip_demux_print: the protocol `nh` at `off` (`length` bytes), inside IPv4 or IPv6.
 * `fragmented`: a first fragment (checksums are not checked), `ttl` the IP TTL / hop limit.
 */
export function ipDemux(nd: Nd, off: number, length: number, ip: IpCtx, fragmented: boolean, ttl: number, nh: number): void {
  for (;;) {
    switch (nh) {
      case 51: {
        if (!nd.ttest(off, 1)) {
          nd.protocol = "ah";
          nd.print(" [|ah]");
          return;
        }
        const next = nd.u8(off);
        const advance = ahPrint(nd, off);
        if (advance <= 0) return;
        off += advance;
        length -= advance;
        nh = next;
        continue;
      }
      case 50:
        espPrint(nd, off, length);
        return;
      case 6:
        tcpPrint(nd, off, length, ip, fragmented);
        return;
      case 17:
        udpPrint(nd, off, length, ip, fragmented, ttl);
        return;
      case 1:
        if (ip.ver === 4) icmpPrint(nd, off, length, ip, fragmented);
        else nd.print("[ICMP requires IPv4] (invalid)");
        return;
      case 58:
        if (ip.ver === 6) icmp6Print(nd, off, length, ip, fragmented);
        else nd.print("[ICMPv6 requires IPv6] (invalid)");
        return;
      case 77:
        nd.print(` nd ${length}`);
        return;
      case 89:
        if (ip.ver === 4) ospfPrint(nd, off, length, ip);
        else ospf6Print(nd, off, length);
        return;
      case 2:
        if (ip.ver === 4) igmpPrint(nd, off, length);
        else nd.print("[IGMP requires IPv4] (invalid)");
        return;
      case 4:
        ipPrint(nd, off, length);
        return;
      case 41:
        ip6Print(nd, off, length);
        return;
      case 47:
        grePrint(nd, off, length);
        return;
      case 103:
        pimPrint(nd, off, length, ip);
        return;
      case 112:
        vrrpPrint(nd, off, length, ip, ttl);
        return;
      case 59:
        nd.print("no next header");
        return;
      case 143:
        if (ip.ver === 6) etherPrint(nd, off, length, nd.avail(off));
        else nd.print("[Ethernet requires IPv6] (invalid)");
        return;
      default:
        // protocols tcpdump decodes and tunkit leaves as a number
        if (THEIR_PROTOS[nh]) nd.notDecoded = THEIR_PROTOS[nh];
        nd.print(` ip-proto-${nh} ${length}`);
        return;
    }
  }
}
