/**
 * Capturing the packets of a tun/tap device, two ways:
 *
 * - **attach**: become the device's reader (TUNSETIFF). A tun with no reader carries no
 *   traffic, so this is what makes packets flow, but they are consumed, not forwarded.
 * - **sniff**: an AF_PACKET socket beside whoever owns the device ({@link PacketSniffer}): copies
 *   of both directions, nothing taken away.
 *
 * {@link openCapture} attaches when nobody holds the device and sniffs otherwise (TUNSETIFF's
 * EBUSY says which, exactly and without a race), or does what the caller forces.
 * Both give the same {@link Capture}: `listen(onPacket)` without blocking the event loop or
 * allocating per packet, `stats()`, `close()`.
 *
 Capture files (pcap out, pcap/pcapng in) are tun/capture-file.ts.
 *
 * @module
 */
import { MalformedError, TunkitError, UsageError } from "../common/errors.ts";
import { checkIfName } from "../common/ifname.ts";
import { SysError, DeviceClosedError, ERRNO } from "../ffi/errors.ts";
import { Rtnl } from "../netlink/rtnl.ts";
import { NetlinkError } from "../netlink/errors.ts";
import type { Link, TunInfo } from "../netlink/route/link.ts";
import { PcapReader, PcapWriter, MAX_CAPLEN, linkTypeNumber, type PcapHeader } from "../packet/pcap.ts";
import { PcapngReader } from "../packet/pcapng.ts";
import type { LinkType } from "../packet/types.ts";
import { openTun, type TunDevice } from "./device.ts";
import { untilLinkCarries } from "./link-ready.ts";
import { PacketSniffer, ARPHRD, type PacketHandler, type SniffEnd } from "./sniff.ts";
import type { RingBlockConsumer } from "./sniff-ring.ts";
import { CaptureClock } from "./clock.ts";
import { compileBpf } from "../packet/bpf.ts";
import type { FilterNode } from "../packet/filter.ts";

export { CaptureClock };


export type { PacketHandler, Direction } from "./sniff.ts";

/** How a capture gets its packets. */
export type CaptureMode = "attach" | "sniff";

/** What an interface is, as far as capturing goes. */
export interface CaptureTarget {
  /** Interface name. */
  name: string;
  /** Interface index. */
  ifindex: number;
  /** "tun", "tap", or "other" (any non-tun/tap interface: only sniffing works there). */
  kind: "tun" | "tap" | "other";
  /** Link type of what a capture returns. */
  linkType: LinkType;
  /** The device has IFF_MULTI_QUEUE. */
  multiQueue: boolean;
  /** Queues attached right now (IFLA_TUN_NUM_QUEUES, reported for multi-queue devices only). */
  attached?: number;
}

/**
 * Looks an interface up (rtnetlink, no change to anything) and tells what capturing it means.
 * Throws SysError ENODEV with a hint when there is no such interface.
 *
 * @example
 * ```ts
 * import { describeTarget } from "./capture.ts";
 * const t = await describeTarget("tun0"); // { kind: "tun", linkType: "raw", attached: 1, ... }
 * ```
 */
export async function describeTarget(name: string, rtnl?: Rtnl): Promise<CaptureTarget> {
  checkIfName(name);
  const nl = rtnl ?? Rtnl.open();
  let link: Link;
  try {
    link = await nl.getLink(name);
  } catch (e) {
    if (e instanceof NetlinkError && (e.errno === ERRNO.ENODEV || e.errno === ERRNO.ENOENT)) {
      throw new SysError("get link", ERRNO.ENODEV, name, `there is no interface "${name}" in this network namespace (create a tun with: tunkit up ${name} ADDRESS/PREFIX)`);
    }
    throw e;
  } finally {
    if (!rtnl) nl.close();
  }
  const info = link.linkInfo?.kind === "tun" ? (link.linkInfo.data as TunInfo | undefined) : undefined;
  const isTun = link.linkInfo?.kind === "tun";
  const kind: CaptureTarget["kind"] = !isTun ? "other" : info?.type === "tap" ? "tap" : "tun";
  const linkType: LinkType = link.type === ARPHRD.ETHER || link.type === ARPHRD.LOOPBACK ? "ethernet" : "raw";
  const t: CaptureTarget = { name, ifindex: link.ifindex, kind, linkType, multiQueue: !!info?.multiQueue };
  if (info?.numQueues !== undefined) t.attached = info.numQueues;
  return t;
}

