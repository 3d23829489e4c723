/**
 * Interface-name validation, done before any syscall (the kernel's own rules, from
 * `dev_valid_name()` in net/core/dev.c).
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/** IFNAMSIZ - 1: the longest name the kernel accepts, in bytes. */
export const IFNAME_MAX = 15;

/**
 * Throws {@link UsageError} unless `name` is a valid interface name: 1..15 bytes, not `.` or
 * `..`, no `/`, `:` or whitespace. With `allowTemplate`, one `%d` (as in `tun%d`) is allowed.
 *
 * @example
 * ```ts
 * import { checkIfName } from "./ifname.ts";
 * checkIfName("tun0");          // ok
 * checkIfName("tun%d", true);   // ok, the kernel picks the number
 * // checkIfName("bad/name");   // throws UsageError
 * ```
 */
export function checkIfName(name: string, allowTemplate = false): string {
  const bytes = utf8Length(name);
  if (bytes === 0) throw new UsageError("Invalid interface name: empty");
  if (bytes > IFNAME_MAX) {
    throw new UsageError(`Invalid interface name "${name}": ${bytes} bytes, at most ${IFNAME_MAX}`);
  }
  if (name === "." || name === "..") throw new UsageError(`Invalid interface name "${name}"`);
  // One pass over the UTF-16 code units, in the order the messages have always been chosen: "/",
  // ":" or whitespace first, then control characters, then "%". Character tests, not RegExps:
  // a process's first RegExp costs ~0.5 ms of a `route add`'s start-up and each new one compiles
  // (issue 11); this runs on every command that names a device, and on every batch line.
  let control = false;
  let pct = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x2f || c === 0x3a || isJsSpace(c)) {
      throw new UsageError(`Invalid interface name "${name}": no "/", ":" or whitespace allowed`);
    }
    if (c < 0x20 || c === 0x7f) control = true;
    else if (c === 0x25) pct++;
  }
  if (control) throw new UsageError(`Invalid interface name ${JSON.stringify(name)}: control characters not allowed`);
  if (pct > 0) {
    if (!allowTemplate || pct !== 1 || !name.includes("%d")) {
      throw new UsageError(
        `Invalid interface name "${name}": "%" is only allowed as one "%d" template${allowTemplate ? "" : " here"}`,
      );
    }
  }
  return name;
}

/**
 * Whether UTF-16 code unit `c` is what a RegExp's `\s` matches: the ECMAScript WhiteSpace and
 * LineTerminator characters (TAB, LF, VT, FF, CR, space, NBSP, U+1680, U+2000..U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000, U+FEFF). For the interface names here and for
 * netlink/route/names.ts's name files, both read without RegExps.
 *
 * @example
 * ```ts
 * import { isJsSpace } from "./ifname.ts";
 * isJsSpace(0x20);   // true
 * isJsSpace(0x3000); // true (ideographic space)
 * isJsSpace(0x41);   // false
 * ```
 */
export function isJsSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * The length of `s` in UTF-8 bytes, as TextEncoder encodes it (a lone surrogate becomes U+FFFD,
 * 3 bytes), counted without encoding.
 */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
