/**
 * The tunnel's TCP relay on Bun's own sockets (`Bun.listen` / `Bun.connect`), without node:net:
 * one set of handlers for all flows (a flow is its sockets' `data`), the proxy handshake run as
 * a {@link HandshakeMachine} inside the data handler, one timer for every handshake deadline
 * (they all share one timeout, so they expire in the order they started), and writes queued
 * only when the kernel takes less than offered (then the other side pauses until "drain").
 * node:net spent ~1.5 ms of user CPU and ~40 system calls per short connection on its
 * streams and socket set-up; this is the path of the tunkit binary. Bun only (Deno keeps
 * node:net, see tunnel.ts).
 *
 * @module
 */
import type { DialSocketOptions, HandshakeMachine } from "./dial.ts";
import { concatBytes as concat, connectFailure, ProxyError } from "./dial.ts";
import { closeFd, connectFd } from "../ffi/tcp.ts";
import { FdRelay } from "./fd-relay.ts";
import { HandshakeDeadlines } from "./deadlines.ts";
import { spliceAvailable } from "../ffi/splice.ts";

/** The part of a Bun socket the relay uses. */
export interface NativeSocket {
  write(d: Uint8Array, off?: number, len?: number): number;
  shutdown(halfClose?: boolean): void;
  end(): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  readonly remotePort: number;
  readonly remoteAddress: string;
  data: RelayFlow | undefined;
}

/** Relay state of one flow (the tunnel's flow record extends it). */
export interface RelayFlow {
  /** The accepted connection (tun side) and the connection to the proxy. */
  cs?: NativeSocket;
  us?: NativeSocket;
  /** 0 dialling, 1 handshake, 2 stream open (waiting for the accept), 3 relaying, 4 failed. */
  phase: number;
  hs?: HandshakeMachine;
  /** Bytes from the proxy that arrived before the accept. */
  head?: Uint8Array;
  /** Bytes waiting for the client / the proxy socket to drain. */
  qc?: Uint8Array[];
  qu?: Uint8Array[];
  /** FIN owed to the client / the proxy once its queue is written. */
  finc?: boolean;
  finu?: boolean;
  /** The proxy socket closed (with `uerr` when by an error). */
  uclosed?: boolean;
  uerr?: string;
  /** The client socket closed. */
  cclosed?: boolean;
  /** Answered in-process (DNS over TCP): client data goes to {@link RelayHost.localData}. */
  local?: boolean;
  /** When the handshake must be over (ms, performance.now()). */
  deadline: number;
  who: string;
  where: string;
}

/** What the tunnel does on the relay's events. */
export interface RelayHost {
  /** The proxy stream is open: let the client's SYN through. */
  ready(f: RelayFlow): void;
  /** The proxy could not be reached, refused, or failed the handshake. */
  failed(f: RelayFlow, e: ProxyError): void;
  /** A connection on listener `j`: its flow (then relayed), or undefined (reset). */
  accept(s: NativeSocket, j: number): RelayFlow | undefined;
  /** Bytes relayed (up: client to proxy). */
  bytes(f: RelayFlow, up: boolean, n: number): void;
  /** The proxy connection ended by an error (`code`) while relaying. */
  upError(f: RelayFlow, code: string): void;
  /** Who sent the first FIN (true: the client). */
  fin(f: RelayFlow, client: boolean): void;
  /** The client connection closed: the flow is over. */
  closed(f: RelayFlow): void;
  /** Data of a local flow. */
  localData(f: RelayFlow, d: Uint8Array): void;
  /** An error line of `kind` for the log (rate-limited by the host), e.g. the accept back-off's. */
  error?(line: string, kind: string): void;
  /**
   * True when the accepted connections' peers are behind a tun this host writes, and it calls
   * the relay's `tunWritten()` after its writes: the splice relay then takes no signal for the
   * accepted sockets (every readiness of theirs comes from such a write).
   */
  writesTun?: boolean;
}

/** The TCP relays of the tunnel (`tunkit socks --relay`). */
export const RELAYS = ["bun", "splice"] as const;
/** One of {@link RELAYS}. */
export type RelayKind = (typeof RELAYS)[number];
/** The relay when nothing chooses one. */
export const DEFAULT_RELAY: RelayKind = "bun";
let chosen: RelayKind | undefined;

