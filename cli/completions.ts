/**
 * `tunkit completions bash|zsh|fish`: shell completion scripts generated from the command tree
 * itself (so they never drift from the commands), plus the `ip`-style keywords of the word
 * tails and live values (interface names, tun devices, named namespaces) read from /sys and
 * /run/netns when the user presses TAB.
 *
 * @module
 */
import { Command, Argument } from "@commander-js/extra-typings";
import { UsageError } from "../common/errors.ts";
import type { Ctx } from "./context.ts";

/** Keywords of a command's word tail (`route add … dev via metric`), for completion. */
const WORDS = new WeakMap<object, readonly string[]>();
/** What a command's first positional argument names: a tun device or any interface. */
const FIRST_ARG = new WeakMap<object, "tun" | "iface">();

/**
 * Records the keywords a command accepts after its arguments, for the completion scripts.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import { setCompletionWords } from "./completions.ts";
 * const cmd = new Command("add");
 * setCompletionWords(cmd, ["dev", "via", "metric"], "iface");
 * ```
 */
export function setCompletionWords(cmd: object, words: readonly string[], firstArg?: "tun" | "iface"): void {
  WORDS.set(cmd, words);
  if (firstArg) FIRST_ARG.set(cmd, firstArg);
}

/** One node of the tree as the scripts see it. */
interface Node {
  /** "" for the root, "route", "route add". */
  path: string;
  name: string;
  description: string;
  subs: Node[];
  options: string[];
  words: readonly string[];
  firstArg?: "tun" | "iface";
}

function walk(cmd: Command, prefix: string): Node {
  const name = prefix ? cmd.name() : "";
  const path = prefix ? `${prefix === "-" ? "" : prefix + " "}${cmd.name()}` : "";
  const options: string[] = [];
  for (const o of cmd.options) {
    if (o.short) options.push(o.short);
    if (o.long) options.push(o.long);
  }
  options.push("--help");
  return {
    path,
    name,
    description: cmd.description(),
    subs: cmd.commands.map((c) => walk(c as unknown as Command, path || "-")),
    options,
    words: WORDS.get(cmd) ?? [],
    firstArg: FIRST_ARG.get(cmd),
  };
}

function flatten(n: Node, out: Node[] = []): Node[] {
  out.push(n);
  for (const s of n.subs) flatten(s, out);
  return out;
}

const GLOBAL_OPTS = ["--json", "-n", "--netns", "-q", "--quiet", "--help"];

function wordsOf(n: Node): string {
  return [...n.subs.map((s) => s.name), ...n.words].join(" ");
}

function optsOf(n: Node): string {
  return [...new Set([...n.options, ...GLOBAL_OPTS])].join(" ");
}

/**
 * The bash script: `source <(tunkit completions bash)`.
 *
 * @example
 * ```ts
 * import { bashScript } from "./completions.ts";
 * // bashScript(program) starts with "# bash completion for tunkit"
 * ```
 */
export function bashScript(root: Command): string {
  const nodes = flatten(walk(root, ""));
  const withSubs = nodes.filter((n) => n.subs.length && n.path).map((n) => n.path);
  const cases = nodes
    .map((n) => {
      const extra = n.firstArg === "tun" ? ' $(_tunkit_tuns)' : n.firstArg === "iface" ? " $(_tunkit_ifaces)" : "";
      const first = n.firstArg ? `((npos == 0)) && words="$words${extra}"; ` : "";
      return `    "${n.path}") words="${wordsOf(n)}"; opts="${optsOf(n)}"; ${first};;`;
    })
    .join("\n");
  return `# bash completion for tunkit                                -*- shell-script -*-
# Load with:  source <(tunkit completions bash)
# or install: tunkit completions bash | sudo tee /etc/bash_completion.d/tunkit
_tunkit_ifaces() { local d; for d in /sys/class/net/*; do [[ -e $d ]] && printf '%s\\n' "\${d##*/}"; done; }
_tunkit_tuns() { local d; for d in /sys/class/net/*; do [[ -e $d/tun_flags ]] && printf '%s\\n' "\${d##*/}"; done; }
_tunkit_netns() { local d; for d in /run/netns/*; do [[ -e $d ]] && printf '%s\\n' "\${d##*/}"; done; }
_tunkit() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=""
  ((COMP_CWORD > 0)) && prev=\${COMP_WORDS[COMP_CWORD-1]}
  COMPREPLY=()
  case $prev in
    -n|--netns) COMPREPLY=($(compgen -W "$(_tunkit_netns)" -- "$cur")); return 0 ;;
    dev) COMPREPLY=($(compgen -W "$(_tunkit_ifaces)" -- "$cur")); return 0 ;;
    completions) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")); return 0 ;;
    batch) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
  esac
  local path="" i w npos=0
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=\${COMP_WORDS[i]}
    case $w in
      -n|--netns) ((i++)); continue ;;
      -*) continue ;;
    esac
    if [[ -z $path ]]; then path=$w
    else
      case "$path" in
        ${withSubs.map((p) => `"${p}"`).join("|") || '""'}) path="$path $w" ;;
        *) ((npos++)) ;;
      esac
    fi
  done
  local words="" opts=""
  case "$path" in
${cases}
  esac
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
  return 0
}
complete -F _tunkit tunkit
`;
}

