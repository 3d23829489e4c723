import { describe, expect, test } from "bun:test";
import { Cursor } from "../../common/cursor.ts";
import { TruncatedError, UsageError, isDecodeError } from "../../common/errors.ts";
import { fromHex, toHex } from "../../common/hex.ts";
import { checkIfName, isJsSpace } from "../../common/ifname.ts";
import { regExpsUsedBy } from "./_regexp-spy.ts";

describe("Cursor", () => {
  test("reads big and little endian", () => {
    const c = new Cursor(fromHex("0102 0304 05060708 090a0b0c"));
    expect(c.u16be()).toBe(0x0102);
    expect(c.u16le()).toBe(0x0403);
    expect(c.u32be()).toBe(0x05060708);
    expect(c.u32le()).toBe(0x0c0b0a09);
    expect(c.remaining).toBe(0);
  });
  test("throws TruncatedError, never reads past the end", () => {
    const c = new Cursor(fromHex("0102 03"), "thing");
    c.u16be();
    expect(() => c.u16be()).toThrow(TruncatedError);
    expect(() => c.bytesN(2)).toThrow(/Truncated thing: need 2 bytes at offset 2, have 1/);
    expect(c.pos).toBe(2);
    expect(() => c.need(-1)).toThrow(TruncatedError);
  });
  test("sub cursors are bounded by their parent slice", () => {
    const c = new Cursor(fromHex("0001020304"));
    const s = c.sub(2);
    expect(s.u16be()).toBe(1);
    expect(() => s.u8()).toThrow(TruncatedError);
    expect(c.u8()).toBe(2);
  });
  test("isDecodeError", () => {
    expect(isDecodeError(new TruncatedError("x", 0, 1, 0))).toBe(true);
    expect(isDecodeError(new Error("x"))).toBe(false);
  });
});

describe("hex", () => {
  test("round trip with separators", () => {
    expect(toHex(fromHex("0x45 00:00-54"))).toBe("45000054");
    expect(toHex(new Uint8Array([1, 0xab]), " ")).toBe("01 ab");
  });
  test("bad hex is a UsageError", () => {
    expect(() => fromHex("abc")).toThrow(UsageError);
    expect(() => fromHex("zz")).toThrow(/only 0-9 a-f/);
  });
});

