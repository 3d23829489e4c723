// The splice relay (proxy/fd-relay.ts) in-process over loopback: a SOCKS5 "proxy" made here
// (node:net) that plays the destination too, the relay's own listener, and clients on node:net.
// Bytes intact both ways with a checksum, half-close, a reset from the far end, many flows at
// once, handshake refusals, and no fd or pipe left behind.
import { afterAll, expect, test } from "bun:test";
import net from "node:net";
import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import { FdRelay, pipeStats } from "../../proxy/fd-relay.ts";
import { DEFAULT_RELAY, NativeRelay, useRelay, type NativeSocket, type RelayFlow, type RelayHost } from "../../proxy/tcp-relay.ts";
import { parseTunnelConfig } from "../../proxy/config.ts";
import { spawnSync } from "node:child_process";
import { Socks5Dialer } from "../../proxy/socks5.ts";
import { parseProxyUrl } from "../../proxy/url.ts";
import type { ProxyError } from "../../proxy/dial.ts";
import { sys } from "../../ffi/libc.ts";
import { EPOLL } from "../../ffi/abi.ts";
import { sigPoll, sigPollAvailable } from "../../ffi/sigpoll.ts";
import { pattern } from "../fixtures/proxy/pattern.ts";
import { until } from "../fixtures/proxy/until.ts";
import { scriptedSocks5 } from "../fixtures/proxy/socks5-script.ts";

const sha = (b: Uint8Array | Buffer) => createHash("sha256").update(b).digest("hex");

// Scenarios, chosen by the target port the SOCKS5 request names.
const BULK = 1; // server sends DOWN bytes, hashes what it gets, answers with nothing; both end
const ECHO_AFTER_FIN = 2; // server collects until the client's FIN, then sends the sha256 and ends
const RESET = 3; // server resets the connection after the first bytes it gets
const REFUSE = 4; // SOCKS5 reply 5 (connection refused)
const HEAD = 5; // reply + "hello" in one write, then echoes until FIN

const DOWN = 24 << 20;
const downBytes = pattern(DOWN, 7);
const serverGot = new Map<number, string>();

const proxy = scriptedSocks5((s) => {
  let mode = 0;
  const chunks: Buffer[] = [];
  return {
    request(req) {
      mode = req.readUInt16BE(8);
      if (mode === REFUSE) {
        s.end(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
        return false;
      }
      const ok = Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0, 0]);
      if (mode === HEAD) s.write(Buffer.concat([ok, Buffer.from("hello")]));
      else s.write(ok);
      if (mode === BULK) s.write(downBytes);
    },
    data(d) {
      if (mode === RESET) {
        s.resetAndDestroy();
        return;
      }
      if (mode === HEAD) s.write(d);
      else chunks.push(d);
    },
    end() {
      const all = Buffer.concat(chunks);
      if (mode === BULK) {
        serverGot.set(s.remotePort!, sha(all));
        s.end();
      } else if (mode === ECHO_AFTER_FIN) s.end(sha(all));
      else if (mode === HEAD) s.end();
    },
  };
});
await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
const proxyPort = (proxy.address() as net.AddressInfo).port;
const dialer = new Socks5Dialer(parseProxyUrl(`socks5://127.0.0.1:${proxyPort}`, "socks5"));

interface Flow extends RelayFlow {
  n: number;
  up: number;
  down: number;
  fins: boolean[];
  upErrors: string[];
  closed: number;
  readyP: Promise<void>;
  failP: Promise<ProxyError>;
}

