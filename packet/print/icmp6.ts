/**
 * ICMPv6 in tcpdump's words (print-icmp6.c): errors with the quoted address or port, echo,
 * MLD and MLDv2 (queries and reports), neighbour discovery with its options (-v), redirects,
 * router renumbering, node information (and KAME's who-are-you), home agent and mobile prefix
 * messages, RPL (DIO, DAO, DAO-ACK); with -v the checksum check first.
 *
 * @module
 */
import { HEX2, bits, ip6String, tok, type Nd } from "./nd.ts";
import { cksumShouldBe, inCksum, pseudo6, safeChar, unknownData } from "./util.ts";
import type { IpCtx } from "./ip.ts";
import { fqdnPrint } from "./dns.ts";
import { groupRecords } from "./group-records.ts";

const TYPES: Readonly<Record<number, string>> = {
  1: "destination unreachable", 2: "packet too big", 3: "time exceeded in-transit", 4: "parameter problem", 128: "echo request",
  129: "echo reply", 130: "multicast listener query", 131: "multicast listener report", 132: "multicast listener done",
  133: "router solicitation", 134: "router advertisement", 135: "neighbor solicitation", 136: "neighbor advertisement", 137: "redirect",
  138: "router renumbering", 141: "inverse neighbor solicitation", 142: "inverse neighbor advertisement", 143: "multicast listener report v2",
  144: "ha discovery request", 145: "ha discovery reply", 146: "mobile router solicitation", 147: "mobile router advertisement",
  139: "who-are-you request", 140: "who-are-you reply", 201: "mtrace message", 200: "mtrace response", 155: "RPL",
};
const UNREACH: Readonly<Record<number, string>> = { 0: "unreachable route", 1: " unreachable prohibited", 2: "beyond scope", 3: "unreachable address", 4: "unreachable port" };
const PI_FLAGS: ReadonlyArray<readonly [number, string]> = [[0x80, "onlink"], [0x40, "auto"], [0x20, "router"]];
const RA_FLAGS: ReadonlyArray<readonly [number, string]> = [[0x80, "managed"], [0x40, "other stateful"], [0x20, "home agent"], [0x02, "ipv6 only"]];
const NA_FLAGS: ReadonlyArray<readonly [number, string]> = [[0x80000000, "router"], [0x40000000, "solicited"], [0x20000000, "override"]];
const OPT_NAMES: Readonly<Record<number, string>> = {
  1: "source link-address", 2: "destination link-address", 3: "prefix info", 4: "redirected header", 5: "mtu", 25: "rdnss", 31: "dnssl",
  7: "advertisement interval", 8: "homeagent information", 24: "route info",
};
const RTPREF = ["medium", "high", "rsv", "low"];
const lifetime = (v: number) => (v === 0xffffffff ? "infinity" : `${v}s`);
const rtpref = (v: number) => RTPREF[(v & 0x18) >> 3]!;

/** The upper-layer header an error quotes: its protocol and offset, walking extension headers. */
function upperLayer(nd: Nd, bp: number): { prot: number; off: number } | undefined {
  if (!nd.ttest(bp + 6, 1)) return undefined;
  let nh = nd.b[bp + 6]!;
  let hlen = 40;
  while (bp < nd.snapend) {
    bp += hlen;
    switch (nh) {
      case 17:
      case 6:
        return nd.ttest(bp + 2, 2) ? { prot: nh, off: bp } : undefined;
      case 0:
      case 60:
      case 43:
        if (!nd.ttest(bp + 1, 1)) return undefined;
        nh = nd.b[bp]!;
        hlen = (nd.b[bp + 1]! + 1) << 3;
        break;
      case 44:
        if (!nd.ttest(bp + 2, 2)) return undefined;
        if (nd.be16(bp + 2) & 0xfff8) return undefined;
        nh = nd.b[bp]!;
        hlen = 8;
        break;
      case 51:
        if (!nd.ttest(bp + 1, 1)) return undefined;
        nh = nd.b[bp]!;
        hlen = (nd.b[bp + 1]! + 2) << 2;
        break;
      default:
        return undefined;
    }
  }
  return undefined;
}

