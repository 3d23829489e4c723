// echoReplyFrame(): a tap's remote host in place — ARP, neighbour solicitation, echo in frames.
// Expected replies are built independently with packet/build.ts and compared byte for byte.
import { expect, test } from "bun:test";
import { parseIp, parseMac } from "../../common/addr.ts";
import { buildArp, buildEthernet, buildIcmp, buildIcmpEcho, buildUdp } from "../../packet/build.ts";
import { decode } from "../../packet/decode.ts";
import { DEFAULT_ECHO_MAC, echoReplyFrame, isNeighbourReply, type FrameResponder } from "../../packet/echo-frame.ts";
import { mulberry32, mutate } from "./_fuzz.ts";

const US = DEFAULT_ECHO_MAC; // the responder
const TAP = "7a:11:22:33:44:55"; // the kernel's side of the tap
const BCAST = "ff:ff:ff:ff:ff:ff";
const R: FrameResponder = { mac: parseMac(US, 6), own: [parseIp("192.0.2.1"), parseIp("2001:db8::1")] };

function inBuf(frame: Uint8Array, size = 2048): Uint8Array {
  const b = new Uint8Array(size);
  b.set(frame);
  return b;
}

function arpRequest(o: { src?: string; dst?: string; senderMac?: string; senderIp?: string; targetIp?: string; operation?: number } = {}): Uint8Array {
  return buildEthernet(
    { src: o.src ?? TAP, dst: o.dst ?? BCAST, etherType: 0x0806 },
    buildArp({ operation: o.operation ?? 1, senderMac: o.senderMac ?? o.src ?? TAP, senderIp: o.senderIp ?? "192.0.2.1", targetIp: o.targetIp ?? "192.0.2.2" }),
  );
}

function ndBody(target: string, optType: number, mac: string): Uint8Array {
  const b = new Uint8Array(24);
  b.set(parseIp(target), 0);
  b[16] = optType;
  b[17] = 1;
  b.set(parseMac(mac, 6), 18);
  return b;
}

function neighbourSolicitation(o: { src?: string; ipSrc?: string; ipDst?: string; ethDst?: string; target?: string; ttl?: number } = {}): Uint8Array {
  const target = o.target ?? "2001:db8::2";
  return buildEthernet(
    { src: o.src ?? TAP, dst: o.ethDst ?? "33:33:ff:00:00:02", etherType: 0x86dd },
    buildIcmp({ src: o.ipSrc ?? "2001:db8::1", dst: o.ipDst ?? "ff02::1:ff00:2", ttl: o.ttl ?? 255, type: 135, body: ndBody(target, 1, o.src ?? TAP) }),
  );
}

function refused(frame: Uint8Array, r: FrameResponder = R, size = 2048): void {
  const b = inBuf(frame, size);
  const copy = b.slice();
  expect(echoReplyFrame(b, frame.length, r)).toBe(0);
  expect(b).toEqual(copy); // untouched
}

test("ARP request for 192.0.2.2 -> ARP reply from the responder MAC, byte for byte", () => {
  const b = inBuf(arpRequest());
  const n = echoReplyFrame(b, 42, R);
  expect(n).toBe(42);
  const want = buildEthernet(
    { src: US, dst: TAP, etherType: 0x0806 },
    buildArp({ operation: 2, senderMac: US, senderIp: "192.0.2.2", targetMac: TAP, targetIp: "192.0.2.1" }),
  );
  expect(b.subarray(0, n)).toEqual(want);
  expect(isNeighbourReply(b, n)).toBe(true);
  const d = decode(b.subarray(0, n), "ethernet");
  expect(d.arp).toMatchObject({ operation: 2, senderHardware: US, senderProtocol: "192.0.2.2", targetHardware: TAP, targetProtocol: "192.0.2.1" });
  // a unicast ARP (the kernel's reachability probe) and a padded 60-byte frame are answered too
  const uni = inBuf(arpRequest({ dst: US }));
  expect(echoReplyFrame(uni, 42, R)).toBe(42);
  const padded = inBuf(arpRequest());
  expect(echoReplyFrame(padded, 60, R)).toBe(42);
  // targets off the tap's subnet (a route via dev tap0) are answered as well
  const off = inBuf(arpRequest({ targetIp: "10.1.1.2" }));
  expect(echoReplyFrame(off, 42, R)).toBe(42);
});

