// bench/nofile.ts: the open-files limit bench/proxy.ts raises before holding 5,000 connections
// (it used to ask prlimit for 65535 where the hard limit is 20,000, and failed silently).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { openFilesLimit, openFilesPlan, raiseOpenFiles } from "../../bench/nofile.ts";

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units     
Max cpu time              unlimited            unlimited            seconds   
Max open files            1024                 20000                files     
Max locked memory         8388608              8388608              bytes     
`;

test("openFilesLimit reads the soft and hard limit of /proc/PID/limits (unlimited: Infinity)", () => {
  expect(openFilesLimit(LIMITS)).toEqual({ soft: 1024, hard: 20000 });
  expect(openFilesLimit("Max open files            unlimited            unlimited            files\n")).toEqual({ soft: Infinity, hard: Infinity });
  expect(openFilesLimit("Max cpu time unlimited unlimited seconds\n")).toBeUndefined();
});

test("openFilesPlan asks for the wanted limit where the hard limit allows, the hard limit where it is lower but enough, and refuses below the need", () => {
  expect(openFilesPlan({ soft: 1024, hard: 1 << 20 }, 10500, 65535)).toEqual({ set: 65535 });
  expect(openFilesPlan({ soft: 1024, hard: 20000 }, 10500, 65535)).toEqual({ set: 20000 });
  expect(openFilesPlan({ soft: 100000, hard: 200000 }, 10500, 65535)).toEqual({ set: 100000 }); // never lowered
  const e = openFilesPlan({ soft: 1024, hard: 4096 }, 10500, 65535, "5,000 held connections");
  expect("error" in e && e.error).toContain("5,000 held connections needs 10500 open files and the hard limit here is 4096");
});

test("raiseOpenFiles throws, naming the need and the hard limit, when the hard limit is below it", () => {
  const hard = openFilesLimit(readFileSync("/proc/self/limits", "utf8"))!.hard;
  expect(hard).toBeGreaterThan(0);
  if (hard === Infinity) return; // nothing is over an unlimited hard limit (openFilesPlan's cases above)
  expect(() => raiseOpenFiles(hard + 1, hard + 1, "the test")).toThrow(`the test needs ${hard + 1} open files and the hard limit here is ${hard}`);
});
