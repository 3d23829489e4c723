/**
 * The filter language compiled to classic BPF (what libpcap's gencode.c does for tcpdump), for
 * the kernel to run on the capture socket (SO_ATTACH_FILTER): packets that cannot match are
 * dropped before they are copied to user space.
 *
 * The kernel program is a SUPERSET of the user-space filter (packet/filter.ts), which still runs
 * on every packet it passes: where classic BPF cannot follow the user-space semantics (VLAN tags,
 * IPv6 extension headers, which user space walks) the program accepts and lets user space
 * decide. `not` is compiled with the opposite bias, so the superset property holds for any
 * expression. Where the semantics are simple (protocols, addresses, nets, ports of IPv4 and of
 * IPv6 without extension headers) the program is exact: the kernel drops precisely what user
 * space would.
 *
 * {@link runBpf} interprets the programs (the subset emitted here) so tests can hold the
 * compiler against the user-space filter without a kernel.
 *
 * @module
 */
import type { FilterNode } from "./filter.ts";
import type { LinkType } from "./types.ts";

// opcodes (linux/bpf_common.h)
const LD = 0x00, LDX = 0x01, ALU = 0x04, JMP = 0x05, RET = 0x06, MISC = 0x07;
const W = 0x00, H = 0x08, B = 0x10;
const ABS = 0x20, IND = 0x40, LEN = 0x80, MSH = 0xa0;
const AND = 0x50, SUB = 0x10, ADD = 0x00;
const X_SRC = 0x08;
const JA = 0x00, JEQ = 0x10, JGE = 0x30, JSET = 0x40;
const TXA = 0x80, TAX = 0x00;

/** One instruction: struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }. */
export interface BpfInsn {
  /** Opcode (class, size, mode / operation, source). */
  code: number;
  /** Jump offset when the condition is true. */
  jt: number;
  /** Jump offset when the condition is false. */
  jf: number;
  /** Generic field: a constant, an offset or a mask. */
  k: number;
}

/** IPv6 extension headers user space walks (the kernel program leaves those packets to it). */
const IPV6_EXT = [0, 43, 44, 60];

type Target = number; // a label id

interface Pending {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
}

class Gen {
  readonly ins: Pending[] = [];
  private readonly at = new Map<Target, number>();
  private next = 0;
  label(): Target {
    return this.next++;
  }
  place(l: Target): void {
    this.at.set(l, this.ins.length);
  }
  op(code: number, k = 0): void {
    this.ins.push({ code, k });
  }
  jmp(code: number, k: number, jt: Target, jf: Target): void {
    this.ins.push({ code, k, jt, jf });
  }
  ja(to: Target): void {
    this.ins.push({ code: JMP | JA, k: 0, jt: to });
  }
  /** Resolves labels; undefined when a jump does not fit classic BPF (backwards or > 255). */
  finish(): BpfInsn[] | undefined {
    const out: BpfInsn[] = [];
    for (let i = 0; i < this.ins.length; i++) {
      const p = this.ins[i]!;
      const rel = (l: Target | undefined): number => {
        if (l === undefined) return 0;
        const pos = this.at.get(l);
        if (pos === undefined) throw new Error(`unplaced label ${l}`);
        return pos - (i + 1);
      };
      if (p.code === (JMP | JA)) {
        const k = rel(p.jt);
        if (k < 0) return undefined;
        out.push({ code: p.code, jt: 0, jf: 0, k });
        continue;
      }
      const jt = rel(p.jt);
      const jf = rel(p.jf);
      if (jt < 0 || jf < 0 || jt > 255 || jf > 255) return undefined;
      out.push({ code: p.code, jt, jf, k: p.k >>> 0 });
    }
    return out;
  }
}

/** Where each network kind of packet goes (labels). */
interface Kinds {
  v4: Target;
  v6: Target;
  arp: Target;
  /** VLAN-tagged: user space looks through the tags, the kernel program does not. */
  unknown: Target;
  none: Target;
}

class Compiler {
  readonly g = new Gen();
  constructor(readonly base: number, readonly ethernet: boolean) {}

