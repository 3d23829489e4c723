import { afterAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { parseProxyUrl, redactProxyUrl, formatTarget, ipVersion } from "../../proxy/url.ts";
import { Socks5Dialer, encodeSocksAddress, decodeSocksAddress, encodeSocksUdp, decodeSocksUdp } from "../../proxy/socks5.ts";
import { HttpConnectDialer, connectRequest, parseStatusLine } from "../../proxy/http-connect.ts";
import { ProxyError } from "../../proxy/dial.ts";
import { UsageError, TruncatedError, MalformedError } from "../../common/errors.ts";
import { mulberry32, randomBytes } from "./_fuzz.ts";
import { socksUdpDataOffset, finishUdpReply } from "../../proxy/udp.ts";
import { buildUdp } from "../../packet/build.ts";

describe("proxy URLs", () => {
  test("good ones", () => {
    expect(parseProxyUrl("socks5://192.0.2.2:1080", "socks5")).toEqual({ scheme: "socks5", host: "192.0.2.2", port: 1080 });
    expect(parseProxyUrl("socks5h://a%40b:p%3Ass@proxy.example:9050", "socks5")).toEqual({ scheme: "socks5", host: "proxy.example", port: 9050, username: "a@b", password: "p:ss" });
    expect(parseProxyUrl("http://[2001:db8:0::2]:3128/", "http")).toEqual({ scheme: "http", host: "2001:db8::2", port: 3128 });
    expect(parseProxyUrl("HTTP://u:@192.0.2.2", "http")).toEqual({ scheme: "http", host: "192.0.2.2", port: 8080, username: "u", password: "" });
    expect(redactProxyUrl(parseProxyUrl("socks5://alice:s3cret@192.0.2.2:1080", "socks5"))).toBe("socks5://alice@192.0.2.2:1080");
    expect(formatTarget({ host: "2001:db8::1", port: 80 })).toBe("[2001:db8::1]:80");
  });
  test("addresses go through common/addr.ts: inet_pton's rules, canonical text", () => {
    // IPv4-compatible stays compatible (ipaddr.js made it ::ffff:102:304), the dotted form is kept.
    expect(parseProxyUrl("socks5://[::1.2.3.4]:1080", "socks5").host).toBe("::1.2.3.4");
    expect(parseProxyUrl("socks5://[::ffff:192.0.2.2]:1080", "socks5").host).toBe("::ffff:192.0.2.2");
    expect(parseProxyUrl("socks5://[2001:DB8:0:0::2]", "socks5").host).toBe("2001:db8::2");
    expect(ipVersion("::1.2.3.4")).toBe(6);
    expect(ipVersion("fe80::1%eth0")).toBe(0);
    expect(ipVersion("010.0.0.1")).toBe(0);
    expect(ipVersion("proxy.example")).toBe(0);
  });
  for (const [url, scheme, msg] of [
    ["192.0.2.2:1080", "socks5", "expected socks5://"],
    ["http://192.0.2.2:1080", "socks5", "expected the socks5:// scheme"],
    ["socks5://192.0.2.2:0", "socks5", 'port "0"'],
    ["socks5://192.0.2.2:65536", "socks5", 'port "65536"'],
    ["socks5://192.0.2.256:1", "socks5", '"192.0.2.256" is not'],
    ["socks5://[2001:db8::zz]:1", "socks5", "not an IPv6 address"],
    ["socks5://[fe80::1%eth0]:1080", "socks5", 'not an IPv6 address (zone index "%eth0" not allowed'],
    ["socks5://[::ffff:010.1.1.1]:1080", "socks5", 'not an IPv6 address (leading zero in "010"'],
    ["socks5://010.0.0.1:1080", "socks5", 'not an IPv4 address (leading zero in "010"'],
    ["socks5://1.2.3:1080", "socks5", '"1.2.3" is not an IPv4 address'],
    ["socks5://bad_host!:1", "socks5", "is not an IPv4 address or host name"],
    ["socks5://u@192.0.2.2", "socks5", "password is missing"],
    ["socks5://u:%zz@192.0.2.2", "socks5", "bad percent escape"],
    [`socks5://${"u".repeat(256)}:p@192.0.2.2`, "socks5", "1..255 bytes"],
    ["http://:8080", "http", "host is missing"],
  ] as const) {
    test(`bad: ${url.slice(0, 40)}`, () => {
      expect(() => parseProxyUrl(url, scheme)).toThrow(UsageError);
      expect(() => parseProxyUrl(url, scheme)).toThrow(msg);
    });
  }
});

describe("SOCKS5 codec", () => {
  test("addresses round-trip: IPv4, IPv6, names", () => {
    for (const t of [{ host: "192.0.2.7", port: 80 }, { host: "2001:db8::7", port: 443 }, { host: "web.example.test", port: 8080 }]) {
      const b = encodeSocksAddress(t);
      expect(decodeSocksAddress(b, 0)).toEqual({ target: t, next: b.length });
    }
    expect(Array.from(encodeSocksAddress({ host: "192.0.2.7", port: 80 }))).toEqual([1, 192, 0, 2, 7, 0, 80]);
    // an IPv4-compatible IPv6 address is sent as the 16 bytes it is, and read back in the same text
    const compat = encodeSocksAddress({ host: "::1.2.3.4", port: 1 });
    expect(Array.from(compat)).toEqual([4, ...new Array(12).fill(0), 1, 2, 3, 4, 0, 1]);
    expect(decodeSocksAddress(compat, 0).target.host).toBe("::1.2.3.4");
    const u = encodeSocksUdp({ host: "198.51.100.2", port: 7 }, new Uint8Array([104, 105]));
    expect(Array.from(u)).toEqual([0, 0, 0, 1, 198, 51, 100, 2, 0, 7, 104, 105]);
    expect(decodeSocksUdp(u)).toEqual({ target: { host: "198.51.100.2", port: 7 }, data: new Uint8Array([104, 105]) });
  });
  test("malformed input: typed errors only (seeded fuzz, 20k)", () => {
    expect(() => decodeSocksUdp(new Uint8Array([0, 0, 1, 1, 0, 0, 0, 0, 0, 0]))).toThrow(MalformedError);
    expect(() => decodeSocksAddress(new Uint8Array([3, 10, 65]), 0)).toThrow(TruncatedError);
    const rnd = mulberry32(3);
    for (let i = 0; i < 20_000; i++) {
      const b = randomBytes(rnd, 40);
      try {
        decodeSocksUdp(b);
      } catch (e) {
        expect(e instanceof TruncatedError || e instanceof MalformedError).toBe(true);
      }
    }
  }, 60_000);
});

describe("HTTP CONNECT codec", () => {
  test("request and status line", () => {
    expect(connectRequest({ host: "2001:db8::2", port: 80 }, { scheme: "http", host: "h", port: 1, username: "u", password: "p" }))
      .toBe("CONNECT [2001:db8::2]:80 HTTP/1.1\r\nHost: [2001:db8::2]:80\r\nProxy-Authorization: Basic dTpw\r\n\r\n");
    expect(parseStatusLine("HTTP/1.0 200 Connection established")).toEqual({ code: 200, reason: "Connection established" });
    expect(parseStatusLine("SSH-2.0-OpenSSH")).toBeUndefined();
  });
});

// Fake proxies on loopback: scripted byte exchanges.
const servers: net.Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});
async function fake(script: (s: net.Socket, read: (n: number) => Promise<Buffer>) => Promise<void>): Promise<number> {
  const srv = net.createServer((s) => {
    let buf = Buffer.alloc(0);
    let wake: (() => void) | undefined;
    s.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      wake?.();
    });
    s.on("error", () => {});
    const read = async (n: number) => {
      while (buf.length < n) await new Promise<void>((r) => (wake = r));
      const out = buf.subarray(0, n);
      buf = buf.subarray(n);
      return out;
    };
    void script(s, read).catch(() => s.destroy());
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return (srv.address() as net.AddressInfo).port;
}

