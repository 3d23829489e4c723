// Known-answer tests for every primitive WireGuard uses, on every library tunkit can load:
// BLAKE2s (RFC 7693 and the BLAKE2 authors' keyed KAT), HMAC/KDF through the Noise vector,
// X25519 (RFC 7748 §5.2 and §6.1), ChaCha20-Poly1305 (RFC 8439 §2.8.2), HChaCha20 and
// XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha §2.2.1, §A.3.1), and a whole
// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s handshake with its transport messages (the cacophony
// vector set by the Noise specification's community, as shipped with the snow library's tests).
import { describe, expect, test } from "bun:test";
import { Blake2s, hash, mac } from "../../wg/crypto/blake2s.ts";
import { hchacha20, xopen, xseal } from "../../wg/crypto/xchacha.ts";
import { loadLibcrypto, loadSodium, type NativeCrypto } from "../../ffi/crypto.ts";
import { loadWgCrypto, type WgCrypto } from "../../wg/crypto/provider.ts";
import { initialState, readMessage1, readMessage2, split, writeMessage1, writeMessage2 } from "../../wg/noise.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (b) => parseInt(b, 16));
const toHex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const ascii = (s: string) => new TextEncoder().encode(s);

const libs: NativeCrypto[] = [];
for (const load of [loadLibcrypto, loadSodium]) {
  try {
    libs.push(await load());
  } catch (e) {
    console.log(`!!! ${(e as Error).message}: its known-answer tests are skipped`);
  }
}

describe("BLAKE2s", () => {
  test("RFC 7693 Appendix B: BLAKE2s-256('abc'), and the empty input", () => {
    expect(toHex(hash(ascii("abc")))).toBe("508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982");
    expect(toHex(hash(new Uint8Array(0)))).toBe("69217a3079908094e11121d042354a7c1f55b6482ca1a51e1b250dfd1ed0eef9");
  });
  test("keyed KAT (key 00..1f): empty input and 00..ff", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i);
    expect(toHex(new Blake2s(32, key).digest())).toBe("48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49");
    const msg = Uint8Array.from({ length: 255 }, (_, i) => i);
    expect(toHex(new Blake2s(32, key).update(msg).digest())).toBe("3fb735061abc519dfe979e54c1ee5bfad0a9d858b3315bad34bde999efd724dd");
  });
  test("incremental updates of any split give the same digest", () => {
    const msg = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
    const whole = toHex(hash(msg));
    for (const cut of [0, 1, 63, 64, 65, 128, 129, 299]) {
      expect(toHex(new Blake2s().update(msg.subarray(0, cut)).update(msg.subarray(cut)).digest())).toBe(whole);
    }
  });
  test("16-byte keyed MAC (WireGuard's mac1/mac2 shape)", () => {
    expect(toHex(mac(Uint8Array.from({ length: 32 }, (_, i) => i), new Uint8Array(0)))).toBe("9536f9b267655743dee97b8a670f9f53");
  });
});

