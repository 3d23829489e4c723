/**
 * The UDP data path on a thread of its own, the main thread's side. The tunnel's tun gets a
 * second queue; the steering program of tun/steer.ts sends IPv4 and IPv6 UDP (not port 53 when
 * DNS is answered here: proxy/dns.ts stays on the main thread) to it, everything else to queue 0,
 * which the main thread reads as before. udp-worker.ts owns queue 1, its relay sockets and the
 * per-datagram work both ways, blocking in its own epoll_wait; the main thread keeps what needs
 * Bun's loop (UdpRelay: admission, the associations' control connections and spares, fake-ip
 * names, idle timeouts, logs, metrics). An unknown flow's datagrams come to the main thread
 * ({@link UdpFastPathHandlers.packet}); once its association is open UdpRelay hands the flow over
 * ({@link UdpFastPath.add}) and the worker sends its queued and later datagrams from its own
 * socket (so the proxy sees every datagram of an association from one client port).
 *
 * Nothing goes around the proxy: the worker forwards only to relays the main thread gave it; if
 * it dies, the tunnel stops with an error (the daemon exits non-zero). Where the second queue
 * cannot be had (a single-queue device that already exists, steering refused, Deno,
 * `TUNKIT_UDP_WORKER=0`) the tunnel runs as before on one queue.
 *
 * @module
 */
import { MessageChannel, Worker, type MessagePort } from "node:worker_threads";
import { raw, runtime } from "../ffi/libc.ts";
import { SysError } from "../ffi/errors.ts";
import type { TunDevice } from "../tun/device.ts";
import type { TunQueue } from "../tun/queue.ts";
import { attachSteering, loadSteering, udpSteeringProgram } from "../tun/steer.ts";
import type { TunnelStats } from "./stats.ts";
import { CONTROL_EFD_FLAGS, FAST_COUNTERS, type FromWorker, type ToWorker, type UdpWorkerData } from "./udp-worker.ts";

/** What the main thread does with the worker's messages. */
export interface UdpFastPathHandlers {
  /** A packet read from the UDP queue that the worker does not handle (the queue's vnet header first). */
  packet(b: Uint8Array): void;
  /** The worker ended or failed outside stop(): UDP no longer flows (the tunnel stops). */
  fatal(why: string): void;
}

/** Whether the UDP data path may run on its own thread here (Bun; `TUNKIT_UDP_WORKER=0` turns it off). */
export function udpWorkerWanted(): boolean {
  return runtime === "bun" && globalThis.process?.env?.TUNKIT_UDP_WORKER !== "0";
}

/**
 * Where the worker's module is: beside this one from source; in the compiled binary the entrypoint
 * scripts/build.ts adds (workerEntries in scripts/build.ts), which `bun build` puts at its path under the
 * entrypoints' common root (the project's), with a .js name.
 */
function workerUrl(): URL | string {
  const here = import.meta.url;
  return here.includes("/$bunfs/") ? "/$bunfs/root/proxy/udp-worker.js" : new URL("./udp-worker.ts", here);
}

/**
 * The worker and its queue. Made by {@link UdpFastPath.start}; UdpRelay calls add/send/remove
 * and reads uses/pull in its sweep.
 */
export class UdpFastPath {
  private readonly worker: Worker;
  private readonly port: MessagePort;
  private readonly efd: number;
  private readonly device: TunDevice;
  private readonly queue: TunQueue;
  private readonly counters: Float64Array;
  private readonly useCounts: Uint32Array;
  private readonly pulled = new Float64Array(FAST_COUNTERS.size);
  private readonly one = new Uint8Array(new ArrayBuffer(1024));
  private stopping = false;