function lladdr(nd: Nd, p: number, l: number): void {
  for (let i = 0; i < l; i++) nd.print((i ? ":" : "") + HEX2[nd.u8(p + i)]);
}

/** ND options; -1 when they run past the capture (the caller prints the truncation). */
function optPrint(nd: Nd, bp: number, resid: number): number {
  let cp = bp;
  const ep = nd.snapend;
  while (cp < ep) {
    nd.check(cp + 1, 1);
    if (resid <= 0) return 0;
    const type = nd.u8(cp);
    const len = nd.u8(cp + 1);
    if (len === 0) return -1;
    if (cp + (len << 3) > ep) return -1;
    nd.print(`\n\t  ${tok(OPT_NAMES, "unknown", type)} option (${type}), length ${len << 3} (${len}): `);
    switch (type) {
      case 1:
      case 2:
        lladdr(nd, cp + 2, (len << 3) - 2);
        break;
      case 3:
        nd.print(`${nd.ip6(cp + 16)}/${nd.u8(cp + 2)}${len !== 4 ? "badlen" : ""}, Flags [${bits(PI_FLAGS, "none", nd.u8(cp + 3))}], valid time ${lifetime(nd.be32(cp + 4))}`);
        nd.print(`, pref. time ${lifetime(nd.be32(cp + 8))}`);
        break;
      case 4:
        unknownData(nd, bp, "\n\t    ", len << 3);
        break;
      case 5:
        nd.print(` ${nd.be32(cp + 4)}${len !== 1 ? "bad option length" : ""}`);
        break;
      case 25: {
        const l = Math.floor((len - 1) / 2);
        nd.print(` lifetime ${nd.be32(cp + 4)}s,`);
        for (let i = 0; i < l; i++) nd.print(` addr: ${nd.ip6(cp + 8 + 16 * i)}`);
        break;
      }
      case 31: {
        nd.print(` lifetime ${nd.be32(cp + 4)}s, domain(s):`);
        let domp = cp + 8;
        while (domp < cp + (len << 3) && nd.u8(domp) !== 0) {
          nd.print(" ");
          domp = fqdnPrint(nd, domp, bp);
          if (domp < 0) return -1;
        }
        break;
      }
      case 7:
        nd.print(` ${nd.be32(cp + 4)}ms`);
        break;
      case 8:
        nd.print(` preference ${nd.be16(cp + 4)}, lifetime ${nd.be16(cp + 6)}`);
        break;
      case 24: {
        nd.check(cp + 4, 4);
        const in6 = new Uint8Array(16);
        if (len === 2 || len === 3) {
          const n = len === 2 ? 8 : 16;
          nd.check(cp + 8, n);
          for (let i = 0; i < n; i++) in6[i] = nd.b[cp + 8 + i]!;
        } else if (len !== 1) return -1;
        nd.print(` ${ip6String(in6, 0)}/${nd.u8(cp + 2)}`);
        nd.print(`, pref=${rtpref(nd.u8(cp + 3))}`);
        nd.print(`, lifetime=${lifetime(nd.be32(cp + 4))}`);
        break;
      }
      default:
        if (nd.v <= 1) {
          unknownData(nd, cp + 2, "\n\t  ", (len << 3) - 2);
          return 0;
        }
    }
    if (nd.v > 1) unknownData(nd, cp + 2, "\n\t    ", (len << 3) - 2);
    cp += len << 3;
    resid -= len << 3;
  }
  return 0;
}

function mld6(nd: Nd, bp: number): void {
  if (bp + 24 > nd.snapend) return;
  nd.print(`max resp delay: ${nd.be16(bp + 4)} `);
  nd.print(`addr: ${nd.ip6(bp + 8)}`);
}

function mldv2Report(nd: Nd, bp: number, len: number): void {
  if (len < 8) {
    nd.print(` [invalid len ${len}]`);
    return;
  }
  groupRecords(nd, bp, len, 16, " [v2-report-#%u]");
}

