/**
 * {@link reexecWithEnv}: replace the running program by itself (same pid, same arguments, same
 * open stdio) with a few more environment variables, for settings a runtime reads only when
 * it starts (its allocator's options).
 *
 * @module
 */
import { readFileSync, writeFileSync } from "node:fs";
import { addrValue, errno, runtime } from "./libc.ts";
import { LIBC_NAMES } from "./symbols.ts";

/**
 * execve, bound on its own (and only when called) rather than in the shared symbol table: with
 * it there, the wg roaming test (tests/integration/wg-edge.test.ts, "B's outer address moves")
 * timed out twice in a row and passed without it; the cause is not known yet.
 */
async function bindExecve(): Promise<((path: Uint8Array, argv: Uint8Array, envp: Uint8Array) => number) | undefined> {
  if (runtime !== "bun") return undefined;
  const { dlopen, FFIType } = await import("bun:ffi");
  for (const path of LIBC_NAMES) {
    try {
      const lib = dlopen(path, { execve: { args: [FFIType.ptr, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 } });
      return lib.symbols.execve as unknown as (path: Uint8Array, argv: Uint8Array, envp: Uint8Array) => number;
    } catch {
      /* next name */
    }
  }
  return undefined;
}

const enc = new TextEncoder();

/** NUL-terminated strings packed in one buffer, and a NULL-terminated array of pointers to them. */
function cArray(strings: readonly string[]): { bytes: Uint8Array; ptrs: Uint8Array } {
  const parts = strings.map((s) => enc.encode(s));
  const size = parts.reduce((n, p) => n + p.length + 1, 0);
  // Over 1000 bytes so their addresses stay put (shared/notes pitfall 1).
  const bytes = new Uint8Array(new ArrayBuffer(Math.max(size, 1024)));
  const ptrs = new Uint8Array(new ArrayBuffer(Math.max((parts.length + 1) * 8, 1024)));
  const view = new DataView(ptrs.buffer);
  const base = addrValue(bytes);
  let off = 0;
  parts.forEach((p, i) => {
    bytes.set(p, off);
    view.setBigUint64(i * 8, base + BigInt(off), true);
    off += p.length + 1;
  });
  view.setBigUint64(parts.length * 8, 0n, true);
  return { bytes, ptrs };
}

/** Set by {@link reexecWithEnv} in the new image: the variables it added, to take out of the children's environment. */
const ADDED = "TUNKIT_REEXEC_ADDED";

/**
 * Re-executes this process (execve of /proc/self/exe with the arguments it was started with)
 * with the variables of `env` that are not set yet added to its environment (a variable the
 * user set keeps the user's value), unless every one is already set (then, or when the exec
 * fails, it returns and the caller goes on as it is). In the new image the call returns at once
 * and takes the variables it added out of `process.env`: the runtime read them when it started,
 * and the programs this one starts (hooks) get the environment the user gave. Bun only; a no-op
 * on Deno. Call it before opening anything that must survive (descriptors opened with CLOEXEC
 * close; stdin/out/err stay). `opts.before` runs right before the exec (only when it will be
 * tried), e.g. {@link evictImageCache}.
 *
 * @example
 * ```ts
 * import { reexecWithEnv } from "./exec.ts";
 * await reexecWithEnv({ MIMALLOC_PURGE_DELAY: "-1" }); // returns only when already set (or on failure)
 * ```
 */
export async function reexecWithEnv(env: Record<string, string>, opts: { before?: () => Promise<unknown> } = {}): Promise<{ errno: number } | undefined> {
  if (runtime !== "bun") return undefined;
  const missing = Object.keys(env).filter((k) => process.env[k] === undefined);
  if (!missing.length) {
    const added = process.env[ADDED];
    if (added !== undefined) {
      for (const k of added.split(",")) if (k in env) delete process.env[k];
      delete process.env[ADDED];
      restoreName();
    }
    return undefined;
  }
  let argv: string[];
  try {
    argv = readFileSync("/proc/self/cmdline", "utf8").split("\0");
  } catch {
    return undefined;
  }
  if (argv[argv.length - 1] === "") argv.pop();
  if (argv.length === 0) return undefined;
  const vars = { ...process.env, ...Object.fromEntries(missing.map((k) => [k, env[k]])), [ADDED]: missing.join(",") } as Record<string, string | undefined>;
  const a = cArray(argv);
  const e = cArray(Object.entries(vars).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`));
  const execve = await bindExecve();
  if (!execve) return undefined;
  await opts.before?.();
  const path = enc.encode("/proc/self/exe\0");
  execve(path, a.ptrs, e.ptrs);
  // Still here: the exec failed; keep the strings alive until now.
  void a.bytes;
  void e.bytes;
  return { errno: errno() };
}

/**
 * The name ps, top and /proc/PID/comm show, put back after {@link reexecWithEnv}'s exec: the
 * kernel names an image after the file it was executed from, and that file is /proc/self/exe,
 * so a re-executed daemon showed as "exe". Its name becomes its binary's (process.execPath's
 * last part, 15 bytes at most as the kernel keeps it): "tunkit", as before the exec. Only a
 * name of "exe" is changed, and never to "exe".
 */
function restoreName(): void {
  try {
    if (readFileSync("/proc/self/comm", "utf8") !== "exe\n") return;
    const name = process.execPath.split("/").pop();
    if (name && name !== "exe") writeFileSync("/proc/self/comm", name.slice(0, 15));
  } catch {
    /* a name is cosmetic */
  }
}

const MADV_DONTNEED = 4;
const PAGE = 4096;
/** /proc/PID/pagemap flags, in an entry's high 32 bits: bit 61 file page, 62 swapped, 63 present. */
const HI_FILE = 1 << 29;
const HI_SWAP = 1 << 30;
const HI_PRESENT = 1 << 31;

/**
 * Where section `name` of an ELF64 little-endian file lies (its address and size in memory, as
 * linked), read through `read(offset, length)`; undefined when the file is not such an ELF or
 * has no section of that name. Pure: the caller brings the bytes.
 *
 * @example
 * ```ts
 * import { elfSection } from "./exec.ts";
 * elfSection(() => new Uint8Array(64), ".bun"); // undefined: not an ELF file
 * ```
 */
export function elfSection(read: (offset: number, length: number) => Uint8Array, name: string): { addr: number; size: number; dyn: boolean } | undefined {
  const eh = read(0, 64);
  if (eh.length < 64 || eh[0] !== 0x7f || eh[1] !== 0x45 || eh[2] !== 0x4c || eh[3] !== 0x46 || eh[4] !== 2 || eh[5] !== 1) return undefined;
  const h = new DataView(eh.buffer, eh.byteOffset, eh.byteLength);
  const type = h.getUint16(16, true);
  const shoff = Number(h.getBigUint64(40, true));
  const shentsize = h.getUint16(58, true);
  const shnum = h.getUint16(60, true);
  const shstrndx = h.getUint16(62, true);
  if (shentsize < 64 || shnum === 0 || shstrndx >= shnum || shnum > 4096) return undefined;
  const table = read(shoff, shentsize * shnum);
  if (table.length < shentsize * shnum) return undefined;
  const t = new DataView(table.buffer, table.byteOffset, table.byteLength);
  const str = shstrndx * shentsize;
  const names = read(Number(t.getBigUint64(str + 24, true)), Number(t.getBigUint64(str + 32, true)));
  const want = new TextEncoder().encode(name);
  for (let i = 0; i < shnum; i++) {
    const o = i * shentsize;
    const at = t.getUint32(o, true);
    if (at + want.length >= names.length || names[at + want.length] !== 0) continue;
    let same = true;
    for (let k = 0; k < want.length && same; k++) same = names[at + k] === want[k];
    if (same) return { addr: Number(t.getBigUint64(o + 16, true)), size: Number(t.getBigUint64(o + 32, true)), dyn: type === 3 };
  }
  return undefined;
}

/**
 * The runs of pages, from /proc/self/pagemap entries (one 64-bit word a page), that may be
 * dropped: every page but those the process owns privately (present and not file-backed: a
 * copy it wrote; or swapped out). Returns [first page, page count] pairs, indices into `entries`.
 *
 * @example
 * ```ts
 * import { fileBackedRuns } from "./exec.ts";
 * const FILE = 1n << 61n, PRESENT = 1n << 63n;
 * fileBackedRuns(new BigUint64Array([PRESENT | FILE, PRESENT | FILE, PRESENT, 0n])); // [[0, 2], [3, 1]]
 * ```
 */
export function fileBackedRuns(entries: BigUint64Array): Array<[number, number]> {
  // the high word of each entry (little-endian), read without making a BigInt per page
  const hi = new Uint32Array(entries.buffer, entries.byteOffset, entries.length * 2);
  const runs: Array<[number, number]> = [];
  let from = -1;
  for (let i = 0; i <= entries.length; i++) {
    const h = i < entries.length ? hi[i * 2 + 1]! : 0;
    const own = i === entries.length || (h & HI_SWAP) !== 0 || ((h & HI_PRESENT) !== 0 && (h & HI_FILE) === 0);
    if (!own && from < 0) from = i;
    else if (own && from >= 0) {
      runs.push([from, i - from]);
      from = -1;
    }
  }
  return runs;
}

/** What {@link dropCleanImagePages} works on, found once: madvise, the executable's mappings, the bundle's pages. */
interface ImagePages {
  madvise: (addr: number, len: number, advice: number) => number;
  /** Page-aligned [start, end) ranges whose file-backed pages may go: the read-only mappings of the executable, and the `.bun` section's pages in its writable one. */
  ranges: Array<[number, number]>;
}

let image: Promise<ImagePages | undefined> | undefined;

/**
 * The executable's mappings from /proc/self/maps text: read-only ones whole, and of the writable
 * ones only `bundle` (the `.bun` section's page-aligned [start, end), clipped to them; other threads
 * write the rest of that mapping at any time). Pure.
 *
 * @example
 * ```ts
 * import { imageRanges } from "./exec.ts";
 * const maps = "400000-401000 r--p 00000000 08:01 7 /bin/x\n401000-409000 r-xp 00001000 08:01 7 /bin/x\n409000-40c000 rw-p 00009000 08:01 7 /bin/x\n";
 * imageRanges(maps, "/bin/x", () => ({ start: 0x40a000, end: 0x40b000 }));
 * // [[0x400000, 0x401000], [0x401000, 0x409000], [0x40a000, 0x40b000]]
 * ```
 */
export function imageRanges(maps: string, exe: string, bundle: (base: number) => { start: number; end: number } | undefined): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let base = -1;
  const writable: Array<[number, number]> = [];
  for (const line of maps.split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ \d+\s+(.*)$/.exec(line);
    if (!m || m[5]!.trim() !== exe) continue;
    const start = parseInt(m[1]!, 16);
    const end = parseInt(m[2]!, 16);
    if (base < 0 && parseInt(m[4]!, 16) === 0) base = start;
    if (m[3]!.includes("w")) writable.push([start, end]);
    else ranges.push([start, end]);
  }
  const b = writable.length && base >= 0 ? bundle(base) : undefined;
  if (b) {
    for (const [start, end] of writable) {
      const first = Math.max(b.start, start);
      const last = Math.min(b.end, end);
      if (last > first) ranges.push([first, last]);
    }
  }
  return ranges;
}

/** Binds madvise and finds the executable's droppable ranges (once; undefined when that cannot be done). */
async function imagePages(): Promise<ImagePages | undefined> {
  const fs = await import("node:fs");
  let maps: string;
  let exe: string;
  try {
    maps = readFileSync("/proc/self/maps", "utf8");
    exe = fs.readlinkSync("/proc/self/exe");
  } catch {
    return undefined;
  }
  const { dlopen, FFIType } = await import("bun:ffi");
  let madvise: ImagePages["madvise"] | undefined;
  for (const path of LIBC_NAMES) {
    try {
      madvise = dlopen(path, { madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 } }).symbols.madvise as unknown as ImagePages["madvise"];
      break;
    } catch {
      /* next name */
    }
  }
  if (!madvise) return undefined;
  const ranges = imageRanges(maps, exe, (base) => {
    let fd = -1;
    try {
      fd = fs.openSync(exe, "r");
      const read = (off: number, len: number) => {
        const b = new Uint8Array(len);
        return b.subarray(0, fs.readSync(fd, b, 0, len, off));
      };
      const sec = elfSection(read, ".bun");
      if (!sec) return undefined;
      const addr = sec.dyn ? base + sec.addr : sec.addr;
      // whole pages of the section only
      return { start: Math.ceil(addr / PAGE) * PAGE, end: Math.floor((addr + sec.size) / PAGE) * PAGE };
    } catch {
      return undefined;
    } finally {
      if (fd >= 0) fs.closeSync(fd);
    }
  });
  return { madvise, ranges };
}

/**
 * Takes the executable's own clean pages out of the resident set: the code and read-only data
 * a compiled binary touched while starting (most of it never runs again in a long-lived daemon),
 * and the pages of its embedded bundle (Bun's `.bun` section: the modules' source and bytecode,
 * 4-5 MB of tunkit's, read while loading) stay in the page cache and fault back in, from there,
 * when used. Only pages that are still the file's go (/proc/self/pagemap): nothing the process
 * wrote (a relocated page, a written page of `.bun`) is lost. The first call finds the mappings
 * and binds madvise; later calls only read pagemap and advise, so a daemon can call it at each
 * step of its start-up without the call itself adding to the peak. Returns the MB taken out of
 * RSS (0 under Deno or when nothing applies).
 *
 * @example
 * ```ts
 * import { dropCleanImagePages } from "./exec.ts";
 * await dropCleanImagePages(); // e.g. 30.5
 * ```
 */
export async function dropCleanImagePages(): Promise<number> {
  if (runtime !== "bun") return 0;
  const img = await (image ??= imagePages());
  if (!img) return 0;
  const fs = await import("node:fs");
  let pm = -1;
  let pages = 0;
  try {
    pm = fs.openSync("/proc/self/pagemap", "r");
    for (const [start, end] of img.ranges) pages += dropRange(fs, pm, start, end, img.madvise);
  } catch {
    /* what was dropped stays dropped */
  } finally {
    if (pm >= 0) fs.closeSync(pm);
  }
  return Math.round(((pages * PAGE) / 1048576) * 10) / 10;
}

/** Drops the file-backed runs of [start, end) that have a page present (pagemap fd `pm`), by `advice`; returns the pages taken out. */
function dropRange(fs: typeof import("node:fs"), pm: number, start: number, end: number, madvise: ImagePages["madvise"], advice = MADV_DONTNEED): number {
  const count = (end - start) / PAGE;
  const raw = new Uint8Array(count * 8);
  if (fs.readSync(pm, raw, 0, raw.length, (start / PAGE) * 8) !== raw.length) return 0;
  const hi = new Uint32Array(raw.buffer);
  let dropped = 0;
  for (const [p, n] of fileBackedRuns(new BigUint64Array(raw.buffer))) {
    let present = 0;
    for (let i = p; i < p + n; i++) if (hi[i * 2 + 1]! & HI_PRESENT) present++;
    if (present && madvise(start + p * PAGE, n * PAGE, advice) === 0) dropped += present;
  }
  return dropped;
}

const MADV_PAGEOUT = 21;
const POSIX_FADV_DONTNEED = 4;
/** The share of the executable's mapped pages in the page cache from which {@link evictImageCache} evicts. */
export const DENSE_CACHE_SHARE = 0.5;

/** The page-cache calls {@link evictImageCache} makes, bound from libc (undefined when they cannot be). */
interface CacheCalls {
  mincore: (addr: number, len: number, vec: Uint8Array) => number;
  posix_fadvise: (fd: number, off: number, len: number, advice: number) => number;
  fdatasync: (fd: number) => number;
}

async function cacheCalls(): Promise<CacheCalls | undefined> {
  const { dlopen, FFIType } = await import("bun:ffi");
  for (const path of LIBC_NAMES) {
    try {
      return dlopen(path, {
        mincore: { args: [FFIType.u64, FFIType.u64, FFIType.ptr], returns: FFIType.i32 },
        posix_fadvise: { args: [FFIType.i32, FFIType.i64, FFIType.i64, FFIType.i32], returns: FFIType.i32 },
        fdatasync: { args: [FFIType.i32], returns: FFIType.i32 },
      }).symbols as unknown as CacheCalls;
    } catch {
      /* next name */
    }
  }
  return undefined;
}

/**
 * The share of `ranges`' pages that are in the page cache (mincore(2) of the executable's own
 * mappings: for a file mapping it tells the page cache, mapped here or not). NaN if unknown.
 */
function cachedShare(mincore: CacheCalls["mincore"], ranges: Array<[number, number]>): number {
  let pages = 0;
  let cached = 0;
  for (const [start, end] of ranges) {
    const vec = new Uint8Array((end - start) / PAGE);
    if (mincore(start, end - start, vec) !== 0) return NaN;
    pages += vec.length;
    for (const v of vec) cached += v & 1;
  }
  return pages ? cached / pages : NaN;
}

/**
 * Empties the page cache of the running executable once per version of the file, so that the
 * program started next from it (the daemon's re-exec of itself) maps the pages it touches, not
 * large folios around them. A file that came into the cache through write() or read() (a build,
 * an install, a copy, a checksum) sits there in large folios (64 KiB on average here, ext4 on
 * Linux 6.18); read back by page faults, in single pages. Same bytes, same work: the daemon
 * started from the first kind had 5-6 MB more of the binary resident at its start-up peak
 * (46.5-48.3 MB against 41.0-41.4, 3 starts each) and 2-4 MB more when idle. That was issue 14's
 * "two builds of one commit 5 MB apart": one binary fresh from the build, one evicted and read
 * back since (the builds differ only in their stamp and output name).
 *
 * Dirty pages are written first (fdatasync: a copy made a moment ago), the process's own clean
 * pages are paged out (MADV_PAGEOUT), the rest dropped (POSIX_FADV_DONTNEED); pages another
 * process maps stay. Cost: what the next starts touch is read from disk again (~30 MB of the
 * 110 MB binary; first start 1-2 s slower here). With `markerDir`, a file there named after the
 * executable's inode, mtime and size records that this version was evicted: later starts skip
 * (a new build or install is a new version). Without it, it evicts whenever half the file is
 * cached. Returns the share of the file that was cached (0: nothing done — not Bun, done before
 * for this version, little cached, or the calls are missing).
 *
 * @example
 * ```ts
 * import { evictImageCache } from "./exec.ts";
 * await evictImageCache("/run/tunkit"); // e.g. 0.97 (a binary just built), then 0
 * ```
 */
export async function evictImageCache(markerDir?: string): Promise<number> {
  if (runtime !== "bun") return 0;
  const fs = await import("node:fs");
  let marker: string | undefined;
  if (markerDir) {
    try {
      const st = fs.statSync("/proc/self/exe");
      marker = `${markerDir}/image-evicted-${st.dev}-${st.ino}-${Math.floor(st.mtimeMs)}-${st.size}`;
      if (fs.existsSync(marker)) return 0;
    } catch {
      return 0;
    }
  }
  const img = await (image ??= imagePages());
  if (!img) return 0;
  const calls = await cacheCalls();
  if (!calls) return 0;
  const share = cachedShare(calls.mincore, img.ranges);
  if (!(share >= DENSE_CACHE_SHARE)) return 0;
  let fd = -1;
  let pm = -1;
  try {
    fd = fs.openSync("/proc/self/exe", "r");
    calls.fdatasync(fd);
    pm = fs.openSync("/proc/self/pagemap", "r");
    for (const [start, end] of img.ranges) dropRange(fs, pm, start, end, img.madvise, MADV_PAGEOUT);
    calls.posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
  } catch {
    /* what was evicted stays evicted */
  } finally {
    if (pm >= 0) fs.closeSync(pm);
    if (fd >= 0) fs.closeSync(fd);
  }
  if (marker) {
    try {
      fs.mkdirSync(markerDir!, { recursive: true, mode: 0o755 });
      fs.writeFileSync(marker, "");
    } catch {
      /* the next start evicts again */
    }
  }
  return Math.round(share * 100) / 100;
}

/**
 * The share of the running executable's mapped pages that are in the page cache (see
 * {@link evictImageCache}); NaN under Deno or when it cannot be told.
 *
 * @example
 * ```ts
 * import { imageCacheShare } from "./exec.ts";
 * await imageCacheShare(); // e.g. 0.27
 * ```
 */
export async function imageCacheShare(): Promise<number> {
  if (runtime !== "bun") return NaN;
  const img = await (image ??= imagePages());
  if (!img) return NaN;
  const calls = await cacheCalls();
  return calls ? cachedShare(calls.mincore, img.ranges) : NaN;
}
