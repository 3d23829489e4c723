/**
 * IPv6 in tcpdump's words (print-ip6.c and friends): the fixed header (with -v: class,
 * flowlabel, hop limit, next header, payload length), the extension headers (HBH with a jumbo
 * payload, DSTOPT, RT6 types 0/2/4, frag), then the protocol inside through {@link ipDemux}.
 *
 * @module
 */
import { Truncated, tok, type Nd } from "./nd.ts";
import { IPPROTO_NAMES } from "./util.ts";
import { ipDemux } from "./ip.ts";

/**
 * The address a pseudo-header checksum uses as destination: the last address of a type 0/2
 * routing header, the first segment of a type 4 one, else the header's destination.
 */
export function ip6FindDst(nd: Nd, ip6: number): number {
  let dst = ip6 + 24;
  let cp = ip6;
  let advance = 40;
  let nh = nd.b[ip6 + 6] ?? 59;
  try {
    while (cp < nd.snapend) {
      cp += advance;
      switch (nh) {
        case 0:
        case 60:
        case 62:
        case 135:
          advance = (nd.u8(cp + 1) + 1) << 3;
          nh = nd.u8(cp);
          break;
        case 44:
          advance = 8;
          nh = nd.u8(cp);
          break;
        case 43: {
          nd.check(cp, 4);
          let len = nd.u8(cp + 1);
          const type = nd.u8(cp + 2);
          if (type === 0 || type === 2) {
            if (len % 2 === 1) return dst;
            len >>= 1;
            let p = cp + 8;
            for (let i = 0; i < len; i++) {
              nd.check(p, 16);
              dst = p;
              p += 16;
            }
          } else if (type === 4) {
            if (len % 2 === 1) return dst;
            nd.check(cp + 8, 16);
            dst = cp + 8;
          }
          return dst;
        }
        default:
          return dst;
      }
    }
  } catch (e) {
    if (!(e instanceof Truncated)) throw e;
  }
  return dst;
}

/** Result of an options walk: -1 truncated/invalid, else 0; sets jumbo when a valid one is found. */
function optProcess(nd: Nd, bp: number, len: number, hbh: { payloadLen: number; jumbo: boolean } | undefined): number {
  if (len === 0) return 0;
  let foundJumbo = false;
  let optlen = 0;
  for (let i = 0; i < len; i += optlen) {
    const t = nd.u8(bp + i);
    if (t === 0) optlen = 1;
    else if (i + 1 < len) optlen = nd.u8(bp + i + 1) + 2;
    else return -1;
    if (i + optlen > len) return -1;
    switch (t) {
      case 0:
        if (nd.v) nd.print("(pad1)");
        break;
      case 1:
        if (len - i < 2) {
          nd.print("(padn: trunc)");
          return -1;
        }
        if (nd.v) nd.print("(padn)");
        break;
      case 5:
        if (len - i < 4) {
          nd.print("(rtalert: trunc)");
          return -1;
        }
        if (nd.u8(bp + i + 1) !== 2) {
          nd.print(`(rtalert: invalid len ${nd.u8(bp + i + 1)})`);
          return -1;
        }
        if (nd.v) nd.print(`(rtalert: 0x${nd.be16(bp + i + 2).toString(16).padStart(4, "0")}) `);
        break;
      case 0xc2: {
        if (len - i < 6) {
          nd.print("(jumbo: trunc)");
          return -1;
        }
        if (nd.u8(bp + i + 1) !== 4) {
          nd.print(`(jumbo: invalid len ${nd.u8(bp + i + 1)})`);
          return -1;
        }
        const jl = nd.be32(bp + i + 2);
        if (foundJumbo) {
          if (nd.v) nd.print(`(jumbo: ${jl} - already seen) `);
        } else {
          foundJumbo = true;
          if (!hbh) {
            if (nd.v) nd.print(`(jumbo: ${jl} - not a hop-by-hop option) `);
          } else if (hbh.payloadLen !== 0) {
            if (nd.v) nd.print(`(jumbo: ${jl} - payload len != 0) `);
          } else if (jl < 65536) {
            if (nd.v) nd.print(`(jumbo: ${jl} - < 65536) `);
          } else {
            hbh.jumbo = true;
            hbh.payloadLen = jl;
            if (nd.v) nd.print(`(jumbo: ${jl}) `);
          }
        }
        break;
      }
      case 0xc9:
        if (len - i < 18) {
          nd.print("(homeaddr: trunc)");
          return -1;
        }
        if (nd.u8(bp + i + 1) < 16) {
          nd.print(`(homeaddr: invalid len ${nd.u8(bp + i + 1)})`);
          return -1;
        }
        if (nd.v) {
          nd.print(`(homeaddr: ${nd.ip6(bp + i + 2)}`);
          if (nd.u8(bp + i + 1) > 16 && soptPrint(nd, bp + i + 18, optlen - 18) === -1) return -1;
          nd.print(")");
        }
        break;
      default:
        if (len - i < 2) {
          nd.print(`(type ${t}: trunc)`);
          return -1;
        }
        if (nd.v) nd.print(`(opt_type 0x${t.toString(16).padStart(2, "0")}: len=${nd.u8(bp + i + 1)})`);
    }
  }
  if (nd.v) nd.print(" ");
  return 0;
}

