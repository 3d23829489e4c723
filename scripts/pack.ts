/**
 * `npm pack` / `npm publish` run this first (package.json `prepack`): builds `lib/`, the
 * package's ESM JavaScript with a `.d.ts` beside every module, from the same sources Bun
 * imports directly. Deno (which does not strip types inside node_modules), Node and every
 * type checker read `lib/` (the `types`/`default` conditions of package.json `exports`); Bun
 * takes the TypeScript sources (the `bun` condition).
 *
 * Steps: `tsc -p tsconfig.pack.json` (emit: relative `.ts` specifiers rewritten to `.js`), then
 * the `.d.ts` files' own relative specifiers are rewritten to `.js` too (tsc keeps `.ts` there,
 * which a consumer without `allowImportingTsExtensions` would trip on), then every `exports`
 * target is checked to exist.
 *
 * Usage: bun scripts/pack.ts
 */
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");

/**
 * Rewrites the relative `.ts` module specifiers of declaration text to `.js`.
 *
 * @example
 * ```ts
 * import { jsSpecifiers } from "./pack.ts";
 * jsSpecifiers('export { a } from "./a.ts";\nimport type { B } from "../b/mod.ts";');
 * // 'export { a } from "./a.js";\nimport type { B } from "../b/mod.js";'
 * ```
 */
export function jsSpecifiers(text: string): string {
  return text.replace(/((?:from|import)\s*\(?\s*")(\.{1,2}\/[^"]*?)\.ts(")/g, "$1$2.js$3");
}

/** Every file under `dir`, recursively (paths relative to `dir`). */
function walk(dir: string, base = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, base), { withFileTypes: true })) {
    const rel = base ? `${base}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, rel));
    else out.push(rel);
  }
  return out;
}

/** The file targets of package.json `exports` (all conditions). */
export function exportTargets(exports: Record<string, string | Record<string, string>>): string[] {
  return Object.values(exports).flatMap((c) => (typeof c === "string" ? [c] : Object.values(c)));
}

if (import.meta.main) {
  const lib = join(root, "lib");
  rmSync(lib, { recursive: true, force: true });
  const tsc = join(root, "node_modules/.bin/tsc");
  const r = spawnSync(tsc, ["-p", "tsconfig.pack.json"], { cwd: root, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) {
    console.error(`pack: tsc failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
    process.exit(1);
  }
  let n = 0;
  for (const f of walk(lib)) {
    if (!f.endsWith(".d.ts")) continue;
    const p = join(lib, f);
    const t = readFileSync(p, "utf8");
    const u = jsSpecifiers(t);
    if (u !== t) writeFileSync(p, u);
    n++;
  }
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  const missing = exportTargets(pkg.exports).filter((t) => !existsSync(join(root, t)));
  if (missing.length) {
    console.error(`pack: exports name missing files: ${missing.join(", ")}`);
    process.exit(1);
  }
  const bytes = walk(lib).reduce((s, f) => s + statSync(join(lib, f)).size, 0);
  console.error(`pack: lib/ built (${n} declaration files, ${(bytes / 1024).toFixed(0)} KiB)`);
}
