/**
 * TCP in tcpdump's words (print-tcp.c, print-mptcp.c): ports, flags, relative sequence numbers
 * (absolute with -S), with -v the checksum, window, urgent pointer, every option tcpdump
 * decodes (MPTCP, TFO, RFC 6994 experiments, TCP-AO, MD5...), then the payload's protocol by
 * port: HTTP, RTSP, FTP, SMTP (txtproto), SSH versions, BGP, DNS over TCP; RST data with -v.
 *
 * @module
 */
import { HEX2, Truncated, type Nd } from "./nd.ts";
import { cksumShouldBe, inCksum, pseudo4, pseudo6, safeChar } from "./util.ts";
import type { IpCtx } from "./ip.ts";
import { domainPrint } from "./dns.ts";
import { bgpPrint } from "./bgp.ts";
import { txtprotoPrint, HTTP_CMDS, RTSP_CMDS } from "./txtproto.ts";

const OPT_NAMES: Readonly<Record<number, string>> = {
  0: "eol", 1: "nop", 2: "mss", 3: "wscale", 4: "sackOK", 5: "sack", 6: "echo", 7: "echoreply", 8: "TS",
  11: "cc", 12: "ccnew", 13: "", 19: "md5", 20: "scps", 28: "uto", 29: "tcp-ao", 30: "mptcp", 34: "tfo", 254: "exp",
};
const FLAG_NAMES = "FSRP.UEW";
const SYN = 0x02;
const ACK = 0x10;
const RST = 0x04;
const FIN = 0x01;
const URG = 0x20;

/** tcp_flag_values through bittok2str_nosep: "S.", "FP.", "none". */
function flagText(f: number): string {
  let s = "";
  for (let i = 0; i < 8; i++) if (f & (1 << i)) s += FLAG_NAMES[i];
  return s || "none";
}

const MAX_CONVERSATIONS = 65536;

/** 64-bit big-endian as hex without leading zeros (PRIx64). */
function hex64(nd: Nd, o: number): string {
  const s = nd.hex(o, 8).replace(/^0+(?=.)/, "");
  return s;
}

