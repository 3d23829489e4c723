/**
 * BOOTP/DHCP (UDP 67/68) in tcpdump's words: "BOOTP/DHCP, Request from MAC, length N"; with -v
 * the header fields and every option of the RFC 1048 vendor area (message type, parameter
 * request list, addresses, lease times, client id, FQDN, relay agent information, classless
 * static routes, user class...), as print-bootp.c formats them.
 *
 * @module
 */
import { HEX2, tok, type Nd } from "./nd.ts";
import { printnCut, safeChar, unknownData } from "./util.ts";

/** tcpdump's tag2str: the first character is the format ('i' addresses, 'l' u32, 's' u16, 'b' bytes, 'a' text, 'B' booleans, 'p' pairs, 'L' s32, '$' special, ' ' none). */
const TAGS: Readonly<Record<number, string>> = {
  0: " PAD", 1: "iSubnet-Mask", 2: "LTime-Zone", 3: "iDefault-Gateway", 4: "iTime-Server", 5: "iIEN-Name-Server", 6: "iDomain-Name-Server",
  7: "iLOG", 8: "iCS", 9: "iLPR-Server", 10: "iIM", 11: "iRL", 12: "aHostname", 13: "sBS", 255: " END", 14: "aDP", 15: "aDomain-Name",
  16: "iSS", 17: "aRP", 18: "aEP", 19: "BIPF", 20: "BSRT", 21: "pPF", 22: "sRSZ", 23: "bTTL", 24: "lMTU-Timeout", 25: "sMTU-Table",
  26: "sMTU", 27: "BLSN", 28: "iBR", 29: "BMD", 30: "BMS", 31: "BRouter-Discovery", 32: "iRSA", 33: "pStatic-Route", 34: "BUT", 35: "lAT",
  36: "BIE", 37: "bTT", 38: "lKI", 39: "BKG", 40: "aYD", 41: "iYS", 42: "iNTP", 43: "bVendor-Option", 44: "iNetbios-Name-Server",
  45: "iWDD", 46: "$Netbios-Node", 47: "aNetbios-Scope", 48: "iXFS", 49: "iXDM", 64: "sN+D", 65: "iN+S", 68: "iMH", 69: "iSMTP",
  70: "iPOP3", 71: "iNNTP", 72: "iWWW", 73: "iFG", 74: "iIRC", 75: "iSTS", 76: "iSTDA", 50: "iRequested-IP", 51: "lLease-Time",
  52: "$OO", 66: "aTFTP", 67: "aBF", 53: " DHCP-Message", 54: "iServer-ID", 55: "bParameter-Request", 56: "aMSG", 57: "sMSZ", 58: "lRN",
  59: "lRB", 60: "aVendor-Class", 61: "$Client-ID", 98: "aUAP", 116: "BNOAUTO", 78: "bSLP-DA", 79: "bSLP-SCOPE", 117: "sNSSEARCH",
  77: "$User-Class", 118: "iSUBNET", 121: "$Classless-Static-Route", 249: "$Classless-Static-Route-Microsoft", 150: "iTFTP-Server-Address",
  80: "aSLP-NA", 81: "$FQDN", 82: "$Agent-Information", 83: "bARMT", 88: "aTZSTR", 89: "bFQDNS", 90: "bAUTH", 91: "LLast-Transaction-Time",
  92: "iAssociated-IP", 93: "sARCH", 94: "bNDI", 97: "bGUID", 95: "aLDAP", 100: "aPOSIX-TZ", 101: "aTZ-Name", 112: "iNI", 113: "aNITAG",
  114: "aURL", 161: "aMUD-URL",
};
const MSG: Readonly<Record<number, string>> = {
  1: "Discover", 2: "Offer", 3: "Request", 4: "Decline", 5: "ACK", 6: "NACK", 7: "Release", 8: "Inform", 10: "LeaseQuery", 11: "LeaseUnassigned",
  12: "LeaseUnknown", 13: "LeaseActive",
};
const NBO: Readonly<Record<number, string>> = { 1: "b-node", 2: "p-node", 4: "m-node", 8: "h-node" };
const OO: Readonly<Record<number, string>> = { 1: "file", 2: "sname", 3: "file+sname" };
const ARP: Readonly<Record<number, string>> = { 1: "ether", 6: "ieee802", 7: "arcnet", 15: "frelay", 23: "strip", 24: "ieee1394" };
const AGENT: Readonly<Record<number, string>> = { 1: "Circuit-ID", 2: "Remote-ID", 6: "Subscriber-ID" };

