import { describe, expect, it } from 'vitest';
import { generateSecret } from './cluster-secret.js';
import { deriveClusterKeys } from './derive-keys.js';
import { canonicalJson, MESSAGE_MAX_SKEW_MS, ReplayCache, signMessage, verifyMessage } from './message-auth.js';

const key = deriveClusterKeys(generateSecret()).electionKey;
const NOW = 1_767_225_600_000;
const claim = { type: 'leader', node: 'pi1', nodeAddress: '192.168.200.101', term: 4, members: ['pi1', 'pi2'] };

/** What a receiver sees: the datagram after JSON.stringify on the sender and JSON.parse here. */
const wire = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('signMessage / verifyMessage', () => {
  it('accepts a valid message once, whatever the field order on the wire', () => {
    const signed = signMessage(key, claim, { now: NOW });
    expect(signed).toMatchObject({ ...claim, ts: NOW });
    expect(signed.nonce).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const reordered = Object.fromEntries(Object.entries(wire(signed) as object).reverse());
    const result = verifyMessage(key, reordered, { replay: new ReplayCache(), now: NOW + 900 });
    expect(result).toEqual({ ok: true, message: wire(signed) });
  });

  it('refuses a tampered message (a field changed or added)', () => {
    const signed = signMessage(key, claim, { now: NOW });
    for (const tampered of [
      { ...signed, term: 5 },
      { ...signed, node: 'rogue' },
      { ...signed, extra: true },
      { ...signed, ts: NOW + 1 },
    ]) {
      expect(verifyMessage(key, wire(tampered), { replay: new ReplayCache(), now: NOW })).toMatchObject({ ok: false, reason: 'bad-mac' });
    }
  });

  it('refuses a message signed with another secret', () => {
    const rogue = deriveClusterKeys(generateSecret()).electionKey;
    const signed = signMessage(rogue, claim, { now: NOW });
    expect(verifyMessage(key, wire(signed), { replay: new ReplayCache(), now: NOW })).toMatchObject({ ok: false, reason: 'bad-mac' });
  });

  it('refuses a stale and a future message, at the window edge', () => {
    const replay = new ReplayCache();
    const at = (ts: number) => wire(signMessage(key, claim, { now: ts }));
    expect(verifyMessage(key, at(NOW - MESSAGE_MAX_SKEW_MS - 1), { replay, now: NOW })).toMatchObject({ ok: false, reason: 'stale' });
    expect(verifyMessage(key, at(NOW + MESSAGE_MAX_SKEW_MS + 1), { replay, now: NOW })).toMatchObject({ ok: false, reason: 'future' });
    expect(verifyMessage(key, at(NOW - MESSAGE_MAX_SKEW_MS), { replay, now: NOW }).ok).toBe(true);
    expect(verifyMessage(key, at(NOW + MESSAGE_MAX_SKEW_MS), { replay, now: NOW }).ok).toBe(true);
    expect(verifyMessage(key, at(NOW - 5_000), { replay, now: NOW, windowMs: 1_000 })).toMatchObject({ ok: false, reason: 'stale' });
  });

  it('refuses a replay inside the window and keeps refusing until the message is stale', () => {
    const replay = new ReplayCache();
    const signed = wire(signMessage(key, claim, { now: NOW }));
    expect(verifyMessage(key, signed, { replay, now: NOW }).ok).toBe(true);
    expect(verifyMessage(key, signed, { replay, now: NOW + 10 })).toMatchObject({ ok: false, reason: 'replay' });
    expect(verifyMessage(key, signed, { replay, now: NOW + MESSAGE_MAX_SKEW_MS })).toMatchObject({ ok: false, reason: 'replay' });
    expect(verifyMessage(key, signed, { replay, now: NOW + MESSAGE_MAX_SKEW_MS + 1 })).toMatchObject({ ok: false, reason: 'stale' });
    // The same content signed again (new nonce) is a new message.
    expect(verifyMessage(key, wire(signMessage(key, claim, { now: NOW + 20 })), { replay, now: NOW + 20 }).ok).toBe(true);
  });

  it('refuses malformed input without throwing', () => {
    const signed = signMessage(key, claim, { now: NOW });
    const { mac: _mac, ...noMac } = signed;
    const { nonce: _nonce, ...noNonce } = signed;
    for (const bad of [null, 'leader', 42, [signed], {}, noMac, noNonce, { ...signed, ts: '1767225600000' }, { ...signed, ts: 1.5 }]) {
      expect(verifyMessage(key, bad, { replay: new ReplayCache(), now: NOW })).toMatchObject({ ok: false, reason: 'malformed' });
    }
    expect(verifyMessage(key, { ...signed, mac: 'x'.repeat(43) }, { replay: new ReplayCache(), now: NOW })).toMatchObject({
      ok: false,
      reason: 'bad-mac',
    });
  });

  it('does not let a refused message into the replay cache', () => {
    const replay = new ReplayCache();
    const signed = signMessage(key, claim, { now: NOW });
    verifyMessage(key, wire({ ...signed, term: 99 }), { replay, now: NOW });
    expect(replay.size).toBe(0);
    expect(verifyMessage(key, wire(signed), { replay, now: NOW }).ok).toBe(true);
  });

  it('refuses to sign a message that already carries the auth fields or cannot be JSON', () => {
    expect(() => signMessage(key, { ...claim, nonce: 'x' })).toThrow('already has a "nonce" field');
    expect(() => signMessage(key, { ...claim, term: Number.NaN })).toThrow('not representable in JSON');
  });
});

describe('ReplayCache', () => {
  it('forgets expired nonces and stays within its bound', () => {
    const cache = new ReplayCache({ maxEntries: 2 });
    expect(cache.remember('a', 100, 0)).toBe(true);
    expect(cache.remember('a', 100, 50)).toBe(false);
    expect(cache.remember('b', 200, 50)).toBe(true);
    expect(cache.remember('a', 300, 100)).toBe(false); // a is remembered up to and including 100
    expect(cache.remember('a', 300, 101)).toBe(true);
    expect(cache.remember('c', 300, 150)).toBe(true); // full: b (the oldest) is dropped
    expect(cache.size).toBe(2);
  });
});

describe('canonicalJson', () => {
  it('sorts keys at every level and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [true, null, 'x'], c: -2.5 } })).toBe('{"a":{"c":-2.5,"d":[true,null,"x"]},"b":1}');
  });
  it('refuses values JSON cannot carry exactly', () => {
    for (const bad of [undefined, Number.POSITIVE_INFINITY, () => 1, new Date(0), 1n]) expect(() => canonicalJson(bad)).toThrow(TypeError);
  });
});

describe('verifyMessage during a secret rollout', () => {
  it('accepts messages under the current or the previous key, and nothing else', () => {
    const previous = deriveClusterKeys(generateSecret()).electionKey;
    const stranger = deriveClusterKeys(generateSecret()).electionKey;
    const replay = new ReplayCache();
    const keys = [key, previous];
    expect(verifyMessage(keys, wire(signMessage(key, claim, { now: NOW })), { replay, now: NOW }).ok).toBe(true);
    expect(verifyMessage(keys, wire(signMessage(previous, claim, { now: NOW })), { replay, now: NOW }).ok).toBe(true);
    expect(verifyMessage(keys, wire(signMessage(stranger, claim, { now: NOW })), { replay, now: NOW })).toMatchObject({
      reason: 'bad-mac',
    });
  });
});
