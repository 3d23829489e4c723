// The one-shot path (cli/oneshot.ts, issue 11's start-up): the binary's entry sends `addr|route
// add|del|…` there; it must answer exactly as the full CLI (cli/run.ts) does, and decline, having
// printed nothing, every line that is not such a command. Only lines refused before any system
// call run here (bad input: exit 2); the requests themselves are tests/integration/cli-*.
import { describe, expect, test } from "bun:test";
import { runOneShot } from "../../cli/oneshot.ts";
import { run } from "../../cli/run.ts";

function sinks() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, sinks: { stdout: (s: string) => void out.push(s), stderr: (s: string) => void err.push(s), flush: () => {} } };
}

describe("cli/oneshot.ts", () => {
  test("declines, printing nothing, what is not a modify command of addr or route", async () => {
    for (const argv of [
      ["route", "list"], ["route"], ["route", "show", "add"], ["addr", "flush", "dev", "x"], ["addr", "add", "--help"], ["route", "add", "-h"],
      ["-batch", "f", "route", "add"], ["--frob", "route", "add", "10.0.0.0/8", "dev", "x"], ["-V", "route", "add"], ["link", "add", "x"],
      ["rule", "add", "from", "all"], ["route", "frob", "x"], ["help", "route", "add"],
    ]) {
      const s = sinks();
      expect({ argv, code: await runOneShot(argv, s.sinks) }).toEqual({ argv, code: undefined });
      expect(s.out.concat(s.err)).toEqual([]);
    }
  });

  test("bad input: the same exit code and the same lines as the full CLI", async () => {
    for (const argv of [
      ["addr", "add", "192.0.2.1/33", "dev", "tk0"],
      ["addr", "add", "dev", "tk0"],
      ["addr", "del", "192.0.2.1/24"],
      ["address", "change", "192.0.2.1/24", "dev", "tk0", "valid_lft", "x"],
      ["route", "add", "10.0.0.0/8", "dev", "tk0", "frob"],
      ["route", "del"],
      ["-6", "route", "add", "10.0.0.0/8", "dev", "tk0"],
      ["route", "replace", "10.0.0.0/8", "dev", "tk0", "--json", "metric", "z"],
      ["-n", "bad/name", "route", "add", "10.0.0.0/8", "dev", "tk0"],
      ["route", "add", "10.0.0.0/8", "dev", "tk0", "--netns", "a/b"],
      ["route", "append", "10.0.0.0/8", "via", "192.0.2.1", "table", "x y"],
    ]) {
      const a = sinks();
      const b = sinks();
      const one = await runOneShot(argv, a.sinks);
      const full = await run(argv, b.sinks);
      expect({ argv, code: one, err: a.err, out: a.out }).toEqual({ argv, code: full, err: b.err, out: b.out });
      expect(one).toBe(2);
      expect(a.err.length).toBeGreaterThan(0);
    }
  });
});
