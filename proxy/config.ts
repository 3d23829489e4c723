/**
 * The options of `tunkit socks` / `tunkit http`, described once ({@link TUNNEL_OPTIONS}): the
 * command line is built from this table, and so is the config file (`--config FILE`), so every
 * option can be written in either place under the same name.
 *
 * The config file is TOML (parsed by smol-toml, a small, maintained TOML 1.0 parser without
 * dependencies). Why TOML: it is made for hand-written configuration — comments, no
 * significant indentation, and types that cannot be guessed wrong (YAML turns `no`, `0755` or
 * `1e3` into values nobody wrote; JSON has no comments). A file holds flat keys named like the
 * long options, plus `device` for the tun:
 *
 * ```toml
 * device = "tun0"
 * proxy = "socks5://192.0.2.2:1080"
 * address = ["198.18.0.1/30", "fd54:4b::1/126"]
 * auto-route = true
 * dns = "fake-ip"
 * log-level = "info"
 * ```
 *
 * An unknown key, or a value of the wrong type, is refused with its path (`exclude[1]`). Values
 * on the command line win over the file's. Everything is validated afterwards by the same code
 * as the command line (cli/socks.ts planTunnelCli).
 *
 * @module
 */
import { parse, stringify, TomlError } from "smol-toml";
import { UsageError } from "../common/errors.ts";

/** The kinds of value an option takes. */
export type OptionType = "string" | "number" | "bool" | "list";

/** One option of the tunnel commands. */
export interface TunnelOptionSpec {
  /** Long name without dashes, also the config key ("auto-route"). */
  name: string;
  type: OptionType;
  /** Commander's argument placeholder ("<url>"); absent for bool. */
  arg?: string;
  help: string;
  /** Allowed words for a string option. */
  choices?: readonly string[];
  /** Not listed in --help (testing aids). */
  hidden?: boolean;
  /** A one-letter alias ("-v" counts as `log-level = "debug"`: see the CLI). */
  short?: string;
}

/**
 * Every option of `tunkit socks` and `tunkit http`, in help order. `proxy` is required (on the
 * command line or in the file).
 *
 * @example
 * ```ts
 * import { TUNNEL_OPTIONS } from "./config.ts";
 * TUNNEL_OPTIONS.find((o) => o.name === "auto-route")?.type; // "bool"
 * ```
 */
