/**
 * `tunkit addr add|change|replace|delete`: the words of ip address's modify commands (iproute2
 * 6.1's ipaddress.c ipaddr_modify), read the way ip reads them: `[local] PREFIX [peer P]
 * [broadcast A|+|-] [anycast A] [label L] [scope S] [metric N] [valid_lft T] [preferred_lft T]
 * [FLAGS] dev NAME`, validated by the library, and the one request each sends. Shared by the
 * command line, cli/addr.ts (the object) and `tunkit batch`.
 *
 * Its own module so that a one-shot `addr add` (cli/oneshot.ts) evaluates the words of the modify
 * commands and nothing of the listings or the help pages (start-up, issue 11).
 *
 * @module
 */
import { UsageError } from "../common/errors.ts";
import { NLM_F } from "../netlink/core/message.ts";
import type { ByteWriter } from "../netlink/core/writer.ts";
import { AF, RTM } from "../netlink/route/constants.ts";
import { encodeAddress } from "../netlink/route/addr.ts";
import { parsePrefix } from "../netlink/route/ip.ts";
import { addressFromSpec, addressSpecWarnings, ADDRESS_FLAG_WORDS, type AddressMode, type AddressSpec } from "../netlink/spec/addr.ts";
import { ifName, intInRange } from "./args.ts";
import { Keywords, parsedWord, q, Words } from "./grammar.ts";
import type { Ctx, Op } from "./context.ts";

/** The flag words of `addr add` (nodad, home, …). */
export const ADDR_FLAG_WORDS: ReadonlySet<string> = flagWordSet();

/** {@link ADDR_FLAG_WORDS} by a loop: Array.prototype.map's first call was ~0.3 ms of an `addr add`'s start-up (issue 11). */
function flagWordSet(): Set<string> {
  const s = new Set<string>();
  for (let i = 0; i < ADDRESS_FLAG_WORDS.length; i++) s.add(ADDRESS_FLAG_WORDS[i]!.name);
  return s;
}

interface AddrState {
  spec: Partial<AddressSpec> & { flags: string[] };
  context: string;
  family?: number;
  local?: string;
}

const famOf = (s: string) => (s.includes(":") ? AF.INET6 : AF.INET);

function lifetime(v: string, what: string): number | "forever" {
  if (v === "forever") return "forever";
  return intInRange(v.replace(/sec$/, ""), what, 0, 0xffffffff);
}

/** The keywords of `addr add|change|replace|delete` in iproute2's order. */
export const ADDR_KEYWORDS = new Keywords<AddrState>([
  { name: "peer", also: ["remote"], take: (s, w, k) => {
    if (s.spec.peer !== undefined) throw new UsageError(`Word "peer" given twice in "${s.context}"`);
    const v = w.take(k);
    parsePrefix(v, s.family ?? AF.UNSPEC);
    s.spec.peer = v;
    s.family ??= famOf(v);
  } },
  { name: "broadcast", abbrev: true, also: ["brd"], take: (s, w, k) => {
    if (s.spec.broadcast !== undefined) throw new UsageError(`Word "broadcast" given twice in "${s.context}"`);
    s.spec.broadcast = w.take(k);
  } },
  { name: "anycast", once: true, take: (s, w, k) => void (s.spec.anycast = w.take(k)) },
  { name: "scope", take: (s, w, k) => void (s.spec.scope = w.take(k)) },
  { name: "dev", take: (s, w, k) => void (s.spec.dev = ifName(w.take(k))) },
  { name: "label", take: (s, w, k) => void (s.spec.label = w.take(k)) },
  { name: "metric", abbrev: true, also: [{ word: "priority", abbrev: true }, { word: "preference", abbrev: true }], take: (s, w, k) => void (s.spec.metric = intInRange(w.take(k), "metric", 0, 0xffffffff)) },
  { name: "valid_lft", once: true, abbrev: true, take: (s, w, k) => void (s.spec.validLft = lifetime(w.take(k), "valid_lft")) },
  { name: "preferred_lft", once: true, abbrev: true, take: (s, w, k) => void (s.spec.preferredLft = lifetime(w.take(k), "preferred_lft")) },
]);

/**
 * Reads the words of `addr add|change|replace|delete` (from `words[from]`) into an address spec,
 * validated by the library (no syscall). Warnings ip prints (a flag it ignores, a delete without
 * a prefix length) come back beside it.
 *
 * @example
 * ```ts
 * import { planAddress } from "./addr-add.ts";
 * planAddress(["192.0.2.1/24", "dev", "tun0"], "addr add").spec; // { dev: "tun0", address: "192.0.2.1/24" }
 * ```
 */
