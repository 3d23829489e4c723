import { describe, expect, test } from "bun:test";
import { MalformedError, TruncatedError } from "../../common/errors.ts";
import { fromHex, toHex } from "../../common/hex.ts";
import { AttributeDecoder, AttributeEncoder } from "../../netlink/core/attribute.ts";
import { beginMessage, endMessage, NLM_F, parseAck, parseMessages } from "../../netlink/core/message.ts";
import { ByteWriter } from "../../netlink/core/writer.ts";
import { parseProtocol, parseTable, protocolName, scopeName, tableName } from "../../netlink/route/names.ts";
import { linkFlagNames, addressFlagNames, parseAddressFlags } from "../../netlink/route/flags.ts";
import { parsePrefix, formatAddr } from "../../netlink/route/ip.ts";
import { UsageError } from "../../common/errors.ts";
import { routeToIpJson, addressToIpJson } from "../../netlink/route/json.ts";
import { NetlinkError } from "../../netlink/errors.ts";

describe("attribute encoder", () => {
  test("pads every attribute to 4 bytes and nests", () => {
    const w = new ByteWriter(4);
    const ae = new AttributeEncoder(w);
    ae.u8(1, 0xaa);
    ae.string(2, "abc");
    ae.nested(3, () => ae.u16(4, 0x1234));
    expect(toHex(w.finish(), " ")).toBe("05 00 01 00 aa 00 00 00 08 00 02 00 61 62 63 00 0c 00 03 00 06 00 04 00 34 12 00 00");
  });
  test("a message header carries the total length", () => {
    const w = new ByteWriter();
    const at = beginMessage(w, 24, NLM_F.REQUEST | NLM_F.ACK, 7);
    w.bytes(new Uint8Array(3));
    endMessage(w, at);
    const [m] = parseMessages(w.finish());
    expect(m!.len).toBe(19);
    expect(m!.body.length).toBe(3);
    expect(w.len).toBe(20);
  });
});

describe("attribute decoder", () => {
  test("iterates, strips NLA_F_NESTED, reads typed values", () => {
    const ad = new AttributeDecoder(fromHex("08000480dc050000 0600050001000000 0700030061620000"));
    const seen: Array<[number, unknown]> = [];
    while (ad.next()) seen.push([ad.type, ad.type === 4 ? ad.u32() : ad.type === 5 ? ad.u16() : ad.string()]);
    ad.check();
    expect(seen).toEqual([[4, 1500], [5, 1], [3, "ab"]]);
  });
  test("a getter of the wrong width records the first error and returns 0", () => {
    const ad = new AttributeDecoder(fromHex("0600040001000000 0500040001000000"));
    ad.next();
    expect(ad.u32()).toBe(0);
    ad.next();
    ad.u16();
    expect(ad.err).toBeInstanceOf(MalformedError);
    expect(ad.err!.message).toContain("2 bytes, expected 4");
    expect(() => ad.check()).toThrow(MalformedError);
  });
  test("a length past the end is a TruncatedError, a length under 4 a MalformedError", () => {
    const a = new AttributeDecoder(fromHex("10000100aabbccdd"));
    expect(a.next()).toBe(false);
    expect(a.err).toBeInstanceOf(TruncatedError);
    const b = new AttributeDecoder(fromHex("02000100"));
    expect(b.next()).toBe(false);
    expect(b.err).toBeInstanceOf(MalformedError);
  });
  test("errors inside a nest surface in the parent", () => {
    const ad = new AttributeDecoder(fromHex("0c00128008000100ff000000"));
    ad.next();
    ad.nested((c) => { c.next(); c.u8(); });
    expect(ad.err).toBeInstanceOf(MalformedError);
  });
});

