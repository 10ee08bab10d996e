import { MESSAGE_MAX_SKEW_MS, type MessageRejection, ReplayCache, signMessage, verifyMessage } from '@cluster-lab/core';
import { type CandidacyMessage, candidacyFromWire, candidacyToWire } from './candidate.js';

/**
 * How election messages are protected: `secret` signs every message with the election key
 * derived from the cluster secret (`deriveClusterKeys(secret).electionKey`) and drops every
 * message that does not verify; `open` (`security: open`) sends and accepts unsigned messages —
 * anyone on the cluster link can then take part, so the node warns about it.
 */
export type ElectionSecurity =
  | {
      mode: 'secret';
      /** The election key; a list (current key first, then the previous one) while a new secret rolls out. */
      key: Uint8Array | readonly Uint8Array[];
    }
  | { mode: 'open' };

/**
 * Why a received datagram was dropped: `not-election` (not a well-formed v2 election message),
 * `unauthenticated` (no authentication tag, while this node requires one), or one of
 * `verifyMessage`'s reasons — `malformed`, `bad-mac` (another secret, or altered), `stale` /
 * `future` (outside the time window: check the clocks), `replay` (a nonce already accepted).
 */
export type ElectionRejection = 'not-election' | 'unauthenticated' | MessageRejection;

/** Every {@link ElectionRejection}, in a fixed order (for counters and reports). */
export const ELECTION_REJECTIONS: readonly ElectionRejection[] = [
  'not-election',
  'unauthenticated',
  'malformed',
  'bad-mac',
  'stale',
  'future',
  'replay',
];

/** Counters of one {@link ElectionCodec}, for `health` and the supervisor's status. */
export interface ElectionCodecStats {
  /** Messages accepted. */
  accepted: number;
  /** Messages dropped, by reason. */
  rejected: Record<ElectionRejection, number>;
  /** The latest dropped message: why, when (epoch ms), and who it claimed to be from (unverified). */
  lastRejected?: { reason: ElectionRejection; at: number; claimedFrom?: string; detail: string };
}

/** Options of {@link ElectionCodec}. */
export interface ElectionCodecOptions {
  /** Wall clock, ms since the epoch (the `ts` field and its window). Default `Date.now`. */
  now?: () => number;
  /** Accepted clock difference between nodes. Default `MESSAGE_MAX_SKEW_MS`. */
  windowMs?: number;
}

/**
 * Encodes and checks election datagrams for one receiver. With a secret every message carries
 * `ts`, a random `nonce` and an HMAC-SHA256 `mac` over its canonical encoding
 * (`signMessage`); {@link ElectionCodec.decode} drops — and counts — every datagram that is
 * unsigned, signed with another key, outside the time window or a replay of a nonce already
 * accepted (its own {@link ReplayCache}: one codec per receiving socket). A captured message
 * replayed later can therefore never count as a candidacy or a heartbeat.
 *
 * @example
 * ```ts
 * const codec = new ElectionCodec({ mode: 'secret', key: deriveClusterKeys(secret).electionKey });
 * const datagram = codec.encode(message);
 * codec.decode(datagram); // the message; undefined (and counted) when it does not verify
 * ```
 */
export class ElectionCodec {
  readonly #security: ElectionSecurity;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #replay = new ReplayCache();
  #accepted = 0;
  readonly #rejected = Object.fromEntries(ELECTION_REJECTIONS.map((r) => [r, 0])) as Record<ElectionRejection, number>;
  #lastRejected: ElectionCodecStats['lastRejected'];

  constructor(security: ElectionSecurity, options: ElectionCodecOptions = {}) {
    this.#security = security;
    this.#now = options.now ?? Date.now;
    this.#windowMs = options.windowMs ?? MESSAGE_MAX_SKEW_MS;
  }

  /** True when every accepted message was proven to come from a holder of the cluster secret. */
  get authenticated(): boolean {
    return this.#security.mode === 'secret';
  }

  /** The datagram for `message`: signed with the election key, or plain JSON when open. */
  encode(message: CandidacyMessage): Buffer {
    const wire = candidacyToWire(message);
    const signed = this.#security.mode === 'secret' ? signMessage(firstKey(this.#security.key), wire, { now: this.#now() }) : wire;
    return Buffer.from(JSON.stringify(signed));
  }

  /** The message in `data` when it is well formed and (with a secret) verifies; otherwise undefined, counted by reason. */
  decode(data: Uint8Array | string): CandidacyMessage | undefined {
    let raw: unknown;
    try {
      raw = JSON.parse(typeof data === 'string' ? data : Buffer.from(data).toString('utf8'));
    } catch {
      return this.reject('not-election', 'not JSON');
    }
    const message = candidacyFromWire(raw);
    if (!message) return this.reject('not-election', 'not a v2 election message');
    if (this.#security.mode === 'secret') {
      if (!('mac' in (raw as object))) return this.reject('unauthenticated', 'no authentication tag', message);
      const result = verifyMessage(this.#security.key, raw, { replay: this.#replay, now: this.#now(), windowMs: this.#windowMs });
      if (!result.ok) return this.reject(result.reason, result.detail, message);
    }
    this.#accepted++;
    return message;
  }

  /** Counters since this codec was made. */
  stats(): ElectionCodecStats {
    return {
      accepted: this.#accepted,
      rejected: { ...this.#rejected },
      ...(this.#lastRejected ? { lastRejected: { ...this.#lastRejected } } : {}),
    };
  }

  private reject(reason: ElectionRejection, detail: string, claimed?: CandidacyMessage): undefined {
    this.#rejected[reason]++;
    this.#lastRejected = {
      reason,
      at: this.#now(),
      detail,
      ...(claimed ? { claimedFrom: `${claimed.nodeId} (${claimed.mac})` } : {}),
    };
    return undefined;
  }
}

function firstKey(key: Uint8Array | readonly Uint8Array[]): Uint8Array {
  if (key instanceof Uint8Array) return key;
  const first = key[0];
  if (!first) throw new TypeError('the election key list is empty');
  return first;
}

/** Sum of the rejections in `stats` (what `health` reports as "dropped election messages"). */
export function rejectedTotal(stats: Pick<ElectionCodecStats, 'rejected'>): number {
  return ELECTION_REJECTIONS.reduce((sum, r) => sum + stats.rejected[r], 0);
}
