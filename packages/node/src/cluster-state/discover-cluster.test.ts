import { AbortedError } from '@cluster-lab/core';
import { describe, expect, it } from 'vitest';
import { type AskCandidate, type CandidateAnswer, discoverCluster, discoveryCandidates } from './discover-cluster.js';

const answer = (address: string): CandidateAnswer => ({ address, leader: `${address}:8300`, servers: [address] });

describe('discoveryCandidates', () => {
  it('asks known servers and managers first, then election members, then the lease database — deduplicated, never itself', () => {
    const candidates = discoveryCandidates({
      consulServers: ['192.168.200.102', '192.168.200.103'],
      swarmManagers: ['192.168.200.102:2377', '192.168.200.104:2377'],
      members: [{ nodeAddress: '192.168.200.110' }, { nodeAddress: 'garbage' }],
      leases: [{ ip: '192.168.200.105' }, { ip: '192.168.200.103' }, { ip: '192.168.200.101' }],
      exclude: ['192.168.200.101', '192.168.200.1'],
    });
    expect(candidates).toEqual([
      { address: '192.168.200.102', sources: ['cluster-file'] },
      { address: '192.168.200.103', sources: ['cluster-file', 'lease-file'] },
      { address: '192.168.200.104', sources: ['cluster-file'] },
      { address: '192.168.200.110', sources: ['election'] },
      { address: '192.168.200.105', sources: ['lease-file'] },
    ]);
  });
});

describe('discoverCluster', () => {
  it('bootstraps at once when there is nobody to ask (a first boot stays fast)', async () => {
    const found = await discoverCluster({ candidates: [], ask: async () => answer('x') });
    expect(found).toMatchObject({ decision: 'bootstrap', reason: 'no-candidates', candidates: [] });
    expect(found.durationMs).toBeLessThan(50);
  });

  it('joins the first candidate that reports a leader, asking all at once', async () => {
    const asked: string[] = [];
    const ask: AskCandidate = async (address) => {
      asked.push(address);
      if (address === '192.168.200.103') return answer(address);
      return undefined; // an agent without a leader, or nobody there
    };
    const found = await discoverCluster({
      candidates: discoveryCandidates({ leases: [{ ip: '192.168.200.102' }, { ip: '192.168.200.103' }] }),
      ask,
      timeoutMs: 2_000,
    });
    expect(found).toMatchObject({ decision: 'join', reason: 'answered', answer: answer('192.168.200.103') });
    expect(asked.slice(0, 2).sort()).toEqual(['192.168.200.102', '192.168.200.103']);
    expect(found.durationMs).toBeLessThan(1_000);
  });

  it('keeps asking while a cluster elects its leader, and joins when it has one', async () => {
    let calls = 0;
    const found = await discoverCluster({
      candidates: discoveryCandidates({ consulServers: ['192.168.200.102'] }),
      ask: async (address) => (++calls >= 3 ? answer(address) : undefined),
      timeoutMs: 2_000,
      pollMs: 20,
    });
    expect(found.decision).toBe('join');
    expect(calls).toBe(3);
  });

  it('bootstraps after the timeout when candidates exist but none answers (the caller warns)', async () => {
    const found = await discoverCluster({
      candidates: discoveryCandidates({ consulServers: ['192.168.200.102'], leases: [{ ip: '192.168.200.103' }] }),
      ask: async () => {
        throw new Error('connect EHOSTUNREACH');
      },
      timeoutMs: 150,
      pollMs: 20,
    });
    expect(found).toMatchObject({ decision: 'bootstrap', reason: 'timeout', candidates: ['192.168.200.102', '192.168.200.103'] });
    expect(found.durationMs).toBeGreaterThanOrEqual(140);
    expect(found.durationMs).toBeLessThan(1_000);
  });

  it('an abort ends the search with an error, never with a bootstrap', async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 30);
    await expect(
      discoverCluster({
        candidates: discoveryCandidates({ consulServers: ['192.168.200.102'] }),
        ask: async () => undefined,
        timeoutMs: 5_000,
        pollMs: 10,
        signal: controller.signal,
      }),
    ).rejects.toBeInstanceOf(AbortedError);
  });
});
