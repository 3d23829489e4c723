// Release plumbing: the build's ELF check and checksums, the version texts, the pack step's
// declaration rewriting, and the package.json fields a consumer depends on.
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDefines, checkElf, compileArgs, currentStamp, hostTarget, writeSums } from "../../scripts/build.ts";
import { exportTargets, jsSpecifiers } from "../../scripts/pack.ts";
import { buildInfo, versionLine, versionText } from "../../cli/version.ts";

const root = join(import.meta.dir, "../..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

test("checkElf: the running bun is an ELF of this machine; another target is named in the refusal", () => {
  // The headers are at the start: the first 64 KiB hold the ELF and program headers and PT_INTERP.
  const me = new Uint8Array(65536);
  const fd = openSync(process.execPath, "r");
  readSync(fd, me, 0, me.length, 0);
  closeSync(fd);
  expect(checkElf(me, hostTarget())).toBeUndefined();
  const other = hostTarget() === "linux-x64" ? "linux-arm64" : "linux-x64";
  expect(checkElf(me, other)).toMatch(/^e_machine \d+, expected \d+$/);
  expect(checkElf(me, `${hostTarget()}-musl` as "linux-x64-musl")).toMatch(/^interpreter \/lib.*ld-linux.*, expected \/lib\/ld-musl-/);
  expect(checkElf(new TextEncoder().encode("#!/bin/sh\necho hi\n"), "linux-x64")).toBe("not a 64-bit ELF file");
});

test("build arguments: a target and the build stamp reach bun build", () => {
  const args = compileArgs("cli/main.ts", "dist/tunkit-linux-arm64", {
    target: "linux-arm64",
    define: buildDefines({ commit: "0123456789ab", date: "2026-11-29T11:00:00Z", bun: "1.4.5", target: "bun-linux-arm64" }),
  });
  expect(args).toContain("--target=bun-linux-arm64");
  expect(args.join(" ")).toContain('--define TUNKIT_COMMIT="0123456789ab" --define TUNKIT_BUILD_DATE="2026-11-29T11:00:00Z"');
  expect(compileArgs("cli/main.ts", "dist/tunkit").some((a) => a.startsWith("--target") || a === "--define")).toBe(false);
});

test("build stamp date: SOURCE_DATE_EPOCH, else the commit's time on a clean tree (two builds of one commit are the same bytes), else now", () => {
  const saved = process.env.SOURCE_DATE_EPOCH;
  try {
    process.env.SOURCE_DATE_EPOCH = "1700000000";
    expect(currentStamp(undefined).date).toBe("2023-11-14T22:13:20Z");
    delete process.env.SOURCE_DATE_EPOCH;
    const t0 = Math.floor(Date.now() / 1000);
    const s = currentStamp(undefined);
    const secs = Date.parse(s.date) / 1000;
    if (s.commit.endsWith("-dirty")) {
      expect(secs).toBeGreaterThanOrEqual(t0 - 1); // a tree with changes: built now
      expect(secs).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    } else {
      const ct = spawnSync("git", ["log", "-1", "--format=%ct", "HEAD"], { cwd: root, encoding: "utf8" }).stdout.trim();
      expect(secs).toBe(Number(ct));
    }
  } finally {
    if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = saved;
  }
});

test("SHA256SUMS covers the binaries and the man page in sha256sum's format", () => {
  const dir = mkdtempSync(join(tmpdir(), "tk-sums-"));
  try {
    writeFileSync(join(dir, "tunkit"), "a");
    writeFileSync(join(dir, "tunkit-linux-arm64"), "b");
    writeFileSync(join(dir, "tunkit.1"), "c");
    writeFileSync(join(dir, "notes.txt"), "d");
    expect(writeSums(dir)).toEqual(["tunkit", "tunkit-linux-arm64", "tunkit.1"]);
    const sha = (s: string) => createHash("sha256").update(s).digest("hex");
    expect(readFileSync(join(dir, "SHA256SUMS"), "utf8")).toBe(`${sha("a")}  tunkit\n${sha("b")}  tunkit-linux-arm64\n${sha("c")}  tunkit.1\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("version texts: one line for --version, the long form and JSON for tunkit version", () => {
  const b = { version: "0.1.0", commit: "0123456789ab", date: "2026-11-29T11:00:00Z", runtime: "bun 1.4.5", target: "bun-linux-x64" };
  expect(versionLine(b)).toBe("tunkit 0.1.0 (commit 0123456789ab, built 2026-11-29T11:00:00Z, bun 1.4.5, bun-linux-x64)");
  expect(JSON.parse(versionText(b, true))).toEqual(b);
  expect(versionText(b, false).split("\n")[0]).toBe("tunkit 0.1.0");
  // From source nothing is baked in: it says so rather than inventing a commit.
  expect(buildInfo()).toMatchObject({ version: pkg.version, commit: "source", date: "source", runtime: `bun ${process.versions.bun}` });
});

test("pack: declaration specifiers become .js; every exports target is listed", () => {
  expect(jsSpecifiers('export { a } from "./a.ts";\nimport("../b/mod.ts");\nimport x from "node:fs";')).toBe('export { a } from "./a.js";\nimport("../b/mod.js");\nimport x from "node:fs";');
  expect(exportTargets(pkg.exports)).toContain("./lib/tun/mod.d.ts");
});

test("package.json: public, one entry per area (bun -> .ts, types/default -> lib/), library files only", () => {
  expect(pkg.private).toBeUndefined();
  expect(pkg.license).toBe("MIT");
  expect(Object.keys(pkg.exports).sort()).toEqual([".", "./common", "./netlink", "./package.json", "./packet", "./proxy", "./tun", "./wg"]);
  for (const [k, v] of Object.entries(pkg.exports as Record<string, Record<string, string> | string>)) {
    if (typeof v === "string") continue;
    expect(Object.keys(v)).toEqual(["bun", "types", "default"]); // order matters: the first match wins
    expect(v.bun).toMatch(/\.ts$/);
    expect(v.types).toBe(v.bun!.replace(/^\.\//, "./lib/").replace(/\.ts$/, ".d.ts"));
    expect(v.default).toBe(v.types!.replace(/\.d\.ts$/, ".js"));
    expect(k === "." ? "./mod.ts" : `${k}/mod.ts`).toBe(v.bun!);
  }
  expect(pkg.files.filter((f: string) => /^(tests|bench|scripts|cli|examples)\b/.test(f))).toEqual([]);
  expect(Object.keys(pkg.dependencies).sort()).toEqual(["ipaddr.js", "smol-toml"]);
});

test("install: binary 0755, man page and three completions 0644 under DESTDIR/PREFIX; a binary that does not match SHA256SUMS is refused", async () => {
  const { install, LAYOUT } = await import("../../scripts/install.ts");
  const { statSync, mkdirSync } = await import("node:fs");
  const dir = mkdtempSync(join(tmpdir(), "tk-install-"));
  try {
    // A stand-in binary: what matters here is where the installer puts what the binary prints.
    mkdirSync(join(dir, "dist"));
    const bin = join(dir, "dist/tunkit");
    writeFileSync(bin, '#!/bin/sh\n[ "$1" = completions ] && echo "# $2 completion for tunkit" && exit 0\nexit 1\n', { mode: 0o755 });
    writeSums(join(dir, "dist"));
    const written = install({ prefix: "/usr/local", destdir: join(dir, "stage"), bin });
    expect(written.map((p) => p.slice(join(dir, "stage/usr/local").length + 1)).sort()).toEqual(Object.values(LAYOUT).sort());
    const at = (rel: string) => join(dir, "stage/usr/local", rel);
    expect(statSync(at(LAYOUT.bin)).mode & 0o777).toBe(0o755);
    for (const rel of [LAYOUT.man, LAYOUT.bash, LAYOUT.zsh, LAYOUT.fish]) expect(statSync(at(rel)).mode & 0o777).toBe(0o644);
    expect(readFileSync(at(LAYOUT.zsh), "utf8")).toBe("# zsh completion for tunkit\n");
    expect(readFileSync(at(LAYOUT.man), "utf8")).toBe(readFileSync(join(root, "tunkit.1"), "utf8"));
    writeFileSync(bin, "#!/bin/sh\nexit 0\n");
    expect(() => install({ prefix: "/usr/local", destdir: join(dir, "stage2"), bin })).toThrow(/does not match .*SHA256SUMS/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