/**
 * The zsh script: `source <(tunkit completions zsh)`, or save as `_tunkit` in $fpath.
 *
 * @example
 * ```ts
 * import { zshScript } from "./completions.ts";
 * // zshScript(program) starts with "#compdef tunkit"
 * ```
 */
export function zshScript(root: Command): string {
  const nodes = flatten(walk(root, ""));
  const withSubs = nodes.filter((n) => n.subs.length && n.path).map((n) => `"${n.path}"`);
  const cases = nodes
    .map((n) => {
      const descs = n.subs.map((s) => `'${s.name}:${s.description.replace(/'/g, "'\\''").replace(/:/g, "\\:")}'`).join(" ");
      const extra = n.firstArg === "tun" ? "_tunkit_tuns" : n.firstArg === "iface" ? "_tunkit_ifaces" : "";
      return `    "${n.path}") subs=(${descs}); kw=(${n.words.join(" ")}); opts=(${optsOf(n)}); first=${extra || '""'} ;;`;
    })
    .join("\n");
  return `#compdef tunkit
# zsh completion for tunkit. Load with: source <(tunkit completions zsh)
# or save as _tunkit in a directory of $fpath.
_tunkit_ifaces() { local d; for d in /sys/class/net/*(N); do print -r -- \${d:t}; done; }
_tunkit_tuns() { local d; for d in /sys/class/net/*(N); do [[ -e $d/tun_flags ]] && print -r -- \${d:t}; done; }
_tunkit_netns() { local d; for d in /run/netns/*(N); do print -r -- \${d:t}; done; }
_tunkit() {
  local prev=\${words[CURRENT-1]} cur=\${words[CURRENT]}
  case $prev in
    -n|--netns) compadd -- $(_tunkit_netns); return ;;
    dev) compadd -- $(_tunkit_ifaces); return ;;
    completions) compadd bash zsh fish; return ;;
    batch) _files; return ;;
  esac
  local path="" w npos=0 i
  for ((i = 2; i < CURRENT; i++)); do
    w=\${words[i]}
    case $w in
      -n|--netns) ((i++)); continue ;;
      -*) continue ;;
    esac
    if [[ -z $path ]]; then path=$w
    else
      case "$path" in
        ${withSubs.join("|") || '""'}) path="$path $w" ;;
        *) ((npos++)) ;;
      esac
    fi
  done
  local -a subs kw opts
  local first=""
  case "$path" in
${cases}
  esac
  if [[ $cur == -* ]]; then compadd -- $opts; return; fi
  (( \${#subs} )) && _describe -t commands 'tunkit command' subs
  (( \${#kw} )) && compadd -- $kw
  [[ -n $first ]] && (( npos == 0 )) && compadd -- $($first)
  return 0
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _tunkit "$@"; else compdef _tunkit tunkit; fi
`;
}

/**
 * The fish script: `tunkit completions fish > ~/.config/fish/completions/tunkit.fish`.
 *
 * @example
 * ```ts
 * import { fishScript } from "./completions.ts";
 * // fishScript(program) contains "complete -c tunkit"
 * ```
 */
