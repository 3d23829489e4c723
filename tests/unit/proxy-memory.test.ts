// The daemon's periodic trim of the binary's pages (proxy/memory.ts): when a tick drops, and
// that the timer reads, drops and stops.
import { expect, test } from "bun:test";
import { fileResidentMB, startImageTrim, TRIM_FIRST_PROBE_TICKS, TRIM_MAX_SKIP, TRIM_PROBE_TICKS, TRIM_QUIET_CPU, TRIM_STREAK, TrimState, trimSettings } from "../../proxy/memory.ts";

test("a burst drops every tick while 2 MB over the lowest level seen, and stops near it", () => {
  const s = new TrimState(2);
  const steps = [14, 14.5, 25, 19, 18, 15.5, 15.9, 14.2].map((mb) => s.step(mb));
  expect(steps).toEqual(["none", "none", "drop", "drop", "drop", "none", "none", "none"]);
  expect(s.floor).toBe(14);
  expect(s.drops).toBe(3);
});

test("a lower level becomes the floor (the kernel reclaimed, or a drop went deeper)", () => {
  const s = new TrimState(2);
  expect(s.step(20)).toBe("none");
  expect(s.step(12)).toBe("none");
  expect(s.floor).toBe(12);
  expect(s.step(14.5)).toBe("drop");
});

test("work that faults the same pages back every tick is dropped less and less often, and a quiet tick resets that", () => {
  const s = new TrimState(2);
  s.step(10);
  const seq: string[] = [];
  for (let i = 0; i < 400; i++) seq.push(s.step(20));
  const drops = seq.flatMap((x, i) => (x === "drop" ? [i] : []));
  // one per tick for the first TRIM_STREAK, then gaps that double up to TRIM_MAX_SKIP
  expect(drops.slice(0, TRIM_STREAK)).toEqual(Array.from({ length: TRIM_STREAK }, (_, i) => i));
  const gaps = drops.slice(TRIM_STREAK - 1).map((d, i, a) => (i ? d - a[i - 1]! - 1 : 0)).slice(1);
  expect(gaps.slice(0, 4)).toEqual([2, 4, 8, 16]);
  expect(Math.max(...gaps)).toBe(TRIM_MAX_SKIP);
  expect(drops.length).toBeLessThan(40);
  // back near the floor: the next burst drops at once again
  expect(s.step(10.5)).toBe("none");
  expect(s.step(20)).toBe("drop");
  expect(s.step(20)).toBe("drop");
});

test("a floor first seen while work ran is probed after TRIM_FIRST_PROBE_TICKS quiet ticks, later ones after TRIM_PROBE_TICKS: one drop, and the level a tick later is the floor", () => {
  const s = new TrimState(2);
  // The first look comes while start-up still runs (the eighth session's first daemon: 26.5 MB a
  // tick after the ready drop to 16, and no burst of 5,000 connections was ever dropped after it).
  const first = Array.from({ length: TRIM_FIRST_PROBE_TICKS }, () => s.step(26.5));
  expect(first.slice(0, -1).every((x) => x === "none")).toBe(true);
  expect(first.at(-1)).toBe("drop"); // the first probe
  expect(s.soon).toBe(false); // a probe: no early look after it
  expect(s.step(12)).toBe("none"); // what idle work brought back after it: the floor now
  expect(s.floor).toBe(12);
  expect(s.step(24)).toBe("drop"); // the burst is dropped at once
  expect(s.soon).toBe(true);
  expect(s.step(12.5)).toBe("none");
  // a floor seen later while work ran: probed after TRIM_PROBE_TICKS quiet ticks
  const t = new TrimState(2);
  expect(t.step(10)).toBe("none");
  expect(t.step(24)).toBe("drop"); // work: the quiet count starts again
  const seq = Array.from({ length: TRIM_PROBE_TICKS }, () => t.step(11));
  expect(seq.slice(0, -1).every((x) => x === "none")).toBe(true);
  expect(seq.at(-1)).toBe("drop");
  expect(t.step(8.5)).toBe("none");
  expect(t.floor).toBe(8.5);
  // a truly idle daemon is probed once per TRIM_PROBE_TICKS ticks, no more
  const idle = Array.from({ length: 3 * TRIM_PROBE_TICKS }, () => t.step(8.6));
  expect(idle.filter((x) => x === "drop")).toHaveLength(3);
  expect(t.floor).toBe(8.6);
});

