/**
 * Global options, read the way `ip` reads them: before the command word, each an abbreviation
 * of ip's option names in ip's order (`-d` is -details, `-s` -stats, `-br` -brief, `-j` -json,
 * `-n NS` -netns, `-b FILE` -batch; `--json` is `-json`). `--json` and `--netns NAME` may also
 * appear anywhere after the command word ({@link takeAnywhere}). Pure: words in, options out.
 *
 * Where tunkit differs from ip: `-h`/`--help` prints help (ip reads `-h` as -human; spell
 * `-hu` for that), and `-q`/`--quiet` is tunkit's own.
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { GlobalOptions } from "./context.ts";
import { matches, q } from "./grammar.ts";

/** What {@link parseGlobals} found. */
export interface Globals {
  opts: GlobalOptions;
  /** Index of the command word in argv (argv.length when there is none). */
  at: number;
  help: boolean;
  version: boolean;
}

/** ip's global options in ip's order ([spelling, takes a value]); the first that matches wins. */
const IP_OPTIONS: ReadonlyArray<readonly [string, boolean]> = [
  ["-loops", true], ["-family", true], ["-human", false], ["-human-readable", false], ["-iec", false],
  ["-stats", false], ["-statistics", false], ["-details", false], ["-resolve", false], ["-oneline", false],
  ["-timestamp", false], ["-tshort", false], ["-Version", false], ["-force", false], ["-batch", true],
  ["-brief", false], ["-json", false], ["-pretty", false], ["-rcvbuf", true], ["-color", false],
  ["-help", false], ["-netns", true], ["-Numeric", false], ["-all", false],
];

/** Global options and what they mean, for errors and suggestions. */
export const GLOBAL_OPTIONS = ["-4", "-6", "-j", "--json", "-p", "--pretty", "-d", "--details", "-s", "--stats", "-br", "--brief", "-o", "--oneline", "-n", "--netns", "-b", "--batch", "--force", "-q", "--quiet", "-h", "--help", "-V", "--version"] as const;

const FAMILIES: Readonly<Record<string, number>> = { inet: 2, inet6: 10, link: 17 };

function suggest(opt: string): string {
  const bare = opt.replace(/^-+/, "").split("=")[0]!;
  let best = "";
  let bestD = 3;
  for (const o of GLOBAL_OPTIONS) {
    const d = distance(bare, o.replace(/^-+/, ""));
    if (d < bestD && o.startsWith("--")) {
      best = o;
      bestD = d;
    }
  }
  return best ? ` (did you mean ${best}?)` : "";
}

/** Levenshtein distance, for "did you mean". */
export function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = t;
    }
  }
  return prev[b.length]!;
}

function value(argv: readonly string[], i: number, opt: string, what: string): string {
  const v = argv[i + 1];
  if (v === undefined) throw new UsageError(`Missing value after ${q(opt)}: expected ${opt} ${what}`);
  return v;
}

/**
 * Reads the global options before the command word.
 *
 * @example
 * ```ts
 * import { parseGlobals } from "./globals.ts";
 * const g = parseGlobals(["-n", "blue", "-j", "-d", "route", "show"]);
 * g.opts.json;    // true
 * g.opts.details; // true
 * g.at;           // 4 (the index of "route")
 * ```
 */
