/**
 * IPsec headers in tcpdump's words: ESP (RFC 4303; without keys only the SPI and sequence)
 * and AH (RFC 4302, which is followed by the protected protocol).
 *
 * @module
 */
import { HEX2, type Nd } from "./nd.ts";

/** ESP at `bp`: "ESP(spi=0x00001000,seq=0x1), length N". */
export function espPrint(nd: Nd, bp: number, length: number): void {
  nd.protocol = "esp";
  if (bp + 8 >= nd.snapend) {
    nd.print(` [|${nd.protocol}]`);
    return;
  }
  nd.print(`ESP(spi=0x${nd.be32(bp).toString(16).padStart(8, "0")}`);
  nd.print(`,seq=0x${nd.be32(bp + 4).toString(16)})`);
  nd.print(`, length ${length}`);
}

/** AH at `bp`: prints "AH(spi=...,seq=...,icv=0x...): " and returns its length (the next protocol follows). */
export function ahPrint(nd: Nd, bp: number): number {
  nd.protocol = "ah";
  nd.print("AH");
  const len = nd.u8(bp + 1);
  const hdrLen = (len + 2) * 4;
  nd.print("(");
  if (nd.v) nd.print(`length=${len}(${hdrLen}-bytes),`);
  const reserved = nd.be16(bp + 2);
  if (reserved) nd.print(`reserved=0x${reserved.toString(16)}[MustBeZero],`);
  nd.print(`spi=0x${nd.be32(bp + 4).toString(16).padStart(8, "0")},`);
  nd.print(`seq=0x${nd.be32(bp + 8).toString(16)},`);
  nd.print("icv=0x");
  for (let p = bp + 12; p < bp + hdrLen; p++) nd.print(HEX2[nd.u8(p)]!);
  nd.print("): ");
  return hdrLen;
}
