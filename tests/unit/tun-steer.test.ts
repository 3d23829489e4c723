/**
 * tun/steer.ts's program builder, pure: the instruction bytes (golden), each instruction's
 * fields read back from the bytes against a hand-written listing (opcode, registers, offset,
 * immediate), the jumps (forward, inside the program, onto the two exits), the options' checks,
 * and the hints of ffi/bpf.ts and the attach. The kernel's view of the program (it loads, and
 * steers real packets) is tests/integration/tun-steer.test.ts; here a small evaluator of the
 * five instruction kinds the builder emits runs it on hand-made headers for what the
 * integration test cannot send easily (IPv4 options, an IPv6 extension header, short packets).
 */
import { describe, expect, test } from "bun:test";
import { MAX_KEEP_PORTS, attachHint, udpSteeringProgram } from "../../tun/steer.ts";
import { bpfLoadHint, BpfLoadError } from "../../ffi/bpf.ts";
import { UsageError } from "../../common/mod.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

interface Fields {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}
function fields(b: Uint8Array): Fields[] {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Fields[] = [];
  for (let o = 0; o < b.length; o += 8) {
    out.push({ code: b[o]!, dst: b[o + 1]! & 0xf, src: b[o + 1]! >> 4, off: v.getInt16(o + 2, true), imm: v.getInt32(o + 4, true) });
  }
  return out;
}

// The listing, by hand from include/uapi/linux/bpf.h: class | size/op | mode/source.
const MOV64_X = 0x07 | 0xb0 | 0x08; // 0xbf
const MOV64_K = 0x07 | 0xb0; // 0xb7
const RSH64_K = 0x07 | 0x70; // 0x77
const AND64_K = 0x07 | 0x50; // 0x57
const LSH64_K = 0x07 | 0x60; // 0x67
const LDABS_B = 0x00 | 0x10 | 0x20; // 0x30
const LDABS_H = 0x00 | 0x08 | 0x20; // 0x28
const LDIND_H = 0x00 | 0x08 | 0x40; // 0x48
const JEQ_K = 0x05 | 0x10; // 0x15
const JNE_K = 0x05 | 0x50; // 0x55
const JA = 0x05; // 0x05
const EXIT = 0x05 | 0x90; // 0x95
const i = (code: number, dst: number, src: number, off: number, imm: number): Fields => ({ code, dst, src, off, imm });

