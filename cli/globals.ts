/**
 * Global options, read the way `ip` reads them: before the command word (`tunkit -n blue -j
 * route show`, `tunkit -6 route flush table 100`). Pure: words in, options out. `--json` and
 * `--netns NAME` may also appear anywhere after the command word ({@link takeAnywhere}).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import type { GlobalOptions } from "./context.ts";
import { q } from "./grammar.ts";

/** What {@link parseGlobals} found. */
export interface Globals {
  opts: GlobalOptions;
  /** Index of the command word in argv (argv.length when there is none). */
  at: number;
  help: boolean;
  version: boolean;
}

/** Global options and what they mean, for errors and the root help. */
export const GLOBAL_OPTIONS = ["-4", "-6", "-j", "--json", "-n", "--netns", "-q", "--quiet", "-h", "--help", "-V", "--version"] as const;

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

function netnsValue(argv: readonly string[], i: number, opt: string): string {
  const v = argv[i + 1];
  if (v === undefined) throw new UsageError(`Missing value after ${q(opt)}: expected ${opt} NAME (a network namespace)`);
  return v;
}

/**
 * Reads the global options before the command word.
 *
 * @example
 * ```ts
 * import { parseGlobals } from "./globals.ts";
 * const g = parseGlobals(["-n", "blue", "-j", "route", "show"]);
 * g.opts; // { json: true, quiet: false, netns: "blue" }
 * g.at;   // 3 (the index of "route")
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
    switch (a) {
      case "-4":
        opts.family = 2;
        break;
      case "-6":
        opts.family = 10;
        break;
      case "-j":
      case "--json":
        opts.json = true;
        break;
      case "-q":
      case "--quiet":
        opts.quiet = true;
        break;
      case "-n":
      case "--netns":
        opts.netns = netnsValue(argv, i, a);
        i++;
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      case "-V":
      case "--version":
        version = true;
        break;
      default:
        if (a.startsWith("--netns=")) {
          opts.netns = a.slice(8);
          break;
        }
        throw new UsageError(`Unknown option ${q(a)}${suggest(a)}: see tunkit --help`);
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
    else if (w === "--netns") opts.netns = netnsValue(words, i++, w);
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
