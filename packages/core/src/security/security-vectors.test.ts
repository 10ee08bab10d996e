import { describe, expect, it } from 'vitest';
import { ClusterSecret, parseSecret } from './cluster-secret.js';
import { deriveClusterKeys } from './derive-keys.js';
import { ReplayCache, signMessage, verifyMessage } from './message-auth.js';
import { openSealedValue } from './sealed-value.js';

/**
 * Fixed vectors, computed once independently of this code by fixtures/vectors.py (Python's
 * hmac/hashlib HKDF, the `cryptography` package's AES-GCM; two labels cross-checked with
 * `openssl kdf … HKDF`). The secret is the bytes 0x00…0x1f.
 */
const SECRET = ClusterSecret.fromBytes(Uint8Array.from({ length: 32 }, (_, i) => i));

describe('test vectors', () => {
  it('text form of the secret', () => {
    expect(SECRET.toText()).toBe('clsec1_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9jDc0p');
    expect(parseSecret('clsec1_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9jDc0p\n').equals(SECRET)).toBe(true);
  });

  it('HKDF-derived keys, one per label', () => {
    const keys = deriveClusterKeys(SECRET);
    expect(keys.gossipKey).toBe('pVrkzVWb43K1+v0WQwJOptVCRG6mcwNm8ZiV8Ie5Afc=');
    expect(keys.managementToken).toBe('f7739ff0-aceb-4f99-9f73-498aa885d82d');
    expect(keys.agentToken('node1')).toBe('9c4472ba-d1aa-4138-b267-a6f70126bbb3');
    expect(keys.electionKey.toString('hex')).toBe('f0814d14c3bbe06187e91576570679392933564c0e92be11fbfe863535ac7b15');
    expect(keys.swarmTokenKey.toString('hex')).toBe('f95bc1446918199cbfce9292aeebea47826abefd9902b9b97d316ba26ff75b62');
    expect(keys.fingerprint).toBe('203274eb1b38009a');
  });

  it('message MAC over the canonical encoding', () => {
    const { electionKey } = deriveClusterKeys(SECRET);
    const signed = signMessage(
      electionKey,
      { type: 'leader', term: 3, node: 'pi1', nodeAddress: '192.168.200.101' },
      { now: 1_767_225_600_000, nonce: 'AAECAwQFBgcICQoLDA0ODw' },
    );
    expect(signed.mac).toBe('PjJFAvQ5oYibzzNZk_bZnWXyVt2rK-c-RxQ4gyMzldI');
    expect(verifyMessage(electionKey, JSON.parse(JSON.stringify(signed)), { replay: new ReplayCache(), now: 1_767_225_600_500 }).ok).toBe(
      true,
    );
  });

  it('AES-256-GCM sealed value made by another implementation opens', () => {
    const { swarmTokenKey } = deriveClusterKeys(SECRET);
    const sealed = 'clenc1.AAECAwQFBgcICQoLRY756Bhd-tJMpywiuPKcP0s8NjhClc5GIjZLmx2oNpVhZIE';
    expect(openSealedValue(swarmTokenKey, 'cluster-lab/swarm/tokens/manager', sealed)).toBe('SWMTKN-1-test-token');
  });
});