export function parseGlobals(argv: readonly string[]): Globals {
  const opts: GlobalOptions = { json: false, quiet: false };
  let help = false;
  let version = false;
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    // tunkit's own spellings first.
    if (a === "-4") opts.family = 2;
    else if (a === "-6") opts.family = 10;
    else if (a === "-0") opts.family = 17;
    else if (a === "-q" || a === "--quiet") opts.quiet = true;
    else if (a === "-h" || a === "--help") help = true;
    else if (a === "-V" || a === "--version") version = true;
    else if (a.startsWith("--netns=")) opts.netns = a.slice(8);
    else if (a === "-c" || a.startsWith("-c=") || a.startsWith("--color") || a.startsWith("-color")) {
      /* colours: accepted like ip, never used (tunkit prints plain text) */
    } else {
      const opt = a.startsWith("--") ? a.slice(1) : a;
      const hit = IP_OPTIONS.find(([name]) => matches(opt, name));
      if (!hit) throw new UsageError(`Unknown option ${q(a)}${suggest(a)}: see tunkit --help`);
      const [name] = hit;
      switch (name) {
        case "-loops":
          value(argv, i++, a, "N");
          break;
        case "-family": {
          const f = value(argv, i++, a, "inet|inet6|link");
          if (!(f in FAMILIES)) throw new UsageError(`Invalid family ${q(f)}: expected inet, inet6 or link`);
          opts.family = FAMILIES[f];
          break;
        }
        case "-human":
        case "-human-readable":
          opts.human = true;
          break;
        case "-iec":
          opts.iec = true;
          break;
        case "-stats":
        case "-statistics":
          opts.stats = (opts.stats ?? 0) + 1;
          break;
        case "-details":
          opts.details = true;
          break;
        case "-resolve":
        case "-Numeric":
        case "-timestamp":
        case "-tshort":
        case "-all":
        case "-color":
          break; // accepted; tunkit prints addresses and names as ip does without them
        case "-oneline":
          opts.oneline = true;
          break;
        case "-Version":
          version = true;
          break;
        case "-force":
          opts.force = true;
          break;
        case "-batch":
          opts.batch = value(argv, i++, a, "FILE");
          break;
        case "-brief":
          opts.brief = true;
          break;
        case "-json":
          opts.json = true;
          break;
        case "-pretty":
          opts.pretty = true;
          break;
        case "-rcvbuf":
          value(argv, i++, a, "SIZE");
          break;
        case "-help":
          help = true;
          break;
        case "-netns":
          opts.netns = value(argv, i++, a, "NAME (a network namespace)");
          break;
      }
    }
  }
  return { opts, at: i, help, version };
}

/** Which options {@link takeAnywhere} takes out of a command's words. */
export interface Anywhere {
  /** `-q`/`--quiet`, `-4`/`-6`, `-h`/`--help` too (ip-word commands); only `--json`, `--netns`, `--help` otherwise. */
  ipWords: boolean;
  /** `-q`/`--quiet` too (commands without a `-q` of their own: all but dump, whose -q is tcpdump's). */
  quiet?: boolean;
}

/**
 * Takes the options that may appear anywhere out of `words` (the command word and what follows):
 * `--json`, `--netns NAME`, `--help` for every command; `-q`, `--quiet`, `-4`, `-6`, `-h` too for
 * ip-word commands. Returns the remaining words; `opts` is updated in place.
 *
 * @example
 * ```ts
 * import { takeAnywhere } from "./globals.ts";
 * const opts = { json: false, quiet: false };
 * takeAnywhere(["route", "list", "--json", "-6"], opts, { ipWords: true }); // { words: ["route", "list"], help: false }
 * opts; // { json: true, quiet: false, family: 10 }
 * ```
 */
export function takeAnywhere(words: readonly string[], opts: GlobalOptions, how: Anywhere): { words: string[]; help: boolean } {
  let help = false;
  // Fast path: nothing that looks like an option.
  let any = false;
  for (const w of words) if (w.charCodeAt(0) === 45 /* - */ && w.length > 1) any = true;
  if (!any) return { words: words as string[], help };
  const out: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === "--json") opts.json = true;
    else if (w === "--netns") opts.netns = value(words, i++, w, "NAME (a network namespace)");
    else if (w.startsWith("--netns=")) opts.netns = w.slice(8);
    else if (w === "--help") help = true;
    else if (how.ipWords && w === "-h") help = true;
    else if ((how.ipWords || how.quiet) && (w === "-q" || w === "--quiet")) opts.quiet = true;
    else if (how.ipWords && w === "-4") opts.family = 2;
    else if (how.ipWords && w === "-6") opts.family = 10;
    else out.push(w);
  }
  return { words: out, help };
}
