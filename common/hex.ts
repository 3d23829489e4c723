/**
 * Hex helpers for fixtures, `--hex` arguments and debug output.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

const HEX = "0123456789abcdef";

/**
 * Parses hex text into bytes. Whitespace, `:` and `-` between byte pairs are ignored, as is a
 * leading `0x`.
 *
 * @example
 * ```ts
 * import { fromHex } from "./hex.ts";
 * fromHex("45 00 00:54"); // Uint8Array [0x45, 0, 0, 0x54]
 * ```
 */
export function fromHex(text: string): Uint8Array {
  const clean = text.replace(/^0x/i, "").replace(/[\s:-]/g, "");
  if (clean.length % 2 !== 0) throw new UsageError(`Invalid hex "${abbreviate(text)}": odd number of digits`);
  if (!/^[0-9a-fA-F]*$/.test(clean)) throw new UsageError(`Invalid hex "${abbreviate(text)}": only 0-9 a-f allowed`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * Formats bytes as lowercase hex, optionally separated.
 *
 * @example
 * ```ts
 * import { toHex } from "./hex.ts";
 * toHex(new Uint8Array([1, 0xab]), " "); // "01 ab"
 * ```
 */
export function toHex(bytes: Uint8Array, sep = ""): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) {
    if (i > 0 && sep) s += sep;
    const b = bytes[i]!;
    s += HEX[b >> 4]! + HEX[b & 15]!;
  }
  return s;
}

function abbreviate(s: string): string {
  return s.length > 40 ? s.slice(0, 37) + "..." : s;
}
