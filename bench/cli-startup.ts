/**
 * CLI cold start, as users run it: the compiled binary (built like `npm run build` into
 * bench/.build/tunkit, or the binaries given with --bin) against the runtime's own floor, a
 * hello-world compiled on the spot with the same `bun build` flags (scripts/build.ts compileArgs),
 * and against iproute2. Every command runs as a process through a small C timer
 * (bench/c/spawntime.c: fork+exec+wait only), unpinned, median of the rounds:
 *   - `tunkit --version`                       (target: <= 1.3x the floor)
 *   - `tunkit addr add ADDR/32 dev tkb0`       (<= 1.6x; a new address each run)   vs `ip addr add`
 *   - `tunkit route add PREFIX dev tkb0`       (<= 1.6x; a new route each run)     vs `ip route add`
 *   - `tunkit route list` of 100 routes        (<= 2x)                             vs `ip route show`
 *   - `tunkit list` (3 tun devices)            (<= 2x)
 * Plus CPU time (user + system) as a multiple of the floor's, minor page faults (median; they hardly move
 * with the machine's load, so on a busy machine they are the steadier A/B signal: about 4 per 16 KiB
 * JavaScriptCore heap block), peak RSS and size on disk.
 *
 * The floor is measured exactly like the commands: in every round, each case runs the floor,
 * each tunkit binary and ip once, in an order that rotates from round to round, so the floor has
 * the same neighbours (and the same share of the machine's load) as the commands it is compared
 * with. (Until this session the floor ran twice per round, first and last, half its samples right
 * after another floor run; see --floor-at-ends.) Every binary, the floor too, is written back and
 * dropped from the page cache before an untimed first round faults it in again ({@link settle}):
 * how a binary's pages came into the cache changes its start-up time by 10% or more, and that,
 * not the order of runs, is why this bench (fresh builds) and a hand-made harness (copies built
 * hours earlier) disagreed by 0.2x of the floor last session.
 *
 *   bun bench/cli-startup.ts [--json] [--rounds N] [--bin NAME=PATH]... [--only CASE,...] [--variants] [--floor-at-ends] [--blocks]
 *   bun bench/cli-startup.ts --record-order
 *
 * `--bin NAME=PATH` (repeatable) times these binaries instead of building one, side by side in the
 * same rounds (an A/B: `--bin main=/tmp/tunkit-main --bin new=dist/tunkit`). Cases: version, addr,
 * route, rlist, list. `--variants` also builds tunkit without minify / bytecode / splitting / the
 * start-up JIT policy and times --version and route add for each (the experiment behind the
 * build flags). `--floor-at-ends` measures the floor the old way (twice per round, at its ends).
 * `--blocks` adds a row per case that hardly moves with the machine's load: the JavaScriptCore
 * heap blocks (16 KiB MarkedBlocks) the command allocates, against the floor's
 * ({@link heapBlocks}; needs strace). Past 64 blocks (JSC's default) a run starts the JSCWarmUp
 * thread, which then starts mimalloc's scavenger thread (with it off, session 5 measured `route add`
 * at 0.91x the wall time and 0.83x the CPU; issue 11).
 *
 * Session 11 (st), 15 rounds, load 2.6-5.3, new = lazy ipaddr.js (common/addr.ts) against main
 * 3ff9883 in the same rounds: addr add 1.79x vs 1.87x the floor (22.6 ms), route add 1.80x vs
 * 1.77x, route list 1.90x vs 2.13x, list 2.15x vs 2.38x, --version 1.11x vs 1.14x; faults -30,
 * -32, -52, -26; heap blocks addr add 84 vs 88, route add 80 vs 84, listings 106 vs 107-108.
 * Where an `addr add`'s blocks come (a build that exits at points along the path, same
 * binary): main.ts's static imports 46 (the floor 28), cli/context.ts and the libc/netlink stack
 * behind it +21 (the dlopen of the eager symbols about 5 of them), the system's name files +2,
 * cli/addr.ts +5, its words +2, the socket, link lookup and request +7. Measured and without
 * effect on the total: every constants.ts object as a TypeScript enum (the bundler inlines them
 * and drops the objects: 84 blocks either way; alone in a hello-world they read +10, which is
 * the cost of the first objects of each size class, not of these), `--bytecode-depth` 0 and 1,
 * `--min-chunk-size` 4-64 KiB (our chunks have top-level side effects: 125 -> 122 files), skipping
 * the name files (-1). Chunks cost: a hello-world that statically imports 20 small modules
 * reads 35 blocks in one chunk and 42 in 20 chunks (~0.35 per chunk); an `addr add` evaluates
 * ~37 modules in ~31 chunks. Building without splitting: --version 115, addr add 138.
 * Session 11, second round (st): moving the listing writer (ipJsonText, ListingWriter: ~15
 * functions with the class's methods) out of cli/output.ts into a module the listings import
 * when they run took nothing off the add path: 5 rounds, load 14, same run, addr add 84 -> 84
 * blocks (faults 1345 -> 1348), route add 82 -> 82 (1349 -> 1364), route list 104 -> 105 (one more
 * chunk); dropped. Taking netlink/view/context.ts (one module, one chunk: linkMap for the
 * listings) off the add path by a dynamic import where the listings use it: addr add 84 -> 84
 * (faults 1344 -> 1341), route add 82 -> 82 (1354 -> 1357), route list 104 -> 103; dropped. The
 * split build shows why a module at a time cannot get there: an addr add's chunks are one module
 * each (main-*.js) plus a re-export chunk per dynamic import on its path (context, names x2,
 * addr), so the chunk count is the module count; a step of 1 module or ~15 functions is below
 * this row's resolution (about 1 block). 64 from 84 needs some 600 fewer functions or a path of
 * far fewer modules.
 *
 * Session 12 (st): the one-shot path. cli/main.ts is now a small entry (static imports: the
 * version line only); `addr|route add|del|change|replace|…` go to cli/oneshot.ts (the global
 * options' reader, cli/context.ts, the modify grammar of that one object: cli/addr-add.ts or
 * cli/route-add.ts, split out of cli/addr.ts and cli/route.ts), everything else to the full CLI
 * (cli/run.ts). Blocks, same bisection, against main cdc1e8c: --version 45 -> 32, addr add 84 ->
 * 79, route add 82 -> 81; the listings within a block (an empty route list 84 -> 85, list 101 ->
 * 101). Where the 79 come from (a build that exits at points along the one-shot
 * path): its static imports 65 (the context's libc/netlink stack most of it: a hello-world that
 * imports ffi/libc.ts alone reads 52-53, netlink/conn.ts 55), the modify module and the words'
 * plan +1..+6, the socket, link lookup and request +8..+9. Measured, to know what is left: the
 * library alone (netlink/conn.ts, ifindex.ts, spec + encoder, no CLI: bench/.build/exp in the
 * session) reads 61 blocks for an address and 62-63 for a route, 1.35x the floor against the
 * binary's 1.69x in the same rounds (10 rounds, load 4.8); a binary built from the one-shot path
 * alone reads 77/79 split and 73/75 without splitting (one chunk: ~4 blocks of chunk overhead).
 * So under 64 needs the libc/netlink stack itself smaller, not a shorter CLI path.
 *
 * Session 13 (su): the one-shot path as one module, and a socket that binds itself. Bisected
 * first, hello-worlds with the same flags (blocks, floor 28): Bun.FFI's dlopen of 1 libc symbol
 * 29-30, of 6 symbols 33, of 9 (the eager set) 34-35 (~0.6 block per symbol); ffi/bun.ts alone
 * 40, ffi/symbols.ts alone 36, ffi/abi.ts alone 38, ffi/errors.ts alone 30, ffi/libc.ts 50,
 * netlink/conn.ts 55. What a hello-world adds of a TextEncoder/TextDecoder, a DataView, a Proxy,
 * typed arrays, an Error subclass in a Map, an awaited promise: nothing (27-28 each): the blocks
 * follow the code evaluated and the objects built, not the kinds of object. Then, in the binary,
 * a build that exits at points (route add): main.ts 35-36, the one-shot modules' static imports
 * 61-66, the verb's module +4, the run (socket, link lookup, request) +8..+9, the exit +3.
 * Changes: (1) cli/oneshot.ts and what it loads are bundled into ONE module
 * (scripts/build.ts bundleOneShot; main.ts loads it in the binary): the split build evaluated
 * ~33 chunks for a route add. (2) netlink/conn.ts no longer binds, reads its port or its
 * SO_RCVBUF at open (the kernel autobinds at the first sendto; pid and rcvbuf read on first
 * use): bind, getsockname and getsockopt leave the eager dlopen (9 -> 6 symbols) and the
 * system calls. Blocks, same run: addr add 80 -> 73, route add 81 -> 74, --version 32 -> 33.
 * Time, new against main fcf7fb1 in the same rounds (41 rounds, --bin, unpinned): load 1.9-2.1
 * (floor 31.6 ms): addr add 1.73x vs 1.80x, route add 1.63x vs 1.74x, --version 1.08x vs 1.14x;
 * CPU 1.79x vs 1.83x, 1.70x vs 1.85x; faults -28, -60. Load 5.6-7.5 (floor 26.8 ms): addr add
 * 1.66x vs 1.70x, route add 1.67x vs 1.69x, CPU 1.78x vs 1.85x, 1.80x vs 1.85x. The bundle alone
 * (before (2)), same run: 1.73x and 1.68x, faults -17 and -38. --version moves by 0.05-0.1x
 * either way between runs (1.03-1.17x against main's 1.07-1.14x): noise of its place in the
 * rotation, not a trend. Tried and dropped: the bundle without the verb it does not run (a
 * route add's bundle without cli/addr-add.ts): 74-75 blocks either way; ipaddr.js external to
 * the bundle (breaks its lazy require in the binary, no block fewer); `--compile-exec-argv
 * --smol`: the warm-up thread still starts (74 blocks). Still past 64: the bundle's own
 * loading, before its first statement, reads +13..+16 blocks over main.ts's, and ffi/symbols.ts's
 * table +5..+8 (a table typed as a string was tried in session 12: -3, dropped).
 *
 * Session 13 (ls): the listings. Where `route list`'s 99 blocks come from (a build that exits at
 * points along the path, and builds that skip one step of the dump's callback): the full CLI's
 * static imports 67, route.ts and its list plan +7, the socket and the names-only link dump +10;
 * the dump of 100 routes with nothing done per route 86, decoded 87, printed 99 -- and of the
 * printing's 12, about 8 are the first use of the name files (rt_scopes, rt_protos and their .d
 * directory: a build that only looks up two names there read 94-95), not the 100 routes. `list`
 * (101 blocks): list.ts's imports +10 (the link and address decoders, the kind and address views
 * with view/bridge.ts behind them), the socket +6, the address dump +9 (lo's `::1`: IPv6 text,
 * which evaluates ipaddr.js in common/addr.ts). Blocks are a peak, not a sum: a step that allocates
 * after a collection can reuse freed cells, so the exit-point differences overstate a step; the
 * A/B rows below are whole runs. Changes: `list` decodes only the tun devices' addresses
 * (netlink/dump.ts drops the other devices' messages on the header's index), prints its table
 * from the devices as decoded (the ip -j kind and address views are imported for --json and
 * show only), and a name database builds its parse index on the first parse, not for printing.
 * Against main 13 (fcf7fb1), same runs, 25 rounds, load 5-7: list 101 -> 92 blocks, minor
 * faults 1609 -> 1449; route list 99 -> 97, faults 1539 -> 1489. Wall time does not resolve
 * it on a shared machine: two runs of 41 rounds a minute apart (load 2-4, floor 26.7 / 23.5 ms)
 * read list 2.02x vs main's 1.93x, then 1.86x vs 2.25x (a second copy of main's binary 2.17x);
 * route list 2.00x vs 1.84x, then 1.83x vs 2.14x (copy 2.05x). Tried and dropped: a one-shot path for the listings (cli/listing.ts, like
 * cli/oneshot.ts: `route [list]` and `list` without cli/run.ts and the object table): route list
 * 99 -> 98, list 92 -> 91, faults -7 and -19 (medians of 11, within noise), not worth a second
 * dispatch to keep in step with the full CLI's.
 *
 * Session 14: what runs the first time, not what is loaded. `--profile N` (below) sums Bun's CPU
 * profiles of N runs per function, and a hello-world built with the same flags times a thing's
 * first use against its second: `Array.from({length}, fn)` 0.62 / 0.005 ms, the process's first
 * RegExp `.test` 0.46 (each new RegExp compiles), the first `new ArrayBuffer` 0.24-0.3, `new
 * DataView` 0.1, `[...new Set()]` 0.1, `[].map` 0.07, a TextEncoder 0.08 (0.2-0.5 in the binary);
 * 200 never-called functions (223 KB) cost +0.5 ms and +5 blocks: dead code is cheap. Changes:
 * (1) no top-level await on any command's path (ffi/bun.ts's `await import("bun:ffi")` fallback,
 * ffi/libc.ts's `await import()` of its backend, ffi/splice.ts): each made every module above it
 * an asynchronous module; settled, 31 rounds, load 1.4 (floor 22.1 ms): addr add 1.89x -> 1.82x,
 * route add 1.83x -> 1.75x, faults -58 / -111. (An unsettled A/B had read 1.72x -> 1.50x: a
 * binary just written by cp starts faster than one faulted in from disk, see settle(); the
 * session's prof/cmp.ts now settles too.) (2) no RegExp and no String.prototype.replace on the
 * four paths (cli/main.ts mayBeOneShot, common/ifname.ts, the name files' reader, the route
 * printer's `any`, tun/holders.ts), ipVerb's spelling cache on a table's second use; (3) no table
 * built at load that a command may not read: ffi/errors.ts's strerror texts a switch,
 * ffi/symbols.ts's 43 specs made when bound, TUN_IOCTL written out, MultiRecv without Array.from
 * / map / a BigInt per slot, libc's small buffers in one ArrayBuffer, TextEncoder/TextDecoder on
 * first use. Callgrind (deterministic, all threads): route add 12.09 M instructions -> 10.63 M
 * (floor 3.40 M). Tried and dropped: a bundle of the listing path like the one-shot one (route
 * list 1.68x -> 1.83x, list 1.81x -> 2.07x: Bun's ES-module emulation in a bundle, __export and
 * defineProperty ~1.5 ms, ate the chunk loading it saved; importModule's time follows the code
 * loaded, not the chunk count); a re-recorded scripts/startup.order (two runs, both orders of
 * --bin: 0.05-0.13x slower on every row than the recorded profile kept from session 13); constants
 * tables as a hello-world (+14 faults, no CPU). End of session, three runs of 31 rounds
 * (load 0.9-1.3, floor 27.6 / 22.5 / 23.6 ms; the floor's own time moves 20% between runs,
 * so compare within a run), new against 85d94c7's build: addr add 1.23 / 1.50 / 1.49x (main
 * 1.53 / 1.77 / 1.58x), route add 1.31 / 1.51 / 1.47x (1.50 / 1.72 / 1.54x), route list 1.67 /
 * 1.88 / 1.87x (1.91 / 2.07 / 1.85x), list 1.77 / 1.95 / 1.95x (1.77 / 2.05 / 1.87x); faults
 * 1125 / 1128 / 1418 / 1434 against 1274-1288 / 1269-1281 / 1534-1569 / 1471-1475; heap blocks
 * 65 / 68 / 107 / 98 against 73 / 74 / 109 / 99 (still past 64: JSCWarmUp starts on every
 * netlink command).
 *
 * The tree's build (like `npm run build`) is laid out by the CLI's start-up profile,
 * scripts/startup.order (`--bytecode-order`; scripts/build.ts STARTUP_ORDER). `--record-order`
 * records it anew: it builds tunkit without a profile, runs each case once in this bench's
 * namespace with BUN_BYTECODE_ORDER_OUT, and writes the runs' entries merged, most common start
 * first (addr add, route add, route list, list, --version).
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { compileC, inOwnNetns, median, print, reexecInNetns, root, row, type Row } from "./lib.ts";
import { compile, STARTUP_ORDER, startupOrder, type BuildVariant } from "../scripts/build.ts";
import { aggregateProfiles, type CpuProfile } from "./cpu-profile.ts";

const HELP = `usage: bun bench/cli-startup.ts [--json] [--rounds N] [--bin NAME=PATH]... [--only CASE,...] [--variants] [--floor-at-ends] [--blocks]
       bun bench/cli-startup.ts --profile N [--profile-top K] [--bin NAME=PATH]... [--only CASE,...]
       bun bench/cli-startup.ts --record-order
  --rounds N        rounds (default 31); each round runs every case once per binary, the floor and ip
  --bin NAME=PATH   time this binary (repeatable: an A/B in the same rounds); default: build the tree
  --only CASES      some of: version,addr,route,rlist,list (default: all)
  --variants        also build and time tunkit without minify/bytecode/splitting/JIT policy
  --floor-at-ends   the floor twice per round, at its ends (the method before this session)
  --blocks          also each case's JSC heap blocks and the floor's (bisected, hardly load-dependent; needs strace)
  --profile N       no timing: run each case N times per binary under Bun's CPU profiler and print
                    where the time goes, function by function (self and total ms per run)
  --profile-top K   functions shown per case and binary (default 30)
  --json            rows as JSON
  --record-order    write scripts/startup.order (the build's --bytecode-order profile) from one run of each case`;

interface Sample {
  wall: number;
  cpu: number;
  rss: number;
  /** Minor page faults (getrusage ru_minflt): nearly independent of the machine's load. */
  faults: number;
}

