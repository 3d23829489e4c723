import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const fixture = join(import.meta.dir, "../fixtures/proxy/reexec.ts");

test("reexecWithEnv: same pid, same arguments, the variable set, and no second exec once it is", () => {
  const env = { ...process.env };
  delete env.TUNKIT_REEXEC_TEST;
  const r = spawnSync(process.execPath, [fixture, "a b", "", "ü"], { encoding: "utf8", env });
  expect(r.status).toBe(0);
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  // before the exec; after it (the program again, variable set); its reexec call returned
  expect(lines).toHaveLength(3);
  expect(lines[0]).toEqual({ pid: r.pid, v: null, args: ["a b", "", "ü"] });
  expect(lines[1]).toEqual({ pid: r.pid, v: "1", args: ["a b", "", "ü"] });
  expect(lines[2]).toEqual({ returned: null });
});

test("reexecWithEnv: a variable already set means no exec", () => {
  const r = spawnSync(process.execPath, [fixture], { encoding: "utf8", env: { ...process.env, TUNKIT_REEXEC_TEST: "0" } });
  const lines = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
  expect(lines).toEqual([{ pid: r.pid, v: "0", args: [] }, { returned: null }]);
});
