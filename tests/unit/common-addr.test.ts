// common/addr.ts: the one address parser every command goes through (addr, route, up, rule,
// dump filters, inject, tun2socks). IPv6 text must be exactly what inet_pton(3) takes, which is
// what ip takes: the table's right column was produced by glibc's inet_pton on this machine
// (python3 socket.inet_pton). IPv4 is stricter than ip on purpose (ip reads "010.0.0.1" as
// octal 8.0.0.1 and "192.0.2" as 192.0.2.0): inet_pton's rules, which refuse both.
import { describe, expect, test } from "bun:test";
import { formatIp, formatIpv6, parseCidr, parseIp } from "../../common/addr.ts";
import { UsageError } from "../../common/errors.ts";
import { mulberry32 } from "../../common/prng.ts";
import ipaddr from "ipaddr.js";
import { parsePrefix } from "../../netlink/route/ip.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return e.message;
  }
  throw new Error("no UsageError");
}

// [text, inet_pton's 4 or 16 bytes in hex, or null when inet_pton refuses it]
const INET_PTON: Array<[string, string | null]> = [
  ["::1", "00000000000000000000000000000001"],
  ["::", "00000000000000000000000000000000"],
  ["::0", "00000000000000000000000000000000"],
  ["0:0:0:0:0:0:0:0", "00000000000000000000000000000000"],
  ["2001:db8::1", "20010db8000000000000000000000001"],
  ["2001:DB8::1", "20010db8000000000000000000000001"],
  ["0001:db8::1", "00010db8000000000000000000000001"],
  ["1:2:3:4:5:6:7:8", "00010002000300040005000600070008"],
  ["1:2:3:4:5:6:7::", "00010002000300040005000600070000"],
  ["::1:2:3:4:5:6:7", "00000001000200030004000500060007"],
  ["1::", "00010000000000000000000000000000"],
  ["::ffff:192.0.2.1", "00000000000000000000ffffc0000201"],
  ["::FFFF:192.0.2.1", "00000000000000000000ffffc0000201"],
  ["::192.0.2.1", "000000000000000000000000c0000201"],
  ["1:2:3:4:5:6:192.0.2.1", "000100020003000400050006c0000201"],
  ["1:2:3:4:5::192.0.2.1", "000100020003000400050000c0000201"],
  ["ffff::ffff:1.2.3.255", "ffff0000000000000000ffff010203ff"],
  ["0000:0000:0000:0000:0000:ffff:255.255.255.255", "00000000000000000000ffffffffffff"],
  ["::1:2:3:4:5:6:7:8", null],
  ["1:2:3:4:5:6:7:8::", null],
  ["1:2:3:4:5:6:7:8:9", null],
  [":1::", null],
  ["1::2::3", null],
  [":::", null],
  ["1:::2", null],
  ["1:", null],
  ["00000::1", null],
  ["1::g", null],
  ["1:2:3:4:5:6:7:192.0.2.1", null],
  ["1:2:3:4:5:6::192.0.2.1", null],
  ["192.0.2.1::", null],
  ["::ffff:192.0.2.1:1", null],
  ["::1.2.3", null],
  ["::1.2.3.256", null],
  ["::.1.2.3", null],
  ["::1..2.3", null],
  ["::1.2.3.4.5", null],
  [" ::1", null],
  ["::1 ", null],
  ["[::1]", null],
  ["2001:db8::9%zz", null],
  ["fe80::1%eth0", null],
  ["fe80::1%1", null],
  ["2001:db8::9%", null],
  ["::ffff:010.1.1.1", null],
  ["::ffff:1.2.3.04", null],
  ["::ffff:0x1.1.1.1", null],
  ["::ffff:00.1.1.1", null],
  ["192.0.2.1", "c0000201"],
  ["0.0.0.0", "00000000"],
  ["255.255.255.255", "ffffffff"],
  ["256.0.0.0", null],
  ["192.0.2", null],
  ["192.0.2.1.5", null],
  ["010.0.0.1", null],
  ["192.0.2.01", null],
  ["0x1.0.0.1", null],
  ["1e1.0.0.1", null],
  ["192.0.2.1 ", null],
  ["+1.0.0.1", null],
  ["", null],
];

