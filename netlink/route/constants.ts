/**
 * rtnetlink numbers from the kernel's uapi headers (linux/rtnetlink.h, if_link.h,
 * if_addr.h, fib_rules.h, if_tun.h). Plain data, no logic.
 *
 * @example
 * ```ts
 * import { RTM, RTA } from "./constants.ts";
 * RTM.NEWROUTE; // 24
 * RTA.TABLE;    // 15
 * ```
 * @module
 */

/** NETLINK_ROUTE protocol number for socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE). */
export const NETLINK_ROUTE = 0;

/** Address families that appear in rtnetlink headers. */
export const AF = { UNSPEC: 0, UNIX: 1, INET: 2, BRIDGE: 7, INET6: 10, PACKET: 17, MPLS: 28 } as const;

/** rtnetlink message types. */
export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18, SETLINK: 19,
  NEWADDR: 20, DELADDR: 21, GETADDR: 22,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
  NEWNEIGH: 28, DELNEIGH: 29, GETNEIGH: 30,
  NEWRULE: 32, DELRULE: 33, GETRULE: 34,
  NEWNSID: 88, DELNSID: 89, GETNSID: 90,
} as const;

/** Network namespace id attributes (NETNSA_*). */
export const NETNSA = { NSID: 1, PID: 2, FD: 3, TARGET_NSID: 4, CURRENT_NSID: 5 } as const;

/** Multicast groups (1-based bit numbers, for NETLINK_ADD_MEMBERSHIP). */
export const RTNLGRP = {
  LINK: 1, NOTIFY: 2, NEIGH: 3, TC: 4, IPV4_IFADDR: 5, IPV4_MROUTE: 6, IPV4_ROUTE: 7,
  IPV4_RULE: 8, IPV6_IFADDR: 9, IPV6_MROUTE: 10, IPV6_ROUTE: 11, IPV6_IFINFO: 12,
  IPV6_PREFIX: 18, IPV6_RULE: 19,
} as const;

/** Link attributes (IFLA_*). */
export const IFLA = {
  ADDRESS: 1, BROADCAST: 2, IFNAME: 3, MTU: 4, LINK: 5, QDISC: 6, STATS: 7, COST: 8,
  PRIORITY: 9, MASTER: 10, WIRELESS: 11, PROTINFO: 12, TXQLEN: 13, MAP: 14, WEIGHT: 15,
  OPERSTATE: 16, LINKMODE: 17, LINKINFO: 18, NET_NS_PID: 19, IFALIAS: 20, NUM_VF: 21,
  VFINFO_LIST: 22, STATS64: 23, VF_PORTS: 24, PORT_SELF: 25, AF_SPEC: 26, GROUP: 27,
  NET_NS_FD: 28, EXT_MASK: 29, PROMISCUITY: 30, NUM_TX_QUEUES: 31, NUM_RX_QUEUES: 32,
  CARRIER: 33, PHYS_PORT_ID: 34, CARRIER_CHANGES: 35, PHYS_SWITCH_ID: 36, LINK_NETNSID: 37,
  PHYS_PORT_NAME: 38, PROTO_DOWN: 39, GSO_MAX_SEGS: 40, GSO_MAX_SIZE: 41, PAD: 42, XDP: 43,
  EVENT: 44, NEW_NETNSID: 45, TARGET_NETNSID: 46, CARRIER_UP_COUNT: 47,
  CARRIER_DOWN_COUNT: 48, NEW_IFINDEX: 49, MIN_MTU: 50, MAX_MTU: 51, PROP_LIST: 52,
  ALT_IFNAME: 53, PERM_ADDRESS: 54, PROTO_DOWN_REASON: 55, PARENT_DEV_NAME: 56,
  PARENT_DEV_BUS_NAME: 57, GRO_MAX_SIZE: 58, TSO_MAX_SIZE: 59, TSO_MAX_SEGS: 60,
  ALLMULTI: 61, DEVLINK_PORT: 62, GSO_IPV4_MAX_SIZE: 63, GRO_IPV4_MAX_SIZE: 64,
} as const;

/** IFLA_LINKINFO children. */
export const IFLA_INFO = { KIND: 1, DATA: 2, XSTATS: 3, SLAVE_KIND: 4, SLAVE_DATA: 5 } as const;

/** IFLA_INFO_DATA children of a tun/tap device (drivers/net/tun.c). */
export const IFLA_TUN = {
  OWNER: 1, GROUP: 2, TYPE: 3, PI: 4, VNET_HDR: 5, PERSIST: 6, MULTI_QUEUE: 7,
  NUM_QUEUES: 8, NUM_DISABLED_QUEUES: 9,
} as const;

