// The real NETLINK_ROUTE socket's set-up (no privilege needed: it only reads). A one-shot command
// binds nothing itself: the kernel gives the socket its port at the first sendto (autobind), and
// the port id (getsockname) and SO_RCVBUF are read when first asked for (issue 11: three fewer
// libc symbols bound at start-up, three fewer system calls). The kernel's own table,
// /proc/self/net/netlink, says whether a socket has a port yet.
import { expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { SocketTransport } from "../../netlink/conn.ts";
import { RTM } from "../../netlink/route/constants.ts";

/**
 * The port the kernel's netlink table shows for our socket `fd`; 0 when the socket is not in it:
 * /proc/net/netlink lists the sockets of the kernel's port hash, which a socket joins when bound.
 */
function kernelPort(fd: number): number {
  const inode = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`))![1]!;
  // sk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode
  const row = readFileSync("/proc/self/net/netlink", "utf8").split("\n").slice(1).map((l) => l.trim().split(/\s+/)).find((f) => f[9] === inode);
  return row ? Number(row[2]) : 0;
}

/** RTM_GETLINK for ifindex 1 (lo): nlmsghdr + ifinfomsg, NLM_F_REQUEST. */
function getLo(seq: number): Uint8Array {
  const b = new Uint8Array(32);
  const v = new DataView(b.buffer);
  v.setUint32(0, 32, true);
  v.setUint16(4, RTM.GETLINK, true);
  v.setUint16(6, 1, true);
  v.setUint32(8, seq, true);
  v.setInt32(20, 1, true);
  return b;
}

async function reply(t: SocketTransport): Promise<Uint8Array> {
  for (let i = 0; i < 100; i++) {
    const d = t.recv();
    if (d) return d.slice();
    await t.wait();
  }
  throw new Error("no reply");
}

test("a request socket has no port until its first send; the kernel's autobind port is what pid then reads, and replies are addressed to it", async () => {
  const t = new SocketTransport();
  try {
    expect(kernelPort(t.fd)).toBe(0); // no bind at open
    t.send(getLo(7));
    const port = kernelPort(t.fd);
    expect(port).not.toBe(0); // the kernel bound it at the sendto
    const r = await reply(t);
    const v = new DataView(r.buffer);
    expect(v.getUint16(4, true)).toBe(RTM.NEWLINK);
    expect(v.getUint32(8, true)).toBe(7);
    expect(v.getUint32(12, true)).toBe(port); // nlmsg_pid: the requester's port
    expect(t.pid).toBe(port);
    expect(t.pid).toBe(port);
  } finally {
    t.close();
  }
});

test("pid asked for before any send binds the socket (bind, then getsockname), and a request still works after it", async () => {
  const t = new SocketTransport();
  try {
    expect(kernelPort(t.fd)).toBe(0);
    const pid = t.pid;
    expect(pid).not.toBe(0);
    expect(kernelPort(t.fd)).toBe(pid);
    t.send(getLo(9));
    const r = await reply(t);
    expect(new DataView(r.buffer).getUint32(12, true)).toBe(pid);
    expect(t.pid).toBe(pid);
  } finally {
    t.close();
  }
});

test("rcvbuf reads what the kernel granted (SO_RCVBUF is doubled by the kernel: at least the 8 MiB asked for, or the capped default without privilege)", () => {
  const t = new SocketTransport();
  try {
    expect(t.rcvbuf).toBeGreaterThan(4096);
    expect(t.rcvbuf).toBe(t.rcvbuf);
    if (process.getuid?.() === 0) expect(t.rcvbuf).toBeGreaterThanOrEqual(8 << 20);
  } finally {
    t.close();
  }
});

test("a monitor's socket binds before it joins its groups", () => {
  const t = new SocketTransport({ groups: [1] }); // RTNLGRP_LINK
  try {
    expect(kernelPort(t.fd)).not.toBe(0);
    expect(kernelPort(t.fd)).toBe(t.pid);
  } finally {
    t.close();
  }
});
