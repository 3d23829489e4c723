/**
 * The little test harness of the Deno scripts (tests/deno/*.ts; files starting with "_" are not
 * run): `check` runs one named case and prints bun test's `(pass)`/`(fail)` lines, `finish`
 * prints the summary (` N pass`, ` N fail`) and exits non-zero when a case failed or none ran.
 */
/** The part of the Deno namespace these scripts use (typed here: tsconfig has Bun's types only). */
export interface DenoLike {
  execPath(): string;
  readonly pid: number;
  readTextFile(path: string): Promise<string>;
  exit(code: number): never;
  version: { deno: string };
  Command: new (cmd: string, opts: { args: string[]; cwd: string; stdin: "null" | "piped"; stdout: "piped"; stderr: "piped" }) => {
    spawn(): { stdin: WritableStream<Uint8Array>; output(): Promise<{ code: number; stdout: Uint8Array; stderr: Uint8Array }> };
  };
}
export const Deno = (globalThis as unknown as { Deno: DenoLike }).Deno;

let pass = 0;
let fail = 0;

/** Runs one case: a throw (or rejection) fails it with its message (and stack). */
export async function check(name: string, fn: () => Promise<void> | void): Promise<void> {
  try {
    await fn();
    pass++;
    console.log(`(pass) ${name}`);
  } catch (e) {
    fail++;
    console.log(`(fail) ${name}\n  ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}

/** Throws `msg` unless `cond`. */
export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

/** Throws unless `a` and `b` are the same JSON. */
export function eq(a: unknown, b: unknown, what: string): void {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  if (x !== y) throw new Error(`${what}: got ${x}, expected ${y}`);
}

/** Prints the summary and exits: 1 when a case failed or none ran. */
export function finish(): never {
  console.log(`\n ${pass} pass\n ${fail} fail`);
  return Deno.exit(fail > 0 || pass === 0 ? 1 : 0);
}