describe.each(libs.map((l) => [l.name, l] as const))("%s", (_name, na) => {
  test("ChaCha20-Poly1305: RFC 8439 §2.8.2", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
    const nonce = hex("070000004041424344454647");
    const ad = hex("50515253c0c1c2c3c4c5c6c7");
    const pt = ascii("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const out = new Uint8Array(pt.length + 16);
    const k = na.key(key);
    na.seal(k, 0, out, 0, pt, 0, pt.length, ad, nonce);
    expect(toHex(out)).toBe(
      "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116" +
        "1ae10b594f09e26a7e902ecbd0600691",
    );
    const back = new Uint8Array(pt.length);
    expect(na.open(k, 0, back, 0, out, 0, out.length, ad, nonce)).toBe(true);
    expect(back).toEqual(pt);
    out[5]! ^= 1;
    expect(na.open(k, 0, back, 0, out, 0, out.length, ad, nonce)).toBe(false);
    k.free();
  });
  test("ChaCha20-Poly1305 in place at offsets, counter nonces", () => {
    const k = na.key(new Uint8Array(32).fill(7));
    const buf = new Uint8Array(2048);
    buf.fill(0xab, 16, 16 + 1400);
    na.seal(k, 2 ** 40 + 5, buf, 16, buf, 16, 1400);
    expect(buf[16]).not.toBe(0xab);
    // A failed open may scribble on its output (both libraries do): check it out of place.
    expect(na.open(k, 2 ** 40 + 4, new Uint8Array(1400), 0, buf, 16, 1416)).toBe(false);
    expect(na.open(k, 2 ** 40 + 5, buf, 16, buf, 16, 1416)).toBe(true);
    expect(buf.subarray(16, 1416).every((b) => b === 0xab)).toBe(true);
  });
  test("X25519: RFC 7748 §5.2 vectors and the §6.1 key exchange", () => {
    const out = new Uint8Array(32);
    expect(na.x25519(out, hex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"), hex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"))).toBe(true);
    expect(toHex(out)).toBe("c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
    na.x25519(out, hex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"), hex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"));
    expect(toHex(out)).toBe("95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
    const alice = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
    const bob = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
    na.x25519Base(out, alice);
    expect(toHex(out)).toBe("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
    na.x25519Base(out, bob);
    expect(toHex(out)).toBe("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
    na.x25519(out, alice, hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"));
    expect(toHex(out)).toBe("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
  });
  test("X25519 refuses a low-order point (all-zero result)", () => {
    expect(na.x25519(new Uint8Array(32), new Uint8Array(32).fill(3), new Uint8Array(32))).toBe(false);
  });
  test("XChaCha20-Poly1305: draft-irtf-cfrg-xchacha §A.3.1", () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
    const nonce = Uint8Array.from({ length: 24 }, (_, i) => 0x40 + i);
    const ad = hex("50515253c0c1c2c3c4c5c6c7");
    const pt = ascii("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const c = xseal(na, key, nonce, pt, ad);
    expect(toHex(c)).toBe(
      "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b4522f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff921f9664c97637da9768812f615c68b13b52e" +
        "c0875924c1c7987947deafd8780acf49",
    );
    expect(xopen(na, key, nonce, c, ad)).toEqual(pt);
    expect(xopen(na, key, nonce, c, new Uint8Array(1))).toBeNull();
  });
});

test("HChaCha20: draft-irtf-cfrg-xchacha §2.2.1", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  expect(toHex(hchacha20(key, hex("000000090000004a0000000031415927")))).toBe("82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc");
});

// Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, cacophony vector (prologue "John Galt").
const V = {
  prologue: "4a6f686e2047616c74",
  psk: "54686973206973206d7920417573747269616e20706572737065637469766521",
  initStatic: "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1",
  initEphemeral: "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a",
  respStaticPub: "31e0303fd6418d2f8c0e78b91f22e8caed0fbe48656dcf4767e4834f701b8f62",
  respStatic: "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893",
  respEphemeral: "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b",
  handshakeHash: "f5191b875290abcd41347ac3622d9679688a7e980229cb937ef748336cfde0e5",
  messages: [
    ["4c756477696720766f6e204d69736573", "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c7944001e21de9f98ddd8e2ad57527207feb56253c9c94a9e496782ecfcb2a75fbcaf1b52948cc48daefe660c62119ab5000980c84831215f2441eba616548e832985464cf17e51ee93109008399a21f7e13f"],
    ["4d757272617920526f746862617264", "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f144808843cb765f2caef0751b8f007572dab0322217755c0632f365717edbf34d33e87a"],
    ["462e20412e20486179656b", "8153ca9833bc3c1b91a7e66e5f4d4f5b59bf9e64c2f20d15f0bba7"],
    ["4361726c204d656e676572", "07af0c9c86e1b4e80f36b04ff7688d51141af3debd0332f0a705ef"],
    ["4a65616e2d426170746973746520536179", "6ab1467c0448cc78394494abaaf23afce0e234315d6e2624dcbfa8a21c1c4d073d"],
    ["457567656e2042f6686d20766f6e2042617765726b", "dfc346c0d2296ae6cf1acf6f12b8456a1dba228cf8d8b774aacf1c47fc53aa80ebc7a4c292"],
  ],
} as const;

const combos: Array<[string, WgCrypto]> = [];
for (const aead of libs) for (const dh of libs) combos.push([`aead=${aead.name} dh=${dh.name}`, { aead, dh, description: "" }]);

describe.each(combos)("Noise_IKpsk2 vector, %s", (_n, c) => {
  test("both messages, the handshake hash and four transport messages match byte for byte", () => {
    const iS = hex(V.initStatic);
    const iSpub = new Uint8Array(32);
    c.dh.x25519Base(iSpub, iS);
    const rs = hex(V.respStaticPub);
    const psk = hex(V.psk);
    const [p0, c0] = V.messages[0]!;
    const m1 = writeMessage1(c, initialState(hex(V.prologue), rs), iS, iSpub, rs, hex(V.initEphemeral), hex(p0))!;
    expect(toHex(m1.body)).toBe(c0);
    // The responder reads it with its own keys.
    const r1 = readMessage1(c, initialState(hex(V.prologue), rs), hex(V.respStatic), hex(c0), hex(p0).length)!;
    expect(r1).not.toBeNull();
    expect(toHex(r1.payload)).toBe(p0);
    expect(r1.remoteStatic).toEqual(iSpub);
    const [p1, c1] = V.messages[1]!;
    const m2 = writeMessage2(c, r1.state, r1.remoteEphemeral, r1.remoteStatic, hex(V.respEphemeral), psk, hex(p1))!;
    expect(toHex(m2.body)).toBe(c1);
    const r2 = readMessage2(c, m1.state, iS, hex(V.initEphemeral), psk, hex(c1), hex(p1).length)!;
    expect(toHex(r2.payload)).toBe(p1);
    expect(toHex(r2.state.h)).toBe(V.handshakeHash);
    expect(toHex(m2.state.h)).toBe(V.handshakeHash);
    const [iSend, iRecv] = split(r2.state);
    const [rRecv, rSend] = split(m2.state);
    expect(iSend).toEqual(rRecv);
    expect(iRecv).toEqual(rSend);
    const keys = [c.aead.key(iSend), c.aead.key(rSend)];
    for (let i = 2; i < 6; i++) {
      const [p, ct] = V.messages[i]!;
      const pt = hex(p);
      const out = new Uint8Array(pt.length + 16);
      c.aead.seal(keys[i % 2]!, Math.floor((i - 2) / 2), out, 0, pt, 0, pt.length);
      expect(toHex(out)).toBe(ct);
    }
  });
  test("a flipped bit anywhere in message 1 is refused", () => {
    const [p0, c0] = V.messages[0]!;
    const rs = hex(V.respStaticPub);
    for (const at of [0, 40, 79, 90, 111]) {
      const bad = hex(c0);
      bad[at]! ^= 0x01;
      expect(readMessage1(c, initialState(hex(V.prologue), rs), hex(V.respStatic), bad, hex(p0).length)).toBeNull();
    }
  });
});

test("the default provider loads and says which library does what", async () => {
  const c = await loadWgCrypto();
  expect(c.description).toMatch(/^aead=(libcrypto|libsodium) dh=(libcrypto|libsodium)$/);
});
