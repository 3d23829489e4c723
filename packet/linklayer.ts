/**
 * Link layers tcpdump prints that tunkit's decoder does not start from: LINUX_SLL (113, what
 * `tcpdump -i any` writes), LINUX_SLL2 (276), NULL (0) and LOOP (108) (BSD/macOS tunnels),
 * PPP (9). {@link unwrapLink} splits a record into tcpdump's link text (with -e, or always for
 * SLL2's interface and direction) and the network-layer bytes inside, which `decode()` then
 * takes as raw IP (or ARP).
 *
 * @module
 */
import { formatMac } from "../common/addr.ts";
import { ETHERTYPE_NAMES } from "./ethernet.ts";

/** LINKTYPE numbers handled here. */
export const LINKTYPE_NULL = 0;
export const LINKTYPE_PPP = 9;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_LINUX_SLL2 = 276;

/**
 * True for a LINKTYPE {@link unwrapLink} handles.
 *
 * @example
 * ```ts
 * import { isWrappedLink, LINKTYPE_LINUX_SLL2 } from "./linklayer.ts";
 * isWrappedLink(LINKTYPE_LINUX_SLL2); // true
 * isWrappedLink(101); // false
 * ```
 */
export function isWrappedLink(n: number): boolean {
  return n === LINKTYPE_NULL || n === LINKTYPE_PPP || n === LINKTYPE_LOOP || n === LINKTYPE_LINUX_SLL || n === LINKTYPE_LINUX_SLL2;
}

/** What is inside a link header. */
export interface Unwrapped {
  /** tcpdump's text before the network layer ("" without -e for most). */
  prefix: string;
  /** The network layer, when tunkit decodes it: IP (raw) or ARP. */
  inner?: { bytes: Uint8Array; kind: "raw" | "arp"; wireLength: number; ipVersion?: 4 | 6 };
  /** Set when the text is complete without an inner packet (truncated header, unknown protocol). */
  text?: string;
  /** Bytes of link header (for -A / -X of the network layer). */
  headerLength: number;
}

const PKTTYPE: Readonly<Record<number, string>> = { 0: "In", 1: "B", 2: "M", 3: "P", 4: "Out" };
const BSD_AF: Readonly<Record<number, string>> = { 2: "IPv4", 6: "NS", 7: "ISO", 16: "Appletalk", 23: "IPX", 24: "IPv6", 28: "IPv6", 30: "IPv6" };
const PPP_NAMES: Readonly<Record<number, string>> = { 0x21: "IP", 0x57: "IP6", 0x2b: "IPX", 0xc021: "LCP", 0x8021: "IPCP", 0x8057: "IP6CP", 0xc023: "PAP", 0xc223: "CHAP", 0x80fd: "CCP", 0x003d: "ML" };

function ethertypeText(t: number, wire: number): string {
  let s: string;
  if (t <= 1500) s = t === 1 ? "802.3" : t === 4 ? "802.2" : `ethertype Unknown (0x${t.toString(16).padStart(4, "0")})`;
  else s = `ethertype ${ETHERTYPE_NAMES[t] ?? "Unknown"} (0x${t.toString(16).padStart(4, "0")})`;
  return `${s}, length ${wire}: `;
}

function byEthertype(t: number, b: Uint8Array, off: number, wire: number): Unwrapped["inner"] {
  const bytes = b.subarray(off);
  if (t === 0x0800 || t === 0x86dd) return { bytes, kind: "raw", wireLength: wire, ipVersion: t === 0x0800 ? 4 : 6 };
  if (t === 0x0806) return { bytes, kind: "arp", wireLength: wire };
  return undefined;
}

/**
 * Splits a record of a wrapped link type. `eflag`: tcpdump's -e. `ifName` names an interface
 * index for SLL2 (tcpdump uses the reading machine's if_indextoname; "?" when unknown).
 *
 * @example
 * ```ts
 * import { unwrapLink } from "./linklayer.ts";
 * const u = unwrapLink(new Uint8Array([2, 0, 0, 0, 0x45]), 0, 5, false);
 * u.inner?.kind; // "raw"
 * ```
 */