/** A relay with a host that records everything, flows matched to accepts in dial order. */
function setup() {
  const pending: Flow[] = [];
  const flows: Flow[] = [];
  const ready = new Map<Flow, () => void>();
  const failed = new Map<Flow, (e: ProxyError) => void>();
  const host: RelayHost = {
    ready: (f) => ready.get(f as Flow)!(),
    failed: (f, e) => failed.get(f as Flow)!(e),
    accept: (_s: NativeSocket) => pending.shift(),
    bytes: (f, up, n) => {
      if (up) (f as Flow).up += n;
      else (f as Flow).down += n;
    },
    upError: (f, code) => (f as Flow).upErrors.push(code),
    fin: (f, client) => (f as Flow).fins.push(client),
    closed: (f) => (f as Flow).closed++,
    localData: () => {},
  };
  const relay = new FdRelay(host, 5000);
  const l = relay.listen("127.0.0.1", 0);
  /** Dials through the proxy to scenario `mode`, waits for ready, then connects a client. */
  async function open(mode: number): Promise<{ f: Flow; c: net.Socket }> {
    const f = { phase: 0, deadline: 0, who: "SOCKS5 proxy", where: `127.0.0.1:${proxyPort}`, n: flows.length, up: 0, down: 0, fins: [], upErrors: [], closed: 0 } as unknown as Flow;
    f.readyP = new Promise((r) => ready.set(f, r));
    f.failP = new Promise((r) => failed.set(f, r));
    flows.push(f);
    relay.dial(f, "127.0.0.1", proxyPort, dialer.handshake({ host: "127.0.0.1", port: mode }));
    const r = await Promise.race([f.readyP.then(() => "ready"), f.failP.then(() => "failed")]);
    if (r !== "ready") throw new Error(`flow ${f.n} failed: ${(await f.failP).message}`);
    pending.push(f);
    const c = net.connect({ host: "127.0.0.1", port: l.port, allowHalfOpen: true });
    await new Promise<void>((r2) => c.once("connect", () => r2()));
    return { f, c };
  }
  return { relay, l, open, flows, failedOf: (f: Flow) => f.failP };
}

const fdCount = () => readdirSync("/proc/self/fd").length;

afterAll(() => proxy.close());

test("the relay: --relay / relay = (useRelay) over TUNKIT_RELAY, over the default; an unknown name refused", () => {
  const saved = process.env.TUNKIT_RELAY;
  try {
    delete process.env.TUNKIT_RELAY;
    expect(NativeRelay.kind()).toBe(DEFAULT_RELAY);
    process.env.TUNKIT_RELAY = "splice";
    expect(NativeRelay.kind()).toBe("splice");
    useRelay("bun");
    expect(NativeRelay.kind()).toBe("bun");
    process.env.TUNKIT_RELAY = "bun";
    useRelay("splice");
    expect(NativeRelay.kind()).toBe("splice");
    expect(() => useRelay("fast" as "bun")).toThrow('Unknown relay "fast": expected bun or splice');
  } finally {
    useRelay(undefined);
    if (saved === undefined) delete process.env.TUNKIT_RELAY;
    else process.env.TUNKIT_RELAY = saved;
  }
});

test("relay = in the config file: bun or splice, anything else refused naming the key; --print-config shows it; --relay fast is exit 2", () => {
  expect(parseTunnelConfig('relay = "splice"\n', "r.toml").options.relay).toBe("splice");
  expect(() => parseTunnelConfig('relay = "fast"\n', "r.toml")).toThrow('Invalid config "r.toml": key "relay" must be one of bun, splice, not "fast"');
  expect(() => parseTunnelConfig("relay = 1\n", "r.toml")).toThrow('key "relay" must be a string');
  const main = new URL("../../cli/main.ts", import.meta.url).pathname;
  const base = ["socks", "tk0", "--proxy", "socks5://192.0.2.2:1080", "--address", "198.18.0.1/30"];
  const shown = spawnSync(process.execPath, [main, ...base, "--relay", "splice", "--print-config"], { encoding: "utf8" });
  expect(shown.status).toBe(0);
  expect(shown.stdout).toContain('relay = "splice"\n');
  const bad = spawnSync(process.execPath, [main, ...base, "--relay", "fast"], { encoding: "utf8" });
  expect(bad.status).toBe(2);
  expect(bad.stderr.trim().split("\n")).toHaveLength(1);
  expect(bad.stderr).toContain("fast");
  expect(bad.stderr).toContain("bun, splice");
});

test("FdRelay is what NativeRelay makes with TUNKIT_RELAY=splice (Bun), and only then", () => {
  const host = {} as RelayHost;
  const saved = process.env.TUNKIT_RELAY;
  try {
    process.env.TUNKIT_RELAY = "splice";
    expect(NativeRelay.kind()).toBe("splice");
    expect(new NativeRelay(host, 1000)).toBeInstanceOf(FdRelay);
    delete process.env.TUNKIT_RELAY;
    expect(NativeRelay.kind()).toBe("bun");
    expect(new NativeRelay(host, 1000)).not.toBeInstanceOf(FdRelay);
  } finally {
    if (saved === undefined) delete process.env.TUNKIT_RELAY;
    else process.env.TUNKIT_RELAY = saved;
  }
});

