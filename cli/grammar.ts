/**
 * The one grammar of ip's words, shared by every command line and every `tunkit batch` line:
 * pure, table-driven, no I/O and no commander.
 *
 * - {@link splitLine}: one batch line into words (quotes, backslashes, `#` comments).
 * - {@link WordTable} + {@link parseTail}: `key value` tails (`dev tun0 via 192.0.2.1 metric 10`)
 *   against a table of keywords compiled once; unknown word, keyword given twice, missing value
 *   are {@link UsageError}s that name the word.
 * - {@link pickWord}: the command word of an object (`route add`, `addr list`) from a table.
 * - {@link q}: quotes a word for an error line safely (control characters escaped, length capped).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";

/** One keyword of a word tail: whether it takes a value, and the other words that mean it. */
export interface WordSpec {
  value: boolean;
  aliases?: readonly string[];
}

/**
 * Result of parsing a word tail: each keyword's value (`true` for a flag) in its table slot,
 * and the words that are not keywords.
 */
export class ParsedWords {
  readonly table: WordTable;
  /** Values by slot ({@link WordTable.slot}); undefined when the keyword was not given. */
  readonly values: Array<string | true | undefined>;
  /** Words that are not keywords (at most `maxPositional` of them). */
  readonly positional: string[] = [];

  constructor(table: WordTable) {
    this.table = table;
    this.values = new Array(table.names.length);
  }

  /** The value of keyword `key` (canonical name), `true` for a flag, or undefined. */
  get(key: string): string | true | undefined {
    return this.values[this.table.slot(key)];
  }

  /** Whether keyword `key` was given. */
  has(key: string): boolean {
    return this.values[this.table.slot(key)] !== undefined;
  }
}

/** Longest word quoted in full in an error line; longer ones are cut. */
export const QUOTE_MAX = 64;

// C0 controls, DEL, C1 controls, line/paragraph separators, bidi overrides and isolates.
// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"\\]/g;

