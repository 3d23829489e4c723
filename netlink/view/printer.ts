/**
 * One printer, two outputs — iproute2's json_print idea: a view calls `any(key, value, fmt)`
 * once per field, and the printer either stores `key: value` in a JSON object (`ip -j`) or
 * writes `fmt` with `%s` replaced by the value (ip's text). Writing each view once keeps the
 * text and the JSON of an object in step, field for field. Pure.
 *
 * @module
 */

/** A JSON value as ip prints it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A JSON object of a view. */
export type Json = { [key: string]: JsonValue };

/**
 * `fmt` with its first "%s" replaced by `value`, literally (ip's printf): by indexOf and slices,
 * not String.prototype.replace, which would read `$&`, `$'`… in a value (a device may be named
 * `a$&`) and whose first call was 0.6 ms of a `route list`'s start-up (issue 11).
 *
 * @example
 * ```ts
 * import { withValue } from "./printer.ts";
 * withValue("dev %s ", "tun0"); // "dev tun0 "
 * withValue("dev %s ", "a$&");  // "dev a$& "
 * ```
 */
export function withValue(fmt: string, value: string): string {
  const at = fmt.indexOf("%s");
  return at < 0 ? fmt : fmt.slice(0, at) + value + fmt.slice(at + 2);
}

/**
 * Collects one object's fields as JSON or as text.
 *
 * @example
 * ```ts
 * import { IpPrinter } from "./printer.ts";
 * const p = new IpPrinter(false);
 * p.any("dst", "default", "%s ");
 * p.any("dev", "eth0", "dev %s ");
 * p.text(); // "default dev eth0 "
 * const j = new IpPrinter(true);
 * j.any("dst", "default", "%s ");
 * j.object(); // { dst: "default" }
 * ```
 */
export class IpPrinter {
  /** True for `ip -j` output. */
  readonly json: boolean;
  /** ip's `_SL_`: "\n" normally, "\\" with `-o`. */
  readonly sl: string;
  private out = "";
  private readonly root: Json = {};
  private stack: Array<Json | JsonValue[]> = [this.root];

  /**
   * A printer for text or for ip -j's JSON.
   *
   * @param json Build a JSON value (ip -j) instead of text.
   * @param oneline Text on one line (ip -o).
   */
  constructor(json: boolean, oneline = false) {
    this.json = json;
    this.sl = oneline ? "\\" : "\n";
  }

  /** Adds `value` under `key` in the current JSON object or array. */
  private put(key: string | null, value: JsonValue): void {
    const top = this.stack[this.stack.length - 1]!;
    if (Array.isArray(top)) top.push(value);
    else if (key !== null) top[key] = value;
  }

  /** PRINT_ANY: `value` under `key` in JSON; `fmt` with "%s" replaced by the value in text. */
  any(key: string | null, value: JsonValue, fmt: string): void {
    if (this.json) this.put(key, value);
    else this.out += withValue(fmt, value === null ? "" : String(value));
  }

  /** ip's print_null with a word: `key: null` in JSON, `text` in text ("router "). */
  flag(key: string, text: string): void {
    if (this.json) this.put(key, null);
    else this.out += text;
  }

  /** PRINT_JSON: JSON only. */
  jsonOnly(key: string | null, value: JsonValue): void {
    if (this.json) this.put(key, value);
  }

  /** PRINT_FP: text only. */
  fp(text: string): void {
    if (!this.json) this.out += text;
  }

  /** Opens a nested JSON object (`key` null inside an array). Text: nothing. */
  openObject(key: string | null = null): void {
    if (!this.json) return;
    const o: Json = {};
    this.put(key, o);
    this.stack.push(o);
  }

  /** Closes the innermost JSON object. */
  closeObject(): void {
    if (this.json) this.stack.pop();
  }

  /** Opens a JSON array under `key`; in text, writes `textOpen`. */
  openArray(key: string | null, textOpen = ""): void {
    if (!this.json) {
      this.out += textOpen;
      return;
    }
    const a: JsonValue[] = [];
    this.put(key, a);
    this.stack.push(a);
  }

  /** Closes the innermost JSON array; in text, writes `textClose`. */
  closeArray(textClose = ""): void {
    if (this.json) this.stack.pop();
    else this.out += textClose;
  }

  /** The JSON object built so far. */
  object(): Json {
    return this.root;
  }

  /** The text written so far. */
  text(): string {
    return this.out;
  }
}

/**
 * `%#llx` as ip prints it: "0x1f", and "0" for zero.
 *
 * @example
 * ```ts
 * import { hex0x } from "./printer.ts";
 * hex0x(16); // "0x10"
 * hex0x(0);  // "0"
 * ```
 */
export function hex0x(n: number | bigint): string {
  return n ? "0x" + n.toString(16) : "0";
}