test("24 MiB each way at once, intact (SHA-256 on both ends), counted, then both FINs close the flow", async () => {
  const { open, l } = setup();
  const { f, c } = await open(BULK);
  const upBytes = pattern(24 << 20, 99);
  const got: Buffer[] = [];
  c.on("data", (d: Buffer) => got.push(d));
  const ended = new Promise<void>((r) => c.on("end", () => r()));
  const closed = new Promise<void>((r) => c.on("close", () => r()));
  c.end(upBytes);
  await ended;
  await closed;
  await until(() => f.closed === 1);
  expect(sha(Buffer.concat(got))).toBe(sha(downBytes));
  await until(() => serverGot.size > 0);
  expect([...serverGot.values()]).toContain(sha(upBytes));
  expect(f.up).toBe(upBytes.length);
  expect(f.down).toBe(DOWN);
  expect(f.fins.length).toBe(2);
  expect(f.upErrors).toEqual([]);
  expect(pipeStats.inUse).toBe(0);
  l.stop();
}, 60_000);

test("half-close: the client's FIN reaches the server, whose answer still comes back after it", async () => {
  const { open, l } = setup();
  const { f, c } = await open(ECHO_AFTER_FIN);
  const msg = pattern(300_000, 3);
  let answer = "";
  c.on("data", (d: Buffer) => (answer += d.toString()));
  const ended = new Promise<void>((r) => c.on("end", () => r()));
  c.end(msg);
  await ended;
  expect(answer).toBe(sha(msg));
  await until(() => f.closed === 1);
  expect(f.fins[0]).toBe(true); // the client's FIN came first
  expect(f.down).toBe(64);
  c.destroy();
  l.stop();
});

test("the proxy's first bytes after its reply (in the same segment) reach the client first", async () => {
  const { open, l } = setup();
  const { f, c } = await open(HEAD);
  let text = "";
  c.on("data", (d: Buffer) => (text += d.toString()));
  const ended = new Promise<void>((r) => c.on("end", () => r()));
  c.end("world");
  await ended;
  expect(text).toBe("helloworld");
  await until(() => f.closed === 1);
  c.destroy();
  l.stop();
});

test("a reset from the far end: upError, the client gets a RST, the flow closes once", async () => {
  const { open, l } = setup();
  const { f, c } = await open(RESET);
  const err = new Promise<string>((r) => c.on("error", (e: Error & { code?: string }) => r(e.code ?? e.message)));
  const closed = new Promise<void>((r) => c.on("close", () => r()));
  c.write("boom");
  // keep writing until the RST arrives (the reset reaches us once the server has read)
  const iv = setInterval(() => c.writable && c.write("x"), 20);
  await closed;
  clearInterval(iv);
  expect(await err).toBe("ECONNRESET");
  await until(() => f.closed === 1);
  expect(f.upErrors.length).toBe(1);
  expect(["ECONNRESET", "EPIPE"]).toContain(f.upErrors[0]!);
  l.stop();
});

test("a SOCKS5 refusal and a closed port fail the flow with their reasons, nothing opened", async () => {
  const { relay } = setup();
  const host = "127.0.0.1";
  for (const [port, target, reason] of [[proxyPort, REFUSE, "refused"], [1, 80, "unreachable"]] as const) {
    const f = { phase: 0, deadline: 0, who: "SOCKS5 proxy", where: `${host}:${port}`, fins: [], closed: 0 } as unknown as Flow;
    const failed = new Promise<ProxyError>((r) => {
      (relay as unknown as { host: RelayHost }).host.failed = (_f, e) => r(e);
    });
    relay.dial(f, host, port, dialer.handshake({ host, port: target }));
    const e = await failed;
    expect(e.reason).toBe(reason);
    expect(f.phase).toBe(4);
  }
});

