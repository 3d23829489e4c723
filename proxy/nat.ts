/**
 * {@link FlowTable}: the NAT table of the tun2socks "system stack" — a 5-tuple (source address,
 * source port, destination address, destination port, per family) mapped to a small integer
 * id (for TCP: the NAT port the kernel sees), and back. Lookups read the addresses straight out
 * of a packet buffer: no allocation per packet. Storage is typed arrays indexed by id plus an
 * open-addressing hash (linear probing, backward-shift deletion) over them.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";

/** Flow states (the table stores them; their meaning belongs to the user of the table). */
export const FLOW = { FREE: 0, CONNECTING: 1, READY: 2, OPEN: 3, CLOSED: 4 } as const;

const MAX_ID = 65536;

/**
 * A flow table: ids in `min..max` (inclusive), each holding a family (4 or 6), source and
 * destination address and port, a state and a time stamp.
 *
 * @example
 * ```ts
 * import { FlowTable } from "./nat.ts";
 * const t = new FlowTable(10000, 10999);
 * const pkt = new Uint8Array([192, 0, 2, 1, 198, 51, 100, 7]); // src, dst
 * const id = t.insert(4, pkt, 0, 4, 40000, 80); // 10000
 * t.lookup(4, pkt, 0, 4, 40000, 80); // 10000
 * t.sport[id]; // 40000
 * ```
 */
export class FlowTable {
  /** Smallest flow id handed out. */
  readonly min: number;
  /** Largest flow id handed out. */
  readonly max: number;
  /** 0 when free, else 4 or 6. */
  readonly family = new Uint8Array(MAX_ID);
  /** {@link FLOW} state. */
  readonly state = new Uint8Array(MAX_ID);
  /** Source address bytes, 16 per id (IPv4 uses the first 4). */
  readonly src = new Uint8Array(MAX_ID * 16);
  /** Destination address bytes, 16 per id. */
  readonly dst = new Uint8Array(MAX_ID * 16);
  /** Source port per id. */
  readonly sport = new Uint16Array(MAX_ID);
  /** Destination port per id. */
  readonly dport = new Uint16Array(MAX_ID);
  /** Last state change, in ms (caller's clock). */
  readonly stamp = new Float64Array(MAX_ID);
  private readonly hashOf = new Uint32Array(MAX_ID);
  private readonly slots: Int32Array;
  private readonly mask: number;
  private cursor: number;
  private used = 0;

