/**
 * Link layers in tcpdump's words: Ethernet (802.1Q/QinQ tags, -e addresses and ethertype,
 * 802.3 length fields, PPPoE), raw IP (RAW, IPV4, IPV6; "ip: " with -e), and the wrapped link types
 * of packet/linklayer.ts (LINUX_SLL, LINUX_SLL2, NULL, LOOP, PPP). {@link printFrame} is the
 * entry: one record, its link type, its wire length.
 *
 * @module
 */
import { ETHERTYPE_NAMES } from "../ethernet.ts";
import { isWrappedLink, unwrapLink } from "../linklayer.ts";
import { HEX2, tok, type Nd } from "./nd.ts";
import { defaultPrint, unknownData } from "./util.ts";
import { arpPrint } from "./arp.ts";
import { ipNPrint, ipPrint } from "./ip.ts";
import { ip6Print } from "./ip6.ts";

/** LINKTYPE numbers printed here. */
export function linkPrintable(linkType: number): boolean {
  return linkType === 1 || linkType === 101 || linkType === 12 || linkType === 14 || linkType === 228 || linkType === 229 || isWrappedLink(linkType);
}

/**
 * Prints one record of `linkType` (its bytes are `nd.b`, `wire` bytes long on the wire) and
 * sets `nd.llHdrLen` to the link header's length.
 */
export function printFrame(nd: Nd, linkType: number, wire: number): void {
  switch (linkType) {
    case 1:
      nd.llHdrLen = etherPrint(nd, 0, wire, nd.b.length);
      return;
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      nd.protocol = "raw";
      if (nd.flags.e) nd.print("ip: ");
      ipNPrint(nd, 0, wire);
      return;
    default:
      wrappedPrint(nd, linkType, wire);
  }
}

/** Ethertypes tcpdump decodes and tunkit does not (their frames print as data). */
const THEIR_ETHERTYPES: Readonly<Record<number, string>> = {
  0x6003: "decnet", 0x809b: "atalk", 0x80f3: "aarp", 0x8137: "ipx", 0xfefe: "isoclns", 0x888e: "eapol", 0x8899: "rtl", 0x880b: "ppp", 0x8808: "mpcp", 0x8809: "slow", 0x8902: "cfm", 0xabcd: "cfm",
  0x88cc: "lldp", 0x894f: "nsh", 0x9000: "loopback", 0x8847: "mpls", 0x8848: "mpls", 0x88ca: "tipc", 0x886f: "msnlb", 0x0707: "geonet",
  0x8947: "geonet", 0x1111: "calm-fast", 0x88a2: "aoe", 0x88f7: "ptp", 0x88e5: "macsec", 0xd28b: "arista", 0x8870: "llc",
};

function etherTypeText(t: number): string {
  return `ethertype ${tok(ETHERTYPE_NAMES, "Unknown", t)} (0x${t.toString(16).padStart(4, "0")})`;
}

/** tcpdump's ethertype_print for the types tunkit decodes; false for the others. */
export function ethertypePrint(nd: Nd, t: number, off: number, length: number, caplen: number): boolean {
  switch (t) {
    case 0x0800:
      ipPrint(nd, off, length);
      return true;
    case 0x86dd:
      ip6Print(nd, off, length);
      return true;
    case 0x0806:
    case 0x8035:
      arpPrint(nd, off, length, caplen);
      return true;
    case 0x8863:
    case 0x8864:
    case 0x3c12:
    case 0x3c13:
      pppoePrint(nd, off, length);
      return true;
    default:
      return false;
  }
}

const PPPOE_CODES: Readonly<Record<number, string>> = { 0x09: "PADI", 0x07: "PADO", 0x19: "PADR", 0x65: "PADS", 0xa7: "PADT", 0: "" };
const PPPOE_TAGS: Readonly<Record<number, string>> = {
  0: "EOL", 0x0101: "Service-Name", 0x0102: "AC-Name", 0x0103: "Host-Uniq", 0x0104: "AC-Cookie", 0x0105: "Vendor-Specific",
  0x0110: "Relay-Session-ID", 0x0120: "PPP-Max-Payload", 0x0201: "Service-Name-Error", 0x0202: "AC-System-Error", 0x0203: "Generic-Error",
};

