/**
 * Capture of a packet flood to pcap in sniff mode: `tunkit dump --sniff -w` against
 * `tcpdump -w` on the same flood (the C generator of bench/c/tunio.c sending 64-byte UDP into a
 * tun whose reader is the C read loop). Each tool's own report gives packets captured and
 * dropped by the kernel. Interleaved, median of 3; generator pinned to CPU 0, capturers to CPU 1.
 *
 * Both tools keep up (≈100% of what was sent, no kernel drops) at the rate this machine's
 * generator reaches; what differs is the CPU they take from it, shown as the flood rate each
 * leaves. tunkit copies each packet out with recvmmsg (64 a call) and, writing a file, gathers
 * 2 ms after a quiet spell before draining (0.64x -> ~0.9x of tcpdump's flood rate); tcpdump's
 * TPACKET_V3 ring needs no copy-out syscall at all.
 *
 *   bun bench/capture.ts [--json] [--secs S] [--reps R]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { compileC, median, pin, print, reexecInNetns, row, root, sh, type Row } from "./lib.ts";

const IF = "tkbcap0";
const LOCAL = "198.51.100.1";
const REMOTE = "198.51.100.2";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

interface Report {
  captured: number;
  dropped: number;
  sent: number;
  fileBytes: number;
}

function collect(child: ChildProcess): { text: () => string; exited: Promise<void> } {
  let text = "";
  child.stderr!.on("data", (d: Buffer) => (text += d.toString()));
  child.stdout?.on("data", () => {});
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return { text: () => text, exited };
}

async function waitFor(get: () => string, re: RegExp, ms: number): Promise<void> {
  const t0 = Date.now();
  while (!re.test(get())) {
    if (Date.now() - t0 > ms) throw new Error(`timeout waiting for ${re}: ${get()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Runs one capturer through one flood and returns its own report. */
async function runOne(cmd: string[], ready: RegExp, file: string, secs: number, gen: string): Promise<Report> {
  const child = spawn(cmd[0]!, cmd.slice(1), { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  const out = collect(child);
  try {
    await waitFor(out.text, ready, 10_000);
    await new Promise((r) => setTimeout(r, 200));
    const g = spawnSync(pin(0)[0] ?? gen, [...pin(0).slice(1), ...(pin(0).length ? [gen] : []), "gen", REMOTE, "9", "64", String(secs)], { encoding: "utf8", timeout: (secs + 10) * 1000 });
    const sent = Number(g.stdout.trim());
    await new Promise((r) => setTimeout(r, 300)); // let the capturer drain its buffer
    child.kill("SIGINT");
    const t = setTimeout(() => child.kill("SIGKILL"), 20_000);
    await out.exited;
    clearTimeout(t);
    const text = out.text();
    const num = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
    const captured = num(/(\d+) packets? captured/);
    const dropped = num(/(\d+) packets? dropped by kernel/);
    if (!Number.isFinite(captured) || !Number.isFinite(dropped)) throw new Error(`${cmd[0]}: no report in: ${text}`);
    return { captured, dropped, sent, fileBytes: statSync(file).size };
  } finally {
    if (child.exitCode === null) child.kill("SIGKILL");
    rmSync(file, { force: true });
  }
}

export default async function captureBench(opts: { secs?: number; reps?: number } = {}): Promise<Row[]> {
  const secs = opts.secs ?? arg("--secs", 2);
  const reps = opts.reps ?? arg("--reps", 3);
  const c = compileC("tunio");
  const dir = mkdtempSync(join(tmpdir(), "tkbcap-"));
  sh("ip", "tuntap", "add", IF, "mode", "tun");
  sh("ip", "addr", "add", `${LOCAL}/24`, "dev", IF);
  sh("ip", "link", "set", IF, "up");
  // The device's owner: the C read loop drains the tun while both tools sniff beside it.
  const reader = spawn(c, ["read", IF, "3600"], { stdio: "ignore" });
  const res = { t: [] as Report[], d: [] as Report[] };
  try {
    await new Promise((r) => setTimeout(r, 200));
    for (let rep = 0; rep < reps; rep++) {
      for (const who of rep % 2 === 0 ? (["t", "d"] as const) : (["d", "t"] as const)) {
        const file = join(dir, `${who}.pcap`);
        if (who === "t") {
          res.t.push(await runOne([...pin(1), process.execPath, "cli/main.ts", "dump", IF, "--sniff", "-w", file], /listening on/, file, secs, c));
        } else {
          res.d.push(await runOne([...pin(1), "tcpdump", "-i", IF, "-nn", "-w", file], /listening on/, file, secs, c));
        }
      }
    }
  } finally {
    reader.kill("SIGKILL");
    spawnSync("ip", ["link", "del", IF]);
    rmSync(dir, { recursive: true, force: true });
  }
  const m = (xs: Report[], f: (r: Report) => number) => median(xs.map(f));
  const share = (r: Report) => (100 * r.captured) / Math.max(1, r.sent);
  const tDrop = m(res.t, (r) => r.dropped);
  const dDrop = m(res.d, (r) => r.dropped);
  const note = `${secs} s of 64-byte UDP; tunkit dump --sniff -w vs tcpdump -w, each pinned to CPU 1`;
  return [
    row("sniff flood to pcap: captured of sent", m(res.t, share), m(res.d, share), "%", true, note),
    row("sniff flood to pcap: packets captured", m(res.t, (r) => r.captured) / 1000, m(res.d, (r) => r.captured) / 1000, "k packets", true,
      `dropped by kernel (medians): tunkit ${Math.round(tDrop)}, tcpdump ${Math.round(dDrop)}`),
    row("flood sent while capturing", m(res.t, (r) => r.sent / secs) / 1000, m(res.d, (r) => r.sent / secs) / 1000, "kpps", true,
      "the generator's rate beside each capturer: lower = the capturer took more CPU"),
  ];
}

if (import.meta.main) {
  if (!reexecInNetns()) print(await captureBench(), process.argv.includes("--json"));
}