describe("udpSteeringProgram: the bytes", () => {
  test("keepPorts [53], UDP to queue 1 of 2: every instruction's fields", () => {
    const p = udpSteeringProgram({ udpQueue: 1, queueCount: 2, keepPorts: [53] });
    expect(fields(p)).toEqual([
      i(MOV64_X, 6, 1, 0, 0), //  0 r6 = r1 (ctx)
      i(LDABS_B, 0, 0, 0, 0), //  1 r0 = pkt[0]
      i(RSH64_K, 0, 0, 0, 4), //  2 r0 >>= 4 (version)
      i(JEQ_K, 0, 0, 13, 6), //   3 v6 -> 17
      i(JNE_K, 0, 0, 18, 4), //   4 not v4 -> 23
      i(LDABS_H, 0, 0, 0, 6), //  5 r0 = frag word
      i(AND64_K, 0, 0, 0, 0x3fff), // 6 MF | offset
      i(JNE_K, 0, 0, 15, 0), //   7 fragment -> 23
      i(LDABS_B, 0, 0, 0, 9), //  8 r0 = protocol
      i(JNE_K, 0, 0, 13, 17), //  9 not UDP -> 23
      i(LDABS_B, 0, 0, 0, 0), // 10 r0 = pkt[0]
      i(AND64_K, 0, 0, 0, 0xf), // 11 IHL
      i(LSH64_K, 0, 0, 0, 2), // 12 * 4
      i(MOV64_X, 7, 0, 0, 0), // 13 r7 = header length
      i(LDIND_H, 0, 7, 0, 2), // 14 r0 = dport
      i(JEQ_K, 0, 0, 7, 53), //  15 53 -> 23
      i(JA, 0, 0, 4, 0), //      16 -> 21 (udp)
      i(LDABS_B, 0, 0, 0, 6), // 17 v6: next header
      i(JNE_K, 0, 0, 4, 17), //  18 not UDP -> 23
      i(LDABS_H, 0, 0, 0, 42), // 19 dport
      i(JEQ_K, 0, 0, 2, 53), //  20 53 -> 23
      i(MOV64_K, 0, 0, 0, 1), // 21 udp: r0 = 1
      i(EXIT, 0, 0, 0, 0), //    22
      i(MOV64_K, 0, 0, 0, 0), // 23 other: r0 = 0
      i(EXIT, 0, 0, 0, 0), //    24
    ]);
  });

  test("golden bytes", () => {
    expect(hex(udpSteeringProgram({ udpQueue: 1, queueCount: 2, keepPorts: [53] }))).toBe(
      "bf16000000000000300000000000000077000000040000001500" +
        "0d00060000005500120004000000280000000600000057000000ff3f000055000f000000000030000000090000005500" +
        "0d00110000003000000000000000570000000f0000006700000002000000bf070000000000004870000002000000150007" +
        "0035000000050004000000000030000000060000005500040011000000280000002a00000015000200350000" +
        "00b7000000010000009500000000000000b7000000000000009500000000000000",
    );
    // No keepPorts: no header-length or port loads (17 instructions; read back by hand: 3 jeq 6
    // +7 -> 11 v6, 4 jne 4 +10 -> 15, 7 jne 0 +7 -> 15, 9 jne 17 +5 -> 15, 10 ja +2 -> 13 r0 = 3,
    // 12 jne 17 +2 -> 15 r0 = 0).
    expect(hex(udpSteeringProgram({ udpQueue: 3, queueCount: 4 }))).toBe(
      "bf1600000000000030000000000000007700000004000000150007000600000055000a0004000000280000000600000057000000ff3f00005500" +
        "07000000000030000000090000005500050011000000050002000000000030000000060000005500020011000000b7000000030000009500" +
        "000000000000b7000000000000009500000000000000",
    );
  });

  test("jumps go forward, land inside the program, and the program ends on the two exits", () => {
    for (const keepPorts of [[], [53], [53, 123, 5353], Array.from({ length: MAX_KEEP_PORTS }, (_, k) => k + 1000)]) {
      const f = fields(udpSteeringProgram({ udpQueue: 1, queueCount: 2, keepPorts }));
      const n = f.length;
      f.forEach((ins, k) => {
        if ((ins.code & 0x07) === 0x05 && ins.code !== EXIT) {
          expect(ins.off).toBeGreaterThanOrEqual(0);
          expect(k + 1 + ins.off).toBeLessThan(n);
        }
      });
      expect(f.at(-1)!.code).toBe(EXIT);
      expect(f.at(-3)!.code).toBe(EXIT);
      expect(f.filter((x) => x.code === JEQ_K && x.imm !== 6).length).toBe(keepPorts.length * 2);
    }
  });

  test("ports are sorted and deduplicated: the same ports give the same bytes", () => {
    expect(hex(udpSteeringProgram({ udpQueue: 1, queueCount: 2, keepPorts: [5353, 53, 53] }))).toBe(
      hex(udpSteeringProgram({ udpQueue: 1, queueCount: 2, keepPorts: [53, 5353] })),
    );
  });
});

