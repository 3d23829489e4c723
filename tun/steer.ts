/**
 * Queue steering on a multi-queue tun: an eBPF socket-filter program the kernel runs for every
 * packet the tun transmits (toward its readers), whose return value picks the queue
 * (`tun_ebpf_select_queue` in drivers/net/tun.c: the value modulo the number of attached queues;
 * without a program the kernel hashes the flow). {@link udpSteeringProgram} builds one that sends
 * IPv4 and IPv6 UDP to one queue (so a thread of its own can serve the UDP path) and everything
 * else to queue 0; {@link loadSteering} loads it (bpf(BPF_PROG_LOAD), ffi/bpf.ts),
 * {@link attachSteering} attaches it (TUNSETSTEERINGEBPF) or detaches it (null).
 *
 * What goes to queue 0 whatever the protocol: IPv4 fragments (MF set or an offset: a fragment
 * after the first has no ports, and a datagram's fragments must reach one reader), IPv6 with an
 * extension header before UDP (its next header is not 17; fragments included), UDP to one of
 * `keepPorts` (e.g. 53, which the main thread's DNS serves), and any packet too short for the
 * field read (the program's packet load fails, which ends it returning 0).
 *
 * The program reads the packet from its IP header (offset 0 is the version nibble): that is what
 * a tun (IFF_TUN) transmits, with or without IFF_NO_PI/vnet_hdr (those are framing on the fd, not
 * in the skb); a tap's packets start with Ethernet, so {@link attachSteering} refuses a tap.
 *
 * The queue number is taken modulo the queues still attached: when the UDP queue's fd closes
 * (its reader died), its UDP lands on the queues left (queue 0 of a 2-queue device), nothing is
 * dropped or left unread on a queue nobody serves.
 *
 * Checked on this kernel (6.18) by tests/integration/tun-steer.test.ts: UDP over IPv4 and IPv6
 * on queue 1 of 2, TCP SYNs, pings, fragments and UDP to port 53 on queue 0, back to the
 * kernel's hash after a detach, and to queue 0 once queue 1 is closed. Session 12's probe (/tmp/udp1/steer.c, IPv4 only): 5/5 UDP on
 * queue 1, 7/7 others on queue 0.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { IFF, TUN_IOCTL, IFREQ_SIZE, unpackIfreq } from "../ffi/abi.ts";
import { BPF_INSN_SIZE, BPF_MAXINSNS, BPF_PROG_TYPE, bpfProgLoad } from "../ffi/bpf.ts";
import { ERRNO, SysError } from "../ffi/errors.ts";
import { errno, raw, sys } from "../ffi/libc.ts";
import type { TunQueue } from "./queue.ts";

// --- eBPF encoding (include/uapi/linux/bpf.h, bpf_common.h) ----------------------------------

/** Instruction classes. */
const LD = 0x00, JMP = 0x05, ALU64 = 0x07;
/** Load sizes and modes. */
const H = 0x08, B = 0x10, ABS = 0x20, IND = 0x40;
/** ALU operations, operand source. */
const AND = 0x50, LSH = 0x60, RSH = 0x70, MOV = 0xb0, K = 0x00, X = 0x08;
/** Jump operations. */
const JA = 0x00, JEQ = 0x10, JNE = 0x50, EXIT = 0x90;

/** Most `keepPorts` a program takes (each is one compare; jumps stay far inside 16 bits). */
export const MAX_KEEP_PORTS = 64;

/** One instruction before assembly: `to` names the label a jump goes to. */
interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
  to?: string;
}

/** A tiny assembler: instructions in order, labels by name, forward jumps only (no loop for the verifier to reject). */
class Asm {
  private readonly insns: Insn[] = [];
  private readonly labels = new Map<string, number>();
  emit(code: number, dst = 0, src = 0, off = 0, imm = 0, to?: string): this {
    this.insns.push({ code, dst, src, off, imm, to });
    return this;
  }
  label(name: string): this {
    this.labels.set(name, this.insns.length);
    return this;
  }
  /** r0 = the byte/half-word at `off` of the packet (host order); a load past the end ends the program with 0. */
  ldAbs(size: number, off: number): this {
    return this.emit(LD | size | ABS, 0, 0, 0, off);
  }
  /** r0 = the half-word/byte at r`reg` + `off`. */
  ldInd(size: number, reg: number, off: number): this {
    return this.emit(LD | size | IND, 0, reg, 0, off);
  }
  alu(op: number, dst: number, imm: number): this {
    return this.emit(ALU64 | op | K, dst, 0, 0, imm);
  }
  movReg(dst: number, src: number): this {
    return this.emit(ALU64 | MOV | X, dst, src);
  }
  /** if (r0 op imm) goto label. */
  jmp(op: number, imm: number, to: string): this {
    return this.emit(JMP | op | K, 0, 0, 0, imm, to);
  }
  ja(to: string): this {
    return this.emit(JMP | JA, 0, 0, 0, 0, to);
  }
  ret(value: number): this {
    return this.alu(MOV, 0, value).emit(JMP | EXIT);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.insns.length * BPF_INSN_SIZE);
    const v = new DataView(out.buffer);
    this.insns.forEach((ins, i) => {
      let off = ins.off;
      if (ins.to !== undefined) {
        const at = this.labels.get(ins.to);
        if (at === undefined || at <= i) throw new Error(`steer: bad jump to "${ins.to}"`);
        off = at - i - 1;
      }
      const o = i * BPF_INSN_SIZE;
      out[o] = ins.code;
      out[o + 1] = (ins.dst & 0xf) | ((ins.src & 0xf) << 4);
      v.setInt16(o + 2, off, true);
      v.setInt32(o + 4, ins.imm, true);
    });
    return out;
  }
}

