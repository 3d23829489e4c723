/**
 * tcpdump `-X` / `-XX` hex + ASCII dump: 16 bytes per line, `\t0x0000:  4500 0054 ...  E..T..`.
 * Bytes outside 0x21..0x7e print as `.`, so every line is printable ASCII whatever the input.
 *
 * @module
 */
import { decodeEthernet } from "./ethernet.ts";
import type { LinkType } from "./types.ts";

const HEX = "0123456789abcdef";

/**
 * Hex + ASCII dump of `bytes[start..end)`, offsets counted from `start`, one string per line
 * (tcpdump `-X` layout, each line starting with a tab).
 *
 * @example
 * ```ts
 * import { hexdumpLines } from "./hexdump.ts";
 * hexdumpLines(new Uint8Array([0x45, 0x00, 0x00, 0x54, 0x41]));
 * // ["\t0x0000:  4500 0054 41                             E..TA"]
 * ```
 */
export function hexdumpLines(bytes: Uint8Array, start = 0, end = bytes.length): string[] {
  const lines: string[] = [];
  const stop = Math.min(Math.max(end, 0), bytes.length);
  for (let off = Math.max(0, start); off < stop; off += 16) {
    let hexs = "";
    let ascii = "";
    const n = Math.min(16, stop - off);
    for (let i = 0; i < n; i++) {
      const b = bytes[off + i]!;
      if (i % 2 === 0) hexs += " ";
      hexs += HEX[b >> 4]! + HEX[b & 15]!;
      ascii += b >= 0x21 && b <= 0x7e ? String.fromCharCode(b) : ".";
    }
    const rel = off - start;
    lines.push(`\t0x${rel.toString(16).padStart(4, "0")}: ${hexs.padEnd(40)}  ${ascii}`);
  }
  return lines;
}

/**
 * The dump tcpdump prints under a packet: `-X` (`full` false) starts at the network layer (the
 * Ethernet header and VLAN tags skipped), `-XX` (`full` true) dumps the whole frame. Lines
 * joined with "\n".
 *
 * @example
 * ```ts
 * import { hexdump } from "./hexdump.ts";
 * // console.log(summaryLine + "\n" + hexdump(frame, "ethernet"));
 * ```
 */
export function hexdump(bytes: Uint8Array, linkType: LinkType = "raw", full = false): string {
  let start = 0;
  if (!full && linkType === "ethernet") {
    try {
      start = decodeEthernet(bytes).headerLength;
    } catch {
      start = Math.min(14, bytes.length);
    }
  }
  return hexdumpLines(bytes, start).join("\n");
}