let timer = "";

/** Runs one command through the C timer: wall ms, user+system CPU ms, peak RSS KiB, minor page faults. */
function time(cmd: string, args: string[]): Sample {
  const r = spawnSync(timer, [cmd, ...args], { encoding: "utf8" });
  const f = r.stdout.trim().split(" ").map(Number);
  if (r.status !== 0 || f.length !== 6) throw new Error(`spawntime ${cmd}: ${r.stdout}${r.stderr}`);
  if (f[4] !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${f[4]}`);
  return { wall: f[0]! / 1000, cpu: (f[1]! + f[2]!) / 1000, rss: f[3]!, faults: f[5]! };
}

function which(cmd: string): string {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { encoding: "utf8" }).stdout.trim();
}

/** Builds tunkit (or the hello-world) with the flags of scripts/build.ts into bench/.build. */
function build(name: string, entry: string, v: BuildVariant = {}): string {
  const out = join(root, "bench/.build", name);
  compile(entry, out, v);
  return out;
}

/** The floor: a hello-world compiled with the same flags. */
function buildFloor(v: BuildVariant = {}, name = "hello"): string {
  const src = join(root, "bench/.build/hello.ts");
  writeFileSync(src, 'console.log("hello");\n');
  return build(name, src, v);
}

/**
 * Puts a binary's pages in the page cache the way a user's installed binary has them: written
 * back, and dropped from the cache (this file's pages only), so the untimed warm-up round brings
 * them in the way a run of an installed binary does: by its own page faults. The state matters: a
 * file just written by `bun build` (the floor and tunkit here, before this) starts with larger
 * pages in the cache than one faulted in from disk (a binary kept from an earlier build, as in a
 * hand-made harness), and read(2) makes them larger still. In one run (19:22, load 3) the same
 * source built twice, one copy fresh and one hours old, read --version 1.20x vs 1.37x and route
 * add 2.00x vs 2.25x of the floor; peak RSS moves by 3-6 MiB. Every binary, the floor too, goes
 * through this first.
 */
function settle(path: string): void {
  spawnSync("sync", [path]);
  spawnSync("dd", [`if=${path}`, "iflag=nocache", "count=0", "status=none"]);
}

/** The value of every `flag VALUE` in argv. */
function values(argv: readonly string[], flag: string): string[] {
  const out: string[] = [];
  argv.forEach((a, i) => {
    if (a === flag && argv[i + 1] !== undefined) out.push(argv[i + 1]!);
    else if (a.startsWith(`${flag}=`)) out.push(a.slice(flag.length + 1));
  });
  return out;
}

type Case = { key: string; name: string; note: string; tk: () => string[]; ip?: () => [string, string[]] };
type Series = { wall: number[]; cpu: number[]; rss: number[]; faults: number[] };
const series = (): Series => ({ wall: [], cpu: [], rss: [], faults: [] });
const record = (s: Series, x: Sample) => (s.wall.push(x.wall), s.cpu.push(x.cpu), s.rss.push(x.rss), s.faults.push(x.faults));

/** Options of a run (the command line's, by default). */
export interface StartupOptions {
  variants?: boolean;
  rounds?: number;
  /** [name, path] of the binaries to time; empty: build the tree's. */
  bins?: Array<[string, string]>;
  only?: string[];
  floorAtEnds?: boolean;
  /** Also count each case's JSC heap blocks ({@link heapBlocks}). */
  blocks?: boolean;
  /** Record the start-up profile (scripts/startup.order) instead of timing. */
  recordOrder?: boolean;
  /** Instead of timing, run each case this many times per binary under the CPU profiler ({@link profileCases}). */
  profile?: number;
  /** Functions shown per case and binary with {@link profile} (default 30). */
  profileTop?: number;
}

function optionsFromArgv(argv: readonly string[]): StartupOptions {
  const bins = values(argv, "--bin").map((b): [string, string] => {
    const i = b.indexOf("=");
    return i > 0 ? [b.slice(0, i), b.slice(i + 1)] : [b, b];
  });
  const only = values(argv, "--only").flatMap((o) => o.split(","));
  return {
    variants: argv.includes("--variants"),
    rounds: Number(values(argv, "--rounds")[0] ?? 31),
    bins,
    only: only.length ? only : undefined,
    floorAtEnds: argv.includes("--floor-at-ends"),
    blocks: argv.includes("--blocks"),
    recordOrder: argv.includes("--record-order"),
    profile: values(argv, "--profile").length ? Number(values(argv, "--profile")[0]) : undefined,
    profileTop: values(argv, "--profile-top").length ? Number(values(argv, "--profile-top")[0]) : undefined,
  };
}

/**
 * Runs the start-up benchmark (inside a namespace made for it: refuses to run elsewhere).
 *
 * @example
 * ```ts
 * import bench from "./cli-startup.ts";
 * for (const r of await bench({ rounds: 5, only: ["version"] })) console.log(r.name, r.ratio);
 * ```
 */
export default async function cliStartup(o: StartupOptions = optionsFromArgv(process.argv)): Promise<Row[]> {
  if (!inOwnNetns()) throw new Error("cli-startup: run me through bench/run.ts or alone (I make my own network namespace)");
  const rounds = o.rounds ?? 31;
  timer = compileC("spawntime");
  // --profile without --bin: the tree's build unminified, so that the profile names the source's functions.
  const bins: Array<[string, string]> = o.recordOrder
    ? [["tunkit", build("tunkit-unordered", join(root, "cli/main.ts"))]]
    : o.bins?.length
      ? o.bins
      : [["tunkit", build(o.profile !== undefined ? "tunkit-unminified" : "tunkit", join(root, "cli/main.ts"), { bytecodeOrder: startupOrder(), ...(o.profile !== undefined ? { minify: false } : {}) })]];
  const hello = buildFloor();
  for (const b of [hello, ...bins.map(([, b]) => b)]) settle(b);
  const ip = which("ip");
  const sh = (...a: string[]) => spawnSync(a[0]!, a.slice(1), { stdio: "ignore" });
  for (const n of ["tkb0", "tkb1", "tkb2"]) {
    sh("ip", "tuntap", "add", n, "mode", "tun");
    sh("ip", "link", "set", n, "up");
  }
  sh("ip", "addr", "add", "192.0.2.1/24", "dev", "tkb0");
  for (let i = 0; i < 100; i++) sh("ip", "route", "add", `198.51.100.${i}/32`, "dev", "tkb0");
  const rows: Row[] = [];
  try {
    let n = 0;
    const next = () => n++;
    // ip has its own counter: with two tunkit binaries and one case (--only route) the shared one
    // gave ip the number a tunkit run had just used (EEXIST, exit 2).
    let m = 0;
    const nextIp = () => m++;
    const all: Case[] = [
      { key: "version", name: "--version", note: "target <= 1.3x floor", tk: () => ["--version"], ip: () => [ip, ["-V"]] },
      { key: "addr", name: "addr add", note: "target <= 1.6x floor", tk: () => (next(), ["addr", "add", `10.1.${n >> 8}.${n & 255}/32`, "dev", "tkb0"]), ip: () => (nextIp(), [ip, ["addr", "add", `10.2.${m >> 8}.${m & 255}/32`, "dev", "tkb0"]]) },
      { key: "route", name: "route add", note: "target <= 1.6x floor", tk: () => (next(), ["route", "add", `10.3.${n >> 8}.${n & 255}/32`, "dev", "tkb0"]), ip: () => (nextIp(), [ip, ["route", "add", `10.4.${m >> 8}.${m & 255}/32`, "dev", "tkb0"]]) },
      { key: "rlist", name: "route list (100 routes)", note: "target <= 2x floor", tk: () => ["route", "list"], ip: () => [ip, ["route", "show"]] },
      { key: "list", name: "list (3 tun devices)", note: "target <= 2x floor", tk: () => ["list"] },
    ];
    const cases = o.only ? all.filter((c) => o.only!.includes(c.key)) : all;
    if (!cases.length) throw new Error(`cli-startup: --only takes ${all.map((c) => c.key).join(",")}`);
    if (o.recordOrder) {
      recordOrder(bins[0]![1], ["addr", "route", "rlist", "list", "version"].map((k) => all.find((c) => c.key === k)!));
      return rows;
    }
    if (o.profile !== undefined) {
      profileCases(bins, cases, o.profile, o.profileTop ?? 30);
      return rows;
    }
    const floor = series();
    const got = cases.map(() => ({ tk: bins.map(series), ip: series() }));
    let turn = 0;
    // Round -1 is not recorded: it brings every program's pages in (settle() dropped them).
    for (let round = -1; round < rounds; round++) {
      const push = round < 0 ? () => {} : record;
      if (o.floorAtEnds) push(floor, time(hello, []));
      cases.forEach((c, k) => {
        const runs: Array<() => void> = bins.map(([, b], j) => () => push(got[k]!.tk[j]!, time(b, c.tk())));
        if (c.ip) runs.push(() => {
          const [cmd, args] = c.ip!();
          push(got[k]!.ip, time(cmd, args));
        });
        if (!o.floorAtEnds) runs.push(() => push(floor, time(hello, [])));
        // Rotate who goes first, round after round and case after case.
        turn++;
        for (let i = 0; i < runs.length; i++) runs[(i + turn) % runs.length]!();
      });
      if (o.floorAtEnds) push(floor, time(hello, []));
    }
    const f = median(floor.wall);
    const fc = median(floor.cpu);
    const ff = median(floor.faults);
    const ref = cases.find((c) => c.key === "version") ? median(got[cases.findIndex((c) => c.key === "version")]!.ip.wall) : NaN;
    rows.push(row(`cli start-up floor: hello-world, same bun build flags (vs ip -V)`, f, ref, "ms", false, `CPU ${fc.toFixed(2)} ms; ${rounds} rounds, ${floor.wall.length} samples`));
    const tag = (name: string) => (bins.length > 1 || o.bins?.length ? ` [${name}]` : "");
    cases.forEach((c, k) => {
      bins.forEach(([name], j) => {
        const s = got[k]!.tk[j]!;
        const t = median(s.wall);
        const cpu = median(s.cpu);
        rows.push(row(`cli start-up: tunkit${tag(name)} ${c.name} (vs the floor; x floor = 1/ratio)`, t, f, "ms", false, `${(t / f).toFixed(2)}x floor, ${c.note}; CPU ${(cpu / fc).toFixed(2)}x floor's`));
        // Page faults hardly move with the machine's load (wall and CPU do): an A/B signal on a busy machine.
        rows.push(row(`cli start-up: tunkit${tag(name)} ${c.name} minor page faults (vs the floor)`, median(s.faults), ff, "faults", false));
        if (c.ip) rows.push(row(`cli start-up: tunkit${tag(name)} ${c.name} (vs ip)`, t, median(got[k]!.ip.wall), "ms", false));
      });
    });
    const addK = cases.findIndex((c) => c.key === "route");
    if (addK >= 0) {
      const ipRss = time(ip, ["route", "add", "10.9.9.9/32", "dev", "tkb0"]).rss / 1024;
      bins.forEach(([name], j) => rows.push(row(`cli: tunkit${tag(name)} route add peak RSS (vs ip route add)`, median(got[addK]!.tk[j]!.rss) / 1024, ipRss, "MiB", false)));
    }
    for (const [name, b] of bins) rows.push(row(`cli: tunkit${tag(name)} size on disk (vs the hello-world floor)`, statSync(b).size / 1048576, statSync(hello).size / 1048576, "MiB", false));
    if (o.blocks) {
      const fb = heapBlocks(hello, () => []);
      for (const c of cases) {
        bins.forEach(([name, b]) => rows.push(row(`cli start-up: tunkit${tag(name)} ${c.name} JSC heap blocks (vs the floor)`, heapBlocks(b, c.tk), fb, "blocks", false, "the JSCWarmUp thread starts past 64")));
      }
    }
    if (o.variants) rows.push(...variantRows(hello, rounds));
  } finally {
    for (const n of ["tkb0", "tkb1", "tkb2"]) sh("ip", "link", "del", n);
  }
  return rows;
}