/** Options of {@link udpSteeringProgram}. */
export interface UdpSteeringOptions {
  /** The queue UDP goes to: 1..queueCount-1 (queue 0 takes everything else). */
  udpQueue: number;
  /** The device's number of queues, 2..256. */
  queueCount: number;
  /** UDP destination ports that stay on queue 0 (e.g. [53]), 1..65535, at most {@link MAX_KEEP_PORTS}. */
  keepPorts?: number[];
}

function checkOptions(opts: UdpSteeringOptions): { udpQueue: number; ports: number[] } {
  const { udpQueue, queueCount } = opts;
  if (!Number.isInteger(queueCount) || queueCount < 2 || queueCount > 256) {
    throw new UsageError(`Invalid queue count "${queueCount}": steering needs a multi-queue device of 2..256 queues`);
  }
  if (!Number.isInteger(udpQueue) || udpQueue < 1 || udpQueue >= queueCount) {
    throw new UsageError(`Invalid UDP queue "${udpQueue}": expected 1..${queueCount - 1} (queue 0 takes everything else)`);
  }
  const keep = opts.keepPorts ?? [];
  if (!Array.isArray(keep)) throw new UsageError(`Invalid keepPorts: expected an array of ports`);
  for (const p of keep) {
    if (!Number.isInteger(p) || p < 1 || p > 65535) throw new UsageError(`Invalid port "${p}" in keepPorts: expected 1..65535`);
  }
  const ports = [...new Set(keep)].sort((a, b) => a - b);
  if (ports.length > MAX_KEEP_PORTS) throw new UsageError(`Too many keepPorts (${ports.length}): at most ${MAX_KEEP_PORTS}`);
  return { udpQueue, ports };
}

/**
 * Builds the steering program: IPv4 and IPv6 UDP to queue `udpQueue` (except destination ports
 * in `keepPorts`, IPv4 fragments and IPv6 with extension headers), everything else to queue 0.
 * Returns the raw `struct bpf_insn` array (8 bytes each, little-endian) for {@link loadSteering}.
 * Throws UsageError for a queue out of range or a bad port.
 *
 * @example
 * ```ts
 * import { udpSteeringProgram } from "./steer.ts";
 * const insns = udpSteeringProgram({ udpQueue: 1, queueCount: 2, keepPorts: [53] });
 * insns.length / 8; // 25
 * ```
 */
export function udpSteeringProgram(opts: UdpSteeringOptions): Uint8Array {
  const { udpQueue, ports } = checkOptions(opts);
  const a = new Asm();
  // r6 = ctx (the skb): the packet loads (LD_ABS/LD_IND) read through r6 and clobber r0-r5.
  a.movReg(6, 1);
  a.ldAbs(B, 0).alu(RSH, 0, 4); // r0 = IP version
  a.jmp(JEQ, 6, "v6");
  a.jmp(JNE, 4, "other");
  // IPv4: not a fragment (flags MF and the fragment offset: 0x3fff of bytes 6-7), protocol 17.
  a.ldAbs(H, 6).alu(AND, 0, 0x3fff).jmp(JNE, 0, "other");
  a.ldAbs(B, 9).jmp(JNE, 17, "other");
  if (ports.length > 0) {
    // r7 = header length (IHL * 4); r0 = destination port at r7 + 2.
    a.ldAbs(B, 0).alu(AND, 0, 0x0f).alu(LSH, 0, 2).movReg(7, 0);
    a.ldInd(H, 7, 2);
    for (const p of ports) a.jmp(JEQ, p, "other");
  }
  a.ja("udp");
  // IPv6: next header 17 right after the fixed 40-byte header.
  a.label("v6").ldAbs(B, 6).jmp(JNE, 17, "other");
  if (ports.length > 0) {
    a.ldAbs(H, 42);
    for (const p of ports) a.jmp(JEQ, p, "other");
  }
  a.label("udp").ret(udpQueue);
  a.label("other").ret(0);
  const out = a.bytes();
  if (out.length / BPF_INSN_SIZE > BPF_MAXINSNS) throw new Error("steer: program too long"); // cannot happen with MAX_KEEP_PORTS
  return out;
}

// --- load, attach, detach ----------------------------------------------------------------------

