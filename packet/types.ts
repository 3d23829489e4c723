/**
 * The decoded-packet model: plain objects (JSON-safe, no Uint8Array), one optional property per
 * layer. Offsets are from the start of the bytes given to `decode()`.
 *
 * @module
 */

/** Link types `decode()` understands: tun (`raw`: IP first) or tap (`ethernet`). */
export type LinkType = "raw" | "ethernet";

/** One 802.1Q / 802.1ad tag. */
export interface VlanTag {
  /** Tag protocol identifier: 0x8100 (802.1Q) or 0x88a8 (802.1ad). */
  tpid: number;
  /** Priority code point, 0..7. */
  pcp: number;
  /** Drop eligible indicator. */
  dei: boolean;
  /** VLAN id, 0..4095. */
  id: number;
}

/** Ethernet II header, with any VLAN tags. */
export interface EthernetHeader {
  /** Byte offset of the header in the decoded bytes. */
  offset: number;
  /** Destination MAC address, "aa:bb:cc:dd:ee:ff". */
  dst: string;
  /** Source MAC address, "aa:bb:cc:dd:ee:ff". */
  src: string;
  /** 802.1Q / 802.1ad tags, outermost first (empty when untagged). */
  vlans: VlanTag[];
  /** EtherType after the tags; a value < 0x0600 is an 802.3 length (the frame is LLC). */
  etherType: number;
  /** Header length in bytes: 14, plus 4 per VLAN tag. */
  headerLength: number;
}

/** ARP (RFC 826). Addresses are text: MAC / dotted quad for Ethernet+IPv4, hex otherwise. */
export interface ArpPacket {
  /** Byte offset of the ARP header in the decoded bytes. */
  offset: number;
  /** Hardware type (1 Ethernet). */
  hardwareType: number;
  /** Protocol type, an EtherType (0x0800 IPv4). */
  protocolType: number;
  /** Hardware address length in bytes (6 for Ethernet). */
  hardwareLength: number;
  /** Protocol address length in bytes (4 for IPv4). */
  protocolLength: number;
  /** 1 request, 2 reply, 3/4 RARP, 8/9 InARP. */
  operation: number;
  /** Sender hardware address (text). */
  senderHardware: string;
  /** Sender protocol address (text). */
  senderProtocol: string;
  /** Target hardware address (text). */
  targetHardware: string;
  /** Target protocol address (text). */
  targetProtocol: string;
}

/** One IPv4 option. */
export interface Ipv4Option {
  /** Option type byte (copied flag, class and number). */
  type: number;
  /** "eol", "nop", "rr", "ts", "lsrr", "ssrr", "ra", "sec" or "unknown". */
  name: string;
  /** Total option length in bytes (1 for eol/nop). */
  length: number;
  /** Route pointer (rr/lsrr/ssrr/ts). */
  pointer?: number;
  /** Addresses of rr/lsrr/ssrr. */
  addresses?: string[];
  /** Value of ra (router alert). */
  value?: number;
}

/** IPv4 header. */
export interface Ipv4Header {
  /** Byte offset of the IPv4 header in the decoded bytes. */
  offset: number;
  /** IP version: always 4. */
  version: 4;
  /** Header length in bytes (IHL times 4: 20..60). */
  headerLength: number;
  /** Type of service byte (DSCP and ECN). */
  tos: number;
  /** Total length field: header plus payload, in bytes. */
  totalLength: number;
  /** Identification field. */
  id: number;
  /** The three flag bits: reserved, don't fragment, more fragments. */
  flags: { reserved: boolean; df: boolean; mf: boolean };
  /** Fragment offset in bytes (the field times 8). */
  fragmentOffset: number;
  /** Time to live. */
  ttl: number;
  /** Protocol number of the payload (1 ICMP, 6 TCP, 17 UDP). */
  protocol: number;
  /** Header checksum as on the wire. */
  checksum: number;
  /** Whether the header checksum is right (undefined if the header was not all captured). */
  checksumValid?: boolean;
  /** Source address, dotted quad. */
  src: string;
  /** Destination address, dotted quad. */
  dst: string;
  /** Options after the fixed 20 bytes (empty when IHL is 5). */
  options: Ipv4Option[];
}

