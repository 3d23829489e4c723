/**
 * struct nlmsghdr: encoding, and framing of the multi-message buffers the kernel sends back
 * (multipart dumps ending in NLMSG_DONE, NLMSG_ERROR acks with the extended ACK TLVs).
 *
 * @module
 */
import { MalformedError, TruncatedError } from "../../common/errors.ts";
import { AttributeDecoder } from "./attribute.ts";
import type { ByteWriter } from "./writer.ts";

/** Size of struct nlmsghdr. */
export const NLMSG_HDRLEN = 16;

/** Control message types. */
export const NLMSG = { NOOP: 1, ERROR: 2, DONE: 3, OVERRUN: 4 } as const;

/** nlmsg_flags. GET requests use ROOT/MATCH/DUMP, NEW requests REPLACE/EXCL/CREATE/APPEND. */
export const NLM_F = {
  REQUEST: 0x01,
  MULTI: 0x02,
  ACK: 0x04,
  ECHO: 0x08,
  DUMP_INTR: 0x10,
  DUMP_FILTERED: 0x20,
  ROOT: 0x100,
  MATCH: 0x200,
  ATOMIC: 0x400,
  DUMP: 0x300,
  REPLACE: 0x100,
  EXCL: 0x200,
  CREATE: 0x400,
  APPEND: 0x800,
  NONREC: 0x100,
  BULK: 0x200,
  /** In NLMSG_ERROR: the original request was not copied back in full. */
  CAPPED: 0x100,
  /** In NLMSG_ERROR / NLMSG_DONE: extended-ACK TLVs follow. */
  ACK_TLVS: 0x200,
} as const;

/** Extended ACK attributes (enum nlmsgerr_attrs). */
export const NLMSGERR_ATTR = { MSG: 1, OFFS: 2, COOKIE: 3, POLICY: 4, MISS_TYPE: 5, MISS_NEST: 6 } as const;

/** A decoded netlink message: header fields plus a view over its payload. */
export interface NetlinkMessage {
  /** nlmsg_len as the kernel wrote it (already checked against the buffer). */
  len: number;
  /** nlmsg_type: RTM_*, NLMSG_ERROR (2) or NLMSG_DONE (3). */
  type: number;
  /** nlmsg_flags: NLM_F_* bits. */
  flags: number;
  /** nlmsg_seq: the request's sequence number. */
  seq: number;
  /** nlmsg_pid: the sender's port id (0 for the kernel). */
  pid: number;
  /** Payload (after the 16-byte header), a view into the receive buffer. */
  body: Uint8Array;
}

/**
 * Writes a 16-byte header with a zero length and returns its offset; call {@link endMessage}
 * after writing the payload.
 *
 * @example
 * ```ts
 * import { beginMessage, endMessage, NLM_F } from "./message.ts";
 * import { ByteWriter } from "./writer.ts";
 * const w = new ByteWriter();
 * const at = beginMessage(w, 18, NLM_F.REQUEST | NLM_F.DUMP, 1); // RTM_GETLINK
 * w.zero(16);                                                     // struct ifinfomsg
 * endMessage(w, at);
 * w.finish().length; // 32
 * ```
 */
export function beginMessage(w: ByteWriter, type: number, flags: number, seq: number, pid = 0): number {
  w.align4();
  const at = w.len;
  w.u32(0);
  w.u16(type);
  w.u16(flags);
  w.u32(seq);
  w.u32(pid);
  return at;
}

/** Patches nlmsg_len of the message begun at `at` and pads to 4 bytes. */
export function endMessage(w: ByteWriter, at: number): void {
  w.setU32(at, w.len - at);
  w.align4();
}

/**
 * Splits a receive buffer into messages. Every nlmsg_len is checked: shorter than the header
 * or longer than what is left throws {@link MalformedError} / {@link TruncatedError}.
 *
 * @example
 * ```ts
 * import { parseMessages } from "./message.ts";
 * const done = new Uint8Array([20,0,0,0, 3,0, 2,0, 1,0,0,0, 0,0,0,0, 0,0,0,0]);
 * parseMessages(done)[0]!.type; // 3
 * ```
 */
