/**
 * Recognises the text protocols tcpdump names on well-known TCP ports (HTTP, RTSP, FTP, SMTP,
 * SSH version lines) and extracts the first line, printable ASCII only.
 *
 * @module
 */

const HTTP_CMDS = new Set(
  "GET PUT COPY HEAD LOCK MOVE POLL POST BCOPY BMOVE MKCOL TRACE LABEL MERGE DELETE SEARCH UNLOCK REPORT UPDATE NOTIFY BDELETE CONNECT OPTIONS CHECKIN PROPFIND CHECKOUT CCM_POST SUBSCRIBE PROPPATCH BPROPFIND BPROPPATCH UNCHECKOUT MKACTIVITY MKWORKSPACE UNSUBSCRIBE RPC_CONNECT VERSION-CONTROL BASELINE-CONTROL"
    .split(" "),
);
const RTSP_CMDS = new Set("DESCRIBE ANNOUNCE GET_PARAMETER OPTIONS PAUSE PLAY RECORD REDIRECT SETUP SET_PARAMETER TEARDOWN".split(" "));

/** What a text protocol looks like in one segment. */
export interface AppText {
  /** "HTTP", "RTSP", "FTP", "SMTP" or "SSH". */
  protocol: string;
  /** First line, when it is a request/response line of printable ASCII. */
  firstLine?: string;
}

function isPrint(c: number): boolean {
  return c >= 0x20 && c <= 0x7e;
}

/** Token at `i` (printable, up to whitespace), and the index after the following blanks. */
function token(b: Uint8Array, i: number, end: number): { tok: string; next: number } | undefined {
  let tok = "";
  for (; i < end; i++) {
    const c = b[i]!;
    if (c >= 0x80) return undefined;
    if (c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a) break;
    if (!isPrint(c) || tok.length >= 127) return undefined;
    tok += String.fromCharCode(c);
  }
  if (tok === "") return undefined;
  for (; i < end; i++) {
    const c = b[i]!;
    if (c === 0x0d || c === 0x0a || !isPrint(c) || (c !== 0x20 && c !== 0x09)) break;
  }
  return { tok, next: i };
}

/** The first line if it is printable ASCII (tabs allowed) ending the tcpdump way, else undefined. */
function firstLine(b: Uint8Array, start: number, end: number): string | undefined {
  let s = "";
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === 0x0a) return s;
    if (c === 0x0d) return i + 1 < end && b[i + 1] === 0x0a ? s : undefined;
    if (!isPrint(c) && c !== 0x09) return undefined;
    s += c === 0x09 ? " " : String.fromCharCode(c);
  }
  return s;
}

/**
 * Recognises the text protocol of a TCP payload by port, as tcpdump does. Returns undefined
 * for other ports or an empty payload.
 *
 * @example
 * ```ts
 * import { detectAppText } from "./app.ts";
 * const p = new TextEncoder().encode("GET / HTTP/1.1\r\n");
 * detectAppText(p, 0, p.length, 50000, 80); // { protocol: "HTTP", firstLine: "GET / HTTP/1.1" }
 * ```
 */
export function detectAppText(b: Uint8Array, off: number, len: number, sport: number, dport: number): AppText | undefined {
  if (len <= 0) return undefined;
  const end = Math.min(b.length, off + len);
  const has = (p: number) => sport === p || dport === p;
  let protocol: string;
  let cmds: Set<string> | undefined;
  if (has(80) || has(8080)) (protocol = "HTTP"), (cmds = HTTP_CMDS);
  else if (has(554) || has(8554)) (protocol = "RTSP"), (cmds = RTSP_CMDS);
  else if (has(21)) protocol = "FTP";
  else if (has(25)) protocol = "SMTP";
  else if (has(22)) {
    // tcpdump prints the SSH version line only
    if (end - off < 4 || b[off] !== 0x53 || b[off + 1] !== 0x53 || b[off + 2] !== 0x48 || b[off + 3] !== 0x2d) return undefined;
    const line = firstLine(b, off, end);
    let nl = false;
    for (let i = off; i < end; i++) if (b[i] === 0x0a || b[i] === 0x0d) nl = true;
    return line !== undefined && nl ? { protocol: "SSH", firstLine: line } : undefined;
  } else return undefined;
  let print = cmds === undefined;
  if (cmds) {
    const t = token(b, off, end);
    if (t) {
      if (cmds.has(t.tok.toUpperCase())) print = true;
      const t2 = token(b, t.next, end);
      if (t2 && /^\d{3}$/.test(t2.tok)) print = true;
    }
  }
  const out: AppText = { protocol };
  if (print) {
    const l = firstLine(b, off, end);
    if (l !== undefined) out.firstLine = l;
  }
  return out;
}
