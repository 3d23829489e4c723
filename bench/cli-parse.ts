/**
 * Pure benchmark of the grammar (no system call, no process): batch lines parsed per second,
 * from the text of a line to a validated op (cli/grammar.ts splitLine, the route words,
 * iproute2's defaults, the request body ready to encode), the work every `tunkit batch` line
 * does (once; twice with --check-first). Reference: the target, 1,000,000 lines/s; median of
 * ROUNDS rounds of CPU time, so machine load counts less than in wall time (less, not nothing:
 * on the shared 2 vCPUs a round's rate swings 2x with the neighbours' load, so A/B against a
 * base tree run alternately).
 *
 * Session 10 (p11), this file against e53de2a's library, alternated, medians of 5 runs each,
 * load 15-19 (the whole team's test suites running): `route add P dev D` 1.03M -> 2.35M
 * lines/s; the full `… via G metric M table T` 498k -> 831k (runs 434k-1.06M; target 1M; the
 * lead's quiet run of the base: 650k); `P6 … via G6` 392k -> 360k (runs overlap: 214-413k vs
 * 273-410k; ipaddr.js's IPv6 parse is most of it, unchanged); `addr add` 304k -> 719k. What
 * went (bun --cpu-prof of the full shape): ipaddr.js's IPv4.parser, 27% of the samples
 * (common/addr.ts quadAt: a strict dotted quad read beside it, proved equal by a differential
 * fuzz); splitLine's candidate-by-candidate bucket compares (now one hash probe, hashed while
 * scanning; words seen once are not held); parseCidr's object and slice under parsePrefix; the
 * gateway's TypedArray slice(); the via keyword's family checks for the gateway the last line
 * gave.
 *
 *   bun bench/cli-parse.ts [--json]
 */
import { Ctx } from "../cli/context.ts";
import { splitLine } from "../cli/grammar.ts";
import { routeWords } from "../cli/route.ts";
import { addrWords } from "../cli/addr.ts";
import { median, print, row, type Row } from "./lib.ts";

const N = 200_000;
const ROUNDS = 7;
const TARGET = 1_000_000;

const ip = (i: number) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;

const SHAPES: Array<[string, (i: number) => string]> = [
  ["route add P dev D", (i) => `route add ${ip(i)}/32 dev tun0`],
  ["route add P dev D via G metric M table T", (i) => `route add ${ip(i)}/32 dev tun0 via 192.0.2.1 metric ${i % 1000} table 100`],
  ["route add P6 dev D via G6", (i) => `route add 2001:db8:${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)}::/64 dev tun0 via 2001:db8::1`],
  ["addr add A/32 dev D", (i) => `addr add ${ip(i)}/32 dev tun0`],
];

function cpuMs(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1000;
}

/**
 * Runs the parse benchmark (no privilege needed).
 *
 * @example
 * ```ts
 * import bench from "./cli-parse.ts";
 * for (const r of await bench()) console.log(r.name, r.tunkit);
 * ```
 */
export default async function cliParse(): Promise<Row[]> {
  const ctx = new Ctx({ stdout() {}, stderr() {} });
  const rows: Row[] = [];
  for (const [name, make] of SHAPES) {
    // Lines sliced from one text, as tunkit batch reads them (not template-literal ropes).
    const text = Array.from({ length: N }, (_, i) => make(i)).join("\n");
    const lines = text.split("\n");
    const fn = name.startsWith("addr") ? addrWords : routeWords;
    let sink = 0;
    const run = () => {
      for (const l of lines) {
        const op = fn(ctx, splitLine(l), 1, ctx.opts);
        if (op.request) sink++;
      }
    };
    run(); // warm up the JIT
    const ms: number[] = [];
    for (let r = 0; r < ROUNDS; r++) ms.push(cpuMs(run));
    if (sink !== N * (ROUNDS + 1)) throw new Error("cli-parse: a line was not pipelinable");
    rows.push(row(`library (pure grammar): ${name}, lines parsed/s (vs the 1M/s target)`, (N / median(ms)) * 1000, TARGET, "lines/s", true));
  }
  return rows;
}

if (import.meta.main) print(await cliParse(), process.argv.includes("--json"));
