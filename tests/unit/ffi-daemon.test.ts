import { describe, expect, test } from "bun:test";
import { syslogLine } from "../../ffi/daemon.ts";

describe("syslogLine", () => {
  test("glibc's form: <PRI>Mmm dd hh:mm:ss tag[pid]: msg, facility daemon, day space-padded", () => {
    const at = new Date(2026, 0, 5, 7, 8, 9);
    expect(syslogLine("err", "tunkit-wg", 7, "wg0 stopped: boom", at)).toBe("<27>Jan  5 07:08:09 tunkit-wg[7]: wg0 stopped: boom");
    expect(syslogLine("info", "t", 1, "x", new Date(2026, 11, 25, 23, 59, 0))).toBe("<30>Dec 25 23:59:00 t[1]: x");
    expect(syslogLine("warning", "t", 1, "x", at).startsWith("<28>")).toBe(true);
  });
  test("one message, one line: newlines become spaces", () => {
    expect(syslogLine("notice", "t", 1, "a\nb\r\nc", new Date(2026, 0, 1))).toBe("<29>Jan  1 00:00:00 t[1]: a b c");
  });
});
