import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * How far a message's timestamp may be from the receiver's clock, either way. Generous on
 * purpose: a Raspberry Pi has no real-time clock, so after a boot its clock starts from the last
 * saved time (fake-hwclock) until NTP syncs it over the uplink, and nodes can disagree by tens
 * of seconds. Replays inside the window are caught by the nonce cache, so the window only bounds
 * how long nonces are remembered. Nodes whose clocks differ by more than this cannot
 * authenticate each other: a receiver counts those as `stale`/`future`, and `health` should
 * point at time sync (`timedatectl`).
 */
export const MESSAGE_MAX_SKEW_MS = 120_000;

/** Domain separation: the MAC input starts with this line, so no other HMAC use of the key can produce a valid tag. */
const MAC_CONTEXT = 'cluster-lab/message/v1\n';
const NONCE_BYTES = 16;
const NONCE_FORMAT = /^[A-Za-z0-9_-]{16,64}$/;
const MAC_FORMAT = /^[A-Za-z0-9_-]{43}$/;

/** A JSON value (what a message may carry). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** The fields {@link signMessage} adds. */
export interface MessageAuthFields {
  /** Sender's clock when it signed, milliseconds since the epoch. */
  ts: number;
  /** Random, unique per message (base64url); a receiver refuses a nonce it has seen. */
  nonce: string;
  /** HMAC-SHA256 (base64url) over the canonical encoding of every other field. */
  mac: string;
}

/** A message with its authentication fields. */
export type SignedMessage<T extends Record<string, JsonValue> = Record<string, JsonValue>> = T & MessageAuthFields;

/** Why a message was refused. */
export type MessageRejection = 'malformed' | 'bad-mac' | 'stale' | 'future' | 'replay';

/** Outcome of {@link verifyMessage}. */
export type VerifyResult<T extends Record<string, JsonValue> = Record<string, JsonValue>> =
  | { ok: true; message: SignedMessage<T> }
  | { ok: false; reason: MessageRejection; detail: string };

/**
 * Deterministic JSON: object keys sorted (by UTF-16 code units), no whitespace, so sender and
 * receiver MAC the same bytes whatever order the fields were built or parsed in. Throws a
 * `TypeError` for values JSON cannot carry exactly (undefined, NaN, Infinity, functions, …).
 *
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, null] }); // '{"a":[true,null],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`not representable in JSON: ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`not representable in JSON: ${typeof value}`);
}

function macOf(key: Uint8Array, unsigned: Record<string, unknown>): Buffer {
  return createHmac('sha256', key).update(MAC_CONTEXT).update(canonicalJson(unsigned)).digest();
}

/** Options of {@link signMessage}. */
export interface SignOptions {
  /** Clock, ms since the epoch. Default `Date.now()`. */
  now?: number;
  /** Nonce to use (tests); default 16 random bytes. */
  nonce?: string;
}

/**
 * Adds `ts`, a random `nonce` and an HMAC-SHA256 `mac` over the canonical encoding of the whole
 * message to `message` (with `ClusterKeys.electionKey`). The result is what goes on the wire,
 * e.g. `JSON.stringify(signMessage(key, { type: 'leader', node: 'pi1', term: 3 }))`.
 *
 * @example
 * ```ts
 * const signed = signMessage(keys.electionKey, { type: 'candidate', mac: 'b8:27:eb:00:00:01', priority: 100 });
 * ```
 */
export function signMessage<T extends Record<string, JsonValue>>(key: Uint8Array, message: T, options: SignOptions = {}): SignedMessage<T> {
  for (const field of ['ts', 'nonce', 'mac']) {
    if (field in message) throw new TypeError(`message already has a "${field}" field; signMessage adds it`);
  }
  const unsigned = { ...message, ts: options.now ?? Date.now(), nonce: options.nonce ?? randomBytes(NONCE_BYTES).toString('base64url') };
  return { ...unsigned, mac: macOf(key, unsigned).toString('base64url') } as SignedMessage<T>;
}

/**
 * Remembers the nonces of accepted messages until their timestamp has left the window, so the
 * same message cannot be accepted twice. Only authenticated messages enter it (the MAC is
 * checked first), so a stranger cannot fill it; `maxEntries` bounds it anyway, dropping the
 * oldest entries first.
 */