/** MPTCP (RFC 8684): prints as tcpdump does while checking; false for tcpdump's "bad". */
function mptcpPrint(nd: Nd, o: number, len: number, flags: number): boolean {
  nd.protocol = "mptcp";
  if (len < 3) return false;
  const sub = Math.min((nd.u8(o + 2) >> 4) & 0xf, 8);
  const names = ["capable", "join", "dss", "add-addr", "rem-addr", "prio", "fail", "fast-close", "unknown"];
  nd.print(` ${len} ${names[sub]}`);
  switch (sub) {
    case 0: {
      if (!(((len === 12 || len === 4) && flags & SYN) || ((len === 20 || len === 22) && (flags & (SYN | ACK)) === ACK))) return false;
      const version = nd.u8(o + 2) & 0xf;
      if (version > 1) {
        nd.print(` Unknown Version (${version})`);
        return true;
      }
      nd.print(` v${version}`);
      if (nd.u8(o + 3) & 0x80) nd.print(" csum");
      if (len === 12 || len >= 20) {
        nd.print(` {0x${hex64(nd, o + 4)}`);
        if (len >= 20) nd.print(`,0x${hex64(nd, o + 12)}`);
        nd.print("}");
      }
      return true;
    }
    case 1:
      if (!(len === 12 && flags & SYN) && !(len === 16 && (flags & (SYN | ACK)) === (SYN | ACK)) && !(len === 24 && flags & ACK)) return false;
      if (len !== 24) {
        if (nd.u8(o + 2) & 1) nd.print(" backup");
        nd.print(` id ${nd.u8(o + 3)}`);
      }
      if (len === 12) nd.print(` token 0x${nd.be32(o + 4).toString(16)} nonce 0x${nd.be32(o + 8).toString(16)}`);
      else if (len === 16) nd.print(` hmac 0x${hex64(nd, o + 4)} nonce 0x${nd.be32(o + 12).toString(16)}`);
      else nd.print(` hmac 0x${nd.hex(o + 4, 20)}`);
      return true;
    case 2: {
      if (len < 4 || flags & SYN) return false;
      const f = nd.u8(o + 3);
      if (f & 0x10) nd.print(" fin");
      let p = o + 4;
      let rest = len - 4;
      /** A 4- or 8-byte number; false when the option is too short for it. */
      const num = (wide: number): boolean => {
        const n = wide ? 8 : 4;
        if (rest < n) return false;
        nd.print(wide ? nd.be64s(p) : String(nd.be32(p)));
        p += n;
        rest -= n;
        return true;
      };
      if (f & 0x01) {
        nd.print(" ack ");
        if (!num(f & 0x02)) return false;
      }
      if (f & 0x04) {
        nd.print(" seq ");
        if (!num(f & 0x08)) return false;
        if (rest < 4) return false;
        nd.print(` subseq ${nd.be32(p)}`);
        p += 4;
        rest -= 4;
        if (rest < 2) return false;
        nd.print(` len ${nd.be16(p)}`);
        p += 2;
        rest -= 2;
        if (rest >= 2) {
          nd.print(` csum 0x${nd.be16(p).toString(16)}`);
          rest -= 2;
        }
      }
      return rest === 0;
    }
    case 3: {
      if (![8, 10, 16, 18, 20, 22, 28, 30].includes(len)) return false;
      const e = nd.u8(o + 2) & 0xf;
      nd.print(` ${({ 6: "v0-ip6", 4: "v0-ip4", 1: "v1-echo", 0: "v1" } as Record<number, string>)[e] ?? "[bad version/echo]"}`);
      nd.print(` id ${nd.u8(o + 3)}`);
      if (len <= 18) {
        nd.print(` ${nd.ip4(o + 4)}`);
        if (len === 10 || len === 18) nd.print(`:${nd.be16(o + 8)}`);
        if (len === 16) nd.print(` hmac 0x${hex64(nd, o + 8)}`);
        if (len === 18) nd.print(` hmac 0x${hex64(nd, o + 10)}`);
      } else {
        nd.print(` ${nd.ip6(o + 4)}`);
        if (len === 22 || len === 30) nd.print(`:${nd.be16(o + 20)}`);
        if (len === 28) nd.print(` hmac 0x${hex64(nd, o + 20)}`);
        if (len === 30) nd.print(` hmac 0x${hex64(nd, o + 22)}`);
      }
      return true;
    }
    case 4:
      if (len < 4) return false;
      nd.print(" id");
      for (let i = 0; i < len - 3; i++) nd.print(` ${nd.u8(o + 3 + i)}`);
      return true;
    case 5:
      if (len !== 3 && len !== 4) return false;
      nd.print(nd.u8(o + 2) & 1 ? " backup" : " non-backup");
      if (len === 4) nd.print(` id ${nd.u8(o + 3)}`);
      return true;
    case 6:
      if (len !== 12) return false;
      nd.print(` seq ${nd.be64s(o + 4)}`);
      return true;
    case 7:
      if (len !== 12) return false;
      nd.print(` key 0x${hex64(nd, o + 4)}`);
      return true;
    default:
      return true;
  }
}

function fastOpen(nd: Nd, o: number, n: number, exp: boolean): void {
  if (exp) nd.print("tfo");
  if (n === 0) nd.print(" cookiereq");
  else if (n % 2 !== 0 || n < 4 || n > 16) nd.print(" (invalid)");
  else nd.print(` cookie ${nd.hex(o, n)}`);
}

/** Relative sequence numbers: the conversation's base, per tcpdump's tcp_seq_hash. */
function track(nd: Nd, ip: IpCtx, sport: number, dport: number, flags: number, seq: number, ack: number): { seq: number; ack: number; thseq: number; thack: number; rev: boolean } {
  const b = nd.b;
  const alen = ip.ver === 4 ? 4 : 16;
  const srcOff = ip.ver === 4 ? ip.off + 12 : ip.off + 8;
  const dstOff = ip.ver === 4 ? ip.off + 16 : ip.off + 24;
  let rev = false;
  if (sport > dport) rev = true;
  else if (sport === dport) {
    for (let i = 0; i < alen; i++) {
      const d = b[srcOff + i]! - b[dstOff + i]!;
      if (d !== 0) {
        rev = d > 0;
        break;
      }
    }
  }
  let a = "";
  let c = "";
  for (let i = 0; i < alen; i++) {
    a += HEX2[b[srcOff + i]!];
    c += HEX2[b[dstOff + i]!];
  }
  const key = rev ? `${ip.ver}|${c}|${a}|${dport}|${sport}` : `${ip.ver}|${a}|${c}|${sport}|${dport}`;
  const map = (nd.state.tcpSeq ??= new Map());
  let th = map.get(key);
  if (!th || flags & SYN) {
    th = rev ? { ack: seq, seq: (ack - 1) >>> 0 } : { seq, ack: (ack - 1) >>> 0 };
    map.delete(key);
    map.set(key, th);
    if (map.size > MAX_CONVERSATIONS) {
      const first = map.keys().next().value;
      if (first !== undefined) map.delete(first);
    }
  } else if (rev) {
    seq = (seq - th.ack) >>> 0;
    ack = (ack - th.seq) >>> 0;
  } else {
    seq = (seq - th.seq) >>> 0;
    ack = (ack - th.ack) >>> 0;
  }
  return { seq, ack, thseq: th.seq, thack: th.ack, rev };
}

