import { deriveClusterKeys, generateSecret } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { type CandidacyMessage, encodeCandidacy } from './candidate.js';
import { ElectionCodec, rejectedTotal } from './election-codec.js';

const message: CandidacyMessage = {
  leaderAddress: '192.168.200.1',
  nodeId: 'pi1',
  mac: '02:00:00:00:00:01',
  priority: 100,
  state: 'leader',
  term: 3,
  clusterId: 'c0ffee00-0000-4000-8000-000000000001',
  nodeAddress: '192.168.200.101',
};

const key = deriveClusterKeys(generateSecret()).electionKey;
const otherKey = deriveClusterKeys(generateSecret()).electionKey;

describe('ElectionCodec', () => {
  it('signs every message with the election key; a receiver with the same key accepts it once', () => {
    const sender = new ElectionCodec({ mode: 'secret', key });
    const receiver = new ElectionCodec({ mode: 'secret', key });
    const datagram = sender.encode(message);
    const wire = JSON.parse(datagram.toString()) as Record<string, unknown>;
    expect(wire).toMatchObject({ v: 2, hw: message.mac, ts: expect.any(Number), nonce: expect.any(String), mac: expect.any(String) });
    expect(receiver.decode(datagram)).toEqual(message);
    // The very same datagram again is a replay: refused, whoever sends it.
    expect(receiver.decode(datagram)).toBeUndefined();
    expect(receiver.stats()).toMatchObject({
      accepted: 1,
      rejected: { replay: 1 },
      lastRejected: { reason: 'replay', claimedFrom: 'pi1 (02:00:00:00:00:01)' },
    });
  });

  it('drops and counts unsigned, foreign-key, altered, stale and future messages', () => {
    const now = 1_800_000_000_000;
    const receiver = new ElectionCodec({ mode: 'secret', key }, { now: () => now });
    expect(receiver.decode(encodeCandidacy(message))).toBeUndefined();
    expect(receiver.decode(new ElectionCodec({ mode: 'secret', key: otherKey }, { now: () => now }).encode(message))).toBeUndefined();
    const altered = JSON.parse(new ElectionCodec({ mode: 'secret', key }, { now: () => now }).encode(message).toString()) as Record<
      string,
      unknown
    >;
    altered.priority = 255;
    expect(receiver.decode(JSON.stringify(altered))).toBeUndefined();
    expect(receiver.decode(new ElectionCodec({ mode: 'secret', key }, { now: () => now - 121_000 }).encode(message))).toBeUndefined();
    expect(receiver.decode(new ElectionCodec({ mode: 'secret', key }, { now: () => now + 121_000 }).encode(message))).toBeUndefined();
    expect(receiver.decode('hello')).toBeUndefined();
    const stats = receiver.stats();
    expect(stats.accepted).toBe(0);
    expect(stats.rejected).toEqual({ 'not-election': 1, unauthenticated: 1, malformed: 0, 'bad-mac': 2, stale: 1, future: 1, replay: 0 });
    expect(rejectedTotal(stats)).toBe(6);
  });

  it('accepts the previous key while a new secret rolls out', () => {
    const receiver = new ElectionCodec({ mode: 'secret', key: [otherKey, key] });
    expect(receiver.decode(new ElectionCodec({ mode: 'secret', key }).encode(message))).toEqual(message);
  });

  it('open: sends unsigned messages and accepts anyone (nothing is authenticated)', () => {
    const open = new ElectionCodec({ mode: 'open' });
    expect(open.authenticated).toBe(false);
    const datagram = open.encode(message);
    expect(JSON.parse(datagram.toString())).not.toHaveProperty('mac');
    expect(open.decode(datagram)).toEqual(message);
    expect(open.decode(new ElectionCodec({ mode: 'secret', key }).encode(message))).toEqual(message);
    expect(new ElectionCodec({ mode: 'secret', key }).authenticated).toBe(true);
  });
});