export function planAddress(words: readonly string[], context: string, from = 0, family?: number): { spec: AddressSpec; warnings: string[] } {
  const s: AddrState = { spec: { flags: [] }, context, family };
  const w = new Words(words, from, context);
  while (!w.done) {
    const word = w.next();
    if (ADDR_KEYWORDS.take(s, w, word)) continue;
    if (ADDR_FLAG_WORDS.has(word)) {
      s.spec.flags.push(word);
      continue;
    }
    const v = word === "local" ? w.take("local") : word;
    const fam = s.family ?? AF.UNSPEC;
    const p = parsedWord(v, context, () => [...ADDR_KEYWORDS.names(), ...ADDR_FLAG_WORDS], (x) => parsePrefix(x, fam));
    if (s.local !== undefined) throw new UsageError(`Two addresses in "${context}": ${q(s.local)} and ${q(v)}`);
    s.local = v;
    s.family ??= p.family;
  }
  if (s.local === undefined) throw new UsageError(`Missing address in "${context}": expected ${context} PREFIX dev NAME`);
  if (s.spec.dev === undefined) throw new UsageError(`Missing "dev NAME" in "${context}" (ip: "dev" argument is required)`);
  const spec = { ...s.spec, address: s.local } as AddressSpec & { flags: string[] };
  if (!spec.flags.length) delete (spec as { flags?: string[] }).flags;
  if (spec.label !== undefined && (!spec.label.startsWith(String(spec.dev)) || new TextEncoder().encode(spec.label).length > 15)) {
    throw new UsageError(`Invalid label ${q(spec.label)}: must start with the device name ${q(String(spec.dev))} and fit 15 bytes`);
  }
  const del = context.endsWith("delete") || context.endsWith("del");
  addressFromSpec(spec, 0, del); // the library's own checks (scope, lifetimes, broadcast, flags), still no syscall
  return { spec, warnings: addressSpecWarnings(spec, del ? "delete" : "create") };
}

const MODE_OF: Readonly<Record<string, AddressMode>> = { add: "create", change: "change", replace: "replace", delete: "delete" };
/** Whether `verb` (a canonical command word, as ipVerb returns it) is one of the modify commands {@link addressOp} takes. */
export function isAddressModify(verb: string): boolean {
  return Object.hasOwn(MODE_OF, verb);
}

const MODE_FLAGS: Readonly<Record<AddressMode, number>> = {
  create: NLM_F.CREATE | NLM_F.EXCL, change: NLM_F.REPLACE, replace: NLM_F.CREATE | NLM_F.REPLACE, delete: 0,
};

/**
 * Validates `addr add|change|replace|delete` words (from `words[from]`) and returns the op: run
 * alone, or pipelined by `tunkit batch` (an added address has an exact undo: the same address
 * deleted).
 *
 * @example
 * ```ts
 * import { addressOp } from "./addr-add.ts";
 * import type { Ctx } from "./context.ts";
 * declare const ctx: Ctx;
 * await ctx.perform(addressOp(ctx, "add", ["192.0.2.1/24", "dev", "tun0"]));
 * ```
 */
export function addressOp(ctx: Ctx, verb: string, words: readonly string[], from = 0, family?: number): Op {
  const mode = MODE_OF[verb === "del" ? "delete" : verb];
  if (mode === undefined) throw new UsageError(`Unknown addr command ${q(verb)}`);
  const { spec, warnings } = planAddress(words, `addr ${verb}`, from, family);
  const dev = spec.dev as string;
  let body: (w: ByteWriter) => void = () => {};
  let warned = false;
  const warn = () => {
    if (warned) return;
    warned = true;
    for (const m of warnings) ctx.sinks.stderr(m + "\n");
  };
  const op: Op = {
    // Alone: the warnings first, then the same request a batch sends, over the bare socket.
    run: () => {
      warn();
      return ctx.runRequest(op.request!);
    },
    lean: true,
    request: {
      devs: [dev],
      build(index) {
        warn();
        const a = addressFromSpec(spec, index(dev), mode === "delete");
        body = (w) => encodeAddress(w, a);
        const op = mode === "delete" ? "delete address" : mode === "create" ? "add address" : `${mode} address`;
        return { type: mode === "delete" ? RTM.DELADDR : RTM.NEWADDR, flags: MODE_FLAGS[mode], body, op, subject: spec.address };
      },
      // An added address did not exist before (NLM_F_EXCL): deleting it undoes it.
      undo: mode === "create" ? () => ({ type: RTM.DELADDR, flags: 0, body, op: "undo add address", subject: spec.address }) : undefined,
    },
  };
  return op;
}

/** ip's command words of `address`, in do_ipaddr's order. */
export const ADDR_VERBS: ReadonlyArray<readonly [string, boolean, string]> = [
  ["add", true, "add"], ["change", true, "change"], ["chg", false, "change"], ["replace", true, "replace"],
  ["delete", true, "delete"], ["list", true, "list"], ["show", true, "list"], ["lst", true, "list"],
  ["flush", true, "flush"], ["save", true, "save"], ["showdump", true, "showdump"], ["restore", true, "restore"], ["help", true, "help"],
];