  /**
   * An empty table handing out ids in min..max.
   *
   * @param min Smallest flow id (>= 1).
   * @param max Largest flow id (<= 65535).
   * @throws {UsageError} When the range is empty or out of 1..65535.
   */
  constructor(min: number, max: number) {
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
      throw new UsageError(`Invalid flow id range "${min}-${max}": expected 1 <= min <= max <= 65535`);
    }
    this.min = min;
    this.max = max;
    this.cursor = min;
    let size = 1024;
    while (size < (max - min + 1) * 2) size <<= 1;
    this.slots = new Int32Array(size);
    this.mask = size - 1;
  }

  /** Number of ids in use. */
  get size(): number {
    return this.used;
  }

  /** Number of ids the table can hold. */
  get capacity(): number {
    return this.max - this.min + 1;
  }

  /** Hash of a 5-tuple (family, addresses at the offsets, ports). */
  private static hash(fam: number, b: Uint8Array, srcOff: number, dstOff: number, sport: number, dport: number): number {
    let h = 0x811c9dc5 ^ fam;
    const n = fam === 4 ? 4 : 16;
    for (let i = 0; i < n; i += 4) {
      h = Math.imul(h ^ (((b[srcOff + i]! << 24) | (b[srcOff + i + 1]! << 16) | (b[srcOff + i + 2]! << 8) | b[srcOff + i + 3]!) >>> 0), 0x01000193);
      h = Math.imul(h ^ (((b[dstOff + i]! << 24) | (b[dstOff + i + 1]! << 16) | (b[dstOff + i + 2]! << 8) | b[dstOff + i + 3]!) >>> 0), 0x01000193);
    }
    h = Math.imul(h ^ ((sport << 16) | dport), 0x01000193);
    h ^= h >>> 15;
    h = Math.imul(h, 0x2c1b3c6d);
    h ^= h >>> 12;
    return h >>> 0;
  }

  /** Whether flow `id` has this 5-tuple. */
  private matches(id: number, fam: number, b: Uint8Array, srcOff: number, dstOff: number, sport: number, dport: number): boolean {
    if (this.family[id] !== fam || this.sport[id] !== sport || this.dport[id] !== dport) return false;
    const n = fam === 4 ? 4 : 16;
    const base = id * 16;
    for (let i = 0; i < n; i++) {
      if (this.src[base + i] !== b[srcOff + i] || this.dst[base + i] !== b[dstOff + i]) return false;
    }
    return true;
  }

  /**
   * The id of the flow whose addresses are at `srcOff` / `dstOff` of `b` (4 or 16 bytes as
   * `fam` says) with these ports, or -1.
   */
  lookup(fam: 4 | 6, b: Uint8Array, srcOff: number, dstOff: number, sport: number, dport: number): number {
    const h = FlowTable.hash(fam, b, srcOff, dstOff, sport, dport);
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const v = this.slots[i]!;
      if (v === 0) return -1;
      const id = v - 1;
      if (this.hashOf[id] === h && this.matches(id, fam, b, srcOff, dstOff, sport, dport)) return id;
    }
  }

  /**
   * Adds a flow (which must not be in the table) and returns its id, or -1 when every id is
   * taken. The new flow is in state CONNECTING. Ids are handed out round robin, so a freed id
   * comes back only after all the others were used.
   */
  insert(fam: 4 | 6, b: Uint8Array, srcOff: number, dstOff: number, sport: number, dport: number, now = 0): number {
    if (this.used >= this.capacity) return -1;
    let id = this.cursor;
    while (this.family[id] !== 0) id = id >= this.max ? this.min : id + 1;
    this.cursor = id >= this.max ? this.min : id + 1;
    const n = fam === 4 ? 4 : 16;
    const base = id * 16;
    this.src.fill(0, base, base + 16);
    this.dst.fill(0, base, base + 16);
    for (let i = 0; i < n; i++) {
      this.src[base + i] = b[srcOff + i]!;
      this.dst[base + i] = b[dstOff + i]!;
    }
    this.family[id] = fam;
    this.sport[id] = sport;
    this.dport[id] = dport;
    this.state[id] = FLOW.CONNECTING;
    this.stamp[id] = now;
    const h = FlowTable.hash(fam, b, srcOff, dstOff, sport, dport);
    this.hashOf[id] = h;
    const mask = this.mask;
    let i = h & mask;
    while (this.slots[i] !== 0) i = (i + 1) & mask;
    this.slots[i] = id + 1;
    this.used++;
    return id;
  }

  /** Removes flow `id` (no-op when free). */
  remove(id: number): void {
    if (id < this.min || id > this.max || this.family[id] === 0) return;
    const mask = this.mask;
    let i = this.hashOf[id]! & mask;
    while (this.slots[i] !== id + 1) {
      if (this.slots[i] === 0) throw new Error(`flow table corrupt: id ${id} not indexed`);
      i = (i + 1) & mask;
    }
    // Backward-shift deletion keeps every probe chain unbroken without tombstones.
    let j = i;
    for (;;) {
      j = (j + 1) & mask;
      const v = this.slots[j]!;
      if (v === 0) break;
      const k = this.hashOf[v - 1]! & mask;
      const between = i <= j ? i < k && k <= j : i < k || k <= j;
      if (!between) {
        this.slots[i] = v;
        i = j;
      }
    }
    this.slots[i] = 0;
    this.family[id] = 0;
    this.state[id] = FLOW.FREE;
    this.used--;
  }

  /** Calls `fn(id)` for every id in use. */
  forEach(fn: (id: number) => void): void {
    for (let id = this.min; id <= this.max; id++) if (this.family[id] !== 0) fn(id);
  }
}
