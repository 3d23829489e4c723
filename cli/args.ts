/**
 * Argument validation for the CLI, done before any syscall: interface names, addresses and
 * CIDRs, numbers in range, and the `key value` word tails that `ip` users type
 * (`dev tun0 via 192.0.2.1 metric 10`). Every failure is a {@link UsageError} with one line of
 * text naming the offending value.
 *
 * @module
 */
import type { Command as BaseCommand } from "commander";
import { UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import { AF } from "../netlink/route/constants.ts";
import { formatAddr, parseAddr, parsePrefix } from "../netlink/route/ip.ts";
import { parseTail, splitLine as split, type ParsedWords, type WordSpec } from "./grammar.ts";

export type { ParsedWords, WordSpec };

/** A parsed interface address or route prefix. */
export interface Cidr {
  /** AF_INET (2) or AF_INET6 (10). */
  family: number;
  /** Address text as ip prints it ("192.0.2.1", "2001:db8::1"). */
  address: string;
  prefixLen: number;
  /** True when the text had no "/N" (full-length prefix). */
  bare: boolean;
}

/**
 * Validates an interface name (1..15 bytes, no "/", ":" or whitespace).
 *
 * @example
 * ```ts
 * import { ifName } from "./args.ts";
 * ifName("tun0"); // "tun0"
 * ```
 */
export function ifName(s: string): string {
  if (s === lastName || goodNames.has(s)) return (lastName = s);
  checkIfName(s);
  if (goodNames.size >= 1024) goodNames.clear();
  goodNames.add(s);
  return (lastName = s);
}

let lastName = "";

/** Names already validated (a batch names the same few devices on every line). */
const goodNames = new Set<string>();

/**
 * Parses "ADDR/N" or a bare address (full-length prefix). `what` names the value in errors.
 *
 * @example
 * ```ts
 * import { cidr } from "./args.ts";
 * cidr("192.0.2.1/24"); // { family: 2, address: "192.0.2.1", prefixLen: 24, bare: false }
 * // cidr("192.0.2.1/33") throws 'Invalid prefix length "33" for IPv4: expected 0..32'
 * ```
 */
export function cidr(s: string, family: number = AF.UNSPEC): Cidr {
  if (s === "default" || s === "all" || s === "any") {
    throw new UsageError(`Invalid address "${s}": expected an address like 192.0.2.1/24 or 2001:db8::1/64`);
  }
  const p = parsePrefix(s, family);
  return { family: p.family, address: formatAddr(p.bytes), prefixLen: p.len, bare: !s.includes("/") };
}

/**
 * Parses a route destination: a prefix, a bare address (host route) or "default".
 *
 * @example
 * ```ts
 * import { routePrefix } from "./args.ts";
 * routePrefix("default").prefixLen; // 0
 * routePrefix("198.51.100.0/24").prefixLen; // 24
 * ```
 */
export function routePrefix(s: string, family: number = AF.UNSPEC): Cidr {
  if (s === "default" || s === "all" || s === "any") {
    const f = family === AF.INET6 ? AF.INET6 : AF.INET;
    return { family: f, address: f === AF.INET ? "0.0.0.0" : "::", prefixLen: 0, bare: false };
  }
  const c = cidr(s, family);
  // ip refuses a prefix with host bits set ("Invalid prefix for given prefix length").
  const bytes = parseAddr(c.address);
  for (let bit = c.prefixLen; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) {
      throw new UsageError(`Invalid prefix "${s}": host bits set beyond /${c.prefixLen} (did you mean ${networkOf(bytes, c.prefixLen)}/${c.prefixLen}?)`);
    }
  }
  return c;
}

function networkOf(bytes: Uint8Array, len: number): string {
  const b = bytes.slice();
  for (let bit = len; bit < b.length * 8; bit++) b[bit >> 3] = b[bit >> 3]! & ~(0x80 >> (bit & 7));
  return formatAddr(b);
}

/**
 * Parses a single IP address (no prefix).
 *
 * @example
 * ```ts
 * import { ipAddress } from "./args.ts";
 * ipAddress("2001:db8::1"); // { family: 10, address: "2001:db8::1" }
 * ```
 */