/** One IPv6 extension header walked by the decoder. */
export interface Ipv6Extension {
  /** Protocol number of this header (0 hop-by-hop, 43 routing, 44 fragment, 60 destination). */
  type: number;
  /** The header's name. */
  name: "hop-by-hop" | "routing" | "fragment" | "destination";
  /** Byte offset of this header in the decoded bytes. */
  offset: number;
  /** Length of this header in bytes. */
  length: number;
  /** Next header field. */
  nextHeader: number;
  /** Options (hop-by-hop / destination): type and data length. */
  options?: { type: number; length: number; value?: number }[];
  /** Routing header type and segments left. */
  routingType?: number;
  /** Routing header: segments left. */
  segmentsLeft?: number;
  /** Type 0 (deprecated) / 2 routing addresses. */
  addresses?: string[];
  /** Fragment header: offset in bytes, more-fragments flag, identification. */
  fragmentOffset?: number;
  /** Fragment header: the more-fragments flag. */
  more?: boolean;
  /** Fragment header: the identification. */
  id?: number;
}

/** IPv6 header and the extension-header chain. */
export interface Ipv6Header {
  /** Byte offset of the IPv6 header in the decoded bytes. */
  offset: number;
  /** IP version: always 6. */
  version: 6;
  /** Traffic class byte (DSCP and ECN). */
  trafficClass: number;
  /** Flow label (20 bits). */
  flowLabel: number;
  /** Payload length field: bytes after the fixed 40-byte header. */
  payloadLength: number;
  /** Next header field of the fixed header. */
  nextHeader: number;
  /** Hop limit. */
  hopLimit: number;
  /** Source address, RFC 5952 text. */
  src: string;
  /** Destination address, RFC 5952 text. */
  dst: string;
  /** The extension headers walked, in order. */
  extensions: Ipv6Extension[];
  /** The upper-layer protocol after the extension headers (59 = none). */
  protocol: number;
  /** Fixed header plus extension headers, in bytes. */
  headerLength: number;
  /** Set when a fragment header was found. */
  fragment?: { offset: number; more: boolean; id: number };
  /** Jumbo payload length from a hop-by-hop jumbo option (RFC 2675). */
  jumboLength?: number;
}

/** The packet an ICMP / ICMPv6 error quotes (its IP header and the first bytes of L4). */
export interface QuotedPacket {
  /** The quoted IPv4 header, when the quoted packet is IPv4. */
  ipv4?: Ipv4Header;
  /** The quoted IPv6 header, when the quoted packet is IPv6. */
  ipv6?: Ipv6Header;
  /** Protocol number of the quoted packet's payload. */
  protocol: number;
  /** TCP/UDP source port of the quoted packet, when quoted. */
  srcPort?: number;
  /** TCP/UDP destination port of the quoted packet, when quoted. */
  dstPort?: number;
  /** Set when the quoted bytes end early (normal: errors quote only 8 bytes of L4). */
  truncated?: boolean;
}

/** ICMP (IPv4) message. */
export interface IcmpMessage {
  /** Byte offset of the ICMP header in the decoded bytes. */
  offset: number;
  /** ICMP type (0 echo reply, 3 unreachable, 8 echo request, 11 time exceeded). */
  type: number;
  /** ICMP code. */
  code: number;
  /** Checksum as on the wire. */
  checksum: number;
  /** Whether the checksum is right (undefined when the message was not all captured). */
  checksumValid?: boolean;
  /** ICMP length (header + data) from the IP header. */
  length: number;
  /** Echo / timestamp / info id and sequence. */
  id?: number;
  /** Echo / timestamp / info sequence number. */
  seq?: number;
  /** Redirect gateway. */
  gateway?: string;
  /** Fragmentation-needed next-hop MTU. */
  mtu?: number;
  /** Parameter-problem pointer. */
  pointer?: number;
  /** Address-mask reply mask. */
  mask?: number;
  /** Timestamp request/reply: originate, receive, transmit. */
  timestamps?: [number, number, number];
  /** The packet an error message quotes (unreachable, time exceeded, redirect...). */
  quoted?: QuotedPacket;
  /** The capture ends inside the message's fixed part (only type/code/checksum are sure). */
  truncated?: boolean;
}

