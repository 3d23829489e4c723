/**
 * Pure ABI facts for the architectures tunkit supports (x86_64 and aarch64, Linux):
 * ioctl request numbers computed with the kernel's `_IOC` encoding, open/fcntl/socket
 * constants, and the byte layout of the structs tunkit passes to the kernel
 * (`struct ifreq`, `struct sockaddr_nl`, `struct epoll_event`).
 *
 * Both supported architectures use the asm-generic ioctl encoding and the asm-generic
 * errno/open-flag numbers; anything else is refused with a clear message by {@link checkArch}.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";

/** Architectures whose ABI tunkit knows. */
export type Arch = "x64" | "arm64";

/**
 * Returns `arch` if tunkit knows its ABI, else throws.
 *
 * @example
 * ```ts
 * import { checkArch } from "./abi.ts";
 * checkArch("x64"); // "x64"
 * ```
 */
export function checkArch(arch: string): Arch {
  if (arch === "x64" || arch === "arm64") return arch;
  throw new UsageError(
    `Unsupported architecture "${arch}": tunkit knows the Linux ABI of x86_64 and aarch64 only`,
  );
}

// asm-generic/ioctl.h: nr 8 bits, type 8 bits, size 14 bits, dir 2 bits.
const IOC_NONE = 0;
const IOC_WRITE = 1;
const IOC_READ = 2;

/**
 * The kernel's `_IOC(dir, type, nr, size)`, as an unsigned 32-bit number.
 *
 * @example
 * ```ts
 * import { ioc } from "./abi.ts";
 * // TUNSETIFF:
 * ioc(1, "T".charCodeAt(0), 202, 4).toString(16); // "400454ca"
 * ```
 */
export function ioc(dir: number, type: number, nr: number, size: number): number {
  if (size >= 1 << 14) throw new RangeError(`ioctl size ${size} does not fit in 14 bits`);
  return ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
}
/** `_IO(type, nr)` */
export const io = (type: number, nr: number): number => ioc(IOC_NONE, type, nr, 0);
/** `_IOW(type, nr, size)` */
export const iow = (type: number, nr: number, size: number): number => ioc(IOC_WRITE, type, nr, size);
/** `_IOR(type, nr, size)` */
export const ior = (type: number, nr: number, size: number): number => ioc(IOC_READ, type, nr, size);

/**
 * ioctl requests of /dev/net/tun (include/uapi/linux/if_tun.h), as numbers: `_IOW('T', nr, int)`
 * and `_IOR` worked out once ({@link ioc}; tests/unit/abi.test.ts checks each against it). Calling
 * ioc() 18 times at load was 0.2-0.3 ms of every command's start-up in a CPU profile (issue 11).
 */
export const TUN_IOCTL = {
  TUNSETNOCSUM: 0x400454c8, // _IOW('T', 200, int)
  TUNSETDEBUG: 0x400454c9, // _IOW('T', 201, int)
  TUNSETIFF: 0x400454ca, // _IOW('T', 202, int)
  TUNSETPERSIST: 0x400454cb, // _IOW('T', 203, int)
  TUNSETOWNER: 0x400454cc, // _IOW('T', 204, int)
  TUNSETLINK: 0x400454cd, // _IOW('T', 205, int)
  TUNSETGROUP: 0x400454ce, // _IOW('T', 206, int)
  TUNGETFEATURES: 0x800454cf, // _IOR('T', 207, int)
  TUNSETOFFLOAD: 0x400454d0, // _IOW('T', 208, int)
  TUNSETTXFILTER: 0x400454d1, // _IOW('T', 209, int)
  TUNGETIFF: 0x800454d2, // _IOR('T', 210, int)
  TUNGETSNDBUF: 0x800454d3, // _IOR('T', 211, int)
  TUNSETSNDBUF: 0x400454d4, // _IOW('T', 212, int)
  TUNGETVNETHDRSZ: 0x800454d7, // _IOR('T', 215, int)
  TUNSETVNETHDRSZ: 0x400454d8, // _IOW('T', 216, int)
  TUNSETQUEUE: 0x400454d9, // _IOW('T', 217, int)
  TUNSETIFINDEX: 0x400454da, // _IOW('T', 218, int)
  /** Attaches (an eBPF program fd) or detaches (-1) the queue-steering program: tun/steer.ts. */
  TUNSETSTEERINGEBPF: 0x800454e0, // _IOR('T', 224, int)
} as const;

