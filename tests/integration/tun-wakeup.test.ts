/**
 * No lost wake-up: a reader that goes idle (EAGAIN, then asks for a wake-up) while another
 * process keeps sending must always be woken. A second process plays ping-pong through the tun
 * with bursts of 1–3 datagrams and random pauses (none, a microtask, a timer), so datagrams land
 * in every part of the reader's drain/arm window. Both wake-up paths are held to it: SIGIO on
 * the JS thread (Bun's default) and the epoll helper thread (`TUNKIT_POLLER=epoll`).
 *
 * A lost wake-up shows two ways, neither a timing: on the epoll path the round never completes
 * (the sender's 10 s guard counts a stall and resends, so the test ends); on the SIGIO path the
 * 1 s backstop delivers it and counts it in `signalWakeStats().lost`. Both must stay 0.
 */
import { expect } from "bun:test";
import { spawn } from "node:child_process";
import { openTun } from "../../tun/mod.ts";
import { signalWakeStats, TOGGLE_FOR } from "../../ffi/poller.ts";
import { buildIcmpEcho } from "../../packet/build.ts";
import { itest, sh } from "./_ns.ts";

const ROUNDS = 3000;

/** The sender: ROUNDS rounds of 1–3 datagrams to 198.51.100.2:9, each waiting for as many replies. */
const SENDER = `
const dgram = require("node:dgram");
const N = ${ROUNDS};
let seed = 12345;
const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16);
const s = dgram.createSocket("udp4");
const payload = Buffer.alloc(32, 7);
let round = 0, want = 0, sent = 0, stalls = 0, guard;
function send() {
  for (let i = 0; i < want; i++) { s.send(payload, 9, "198.51.100.2"); sent++; }
  guard = setTimeout(() => { stalls++; send(); }, 10000);
}
function next() {
  if (round++ >= N) { console.log(JSON.stringify({ rounds: N, sent, stalls })); s.close(); return; }
  want = 1 + (rand() % 3);
  send();
}
s.on("message", () => {
  if (--want > 0) return;
  clearTimeout(guard);
  const r = rand() % 4;
  if (r === 0) setTimeout(next, 0); else if (r === 1) queueMicrotask(next); else if (r === 2) setImmediate(next); else next();
});
s.bind(0, "198.51.100.1", next);
`;

/** A tun `name` with 198.51.100.1/24, up. */
function upTun(name: string): ReturnType<typeof openTun> {
  const dev = openTun({ name });
  sh("ip", "addr", "add", "198.51.100.1/24", "dev", name);
  sh("ip", "link", "set", name, "up");
  return dev;
}

async function pingPong(name: string, poller: "signal" | "epoll"): Promise<{ rounds: number; sent: number; stalls: number; replies: number }> {
  const dev = upTun(name);
  if (poller === "epoll") process.env.TUNKIT_POLLER = "epoll";
  const ac = new AbortController();
  let replies = 0;
  const loop = dev.listen(
    (b, n) => {
      if (n < 28 || b[0] !== 0x45 || b[9] !== 17) return;
      // Swap addresses and ports (sums: the checksums stay valid) and write it back in.
      for (let i = 0; i < 4; i++) {
        const a = b[12 + i]!;
        b[12 + i] = b[16 + i]!;
        b[16 + i] = a;
      }
      for (let i = 0; i < 2; i++) {
        const p = b[20 + i]!;
        b[20 + i] = b[22 + i]!;
        b[22 + i] = p;
      }
      dev.write(b, 0, n);
      replies++;
    },
    { signal: ac.signal },
  );
  // The watcher is made on the first arm, which listen() has done by now.
  await new Promise((r) => setTimeout(r, 20));
  delete process.env.TUNKIT_POLLER;
  const child = spawn(process.execPath, ["-e", SENDER], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += String(d)));
  const code = await new Promise<number | null>((r) => child.on("exit", r));
  ac.abort();
  await loop;
  dev.close();
  expect(code).toBe(0);
  return { ...(JSON.parse(out) as { rounds: number; sent: number; stalls: number }), replies };
}

