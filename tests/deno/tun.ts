// Deno smoke test of the device layer: the Deno.dlopen backend, its `nonblocking` epoll waiter,
// and packet I/O both ways. Run by scripts/test.ts as `deno run -A` inside a fresh netns.
// Prints " N pass" / " N fail" like bun test.
import { openTun, DeviceClosedError } from "../../mod.ts";
import { buildUdp } from "../../packet/build.ts";
import { spawnSync } from "node:child_process";
import { assert, check, finish } from "./_harness.ts";
import dgram from "node:dgram";

const ip = (...a: string[]) => {
  const r = spawnSync("ip", a, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`ip ${a.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

const dev = openTun({ name: "tkdeno%d" });
await check("openTun under Deno makes a tun that ip sees", () => {
  const j = JSON.parse(ip("-j", "-d", "link", "show", "dev", dev.name))[0];
  assert(j.linkinfo.info_kind === "tun" && j.linkinfo.info_data.type === "tun", `unexpected ${JSON.stringify(j.linkinfo)}`);
});
ip("addr", "add", "192.0.2.1/24", "dev", dev.name);
ip("link", "set", dev.name, "up");

await check("a datagram routed into the tun is read without blocking (timers keep running)", async () => {
  let ticks = 0;
  const iv = setInterval(() => ticks++, 5);
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(0, "192.0.2.1", () => r()));
  // The datagram goes out only after 10 ticks while the read below is pending: a read that
  // blocked the event loop would never see it (no fixed window that load can squeeze).
  const sendWhenTicked = () => (ticks >= 10 ? sock.send(new TextEncoder().encode("deno hello"), 9, "192.0.2.2") : setTimeout(sendWhenTicked, 5));
  sendWhenTicked();
  const buf = new Uint8Array(2048);
  let n = 0;
  for (let i = 0; i < 10; i++) {
    n = await dev.readInto(buf, 0, AbortSignal.timeout(5000));
    if (buf[0] === 0x45 && buf[9] === 17) break;
  }
  clearInterval(iv);
  sock.close();
  assert(new TextDecoder().decode(buf.subarray(28, n)) === "deno hello", "payload mismatch");
});

await check("a datagram written into the tun reaches a socket", async () => {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((r) => sock.bind(7777, "192.0.2.1", () => r()));
  const got = new Promise<string>((r) => sock.once("message", (m) => r(new TextDecoder().decode(m))));
  dev.write(buildUdp({ src: "192.0.2.9", dst: "192.0.2.1", srcPort: 5, dstPort: 7777, payload: new TextEncoder().encode("from tun") }));
  const msg = await Promise.race([got, new Promise<string>((_, j) => setTimeout(() => j(new Error("timeout")), 5000))]);
  sock.close();
  assert(msg === "from tun", `got ${msg}`);
});

await check("close() unblocks a pending read", async () => {
  const p = dev.readInto(new Uint8Array(2048)).then(() => "read", (e) => e);
  setTimeout(() => dev.close(), 50);
  const r = await p;
  assert(r instanceof DeviceClosedError, `got ${r}`);
});

finish();
