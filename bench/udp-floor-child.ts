/**
 * A lab daemon, not tunkit: the least a tun2socks written for Bun does for bench/udp-rt.ts's one
 * UDP flow (an echo through a SOCKS5 UDP ASSOCIATE), to measure the floor a design puts under
 * tunkit's row before anyone builds it. It takes tunkit's arguments (`socks DEV --proxy
 * socks5://IP:PORT --address A/N`), opens the tun (no vnet header), makes one association, and per
 * datagram: a query read from the tun gets the SOCKS5 header and goes to the relay; an answer gets
 * the query's IP/UDP header back with the addresses and ports swapped (checksums stay right for an
 * echo: the payload is the query's, only for this bench) and goes into the tun. No NAT table, no
 * flows, no timers: what is left is the runtime's cost per wake-up. `UDP_FLOOR`:
 *
 *   sig     (default) the tun by SIGIO (TunQueue.listen, as tunkit), the relay socket Bun.udpSocket
 *   stream  the tun read by Bun.file(fd).stream() (the fd in Bun's own epoll), the socket as sig.
 *           Lab only: Bun reads until EAGAIN into one 256 KiB buffer, each read given what room
 *           is left (strace: preadv2 262144, then 262052 after a 92-byte packet), and the tun
 *           driver cuts a packet to the room it is given (tun_chr_read_iter: min(ret, len)), so a
 *           64 KiB TSO segment near the buffer's end would be cut and the framing lost. A deleted
 *           device ends the stream with EBADFD (no spin).
 *   own     the tun as sig, the relay socket our own (recvmmsg on SIGIO through ffi/poller.ts)
 *   block   no event loop: one blocking epoll_wait on the tun and our own socket, read/sendto,
 *           recvmmsg/write, on the main thread (which then serves nothing else)
 *   worker  block's loop in a Worker, the main thread left in Bun's event loop (where the
 *           tunnel's TCP, timers and control connections would live)
 *
 * `bun bench/udp-rt.ts --floor` compiles it (scripts/build.ts's flags, normal JIT policy) into
 * bench/.build/udp-floor and runs the five beside the --bin daemons; bench/udp-rt.ts's header has
 * the numbers.
 */
import { openTun } from "../mod.ts";
import { addr, arch, raw, SOCK } from "../ffi/libc.ts";
import { MultiRecv } from "../ffi/mmsg.ts";
import { EPOLL, epollDataOffset, epollEventSize, packEpollEvent, packSockaddrIn } from "../ffi/abi.ts";
import { watchReadable } from "../ffi/poller.ts";
import { spawnSync } from "node:child_process";
import { isMainThread, workerData } from "node:worker_threads";

const O_NONBLOCK = 0o4000;
const MSG_DONTWAIT = 0x40;

/** The last query's IP/UDP header, swapped (the answer's); its length. */
const head = new Uint8Array(new ArrayBuffer(1024));
let hl = 28;
const out = new Uint8Array(new ArrayBuffer(65600));
/** The SOCKS5 datagram being sent. */
const sd = new Uint8Array(new ArrayBuffer(65600));
let tunFd = -1;

/** A relay's answer (SOCKS5 header for IPv4 + data) at `off` of `d`: into the tun. */
function answer(d: Uint8Array, off: number, len: number): void {
  out.set(head.subarray(0, hl));
  out.set(d.subarray(off + 10, off + len), hl);
  raw.write(tunFd, out, hl + len - 10);
}

/** A tun packet at `o` of `b`: an IPv4 UDP query becomes a SOCKS5 datagram in `sd`; its length, or 0. */
function query(b: Uint8Array, o: number, n: number): number {
  if (b[o]! >> 4 !== 4 || b[o + 9] !== 17) return 0;
  hl = (b[o]! & 15) * 4 + 8;
  head.set(b.subarray(o, o + hl));
  for (let i = 0; i < 4; i++) [head[12 + i], head[16 + i]] = [head[16 + i]!, head[12 + i]!];
  for (let i = 0; i < 2; i++) [head[hl - 8 + i], head[hl - 6 + i]] = [head[hl - 6 + i]!, head[hl - 8 + i]!];
  sd.set([0, 0, 0, 1]);
  sd.set(b.subarray(o + 16, o + 20), 4);
  sd[8] = b[o + hl - 6]!;
  sd[9] = b[o + hl - 5]!;
  sd.set(b.subarray(o + hl, o + n), 10);
  return 10 + n - hl;
}

/** Our own relay socket (modes own, block, worker). */
function ownSocket(): { fd: number; drain: () => void } {
  const fd = raw.socket(SOCK.AF_INET, SOCK.SOCK_DGRAM | SOCK.SOCK_CLOEXEC | O_NONBLOCK, 0);
  const m = new MultiRecv(8, 2048, 16);
  const drain = () => {
    for (;;) {
      const n = m.recv(fd, MSG_DONTWAIT);
      for (let j = 0; j < n; j++) answer(m.slot(j), 0, m.length(j));
      if (n < m.count) return;
    }
  };
  return { fd, drain };
}

