/**
 * `bpf(2)`'s BPF_PROG_LOAD, the one eBPF call tunkit makes (tun/steer.ts loads a queue-steering
 * program with it). glibc has no `bpf()` wrapper: the call goes through libc's `syscall`, bound
 * here (bun:ffi's natives, as ffi/bun.ts) with a FIXED signature `long syscall(long nr, long cmd, void *attr, unsigned size)` in its
 * own dlopen on first use. `syscall` is variadic in C, and bun:ffi cannot call variadic
 * functions; glibc's and musl's `syscall` read their arguments from the integer registers
 * without va_arg, so the fixed form passes exactly what the variadic one would (x86_64,
 * aarch64), as `ioctl`/`fcntl` in ffi/symbols.ts. The return is declared int: an fd or -1.
 *
 * Bun only (under Deno {@link bpfAvailable} is false and a load throws); errno is read with
 * libc's {@link errno} right after the failing call (it is the calling thread's).
 *
 * A refused program: the first load runs without a log (the common, successful path costs no
 * log buffer); when it fails, it is loaded once more with `log_level` 1 to get the verifier's
 * words, which {@link BpfLoadError} carries (the errno is the first attempt's).
 *
 * @module
 */
import { TunkitError } from "../common/errors.ts";
import { ERRNO, SysError } from "./errors.ts";
import { addrValue, arch, cstr, errno, raw, runtime, sys } from "./libc.ts";
import { LIBC_NAMES } from "./symbols.ts";

/** `enum bpf_prog_type` values tunkit loads. */
export const BPF_PROG_TYPE = { SOCKET_FILTER: 1 } as const;
/** `enum bpf_cmd`: BPF_PROG_LOAD. */
const BPF_PROG_LOAD = 5;
/** `__NR_bpf` per architecture (x86_64 syscall_64.tbl; asm-generic for aarch64). */
const NR_BPF: Record<string, number> = { x64: 321, arm64: 280 };
/** `union bpf_attr` up to and including `expected_attach_type` (offset 68): what the load sets. */
const ATTR_SIZE = 72;
/** The verifier log's buffer on a refused load. */
const LOG_SIZE = 64 * 1024;
/** Size of one `struct bpf_insn`. */
export const BPF_INSN_SIZE = 8;
/** The kernel's BPF_MAXINSNS for an unprivileged load (privileged ones may be longer). */
export const BPF_MAXINSNS = 4096;

type SyscallFn = (nr: number, cmd: number, attr: Uint8Array, size: number) => number;
let syscallFn: SyscallFn | undefined;

/** bun:ffi's natives (`Bun.FFI`), read when first used: importing this module costs no FFI set-up. */
interface Natives {
  dlopen(path: string, decls: Record<string, { args: number[]; returns: number }>): { symbols: Record<string, unknown> };
}
/** bun:ffi's FFIType numbers: int64_t, int32_t, uint32_t, pointer. */
const T = { i64: 7, i32: 5, u32: 6, ptr: 12 } as const;
const natives = (): Natives | undefined => (runtime === "bun" ? (globalThis as { Bun?: { FFI?: Natives } }).Bun?.FFI : undefined);

/** Whether this runtime can load eBPF programs (Bun: yes; Deno: not bound). */
export function bpfAvailable(): boolean {
  return natives() !== undefined && NR_BPF[arch] !== undefined;
}

function bind(): SyscallFn {
  if (syscallFn) return syscallFn;
  const ffi = natives();
  if (!ffi) throw new TunkitError("Loading an eBPF program needs the Bun runtime (the tunkit binary)", "run it with bun, or do without the steering program");
  let last: unknown;
  for (const path of LIBC_NAMES) {
    try {
      const s = ffi.dlopen(path, { syscall: { args: [T.i64, T.i64, T.ptr, T.u32], returns: T.i32 } }).symbols;
      return (syscallFn = s.syscall as SyscallFn);
    } catch (e) {
      last = e;
    }
  }
  throw new TunkitError(`Cannot load libc for bpf(): ${String(last)}`);
}

/**
 * The hint for a failed BPF_PROG_LOAD. `unprivDisabled` is kernel.unprivileged_bpf_disabled
 * (/proc/sys/kernel/unprivileged_bpf_disabled), undefined when it could not be read.
 *
 * @example
 * ```ts
 * import { bpfLoadHint } from "./bpf.ts";
 * bpfLoadHint(1, 2)?.startsWith("loading an eBPF program needs CAP_BPF"); // true
 * ```
 */
