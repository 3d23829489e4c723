/**
 * What every command shares: the global options, the sinks it writes to, the namespace to act
 * in, and the {@link Op} shape that lets `tunkit batch` pipeline what a command asks for.
 *
 * @module
 */
import { enterNetns, netnsPath } from "../ffi/netns.ts";
import { type BatchItem, NetlinkConn } from "../netlink/conn.ts";
import { linkIndex } from "../netlink/ifindex.ts";
import type { Rtnl } from "../netlink/rtnl.ts";
import { errno, raw } from "../ffi/libc.ts";
import { errnoName } from "../ffi/errors.ts";
import { nodeFs } from "../common/builtins.ts";
import { makeOutput, stderrWriter, stdoutWriter, useFdWrite, type FdWrite, type Output } from "./output.ts";

/**
 * write(2) through libc: the count written, or the errno's name. The CLI's output goes through
 * it from the moment this module loads (cli/output.ts's useFdWrite), not through node:fs.
 *
 * @example
 * ```ts
 * import { libcWrite } from "./context.ts";
 * libcWrite(1, new TextEncoder().encode("hi\n"), 0, 3); // 3
 * ```
 */
export const libcWrite: FdWrite = (fd, bytes, off, len) => {
  const n = raw.write(fd, off ? bytes.subarray(off) : bytes, len);
  return n >= 0 ? n : errnoName(errno());
};
useFdWrite(libcWrite);

/**
 * The rtnetlink client's class, once {@link loadRtnl} has loaded it. A one-shot `route add` or
 * `addr add` never loads it: it sends its one request over {@link Ctx.conn} (start-up, issue 11:
 * netlink/rtnl.ts brings every object's spec and codec, about a third of the netlink modules).
 */
let RtnlClass: typeof Rtnl | undefined;

/**
 * Loads the rtnetlink client {@link Ctx.rtnl} hands out (with this machine's iproute2 names as
 * the default, as `Rtnl.open()` does). cli/run.ts awaits it before any command but a {@link Op.lean} one.
 *
 * @example
 * ```ts
 * import { Ctx, loadRtnl } from "./context.ts";
 * await loadRtnl();
 * const ctx = new Ctx({ stdout: console.log, stderr: console.error });
 * await ctx.rtnl().listLinks();
 * await ctx.close();
 * ```
 */
export async function loadRtnl(): Promise<void> {
  if (RtnlClass) return;
  const [{ Rtnl }, { isDefaultIpNamesSet }] = await Promise.all([import("../netlink/rtnl.ts"), import("../netlink/route/names.ts")]);
  if (!isDefaultIpNamesSet()) (await import("../netlink/names.ts")).useSystemIpNames();
  RtnlClass = Rtnl;
}

/**
 * A value made on first use and kept: the keyword tables of the verbs a command line did not
 * name are never built (`route add` builds no `route list` table: start-up, issue 11).
 *
 * @example
 * ```ts
 * import { lazy } from "./context.ts";
 * const table = lazy(() => new Map([["dev", 1]]));
 * table().get("dev"); // 1
 * ```
 */
export function lazy<T>(make: () => T): () => T {
  let v: T | undefined;
  return () => (v ??= make());
}

/** Global options (given before the command word, like ip's; `--json`/`--netns` anywhere). */
export interface GlobalOptions {
  json: boolean;
  quiet: boolean;
  netns?: string;
  /** `-4` / `-6` / `-0` / `-f FAMILY`: AF_INET (2), AF_INET6 (10) or AF_PACKET (17); undefined when not given. */
  family?: number;
  /** `-p`: JSON indented like `ip -j -p`. */
  pretty?: boolean;
  /** `-d`: details. */
  details?: boolean;
  /** `-s` (1), `-s -s` (2): statistics. */
  stats?: number;
  /** `-br`: one brief line per object. */
  brief?: boolean;
  /** `-o`: one line per object. */
  oneline?: boolean;
  /** `-force`: a batch goes on after errors. */
  force?: boolean;
  /** `-b FILE`: run FILE as a batch. */
  batch?: string;
  /** `-hu` (-human): human-readable statistics. */
  human?: boolean;
  /** `-iec`: powers of 1024 with -human. */
  iec?: boolean;
}

/** Sinks the CLI writes to; tests and `batch` swap them. */
export interface Sinks {
  stdout(s: string): void;
  stderr(s: string): void;
  /** stdin as chunks (for `batch -`). */
  stdin?(): AsyncIterable<Uint8Array>;
  /** Writes out whatever is buffered (run() calls it before returning). */
  flush?(): void;
  /** True when stderr is a terminal (progress lines). */
  stderrIsTty?(): boolean;
}

/** Default sinks: stdout/stderr as synchronous writers, stdin as chunks. */
export function processSinks(): Sinks {
  const out = stdoutWriter();
  const err = stderrWriter();
  return {
    stdout: (s) => out.write(s),
    stderr: (s) => err.write(s),
    stdin: () => process.stdin as unknown as AsyncIterable<Uint8Array>,
    flush: () => {
      out.flush();
      err.flush();
    },
    stderrIsTty: () => isTty(2),
  };
}