export class ReplayCache {
  readonly #expiries = new Map<string, number>();
  readonly #maxEntries: number;

  constructor(options: { maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? 4096;
  }

  /** Number of remembered nonces. */
  get size(): number {
    return this.#expiries.size;
  }

  /**
   * Records `nonce` as seen until `expiresAt`; returns false when it was already recorded (a
   * replay). Entries whose expiry lies before `now` are dropped first.
   */
  remember(nonce: string, expiresAt: number, now: number): boolean {
    for (const [seen, expiry] of this.#expiries) if (expiry < now) this.#expiries.delete(seen);
    if (this.#expiries.has(nonce)) return false;
    if (this.#expiries.size >= this.#maxEntries) {
      const oldest = this.#expiries.keys().next();
      if (!oldest.done) this.#expiries.delete(oldest.value);
    }
    this.#expiries.set(nonce, expiresAt);
    return true;
  }
}

/** Options of {@link verifyMessage}. */
export interface VerifyOptions {
  /** The receiver's replay cache (one per receiver, kept for its lifetime). */
  replay: ReplayCache;
  /** Receiver's clock, ms since the epoch. Default `Date.now()`. */
  now?: number;
  /** Allowed clock difference either way. Default {@link MESSAGE_MAX_SKEW_MS}. */
  windowMs?: number;
}

/**
 * Checks a received message (already JSON-parsed) in this order — shape, MAC, time window,
 * nonce — and returns it or the reason it was refused: `malformed` (not an object, a field
 * missing or of the wrong form), `bad-mac` (another key, or changed in transit), `stale`/`future`
 * (timestamp more than `windowMs` before/after the receiver's clock), `replay` (nonce already
 * accepted). Count the refusals; never act on a refused message.
 *
 * `key` may be a list — the current key first, then the previous one — so that while a new
 * cluster secret is rolled out, messages from nodes still on the old secret stay valid.
 *
 * @example
 * ```ts
 * const replay = new ReplayCache();
 * const result = verifyMessage(keys.electionKey, JSON.parse(datagram), { replay });
 * if (!result.ok) counters[result.reason]++;
 * ```
 */
export function verifyMessage<T extends Record<string, JsonValue> = Record<string, JsonValue>>(
  key: Uint8Array | readonly Uint8Array[],
  value: unknown,
  options: VerifyOptions,
): VerifyResult<T> {
  const now = options.now ?? Date.now();
  const windowMs = options.windowMs ?? MESSAGE_MAX_SKEW_MS;
  const refuse = (reason: MessageRejection, detail: string): VerifyResult<T> => ({ ok: false, reason, detail });
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return refuse('malformed', 'not a JSON object');
  const { mac, ...unsigned } = value as Record<string, unknown>;
  const { ts, nonce } = unsigned;
  if (typeof mac !== 'string' || !MAC_FORMAT.test(mac)) return refuse('malformed', 'no mac field of the expected form');
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) return refuse('malformed', 'no integer ts field');
  if (typeof nonce !== 'string' || !NONCE_FORMAT.test(nonce)) return refuse('malformed', 'no nonce field of the expected form');
  const received = Buffer.from(mac, 'base64url');
  let matches: boolean;
  try {
    matches = (key instanceof Uint8Array ? [key] : key).some((k) => timingSafeEqual(macOf(k, unsigned), received));
  } catch (error) {
    return refuse('malformed', (error as Error).message);
  }
  if (!matches) return refuse('bad-mac', 'the mac does not match (another secret, or changed in transit)');
  if (ts < now - windowMs) return refuse('stale', `sent ${now - ts} ms ago; accepted up to ${windowMs} ms (check the clocks: timedatectl)`);
  if (ts > now + windowMs)
    return refuse('future', `sent ${ts - now} ms in the future; accepted up to ${windowMs} ms (check the clocks: timedatectl)`);
  if (!options.replay.remember(nonce, Math.max(ts, now) + windowMs, now)) return refuse('replay', 'nonce already seen');
  return { ok: true, message: value as SignedMessage<T> };
}
