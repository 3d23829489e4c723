/**
 * UDP encapsulations in tcpdump's words: VXLAN (RFC 7348, UDP 4789), Geneve (RFC 8926, UDP
 * 6081), OTV (UDP 8472), each followed by the Ethernet frame (or, for Geneve, the protocol) it
 * carries; Geneve's options with -v (their data with -vv); Broadcom's lawful-intercept shim.
 *
 * @module
 */
import { ETHERTYPE_NAMES } from "../ethernet.ts";
import { bits, tok, type Nd } from "./nd.ts";
import { etherPrint, ethertypePrint } from "./link.ts";
import { ipPrint } from "./ip.ts";
import { ip6Print } from "./ip6.ts";

/** VXLAN at `bp` (`len` bytes). */
export function vxlanPrint(nd: Nd, bp: number, len: number): void {
  nd.protocol = "vxlan";
  nd.print("VXLAN");
  if (len < 8) {
    nd.print(" (invalid)");
    return;
  }
  const flags = nd.u8(bp);
  nd.print(`, flags [${bits([[0x08, "I"]], "invalid", flags, "")}] (0x${flags.toString(16).padStart(2, "0")}), `);
  nd.print(`vni ${nd.be24(bp + 4)}\n`);
  nd.check(bp + 7, 1);
  etherPrint(nd, bp + 8, len - 8, nd.avail(bp + 8));
}

const GENEVE_FLAGS: ReadonlyArray<readonly [number, string]> = [[0x80, "O"], [0x40, "C"], [0x20, "R1"], [0x10, "R2"], [0x08, "R3"], [0x04, "R4"], [0x02, "R5"], [0x01, "R6"]];

function optClass(c: number): string {
  switch (c) {
    case 0x0100:
      return "Linux";
    case 0x0101:
      return "Open vSwitch";
    case 0x0102:
      return "Open Virtual Networking (OVN)";
    case 0x0103:
      return "In-band Network Telemetry (INT)";
    case 0x0104:
      return "VMware";
    default:
      return c <= 0x00ff ? "Standard" : c >= 0xfff0 ? "Experimental" : "Unknown";
  }
}

function genevOpts(nd: Nd, bp: number, len: number): void {
  let sep = "";
  while (len > 0) {
    nd.print(sep);
    sep = ", ";
    const cls = nd.be16(bp);
    const type = nd.u8(bp + 2);
    const olen = 4 + (nd.u8(bp + 3) & 0x1f) * 4;
    nd.print(`class ${optClass(cls)} (0x${cls.toString(16)}) type 0x${type.toString(16)}${type & 0x80 ? "(C)" : ""} len ${olen}`);
    if (olen > len) {
      nd.print(" [bad length]");
      return;
    }
    if (nd.v > 1 && olen > 4) {
      nd.print(" data");
      for (let i = 4; i < olen; i += 4) nd.print(` ${nd.be32(bp + i).toString(16).padStart(8, "0")}`);
    }
    bp += olen;
    len -= olen;
  }
}

