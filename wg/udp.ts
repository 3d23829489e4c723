/**
 * WireGuard's outer UDP sockets: one IPv4 and (when the namespace has IPv6) one IPv6 socket on
 * the same port, as wireguard-go binds them. Datagrams move in batches: `recvmmsg` into
 * preallocated slots ({@link MultiRecv}) and `sendmmsg` out of preallocated slots
 * ({@link SendBatch}), so a batch of 64 packets costs one syscall each way and no allocation.
 *
 * @module
 */
import { raw, errno, addr, addrValue, sys, ERRNO, SOCK, SysError } from "../ffi/libc.ts";
import { MultiRecv } from "../ffi/mmsg.ts";
import { IOVEC_SIZE, MMSGHDR_SIZE, MSGHDR } from "../ffi/abi.ts";
import type { Endpoint } from "./endpoint.ts";

const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const SO_MARK = 36;
const SO_REUSEADDR = 2;
const POLLOUT = 4;

/** Packets per batch. */
export const BATCH = 64;
/** Bytes of a slot: the largest datagram plus room to decrypt or encrypt in place. */
export const SLOT_SIZE = 65536 + 128;

function sockaddr4(port: number): Uint8Array {
  const sa = new Uint8Array(16);
  sa[0] = SOCK.AF_INET;
  sa[2] = port >> 8;
  sa[3] = port & 0xff;
  return sa;
}

function sockaddr6(port: number): Uint8Array {
  const sa = new Uint8Array(28);
  sa[0] = SOCK.AF_INET6;
  sa[2] = port >> 8;
  sa[3] = port & 0xff;
  return sa;
}

function portOf(fd: number): number {
  const sa = new Uint8Array(28);
  sys.getsockname(fd, sa);
  return (sa[2]! << 8) | sa[3]!;
}

function open(family: number, port: number, fwmark: number): number {
  const fd = sys.socket(family, SOCK.SOCK_DGRAM | SOCK.SOCK_NONBLOCK, 0);
  try {
    if (family === SOCK.AF_INET6) sys.setsockoptInt(fd, IPPROTO_IPV6, IPV6_V6ONLY, 1, "setsockopt(IPV6_V6ONLY)");
    sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SO_REUSEADDR, 1);
    if (fwmark) sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SO_MARK, fwmark, "setsockopt(SO_MARK)");
    // Big buffers: a burst of 64 KiB super-packets must not overflow them. FORCE needs
    // CAP_NET_ADMIN, which a tunnel has; fall back to the capped size otherwise.
    for (const [force, plain] of [[SOCK.SO_RCVBUFFORCE, SOCK.SO_RCVBUF], [SOCK.SO_SNDBUFFORCE, SOCK.SO_SNDBUF]] as const) {
      try {
        sys.setsockoptInt(fd, SOCK.SOL_SOCKET, force, 4 << 20);
      } catch {
        try {
          sys.setsockoptInt(fd, SOCK.SOL_SOCKET, plain, 4 << 20);
        } catch {
          /* keep the default */
        }
      }
    }
    sys.bind(fd, family === SOCK.AF_INET ? sockaddr4(port) : sockaddr6(port));
    return fd;
  } catch (e) {
    raw.close(fd);
    throw e;
  }
}

/**
 * Outgoing datagrams waiting for one `sendmmsg`: slot i is filled in place (the engine reads a
 * tun packet into it and seals it there), then {@link add}ed with its length and destination.
 */
export class SendBatch {
  readonly slots: Uint8Array[];
  private readonly vec: Uint8Array;
  private readonly vecView: DataView;
  private readonly iov: Uint8Array;
  private readonly iovView: DataView;
  private readonly names: Uint8Array;
  private readonly fam = new Uint8Array(BATCH);
  /** Messages added so far. */
  count = 0;

  constructor(readonly size = BATCH) {
    const data = new Uint8Array(new ArrayBuffer(size * SLOT_SIZE));
    this.slots = Array.from({ length: size }, (_, i) => data.subarray(i * SLOT_SIZE, (i + 1) * SLOT_SIZE));
    this.vec = new Uint8Array(new ArrayBuffer(Math.max(size * MMSGHDR_SIZE, 1024)));
    this.vecView = new DataView(this.vec.buffer);
    this.iov = new Uint8Array(new ArrayBuffer(Math.max(size * IOVEC_SIZE, 1024)));
    this.iovView = new DataView(this.iov.buffer);
    this.names = new Uint8Array(new ArrayBuffer(Math.max(size * 32, 1024)));
    const base = addrValue(data);
    const iovBase = addrValue(this.iov);
    const nameBase = addrValue(this.names);
    for (let i = 0; i < size; i++) {
      this.iovView.setBigUint64(i * IOVEC_SIZE, base + BigInt(i * SLOT_SIZE), true);
      const m = i * MMSGHDR_SIZE;
      this.vecView.setBigUint64(m + MSGHDR.name, nameBase + BigInt(i * 32), true);
      this.vecView.setBigUint64(m + MSGHDR.iov, iovBase + BigInt(i * IOVEC_SIZE), true);
      this.vecView.setBigUint64(m + MSGHDR.iovlen, 1n, true);
    }
  }