export const TUNNEL_OPTIONS: readonly TunnelOptionSpec[] = [
  { name: "proxy", type: "string", arg: "<url>", help: "the proxy: socks5://[user:pass@]host:port or http://[user:pass@]host:port" },
  { name: "address", type: "list", arg: "<cidr...>", help: "addresses for the device (e.g. 198.18.0.1/30, fd54:4b::1/126); created if missing" },
  { name: "mtu", type: "number", arg: "<n>", help: "MTU (default 9000 on a device created here)" },
  { name: "dns", type: "string", arg: "<mode>", choices: ["fake-ip", "tcp"], help: "fake-ip: answer from 198.18.0.0/15 (AAAA: fdfe:dcba:9876::/48), names go to the proxy; tcp: forward DNS over TCP (default over an HTTP proxy)" },
  { name: "fake-ip-pool", type: "string", arg: "<cidr>", help: "fake-ip pool (default 198.18.0.0/15)" },
  { name: "fake-ip6-pool", type: "string", arg: "<cidr>", help: "IPv6 fake-ip pool for AAAA, routed into the tun (default fdfe:dcba:9876::/48; needs an IPv6 --address)" },
  { name: "auto-route", type: "bool", help: "route everything into the tun (table + policy rules), DNS hijacked, the proxy kept out; removed on exit" },
  { name: "exclude", type: "list", arg: "<cidr...>", help: "with --auto-route: prefixes that must not enter the tun" },
  { name: "table", type: "number", arg: "<n>", help: "with --auto-route: routing table (default 8484)" },
  { name: "rule-priority", type: "number", arg: "<n>", help: "with --auto-route: priority of the first rule (default 8484; 6 are used)" },
  { name: "fwmark", type: "number", arg: "<mark>", help: "SO_MARK on the tunnel's own sockets (proxy, relay); with --auto-route a rule sends marked traffic around the tun (default 0x54 with --auto-route)" },
  { name: "bind-interface", type: "string", arg: "<ifname>", help: "send the tunnel's own sockets out of this interface (SO_BINDTODEVICE)" },
  { name: "include-uid", type: "list", arg: "<uids...>", help: "with --auto-route: only these users' traffic enters the tun (1000, 1000-1999)" },
  { name: "exclude-uid", type: "list", arg: "<uids...>", help: "with --auto-route: these users' traffic stays out of the tun" },
  { name: "connect-timeout", type: "number", arg: "<ms>", help: "deadline for the proxy's connect and handshake (default 10000)" },
  { name: "udp-timeout", type: "number", arg: "<s>", help: "idle timeout of a UDP flow (default 60)" },
  { name: "tcp-idle-timeout", type: "number", arg: "<s>", help: "close a TCP flow idle this long in both directions (default 300, 0: never)" },
  { name: "max-sessions", type: "number", arg: "<n>", help: "refuse new flows (TCP RST, ICMP for UDP) beyond this many at once (default 0: no limit but the fds)" },
  { name: "health-interval", type: "number", arg: "<s>", help: "probe the proxy's handshake this often while running (default 30, 0: never)" },
  { name: "exit-on-proxy-down", type: "number", arg: "<s>", help: "exit 1 once the proxy has failed its handshake this long (default 0: keep waiting)" },
  { name: "log-level", type: "string", arg: "<level>", choices: ["error", "warn", "info", "debug"], help: "error, warn, info (default) or debug (a line per flow; -v is the same)" },
  { name: "pidfile", type: "string", arg: "<file>", help: "write the process id here (removed on exit)" },
  { name: "up", type: "string", arg: "<command>", help: "run this shell command once the tunnel is in place (TUNKIT_DEV, TUNKIT_KIND, TUNKIT_TABLE in its environment); failing, it stops the tunnel" },
  { name: "down", type: "string", arg: "<command>", help: "run this shell command before the tunnel is taken down" },
  { name: "relay", type: "string", arg: "<relay>", choices: ["bun", "splice"], help: "TCP relay: bun (Bun's sockets; the default, or TUNKIT_RELAY's) or splice (tunkit's own sockets, bulk bytes moved by splice(2))" },
  { name: "metrics", type: "string", arg: "<addr>", help: "serve Prometheus metrics on 127.0.0.1:PORT, [::1]:PORT or unix:/PATH" },
  { name: "impair", type: "string", arg: "<spec>", hidden: true, help: "testing: loss=F,reorder=F[,seed=N] on the tun path" },
];

/** Option values by long name: strings (numbers as text, like on a command line), booleans, lists. */
export type TunnelOptionValues = Record<string, string | boolean | string[] | undefined>;

/** A parsed config file: the device (if given) and the options. */
export interface TunnelConfig {
  device?: string;
  options: TunnelOptionValues;
}

const byName = new Map(TUNNEL_OPTIONS.map((o) => [o.name, o]));

/**
 * Parses a config file's text. Throws {@link UsageError} naming the file, the line for a
 * syntax error, and the key's path for an unknown key or a wrong type.
 *
 * @example
 * ```ts
 * import { parseTunnelConfig } from "./config.ts";
 * parseTunnelConfig('device = "tun0"\nproxy = "socks5://192.0.2.2:1080"\nmtu = 1500\nauto-route = true\n', "t.toml");
 * // { device: "tun0", options: { proxy: "socks5://192.0.2.2:1080", mtu: "1500", "auto-route": true } }
 * ```
 */