export function unwrapLink(b: Uint8Array, linkType: number, wire: number, eflag: boolean, ifName: (index: number) => string | undefined = () => undefined): Unwrapped {
  const cap = b.length;
  if (linkType === LINKTYPE_NULL || linkType === LINKTYPE_LOOP) {
    if (cap < 4) return { prefix: "", text: " [|null]", headerLength: cap };
    // tcpdump reads the family in host order (little-endian here) and swaps it when the upper
    // half is set: that covers LOOP's network order and NULL from either kind of host
    let fam = ((b[3]! << 24) | (b[2]! << 16) | (b[1]! << 8) | b[0]!) >>> 0;
    if (fam & 0xffff0000) fam = (((fam & 0xff) << 24) | ((fam & 0xff00) << 8) | ((fam >>> 8) & 0xff00) | (fam >>> 24)) >>> 0;
    const hdr = `AF ${BSD_AF[fam] ?? "Unknown"} (${fam}), length ${wire}: `;
    const inner = fam === 2 || fam === 24 || fam === 28 || fam === 30 ? { bytes: b.subarray(4), kind: "raw" as const, wireLength: wire - 4, ipVersion: fam === 2 ? (4 as const) : (6 as const) } : undefined;
    if (!inner) return { prefix: hdr, text: "", headerLength: 4 };
    return { prefix: eflag ? hdr : "", inner, headerLength: 4 };
  }
  if (linkType === LINKTYPE_LINUX_SLL) {
    if (cap < 16) return { prefix: "", text: " [|sll]", headerLength: cap };
    const type = (b[14]! << 8) | b[15]!;
    let prefix = "";
    if (eflag) {
      prefix = `${(PKTTYPE[(b[0]! << 8) | b[1]!] ?? "?").padStart(3)} `;
      if (((b[4]! << 8) | b[5]!) === 6) prefix += `${formatMac(b, 6, 6)} `;
      prefix += ethertypeText(type, wire);
    }
    const inner = byEthertype(type, b, 16, wire - 16);
    return inner ? { prefix, inner, headerLength: 16 } : { prefix, text: "", headerLength: 16 };
  }
  if (linkType === LINKTYPE_LINUX_SLL2) {
    if (cap < 20) return { prefix: "", text: " [|sll2]", headerLength: cap };
    const type = (b[0]! << 8) | b[1]!;
    const index = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
    let prefix = `${(ifName(index) ?? "?").padEnd(5)} ${(PKTTYPE[b[10]!] ?? "?").padEnd(3)} `;
    if (eflag) {
      prefix += `ifindex ${index} `;
      if (b[11] === 6) prefix += `${formatMac(b, 12, 6)} `;
      prefix += ethertypeText(type, wire);
    }
    const inner = byEthertype(type, b, 20, wire - 20);
    return inner ? { prefix, inner, headerLength: 20 } : { prefix, text: "", headerLength: 20 };
  }
  // PPP (9): optional ff 03 (or pppd's in/out marks), then a 1- or 2-byte protocol
  if (cap < 2) return { prefix: "", text: " [|ppp]", headerLength: cap };
  let p = 0;
  let prefix = "";
  const h = (b[0]! << 8) | b[1]!;
  if (h === 0x0003 || h === 0x0103 || h === 0xff03) {
    if (eflag && h === 0x0003) prefix += "In  ";
    if (eflag && h === 0x0103) prefix += "Out ";
    p = 2;
  }
  if (cap - p < 2 || wire - p < 2) return { prefix, text: " [|ppp]", headerLength: p };
  let proto: number;
  if (b[p]! % 2) proto = b[p++]!;
  else {
    proto = (b[p]! << 8) | b[p + 1]!;
    p += 2;
  }
  const name = PPP_NAMES[proto];
  if (eflag) {
    prefix += `${name ?? "unknown"} (0x${proto.toString(16).padStart(4, "0")}), length ${wire}`;
    if (!name) return { prefix, text: "", headerLength: p };
    prefix += ": ";
  }
  if (proto === 0x21 || proto === 0x0800 || proto === 0x57 || proto === 0x86dd) {
    return { prefix, inner: { bytes: b.subarray(p), kind: "raw", wireLength: wire - p, ipVersion: proto === 0x21 || proto === 0x0800 ? 4 : 6 }, headerLength: p };
  }
  return { prefix, text: eflag ? "" : `PPP-${name ?? `0x${proto.toString(16)}`}, length ${wire}`, headerLength: p };
}

/**
 * The network-layer bytes of a wrapped-link record as `decode()`'s raw IP, for filters; undefined
 * when it holds no IP packet.
 *
 * @example
 * ```ts
 * import { innerIp } from "./linklayer.ts";
 * innerIp(new Uint8Array([2, 0, 0, 0, 0x45]), 0)?.length; // 1
 * ```
 */
export function innerIp(b: Uint8Array, linkType: number): Uint8Array | undefined {
  const u = unwrapLink(b, linkType, b.length, false);
  return u.inner?.kind === "raw" ? u.inner.bytes : undefined;
}