/**
 * Where each case's start-up goes, function by function: every case runs `runs` times per
 * binary under Bun's sampling CPU profiler (`BUN_OPTIONS=--cpu-prof`, which a compiled binary
 * honours; 25 µs interval), and the profiles are summed per function ({@link aggregateProfiles}):
 * self and total ms per run, the `top` functions with the most self time. The profiler slows a
 * run (a profiled `route add` samples ~19 ms of JavaScript where the timed one spends ~15 ms past
 * the floor), so the shares are what to read, not the sums. A binary built without --minify
 * (`compile(..., { minify: false })`) shows the source's function names; a minified one, the
 * minifier's. Session 14's first profile is in this file's header.
 */
function profileCases(bins: ReadonlyArray<[string, string]>, cases: readonly Case[], runs: number, top: number): void {
  if (!Number.isInteger(runs) || runs < 1) throw new Error("cli-startup: --profile takes a run count >= 1");
  for (const c of cases) {
    for (const [name, bin] of bins) {
      const dir = join(root, "bench/.build/prof", `${name}-${c.key}`);
      rmSync(dir, { recursive: true, force: true });
      for (let i = 0; i < runs; i++) {
        const a = c.tk();
        const r = spawnSync(bin, a, { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, BUN_OPTIONS: `--cpu-prof --cpu-prof-interval=25 --cpu-prof-dir=${dir}` } });
        if (r.status !== 0) throw new Error(`cli-startup --profile: ${bin} ${a.join(" ")} exited ${r.status}: ${r.stderr}`);
      }
      const profiles = readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as CpuProfile);
      const s = aggregateProfiles(profiles);
      console.log(`\ncli start-up profile: tunkit [${name}] ${c.name}: ${s.runs} runs, ${s.ms.toFixed(2)} ms sampled per run`);
      console.log("  self ms  total ms  function");
      for (const f of s.functions.slice(0, top)) console.log(`  ${f.self.toFixed(3).padStart(7)}  ${f.total.toFixed(3).padStart(8)}  ${f.key}`);
    }
  }
}