describe("SOCKS5 client against a scripted server", () => {
  test("user/password, CONNECT by name, early data after the reply is kept", async () => {
    const port = await fake(async (s, read) => {
      expect(Array.from(await read(4))).toEqual([5, 2, 0, 2]);
      s.write(Buffer.from([5, 2]));
      expect(Array.from(await read(9))).toEqual([1, 5, 97, 108, 105, 99, 101, 1, 112]); // alice / p
      s.write(Buffer.from([1, 0]));
      const head = await read(5);
      expect(Array.from(head)).toEqual([5, 1, 0, 3, 16]);
      expect((await read(18)).subarray(0, 16).toString()).toBe("web.example.test");
      s.write(Buffer.from([5, 0, 0, 1, 127, 0, 0, 1, 0x30, 0x39, 0x68, 0x69])); // reply + "hi"
    });
    const d = new Socks5Dialer({ scheme: "socks5", host: "127.0.0.1", port, username: "alice", password: "p" });
    const { socket, head } = await d.connect({ host: "web.example.test", port: 80 });
    expect(Buffer.from(head).toString()).toBe("hi");
    socket.destroy();
  });
  test("auth refused -> ProxyError auth", async () => {
    const port = await fake(async (s, read) => {
      await read(4);
      s.write(Buffer.from([5, 2]));
      await read(5);
      s.write(Buffer.from([1, 1]));
    });
    const d = new Socks5Dialer({ scheme: "socks5", host: "127.0.0.1", port, username: "a", password: "b" });
    const e = await d.connect({ host: "192.0.2.1", port: 80 }).catch((x) => x);
    expect(e).toBeInstanceOf(ProxyError);
    expect(e.reason).toBe("auth");
    expect(e.message).toBe("SOCKS5 proxy 127.0.0.1:" + port + " refused the user name and password (status 1)");
  });
  test("CONNECT refused with reply 5, UDP ASSOCIATE relay 0.0.0.0 -> the proxy's address", async () => {
    const port = await fake(async (s, read) => {
      await read(3);
      s.write(Buffer.from([5, 0]));
      const req = await read(10);
      if (req[1] === 1) s.write(Buffer.from([5, 5, 0, 1, 0, 0, 0, 0, 0, 0]));
      else s.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0x04, 0x38]));
    });
    const d = new Socks5Dialer({ scheme: "socks5", host: "127.0.0.1", port });
    const e = await d.connect({ host: "192.0.2.1", port: 80 }).catch((x) => x);
    expect(e.reason).toBe("refused");
    expect(e.message).toContain("refused CONNECT 192.0.2.1:80: connection refused");
    const a = await d.associate();
    expect(a.relay).toEqual({ host: "127.0.0.1", port: 1080 });
    a.control.destroy();
  });
  test("UDP ASSOCIATE pipelined: greeting and request arrive before the proxy answers anything; false and 'auto' still wait", async () => {
    // the script reads greeting + request (13 bytes) before it writes the method reply: a client
    // that waited for that reply would time out here
    const script = async (s: net.Socket, read: (n: number) => Promise<Buffer>) => {
      expect(Array.from(await read(13))).toEqual([5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0]);
      s.write(Buffer.from([5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38])); // both replies in one piece
    };
    const url = { scheme: "socks5", host: "127.0.0.1", port: await fake(script) } as const;
    const a = await new Socks5Dialer(url, undefined, true).associate({ timeoutMs: 5000 });
    expect(a.relay).toEqual({ host: "127.0.0.1", port: 1080 });
    a.control.destroy();
    // not pipelined: the greeting alone, then nothing until the method reply (the script waits on)
    for (const mode of [false, "auto"] as const) {
      const d = new Socks5Dialer({ ...url, port: await fake(script) }, undefined, mode);
      (d as unknown as { learnAfter: number }).learnAfter = Number.POSITIVE_INFINITY; // no learning connection
      const e = await d.associate({ timeoutMs: 300 }).catch((x) => x);
      expect(e).toBeInstanceOf(ProxyError);
      expect(e.reason).toBe("timeout");
    }
  });
  test("a silent proxy -> timeout, not a hang", async () => {
    const port = await fake(async () => {});
    const d = new Socks5Dialer({ scheme: "socks5", host: "127.0.0.1", port });
    const t0 = Date.now();
    const e = await d.connect({ host: "192.0.2.1", port: 80 }, { timeoutMs: 300 }).catch((x) => x);
    expect(e.reason).toBe("timeout");
    expect(Date.now() - t0).toBeLessThan(10_000); // the 300 ms deadline, however late a loaded machine fires it
  }, 30_000);
});

