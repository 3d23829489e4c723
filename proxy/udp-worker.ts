/**
 * The UDP data path's thread (a Worker; {@link UdpFastPath} in udp-fast.ts starts and feeds it).
 * It owns the tun queue the steering program (tun/steer.ts) sends UDP to, and one unconnected
 * relay socket per family, and blocks in an epoll_wait of its own on the queue, the sockets and
 * an eventfd the main thread writes after each control message: no Bun event-loop turn and no
 * signal per datagram (bench/udp-rt.ts's twelfth-session header: that loop alone was 53-58 us
 * and 7 calls per round trip, hev 64-75 us, Bun's loop by SIGIO 91-121 us).
 *
 * Per datagram read from its queue: a flow the main thread handed over ("add": its relay's
 * sockaddr, the SOCKS5 UDP header of its target, the IP/UDP header of its replies) goes to the
 * relay (the header, then the payload; one sendmmsg per read of the queue, UDP GSO for a run of
 * one flow's equal-sized datagrams, as udp.ts does); anything else (an unknown flow's first
 * datagrams, not UDP, a fragment) goes to the main thread as it is (a "pkt" message), which
 * handles it as a packet read from its own queue: admission, the association's handshake,
 * fake-ip names, logs. A relay's answer is told apart by the relay's address (one association,
 * one relay address, one flow: the default association mode) and written into the queue with
 * the flow's reply header, lengths and checksums. Counters and per-flow use counts are in
 * SharedArrayBuffers the main thread reads in its sweep ({@link FAST_COUNTERS}).
 *
 * @module
 */