function escapeChar(c: string): string {
  if (c === '"') return '\\"';
  if (c === "\\") return "\\\\";
  if (c === "\n") return "\\n";
  if (c === "\t") return "\\t";
  if (c === "\r") return "\\r";
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16).padStart(4, "0")}`;
}

/**
 * Quotes user input for an error line: `"word"`, with control characters, ANSI escapes, NULs,
 * bidi controls, quotes and backslashes escaped, and words longer than {@link QUOTE_MAX}
 * characters cut (`"aaaa…" (1048576 characters)`), so a hostile word can neither drive the
 * terminal nor flood it.
 *
 * @example
 * ```ts
 * import { q } from "./grammar.ts";
 * q("tun0");          // '"tun0"'
 * q("a\x1b[31mb");    // '"a\\x1b[31mb"'
 * q("x".repeat(100)); // '"xxxx…xxx…" (100 characters)'
 * ```
 */
export function q(word: string): string {
  const cut = word.length > QUOTE_MAX;
  const shown = cut ? word.slice(0, QUOTE_MAX - 8) : word;
  const esc = shown.replace(UNSAFE, escapeChar);
  return cut ? `"${esc}…" (${word.length} characters)` : `"${esc}"`;
}

/**
 * Makes any message safe to print as one line: control characters escaped (a newline becomes
 * a space), and every run of more than {@link QUOTE_MAX} non-blank characters cut. For messages
 * built from input by code that did not use {@link q} (the last line of defence of the CLI).
 *
 * @example
 * ```ts
 * import { safeLine } from "./grammar.ts";
 * safeLine('Invalid name "a\x00b"'); // 'Invalid name "a\\x00b"'
 * ```
 */
export function safeLine(msg: string): string {
  // deno-lint-ignore no-control-regex
  let s = msg.replace(/\s*[\r\n]+\s*/g, " ").replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, escapeChar);
  if (s.length > QUOTE_MAX) {
    s = s.replace(/"([^"]{65,})"/g, (_m, w: string) => `"${w.slice(0, QUOTE_MAX - 8)}…" (${w.length} characters)`);
    s = s.replace(/\S{257,}/g, (run) => `${run.slice(0, 200)}…(${run.length} characters)`);
  }
  return s.length > 4096 ? s.slice(0, 4000) + `…(${s.length} characters)` : s;
}

/**
 * ip's abbreviation rule (`matches()` in iproute2's lib/utils.c): `word` is a non-empty prefix
 * of `keyword`.
 *
 * @example
 * ```ts
 * import { matches } from "./grammar.ts";
 * matches("ro", "route"); // true
 * matches("", "route");   // false
 * matches("routes", "route"); // false
 * ```
 */
export function matches(word: string, keyword: string): boolean {
  return word.length > 0 && word.length <= keyword.length && keyword.startsWith(word);
}

/**
 * A keyword table compiled once: word (or alias) -> canonical keyword, and which take a value.
 *
 * @example
 * ```ts
 * import { WordTable } from "./grammar.ts";
 * const t = new WordTable({ dev: { value: true, aliases: ["oif"] }, onlink: { value: false } });
 * t.key("oif");        // "dev"
 * t.takesValue("dev"); // true
 * ```
 */
export class WordTable {
  readonly spec: Readonly<Record<string, WordSpec>>;
  /** Canonical keywords, in table order (for "expected …" in errors); a keyword's slot is its index. */
  readonly names: readonly string[];
  /** Word (or alias) -> slot. */
  private readonly bySlot = new Map<string, number>();
  /**
   * The same, by first character: [word, slot] pairs. Words sliced from a line are fresh
   * strings; comparing a few candidates of the right first letter is cheaper than hashing them.
   */
  private readonly byFirst: Array<Array<[string, number]> | undefined> = new Array(128).fill(undefined);
  /** Slot -> takes a value. */
  readonly valued: readonly boolean[];

  constructor(spec: Readonly<Record<string, WordSpec>>) {
    this.spec = spec;
    this.names = Object.keys(spec);
    this.valued = this.names.map((k) => spec[k]!.value);
    this.names.forEach((k, i) => {
      const ws = [k, ...(spec[k]!.aliases ?? [])];
      internWords(ws);
      for (const w of ws) {
        this.bySlot.set(w, i);
        const c = w.charCodeAt(0);
        if (c < 128) (this.byFirst[c] ??= []).push([w, i]);
      }
    });
  }

  /** The slot of a word (a keyword or an alias), or -1. */
  slotOf(word: string): number {
    const c = word.charCodeAt(0);
    if (c < 128) {
      const cands = this.byFirst[c];
      if (cands === undefined) return -1;
      for (let i = 0; i < cands.length; i++) {
        const cand = cands[i]!;
        if (cand[0].length === word.length && cand[0] === word) return cand[1];
      }
      return -1;
    }
    return this.bySlot.get(word) ?? -1;
  }

  /** The slot of canonical keyword `key` (throws for a key the table does not have: a bug). */
  slot(key: string): number {
    const i = this.bySlot.get(key);
    if (i === undefined || this.names[i] !== key) throw new Error(`No keyword "${key}" in this table`);
    return i;
  }

  /** The canonical keyword a word stands for, or undefined. */
  key(word: string): string | undefined {
    const i = this.bySlot.get(word);
    return i === undefined ? undefined : this.names[i];
  }

  /** Whether keyword `key` takes a value. */
  takesValue(key: string): boolean {
    return this.valued[this.slot(key)]!;
  }
}

const compiled = new WeakMap<object, WordTable>();

/** The compiled table of a spec object (compiled on first use, then cached). */
export function tableOf(spec: Readonly<Record<string, WordSpec>> | WordTable): WordTable {
  if (spec instanceof WordTable) return spec;
  let t = compiled.get(spec);
  if (!t) {
    t = new WordTable(spec);
    compiled.set(spec, t);
  }
  return t;
}

/**
 * Parses the `key value` tail `words[from..]` the way `ip` reads it: keywords from `table`,
 * a value after those that take one, and up to `maxPositional` other words (a prefix, an
 * address). An unknown word, a keyword given twice, or a keyword missing its value is a
 * {@link UsageError} naming the word and the command (`context`).
 *
 * @example
 * ```ts
 * import { parseTail, WordTable } from "./grammar.ts";
 * const t = new WordTable({ dev: { value: true }, onlink: { value: false } });
 * const p = parseTail(["route", "add", "10.0.0.0/8", "dev", "tun0", "onlink"], 2, t, "route add", 1);
 * p.positional;        // ["10.0.0.0/8"]
 * p.get("dev");       // "tun0"
 * p.get("onlink");    // true
 * ```
 */
export function parseTail(
  words: readonly string[],
  from: number,
  table: WordTable | Readonly<Record<string, WordSpec>>,
  context: string,
  maxPositional = 0,
): ParsedWords {
  const t = tableOf(table);
  const p = new ParsedWords(t);
  const values = p.values;
  for (let i = from; i < words.length; i++) {
    const w = words[i]!;
    const slot = t.slotOf(w);
    if (slot < 0) {
      if (p.positional.length < maxPositional) {
        p.positional.push(w);
        continue;
      }
      throw unknownWord(w, context, t.names);
    }
    if (values[slot] !== undefined) throw new UsageError(`Word ${q(w)} given twice in "${context}"`);
    if (t.valued[slot]) {
      const v = words[i + 1];
      if (v === undefined) throw new UsageError(`Missing value after ${q(w)} in "${context}"`);
      values[slot] = v;
      i++;
    } else {
      values[slot] = true;
    }
  }
  return p;
}

/**
 * The error for a word that is not in the grammar of `context`.
 *
 * @example
 * ```ts
 * import { unknownWord } from "./grammar.ts";
 * unknownWord("frob", "route add", ["dev", "via"]).message; // 'Unknown word "frob" in "route add": expected dev, via'
 * ```
 */
export function unknownWord(w: string, context: string, expected: readonly string[]): UsageError {
  return new UsageError(`Unknown word ${q(w)} in "${context}"${expected.length ? `: expected ${expected.join(", ")}` : ""}`);
}

/**
 * Takes the value of keyword `key` from parsed words: a string, or undefined when absent.
 *
 * @example
 * ```ts
 * import { parseTail, wordValue } from "./grammar.ts";
 * wordValue(parseTail(["dev", "tun0"], 0, { dev: { value: true } }, "x"), "dev"); // "tun0"
 * ```
 */
export function wordValue(p: ParsedWords, key: string): string | undefined {
  const v = p.get(key);
  return typeof v === "string" ? v : undefined;
}

/** A command word of an object (`add`, `del`, `list`…) and the words that mean it too. */
export interface Verb {
  name: string;
  aliases?: readonly string[];
}

/**
 * Finds the command word `word` in `verbs` (by name or alias). Unknown words are a
 * {@link UsageError}: `Unknown route command "frob": expected add, del, …`.
 *
 * @example
 * ```ts
 * import { pickWord } from "./grammar.ts";
 * const verbs = [{ name: "add" }, { name: "del", aliases: ["delete"] }];
 * pickWord("delete", verbs, "route").name; // "del"
 * ```
 */
export function pickWord<V extends Verb>(word: string, verbs: readonly V[], object: string): V {
  for (const v of verbs) if (v.name === word) return v;
  for (const v of verbs) if (v.aliases?.includes(word)) return v;
  throw new UsageError(`Unknown ${object} command ${q(word)}: expected ${verbs.map((v) => v.name).join(", ")}`);
}

/**
 * Words of the grammar (keyword spellings, command words, object names) and the values lines
 * repeat (a device, a gateway, a table), in two hash tables keyed by a word's characters.
 *
 * A word sliced from a line is a fresh string: the first time anything reads it (a keyword
 * lookup, a comparison) the runtime makes it a real string, 25-50 ns a word, and it never
 * compares equal to a keyword by identity. {@link splitLine} hashes each word's characters as
 * it scans them and looks the hash up instead, handing out the known string itself: a keyword
 * comes out as the table's own spelling (the lookups after it compare identities), a repeated
 * value as the string already made for an earlier line. Only words not found are sliced.
 *
 * One probe per word (issue 11, p11): the earlier tables, bucketed by first character and
 * length, compared every candidate of the bucket character by character (a line's prefix
 * against the four last prefixes, its metric against the other 3-digit numbers): splitLine
 * took ~400-550 ns of a ~1,300 ns `route add P dev D via G metric M table T` line, slicing
 * every word instead ~240. Hashed: see bench/cli-parse.ts's header for the numbers.
 */
/** Known spellings by hash, open addressing (never evicted); [] until the first split. */
let knownWords: Array<string | undefined> = [];
let knownHash = new Int32Array(0);
/** Recently sliced values by hash, direct-mapped: a new value takes its slot's place. */
let recentWords: Array<string | undefined> = [];
let recentHash = new Int32Array(0);
/** Hashes of words sliced once, by the same slots: a word seen twice is kept in {@link recentWords}. */
let seenHash = new Int32Array(0);
/** Words registered but not yet filed: the tables are made by the first split, not at import. */
let pending: string[] = [];
/** Slots of the known table, 2^13 (the grammar's ~1,000 spellings fill an eighth of it). */
const KNOWN_BITS = 13;
const KNOWN_SLOTS = 1 << KNOWN_BITS;
/** Slots of the recent table, 2^12. */
const RECENT_BITS = 12;
const RECENT_SLOTS = 1 << RECENT_BITS;
/** Words this long or longer are always sliced (an address, a name, a number are shorter). */
const WORD_MAX = 64;

/** The hash splitPlain computes while it scans a word: h = h * 31 + c, 32 bits. */
function hashWord(w: string): number {
  let h = 0;
  for (let i = 0; i < w.length; i++) h = (Math.imul(h, 31) + w.charCodeAt(i)) | 0;
  return h;
}

/**
 * A hash's first slot in a table of 2^`bits` slots: Fibonacci hashing (the top bits of h times
 * 2^32/phi), so short numbers, whose h * 31 + c hashes differ only in their low bits, spread.
 */
const slotIn = (h: number, bits: number): number => Math.imul(h, 0x9e3779b1) >>> (32 - bits);

/**
 * Registers words of the grammar (keyword spellings, verbs, object names) for
 * {@link splitLine}, which then returns these very strings for them.
 *
 * @example
 * ```ts
 * import { internWords, splitLine } from "./grammar.ts";
 * internWords(["dev"]);
 * splitLine("route add 10.0.0.0/8 dev tun0")[3]; // "dev" (the registered string, not a slice of the line)
 * ```
 */
export function internWords(words: Iterable<string>): void {
  for (const w of words) pending.push(w);
}

/** Files the {@link pending} words into the known table (a full table leaves the rest sliced: only slower). */
function fileKnown(): void {
  if (!knownWords.length) {
    knownWords = new Array(KNOWN_SLOTS).fill(undefined);
    knownHash = new Int32Array(KNOWN_SLOTS);
    recentWords = new Array(RECENT_SLOTS).fill(undefined);
    recentHash = new Int32Array(RECENT_SLOTS);
    seenHash = new Int32Array(RECENT_SLOTS);
  }
  let filled = 0;
  for (const w of knownWords) if (w !== undefined) filled++;
  for (const w of pending) {
    if (!w.length || w.length >= WORD_MAX || filled >= KNOWN_SLOTS / 2) continue;
    const h = hashWord(w);
    let i = slotIn(h, KNOWN_BITS);
    for (;;) {
      const k = knownWords[i];
      if (k === undefined) {
        knownWords[i] = w;
        knownHash[i] = h;
        filled++;
        break;
      }
      if (k === w) break;
      i = (i + 1) & (KNOWN_SLOTS - 1);
    }
  }
  pending = [];
}

/** Whether `cand` (of the word's length) spells line[s, s + len). */
function spells(cand: string, line: string, s: number, len: number): boolean {
  for (let j = len - 1; j >= 0; j--) if (cand.charCodeAt(j) !== line.charCodeAt(s + j)) return false;
  return true;
}

/** The word line[s, e) of hash `h`: a known or recent string when one spells it, else a slice (then remembered). */
function wordAt(line: string, s: number, e: number, h: number): string {
  const len = e - s;
  if (len >= WORD_MAX) return line.slice(s, e);
  for (let i = slotIn(h, KNOWN_BITS); ; i = (i + 1) & (KNOWN_SLOTS - 1)) {
    const k = knownWords[i];
    if (k === undefined) break;
    if (knownHash[i] === h && k.length === len && spells(k, line, s, len)) return k;
  }
  const r = slotIn(h, RECENT_BITS);
  const v = recentWords[r];
  if (v !== undefined && recentHash[r] === h && v.length === len && spells(v, line, s, len)) return v;
  const w = line.slice(s, e);
  // Kept from its second sighting on: a word seen once (each line's prefix) is not held, so it
  // dies young (held, a million prefixes would each outlive the young generation).
  if (seenHash[r] === h) {
    recentWords[r] = w;
    recentHash[r] = h;
  } else seenHash[r] = h;
  return w;
}

/** The common line, with no quote, backslash or comment: its words (see {@link wordAt}), or undefined. */
function splitPlain(line: string): string[] | undefined {
  if (pending.length || !knownWords.length) fileKnown();
  const out: string[] = [];
  let start = -1;
  let h = 0;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13)) {
      if (start >= 0) {
        out.push(wordAt(line, start, i, h));
        start = -1;
      }
    } else if (c === 34 || c === 39 || c === 92 || (c === 35 && start < 0)) return undefined;
    else {
      if (start < 0) {
        start = i;
        h = 0;
      }
      h = (Math.imul(h, 31) + c) | 0;
    }
  }
  if (start >= 0) out.push(wordAt(line, start, line.length, h));
  return out;
}

/** The module's internal functions every batch line runs (cli/jit.ts keeps them out of the FTL). */
export const LINE_FUNCTIONS: readonly unknown[] = [spells, wordAt, splitPlain, slotIn];

/**
 * Splits one batch line into words: blank-separated, with `"..."` / `'...'` quoting,
 * backslash escapes and `#` comments (outside quotes, at the start of a word) like a shell.
 * Returns [] for blank and comment lines.
 *
 * @example
 * ```ts
 * import { splitLine } from "./grammar.ts";
 * splitLine("route add 10.0.0.0/8 dev tun0 # vpn"); // ["route", "add", "10.0.0.0/8", "dev", "tun0"]
 * splitLine(`a "b c" d\\ e`);                       // ["a", "b c", "d e"]
 * ```
 */