/** Whether `fd` is a terminal (the symlink /proc/self/fd/N names a tty or pts device): no node:tty at start-up. */
function isTty(fd: number): boolean {
  try {
    return /^\/dev\/(pts\/\d+|tty\w*|console)$/.test(nodeFs().readlinkSync(`/proc/self/fd/${fd}`));
  } catch {
    return false;
  }
}

/** The shared state of one CLI invocation. */
export class Ctx {
  opts: GlobalOptions = { json: false, quiet: false };
  readonly sinks: Sinks;
  private entered = false;
  /** Set by `tunkit batch`: commands hand it their ops instead of running them (commander-parsed lines). */
  collect: OpSink | undefined;
  /** Exit code when the command ends without throwing (0 unless a command says otherwise). */
  exitCode = 0;
  private cleanups: Array<() => void | Promise<void>> = [];

  constructor(sinks: Sinks) {
    this.sinks = sinks;
  }

  /** Output shaped by the global options. */
  get out(): Output {
    return makeOutput(this.opts, this.sinks.stdout, this.sinks.stderr);
  }

  /** Output shaped by `opts` (a batch line's own options). */
  outFor(opts: GlobalOptions): Output {
    return opts === this.opts ? this.out : makeOutput(opts, this.sinks.stdout, this.sinks.stderr);
  }

  private nl: Rtnl | undefined;
  private nc: NetlinkConn | undefined;

  /** The netlink socket of this invocation (opened on first use, inside the `-n` namespace). */
  conn(): NetlinkConn {
    this.enter();
    if (!this.nc) {
      const c = NetlinkConn.open();
      this.nc = c;
      this.onClose(() => {
        c.close();
        this.nc = undefined;
        this.nl = undefined;
      });
    }
    return this.nc;
  }

  /**
   * The rtnetlink client of this invocation, over {@link conn}'s socket. {@link loadRtnl} must
   * have been awaited (cli/run.ts does, for every command but a lean one).
   */
  rtnl(): Rtnl {
    if (!this.nl) {
      if (!RtnlClass) throw new Error("Ctx.rtnl() called before loadRtnl()");
      this.nl = new RtnlClass(this.conn());
    }
    return this.nl;
  }

  /**
   * Runs one pipelinable request alone: its devices looked up (header-only RTM_GETLINK), then the
   * request sent with NLM_F_ACK and its ack awaited. Only {@link conn} is used: the way a lean
   * op (`route add`, `addr add`) runs without the rtnetlink client.
   */
  async runRequest(req: PipelineRequest): Promise<void> {
    const conn = this.conn();
    const index = new Map<string, number>();
    for (const d of req.devs) if (!index.has(d)) index.set(d, await linkIndex(conn, d));
    const it = req.build((d) => index.get(d)!);
    // The item may be a class instance whose body() reads its own fields (cli/route.ts RouteLine).
    await conn.exec(it.type, it.flags, (w) => it.body(w), it.op, it.subject);
  }

  /** Runs an op now, or hands it to `tunkit batch` when collecting. */
  async perform(op: Op): Promise<void> {
    if (!this.collect) return void (await op.run());
    this.collect.push(op);
  }

  /** Registers something to release when the invocation ends (a netlink socket). */
  onClose(fn: () => void | Promise<void>): void {
    this.cleanups.push(fn);
  }

  /** Releases what {@link onClose} registered, last first. */
  async close(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        /* closing is best effort */
      }
    }
  }

  /** Validates `-n NAME` without touching the system (called before any command runs). */
  checkNetns(): void {
    if (this.opts.netns !== undefined) netnsPath(this.opts.netns);
  }

  /**
   * Moves into the `-n` namespace, once. Commands call it after validating their arguments
   * and before their first syscall.
   */
  enter(): void {
    if (this.entered) return;
    this.entered = true;
    if (this.opts.netns !== undefined) enterNetns(this.opts.netns);
  }
}

/** The pipelinable form of an op. */
export interface PipelineRequest {
  /** Device names `build` needs as indexes. */
  devs: readonly string[];
  /** Builds the request; `index(name)` gives a device's index (resolved by the caller first). */
  build(index: (name: string) => number): BatchItem;
  /**
   * The exact inverse of the built request once it succeeded (the added route deleted), called
   * only when it must be undone. Present only when such an inverse exists: batch then sends later
   * lines in the same datagram as this one and undoes them if an earlier one fails; a request
   * without it goes first in its datagram.
   */
  undo?(): BatchItem;
}

/**
 * One unit of work a command asks for, after validating its arguments. `run` does it alone;
 * `request`, when present, is the same work as a netlink request that `tunkit batch` sends
 * pipelined with its neighbours.
 */
export interface Op {
  run(): Promise<void> | void;
  request?: PipelineRequest;
  /**
   * True when `run` needs only {@link Ctx.conn}, never {@link Ctx.rtnl}: cli/run.ts then does not load
   * the rtnetlink client (a one-shot command's start-up).
   */
  lean?: boolean;
}

/** Where `tunkit batch` collects the ops of commander-parsed lines instead of running them. */
export interface OpSink {
  push(op: Op): void;
}
