// Dependencies fit the machine: every package of the lockfile whose `engines.node` is set accepts
// the Node.js that runs npm here (else `npm ci` warns EBADENGINE before anything runs).
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dir, "../..");

test("every locked package's engines.node accepts this machine's node", () => {
  // process.versions.node is Bun's emulated version: ask the real node, the one npm runs on.
  const r = spawnSync("node", ["--version"], { encoding: "utf8" });
  expect(r.error?.message ?? "").toBe("");
  const node = r.stdout.trim().replace(/^v/, "");
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };
  const refused: string[] = [];
  let checked = 0;
  for (const [path, p] of Object.entries(lock.packages)) {
    const range = p.engines && !Array.isArray(p.engines) ? p.engines.node : undefined;
    if (!range) continue;
    checked++;
    if (!Bun.semver.satisfies(node, range)) refused.push(`${path.replace(/^node_modules\//, "")}@${p.version} wants node ${range}`);
  }
  expect(checked).toBeGreaterThan(0);
  expect({ node, refused }).toEqual({ node, refused: [] });
});

test("commander and its typings are the same minor (the typings pin commander with ~)", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  // The CLI's dependencies are development dependencies (the package ships the library only).
  pkg.dependencies = { ...pkg.dependencies, ...pkg.devDependencies };
  const minor = (v: string) => v.split(".").slice(0, 2).join(".");
  expect(minor(pkg.dependencies["@commander-js/extra-typings"]!)).toBe(minor(pkg.dependencies.commander!));
});

test("deno.json's npm: imports pin the versions package.json installs (Deno reads node_modules)", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };
  pkg.dependencies = { ...pkg.dependencies, ...pkg.devDependencies };
  const deno = JSON.parse(readFileSync(join(root, "deno.json"), "utf8")) as { imports: Record<string, string> };
  const pinned = Object.fromEntries(Object.entries(deno.imports).map(([k, v]) => [k, /^npm:(?:@[^/]+\/)?[^@]+@(.+)$/.exec(v)?.[1]]));
  expect(Object.keys(pinned).length).toBeGreaterThan(0);
  // every import deno.json pins is the version package.json installs (the others Deno takes from package.json)
  expect(pinned).toEqual(Object.fromEntries(Object.keys(pinned).map((k) => [k, pkg.dependencies[k]])));
});
