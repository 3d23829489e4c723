/**
 * UDP in tcpdump's words (print-udp.c): ports, the checksum check (-vv over IPv4, -v over
 * IPv6), and the protocol tcpdump picks by port, in its order: DNS, mDNS, DHCP, IKE and NAT-T,
 * NTP, DHCPv6, BCM-LI, BFD, OTV, VXLAN, Geneve. Ports tcpdump decodes and tunkit does not end as
 * "UDP, length N".
 *
 * @module
 */
import type { Nd } from "./nd.ts";
import type { IpCtx } from "./ip.ts";
import { cksumShouldBe, inCksum, pseudo4, pseudo6 } from "./util.ts";
import { domainPrint } from "./dns.ts";
import { bootpPrint } from "./dhcp.ts";
import { dhcp6Print } from "./dhcp6.ts";
import { isakmpPrint, isakmpNattPrint } from "./isakmp.ts";
import { ntpPrint } from "./ntp.ts";
import { bfdPrint } from "./bfd.ts";
import { vxlanPrint, genevePrint, otvPrint, bcmLiPrint } from "./tunnels.ts";

function addrs(nd: Nd, ip: IpCtx, sport: number, dport: number): void {
  if (ip.ver === 6) {
    if (nd.u8(ip.off + 6) === 17) nd.print(`${nd.ip6(ip.off + 8)}.${sport} > ${nd.ip6(ip.off + 24)}.${dport}: `);
    else nd.print(`${sport} > ${dport}: `);
  } else if (nd.u8(ip.off + 9) === 17) nd.print(`${nd.ip4(ip.off + 12)}.${sport} > ${nd.ip4(ip.off + 16)}.${dport}: `);
  else nd.print(`${sport} > ${dport}: `);
}

function addrsNoPorts(nd: Nd, ip: IpCtx): void {
  if (ip.ver === 6) {
    if (nd.u8(ip.off + 6) === 17) nd.print(`${nd.ip6(ip.off + 8)} > ${nd.ip6(ip.off + 24)}: `);
  } else if (nd.u8(ip.off + 9) === 17) nd.print(`${nd.ip4(ip.off + 12)} > ${nd.ip4(ip.off + 16)}: `);
}

