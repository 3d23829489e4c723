// Pure view goldens: the kernel replies captured with strace (tests/fixtures/netlink/*.hex.json
// with `views`) go through tunkit's views and must print exactly what ip printed from the same
// bytes — text lines and JSON, plain and with -d.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fromHex } from "../../common/hex.ts";
import { parseMessages } from "../../netlink/core/message.ts";
import { RTM } from "../../netlink/route/constants.ts";
import { decodeRtnl } from "../../netlink/route/decode.ts";
import { IpNames } from "../../netlink/route/names.ts";
import type { Rule } from "../../netlink/route/rule.ts";
import { ruleToIpJson, ruleToIpText } from "../../netlink/view/rule.ts";
import { FIXTURE_NAME_TEXTS, trimZeros } from "../fixtures/netlink/fixture.ts";

const dir = join(import.meta.dir, "../fixtures/netlink");
const names = new IpNames((db) => (FIXTURE_NAME_TEXTS[db] !== undefined ? [FIXTURE_NAME_TEXTS[db]!] : []));

interface Fixture {
  command: string;
  messages: Array<{ dir: string; hex: string }>;
  views?: { text: string; json: unknown[]; textDetails: string; jsonDetails: unknown[] };
}

function replies(fx: Fixture, type: number): unknown[] {
  const out: unknown[] = [];
  for (const m of fx.messages) {
    if (m.dir !== "recv") continue;
    for (const msg of parseMessages(trimZeros(fromHex(m.hex)))) if (msg.type === type) out.push(decodeRtnl(msg).value);
  }
  return out;
}

const fixtures = readdirSync(dir)
  .filter((f) => f.endsWith(".hex.json"))
  .map((f) => [f.replace(".hex.json", ""), JSON.parse(readFileSync(join(dir, f), "utf8")) as Fixture] as const)
  .filter(([, fx]) => fx.views);

describe("ip rule show: text and JSON from the same bytes", () => {
  const ruleFixtures = fixtures.filter(([, fx]) => fx.command.startsWith("ip rule"));
  test("there are rule listing fixtures", () => expect(ruleFixtures.length).toBeGreaterThanOrEqual(2));
  for (const [name, fx] of ruleFixtures) {
    const rules = replies(fx, RTM.NEWRULE) as Rule[];
    for (const details of [false, true]) {
      test(`${name}${details ? " (-d)" : ""}`, () => {
        const ctx = { names, details };
        const text = rules.map((r) => ruleToIpText(r, ctx) + "\n").join("");
        expect(text).toBe(details ? fx.views!.textDetails : fx.views!.text);
        expect(rules.map((r) => ruleToIpJson(r, ctx))).toEqual((details ? fx.views!.jsonDetails : fx.views!.json) as never);
      });
    }
  }
});