/**
 * The mode {@link openCapture} tries first for `target` when asked for `want`. "auto": sniff
 * for a non-tun/tap interface or a multi-queue device the kernel reports attached; attach
 * otherwise (openCapture then falls back to sniffing on EBUSY: for a single-queue device the
 * kernel's TUNSETIFF is the exact, race-free "is it held?" answer, in this namespace only,
 * whereas /proc would also show same-named devices of other namespaces).
 *
 * @example
 * ```ts
 * import { chooseMode } from "./capture.ts";
 * chooseMode({ name: "tun0", kind: "tun", attached: 1 }, "auto"); // "sniff"
 * ```
 */
export function chooseMode(target: Pick<CaptureTarget, "kind" | "attached" | "name">, want: CaptureMode | "auto"): CaptureMode {
  if (want === "attach" && target.kind === "other") {
    throw new UsageError(`Cannot attach to "${target.name}": it is not a tun/tap device (use --sniff)`);
  }
  if (want !== "auto") return want;
  if (target.kind === "other") return "sniff";
  return target.attached !== undefined && target.attached > 0 ? "sniff" : "attach";
}

/** Options of {@link openCapture}. */
export interface CaptureOptions {
  /** "auto" (default), "attach" or "sniff". */
  mode?: CaptureMode | "auto";
  /** Bytes kept per packet, 1..262144 (default 262144). */
  snaplen?: number;
  /** Sniff mode: the ring's size, or the socket's receive buffer without a ring (default 8 MiB). */
  bufferBytes?: number;
  /** Sniff mode: false captures with recvmmsg instead of a TPACKET_V3 ring (default true). */
  ring?: boolean;
  /**
   * Sniff mode with a ring: the longest a packet waits in the kernel before it is handed over,
   * in ms (default 10; more means fewer wake-ups, for writing files).
   */
  blockTimeoutMs?: number;
  /** An rtnetlink connection to use for the lookup (one is opened and closed otherwise). */
  rtnl?: Rtnl;
  /**
   * Sniff mode: a filter to run in the kernel too (compiled to classic BPF, SO_ATTACH_FILTER),
   * so packets that cannot match are never copied. The caller still filters in user space: the
   * kernel program is a superset. Ignored when attached (a tun's reader gets every packet).
   */
  kernelFilter?: FilterNode;
}

/** Counters of a capture. */
export interface CaptureStats {
  /** Packets the capture took in (before any filter of the caller). */
  received: number;
  /** Sniff mode: packets the kernel dropped because we were too slow (undefined when attached). */
  dropped?: number;
  /** Sniff mode: true when the filter also runs in the kernel (then `received` counts only what it passed). */
  kernelFilter?: boolean;
  /** Sniff mode: "ring" (TPACKET_V3) or "recvmmsg". */
  method?: "ring" | "recvmmsg";
}