  /** Classifies the packet: jumps to one of the kinds' labels. */
  classify(k: Kinds): void {
    const g = this.g;
    const b = this.base;
    // every load below is guarded by a length check: the kernel drops a packet on a load past
    // its end, where user space only says "no match" (which `not` turns into a match)
    const has = g.label();
    g.op(LD | W | LEN);
    g.jmp(JMP | JGE, this.ethernet ? 14 : 1, has, k.none);
    g.place(has);
    if (this.ethernet) {
      const v4 = g.label(), v6 = g.label(), n1 = g.label(), n2 = g.label(), n3 = g.label(), n4 = g.label();
      g.op(LD | H | ABS, 12);
      g.jmp(JMP | JEQ, 0x0800, v4, n1);
      g.place(n1);
      g.jmp(JMP | JEQ, 0x86dd, v6, n2);
      g.place(n2);
      g.jmp(JMP | JEQ, 0x0806, k.arp, n3);
      g.place(n3);
      g.jmp(JMP | JEQ, 0x8100, k.unknown, n4);
      g.place(n4);
      g.jmp(JMP | JEQ, 0x88a8, k.unknown, k.none);
      // the version nibble must agree with the ethertype (user space checks it too)
      g.place(v4);
      this.version(4, k.v4, k.none);
      g.place(v6);
      this.version(6, k.v6, k.none);
      return;
    }
    const n1 = g.label(), c4 = g.label(), c6 = g.label();
    g.op(LD | B | ABS, b);
    g.op(ALU | AND, 0xf0);
    g.jmp(JMP | JEQ, 0x40, c4, n1);
    g.place(n1);
    g.jmp(JMP | JEQ, 0x60, c6, k.none);
    g.place(c4);
    g.op(LD | W | LEN);
    g.jmp(JMP | JGE, b + 20, k.v4, k.none);
    g.place(c6);
    g.op(LD | W | LEN);
    g.jmp(JMP | JGE, b + 40, k.v6, k.none);
  }

  private version(v: 4 | 6, yes: Target, no: Target): void {
    const g = this.g;
    const ok = g.label();
    // the whole fixed header must be there (user space sees nothing otherwise)
    g.op(LD | W | LEN);
    g.jmp(JMP | JGE, this.base + (v === 4 ? 20 : 40), ok, no);
    g.place(ok);
    g.op(LD | B | ABS, this.base);
    g.op(ALU | AND, 0xf0);
    g.jmp(JMP | JEQ, v << 4, yes, no);
  }

  /** Compares the bytes at `off` with `addr` under a prefix; T when equal. */
  private addr(off: number, addr: Uint8Array, prefix: number, T: Target, F: Target): void {
    const g = this.g;
    const words = addr.length / 4;
    let emitted = 0;
    for (let i = 0; i < words; i++) {
      const bits = Math.max(0, Math.min(32, prefix - i * 32));
      if (bits === 0) continue;
      const mask = bits === 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
      const want = (((addr[i * 4]! << 24) | (addr[i * 4 + 1]! << 16) | (addr[i * 4 + 2]! << 8) | addr[i * 4 + 3]!) & mask) >>> 0;
      const last = !Array.from({ length: words - i - 1 }, (_, j) => Math.max(0, Math.min(32, prefix - (i + 1 + j) * 32))).some((x) => x > 0);
      const cont = last ? T : g.label();
      g.op(LD | W | ABS, off + i * 4);
      if (mask !== 0xffffffff) g.op(ALU | AND, mask);
      g.jmp(JMP | JEQ, want, cont, F);
      if (!last) g.place(cont);
      emitted++;
    }
    if (emitted === 0) g.ja(T); // a /0 net matches every address
  }

  /** src/dst/either/both over two address fields. */
  private dirs(dir: string, test: (off: number, T: Target, F: Target) => void, src: number, dst: number, T: Target, F: Target): void {
    const g = this.g;
    if (dir === "src") return test(src, T, F);
    if (dir === "dst") return test(dst, T, F);
    const next = g.label();
    if (dir === "both") {
      test(src, next, F);
      g.place(next);
      return test(dst, T, F);
    }
    test(src, T, next);
    g.place(next);
    test(dst, T, F);
  }

