import { ClusterLabError, InMemoryNetwork, type ProgressEvent } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { LINK_LOCAL_PREFIX, linkLocalAddressFor } from './candidate.js';
import { VirtualClock } from './clock.js';
import { type ElectionResult, electLeader } from './elect-leader.js';
import { FakeSegment } from './fake-segment.js';
import { bestOf, LEADER, randomMac, type SimNode, seededRandom, simulateElection } from './simulate-election.js';

function leadersOf(results: (ElectionResult | Error)[]): ElectionResult[] {
  return results.filter((r): r is ElectionResult => !(r instanceof Error) && r.role === 'leader');
}

function errorsOf(results: (ElectionResult | Error)[]): Error[] {
  return results.filter((r): r is Error => r instanceof Error);
}

function randomNodes(random: () => number, count: number, spreadMs: number, priorities: number[]): SimNode[] {
  return Array.from({ length: count }, () => ({
    mac: randomMac(random),
    priority: priorities[Math.floor(random() * priorities.length)]!,
    startAt: random() * spreadMs,
  }));
}

describe('electLeader on a fake segment (property tests)', () => {
  it('elects exactly one leader — the best candidate — in 1000 randomised starts within the same second', {
    timeout: 120_000,
  }, async () => {
    for (let seed = 1; seed <= 1000; seed++) {
      const random = seededRandom(seed);
      const nodes = randomNodes(random, 2 + Math.floor(random() * 7), 1000, [0, 100, 100, 100, 255]);
      const { results, holders, leftovers } = await simulateElection(nodes, { random, udpDelayMs: [0, 30], arpDelayMs: [0, 5] });
      const context = `seed ${seed}: ${JSON.stringify(nodes)}`;
      expect(errorsOf(results), context).toEqual([]);
      const leaders = leadersOf(results);
      expect(leaders.length, context).toBe(1);
      const best = bestOf(nodes);
      expect(holders, context).toEqual([best.mac]);
      expect(leaders[0]!.leaderMac, context).toBe(best.mac);
      expect(leaders[0]!.claimed, context).toBe(true);
      for (const r of results as ElectionResult[]) expect(r.leaderMac, context).toBe(best.mac);
      expect(leftovers, context).toEqual([]);
    }
  });

  it('finishes a 3-node simultaneous boot in under 3 simulated seconds on every node', { timeout: 120_000 }, async () => {
    let slowest = 0;
    for (let seed = 1; seed <= 300; seed++) {
      const random = seededRandom(seed);
      const nodes = randomNodes(random, 3, 1000, [100]);
      const { results } = await simulateElection(nodes, { random, udpDelayMs: [0, 5] });
      for (const r of results as ElectionResult[]) slowest = Math.max(slowest, r.durationMs);
    }
    // Window 1 s + probe 0.35 s + announce 0.1 s + verify 0.35 s ≈ 1.8 s; followers finish sooner.
    expect(slowest).toBeLessThan(3000);
    expect(slowest).toBeGreaterThanOrEqual(1000);
  });

  it('keeps exactly one leader with staggered starts spread over 6 s (1000 runs)', { timeout: 120_000 }, async () => {
    for (let seed = 10_001; seed <= 11_000; seed++) {
      const random = seededRandom(seed);
      const nodes = randomNodes(random, 2 + Math.floor(random() * 6), 6000, [50, 100, 150]);
      const { results, holders, leftovers } = await simulateElection(nodes, { random, udpDelayMs: [0, 30] });
      const context = `seed ${seed}: ${JSON.stringify(nodes)}`;
      expect(errorsOf(results), context).toEqual([]);
      expect(leadersOf(results).length, context).toBe(1);
      expect(holders, context).toEqual([leadersOf(results)[0]!.leaderMac]);
      expect(leftovers, context).toEqual([]);
    }
  });

  it('keeps exactly one leader when 30% of candidacy datagrams are lost (1000 runs); lost rivals are resolved by the post-claim check', {
    timeout: 120_000,
  }, async () => {
    let lost = 0;
    for (let seed = 20_001; seed <= 21_000; seed++) {
      const random = seededRandom(seed);
      const nodes = randomNodes(random, 2 + Math.floor(random() * 6), 1000, [100, 200]);
      const { results, holders, leftovers, segment } = await simulateElection(nodes, { random, udpLoss: 0.3, udpDelayMs: [0, 30] });
      const context = `seed ${seed}: ${JSON.stringify(nodes)}`;
      expect(errorsOf(results), context).toEqual([]);
      expect(leadersOf(results).length, context).toBe(1);
      expect(holders, context).toEqual([leadersOf(results)[0]!.leaderMac]);
      expect(leftovers, context).toEqual([]);
      lost += segment.stats.lost;
    }
    expect(lost).toBeGreaterThan(10_000);
  });

  it('keeps exactly one leader with 90% datagram loss (500 runs), using re-runs with back-off', { timeout: 120_000 }, async () => {
    let reruns = 0;
    for (let seed = 40_001; seed <= 40_500; seed++) {
      const random = seededRandom(seed);
      const nodes = randomNodes(random, 2 + Math.floor(random() * 5), 1000, [100, 200]);
      const { results, holders, leftovers } = await simulateElection(nodes, { random, udpLoss: 0.9, udpDelayMs: [0, 30] });
      const context = `seed ${seed}: ${JSON.stringify(nodes)}`;
      expect(errorsOf(results), context).toEqual([]);
      expect(leadersOf(results).length, context).toBe(1);
      expect(holders, context).toEqual([leadersOf(results)[0]!.leaderMac]);
      expect(leftovers, context).toEqual([]);
      reruns += (results as ElectionResult[]).filter((r) => r.rounds > 1).length;
    }
    expect(reruns).toBeGreaterThan(0);
  });

  it('still elects one leader when every candidacy datagram is lost (the ARP probes alone resolve it)', { timeout: 120_000 }, async () => {
    for (let seed = 30_001; seed <= 30_300; seed++) {
      const random = seededRandom(seed);
      const nodes = randomNodes(random, 2 + Math.floor(random() * 4), 1000, [100]);
      const { results, holders } = await simulateElection(nodes, { random, udpLoss: 1 });
      const context = `seed ${seed}: ${JSON.stringify(nodes)}`;
      expect(errorsOf(results), context).toEqual([]);
      expect(leadersOf(results).length, context).toBe(1);
      expect(holders.length, context).toBe(1);
    }
  });
});