test("neighbour solicitation -> neighbour advertisement (S+O flags, target link-layer option, valid checksum)", () => {
  for (const [ipDst, ethDst] of [["ff02::1:ff00:2", "33:33:ff:00:00:02"], ["2001:db8::2", US]] as const) {
    const b = inBuf(neighbourSolicitation({ ipDst, ethDst }));
    const n = echoReplyFrame(b, 86, R);
    expect(n).toBe(86);
    const want = buildEthernet(
      { src: US, dst: TAP, etherType: 0x86dd },
      buildIcmp({ src: "2001:db8::2", dst: "2001:db8::1", ttl: 255, type: 136, rest: 0x60000000, body: ndBody("2001:db8::2", 2, US) }),
    );
    expect(b.subarray(0, n)).toEqual(want);
    expect(isNeighbourReply(b, n)).toBe(true);
    const d = decode(b.subarray(0, n), "ethernet");
    expect(d.ipv6).toMatchObject({ src: "2001:db8::2", dst: "2001:db8::1", hopLimit: 255 });
    expect(d.icmpv6).toMatchObject({ type: 136, code: 0, checksumValid: true, target: "2001:db8::2", naFlags: { router: false, solicited: true, override: true } });
    expect(d.icmpv6!.options).toEqual([{ type: 2, length: 8, linkAddress: US }]);
  }
  // without the source link-layer option the request is 78 bytes; the reply still fits the buffer
  const sb = inBuf(buildEthernet({ src: TAP, dst: "33:33:ff:00:00:02", etherType: 0x86dd },
    buildIcmp({ src: "2001:db8::1", dst: "ff02::1:ff00:2", ttl: 255, type: 135, body: parseIp("2001:db8::2") })));
  expect(echoReplyFrame(sb, 78, R)).toBe(86);
  expect(decode(sb.subarray(0, 86), "ethernet").icmpv6).toMatchObject({ type: 136, checksumValid: true });
  // but not when the buffer itself is too small for it
  // but not when the buffer itself has no room for the 86-byte reply
  refused(buildEthernet({ src: TAP, dst: "33:33:ff:00:00:02", etherType: 0x86dd },
    buildIcmp({ src: "2001:db8::1", dst: "ff02::1:ff00:2", ttl: 255, type: 135, body: parseIp("2001:db8::2") })), R, 78);
});

test("ping frames -> reply frames from the responder MAC (IPv4, IPv6, UDP 7)", () => {
  const req4 = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", id: 77, seq: 3, payload: 56, ipId: 9, df: true });
  const b = inBuf(buildEthernet({ src: TAP, dst: US, etherType: 0x0800 }, req4));
  expect(echoReplyFrame(b, 98, R)).toBe(98);
  const want4 = buildEthernet({ src: US, dst: TAP, etherType: 0x0800 },
    buildIcmpEcho({ src: "192.0.2.2", dst: "192.0.2.1", type: "reply", id: 77, seq: 3, payload: req4.subarray(28), ipId: 9, df: true }));
  expect(b.subarray(0, 98)).toEqual(want4);
  expect(isNeighbourReply(b, 98)).toBe(false);

  const req6 = buildIcmpEcho({ src: "2001:db8::1", dst: "2001:db8::2", id: 5, seq: 1, payload: 56, ttl: 64 });
  const b6 = inBuf(buildEthernet({ src: TAP, dst: US, etherType: 0x86dd }, req6));
  expect(echoReplyFrame(b6, 118, R)).toBe(118);
  const want6 = buildEthernet({ src: US, dst: TAP, etherType: 0x86dd },
    buildIcmpEcho({ src: "2001:db8::2", dst: "2001:db8::1", type: "reply", id: 5, seq: 1, payload: req6.subarray(48) }));
  expect(b6.subarray(0, 118)).toEqual(want6);
  expect(isNeighbourReply(b6, 118)).toBe(false);

  const u = buildUdp({ src: "2001:db8::1", dst: "2001:db8::2", srcPort: 40000, dstPort: 7, payload: 9 });
  const bu = inBuf(buildEthernet({ src: TAP, dst: US, etherType: 0x86dd }, u));
  expect(echoReplyFrame(bu, 14 + u.length, R)).toBe(14 + u.length);
  const du = decode(bu.subarray(0, 14 + u.length), "ethernet");
  expect(du.ethernet).toMatchObject({ src: US, dst: TAP });
  expect(du.udp).toMatchObject({ srcPort: 7, dstPort: 40000, checksumValid: true });

  // Ethernet padding after a short IPv4 packet: the reply is the IP length, not the frame's
  const small = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", payload: 4 });
  const bp = inBuf(buildEthernet({ src: TAP, dst: US, etherType: 0x0800 }, small));
  expect(echoReplyFrame(bp, 60, R)).toBe(14 + small.length);
});

