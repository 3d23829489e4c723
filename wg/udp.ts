/**
 * WireGuard's outer UDP sockets: one IPv4 and (when the namespace has IPv6) one IPv6 socket on
 * the same port, as wireguard-go binds them. Datagrams move in batches: `recvmmsg` into
 * preallocated slots (with UDP_GRO, one slot may hold a train of equal-sized datagrams, cut
 * apart by {@link groSegmentSize}) and `sendmmsg` out of one arena ({@link SendBatch} over
 * ffi/mmsg.ts's MultiSend, with UDP_SEGMENT a message may be a train the kernel cuts), so a
 * 64 KiB burst costs one message and nothing is allocated per packet.
 *
 * @module
 */
import { raw, sys, SOCK, SysError } from "../ffi/libc.ts";
import { GSO_BYTES, GSO_SEGMENTS, MultiRecv, MultiSend } from "../ffi/mmsg.ts";
import type { Endpoint } from "./endpoint.ts";

const IPPROTO_IPV6 = 41;
const IPV6_V6ONLY = 26;
const SO_MARK = 36;

/** Packets (or GRO trains) per batch. */
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
    // No SO_REUSEADDR: a second interface (or wireguard-go) on the same port must fail with
    // EADDRINUSE, not share the port and receive half of the handshakes.
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

/** Most segments in one UDP GSO send (ffi/mmsg.ts's GSO_SEGMENTS: UDP_MAX_SEGMENTS is 64 before 6.6, 128 after). */
export const GSO_MAX_SEGMENTS: number = GSO_SEGMENTS;
/** Most bytes in one UDP GSO send (ffi/mmsg.ts's GSO_BYTES: the UDP/IP length fields are 16 bits). */
export const GSO_MAX_BYTES: number = GSO_BYTES;

/**
 * Outgoing datagrams waiting for one `sendmmsg`, laid out back to back in one arena whose
 * address never moves. The engine reserves room, builds datagrams in place (reads a tun packet
 * into it, seals it there) and adds them as messages: one datagram, or with UDP GSO a run of
 * equal-sized datagrams (the last may be shorter) that the kernel cuts apart (UDP_SEGMENT), so a
 * 64 KiB TSO burst leaves in one message. The messages are ffi/mmsg.ts's {@link MultiSend}
 * (addressed, patient: a full socket buffer waits rather than drops); this adds the arena and
 * the split by family over the IPv4 and IPv6 sockets. No allocation per packet.
 *
 * @example
 * ```ts
 * import { SendBatch, WgSockets } from "./udp.ts";
 * import { parseEndpoint } from "./endpoint.ts";
 * const s = WgSockets.bind(0);
 * const b = new SendBatch();
 * b.setSockets(s.fd4, -1);
 * const datagram = new Uint8Array(100);
 * const at = b.reserve(1500);
 * b.arena.set(datagram, at);
 * b.add(at, datagram.length, 0, parseEndpoint(`127.0.0.1:${s.port}`));
 * const dropped = b.flush(); // datagrams the kernel refused
 * s.close();
 * ```
 */
export class SendBatch {
  /** Where datagrams are built: `whole[0, arenaBytes)`. */
  readonly arena: Uint8Array;
  /** The arena and, after it, `tailBytes` of the same buffer for the caller (copies within one buffer are memmoves). */
  readonly whole: Uint8Array;
  private readonly out: MultiSend;
  private fd4 = -1;
  private fd6 = -1;
  /** First free byte of the arena. */
  pos = 0;

  /**
   * An empty batch.
   *
   * @param arenaBytes Bytes for the datagrams of one batch.
   * @param maxMessages Most messages per sendmmsg.
   * @param tailBytes Extra bytes past the arena (room for in-place sealing).
   */
  constructor(arenaBytes = 1 << 20, readonly maxMessages = 64, tailBytes = 0) {
    this.whole = new Uint8Array(new ArrayBuffer(arenaBytes + tailBytes));
    this.arena = this.whole.subarray(0, arenaBytes);
    this.out = new MultiSend(this.whole, maxMessages, { addressed: true, patient: true });
    this.out.gso = false;
  }

  /** Counters: sendmmsg calls, messages, datagrams, GSO messages, runs sent one by one, waits for room. */
  get stats(): { readonly calls: number; readonly messages: number; readonly gsoMessages: number; readonly datagrams: number; readonly gsoFallbacks: number; readonly waits: number } {
    return this.out.stats;
  }

  /** Messages added so far. */
  get count(): number {
    return this.out.count;
  }

  /** Whether multi-datagram messages may be added (UDP_SEGMENT works); cleared if the kernel refuses one with EIO. */
  get gso(): boolean {
    return this.out.gso;
  }
  set gso(on: boolean) {
    this.out.gso = on;
  }

  /** The sockets {@link flush} sends through (-1 = none for that family). */
  setSockets(fd4: number, fd6: number): void {
    this.fd4 = fd4;
    this.fd6 = fd6;
  }

  /** Whether `add` can take another message without a flush. */
  get full(): boolean {
    return this.out.full;
  }

  /**
   * Makes room for `bytes` at the end of the arena (flushing first when it is too full) and
   * returns the offset to build them at. Returns datagrams dropped by that flush in
   * {@link lastDropped}.
   */
  reserve(bytes: number): number {
    if (this.pos + bytes > this.arena.length || this.out.full) this.lastDropped += this.flush();
    if (bytes > this.arena.length) throw new RangeError(`SendBatch: ${bytes} bytes do not fit an arena of ${this.arena.length}`);
    return this.pos;
  }

