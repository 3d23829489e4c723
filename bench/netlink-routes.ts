/**
 * rtnetlink LIBRARY benchmark (in-process calls, not the `tunkit` binary: bench/cli-batch.ts measures
 * what users run): insert 100,000 /32 routes with tunkit's pipelined batch (an ACK for every
 * request) vs `ip -batch` of the same routes, and dump them vs `ip -j route show`. Runs in a
 * fresh network namespace (a child under `unshare -n`), interleaved, median of 3.
 *
 *   node_modules/.bin/bun bench/netlink-routes.ts        # prints the rows
 *
 * The default export is what bench/run.ts calls.
 */
import { spawnSync } from "node:child_process";
import { writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface BenchRow {
  name: string;
  tunkit: number;
  reference: number;
  /** reference / tunkit: above 1 means tunkit is faster. */
  ratio: number;
  unit: string;
}

const N = 100_000;
const ROUNDS = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function dst(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
}

async function child(): Promise<BenchRow[]> {
  const { Rtnl, routeBatchItem } = await import("../netlink/rtnl.ts");
  const { routeToIpJson, linkMap } = await import("../netlink/route/json.ts");
  const sh = (...a: string[]) => {
    const r = spawnSync(a[0]!, a.slice(1), { encoding: "utf8", maxBuffer: 1 << 30 });
    if (r.status !== 0) throw new Error(`${a.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  sh("ip", "link", "add", "tkbench0", "type", "veth", "peer", "name", "tkbench1");
  sh("ip", "link", "set", "tkbench0", "up");
  sh("ip", "link", "set", "tkbench1", "up");
  const nl = Rtnl.open();
  const oif = (await nl.getLink("tkbench0")).ifindex;
  const batchFile = join(tmpdir(), `tk-routes-${process.pid}.batch`);
  const insert = { tunkit: [] as number[], ip: [] as number[] };
  const dump = { tunkit: [] as number[], ip: [] as number[] };
  const dumpJson = { tunkit: [] as number[], ip: [] as number[] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      const table = 1000 + round;
      // tunkit: the clock covers building the requests from text specs (parse, validate,
      // iproute2 defaults) and the batch, as ip -batch's covers parsing its file and talking.
      const specs = Array.from({ length: N }, (_, i) => ({ dst: `${dst(i)}/32`, table }));
      let t = performance.now();
      const items = specs.map((s) => routeBatchItem(s, "create", oif));
      const res = await nl.batch(items);
      insert.tunkit.push(performance.now() - t);
      if (res.some((r) => !r.ok)) throw new Error("tunkit batch: some routes failed");
      // dump, tunkit: typed objects; then the same as ip -j text.
      t = performance.now();
      const routes = await nl.listRoutes({ table });
      dump.tunkit.push(performance.now() - t);
      if (routes.length !== N) throw new Error(`tunkit dump: ${routes.length} routes`);
      t = performance.now();
      const ctx = { links: linkMap(await nl.listLinks()) };
      const text = JSON.stringify((await nl.listRoutes({ table })).map((r) => routeToIpJson(r, ctx)));
      dumpJson.tunkit.push(performance.now() - t);
      if (text.length < N * 20) throw new Error("tunkit json dump too short");
      // ip: the same dump.
      t = performance.now();
      const out = sh("ip", "-j", "route", "show", "table", String(table));
      dump.ip.push(performance.now() - t);
      dumpJson.ip.push(dump.ip[dump.ip.length - 1]!);
      if (JSON.parse(out).length !== N) throw new Error("ip dump: wrong count");
      sh("ip", "route", "flush", "table", String(table));
      // ip -batch of the same routes into the same table.
      writeFileSync(batchFile, Array.from({ length: N }, (_, i) => `route add ${dst(i)}/32 dev tkbench0 table ${table}`).join("\n") + "\n");
      t = performance.now();
      sh("ip", "-batch", batchFile);
      insert.ip.push(performance.now() - t);
      sh("ip", "route", "flush", "table", String(table));
    }
  } finally {
    nl.close();
    rmSync(batchFile, { force: true });
  }
  const row = (name: string, m: { tunkit: number[]; ip: number[] }): BenchRow => {
    const a = median(m.tunkit);
    const b = median(m.ip);
    return { name, tunkit: Math.round(a), reference: Math.round(b), ratio: Math.round((b / a) * 100) / 100, unit: "ms" };
  };
  return [
    row(`library (nl.batch in-process, not the CLI): insert ${N} /32 routes, ACK each (vs ip -batch)`, insert),
    row(`library (nl.listRoutes in-process): dump ${N} routes to objects (vs ip -j route show)`, dump),
    row(`library (in-process): dump ${N} routes to ip -j JSON text (vs ip -j route show)`, dumpJson),
  ];
}

/** Runs the benchmark in a fresh network namespace and returns its rows. */
export default async function bench(): Promise<BenchRow[]> {
  const r = spawnSync("unshare", ["-n", process.execPath, import.meta.filename, "--child"], { encoding: "utf8", maxBuffer: 1 << 26, timeout: 300_000 });
  if (r.status !== 0) throw new Error(`netlink-routes bench failed (needs root for unshare -n): ${r.stderr}`);
  const line = r.stdout.trim().split("\n").pop()!;
  return JSON.parse(line) as BenchRow[];
}

if (import.meta.main) {
  if (process.argv.includes("--child")) {
    console.log(JSON.stringify(await child()));
  } else {
    for (const row of await bench()) console.log(`${row.name}: tunkit ${row.tunkit} ${row.unit}, reference ${row.reference} ${row.unit}, ${row.ratio}x`);
  }
}
