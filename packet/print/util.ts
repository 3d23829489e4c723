/**
 * Pieces every printer shares: tcpdump's hex dumps of data it does not decode, its IP protocol
 * names, checksum checks in tcpdump's words.
 *
 * @module
 */
import { foldSum, onesSum } from "../checksum.ts";
import { HEX2, type Nd } from "./nd.ts";

/** tcpdump's ipproto_values: names -v prints ("proto TCP (6)"). */
export const IPPROTO_NAMES: Readonly<Record<number, string>> = {
  0: "Options", 1: "ICMP", 2: "IGMP", 4: "IPIP", 6: "TCP", 8: "EGP", 9: "IGRP", 17: "UDP", 33: "DCCP", 41: "IPv6",
  43: "Routing", 44: "Fragment", 46: "RSVP", 47: "GRE", 50: "ESP", 51: "AH", 55: "Mobile IP", 58: "ICMPv6",
  62: "Mobile IP (old)", 88: "EIGRP", 89: "OSPF", 103: "PIM", 108: "Compressed IP", 112: "VRRP", 113: "PGM", 132: "SCTP",
  135: "Mobility", 143: "Ethernet",
};

/** netdb protocol names (/etc/protocols) tcpdump prints without -n for unknown protocols; with -n it prints ip-proto-N. */
export function ipprotoName(p: number): string {
  return IPPROTO_NAMES[p] ?? "unknown";
}

/**
 * tcpdump's hex_and_ascii_print (what it prints for data it has no printer for, unless -x/-X/-A):
 * `ident` then `0x0000:  4500 ...  E...` per 16 bytes. Throws {@link Truncated} after the lines
 * when fewer than `len` bytes were captured, as tcpdump does.
 */
export function hexAndAscii(nd: Nd, ident: string, off: number, len: number, oset = 0): void {
  const cap = nd.avail(off);
  const truncated = len > cap;
  const n = truncated ? cap : len;
  const b = nd.b;
  for (let line = 0; line < n; line += 16) {
    let hex = "";
    let asc = "";
    const m = Math.min(16, n - line);
    for (let i = 0; i < m; i++) {
      const c = b[off + line + i]!;
      if (i % 2 === 0) hex += " ";
      hex += HEX2[c];
      asc += c > 0x20 && c < 0x7f ? String.fromCharCode(c) : ".";
    }
    nd.print(`${ident}0x${(oset + line).toString(16).padStart(4, "0")}: ${hex.padEnd(40)}  ${asc}`);
  }
  if (truncated) nd.trunc();
}

/** tcpdump's hex_print: `ident0x0000:  4500 0054 ...` per 16 bytes, no ASCII. */
export function hexPrint(nd: Nd, ident: string, off: number, len: number, oset = 0): void {
  const cap = nd.avail(off);
  const truncated = len > cap;
  const n = truncated ? cap : len;
  const b = nd.b;
  let s = "";
  for (let i = 0; i < n; i++) {
    if (i % 16 === 0) s += `${ident}0x${(oset + i).toString(16).padStart(4, "0")}: `;
    if (i % 2 === 0) s += " ";
    s += HEX2[b[off + i]!];
  }
  nd.print(s);
  if (truncated) nd.trunc();
}

/** tcpdump's print_unknown_data: hex_print of what was captured of `len` bytes (never truncates). */
export function unknownData(nd: Nd, off: number, ident: string, len: number): void {
  if (off > nd.snapend) {
    nd.print(`${ident}Dissector error: print_unknown_data called with pointer past end of packet`);
    return;
  }
  hexPrint(nd, ident, off, Math.min(len, nd.avail(off)));
}

/** The default printer (ND_DEFAULTPRINT): hex and ASCII unless -x/-X/-A asked for a dump anyway. */
export function defaultPrint(nd: Nd, off: number, len: number): void {
  if (!nd.suppressDefault) hexAndAscii(nd, "\n\t", off, len);
}

/** One's complement checksum of `b[off..off+len)` plus `acc`, as tcpdump's in_cksum: 0 when correct. */
export function inCksum(b: Uint8Array, off: number, len: number, acc = 0): number {
  return ~foldSum(onesSum(b, off, off + len, acc)) & 0xffff;
}

/** tcpdump's in_cksum_shouldbe: the checksum field value that would have been right. */
export function cksumShouldBe(field: number, computed: number): number {
  let s = field + computed;
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s & 0xffff;
}

/** Sum of an IPv4 pseudo-header with `dst` given (the final hop of a source route), unfolded. */
export function pseudo4(b: Uint8Array, ipOff: number, dstOff: number, proto: number, len: number): number {
  return onesSum(b, ipOff + 12, ipOff + 16, onesSum(b, dstOff, dstOff + 4, proto + (len & 0xffff) + Math.floor(len / 65536)));
}

/** Sum of an IPv6 pseudo-header with `dst` given (the final address of a routing header), unfolded. */
export function pseudo6(b: Uint8Array, ipOff: number, dstOff: number, proto: number, len: number): number {
  return onesSum(b, ipOff + 8, ipOff + 24, onesSum(b, dstOff, dstOff + 16, proto + (len & 0xffff) + Math.floor(len / 65536)));
}

/** tcpdump's fn_print / nd_printjnp style: printable ASCII kept, others as M-x / ^x escapes. */
export function safeChar(c: number): string {
  let s = "";
  if (c > 0x7f) {
    s = "M-";
    c &= 0x7f;
  }
  if (c < 0x20 || c === 0x7f) return s + "^" + String.fromCharCode(c ^ 0x40);
  return s + String.fromCharCode(c);
}

/** tcpdump's nd_printjnp: prints at most `n` bytes, stopping at a NUL, escaped; throws when cut short (after printing what was there). */
export function printjnp(nd: Nd, off: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const c = nd.u8(off + i);
    if (c === 0) break;
    nd.print(safeChar(c));
  }
}

/** tcpdump's nd_printn: prints exactly `n` bytes, escaped (NULs too); throws when cut short. */
export function printn(nd: Nd, off: number, n: number): void {
  for (let i = 0; i < n; i++) nd.print(safeChar(nd.u8(off + i)));
}

/** tcpdump's nd_printn bounded by the capture's end: prints what is there; true when cut short. */
export function printnCut(nd: Nd, off: number, n: number): boolean {
  while (n > 0 && off < nd.snapend) {
    n--;
    nd.print(safeChar(nd.b[off++]!));
  }
  return n !== 0;
}