/** PPPoE (RFC 2516): discovery packets with their tags, session packets with the PPP inside. */
function pppoePrint(nd: Nd, bp: number, length: number): void {
  nd.protocol = "pppoe";
  if (length < 6) {
    nd.print(` (length ${length} < 6) (invalid)`);
    return;
  }
  length -= 6;
  nd.check(bp, 6);
  const ver = (nd.u8(bp) & 0xf0) >> 4;
  const type = nd.u8(bp) & 0x0f;
  const code = nd.u8(bp + 1);
  const sid = nd.be16(bp + 2);
  let plen = nd.be16(bp + 4);
  const payload = bp + 6;
  if (ver !== 1) nd.print(` [ver ${ver}]`);
  if (type !== 1) nd.print(` [type ${type}]`);
  nd.print(`PPPoE ${tok(PPPOE_CODES, "PAD-%x", code)}`);
  if (code === 0x09 && plen > 1484 - 6) nd.print(` [len ${plen}!]`);
  if (plen > length) {
    nd.print(` [len ${plen} > ${length}!]`);
    plen = length;
  }
  if (sid) nd.print(` [ses 0x${sid.toString(16)}]`);
  if (code === 0) {
    nd.print(" ");
    pppPrint(nd, payload, plen);
    return;
  }
  let tagType = 0xffff;
  let p = payload;
  while (tagType && p < payload + plen) {
    tagType = nd.be16(p);
    const tagLen = nd.be16(p + 2);
    p += 4;
    const name = tok(PPPOE_TAGS, "TAG-0x%x", tagType);
    if (tagLen) {
      nd.check(p, tagLen);
      let str = "";
      let asciiN = 0;
      let garbage = 0;
      for (let v = p; v < p + tagLen && str.length < 79; v++) {
        const c = nd.u8(v);
        if (c >= 0x20 && c <= 0x7e) {
          str += String.fromCharCode(c);
          asciiN++;
        } else {
          str += ".";
          garbage++;
        }
      }
      if (asciiN > garbage) nd.print(` [${name} "${str}"]`);
      else {
        nd.print(` [${name} 0x`);
        for (let v = p; v < p + tagLen; v++) nd.print(HEX2[nd.u8(v)]!.toUpperCase());
        nd.print("]");
      }
    } else nd.print(` [${name}]`);
    p += tagLen;
  }
}

/**
 * Prints the Ethernet frame at `off` (`length` bytes on the wire, `caplen` captured); returns
 * the header length (for -X).
 */
export function etherPrint(nd: Nd, off: number, length: number, caplen: number): number {
  nd.protocol = "ether";
  if (length < caplen) {
    nd.print(`[length ${length} < caplen ${caplen}] (invalid)`);
    return length;
  }
  if (caplen < 14) {
    nd.print(` [|${nd.protocol}]`);
    return caplen;
  }
  const origLength = length;
  const src = nd.mac(off + 6);
  const dst = nd.mac(off);
  length -= 12;
  caplen -= 12;
  let p = off + 12;
  let hdrlen = 12;
  if (nd.flags.e) nd.print(`${src} > ${dst}, `);
  let t = nd.be16(p);
  length -= 2;
  caplen -= 2;
  p += 2;
  hdrlen += 2;
  let printedLength = false;
  while (t === 0x8100 || t === 0x9100 || t === 0x9200 || t === 0x88a8) {
    if (caplen < 4 || length < 4) {
      nd.protocol = "vlan";
      nd.print(` [|${nd.protocol}]`);
      return hdrlen + Math.min(caplen, length);
    }
    if (nd.flags.e) {
      const tci = nd.be16(p);
      nd.print(etherTypeText(t));
      if (!printedLength) {
        nd.print(`, length ${origLength}: `);
        printedLength = true;
      } else nd.print(", ");
      nd.print(`vlan ${tci & 0xfff}, p ${tci >> 13}${tci & 0x1000 ? ", DEI" : ""}, `);
    }
    t = nd.be16(p + 2);
    p += 4;
    length -= 4;
    caplen -= 4;
    hdrlen += 4;
  }
  if (t <= 1500) {
    // 802.3 length field: LLC follows (tcpdump's LLC/SNAP/STP printers are not tunkit's)
    if (t < length) {
      length = t;
      if (caplen > length) caplen = length;
    }
    if (nd.flags.e) {
      nd.print("802.3");
      if (!printedLength) nd.print(`, length ${length}: `);
    } else nd.print(`${src} > ${dst}, 802.3, length ${origLength}: `);
    nd.print(`LLC, length ${length}`);
    nd.notDecoded = "llc";
    return hdrlen;
  }
  if (nd.flags.e) {
    nd.print(etherTypeText(t));
    nd.print(!printedLength ? `, length ${origLength}: ` : ", ");
  }
  nd.pushSnap(p, caplen);
  try {
    if (!ethertypePrint(nd, t, p, length, caplen)) {
      if (THEIR_ETHERTYPES[t]) nd.notDecoded = THEIR_ETHERTYPES[t];
      if (!nd.flags.e) nd.print(`${src} > ${dst}, ${etherTypeText(t)}, length ${origLength}: `);
      defaultPrint(nd, p, caplen);
    }
  } finally {
    nd.popSnap();
  }
  return hdrlen;
}