export function ipAddress(s: string, family: number = AF.UNSPEC, what = "address"): { family: number; address: string } {
  if (s.includes("/")) throw new UsageError(`Invalid ${what} "${s}": expected an address without a prefix length`);
  try {
    const b = parseAddr(s, family);
    return { family: b.length === 4 ? AF.INET : AF.INET6, address: formatAddr(b) };
  } catch (e) {
    if (e instanceof UsageError && what !== "address") throw new UsageError(e.message.replace("IP address", what));
    throw e;
  }
}

/**
 * Parses a decimal integer in `min..max`. `what` names it in the error ("MTU", "metric").
 *
 * @example
 * ```ts
 * import { intInRange } from "./args.ts";
 * intInRange("1400", "MTU", 68, 65535); // 1400
 * // intInRange("70000", "MTU", 68, 65535) throws 'Invalid MTU "70000": expected 68..65535'
 * ```
 */
export function intInRange(s: string, what: string, min: number, max: number): number {
  const n = decimal(s) ?? (/^0x[0-9a-f]{1,8}$/i.test(s) ? Number(s) : NaN);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`Invalid ${what} "${s}": expected ${min}..${max}`);
  }
  return n;
}

/** A decimal without leading zeros (up to 12 digits), or undefined: the common case without a regex. */
function decimal(s: string): number | undefined {
  const n = s.length;
  if (n === 0 || n > 12 || (n > 1 && s.charCodeAt(0) === 48)) return undefined;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    v = v * 10 + c;
  }
  return v;
}

/** MTU range the CLI accepts (the kernel checks the device's own min/max after). */
export const MTU_RANGE = [68, 65535] as const;

/** Parses an MTU. @example `mtu("1400") // 1400` */
export function mtu(s: string): number {
  return intInRange(s, "MTU", MTU_RANGE[0], MTU_RANGE[1]);
}

/** Parses a transmit queue length. @example `txqueuelen("1000") // 1000` */
export function txqueuelen(s: string): number {
  return intInRange(s, "txqueuelen", 0, 0xffffffff);
}

/**
 * Parses `key value` tails the way `ip` reads them (see {@link parseTail}, which this wraps for
 * callers holding the words in their own array).
 *
 * @example
 * ```ts
 * import { parseWords } from "./args.ts";
 * const p = parseWords(["10.0.0.0/8", "dev", "tun0", "onlink"], { dev: { value: true }, onlink: { value: false } }, "route add", 1);
 * p.positional; // ["10.0.0.0/8"]
 * p.get("dev"); // "tun0"
 * ```
 */
export function parseWords(
  words: readonly string[],
  spec: Readonly<Record<string, WordSpec>>,
  context: string,
  maxPositional = 0,
): ParsedWords {
  return parseTail(words, 0, spec, context, maxPositional);
}

export { wordValue } from "./grammar.ts";

/**
 * Splits one batch line into words (see the grammar's splitLine).
 *
 * @example
 * ```ts
 * import { splitLine } from "./args.ts";
 * splitLine('route add 10.0.0.0/8 dev tun0 # vpn'); // ["route", "add", "10.0.0.0/8", "dev", "tun0"]
 * ```
 */
export const splitLine: (line: string) => string[] = split;

/**
 * Makes `tunkit GROUP` alone run `fallback` (ip's `ip route` = `ip route show`), and
 * `tunkit GROUP WORD` with an unknown WORD a usage error naming it.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { defaultSubcommand } from "./args.ts";
 * const routeGroup = new Command("route");
 * defaultSubcommand(routeGroup, () => console.log("route list"));
 * ```
 */
export function defaultSubcommand(groupCmd: object, fallback: () => Promise<void> | void): void {
  const group = groupCmd as BaseCommand;
  group.argument("[words...]");
  group.usage("[command] [words...]");
  group.action(((words: string[]) => {
    if (words.length) {
      const names = group.commands.map((c) => c.name());
      throw new UsageError(`Unknown ${group.name()} command "${words[0]}": expected ${names.join(", ")}`);
    }
    return fallback();
  }));
}
