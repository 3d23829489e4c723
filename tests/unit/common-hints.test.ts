// Hints are promises: each one is checked here against the case it is written for, and against
// the neighbouring cases where it would lie (the live triggers are in
// tests/integration/hardening.test.ts).
import { describe, expect, test } from "bun:test";
import { defaultHint, ERRNO, SysError, TUN_NODE_EACCES_HINT } from "../../ffi/errors.ts";
import { netnsPath } from "../../ffi/netns.ts";
import { tunNodeAccessHint } from "../../tun/device.ts";
import { anyUserWarning } from "../../tun/ensure.ts";
import { diagnose } from "../../tun/doctor.ts";
import { UsageError } from "../../common/errors.ts";

const usage = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof UsageError) return e.message;
    throw e;
  }
  throw new Error("no UsageError");
};

describe("defaultHint", () => {
  test("EACCES is a file permission, never a capability", () => {
    expect(defaultHint("open", ERRNO.EACCES, "/dev/net/tun")).toBe(TUN_NODE_EACCES_HINT);
    expect(TUN_NODE_EACCES_HINT).toContain("CAP_NET_ADMIN or setcap does not change it");
    expect(defaultHint("open", ERRNO.EACCES, "/var/x.pcap")).toBe("the mode, owner or group of /var/x.pcap (or of a directory above it) does not let this user open it: ls -l /var/x.pcap");
    for (const s of ["open", "socket", "ioctl(TUNSETIFF)"]) expect(defaultHint(s, ERRNO.EACCES, "x")).not.toMatch(/needs CAP_/);
  });
  test("EPERM: setns needs CAP_SYS_ADMIN, packet sockets CAP_NET_RAW, open a security module; others CAP_NET_ADMIN", () => {
    expect(defaultHint("setns", ERRNO.EPERM, "/run/netns/x")).toContain("CAP_SYS_ADMIN");
    expect(defaultHint("setns", ERRNO.EPERM)).not.toContain("needs CAP_NET_ADMIN");
    expect(defaultHint("socket(AF_PACKET)", ERRNO.EPERM)).toContain("CAP_NET_RAW");
    expect(defaultHint("open", ERRNO.EPERM, "/x")).not.toContain("CAP_NET_ADMIN");
    expect(defaultHint("setsockopt(SO_RCVBUFFORCE)", ERRNO.EPERM)).toContain("needs CAP_NET_ADMIN");
  });
  test("ENOENT/ENODEV on the tun node mean the driver; on other files, the file; EBUSY only for TUNSETIFF", () => {
    expect(defaultHint("open", ERRNO.ENOENT, "/dev/net/tun")).toContain("modprobe tun");
    expect(defaultHint("open", ERRNO.ENOENT, "/tmp/x")).toBe("/tmp/x does not exist");
    expect(defaultHint("ioctl(TUNSETIFF)", ERRNO.EBUSY, "tun0")).toContain("attached by another process");
    expect(defaultHint("bind", ERRNO.EBUSY)).toBeUndefined();
    expect(defaultHint("open", ERRNO.ENAMETOOLONG, "/x")).toContain("255 bytes");
  });
  test("every errno tunkit names has its strerror text (no 'Unknown error 36')", () => {
    for (const [name, n] of Object.entries(ERRNO)) expect(new SysError("open", n, "/x").message).not.toContain("Unknown error");
    expect(new SysError("open", ERRNO.ENAMETOOLONG, "/x").message).toBe("open /x: File name too long (ENAMETOOLONG)");
  });
});

describe("withHint", () => {
  test("a caller who knows more replaces the hint, keeping the error's class and code", () => {
    const e = new SysError("open", ERRNO.EACCES, "/x");
    const same = e.withHint("better");
    expect(same).toBe(e);
    expect(same).toBeInstanceOf(SysError);
    expect([same.hint, same.code]).toEqual(["better", "EACCES"]);
  });
});