const PPP_NAMES: Readonly<Record<number, string>> = {
  0x21: "IP", 0x23: "OSI", 0x25: "NS", 0x27: "DECNET", 0x29: "APPLE", 0x2b: "IPX", 0x2d: "VJC IP", 0x2f: "VJNC IP", 0x31: "BRPDU",
  0x33: "STII", 0x35: "VINES", 0x281: "MPLS", 0x283: "MPLS", 0xfd: "Compressed", 0x3d: "MLPPP", 0x57: "IP6", 0x201: "HELLO",
  0x231: "LUXCOM", 0x233: "SNS", 0x8021: "IPCP", 0x8023: "OSICP", 0x8025: "NSCP", 0x8027: "DECNETCP", 0x8029: "APPLECP",
  0x802b: "IPXCP", 0x8033: "STIICP", 0x8035: "VINESCP", 0x8057: "IP6CP", 0x8281: "MPLSCP", 0xc021: "LCP", 0xc023: "PAP",
  0xc025: "LQM", 0xc223: "CHAP", 0xc227: "EAP", 0xc027: "SPAP", 0xc123: "Old-SPAP", 0xc02b: "BACP", 0xc02d: "BAP",
};

/** ppp_print: PPP at `p` (HDLC address/control optional), then IPv4/IPv6 inside. */
export function pppPrint(nd: Nd, p: number, length: number): void {
  nd.protocol = "ppp";
  const olen = length;
  if (length < 2) {
    nd.print(` [|${nd.protocol}]`);
    return;
  }
  const h = nd.be16(p);
  if (h === 0x0003 || h === 0x0103 || h === 0xff03) {
    if (nd.flags.e && h === 0x0003) nd.print("In  ");
    if (nd.flags.e && h === 0x0103) nd.print("Out ");
    p += 2;
    length -= 2;
  }
  if (length < 2) {
    nd.print(` [|${nd.protocol}]`);
    return;
  }
  let proto: number;
  if (nd.u8(p) % 2) {
    proto = nd.u8(p);
    p++;
    length--;
  } else {
    proto = nd.be16(p);
    p += 2;
    length -= 2;
  }
  if (nd.flags.e) {
    const name = tok(PPP_NAMES, "unknown", proto);
    nd.print(`${name} (0x${proto.toString(16).padStart(4, "0")}), length ${olen}`);
    if (name === "unknown") return;
    nd.print(": ");
  }
  switch (proto) {
    case 0x21:
    case 0x0800:
    case 0x2f:
      ipPrint(nd, p, length);
      return;
    case 0x57:
    case 0x86dd:
      ip6Print(nd, p, length);
      return;
    case 0xfd:
      nd.print("compressed PPP data");
      return;
    default:
      if (PPP_NAMES[proto]) nd.notDecoded = `ppp ${PPP_NAMES[proto]}`;
      nd.print(`${tok(PPP_NAMES, "unknown PPP protocol (0x%04x)", proto)} `);
      unknownData(nd, p, "\n\t", length);
  }
}

/** LINUX_SLL, LINUX_SLL2, NULL, LOOP, PPP: the link text, then the network layer inside. */
function wrappedPrint(nd: Nd, linkType: number, wire: number): void {
  const u = unwrapLink(nd.b, linkType, wire, nd.flags.e, nd.flags.ifName);
  nd.llHdrLen = u.headerLength;
  if (u.text !== undefined || !u.inner) {
    nd.print(u.prefix + (u.text ?? ""));
    if (u.text === "" && !u.inner && u.headerLength < nd.b.length) defaultPrint(nd, u.headerLength, nd.b.length - u.headerLength);
    return;
  }
  nd.print(u.prefix);
  const off = u.headerLength;
  if (u.inner.kind === "arp") arpPrint(nd, off, u.inner.wireLength, nd.avail(off));
  else if (u.inner.ipVersion === 6) ip6Print(nd, off, u.inner.wireLength);
  else ipPrint(nd, off, u.inner.wireLength);
}
