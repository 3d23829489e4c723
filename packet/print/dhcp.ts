/**
 * BOOTP/DHCP (UDP 67/68) at tcpdump's default verbosity: "BOOTP/DHCP, Request from MAC,
 * length N". With -v the header fields are printed; the vendor options tcpdump decodes after
 * them are not reproduced (tunkit does not claim DHCP at -v).
 *
 * @module
 */
import type { Nd } from "./nd.ts";
import { printjnp } from "./util.ts";

/** Prints the BOOTP/DHCP message at `bp` (`length` bytes). */
export function bootpPrint(nd: Nd, bp: number, length: number): void {
  nd.protocol = "bootp";
  const op = nd.u8(bp);
  nd.print(`BOOTP/DHCP, ${op === 1 ? "Request" : op === 2 ? "Reply" : `unknown (0x${op.toString(16).padStart(2, "0")})`}`);
  const htype = nd.u8(bp + 1);
  const hlen = nd.u8(bp + 2);
  if (htype === 1 && hlen === 6 && op === 1) nd.print(` from ${nd.mac(bp + 28)}`);
  nd.print(`, length ${length}`);
  if (!nd.v) return;
  nd.notDecoded = "bootp -v"; // tcpdump decodes more here with -v
  nd.check(bp + 8, 2);
  if (htype !== 1) nd.print(`, htype ${htype}`);
  if (htype !== 1 || hlen !== 6) nd.print(`, hlen ${hlen}`);
  if (nd.u8(bp + 3)) nd.print(`, hops ${nd.u8(bp + 3)}`);
  if (nd.be32(bp + 4)) nd.print(`, xid 0x${nd.be32(bp + 4).toString(16)}`);
  if (nd.be16(bp + 8)) nd.print(`, secs ${nd.be16(bp + 8)}`);
  const flags = nd.be16(bp + 10);
  nd.print(`, Flags [${flags & 0x8000 ? "Broadcast" : "none"}]`);
  if (nd.v > 1) nd.print(` (0x${flags.toString(16).padStart(4, "0")})`);
  if (nd.be32(bp + 12)) nd.print(`\n\t  Client-IP ${nd.ip4(bp + 12)}`);
  if (nd.be32(bp + 16)) nd.print(`\n\t  Your-IP ${nd.ip4(bp + 16)}`);
  if (nd.be32(bp + 20)) nd.print(`\n\t  Server-IP ${nd.ip4(bp + 20)}`);
  if (nd.be32(bp + 24)) nd.print(`\n\t  Gateway-IP ${nd.ip4(bp + 24)}`);
  if (htype === 1 && hlen === 6) nd.print(`\n\t  Client-Ethernet-Address ${nd.mac(bp + 28)}`);
  if (nd.u8(bp + 44)) {
    nd.print('\n\t  sname "');
    printjnp(nd, bp + 44, 64);
    nd.print('"');
  }
  if (nd.u8(bp + 108)) {
    nd.print('\n\t  file "');
    printjnp(nd, bp + 108, 128);
    nd.print('"');
  }
  nd.check(bp + 236, 4);
  const cookie = nd.be32(bp + 236);
  if (cookie === 0x63825363) nd.print("\n\t  Vendor-rfc1048 Extensions");
  else if (cookie !== 0) nd.print(`\n\t  Vendor-#0x${cookie.toString(16)}`);
}
