/**
 * "Message as a table" (pyroute2's idea): an rtnetlink message type is described as data —
 * its fixed header fields and a map from attribute number to (property name, kind) — and one
 * generic codec encodes and decodes it. A new message type is mostly a table.
 *
 * @module
 */
import { MalformedError, TruncatedError } from "../../common/errors.ts";
import { AttributeDecoder, AttributeEncoder, viewOf } from "../core/attribute.ts";
import type { ByteWriter } from "../core/writer.ts";
import { formatIpv4, formatIpv6, formatMac, parseMac } from "../../common/addr.ts";
import { formatAddr, parseAddr } from "./ip.ts";

/** A custom attribute codec, for values that are not a plain scalar. */
export interface AttrCodec<T = unknown> {
  /** Reads the attribute's value (the decoder is positioned on it). */
  decode(ad: AttributeDecoder): T;
  /** Writes the attribute `type` with `value`. */
  encode(ae: AttributeEncoder, type: number, value: T): void;
}

/**
 * Built-in kinds: integers (host order unless `be`), NUL-terminated string, IP address text,
 * link-layer address text, raw bytes, presence flag, and a u8 read as boolean.
 */
export type AttrKind = "u8" | "u16" | "u16be" | "u32" | "s32" | "u64" | "str" | "addr" | "mac" | "bytes" | "flag" | "bool8" | AttrCodec<any>;

/** One attribute row: number, property name, kind. */
export type AttrRow = readonly [type: number, key: string, kind: AttrKind];

/** A compiled attribute table. */
export interface AttrTable {
  /** Rows in encode order. */
  readonly rows: readonly AttrRow[];
  /** Rows indexed by attribute number. */
  readonly byType: ReadonlyArray<AttrRow | undefined>;
}

/**
 * Compiles attribute rows; the row order is the order attributes are encoded in.
 *
 * @example
 * ```ts
 * import { attrTable } from "./table.ts";
 * const t = attrTable([[3, "name", "str"], [4, "mtu", "u32"]]);
 * t.byType[4]![1]; // "mtu"
 * ```
 */
export function attrTable(rows: readonly AttrRow[]): AttrTable {
  const byType: Array<AttrRow | undefined> = [];
  for (const r of rows) byType[r[0]] = r;
  return { rows, byType };
}

/** Decodes one attribute of a built-in or custom kind. */
export function decodeValue(ad: AttributeDecoder, kind: AttrKind): unknown {
  switch (kind) {
    case "u8":
      return ad.u8();
    case "u16":
      return ad.u16();
    case "u16be":
      return ad.u16be();
    case "u32":
      return ad.u32();
    case "s32":
      return ad.i32();
    case "u64":
      return ad.u64();
    case "str":
      return ad.string();
    case "addr": {
      const n = ad.length;
      if (n !== 4 && n !== 16) {
        ad.error(`Invalid address attribute type ${ad.type}: ${n} bytes, expected 4 or 16`);
        return "";
      }
      // Read in place (no view of the payload): a dump formats one or two per route.
      return n === 4 ? formatIpv4(ad.bytes, ad.payloadStart) : formatIpv6(ad.bytes, ad.payloadStart);
    }
    case "mac":
      return formatMac(ad.payload());
    case "bytes":
      return ad.copy();
    case "flag":
      return true;
    case "bool8":
      return ad.u8() !== 0;
    default:
      return kind.decode(ad);
  }
}

/** Encodes one attribute of a built-in or custom kind. */
export function encodeValue(ae: AttributeEncoder, type: number, kind: AttrKind, v: unknown): void {
  switch (kind) {
    case "u8":
      return ae.u8(type, v as number);
    case "u16":
      return ae.u16(type, v as number);
    case "u16be":
      return ae.u16be(type, v as number);
    case "u32":
      return ae.u32(type, v as number);
    case "s32":
      return ae.i32(type, v as number);
    case "u64":
      return ae.u64(type, v as bigint);
    case "str":
      return ae.string(type, v as string);
    case "addr":
      // Encoders also take the raw 4/16 bytes, so a value parsed once is not parsed again.
      return ae.bytes(type, typeof v === "string" ? parseAddr(v) : (v as Uint8Array));
    case "mac":
      return ae.bytes(type, parseMac(v as string));
    case "bytes":
      return ae.bytes(type, v as Uint8Array);
    case "flag":
      if (v) ae.flag(type);
      return;
    case "bool8":
      return ae.u8(type, v ? 1 : 0);
    default:
      return kind.encode(ae, type, v);
  }
}

/** Decodes every attribute the table knows into `out`; unknown ones are skipped. */
export function decodeAttrs(ad: AttributeDecoder, t: AttrTable, out: Record<string, unknown>): void {
  const byType = t.byType;
  while (ad.next()) {
    const row = byType[ad.type];
    if (row !== undefined) {
      const v = decodeValue(ad, row[2]);
      if (v !== undefined) out[row[1]] = v;
    }
  }
}

/** Encodes every property of `obj` that has a row, in row order. */
export function encodeAttrs(ae: AttributeEncoder, t: AttrTable, obj: Readonly<Record<string, unknown>>): void {
  for (const row of t.rows) {
    const v = obj[row[1]];
    if (v !== undefined) encodeValue(ae, row[0], row[2], v);
  }
}

/**
 * A codec for an attribute that is a struct of u32 fields (host order), e.g. IFA_CACHEINFO:
 * short payloads are a decode error with zeroes in the fields.
 *
 * @example
 * ```ts
 * import { u32Struct } from "./table.ts";
 * const range = u32Struct("FRA_UID_RANGE", ["start", "end"]);
 * ```
 */
