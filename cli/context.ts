/**
 * What every command shares: the output switches, the namespace to act in, and the batch
 * that `tunkit batch` collects route/address requests into.
 *
 * @module
 */
import { enterNetns, netnsPath, Rtnl, type NetlinkBatchItem } from "../mod.ts";
import { makeOutput, type Output } from "./output.ts";

/** Global options, filled in once commander has parsed them. */
export interface GlobalOptions {
  json: boolean;
  quiet: boolean;
  netns?: string;
}

/** Sinks the CLI writes to; tests and `batch` swap them. */
export interface Sinks {
  stdout(s: string): void;
  stderr(s: string): void;
  /** Reads all of stdin (for `batch -`). */
  stdin(): Promise<string>;
}

/** The shared state of one CLI invocation. */
export class Ctx {
  opts: GlobalOptions = { json: false, quiet: false };
  readonly sinks: Sinks;
  private entered = false;
  /** Builds a fresh command tree on this context (set by run(); `tunkit batch` parses its lines with it). */
  makeProgram: (() => Promise<import("@commander-js/extra-typings").Command>) | undefined;
  /** Set by `tunkit batch`: the batch's own options, which its lines inherit. */
  baseOpts: GlobalOptions | undefined;
  /** Set by `tunkit batch`: commands hand it their ops instead of running them. */
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

  private nl: Rtnl | undefined;

  /** The rtnetlink connection of this invocation (opened on first use, inside the `-n` namespace). */
  rtnl(): Rtnl {
    this.enter();
    if (!this.nl) {
      const nl = Rtnl.open();
      this.nl = nl;
      this.onClose(() => {
        nl.close();
        this.nl = undefined;
      });
    }
    return this.nl;
  }

  /** Runs an op now, or hands it to `tunkit batch` when collecting. */
  async perform(op: Op): Promise<void> {
    if (!this.collect) return void (await op.run());
    // A batch line keeps the output options it was parsed with.
    const opts = { ...this.opts };
    this.collect.push({
      run: () => {
        this.opts = opts;
        return op.run();
      },
      pipeline: op.pipeline,
    });
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

/**
 * One unit of work a command asks for, after validating its arguments. `run` does it alone;
 * `pipeline`, when present, builds the same work as a netlink request that `tunkit batch`
 * sends pipelined with its neighbours.
 */
export interface Op {
  run(): Promise<void> | void;
  pipeline?: (nl: Rtnl, devCache: Map<string, number>) => Promise<NetlinkBatchItem>;
}

/** Where `tunkit batch` collects the ops of its lines instead of running them. */
export interface OpSink {
  push(op: Op): void;
}
