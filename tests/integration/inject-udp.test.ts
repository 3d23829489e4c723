// `tunkit inject`: packets written into a tun/tap reach sockets in the namespace.
import { describe, expect, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import dgram from "node:dgram";
import { buildUdp, buildEthernet, PcapWriter } from "../../packet/mod.ts";
import { toHex } from "../../common/mod.ts";
import { itest, ipLink, makeDevice } from "./_ns.ts";
import { tunkit } from "./dump-cli.ts";

const IF = "tkinj0";
const TAP = "tkinjtap0";
const dir = mkdtempSync(join(tmpdir(), "tkinj-"));

/** A UDP socket bound in the namespace, collecting what it receives. */
async function listen(family: "udp4" | "udp6", addr: string, port: number) {
  const s = dgram.createSocket(family);
  const got: string[] = [];
  s.on("message", (m) => got.push(m.toString()));
  await new Promise<void>((r) => s.bind(port, addr, () => r()));
  return {
    got,
    async waitFor(n: number, ms = 3000) {
      const t0 = Date.now();
      while (got.length < n && Date.now() - t0 < ms) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 50)); // and nothing more arrives
      return got;
    },
    close: () => s.close(),
  };
}

describe("tunkit inject", () => {
  beforeAll(() => {
    if (!ipLink("lo")) return;
    makeDevice(IF, "tun", ["192.0.2.1/24", "2001:db8::1/64"]);
  });
  afterAll(() => {
    spawnSync("ip", ["link", "del", IF]);
    rmSync(dir, { recursive: true, force: true });
  });

  itest("--hex: a UDP packet reaches the socket bound to its destination; --count repeats", async () => {
    const sock = await listen("udp4", "192.0.2.1", 9000);
    const pkt = toHex(buildUdp({ src: "192.0.2.2", dst: "192.0.2.1", srcPort: 4242, dstPort: 9000, payload: new TextEncoder().encode("injected!") }));
    const r = tunkit(["inject", IF, "--hex", pkt, "--count", "3"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("3 packets injected");
    expect(await sock.waitFor(3)).toEqual(["injected!", "injected!", "injected!"]);
    sock.close();
  });

  itest("several packets (commas, repeated --hex), IPv4 and IPv6, --rate paces them", async () => {
    const s4 = await listen("udp4", "192.0.2.1", 9001);
    const s6 = await listen("udp6", "2001:db8::1", 9001);
    const enc = new TextEncoder();
    const a = toHex(buildUdp({ src: "192.0.2.2", dst: "192.0.2.1", srcPort: 1, dstPort: 9001, payload: enc.encode("a") }));
    const b = toHex(buildUdp({ src: "192.0.2.2", dst: "192.0.2.1", srcPort: 1, dstPort: 9001, payload: enc.encode("b") }));
    const c = toHex(buildUdp({ src: "2001:db8::2", dst: "2001:db8::1", srcPort: 1, dstPort: 9001, payload: enc.encode("c6") }));
    const t0 = performance.now();
    const r = tunkit(["--json", "inject", IF, "--hex", `${a},${b}`, "--hex", c, "--count", "2", "--rate", "50"]);
    const took = performance.now() - t0;
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ ifname: IF, injected: 6 });
    expect(took).toBeGreaterThan(80); // 6 packets at 50/s: the last leaves 100 ms after the first
    expect(await s4.waitFor(4)).toEqual(["a", "b", "a", "b"]);
    expect(await s6.waitFor(2)).toEqual(["c6", "c6"]);
    s4.close();
    s6.close();
  });

  itest("-r replays a pcap (raw IP) into the tun; an Ethernet pcap is refused for a tun (exit 2, one line)", async () => {
    const sock = await listen("udp4", "192.0.2.1", 9002);
    const w = new PcapWriter({ linkType: "raw" });
    const enc = new TextEncoder();
    const recs = ["one", "two"].map((s) => w.record(buildUdp({ src: "192.0.2.2", dst: "192.0.2.1", srcPort: 7777, dstPort: 9002, payload: enc.encode(s) }), 0));
    const file = join(dir, "raw.pcap");
    writeFileSync(file, Buffer.concat([w.header(), ...recs]));
    const r = tunkit(["inject", IF, "-r", file]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe("2 packets injected");
    expect(await sock.waitFor(2)).toEqual(["one", "two"]);
    sock.close();
    const we = new PcapWriter({ linkType: "ethernet" });
    const eth = join(dir, "eth.pcap");
    writeFileSync(eth, Buffer.concat([we.header(), we.record(new Uint8Array(60), 0)]));
    const bad = tunkit(["inject", IF, "-r", eth]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split("\n").length).toBe(1);
    expect(bad.stderr).toContain("Link type mismatch");
    expect(bad.stderr).toContain("EN10MB");
  });

  itest("tap: an Ethernet frame to the tap's MAC carrying UDP reaches the socket", async () => {
    makeDevice(TAP, "tap", ["198.51.100.1/24"]);
    try {
      const mac = ipLink(TAP)!.address as string;
      const sock = await listen("udp4", "198.51.100.1", 9003);
      const ip = buildUdp({ src: "198.51.100.2", dst: "198.51.100.1", srcPort: 5, dstPort: 9003, payload: new TextEncoder().encode("via tap") });
      const frame = toHex(buildEthernet({ src: "02:00:00:00:00:02", dst: mac, etherType: 0x0800 }, ip));
      const r = tunkit(["inject", TAP, "--hex", frame]);
      expect(r.code).toBe(0);
      expect(await sock.waitFor(1)).toEqual(["via tap"]);
      sock.close();
      // a tap takes Ethernet frames: fewer than 14 bytes is refused
      const short = tunkit(["inject", TAP, "--hex", "00112233445566778899"]);
      expect(short.code).toBe(2);
      expect(short.stderr).toContain("at least 14");
    } finally {
      spawnSync("ip", ["link", "del", TAP]);
    }
  });

  itest("bad packets are refused before the device is opened (exit 2, one line)", () => {
    for (const [hex, msg] of [
      ["zz", "only 0-9 a-f"], ["123", "odd number"], ["15000000", "IP version 1"], ["4500", "IPv4 header needs 20"],
      ["4500ffff" + "00".repeat(16), "total length 65535"], ["60000000ffff1140" + "00".repeat(32), "payload length 65535"],
    ] as const) {
      const r = tunkit(["inject", IF, "--hex", hex]);
      expect({ hex, code: r.code }).toEqual({ hex, code: 2 });
      expect(r.stderr.trim().split("\n").length).toBe(1);
      expect(r.stderr).toContain(msg);
    }
    // a missing file: the system's refusal, as dump -r reports it (exit 1 and a hint)
    const missing = tunkit(["inject", IF, "-r", join(dir, "missing.pcap")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ENOENT\nhint: there is no file/);
    expect(tunkit(["inject", IF, "--hex", "45", "-r", "x.pcap"]).code).toBe(2);
  }, 30_000);

  itest("a device held by another reader: exit 1 with the holder named", async () => {
    const { bg } = await import("./dump-cli.ts");
    const echo = bg(["echo", IF]);
    await echo.waitFor(/answering/);
    const pkt = toHex(buildUdp({ src: "192.0.2.2", dst: "192.0.2.1", srcPort: 1, dstPort: 9, payload: 1 }));
    const r = tunkit(["inject", IF, "--hex", pkt]);
    echo.kill("SIGINT");
    await echo.exit();
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/EBUSY[\s\S]*attached by/);
  });
});