/** Options of {@link Capture.listen}. */
export interface CaptureListenOptions {
  /** Stops listening when aborted. */
  signal?: AbortSignal;
  /** Sniff mode without a ring: gather packets this long after a quiet spell before draining (fewer wake-ups). */
  coalesceMs?: number;
  /**
   * Sniff mode: when the signal aborts, still deliver every packet the kernel had accepted
   * (the socket is closed to new packets first), so a capture file ends complete.
   */
  drainOnStop?: boolean | (() => boolean);
  /** Sniff mode with a ring: pass the ring's memory and the packet's offset in it (no object per packet). */
  zeroCopy?: boolean;
  /**
   * Sniff mode with a ring: hand each ring block whole to this consumer instead of calling the
   * handler per packet (tun/sniff-pcap.ts writes a file straight from the ring). Attached, or
   * sniffing without a ring, the handler gets every packet as usual.
   */
  blocks?: RingBlockConsumer;
  /**
   * Sniff mode with a ring: while blocks come in full, wait for the next in poll(2) on the JS
   * thread, at most this many ms (`SniffListenOptions.pollWaitMs` in tun/sniff.ts: for a
   * process that does nothing else).
   */
  pollWaitMs?: number;
  /**
   * Attach mode: the handler's writer is behind (a capture file written in the background:
   * `PcapSink.hasRoom`). While `room(bytes)` says no, the device is not read: packets wait
   * in its queue, where the kernel drops what does not fit (counted in its tx_dropped), as a
   * sniffer's ring does; reading resumes when `whenRoom()` resolves and `room` says yes.
   * `bytes`: the most one more packet takes (the snaplen and a record header).
   */
  room?: { room(bytes: number): boolean; whenRoom(): Promise<void> };
}

/** How a capture's listen() ended: stopped by the signal, closed, or the device went down/away. */
export type CaptureEnd = SniffEnd;

/**
 * Packets from one interface, attached or sniffed.
 *
 * @example
 * ```ts
 * import { openCapture } from "./capture.ts";
 * const cap = await openCapture("tun0");
 * const ac = new AbortController();
 * await cap.listen((buf, caplen, wireLen, dir) => console.log(dir, caplen), { signal: ac.signal });
 * cap.close();
 * ```
 */
export interface Capture {
  /** How packets are taken: "attach" (a queue of the tun itself) or "sniff" (a packet socket). */
  readonly mode: CaptureMode;
  /** Interface name. */
  readonly name: string;
  /** "raw" (IP, tun) or "ethernet" (tap). */
  readonly linkType: LinkType;
  /** Snapshot length: the most bytes kept per packet. */
  readonly snaplen: number;
  /** Sniff mode shows In/Out; attach mode sees only what the kernel sends into the device. */
  readonly directions: boolean;
  /** Calls `onPacket` per packet until `signal` aborts, close(), or the device goes away. */
  listen(onPacket: PacketHandler, opts?: CaptureListenOptions): Promise<CaptureEnd>;
  /** Packet counts so far: received, dropped by the kernel, and so on. */
  stats(): CaptureStats;
  /** Stops listening and releases the queue or socket (idempotent). */
  close(): void;
}

class AttachCapture implements Capture {
  readonly mode = "attach" as const;
  readonly directions = false;
  received = 0;
  private readonly clock = new CaptureClock();
  constructor(
    readonly dev: TunDevice,
    readonly linkType: LinkType,
    readonly snaplen: number,
  ) {}
  get name(): string {
    return this.dev.name;
  }
  async listen(onPacket: PacketHandler, opts: CaptureListenOptions = {}): Promise<CaptureEnd> {
    const snap = this.snaplen;
    const clock = this.clock;
    const { signal, room } = opts;
    const need = snap + 64;
    let aborted: Promise<void> | undefined;
    try {
      for (;;) {
        // with a writer that can fall behind: stop reading while it has no room (below)
        const inner = room ? new AbortController() : undefined;
        const stop = () => inner!.abort();
        if (inner) {
          if (signal?.aborted) break;
          signal?.addEventListener("abort", stop, { once: true });
        }
        let full = false;
        try {
          await this.dev.listen(
            (buf, len) => {
              this.received++;
              clock.now();
              onPacket(buf, len < snap ? len : snap, len, undefined, clock.sec, clock.nsec, 0);
              if (room && !room.room(need)) {
                full = true;
                inner!.abort();
              }
            },
            { signal: inner ? inner.signal : signal },
          );
        } finally {
          signal?.removeEventListener("abort", stop);
        }
        if (!full || signal?.aborted || this.dev.closed) break;
        // the writer is behind (a pipe not read): the packets wait in the device's queue until
        // it has written something; a stop ends the wait (its settle says what was not written)
        aborted ??= new Promise<void>((r) => signal?.addEventListener("abort", () => r(), { once: true }));
        while (!room!.room(need) && !signal?.aborted && !this.dev.closed) await Promise.race([room!.whenRoom(), aborted]);
        if (signal?.aborted || this.dev.closed) break;
      }
    } catch (e) {
      if (e instanceof DeviceClosedError) return e.reason === "deleted" ? "down" : "closed";
      throw e;
    }
    return this.dev.closed ? "closed" : "stopped";
  }
  stats(): CaptureStats {
    return { received: this.received };
  }
  close(): void {
    this.dev.close();
  }
}