itest(
  "SIGIO path: 3,000 ping-pong rounds with bursts and pauses from another process, every datagram answered, no stall, no wake-up left to the backstop",
  async () => {
    const lost0 = signalWakeStats()?.lost ?? 0;
    expect(signalWakeStats()).toBeDefined(); // Bun: the tun queue is woken by SIGIO
    const r = await pingPong("tkwake0", "signal");
    expect(r.rounds).toBe(ROUNDS);
    expect(r.stalls).toBe(0);
    expect(r.replies).toBe(r.sent);
    expect(signalWakeStats()!.lost - lost0).toBe(0);
    expect(signalWakeStats()!.signals).toBeGreaterThan(0);
  },
  120_000,
);

itest(
  "epoll helper-thread path (TUNKIT_POLLER=epoll): the same 3,000 rounds, no stall",
  async () => {
    const r = await pingPong("tkwake1", "epoll");
    expect(r.rounds).toBe(ROUNDS);
    expect(r.stalls).toBe(0);
    expect(r.replies).toBe(r.sent);
  },
  120_000,
);

/**
 * A queue kept busy across event-loop turns (bulk TCP through the tunnel: each turn's socket
 * writes bring segments straight back through the tun) must not take a wake-up per burst: with
 * listen()'s recheck the loop reads again after one turn and arms only when that finds nothing.
 * An in-process producer sends one datagram into the tun per turn (setImmediate); the signals
 * taken are counted with the recheck on and off (the control: about one per datagram).
 */
async function busyTurns(name: string, recheck: boolean): Promise<{ got: number; signals: number }> {
  const N = 2000;
  const dev = upTun(name);
  const ac = new AbortController();
  let got = 0;
  const loop = dev.listen((b, n) => {
    if (n >= 28 && b[0] === 0x45 && b[9] === 17) got++;
  }, { signal: ac.signal, recheck });
  await new Promise((r) => setTimeout(r, 20));
  const sock = await Bun.udpSocket({});
  const payload = new Uint8Array(32);
  const s0 = signalWakeStats()!.signals;
  let sent = 0;
  await new Promise<void>((resolve) => {
    const step = () => {
      if (sent === N) return resolve();
      sock.send(payload, 9, "198.51.100.2");
      sent++;
      setImmediate(step);
    };
    step();
  });
  for (let i = 0; i < 200 && got < N; i++) await new Promise((r) => setTimeout(r, 10));
  const signals = signalWakeStats()!.signals - s0;
  sock.close();
  ac.abort();
  await loop;
  dev.close();
  expect(got).toBe(N);
  return { got, signals };
}

itest(
  "SIGIO path: a queue busy on every event-loop turn takes (almost) no signal with listen()'s recheck, about one per datagram without",
  async () => {
    const on = await busyTurns("tkwake2", true);
    const off = await busyTurns("tkwake3", false);
    expect(off.signals).toBeGreaterThan(500); // the control: a wake-up per turn
    expect(on.signals).toBeLessThan(100);
  },
  60_000,
);

/**
 * TunQueue.kick(): a caller that writes a packet whose answer the kernel queues on the tun within
 * that write (tun2socks: a flow's first data and FIN to the accepted socket) wakes the waiting
 * reader itself, so the answer raises no signal. Echo requests to the tun's own address, each
 * written from outside listen() (setImmediate) after the last reply was read: with kick() the
 * replies take no signal, without it one each (the control).
 */