/**
 * Chooses the relay of the tunnels made from now on in this process (undefined: back to
 * `TUNKIT_RELAY`, then {@link DEFAULT_RELAY}). "bun": Bun's sockets; "splice": tunkit's own fds
 * with splice(2) (proxy/fd-relay.ts).
 *
 * @example
 * ```ts
 * import { NativeRelay, useRelay } from "./tcp-relay.ts";
 * useRelay("bun");
 * NativeRelay.kind(); // "bun"
 * useRelay(undefined);
 * ```
 */
export function useRelay(kind: RelayKind | undefined): void {
  if (kind !== undefined && !RELAYS.includes(kind)) throw new RangeError(`Unknown relay "${kind}": expected ${RELAYS.join(" or ")}`);
  chosen = kind;
}

/**
 * The relay asked for: {@link useRelay}'s choice, else `TUNKIT_RELAY`, else
 * {@link DEFAULT_RELAY}. Unlike {@link NativeRelay.kind} it binds nothing (no splice FFI), so
 * the daemon can ask before its re-exec.
 *
 * @example
 * ```ts
 * import { useRelay, wantedRelay } from "./tcp-relay.ts";
 * useRelay("splice");
 * wantedRelay(); // "splice"
 * useRelay(undefined);
 * ```
 */
export function wantedRelay(): RelayKind {
  const env = globalThis.process?.env?.TUNKIT_RELAY;
  return chosen ?? (env === "splice" || env === "bun" ? env : DEFAULT_RELAY);
}

interface BunApi {
  listen(o: unknown): { port: number; stop(closeActive?: boolean): void };
  connect(o: unknown): Promise<NativeSocket>;
  /** A collection (synchronous and full when `force`); the heap's size after it, bytes. */
  gc(force: boolean): number;
}

/**
 * Relayed bytes left to the collector between two full collections, at least. Every chunk Bun
 * hands the relay is a fresh buffer (up to 512 KiB: Bun reads a socket into one buffer of that
 * size and copies what it got); one that is written whole is freed at once ({@link release}),
 * a queued one (behind a partial write) by the flush that writes it, so only small chunks (below
 * {@link RELEASE_MIN}) wait for a sweep, and only they count here. (Counting the queued ones too
 * made a download through a slow client run a full collection every 4 MiB: 11 against 2 in five
 * 100 MiB downloads, 10% more CPU per GB and twice the page faults.)
 * Left to its own heuristics the collector let 60-80 MB of read chunks pile up during a bulk
 * download (peak RSS 82-100 MB, bench/proxy-profile.ts download); one synchronous full
 * collection per 4 MiB of such bytes (or a quarter of the live heap, if larger) bounds them.
 */
const GC_MIN_BYTES = 4 << 20;

/**
 * Open accepted connections between two full collections while their count climbs (see
 * NativeRelay.heldCollect); `TUNKIT_HELD_GC` sets another step, 0 none. Opening 5,000 held
 * connections left the set-up's garbage (handshake machines, dial options and promises, the
 * sockets' first buffers) to the collector's heuristics: the daemon's anonymous memory peaked at
 * 25-37 MB at the end of the burst and fell to 22-29 once held (bench: /tmp harness, 3 starts);
 * with a collection per 1,000 it peaked at 19-22 MB. A full collection of that heap is a few ms,
 * five in a burst of 5,000; sequential short connections never climb and never pay one.
 */
export const HELD_GC_STEP = (() => {
  const v = globalThis.process?.env?.TUNKIT_HELD_GC;
  const n = v === undefined || v.trim() === "" ? NaN : Number(v);
  return Number.isInteger(n) && n >= 0 ? n : 1000;
})();

/**
 * Chunks at least this long are freed by {@link release} once written; smaller ones are left to
 * the collector (reaching a small typed array's buffer would allocate one).
 */
export const RELEASE_MIN = 16 << 10;

/**
 * Gives the memory of a chunk Bun handed the relay back to the allocator now, once all of it is
 * written: `ArrayBuffer.prototype.transfer(0)` detaches the chunk's buffer and frees its bytes
 * (a 0-byte buffer takes its place), where a dropped chunk would wait for the collector's next
 * sweep. With the allocator keeping freed pages (MIMALLOC_PURGE_DELAY=-1, as the daemon ran)
 * every chunk that waited stayed in the resident set after it: 8 iperf3 streams (2 Gbit/s, 512 KiB
 * chunks, 5-13 collections a second) left RSS at 82-91 MB; freed at once, the next read reuses
 * the same pages (mimalloc now keeps freed pages 250 ms: cli/socks.ts). Only for a buffer the
 * relay alone holds: Bun's read chunks (or a remainder of one), never a local flow's bytes.
 * Returns whether it freed the chunk.
 *
 * @example
 * ```ts
 * import { release } from "./tcp-relay.ts";
 * const chunk = new Uint8Array(64 << 10);
 * release(chunk); // true: chunk.length is now 0
 * ```
 */