test("200 flows at once, each intact; afterwards no fd and no pipe left but the pool's", async () => {
  const before = fdCount();
  const { open, l } = setup();
  const opened: Array<{ f: { closed: number }; c: net.Socket }> = [];
  for (let i = 0; i < 200; i++) opened.push(await open(ECHO_AFTER_FIN));
  const results = await Promise.all(
    opened.map(({ c }, i) => {
      const msg = pattern(10_000 + i * 97, i + 11);
      let answer = "";
      c.on("data", (d: Buffer) => (answer += d.toString()));
      return new Promise<boolean>((r) => {
        c.on("close", () => r(answer === sha(msg)));
        c.end(msg);
      });
    }),
  );
  expect(results.filter(Boolean).length).toBe(200);
  await until(() => opened.every(({ f }) => f.closed === 1));
  l.stop();
  expect(pipeStats.inUse).toBe(0);
  // what is left: at most the idle pipe pool (16 pipes, 2 fds each)
  await until(() => fdCount() <= before + 32);
});

test("accepted sockets inherit TCP_NODELAY from the listener", async () => {
  const { open, l } = setup();
  const { f, c } = await open(ECHO_AFTER_FIN);
  await until(() => f.cs !== undefined); // the client's connect can complete before the relay's accept
  const fd = (f.cs as unknown as { fd: number }).fd;
  expect(sys.getsockoptInt(fd, 6, 1)).not.toBe(0);
  c.end();
  await until(() => f.closed === 1);
  l.stop();
});

test("signal-driven readiness (the default under Bun): every wake-up above came from a signal, none from the 1 s backstop", () => {
  if (!sigPollAvailable()) return; // the run on the helper thread's path (TUNKIT_POLLER=epoll or TUNKIT_RELAY_WAKE=epoll)
  const p = sigPoll();
  expect(p.signals).toBeGreaterThan(100);
  expect(p.delivered).toBeGreaterThan(500);
  expect(p.lost).toBe(0);
});

test("a proxy that accepts and never answers: the flow fails at its deadline with a timeout, its socket closed", async () => {
  const silent = net.createServer((s) => s.on("error", () => {}));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
  const port = (silent.address() as net.AddressInfo).port;
  let err: ProxyError | undefined;
  const relay = new FdRelay({ failed: (_f: RelayFlow, e: ProxyError) => void (err = e) } as unknown as RelayHost, 200);
  const f = { phase: 0, deadline: 0, who: "SOCKS5 proxy", where: `127.0.0.1:${port}` } as RelayFlow;
  const t0 = performance.now();
  relay.dial(f, "127.0.0.1", port, dialer.handshake({ host: "127.0.0.1", port: 80 }));
  await until(() => err !== undefined, 5000);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  expect(err!.reason).toBe("timeout");
  expect(err!.message).toBe("SOCKS5 proxy did not finish the handshake within 200 ms");
  expect(f.phase).toBe(4);
  expect(f.us).toBeUndefined();
  relay.close();
  silent.close();
});

test("a disarmed watch takes no wake-up for what arrives meanwhile; arm() again delivers it", async () => {
  if (!sigPollAvailable()) return; // the helper thread's path: ffi/poller.ts's own tests cover disarm()
  const { makePipe } = await import("../../ffi/splice.ts");
  const [r, w] = makePipe();
  let calls = 0;
  const watch = sigPoll().watch(r, () => void calls++);
  try {
    watch.arm();
    watch.disarm();
    expect(watch.armed).toBe(false);
    sys.write(w, new Uint8Array([1]));
    await new Promise((res) => setTimeout(res, 1500)); // past the 1 s backstop's tick too
    expect(calls).toBe(0);
    watch.arm();
    await until(() => calls === 1, 5000);
    expect(calls).toBe(1);
  } finally {
    watch.close();
    sys.close(r);
    sys.close(w);
  }
});