class Trunc extends Error {}
const TRUNC = new Trunc();

/** `"text"` of n bytes (nd_printn bounded by the capture); throws TRUNC, after the closing quote, when cut. */
function quoted(nd: Nd, p: number, n: number): void {
  nd.print('"');
  const cut = printnCut(nd, p, n);
  nd.print('"');
  if (cut) throw TRUNC;
}

/** nd_printztn: up to a NUL within `n` bytes; false when the field or the capture ends first. */
function printztn(nd: Nd, p: number, n: number): boolean {
  for (;;) {
    if (n === 0 || p >= nd.snapend) return false;
    const c = nd.u8(p++);
    n--;
    if (c === 0) return true;
    nd.print(safeChar(c));
  }
}

/** Prints the BOOTP/DHCP message at `bp` (`length` bytes). */
export function bootpPrint(nd: Nd, bp: number, length: number): void {
  nd.protocol = "bootp";
  const op = nd.u8(bp);
  nd.print(`BOOTP/DHCP, ${op === 1 ? "Request" : op === 2 ? "Reply" : `unknown (0x${HEX2[op]})`}`);
  const htype = nd.u8(bp + 1);
  const hlen = nd.u8(bp + 2);
  if (htype === 1 && hlen === 6 && op === 1) nd.print(` from ${nd.mac(bp + 28)}`);
  nd.print(`, length ${length}`);
  if (!nd.v) return;
  nd.check(bp + 8, 2);
  if (htype !== 1) nd.print(`, htype ${htype}`);
  if (htype !== 1 || hlen !== 6) nd.print(`, hlen ${hlen}`);
  if (nd.u8(bp + 3)) nd.print(`, hops ${nd.u8(bp + 3)}`);
  if (nd.be32(bp + 4)) nd.print(`, xid 0x${nd.be32(bp + 4).toString(16)}`);
  if (nd.be16(bp + 8)) nd.print(`, secs ${nd.be16(bp + 8)}`);
  const flags = nd.be16(bp + 10);
  nd.print(`, Flags [${flags & 0x8000 ? "Broadcast" : "none"}]`);
  if (nd.v > 1) nd.print(` (0x${flags.toString(16).padStart(4, "0")})`);
  nd.protocol = "bootp";
  if (nd.be32(bp + 12)) nd.print(`\n\t  Client-IP ${nd.ip4(bp + 12)}`);
  if (nd.be32(bp + 16)) nd.print(`\n\t  Your-IP ${nd.ip4(bp + 16)}`);
  if (nd.be32(bp + 20)) nd.print(`\n\t  Server-IP ${nd.ip4(bp + 20)}`);
  if (nd.be32(bp + 24)) nd.print(`\n\t  Gateway-IP ${nd.ip4(bp + 24)}`);
  if (htype === 1 && hlen === 6) nd.print(`\n\t  Client-Ethernet-Address ${nd.mac(bp + 28)}`);
  for (const [off, size, label] of [[44, 64, "sname"], [108, 128, "file"]] as const) {
    if (nd.u8(bp + off)) {
      nd.print(`\n\t  ${label} "`);
      if (!printztn(nd, bp + off, size)) {
        nd.print(`" [|${nd.protocol}]`);
        return;
      }
      nd.print('"');
    }
  }
  nd.check(bp + 236, 4);
  const cookie = nd.be32(bp + 236);
  try {
    if (cookie === 0x63825363) rfc1048(nd, bp + 236);
    else if (cookie === 0x434d5500) cmu(nd, bp + 236);
    else if (cookie !== 0) nd.print(`\n\t  Vendor-#0x${cookie.toString(16)}`);
  } catch (e) {
    if (e !== TRUNC) throw e;
    nd.print(` [|${nd.protocol}]`);
  }
}

