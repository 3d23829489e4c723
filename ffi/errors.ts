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
  EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30, EPIPE: 32, ERANGE: 34,
  ENAMETOOLONG: 36, ENOSYS: 38, ELOOP: 40, ENOMSG: 42, EOVERFLOW: 75, EBADFD: 77, ENOTSOCK: 88,
  EDESTADDRREQ: 89, EMSGSIZE: 90, EPROTOTYPE: 91, ENOPROTOOPT: 92, EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95, EAFNOSUPPORT: 97, EADDRINUSE: 98, EADDRNOTAVAIL: 99, ENETDOWN: 100,
  ENETUNREACH: 101, ECONNABORTED: 103, ECONNRESET: 104, ENOBUFS: 105, EISCONN: 106,
  ENOTCONN: 107, ETIMEDOUT: 110, ECONNREFUSED: 111, EHOSTUNREACH: 113, EALREADY: 114,
  EINPROGRESS: 115, EDQUOT: 122, ERFKILL: 132,
} as const;

/**
 * Name of an errno number ("EPERM"), or `E<number>` when tunkit does not know it.
 *
 * @example
 * ```ts
 * import { errnoName } from "./errors.ts";
 * errnoName(1); // "EPERM"
 * errnoName(4095); // "E4095"
 * ```
 */
export function errnoName(errno: number): string {
  for (const [k, v] of Object.entries(ERRNO)) if (v === errno) return k;
  return `E${errno}`;
}

/**
 * strerror()-like text for an errno number. A switch, not a table: a 56-key object literal was
 * built at every start-up (one JavaScriptCore Structure per key) for text read only on a failure;
 * with ERRNO it made this module's load 0.8-1.3 ms of a CPU-profiled `route add` (issue 11).
 */
export function errnoText(errno: number): string {
  switch (errno) {
    case 1: return "Operation not permitted";
    case 2: return "No such file or directory";
    case 3: return "No such process";
    case 4: return "Interrupted system call";
    case 5: return "Input/output error";
    case 6: return "No such device or address";
    case 7: return "Argument list too long";
    case 9: return "Bad file descriptor";
    case 11: return "Resource temporarily unavailable";
    case 12: return "Cannot allocate memory";
    case 13: return "Permission denied";
    case 14: return "Bad address";
    case 16: return "Device or resource busy";
    case 17: return "File exists";
    case 19: return "No such device";
    case 20: return "Not a directory";
    case 21: return "Is a directory";
    case 22: return "Invalid argument";
    case 23: return "Too many open files in system";
    case 24: return "Too many open files";
    case 25: return "Inappropriate ioctl for device";
    case 28: return "No space left on device";
    case 27: return "File too large";
    case 29: return "Illegal seek";
    case 30: return "Read-only file system";
    case 32: return "Broken pipe";
    case 34: return "Numerical result out of range";
    case 36: return "File name too long";
    case 38: return "Function not implemented";
    case 40: return "Too many levels of symbolic links";
    case 42: return "No message of desired type";
    case 75: return "Value too large for defined data type";
    case 77: return "File descriptor in bad state";
    case 88: return "Socket operation on non-socket";
    case 89: return "Destination address required";
    case 90: return "Message too long";
    case 91: return "Protocol wrong type for socket";
    case 92: return "Protocol not available";
    case 93: return "Protocol not supported";
    case 95: return "Operation not supported";
    case 97: return "Address family not supported by protocol";
    case 98: return "Address already in use";
    case 99: return "Cannot assign requested address";
    case 100: return "Network is down";
    case 101: return "Network is unreachable";
    case 103: return "Software caused connection abort";
    case 104: return "Connection reset by peer";
    case 105: return "No buffer space available";
    case 106: return "Transport endpoint is already connected";
    case 107: return "Transport endpoint is not connected";
    case 110: return "Connection timed out";
    case 111: return "Connection refused";
    case 113: return "No route to host";
    case 114: return "Operation already in progress";
    case 115: return "Operation now in progress";
    case 122: return "Disk quota exceeded";
    case 132: return "Operation not possible due to RF-kill";
    default: return `Unknown error ${errno}`;
  }
}

