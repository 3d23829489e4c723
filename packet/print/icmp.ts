/**
 * ICMP (IPv4) in tcpdump's words (print-icmp.c): echo, unreachables with the quoted port,
 * redirects, router advertisements, time exceeded, parameter problems, timestamps, masks;
 * with -v a wrong checksum, the quoted IP packet on its own line and RFC 4884 extensions.
 *
 * @module
 */
import { tok, type Nd } from "./nd.ts";
import { cksumShouldBe, inCksum, unknownData } from "./util.ts";
import { ipPrint, type IpCtx } from "./ip.ts";

const ICMP2STR: Readonly<Record<number, string>> = {
  0: "echo reply", 4: "source quench", 8: "echo request", 10: "router solicitation", 13: "time stamp request", 14: "time stamp reply",
  15: "information request", 16: "information reply", 17: "address mask request",
};

function tstamp(t: number): string {
  const msec = t % 1000;
  let sec = Math.floor(t / 1000);
  let min = Math.floor(sec / 60);
  sec -= min * 60;
  const hrs = Math.floor(min / 60);
  min -= hrs * 60;
  const p2 = (n: number) => String(n).padStart(2, "0");
  return `${p2(hrs)}:${p2(min)}:${p2(sec)}.${String(msec).padStart(3, "0")}`;
}

const isErrType = (t: number) => t === 3 || t === 4 || t === 5 || t === 11 || t === 12;

