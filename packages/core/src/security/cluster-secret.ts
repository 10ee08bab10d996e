import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { inspect } from 'node:util';
import { ClusterLabError } from '../errors/cluster-lab-error.js';

/** Prefix of the text form of a cluster secret: names what it is and its format version. */
export const SECRET_PREFIX = 'clsec1_';
/** Bytes of key material in a cluster secret (256 bits). */
export const SECRET_BYTES = 32;
/** Bytes of the checksum appended before encoding: the first bytes of SHA-256 of the key material. */
const CHECKSUM_BYTES = 4;
/** Length of the text form: the prefix plus unpadded base64url of 32 + 4 bytes. */
export const SECRET_TEXT_LENGTH = SECRET_PREFIX.length + 48;

/** Why a text is not a cluster secret. */
export type SecretFormatReason = 'empty' | 'prefix' | 'length' | 'encoding' | 'checksum';

const REASON_TEXT: Record<SecretFormatReason, string> = {
  empty: 'is empty',
  prefix: `does not start with "${SECRET_PREFIX}" (not a cluster secret)`,
  length: `has the wrong length (a cluster secret is ${SECRET_TEXT_LENGTH} characters; a truncated or extended copy?)`,
  encoding: 'contains characters outside base64url (A-Z a-z 0-9 - _)',
  checksum: 'fails its checksum (a character was changed or lost while copying)',
};

/** A text that is not a cluster secret; `reason` says which check failed. Never carries the text. */
export class SecretFormatError extends ClusterLabError {
  readonly reason: SecretFormatReason;

  constructor(reason: SecretFormatReason) {
    super('SECRET_INVALID', `the cluster secret ${REASON_TEXT[reason]}`, {
      hint: 'copy the secret again from the first node, or generate one with `cluster-lab secret generate`',
      errorClass: 'config',
    });
    this.name = 'SecretFormatError';
    this.reason = reason;
  }
}

/**
 * The cluster secret: 32 random bytes every node of one cluster shares, from which the Consul
 * gossip key, the ACL tokens, the election key and the Swarm token key are derived
 * (`deriveClusterKeys`). Its text form is `clsec1_` + base64url of the bytes and a 4-byte
 * checksum, so a copy that lost or changed a character is refused instead of silently forming
 * a second cluster.
 *
 * The object never prints its value: `String(secret)`, `JSON.stringify` and `console.log` show
 * `ClusterSecret(redacted)`; {@link ClusterSecret.toText} is the one deliberate way out.
 */
export class ClusterSecret {
  readonly #bytes: Buffer;

  private constructor(bytes: Buffer) {
    this.#bytes = Buffer.from(bytes);
  }

  /** Wraps existing key material (exactly {@link SECRET_BYTES} bytes), e.g. for test vectors. */
  static fromBytes(bytes: Uint8Array): ClusterSecret {
    if (bytes.length !== SECRET_BYTES) throw new RangeError(`a cluster secret is ${SECRET_BYTES} bytes, got ${bytes.length}`);
    return new ClusterSecret(Buffer.from(bytes));
  }

  /** The key material (a copy), input of the key derivation. */
  bytes(): Buffer {
    return Buffer.from(this.#bytes);
  }

  /** The text form, `clsec1_…`, as written to the secret file. */
  toText(): string {
    return `${SECRET_PREFIX}${Buffer.concat([this.#bytes, checksum(this.#bytes)]).toString('base64url')}`;
  }

  /** True when both hold the same key material (constant time). */
  equals(other: ClusterSecret): boolean {
    return timingSafeEqual(this.#bytes, other.#bytes);
  }

  /** Redacted. */
  toString(): string {
    return 'ClusterSecret(redacted)';
  }

  /** Redacted. */
  toJSON(): string {
    return this.toString();
  }

  /** Redacted in `console.log` and `util.inspect`. */
  [inspect.custom](): string {
    return this.toString();
  }
}

function checksum(bytes: Buffer): Buffer {
  return createHash('sha256').update(bytes).digest().subarray(0, CHECKSUM_BYTES);
}

/**
 * A new random cluster secret (32 bytes from the system's CSPRNG).
 *
 * @example
 * ```ts
 * const text = generateSecret().toText(); // 'clsec1_…' (55 characters)
 * ```
 */
export function generateSecret(): ClusterSecret {
  return ClusterSecret.fromBytes(randomBytes(SECRET_BYTES));
}

/**
 * Parses the text form of a cluster secret; surrounding whitespace (the file's trailing
 * newline) is ignored. Throws {@link SecretFormatError} naming the failed check — the error
 * never contains the text itself.
 *
 * @example
 * ```ts
 * const secret = parseSecret(await readFile('/etc/cluster-lab/secret', 'utf8'));
 * ```
 */
export function parseSecret(text: string): ClusterSecret {
  const trimmed = text.trim();
  if (trimmed === '') throw new SecretFormatError('empty');
  if (!trimmed.startsWith(SECRET_PREFIX)) throw new SecretFormatError('prefix');
  const body = trimmed.slice(SECRET_PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(body)) throw new SecretFormatError('encoding');
  if (trimmed.length !== SECRET_TEXT_LENGTH) throw new SecretFormatError('length');
  const raw = Buffer.from(body, 'base64url');
  const bytes = raw.subarray(0, SECRET_BYTES);
  if (!timingSafeEqual(raw.subarray(SECRET_BYTES), checksum(bytes))) throw new SecretFormatError('checksum');
  return ClusterSecret.fromBytes(bytes);
}
