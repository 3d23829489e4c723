/**
 * BGP (TCP port 179) at tcpdump's default verbosity: ": BGP" after the segment's length.
 * tcpdump's -v decoding of BGP messages (UPDATE attributes, capabilities...) is not
 * reproduced: with -v tunkit prints the message types it finds.
 *
 * @module
 */
import type { Nd } from "./nd.ts";

const BGP_TYPES: Readonly<Record<number, string>> = { 1: "Open", 2: "Update", 3: "Notification", 4: "Keepalive", 5: "Route Refresh" };

/** Prints the BGP data at `p` (`length` bytes). */
export function bgpPrint(nd: Nd, p: number, length: number): void {
  nd.protocol = "bgp";
  nd.print(": BGP");
  if (nd.v < 1) return;
  nd.notDecoded = "bgp -v"; // tcpdump decodes more here with -v
  // -v: one line per whole message found (marker, length, type), as a summary
  const end = Math.min(nd.snapend, p + length);
  let off = p;
  while (off + 19 <= end) {
    let marker = true;
    for (let i = 0; i < 16; i++) if (nd.b[off + i] !== 0xff) marker = false;
    if (!marker) break;
    const len = (nd.b[off + 16]! << 8) | nd.b[off + 17]!;
    const type = nd.b[off + 18]!;
    nd.print(`\n\t${BGP_TYPES[type] ?? "Unknown Message Type"} Message (${type}), length: ${len}`);
    if (len < 19) break;
    off += len;
  }
}