/** A loaded steering program: its fd, and `close()` (idempotent) to release it. */
export interface SteeringProgram {
  /** The program's fd; -1 once closed. */
  readonly fd: number;
  /**
   * Closes the program's fd. An attached program stays attached (the device holds its own
   * reference) until {@link attachSteering}(q, null) or the device goes away.
   */
  close(): void;
}

/**
 * Loads a steering program (from {@link udpSteeringProgram}) as a BPF_PROG_TYPE_SOCKET_FILTER.
 * Throws UsageError for a malformed array; a BpfLoadError (a SysError carrying the verifier's
 * log) when the kernel refuses it, e.g. EPERM without CAP_BPF/CAP_SYS_ADMIN.
 *
 * @example
 * ```ts
 * import { loadSteering, udpSteeringProgram } from "./steer.ts";
 * const prog = loadSteering(udpSteeringProgram({ udpQueue: 1, queueCount: 2 }));
 * prog.close();
 * ```
 */
export function loadSteering(insns: Uint8Array): SteeringProgram {
  if (!(insns instanceof Uint8Array) || insns.length === 0 || insns.length % BPF_INSN_SIZE !== 0) {
    throw new UsageError(`Invalid eBPF program: expected a non-empty array of 8-byte instructions, got ${insns instanceof Uint8Array ? `${insns.length} bytes` : typeof insns}`);
  }
  if (insns.length / BPF_INSN_SIZE > BPF_MAXINSNS) {
    throw new UsageError(`Invalid eBPF program: ${insns.length / BPF_INSN_SIZE} instructions, at most ${BPF_MAXINSNS}`);
  }
  const fd = bpfProgLoad(BPF_PROG_TYPE.SOCKET_FILTER, insns, "tunkit_steer");
  return new LoadedProgram(fd);
}

class LoadedProgram implements SteeringProgram {
  fd: number;
  constructor(fd: number) {
    this.fd = fd;
  }
  close(): void {
    if (this.fd < 0) return;
    const fd = this.fd;
    this.fd = -1;
    raw.close(fd);
  }
}

const ATTACH = "ioctl(TUNSETSTEERINGEBPF)";

/**
 * The hint for a failed TUNSETSTEERINGEBPF (undefined: the default one for the errno).
 *
 * @example
 * ```ts
 * import { attachHint } from "./steer.ts";
 * attachHint(9); // "the program's fd is not open (closed before attaching?)"
 * ```
 */
export function attachHint(err: number): string | undefined {
  switch (err) {
    case ERRNO.EINVAL:
      return "the fd is not a socket-filter eBPF program, or this kernel's tun has no steering programs (TUNSETSTEERINGEBPF, Linux 4.16+)";
    case ERRNO.EBADF:
      return "the program's fd is not open (closed before attaching?)";
    case ERRNO.EBADFD:
      return "the queue is not attached to its device (detached with TUNSETQUEUE, or the device is gone)";
    default:
      return undefined;
  }
}

/**
 * Attaches `prog` as the device's steering program through queue `q` (any queue of the device:
 * the program is per device), or detaches the device's program when `prog` is null (back to the
 * kernel's flow hash). Throws UsageError when `q` is closed, not multi-queue, or a tap (the
 * program reads IP headers); SysError when the kernel refuses.
 *
 * @example
 * ```ts
 * import { openTun } from "./device.ts";
 * import { attachSteering, loadSteering, udpSteeringProgram } from "./steer.ts";
 * const dev = openTun({ name: "tun%d", multiQueue: true, queues: 2 });
 * const prog = loadSteering(udpSteeringProgram({ udpQueue: 1, queueCount: 2, keepPorts: [53] }));
 * attachSteering(dev, prog);
 * prog.close(); // the device keeps its reference
 * attachSteering(dev, null);
 * dev.close();
 * ```
 */
export function attachSteering(q: TunQueue, prog: SteeringProgram | null): void {
  if (q.fd < 0 || q.closed) throw new UsageError(`Device "${q.name}": the queue is closed`);
  if (prog !== null && prog.fd < 0) throw new UsageError("The steering program is closed");
  const req = new Uint8Array(IFREQ_SIZE);
  sys.ioctl(q.fd, TUN_IOCTL.TUNGETIFF, req, "TUNGETIFF", q.name);
  const { flags } = unpackIfreq(req);
  if ((flags & IFF.MULTI_QUEUE) === 0) throw new UsageError(`Device "${q.name}" is not multi-queue: steering needs one opened with multiQueue and 2 or more queues`);
  if ((flags & IFF.TUN) === 0) throw new UsageError(`Device "${q.name}" is a tap: the steering program reads IP packets (a tun's)`);
  const arg = new Uint8Array(4);
  new DataView(arg.buffer).setInt32(0, prog === null ? -1 : prog.fd, true);
  if (raw.ioctl(q.fd, TUN_IOCTL.TUNSETSTEERINGEBPF >>> 0, arg) < 0) {
    const e = errno();
    throw new SysError(ATTACH, e, q.name, attachHint(e));
  }
}