  /** The next free slot (valid until {@link add}/{@link clear}). */
  get free(): Uint8Array {
    return this.slots[this.count]!;
  }

  /** Commits the next slot: `len` bytes to `to`. */
  add(len: number, to: Endpoint): void {
    const i = this.count++;
    this.iovView.setUint32(i * IOVEC_SIZE + 8, len, true);
    const sa = to.sa;
    this.names.set(sa, i * 32);
    this.vecView.setUint32(i * MMSGHDR_SIZE + MSGHDR.namelen, sa.length, true);
    this.fam[i] = sa.length === 16 ? 4 : 6;
  }

  /** Moves the last added message's slot content to a fresh slot index (for reuse). */
  get full(): boolean {
    return this.count >= this.size;
  }

  /**
   * Sends everything added, each run of one family through its socket, and empties the batch.
   * A full socket buffer makes it wait (up to 10 ms per retry, blocking) rather than drop.
   * Returns datagrams dropped (no socket for the family, or the kernel refused them).
   */
  flush(fd4: number, fd6: number): number {
    let dropped = 0;
    let i = 0;
    const n = this.count;
    while (i < n) {
      const f = this.fam[i]!;
      let j = i + 1;
      while (j < n && this.fam[j] === f) j++;
      const fd = f === 4 ? fd4 : fd6;
      if (fd < 0) {
        dropped += j - i;
        i = j;
        continue;
      }
      let tries = 0;
      while (i < j) {
        const r = raw.sendmmsgp(fd, addr(this.vec, i * MMSGHDR_SIZE), j - i, 0);
        if (r > 0) {
          i += r;
          continue;
        }
        const e = errno();
        if (e === ERRNO.EINTR) continue;
        if ((e === ERRNO.EAGAIN || e === ERRNO.ENOBUFS) && tries++ < 20) {
          waitWritable(fd, 10);
          continue;
        }
        // Unreachable destination, refused, or still full: UDP drops it; skip one and go on.
        dropped++;
        i++;
      }
    }
    this.count = 0;
    return dropped;
  }

  /** Forgets what was added. */
  clear(): void {
    this.count = 0;
  }
}

const pfd = new Uint8Array(new ArrayBuffer(1024));
const pfdView = new DataView(pfd.buffer);
function waitWritable(fd: number, ms: number): void {
  pfdView.setInt32(0, fd, true);
  pfdView.setInt16(4, POLLOUT, true);
  pfdView.setInt16(6, 0, true);
  raw.poll(pfd, 1, ms);
}

/**
 * The bound sockets of an interface.
 *
 * @example
 * ```ts
 * import { WgSockets } from "./udp.ts";
 * const s = WgSockets.bind(51820);
 * console.log(s.port);
 * s.close();
 * ```
 */
export class WgSockets {
  readonly recv4 = new MultiRecv(BATCH, SLOT_SIZE, 16);
  readonly recv6: MultiRecv;

  private constructor(readonly fd4: number, readonly fd6: number, readonly port: number) {
    this.recv6 = fd6 >= 0 ? new MultiRecv(BATCH, SLOT_SIZE, 28) : this.recv4;
  }

  /**
   * Binds UDP `port` (0 = a random free one) on IPv4 and, if this namespace has IPv6, IPv6.
   * `fwmark` marks outgoing datagrams (wg's FwMark). Throws SysError (EADDRINUSE…).
   */
  static bind(port: number, fwmark = 0): WgSockets {
    for (let attempt = 0; ; attempt++) {
      const fd4 = open(SOCK.AF_INET, port, fwmark);
      const p = portOf(fd4);
      let fd6 = -1;
      try {
        fd6 = open(SOCK.AF_INET6, p, fwmark);
      } catch (e) {
        const code = e instanceof SysError ? e.code : "";
        // The random port was free on IPv4 but not on IPv6: pick another, as wireguard-go does.
        if (code === "EADDRINUSE" && port === 0 && attempt < 100) {
          raw.close(fd4);
          continue;
        }
        if (code !== "EAFNOSUPPORT" && code !== "EADDRNOTAVAIL") {
          raw.close(fd4);
          throw e;
        }
      }
      return new WgSockets(fd4, fd6, p);
    }
  }

  /** Closes both sockets. */
  close(): void {
    raw.close(this.fd4);
    if (this.fd6 >= 0) raw.close(this.fd6);
  }
}
