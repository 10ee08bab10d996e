import { deriveClusterKeys, generateSecret, InMemoryNetwork } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import type { CandidacyMessage } from './candidate.js';
import type { VirtualClock } from './clock.js';
import { CLAIM_WAIT_MS, type ElectionResult, electLeader, HOLDER_PROOF_MS } from './elect-leader.js';
import type { ElectionSecurity } from './election-codec.js';
import type { FakeSegment } from './fake-segment.js';
import { bestOf, LEADER, randomMac, type SimNode, seededRandom, simulateElection } from './simulate-election.js';

const secret: ElectionSecurity = { mode: 'secret', key: deriveClusterKeys(generateSecret()).electionKey };
const ROGUE = '02:00:00:00:00:00'; // the lowest MAC there is: it would win every tie-break

function results(outcome: { results: (ElectionResult | Error)[] }): ElectionResult[] {
  for (const r of outcome.results) if (r instanceof Error) throw r;
  return outcome.results as ElectionResult[];
}

/**
 * A host without the secret that holds the leader address (answers ARP) and keeps broadcasting
 * unsigned `leader` messages with the highest priority.
 */
async function attachRogue(segment: FakeSegment, clock: VirtualClock): Promise<void> {
  const network = new InMemoryNetwork().withLink('eth0', { mac: ROGUE });
  await network.addAddress('eth0', `${LEADER}/24`);
  const { transport } = segment.attach({ mac: ROGUE, link: 'eth0', network });
  const channel = await transport.open({ link: 'eth0', mac: ROGUE, onMessage: () => {} });
  const claim: CandidacyMessage = { leaderAddress: LEADER, nodeId: 'rogue', mac: ROGUE, priority: 255, state: 'leader', term: 99 };
  void (async () => {
    for (let i = 0; i < 200; i++) {
      await channel.send(claim);
      await clock.sleep(200);
    }
  })();
}

