/**
 * Packet sniffer: prints tcpdump-style lines for the packets crossing an interface (AF_PACKET,
 * so the tun's own reader is left alone), for a bounded number of packets or seconds, and can
 * write them to a pcap file too.
 *
 * Usage: bun examples/packet-sniffer.ts DEV [COUNT] [SECONDS] [FILE.pcap]
 *   bun examples/packet-sniffer.ts tun0 10 5 /tmp/tun0.pcap
 */
import { openSync, closeSync, writeSync } from "node:fs";
import { PcapWriter, formatPacket } from "tunkit";
import { PacketSniffer } from "tunkit/tun";

const [dev, count = "10", seconds = "5", file] = process.argv.slice(2);
if (!dev) {
  console.error("usage: packet-sniffer DEV [COUNT] [SECONDS] [FILE.pcap]");
  process.exit(2);
}
const sniffer = PacketSniffer.open(dev);
// From here the kernel queues every packet for us: say so, as tcpdump does, for whoever waits on it.
console.error(`listening on ${dev}`);
const fd = file ? openSync(file, "w") : -1;
// A tun carries bare IP packets (LINKTYPE_RAW); a tap would carry Ethernet frames.
const pcap = file ? new PcapWriter({ linkType: "raw" }) : undefined;
if (pcap) writeSync(fd, pcap.header());
const ac = new AbortController();
const timer = setTimeout(() => ac.abort(), Number(seconds) * 1000);
let seen = 0;
await sniffer.listen((buf, caplen, wireLen, dir, sec, nsec) => {
  const bytes = buf.subarray(0, caplen);
  console.log(`${dir === "in" ? "In " : dir === "out" ? "Out" : "   "} ${formatPacket(bytes, "raw", { ts: { sec, nsec } })}`);
  if (pcap) writeSync(fd, pcap.record(bytes, { sec, nsec }, wireLen));
  if (++seen >= Number(count)) ac.abort();
}, { signal: ac.signal });
clearTimeout(timer);
if (fd >= 0) closeSync(fd);
console.error(`${seen} packets`);
sniffer.close();