test("accept4 at the open-files limit (prlimit --nofile 64): a back-off every 100 ms, not a busy loop, one log line with the hint; accepting again once fds free up", async () => {
  const { spawn } = await import("node:child_process");
  const root = new URL("../..", import.meta.url).pathname;
  // The child fills its fd table once its listener is up; the connections made meanwhile wait
  // in the backlog until it frees 20 fds a second later.
  const child = `
    import { openSync, closeSync } from "node:fs";
    import { FdRelay } from "${root}proxy/fd-relay.ts";
    let accepted = 0;
    const relay = new FdRelay({ accept: () => void accepted++, error: (line, kind) => console.error(kind + ": " + line) }, 1000);
    const l = relay.listen("127.0.0.1", 0);
    const fds = [];
    try { for (;;) fds.push(openSync("/dev/null", "r")); } catch {}
    console.log("full " + l.port);
    await new Promise((r) => setTimeout(r, 1000));
    const starved = relay.acceptBackoffs;
    for (const fd of fds.splice(0, 20)) closeSync(fd);
    const t0 = Date.now();
    while (accepted < 5 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
    console.log(JSON.stringify({ starved, backoffs: relay.acceptBackoffs, accepted }));
    process.exit(0);
  `;
  const p = spawn("prlimit", ["--nofile=64:64", process.execPath, "-e", child], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    p.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /full (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    p.on("exit", () => reject(new Error(`child exited early: ${out} ${err}`)));
  });
  const clients = Array.from({ length: 5 }, () => net.connect({ host: "127.0.0.1", port }).on("error", () => {}));
  const code = await new Promise<number | null>((r) => p.on("exit", (c) => r(c)));
  for (const c of clients) c.destroy();
  expect(code).toBe(0);
  const r = JSON.parse(out.trim().split("\n").pop()!) as { starved: number; backoffs: number; accepted: number };
  // about 10 back-offs in the second the table was full; a busy loop makes thousands
  expect(r.starved).toBeGreaterThanOrEqual(3);
  expect(r.starved).toBeLessThanOrEqual(30);
  expect(r.accepted).toBe(5);
  const lines = err.split("\n").filter((x) => x.startsWith("emfile: "));
  expect(lines).toEqual([
    "emfile: accept: this process's open-files limit is reached (EMFILE): new connections wait in the listen backlog, retried every 100 ms (raise LimitNOFILE= / ulimit -n, or set --max-sessions)",
  ]);
}, 20_000);

test("a quiet watch raises no signal (no O_ASYNC) and is found by the look a poke asks for, within the turn", async () => {
  if (!sigPollAvailable()) return; // the helper thread's path watches every fd itself
  const { makePipe } = await import("../../ffi/splice.ts");
  const [r, w] = makePipe();
  const p = sigPoll();
  let got = 0;
  const watch = p.watch(r, (ev) => void (got = ev), true);
  try {
    const F_GETFL = 3;
    const O_ASYNC = 0o20000;
    expect(sys.fcntl(r, F_GETFL) & O_ASYNC).toBe(0);
    watch.arm();
    await new Promise((res) => setTimeout(res, 20)); // the new watch's own look is done
    expect(got).toBe(0);
    sys.write(w, new Uint8Array([1]));
    p.poke();
    await Promise.resolve(); // the poke's look is the microtask queued before this one
    await Promise.resolve();
    expect(got & EPOLL.IN).toBe(EPOLL.IN);
  } finally {
    watch.close();
    sys.close(r);
    sys.close(w);
  }
});

test("EPOLLRDHUP comes with EPOLLIN once the peer's FIN is queued, so a short read never hides an EOF", async () => {
  if (!sigPollAvailable()) return; // the helper thread's path reports no EPOLLRDHUP (the relay then reads to EAGAIN)
  const { listenTcp, acceptTcp } = await import("../../ffi/splice.ts");
  const l = listenTcp("127.0.0.1", 0);
  const c = net.connect({ host: "127.0.0.1", port: l.port, allowHalfOpen: true }).on("error", () => {});
  await new Promise((r) => c.once("connect", r));
  const peer = { address: "", port: 0 };
  let fd = -1;
  await until(() => (fd = acceptTcp(l.fd, peer)) >= 0);
  let got = 0;
  const w = sigPoll().watch(fd, (ev) => void (got = ev));
  const buf = new Uint8Array(4096);
  try {
    w.arm(EPOLL.IN);
    c.write("abc");
    await until(() => got !== 0);
    expect(got & (EPOLL.IN | EPOLL.RDHUP)).toBe(EPOLL.IN); // bytes, no FIN yet
    expect(sys.read(fd, buf, 4096)).toBe(3); // short: emptied
    got = 0;
    w.arm(EPOLL.IN);
    c.end("de");
    await until(() => got !== 0);
    expect(got & (EPOLL.IN | EPOLL.RDHUP)).toBe(EPOLL.IN | EPOLL.RDHUP); // the FIN is queued behind the bytes
    expect(sys.read(fd, buf, 4096)).toBe(2);
    expect(sys.read(fd, buf, 4096)).toBe(0);
  } finally {
    w.close();
    sys.close(fd);
    sys.close(l.fd);
    c.destroy();
  }
});