function mldv2Query(nd: Nd, bp: number, len: number): void {
  if (len < 28) {
    nd.print(` [invalid len ${len}]`);
    return;
  }
  const mrc = nd.be16(bp + 4);
  const mrt = mrc < 32768 ? mrc : ((mrc & 0x0fff) | 0x1000) << (((mrc & 0x7000) >> 12) + 3);
  if (nd.v) nd.print(` [max resp delay=${mrt}]`);
  nd.print(` [gaddr ${nd.ip6(bp + 8)}`);
  if (nd.v) {
    const f = nd.u8(bp + 24);
    if (f & 0x08) nd.print(" sflag");
    if (f & 0x07) nd.print(` robustness=${f & 0x07}`);
    const q = nd.u8(bp + 25);
    const qqi = q < 128 ? q : ((q & 0x0f) | 0x10) << (((q & 0x70) >> 4) + 3);
    nd.print(` qqi=${qqi}`);
  }
  const nsrcs = nd.be16(bp + 26);
  if (nsrcs > 0) {
    if (len < 28 + nsrcs * 16) nd.print(" [invalid number of sources]");
    else if (nd.v > 1) {
      nd.print(" {");
      for (let i = 0; i < nsrcs; i++) nd.print(` ${nd.ip6(bp + 28 + i * 16)}`);
      nd.print(" }");
    } else nd.print(`, ${nsrcs} source(s)`);
  }
  nd.print("]");
}

function dnsnamePrint(nd: Nd, cp: number, ep: number): void {
  nd.print(', "');
  while (cp < ep) {
    const i = nd.u8(cp++);
    if (i) {
      if (i > ep - cp) {
        nd.print("???");
        break;
      }
      let n = i;
      while (n-- && cp < ep) nd.print(safeChar(nd.u8(cp++)));
      if (cp + 1 < ep && nd.u8(cp)) nd.print(".");
    } else {
      if (cp === ep) nd.print(".");
      else if (cp + 1 === ep && nd.u8(cp) === 0) {
        /* truncated */
      } else nd.print("???");
      break;
    }
  }
  nd.print('"');
}

function nodeAddrFlags(i: number, reply: boolean): string {
  return `${i & 0x40 ? "a" : ""}${i & 0x20 ? "G" : ""}${i & 0x10 ? "S" : ""}${i & 0x08 ? "L" : ""}${i & 0x04 ? "C" : ""}${i & 0x02 ? "A" : ""}${reply && i & 0x01 ? "T" : ""}`;
}

