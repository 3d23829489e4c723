/**
 * {@link serveEcho}: the simplest responder. Reads a tun's packets and answers, in place and
 * without allocating, ICMP echo requests (IPv4), ICMPv6 echo requests and UDP echo (port 7) with
 * packet/echo.ts's `echoReply`, writing each reply back into the device. So `ping` through the
 * tun gets answers. Everything else is read and ignored (a tun's packets are consumed by its reader).
 * On a tap it plays the remote host of the link with packet/echo-frame.ts's `echoReplyFrame`:
 * it also answers ARP requests and neighbour solicitations for its MAC.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { SysError } from "../ffi/errors.ts";
import { parseIp, parseMac } from "../common/addr.ts";
import { echoReply } from "../packet/echo.ts";
import { DEFAULT_ECHO_MAC, echoReplyFrame, isNeighbourReply, type FrameResponder } from "../packet/echo-frame.ts";
import type { LinkType } from "../packet/types.ts";
import { TunDevice } from "./device.ts";
import { MAX_PACKET, type TunQueue } from "./queue.ts";

/** Options of {@link serveEcho}. */
export interface EchoOptions {
  /** Stops answering when aborted. */
  signal?: AbortSignal;
  /** Stop after this many echo replies (on a tap, ARP / neighbour answers do not count). */
  count?: number;
  /**
   * Called after each reply (on a tap, ARP / neighbour answers too) with a copy of the REQUEST (`request[0..length)`, reused buffer):
   * for printing. Without it nothing is copied or allocated per packet.
   */
  onReply?: (request: Uint8Array, length: number) => void;
  /** Packets handled before yielding to the event loop. Default 256. */
  yieldEvery?: number;
  /**
   * After handling packets, keep reading (non-blocking) this many microseconds before waiting
   * through the poller. Default 50; 0 turns it off. Costs CPU only while requests keep coming;
   * cuts the wake-up latency a ping-pong pays per round trip.
   */
  busyPollUs?: number;
  /**
   * "raw" (tun: IP packets) or "ethernet" (tap: frames). Default: the device's mode when `queue`
   * is a TunDevice, else "raw". Packet-info and vnet headers are not supported.
   */
  linkType?: LinkType;
  /** Ethernet only: the responder's MAC, unicast (default {@link DEFAULT_ECHO_MAC}). */
  mac?: string;
  /**
   * Ethernet only: the tap's own addresses (text). ARP requests and neighbour solicitations for
   * them, and echo requests to them, are never answered. (The kernel never asks for its own
   * addresses except in DAD probes and gratuitous ARP, which are refused by their form anyway.)
   */
  ownAddresses?: readonly string[];
}

/** Default {@link EchoOptions.busyPollUs}. */
export const DEFAULT_BUSY_POLL_US = 50;

/** What {@link serveEcho} did. */
export interface EchoResult {
  /** Requests answered. */
  answered: number;
  /** Ethernet only: ARP requests and neighbour solicitations answered (not in `answered`). */
  resolved: number;
  /** Packets read that were not echo requests (or were malformed), left unanswered. */
  ignored: number;
  /** Replies the device refused to take (down, full): the request stays unanswered. */
  failed: number;
  /** Why it ended: the signal, the count, or the device was closed/deleted. */
  end: "stopped" | "count" | "closed";
}

/**
 * Answers echo requests arriving on `queue` until `signal` aborts, `count` replies were sent, or
 * the device is closed. Rejects with DeviceClosedError if the device is deleted.
 *
 * It runs on TunQueue.listen (drain until EAGAIN, yield every `yieldEvery`, then one poller
 * wake-up; never blocks the event loop, no allocation per packet) with a short busy poll after
 * traffic (`busyPollUs`), which measured 0.76x -> ~1x of a C responder for one-in-flight round
 * trips (bench/echo.ts).
 *
 * @example
 * ```ts
 * import { openTun } from "../mod.ts";
 * import { serveEcho } from "./echo.ts";
 * const dev = openTun({ name: "tun0" });
 * const ac = new AbortController();
 * const r = await serveEcho(dev, { signal: ac.signal, count: 3 }); // ping -c 3 through tun0
 * r.answered; // the requests answered: 3
 * // a tap (frames): also answers ARP / neighbour solicitations as 02:00:00:00:00:01
 * const tap = openTun({ name: "tap0", mode: "tap" });
 * await serveEcho(tap, { signal: ac.signal, ownAddresses: ["192.0.2.1"] }); // ping 192.0.2.2
 * ```
 */
export async function serveEcho(queue: TunQueue, opts: EchoOptions = {}): Promise<EchoResult> {
  const count = opts.count ?? Infinity;
  if (count !== Infinity && (!Number.isInteger(count) || count < 1)) throw new UsageError(`Invalid count "${count}": expected a positive integer`);
  const linkType: LinkType = opts.linkType ?? (queue instanceof TunDevice && queue.flags.mode === "tap" ? "ethernet" : "raw");
  if (linkType !== "raw" && linkType !== "ethernet") throw new UsageError(`Invalid link type "${String(linkType)}": expected raw or ethernet`);
  if (linkType === "ethernet" && queue instanceof TunDevice && (queue.flags.packetInfo || queue.flags.vnetHdr)) {
    throw new UsageError(`Device "${queue.name}" has packet-info or vnet headers: echo reads plain packets`);
  }
  const frames = linkType === "ethernet";
  const responder: FrameResponder = { mac: parseMac(opts.mac ?? DEFAULT_ECHO_MAC, 6), own: (opts.ownAddresses ?? []).map((a) => parseIp(a)) };
  const m = responder.mac;
  if ((m[0]! & 1) !== 0 || m.every((x) => x === 0)) throw new UsageError(`Invalid responder MAC "${opts.mac}": expected a unicast address like ${DEFAULT_ECHO_MAC}`);
  const inner = new AbortController();
  const outer = opts.signal;
  const onAbort = () => inner.abort(outer?.reason);
  if (outer?.aborted) inner.abort(outer.reason);
  else outer?.addEventListener("abort", onAbort, { once: true });
  const res: EchoResult = { answered: 0, resolved: 0, ignored: 0, failed: 0, end: "stopped" };
  const onReply = opts.onReply;
  const copy = onReply ? new Uint8Array(MAX_PACKET) : undefined;
  const handle = (buf: Uint8Array, len: number): void => {
    if (copy) copy.set(buf.subarray(0, len));
    const n = frames ? echoReplyFrame(buf, len, responder) : echoReply(buf, len);
    if (n === 0) {
      res.ignored++;
      return;
    }
    try {
      queue.write(buf, 0, n);
    } catch (e) {
      if (!(e instanceof SysError)) throw e;
      res.failed++;
      return;
    }
    if (onReply) onReply(copy!, len);
    if (frames && isNeighbourReply(buf, n)) {
      res.resolved++;
      return;
    }
    res.answered++;
    if (res.answered >= count) {
      res.end = "count";
      inner.abort();
    }
  };
  try {
    await queue.listen(handle, { signal: inner.signal, yieldEvery: opts.yieldEvery, busyPollUs: opts.busyPollUs ?? DEFAULT_BUSY_POLL_US });
  } finally {
    outer?.removeEventListener("abort", onAbort);
  }
  if (res.end !== "count" && queue.closed && !outer?.aborted) res.end = "closed";
  return res;
}