export function release(d: Uint8Array): boolean {
  // the end of the view is the end of the chunk (a queued rest is a tail of one)
  if (d.byteOffset + d.byteLength < RELEASE_MIN) return false;
  (d.buffer as ArrayBuffer & { transfer(n: number): ArrayBuffer }).transfer(0);
  return true;
}

/**
 * Whether chunk `d`, kept or queued, can be freed only by the collector: true for a small one,
 * false for one {@link release} frees once it is written whole (queued behind a partial write,
 * or read before the stream opened, it is released by the flush that writes it).
 */
function waitsForCollector(d: Uint8Array): boolean {
  return d.byteOffset + d.byteLength < RELEASE_MIN;
}

/**
 * Bytes a client may send before its proxy stream opens that the relay reads and keeps; beyond
 * them its socket is paused and the rest waits in the kernel (the client's window closes).
 */
const EARLY_BYTES = 64 << 10;

const ignore = (): void => {};

/** User and system CPU time this process has used, ms (all its threads: the collector's too). */
function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/**
 * Writes queue `q` to `s` until the kernel takes less than offered (false) or it is empty (true);
 * with `free`, each chunk written whole is {@link release}d (the queue holds Bun's read chunks).
 */
function flush(s: NativeSocket, q: Uint8Array[], free: boolean): boolean {
  while (q.length) {
    const b = q[0]!;
    const n = s.write(b);
    if (n < 0) {
      q.length = 0;
      return true;
    }
    if (n < b.length) {
      q[0] = b.subarray(n);
      return false;
    }
    q.shift();
    if (free) release(b);
  }
  return true;
}

/**
 * TCP flows relayed between accepted connections and proxy connections, on Bun's sockets.
 *
 * @example
 * ```ts
 * import { NativeRelay, type RelayHost } from "./tcp-relay.ts";
 * declare const host: RelayHost;
 * const relay = new NativeRelay(host, 10_000);
 * const l = relay.listen("198.18.0.1", 0); // l.port: where the rewritten SYNs go
 * l.stop();
 * ```
 */
export class NativeRelay {
  private readonly bun: BunApi = (globalThis as unknown as { Bun: BunApi }).Bun;
  private readonly host: RelayHost;
  private readonly timeoutMs: number;
  /** Flows in handshake: one timer for all deadlines. */
  private readonly deadlines: HandshakeDeadlines;
  /**
   * Bytes relayed since the last collection, the next collection's threshold, the last one's end
   * and cost, in this process's CPU time (ms): wall time would count the time other processes
   * held the cores, and on a loaded machine the guard skipped most collections (bench/proxy.ts
   * bulk peak 79.6 MB against 62 in the unloaded profile).
   */
  private readonly cpu: () => number = processCpuMs;
  private relayed = 0;
  /** Accepted connections open now, and the count whose reaching makes the next held-flows collection. */
  private held = 0;
  private heldGcAt = HELD_GC_STEP;
  private gcAt = GC_MIN_BYTES;
  private gcEnd = 0;
  private gcCost = 0;

  /**
   * A relay for `host`'s flows. When the splice relay is chosen ({@link NativeRelay.kind}), the
   * relay made is an {@link FdRelay} (proxy/fd-relay.ts: tunkit's own fds, bytes moved by
   * splice(2) in the kernel), with the same methods and events, so the tunnel runs either unchanged.
   */
  constructor(host: RelayHost, timeoutMs: number) {
    this.host = host;
    this.timeoutMs = timeoutMs;
    this.deadlines = new HandshakeDeadlines(timeoutMs, (f, e) => this.fail(f, e));
    if (NativeRelay.kind() === "splice") return new FdRelay(host, timeoutMs) as unknown as NativeRelay;
  }