  /** A primitive: T when it holds, F when not, U when only user space can tell. */
  prim(n: FilterNode, T: Target, F: Target, U: Target): void {
    const g = this.g;
    const b = this.base;
    const k: Kinds = { v4: g.label(), v6: g.label(), arp: this.ethernet ? g.label() : F, unknown: U, none: F };
    const v4 = k.v4, v6 = k.v6, arp = k.arp;
    this.classify(k);
    const ipProto = (want: number, T2: Target) => {
      g.op(LD | B | ABS, b + 9);
      g.jmp(JMP | JEQ, want, T2, F);
    };
    const ip6Proto = (wants: number[], T2: Target) => {
      g.op(LD | B | ABS, b + 6);
      for (const w of wants) {
        const n2 = g.label();
        g.jmp(JMP | JEQ, w, T2, n2);
        g.place(n2);
      }
      for (const e of IPV6_EXT) {
        const n2 = g.label();
        g.jmp(JMP | JEQ, e, U, n2);
        g.place(n2);
      }
      g.ja(F);
    };
    const arpOk = (T2: Target) => {
      // Ethernet/IPv4 ARP only: hlen 6, plen 4, 28 bytes
      const a = g.label(), c = g.label();
      g.op(LD | W | LEN);
      g.jmp(JMP | JGE, b + 28, a, F);
      g.place(a);
      g.op(LD | B | ABS, b + 4);
      g.jmp(JMP | JEQ, 6, c, F);
      g.place(c);
      g.op(LD | B | ABS, b + 5);
      g.jmp(JMP | JEQ, 4, T2, F);
    };
    switch (n.kind) {
      case "proto": {
        const p = n.proto;
        g.place(v4);
        if (p === "ip") g.ja(T);
        else if (p === "icmp") ipProto(1, T);
        else if (p === "tcp") ipProto(6, T);
        else if (p === "udp") ipProto(17, T);
        else g.ja(F);
        g.place(v6);
        if (p === "ip6") g.ja(T);
        else if (p === "icmp6") ip6Proto([58], T);
        else if (p === "tcp") ip6Proto([6], T);
        else if (p === "udp") ip6Proto([17], T);
        else g.ja(F);
        if (this.ethernet) {
          g.place(arp);
          if (p === "arp") arpOk(T);
          else g.ja(F);
        }
        return;
      }
      case "host":
      case "net": {
        const prefix = n.kind === "net" ? n.prefix : n.addr.length * 8;
        const test = (off: number, T2: Target, F2: Target) => this.addr(off, n.addr, prefix, T2, F2);
        const four = n.addr.length === 4;
        g.place(v4);
        if (four && (n.proto === undefined || n.proto === "ip")) this.dirs(n.dir, test, b + 12, b + 16, T, F);
        else g.ja(F);
        g.place(v6);
        if (!four && (n.proto === undefined || n.proto === "ip6")) this.dirs(n.dir, test, b + 8, b + 24, T, F);
        else g.ja(F);
        if (this.ethernet) {
          g.place(arp);
          if (four && (n.proto === undefined || n.proto === "arp")) {
            const ok = g.label();
            arpOk(ok);
            g.place(ok);
            this.dirs(n.dir, test, b + 14, b + 24, T, F);
          } else g.ja(F);
        }
        return;
      }
      case "port": {
        const wants = n.proto === "tcp" ? [6] : n.proto === "udp" ? [17] : [6, 17];
        const ports = (pOff: number, ind: boolean) => {
          const test = (off: number, T2: Target, F2: Target) => {
            g.op(LD | H | (ind ? IND : ABS), off);
            g.jmp(JMP | JEQ, n.port, T2, F2);
          };
          this.dirs(n.dir, test, pOff, pOff + 2, T, F);
        };
        // IPv4: the first fragment only, a sane header length, the ports captured
        g.place(v4);
        {
          const isProto = g.label(), first = g.label(), hl = g.label(), have = g.label();
          g.op(LD | B | ABS, b + 9);
          for (const w of wants) {
            const n2 = g.label();
            g.jmp(JMP | JEQ, w, isProto, n2);
            g.place(n2);
          }
          g.ja(F);
          g.place(isProto);
          g.op(LD | H | ABS, b + 6);
          g.jmp(JMP | JSET, 0x1fff, F, first);
          g.place(first);
          g.op(LDX | B | MSH, b);
          g.op(MISC | TXA);
          g.jmp(JMP | JGE, 20, hl, F);
          g.place(hl);
          // both ports there: len >= base + ihl + 4 (user space sees no ports otherwise)
          g.op(ALU | ADD, b + 4);
          g.op(MISC | TAX);
          g.op(LD | W | LEN);
          g.jmp(JMP | JGE | X_SRC, 0, have, F);
          g.place(have);
          g.op(LDX | B | MSH, b);
          ports(b, true);
        }
        g.place(v6);
        {
          const isProto = g.label();
          const have = g.label();
          ip6Proto(wants, isProto);
          g.place(isProto);
          g.op(LD | W | LEN);
          g.jmp(JMP | JGE, b + 44, have, F);
          g.place(have);
          ports(b + 40, false);
        }
        if (this.ethernet) {
          g.place(arp);
          g.ja(F);
        }
        return;
      }
      default:
        g.ja(U);
    }
  }

