import { describe, expect, test } from "bun:test";
import { ERRNO, errnoName, errnoText, SysError } from "../../ffi/errors.ts";

describe("errno texts and names", () => {
  // glibc's strerror() for every errno tunkit names (checked against Python's os.strerror on glibc).
  const golden: Record<number, string> = {
    1: "Operation not permitted", 2: "No such file or directory", 3: "No such process", 4: "Interrupted system call",
    5: "Input/output error", 6: "No such device or address", 7: "Argument list too long", 9: "Bad file descriptor",
    11: "Resource temporarily unavailable", 12: "Cannot allocate memory", 13: "Permission denied", 14: "Bad address",
    16: "Device or resource busy", 17: "File exists", 19: "No such device", 20: "Not a directory",
    21: "Is a directory", 22: "Invalid argument", 23: "Too many open files in system", 24: "Too many open files",
    25: "Inappropriate ioctl for device", 28: "No space left on device", 27: "File too large", 29: "Illegal seek",
    30: "Read-only file system", 32: "Broken pipe", 34: "Numerical result out of range", 36: "File name too long",
    38: "Function not implemented", 40: "Too many levels of symbolic links", 42: "No message of desired type",
    75: "Value too large for defined data type", 77: "File descriptor in bad state",
    88: "Socket operation on non-socket", 89: "Destination address required", 90: "Message too long",
    91: "Protocol wrong type for socket", 92: "Protocol not available", 93: "Protocol not supported",
    95: "Operation not supported", 97: "Address family not supported by protocol", 98: "Address already in use",
    99: "Cannot assign requested address", 100: "Network is down", 101: "Network is unreachable",
    103: "Software caused connection abort", 104: "Connection reset by peer", 105: "No buffer space available",
    106: "Transport endpoint is already connected", 107: "Transport endpoint is not connected",
    110: "Connection timed out", 111: "Connection refused", 113: "No route to host",
    114: "Operation already in progress", 115: "Operation now in progress", 122: "Disk quota exceeded",
    132: "Operation not possible due to RF-kill",
  };
  test("errnoText is strerror() for every errno in ERRNO, and only those", () => {
    const numbers = Object.values(ERRNO) as number[];
    expect(numbers.map(String).sort()).toEqual(Object.keys(golden).sort());
    for (const n of numbers) expect([n, errnoText(n)]).toEqual([n, golden[n]!]);
  });
  test("an unknown errno", () => {
    expect(errnoText(4095)).toBe("Unknown error 4095");
    expect(errnoText(8)).toBe("Unknown error 8");
    expect(errnoName(4095)).toBe("E4095");
  });
  test("errnoName names every ERRNO entry", () => {
    for (const [k, v] of Object.entries(ERRNO)) expect(errnoName(v)).toBe(k);
  });
  test("SysError's message", () => {
    const e = new SysError("open", 2, "/dev/net/tun");
    expect([e.code, e.message]).toEqual(["ENOENT", "open /dev/net/tun: No such file or directory (ENOENT)"]);
  });
});
