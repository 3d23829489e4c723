/**
 * {@link injectPackets}: write packets into a tun/tap as if they arrived from the wire (the
 * kernel receives them on the device), repeated and optionally paced with timers, and
 * {@link checkPacket}, the sanity check done before any device is opened.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { TunQueue } from "./queue.ts";

/**
 * Refuses a packet the device would not take: for a tun an IP packet (version nibble 4 or 6, a
 * whole header, the IP length no longer than the bytes); for a tap an Ethernet frame (14 bytes
 * or more). At most 65535 bytes (tun) / 65535 + 14 + 8 (tap). `what` names it in the message.
 *
 * @example
 * ```ts
 * import { checkPacket } from "./inject.ts";
 * checkPacket(new Uint8Array([0x45, 0, 0, 20, 0, 0, 0, 0, 64, 17, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2]), "tun", "packet 1"); // ok
 * // checkPacket(new Uint8Array([0x12]), "tun", "packet 1") throws 'Invalid packet 1: IP version 1 ...'
 * ```
 */
export function checkPacket(pkt: Uint8Array, kind: "tun" | "tap", what: string): void {
  if (kind === "tap") {
    if (pkt.length < 14) throw new UsageError(`Invalid ${what}: ${pkt.length} bytes, an Ethernet frame for a tap needs at least 14`);
    if (pkt.length > 65535 + 22) throw new UsageError(`Invalid ${what}: ${pkt.length} bytes, more than a tap takes (65557)`);
    return;
  }
  if (pkt.length === 0) throw new UsageError(`Invalid ${what}: empty`);
  if (pkt.length > 65535) throw new UsageError(`Invalid ${what}: ${pkt.length} bytes, more than an IP packet can hold (65535)`);
  const v = pkt[0]! >> 4;
  if (v === 4) {
    if (pkt.length < 20) throw new UsageError(`Invalid ${what}: ${pkt.length} bytes, an IPv4 header needs 20`);
    const ihl = (pkt[0]! & 15) * 4;
    if (ihl < 20 || ihl > pkt.length) throw new UsageError(`Invalid ${what}: IPv4 header length ${ihl} (IHL ${pkt[0]! & 15}) does not fit ${pkt.length} bytes`);
    const total = (pkt[2]! << 8) | pkt[3]!;
    if (total < ihl || total > pkt.length) throw new UsageError(`Invalid ${what}: IPv4 total length ${total} but ${pkt.length} bytes given (header ${ihl})`);
  } else if (v === 6) {
    if (pkt.length < 40) throw new UsageError(`Invalid ${what}: ${pkt.length} bytes, an IPv6 header needs 40`);
    const plen = (pkt[4]! << 8) | pkt[5]!;
    if (40 + plen > pkt.length) throw new UsageError(`Invalid ${what}: IPv6 payload length ${plen} but only ${pkt.length - 40} bytes follow the header`);
  } else {
    throw new UsageError(`Invalid ${what}: IP version ${v} (first byte 0x${pkt[0]!.toString(16).padStart(2, "0")}); a tun takes IPv4 (4x) or IPv6 (6x) packets`);
  }
}

/** Options of {@link injectPackets}. */
export interface InjectOptions {
  /** How many times the whole list is sent. Default 1. */
  count?: number;
  /** Packets per second; sent as fast as the device takes them when absent. */
  rate?: number;
  /** Stops early when aborted. */
  signal?: AbortSignal;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const immediate = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Writes `packets` into `queue`, `count` times, at most `rate` per second (paced with timers;
 * never a busy loop), yielding to the event loop as it goes. Resolves with the number written.
 *
 * @example
 * ```ts
 * import { openTun, buildUdp } from "../mod.ts";
 * import { injectPackets } from "./inject.ts";
 * const dev = openTun({ name: "tun0" });
 * const pkt = buildUdp({ src: "192.0.2.2", dst: "192.0.2.1", srcPort: 4000, dstPort: 9000, payload: 5 });
 * await injectPackets(dev, [pkt], { count: 10, rate: 100 }); // resolves with 10, after about 0.1 s
 * ```
 */
export async function injectPackets(queue: TunQueue, packets: readonly Uint8Array[], opts: InjectOptions = {}): Promise<number> {
  const count = opts.count ?? 1;
  if (!Number.isInteger(count) || count < 1) throw new UsageError(`Invalid count "${count}": expected a positive integer`);
  const rate = opts.rate;
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0)) throw new UsageError(`Invalid rate "${rate}": expected packets per second > 0`);
  if (packets.length === 0) return 0;
  const total = packets.length * count;
  const { signal } = opts;
  let sent = 0;
  const t0 = performance.now();
  while (sent < total && !signal?.aborted) {
    // How many may be out by now: all of them without a rate; otherwise rate * elapsed (+1: the first goes at once).
    const due = rate === undefined ? total : Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000) + 1);
    const stop = Math.min(due, sent + 256);
    while (sent < stop) {
      const p = packets[sent % packets.length]!;
      queue.write(p, 0, p.length);
      sent++;
    }
    if (sent >= total) break;
    if (rate === undefined || sent < due) await immediate();
    else await sleep(Math.max(0, (sent * 1000) / rate - (performance.now() - t0)));
  }
  return sent;
}
