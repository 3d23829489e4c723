/**
 * ARP, RARP, InARP and ATM ARP (RFC 826, 903, 2390, 2225) in tcpdump's words: odd hardware or
 * protocol kinds print their types and lengths, -v always does, Frame Relay addresses as DLCIs.
 *
 * @module
 */
import { ETHERTYPE_NAMES } from "../ethernet.ts";
import { hexColons, tok, type Nd } from "./nd.ts";
import { defaultPrint } from "./util.ts";

const ARPHRD: Readonly<Record<number, string>> = { 1: "Ethernet", 6: "TokenRing", 7: "ArcNet", 15: "FrameRelay", 19: "ATM", 23: "Strip", 24: "IEEE 1394", 32: "InfiniBand" };
const ARPOP: Readonly<Record<number, string>> = { 1: "Request", 2: "Reply", 3: "Reverse Request", 4: "Reverse Reply", 8: "Inverse Request", 9: "Inverse Reply", 10: "NACK Reply" };
const ETHERTYPE_IP = 0x0800;
const ETHERTYPE_TRAIL = 0x1000;

/** A Frame Relay (Q.922) address as tcpdump's q922_string. */
export function q922String(nd: Nd, p: number, length: number): string {
  if (!nd.ttest(p, 1) || length < 1) return "<Truncated>";
  if (nd.u8(p) & 1) return "<Invalid DLCI>";
  if (!nd.ttest(p + 1, 1) || length < 2) return "<Truncated>";
  let dlci = ((nd.u8(p) & 0xfc) << 2) | ((nd.u8(p + 1) & 0xf0) >> 4);
  if (nd.u8(p + 1) & 1) return `DLCI ${dlci}`;
  p += 2;
  length -= 2;
  if (!nd.ttest(p, 1) || length < 1) return "<Truncated>";
  if ((nd.u8(p) & 1) === 0) {
    dlci = (dlci << 7) | (nd.u8(p) >> 1);
    p++;
    length--;
  }
  if (!nd.ttest(p, 1) || length < 1) return "<Truncated>";
  if ((nd.u8(p) & 1) === 0) return "<Invalid DLCI>";
  return `DLCI ${((dlci << 6) | (nd.u8(p) >> 2)) >>> 0}`;
}

/** tcpdump's linkaddr_string for ARP: "<empty>", a MAC, a DLCI, or hex bytes with colons. */
function linkaddr(nd: Nd, off: number, len: number, frelay: boolean): string {
  if (len === 0) return "<empty>";
  if (frelay) return q922String(nd, off, len);
  nd.check(off, len);
  return hexColons(nd.b, off, len);
}

function isNonZero(nd: Nd, off: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (nd.u8(off + i) !== 0) return true;
  return false;
}

/**
 * Prints the ARP packet at `off` (`length` bytes on the wire, `caplen` captured from `off`).
 *
 * @example
 * ```ts
 * import { Nd } from "./nd.ts";
 * import { arpPrint } from "./arp.ts";
 * const nd = new Nd(new Uint8Array([0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 0, 1, 192, 0, 2, 1, 0, 0, 0, 0, 0, 0, 192, 0, 2, 2]), { v: 0, e: false, S: false });
 * arpPrint(nd, 0, 28, 28);
 * nd.out; // "ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28"
 * ```
 */
