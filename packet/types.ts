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
  offset: number;
  dst: string;
  src: string;
  vlans: VlanTag[];
  /** EtherType after the tags; a value < 0x0600 is an 802.3 length (the frame is LLC). */
  etherType: number;
  headerLength: number;
}

/** ARP (RFC 826). Addresses are text: MAC / dotted quad for Ethernet+IPv4, hex otherwise. */
export interface ArpPacket {
  offset: number;
  hardwareType: number;
  protocolType: number;
  hardwareLength: number;
  protocolLength: number;
  /** 1 request, 2 reply, 3/4 RARP, 8/9 InARP. */
  operation: number;
  senderHardware: string;
  senderProtocol: string;
  targetHardware: string;
  targetProtocol: string;
}

/** One IPv4 option. */
export interface Ipv4Option {
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
  offset: number;
  version: 4;
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  flags: { reserved: boolean; df: boolean; mf: boolean };
  /** Fragment offset in bytes (the field times 8). */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  /** Whether the header checksum is right (undefined if the header was not all captured). */
  checksumValid?: boolean;
  src: string;
  dst: string;
  options: Ipv4Option[];
}

/** One IPv6 extension header walked by the decoder. */
export interface Ipv6Extension {
  /** Protocol number of this header (0 hop-by-hop, 43 routing, 44 fragment, 60 destination). */
  type: number;
  name: "hop-by-hop" | "routing" | "fragment" | "destination";
  offset: number;
  length: number;
  /** Next header field. */
  nextHeader: number;
  /** Options (hop-by-hop / destination): type and data length. */
  options?: { type: number; length: number; value?: number }[];
  /** Routing header type and segments left. */
  routingType?: number;
  segmentsLeft?: number;
  /** Type 0 (deprecated) / 2 routing addresses. */
  addresses?: string[];
  /** Fragment header: offset in bytes, more-fragments flag, identification. */
  fragmentOffset?: number;
  more?: boolean;
  id?: number;
}

/** IPv6 header and the extension-header chain. */
export interface Ipv6Header {
  offset: number;
  version: 6;
  trafficClass: number;
  flowLabel: number;
  payloadLength: number;
  /** Next header field of the fixed header. */
  nextHeader: number;
  hopLimit: number;
  src: string;
  dst: string;
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
  ipv4?: Ipv4Header;
  ipv6?: Ipv6Header;
  protocol: number;
  srcPort?: number;
  dstPort?: number;
  /** Set when the quoted bytes end early (normal: errors quote only 8 bytes of L4). */
  truncated?: boolean;
}

/** ICMP (IPv4) message. */
export interface IcmpMessage {
  offset: number;
  type: number;
  code: number;
  checksum: number;
  checksumValid?: boolean;
  /** ICMP length (header + data) from the IP header. */
  length: number;
  /** Echo / timestamp / info id and sequence. */
  id?: number;
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
  quoted?: QuotedPacket;
  /** The capture ends inside the message's fixed part (only type/code/checksum are sure). */
  truncated?: boolean;
}

/** A neighbour-discovery option (RFC 4861). */
export interface NdOption {
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
  offset: number;
  type: number;
  code: number;
  checksum: number;
  checksumValid?: boolean;
  length: number;
  id?: number;
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
  options?: NdOption[];
  /** MLDv1 (130-132): maximum response delay and multicast address. */
  mld?: { maxResponseDelay: number; address: string };
  /** MLDv2 report (143): number of group records. */
  groupRecords?: number;
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
  tsecr?: number;
  /** Raw option data as hex, for unknown kinds. */
  data?: string;
  /** The capture ends inside this option. */
  truncated?: boolean;
}

/** TCP header. */
export interface TcpHeader {
  offset: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  headerLength: number;
  /** The 8 flag bits (CWR ECE URG ACK PSH RST SYN FIN). */
  flags: number;
  fin: boolean;
  syn: boolean;
  rst: boolean;
  psh: boolean;
  ackFlag: boolean;
  urg: boolean;
  ece: boolean;
  cwr: boolean;
  window: number;
  checksum: number;
  checksumValid?: boolean;
  urgentPointer: number;
  options: TcpOption[];
  /** The capture ends inside the options. */
  optionsTruncated?: boolean;
  /** Payload bytes per the IP length (may exceed what was captured). */
  payloadLength: number;
}

/** UDP header. */
export interface UdpHeader {
  offset: number;
  srcPort: number;
  dstPort: number;
  /** UDP length field. */
  length: number;
  checksum: number;
  checksumValid?: boolean;
  /** Payload bytes per the UDP length (may exceed what was captured). */
  payloadLength: number;
}

/** One DNS resource record, summarised. */
export interface DnsRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** Rendered data for A, AAAA, CNAME, NS, PTR, MX, TXT (else undefined). */
  data?: string;
}

/** A DNS message summary (RFC 1035). Names are escaped to printable ASCII. */
export interface DnsSummary {
  offset: number;
  id: number;
  response: boolean;
  opcode: number;
  rcode: number;
  flags: { aa: boolean; tc: boolean; rd: boolean; ra: boolean; z: boolean; ad: boolean; cd: boolean };
  questionCount: number;
  answerCount: number;
  authorityCount: number;
  additionalCount: number;
  /** First question. */
  question?: { name: string; type: number; class: number };
  /** Answer records, at most 16. */
  answers: DnsRecord[];
  /** DNS length (the UDP payload, or the TCP length prefix). */
  length: number;
  /** Set when the message could not be parsed to the end of the answers. */
  malformed?: string;
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
  malformed?: string;
  /** Set when a layer returned a value but its bytes ended early (e.g. TCP options cut off). */
  truncated?: boolean;
}