/** Prints the TCP segment at `off` (`length` bytes per the IP header). */
export function tcpPrint(nd: Nd, off: number, length: number, ip: IpCtx, fragmented: boolean): void {
  nd.protocol = "tcp";
  const v6 = ip.ver === 6;
  if (!nd.ttest(off + 2, 2)) {
    nd.print(v6 ? `${nd.ip6(ip.off + 8)} > ${nd.ip6(ip.off + 24)}:` : `${nd.ip4(ip.off + 12)} > ${nd.ip4(ip.off + 16)}:`);
    nd.print(` [|${nd.protocol}]`);
    return;
  }
  const sport = nd.be16(off);
  const dport = nd.be16(off + 2);
  if (v6) {
    if (nd.u8(ip.off + 6) === 6) nd.print(`${nd.ip6(ip.off + 8)}.${sport} > ${nd.ip6(ip.off + 24)}.${dport}: `);
    else nd.print(`${sport} > ${dport}: `);
  } else if (nd.u8(ip.off + 9) === 6) nd.print(`${nd.ip4(ip.off + 12)}.${sport} > ${nd.ip4(ip.off + 16)}.${dport}: `);
  else nd.print(`${sport} > ${dport}: `);
  nd.check(off, 20);
  let hlen = (nd.u8(off + 12) >> 4) * 4;
  if (hlen < 20) {
    nd.print(` tcp ${(length - hlen) >>> 0} [bad hdr length ${hlen} - too short, < 20]`);
    return;
  }
  let seq = nd.be32(off + 4);
  let ack = nd.be32(off + 8);
  const win = nd.be16(off + 14);
  const urp = nd.be16(off + 18);
  const flags = nd.u8(off + 13);
  nd.print(`Flags [${flagText(flags)}]`);
  let thseq = 0;
  let thack = 0;
  let rev = false;
  if (!nd.flags.S && flags & ACK) {
    const t = track(nd, ip, sport, dport, flags, seq, ack);
    seq = t.seq;
    ack = t.ack;
    thseq = t.thseq;
    thack = t.thack;
    rev = t.rev;
  }
  if (hlen > length) {
    nd.print(` [bad hdr length ${hlen} - too long, > ${length}]`);
    return;
  }
  if (nd.v && !fragmented && nd.ttest(off, length)) {
    const sum = v6 ? inCksum(nd.b, off, length, pseudo6(nd.b, ip.off, ip.dstOff, 6, length)) : inCksum(nd.b, off, length, pseudo4(nd.b, ip.off, ip.dstOff, 6, length));
    const field = nd.be16(off + 16);
    nd.print(`, cksum 0x${field.toString(16).padStart(4, "0")}`);
    nd.print(sum !== 0 ? ` (incorrect -> 0x${cksumShouldBe(field, sum).toString(16).padStart(4, "0")})` : " (correct)");
  }
  length -= hlen;
  if (nd.v > 1 || length > 0 || flags & (SYN | FIN | RST)) {
    nd.print(`, seq ${seq}`);
    if (length > 0) nd.print(`:${(seq + length) >>> 0}`);
  }
  if (flags & ACK) nd.print(`, ack ${ack}`);
  nd.print(`, win ${win}`);
  if (flags & URG) nd.print(`, urg ${urp}`);
  if (hlen > 20) {
    hlen -= 20;
    let cp = off + 20;
    let ch = "";
    nd.print(", options [");
    const payloadOff = off + (nd.u8(off + 12) >> 4) * 4;
    const bad = () => {
      nd.print("[bad opt]");
      if (ch !== "") nd.print("]");
    };
    try {
      while (hlen > 0) {
        nd.print(ch);
        const opt = nd.u8(cp);
        cp++;
        let len: number;
        if (opt === 0 || opt === 1) len = 1;
        else {
          len = nd.u8(cp);
          cp++;
          if (len < 2 || len > hlen) return bad();
          --hlen;
        }
        --hlen;
        let datalen = 0;
        // LENCHECK: the data must be inside the header (else "bad") and captured (else truncated)
        const lencheck = (l: number): boolean => {
          if (l > hlen) return false;
          nd.check(cp, l);
          return true;
        };
        nd.print(OPT_NAMES[opt] ?? `unknown-${opt}`);
        switch (opt) {
          case 2:
            datalen = 2;
            if (!lencheck(datalen)) return bad();
            nd.print(` ${nd.be16(cp)}`);
            break;
          case 3:
            datalen = 1;
            if (!lencheck(datalen)) return bad();
            nd.print(` ${nd.u8(cp)}`);
            break;
          case 5:
            datalen = len - 2;
            if (datalen % 8 !== 0) nd.print(" invalid sack");
            else {
              nd.print(` ${datalen / 8} `);
              for (let i = 0; i < datalen; i += 8) {
                if (!lencheck(i + 4)) return bad();
                let s = nd.be32(cp + i);
                if (!lencheck(i + 8)) return bad();
                let e = nd.be32(cp + i + 4);
                if (rev) {
                  s = (s - thseq) >>> 0;
                  e = (e - thseq) >>> 0;
                } else {
                  s = (s - thack) >>> 0;
                  e = (e - thack) >>> 0;
                }
                nd.print(`{${s}:${e}}`);
              }
            }
            break;
          case 6:
          case 7:
          case 11:
          case 12:
          case 13:
            datalen = 4;
            if (!lencheck(datalen)) return bad();
            nd.print(` ${nd.be32(cp)}`);
            break;
          case 8:
            datalen = 8;
            if (!lencheck(datalen)) return bad();
            nd.print(` val ${nd.be32(cp)} ecr ${nd.be32(cp + 4)}`);
            break;
          case 19:
            datalen = 16;
            if (!lencheck(datalen)) return bad();
            nd.print(" ");
            // tcpdump with libcrypto cannot check without -M: it says so, then the digest
            nd.print(nd.ttest(payloadOff, length) ? "shared secret not supplied with -M, " : "snaplen too short, ");
            nd.print(`can't check - ${nd.hex(cp, 16)}`);
            break;
          case 20:
            datalen = 2;
            if (!lencheck(datalen)) return bad();
            nd.print(` cap ${HEX2[nd.u8(cp)]} id ${nd.u8(cp + 1)}`);
            break;
          case 29:
            datalen = len - 2;
            if (datalen < 2) nd.print(" (invalid)");
            else {
              if (!lencheck(1)) return bad();
              nd.print(` keyid ${nd.u8(cp)}`);
              if (!lencheck(2)) return bad();
              nd.print(` rnextkeyid ${nd.u8(cp + 1)}`);
              if (datalen > 2) {
                nd.print(" mac 0x");
                for (let i = 2; i < datalen; i++) {
                  if (!lencheck(i + 1)) return bad();
                  nd.print(HEX2[nd.u8(cp + i)]!);
                }
              }
            }
            break;
          case 0:
          case 1:
          case 4:
            break;
          case 28: {
            datalen = 2;
            if (!lencheck(datalen)) return bad();
            let u = nd.be16(cp);
            nd.print(` 0x${u.toString(16)}`);
            u = u & 1 ? (u >> 1) * 60 : u >> 1;
            nd.print(` ${u}`);
            break;
          }
          case 30: {
            datalen = len - 2;
            if (!lencheck(datalen)) return bad();
            const save = nd.snapend;
            nd.snapend = Math.min(cp - 2 + len, nd.snapend);
            let ok: boolean;
            try {
              ok = mptcpPrint(nd, cp - 2, len, flags);
            } finally {
              nd.snapend = save;
            }
            if (!ok) return bad();
            break;
          }
          case 34:
            datalen = len - 2;
            if (!lencheck(datalen)) return bad();
            nd.print(" ");
            fastOpen(nd, cp, datalen, false);
            break;
          case 254: {
            datalen = len - 2;
            if (!lencheck(datalen)) return bad();
            if (datalen < 2) return bad();
            const magic = nd.be16(cp);
            nd.print("-");
            if (magic === 0xf989) fastOpen(nd, cp + 2, datalen - 2, true);
            else nd.print(magic.toString(16).padStart(4, "0"));
            break;
          }
          default:
            datalen = len - 2;
            if (datalen) nd.print(" 0x");
            for (let i = 0; i < datalen; i++) {
              if (!lencheck(i + 1)) return bad();
              nd.print(HEX2[nd.u8(cp + i)]!);
            }
        }
        cp += datalen;
        hlen -= datalen;
        let seen = datalen + 1;
        if (opt !== 0 && opt !== 1) seen++;
        if (seen !== len) nd.print(`[len ${len}]`);
        ch = ",";
        if (opt === 0) break;
      }
    } catch (e) {
      // tcpdump's "trunc:" label inside tcp_print: the protocol, then ">" inside an option list
      if (e instanceof Truncated) {
        nd.print(` [|${nd.protocol}]`);
        if (ch !== "") nd.print(">");
        return;
      }
      throw e;
    }
    nd.print("]");
  }
  nd.print(`, length ${length}`);
  if (length === 0) return;
  const hdr = (nd.u8(off + 12) >> 4) * 4;
  if (!nd.ttest(off, hdr)) {
    nd.print(` [remaining caplen(${nd.avail(off)}) < header length(${hdr})]`);
    nd.trunc();
  }
  const bp = off + hdr;
  if (flags & RST && nd.v) {
    rstData(nd, bp, length);
    return;
  }
  const port = (p: number) => sport === p || dport === p;
  const theirs = (name: string) => {
    nd.notDecoded = name;
  };
  if (port(23)) theirs("telnet");
  else if (port(25)) {
    nd.print(": ");
    nd.protocol = "smtp";
    txtprotoPrint(nd, bp, length, undefined, false);
  } else if (port(43)) {
    nd.print(": ");
    nd.protocol = "whois";
    txtprotoPrint(nd, bp, length, undefined, false);
  } else if (port(179)) bgpPrint(nd, bp, length);
  else if (port(1723)) theirs("pptp");
  else if (port(6379)) theirs("resp");
  else if (port(22)) sshPrint(nd, bp, length);
  else if (port(139) || port(445)) theirs("smb");
  else if (port(10288)) theirs("beep");
  else if (port(6633) || port(6653)) theirs("openflow");
  else if (port(21)) {
    nd.print(": ");
    nd.protocol = "ftp";
    txtprotoPrint(nd, bp, length, undefined, false);
  } else if (port(80) || port(8080)) {
    nd.print(": ");
    nd.protocol = "http";
    txtprotoPrint(nd, bp, length, HTTP_CMDS, true);
  } else if (port(554) || port(8554)) {
    nd.print(": ");
    nd.protocol = "rtsp";
    txtprotoPrint(nd, bp, length, RTSP_CMDS, true);
  } else if (port(53)) domainPrint(nd, bp, length, true, false);
  else if (port(639)) theirs("msdp");
  else if (port(323)) theirs("rpki-rtr");
  else if (port(646)) theirs("ldp");
  else if (port(2049) && length >= 4 && nd.ttest(bp, 4) && nd.ttest(bp + 8, 4)) {
    const dir = nd.be32(bp + 8);
    if ((dport === 2049 && dir === 0) || (sport === 2049 && dir === 1)) theirs("nfs");
  }
}

