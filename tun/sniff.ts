/**
 * {@link PacketSniffer}: watch the packets crossing an interface without taking them, through
 * an AF_PACKET socket bound to it (ETH_P_ALL, both directions), the way tcpdump does on Linux.
 * The process that owns a tun keeps receiving every packet; the sniffer gets copies.
 *
 * The socket is non-blocking. Packets are drained with `recvmmsg` (64 per call, into
 * preallocated slots, MSG_TRUNC so the on-wire length is known, each with the kernel's receive
 * timestamp from SO_TIMESTAMPNS) until EAGAIN, then the process-wide poller (ffi/poller.ts) is
 * asked for one wake-up: the event loop is never blocked, an idle sniffer costs no CPU, and
 * nothing is allocated per packet.
 *
 * Link types: Ethernet-like devices (tap, veth, loopback) give whole frames (`"ethernet"`); a tun
 * (ARPHRD_NONE) gives raw IP (`"raw"`); any other device type is read "cooked" (SOCK_DGRAM: the
 * network-layer packet, non-IP dropped) as raw IP.
 *
 * @module
 */
import { raw, errno, sys, ERRNO, SOCK, SysError, addrValue } from "../ffi/libc.ts";
import { encodeBpf, type BpfInsn } from "../packet/bpf.ts";
import {
  PACKET, packSockaddrLl, unpackSockaddrLl, SOCKADDR_LL_SIZE, TPACKET_STATS_SIZE,
} from "../ffi/abi.ts";
import { watch, type Watch } from "../ffi/poller.ts";
import { MultiRecv } from "../ffi/mmsg.ts";
import { UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import type { LinkType } from "../packet/types.ts";
import { CaptureClock } from "./clock.ts";


/** ARPHRD_* values the sniffer cares about (linux/if_arp.h). */
export const ARPHRD = { ETHER: 1, LOOPBACK: 772, NONE: 65534 } as const;

/** Direction of a captured packet: into the host ("in"), out of it ("out"), or unknown. */
export type { Direction } from "../packet/printer.ts";
import type { Direction } from "../packet/printer.ts";

/**
 * Called once per packet. `buf[0..caplen)` holds the captured bytes (reused after the call:
 * copy what you keep); `wireLen` is the packet's full length (>= caplen when cut by the snaplen);
 * `sec` + `nsec` its timestamp (sniffing: when the kernel received it).
 */
export type PacketHandler = (buf: Uint8Array, caplen: number, wireLen: number, dir: Direction, sec: number, nsec: number) => void;

/** Options of {@link PacketSniffer.open}. */
export interface SniffOptions {
  /** Bytes kept per packet (1..262144). Default 262144. */
  snaplen?: number;
  /** Socket receive buffer in bytes (the kernel's queue while we are busy). Default 8 MiB. */
  bufferBytes?: number;
  /** Packets per recvmmsg call. Default 64. */
  batch?: number;
}

/** Options of {@link PacketSniffer.listen}. */
export interface SniffListenOptions {
  /** Stops the loop when aborted. */
  signal?: AbortSignal;
  /** Packets handled before yielding to the event loop. Default 256. */
  yieldEvery?: number;
  /**
   * After the socket ran dry, wait this many milliseconds once it is readable again before
   * draining, so packets are taken in bigger batches with fewer wake-ups (what TPACKET_V3's
   * block timeout does for tcpdump). For writing files; leave 0 for interactive output.
   */
  coalesceMs?: number;
}

/** Kernel counters of a sniffer since it was opened (PACKET_STATISTICS, accumulated). */
export interface SniffStats {
  /** Packets the socket's filter accepted (captured + dropped). */
  received: number;
  /** Packets the kernel dropped because the socket's buffer was full. */
  dropped: number;
}

/** How {@link PacketSniffer.listen} ended. */
export type SniffEnd = "stopped" | "closed" | "down";

/** SO_ATTACH_FILTER (asm-generic/socket.h). */
const SO_ATTACH_FILTER = 26;

/** SO_TIMESTAMPNS (= SCM_TIMESTAMPNS): a struct timespec control message with each packet. */
const SO_TIMESTAMPNS = 35;
/** Control buffer per slot: cmsghdr (16) + struct timespec (16), with room to spare. */
const CTRL_STRIDE = 64;

/** Reads datagram i's SCM_TIMESTAMPNS into `out`; false when it carried none. */
function readTimestamp(mm: MultiRecv, i: number, out: { sec: number; nsec: number }): boolean {
  const cv = mm.control!;
  const c = mm.controlOffset(i);
  // struct cmsghdr { size_t len; int level; int type; } then struct timespec { i64 sec; i64 nsec; }
  if (mm.controlLength(i) < 32 || cv.getUint32(c, true) < 32 || cv.getInt32(c + 8, true) !== SOCK.SOL_SOCKET || cv.getInt32(c + 12, true) !== SO_TIMESTAMPNS) return false;
  out.sec = cv.getUint32(c + 16, true) + cv.getUint32(c + 20, true) * 4294967296;
  out.nsec = cv.getUint32(c + 24, true);
  return true;
}

/** Largest slot: a 64 KiB packet plus link headers. Longer packets are cut (wireLen says so). */
const MAX_SLOT = 65536 + 256;
const DEFAULT_BUFFER = 8 << 20;

const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * An AF_PACKET capture socket bound to one interface.
 *
 * @example
 * ```ts
 * import { PacketSniffer } from "./sniff.ts";
 * const s = PacketSniffer.open("tun0");
 * const ac = new AbortController();
 * setTimeout(() => ac.abort(), 1000);
 * await s.listen((buf, caplen, wireLen, dir) => console.log(dir, caplen), { signal: ac.signal });
 * console.log(s.stats()); // for example { received: 12, dropped: 0 }
 * s.close();
 * ```
 */
export class PacketSniffer {
  /** The socket (non-blocking). -1 once closed. */
  fd: number;
  /** Interface name. */
  readonly name: string;
  /** Interface index. */
  readonly ifindex: number;
  /** ARPHRD_* type of the interface. */
  readonly hatype: number;
  /** What the captured bytes start with: an Ethernet header, or the IP header. */
  readonly linkType: LinkType;
  /** True when read cooked (SOCK_DGRAM): only IPv4/IPv6 packets are delivered. */
  readonly cooked: boolean;
  /** Bytes kept per packet. */
  readonly snaplen: number;
  private readonly mm: MultiRecv;
  private readonly ts = { sec: 0, nsec: 0 };
  private readonly statsBuf = new Uint8Array(TPACKET_STATS_SIZE);
  private acc: SniffStats = { received: 0, dropped: 0 };
  private watcher: Watch | undefined;
  private wake: (() => void) | undefined;
  private readonly clock = new CaptureClock();

  private constructor(fd: number, name: string, ifindex: number, hatype: number, cooked: boolean, snaplen: number, batch: number) {
    this.fd = fd;
    this.name = name;
    this.ifindex = ifindex;
    this.hatype = hatype;
    this.cooked = cooked;
    this.linkType = !cooked && (hatype === ARPHRD.ETHER || hatype === ARPHRD.LOOPBACK) ? "ethernet" : "raw";
    this.snaplen = snaplen;
    this.mm = new MultiRecv(batch, Math.min(snaplen, MAX_SLOT), SOCKADDR_LL_SIZE, CTRL_STRIDE);
  }

  /**
   * Opens a capture socket on interface `name` (needs CAP_NET_RAW). Throws SysError ENODEV when
   * there is no such interface, EPERM without the capability.
   */
  static open(name: string, opts: SniffOptions = {}): PacketSniffer {
    checkIfName(name);
    const snaplen = opts.snaplen ?? 262144;
    if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > 262144) throw new UsageError(`Invalid snaplen "${snaplen}": expected 1..262144`);
    const batch = opts.batch ?? 64;
    if (!Number.isInteger(batch) || batch < 1 || batch > 1024) throw new UsageError(`Invalid batch "${batch}": expected 1..1024`);
    const bufferBytes = opts.bufferBytes ?? DEFAULT_BUFFER;
    if (!Number.isInteger(bufferBytes) || bufferBytes < 4096 || bufferBytes > 1 << 30) {
      throw new UsageError(`Invalid buffer size "${bufferBytes}": expected 4096..1073741824 bytes`);
    }
    const ifindex = sys.ifNameToIndex(name);
    if (ifindex === 0) throw new SysError("if_nametoindex", ERRNO.ENODEV, name, `there is no interface "${name}" in this network namespace`);
    let fd = openBound(SOCK.SOCK_RAW, ifindex, name);
    let hatype: number;
    try {
      const sa = new Uint8Array(SOCKADDR_LL_SIZE);
      sys.getsockname(fd, sa);
      hatype = unpackSockaddrLl(sa).hatype;
    } catch (e) {
      raw.close(fd);
      throw e;
    }
    let cooked = false;
    if (hatype !== ARPHRD.ETHER && hatype !== ARPHRD.LOOPBACK && hatype !== ARPHRD.NONE) {
      raw.close(fd);
      fd = openBound(SOCK.SOCK_DGRAM, ifindex, name);
      cooked = true;
    }
    try {
      // Root may exceed rmem_max (FORCE); others get what the sysctl allows.
      try {
        sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUFFORCE, bufferBytes);
      } catch {
        sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SOCK.SO_RCVBUF, bufferBytes);
      }
      sys.setsockoptInt(fd, SOCK.SOL_SOCKET, SO_TIMESTAMPNS, 1);
      const s = new PacketSniffer(fd, name, ifindex, hatype, cooked, snaplen, batch);
      s.readKernelStats(); // start from zero: the counters ran since bind()
      s.acc = { received: 0, dropped: 0 };
      return s;
    } catch (e) {
      raw.close(fd);
      throw e;
    }
  }

  /**
   * Attaches a classic BPF program (SO_ATTACH_FILTER): the kernel then drops what it rejects
   * before copying it to us, and PACKET_STATISTICS counts only what it accepted. Replaces any
   * program attached before. Throws SysError when the kernel refuses the program.
   */
  attachFilter(prog: readonly BpfInsn[]): void {
    if (this.fd < 0) throw new UsageError("The sniffer is closed");
    if (prog.length < 1 || prog.length > 4096) throw new UsageError(`Invalid BPF program: ${prog.length} instructions, expected 1..4096`);
    // both buffers over 1000 bytes, in their own ArrayBuffers: a pointer taken from them stays valid
    const insns = encodeBpf(prog, new Uint8Array(new ArrayBuffer(Math.max(prog.length * 8, 1024))));
    const fprog = new Uint8Array(new ArrayBuffer(1024));
    const v = new DataView(fprog.buffer);
    v.setUint16(0, prog.length, true);
    v.setBigUint64(8, addrValue(insns), true);
    sys.setsockopt(this.fd, SOCK.SOL_SOCKET, SO_ATTACH_FILTER, fprog.subarray(0, 16), "setsockopt(SO_ATTACH_FILTER)");
    this.kernelFilter = true;
  }

  /** True when a kernel filter is attached ({@link attachFilter}). */
  kernelFilter = false;

  /** True once close() ran. */
  get closed(): boolean {
    return this.fd < 0;
  }

  private readKernelStats(): void {
    if (this.fd < 0) return;
    sys.getsockopt(this.fd, SOCK.SOL_PACKET, PACKET.PACKET_STATISTICS, this.statsBuf);
    const b = this.statsBuf;
    // struct tpacket_stats { unsigned tp_packets, tp_drops } (native = little-endian here); reading resets them.
    const packets = (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
    const drops = (b[4]! | (b[5]! << 8) | (b[6]! << 16) | (b[7]! << 24)) >>> 0;
    this.acc.received += packets;
    this.acc.dropped += drops;
  }

  /** Counters since open (reads and accumulates the kernel's PACKET_STATISTICS). */
  stats(): SniffStats {
    this.readKernelStats();
    return { ...this.acc };
  }

  /**
   * Calls `onPacket` for every packet until `signal` aborts, close() runs, or the interface goes
   * down or away (resolves "stopped", "closed", "down"). Never blocks the event loop; yields every
   * `yieldEvery` packets under load.
   */
  async listen(onPacket: PacketHandler, opts: SniffListenOptions = {}): Promise<SniffEnd> {
    return await this.drain(onPacket, opts);
  }

  private async drain(onPacket: PacketHandler, opts: SniffListenOptions): Promise<SniffEnd> {
    const { signal } = opts;
    const yieldEvery = opts.yieldEvery ?? 256;
    if (!Number.isInteger(yieldEvery) || yieldEvery < 1) throw new UsageError(`Invalid yieldEvery "${yieldEvery}": expected a positive integer`);
    const mm = this.mm;
    const ts = this.ts;
    const snap = Math.min(this.snaplen, mm.slotSize);
    const flags = SOCK.MSG_TRUNC | SOCK.MSG_DONTWAIT;
    const cooked = this.cooked;
    const coalesce = opts.coalesceMs ?? 0;
    const clock = this.clock;
    if (!(coalesce >= 0 && coalesce <= 1000)) throw new UsageError(`Invalid coalesceMs "${coalesce}": expected 0..1000`);
    while (!signal?.aborted) {
      if (this.fd < 0) return "closed";
      let handled = 0;
      let empty = false;
      while (handled < yieldEvery) {
        let n: number;
        try {
          n = mm.recv(this.fd, flags);
        } catch (e) {
          if (e instanceof SysError && (e.errno === ERRNO.ENETDOWN || e.errno === ERRNO.ENXIO || e.errno === ERRNO.ENODEV)) return "down";
          throw e;
        }
        if (n < 0) {
          empty = true;
          break;
        }
        for (let i = 0; i < n; i++) {
          const name = mm.name(i);
          if (cooked) {
            const proto = (name[2]! << 8) | name[3]!;
            if (proto !== PACKET.ETH_P_IP && proto !== PACKET.ETH_P_IPV6) continue;
          }
          const wire = mm.length(i);
          if (!readTimestamp(mm, i, ts)) {
            clock.now();
            ts.sec = clock.sec;
            ts.nsec = clock.nsec;
          }
          onPacket(mm.slot(i), wire < snap ? wire : snap, wire, name[10] === PACKET.OUTGOING ? "out" : "in", ts.sec, ts.nsec);
          if (signal?.aborted || this.fd < 0) break; // the rest of this batch is not delivered
        }
        handled += n;
        if (this.fd < 0) return "closed";
        if (signal?.aborted) return "stopped";
      }
      if (!empty) await immediate();
      else {
        const how = await this.waitReadable(signal);
        if (how !== "ready") return how;
        if (coalesce > 0) await new Promise((r) => setTimeout(r, coalesce));
      }
    }
    return "stopped";
  }

  private waitReadable(signal?: AbortSignal): Promise<"ready" | "stopped" | "closed"> {
    if (this.fd < 0) return Promise.resolve("closed");
    if (signal?.aborted) return Promise.resolve("stopped");
    return new Promise((resolve) => {
      const onAbort = () => done("stopped");
      const done = (how: "ready" | "stopped" | "closed") => {
        this.wake = undefined;
        signal?.removeEventListener("abort", onAbort);
        resolve(how);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.wake = () => done(this.fd < 0 ? "closed" : "ready");
      this.watcher ??= watch(this.fd, () => this.wake?.());
      this.watcher.arm();
    });
  }

  /** Closes the socket; a pending listen() resolves "closed". Idempotent. */
  close(): void {
    if (this.fd < 0) return;
    try {
      this.readKernelStats();
    } catch {
      /* the counters are best effort at close */
    }
    this.watcher?.close();
    this.watcher = undefined;
    const fd = this.fd;
    this.fd = -1;
    raw.close(fd);
    this.wake?.();
  }
}

/** socket(AF_PACKET, type, 0) bound to `ifindex` for every protocol; protocol 0 until bound, so no stray packets. */
function openBound(type: number, ifindex: number, name: string): number {
  const fd = raw.socket(SOCK.AF_PACKET, type | SOCK.SOCK_NONBLOCK | SOCK.SOCK_CLOEXEC, 0);
  if (fd < 0) {
    const e = errno();
    throw new SysError(
      "socket(AF_PACKET)",
      e,
      name,
      e === ERRNO.EPERM ? "capturing needs CAP_NET_RAW: run as root, setcap cap_net_raw,cap_net_admin+ep, or inside a user namespace (unshare -rn)" : undefined,
    );
  }
  const r = raw.bind(fd, packSockaddrLl(PACKET.ETH_P_ALL, ifindex), SOCKADDR_LL_SIZE);
  if (r < 0) {
    const e = errno();
    raw.close(fd);
    throw new SysError("bind(AF_PACKET)", e, name);
  }
  return fd;
}