function cmu(nd: Nd, bp: number): void {
  nd.print(" vend-cmu");
  nd.check(bp + 4, 4);
  const f = nd.u8(bp + 4);
  if ((f & ~1) !== 0) nd.print(` F:0x${f.toString(16)}`);
  const addrs: [number, string][] = [[12, "DG"], [8, f & 1 ? "SM" : "SM*"], [16, "NS1"], [20, "NS2"], [24, "IEN1"], [28, "IEN2"], [32, "TS1"], [36, "TS2"]];
  for (const [o, n] of addrs) {
    if (!nd.ttest(bp + o, 4)) throw TRUNC;
    if (nd.be32(bp + o) !== 0) nd.print(` ${n}:${nd.ip4(bp + o)}`);
  }
}

function rfc1048(nd: Nd, bp: number): void {
  nd.print("\n\t  Vendor-rfc1048 Extensions");
  nd.print(`\n\t    Magic Cookie 0x${nd.be32(bp).toString(16).padStart(8, "0")}`);
  bp += 4;
  while (nd.ttest(bp, 1)) {
    let tag = nd.u8(bp++);
    if (tag === 0 && nd.v < 3) continue;
    if (tag === 255 && nd.v < 3) return;
    const full = tok(TAGS, "?Unknown", tag);
    let c = full[0]!;
    const name = full.slice(1);
    let len: number;
    if (tag === 0 || tag === 255) len = 0;
    else len = nd.u8(bp++);
    nd.print(`\n\t    ${name} (${tag}), length ${len}${len > 0 ? ": " : ""}`);
    if (tag === 0 && nd.v > 2) {
      let ntag = 1;
      while (nd.ttest(bp, 1) && nd.u8(bp) === 0) {
        bp++;
        ntag++;
      }
      if (ntag > 1) nd.print(`, occurs ${ntag}`);
    }
    nd.check(bp, len);
    if (tag === 53 && len === 1) {
      nd.print(tok(MSG, "Unknown (%u)", nd.u8(bp)));
      bp++;
      continue;
    }
    if (tag === 55) {
      let idx = 0;
      while (len > 0) {
        const inner = nd.u8(bp++);
        len--;
        nd.print(idx % 4 === 0 ? "\n\t      " : ", ");
        nd.print(`${tok(TAGS, "?Unknown", inner).slice(1)} (${inner})`);
        idx++;
      }
      continue;
    }
    if (c === "?") c = len & 1 ? "b" : len & 2 ? "s" : "l";
    let first = true;
    switch (c) {
      case "a":
        quoted(nd, bp, len);
        bp += len;
        len = 0;
        break;
      case "i":
      case "l":
      case "L":
        while (len >= 4) {
          if (!first) nd.print(",");
          if (c === "i") nd.print(nd.ip4(bp));
          else if (c === "L") nd.print(String(nd.be32(bp) | 0));
          else nd.print(String(nd.be32(bp)));
          bp += 4;
          len -= 4;
          first = false;
        }
        break;
      case "p":
        while (len >= 8) {
          if (!first) nd.print(",");
          nd.print(`(${nd.ip4(bp)}:`);
          nd.print(`${nd.ip4(bp + 4)})`);
          bp += 8;
          len -= 8;
          first = false;
        }
        break;
      case "s":
        while (len >= 2) {
          if (!first) nd.print(",");
          nd.print(String(nd.be16(bp)));
          bp += 2;
          len -= 2;
          first = false;
        }
        break;
      case "B":
        while (len > 0) {
          if (!first) nd.print(",");
          const v = nd.u8(bp);
          nd.print(v === 0 ? "N" : v === 1 ? "Y" : `${v}?`);
          bp++;
          len--;
          first = false;
        }
        break;
      case "$":
        ({ bp, len } = special(nd, tag, bp, len));
        break;
      default:
        // 'b', 'x' and the rest: bytes
        while (len > 0) {
          if (!first) nd.print(c === "x" ? ":" : ".");
          const v = nd.u8(bp);
          nd.print(c === "x" ? HEX2[v]! : String(v));
          bp++;
          len--;
          first = false;
        }
    }
    if (len) {
      nd.print(`\n\t  trailing data length ${len}`);
      bp += len;
    }
    tag = 0;
  }
}

