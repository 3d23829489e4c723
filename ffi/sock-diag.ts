/**
 * The kernel's state of TCP connections, asked by their 4-tuple through NETLINK_SOCK_DIAG
 * (inet_diag, the interface of `ss`): exact lookups, many per system call.
 *
 * Used by the tunnel's NAT sweep (proxy/tunnel.ts), whose entries follow the kernel's sockets:
 * a finished flow's entry stays while the listener's side of its connection is an orphan the
 * kernel still sends on (FIN-WAIT-1, CLOSING, LAST-ACK: an fd closed with bytes or a FIN not
 * yet acknowledged, retransmitted with a backed-off timer), a dialled flow's entry while the
 * kernel still holds its connection unaccepted (a request socket, or one waiting in the accept
 * queue), and a flow ended without its FIN or RST crossing the tun is told by whether the
 * kernel's socket is gone.
 *
 * One lookup is a hash lookup in the kernel; a dump walks the whole established table instead
 * (~20 ms on this machine, for any number of matches). {@link TcpDiag.states} puts up to
 * {@link DIAG_BATCH} requests in one `sendto` (the kernel answers each within that call) and
 * reads the answers with one `recvmmsg`: two system calls per batch, where one lookup each took
 * two (~110 µs per expiring entry at load 17, on the JS thread).
 *
 * @module
 */
import { raw, SOCK } from "./libc.ts";
import { INET } from "./abi.ts";
import { ERRNO } from "./errors.ts";
import { MultiRecv } from "./mmsg.ts";

const NETLINK_SOCK_DIAG = 4;
const SOCK_DIAG_BY_FAMILY = 20;
const NLM_F_REQUEST = 0x1;
const NLMSG_ERROR = 2;
/** TCP states (include/net/tcp_states.h). */
export const TCP_STATE = {
  ESTABLISHED: 1, SYN_SENT: 2, SYN_RECV: 3, FIN_WAIT1: 4, FIN_WAIT2: 5, TIME_WAIT: 6, CLOSE: 7,
  CLOSE_WAIT: 8, LAST_ACK: 9, LISTEN: 10, CLOSING: 11, NEW_SYN_RECV: 12,
} as const;
const SENDING = (1 << TCP_STATE.FIN_WAIT1) | (1 << TCP_STATE.CLOSING) | (1 << TCP_STATE.LAST_ACK);
/** struct nlmsghdr (16) + struct inet_diag_req_v2 (56, its inet_diag_sockid at 8). */
const REQ_LEN = 16 + 56;
/**
 * Requests per `sendto`. Each answer is its own datagram on the socket's receive queue until
 * read (~1 KiB of buffer each): 64 stay well inside the default 208 KiB, where an overflowing
 * queue would lose answers.
 */
export const DIAG_BATCH = 64;
/** An answer: a struct inet_diag_msg (72) with a few attributes, or an error quoting the request (16 + 4 + 72). */
const ANSWER_MAX = 1024;

/**
 * Whether a socket in TCP state `state` ({@link TCP_STATE}) was closed by its owner with
 * something the kernel still retransmits: FIN-WAIT-1, CLOSING, LAST-ACK.
 *
 * @example
 * ```ts
 * import { isSending, TCP_STATE } from "./sock-diag.ts";
 * isSending(TCP_STATE.LAST_ACK); // true
 * isSending(TCP_STATE.TIME_WAIT); // false
 * ```
 */
export function isSending(state: number): boolean {
  return state > 0 && ((1 << state) & SENDING) !== 0;
}

/**
 * A netlink socket for {@link TcpDiag.states} lookups; {@link TcpDiag.open} it, ask, close it.
 *
 * @example
 * ```ts
 * import { TcpDiag } from "./sock-diag.ts";
 * const d = TcpDiag.open();
 * const tun = new Uint8Array([198, 18, 0, 1]), fake = new Uint8Array([198, 18, 0, 2]);
 * const out = new Int8Array(2);
 * d?.states(4, tun, fake, [41000, 41000], [10001, 10002], 2, out); // out: [0, 0], no such connections
 * d?.sending(4, tun, 41000, fake, 10001); // false
 * d?.close();
 * ```
 */
export class TcpDiag {
  private readonly fd: number;
  private readonly req = new Uint8Array(new ArrayBuffer(DIAG_BATCH * REQ_LEN));
  private readonly v = new DataView(this.req.buffer);
  private recv: MultiRecv | undefined;
  /** A view over every answer slot of {@link recv} (one buffer). */
  private rv: DataView | undefined;
  private seq = 0;
  /** System calls made (sendto and recvmmsg), for tests and measurement. */
  calls = 0;

