// `tunkit dump`: attach and sniff modes, hex output, pcap written for tcpdump and read from it,
// tap devices, SIGINT, bad input. Each file runs in its own throwaway netns.
import { describe, expect, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dgram from "node:dgram";
import { readPcap } from "../../mod.ts";
import { itest, needing, ipLink, makeDevice } from "./_ns.ts";
import { bg, tunkit, allPrintable, waitAttached, waitSniffing, until } from "./dump-cli.ts";

const { ptest } = needing("dump-capture", ["ping", "tcpdump"]);
const IF = "tkdump0";
const TAP = "tkdtap0";
const dir = mkdtempSync(join(tmpdir(), "tkdump-"));

function ping(...args: string[]): string {
  const r = spawnSync("ping", args, { encoding: "utf8", timeout: 15_000 });
  return r.stdout + r.stderr;
}

/** tcpdump -nn -r FILE: the packet lines (header line dropped) */
function tcpdumpRead(file: string, ...extra: string[]): { lines: string[]; header: string } {
  const r = spawnSync("tcpdump", ["-nn", "-r", file, ...extra], { encoding: "utf8", timeout: 15_000 });
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
    expect(ping("-c", "2", "-i", "0.2", "-W", "2", "192.0.2.2")).toContain("2 received");
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
    expect(ping("-c", "2", "-i", "0.2", "-W", "2", "192.0.2.2")).toContain("2 received");
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
