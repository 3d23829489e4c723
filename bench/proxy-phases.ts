/**
 * Where the time of one short connection goes, tunkit against hev-socks5-tunnel: the same
 * topology as bench/proxy.ts (microsocks), N sequential connections through each daemon, a
 * tcpdump on every interface of the client namespace (the tun and the veth to the proxy), and
 * per connection the moments of its phases, relative to the client's SYN:
 *
 *   syn-ack   the client's SYN-ACK (out of the tun)
 *   p-syn     the daemon's SYN to the proxy
 *   p-synack  the proxy's SYN-ACK (the daemon's connect is done)
 *   p-greet   the SOCKS5 greeting on its way to the proxy
 *   p-method  the proxy's method reply
 *   p-conn    the CONNECT request on its way to the proxy
 *   p-ready   the proxy's last handshake answer (the SOCKS5 CONNECT reply)
 *   req       the client's request (into the tun)
 *   p-req     the request on its way to the proxy
 *   p-resp    the first response bytes from the proxy
 *   resp      the first response bytes out of the tun to the client
 *   fin       the client's FIN; next: the client's next SYN
 *
 * Medians in µs. tcpdump costs CPU beside both daemons alike: phases, not throughput.
 *
 *   HEV_SOCKS5_TUNNEL=/path/to/hev-socks5-tunnel bun bench/proxy-phases.ts [--n 300]
 *   (TUNKIT_BIN: the binary measured; TUNKIT_REF_BIN: a second tunkit in hev's place)
 */
import net from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { Topology, Proc, sh, SERVER_V4, PROXY_V4 } from "../tests/fixtures/proxy/topology.ts";
import { median, reexecInNetns, root } from "./lib.ts";

const PORT = 1080;
const REQUEST = Buffer.from(`GET /small HTTP/1.1\r\nHost: ${SERVER_V4}\r\nConnection: close\r\n\r\n`);

function request(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: SERVER_V4, port: 80 });
    let got = 0;
    s.once("connect", () => s.write(REQUEST));
    s.on("data", (d: Uint8Array) => (got += d.length));
    s.on("error", reject);
    s.on("end", () => s.end());
    s.on("close", () => (got > 0 ? resolve() : reject(new Error("empty response"))));
  });
}

interface Pkt {
  t: number;
  dev: string;
  src: string;
  dst: string;
  flags: string;
  len: number;
}

function parse(text: string): Pkt[] {
  const out: Pkt[] = [];
  // 1700000000.123456 tk0   Out IP 198.18.0.1.40000 > 198.51.100.2.80: Flags [S], seq 1, win 64240, ..., length 0
  const re = /^(\d+\.\d+) (\S+)\s+\S+\s+IP6? (\S+) > (\S+): Flags \[([^\]]*)\].*length (\d+)/;
  for (const line of text.split("\n")) {
    const m = re.exec(line);
    if (m) out.push({ t: Number(m[1]) * 1e6, dev: m[2]!, src: m[3]!, dst: m[4]!.replace(/:$/, ""), flags: m[5]!, len: Number(m[6]) });
  }
  return out;
}

/** Phases of each connection through `dev` (the tun) and the proxy veth, in capture order. */
function phases(pk: Pkt[], dev: string): Record<string, number[]> {
  const tun = pk.filter((p) => p.dev === dev);
  const px = pk.filter((p) => p.dev === "tkc0" && (p.dst.endsWith(`.${PORT}`) || p.src.endsWith(`.${PORT}`)));
  const conns = new Map<string, Pkt[]>();
  for (const p of tun) {
    const client = p.dst.endsWith(".80") ? p.src : p.dst;
    if (!conns.has(client)) conns.set(client, []);
    conns.get(client)!.push(p);
  }
  const pconns = new Map<string, Pkt[]>();
  for (const p of px) {
    const c = p.dst.endsWith(`.${PORT}`) ? p.src : p.dst;
    if (!pconns.has(c)) pconns.set(c, []);
    pconns.get(c)!.push(p);
  }
  const cl = [...conns.values()].filter((c) => c[0]!.flags === "S");
  const pl = [...pconns.values()].filter((c) => c[0]!.flags === "S");
  const r: Record<string, number[]> = {};
  const put = (k: string, v: number | undefined) => {
    if (v === undefined || !Number.isFinite(v)) return;
    (r[k] ??= []).push(v);
  };
  // sequential: a client connection's proxy connection is the first one opened after its SYN
  let j = 0;
  for (let i = 0; i < cl.length; i++) {
    const c = cl[i]!;
    const t0 = c[0]!.t;
    while (j < pl.length && pl[j]![0]!.t < t0) j++;
    const p = pl[j];
    const toClient = (q: Pkt) => q.src.endsWith(".80");
    put("syn-ack", c.find((q) => toClient(q) && q.flags.includes("S"))?.t! - t0);
    put("req", c.find((q) => !toClient(q) && q.len > 0)?.t! - t0);
    put("resp", c.find((q) => toClient(q) && q.len > 0)?.t! - t0);
    put("fin", c.find((q) => !toClient(q) && q.flags.includes("F"))?.t! - t0);
    put("next", cl[i + 1] ? cl[i + 1]![0]!.t - t0 : undefined);
    if (i === 50 && process.argv.includes("--trace")) {
      const all = [...c, ...(p ?? [])].sort((a, b) => a.t - b.t);
      for (const q of all) console.error(`${dev} ${(q.t - t0).toFixed(0).padStart(6)} ${q.dev} ${q.src} > ${q.dst} [${q.flags}] ${q.len}`);
    }
    if (p) {
      const fromProxy = (q: Pkt) => q.src.endsWith(`.${PORT}`);
      put("p-syn", p[0]!.t - t0);
      const pin = p.filter((q) => fromProxy(q) && q.len > 0);
      const pout = p.filter((q) => !fromProxy(q) && q.len > 0);
      put("p-synack", p.find((q) => fromProxy(q) && q.flags.includes("S"))?.t! - t0);
      put("p-greet", pout[0]?.t! - t0);
      put("p-method", pin[0]?.t! - t0);
      put("p-conn", pout[1]?.t! - t0);
      // the daemon's own steps, per connection: each answer of the proxy to the daemon's next write
      const sa = p.find((q) => fromProxy(q) && q.flags.includes("S"));
      if (sa && pout[0]) put("d: connect done -> greeting", pout[0].t - sa.t);
      if (pin[0] && pout[1]) put("d: method reply -> CONNECT", pout[1].t - pin[0].t);
      if (pin[1] && pout[2]) put("d: CONNECT reply -> request", pout[2].t - pin[1].t);
      // SOCKS5: greeting, CONNECT (out); method reply, CONNECT reply (in); then the request
      put("p-ready", pin[1]?.t! - t0);
      put("p-req", pout[2]?.t! - t0);
      put("p-resp", pin[2]?.t! - t0);
    }
  }
  return r;
}

