// wg-quick config parsing, UAPI get/set text, `wg show` formatting, the doctor check.
import { expect, test } from "bun:test";
import { parseConfig, worldAccessible } from "../../wg/config.ts";
import { parseUapiGet, formatShow, ago, bytes } from "../../wg/show.ts";
import { uapiHandle, type UapiTarget } from "../../wg/uapi.ts";
import { WgDevice } from "../../wg/device.ts";
import { loadWgCrypto } from "../../wg/crypto/provider.ts";
import { checkWgCrypto } from "../../wg/doctor.ts";
import { fullTunnelFamilies, planFullTunnel } from "../../wg/fulltunnel.ts";
import { UsageError } from "../../common/errors.ts";

const K1 = "YNqHbfBQKaGvzefSSHhWZ5PsQ0sYKBFfhL+9ZXlMtWs=";
const K2 = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";

test("parses the wg-quick format; notes for DNS and hooks", () => {
  const c = parseConfig(`# comment
[Interface]
PrivateKey = ${K1}
ListenPort = 51820
Address = 10.0.0.1/24, 2001:db8::1/64
DNS = 192.0.2.53
MTU = 1380
FwMark = 0x20
PostUp = echo hi

[Peer]
PublicKey = ${K2}
AllowedIPs = 10.0.0.2/32, 2001:db8::2/128
Endpoint = 192.0.2.2:51820
PersistentKeepalive = 25
`, "wg0.conf");
  expect(c.listenPort).toBe(51820);
  expect(c.addresses).toEqual(["10.0.0.1/24", "2001:db8::1/64"]);
  expect(c.mtu).toBe(1380);
  expect(c.fwmark).toBe(0x20);
  expect(c.peers[0]!.allowedIps.length).toBe(2);
  expect(c.peers[0]!.persistentKeepalive).toBe(25);
  expect(c.notes.join("\n")).toContain("DNS = 192.0.2.53 is ignored");
  expect(c.notes.join("\n")).toContain("not run");
});

test("bad input names the line", () => {
  const bad: Array<[string, RegExp]> = [
    ["[Interface]\nPrivateKey = nope\n", /line 2: Invalid PrivateKey/],
    ["[Interface]\nListenPort = 70000\n", /line 2: ListenPort "70000"/],
    ["[Interface]\n[Peer]\nAllowedIPs = 10.0.0.0/8\n", /line 2: \[Peer\] without PublicKey/],
    ["[Interface]\nBogus = 1\n", /line 2: unknown \[Interface\] key "Bogus"/],
    [`[Interface]\n[Peer]\nPublicKey = ${K2}\nEndpoint = nowhere\n`, /line 4/],
    ["PrivateKey = x\n", /outside a section/],
    ["", /no \[Interface\]/],
  ];
  for (const [text, re] of bad) expect(() => parseConfig(text, "x.conf")).toThrow(re);
  expect(() => parseConfig("[Interface]\nListenPort = x\n")).toThrow(UsageError);
  expect(worldAccessible(0o604)).toBe(true);
  expect(worldAccessible(0o640)).toBe(false);
});