async function echoRounds(name: string, kick: boolean, poller: "signal" | "epoll" = "signal"): Promise<{ replies: number; signals: number }> {
  const N = 500;
  const dev = openTun({ name });
  if (poller === "epoll") process.env.TUNKIT_POLLER = "epoll";
  sh("ip", "addr", "add", "198.51.100.1/24", "dev", name);
  sh("ip", "link", "set", name, "up");
  const ac = new AbortController();
  let replies = 0;
  let done: () => void = () => {};
  const finished = new Promise<void>((r) => (done = r));
  const send = (seq: number) => {
    if (kick) dev.kick();
    dev.write(buildIcmpEcho({ src: "198.51.100.2", dst: "198.51.100.1", id: 7, seq, payload: 16 }));
  };
  const loop = dev.listen((b, n) => {
    // an echo reply (type 0) to 198.51.100.2
    if (n < 28 || b[0] !== 0x45 || b[9] !== 1 || b[20] !== 0) return;
    if (++replies === N) done();
    else setImmediate(() => send(replies));
  }, { signal: ac.signal, recheck: false });
  await new Promise((r) => setTimeout(r, 20));
  delete process.env.TUNKIT_POLLER;
  const s0 = signalWakeStats()!.signals;
  send(0);
  await Promise.race([finished, new Promise((r) => setTimeout(r, 20_000))]);
  const signals = signalWakeStats()!.signals - s0;
  ac.abort();
  await loop;
  dev.close();
  return { replies, signals };
}

itest(
  "SIGIO path: kick() before a write whose answer comes straight back through the tun: the answer is read without a signal (control: one signal per answer without kick)",
  async () => {
    const on = await echoRounds("tkwake4", true);
    const off = await echoRounds("tkwake5", false);
    expect(on.replies).toBe(500);
    expect(off.replies).toBe(500);
    expect(off.signals).toBeGreaterThan(250);
    expect(on.signals).toBeLessThan(25);
  },
  60_000,
);

itest(
  "epoll helper-thread path: kick() cancels the pending wake-up and every echo reply is read (no stall)",
  async () => {
    const r = await echoRounds("tkwake6", true, "epoll");
    expect(r.replies).toBe(500);
    expect(r.signals).toBe(0);
  },
  60_000,
);

/**
 * Query/answer traffic (tun2socks' UDP row: one datagram per wake-up, the next one a while after
 * the answer): the signal-driven wake-up leaves O_ASYNC on across wake-ups (no fcntl to switch
 * it off and on, no poll() per wake-up), and after a few rechecks that found nothing a lone
 * packet's batch waits at once (no empty read after an event-loop turn). Another process sends
 * one datagram at a time and the next 1 ms after each answer.
 */
/**
 * A client in another process: `n` datagrams to 198.51.100.2:9, one at a time, the next `gapMs`
 * after each answer (0: at once, from the answer's callback); prints {"got": n} at the end.
 */
function queryClient(n: number, gapMs: number): string {
  return `
const dgram = require("node:dgram");
const N = ${n};
const s = dgram.createSocket("udp4");
const payload = Buffer.alloc(32, 7);
let got = 0, guard;
const send = () => { s.send(payload, 9, "198.51.100.2"); guard = setTimeout(send, 5000); };
s.on("message", () => {
  clearTimeout(guard);
  if (++got === N) { console.log(JSON.stringify({ got })); s.close(); return; }
  ${gapMs > 0 ? `setTimeout(send, ${gapMs});` : "send();"}
});
s.bind(0, "198.51.100.1", send);
`;
}

/** Turns a UDP/IPv4 datagram read from the tun into its answer in place (addresses and ports swapped); false for anything else. */
function answerUdp(b: Uint8Array, n: number): boolean {
  if (n < 28 || b[0] !== 0x45 || b[9] !== 17) return false;
  for (let i = 0; i < 4; i++) [b[12 + i], b[16 + i]] = [b[16 + i]!, b[12 + i]!];
  for (let i = 0; i < 2; i++) [b[20 + i], b[22 + i]] = [b[22 + i]!, b[20 + i]!];
  return true;
}

