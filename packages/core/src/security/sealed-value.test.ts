import { describe, expect, it } from 'vitest';
import { generateSecret } from './cluster-secret.js';
import { deriveClusterKeys } from './derive-keys.js';
import { isSealedValue, openSealedValue, SealedValueError, sealValue } from './sealed-value.js';

const KV_MANAGER = 'cluster-lab/swarm/tokens/manager';
const KV_WORKER = 'cluster-lab/swarm/tokens/worker';
const TOKEN = 'SWMTKN-1-3pu6hszjas19xyp7ghgosyx9k8atbfcr8p2is99znpy26u2lkl-1awxwuwd3z9j1z3puu7rcgdbx';

describe('sealValue / openSealedValue', () => {
  const key = deriveClusterKeys(generateSecret()).swarmTokenKey;

  it('round-trips, with a fresh IV every time, and never shows the plaintext', () => {
    const a = sealValue(key, KV_MANAGER, TOKEN);
    const b = sealValue(key, KV_MANAGER, TOKEN);
    expect(a).not.toBe(b);
    expect(isSealedValue(a)).toBe(true);
    expect(a).not.toContain('SWMTKN');
    expect(openSealedValue(key, KV_MANAGER, a)).toBe(TOKEN);
    expect(openSealedValue(key, KV_MANAGER, b)).toBe(TOKEN);
  });

  it('does not open under another KV key (the manager token moved to the worker key)', () => {
    expect(() => openSealedValue(key, KV_WORKER, sealValue(key, KV_MANAGER, TOKEN))).toThrow(SealedValueError);
  });

  it('does not open with the key of another cluster secret', () => {
    const other = deriveClusterKeys(generateSecret()).swarmTokenKey;
    expect(() => openSealedValue(other, KV_MANAGER, sealValue(key, KV_MANAGER, TOKEN))).toThrow('does not open with this cluster');
  });

  it('refuses a changed, truncated or plain value', () => {
    const sealed = sealValue(key, KV_MANAGER, TOKEN);
    const i = 20;
    const changed = `${sealed.slice(0, i)}${sealed[i] === 'A' ? 'B' : 'A'}${sealed.slice(i + 1)}`;
    expect(() => openSealedValue(key, KV_MANAGER, changed)).toThrow(SealedValueError);
    expect(() => openSealedValue(key, KV_MANAGER, sealed.slice(0, -4))).toThrow(SealedValueError);
    expect(() => openSealedValue(key, KV_MANAGER, 'clenc1.AAAA')).toThrow('is truncated');
    expect(() => openSealedValue(key, KV_MANAGER, TOKEN)).toThrow('is not sealed');
    expect(isSealedValue(TOKEN)).toBe(false);
  });

  it('refuses a key of the wrong size', () => {
    expect(() => sealValue(new Uint8Array(16), KV_MANAGER, TOKEN)).toThrow('an AES-256-GCM key is 32 bytes, got 16');
  });
});

describe('openSealedValue during a secret rollout', () => {
  it('opens a value sealed under the current or the previous key', () => {
    const current = deriveClusterKeys(generateSecret()).swarmTokenKey;
    const previous = deriveClusterKeys(generateSecret()).swarmTokenKey;
    expect(openSealedValue([current, previous], KV_MANAGER, sealValue(previous, KV_MANAGER, TOKEN))).toBe(TOKEN);
    expect(openSealedValue([current, previous], KV_MANAGER, sealValue(current, KV_MANAGER, TOKEN))).toBe(TOKEN);
    const other = deriveClusterKeys(generateSecret()).swarmTokenKey;
    expect(() => openSealedValue([current, previous], KV_MANAGER, sealValue(other, KV_MANAGER, TOKEN))).toThrow(SealedValueError);
  });
});
