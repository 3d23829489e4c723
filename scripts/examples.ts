/**
 * Checks every JSDoc `@example` of the public API (mod.ts and common/ ffi/ tun/ netlink/ packet/
 * proxy/ wg/ cli/), so the documentation cannot drift from the code:
 *
 * 1. Type-check: each ```ts block becomes a module of its own (relative imports made absolute,
 *    so it sees what the source file sees) and the whole set goes through `tsc --noEmit` with
 *    the project's tsconfig. A block that needs a value it does not make says so with
 *    `declare const ctx: Ctx;` (checked like any code).
 * 2. Run: a block is run when it has at least one *checked value comment* and no `declare`
 *    (a declared value exists only for the type checker). All such blocks run in one child
 *    process, inside a throwaway network namespace when one can be made (else only the blocks
 *    of the pure modules: common/, packet/, netlink/core/, netlink/route/, ffi/abi.ts).
 *
 * The convention for a checked value comment, one of:
 *
 *     EXPRESSION; // VALUE
 *     console.log(EXPRESSION); // VALUE
 *     EXPRESSION;
 *     // VALUE                      (a long value on the line after a statement without comment)
 *
 * where VALUE is a JavaScript literal: it starts with a quote, a digit (or -digit), `[`, `{`,
 * `true`, `false`, `null`, `undefined`, `NaN` or `Infinity`, and holds no `...` or `…` (a value
 * with an ellipsis is a sketch, not checked). A note may follow the literal after `:`, ` (`,
 * ` —`, `;`, `, ` or a word such as ` where`/` or`/` when` (`// 80 (1/8 ms)` checks 80). A value
 * naming constants (`// RTM_NEWLINK | 1`) is symbolic, not checked. EXPRESSION and VALUE are
 * compared like expect().toEqual (so `// [1, 2]` matches a Uint8Array [1, 2] too). A VALUE that
 * looks like a literal but no part of it parses is an error: reword it as prose (`// throws
 * UsageError`, `// the tun's name`), which is never checked. A statement that declares
 * (`const x = …; // 5`), or several statements on the line (`a; b; // 1, 2`), are not checked;
 * the latter is an error, since it reads as a check: put one statement a line.
 *
 * Usage: bun scripts/examples.ts [--list] [filter...]   (prints bun-test-style " N pass / N fail")
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
const SOURCES = ["mod.ts", "common", "ffi", "tun", "netlink", "packet", "proxy", "wg", "cli"];
const PURE = /^(common\/|packet\/|netlink\/core\/|netlink\/route\/|ffi\/abi\.ts$)/;
const work = join(root, "node_modules/.cache/tunkit-examples");

/** One fenced block of an @example. */
export interface ExampleBlock {
  /** Source file, relative to the repo. */
  file: string;
  /** 1-based line of the block's first code line in the source. */
  line: number;
  /** The export the comment documents ("" when none follows). */
  name: string;
  code: string[];
}

/**
 * The ```ts blocks under `@example` tags of the JSDoc comments in `text`.
 *
 * @example
 * ```ts
 * import { extractExamples } from "./examples.ts";
 * const src = "/**\n * @example\n * ```ts\n * f(1); // 2\n * ```\n *\/\nexport function f(x: number) { return x + 1; }\n";
 * extractExamples("a.ts", src).map((b) => [b.name, b.line, b.code]); // [["f", 4, ["f(1); // 2"]]]
 * ```
 */
export function extractExamples(file: string, text: string): ExampleBlock[] {
  const lines = text.split("\n");
  const out: ExampleBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\/\*\*/.test(lines[i]!)) continue;
    let end = i;
    while (end < lines.length && !lines[end]!.includes("*/")) end++;
    let name = "";
    for (let k = end + 1; k < Math.min(lines.length, end + 4); k++) {
      const m = /^export\s+(?:default\s+)?(?:async\s+)?(?:function\*?|class|const|let|interface|type|enum|abstract\s+class)\s+([A-Za-z0-9_$]+)/.exec(lines[k]!);
      if (m) {
        name = m[1]!;
        break;
      }
    }
    let inExample = false;
    let block: ExampleBlock | undefined;
    for (let k = i; k <= end && k < lines.length; k++) {
      const body = lines[k]!.replace(/^\s*\/\*\*\s?/, "").replace(/\s*\*\/.*$/, "").replace(/^\s*\* ?/, "");
      if (block) {
        if (/^```\s*$/.test(body)) {
          out.push(block);
          block = undefined;
        } else block.code.push(body);
        continue;
      }
      if (/^@example\b/.test(body)) inExample = true;
      else if (/^@\w/.test(body)) inExample = false;
      else if (inExample && /^```(ts|typescript)?\s*$/.test(body)) block = { file, line: k + 2, name, code: [] };
    }
    i = end;
  }
  return out;
}

