/**
 * {@link reexecWithEnv}: replace the running program by itself (same pid, same arguments, same
 * open stdio) with a few more environment variables, for settings a runtime reads only when
 * it starts (its allocator's options).
 *
 * @module
 */
import { readFileSync } from "node:fs";
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

/**
 * Re-executes this process (execve of /proc/self/exe with the arguments it was started with)
 * with `env` added to its environment, unless every variable of `env` is already set (then,
 * or when the exec fails, it returns and the caller goes on as it is). Bun only; a no-op on
 * Deno. Call it before opening anything that must survive (descriptors opened with CLOEXEC
 * close; stdin/out/err stay).
 *
 * @example
 * ```ts
 * import { reexecWithEnv } from "./exec.ts";
 * await reexecWithEnv({ MIMALLOC_PURGE_DELAY: "-1" }); // returns only when already set (or on failure)
 * ```
 */
export async function reexecWithEnv(env: Record<string, string>): Promise<{ errno: number } | undefined> {
  if (runtime !== "bun") return undefined;
  if (Object.keys(env).every((k) => process.env[k] !== undefined)) return undefined;
  let argv: string[];
  try {
    argv = readFileSync("/proc/self/cmdline", "utf8").split("\0");
  } catch {
    return undefined;
  }
  if (argv[argv.length - 1] === "") argv.pop();
  if (argv.length === 0) return undefined;
  const vars = { ...process.env, ...env } as Record<string, string | undefined>;
  const a = cArray(argv);
  const e = cArray(Object.entries(vars).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`));
  const execve = await bindExecve();
  if (!execve) return undefined;
  const path = enc.encode("/proc/self/exe\0");
  execve(path, a.ptrs, e.ptrs);
  // Still here: the exec failed; keep the strings alive until now.
  void a.bytes;
  void e.bytes;
  return { errno: errno() };
}

const MADV_DONTNEED = 4;

/**
 * Takes the executable's own clean, read-only pages out of the resident set: the code and the
 * embedded bundle a compiled binary touched while starting (most of it never runs again in a
 * long-lived daemon) stay in the page cache and fault back in, from there, when used. Only
 * mappings of /proc/self/exe without write permission and without a single private (copied)
 * page are dropped, so nothing the process changed is lost. Returns the MB taken out of RSS
 * (0 under Deno or when nothing applies).
 *
 * @example
 * ```ts
 * import { dropCleanImagePages } from "./exec.ts";
 * await dropCleanImagePages(); // e.g. 30.5
 * ```
 */
export async function dropCleanImagePages(): Promise<number> {
  if (runtime !== "bun") return 0;
  let smaps: string;
  let exe: string;
  try {
    smaps = readFileSync("/proc/self/smaps", "utf8");
    exe = (await import("node:fs")).readlinkSync("/proc/self/exe");
  } catch {
    return 0;
  }
  const { dlopen, FFIType } = await import("bun:ffi");
  let madvise: ((addr: number, len: number, advice: number) => number) | undefined;
  for (const path of LIBC_NAMES) {
    try {
      madvise = dlopen(path, { madvise: { args: [FFIType.u64, FFIType.u64, FFIType.i32], returns: FFIType.i32 } }).symbols.madvise as unknown as typeof madvise;
      break;
    } catch {
      /* next name */
    }
  }
  if (!madvise) return 0;
  let dropped = 0;
  // A mapping's header line, then its "Key: value kB" lines.
  const blocks = smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/);
  for (const b of blocks) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s+(.*)$/m.exec(b);
    if (!head || head[4]!.trim() !== exe || head[3]!.includes("w")) continue;
    const anon = /^Anonymous:\s+(\d+) kB/m.exec(b);
    const rss = /^Rss:\s+(\d+) kB/m.exec(b);
    if (!anon || anon[1] !== "0" || !rss || rss[1] === "0") continue;
    const start = parseInt(head[1]!, 16);
    const end = parseInt(head[2]!, 16);
    if (madvise(start, end - start, MADV_DONTNEED) === 0) dropped += Number(rss[1]) / 1024;
  }
  return Math.round(dropped * 10) / 10;
}