describe("udpSteeringProgram: bad input is a UsageError", () => {
  const bad: Array<[string, Parameters<typeof udpSteeringProgram>[0], RegExp]> = [
    ["queue 0", { udpQueue: 0, queueCount: 2 }, /Invalid UDP queue "0": expected 1\.\.1/],
    ["queue == count", { udpQueue: 2, queueCount: 2 }, /Invalid UDP queue "2"/],
    ["fractional queue", { udpQueue: 1.5, queueCount: 4 }, /Invalid UDP queue/],
    ["one queue", { udpQueue: 1, queueCount: 1 }, /Invalid queue count "1"/],
    ["257 queues", { udpQueue: 1, queueCount: 257 }, /Invalid queue count "257"/],
    ["port 0", { udpQueue: 1, queueCount: 2, keepPorts: [0] }, /Invalid port "0"/],
    ["port 65536", { udpQueue: 1, queueCount: 2, keepPorts: [65536] }, /Invalid port "65536"/],
    ["too many ports", { udpQueue: 1, queueCount: 2, keepPorts: Array.from({ length: MAX_KEEP_PORTS + 1 }, (_, k) => k + 1) }, /Too many keepPorts/],
  ];
  for (const [what, opts, re] of bad) {
    test(what, () => {
      expect(() => udpSteeringProgram(opts)).toThrow(UsageError);
      expect(() => udpSteeringProgram(opts)).toThrow(re);
    });
  }
  test("the edges are accepted", () => {
    expect(udpSteeringProgram({ udpQueue: 255, queueCount: 256, keepPorts: [1, 65535] }).length).toBeGreaterThan(0);
  });
});

/**
 * Runs the builder's instructions on `pkt` as the kernel would for this subset: LD_ABS/LD_IND
 * (big-endian loads; out of bounds ends the program with 0), ALU64 with K or X, JEQ/JNE/JA, EXIT.
 * Any other opcode fails the test.
 */