  private constructor(device: TunDevice, queue: TunQueue, vnetHdr: number, h: UdpFastPathHandlers) {
    this.device = device;
    this.queue = queue;
    this.one[0] = 1;
    const counters = new SharedArrayBuffer(8 * FAST_COUNTERS.size);
    const uses = new SharedArrayBuffer(4 * 65536);
    this.counters = new Float64Array(counters);
    this.useCounts = new Uint32Array(uses);
    const efd = raw.eventfd(0, CONTROL_EFD_FLAGS);
    if (efd < 0) throw new SysError("eventfd", 0);
    this.efd = efd;
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    const data: UdpWorkerData = { kind: "tunkit-udp", tunFd: queue.fd, vnetHdr, efd, port: port2, counters, uses };
    this.worker = new Worker(workerUrl(), { workerData: data, transferList: [port2] } as never);
    this.worker.unref();
    port1.on("message", (m: FromWorker) => {
      if (m.t === "pkt") h.packet(m.b);
      else if (m.t === "gone") {
        // the device went away: the main thread's queue sees it too and stops the tunnel with
        // its own message; this one only if that has not happened within a second
        const t = setTimeout(() => {
          if (!this.stopping) h.fatal(`the UDP queue's reader stopped (${m.why})`);
        }, 1000);
        (t as { unref?: () => void }).unref?.();
      }
    });
    (port1 as unknown as { unref?: () => void }).unref?.();
    this.worker.on("error", (e: Error) => {
      if (!this.stopping) h.fatal(`the UDP worker failed: ${e.message}`);
    });
    this.worker.on("exit", (code: number) => {
      if (!this.stopping) h.fatal(`the UDP worker exited (${code})`);
      // its epoll set and sockets went with it; no reader is left for the queue
      raw.close(this.efd);
      this.port.close();
      this.queue.close();
    });
  }

  /**
   * Gives `device` (multi-queue, one queue open) a second queue for UDP: loads the steering
   * program (UDP to queue 1, `keepPorts` and everything else to queue 0), attaches it, opens the
   * queue and starts the worker on it. Throws (nothing left attached or open) when any step is
   * refused; the caller then runs on one queue.
   */
  static start(device: TunDevice, vnetHdr: number, keepPorts: number[], h: UdpFastPathHandlers): UdpFastPath {
    const prog = loadSteering(udpSteeringProgram({ udpQueue: 1, queueCount: 2, keepPorts }));
    let queue: TunQueue | undefined;
    try {
      // steering first, then the queue: no packet is hashed onto a queue nobody reads
      attachSteering(device, prog);
      queue = device.addQueue();
      return new UdpFastPath(device, queue, vnetHdr, h);
    } catch (e) {
      try {
        attachSteering(device, null);
      } catch {
        /* the device went away */
      }
      queue?.close();
      throw e;
    } finally {
      prog.close(); // the device holds the program while it is attached
    }
  }

  private tell(m: ToWorker): void {
    if (this.stopping) return;
    this.port.postMessage(m);
    raw.write(this.efd, this.one, 8);
  }

  /** Hands flow `id` (tun key {@link flowKey}) to the worker: its relay's sockaddr, SOCKS5 header, reply header and the IP packets queued while its association opened. */
  add(id: number, key: Uint8Array, sa: Uint8Array, hdr: Uint8Array, reply: Uint8Array, queued: Uint8Array[]): void {
    this.tell({ t: "add", id, key, sa, hdr, reply, queued });
  }

  /** An IP packet of a handed-over flow that reached the main thread (read before the hand-over). */
  send(id: number, p: Uint8Array): void {
    this.tell({ t: "pkt", id, p });
  }

  /** Takes flow `id` back (closed). */
  remove(id: number): void {
    this.tell({ t: "del", id });
    this.useCounts[id] = 0;
  }

  /** Datagrams of flow `id` the worker moved (either way), wrapping: a change means the flow was used. */
  uses(id: number): number {
    return this.useCounts[id]!;
  }

  /** Adds what the worker counted since the last pull to `stats`. */
  pull(stats: TunnelStats): void {
    const c = this.counters;
    const p = this.pulled;
    const d = (i: number) => {
      const v = c[i]!;
      const r = v - p[i]!;
      p[i] = v;
      return r;
    };
    stats.bytesUp += d(FAST_COUNTERS.bytesUp);
    stats.bytesDown += d(FAST_COUNTERS.bytesDown);
    stats.dropped += d(FAST_COUNTERS.dropped);
    stats.packetsIn += d(FAST_COUNTERS.packetsIn);
    stats.packetsOut += d(FAST_COUNTERS.packetsOut);
  }

  /** Detaches the steering program (a persistent device keeps none of ours), stops the worker. Idempotent. */
  stop(): void {
    if (this.stopping) return;
    this.port.postMessage({ t: "stop" } satisfies ToWorker);
    raw.write(this.efd, this.one, 8);
    this.stopping = true;
    try {
      attachSteering(this.device, null);
    } catch {
      /* the device went away */
    }
    this.worker.unref();
  }
}
