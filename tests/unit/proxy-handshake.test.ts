import { describe, expect, test } from "bun:test";
import { Socks5Dialer } from "../../proxy/socks5.ts";
import { HttpConnectDialer } from "../../proxy/http-connect.ts";
import { ProxyError } from "../../proxy/dial.ts";
import { parseProxyUrl } from "../../proxy/url.ts";

const T = { host: "198.51.100.2", port: 80 };
const u8 = (...b: number[]) => Uint8Array.from(b);

describe("SOCKS5 CONNECT as a state machine (the native relay's handshake)", () => {
  test("no auth: greeting, request after the method, done with the bytes beyond the reply", () => {
    const m = new Socks5Dialer(parseProxyUrl("socks5://192.0.2.2:1080", "socks5")).handshake(T);
    expect([...m.start()]).toEqual([5, 1, 0]);
    const s1 = m.feed(u8(5, 0));
    expect(s1.done).toBe(false);
    expect([...s1.send!]).toEqual([5, 1, 0, 1, 198, 51, 100, 2, 0, 80]);
    const s2 = m.feed(u8(5, 0, 0, 1, 192, 0, 2, 2, 4, 56, 72, 73));
    expect(s2.done).toBe(true);
    expect([...s2.rest!]).toEqual([72, 73]);
  });

  test("bytes in pieces of one: the same outcome", () => {
    const m = new Socks5Dialer(parseProxyUrl("socks5://192.0.2.2:1080", "socks5")).handshake({ host: "example.com", port: 443 });
    m.start();
    expect(m.feed(u8(5)).done).toBe(false);
    const req = m.feed(u8(0)).send!;
    expect([...req.subarray(0, 5)]).toEqual([5, 1, 0, 3, 11]);
    const reply = [5, 0, 0, 4, ...new Array(16).fill(0), 1, 187];
    const steps = reply.map((b) => m.feed(u8(b)));
    expect(steps.map((s) => s.done)).toEqual([...new Array(reply.length - 1).fill(false), true]);
    expect(steps.at(-1)!.rest!.length).toBe(0);
  });

  test("user/password, then a refusal names the reply", () => {
    const m = new Socks5Dialer(parseProxyUrl("socks5://alice:s3cret@192.0.2.2:1080", "socks5")).handshake(T);
    expect([...m.start()]).toEqual([5, 2, 0, 2]);
    const auth = m.feed(u8(5, 2)).send!;
    expect([...auth]).toEqual([1, 5, ...new TextEncoder().encode("alice"), 6, ...new TextEncoder().encode("s3cret")]);
    expect(m.feed(u8(1, 0)).send![1]).toBe(1);
    let err: unknown;
    try {
      m.feed(u8(5, 5, 0, 1, 0, 0, 0, 0, 0, 0));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProxyError);
    expect((err as ProxyError).reason).toBe("refused");
    expect((err as Error).message).toContain("connection refused");
  });

  test("wrong password, no acceptable method, not SOCKS5: the reasons of the promise-based dialer", () => {
    const auth = new Socks5Dialer(parseProxyUrl("socks5://alice:x@192.0.2.2:1080", "socks5")).handshake(T);
    auth.start();
    auth.feed(u8(5, 2));
    expect(() => auth.feed(u8(1, 1))).toThrow(/refused the user name and password/);
    const none = new Socks5Dialer(parseProxyUrl("socks5://192.0.2.2:1080", "socks5")).handshake(T);
    none.start();
    expect(() => none.feed(u8(5, 0xff))).toThrow(/accepts none of the offered authentication methods/);
    const http = new Socks5Dialer(parseProxyUrl("socks5://192.0.2.2:1080", "socks5")).handshake(T);
    http.start();
    expect(() => http.feed(new TextEncoder().encode("HTTP/1.1 400"))).toThrow(/not a SOCKS5 server/);
  });
});