/** `ifr_flags` bits of TUNSETIFF / TUNGETIFF / TUNGETFEATURES. */
export const IFF = {
  TUN: 0x0001,
  TAP: 0x0002,
  NAPI: 0x0010,
  NAPI_FRAGS: 0x0020,
  NO_CARRIER: 0x0040,
  NO_PI: 0x1000,
  ONE_QUEUE: 0x2000,
  VNET_HDR: 0x4000,
  TUN_EXCL: 0x8000,
  MULTI_QUEUE: 0x0100,
  ATTACH_QUEUE: 0x0200,
  DETACH_QUEUE: 0x0400,
  PERSIST: 0x0800,
  NOFILTER: 0x1000,
} as const;

/** TUNSETOFFLOAD bits. */
export const TUN_F = {
  CSUM: 0x01,
  TSO4: 0x02,
  TSO6: 0x04,
  TSO_ECN: 0x08,
  UFO: 0x10,
  USO4: 0x20,
  USO6: 0x40,
} as const;

/**
 * Names of the TUNGETFEATURES bits, for display.
 *
 * @example
 * ```ts
 * import { featureNames, IFF } from "./abi.ts";
 * featureNames(IFF.TUN | IFF.NO_PI | IFF.MULTI_QUEUE); // ["tun", "no_pi", "multi_queue"]
 * ```
 */
export function featureNames(flags: number): string[] {
  const names: Array<[number, string]> = [
    [IFF.TUN, "tun"],
    [IFF.TAP, "tap"],
    [IFF.NAPI, "napi"],
    [IFF.NAPI_FRAGS, "napi_frags"],
    [IFF.NO_CARRIER, "no_carrier"],
    [IFF.NO_PI, "no_pi"],
    [IFF.ONE_QUEUE, "one_queue"],
    [IFF.VNET_HDR, "vnet_hdr"],
    [IFF.TUN_EXCL, "tun_excl"],
    [IFF.MULTI_QUEUE, "multi_queue"],
    [IFF.ATTACH_QUEUE, "attach_queue"],
    [IFF.DETACH_QUEUE, "detach_queue"],
    [IFF.PERSIST, "persist"],
  ];
  return names.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n);
}

/** open(2)/fcntl(2) flags (asm-generic values, shared by x86_64 and aarch64). */
export const O = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  NONBLOCK: 0o4000,
  CLOEXEC: 0o2000000,
} as const;

/** fcntl(2) commands. */
export const F = { GETFD: 1, SETFD: 2, GETFL: 3, SETFL: 4, FD_CLOEXEC: 1 } as const;

/** Socket constants. */
export const SOCK = {
  AF_UNIX: 1,
  AF_INET: 2,
  AF_INET6: 10,
  AF_NETLINK: 16,
  AF_PACKET: 17,
  SOCK_STREAM: 1,
  SOCK_DGRAM: 2,
  SOCK_RAW: 3,
  SOCK_NONBLOCK: 0o4000,
  SOCK_CLOEXEC: 0o2000000,
  SOL_SOCKET: 1,
  SO_SNDBUF: 7,
  SO_RCVBUF: 8,
  SO_SNDBUFFORCE: 32,
  SO_RCVBUFFORCE: 33,
  /** SOL_SOCKET: the socket's type (SOCK_STREAM, SOCK_DGRAM…). */
  SO_TYPE: 3,
  /** The UDP level (IPPROTO_UDP) and its options: GSO segment size, GRO on receive. */
  SOL_UDP: 17,
  UDP_SEGMENT: 103,
  UDP_GRO: 104,
  SOL_PACKET: 263,
  SOL_NETLINK: 270,
  MSG_PEEK: 2,
  MSG_TRUNC: 0x20,
  MSG_DONTWAIT: 0x40,
} as const;

