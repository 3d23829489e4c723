/**
 * tun2socks: tunkit's own cost on top of a SOCKS5 proxy. Client, proxy (dante) and server each
 * in a namespace (tests/fixtures/proxy/topology.ts), tunkit socks on a tun in the client's.
 *
 * - download: a 100 MiB file fetched by curl through the tun (transparent) vs `curl --socks5`
 *   straight to the same proxy; the proxy's cost is common to both, so the ratio is tunkit's.
 *   Interleaved, median of 3.
 * - connections per second: short HTTP requests, 8 at a time for 2 s, one connection each,
 *   through the tun vs a SOCKS5 client in the same process to the same proxy. Median of 3.
 *
 *   bun bench/proxy.ts [--json]
 */
import net from "node:net";
import { Socks5Dialer } from "../proxy/socks5.ts";
import { Topology, curl, have, sh, SERVER_V4, type Proc } from "../tests/fixtures/proxy/topology.ts";
import { median, print, reexecInNetns, row, type Row } from "./lib.ts";

const PROXY = "192.0.2.2:1082";
const REQUEST = `GET /small HTTP/1.1\r\nHost: ${SERVER_V4}\r\nConnection: close\r\n\r\n`;

/** curl's download speed in MB/s (async: a blocked event loop here would stall the proxies' log pipes). */
async function download(args: string[]): Promise<number> {
  const r = await curl(["-o", "/dev/null", "-w", "%{speed_download}", ...args, `http://${SERVER_V4}/big`], 60);
  if (r.code !== 0) throw new Error(`curl ${args.join(" ")}: ${r.err}`);
  return Number(r.out) / 1e6;
}

/** One short request on a fresh connection; resolves when the server closed it. */
function request(open: () => Promise<net.Socket>): Promise<void> {
  return open().then(
    (s) =>
      new Promise<void>((resolve, reject) => {
        let got = 0;
        s.on("data", (d: Uint8Array) => (got += d.length));
        s.on("error", reject);
        s.on("end", () => s.end()); // SOCKS sockets are half-open capable: close our side too
        s.on("close", () => (got > 0 ? resolve() : reject(new Error("empty response"))));
        s.resume();
        s.write(REQUEST);
      }),
  );
}

async function cps(open: () => Promise<net.Socket>, secs: number, concurrency = 8): Promise<number> {
  const end = performance.now() + secs * 1000;
  let n = 0;
  const worker = async () => {
    while (performance.now() < end) {
      await request(open);
      n++;
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return n / ((performance.now() - t0) / 1000);
}

export default async function proxyBench(opts: { reps?: number; secs?: number } = {}): Promise<Row[]> {
  const reps = opts.reps ?? 3;
  const secs = opts.secs ?? 2;
  for (const b of ["danted", "curl", "unshare"]) if (!have(b)) throw new Error(`${b} is missing (Debian: apt-get install -y dante-server curl)`);
  const t = new Topology("bench");
  let tk: Proc | undefined;
  try {
    t.up();
    await t.startServer(100 << 20);
    await t.startDante(1082);
    tk = await t.tunkit(["socks", "tk0", "--proxy", `socks5://${PROXY}`, "--address", "198.18.0.1/30"]);
    sh("ip", "route", "add", "198.51.100.0/24", "dev", "tk0");
    const dl = { t: [] as number[], r: [] as number[] };
    const cc = { t: [] as number[], r: [] as number[] };
    const direct = () => new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host: SERVER_V4, port: 80 });
      s.once("connect", () => resolve(s));
      s.once("error", reject);
    });
    const dialer = new Socks5Dialer({ scheme: "socks5", host: "192.0.2.2", port: 1082 });
    const viaSocks = async () => {
      const { socket, head } = await dialer.connect({ host: SERVER_V4, port: 80 });
      if (head.length) socket.unshift(head);
      return socket;
    };
    await download([]); // warm up both paths
    await download(["--socks5", PROXY]);
    for (let i = 0; i < reps; i++) {
      const order = i % 2 === 0 ? ["t", "r"] : ["r", "t"];
      for (const w of order) {
        if (w === "t") dl.t.push(await download([]));
        else dl.r.push(await download(["--socks5", PROXY]));
      }
    }
    for (let i = 0; i < reps; i++) {
      const order = i % 2 === 0 ? ["t", "r"] : ["r", "t"];
      for (const w of order) {
        if (w === "t") cc.t.push(await cps(direct, secs));
        else cc.r.push(await cps(viaSocks, secs));
      }
    }
    return [
      row("tun2socks download 100 MiB", median(dl.t), median(dl.r), "MB/s", true, "reference: curl --socks5 to the same dante; target >= 0.8x"),
      row("tun2socks short connections", median(cc.t), median(cc.r), "conn/s", true, "8 concurrent; reference: in-process SOCKS5 client, same dante"),
    ];
  } finally {
    tk?.kill("SIGTERM");
    if (tk) await tk.exited;
    await t.down();
  }
}

if (import.meta.main) {
  if (!reexecInNetns()) print(await proxyBench(), process.argv.includes("--json"));
}
