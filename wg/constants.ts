/**
 * WireGuard's protocol constants (whitepaper §6 and §5.4) and the timer settings, which a test
 * or a library user may shorten through {@link TimerConfig}.
 *
 * @module
 */

/** Message types (first byte of every datagram). */
export const MSG = { INITIATION: 1, RESPONSE: 2, COOKIE: 3, DATA: 4 } as const;

/** Message sizes. */
export const SIZE = {
  INITIATION: 148,
  RESPONSE: 92,
  COOKIE: 64,
  /** Header of a data message: type(4) receiver(4) counter(8). */
  DATA_HEADER: 16,
  /** Smallest data message: header + empty payload's tag. */
  DATA_MIN: 32,
  TAG: 16,
} as const;

/** Timer and limit settings, in milliseconds and messages. */
export interface TimerConfig {
  /** Messages sent with one key before a new handshake starts (REKEY_AFTER_MESSAGES). */
  rekeyAfterMessages: number;
  /** Messages after which a key is never used again (REJECT_AFTER_MESSAGES). */
  rejectAfterMessages: number;
  /** Key age (ms) after which the initiator starts a new handshake (REKEY_AFTER_TIME, 120 s). */
  rekeyAfterTime: number;
  /** Key age (ms) after which a key is never used again (REJECT_AFTER_TIME, 180 s). */
  rejectAfterTime: number;
  /** How long (ms) handshake retries go on before giving up (REKEY_ATTEMPT_TIME, 90 s). */
  rekeyAttemptTime: number;
  /** Wait (ms) before a handshake initiation is retried (REKEY_TIMEOUT, 5 s). */
  rekeyTimeout: number;
  /** Silence (ms) after received data before a keepalive is sent (KEEPALIVE_TIMEOUT, 10 s). */
  keepaliveTimeout: number;
  /** Lifetime (ms) of a cookie (COOKIE_REFRESH_TIME, 120 s). */
  cookieRefreshTime: number;
  /** Smallest gap between two initiations accepted from one peer (flood guard). */
  handshakeInitiationRate: number;
  /** Up to this much random delay is added to handshake retransmissions. */
  rekeyTimeoutJitterMax: number;
  /** Handshake messages per second beyond which the device is "under load" and asks for cookies. */
  underLoadRate: number;
  /** Share of a second of handshake work (0..1) beyond which the device is "under load". */
  underLoadBudget: number;
  /** How long "under load" lasts after the rate drops again. */
  underLoadAfter: number;
}

/** The whitepaper's values. Counters above 2^53 cannot happen here (285 years at 1 Mpps). */
export const DEFAULT_TIMERS: Readonly<TimerConfig> = Object.freeze({
  rekeyAfterMessages: Number.MAX_SAFE_INTEGER - 2 ** 16, // whitepaper 2^60; a JS number stops at 2^53
  rejectAfterMessages: Number.MAX_SAFE_INTEGER, // whitepaper 2^64 - 2^13 - 1
  rekeyAfterTime: 120_000,
  rejectAfterTime: 180_000,
  rekeyAttemptTime: 90_000,
  rekeyTimeout: 5_000,
  keepaliveTimeout: 10_000,
  cookieRefreshTime: 120_000,
  handshakeInitiationRate: 20,
  rekeyTimeoutJitterMax: 334,
  underLoadRate: 10_000,
  underLoadBudget: 0.5,
  underLoadAfter: 1_000,
});

/** Handshake retransmissions before giving up: rekeyAttemptTime / rekeyTimeout. */
export function maxHandshakeAttempts(t: TimerConfig): number {
  return Math.max(1, Math.ceil(t.rekeyAttemptTime / t.rekeyTimeout));
}

/** Packets queued per peer while a handshake is under way (wireguard-go's QueueStagedSize). */
export const STAGED_MAX = 128;

/** Default tunnel MTU (1500 - 80 for IPv6 + UDP + WireGuard overhead). */
export const DEFAULT_MTU = 1420;

/** Default UDP port of `wg-quick` configs without ListenPort: a random one. */
export const WG_OVERHEAD = 32;