export function splitLine(line: string): string[] {
  const plain = splitPlain(line);
  if (plain) return plain;
  const out: string[] = [];
  let cur = "";
  let have = false;
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"' && i + 1 < line.length) cur += line[++i]!;
      else cur += c;
      continue;
    }
    if (c === '"' || c === "'") {
      quote = c;
      have = true;
    } else if (c === "#" && !have) {
      break;
    } else if (c === " " || c === "\t" || c === "\v" || c === "\f" || c === "\r") {
      if (have) out.push(cur);
      cur = "";
      have = false;
    } else if (c === "\\" && i + 1 < line.length) {
      cur += line[++i]!;
      have = true;
    } else {
      cur += c;
      have = true;
    }
  }
  if (quote) throw new UsageError(`Unterminated ${quote} quote`);
  if (have) out.push(cur);
  return out;
}

/**
 * A cursor over a command's words, in ip's NEXT_ARG style: {@link take} the keyword's value,
 * with "Missing value after X" when the line ends.
 *
 * @example
 * ```ts
 * import { Words } from "./grammar.ts";
 * const c = new Words(["route", "add", "10.0.0.0/8", "dev", "tun0"], 2, "route add");
 * c.next();            // "10.0.0.0/8"
 * c.next();            // "dev"
 * c.take("dev");       // "tun0"
 * c.done;              // true
 * ```
 */
