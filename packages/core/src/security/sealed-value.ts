import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { ClusterLabError } from '../errors/cluster-lab-error.js';

/** Prefix of a sealed value's text form: names the format (AES-256-GCM, 12-byte IV, 16-byte tag). */
export const SEALED_PREFIX = 'clenc1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A sealed value that cannot be opened: wrong key, wrong associated data, or tampered/truncated text. */
export class SealedValueError extends ClusterLabError {
  constructor(message: string) {
    super('SEALED_VALUE_INVALID', message, {
      hint: 'the value was sealed with another cluster secret or for another key; re-publish it from a node with the current secret',
    });
    this.name = 'SealedValueError';
  }
}

function checkKey(key: Uint8Array): void {
  if (key.length !== 32) throw new RangeError(`an AES-256-GCM key is 32 bytes, got ${key.length}`);
}

/**
 * Encrypts and authenticates `plaintext` with AES-256-GCM under `key` (e.g.
 * `ClusterKeys.swarmTokenKey`), binding it to `associatedData` — use the Consul KV key the
 * value is stored under, so a sealed manager token copied to the worker token's key no longer
 * opens. Returns `clenc1.` + base64url(IV ‖ ciphertext ‖ tag); a fresh random IV every call.
 *
 * @example
 * ```ts
 * const kvKey = 'cluster-lab/swarm/tokens/manager';
 * await store.put(kvKey, sealValue(keys.swarmTokenKey, kvKey, token));
 * ```
 */
export function sealValue(key: Uint8Array, associatedData: string, plaintext: string): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return `${SEALED_PREFIX}${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
}

/**
 * Opens a value made by {@link sealValue} with the same key and associated data. Throws
 * {@link SealedValueError} when the key or associated data differ, or the text was changed.
 * `key` may be a list (current key first, then the previous one) while a new cluster secret is
 * rolled out.
 *
 * @example
 * ```ts
 * const token = openSealedValue(keys.swarmTokenKey, kvKey, await store.get(kvKey));
 * ```
 */
export function openSealedValue(key: Uint8Array | readonly Uint8Array[], associatedData: string, sealed: string): string {
  const keys = key instanceof Uint8Array ? [key] : key;
  for (const k of keys) checkKey(k);
  if (!sealed.startsWith(SEALED_PREFIX))
    throw new SealedValueError(`value under "${associatedData}" is not sealed (no ${SEALED_PREFIX} prefix)`);
  const raw = Buffer.from(sealed.slice(SEALED_PREFIX.length), 'base64url');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new SealedValueError(`sealed value under "${associatedData}" is truncated`);
  for (const k of keys) {
    const decipher = createDecipheriv('aes-256-gcm', k, raw.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(IV_BYTES, raw.length - TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      // Not this key: try the next one.
    }
  }
  throw new SealedValueError(`sealed value under "${associatedData}" does not open with this cluster's key (another secret, or tampered)`);
}

/** True when `value` looks like the output of {@link sealValue} (a plain legacy token does not). */
export function isSealedValue(value: string): boolean {
  return value.startsWith(SEALED_PREFIX);
}
