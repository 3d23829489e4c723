/**
 * `tunkit`: the binary's entry (scripts/build.ts compiles this file). It looks at the command
 * line and loads as little as that command needs:
 *   - `--version` / `-V` alone: the version line (cli/version.ts), nothing else;
 *   - a one-shot `addr|route add|del|…` (cli/oneshot.ts): the global options' reader, the
 *     invocation's context, the modify grammar of that one object and the netlink socket;
 *   - anything else, or a line the one-shot path declines: the full CLI (cli/run.ts).
 * Every path ends with the same exit codes and messages (cli/exit.ts). Libraries and tests call
 * cli/run.ts's `run` instead of running this file.
 *
 * Start-up (issue 11, bench/cli-startup.ts): the static imports of the old entry (the full
 * dispatch, the object table, the output writers) were 46 JavaScriptCore heap blocks before a
 * command's own modules, against the hello-world floor's 28; JSC starts its warm-up thread past
 * 64. This file imports only cli/version.ts statically.
 *
 * @module
 */
import { versionLine } from "./version.ts";

/**
 * Defined (true) by scripts/build.ts when it has bundled cli/oneshot.ts and everything it loads
 * into one module, cli/oneshot.bundle.js ({@link loadOneShot}); undefined when run from source.
 */
declare const TUNKIT_ONESHOT_BUNDLE: boolean | undefined;

/**
 * The one-shot path's module. In the binary: cli/oneshot.bundle.js, the one-shot path (oneshot.ts,
 * its static imports and its route-add.ts / addr-add.ts) bundled by scripts/build.ts into one
 * module without splitting, so a `route add` evaluates 3 chunks (this entry, the version line,
 * the bundle) instead of ~33, one per module of the split build (the same source: the bundler
 * only lays it out twice; the full CLI keeps its split chunks). Measured (bench/cli-startup.ts
 * --blocks, session 13): route add 81 -> 75 JavaScriptCore heap blocks, addr add 80 -> 72-75;
 * time in that file's header. From source (tests, Deno): cli/oneshot.ts itself.
 */
function loadOneShot(): Promise<typeof import("./oneshot.ts")> {
  return typeof TUNKIT_ONESHOT_BUNDLE !== "undefined" ? import("./oneshot.bundle.js") : import("./oneshot.ts");
}

/** Exit status of a write to a closed pipe (cli/exit.ts EXIT.BROKEN_PIPE, not imported for `--version`). */
const BROKEN_PIPE = 141;

/**
 * Whether `argv` may be a one-shot command (cli/oneshot.ts decides): an `addr`, `address` or
 * `route` word followed by a modify verb spelled in full (or `del`). Asked before any module loads,
 * so a listing does not load the one-shot path.
 */
export function mayBeOneShot(argv: readonly string[]): boolean {
  for (let i = 0; i + 1 < argv.length; i++) {
    const w = argv[i];
    if ((w === "route" || w === "addr" || w === "address") && isModifyVerb(argv[i + 1]!)) return true;
  }
  return false;
}

/**
 * Whether `w` is one of the modify verbs {@link mayBeOneShot} looks for, spelled in full (or
 * `del`). String compares, not a RegExp: a process's first RegExp costs ~0.5 ms of start-up
 * (JavaScriptCore compiles each; issue 11), and this one ran on every command line.
 */
function isModifyVerb(w: string): boolean {
  switch (w) {
    case "add": case "del": case "delete": case "change": case "replace": case "append": case "prepend": case "test":
      return true;
  }
  return false;
}

/** Runs `argv` by the shortest path that answers it and resolves with the exit code. */
async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === "--version" || argv[0] === "-V")) {
    // Bun writes the line itself (resolved once it is written): no node:fs to load for it.
    const bun = (globalThis as { Bun?: { write(dest: unknown, s: string): Promise<number>; stdout: unknown } }).Bun;
    try {
      if (bun) await bun.write(bun.stdout, `${versionLine()}\n`);
      else {
        const { stdoutWriter } = await import("./output.ts");
        stdoutWriter().write(`${versionLine()}\n`);
        stdoutWriter().flush();
      }
      return 0;
    } catch {
      return BROKEN_PIPE;
    }
  }
  if (mayBeOneShot(argv)) {
    const code = await (await loadOneShot()).runOneShot(argv);
    if (code !== undefined) return code;
  }
  return (await import("./run.ts")).run(argv);
}

if ((import.meta as { main?: boolean }).main) process.exit(await main(process.argv.slice(2)));