function nodeinfo(nd: Nd, icmp6len: number, bp: number): void {
  const ep = nd.snapend;
  if (ep < bp) return;
  const siz = ep - bp;
  switch (nd.u8(bp)) {
    case 139: {
      if (siz === 8 + 4) {
        nd.print(" who-are-you request");
        break;
      }
      nd.print(" node information query");
      nd.check(bp, 16);
      nd.print(" (");
      const qtype = nd.be16(bp + 4);
      switch (qtype) {
        case 0:
          nd.print("noop");
          break;
        case 1: {
          nd.print("supported qtypes");
          const i = nd.be16(bp + 6);
          if (i) nd.print(` [${i & 1 ? "C" : ""}]`);
          break;
        }
        case 2:
          nd.print("DNS name");
          break;
        case 3: {
          nd.print("node addresses");
          const i = nd.be16(bp + 6);
          if (i) nd.print(` [${nodeAddrFlags(i, false)}]`);
          break;
        }
        default:
          nd.print("unknown");
      }
      if (qtype === 0 || qtype === 1) {
        if (siz !== 16 && nd.v) nd.print(", invalid len");
        nd.print(")");
        break;
      }
      if (siz === 16) {
        nd.print(", 03 draft)");
        break;
      }
      let cp = bp + 16;
      switch (nd.u8(bp + 1)) {
        case 0:
          if (!nd.ttest(bp, 32)) break;
          if (siz !== 32) {
            if (nd.v) nd.print(", invalid subject len");
            break;
          }
          nd.print(`, subject=${nd.ip6(cp)}`);
          break;
        case 1:
          nd.print(", subject=DNS name");
          if (nd.u8(cp) === ep - cp - 1) {
            if (nd.v) nd.print(", 03 draft");
            cp++;
            nd.print(', "');
            while (cp < ep) nd.print(safeChar(nd.u8(cp++)));
            nd.print('"');
          } else dnsnamePrint(nd, cp, ep);
          break;
        case 2:
          if (!nd.ttest(bp, 20)) break;
          if (siz !== 20) {
            if (nd.v) nd.print(", invalid subject len");
            break;
          }
          nd.print(`, subject=${nd.ip4(cp)}`);
          break;
        default:
          nd.print(", unknown subject");
      }
      nd.print(")");
      break;
    }
    case 140: {
      if (icmp6len > siz) {
        nd.print(` [|${nd.protocol}]`);
        return;
      }
      let needcomma = false;
      nd.check(bp, 16);
      nd.print(" node information reply");
      nd.print(" (");
      const code = nd.u8(bp + 1);
      switch (code) {
        case 0:
          if (nd.v) {
            nd.print("success");
            needcomma = true;
          }
          break;
        case 1:
        case 2:
          nd.print(code === 1 ? "refused" : "unknown");
          needcomma = true;
          if (siz !== 16 && nd.v) nd.print(", invalid length");
          break;
      }
      if (code !== 0) {
        nd.print(")");
        break;
      }
      const comma = () => {
        if (needcomma) nd.print(", ");
      };
      switch (nd.be16(bp + 4)) {
        case 0:
          comma();
          nd.print("noop");
          if (siz !== 16 && nd.v) nd.print(", invalid length");
          break;
        case 1: {
          comma();
          nd.print("supported qtypes");
          const i = nd.be16(bp + 6);
          if (i) nd.print(` [${i & 1 ? "C" : ""}]`);
          break;
        }
        case 2: {
          comma();
          nd.print("DNS name");
          let cp = bp + 16 + 4;
          if (nd.u8(cp) === ep - cp - 1) {
            if (nd.v) nd.print(", 03 draft");
            cp++;
            nd.print(', "');
            while (cp < ep) nd.print(safeChar(nd.u8(cp++)));
            nd.print('"');
          } else dnsnamePrint(nd, cp, ep);
          if ((nd.be16(bp + 6) & 1) !== 0) nd.print(` [TTL=${nd.be32(bp + 16)}]`);
          break;
        }
        case 3: {
          comma();
          nd.print("node addresses");
          let i = 16;
          while (i < siz) {
            if (i + 4 + 16 > siz) break;
            nd.print(` ${nd.ip6(bp + i + 4)}(${nd.be32(bp + i)})`);
            i += 20;
          }
          const f = nd.be16(bp + 6);
          if (!f) break;
          nd.print(` [${nodeAddrFlags(f, true)}]`);
          break;
        }
        default:
          comma();
          nd.print("unknown");
      }
      nd.print(")");
      break;
    }
  }
}

