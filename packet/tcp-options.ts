/**
 * TCP options as tcpdump 4.99 prints them (`options [mss 1460,sackOK,TS val 1 ecr 0,...]`),
 * straight from the bytes: MPTCP (RFC 8684: capable, join, dss, add-addr, rem-addr, prio, fail,
 * fast-close), TCP Fast Open (kind 34 and the RFC 6994 experimental form `exp-tfo`), RFC 6994
 * experiments by magic (`exp-acc0`: AccECN), TCP-AO, MD5, UTO, SCPS, echo/CC, and tcpdump's
 * `[bad opt]` / ` [|tcp]` endings. Every read is bounds-checked against what was captured.
 *
 * @module
 */
import { formatIpv4, formatIpv6 } from "../common/addr.ts";

const NAMES: Readonly<Record<number, string>> = {
  0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 6: "echo", 7: "echoreply", 8: "TS",
  11: "cc", 12: "ccnew", 13: "", 19: "md5", 20: "scps", 28: "uto", 29: "tcp-ao", 30: "mptcp", 34: "tfo", 254: "exp",
};

const SYN = 0x02;
const ACK = 0x10;

/** How the option list ended: whole, a bad option, or the capture ran out. */
export type TcpOptionsEnd = "ok" | "bad" | "trunc";

/** Result of {@link formatTcpOptions}: the text from ", options [" on, and how it ended. */
export interface TcpOptionsText {
  text: string;
  end: TcpOptionsEnd;
}

const hex2 = (b: number) => b.toString(16).padStart(2, "0");

/** A 64-bit big-endian value as hex without leading zeros (PRIx64). */
function hex64(b: Uint8Array, o: number): string {
  let s = "";
  for (let i = 0; i < 8; i++) s += hex2(b[o + i]!);
  return s.replace(/^0+(?=.)/, "");
}

/** A 64-bit big-endian value in decimal (PRIu64). */
function dec64(b: Uint8Array, o: number): string {
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(b[o + i]!);
  return v.toString();
}

const u16 = (b: Uint8Array, o: number) => (b[o]! << 8) | b[o + 1]!;
const u32 = (b: Uint8Array, o: number) => ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;