/** What to do about EACCES on /dev/net/tun: the node's mode, owner and group. */
export const TUN_NODE_FIX =
  "chmod 0666 /dev/net/tun (the usual mode; creating devices still needs CAP_NET_ADMIN), or a udev rule such as " +
  'KERNEL=="tun", GROUP="netdev", MODE="0660" and membership in that group';

/** The hint for EACCES on /dev/net/tun when its mode and owner are not known. */
export const TUN_NODE_EACCES_HINT =
  `/dev/net/tun's mode, owner or group does not let this user open it (a file permission: CAP_NET_ADMIN or setcap does not change it): ${TUN_NODE_FIX}`;

const CAP_NET_ADMIN_HINT =
  "needs CAP_NET_ADMIN: run as root, give the binary the capability (setcap cap_net_admin+ep), or work in a network namespace of your own (unshare -rn: a user namespace alone is not enough)";

/**
 * The hint tunkit gives for a failed call, when there is something the user can do. Each hint
 * is written for one errno of one kind of call and says nothing it does not know: EACCES on a
 * file is the file's permissions, never a capability; EPERM from setns is CAP_SYS_ADMIN.
 *
 * @example
 * ```ts
 * import { defaultHint } from "./errors.ts";
 * defaultHint("setns", 1, "/run/netns/blue"); // "entering a namespace needs CAP_SYS_ADMIN over it …"
 * ```
 */
export function defaultHint(syscall: string, errno: number, subject?: string): string | undefined {
  const file = syscall === "open" && subject !== undefined;
  const tunNode = subject === "/dev/net/tun";
  switch (errno) {
    case ERRNO.EPERM:
      if (syscall === "setns") return "entering a namespace needs CAP_SYS_ADMIN over it (CAP_NET_ADMIN is not enough): run as root (sudo)";
      if (syscall === "socket(AF_PACKET)") return "packet sockets need CAP_NET_RAW: run as root, or setcap cap_net_raw+ep";
      if (file) return `the kernel refused opening ${subject} (EPERM is not a mode problem: a security module, or a file attribute such as immutable)`;
      return CAP_NET_ADMIN_HINT;
    case ERRNO.EACCES:
      if (tunNode) return TUN_NODE_EACCES_HINT;
      if (file) return `the mode, owner or group of ${subject} (or of a directory above it) does not let this user open it: ls -l ${subject}`;
      return "permission denied by a file's mode or a security module (not by a missing capability)";
    case ERRNO.ENOENT:
      if (tunNode) return "the tun driver is not loaded: modprobe tun (or create the node: mkdir -p /dev/net && mknod /dev/net/tun c 10 200)";
      if (file) return `${subject} does not exist`;
      return undefined;
    case ERRNO.ENODEV:
    case ERRNO.ENXIO:
      if (tunNode) return "the kernel has no tun support: modprobe tun";
      return undefined;
    case ERRNO.ENOTDIR:
      if (file) return `a component of ${subject} is not a directory`;
      return undefined;
    case ERRNO.EISDIR:
      if (file) return `${subject} is a directory: give a file`;
      return undefined;
    case ERRNO.ENAMETOOLONG:
      return "a file name is longer than 255 bytes, or the path longer than 4095";
    case ERRNO.ELOOP:
      if (file) return `${subject} has a loop of symbolic links`;
      return undefined;
    case ERRNO.EROFS:
      if (file) return `${subject} is on a read-only file system`;
      return undefined;
    case ERRNO.EBUSY:
      if (syscall === "ioctl(TUNSETIFF)") return "the device is attached by another process (a single-queue tun has one reader)";
      return undefined;
    case ERRNO.EMFILE:
      return "this process has too many open files: close devices you no longer use, or raise ulimit -n";
    case ERRNO.ENFILE:
      return "the system has too many open files (fs.file-max): close some, or raise fs.file-max";
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
  /** A failed system call; the message names the call, the errno and the subject. */
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
  /** The device was closed by this process or deleted under it. */
  constructor(device: string, reason: "closed" | "deleted") {
    super(`Device "${device}" closed: ${reason === "deleted" ? "the interface was deleted" : "close() was called"}`);
    this.device = device;
    this.reason = reason;
  }
}