describe("netnsPath", () => {
  test("names and paths that cannot be a namespace are usage errors, before any syscall", () => {
    expect(netnsPath("blue")).toBe("/run/netns/blue");
    expect(netnsPath("/proc/1/ns/net")).toBe("/proc/1/ns/net");
    expect(netnsPath("a".repeat(255))).toBe("/run/netns/" + "a".repeat(255));
    expect(usage(() => netnsPath("a".repeat(256)))).toBe("Invalid network namespace name: 256 bytes, at most 255");
    expect(usage(() => netnsPath("é".repeat(128)))).toBe("Invalid network namespace name: 256 bytes, at most 255");
    expect(usage(() => netnsPath("/" + "b".repeat(300)))).toBe("Invalid network namespace path: a component of 300 bytes, at most 255");
    expect(usage(() => netnsPath("/a/" + "b/".repeat(2100)))).toBe("Invalid network namespace path: 4203 bytes, at most 4095");
    for (const bad of ["", ".", "..", "a/b", "../etc"]) expect(usage(() => netnsPath(bad))).toStartWith("Invalid network namespace name");
    expect(usage(() => netnsPath("x\ny"))).toContain("control characters");
    expect(usage(() => netnsPath("/x\0y"))).toContain("control characters");
  });
});

describe("tun node and any-user texts", () => {
  test("tunNodeAccessHint names mode, owner, group and who we are", () => {
    const h = tunNodeAccessHint({ mode: 0o20600, uid: 0, gid: 0 }, { uid: 65534, gid: 65534 });
    expect(h).toStartWith("/dev/net/tun is mode 0600, owner root, group root, and you are nobody (a file permission");
    expect(tunNodeAccessHint({ mode: 0o20660, uid: 0, gid: 424242 }, { uid: 4242421, gid: 1 })).toContain("mode 0660, owner root, group 424242, and you are uid 4242421");
  });
  test("anyUserWarning says how open the node is, and how to limit the device unless --any-user asked for it", () => {
    expect(anyUserWarning("tun0", { mode: 0o20666 })).toBe(
      "tun0 has no owner and no group: any local user can attach it (/dev/net/tun is mode 0666), to read its traffic and inject packets; limit it with tunkit up tun0 --user USER (or --group GROUP)",
    );
    expect(anyUserWarning("tun0", { mode: 0o20600 })).toContain("(mode 0600 here, so not every user today)");
    expect(anyUserWarning("tun0", { mode: 0o20666 }, true)).toBe("tun0 has no owner and no group, as --any-user asks: any local user can attach it (/dev/net/tun is mode 0666), to read its traffic and inject packets");
  });
});

describe("doctor's capability check", () => {
  const base = {
    sysctl: (p: string) => (p.endsWith("max_user_namespaces") ? "1000" : undefined),
    statTun: () => ({ char: true, major: 10, minor: 200 }),
    probeTun: () => ({ names: ["tun", "tap", "no_pi", "vnet_hdr", "multi_queue"] }),
  };
  const cap = (src: Parameters<typeof diagnose>[0]) => diagnose(src).find((c) => c.check === "cap-net-admin")!;
  test("the probe decides, not the bits: full CapEff + denied (unshare -r) is a FAIL that says why", () => {
    const c = cap({ ...base, status: "CapEff:\t000001ffffffffff\n", probeNetAdmin: () => "denied" });
    expect(c.status).toBe("fail");
    expect(c.detail).toContain("not over this network namespace");
    expect(c.fix).toContain("unshare -rn");
    expect(cap({ ...base, status: "CapEff:\t0000000000000000\n", probeNetAdmin: () => "permitted" }).status).toBe("ok");
    const none = cap({ ...base, status: "CapEff:\t0000000000000000\n", probeNetAdmin: () => "denied" });
    expect(none.detail).toStartWith("not permitted (CapEff 0000000000000000)");
    expect(cap({ ...base, status: "", probeNetAdmin: () => new Error("no netlink") })).toMatchObject({ status: "warn", detail: "could not try it: no netlink" });
  });
  test("EACCES from the tun probe gives the node's hint as the fix", () => {
    const r = diagnose({ ...base, status: "CapEff:\t0\n", probeNetAdmin: () => "permitted", probeTun: () => new SysError("open", ERRNO.EACCES, "/dev/net/tun", "NODE HINT") });
    expect(r.find((c) => c.check === "tun-device")).toMatchObject({ status: "fail", fix: "NODE HINT" });
  });
});