export class Words {
  readonly words: readonly string[];
  readonly context: string;
  /** Index of the next word. */
  at: number;

  constructor(words: readonly string[], at: number, context: string) {
    this.words = words;
    this.at = at;
    this.context = context;
  }

  /** True when every word has been read. */
  get done(): boolean {
    return this.at >= this.words.length;
  }

  /** The next word without reading it (undefined at the end). */
  peek(): string | undefined {
    return this.words[this.at];
  }

  /** Reads the next word (the caller checked {@link done}). */
  next(): string {
    return this.words[this.at++]!;
  }

  /** Reads the value of keyword `after`: a UsageError naming it when the line ends there. */
  take(after: string): string {
    const v = this.words[this.at];
    if (v === undefined) throw new UsageError(`Missing value after ${q(after)} in "${this.context}"`);
    this.at++;
    return v;
  }

  private seen: Set<string> | undefined;

  /** Refuses a keyword ip takes only once (its `duparg`): "Word "mtu" given twice". */
  once(name: string, word: string): void {
    this.seen ??= new Set();
    if (this.seen.has(name)) throw new UsageError(`Word ${q(word)} given twice in "${this.context}" (${q(name)} takes one value)`);
    this.seen.add(name);
  }

  /** Reads the next word if it is `word` (ip's optional words: `mtu lock N`, `to PREFIX`). */
  skip(word: string): boolean {
    if (this.words[this.at] !== word) return false;
    this.at++;
    return true;
  }
}