describe('electLeader scenarios', () => {
  const mac = (n: number) => `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`;

  it('orders by priority first, then by lowest MAC', async () => {
    const nodes: SimNode[] = [
      { mac: mac(1), priority: 10, startAt: 0 },
      { mac: mac(9), priority: 200, startAt: 300 },
      { mac: mac(5), priority: 200, startAt: 600 },
    ];
    const { results, holders } = await simulateElection(nodes);
    expect(holders).toEqual([mac(5)]);
    expect((results as ElectionResult[]).map((r) => r.role)).toEqual(['follower', 'follower', 'leader']);
    expect((results as ElectionResult[]).map((r) => r.candidates)).toEqual([3, 3, 3]);
    expect((results as ElectionResult[])[2]!.peers.map((p) => p.mac).sort()).toEqual([mac(1), mac(9)]);
  });

  it('a late joiner follows the existing leader at once, even with a higher priority', async () => {
    const nodes: SimNode[] = [
      { mac: mac(3), priority: 100, startAt: 0 },
      { mac: mac(4), priority: 100, startAt: 200 },
      { mac: mac(1), priority: 255, startAt: 10_000 },
    ];
    const { results, holders } = await simulateElection(nodes);
    expect(holders).toEqual([mac(3)]);
    const late = (results as ElectionResult[])[2]!;
    expect(late).toMatchObject({ role: 'follower', claimed: false, leaderMac: mac(3), rounds: 1 });
    // One ARP probe, not a whole candidacy window.
    expect(late.durationMs).toBeLessThan(500);
  });

  it('role leader claims without waiting for a window and wins over better auto candidates', async () => {
    const nodes: SimNode[] = [
      { mac: mac(1), priority: 255, startAt: 0 },
      { mac: mac(8), priority: 0, startAt: 100, role: 'leader' },
      { mac: mac(2), priority: 200, startAt: 500 },
    ];
    const { results, holders } = await simulateElection(nodes);
    expect(holders).toEqual([mac(8)]);
    const pinned = (results as ElectionResult[])[1]!;
    expect(pinned).toMatchObject({ role: 'leader', claimed: true });
    expect(pinned.durationMs).toBeLessThan(1000);
    expect((results as ElectionResult[])[0]).toMatchObject({ role: 'follower', leaderMac: mac(8) });
  });

  it('role leader refuses with LEADER_ADDRESS_IN_USE when another host holds the address', async () => {
    const nodes: SimNode[] = [
      { mac: mac(1), priority: 100, startAt: 0 },
      { mac: mac(2), priority: 100, startAt: 5000, role: 'leader' },
    ];
    const { results, holders } = await simulateElection(nodes);
    expect(holders).toEqual([mac(1)]);
    const error = results[1] as ClusterLabError;
    expect(error).toBeInstanceOf(ClusterLabError);
    expect(error.code).toBe('LEADER_ADDRESS_IN_USE');
    expect(error.message).toBe(`role is pinned to leader, but ${LEADER} on eth0 is already held by ${mac(1)}`);
    expect(error.hint).toMatch(/role: auto/);
  });

  it('two nodes pinned as leader at once: both refuse, neither keeps the address', async () => {
    const nodes: SimNode[] = [
      { mac: mac(1), priority: 100, startAt: 0, role: 'leader' },
      { mac: mac(2), priority: 100, startAt: 0, role: 'leader' },
    ];
    const { results, holders, leftovers } = await simulateElection(nodes);
    expect(results.map((r) => (r as ClusterLabError).code)).toEqual(['LEADER_ADDRESS_IN_USE', 'LEADER_ADDRESS_IN_USE']);
    expect(holders).toEqual([]);
    expect(leftovers).toEqual([]);
  });

  it('role follower never claims, even when nobody leads', async () => {
    const nodes: SimNode[] = [
      { mac: mac(1), priority: 255, startAt: 0, role: 'follower' },
      { mac: mac(2), priority: 255, startAt: 0, role: 'follower' },
    ];
    const { results, holders } = await simulateElection(nodes);
    expect(holders).toEqual([]);
    expect(results).toEqual([
      expect.objectContaining({ role: 'follower', claimed: false, candidates: 1 }),
      expect.objectContaining({ role: 'follower', claimed: false, candidates: 1 }),
    ]);
    expect((results[0] as ElectionResult).leaderMac).toBeUndefined();
  });

  it('pinned followers let the auto node lead', async () => {
    const nodes: SimNode[] = [
      { mac: mac(1), priority: 255, startAt: 0, role: 'follower' },
      { mac: mac(2), priority: 1, startAt: 0 },
      { mac: mac(3), priority: 255, startAt: 3000, role: 'follower' },
    ];
    const { results, holders } = await simulateElection(nodes);
    expect(holders).toEqual([mac(2)]);
    expect((results[2] as ElectionResult).leaderMac).toBe(mac(2));
  });

  it('re-runs the election when the winner vanishes without claiming', async () => {
    const clock = new VirtualClock();
    const segment = new FakeSegment({ clock });
    const ghostNet = new InMemoryNetwork().withLink('eth0', { mac: mac(1) });
    const ghost = segment.attach({ mac: mac(1), link: 'eth0', network: ghostNet });
    // The "ghost" announces an unbeatable candidacy for 1.1 s, then dies before claiming.
    const ghostRun = (async () => {
      const channel = await ghost.transport.open({ link: 'eth0', mac: mac(1), onMessage: () => {} });
      for (let t = 0; t < 1100; t += 200) {
        await channel.send({ leaderAddress: LEADER, nodeId: 'ghost', mac: mac(1), priority: 255, state: 'candidate' });
        await clock.sleep(200);
      }
      await channel.close();
    })();
    const net = new InMemoryNetwork().withLink('eth0', { mac: mac(2) });
    const node = segment.attach({ mac: mac(2), link: 'eth0', network: net });
    const events: ProgressEvent[] = [];
    const result = await clock.run(
      Promise.all([
        ghostRun,
        electLeader({
          link: 'eth0',
          mac: mac(2),
          leaderAddress: LEADER,
          prefix: 24,
          priority: 100,
          role: 'auto',
          network: net,
          transport: node.transport,
          prober: node.prober,
          clock,
          onEvent: (e) => events.push(e),
        }),
      ]).then(([, r]) => r),
    );
    expect(result).toMatchObject({ role: 'leader', rounds: 2, claimed: true });
    expect(await segment.holders(LEADER)).toEqual([mac(2)]);
    expect(events).toContainEqual({
      type: 'log',
      level: 'warn',
      message: `ghost did not claim ${LEADER} within 2500 ms; not counting it any more`,
      source: 'election',
    });
    expect(events.every((e) => e.type === 'log' && e.source === 'election')).toBe(true);
  });

  it('yields and re-runs when the post-claim check finds a better holder it had not heard', async () => {
    // Two candidates that cannot hear each other (all datagrams lost) and start together: both
    // claim, both see each other in the verify probe, neither knows the other → both yield, re-run.
    const nodes: SimNode[] = [
      { mac: mac(1), priority: 100, startAt: 0 },
      { mac: mac(2), priority: 100, startAt: 0 },
    ];
    const { results, holders } = await simulateElection(nodes, { udpLoss: 1, udpDelayMs: [0, 0], arpDelayMs: [0, 0] });
    expect(leadersOf(results)).toHaveLength(1);
    expect(holders).toHaveLength(1);
    expect(Math.max(...(results as ElectionResult[]).map((r) => r.rounds))).toBeGreaterThan(1);
  });

  it('a restarted leader that still holds the address keeps it (claimed: false); with another holder it drops its copy and follows', async () => {
    const clock = new VirtualClock();
    const segment = new FakeSegment({ clock });
    const netA = new InMemoryNetwork().withLink('eth0', { mac: mac(1) });
    const netB = new InMemoryNetwork().withLink('eth0', { mac: mac(2) });
    const a = segment.attach({ mac: mac(1), link: 'eth0', network: netA });
    const b = segment.attach({ mac: mac(2), link: 'eth0', network: netB });
    await netA.addAddress('eth0', `${LEADER}/24`);
    const base = { leaderAddress: LEADER, link: 'eth0', prefix: 24, priority: 100, role: 'auto' as const, clock };
    const kept = await clock.run(electLeader({ ...base, mac: mac(1), network: netA, transport: a.transport, prober: a.prober }));
    expect(kept).toMatchObject({ role: 'leader', claimed: false, leaderMac: mac(1) });
    expect(kept.durationMs).toBeLessThan(500);
    // Node B wrongly holds it too (e.g. restored from a stale snapshot): it removes its copy and follows A.
    await netB.addAddress('eth0', `${LEADER}/24`);
    const followed = await clock.run(electLeader({ ...base, mac: mac(2), network: netB, transport: b.transport, prober: b.prober }));
    expect(followed).toMatchObject({ role: 'follower', claimed: false, leaderMac: mac(1) });
    expect(await segment.holders(LEADER)).toEqual([mac(1)]);
  });

  it('aborting removes the link-local address and any claim, and rejects with ELECTION_ABORTED', async () => {
    const clock = new VirtualClock();
    const segment = new FakeSegment({ clock });
    const net = new InMemoryNetwork().withLink('eth0', { mac: mac(1) });
    const node = segment.attach({ mac: mac(1), link: 'eth0', network: net });
    const controller = new AbortController();
    void clock.sleep(1500).then(() => controller.abort());
    const run = electLeader({
      link: 'eth0',
      mac: mac(1),
      leaderAddress: LEADER,
      prefix: 24,
      priority: 1,
      role: 'auto',
      network: net,
      transport: node.transport,
      prober: node.prober,
      clock,
      signal: controller.signal,
    });
    await expect(clock.run(run)).rejects.toMatchObject({ code: 'ELECTION_ABORTED' });
    expect(await net.listAddresses()).toEqual([]);
  });

  it('adds the derived link-local address only during the election', async () => {
    const clock = new VirtualClock();
    const segment = new FakeSegment({ clock });
    const net = new InMemoryNetwork().withLink('eth0', { mac: mac(7) });
    const node = segment.attach({ mac: mac(7), link: 'eth0', network: net });
    const run = electLeader({
      link: 'eth0',
      mac: mac(7),
      leaderAddress: LEADER,
      prefix: 24,
      priority: 1,
      role: 'auto',
      network: net,
      transport: node.transport,
      prober: node.prober,
      clock,
    });
    let during: string[] = [];
    void clock.sleep(500).then(async () => {
      during = (await net.listAddresses()).map((a) => a.cidr);
    });
    await clock.run(run);
    expect(during).toEqual([`${linkLocalAddressFor(mac(7))}/${LINK_LOCAL_PREFIX}`]);
    expect((await net.listAddresses()).map((a) => a.cidr)).toEqual([`${LEADER}/24`]);
  });

  it('rejects bad inputs with errors naming the field', async () => {
    const net = new InMemoryNetwork().withLink('eth0', { mac: mac(1) });
    const segment = new FakeSegment({ clock: new VirtualClock() });
    const deps = segment.attach({ mac: mac(1), link: 'eth0', network: net });
    const base = {
      link: 'eth0',
      mac: mac(1),
      leaderAddress: LEADER,
      prefix: 24,
      priority: 100,
      role: 'auto' as const,
      network: net,
      transport: deps.transport,
      prober: deps.prober,
    };
    await expect(electLeader({ ...base, priority: 256 })).rejects.toThrow('priority 256 must be a whole number between 0 and 255');
    await expect(electLeader({ ...base, mac: 'zz:00' })).rejects.toThrow('mac "zz:00" must look like aa:bb:cc:dd:ee:ff');
    await expect(electLeader({ ...base, role: 'boss' as 'auto' })).rejects.toThrow('role "boss" must be one of auto, leader, follower');
    await expect(electLeader({ ...base, prefix: 33 })).rejects.toThrow('prefix 33 must be a whole number between 1 and 32');
    await expect(electLeader({ ...base, link: 'a/b' })).rejects.toThrow('cluster link "a/b"');
    await expect(electLeader({ ...base, leaderAddress: '192.168.200' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});