/** epoll constants. */
export const EPOLL = {
  CLOEXEC: 0o2000000,
  CTL_ADD: 1,
  CTL_DEL: 2,
  CTL_MOD: 3,
  IN: 0x001,
  OUT: 0x004,
  ERR: 0x008,
  HUP: 0x010,
  RDHUP: 0x2000,
  ONESHOT: 1 << 30,
  ET: 1 << 31,
} as const;

/** poll(2) events (asm-generic/poll.h). */
export const POLL = { IN: 0x001, OUT: 0x004, ERR: 0x008, HUP: 0x010 } as const;

/** eventfd(2) flags. */
export const EFD = { CLOEXEC: 0o2000000, NONBLOCK: 0o4000 } as const;

/** clone/setns namespace type of a network namespace. */
export const CLONE_NEWNET = 0x40000000;
/** clone/setns namespace type of a user namespace. */
export const CLONE_NEWUSER = 0x10000000;

/** Size of `struct ifreq` on 64-bit Linux. */
export const IFREQ_SIZE = 40;
/** IFNAMSIZ. */
export const IFNAMSIZ = 16;

/**
 * Packs a `struct ifreq` with a name and `ifr_flags`, as TUNSETIFF and TUNSETQUEUE take it.
 *
 * @example
 * ```ts
 * import { packIfreq, IFF } from "./abi.ts";
 * const req = packIfreq("tun%d", IFF.TUN | IFF.NO_PI); // 40 bytes
 * ```
 */
export function packIfreq(name: string, flags: number, out: Uint8Array = new Uint8Array(IFREQ_SIZE)): Uint8Array {
  checkIfName(name, true);
  out.fill(0, 0, IFREQ_SIZE);
  const bytes = new TextEncoder().encode(name);
  out.set(bytes, 0);
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint16(IFNAMSIZ, flags & 0xffff, true);
  return out;
}

/**
 * Reads the name and `ifr_flags` back from a `struct ifreq` the kernel filled in.
 *
 * @example
 * ```ts
 * import { packIfreq, unpackIfreq } from "./abi.ts";
 * unpackIfreq(packIfreq("tun0", 0x1001)); // { name: "tun0", flags: 0x1001 }
 * ```
 */
export function unpackIfreq(buf: Uint8Array): { name: string; flags: number } {
  if (buf.length < IFNAMSIZ + 2) throw new RangeError(`struct ifreq needs ${IFNAMSIZ + 2} bytes, got ${buf.length}`);
  let end = buf.indexOf(0);
  if (end < 0 || end > IFNAMSIZ) end = IFNAMSIZ;
  const name = new TextDecoder().decode(buf.subarray(0, end));
  const flags = buf[IFNAMSIZ]! | (buf[IFNAMSIZ + 1]! << 8);
  return { name, flags };
}

/** Size of `struct sockaddr_nl`. */
export const SOCKADDR_NL_SIZE = 12;

/**
 * Packs a `struct sockaddr_nl` {nl_family = AF_NETLINK, nl_pid, nl_groups}.
 *
 * @example
 * ```ts
 * import { packSockaddrNl } from "./abi.ts";
 * packSockaddrNl(0, 0); // [16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]
 * ```
 */
export function packSockaddrNl(pid: number, groups: number, out: Uint8Array = new Uint8Array(SOCKADDR_NL_SIZE)): Uint8Array {
  const dv = new DataView(out.buffer, out.byteOffset, SOCKADDR_NL_SIZE);
  dv.setUint16(0, SOCK.AF_NETLINK, true);
  dv.setUint16(2, 0, true);
  dv.setUint32(4, pid >>> 0, true);
  dv.setUint32(8, groups >>> 0, true);
  return out;
}