class SniffCapture implements Capture {
  readonly mode = "sniff" as const;
  readonly directions = true;
  constructor(readonly sniffer: PacketSniffer) {
    this.method = sniffer.method;
  }
  get name(): string {
    return this.sniffer.name;
  }
  get linkType(): LinkType {
    return this.sniffer.linkType;
  }
  get snaplen(): number {
    return this.sniffer.snaplen;
  }
  listen(onPacket: PacketHandler, opts: CaptureListenOptions = {}): Promise<CaptureEnd> {
    return this.sniffer.listen(onPacket, opts);
  }
  private readonly method: "ring" | "recvmmsg";
  stats(): CaptureStats {
    if (!this.sniffer.closed) this.last = this.sniffer.stats();
    return { ...this.last, ...(this.sniffer.kernelFilter ? { kernelFilter: true } : {}), method: this.method };
  }
  private last: CaptureStats = { received: 0, dropped: 0 };
  close(): void {
    if (!this.sniffer.closed) this.last = this.sniffer.stats();
    this.sniffer.close();
  }
}

/**
 * Opens a capture on interface `name`: attaches as its reader when it is a free tun/tap, sniffs
 * otherwise (or as `opts.mode` says). In auto mode a device that turns out to be held (EBUSY)
 * is sniffed.
 *
 * @example
 * ```ts
 * import { openCapture } from "./capture.ts";
 * const cap = await openCapture("tun0", { mode: "sniff", snaplen: 96 });
 * cap.mode; // the mode: "sniff"
 * cap.close();
 * ```
 */
export async function openCapture(name: string, opts: CaptureOptions = {}): Promise<Capture> {
  const snaplen = opts.snaplen ?? MAX_CAPLEN;
  if (!Number.isInteger(snaplen) || snaplen < 1 || snaplen > MAX_CAPLEN) throw new UsageError(`Invalid snaplen "${snaplen}": expected 1..${MAX_CAPLEN}`);
  const want = opts.mode ?? "auto";
  if (want !== "auto" && want !== "attach" && want !== "sniff") throw new UsageError(`Invalid capture mode "${String(want)}": expected auto, attach or sniff`);
  const target = await describeTarget(name, opts.rtnl);
  const mode = chooseMode(target, want);
  if (mode === "attach") {
    try {
      const dev = openTun({ name, mode: target.kind === "tap" ? "tap" : "tun", multiQueue: target.multiQueue });
      // ready once a packet routed into the device reaches us (tun/link-ready.ts)
      const nl = opts.rtnl ?? Rtnl.open();
      try {
        await untilLinkCarries(nl, target.ifindex);
      } catch (e) {
        dev.close();
        throw e;
      } finally {
        if (!opts.rtnl) nl.close();
      }
      return new AttachCapture(dev, target.kind === "tap" ? "ethernet" : "raw", snaplen);
    } catch (e) {
      if (!(want === "auto" && e instanceof SysError && e.errno === ERRNO.EBUSY)) throw e;
    }
  }
  const prog = opts.kernelFilter ? compileBpf(opts.kernelFilter, target.linkType, { snaplen }) : undefined;
  const sniffer = PacketSniffer.open(name, {
    snaplen, bufferBytes: opts.bufferBytes, ring: opts.ring, blockTimeoutMs: opts.blockTimeoutMs, ...(prog ? { filter: prog } : {}),
  });
  return new SniffCapture(sniffer);
}
