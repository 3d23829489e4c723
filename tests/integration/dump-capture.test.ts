// `tunkit dump`: attach and sniff modes, hex output, pcap written for tcpdump and read from it,
// tap devices, SIGINT, bad input. Each file runs in its own throwaway netns.
import { describe, expect, beforeAll, afterAll } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { closeSync, constants, openSync, readdirSync, readFileSync, readSync, rmSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dgram from "node:dgram";
import { readPcap } from "../../mod.ts";
import { raw, sys, SOCK } from "../../ffi/libc.ts";
import { itest, needing, ipLink, makeDevice } from "./_ns.ts";
import { Bg, bg, root, tunkit, allPrintable, waitAttached, waitSniffing, until } from "./dump-cli.ts";

const { ptest } = needing("dump-capture", ["ping", "tcpdump"]);
const traced = needing("dump-capture (strace)", ["strace", "tcpdump"]);
const IF = "tkdump0";
const TAP = "tkdtap0";
const dir = mkdtempSync(join(tmpdir(), "tkdump-"));

function ping(...args: string[]): string {
  const r = spawnSync("ping", args, { encoding: "utf8", timeout: 15_000 });
  return r.stdout + r.stderr;
}

/** tcpdump -nn -r FILE: the packet lines (header line dropped) */
function tcpdumpRead(file: string, ...extra: string[]): { lines: string[]; header: string } {
  const r = spawnSync("tcpdump", ["-nn", "-r", file, ...extra], { encoding: "utf8", timeout: 15_000, maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`tcpdump -r ${file}: ${r.stderr}`);
  return { lines: r.stdout.trim().split("\n").filter(Boolean), header: r.stderr };
}

/** TX packets of a device: for a tun, the packets its reader has read. */
function txPackets(name: string): number {
  return Number(ipLink(name, ["-s"])?.stats64?.tx?.packets ?? NaN);
}

async function udpSend(msg: string, port: number, to: string, from: string): Promise<void> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, from, () => r()));
  await new Promise<void>((r) => s.send(Buffer.from(msg), port, to, () => r()));
  s.close();
}

/**
 * `n` UDP echo requests (port 7: tunkit echo answers, so both directions cross the tun) of
 * varied sizes, sent as fast as the socket takes them. Bounded by `n`. With `keep`, the socket
 * stays open (the caller closes it): the answers land in it, so no ICMP port unreachable
 * follows them into the tun, and {@link settled} can tell when the traffic is over.
 */
async function udpFlood(n: number, onSent?: (i: number) => void, done?: () => boolean, burst = 1, keep?: (s: dgram.Socket) => void): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "192.0.2.1", () => r()));
  const payloads = Array.from({ length: 64 }, (_, i) => Buffer.alloc((i * 37) % 1400, i));
  let i = 0;
  for (; i < n && !done?.(); i++) {
    // `burst` sends in flight at once (the last one awaited): a faster flood
    if ((i + 1) % burst === 0) await new Promise<void>((r) => s.send(payloads[i % 64]!, 7, "192.0.2.2", () => r()));
    else s.send(payloads[i % 64]!, 7, "192.0.2.2");
    onSent?.(i + 1);
  }
  if (keep) keep(s);
  else s.close();
  return i;
}

/** The counters of a tun that say where its packets are: its qdisc's and the device's own. */
function tunCounters(name: string): { handed: number; queued: number; read: number; lost: number; written: number } {
  const q = JSON.parse(spawnSync("tc", ["-s", "-j", "qdisc", "show", "dev", name], { encoding: "utf8" }).stdout || "[]") as Array<{ root?: boolean; packets: number; qlen: number }>;
  const root = q.find((x) => x.root) ?? q[0];
  const st = ipLink(name, ["-s"])?.stats64;
  return {
    handed: root?.packets ?? NaN, // sent by the qdisc to the device: seen by every packet socket
    queued: root?.qlen ?? NaN, // still in the qdisc (not seen yet)
    read: Number(st?.tx?.packets ?? NaN), // taken by the tun's reader
    lost: Number(st?.tx?.dropped ?? NaN), // dropped by the tun's own queue (after the sockets saw them)
    written: Number(st?.rx?.packets ?? NaN), // written by the reader (echo's answers): seen on the way in
  };
}

/**
 * Resolves once the traffic of an echo flood (sent with `keep`: no ICMP errors behind it, on a
 * device without IPv6) is over for the tun `name`, measured from `base` (tunCounters before the
 * flood): nothing left in the qdisc or in the tun's queue, and every request the echo read
 * answered. From then on no packet crosses the sniffers' sockets, so what they hold can be
 * compared. Rejects after `ms` with the counters.
 */