describe("message framing", () => {
  test("multipart buffers split; bad lengths throw typed errors", () => {
    const done = "14000000030002000100000000000000 00000000";
    expect(parseMessages(fromHex(done + done)).length).toBe(2);
    expect(() => parseMessages(fromHex("0f000000030002000100000000000000"))).toThrow(MalformedError);
    expect(() => parseMessages(fromHex("40000000030002000100000000000000"))).toThrow(TruncatedError);
    expect(() => parseMessages(fromHex("1400"))).toThrow(TruncatedError);
  });
  function errorBody(errno: number, request: Uint8Array, tlvs: (ae: AttributeEncoder) => void): Uint8Array {
    const w = new ByteWriter();
    w.i32(-errno);
    w.bytes(request);
    w.align4();
    tlvs(new AttributeEncoder(w));
    return w.finish().slice();
  }
  const reqHdr = fromHex("2c000000180005060100000000000000"); // len 44, RTM_NEWROUTE, seq 1
  test("NLMSG_ERROR with extended ACK (capped): message and offset", () => {
    const body = errorBody(101, reqHdr, (ae) => { ae.string(1, "bad gw"); ae.u32(2, 28); });
    expect(parseAck(body, NLM_F.CAPPED | NLM_F.ACK_TLVS)).toMatchObject({ errno: 101, message: "bad gw", offset: 28, request: { type: 24, seq: 1, len: 44 } });
  });
  test("NLMSG_ERROR without NLM_F_CAPPED skips the echoed request before the TLVs", () => {
    const req = new Uint8Array(44);
    req.set(reqHdr);
    const body = errorBody(17, req, (ae) => ae.u32(2, 16));
    expect(parseAck(body, NLM_F.ACK_TLVS)).toMatchObject({ errno: 17, offset: 16 });
    // The echoed request claims 44 bytes but only the header is there: typed error, no over-read.
    expect(() => parseAck(errorBody(17, reqHdr, () => {}), NLM_F.ACK_TLVS)).toThrow(TruncatedError);
  });
});

describe("names and prefixes", () => {
  test("iproute2 names both ways, numbers otherwise", () => {
    expect(protocolName(2)).toBe("kernel");
    expect(protocolName(200)).toBe("200");
    expect(parseProtocol("dhcp")).toBe(16);
    expect(parseProtocol("0x10")).toBe(16);
    expect(() => parseProtocol("nope")).toThrow(UsageError);
    expect(scopeName(253)).toBe("link");
    expect(tableName(254)).toBe("main");
    expect(parseTable("1000")).toBe(1000);
    expect(parseTable("local")).toBe(255);
  });
  test("link flags in ip's order with NO-CARRIER and M-DOWN", () => {
    expect(linkFlagNames(0x1091)).toEqual(["NO-CARRIER", "POINTOPOINT", "MULTICAST", "NOARP", "UP"]);
    expect(linkFlagNames(0x11043, true)).toEqual(["BROADCAST", "MULTICAST", "UP", "LOWER_UP", "M-DOWN"]);
  });
  test("address flags: permanent hides, dynamic shows, v6 secondary is temporary", () => {
    expect(addressFlagNames(0x80, 2).names).toEqual([]);
    expect(addressFlagNames(0x201, 10).names).toEqual(["temporary", "dynamic", "noprefixroute"]);
    expect(parseAddressFlags(["nodad", "noprefixroute"])).toBe(0x202);
    expect(() => parseAddressFlags(["secondary"])).toThrow(UsageError);
  });
  test("prefixes are validated", () => {
    expect(parsePrefix("198.51.100.0/24")).toMatchObject({ family: 2, len: 24 });
    expect(parsePrefix("default", 10)).toMatchObject({ family: 10, len: 0 });
    expect(() => parsePrefix("192.0.2.0/33")).toThrow('Invalid prefix length "33" for IPv4: expected 0..32');
    expect(() => parsePrefix("10.1")).toThrow(UsageError);
    expect(formatAddr(fromHex("00000000000000000000ffffc0000201"))).toBe("::ffff:192.0.2.1");
  });
});

