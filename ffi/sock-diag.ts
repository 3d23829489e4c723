/**
 * Whether the kernel still sends on a TCP connection whose owner closed it: an exact lookup of
 * its socket through NETLINK_SOCK_DIAG (inet_diag, the interface of `ss`), answered with the
 * socket's state. An fd closed with bytes or a FIN not yet acknowledged leaves an orphan behind
 * (FIN-WAIT-1, CLOSING, LAST-ACK) that retransmits with a backed-off timer until the peer
 * acknowledges or the kernel gives up.
 *
 * Used by the tunnel's NAT (proxy/tunnel.ts): a finished flow's entry stays while the
 * listener's side of its connection is such a socket, since every retransmission of it must
 * still be rewritten to reach the client. One lookup is a hash lookup in the kernel (two system
 * calls); a dump of the sockets in those states walks the whole established table instead
 * (~20 ms on this machine, for any number of matches).
 *
 * @module
 */
import { raw, SOCK } from "./libc.ts";

const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 0x1;
const NLMSG_ERROR = 2;
const IPPROTO_TCP = 6;
const ENOENT = 2;
/** TCP states (include/net/tcp_states.h) in which a closed socket still retransmits. */
export const TCP_STATE = { FIN_WAIT1: 4, CLOSING: 11, LAST_ACK: 9 } as const;
const SENDING = (1 << TCP_STATE.FIN_WAIT1) | (1 << TCP_STATE.CLOSING) | (1 << TCP_STATE.LAST_ACK);
/** struct nlmsghdr (16) + struct inet_diag_req_v2 (56, its inet_diag_sockid at 8). */
const REQ_LEN = 16 + 56;

/**
 * A netlink socket for {@link TcpDiag.sending} lookups; {@link TcpDiag.open} it, ask, close it.
 *
 * @example
 * ```ts
 * import { TcpDiag } from "./sock-diag.ts";
 * const d = TcpDiag.open();
 * const tun = new Uint8Array([198, 18, 0, 1]), fake = new Uint8Array([198, 18, 0, 2]);
 * d?.sending(4, tun, 41000, fake, 10001); // false: no such connection
 * d?.close();
 * ```
 */
export class TcpDiag {
  private readonly fd: number;
  private readonly req = new Uint8Array(new ArrayBuffer(1024)).subarray(0, REQ_LEN);
  private readonly v = new DataView(this.req.buffer, 0, REQ_LEN);
  private readonly buf = new Uint8Array(4096);
  private readonly bv = new DataView(this.buf.buffer);
  private seq = 0;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** A lookup socket, or undefined when netlink refuses one (no fd left, no sock_diag). */
  static open(): TcpDiag | undefined {
    const fd = raw.socket(SOCK.AF_NETLINK, SOCK.SOCK_RAW | SOCK.SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    return fd < 0 ? undefined : new TcpDiag(fd);
  }

  /**
   * Whether the connection `local`:`lport` <-> `remote`:`rport` (addresses of `family`, 4 or
   * 16 bytes) is a socket the kernel still retransmits on (FIN-WAIT-1, CLOSING, LAST-ACK):
   * false when it is in another state or gone, undefined when the kernel cannot say.
   */
  sending(family: 4 | 6, local: Uint8Array, lport: number, remote: Uint8Array, rport: number): boolean | undefined {
    const { req, v, buf, bv } = this;
    req.fill(0);
    v.setUint32(0, REQ_LEN, true);
    v.setUint16(4, SOCK_DIAG_BY_FAMILY, true);
    v.setUint16(6, NLM_F_REQUEST, true);
    v.setUint32(8, ++this.seq, true);
    req[16] = family === 4 ? SOCK.AF_INET : SOCK.AF_INET6;
    req[17] = IPPROTO_TCP;
    v.setUint32(20, 0xffffffff, true); // every state (an exact lookup ignores it)
    v.setUint16(24, lport); // inet_diag_sockid: ports big-endian, then source, destination
    v.setUint16(26, rport);
    req.set(local.subarray(0, family === 4 ? 4 : 16), 28);
    req.set(remote.subarray(0, family === 4 ? 4 : 16), 44);
    v.setUint32(64, 0xffffffff, true); // INET_DIAG_NOCOOKIE
    v.setUint32(68, 0xffffffff, true);
    if (raw.sendto(this.fd, req, REQ_LEN, 0, null, 0) !== REQ_LEN) return undefined;
    for (;;) {
      const n = raw.recvfrom(this.fd, buf, buf.length, 0, null, null);
      if (n < 16) return undefined;
      if (bv.getUint32(8, true) !== this.seq) continue; // an answer to an earlier question
      const type = bv.getUint16(4, true);
      if (type === NLMSG_ERROR) return n >= 20 && bv.getInt32(16, true) === -ENOENT ? false : undefined;
      if (type !== SOCK_DIAG_BY_FAMILY || n < 18) return undefined;
      return ((1 << buf[17]!) & SENDING) !== 0; // struct inet_diag_msg: family, state, ...
    }
  }

  /** Closes the socket. */
  close(): void {
    raw.close(this.fd);
  }
}

