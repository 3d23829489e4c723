/**
 * `npm run bench [-- --json] [-- NAME...]`: runs every benchmark in bench/ (each file whose
 * default export returns rows) inside a network namespace made for the run, prints one table
 * (name, tunkit, reference, ratio, unit) or, with --json, one JSON object per line.
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { print, reexecInNetns, root, type Row } from "./lib.ts";

if (!reexecInNetns()) {
  const json = process.argv.includes("--json");
  const only = process.argv.slice(2).filter((a) => !a.startsWith("--"));
  const files = readdirSync(join(root, "bench"))
    .filter((f) => f.endsWith(".ts") && !["run.ts", "lib.ts"].includes(f) && !f.endsWith("-child.ts"))
    .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
    .sort();
  const rows: Row[] = [];
  for (const f of files) {
    const mod = (await import(join(root, "bench", f))) as { default?: () => Promise<Row[]> };
    if (typeof mod.default !== "function") continue;
    if (!json) console.error(`running ${f} ...`);
    try {
      const r = await mod.default();
      rows.push(...r);
      if (json) for (const x of r) console.log(JSON.stringify(x));
    } catch (e) {
      console.error(`${f} failed: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  }
  if (!json) print(rows, false);
}
