/**
 * BFD (RFC 5880; UDP 3784 control, 4784 multihop, 6784 LAG, 3785 echo) in tcpdump's words,
 * with -v the timers, discriminators and authentication section.
 *
 * @module
 */
import { HEX2, bits, tok, type Nd } from "./nd.ts";
import { safeChar, unknownData } from "./util.ts";

const V0_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x80, "I Hear You"], [0x40, "Demand"], [0x20, "Poll"], [0x10, "Final"], [0x08, "Control Plane Independent"], [0x04, "Authentication Present"],
  [0x02, "Reserved"], [0x01, "Reserved"],
];
const V1_FLAGS: ReadonlyArray<readonly [number, string]> = [
  [0x20, "Poll"], [0x10, "Final"], [0x08, "Control Plane Independent"], [0x04, "Authentication Present"], [0x02, "Demand"], [0x01, "Multipoint"],
];
const STATES: Readonly<Record<number, string>> = { 0: "AdminDown", 1: "Down", 2: "Init", 3: "Up" };
const DIAG: Readonly<Record<number, string>> = {
  0: "No Diagnostic", 1: "Control Detection Time Expired", 2: "Echo Function Failed", 3: "Neighbor Signaled Session Down", 4: "Forwarding Plane Reset",
  5: "Path Down", 6: "Concatenated Path Down", 7: "Administratively Down", 8: "Reverse Concatenated Path Down",
};
const PORTS: Readonly<Record<number, string>> = { 3784: "Control", 4784: "Multihop", 6784: "Lag" };
const AUTH: Readonly<Record<number, string>> = { 1: "Simple Password", 2: "Keyed MD5", 3: "Meticulous Keyed MD5", 4: "Keyed SHA1", 5: "Meticulous Keyed SHA1" };
const ms = (v: number) => String(Math.floor(v / 1000)).padStart(4);

function authPrint(nd: Nd, p: number): void {
  p += 24;
  nd.check(p, 4);
  const type = nd.u8(p);
  const len = nd.u8(p + 1);
  nd.print(`\n\tAuthentication: ${tok(AUTH, "Unknown", type)} (${type}), length: ${len}`);
  p += 2;
  nd.print(`\n\t  Auth Key ID: ${nd.u8(p)}`);
  switch (type) {
    case 1:
      if (len < 4 || len > 19) {
        nd.print(`[invalid length ${len}]`);
        break;
      }
      p++;
      nd.print(", Password: ");
      for (let i = 0; i < len - 3; i++) nd.print(safeChar(nd.u8(p + i)));
      break;
    case 2:
    case 3:
    case 4:
    case 5: {
      const sha = type >= 4;
      if (len !== (sha ? 28 : 24)) {
        nd.print(`[invalid length ${len}]`);
        break;
      }
      p += 2;
      nd.print(`, Sequence Number: 0x${nd.be32(p).toString(16).padStart(8, "0")}`);
      p += 4;
      const n = sha ? 20 : 16;
      nd.check(p, n);
      nd.print(sha ? "\n\t  Hash: " : "\n\t  Digest: ");
      for (let i = 0; i < n; i++) nd.print(HEX2[nd.u8(p + i)]!);
      break;
    }
  }
}

/** Prints the BFD packet at `p` (`len` bytes) sent to UDP `port`. */
export function bfdPrint(nd: Nd, p: number, len: number, port: number): void {
  nd.protocol = "bfd";
  if (port === 3784 || port === 4784 || port === 6784) {
    nd.check(p, 24);
    const vd = nd.u8(p);
    const version = (vd & 0xe0) >> 5;
    const diag = vd & 0x1f;
    const flags = nd.u8(p + 1);
    if (version === 0 || version === 1) {
      if (nd.v < 1) {
        if (version === 0) nd.print(`BFDv0, Control, Flags: [${bits(V0_FLAGS, "none", flags)}], length: ${len}`);
        else nd.print(`BFDv1, ${tok(PORTS, "unknown (%u)", port)}, State ${tok(STATES, "unknown (%u)", (flags & 0xc0) >> 6)}, Flags: [${bits(V1_FLAGS, "none", flags & 0x3f)}], length: ${len}`);
        return;
      }
      if (version === 0) nd.print(`BFDv0, length: ${len}\n\tControl, Flags: [${bits(V0_FLAGS, "none", flags)}], Diagnostic: ${tok(DIAG, "unknown", diag)} (0x${HEX2[diag]})`);
      else
        nd.print(`BFDv1, length: ${len}\n\t${tok(PORTS, "unknown (%u)", port)}, State ${tok(STATES, "unknown (%u)", (flags & 0xc0) >> 6)}, Flags: [${bits(V1_FLAGS, "none", flags & 0x3f)}], Diagnostic: ${tok(DIAG, "unknown", diag)} (0x${HEX2[diag]})`);
      const mult = nd.u8(p + 2);
      const tx = nd.be32(p + 12);
      nd.print(`\n\tDetection Timer Multiplier: ${mult} (${Math.floor(((mult * tx) % 4294967296) / 1000)} ms Detection time), BFD Length: ${nd.u8(p + 3)}`);
      nd.print(`\n\tMy Discriminator: 0x${nd.be32(p + 4).toString(16).padStart(8, "0")}`);
      nd.print(`, Your Discriminator: 0x${nd.be32(p + 8).toString(16).padStart(8, "0")}`);
      nd.print(`\n\t  Desired min Tx Interval:    ${ms(tx)} ms`);
      nd.print(`\n\t  Required min Rx Interval:   ${ms(nd.be32(p + 16))} ms`);
      nd.print(`\n\t  Required min Echo Interval: ${ms(nd.be32(p + 20))} ms`);
      if (flags & 0x04) authPrint(nd, p);
      return;
    }
    nd.print(`BFDv${version}, Control, length: ${len}`);
    if (nd.v >= 1) unknownData(nd, p, "\n\t", len);
  } else if (port === 3785) {
    nd.print(`BFD, Echo, length: ${len}`);
    if (nd.v >= 1) unknownData(nd, p, "\n\t", len);
  } else {
    nd.print(`BFD, unknown (${port}), length: ${len}`);
    if (nd.v >= 1) unknownData(nd, p, "\n\t", len);
  }
}
