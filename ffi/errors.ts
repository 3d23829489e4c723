/**
 * {@link SysError}: a failed system call, with the errno name and a hint the user can act on.
 *
 * @module
 */
import { TunkitError } from "../common/errors.ts";

/** errno numbers tunkit names (asm-generic: the same on x86_64 and aarch64). */
export const ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, EBADF: 9, EAGAIN: 11,
  ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, ENOTDIR: 20, EISDIR: 21,
  EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, ENOSPC: 28, EPIPE: 32, ERANGE: 34,
  ENAMETOOLONG: 36, ENOSYS: 38, ELOOP: 40, ENOMSG: 42, EOVERFLOW: 75, EBADFD: 77, ENOTSOCK: 88,
  EDESTADDRREQ: 89, EMSGSIZE: 90, EPROTOTYPE: 91, ENOPROTOOPT: 92, EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95, EAFNOSUPPORT: 97, EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100,
  ENETUNREACH: 101, ECONNABORTED: 103, ECONNRESET: 104, ENOBUFS: 105, EISCONN: 106,
  ENOTCONN: 107, ETIMEDOUT: 110, ECONNREFUSED: 111, EHOSTUNREACH: 113, EALREADY: 114,
  EINPROGRESS: 115, EDQUOT: 122, ERFKILL: 132,
} as const;

/** Name of an errno number ("EPERM"), or `E<number>` when tunkit does not know it. */
export function errnoName(errno: number): string {
  for (const [k, v] of Object.entries(ERRNO)) if (v === errno) return k;
  return `E${errno}`;
}

const TEXT: Record<number, string> = {
  1: "Operation not permitted", 2: "No such file or directory", 3: "No such process",
  4: "Interrupted system call", 5: "Input/output error", 6: "No such device or address",
  9: "Bad file descriptor", 11: "Resource temporarily unavailable", 12: "Cannot allocate memory",
  13: "Permission denied", 14: "Bad address", 16: "Device or resource busy", 17: "File exists",
  19: "No such device", 22: "Invalid argument", 23: "Too many open files in system",
  24: "Too many open files", 25: "Inappropriate ioctl for device", 28: "No space left on device",
  34: "Numerical result out of range", 38: "Function not implemented",
  77: "File descriptor in bad state", 90: "Message too long", 93: "Protocol not supported",
  95: "Operation not supported", 97: "Address family not supported by protocol",
  98: "Address already in use", 99: "Cannot assign requested address", 100: "Network is down",
  101: "Network is unreachable", 105: "No buffer space available", 110: "Connection timed out",
  111: "Connection refused", 113: "No route to host",
};

/** strerror()-like text for an errno number. */
export function errnoText(errno: number): string {
  return TEXT[errno] ?? `Unknown error ${errno}`;
}

/** The hint tunkit gives for a failed call, when there is something the user can do. */
export function defaultHint(syscall: string, errno: number, subject?: string): string | undefined {
  switch (errno) {
    case ERRNO.EPERM:
    case ERRNO.EACCES:
      return "needs CAP_NET_ADMIN: run as root, give the binary the capability (setcap cap_net_admin+ep), or work inside a user namespace (unshare -rn)";
    case ERRNO.ENOENT:
      if (subject === "/dev/net/tun") return "the tun driver is not loaded: modprobe tun (or create the node: mkdir -p /dev/net && mknod /dev/net/tun c 10 200)";
      return undefined;
    case ERRNO.ENODEV:
      if (subject === "/dev/net/tun") return "the kernel has no tun support: modprobe tun";
      return undefined;
    case ERRNO.EBUSY:
      return "the device is attached by another process (a single-queue tun has one reader)";
    case ERRNO.EMFILE:
    case ERRNO.ENFILE:
      return "too many open files: close devices you no longer use, or raise ulimit -n";
    default:
      return undefined;
  }
}

/**
 * A failed system call.
 *
 * @example
 * ```ts
 * import { SysError } from "./errors.ts";
 * const e = new SysError("open", 2, "/dev/net/tun");
 * e.code;    // "ENOENT"
 * e.message; // 'open /dev/net/tun: No such file or directory (ENOENT)'
 * ```
 */
export class SysError extends TunkitError {
  /** The failed call, e.g. "ioctl(TUNSETIFF)". */
  readonly syscall: string;
  /** errno number. */
  readonly errno: number;
  /** errno name, e.g. "EPERM". */
  readonly code: string;
  constructor(syscall: string, errno: number, subject?: string, hint?: string) {
    const code = errnoName(errno);
    super(
      `${syscall}${subject ? " " + subject : ""}: ${errnoText(errno)} (${code})`,
      hint ?? defaultHint(syscall, errno, subject),
    );
    this.syscall = syscall;
    this.errno = errno;
    this.code = code;
  }
}

/**
 * Reading from or writing to a device that is gone (closed by us, or deleted: the kernel
 * answers EBADFD).
 *
 * @example
 * ```ts
 * import { DeviceClosedError } from "./errors.ts";
 * new DeviceClosedError("tun0", "deleted").message; // 'Device "tun0" closed: the interface was deleted'
 * ```
 */
export class DeviceClosedError extends TunkitError {
  /** Device name. */
  readonly device: string;
  /** Why: "closed" (close() was called) or "deleted" (the interface went away). */
  readonly reason: "closed" | "deleted";
  constructor(device: string, reason: "closed" | "deleted") {
    super(`Device "${device}" closed: ${reason === "deleted" ? "the interface was deleted" : "close() was called"}`);
    this.device = device;
    this.reason = reason;
  }
}
