import { describe, expect, test } from "bun:test";
import { FlowTable, FLOW } from "../../proxy/nat.ts";
import { UsageError } from "../../common/errors.ts";
import { mulberry32 } from "./_fuzz.ts";

const key = (fam: number, b: Uint8Array, sp: number, dp: number) => `${fam}|${Array.from(b).join(",")}|${sp}|${dp}`;

describe("FlowTable", () => {
  test("insert, lookup, fields, remove (IPv4 and IPv6 with the same ports stay apart)", () => {
    const t = new FlowTable(10000, 10009);
    const v4 = new Uint8Array([192, 0, 2, 1, 198, 51, 100, 7]);
    const v6 = new Uint8Array(32);
    v6.set([0x20, 0x01, 0x0d, 0xb8], 0);
    v6.set([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7], 16);
    const a = t.insert(4, v4, 0, 4, 40000, 80, 5);
    const b = t.insert(6, v6, 0, 16, 40000, 80);
    expect([a, b]).toEqual([10000, 10001]);
    expect(t.lookup(4, v4, 0, 4, 40000, 80)).toBe(a);
    expect(t.lookup(6, v6, 0, 16, 40000, 80)).toBe(b);
    expect(t.lookup(4, v4, 0, 4, 40001, 80)).toBe(-1);
    expect(t.lookup(4, v4, 4, 0, 40000, 80)).toBe(-1); // swapped addresses
    expect([t.family[a], t.sport[a], t.dport[a], t.state[a], t.stamp[a]]).toEqual([4, 40000, 80, FLOW.CONNECTING, 5]);
    expect(Array.from(t.dst.subarray(a * 16, a * 16 + 4))).toEqual([198, 51, 100, 7]);
    t.remove(a);
    expect(t.lookup(4, v4, 0, 4, 40000, 80)).toBe(-1);
    expect(t.lookup(6, v6, 0, 16, 40000, 80)).toBe(b);
    expect(t.size).toBe(1);
  });

  test("ids round robin, a full table says -1", () => {
    const t = new FlowTable(1, 4);
    const p = new Uint8Array(8);
    const ids = [1, 2, 3, 4].map((i) => t.insert(4, p, 0, 4, i, 1));
    expect(ids).toEqual([1, 2, 3, 4]);
    expect(t.insert(4, p, 0, 4, 9, 1)).toBe(-1);
    t.remove(2);
    expect(t.insert(4, p, 0, 4, 9, 1)).toBe(2);
    t.remove(1);
    t.remove(3);
    expect(t.insert(4, p, 0, 4, 10, 1)).toBe(3); // the cursor moves on: 3 before 1
  });

  test("bad ranges are usage errors", () => {
    expect(() => new FlowTable(0, 10)).toThrow(UsageError);
    expect(() => new FlowTable(10, 9)).toThrow(UsageError);
    expect(() => new FlowTable(1, 65536)).toThrow(UsageError);
  });

  test("seeded fuzz against a Map model: 200k operations with heavy collisions", () => {
    const rnd = mulberry32(6);
    const t = new FlowTable(1, 3000);
    const model = new Map<string, number>();
    const buf = new Uint8Array(32);
    for (let op = 0; op < 200_000; op++) {
      const fam = rnd() < 0.5 ? 4 : 6;
      buf.fill(0);
      buf[3] = Math.floor(rnd() * 4); // few distinct addresses: long probe chains
      buf[19] = Math.floor(rnd() * 4);
      const sp = Math.floor(rnd() * 64);
      const dp = Math.floor(rnd() * 4);
      const k = key(fam, fam === 4 ? Uint8Array.from([...buf.subarray(0, 4), ...buf.subarray(16, 20)]) : buf, sp, dp);
      const got = t.lookup(fam, buf, 0, 16, sp, dp);
      expect(got).toBe(model.get(k) ?? -1);
      if (got < 0 && rnd() < 0.6) {
        const id = t.insert(fam, buf, 0, 16, sp, dp);
        if (model.size < 3000) {
          expect(id).toBeGreaterThan(0);
          model.set(k, id);
        } else expect(id).toBe(-1);
      } else if (got >= 0 && rnd() < 0.5) {
        t.remove(got);
        model.delete(k);
      }
    }
    expect(t.size).toBe(model.size);
    let n = 0;
    t.forEach(() => n++);
    expect(n).toBe(model.size);
  }, 60_000); // seconds of work: a loaded 2-core machine needs more than the default 5 s
});