  /** `mode` "sup": accept whenever the node may hold; "inf": only when it surely holds. */
  node(n: FilterNode, mode: "sup" | "inf", T: Target, F: Target): void {
    const g = this.g;
    if (n.kind === "and") {
      const mid = g.label();
      this.node(n.left, mode, mid, F);
      g.place(mid);
      this.node(n.right, mode, T, F);
      return;
    }
    if (n.kind === "or") {
      const mid = g.label();
      this.node(n.left, mode, T, mid);
      g.place(mid);
      this.node(n.right, mode, T, F);
      return;
    }
    if (n.kind === "not") return this.node(n.operand, mode === "sup" ? "inf" : "sup", F, T);
    this.prim(n, T, F, mode === "sup" ? T : F);
  }
}

/** Options of {@link compileBpf}. */
export interface BpfOptions {
  /** Bytes the program keeps of an accepted packet (its return value). Default 262144. */
  snaplen?: number;
}

/**
 * Compiles a parsed filter to a classic BPF program for a capture socket whose packets start
 * with the IP header (`"raw"`: tun, cooked sockets) or an Ethernet header (`"ethernet"`: tap).
 * Returns undefined when the program would not fit classic BPF (over 4096 instructions or a
 * jump longer than 255): the caller then filters in user space only.
 *
 * @example
 * ```ts
 * import { compileBpf, runBpf } from "./bpf.ts";
 * import { parseFilter } from "./filter.ts";
 * const prog = compileBpf(parseFilter("udp port 53"), "raw")!;
 * prog.length > 0; // true
 * ```
 */
export function compileBpf(ast: FilterNode, linkType: LinkType, opts: BpfOptions = {}): BpfInsn[] | undefined {
  const c = new Compiler(linkType === "ethernet" ? 14 : 0, linkType === "ethernet");
  const g = c.g;
  const accept = g.label(), reject = g.label();
  c.node(ast, "sup", accept, reject);
  g.place(accept);
  g.op(RET, opts.snaplen ?? 262144);
  g.place(reject);
  g.op(RET, 0);
  const prog = g.finish();
  if (!prog || prog.length > 4096) return undefined;
  return prog;
}

/**
 * The program as the bytes of a struct sock_filter array (host order: little-endian here).
 *
 * @example
 * ```ts
 * import { encodeBpf } from "./bpf.ts";
 * encodeBpf([{ code: 6, jt: 0, jf: 0, k: 0 }]).length; // 8
 * ```
 */
export function encodeBpf(prog: readonly BpfInsn[], into?: Uint8Array): Uint8Array {
  const b = into ?? new Uint8Array(prog.length * 8);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  prog.forEach((p, i) => {
    v.setUint16(i * 8, p.code, true);
    b[i * 8 + 2] = p.jt;
    b[i * 8 + 3] = p.jf;
    v.setUint32(i * 8 + 4, p.k >>> 0, true);
  });
  return b;
}

/**
 * Runs a program over a packet as the kernel would (the instructions {@link compileBpf} emits):
 * the bytes to keep, 0 to drop. A load past the end drops the packet, as in the kernel.
 * `wireLength` is what BPF_LEN sees (the packet's full length).
 *
 * @example
 * ```ts
 * import { compileBpf, runBpf } from "./bpf.ts";
 * import { parseFilter } from "./filter.ts";
 * runBpf(compileBpf(parseFilter("ip6"), "raw")!, new Uint8Array(40).fill(0x60)); // 262144
 * ```
 */
