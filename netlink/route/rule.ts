/**
 * FIB rules (RTM_NEWRULE / DELRULE / GETRULE): struct fib_rule_hdr + FRA_* attributes —
 * priority, table, fwmark/mask, from/to, iif/oif, goto, realms (flow), tun_id, suppressors,
 * l3mdev, uid range, protocol, ipproto and port ranges.
 *
 * @module
 */
import { AttributeEncoder } from "../core/attribute.ts";
import type { ByteWriter } from "../core/writer.ts";
import { FRA } from "./constants.ts";
import { type AttrCodec, decodeMessage, encodeAttrs, messageSpec, tableIdAttr } from "./table.ts";

/** A start..end range (FRA_UID_RANGE, FRA_SPORT_RANGE, FRA_DPORT_RANGE). */
export interface Range {
  /** First value of the range. */
  start: number;
  /** Last value of the range (inclusive). */
  end: number;
}

/** A routing policy rule as rtnetlink describes it. */
export interface Rule {
  /** AF_INET or AF_INET6. */
  family: number;
  /** Destination prefix length (`to`). */
  dstLen: number;
  /** Source prefix length (`from`). */
  srcLen: number;
  /** `tos`. */
  tos: number;
  /** Table id, full 32 bits (FRA_TABLE when present). */
  table: number;
  /** FR_ACT_* (to_tbl 1, goto 2, nop 3, blackhole 6, unreachable 7, prohibit 8). */
  action: number;
  /** FIB_RULE_* flags (invert 2 = "not"). */
  flags: number;
  /** FRA_DST: the `to` prefix's address. */
  dst?: string;
  /** FRA_SRC: the `from` prefix's address. */
  src?: string;
  /** FRA_IIFNAME: `iif`. */
  iifname?: string;
  /** FRA_OIFNAME: `oif`. */
  oifname?: string;
  /** FRA_GOTO: `goto PRIORITY`. */
  goto?: number;
  /** FRA_PRIORITY: `priority` (`pref`). */
  priority?: number;
  /** FRA_FWMARK: `fwmark`. */
  fwmark?: number;
  /** FRA_FWMASK: the mask of `fwmark M/MASK`. */
  fwmask?: number;
  /** Realms (FRA_FLOW): source realm << 16 | destination realm. */
  flow?: number;
  /** FRA_TUN_ID (big-endian on the wire). */
  tunId?: bigint;
  /** FRA_SUPPRESS_IFGROUP: `suppress_ifgroup`. */
  suppressIfgroup?: number;
  /** Suppress routes with a prefix this long or shorter; 0xffffffff (-1) means unset. */
  suppressPrefixlen?: number;
  /** FRA_L3MDEV: `l3mdev`. */
  l3mdev?: number;
  /** FRA_UID_RANGE: `uidrange`. */
  uidRange?: Range;
  /** Who installed the rule (RTPROT_*). */
  protocol?: number;
  /** FRA_IP_PROTO: `ipproto`. */
  ipProto?: number;
  /** FRA_SPORT_RANGE: `sport`. */
  sportRange?: Range;
  /** FRA_DPORT_RANGE: `dport`. */
  dportRange?: Range;
}

function range(width: 2 | 4, name: string): AttrCodec<Range> {
  return {
    decode(ad) {
      const p = ad.payload();
      if (p.length !== width * 2) {
        ad.error(`Invalid ${name}: ${p.length} bytes, expected ${width * 2}`);
        return { start: 0, end: 0 };
      }
      const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
      return width === 4
        ? { start: v.getUint32(0, true), end: v.getUint32(4, true) }
        : { start: v.getUint16(0, true), end: v.getUint16(2, true) };
    },
    encode(ae, type, r) {
      const at = ae.begin(type);
      if (width === 4) {
        ae.w.u32(r.start);
        ae.w.u32(r.end);
      } else {
        ae.w.u16(r.start);
        ae.w.u16(r.end);
      }
      ae.end(at);
    },
  };
}

/** FRA_TUN_ID: a 64-bit tunnel id in network byte order. */
const tunId: AttrCodec<bigint> = {
  decode(ad) {
    const p = ad.payload();
    if (p.length !== 8) {
      ad.error(`Invalid FRA_TUN_ID: ${p.length} bytes, expected 8`);
      return 0n;
    }
    return new DataView(p.buffer, p.byteOffset, 8).getBigUint64(0, false);
  },
  encode(ae, type, v) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setBigUint64(0, BigInt.asUintN(64, v), false);
    ae.bytes(type, b);
  },
};

/** The fib_rule_hdr table. */
export const RULE_SPEC = messageSpec(
  "fib_rule_hdr",
  [
    ["family", "u8"], ["dstLen", "u8"], ["srcLen", "u8"], ["tos", "u8"], ["table", "u8"],
    ["", "pad8"], ["", "pad8"], ["action", "u8"], ["flags", "u32"],
  ],
  [
    [FRA.PRIORITY, "priority", "u32"],
    [FRA.SRC, "src", "addr"],
    [FRA.DST, "dst", "addr"],
    [FRA.FWMARK, "fwmark", "u32"],
    [FRA.FWMASK, "fwmask", "u32"],
    [FRA.IIFNAME, "iifname", "str"],
    [FRA.OIFNAME, "oifname", "str"],
    [FRA.TABLE, "table", tableIdAttr],
    [FRA.SUPPRESS_PREFIXLEN, "suppressPrefixlen", "u32"],
    [FRA.SUPPRESS_IFGROUP, "suppressIfgroup", "u32"],
    [FRA.GOTO, "goto", "u32"],
    [FRA.FLOW, "flow", "u32"],
    [FRA.TUN_ID, "tunId", tunId],
    [FRA.L3MDEV, "l3mdev", "u8"],
    [FRA.UID_RANGE, "uidRange", range(4, "FRA_UID_RANGE")],
    [FRA.PROTOCOL, "protocol", "u8"],
    [FRA.IP_PROTO, "ipProto", "u8"],
    [FRA.SPORT_RANGE, "sportRange", range(2, "FRA_SPORT_RANGE")],
    [FRA.DPORT_RANGE, "dportRange", range(2, "FRA_DPORT_RANGE")],
  ],
);

/**
 * Decodes an RTM_NEWRULE / DELRULE payload.
 *
 * @example
 * ```ts
 * import { decodeRule, encodeRule } from "./rule.ts";
 * import { ByteWriter } from "../core/writer.ts";
 * const w = new ByteWriter();
 * encodeRule(w, { family: 2, dstLen: 0, srcLen: 24, tos: 0, table: 100, action: 1, flags: 0,
 *   src: "192.0.2.0", priority: 100 });
 * decodeRule(w.finish()).priority; // 100
 * ```
 */
export function decodeRule(body: Uint8Array): Rule {
  return decodeMessage<Rule>(RULE_SPEC, body);
}

/** Encodes a rule message payload into `w` (header table 0 + FRA_TABLE for ids above 255). */
export function encodeRule(w: ByteWriter, r: Readonly<Partial<Rule>>): void {
  const table = r.table ?? 0;
  w.u8(r.family ?? 0);
  w.u8(r.dstLen ?? 0);
  w.u8(r.srcLen ?? 0);
  w.u8(r.tos ?? 0);
  w.u8(table > 255 ? 0 : table);
  w.u8(0);
  w.u8(0);
  w.u8(r.action ?? 0);
  w.u32(r.flags ?? 0);
  encodeAttrs(new AttributeEncoder(w), RULE_SPEC.attrs, r as Record<string, unknown>);
}
