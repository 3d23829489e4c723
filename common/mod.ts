/**
 * Pure building blocks every area shares: errors, addresses (the one IP/MAC/prefix parser), interface names, hex, the bounds-checked Cursor. Re-exports only.
 *
 * @example
 * ```ts
 * import { parseIp, formatIp } from "./mod.ts";
 * formatIp(parseIp("2001:db8:0::1")); // "2001:db8::1"
 * ```
 * @module
 */
export { TunkitError, UsageError, TruncatedError, MalformedError, isDecodeError } from "./errors.ts";
export { checkIfName, IFNAME_MAX } from "./ifname.ts";
export { fromHex, toHex } from "./hex.ts";
export { Cursor } from "./cursor.ts";
export { formatIp, formatIpv4, formatIpv6, parseIp, parseCidr, formatMac, parseMac, type Cidr } from "./addr.ts";

// Types the API above refers to (so documentation can link them).
export type { IpFamily } from "./addr.ts";