export function parseTunnelConfig(text: string, file: string): TunnelConfig {
  const bad = (why: string) => new UsageError(`Invalid config "${file}": ${why}`);
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) throw bad(`line ${e.line}, column ${e.column}: ${e.message.split("\n")[0]}`);
    throw bad((e as Error).message);
  }
  const out: TunnelConfig = { options: {} };
  for (const [key, value] of Object.entries(doc)) {
    if (key === "device") {
      if (typeof value !== "string") throw bad(`key "device" must be a string`);
      out.device = value;
      continue;
    }
    const spec = byName.get(key);
    if (!spec) throw bad(`unknown key "${key}"${suggest(key)}`);
    out.options[key] = configValue(spec, value, key, bad);
  }
  return out;
}

function suggest(key: string): string {
  const k = key.replace(/_/g, "-").toLowerCase();
  if (k !== key && byName.has(k)) return ` (did you mean "${k}"?)`;
  if (key.includes(".") || key.includes("[")) return "";
  return "";
}

function configValue(spec: TunnelOptionSpec, v: unknown, path: string, bad: (why: string) => UsageError): string | boolean | string[] {
  const scalar = (x: unknown, p: string): string => {
    if (spec.type === "number" || spec.type === "list") {
      if (typeof x === "number" || typeof x === "bigint") return String(x);
    }
    if (typeof x === "string") return x;
    if (x !== null && typeof x === "object" && !Array.isArray(x)) throw bad(`key "${p}" must be ${spec.type === "number" ? "a number" : "a string"}, not a table (keys are flat: ${TUNNEL_OPTIONS[0]!.name} = ...)`);
    throw bad(`key "${p}" must be ${spec.type === "number" ? "a number" : "a string"}`);
  };
  if (spec.type === "bool") {
    if (typeof v !== "boolean") throw bad(`key "${path}" must be true or false`);
    return v;
  }
  if (spec.type === "list") {
    const xs = Array.isArray(v) ? v : [v];
    return xs.map((x, i) => scalar(x, Array.isArray(v) ? `${path}[${i}]` : path));
  }
  const s = scalar(v, path);
  if (spec.choices && !spec.choices.includes(s)) throw bad(`key "${path}" must be one of ${spec.choices.join(", ")}, not "${s}"`);
  return s;
}

/**
 * Merges a config's options with the command line's (those given win) and returns the effective
 * values in table order.
 *
 * @example
 * ```ts
 * import { mergeTunnelOptions } from "./config.ts";
 * mergeTunnelOptions({ mtu: "1500", dns: "tcp" }, { mtu: "9000" }); // { mtu: "9000", dns: "tcp" }
 * ```
 */
export function mergeTunnelOptions(file: TunnelOptionValues, cli: TunnelOptionValues): TunnelOptionValues {
  const out: TunnelOptionValues = {};
  for (const o of TUNNEL_OPTIONS) {
    const v = cli[o.name] !== undefined ? cli[o.name] : file[o.name];
    if (v !== undefined) out[o.name] = v;
  }
  return out;
}

/**
 * The effective configuration as a config file (what `--print-config` prints): `device`, then
 * every option that has a value, numbers as numbers.
 *
 * @example
 * ```ts
 * import { formatTunnelConfig } from "./config.ts";
 * formatTunnelConfig("tun0", { proxy: "socks5://192.0.2.2:1080", mtu: "1500" });
 * // 'device = "tun0"\nproxy = "socks5://192.0.2.2:1080"\nmtu = 1500\n'
 * ```
 */
export function formatTunnelConfig(device: string | undefined, values: TunnelOptionValues): string {
  const doc: Record<string, unknown> = {};
  if (device !== undefined) doc.device = device;
  for (const o of TUNNEL_OPTIONS) {
    const v = values[o.name];
    if (v === undefined) continue;
    doc[o.name] = o.type === "number" && typeof v === "string" && /^(0x[0-9a-f]+|\d+)$/i.test(v) ? Number(v) : v;
  }
  const text = stringify(doc);
  return text.endsWith("\n") ? text : text + "\n";
}