export function arpPrint(nd: Nd, off: number, length: number, caplen: number): void {
  nd.protocol = "arp";
  nd.check(off, 8);
  const hrd = nd.be16(off);
  const pro = nd.be16(off + 2);
  const op = nd.be16(off + 6);
  if (hrd === 19) return atmarpPrint(nd, off, length, caplen);
  const frelay = hrd === 15;
  const hln = nd.u8(off + 4);
  const pln = nd.u8(off + 5);
  const sha = off + 8;
  const spa = sha + hln;
  const tha = spa + pln;
  const tpa = tha + hln;
  nd.check(tpa, pln);
  if (!nd.flags.e) nd.print("ARP, ");
  const ipLike = pro === ETHERTYPE_IP || pro === ETHERTYPE_TRAIL;
  if (!ipLike || pln !== 4 || hln === 0 || nd.v) {
    nd.print(`${tok(ARPHRD, "Unknown Hardware (%u)", hrd)} (len ${hln}), ${tok(ETHERTYPE_NAMES, "Unknown Protocol (0x%04x)", pro)} (len ${pln})`);
    if (!nd.v) {
      nd.print(`, length ${length}`);
      return;
    }
  }
  nd.print(`${nd.v ? ", " : ""}${tok(ARPOP, "Unknown (%u)", op)} `);
  const ip = (at: number) => (!ipLike ? "<wrong proto type>" : pln !== 4 ? "<wrong len>" : nd.ip4(at));
  switch (op) {
    case 1:
      nd.print(`who-has ${ip(tpa)}`);
      if (isNonZero(nd, tha, hln)) nd.print(` (${linkaddr(nd, tha, hln, frelay)})`);
      nd.print(` tell ${ip(spa)}`);
      break;
    case 2:
      nd.print(`${ip(spa)} is-at ${linkaddr(nd, sha, hln, frelay)}`);
      break;
    case 3:
    case 8:
      nd.print(`who-is ${linkaddr(nd, tha, hln, frelay)}`);
      nd.print(` tell ${linkaddr(nd, sha, hln, frelay)}`);
      break;
    case 4:
      nd.print(`${linkaddr(nd, tha, hln, frelay)} at ${ip(tpa)}`);
      break;
    case 9:
      nd.print(`${linkaddr(nd, sha, hln, frelay)} at ${ip(spa)}`);
      break;
    default:
      defaultPrint(nd, off, caplen);
      return;
  }
  nd.print(`, length ${length}`);
}

/** ATM ARP (RFC 2225): variable-length ATM numbers and subaddresses. */
function atmarpPrint(nd: Nd, off: number, length: number, caplen: number): void {
  nd.check(off, 12);
  const hrd = nd.be16(off);
  const pro = nd.be16(off + 2);
  const shl = nd.u8(off + 4) & 0x3f;
  const ssl = nd.u8(off + 5) & 0x3f;
  const op = nd.be16(off + 6);
  const spl = nd.u8(off + 8);
  const thl = nd.u8(off + 9) & 0x3f;
  const tsl = nd.u8(off + 10) & 0x3f;
  const tpl = nd.u8(off + 11);
  const sha = off + 12;
  const ssa = sha + shl;
  const spa = ssa + ssl;
  const tha = spa + spl;
  const tsa = tha + thl;
  const tpa = tsa + tsl;
  nd.check(tpa, tpl);
  if (!nd.flags.e) nd.print("ARP, ");
  const ipLike = pro === ETHERTYPE_IP || pro === ETHERTYPE_TRAIL;
  if (!ipLike || spl !== 4 || tpl !== 4 || nd.v) {
    nd.print(`${tok(ARPHRD, "Unknown Hardware (%u)", hrd)}, ${tok(ETHERTYPE_NAMES, "Unknown Protocol (0x%04x)", pro)} (len ${spl}/${tpl})`);
    if (!nd.v) {
      nd.print(`, length ${length}`);
      return;
    }
  }
  nd.print(`${nd.v ? ", " : ""}${tok(ARPOP, "Unknown (%u)", op)} `);
  const addr = (ha: number, hl: number, sa: number, sl: number) => {
    if (hl === 0) return "<No address>";
    let s = linkaddr(nd, ha, hl, false);
    if (sl !== 0) s += "," + linkaddr(nd, sa, sl, false);
    return s;
  };
  const tip = () => (!ipLike ? "<wrong proto type>" : tpl !== 4 ? "<wrong tplen>" : nd.ip4(tpa));
  const sip = () => (!ipLike ? "<wrong proto type>" : spl !== 4 ? "<wrong splen>" : nd.ip4(spa));
  switch (op) {
    case 1:
      nd.print(`who-has ${tip()}`);
      if (thl !== 0) nd.print(` (${addr(tha, thl, tsa, tsl)})`);
      nd.print(` tell ${sip()}`);
      break;
    case 2:
      nd.print(`${sip()} is-at ${addr(sha, shl, ssa, ssl)}`);
      break;
    case 8:
      nd.print(`who-is ${addr(tha, thl, tsa, tsl)} tell ${addr(sha, shl, ssa, ssl)}`);
      break;
    case 9:
      nd.print(`${addr(sha, shl, ssa, ssl)}at ${sip()}`);
      break;
    case 10:
      nd.print(`for ${sip()}`);
      break;
    default:
      defaultPrint(nd, off, caplen);
      return;
  }
  nd.print(`, length ${length}`);
}