describe("ip -j views", () => {
  test("routes: default, host routes without /32, table and type only when not the default", () => {
    const base = { family: 2, srcLen: 0, tos: 0, protocol: 3, scope: 0, type: 1, flags: 0 };
    expect(routeToIpJson({ ...base, dstLen: 0, table: 254, gateway: "192.0.2.254" })).toEqual({ dst: "default", gateway: "192.0.2.254", flags: [] });
    expect(routeToIpJson({ ...base, dstLen: 32, table: 254, dst: "198.51.100.7", type: 8, flags: 4 })).toEqual({ type: "prohibit", dst: "198.51.100.7", flags: ["onlink"] });
    expect(routeToIpJson({ ...base, dstLen: 24, table: 1000, dst: "203.0.113.0", metrics: { mtu: 1400 } })).toEqual({ dst: "203.0.113.0/24", table: "1000", flags: [], metrics: [{ mtu: 1400 }] });
  });
  test("addresses: the peer shows as address only when it differs from local", () => {
    const a = { family: 2, prefixLen: 32, flags: 0x80, scope: 0, ifindex: 4, cacheInfo: { preferred: 0xffffffff, valid: 0xffffffff, created: 0, updated: 0 } };
    expect(addressToIpJson({ ...a, local: "192.0.2.9", address: "198.51.100.1" })).toEqual({
      family: "inet", local: "192.0.2.9", address: "198.51.100.1", prefixlen: 32, scope: "global", valid_life_time: 4294967295, preferred_life_time: 4294967295,
    });
    expect(addressToIpJson({ ...a, local: "192.0.2.9", address: "192.0.2.9" }).address).toBeUndefined();
  });
});

describe("NetlinkError", () => {
  test("friendly words, the kernel's text, a hint", () => {
    const e = new NetlinkError("add route", 101, { extackMessage: "Nexthop has invalid gateway", subject: "10.0.0.0/8 via 198.18.0.1" });
    expect(e.code).toBe("ENETUNREACH");
    expect(e.message).toBe('add route: network unreachable "10.0.0.0/8 via 198.18.0.1" (ENETUNREACH): Nexthop has invalid gateway');
    expect(new NetlinkError("set link", 19, { subject: "tun9" }).message).toBe('set link: no such device "tun9" (ENODEV)');
    expect(new NetlinkError("add route", 1).hint).toContain("CAP_NET_ADMIN");
    expect(new NetlinkError("add route", 17).hint).toContain("replace");
    expect(new NetlinkError("delete route", 3).message).toContain("no such route");
  });
});

describe("decoding in place (one view per buffer, attributes read from an offset)", () => {
  test("a message inside a larger buffer, among others, decodes as its own copy does; errors keep their offsets", async () => {
    const { decodeRoute, encodeRoute } = await import("../../netlink/route/route.ts");
    const { decodeAddress, encodeAddress } = await import("../../netlink/route/addr.ts");
    const { mulberry32 } = await import("../../common/prng.ts");
    const rnd = mulberry32(5);
    const route = (i: number) => {
      const w = new ByteWriter();
      encodeRoute(w, { family: i & 1 ? 10 : 2, dstLen: i & 1 ? 64 : 24, table: 1000 + i, protocol: 4, scope: 0, type: 1, dst: i & 1 ? `2001:db8:${i.toString(16)}::` : `198.51.${i & 255}.0`, gateway: i & 1 ? "2001:db8::1" : "192.0.2.1", oif: i, priority: i, metrics: { mtu: 1400 + i } });
      return w.finish().slice();
    };
    const addr = (i: number) => {
      const w = new ByteWriter();
      encodeAddress(w, { family: 2, prefixLen: 24, flags: 0, scope: 0, index: i, address: `192.0.2.${i & 255}`, local: `192.0.2.${i & 255}`, label: `tk${i}` });
      return w.finish().slice();
    };
    const outcome = (f: () => unknown) => {
      try {
        return { ok: JSON.stringify(f()) };
      } catch (e) {
        const x = e as Error & { offset?: number };
        return { error: x.constructor.name, message: x.message, offset: x.offset };
      }
    };
    // Two buffers, decodes alternating between them (the shared view must follow the buffer).
    const bufs = [new Uint8Array(1 << 16), new Uint8Array(1 << 15)];
    for (const b of bufs) for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256);
    for (let k = 0; k < 400; k++) {
      const isRoute = k % 3 !== 0;
      let msg = isRoute ? route(k) : addr(k);
      if (k % 5 === 0) msg = msg.subarray(0, Math.floor(rnd() * msg.length)); // truncated: an error
      if (k % 7 === 0) {
        msg = msg.slice(); // mangled lengths
        const j = msg.length - 7 - Math.floor(rnd() * 8);
        msg[j] = msg[j]! ^ 0x40;
      }
      const buf = bufs[k & 1]!;
      const at = Math.floor(rnd() * (buf.length - msg.length));
      buf.set(msg, at);
      const inPlace = buf.subarray(at, at + msg.length);
      const dec = isRoute ? decodeRoute : decodeAddress;
      expect(outcome(() => dec(inPlace))).toEqual(outcome(() => dec(msg.slice())));
    }
  });
  test("AttributeDecoder from an offset reads what a decoder over the rest reads", () => {
    const w = new ByteWriter();
    const ae = new AttributeEncoder(w);
    w.u32(0xdeadbeef);
    ae.u32(4, 1500);
    ae.string(3, "tk0");
    ae.u16(5, 7);
    const b = w.finish();
    const a = new AttributeDecoder(b, 0, 4);
    const c = new AttributeDecoder(b.subarray(4), 4);
    const got = (d: AttributeDecoder) => {
      const out: Array<[number, number, number | string]> = [];
      while (d.next()) out.push([d.type, d.offset, d.type === 3 ? d.string() : d.type === 4 ? d.u32() : d.u16()]);
      return out;
    };
    expect(got(a)).toEqual([[4, 8, 1500], [3, 16, "tk0"], [5, 24, 7]]);
    expect(got(c)).toEqual(got(new AttributeDecoder(b, 0, 4)));
  });
});

