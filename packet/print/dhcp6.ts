/**
 * DHCPv6 (UDP 546/547) at tcpdump's default verbosity: "dhcp6 solicit". With -v the
 * transaction id (or relay addresses) is printed; the options tcpdump decodes after it are not
 * reproduced (tunkit does not claim DHCPv6 at -v).
 *
 * @module
 */
import { tok, type Nd } from "./nd.ts";

const TYPES: Readonly<Record<number, string>> = {
  1: "solicit", 2: "advertise", 3: "request", 4: "confirm", 5: "renew", 6: "rebind", 7: "reply", 8: "release", 9: "decline",
  10: "reconfigure", 11: "inf-req", 12: "relay-fwd", 13: "relay-reply", 14: "leasequery", 15: "leasequery-reply",
};

/** Prints the DHCPv6 message at `bp` (`length` bytes). */
export function dhcp6Print(nd: Nd, bp: number, _length: number): void {
  nd.protocol = "dhcp6";
  nd.print("dhcp6");
  nd.check(bp, 4);
  const type = nd.u8(bp);
  const name = tok(TYPES, "msgtype-%u", type);
  if (!nd.v) {
    nd.print(` ${name}`);
    return;
  }
  nd.print(` ${name} (`);
  nd.notDecoded = "dhcp6 -v"; // tcpdump decodes more here with -v
  if (type !== 12 && type !== 13) nd.print(`xid=${(nd.be32(bp) & 0xffffff).toString(16)}`);
  else nd.print(`linkaddr=${nd.ip6(bp + 2)} peeraddr=${nd.ip6(bp + 18)}`);
  nd.print(")");
}
