/**
 * The error types every part of tunkit shares.
 *
 * - {@link TunkitError}: base class; `hint` says what the user can do about it.
 * - {@link UsageError}: bad input caught before anything touched the system (CLI exit code 2).
 * - {@link TruncatedError}: a decoder ran past the end of its input.
 * - {@link MalformedError}: a decoder met a value that cannot be right (bad length, bad version).
 *
 * @module
 */

/** Base class of tunkit's own errors. `hint` is an actionable sentence, or undefined. */
export class TunkitError extends Error {
  /** What the user can do about it. */
  readonly hint: string | undefined;
  /** An error with an optional `hint:` line for the user. */
  constructor(message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }

  /**
   * Replaces the hint with one a caller who knows more can give (the errno alone says EACCES;
   * the caller knows it was an IPv6 address on a device with IPv6 off). Returns the same error,
   * class, code and all.
   *
   * @example
   * ```ts
   * import { TunkitError } from "./errors.ts";
   * new TunkitError("add address: permission denied").withHint("IPv6 is disabled on tun0").hint; // "IPv6 is disabled on tun0"
   * ```
   */
  withHint(hint: string): this {
    (this as { hint: string | undefined }).hint = hint;
    return this;
  }
}

/**
 * Bad input: a name, address, number or word that tunkit refuses before any syscall.
 *
 * @example
 * ```ts
 * import { UsageError } from "./errors.ts";
 * try { throw new UsageError('Invalid MTU "70000": expected 68..65535'); }
 * catch (e) { console.log(e instanceof UsageError); } // true
 * ```
 */
export class UsageError extends TunkitError {}

/** A decoder needed more bytes than the input holds. */
export class TruncatedError extends TunkitError {
  /** Offset at which the read was attempted. */
  readonly offset: number;
  /** Bytes the read needed. */
  readonly needed: number;
  /** Bytes the input holds. */
  readonly available: number;
  /**
   * A read of `needed` bytes at `offset` that the input cannot satisfy.
   *
   * @param what What was being read ("nlmsghdr", "IPv4 header").
   * @param offset Byte offset where the read began.
   * @param needed Bytes the read needed.
   * @param available Bytes the input holds.
   */
  constructor(what: string, offset: number, needed: number, available: number) {
    super(`Truncated ${what}: need ${needed} bytes at offset ${offset}, have ${Math.max(0, available - offset)}`);
    this.offset = offset;
    this.needed = needed;
    this.available = available;
  }
}

/** A decoder found a value that cannot be right (a length smaller than its header, a bad version). */
export class MalformedError extends TunkitError {
  /** Offset of the offending field. */
  readonly offset: number;
  /**
   * A field at `offset` that cannot be right.
   *
   * @param message One sentence saying what is wrong, the offending value quoted.
   * @param offset Offset of the offending field.
   */
  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/** True for the errors a decoder throws on hostile or short input. */
export function isDecodeError(e: unknown): e is TruncatedError | MalformedError {
  return e instanceof TruncatedError || e instanceof MalformedError;
}