async function settled(name: string, base: ReturnType<typeof tunCounters>, ms = 30_000): Promise<void> {
  let c = tunCounters(name);
  await until(() => {
    c = tunCounters(name);
    const handed = c.handed - base.handed;
    const read = c.read - base.read;
    return c.queued === 0 && handed === read + (c.lost - base.lost) && c.written - base.written === read;
  }, "the flood's last answer", ms).catch((e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify({ base, now: c })}`);
  });
}

/**
 * Resolves once tcpdump `td` has written every packet its socket was given: it is asked with
 * SIGUSR1 (its "N packets captured, M packets received by filter" line) until the two counts
 * are equal. tcpdump's Ctrl-C does not wait for a part-filled block of its ring (handed over
 * after its 1 s timeout) nor for a block it has not walked yet: stopped before, its file lacks
 * packets that every other socket on the device got (under load, 12 late answers once).
 */
async function tcpdumpCaughtUp(td: Bg, ms = 30_000): Promise<void> {
  const re = /(\d+) packets? captured, (\d+) packets? received by filter/g;
  const t0 = Date.now();
  for (;;) {
    const seen = [...td.stderr.matchAll(re)].length;
    td.kill("SIGUSR1");
    await until(() => [...td.stderr.matchAll(re)].length > seen, "tcpdump's SIGUSR1 counts", ms);
    const last = [...td.stderr.matchAll(re)].pop()!;
    if (last[1] === last[2]) return;
    if (Date.now() - t0 > ms) throw new Error(`tcpdump did not catch up within ${ms / 1000} s: ${last[0]}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Floods `n` datagrams through {@link IF} and resolves once every packet has crossed the sockets
 * ({@link settled}) and tcpdump `td` has written what its socket got ({@link tcpdumpCaughtUp}):
 * the moment to stop the captures. The flood's socket stays open until then (no ICMP port
 * unreachables trailing the replies).
 */
async function floodUntilCaughtUp(n: number, td: Bg): Promise<void> {
  const base = tunCounters(IF);
  let flood: dgram.Socket | undefined;
  await udpFlood(n, undefined, undefined, 1, (s) => (flood = s));
  try {
    await settled(IF, base);
    await tcpdumpCaughtUp(td);
  } finally {
    flood?.close();
  }
}

/**
 * `tunkit dump IF --sniff -w -` (or `--attach`) with its stdout a FIFO whose read end (`rd`, non-blocking) the
 * test holds: read it, or not.
 */
function dumpIntoFifo(name: string, mode: "--sniff" | "--attach" = "--sniff") {
  const fifo = join(dir, `${name}.fifo`);
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  const rd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const wr = openSync(fifo, "w");
  let stderr = "";
  const d = spawn(process.execPath, ["cli/main.ts", "dump", IF, mode, "-w", "-"], { cwd: root, stdio: ["ignore", wr, "pipe"] });
  closeSync(wr);
  d.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
  // "close", not "exit": exit can come before the last of stderr has been read
  const exited = new Promise<number | null>((r) => d.on("close", (code) => r(code)));
  return { rd, d, err: () => stderr, exited };
}

/**
 * Checks what a dump whose `-w -` reader never read says at its stop (the stall line, the
 * written/taken line, the hint; written + not delivered = captured); returns the captured count.
 */
function stallReport(err: string): number {
  const captured = Number(/^(\d+) packets captured$/m.exec(err)?.[1]);
  const m = /^tunkit: Writing "stdout" stalled: nothing written for 5 s, (\d+) packets not delivered$/m.exec(err);
  expect(m).not.toBeNull();
  const written = Number(/^(\d+) packets written to the file \((\d+) taken\)$/m.exec(err)?.[1]);
  expect(written + Number(m![1])).toBe(captured);
  expect(Number(m![1])).toBeGreaterThan(0);
  expect(err).toMatch(/^hint: the program reading the capture stopped reading \(a pipe nobody reads\); it got the \d+ complete packets written before$/m);
  return captured;
}

/** The records of a little-endian pcap file, each as its bytes (16-byte header and data). */
function rawRecords(f: Uint8Array): Uint8Array[] {
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  const out: Uint8Array[] = [];
  for (let o = 24; o + 16 <= f.length; ) {
    const end = o + 16 + v.getUint32(o + 8, true);
    out.push(f.subarray(o, end));
    o = end;
  }
  return out;
}

/**
 * Turns the kernel's shared receive timestamps on while it is held (a socket with
 * SO_TIMESTAMPNS: the kernel then stamps each packet once, and every packet socket reports
 * that stamp, instead of reading the clock per socket).
 */
function sharedTimestamps(): { close(): void } {
  const fd = sys.socket(SOCK.AF_INET, SOCK.SOCK_DGRAM, 0);
  sys.setsockoptInt(fd, SOCK.SOL_SOCKET, 35 /* SO_TIMESTAMPNS */, 1);
  return { close: () => void raw.close(fd) };
}

describe("tunkit dump", () => {
  beforeAll(() => {
    if (!ipLink("lo")) return;
    makeDevice(IF, "tun", ["192.0.2.1/24"], { noIpv6: true });
  });
  afterAll(() => {
    spawnSync("ip", ["link", "del", IF]);
    rmSync(dir, { recursive: true, force: true });
  });

  ptest("attach mode (device free): says so on stderr, prints summaries and the payload bytes in hex", async () => {
    const d = bg(["dump", IF, "-c", "2", "icmp"]);
    await d.waitFor(/attached to tkdump0 as its reader; packets are consumed, not forwarded/);
    ping("-c", "2", "-i", "0.2", "-W", "0.5", "-p", "c0ffee42", "-s", "40", "192.0.2.2");
    expect(await d.exit()).toBe(0);
    const blocks = d.stdout.split(/\n(?=\d\d:\d\d:\d\d\.\d{6} )/);
    expect(blocks.length).toBe(2);
    for (const b of blocks) {
      expect(b).toMatch(/^\d\d:\d\d:\d\d\.\d{6} IP 192\.0\.2\.1 > 192\.0\.2\.2: ICMP echo request, id \d+, seq [12], length 48\n\t0x0000:  4500 0044 /);
      expect(b).toContain("c0ff ee42 c0ff ee42 c0ff ee42 c0ff ee42"); // the -p pattern in the payload, tcpdump -X layout
      expect(b).toContain("...B...B...B...B");
    }
    expect(d.stderr).toContain("2 packets captured");
    expect(d.stderr).not.toContain("dropped by kernel");
    expect(allPrintable(d.stdout + d.stderr)).toBe(true);
  }, 20_000);

  ptest("sniff mode beside tunkit echo: both directions, In and Out; -q drops the hex", async () => {
    const echo = bg(["echo", IF, "-q"]);
    await waitAttached(IF, echo);
    const d = bg(["-q", "dump", IF, "-c", "4"]);
    await waitSniffing(IF, d);
    expect(ping("-c", "2", "-l", "2", "-W", "2", "192.0.2.2")).toContain("2 received");
    expect(await d.exit()).toBe(0);
    echo.kill("SIGINT");
    await echo.exit();
    const lines = d.stdout.trim().split("\n");
    expect(lines.length).toBe(4);
    expect(lines.filter((l) => / Out IP 192\.0\.2\.1 > 192\.0\.2\.2: ICMP echo request/.test(l)).length).toBe(2);
    expect(lines.filter((l) => / In IP 192\.0\.2\.2 > 192\.0\.2\.1: ICMP echo reply/.test(l)).length).toBe(2);
    expect(d.stderr).toMatch(/4 packets captured\n[\s\S]*0 packets dropped by kernel/);
  }, 20_000);

  ptest("-w: the pcap is read by tcpdump -r with the same count, addresses and ports (sniff, beside echo)", async () => {
    const file = join(dir, "w.pcap");
    const echo = bg(["echo", IF, "-q"]);
    await waitAttached(IF, echo);
    const d = bg(["dump", IF, "--sniff", "-c", "6", "-w", file]);
    await d.waitFor(/listening on tkdump0/);
    expect(ping("-c", "2", "-l", "2", "-W", "2", "192.0.2.2")).toContain("2 received");
    await udpSend("hello-port-7", 7, "192.0.2.2", "192.0.2.1");
    expect(await d.exit()).toBe(0);
    echo.kill("SIGINT");
    await echo.exit();
    const { lines, header } = tcpdumpRead(file);
    expect(header).toContain("link-type RAW");
    expect(lines.length).toBe(6);
    expect(lines.filter((l) => /IP 192\.0\.2\.1 > 192\.0\.2\.2: ICMP echo request/.test(l)).length).toBe(2);
    expect(lines.filter((l) => /IP 192\.0\.2\.2 > 192\.0\.2\.1: ICMP echo reply/.test(l)).length).toBe(2);
    const udp = lines.filter((l) => /UDP, length 12/.test(l));
    expect(udp.length).toBe(2);
    const port = /192\.0\.2\.1\.(\d+) > 192\.0\.2\.2\.7: UDP/.exec(udp[0]!)?.[1];
    expect(port).toBeDefined();
    expect(udp[1]).toContain(`192.0.2.2.7 > 192.0.2.1.${port}: UDP, length 12`);
    // and tunkit reads back its own file the same way
    const back = tunkit(["-q", "dump", "-r", file]);
    expect(back.code).toBe(0);
    expect(back.stdout.trim().split("\n").length).toBe(6);
  }, 30_000);

  ptest("sniff -w beside tcpdump -w on the same flood (20,000 echo requests, their replies): the two files are byte for byte the same (the ring written straight to the file)", async () => {
    const mine = join(dir, "same-tk.pcap");
    const theirs = join(dir, "same-td.pcap");
    const ts = sharedTimestamps();
    const echo = bg(["echo", IF, "-q"]);
    try {
      await waitAttached(IF, echo);
      const td = new Bg(spawn("tcpdump", ["-i", IF, "-nn", "-B", "65536", "-w", theirs], { stdio: ["ignore", "pipe", "pipe"] }), ["tcpdump"]);
      // both with a 64 MiB ring: the test compares what they write, not how they cope with overflow
      const d = bg(["dump", IF, "--sniff", "-B", "65536", "-w", mine]);
      await d.waitFor(/listening on tkdump0/);
      await td.waitFor(/listening on tkdump0/);
      // stopped once the flood is over and tcpdump has written all its socket got (its ring
      // hands a part-filled block over after 1 s, and its Ctrl-C does not wait for it)
      await floodUntilCaughtUp(20_000, td);
      d.kill("SIGINT");
      td.kill("SIGINT");
      expect(await d.exit()).toBe(0);
      expect(await td.exit()).toBe(0);
      // (the tun's queue may drop some requests before either sees them: the counts are compared, not fixed)
      const captured = Number(/^(\d+) packets captured$/m.exec(d.stderr)?.[1]);
      expect(captured).toBeGreaterThan(20_000);
      expect(d.stderr).toMatch(/^0 packets dropped by kernel$/m);
      expect(td.stderr).toContain(`${captured} packets captured`);
      expect(td.stderr).toMatch(/^0 packets dropped by kernel$/m);
      const a = new Uint8Array(readFileSync(mine));
      const b = new Uint8Array(readFileSync(theirs));
      expect(readPcap(a).records.length).toBe(captured);
      expect(a.length).toBe(b.length);
      // The same file header and the same records, byte for byte (timestamps, lengths, data).
      // Only their order may differ where a request and a reply crossed the tun within
      // microseconds on two CPUs: each socket gets such packets in the order it is handed them.
      expect(a.subarray(0, 24)).toEqual(b.subarray(0, 24));
      const ra = rawRecords(a);
      const rb = rawRecords(b);
      expect(ra.length).toBe(captured);
      const sameSpot = ra.filter((r, i) => Buffer.compare(r, rb[i]!) === 0).length;
      expect(sameSpot).toBeGreaterThan(captured * 0.99);
      const sort = (rs: Uint8Array[]) => rs.sort((x, y) => Buffer.compare(x, y));
      expect(Buffer.concat(sort(ra))).toEqual(Buffer.concat(sort(rb)));
    } finally {
      echo.kill("SIGINT");
      await echo.exit();
      ts.close();
    }
  }, 60_000);

  ptest("through the ring too: a filtered pcapng dump and a -C rotation beside tcpdump -w on the same flood hold the same packets (tcpdump reads them)", async () => {
    const ng = join(dir, "ring-f.pcapng");
    const rot = join(dir, "ring-rot.pcap");
    const theirs = join(dir, "ring-td.pcap");
    const ts = sharedTimestamps();
    const echo = bg(["echo", IF, "-q"]);
    // The tun's queue holds the whole flood: under load the echo responder reads late, and the
    // qdisc's drops (txqueuelen 500, before any tap) left only 637 answers in one full-suite run.
    expect(spawnSync("ip", ["link", "set", IF, "txqueuelen", "10000"]).status).toBe(0);
    try {
      await waitAttached(IF, echo);
      const td = new Bg(spawn("tcpdump", ["-i", IF, "-nn", "-B", "65536", "-w", theirs], { stdio: ["ignore", "pipe", "pipe"] }), ["tcpdump"]);
      const f = bg(["dump", IF, "--sniff", "-B", "65536", "-w", ng, "udp and src host 192.0.2.2"]);
      const r = bg(["dump", IF, "--sniff", "-B", "65536", "-C", "64k", "-w", rot]);
      for (const p of [td, f, r]) await p.waitFor(/listening on tkdump0/);
      // The stop comes once every packet has crossed the sockets and tcpdump has written what
      // its socket got: a fixed wait (1.5 s) once left 12 late answers out of tcpdump's file at
      // load 24, which tunkit's dumps (their stop drains the ring) had.
      await floodUntilCaughtUp(3_000, td);
      for (const p of [td, f, r]) p.kill("SIGINT");
      for (const p of [td, f, r]) expect(await p.exit()).toBe(0);
      for (const p of [td, f, r]) expect(p.stderr).toMatch(/^0 packets dropped by kernel$/m);
      const sorted = (xs: string[]) => [...xs].sort();
      // the filter (in the kernel, then in user space per record) and pcapng: tcpdump's own filter on its own file
      const mineF = tcpdumpRead(ng).lines;
      expect(mineF.length).toBe(Number(/^(\d+) packets captured$/m.exec(f.stderr)?.[1]));
      expect(mineF.length).toBeGreaterThan(1_000);
      expect(sorted(mineF)).toEqual(sorted(tcpdumpRead(theirs, "udp and src host 192.0.2.2").lines));
      // the rotation: every file in order, together, is tcpdump's capture
      const files = readdirSync(dir).filter((n) => n.startsWith("ring-rot.pcap")).sort((a, b) => Number(a.slice(13) || 0) - Number(b.slice(13) || 0));
      expect(files.length).toBeGreaterThan(3);
      const mineR = files.flatMap((n) => tcpdumpRead(join(dir, n)).lines);
      expect(mineR.length).toBe(Number(/^(\d+) packets captured$/m.exec(r.stderr)?.[1]));
      expect(sorted(mineR)).toEqual(sorted(tcpdumpRead(theirs).lines));
      for (const n of files.slice(0, -1)) expect(statSync(join(dir, n)).size).toBeGreaterThan(64 * 1024 - 1600);
    } finally {
      echo.kill("SIGINT");
      await echo.exit();
      ts.close();
      spawnSync("ip", ["link", "set", IF, "txqueuelen", "500"]);
    }
  }, 60_000);

  traced.ptest("-B 2048 (tcpdump's ring, 8 blocks): during a flood the next block is waited for in poll(2) on the ring's socket (strace); every packet the kernel accepted is in the file, tcpdump reads them all", async () => {
    const file = join(dir, "small-ring.pcap");
    const trace = join(dir, "small-ring.strace");
    const echo = bg(["echo", IF, "-q"]);
    try {
      await waitAttached(IF, echo);
      // strace with -o blocks fatal signals for itself: the stop goes to the dump it runs
      const st = new Bg(spawn("strace", ["-f", "-qq", "-e", "trace=poll", "-o", trace, process.execPath, "cli/main.ts", "dump", IF, "--sniff", "-B", "2048", "-w", file], { cwd: root, stdio: ["ignore", "pipe", "pipe"] }), ["strace"]);
      await st.waitFor(/listening on tkdump0/, 30_000);
      const pid = Number(readFileSync(`/proc/${st.child.pid}/task/${st.child.pid}/children`, "utf8").trim().split(/\s+/)[0]);
      expect(pid).toBeGreaterThan(0);
      await udpFlood(20_000);
      await new Promise((r) => setTimeout(r, 300));
      process.kill(pid, "SIGINT");
      expect(await st.exit()).toBe(0);
      const captured = Number(/^(\d+) packets captured$/m.exec(st.stderr)?.[1]);
      const received = Number(/^(\d+) packets received by filter/m.exec(st.stderr)?.[1]);
      const dropped = Number(/^(\d+) packets dropped by kernel$/m.exec(st.stderr)?.[1]);
      expect(captured).toBeGreaterThan(1000);
      expect(captured + dropped).toBe(received);
      expect(readPcap(new Uint8Array(readFileSync(file))).records.length).toBe(captured);
      expect(tcpdumpRead(file).lines.length).toBe(captured);
      // the waits for a block: poll on one fd for POLLIN with the dump's bound (50 ms) that
      // returned 1 (a block handed over), more than once in a flood of ~40,000 packets
      const woken = readFileSync(trace, "utf8").split("\n").filter((l) => /poll\(\[\{fd=\d+, events=POLLIN\}\], 1, 50\) += 1 /.test(l));
      expect(woken.length).toBeGreaterThan(1);
    } finally {
      echo.kill("SIGINT");
      await echo.exit();
    }
  }, 90_000);

  ptest("SIGTERM in the middle of a flood: the sniffed pcap holds every packet counted as captured, whole (tcpdump reads them all), kernel drops reported", async () => {
    const file = join(dir, "term.pcap");
    const echo = bg(["echo", IF, "-q"]);
    try {
      await waitAttached(IF, echo);
      const d = bg(["dump", IF, "--sniff", "-w", file]);
      await d.waitFor(/listening on tkdump0/);
      // The flood goes on until the dump has exited (bounded by a count far beyond what a stop
      // takes): the signal then always lands in the middle of a flood, and the drain runs while
      // packets still arrive, however late a loaded machine handles the signal. Its exit is
      // seen in /proc (a zombie until reaped): this process's event loop, busy sending, reads
      // neither the child's pipes nor its exit until the flood ends.
      const pid = d.child.pid!;
      let looks = 0;
      const gone = () => {
        try {
          return readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]![0] === "Z";
        } catch {
          return true;
        }
      };
      const sent = await udpFlood(1_000_000, (i) => {
        if (i === 6_000) d.kill("SIGTERM");
      }, () => ++looks % 100 === 0 && gone(), 16);
      expect(await d.exit()).toBe(0);
      expect(sent).toBeLessThan(1_000_000); // the dump stopped while the flood ran
      const captured = Number(/^(\d+) packets captured$/m.exec(d.stderr)?.[1]);
      const received = Number(/^(\d+) packets received by filter/m.exec(d.stderr)?.[1]);
      const dropped = Number(/^(\d+) packets dropped by kernel$/m.exec(d.stderr)?.[1]);
      // every request sent before the signal crossed the tun twice (request, echo's reply)
      // before the stop, so the kernel accepted them all
      expect(captured + dropped).toBeGreaterThanOrEqual(6_000);
      // nothing the kernel accepted is lost: captured or counted as dropped
      expect(captured + dropped).toBe(received);
      const f = readPcap(new Uint8Array(readFileSync(file)));
      expect(f.truncated).toBeUndefined();
      expect(f.records.length).toBe(captured);
      expect(tcpdumpRead(file).lines.length).toBe(captured);
    } finally {
      echo.kill("SIGINT");
      await echo.exit();
    }
  }, 60_000);

  ptest("a writer that stalls (-w into a pipe nobody reads during the flood): no kernel drop, the file is written off the JS thread and the reader gets every packet counted", async () => {
    const { rd, d, err, exited } = dumpIntoFifo("stall");
    const echo = bg(["echo", IF, "-q"]);
    try {
      await waitAttached(IF, echo);
      await until(() => /listening on tkdump0/.test(err()), "dump listening", 10_000);
      // 12,000 requests and their replies (about 19 MB in the ring): the pipe (64 KiB) fills at
      // once and nobody reads it until the flood is over, as a disk that stalls. With the writes
      // on the JS thread the ring (8 MiB) was not walked meanwhile: 12,872 of 23,922 dropped.
      await udpFlood(12_000);
      await new Promise((r) => setTimeout(r, 300));
      const chunks: Uint8Array[] = [];
      const buf = new Uint8Array(1 << 16);
      let stopped = false;
      for (let spins = 0; spins < 60_000; spins++) {
        let n = -1;
        try {
          n = readSync(rd, buf, 0, buf.length, null);
        } catch (e) {
          if ((e as { code?: string }).code !== "EAGAIN") throw e;
        }
        if (n > 0) chunks.push(buf.slice(0, n));
        else if (n === 0) break; // the writer closed: all read
        else {
          if (!stopped) {
            d.kill("SIGTERM");
            stopped = true;
          }
          await new Promise((r) => setTimeout(r, 2));
        }
      }
      expect(await exited).toBe(0);
      const captured = Number(/^(\d+) packets captured$/m.exec(err())?.[1]);
      const received = Number(/^(\d+) packets received by filter/m.exec(err())?.[1]);
      const dropped = Number(/^(\d+) packets dropped by kernel$/m.exec(err())?.[1]);
      expect(dropped).toBe(0);
      expect(captured).toBe(received);
      expect(captured).toBeGreaterThanOrEqual(12_000);
      const all = new Uint8Array(chunks.reduce((a, c) => a + c.length, 0));
      chunks.reduce((o, c) => (all.set(c, o), o + c.length), 0);
      const f = readPcap(all);
      expect(f.truncated).toBeUndefined();
      expect(f.records.length).toBe(captured);
    } finally {
      if (d.exitCode === null) d.kill("SIGKILL");
      closeSync(rd);
      echo.kill("SIGINT");
      await echo.exit();
    }
  }, 90_000);

  ptest("a stop with -w into a pipe whose reader stays alive and never reads: no hang; after 5 s without progress one stderr line says how many packets were not delivered, exit 1", async () => {
    const { rd, d, err, exited } = dumpIntoFifo("never"); // rd held open, never read
    const echo = bg(["echo", IF, "-q"]);
    try {
      await waitAttached(IF, echo);
      await until(() => /listening on tkdump0/.test(err()), "dump listening", 10_000);
      await udpFlood(3_000); // about 4 MB of records: the pipe (64 KiB) holds a few
      await new Promise((r) => setTimeout(r, 300));
      d.kill("SIGTERM");
      // bounded by the test's own timeout, not by a time load could break
      expect(await exited).toBe(1);
      expect(stallReport(err())).toBeGreaterThanOrEqual(3_000);
    } finally {
      if (d.exitCode === null) d.kill("SIGKILL");
      closeSync(rd);
      echo.kill("SIGINT");
      await echo.exit();
    }
  }, 60_000);

  ptest("attached, -w into a pipe whose reader stays alive and never reads: the stop still runs; after 5 s without progress one stderr line says how many packets were not delivered, exit 1", async () => {
    const { rd, d, err, exited } = dumpIntoFifo("never-attached", "--attach"); // rd held open, never read
    try {
      await until(() => /attached to tkdump0/.test(err()), "dump attached", 10_000);
      // the carrier comes with the reader, through linkwatch: wait for it before sending
      await until(() => ((ipLink(IF)?.flags ?? []) as string[]).includes("LOWER_UP"), "carrier on tkdump0", 10_000);
      // about 2 MB of records into the tun, which the dump reads: the pipe (64 KiB) holds a few
      await udpFlood(3_000);
      await new Promise((r) => setTimeout(r, 300));
      d.kill("SIGTERM");
      // bounded by the test's own timeout, not by a time load could break (the code before
      // hung here: its write(2) on the full pipe held the JS thread, so SIGTERM never ran)
      expect(await exited).toBe(1);
      expect(stallReport(err())).toBeGreaterThan(0);
    } finally {
      if (d.exitCode === null) d.kill("SIGKILL");
      closeSync(rd);
    }
  }, 60_000);

  ptest("sniff -w past the file size limit (ulimit -f): exit 1 with EFBIG and its hint, the file cut at its last whole record, the count says what it holds", async () => {
    const file = join(dir, "fsize.pcap");
    const echo = bg(["echo", IF, "-q"]);
    try {
      await waitAttached(IF, echo);
      // 64 blocks of 512 bytes: a writev of the ring's records stops inside one
      const d = new Bg(spawn("sh", ["-c", `trap '' XFSZ; ulimit -f 64; exec "$0" cli/main.ts dump ${IF} --sniff -w ${file}`, process.execPath], { cwd: root, stdio: ["ignore", "pipe", "pipe"] }), ["dump (ulimit -f 64)"]);
      await d.waitFor(/listening on tkdump0/);
      await udpFlood(2_000);
      const code = await d.exit(15_000);
      expect(code).toBe(1);
      expect(d.stderr).toContain("EFBIG");
      expect(d.stderr).toMatch(/hint: .*ulimit -f/);
      const written = Number(/(\d+) packets written to the file/.exec(d.stderr)?.[1]);
      const bytes = readFileSync(file);
      expect(bytes.length).toBeLessThanOrEqual(64 * 512);
      const f = readPcap(new Uint8Array(bytes));
      expect(f.truncated).toBeUndefined();
      expect(f.records.length).toBe(written);
      expect(written).toBeGreaterThan(10);
    } finally {
      echo.kill("SIGINT");
      await echo.exit();
    }
  }, 60_000);

  ptest("a pcap written by tcpdump -i (while echo answers) is read by tunkit dump -r: same count and addresses", async () => {
    const file = join(dir, "tcpdump.pcap");
    const echo = bg(["echo", IF, "-q"]);
    await waitAttached(IF, echo);
    // tcpdump says "listening on" once its capture is open: wait for that (bounded), not a fixed second
    const td = spawnSync("sh", ["-c", `tcpdump -i ${IF} -nn -c 4 -w ${file} 2>${file}.err & n=0; until grep -q "listening on" ${file}.err; do n=$((n+1)); [ $n -gt 300 ] && exit 7; sleep 0.05; done; ping -c 2 -i 0.2 -W 2 192.0.2.2 >/dev/null; wait $!`], { encoding: "utf8", timeout: 40_000 });
    if (td.status !== 0) console.log(`--- tcpdump: exit ${td.status ?? td.signal}\n${readFileSync(`${file}.err`, "utf8")}${td.stdout}${td.stderr}---`);
    expect(td.status).toBe(0);
    echo.kill("SIGINT");
    await echo.exit();
    const ref = tcpdumpRead(file).lines;
    expect(ref.length).toBe(4);
    const r = tunkit(["-q", "dump", "-r", file]);
    expect(r.code).toBe(0);
    const ours = r.stdout.trim().split("\n");
    expect(ours.length).toBe(4);
    // identical lines apart from the timestamp: tcpdump's and tunkit's formats agree on ICMP
    expect(ours.map((l) => l.slice(16))).toEqual(ref.map((l) => l.slice(16)));
    // a filter and -c apply to files too
    const f = tunkit(["-q", "dump", "-r", file, "-c", "1", "icmp and src host 192.0.2.2"]);
    expect(f.stdout.trim().split("\n").length).toBe(1);
    expect(f.stdout).toContain("ICMP echo reply");
  }, 30_000);

  ptest("SIGINT flushes the pcap and prints the count", async () => {
    const file = join(dir, "sigint.pcap");
    const d = bg(["dump", IF, "-w", file]);
    await d.waitFor(/attached to tkdump0/);
    const tx0 = txPackets(IF);
    ping("-c", "3", "-i", "0.2", "-W", "0.3", "192.0.2.2");
    // the tun counts a packet as sent when its reader reads it: all 3 read, then SIGINT
    await until(() => txPackets(IF) - tx0 >= 3, "dump to read the 3 requests");
    d.kill("SIGINT");
    expect(await d.exit()).toBe(0);
    expect(d.stderr).toMatch(/^3 packets captured$/m);
    const f = readPcap(new Uint8Array(readFileSync(file)));
    expect(f.records.length).toBe(3);
    expect(f.truncated).toBeUndefined();
    expect(tcpdumpRead(file).lines.length).toBe(3);
  }, 20_000);

  ptest("SIGTERM ends a sniffing dump the same way (count + drops)", async () => {
    const echo = bg(["echo", IF, "-q"]);
    await waitAttached(IF, echo);
    const d = bg(["dump", IF, "--json"]);
    await d.waitFor(/listening on/);
    ping("-c", "1", "-W", "2", "192.0.2.2");
    await d.waitFor(/"direction":"in"/);
    d.kill("SIGTERM");
    expect(await d.exit()).toBe(0);
    echo.kill("SIGINT");
    await echo.exit();
    const objs = d.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(objs.length).toBe(2);
    expect(objs.map((o) => o.direction).sort()).toEqual(["in", "out"]);
    expect(objs[0].ipv4.src).toBeDefined();
    expect(typeof objs[0].hex).toBe("string");
    expect(d.stderr).toMatch(/2 packets captured[\s\S]*dropped by kernel/);
  }, 20_000);

  ptest("tap: Ethernet link type, ARP decoded, -e shows MACs; the pcap is EN10MB for tcpdump", async () => {
    makeDevice(TAP, "tap", ["198.51.100.1/24"], { noIpv6: true });
    const mac = ipLink(TAP)!.address as string;
    try {
      const d = bg(["dump", TAP, "-c", "1", "-e", "arp"]);
      await d.waitFor(/attached to tkdtap0/);
      ping("-c", "1", "-W", "1", "198.51.100.2");
      expect(await d.exit()).toBe(0);
      expect(d.stdout).toContain(`${mac} > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 198.51.100.2 tell 198.51.100.1, length 28`);
      const file = join(dir, "tap.pcap");
      const w = bg(["dump", TAP, "-c", "2", "-w", file]);
      await w.waitFor(/attached to/);
      ping("-c", "2", "-i", "0.3", "-W", "1", "198.51.100.3");
      expect(await w.exit()).toBe(0);
      const { lines, header } = tcpdumpRead(file, "-e");
      expect(header).toContain("link-type EN10MB");
      expect(lines.length).toBe(2);
      expect(lines[0]).toContain("Request who-has 198.51.100.3 tell 198.51.100.1");
      // -XX dumps the frame from the Ethernet header
      const xx = tunkit(["dump", "-r", file, "-c", "1", "-XX"]);
      expect(xx.stdout).toContain("\t0x0000:  ffff ffff ffff ");
    } finally {
      spawnSync("ip", ["link", "del", TAP]);
    }
  }, 30_000);

  itest("bad inputs: exit 2 with one line on stderr, before anything is opened", () => {
    for (const args of [
      ["dump", IF, "tcp", "and"], ["dump", IF, "port", "99999"], ["dump", IF, "(", "icmp"], ["dump"], ["dump", IF, "-c", "0"],
      ["dump", IF, "-s", "300000"], ["dump", IF, "--attach", "--sniff"], ["dump", "-r", "x.pcap", "--sniff"], ["dump", "a:b"],
      ["inject", IF], ["inject", IF, "--hex", "4g"], ["dump", IF, "--nope"],
    ]) {
      const r = tunkit(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(r.stderr).toMatch(/^tunkit: /);
    }
    // nothing took the device: it is still free to attach
    const after = tunkit(["echo", IF, "--timeout", "0.2"]);
    expect(after.code).toBe(0);
  }, 180_000);

  itest("-r of a damaged file: packets before the damage are printed, then one error line, exit 1", () => {
    const good = new Uint8Array(readFileSync(join(dir, "w.pcap")));
    const cut = join(dir, "cut.pcap");
    writeFileSync(cut, good.subarray(0, good.length - 10));
    const r = tunkit(["-q", "dump", "-r", cut]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split("\n").length).toBe(5);
    expect(r.stderr).toMatch(/ends inside a record/);
    writeFileSync(cut, "not a capture at all, just text\n");
    const bad = tunkit(["dump", "-r", cut]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Invalid pcap magic/);
    expect(allPrintable(bad.stderr)).toBe(true);
  });
});