export function bpfLoadHint(err: number, unprivDisabled: number | undefined, log = ""): string | undefined {
  switch (err) {
    case ERRNO.EPERM:
      if (unprivDisabled === 0) {
        return "the kernel refused bpf() although unprivileged eBPF is enabled here (kernel.unprivileged_bpf_disabled = 0): a seccomp filter, kernel lockdown or a security module; run as root outside that sandbox";
      }
      return `loading an eBPF program needs CAP_BPF or CAP_SYS_ADMIN${unprivDisabled === undefined ? "" : ` (kernel.unprivileged_bpf_disabled = ${unprivDisabled})`}: run as root; the capabilities of a user namespace (unshare -rn) do not count for bpf()`;
    case ERRNO.EINVAL:
    case ERRNO.EACCES: {
      const tail = log.trim().split("\n").filter((l) => l.trim() !== "").slice(-6).join(" | ");
      return tail ? `the kernel's verifier refused the program: ${tail}` : "the kernel refused the program (no verifier log): an unknown program type or attribute for this kernel";
    }
    case ERRNO.ENOSYS:
      return "this kernel has no bpf() system call (CONFIG_BPF_SYSCALL is off)";
    case ERRNO.E2BIG:
      return `the program is too long for this kernel (at most ${BPF_MAXINSNS} instructions unprivileged)`;
    case ERRNO.ENOMEM:
      return "the kernel could not allocate the program: raise the memlock limit (ulimit -l) on kernels before 5.11, or free memory";
    default:
      return undefined;
  }
}

/**
 * BPF_PROG_LOAD refused: a {@link SysError} with the verifier's log when the kernel gave one.
 *
 * @example
 * ```ts
 * import { BpfLoadError } from "./bpf.ts";
 * const e = new BpfLoadError(22, "tunkit_steer", "0: R0 !read_ok\n", undefined);
 * e.code; // "EINVAL"
 * ```
 */
export class BpfLoadError extends SysError {
  /** The verifier's log of the refused load ("" when the kernel wrote none). */
  readonly log: string;
  /** A refused load of program `name`; `log` is the verifier's text. */
  constructor(err: number, name: string, log: string, unprivDisabled: number | undefined) {
    super("bpf(BPF_PROG_LOAD)", err, name, bpfLoadHint(err, unprivDisabled, log));
    this.log = log;
  }
}

function readUnprivDisabled(): number | undefined {
  try {
    const b = sys.readFileIfAny("/proc/sys/kernel/unprivileged_bpf_disabled");
    const v = b ? Number.parseInt(new TextDecoder().decode(b), 10) : Number.NaN;
    return Number.isInteger(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Loads an eBPF program (`insns`: raw `struct bpf_insn` array) of `type` with license "GPL";
 * returns its fd (close-on-exec, as every bpf fd). Throws {@link BpfLoadError} when the kernel
 * refuses, with the verifier's log.
 *
 * @example
 * ```ts
 * import { bpfProgLoad, BPF_PROG_TYPE } from "./bpf.ts";
 * // r0 = 0; exit
 * const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
 * const fd = bpfProgLoad(BPF_PROG_TYPE.SOCKET_FILTER, insns, "tunkit_zero");
 * ```
 */
export function bpfProgLoad(type: number, insns: Uint8Array, name: string): number {
  const call = bind();
  const nr = NR_BPF[arch];
  if (nr === undefined) throw new TunkitError(`bpf() is not known on ${arch}`);
  // The kernel reads insns, license and the log through the addresses stored in the attr: these
  // arrays stay referenced until the call returns.
  const prog = insns;
  const license = cstr("GPL");
  const attr = new Uint8Array(ATTR_SIZE);
  const v = new DataView(attr.buffer);
  v.setUint32(0, type, true);
  v.setUint32(4, prog.length / BPF_INSN_SIZE, true);
  v.setBigUint64(8, addrValue(prog), true);
  v.setBigUint64(16, addrValue(license), true);
  // prog_name (offset 48, 16 bytes): letters, digits, '_' and '.', at most 15 of them.
  attr.set(new TextEncoder().encode(name.replace(/[^A-Za-z0-9_.]/g, "_").slice(0, 15)), 48);
  const fd = call(nr, BPF_PROG_LOAD, attr, ATTR_SIZE);
  if (fd >= 0) return fd;
  const err = errno();
  // Again with the verifier's log, to say why.
  const log = new Uint8Array(LOG_SIZE);
  v.setUint32(24, 1, true); // log_level
  v.setUint32(28, LOG_SIZE, true);
  v.setBigUint64(32, addrValue(log), true);
  const again = call(nr, BPF_PROG_LOAD, attr, ATTR_SIZE);
  if (again >= 0) raw.close(again); // refused once, accepted now: still report the first refusal
  const end = log.indexOf(0);
  const text = new TextDecoder().decode(log.subarray(0, end < 0 ? log.length : end));
  throw new BpfLoadError(err, name, text, err === ERRNO.EPERM ? readUnprivDisabled() : undefined);
}
