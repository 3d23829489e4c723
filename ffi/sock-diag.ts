/**
 * Which TCP sockets of this network namespace the kernel still sends on after their owner
 * closed them: one NETLINK_SOCK_DIAG dump (inet_diag, the interface of `ss`) asking for the
 * states in which a socket has something unacknowledged to retransmit (FIN-WAIT-1, CLOSING,
 * LAST-ACK). An fd closed with bytes or a FIN still in flight leaves such an orphan behind,
 * retransmitting with a backed-off timer until the peer acknowledges or the kernel gives up.
 *
 * Used by the tunnel's NAT (proxy/tunnel.ts): a finished flow's entry stays while the
 * listener's side of its connection is such a socket, since every retransmission of it must
 * still be rewritten to reach the client.
 *
 * @module
 */
import { raw, SOCK } from "./libc.ts";

const AF_NETLINK = 16;
const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 0x1;
const NLM_F_DUMP = 0x300;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const IPPROTO_TCP = 6;
/** TCP states (include/net/tcp_states.h) in which a closed socket still retransmits. */
export const TCP_STATE = { FIN_WAIT1: 4, CLOSING: 11, LAST_ACK: 9 } as const;
const SENDING = (1 << TCP_STATE.FIN_WAIT1) | (1 << TCP_STATE.CLOSING) | (1 << TCP_STATE.LAST_ACK);
/** struct nlmsghdr (16) + struct inet_diag_req_v2 (56). */
const REQ_LEN = 16 + 56;

const req = new Uint8Array(new ArrayBuffer(1024)).subarray(0, REQ_LEN);
const buf = new Uint8Array(32 << 10);
let seq = 0;

/**
 * The TCP sockets of `family` whose local port is one of `localPorts` and that are still
 * sending after their close (FIN-WAIT-1, CLOSING, LAST-ACK), as `local port * 65536 + remote
 * port`; undefined when the kernel cannot say (no inet_diag, no fd left), so that the caller
 * falls back to what it did without.
 *
 * @example
 * ```ts
 * import { tcpStillSending } from "./sock-diag.ts";
 * const s = tcpStillSending(4, [41000]);
 * s?.has(41000 * 65536 + 10001); // the listener 41000's connection with port 10001 retransmits
 * ```
 */
export function tcpStillSending(family: 4 | 6, localPorts: readonly number[]): Set<number> | undefined {
  const fd = raw.socket(AF_NETLINK, SOCK.SOCK_RAW | SOCK.SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return undefined;
  try {
    const v = new DataView(req.buffer, req.byteOffset, REQ_LEN);
    req.fill(0);
    v.setUint32(0, REQ_LEN, true);
    v.setUint16(4, SOCK_DIAG_BY_FAMILY, true);
    v.setUint16(6, NLM_F_REQUEST | NLM_F_DUMP, true);
    v.setUint32(8, ++seq, true);
    req[16] = family === 4 ? SOCK.AF_INET : SOCK.AF_INET6;
    req[17] = IPPROTO_TCP;
    v.setUint32(20, SENDING, true);
    if (raw.sendto(fd, req, REQ_LEN, 0, null, 0) !== REQ_LEN) return undefined;
    const out = new Set<number>();
    const bv = new DataView(buf.buffer, buf.byteOffset, buf.length);
    for (;;) {
      const n = raw.recvfrom(fd, buf, buf.length, 0, null, null);
      if (n <= 0) return undefined;
      for (let o = 0; o + 16 <= n; ) {
        const len = bv.getUint32(o, true);
        const type = bv.getUint16(o + 4, true);
        if (len < 16 || o + len > n) return undefined;
        if (type === NLMSG_DONE) return out;
        if (type === NLMSG_ERROR) return undefined;
        if (type === SOCK_DIAG_BY_FAMILY && len >= 16 + 24) {
          // struct inet_diag_msg: family, state, timer, retrans, then the id: sport, dport (big-endian)
          const sport = bv.getUint16(o + 20);
          const dport = bv.getUint16(o + 22);
          if (localPorts.includes(sport)) out.add(sport * 65536 + dport);
        }
        o += (len + 3) & ~3;
      }
    }
  } finally {
    raw.close(fd);
  }
}
