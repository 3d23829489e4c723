// The filter compiled to classic BPF (issue 13): held against the user-space filter, packet by
// packet. The kernel program must accept every packet user space matches (a superset), and be
// exact where classic BPF can follow the semantics (no VLAN tags, no IPv6 extension headers).
import { expect, test } from "bun:test";
import { compileBpf, runBpf, encodeBpf, bpfText } from "../../packet/bpf.ts";
import { compileFilter } from "../../packet/filter.ts";
import { buildUdp, buildTcp, buildIcmpEcho } from "../../packet/build.ts";
import { fromHex } from "../../common/hex.ts";
import { mulberry32, mutate, randomBytes } from "./_fuzz.ts";

const FILTERS = [
  "icmp", "icmp6", "tcp", "udp", "arp", "ip", "ip6", "host 192.0.2.1", "src host 192.0.2.1", "dst host 192.0.2.2",
  "net 192.0.2.0/24", "net 198.51.100.0/22", "host 2001:db8::1", "net 2001:db8::/32", "src net 2001:db8:1::/48",
  "port 53", "udp port 53", "tcp dst port 80", "src port 4000", "not tcp", "not port 53", "tcp and port 80 or icmp",
  "not (udp and dst port 9) and ip", "ip6 and not icmp6", "src and dst host 192.0.2.1", "host 192.0.2.1 or 192.0.2.2",
  "udp and not port 53 and not host 2001:db8::9", "arp or (ip and not icmp)", "net 0.0.0.0/0", "ip host 192.0.2.1", "arp host 192.0.2.1",
];

function packets(): Uint8Array[] {
  const out: Uint8Array[] = [];
  const addrs = [["192.0.2.1", "192.0.2.2"], ["192.0.2.2", "192.0.2.1"], ["198.51.100.7", "203.0.113.5"], ["2001:db8::1", "2001:db8::2"], ["2001:db8:1::5", "2001:db8::1"], ["2001:db8::9", "fe80::1"]];
  for (const [src, dst] of addrs) {
    for (const [sp, dp] of [[4000, 53], [53, 4000], [9, 9], [1234, 80], [80, 1234]]) {
      out.push(buildUdp({ src: src!, dst: dst!, srcPort: sp!, dstPort: dp!, payload: 10 }));
      out.push(buildTcp({ src: src!, dst: dst!, srcPort: sp!, dstPort: dp!, flags: "S" }));
    }
    out.push(buildIcmpEcho({ src: src!, dst: dst! }));
  }
  return out;
}

function eth(ip: Uint8Array, type = ip[0]! >> 4 === 6 ? 0x86dd : 0x0800): Uint8Array {
  const f = new Uint8Array(14 + ip.length);
  f.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, type >> 8, type & 0xff]);
  f.set(ip, 14);
  return f;
}

const ARP = fromHex("ffffffffffff 020000000001 0806 0001 0800 06 04 0001 020000000001 c0000201 000000000000 c0000202");

test("compiled programs agree exactly with the user-space filter on ordinary packets (tun and tap)", () => {
  const raw = packets();
  const frames = [...raw.map((p) => eth(p)), ARP];
  let checks = 0;
  for (const expr of FILTERS) {
    const f = compileFilter(expr);
    for (const [lt, list] of [["raw", raw], ["ethernet", frames]] as const) {
      const prog = compileBpf(f.ast, lt)!;
      expect(prog).toBeDefined();
      for (const p of list) {
        const want = f.match(p, lt);
        const got = runBpf(prog, p) > 0;
        if (got !== want) throw new Error(`${expr} (${lt}) on ${Buffer.from(p).toString("hex")}: bpf ${got}, user space ${want}\n${bpfText(prog)}`);
        checks++;
      }
    }
  }
  expect(checks).toBeGreaterThan(2000);
});

test("a superset on anything: VLAN tags, IPv6 extension headers, fragments, truncated and random bytes never lose a packet user space keeps", () => {
  const rnd = mulberry32(0xb9f);
  const seeds = [...packets(), ARP];
  // IPv6 with a hop-by-hop header before UDP, and a VLAN-tagged frame: user space walks them
  const hbh = buildUdp({ src: "2001:db8::1", dst: "2001:db8::2", srcPort: 4000, dstPort: 53, payload: 4 });
  const withExt = new Uint8Array(hbh.length + 8);
  withExt.set(hbh.subarray(0, 40));
  withExt[6] = 0;
  withExt[40] = 17;
  withExt.set(hbh.subarray(40), 48);
  new DataView(withExt.buffer).setUint16(4, hbh.length - 40 + 8);
  seeds.push(withExt);
  const vlan = new Uint8Array(18 + hbh.length);
  vlan.set([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x81, 0x00, 0, 5, 0x86, 0xdd]);
  vlan.set(hbh, 18);
  let kept = 0, dropped = 0;
  const progs = FILTERS.map((e) => ({ f: compileFilter(e), raw: compileBpf(compileFilter(e).ast, "raw")!, eth: compileBpf(compileFilter(e).ast, "ethernet")! }));
  for (let i = 0; i < 40_000; i++) {
    const s = seeds[Math.floor(rnd() * seeds.length)]!;
    const r = rnd();
    const p = r < 0.2 ? randomBytes(rnd, 80) : r < 0.4 ? s.subarray(0, Math.floor(rnd() * (s.length + 1))) : mutate(rnd, s);
    const frame = rnd() < 0.1 ? vlan : eth(p.length ? p : new Uint8Array(1));
    for (const { f, raw, eth: e } of progs) {
      for (const [lt, pkt, prog] of [["raw", p, raw], ["ethernet", frame, e]] as const) {
        const want = f.match(pkt, lt);
        const got = runBpf(prog, pkt) > 0;
        if (want && !got) throw new Error(`lost: ${f.expression} (${lt}) on ${Buffer.from(pkt).toString("hex")}`);
        if (got) kept++;
        else dropped++;
      }
    }
  }
  expect(dropped).toBeGreaterThan(100_000); // the kernel does drop most of what does not match
  expect(kept).toBeGreaterThan(10_000);
}, 120_000);

test("encoding: struct sock_filter little-endian; long expressions still compile or fall back to user space", () => {
  const prog = compileBpf(compileFilter("udp port 53").ast, "raw")!;
  const b = encodeBpf(prog);
  expect(b.length).toBe(prog.length * 8);
  expect(b[b.length - 8]).toBe(0x06); // ret #0
  expect(bpfText(prog)).toContain("ret      #262144");
  const long = Array.from({ length: 60 }, (_, i) => `host 192.0.2.${i + 1}`).join(" or ");
  const p = compileBpf(compileFilter(long).ast, "raw");
  if (p) expect(runBpf(p, buildUdp({ src: "192.0.2.60", dst: "198.51.100.1", srcPort: 1, dstPort: 2 }))).toBeGreaterThan(0);
  const huge = Array.from({ length: 300 }, (_, i) => `port ${i + 1}`).join(" or ");
  expect(compileBpf(compileFilter(huge).ast, "raw")).toBeUndefined(); // too far to jump: user space alone
});
