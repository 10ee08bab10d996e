import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CheckResult, FakeRunner, InMemoryNetwork, parseConfig } from '@cluster-lab/core';
import type { LeadershipState } from '@cluster-lab/election';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nodeFacts } from '../node-facts.js';
import { writeSupervisorStatus } from '../supervise/supervisor-status.js';
import { leadershipChecks } from './leadership-checks.js';

const NOW = 1_900_000_000_000;
let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cl-lead-checks-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const zero = { 'not-election': 0, unauthenticated: 0, malformed: 0, 'bad-mac': 0, stale: 0, future: 0, replay: 0 };

function state(patch: Partial<LeadershipState> = {}): LeadershipState {
  return {
    role: 'member',
    term: 2,
    leader: { mac: '02:00:00:00:00:01', nodeId: 'node1', lastHeartbeatAt: NOW - 800 },
    authenticated: true,
    provenLeaders: [],
    rogues: [],
    foreignClusters: [],
    elections: 0,
    messages: { accepted: 40, rejected: { ...zero } },
    ...patch,
  };
}

async function run(leadership: LeadershipState | undefined, options: { updatedAt?: number; running?: boolean } = {}) {
  const node = nodeFacts(parseConfig({ stateDir: dir }), { runner: new FakeRunner(), network: new InMemoryNetwork() });
  await mkdir(node.paths.supervisor.dir, { recursive: true });
  await writeSupervisorStatus(node, { updatedAt: options.updatedAt ?? NOW - 500, pid: 1, ...(leadership ? { leadership } : {}) });
  const results: Record<string, CheckResult> = {};
  for (const check of leadershipChecks(node, options.running ?? true, () => NOW))
    results[check.id] = await check.run(new AbortController().signal);
  return results;
}

describe('leadership health checks', () => {
  it('pass on a member hearing the holder, with nothing dropped', async () => {
    const r = await run(state());
    expect(r['leader-heartbeat']).toEqual({ status: 'PASS', detail: 'heartbeat from node1 (02:00:00:00:00:01) 0.8 s ago (term 2)' });
    expect(r['rogue-leader-address']?.status).toBe('PASS');
    expect(r['one-cluster']?.status).toBe('PASS');
    expect(r['election-messages']).toEqual({ status: 'PASS', detail: '40 accepted, 0 dropped' });
  });

  it('fail when the holder went silent, with the failover timeout in the hint', async () => {
    const r = await run(state({ leader: { mac: '02:00:00:00:00:01', nodeId: 'node1', lastHeartbeatAt: NOW - 7_000 } }));
    expect(r['leader-heartbeat']).toMatchObject({
      status: 'FAIL',
      detail: 'no heartbeat from node1 (02:00:00:00:00:01) for 7 s',
      hint: expect.stringContaining('failover.leaderTimeout (5 s)'),
    });
  });

  it('fail naming a rogue MAC seen in the last minute; an old one is forgotten', async () => {
    const rogue = { mac: '02:66:00:00:00:01', firstSeenAt: NOW - 30_000, lastSeenAt: NOW - 2_000 };
    const r = await run(state({ role: 'leader', rogues: [rogue] }));
    expect(r['rogue-leader-address']).toMatchObject({
      status: 'FAIL',
      detail: expect.stringMatching(/^rogue host 02:66:00:00:00:01 answers ARP for 192\.168\.200\.1 .*this node keeps the address/),
    });
    expect(r['leader-heartbeat']?.status).toBe('PASS');
    const later = await run(state({ rogues: [{ ...rogue, lastSeenAt: NOW - 120_000 }] }));
    expect(later['rogue-leader-address']?.status).toBe('PASS');
  });

  it('fail when another cluster is heard, with the exact way to merge', async () => {
    const r = await run(
      state({
        foreignClusters: [
          {
            mac: '02:00:00:00:00:09',
            nodeId: 'node9',
            clusterId: 'other',
            nodeAddress: '192.168.200.150',
            firstSeenAt: NOW - 5_000,
            lastSeenAt: NOW - 1_000,
          },
        ],
      }),
    );
    expect(r['one-cluster']).toMatchObject({
      status: 'FAIL',
      detail:
        'node9 (02:00:00:00:00:09, 192.168.200.150) belongs to another cluster (other) on this link: two clusters formed while the nodes could not see each other',
      hint: expect.stringContaining('`cluster-lab stop --purge`, then `cluster-lab start` one node at a time'),
    });
  });

  it('warn about recently dropped messages with the likely cause', async () => {
    const r = await run(
      state({
        messages: {
          accepted: 3,
          rejected: { ...zero, 'bad-mac': 4, unauthenticated: 1 },
          lastRejected: { reason: 'bad-mac', at: NOW - 3_000, detail: 'x', claimedFrom: 'pi9 (02:00:00:00:00:09)' },
        },
      }),
    );
    expect(r['election-messages']).toMatchObject({
      status: 'WARN',
      detail:
        '3 accepted, 5 dropped (1 unauthenticated, 4 bad-mac); the last one 3 s ago: bad-mac from a host calling itself pi9 (02:00:00:00:00:09)',
      hint: expect.stringContaining('cluster-lab secret fingerprint'),
    });
  });

  it('fail when the supervisor stopped reporting; skip on a node not started', async () => {
    expect((await run(state(), { updatedAt: NOW - 60_000 }))['leader-heartbeat']).toMatchObject({
      status: 'FAIL',
      detail: "the supervisor's status is 60 s old: it is not running",
    });
    expect((await run(undefined))['leader-heartbeat']?.status).toBe('FAIL');
    expect((await run(state(), { running: false }))['leader-heartbeat']?.status).toBe('SKIP');
  });
});
