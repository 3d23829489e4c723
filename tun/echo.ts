/**
 * {@link serveEcho}: the simplest responder. Reads a tun's packets and answers, in place and
 * without allocating, ICMP echo requests (IPv4), ICMPv6 echo requests and UDP echo (port 7) with
 * packet/echo.ts's `echoReply`, writing each reply back into the device. So `ping` through the
 * tun gets answers. Everything else is read and ignored (a tun's packets are consumed by its reader).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { SysError } from "../ffi/errors.ts";
import { echoReply } from "../packet/echo.ts";
import { MAX_PACKET, type TunQueue } from "./queue.ts";

/** Options of {@link serveEcho}. */
export interface EchoOptions {
  /** Stops answering when aborted. */
  signal?: AbortSignal;
  /** Stop after this many replies. */
  count?: number;
  /**
   * Called after each reply with a copy of the REQUEST (`request[0..length)`, reused buffer):
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
}

/** Default {@link EchoOptions.busyPollUs}. */
export const DEFAULT_BUSY_POLL_US = 50;

/** What {@link serveEcho} did. */
export interface EchoResult {
  /** Requests answered. */
  answered: number;
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
 * r.answered; // 3
 * ```
 */
export async function serveEcho(queue: TunQueue, opts: EchoOptions = {}): Promise<EchoResult> {
  const count = opts.count ?? Infinity;
  if (count !== Infinity && (!Number.isInteger(count) || count < 1)) throw new UsageError(`Invalid count "${count}": expected a positive integer`);
  const inner = new AbortController();
  const outer = opts.signal;
  const onAbort = () => inner.abort(outer?.reason);
  if (outer?.aborted) inner.abort(outer.reason);
  else outer?.addEventListener("abort", onAbort, { once: true });
  const res: EchoResult = { answered: 0, ignored: 0, failed: 0, end: "stopped" };
  const onReply = opts.onReply;
  const copy = onReply ? new Uint8Array(MAX_PACKET) : undefined;
  const handle = (buf: Uint8Array, len: number): void => {
    if (copy) copy.set(buf.subarray(0, len));
    const n = echoReply(buf, len);
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
    res.answered++;
    if (onReply) onReply(copy!, len);
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