  /**
   * Which relay a new one is: the one {@link useRelay} chose (`--relay`, `relay =` in the config
   * file), else `TUNKIT_RELAY` from the environment, else {@link DEFAULT_RELAY}; "splice" only
   * where the runtime can (Bun), "bun" otherwise.
   */
  static kind(): RelayKind {
    const want = wantedRelay();
    return want === "splice" && spliceAvailable() ? "splice" : "bun";
  }

  /** Whether the running runtime has Bun's sockets. */
  static available(): boolean {
    const b = (globalThis as { Bun?: { listen?: unknown; connect?: unknown } }).Bun;
    return typeof b?.listen === "function" && typeof b?.connect === "function";
  }

  private readonly up = {
    open: (s: NativeSocket) => this.begin(s),
    data: (s: NativeSocket, d: Uint8Array) => {
      const f = s.data!;
      if (f.phase === 3) {
        const len = d.length;
        this.host.bytes(f, false, len);
        const c = f.cs!;
        if (f.qc) {
          f.qc.push(d);
        } else {
          const n = c.write(d);
          if (n >= 0 && n < len) {
            f.qc = [d.subarray(n)];
            s.pause();
          } else if (release(d)) return;
        }
        if (waitsForCollector(d) && (this.relayed += len) >= this.gcAt) this.collect();
      } else if (f.phase === 1) this.handshake(f, s, d);
      else if (f.phase === 2) f.head = f.head?.length ? concat(f.head, d) : d;
    },
    drain: (s: NativeSocket) => {
      const f = s.data!;
      // Before the stream opens, qu holds what the client sent early: attach() sends it after the
      // handshake. (An adopted fd, --fwmark/--bind-interface, gets a drain as soon as Bun polls it:
      // flushed here, the client's bytes went to the proxy ahead of the CONNECT.)
      if (f.phase < 3 || !f.qu || !flush(s, f.qu, true)) return;
      f.qu = undefined;
      if (f.finu) s.shutdown();
      else f.cs?.resume();
    },
    end: (s: NativeSocket) => {
      const f = s.data!;
      if (f.phase < 2) return this.fail(f, new ProxyError("protocol", `${f.who} closed the connection during the handshake`));
      this.host.fin(f, false);
      if (f.phase !== 3) {
        f.finc = true;
        return;
      }
      if (f.qc) f.finc = true;
      else f.cs!.shutdown();
    },
    close: (s: NativeSocket, e?: Error & { code?: string }) => {
      const f = s.data!;
      f.uclosed = true;
      if (e) f.uerr = e.code ?? e.message;
      if (f.phase < 2) return this.fail(f, e ? connectFailure(f.where, e, this.timeoutMs) : new ProxyError("protocol", `${f.who} closed the connection during the handshake`));
      if (f.phase !== 3) return;
      const c = f.cs!;
      if (f.cclosed) return;
      if (f.uerr) {
        this.host.upError(f, f.uerr);
        c.terminate();
      } else if (f.qc) f.finc = true;
      else c.shutdown();
    },
    connectError: (s: NativeSocket, e: Error & { code?: string }) => {
      const f = s.data;
      if (f) this.fail(f, connectFailure(f.where, e, this.timeoutMs));
    },
    error: () => {},
  };

  private readonly client = {
    data: (s: NativeSocket, d: Uint8Array) => {
      const f = s.data;
      if (!f) return;
      if (f.local) return this.host.localData(f, d);
      const len = d.length;
      this.host.bytes(f, true, len);
      if (f.phase < 3) {
        // read before the proxy answered: kept for attach(), the socket paused past EARLY_BYTES
        const q = (f.qu ??= []);
        q.push(d);
        let n = 0;
        for (const b of q) n += b.length;
        if (n >= EARLY_BYTES) s.pause();
      } else if (f.qu) {
        f.qu.push(d);
      } else {
        const n = f.us!.write(d);
        if (n >= 0 && n < len) {
          f.qu = [d.subarray(n)];
          s.pause();
        } else if (release(d)) return;
      }
      if (waitsForCollector(d) && (this.relayed += len) >= this.gcAt) this.collect();
    },
    drain: (s: NativeSocket) => {
      const f = s.data;
      if (!f?.qc || !flush(s, f.qc, !f.local)) return;
      f.qc = undefined;
      if (f.finc) s.shutdown();
      else f.us?.resume();
    },
    end: (s: NativeSocket) => {
      const f = s.data;
      if (!f) return;
      this.host.fin(f, true);
      if (f.local) return s.shutdown();
      if (f.qu || f.phase < 3) f.finu = true;
      else f.us!.shutdown();
    },
    close: (s: NativeSocket, e?: Error) => {
      const f = s.data;
      if (!f || f.cclosed) return;
      f.cclosed = true;
      // a later climb collects again from one step over where this fall left the count
      if (--this.held + 2 * HELD_GC_STEP <= this.heldGcAt) this.heldGcAt = this.held + HELD_GC_STEP;
      const u = f.us;
      if (f.phase < 2) {
        // the client left while the proxy was dialled: the dial ends too
        f.phase = 4;
        f.hs = undefined;
        if (u && !f.uclosed) u.terminate();
      } else if (u && !f.uclosed) {
        if (e) u.terminate();
        else if (f.qu) f.finu = true; // the proxy still gets what the client sent, then FIN
        else u.end();
      }
      this.host.closed(f);
    },
    error: () => {},
  };

