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
  const bytes = new TextEncoder().encode(name).length;
  if (bytes === 0) throw new UsageError("Invalid interface name: empty");
  if (bytes > IFNAME_MAX) {
    throw new UsageError(`Invalid interface name "${name}": ${bytes} bytes, at most ${IFNAME_MAX}`);
  }
  if (name === "." || name === "..") throw new UsageError(`Invalid interface name "${name}"`);
  if (/[/:\s]/.test(name)) {
    throw new UsageError(`Invalid interface name "${name}": no "/", ":" or whitespace allowed`);
  }
  if (/[\x00-\x1f\x7f]/.test(name)) {
    throw new UsageError(`Invalid interface name ${JSON.stringify(name)}: control characters not allowed`);
  }
  const pct = name.split("%").length - 1;
  if (pct > 0) {
    if (!allowTemplate || pct !== 1 || !name.includes("%d")) {
      throw new UsageError(
        `Invalid interface name "${name}": "%" is only allowed as one "%d" template${allowTemplate ? "" : " here"}`,
      );
    }
  }
  return name;
}
