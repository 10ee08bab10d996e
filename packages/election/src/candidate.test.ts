import { describe, expect, it } from 'vitest';
import { compareCandidates, decodeCandidacy, encodeCandidacy, linkLocalAddressFor } from './candidate.js';
import { VirtualClock } from './clock.js';
import { randomMac, seededRandom } from './simulate-election.js';

describe('candidacy messages', () => {
  const message = { leaderAddress: '192.168.200.1', nodeId: 'pi1', mac: '02:00:00:00:00:01', priority: 7, state: 'claiming' as const };

  it('round-trips through the v2 wire format (the MAC as hw, term 0 by default)', () => {
    const wire = encodeCandidacy(message);
    const { mac, ...rest } = message;
    expect(JSON.parse(wire.toString())).toEqual({ t: 'cluster-lab-election', v: 2, ...rest, hw: mac, term: 0 });
    expect(decodeCandidacy(wire)).toEqual({ ...message, term: 0 });
  });

  it('carries membership and the term', () => {
    const member = {
      ...message,
      state: 'follower' as const,
      term: 4,
      clusterId: '6f1c2a4e-8b1d-4c7e-9a55-0d2f3b4c5d6e',
      nodeAddress: '192.168.200.101',
      consulServer: true,
      swarmManager: false,
    };
    expect(decodeCandidacy(encodeCandidacy(member))).toEqual(member);
  });

  it('ignores anything that is not a well-formed v2 message', () => {
    const { mac, ...rest } = message;
    const good = { t: 'cluster-lab-election', v: 2, ...rest, hw: mac, term: 0 };
    const bad = [
      'not json',
      '[]',
      JSON.stringify({ ...good, t: 'other' }),
      JSON.stringify({ t: 'cluster-lab-election', v: 1, ...message }),
      JSON.stringify({ ...good, priority: 256 }),
      JSON.stringify({ ...good, hw: 'AA:BB' }),
      JSON.stringify({ ...good, state: 'king' }),
      JSON.stringify({ ...good, term: -1 }),
      JSON.stringify({ ...good, leaderAddress: '192.168.200.300' }),
      JSON.stringify({ ...good, nodeAddress: 'pi2' }),
      JSON.stringify({ ...good, clusterId: 'a b' }),
      JSON.stringify({ ...good, consulServer: 'yes' }),
      JSON.stringify({ ...good, nodeId: 'a\nb' }),
    ];
    expect(decodeCandidacy(JSON.stringify(good))).toBeDefined();
    for (const b of bad) expect(decodeCandidacy(b), b).toBeUndefined();
  });
});

describe('compareCandidates', () => {
  it('ranks higher priority first, then the lowest MAC', () => {
    const a = { mac: '02:00:00:00:00:09', priority: 200 };
    const b = { mac: '02:00:00:00:00:01', priority: 100 };
    const c = { mac: '02:00:00:00:00:05', priority: 200 };
    expect([b, a, c].sort(compareCandidates)).toEqual([c, a, b]);
    expect(compareCandidates(a, { ...a })).toBe(0);
    expect(compareCandidates({ mac: '0A:00:00:00:00:00', priority: 1 }, { mac: '02:00:00:00:00:00', priority: 1 })).toBeGreaterThan(0);
  });

  it('ranks members of a cluster before strangers, whatever their priority and MAC', () => {
    const stranger = { mac: '02:00:00:00:00:01', priority: 255 };
    const member = { mac: '02:00:00:00:00:09', priority: 0, clusterId: 'c1' };
    expect([stranger, member].sort(compareCandidates)).toEqual([member, stranger]);
    const member2 = { mac: '02:00:00:00:00:02', priority: 0, clusterId: 'c2' };
    expect([member, member2].sort(compareCandidates)).toEqual([member2, member]);
  });
});

describe('linkLocalAddressFor', () => {
  it('derives a stable RFC 3927 address outside the reserved first and last /24', () => {
    const random = seededRandom(42);
    for (let i = 0; i < 5000; i++) {
      const mac = randomMac(random);
      const address = linkLocalAddressFor(mac);
      expect(address).toBe(linkLocalAddressFor(mac.toUpperCase()));
      const [a, b, c, d] = address.split('.').map(Number) as [number, number, number, number];
      expect([a, b]).toEqual([169, 254]);
      expect(c).toBeGreaterThanOrEqual(1);
      expect(c).toBeLessThanOrEqual(254);
      expect(d).toBeGreaterThanOrEqual(0);
      expect(d).toBeLessThanOrEqual(255);
    }
    expect(linkLocalAddressFor('02:00:00:00:00:01')).not.toBe(linkLocalAddressFor('02:00:00:00:00:02'));
  });

  it('rejects a malformed MAC naming it', () => {
    expect(() => linkLocalAddressFor('02:00')).toThrow('mac "02:00" must look like aa:bb:cc:dd:ee:ff');
  });
});

describe('VirtualClock', () => {
  it('runs timers in order of time, then of scheduling', async () => {
    const clock = new VirtualClock();
    const order: string[] = [];
    const work = Promise.all([
      clock.sleep(30).then(() => order.push(`b@${clock.now()}`)),
      clock.sleep(10).then(() => order.push(`a@${clock.now()}`)),
      clock.sleep(30).then(() => order.push(`c@${clock.now()}`)),
    ]);
    await clock.run(work);
    expect(order).toEqual(['a@10', 'b@30', 'c@30']);
  });

  it('reports a deadlock instead of hanging', async () => {
    const clock = new VirtualClock();
    await expect(clock.run(new Promise(() => {}))).rejects.toThrow('VirtualClock: deadlock at t=0 ms');
  });

  it('rejects a sleep when its signal aborts', async () => {
    const clock = new VirtualClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1000, controller.signal);
    void clock.sleep(5).then(() => controller.abort(new Error('stop')));
    await expect(clock.run(sleeping)).rejects.toThrow('stop');
    expect(clock.now()).toBe(5);
  });
});