/** tcpdump's print_tcp_rst_data (-v): up to 30 bytes of what a RST carried. */
function rstData(nd: Nd, sp: number, length: number): void {
  nd.print(nd.ttest(sp, length) ? " [RST" : " [!RST");
  if (length > 30) {
    length = 30;
    nd.print("+");
  }
  nd.print(" ");
  while (length && sp < nd.snapend) {
    nd.print(safeChar(nd.u8(sp)));
    sp++;
    length--;
  }
  nd.print("]");
}

/** SSH: the version string of a connection's first packet (": SSH: SSH-2.0-..."). */
function sshPrint(nd: Nd, p: number, len: number): void {
  nd.protocol = "ssh";
  if (nd.u8(p) !== 0x53 || nd.u8(p + 1) !== 0x53 || nd.u8(p + 2) !== 0x48 || nd.u8(p + 3) !== 0x2d) return;
  let idx = 4;
  while (idx < len) {
    const c = nd.u8(p + idx);
    if (c === 10) break;
    if (c === 13) {
      if (idx + 1 >= len) return;
      if (nd.u8(p + idx + 1) === 10) break;
      return;
    }
    if (c < 0x20 || c > 0x7e) return;
    idx++;
  }
  if (idx >= len) return;
  let s = "";
  for (let i = 0; i < idx; i++) s += String.fromCharCode(nd.b[p + i]!);
  nd.print(`: SSH: ${s}`);
}