/** A neighbour-discovery option (RFC 4861). */
export interface NdOption {
  /** Option type (1 source, 2 target link-layer address, 3 prefix, 5 MTU). */
  type: number;
  /** Length in bytes (the wire field times 8). */
  length: number;
  /** Source/target link-layer address (types 1, 2). */
  linkAddress?: string;
  /** Prefix information (type 3). */
  prefix?: {
    prefix: string;
    prefixLength: number;
    onLink: boolean;
    autonomous: boolean;
    validLifetime: number;
    preferredLifetime: number;
  };
  /** MTU (type 5). */
  mtu?: number;
}

/** ICMPv6 message. */
export interface Icmpv6Message {
  /** Byte offset of the ICMPv6 header in the decoded bytes. */
  offset: number;
  /** ICMPv6 type (1 unreachable, 128 echo request, 129 echo reply, 133-137 ND). */
  type: number;
  /** ICMPv6 code. */
  code: number;
  /** Checksum as on the wire. */
  checksum: number;
  /** Whether the checksum is right (undefined when the message was not all captured). */
  checksumValid?: boolean;
  /** ICMPv6 length (header + data) from the IPv6 payload length, in bytes. */
  length: number;
  /** Echo identifier. */
  id?: number;
  /** Echo sequence number. */
  seq?: number;
  /** Packet-too-big MTU. */
  mtu?: number;
  /** Parameter-problem pointer. */
  pointer?: number;
  /** Neighbour solicitation/advertisement and redirect target. */
  target?: string;
  /** Redirect destination. */
  destination?: string;
  /** Neighbour advertisement flags. */
  naFlags?: { router: boolean; solicited: boolean; override: boolean };
  /** Router advertisement fields. */
  routerAdvert?: {
    curHopLimit: number;
    managed: boolean;
    other: boolean;
    flags: number;
    routerLifetime: number;
    reachableTime: number;
    retransTimer: number;
  };
  /** Neighbour-discovery options (RS, RA, NS, NA, redirect). */
  options?: NdOption[];
  /** MLDv1 (130-132): maximum response delay and multicast address. */
  mld?: { maxResponseDelay: number; address: string };
  /** MLDv2 report (143): number of group records. */
  groupRecords?: number;
  /** The packet an error message quotes (unreachable, packet too big, time exceeded). */
  quoted?: QuotedPacket;
  /** The capture ends inside the message's fixed part (only type/code/checksum are sure). */
  truncated?: boolean;
}

/** One TCP option. */
export interface TcpOption {
  /** Option kind number. */
  type: number;
  /** "eol" "nop" "mss" "wscale" "sackOK" "sack" "timestamp" "unknown". */
  name: string;
  /** Total length in bytes (1 for eol/nop). */
  length: number;
  /** mss value, wscale shift. */
  value?: number;
  /** SACK blocks [left, right). */
  blocks?: [number, number][];
  /** Timestamps. */
  tsval?: number;
  /** Timestamp echo reply (TSecr) of the timestamp option. */
  tsecr?: number;
  /** Raw option data as hex, for unknown kinds. */
  data?: string;
  /** The capture ends inside this option. */
  truncated?: boolean;
}

/** TCP header. */
export interface TcpHeader {
  /** Byte offset of the TCP header in the decoded bytes. */
  offset: number;
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** Sequence number. */
  seq: number;
  /** Acknowledgment number. */
  ack: number;
  /** Header length in bytes (data offset times 4: 20..60). */
  headerLength: number;
  /** The 8 flag bits (CWR ECE URG ACK PSH RST SYN FIN). */
  flags: number;
  /** FIN flag. */
  fin: boolean;
  /** SYN flag. */
  syn: boolean;
  /** RST flag. */
  rst: boolean;
  /** PSH flag. */
  psh: boolean;
  /** ACK flag (named so as not to clash with the acknowledgment number `ack`). */
  ackFlag: boolean;
  /** URG flag. */
  urg: boolean;
  /** ECE flag (ECN echo). */
  ece: boolean;
  /** CWR flag (congestion window reduced). */
  cwr: boolean;
  /** Window field (unscaled). */
  window: number;
  /** Checksum as on the wire. */
  checksum: number;
  /** Whether the checksum is right (undefined when the segment was not all captured). */
  checksumValid?: boolean;
  /** Urgent pointer. */
  urgentPointer: number;
  /** The options after the fixed 20 bytes, in order. */
  options: TcpOption[];
  /** The capture ends inside the options. */
  optionsTruncated?: boolean;
  /** Payload bytes per the IP length (may exceed what was captured). */
  payloadLength: number;
}