/**
 * Runs each case once with BUN_BYTECODE_ORDER_OUT and writes {@link STARTUP_ORDER}: the runs'
 * entries, each once, in the order of the cases (the first start-up's bytecode goes first).
 */
function recordOrder(bin: string, cases: readonly Case[]): void {
  const tmp = join(root, "bench/.build/order.tmp");
  const lines: string[] = [];
  const seen = new Set<string>();
  let header = "";
  for (const c of cases) {
    rmSync(tmp, { force: true });
    const r = spawnSync(bin, c.tk(), { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, BUN_BYTECODE_ORDER_OUT: tmp } });
    if (r.status !== 0) throw new Error(`cli-startup --record-order: ${c.name} exited ${r.status}: ${r.stderr}`);
    const [first, ...rest] = readFileSync(tmp, "utf8").split("\n");
    if (!header) header = first!;
    else if (first !== header) throw new Error(`cli-startup --record-order: ${c.name} wrote format ${JSON.stringify(first)}, the first run ${JSON.stringify(header)}`);
    for (const l of rest) if (l && !seen.has(l)) (seen.add(l), lines.push(l));
  }
  rmSync(tmp, { force: true });
  writeFileSync(STARTUP_ORDER, `${header}\n${lines.join("\n")}\n`);
  console.log(`cli-startup: wrote ${STARTUP_ORDER} (${lines.length} entries from ${cases.map((c) => c.name).join(", ")})`);
}