test("UAPI set then get round-trips; bad keys answer errno=-22", async () => {
  const c = await loadWgCrypto();
  const dev = new WgDevice({ crypto: c, send: () => {} });
  let port = 51820;
  const t: UapiTarget = { device: dev, get listenPort() { return port; }, fwMark: 0, rebind: (p) => void (port = p), refresh: () => {} };
  const hex = (b64: string) => Buffer.from(b64, "base64").toString("hex");
  const set = `set=1\nprivate_key=${hex(K1)}\nlisten_port=51999\nreplace_peers=true\npublic_key=${hex(K2)}\nendpoint=192.0.2.2:51820\npersistent_keepalive_interval=0\nreplace_allowed_ips=true\nallowed_ip=10.0.0.2/32\nallowed_ip=2001:db8::/64\n\n`;
  expect(uapiHandle(t, set)).toBe("errno=0\n\n");
  expect(port).toBe(51999);
  const get = uapiHandle(t, "get=1\n\n");
  expect(get).toContain(`private_key=${hex(K1)}\nlisten_port=51999\npublic_key=${hex(K2)}`);
  expect(get).toContain("endpoint=192.0.2.2:51820\n");
  expect(get).toContain("allowed_ip=10.0.0.2/32\nallowed_ip=2001:db8::/64\n");
  expect(get.endsWith("errno=0\n\n")).toBe(true);
  const shown = parseUapiGet("wg0", get);
  expect(shown.peers[0]!.publicKey).toBe(K2);
  expect(shown.peers[0]!.allowedIps).toEqual(["10.0.0.2/32", "2001:db8::/64"]);
  expect(uapiHandle(t, "set=1\nbogus=1\n\n")).toBe("errno=-22\n\n");
  expect(uapiHandle(t, `set=1\npublic_key=${hex(K2)}\nendpoint=nonsense\n\n`)).toBe("errno=-22\n\n");
  expect(uapiHandle(t, `set=1\npublic_key=${hex(K2)}\nremove=true\n\n`)).toBe("errno=0\n\n");
  expect(dev.peers.size).toBe(0);
});

test("wg show wording", () => {
  expect(ago(65)).toBe("1 minute, 5 seconds");
  expect(bytes(1536)).toBe("1.50 KiB");
  const text = formatShow({ interface: "wg0", publicKey: K1, privateKey: "x", listenPort: 51820, fwmark: 0, peers: [
    { publicKey: K2, presharedKey: true, endpoint: "192.0.2.2:51820", allowedIps: ["10.0.0.2/32"], latestHandshake: 1000, rxBytes: 100, txBytes: 2048, persistentKeepalive: 25 },
  ] }, 1065);
  expect(text).toBe(`interface: wg0
  public key: ${K1}
  private key: (hidden)
  listening port: 51820

peer: ${K2}
  preshared key: (hidden)
  endpoint: 192.0.2.2:51820
  allowed ips: 10.0.0.2/32
  latest handshake: 1 minute, 5 seconds ago
  transfer: 100 B received, 2.00 KiB sent
  persistent keepalive: every 25 seconds
`);
});

test("doctor: ok with a library, warn with the install hint without", async () => {
  expect((await checkWgCrypto()).status).toBe("ok");
  const w = await checkWgCrypto(() => Promise.reject(new Error("no lib")));
  expect(w.status).toBe("warn");
  expect(w.fix).toContain("libssl3");
});

test("full tunnel: which families, and wg-quick's rules just below the first existing one", () => {
  const cfg = (allowed: string, table = "") => parseConfig(`[Interface]\nPrivateKey = ${K1}\n${table}\n[Peer]\nPublicKey = ${K2}\nAllowedIPs = ${allowed}\n`);
  expect(fullTunnelFamilies(cfg("10.0.0.0/8, 2001:db8::/32"))).toEqual([]);
  expect(fullTunnelFamilies(cfg("0.0.0.0/0"))).toEqual([4]);
  expect(fullTunnelFamilies(cfg("::/0, 0.0.0.0/0"))).toEqual([4, 6]);
  expect(fullTunnelFamilies(cfg("0.0.0.0/0", "Table = off"))).toEqual([]);
  expect(fullTunnelFamilies(cfg("0.0.0.0/0", "Table = 1234"))).toEqual([]);
  const p = planFullTunnel("wg0", 51820, [4, 6], { 4: 32766, 6: 1000 });
  expect(p.rules).toEqual([
    { family: 2, priority: 32764, table: 254, suppressPrefixlen: 0 },
    { family: 2, priority: 32765, not: true, fwmark: 51820, table: 51820 },
    { family: 10, priority: 998, table: 254, suppressPrefixlen: 0 },
    { family: 10, priority: 999, not: true, fwmark: 51820, table: 51820 },
  ]);
  // A device route, and behind it (last metric) the fail-closed one.
  expect(p.routes.filter((r) => r.family === 2)).toEqual([
    { dst: "default", family: 2, dev: "wg0", table: 51820, protocol: "static" },
    { dst: "default", family: 2, type: "unreachable", table: 51820, metric: 0xffffffff, protocol: "static" },
  ]);
});