/**
 * One keyword of an ip grammar: its spellings and what it does with the words after it.
 * `abbrev` marks spellings ip reads with `matches()` (any prefix: `pri` for priority); the
 * others must be exact (`strcmp`).
 */
export interface Keyword<S> {
  name: string;
  /** ip takes any non-empty prefix of the name (`matches()`). */
  abbrev?: boolean;
  /** Other spellings: exact, or `{ word, abbrev: true }`. */
  also?: ReadonlyArray<string | { word: string; abbrev: true }>;
  /** ip refuses it given twice (`duparg`). */
  once?: boolean;
  /** Reads the keyword's values from `w` into the state. `word` is the spelling that was typed. */
  take(s: S, w: Words, word: string): void;
}

/** Lookups a {@link Keywords} table answers by walking its list before it builds its index. */
const INDEX_AFTER = 16;

/**
 * A keyword table in ip's order: a word means the FIRST keyword that accepts it, exactly as
 * ip's if/else chains read (`d` is `dsfield` in route add, `m` is `metric`), resolved once for
 * every spelling when the table is built. Lookups compare a few candidates of the word's first
 * letter and length (no hashing of freshly sliced words).
 *
 * @example
 * ```ts
 * import { Keywords } from "./grammar.ts";
 * const t = new Keywords<{ metric?: string }>([{ name: "metric", abbrev: true, take: (s, w, k) => void (s.metric = w.take(k)) }]);
 * t.find("met")?.name; // "metric"
 * t.find("metrics");   // undefined
 * ```
 */
