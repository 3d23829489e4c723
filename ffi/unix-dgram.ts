/**
 * Unix datagram sockets, which neither node:dgram nor Bun offer: {@link sendUnixDatagram} (how
 * a service tells systemd it is ready: sd_notify) and {@link UnixDatagramReceiver} (the other
 * side, for a test harness that speaks the notify protocol). Paths starting with "@" are in the
 * abstract namespace, as in $NOTIFY_SOCKET.
 *
 * @module
 */
import { errno, raw, sys } from "./libc.ts";
import { SOCK } from "./abi.ts";
import { ERRNO, SysError } from "./errors.ts";
import { UsageError } from "../common/errors.ts";

/** sizeof(struct sockaddr_un). */
const SUN_SIZE = 110;

/**
 * A `struct sockaddr_un` for `path` ("@name": abstract). Throws UsageError when the path does
 * not fit its 108 bytes.
 *
 * @example
 * ```ts
 * import { sockaddrUn } from "./unix-dgram.ts";
 * sockaddrUn("/run/systemd/notify").length; // 2 + 19 + 1
 * ```
 */
export function sockaddrUn(path: string): Uint8Array {
  const abstract = path.startsWith("@");
  const name = new TextEncoder().encode(abstract ? path.slice(1) : path);
  const len = 2 + (abstract ? 1 : 0) + name.length + (abstract ? 0 : 1);
  if (name.length === 0 || len > SUN_SIZE) throw new UsageError(`Invalid unix socket path "${path}": 1..107 bytes`);
  const sa = new Uint8Array(new ArrayBuffer(Math.max(len, 1024))).subarray(0, len);
  new DataView(sa.buffer).setUint16(0, SOCK.AF_UNIX, true);
  sa.set(name, abstract ? 3 : 2);
  return sa;
}

/**
 * Sends one datagram to the unix socket at `path`. Throws {@link SysError} (ENOENT, ECONNREFUSED,
 * EACCES…).
 *
 * @example
 * ```ts
 * import { sendUnixDatagram } from "./unix-dgram.ts";
 * if (process.env.NOTIFY_SOCKET) sendUnixDatagram(process.env.NOTIFY_SOCKET, new TextEncoder().encode("READY=1"));
 * ```
 */
export function sendUnixDatagram(path: string, data: Uint8Array): void {
  const sa = sockaddrUn(path);
  const fd = sys.socket(SOCK.AF_UNIX, SOCK.SOCK_DGRAM, 0);
  try {
    const buf = new Uint8Array(new ArrayBuffer(Math.max(data.length, 1024)));
    buf.set(data);
    const n = raw.sendto(fd, buf, data.length, 0, sa, sa.length);
    if (n < 0) throw new SysError("sendto", errno(), path);
  } finally {
    sys.close(fd);
  }
}

/**
 * A bound unix datagram socket, read without blocking.
 *
 * @example
 * ```ts
 * import { UnixDatagramReceiver } from "./unix-dgram.ts";
 * const r = new UnixDatagramReceiver("/tmp/notify.sock");
 * const msg = r.receive(); // a Uint8Array, or undefined when nothing is queued
 * r.close();
 * ```
 */
export class UnixDatagramReceiver {
  private fd: number;
  readonly path: string;
  private readonly buf = new Uint8Array(new ArrayBuffer(65536));

  constructor(path: string) {
    this.path = path;
    this.fd = sys.socket(SOCK.AF_UNIX, SOCK.SOCK_DGRAM | SOCK.SOCK_NONBLOCK, 0);
    try {
      sys.bind(this.fd, sockaddrUn(path));
    } catch (e) {
      sys.close(this.fd);
      throw e;
    }
  }

  /** The next datagram, or undefined when none is queued. */
  receive(): Uint8Array | undefined {
    const n = raw.recvfrom(this.fd, this.buf, this.buf.length, 0, null, null);
    if (n >= 0) return this.buf.slice(0, n);
    const e = errno();
    if (e === ERRNO.EAGAIN || e === ERRNO.EINTR) return undefined;
    throw new SysError("recvfrom", e, this.path);
  }

  /** Closes the socket (the path stays: remove it yourself). Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    sys.close(this.fd);
    this.fd = -1;
  }
}