/**
 * The smallest n in 1..max for which `starts(n)` is false, when `starts` is true below some
 * threshold and false from it on; max + 1 when it is true all the way.
 *
 * @example
 * ```ts
 * import { bisectBlocks } from "./cli-startup.ts";
 * bisectBlocks((n) => n < 93); // 93
 * ```
 */
export function bisectBlocks(starts: (n: number) => boolean, max = 512): number {
  if (starts(max)) return max + 1;
  let lo = 1;
  let hi = max;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (starts(mid)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * How many JavaScriptCore heap blocks (16 KiB MarkedBlocks) a run of `bin args()` allocates.
 * JSC starts its JSCWarmUp thread once a process has more than
 * `BUN_JSC_warmUpMarkedBlockStartAfterBlocks` (default 64) blocks, so the smallest setting under
 * which a run starts no such thread (its name, seen by strace) is the run's block count. Each
 * probe is a fresh run with fresh `args()` (a new address for the adds). Nearly independent of the
 * machine's load (two runs per setting, see below), unlike the timings: the A/B signal for issue
 * 11's "under 64 blocks".
 */
function heapBlocks(bin: string, args: () => string[]): number {
  const log = join(root, "bench/.build/blocks.strace");
  const starts = (n: number): boolean => {
    const a = args();
    const r = spawnSync("strace", ["-f", "-qq", "-e", "trace=prctl", "-o", log, bin, ...a], {
      stdio: "ignore",
      env: { ...process.env, BUN_JSC_warmUpMarkedBlockStartAfterBlocks: String(n) },
    });
    if (r.error) throw new Error(`cli-startup --blocks needs strace: ${r.error.message}`);
    if (r.status !== 0) throw new Error(`${bin} ${a.join(" ")} exited ${r.status} under strace`);
    return readFileSync(log, "utf8").includes('"JSCWarmUp"');
  };
  // Two runs per setting, "starts" if either saw the thread: a process that crosses the setting
  // just before it exits may end before the new thread names itself (on a loaded machine one
  // run per setting read hello-world at 16 blocks instead of 28, and listings 3-9 blocks apart).
  return bisectBlocks((n) => starts(n) || starts(n));
}

/** --version and route add of tunkit built without one of the flags, each against its own floor. */
function variantRows(defaultFloor: string, rounds: number): Row[] {
  const rows: Row[] = [];
  const variants: Array<[string, BuildVariant]> = [
    ["default (minify, bytecode, splitting, jit policy, start-up order)", { bytecodeOrder: startupOrder() }],
    ["no start-up order", {}],
    ["no minify", { minify: false }],
    ["no bytecode", { bytecode: false }],
    ["no splitting", { splitting: false }],
    ["jit policy 1 (normal tier-up from the start)", { jitPolicy: 1 }],
  ];
  const bins = variants.map(([label, v], i) => ({ label, tk: build(`tunkit-v${i}`, join(root, "cli/main.ts"), v), floor: i === 0 ? defaultFloor : buildFloor(v, `hello-v${i}`) }));
  for (const b of bins) {
    settle(b.tk);
    if (b.floor !== defaultFloor) settle(b.floor);
    time(b.floor, []);
    time(b.tk, ["--version"]);
    time(b.tk, ["route", "add", `10.6.${bins.indexOf(b)}.1/32`, "dev", "tkb0"]);
  }
  let n = 0;
  for (const b of bins) {
    const ver: number[] = [];
    const add: number[] = [];
    const fl: number[] = [];
    for (let r = 0; r < rounds; r++) {
      n++;
      fl.push(time(b.floor, []).wall);
      ver.push(time(b.tk, ["--version"]).wall);
      add.push(time(b.tk, ["route", "add", `10.5.${n >> 8}.${n & 255}/32`, "dev", "tkb0"]).wall);
    }
    const f = median(fl);
    rows.push(row(`cli build variant ${b.label}: --version (vs its floor)`, median(ver), f, "ms", false, `${statSync(b.tk).size >> 20} MiB`));
    rows.push(row(`cli build variant ${b.label}: route add (vs its floor)`, median(add), f, "ms", false));
  }
  return rows;
}

if (import.meta.main && (process.argv.includes("--help") || process.argv.includes("-h"))) console.log(HELP);
else if (import.meta.main && !reexecInNetns()) {
  const rows = await cliStartup();
  if (!process.argv.includes("--record-order") && !process.argv.includes("--profile")) print(rows, process.argv.includes("--json"));
}