function run(prog: Uint8Array, pkt: Uint8Array): number {
  const f = fields(prog);
  const r = new Array<number>(11).fill(0);
  const load = (off: number, size: number): number | undefined => {
    if (off < 0 || off + size > pkt.length) return undefined;
    return size === 1 ? pkt[off]! : (pkt[off]! << 8) | pkt[off + 1]!;
  };
  for (let pc = 0, steps = 0; pc < f.length && steps < 1000; pc++, steps++) {
    const x = f[pc]!;
    switch (x.code) {
      case MOV64_X: r[x.dst] = r[x.src]!; break;
      case MOV64_K: r[x.dst] = x.imm; break;
      case RSH64_K: r[x.dst] = r[x.dst]! >>> x.imm; break;
      case AND64_K: r[x.dst] = r[x.dst]! & x.imm; break;
      case LSH64_K: r[x.dst] = r[x.dst]! << x.imm; break;
      case LDABS_B: case LDABS_H: case LDIND_H: {
        const v = load((x.code === LDIND_H ? r[x.src]! : 0) + x.imm, x.code === LDABS_B ? 1 : 2);
        if (v === undefined) return 0;
        r[0] = v;
        break;
      }
      case JEQ_K: if (r[x.dst] === x.imm) pc += x.off; break;
      case JNE_K: if (r[x.dst] !== x.imm) pc += x.off; break;
      case JA: pc += x.off; break;
      case EXIT: return r[0]!;
      default: throw new Error(`opcode 0x${x.code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("fell off the end");
}

function v4(proto: number, dport: number, opts: { ihl?: number; frag?: number; len?: number } = {}): Uint8Array {
  const ihl = opts.ihl ?? 5;
  const p = new Uint8Array(opts.len ?? ihl * 4 + 8);
  p[0] = 0x40 | ihl;
  p[6] = (opts.frag ?? 0) >> 8;
  p[7] = (opts.frag ?? 0) & 0xff;
  p[9] = proto;
  if (p.length >= ihl * 4 + 4) {
    p[ihl * 4 + 2] = dport >> 8;
    p[ihl * 4 + 3] = dport & 0xff;
  }
  return p;
}
function v6(next: number, dport: number, len = 48): Uint8Array {
  const p = new Uint8Array(len);
  p[0] = 0x60;
  p[6] = next;
  if (len >= 44) {
    p[42] = dport >> 8;
    p[43] = dport & 0xff;
  }
  return p;
}

describe("what the program returns (the evaluator above)", () => {
  const prog = udpSteeringProgram({ udpQueue: 2, queueCount: 3, keepPorts: [53, 123] });
  const cases: Array<[string, Uint8Array, number]> = [
    ["IPv4 UDP", v4(17, 9999), 2],
    ["IPv4 UDP to 53", v4(17, 53), 0],
    ["IPv4 UDP to 123", v4(17, 123), 0],
    ["IPv4 UDP with options (IHL 7), port 53 read past them", v4(17, 53, { ihl: 7 }), 0],
    ["IPv4 UDP with options (IHL 7), port 9999", v4(17, 9999, { ihl: 7 }), 2],
    ["IPv4 TCP", v4(6, 9999), 0],
    ["IPv4 ICMP", v4(1, 0), 0],
    ["IPv4 UDP first fragment (MF)", v4(17, 9999, { frag: 0x2000 }), 0],
    ["IPv4 UDP later fragment (offset)", v4(17, 9999, { frag: 0x00b9 }), 0],
    ["IPv4 UDP with DF", v4(17, 9999, { frag: 0x4000 }), 2],
    ["IPv4 UDP too short for its ports", v4(17, 9999, { len: 21 }), 0],
    ["IPv6 UDP", v6(17, 9999), 2],
    ["IPv6 UDP to 53", v6(17, 53), 0],
    ["IPv6 TCP", v6(6, 9999), 0],
    ["IPv6 fragment header", v6(44, 9999), 0],
    ["IPv6 hop-by-hop header", v6(0, 9999), 0],
    ["IPv6 UDP too short for its ports", v6(17, 9999, 42), 0],
    ["version 5", new Uint8Array([0x50, 0, 0, 0]), 0],
    ["empty", new Uint8Array(0), 0],
  ];
  for (const [what, pkt, q] of cases) test(`${what} -> queue ${q}`, () => expect(run(prog, pkt)).toBe(q));
  test("without keepPorts, 53 goes to the UDP queue", () => {
    const all = udpSteeringProgram({ udpQueue: 1, queueCount: 2 });
    expect(run(all, v4(17, 53))).toBe(1);
    expect(run(all, v6(17, 53))).toBe(1);
    expect(run(all, v4(6, 53))).toBe(0);
  });
});

describe("hints", () => {
  test("bpf EPERM: the capabilities and the sysctl when it is set; the sandbox when it is not", () => {
    expect(bpfLoadHint(1, 2)).toBe(
      "loading an eBPF program needs CAP_BPF or CAP_SYS_ADMIN (kernel.unprivileged_bpf_disabled = 2): run as root; the capabilities of a user namespace (unshare -rn) do not count for bpf()",
    );
    expect(bpfLoadHint(1, undefined)).toStartWith("loading an eBPF program needs CAP_BPF or CAP_SYS_ADMIN: run as root");
    expect(bpfLoadHint(1, 0)).toContain("seccomp");
  });
  test("bpf EINVAL: the verifier log's last lines", () => {
    const log = "func#0 @0\n0: R1=ctx() R10=fp0\n0: (b7) r0 = 0\n1: R0_w=0\nlast insn is not an exit or jmp\nprocessed 0 insns\n\n";
    const e = new BpfLoadError(22, "tunkit_steer", log, undefined);
    expect(e.message).toBe("bpf(BPF_PROG_LOAD) tunkit_steer: Invalid argument (EINVAL)");
    expect(e.hint).toBe("the kernel's verifier refused the program: func#0 @0 | 0: R1=ctx() R10=fp0 | 0: (b7) r0 = 0 | 1: R0_w=0 | last insn is not an exit or jmp | processed 0 insns");
    expect(e.log).toBe(log);
    expect(bpfLoadHint(22, undefined, "")).toContain("no verifier log");
  });
  test("attach", () => {
    expect(attachHint(22)).toContain("not a socket-filter eBPF program");
    expect(attachHint(9)).toContain("not open");
    expect(attachHint(1)).toBeUndefined();
  });
});