const LITERAL_START = /^(["'`[{]|-?\d|true\b|false\b|null\b|undefined\b|NaN\b|Infinity\b)/;

/** A checked value comment found in a block. */
export interface ValueCheck {
  /** Index of the statement's first line (it may span lines up to `index`). */
  start: number;
  /** Index of the statement's last line in the block. */
  index: number;
  /** Index of the comment line (the same, or the next one). */
  commentIndex: number;
  expr: string;
  value: string;
}

/**
 * The checked value comments of a block (see the module comment for the convention), and the
 * value comments that look like literals but do not parse.
 *
 * @example
 * ```ts
 * import { valueChecks } from "./examples.ts";
 * valueChecks(["f(1); // 2", "const x = g(); // 3", "h(); // the answer", "console.log(k); // [1, 2]"]).checks.map((c) => [c.expr, c.value]);
 * // [["f(1)", "2"], ["k", "[1, 2]"]]
 * ```
 */
export function valueChecks(code: readonly string[]): { checks: ValueCheck[]; bad: Array<{ index: number; value: string; why: string }> } {
  const checks: ValueCheck[] = [];
  const bad: Array<{ index: number; value: string; why: string }> = [];
  const statement = (s: string) => !/^\s*(const|let|var|import|export|function|class|type|interface|declare|if|for|while|return|throw|\/\/)\b/.test(s) && !/^\s*(\/\/|$)/.test(s);
  for (let i = 0; i < code.length; i++) {
    const line = code[i]!;
    let m = /^(\s*)(.*?);\s*\/\/\s?(.*)$/.exec(line);
    let commentIndex = i;
    if (!m) {
      const next = /^\s*\/\/\s?(.*)$/.exec(code[i + 1] ?? "");
      const stmt = /^(\s*)(.*);\s*$/.exec(line);
      if (next && stmt) {
        m = [line, stmt[1]!, stmt[2]!, next[1]!] as unknown as RegExpExecArray;
        commentIndex = i + 1;
      }
    }
    if (!m || !statement(m[2]!)) continue;
    const text = m[3]!.trim();
    if (!LITERAL_START.test(text) || text.includes("...") || text.includes("…")) continue;
    const value = literalPrefix(text);
    if (value === undefined) {
      bad.push({ index: commentIndex, value: text, why: "looks like a literal but does not parse (write a literal, or prose)" });
      continue;
    }
    if (symbolic(value)) continue;
    let expr = m[2]!.trim();
    // A statement that closes brackets opened on earlier lines starts there.
    let start = i;
    let depth = bracketDepth(expr);
    while (depth < 0 && start > 0) {
      start--;
      depth += bracketDepth(code[start]!);
      expr = code[start]!.trim() + "\n" + expr;
    }
    if (depth !== 0 || !statement(code[start]!)) continue;
    if (topLevelSemicolon(expr)) {
      bad.push({ index: commentIndex, value, why: "follows several statements: put one statement per checked value" });
      continue;
    }
    const log = /^console\.log\((.*)\)$/.exec(expr);
    if (log) expr = log[1]!;
    checks.push({ start, index: i, commentIndex, expr, value });
    if (commentIndex !== i) i++;
  }
  return { checks, bad };
}

const parses = (v: string) => {
  try {
    new Function(`return (${v});`);
    return true;
  } catch {
    return false;
  }
};

/** The literal a value comment starts with: the whole text, or the part before a note. */
function literalPrefix(text: string): string | undefined {
  if (parses(text)) return text;
  const cut = /:|\s\(|\s—|;|,\s|\s(where|or|when|if|for|once|after|before|with|without|as|on)\b/g;
  for (let m = cut.exec(text); m; m = cut.exec(text)) {
    const head = text.slice(0, m.index).trim();
    if (head && parses(head)) return head;
  }
  return undefined;
}

/** True when a value names things (constants, calls): documentation, not a checkable literal. */
function symbolic(value: string): boolean {
  try {
    new Function(`"use strict"; return (${value});`)();
    return false;
  } catch {
    return true;
  }
}

/**
 * One pass over `s` outside strings: opened minus closed brackets, and whether a `;` stands at
 * bracket depth 0 (several statements).
 */
function scanCode(s: string): { depth: number; semicolon: boolean } {
  let depth = 0;
  let semicolon = false;
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === "\\") i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'" || c === "`") quote = c;
    else if (c === "(" || c === "[" || c === "{") depth++;
    else if (c === ")" || c === "]" || c === "}") depth--;
    else if (c === ";" && depth === 0) semicolon = true;
  }
  return { depth, semicolon };
}

/** Opened minus closed brackets of `s`, outside strings. */
const bracketDepth = (s: string): number => scanCode(s).depth;

/** True when `s` has a `;` outside strings and brackets (several statements). */
const topLevelSemicolon = (s: string): boolean => scanCode(s).semicolon;

/** Rewrites the relative imports of a block (written beside `file`) to absolute paths. */
function absoluteImports(code: string, file: string): string {
  const dir = dirname(join(root, file));
  const abs = (p: string) => JSON.stringify(resolve(dir, p));
  return code
    .replace(/(\bfrom\s*)(["'])(\.\.?\/[^"']+)\2/g, (_m, a: string, _q, p: string) => a + abs(p))
    .replace(/(\bimport\s*\(\s*)(["'])(\.\.?\/[^"']+)\2/g, (_m, a: string, _q, p: string) => a + abs(p))
    .replace(/(\bimport\s+)(["'])(\.\.?\/[^"']+)\2/g, (_m, a: string, _q, p: string) => a + abs(p));
}

function walk(p: string, out: string[]): void {
  const full = join(root, p);
  if (!existsSync(full)) return;
  if (statSync(full).isDirectory()) {
    for (const e of readdirSync(full).sort()) walk(join(p, e), out);
  } else if (p.endsWith(".ts") && !p.endsWith(".d.ts")) out.push(p);
}

interface Outcome {
  label: string;
  ok: boolean;
  detail?: string;
}

function main(): void {
  const args = process.argv.slice(2);
  const only = args.filter((a) => !a.startsWith("--"));
  const files: string[] = [];
  for (const s of SOURCES) walk(s, files);
  const blocks = files.filter((f) => !only.length || only.some((o) => f.includes(o))).flatMap((f) => extractExamples(f, readFileSync(join(root, f), "utf8")));
  if (args.includes("--list")) {
    for (const b of blocks) console.log(`${b.file}:${b.line} ${b.name}`);
    return;
  }
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const label = (b: ExampleBlock) => `${b.file}:${b.line} @example of ${b.name || "(module)"}`;
  const typeName = (i: number) => `ex${String(i).padStart(4, "0")}.ts`;
  const runName = (i: number) => `run${String(i).padStart(4, "0")}.ts`;
  const outcomes = new Map<number, Outcome>();
  const fail = (i: number, detail: string) => {
    const o = outcomes.get(i)!;
    o.ok = false;
    o.detail = (o.detail ? o.detail + "\n" : "") + detail;
  };

  // 1. Parse every block (a syntax error would hide every type error from tsc), then type-check
  // the ones that parse, each a module of its own: imports are absolute.
  const transpiler = new Bun.Transpiler({ loader: "ts" });
  blocks.forEach((b, i) => {
    outcomes.set(i, { label: label(b), ok: true });
    const text = absoluteImports(b.code.join("\n"), b.file) + "\nexport {};\n";
    try {
      transpiler.transformSync(text);
    } catch (e) {
      const errs = (e as { errors?: Array<{ message: string; position?: { line: number } }> }).errors ?? [];
      for (const x of errs.length ? errs : [{ message: String((e as Error).message ?? e) }]) fail(i, `  ${b.file}:${b.line + (x.position?.line ?? 1) - 1}: does not parse: ${x.message}`);
      return;
    }
    writeFileSync(join(work, typeName(i)), text);
  });
  writeFileSync(join(work, "tsconfig.json"), JSON.stringify({ extends: relative(work, join(root, "tsconfig.json")), include: ["./ex*.ts"] }, null, 2));
  const tsc = spawnSync(join(root, "node_modules/.bin/tsc"), ["--noEmit", "--pretty", "false", "-p", join(work, "tsconfig.json")], { cwd: root, encoding: "utf8", timeout: 600_000 });
  const tscOut = (tsc.stdout ?? "") + (tsc.stderr ?? "");
  let unmapped = "";
  for (const line of tscOut.split("\n")) {
    const m = /ex(\d{4})\.ts\((\d+),(\d+)\): (.*)$/.exec(line);
    if (m) {
      const i = Number(m[1]);
      const b = blocks[i]!;
      fail(i, `  ${b.file}:${b.line + Number(m[2]) - 1}:${m[3]}: ${m[4]}`);
    } else if (/error TS/.test(line)) unmapped += line + "\n";
  }
  if (tsc.status !== 0 && ![...outcomes.values()].some((o) => !o.ok)) unmapped ||= tscOut || `tsc exited ${tsc.status ?? tsc.signal}`;

  // 2. Run the blocks with checked values.
  const ns = spawnSync("unshare", ["-n", "true"]).status === 0 ? ["unshare", "-n"] : spawnSync("unshare", ["-rn", "true"]).status === 0 ? ["unshare", "-rn"] : [];
  const toRun: number[] = [];
  blocks.forEach((b, i) => {
    const { checks, bad } = valueChecks(b.code);
    for (const x of bad) fail(i, `  ${b.file}:${b.line + x.index}: value comment "${x.value}" ${x.why}`);
    if (!checks.length || b.code.some((l) => /^\s*declare\s/.test(l))) return;
    if (!ns.length && !PURE.test(b.file)) return;
    const code = b.code.slice();
    for (const c of checks) {
      const indent = /^\s*/.exec(code[c.start]!)![0];
      code[c.start] = `${indent}__check(${c.expr}, (${c.value}), ${JSON.stringify(`${b.file}:${b.line + c.index}`)});`;
      for (let k = c.start + 1; k <= c.index; k++) code[k] = "";
      if (c.commentIndex !== c.index) code[c.commentIndex] = "";
    }
    writeFileSync(join(work, runName(i)), absoluteImports(code.join("\n"), b.file) + "\nexport {};\n");
    toRun.push(i);
  });
  writeFileSync(
    join(work, "_run.ts"),
    `const results: string[] = [];
// Typed arrays compare as plain arrays (a doc writes [1, 2] for Uint8Array [1, 2]).
const plain = (v: unknown): unknown => {
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === "object" && !(v instanceof Date) && !(v instanceof Map) && !(v instanceof Set)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  return v;
};
(globalThis as any).__check = (actual: unknown, expected: unknown, where: string) => {
  if (!Bun.deepEquals(plain(actual), plain(expected))) throw new Error(where + ": expected " + Bun.inspect(expected) + ", got " + Bun.inspect(actual));
};
for (const i of ${JSON.stringify(toRun)}) {
  const f = "./run" + String(i).padStart(4, "0") + ".ts";
  console.log("@@start " + i);
  try {
    await Promise.race([import(f), new Promise((_, rej) => setTimeout(() => rej(new Error("did not finish within 10 s")), 10_000))]);
    console.log("@@ok " + i);
  } catch (e) {
    console.log("@@fail " + i + " " + JSON.stringify(String((e as Error)?.message ?? e)));
  }
}
console.log("@@done");
process.exit(0);
`,
  );
  if (toRun.length) {
    const r = spawnSync(ns[0] ?? process.execPath, [...ns.slice(1), ...(ns.length ? [process.execPath] : []), join(work, "_run.ts")], { cwd: root, encoding: "utf8", timeout: 300_000, killSignal: "SIGKILL" });
    const out = r.stdout ?? "";
    const started = new Set<number>();
    const finished = new Set<number>();
    for (const line of out.split("\n")) {
      let m = /^@@start (\d+)$/.exec(line);
      if (m) started.add(Number(m[1]));
      m = /^@@ok (\d+)$/.exec(line);
      if (m) finished.add(Number(m[1]));
      const f = /^@@fail (\d+) (.*)$/.exec(line);
      if (f) {
        finished.add(Number(f[1]));
        fail(Number(f[1]), `  ran and failed: ${JSON.parse(f[2]!)}`);
      }
    }
    for (const i of started) if (!finished.has(i)) fail(i, `  ran and never finished (the run was ${r.signal ? `killed by ${r.signal}` : `ended, exit ${r.status}`}): ${(r.stderr ?? "").slice(-500)}`);
    if (!out.includes("@@done") && !started.size) unmapped += `the example runner did not start: ${r.error?.message ?? ""}${r.stderr ?? ""}\n`;
  }

  let pass = 0;
  let failed = 0;
  for (const o of outcomes.values()) {
    if (o.ok) pass++;
    else {
      failed++;
      console.log(`(fail) ${o.label}\n${o.detail}`);
    }
  }
  if (unmapped) {
    failed++;
    console.log(`(fail) type-checking the examples:\n${unmapped}`);
  }
  console.log(`\n@example blocks: ${blocks.length} type-checked, ${toRun.length} run (checked value comments)${ns.length ? "" : "; no network namespace here: only the pure modules' blocks ran"}`);
  console.log(` ${pass} pass\n ${failed} fail`);
  process.exitCode = failed ? 1 : 0;
}

if (import.meta.main) main();