// [16 bytes in hex, glibc's inet_ntop of them (python3 socket.inet_ntop on this machine)]
const INET_NTOP: Array<[string, string]> = [
  ["20010db8000000000001000000000001", "2001:db8::1:0:0:1"], // RFC 5952 4.2.3: the first of two equal runs
  ["20010db8000000010001000100010001", "2001:db8:0:1:1:1:1:1"], // 4.2.2: one zero group is not compressed
  ["00000000000000000000000000000000", "::"],
  ["00000000000000000000000000000001", "::1"],
  ["00010000000000000000000000000000", "1::"],
  ["00000000000100000000000000010000", "0:0:1::1:0"], // 4.2.3: the longest run, not the first
  ["00010000000000020000000000030004", "1::2:0:0:3:4"],
  ["00010000000100000001000000010000", "1:0:1:0:1:0:1:0"],
  ["00000001000000010000000100000001", "0:1:0:1:0:1:0:1"],
  ["20010db8000000000000000000000001", "2001:db8::1"],
  ["fe80000000000000000000000000ab00", "fe80::ab00"],
  ["fe8000000000000000000000000a0000", "fe80::a:0"], // 4.1: no leading zeros, 4.3: lowercase
  ["00010002000300040005000600070008", "1:2:3:4:5:6:7:8"],
  ["00000000000000000000000000000002", "::2"],
  ["00000000000000000000000000010000", "::0.1.0.0"], // inet_ntop's IPv4-compatible form
  ["00000000000000000000ffff00000000", "::ffff:0.0.0.0"],
  ["00000000000000000000000100000000", "::1:0:0"],
  ["000000000000000000010000ffff0000", "::1:0:ffff:0"],
  ["00010000000000000000ffff00000000", "1::ffff:0:0"],
  ["ffff0000000000000000000000000000", "ffff::"],
  ["0000ffff000000000000000000000000", "0:ffff::"],
  ["00000000000000000000ffff01020304", "::ffff:1.2.3.4"],
  ["00000000000000000000000001020304", "::1.2.3.4"],
  ["abcd00000000ef01000000000000fedc", "abcd:0:0:ef01::fedc"],
];

describe("formatIpv6 (RFC 5952, inet_ntop's embedded IPv4 forms)", () => {
  test(`${INET_NTOP.length} addresses print as glibc's inet_ntop prints them`, () => {
    for (const [h, text] of INET_NTOP) expect([h, formatIpv6(Buffer.from(h, "hex"), 0)]).toEqual([h, text]);
  });

  test("at an offset, and formatIp on 16 bytes", () => {
    const b = new Uint8Array(20);
    b.set(Buffer.from("20010db8000000000001000000000001", "hex"), 3);
    expect(formatIpv6(b, 3)).toBe("2001:db8::1:0:0:1");
    expect(formatIp(b.subarray(3, 19))).toBe("2001:db8::1:0:0:1");
  });

  test("100,000 random addresses (zero groups and bytes biased): the same text as ipaddr.js's toString, and it parses back", () => {
    const rnd = mulberry32(5952);
    const b = new Uint8Array(16);
    let checked = 0;
    for (let n = 0; n < 100_000; n++) {
      const zeroBias = rnd() * 0.9;
      for (let g = 0; g < 8; g++) {
        const r = rnd();
        const w = r < zeroBias ? 0 : r < zeroBias + 0.05 ? 0xffff : rnd() < 0.5 ? Math.floor(rnd() * 16) : Math.floor(rnd() * 65536);
        b[2 * g] = w >> 8;
        b[2 * g + 1] = w & 255;
      }
      const text = formatIpv6(b, 0);
      expect(hex(parseIp(text, 6))).toBe(hex(b));
      // The embedded-IPv4 forms (first 80 bits zero, then ffff or 0 and a non-zero 7th group) are
      // inet_ntop's, not ipaddr.js's: the table above covers them.
      if (b.subarray(0, 10).every((v) => v === 0) && (b[10]! & b[11]!) === 255) continue;
      if (b.subarray(0, 12).every((v) => v === 0) && (b[12]! | b[13]!) !== 0) continue;
      expect([hex(b), text]).toEqual([hex(b), ipaddr.fromByteArray([...b]).toString()]);
      checked++;
    }
    expect(checked).toBeGreaterThan(75_000);
  });

  test("printing IPv6 never loads ipaddr.js (list prints lo's ::1; parsing IPv6 text still does)", () => {
    const src = `import { formatIpv6, lineFunctions, parseIp } from ${JSON.stringify(new URL("../../common/addr.ts", import.meta.url).pathname)};
const one = new Uint8Array(16); one[15] = 1;
const texts = [formatIpv6(one), formatIpv6(Uint8Array.from([0x20, 1, 0xd, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1]))];
const before = lineFunctions().length;
parseIp("2001:db8::1");
console.log(JSON.stringify([texts, before, lineFunctions().length]));`;
    const r = Bun.spawnSync([process.execPath, "-e", src], { stderr: "pipe" });
    expect(r.stderr.toString()).toBe("");
    expect(JSON.parse(r.stdout.toString())).toEqual([["::1", "2001:db8::1:0:0:1"], 3, 4]);
  });
});