/** IFLA_INFO_DATA child of a veth: the peer's ifinfomsg + attributes. */
export const VETH_INFO_PEER = 1;

/** IFLA_EXT_MASK bits (RTEXT_FILTER_*). */
export const RTEXT_FILTER = { VF: 1, BRVLAN: 2, BRVLAN_COMPRESSED: 4, SKIP_STATS: 8, MRP: 16, CFM_CONFIG: 32, CFM_STATUS: 64 } as const;

/** Interface flags (IFF_*, ifi_flags). */
export const IFF = {
  UP: 0x1, BROADCAST: 0x2, DEBUG: 0x4, LOOPBACK: 0x8, POINTOPOINT: 0x10, NOTRAILERS: 0x20,
  RUNNING: 0x40, NOARP: 0x80, PROMISC: 0x100, ALLMULTI: 0x200, MASTER: 0x400, SLAVE: 0x800,
  MULTICAST: 0x1000, PORTSEL: 0x2000, AUTOMEDIA: 0x4000, DYNAMIC: 0x8000, LOWER_UP: 0x10000,
  DORMANT: 0x20000, ECHO: 0x40000,
} as const;

/** RFC 2863 operational states (IFLA_OPERSTATE). */
export const IF_OPER = { UNKNOWN: 0, NOTPRESENT: 1, DOWN: 2, LOWERLAYERDOWN: 3, TESTING: 4, DORMANT: 5, UP: 6 } as const;

/** Address attributes (IFA_*). */
export const IFA = {
  ADDRESS: 1, LOCAL: 2, LABEL: 3, BROADCAST: 4, ANYCAST: 5, CACHEINFO: 6, MULTICAST: 7,
  FLAGS: 8, RT_PRIORITY: 9, TARGET_NETNSID: 10, PROTO: 11,
} as const;

/** Address flags (IFA_F_*; the low 8 bits also travel in ifa_flags). */
export const IFA_F = {
  SECONDARY: 0x01, TEMPORARY: 0x01, NODAD: 0x02, OPTIMISTIC: 0x04, DADFAILED: 0x08,
  HOMEADDRESS: 0x10, DEPRECATED: 0x20, TENTATIVE: 0x40, PERMANENT: 0x80,
  MANAGETEMPADDR: 0x100, NOPREFIXROUTE: 0x200, MCAUTOJOIN: 0x400, STABLE_PRIVACY: 0x800,
} as const;

/** Lifetime value meaning "forever" in IFA_CACHEINFO. */
export const INFINITY_LIFE_TIME = 0xffffffff;

/** Route attributes (RTA_*). */
export const RTA = {
  DST: 1, SRC: 2, IIF: 3, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, METRICS: 8,
  MULTIPATH: 9, PROTOINFO: 10, FLOW: 11, CACHEINFO: 12, SESSION: 13, MP_ALGO: 14, TABLE: 15,
  MARK: 16, MFC_STATS: 17, VIA: 18, NEWDST: 19, PREF: 20, ENCAP_TYPE: 21, ENCAP: 22,
  EXPIRES: 23, PAD: 24, UID: 25, TTL_PROPAGATE: 26, IP_PROTO: 27, SPORT: 28, DPORT: 29,
  NH_ID: 30, FLOWLABEL: 31,
} as const;

/** RTA_METRICS children (RTAX_*). */
export const RTAX = {
  LOCK: 1, MTU: 2, WINDOW: 3, RTT: 4, RTTVAR: 5, SSTHRESH: 6, CWND: 7, ADVMSS: 8,
  REORDERING: 9, HOPLIMIT: 10, INITCWND: 11, FEATURES: 12, RTO_MIN: 13, INITRWND: 14,
  QUICKACK: 15, CC_ALGO: 16, FASTOPEN_NO_COOKIE: 17,
} as const;

/** Route types (rtm_type, RTN_*). */
export const RTN = {
  UNSPEC: 0, UNICAST: 1, LOCAL: 2, BROADCAST: 3, ANYCAST: 4, MULTICAST: 5, BLACKHOLE: 6,
  UNREACHABLE: 7, PROHIBIT: 8, THROW: 9, NAT: 10, XRESOLVE: 11,
} as const;

/** Route protocols (rtm_protocol, RTPROT_*). */
export const RTPROT = { UNSPEC: 0, REDIRECT: 1, KERNEL: 2, BOOT: 3, STATIC: 4, RA: 9, DHCP: 16 } as const;