/** The '$' options: each its own format. Returns where the option's data stopped. */
function special(nd: Nd, tag: number, bp: number, len: number): { bp: number; len: number } {
  switch (tag) {
    case 46:
    case 52:
      if (len < 1) {
        nd.print("[ERROR: length < 1 bytes]");
        break;
      }
      nd.print(tok(tag === 46 ? NBO : OO, "#%d", nd.u8(bp)));
      bp++;
      len--;
      break;
    case 81: {
      if (len < 3) {
        nd.print("[ERROR: length < 3 bytes]");
        bp += len;
        len = 0;
        break;
      }
      const f = nd.u8(bp);
      if (f & 0xf0) nd.print(`[ERROR: MBZ nibble 0x${((f & 0xf0) >> 4).toString(16)} != 0] `);
      if (f & 0x0f) nd.print(`[${f & 1 ? "S" : ""}${f & 2 ? "O" : ""}${f & 4 ? "E" : ""}${f & 8 ? "N" : ""}] `);
      bp++;
      if (nd.u8(bp) || nd.u8(bp + 1)) nd.print(`${nd.u8(bp)}/${nd.u8(bp + 1)} `);
      bp += 2;
      quoted(nd, bp, len - 3);
      bp += len - 3;
      len = 0;
      break;
    }
    case 61: {
      if (len < 1) {
        nd.print("[ERROR: length < 1 bytes]");
        break;
      }
      const type = nd.u8(bp);
      bp++;
      len--;
      if (type === 0) {
        quoted(nd, bp, len);
        bp += len;
        len = 0;
      } else {
        nd.print(`${tok(ARP, "hardware-type %u,", type)} `);
        let first = true;
        while (len > 0) {
          if (!first) nd.print(":");
          nd.print(HEX2[nd.u8(bp)]!);
          bp++;
          len--;
          first = false;
        }
      }
      break;
    }
    case 82:
      while (len >= 2) {
        const sub = nd.u8(bp);
        const sublen = nd.u8(bp + 1);
        bp += 2;
        len -= 2;
        const label = `\n\t      ${tok(AGENT, "Unknown", sub)} SubOption ${sub}, length ${sublen}: `;
        if (sublen > len) {
          nd.print(label.slice(0, -2) + ": length goes past end of option");
          bp += len;
          len = 0;
          break;
        }
        nd.print(label);
        if (sub === 1 || sub === 2 || sub === 6) {
          if (printnCut(nd, bp, sublen)) throw TRUNC;
        } else unknownData(nd, bp, "\n\t\t", sublen);
        len -= sublen;
        bp += sublen;
      }
      break;
    case 121:
    case 249: {
      if (len < 5) {
        nd.print("[ERROR: length < 5 bytes]");
        bp += len;
        len = 0;
        break;
      }
      let first = true;
      while (len > 0) {
        if (!first) nd.print(",");
        const width = nd.u8(bp);
        bp++;
        len--;
        if (width > 32) {
          nd.print(`[ERROR: Mask width (${width}) > 32]`);
          bp += len;
          len = 0;
          break;
        }
        const sig = Math.floor((width + 7) / 8);
        if (len < sig + 4) {
          nd.print(`[ERROR: Remaining length (${len}) < ${sig + 4} bytes]`);
          bp += len;
          len = 0;
          break;
        }
        nd.print("(");
        if (width === 0) nd.print("default");
        else {
          for (let i = 0; i < sig; i++) {
            if (i > 0) nd.print(".");
            nd.print(String(nd.u8(bp)));
            bp++;
          }
          for (let i = sig; i < 4; i++) nd.print(".0");
          nd.print(`/${width}`);
        }
        nd.print(`:${nd.ip4(bp)})`);
        bp += 4;
        len -= sig + 4;
        first = false;
      }
      break;
    }
    case 77: {
      let n = 1;
      if (len < 2) {
        nd.print("[ERROR: length < 2 bytes]");
        bp += len;
        len = 0;
        break;
      }
      while (len > 0) {
        const sublen = nd.u8(bp);
        bp++;
        len--;
        nd.print("\n\t      ");
        nd.print(`instance#${n}: `);
        if (sublen === 0) {
          nd.print("[ERROR: suboption length must be non-zero]");
          bp += len;
          len = 0;
          break;
        }
        if (len < sublen) {
          nd.print("[ERROR: invalid option]");
          bp += len;
          len = 0;
          break;
        }
        quoted(nd, bp, sublen);
        nd.print(`, length ${sublen}`);
        n++;
        len -= sublen;
        bp += sublen;
      }
      break;
    }
    default:
      nd.print(`[unknown special tag ${tag}, size ${len}]`);
      bp += len;
      len = 0;
  }
  return { bp, len };
}
