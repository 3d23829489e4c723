// The CLI's output and the name files without node:fs (issue 11's start-up): writeAllSync through
// libc's write(2) once cli/context.ts is loaded, ffi/libc.ts's readFile/readDir for netlink/names.ts.
// The behaviour must stay node:fs's: partial writes continued, EAGAIN waited on, EPIPE a
// BrokenPipeError, any other failure the very error node:fs throws.
import { afterEach, describe, expect, test } from "bun:test";
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BrokenPipeError, useFdWrite, writeAllSync } from "../../cli/output.ts";
import { sys, SysError } from "../../ffi/libc.ts";

afterEach(() => useFdWrite(undefined));

describe("writeAllSync through an fd writer (libc's write once the FFI is loaded)", () => {
  test("partial writes are continued, EAGAIN and EINTR written again, every byte once and in order", () => {
    const got: number[] = [];
    const answers: Array<number | string> = [2, "EAGAIN", 1, "EINTR", 3];
    useFdWrite((_fd, b, off, len) => {
      const a = answers.shift() ?? len;
      if (typeof a === "string") return a;
      const n = Math.min(a, len);
      got.push(...b.subarray(off, off + n));
      return n;
    });
    const bytes = Uint8Array.from({ length: 20 }, (_, i) => i);
    writeAllSync(1, bytes);
    expect(got).toEqual([...bytes]);
  });

  test("EPIPE is a BrokenPipeError, as with node:fs", () => {
    useFdWrite(() => "EPIPE");
    expect(() => writeAllSync(7, new Uint8Array(4))).toThrow(BrokenPipeError);
  });

  test("any other failure throws what node:fs's writeSync throws for it (ENOSPC on /dev/full), after libc's write saw it first", async () => {
    useFdWrite((await import("../../cli/context.ts")).libcWrite); // as cli/context.ts does at load
    const fd = openSync("/dev/full", "w");
    try {
      let nodeErr: unknown;
      try {
        writeSync(fd, new Uint8Array(8));
      } catch (e) {
        nodeErr = e;
      }
      expect((nodeErr as { code?: string }).code).toBe("ENOSPC");
      let ours: unknown;
      try {
        writeAllSync(fd, new Uint8Array(8));
      } catch (e) {
        ours = e;
      }
      expect(ours).toBeInstanceOf(Error);
      expect((ours as Error).message).toBe((nodeErr as Error).message);
      expect((ours as { code?: string }).code).toBe("ENOSPC");
    } finally {
      closeSync(fd);
    }
  });

  test("cli/context.ts's writer is libc's write: the bytes reach the file, partial writes and all", async () => {
    const { libcWrite } = await import("../../cli/context.ts");
    const calls: number[] = [];
    useFdWrite((fd, b, off, len) => {
      const r = libcWrite(fd, b, off, Math.min(len, 5000)); // at most 5000 bytes a call: partial writes
      calls.push(typeof r === "number" ? r : -1);
      return r;
    });
    const dir = mkdtempSync(join(tmpdir(), "tk-out-"));
    try {
      const path = join(dir, "out");
      const fd = openSync(path, "w");
      const text = "x".repeat(70000) + "\nend\n";
      writeAllSync(fd, new TextEncoder().encode(text));
      closeSync(fd);
      expect(readFileSync(path, "utf8")).toBe(text);
      expect(calls.length).toBe(Math.ceil(text.length / 5000));
      expect(calls.every((n) => n > 0)).toBe(true);
      expect(libcWrite(-1, new Uint8Array(1), 0, 1)).toBe("EBADF");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

test("cli/context.ts sets libc's write as the CLI's writer when it loads", () => {
  expect(readFileSync(join(import.meta.dir, "../../cli/context.ts"), "utf8")).toMatch(/^useFdWrite\(libcWrite\);$/m);
});

describe("sys.readFile, sys.readDir, sys.readLink and sys.statMode read what node:fs reads", () => {
  test("readLink and statMode: a symlink's target, st_mode of a character device, a directory, a file (through the link)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tk-link-"));
    try {
      writeFileSync(join(dir, "f"), "x");
      symlinkSync(join(dir, "f"), join(dir, "l"));
      symlinkSync("ü/".repeat(300), join(dir, "long"));
      expect(sys.readLink(join(dir, "l"))).toBe(readlinkSync(join(dir, "l")));
      expect(sys.readLink(join(dir, "long"))).toBe(readlinkSync(join(dir, "long")));
      expect(sys.readLink("/proc/self/ns/net")).toBe(readlinkSync("/proc/self/ns/net"));
      for (const p of ["/dev/null", "/dev/net/tun", "/", join(dir, "f"), join(dir, "l")]) expect(sys.statMode(p)).toBe(statSync(p).mode);
      expect(() => sys.readLink(join(dir, "f"))).toThrow(SysError); // EINVAL: not a link
      expect(() => sys.statMode(join(dir, "none"))).toThrow(SysError);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("files of every size around the 4 KiB read, and a directory of many entries (several getdents64 calls)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tk-read-"));
    try {
      for (const n of [0, 1, 4095, 4096, 4097, 100_000]) {
        const p = join(dir, `f${n}.conf`);
        writeFileSync(p, Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff));
        expect([...sys.readFile(p)]).toEqual([...readFileSync(p)]);
      }
      for (let i = 0; i < 400; i++) writeFileSync(join(dir, `entry-${i}-${"ü".repeat(i % 20)}`), "");
      expect(sys.readDir(dir).sort()).toEqual(readdirSync(dir).sort());
      expect(sys.readDir(dir).length).toBe(406);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("failures are SysErrors with the errno's name: ENOENT, EISDIR, ENOTDIR", () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        expect(e).toBeInstanceOf(SysError);
        return (e as SysError).code;
      }
      return "no error";
    };
    expect(code(() => sys.readFile("/nonexistent/tk"))).toBe("ENOENT");
    expect(code(() => sys.readFile("/"))).toBe("EISDIR");
    expect(code(() => sys.readDir("/nonexistent/tk"))).toBe("ENOENT");
    expect(code(() => sys.readDir("/proc/self/status"))).toBe("ENOTDIR");
  });

  test("readFileIfAny and readDirIfAny: undefined for what is not there (ENOENT, ENOTDIR) with no exception, the same bytes and names otherwise, SysError for any other failure", () => {
    const dir = mkdtempSync(join(tmpdir(), "tk-ifany-"));
    try {
      writeFileSync(join(dir, "a.conf"), "1\tone\n");
      writeFileSync(join(dir, "b"), "");
      expect(sys.readDirIfAny(dir)!.sort()).toEqual(sys.readDir(dir).sort());
      expect([...sys.readFileIfAny(join(dir, "a.conf"))!]).toEqual([...sys.readFile(join(dir, "a.conf"))]);
      expect(sys.readFileIfAny(join(dir, "b"))!.length).toBe(0);
      expect(sys.readDirIfAny(join(dir, "none"))).toBeUndefined(); // ENOENT
      expect(sys.readDirIfAny(join(dir, "b", "x"))).toBeUndefined(); // ENOTDIR on the way
      expect(sys.readFileIfAny(join(dir, "none"))).toBeUndefined();
      expect(sys.readFileIfAny(join(dir, "b", "x"))).toBeUndefined();
      expect(() => sys.readFileIfAny(dir)).toThrow(SysError); // EISDIR is a failure, not an absence
      expect(() => sys.readDirIfAny(join(dir, "b"))).toThrow(SysError); // a file: getdents64 says ENOTDIR
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("readLinkIfAny: a link's target as readLink reads it, undefined (no exception) where readLink throws", () => {
    const dir = mkdtempSync(join(tmpdir(), "tk-linkifany-"));
    try {
      writeFileSync(join(dir, "f"), "x");
      symlinkSync(join(dir, "f"), join(dir, "l"));
      expect(sys.readLinkIfAny(join(dir, "l"))).toBe(sys.readLink(join(dir, "l")));
      expect(sys.readLinkIfAny("/proc/self/ns/net")).toBe(readlinkSync("/proc/self/ns/net"));
      for (const p of [join(dir, "f"), join(dir, "none"), join(dir, "f", "x")]) {
        expect(() => sys.readLink(p)).toThrow(SysError);
        expect(sys.readLinkIfAny(p)).toBeUndefined();
      }
      // tun/holders.ts reads every process's links that way (no SysError per process gone or not ours).
      const src = readFileSync(join(import.meta.dir, "../../tun/holders.ts"), "utf8");
      expect(src).not.toContain("sys.readLink(");
      expect(src.match(/sys\.readLinkIfAny\(/g)?.length).toBe(2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("iproute2's name files and *.d directories are looked for without exceptions (most machines lack some: a process's first Error costs ~0.5 ms)", () => {
    const src = readFileSync(join(import.meta.dir, "../../netlink/names.ts"), "utf8");
    expect(src).toContain("sys.readFileIfAny(path)");
    expect(src).toContain("sys.readDirIfAny(dir)");
    expect(src).not.toMatch(/sys\.readFile\(|sys\.readDir\(/);
  });
});

test("tunkit list's /proc walk takes the all-digit entries as processes, with no RegExp (start-up, issue 11)", async () => {
  const { tunHolders } = await import("../../tun/holders.ts");
  const { regExpsUsedBy } = await import("./_regexp-spy.ts");
  const { mkdirSync } = await import("node:fs");
  const proc = mkdtempSync(join(tmpdir(), "tk-proc-"));
  try {
    for (const [pid, target] of [["42", "/dev/null"], ["7", "/dev/null"], ["1a", "/dev/net/tun"], ["self", "/dev/net/tun"], ["٣", "/dev/net/tun"]] as const) {
      mkdirSync(join(proc, pid, "fd"), { recursive: true });
      mkdirSync(join(proc, pid, "fdinfo"));
      symlinkSync(target, join(proc, pid, "fd", "3"));
      writeFileSync(join(proc, pid, "fdinfo", "3"), "pos:\t0\niff:\ttun7\n");
      writeFileSync(join(proc, pid, "comm"), "x\n");
    }
    const { used, result } = regExpsUsedBy(() => tunHolders(undefined, { proc, allNamespaces: true }));
    expect(result.size).toBe(0); // 1a, self and ٣ (an Arabic-Indic digit) hold the tun but are not processes
    expect(used).toEqual([]);
    symlinkSync("/dev/net/tun", join(proc, "42", "fd", "4"));
    writeFileSync(join(proc, "42", "fdinfo", "4"), "pos:\t0\niff:\ttun7\n");
    expect(tunHolders(undefined, { proc, allNamespaces: true }).get("tun7")).toEqual([{ pid: 42, comm: "x", fds: [4] }]);
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});

test("reading names, /proc holders and /dev/net/tun's mode loads no node:fs (process.getBuiltinModule is never asked)", async () => {
  const asked: string[] = [];
  const p = process as unknown as { getBuiltinModule(id: string): unknown };
  const orig = p.getBuiltinModule;
  const dir = mkdtempSync(join(tmpdir(), "tk-names-"));
  try {
    writeFileSync(join(dir, "rt_protos"), "42\tmine\n");
    writeFileSync(join(dir, "rt_tables"), "100\tvpn\n");
    const { mkdirSync } = await import("node:fs");
    mkdirSync(join(dir, "rt_tables.d"));
    writeFileSync(join(dir, "rt_tables.d", "x.conf"), "101\tvpn2\n");
    const { loadIpNames } = await import("../../netlink/names.ts");
    const { tunHolders } = await import("../../tun/holders.ts");
    const { anyUserWarning } = await import("../../tun/any-user.ts");
    p.getBuiltinModule = (id: string) => (asked.push(id), orig.call(process, id));
    const names = loadIpNames({ etc: dir, usr: join(dir, "none") });
    expect([names.tableName(100), names.tableName(101)]).toEqual(["vpn", "vpn2"]);
    expect(tunHolders()).toBeInstanceOf(Map);
    expect(anyUserWarning("tun0")).toContain(`mode ${(statSync("/dev/net/tun").mode & 0o777).toString(8).padStart(4, "0")}`);
  } finally {
    p.getBuiltinModule = orig;
    rmSync(dir, { recursive: true, force: true });
  }
  expect(asked).toEqual([]);
});