test("refused: broadcast/multicast/zero/own sources, own addresses, DAD, gratuitous, wrong MAC, VLAN, bad fields", () => {
  refused(arpRequest({ src: BCAST })); // broadcast source
  refused(arpRequest({ src: "01:00:5e:00:00:01" })); // multicast source
  refused(arpRequest({ src: "00:00:00:00:00:00" }));
  refused(arpRequest({ src: US })); // our own frames
  refused(arpRequest({ targetIp: "192.0.2.1", senderIp: "192.0.2.9" })); // the tap's own address
  refused(arpRequest({ senderIp: "0.0.0.0" })); // DAD probe
  refused(arpRequest({ senderIp: "192.0.2.2", targetIp: "192.0.2.2" })); // gratuitous
  for (const t of ["0.0.0.0", "127.0.0.1", "224.0.0.1", "255.255.255.255"]) refused(arpRequest({ targetIp: t }));
  refused(arpRequest({ operation: 2 })); // a reply
  refused(arpRequest({ dst: "02:00:00:00:00:99" })); // unicast to someone else
  refused(arpRequest({ senderMac: "02:00:00:00:00:77" })); // sender hardware is not the frame's source
  refused(arpRequest().subarray(0, 41).slice());

  refused(neighbourSolicitation({ ipSrc: "::" })); // DAD
  refused(neighbourSolicitation({ target: "2001:db8::1", ipDst: "ff02::1:ff00:1", ethDst: "33:33:ff:00:00:01" })); // own
  refused(neighbourSolicitation({ ttl: 64 })); // hop limit must be 255
  refused(neighbourSolicitation({ ipDst: "ff02::1:ff00:3" })); // not the target's group
  refused(neighbourSolicitation({ ethDst: "33:33:ff:00:00:03" })); // MAC does not match the group
  refused(neighbourSolicitation({ src: "33:33:00:00:00:01" }));
  refused(neighbourSolicitation({ target: "ff02::1", ipDst: "ff02::1:ff00:1", ethDst: "33:33:ff:00:00:01" }));
  const badCs = neighbourSolicitation();
  badCs[70]! ^= 1;
  refused(badCs);
  const badOpt = neighbourSolicitation();
  badOpt[79] = 0; // option length 0
  refused(badOpt);

  const ping = buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", payload: 8 });
  refused(buildEthernet({ src: TAP, dst: "02:00:00:00:00:99", etherType: 0x0800 }, ping)); // not to us
  refused(buildEthernet({ src: TAP, dst: BCAST, etherType: 0x0800 }, ping));
  refused(buildEthernet({ src: BCAST, dst: US, etherType: 0x0800 }, ping));
  refused(buildEthernet({ src: TAP, dst: US, etherType: 0x0800 }, buildIcmpEcho({ src: "192.0.2.2", dst: "192.0.2.1", payload: 8 }))); // to the tap's own
  refused(buildEthernet({ src: TAP, dst: US, etherType: 0x86dd }, buildIcmpEcho({ src: "2001:db8::2", dst: "2001:db8::1", payload: 8 })));
  refused(buildEthernet({ src: TAP, dst: US, etherType: 0x86dd }, ping)); // EtherType and IP version disagree
  refused(buildEthernet({ src: TAP, dst: US, etherType: 0x0800, vlans: [{ id: 5 }] }, ping));
  refused(buildEthernet({ src: TAP, dst: US, etherType: 0x0800 }, ping).subarray(0, 13).slice());
  // an invalid responder MAC answers nothing
  refused(arpRequest(), { mac: parseMac("01:00:00:00:00:01", 6) });
  refused(arpRequest(), { mac: new Uint8Array(6) });
  refused(arpRequest(), { mac: new Uint8Array(5) });
  // len beyond the buffer
  expect(echoReplyFrame(arpRequest(), 60, R)).toBe(0);
});

test("fuzz: mutated requests never throw, never write past the reply, and every reply decodes with valid checksums", () => {
  const rnd = mulberry32(0xec40);
  const seeds = [
    arpRequest(),
    neighbourSolicitation(),
    buildEthernet({ src: TAP, dst: US, etherType: 0x0800 }, buildIcmpEcho({ src: "192.0.2.1", dst: "192.0.2.2", payload: 20 })),
    buildEthernet({ src: TAP, dst: US, etherType: 0x86dd }, buildUdp({ src: "2001:db8::1", dst: "2001:db8::2", srcPort: 999, dstPort: 7, payload: 5 })),
  ];
  let answered = 0;
  for (let i = 0; i < 4000; i++) {
    const m = mutate(rnd, seeds[i % seeds.length]!);
    const b = new Uint8Array(m.length + 100);
    b.set(m);
    b.fill(0xa5, m.length);
    const n = echoReplyFrame(b, m.length, R);
    if (n === 0) continue;
    answered++;
    expect(n).toBeLessThanOrEqual(Math.max(m.length, 86));
    for (let k = Math.max(n, m.length); k < b.length; k++) expect(b[k]).toBe(0xa5);
    const d = decode(b.subarray(0, n), "ethernet");
    expect(d.ethernet!.src).toBe(US);
    if (d.ipv4) expect(d.ipv4.checksumValid).toBe(true);
    const l4 = d.icmp ?? d.icmpv6 ?? d.udp;
    if (l4) expect(l4.checksumValid).toBe(true);
  }
  expect(answered).toBeGreaterThan(100);
}, 60_000);
