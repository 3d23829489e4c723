/**
 * Installs the built binary the way an operator would by hand (README, Install): the binary,
 * the manual page, shell completions, and on request the capability. `--destdir` stages the
 * tree for a package instead of the live system.
 *
 *   bin/tunkit                                 0755 (checked against dist/SHA256SUMS when listed)
 *   share/man/man1/tunkit.1                    0644
 *   share/bash-completion/completions/tunkit   0644   (tunkit completions bash)
 *   share/zsh/site-functions/_tunkit           0644   (tunkit completions zsh)
 *   share/fish/vendor_completions.d/tunkit.fish 0644  (tunkit completions fish)
 *
 * Usage: bun scripts/install.ts [--prefix /usr/local] [--destdir DIR] [--bin dist/tunkit] [--setcap]
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");

/** Where each file goes under `prefix`. */
export const LAYOUT = {
  bin: "bin/tunkit",
  man: "share/man/man1/tunkit.1",
  bash: "share/bash-completion/completions/tunkit",
  zsh: "share/zsh/site-functions/_tunkit",
  fish: "share/fish/vendor_completions.d/tunkit.fish",
} as const;

/**
 * The SHA256SUMS line for `name`, or undefined when the file does not list it.
 *
 * @example
 * ```ts
 * import { listedSum } from "./install.ts";
 * listedSum("ab12  tunkit\ncd34  tunkit-linux-arm64\n", "tunkit"); // "ab12"
 * ```
 */
export function listedSum(sums: string, name: string): string | undefined {
  for (const line of sums.split("\n")) {
    const m = /^([0-9a-f]+) [ *](.+)$/.exec(line);
    if (m && m[2] === name) return m[1];
  }
  return undefined;
}

/** Installs; returns the paths written. Throws with a message on any failure. */
export function install(opts: { prefix: string; destdir?: string; bin: string; setcap?: boolean }): string[] {
  const at = (rel: string) => join(opts.destdir ?? "/", opts.prefix, rel);
  const written: string[] = [];
  const put = (rel: string, data: Uint8Array | string, mode: number) => {
    const p = at(rel);
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, data);
    chmodSync(p, mode);
    written.push(p);
  };
  if (!existsSync(opts.bin)) throw new Error(`${opts.bin} does not exist: run npm run build first`);
  const bytes = readFileSync(opts.bin);
  const sums = join(dirname(opts.bin), "SHA256SUMS");
  if (existsSync(sums)) {
    const want = listedSum(readFileSync(sums, "utf8"), basename(opts.bin));
    const got = createHash("sha256").update(bytes).digest("hex");
    if (want !== undefined && want !== got) throw new Error(`${opts.bin} does not match ${sums} (${got} != ${want}): rebuild or recopy it`);
  }
  put(LAYOUT.bin, bytes, 0o755);
  const man = existsSync(join(dirname(opts.bin), "tunkit.1")) ? join(dirname(opts.bin), "tunkit.1") : join(root, "tunkit.1");
  copyFileSync(man, (mkdirSync(dirname(at(LAYOUT.man)), { recursive: true }), at(LAYOUT.man)));
  chmodSync(at(LAYOUT.man), 0o644);
  written.push(at(LAYOUT.man));
  for (const shell of ["bash", "zsh", "fish"] as const) {
    const r = spawnSync(opts.bin, ["completions", shell], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${opts.bin} completions ${shell} failed: ${r.stderr.trim()}`);
    put(LAYOUT[shell], r.stdout, 0o644);
  }
  if (opts.setcap) {
    const r = spawnSync("setcap", ["cap_net_admin+ep", at(LAYOUT.bin)], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`setcap cap_net_admin+ep ${at(LAYOUT.bin)} failed: ${(r.stderr || r.error?.message || "").trim()} (needs root and the libcap2-bin package)`);
  }
  return written;
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  const val = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const destdir = val("--destdir");
  try {
    const written = install({ prefix: val("--prefix") ?? "/usr/local", ...(destdir ? { destdir } : {}), bin: resolve(val("--bin") ?? join(root, "dist/tunkit")), setcap: args.includes("--setcap") });
    for (const p of written) console.log(`installed ${p}`);
  } catch (e) {
    console.error(`install: ${(e as Error).message}`);
    process.exit(1);
  }
}