describe("SOCKS5 CONNECT pipelined (greeting, credentials and request in one write)", () => {
  const url = parseProxyUrl("socks5://192.0.2.2:1080", "socks5");
  test("no auth: one write, nothing more to send, every reply in one piece or in pieces of one", () => {
    const reply = [5, 0, 5, 0, 0, 1, 192, 0, 2, 2, 4, 56, 72, 73];
    const whole = new Socks5Dialer(url, undefined, true).handshake(T);
    expect([...whole.start()]).toEqual([5, 1, 0, 5, 1, 0, 1, 198, 51, 100, 2, 0, 80]);
    const s = whole.feed(Uint8Array.from(reply));
    expect(s.done).toBe(true);
    expect(s.send).toBeUndefined();
    expect([...s.rest!]).toEqual([72, 73]);
    const bytewise = new Socks5Dialer(url, undefined, true).handshake(T);
    bytewise.start();
    const steps = reply.slice(0, -2).map((b) => bytewise.feed(u8(b)));
    expect(steps.map((x) => x.done)).toEqual([...new Array(reply.length - 3).fill(false), true]);
    expect(steps.every((x) => x.send === undefined)).toBe(true);
  });

  test("user/password: only method 2 offered, credentials and request behind it; a proxy choosing none is refused", () => {
    const m = new Socks5Dialer(parseProxyUrl("socks5://alice:s3cret@192.0.2.2:1080", "socks5"), undefined, true).handshake(T);
    const enc = (t: string) => [...new TextEncoder().encode(t)];
    expect([...m.start()]).toEqual([5, 1, 2, 1, 5, ...enc("alice"), 6, ...enc("s3cret"), 5, 1, 0, 1, 198, 51, 100, 2, 0, 80]);
    expect(m.feed(u8(5, 2, 1, 0)).done).toBe(false);
    expect(m.feed(u8(5, 0, 0, 1, 0, 0, 0, 0, 0, 0)).done).toBe(true);
    const none = new Socks5Dialer(parseProxyUrl("socks5://alice:s3cret@192.0.2.2:1080", "socks5"), undefined, true).handshake(T);
    none.start();
    expect(() => none.feed(u8(5, 0))).toThrow(/chose authentication method 0, which was not offered/);
    const bad = new Socks5Dialer(parseProxyUrl("socks5://alice:x@192.0.2.2:1080", "socks5"), undefined, true).handshake(T);
    bad.start();
    expect(() => bad.feed(u8(5, 2, 1, 1))).toThrow(/refused the user name and password/);
  });

  test("a refusal of the CONNECT behind the method reply names it", () => {
    const m = new Socks5Dialer(url, undefined, true).handshake(T);
    m.start();
    expect(() => m.feed(u8(5, 0, 5, 2, 0, 1, 0, 0, 0, 0, 0, 0))).toThrow(/refused CONNECT 198.51.100.2:80: connection not allowed by ruleset/);
  });

  test('"auto" and false: one round trip at a time until learnPipelining says otherwise', () => {
    expect([...new Socks5Dialer(url).handshake(T).start()]).toEqual([5, 1, 0]);
    const d = new Socks5Dialer(url, undefined, "auto");
    (d as unknown as { learnAfter: number }).learnAfter = Number.POSITIVE_INFINITY; // no background try against 192.0.2.2 here
    expect([...d.handshake(T).start()]).toEqual([5, 1, 0]);
    d.pipelined = true;
    expect(d.handshake(T).start().length).toBe(13);
  });
});

describe("HTTP CONNECT as a state machine", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  test("request with credentials; 200 split across pieces; bytes beyond the header block kept", () => {
    const m = new HttpConnectDialer(parseProxyUrl("http://alice:s3cret@192.0.2.2:8080", "http")).handshake(T);
    const req = new TextDecoder().decode(m.start());
    expect(req).toStartWith("CONNECT 198.51.100.2:80 HTTP/1.1\r\nHost: 198.51.100.2:80\r\nProxy-Authorization: Basic ");
    expect(m.feed(enc("HTTP/1.1 200 Connection established\r")).done).toBe(false);
    expect(m.feed(enc("\n\r")).done).toBe(false);
    const s = m.feed(enc("\nSSH-2.0"));
    expect(s.done).toBe(true);
    expect(new TextDecoder().decode(s.rest!)).toBe("SSH-2.0");
  });
  test("407 is auth with a hint, 403 is refused, garbage is protocol, an endless header is refused", () => {
    const d = new HttpConnectDialer(parseProxyUrl("http://192.0.2.2:8080", "http"));
    const reason = (text: string) => {
      const m = d.handshake(T);
      m.start();
      try {
        m.feed(enc(text));
      } catch (e) {
        return (e as ProxyError).reason;
      }
      return "none";
    };
    expect(reason("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n")).toBe("auth");
    expect(reason("HTTP/1.1 403 Forbidden\r\n\r\n")).toBe("refused");
    expect(reason("SSH-2.0-OpenSSH\r\n\r\n")).toBe("protocol");
    expect(reason("X".repeat(20000))).toBe("protocol");
    expect(reason("HTTP/1.1 200 OK\r\n")).toBe("none");
  });
});
