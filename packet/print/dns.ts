/**
 * DNS and mDNS in tcpdump's words (print-domain.c): queries ("id+ [1au] A? name. (len)"),
 * responses ("id* q/a/n A 192.0.2.1, CNAME x. (len)"), extended rcodes (BadVers, BadCookie),
 * EDNS options, every record type tcpdump names (URI, SSHFP...); more sections with -vv, TTLs
 * with -vvv. Names are printed label by label with tcpdump's escapes; compression pointers must
 * point backwards, so no loop can run forever.
 *
 * @module
 */
import { HEX2, ip6String, relts, tok, type Nd } from "./nd.ts";
import { printnCut, safeChar } from "./util.ts";

const OPS = ["", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8", " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit", " zoneRef"];
const RESP = [
  "", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain", " YXRRSet", " NXRRSet", " NotAuth", " NotZone", " Resp11",
  " Resp12", " Resp13", " Resp14", " NoChange", " BadVers", "Resp17", " Resp18", " Resp19", " Resp20", "Resp21", " Resp22", " BadCookie",
];

/** tcpdump's ns_type2str. */
export const DNS_TYPES: Readonly<Record<number, string>> = {
  1: "A", 2: "NS", 3: "MD", 4: "MF", 5: "CNAME", 6: "SOA", 7: "MB", 8: "MG", 9: "MR", 10: "NULL", 11: "WKS", 12: "PTR", 13: "HINFO",
  14: "MINFO", 15: "MX", 16: "TXT", 17: "RP", 18: "AFSDB", 19: "X25", 20: "ISDN", 21: "RT", 22: "NSAP", 23: "NSAP_PTR", 24: "SIG",
  25: "KEY", 26: "PX", 27: "GPOS", 28: "AAAA", 29: "LOC", 30: "NXT", 31: "EID", 32: "NIMLOC", 33: "SRV", 34: "ATMA", 35: "NAPTR",
  36: "KX", 37: "CERT", 38: "A6", 39: "DNAME", 40: "SINK", 41: "OPT", 42: "APL", 43: "DS", 44: "SSHFP", 45: "IPSECKEY", 46: "RRSIG",
  47: "NSEC", 48: "DNSKEY", 99: "SPF", 100: "UINFO", 101: "UID", 102: "GID", 103: "UNSPEC", 104: "UNSPECA", 249: "TKEY", 250: "TSIG",
  251: "IXFR", 252: "AXFR", 253: "MAILB", 254: "MAILA", 255: "ANY", 256: "URI",
};
const CLASSES: Readonly<Record<number, string>> = { 1: "IN", 3: "CHAOS", 4: "HS", 255: "ANY" };
const EDNS_OPTS: Readonly<Record<number, string>> = {
  1: "LLQ", 2: "UL", 3: "NSID", 5: "DAU", 6: "DHU", 7: "N3U", 8: "ECS", 9: "EXPIRE", 10: "COOKIE", 11: "KEEPALIVE", 12: "PADDING",
  13: "CHAIN", 14: "KEY-TAG", 16: "CLIENT-TAG", 17: "SERVER-TAG",
};
const DAU: Readonly<Record<number, string>> = {
  0: "DELETE", 1: "RSAMD5", 2: "DH", 3: "DS", 5: "RSASHA1", 6: "DSA-NSEC3-SHA1", 7: "RSASHA1-NSEC3-SHA1", 8: "RSASHA256", 10: "RSASHA512",
  12: "ECC-GOST", 13: "ECDSAP256SHA256", 14: "ECDSAP384SHA384", 15: "ED25519", 16: "ED448", 252: "INDIRECT", 253: "PRIVATEDNS", 254: "PRIVATEOID",
};
const DHU: Readonly<Record<number, string>> = { 1: "SHA-1", 2: "SHA-256", 3: "GOST_R_34.11-94", 4: "SHA-384" };
const N3U: Readonly<Record<number, string>> = { 1: "SHA-1" };

const MAXCDNAME = 255;

/** ns_nskip: past a name without printing; -1 when it cannot be walked. */
function nskip(nd: Nd, cp: number): number {
  if (!nd.ttest(cp, 1)) return -1;
  let i = nd.b[cp++]!;
  while (i) {
    switch (i & 0xc0) {
      case 0xc0:
        return cp + 1;
      case 0x40: {
        if ((i & 0x3f) !== 1) return -1;
        if (!nd.ttest(cp, 1)) return -1;
        let bitlen = nd.b[cp]!;
        if (bitlen === 0) bitlen = 256;
        cp++;
        cp += Math.floor((bitlen + 7) / 8);
        break;
      }
      case 0x80:
        return -1;
      default:
        cp += i;
    }
    if (!nd.ttest(cp, 1)) return -1;
    i = nd.b[cp++]!;
  }
  return cp;
}

function blabelPrint(nd: Nd, cp: number): number {
  if (!nd.ttest(cp, 1)) return -1;
  let bitlen = nd.b[cp]!;
  if (bitlen === 0) bitlen = 256;
  const slen = Math.floor((bitlen + 3) / 4);
  const lim = cp + 1 + slen;
  nd.print("\\[x");
  let bitp = cp + 1;
  let b = bitlen;
  for (; bitp < lim && b > 7; b -= 8, bitp++) nd.print(HEX2[nd.u8(bitp)]!);
  if (b > 4) {
    const tc = nd.u8(bitp++);
    nd.print(HEX2[tc & (0xff << (8 - b)) & 0xff]!);
  } else if (b > 0) {
    const tc = nd.u8(bitp++);
    nd.print((((tc >> 4) & 0x0f) & (0x0f << (4 - b))).toString(16));
  }
  nd.print(`/${bitlen}]`);
  return lim;
}

function labellen(nd: Nd, cp: number): number {
  if (!nd.ttest(cp, 1)) return -1;
  const i = nd.b[cp]!;
  switch (i & 0xc0) {
    case 0x40: {
      const elt = i & 0x3f;
      if (elt !== 1) {
        nd.print(`<ELT ${elt}>`);
        return -1;
      }
      if (!nd.ttest(cp + 1, 1)) return -1;
      let bitlen = nd.b[cp + 1]!;
      if (bitlen === 0) bitlen = 256;
      return Math.floor((bitlen + 7) / 8) + 1;
    }
    case 0xc0:
    case 0x00:
      return i;
    default:
      nd.print("<BAD LABEL TYPE>");
      return -1;
  }
}

/** fqdn_print: prints the name at `cp` (compression relative to `bp`); the offset after it, or -1. */
export function fqdnPrint(nd: Nd, cp: number, bp: number): number {
  let l = labellen(nd, cp);
  if (l === -1) return -1;
  if (!nd.ttest(cp, 1)) return -1;
  let maxOffset = cp - bp;
  let i = nd.b[cp++]!;
  let rp = -1;
  let compress = false;
  if ((i & 0xc0) !== 0xc0) rp = cp + l;
  let nameChars = 0;
  if (i !== 0) {
    while (i && cp < nd.snapend) {
      switch (i & 0xc0) {
        case 0xc0: {
          if (!compress) {
            rp = cp + 1;
            compress = true;
          }
          if (!nd.ttest(cp, 1)) return -1;
          const offset = ((i << 8) | nd.b[cp]!) & 0x3fff;
          if (offset >= maxOffset) {
            nd.print("<BAD PTR>");
            return -1;
          }
          maxOffset = offset;
          cp = bp + offset;
          if (!nd.ttest(cp, 1)) return -1;
          i = nd.b[cp]!;
          l = labellen(nd, cp);
          if (l === -1) return -1;
          cp++;
          continue;
        }
        case 0x40: {
          const elt = i & 0x3f;
          if (elt === 1) {
            if (blabelPrint(nd, cp) === -1) return -1;
          } else {
            nd.print(`<ELT ${elt}>`);
            return -1;
          }
          break;
        }
        case 0x80:
          nd.print("<BAD LABEL TYPE>");
          return -1;
        default:
          if (nameChars + l <= MAXCDNAME) {
            if (printnCut(nd, cp, l)) return -1;
          } else if (nameChars < MAXCDNAME) {
            if (printnCut(nd, cp, MAXCDNAME - nameChars)) return -1;
          }
          nameChars += l;
      }
      cp += l;
      if (nameChars <= MAXCDNAME) nd.print(".");
      nameChars++;
      if (!nd.ttest(cp, 1)) return -1;
      i = nd.b[cp]!;
      l = labellen(nd, cp);
      if (l === -1) return -1;
      cp++;
      if (!compress) rp += l + 1;
    }
    if (nameChars > MAXCDNAME) nd.print("<DOMAIN NAME TOO LONG>");
  } else nd.print(".");
  return rp;
}

function cprint(nd: Nd, cp: number): number {
  if (!nd.ttest(cp, 1)) return -1;
  const i = nd.b[cp++]!;
  if (printnCut(nd, cp, i)) return -1;
  return cp + i;
}

function ecsPrint(nd: Nd, cp: number, dataLen: number): void {
  if (dataLen < 4) {
    nd.print(" (invalid)");
    return;
  }
  const family = nd.be16(cp);
  const src = nd.u8(cp + 2);
  const scope = nd.u8(cp + 3);
  cp += 4;
  let bitsN: number;
  if (family === 1) bitsN = 32;
  else if (family === 2) bitsN = 128;
  else {
    nd.print(" (invalid)");
    return;
  }
  if (dataLen - 4 > bitsN / 8 || src > bitsN || scope > bitsN || Math.floor((src + 7) / 8) !== dataLen - 4) {
    nd.print(" (invalid)");
    return;
  }
  const padded = new Uint8Array(16);
  for (let i = 0; i < dataLen - 4; i++) padded[i] = nd.u8(cp + i);
  if (family === 1) nd.print(`${padded[0]}.${padded[1]}.${padded[2]}.${padded[3]}/${src}/${scope}`);
  else nd.print(`${ip6String(padded, 0)}/${src}/${scope}`);
}

function eoptPrint(nd: Nd, cp: number): number {
  if (!nd.ttest(cp, 2)) return -1;
  const opt = nd.be16(cp);
  cp += 2;
  nd.print(tok(EDNS_OPTS, "Opt%u", opt));
  if (!nd.ttest(cp, 2)) return -1;
  const dataLen = nd.be16(cp);
  cp += 2;
  if (!nd.ttest(cp, dataLen)) return -1;
  if (dataLen > 0) {
    nd.print(" ");
    switch (opt) {
      case 8:
        ecsPrint(nd, cp, dataLen);
        break;
      case 10:
        if (dataLen < 8 || (dataLen > 8 && dataLen < 16) || dataLen > 40) nd.print(" (invalid)");
        else
          for (let i = 0; i < dataLen; i++) {
            if (i === 8) nd.print(" ");
            nd.print(HEX2[nd.u8(cp + i)]!);
          }
        break;
      case 11:
        if (dataLen !== 2) nd.print(" (invalid)");
        else nd.print(`${(nd.be16(cp) / 10).toFixed(1)} sec`);
        break;
      case 9:
        if (dataLen !== 4) nd.print(" (invalid)");
        else nd.print(`${nd.be32(cp)} sec`);
        break;
      case 12:
        nd.print(`(${dataLen})`);
        break;
      case 14:
        if (dataLen % 2 !== 0) nd.print(" (invalid)");
        else for (let i = 0; i < dataLen; i += 2) nd.print(`${i > 0 ? " " : ""}${nd.be16(cp + i)}`);
        break;
      case 5:
      case 6:
      case 7: {
        const t = opt === 5 ? DAU : opt === 6 ? DHU : N3U;
        for (let i = 0; i < dataLen; i++) nd.print(`${i > 0 ? " " : ""}${tok(t, "Alg_%u", nd.u8(cp + i))}`);
        break;
      }
      case 13:
        fqdnPrint(nd, cp, cp + dataLen);
        break;
      default:
        for (let i = 0; i < dataLen; i++) nd.print(HEX2[nd.u8(cp + i)]!);
    }
  }
  return cp + dataLen;
}

function qprint(nd: Nd, cp: number, bp: number, mdns: boolean): number {
  const np = cp;
  cp = nskip(nd, cp);
  if (cp < 0 || !nd.ttest(cp, 4)) return -1;
  const t = nd.be16(cp);
  cp += 2;
  nd.print(` ${tok(DNS_TYPES, "Type%u", t)}`);
  const i = nd.be16(cp);
  cp += 2;
  const cls = mdns ? i & ~0x8000 : i;
  if (cls !== 1) nd.print(` ${tok(CLASSES, "(Class %u)", cls)}`);
  if (mdns) nd.print(i & 0x8000 ? " (QU)" : " (QM)");
  nd.print("? ");
  const r = fqdnPrint(nd, np, bp);
  return r < 0 ? -1 : r + 4;
}

function rprint(nd: Nd, cp: number, bp: number, mdns: boolean): number {
  if (nd.v) {
    nd.print(" ");
    cp = fqdnPrint(nd, cp, bp);
    if (cp < 0) return -1;
  } else cp = nskip(nd, cp);
  if (cp < 0 || !nd.ttest(cp, 10)) return nd.snapend;
  const typ = nd.be16(cp);
  cp += 2;
  const i = nd.be16(cp);
  cp += 2;
  const cls = mdns ? i & ~0x8000 : i;
  if (cls !== 1 && typ !== 41) nd.print(` ${tok(CLASSES, "(Class %u)", cls)}`);
  if (mdns && i & 0x8000) nd.print(" (Cache flush)");
  let optFlags = 0;
  if (typ === 41) {
    cp += 2;
    optFlags = nd.be16(cp);
    cp += 2;
  } else if (nd.v > 2) {
    nd.print(` [${relts(nd.be32(cp))}]`);
    cp += 4;
  } else cp += 4;
  const len = nd.be16(cp);
  cp += 2;
  const rp = cp + len;
  nd.print(` ${tok(DNS_TYPES, "Type%u", typ)}`);
  if (rp > nd.snapend) return -1;
  switch (typ) {
    case 1:
      if (!nd.ttest(cp, 4)) return -1;
      nd.print(` ${nd.ip4(cp)}`);
      break;
    case 2:
    case 5:
    case 12:
    case 39:
      nd.print(" ");
      if (fqdnPrint(nd, cp, bp) < 0) return -1;
      break;
    case 6:
      if (!nd.v) break;
      nd.print(" ");
      if ((cp = fqdnPrint(nd, cp, bp)) < 0) return -1;
      nd.print(" ");
      if ((cp = fqdnPrint(nd, cp, bp)) < 0) return -1;
      if (!nd.ttest(cp, 20)) return -1;
      for (let k = 0; k < 5; k++) nd.print(` ${nd.be32(cp + 4 * k)}`);
      break;
    case 15:
      nd.print(" ");
      if (!nd.ttest(cp, 2)) return -1;
      if (fqdnPrint(nd, cp + 2, bp) < 0) return -1;
      nd.print(` ${nd.be16(cp)}`);
      break;
    case 16:
      while (cp < rp) {
        nd.print(' "');
        cp = cprint(nd, cp);
        if (cp < 0) return -1;
        nd.print('"');
      }
      break;
    case 33:
      nd.print(" ");
      if (!nd.ttest(cp, 6)) return -1;
      if (fqdnPrint(nd, cp + 6, bp) < 0) return -1;
      nd.print(`:${nd.be16(cp + 4)} ${nd.be16(cp)} ${nd.be16(cp + 2)}`);
      break;
    case 28:
      if (!nd.ttest(cp, 16)) return -1;
      nd.print(` ${ip6String(nd.b, cp)}`);
      break;
    case 38: {
      if (!nd.ttest(cp, 1)) return -1;
      const pbit = nd.b[cp]!;
      const pbyte = Math.floor((pbit & ~7) / 8);
      if (pbit > 128) {
        nd.print(` ${pbit}(bad plen)`);
        break;
      } else if (pbit < 128) {
        const a = new Uint8Array(16);
        nd.check(cp + 1, 16 - pbyte);
        for (let k = 0; k < 16 - pbyte; k++) a[pbyte + k] = nd.b[cp + 1 + k]!;
        nd.print(` ${pbit} ${ip6String(a, 0)}`);
      }
      if (pbit > 0) {
        nd.print(" ");
        if (fqdnPrint(nd, cp + 1 + 16 - pbyte, bp) < 0) return -1;
      }
      break;
    }
    case 256:
      if (!nd.ttest(cp, len)) return -1;
      nd.print(` ${nd.be16(cp)} ${nd.be16(cp + 2)} `);
      if (printnCut(nd, cp + 4, (len - 4) >>> 0)) return -1;
      break;
    case 41:
      nd.print(` UDPsize=${cls}`);
      if (optFlags & 0x8000) nd.print(" DO");
      if (cp < rp) {
        nd.print(" [");
        while (cp < rp) {
          cp = eoptPrint(nd, cp);
          if (cp < 0) return -1;
          if (cp < rp) nd.print(",");
        }
        nd.print("]");
      }
      break;
    case 104:
      if (!nd.ttest(cp, len)) return -1;
      if (printnCut(nd, cp, len)) return -1;
      break;
    case 250: {
      if (cp + len > nd.snapend) return -1;
      if (!nd.v) break;
      nd.print(" ");
      if ((cp = fqdnPrint(nd, cp, bp)) < 0) return -1;
      cp += 6;
      if (!nd.ttest(cp, 2)) return -1;
      nd.print(` fudge=${nd.be16(cp)}`);
      cp += 2;
      if (!nd.ttest(cp, 2)) return -1;
      nd.print(` maclen=${nd.be16(cp)}`);
      cp += 2 + nd.be16(cp);
      if (!nd.ttest(cp, 2)) return -1;
      nd.print(` origid=${nd.be16(cp)}`);
      cp += 2;
      if (!nd.ttest(cp, 2)) return -1;
      nd.print(` error=${nd.be16(cp)}`);
      cp += 2;
      if (!nd.ttest(cp, 2)) return -1;
      nd.print(` otherlen=${nd.be16(cp)}`);
      break;
    }
  }
  return rp;
}

/**
 * Prints the DNS message at `bp` (`length` bytes; over TCP it starts with the 2-byte length).
 *
 * @example
 * ```ts
 * import { Nd } from "./nd.ts";
 * import { domainPrint } from "./dns.ts";
 * const q = new Uint8Array([0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 0x77, 0x77, 0x77, 0, 0, 1, 0, 1]);
 * const nd = new Nd(q, { v: 0, e: false, S: false });
 * domainPrint(nd, 0, q.length, false, false);
 * nd.out; // "4660+ A? www. (21)"
 * ```
 */
export function domainPrint(nd: Nd, bp: number, length: number, overTcp: boolean, mdns: boolean): void {
  nd.protocol = "domain";
  if (overTcp) {
    if (length < 2) {
      nd.print(` [DNS over TCP: length ${length} < 2] (invalid)`);
      return;
    }
    length -= 2;
    if (nd.be16(bp) !== length) {
      nd.print(` [prefix length(${nd.be16(bp)}) != length(${length})] (invalid)`);
      return;
    }
    bp += 2;
    nd.print(" ");
  }
  if (length < 12) {
    nd.print(`${nd.protocol} [length ${length} < 12] (invalid)`);
    return;
  }
  nd.check(bp, 12);
  const flags = nd.be16(bp + 2);
  const qd = nd.be16(bp + 4);
  let an = nd.be16(bp + 6);
  let ns = nd.be16(bp + 8);
  let ar = nd.be16(bp + 10);
  const trunc = () => nd.print(` [|${nd.protocol}]`);
  // the OPT record's extended rcode
  let rcode = flags & 0xf;
  find: {
    let cp = bp + 12;
    for (let i = 0; i < qd; i++) {
      if ((cp = nskip(nd, cp)) < 0) break find;
      cp += 4;
      if (cp >= nd.snapend) break find;
    }
    for (let i = 0; i < an + ns; i++) {
      if ((cp = nskip(nd, cp)) < 0) break find;
      cp += 8;
      if (cp + 2 > nd.snapend) break find;
      cp += 2 + nd.be16(cp);
      if (cp >= nd.snapend) break find;
    }
    for (let i = 0; i < ar; i++) {
      if ((cp = nskip(nd, cp)) < 0) break find;
      if (cp + 2 > nd.snapend) break find;
      const type = nd.be16(cp);
      cp += 4;
      if (cp + 1 > nd.snapend) break find;
      if (type === 41) {
        rcode |= nd.u8(cp) << 4;
        break find;
      }
      cp += 4;
      if (cp + 2 > nd.snapend) break find;
      cp += 2 + nd.be16(cp);
      if (cp >= nd.snapend) break find;
    }
  }
  const opcode = (flags >> 11) & 0xf;
  let cp = bp + 12;
  /**
   * n resource records after `label`, comma-separated (the first without a check for data left
   * when !guard, as tcpdump does for answers); false when the packet ends first.
   */
  const records = (label: string, n: number, guard: boolean): boolean => {
    if (n && (!guard || cp < nd.snapend)) {
      nd.print(label);
      if ((cp = rprint(nd, cp, bp, mdns)) < 0) return false;
      n--;
      while (cp < nd.snapend && n) {
        nd.print(",");
        if ((cp = rprint(nd, cp, bp, mdns)) < 0) return false;
        n--;
      }
    }
    return n === 0;
  };
  if (flags & 0x8000) {
    const rc = rcode < RESP.length ? RESP[rcode]! : ` Resp${rcode & 0xfff}`;
    nd.print(`${nd.be16(bp)}${OPS[opcode]}${rc}${flags & 0x0400 ? "*" : ""}${flags & 0x0080 ? "" : "-"}${flags & 0x0200 ? "|" : ""}${flags & 0x0020 ? "$" : ""}`);
    if (qd !== 1) nd.print(` [${qd}q]`);
    for (let i = 0; i < qd; i++) {
      if (i !== 0) nd.print(",");
      if (nd.v > 1) {
        nd.print(" q:");
        if ((cp = qprint(nd, cp, bp, mdns)) < 0) return trunc();
      } else {
        if ((cp = nskip(nd, cp)) < 0) return trunc();
        cp += 4;
      }
    }
    nd.print(` ${an}/${ns}/${ar}`);
    if (!records("", an, false)) return trunc();
    if (nd.v > 1 && (!records(" ns:", ns, true) || !records(" ar:", ar, true))) return trunc();
  } else {
    nd.print(`${nd.be16(bp)}${OPS[opcode]}${flags & 0x0100 ? "+" : ""}${flags & 0x0010 ? "%" : ""}`);
    const b2 = nd.be16(bp + 2);
    if (b2 & 0x6cf) nd.print(` [b2&3=0x${b2.toString(16)}]`);
    if (opcode === 1) {
      if (qd) nd.print(` [${qd}q]`);
      if (an !== 1) nd.print(` [${an}a]`);
    } else {
      if (an) nd.print(` [${an}a]`);
      if (qd !== 1) nd.print(` [${qd}q]`);
    }
    if (ns) nd.print(` [${ns}n]`);
    if (ar) nd.print(` [${ar}au]`);
    let q = qd;
    if (q) {
      if ((cp = qprint(nd, cp, bp, mdns)) < 0) return trunc();
      q--;
      while (cp < nd.snapend && q) {
        if ((cp = qprint(nd, cp, bp, mdns)) < 0) return trunc();
        q--;
      }
    }
    if (q) return trunc();
    if (nd.v > 1 && (!records("", an, false) || !records(" ns:", ns, true) || !records(" ar:", ar, true))) return trunc();
  }
  nd.print(` (${length})`);
}