export function runBpf(prog: readonly BpfInsn[], pkt: Uint8Array, wireLength = pkt.length): number {
  let A = 0;
  let X = 0;
  const len = pkt.length;
  for (let pc = 0; pc < prog.length; pc++) {
    const p = prog[pc]!;
    const cls = p.code & 0x07;
    if (cls === RET) return p.k >>> 0;
    if (cls === LD || cls === LDX) {
      const mode = p.code & 0xe0;
      const size = p.code & 0x18;
      if (cls === LDX && mode === MSH) {
        if (p.k >= len) return 0;
        X = (pkt[p.k]! & 0xf) * 4;
        continue;
      }
      if (mode === LEN) {
        A = wireLength;
        continue;
      }
      const off = mode === IND ? X + p.k : p.k;
      const n = size === W ? 4 : size === H ? 2 : 1;
      if (off + n > len) return 0;
      let v = 0;
      for (let i = 0; i < n; i++) v = (v * 256) + pkt[off + i]!;
      A = v >>> 0;
      continue;
    }
    if (cls === ALU) {
      const v = p.code & X_SRC ? X : p.k;
      if ((p.code & 0xf0) === AND) A = (A & v) >>> 0;
      else if ((p.code & 0xf0) === SUB) A = (A - v) >>> 0;
      else if ((p.code & 0xf0) === ADD) A = (A + v) >>> 0;
      else throw new Error(`unsupported ALU op 0x${p.code.toString(16)}`);
      continue;
    }
    if (cls === MISC) {
      if (p.code === (MISC | TXA)) A = X;
      else X = A;
      continue;
    }
    if (cls === JMP) {
      const op = p.code & 0xf0;
      if (op === JA) {
        pc += p.k;
        continue;
      }
      const k = p.code & X_SRC ? X : p.k >>> 0;
      const ok = op === JEQ ? A === k : op === JGE ? A >= k : op === JSET ? (A & k) !== 0 : false;
      pc += ok ? p.jt : p.jf;
      continue;
    }
    throw new Error(`unsupported opcode 0x${p.code.toString(16)}`);
  }
  return 0;
}

/**
 * The program in `tcpdump -d`'s notation, one instruction a line (for `dump -d` and tests).
 *
 * @example
 * ```ts
 * import { bpfText } from "./bpf.ts";
 * bpfText([{ code: 6, jt: 0, jf: 0, k: 262144 }]); // "(000) ret      #262144"
 * ```
 */
export function bpfText(prog: readonly BpfInsn[]): string {
  const pad = (s: string) => s.padEnd(8);
  return prog.map((p, i) => {
    const n = `(${String(i).padStart(3, "0")}) `;
    const cls = p.code & 0x07;
    const size = (p.code & 0x18) === W ? "" : (p.code & 0x18) === H ? "h" : "b";
    const jt = i + 1 + p.jt, jf = i + 1 + p.jf;
    const j = (name: string) => `${n}${pad(name)} ${p.code & X_SRC ? "x" : `#0x${p.k.toString(16)}`}${" ".repeat(Math.max(1, 10 - p.k.toString(16).length))}jt ${jt}\tjf ${jf}`;
    if (cls === RET) return `${n}${pad("ret")} #${p.k}`;
    if (cls === LDX) return `${n}${pad("ldxb")} 4*([${p.k}]&0xf)`;
    if (cls === LD) {
      const mode = p.code & 0xe0;
      if (mode === LEN) return `${n}${pad("ld")} #pktlen`;
      return `${n}${pad("ld" + size)} ${mode === IND ? `[x + ${p.k}]` : `[${p.k}]`}`;
    }
    if (cls === ALU) return (p.code & 0xf0) === ADD ? `${n}${pad("add")} #${p.k}` : `${n}${pad("and")} #0x${p.k.toString(16)}`;
    if (cls === MISC) return `${n}${pad(p.code === (MISC | TXA) ? "txa" : "tax")}`;
    const op = p.code & 0xf0;
    if (op === JA) return `${n}${pad("ja")} ${i + 1 + p.k}`;
    return j(op === JEQ ? "jeq" : op === JGE ? "jge" : "jset");
  }).join("\n");
}