/** MPTCP option (kind 30) at `o` of `len` bytes, whole in `b`: the text after "mptcp", or undefined for tcpdump's "bad". */
function mptcp(b: Uint8Array, o: number, len: number, flags: number): string | undefined {
  if (len < 3) return undefined;
  const sub = Math.min((b[o + 2]! >> 4) & 0xf, 8);
  const names = ["capable", "join", "dss", "add-addr", "rem-addr", "prio", "fail", "fast-close", "unknown"];
  let s = ` ${len} ${names[sub]}`;
  switch (sub) {
    case 0: {
      if (!(((len === 12 || len === 4) && flags & SYN) || ((len === 20 || len === 22) && (flags & (SYN | ACK)) === ACK))) return undefined;
      const version = b[o + 2]! & 0xf;
      if (version > 1) return s + ` Unknown Version (${version})`;
      s += ` v${version}`;
      if (b[o + 3]! & 0x80) s += " csum";
      if (len === 12 || len >= 20) {
        s += ` {0x${hex64(b, o + 4)}`;
        if (len >= 20) s += `,0x${hex64(b, o + 12)}`;
        s += "}";
      }
      return s;
    }
    case 1: {
      if (!(len === 12 && flags & SYN) && !(len === 16 && (flags & (SYN | ACK)) === (SYN | ACK)) && !(len === 24 && flags & ACK)) return undefined;
      if (len !== 24) {
        if (b[o + 2]! & 1) s += " backup";
        s += ` id ${b[o + 3]}`;
      }
      if (len === 12) s += ` token 0x${u32(b, o + 4).toString(16)} nonce 0x${u32(b, o + 8).toString(16)}`;
      else if (len === 16) s += ` hmac 0x${hex64(b, o + 4)} nonce 0x${u32(b, o + 12).toString(16)}`;
      else {
        s += " hmac 0x";
        for (let i = 0; i < 20; i++) s += hex2(b[o + 4 + i]!);
      }
      return s;
    }
    case 2: {
      if (len < 4 || flags & SYN) return undefined;
      const f = b[o + 3]!;
      let p = o + 4;
      let rest = len - 4;
      if (f & 0x10) s += " fin";
      if (f & 0x01) {
        s += " ack ";
        if (f & 0x02) {
          if (rest < 8) return undefined;
          s += dec64(b, p);
          p += 8;
          rest -= 8;
        } else {
          if (rest < 4) return undefined;
          s += u32(b, p);
          p += 4;
          rest -= 4;
        }
      }
      if (f & 0x04) {
        s += " seq ";
        if (f & 0x08) {
          if (rest < 8) return undefined;
          s += dec64(b, p);
          p += 8;
          rest -= 8;
        } else {
          if (rest < 4) return undefined;
          s += u32(b, p);
          p += 4;
          rest -= 4;
        }
        if (rest < 4) return undefined;
        s += ` subseq ${u32(b, p)}`;
        p += 4;
        rest -= 4;
        if (rest < 2) return undefined;
        s += ` len ${u16(b, p)}`;
        p += 2;
        rest -= 2;
        if (rest >= 2) {
          s += ` csum 0x${u16(b, p).toString(16)}`;
          rest -= 2;
        }
      }
      return rest === 0 ? s : undefined;
    }
    case 3: {
      if (![8, 10, 16, 18, 20, 22, 28, 30].includes(len)) return undefined;
      const e = b[o + 2]! & 0xf;
      s += ` ${({ 6: "v0-ip6", 4: "v0-ip4", 1: "v1-echo", 0: "v1" } as Record<number, string>)[e] ?? "[bad version/echo]"}`;
      s += ` id ${b[o + 3]}`;
      if (len <= 18) {
        s += ` ${formatIpv4(b, o + 4)}`;
        if (len === 10 || len === 18) s += `:${u16(b, o + 8)}`;
        if (len === 16) s += ` hmac 0x${hex64(b, o + 8)}`;
        if (len === 18) s += ` hmac 0x${hex64(b, o + 10)}`;
      } else {
        s += ` ${formatIpv6(b, o + 4)}`;
        if (len === 22 || len === 30) s += `:${u16(b, o + 20)}`;
        if (len === 28) s += ` hmac 0x${hex64(b, o + 20)}`;
        if (len === 30) s += ` hmac 0x${hex64(b, o + 22)}`;
      }
      return s;
    }
    case 4: {
      if (len < 4) return undefined;
      s += " id";
      for (let i = 0; i < len - 3; i++) s += ` ${b[o + 3 + i]}`;
      return s;
    }
    case 5:
      if (len !== 3 && len !== 4) return undefined;
      s += b[o + 2]! & 1 ? " backup" : " non-backup";
      if (len === 4) s += ` id ${b[o + 3]}`;
      return s;
    case 6:
      return len === 12 ? s + ` seq ${dec64(b, o + 4)}` : undefined;
    case 7:
      return len === 12 ? s + ` key 0x${hex64(b, o + 4)}` : undefined;
    default:
      return s;
  }
}

function fastOpen(b: Uint8Array, o: number, n: number): string {
  if (n === 0) return " cookiereq";
  if (n % 2 !== 0 || n < 4 || n > 16) return " (invalid)";
  let s = " cookie ";
  for (let i = 0; i < n; i++) s += hex2(b[o + i]!);
  return s;
}

/**
 * The options part of a TCP line, as tcpdump prints it: `, options [` ... `]`, or cut short
 * (`[bad opt]`, ` [|tcp]`) with `end` saying so (tcpdump then prints nothing more for the
 * segment). `b[start..start+hlen)` are the option bytes per the header length; `captured` is
 * where the captured bytes end. SACK edges are printed relative to `sackBase` (0 with -S).
 *
 * @example
 * ```ts
 * import { formatTcpOptions } from "./tcp-options.ts";
 * formatTcpOptions(new Uint8Array([2, 4, 5, 0xb4, 1, 1, 4, 2]), 0, 8, 8, 0x02, 0).text; // ", options [mss 1460,nop,nop,sackOK]"
 * ```
 */
