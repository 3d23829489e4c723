import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { elfSection, fileBackedRuns, imageRanges } from "../../ffi/exec.ts";

/** A minimal ELF64 LE file: header, a section-name table, and sections `names` at `addr`s. */
function elf(type: number, sections: Array<{ name: string; addr: number; size: number }>): Uint8Array {
  const strtab = ["", ".shstrtab", ...sections.map((s) => s.name)].join("\0") + "\0";
  const str = new TextEncoder().encode(strtab);
  const shnum = sections.length + 2; // null, shstrtab, ours
  const shoff = 64 + str.length + ((8 - (str.length % 8)) % 8);
  const out = new Uint8Array(shoff + shnum * 64);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  v.setUint16(16, type, true);
  v.setBigUint64(40, BigInt(shoff), true);
  v.setUint16(58, 64, true);
  v.setUint16(60, shnum, true);
  v.setUint16(62, 1, true);
  out.set(str, 64);
  const put = (i: number, name: string, addr: number, off: number, size: number) => {
    const o = shoff + i * 64;
    v.setUint32(o, strtab.indexOf(`\0${name}\0`) + 1, true);
    v.setBigUint64(o + 16, BigInt(addr), true);
    v.setBigUint64(o + 24, BigInt(off), true);
    v.setBigUint64(o + 32, BigInt(size), true);
  };
  put(1, ".shstrtab", 0, 64, str.length);
  sections.forEach((s, i) => put(i + 2, s.name, s.addr, 0, s.size));
  return out;
}

const reader = (b: Uint8Array) => (off: number, len: number) => b.subarray(off, off + len);

test("elfSection: finds a section by its whole name, not a prefix, and says whether the file is position-independent", () => {
  const f = elf(2, [{ name: ".bundle", addr: 0x1000, size: 10 }, { name: ".bun", addr: 0x6a22000, size: 0x573e1d }]);
  expect(elfSection(reader(f), ".bun")).toEqual({ addr: 0x6a22000, size: 0x573e1d, dyn: false });
  expect(elfSection(reader(f), ".bundle")).toEqual({ addr: 0x1000, size: 10, dyn: false });
  expect(elfSection(reader(f), ".bu")).toBeUndefined();
  expect(elfSection(reader(elf(3, [{ name: ".bun", addr: 0x2000, size: 5 }])), ".bun")?.dyn).toBe(true);
});

test("elfSection: not an ELF64 little-endian file, or a cut-off one: undefined", () => {
  expect(elfSection(reader(new Uint8Array(64)), ".bun")).toBeUndefined();
  const f = elf(2, [{ name: ".bun", addr: 0x1000, size: 1 }]);
  expect(elfSection(reader(f.subarray(0, 100)), ".bun")).toBeUndefined();
  const be = f.slice();
  be[5] = 2; // big-endian
  expect(elfSection(reader(be), ".bun")).toBeUndefined();
});

test("fileBackedRuns: skips the pages the process owns (present anonymous, or swapped), keeps file pages and absent ones", () => {
  const FILE = 1n << 61n;
  const SWAP = 1n << 62n;
  const PRESENT = 1n << 63n;
  expect(fileBackedRuns(new BigUint64Array([]))).toEqual([]);
  expect(fileBackedRuns(new BigUint64Array([PRESENT | FILE, 0n, PRESENT, PRESENT | FILE, SWAP, PRESENT | FILE]))).toEqual([[0, 2], [3, 1], [5, 1]]);
  expect(fileBackedRuns(new BigUint64Array([PRESENT, PRESENT]))).toEqual([]);
});

