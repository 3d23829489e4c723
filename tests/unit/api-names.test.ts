/**
 * One name per concept in the public API (issue 15): the interface index is `ifindex` on every
 * netlink object, and a prefix is `Prefix` in wg too; the old names (`Link.index`,
 * `Address.index`, AllowedIp's `addr`/`prefix`) stay as deprecated aliases for one release,
 * without changing what is serialised.
 */
import { describe, expect, test } from "bun:test";
import { ByteWriter, decodeAddress, decodeLink, encodeAddress, encodeLink, parsePrefix, type Address, type Link, type Prefix } from "../../netlink/mod.ts";
import { AllowedIps, formatAllowedIp, parseAllowedIp } from "../../wg/mod.ts";

function linkBytes(l: Partial<Link>): Uint8Array {
  const w = new ByteWriter();
  encodeLink(w, l);
  return w.finish();
}
function addrBytes(a: Partial<Address>): Uint8Array {
  const w = new ByteWriter();
  encodeAddress(w, a);
  return w.finish();
}

describe("ifindex everywhere, index a deprecated alias", () => {
  test("decoded links and addresses carry ifindex; index reads the same value", () => {
    const l = decodeLink(linkBytes({ family: 0, type: 1, ifindex: 7, flags: 1, change: 1, name: "tk0" }));
    expect(l.ifindex).toBe(7);
    expect(l.index).toBe(7);
    const a = decodeAddress(addrBytes({ family: 2, prefixLen: 24, flags: 0, scope: 0, ifindex: 9, local: "192.0.2.1" }));
    expect(a.ifindex).toBe(9);
    expect(a.index).toBe(9);
  });

  test("the alias is not enumerable: JSON and Object.keys show ifindex only", () => {
    const l = decodeLink(linkBytes({ family: 0, type: 1, ifindex: 4, flags: 0, change: 0 }));
    expect(Object.keys(l)).toContain("ifindex");
    expect(Object.keys(l)).not.toContain("index");
    expect(JSON.parse(JSON.stringify(l))).toEqual({ family: 0, type: 1, ifindex: 4, flags: 0, change: 0 });
    const a = decodeAddress(addrBytes({ family: 10, prefixLen: 64, flags: 0, scope: 0, ifindex: 2, local: "2001:db8::1" }));
    expect(JSON.stringify(a)).not.toContain('"index"');
  });

  test("encoders take the old name when ifindex is missing, and ifindex wins over it", () => {
    const legacy = { family: 0, type: 1, index: 5, flags: 0, change: 0 } as unknown as Partial<Link>;
    expect(linkBytes(legacy)).toEqual(linkBytes({ family: 0, type: 1, ifindex: 5, flags: 0, change: 0 }));
    expect(decodeLink(linkBytes({ ...legacy, ifindex: 6 })).ifindex).toBe(6);
    const legacyA = { family: 2, prefixLen: 32, flags: 0, scope: 0, index: 3, local: "192.0.2.9" } as unknown as Partial<Address>;
    expect(decodeAddress(addrBytes(legacyA)).ifindex).toBe(3);
  });

  test("assigning the old name writes ifindex (old code that edits a decoded link keeps working)", () => {
    const l = decodeLink(linkBytes({ family: 0, type: 1, ifindex: 4, flags: 0, change: 0 }));
    (l as { index: number }).index = 8;
    expect(l.ifindex).toBe(8);
  });
});

describe("one prefix type: wg's AllowedIp is a Prefix", () => {
  test("parseAllowedIp returns a Prefix (family, bytes, len), host bits cleared, equal to parsePrefix's once masked", () => {
    const a = parseAllowedIp("192.0.2.77/24");
    expect(JSON.parse(JSON.stringify({ ...a, bytes: [...a.bytes] }))).toEqual({ family: 2, bytes: [192, 0, 2, 0], len: 24 });
    const p: Prefix = parseAllowedIp("2001:db8::7/64");
    expect(p).toEqual({ family: 10, bytes: parsePrefix("2001:db8::/64").bytes, len: 64 });
    expect(formatAllowedIp(p)).toBe("2001:db8::/64");
  });

  test("the old names addr/prefix still read, not enumerable; the old { addr, prefix } shape is still taken", () => {
    const a = parseAllowedIp("10.1.2.3/16");
    expect(a.addr).toEqual(Uint8Array.of(10, 1, 0, 0));
    expect(a.prefix).toBe(16);
    expect(Object.keys(a).sort()).toEqual(["bytes", "family", "len"]);
    const t = new AllowedIps<string>();
    t.insert(parsePrefix("10.0.0.0/8"), "shared Prefix");
    t.insert({ addr: Uint8Array.of(10, 1, 0, 0), prefix: 16 }, "old shape");
    expect(t.lookup(Uint8Array.of(10, 2, 0, 1), 0, 4)).toBe("shared Prefix");
    expect(t.lookup(Uint8Array.of(10, 1, 0, 1), 0, 4)).toBe("old shape");
    expect(t.entriesOf("old shape").map(formatAllowedIp)).toEqual(["10.1.0.0/16"]);
    expect(t.entriesOf("shared Prefix")[0]).toMatchObject({ family: 2, len: 8 });
    expect(t.remove({ family: 2, bytes: Uint8Array.of(10, 1, 9, 9), len: 16 }, "old shape")).toBe(true);
    expect(t.size).toBe(1);
  });
});