export class Keywords<S> {
  readonly list: ReadonlyArray<Keyword<S>>;
  /**
   * Spellings by first letter (ASCII), then by length: one or two candidates per lookup. Built on
   * the {@link INDEX_AFTER}th lookup: a command line reads a handful of words, and walking the
   * list in ip's order finds the same keyword (the table is that walk, done once for every
   * spelling) without the hundreds of arrays the index takes at start-up (issue 11).
   */
  private byFirst: Array<Array<Array<[string, Keyword<S>]> | undefined> | undefined> | undefined;
  private other: Map<string, Keyword<S>> | undefined;
  private lookups = 0;

  constructor(list: ReadonlyArray<Keyword<S>>) {
    this.list = list;
  }

  /** Builds the index: every spelling, the first keyword in ip's order that takes it. */
  private index(): void {
    const byFirst: Array<Array<Array<[string, Keyword<S>]> | undefined> | undefined> = new Array(128).fill(undefined);
    const other = new Map<string, Keyword<S>>();
    const seen = new Set<string>();
    const add = (spelling: string, k: Keyword<S>) => {
      if (!spelling || seen.has(spelling)) return; // an earlier keyword already takes it
      seen.add(spelling);
      internWords([spelling]);
      const c = spelling.charCodeAt(0);
      // Dense arrays (filled, no holes): a lookup on a sparse one took a slow path.
      if (c < 128 && spelling.length < WORD_MAX) ((byFirst[c] ??= new Array(WORD_MAX).fill(undefined))[spelling.length] ??= []).push([spelling, k]);
      else other.set(spelling, k);
    };
    for (const k of this.list) {
      const forms: Array<[string, boolean]> = [[k.name, !!k.abbrev], ...(k.also ?? []).map((a): [string, boolean] => (typeof a === "string" ? [a, false] : [a.word, true]))];
      for (const [word, abbrev] of forms) {
        if (abbrev) for (let n = 1; n <= word.length; n++) add(word.slice(0, n), k);
        else add(word, k);
      }
    }
    this.other = other;
    this.byFirst = byFirst;
  }

