/**
 * Text protocols in tcpdump's words (txtproto_print: HTTP, RTSP, FTP, SMTP, WHOIS): the
 * protocol's name and its first line, or with -v every line of a request or response.
 *
 * @module
 */
import type { Nd } from "./nd.ts";

/** HTTP methods tcpdump recognises as the start of a request. */
export const HTTP_CMDS: readonly string[] = [
  "GET", "PUT", "COPY", "HEAD", "LOCK", "MOVE", "POLL", "POST", "BCOPY", "BMOVE", "MKCOL", "TRACE", "LABEL", "MERGE", "DELETE", "SEARCH",
  "UNLOCK", "REPORT", "UPDATE", "NOTIFY", "BDELETE", "CONNECT", "OPTIONS", "CHECKIN", "PROPFIND", "CHECKOUT", "CCM_POST", "SUBSCRIBE",
  "PROPPATCH", "BPROPFIND", "BPROPPATCH", "UNCHECKOUT", "MKACTIVITY", "MKWORKSPACE", "UNSUBSCRIBE", "RPC_CONNECT", "VERSION-CONTROL",
  "BASELINE-CONTROL",
];

/** RTSP methods. */
export const RTSP_CMDS: readonly string[] = ["DESCRIBE", "ANNOUNCE", "GET_PARAMETER", "OPTIONS", "PAUSE", "PLAY", "RECORD", "REDIRECT", "SETUP", "SET_PARAMETER", "TEARDOWN"];

const MAX_TOKEN = 128;
const isprint = (c: number) => c >= 0x20 && c <= 0x7e;

/** fetch_token: the token at `idx` and where the next one starts (0: none). */
function fetchToken(nd: Nd, p: number, idx: number, len: number): { idx: number; token: string } {
  let tok = "";
  for (; idx < len; idx++) {
    if (!nd.ttest(p + idx, 1)) return { idx: 0, token: "" };
    const c = nd.b[p + idx]!;
    if (c > 0x7f) return { idx: 0, token: "" };
    if (c === 32 || c === 9 || c === 13 || c === 10) break;
    if (!isprint(c)) return { idx: 0, token: "" };
    if (tok.length + 2 > MAX_TOKEN + 1) return { idx: 0, token: "" };
    tok += String.fromCharCode(c);
  }
  if (tok.length === 0) return { idx: 0, token: "" };
  for (; idx < len; idx++) {
    if (!nd.ttest(p + idx, 1)) break;
    const c = nd.b[p + idx]!;
    if (c === 13 || c === 10) break;
    if (!isprint(c)) break;
    if (c !== 32 && c !== 9) break;
  }
  return { idx, token: tok };
}

/** print_txt_line: one line after `prefix`; the index after it, or 0 (not text, or cut: then " [|proto]"). */
function printTxtLine(nd: Nd, prefix: string, p: number, idx: number, len: number): number {
  const start = idx;
  let lineLen: number;
  while (idx < len) {
    const c = nd.u8(p + idx);
    if (c === 10) {
      lineLen = idx - start;
      idx++;
      nd.print(prefix + text(nd, p + start, lineLen));
      return idx;
    } else if (c === 13) {
      if (idx + 1 >= len) return 0;
      if (nd.u8(p + idx + 1) === 10) {
        lineLen = idx - start;
        idx += 2;
        nd.print(prefix + text(nd, p + start, lineLen));
        return idx;
      }
      return 0;
    } else if (!isprint(c) && c !== 9) return 0;
    idx++;
  }
  nd.print(prefix + text(nd, p + start, idx - start));
  nd.print(` [|${nd.protocol}]`);
  return 0;
}

function text(nd: Nd, off: number, n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(nd.b[off + i]!);
  return s;
}

/**
 * txtproto_print for the protocol named by `nd.protocol`. `cmds`: the request words (HTTP,
 * RTSP), when only requests and responses are printed; `respSecond`: the response code is the
 * second token ("HTTP/1.1 200 OK").
 */
export function txtprotoPrint(nd: Nd, p: number, len: number, cmds: readonly string[] | undefined, respSecond: boolean): void {
  let printThis = false;
  if (cmds) {
    let t = fetchToken(nd, p, 0, len);
    if (t.idx !== 0) {
      const up = t.token.toUpperCase();
      if (cmds.includes(up)) printThis = true;
      if (respSecond) t = fetchToken(nd, p, t.idx, len);
      if (t.idx !== 0 && /^[0-9]{3}$/.test(t.token)) printThis = true;
    }
  } else printThis = true;
  nd.print(nd.protocol.toUpperCase());
  if (!printThis) return;
  if (nd.v) {
    nd.print(`, length: ${len}`);
    for (let idx = 0; idx < len; ) {
      const eol = printTxtLine(nd, "\n\t", p, idx, len);
      if (eol === 0) break;
      idx = eol;
    }
  } else printTxtLine(nd, ": ", p, 0, len);
}
