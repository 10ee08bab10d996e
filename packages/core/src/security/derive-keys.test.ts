import { describe, expect, it } from 'vitest';
import { generateSecret } from './cluster-secret.js';
import { deriveBytes, deriveClusterKeys, KEY_LABELS } from './derive-keys.js';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('deriveClusterKeys', () => {
  it('gives every node the same values from the same secret', () => {
    const secret = generateSecret();
    const a = deriveClusterKeys(secret);
    const b = deriveClusterKeys(secret);
    expect([a.gossipKey, a.managementToken, a.fingerprint, a.agentToken('pi2')]).toEqual([
      b.gossipKey,
      b.managementToken,
      b.fingerprint,
      b.agentToken('pi2'),
    ]);
    expect(a.electionKey.equals(b.electionKey)).toBe(true);
  });

  it('gives another secret other values', () => {
    const a = deriveClusterKeys(generateSecret());
    const b = deriveClusterKeys(generateSecret());
    expect(a.gossipKey).not.toBe(b.gossipKey);
    expect(a.managementToken).not.toBe(b.managementToken);
    expect(a.fingerprint).not.toBe(b.fingerprint);
  });

  it('derives values of the forms Consul takes, one per label', () => {
    const keys = deriveClusterKeys(generateSecret());
    expect(Buffer.from(keys.gossipKey, 'base64')).toHaveLength(32);
    expect(keys.gossipKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    expect(keys.managementToken).toMatch(UUID_V4);
    expect(keys.agentToken('node1')).toMatch(UUID_V4);
    expect(keys.electionKey).toHaveLength(32);
    expect(keys.swarmTokenKey).toHaveLength(32);
    expect(keys.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    const all = [keys.managementToken, keys.agentToken('node1'), keys.agentToken('node2'), keys.agentToken('Node1')];
    expect(new Set(all).size).toBe(all.length);
    expect(keys.electionKey.equals(keys.swarmTokenKey)).toBe(false);
  });

  it('refuses a node name that is not one', () => {
    const keys = deriveClusterKeys(generateSecret());
    expect(() => keys.agentToken('')).toThrow('not a Consul node name');
    expect(() => keys.agentToken('pi 1')).toThrow('not a Consul node name');
    expect(() => keys.agentToken('pi1\n')).toThrow('not a Consul node name');
  });

  it('derives through deriveBytes with the documented labels', () => {
    const secret = generateSecret();
    expect(deriveClusterKeys(secret).electionKey.equals(deriveBytes(secret, KEY_LABELS.electionKey, 32))).toBe(true);
  });
});