describe('electLeader with a cluster secret', () => {
  it('still elects exactly one leader — the best candidate — in 300 randomised simultaneous starts', { timeout: 120_000 }, async () => {
    for (let seed = 1; seed <= 300; seed++) {
      const random = seededRandom(seed);
      const nodes: SimNode[] = Array.from({ length: 2 + Math.floor(random() * 5) }, () => ({
        mac: randomMac(random),
        priority: [100, 100, 200][Math.floor(random() * 3)]!,
        startAt: random() * 1000,
      }));
      const outcome = await simulateElection(nodes, { random, udpDelayMs: [0, 30], udpLoss: 0.05 }, { security: secret });
      const context = `seed ${seed}: ${JSON.stringify(nodes)}`;
      const rs = results(outcome);
      expect(rs.filter((r) => r.role === 'leader').length, context).toBe(1);
      expect(outcome.holders, context).toEqual([bestOf(nodes).mac]);
      for (const r of rs) expect(r.rogues, context).toEqual([]);
      expect(outcome.leftovers, context).toEqual([]);
    }
  });

  it('ignores a rogue ARP holder that sends only unsigned claims: one real leader is elected, nobody follows the rogue', async () => {
    const nodes: SimNode[] = [
      { mac: '02:00:00:00:00:03', priority: 100, startAt: 0 },
      { mac: '02:00:00:00:00:02', priority: 100, startAt: 300 },
      { mac: '02:00:00:00:00:04', priority: 100, startAt: 700 },
    ];
    const outcome = await simulateElection(nodes, {}, { security: secret, setup: attachRogue });
    const rs = results(outcome);
    const leader = rs.find((r) => r.role === 'leader');
    expect(rs.filter((r) => r.role === 'leader')).toHaveLength(1);
    expect(leader?.leaderMac).toBe('02:00:00:00:00:02');
    for (const r of rs) expect(r.leaderMac).toBe('02:00:00:00:00:02');
    // The address is on the rogue and on the elected node; the elected node named the rogue.
    expect((await outcome.segment.holders(LEADER)).sort()).toEqual([ROGUE, '02:00:00:00:00:02']);
    expect(leader?.rogues).toEqual([ROGUE]);
    // Bounded: the proof time, then a normal election.
    expect(Math.max(...rs.map((r) => r.durationMs))).toBeLessThan(HOLDER_PROOF_MS + 3000);
  });

  it('without a secret the same rogue takes the leader role (why security: open is for throwaway clusters only)', async () => {
    const nodes: SimNode[] = [
      { mac: '02:00:00:00:00:03', priority: 100, startAt: 0 },
      { mac: '02:00:00:00:00:02', priority: 100, startAt: 300 },
    ];
    const rs = results(await simulateElection(nodes, {}, { setup: attachRogue }));
    for (const r of rs) expect(r).toMatchObject({ role: 'follower', leaderMac: ROGUE, rogues: [] });
  });

  it('a fresh node that hears replays of a dead leader’s captured messages waits one claim window, then wins', async () => {
    const { clock, segment } = await (async () => {
      const captured: Buffer[] = [];
      const outcome = await simulateElection(
        [{ mac: '02:00:00:00:00:01', priority: 200, startAt: 0 }],
        { onDatagram: (d) => captured.push(d) },
        { security: secret },
      );
      // Node 1 is gone (powered off, address gone); a new node boots while an attacker replays its capture.
      await outcome.networks[0]!.delAddress('eth0', `${LEADER}/24`);
      outcome.segment.setDown('02:00:00:00:00:01', true);
      const net = new InMemoryNetwork().withLink('eth0', { mac: '02:00:00:00:00:05' });
      const node = outcome.segment.attach({ mac: '02:00:00:00:00:05', link: 'eth0', network: net, security: secret });
      const leaderClaims = captured.filter((d) => d.toString().includes('"state":"leader"'));
      expect(leaderClaims.length).toBeGreaterThan(0);
      void (async () => {
        for (let i = 0; i < 100; i++) {
          outcome.segment.inject(leaderClaims[i % leaderClaims.length]!);
          await outcome.clock.sleep(100);
        }
      })();
      const result = await outcome.clock.run(
        electLeader({
          link: 'eth0',
          mac: node.mac,
          leaderAddress: LEADER,
          prefix: 24,
          priority: 100,
          role: 'auto',
          network: net,
          transport: node.transport,
          prober: node.prober,
          clock: outcome.clock,
        }),
      );
      expect(result.role).toBe('leader');
      expect(result.durationMs).toBeLessThan(CLAIM_WAIT_MS + 4 * 1000);
      return outcome;
    })();
    expect(await segment.holders(LEADER)).toEqual(['02:00:00:00:00:05']);
    expect(clock.now()).toBeGreaterThan(0);
  });
});

describe('membership in the election (v2)', () => {
  const clusterId = 'c0ffee00-0000-4000-8000-000000000001';

  it('ranks members before strangers: a member with the lowest priority beats a stranger with the highest', async () => {
    const nodes: SimNode[] = [
      { mac: '02:00:00:00:00:01', priority: 255, startAt: 0 },
      { mac: '02:00:00:00:00:09', priority: 0, startAt: 100, member: { clusterId, nodeAddress: '192.168.200.109' } },
    ];
    const outcome = await simulateElection(nodes, {}, { security: secret });
    const rs = results(outcome);
    expect(outcome.holders).toEqual(['02:00:00:00:00:09']);
    // The stranger learnt that a cluster exists, and where its member lives.
    expect(rs[0]).toMatchObject({ role: 'follower', members: [{ nodeAddress: '192.168.200.109', clusterId }] });
  });

  it('a members-only (failover) election does not count strangers', async () => {
    const nodes: SimNode[] = [
      { mac: '02:00:00:00:00:01', priority: 255, startAt: 0, membersOnly: true },
      { mac: '02:00:00:00:00:07', priority: 100, startAt: 0, member: { clusterId }, membersOnly: true },
      { mac: '02:00:00:00:00:08', priority: 100, startAt: 50, member: { clusterId }, membersOnly: true },
    ];
    // Node 1 is a stranger: it still runs (and loses to the members), but the members ignore it.
    const outcome = await simulateElection(nodes, {}, { security: secret });
    const rs = results(outcome);
    expect(outcome.holders).toEqual(['02:00:00:00:00:07']);
    expect(rs[1]?.candidates).toBe(2);
    expect(rs[1]?.peers.map((p) => p.mac)).toEqual(['02:00:00:00:00:08']);
  });
});