/**
 * tunkit's own route/rule protocol number (rtm_protocol / FRA_PROTOCOL): every route and rule
 * tunkit installs by itself (`tunkit socks --auto-route`) carries it, so `tunkit cleanup` can
 * remove exactly tunkit's leftovers. 84 (0x54, "T") is unused in iproute2's rt_protos.
 *
 * @example
 * ```ts
 * import { RTPROT_TUNKIT } from "./constants.ts";
 * RTPROT_TUNKIT; // 84
 * ```
 */
export const RTPROT_TUNKIT = 0x54;

/** Route scopes (rtm_scope, RT_SCOPE_*). */
export const RT_SCOPE = { UNIVERSE: 0, SITE: 200, LINK: 253, HOST: 254, NOWHERE: 255 } as const;

/** Well-known routing tables (RT_TABLE_*). */
export const RT_TABLE = { UNSPEC: 0, COMPAT: 252, DEFAULT: 253, MAIN: 254, LOCAL: 255 } as const;

/** rtm_flags (RTM_F_*) and next-hop flags (RTNH_F_*) that share the field. */
export const RTM_F = {
  NOTIFY: 0x100, CLONED: 0x200, EQUALIZE: 0x400, PREFIX: 0x800, LOOKUP_TABLE: 0x1000,
  FIB_MATCH: 0x2000, OFFLOAD: 0x4000, TRAP: 0x8000, OFFLOAD_FAILED: 0x20000000,
} as const;
/** RTNH_F_*: flags of one nexthop (struct rtnexthop's rtnh_flags). */
export const RTNH_F = { DEAD: 1, PERVASIVE: 2, ONLINK: 4, OFFLOAD: 8, LINKDOWN: 16, UNRESOLVED: 32, TRAP: 64 } as const;

/** IPv6 router preference (RTA_PREF). */
export const ICMPV6_ROUTER_PREF = { LOW: 3, MEDIUM: 0, HIGH: 1, INVALID: 2 } as const;

/** FIB rule attributes (FRA_*). */
export const FRA = {
  DST: 1, SRC: 2, IIFNAME: 3, GOTO: 4, PRIORITY: 6, FWMARK: 10, FLOW: 11, TUN_ID: 12,
  SUPPRESS_IFGROUP: 13, SUPPRESS_PREFIXLEN: 14, TABLE: 15, FWMASK: 16, OIFNAME: 17, PAD: 18,
  L3MDEV: 19, UID_RANGE: 20, PROTOCOL: 21, IP_PROTO: 22, SPORT_RANGE: 23, DPORT_RANGE: 24,
  DSCP: 25, FLOWLABEL: 26, FLOWLABEL_MASK: 27,
} as const;

/** FIB rule actions (FR_ACT_*). */
export const FR_ACT = { UNSPEC: 0, TO_TBL: 1, GOTO: 2, NOP: 3, BLACKHOLE: 6, UNREACHABLE: 7, PROHIBIT: 8 } as const;

/** FIB rule flags (fib_rule_hdr.flags). */
export const FIB_RULE = { PERMANENT: 1, INVERT: 2, UNRESOLVED: 4, IIF_DETACHED: 8, OIF_DETACHED: 16 } as const;

/** Neighbour attributes (NDA_*). */
export const NDA = {
  DST: 1, LLADDR: 2, CACHEINFO: 3, PROBES: 4, VLAN: 5, PORT: 6, VNI: 7, IFINDEX: 8, MASTER: 9,
  LINK_NETNSID: 10, SRC_VNI: 11, PROTOCOL: 12, NH_ID: 13, FDB_EXT_ATTRS: 14, FLAGS_EXT: 15,
  NDM_STATE_MASK: 16, NDM_FLAGS_MASK: 17,
} as const;

/** Neighbour states (ndm_state, NUD_*). */
export const NUD = {
  NONE: 0x00, INCOMPLETE: 0x01, REACHABLE: 0x02, STALE: 0x04, DELAY: 0x08, PROBE: 0x10,
  FAILED: 0x20, NOARP: 0x40, PERMANENT: 0x80,
} as const;

/** Neighbour flags (ndm_flags, NTF_*). */
export const NTF = { USE: 0x01, SELF: 0x02, MASTER: 0x04, PROXY: 0x08, EXT_LEARNED: 0x10, OFFLOADED: 0x20, STICKY: 0x40, ROUTER: 0x80 } as const;

/** Extended neighbour flags (NDA_FLAGS_EXT, NTF_EXT_*). */
export const NTF_EXT = { MANAGED: 0x01, LOCKED: 0x02 } as const;

/** Link-layer types (ifi_type, ARPHRD_*). */
export const ARPHRD = { ETHER: 1, LOOPBACK: 772, NONE: 0xfffe, VOID: 0xffff, IPGRE: 778, TUNNEL: 768, SIT: 776 } as const;