export function u32Struct<K extends string>(name: string, keys: readonly K[]): AttrCodec<Record<K, number>> {
  return {
    decode(ad) {
      const p = ad.payload();
      const out = {} as Record<K, number>;
      if (p.length < keys.length * 4) {
        ad.error(`Invalid ${name}: ${p.length} bytes, expected ${keys.length * 4}`);
        for (const k of keys) out[k] = 0;
        return out;
      }
      const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
      keys.forEach((k, i) => (out[k] = v.getUint32(i * 4, true)));
      return out;
    },
    encode(ae, type, v) {
      const at = ae.begin(type);
      for (const k of keys) ae.w.u32(v[k]);
      ae.end(at);
    },
  };
}

/**
 * A routing table id attribute (RTA_TABLE, FRA_TABLE): written only for ids that do not fit the
 * header's 8-bit table field, as iproute2 does; read as u32.
 */
export const tableIdAttr: AttrCodec<number> = {
  decode: (ad) => ad.u32(),
  encode(ae, type, v) {
    if (v > 255) ae.u32(type, v);
  },
};

/**
 * A fixed header field: property name, width, and optionally a deprecated alias of the name (a
 * decoded object reads and writes the alias through a getter/setter on its prototype, so the
 * alias never shows in `JSON.stringify` or `Object.keys`; an encoded object may give either).
 */
export type HeaderField = readonly [key: string, kind: "u8" | "u16" | "u32" | "s32" | "pad8" | "pad16", alias?: string];

/** A message type described as data. */
export interface MessageSpec {
  /** What it is, for error messages ("ifinfomsg"). */
  readonly name: string;
  readonly header: readonly HeaderField[];
  readonly headerSize: number;
  readonly attrs: AttrTable;
  /** Prototype of decoded objects when a header field has a deprecated alias, else undefined. */
  readonly proto: object | undefined;
}

const FIELD_SIZE = { u8: 1, pad8: 1, u16: 2, pad16: 2, u32: 4, s32: 4 } as const;

/**
 * Describes a message: header fields (in struct order) and attribute rows.
 *
 * @example
 * ```ts
 * import { messageSpec } from "./table.ts";
 * const spec = messageSpec("ifaddrmsg",
 *   [["family", "u8"], ["prefixLen", "u8"], ["flags", "u8"], ["scope", "u8"], ["ifindex", "u32"]],
 *   [[3, "label", "str"]]);
 * spec.headerSize; // 8
 * ```
 */
export function messageSpec(name: string, header: readonly HeaderField[], attrs: readonly AttrRow[]): MessageSpec {
  let size = 0;
  let proto: object | undefined;
  for (const f of header) {
    size += FIELD_SIZE[f[1]];
    const [key, , alias] = f;
    if (alias === undefined) continue;
    proto ??= Object.create(Object.prototype);
    Object.defineProperty(proto, alias, {
      get(this: Record<string, unknown>) {
        return this[key];
      },
      set(this: Record<string, unknown>, v: unknown) {
        this[key] = v;
      },
      enumerable: false,
      configurable: true,
    });
  }
  return { name, header, headerSize: size, attrs: attrTable(attrs), proto };
}

/**
 * Decodes a message payload (header + attributes). Throws {@link TruncatedError} for a short
 * header and the attribute decoder's first error otherwise.
 */
export function decodeMessage<T>(spec: MessageSpec, body: Uint8Array, extra?: (ad: AttributeDecoder, out: Record<string, unknown>) => void): T {
  if (body.length < spec.headerSize) throw new TruncatedError(spec.name, 0, spec.headerSize, body.length);
  const view = viewOf(body);
  const out: Record<string, unknown> = spec.proto === undefined ? {} : Object.create(spec.proto);
  let pos = 0;
  const at = body.byteOffset;
  for (const [key, kind] of spec.header) {
    switch (kind) {
      case "u8":
        out[key] = body[pos];
        pos += 1;
        break;
      case "pad8":
        pos += 1;
        break;
      case "u16":
        out[key] = view.getUint16(at + pos, true);
        pos += 2;
        break;
      case "pad16":
        pos += 2;
        break;
      case "u32":
        out[key] = view.getUint32(at + pos, true);
        pos += 4;
        break;
      case "s32":
        out[key] = view.getInt32(at + pos, true);
        pos += 4;
        break;
    }
  }
  const ad = new AttributeDecoder(body, 0, (spec.headerSize + 3) & ~3);
  if (extra) {
    const byType = spec.attrs.byType;
    while (ad.next()) {
      const row = byType[ad.type];
      if (row !== undefined) out[row[1]] = decodeValue(ad, row[2]);
      else extra(ad, out);
    }
  } else {
    decodeAttrs(ad, spec.attrs, out);
  }
  ad.check();
  return out as T;
}

/** Writes a message payload (header + attributes) for `obj`; missing header fields are 0. */
export function encodeMessage(spec: MessageSpec, w: ByteWriter, obj: Readonly<Record<string, unknown>>): void {
  for (const [key, kind, alias] of spec.header) {
    const v = (obj[key] as number | undefined) ?? (alias === undefined ? undefined : (obj[alias] as number | undefined)) ?? 0;
    switch (kind) {
      case "u8":
        w.u8(v);
        break;
      case "pad8":
        w.u8(0);
        break;
      case "u16":
        w.u16(v);
        break;
      case "pad16":
        w.u16(0);
        break;
      case "u32":
        w.u32(v);
        break;
      case "s32":
        w.i32(v);
        break;
    }
  }
  w.align4();
  encodeAttrs(new AttributeEncoder(w), spec.attrs, obj);
}

/** Re-exported so message files can raise the same typed errors. */
export { MalformedError, TruncatedError };
