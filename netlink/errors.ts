/**
 * Errors of the netlink layer: {@link NetlinkError} (the kernel said no, with its own
 * extended-ACK words) and {@link DumpInterruptedError} (a dump changed under us; the partial
 * result rides along).
 *
 * @module
 */
import { TunkitError } from "../common/errors.ts";
import { errnoName, errnoText, ERRNO } from "../ffi/errors.ts";

/** Details a {@link NetlinkError} can carry besides op and errno. */
export interface NetlinkErrorInfo {
  /** The kernel's extended-ACK message (NETLINK_EXT_ACK). */
  extackMessage?: string;
  /** Offset into the request of the attribute the kernel blamed. */
  extackOffset?: number;
  /** What the operation was about: a device name, a route, an address. */
  subject?: string;
}

/** The kind of object an op is about ("add route" -> "route"). */
function objectOf(op: string): string {
  for (const k of ["rule", "route", "address", "link", "neighbour", "neigh"]) if (op.includes(k)) return k === "neigh" ? "neighbour" : k;
  return "";
}

const NOT_PERMITTED = {
  text: "operation not permitted",
  hint: "needs CAP_NET_ADMIN: run as root, give the binary the capability (setcap cap_net_admin+ep), or work inside a user namespace (unshare -rn)",
};

function friendly(errno: number, op: string, subject: string | undefined): { text: string; hint?: string } {
  const s = subject ? ` "${subject}"` : "";
  const what = objectOf(op);
  if (op === "get route") {
    // A lookup's refusal says what the lookup met, not what the caller may do.
    switch (errno) {
      case ERRNO.ENETUNREACH:
        return { text: `network unreachable${s}`, hint: "no route matches this destination in the tables the rules select: check route list table all and rule list" };
      case ERRNO.EHOSTUNREACH:
        return { text: `no route to host${s}`, hint: "an unreachable route or rule matches this destination" };
      case ERRNO.EACCES:
        return { text: `prohibited${s}`, hint: "a prohibit route or rule matches this destination" };
      case ERRNO.EINVAL:
        return { text: `invalid argument${s}`, hint: "a blackhole route or rule matches this destination, or an option (iif, oif, from) does not fit it" };
    }
  }
  switch (errno) {
    case ERRNO.EEXIST:
      switch (what) {
        case "rule":
          // There is no `rule replace`: the kernel refuses an identical rule (same selectors, action and pref).
          return { text: `already exists${s}`, hint: "an identical rule is installed: delete it first (rule del …), or change a selector or the pref" };
        case "link":
          return { text: `already exists${s}`, hint: "a device with that name exists: pick another name, or delete it first (link del NAME)" };
        case "address":
          return { text: `already exists${s}`, hint: "the address is already on the device: use addr replace to update it, or delete it first" };
        case "route":
          return { text: `already exists${s}`, hint: "use route replace (or append/prepend to add another route with the same key), or delete it first" };
        case "neighbour":
          return { text: `already exists${s}`, hint: "use neigh replace to update the entry, or delete it first" };
        default:
          return { text: `already exists${s}`, hint: "delete it first" };
      }
    case ERRNO.ENODEV:
      return { text: `no such device${s}`, hint: "check the name with: tunkit link show" };
    case ERRNO.ESRCH:
      return what === "rule"
        ? { text: `no such rule${s}` }
        : { text: `no such route${s}`, hint: "check the table, metric and type: they are part of a route's key" };
    case ERRNO.ENOENT:
      if (what === "rule") return { text: `no such rule${s}`, hint: "rule del removes the first rule that matches every given selector: compare with rule list" };
      return what === "route" ? { text: `not found${s}` } : { text: `${errnoText(errno)}${s}` };
    case ERRNO.EACCES:
      // With the capability, the kernel answers EACCES when IPv6 is off on the device (addrconf,
      // fib6_nh_init): the common case on hosts that disable IPv6.
      if (what === "address" || what === "route" || what === "neighbour") {
        return {
          text: `permission denied${s}`,
          hint: "IPv6 is disabled on that device or on the host (sysctl net.ipv6.conf.DEV.disable_ipv6=0 enables it); otherwise this process lacks CAP_NET_ADMIN in that network namespace",
        };
      }
      return NOT_PERMITTED;
    case ERRNO.EPERM:
      return NOT_PERMITTED;
    case ERRNO.EADDRNOTAVAIL:
      return { text: `address not available${s}`, hint: "the address is not assigned to that device" };
    case ERRNO.ENETUNREACH:
      return what === "route"
        ? { text: `network unreachable${s}`, hint: "the gateway is not on a connected network: add an address/route that covers it first, or use onlink" }
        : { text: `network unreachable${s}` };
    case ERRNO.EINVAL:
      return { text: `invalid argument${s}` };
    case ERRNO.EOPNOTSUPP:
      return op === "add link"
        ? { text: `not supported${s}`, hint: "this kernel lacks that link type (not built, or its module not loaded: modprobe it)" }
        : { text: `not supported${s}` };
    case ERRNO.EBUSY:
      return { text: `device or resource busy${s}` };
    default:
      return { text: `${errnoText(errno)}${s}` };
  }
}