  /** Datagrams dropped by flushes that {@link reserve} made; the caller reads and resets it. */
  lastDropped = 0;

  /**
   * Commits a message: `len` bytes at `start` (from {@link reserve}) to `to`, one datagram, or
   * with `segSize` > 0 datagrams of `segSize` bytes each (the last may be shorter; only when
   * {@link gso} is true). Moves the arena's free position past it.
   */
  add(start: number, len: number, segSize: number, to: Endpoint): void {
    this.out.addTo(start, len, segSize, to.sa);
    this.pos = (start + len + 7) & ~7;
  }

  /**
   * Sends everything added, each run of one family through its socket, and empties the batch.
   * A full socket buffer makes it wait (up to 10 ms per retry, blocking) rather than drop.
   * Returns datagrams dropped (no socket for the family, or the kernel refused them).
   */
  flush(): number {
    const m = this.out;
    const n = m.count;
    let dropped = 0;
    for (let i = 0; i < n; ) {
      const f = m.nameLength(i);
      let j = i + 1;
      while (j < n && m.nameLength(j) === f) j++;
      const fd = f === 16 ? this.fd4 : this.fd6;
      dropped += m.datagrams(i, j) - (fd < 0 ? 0 : m.sendRange(fd, i, j));
      i = j;
    }
    m.clear();
    this.pos = 0;
    return dropped;
  }

  /** Forgets what was added. */
  clear(): void {
    this.out.clear();
    this.pos = 0;
  }
}


/** Bytes of the control buffer of one received message: room for a UDP_GRO cmsg (CMSG_SPACE(4)). */
const GRO_CONTROL = 32;

/** Offload choices for {@link WgSockets.bind}. */
export interface UdpOffload {
  /** Send runs of datagrams as one UDP GSO message (UDP_SEGMENT) when the kernel has it. Default true. */
  gso?: boolean;
  /** Receive coalesced runs (UDP_GRO) when the kernel has it. Default true. */
  gro?: boolean;
}

/**
 * The segment size of received message i when the kernel coalesced several datagrams into it
 * (UDP_GRO), else 0.
 *
 * @example
 * ```ts
 * import { groSegmentSize, WgSockets } from "./udp.ts";
 * const s = WgSockets.bind(0);
 * const n = s.recv4.recv(s.fd4, 0x40); // -1: nothing queued
 * for (let i = 0; i < n; i++) console.log(groSegmentSize(s.recv4, i) || s.recv4.length(i));
 * s.close();
 * ```
 */
export function groSegmentSize(m: MultiRecv, i: number): number {
  const cl = m.controlLength(i);
  if (cl < 20 || !m.control) return 0;
  const c = m.control;
  const o = m.controlOffset(i);
  // One cmsghdr { size_t len; int level; int type; } then the int: the only cmsg we ask for.
  if (c.getInt32(o + 8, true) !== SOCK.SOL_UDP || c.getInt32(o + 12, true) !== SOCK.UDP_GRO) return 0;
  return c.getInt32(o + 16, true);
}

/**
 * The bound sockets of an interface.
 *
 * @example
 * ```ts
 * import { WgSockets } from "./udp.ts";
 * const s = WgSockets.bind(51820);
 * console.log(s.port, s.gso, s.gro);
 * s.close();
 * ```
 */
export class WgSockets {
  /** The IPv4 socket's receive batch. */
  readonly recv4: MultiRecv;
  /** The IPv6 socket's receive batch. */
  readonly recv6: MultiRecv;
  /** UDP_SEGMENT works on these sockets. */
  readonly gso: boolean;
  /** UDP_GRO is on. */
  readonly gro: boolean;

  private constructor(readonly fd4: number, readonly fd6: number, readonly port: number, off: UdpOffload) {
    this.gso = off.gso !== false && probeGso(fd4);
    this.gro = off.gro !== false && enableGro(fd4) && (fd6 < 0 || enableGro(fd6));
    const ctl = this.gro ? GRO_CONTROL : 0;
    this.recv4 = new MultiRecv(BATCH, SLOT_SIZE, 16, ctl);
    this.recv6 = fd6 >= 0 ? new MultiRecv(BATCH, SLOT_SIZE, 28, ctl) : this.recv4;
  }

  /**
   * Binds UDP `port` (0 = a random free one) on IPv4 and, if this namespace has IPv6, IPv6.
   * `fwmark` marks outgoing datagrams (wg's FwMark). Throws SysError (EADDRINUSE…).
   */
  static bind(port: number, fwmark = 0, offload: UdpOffload = {}): WgSockets {
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
      return new WgSockets(fd4, fd6, p, offload);
    }
  }

  /** Closes both sockets. */
  close(): void {
    raw.close(this.fd4);
    if (this.fd6 >= 0) raw.close(this.fd6);
  }
}

const optBuf = new Uint8Array(new ArrayBuffer(1024));
const optLen = new Uint8Array(new ArrayBuffer(1024));

/** UDP_SEGMENT is known to the kernel when getsockopt answers for it (Linux 4.18+). */
function probeGso(fd: number): boolean {
  new DataView(optLen.buffer).setUint32(0, 4, true);
  return raw.getsockopt(fd, SOCK.SOL_UDP, SOCK.UDP_SEGMENT, optBuf, optLen) === 0;
}

/** Turns UDP_GRO on (Linux 5.0+); false when the kernel refuses. */
function enableGro(fd: number): boolean {
  new DataView(optBuf.buffer).setInt32(0, 1, true);
  return raw.setsockopt(fd, SOCK.SOL_UDP, SOCK.UDP_GRO, optBuf, 4) === 0;
}