function soptPrint(nd: Nd, bp: number, len: number): number {
  let optlen = 0;
  for (let i = 0; i < len; i += optlen) {
    const t = nd.u8(bp + i);
    if (t === 0) optlen = 1;
    else if (i + 1 < len) optlen = nd.u8(bp + i + 1) + 2;
    else return -1;
    if (i + optlen > len) return -1;
    if (t === 0) nd.print(", pad1");
    else if (t === 1) {
      if (len - i < 2) {
        nd.print(", padn: trunc");
        return -1;
      }
      nd.print(", padn");
    } else {
      if (len - i < 2) {
        nd.print(`, sopt_type ${t}: trunc)`);
        return -1;
      }
      nd.print(`, sopt_type 0x${t.toString(16).padStart(2, "0")}: len=${nd.u8(bp + i + 1)}`);
    }
  }
  return 0;
}

/** Hop-by-hop options header; returns its length or -1 (printed). */
function hbhProcess(nd: Nd, bp: number, hbh: { payloadLen: number; jumbo: boolean }): number {
  nd.protocol = "hbhopt";
  const len = (nd.u8(bp + 1) + 1) << 3;
  nd.check(bp, len);
  nd.print("HBH ");
  if (optProcess(nd, bp + 2, len - 2, hbh) === -1) {
    nd.print(` [|${nd.protocol}]`);
    return -1;
  }
  return len;
}

function dstoptProcess(nd: Nd, bp: number): number {
  nd.protocol = "dstopt";
  const len = (nd.u8(bp + 1) + 1) << 3;
  nd.check(bp, len);
  nd.print("DSTOPT ");
  if (nd.v && optProcess(nd, bp + 2, len - 2, undefined) === -1) {
    nd.print(` [|${nd.protocol}]`);
    return -1;
  }
  return len;
}

/** sizeof(ip6_hdr) + plen - (bp - bp2) - 8 as the size_t tcpdump prints (wraps below zero). */
function sizeT(v: number): string {
  return v >= 0 ? String(v) : (18446744073709551616n + BigInt(v)).toString();
}

function frag6Print(nd: Nd, bp: number, ip6: number): number {
  nd.protocol = "frag6";
  const offlg = nd.be16(bp + 2);
  const rest = sizeT(40 + nd.be16(ip6 + 4) - (bp - ip6) - 8);
  if (nd.v) nd.print(`frag (0x${nd.be32(bp + 4).toString(16).padStart(8, "0")}:${offlg & 0xfff8}|${rest})`);
  else nd.print(`frag (${offlg & 0xfff8}|${rest})`);
  if ((offlg & 0xfff8) !== 0) return -1;
  nd.print(" ");
  return 8;
}

function rt6Print(nd: Nd, bp: number): number {
  nd.protocol = "rt6";
  nd.print("RT6");
  const len = nd.u8(bp + 1);
  nd.print(` (len=${len}`);
  const type = nd.u8(bp + 2);
  nd.print(`, type=${type}`);
  if (type === 0) nd.print(" [Deprecated]");
  nd.print(`, segleft=${nd.u8(bp + 3)}`);
  /** The address list of types 0, 2 and 4, then the header's length (-1: invalid). */
  const addresses = (): number => {
    if (len % 2 === 1) {
      nd.print(` (invalid length ${len}) (invalid)`);
      return -1;
    }
    let p = bp + 8;
    for (let i = 0; i < len >> 1; i++) {
      nd.print(`, [${i}]${nd.ip6(p)}`);
      p += 16;
    }
    nd.print(") ");
    return (nd.u8(bp + 1) + 1) << 3;
  };
  if (type === 0 || type === 2) {
    const rsv = nd.be32(bp + 4);
    if (rsv || nd.v) nd.print(`, rsv=0x${rsv.toString(16)}`);
    return addresses();
  }
  if (type === 4) {
    nd.print(`, last-entry=${nd.u8(bp + 4)}`);
    const flags = nd.u8(bp + 5);
    if (flags || nd.v) nd.print(`, flags=0x${flags.toString(16)}`);
    nd.print(`, tag=${nd.be16(bp + 6).toString(16)}`);
    return addresses();
  }
  nd.print(" (unknown type) (invalid)");
  return -1;
}