export function fishScript(root: Command): string {
  const top = walk(root, "");
  const lines = [
    "# fish completion for tunkit: tunkit completions fish > ~/.config/fish/completions/tunkit.fish",
    "complete -c tunkit -f",
    "complete -c tunkit -l json -d 'print listings as JSON'",
    "complete -c tunkit -s n -l netns -x -a '(path basename /run/netns/*)' -d 'act inside a named network namespace'",
    "complete -c tunkit -s q -l quiet -d 'print nothing but listings and errors'",
    "complete -c tunkit -s V -l version -d 'print the version'",
    "complete -c tunkit -s h -l help -d 'show help'",
    "complete -c tunkit -n '__fish_seen_argument -w dev' -n 'test (commandline -opc)[-1] = dev' -x -a '(path basename /sys/class/net/*)'",
  ];
  const q = (s: string) => `'${s.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
  const topNames = top.subs.map((s) => s.name).join(" ");
  for (const c of top.subs) {
    lines.push(`complete -c tunkit -n "not __fish_seen_subcommand_from ${topNames}" -a ${c.name} -d ${q(c.description)}`);
    const subNames = c.subs.map((s) => s.name).join(" ");
    for (const s of c.subs) {
      lines.push(`complete -c tunkit -n "__fish_seen_subcommand_from ${c.name}; and not __fish_seen_subcommand_from ${subNames}" -a ${s.name} -d ${q(s.description)}`);
      if (s.words.length) lines.push(`complete -c tunkit -n "__fish_seen_subcommand_from ${c.name}; and __fish_seen_subcommand_from ${s.name}" -a ${q(s.words.join(" "))}`);
    }
    if (c.words.length) lines.push(`complete -c tunkit -n "__fish_seen_subcommand_from ${c.name}" -a ${q(c.words.join(" "))}`);
    if (c.firstArg === "tun") lines.push(`complete -c tunkit -n "__fish_seen_subcommand_from ${c.name}" -a '(for d in /sys/class/net/*; test -e $d/tun_flags; and path basename $d; end)'`);
    if (c.name === "completions") lines.push(`complete -c tunkit -n "__fish_seen_subcommand_from completions" -a 'bash zsh fish'`);
    if (c.name === "batch") lines.push(`complete -c tunkit -n "__fish_seen_subcommand_from batch" -F`);
    for (const o of c.options) {
      if (o === "--help") continue;
      if (o.startsWith("--")) lines.push(`complete -c tunkit -n "__fish_seen_subcommand_from ${c.name}" -l ${o.slice(2)}`);
    }
  }
  return lines.join("\n") + "\n";
}

/**
 * The `completions` command.
 *
 * @example
 * ```ts
 * import { Command } from "@commander-js/extra-typings";
 * import type { Ctx } from "./context.ts";
import { completionsCommand } from "./completions.ts";
 * declare const ctx: Ctx;
 * new Command("tunkit").addCommand(completionsCommand(ctx));
 * ```
 */
export function completionsCommand(ctx: Ctx) {
  const cmd = new Command("completions")
    .description("print a shell completion script (bash, zsh or fish)")
    .addArgument(new Argument("<shell>", "bash, zsh or fish"))
    .addHelpText(
      "after",
      `
Examples:
  source <(tunkit completions bash)                               # this shell
  tunkit completions bash | sudo tee /etc/bash_completion.d/tunkit
  tunkit completions zsh > "\${fpath[1]}/_tunkit"
  tunkit completions fish > ~/.config/fish/completions/tunkit.fish`,
    )
    .action((shell) => {
      let root: Command = cmd as unknown as Command;
      while (root.parent) root = root.parent as Command;
      const table: Record<string, (c: Command) => string> = { bash: bashScript, zsh: zshScript, fish: fishScript };
      const make = Object.hasOwn(table, shell) ? table[shell] : undefined;
      if (!make) throw new UsageError(`Unknown shell "${shell}": expected bash, zsh or fish`);
      const text = make(root);
      return ctx.perform({ run: () => ctx.sinks.stdout(text) });
    });
  return cmd;
}