function rrenum(nd: Nd, bp: number): void {
  if (nd.snapend < bp) return;
  nd.check(bp + 12, 4);
  const code = nd.u8(bp + 1);
  nd.print(code === 0 ? ", command" : code === 1 ? ", result" : code === 255 ? ", sequence number reset" : `, code-#${code}`);
  nd.print(`, seq=${nd.be32(bp + 4)}`);
  if (nd.v) {
    const f = nd.u8(bp + 9);
    nd.print("[");
    if (f) nd.print(`${f & 0x80 ? "T" : ""}${f & 0x40 ? "R" : ""}${f & 0x20 ? "A" : ""}${f & 0x10 ? "S" : ""}${f & 0x08 ? "P" : ""},`);
    nd.print(`seg=${nd.u8(bp + 8)},`);
    nd.print(`maxdelay=${nd.be16(bp + 10)}`);
    const rsv = nd.be32(bp + 12);
    if (rsv) nd.print(`rsvd=0x${rsv.toString(16)}`);
    nd.print("]");
  }
  if (code === 0) {
    const m = bp + 16;
    let cp = m + 24;
    nd.check(m + 8, 16);
    nd.print(nd.v > 1 ? "\n\t" : " ");
    nd.print("match(");
    const mc = nd.u8(m);
    nd.print(mc === 1 ? "add" : mc === 2 ? "change" : mc === 3 ? "setglobal" : `#${mc}`);
    if (nd.v) nd.print(`,ord=${nd.u8(m + 2)},min=${nd.u8(m + 4)},max=${nd.u8(m + 5)}`);
    nd.print(`,${ip6String(nd.b, m + 8)}/${nd.u8(m + 3)})`);
    let n = nd.u8(m + 1) - 3;
    if (n % 4) {
      nd.print(` [|${nd.protocol}]`);
      return;
    }
    n /= 4;
    while (n-- > 0) {
      const u = cp;
      cp += 32;
      nd.check(u + 16, 16);
      nd.print(nd.v > 1 ? "\n\t" : " ");
      nd.print("use(");
      const uf = nd.u8(u + 12);
      if (uf) nd.print(`${uf & 0x80 ? "V" : ""}${uf & 0x40 ? "P" : ""},`);
      if (nd.v) {
        nd.print(`mask=0x${nd.u8(u + 2).toString(16)},raflags=0x${nd.u8(u + 3).toString(16)},`);
        const vl = nd.be32(u + 4);
        nd.print(vl === 0xffffffff ? "vltime=infty," : `vltime=${vl},`);
        const pl = nd.be32(u + 8);
        nd.print(pl === 0xffffffff ? "pltime=infty," : `pltime=${pl},`);
      }
      nd.print(`${ip6String(nd.b, u + 16)}/${nd.u8(u)}/${nd.u8(u + 1)})`);
    }
  }
}

const RPL_MOP: Readonly<Record<number, string>> = { 0: "nonstoring", 1: "storing", 2: "nonstoring-multicast", 3: "storing-multicast" };
const RPL_SUBOPT: Readonly<Record<number, string>> = {
  0: "pad1", 1: "padN", 2: "metrics", 3: "routinginfo", 4: "config", 5: "rpltarget", 6: "transitinfo", 8: "destprefix", 9: "rpltargetdesc",
};

function rplOpts(nd: Nd, opts: number, length: number): void {
  while (length !== 0) {
    const t = nd.u8(opts);
    let optlen: number;
    if (t === 0) {
      optlen = 1;
      nd.print(" opt:pad1");
    } else {
      if (length < 2) {
        nd.print(` [|${nd.protocol}]`);
        return;
      }
      optlen = nd.u8(opts + 1) + 2;
      nd.print(` opt:${tok(RPL_SUBOPT, "subopt:%u", t)} len:${optlen} `);
      nd.check(opts, optlen);
      if (length < optlen) {
        nd.print(` [|${nd.protocol}]`);
        return;
      }
      if (nd.v > 2) {
        let s = "";
        for (let i = 0; i < optlen - 2; i++) {
          if (i % 16 === 0) s += ` 0x${i.toString(16).padStart(4, "0")}: `;
          if (i % 2 === 0) s += " ";
          s += HEX2[nd.b[opts + 2 + i]!];
        }
        nd.print(s);
      }
    }
    opts += optlen;
    length -= optlen;
  }
}