  /** The keyword a word means, walking the list in ip's order (what {@link index} resolves once). */
  private walk(word: string): Keyword<S> | undefined {
    for (const k of this.list) {
      if (k.abbrev ? matches(word, k.name) : word === k.name) return k;
      if (k.also) {
        for (const a of k.also) {
          if (typeof a === "string" ? word === a : matches(word, a.word)) return k;
        }
      }
    }
    return undefined;
  }

  /** Finds `word`'s keyword and lets it read its values; false when `word` is not a keyword. */
  take(s: S, w: Words, word: string): boolean {
    const k = this.find(word);
    if (!k) return false;
    if (k.once) w.once(k.name, word);
    k.take(s, w, word);
    return true;
  }

  /** The keyword a word means, or undefined. */
  find(word: string): Keyword<S> | undefined {
    if (this.byFirst === undefined) {
      if (++this.lookups <= INDEX_AFTER) return this.walk(word);
      this.index();
    }
    const c = word.charCodeAt(0);
    if (c < 128) {
      if (word.length >= WORD_MAX) return this.other!.get(word);
      const cands = this.byFirst![c]?.[word.length];
      if (cands === undefined) return undefined;
      for (let i = 0; i < cands.length; i++) {
        const cand = cands[i]!;
        if (cand[0] === word) return cand[1];
      }
      return undefined;
    }
    return this.other!.get(word);
  }

  /** Canonical names, for "expected …" in errors. */
  names(): string[] {
    return this.list.map((k) => k.name);
  }
}

/** ip's command words tunkit knows but does not do: left out of "expected …". */
const HIDDEN_VERBS: readonly string[] = ["save", "restore", "showdump", "help", "xstats", "afstats", "property"];

/**
 * A positional word that must parse (an address, a prefix): an abbreviation of "help" asks for
 * the usage, and a word that does not parse is named as {@link notAWord} names it, with the
 * `expected` words (built only then).
 *
 * @example
 * ```ts
 * import { parsedWord } from "./grammar.ts";
 * parsedWord("42", "route add", () => ["dev"], Number); // 42
 * ```
 */