/** Prints the UDP datagram at `off` (`length` bytes per the IP header). */
export function udpPrint(nd: Nd, off: number, length: number, ip: IpCtx, fragmented: boolean, ttl: number): void {
  nd.protocol = "udp";
  if (!nd.ttest(off + 2, 2)) {
    addrsNoPorts(nd, ip);
    nd.print(` [|${nd.protocol}]`);
    return;
  }
  const sport = nd.be16(off);
  const dport = nd.be16(off + 2);
  if (length < 8) {
    addrs(nd, ip, sport, dport);
    nd.print(`truncated-udp ${length}`);
    return;
  }
  if (!nd.ttest(off + 4, 2)) {
    addrs(nd, ip, sport, dport);
    nd.print(` [|${nd.protocol}]`);
    return;
  }
  let ulen = nd.be16(off + 4);
  if (ulen === 0 && length > 65535) ulen = length;
  if (ulen < 8) {
    addrs(nd, ip, sport, dport);
    nd.print(`truncated-udplength ${ulen}`);
    return;
  }
  ulen -= 8;
  length -= 8;
  if (ulen < length) length = ulen;
  const cp = off + 8;
  if (cp > nd.snapend) {
    addrs(nd, ip, sport, dport);
    nd.print(` [|${nd.protocol}]`);
    return;
  }
  addrs(nd, ip, sport, dport);
  // NFS over UDP (port 2049) is tcpdump's, not tunkit's: it falls through to the length
  if (nd.v && !fragmented) {
    if (ip.ver === 4 && nd.v > 1) {
      const field = nd.be16(off + 6);
      if (field === 0) nd.print("[no cksum] ");
      else if (nd.ttest(cp, length)) {
        const sum = inCksum(nd.b, off, length + 8, pseudo4(nd.b, ip.off, ip.dstOff, 17, length + 8));
        nd.print(sum !== 0 ? `[bad udp cksum 0x${field.toString(16).padStart(4, "0")} -> 0x${cksumShouldBe(field, sum).toString(16).padStart(4, "0")}!] ` : "[udp sum ok] ");
      }
    } else if (ip.ver === 6 && nd.ttest(cp, length)) {
      const field = nd.be16(off + 6);
      const sum = inCksum(nd.b, off, length + 8, pseudo6(nd.b, ip.off, ip.dstOff, 17, length + 8));
      nd.print(sum !== 0 ? `[bad udp cksum 0x${field.toString(16).padStart(4, "0")} -> 0x${cksumShouldBe(field, sum).toString(16).padStart(4, "0")}!] ` : "[udp sum ok] ");
    }
  }
  const port = (p: number) => sport === p || dport === p;
  const plain = () => nd.print(ulen > length && !fragmented ? `UDP, bad length ${ulen} > ${length}` : `UDP, length ${ulen}`);
  // a port tcpdump decodes with a printer tunkit lacks: plain, and say so
  const theirs = (name: string) => {
    nd.notDecoded = name;
    plain();
  };
  // tcpdump's order of port checks (print-udp.c): the first match wins
  if (dport === 2049 || sport === 2049) {
    if (nd.ttest(cp + 4, 4)) {
      const dir = nd.be32(cp + 4);
      if ((dport === 2049 && dir === 0) || (sport === 2049 && dir === 1)) return theirs("nfs");
    }
  }
  if (port(53)) domainPrint(nd, cp, length, false, false);
  else if (port(5353)) domainPrint(nd, cp, length, false, true);
  else if (port(525)) theirs("timed");
  else if (port(69)) theirs("tftp");
  else if (port(68) || port(67)) bootpPrint(nd, cp, length);
  else if (port(520)) theirs("rip");
  else if (port(654)) theirs("aodv");
  else if (port(500)) isakmpPrint(nd, cp, length, ip);
  else if (port(4500)) isakmpNattPrint(nd, cp, length, ip, fragmented, ttl);
  else if (port(7500) || port(8500)) isakmpPrint(nd, cp, length, ip);
  else if (port(161) || port(162)) theirs("snmp");
  else if (port(123)) ntpPrint(nd, cp, length);
  else if (port(88) || port(750)) theirs("krb");
  else if (port(1701)) theirs("l2tp");
  else if (port(137) || port(138)) theirs("nbt");
  else if (dport === 3456) theirs("vat");
  else if (port(2103) || port(2104)) theirs("zephyr");
  else if ((sport >= 7000 && sport <= 7009) || (dport >= 7000 && dport <= 7009)) theirs("rx");
  else if (port(521)) theirs("ripng");
  else if (port(547) || port(546)) dhcp6Print(nd, cp, length);
  else if (port(5359)) theirs("ahcp");
  else if (port(6696) || port(6697)) theirs("babel");
  else if (port(8231)) theirs("hncp");
  else if (dport === 4567) theirs("wb");
  else if (port(496)) theirs("cisco-autorp");
  else if (port(1645) || port(1812) || port(1646) || port(1813) || port(1700) || port(3799)) theirs("radius");
  else if (dport === 1985) theirs("hsrp");
  else if (port(921)) theirs("lwres");
  else if (port(646)) theirs("ldp");
  else if (port(698)) theirs("olsr");
  else if (port(3503)) theirs("lspping");
  else if (sport === 49152) bcmLiPrint(nd, cp, length);
  else if (dport === 3784 || dport === 4784 || dport === 6784 || dport === 3785) bfdPrint(nd, cp, length, dport);
  else if (port(701)) theirs("lmp");
  else if (port(1589)) theirs("vqp");
  else if (port(6343)) theirs("sflow");
  else if (port(12223) || port(12222)) theirs("lwapp");
  else if (port(5060)) theirs("sip");
  else if (port(514)) theirs("syslog");
  else if (port(8472)) otvPrint(nd, cp, length);
  else if (port(4789)) vxlanPrint(nd, cp, length);
  else if (port(6081)) genevePrint(nd, cp, length);
  else if (port(4342)) theirs("lisp");
  else if (port(4790)) theirs("vxlan-gpe");
  else if (port(17754)) theirs("zep");
  else if (port(6635)) theirs("mpls");
  else if (nd.ttest(cp + 2, 1) && nd.b[cp + 2] === 2 && (atalkPort(sport) || atalkPort(dport))) theirs("llap");
  else if (port(319) || port(320)) theirs("ptp");
  else if (port(30490)) theirs("someip");
  else plain();
}

/** tcpdump's atalk_port: the AppleTalk-over-UDP (KIP) port ranges. */
function atalkPort(p: number): boolean {
  return (p >= 16512 && p < 16512 + 128) || (p >= 200 && p < 328) || (p >= 768 && p < 896);
}