/** Geneve at `bp` (`len` bytes). */
export function genevePrint(nd: Nd, bp: number, len: number): void {
  nd.protocol = "geneve";
  nd.print("Geneve");
  if (len < 8) {
    nd.print(` [length ${len} < 8] (invalid)`);
    return;
  }
  nd.check(bp, 8);
  const verOpt = nd.u8(bp);
  const version = verOpt >> 6;
  if (version !== 0) {
    nd.print(` ERROR: unknown-version ${version}`);
    return;
  }
  const flags = nd.u8(bp + 1);
  const prot = nd.be16(bp + 2);
  const vni = nd.be24(bp + 4);
  const reserved = nd.u8(bp + 7);
  bp += 8;
  len -= 8;
  nd.print(`, Flags [${bits(GENEVE_FLAGS, "none", flags, "")}]`);
  nd.print(`, vni 0x${vni.toString(16)}`);
  if (reserved) nd.print(`, rsvd 0x${reserved.toString(16)}`);
  if (nd.flags.e) nd.print(`, proto ${tok(ETHERTYPE_NAMES, "unknown", prot)} (0x${prot.toString(16).padStart(4, "0")})`);
  const optsLen = (verOpt & 0x3f) * 4;
  if (len < optsLen) {
    nd.print(` truncated-geneve - ${optsLen - len} bytes missing`);
    return;
  }
  nd.check(bp, optsLen);
  if (optsLen > 0) {
    nd.print(", options [");
    if (nd.v) genevOpts(nd, bp, optsLen);
    else nd.print(`${optsLen} bytes`);
    nd.print("]");
  }
  bp += optsLen;
  len -= optsLen;
  nd.print(nd.v < 1 ? ": " : "\n\t");
  if (!ethertypePrint(nd, prot, bp, len, nd.avail(bp))) {
    if (prot === 0x6558) etherPrint(nd, bp, len, nd.avail(bp));
    else nd.print(`geneve-proto-0x${prot.toString(16)}`);
  }
}

/** OTV (draft-hasmit-otv, UDP 8472) at `bp` (`len` bytes): the header, then the Ethernet frame. */
export function otvPrint(nd: Nd, bp: number, len: number): void {
  nd.protocol = "otv";
  nd.print("OTV, ");
  if (len < 8) {
    nd.print(`[length ${len} < 8] (invalid)`);
    nd.check(bp, len);
    return;
  }
  const flags = nd.u8(bp);
  nd.print(`flags [${flags & 0x08 ? "I" : "."}] (0x${flags.toString(16).padStart(2, "0")}), `);
  nd.print(`overlay ${nd.be24(bp + 1)}, `);
  nd.print(`instance ${nd.be24(bp + 4)}\n`);
  nd.check(bp + 7, 1);
  etherPrint(nd, bp + 8, len - 8, nd.avail(bp + 8));
}

const BCM_DIR: Readonly<Record<number, string>> = { 1: "unused", 2: "egress", 3: "ingress" };
const BCM_TYPE: Readonly<Record<number, string>> = { 4: "undecided", 5: "ipv4", 6: "ipv6", 7: "ethernet" };
const BCM_SUB: Readonly<Record<number, string>> = { 1: "single VLAN tag", 2: "double VLAN tag", 3: "untagged" };

/** Broadcom's lawful-intercept shim (BCM-LI, UDP source port 49152): the shim, then with -v the packet inside. */
export function bcmLiPrint(nd: Nd, bp: number, length: number): void {
  nd.protocol = "bcm_li";
  if (length < 4) {
    nd.print(` (length ${length} < 4) (invalid)`);
    return;
  }
  const shim = nd.be32(bp);
  const type = (shim >>> 25) & 0xf;
  length -= 4;
  bp += 4;
  nd.print(`${nd.v ? "\n    " : ""}BCM-LI-SHIM: direction ${tok(BCM_DIR, "unknown", (shim >>> 29) & 7)}, pkt-type ${tok(BCM_TYPE, "unknown", type)}, pkt-subtype ${tok(BCM_SUB, "unknown", (shim >>> 22) & 7)}, li-id ${shim & 0x3fffff}${nd.v ? "\n    " : ""}`);
  if (!nd.v) {
    nd.check(bp, length);
    return;
  }
  switch (type) {
    case 7:
      etherPrint(nd, bp, length, nd.avail(bp));
      break;
    case 5:
      ipPrint(nd, bp, length);
      break;
    case 6:
      ip6Print(nd, bp, length);
      break;
    case 4: {
      const v = nd.u8(bp) >> 4;
      if (v === 4) ipPrint(nd, bp, length);
      else if (v === 6) ip6Print(nd, bp, length);
      else nd.print("unknown payload");
      break;
    }
    default:
      nd.print(" (invalid)");
  }
}