function rplPrint(nd: Nd, code: number, bp: number, length: number): void {
  if (code & 0x80) {
    nd.print(", (SEC) [worktodo]");
    return;
  }
  nd.print(", (CLR)");
  switch (code & 0x7f) {
    case 0:
      nd.print("DODAG Information Solicitation");
      break;
    case 1:
      nd.print("DODAG Information Object");
      if (nd.v) {
        if (length < 24) {
          nd.print(" (invalid)");
          break;
        }
        const mopprf = nd.u8(bp + 4);
        nd.print(` [dagid:${nd.ip6(bp + 8)},seq:${nd.u8(bp + 5)},instance:${nd.u8(bp)},rank:${nd.be16(bp + 2)},${mopprf & 0x80 ? "grounded," : ""}mop:${tok(RPL_MOP, "mop%u", (mopprf >> 3) & 7)},prf:${mopprf & 7}]`);
        if (nd.v > 1) rplOpts(nd, bp + 24, length - 24);
      }
      break;
    case 2:
      nd.print("Destination Advertisement Object");
      if (nd.v) {
        nd.check(bp, 20);
        if (length < 4) {
          nd.print(" [|length too short]");
          break;
        }
        let p = bp + 4;
        let len = length - 4;
        const f = nd.u8(bp + 1);
        let dagid = "<elided>";
        if (f & 0x40) {
          nd.check(bp + 4, 16);
          if (len < 16) {
            nd.print(" [|length too short]");
            break;
          }
          dagid = ip6String(nd.b, bp + 4);
          p += 16;
          len -= 16;
        }
        nd.print(` [dagid:${dagid},seq:${nd.u8(bp + 3)},instance:${nd.u8(bp)}${f & 0x80 ? ",acK" : ""}${f & 0x40 ? ",Dagid" : ""},${HEX2[f]}]`);
        if (nd.v > 1) rplOpts(nd, p, len);
      }
      break;
    case 3:
      nd.print("Destination Advertisement Object Ack");
      if (nd.v) {
        nd.check(bp, 4);
        if (length < 4) {
          nd.print(" [|dao-length too short]");
          break;
        }
        let p = bp + 4;
        let len = length - 4;
        let dagid = "<elided>";
        if (nd.u8(bp + 1) & 0x80) {
          nd.check(bp + 4, 16);
          if (len < 16) {
            nd.print(" [|dao-length too short]");
            break;
          }
          dagid = ip6String(nd.b, bp + 4);
          p += 16;
          len -= 16;
        }
        nd.print(` [dagid:${dagid},seq:${nd.u8(bp + 2)},instance:${nd.u8(bp)},status:${nd.u8(bp + 3)}]`);
        if (nd.v > 1) rplOpts(nd, p, len);
      }
      break;
    default:
      nd.print(`RPL message, unknown code ${code}`);
  }
}