  private constructor(fd: number) {
    this.fd = fd;
  }

  /** A lookup socket, or undefined when netlink refuses one (no fd left, no sock_diag). */
  static open(): TcpDiag | undefined {
    const fd = raw.socket(SOCK.AF_NETLINK, SOCK.SOCK_RAW | SOCK.SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    return fd < 0 ? undefined : new TcpDiag(fd);
  }

  /**
   * The kernel's state of each connection `local`:`lports[i]` <-> `remote`:`rports[i]` for i <
   * `count` (addresses of `family`, 4 or 16 bytes), into `out[i]`: its {@link TCP_STATE}, 0
   * when the kernel has no such connection (a lookup that finds only a listener on
   * `local`:`lports[i]` answers with the listener: that is 0 too), -1 when it could not say.
   */
  states(family: 4 | 6, local: Uint8Array, remote: Uint8Array, lports: ArrayLike<number>, rports: ArrayLike<number>, count: number, out: Int8Array): void {
    const { req, v } = this;
    const n = family === 4 ? 4 : 16;
    const recv = (this.recv ??= new MultiRecv(DIAG_BATCH, ANSWER_MAX, 0));
    const bv = (this.rv ??= new DataView(recv.slot(0).buffer));
    for (let start = 0; start < count; start += DIAG_BATCH) {
      const k = Math.min(DIAG_BATCH, count - start);
      const seq0 = this.seq + 1;
      this.seq += k;
      req.fill(0, 0, k * REQ_LEN);
      for (let j = 0; j < k; j++) {
        const o = j * REQ_LEN;
        out[start + j] = -1;
        v.setUint32(o, REQ_LEN, true);
        v.setUint16(o + 4, SOCK_DIAG_BY_FAMILY, true);
        v.setUint16(o + 6, NLM_F_REQUEST, true);
        v.setUint32(o + 8, (seq0 + j) >>> 0, true);
        req[o + 16] = family === 4 ? SOCK.AF_INET : SOCK.AF_INET6;
        req[o + 17] = INET.IPPROTO_TCP;
        v.setUint32(o + 20, 0xffffffff, true); // every state (an exact lookup ignores it)
        v.setUint16(o + 24, lports[start + j]!); // inet_diag_sockid: ports big-endian, then source, destination
        v.setUint16(o + 26, rports[start + j]!);
        for (let i = 0; i < n; i++) {
          req[o + 28 + i] = local[i]!;
          req[o + 44 + i] = remote[i]!;
        }
        v.setUint32(o + 64, 0xffffffff, true); // INET_DIAG_NOCOOKIE
        v.setUint32(o + 68, 0xffffffff, true);
      }
      this.calls++;
      if (raw.sendto(this.fd, req, k * REQ_LEN, 0, null, 0) !== k * REQ_LEN) continue;
      // The kernel answered every request inside sendto: the answers are queued already.
      let left = k;
      while (left > 0) {
        this.calls++;
        let got: number;
        try {
          got = recv.recv(this.fd, SOCK.MSG_DONTWAIT, "recvmmsg(sock_diag)");
        } catch {
          break;
        }
        if (got <= 0) break;
        for (let m = 0; m < got; m++) {
          const len = recv.length(m);
          if (len < 20 || recv.truncated(m)) continue;
          const b = recv.slot(m);
          const o = b.byteOffset;
          const j = (bv.getUint32(o + 8, true) - seq0) >>> 0;
          if (j >= k) continue; // an answer to an earlier question
          left--;
          const type = bv.getUint16(o + 4, true);
          if (type === NLMSG_ERROR) out[start + j] = bv.getInt32(o + 16, true) === -ERRNO.ENOENT ? 0 : -1;
          else if (type === SOCK_DIAG_BY_FAMILY) out[start + j] = b[17] === TCP_STATE.LISTEN ? 0 : b[17]!; // inet_diag_msg: family, state
        }
      }
    }
  }

  /**
   * Whether the connection `local`:`lport` <-> `remote`:`rport` is a socket the kernel still
   * retransmits on ({@link isSending}): false when it is in another state or gone, undefined
   * when the kernel cannot say.
   */
  sending(family: 4 | 6, local: Uint8Array, lport: number, remote: Uint8Array, rport: number): boolean | undefined {
    const out = new Int8Array(1);
    this.states(family, local, remote, [lport], [rport], 1, out);
    return out[0]! < 0 ? undefined : isSending(out[0]!);
  }

  /** Closes the socket. */
  close(): void {
    raw.close(this.fd);
  }
}