describe("encodeRoute's short path (dst, gateway, priority, table, oif only)", () => {
  test("writes the bytes the attribute table writes, for every subset of those fields and with one other field", async () => {
    const { encodeRoute, ROUTE_SPEC } = await import("../../netlink/route/route.ts");
    const { encodeAttrs } = await import("../../netlink/route/table.ts");
    const byTable = (r: Record<string, unknown>) => {
      const w = new ByteWriter();
      const table = (r.table as number | undefined) ?? 0;
      for (const k of ["family", "dstLen", "srcLen", "tos"]) w.u8((r[k] as number | undefined) ?? 0);
      w.u8(table > 255 ? 0 : table);
      for (const k of ["protocol", "scope", "type"]) w.u8((r[k] as number | undefined) ?? 0);
      w.u32((r.flags as number | undefined) ?? 0);
      encodeAttrs(new AttributeEncoder(w), ROUTE_SPEC.attrs, r);
      return toHex(w.finish());
    };
    const fields: Array<[string, unknown, unknown]> = [
      ["dst", "198.51.100.0", Uint8Array.of(203, 0, 113, 0)],
      ["gateway", "192.0.2.1", Uint8Array.of(192, 0, 2, 254)],
      ["priority", 0, 4000000000],
      ["table", 100, 1000],
      ["oif", 7, 0],
    ];
    const extras: Array<Record<string, unknown>> = [{}, { src: "192.0.2.9" }, { prefsrc: "192.0.2.8" }, { mark: 5 }, { metrics: { mtu: 1400 } }, { nhId: 3 }, { pref: 1 }, { expires: 60 }];
    let n = 0;
    for (let mask = 0; mask < 1 << fields.length; mask++) {
      for (const alt of [1, 2] as const) {
        for (const extra of extras) {
          const r: Record<string, unknown> = { family: 2, dstLen: 24, protocol: 4, scope: 0, type: 1, flags: 0, ...extra };
          fields.forEach((f, i) => {
            if (mask & (1 << i)) r[f[0]] = f[alt];
          });
          const w = new ByteWriter();
          encodeRoute(w, r);
          expect(toHex(w.finish())).toBe(byTable(r));
          // Into a reused writer holding other bytes (a batch's buffer), after a message, growing it.
          const used = new ByteWriter(16);
          used.zero(13);
          used.buf.fill(0xff);
          used.len = 4; // a body starts 4-aligned (after a 16-byte header)
          const before = toHex(used.finish());
          encodeRoute(used, r);
          expect(toHex(used.finish())).toBe(before + byTable(r));
          n++;
        }
      }
    }
    expect(n).toBe(32 * 2 * extras.length);
  });
});