/** UDP header. */
export interface UdpHeader {
  /** Byte offset of the UDP header in the decoded bytes. */
  offset: number;
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** UDP length field. */
  length: number;
  /** Checksum as on the wire (0: none, IPv4 only). */
  checksum: number;
  /** Whether the checksum is right (undefined when absent or not all captured). */
  checksumValid?: boolean;
  /** Payload bytes per the UDP length (may exceed what was captured). */
  payloadLength: number;
}

/** One DNS resource record, summarised. */
export interface DnsRecord {
  /** Owner name, dotted. */
  name: string;
  /** Record type (1 A, 28 AAAA, 5 CNAME...). */
  type: number;
  /** Record class (1 IN). */
  class: number;
  /** Time to live in seconds. */
  ttl: number;
  /** Rendered data for A, AAAA, CNAME, NS, PTR, MX, TXT (else undefined). */
  data?: string;
}

/** A DNS message summary (RFC 1035). Names are escaped to printable ASCII. */
export interface DnsSummary {
  /** Byte offset of the DNS header in the decoded bytes. */
  offset: number;
  /** Transaction id. */
  id: number;
  /** QR bit: a response rather than a query. */
  response: boolean;
  /** Opcode (0 query). */
  opcode: number;
  /** Response code (0 NOERROR, 3 NXDOMAIN). */
  rcode: number;
  /** Header flag bits (authoritative, truncated, recursion desired/available, z, AD, CD). */
  flags: { aa: boolean; tc: boolean; rd: boolean; ra: boolean; z: boolean; ad: boolean; cd: boolean };
  /** QDCOUNT: number of questions. */
  questionCount: number;
  /** ANCOUNT: number of answer records. */
  answerCount: number;
  /** NSCOUNT: number of authority records. */
  authorityCount: number;
  /** ARCOUNT: number of additional records. */
  additionalCount: number;
  /** First question. */
  question?: { name: string; type: number; class: number };
  /** Answer records, at most 16. */
  answers: DnsRecord[];
  /** DNS length (the UDP payload, or the TCP length prefix). */
  length: number;
  /** Set when the message could not be parsed to the end of the answers. */
  malformed?: string;
  /** Set when the bytes end before the message does. */
  truncated?: boolean;
}

/** The result of `decode()`. */
export interface DecodedPacket {
  /** How the bytes began: raw IP or an Ethernet frame. */
  linkType: LinkType;
  /** Bytes given to decode(). */
  length: number;
  /** The Ethernet header (linkType "ethernet"). */
  ethernet?: EthernetHeader;
  /** ARP, when the frame carries it. */
  arp?: ArpPacket;
  /** The IPv4 header. */
  ipv4?: Ipv4Header;
  /** The IPv6 header and its extensions. */
  ipv6?: Ipv6Header;
  /** ICMP (over IPv4). */
  icmp?: IcmpMessage;
  /** ICMPv6. */
  icmpv6?: Icmpv6Message;
  /** The TCP header. */
  tcp?: TcpHeader;
  /** The UDP header. */
  udp?: UdpHeader;
  /** A DNS summary (UDP/TCP port 53). */
  dns?: DnsSummary;
  /** Text protocol on a well-known TCP port (HTTP, RTSP, FTP, SMTP, SSH). */
  app?: { protocol: string; firstLine?: string };
  /** Raw link type: the IP version nibble of the first byte. */
  ipVersion?: number;
  /** Ports, when the TCP/UDP header itself is cut short but its first 4 bytes were captured. */
  ports?: { srcPort: number; dstPort: number };
  /** Application payload location (captured part). */
  payload?: { offset: number; length: number };
  /** The bytes ended before a layer was complete. */
  truncated?: true;
  /** Which layer ran out of bytes. */
  truncatedLayer?: string;
  /** The first thing found that cannot be right. */
  malformed?: string;
}

/** Collects the first non-fatal problem a layer decoder found (it still returned a value). */
export interface DecodeNotes {
  /** The first non-fatal problem found, as one sentence. */
  malformed?: string;
  /** Set when a layer returned a value but its bytes ended early (e.g. TCP options cut off). */
  truncated?: boolean;
}