describe("HTTP CONNECT client against a scripted server", () => {
  test("200 with a body byte already sent; 407 -> auth; 403 -> refused", async () => {
    let n = 0;
    const port = await fake(async (s, read) => {
      await read(10);
      const k = n++;
      s.write(k === 0 ? "HTTP/1.1 200 Connection established\r\nVia: x\r\n\r\nX" : k === 1 ? "HTTP/1.1 407 Proxy Authentication Required\r\n\r\n" : "HTTP/1.1 403 Forbidden\r\n\r\n");
    });
    const d = new HttpConnectDialer({ scheme: "http", host: "127.0.0.1", port });
    const ok = await d.connect({ host: "192.0.2.1", port: 80 });
    expect(Buffer.from(ok.head).toString()).toBe("X");
    ok.socket.destroy();
    const e1 = await d.connect({ host: "192.0.2.1", port: 80 }).catch((x) => x);
    expect([e1.reason, e1.hint]).toEqual(["auth", "the proxy wants credentials: http://user:pass@host:port"]);
    const e2 = await d.connect({ host: "192.0.2.1", port: 80 }).catch((x) => x);
    expect(e2.reason).toBe("refused");
    expect(e2.message).toContain("403 Forbidden");
  });
});

describe("UDP relay data path", () => {
  test("socksUdpDataOffset finds the data after each address type, refuses fragments and short headers", () => {
    const data = new Uint8Array([1, 2, 3]);
    for (const host of ["198.51.100.2", "2001:db8::2", "web.example.test"]) {
      const d = encodeSocksUdp({ host, port: 7 }, data);
      expect(Array.from(d.subarray(socksUdpDataOffset(d)))).toEqual([1, 2, 3]);
    }
    const frag = encodeSocksUdp({ host: "198.51.100.2", port: 7 }, data);
    frag[2] = 1;
    expect(socksUdpDataOffset(frag)).toBe(-1);
    expect(socksUdpDataOffset(new Uint8Array([0, 0, 0, 1, 198]))).toBe(-1);
    expect(socksUdpDataOffset(new Uint8Array([0, 0, 0, 3]))).toBe(-1);
    expect(socksUdpDataOffset(new Uint8Array([0, 0, 0, 9, 1, 2, 3, 4, 0, 7]))).toBe(-1);
  });
  test("finishUdpReply on a per-flow header makes the packet buildUdp makes (IPv4, IPv6, empty and large payloads)", () => {
    for (const [src, dst] of [["198.51.100.2", "192.0.2.1"], ["2001:db8:2::2", "2001:db8:1::1"]]) {
      const head = buildUdp({ src: src!, dst: dst!, srcPort: 53, dstPort: 40000 });
      for (const len of [0, 1, 64, 1200, 9000]) {
        const payload = Uint8Array.from({ length: len }, (_, i) => (i * 7 + len) & 0xff);
        const out = new Uint8Array(65536).fill(0xee);
        out.set(head);
        out.set(payload, head.length);
        const n = finishUdpReply(out, head.length, len);
        expect(Array.from(out.subarray(0, n))).toEqual(Array.from(buildUdp({ src: src!, dst: dst!, srcPort: 53, dstPort: 40000, payload })));
      }
    }
  });
});