export function parseMessages(buf: Uint8Array): NetlinkMessage[] {
  const out: NetlinkMessage[] = [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let pos = 0;
  while (pos < buf.length) {
    const left = buf.length - pos;
    if (left < NLMSG_HDRLEN) throw new TruncatedError("netlink message header", pos, NLMSG_HDRLEN, buf.length);
    const len = view.getUint32(pos, true);
    if (len < NLMSG_HDRLEN) throw new MalformedError(`Invalid netlink message length "${len}": shorter than its 16-byte header`, pos);
    if (len > left) throw new TruncatedError("netlink message", pos, len, buf.length);
    out.push({
      len,
      type: view.getUint16(pos + 4, true),
      flags: view.getUint16(pos + 6, true),
      seq: view.getUint32(pos + 8, true),
      pid: view.getUint32(pos + 12, true),
      body: buf.subarray(pos + NLMSG_HDRLEN, pos + len),
    });
    pos += (len + 3) & ~3;
  }
  return out;
}

/** What an NLMSG_ERROR (or an NLMSG_DONE carrying an error) says. */
export interface NetlinkAck {
  /** Positive errno, or 0 for a plain ACK. */
  errno: number;
  /** Header of the request this answers (type, flags, seq, pid). */
  request: { len: number; type: number; flags: number; seq: number; pid: number } | undefined;
  /** The kernel's extended-ACK message (NLMSGERR_ATTR_MSG). */
  message?: string;
  /** Byte offset into the request of the offending attribute (NLMSGERR_ATTR_OFFS). */
  offset?: number;
  /** Attribute type the kernel missed (NLMSGERR_ATTR_MISS_TYPE). */
  missingType?: number;
  /** Offset of the nest in which it was missed (NLMSGERR_ATTR_MISS_NEST). */
  missingNest?: number;
}

/**
 * Decodes the payload of an NLMSG_ERROR message (struct nlmsgerr + extended-ACK TLVs).
 * `flags` are the NLMSG_ERROR's own header flags (NLM_F_CAPPED, NLM_F_ACK_TLVS).
 *
 * @example
 * ```ts
 * import { parseAck } from "./message.ts";
 * const body = new Uint8Array(20); // error 0 + a capped copy of the request header
 * parseAck(body, 0x100).errno; // 0
 * ```
 */
export function parseAck(body: Uint8Array, flags: number): NetlinkAck {
  if (body.length < 4) throw new TruncatedError("netlink error message", 0, 4, body.length);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const err = view.getInt32(0, true);
  const ack: NetlinkAck = { errno: err < 0 ? -err : err, request: undefined };
  if (body.length < 4 + NLMSG_HDRLEN) return ack;
  const rlen = view.getUint32(4, true);
  ack.request = {
    len: rlen,
    type: view.getUint16(8, true),
    flags: view.getUint16(10, true),
    seq: view.getUint32(12, true),
    pid: view.getUint32(16, true),
  };
  if (!(flags & NLM_F.ACK_TLVS)) return ack;
  // Without NLM_F_CAPPED the whole request is echoed before the TLVs.
  let tlv = 4 + NLMSG_HDRLEN;
  if (!(flags & NLM_F.CAPPED)) {
    if (rlen < NLMSG_HDRLEN) throw new MalformedError(`Invalid echoed request length "${rlen}" in netlink error`, 4);
    tlv = 4 + ((rlen + 3) & ~3);
    if (tlv > body.length) throw new TruncatedError("echoed request in netlink error", 4, rlen, body.length);
  }
  parseExtAck(new AttributeDecoder(body.subarray(tlv), tlv), ack);
  return ack;
}

/** Decodes NLMSG_DONE's payload: an int error, then extended-ACK TLVs when NLM_F_ACK_TLVS. */
export function parseDone(body: Uint8Array, flags: number): NetlinkAck {
  if (body.length < 4) return { errno: 0, request: undefined };
  const err = new DataView(body.buffer, body.byteOffset, body.byteLength).getInt32(0, true);
  const ack: NetlinkAck = { errno: err < 0 ? -err : err, request: undefined };
  if (flags & NLM_F.ACK_TLVS) parseExtAck(new AttributeDecoder(body.subarray(4), 4), ack);
  return ack;
}

function parseExtAck(ad: AttributeDecoder, ack: NetlinkAck): void {
  while (ad.next()) {
    switch (ad.type) {
      case NLMSGERR_ATTR.MSG:
        ack.message = ad.string();
        break;
      case NLMSGERR_ATTR.OFFS:
        ack.offset = ad.u32();
        break;
      case NLMSGERR_ATTR.MISS_TYPE:
        ack.missingType = ad.u32();
        break;
      case NLMSGERR_ATTR.MISS_NEST:
        ack.missingNest = ad.u32();
        break;
    }
  }
  ad.check();
}