/** Prints the ICMP message at `bp` (`plen` bytes per the IP header). */
export function icmpPrint(nd: Nd, bp: number, plen: number, _ip: IpCtx, fragmented: boolean): void {
  nd.protocol = "icmp";
  const type = nd.u8(bp);
  const code = nd.u8(bp + 1);
  const oip = bp + 8;
  let str: string;
  switch (type) {
    case 0:
    case 8:
      str = `echo ${type === 8 ? "request" : "reply"}, id ${nd.be16(bp + 4)}, seq ${nd.be16(bp + 6)}`;
      break;
    case 3:
      switch (code) {
        case 0:
          str = `net ${nd.ip4(oip + 16)} unreachable`;
          break;
        case 1:
          str = `host ${nd.ip4(oip + 16)} unreachable`;
          break;
        case 2:
          str = `${nd.ip4(oip + 16)} protocol ${nd.u8(oip + 9)} unreachable`;
          break;
        case 3: {
          nd.check(oip + 9, 1);
          const hlen = (nd.u8(oip) & 0x0f) * 4;
          const dport = nd.be16(oip + hlen + 2);
          const p = nd.u8(oip + 9);
          if (p === 6) str = `${nd.ip4(oip + 16)} tcp port ${dport} unreachable`;
          else if (p === 17) str = `${nd.ip4(oip + 16)} udp port ${dport} unreachable`;
          else str = `${nd.ip4(oip + 16)} protocol ${p} port ${dport} unreachable`;
          break;
        }
        case 4: {
          const mtu = nd.be16(bp + 6);
          str = mtu ? `${nd.ip4(oip + 16)} unreachable - need to frag (mtu ${mtu})` : `${nd.ip4(oip + 16)} unreachable - need to frag`;
          break;
        }
        case 5:
          str = `${nd.ip4(oip + 16)} unreachable - source route failed`;
          break;
        case 6:
          str = `net ${nd.ip4(oip + 16)} unreachable - unknown`;
          break;
        case 7:
          str = `host ${nd.ip4(oip + 16)} unreachable - unknown`;
          break;
        case 8:
          str = `${nd.ip4(oip + 16)} unreachable - source host isolated`;
          break;
        case 9:
          str = `net ${nd.ip4(oip + 16)} unreachable - admin prohibited`;
          break;
        case 10:
          str = `host ${nd.ip4(oip + 16)} unreachable - admin prohibited`;
          break;
        case 11:
          str = `net ${nd.ip4(oip + 16)} unreachable - tos prohibited`;
          break;
        case 12:
          str = `host ${nd.ip4(oip + 16)} unreachable - tos prohibited`;
          break;
        case 13:
          str = `host ${nd.ip4(oip + 16)} unreachable - admin prohibited filter`;
          break;
        case 14:
          str = `host ${nd.ip4(oip + 16)} unreachable - host precedence violation`;
          break;
        case 15:
          str = `host ${nd.ip4(oip + 16)} unreachable - precedence cutoff`;
          break;
        default:
          str = `${nd.ip4(oip + 16)} unreachable - #${code}`;
      }
      break;
    case 5: {
      const words = ["redirect %s to net %s", "redirect %s to host %s", "redirect-tos %s to net %s", "redirect-tos %s to host %s"];
      const dst = nd.ip4(oip + 16);
      const gw = nd.ip4(bp + 4);
      str = code < 4 ? words[code]!.replace("%s", dst).replace("%s", gw) : `redirect-#${code} ${dst} to ${gw}`;
      break;
    }
    case 9: {
      str = "router advertisement";
      nd.check(bp + 4, 4);
      const lifetime = nd.be16(bp + 6);
      const p2 = (n: number) => String(n).padStart(2, "0");
      str += " lifetime ";
      if (lifetime < 60) str += `${lifetime}`;
      else if (lifetime < 3600) str += `${Math.floor(lifetime / 60)}:${p2(lifetime % 60)}`;
      else str += `${Math.floor(lifetime / 3600)}:${p2(Math.floor((lifetime % 3600) / 60))}:${p2(lifetime % 60)}`;
      let num = nd.u8(bp + 4);
      str += ` ${num}:`;
      const size = nd.u8(bp + 5);
      if (size !== 2) {
        str += ` [size ${size}]`;
        break;
      }
      let idp = bp + 8;
      try {
        while (num > 0) {
          nd.check(idp, 8);
          str += ` {${nd.ip4(idp)} ${nd.be32(idp + 4)}}`;
          idp += 8;
          num--;
        }
      } catch (e) {
        // tcpdump's trunc label: what was built is lost, only the marker is printed
        nd.print(` [|${nd.protocol}]`);
        void e;
        return;
      }
      break;
    }
    case 11:
      nd.check(oip + 16, 4);
      str = code === 0 ? "time exceeded in-transit" : code === 1 ? "ip reassembly time exceeded" : `time exceeded-#${code}`;
      break;
    case 12:
      str = code ? `parameter problem - code ${code}` : `parameter problem - octet ${nd.u8(bp + 4)}`;
      break;
    case 18:
      str = `address mask is 0x${nd.be32(bp + 8).toString(16).padStart(8, "0")}`;
      break;
    case 13:
      str = `time stamp query id ${nd.be16(bp + 4)} seq ${nd.be16(bp + 6)}`;
      break;
    case 14:
      nd.check(bp + 16, 4);
      str = `time stamp reply id ${nd.be16(bp + 4)} seq ${nd.be16(bp + 6)}: org ${tstamp(nd.be32(bp + 8))}, recv ${tstamp(nd.be32(bp + 12))}, xmit ${tstamp(nd.be32(bp + 16))}`;
      break;
    default:
      str = tok(ICMP2STR, "type-#%u", type);
  }
  nd.print(`ICMP ${str}, length ${plen}`);
  if (nd.v && !fragmented && nd.ttest(bp, plen)) {
    const sum = inCksum(nd.b, bp, plen);
    if (sum !== 0) {
      const field = nd.be16(bp + 2);
      nd.print(` (wrong icmp cksum ${field.toString(16)} (->${cksumShouldBe(field, sum).toString(16)})!)`);
    }
  }
  if (nd.v >= 1 && isErrType(type)) {
    nd.print("\n\t");
    const save = nd.snapend;
    const inner = nd.be16(oip + 2);
    nd.snapend = Math.min(oip + inner, nd.snapend);
    try {
      ipPrint(nd, oip, inner);
    } finally {
      nd.snapend = save;
    }
  }
  nd.protocol = "icmp";
  if (nd.v >= 1 && plen > 136 && (type === 3 || type === 11 || type === 12)) {
    nd.check(bp, 141);
    if (nd.u8(bp + 5) === 0 && nd.ttest(bp + 136, plen - 136)) {
      if (inCksum(nd.b, bp + 136, plen - 136)) return;
    }
    const ver = (nd.u8(bp + 136) & 0xf0) >> 4;
    nd.print(`\n\tICMP Multi-Part extension v${ver}`);
    if (ver !== 2) {
      nd.print(" packet not supported");
      return;
    }
    let hlen = plen - 136;
    if (nd.ttest(bp + 136, hlen)) {
      nd.print(`, checksum 0x${nd.be16(bp + 138).toString(16).padStart(4, "0")} (${inCksum(nd.b, bp + 136, hlen) ? "in" : ""}correct), length ${hlen}`);
    }
    hlen -= 4;
    let obj = bp + 140;
    while (hlen > 4) {
      nd.check(obj, 4);
      let objLen = nd.be16(obj);
      const cls = nd.u8(obj + 2);
      const ctype = nd.u8(obj + 3);
      obj += 4;
      nd.print(`\n\t  ${cls === 1 ? "MPLS Stack Entry" : cls === 2 ? "Interface Identification" : "unknown"} Object (${cls}), Class-Type: ${ctype}, length ${objLen}`);
      hlen -= 4;
      if (cls === 0 || objLen < 4) return;
      objLen -= 4;
      if (cls === 1 && ctype === 1) {
        const raw = nd.be32(obj);
        nd.print(`\n\t    label ${raw >>> 12}, tc ${(raw >> 9) & 7}`);
        if (raw & 0x100) nd.print(", [S]");
        nd.print(`, ttl ${raw & 0xff}`);
      } else unknownData(nd, obj, "\n\t    ", objLen);
      if (hlen < objLen) break;
      hlen -= objLen;
      obj += objLen;
    }
  }
}
