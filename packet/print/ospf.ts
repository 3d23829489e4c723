/**
 * OSPFv2 and OSPFv3 at tcpdump's default verbosity: "OSPFv2, Hello, length 44". With -v the
 * router id, area and authentication line is printed; the LSA and Hello bodies tcpdump decodes
 * further are not reproduced (tunkit does not claim OSPF at -v).
 *
 * @module
 */
import { tok, type Nd } from "./nd.ts";
import { printjnp } from "./util.ts";
import type { IpCtx } from "./ip.ts";

const TYPES: Readonly<Record<number, string>> = { 1: "Hello", 2: "Database Description", 3: "LS-Request", 4: "LS-Update", 5: "LS-Ack" };
const AUTH: Readonly<Record<number, string>> = { 0: "none", 1: "simple", 2: "MD5" };

/** OSPFv2 at `bp` (`length` bytes). */
export function ospfPrint(nd: Nd, bp: number, length: number, _ip: IpCtx): void {
  nd.protocol = "ospf2";
  const authtype = nd.be16(bp + 14);
  if (authtype === 2) {
    length -= 16;
    nd.snapend -= 16;
  }
  const type = nd.u8(bp + 1);
  const name = tok(TYPES, "unknown LS-type %u", type);
  nd.print(`OSPFv${nd.u8(bp)}, ${name}, length ${length}`);
  if (name.startsWith("u") || !nd.v) return;
  nd.notDecoded = "ospf -v"; // tcpdump decodes more here with -v
  const olen = nd.be16(bp + 2);
  if (length !== olen) nd.print(` [len ${olen}]`);
  nd.print(`\n\tRouter-ID ${nd.ip4(bp + 4)}`);
  nd.print(nd.be32(bp + 8) !== 0 ? `, Area ${nd.ip4(bp + 8)}` : ", Backbone Area");
  nd.check(bp + 16, 8);
  nd.print(`, Authentication Type: ${tok(AUTH, "unknown", authtype)} (${authtype})`);
  if (authtype === 1) {
    nd.print("\n\tSimple text password: ");
    printjnp(nd, bp + 16, 8);
  } else if (authtype === 2) {
    nd.print(`\n\tKey-ID: ${nd.u8(bp + 18)}, Auth-Length: ${nd.u8(bp + 19)}, Crypto Sequence Number: 0x${nd.be32(bp + 20).toString(16).padStart(8, "0")}`);
  }
}

/** OSPFv3 at `bp` (`length` bytes). */
export function ospf6Print(nd: Nd, bp: number, length: number): void {
  nd.protocol = "ospf3";
  const type = nd.u8(bp + 1);
  const name = tok(TYPES, "unknown packet type (%u)", type);
  nd.print(`OSPFv${nd.u8(bp)}, ${name}, length ${length}`);
  if (name.startsWith("u") || !nd.v) return;
  nd.notDecoded = "ospf3 -v"; // tcpdump decodes more here with -v
  const datalen = nd.be16(bp + 2);
  if (datalen > length) {
    nd.print(` [len ${datalen}]`);
    return;
  }
  nd.print(`\n\tRouter-ID ${nd.ip4(bp + 4)}`);
  nd.print(nd.be32(bp + 8) !== 0 ? `, Area ${nd.ip4(bp + 8)}` : ", Backbone Area");
  if (nd.u8(bp + 14)) nd.print(`, Instance ${nd.u8(bp + 14)}`);
}