test("imageRanges: the executable's read-only mappings whole, of its writable ones only the bundle's pages; other files ignored", () => {
  const maps = [
    "55d000000000-55d000400000 r--p 00000000 08:01 77 /usr/local/bin/tunkit",
    "55d000400000-55d003000000 r-xp 00400000 08:01 77 /usr/local/bin/tunkit",
    "55d003000000-55d003200000 r--p 03000000 08:01 77 /usr/local/bin/tunkit",
    "55d003200000-55d003900000 rw-p 03200000 08:01 77 /usr/local/bin/tunkit",
    "55d003900000-55d003a00000 rw-p 00000000 00:00 0 ",
    "7f0000000000-7f0000100000 r-xp 00000000 08:01 12 /usr/lib/x86_64-linux-gnu/libc.so.6",
    "7f0000200000-7f0000300000 r--p 00000000 08:01 78 /usr/local/bin/tunkit-other",
    "",
  ].join("\n");
  const bases: number[] = [];
  const r = imageRanges(maps, "/usr/local/bin/tunkit", (base) => {
    bases.push(base);
    return { start: base + 0x3300000, end: base + 0x3a00000 }; // runs past the writable mapping: clipped
  });
  expect(bases).toEqual([0x55d000000000]);
  expect(r).toEqual([
    [0x55d000000000, 0x55d000400000],
    [0x55d000400000, 0x55d003000000],
    [0x55d003000000, 0x55d003200000],
    [0x55d003300000, 0x55d003900000],
  ]);
  // no bundle section: the writable mapping stays whole in the process
  expect(imageRanges(maps, "/usr/local/bin/tunkit", () => undefined)).toHaveLength(3);
  expect(imageRanges(maps, "/nowhere", () => ({ start: 0, end: 1 }))).toEqual([]);
});

/** The program compiled below: reads BIG (in the bundle), drops, reads it again; prints the RSS of the exe's writable mappings before and after. */
const PROGRAM = (exec: string) => `
import { readFileSync, readlinkSync } from "node:fs";
import { dropCleanImagePages } from ${JSON.stringify(exec)};
import { BIG } from "./big.ts";
function exeKb(writable) {
  const exe = readlinkSync("/proc/self/exe");
  let kb = 0;
  for (const b of readFileSync("/proc/self/smaps", "utf8").split(/\\n(?=[0-9a-f]+-[0-9a-f]+ )/)) {
    const h = /^\\S+ (\\S{4}) \\S+ \\S+ \\d+[ \\t]*(.*)$/m.exec(b);
    if (h && h[1].includes("w") === writable && h[2].trim() === exe) kb += Number(/^Rss:\\s+(\\d+)/m.exec(b)?.[1] ?? 0);
  }
  return kb;
}
const writableKb = () => exeKb(true);
function digest(s) {
  let h = 0;
  for (let i = 0; i < s.length; i += 61) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h;
}
const first = digest(BIG);
const before = writableKb();
const code = exeKb(false);
const mb = await dropCleanImagePages();
const after = writableKb();
const codeAfter = exeKb(false);
const same = digest(BIG) === first;
// a second call (a daemon calls it at each step of its start): the pages read again go again
const again = writableKb();
const mb2 = await dropCleanImagePages();
console.log(JSON.stringify({ before, after, mb, same, length: BIG.length, code, codeAfter, again, mb2, after2: writableKb(), same2: digest(BIG) === first }));
`;