/** Runs `script` under this runtime in a child process; resolves with its stdout once it exited 0. */
async function runClient(script: string): Promise<string> {
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += String(d)));
  expect(await new Promise<number | null>((r) => child.on("exit", r))).toBe(0);
  return out;
}

itest(
  "SIGIO path: one datagram per wake-up (query/answer): O_ASYNC is not switched per wake-up and a lone packet's batch stops rechecking (about 1 empty read per round, not 2)",
  async () => {
    const dev = upTun("tkwake7");
    const ac = new AbortController();
    let replies = 0;
    const loop = dev.listen((b, n) => {
      if (!answerUdp(b, n)) return;
      dev.write(b, 0, n);
      replies++;
    }, { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 20));
    const s0 = signalWakeStats()!;
    const e0 = dev.emptyReads;
    const out = await runClient(queryClient(300, 1));
    const s1 = signalWakeStats()!;
    const empty = dev.emptyReads - e0;
    ac.abort();
    await loop;
    dev.close();
    expect(JSON.parse(out).got).toBe(300);
    expect(replies).toBe(300);
    expect(s1.lost - s0.lost).toBe(0);
    expect(s1.signals - s0.signals).toBeGreaterThan(150); // woken by signals, mostly one per datagram
    // before: 2 switches per wake-up (off before reading, on when it waits) and 2 empty reads.
    // A wasted signal (under load the reader may find its packet before the signal comes) puts
    // the fd back to switching for TOGGLE_FOR wake-ups, 2 switches each: only those may switch.
    const wasted = s1.wasted - s0.wasted;
    expect(s1.switches - s0.switches).toBeLessThanOrEqual(2 * TOGGLE_FOR * wasted + 30);
    expect(empty).toBeLessThan(300 * 1.3);
    expect(empty).toBeGreaterThanOrEqual(300 * 0.9);
  },
  60_000,
);

/**
 * TunQueue.expect(): a reader that has just written an answer whose client asks again at once
 * (tun2socks' UDP query/answer row) waits for the next query in a blocking epoll_wait on the tun
 * and the event loop's own epoll fd (ffi/poller.ts Linger), the tun's signal off: the query wakes
 * it without a signal. Another process sends the next datagram as soon as each answer comes;
 * the control reads the same traffic without expect() (about one signal per datagram). A timer
 * set while the reader lingers still fires, and the loop's own events (the child's exit, its
 * stdout) end a linger.
 */
async function atOnce(name: string, expectNext: boolean): Promise<{ got: number; replies: number; signals: number; ticks: number }> {
  const dev = upTun(name);
  const ac = new AbortController();
  let replies = 0;
  const loop = dev.listen((b, n) => {
    if (!answerUdp(b, n)) return;
    dev.write(b, 0, n);
    replies++;
    if (expectNext) dev.expect();
  }, { signal: ac.signal, lingerUs: 1000 });
  await new Promise((r) => setTimeout(r, 20));
  const s0 = signalWakeStats()!;
  let ticks = 0;
  const iv = setInterval(() => ticks++, 5);
  const out = await runClient(queryClient(500, 0));
  clearInterval(iv);
  const s1 = signalWakeStats()!;
  ac.abort();
  await loop;
  dev.close();
  expect(s1.lost - s0.lost).toBe(0);
  return { got: (JSON.parse(out) as { got: number }).got, replies, signals: s1.signals - s0.signals, ticks };
}

itest(
  "SIGIO path: expect() after each answer: the next query is read without a signal (control: about one signal per query without it); timers still fire",
  async () => {
    const on = await atOnce("tkwake8", true);
    const off = await atOnce("tkwake9", false);
    expect(on.got).toBe(500);
    expect(on.replies).toBe(500);
    expect(off.got).toBe(500);
    expect(off.signals).toBeGreaterThan(250); // the control
    expect(on.signals).toBeLessThan(100);
    expect(on.ticks).toBeGreaterThan(0);
  },
  60_000,
);