if (import.meta.main && !reexecInNetns()) {
  const n = Number(process.argv[process.argv.indexOf("--n") + 1]) || 300;
  const hev = process.env.TUNKIT_REF_BIN ?? process.env.HEV_SOCKS5_TUNNEL;
  if (!hev) throw new Error("HEV_SOCKS5_TUNNEL (or TUNKIT_REF_BIN) is needed");
  const bin = process.env.TUNKIT_BIN ?? join(root, "dist/tunkit");
  const t = new Topology("phases");
  const procs: Proc[] = [];
  try {
    t.up();
    await t.startServer(1 << 20);
    await t.startMicrosocks(PORT);
    const tk = new Proc([bin, "socks", "tk0", "--proxy", `socks5://${PROXY_V4}:${PORT}`, "--address", "198.18.0.1/30"]);
    procs.push(tk);
    await tk.waitFor(/ready/, 15_000);
    let h: Proc;
    if (process.env.TUNKIT_REF_BIN) {
      h = new Proc([hev, "socks", "tkh0", "--proxy", `socks5://${PROXY_V4}:${PORT}`, "--address", "198.18.1.1/30"]);
      procs.push(h);
      await h.waitFor(/ready/, 15_000);
    } else {
      const conf = join(t.dir, "hev.yml");
      writeFileSync(conf, `tunnel:\n  name: tkh0\n  mtu: 8500\n  ipv4: 198.18.1.1\nsocks5:\n  port: ${PORT}\n  address: ${PROXY_V4}\nmisc:\n  log-level: error\n`);
      h = new Proc([hev, conf]);
      procs.push(h);
      for (let i = 0; i < 100 && spawnSync("ip", ["link", "show", "tkh0"]).status !== 0; i++) await Bun.sleep(50);
      sh("ip", "link", "set", "tkh0", "up");
    }
    const rows: Record<string, Record<string, number[]>> = {};
    for (const [label, dev] of [["tunkit", "tk0"], ["ref", "tkh0"], ["tunkit", "tk0"], ["ref", "tkh0"]] as const) {
      sh("ip", "route", "replace", "198.51.100.0/24", "dev", dev);
      for (let i = 0; i < 20; i++) await request(); // warm
      const cap = new Proc(["tcpdump", "-i", "any", "-n", "-tt", "-l", "-s", "96", "tcp"]);
      await cap.waitFor(/listening/, 5000, "err");
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await request();
      const ms = performance.now() - t0;
      await Bun.sleep(300);
      cap.kill("SIGINT");
      await cap.exited;
      const ph = phases(parse(cap.out), dev);
      const acc = (rows[label] ??= {});
      for (const [k, v] of Object.entries(ph)) (acc[k] ??= []).push(...v);
      (acc["conn/s"] ??= []).push(n / (ms / 1000));
    }
    const keys = ["syn-ack", "p-syn", "p-synack", "p-greet", "p-method", "p-conn", "p-ready", "req", "p-req", "p-resp", "resp", "fin", "next", "conn/s",
      "d: connect done -> greeting", "d: method reply -> CONNECT", "d: CONNECT reply -> request"];
    console.log(`${"phase (µs from the client's SYN)".padEnd(36)} ${"tunkit".padStart(8)} ${"ref".padStart(8)}`);
    for (const k of keys) {
      const a = rows.tunkit?.[k] ?? [];
      const b = rows.ref?.[k] ?? [];
      console.log(`${k.padEnd(36)} ${(a.length ? median(a).toFixed(0) : "-").padStart(8)} ${(b.length ? median(b).toFixed(0) : "-").padStart(8)}   (n ${a.length}/${b.length})`);
    }
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => Promise.race([p.exited, Bun.sleep(3000)])));
    await t.down();
  }
}