export function formatTcpOptions(b: Uint8Array, start: number, hlen: number, captured: number, flags: number, sackBase: number): TcpOptionsText {
  let s = ", options [";
  let p = start;
  let left = hlen;
  let first = true;
  const cap = Math.min(captured, b.length);
  const bad = (): TcpOptionsText => ({ text: s + "[bad opt]" + (first ? "" : "]"), end: "bad" });
  const trunc = (): TcpOptionsText => ({ text: s + " [|tcp]" + (first ? "" : ">"), end: "trunc" });
  while (left > 0) {
    if (!first) s += ",";
    if (p >= cap) return { text: s + " [|tcp]", end: "trunc" };
    const opt = b[p++]!;
    let len: number;
    if (opt === 0 || opt === 1) len = 1;
    else {
      if (p >= cap) return { text: s + " [|tcp]", end: "trunc" };
      len = b[p++]!;
      if (len < 2 || len > left) return bad();
      left--;
    }
    left--;
    s += NAMES[opt] ?? `unknown-${opt}`;
    // LENCHECK: the data must fit the header (else "bad") and the capture (else "trunc")
    const need = (n: number): TcpOptionsText | undefined => (n > left ? bad() : p + n > cap ? trunc() : undefined);
    let datalen = 0;
    let r: TcpOptionsText | undefined;
    switch (opt) {
      case 2:
        datalen = 2;
        if ((r = need(2))) return r;
        s += ` ${u16(b, p)}`;
        break;
      case 3:
        datalen = 1;
        if ((r = need(1))) return r;
        s += ` ${b[p]}`;
        break;
      case 5:
        datalen = len - 2;
        if (datalen % 8 !== 0) s += " invalid sack";
        else {
          s += ` ${datalen / 8} `;
          for (let i = 0; i < datalen; i += 8) {
            if ((r = need(i + 4))) return r;
            const l = (u32(b, p + i) - sackBase) >>> 0;
            if ((r = need(i + 8))) return r;
            const e = (u32(b, p + i + 4) - sackBase) >>> 0;
            s += `{${l}:${e}}`;
          }
        }
        break;
      case 6:
      case 7:
      case 11:
      case 12:
      case 13:
        datalen = 4;
        if ((r = need(4))) return r;
        s += ` ${u32(b, p)}`;
        break;
      case 8:
        datalen = 8;
        if ((r = need(8))) return r;
        s += ` val ${u32(b, p)} ecr ${u32(b, p + 4)}`;
        break;
      case 19:
        datalen = 16;
        if ((r = need(16))) return r;
        s += " ";
        for (let i = 0; i < 16; i++) s += hex2(b[p + i]!);
        break;
      case 20:
        datalen = 2;
        if ((r = need(2))) return r;
        s += ` cap ${hex2(b[p]!)} id ${b[p + 1]}`;
        break;
      case 29:
        datalen = len - 2;
        if (datalen < 2) s += " (invalid)";
        else {
          if ((r = need(1))) return r;
          s += ` keyid ${b[p]}`;
          if ((r = need(2))) return r;
          s += ` rnextkeyid ${b[p + 1]}`;
          if (datalen > 2) {
            s += " mac 0x";
            for (let i = 2; i < datalen; i++) {
              if ((r = need(i + 1))) return r;
              s += hex2(b[p + i]!);
            }
          }
        }
        break;
      case 28: {
        datalen = 2;
        if ((r = need(2))) return r;
        let v = u16(b, p);
        s += ` 0x${v.toString(16)}`;
        v = v & 1 ? (v >> 1) * 60 : v >> 1;
        s += ` ${v}`;
        break;
      }
      case 30: {
        datalen = len - 2;
        if ((r = need(datalen))) return r;
        const m = mptcp(b, p - 2, len, flags);
        if (m === undefined) return bad();
        s += m;
        break;
      }
      case 34:
        datalen = len - 2;
        if ((r = need(datalen))) return r;
        s += " " + fastOpen(b, p, datalen); // tcpdump: "tfo  cookie ..." (two spaces)
        break;
      case 254: {
        datalen = len - 2;
        if ((r = need(datalen))) return r;
        if (datalen < 2) return bad();
        const magic = u16(b, p);
        s += "-";
        if (magic === 0xf989) s += "tfo" + fastOpen(b, p + 2, datalen - 2);
        else s += magic.toString(16).padStart(4, "0");
        break;
      }
      case 0:
      case 1:
      case 4:
        break;
      default:
        datalen = len - 2;
        if (datalen) s += " 0x";
        for (let i = 0; i < datalen; i++) {
          if ((r = need(i + 1))) return r;
          s += hex2(b[p + i]!);
        }
    }
    p += datalen;
    left -= datalen;
    let seen = datalen + 1;
    if (opt !== 0 && opt !== 1) seen++;
    if (seen !== len) s += `[len ${len}]`;
    first = false;
    if (opt === 0) break;
  }
  return { text: s + "]", end: "ok" };
}
