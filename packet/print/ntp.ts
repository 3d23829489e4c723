/**
 * NTP (RFC 5905) in tcpdump's words: "NTPv4, Client, length 48"; with -v the leap indicator,
 * stratum, poll, precision, root delay/dispersion, reference id, the four timestamps (with
 * their UTC dates) and the originator deltas, or a control message's header.
 *
 * @module
 */
import { tok, type Nd } from "./nd.ts";
import { safeChar } from "./util.ts";

const MODES: Readonly<Record<number, string>> = { 0: "unspecified", 1: "symmetric active", 2: "symmetric passive", 3: "Client", 4: "Server", 5: "Broadcast", 6: "Control Message", 7: "Reserved" };
const LEAP: Readonly<Record<number, string>> = { 0x00: "", 0x40: "+1s", 0x80: "-1s", 0xc0: "clock unsynchronized" };
const STRATUM: Readonly<Record<number, string>> = { 0: "unspecified", 1: "primary reference" };
const JAN_1970 = 2208988800;
const p2 = (n: number) => String(n).padStart(2, "0");

function frac9(uf: number): string {
  return String(Math.floor((uf / 4294967296) * 1e9)).padStart(9, "0");
}

function ntpTime(nd: Nd, p: number): void {
  const i = nd.be32(p);
  const uf = nd.be32(p + 4);
  nd.print(`${i}.${frac9(uf)}`);
  if (i) {
    const d = new Date((i - JAN_1970) * 1000);
    nd.print(` (${d.getUTCFullYear()}-${p2(d.getUTCMonth() + 1)}-${p2(d.getUTCDate())}T${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}Z)`);
  }
}

function ntpDelta(nd: Nd, o: number, p: number): void {
  const u = nd.be32(p);
  const ou = nd.be32(o);
  const uf = nd.be32(p + 4);
  const ouf = nd.be32(o + 4);
  if (ou === 0 && ouf === 0) {
    ntpTime(nd, p);
    return;
  }
  let sign: boolean;
  let i: number;
  let f: number;
  if (u > ou) {
    sign = false;
    i = u - ou;
    f = (uf - ouf) >>> 0;
    if (ouf > uf) i = (i - 1) >>> 0;
  } else if (u < ou) {
    sign = true;
    i = ou - u;
    f = (ouf - uf) >>> 0;
    if (uf > ouf) i = (i - 1) >>> 0;
  } else {
    i = 0;
    if (uf > ouf) {
      sign = false;
      f = uf - ouf;
    } else {
      sign = true;
      f = ouf - uf;
    }
  }
  nd.print(`${sign ? "-" : "+"}${i}.${frac9(f)}`);
}

function sfix(nd: Nd, p: number): string {
  const i = nd.be16(p);
  const f = Math.floor((nd.be16(p + 2) / 65536) * 1e6);
  return `${i}.${String(f).padStart(6, "0")}`;
}

const s8 = (v: number) => (v > 127 ? v - 256 : v);

