/**
 * tcpdump's words (4.99, default verbosity) for protocols that ride inside a tun and that
 * tunkit's decoder leaves as payload: ESP (IP protocol 50), VRRP (112), NTP (UDP 123), BGP (TCP
 * 179: tcpdump prints ": BGP" after the length). Each printer reads the bytes it is given,
 * bounds-checked, and returns the text tcpdump prints there (or undefined: not its packet).
 * (tcpdump 4.99 has no WireGuard or QUIC printer: those print as plain UDP, as tunkit does.)
 *
 * @module
 */

const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/**
 * ESP (RFC 4303): `ESP(spi=0x00001000,seq=0x1), length 116`; ` [|esp]` when cut short.
 *
 * @example
 * ```ts
 * import { espText } from "./protocols.ts";
 * espText(new Uint8Array([0, 0, 16, 0, 0, 0, 0, 1]), 0, 8); // "ESP(spi=0x00001000,seq=0x1), length 8"
 * ```
 */
export function espText(b: Uint8Array, off: number, length: number): string {
  if (b.length < off + 4) return " [|esp]";
  const spi = `ESP(spi=0x${u32(b, off).toString(16).padStart(8, "0")}`;
  if (b.length < off + 8) return spi + " [|esp]";
  return `${spi},seq=0x${u32(b, off + 4).toString(16)}), length ${length}`;
}

/**
 * VRRP (RFC 3768 / 5798): `VRRPv2, Advertisement, vrid 1, prio 100, authtype none, intvl 1s, length 20`.
 * `ttl` is the IP TTL / hop limit (tcpdump notes one that is not 255).
 *
 * @example
 * ```ts
 * import { vrrpText } from "./protocols.ts";
 * vrrpText(new Uint8Array([0x21, 1, 100, 1, 0, 1, 0, 0, 192, 0, 2, 1]), 0, 12, 255); // "VRRPv2, Advertisement, vrid 1, prio 100, authtype none, intvl 1s, length 12"
 * ```
 */
export function vrrpText(b: Uint8Array, off: number, length: number, ttl: number): string {
  if (b.length < off + 1) return "VRRP [|vrrp]";
  const version = b[off]! >> 4;
  const type = b[off]! & 15;
  let s = `VRRPv${version}, ${type === 1 ? "Advertisement" : `unknown type (${type})`}`;
  if (ttl !== 255) s += `, (ttl ${ttl})`;
  if (version < 2 || version > 3 || type !== 1) return s;
  if (b.length < off + 6) return s + " [|vrrp]";
  s += `, vrid ${b[off + 1]}, prio ${b[off + 2]}`;
  if (version === 2) {
    const auth = b[off + 4]!;
    const name = ({ 0: "none", 1: "simple", 2: "ah" } as Record<number, string>)[auth];
    s += `, authtype ${name ?? "(null)"}, intvl ${b[off + 5]}s, length ${length}`;
  } else s += `, intvl ${((b[off + 4]! & 0x0f) << 8) | b[off + 5]!}cs, length ${length}`;
  return s;
}

const NTP_MODES = ["unspecified", "symmetric active", "symmetric passive", "Client", "Server", "Broadcast", "Control Message", "Reserved"];

/**
 * NTP (RFC 5905), default verbosity: `NTPv4, Client, length 48`.
 *
 * @example
 * ```ts
 * import { ntpText } from "./protocols.ts";
 * ntpText(new Uint8Array([0x23]), 0, 48); // "NTPv4, Client, length 48"
 * ```
 */
export function ntpText(b: Uint8Array, off: number, length: number): string {
  if (b.length < off + 1) return " [|ntp]";
  const st = b[off]!;
  return `NTPv${(st >> 3) & 7}, ${NTP_MODES[st & 7]}, length ${length}`;
}