import { isMainThread, receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { addr, arch, errno, raw, SOCK } from "../ffi/libc.ts";
import { ERRNO } from "../ffi/errors.ts";
import { GSO_BYTES, GSO_SEGMENTS, MultiRecv, MultiSend } from "../ffi/mmsg.ts";
import { EFD, EPOLL, epollDataOffset, epollEventSize, packEpollEvent } from "../ffi/abi.ts";
import { ARENA, BURST, finishUdpReply, socksUdpDataOffset } from "./udp-packet.ts";

/** Slots of the shared counters (Float64Array): what the worker adds to the tunnel's stats. */
export const FAST_COUNTERS = { bytesUp: 0, bytesDown: 1, dropped: 2, packetsIn: 3, packetsOut: 4, size: 5 } as const;

/** Messages from the main thread. */
export type ToWorker =
  | { t: "add"; id: number; key: Uint8Array; sa: Uint8Array; hdr: Uint8Array; reply: Uint8Array; queued: Uint8Array[] }
  | { t: "pkt"; id: number; p: Uint8Array }
  | { t: "del"; id: number }
  | { t: "stop" };

/** Messages to the main thread: a packet it handles (with the queue's vnet header), or the queue's end. */
export type FromWorker = { t: "pkt"; b: Uint8Array } | { t: "gone"; why: string };

/** What the worker is started with. */
export interface UdpWorkerData {
  kind: "tunkit-udp";
  tunFd: number;
  vnetHdr: number;
  efd: number;
  port: MessagePort;
  counters: SharedArrayBuffer;
  uses: SharedArrayBuffer;
}

/**
 * The key of a flow as the tun shows it: source address, destination address, then both ports
 * (IPv4: 12 bytes, IPv6: 36), copied out of the packet in `b`. The main thread takes it from the
 * flow's first packet (udp.ts), the worker compares a packet's bytes with it in place
 * ({@link FastFlows.findTun}).
 */
export function flowKey(b: Uint8Array, srcOff: number, dstOff: number, alen: number, l4: number): Uint8Array {
  const k = new Uint8Array(alen * 2 + 4);
  k.set(b.subarray(srcOff, srcOff + alen), 0);
  k.set(b.subarray(dstOff, dstOff + alen), alen);
  k.set(b.subarray(l4, l4 + 4), alen * 2);
  return k;
}

/**
 * FNV-1a over `len` bytes of `b` from `off`, continuing from `h` (the flow table's hash: numbers,
 * no string per datagram).
 */
function fnv(b: Uint8Array, off: number, len: number, h: number): number {
  for (let i = 0; i < len; i++) h = Math.imul(h ^ b[off + i]!, 16777619);
  return h;
}

const FNV_BASIS = 0x811c9dc5 | 0;

/** The hash of a tun packet's flow key (the bytes {@link flowKey} strings together). */
function tunHash(b: Uint8Array, srcOff: number, dstOff: number, alen: number, l4: number): number {
  return fnv(b, l4, 4, fnv(b, dstOff, alen, fnv(b, srcOff, alen, FNV_BASIS)));
}

/** True when the tun packet's key bytes are flow key `k` ({@link flowKey}). */
function tunKeyIs(k: Uint8Array, b: Uint8Array, srcOff: number, dstOff: number, alen: number, l4: number): boolean {
  if (k.length !== alen * 2 + 4) return false;
  for (let i = 0; i < alen; i++) if (k[i] !== b[srcOff + i] || k[alen + i] !== b[dstOff + i]) return false;
  const q = alen * 2;
  return k[q] === b[l4] && k[q + 1] === b[l4 + 1] && k[q + 2] === b[l4 + 2] && k[q + 3] === b[l4 + 3];
}

/** The length of a sockaddr's address (sockaddr_in6: 16 bytes at 8; sockaddr_in: 4 at 4). */
function saAddr(sa: Uint8Array): number {
  return sa[0] === 10 || (sa[0] === 0 && sa[1] === 10) ? 16 : 4;
}

/** The hash of a sockaddr's port and address. */
function relayHash(sa: Uint8Array): number {
  const alen = saAddr(sa);
  return fnv(sa, alen === 16 ? 8 : 4, alen, fnv(sa, 2, 2, FNV_BASIS));
}

/** True when sockaddrs `a` and `b` have the same family, port and address. */
function sameRelay(a: Uint8Array, b: Uint8Array): boolean {
  const alen = saAddr(a);
  if (saAddr(b) !== alen || a[2] !== b[2] || a[3] !== b[3]) return false;
  const off = alen === 16 ? 8 : 4;
  for (let i = 0; i < alen; i++) if (a[off + i] !== b[off + i]) return false;
  return true;
}

/** A flow the worker relays. */
export interface FastFlow {
  id: number;
  /** The tun key ({@link flowKey}) and its hash. */
  kb: Uint8Array;
  kh: number;
  /** The relay key's hash ({@link relayHash} of `sa`). */
  rh: number;
  /** The next flow in the same bucket of the tun-key table / the relay table. */
  next: FastFlow | undefined;
  rnext: FastFlow | undefined;
  sa: Uint8Array;
  v6: boolean;
  hdr: Uint8Array;
  reply: Uint8Array;
}

/**
 * The worker's flows, found by a tun packet's key bytes and by a relay's sockaddr: two tables
 * keyed by a hash (a number; `mask` narrows it, for tests), a bucket's flows chained and their
 * bytes compared, so no string or object per datagram (with the reply built in place and a lone
 * datagram sent by sendto: the worker's CPU per round trip 66 -> 56 us, bench/udp-rt.ts's header).
 * The last flow found each way is checked first: one flow, no lookup.
 */
export class FastFlows {
  private readonly byTun = new Map<number, FastFlow>();
  private readonly byRelay = new Map<number, FastFlow>();
  private readonly byId = new Map<number, FastFlow>();
  private lastTun: FastFlow | undefined;
  private lastRelay: FastFlow | undefined;

  constructor(private readonly mask = -1) {}

  /** Flows held. */
  get size(): number {
    return this.byId.size;
  }

  /** Adds flow `id` (replacing one of that id): tun key `kb` ({@link flowKey}), relay `sa`, SOCKS5 header `hdr`, reply header `reply`. */
  add(id: number, kb: Uint8Array, sa: Uint8Array, hdr: Uint8Array, reply: Uint8Array): FastFlow {
    this.del(id);
    const alen = (kb.length - 4) / 2;
    const kh = tunHash(kb, 0, alen, alen, alen * 2) & this.mask;
    const rh = relayHash(sa) & this.mask;
    const f: FastFlow = { id, kb, kh, rh, next: this.byTun.get(kh), rnext: this.byRelay.get(rh), sa, v6: sa.length === 28, hdr, reply };
    this.byTun.set(kh, f);
    this.byRelay.set(rh, f);
    this.byId.set(id, f);
    return f;
  }

  /** Flow `id`, if held. */
  get(id: number): FastFlow | undefined {
    return this.byId.get(id);
  }

  /** The flow of a tun packet in `b` (its addresses at `srcOff`, `dstOff`, `alen` bytes each, its ports at `l4`). */
  findTun(b: Uint8Array, srcOff: number, dstOff: number, alen: number, l4: number): FastFlow | undefined {
    const last = this.lastTun;
    if (last && tunKeyIs(last.kb, b, srcOff, dstOff, alen, l4)) return last;
    for (let f = this.byTun.get(tunHash(b, srcOff, dstOff, alen, l4) & this.mask); f; f = f.next) {
      if (tunKeyIs(f.kb, b, srcOff, dstOff, alen, l4)) return (this.lastTun = f);
    }
    return undefined;
  }

  /** The flow whose relay is sockaddr `sa` (as recvmmsg wrote it). */
  findRelay(sa: Uint8Array): FastFlow | undefined {
    const last = this.lastRelay;
    if (last && sameRelay(last.sa, sa)) return last;
    for (let f = this.byRelay.get(relayHash(sa) & this.mask); f; f = f.rnext) if (sameRelay(f.sa, sa)) return (this.lastRelay = f);
    return undefined;
  }

  /** Forgets flow `id`. */
  del(id: number): void {
    const f = this.byId.get(id);
    if (!f) return;
    this.byId.delete(id);
    if (this.lastTun === f) this.lastTun = undefined;
    if (this.lastRelay === f) this.lastRelay = undefined;
    const head = this.byTun.get(f.kh);
    if (head === f) {
      if (f.next) this.byTun.set(f.kh, f.next);
      else this.byTun.delete(f.kh);
    } else for (let g = head; g; g = g.next) if (g.next === f) g.next = f.next;
    const rhead = this.byRelay.get(f.rh);
    if (rhead === f) {
      if (f.rnext) this.byRelay.set(f.rh, f.rnext);
      else this.byRelay.delete(f.rh);
    } else for (let g = rhead; g; g = g.rnext) if (g.rnext === f) g.rnext = f.rnext;
  }
}

const MSG_DONTWAIT = 0x40;
const O_NONBLOCK = 0o4000;
const TOKEN_TUN = 1;
const TOKEN_CTL = 2;
const TOKEN_SOCK4 = 3;
const TOKEN_SOCK6 = 4;

/** The worker's loop: returns on "stop". */
function run(d: UdpWorkerData): void {
  const port = d.port;
  const h = d.vnetHdr;
  const tunFd = d.tunFd;
  const counters = new Float64Array(d.counters);
  const uses = new Uint32Array(d.uses);
  const flows = new FastFlows();
  const epfd = raw.epoll_create1(EPOLL.CLOEXEC);
  const ev = new Uint8Array(new ArrayBuffer(1024));
  const size = epollEventSize(arch);
  const dataOff = epollDataOffset(arch);
  raw.epoll_ctl(epfd, EPOLL.CTL_ADD, tunFd, packEpollEvent(arch, EPOLL.IN, TOKEN_TUN, ev));
  raw.epoll_ctl(epfd, EPOLL.CTL_ADD, d.efd, packEpollEvent(arch, EPOLL.IN, TOKEN_CTL, ev));
  const socks = [-1, -1];
  const sockFor = (v6: boolean): number => {
    const i = v6 ? 1 : 0;
    if (socks[i]! < 0) {
      const fd = raw.socket(v6 ? SOCK.AF_INET6 : SOCK.AF_INET, SOCK.SOCK_DGRAM | SOCK.SOCK_CLOEXEC | O_NONBLOCK, 0);
      if (fd < 0) return -1;
      raw.epoll_ctl(epfd, EPOLL.CTL_ADD, fd, packEpollEvent(arch, EPOLL.IN, v6 ? TOKEN_SOCK6 : TOKEN_SOCK4, ev));
      socks[i] = fd;
    }
    return socks[i]!;
  };
  const evs = new Uint8Array(new ArrayBuffer(1024));
  const buf = new Uint8Array(new ArrayBuffer(65536 + 128));
  const bp = addr(buf);
  const sd = new Uint8Array(new ArrayBuffer(65536 + 512));
  const out = new Uint8Array(new ArrayBuffer(65536 + 128)); // the vnet header stays zero
  const p = out.subarray(h);
  const m = new MultiRecv(8, 65536, 28);
  const eb = new Uint8Array(new ArrayBuffer(1024));

  // Datagrams to the relays: put together in the arena while the queue is read, sent with one
  // sendmmsg per socket when the read finds it empty (or every BURST), a run of one flow's
  // equal-sized datagrams as one UDP GSO message (as udp.ts's sendRuns).
  const arena = new Uint8Array(new ArrayBuffer(ARENA));
  const ms = new MultiSend(arena, GSO_SEGMENTS, { addressed: true });
  let used = 0;
  let queued = 0;
  let msFd = -1;
  let msDatagrams = 0;
  /** The run being put together: its flow, socket, start, bytes, segment size, datagrams; closed once a shorter one ended it. */
  let runFlow: FastFlow | undefined;
  let runFd = -1;
  let runAt = 0;
  let runLen = 0;
  let runSeg = 0;
  let runSegs = 0;
  let runClosed = false;
  const sendMulti = (): void => {
    if (ms.count === 0) return;
    const sent = ms.send(msFd);
    if (sent < msDatagrams) counters[FAST_COUNTERS.dropped]! += msDatagrams - sent;
    msDatagrams = 0;
  };
  const endRun = (): void => {
    if (runSegs === 0) return;
    if (ms.count === 0 && runSegs === 1 && runAt === 0 && flushing) {
      // a read of the queue that yielded one datagram: one sendto, no sendmmsg set-up
      const sa = runFlow!.sa;
      if (raw.sendto(runFd, arena, runLen, MSG_DONTWAIT, sa, sa.length) < 0) counters[FAST_COUNTERS.dropped]!++;
      runSegs = 0;
      runFlow = undefined;
      return;
    }
    if ((ms.count > 0 && msFd !== runFd) || ms.full) sendMulti();
    msFd = runFd;
    ms.addTo(runAt, runLen, runSegs > 1 ? runSeg : 0, runFlow!.sa);
    msDatagrams += runSegs;
    runSegs = 0;
    runFlow = undefined;
  };
  let flushing = false;
  const flush = (): void => {
    flushing = true;
    endRun();
    flushing = false;
    sendMulti();
    used = 0;
    queued = 0;
  };

  /** Queues IP packet `p[o, end)` of flow `f` (its UDP payload behind the flow's SOCKS5 header) for its relay. */
  const send = (f: FastFlow, p: Uint8Array, o: number, end: number): void => {
    const v6 = p[o]! >> 4 === 6;
    const l4 = o + (v6 ? 40 : (p[o]! & 15) * 4);
    const udpLen = (p[l4 + 4]! << 8) | p[l4 + 5]!;
    const stop = Math.min(end, l4 + Math.max(8, udpLen));
    const n = stop - l4 - 8;
    const hl = f.hdr.length;
    const len = hl + n;
    const fd = sockFor(f.v6);
    if (n < 0 || len > GSO_BYTES || fd < 0) {
      counters[FAST_COUNTERS.dropped]!++;
      return;
    }
    if (used + len > ARENA) flush();
    const at = used;
    arena.set(f.hdr, at);
    if (n <= 64) for (let i = 0; i < n; i++) arena[at + hl + i] = p[l4 + 8 + i]!;
    else arena.set(p.subarray(l4 + 8, stop), at + hl);
    used += len;
    if (runFlow === f && MultiSend.gso && !runClosed && runAt + runLen === at && len <= runSeg && runLen + len <= GSO_BYTES && runSegs < GSO_SEGMENTS) {
      runLen += len;
      runSegs++;
      if (len < runSeg) runClosed = true; // only the last segment may be shorter
    } else {
      endRun();
      runFlow = f;
      runFd = fd;
      runAt = at;
      runLen = len;
      runSeg = len;
      runSegs = 1;
      runClosed = false;
    }
    counters[FAST_COUNTERS.bytesUp]! += n;
    uses[f.id] = (uses[f.id]! + 1) >>> 0;
    if (++queued >= BURST) flush();
  };

  /** One packet read from the queue (`n` bytes of `buf`, the vnet header first). */
  const onTun = (n: number): void => {
    const o = h;
    if (n >= o + 20) {
      const ver = buf[o]! >> 4;
      let f: FastFlow | undefined;
      if (ver === 4 && buf[o + 9] === 17 && (((buf[o + 6]! & 0x3f) << 8) | buf[o + 7]!) === 0) {
        const l4 = o + (buf[o]! & 15) * 4;
        if (n >= l4 + 8) f = flows.findTun(buf, o + 12, o + 16, 4, l4);
      } else if (ver === 6 && buf[o + 6] === 17 && n >= o + 48) {
        f = flows.findTun(buf, o + 8, o + 24, 16, o + 40);
      }
      if (f) {
        counters[FAST_COUNTERS.packetsIn]!++;
        return send(f, buf, o, n);
      }
    }
    port.postMessage({ t: "pkt", b: buf.slice(0, n) } satisfies FromWorker);
  };

  /** A relay's answer in slot `j` of `m`: into the queue as its flow's reply. */
  const onRelay = (j: number): void => {
    const f = flows.findRelay(m.name(j));
    const len = m.length(j);
    const msg = m.slot(j);
    const off = m.truncated(j) ? -1 : socksUdpDataOffset(msg, len);
    const rl = f ? f.reply.length : 0;
    if (!f || off < 0 || rl + len - off > 65535) {
      counters[FAST_COUNTERS.dropped]!++;
      return;
    }
    const dn = len - off;
    p.set(f.reply);
    if (dn <= 64) for (let i = 0; i < dn; i++) p[rl + i] = msg[off + i]!;
    else p.set(msg.subarray(off, len), rl);
    const total = finishUdpReply(p, rl, dn);
    if (raw.write(tunFd, out, h + total) < 0) counters[FAST_COUNTERS.dropped]!++;
    else {
      counters[FAST_COUNTERS.bytesDown]! += dn;
      counters[FAST_COUNTERS.packetsOut]!++;
      uses[f.id] = (uses[f.id]! + 1) >>> 0;
    }
  };

  /** Control messages, in order; false on "stop". */
  const control = (): boolean => {
    raw.read(d.efd, eb, 8);
    for (let r; (r = receiveMessageOnPort(port)); ) {
      const c = r.message as ToWorker;
      if (c.t === "stop") return false;
      if (c.t === "del") flows.del(c.id);
      else if (c.t === "add") {
        const f = flows.add(c.id, c.key, c.sa, c.hdr, c.reply);
        for (const p of c.queued) send(f, p, 0, p.length);
        flush();
      } else if (c.t === "pkt") {
        const f = flows.get(c.id);
        if (f) {
          send(f, c.p, 0, c.p.length);
          flush();
        } else counters[FAST_COUNTERS.dropped]!++;
      }
    }
    return true;
  };

  let tunOpen = true;
  try {
    for (;;) {
      const k = raw.epoll_wait(epfd, evs, 8, -1);
      if (k < 0) {
        if (errno() === ERRNO.EINTR) continue;
        throw new Error(`epoll_wait: errno ${errno()}`);
      }
      for (let i = 0; i < k; i++) {
        const token = evs[i * size + dataOff];
        if (token === TOKEN_TUN) {
          if (!tunOpen) continue;
          for (;;) {
            const n = raw.readp(tunFd, bp, buf.length);
            if (n >= 0) {
              onTun(n);
              continue;
            }
            const e = errno();
            if (e === ERRNO.EINTR) continue;
            flush();
            if (e === ERRNO.EAGAIN) break;
            // the device is gone (EBADFD, EIO): stop reading it; the main thread's queue sees the same
            tunOpen = false;
            raw.epoll_ctl(epfd, EPOLL.CTL_DEL, tunFd, ev);
            port.postMessage({ t: "gone", why: `read: errno ${e}` } satisfies FromWorker);
            break;
          }
        } else if (token === TOKEN_CTL) {
          if (!control()) return;
        } else {
          const fd = socks[token === TOKEN_SOCK6 ? 1 : 0]!;
          for (;;) {
            let n: number;
            try {
              n = m.recv(fd, MSG_DONTWAIT);
            } catch {
              counters[FAST_COUNTERS.dropped]!++; // an error queued on the socket (a relay's port refused): counted, as udp.ts does
              continue;
            }
            for (let j = 0; j < n; j++) onRelay(j);
            if (n < m.count) break;
          }
        }
      }
    }
  } finally {
    for (const fd of socks) if (fd >= 0) raw.close(fd);
    raw.close(epfd);
  }
}

if (!isMainThread && (workerData as UdpWorkerData | undefined)?.kind === "tunkit-udp") {
  const d = workerData as UdpWorkerData;
  try {
    run(d);
  } finally {
    d.port.close();
  }
}

/** The eventfd flags the main thread makes the control fd with. */
export const CONTROL_EFD_FLAGS = EFD.CLOEXEC | EFD.NONBLOCK;