test("after a drop during work the next look comes fastMs later (no interval tick needed); a probe and work that keeps faulting pages back get none", async () => {
  const levels = [10, 20, 20, 20, 10];
  let reads = 0;
  let drops = 0;
  const t = startImageTrim(
    async () => {
      drops++;
      return 1;
    },
    // busy: a core's worth of CPU between looks (work, not an idle daemon's own collections)
    { intervalMs: 3_600_000, fastMs: 1, read: () => levels[Math.min(reads++, levels.length - 1)]!, cpuMs: () => performance.now() },
  );
  t.look(); // 10: the floor
  t.look(); // 20: a drop, then looks 1 ms apart until the level is back near the floor
  for (let i = 0; i < 500 && reads < levels.length; i++) await Bun.sleep(2);
  await Bun.sleep(20);
  t.stop();
  expect(reads).toBe(levels.length); // the last look (10) dropped nothing, so no further look came
  expect(drops).toBe(3);
  // no early look once work has faulted the same pages back TRIM_STREAK ticks in a row; early
  // looks drop but count toward no streak (a burst of a few seconds is not sustained work)
  const s = new TrimState(2);
  s.step(10);
  for (let i = 0; i < 100; i++) expect(s.step(20, true)).toBe("drop");
  expect(s.soon).toBe(true);
  for (let i = 0; i < TRIM_STREAK - 1; i++) expect(s.step(20)).toBe("drop");
  expect(s.soon).toBe(true);
  expect(s.step(20)).toBe("drop");
  expect(s.soon).toBe(false);
  // while ticks are skipped an early look still drops but asks for no further early look
  expect(s.step(20, true)).toBe("drop");
  expect(s.soon).toBe(false);
});

test("growth seen after a quiet time (no work) is dropped once, as a probe: the level a tick later is the floor, not dropped each tick", () => {
  // a daemon after a flow: its collections and JIT fault 2-3 MB of the binary back within a second
  const s = new TrimState(2);
  expect(s.step(10)).toBe("none");
  expect(s.step(13, false, true)).toBe("drop");
  expect(s.soon).toBe(false); // no early look either
  const after = Array.from({ length: 20 }, () => s.step(12.5, false, true));
  expect(after.every((x) => x === "none")).toBe(true);
  expect(s.floor).toBe(12.5);
  // work again (not idle): growth over that floor is dropped each tick as before
  expect(s.step(20)).toBe("drop");
  expect(s.step(20)).toBe("drop");
});

test("startImageTrim tells quiet from work by the process's CPU time between looks", async () => {
  for (const [share, want] of [[0, 1], [TRIM_QUIET_CPU * 2, 5]] as const) {
    const levels = [10, 13, 12.5, 12.5, 12.5, 12.5];
    let reads = 0;
    let drops = 0;
    const t0 = performance.now();
    const t = startImageTrim(
      async () => {
        drops++;
        return 1;
      },
      { intervalMs: 3_600_000, fastMs: 3_600_000, read: () => levels[Math.min(reads++, levels.length - 1)]!, cpuMs: () => (performance.now() - t0) * share },
    );
    for (let i = 0; i < levels.length; i++) {
      await Bun.sleep(3);
      t.look();
      await Bun.sleep(1); // the drop's promise settles
    }
    t.stop();
    expect([share, drops]).toEqual([share, want]);
  }
});

test("the timer reads the level each interval, calls drop when the state says so, and stops", async () => {
  const levels = [10, 10, 15, 10, 10, 10];
  let reads = 0;
  let drops = 0;
  const dropped: number[] = [];
  const t = startImageTrim(
    async () => {
      drops++;
      return 4.5;
    },
    { intervalMs: 5, read: () => levels[Math.min(reads++, levels.length - 1)]!, onDrop: (mb) => dropped.push(mb) },
  );
  for (let i = 0; i < 200 && reads < levels.length + 2; i++) await Bun.sleep(5);
  t.stop();
  const after = reads;
  await Bun.sleep(30);
  expect(reads).toBe(after);
  expect(drops).toBe(1);
  expect(dropped).toEqual([4.5]);
  expect(t.state.drops).toBe(1);
});

test("fileResidentMB reads this process's file-backed resident set", () => {
  const mb = fileResidentMB();
  // a running bun maps its own binary and libc: some MB, far less than the whole machine
  expect(mb).toBeGreaterThan(0.5);
  expect(mb).toBeLessThan(4096);
});

test("trimSettings: TUNKIT_MEM_TRIM=0 turns the trim off, MS sets the interval; a value that is not a number keeps the default", () => {
  expect(trimSettings({})).toEqual({ intervalMs: 1000, growthMB: 2 });
  expect(trimSettings({ TUNKIT_MEM_TRIM: "0" })).toBeUndefined();
  expect(trimSettings({ TUNKIT_MEM_TRIM: "250", TUNKIT_MEM_TRIM_MB: "4" })).toEqual({ intervalMs: 250, growthMB: 4 });
  // "abc" as the growth made every tick drop (x - floor < NaN is false)
  expect(trimSettings({ TUNKIT_MEM_TRIM_MB: "abc" })).toEqual({ intervalMs: 1000, growthMB: 2 });
  expect(trimSettings({ TUNKIT_MEM_TRIM_MB: "0" })).toEqual({ intervalMs: 1000, growthMB: 2 });
  expect(trimSettings({ TUNKIT_MEM_TRIM: "soon" })).toEqual({ intervalMs: 1000, growthMB: 2 });
  expect(trimSettings({ TUNKIT_MEM_TRIM: "-5" })).toEqual({ intervalMs: 1000, growthMB: 2 });
});