test("dropCleanImagePages in a compiled binary: the embedded bundle's pages leave the resident set and read back the same", () => {
  const dir = mkdtempSync(join(tmpdir(), "tk-pages-"));
  try {
    // 3 MB of text in the bundle (Bun's writable .bun section), read before and after the drop
    const parts: string[] = [];
    let x = 12345;
    for (let i = 0; i < 3_000_000; i++) {
      x = (x * 1103515245 + 12345) >>> 0;
      parts.push(String.fromCharCode(97 + (x % 26)));
    }
    writeFileSync(join(dir, "big.ts"), `export const BIG = ${JSON.stringify(parts.join(""))};\n`);
    writeFileSync(join(dir, "main.ts"), PROGRAM(join(import.meta.dir, "../../ffi/exec.ts")));
    const b = spawnSync(process.execPath, ["build", "--compile", "--minify", "--bytecode", "--format=esm", join(dir, "main.ts"), "--outfile", join(dir, "prog")], { encoding: "utf8" });
    expect(b.status).toBe(0);
    const r = spawnSync(join(dir, "prog"), { encoding: "utf8" });
    expect(r.status).toBe(0);
    const o = JSON.parse(r.stdout.trim()) as { before: number; after: number; mb: number; same: boolean; length: number; code: number; codeAfter: number; again: number; mb2: number; after2: number; same2: boolean };
    expect(o.length).toBe(3_000_000);
    expect(o.same).toBe(true);
    expect(o.before).toBeGreaterThan(3000); // the string is resident in the bundle's mapping (kB)
    expect(o.before - o.after).toBeGreaterThan(2500); // and most of it left (the old code kept writable mappings whole)
    expect(o.mb).toBeGreaterThan(2.5);
    // the runtime's code and read-only data (file pages) leave too: 15+ MB resident after start-up
    expect(o.code).toBeGreaterThan(10_000);
    expect(o.code - o.codeAfter).toBeGreaterThan(5_000);
    // a second call: the bundle's pages read again since the first drop go again
    expect(o.same2).toBe(true);
    expect(o.again - o.after).toBeGreaterThan(2500);
    expect(o.again - o.after2).toBeGreaterThan(2500);
    expect(o.mb2).toBeGreaterThan(2.5);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

/**
 * Where {@link evictImageCache}'s test builds its program, and what the file system there lets it
 * show: "disk", a page cache of its own (the first candidate that has one); "shmem", tmpfs/ramfs,
 * whose pages are the file itself (nothing can be evicted); "unknown", an overlay, whose upper layer
 * may be either (a container's disk, or the tmpfs of the bare-machine check).
 */
function evictionPlace(): { dir: string; fs: "disk" | "shmem" | "unknown" } {
  const kind = (d: string) => spawnSync("stat", ["-f", "-c", "%T", d], { encoding: "utf8" }).stdout?.trim() ?? "";
  const candidates = [tmpdir(), "/var/tmp", join(import.meta.dir, "../..")];
  for (const d of candidates) {
    const t = kind(d);
    if (t && t !== "tmpfs" && t !== "ramfs" && t !== "overlayfs") return { dir: d, fs: "disk" };
  }
  const t = kind(tmpdir());
  return { dir: tmpdir(), fs: t === "tmpfs" || t === "ramfs" ? "shmem" : "unknown" };
}

test("evictImageCache: a binary just written is evicted from the page cache once per version (marker), then left alone (on tmpfs, where nothing can be evicted, it is harmless and still tried once per version)", () => {
  const place = evictionPlace();
  const dir = mkdtempSync(join(place.dir, "tk-evict-"));
  try {
    writeFileSync(
      join(dir, "main.ts"),
      `import { evictImageCache, imageCacheShare } from ${JSON.stringify(join(import.meta.dir, "../../ffi/exec.ts"))};
const before = await imageCacheShare();
const share = await evictImageCache(${JSON.stringify(join(dir, "run"))});
const after = await imageCacheShare();
console.log(JSON.stringify({ before, share, after }));
`,
    );
    const b = spawnSync(process.execPath, ["build", "--compile", "--format=esm", join(dir, "main.ts"), "--outfile", join(dir, "prog")], { encoding: "utf8" });
    expect(b.status).toBe(0);
    const run = () => {
      const r = spawnSync(join(dir, "prog"), { encoding: "utf8" });
      expect(r.status).toBe(0);
      return JSON.parse(r.stdout.trim()) as { before: number; share: number; after: number };
    };
    // just written: (nearly) all of it in the cache; evicted, but for what the program touched
    // since (and the kernel read ahead around it: 71% cached again here, against 100% left alone)
    const first = run();
    expect(first.before).toBeGreaterThan(0.9);
    expect(first.share).toBe(Math.round(first.before * 100) / 100);
    if (place.fs === "disk") expect(first.after).toBeLessThan(first.before - 0.15);
    if (place.fs === "shmem") expect(first.after).toBeGreaterThan(0.9); // a shmem file's pages are the file: all still there
    const markers = readdirSync(join(dir, "run"));
    expect(markers).toHaveLength(1);
    expect(markers[0]).toMatch(/^image-evicted-\d+-\d+-\d+-\d+$/);
    // the same version again: left alone, whatever is cached
    expect(run().share).toBe(0);
    // a new version (rewritten: a new mtime): evicted again
    writeFileSync(join(dir, "prog2"), readFileSync(join(dir, "prog")));
    rmSync(join(dir, "prog"));
    renameSync(join(dir, "prog2"), join(dir, "prog"));
    chmodSync(join(dir, "prog"), 0o755);
    expect(run().share).toBeGreaterThan(0.9);
    expect(readdirSync(join(dir, "run"))).toHaveLength(2);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
