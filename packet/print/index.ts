/**
 * tunkit's tcpdump printers: one record in, tcpdump 4.99's text out. {@link printRecord} runs
 * the link-layer printer of the record's link type and the protocol printers under it
 * (packet/print/*.ts), each reading the bytes through bounds-checked getters; a read past the
 * capture ends the text with ` [|proto]` as tcpdump's does. It never throws.
 *
 * @module
 */
import { Nd, Truncated, type NdFlags, type PrintState } from "./nd.ts";
import { linkPrintable, printFrame } from "./link.ts";

export type { NdFlags, PrintState } from "./nd.ts";
export { linkPrintable } from "./link.ts";

/** What {@link printRecord} returns. */
export interface PrintResult {
  /** tcpdump's text for the record (may hold "\n" for -v's second lines). */
  text: string;
  /** Bytes of link-layer header (what -X leaves out of its dump). */
  headerLength: number;
  /** Set when a printer failed on something other than the end of the capture: a bug (the text still ends cleanly). */
  internalError?: string;
  /** A protocol in the packet that tcpdump decodes and tunkit prints as data (e.g. "babel"). */
  notDecoded?: string;
}

/**
 * Prints one record: `bytes` as captured, of LINKTYPE `linkType`, `wire` bytes long on the
 * wire. `state` carries what tcpdump remembers across packets (relative TCP sequence numbers);
 * pass the same object for every packet of a stream.
 *
 * @example
 * ```ts
 * import { printRecord } from "./index.ts";
 * const p = new Uint8Array([0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2, 8, 0, 0, 0, 0, 7, 0, 1]);
 * printRecord(p, 101, p.length, { v: 0, e: false, S: false }).text; // "IP 192.0.2.1 > 192.0.2.2: ICMP echo request, id 7, seq 1, length 8"
 * ```
 */
export function printRecord(bytes: Uint8Array, linkType: number, wire: number, flags: NdFlags, state: PrintState = {}): PrintResult {
  const nd = new Nd(bytes, flags, state);
  if (!linkPrintable(linkType)) return { text: "", headerLength: 0 };
  try {
    printFrame(nd, linkType, wire);
  } catch (e) {
    if (e instanceof Truncated) {
      nd.print(` [|${nd.protocol}]`);
      nd.llHdrLen = 0; // tcpdump dumps the whole packet after a truncation
    } else {
      // a bug, not bad input: never let it out of the printer
      nd.print(` [|${nd.protocol || "tunkit"}]`);
      return { text: nd.out, headerLength: 0, internalError: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) };
    }
  }
  return nd.notDecoded ? { text: nd.out, headerLength: nd.llHdrLen, notDecoded: nd.notDecoded } : { text: nd.out, headerLength: nd.llHdrLen };
}