/** Modes block and worker: one blocking epoll_wait on the tun and our own socket, for ever. */
function blockLoop(relaySa: Uint8Array): never {
  const s = ownSocket();
  const epfd = raw.epoll_create1(EPOLL.CLOEXEC);
  const ev = new Uint8Array(new ArrayBuffer(1024));
  raw.epoll_ctl(epfd, EPOLL.CTL_ADD, tunFd, packEpollEvent(arch, EPOLL.IN, 1, ev));
  raw.epoll_ctl(epfd, EPOLL.CTL_ADD, s.fd, packEpollEvent(arch, EPOLL.IN, 2, ev));
  const evs = new Uint8Array(new ArrayBuffer(1024));
  const buf = new Uint8Array(new ArrayBuffer(65600));
  const bp = addr(buf);
  const size = epollEventSize(arch);
  const dataOff = epollDataOffset(arch);
  for (;;) {
    const k = raw.epoll_wait(epfd, evs, 8, -1);
    for (let i = 0; i < k; i++) {
      if (evs[i * size + dataOff] === 1) {
        for (let n; (n = raw.readp(tunFd, bp, buf.length)) >= 0; ) {
          const len = query(buf, 0, n);
          if (len) raw.sendto(s.fd, sd, len, 0, relaySa, relaySa.length);
        }
      } else s.drain();
    }
  }
}

if (!isMainThread) {
  const w = workerData as { tunFd: number; relaySa: Uint8Array };
  tunFd = w.tunFd;
  blockLoop(w.relaySa);
}

/** The daemon: tunkit's arguments, one association, then the mode's loop. */
async function main(): Promise<void> {
  const a = process.argv.slice(2);
  const dev = a[1]!;
  const proxy = a[a.indexOf("--proxy") + 1]!.replace("socks5://", "");
  const phost = proxy.slice(0, proxy.lastIndexOf(":"));
  const pport = Number(proxy.slice(proxy.lastIndexOf(":") + 1));
  const mode = process.env.UDP_FLOOR ?? "sig";
  const tun = openTun({ name: dev });
  tunFd = tun.fd;
  spawnSync("ip", ["addr", "add", a[a.indexOf("--address") + 1]!, "dev", dev]);
  spawnSync("ip", ["link", "set", dev, "up"]);

  // One SOCKS5 UDP ASSOCIATE (no authentication); the control connection stays open.
  let step = 0;
  let relayHost = phost;
  let relayPort = 0;
  const associated = Promise.withResolvers<void>();
  await Bun.connect({
    hostname: phost,
    port: pport,
    socket: {
      open: (s) => void s.write(new Uint8Array([5, 1, 0])),
      data(s, d) {
        if (step++ === 0) return void s.write(new Uint8Array([5, 3, 0, 1, 0, 0, 0, 0, 0, 0]));
        if (d[1] !== 0 || d[3] !== 1) process.exit(1);
        const h = `${d[4]}.${d[5]}.${d[6]}.${d[7]}`;
        if (h !== "0.0.0.0") relayHost = h;
        relayPort = (d[8]! << 8) | d[9]!;
        associated.resolve();
      },
      close: () => process.exit(1),
    },
  });
  await associated.promise;
  const relaySa = packSockaddrIn(new Uint8Array(relayHost.split(".").map(Number)), relayPort);

  console.log("ready");
  // SIGTERM: a listener would never run in block's loop (the JS thread never returns to Bun's), so
  // that mode keeps the signal's default action.
  if (mode !== "block") process.on("SIGTERM", () => process.exit(0));
  if (mode === "block") blockLoop(relaySa);
  if (mode === "worker") new Worker(new URL(import.meta.url), { workerData: { tunFd, relaySa } } as WorkerOptions);
  let send: (len: number) => void = () => {};
  if (mode === "own") {
    const s = ownSocket();
    const w = watchReadable(s.fd, () => {
      s.drain();
      w.arm();
    });
    w.arm();
    send = (len) => void raw.sendto(s.fd, sd, len, 0, relaySa, relaySa.length);
  } else if (mode !== "worker") {
    const u = await Bun.udpSocket({ hostname: "0.0.0.0", port: 0, binaryType: "uint8array", socket: { data: (_s: unknown, d: Uint8Array) => answer(d, 0, d.length) } });
    send = (len) => void u.send(sd.subarray(0, len), relayPort, relayHost);
  }
  if (mode === "stream") {
    // Bun reads the fd into one buffer until EAGAIN: packets come concatenated (IP says each length).
    const rd = Bun.file(tun.fd).stream().getReader();
    let carry: Uint8Array | undefined;
    for (;;) {
      const r = await rd.read();
      if (r.done) break;
      let b = r.value as Uint8Array;
      if (carry) {
        const c = new Uint8Array(carry.length + b.length);
        c.set(carry);
        c.set(b, carry.length);
        b = c;
        carry = undefined;
      }
      let o = 0;
      while (o + 20 <= b.length) {
        const len = b[o]! >> 4 === 6 ? 40 + ((b[o + 4]! << 8) | b[o + 5]!) : (b[o + 2]! << 8) | b[o + 3]!;
        if (len < 20) {
          o = b.length; // not a packet boundary: drop the rest (lab code; no tun write cuts packets here)
          break;
        }
        if (o + len > b.length) break;
        const q = query(b, o, len);
        if (q) send(q);
        o += len;
      }
      if (o < b.length) carry = b.slice(o);
    }
  } else if (mode !== "worker") {
    await tun.listen((b, n) => {
      const q = query(b, 0, n);
      if (q) send(q);
    });
  }
}

if (import.meta.main) await main();