function timePrint(nd: Nd, bp: number, length: number): void {
  if (length < 48) {
    nd.print(" (invalid)");
    nd.check(bp, length);
    return;
  }
  const stratum = nd.u8(bp + 1);
  nd.print(`, Stratum ${stratum} (${tok(STRATUM, stratum >= 2 && stratum <= 15 ? "secondary reference" : "reserved", stratum)})`);
  const poll = s8(nd.u8(bp + 2));
  nd.print(`, poll ${poll}`);
  if (poll > -32 && poll < 32) nd.print(poll >= 0 ? ` (${2 ** poll}s)` : ` (1/${2 ** -poll}s)`);
  nd.print(`, precision ${s8(nd.u8(bp + 3))}`);
  nd.check(bp + 4, 4);
  nd.print(`\n\tRoot Delay: ${sfix(nd, bp + 4)}`);
  nd.check(bp + 8, 4);
  nd.print(`, Root dispersion: ${sfix(nd, bp + 8)}`);
  nd.check(bp + 12, 4);
  nd.print(", Reference-ID: ");
  switch (stratum) {
    case 0:
      nd.print("(unspec)");
      break;
    case 1:
      for (let i = 0; i < 4; i++) nd.print(safeChar(nd.u8(bp + 12 + i)));
      break;
    case 254:
      nd.print(`${nd.ip4(bp + 12)} INFO_QUERY`);
      return;
    case 255:
      nd.print(`${nd.ip4(bp + 12)} INFO_REPLY`);
      return;
    default:
      nd.print(`0x${nd.be32(bp + 12).toString(16).padStart(8, "0")}`);
  }
  nd.check(bp + 16, 8);
  nd.print("\n\t  Reference Timestamp:  ");
  ntpTime(nd, bp + 16);
  nd.check(bp + 24, 8);
  nd.print("\n\t  Originator Timestamp: ");
  ntpTime(nd, bp + 24);
  nd.check(bp + 32, 8);
  nd.print("\n\t  Receive Timestamp:    ");
  ntpTime(nd, bp + 32);
  nd.check(bp + 40, 8);
  nd.print("\n\t  Transmit Timestamp:   ");
  ntpTime(nd, bp + 40);
  nd.print("\n\t    Originator - Receive Timestamp:  ");
  ntpDelta(nd, bp + 24, bp + 32);
  nd.print("\n\t    Originator - Transmit Timestamp: ");
  ntpDelta(nd, bp + 24, bp + 40);
  const hex8 = (o: number) => nd.be32(o).toString(16).padStart(8, "0");
  if (length === 52) nd.print(`\n\tKey id: ${nd.be32(bp + 48)}`);
  else if (length === 68) {
    nd.print(`\n\tKey id: ${nd.be32(bp + 48)}`);
    nd.check(bp + 52, 16);
    nd.print(`\n\tAuthentication: ${hex8(bp + 52)}${hex8(bp + 56)}${hex8(bp + 60)}${hex8(bp + 64)}`);
  } else if (length === 72) {
    nd.print(`\n\tKey id: ${nd.be32(bp + 48)}`);
    nd.check(bp + 52, 20);
    nd.print(`\n\tAuthentication: ${hex8(bp + 52)}${hex8(bp + 56)}${hex8(bp + 60)}${hex8(bp + 64)}${hex8(bp + 68)}`);
  } else if (length > 48) nd.print(`\n\t(${length - 48} more bytes after the header)`);
}

function controlPrint(nd: Nd, bp: number, length: number): void {
  if (length < 12) {
    nd.print(" (invalid)");
    nd.check(bp, length);
    return;
  }
  const c = nd.u8(bp + 1);
  nd.print(`, ${c & 0x80 ? "Response" : "Request"}, ${c & 0x40 ? "Error" : "OK"}, ${c & 0x20 ? "More" : "Last"}, OpCode=${c & 0x1f}\n`);
  nd.print(`\tSequence=${nd.be16(bp + 2)}`);
  const status = nd.be16(bp + 4);
  nd.print(`, Status=${status ? "0x" + status.toString(16) : "0"}`);
  nd.print(`, Assoc.=${nd.be16(bp + 6)}`);
  nd.print(`, Offset=${nd.be16(bp + 8)}`);
  const count = nd.be16(bp + 10);
  nd.print(`, Count=${count}`);
  if (12 + count > length) {
    nd.print(" (invalid)");
    nd.check(bp, length);
    return;
  }
  if (count !== 0) {
    nd.check(bp + 12, count);
    nd.print("\n\tTO-BE-DONE: data not interpreted");
  }
}

/** Prints the NTP packet at `bp` (`length` bytes). */
export function ntpPrint(nd: Nd, bp: number, length: number): void {
  nd.protocol = "ntp";
  const status = nd.u8(bp);
  nd.print(`NTPv${(status & 0x38) >> 3}`);
  const mode = status & 7;
  if (!nd.v) {
    nd.print(`, ${tok(MODES, "Unknown mode", mode)}, length ${length}`);
    return;
  }
  nd.print(`, ${tok(MODES, "Unknown mode", mode)}, length ${length}\n`);
  const leap = status & 0xc0;
  nd.print(`\tLeap indicator: ${tok(LEAP, "Unknown", leap)} (${leap})`);
  if (mode <= 5) timePrint(nd, bp, length);
  else if (mode === 6) controlPrint(nd, bp, length);
}