export function parsedWord<T>(word: string, context: string, expected: () => readonly string[], parse: (word: string) => T): T {
  if (word.length && "help".startsWith(word)) throw new UsageError(`Usage asked for with ${q(word)}: see tunkit ${context} --help`);
  try {
    return parse(word);
  } catch {
    throw notAWord(word, context, expected(), () => parse(word));
  }
}

/**
 * The error for a word that is neither a keyword of `context` nor the value expected in its
 * place (`what`, parsed by `parse`): an unknown word when it looks like one, else `parse`'s own
 * error (a bad address says what is wrong with it).
 *
 * @example
 * ```ts
 * import { notAWord } from "./grammar.ts";
 * notAWord("frob", "route add", ["dev", "via"], () => { throw new Error("bad"); }).message;
 * // 'Unknown word "frob" in "route add": expected dev, via'
 * ```
 */
export function notAWord(word: string, context: string, expected: readonly string[], parse: () => unknown): Error {
  if (word.length > 1 && word.startsWith("-") && !/^-\d/.test(word)) {
    return new UsageError(`Unknown word ${q(word)} in "${context}": options go before the command, as with ip (tunkit ${word} ${context} …)`);
  }
  if (/^[A-Za-z_][A-Za-z_-]*$/.test(word) && !/^[0-9a-fA-F]+$/.test(word)) return unknownWord(word, context, expected);
  try {
    parse();
  } catch (e) {
    return e as Error;
  }
  return unknownWord(word, context, expected);
}

/**
 * Per verb table: every full spelling and the command it means (splitLine knows the spellings);
 * null once the table was asked once (made on its second use: a batch's second line).
 */
const exactVerbs = new Map<object, Array<[string, string]> | null>();

/** The canonical name of the first verb of `verbs` (ip's if/else order) that `word` spells, else undefined. */
function verbInOrder(word: string, verbs: ReadonlyArray<readonly [string, boolean, string]>): string | undefined {
  for (let i = 0; i < verbs.length; i++) {
    const v = verbs[i]!;
    if (v[1] ? matches(word, v[0]) : word === v[0]) return v[2];
  }
  return undefined;
}

/**
 * Finds the command word of an object the way ip does (`matches()` in its if/else order):
 * `verbs` lists [spelling, abbreviable, canonical name] in ip's order.
 *
 * @example
 * ```ts
 * import { ipVerb } from "./grammar.ts";
 * ipVerb("del", [["add", true, "add"], ["delete", true, "delete"]], "route"); // "delete"
 * ```
 */
export function ipVerb(word: string, verbs: ReadonlyArray<readonly [string, boolean, string]>, object: string): string {
  let exact = exactVerbs.get(verbs);
  if (exact === undefined) {
    // The table is a cache for the lines of a batch: a one-shot command asks once, and the
    // first call only marks the table seen (building it was ~0.4 ms of a `route add`'s
    // start-up, most of it Array.prototype.map's first call; issue 11).
    exactVerbs.set(verbs, null);
  } else if (exact === null) {
    // Each full spelling with what ip's order makes of it (an earlier keyword may take it).
    const made: Array<[string, string]> = [];
    for (let i = 0; i < verbs.length; i++) {
      made.push([verbs[i]![0], verbInOrder(verbs[i]![0], verbs) ?? verbs[i]![2]]);
      internWords([verbs[i]![0]]);
    }
    exactVerbs.set(verbs, made);
    exact = made;
  } else {
    for (let i = 0; i < exact.length; i++) if (exact[i]![0] === word) return exact[i]![1];
  }
  const name = verbInOrder(word, verbs);
  if (name !== undefined) return name;
  const names = [...new Set(verbs.map((v) => v[2]))].filter((n) => !HIDDEN_VERBS.includes(n));
  throw new UsageError(`Unknown ${object} command ${q(word)}: expected ${names.join(", ")}`);
}
