import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const fixture = join(import.meta.dir, "../fixtures/proxy/reexec.ts");
/** What the kernel names a process started from the runtime's binary (not "exe"). */
const BIN_NAME = process.execPath.split("/").pop()!.slice(0, 15);

function run(args: string[], set: Record<string, string>) {
  const env = { ...process.env, ...set };
  if (!("TUNKIT_REEXEC_TEST" in set)) delete env.TUNKIT_REEXEC_TEST;
  if (!("TUNKIT_REEXEC_TEST2" in set)) delete env.TUNKIT_REEXEC_TEST2;
  delete env.TUNKIT_REEXEC_ADDED;
  const r = spawnSync(process.execPath, [fixture, ...args], { encoding: "utf8", env });
  expect(r.status).toBe(0);
  return { pid: r.pid, lines: r.stdout.trim().split("\n").map((l) => JSON.parse(l)) };
}

test("reexecWithEnv: same pid, same arguments, the variables set, and no second exec once they are", () => {
  const { pid, lines } = run(["a b", "", "ü"], {});
  // before the exec; after it (the program again, variables set); its reexec call returned; its name
  expect(lines).toHaveLength(4);
  expect(lines[0]).toEqual({ pid, v: null, v2: null, args: ["a b", "", "ü"] });
  expect(lines[1]).toEqual({ pid, v: "1", v2: "2", args: ["a b", "", "ü"] });
  // the variables it added are not passed on to children
  expect(lines[2]).toEqual({ returned: null, child: [null, null, null] });
  // the exec of /proc/self/exe named the image "exe" (ps, top): the binary's name is back
  expect(lines[3]).toEqual({ comm: BIN_NAME });
});

test("reexecWithEnv: every variable already set means no exec, and the user's values stay", () => {
  const { pid, lines } = run([], { TUNKIT_REEXEC_TEST: "0", TUNKIT_REEXEC_TEST2: "x" });
  expect(lines).toEqual([{ pid, v: "0", v2: "x", args: [] }, { returned: null, child: ["0", "x", null] }, { comm: BIN_NAME }]);
});

test("reexecWithEnv: a variable the user set keeps the user's value; only the missing one is added (and taken out again)", () => {
  const { pid, lines } = run([], { TUNKIT_REEXEC_TEST: "0" });
  expect(lines).toEqual([
    { pid, v: "0", v2: null, args: [] },
    { pid, v: "0", v2: "2", args: [] },
    { returned: null, child: ["0", null, null] },
    { comm: BIN_NAME },
  ]);
});