describe("interface names", () => {
  test("valid", () => {
    for (const n of ["tun0", "a", "abcdefghijklmno", "tap-1_x.y", "tún"]) expect(checkIfName(n)).toBe(n);
    expect(checkIfName("tun%d", true)).toBe("tun%d");
  });
  test("invalid, with the reason", () => {
    expect(() => checkIfName("")).toThrow(/empty/);
    expect(() => checkIfName("abcdefghijklmnop")).toThrow(/16 bytes, at most 15/);
    expect(() => checkIfName("ééééééééé")).toThrow(/18 bytes/);
    expect(() => checkIfName(".")).toThrow(UsageError);
    expect(() => checkIfName("..")).toThrow(UsageError);
    expect(() => checkIfName("a/b")).toThrow(/no "\/"/);
    expect(() => checkIfName("a:b")).toThrow(UsageError);
    expect(() => checkIfName("a b")).toThrow(UsageError);
    expect(() => checkIfName("a\nb")).toThrow(UsageError);
    expect(() => checkIfName("a\x01b")).toThrow(/control/);
    expect(() => checkIfName("tun%d")).toThrow(/template/);
    expect(() => checkIfName("t%d%d", true)).toThrow(UsageError);
    expect(() => checkIfName("t%s", true)).toThrow(UsageError);
  });

  /** checkIfName as it was written with RegExps and TextEncoder (the reference for the rewrite without them). */
  function checkIfNameByRegExp(name: string, allowTemplate = false): string {
    const bytes = new TextEncoder().encode(name).length;
    if (bytes === 0) throw new UsageError("Invalid interface name: empty");
    if (bytes > 15) throw new UsageError(`Invalid interface name "${name}": ${bytes} bytes, at most 15`);
    if (name === "." || name === "..") throw new UsageError(`Invalid interface name "${name}"`);
    if (/[/:\s]/.test(name)) throw new UsageError(`Invalid interface name "${name}": no "/", ":" or whitespace allowed`);
    if (/[\x00-\x1f\x7f]/.test(name)) throw new UsageError(`Invalid interface name ${JSON.stringify(name)}: control characters not allowed`);
    const pct = name.split("%").length - 1;
    if (pct > 0 && (!allowTemplate || pct !== 1 || !name.includes("%d"))) {
      throw new UsageError(`Invalid interface name "${name}": "%" is only allowed as one "%d" template${allowTemplate ? "" : " here"}`);
    }
    return name;
  }
  const outcome = (f: () => string): string => {
    try {
      return `ok ${f()}`;
    } catch (e) {
      return `${(e as Error).constructor.name} ${(e as Error).message}`;
    }
  };

  test("accepts and refuses exactly what the RegExp version did, with the same message (every UTF-16 code unit, random names)", () => {
    for (let c = 0; c < 0x10000; c++) {
      const ch = String.fromCharCode(c);
      expect(isJsSpace(c)).toBe(/\s/.test(ch));
      for (const n of [`a${ch}b`, ch, `${ch}${ch}%d`]) {
        for (const t of [false, true]) {
          const got = outcome(() => checkIfName(n, t));
          const want = outcome(() => checkIfNameByRegExp(n, t));
          if (got !== want) expect(`${c.toString(16)} ${JSON.stringify(n)} ${t}: ${got}`).toBe(`${c.toString(16)} ${JSON.stringify(n)} ${t}: ${want}`);
        }
      }
    }
    const alphabet = ["a", "0", "%", "d", "/", ":", " ", "\t", "\x01", "\x7f", ".", "é", "\u3000", "\ud83d", "\ude00", "\ud83d\ude00", "\u00a0", "€"];
    let seed = 7;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 20000; k++) {
      let n = "";
      const len = Math.floor(rnd() * 18);
      for (let i = 0; i < len; i++) n += alphabet[Math.floor(rnd() * alphabet.length)];
      const t = rnd() < 0.5;
      expect(outcome(() => checkIfName(n, t))).toBe(outcome(() => checkIfNameByRegExp(n, t)));
    }
  });

  test("uses no RegExp (start-up: a process's first RegExp costs ~0.5 ms)", () => {
    const { used } = regExpsUsedBy(() => [checkIfName("tkb0"), checkIfName("tun%d", true), outcome(() => checkIfName("a b"))]);
    expect(used).toEqual([]);
  });
});

describe("parseIp dotted-quad fast path", () => {
  test("accepts and refuses exactly what ipaddr.js's four-part decimal does (random strings)", async () => {
    const { parseIp } = await import("../../common/addr.ts");
    const ipaddr = (await import("ipaddr.js")).default;
    const { mulberry32 } = await import("../../common/prng.ts");
    const rnd = mulberry32(11);
    const strict = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;
    const cases = ["0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3", ".1.2.3", "1.2.3.", "1.2.3.04", "10.0.0.1", "1.2.3.4a"];
    for (let i = 0; i < 20_000; i++) {
      const n = 1 + Math.floor(rnd() * 16);
      let s = "";
      for (let k = 0; k < n; k++) s += "0123456789..x"[Math.floor(rnd() * 13)];
      cases.push(s);
    }
    for (const s of cases) {
      let want: number[] | undefined;
      try {
        if (strict.test(s)) want = ipaddr.IPv4.parse(s).toByteArray();
      } catch {
        want = undefined;
      }
      let got: number[] | undefined;
      try {
        const b = parseIp(s, 4);
        got = [...b];
      } catch {
        got = undefined;
      }
      expect([s, got]).toEqual([s, want]);
    }
  });
});
