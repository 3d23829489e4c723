// Every netlink decoder (every kind of the registry, with its views) against 120,000 seeded
// random and mutated inputs (mutations of the golden kernel replies and iproute2 requests):
// typed decode errors only, never a crash or hang.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isDecodeError } from "../../common/errors.ts";
import { fromHex } from "../../common/hex.ts";
import { parseAck, parseDone, parseMessages } from "../../netlink/core/message.ts";
import { decodeRtnl } from "../../netlink/route/decode.ts";
import { RTNL_KINDS, RTNL_TYPES, type RtnlType } from "../../netlink/registry.ts";
import { trimZeros } from "../fixtures/netlink/fixture.ts";
import { mulberry32, mutate, randomBytes } from "./_fuzz.ts";

const dir = join(import.meta.dir, "../fixtures/netlink");
const buffers: Uint8Array[] = [];
const bodies: Array<{ type: number; flags: number; body: Uint8Array }> = [];
for (const f of readdirSync(dir).filter((f) => f.endsWith(".hex.json")).sort()) {
  for (const m of JSON.parse(readFileSync(join(dir, f), "utf8")).messages as Array<{ hex: string }>) {
    const b = trimZeros(fromHex(m.hex));
    buffers.push(b);
    for (const msg of parseMessages(b)) bodies.push({ type: msg.type, flags: msg.flags, body: msg.body.slice() });
  }
}

// Every kind of the registry: decode, then both views (plain and with every option).
const decoders: Array<(b: Uint8Array, flags: number) => unknown> = [
  ...RTNL_KINDS.flatMap((k) => {
    const t = RTNL_TYPES[k] as RtnlType<unknown>;
    const full = { details: true, stats: 2 };
    return [(b: Uint8Array) => t.json(t.decode(b)), (b: Uint8Array) => t.text?.(t.decode(b), full) ?? t.json(t.decode(b), full)];
  }),
  (b, f) => parseAck(b, f),
  (b, f) => parseDone(b, f),
];

function run(fn: () => unknown, input: Uint8Array, seed: number, i: number): number {
  try {
    fn();
    return 0;
  } catch (e) {
    if (isDecodeError(e)) return 1;
    throw new Error(`seed ${seed} input ${i} (${Buffer.from(input).toString("hex")}): untyped ${String(e)}`);
  }
}

test("120,000 fuzzed inputs: only typed errors", () => {
  const seed = 0x7e57;
  const rnd = mulberry32(seed);
  let typed = 0;
  let n = 0;
  for (let i = 0; i < 40_000; i++, n++) {
    // Whole receive buffers: framing + per-type decode.
    const src = buffers[Math.floor(rnd() * buffers.length)]!;
    const input = rnd() < 0.9 ? mutate(rnd, src) : randomBytes(rnd, 256);
    typed += run(() => parseMessages(input).map(decodeRtnl), input, seed, i);
  }
  for (let i = 0; i < 80_000; i++, n++) {
    // Payloads straight into each decoder, including ones meant for another type.
    const src = bodies[Math.floor(rnd() * bodies.length)]!;
    const input = rnd() < 0.9 ? mutate(rnd, src.body) : randomBytes(rnd, 512);
    const dec = decoders[Math.floor(rnd() * decoders.length)]!;
    const flags = rnd() < 0.5 ? src.flags : Math.floor(rnd() * 0x400);
    typed += run(() => dec(input, flags), input, seed, i);
  }
  expect(n).toBe(120_000);
  // The mutations must actually reach the error paths (and not all of them).
  expect(typed).toBeGreaterThan(10_000);
  expect(typed).toBeLessThan(n);
}, 90_000);