describe("parseIp", () => {
  test(`${INET_PTON.length} texts: accepted exactly when inet_pton accepts them, with its bytes`, () => {
    const wrong: string[] = [];
    for (const [text, want] of INET_PTON) {
      let got: string | null;
      try {
        got = hex(parseIp(text));
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        got = null;
      }
      if (got !== want) wrong.push(`${JSON.stringify(text)}: got ${got}, inet_pton ${want}`);
    }
    expect(wrong).toEqual([]);
  });

  test("zone suffixes are refused with the reason, never dropped", () => {
    expect(message(() => parseIp("2001:db8::9%zz"))).toBe(
      'Invalid IP address "2001:db8::9%zz": zone index "%zz" not allowed (as ip refuses it; name the interface with dev instead)',
    );
    expect(message(() => parseCidr("fe80::1%eth0/64"))).toContain('zone index "%eth0" not allowed');
    expect(message(() => parseIp("fe80::1%1", 6))).toContain("zone index");
  });

  test("leading zeros and hex in a dotted quad: refused alike in IPv4 and in IPv6's embedded IPv4", () => {
    for (const t of ["010.0.0.1", "::ffff:010.1.1.1", "::ffff:1.2.3.04", "1:2:3:4:5:6:10.00.1.1"]) {
      expect(message(() => parseIp(t))).toMatch(/: leading zero in "0\d+" \(octal to some tools, decimal to others\): write it without$/);
    }
    for (const t of ["0x1.0.0.1", "::ffff:0x1.1.1.1"]) expect(message(() => parseIp(t))).toContain('hexadecimal "0x1" in a dotted quad');
    expect(message(() => parseIp("300.1.1.1"))).toBe('Invalid IP address "300.1.1.1": expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1)');
  });

  test("::a.b.c.d is IPv4-compatible (::c000:201), not IPv4-mapped as ipaddr.js alone makes it", () => {
    expect(hex(parseIp("::192.0.2.1"))).toBe("000000000000000000000000c0000201");
    expect(formatIp(parseIp("::192.0.2.1"))).toBe("::192.0.2.1");
    expect(formatIp(parseIp("::ffff:192.0.2.1"))).toBe("::ffff:192.0.2.1");
  });

  test("family restriction", () => {
    expect(message(() => parseIp("192.0.2.1", 6))).toBe('Invalid IP address "192.0.2.1": expected IPv6');
    expect(parseIp("::1", 6).length).toBe(16);
  });

  test("random near-addresses: whatever is accepted prints and re-parses to the same bytes; no zone, no leading zero gets through", () => {
    const rnd = mulberry32(10);
    const atoms = ["0", "1", "a", "ff", "ffff", "00000", "0000", "::", ":", ".", "192.0.2.1", "255", "256", "01", "0x1", "%z", "g", "12345", "::ffff:"];
    let accepted = 0;
    for (let i = 0; i < 50_000; i++) {
      let s = "";
      const n = 1 + Math.floor(rnd() * 8);
      for (let j = 0; j < n; j++) s += atoms[Math.floor(rnd() * atoms.length)];
      let b: Uint8Array;
      try {
        b = parseIp(s);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        continue;
      }
      accepted++;
      expect(s).not.toContain("%");
      const quad = /(?:^|:)([\d.]+\.[\d.]+)$/.exec(s)?.[1] ?? "";
      expect(quad.split(".").filter((p) => /^0\d/.test(p))).toEqual([]);
      expect(s).not.toMatch(/0x/i);
      expect(hex(parseIp(formatIp(b)))).toBe(hex(b));
    }
    expect(accepted).toBeGreaterThan(100);
  });
});