/** Prints the IPv6 packet at `off`; `length` is the wire length left (see ipPrint). */
export function ip6Print(nd: Nd, off: number, length: number): void {
  nd.protocol = "ip6";
  nd.check(off, 40);
  if (length < 40) {
    nd.print(`truncated-ip6 ${length}`);
    return;
  }
  if (!nd.flags.e) nd.print("IP6 ");
  if (nd.u8(off) >> 4 !== 6) {
    nd.print(`version error: ${nd.u8(off) >> 4} != 6`);
    return;
  }
  const hbh = { payloadLen: nd.be16(off + 4), jumbo: false };
  let len: number;
  if (hbh.payloadLen !== 0) {
    len = hbh.payloadLen + 40;
    if (length < len) nd.print(`truncated-ip6 - ${len - length} bytes missing!`);
  } else len = length + 40;
  let nh = nd.u8(off + 6);
  if (nd.v) {
    const flow = nd.be32(off);
    nd.print("(");
    if (flow & 0x0ff00000) nd.print(`class 0x${((flow & 0x0ff00000) >>> 20).toString(16).padStart(2, "0")}, `);
    if (flow & 0x000fffff) nd.print(`flowlabel 0x${(flow & 0x000fffff).toString(16).padStart(5, "0")}, `);
    nd.print(`hlim ${nd.u8(off + 7)}, next-header ${tok(IPPROTO_NAMES, "unknown", nh)} (${nh}) payload length: ${hbh.payloadLen}) `);
  }
  nd.pushSnap(off, len);
  try {
    let cp = off;
    let advance = 40;
    let total = 0;
    let foundExt = false;
    let foundHbh = false;
    let fragmented = false;
    let ph = 255;
    while (cp < nd.snapend && advance > 0) {
      if (len < advance) {
        nd.print(` [|${nd.protocol}]`);
        return;
      }
      cp += advance;
      len -= advance;
      total += advance;
      if (cp === off + 40 && nh !== 6 && nh !== 17) nd.print(`${nd.ip6(off + 8)} > ${nd.ip6(off + 24)}: `);
      switch (nh) {
        case 0:
          if (foundHbh) {
            nd.print("[The Hop-by-Hop Options header was already found] (invalid)");
            return;
          }
          if (ph !== 255) {
            nd.print("[The Hop-by-Hop Options header don't follow the IPv6 header] (invalid)");
            return;
          }
          advance = hbhProcess(nd, cp, hbh);
          if (hbh.payloadLen === 0 && !hbh.jumbo) {
            nd.print("[No valid Jumbo Payload Hop-by-Hop option found] (invalid)");
            return;
          }
          if (advance < 0) return;
          foundExt = true;
          foundHbh = true;
          nh = nd.u8(cp);
          break;
        case 60:
          advance = dstoptProcess(nd, cp);
          if (advance < 0) return;
          foundExt = true;
          nh = nd.u8(cp);
          break;
        case 44:
          advance = frag6Print(nd, cp, off);
          if (advance < 0 || nd.snapend <= cp + advance) return;
          foundExt = true;
          nh = nd.u8(cp);
          fragmented = true;
          break;
        case 62:
        case 135:
          mobilityPrint(nd, cp);
          return;
        case 43:
          nd.check(cp, 1);
          advance = rt6Print(nd, cp);
          if (advance < 0) return;
          foundExt = true;
          nh = nd.u8(cp);
          break;
        default: {
          if (hbh.jumbo) {
            len = hbh.payloadLen + 40;
            if (len < total) {
              nd.print(` [|${nd.protocol}]`);
              return;
            }
            if (length < len) nd.print(`truncated-ip6 - ${len - length} bytes missing!`);
            nd.changeSnap(off, len);
            len -= total;
          } else if (hbh.payloadLen === 0) {
            if (foundExt) {
              nd.print(` [|${nd.protocol}]`);
              return;
            }
            len = 40;
            nd.changeSnap(off, len);
            len -= total;
          }
          ipDemux(nd, cp, len, { ver: 6, off, dstOff: ip6FindDst(nd, off) }, fragmented, nd.u8(off + 7), nh);
          return;
        }
      }
      ph = nh;
      nd.protocol = "ip6";
    }
  } finally {
    nd.popSnap();
  }
}

const MOBILITY_TYPES: Readonly<Record<number, string>> = {
  0: "BRR", 1: "HoTI", 2: "CoTI", 3: "HoT", 4: "CoT", 5: "BU", 6: "BA", 7: "BE",
};

/** The Mobility header (RFC 6275) at default verbosity: "mobility: BU seq#=..." is not reproduced; its type only. */
function mobilityPrint(nd: Nd, bp: number): void {
  nd.protocol = "mobility";
  nd.notDecoded = "mobility";
  const type = nd.u8(bp + 2);
  nd.print(`mobility: ${tok(MOBILITY_TYPES, "type-#%u", type)}`);
}