  /** Binds a listener on `address` (port 0: any); its connections go to {@link RelayHost.accept} as listener `j`. */
  listen(address: string, j: number): { port: number; stop(): void } {
    const client = this.client;
    const host = this.host;
    const l = this.bun.listen({
      hostname: address,
      port: 0,
      allowHalfOpen: true,
      socket: {
        ...client,
        open: (s: NativeSocket) => {
          const f = host.accept(s, j);
          if (!f) {
            s.data = undefined;
            s.terminate();
            return;
          }
          s.data = f;
          f.cs = s;
          if (++this.held >= this.heldGcAt && HELD_GC_STEP > 0) this.heldCollect();
          if (f.local) {
            f.phase = 3;
            return;
          }
          // Accepted before the proxy answered (the tunnel lets the SYN through at once): the
          // client's first bytes are kept (up to EARLY_BYTES, then they wait in the kernel) and
          // go out as soon as the proxy stream opens (attach()).
          if (f.phase >= 2) this.attach(f, s);
        },
      },
    });
    return { port: l.port, stop: () => l.stop(true) };
  }

  /**
   * Starts relaying `f`: its proxy stream is open (phase 2) and `s` is its accepted connection;
   * `paused`: whether the proxy socket was paused (it reads again unless the client's side is
   * backed up).
   */
  private attach(f: RelayFlow, s: NativeSocket, paused = true): void {
    f.phase = 3;
    const u = f.us!;
    if (f.head?.length) {
      this.host.bytes(f, false, f.head.length);
      const n = s.write(f.head);
      if (n >= 0 && n < f.head.length) f.qc = [f.head.subarray(n)];
    }
    f.head = undefined;
    if (f.uclosed) {
      if (f.uerr) s.terminate();
      else if (f.qc) f.finc = true;
      else s.shutdown();
    } else if (f.finc) {
      // the proxy's FIN came before the accept
      if (!f.qc) s.shutdown();
    } else if (!f.qc) {
      if (paused) u.resume();
    } else if (!paused) u.pause();
    if (f.qu) {
      // what the client sent before the proxy answered goes first (the rest on the proxy socket's
      // drain, the client paused meanwhile as after any partial write)
      if (!flush(u, f.qu, true)) return s.pause();
      f.qu = undefined;
    }
    if (f.finu) u.shutdown();
    else s.resume();
  }

  /**
   * Connects to the proxy (`host`:`port`, with `so`'s socket options) and runs `hs` on it; the
   * outcome comes as {@link RelayHost.ready} or {@link RelayHost.failed}.
   */
  dial(f: RelayFlow, host: string, port: number, hs: HandshakeMachine, so?: DialSocketOptions): void {
    f.hs = hs;
    f.phase = 0;
    this.deadlines.add(f);
    if (so && (so.mark || so.device)) {
      const opts = { allowHalfOpen: true, data: f, socket: this.up };
      connectFd(so.address ?? host, port, so, this.timeoutMs).then(
        (fd) => {
          if (f.phase !== 0) return closeFd(fd); // failed (timed out) meanwhile
          this.bun.connect({ ...opts, fd }).then((s) => this.begin(s), (e: Error & { code?: string }) => this.fail(f, connectFailure(f.where, e, this.timeoutMs)));
        },
        (e: Error & { code?: string }) => this.fail(f, connectFailure(f.where, e, this.timeoutMs)),
      );
      return;
    }
    // One options object, and one shared no-op for the promise (its failure comes as connectError).
    this.bun.connect({ allowHalfOpen: true, data: f, socket: this.up, hostname: so?.address ?? host, port }).catch(ignore);
  }

