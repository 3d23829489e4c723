/**
 * VRRP v2/v3 (RFC 3768, 5798) in tcpdump's words; -v adds the checksum check, the virtual
 * addresses and a simple-text password.
 *
 * @module
 */
import type { Nd } from "./nd.ts";
import type { IpCtx } from "./ip.ts";
import { inCksum, printjnp, pseudo4, pseudo6 } from "./util.ts";

/** Prints the VRRP packet at `bp` (`len` bytes); `ttl` is the IP TTL / hop limit. */
export function vrrpPrint(nd: Nd, bp: number, len: number, ip: IpCtx, ttl: number): void {
  nd.protocol = "vrrp";
  nd.print("VRRP");
  const version = (nd.u8(bp) & 0xf0) >> 4;
  const type = nd.u8(bp) & 0x0f;
  nd.print(`v${version}, ${type === 1 ? "Advertisement" : `unknown type (${type})`}`);
  if (ttl !== 255) nd.print(`, (ttl ${ttl})`);
  if (version < 2 || version > 3 || type !== 1) return;
  nd.print(`, vrid ${nd.u8(bp + 1)}, prio ${nd.u8(bp + 2)}`);
  let auth = 0;
  if (version === 2) {
    auth = nd.u8(bp + 4);
    nd.print(`, authtype ${({ 0: "none", 1: "simple", 2: "ah" } as Record<number, string>)[auth] ?? "(null)"}`);
    nd.print(`, intvl ${nd.u8(bp + 5)}s, length ${len}`);
  } else nd.print(`, intvl ${((nd.u8(bp + 4) & 0x0f) << 8) | nd.u8(bp + 5)}cs, length ${len}`);
  if (!nd.v) return;
  const naddrs = nd.u8(bp + 3);
  if (version === 2 && nd.ttest(bp, len) && inCksum(nd.b, bp, len)) nd.print(`, (bad vrrp cksum ${nd.be16(bp + 6).toString(16)})`);
  if (version === 3 && nd.ttest(bp, len)) {
    const sum = ip.ver === 4 ? inCksum(nd.b, bp, len, pseudo4(nd.b, ip.off, ip.dstOff, 112, len)) : inCksum(nd.b, bp, len, pseudo6(nd.b, ip.off, ip.dstOff, 112, len));
    if (sum) nd.print(`, (bad vrrp cksum ${nd.be16(bp + 6).toString(16)})`);
  }
  nd.print(", addrs");
  if (naddrs > 1) nd.print(`(${naddrs})`);
  nd.print(":");
  let c = " ";
  let p = bp + 8;
  for (let i = 0; i < naddrs; i++) {
    if (ip.ver === 4) {
      nd.print(`${c}${nd.ip4(p)}`);
      p += 4;
    } else {
      nd.print(`${c}${nd.ip6(p)}`);
      p += 16;
    }
    c = ",";
  }
  if (version === 2 && auth === 1) {
    nd.print(' auth "');
    printjnp(nd, p, 8);
    nd.print('"');
  }
}
