// Handshake flood for bench/wg.ts, run inside host B: N peers (keys made here) send valid
// handshake initiations to the responder as fast as its per-peer rate limit allows (one per
// peer every 25 ms: wireguard-go and tunkit both take at most 50 per second from one peer),
// spread over several source addresses (both take at most 20 per second from one address
// while under load). Cookie replies are honoured: later initiations from that address carry
// mac2. Counts handshake responses (= handshakes the responder completed) and cookie replies.
//
// Protocol with the parent: prints {"publicKeys":[...]} on the first line (the parent adds
// them as peers), waits for a line on stdin, floods for SECONDS, prints the result as JSON.
//
// Usage: bun bench/wg-flood-child.ts RESPONDER_PUB HOST PORT PEERS SECONDS SRC_ADDR...
import { createSocket, type Socket } from "node:dgram";
import { loadWgCrypto } from "../wg/crypto/provider.ts";
import { parseKey, generatePrivateKey, publicKey, formatKey } from "../wg/keys.ts";
import { initialState, writeMessage1, IDENTIFIER } from "../wg/noise.ts";
import { hash, mac } from "../wg/crypto/blake2s.ts";
import { xopen } from "../wg/crypto/xchacha.ts";
import { tai64n } from "../wg/tai64n.ts";

const [pubText, host, portText, peersText, secondsText, ...sources] = process.argv.slice(2);
const c = await loadWgCrypto();
const rs = parseKey(pubText!);
const port = Number(portText);
const nPeers = Number(peersText);
const seconds = Number(secondsText);
const PER_PEER_GAP = 25; // ms, over the 20 ms both responders allow
const rounds = Math.ceil((seconds * 1000) / PER_PEER_GAP) + 2;
const enc = new TextEncoder();
const mac1Key = hash(enc.encode("mac1----"), rs);
const cookieKey = hash(enc.encode("cookie--"), rs);

const peers = Array.from({ length: nPeers }, () => {
  const priv = generatePrivateKey();
  return { priv, pub: publicKey(c, priv) };
});
console.log(JSON.stringify({ publicKeys: peers.map((p) => formatKey(p.pub)) }));

// Every initiation ahead of time (three X25519s and a dozen BLAKE2s each): the flood itself
// only adds macs and sends. Timestamps rise by PER_PEER_GAP per round, as a live peer's would.
const t0 = Date.now();
const msgs: Uint8Array[][] = peers.map(() => []);
const eph = generatePrivateKey();
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < nPeers; i++) {
    const m1 = writeMessage1(c, initialState(IDENTIFIER, rs), peers[i]!.priv, peers[i]!.pub, rs, eph, tai64n(t0 + r * PER_PEER_GAP))!;
    const msg = new Uint8Array(148);
    msg[0] = 1;
    new DataView(msg.buffer).setUint32(4, (r * nPeers + i + 1) >>> 0, true); // sender index
    msg.set(m1.body, 8);
    mac(mac1Key, msg.subarray(0, 116), msg, 116);
    msgs[i]!.push(msg);
  }
}

interface Source { sock: Socket; cookie?: Uint8Array }
const socks: Source[] = await Promise.all(
  sources.map(
    (addr) =>
      new Promise<Source>((resolve) => {
        const sock = createSocket(host!.includes(":") ? "udp6" : "udp4");
        sock.bind(0, addr, () => resolve({ sock }));
      }),
  ),
);
let responses = 0;
let cookies = 0;
let other = 0;
const mac1Of = new Map<number, Uint8Array>();
for (const s of socks) {
  s.sock.on("message", (m: Buffer) => {
    if (m[0] === 2 && m.length === 92) responses++;
    else if (m[0] === 3 && m.length === 64) {
      cookies++;
      const idx = m.readUInt32LE(4);
      const m1 = mac1Of.get(idx);
      if (!m1) return;
      const cookie = xopen(c.aead, cookieKey, m.subarray(8, 32), m.subarray(32, 64), m1);
      if (cookie) s.cookie = cookie;
    } else other++;
  });
}

await new Promise<void>((r) => process.stdin.once("data", () => r()));
const start = performance.now();
let sent = 0;
for (let r = 0; r < rounds && performance.now() - start < seconds * 1000; r++) {
  const due = start + r * PER_PEER_GAP;
  while (performance.now() < due) await new Promise((res) => setTimeout(res, 1));
  for (let i = 0; i < nPeers; i++) {
    const s = socks[i % socks.length]!;
    const msg = msgs[i]![r]!;
    mac1Of.set(new DataView(msg.buffer).getUint32(4, true), msg.subarray(116, 132));
    if (s.cookie) mac(s.cookie, msg.subarray(0, 132), msg, 132);
    s.sock.send(msg, port, host);
    sent++;
  }
  if (r % 4 === 3) await new Promise((res) => setImmediate(res));
}
const elapsed = (performance.now() - start) / 1000;
await new Promise((r) => setTimeout(r, 1000)); // late answers
console.log(JSON.stringify({ sent, responses, cookies, other, seconds: elapsed, handshakesPerSecond: responses / elapsed, offeredPerSecond: sent / elapsed }));
for (const s of socks) s.sock.close();
process.exit(0);