  /**
   * A full collection, so the chunks relayed since the last one are freed now (see
   * {@link GC_MIN_BYTES}); skipped while the collections would take over a fifth of the
   * process's CPU time.
   */
  private collect(): void {
    const t0 = this.cpu();
    if (t0 - this.gcEnd < 4 * this.gcCost) return;
    this.relayed = 0;
    const heap = this.bun.gc(true);
    this.gcEnd = this.cpu();
    this.gcCost = this.gcEnd - t0;
    this.gcAt = Math.max(GC_MIN_BYTES, heap / 4);
  }

  /**
   * A full collection each time the accepted connections open at once climb {@link HELD_GC_STEP}
   * over the last such collection (a burst of held connections), so the garbage of their set-up
   * does not pile up until the collector's own heuristics run.
   */
  private heldCollect(): void {
    this.heldGcAt = this.held + HELD_GC_STEP;
    this.bun.gc(true);
  }

  /** Connected: sends the handshake's first bytes (once, from "open" or the adopted fd). */
  private begin(s: NativeSocket): void {
    const f = s.data;
    if (!f) return;
    if (f.phase !== 0) {
      // open and the adopted fd's promise both come here (with two different objects for the one
      // connection): only a connect whose flow gave up meanwhile (failed, or its client left) ends
      if (f.phase === 4) s.terminate();
      return;
    }
    f.us = s;
    f.phase = 1;
    s.write(f.hs!.start());
  }

  private handshake(f: RelayFlow, s: NativeSocket, d: Uint8Array): void {
    let step;
    try {
      step = f.hs!.feed(d);
    } catch (e) {
      return this.fail(f, e instanceof ProxyError ? e : new ProxyError("protocol", `${f.who}: ${(e as Error).message}`));
    }
    if (step.send) s.write(step.send);
    if (!step.done) return;
    f.hs = undefined;
    f.phase = 2;
    // Paused until the accept, which attach()es; with the client's connection accepted already
    // (early open, the usual case) attach() runs now and the socket is never paused: a pause and
    // a resume were two epoll_ctl between the CONNECT reply and the client's first bytes.
    const accepted = f.cs !== undefined && !f.cclosed;
    if (!accepted) s.pause();
    if (step.rest?.length) f.head = step.rest;
    this.host.ready(f);
    // The client's connection was accepted while the proxy was dialled: relay now.
    if (f.phase === 2 && f.cs && !f.cclosed) this.attach(f, f.cs, !accepted);
  }

  /** Ends a flow that never opened (once). */
  private fail(f: RelayFlow, e: ProxyError): void {
    if (f.phase >= 2) return;
    f.phase = 4;
    f.hs = undefined;
    const u = f.us;
    f.us = undefined;
    if (u && !f.uclosed) u.terminate();
    this.host.failed(f, e);
    // An accepted client gets a RST: its connection opened, its destination could not.
    if (f.cs && !f.cclosed) f.cs.terminate();
  }

  /** Writes bytes of a local flow to its client. */
  writeClient(f: RelayFlow, d: Uint8Array): void {
    const c = f.cs;
    if (!c) return;
    if (f.qc) {
      f.qc.push(d);
      return;
    }
    const n = c.write(d);
    if (n >= 0 && n < d.length) f.qc = [d.subarray(n)];
  }

  /** Closes both connections of `f` at once (RST to the client when `reset`). */
  destroy(f: RelayFlow, reset = true): void {
    if (f.phase < 2) {
      // not open yet: dropped quietly (the caller accounts for the flow)
      f.phase = 4;
      f.hs = undefined;
      if (f.us && !f.uclosed) f.us.terminate();
      if (f.cs && !f.cclosed) f.cs.terminate();
      return;
    }
    if (f.us && !f.uclosed) f.us.terminate();
    if (f.cs && !f.cclosed) {
      if (reset) f.cs.terminate();
      else f.cs.end();
    }
  }

  /** The host wrote into the tun: nothing to do here (Bun's own loop sees its sockets). */
  tunWritten(): void {}

  /** Stops the deadline timer. */
  close(): void {
    this.deadlines.close();
  }
}