/**
 * The kernel refused a netlink request.
 *
 * @example
 * ```ts
 * import { NetlinkError } from "./errors.ts";
 * const e = new NetlinkError("add route", 17, { subject: "203.0.113.0/24" });
 * e.code;    // "EEXIST"
 * e.message; // 'add route: already exists "203.0.113.0/24" (EEXIST)'
 * e.hint;    // "use route replace (or append/prepend to add another route with the same key), or delete it first"
 * ```
 */
export class NetlinkError extends TunkitError {
  /** What was attempted, e.g. "add route". */
  readonly op: string;
  /** Positive errno. */
  readonly errno: number;
  /** errno name, e.g. "EEXIST". */
  readonly code: string;
  /** The kernel's own extended-ACK text, if it sent one. */
  readonly extackMessage: string | undefined;
  /** Offset of the blamed attribute inside the request, if the kernel said. */
  readonly extackOffset: number | undefined;
  /** What the operation was about. */
  readonly subject: string | undefined;

  /** A netlink request the kernel refused; `info` carries the extack message and offset. */
  constructor(op: string, errno: number, info: NetlinkErrorInfo = {}) {
    const f = friendly(errno, op, info.subject);
    const code = errnoName(errno);
    const kernel = info.extackMessage ? `: ${info.extackMessage}` : "";
    super(`${op}: ${f.text} (${code})${kernel}`, f.hint);
    this.op = op;
    this.errno = errno;
    this.code = code;
    this.extackMessage = info.extackMessage;
    this.extackOffset = info.extackOffset;
    this.subject = info.subject;
  }
}

/**
 * A dump was interrupted by a concurrent change (NLM_F_DUMP_INTR): the result may be
 * inconsistent. `partial` holds what was received; retrying usually succeeds.
 *
 * @example
 * ```ts
 * import { DumpInterruptedError } from "./errors.ts";
 * const e = new DumpInterruptedError("list routes", [1, 2]);
 * e.partial.length; // 2
 * ```
 */
export class DumpInterruptedError<T = unknown> extends TunkitError {
  /** What was being dumped. */
  readonly op: string;
  /** Everything received before and after the interruption was flagged. */
  readonly partial: T[];
  /**
   * A dump the kernel flagged as interrupted, with what it returned.
   *
   * @param op The dump that was interrupted ("list routes").
   * @param partial What was received.
   */
  constructor(op: string, partial: T[]) {
    super(`${op}: dump interrupted by a concurrent change (NLM_F_DUMP_INTR); result may be inconsistent`, "retry the dump");
    this.op = op;
    this.partial = partial;
  }
}

/** The kernel broke the protocol (a reply from a port other than 0, a wrong sequence number). */
export class NetlinkProtocolError extends TunkitError {}