/** Reads {family, pid, groups} from a `struct sockaddr_nl`. */
export function unpackSockaddrNl(buf: Uint8Array): { family: number; pid: number; groups: number } {
  if (buf.length < SOCKADDR_NL_SIZE) throw new RangeError(`struct sockaddr_nl needs 12 bytes, got ${buf.length}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, SOCKADDR_NL_SIZE);
  return { family: dv.getUint16(0, true), pid: dv.getUint32(4, true), groups: dv.getUint32(8, true) };
}

/**
 * Size of `struct epoll_event`: packed (12 bytes) on x86_64, naturally aligned (16) on aarch64.
 *
 * @example
 * ```ts
 * import { epollEventSize } from "./abi.ts";
 * epollEventSize("x64");   // 12
 * epollEventSize("arm64"); // 16
 * ```
 */
export function epollEventSize(arch: Arch): number {
  return arch === "x64" ? 12 : 16;
}

/** Offset of `data` inside `struct epoll_event`. */
export function epollDataOffset(arch: Arch): number {
  return arch === "x64" ? 4 : 8;
}

/** Writes one `struct epoll_event` {events, data.u32 = token} into `out` at index `i`. */
export function packEpollEvent(arch: Arch, events: number, token: number, out: Uint8Array, i = 0): Uint8Array {
  const size = epollEventSize(arch);
  const dv = new DataView(out.buffer, out.byteOffset + i * size, size);
  dv.setUint32(0, events >>> 0, true);
  const d = epollDataOffset(arch);
  dv.setUint32(d, token >>> 0, true);
  dv.setUint32(d + 4, 0, true);
  return out;
}

/** Reads {events, token} of the `i`-th `struct epoll_event` in `buf`. */
export function unpackEpollEvent(arch: Arch, buf: Uint8Array, i = 0): { events: number; token: number } {
  const size = epollEventSize(arch);
  const dv = new DataView(buf.buffer, buf.byteOffset + i * size, size);
  return { events: dv.getUint32(0, true), token: dv.getUint32(epollDataOffset(arch), true) };
}

/** Size of `struct tpacket_stats` (PACKET_STATISTICS). */
export const TPACKET_STATS_SIZE = 8;

/** Size of the `struct virtio_net_hdr` that IFF_VNET_HDR puts before each packet (default). */
export const VIRTIO_NET_HDR_SIZE = 10;

/** AF_PACKET constants (linux/if_packet.h, linux/if_ether.h). */
export const PACKET = {
  /** ETH_P_ALL: every protocol. Pass htons(ETH_P_ALL) = 0x0300 as the socket protocol. */
  ETH_P_ALL: 0x0003,
  ETH_P_IP: 0x0800,
  ETH_P_IPV6: 0x86dd,
  /** getsockopt(SOL_PACKET, PACKET_STATISTICS) -> struct tpacket_stats {packets, drops}. */
  PACKET_STATISTICS: 6,
  PACKET_ADD_MEMBERSHIP: 1,
  PACKET_MR_PROMISC: 1,
  /** sll_pkttype values. */
  HOST: 0,
  BROADCAST: 1,
  MULTICAST: 2,
  OTHERHOST: 3,
  OUTGOING: 4,
} as const;

/** Size of `struct sockaddr_ll`. */
export const SOCKADDR_LL_SIZE = 20;

/** htons for a 16-bit value. */
export function htons(v: number): number {
  return ((v & 0xff) << 8) | ((v >> 8) & 0xff);
}

/**
 * Packs a `struct sockaddr_ll` for bind(): family AF_PACKET, protocol (host order, stored
 * big-endian), interface index.
 *
 * @example
 * ```ts
 * import { packSockaddrLl, PACKET } from "./abi.ts";
 * packSockaddrLl(PACKET.ETH_P_ALL, 3); // 20 bytes: 11 00 00 03 03 00 00 00 ...
 * ```
 */
export function packSockaddrLl(protocol: number, ifindex: number, out: Uint8Array = new Uint8Array(SOCKADDR_LL_SIZE)): Uint8Array {
  out.fill(0, 0, SOCKADDR_LL_SIZE);
  const dv = new DataView(out.buffer, out.byteOffset, SOCKADDR_LL_SIZE);
  dv.setUint16(0, SOCK.AF_PACKET, true);
  dv.setUint16(2, protocol & 0xffff, false);
  dv.setInt32(4, ifindex, true);
  return out;
}

/** Reads {protocol, ifindex, hatype, pkttype} from a `struct sockaddr_ll` recvfrom() filled in. */
export function unpackSockaddrLl(buf: Uint8Array): { protocol: number; ifindex: number; hatype: number; pkttype: number } {
  if (buf.length < 12) throw new RangeError(`struct sockaddr_ll needs 12 bytes, got ${buf.length}`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  return { protocol: dv.getUint16(2, false), ifindex: dv.getInt32(4, true), hatype: dv.getUint16(8, true), pkttype: buf[10]! };
}

/** Size of `struct iovec` (LP64). */
export const IOVEC_SIZE = 16;
/** Size of `struct msghdr` (LP64). */
export const MSGHDR_SIZE = 56;
/** Size of `struct mmsghdr` (LP64): msghdr + msg_len, padded. */
export const MMSGHDR_SIZE = 64;
/** Offsets inside `struct msghdr` (LP64). */
export const MSGHDR = { name: 0, namelen: 8, iov: 16, iovlen: 24, control: 32, controllen: 40, flags: 48 } as const;
/** Offset of `msg_len` inside `struct mmsghdr`. */
export const MMSGHDR_LEN = 56;

/**
 * Fills `vec` (n * MMSGHDR_SIZE bytes) with one `struct mmsghdr` per slot: slot i receives into
 * the buffer at address `bufBase + i * bufLen` (`bufLen` bytes) with its sender address at
 * `nameBase + i * nameStride` (`nameLen` bytes; none when `nameBase` is null), one iovec each,
 * taken from `iov` (n * IOVEC_SIZE bytes at `iovAddr`). Addresses are user-space pointers (under
 * 2^47), so each slot's is worked out as a Number and written as two 32-bit halves: no BigInt
 * and no array of addresses per slot (issue 11: MultiRecv's construction at every start-up).
 *
 * @example
 * ```ts
 * import { packMmsghdrs, MMSGHDR_SIZE, IOVEC_SIZE } from "./abi.ts";
 * const vec = new Uint8Array(2 * MMSGHDR_SIZE), iov = new Uint8Array(2 * IOVEC_SIZE);
 * packMmsghdrs(vec, iov, 0x1000n, 2, 0x2000n, 4096, 0x4000n, 16, 12); // buffers 0x2000, 0x3000; names 0x4000, 0x4010
 * ```
 */
export function packMmsghdrs(
  vec: Uint8Array,
  iov: Uint8Array,
  iovAddr: bigint,
  n: number,
  bufBase: bigint,
  bufLen: number,
  nameBase: bigint | null,
  nameStride: number,
  nameLen: number,
): void {
  if (vec.length < n * MMSGHDR_SIZE || iov.length < n * IOVEC_SIZE) throw new RangeError("mmsghdr/iovec arrays too small");
  const v = new DataView(vec.buffer, vec.byteOffset, vec.byteLength);
  const io = new DataView(iov.buffer, iov.byteOffset, iov.byteLength);
  vec.fill(0, 0, n * MMSGHDR_SIZE);
  const iovA = Number(iovAddr);
  const bufA = Number(bufBase);
  const nameA = nameBase === null ? -1 : Number(nameBase);
  for (let i = 0; i < n; i++) {
    put64(io, i * IOVEC_SIZE, bufA + i * bufLen);
    put64(io, i * IOVEC_SIZE + 8, bufLen);
    const m = i * MMSGHDR_SIZE;
    if (nameA >= 0) {
      put64(v, m + MSGHDR.name, nameA + i * nameStride);
      v.setUint32(m + MSGHDR.namelen, nameLen, true);
    }
    put64(v, m + MSGHDR.iov, iovA + i * IOVEC_SIZE);
    put64(v, m + MSGHDR.iovlen, 1);
  }
}

/** A non-negative integer below 2^53 as a little-endian u64 at `off`. */
function put64(v: DataView, off: number, x: number): void {
  v.setUint32(off, x % 0x1_0000_0000, true);
  v.setUint32(off + 4, Math.floor(x / 0x1_0000_0000), true);
}

/** IP-level socket options and control messages (linux/in.h, linux/in6.h), for ICMP echo sockets. */
export const INET = {
  IPPROTO_IP: 0,
  IPPROTO_ICMP: 1,
  IPPROTO_TCP: 6,
  IPPROTO_IPV6: 41,
  IPPROTO_ICMPV6: 58,
  /** IPPROTO_IP: outgoing TTL. */
  IP_TTL: 2,
  /** IPPROTO_IP: deliver the TTL of each datagram in an IP_TTL control message. */
  IP_RECVTTL: 12,
  /** IPPROTO_IPV6: outgoing hop limit. */
  IPV6_UNICAST_HOPS: 16,
  /** IPPROTO_IPV6: deliver the hop limit of each datagram in an IPV6_HOPLIMIT control message. */
  IPV6_RECVHOPLIMIT: 51,
  IPV6_HOPLIMIT: 52,
  /** SOL_SOCKET: send and receive through this interface only. */
  SO_BINDTODEVICE: 25,
  /** SOL_SOCKET: stamp each datagram with its arrival (CLOCK_REALTIME, SCM_TIMESTAMPNS control message). */
  SO_TIMESTAMPNS: 35,
} as const;

/** `struct sockaddr_in` is 16 bytes, `struct sockaddr_in6` 28. */
export const SOCKADDR_IN_SIZE = 16;
export const SOCKADDR_IN6_SIZE = 28;

/**
 * Packs a `struct sockaddr_in` (4 address bytes) or `struct sockaddr_in6` (16 bytes, with the
 * zone's interface index as scope id). Port in host order; the kernel wants it big-endian.
 *
 * @example
 * ```ts
 * import { packSockaddrIn } from "./abi.ts";
 * packSockaddrIn(new Uint8Array([192, 0, 2, 1]), 7).length; // 16
 * packSockaddrIn(new Uint8Array(16), 0, 3).length; // 28
 * ```
 */
export function packSockaddrIn(addr: Uint8Array, port = 0, scopeId = 0): Uint8Array {
  const v6 = addr.length === 16;
  if (!v6 && addr.length !== 4) throw new RangeError(`An IP address has 4 or 16 bytes, not ${addr.length}`);
  const out = new Uint8Array(v6 ? SOCKADDR_IN6_SIZE : SOCKADDR_IN_SIZE);
  const v = new DataView(out.buffer);
  v.setUint16(0, v6 ? 10 : 2, true);
  v.setUint16(2, port, false);
  if (v6) {
    out.set(addr, 8);
    v.setUint32(24, scopeId, true);
  } else out.set(addr, 4);
  return out;
}

/**
 * The address bytes of a `struct sockaddr_in` / `sockaddr_in6` (by its family field), or
 * undefined for another family.
 *
 * @example
 * ```ts
 * import { packSockaddrIn, sockaddrInAddress } from "./abi.ts";
 * sockaddrInAddress(packSockaddrIn(new Uint8Array([192, 0, 2, 1]))); // Uint8Array [192, 0, 2, 1]
 * ```
 */
export function sockaddrInAddress(sa: Uint8Array): Uint8Array | undefined {
  const family = sa.length >= 2 ? sa[0]! | (sa[1]! << 8) : 0;
  if (family === 2 && sa.length >= 8) return sa.slice(4, 8);
  if (family === 10 && sa.length >= 24) return sa.slice(8, 24);
  return undefined;
}