describe("the dotted-quad check before ipaddr.js", () => {
  test("accepts exactly what /^(0|[1-9]\\d{0,2})(\\.(0|[1-9]\\d{0,2})){3}$/ accepts with octets <= 255, on 200,000 random texts", () => {
    const rnd = mulberry32(3);
    const strict = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
    const al = "0123456789.0..1:x";
    for (let k = 0; k < 200_000; k++) {
      let s = "";
      if (k % 3 === 0) s = [0, 1, 2, 3].map(() => String(Math.floor(rnd() * 300)).padStart(Math.floor(rnd() * 4), "0")).join(".");
      else for (let i = Math.floor(rnd() * 17); i > 0; i--) s += al[Math.floor(rnd() * al.length)];
      const want = strict.test(s) && s.split(".").every((p) => Number(p) <= 255);
      let got: boolean;
      try {
        got = parseIp(s, 4).length === 4;
      } catch {
        got = false;
      }
      expect([s, got]).toEqual([s, want]);
    }
  });
});

describe("the dotted-quad fast path (common/addr.ts quadAt) against ipaddr.js, the parser of record", () => {
  // The oracle is ipaddr.js's own API: a strict dotted quad is what IPv4.isValidFourPartDecimal
  // accepts (no leading zero, decimal parts, each <= 255), its bytes what IPv4.parse gives; a
  // text that is not one must be refused by parseIp(…, 4) with the message the refusal path
  // (whyNotIp, unchanged) gives, and by parseCidr whatever the prefix length.
  const PARTS = ["0", "00", "000", "01", "007", "08", "09", "010", "1", "9", "10", "99", "100", "127", "199", "200", "249", "250", "255", "256", "260", "299", "300", "999", "1000", "0255", "2555", "0x1", "0X1f", "0xff", "0x100", "", " ", " 1", "1 ", "+1", "-1", "1e2", "1.", "١", "２５５", "25５", "a", "ff", "\t1", "1\n"];
  const edge = (rnd: () => number): string => {
    const k = Math.floor(rnd() * 10);
    const n = k === 0 ? 3 : k === 1 ? 5 : 4; // mostly four parts, some three or five
    const parts = Array.from({ length: n }, () => (rnd() < 0.7 ? String(Math.floor(rnd() * 300)) : PARTS[Math.floor(rnd() * PARTS.length)]!));
    let s = parts.join(rnd() < 0.95 ? "." : ",");
    const w = Math.floor(rnd() * 12);
    if (w === 0) s = `::ffff:${s}`;
    else if (w === 1) s = `::${s}`;
    else if (w === 2) s = ` ${s}`;
    else if (w === 3) s = `${s} `;
    else if (w === 4) s = `${s}.`;
    else if (w === 5) s = `.${s}`;
    else if (w === 6) s = s.replace(".", "..");
    return s;
  };
  const AL = "0123456789....:x/ %-a";
  const random = (rnd: () => number): string => {
    let s = "";
    for (let i = Math.floor(rnd() * 18); i > 0; i--) s += AL[Math.floor(rnd() * AL.length)];
    return s;
  };
  const oracle = (s: string): string | null => (ipaddr.IPv4.isValidFourPartDecimal(s) ? hex(Uint8Array.from(ipaddr.IPv4.parse(s).toByteArray())) : null);
  const refusal = (s: string): string => {
    const pct = s.indexOf("%");
    if (pct >= 0 && s.includes(":")) return `Invalid IP address "${s}": zone index`;
    return `Invalid IP address "${s}": `;
  };
  const FIXED = ["0.0.0.0", "255.255.255.255", "256.0.0.0", "1.2.3.256", "01.2.3.4", "1.2.3.04", "1.2.3.0", "0.0.0.00", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "", " 1.2.3.4", "1.2.3.4 ", "0x1.2.3.4", "1.2.3.0x4", "1.2.3.4/", "999.999.999.999", "1000.1.1.1", "::ffff:1.2.3.4", "::1.2.3.4", "1.2.3.4%eth0", "١.2.3.4", "1.2.3.4\n", "192.168.1.1", "10.0.0.1"];

  test("100,000 random and edge-case texts: same accept/reject and bytes as ipaddr.js, refusals with the refusal path's message", () => {
    const rnd = mulberry32(11);
    let accepted = 0;
    for (let k = 0; k < 100_000; k++) {
      const s = k < FIXED.length ? FIXED[k]! : k % 2 ? edge(rnd) : random(rnd);
      const want = oracle(s);
      let got: string | null;
      let msg = "";
      try {
        got = hex(parseIp(s, 4));
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        got = null;
        msg = e.message;
      }
      expect([s, got]).toEqual([s, want]);
      if (want === null) expect(msg.startsWith(refusal(s)) || msg === `Invalid IP address "${s}": expected IPv4`).toBe(true);
      else accepted++;
      // The same text as a prefix: read in place by parseCidr (no slice), same bytes or refused.
      const len = Math.floor(rnd() * 34);
      let cidr: string | null;
      try {
        const c = parseCidr(`${s}/${len}`, 4);
        cidr = `${hex(c.bytes)}/${c.prefix}`;
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
        cidr = null;
      }
      expect([s, len, cidr]).toEqual([s, len, want === null || len > 32 ? null : `${want}/${len}`]);
      // And netlink's parsePrefix (quadPrefix, one pass), with and without a length.
      for (const t of [`${s}/${len}`, s]) {
        let pre: string | null;
        try {
          const p = parsePrefix(t);
          pre = p.family === 2 ? `${hex(p.bytes)}/${p.len}` : "IPv6";
        } catch (e) {
          if (!(e instanceof UsageError)) throw e;
          pre = null;
        }
        const wantPre = want === null ? (pre === "IPv6" ? "IPv6" : null) : t === s ? `${want}/32` : len > 32 ? null : `${want}/${len}`;
        expect([t, pre]).toEqual([t, wantPre]);
      }
    }
    expect(accepted).toBeGreaterThan(3_000); // the fast path was exercised, not only refusals
  });

  test("without a family a dotted quad is IPv4; with IPv6 asked for it is refused as before", () => {
    expect(hex(parseCidr("192.0.2.0/24").bytes)).toBe("c0000200");
    expect(message(() => parseCidr("192.0.2.0/24", 6))).toBe('Invalid IP address "192.0.2.0": expected IPv6');
    expect(message(() => parseIp("256.1.1.1"))).toBe('Invalid IP address "256.1.1.1": expected IPv4 (192.0.2.1) or IPv6 (2001:db8::1)');
    expect(message(() => parseCidr("01.1.1.1/8"))).toBe('Invalid IP address "01.1.1.1": leading zero in "01" (octal to some tools, decimal to others): write it without');
  });
});

describe("parseCidr", () => {
  test("prefix length in range, without leading zeros (ip reads /024 as octal 20)", () => {
    expect(parseCidr("192.0.2.0/24").prefix).toBe(24);
    expect(parseCidr("2001:db8::/0").prefix).toBe(0);
    expect(parseCidr("2001:db8::1").prefix).toBe(128);
    expect(message(() => parseCidr("192.0.2.0/024"))).toBe('Invalid prefix length "024" for IPv4: expected 0..32 without leading zeros');
    expect(message(() => parseCidr("192.0.2.0/33"))).toBe('Invalid prefix length "33" for IPv4: expected 0..32');
    expect(message(() => parseCidr("2001:db8::/+64"))).toBe('Invalid prefix length "+64" for IPv6: expected 0..128');
    expect(message(() => parseCidr("2001:db8::9%zz/64"))).toContain("zone index");
  });
});