/** Prints the ICMPv6 message at `bp` (`length` bytes). */
export function icmp6Print(nd: Nd, bp: number, length: number, ip: IpCtx, fragmented: boolean): void {
  nd.protocol = "icmp6";
  const oip = bp + 8;
  if (length === 0) {
    nd.print("ICMP6, length 0 (invalid)");
    return;
  }
  if (nd.v && !fragmented && nd.ttest(bp, length)) {
    const field = nd.be16(bp + 2);
    const sum = inCksum(nd.b, bp, length, pseudo6(nd.b, ip.off, ip.dstOff, 58, length));
    nd.print(sum !== 0 ? `[bad icmp6 cksum 0x${field.toString(16).padStart(4, "0")} -> 0x${cksumShouldBe(field, sum).toString(16).padStart(4, "0")}!] ` : "[icmp6 sum ok] ");
  }
  const type = nd.u8(bp);
  nd.print(`ICMP6, ${tok(TYPES, "unknown icmp6 type (%u)", type)}`);
  if (nd.v && (type === 133 || type === 134 || type === 136 || type === 135 || type === 137 || type === 145 || type === 147)) nd.print(`, length ${length}`);
  const code = nd.u8(bp + 1);
  const trunc = () => nd.print(` [|${nd.protocol}]`);
  switch (type) {
    case 1:
      nd.print(`, ${tok(UNREACH, "unknown unreach code (%u)", code)}`);
      switch (code) {
        case 0:
        case 1:
        case 3:
          nd.print(` ${nd.ip6(oip + 24)}`);
          break;
        case 2:
          nd.print(` ${nd.ip6(oip + 24)}, source address ${nd.ip6(oip + 8)}`);
          break;
        case 4: {
          const u = upperLayer(nd, oip);
          if (!u) return trunc();
          const dport = nd.be16(u.off + 2);
          if (u.prot === 6) nd.print(`, ${nd.ip6(oip + 24)} tcp port ${dport}`);
          else if (u.prot === 17) nd.print(`, ${nd.ip6(oip + 24)} udp port ${dport}`);
          else nd.print(`, ${nd.ip6(oip + 24)} protocol ${u.prot} port ${dport} unreachable`);
          break;
        }
        default:
          if (nd.v <= 1) {
            unknownData(nd, bp, "\n\t", length);
            return;
          }
      }
      break;
    case 2:
      nd.print(`, mtu ${nd.be32(bp + 4)}`);
      break;
    case 3:
      if (code === 0) nd.print(` for ${nd.ip6(oip + 24)}`);
      else if (code === 1) nd.print(" (reassembly)");
      else nd.print(`, unknown code (${code})`);
      break;
    case 4: {
      nd.check(oip + 24, 16);
      const words = ["erroneous", "next header", "option", "incomplete header chain"];
      if (code < 4) nd.print(`, ${words[code]} - octet ${nd.be32(bp + 4)}`);
      else nd.print(`, code-#${code}`);
      break;
    }
    case 128:
    case 129:
      nd.print(`, id ${nd.be16(bp + 4)}, seq ${nd.be16(bp + 6)}`);
      break;
    case 130:
      if (length === 24) mld6(nd, bp);
      else if (length >= 28) {
        nd.print(" v2");
        mldv2Query(nd, bp, length);
      } else nd.print(` unknown-version (len ${length}) `);
      break;
    case 131:
    case 132:
      mld6(nd, bp);
      break;
    case 133:
      if (nd.v && optPrint(nd, bp + 8, length - 8) === -1) return trunc();
      break;
    case 134:
      if (nd.v) {
        const f = nd.u8(bp + 5);
        nd.print(`\n\thop limit ${nd.u8(bp + 4)}, Flags [${bits(RA_FLAGS, "none", f)}], pref ${rtpref(f)}, router lifetime ${nd.be16(bp + 6)}s, reachable time ${nd.be32(bp + 8)}ms, retrans timer ${nd.be32(bp + 12)}ms`);
        if (optPrint(nd, bp + 16, length - 16) === -1) return trunc();
      }
      break;
    case 135:
      nd.print(`, who has ${nd.ip6(bp + 8)}`);
      if (nd.v && optPrint(nd, bp + 24, length - 24) === -1) return trunc();
      break;
    case 136:
      nd.print(`, tgt is ${nd.ip6(bp + 8)}`);
      if (nd.v) {
        nd.print(`, Flags [${bits(NA_FLAGS, "none", nd.be32(bp + 4))}]`);
        if (optPrint(nd, bp + 24, length - 24) === -1) return trunc();
      }
      break;
    case 137:
      nd.print(`, ${nd.ip6(bp + 24)}`);
      nd.print(` to ${nd.ip6(bp + 8)}`);
      if (nd.v && optPrint(nd, bp + 40, length - 40) === -1) return trunc();
      break;
    case 138:
      rrenum(nd, bp);
      break;
    case 139:
    case 140:
      nodeinfo(nd, length, bp);
      break;
    case 141:
    case 142:
      break;
    case 143:
      mldv2Report(nd, bp, length);
      break;
    case 146:
    case 144:
      nd.print(`, id 0x${nd.be16(bp + 4).toString(16).padStart(4, "0")}`);
      break;
    case 145:
      if (nd.v) {
        nd.print(`, id 0x${nd.be16(bp + 4).toString(16).padStart(4, "0")}`);
        const end = bp + length;
        for (let p = bp + 8; p < end; p += 16) nd.print(`, ${nd.ip6(p)}`);
      }
      break;
    case 147:
      if (nd.v) {
        nd.print(`, id 0x${nd.be16(bp + 4).toString(16).padStart(4, "0")}`);
        const f = nd.be16(bp + 6);
        if (f & 0xc000) nd.print(" ");
        if (f & 0x8000) nd.print("M");
        if (f & 0x4000) nd.print("O");
        if (optPrint(nd, bp + 8, length - 8) === -1) return trunc();
      }
      break;
    case 155:
      rplPrint(nd, code, bp + 4, length - 8 + 4);
      break;
    default:
      nd.print(`, length ${length}`);
      if (nd.v <= 1) unknownData(nd, bp, "\n\t", length);
      return;
  }
  if (!nd.v) nd.print(`, length ${length}`);
}
